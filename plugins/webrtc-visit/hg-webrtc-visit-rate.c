/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgWebrtcVisitRate: the encoder follows the far end's receiver reports. Both steps are
 * multiplicative, as in Google's loss-based control (draft-ietf-rmcat-gcc): a report with
 * more than 10 % lost, or a round trip 250 ms above the lowest seen in the call (a queue
 * building up before the loss), takes the bitrate to 70 %, down to the floor;
 * three reports in a row with less than 2 % lost and no queue take it up 10 %, up to the
 * ceiling; anything between holds it. Below 250 kbit/s the picture is 320×240, from
 * 350 kbit/s 640×480 again (apart, so that it does not flap). The far end sends a report
 * every second or few; a report taken twice (the same highest sequence number) counts
 * once. */
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

/* The report block about @ssrc (our video) in the received RTCP compound packet @rtcp
 * (the far end's receiver or sender report), its round trip from our sender report's
 * time it echoes (LSR) and how long the far end held it (DLSR), against @ntp_now, the
 * time it arrived in the 64-bit NTP format. FALSE if @rtcp has no block about @ssrc.
 *
 * Read from the packets rather than from webrtcbin's `get-stats`: with the media bundled
 * on one transport, GStreamer 1.22's RTP session keeps one report block per far-end
 * source and labels all its statistics with one stream's kind, so the video's report is
 * overwritten by the audio's in the same packet. */
gboolean
hg_webrtc_visit_rate_report_from_rtcp (GstBuffer *rtcp,
                                       guint32 ssrc,
                                       guint64 ntp_now,
                                       HgWebrtcVisitRateReport *report)
{
  GstRTCPBuffer buffer = GST_RTCP_BUFFER_INIT;
  GstRTCPPacket packet;
  gboolean found = FALSE;

  if (!gst_rtcp_buffer_validate_reduced (rtcp) || !gst_rtcp_buffer_map (rtcp, GST_MAP_READ, &buffer))
    return FALSE;
  for (gboolean more = gst_rtcp_buffer_get_first_packet (&buffer, &packet); more && !found;
       more = gst_rtcp_packet_move_to_next (&packet))
    {
      GstRTCPType type = gst_rtcp_packet_get_type (&packet);
      guint n;

      if (type != GST_RTCP_TYPE_RR && type != GST_RTCP_TYPE_SR)
        continue;
      n = gst_rtcp_packet_get_rb_count (&packet);
      for (guint i = 0; i < n && !found; i++)
        {
          guint32 block_ssrc, highest, jitter, lsr, dlsr;
          guint8 fraction;
          gint32 lost;

          gst_rtcp_packet_get_rb (&packet, i, &block_ssrc, &fraction, &lost, &highest, &jitter,
                                  &lsr, &dlsr);
          if (block_ssrc != ssrc)
            continue;
          found = TRUE;
          report->report_seq = highest;
          report->fraction_lost = fraction / 256.0;
          report->round_trip = 0;
          if (lsr != 0)
            {
              /* the middle 32 bits of NTP time: 16.16 fixed point seconds, wrapping */
              guint32 now = (guint32) (ntp_now >> 16);
              guint32 round_trip = now - lsr - dlsr;

              if (round_trip < G_MAXINT32)
                report->round_trip = round_trip / 65536.0;
            }
        }
    }
  gst_rtcp_buffer_unmap (&buffer);
  return found;
}

/* @real_time (g_get_real_time ()) in the 64-bit NTP format (seconds since 1900 in the high
 * 32 bits), the time base of GStreamer's RTP sessions' sender reports */
guint64
hg_webrtc_visit_rate_ntp_time (gint64 real_time)
{
  guint64 seconds = (guint64) (real_time / G_USEC_PER_SEC) + G_GUINT64_CONSTANT (2208988800);
  guint64 fraction = ((guint64) (real_time % G_USEC_PER_SEC) << 32) / G_USEC_PER_SEC;

  return (seconds << 32) | fraction;
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
