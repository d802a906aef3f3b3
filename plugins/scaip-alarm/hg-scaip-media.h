/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgScaipMedia: the media of one voice call: SDP offer and answer (GstSDPMessage, no
 * hand-written parser) and the GStreamer pipeline that carries the audio over RTP
 * (rtpbin; PCMU, PCMA or Opus; SRTP with SDES keys when the peer offers them). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define HG_SCAIP_MEDIA_ERROR (hg_scaip_media_error_quark ())
GQuark hg_scaip_media_error_quark (void);

typedef enum
{
  HG_SCAIP_MEDIA_ERROR_FAILED = 1,   /* a socket or the pipeline could not be set up */
  HG_SCAIP_MEDIA_ERROR_BAD_SDP = 2,  /* the peer's SDP does not parse or has no audio */
  HG_SCAIP_MEDIA_ERROR_NO_CODEC = 3, /* no codec or crypto suite in common */
} HgScaipMediaError;

/* How SRTP is negotiated (PROTOCOL.md §9). */
typedef enum
{
  HG_SCAIP_SRTP_OFF,      /* plain RTP only; an RTP/SAVP offer is refused */
  HG_SCAIP_SRTP_OPTIONAL, /* answer SDES when offered; offer plain RTP */
  HG_SCAIP_SRTP_REQUIRED, /* offer and accept RTP/SAVP with SDES only */
} HgScaipSrtp;

#define HG_TYPE_SCAIP_MEDIA (hg_scaip_media_get_type ())
G_DECLARE_FINAL_TYPE (HgScaipMedia, hg_scaip_media, HG, SCAIP_MEDIA, GObject)

gboolean hg_scaip_media_check_codecs (const gchar *codecs, GError **error);
gboolean hg_scaip_media_check_element (const gchar *description, GError **error);
gchar *hg_scaip_media_local_address_for (const gchar *remote_host);
HgScaipMedia *hg_scaip_media_new (const gchar *local_address,
                                  const gchar *bind_address,
                                  const gchar *codecs,
                                  HgScaipSrtp srtp,
                                  const gchar *source,
                                  const gchar *sink,
                                  GError **error);
gchar *hg_scaip_media_create_offer (HgScaipMedia *self);
gchar *hg_scaip_media_create_answer (HgScaipMedia *self, const gchar *offer, GError **error);
gboolean hg_scaip_media_set_answer (HgScaipMedia *self, const gchar *answer, GError **error);
gboolean hg_scaip_media_start (HgScaipMedia *self, GError **error);
void hg_scaip_media_stop (HgScaipMedia *self);
void hg_scaip_media_set_audio_control (HgScaipMedia *self,
                                       gboolean microphone_muted,
                                       gboolean speaker_muted);
gdouble hg_scaip_media_change_speaker_volume (HgScaipMedia *self, gdouble step);
gboolean hg_scaip_media_get_dtmf (HgScaipMedia *self);
const gchar *hg_scaip_media_get_codec (HgScaipMedia *self);
gboolean hg_scaip_media_get_srtp (HgScaipMedia *self);
gdouble hg_scaip_media_get_peak_db (HgScaipMedia *self);
guint64 hg_scaip_media_get_received_buffers (HgScaipMedia *self);

G_END_DECLS
