// SPDX-License-Identifier: LGPL-2.1-or-later
// The web UI's video care visits in a real browser against a real gateway: Debian's
// Chromium (fake camera and microphone), driven by playwright-core, as the staff tablet
// and as the resident's home screen, against hemgated in demo mode with the webrtc-visit
// plugin in its real plugin host. Staff press Call in the home view, the resident's page
// rings and is answered, the staff page plays the home's video; the resident hangs up; a
// declined call, a busy one, and night checks with and without the resident's consent.
// Each screen is checked with axe-core in Swedish and English and at 200 % text, and
// photographed into $SCREENSHOT_DIR. The cases run in order against one gateway.
// Run by meson (suite ui): node --test --test-reporter=tap ui/tests/visit.test.mjs
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const env = (name) => {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set; run this test through meson (suite ui)`);
  return value;
};
const HEMGATED = env('HEMGATED');
const PLUGIN_HOST = env('HEMGATE_PLUGIN_HOST');
const PLUGIN_DIR = env('HEMGATE_PLUGINDIR');
const CHROMIUM = env('CHROMIUM');
const SCREENSHOT_DIR = env('SCREENSHOT_DIR');
const PASSWORD = 'ui-visit-password-7';
const GATEWAY_TZ = 'Europe/Stockholm';
const CHECK_SECONDS = 20;
const VIEWPORT = { width: 1280, height: 800 };
const TABLET = { width: 768, height: 1024 };

let stateDir;
let daemon;
let daemonLog = '';
let baseUrl;
let browser;
const contexts = [];
const pageProblems = [];

async function startDaemon() {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hemgate-ui-visit-'));
  fs.chmodSync(stateDir, 0o755);
  // only the visit plugin: the demo's alarm centre and sensors are not simulated here
  const overlay = [
    '[api]', 'port = 0', '',
    '[plugin:example]', 'enabled = false', '',
    '[plugin:scaip-alarm]', 'enabled = false', '',
    '[plugin:sensors-municipal]', 'enabled = false', '',
    '[plugin:sensors-personal]', 'enabled = false', '',
    '[plugin:webrtc-visit]', 'domain = municipal', 'ring-seconds = 120', `check-seconds = ${CHECK_SECONDS}`, '',
  ].join('\n');
  fs.writeFileSync(path.join(stateDir, 'overlay.conf'), overlay);
  daemon = spawn(HEMGATED, ['--demo', '--state-dir', path.join(stateDir, 'state'), '--config', path.join(stateDir, 'overlay.conf')], {
    env: {
      ...process.env,
      HEMGATE_DEMO_PASSWORD: PASSWORD,
      HEMGATE_PLUGINDIR: PLUGIN_DIR,
      HEMGATE_PLUGIN_HOST: PLUGIN_HOST,
      TZ: GATEWAY_TZ,
      LC_ALL: 'C.UTF-8',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  daemon.stderr.on('data', (chunk) => { daemonLog = (daemonLog + chunk).slice(-20000); });
  baseUrl = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('hemgated did not start: ' + out)), 30000);
    daemon.stdout.on('data', (chunk) => {
      out += chunk;
      const match = out.match(/(http:\/\/127\.0\.0\.1:\d+)/);
      if (match && out.includes('Ctrl+C')) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    daemon.on('exit', (code) => reject(new Error('hemgated exited with ' + code + ': ' + out)));
  });
}

async function newPage(viewport = VIEWPORT) {
  const context = await browser.newContext({ viewport, serviceWorkers: 'block' });
  await context.grantPermissions(['camera', 'microphone'], { origin: baseUrl });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (error) => pageProblems.push('page error: ' + error.message));
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text()))
      pageProblems.push('CSP: ' + message.text());
  });
  return page;
}

async function ready(page) {
  await page.locator('main:not([aria-busy]) h1').waitFor();
}

async function login(page, username, { language = 'sv' } = {}) {
  await page.goto(baseUrl + '/');
  await page.evaluate((code) => localStorage.setItem('hemgate.language', code), language);
  await page.reload();
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(PASSWORD);
  await page.locator('form.login button[type=submit]').click();
  await page.locator('header .who').waitFor({ state: 'attached' });
  await ready(page);
}

// A page's language and text size as the settings page keeps them, then the view again.
async function setPreferences(page, { language, size }) {
  await page.evaluate(({ language, size }) => {
    if (language)
      localStorage.setItem('hemgate.language', language);
    if (size)
      localStorage.setItem('hemgate.text-size', size);
  }, { language, size });
  await page.reload();
  await ready(page);
}

// The text size of the settings page, on the page as it is (a reload would end what the
// screen shows: a call's screens are not shown again after one).
async function textSize(page, size) {
  await page.evaluate((size) => {
    const root = document.documentElement;
    root.classList.remove('text-normal', 'text-large', 'text-larger', 'text-largest');
    root.classList.add('text-' + size);
  }, size);
}

async function checkAccessibility(page, name) {
  await page.evaluate(AXE_SOURCE + '\n;0');
  const results = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`), [],
    `axe found serious violations in ${name}`);
}

