/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgScaipMedia: one voice call's media. SDP is built and read with GstSDPMessage; the
 * audio runs in one GStreamer pipeline on one UDP socket (symmetric RTP, no RTCP):
 *
 *   source ! audioconvert ! audioresample ! encoder ! payloader ! rtpbin ! [srtpenc] ! udpsink
 *   udpsrc ! [srtpdec] ! rtpbin ! depayloader ! decoder ! level ! sink
 *
 * The level element measures what the peer sends; its loudest RMS is kept and the first
 * non-silent one is signalled, so the plugin can log (and tests check) that audio flows.
 * Codec and crypto choices are in the tables below and nowhere else (PROTOCOL.md §9). */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <gst/gst.h>
#include <gst/sdp/sdp.h>

#include "hg-scaip-media.h"

G_DEFINE_QUARK (hg - scaip - media - error - quark, hg_scaip_media_error)

/* Below this RMS (dB full scale) the received audio counts as silence. */
#define SILENCE_DB (-60.0)
/* The one SDES crypto suite spoken: RFC 4568's default, srtpenc's default. */
#define CRYPTO_SUITE "AES_CM_128_HMAC_SHA1_80"
#define SRTP_KEY_LENGTH 30 /* 16 bytes of key, 14 of salt */
/* The payload type we offer Opus on. */
#define OPUS_PT 111
/* The payload type we offer RFC 4733 telephone events (DTMF) on, with 8 kHz codecs. */
#define DTMF_PT 101
#define DTMF_RTPMAP "telephone-event/8000"
/* SS 91100 §7's digits as RFC 4733 event numbers 0-11 */
static const gchar dtmf_digits[] = "0123456789*#";

typedef struct
{
  const gchar *name;     /* in the codecs key */
  const gchar *encoding; /* in a=rtpmap and RTP caps */
  guint static_pt;       /* G_MAXUINT: dynamic */
  guint clock_rate;
  const gchar *rtpmap; /* ours */
  const gchar *encoder;
  const gchar *payloader;
  const gchar *depayloader;
  const gchar *decoder;
} Codec;

static const Codec codecs[] = {
  /* 20 ms packets (a=ptime:20), whatever size the source's buffers are */
  { "PCMU", "PCMU", 0, 8000, "PCMU/8000", "mulawenc", "rtppcmupay max-ptime=20000000",
    "rtppcmudepay", "mulawdec" },
  { "PCMA", "PCMA", 8, 8000, "PCMA/8000", "alawenc", "rtppcmapay max-ptime=20000000",
    "rtppcmadepay", "alawdec" },
  { "opus", "OPUS", G_MAXUINT, 48000, "opus/48000/2", "opusenc", "rtpopuspay", "rtpopusdepay",
    "opusdec" },
};

struct _HgScaipMedia
{
  GObject parent_instance;

  gchar *local_address; /* (owned) (nullable) until known */
  GSocket *socket;      /* (owned) RTP, sent and received */
  guint local_port;
  GPtrArray *codecs; /* (owned) (element-type Codec) (unowned elements) preference order */
  HgScaipSrtp srtp;
  gchar *source; /* (owned) */
  gchar *sink;   /* (owned) */
  guint64 session_id;

  /* negotiated */
  const Codec *codec;
  guint pt;
  gchar *remote_host; /* (owned) */
  guint remote_port;
  gboolean use_srtp;
  guint dtmf_pt; /* RFC 4733 events, G_MAXUINT: not negotiated */
  guint crypto_tag;
  guint8 local_key[SRTP_KEY_LENGTH];
  guint8 remote_key[SRTP_KEY_LENGTH];

  GstElement *pipeline; /* (owned) (nullable) while running */
  guint bus_watch;
  gdouble peak_db;
  gint received; /* atomic: RTP packets read from the socket */
  gboolean audio_signalled;
  GstElement *microphone; /* (owned) (nullable) the volume element we send through */
  GstElement *speaker;    /* (owned) (nullable) the volume element we play through */
  gboolean microphone_muted;
  gboolean speaker_muted;
  gdouble speaker_volume; /* 0.0-1.0 */
};

G_DEFINE_TYPE (HgScaipMedia, hg_scaip_media, G_TYPE_OBJECT)

enum
{
  SIGNAL_AUDIO_RECEIVED,
  SIGNAL_DTMF,
  SIGNAL_FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
ensure_gst (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      gst_init (NULL, NULL);
      g_once_init_leave (&initialized, 1);
    }
}

static const Codec *
find_codec (const gchar *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (codecs); i++)
    {
      if (g_ascii_strcasecmp (codecs[i].name, name) == 0)
        return &codecs[i];
    }
  return NULL;
}

static GPtrArray *
parse_codecs (const gchar *list, GError **error)
{
  g_auto(GStrv) names = g_strsplit_set (list, " ,\t", -1);
  g_autoptr(GPtrArray) out = g_ptr_array_new ();

  for (guint i = 0; names[i] != NULL; i++)
    {
      const Codec *codec;

      if (names[i][0] == '\0')
        continue;
      codec = find_codec (names[i]);
      if (codec == NULL)
        {
          g_set_error (error, HG_SCAIP_MEDIA_ERROR, HG_SCAIP_MEDIA_ERROR_NO_CODEC,
                       "'%s' is not one of PCMU, PCMA, opus", names[i]);
          return NULL;
        }
      if (!g_ptr_array_find (out, codec, NULL))
        g_ptr_array_add (out, (gpointer)codec);
    }
  if (out->len == 0)
    {
      g_set_error_literal (error, HG_SCAIP_MEDIA_ERROR, HG_SCAIP_MEDIA_ERROR_NO_CODEC,
                           "no codec named");
      return NULL;
    }
  return g_steal_pointer (&out);
}

