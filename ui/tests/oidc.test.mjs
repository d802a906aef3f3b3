// SPDX-License-Identifier: LGPL-2.1-or-later
// Staff log in with the municipality's identity provider in a real browser: Debian's
// Chromium (playwright-core) on the real hemgated in demo mode, the real OpenID Provider
// of tests/oidc/provider.mjs (oidc-provider), and the client secret in a real Secret
// Service (run under daemon/core/tests/run-with-keyring.sh, which makes a private D-Bus
// session with gnome-keyring). Apart from browser.test.mjs, whose gateway has no provider.
// Run by meson (suite ui): run-with-keyring.sh node --test --test-reporter=tap oidc.test.mjs
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set; run this test through meson (suite ui)`);
  return value;
};
const HEMGATED = env('HEMGATED');
const PLUGIN_HOST = env('HEMGATE_PLUGIN_HOST');
const BUILD_ROOT = env('HGD_TEST_BUILD_ROOT');
const CHROMIUM = env('CHROMIUM');
const PROVIDER = env('HEMGATE_OIDC_PROVIDER');
const SCREENSHOT_DIR = env('SCREENSHOT_DIR');
const CLIENT_SECRET = 'ui-oidc-' + crypto.randomBytes(12).toString('hex');

let stateDir;
let provider;
let daemon;
let baseUrl;
let browser;
let PROVIDER_ISSUER;

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Resolves with the first match of @pattern in @child's stdout.
function waitForOutput(child, pattern, what) {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${out}`)), 30000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = out.match(pattern);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
    child.on('exit', (code) => reject(new Error(`${what} exited with ${code}: ${out}`)));
  });
}

before(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hemgate-ui-oidc-'));
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const gatewayPort = await freePort();
  const providerPort = await freePort();
  baseUrl = `http://127.0.0.1:${gatewayPort}`;

  // the client secret where hemgated looks for it: the secret store, never its config
  const stored = spawnSync('secret-tool', ['store', '--label=hemgate oidc', 'xdg:schema', 'org.hemgate.Secret',
    'domain', 'municipal', 'owner', 'core', 'key', 'oidc-client-secret'], { input: CLIENT_SECRET, encoding: 'utf8' });
  assert.equal(stored.status, 0, 'secret-tool failed: ' + stored.stderr);

  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'ui-key', alg: 'RS256', use: 'sig' };
  fs.writeFileSync(path.join(stateDir, 'provider.json'), JSON.stringify({
    port: providerPort,
    client_id: 'hemgate-ui-test',
    client_secret: CLIENT_SECRET,
    redirect_uri: `${baseUrl}/api/v1/auth/oidc/callback`,
    backchannel_logout_uri: `${baseUrl}/api/v1/auth/oidc/backchannel-logout`,
    jwk,
    users: {
      anna: { name: 'Anna Andersson', groups: ['hemtjanst'] },
      olle: { name: 'Olle Olsson', groups: ['bibliotek'] },
    },
  }));
  provider = spawn('node', [PROVIDER, path.join(stateDir, 'provider.json')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [, issuer] = await waitForOutput(provider, /READY (\S+)\n/, 'the OpenID Provider');
  PROVIDER_ISSUER = issuer;

  fs.writeFileSync(path.join(stateDir, 'overlay.conf'), [
    '[api]', `port = ${gatewayPort}`, '',
    // the session keyring, where secret-tool above put the client secret
    '[secrets]', 'service = session', '',
    '[plugin:scaip-alarm]', 'enabled = false', '',
    '[oidc]', `issuer = ${issuer}`, 'client-id = hemgate-ui-test',
    `redirect-uri = ${baseUrl}/api/v1/auth/oidc/callback`, 'display-name = Testkommunen',
    'staff = hemtjanst', '',
  ].join('\n'));
  daemon = spawn(HEMGATED, ['--demo', '--state-dir', path.join(stateDir, 'state'), '--config', path.join(stateDir, 'overlay.conf')], {
    env: { ...process.env, HEMGATE_PLUGINDIR: path.join(BUILD_ROOT, 'plugins'), HEMGATE_PLUGIN_HOST: PLUGIN_HOST, LC_ALL: 'C.UTF-8' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await waitForOutput(daemon, /Ctrl\+C/, 'hemgated');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  daemon?.kill('SIGTERM');
  provider?.kill('SIGTERM');
  if (stateDir)
    fs.rmSync(stateDir, { recursive: true, force: true });
});

// From the gateway's login page through the provider's login form, on a tablet.
async function loginWithProvider(user) {
  const context = await browser.newContext({ viewport: { width: 768, height: 1024 } });
  const page = await context.newPage();
  await page.goto(baseUrl + '/');
  const button = page.locator('#oidc-login');
  await button.waitFor();
  assert.equal(await button.innerText(), 'Logga in med Testkommunen');
  await button.click();
  await page.locator('input[name=login]').fill(user);
  await page.locator('input[name=password]').fill('any password');
  await page.locator('button[type=submit]').click();
  await page.waitForURL((url) => url.toString().startsWith(baseUrl + '/#/'));
  return { context, page };
}

test('staff log in with the identity provider and get the staff view', async () => {
  const started = Date.now();
  const { context, page } = await loginWithProvider('anna');
  await page.locator('main h1', { hasText: 'Hemmets status' }).waitFor();
  console.log(`# login round trip through the provider: ${Date.now() - started} ms`);
  assert.match(page.url(), /#\/staff$/);
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'oidc-staff-sv.png') });

  // logging out ends the session here and sends the browser to log out at the provider
  // too, so that the next one on a shared tablet is not signed in as this one
  const menu = page.locator('header .menu-toggle');
  if (await menu.isVisible())
    await menu.click();
  await page.locator('header button', { hasText: 'Logga ut' }).click();
  await page.waitForURL((url) => url.toString().startsWith(PROVIDER_ISSUER + '/session/end'));
  const session = await context.request.get(baseUrl + '/api/v1/auth/session');
  assert.equal(session.status(), 401);
  await context.close();
});

test('a user whose groups give no role is told so in Swedish and gets no session', async () => {
  const { context, page } = await loginWithProvider('olle');
  await page.locator('#login-status.error').waitFor();
  assert.equal(await page.locator('#login-status').innerText(),
    'Ditt konto ger dig ingen åtkomst till den här gatewayen. Fråga din IT-support om du borde ha det.');
  const session = await page.evaluate(async () => (await fetch('/api/v1/auth/session')).status);
  assert.equal(session, 401);
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'oidc-no-role-sv.png') });
  await context.close();
});
