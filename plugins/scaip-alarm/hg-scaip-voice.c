/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgScaipVoice: the plugin's voice calls, on its HgScaipSip. The plugin hands it each
 * alarm the ARC asks voice for (hg_scaip_voice_request ()) and each alarm that ended
 * (hg_scaip_voice_forget ()); it answers or places the call, runs the call's
 * HgScaipMedia, and emits ::speech-connected when the call connects, which the plugin
 * reports to the core. One call at a time. */
#include <string.h>

#include "hg-scaip-media.h"
#include "hg-scaip-voice.h"

/* [C] SS 91100 §5 rule 6, TR 91102 §6.1 (c): the unit starts the voice call within 60 s of
 * the acknowledgement, and the ARC may stop waiting for it after that */
#define CALL_SETUP_SECONDS 60
/* The first wait before calling again after a failed attempt; it doubles each time. */
#define CALL_RETRY_SECONDS 2u

struct _HgScaipVoice
{
  GObject parent_instance;

  HgScaipSip *sip;       /* (owned) */
  HgScaipConfig *config; /* (owned) */
  HgScaipVoiceMode mode; /* the configured one, or off without the microphone */

  GHashTable *awaiting_voice; /* (owned) ref → gint64* monotonic end of its window */
  GHashTable *voice_mre;      /* (owned) ref → mre the ARC acknowledged it with (1-3) */
  guint call_id;              /* 0: no call */
  gboolean call_outgoing;     /* we placed it (voice = call, or cre 62) */
  gchar *call_ref;            /* (owned) (nullable) the alarm the call is for */
  gint64 call_since;
  HgScaipMedia *media; /* (owned) (nullable) the call's */
  /* the outgoing call being set up, tried again until it connects or CALL_SETUP_SECONDS
   * after the acknowledgement pass */
  gchar *dial_ref;      /* (owned) (nullable) the alarm it is for; NULL: none */
  guint dial_receiver;  /* the receiver that acknowledged: its path, and whom to call */
  gchar *dial_uri;      /* (owned) (nullable) where the ARC asked to be called (cre 62) */
  gint64 dial_deadline; /* monotonic */
  guint dial_attempts;
  gchar *dial_last;        /* (owned) (nullable) how the last attempt failed */
  guint dial_retry_id;     /* the next attempt */
  guint dial_deadline_id;  /* the end of the setup time */
  gboolean call_cancelled; /* the set-up time ran out while the call rang */
};

