// SPDX-License-Identifier: LGPL-2.1-or-later
// The home screen's side of video care visits (plugins/webrtc-visit/README.md): while the
// home view is shown it keeps a channel to the visit plugin open on its events WebSocket
// (opened again whenever the WebSocket reconnects), so that a visit rings here. Ringing
// fills the screen with who is calling and large Answer and Decline buttons, with a tone
// (WebAudio: browsers play it only once the page has had a tap or a key, so the screen
// never waits for it); in a call the screen shows its duration and a large Hang up (the
// staff member's video and voice play on the home's own screen and speaker, from the
// gateway). A night check shows a banner for as long as the camera looks in.
import { h } from './dom.js';
import { _, format, formatDuration, formatTime } from './i18n.js';

const VISIT_PLUGIN = 'webrtc-visit'; // the instance's id (home screens cannot list plugins)
const RETRY_MS = 5000;               // a visit service that is not running, asked again

// A soft two-note chime, again every few seconds, until stopped.
class Ringer {
  constructor() {
    this.context = null;
    this.timer = 0;
    this.unlock = () => this.context?.resume().catch(() => {});
  }

  start() {
    if (this.timer)
      return;
    try {
      this.context ??= new AudioContext();
    } catch {
      return; // no audio: the screen still shows the call
    }
    this.context.resume().catch(() => {});
    // a page that has not been touched yet may play only after the first tap or key
    document.addEventListener('pointerdown', this.unlock, true);
    document.addEventListener('keydown', this.unlock, true);
    this.chime();
    this.timer = setInterval(() => this.chime(), 3000);
  }

  chime() {
    const context = this.context;
    if (context.state !== 'running')
      return;
    const now = context.currentTime;
    [[660, 0], [880, 0.45]].forEach(([frequency, at]) => {
      const oscillator = context.createOscillator();
      const gain = context.createGain();
      oscillator.type = 'sine';
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, now + at);
      gain.gain.exponentialRampToValueAtTime(0.3, now + at + 0.05);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + at + 0.4);
      oscillator.connect(gain).connect(context.destination);
      oscillator.start(now + at);
      oscillator.stop(now + at + 0.45);
    });
  }

  stop() {
    clearInterval(this.timer);
    this.timer = 0;
    document.removeEventListener('pointerdown', this.unlock, true);
    document.removeEventListener('keydown', this.unlock, true);
  }

  dispose() {
    this.stop();
    this.context?.close().catch(() => {});
    this.context = null;
  }
}

