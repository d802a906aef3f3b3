// SPDX-License-Identifier: LGPL-2.1-or-later
// What the webrtc-visit browser cases share (call.test.mjs, turn.test.mjs): the real
// hemgated in demo mode with only this plugin, Debian's Chromium with a fake camera and
// microphone (playwright-core), pages logged in as a demo user with a channel to the
// plugin, the staff tablet's side of a call, and what getStats () says it decoded.
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
export const PASSWORD = 'visit-test-password-7';

// playwright-core is the web UI's (ui/package-lock.json)
const { chromium } = createRequire(path.join(UI_DIR, 'package.json'))('playwright-core');

// hemgated --demo with only the visit plugin, configured by @visitConfig (lines of its
// [plugin:webrtc-visit] section): { baseUrl, log (), stop () }. The demo's alarm centre and
// sensors are not simulated here.
export async function startGateway(visitConfig) {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hemgate-visit-test-'));
  fs.chmodSync(stateDir, 0o755);
  const overlay = [
    '[api]', 'port = 0', '',
    '[plugin:example]', 'enabled = false', '',
    '[plugin:scaip-alarm]', 'enabled = false', '',
    '[plugin:sensors-municipal]', 'enabled = false', '',
    '[plugin:sensors-personal]', 'enabled = false', '',
    '[plugin:webrtc-visit]', 'domain = municipal', ...visitConfig, '',
  ].join('\n');
  fs.writeFileSync(path.join(stateDir, 'overlay.conf'), overlay);
  const daemon = spawn(HEMGATED, ['--demo', '--state-dir', path.join(stateDir, 'state'), '--config', path.join(stateDir, 'overlay.conf')], {
    env: {
      ...process.env,
      HEMGATE_DEMO_PASSWORD: PASSWORD,
      HEMGATE_PLUGINDIR: PLUGIN_DIR,
      HEMGATE_PLUGIN_HOST: PLUGIN_HOST,
      LC_ALL: 'C.UTF-8',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  daemon.stderr.on('data', (chunk) => { log += chunk; });
  const baseUrl = await new Promise((resolve, reject) => {
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
  return {
    baseUrl,
    log: () => log,
    stop: async () => {
      if (daemon.exitCode === null) {
        daemon.kill('SIGTERM');
        await new Promise((resolve) => daemon.once('exit', resolve));
      }
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required'],
  });
}

// A page of the gateway's origin, logged in as @username
export async function login(browser, gateway, username) {
  const context = await browser.newContext();
  await context.grantPermissions(['camera', 'microphone'], { origin: gateway.baseUrl });
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`# ${username} page: ${error.message}`));
  await page.goto(gateway.baseUrl + '/');
  await page.evaluate(async ({ username, password }) => {
    const response = await fetch('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    if (response.status !== 200)
      throw new Error('login ' + response.status);
  }, { username, password: PASSWORD });
  return page;
}

// A page logged in as @username, with a channel to the plugin on its events WebSocket:
// window.visit.{send (object), next (type), messages}.
export async function openChannel(browser, gateway, username) {
  const page = await login(browser, gateway, username);
  await page.evaluate(async () => {
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
  });
  return page;
}

// The plugin's health report, as staff see it
export async function health(page) {
  return page.evaluate(async () => {
    const response = await fetch('/api/v1/plugins');
    const body = await response.json();
    const plugin = body.plugins.find((p) => p.id === 'webrtc-visit');
    return { state: plugin.state, report: plugin.health?.report ?? null };
  });
}

export async function waitFor(gateway, what, condition, seconds = 30) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await condition();
    if (value)
      return value;
    if (Date.now() > deadline) {
      console.log('# hemgated: ' + gateway.log().split('\n').slice(-40).join('\n# '));
      throw new Error('timed out waiting for ' + what);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// The staff tablet on @staff: an RTCPeerConnection of @configuration that answers the
// gateway's offer with its fake camera and microphone, trickling candidates both ways;
// then sends `start`. window.pc is the connection, window.visitDone resolves once it
// answered.
export async function staffAnswers(staff, configuration) {
  await staff.evaluate((configuration) => {
    const pc = new RTCPeerConnection(configuration);
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
  }, configuration);
}

// Waits until the staff tablet decodes the gateway's video (more than 10 frames) and audio,
// or with { video: false } the audio alone
export async function browserDecoded(gateway, staff, { video = true } = {}) {
  return waitFor(gateway, 'frames decoded in the browser', async () => {
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
    if ((!video || s.video > 10) && s.audio > 0)
      return s;
    console.log('# browser: ' + JSON.stringify(s) + ' ' + await staff.evaluate(() => window.pc.iceConnectionState + ' ' + window.pc.connectionState));
    return null;
  }, 60);
}

// Waits until the gateway decodes the browser's video and audio: its health report then
export async function gatewayDecoded(gateway, page) {
  return waitFor(gateway, 'frames decoded in the gateway', async () => {
    const h = await health(page);
    const frames = h.report?.decoded_frames;
    return frames && frames.video > 10 && frames.audio > 0 ? h.report : null;
  }, 60);
}

// Staff hang up: what the home is told (`ended`), and the plugin's health report once it is
// idle again
export async function hangUp(gateway, staff, home) {
  await staff.evaluate(() => window.visit.send({ type: 'hangup' }));
  const ended = await home.evaluate(() => window.visit.next('ended'));
  const report = await waitFor(gateway, 'the plugin idle after the hang-up', async () => {
    const h = await health(staff);
    return h.report?.call === 'idle' ? h.report : null;
  });
  return { ended, report };
}