/**
 * hg_scaip_media_check_codecs:
 * @codecs: a list such as "PCMU PCMA opus"
 * @error: return location for a #GError
 *
 * Returns: %TRUE if every name is a codec this file knows
 */
gboolean
hg_scaip_media_check_codecs (const gchar *codecs_list, GError **error)
{
  g_autoptr(GPtrArray) parsed = parse_codecs (codecs_list, error);

  return parsed != NULL;
}

/**
 * hg_scaip_media_check_element:
 * @description: a gst-launch description of a source or sink, e.g. "autoaudiosrc"
 * @error: return location for a #GError
 *
 * Returns: %TRUE if GStreamer can build it (its plugins are installed)
 */
gboolean
hg_scaip_media_check_element (const gchar *description, GError **error)
{
  g_autoptr(GstElement) bin = NULL;

  ensure_gst ();
  bin = gst_parse_bin_from_description (description, TRUE, error);
  if (bin == NULL)
    return FALSE;
  gst_object_ref_sink (bin);
  return TRUE;
}

/**
 * hg_scaip_media_local_address_for:
 * @remote_host: a numeric IPv4 or IPv6 address
 *
 * Asks the kernel which local address routes to @remote_host (a UDP connect sends
 * nothing). Returns: (nullable): the address, or %NULL when @remote_host is not numeric
 * or has no route
 */
gchar *
hg_scaip_media_local_address_for (const gchar *remote_host)
{
  g_autoptr(GInetAddress) remote = g_inet_address_new_from_string (remote_host);
  g_autoptr(GSocket) probe = NULL;
  g_autoptr(GSocketAddress) to = NULL;
  g_autoptr(GSocketAddress) local = NULL;

  if (remote == NULL)
    return NULL;
  probe = g_socket_new (g_inet_address_get_family (remote), G_SOCKET_TYPE_DATAGRAM,
                        G_SOCKET_PROTOCOL_UDP, NULL);
  if (probe == NULL)
    return NULL;
  to = g_inet_socket_address_new (remote, 9);
  if (!g_socket_connect (probe, to, NULL, NULL))
    return NULL;
  local = g_socket_get_local_address (probe, NULL);
  if (local == NULL)
    return NULL;
  return g_inet_address_to_string (
      g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local)));
}

/* SDP */

static gboolean
is_ipv6 (const gchar *address)
{
  return strchr (address, ':') != NULL;
}

/* A fresh SRTP master key and salt from the kernel's CSPRNG (GLib's g_random is not
 * one); NULL in the unlikely case it fails (the caller reports it). */
static gchar *
new_key_base64 (guint8 key[SRTP_KEY_LENGTH])
{
  gssize n;

  do
    n = getrandom (key, SRTP_KEY_LENGTH, 0);
  while (n < 0 && errno == EINTR);
  if (n != SRTP_KEY_LENGTH)
    return NULL;
  return g_base64_encode (key, SRTP_KEY_LENGTH);
}

/* Reads "TAG AES_CM_128_HMAC_SHA1_80 inline:KEY[|...]"; FALSE for another suite. */
static gboolean
parse_crypto (const gchar *value, guint *tag, guint8 key[SRTP_KEY_LENGTH])
{
  g_auto(GStrv) words = g_strsplit (value, " ", 4);
  g_autofree guchar *decoded = NULL;
  g_autofree gchar *b64 = NULL;
  gsize length = 0;
  guint64 number = 0;

  if (g_strv_length (words) < 3 || g_strcmp0 (words[1], CRYPTO_SUITE) != 0
      || !g_str_has_prefix (words[2], "inline:")
      || !g_ascii_string_to_unsigned (words[0], 10, 0, 999999999, &number, NULL))
    return FALSE;
  b64 = g_strndup (words[2] + strlen ("inline:"), strcspn (words[2] + strlen ("inline:"), "|"));
  decoded = g_base64_decode (b64, &length);
  if (length != SRTP_KEY_LENGTH)
    return FALSE;
  memcpy (key, decoded, SRTP_KEY_LENGTH);
  *tag = (guint)number;
  return TRUE;
}

static const gchar *
connection_address (const GstSDPMessage *sdp, const GstSDPMedia *media)
{
  if (gst_sdp_media_connections_len (media) > 0)
    return gst_sdp_media_get_connection (media, 0)->address;
  if (gst_sdp_message_get_connection (sdp) != NULL)
    return gst_sdp_message_get_connection (sdp)->address;
  return NULL;
}

/* The codec @media names for payload type @fmt, if it is one of @allowed. */
static const Codec *
codec_for_format (const GstSDPMedia *media, const gchar *fmt, GPtrArray *allowed)
{
  guint64 pt = 0;

  if (!g_ascii_string_to_unsigned (fmt, 10, 0, 127, &pt, NULL))
    return NULL;
  for (guint i = 0; i < allowed->len; i++)
    {
      const Codec *codec = g_ptr_array_index (allowed, i);
      g_autofree gchar *prefix = g_strdup_printf ("%u ", (guint)pt);

      if (codec->static_pt == pt)
        return codec;
      for (guint a = 0; a < gst_sdp_media_attributes_len (media); a++)
        {
          const GstSDPAttribute *attr = gst_sdp_media_get_attribute (media, a);
          gsize name_len = strlen (codec->encoding);

          if (g_strcmp0 (attr->key, "rtpmap") == 0 && attr->value != NULL
              && g_str_has_prefix (attr->value, prefix)
              && g_ascii_strncasecmp (attr->value + strlen (prefix), codec->encoding, name_len) == 0
              && attr->value[strlen (prefix) + name_len] == '/')
            return codec;
        }
    }
  return NULL;
}

