/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgWebrtcVisitRate alone: receiver reports in, the video encoder's bitrate and picture
 * size out. */
#include <gst/gst.h>

#include "hg-webrtc-visit-rate.h"

/* One new report (its own sequence number) with @lost and @round_trip */
static gboolean
report (HgWebrtcVisitRate *rate,
        gdouble lost,
        gdouble round_trip)
{
  HgWebrtcVisitRateReport report = { 0 };

  report.report_seq = rate->last_seq + 100;
  report.fraction_lost = lost;
  report.round_trip = round_trip;
  return hg_webrtc_visit_rate_update (rate, &report);
}

static void
test_starts_at_ceiling (void)
{
  HgWebrtcVisitRate rate;

  g_test_summary ("A call starts at max-bitrate and 640x480; a ceiling below 350 kbit/s "
                  "starts at 320x240");
  hg_webrtc_visit_rate_init (&rate, 100000, 600000);
  g_assert_cmpuint (rate.bitrate, ==, 600000);
  g_assert_cmpuint (hg_webrtc_visit_rate_get_width (&rate), ==, 640);
  g_assert_cmpuint (hg_webrtc_visit_rate_get_height (&rate), ==, 480);
  hg_webrtc_visit_rate_init (&rate, 100000, 300000);
  g_assert_cmpuint (rate.bitrate, ==, 300000);
  g_assert_cmpuint (hg_webrtc_visit_rate_get_width (&rate), ==, 320);
  g_assert_cmpuint (hg_webrtc_visit_rate_get_height (&rate), ==, 240);
}

static void
test_loss_backs_off (void)
{
  HgWebrtcVisitRate rate;
  guint previous;

  g_test_summary ("Reports with 20 % lost take the bitrate to 70 % each, the picture to "
                  "320x240 below 250 kbit/s, and stop at min-bitrate");
  hg_webrtc_visit_rate_init (&rate, 100000, 600000);
  g_assert_true (report (&rate, 0.2, 0.01));
  g_assert_cmpuint (rate.bitrate, ==, 420000);
  g_assert_false (rate.small);
  g_assert_true (report (&rate, 0.2, 0.01));
  g_assert_cmpuint (rate.bitrate, ==, 294000);
  g_assert_false (rate.small);
  g_assert_true (report (&rate, 0.2, 0.01));
  g_assert_cmpuint (rate.bitrate, ==, 205800);
  g_assert_true (rate.small);
  g_assert_cmpuint (hg_webrtc_visit_rate_get_width (&rate), ==, 320);
  do
    {
      previous = rate.bitrate;
      report (&rate, 0.2, 0.01);
      g_assert_cmpuint (rate.bitrate, <=, previous);
    }
  while (rate.bitrate != previous);
  g_assert_cmpuint (rate.bitrate, ==, 100000);
  g_assert_false (report (&rate, 0.5, 0.01));
  g_assert_cmpuint (rate.bitrate, ==, 100000);
}

static void
test_same_report_once (void)
{
  HgWebrtcVisitRate rate;
  HgWebrtcVisitRateReport lossy = { .report_seq = 4711, .fraction_lost = 0.3,
                                    .round_trip = 0.01 };

  g_test_summary ("The plugin polls more often than reports come: a report read twice (the "
                  "same highest sequence number) counts once");
  hg_webrtc_visit_rate_init (&rate, 100000, 600000);
  g_assert_true (hg_webrtc_visit_rate_update (&rate, &lossy));
  g_assert_cmpuint (rate.bitrate, ==, 420000);
  g_assert_false (hg_webrtc_visit_rate_update (&rate, &lossy));
  g_assert_false (hg_webrtc_visit_rate_update (&rate, &lossy));
  g_assert_cmpuint (rate.bitrate, ==, 420000);
  lossy.report_seq++;
  g_assert_true (hg_webrtc_visit_rate_update (&rate, &lossy));
  g_assert_cmpuint (rate.bitrate, ==, 294000);
}

