// SPDX-License-Identifier: LGPL-2.1-or-later
// Settings for every role: language and text size, kept in this browser.
import { h, clear } from './dom.js';
import { _, LANGUAGES, getLanguage } from './i18n.js';

const SIZE_KEY = 'hemgate.text-size';
const SIZES = ['normal', 'large', 'larger', 'largest'];

export function applyTextSize(size) {
  const root = document.documentElement;
  for (const s of SIZES)
    root.classList.remove('text-' + s);
  root.classList.add('text-' + (SIZES.includes(size) ? size : 'normal'));
}

export function storedTextSize() {
  try {
    return localStorage.getItem(SIZE_KEY) || 'normal';
  } catch {
    return 'normal';
  }
}

function sizeLabel(size) {
  switch (size) {
    case 'large': return _('Large');
    case 'larger': return _('Larger');
    case 'largest': return _('Largest');
    default: return _('Normal');
  }
}

export function render(main, context) {
  const language = h('fieldset', {},
    h('legend', {}, _('Language')),
    LANGUAGES.map((lang) => h('div', { class: 'choice' },
      h('input', { type: 'radio', name: 'language', id: 'language-' + lang.code, value: lang.code, checked: lang.code === getLanguage() }),
      h('label', { for: 'language-' + lang.code, lang: lang.code }, lang.name))));
  language.addEventListener('change', (event) => context.changeLanguage(event.target.value));

  const current = storedTextSize();
  const size = h('fieldset', {},
    h('legend', {}, _('Text size')),
    SIZES.map((s) => h('div', { class: 'choice' },
      h('input', { type: 'radio', name: 'text-size', id: 'text-size-' + s, value: s, checked: s === current }),
      h('label', { for: 'text-size-' + s }, sizeLabel(s)))));
  size.addEventListener('change', (event) => {
    applyTextSize(event.target.value);
    try {
      localStorage.setItem(SIZE_KEY, event.target.value);
    } catch {
      // private mode: the choice lasts for this page only
    }
  });

  clear(main).append(
    h('h1', {}, _('Settings')),
    h('p', {}, _('These settings are kept in this browser.')),
    h('form', { class: 'card settings' }, language, size));
}