/* The payload type @media names telephone-event/8000 on, or G_MAXUINT. */
static guint
dtmf_format (const GstSDPMedia *media)
{
  for (guint a = 0; a < gst_sdp_media_attributes_len (media); a++)
    {
      const GstSDPAttribute *attr = gst_sdp_media_get_attribute (media, a);
      const gchar *space = attr->value != NULL ? strchr (attr->value, ' ') : NULL;
      guint64 pt = 0;
      g_autofree gchar *number = NULL;

      if (g_strcmp0 (attr->key, "rtpmap") != 0 || space == NULL
          || g_ascii_strcasecmp (space + 1, DTMF_RTPMAP) != 0)
        continue;
      number = g_strndup (attr->value, (gsize) (space - attr->value));
      if (g_ascii_string_to_unsigned (number, 10, 96, 127, &pt, NULL))
        return (guint)pt;
    }
  return G_MAXUINT;
}

static const GstSDPMedia *
first_audio (const GstSDPMessage *sdp)
{
  for (guint i = 0; i < gst_sdp_message_medias_len (sdp); i++)
    {
      const GstSDPMedia *media = gst_sdp_message_get_media (sdp, i);
      if (g_strcmp0 (gst_sdp_media_get_media (media), "audio") == 0
          && gst_sdp_media_get_port (media) != 0)
        return media;
    }
  return NULL;
}

static GstSDPMessage *
parse_sdp (const gchar *text, GError **error)
{
  GstSDPMessage *sdp = NULL;

  gst_sdp_message_new (&sdp);
  if (text == NULL
      || gst_sdp_message_parse_buffer ((const guint8 *)text, (guint)strlen (text), sdp)
             != GST_SDP_OK
      || gst_sdp_message_get_version (sdp) == NULL)
    {
      gst_sdp_message_free (sdp);
      g_set_error_literal (error, HG_SCAIP_MEDIA_ERROR, HG_SCAIP_MEDIA_ERROR_BAD_SDP,
                           "the SDP does not parse");
      return NULL;
    }
  return sdp;
}

/* A session with our address and one audio stream; the caller adds formats. */
static GstSDPMedia *
new_session (HgScaipMedia *self, GstSDPMessage **out)
{
  GstSDPMessage *sdp = NULL;
  GstSDPMedia *media = NULL;
  const gchar *family = is_ipv6 (self->local_address) ? "IP6" : "IP4";
  g_autofree gchar *id = g_strdup_printf ("%" G_GUINT64_FORMAT, self->session_id);

  gst_sdp_message_new (&sdp);
  gst_sdp_message_set_version (sdp, "0");
  gst_sdp_message_set_origin (sdp, "-", id, "1", "IN", family, self->local_address);
  gst_sdp_message_set_session_name (sdp, "hemgate");
  gst_sdp_message_set_connection (sdp, "IN", family, self->local_address, 0, 0);
  gst_sdp_message_add_time (sdp, "0", "0", NULL);
  gst_sdp_media_new (&media);
  gst_sdp_media_set_media (media, "audio");
  gst_sdp_media_set_port_info (media, self->local_port, 1);
  gst_sdp_media_set_proto (media, self->use_srtp ? "RTP/SAVP" : "RTP/AVP");
  *out = sdp;
  return media;
}

static void
add_format (GstSDPMedia *media, const Codec *codec, guint pt)
{
  g_autofree gchar *fmt = g_strdup_printf ("%u", pt);
  g_autofree gchar *rtpmap = g_strdup_printf ("%u %s", pt, codec->rtpmap);

  gst_sdp_media_add_format (media, fmt);
  gst_sdp_media_add_attribute (media, "rtpmap", rtpmap);
}

/* RFC 4733 events 0-15 (the digits, * and #) on @pt. */
static void
add_dtmf_format (GstSDPMedia *media, guint pt)
{
  g_autofree gchar *fmt = g_strdup_printf ("%u", pt);
  g_autofree gchar *rtpmap = g_strdup_printf ("%u " DTMF_RTPMAP, pt);
  g_autofree gchar *fmtp = g_strdup_printf ("%u 0-15", pt);

  gst_sdp_media_add_format (media, fmt);
  gst_sdp_media_add_attribute (media, "rtpmap", rtpmap);
  gst_sdp_media_add_attribute (media, "fmtp", fmtp);
}

static gchar *
finish_session (HgScaipMedia *self, GstSDPMessage *sdp, GstSDPMedia *media)
{
  gchar *text;

  if (self->use_srtp)
    {
      g_autofree gchar *key = new_key_base64 (self->local_key);
      g_autofree gchar *crypto = NULL;

      if (key == NULL)
        {
          gst_sdp_media_free (media);
          gst_sdp_message_free (sdp);
          return NULL;
        }
      crypto = g_strdup_printf ("%u " CRYPTO_SUITE " inline:%s", self->crypto_tag, key);
      gst_sdp_media_add_attribute (media, "crypto", crypto);
    }
  gst_sdp_media_add_attribute (media, "ptime", "20");
  gst_sdp_media_add_attribute (media, "sendrecv", NULL);
  gst_sdp_message_add_media (sdp, media);
  gst_sdp_media_free (media);
  text = gst_sdp_message_as_text (sdp);
  gst_sdp_message_free (sdp);
  return text;
}

