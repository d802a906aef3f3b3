// SPDX-License-Identifier: LGPL-2.1-or-later
// Benchmark of video care visits (plugins/webrtc-visit, issue 18), over loopback:
//
//   setup   staff press Call (their `start` sent) -> the first video frame of the gateway
//           presented in the staff page (requestVideoFrameCallback on the <video>), and
//           the first frame decoded by the same clock (getStats framesDecoded, polled
//           every 10 ms); p50 and p99 of N calls after one warm-up call, with the split:
//           start -> ring (home page), ring -> accept sent (the home page accepts at
//           once), accept -> offer (the gateway builds its pipeline), offer -> answer sent
//           (the browser), offer -> connected (ICE, then DTLS), connected -> first frame
//   cpu     one steady call (640x480 at 15 fps VP8 + Opus both ways): the CPU of the
//           plugin host and of hemgated over S seconds (/proc/PID/stat utime + stime), the
//           staff side's received frame rate (getStats framesPerSecond, every second);
//           also with two other video sources than the demo's ball on black, a moving
//           full picture and noise (the encoder's worst case), a steady call each
//   memory  Pss and Rss of the plugin host (and hemgated) idle, in the call and after
//           each hang-up (/proc/PID/smaps_rollup)
//   load    the same again while hemgate-sensor-sim publishes 10,000 Zigbee readings/s
//           from 500 devices through a mosquitto of this benchmark to the mqtt-sensors
//           plugin (sensors-municipal, 500 registered devices, as bench-sensors-latency)
//
// Debian's Chromium (headless, fake camera and microphone) driven by playwright-core from
// ui/node_modules is the staff tablet and a second page the home screen, which accepts
// each ring at once; hemgated runs in demo mode from the build (bench/run builds it with
// buildtype=release) with only the visit plugin (and, for the load, the sensors).
// The staff page opens its camera before pressing Call, as a call screen shows its own
// preview: getUserMedia is not in the figure (it is recorded on its own).
//
// Each phase records the load average before and after, and the machine's busy CPU split
// into this benchmark's processes (this one and all under it) and everyone else's.
//
// Usage: node bench/visit.mjs BUILDDIR [--calls N] [--steady SECONDS] [--rate N]
//          [--quick] [--no-load] [--json FILE] [--results FILE]
//   bench/run visit [BUILDDIR] runs it with --json BUILDDIR/bench-visit.json
//   --results bench/RESULTS.md (a Markdown section appended).
//   --quick: 3 calls, a 5 s steady call (a check of the harness; its figures are not
//   the benchmark's). Everything it starts is stopped at the end, also on Ctrl+C.
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TOP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PASSWORD = 'visit-bench-password-7';
const N_DEVICES = 500;
const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/* Arguments ----------------------------------------------------------------------------- */

function parseArgs(argv) {
  const args = { calls: 20, steady: 20, rate: 10000, load: true, quick: false, json: null, results: null };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--calls') args.calls = Number(argv[++i]);
    else if (a === '--steady') args.steady = Number(argv[++i]);
    else if (a === '--rate') args.rate = Number(argv[++i]);
    else if (a === '--json') args.json = argv[++i];
    else if (a === '--results') args.results = argv[++i];
    else if (a === '--no-load') args.load = false;
    else if (a === '--quick') args.quick = true;
    else if (a.startsWith('--')) throw new Error('unknown option ' + a);
    else rest.push(a);
  }
  if (rest.length !== 1)
    throw new Error('usage: node bench/visit.mjs BUILDDIR [--calls N] [--steady S] [--rate N] [--quick] [--no-load] [--json FILE] [--results FILE]');
  if (args.quick) {
    args.calls = 3;
    args.steady = 5;
  }
  args.build = path.resolve(rest[0]);
  return args;
}

/* /proc --------------------------------------------------------------------------------- */

// utime + stime of one process, in seconds; null if it is gone
function cpuSeconds(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // after the name: state(0) ppid(1) ... utime(11) stime(12)
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return null;
  }
}

