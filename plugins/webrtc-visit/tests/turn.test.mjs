// SPDX-License-Identifier: LGPL-2.1-or-later
// A video care visit through a real TURN relay, as when no direct path exists: the test
// starts Debian's coturn (turnserver) on 127.0.0.1 and the machine's address with
// long-term credentials, one user for the staff tablet and one for the gateway; the
// gateway's are set as the plugin's secrets (turn-username, turn-password) through the
// real API, never in its configuration, and the plugin (turn-server, ice-transport-policy
// = relay) picks them up while it runs. Chromium (headless, fake camera and microphone) is
// the staff tablet with iceTransportPolicy 'relay'. Asserted: before the secrets the
// plugin says TURN lacks them and the core's health names the missing secrets; getStats ()
// shows a selected candidate pair of two relay candidates, the tablet's on the TURN
// server's relay address; coturn's log shows both users' allocations; video and audio are
// decoded both ways; after the hang-up the pipeline is NULL; the password appears in no
// log of hemgated.
// Run by meson (suite webrtc-visit): node --test --test-reporter=tap turn.test.mjs
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as harness from './visit-harness.mjs';

const TURNSERVER = process.env.TURNSERVER;
if (!TURNSERVER)
  throw new Error('TURNSERVER is not set; run this test through meson (suite webrtc-visit)');

// the gateway's credentials hold what a URI must percent-encode
const GATEWAY_USER = 'gateway.1';
const GATEWAY_PASSWORD = 'gw p@ss:w%rd/?#+';
const TABLET_USER = 'tablet';
const TABLET_PASSWORD = 'tablet-password';
const REALM = 'hemgate.test';

let turnDir;
let turn;
let turnPort;
let turnAddress;
let turnLog = '';
let gateway;
let browser;

async function freeUdpPort() {
  const socket = dgram.createSocket('udp4');
  await new Promise((resolve) => socket.bind(0, resolve)); // free on every address
  const { port } = socket.address();
  await new Promise((resolve) => socket.close(resolve));
  return port;
}

// The machine's own IPv4 address. libnice pins the gateway's sockets to the interfaces
// it gathers on (IP_UNICAST_IF), never the loopback one, so the gateway reaches a TURN
// server through an address of the network (as in a home, where the relay is elsewhere);
// the direct case's host candidates need such an address too.
function ownAddress() {
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const a of addresses) {
      if (a.family === 'IPv4' && !a.internal)
        return a.address;
    }
  }
  throw new Error('no network interface with an IPv4 address: ICE has no host candidate');
}

// coturn on 127.0.0.1 and the machine's address with long-term credentials, relaying on
// 127.0.0.1, no TLS, loopback peers allowed (it refuses them otherwise), its log on stdout
async function startTurn() {
  turnDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hemgate-visit-turn-'));
  fs.writeFileSync(path.join(turnDir, 'turnserver.conf'), ''); // not /etc/turnserver.conf
  turnPort = await freeUdpPort();
  turnAddress = ownAddress();
  turn = spawn(TURNSERVER, [
    '-c', path.join(turnDir, 'turnserver.conf'),
    '--listening-ip', '127.0.0.1', '--listening-ip', turnAddress, '--relay-ip', '127.0.0.1',
    '--listening-port', String(turnPort),
    '--lt-cred-mech', '--realm', REALM,
    '--user', `${TABLET_USER}:${TABLET_PASSWORD}`, '--user', `${GATEWAY_USER}:${GATEWAY_PASSWORD}`,
    '--no-tls', '--no-dtls', '--allow-loopback-peers', '--no-cli',
    '--userdb', path.join(turnDir, 'turndb'), '--pidfile', path.join(turnDir, 'turnserver.pid'),
    '--log-file', 'stdout', '--simple-log', '--verbose',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  turn.stdout.on('data', (chunk) => { turnLog += chunk; });
  turn.stderr.on('data', (chunk) => { turnLog += chunk; });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('turnserver did not start: ' + turnLog)), 20000);
    const check = () => {
      if (turnLog.includes(`UDP listener opened on: 127.0.0.1:${turnPort}`) &&
          turnLog.includes(`UDP listener opened on: ${turnAddress}:${turnPort}`)) {
        clearTimeout(timer);
        resolve();
      } else {
        setTimeout(check, 100);
      }
    };
    turn.on('exit', (code) => reject(new Error('turnserver exited with ' + code + ': ' + turnLog)));
    check();
  });
}

before(async () => {
  await startTurn();
  gateway = await harness.startGateway([
    'ring-seconds = 60',
    `turn-server = turn://${turnAddress}:${turnPort}?transport=udp`,
    'ice-transport-policy = relay',
  ]);
  browser = await harness.launchBrowser();
});

after(async () => {
  await browser?.close();
  await gateway?.stop();
  if (turn && turn.exitCode === null) {
    turn.kill('SIGTERM');
    await new Promise((resolve) => turn.once('exit', resolve));
  }
  if (turnDir)
    fs.rmSync(turnDir, { recursive: true, force: true });
});

const waitFor = (what, condition, seconds) => harness.waitFor(gateway, what, condition, seconds);

