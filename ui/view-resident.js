// SPDX-License-Identifier: LGPL-2.1-or-later
// The resident's view (family and the guardian see the same, without the call and cancel
// buttons: the call for help is the resident's, where they are): one
// "Call for help" button whose state follows the alarm, the alarms of the home, and the
// resident's own devices. Alarms are municipal records the resident may read: the view
// lists them once (GET /api/v1/alarms), then follows them over the personal event stream,
// where the core projects each state change of an alarm of the home as `alarm.own` (the
// alarm as this list shows it, with its new state). Only while the stream is down does it
// ask for the list again, slowly. The resident's own devices are listed by
// GET /api/v1/sensors and their readings then follow over the same stream. The resident's
// and the guardian's home screen is also where video visits ring and night checks show
// (call-home.js).
import { api, newIdempotencyKey, recentEvents, sensorDevices } from './api.js';
import { h, clear } from './dom.js';
import { _, format, formatDateTime } from './i18n.js';
import { visitEnded, visitRecordsSection } from './visit-records.js';
import { startHomeVisits } from './call-home.js';
import { alarmStateLabel, alarmStateSymbol, alarmTypeLabel, isFinal, roomLabel, sensorKindLabel, sensorValueText } from './labels.js';

// only while the live stream is down (it reconnects by itself, and then the list is
// fetched once)
const FALLBACK_POLL_OPEN_MS = 5000;
const FALLBACK_POLL_IDLE_MS = 30000;
const ALARMS_SHOWN = 20; // the newest; the journal keeps them all
const CALL_RETRY_MS = [1000, 2000, 4000]; // a call whose answer was lost is sent again

// The Idempotency-Key of the call for help not yet answered: its retries, and a press after
// it failed, reuse it, so the gateway raises one alarm however many of them reached it.
let callKey = null;

// A lost answer (no connection, or it broke) or "still being raised": send again, same key.
function callMayRetry(error) {
  return error.status === 0 || error.code === 'idempotency-key-in-flight' || error.code === 'shutting-down';
}

async function raiseCall() {
  callKey ??= newIdempotencyKey();
  for (let attempt = 0; ; attempt++) {
    try {
      const alarm = await api('POST', '/api/v1/alarms', { type: 'assistance', source: 'ui' }, { 'Idempotency-Key': callKey });
      callKey = null;
      return alarm;
    } catch (error) {
      if (attempt >= CALL_RETRY_MS.length || !callMayRetry(error))
        throw error;
      await new Promise((resolve) => setTimeout(resolve, CALL_RETRY_MS[attempt]));
    }
  }
}

let pollTimer = 0;
let generation = 0; // a new render or dispose ends the fallback polling of the one before

// What the resident is told about their call, in words they can act on.
function callStatusText(state) {
  switch (state) {
    case 'sending': return _('Sending your call…');
    case 'raised': return _('Your call has been sent. Waiting for the alarm centre to answer.');
    case 'delivery-failed': return _('The alarm centre has not confirmed — call 112 if it is urgent');
    case 'delivered':
    case 'acknowledged':
    case 'speech-connected': return _('The alarm centre has received your call.');
    case 'dispatched': return _('Help is on the way.');
    case 'attended': return _('Help is with you.');
    case 'closed': return _('Your call is closed. Press the button if you need help again.');
    case 'cancelled': return _('Your call was cancelled. No one is coming. Press the button if you need help again.');
    case 'failed': return _('Your call could not be sent. Press the button again, or use your alarm button.');
    default: return '';
  }
}

let visits = null;

export function dispose() {
  generation++;
  clearTimeout(pollTimer);
  visits?.dispose();
  visits = null;
}