function parentOf(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

// this process and every process under it (Chromium, hemgated and its hosts, mosquitto,
// the simulator): what the benchmark itself puts on the machine
function ownProcesses() {
  const children = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name))
      continue;
    const ppid = parentOf(Number(name));
    if (ppid === null)
      continue;
    if (!children.has(ppid))
      children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  const out = [];
  const todo = [process.pid];
  while (todo.length > 0) {
    const pid = todo.pop();
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

// the machine's busy CPU seconds (all cores) and ours, now
function cpuSample() {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line;
  const busy = (user + nice + system + irq + softirq + steal) / TICKS;
  let own = 0;
  for (const pid of ownProcesses())
    own += cpuSeconds(pid) ?? 0;
  return { at: Date.now(), busy, own, idle: (idle + iowait) / TICKS };
}

// cores busy between two samples: all, ours, others' (of processes not under this one;
// approximate: a process of ours that exited in between is counted as others')
function cpuBetween(a, b) {
  const seconds = (b.at - a.at) / 1000;
  const all = (b.busy - a.busy) / seconds;
  const own = (b.own - a.own) / seconds;
  return { seconds: round(seconds, 1), all_cores: round(all, 2), own_cores: round(own, 2), others_cores: round(Math.max(0, all - own), 2) };
}

function memory(pid) {
  const out = {};
  try {
    for (const line of fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').split('\n')) {
      const m = line.match(/^(Rss|Pss):\s+(\d+) kB/);
      if (m)
        out[m[1].toLowerCase() + '_kib'] = Number(m[2]);
    }
  } catch {
    return null;
  }
  return out;
}

function loadavg() {
  return os.loadavg().map((x) => round(x, 2));
}

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function percentile(values, p) {
  // nearest rank: of 20 values, p50 is the 10th, p99 the 20th (the largest)
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[rank - 1];
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/* What the benchmark starts, stopped at the end ---------------------------------------- */

const started = [];   // child processes
const tempDirs = [];
let browser = null;
let cleaning = null;  // the clean-up, once begun

function startProcess(command, argv, options = {}) {
  if (cleaning !== null)
    throw new Error('stopping');
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  child.log = '';
  child.stdout.on('data', (chunk) => { child.log += chunk; });
  child.stderr.on('data', (chunk) => { child.log += chunk; });
  started.push(child);
  return child;
}

async function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null)
    return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
  await gone;
  clearTimeout(timer);
}

// once, whoever asks first (the end of main () or a signal); the others wait for it
function cleanup() {
  cleaning ??= (async () => {
    await browser?.close().catch(() => {});
    browser = null;
    for (const child of started.splice(0).reverse())
      await stopProcess(child);
    for (const dir of tempDirs.splice(0))
      fs.rmSync(dir, { recursive: true, force: true });
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, async () => {
    await cleanup();
    process.exit(130);
  });
}

function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  // readable by the domain's user a sandboxed plugin host runs as
  fs.chmodSync(dir, 0o755);
  tempDirs.push(dir);
  return dir;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/* The gateway --------------------------------------------------------------------------- */

// The build's plugins as a deployment has them (as hg_test_plugin_dir_add does): a
// directory per plugin with links to its manifest and module; mqtt-sensors' manifest a
// copy granting this benchmark's broker instead of 1883.
function pluginDir(build, brokerPort) {
  const root = tempDir('hemgate-visit-bench-plugins-');
  const built = path.join(build, 'plugins');
  for (const id of fs.readdirSync(built)) {
    const from = path.join(built, id);
    if (!fs.existsSync(path.join(from, 'manifest.json')))
      continue;
    const to = path.join(root, id);
    fs.mkdirSync(to, { mode: 0o755 });
    for (const name of fs.readdirSync(from)) {
      if (name.endsWith('.so'))
        fs.symlinkSync(path.join(from, name), path.join(to, name));
    }
    const manifest = fs.readFileSync(path.join(from, 'manifest.json'), 'utf8');
    if (id === 'mqtt-sensors' && brokerPort)
      fs.writeFileSync(path.join(to, 'manifest.json'), manifest.replace('net.connect:127.0.0.1:1883', `net.connect:127.0.0.1:${brokerPort}`), { mode: 0o644 });
    else
      fs.symlinkSync(path.join(from, 'manifest.json'), path.join(to, 'manifest.json'));
  }
  return root;
}

async function startGateway(build, brokerPort, videoSource) {
  const dir = tempDir('hemgate-visit-bench-');
  const lines = [
    '[api]', 'port = 0', '',
    '[plugin:example]', 'enabled = false', '',
    '[plugin:scaip-alarm]', 'enabled = false', '',
    '[plugin:sensors-personal]', 'enabled = false', '',
    '[plugin:webrtc-visit]', 'domain = municipal', 'ring-seconds = 60',
    ...(videoSource ? [`video-source = ${videoSource}`] : []), '',
  ];
  if (brokerPort) {
    // as bench-sensors-latency: 500 registered Zigbee devices besides the demo's own
    lines.push('[plugin:sensors-municipal]', `broker-port = ${brokerPort}`, 'health-interval = 1');
    for (let i = 0; i < N_DEVICES; i++)
      lines.push(`device.load-${i}.source = z2m`, `device.load-${i}.kind = occupancy`, `device.load-${i}.room = room`);
    lines.push('');
  } else {
    lines.push('[plugin:sensors-municipal]', 'enabled = false', '');
  }
  fs.writeFileSync(path.join(dir, 'overlay.conf'), lines.join('\n'));
  const daemon = startProcess(path.join(build, 'daemon', 'core', 'hemgated'),
    ['--demo', '--state-dir', path.join(dir, 'state'), '--config', path.join(dir, 'overlay.conf')], {
      env: {
        ...process.env,
        HEMGATE_DEMO_PASSWORD: PASSWORD,
        HEMGATE_PLUGINDIR: pluginDir(build, brokerPort),
        HEMGATE_PLUGIN_HOST: path.join(build, 'daemon', 'host', 'hemgate-plugin-host'),
        G_MESSAGES_DEBUG: '',
        LC_ALL: 'C.UTF-8',
      },
    });
  const baseUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('hemgated did not start: ' + daemon.log)), 60000);
    const check = () => {
      const match = daemon.log.match(/(http:\/\/127\.0\.0\.1:\d+)/);
      if (match && daemon.log.includes('Ctrl+C')) {
        clearTimeout(timer);
        daemon.stdout.off('data', check);
        resolve(match[1]);
      }
    };
    daemon.stdout.on('data', check);
    daemon.once('exit', (code) => reject(new Error('hemgated exited with ' + code + ': ' + daemon.log)));
  });
  const login = await fetch(baseUrl + '/api/v1/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: PASSWORD }),
  });
  if (login.status !== 200)
    throw new Error('admin login: ' + login.status);
  const { token } = await login.json();
  return { daemon, baseUrl, token };
}

