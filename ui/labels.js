// SPDX-License-Identifier: LGPL-2.1-or-later
// Names shown for the API's words: alarm states and types, roles, sensor kinds, rooms,
// domains, capabilities, plugins and errors. Every state is shown as a word and a
// symbol too, never by colour alone.
import { _, C_, format } from './i18n.js';

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
    case 'assistance': return _('Assistance alarm');
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
    case 'guardian': return _('Guardian');
    case 'auditor': return _('Auditor');
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

// Rooms are the words of hemgate.conf (`device.<name>.room`, an alarm's location); the
// common ones, and those of the demo, are shown in the page's language.
export function roomLabel(room) {
  switch (room) {
    case 'hall': return C_('room', 'hall');
    case 'hallway': return C_('room', 'hallway');
    case 'entrance': return C_('room', 'entrance');
    case 'bedroom': return C_('room', 'bedroom');
    case 'kitchen': return C_('room', 'kitchen');
    case 'living room': return C_('room', 'living room');
    case 'bathroom': return C_('room', 'bathroom');
    case 'toilet': return C_('room', 'toilet');
    case 'dining room': return C_('room', 'dining room');
    case 'balcony': return C_('room', 'balcony');
    case 'laundry': return C_('room', 'laundry');
    case 'garage': return C_('room', 'garage');
    case 'garden': return C_('room', 'garden');
    case 'office': return C_('room', 'office');
    default: return room;
  }
}

export function domainLabel(domain) {
  switch (domain) {
    case 'personal': return _('Personal (the resident’s own)');
    case 'municipal': return _('Municipal');
    default: return domain;
  }
}

// The capabilities of data/schemas/manifest.schema.json, in words; net.connect names its
// host and port.
export function capabilityLabel(capability) {
  if (capability.startsWith('net.connect:'))
    return format(_('Connects to {address}'), { address: capability.slice('net.connect:'.length) });
  switch (capability) {
    case 'alarm.raise': return _('Raises alarms');
    case 'alarm.deliver': return _('Delivers alarms to the alarm centre');
    case 'sensor.publish': return _('Publishes sensor readings');
    case 'sensor.subscribe': return _('Reads sensor readings');
    case 'media.camera': return _('Uses the camera');
    case 'media.microphone': return _('Uses the microphone');
    case 'secrets': return _('Keeps secrets');
    default: return capability;
  }
}

// The in-tree plugins' names (their manifests are in English); a third party's stays as
// its manifest says.
export function pluginNameLabel(plugin) {
  switch (plugin.plugin ?? plugin.id) {
    case 'example': return _('Example plugin');
    case 'scaip-alarm': return _('Social alarm over SCAIP');
    case 'mqtt-sensors': return _('Sensors over MQTT (Zigbee2MQTT, ChirpStack, MQTT JSON)');
    default: return plugin.name ?? '';
  }
}

// An API error (api.js ApiError) in words, chosen by its stable `code`; the English
// `message` is for logs. Unknown codes get a general sentence. @context may name the
// form, for a more precise word on invalid-request.
export function apiErrorText(error, context = '') {
  switch (error?.code) {
    case 'network': return _('The connection was lost. Check the network and try again.');
    case 'invalid-json':
    case 'invalid-request':
      if (context === 'user')
        return _('The user name or the password is not accepted. A user name is 1 to 64 letters, digits, “.”, “_” or “-”, starting with a letter or a digit; a password has at least 10 characters.');
      if (context === 'password')
        return _('The password is not accepted: it needs at least 10 characters.');
      return _('What was sent was not accepted. Check it and try again.');
    case 'password-too-weak':
    case 'weak-password':
      return _('The password is too short or too common. Use at least 10 characters, and not a common password.');
    case 'user-exists': return _('A user with this name already exists.');
    case 'unauthenticated': return _('Your session has ended. Please log in again.');
    case 'bad-login': return _('Wrong user name or password.');
    case 'forbidden': return _('Your role may not do this.');
    case 'not-found': return _('It no longer exists. The page shows what there is now.');
    case 'invalid-transition': return _('Someone else has already moved this alarm on; the list shows where it stands.');
    case 'rate-limited': return _('Too many attempts. Wait a moment and try again.');
    case 'journal-unavailable': return _('Nothing was saved: the journal is unavailable. Try again later; municipal IT sees the details.');
    case 'accounts-unavailable': return _('The user accounts are unavailable. Try again later; municipal IT sees the details.');
    case 'unavailable':
    case 'timed-out': return _('This cannot be done right now. Try again in a moment.');
    case 'shutting-down': return _('The system is restarting. Try again in a moment.');
    default: return _('This did not succeed. Try again, or ask municipal IT for help.');
  }
}
