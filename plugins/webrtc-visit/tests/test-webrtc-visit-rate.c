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

/* What webrtcbin 1.22's get-stats replies with, cut to what matters here */
#define STATS_VIDEO_REPORT                                                                     \
  "remote-inbound-rtp, id=(string)rtp-remote-inbound-stream-stats_42, ssrc=(uint)42, "         \
  "kind=(string)%s, packets-lost=(gint64)95, fraction-lost=(double)0.21875, "                 \
  "round-trip-time=(double)0.0041961669921875, gst-rtpsource-stats=(structure)"               \
  "\"application/x-rtp-source-stats\\,\\ ssrc\\=\\(uint\\)7\\,\\ have-rb\\=\\(boolean\\)true"  \
  "\\,\\ rb-fractionlost\\=\\(uint\\)56\\,\\ rb-exthighestseq\\=\\(uint\\)20394\\;\";"

static GstStructure *
stats_with (const gchar *kind)
{
  g_autoptr(GstStructure) outbound = NULL;
  g_autoptr(GstStructure) remote = NULL;
  g_autofree gchar *text = g_strdup_printf (STATS_VIDEO_REPORT, kind);
  GstStructure *stats = gst_structure_new_empty ("application/x-webrtc-stats");

  outbound = gst_structure_from_string ("outbound-rtp, ssrc=(uint)42, kind=(string)video, "
                                        "packets-sent=(guint64)636;", NULL);
  remote = gst_structure_from_string (text, NULL);
  g_assert_nonnull (remote);
  gst_structure_set (stats, "rtp-outbound-stream-stats_42", GST_TYPE_STRUCTURE, outbound,
                     "rtp-remote-inbound-stream-stats_42", GST_TYPE_STRUCTURE, remote, NULL);
  return stats;
}

static void
test_report_from_stats (void)
{
  g_autoptr(GstStructure) video = stats_with ("video");
  g_autoptr(GstStructure) audio = stats_with ("audio");
  g_autoptr(GstStructure) empty = gst_structure_new_empty ("application/x-webrtc-stats");
  HgWebrtcVisitRateReport found = { 0 };

  g_test_summary ("The video's receiver report is read from webrtcbin's statistics "
                  "(remote-inbound-rtp of kind video); audio's and none are no report");
  g_assert_true (hg_webrtc_visit_rate_report_from_stats (video, &found));
  g_assert_cmpuint (found.report_seq, ==, 20394);
  g_assert_cmpfloat_with_epsilon (found.fraction_lost, 0.21875, 1e-9);
  g_assert_cmpfloat_with_epsilon (found.round_trip, 0.0041961669921875, 1e-9);
  g_assert_false (hg_webrtc_visit_rate_report_from_stats (audio, &found));
  g_assert_false (hg_webrtc_visit_rate_report_from_stats (empty, &found));
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
  g_test_add_func ("/webrtc-visit/rate/report-from-webrtcbin-stats", test_report_from_stats);
  return g_test_run ();
}
