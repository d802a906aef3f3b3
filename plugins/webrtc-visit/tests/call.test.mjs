// SPDX-License-Identifier: LGPL-2.1-or-later
// A video care visit end to end: Debian's Chromium (headless, fake camera and microphone,
// driven by playwright-core) is the staff tablet and a second page the resident's home
// screen, against the real hemgated in demo mode with the webrtc-visit plugin in its real
// plugin host. Staff start a visit on their channel, the home rings and accepts, the
// gateway offers, the browser answers; over loopback with host candidates only. Asserted:
// from getStats () that the browser decodes the gateway's video and audio, and from the
// plugin's health report that the gateway decodes the browser's; after the hang-up the
// gateway's pipeline is back in NULL state. No mock peer.
// Run by meson (suite webrtc-visit): node --test --test-reporter=tap call.test.mjs
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const env = (name) => {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set; run this test through meson (suite webrtc-visit)`);
  return value;
};
const HEMGATED = env('HEMGATED');
const PLUGIN_HOST = env('HEMGATE_PLUGIN_HOST');
const PLUGIN_DIR = env('HEMGATE_PLUGINDIR');
const CHROMIUM = env('CHROMIUM');
const UI_DIR = env('HEMGATE_UI_DIR');
const PASSWORD = 'visit-test-password-7';

// playwright-core is the web UI's (ui/package-lock.json)
const { chromium } = createRequire(path.join(UI_DIR, 'package.json'))('playwright-core');

let stateDir;
let daemon;
let baseUrl;
let browser;
let daemonLog = '';

async function startDaemon() {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hemgate-visit-test-'));
  fs.chmodSync(stateDir, 0o755);
  // only the visit plugin: the demo's alarm centre and sensors are not simulated here
  const overlay = [
    '[api]', 'port = 0', '',
    '[plugin:example]', 'enabled = false', '',
    '[plugin:scaip-alarm]', 'enabled = false', '',
    '[plugin:sensors-municipal]', 'enabled = false', '',
    '[plugin:sensors-personal]', 'enabled = false', '',
    '[plugin:webrtc-visit]', 'domain = municipal', 'ring-seconds = 60', '',
  ].join('\n');
  fs.writeFileSync(path.join(stateDir, 'overlay.conf'), overlay);
  daemon = spawn(HEMGATED, ['--demo', '--state-dir', path.join(stateDir, 'state'), '--config', path.join(stateDir, 'overlay.conf')], {
    env: {
      ...process.env,
      HEMGATE_DEMO_PASSWORD: PASSWORD,
      HEMGATE_PLUGINDIR: PLUGIN_DIR,
      HEMGATE_PLUGIN_HOST: PLUGIN_HOST,
      LC_ALL: 'C.UTF-8',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  daemon.stderr.on('data', (chunk) => { daemonLog += chunk; });
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

before(async () => {
  await startDaemon();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required'],
  });
});

after(async () => {
  await browser?.close();
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGTERM');
    await new Promise((resolve) => daemon.once('exit', resolve));
  }
  if (stateDir)
    fs.rmSync(stateDir, { recursive: true, force: true });
});

// A page of the gateway's origin, logged in as @username, with a channel to the plugin on
// its events WebSocket: window.visit.{send (object), next (type), messages}.
async function openChannel(username) {
  const context = await browser.newContext();
  await context.grantPermissions(['camera', 'microphone'], { origin: baseUrl });
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`# ${username} page: ${error.message}`));
  await page.goto(baseUrl + '/');
  await page.evaluate(async ({ username, password }) => {
    const login = await fetch('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    if (login.status !== 200)
      throw new Error('login ' + login.status);
    const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + '/api/v1/events');
    const messages = [];
    const waiters = [];
    let channel = null;
    const opened = new Promise((resolve, reject) => {
      ws.onmessage = (event) => {
        const frame = JSON.parse(event.data);
        if (frame.op === 'channel-opened') {
          channel = frame.channel;
          resolve();
        } else if (frame.op === 'channel-error' && channel === null) {
          reject(new Error(frame.code + ': ' + frame.message));
        } else if (frame.op === 'channel-message') {
          messages.push(frame.message);
          for (const waiter of waiters.splice(0))
            waiter();
        }
      };
    });
    await new Promise((resolve) => { ws.onopen = resolve; });
    ws.send(JSON.stringify({ op: 'channel-open', plugin: 'webrtc-visit', ref: 'visit' }));
    await opened;
    window.visit = {
      messages,
      send: (message) => ws.send(JSON.stringify({ op: 'channel-send', channel, message })),
      next: async (type) => {
        for (;;) {
          const found = messages.find((m) => m.type === type && !m.taken);
          if (found) {
            found.taken = true;
            return found;
          }
          await new Promise((resolve) => waiters.push(resolve));
        }
      },
    };
  }, { username, password: PASSWORD });
  return page;
}

