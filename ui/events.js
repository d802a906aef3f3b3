// SPDX-License-Identifier: LGPL-2.1-or-later
// The events WebSocket (/api/v1/events?after=SEQ): the core replays everything after the
// last sequence number this page saw, so a dropped connection loses nothing. On a drop
// the page shows a banner and reconnects with backoff.

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];
const CLOSE_POLICY_VIOLATION = 1008; // the core ends the stream with its session

export class LiveEvents {
  // @after: the last sequence number already shown; @handlers: onEvent (event),
  // onConnectionChange ('open' | 'lost'), onSessionEnded (), and checkSession (), called
  // after each failed attempt (a refused upgrade looks like any other drop)
  constructor(after, handlers) {
    this.lastSeq = after;
    this.handlers = handlers;
    this.socket = null;
    this.attempt = 0;
    this.timer = 0;
    this.stopped = false;
    this.wasLost = false;
  }

  start() {
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) {
      this.socket.onclose = null;
      this.socket.close(1000);
      this.socket = null;
    }
  }

  connect() {
    if (this.stopped)
      return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(scheme + '//' + location.host + '/api/v1/events?after=' + this.lastSeq);
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      if (this.wasLost) {
        this.wasLost = false;
        this.handlers.onConnectionChange?.('open');
      }
    };
    socket.onmessage = (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      if (typeof event.seq !== 'number' || event.seq <= this.lastSeq)
        return;
      this.lastSeq = event.seq;
      this.handlers.onEvent?.(event);
    };
    socket.onclose = (close) => {
      this.socket = null;
      if (this.stopped)
        return;
      if (close.code === CLOSE_POLICY_VIOLATION) {
        this.handlers.onSessionEnded?.();
        return;
      }
      if (!this.wasLost) {
        this.wasLost = true;
        this.handlers.onConnectionChange?.('lost');
      }
      this.handlers.checkSession?.();
      const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
      this.attempt++;
      this.timer = setTimeout(() => this.connect(), delay + Math.floor(Math.random() * 250));
    };
  }
}
