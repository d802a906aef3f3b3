// SPDX-License-Identifier: LGPL-2.1-or-later
// Who has looked: the access log of the caller's domain (GET /api/v1/access-log; the
// resident and their legal representative read the personal domain's, an auditor the
// municipality's), newest first, each entry one sentence in the reader's language with
// who it was, and older entries a page at a time. The log is a hash chain: when
// GET /api/v1/access-log/verify says it does not hold, the page says so before anything.
import { api } from './api.js';
import { h, clear } from './dom.js';
import { _, format, formatDateTime } from './i18n.js';
import { deviceLabel, grantKindLabel, granteeLabel, grantWhat } from './grants.js';
import { apiErrorText, roleLabel, whoLabel } from './labels.js';

const PAGE = 20;

let generation = 0;

export function dispose() {
  generation++;
}

function entriesOf(result) {
  return Array.isArray(result) ? result : result?.entries ?? [];
}

// The verify answer: {"ok": bool} (also "valid", or "status": "ok").
function chainHolds(result) {
  if (typeof result?.ok === 'boolean')
    return result.ok;
  if (typeof result?.valid === 'boolean')
    return result.valid;
  return result?.status === undefined ? true : result.status === 'ok';
}

// Who did it: the staff member's name, and their role where the log gives it.
export function actorText(entry) {
  const name = entry.actor_name || whoLabel(entry.actor);
  const role = entry.detail?.role ?? entry.actor_role;
  return role ? format(_('{name} ({role})'), { name, role: roleLabel(role).toLocaleLowerCase() }) : name;
}

// What was read, from the entry's object: a device of the resident's, or the kind of data.
function objectText(entry, devices) {
  const object = entry.object ?? '';
  const id = object.replace(/^(device|sensor|sensors):/, '');
  if (devices.has(id))
    return format(_('your readings from {device}'), { device: deviceLabel(devices.get(id)) });
  if (/^(sensors?|readings)$/.test(object))
    return _('your sensor readings');
  if (/^alarms?/.test(object))
    return _('your alarms');
  if (/^events?/.test(object))
    return _('what happened in your home');
  if (object === 'visits')
    return _('the records of your video visits and night checks');
  return object ? format(_('your data: {what}'), { what: object }) : _('your data');
}

// The grant an entry of grant.made or grant.revoked is about (its object is grant:<id>),
// in words: in full from GET /api/v1/grants, else from the kind and grantee the log keeps.
function grantText(entry, devices, grants) {
  const grant = grants.get((entry.object ?? '').replace(/^grant:/, '')) ?? entry.detail;
  if (grant?.scope)
    return grantWhat(grant, devices);
  if (grant?.kind)
    return format(_('{kind} ({who})'), { kind: grantKindLabel(grant.kind), who: granteeLabel(grant.grantee) });
  return entry.object ?? '';
}

// One entry as a sentence: "Anna Svensson (home-care staff) looked at your readings from
// Bedroom motion sensor"; what the reader did themselves starts "You".
export function entrySentence(entry, me, devices = new Map(), grants = new Map()) {
  const you = entry.actor === me;
  const who = actorText(entry);
  switch (entry.action) {
    case 'login':
      return you ? _('You signed in') : format(_('{who} signed in'), { who });
    // (the actor of a failed login is the user it tried, when there is one)
    case 'login.failed':
      if (entry.detail?.reason === 'rate-limited')
        return entry.actor === me ? _('Signing in as you was refused after too many wrong passwords')
          : _('Signing in was refused after too many wrong passwords');
      if (entry.actor === me)
        return _('Someone tried to sign in as you with a wrong password');
      return entry.actor?.startsWith('user:')
        ? format(_('Someone tried to sign in as {user} with a wrong password'), { user: whoLabel(entry.actor) })
        : _('Someone tried to sign in with a wrong password');
    case 'read.personal':
      return format(you ? _('You looked at {what}') : _('{who} looked at {what}'), { who, what: objectText(entry, devices) });
    // the home read the municipality's records of its visits (the auditor's log)
    case 'read.municipal':
      return format(_('{who} read the records of video visits and night checks'), { who });
    case 'grant.made':
      return format(you ? _('You shared: {what}') : _('{who} shared: {what}'), { who, what: grantText(entry, devices, grants) });
    case 'grant.revoked':
      return format(you ? _('You withdrew a share: {what}') : _('{who} withdrew a share: {what}'), { who, what: grantText(entry, devices, grants) });
    case 'video-visit':
      return you ? _('You had a video visit') : format(_('{who} made a video visit'), { who });
    case 'night-check':
      return format(_('{who} made a night check by camera'), { who });
    case 'export':
      return you ? _('You saved a copy of your personal data') : format(_('{who} saved a copy of your personal data'), { who });
    case 'erase':
      return you ? _('You erased your personal data') : format(_('{who} erased your personal data'), { who });
    default:
      return format(_('{who}: {action}'), { who, action: entry.action });
  }
}

