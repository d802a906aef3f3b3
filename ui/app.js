// SPDX-License-Identifier: LGPL-2.1-or-later
// The hemgate web UI: session, navigation by role, the live events stream. Views are
// addressed as #/<name>, so the gateway only ever serves / and /ui/<file>.
import { api, onUnauthenticated } from './api.js';
import { h, clear, focusHeading } from './dom.js';
import { LiveEvents } from './events.js';
import { _, setLanguage, setTimeZone, storedLanguage } from './i18n.js';
import { apiErrorText, roleLabel } from './labels.js';
import * as login from './view-login.js';
import * as resident from './view-resident.js';
import * as sharing from './view-sharing.js';
import * as accessLog from './view-access-log.js';
import * as staff from './view-staff.js';
import * as admin from './view-admin.js';
import * as auditor from './view-auditor.js';
import * as settings from './view-settings.js';
import { applyTextSize, storedTextSize } from './view-settings.js';
import { forgetVisitRecords } from './visit-records.js';

// Each view says which roles may open it; anyone else gets the 403 page and the view
// never runs, so it asks the API for nothing. Video visits and plugin installation get
// their entries here when the gateway has those capabilities. @label is given the role.
const VIEWS = {
  home: { module: resident, roles: ['resident', 'family', 'guardian'], label: () => _('My home') },
  sharing: { module: sharing, roles: ['resident', 'guardian'], label: () => _('Sharing') },
  'access-log': { module: accessLog, roles: ['resident', 'guardian', 'auditor'], label: (role) => (role === 'auditor' ? _('Access log') : _('Who has looked')) },
  staff: { module: staff, roles: ['staff'], label: () => _('Home status') },
  admin: { module: admin, roles: ['it-admin'], label: () => _('Administration') },
  audit: { module: auditor, roles: ['auditor'], label: () => _('Audit') },
  settings: { module: settings, roles: ['resident', 'family', 'staff', 'it-admin', 'service', 'guardian', 'auditor'], label: () => _('Settings') },
};

const START_VIEW = {
  resident: 'home', family: 'home', guardian: 'home', staff: 'staff', 'it-admin': 'admin', service: 'settings', auditor: 'audit',
};

let generation = 0; // each route and each logout makes the views before it stale
let loaded = false;  // after the first view, each new view takes the focus to its heading

const state = {
  session: null,   // GET /api/v1/auth/session, or null when logged out
  live: null,      // LiveEvents of the current view
  view: null,      // the current view's module
  listeners: new Set(),
};

const main = document.getElementById('main');
const top = document.getElementById('top');
const banner = document.getElementById('banner');

function showBanner(kind, text) {
  banner.className = 'banner banner-' + kind;
  banner.textContent = text;
  banner.hidden = false;
}

function hideBanner() {
  banner.hidden = true;
  banner.textContent = '';
}

let restoredTimer = 0;
function connectionChanged(status) {
  clearTimeout(restoredTimer);
  if (status === 'lost') {
    showBanner('lost', _('The connection to the gateway was lost. Reconnecting…'));
    for (const listener of state.listeners)
      listener.onLost?.();
    return;
  }
  showBanner('ok', _('Connected again. Everything that happened meanwhile is shown.'));
  restoredTimer = setTimeout(hideBanner, 4000);
  for (const listener of state.listeners)
    listener.onReconnected?.();
}

function stopLive() {
  state.live?.stop();
  state.live = null;
}

// Everything shown is dropped at once: the page must not keep another user's data.
function endSession() {
  generation++;
  // (the view first: a call it holds hangs up over the stream before the stream closes)
  state.view?.dispose?.();
  stopLive();
  state.view = null;
  state.session = null;
  state.listeners.clear();
  forgetVisitRecords();
  clear(main);
  clear(top);
  hideBanner();
}

async function checkSession() {
  if (!state.session)
    return;
  try {
    await api('GET', '/api/v1/auth/session');
  } catch {
    // 401 is handled by onUnauthenticated; anything else is the connection, retried
  }
}

function sessionEnded() {
  if (!state.session)
    return;
  endSession();
  renderLogin(_('Your session has ended. Please log in again.'));
}

onUnauthenticated(sessionEnded);