// A call's screens fill the window: they are photographed as the window shows them.
async function shoot(page, name, { fullPage = false } = {}) {
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, name + '.png'), fullPage });
}

// Text or controls of @selector's subtree cut off (wider or taller inside than shown, or
// above the top of a screen that scrolls), controls smaller than 48 px, and controls not
// on the first screen, for the message of a failed check.
async function layoutProblems(page, selector) {
  return page.evaluate((selector) => {
    const problems = [];
    const root = document.querySelector(selector);
    root.scrollTop = 0;
    const top = root.getBoundingClientRect().top;
    for (const el of [root, ...root.querySelectorAll('*')]) {
      if (el !== root && el.offsetParent !== null && el.getBoundingClientRect().top < top - 1)
        problems.push(`${el.tagName}#${el.id} is above the top, where no scrolling reaches`);
      if (el.offsetParent === null && el !== root)
        continue;
      if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible')
        problems.push(`${el.tagName}#${el.id} cut off sideways`);
      if (el.tagName === 'BUTTON') {
        const box = el.getBoundingClientRect();
        if (box.width < 48 || box.height < 48)
          problems.push(`${el.id} is ${box.width}×${box.height} px`);
        if (box.top < 0 || box.bottom > innerHeight || box.left < 0 || box.right > innerWidth)
          problems.push(`${el.id} is not on the first screen`);
        if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)
          problems.push(`${el.id}'s text is cut off`);
      }
    }
    return problems;
  }, selector);
}

// The home's video plays on the staff page: frames decoded, and the clock runs.
async function videoPlays(page) {
  const start = await page.locator('#call-remote').evaluate(async (video) => {
    for (let i = 0; i < 300 && (video.readyState < 2 || video.videoWidth === 0); i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    return { time: video.currentTime, frames: video.getVideoPlaybackQuality().totalVideoFrames, width: video.videoWidth };
  });
  assert.ok(start.width > 0, 'the home\'s video has a picture');
  await page.waitForTimeout(1500);
  const later = await page.locator('#call-remote').evaluate((video) => ({
    time: video.currentTime, frames: video.getVideoPlaybackQuality().totalVideoFrames, paused: video.paused,
  }));
  assert.ok(later.time > start.time, `the home's video plays: currentTime ${start.time} → ${later.time}`);
  assert.ok(later.frames > start.frames, `frames decoded: ${start.frames} → ${later.frames}`);
  assert.equal(later.paused, false);
}

async function visitHealth(page) {
  const body = await (await page.request.get(baseUrl + '/api/v1/plugins')).json();
  return body.plugins.find((p) => p.id === 'webrtc-visit')?.health?.report ?? null;
}

async function waitFor(what, condition, seconds = 30) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await condition();
    if (value)
      return value;
    if (Date.now() > deadline) {
      console.log('# hemgated: ' + daemonLog.split('\n').slice(-30).join('\n# '));
      throw new Error('timed out waiting for ' + what);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// The gateway's wall clock @minutes from now, HH:MM
function gatewayClock(minutes) {
  return new Intl.DateTimeFormat('sv', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: GATEWAY_TZ })
    .format(new Date(Date.now() + minutes * 60000));
}

before(async () => {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  for (const file of fs.readdirSync(SCREENSHOT_DIR))
    fs.rmSync(path.join(SCREENSHOT_DIR, file));
  await startDaemon();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required'],
  });
});

