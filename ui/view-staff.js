// SPDX-License-Identifier: LGPL-2.1-or-later
// Home-care staff: the home's status at a glance, the alarms live with each step's who
// and when, and the municipality's sensors with their hourly activity. Open alarms come
// first, the ones nobody has acknowledged before the others; closed ones fold away.
// The list is rebuilt on every change: the keyboard's place is kept on the same control,
// or on what took its place, and changes are told in a live region. Where the home has
// video visits, a card calls the resident or looks in at night (call-staff.js).
import { api, recentEvents, sensorDevices } from './api.js';
import { h, clear } from './dom.js';
import { _, format, formatDateTime } from './i18n.js';
import { ALARM_STATES, alarmStateLabel, alarmStateSymbol, alarmTypeLabel, apiErrorText, isFinal, roomLabel, sensorKindLabel, sensorValueText, whoLabel } from './labels.js';
import { renderActivity } from './chart.js';
import { renderStaffVisits } from './call-staff.js';

// The steps staff take, in order; delivered and speech-connected are the alarm centre's.
const STAFF_STEPS = [
  { state: 'acknowledged', label: () => _('Acknowledge') },
  { state: 'dispatched', label: () => _('On my way') },
  { state: 'attended', label: () => _('Attended') },
  { state: 'closed', label: () => _('Close') },
];
const CLOSED_SHOWN = 10;

let chart = null;
let visits = null;

export function dispose() {
  chart?.destroy();
  chart = null;
  visits?.dispose();
  visits = null;
}

function isLater(state, than) {
  return ALARM_STATES.indexOf(state) > ALARM_STATES.indexOf(than);
}

