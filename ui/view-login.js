// SPDX-License-Identifier: LGPL-2.1-or-later
// The login page: user name and password; the core sets the session cookie.
import { api } from './api.js';
import { h, clear } from './dom.js';
import { _, format, LANGUAGES, getLanguage, setLanguage } from './i18n.js';

function loginErrorText(error) {
  if (error.status === 429)
    return format(_('Too many failed attempts. Wait {seconds} seconds and try again.'), { seconds: error.retryAfter || 60 });
  if (error.status === 401)
    return _('Wrong user name or password.');
  if (error.status === 400)
    return _('Enter your user name and password.');
  if (error.status === 0)
    return _('The gateway does not answer. Check its network connection and try again.');
  return _('Logging in failed. Try again in a moment.');
}

export function render(main, { message, onLoggedIn }) {
  const status = h('p', { id: 'login-status', class: message ? 'notice' : null, role: 'alert' }, message ?? '');
  const username = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, _('Log in'));
  const language = h('select', { id: 'login-language' },
    LANGUAGES.map((lang) => h('option', { value: lang.code, lang: lang.code, selected: lang.code === getLanguage() }, lang.name)));
  language.addEventListener('change', async () => {
    await setLanguage(language.value, { remember: true });
    render(main, { message, onLoggedIn });
    document.getElementById('login-language')?.focus();
  });

  const form = h('form', { class: 'card login', 'aria-describedby': 'login-status', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'username' }, _('User name')), username),
    h('div', { class: 'field' }, h('label', { for: 'password' }, _('Password')), password),
    submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!username.value || !password.value) {
      status.className = 'error';
      status.textContent = _('Enter your user name and password.');
      (username.value ? password : username).focus();
      return;
    }
    submit.disabled = true;
    status.className = 'notice';
    status.textContent = _('Logging in…');
    try {
      await api('POST', '/api/v1/auth/login', { username: username.value, password: password.value });
    } catch (error) {
      submit.disabled = false;
      password.value = '';
      status.className = 'error';
      status.textContent = loginErrorText(error);
      password.focus();
      return;
    }
    password.value = '';
    await onLoggedIn();
  });

  clear(main).append(
    h('h1', {}, _('Log in to hemgate')),
    h('p', {}, _('The gateway of this home. Log in with the user name and password you were given.')),
    status,
    form,
    h('div', { class: 'field language-choice' }, h('label', { for: 'login-language' }, _('Language')), language));
}