after(async () => {
  for (const context of contexts)
    await context.close().catch(() => {});
  await browser?.close();
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGTERM');
    await new Promise((resolve) => daemon.once('exit', resolve));
  }
  if (stateDir)
    fs.rmSync(stateDir, { recursive: true, force: true });
  assert.deepEqual(pageProblems, []);
});

let staff;
let resident;

test('staff call; the home rings and answers; staff see the home\'s video; the resident hangs up', async () => {
  staff = await newPage();
  resident = await newPage(TABLET);
  // counts the ring's notes as the page plays them (WebAudio)
  await resident.addInitScript(() => {
    window.notesPlayed = 0;
    const start = OscillatorNode.prototype.start;
    OscillatorNode.prototype.start = function (...args) {
      if (this.context.state === 'running')
        window.notesPlayed++;
      return start.apply(this, args);
    };
  });
  await login(staff, 'staff');
  await waitFor('the visit plugin to run', async () => (await visitHealth(staff))?.call === 'idle');
  await staff.reload();
  await ready(staff);
  await login(resident, 'resident');
  await staff.locator('#visit-call').waitFor();
  assert.equal(await staff.locator('#visit-call').innerText(), '☎ Ring');
  await checkAccessibility(staff, 'staff home with the visit card (sv)');
  await shoot(staff, 'staff-visit-card-sv', { fullPage: true });

  await staff.locator('#visit-call').click();
  const screen = staff.locator('#call-screen');
  await staff.locator('#call-screen[open][data-state="ringing"]').waitFor();
  assert.match(await staff.locator('#call-state').innerText(), /Det ringer hos den boende/);
  assert.equal(await staff.locator('#call-hangup').innerText(), '✕ Lägg på');
  await checkAccessibility(staff, 'staff call screen, ringing (sv)');
  await shoot(staff, 'staff-call-ringing-sv');

  // the home screen rings: full screen, who calls, Answer and Decline
  const incoming = resident.locator('#home-call[open][data-state="ringing"]');
  await incoming.waitFor({ timeout: 10000 });
  assert.match(await resident.locator('#home-call-who').innerText(), /staff från hemtjänsten ringer dig/);
  assert.equal(await resident.evaluate(() => document.activeElement.id), 'home-call-answer', 'the keyboard starts on Answer');
  await checkAccessibility(resident, 'resident incoming call (sv)');
  await shoot(resident, 'resident-call-incoming-sv');
  await textSize(resident, 'largest');
  await checkAccessibility(resident, 'resident incoming call (sv, 200 %)');
  await shoot(resident, 'resident-call-incoming-sv-200');
  assert.deepEqual(await layoutProblems(resident, '#home-call'), []);
  await textSize(resident, 'normal');
  // a home screen that (re)connects while it rings is rung again: here in English
  await setPreferences(resident, { language: 'en' });
  await incoming.waitFor({ timeout: 10000 });
  assert.equal(await resident.locator('#home-call-title').innerText(), 'Video call');
  assert.match(await resident.locator('#home-call-who').innerText(), /staff from the home-care service is calling you/);
  await checkAccessibility(resident, 'resident incoming call (en)');
  await shoot(resident, 'resident-call-incoming-en');
  await setPreferences(resident, { language: 'sv' });
  await incoming.waitFor({ timeout: 10000 });

  await resident.waitForFunction(() => window.notesPlayed >= 2, null, { timeout: 10000 });
  await resident.locator('#home-call-answer').click();
  await resident.locator('#home-call[open][data-state="in-call"]').waitFor();
  const notes = await resident.evaluate(() => window.notesPlayed);
  await staff.locator('#call-screen[data-state="in-call"]').waitFor({ timeout: 30000 });
  assert.match(await staff.locator('#call-state').innerText(), /^I samtal$/);
  await videoPlays(staff);
  // own camera small; the controls are words
  assert.ok(await staff.locator('#call-self').evaluate((video) => video.srcObject?.getVideoTracks().length === 1));
  assert.equal(await staff.locator('#call-mute').innerText(), 'Stäng av mikrofonen');
  assert.equal(await staff.locator('#call-camera').innerText(), 'Stäng av kameran');
  await staff.locator('#call-mute').click();
  assert.equal(await staff.locator('#call-mute').innerText(), 'Slå på mikrofonen');
  assert.ok(await staff.locator('#call-self').evaluate((video) => video.srcObject.getAudioTracks()[0].enabled === false));
  await staff.locator('#call-mute').click();
  await staff.locator('#call-duration', { hasText: /Tid 0:0[1-9]/ }).waitFor();
  await checkAccessibility(staff, 'staff call screen, in call (sv)');
  await shoot(staff, 'staff-call-in-call-sv');
  await textSize(staff, 'largest');
  await checkAccessibility(staff, 'staff call screen, in call (sv, 200 %)');
  await shoot(staff, 'staff-call-in-call-sv-200');
  assert.deepEqual(await layoutProblems(staff, '#call-screen'), []);
  await textSize(staff, 'normal');

  assert.match(await resident.locator('#home-call-title').innerText(), /I ett videosamtal/);
  assert.equal(await resident.evaluate(() => window.notesPlayed), notes, 'the ring stopped with the answer');
  await resident.locator('#home-call-duration', { hasText: /Tid 0:0[1-9]/ }).waitFor();
  assert.equal(await resident.evaluate(() => document.activeElement.id), 'home-call-hangup');
  await checkAccessibility(resident, 'resident in call (sv)');
  await shoot(resident, 'resident-call-in-call-sv');
  await textSize(resident, 'largest');
  await checkAccessibility(resident, 'resident in call (sv, 200 %)');
  await shoot(resident, 'resident-call-in-call-sv-200');
  assert.deepEqual(await layoutProblems(resident, '#home-call'), []);
  await textSize(resident, 'normal');

  // the resident hangs up: both screens end, the gateway's pipeline is NULL
  await resident.keyboard.press('Enter');
  await resident.locator('#home-call').waitFor({ state: 'hidden' });
  await resident.locator('#visit-status[data-outcome="answered"]').waitFor();
  assert.match(await resident.locator('#visit-status').innerText(), /Videosamtalet med staff har avslutats/);
  await staff.locator('#call-screen[data-state="ended"]').waitFor();
  assert.equal(await staff.locator('#call-state').innerText(), 'Samtalet har avslutats.');
  // the home's list of visits and night checks is read again once the call ended
  const record = resident.locator('#my-visits li.visit[data-kind="visit"][data-outcome="answered"]');
  await record.first().waitFor();
  assert.match(await record.first().innerText(), /Videobesök · av staff/);
  assert.equal(await staff.evaluate(() => document.activeElement.id), 'call-close');
  assert.equal(await staff.locator('#call-remote').evaluate((video) => video.srcObject), null);
  const report = await waitFor('the pipeline in NULL state', async () => {
    const h = await visitHealth(staff);
    return h?.call === 'idle' ? h : null;
  });
  assert.equal(report.pipeline, 'null');
  assert.equal(report.last_call.outcome, 'answered');
  assert.equal(report.last_call.answered_by, 'resident');
  await staff.locator('#call-close').click();
  assert.equal(await screen.count(), 0);
  assert.equal(await staff.evaluate(() => document.activeElement.id), 'visit-call');
});

