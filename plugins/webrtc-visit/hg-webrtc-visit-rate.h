/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgWebrtcVisitRate: the video encoder's bitrate and picture size, following the receiver
 * reports (RTCP RR) of the far end. A pure controller: a report in, a decision out; no I/O
 * and no clock, so the same reports always give the same decisions. */
#pragma once

#include <gst/gst.h>
#include <gst/rtp/rtp.h>

G_BEGIN_DECLS

/* loss above this in one report: the link is congested, back off */
#define HG_WEBRTC_VISIT_RATE_LOSS_HIGH 0.10
/* loss below this (and no queue building up) in one report: the link holds */
#define HG_WEBRTC_VISIT_RATE_LOSS_LOW 0.02
/* round-trip time above the lowest seen in the call: a queue building up on the path */
#define HG_WEBRTC_VISIT_RATE_QUEUE_HIGH 0.25
#define HG_WEBRTC_VISIT_RATE_QUEUE_LOW 0.10
/* the multiplicative decrease and increase */
#define HG_WEBRTC_VISIT_RATE_DECREASE 0.7
#define HG_WEBRTC_VISIT_RATE_INCREASE 1.1
/* good reports in a row before the bitrate goes up */
#define HG_WEBRTC_VISIT_RATE_GOOD_REPORTS 3
/* the picture is 320×240 below SMALL_BELOW bit/s and 640×480 again from LARGE_FROM */
#define HG_WEBRTC_VISIT_RATE_SMALL_BELOW 250000
#define HG_WEBRTC_VISIT_RATE_LARGE_FROM 350000

/* One receiver report block (RFC 3550 6.4.1) about the video we send */
typedef struct
{
  guint32 report_seq;     /* the extended highest sequence number it covers: the same
                           * report taken twice has the same */
  gdouble fraction_lost;  /* 0 to 1, since the previous report */
  gdouble round_trip;     /* seconds; 0 if not known yet (no sender report answered) */
} HgWebrtcVisitRateReport;

typedef struct
{
  guint min_bitrate;   /* bit/s, the floor */
  guint max_bitrate;   /* bit/s, the ceiling and where a call starts */
  guint bitrate;       /* bit/s, the encoder's target now */
  gboolean small;      /* 320×240 rather than 640×480 */
  guint good_reports;  /* good reports in a row */
  gboolean have_report;
  guint32 last_seq;    /* of the last report taken */
  gdouble min_round_trip; /* the lowest round-trip seen, 0 if none */
} HgWebrtcVisitRate;

void hg_webrtc_visit_rate_init (HgWebrtcVisitRate *rate,
                                guint min_bitrate,
                                guint max_bitrate);
gboolean hg_webrtc_visit_rate_update (HgWebrtcVisitRate *rate,
                                      const HgWebrtcVisitRateReport *report);
gboolean hg_webrtc_visit_rate_report_from_rtcp (GstBuffer *rtcp,
                                                guint32 ssrc,
                                                guint64 ntp_now,
                                                HgWebrtcVisitRateReport *report);
guint64 hg_webrtc_visit_rate_ntp_time (gint64 real_time);
guint hg_webrtc_visit_rate_get_width (const HgWebrtcVisitRate *rate);
guint hg_webrtc_visit_rate_get_height (const HgWebrtcVisitRate *rate);

G_END_DECLS
