// SPDX-License-Identifier: LGPL-2.1-or-later
// The records of the home's video visits and night checks (GET /api/v1/visits), newest
// first, for the resident's and the guardian's view: who came by camera, when, how long and
// how it ended. The records are the municipality's; the core lets only these cross.
import { api } from './api.js';
import { h, clear } from './dom.js';
import { _, format, formatDateTime } from './i18n.js';

const VISITS_SHOWN = 10;

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
    length ? h('span', {}, ', ', length) : null);
}

// A card with the newest records; it fills itself once the answer comes.
export function visitRecordsSection() {
  const list = h('ul', { class: 'visit-list', id: 'my-visits' });
  list.append(h('li', { class: 'empty' }, _('Loading…')));
  api('GET', '/api/v1/visits?limit=' + VISITS_SHOWN).then((answer) => {
    clear(list);
    const visits = answer?.visits ?? [];
    if (visits.length === 0)
      list.append(h('li', { class: 'empty' }, _('No video visits or night checks yet.')));
    for (const visit of visits)
      list.append(visitItem(visit));
  }, () => {
    clear(list);
    list.append(h('li', { class: 'empty' }, _('The visits could not be read just now.')));
  });
  return h('section', { class: 'card', 'aria-labelledby': 'visits-heading' },
    h('h2', { id: 'visits-heading' }, _('Video visits and night checks')),
    list);
}
