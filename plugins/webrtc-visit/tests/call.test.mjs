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
import * as harness from './visit-harness.mjs';

let gateway;
let browser;

before(async () => {
  gateway = await harness.startGateway(['ring-seconds = 60']);
  browser = await harness.launchBrowser();
});

after(async () => {
  await browser?.close();
  await gateway?.stop();
});

const openChannel = (username) => harness.openChannel(browser, gateway, username);
const health = harness.health;
const waitFor = (what, condition, seconds) => harness.waitFor(gateway, what, condition, seconds);

test('a visit: both sides decode video and audio, the pipeline is NULL after hang-up', async (t) => {
  const staff = await openChannel('staff');
  t.after(async () => {
    // a failed case leaves no call behind for the next
    await staff.evaluate(() => window.visit.send({ type: 'hangup' })).catch(() => {});
  });
  await waitFor('the plugin to run', async () => (await health(staff)).state === 'running');
  const home = await openChannel('resident');

  // the staff tablet: answers the gateway's offer with its fake camera and microphone
  await harness.staffAnswers(staff, { iceServers: [] });

  const ring = await home.evaluate(() => window.visit.next('ring'));
  assert.equal(ring.staff, 'staff');
  await home.evaluate(() => window.visit.send({ type: 'accept' }));
  await staff.evaluate(() => window.visitDone);

  // the browser decodes the gateway's video and audio
  const stats = await harness.browserDecoded(gateway, staff);
  console.log(`# browser decoded ${stats.video} video frames, ${stats.audio} audio samples`);

  // the gateway decodes the browser's
  const during = await harness.gatewayDecoded(gateway, staff);
  console.log(`# gateway decoded ${during.decoded_frames.video} video frames, ${during.decoded_frames.audio} audio buffers`);
  assert.equal(during.call, 'in-call');
  assert.notEqual(during.pipeline, 'null');

  const { ended, report: afterwards } = await harness.hangUp(gateway, staff, home);
  assert.equal(ended.outcome, 'answered');
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