/**
 * hg_scaip_media_create_offer:
 * @self: an #HgScaipMedia
 *
 * Returns: (transfer full) (nullable): an SDP offer of every configured codec, RTP/SAVP
 *   with a fresh SDES key when SRTP is required; %NULL if no key could be made
 */
gchar *
hg_scaip_media_create_offer (HgScaipMedia *self)
{
  GstSDPMessage *sdp = NULL;
  GstSDPMedia *media;

  g_return_val_if_fail (HG_IS_SCAIP_MEDIA (self), NULL);

  if (self->local_address == NULL)
    self->local_address = g_strdup ("127.0.0.1");
  self->use_srtp = self->srtp == HG_SCAIP_SRTP_REQUIRED;
  self->crypto_tag = 1;
  media = new_session (self, &sdp);
  for (guint i = 0; i < self->codecs->len; i++)
    {
      const Codec *codec = g_ptr_array_index (self->codecs, i);
      add_format (media, codec, codec->static_pt != G_MAXUINT ? codec->static_pt : OPUS_PT);
    }
  /* the ARC's audio control (SS 91100 §7) goes with G.711; the answer may drop it */
  self->dtmf_pt = DTMF_PT;
  add_dtmf_format (media, DTMF_PT);
  return finish_session (self, sdp, media);
}

/* Reads the peer's address, port and (for RTP/SAVP) key from @media. */
static gboolean
take_remote (HgScaipMedia *self,
             const GstSDPMessage *sdp,
             const GstSDPMedia *media,
             gboolean answer,
             GError **error)
{
  const gchar *address = connection_address (sdp, media);
  const gchar *proto = gst_sdp_media_get_proto (media);
  gboolean savp = g_strcmp0 (proto, "RTP/SAVP") == 0;

  if (address == NULL)
    {
      g_set_error_literal (error, HG_SCAIP_MEDIA_ERROR, HG_SCAIP_MEDIA_ERROR_BAD_SDP,
                           "the SDP has no connection address");
      return FALSE;
    }
  if (!savp && g_strcmp0 (proto, "RTP/AVP") != 0)
    {
      g_set_error (error, HG_SCAIP_MEDIA_ERROR, HG_SCAIP_MEDIA_ERROR_NO_CODEC,
                   "media profile %s is not RTP/AVP or RTP/SAVP", proto != NULL ? proto : "");
      return FALSE;
    }
  if (savp && self->srtp == HG_SCAIP_SRTP_OFF)
    {
      g_set_error_literal (error, HG_SCAIP_MEDIA_ERROR, HG_SCAIP_MEDIA_ERROR_NO_CODEC,
                           "the peer asks for SRTP and srtp = off");
      return FALSE;
    }
  if (!savp && self->srtp == HG_SCAIP_SRTP_REQUIRED)
    {
      g_set_error_literal (error, HG_SCAIP_MEDIA_ERROR, HG_SCAIP_MEDIA_ERROR_NO_CODEC,
                           "the peer offers plain RTP and srtp = required");
      return FALSE;
    }
  if (savp)
    {
      gboolean found = FALSE;

      for (guint a = 0; a < gst_sdp_media_attributes_len (media) && !found; a++)
        {
          const GstSDPAttribute *attr = gst_sdp_media_get_attribute (media, a);
          guint tag = 0;

          if (g_strcmp0 (attr->key, "crypto") == 0 && attr->value != NULL
              && parse_crypto (attr->value, &tag, self->remote_key)
              && (!answer || tag == self->crypto_tag))
            {
              self->crypto_tag = tag;
              found = TRUE;
            }
        }
      if (!found)
        {
          g_set_error_literal (error, HG_SCAIP_MEDIA_ERROR, HG_SCAIP_MEDIA_ERROR_NO_CODEC,
                               "no a=crypto with " CRYPTO_SUITE " and an inline key");
          return FALSE;
        }
    }
  self->use_srtp = savp;
  g_free (self->remote_host);
  self->remote_host = g_strdup (address);
  self->remote_port = gst_sdp_media_get_port (media);
  return TRUE;
}

/**
 * hg_scaip_media_create_answer:
 * @self: an #HgScaipMedia
 * @offer: the peer's SDP offer
 * @error: return location for a #GError
 *
 * Picks the first audio stream of @offer and in it the first codec (in the peer's order)
 * that is configured here; takes the peer's SDES key and makes one of our own when the
 * stream is RTP/SAVP.
 *
 * Returns: (transfer full) (nullable): the SDP answer
 */