test('a declined call, in English', async () => {
  await setPreferences(staff, { language: 'en' });
  await setPreferences(resident, { language: 'en' });
  await staff.locator('#visit-call').click();
  await staff.locator('#call-screen[data-state="ringing"]').waitFor();
  await checkAccessibility(staff, 'staff call screen, ringing (en)');
  await shoot(staff, 'staff-call-ringing-en');
  await resident.locator('#home-call[open][data-state="ringing"]').waitFor({ timeout: 10000 });
  await textSize(resident, 'largest');
  await checkAccessibility(resident, 'resident incoming call (en, 200 %)');
  await shoot(resident, 'resident-call-incoming-en-200');
  assert.deepEqual(await layoutProblems(resident, '#home-call'), []);
  await textSize(resident, 'normal');
  await resident.locator('#home-call-decline').click();
  await resident.locator('#home-call').waitFor({ state: 'hidden' });
  assert.equal(await resident.locator('#visit-status').innerText(), 'You declined the video call from staff.');
  await staff.locator('#call-screen[data-state="declined"]').waitFor();
  assert.equal(await staff.locator('#call-state').innerText(), 'The resident declined the call.');
  await checkAccessibility(staff, 'staff call screen, declined (en)');
  await shoot(staff, 'staff-call-declined-en');
  await staff.keyboard.press('Escape');
  assert.equal(await staff.locator('#call-screen').count(), 0);
});

