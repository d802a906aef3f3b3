// SPDX-License-Identifier: LGPL-2.1-or-later
// Municipal IT: the gateway's health and journals, the plugins with restart and
// disable/enable, the municipal secrets (listed without values, set and deleted; what the
// plugins' health reports beside them) and the municipal users (create, reset password,
// end sessions). What
// an action did is said next to its control (a live region there), not at the top of
// the page; the tables stack into one card per row where they are narrow.
import { api, ApiError } from './api.js';
import { h, clear } from './dom.js';
import { _, format, formatNumber } from './i18n.js';
import { apiErrorText, capabilityLabel, domainLabel, pluginNameLabel, roleLabel, whoLabel } from './labels.js';

// A subsystem's state: ok, warning (e.g. a journal near its size budget) or fault.
function healthStateLabel(status) {
  if (status === 'ok') return _('OK');
  if (status === 'warning') return _('Warning');
  return _('Fault');
}

const MUNICIPAL_ROLES = ['staff', 'it-admin', 'service'];
const PASSWORD_MIN = 10;

// The password rule, shown under each password field before anything is typed.
function passwordRule() {
  return _('At least 10 characters; common passwords are refused.');
}

// A cell of a table that stacks on narrow screens, with its column's name to show then.
function cell(label, ...children) {
  return h('td', { dataset: { label } }, ...children);
}

function subsystemLabel(name) {
  switch (name) {
    case 'journal-municipal': return _('Municipal journal');
    case 'journal-personal': return _('Personal journal');
    case 'api': return _('API');
    case 'plugins': return _('Plugins');
    case 'alarm-delivery': return _('Alarm delivery');
    case 'bundles': return _('Installed plugin bundles');
    default: return name;
  }
}

function pluginStateLabel(state) {
  switch (state) {
    case 'running': return _('Running');
    case 'starting': return _('Starting');
    case 'stopped': return _('Stopped');
    case 'failed': return _('Failed');
    case 'restarting': return _('Waiting to restart');
    case 'stopping': return _('Stopping');
    case 'disabled': return _('Disabled');
    default: return state;
  }
}

// What a plugin's entry in GET /api/v1/health says is wrong besides missing secrets: its
// error and its faults, as text (the daemon's own words, in English).
function pluginFaultTexts(plugin) {
  const texts = [];
  if (plugin.error)
    texts.push(plugin.error);
  if (plugin.fault)
    texts.push(typeof plugin.fault === 'string' ? plugin.fault : plugin.fault.message ?? JSON.stringify(plugin.fault));
  for (const fault of Array.isArray(plugin.faults) ? plugin.faults : [])
    texts.push(typeof fault === 'string' ? fault : fault.message ?? JSON.stringify(fault));
  return texts;
}

// The keys of the secrets a plugin asked for and did not find (health's missing_secrets).
function missingSecretKeys(plugin) {
  return (Array.isArray(plugin.missing_secrets) ? plugin.missing_secrets : [])
    .map((missing) => (typeof missing === 'string' ? missing : missing?.key))
    .filter((key) => typeof key === 'string' && key !== '');
}

// A secret's text as the API takes it: UTF-8, base64 encoded (several lines, e.g. PEM).
function base64Utf8(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const byte of bytes)
    binary += String.fromCharCode(byte);
  return btoa(binary);
}

// The steps of an install job (POST /api/v1/bundles), in order, for its progress bar.
const INSTALL_STEPS = ['accepted', 'staging', 'switching', 'starting', 'health-check', 'done'];

function installStepLabel(step) {
  switch (step) {
    case 'accepted': return _('Checked: signed by a trusted key, and allowed here.');
    case 'staging': return _('Unpacking…');
    case 'switching': return _('Switching to the new version…');
    case 'starting': return _('Starting the plugin…');
    case 'health-check': return _('The plugin runs; watching that it keeps running…');
    case 'rolling-back': return _('The new version did not run; going back to the previous one…');
    default: return step;
  }
}