enum
{
  SIGNAL_SPEECH_CONNECTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_TYPE (HgScaipVoice, hg_scaip_voice, G_TYPE_OBJECT)

/* A log line about the call's alarm, with its reference as a field. */
#define LOG_CALL(self, level, ...)                                                                 \
  g_log_structured (G_LOG_DOMAIN, (level), "HG_ALARM_REF",                                         \
                    (self)->call_ref != NULL ? (self)->call_ref : "", "MESSAGE", __VA_ARGS__)

/* The call connected: the plugin reports the alarm's speech-connected state. */
static void
emit_speech_connected (HgScaipVoice *self)
{
  g_signal_emit (self, signals[SIGNAL_SPEECH_CONNECTED], 0, self->call_ref,
                 hg_scaip_media_get_codec (self->media), hg_scaip_media_get_srtp (self->media),
                 self->call_outgoing);
}

static void
media_audio_received_cb (HgScaipMedia *media, gdouble db, HgScaipVoice *self)
{
  LOG_CALL (self, G_LOG_LEVEL_MESSAGE, "alarm %s: receiving audio from the ARC (level %.1f dBFS)",
            self->call_ref, db);
}

static void
media_failed_cb (HgScaipMedia *media, const gchar *message, HgScaipVoice *self)
{
  LOG_CALL (self, G_LOG_LEVEL_WARNING, "alarm %s: voice call audio failed: %s; hanging up",
            self->call_ref, message);
  hg_scaip_sip_hang_up (self->sip, self->call_id);
}

static void
end_call (HgScaipVoice *self)
{
  if (self->media != NULL)
    {
      hg_scaip_media_stop (self->media);
      g_signal_handlers_disconnect_by_data (self->media, self);
    }
  g_clear_object (&self->media);
  g_clear_pointer (&self->call_ref, g_free);
  self->call_id = 0;
  self->call_cancelled = FALSE;
}

/* The ARC's audio control in a call (SS 91100 §7), by RFC 4733 event or SIP INFO: the
 * direction and the volume change here, locally; the RTP streams go on both ways. */
static void
handle_dtmf (HgScaipVoice *self, gchar digit, const gchar *how)
{
  if (self->call_id == 0 || self->media == NULL)
    return;
  switch (digit)
    {
    case '0':
      LOG_CALL (self, G_LOG_LEVEL_MESSAGE,
                "alarm %s: the ARC cleared the call down (DTMF 0, %s): hanging up", self->call_ref,
                how);
      hg_scaip_sip_hang_up (self->sip, self->call_id);
      break;
    case '1':
    case '3':
      LOG_CALL (
          self, G_LOG_LEVEL_MESSAGE, "alarm %s: speaker volume %s to %.0f %% (DTMF %c, %s)",
          self->call_ref, digit == '1' ? "down" : "up",
          100.0 * hg_scaip_media_change_speaker_volume (self->media, digit == '1' ? -0.25 : 0.25),
          digit, how);
      break;
    case '4':
      hg_scaip_media_set_audio_control (self->media, FALSE, FALSE);
      LOG_CALL (self, G_LOG_LEVEL_MESSAGE, "alarm %s: duplex (DTMF 4, %s)", self->call_ref, how);
      break;
    case '7':
      hg_scaip_media_set_audio_control (self->media, FALSE, TRUE);
      LOG_CALL (self, G_LOG_LEVEL_MESSAGE,
                "alarm %s: simplex, microphone on, speaker muted (DTMF 7, %s)", self->call_ref,
                how);
      break;
    case '8':
      hg_scaip_media_set_audio_control (self->media, TRUE, FALSE);
      LOG_CALL (self, G_LOG_LEVEL_MESSAGE,
                "alarm %s: simplex, speaker on, microphone muted (DTMF 8, %s)", self->call_ref,
                how);
      break;
    default:
      LOG_CALL (self, G_LOG_LEVEL_MESSAGE, "alarm %s: DTMF %c (%s) means nothing here; ignored",
                self->call_ref, digit, how);
      break;
    }
}

static void
media_dtmf_cb (HgScaipMedia *media, gint digit, HgScaipVoice *self)
{
  handle_dtmf (self, (gchar)digit, "RFC 4733");
}

static void
call_dtmf_cb (HgScaipSip *sip, guint call, gint digit, HgScaipVoice *self)
{
  if (call == self->call_id)
    handle_dtmf (self, (gchar)digit, "SIP INFO");
}

/* Starts the media of a negotiated call; FALSE (logged) if it cannot. */
static gboolean
start_media (HgScaipVoice *self)
{
  g_autoptr(GError) error = NULL;
  guint mre = GPOINTER_TO_UINT (g_hash_table_lookup (self->voice_mre, self->call_ref));

  g_signal_connect (self->media, "audio-received", G_CALLBACK (media_audio_received_cb), self);
  g_signal_connect (self->media, "dtmf", G_CALLBACK (media_dtmf_cb), self);
  g_signal_connect (self->media, "failed", G_CALLBACK (media_failed_cb), self);
  /* [C] mre 2: simplex, microphone on (speaker muted); 3: speaker on (microphone muted) */
  if (mre == 2 || mre == 3)
    {
      hg_scaip_media_set_audio_control (self->media, mre == 3, mre == 2);
      LOG_CALL (self, G_LOG_LEVEL_MESSAGE, "alarm %s: simplex as the ARC asked (mre %u): %s",
                self->call_ref, mre,
                mre == 2 ? "microphone on, speaker muted" : "speaker on, microphone muted");
    }
  if (hg_scaip_media_start (self->media, &error))
    return TRUE;
  LOG_CALL (self, G_LOG_LEVEL_WARNING, "alarm %s: voice call refused: %s", self->call_ref,
            error->message);
  return FALSE;
}

/* The alarm whose voice window is open, the most recently acknowledged first. */
static const gchar *
alarm_awaiting_voice (HgScaipVoice *self)
{
  GHashTableIter iter;
  gpointer key, value;
  const gchar *best = NULL;
  gint64 best_end = 0;
  gint64 now = g_get_monotonic_time ();

  g_hash_table_iter_init (&iter, self->awaiting_voice);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      gint64 end = *(gint64 *)value;

      if (end < now)
        g_hash_table_iter_remove (&iter);
      else if (end > best_end)
        {
          best = key;
          best_end = end;
        }
    }
  return best;
}