// the instance as the admin sees it: state, pid (of the host itself), health
async function instance(gateway, id) {
  const response = await fetch(gateway.baseUrl + '/api/v1/plugins', { headers: { Authorization: 'Bearer ' + gateway.token } });
  const body = await response.json();
  return body.plugins.find((p) => p.id === id) ?? null;
}

async function waitFor(what, condition, seconds = 60) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await condition();
    if (value)
      return value;
    if (Date.now() > deadline)
      throw new Error('timed out waiting for ' + what);
    await sleep(100);
  }
}

/* The browser's pages ------------------------------------------------------------------- */

// A page of the gateway's origin logged in as @username with a channel to the plugin on
// its events WebSocket; window.bench.t0 the page's clock origin (epoch ms), so that the
// two pages' times compare.
async function openPage(baseUrl, username, script) {
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
    const now = () => performance.timeOrigin + performance.now();
    window.bench = { ws, now, channel: null, onmessage: () => {} };
    await new Promise((resolve, reject) => {
      ws.onmessage = (event) => {
        const at = now();
        const frame = JSON.parse(event.data);
        if (frame.op === 'channel-opened') {
          window.bench.channel = frame.channel;
          resolve();
        } else if (frame.op === 'channel-error' && window.bench.channel === null) {
          reject(new Error(frame.code + ': ' + frame.message));
        } else if (frame.op === 'channel-message') {
          window.bench.onmessage(frame.message, at);
        }
      };
      ws.onopen = () => ws.send(JSON.stringify({ op: 'channel-open', plugin: 'webrtc-visit', ref: 'visit' }));
    });
    window.bench.send = (message) => ws.send(JSON.stringify({ op: 'channel-send', channel: window.bench.channel, message }));
  }, { username, password: PASSWORD });
  await page.evaluate(script);
  return page;
}

// The home screen: accepts each ring at once, noting when
function homeScript() {
  window.bench.rings = [];
  window.bench.onmessage = (message, at) => {
    if (message.type === 'ring') {
      window.bench.send({ type: 'accept' });
      window.bench.rings.push({ ring: at, accept: window.bench.now() });
    }
  };
}

