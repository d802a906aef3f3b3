// SPDX-License-Identifier: LGPL-2.1-or-later
// The events WebSocket (/api/v1/events?after=SEQ): the core replays everything after the
// last sequence number this page saw, so a dropped connection loses nothing. On a drop
// the page shows a banner and reconnects with backoff. The same WebSocket carries the
// channels to plugin instances (data/openapi.json, ChannelFrame): openChannel ().

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
    this.channels = new Set(); // Channel, opening or open
    this.nextRef = 0;
  }

  // A channel to the plugin instance @plugin: its frames ride on this stream. @handlers:
  // onOpened (), onMessage (message), onError (code, message) (the open was refused, or a
  // message was), onClosed (reason) with the core's reason or 'connection' (the stream
  // dropped: the core closed the channel with it). With @reopen the channel is opened
  // again each time the stream reconnects (a home screen that must be rung); without, it
  // is gone for good once closed. @purpose: e.g. 'night-check'.
  openChannel(plugin, handlers, { purpose = null, reopen = false } = {}) {
    const channel = new Channel(this, plugin, handlers, purpose, reopen);
    this.channels.add(channel);
    if (this.socket?.readyState === WebSocket.OPEN)
      channel.sendOpen();
    return channel;
  }

  sendFrame(frame) {
    if (this.socket?.readyState !== WebSocket.OPEN)
      return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  channelFrame(frame) {
    for (const channel of this.channels) {
      // an answer to channel-open names our ref; the rest the channel's id
      const byRef = frame.op === 'channel-opened' || !frame.channel;
      if (byRef ? channel.state === 'opening' && frame.ref === channel.ref : frame.channel === channel.id) {
        channel.receive(frame);
        return;
      }
    }
  }

  // The stream dropped or stopped: the core has closed every channel with it.
  channelsLost() {
    for (const channel of [...this.channels]) {
      const wasOpen = channel.state !== 'idle';
      channel.id = null;
      channel.state = 'idle';
      if (!channel.reopen)
        this.channels.delete(channel);
      if (wasOpen)
        channel.handlers.onClosed?.('connection');
    }
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
    for (const channel of this.channels)
      channel.state = 'idle';
    this.channels.clear();
  }

  connect() {
    if (this.stopped)
      return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(scheme + '//' + location.host + '/api/v1/events?after=' + this.lastSeq);
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      for (const channel of this.channels) {
        if (channel.state === 'idle')
          channel.sendOpen();
      }
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
      if (typeof event?.op === 'string') {
        this.channelFrame(event);
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
      this.channelsLost();
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

// One channel of a LiveEvents stream; state: idle (not asked for on this connection),
// opening, open.
class Channel {
  constructor(live, plugin, handlers, purpose, reopen) {
    this.live = live;
    this.plugin = plugin;
    this.handlers = handlers;
    this.purpose = purpose;
    this.reopen = reopen;
    this.id = null;
    this.ref = null;
    this.state = 'idle';
  }

  sendOpen() {
    this.ref = 'c' + ++this.live.nextRef;
    const frame = { op: 'channel-open', plugin: this.plugin, ref: this.ref };
    if (this.purpose)
      frame.purpose = this.purpose;
    if (this.live.sendFrame(frame))
      this.state = 'opening';
  }

  receive(frame) {
    switch (frame.op) {
      case 'channel-opened':
        this.id = frame.channel;
        this.state = 'open';
        this.handlers.onOpened?.();
        break;
      case 'channel-message':
        if (frame.message && typeof frame.message === 'object')
          this.handlers.onMessage?.(frame.message);
        break;
      case 'channel-error':
        // a refused open ends the channel; a refused message leaves it open
        if (this.state === 'opening')
          this.forget();
        this.handlers.onError?.(frame.code, frame.message);
        break;
      case 'channel-closed':
        this.forget();
        this.handlers.onClosed?.(frame.reason);
        break;
      default:
        break;
    }
  }

  forget() {
    this.id = null;
    this.state = 'closed';
    this.live.channels.delete(this);
  }

  // Whether the message went out (the channel is open and the stream up).
  send(message) {
    if (this.state !== 'open')
      return false;
    return this.live.sendFrame({ op: 'channel-send', channel: this.id, message });
  }

  // Closes the channel; no handler is called for it.
  close() {
    if (this.state === 'open')
      this.live.sendFrame({ op: 'channel-close', channel: this.id });
    this.forget();
  }
}