/* Whether @from (user@host) may be auto-answered: its host is one of voice-callers, or
 * without that key one of the receivers'. The From header can be forged: this keeps
 * strangers from calling in by mistake or by a guess, not an attacker on the path. */
static gboolean
caller_allowed (HgScaipVoice *self, const gchar *from)
{
  const gchar *at = strrchr (from, '@');
  const gchar *host = at != NULL ? at + 1 : from;

  if (self->config->voice_callers != NULL)
    {
      for (guint i = 0; self->config->voice_callers[i] != NULL; i++)
        if (g_ascii_strcasecmp (self->config->voice_callers[i], host) == 0)
          return TRUE;
      return FALSE;
    }
  for (guint i = 0; i < hg_scaip_sip_get_n_receivers (self->sip); i++)
    if (g_ascii_strcasecmp (hg_scaip_sip_get_receiver_host (self->sip, i), host) == 0)
      return TRUE;
  return FALSE;
}

/* @path_address: the local address of the second network path when the call is on it:
 * the RTP socket is bound to it, so the audio takes that path too, and our SDP names it
 * unless media-address says otherwise; @fallback: the address for our SDP otherwise
 * (%NULL: the one routing to the peer's) */
static HgScaipMedia *
new_media (HgScaipVoice *self, const gchar *path_address, const gchar *fallback, GError **error)
{
  const gchar *address = self->config->media_address != NULL ? self->config->media_address
                         : path_address != NULL              ? path_address
                                                             : fallback;

  return hg_scaip_media_new (address, path_address, self->config->codecs, self->config->srtp,
                             self->config->audio_source, self->config->audio_sink, error);
}

static void
call_incoming_cb (
    HgScaipSip *sip, guint call, const gchar *from, const gchar *offer, HgScaipVoice *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *answer = NULL;
  const gchar *ref;

  if (self->mode == HG_SCAIP_VOICE_OFF)
    {
      g_message ("call from %s refused: voice is off", from);
      hg_scaip_sip_answer_call (sip, call, 480, NULL);
      return;
    }
  if (self->call_id != 0 || self->dial_ref != NULL)
    {
      g_message ("call from %s refused: a call is in progress", from);
      hg_scaip_sip_answer_call (sip, call, 486, NULL);
      return;
    }
  if (!caller_allowed (self, from))
    {
      g_warning ("call from %s refused: not a host of voice-callers (or, without it, of a "
                 "receiver)",
                 from);
      hg_scaip_sip_answer_call (sip, call, 403, NULL);
      return;
    }
  /* the microphone opens only for an alarm the ARC acknowledged and asked voice for */
  ref = alarm_awaiting_voice (self);
  if (ref == NULL)
    {
      g_warning ("call from %s refused: no alarm awaits a voice call", from);
      hg_scaip_sip_answer_call (sip, call, 480, NULL);
      return;
    }
  if (offer == NULL)
    {
      g_warning ("call from %s refused: an INVITE without an SDP offer is not supported", from);
      hg_scaip_sip_answer_call (sip, call, 488, NULL);
      return;
    }
  self->media = new_media (self, hg_scaip_sip_get_call_local_address (sip, call), NULL, &error);
  if (self->media != NULL)
    answer = hg_scaip_media_create_answer (self->media, offer, &error);
  if (answer == NULL)
    {
      g_warning ("call from %s for alarm %s refused: %s", from, ref, error->message);
      g_clear_object (&self->media);
      hg_scaip_sip_answer_call (sip, call, 488, NULL);
      return;
    }
  self->call_id = call;
  self->call_outgoing = FALSE;
  self->call_ref = g_strdup (ref);
  if (!start_media (self))
    {
      end_call (self);
      hg_scaip_sip_answer_call (sip, call, 500, NULL);
      return;
    }
  LOG_CALL (self, G_LOG_LEVEL_MESSAGE, "alarm %s: answering the call from %s (%s%s)", ref, from,
            hg_scaip_media_get_codec (self->media),
            hg_scaip_media_get_srtp (self->media) ? ", SRTP" : "");
  hg_scaip_sip_answer_call (sip, call, 200, answer);
}