test('a visit relayed by coturn, the gateway\'s credentials from the secret store', async (t) => {
  const staff = await harness.openChannel(browser, gateway, 'staff');
  t.after(async () => {
    await staff.evaluate(() => window.visit.send({ type: 'hangup' })).catch(() => {});
  });
  const admin = await harness.login(browser, gateway, 'admin');

  // configured, but the secrets are not there yet: said so by the plugin and the core
  const missing = await waitFor('the plugin to say TURN lacks its secrets', async () => {
    const h = await harness.health(staff);
    return h.state === 'running' && h.report?.turn ? h.report.turn : null;
  });
  assert.equal(missing.state, 'no-credentials');
  assert.equal(missing.missing, 'turn-username');
  assert.equal(missing.server, `turn://${turnAddress}:${turnPort}?transport=udp`);
  assert.equal(missing.policy, 'relay');
  const secretsFault = await admin.evaluate(async () => (await (await fetch('/api/v1/health')).json()).subsystems.secrets);
  assert.equal(secretsFault.status, 'fault');
  assert.match(secretsFault.message, /plugin webrtc-visit: no secret 'turn-username'/);
  assert.match(secretsFault.message, /plugin webrtc-visit: no secret 'turn-password'/);

  // IT sets them on the running gateway, as `hemgatectl secrets set` does
  for (const [key, value] of [['turn-username', GATEWAY_USER], ['turn-password', GATEWAY_PASSWORD]]) {
    const status = await admin.evaluate(async ({ key, value }) => {
      const response = await fetch(`/api/v1/secrets/plugin:webrtc-visit/${key}`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ value }),
      });
      return response.status;
    }, { key, value });
    assert.equal(status, 204, `PUT secret ${key}`);
  }
  await waitFor('the plugin to take the secrets', async () => (await harness.health(staff)).report?.turn?.state === 'ready');
  const secretsOk = await admin.evaluate(async () => (await (await fetch('/api/v1/health')).json()).subsystems.secrets);
  assert.equal(secretsOk.status, 'ok');

  // the staff tablet: relay candidates only, on the same TURN server with its own user
  const home = await harness.openChannel(browser, gateway, 'resident');
  await harness.staffAnswers(staff, {
    iceServers: [{ urls: `turn:127.0.0.1:${turnPort}?transport=udp`, username: TABLET_USER, credential: TABLET_PASSWORD }],
    iceTransportPolicy: 'relay',
  });
  await home.evaluate(() => window.visit.next('ring'));
  await home.evaluate(() => window.visit.send({ type: 'accept' }));
  await staff.evaluate(() => window.visitDone);

  const stats = await harness.browserDecoded(gateway, staff).catch(async (error) => {
    console.log('# coturn: ' + turnLog.split('\n').slice(-60).join('\n# '));
    console.log('# tablet: ' + JSON.stringify(await staff.evaluate(() => ({
      ice: window.visit.messages.filter((m) => m.type === 'ice').map((m) => m.candidate),
      local: window.pc.localDescription?.sdp,
    }))));
    throw error;
  });
  console.log(`# browser decoded ${stats.video} video frames, ${stats.audio} audio samples`);
  const during = await harness.gatewayDecoded(gateway, staff);
  console.log(`# gateway decoded ${during.decoded_frames.video} video frames, ${during.decoded_frames.audio} audio buffers`);
  assert.equal(during.call, 'in-call');

  // the selected pair: relay on both ends, the tablet's on the TURN server's address
  const pair = await staff.evaluate(async () => {
    const report = await window.pc.getStats();
    const byId = new Map();
    report.forEach((r) => byId.set(r.id, r));
    const selected = [];
    report.forEach((r) => {
      if (r.type === 'transport' && r.selectedCandidatePairId) {
        const p = byId.get(r.selectedCandidatePairId);
        selected.push({ state: p.state, local: byId.get(p.localCandidateId), remote: byId.get(p.remoteCandidateId) });
      }
    });
    return selected;
  });
  console.log('# selected pair: ' + JSON.stringify(pair));
  assert.equal(pair.length, 1); // one transport: the media are bundled
  assert.equal(pair[0].state, 'succeeded');
  assert.equal(pair[0].local.candidateType, 'relay');
  assert.equal(pair[0].local.address, '127.0.0.1');
  assert.equal(pair[0].local.relayProtocol, 'udp');
  assert.equal(pair[0].remote.candidateType, 'relay');

  // coturn allocated for both, the gateway with the credentials from the secret store
  for (const user of [TABLET_USER, GATEWAY_USER]) {
    assert.match(turnLog, new RegExp(`user <${user.replace('.', '\\.')}>: incoming packet ALLOCATE processed, success`),
      `coturn allocated for ${user}`);
  }

  const { ended, report: afterwards } = await harness.hangUp(gateway, staff, home);
  assert.equal(ended.outcome, 'answered');
  assert.equal(afterwards.pipeline, 'null');
  assert.equal(afterwards.last_call.outcome, 'answered');

  // the password is in no log, plain or encoded
  for (const form of [GATEWAY_PASSWORD, encodeURIComponent(GATEWAY_PASSWORD)])
    assert.ok(!gateway.log().includes(form), 'the TURN password in hemgated\'s log');
});
