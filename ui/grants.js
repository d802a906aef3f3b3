// SPDX-License-Identifier: LGPL-2.1-or-later
// Consent grants (GET /api/v1/grants) in the resident's words: what each kind of share
// means, and one sentence per grant. Used by the Sharing page and by Who has looked,
// which tells of grants made and withdrawn.
import { _, format, formatDate, getLanguage } from './i18n.js';
import { alarmTypeLabel, roomLabel, sensorKindLabel, whoLabel } from './labels.js';

// The kinds a resident may make, in the order the form offers them.
export const GRANT_KINDS = ['share-readings', 'share-alarms', 'night-check', 'family-access'];

// The alarm types a share of alarms may name (labels.js alarmTypeLabel).
export const SHAREABLE_ALARM_TYPES = ['fall', 'fire', 'water', 'inactivity', 'door', 'technical'];

export function grantKindLabel(kind) {
  switch (kind) {
    case 'share-readings': return _('Share readings from my devices');
    case 'share-alarms': return _('Share alarms from my devices');
    case 'night-check': return _('Allow night checks');
    case 'family-access': return _('Let a family member see my alarms');
    default: return kind;
  }
}

// One sentence each, shown with the choice and on the page.
export function grantKindMeaning(kind) {
  switch (kind) {
    case 'share-readings': return _('The home-care service can see what the devices you choose measure, for example if someone is in the bedroom.');
    case 'share-alarms': return _('The home-care service is told when your own devices raise the alarms you choose, for example a water leak.');
    case 'night-check': return _('The home-care service may look in on you by camera at night, between the times you choose, instead of coming by.');
    case 'family-access': return _('A family member you name can see your alarms in their own login, and if you allow it, act on them.');
    default: return '';
  }
}

// What a device measures is not a name: battery and connection are the device's own.
const DEVICE_NOT_KINDS = new Set(['battery', 'battery_low', 'availability', 'tamper']);

// A device of GET /api/v1/sensors in words: its name from hemgate.conf, or what it
// measures and where ("Humidity and temperature, living room").
export function deviceLabel(device) {
  if (!device)
    return '';
  if (device.name)
    return device.name;
  const kinds = [...new Set((device.readings ?? []).map((r) => r.kind))].filter((k) => !DEVICE_NOT_KINDS.has(k)).sort();
  const words = kinds.map((k, i) => (i === 0 ? sensorKindLabel(k) : sensorKindLabel(k).toLocaleLowerCase(getLanguage())));
  const parts = [words.length > 0 ? new Intl.ListFormat(getLanguage(), { type: 'conjunction' }).format(words) : device.device];
  if (device.room)
    parts.push(roomLabel(device.room));
  return parts.join(', ');
}

function listText(items) {
  return items.filter(Boolean).join(', ');
}

// Who the grant shares with: the municipality, or a family member by name.
export function granteeLabel(grantee) {
  if (!grantee || grantee === 'municipality')
    return _('the home-care service');
  return whoLabel(grantee);
}

// What the grant lets cross, without when: "The home-care service can see readings from:
// Bedroom motion sensor". @devices maps a device id to its GET /api/v1/sensors entry.
export function grantWhat(grant, devices = new Map()) {
  const scope = grant.scope ?? {};
  const who = granteeLabel(grant.grantee);
  const Who = who.charAt(0).toLocaleUpperCase() + who.slice(1);
  switch (grant.kind) {
    case 'share-readings':
      return format(_('{who} can see readings from: {devices}'),
        { who: Who, devices: listText((scope.devices ?? []).map((id) => deviceLabel(devices.get(id)) || id)) });
    case 'share-alarms':
      return format(_('{who} is told about these alarms from your devices: {types}'),
        { who: Who, types: listText((scope.alarm_types ?? []).map(alarmTypeLabel)) });
    case 'night-check':
      // a grant made without max_seconds looks at most 60 seconds (the core's default)
      return format(_('{who} may make night checks between {from} and {to}, each at most {seconds} seconds'),
        { who: Who, from: scope.window?.from ?? '', to: scope.window?.to ?? '', seconds: scope.max_seconds ?? 60 });
    case 'family-access': {
      const user = scope.user ?? (grant.grantee ?? '').replace(/^user:/, '');
      return (scope.actions ?? []).includes('act')
        ? format(_('{user} can see your alarms and act on them'), { user })
        : format(_('{user} can see your alarms'), { user });
    }
    default:
      return format(_('{who}: {kind}'), { who: Who, kind: grant.kind });
  }
}

// When the grant holds, in words: "from 1 December 2026, until 31 December 2026".
export function grantWhen(grant, now = new Date()) {
  const parts = [];
  if (grant.revoked)
    return format(_('withdrawn {date} by {who}'), { date: formatDate(grant.revoked), who: whoLabel(grant.revoked_by) });
  if (grant.start && new Date(grant.start) > now)
    parts.push(format(_('from {date}'), { date: formatDate(grant.start) }));
  if (grant.end && new Date(grant.end) <= now)
    parts.push(format(_('ended {date}'), { date: formatDate(grant.end) }));
  else if (grant.end)
    parts.push(format(_('until {date}'), { date: formatDate(grant.end) }));
  else
    parts.push(_('until you withdraw it'));
  return parts.join(', ');
}

// The whole sentence: "The home-care service can see readings from: Bedroom motion
// sensor, until 31 December 2026."
export function grantSentence(grant, devices, now) {
  return grantWhat(grant, devices) + ', ' + grantWhen(grant, now) + '.';
}