static void
call_answered_cb (HgScaipSip *sip, guint call, const gchar *answer, HgScaipVoice *self)
{
  g_autoptr(GError) error = NULL;

  if (call != self->call_id || self->media == NULL)
    return;
  if (!hg_scaip_media_set_answer (self->media, answer, &error))
    {
      LOG_CALL (self, G_LOG_LEVEL_WARNING, "alarm %s: the ARC's answer is unusable: %s",
                self->call_ref, error->message);
      hg_scaip_sip_hang_up (sip, call);
      return;
    }
  if (!start_media (self))
    hg_scaip_sip_hang_up (sip, call);
}

/* The gateway calls the receiver that acknowledged (voice = call), or @transfer, where
 * the ARC asked to be called (cre 62), over that receiver's path. FALSE (logged) when no
 * call could be placed here. */
static gboolean
place_call (HgScaipVoice *self, const gchar *ref, guint receiver, const gchar *transfer)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *offer = NULL;
  g_autofree gchar *local = NULL;
  g_autofree gchar *transfer_host = transfer != NULL ? hg_scaip_sip_uri_host (transfer) : NULL;
  const gchar *uri
      = transfer != NULL ? transfer : hg_scaip_sip_get_receiver_uri (self->sip, receiver);
  const gchar *path_address = hg_scaip_sip_get_receiver_local_address (self->sip, receiver);

  /* the address that routes to the receiver goes into our offer */
  if (path_address == NULL && self->config->media_address == NULL)
    local = hg_scaip_media_local_address_for (
        transfer_host != NULL ? transfer_host
                              : hg_scaip_sip_get_receiver_host (self->sip, receiver));
  self->media = new_media (self, path_address, local, &error);
  if (self->media == NULL)
    {
      g_warning ("alarm %s: no call placed: %s", ref, error->message);
      return FALSE;
    }
  offer = hg_scaip_media_create_offer (self->media);
  self->call_ref = g_strdup (ref);
  if (offer == NULL)
    {
      g_warning ("alarm %s: no call placed: no SRTP key could be made", ref);
      end_call (self);
      return FALSE;
    }
  self->call_id = hg_scaip_sip_place_call (self->sip, receiver, transfer, offer);
  self->call_outgoing = TRUE;
  if (self->call_id == 0)
    {
      g_warning ("alarm %s: no call placed: the SIP stack is shutting down", ref);
      end_call (self);
      return FALSE;
    }
  LOG_CALL (self, G_LOG_LEVEL_MESSAGE, "alarm %s: calling %s (attempt %u)", ref, uri,
            self->dial_attempts);
  return TRUE;
}

/* dialing: the outgoing call of an alarm, tried again until it connects or
 * CALL_SETUP_SECONDS have passed since the acknowledgement (PROTOCOL.md §9) */

static void
dial_clear (HgScaipVoice *self)
{
  g_clear_pointer (&self->dial_ref, g_free);
  g_clear_pointer (&self->dial_uri, g_free);
  g_clear_pointer (&self->dial_last, g_free);
  g_clear_handle_id (&self->dial_retry_id, g_source_remove);
  g_clear_handle_id (&self->dial_deadline_id, g_source_remove);
  self->dial_attempts = 0;
}

/* Stops calling for the alarm, saying why; the alarm itself stays as it is. */
static void
dial_give_up (HgScaipVoice *self, const gchar *why)
{
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "HG_ALARM_REF", self->dial_ref, "MESSAGE",
                    "alarm %s: no voice call with the ARC, given up after %u attempt%s: %s",
                    self->dial_ref, self->dial_attempts, self->dial_attempts == 1 ? "" : "s", why);
  dial_clear (self);
}

static void
dial (HgScaipVoice *self)
{
  self->dial_attempts++;
  if (self->call_id != 0)
    dial_give_up (self, "another call is in progress");
  else if (!place_call (self, self->dial_ref, self->dial_receiver, self->dial_uri))
    dial_give_up (self, "the call cannot be placed from here");
}