gchar *
hg_scaip_media_create_answer (HgScaipMedia *self, const gchar *offer, GError **error)
{
  GstSDPMessage *sdp = NULL;
  GstSDPMessage *answer = NULL;
  const GstSDPMedia *theirs;
  GstSDPMedia *ours;
  const Codec *codec = NULL;
  guint pt = 0;
  gchar *text;

  g_return_val_if_fail (HG_IS_SCAIP_MEDIA (self), NULL);

  sdp = parse_sdp (offer, error);
  if (sdp == NULL)
    return NULL;
  theirs = first_audio (sdp);
  if (theirs == NULL)
    {
      gst_sdp_message_free (sdp);
      g_set_error_literal (error, HG_SCAIP_MEDIA_ERROR, HG_SCAIP_MEDIA_ERROR_BAD_SDP,
                           "the offer has no audio stream");
      return NULL;
    }
  for (guint i = 0; i < gst_sdp_media_formats_len (theirs) && codec == NULL; i++)
    {
      codec = codec_for_format (theirs, gst_sdp_media_get_format (theirs, i), self->codecs);
      if (codec != NULL)
        pt = (guint)g_ascii_strtoull (gst_sdp_media_get_format (theirs, i), NULL, 10);
    }
  if (codec == NULL)
    {
      gst_sdp_message_free (sdp);
      g_set_error_literal (error, HG_SCAIP_MEDIA_ERROR, HG_SCAIP_MEDIA_ERROR_NO_CODEC,
                           "no offered codec is configured");
      return NULL;
    }
  if (!take_remote (self, sdp, theirs, FALSE, error))
    {
      gst_sdp_message_free (sdp);
      return NULL;
    }
  /* RFC 4733 at 8 kHz only goes with an 8 kHz codec */
  self->dtmf_pt = codec->clock_rate == 8000 ? dtmf_format (theirs) : G_MAXUINT;
  gst_sdp_message_free (sdp);
  self->codec = codec;
  self->pt = pt;
  if (self->local_address == NULL)
    self->local_address = hg_scaip_media_local_address_for (self->remote_host);
  if (self->local_address == NULL)
    self->local_address = g_strdup ("127.0.0.1");
  ours = new_session (self, &answer);
  add_format (ours, codec, pt);
  if (self->dtmf_pt != G_MAXUINT)
    add_dtmf_format (ours, self->dtmf_pt);
  text = finish_session (self, answer, ours);
  if (text == NULL)
    g_set_error_literal (error, HG_SCAIP_MEDIA_ERROR, HG_SCAIP_MEDIA_ERROR_FAILED,
                         "no SRTP key could be made");
  return text;
}

/**
 * hg_scaip_media_set_answer:
 * @self: an #HgScaipMedia that made an offer
 * @answer: the peer's SDP answer
 * @error: return location for a #GError
 *
 * Returns: %TRUE when the answer picked one of the offered codecs
 */
gboolean
hg_scaip_media_set_answer (HgScaipMedia *self, const gchar *answer, GError **error)
{
  GstSDPMessage *sdp;
  const GstSDPMedia *media;
  gboolean ok;

  g_return_val_if_fail (HG_IS_SCAIP_MEDIA (self), FALSE);

  sdp = parse_sdp (answer, error);
  if (sdp == NULL)
    return FALSE;
  media = first_audio (sdp);
  if (media == NULL || gst_sdp_media_formats_len (media) == 0)
    {
      gst_sdp_message_free (sdp);
      g_set_error_literal (error, HG_SCAIP_MEDIA_ERROR, HG_SCAIP_MEDIA_ERROR_BAD_SDP,
                           "the answer has no audio stream");
      return FALSE;
    }
  self->codec = codec_for_format (media, gst_sdp_media_get_format (media, 0), self->codecs);
  self->pt = (guint)g_ascii_strtoull (gst_sdp_media_get_format (media, 0), NULL, 10);
  if (self->codec == NULL)
    {
      gst_sdp_message_free (sdp);
      g_set_error_literal (error, HG_SCAIP_MEDIA_ERROR, HG_SCAIP_MEDIA_ERROR_NO_CODEC,
                           "the answer picked a codec that was not offered");
      return FALSE;
    }
  self->dtmf_pt = self->codec->clock_rate == 8000 ? dtmf_format (media) : G_MAXUINT;
  ok = take_remote (self, sdp, media, TRUE, error);
  gst_sdp_message_free (sdp);
  return ok;
}

/* the pipeline */

static GstCaps *
request_key_cb (GstElement *srtpdec, guint ssrc, HgScaipMedia *self)
{
  g_autoptr(GstBuffer) key = gst_buffer_new_memdup (self->remote_key, SRTP_KEY_LENGTH);

  return gst_caps_new_simple ("application/x-srtp", "srtp-key", GST_TYPE_BUFFER, key, "srtp-cipher",
                              G_TYPE_STRING, "aes-128-icm", "srtp-auth", G_TYPE_STRING,
                              "hmac-sha1-80", "srtcp-cipher", G_TYPE_STRING, "aes-128-icm",
                              "srtcp-auth", G_TYPE_STRING, "hmac-sha1-80", NULL);
}

static GstPadProbeReturn
count_packet_cb (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  HgScaipMedia *self = user_data;

  g_atomic_int_inc (&self->received);
  return GST_PAD_PROBE_OK;
}

/* The caps of the payload types we negotiated, for rtpbin's demultiplexer. */
static GstCaps *
request_pt_map_cb (GstElement *rtpbin, guint session, guint pt, HgScaipMedia *self)
{
  if (pt == self->pt)
    return gst_caps_new_simple ("application/x-rtp", "media", G_TYPE_STRING, "audio",
                                "clock-rate", G_TYPE_INT, (gint) self->codec->clock_rate,
                                "encoding-name", G_TYPE_STRING, self->codec->encoding, "payload",
                                G_TYPE_INT, (gint) pt, NULL);
  if (pt == self->dtmf_pt)
    return gst_caps_new_simple ("application/x-rtp", "media", G_TYPE_STRING, "audio",
                                "clock-rate", G_TYPE_INT, 8000, "encoding-name", G_TYPE_STRING,
                                "TELEPHONE-EVENT", "payload", G_TYPE_INT, (gint) pt, NULL);
  return NULL;
}