test('a second call while one rings is busy; the first hung up while ringing is a missed call at home', async () => {
  const other = await newPage();
  await login(other, 'staff', { language: 'en' });
  await staff.locator('#visit-call').click();
  await staff.locator('#call-screen[data-state="ringing"]').waitFor();
  await resident.locator('#home-call[open]').waitFor({ timeout: 10000 });
  await other.locator('#visit-call').click();
  await other.locator('#call-screen[data-state="busy"]').waitFor();
  assert.match(await other.locator('#call-state').innerText(), /^Busy: the home is already in a video visit/);
  await checkAccessibility(other, 'staff call screen, busy (en)');
  await shoot(other, 'staff-call-busy-en');
  await other.locator('#call-close').click();

  await staff.locator('#call-hangup').click();
  await staff.locator('#call-screen[data-state="cancelled"]').waitFor();
  await resident.locator('#home-call').waitFor({ state: 'hidden' });
  assert.match(await resident.locator('#visit-status').innerText(), /^You missed a video call from staff at /);
  await staff.locator('#call-close').click();
  await other.context().close();
});

test('a night check without the resident\'s consent is refused, and the refusal is shown', async () => {
  await staff.locator('#night-check-hint', { hasText: 'The resident has not consented to night checks.' }).waitFor();
  await staff.locator('#visit-night-check').click();
  await staff.locator('#visit-status[data-code="no-consent"]').waitFor();
  assert.match(await staff.locator('#visit-status').innerText(), /^No consent for a night check now\./);
  assert.equal(await staff.locator('#visit-status').getAttribute('role'), 'alert');
  assert.equal(await staff.locator('#call-screen').count(), 0, 'no call screen opens');
  await checkAccessibility(staff, 'staff night check refused (en)');
  await shoot(staff, 'staff-night-check-refused-en', { fullPage: true });
  await setPreferences(staff, { language: 'sv' });
  await staff.locator('#visit-night-check').click();
  await staff.locator('#visit-status[data-code="no-consent"]').waitFor();
  assert.match(await staff.locator('#visit-status').innerText(), /^Inget samtycke till nattillsyn just nu\./);
});