static gboolean
dial_retry_cb (gpointer user_data)
{
  HgScaipVoice *self = user_data;

  self->dial_retry_id = 0;
  dial (self);
  return G_SOURCE_REMOVE;
}

static gboolean
dial_deadline_cb (gpointer user_data)
{
  HgScaipVoice *self = user_data;
  g_autofree gchar *why = NULL;

  self->dial_deadline_id = 0;
  if (self->call_id != 0 && g_strcmp0 (self->call_ref, self->dial_ref) == 0)
    {
      /* still ringing: cancelled; its end is no failure to call again after */
      why = g_strdup_printf ("the ARC had not answered within %d s; call cancelled",
                             CALL_SETUP_SECONDS);
      self->call_cancelled = TRUE;
      hg_scaip_sip_hang_up (self->sip, self->call_id);
    }
  else
    why = g_strdup_printf ("no attempt connected within %d s (the last: %s)", CALL_SETUP_SECONDS,
                           self->dial_last != NULL ? self->dial_last : "none");
  dial_give_up (self, why);
  return G_SOURCE_REMOVE;
}

/* [C] SS 91100 §5 rule 6: the unit places the call for @ref, to the receiver that
 * acknowledged or to @transfer, and has CALL_SETUP_SECONDS to set it up. */
static void
dial_start (HgScaipVoice *self, const gchar *ref, guint receiver, const gchar *transfer)
{
  if (self->call_id != 0 || self->dial_ref != NULL)
    {
      g_message ("alarm %s: no call placed: the call for alarm %s is in progress", ref,
                 self->call_ref != NULL ? self->call_ref : self->dial_ref);
      return;
    }
  self->dial_ref = g_strdup (ref);
  self->dial_receiver = receiver;
  self->dial_uri = g_strdup (transfer);
  self->dial_deadline = g_get_monotonic_time () + CALL_SETUP_SECONDS * G_USEC_PER_SEC;
  self->dial_deadline_id = g_timeout_add_seconds (CALL_SETUP_SECONDS, dial_deadline_cb, self);
  dial (self);
}

/* Busy (486), unavailable (480), no answer in time (408, Timer B) and server failures
 * (5xx, also the stack's own for a transport that fails) may pass; anything else (403,
 * 404, 488, 603 ...) is the ARC's final word. */
static gboolean
call_failure_is_transient (guint status)
{
  return status == 408 || status == 480 || status == 486 || (status >= 500 && status < 600);
}

/* An attempt failed before it connected: call again after 2, 4, 8 ... s (or the
 * Retry-After the ARC gave) when that is still within the setup time. */
static void
dial_failed (HgScaipVoice *self, guint status, const gchar *reason, guint retry_after)
{
  g_autofree gchar *why = NULL;
  guint wait
      = retry_after > 0 ? retry_after : CALL_RETRY_SECONDS << MIN (self->dial_attempts - 1, 4u);
  const gchar *uri = self->dial_uri != NULL
                         ? self->dial_uri
                         : hg_scaip_sip_get_receiver_uri (self->sip, self->dial_receiver);

  g_free (self->dial_last);
  self->dial_last = g_strdup_printf ("%u %s", status, reason);
  if (!call_failure_is_transient (status))
    {
      why = g_strdup_printf ("%s answered %s, which calling again would not change", uri,
                             self->dial_last);
      dial_give_up (self, why);
      return;
    }
  if (g_get_monotonic_time () + (gint64)wait * G_USEC_PER_SEC >= self->dial_deadline)
    {
      why = g_strdup_printf ("%s answered %s, and another attempt %u s later would come after "
                             "the %d s the standard allows",
                             uri, self->dial_last, wait, CALL_SETUP_SECONDS);
      dial_give_up (self, why);
      return;
    }
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "HG_ALARM_REF", self->dial_ref, "MESSAGE",
                    "alarm %s: the call to %s failed (%s): calling again in %u s%s", self->dial_ref,
                    uri, self->dial_last, wait, retry_after > 0 ? " (its Retry-After)" : "");
  self->dial_retry_id = g_timeout_add (wait * 1000, dial_retry_cb, self);
}

