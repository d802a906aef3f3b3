// SPDX-License-Identifier: LGPL-2.1-or-later
// Sharing, for the resident and their legal representative: the consent grants of the
// personal domain (GET /api/v1/grants) in plain words, what each kind of share means, a
// new share in four steps (what → with whom → from and until → confirm; POST), and
// withdrawing one after a question (DELETE, which takes effect at once). What happened is
// said in one live region; the lists themselves are no live region.
import { api } from './api.js';
import { h, clear } from './dom.js';
import { _, format, dayInZone, zonedMoment } from './i18n.js';
import { GRANT_KINDS, SHAREABLE_ALARM_TYPES, deviceLabel, grantKindLabel, grantKindMeaning, grantSentence, grantWhat } from './grants.js';
import { alarmTypeLabel, apiErrorText } from './labels.js';

const STEPS = 4;
const USER_NAME = /^[\p{L}\p{N}][\p{L}\p{N}._-]{0,63}$/u;

let generation = 0;

export function dispose() {
  generation++;
}

// The grants as the API lists them; an answer that is a bare array is taken as well.
async function loadGrants() {
  const result = await api('GET', '/api/v1/grants');
  return Array.isArray(result) ? result : result?.grants ?? [];
}

// The resident's own devices by id, as GET /api/v1/sensors lists them.
async function loadDevices() {
  const result = await api('GET', '/api/v1/sensors');
  return new Map((result.devices ?? []).map((device) => [device.device, device]));
}

function isCurrent(grant, now) {
  return !grant.revoked && (!grant.end || new Date(grant.end) > now);
}

function choice(type, name, value, label, { checked = false, describedBy = null, id = null } = {}) {
  const inputId = id ?? `${name}-${value}`;
  return h('div', { class: 'choice big-choice' },
    h('input', { type, name, value, id: inputId, checked, 'aria-describedby': describedBy }),
    h('label', { for: inputId }, label));
}

