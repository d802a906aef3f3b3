/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgWebrtcVisitRate: the encoder follows the far end's receiver reports. Both steps are
 * multiplicative, as in Google's loss-based control (draft-ietf-rmcat-gcc): a receiver report with more than 10 % lost, or a round trip 250 ms above the lowest seen
 * (a queue building up before the loss), takes the bitrate to 70 %, down to the floor;
 * three reports in a row with less than 2 % lost and no queue take it up 10 %, up to the
 * ceiling; anything between holds it. Below 250 kbit/s the picture is 320×240, from
 * 350 kbit/s 640×480 again (apart, so that it does not flap). The far end sends a report
 * every second or few; the plugin polls more often, and a report read twice (the same
 * highest sequence number) counts once. */
#include <string.h>

#include "hg-webrtc-visit-rate.h"

void
hg_webrtc_visit_rate_init (HgWebrtcVisitRate *rate,
                           guint min_bitrate,
                           guint max_bitrate)
{
  g_return_if_fail (min_bitrate <= max_bitrate);

  memset (rate, 0, sizeof (*rate));
  rate->min_bitrate = min_bitrate;
  rate->max_bitrate = max_bitrate;
  rate->bitrate = max_bitrate;
  rate->small = max_bitrate < HG_WEBRTC_VISIT_RATE_LARGE_FROM;
}

/* Takes one receiver report; TRUE if the bitrate or the picture size changed. */
gboolean
hg_webrtc_visit_rate_update (HgWebrtcVisitRate *rate,
                             const HgWebrtcVisitRateReport *report)
{
  guint bitrate = rate->bitrate;
  gboolean small = rate->small;
  gdouble queue = 0;

  if (rate->have_report && report->report_seq == rate->last_seq)
    return FALSE;
  rate->have_report = TRUE;
  rate->last_seq = report->report_seq;
  if (report->round_trip > 0)
    {
      if (rate->min_round_trip == 0 || report->round_trip < rate->min_round_trip)
        rate->min_round_trip = report->round_trip;
      queue = report->round_trip - rate->min_round_trip;
    }

  if (report->fraction_lost > HG_WEBRTC_VISIT_RATE_LOSS_HIGH ||
      queue > HG_WEBRTC_VISIT_RATE_QUEUE_HIGH)
    {
      rate->good_reports = 0;
      bitrate = MAX (rate->min_bitrate, (guint) (bitrate * HG_WEBRTC_VISIT_RATE_DECREASE));
    }
  else if (report->fraction_lost < HG_WEBRTC_VISIT_RATE_LOSS_LOW &&
           queue < HG_WEBRTC_VISIT_RATE_QUEUE_LOW)
    {
      if (++rate->good_reports >= HG_WEBRTC_VISIT_RATE_GOOD_REPORTS)
        {
          rate->good_reports = 0;
          bitrate = MIN (rate->max_bitrate, (guint) (bitrate * HG_WEBRTC_VISIT_RATE_INCREASE));
        }
    }
  else
    rate->good_reports = 0;

  if (bitrate < HG_WEBRTC_VISIT_RATE_SMALL_BELOW)
    small = TRUE;
  else if (bitrate >= HG_WEBRTC_VISIT_RATE_LARGE_FROM)
    small = FALSE;
  if (bitrate == rate->bitrate && small == rate->small)
    return FALSE;
  rate->bitrate = bitrate;
  rate->small = small;
  return TRUE;
}

/* The far end's last receiver report about our video, from webrtcbin's `get-stats` reply:
 * its `remote-inbound-rtp` entry of kind video (fraction-lost, round-trip-time) and, in
 * that entry's rtpsession statistics, the report's extended highest sequence number
 * (rb-exthighestseq). FALSE if there is none yet. */
gboolean
hg_webrtc_visit_rate_report_from_stats (const GstStructure *stats,
                                        HgWebrtcVisitRateReport *report)
{
  gint n = gst_structure_n_fields (stats);

  for (gint i = 0; i < n; i++)
    {
      const GValue *value = gst_structure_get_value (stats, gst_structure_nth_field_name (stats, i));
      const GstStructure *entry;
      const GstStructure *session;
      const GValue *session_value;
      guint seq = 0;

      if (!GST_VALUE_HOLDS_STRUCTURE (value))
        continue;
      entry = gst_value_get_structure (value);
      if (!gst_structure_has_name (entry, "remote-inbound-rtp") ||
          g_strcmp0 (gst_structure_get_string (entry, "kind"), "video") != 0)
        continue;
      session_value = gst_structure_get_value (entry, "gst-rtpsource-stats");
      if (session_value == NULL || !GST_VALUE_HOLDS_STRUCTURE (session_value))
        continue;
      session = gst_value_get_structure (session_value);
      if (!gst_structure_get_uint (session, "rb-exthighestseq", &seq) ||
          !gst_structure_get_double (entry, "fraction-lost", &report->fraction_lost))
        continue;
      report->report_seq = seq;
      if (!gst_structure_get_double (entry, "round-trip-time", &report->round_trip))
        report->round_trip = 0;
      return TRUE;
    }
  return FALSE;
}

guint
hg_webrtc_visit_rate_get_width (const HgWebrtcVisitRate *rate)
{
  return rate->small ? 320 : 640;
}

guint
hg_webrtc_visit_rate_get_height (const HgWebrtcVisitRate *rate)
{
  return rate->small ? 240 : 480;
}