// The staff tablet: its camera and microphone open (the call screen's preview), then per
// call window.bench.call () -> the times of each step (epoch ms)
function staffScript() {
  const b = window.bench;
  b.openMedia = async () => {
    const t = b.now();
    b.media = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, frameRate: 15 }, audio: true });
    return b.now() - t;
  };
  b.call = () => new Promise((resolve, reject) => {
    const t = {};
    const pc = new RTCPeerConnection({ iceServers: [] });
    const pending = [];
    let remoteSet = false;
    let polling = null;
    b.pc = pc;
    const timer = setTimeout(() => { clearInterval(polling); reject(new Error('no frame after 30 s: ' + JSON.stringify(t) + ' ' + pc.connectionState)); }, 30000);
    const done = () => {
      if (t.frame && t.decoded) {
        clearTimeout(timer);
        resolve(t);
      }
    };
    pc.ontrack = (event) => {
      t[event.track.kind === 'video' ? 'videoTrack' : 'audioTrack'] = b.now();
      const element = document.createElement(event.track.kind);
      element.srcObject = new MediaStream([event.track]);
      element.autoplay = true;
      element.muted = event.track.kind === 'video';
      document.body.append(element);
      element.play().catch(() => {});
      if (event.track.kind === 'video') {
        b.video = element;
        element.requestVideoFrameCallback((now, metadata) => {
          t.frame = b.now();
          t.frameWidth = metadata.width;
          t.frameHeight = metadata.height;
          done();
        });
      }
    };
    pc.oniceconnectionstatechange = () => {
      if ((pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed') && !t.iceConnected)
        t.iceConnected = b.now();
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'connected' && !t.connected) {
        t.connected = b.now();
        // the first decoded frame by getStats, polled every 10 ms from here
        polling = setInterval(async () => {
          const report = await pc.getStats();
          report.forEach((r) => {
            if (r.type === 'inbound-rtp' && r.kind === 'video' && r.framesDecoded > 0 && !t.decoded) {
              t.decoded = b.now();
              clearInterval(polling);
              done();
            }
          });
        }, 10);
      } else if (pc.connectionState === 'failed') {
        clearTimeout(timer);
        clearInterval(polling);
        reject(new Error('connection failed'));
      }
    };
    pc.onicecandidate = (event) => {
      if (event.candidate)
        b.send({ type: 'ice', candidate: event.candidate.candidate, sdpMLineIndex: event.candidate.sdpMLineIndex });
    };
    b.onmessage = async (message, at) => {
      if (message.type === 'ringing')
        t.ringing = at;
      else if (message.type === 'accepted')
        t.accepted = at;
      else if (message.type === 'busy' || message.type === 'error' || message.type === 'ended') {
        clearTimeout(timer);
        clearInterval(polling);
        reject(new Error('the gateway said ' + JSON.stringify(message)));
      } else if (message.type === 'ice') {
        if (remoteSet)
          await pc.addIceCandidate({ candidate: message.candidate, sdpMLineIndex: message.sdpMLineIndex });
        else
          pending.push(message);
      } else if (message.type === 'offer') {
        t.offer = at;
        await pc.setRemoteDescription({ type: 'offer', sdp: message.sdp });
        for (const transceiver of pc.getTransceivers()) {
          const track = b.media.getTracks().find((x) => x.kind === transceiver.receiver.track.kind);
          transceiver.direction = 'sendrecv';
          await transceiver.sender.replaceTrack(track);
        }
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        b.send({ type: 'answer', sdp: pc.localDescription.sdp });
        t.answer = b.now();
        remoteSet = true;
        for (const ice of pending.splice(0))
          await pc.addIceCandidate({ candidate: ice.candidate, sdpMLineIndex: ice.sdpMLineIndex });
      }
    };
    t.start = b.now();
    b.send({ type: 'start' });
  });
  // hang up, wait for `ended`, drop the call's elements and connection
  b.hangup = () => new Promise((resolve) => {
    const timer = setTimeout(() => resolve('no ended after 10 s'), 10000);
    b.onmessage = (message) => {
      if (message.type === 'ended') {
        clearTimeout(timer);
        resolve(message.outcome);
      }
    };
    b.send({ type: 'hangup' });
    b.pc?.close();
    b.pc = null;
    for (const element of document.querySelectorAll('video, audio'))
      element.remove();
  });
  // the staff side's view of the call now
  b.stats = async () => {
    const out = {};
    (await b.pc.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video')
        Object.assign(out, { fps: r.framesPerSecond ?? 0, framesDecoded: r.framesDecoded, framesDropped: r.framesDropped ?? 0, width: r.frameWidth, height: r.frameHeight, videoBytes: r.bytesReceived, freezeCount: r.freezeCount ?? 0 });
      if (r.type === 'inbound-rtp' && r.kind === 'audio')
        Object.assign(out, { audioSamples: (r.totalSamplesReceived ?? 0) - (r.concealedSamples ?? 0), audioBytes: r.bytesReceived });
      if (r.type === 'outbound-rtp' && r.kind === 'video')
        Object.assign(out, { sentFps: r.framesPerSecond ?? 0, sentWidth: r.frameWidth, sentHeight: r.frameHeight, sentBytes: r.bytesSent });
    });
    out.at = b.now();
    return out;
  };
}

/* The phases ---------------------------------------------------------------------------- */

async function oneCall(gateway, staff, home) {
  const t = await staff.evaluate(() => window.bench.call());
  const rings = await home.evaluate(() => window.bench.rings.splice(0));
  if (rings.length !== 1)
    throw new Error(`the home page was rung ${rings.length} times`);
  const { ring, accept } = rings[0];
  return {
    total_ms: t.frame - t.start,
    decoded_ms: t.decoded - t.start,
    start_ring_ms: ring - t.start,
    ring_accept_ms: accept - ring,
    accept_offer_ms: t.offer - accept,
    offer_answer_ms: t.answer - t.offer,
    offer_connected_ms: t.connected - t.offer,
    answer_ice_connected_ms: t.iceConnected - t.answer,
    ice_connected_connected_ms: t.connected - t.iceConnected,
    connected_frame_ms: t.frame - t.connected,
    connected_decoded_ms: t.decoded - t.connected,
    frame: `${t.frameWidth}x${t.frameHeight}`,
  };
}

