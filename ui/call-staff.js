// SPDX-License-Identifier: LGPL-2.1-or-later
// Staff's video care visits (plugins/webrtc-visit/README.md) on the home view: the Call
// and Night check buttons, and the call screen. The signalling rides on a channel of the
// view's events WebSocket (events.js openChannel): staff send `start` (or, on a channel
// opened for a night check, `check`); the gateway offers once the home answers, this
// browser's RTCPeerConnection answers and both sides trickle ICE candidates over the
// channel. The home's video plays large, the own camera small; a browser that refuses the
// camera or microphone still takes part, with what it has. Hanging up, leaving the view
// and closing the page end the call.
import { api } from './api.js';
import { h, clear } from './dom.js';
import { _, C_, format, formatDuration, minutesInZone } from './i18n.js';

const VISIT_PLUGIN = 'webrtc-visit';
const HANGUP_GRACE_MS = 3000; // a hang-up the gateway does not confirm ends here anyway

// The home's video-visit instance (GET /api/v1/plugins), or null.
async function visitInstance() {
  const list = await api('GET', '/api/v1/plugins');
  return (list.plugins ?? []).find((plugin) => (plugin.plugin ?? plugin.id) === VISIT_PLUGIN
    && (plugin.capabilities ?? []).includes('channel.serve')) ?? null;
}

// The resident's night-check consents (GET /api/v1/grants, those to the municipality) in
// words for staff: whether one holds now, in the gateway's time.
async function consentHint() {
  let grants;
  try {
    grants = ((await api('GET', '/api/v1/grants')).grants ?? []).filter((grant) => grant.kind === 'night-check' && grant.active);
  } catch {
    return '';
  }
  if (grants.length === 0)
    return _('The resident has not consented to night checks.');
  const minute = minutesInZone();
  const clock = (text) => {
    const [hh, mm] = String(text ?? '').split(':').map(Number);
    return hh * 60 + mm;
  };
  const holds = (window) => {
    const from = clock(window?.from);
    const to = clock(window?.to);
    return from < to ? minute >= from && minute < to : minute >= from || minute < to;
  };
  const now = grants.find((grant) => holds(grant.scope?.window));
  const window = (now ?? grants[0]).scope?.window ?? {};
  return format(now ? _('The resident allows night checks between {from} and {to}: now is inside that time.')
    : _('The resident allows night checks only between {from} and {to}: not now.'), { from: window.from ?? '', to: window.to ?? '' });
}

// Why the gateway refused to open the channel, in words staff can act on.
function refusalText(code, check) {
  switch (code) {
    case 'no-consent': return _('No consent for a night check now. The resident allows night checks only inside the times they chose.');
    case 'forbidden': return _('You may not make video visits to this home.');
    case 'not-found':
    case 'not-served':
    case 'unavailable': return _('Video visits are not available right now: the gateway\'s video service is not running.');
    default: return check ? format(_('The night check could not start ({code}).'), { code }) : format(_('The call could not start ({code}).'), { code });
  }
}

// What the gateway says failed in the home: the camera, the microphone or the rest.
const MEDIA_FAILURES = new Set(['camera-missing', 'camera-busy', 'camera-unavailable', 'microphone-missing',
  'microphone-busy', 'microphone-unavailable', 'media-failed']);

function failureText(reason) {
  switch (reason) {
    case 'camera-missing': return _('The call failed: the home\'s camera is not connected.');
    case 'camera-busy': return _('The call failed: the home\'s camera is in use by another program.');
    case 'camera-unavailable': return _('The call failed: the home\'s camera could not start.');
    case 'microphone-missing': return _('The call failed: the home\'s microphone is not connected.');
    case 'microphone-busy': return _('The call failed: the home\'s microphone is in use by another program.');
    case 'microphone-unavailable': return _('The call failed: the home\'s microphone could not start.');
    case 'media-failed': return _('The call failed: the gateway could not play or send the video.');
    case 'bad-sdp': return _('The call failed: this browser and the gateway could not agree on the video.');
    case 'ice': return _('The call failed: no connection for the video could be made. The network may block it.');
    case 'connection': return _('The call ended: the connection to the gateway was lost.');
    case 'consent': return _('The night check ended: the resident\'s consent no longer holds.');
    case 'stopped': return _('The call ended: the gateway\'s video service stopped.');
    default: return _('The call failed.');
  }
}