static void
apply_audio_control (HgScaipMedia *self)
{
  if (self->microphone != NULL)
    g_object_set (self->microphone, "mute", self->microphone_muted, NULL);
  if (self->speaker != NULL)
    g_object_set (self->speaker, "mute", self->speaker_muted, "volume", self->speaker_volume,
                  NULL);
}

static void
rtpbin_pad_added_cb (GstElement *rtpbin, GstPad *pad, HgScaipMedia *self)
{
  g_autofree gchar *name = gst_pad_get_name (pad);
  g_autofree gchar *description = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GstPad) sinkpad = NULL;
  const gchar *pt = strrchr (name, '_');
  GstElement *speaker;
  GstElement *bin;

  if (!g_str_has_prefix (name, "recv_rtp_src_") || pt == NULL)
    return;
  /* recv_rtp_src_SESSION_SSRC_PT: the ARC's DTMF events come on a pad of their own */
  if (self->dtmf_pt != G_MAXUINT && g_ascii_strtoull (pt + 1, NULL, 10) == self->dtmf_pt)
    description = g_strdup ("rtpdtmfdepay ! fakesink sync=false async=false");
  else
    description
        = g_strdup_printf ("%s ! %s ! audioconvert ! level name=rxlevel post-messages=true "
                           "interval=100000000 ! volume name=speaker ! audioconvert ! "
                           "audioresample ! %s",
                           self->codec->depayloader, self->codec->decoder, self->sink);
  bin = gst_parse_bin_from_description (description, TRUE, &error);
  if (bin == NULL)
    {
      g_signal_emit (self, signals[SIGNAL_FAILED], 0, error->message);
      return;
    }
  gst_bin_add (GST_BIN (self->pipeline), bin);
  /* a new stream (the peer changed its SSRC) is the one heard from now on */
  speaker = gst_bin_get_by_name (GST_BIN (bin), "speaker");
  if (speaker != NULL)
    {
      g_clear_object (&self->speaker);
      self->speaker = speaker;
      apply_audio_control (self);
    }
  sinkpad = gst_element_get_static_pad (bin, "sink");
  if (gst_pad_link (pad, sinkpad) != GST_PAD_LINK_OK)
    {
      g_signal_emit (self, signals[SIGNAL_FAILED], 0, "cannot link the received stream");
      return;
    }
  gst_element_sync_state_with_parent (bin);
}

G_GNUC_BEGIN_IGNORE_DEPRECATIONS
static void
take_level (HgScaipMedia *self, const GstStructure *s)
{
  const GValue *value = gst_structure_get_value (s, "rms");
  GValueArray *rms = value != NULL ? g_value_get_boxed (value) : NULL;

  for (guint i = 0; rms != NULL && i < rms->n_values; i++)
    {
      gdouble db = g_value_get_double (g_value_array_get_nth (rms, i));

      if (db > self->peak_db)
        self->peak_db = db;
      if (db > SILENCE_DB && !self->audio_signalled)
        {
          self->audio_signalled = TRUE;
          g_signal_emit (self, signals[SIGNAL_AUDIO_RECEIVED], 0, db);
        }
    }
}
G_GNUC_END_IGNORE_DEPRECATIONS

static gboolean
bus_cb (GstBus *bus, GstMessage *message, gpointer user_data)
{
  HgScaipMedia *self = user_data;

  switch (GST_MESSAGE_TYPE (message))
    {
    case GST_MESSAGE_ERROR:
      {
        g_autoptr(GError) error = NULL;
        g_autofree gchar *debug = NULL;
        g_autofree gchar *what = NULL;

        gst_message_parse_error (message, &error, &debug);
        what = g_strdup_printf ("%s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC (message)),
                                error->message);
        g_debug ("media error: %s (%s)", what, debug != NULL ? debug : "");
        g_signal_emit (self, signals[SIGNAL_FAILED], 0, what);
        break;
      }
    case GST_MESSAGE_ELEMENT:
      {
        const GstStructure *s = gst_message_get_structure (message);

        gint number = -1;

        if (s != NULL && gst_structure_has_name (s, "level"))
          take_level (self, s);
        /* rtpdtmfdepay: once at the start of each RFC 4733 event */
        else if (s != NULL && gst_structure_has_name (s, "dtmf-event")
                 && gst_structure_get_int (s, "number", &number) && number >= 0
                 && number < (gint) strlen (dtmf_digits))
          g_signal_emit (self, signals[SIGNAL_DTMF], 0, (gint) dtmf_digits[number]);
        break;
      }
    default:
      break;
    }
  return G_SOURCE_CONTINUE;
}

/**
 * hg_scaip_media_start:
 * @self: an #HgScaipMedia whose offer was answered
 * @error: return location for a #GError
 *
 * Starts sending the source's audio to the peer and playing what it sends.
 */