static void
call_active_cb (HgScaipSip *sip, guint call, HgScaipVoice *self)
{
  /* a re-INVITE confirms the dialog again: one report per call */
  if (call != self->call_id || self->media == NULL || self->call_since != 0)
    return;
  self->call_since = g_get_monotonic_time ();
  LOG_CALL (self, G_LOG_LEVEL_MESSAGE, "alarm %s: speech connected (%s%s)", self->call_ref,
            hg_scaip_media_get_codec (self->media),
            hg_scaip_media_get_srtp (self->media) ? ", SRTP" : "");
  if (g_strcmp0 (self->dial_ref, self->call_ref) == 0)
    dial_clear (self);
  emit_speech_connected (self);
}

static void
call_ended_cb (HgScaipSip *sip,
               guint call,
               guint status,
               const gchar *reason,
               guint retry_after,
               HgScaipVoice *self)
{
  /* an attempt of ours that never connected */
  gboolean dialing = self->call_since == 0 && self->dial_ref != NULL
                     && g_strcmp0 (self->call_ref, self->dial_ref) == 0;

  if (call != self->call_id)
    return;
  if (self->call_since != 0 && self->media != NULL)
    LOG_CALL (self, G_LOG_LEVEL_MESSAGE,
              "alarm %s: call ended after %" G_GINT64_FORMAT " s (%u %s); %" G_GUINT64_FORMAT
              " RTP packets received, loudest %.1f dBFS",
              self->call_ref, (g_get_monotonic_time () - self->call_since) / G_USEC_PER_SEC, status,
              reason, hg_scaip_media_get_received_buffers (self->media),
              hg_scaip_media_get_peak_db (self->media));
  else if (self->call_cancelled)
    LOG_CALL (self, G_LOG_LEVEL_MESSAGE, "alarm %s: the cancelled call ended (%u %s)",
              self->call_ref, status, reason);
  else if (!dialing)
    LOG_CALL (self, G_LOG_LEVEL_WARNING, "alarm %s: voice call failed: %u %s", self->call_ref,
              status, reason);
  self->call_since = 0;
  end_call (self);
  if (dialing)
    dial_failed (self, status, reason, retry_after);
}

/**
 * hg_scaip_voice_request:
 * @ref: the alarm the ARC acknowledged and asked voice for
 * @receiver: the receiver that acknowledged it
 * @mre: how the ARC wants the audio (1-3)
 * @cre: the ARC's callback request (0: none)
 * @transfer: (nullable): where the ARC asked to be called (cre 62)
 *
 * Calls the ARC or keeps a call from it answered for a while, as the voice mode and
 * the ARC say (PROTOCOL.md §9). Test and technical alarms are the caller's to filter.
 */
void
hg_scaip_voice_request (HgScaipVoice *self,
                        const gchar *ref,
                        guint receiver,
                        guint mre,
                        gint cre,
                        const gchar *transfer)
{
  gint64 *end;
  guint window = self->config->voice_window;

  if (self->mode == HG_SCAIP_VOICE_OFF)
    {
      g_message ("alarm %s: the ARC asks for voice (mre %u) but voice is off", ref, mre);
      return;
    }
  g_hash_table_replace (self->voice_mre, g_strdup (ref), GUINT_TO_POINTER (mre));
  /* [C] cre 62: the unit calls where <tnu> says, whoever calls otherwise */
  if (transfer != NULL)
    {
      g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "HG_ALARM_REF", ref, "MESSAGE",
                        "alarm %s: the ARC asks to be called at %s (cre 62)", ref, transfer);
      dial_start (self, ref, receiver, transfer);
      return;
    }
  if (cre == 62)
    g_message ("alarm %s: the ARC asks to be called at a medium this unit has not (cre 62, no "
               "sip: <tnu>); going on as voice = %s says",
               ref, self->mode == HG_SCAIP_VOICE_CALL ? "call" : "answer");
  if (self->mode == HG_SCAIP_VOICE_CALL)
    {
      dial_start (self, ref, receiver, NULL);
      return;
    }
  /* [C] cre 01-60: keep auto-answer open that many minutes */
  if (cre >= 1 && cre <= 60)
    window = (guint)cre * 60;
  end = g_new (gint64, 1);
  *end = g_get_monotonic_time () + (gint64)window * G_USEC_PER_SEC;
  g_hash_table_replace (self->awaiting_voice, g_strdup (ref), end);
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "HG_ALARM_REF", ref, "MESSAGE",
                    "alarm %s: the ARC asks for voice; its call is answered for %u s%s", ref,
                    window, cre >= 1 && cre <= 60 ? " (callback)" : "");
}