test('a night check inside the resident\'s consent: staff see the home, the home screen shows it while it lasts', async () => {
  // the resident consents: a window from an hour ago to an hour from now, gateway time
  const made = await resident.request.post(baseUrl + '/api/v1/grants', {
    data: { kind: 'night-check', scope: { window: { from: gatewayClock(-60), to: gatewayClock(60) } } },
  });
  assert.equal(made.status(), 201, await made.text());
  await setPreferences(resident, { language: 'sv' });
  await staff.reload();
  await ready(staff);
  await staff.locator('#night-check-hint', { hasText: 'nu är inom den tiden' }).waitFor();

  await staff.locator('#visit-night-check').click();
  await staff.locator('#call-screen[data-kind="night-check"][data-state="in-call"]').waitFor({ timeout: 30000 });
  await videoPlays(staff);
  assert.equal(await staff.locator('#call-self').count(), 0, 'no own camera in a night check');
  assert.equal(await staff.locator('#call-mute').isVisible(), false);
  await checkAccessibility(staff, 'staff night check (sv)');
  await shoot(staff, 'staff-night-check-sv');

  const banner = resident.locator('#night-check-indicator .night-check-banner');
  await banner.waitFor({ timeout: 10000 });
  assert.equal(await banner.innerText(), '◉\nNattpersonalen tittar in via kameran');
  assert.equal(await resident.locator('#home-call[open]').count(), 0, 'a night check does not ring');
  await checkAccessibility(resident, 'resident night-check indicator (sv)');
  await shoot(resident, 'resident-night-check-sv', { fullPage: true });
  await textSize(resident, 'largest');
  assert.ok(await banner.evaluate((el) => el.getBoundingClientRect().top >= 0 && el.getBoundingClientRect().bottom <= innerHeight), 'the banner is on screen');
  await checkAccessibility(resident, 'resident night-check indicator (sv, 200 %)');
  await shoot(resident, 'resident-night-check-sv-200', { fullPage: true });
  assert.deepEqual(await layoutProblems(resident, '#night-check-indicator'), []);
  await textSize(resident, 'normal');

  await staff.locator('#call-hangup').click();
  await staff.locator('#call-screen[data-state="ended"]').waitFor();
  assert.equal(await staff.locator('#call-state').innerText(), 'Nattillsynen har avslutats.');
  await banner.waitFor({ state: 'detached' });
  assert.match(await resident.locator('#visit-status').innerText(), /Nattillsynen har avslutats\. Kameran är av\./);
  await staff.locator('#call-close').click();

  // again in English, until the check's time is up (check-seconds)
  await setPreferences(resident, { language: 'en' });
  await staff.locator('#visit-night-check').click();
  await staff.locator('#call-screen[data-kind="night-check"][data-state="in-call"]').waitFor({ timeout: 30000 });
  await banner.waitFor({ timeout: 10000 });
  assert.equal(await banner.innerText(), '◉\nThe night staff are looking in by camera');
  await checkAccessibility(resident, 'resident night-check indicator (en)');
  await shoot(resident, 'resident-night-check-en', { fullPage: true });
  await textSize(resident, 'largest');
  await checkAccessibility(resident, 'resident night-check indicator (en, 200 %)');
  await textSize(resident, 'normal');
  await banner.waitFor({ state: 'detached', timeout: (CHECK_SECONDS + 10) * 1000 });
  await staff.locator('#call-screen[data-state="completed"]').waitFor();
  assert.equal(await staff.locator('#call-state').innerText(), 'Nattillsynen har avslutats: tiden tog slut.');
  const report = await waitFor('the pipeline in NULL state', async () => {
    const h = await visitHealth(staff);
    return h?.call === 'idle' ? h : null;
  });
  assert.equal(report.pipeline, 'null');
  assert.equal(report.last_call.outcome, 'completed');
});