export async function render(main, context) {
  const mine = ++generation;
  const status = h('p', { id: 'sharing-status', class: 'feedback', role: 'status', 'aria-live': 'polite' });
  const currentList = h('ul', { class: 'grant-list', id: 'grants-current' });
  const pastList = h('ul', { class: 'grant-list', id: 'grants-past' });
  const currentHeading = h('h2', { id: 'grants-current-heading', tabindex: '-1' }, _('Shared now'));
  let devices = new Map();
  let grants = [];

  function say(text, kind = 'ok') {
    status.textContent = text;
    status.dataset.kind = kind;
    status.classList.toggle('error', kind === 'error');
  }

  function grantItem(grant, now) {
    const sentence = grantSentence(grant, devices, now);
    const item = h('li', { class: 'grant', dataset: { id: grant.id, kind: grant.kind, active: String(isCurrent(grant, now)) } },
      h('p', { class: 'grant-sentence' }, sentence));
    if (!isCurrent(grant, now))
      return item;
    const withdraw = h('button', { type: 'button', class: 'secondary', dataset: { withdraw: grant.id } }, _('Withdraw this share'));
    // like cancelling a call: keeping the share is where the button was, yes is far from it
    const questionId = 'withdraw-question-' + grant.id;
    const keep = h('button', { type: 'button', class: 'primary', dataset: { withdrawNo: grant.id } }, _('No, keep sharing'));
    const yes = h('button', { type: 'button', class: 'secondary danger', dataset: { withdrawYes: grant.id } }, _('Yes, withdraw it'));
    const question = h('div', { class: 'withdraw-question', role: 'group', 'aria-labelledby': questionId, hidden: true },
      h('p', { id: questionId }, _('Withdraw this share? It stops at once.')), keep, yes);
    withdraw.addEventListener('click', () => {
      question.hidden = false;
      withdraw.hidden = true;
      keep.focus();
    });
    keep.addEventListener('click', () => {
      question.hidden = true;
      withdraw.hidden = false;
      withdraw.focus();
    });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        await api('DELETE', '/api/v1/grants/' + encodeURIComponent(grant.id));
        say(format(_('Withdrawn; it stopped at once: {what}.'), { what: grantWhat(grant, devices) }));
      } catch (error) {
        say(format(_('The share was not withdrawn. {reason}'), { reason: apiErrorText(error) }), 'error');
      }
      await refresh();
      currentHeading.focus();
    });
    item.append(h('div', { class: 'actions' }, withdraw), question);
    return item;
  }

  function showGrants() {
    const now = new Date();
    clear(currentList);
    clear(pastList);
    const sorted = [...grants].sort((a, b) => String(b.made ?? '').localeCompare(String(a.made ?? '')));
    for (const grant of sorted)
      (isCurrent(grant, now) ? currentList : pastList).append(grantItem(grant, now));
    if (currentList.childElementCount === 0)
      currentList.append(h('li', { class: 'empty' }, _('You share nothing right now. Only you decide what is shared.')));
    if (pastList.childElementCount === 0)
      pastList.append(h('li', { class: 'empty' }, _('No earlier shares.')));
  }

  async function refresh() {
    try {
      grants = await loadGrants();
    } catch (error) {
      if (mine === generation)
        say(format(_('The shares could not be loaded. {reason}'), { reason: apiErrorText(error) }), 'error');
      return;
    }
    if (mine === generation && context.isCurrent())
      showGrants();
  }

  // The form: one step shown at a time, each a fieldset with its legend, Back and Next.
  const form = h('form', { id: 'new-grant', class: 'steps-form', novalidate: true });
  const stepHeading = h('h3', { id: 'new-grant-step', tabindex: '-1' });
  const stepError = h('p', { id: 'new-grant-error', class: 'error', role: 'alert' });
  const back = h('button', { type: 'button', class: 'secondary', id: 'new-grant-back' }, _('Back'));
  const next = h('button', { type: 'submit', class: 'primary', id: 'new-grant-next' });
  let step = 1;

  const kindDescriptions = GRANT_KINDS.map((kind) => h('p', { id: 'kind-meaning-' + kind, class: 'hint' }, grantKindMeaning(kind)));
  const kindSet = h('fieldset', { id: 'grant-kind' },
    h('legend', {}, _('What do you want to share?')),
    GRANT_KINDS.map((kind, i) => h('div', { class: 'kind-choice' },
      choice('radio', 'grant-kind', kind, grantKindLabel(kind), { checked: i === 0, describedBy: 'kind-meaning-' + kind }),
      kindDescriptions[i])));
  const deviceSet = h('fieldset', { id: 'grant-devices' }, h('legend', {}, _('Which devices?')));
  const alarmSet = h('fieldset', { id: 'grant-alarm-types' },
    h('legend', {}, _('Which alarms?')),
    SHAREABLE_ALARM_TYPES.map((type) => choice('checkbox', 'grant-alarm-type', type, alarmTypeLabel(type))));
  const windowSet = h('fieldset', { id: 'grant-window' },
    h('legend', {}, _('At what times of night?')),
    h('div', { class: 'field' }, h('label', { for: 'window-from' }, _('From')), h('input', { type: 'time', id: 'window-from', value: '22:00', required: true })),
    h('div', { class: 'field' }, h('label', { for: 'window-to' }, _('Until')), h('input', { type: 'time', id: 'window-to', value: '06:00', required: true })),
    h('div', { class: 'field' },
      h('label', { for: 'window-max-seconds' }, _('Longest look, in seconds')),
      h('input', { type: 'number', id: 'window-max-seconds', value: '60', min: '1', max: '600', step: '1', inputmode: 'numeric', required: true, 'aria-describedby': 'window-max-seconds-hint' }),
      h('p', { id: 'window-max-seconds-hint', class: 'hint' }, _('The camera turns off by itself after this many seconds, 1 to 600.'))));
  const step1 = h('div', { dataset: { step: '1' } }, kindSet, deviceSet, alarmSet, windowSet);

  const municipalSet = h('fieldset', { id: 'grant-grantee-municipal' },
    h('legend', {}, _('Who may see it?')),
    choice('radio', 'grant-grantee', 'municipality', _('The home-care service (the municipality)'), { checked: true, describedBy: 'grantee-hint' }),
    h('p', { id: 'grantee-hint', class: 'hint' }, _('Only the home-care service’s staff who work with you, in their own login.')));
  const familySet = h('fieldset', { id: 'grant-grantee-family' },
    h('legend', {}, _('Which family member?')),
    h('div', { class: 'field' },
      h('label', { for: 'grant-family-user' }, _('Their user name')),
      h('input', { type: 'text', id: 'grant-family-user', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'grant-family-hint' }),
      h('p', { id: 'grant-family-hint', class: 'hint' }, _('The name they log in with. Ask them, or municipal IT, if you are not sure.'))),
    choice('checkbox', 'grant-family-act', 'act', _('They may also act on an alarm, for example cancel it')));
  const step2 = h('div', { dataset: { step: '2' } }, municipalSet, familySet);

  const today = dayInZone(new Date());
  const untilDate = h('input', { type: 'date', id: 'grant-last-day', min: today, 'aria-describedby': 'grant-until-hint' });
  const step3 = h('div', { dataset: { step: '3' } },
    h('div', { class: 'field' },
      h('label', { for: 'grant-from' }, _('Starting on')),
      h('input', { type: 'date', id: 'grant-from', value: today, min: today })),
    h('fieldset', { id: 'grant-until' },
      h('legend', {}, _('Until when?')),
      choice('radio', 'grant-until', 'none', _('Until I withdraw it'), { checked: true }),
      choice('radio', 'grant-until', 'date', _('Until a date')),
      h('div', { class: 'field' },
        h('label', { for: 'grant-last-day' }, _('Last day')),
        untilDate,
        h('p', { id: 'grant-until-hint', class: 'hint' }, _('The share ends at the end of this day.')))));
  const summary = h('p', { id: 'new-grant-summary', class: 'grant-sentence' });
  const step4 = h('div', { dataset: { step: '4' } },
    h('p', {}, _('This is what you are about to share:')),
    summary,
    h('p', { class: 'hint' }, _('You can withdraw it on this page at any time; it stops at once.')));
  const steps = [step1, step2, step3, step4];

  form.append(stepHeading, ...steps, stepError, h('div', { class: 'actions step-actions' }, back, next));

  const value = (selector) => form.querySelector(selector)?.value;
  const checkedValues = (name) => [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((input) => input.value);
  const kind = () => value('input[name="grant-kind"]:checked');

  // The grant the form describes, as POST /api/v1/grants takes it.
  function draft() {
    const k = kind();
    const grant = { kind: k, scope: {}, grantee: 'municipality' };
    if (k === 'share-readings')
      grant.scope.devices = checkedValues('grant-device');
    else if (k === 'share-alarms')
      grant.scope.alarm_types = checkedValues('grant-alarm-type');
    else if (k === 'night-check') {
      grant.scope.window = { from: value('#window-from'), to: value('#window-to') };
      grant.scope.max_seconds = Number(value('#window-max-seconds'));
    }
    else if (k === 'family-access') {
      const user = value('#grant-family-user').trim();
      grant.grantee = 'user:' + user;
      grant.scope.user = user;
      grant.scope.actions = ['view', ...checkedValues('grant-family-act')];
    }
    // from today: the gateway starts it now, by its own clock
    const from = value('#grant-from');
    if (from && from > dayInZone(new Date()))
      grant.start = zonedMoment(from).toISOString();
    grant.end = value('input[name="grant-until"]:checked') === 'date' && untilDate.value
      ? zonedMoment(untilDate.value, '23:59:59').toISOString() : null;
    return grant;
  }

  // What is missing on @n, in words, or null.
  function problem(n) {
    const k = kind();
    if (n === 1 && k === 'share-readings' && checkedValues('grant-device').length === 0)
      return devices.size === 0 ? _('You have no devices to share yet.') : _('Choose at least one device.');
    if (n === 1 && k === 'share-alarms' && checkedValues('grant-alarm-type').length === 0)
      return _('Choose at least one kind of alarm.');
    if (n === 1 && k === 'night-check' && (!value('#window-from') || !value('#window-to') || value('#window-from') === value('#window-to')))
      return _('Give the time the night checks may start and the time they must end.');
    const seconds = value('#window-max-seconds') ?? '';
    if (n === 1 && k === 'night-check' && (!/^[0-9]{1,3}$/.test(seconds) || Number(seconds) < 1 || Number(seconds) > 600))
      return _('Give the longest look as a whole number of seconds, 1 to 600.');
    if (n === 2 && k === 'family-access' && !USER_NAME.test(value('#grant-family-user').trim()))
      return _('Write the family member’s user name.');
    if (n === 3) {
      const from = value('#grant-from');
      if (from && from < dayInZone(new Date()))
        return _('A share cannot start in the past.');
      if (value('input[name="grant-until"]:checked') === 'date') {
        if (!untilDate.value)
          return _('Choose the last day, or “Until I withdraw it”.');
        if (untilDate.value < (from || dayInZone(new Date())))
          return _('The last day cannot be before the first.');
      }
    }
    return null;
  }

  function showStep(n, { focus = true, keepError = false } = {}) {
    step = n;
    const titles = [_('What to share'), _('With whom'), _('From and until'), _('Check and share')];
    stepHeading.textContent = format(_('Step {n} of {total}: {title}'), { n, total: STEPS, title: titles[n - 1] });
    steps.forEach((el, i) => { el.hidden = i !== n - 1; });
    const k = kind();
    deviceSet.hidden = k !== 'share-readings';
    alarmSet.hidden = k !== 'share-alarms';
    windowSet.hidden = k !== 'night-check';
    municipalSet.hidden = k === 'family-access';
    familySet.hidden = k !== 'family-access';
    untilDate.closest('.field').hidden = value('input[name="grant-until"]:checked') !== 'date';
    back.hidden = n === 1;
    next.textContent = n === STEPS ? _('Share') : _('Next');
    form.dataset.step = String(n);
    if (n === STEPS)
      summary.textContent = grantSentence(draft(), devices);
    if (!keepError)
      stepError.textContent = '';
    if (focus)
      stepHeading.focus();
  }

  // A change shows or hides the parts that depend on it; an error stays until Next checks
  // again: clearing it as the field loses focus would move Next from under the pointer
  // pressing it, and that press would be lost.
  form.addEventListener('change', () => showStep(step, { focus: false, keepError: true }));
  back.addEventListener('click', () => showStep(Math.max(1, step - 1)));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const missing = problem(step);
    if (missing) {
      stepError.textContent = missing;
      return;
    }
    if (step < STEPS) {
      showStep(step + 1);
      return;
    }
    next.disabled = true;
    const grant = draft();
    try {
      const made = await api('POST', '/api/v1/grants', grant);
      say(format(_('Shared: {sentence}'), { sentence: grantSentence(made?.kind ? made : grant, devices) }));
      form.reset();
      untilDate.value = '';
      await refresh();
      showStep(1, { focus: false });
      currentHeading.focus();
    } catch (error) {
      const reason = error.code === 'invalid-grant' && grant.kind === 'family-access'
        ? _('There is no family member with this user name. Check the name and try again.')
        : apiErrorText(error);
      stepError.textContent = format(_('Nothing was shared. {reason}'), { reason });
    } finally {
      next.disabled = false;
    }
  });

  clear(main).append(
    h('h1', {}, _('Sharing')),
    h('p', { class: 'lead' }, _('You decide what the home-care service and your family may see from your own devices. Nothing is shared unless you share it here, and a share you withdraw stops at once.')),
    status,
    h('section', { class: 'card', 'aria-labelledby': 'grants-current-heading' }, currentHeading, currentList),
    h('section', { class: 'card', 'aria-labelledby': 'new-grant-heading' },
      h('h2', { id: 'new-grant-heading' }, _('Share something new')), form),
    h('section', { class: 'card', 'aria-labelledby': 'kinds-heading' },
      h('h2', { id: 'kinds-heading' }, _('What each kind of share means')),
      h('dl', { class: 'kinds' }, GRANT_KINDS.map((k) => [h('dt', {}, grantKindLabel(k)), h('dd', {}, grantKindMeaning(k))]))),
    h('section', { class: 'card', 'aria-labelledby': 'grants-past-heading' },
      h('h2', { id: 'grants-past-heading' }, _('Earlier shares')), pastList));

  try {
    devices = await loadDevices();
  } catch {
    devices = new Map(); // the device step says there is nothing to share
  }
  if (mine !== generation || !context.isCurrent())
    return;
  for (const [id, device] of [...devices].sort((a, b) => deviceLabel(a[1]).localeCompare(deviceLabel(b[1]))))
    deviceSet.append(choice('checkbox', 'grant-device', id, deviceLabel(device), { id: 'grant-device-' + id }));
  if (devices.size === 0)
    deviceSet.append(h('p', { class: 'hint' }, _('You have no devices to share yet.')));
  showStep(1, { focus: false });
  await refresh();
}