/* An alarm that ended takes its call and its voice window with it. */
void
hg_scaip_voice_forget (HgScaipVoice *self,
                       const gchar *ref)
{
  g_hash_table_remove (self->awaiting_voice, ref);
  g_hash_table_remove (self->voice_mre, ref);
  if (g_strcmp0 (self->dial_ref, ref) == 0)
    dial_clear (self);
  if (self->call_id != 0 && g_strcmp0 (self->call_ref, ref) == 0)
    {
      LOG_CALL (self, G_LOG_LEVEL_MESSAGE, "alarm %s ended: hanging up", ref);
      hg_scaip_sip_hang_up (self->sip, self->call_id);
    }
}

/* Hangs up and stops calling; the voice windows stay open. */
void
hg_scaip_voice_stop (HgScaipVoice *self)
{
  g_return_if_fail (HG_IS_SCAIP_VOICE (self));

  dial_clear (self);
  end_call (self);
}

/* Whether a call is set up or connected (the health report's `in_call`). */
gboolean
hg_scaip_voice_in_call (HgScaipVoice *self)
{
  g_return_val_if_fail (HG_IS_SCAIP_VOICE (self), FALSE);

  return self->call_id != 0;
}

static void
hg_scaip_voice_dispose (GObject *object)
{
  HgScaipVoice *self = HG_SCAIP_VOICE (object);

  dial_clear (self);
  end_call (self);
  G_OBJECT_CLASS (hg_scaip_voice_parent_class)->dispose (object);
}

static void
hg_scaip_voice_finalize (GObject *object)
{
  HgScaipVoice *self = HG_SCAIP_VOICE (object);

  g_hash_table_unref (self->awaiting_voice);
  g_hash_table_unref (self->voice_mre);
  g_clear_pointer (&self->config, hg_scaip_config_unref);
  g_clear_object (&self->sip);
  G_OBJECT_CLASS (hg_scaip_voice_parent_class)->finalize (object);
}

static void
hg_scaip_voice_class_init (HgScaipVoiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hg_scaip_voice_dispose;
  object_class->finalize = hg_scaip_voice_finalize;

  /**
   * HgScaipVoice::speech-connected:
   * @ref: the alarm the call is for
   * @codec: the call's audio codec
   * @srtp: whether the audio is encrypted
   * @outgoing: whether the gateway placed the call
   */
  signals[SIGNAL_SPEECH_CONNECTED] = g_signal_new (
      "speech-connected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 4, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_BOOLEAN, G_TYPE_BOOLEAN);
}

static void
hg_scaip_voice_init (HgScaipVoice *self)
{
  self->awaiting_voice = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->voice_mre = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/**
 * hg_scaip_voice_new:
 * @sip: the SIP stack the calls are on; its calls are enabled by the caller
 * @config: the plugin's configuration
 * @mode: the voice mode in effect (%HG_SCAIP_VOICE_OFF refuses every call)
 *
 * Returns: (transfer full): the voice calls of the plugin
 */
HgScaipVoice *
hg_scaip_voice_new (HgScaipSip *sip,
                    HgScaipConfig *config,
                    HgScaipVoiceMode mode)
{
  HgScaipVoice *self = g_object_new (HG_TYPE_SCAIP_VOICE, NULL);

  self->sip = g_object_ref (sip);
  self->config = hg_scaip_config_ref (config);
  self->mode = mode;
  g_signal_connect_object (sip, "call-incoming", G_CALLBACK (call_incoming_cb), self, 0);
  g_signal_connect_object (sip, "call-answered", G_CALLBACK (call_answered_cb), self, 0);
  g_signal_connect_object (sip, "call-active", G_CALLBACK (call_active_cb), self, 0);
  g_signal_connect_object (sip, "call-ended", G_CALLBACK (call_ended_cb), self, 0);
  g_signal_connect_object (sip, "call-dtmf", G_CALLBACK (call_dtmf_cb), self, 0);
  return self;
}