// Why the call goes on with sound only: the home's camera failed (camera-optional).
function soundOnlyText(code) {
  switch (code) {
    case 'camera-missing': return _('Sound only: the home\'s camera is not connected.');
    case 'camera-busy': return _('Sound only: the home\'s camera is in use by another program.');
    default: return _('Sound only: the home\'s camera stopped working.');
  }
}

// The state line of the call screen.
function stateText(state, check, reason) {
  switch (state) {
    case 'calling': return _('Calling the home…');
    case 'ringing':
      return reason === 'no-screen'
        ? _('Ringing, but no screen in the home is on: the resident may not notice the call.')
        : _('Ringing in the home…');
    case 'connecting': return check ? _('Connecting to the home\'s camera…') : _('The resident answered. Connecting…');
    case 'in-call': return check ? _('Looking in by camera. Video only, no sound either way.') : _('In call');
    case 'busy': return _('Busy: the home is already in a video visit. Try again later.');
    case 'declined': return _('The resident declined the call.');
    case 'missed': return _('No answer: the resident did not answer the call.');
    case 'cancelled': return _('You hung up before the resident answered.');
    case 'completed': return _('The night check has ended: its time was up.');
    case 'ended': return check ? _('The night check has ended.') : _('The call has ended.');
    case 'failed': return failureText(reason);
    default: return '';
  }
}

const FINAL_STATES = new Set(['busy', 'declined', 'missed', 'cancelled', 'completed', 'ended', 'failed']);

// One call or night check, from the press to the screen closed.
class StaffCall {
  constructor(live, instance, { check, onStatus, onClosed }) {
    this.live = live;
    this.check = check;
    this.onStatus = onStatus;
    this.onClosed = onClosed;
    this.state = 'opening';
    this.pc = null;
    this.media = null;        // the own camera and microphone, or null
    this.mediaReady = null;   // a promise of this.media
    this.pendingIce = [];     // the gateway's candidates before its offer was taken
    this.connectedAt = 0;
    this.timer = 0;
    this.graceTimer = 0;
    this.onPageHide = () => this.hangUp();
    this.channel = live.openChannel(instance.id, {
      onOpened: () => this.opened(),
      onMessage: (message) => this.message(message),
      onError: (code) => this.refused(code),
      onClosed: (reason) => this.finish('failed', reason),
    }, { purpose: check ? 'night-check' : null });
  }

  refused(code) {
    if (this.state === 'opening') {
      this.state = 'refused';
      this.onStatus(refusalText(code, this.check), 'refused', code);
      this.onClosed(false);
    }
  }

  opened() {
    this.onStatus('', 'open');
    this.buildScreen();
    window.addEventListener('pagehide', this.onPageHide);
    if (!this.check)
      this.mediaReady = this.openMedia();
    this.setState('calling');
    this.channel.send({ type: this.check ? 'check' : 'start' });
    if (this.check)
      this.setState('connecting');
  }