gboolean
hg_scaip_media_start (HgScaipMedia *self, GError **error)
{
  g_autofree gchar *description = NULL;
  g_autofree gchar *caps = NULL;
  g_autoptr(GstElement) pipeline = NULL;
  g_autoptr(GstElement) udpsrc = NULL;
  g_autoptr(GstElement) udpsink = NULL;
  g_autoptr(GstElement) rtpbin = NULL;
  g_autoptr(GstPad) srcpad = NULL;
  g_autoptr(GstBus) bus = NULL;

  g_return_val_if_fail (HG_IS_SCAIP_MEDIA (self), FALSE);
  g_return_val_if_fail (self->codec != NULL, FALSE);

  if (self->pipeline != NULL)
    return TRUE;
  caps = g_strdup_printf ("application/%s,media=audio,clock-rate=%u,encoding-name=%s,payload=%u",
                          self->use_srtp ? "x-srtp" : "x-rtp", self->codec->clock_rate,
                          self->codec->encoding, self->pt);
  description = g_strdup_printf (
      "rtpbin name=rtpbin latency=100 "
      "%s ! audioconvert ! volume name=microphone ! audioresample ! audio/x-raw,rate=%u,channels=1 "
      "! %s ! %s pt=%u "
      "! rtpbin.send_rtp_sink_0 "
      "rtpbin.send_rtp_src_0 ! %s udpsink name=rtpsink host=%s port=%u sync=false async=false "
      "close-socket=false "
      "udpsrc name=rtpsrc close-socket=false caps=\"%s\" ! %s rtpbin.recv_rtp_sink_0",
      self->source, self->codec->clock_rate, self->codec->encoder, self->codec->payloader, self->pt,
      self->use_srtp ? "srtpenc name=srtpenc !" : "", self->remote_host, self->remote_port, caps,
      self->use_srtp ? "srtpdec name=srtpdec !" : "");
  g_debug ("media pipeline: %s", description);
  pipeline = gst_parse_launch_full (description, NULL, GST_PARSE_FLAG_FATAL_ERRORS, error);
  if (pipeline == NULL)
    return FALSE;
  gst_object_ref_sink (pipeline);
  udpsrc = gst_bin_get_by_name (GST_BIN (pipeline), "rtpsrc");
  udpsink = gst_bin_get_by_name (GST_BIN (pipeline), "rtpsink");
  rtpbin = gst_bin_get_by_name (GST_BIN (pipeline), "rtpbin");
  self->microphone = gst_bin_get_by_name (GST_BIN (pipeline), "microphone");
  apply_audio_control (self);
  g_object_set (udpsrc, "socket", self->socket, NULL);
  g_object_set (udpsink, "socket", self->socket, NULL);
  if (self->use_srtp)
    {
      g_autoptr(GstElement) srtpenc = gst_bin_get_by_name (GST_BIN (pipeline), "srtpenc");
      g_autoptr(GstElement) srtpdec = gst_bin_get_by_name (GST_BIN (pipeline), "srtpdec");
      g_autoptr(GstBuffer) key = gst_buffer_new_memdup (self->local_key, SRTP_KEY_LENGTH);

      g_object_set (srtpenc, "key", key, NULL);
      g_signal_connect (srtpdec, "request-key", G_CALLBACK (request_key_cb), self);
    }
  srcpad = gst_element_get_static_pad (udpsrc, "src");
  gst_pad_add_probe (srcpad, GST_PAD_PROBE_TYPE_BUFFER, count_packet_cb, self, NULL);
  g_signal_connect (rtpbin, "pad-added", G_CALLBACK (rtpbin_pad_added_cb), self);
  g_signal_connect (rtpbin, "request-pt-map", G_CALLBACK (request_pt_map_cb), self);
  bus = gst_element_get_bus (pipeline);
  self->bus_watch = gst_bus_add_watch (bus, bus_cb, self);
  self->pipeline = g_steal_pointer (&pipeline);
  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      hg_scaip_media_stop (self);
      g_set_error_literal (error, HG_SCAIP_MEDIA_ERROR, HG_SCAIP_MEDIA_ERROR_FAILED,
                           "the audio pipeline does not start (check audio-source and audio-sink)");
      return FALSE;
    }
  return TRUE;
}

/* Stops the audio; the negotiated values stay readable. */
void
hg_scaip_media_stop (HgScaipMedia *self)
{
  g_return_if_fail (HG_IS_SCAIP_MEDIA (self));

  g_clear_handle_id (&self->bus_watch, g_source_remove);
  g_clear_object (&self->microphone);
  g_clear_object (&self->speaker);
  if (self->pipeline != NULL)
    {
      gst_element_set_state (self->pipeline, GST_STATE_NULL);
      g_clear_object (&self->pipeline);
    }
}

/**
 * hg_scaip_media_set_audio_control:
 * @self: an #HgScaipMedia
 * @microphone_muted: whether what the microphone picks up is replaced by silence
 * @speaker_muted: whether what the peer sends is not played
 *
 * Simplex and duplex as the ARC asks (SS 91100 §7: mre 2/3, DTMF 4/7/8), locally: the
 * RTP streams go on both ways, as TR 91102 §7.7 has it (no re-INVITE).
 */
void
hg_scaip_media_set_audio_control (HgScaipMedia *self,
                                  gboolean microphone_muted,
                                  gboolean speaker_muted)
{
  g_return_if_fail (HG_IS_SCAIP_MEDIA (self));

  self->microphone_muted = microphone_muted;
  self->speaker_muted = speaker_muted;
  apply_audio_control (self);
}

/**
 * hg_scaip_media_change_speaker_volume:
 * @self: an #HgScaipMedia
 * @step: added to the speaker's volume (1.0 is as received), which stays within 0.1-1.0
 *
 * Returns: the new volume
 */
gdouble
hg_scaip_media_change_speaker_volume (HgScaipMedia *self, gdouble step)
{
  g_return_val_if_fail (HG_IS_SCAIP_MEDIA (self), 0.0);

  self->speaker_volume = CLAMP (self->speaker_volume + step, 0.1, 1.0);
  apply_audio_control (self);
  return self->speaker_volume;
}

/* Returns: whether RFC 4733 telephone events were negotiated */
gboolean
hg_scaip_media_get_dtmf (HgScaipMedia *self)
{
  g_return_val_if_fail (HG_IS_SCAIP_MEDIA (self), FALSE);
  return self->dtmf_pt != G_MAXUINT;
}