// POSTs a bundle file as it is (the API takes its bytes, not JSON).
async function postBundle(file, approve) {
  const query = approve.length > 0 ? '?approve=' + encodeURIComponent(approve.join(',')) : '';
  let response;
  try {
    response = await fetch('/api/v1/bundles' + query, {
      method: 'POST', credentials: 'same-origin', body: file,
      headers: { Accept: 'application/json', 'Content-Type': 'application/octet-stream' },
    });
  } catch (error) {
    throw new ApiError(0, 'network', error.message);
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new ApiError(response.status, data?.error?.code ?? 'http', data?.error?.message ?? response.statusText);
    error.newCapabilities = data?.error?.new_capabilities ?? [];
    throw error;
  }
  return data;
}

function duration(seconds) {
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return format(_('{days} d {hours} h {minutes} min'), { days, hours, minutes });
}

export async function render(main, context) {
  const pluginFeedback = new Map(); // plugin id → what its last action did
  const healthHost = h('div', { id: 'health' });
  const pluginHost = h('div', { id: 'plugins' });
  const userList = h('div', { id: 'user-list' });
  const userHost = h('div', { id: 'users' }, userList);
  // says what a plugin action did; the row says it too, next to the button
  const pluginAnnounce = h('p', { class: 'visually-hidden', role: 'status' });
  const secretsHost = h('div', { id: 'secrets', class: 'table-host' });
  const secretFaultsHost = h('div', { id: 'secret-faults' });
  const secretFeedback = h('p', { id: 'secret-status', class: 'feedback', role: 'status' });
  const secretOwner = h('select', { id: 'secret-owner' });
  const secretKey = h('input', { id: 'secret-key', autocomplete: 'off', required: true, pattern: '[A-Za-z0-9._\\-]{1,128}', autocapitalize: 'none', spellcheck: 'false', 'aria-describedby': 'secret-key-rule' });
  const secretValue = h('textarea', { id: 'secret-value', rows: '3', required: true, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'secret-value-rule' });

  async function showHealth() {
    const health = await api('GET', '/api/v1/health');
    const rows = Object.entries(health.subsystems ?? {}).map(([name, sub]) =>
      h('tr', { dataset: { subsystem: name } },
        h('th', { scope: 'row' }, subsystemLabel(name)),
        cell(_('State'), h('span', { 'aria-hidden': 'true' }, sub.status === 'ok' ? '✓ ' : '⚠ '), healthStateLabel(sub.status)),
        // the daemon's own words, in English: marked so, for screen readers
        cell(_('Message'), sub.message ? h('span', { lang: 'en' }, sub.message) : '')));
    clear(healthHost).append(
      h('p', { class: 'health', dataset: { status: health.status } },
        h('span', { 'aria-hidden': 'true' }, health.status === 'ok' ? '✓ ' : '⚠ '),
        health.status === 'ok' ? _('All parts of the gateway work.')
          : health.status === 'warning' ? _('Every part works; one needs attention soon.')
            : _('Some part of the gateway has a fault.')),
      h('p', {}, format(_('Version {version}, running for {uptime}.'), { version: health.version ?? '?', uptime: duration(health.uptime ?? 0) })),
      h('table', { class: 'stack' },
        h('caption', {}, _('Parts of the gateway')),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, _('Part')), h('th', { scope: 'col' }, _('State')), h('th', { scope: 'col' }, _('Message')))),
        h('tbody', {}, rows)));
  }

  // After the table is rebuilt the keyboard goes back to the same button of the same row.
  function refocus(focus) {
    if (!focus)
      return;
    const row = pluginHost.querySelector(`tr[data-plugin="${CSS.escape(focus.id)}"]`);
    (row?.querySelector(focus.selector) ?? row?.querySelector('button') ?? row?.querySelector('th'))?.focus();
  }

  async function restart(plugin, button) {
    button.disabled = true;
    try {
      await api('POST', '/api/v1/plugins/' + encodeURIComponent(plugin.id) + '/restart');
      pluginFeedback.set(plugin.id, format(_('Plugin {id} is restarting.'), { id: plugin.id }));
    } catch (error) {
      pluginFeedback.set(plugin.id, format(_('Plugin {id} could not be restarted: {message}'), { id: plugin.id, message: apiErrorText(error) }));
    }
    pluginAnnounce.textContent = pluginFeedback.get(plugin.id);
    button.disabled = false;
    await showPlugins();
    refocus({ id: plugin.id, selector: '[data-restart]' });
  }

  // Disabling asks first; for the last running alarm delivery plugin it says that alarms
  // could then not be delivered.
  async function setDisabled(plugin, disable, others, button) {
    if (disable) {
      const delivers = (plugin.capabilities ?? []).includes('alarm.deliver');
      const lastDelivery = delivers && !others.some((other) => other.id !== plugin.id
        && other.state === 'running' && (other.capabilities ?? []).includes('alarm.deliver'));
      const question = format(_('Disable {id}? It stays stopped, also after a restart of the gateway, until it is enabled.'), { id: plugin.id });
      const warning = format(_('Warning: {id} is the last running alarm delivery plugin. While it is disabled, alarms cannot be delivered to the alarm centre, and the gateway reports a fault.'), { id: plugin.id });
      if (!window.confirm(lastDelivery ? warning + '\n\n' + question : question))
        return;
    }
    button.disabled = true;
    try {
      await api('POST', '/api/v1/plugins/' + encodeURIComponent(plugin.id) + (disable ? '/disable' : '/enable'));
      pluginFeedback.set(plugin.id, format(disable ? _('Plugin {id} is disabled.') : _('Plugin {id} is enabled and starting.'), { id: plugin.id }));
    } catch (error) {
      pluginFeedback.set(plugin.id, format(_('Plugin {id} could not be changed: {message}'), { id: plugin.id, message: apiErrorText(error) }));
    }
    pluginAnnounce.textContent = pluginFeedback.get(plugin.id);
    button.disabled = false;
    await Promise.all([showPlugins(), showHealth()]);
    refocus({ id: plugin.id, selector: disable ? '[data-enable]' : '[data-disable]' });
  }

  async function showPlugins() {
    const plugins = (await api('GET', '/api/v1/plugins')).plugins ?? [];
    const rows = plugins.map((plugin) => {
      // off in the configuration: nothing to restart, disable or enable here
      const offInConfig = plugin.state === 'disabled' && !plugin.disabled_by;
      const button = plugin.state === 'disabled' ? null
        : h('button', { type: 'button', class: 'secondary', 'aria-label': format(_('Restart {id}'), { id: plugin.id }), dataset: { restart: plugin.id } }, _('Restart'));
      button?.addEventListener('click', () => restart(plugin, button));
      const disable = !plugin.disabled_by;
      const toggle = offInConfig ? null
        : h('button', { type: 'button', class: 'secondary', 'aria-label': format(disable ? _('Disable {id}') : _('Enable {id}'), { id: plugin.id }), dataset: disable ? { disable: plugin.id } : { enable: plugin.id } },
          disable ? _('Disable') : _('Enable'));
      toggle?.addEventListener('click', () => setDisabled(plugin, disable, plugins, toggle));
      const name = pluginNameLabel(plugin);
      const capabilities = (plugin.capabilities ?? []).map(capabilityLabel);
      const feedback = pluginFeedback.get(plugin.id) ?? '';
      return h('tr', { dataset: { plugin: plugin.id } },
        h('th', { scope: 'row' }, plugin.id, name ? h('br') : null, name),
        cell(_('Version'), plugin.version ?? '–'),
        cell(_('Domain'), plugin.domain ? domainLabel(plugin.domain) : '–'),
        cell(_('Capabilities'), capabilities.length > 0 ? h('ul', { class: 'plain' }, capabilities.map((text) => h('li', {}, text))) : '–'),
        cell(_('Health'), h('span', { 'aria-hidden': 'true' }, plugin.state === 'running' ? '✓ ' : '⚠ '), pluginStateLabel(plugin.state),
          plugin.error ? h('br') : null, plugin.error ? h('span', { lang: 'en' }, plugin.error) : '',
          plugin.disabled_by ? h('br') : null,
          plugin.disabled_by ? format(_('disabled by {who}'), { who: whoLabel(plugin.disabled_by) }) : ''),
        cell(_('Restarts'), formatNumber(plugin.restarts ?? 0)),
        cell(_('Actions'), button || toggle ? h('div', { class: 'actions' }, button, toggle) : '–',
          h('p', { class: 'feedback' }, feedback)));
    });
    clear(pluginHost).append(plugins.length === 0
      ? h('p', {}, _('No plugins are configured.'))
      : h('table', { class: 'stack' },
        h('caption', { class: 'visually-hidden' }, _('Plugins')),
        h('thead', {}, h('tr', {}, [_('Plugin'), _('Version'), _('Domain'), _('Capabilities'), _('Health'), _('Restarts'), _('Actions')]
          .map((text) => h('th', { scope: 'col' }, text)))),
        h('tbody', {}, rows)));
  }

  async function deleteSecret(secret, button) {
    if (!window.confirm(format(_('Delete the secret {key} of {owner}? What uses it stops working until it is set again.'), { key: secret.key, owner: secret.owner })))
      return;
    button.disabled = true;
    try {
      await api('DELETE', '/api/v1/secrets/' + encodeURIComponent(secret.owner) + '/' + encodeURIComponent(secret.key));
      secretFeedback.textContent = format(_('The secret {key} of {owner} was deleted.'), { key: secret.key, owner: secret.owner });
    } catch (error) {
      secretFeedback.textContent = format(_('The secret was not deleted: {message}'), { message: apiErrorText(error) });
    }
    button.disabled = false;
    await showSecrets();
  }

  // The municipal secrets, never a value; and what the plugins' health says they miss.
  async function showSecrets() {
    const [secrets, plugins, health] = await Promise.all([
      api('GET', '/api/v1/secrets').then((answer) => answer.secrets ?? []),
      api('GET', '/api/v1/plugins').then((answer) => answer.plugins ?? []),
      api('GET', '/api/v1/health'),
    ]);
    const chosen = secretOwner.value;
    // (spread: the DOM's own append () would take the array for text)
    clear(secretOwner).append(h('option', { value: 'core' }, _('The gateway (core)')),
      ...plugins.filter((plugin) => plugin.domain === 'municipal')
        .map((plugin) => h('option', { value: 'plugin:' + plugin.id }, format(_('Plugin {id}'), { id: plugin.id }))));
    if (chosen)
      secretOwner.value = chosen;
    const rows = secrets.map((secret) => {
      const remove = h('button', { type: 'button', class: 'secondary', 'aria-label': format(_('Delete the secret {key} of {owner}'), { key: secret.key, owner: secret.owner }), dataset: { deleteSecret: secret.owner + '/' + secret.key } }, _('Delete'));
      remove.addEventListener('click', () => deleteSecret(secret, remove));
      return h('tr', { dataset: { secret: secret.owner + '/' + secret.key } },
        h('th', { scope: 'row' }, secret.key),
        cell(_('Owner'), secret.owner),
        cell(_('Set'), secret.set_at ? new Date(secret.set_at).toLocaleString() : '–'),
        cell(_('Actions'), remove));
    });
    clear(secretsHost).append(secrets.length === 0
      ? h('p', {}, _('No secrets are stored.'))
      : h('table', { class: 'stack' },
        h('caption', { class: 'visually-hidden' }, _('Secrets')),
        h('thead', {}, h('tr', {}, [_('Key'), _('Owner'), _('Set'), _('Actions')].map((text) => h('th', { scope: 'col' }, text)))),
        h('tbody', {}, rows)));
    // a secret a plugin misses: the instance and the key in words, and a button that fills
    // in the form below with both
    const missing = (health.plugins ?? []).flatMap((plugin) => missingSecretKeys(plugin).map((key) => {
      const owner = 'plugin:' + plugin.id;
      const fill = h('button', { type: 'button', class: 'secondary', 'aria-label': format(_('Set the secret {key} of {owner}'), { key, owner }) }, _('Set the secret'));
      fill.addEventListener('click', () => {
        secretOwner.value = owner;
        secretKey.value = key;
        secretValue.focus();
      });
      return h('li', { dataset: { missingSecret: owner + '/' + key } },
        format(_('Plugin {id} is missing its secret {key}: it asked for it and did not find it.'), { id: plugin.id, key }), ' ', fill);
    }));
    const faults = (health.plugins ?? []).flatMap((plugin) =>
      pluginFaultTexts(plugin).map((text) => h('li', { dataset: { plugin: plugin.id } }, plugin.id + ': ', h('span', { lang: 'en' }, text))));
    clear(secretFaultsHost).append(missing.length === 0 && faults.length === 0 ? ''
      : h('div', { class: 'health', dataset: { status: 'fault' } },
        missing.length === 0 ? ''
          : [h('p', {}, h('span', { 'aria-hidden': 'true' }, '⚠ '), _('Missing secrets:')), h('ul', { class: 'missing-secrets' }, missing)],
        faults.length === 0 ? ''
          : [h('p', {}, h('span', { 'aria-hidden': 'true' }, '⚠ '), _('The plugins report:')), h('ul', {}, faults)]));
  }

  // the form is built once, so that its live region is there before it speaks
  function secretForm() {
    const key = secretKey;
    const value = secretValue;
    const form = h('form', { class: 'card', id: 'secret-form' },
      h('h3', {}, _('Set a secret')),
      h('div', { class: 'field' }, h('label', { for: 'secret-owner' }, _('Owner')), secretOwner),
      h('div', { class: 'field' }, h('label', { for: 'secret-key' }, _('Key')), key,
        h('p', { id: 'secret-key-rule', class: 'hint' }, _('For example sip-password: letters, digits, “.”, “_” or “-”.'))),
      h('div', { class: 'field' }, h('label', { for: 'secret-value' }, _('Value')), value,
        h('p', { id: 'secret-value-rule', class: 'hint' }, _('Text, such as a password or a PEM key. It cannot be read back: the list shows only that it is set.'))),
      h('button', { type: 'submit', class: 'primary' }, _('Set secret')),
      secretFeedback);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      try {
        await api('PUT', '/api/v1/secrets/' + encodeURIComponent(secretOwner.value) + '/' + encodeURIComponent(key.value), { value_base64: base64Utf8(value.value) });
        secretFeedback.textContent = format(_('The secret {key} of {owner} was set.'), { key: key.value, owner: secretOwner.value });
        value.value = '';
        key.value = '';
        await showSecrets();
      } catch (error) {
        value.value = '';
        secretFeedback.textContent = format(_('The secret was not set: {message}'), { message: apiErrorText(error) });
      }
    });
    return form;
  }

  // Install or upgrade a plugin from a signed bundle: the file, a progress bar that follows
  // the install job, and on an upgrade the capabilities new since the running version, to
  // approve before it goes on. The form is built once, so that its live region is there
  // before it speaks.
  function installForm() {
    const file = h('input', { id: 'bundle-file', type: 'file', accept: '.hgp', required: true });
    const progress = h('progress', { id: 'bundle-progress', max: String(INSTALL_STEPS.length - 1), value: '0', hidden: true, 'aria-describedby': 'bundle-status' });
    const status = h('p', { id: 'bundle-status', class: 'feedback', role: 'status' });
    const approval = h('div', { id: 'bundle-approval' });
    const submit = h('button', { type: 'submit', class: 'primary' }, _('Install'));
    const form = h('form', { class: 'card', id: 'bundle-install' },
      h('h3', {}, _('Install or upgrade a plugin')),
      h('div', { class: 'field' },
        h('label', { for: 'bundle-file' }, _('Signed plugin bundle (.hgp)')), file,
        h('p', { class: 'hint' }, _('Only bundles signed by a key the municipal domain trusts are installed.'))),
      submit, progress, status, approval);

    function refused(error) {
      const reason = error.message ? h('span', { lang: 'en' }, error.message) : apiErrorText(error);
      status.replaceChildren(_('Not installed: '), reason);
      progress.hidden = true;
    }

    async function follow(job) {
      progress.hidden = false;
      for (;;) {
        const index = INSTALL_STEPS.indexOf(job.step);
        progress.value = index >= 0 ? index : progress.value;
        if (job.state !== 'running')
          break;
        status.textContent = installStepLabel(job.step);
        await new Promise((resolve) => setTimeout(resolve, 300));
        job = await api('GET', '/api/v1/bundles/jobs/' + encodeURIComponent(job.job));
      }
      if (job.state === 'succeeded') {
        status.textContent = format(_('{plugin} {version} is installed and runs.'), { plugin: job.plugin, version: job.version });
      } else {
        progress.hidden = true;
        status.replaceChildren(
          job.state === 'rolled-back'
            ? format(_('{plugin} {version} did not keep running, so the version before it runs again: '), { plugin: job.plugin, version: job.version })
            : format(_('{plugin} {version} was not installed: '), { plugin: job.plugin, version: job.version }),
          h('span', { lang: 'en' }, job.error ?? ''));
      }
      await Promise.all([showPlugins(), showHealth()]);
    }

    async function install(approve) {
      const bundle = file.files?.[0];
      if (!bundle)
        return;
      clear(approval);
      submit.disabled = true;
      progress.value = 0;
      status.textContent = _('Sending the bundle…');
      try {
        await follow(await postBundle(bundle, approve));
      } catch (error) {
        if (error.code === 'approval-needed') {
          progress.hidden = true;
          status.textContent = _('This version asks for more than the one that runs. Approve it to install it:');
          const approveButton = h('button', { type: 'button', class: 'primary' }, _('Approve and install'));
          approveButton.addEventListener('click', () => install(error.newCapabilities));
          approval.append(
            h('ul', { class: 'plain' }, error.newCapabilities.map((capability) => h('li', {}, capabilityLabel(capability)))),
            approveButton);
        } else {
          refused(error);
        }
      }
      submit.disabled = false;
    }

    form.addEventListener('submit', (event) => {
      event.preventDefault();
      install([]);
    });
    return form;
  }

  function passwordForm(user, feedback) {
    const id = 'password-' + user.username;
    const ruleId = id + '-rule';
    const input = h('input', { id, type: 'password', autocomplete: 'new-password', minlength: String(PASSWORD_MIN), required: true, 'aria-describedby': ruleId });
    const form = h('form', { class: 'inline-form' },
      h('div', { class: 'field' },
        h('label', { for: id }, format(_('New password for {user}'), { user: user.username })), input,
        h('p', { id: ruleId, class: 'hint' }, passwordRule())),
      h('button', { type: 'submit', class: 'secondary' }, _('Set password')));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      try {
        await api('POST', '/api/v1/users/' + encodeURIComponent(user.username) + '/password', { password: input.value });
        feedback.textContent = format(_('The password of {user} was changed; their sessions were ended.'), { user: user.username });
        input.value = '';
      } catch (error) {
        feedback.textContent = format(_('The password was not changed: {message}'), { message: apiErrorText(error, 'password') });
      }
    });
    return form;
  }

  async function showUsers() {
    const users = (await api('GET', '/api/v1/users')).users ?? [];
    const list = h('ul', { class: 'user-list' }, users.map((user) => {
      const feedback = h('p', { class: 'feedback', role: 'status' });
      const revoke = h('button', { type: 'button', class: 'secondary', dataset: { revoke: user.username } }, format(_('End sessions of {user}'), { user: user.username }));
      revoke.addEventListener('click', async () => {
        try {
          const result = await api('DELETE', '/api/v1/users/' + encodeURIComponent(user.username) + '/sessions');
          feedback.textContent = format(_('Sessions of {user} ended: {n}.'), { n: result.revoked, user: user.username });
        } catch (error) {
          feedback.textContent = apiErrorText(error);
        }
      });
      return h('li', { class: 'card', dataset: { user: user.username } },
        h('h3', {}, user.username, ' · ', roleLabel(user.role)),
        passwordForm(user, feedback), revoke, feedback);
    }));

    clear(userList).append(list);
  }

  // the form for a new user is built once, so that its live region is there before it speaks
  function newUserForm() {
    const username = h('input', { id: 'new-username', autocomplete: 'off', required: true, autocapitalize: 'none', spellcheck: 'false' });
    const password = h('input', { id: 'new-password', type: 'password', autocomplete: 'new-password', minlength: String(PASSWORD_MIN), required: true, 'aria-describedby': 'new-password-rule' });
    const role = h('select', { id: 'new-role' }, MUNICIPAL_ROLES.map((r) => h('option', { value: r }, roleLabel(r))));
    const feedback = h('p', { id: 'new-user-status', class: 'feedback', role: 'status' });
    const form = h('form', { class: 'card', id: 'new-user' },
      h('h3', {}, _('New user')),
      h('div', { class: 'field' }, h('label', { for: 'new-username' }, _('User name')), username),
      h('div', { class: 'field' }, h('label', { for: 'new-role' }, _('Role')), role),
      h('div', { class: 'field' }, h('label', { for: 'new-password' }, _('Password')), password,
        h('p', { id: 'new-password-rule', class: 'hint' }, passwordRule())),
      h('button', { type: 'submit', class: 'primary' }, _('Create user')),
      feedback);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      try {
        await api('POST', '/api/v1/users', { username: username.value, role: role.value, password: password.value });
        const created = username.value;
        username.value = '';
        password.value = '';
        await showUsers();
        feedback.textContent = format(_('User {user} was created.'), { user: created });
      } catch (error) {
        feedback.textContent = format(_('The user was not created: {message}'), { message: apiErrorText(error, 'user') });
      }
    });
    return form;
  }

  clear(main).append(
    h('h1', {}, _('Administration')),
    h('section', { class: 'card', 'aria-labelledby': 'health-heading' }, h('h2', { id: 'health-heading' }, _('Gateway health')), healthHost),
    h('section', { class: 'card', 'aria-labelledby': 'plugins-heading' }, h('h2', { id: 'plugins-heading' }, _('Plugins')), pluginAnnounce, pluginHost, installForm()),
    h('section', { class: 'card', 'aria-labelledby': 'secrets-heading' }, h('h2', { id: 'secrets-heading' }, _('Secrets')),
      h('p', {}, _('Passwords and keys the gateway and its plugins use. Values are never shown.')),
      secretFaultsHost, secretsHost, secretForm()),
    h('section', { 'aria-labelledby': 'users-heading' }, h('h2', { id: 'users-heading' }, _('Users')), userHost));
  userHost.append(newUserForm());
  await Promise.all([showHealth(), showPlugins(), showSecrets(), showUsers()]);
  if (!context.isCurrent())
    return;
  const first = await api('GET', '/api/v1/events?limit=1');
  context.live(first.last_seq ?? 0, {
    onEvent(event) {
      if (event.type.startsWith('plugin.'))
        showPlugins().then(showHealth).catch(() => {});
      if (event.type.startsWith('secret.') || event.type.startsWith('plugin.'))
        showSecrets().catch(() => {});
    },
    onReconnected() {
      showPlugins().then(showHealth).catch(() => {});
    },
  });
}