// On a narrow screen, or a small one with large text, the navigation and the user fold
// behind a menu button (style.css decides by the header's width in rem), so that the
// header stays one line high and the view starts on the first screen.
function renderHeader() {
  clear(top);
  top.classList.remove('open');
  document.getElementById('skip-link').textContent = _('Skip to content');
  const session = state.session;
  const nav = h('ul', { class: 'nav-list' });
  for (const [name, view] of Object.entries(VIEWS)) {
    if (!view.roles.includes(session.role))
      continue;
    const current = location.hash === '#/' + name;
    nav.append(h('li', {}, h('a', { href: '#/' + name, 'aria-current': current ? 'page' : null }, view.label(session.role))));
  }
  const toggle = h('button', { type: 'button', id: 'menu-toggle', class: 'menu-toggle secondary', 'aria-expanded': 'false', 'aria-controls': 'top-menu' },
    h('span', { 'aria-hidden': 'true' }, '☰ '), _('Menu'));
  const menu = h('div', { class: 'top-menu', id: 'top-menu' },
    h('nav', { 'aria-label': _('Main menu') }, nav),
    h('div', { class: 'who' },
      h('span', {}, session.username, ' · ', roleLabel(session.role)),
      h('button', { type: 'button', class: 'secondary', onclick: logout }, _('Log out'))));
  toggle.addEventListener('click', () => {
    const open = !top.classList.contains('open');
    top.classList.toggle('open', open);
    toggle.setAttribute('aria-expanded', String(open));
  });
  const closeOnEscape = (event) => {
    if (event.key !== 'Escape' || !top.classList.contains('open'))
      return;
    top.classList.remove('open');
    toggle.setAttribute('aria-expanded', 'false');
    toggle.focus();
  };
  toggle.addEventListener('keydown', closeOnEscape);
  menu.addEventListener('keydown', closeOnEscape);
  top.append(h('p', { class: 'brand' }, 'hemgate'), toggle, menu);
}

async function logout() {
  let answer = null;
  try {
    answer = await api('POST', '/api/v1/auth/logout');
  } catch {
    // the cookie is gone or the gateway is away: the page forgets the session anyway
  }
  endSession();
  // a session from the municipality's identity provider: log out there too, so that the
  // next person on a shared tablet is not signed in as this one
  if (answer?.end_session_url) {
    location.assign(answer.end_session_url);
    return;
  }
  history.replaceState(null, '', '/#/login');
  renderLogin();
}

function renderLogin(message) {
  document.getElementById('skip-link').textContent = _('Skip to content');
  document.title = _('Log in') + ' – hemgate';
  login.render(main, { message, onLoggedIn: startSession });
  if (loaded)
    focusHeading(main);
  loaded = true;
}

function renderForbidden() {
  document.title = _('No access') + ' – hemgate';
  clear(main).append(
    h('h1', {}, _('No access')),
    h('p', {}, _('This page is not for your role. Nothing from it has been loaded.')),
    h('p', {}, h('a', { href: '#/' + (START_VIEW[state.session.role] ?? 'settings') }, _('Go to your start page'))));
  focusHeading(main);
}

async function startSession() {
  const session = await api('GET', '/api/v1/auth/session');
  state.session = session;
  setTimeZone(session.timezone);
  route();
}

// Shows the view of the hash for the session's role.
async function route() {
  const name = (location.hash.match(/^#\/([a-z-]+)/) ?? [])[1];
  if (!state.session) {
    if (name !== 'login')
      history.replaceState(null, '', '/#/login');
    renderLogin();
    return;
  }
  if (!name || name === 'login' || !(name in VIEWS)) {
    location.hash = '#/' + (START_VIEW[state.session.role] ?? 'settings');
    return;
  }
  const mine = ++generation;
  state.view?.dispose?.();
  stopLive();
  state.view = null;
  state.listeners.clear();
  hideBanner();
  renderHeader();
  const view = VIEWS[name];
  if (!view.roles.includes(state.session.role)) {
    renderForbidden();
    return;
  }
  document.title = view.label(state.session.role) + ' – hemgate';
  state.view = view.module;
  clear(main);
  const context = {
    session: state.session,
    // a view still loading when the user moves on asks for nothing more
    isCurrent: () => mine === generation,
    // a view asks for live events after the sequence number it has shown; the stream
    // (LiveEvents) is returned for the view's channels to plugins
    live(after, listener) {
      if (mine !== generation)
        return null;
      state.listeners.add(listener);
      state.live = new LiveEvents(after, {
        onEvent: (event) => listener.onEvent?.(event),
        onConnectionChange: connectionChanged,
        onSessionEnded: sessionEnded,
        checkSession,
      });
      state.live.start();
      return state.live;
    },
    async changeLanguage(code) {
      await setLanguage(code, { remember: true });
      route();
    },
  };
  main.setAttribute('aria-busy', 'true');
  try {
    await view.module.render(main, context);
  } catch (error) {
    if (mine === generation)
      main.append(h('p', { class: 'error', role: 'alert' }, _('Something went wrong loading this page.'), ' ', apiErrorText(error)));
  }
  if (mine !== generation)
    return;
  main.removeAttribute('aria-busy');
  if (loaded)
    focusHeading(main);
  loaded = true;
}

async function boot() {
  applyTextSize(storedTextSize());
  await setLanguage(storedLanguage());
  // views are #/<name>; any other hash (the skip link's) is no navigation
  window.addEventListener('hashchange', () => {
    if (location.hash.startsWith('#/') || location.hash === '')
      route();
  });
  document.getElementById('skip-link').addEventListener('click', (event) => {
    event.preventDefault();
    main.focus();
  });
  try {
    await startSession();
  } catch {
    state.session = null;
    route();
  }
}

boot();