  buildScreen() {
    const title = this.check ? _('Night check') : _('Video visit');
    this.stateLine = h('p', { id: 'call-state', class: 'call-state', role: 'status', 'aria-live': 'polite' });
    this.duration = h('p', { id: 'call-duration', class: 'call-duration', role: 'timer', hidden: true });
    this.note = h('p', { id: 'call-note', class: 'call-note' });
    this.homeNote = h('p', { id: 'call-home-note', class: 'call-note', role: 'status' });
    this.remote = h('video', { id: 'call-remote', class: 'call-remote', autoplay: true, playsinline: true,
      'aria-label': this.check ? _('The home\'s camera') : _('The home\'s camera and microphone') });
    this.self = this.check ? null : h('video', { id: 'call-self', class: 'call-self', autoplay: true, playsinline: true, muted: true,
      'aria-label': _('Your own camera') });
    if (this.self)
      this.self.muted = true;
    this.muteButton = h('button', { type: 'button', id: 'call-mute', class: 'secondary', hidden: true }, _('Mute'));
    this.cameraButton = h('button', { type: 'button', id: 'call-camera', class: 'secondary', hidden: true }, _('Camera off'));
    this.hangupButton = h('button', { type: 'button', id: 'call-hangup', class: 'hangup' },
      h('span', { 'aria-hidden': 'true' }, '✕ '), this.check ? _('End the night check') : _('Hang up'));
    this.closeButton = h('button', { type: 'button', id: 'call-close', class: 'primary', hidden: true }, C_('dialog', 'Close'));
    this.muteButton.addEventListener('click', () => this.toggle('audio'));
    this.cameraButton.addEventListener('click', () => this.toggle('video'));
    this.hangupButton.addEventListener('click', () => this.hangUp());
    this.closeButton.addEventListener('click', () => this.close());
    this.screen = h('dialog', { id: 'call-screen', class: 'call-screen', 'aria-labelledby': 'call-title', dataset: { kind: this.check ? 'night-check' : 'visit' } },
      h('h2', { id: 'call-title' }, title),
      this.stateLine, this.duration,
      h('div', { class: 'call-media' }, this.remote, this.self),
      this.homeNote, this.note,
      h('div', { class: 'call-controls' }, this.muteButton, this.cameraButton, this.hangupButton, this.closeButton));
    // Escape does not end a call by accident; once it has ended, it closes the screen
    this.screen.addEventListener('cancel', (event) => {
      event.preventDefault();
      if (FINAL_STATES.has(this.state))
        this.close();
    });
    document.body.append(this.screen);
    this.screen.showModal();
    this.hangupButton.focus();
  }

  setState(state, reason) {
    this.state = state;
    this.screen.dataset.state = state;
    this.stateLine.textContent = stateText(state, this.check, reason);
  }

  // The own camera and microphone; what the browser refuses, the call goes without.
  async openMedia() {
    const attempts = [
      { constraints: { video: { width: 640, height: 480 }, audio: true }, note: '' },
      { constraints: { audio: true }, note: _('Your camera is not available: the resident hears you but does not see you.') },
      { constraints: { video: { width: 640, height: 480 } }, note: _('Your microphone is not available: the resident sees you but does not hear you.') },
    ];
    for (const attempt of attempts) {
      try {
        const media = await navigator.mediaDevices.getUserMedia(attempt.constraints);
        if (FINAL_STATES.has(this.state)) {
          media.getTracks().forEach((track) => track.stop());
          return null;
        }
        this.media = media;
        this.note.textContent = attempt.note;
        // the small picture is of the own camera: none without one
        this.self.hidden = media.getVideoTracks().length === 0;
        this.self.srcObject = media;
        this.self.play().catch(() => {});
        this.muteButton.hidden = media.getAudioTracks().length === 0;
        this.cameraButton.hidden = media.getVideoTracks().length === 0;
        return media;
      } catch {
        // the next, smaller, attempt
      }
    }
    this.note.textContent = _('Your camera and microphone are not available: you see and hear the resident, but they neither see nor hear you.');
    this.self.hidden = true;
    return null;
  }

  toggle(kind) {
    const tracks = kind === 'audio' ? this.media?.getAudioTracks() : this.media?.getVideoTracks();
    if (!tracks?.length)
      return;
    const enabled = !tracks[0].enabled;
    tracks.forEach((track) => { track.enabled = enabled; });
    if (kind === 'audio')
      this.muteButton.textContent = enabled ? _('Mute') : _('Unmute');
    else
      this.cameraButton.textContent = enabled ? _('Camera off') : _('Camera on');
    this.note.textContent = [
      this.media.getAudioTracks()[0]?.enabled === false ? _('Your microphone is off.') : '',
      this.media.getVideoTracks()[0]?.enabled === false ? _('Your camera is off.') : '',
    ].filter(Boolean).join(' ');
  }