export async function render(main, context) {
  const health = h('p', { id: 'home-health', class: 'health' });
  const summary = h('p', { id: 'alarm-summary' });
  const alarmList = h('ul', { class: 'alarm-list', id: 'alarms' });
  const actionStatus = h('p', { id: 'action-status', role: 'status' });
  const closedHost = h('div', { id: 'closed-alarms-host' });
  let closedOpen = false;    // whether staff unfolded the closed alarms
  const confirming = new Set(); // refs whose Close asks to be confirmed
  const deviceList = h('ul', { class: 'device-list', id: 'devices' });
  const chartHost = h('div', { id: 'activity' });
  const visitHost = h('div', { id: 'visit-host' });
  const chartDays = h('select', { id: 'chart-days' },
    h('option', { value: '7' }, _('7 days')), h('option', { value: '30' }, _('30 days')));
  const chartDevice = h('select', { id: 'chart-device' });
  const alarms = new Map();   // ref → alarm
  const history = new Map();  // ref → [{ state, who, name, ts }]
  const devices = new Map();  // device → Map of kind → last reading

  function addHistory(event) {
    if (!event.type.startsWith('alarm.') || !event.body?.ref)
      return;
    const state = event.type.slice('alarm.'.length);
    const steps = history.get(event.body.ref) ?? [];
    if (!steps.some((step) => step.seq === event.seq))
      steps.push({ seq: event.seq, state, who: event.body.who ?? event.source ?? event.body.source,
        name: event.body.who_name, ts: event.ts });
    history.set(event.body.ref, steps);
    const alarm = alarms.get(event.body.ref);
    if (state === 'raised' && !alarm)
      alarms.set(event.body.ref, { ...event.body, state: 'raised' });
    else if (alarm && isLater(state, alarm.state))
      alarm.state = state;
  }

  function addReading(event) {
    if (event.type !== 'sensor.reading' || !event.body?.device)
      return;
    const kinds = devices.get(event.body.device) ?? new Map();
    kinds.set(event.body.kind, { ...event.body, seq: event.seq, ts: event.ts });
    devices.set(event.body.device, kinds);
  }

  let pendingFocus = null; // { ref, step } of a button pressed, until the list shows its result

  async function transition(alarm, state) {
    if (alarm.busy)
      return;
    alarm.busy = true;
    confirming.delete(alarm.ref);
    pendingFocus = { ref: alarm.ref };
    actionStatus.textContent = '';
    try {
      const updated = await api('POST', '/api/v1/alarms/' + encodeURIComponent(alarm.ref) + '/transitions', { state });
      if (updated?.state && isLater(updated.state, alarm.state))
        alarm.state = updated.state;
      actionStatus.textContent = format(_('Alarm {ref}: {state}.'), { ref: alarm.ref, state: alarmStateLabel(state) });
    } catch (error) {
      actionStatus.textContent = error.status === 409
        ? _('Someone else has already moved this alarm on; the list shows where it stands.')
        : format(_('The step was not saved: {message}'), { message: apiErrorText(error) });
      await refreshAlarms().catch(() => {});
    }
    alarm.busy = false;
    showAlarms();
  }

  function stepButton(alarm, step) {
    const button = h('button', {
      type: 'button',
      class: step.state === 'closed' ? 'secondary step-close' : 'primary',
      dataset: { step: step.state, focus: alarm.ref + ':' + step.state },
      'aria-expanded': step.state === 'closed' ? String(confirming.has(alarm.ref)) : null,
      'aria-describedby': 'alarm-' + alarm.ref,
    }, step.label());
    if (step.state === 'closed') {
      // Close skips every step left: it asks first, below, and a second press keeps asking
      button.addEventListener('click', () => {
        confirming.add(alarm.ref);
        pendingFocus = { ref: alarm.ref, key: alarm.ref + ':confirm-no' };
        showAlarms();
      });
    } else {
      button.addEventListener('click', () => transition(alarm, step.state));
    }
    return button;
  }

  function closeQuestion(alarm) {
    const skipped = STAFF_STEPS.filter((step) => step.state !== 'closed' && isLater(step.state, alarm.state));
    const textId = 'close-question-' + alarm.ref;
    const no = h('button', { type: 'button', class: 'primary', dataset: { confirmNo: 'closed', focus: alarm.ref + ':confirm-no' } }, _('No, keep it open'));
    const yes = h('button', { type: 'button', class: 'secondary', dataset: { confirm: 'closed', focus: alarm.ref + ':confirm-yes' } }, _('Yes, close the alarm'));
    no.addEventListener('click', () => {
      confirming.delete(alarm.ref);
      pendingFocus = { ref: alarm.ref, key: alarm.ref + ':closed' };
      showAlarms();
    });
    yes.addEventListener('click', () => transition(alarm, 'closed'));
    return h('div', { class: 'close-question', role: 'group', 'aria-labelledby': textId },
      h('p', { id: textId }, skipped.length > 0
        ? format(_('Close this alarm without these steps: {steps}?'), { steps: skipped.map((step) => step.label()).join(', ') })
        : _('Close this alarm?')),
      h('div', { class: 'actions' }, no, yes));
  }

  function stepsList(alarm) {
    const steps = (history.get(alarm.ref) ?? []).slice().sort((a, b) => a.seq - b.seq);
    return steps.length > 0
      ? h('ol', { class: 'steps', 'aria-label': _('What has happened') }, steps.map((step) =>
        h('li', {}, h('strong', {}, alarmStateLabel(step.state)), ' — ',
          format(_('{who} at {time}'), { who: step.name || whoLabel(step.who), time: formatDateTime(step.ts) }))))
      : null;
  }

  function alarmTitle(alarm) {
    return [alarmTypeLabel(alarm.type), alarm.location ? ' · ' + roomLabel(alarm.location) : '', ' ',
      h('span', { class: 'badge state-' + alarm.state },
        h('span', { 'aria-hidden': 'true' }, alarmStateSymbol(alarm.state), ' '), alarmStateLabel(alarm.state))];
  }

  function alarmItem(alarm) {
    const next = STAFF_STEPS.filter((step) => step.state !== 'closed' && isLater(step.state, alarm.state));
    const headingId = 'alarm-' + alarm.ref;
    return h('li', { class: 'alarm card open-alarm', dataset: { ref: alarm.ref, state: alarm.state }, 'aria-labelledby': headingId },
      h('h3', { id: headingId, tabindex: '-1', dataset: { focus: alarm.ref + ':heading' } }, alarmTitle(alarm)),
      h('p', { class: 'ref' }, format(_('Reference {ref}'), { ref: alarm.ref }), alarm.device ? ' · ' + alarm.device : ''),
      stepsList(alarm),
      next.length > 0 ? h('div', { class: 'actions' }, next.map((step) => stepButton(alarm, step))) : null,
      h('div', { class: 'close-action' }, stepButton(alarm, STAFF_STEPS[STAFF_STEPS.length - 1])),
      confirming.has(alarm.ref) ? closeQuestion(alarm) : null);
  }

  // A closed alarm is one line; its history folds away too.
  function closedItem(alarm) {
    const steps = stepsList(alarm);
    const last = (history.get(alarm.ref) ?? []).reduce((a, b) => (!a || b.seq > a.seq ? b : a), null);
    return h('li', { class: 'alarm closed-alarm', dataset: { ref: alarm.ref, state: alarm.state } },
      h('span', { class: 'closed-title' }, alarmTitle(alarm)),
      last ? h('span', { class: 'when' }, ' ', formatDateTime(last.ts)) : null,
      steps ? h('details', { class: 'closed-history' },
        h('summary', {}, format(_('What has happened to {ref}'), { ref: alarm.ref })), steps) : null);
  }

  // (an open alarm nobody acknowledged first, then by where it stands, newest first)
  function urgency(a, b) {
    const rank = (alarm) => (alarm.state === 'raised' || alarm.state === 'delivered' ? 0 : 1);
    return rank(a) - rank(b) || (b.priority ?? 0) - (a.priority ?? 0) || b.order - a.order;
  }

  function focusKey() {
    const active = document.activeElement;
    if (!active || !alarmList.contains(active))
      return null;
    return { ref: active.closest('li.alarm')?.dataset.ref, key: active.dataset.focus };
  }

  // After a rebuild the keyboard stays where it was: the same control, else the alarm's
  // next step, else its heading, else the next open alarm, else the list's heading.
  function restoreFocus(where) {
    if (!where?.ref)
      return;
    const byKey = (key) => (key ? alarmList.querySelector(`[data-focus="${CSS.escape(key)}"]`) : null);
    const item = alarmList.querySelector(`li.open-alarm[data-ref="${CSS.escape(where.ref)}"]`);
    const target = byKey(where.key)
      ?? item?.querySelector('.actions button:not([data-confirm-no], [data-confirm]), .close-action button')
      ?? item?.querySelector('h3')
      ?? alarmList.querySelector('li.open-alarm .actions button, li.open-alarm h3')
      ?? document.getElementById('alarms-heading');
    target?.focus();
  }

  function showAlarms() {
    const where = pendingFocus ?? focusKey();
    pendingFocus = null;
    const all = [...alarms.values()];
    all.forEach((alarm, i) => { alarm.order = i; });
    const open = all.filter((alarm) => !isFinal(alarm.state)).sort(urgency);
    const closed = all.filter((alarm) => isFinal(alarm.state)).slice(-CLOSED_SHOWN).reverse();
    summary.textContent = open.length === 0 ? _('No open alarms.') : format(_('Open alarms: {n}'), { n: open.length });
    summary.dataset.open = String(open.length);
    clear(alarmList);
    for (const alarm of open)
      alarmList.append(alarmItem(alarm));
    const details = closed.length === 0 ? null
      : h('details', { id: 'closed-alarms', open: closedOpen },
        h('summary', {}, format(_('Recently closed ({n})'), { n: closed.length })),
        h('ul', { class: 'alarm-list closed-list' }, closed.map(closedItem)));
    details?.addEventListener('toggle', () => { closedOpen = details.open; });
    clear(closedHost).append(details ?? '');
    restoreFocus(where);
  }

  // New alarms from elsewhere are told in the live region (the list itself is not one:
  // it is rebuilt, and would be read out whole).
  function announce(event) {
    if (event.type !== 'alarm.raised' || !event.body?.ref)
      return;
    actionStatus.textContent = format(_('New alarm: {type}{location}.'), {
      type: alarmTypeLabel(event.body.type),
      location: event.body.location ? ' · ' + roomLabel(event.body.location) : '',
    });
  }

  function showDevices() {
    clear(deviceList);
    if (devices.size === 0)
      deviceList.append(h('li', { class: 'empty' }, _('No sensor readings yet.')));
    const names = [...devices.keys()].sort();
    for (const name of names) {
      const readings = [...devices.get(name).values()].sort((a, b) => a.kind.localeCompare(b.kind));
      const room = readings.find((reading) => reading.room)?.room;
      deviceList.append(h('li', { class: 'device', dataset: { device: name } },
        h('strong', {}, name), room ? ' · ' + roomLabel(room) : '',
        h('ul', { class: 'readings' }, readings.map((reading) => h('li', {},
          sensorKindLabel(reading.kind), ': ', h('span', { class: 'value' }, sensorValueText(reading)),
          ' ', h('span', { class: 'when' }, format(_('at {time}'), { time: formatDateTime(reading.ts) })))))));
    }
    const selected = chartDevice.value;
    clear(chartDevice).append(...names.map((name) => h('option', { value: name, selected: name === selected }, name)));
  }

  async function showChart() {
    chart?.destroy();
    chart = null;
    if (!chartDevice.value) {
      clear(chartHost).append(h('p', {}, _('No sensor to show yet.')));
      return;
    }
    try {
      chart = await renderActivity(chartHost, chartDevice.value, Number(chartDays.value));
    } catch (error) {
      clear(chartHost).append(h('p', { class: 'error' }, format(_('The activity could not be loaded: {message}'), { message: apiErrorText(error) })));
    }
  }

  async function refreshHealth() {
    try {
      const result = await api('GET', '/api/v1/health');
      const ok = result.status === 'ok';
      health.dataset.status = result.status;
      health.replaceChildren(h('span', { 'aria-hidden': 'true', class: 'symbol' }, ok ? '✓ ' : '⚠ '),
        ok ? _('The gateway works normally.') : _('The gateway reports a fault. Alarms may be delayed; municipal IT sees the details.'));
    } catch {
      health.textContent = _('The gateway does not answer.');
    }
  }

  // The device list comes from GET /api/v1/sensors; live readings update it after that.
  async function refreshDevices() {
    const loaded = await sensorDevices();
    for (const [name, kinds] of loaded) {
      const known = devices.get(name) ?? new Map();
      for (const [kind, reading] of kinds) {
        const seen = known.get(kind);
        if (!seen || (seen.seq ?? 0) <= (reading.seq ?? 0))
          known.set(kind, reading);
      }
      devices.set(name, known);
    }
  }

  async function refreshAlarms() {
    const list = (await api('GET', '/api/v1/alarms')).alarms ?? [];
    for (const alarm of list)
      alarms.set(alarm.ref, { ...alarms.get(alarm.ref), ...alarm });
  }

  chartDevice.addEventListener('change', showChart);
  chartDays.addEventListener('change', showChart);

  clear(main).append(
    h('h1', {}, _('Home status')),
    h('section', { class: 'card', 'aria-labelledby': 'status-heading' },
      h('h2', { id: 'status-heading' }, _('At a glance')), health, summary),
    visitHost,
    h('section', { 'aria-labelledby': 'alarms-heading' },
      h('h2', { id: 'alarms-heading', tabindex: '-1' }, _('Alarms')), actionStatus, alarmList, closedHost),
    h('section', { class: 'card', 'aria-labelledby': 'sensors-heading' },
      h('h2', { id: 'sensors-heading' }, _('Sensors')), deviceList,
      h('h3', {}, _('Activity per hour')),
      h('div', { class: 'chart-controls' },
        h('div', { class: 'field' }, h('label', { for: 'chart-device' }, _('Sensor')), chartDevice),
        h('div', { class: 'field' }, h('label', { for: 'chart-days' }, _('Period')), chartDays)),
      chartHost));

  const recent = await recentEvents(1000);
  if (!context.isCurrent())
    return;
  for (const event of recent.events)
    addHistory(event);
  await Promise.all([refreshAlarms(), refreshHealth(), refreshDevices()]);
  if (!context.isCurrent())
    return;
  showAlarms();
  showDevices();
  showChart();
  const live = context.live(recent.lastSeq, {
    onEvent(event) {
      if (event.type.startsWith('alarm.')) {
        addHistory(event);
        announce(event);
        showAlarms();
      } else if (event.type === 'sensor.reading') {
        const known = devices.has(event.body?.device);
        addReading(event);
        showDevices();
        if (!known && devices.size === 1)
          showChart();
      }
    },
    async onReconnected() {
      await Promise.all([refreshAlarms(), refreshHealth(), refreshDevices()]);
      showAlarms();
      showDevices();
    },
  });
  const shown = await renderStaffVisits(visitHost, live);
  if (context.isCurrent())
    visits = shown;
  else
    shown.dispose();
}
