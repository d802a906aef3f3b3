// SPDX-License-Identifier: LGPL-2.1-or-later
// Names shown for the API's words: alarm states and types, roles, sensor kinds. Every
// state is shown as a word and a symbol, never by colour alone.
import { _, C_ } from './i18n.js';

// The alarm life cycle of daemon/hgd-alarms.c, in order (hg_alarm_state_compare ());
// closed and cancelled are final.
export const ALARM_STATES = ['raised', 'delivered', 'delivery-failed', 'acknowledged',
  'speech-connected', 'dispatched', 'attended', 'closed', 'cancelled'];

export function isFinal(state) {
  return state === 'closed' || state === 'cancelled';
}

export function alarmStateLabel(state) {
  switch (state) {
    case 'raised': return _('Raised');
    case 'delivered': return _('Delivered to the alarm centre');
    // TRANSLATORS: the delivery plugin gave up: no alarm centre acknowledged the alarm in time
    case 'delivery-failed': return _('The alarm centre has not confirmed — call 112 if it is urgent');
    case 'acknowledged': return _('Acknowledged');
    case 'speech-connected': return _('Speaking with the alarm centre');
    case 'dispatched': return _('Staff on the way');
    case 'attended': return _('Staff on site');
    case 'closed': return _('Closed');
    case 'cancelled': return _('Cancelled');
    default: return state;
  }
}

export function alarmStateSymbol(state) {
  switch (state) {
    case 'raised': return '!';
    case 'delivery-failed': return '⚠';
    case 'closed': return '✓';
    case 'cancelled': return '✕';
    default: return '●';
  }
}

export function alarmTypeLabel(type) {
  switch (type) {
    case 'assistance': return _('Call for help');
    case 'fall': return _('Fall');
    case 'fire': return _('Fire');
    case 'water': return _('Water leak');
    case 'inactivity': return _('No activity');
    case 'door': return _('Door');
    case 'technical': return _('Technical fault');
    case 'test': return _('Test alarm');
    default: return type;
  }
}

export function roleLabel(role) {
  switch (role) {
    case 'resident': return _('Resident');
    case 'family': return _('Family');
    case 'staff': return _('Home-care staff');
    case 'it-admin': return _('IT administrator');
    case 'service': return _('Service account');
    default: return role;
  }
}

export function sensorKindLabel(kind) {
  switch (kind) {
    case 'occupancy': return _('Presence');
    case 'contact': return _('Door or window');
    case 'water_leak': return _('Water leak');
    case 'smoke': return _('Smoke');
    case 'tamper': return _('Tamper');
    case 'vibration': return _('Vibration');
    case 'fall': return _('Fall');
    case 'battery_low': return _('Low battery');
    case 'action': return _('Button');
    case 'temperature': return _('Temperature');
    case 'humidity': return _('Humidity');
    case 'illuminance': return _('Light');
    case 'battery': return _('Battery');
    case 'availability': return _('Connection');
    default: return kind;
  }
}

// A reading's value as words: booleans depend on the kind.
export function sensorValueText(reading) {
  const value = reading.value;
  if (typeof value === 'boolean') {
    switch (reading.kind) {
      case 'contact': return value ? C_('door', 'Closed') : C_('door', 'Open');
      case 'occupancy': return value ? _('Someone there') : _('No one there');
      case 'availability': return value ? _('Online') : _('Offline');
      default: return value ? _('Yes') : _('No');
    }
  }
  if (typeof value === 'number')
    return new Intl.NumberFormat(document.documentElement.lang).format(value) + (reading.unit ? ' ' + reading.unit : '');
  return value === undefined || value === null ? '' : String(value);
}

// "user:staff" → "staff"; "plugin:scaip-alarm" → "scaip-alarm (plugin)"
export function whoLabel(source) {
  if (!source)
    return _('unknown');
  if (source.startsWith('user:'))
    return source.slice(5);
  if (source.startsWith('plugin:'))
    return source.slice(7) + ' ' + _('(plugin)');
  return source;
}
