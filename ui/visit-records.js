// SPDX-License-Identifier: LGPL-2.1-or-later
// The records of the home's video visits and night checks (GET /api/v1/visits), newest
// first, for the resident's and the guardian's view: who came by camera, when, how long and
// how it ended. The records are the municipality's; the core lets only these cross.
import { api } from './api.js';
import { h, clear } from './dom.js';
import { _, format, formatDateTime } from './i18n.js';

const VISITS_SHOWN = 10;
// Every read of the records is in the municipality's access log, and the home view is
// drawn again often (each time it is opened, a text size chosen): the answer is shown
// again for this long before it is read again, unless a call or night check ended.
const REREAD_AFTER_MS = 5 * 60 * 1000;
// After a call ends its record is journaled by the gateway: read a moment later.
const READ_AFTER_CALL_MS = 2000;

let last = null; // { user, answer, at } the newest answer
let epoch = 0;   // a session's answers are not kept past its end

function kindText(kind) {
  switch (kind) {
    case 'visit': return _('Video visit');
    case 'night-check': return _('Night check by camera');
    default: return kind ?? '';
  }
}

function outcomeText(visit) {
  switch (visit.outcome) {
    case 'answered':
      return visit.answered_by === 'button' ? _('answered with the button') : _('answered');
    case 'declined': return _('declined');
    case 'missed': return _('no one answered');
    case 'cancelled': return _('called off before it was answered');
    case 'failed': return _('broke off');
    case 'completed':
    case 'ended': return _('ended');
    default: return visit.outcome ?? '';
  }
}

function visitItem(visit) {
  const minutes = Math.round((visit.seconds ?? 0) / 60);
  const length = visit.seconds > 0
    ? (minutes > 0 ? format(_('{minutes} min'), { minutes }) : format(_('{seconds} s'), { seconds: visit.seconds }))
    : null;
  return h('li', { class: 'visit', dataset: { seq: String(visit.seq), kind: visit.kind ?? '', outcome: visit.outcome ?? '' } },
    h('strong', {}, kindText(visit.kind)),
    visit.staff ? h('span', {}, ' · ', format(_('by {staff}'), { staff: visit.staff })) : null,
    h('br'),
    h('span', { class: 'when' }, formatDateTime(visit.started ?? visit.ts)),
    ', ', outcomeText(visit),
    length ? h('span', {}, ', ', length) : null,
    // the home's camera failed and the call went on with sound only
    visit.video === false ? h('span', {}, ', ', _('sound only')) : null);
}

function fill(list, answer) {
  clear(list);
  const visits = answer?.visits ?? [];
  if (visits.length === 0)
    list.append(h('li', { class: 'empty' }, _('No video visits or night checks yet.')));
  for (const visit of visits)
    list.append(visitItem(visit));
}

function read(list, user) {
  const mine = epoch;
  api('GET', '/api/v1/visits?limit=' + VISITS_SHOWN).then((answer) => {
    if (mine !== epoch)
      return;
    last = { user, answer, at: Date.now() };
    fill(list, answer);
  }, () => {
    clear(list);
    list.append(h('li', { class: 'empty' }, _('The visits could not be read just now.')));
  });
}

// A card with the newest records of @user's home; it fills itself once the answer comes.
export function visitRecordsSection(user) {
  const list = h('ul', { class: 'visit-list', id: 'my-visits' });
  if (last?.user === user && Date.now() - last.at < REREAD_AFTER_MS)
    fill(list, last.answer);
  else {
    list.append(h('li', { class: 'empty' }, _('Loading…')));
    read(list, user);
  }
  return h('section', { class: 'card', 'aria-labelledby': 'visits-heading' },
    h('h2', { id: 'visits-heading' }, _('Video visits and night checks')),
    list);
}

// The session ended: nothing of the records stays in the page.
export function forgetVisitRecords() {
  last = null;
  epoch++;
}

// A call or night check of @user's home ended: its record is read in a moment, into the
// card if it is still shown, else when the card is next drawn.
export function visitEnded(user) {
  last = null;
  setTimeout(() => {
    const list = document.getElementById('my-visits');
    if (list && !last)
      read(list, user);
  }, READ_AFTER_CALL_MS);
}