  message(message) {
    switch (message.type) {
      case 'ringing':
        this.setState('ringing', message.screens === 0 ? 'no-screen' : undefined);
        break;
      case 'accepted':
        this.setState('connecting');
        break;
      case 'offer':
        this.answer(message.sdp).catch(() => this.fail('bad-sdp'));
        break;
      case 'ice':
        if (this.pc?.remoteDescription)
          this.pc.addIceCandidate({ candidate: message.candidate, sdpMLineIndex: message.sdpMLineIndex }).catch(() => {});
        else
          this.pendingIce.push(message);
        break;
      case 'busy':
        this.finish('busy');
        break;
      case 'ended':
        this.finish(message.outcome === 'answered' ? 'ended' : message.outcome ?? 'ended', message.outcome === 'failed' ? this.failure : undefined);
        break;
      case 'video-unavailable':
        // a new offer with sound only follows
        this.homeNote.textContent = soundOnlyText(message.code);
        break;
      case 'error':
        if (MEDIA_FAILURES.has(message.code) || message.code === 'bad-sdp')
          this.failure = message.code;
        break;
      default:
        break;
    }
  }

  async answer(sdp) {
    // a second offer (the call went on with sound only) replaces the first connection
    this.pc?.close();
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    const remoteStream = new MediaStream();
    pc.ontrack = (event) => {
      remoteStream.addTrack(event.track);
      this.remote.srcObject = remoteStream;
      this.remote.play().catch(() => {});
    };
    pc.onicecandidate = (event) => {
      if (event.candidate)
        this.channel.send({ type: 'ice', candidate: event.candidate.candidate, sdpMLineIndex: event.candidate.sdpMLineIndex });
    };
    pc.onconnectionstatechange = () => {
      if (pc !== this.pc)
        return;
      if (pc.connectionState === 'connected' && this.state === 'connecting')
        this.startDuration();
      else if (pc.connectionState === 'failed')
        this.fail('ice');
    };
    await pc.setRemoteDescription({ type: 'offer', sdp });
    for (const ice of this.pendingIce.splice(0))
      await pc.addIceCandidate({ candidate: ice.candidate, sdpMLineIndex: ice.sdpMLineIndex }).catch(() => {});
    const media = this.check ? null : await this.mediaReady;
    if (pc !== this.pc)
      return;
    for (const transceiver of pc.getTransceivers()) {
      const track = media?.getTracks().find((t) => t.kind === transceiver.receiver.track.kind);
      if (!track)
        continue;
      transceiver.direction = 'sendrecv';
      await transceiver.sender.replaceTrack(track);
    }
    await pc.setLocalDescription(await pc.createAnswer());
    this.channel.send({ type: 'answer', sdp: pc.localDescription.sdp });
  }

  startDuration() {
    this.setState('in-call');
    this.connectedAt = Date.now();
    this.duration.hidden = false;
    const tick = () => {
      this.duration.textContent = format(_('Duration {time}'), { time: formatDuration((Date.now() - this.connectedAt) / 1000) });
    };
    tick();
    this.timer = setInterval(tick, 1000);
  }

  // Something broke on this side: the gateway is told, the screen says why.
  fail(reason) {
    if (FINAL_STATES.has(this.state))
      return;
    this.channel.send({ type: 'hangup' });
    this.finish('failed', reason);
  }

  hangUp() {
    if (FINAL_STATES.has(this.state) || this.state === 'refused')
      return;
    if (this.state === 'opening') {
      this.channel.close();
      this.state = 'refused';
      this.onClosed(false);
      return;
    }
    if (!this.channel.send({ type: 'hangup' })) {
      this.finish('ended');
      return;
    }
    this.hangupButton.setAttribute('aria-disabled', 'true');
    this.stateLine.textContent = this.check ? _('Ending the night check…') : _('Hanging up…');
    clearTimeout(this.graceTimer);
    this.graceTimer = setTimeout(() => this.finish(this.state === 'ringing' || this.state === 'calling' ? 'cancelled' : 'ended'), HANGUP_GRACE_MS);
  }