static void
test_clean_link_recovers (void)
{
  HgWebrtcVisitRate rate;
  guint reports = 0;

  g_test_summary ("After a back-off, three clean reports in a row take the bitrate up 10 %; "
                  "it climbs to max-bitrate and no further, back to 640x480 from 350 kbit/s");
  hg_webrtc_visit_rate_init (&rate, 100000, 600000);
  for (guint i = 0; i < 10; i++)
    report (&rate, 0.3, 0.01);
  g_assert_cmpuint (rate.bitrate, ==, 100000);
  g_assert_true (rate.small);
  g_assert_false (report (&rate, 0.0, 0.01));
  g_assert_false (report (&rate, 0.01, 0.01));
  g_assert_true (report (&rate, 0.0, 0.01));
  g_assert_cmpuint (rate.bitrate, ==, 110000);
  while (rate.bitrate < 600000 && reports < 1000)
    {
      guint previous = rate.bitrate;

      report (&rate, 0.0, 0.01);
      reports++;
      g_assert_cmpuint (rate.bitrate, >=, previous);
      /* the size changes only at the thresholds, never between them */
      if (rate.bitrate < 250000)
        g_assert_true (rate.small);
      if (rate.bitrate >= 350000)
        g_assert_false (rate.small);
    }
  g_assert_cmpuint (rate.bitrate, ==, 600000);
  g_assert_false (rate.small);
  for (guint i = 0; i < 6; i++)
    g_assert_false (report (&rate, 0.0, 0.01));
  g_assert_cmpuint (rate.bitrate, ==, 600000);
}

static void
test_moderate_loss_holds (void)
{
  HgWebrtcVisitRate rate;

  g_test_summary ("A report with 2 to 10 % lost neither lowers nor raises the bitrate, and "
                  "the clean reports before it count for nothing");
  hg_webrtc_visit_rate_init (&rate, 100000, 600000);
  report (&rate, 0.2, 0.01);
  g_assert_cmpuint (rate.bitrate, ==, 420000);
  g_assert_false (report (&rate, 0.05, 0.01));
  g_assert_false (report (&rate, 0.0, 0.01));
  g_assert_false (report (&rate, 0.0, 0.01));
  g_assert_false (report (&rate, 0.05, 0.01));
  g_assert_false (report (&rate, 0.0, 0.01));
  g_assert_false (report (&rate, 0.0, 0.01));
  g_assert_cmpuint (rate.bitrate, ==, 420000);
  g_assert_true (report (&rate, 0.0, 0.01));
  g_assert_cmpuint (rate.bitrate, ==, 462000);
}

static void
test_size_hysteresis (void)
{
  HgWebrtcVisitRate rate;

  g_test_summary ("Between 250 and 350 kbit/s the picture keeps its size: 640x480 on the way "
                  "down, 320x240 on the way up");
  hg_webrtc_visit_rate_init (&rate, 100000, 600000);
  report (&rate, 0.2, 0.01);
  report (&rate, 0.2, 0.01);
  g_assert_cmpuint (rate.bitrate, ==, 294000);
  g_assert_false (rate.small);
  report (&rate, 0.2, 0.01);
  g_assert_true (rate.small);
  while (rate.bitrate < 300000)
    report (&rate, 0.0, 0.01);
  g_assert_cmpuint (rate.bitrate, <, 350000);
  g_assert_true (rate.small);
}

static void
test_queue_backs_off (void)
{
  HgWebrtcVisitRate rate;

  g_test_summary ("A round trip 250 ms above the lowest of the call (a queue building up) "
                  "backs off without loss; a long but steady round trip does not");
  hg_webrtc_visit_rate_init (&rate, 100000, 600000);
  g_assert_false (report (&rate, 0.0, 0.6));
  g_assert_false (report (&rate, 0.0, 0.65));
  g_assert_false (report (&rate, 0.0, 0.6));
  g_assert_cmpuint (rate.bitrate, ==, 600000);
  g_assert_true (report (&rate, 0.0, 0.9));
  g_assert_cmpuint (rate.bitrate, ==, 420000);
  /* before any round trip is known (0) only loss counts */
  hg_webrtc_visit_rate_init (&rate, 100000, 600000);
  g_assert_false (report (&rate, 0.0, 0.0));
  g_assert_cmpuint (rate.bitrate, ==, 600000);
}

/* A compound RTCP packet from the far end: a receiver report with a block about each of
 * @ssrcs (0-terminated): fraction lost 51/256, the highest sequence number 20394 + i,
 * LSR 0x12340000 and DLSR 0x00010000 (one second) */