// The plugin's health report, as staff see it
async function health(page) {
  return page.evaluate(async () => {
    const response = await fetch('/api/v1/plugins');
    const body = await response.json();
    const plugin = body.plugins.find((p) => p.id === 'webrtc-visit');
    return { state: plugin.state, report: plugin.health?.report ?? null };
  });
}

async function waitFor(what, condition, seconds = 30) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await condition();
    if (value)
      return value;
    if (Date.now() > deadline) {
      console.log('# hemgated: ' + daemonLog.split('\n').slice(-40).join('\n# '));
      throw new Error('timed out waiting for ' + what);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test('a visit: both sides decode video and audio, the pipeline is NULL after hang-up', async (t) => {
  const staff = await openChannel('staff');
  t.after(async () => {
    // a failed case leaves no call behind for the next
    await staff.evaluate(() => window.visit.send({ type: 'hangup' })).catch(() => {});
  });
  await waitFor('the plugin to run', async () => (await health(staff)).state === 'running');
  const home = await openChannel('resident');

  // the staff tablet: answers the gateway's offer with its fake camera and microphone
  await staff.evaluate(() => {
    const pc = new RTCPeerConnection({ iceServers: [] });
    window.pc = pc;
    // Chromium decodes audio only while something plays it, as the call screen does
    pc.ontrack = (event) => {
      const element = document.createElement(event.track.kind);
      element.srcObject = new MediaStream([event.track]);
      element.autoplay = true;
      document.body.append(element);
      element.play().catch(() => {});
    };
    pc.onicecandidate = (event) => {
      if (event.candidate)
        window.visit.send({ type: 'ice', candidate: event.candidate.candidate, sdpMLineIndex: event.candidate.sdpMLineIndex });
    };
    window.visitDone = (async () => {
      const offer = await window.visit.next('offer');
      await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
      const media = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
      for (const transceiver of pc.getTransceivers()) {
        const kind = transceiver.receiver.track.kind;
        const track = media.getTracks().find((t) => t.kind === kind);
        transceiver.direction = 'sendrecv';
        await transceiver.sender.replaceTrack(track);
      }
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      window.visit.send({ type: 'answer', sdp: pc.localDescription.sdp });
      // the gateway's candidates
      (async () => {
        for (;;) {
          const ice = await window.visit.next('ice');
          await pc.addIceCandidate({ candidate: ice.candidate, sdpMLineIndex: ice.sdpMLineIndex });
        }
      })();
    })();
    window.visit.send({ type: 'start' });
  });

  const ring = await home.evaluate(() => window.visit.next('ring'));
  assert.equal(ring.staff, 'staff');
  await home.evaluate(() => window.visit.send({ type: 'accept' }));
  await staff.evaluate(() => window.visitDone);

  // the browser decodes the gateway's video and audio
  const stats = await waitFor('frames decoded in the browser', async () => {
    const s = await staff.evaluate(async () => {
      const report = await window.pc.getStats();
      const out = { video: 0, audio: 0 };
      report.forEach((r) => {
        if (r.type === 'inbound-rtp' && r.kind === 'video')
          out.video = r.framesDecoded ?? 0;
        if (r.type === 'inbound-rtp' && r.kind === 'audio')
          out.audio = (r.totalSamplesReceived ?? 0) - (r.concealedSamples ?? 0);
      });
      return out;
    });
    if (s.video > 10 && s.audio > 0)
      return s;
    console.log('# browser: ' + JSON.stringify(s) + ' ' + await staff.evaluate(() => window.pc.iceConnectionState + ' ' + window.pc.connectionState));
    return null;
  }, 60);
  console.log(`# browser decoded ${stats.video} video frames, ${stats.audio} audio samples`);

  // the gateway decodes the browser's
  const during = await waitFor('frames decoded in the gateway', async () => {
    const h = await health(staff);
    const frames = h.report?.decoded_frames;
    return frames && frames.video > 10 && frames.audio > 0 ? h.report : null;
  }, 60);
  console.log(`# gateway decoded ${during.decoded_frames.video} video frames, ${during.decoded_frames.audio} audio buffers`);
  assert.equal(during.call, 'in-call');
  assert.notEqual(during.pipeline, 'null');

  await staff.evaluate(() => window.visit.send({ type: 'hangup' }));
  const ended = await home.evaluate(() => window.visit.next('ended'));
  assert.equal(ended.outcome, 'answered');
  const afterwards = await waitFor('the pipeline in NULL state', async () => {
    const h = await health(staff);
    return h.report?.call === 'idle' ? h.report : null;
  });
  assert.equal(afterwards.pipeline, 'null');
  assert.equal(afterwards.last_call.outcome, 'answered');
  assert.equal(afterwards.last_call.staff, 'staff');
  assert.equal(afterwards.last_call.answered_by, 'resident');

  // the record in the municipal journal
  const record = await waitFor('visit.ended in the municipal journal', () => staff.evaluate(async (call) => {
    const response = await fetch('/api/v1/events?after=0&limit=1000');
    const body = await response.json();
    return body.events.find((e) => e.type === 'visit.ended' && e.body.call === call)?.body ?? null;
  }, afterwards.last_call.call));
  assert.equal(record.outcome, 'answered');
  assert.equal(record.staff, 'staff');
  assert.ok(record.seconds >= 0);
});

test('a second visit while one rings is busy', async () => {
  const first = await openChannel('staff');
  const second = await openChannel('staff');
  await first.evaluate(() => window.visit.send({ type: 'start' }));
  await first.evaluate(() => window.visit.next('ringing'));
  await second.evaluate(() => window.visit.send({ type: 'start' }));
  const busy = await second.evaluate(() => window.visit.next('busy'));
  assert.equal(busy.type, 'busy');
  await first.evaluate(() => window.visit.send({ type: 'hangup' }));
  const ended = await first.evaluate(() => window.visit.next('ended'));
  assert.equal(ended.outcome, 'cancelled');
});

test('a staff browser that vanishes mid-call ends it: the pipeline is NULL', async () => {
  const watcher = await openChannel('staff');
  const staff = await openChannel('staff');
  const home = await openChannel('resident');
  await staff.evaluate(() => window.visit.send({ type: 'start' }));
  await home.evaluate(() => window.visit.next('ring'));
  await home.evaluate(() => window.visit.send({ type: 'accept' }));
  await staff.evaluate(() => window.visit.next('offer'));
  await waitFor('the call to run', async () => (await health(watcher)).report?.call === 'in-call');

  await staff.context().close();
  const ended = await home.evaluate(() => window.visit.next('ended'));
  assert.equal(ended.outcome, 'failed');
  const report = await waitFor('the pipeline in NULL state', async () => {
    const h = await health(watcher);
    return h.report?.call === 'idle' ? h.report : null;
  });
  assert.equal(report.pipeline, 'null');
  assert.equal(report.last_call.outcome, 'failed');
});