  // The call is over: every resource goes at once, the screen stays with the outcome.
  finish(state, reason) {
    if (FINAL_STATES.has(this.state) || this.state === 'refused')
      return;
    if (this.state === 'opening') {
      this.refused(reason ?? 'unavailable');
      return;
    }
    clearInterval(this.timer);
    clearTimeout(this.graceTimer);
    window.removeEventListener('pagehide', this.onPageHide);
    this.pc?.close();
    this.pc = null;
    this.media?.getTracks().forEach((track) => track.stop());
    this.media = null;
    this.mediaReady?.then((media) => media?.getTracks().forEach((track) => track.stop()));
    this.channel.close();
    this.remote.srcObject = null;
    if (this.self) {
      this.self.srcObject = null;
      this.self.hidden = true;
    }
    this.remote.hidden = true;
    this.setState(state, reason);
    this.onStatus(this.stateLine.textContent, state);
    this.note.textContent = '';
    this.homeNote.textContent = '';
    this.muteButton.hidden = true;
    this.cameraButton.hidden = true;
    this.hangupButton.hidden = true;
    this.closeButton.hidden = false;
    this.closeButton.focus();
  }

  close() {
    this.screen?.close();
    this.screen?.remove();
    this.screen = null;
    this.onClosed(true);
  }

  // The view goes away: the call ends now.
  dispose() {
    if (!FINAL_STATES.has(this.state) && this.state !== 'refused') {
      this.channel.send({ type: 'hangup' });
      this.finish('ended');
    }
    this.close();
  }
}

// The visit card of the staff home view in @host, once @live runs: nothing when the home
// has no video-visit instance. Returns { dispose }.
export async function renderStaffVisits(host, live) {
  let instance;
  try {
    instance = await visitInstance();
  } catch {
    instance = null;
  }
  if (!instance || !live)
    return { dispose() {} };
  let call = null;
  const status = h('p', { id: 'visit-status', class: 'visit-status', role: 'status' });
  const hint = h('p', { id: 'night-check-hint', class: 'hint' });
  const callButton = h('button', { type: 'button', id: 'visit-call', class: 'primary visit-call', 'aria-describedby': 'visit-status' },
    h('span', { 'aria-hidden': 'true' }, '☎ '), _('Call'));
  const checkButton = h('button', { type: 'button', id: 'visit-night-check', class: 'secondary', 'aria-describedby': 'night-check-hint visit-status' },
    _('Night check'));

  async function showHint() {
    hint.textContent = await consentHint();
  }

  function begin(check) {
    if (call)
      return;
    status.textContent = check ? _('Opening the night check…') : _('Starting the call…');
    status.dataset.state = 'opening';
    delete status.dataset.code;
    call = new StaffCall(live, instance, {
      check,
      onStatus(text, state, code) {
        status.textContent = text;
        status.dataset.state = state;
        if (code)
          status.dataset.code = code;
        status.classList.toggle('error', state === 'refused' || state === 'failed');
        if (state === 'refused')
          status.setAttribute('role', 'alert');
        else
          status.setAttribute('role', 'status');
      },
      onClosed(shown) {
        const button = check ? checkButton : callButton;
        call = null;
        if (check)
          showHint();
        if (shown || document.activeElement === document.body)
          button.focus();
      },
    });
  }
  callButton.addEventListener('click', () => begin(false));
  checkButton.addEventListener('click', () => begin(true));

  clear(host).append(h('section', { class: 'card visit', 'aria-labelledby': 'visit-heading' },
    h('h2', { id: 'visit-heading' }, _('Video visit')),
    h('p', { class: 'hint' }, _('Call the resident by video, or look in by camera at night where they have consented.')),
    h('div', { class: 'actions' }, callButton, checkButton),
    hint, status));
  showHint();
  return {
    dispose() {
      call?.dispose();
      call = null;
    },
  };
}