export async function render(main, context) {
  const mine = ++generation;
  const canCall = context.session.role === 'resident';
  const callStatus = h('p', { id: 'call-status', class: 'call-status', role: 'status', 'aria-live': 'assertive' });
  // While a call is open the button stays focusable (aria-disabled, not disabled), so that
  // the keyboard's place is kept, and says what has happened.
  const callLabel = h('span', { class: 'call-label' }, _('Call for help'));
  const callButton = h('button', { type: 'button', id: 'call-button', class: 'call-button', 'aria-describedby': 'call-status' },
    h('span', { class: 'call-symbol', 'aria-hidden': 'true' }, '☎'), callLabel);
  const cancelButton = h('button', { type: 'button', id: 'cancel-call', class: 'secondary cancel-call', hidden: true }, _('Cancel my call'));
  // Cancelling asks first, with large buttons far apart: keeping the call is where the
  // cancel button was, so that a second tap keeps it.
  const keepButton = h('button', { type: 'button', id: 'cancel-call-no', class: 'primary' }, _('No, I still need help'));
  const confirmButton = h('button', { type: 'button', id: 'cancel-call-yes', class: 'secondary' }, _('Yes, cancel my call'));
  const cancelQuestion = h('div', { id: 'cancel-question', class: 'cancel-question', role: 'group', 'aria-labelledby': 'cancel-question-text', hidden: true },
    h('p', { id: 'cancel-question-text' }, _('Do you want to cancel your call for help? No one will come.')),
    keepButton, confirmButton);
  const visitHost = h('div', { id: 'visit-host', class: 'visit-host' });
  const alarmList = h('ul', { class: 'alarm-list', id: 'my-alarms' });
  const deviceList = h('ul', { class: 'device-list', id: 'my-devices' });
  let alarms = [];
  let sending = false;
  let ended = null; // the resident's own call that ended while this page showed it
  const devices = new Map();

  // The resident's own open call (the core names the caller as user:<name>); family see
  // the home's open alarms, whoever raised them.
  const me = 'user:' + context.session.username;
  function openAlarm() {
    return alarms.find((alarm) => !isFinal(alarm.state) && (!canCall || alarm.source === me));
  }

  function showCall() {
    const open = openAlarm();
    if (open)
      ended = { ref: open.ref, state: open.state };
    else if (ended && !isFinal(ended.state))
      ended.state = alarms.find((alarm) => alarm.ref === ended.ref)?.state ?? 'closed';
    const state = sending ? 'sending' : open?.state ?? (canCall ? ended?.state : undefined);
    if (!state)
      callStatus.textContent = canCall ? _('Press the button if you need help. The alarm centre answers day and night.') : _('No alarm is open.');
    else if (canCall)
      callStatus.textContent = callStatusText(state);
    else
      callStatus.textContent = format(_('An alarm is open: {type}, {state}.'), { type: alarmTypeLabel(open.type), state: alarmStateLabel(open.state) });
    callStatus.dataset.state = state ?? 'none';
    callStatus.dataset.ref = open?.ref ?? ended?.ref ?? '';
    const busy = sending || Boolean(open);
    const hadFocus = cancelQuestion.contains(document.activeElement) || document.activeElement === cancelButton;
    if (busy)
      callButton.setAttribute('aria-disabled', 'true');
    else
      callButton.removeAttribute('aria-disabled');
    callLabel.textContent = sending ? _('Sending…') : open ? _('Call sent') : _('Call for help');
    const cancellable = canCall && Boolean(open) && !sending;
    if (!cancellable)
      cancelQuestion.hidden = true;
    cancelButton.hidden = !cancellable || !cancelQuestion.hidden;
    // the cancel controls went away with the call: the keyboard goes to the call button
    if (hadFocus && !cancellable && canCall)
      callButton.focus();
  }

  function alarmTimes(alarm) {
    if (!alarm.raised)
      return null;
    const raised = format(_('raised {time}'), { time: formatDateTime(alarm.raised) });
    if (!isFinal(alarm.state) || !alarm.updated)
      return h('span', { class: 'when' }, raised);
    return h('span', { class: 'when' }, raised, ', ', format(_('ended {time}'), { time: formatDateTime(alarm.updated) }));
  }

  function showAlarms() {
    clear(alarmList);
    if (alarms.length === 0)
      alarmList.append(h('li', { class: 'empty' }, _('No alarms yet.')));
    for (const alarm of alarms.slice(-ALARMS_SHOWN).reverse()) {
      alarmList.append(h('li', { class: 'alarm', dataset: { ref: alarm.ref, state: alarm.state } },
        h('span', { class: 'badge state-' + alarm.state },
          h('span', { 'aria-hidden': 'true' }, alarmStateSymbol(alarm.state), ' '), alarmStateLabel(alarm.state)),
        ' ',
        h('strong', {}, alarmTypeLabel(alarm.type)),
        alarm.location ? h('span', {}, ' · ', roomLabel(alarm.location)) : null,
        alarm.raised ? h('br') : null, alarmTimes(alarm)));
    }
  }

  function showDevices() {
    clear(deviceList);
    if (devices.size === 0)
      deviceList.append(h('li', { class: 'empty' }, _('No readings from your own devices yet.')));
    for (const reading of [...devices.values()].sort((a, b) => a.device.localeCompare(b.device))) {
      deviceList.append(h('li', { class: 'device', dataset: { device: reading.device } },
        h('strong', {}, reading.device),
        reading.room ? h('span', {}, ' · ', roomLabel(reading.room)) : null,
        h('br'),
        sensorKindLabel(reading.kind), ': ', h('span', { class: 'value' }, sensorValueText(reading)),
        ' ', h('span', { class: 'when' }, format(_('at {time}'), { time: formatDateTime(reading.ts) }))));
    }
  }

  function addReading(event) {
    if (event.type !== 'sensor.reading' || !event.body?.device)
      return;
    devices.set(event.body.device + '\u0000' + event.body.kind, { ...event.body, seq: event.seq, ts: event.ts });
  }

  async function refreshDevices() {
    for (const [name, kinds] of await sensorDevices()) {
      for (const [kind, reading] of kinds) {
        const key = name + '\u0000' + kind;
        if ((devices.get(key)?.seq ?? 0) <= (reading.seq ?? 0))
          devices.set(key, reading);
      }
    }
  }

  // The list as GET /api/v1/alarms has it now; again, slowly, while the stream is down.
  let streamDown = false;
  async function refreshAlarms() {
    if (mine !== generation || !context.isCurrent())
      return;
    clearTimeout(pollTimer);
    try {
      alarms = (await api('GET', '/api/v1/alarms')).alarms ?? [];
      showAlarms();
      showCall();
    } catch (error) {
      // family see the home's alarms only when the resident has shared them (a grant);
      // anything else is kept as shown, and the banner or the login page says why
      if (error?.code === 'no-grant')
        callStatus.textContent = _('The resident has not shared their alarms with you.');
    }
    if (mine === generation && streamDown)
      pollTimer = setTimeout(refreshAlarms, openAlarm() ? FALLBACK_POLL_OPEN_MS : FALLBACK_POLL_IDLE_MS);
  }

  // An `alarm.own` event: the alarm as the list shows it, in its new state. Events come in
  // order, so the newest wins; a source the event leaves out (another user's name) stays
  // as the list had it.
  function applyOwnAlarm(event) {
    if (event.type !== 'alarm.own' || !event.body?.ref)
      return false;
    const index = alarms.findIndex((alarm) => alarm.ref === event.body.ref);
    if (index < 0)
      alarms.push({ ...event.body });
    else
      alarms[index] = { ...alarms[index], ...event.body };
    return true;
  }

  callButton.addEventListener('click', async () => {
    if (!canCall || sending || openAlarm())
      return;
    sending = true;
    ended = null;
    showCall();
    try {
      const alarm = await raiseCall();
      // the stream may have brought it already
      if (!alarms.some((known) => known.ref === alarm.ref))
        alarms.push(alarm);
      sending = false;
      showAlarms();
      showCall();
    } catch {
      sending = false;
      showCall();
      callStatus.textContent = callStatusText('failed');
      callStatus.dataset.state = 'failed';
    }
  });
  cancelButton.addEventListener('click', () => {
    if (!openAlarm())
      return;
    cancelQuestion.hidden = false;
    cancelButton.hidden = true;
    keepButton.focus();
  });
  keepButton.addEventListener('click', () => {
    cancelQuestion.hidden = true;
    showCall();
    cancelButton.focus();
  });
  confirmButton.addEventListener('click', async () => {
    const open = openAlarm();
    if (!open)
      return;
    try {
      const updated = await api('POST', '/api/v1/alarms/' + encodeURIComponent(open.ref) + '/transitions', { state: 'cancelled' });
      if (updated?.state)
        Object.assign(open, updated);
    } catch {
      // the alarm moved on meanwhile (e.g. staff closed it); the stream brings where it is
    }
    showAlarms();
    showCall();
  });

  clear(main).append(
    h('h1', {}, canCall ? _('My home') : _('Home of your family member')),
    visitHost,
    h('section', { class: 'call card', 'aria-labelledby': 'call-heading' },
      h('h2', { id: 'call-heading', class: 'visually-hidden' }, _('Call for help')),
      canCall ? callButton : null,
      callStatus,
      cancelButton,
      cancelQuestion),
    h('section', { class: 'card', 'aria-labelledby': 'alarms-heading' },
      h('h2', { id: 'alarms-heading' }, canCall ? _('My calls and alarms') : _('Calls and alarms')),
      alarmList),
    h('section', { class: 'card', 'aria-labelledby': 'devices-heading' },
      h('h2', { id: 'devices-heading' }, _('My devices')),
      deviceList),
    // the records of visits by camera: the resident's and the guardian's, not family's
    context.session.role !== 'family' ? visitRecordsSection(context.session.username) : null);
  showCall();

  // where the live stream starts; readings after it come over the stream
  const recent = await recentEvents(1);
  if (!context.isCurrent())
    return;
  try {
    await refreshDevices();
  } catch {
    // the list stays empty; the banner or the login page says why
  }
  if (!context.isCurrent())
    return;
  showDevices();
  await refreshAlarms();
  const live = context.live(recent.lastSeq, {
    onEvent(event) {
      if (applyOwnAlarm(event)) {
        showAlarms();
        showCall();
        return;
      }
      addReading(event);
      showDevices();
    },
    onLost() {
      streamDown = true;
      clearTimeout(pollTimer);
      pollTimer = setTimeout(refreshAlarms, openAlarm() ? FALLBACK_POLL_OPEN_MS : FALLBACK_POLL_IDLE_MS);
    },
    async onReconnected() {
      streamDown = false;
      clearTimeout(pollTimer);
      await Promise.all([refreshAlarms(), refreshDevices().catch(() => {})]);
      showDevices();
    },
  });
  // family cannot take calls: the core opens no channel for them
  if (live && ['resident', 'guardian'].includes(context.session.role) && mine === generation)
    visits = startHomeVisits(visitHost, live, { onEnded: () => visitEnded(context.session.username) });
}