const gchar *
hg_scaip_media_get_codec (HgScaipMedia *self)
{
  g_return_val_if_fail (HG_IS_SCAIP_MEDIA (self), NULL);
  return self->codec != NULL ? self->codec->name : NULL;
}

gboolean
hg_scaip_media_get_srtp (HgScaipMedia *self)
{
  g_return_val_if_fail (HG_IS_SCAIP_MEDIA (self), FALSE);
  return self->use_srtp;
}

/* The loudest RMS (dBFS) received so far; -G_MAXDOUBLE before any. */
gdouble
hg_scaip_media_get_peak_db (HgScaipMedia *self)
{
  g_return_val_if_fail (HG_IS_SCAIP_MEDIA (self), 0.0);
  return self->peak_db;
}

guint64
hg_scaip_media_get_received_buffers (HgScaipMedia *self)
{
  g_return_val_if_fail (HG_IS_SCAIP_MEDIA (self), 0);
  return (guint64)g_atomic_int_get (&self->received);
}

static void
hg_scaip_media_dispose (GObject *object)
{
  HgScaipMedia *self = HG_SCAIP_MEDIA (object);

  hg_scaip_media_stop (self);
  G_OBJECT_CLASS (hg_scaip_media_parent_class)->dispose (object);
}

static void
hg_scaip_media_finalize (GObject *object)
{
  HgScaipMedia *self = HG_SCAIP_MEDIA (object);

  g_clear_object (&self->socket);
  g_clear_pointer (&self->codecs, g_ptr_array_unref);
  g_free (self->local_address);
  g_free (self->remote_host);
  g_free (self->source);
  g_free (self->sink);
  memset (self->local_key, 0, sizeof self->local_key);
  memset (self->remote_key, 0, sizeof self->remote_key);
  G_OBJECT_CLASS (hg_scaip_media_parent_class)->finalize (object);
}

static void
hg_scaip_media_class_init (HgScaipMediaClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hg_scaip_media_dispose;
  object_class->finalize = hg_scaip_media_finalize;

  /**
   * HgScaipMedia::audio-received:
   * @db: the RMS level, dBFS, of the first received audio above silence
   */
  signals[SIGNAL_AUDIO_RECEIVED]
      = g_signal_new ("audio-received", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 1, G_TYPE_DOUBLE);
  /**
   * HgScaipMedia::dtmf:
   * @digit: the digit ('0'-'9', '*', '#') of an RFC 4733 event the peer sent
   */
  signals[SIGNAL_DTMF] = g_signal_new ("dtmf", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                       NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT);
  /**
   * HgScaipMedia::failed:
   * @message: what failed, for the log
   */
  signals[SIGNAL_FAILED] = g_signal_new ("failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                         NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
hg_scaip_media_init (HgScaipMedia *self)
{
  self->peak_db = -G_MAXDOUBLE;
  self->session_id = g_random_int ();
  self->dtmf_pt = G_MAXUINT;
  self->speaker_volume = 1.0;
}

/**
 * hg_scaip_media_new:
 * @local_address: (nullable): the address to put in our SDP; %NULL finds the one that
 *   routes to the peer
 * @bind_address: (nullable): the local address to bind the RTP socket to (that of the
 *   network path the call is on); %NULL for any
 * @codecs: the codecs to offer or accept, in order of preference, e.g. "PCMU PCMA opus"
 * @srtp: the SRTP policy
 * @source: a gst-launch description of the microphone, e.g. "autoaudiosrc"
 * @sink: a gst-launch description of the speaker, e.g. "autoaudiosink"
 * @error: return location for a #GError
 *
 * Opens the RTP socket (on a free port). Returns: (transfer full) (nullable)
 */
HgScaipMedia *
hg_scaip_media_new (const gchar *local_address,
                    const gchar *bind_address,
                    const gchar *codecs_list,
                    HgScaipSrtp srtp,
                    const gchar *source,
                    const gchar *sink,
                    GError **error)
{
  g_autoptr(HgScaipMedia) self = NULL;
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GSocketAddress) bind_to = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  const gchar *family_of = bind_address != NULL ? bind_address : local_address;
  GSocketFamily family = family_of != NULL && is_ipv6 (family_of) ? G_SOCKET_FAMILY_IPV6
                                                                  : G_SOCKET_FAMILY_IPV4;

  ensure_gst ();
  self = g_object_new (HG_TYPE_SCAIP_MEDIA, NULL);
  self->codecs = parse_codecs (codecs_list, error);
  if (self->codecs == NULL)
    return NULL;
  self->srtp = srtp;
  self->local_address = g_strdup (local_address);
  self->source = g_strdup (source);
  self->sink = g_strdup (sink);
  self->socket = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
  if (self->socket == NULL)
    return NULL;
  address = bind_address != NULL ? g_inet_address_new_from_string (bind_address)
                                 : g_inet_address_new_any (family);
  if (address == NULL)
    {
      g_set_error (error, HG_SCAIP_MEDIA_ERROR, HG_SCAIP_MEDIA_ERROR_FAILED,
                   "cannot bind the RTP socket to %s: not an IP address", bind_address);
      return NULL;
    }
  bind_to = g_inet_socket_address_new (address, 0);
  if (!g_socket_bind (self->socket, bind_to, FALSE, error))
    return NULL;
  bound = g_socket_get_local_address (self->socket, error);
  if (bound == NULL)
    return NULL;
  self->local_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  return g_steal_pointer (&self);
}