// The visit screens of the home view: @host gets the night-check banner, and after it the
// line that tells of calls that ended; @live is the view's LiveEvents; @onEnded is called
// when a call or night check of the home has ended. Returns { dispose }.
export function startHomeVisits(host, live, { onEnded } = {}) {
  const ringer = new Ringer();
  let channel = null;
  let retryTimer = 0;
  let call = null;       // { staff, state: 'ringing' | 'answering' | 'in-call', since }
  let durationTimer = 0;
  let disposed = false;

  const indicator = h('div', { id: 'night-check-indicator', class: 'night-check-indicator', role: 'status' });
  const status = h('p', { id: 'visit-status', class: 'visit-status', role: 'status' });
  // (the banner stays in sight while the page scrolls; the line below it does not)
  host.append(indicator);
  host.after(status);

  const title = h('h2', { id: 'home-call-title' });
  const who = h('p', { id: 'home-call-who', class: 'home-call-who' });
  const stateLine = h('p', { id: 'home-call-state', class: 'home-call-state', role: 'status', 'aria-live': 'assertive' });
  const duration = h('p', { id: 'home-call-duration', class: 'home-call-duration', role: 'timer', hidden: true });
  const answerButton = h('button', { type: 'button', id: 'home-call-answer', class: 'answer' },
    h('span', { class: 'home-call-symbol', 'aria-hidden': 'true' }, '✆'), _('Answer'));
  const declineButton = h('button', { type: 'button', id: 'home-call-decline', class: 'decline' },
    h('span', { class: 'home-call-symbol', 'aria-hidden': 'true' }, '✕'), _('Decline'));
  const hangupButton = h('button', { type: 'button', id: 'home-call-hangup', class: 'decline' },
    h('span', { class: 'home-call-symbol', 'aria-hidden': 'true' }, '✕'), _('Hang up'));
  const screen = h('dialog', { id: 'home-call', class: 'home-call', 'aria-labelledby': 'home-call-title', 'aria-describedby': 'home-call-who' },
    title, who, stateLine, duration,
    h('div', { class: 'home-call-actions' }, answerButton, declineButton, hangupButton));
  // Escape is no answer: the call goes on ringing until Answer, Decline or it stops
  screen.addEventListener('cancel', (event) => event.preventDefault());
  document.body.append(screen);

  function send(message) {
    if (channel?.send(message))
      return true;
    stateLine.textContent = _('There is no connection to the gateway right now. Trying again…');
    return false;
  }

  function showScreen() {
    const state = call.state;
    screen.dataset.state = state;
    const ringing = state === 'ringing' || state === 'answering';
    title.textContent = ringing ? _('Video call') : _('In a video call');
    who.textContent = ringing
      ? format(_('{staff} from the home-care service is calling you.'), { staff: call.staff })
      : format(_('You are talking with {staff} from the home-care service.'), { staff: call.staff });
    answerButton.hidden = !ringing;
    declineButton.hidden = !ringing;
    hangupButton.hidden = ringing;
    if (state === 'answering')
      answerButton.setAttribute('aria-disabled', 'true');
    else
      answerButton.removeAttribute('aria-disabled');
    duration.hidden = state !== 'in-call';
    if (!screen.open) {
      screen.showModal();
      answerButton.focus();
    }
    if (state === 'in-call' && !screen.contains(document.activeElement))
      hangupButton.focus();
  }

  function tick() {
    duration.textContent = format(_('Duration {time}'), { time: formatDuration((Date.now() - call.since) / 1000) });
  }

  function ring(staff) {
    if (call?.state === 'in-call')
      return;
    call = { staff: staff ?? _('Staff'), state: 'ringing', since: 0, rang: new Date() };
    showScreen();
    stateLine.textContent = _('Ringing. Answer to see and hear them.');
    status.textContent = '';
    ringer.start();
  }

  // staff and seconds: for a screen that (re)connects while a call runs, who is in it and
  // how long it has run
  function accepted(staff, seconds) {
    if (!call && staff === undefined)
      return;
    if (!call) {
      call = { staff, state: 'in-call', since: 0, rang: new Date() };
      status.textContent = '';
    }
    ringer.stop();
    call.state = 'in-call';
    call.since = Date.now() - (seconds ?? 0) * 1000;
    showScreen();
    hangupButton.focus();
    stateLine.textContent = _('In call. The video and sound come on your screen.');
    tick();
    clearInterval(durationTimer);
    durationTimer = setInterval(tick, 1000);
  }

  function ended(outcome) {
    if (!call)
      return;
    const { staff, since, rang } = call;
    ringer.stop();
    clearInterval(durationTimer);
    call = null;
    const seconds = since ? (Date.now() - since) / 1000 : 0;
    switch (outcome) {
      case 'answered':
        status.textContent = format(_('The video call with {staff} has ended. It lasted {time}.'), { staff, time: formatDuration(seconds) });
        break;
      case 'declined':
        status.textContent = format(_('You declined the video call from {staff}.'), { staff });
        break;
      case 'missed':
      case 'cancelled':
        status.textContent = format(_('You missed a video call from {staff} at {time}.'), { staff, time: formatTime(rang) });
        break;
      case 'lost':
        status.textContent = _('The connection to the gateway was lost during the video call.');
        break;
      default:
        status.textContent = format(_('The video call with {staff} was broken off.'), { staff });
        break;
    }
    status.dataset.outcome = outcome;
    if (screen.open)
      screen.close();
    onEnded?.();
  }

  function hideRinging() {
    ringer.stop();
    call = null;
    if (screen.open)
      screen.close();
  }

  function nightCheck(state) {
    if (state === 'started') {
      indicator.replaceChildren(h('p', { class: 'night-check-banner' },
        h('span', { class: 'night-check-symbol', 'aria-hidden': 'true' }, '◉'),
        h('span', {}, _('The night staff are looking in by camera'))));
      indicator.dataset.state = 'started';
    } else {
      indicator.replaceChildren();
      indicator.dataset.state = 'ended';
      status.textContent = _('The night check has ended. The camera is off.');
      onEnded?.();
    }
  }

  function message(m) {
    switch (m.type) {
      case 'ring':
        ring(m.staff);
        break;
      case 'accepted':
        accepted(m.staff, m.seconds);
        break;
      case 'ended':
        ended(m.outcome);
        break;
      case 'night-check':
        nightCheck(m.state);
        break;
      case 'error':
        // e.g. no-call: the call ended before the press reached the gateway
        if (m.code === 'no-call')
          ended('failed');
        break;
      default:
        break;
    }
  }

  function open() {
    if (disposed)
      return;
    channel = live.openChannel(VISIT_PLUGIN, {
      onMessage: message,
      onError(code) {
        // not-found, forbidden: this home has no video visits for this user; unavailable:
        // the service is starting or restarting
        if (channel?.state === 'closed' && code === 'unavailable')
          retryTimer = setTimeout(open, RETRY_MS);
      },
      onClosed(reason) {
        // what was shown may be over by the time the stream is back: the gateway rings
        // again if it still rings
        if (call?.state === 'in-call')
          ended('lost');
        else if (call)
          hideRinging();
        if (indicator.dataset.state === 'started')
          indicator.replaceChildren();
        if (reason !== 'connection')
          retryTimer = setTimeout(open, RETRY_MS);
      },
    }, { reopen: true });
  }

  answerButton.addEventListener('click', () => {
    if (call?.state !== 'ringing')
      return;
    ringer.stop();
    if (send({ type: 'accept' })) {
      call.state = 'answering';
      showScreen();
      stateLine.textContent = _('Answering…');
    }
  });
  declineButton.addEventListener('click', () => {
    if (call && call.state !== 'in-call') {
      ringer.stop();
      send({ type: 'decline' });
    }
  });
  hangupButton.addEventListener('click', () => {
    if (call?.state === 'in-call' && send({ type: 'hangup' }))
      stateLine.textContent = _('Hanging up…');
  });

  open();
  return {
    dispose() {
      disposed = true;
      clearTimeout(retryTimer);
      clearInterval(durationTimer);
      ringer.dispose();
      channel?.close();
      if (screen.open)
        screen.close();
      screen.remove();
      status.remove();
    },
  };
}
