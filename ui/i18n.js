// SPDX-License-Identifier: LGPL-2.1-or-later
// Translations from po/ (po/<lang>.po, converted to /ui/<lang>.json at build time),
// the page's language and direction, and dates and times in the gateway's time zone.

// The languages the UI offers: English is the source text, the others have a catalogue.
export const LANGUAGES = [
  { code: 'sv', name: 'Svenska' },
  { code: 'en', name: 'English' },
];
const DEFAULT_LANGUAGE = 'sv';
const RTL_LANGUAGES = new Set(['ar', 'fa', 'he', 'ur']);
const STORAGE_KEY = 'hemgate.language';

let language = DEFAULT_LANGUAGE;
let messages = {};
let timeZone;

// Marks a string for translation (xgettext --keyword=_) and translates it.
export function _(msgid) {
  return messages[msgid] || msgid;
}

// The same with a context, for words that translate differently by use (xgettext
// --keyword=C_:1c,2), e.g. C_('door', 'Open').
export function C_(context, msgid) {
  return messages[context + '\u0004' + msgid] || msgid;
}

// Fills {name} placeholders: format(_('{n} readings'), { n: 3 }).
export function format(text, values) {
  return text.replace(/\{(\w+)\}/g, (match, key) => (key in values ? String(values[key]) : match));
}

export function getLanguage() {
  return language;
}

export function storedLanguage() {
  try {
    return localStorage.getItem(STORAGE_KEY) || DEFAULT_LANGUAGE;
  } catch {
    return DEFAULT_LANGUAGE;
  }
}

function isValidCode(code) {
  return typeof code === 'string' && /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$/.test(code);
}

// Loads @code's catalogue (none for English, or for a language without one, whose text
// then stays English) and sets lang and dir on the page; @remember keeps the choice in
// this browser (a choice the user made, not the one the page started with).
export async function setLanguage(code, { remember = false } = {}) {
  if (!isValidCode(code))
    code = DEFAULT_LANGUAGE;
  let loaded = {};
  if (code !== 'en') {
    try {
      const response = await fetch('/ui/' + code + '.json', { credentials: 'same-origin' });
      if (response.ok)
        loaded = (await response.json()).messages ?? {};
    } catch {
      loaded = {};
    }
  }
  language = code;
  messages = loaded;
  const base = code.split('-')[0];
  document.documentElement.lang = code;
  document.documentElement.dir = RTL_LANGUAGES.has(base) ? 'rtl' : 'ltr';
  if (!remember)
    return;
  try {
    localStorage.setItem(STORAGE_KEY, code);
  } catch {
    // private mode: the choice lasts for this page only
  }
}

// The gateway's time zone from GET /api/v1/auth/session; unknown names are ignored.
export function setTimeZone(name) {
  timeZone = undefined;
  if (!name)
    return;
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    timeZone = name;
  } catch {
    timeZone = undefined;
  }
}

export function getTimeZone() {
  return timeZone;
}

export function formatDateTime(value) {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime()))
    return '';
  return new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(date);
}

export function formatTime(value) {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime()))
    return '';
  return new Intl.DateTimeFormat(language, { timeStyle: 'short', timeZone }).format(date);
}

export function formatDay(value) {
  const date = value instanceof Date ? value : new Date(value);
  return new Intl.DateTimeFormat(language, { weekday: 'short', day: 'numeric', month: 'short', timeZone }).format(date);
}

// A day as words, "31 December 2026", in the gateway's time zone.
export function formatDate(value) {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime()))
    return '';
  return new Intl.DateTimeFormat(language, { dateStyle: 'long', timeZone }).format(date);
}

// The gateway's calendar day of @value as YYYY-MM-DD (what an <input type=date> holds).
export function dayInZone(value) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', timeZone })
    .formatToParts(value instanceof Date ? value : new Date(value)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}

// The moment the wall clock of the gateway's time zone shows @day (YYYY-MM-DD) at @time
// (HH:MM:SS), whatever zone the browser is in.
export function zonedMoment(day, time = '00:00:00') {
  const [y, m, d] = day.split('-').map(Number);
  const [hh, mm, ss] = time.split(':').map(Number);
  const wanted = Date.UTC(y, m - 1, d, hh, mm, ss || 0);
  let guess = new Date(wanted);
  // twice: the second pass settles a guess that fell on the other side of a DST change
  for (let i = 0; i < 2; i++) {
    const parts = Object.fromEntries(new Intl.DateTimeFormat('en-US', { hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric', timeZone }).formatToParts(guess).map((p) => [p.type, p.value]));
    const shown = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
    guess = new Date(guess.getTime() + (wanted - shown));
  }
  return guess;
}

export function formatNumber(value) {
  return new Intl.NumberFormat(language).format(value);
}

// A length of time as a clock shows it: "4:07", "1:02:07".
export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const two = (n) => String(n).padStart(2, '0');
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  return hours > 0 ? `${hours}:${two(minutes)}:${two(s % 60)}` : `${minutes}:${two(s % 60)}`;
}

// The wall clock of the gateway's time zone now, as minutes since midnight.
export function minutesInZone(value = new Date()) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-US', { hourCycle: 'h23', hour: 'numeric', minute: 'numeric', timeZone })
    .formatToParts(value).map((p) => [p.type, p.value]));
  return Number(parts.hour) * 60 + Number(parts.minute);
}