async function hangup(gateway, staff) {
  const outcome = await staff.evaluate(() => window.bench.hangup());
  if (outcome !== 'answered')
    throw new Error('hang-up: ' + outcome);
  await waitFor('the pipeline in NULL state', async () => {
    const plugin = await instance(gateway, 'webrtc-visit');
    return plugin?.health?.report?.call === 'idle' && plugin.health.report.pipeline === 'null';
  }, 20);
}

const STEPS = ['total_ms', 'decoded_ms', 'start_ring_ms', 'ring_accept_ms', 'accept_offer_ms', 'offer_answer_ms', 'offer_connected_ms', 'answer_ice_connected_ms', 'ice_connected_connected_ms', 'connected_frame_ms', 'connected_decoded_ms'];

function summarise(calls) {
  const out = {};
  for (const step of STEPS) {
    const values = calls.map((c) => c[step]);
    out[step] = { p50: round(percentile(values, 0.5), 1), p99: round(percentile(values, 0.99), 1), min: round(Math.min(...values), 1), max: round(Math.max(...values), 1) };
  }
  return out;
}

// N calls (extra.calls, else --calls) after a warm-up call; then one steady call measured
// for S seconds
async function phase(name, gateway, args, extra = {}) {
  const nCalls = extra.calls ?? args.calls;
  const result = { name, source: extra.source ?? 'the default, `videotestsrc is-live=true pattern=ball`', load_before: loadavg() };
  const cpu0 = cpuSample();
  await waitFor('the plugin to run', async () => (await instance(gateway, 'webrtc-visit'))?.state === 'running');
  const visit = await instance(gateway, 'webrtc-visit');
  const hostPid = visit.pid;
  const daemonPid = gateway.daemon.pid;

  const staff = await openPage(gateway.baseUrl, 'staff', staffScript);
  const home = await openPage(gateway.baseUrl, 'resident', homeScript);
  result.get_user_media_ms = round(await staff.evaluate(() => window.bench.openMedia()), 1);
  // idle: running, both pages' channels open, before the first call
  await sleep(1000);
  result.host_idle = memory(hostPid);
  result.hemgated_idle = memory(daemonPid);

  result.warmup = await oneCall(gateway, staff, home);
  await hangup(gateway, staff);
  const calls = [];
  // the host's Pss after each hang-up: does a call leave memory behind?
  result.host_pss_after_each_kib = [];
  for (let i = 0; i < nCalls; i++) {
    calls.push(await oneCall(gateway, staff, home));
    await hangup(gateway, staff);
    result.host_pss_after_each_kib.push(memory(hostPid)?.pss_kib ?? null);
    process.stderr.write(`# ${name}: call ${i + 1}/${nCalls}: ${calls[i].total_ms.toFixed(0)} ms\n`);
  }
  result.calls = calls.map((c) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, typeof v === 'number' ? round(v, 1) : v])));
  result.setup = calls.length > 0 ? summarise(calls) : null;

  // the steady call: 3 s to settle (the browser's bandwidth estimate ramps up), then S s
  result.steady_first_frame_ms = round((await oneCall(gateway, staff, home)).total_ms, 1);
  await sleep(3000);
  const pids = { host: hostPid, hemgated: daemonPid, ...extra.pids?.() };
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const machine0 = cpuSample();
  const stats0 = await staff.evaluate(() => window.bench.stats());
  const fps = [];
  let middle = null;
  for (let s = 0; s < args.steady; s++) {
    await sleep(1000);
    const st = await staff.evaluate(() => window.bench.stats());
    fps.push(st.fps);
    if (s === Math.floor(args.steady / 2))
      middle = { host: memory(hostPid), hemgated: memory(daemonPid) };
  }
  const stats1 = await staff.evaluate(() => window.bench.stats());
  const machine1 = cpuSample();
  const after = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const seconds = (stats1.at - stats0.at) / 1000;
  result.steady = {
    seconds: round(seconds, 1),
    cpu_percent_of_one_core: Object.fromEntries(Object.keys(pids).map((k) => [k, round(100 * (after[k] - before[k]) / ((machine1.at - machine0.at) / 1000), 1)])),
    machine: cpuBetween(machine0, machine1),
    received: {
      fps_min: Math.min(...fps), fps_median: median(fps), fps_max: Math.max(...fps),
      frames_per_second: round((stats1.framesDecoded - stats0.framesDecoded) / seconds, 1),
      frames_dropped: stats1.framesDropped - stats0.framesDropped,
      freezes: stats1.freezeCount - stats0.freezeCount,
      size: `${stats1.width}x${stats1.height}`,
      video_kbit_s: round(8 * (stats1.videoBytes - stats0.videoBytes) / seconds / 1000, 0),
      audio_kbit_s: round(8 * (stats1.audioBytes - stats0.audioBytes) / seconds / 1000, 0),
    },
    sent: {
      fps: stats1.sentFps, size: `${stats1.sentWidth}x${stats1.sentHeight}`,
      video_kbit_s: round(8 * (stats1.sentBytes - stats0.sentBytes) / seconds / 1000, 0),
    },
    memory: middle,
  };
  const report = (await instance(gateway, 'webrtc-visit')).health?.report;
  result.steady.gateway_decoded = report?.decoded_frames ?? null;
  await hangup(gateway, staff);
  result.host_after = memory(hostPid);
  if (extra.after)
    Object.assign(result, await extra.after());
  await staff.context().close();
  await home.context().close();
  result.cpu = cpuBetween(cpu0, cpuSample());
  result.load_after = loadavg();
  return result;
}

