// SPDX-License-Identifier: LGPL-2.1-or-later
// A visit whose camera is missing, with camera-optional: Debian's Chromium (headless, fake
// camera and microphone) as the staff tablet against the real hemgated in demo mode with
// the webrtc-visit plugin in its real host, configured with a camera that does not exist
// (v4l2src on a device node that is not there). The staff tablet is told
// `video-unavailable` (camera-missing), gets an offer with audio alone, and from
// getStats () decodes the gateway's audio and no video; the gateway decodes the browser's
// audio; the record says video false. No mock peer.
// Run by meson (suite webrtc-visit): node --test --test-reporter=tap sound-only.test.mjs
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as harness from './visit-harness.mjs';

let gateway;
let browser;

before(async () => {
  gateway = await harness.startGateway([
    'ring-seconds = 60',
    'video-source = v4l2src device=/dev/video-not-here',
    'camera-optional = true',
  ]);
  browser = await harness.launchBrowser();
});

after(async () => {
  await browser?.close();
  await gateway?.stop();
});

const waitFor = (what, condition, seconds) => harness.waitFor(gateway, what, condition, seconds);

test('a visit without its camera goes on with sound only, both ways', async (t) => {
  const staff = await harness.openChannel(browser, gateway, 'staff');
  t.after(async () => {
    await staff.evaluate(() => window.visit.send({ type: 'hangup' })).catch(() => {});
  });
  await waitFor('the plugin to run', async () => (await harness.health(staff)).state === 'running');
  const home = await harness.openChannel(browser, gateway, 'resident');

  await harness.staffAnswers(staff, { iceServers: [] });
  await home.evaluate(() => window.visit.next('ring'));
  await home.evaluate(() => window.visit.send({ type: 'accept' }));
  const notice = await staff.evaluate(() => window.visit.next('video-unavailable'));
  assert.equal(notice.code, 'camera-missing');
  await staff.evaluate(() => window.visitDone);
  const offered = await staff.evaluate(() => window.pc.remoteDescription.sdp);
  assert.match(offered, /^m=audio /m);
  assert.doesNotMatch(offered, /^m=video /m);

  const stats = await harness.browserDecoded(gateway, staff, { video: false });
  console.log(`# browser decoded ${stats.audio} audio samples, ${stats.video} video frames`);
  assert.equal(stats.video, 0);
  const during = await waitFor('audio decoded in the gateway', async () => {
    const h = await harness.health(staff);
    return h.report?.decoded_frames?.audio > 0 ? h.report : null;
  });
  assert.equal(during.video, false);
  assert.equal(during.decoded_frames.video, 0);

  const { ended, report: afterwards } = await harness.hangUp(gateway, staff, home);
  assert.equal(ended.outcome, 'answered');
  assert.equal(afterwards.pipeline, 'null');
  assert.equal(afterwards.last_call.video, false);
});