test('with no home screen on staff are told; a home screen whose WebSocket drops is rung again, and shown the call, once it reconnects', async () => {
  const home = await newPage(TABLET);
  let blocked = false;
  let pageSide = null;
  await home.routeWebSocket(/\/api\/v1\/events/, (ws) => {
    if (blocked) {
      ws.close({ code: 1011, reason: 'test: gateway unreachable' });
      return;
    }
    pageSide = ws;
    ws.connectToServer();
  });
  await resident.context().close();
  await setPreferences(staff, { language: 'en' });
  await staff.locator('#visit-call').click();
  await staff.locator('#call-screen[data-state="ringing"]').waitFor();
  assert.match(await staff.locator('#call-state').innerText(), /no screen in the home is on/);
  await staff.locator('#call-hangup').click();
  await staff.locator('#call-screen[data-state="cancelled"]').waitFor();
  await staff.locator('#call-close').click();

  await login(home, 'resident', { language: 'en' });
  await staff.locator('#visit-call').click();
  await staff.locator('#call-screen[data-state="ringing"]').waitFor();
  const incoming = home.locator('#home-call[open][data-state="ringing"]');
  await incoming.waitFor({ timeout: 10000 });

  blocked = true;
  pageSide.close({ code: 1011, reason: 'test: dropped' });
  await home.locator('#home-call').waitFor({ state: 'hidden' });
  await home.locator('#banner.banner-lost').waitFor({ timeout: 5000 });
  blocked = false;
  await incoming.waitFor({ timeout: 30000 });
  await home.locator('#banner.banner-ok').waitFor();
  await home.locator('#home-call-answer').click();
  await staff.locator('#call-screen[data-state="in-call"]').waitFor({ timeout: 30000 });
  await home.locator('#home-call[open][data-state="in-call"]').waitFor();

  // dropped mid-call: once back, the screen shows the call that still runs
  blocked = true;
  pageSide.close({ code: 1011, reason: 'test: dropped' });
  await home.locator('#banner.banner-lost').waitFor({ timeout: 5000 });
  blocked = false;
  await home.locator('#banner.banner-ok').waitFor({ timeout: 30000 });
  await home.locator('#home-call[open][data-state="in-call"]').waitFor({ timeout: 10000 });

  await staff.locator('#call-hangup').click();
  await staff.locator('#call-screen[data-state="ended"]').waitFor();
  await home.locator('#visit-status[data-outcome="answered"]').waitFor();
  assert.match(await home.locator('#visit-status').innerText(), /^The video call with staff has ended\. It lasted 0:\d\d\.$/);
  assert.equal(await home.locator('#home-call[open]').count(), 0);
  resident = home;
});

test('a browser that refuses the camera still calls: the resident hears staff, staff see the home', async () => {
  const tablet = await newPage();
  // this browser says no to any camera, as one whose camera is missing or taken does
  await tablet.addInitScript(() => {
    const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = (constraints) => (constraints?.video
      ? Promise.reject(new DOMException('no camera', 'NotFoundError'))
      : real(constraints));
  });
  await login(tablet, 'staff', { language: 'en' });
  await tablet.locator('#visit-call').click();
  await resident.locator('#home-call[open][data-state="ringing"]').waitFor({ timeout: 10000 });
  await resident.locator('#home-call-answer').click();
  await tablet.locator('#call-screen[data-state="in-call"]').waitFor({ timeout: 30000 });
  assert.equal(await tablet.locator('#call-note').innerText(), 'Your camera is not available: the resident hears you but does not see you.');
  assert.equal(await tablet.locator('#call-camera').isVisible(), false, 'no camera to turn off');
  assert.equal(await tablet.locator('#call-self').isVisible(), false, 'no picture of a camera there is not');
  assert.equal(await tablet.locator('#call-mute').isVisible(), true);
  await videoPlays(tablet);
  // the gateway decodes the tablet's voice
  await waitFor('audio from the browser decoded on the gateway', async () => (await visitHealth(tablet))?.decoded_frames?.audio > 0);
  await checkAccessibility(tablet, 'staff call screen without a camera (en)');
  await shoot(tablet, 'staff-call-no-camera-en');
  await tablet.locator('#call-hangup').click();
  await tablet.locator('#call-screen[data-state="ended"]').waitFor();
  await resident.locator('#visit-status[data-outcome="answered"]').waitFor();
});