/* The load: mosquitto, the mqtt-sensors instance, hemgate-sensor-sim -------------------- */

async function startBroker() {
  const dir = tempDir('hemgate-visit-bench-mosquitto-');
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'mosquitto.conf'), [
    `listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false',
    'set_tcp_nodelay true', 'max_queued_messages 0', process.getuid() === 0 ? 'user root' : '', '',
  ].join('\n'));
  const broker = startProcess('mosquitto', ['-c', path.join(dir, 'mosquitto.conf')]);
  await waitFor('mosquitto', () => new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => { socket.end(); resolve(true); });
    socket.on('error', () => resolve(false));
  }), 10);
  return { broker, port };
}

// the sensors instance's count of the messages it took from the broker
async function sensorMessages(gateway) {
  const plugin = await instance(gateway, 'sensors-municipal');
  return plugin?.health?.report?.totals?.messages ?? null;
}

/* Main ---------------------------------------------------------------------------------- */

function machine() {
  const cpu = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown';
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['-C', TOP, 'rev-parse', '--short', 'HEAD']).toString().trim();
    const branch = execFileSync('git', ['-C', TOP, 'rev-parse', '--abbrev-ref', 'HEAD']).toString().trim();
    const dirty = execFileSync('git', ['-C', TOP, 'status', '--porcelain', '--untracked-files=no']).toString().trim() !== '';
    commit += ` (branch ${branch}${dirty ? ', with uncommitted changes' : ''})`;
  } catch {}
  let buildtype = 'unknown';
  try {
    const options = JSON.parse(fs.readFileSync(path.join(args.build, 'meson-info', 'intro-buildoptions.json'), 'utf8'));
    buildtype = options.find((o) => o.name === 'buildtype')?.value ?? buildtype;
  } catch {}
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), cpu, cores: os.cpus().length,
    memory_mib: Math.round(os.totalmem() / 1048576), kernel: os.release(), commit, buildtype,
    chromium: execFileSync(CHROMIUM, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim(),
    gstreamer: (() => { try { return execFileSync('gst-inspect-1.0', ['--version']).toString().split('\n')[1]; } catch { return 'unknown'; } })(),
  };
}

function markdown(r, command) {
  const m = r.machine;
  const f = (x) => (x === undefined || x === null ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: 1 }));
  const lines = [];
  lines.push(`## ${m.date.slice(0, 10)}, video care visits: call set-up, CPU and memory (issue 18)`, '');
  lines.push(`Command: \`${command}\` (bench/visit.mjs: Debian's ${m.chromium}, headless with a fake camera and microphone, driven by playwright-core, as the staff tablet, and a second page as the home screen that accepts each ring at once; \`hemgated --demo\` with only the webrtc-visit plugin in its real plugin host, over loopback with host candidates). ` +
    `${m.buildtype} build of commit ${m.commit}, ${m.cores} cores "${m.cpu}", ${Math.round(m.memory_mib / 1024)} GiB, Linux ${m.kernel}, ${m.gstreamer}.`, '');
  lines.push('The staff page opens its camera first, as a call screen shows its preview (getUserMedia ' +
    `took ${f(r.phases[0].get_user_media_ms)} ms, not counted); the clock starts when its \`start\` is sent. "First frame" is the first ` +
    'video frame of the gateway presented in the staff page\'s `<video>` (`requestVideoFrameCallback`); "decoded" is the same call\'s first ' +
    '`framesDecoded > 0` in `getStats ()`, polled every 10 ms once connected. Times of the two pages are on one clock (`performance.timeOrigin + now ()`). ' +
    `p50 and p99 by nearest rank of ${r.args.calls} calls after one warm-up call, the first after hemgated started (so of 20 calls, p99 is the slowest). ` +
    `Before the benchmark started anything, the machine was busy ${r.before.cpu.all_cores} cores of ${m.cores} (over ${r.before.cpu.seconds} s; load average ${r.before.load.join(', ')}); other sessions share it.`, '');
  lines.push('| phase | load average before → after (1, 5, 15 min) | CPU busy on the machine: all / ours / others\' (cores) |', '| --- | --- | --- |');
  for (const p of r.phases)
    lines.push(`| ${p.name} | ${p.load_before.join(', ')} → ${p.load_after.join(', ')} | ${p.cpu.all_cores} / ${p.cpu.own_cores} / ${p.cpu.others_cores} |`);
  lines.push('');
  lines.push('| phase | calls | start → first frame p50 | p99 | first `framesDecoded` p50 | warm-up call (first after start) | target < 1.0 s |', '| --- | --- | --- | --- | --- | --- | --- |');
  const timed = r.phases.filter((p) => p.setup !== null);
  for (const p of timed)
    lines.push(`| ${p.name} | ${p.calls.length} | **${f(p.setup.total_ms.p50)} ms** | ${f(p.setup.total_ms.p99)} ms | ${f(p.setup.decoded_ms.p50)} ms | ${f(p.warmup.total_ms)} ms | ${p.setup.total_ms.p50 < 1000 ? 'met' : `**missed** by ${f(p.setup.total_ms.p50 - 1000)} ms`} |`);
  lines.push('');
  lines.push('Where the time goes (p50 / p99 of each step, ms):', '');
  const names = {
    start_ring_ms: 'start sent → ring at the home page',
    ring_accept_ms: 'ring → accept sent (the home page, at once)',
    accept_offer_ms: 'accept sent → offer at the staff page (the gateway builds and starts its pipeline, webrtcbin\'s offer)',
    offer_answer_ms: 'offer → answer sent (the browser)',
    offer_connected_ms: 'offer → connected (`connectionState`: ICE and DTLS)',
    answer_ice_connected_ms: 'of which: answer sent → ICE connected',
    ice_connected_connected_ms: 'of which: ICE connected → connected (the DTLS handshake)',
    connected_frame_ms: 'connected → first frame presented',
    connected_decoded_ms: 'connected → first `framesDecoded`',
  };
  lines.push(`| step | ${timed.map((p) => p.name).join(' | ')} | warm-up call: ${timed.map((p) => p.name).join(' | ')} |`, `| --- |${timed.map(() => ' --- |').join('')}${timed.map(() => ' --- |').join('')}`);
  for (const [key, label] of Object.entries(names))
    lines.push(`| ${label} | ${timed.map((p) => `${f(p.setup[key].p50)} / ${f(p.setup[key].p99)}`).join(' | ')} | ${timed.map((p) => f(p.warmup[key])).join(' | ')} |`);
  lines.push('');
  lines.push(`A steady call of ${r.args.steady} s (after 3 s to settle), 640×480 at 15 fps VP8 + Opus both ways (the browser's camera asked for 640×480 at 15 fps); CPU by \`/proc/PID/stat\` utime + stime, in % of one core; memory by \`/proc/PID/smaps_rollup\`:`, '');
  lines.push(`| phase (gateway's video source) | plugin host CPU (target < 35 %) | hemgated CPU | others of ours | staff side received fps (getStats framesPerSecond min / median / max) | frames decoded/s | received | video kbit/s in / out | plugin host Pss / Rss idle | in call | after the hang-up |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const p of r.phases) {
    const s = p.steady;
    const c = s.cpu_percent_of_one_core;
    const others = Object.entries(c).filter(([k]) => k !== 'host' && k !== 'hemgated').map(([k, v]) => `${k} ${v} %`).join(', ') || '–';
    lines.push(`| ${p.name} (${p.source}) | **${c.host} %** (${c.host < 35 ? 'met' : `missed by ${f(c.host - 35)} points`}) | ${c.hemgated} % | ${others} | ${s.received.fps_min} / ${s.received.fps_median} / ${s.received.fps_max} (freezes ${s.received.freezes}) | ${s.received.frames_per_second} | ${s.received.size} | ${s.received.video_kbit_s} / ${s.sent.video_kbit_s} | ${f(p.host_idle?.pss_kib / 1024)} / ${f(p.host_idle?.rss_kib / 1024)} MiB | ${f(s.memory?.host?.pss_kib / 1024)} / ${f(s.memory?.host?.rss_kib / 1024)} MiB | ${f(p.host_after?.pss_kib / 1024)} / ${f(p.host_after?.rss_kib / 1024)} MiB |`);
  }
  lines.push('');
  const hem = r.phases.map((p) => `${p.name}: idle ${f(p.hemgated_idle?.pss_kib / 1024)} / ${f(p.hemgated_idle?.rss_kib / 1024)} MiB, in call ${f(p.steady.memory?.hemgated?.pss_kib / 1024)} / ${f(p.steady.memory?.hemgated?.rss_kib / 1024)} MiB`).join('; ');
  lines.push(`hemgated Pss / Rss: ${hem}.`);
  for (const p of timed) {
    const each = p.host_pss_after_each_kib;
    if (each?.length > 1)
      lines.push('', `${p.name}: the plugin host's Pss after the hang-up of call 1, ${Math.ceil(each.length / 2)} and ${each.length} of the ${each.length}: ` +
        `${f(each[0] / 1024)}, ${f(each[Math.ceil(each.length / 2) - 1] / 1024)} and ${f(each[each.length - 1] / 1024)} MiB.`);
  }
  const load = r.phases.find((p) => p.sensors);
  lines.push('', `Load average at the end: ${r.after.load.join(', ')}.`);
  if (load)
    lines.push('', `Under load: hemgate-sensor-sim offered ${f(load.sensors.offered_per_s)} readings/s over ${N_DEVICES} devices through this benchmark's mosquitto; ` +
      `the sensors-municipal instance took ${f(load.sensors.taken_per_s)} messages/s from the broker during the calls (its health report's \`totals.messages\`).`);
  lines.push('');
  return lines.join('\n');
}

