// SPDX-License-Identifier: LGPL-2.1-or-later
// The login page: user name and password; the core sets the session cookie. Staff and
// municipal IT may instead log in with the municipality's identity provider, when the
// gateway has one ([oidc]): a link to /api/v1/auth/oidc/login, which sends the browser
// there and back; a refusal comes back as #/login?oidc-error=<code>.
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

// What the gateway's refusal of a login through the identity provider means, in words.
function oidcErrorText(code) {
  switch (code) {
    case 'no-role':
      return _('Your account gives you no access to this gateway. Ask your IT support if you should have it.');
    case 'idp-unavailable':
      return _('The login service cannot be reached right now. Try again in a moment.');
    case 'no-pending-login':
      return _('The login took too long or was already used. Try again.');
    default:
      return _('The login service’s answer could not be accepted. Try again, or ask your IT support.');
  }
}

// The identity provider's button, once the gateway says it has one.
async function addProviderLogin(section) {
  let info;
  try {
    info = await api('GET', '/api/v1/auth/oidc');
  } catch {
    return;
  }
  if (!info?.enabled)
    return;
  section.append(
    h('h2', {}, _('Staff and municipal IT')),
    h('p', {}, h('a', { id: 'oidc-login', class: 'button primary', href: '/api/v1/auth/oidc/login' },
      format(_('Log in with {name}'), { name: info.display_name }))));
  section.hidden = false;
}

export function render(main, { message, onLoggedIn }) {
  const oidcError = (location.hash.match(/[?&]oidc-error=([a-z-]+)/) ?? [])[1];
  if (oidcError && !message)
    message = oidcErrorText(oidcError);
  const status = h('p', { id: 'login-status', class: message ? (oidcError ? 'error' : 'notice') : null, role: 'alert' }, message ?? '');
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

  const provider = h('section', { class: 'card login', id: 'oidc-section', hidden: true });
  clear(main).append(
    h('h1', {}, _('Log in to hemgate')),
    h('p', {}, _('The gateway of this home. Log in with the user name and password you were given.')),
    status,
    form,
    provider,
    h('div', { class: 'field language-choice' }, h('label', { for: 'login-language' }, _('Language')), language));
  addProviderLogin(provider);
}