static GstBuffer *
receiver_report (const guint32 *ssrcs)
{
  GstBuffer *buffer = gst_rtcp_buffer_new (1400);
  GstRTCPBuffer rtcp = GST_RTCP_BUFFER_INIT;
  GstRTCPPacket packet;

  g_assert_true (gst_rtcp_buffer_map (buffer, GST_MAP_READWRITE, &rtcp));
  g_assert_true (gst_rtcp_buffer_add_packet (&rtcp, GST_RTCP_TYPE_RR, &packet));
  gst_rtcp_packet_rr_set_ssrc (&packet, 7);
  for (guint i = 0; ssrcs[i] != 0; i++)
    g_assert_true (gst_rtcp_packet_add_rb (&packet, ssrcs[i], 51, 95, 20394 + i, 33,
                                           0x12340000, 0x00010000));
  g_assert_true (gst_rtcp_buffer_add_packet (&rtcp, GST_RTCP_TYPE_SDES, &packet));
  g_assert_true (gst_rtcp_packet_sdes_add_item (&packet, 7));
  g_assert_true (gst_rtcp_packet_sdes_add_entry (&packet, GST_RTCP_SDES_CNAME, 4,
                                                 (const guint8 *) "peer"));
  gst_rtcp_buffer_unmap (&rtcp);
  return buffer;
}

static void
test_report_from_rtcp (void)
{
  const guint32 both[] = { 1111, 4242, 0 };
  const guint32 audio[] = { 1111, 0 };
  g_autoptr(GstBuffer) report = receiver_report (both);
  g_autoptr(GstBuffer) other = receiver_report (audio);
  HgWebrtcVisitRateReport found = { 0 };
  /* 50 ms after the far end sent it, one second after it got our sender report */
  guint64 now = (G_GUINT64_CONSTANT (0x12340000) + 0x00010000 + 65536 / 20) << 16;

  g_test_summary ("The report block about our video's SSRC is read from the far end's RTCP "
                  "(the audio's in the same packet is not), with its round trip from LSR and "
                  "DLSR; a packet without one is no report");
  g_assert_true (hg_webrtc_visit_rate_report_from_rtcp (report, 4242, now, &found));
  g_assert_cmpuint (found.report_seq, ==, 20395);
  g_assert_cmpfloat_with_epsilon (found.fraction_lost, 51 / 256.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (found.round_trip, 0.05, 0.001);
  g_assert_false (hg_webrtc_visit_rate_report_from_rtcp (other, 4242, now, &found));
}

static void
test_ntp_time (void)
{
  g_test_summary ("The real time in the NTP format of the sender reports: seconds since 1900 "
                  "above, the fraction of a second below");
  g_assert_cmphex (hg_webrtc_visit_rate_ntp_time (0), ==, G_GUINT64_CONSTANT (2208988800) << 32);
  g_assert_cmphex (hg_webrtc_visit_rate_ntp_time (G_USEC_PER_SEC + G_USEC_PER_SEC / 2), ==,
                   ((G_GUINT64_CONSTANT (2208988801)) << 32) | 0x80000000);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  gst_init (&argc, &argv);

  g_test_add_func ("/webrtc-visit/rate/starts-at-ceiling", test_starts_at_ceiling);
  g_test_add_func ("/webrtc-visit/rate/loss-backs-off-to-floor-and-320x240", test_loss_backs_off);
  g_test_add_func ("/webrtc-visit/rate/same-report-counts-once", test_same_report_once);
  g_test_add_func ("/webrtc-visit/rate/clean-link-recovers-to-ceiling", test_clean_link_recovers);
  g_test_add_func ("/webrtc-visit/rate/moderate-loss-holds", test_moderate_loss_holds);
  g_test_add_func ("/webrtc-visit/rate/size-does-not-flap", test_size_hysteresis);
  g_test_add_func ("/webrtc-visit/rate/queue-backs-off", test_queue_backs_off);
  g_test_add_func ("/webrtc-visit/rate/report-from-rtcp", test_report_from_rtcp);
  g_test_add_func ("/webrtc-visit/rate/ntp-time", test_ntp_time);
  return g_test_run ();
}