const args = parseArgs(process.argv.slice(2));
const CHROMIUM = process.env.CHROMIUM ?? 'chromium';
const { chromium } = createRequire(path.join(TOP, 'ui', 'package.json'))('playwright-core');

async function main() {
  const result = { args: { calls: args.calls, steady: args.steady, rate: args.rate, quick: args.quick }, machine: machine(), phases: [] };
  // the machine before this benchmark put anything on it
  {
    const load = loadavg();
    const a = cpuSample();
    await sleep(3000);
    result.before = { load, cpu: cpuBetween(a, cpuSample()) };
  }
  browser = await chromium.launch({
    executablePath: execFileSync('sh', ['-c', `command -v ${CHROMIUM}`]).toString().trim(),
    args: ['--no-sandbox', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required'],
  });

  // no load but the visit
  {
    const gateway = await startGateway(args.build);
    result.phases.push(await phase('no load', gateway, args));
    await stopProcess(gateway.daemon);
  }
  // the demo's ball on black costs the encoder little: the CPU also with a moving full
  // picture, nearer a camera's, and with noise (the encoder's worst case)
  for (const [name, source] of [['moving picture', 'videotestsrc is-live=true pattern=smpte horizontal-speed=4'],
    ['noise', 'videotestsrc is-live=true pattern=snow']]) {
    const gateway = await startGateway(args.build, null, source);
    result.phases.push(await phase(name, gateway, args, { calls: 0, source: `\`${source}\`` }));
    await stopProcess(gateway.daemon);
  }

  if (args.load) {
    const { broker, port } = await startBroker();
    const gateway = await startGateway(args.build, port);
    await waitFor('the sensors instance subscribed', async () => (await instance(gateway, 'sensors-municipal'))?.health?.report?.broker?.subscribed, 60);
    const sim = startProcess(path.join(args.build, 'plugins', 'mqtt-sensors', 'hemgate-sensor-sim'),
      ['--port', String(port), '--scenario', 'load', '--devices', String(N_DEVICES), '--rate', String(args.rate), '--duration', '3600']);
    await sleep(2000);
    let taken0 = await sensorMessages(gateway);
    let at0 = Date.now();
    const sensorsPid = (await instance(gateway, 'sensors-municipal')).pid;
    const p = await phase(`${args.rate.toLocaleString('en-US')} readings/s`, gateway, args, {
      pids: () => ({ 'sensors host': sensorsPid, mosquitto: broker.pid, 'sensor-sim': sim.pid }),
      after: async () => {
        const taken = await sensorMessages(gateway);
        return { sensors: { offered_per_s: args.rate, taken_per_s: taken !== null && taken0 !== null ? Math.round((taken - taken0) / ((Date.now() - at0) / 1000)) : null } };
      },
    });
    await stopProcess(sim);
    result.phases.push(p);
    await stopProcess(gateway.daemon);
    await stopProcess(broker);
  }

  result.after = { load: loadavg() };
  const text = markdown(result, process.env.HEMGATE_BENCH_COMMAND ?? `node bench/visit.mjs ${path.relative(TOP, args.build) || '.'}${args.quick ? ' --quick' : ''}`);
  console.log(text);
  if (args.json)
    fs.writeFileSync(args.json, JSON.stringify(result, null, 2) + '\n');
  if (args.results && !args.quick)
    fs.appendFileSync(args.results, '\n' + text);
}

try {
  await main();
} catch (error) {
  console.error(error);
  for (const child of started)
    if (child.log && child.exitCode !== null)
      console.error(`# ${child.spawnargs[0]} exited ${child.exitCode}: ${child.log.split('\n').slice(-20).join('\n# ')}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