export async function render(main, context) {
  const mine = ++generation;
  const auditor = context.session.role === 'auditor';
  const me = 'user:' + context.session.username;
  const list = h('ol', { class: 'access-list', id: 'access-log', 'aria-labelledby': 'access-log-heading' });
  const status = h('p', { id: 'access-log-status', class: 'feedback', role: 'status', 'aria-live': 'polite' });
  const chain = h('div', { id: 'chain-note', class: 'chain-note', hidden: true });
  const older = h('button', { type: 'button', class: 'secondary', id: 'show-older', hidden: true }, _('Show older'));
  let devices = new Map();
  let grants = new Map();
  let oldest = null;

  function entryItem(entry) {
    return h('li', { class: 'access-entry', tabindex: '-1', dataset: { seq: String(entry.seq), action: entry.action } },
      h('span', { class: 'access-sentence' }, entrySentence(entry, me, devices, grants)),
      h('br'),
      h('time', { class: 'when', datetime: entry.time }, formatDateTime(entry.time)));
  }

  async function loadPage() {
    const query = '?limit=' + PAGE + (oldest !== null ? '&before=' + oldest : '');
    const result = await api('GET', '/api/v1/access-log' + query);
    const entries = entriesOf(result);
    if (mine !== generation || !context.isCurrent())
      return null;
    const items = entries.map(entryItem);
    list.querySelector('li.empty')?.remove();
    list.append(...items);
    if (entries.length > 0)
      oldest = entries[entries.length - 1].seq;
    // next_before is where the next page starts, null when there is none
    older.hidden = result?.next_before === undefined ? entries.length < PAGE : result.next_before === null;
    if (list.childElementCount === 0)
      list.append(h('li', { class: 'empty' }, _('Nothing has been recorded yet.')));
    return items;
  }

  older.addEventListener('click', async () => {
    older.disabled = true;
    try {
      const items = await loadPage();
      if (!items)
        return;
      status.textContent = items.length === 0 ? _('There is nothing older.')
        : format(_('{n} older entries are shown below the others.'), { n: items.length });
      // the keyboard goes on from the first of them; without more, from the heading
      (items[0] ?? document.getElementById('access-log-heading')).focus();
      if (older.hidden && items.length > 0)
        status.textContent += ' ' + _('That is everything recorded.');
    } catch (error) {
      status.textContent = format(_('Older entries could not be loaded. {reason}'), { reason: apiErrorText(error) });
    } finally {
      older.disabled = false;
    }
  });

  clear(main).append(
    h('h1', {}, auditor ? _('Access log') : _('Who has looked')),
    h('p', { class: 'lead' }, auditor
      ? _('Every sign-in and every access recorded for the municipality, newest first.')
      : _('Everyone who has looked at your information, everything you shared or withdrew, and every sign-in, newest first.')),
    chain,
    h('section', { class: 'card', 'aria-labelledby': 'access-log-heading' },
      h('h2', { id: 'access-log-heading', tabindex: '-1' }, _('Newest first')),
      list,
      h('div', { class: 'actions' }, older),
      status));

  // the devices and grants the entries name (an auditor reads the log and nothing else)
  if (!auditor) {
    const [sensors, granted] = await Promise.allSettled([api('GET', '/api/v1/sensors'), api('GET', '/api/v1/grants')]);
    if (sensors.status === 'fulfilled')
      devices = new Map((sensors.value?.devices ?? []).map((d) => [d.device, d]));
    if (granted.status === 'fulfilled')
      grants = new Map((Array.isArray(granted.value) ? granted.value : granted.value?.grants ?? []).map((g) => [g.id, g]));
  }
  if (mine !== generation || !context.isCurrent())
    return;
  await loadPage();

  // the chain check after the entries, so that they show however long it takes
  try {
    const verdict = await api('GET', '/api/v1/access-log/verify');
    if (mine !== generation || !context.isCurrent() || chainHolds(verdict))
      return;
    chain.setAttribute('role', 'alert');
    chain.append(
      h('p', { class: 'chain-title' }, h('span', { 'aria-hidden': 'true' }, '⚠ '), _('The record may have been tampered with.')),
      h('p', {}, auditor
        ? _('The check of the log failed: an entry may have been changed, removed or moved. Report it to the municipality’s information security officer.')
        : _('The check of this list failed: an entry may have been changed, removed or moved. Contact the municipality’s customer service and tell them; what is shown here may not be complete.')));
    chain.hidden = false;
    chain.dataset.broken = 'true';
  } catch {
    // no verdict (an older gateway, or the connection): nothing is claimed either way
  }
}
