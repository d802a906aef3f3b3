/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgScaipPlugin: the scaip-alarm plugin, on the public plugin API only. It checks its
 * keys in configure (), looks up its SIP password in start (), then hands every
 * `alarm.raised` the core forwards to its HgScaipDelivery engine, and turns what the
 * engine reports into calls of HgContext: `delivered` and `acknowledged` reports, which
 * the core journals, and a local `technical` alarm when line supervision fails. */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include <hemgate-plugin.h>

#include "hg-scaip-button.h"
#include "hg-scaip-delivery.h"
#include "hg-scaip-media.h"
#include "hg-scaip-plugin.h"
#include "hg-scaip-sip.h"
#include "hg-scaip-sounds.h"

/* The secret holding the Digest password (README.md, "Configuration"). */
#define PASSWORD_SECRET "sip-password"
/* How often the health report is checked for changes (it is sent only when changed), and
 * the wall clock for a step. */
#define HEALTH_CHECK_SECONDS 5
/* How long stop () waits for the SIP stack to unregister before it gives up. */
#define STOP_TIMEOUT_MS 1500
/* The device named in the technical alarms the plugin raises. */
#define OWN_DEVICE "scaip-alarm"
/* The voice mode without a `voice` key: the unit places the call, as the standard has it
 * (PROTOCOL.md §9). */
#define DEFAULT_VOICE "call"
/* [C] SS 91100 §5 rule 6, TR 91102 §6.1 (c): the unit starts the voice call within 60 s of
 * the acknowledgement, and the ARC may stop waiting for it after that */
#define CALL_SETUP_SECONDS 60
/* The first wait before calling again after a failed attempt; it doubles each time. */
#define CALL_RETRY_SECONDS 2u

static const gchar *const known_keys[] = {
  "aor",
  "auth-user",
  "primary",
  "secondary",
  "controller-id",
  "caller-id",
  "local-uri",
  "path2-local-uri",
  "path2-primary",
  "path2-secondary",
  "register",
  "register-expires",
  "answer-timeout",
  "failover-timeout",
  "retry-max",
  "hold-interval",
  "hold-max",
  "max-in-flight",
  "heartbeat-interval",
  "delivery-timeout",
  "demo-password",
  "voice",
  "voice-window",
  "voice-callers",
  "audio-source",
  "audio-sink",
  "codecs",
  "srtp",
  "media-address",
  "sounds",
  "sound-language",
  "sound-dir",
  "sound-sink",
  "button-device",
  "button-key",
  "button-debounce",
  "button-type",
  "button-location",
  "button-name",
  "tls-dir",
  NULL,
};

/* The feedback already given for an alarm (bits of HgScaipPlugin.sounded's values). */
enum
{
  SOUNDED_TONE = 1 << 0,
  SOUNDED_SENT = 1 << 1,
  SOUNDED_HELP = 1 << 2,
};

/* Who sets up the voice call once the ARC asks for it (PROTOCOL.md §9). */
typedef enum
{
  VOICE_OFF,
  VOICE_ANSWER, /* the ARC calls; an alarm awaiting voice auto-answers */
  VOICE_CALL,   /* the gateway calls the receiver that acknowledged (the default) */
} VoiceMode;

static const gchar *const voice_modes[] = { "off", "answer", "call", NULL };
static const gchar *const srtp_modes[] = { "off", "optional", "required", NULL };

struct _HgScaipPlugin
{
  HgPlugin parent_instance;

  /* configuration, set by configure () */
  gchar *aor;                   /* (owned) */
  gchar *auth_user;             /* (owned) (nullable) */
  gchar *primary;               /* (owned) */
  gchar *secondary;             /* (owned) (nullable) */
  gchar *controller_id;         /* (owned) */
  GStrv caller_ids;             /* (owned) */
  gchar *local_uri;             /* (owned) */
  gchar *path2_local_uri;       /* (owned) (nullable) the second network path */
  gchar *path2_primary;         /* (owned) (nullable) set exactly with path2_local_uri */
  gchar *path2_secondary;       /* (owned) (nullable) */
  gchar *tls_dir;               /* (owned) (nullable) */
  gchar *demo_password;         /* (owned) (nullable) */
  HgScaipDeliveryConfig timers; /* strings are NULL here; filled at start */
  VoiceMode voice;
  guint voice_window;  /* seconds after the acknowledgement a call is taken */
  GStrv voice_callers; /* (owned) (nullable) hosts whose calls are taken; NULL: the receivers' */
  gchar *audio_source; /* (owned) */
  gchar *audio_sink;   /* (owned) */
  gchar *codecs;       /* (owned) */
  HgScaipSrtp srtp;
  gchar *media_address; /* (owned) (nullable) */
  gboolean sounds;
  gchar *sound_language; /* (owned) */
  gchar *sound_dir;      /* (owned) */
  gchar *sound_sink;     /* (owned) */
  gchar *button_device;  /* (owned) (nullable) */
  guint button_key;
  guint button_debounce;  /* ms */
  gchar *button_type;     /* (owned) */
  gchar *button_location; /* (owned) (nullable) */
  gchar *button_name;     /* (owned) */

  HgScaipSip *sip;            /* (owned) (nullable) while running */
  HgScaipDelivery *delivery;  /* (owned) (nullable) while running */
  GCancellable *cancellable;  /* (owned) for calls of the context */
  gboolean line_alarm_raised;    /* in the current outage */
  gboolean standby_alarm_raised; /* in the current outage of the standby path */
  GHashTable *failed_raised;  /* (owned) refs a technical alarm was raised for */

  /* voice */
  GHashTable *awaiting_voice; /* (owned) ref → gint64* monotonic end of its window */
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
  gchar *dial_last;       /* (owned) (nullable) how the last attempt failed */
  guint dial_retry_id;    /* the next attempt */
  guint dial_deadline_id; /* the end of the setup time */
  gboolean call_cancelled; /* the set-up time ran out while the call rang */

  HgScaipButton *button; /* (owned) (nullable) without button-device */
  guint health_id;       /* the periodic check */
  gchar *last_health;    /* (owned) (nullable) the last report, as sent */
  HgScaipSounds *player; /* (owned) (nullable) unless sounds are off */
  GHashTable *sounded;   /* (owned) ref → SOUNDED_ bits, for the resident's own alarms */
  GHashTable *quiet;     /* (owned) refs of test and technical alarms: no sound, no call */
  GHashTable *voice_mre; /* (owned) ref → mre the ARC acknowledged it with (1-3) */
};

G_DEFINE_TYPE (HgScaipPlugin, hg_scaip_plugin, HG_TYPE_PLUGIN)

/* A log line about the call's alarm, with its reference as a field. */
#define LOG_CALL(self, level, ...)                                                                 \
  g_log_structured (G_LOG_DOMAIN, (level), "HG_ALARM_REF",                                         \
                    (self)->call_ref != NULL ? (self)->call_ref : "", "MESSAGE", __VA_ARGS__)

static HgContext *
get_context (HgScaipPlugin *self)
{
  return hg_plugin_get_context (HG_PLUGIN (self));
}

/* configuration */

/* TRUE for a receiver URI that asks for TLS. */
static gboolean
uses_tls (const gchar *uri)
{
  g_autofree gchar *lower = uri != NULL ? g_ascii_strdown (uri, -1) : NULL;

  return lower != NULL
         && (g_str_has_prefix (lower, "sips:") || strstr (lower, "transport=tls") != NULL);
}

static gboolean
bad_key (GError **error,
         const gchar *key,
         const gchar *value,
         const gchar *why)
{
  g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "%s: '%s' %s", key,
               value != NULL ? value : "", why);
  return FALSE;
}

static gboolean
get_uri (HgConfig *config,
         const gchar *key,
         gboolean required,
         gboolean need_user,
         gchar **out,
         GError **error)
{
  const gchar *value = hg_config_get_string (config, key, NULL);
  g_autoptr(GError) error_local = NULL;

  if (value == NULL || value[0] == '\0')
    {
      if (required)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "%s: required", key);
          return FALSE;
        }
      *out = NULL;
      return TRUE;
    }
  if (!hg_scaip_sip_check_uri (value, need_user, &error_local))
    return bad_key (error, key, value,
                    need_user ? "is not a sip: URI with a user and a host"
                              : "is not a sip: URI with a host");
  *out = g_strdup (value);
  return TRUE;
}

/* The second network path (PROTOCOL.md §6): its local URI must name an address of this
 * host other than the first path's; its receivers default to the first path's. */
static gboolean
get_path2 (HgConfig *config,
           const gchar *local_uri,
           const gchar *primary,
           const gchar *secondary,
           gchar **out_local_uri,
           gchar **out_primary,
           gchar **out_secondary,
           GError **error)
{
  g_autofree gchar *path2 = NULL;
  g_autofree gchar *host = NULL;
  g_autofree gchar *first_host = NULL;
  g_autoptr(GInetAddress) address = NULL;

  if (!get_uri (config, "path2-local-uri", FALSE, FALSE, &path2, error)
      || !get_uri (config, "path2-primary", FALSE, FALSE, out_primary, error)
      || !get_uri (config, "path2-secondary", FALSE, FALSE, out_secondary, error))
    return FALSE;
  if (path2 == NULL)
    {
      if (*out_primary != NULL || *out_secondary != NULL)
        {
          g_set_error_literal (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                               *out_primary != NULL
                                   ? "path2-primary: needs path2-local-uri (the second path)"
                                   : "path2-secondary: needs path2-local-uri (the second path)");
          return FALSE;
        }
      return TRUE;
    }
  host = hg_scaip_sip_uri_host (path2);
  first_host = hg_scaip_sip_uri_host (local_uri);
  if (host == NULL || (address = g_inet_address_new_from_string (host)) == NULL)
    return bad_key (error, "path2-local-uri", path2,
                    "does not name the numeric local address of the second path");
  if (first_host != NULL && g_ascii_strcasecmp (host, first_host) == 0)
    return bad_key (error, "path2-local-uri", path2, "names the same address as local-uri");
  if (*out_primary == NULL)
    *out_primary = g_strdup (primary);
  if (*out_secondary == NULL)
    *out_secondary = g_strdup (secondary);
  *out_local_uri = g_steal_pointer (&path2);
  return TRUE;
}

static gboolean
get_seconds (HgConfig *config,
             const gchar *key,
             gint64 default_value,
             gint64 min,
             gint64 max,
             guint *out,
             GError **error)
{
  gint64 value = 0;

  if (!hg_config_get_int (config, key, default_value, min, max, &value, error))
    return FALSE;
  *out = (guint) value;
  return TRUE;
}

static gboolean
hg_scaip_plugin_configure (HgPlugin *plugin,
                           HgConfig *config,
                           GError **error)
{
  HgScaipPlugin *self = HG_SCAIP_PLUGIN (plugin);
  g_auto(GStrv) keys = hg_config_get_keys (config);
  g_auto(GStrv) caller_ids = NULL;
  g_autofree gchar *aor = NULL;
  g_autofree gchar *primary = NULL;
  g_autofree gchar *secondary = NULL;
  g_autofree gchar *local_uri = NULL;
  g_autofree gchar *path2_local_uri = NULL;
  g_autofree gchar *path2_primary = NULL;
  g_autofree gchar *path2_secondary = NULL;
  const gchar *controller_id = hg_config_get_string (config, "controller-id", NULL);
  const gchar *caller_id = hg_config_get_string (config, "caller-id", NULL);
  const gchar *auth_user = hg_config_get_string (config, "auth-user", NULL);
  HgScaipDeliveryConfig timers = {
    NULL,
  };

  /* a typo in "secondary" must not silently leave the alarm without its failover */
  for (guint i = 0; keys[i] != NULL; i++)
    {
      if (!g_strv_contains (known_keys, keys[i]))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "%s: unknown key", keys[i]);
          return FALSE;
        }
    }
  if (!get_uri (config, "aor", TRUE, TRUE, &aor, error)
      || !get_uri (config, "primary", TRUE, FALSE, &primary, error)
      || !get_uri (config, "secondary", FALSE, FALSE, &secondary, error))
    return FALSE;
  local_uri = g_strdup (hg_config_get_string (config, "local-uri", "sip:*:*"));
  if (!hg_scaip_sip_check_uri (local_uri, FALSE, NULL))
    return bad_key (error, "local-uri", local_uri, "is not a sip: URI with a host");
  if (!get_path2 (config, local_uri, primary, secondary, &path2_local_uri, &path2_primary,
                  &path2_secondary, error))
    return FALSE;
  if (controller_id == NULL)
    {
      g_set_error_literal (error, HG_ERROR, HG_ERROR_INVALID_DATA, "controller-id: required");
      return FALSE;
    }
  if (strlen (controller_id) < 1 || strlen (controller_id) > 32
      || strspn (controller_id, "0123456789") != strlen (controller_id))
    return bad_key (error, "controller-id", controller_id, "is not 1-32 digits");
  if (auth_user != NULL && auth_user[0] == '\0')
    return bad_key (error, "auth-user", auth_user, "is empty");
  /* without a key: the ARC may call us back over SIP unless voice is off */
  if (caller_id == NULL)
    caller_id = g_strcmp0 (hg_config_get_string (config, "voice", DEFAULT_VOICE), "off") == 0
                    ? "no-voice:"
                    : aor;
  caller_ids = g_strsplit_set (caller_id, " \t", -1);
  {
    g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
    for (guint i = 0; caller_ids[i] != NULL; i++)
      {
        gsize len = strlen (caller_ids[i]);
        if (len == 0)
          continue;
        if (len > 256)
          return bad_key (error, "caller-id", caller_ids[i], "is longer than 256 characters");
        for (gsize j = 0; j < len; j++)
          {
            if ((guchar) caller_ids[i][j] < 33 || (guchar) caller_ids[i][j] > 126)
              return bad_key (error, "caller-id", caller_ids[i], "is not printable ASCII");
          }
        g_strv_builder_add (builder, caller_ids[i]);
      }
    g_strfreev (caller_ids);
    caller_ids = g_strv_builder_end (builder);
  }
  if (!hg_config_get_boolean (config, "register", TRUE, &timers.register_, error)
      || !get_seconds (config, "register-expires", 600, 60, 86400, &timers.register_expires, error)
      || !get_seconds (config, "answer-timeout", 5, 1, 60, &timers.answer_timeout, error)
      || !get_seconds (config, "failover-timeout", 10, 1, 600, &timers.failover_timeout, error)
      || !get_seconds (config, "retry-max", 30, 1, 600, &timers.retry_max, error)
      || !get_seconds (config, "hold-interval", 5, 5, 20, &timers.hold_interval, error)
      || !get_seconds (config, "hold-max", 180, 180, 1800, &timers.hold_max, error)
      || !get_seconds (config, "heartbeat-interval", 300, 0, 86400, &timers.heartbeat_interval,
                       error)
      || !get_seconds (config, "delivery-timeout", 60, 1, 3600, &timers.delivery_timeout, error)
      /* a count, not seconds: how many alarms one receiver is sent before it answers */
      || !get_seconds (config, "max-in-flight", 16, 1, 256, &timers.max_in_flight, error))
    return FALSE;
  {
    const gchar *voice = hg_config_get_string (config, "voice", DEFAULT_VOICE);
    const gchar *srtp = hg_config_get_string (config, "srtp", "optional");
    const gchar *codecs = hg_config_get_string (config, "codecs", "PCMU PCMA opus");
    const gchar *media_address = hg_config_get_string (config, "media-address", NULL);
    const gchar *source = hg_config_get_string (config, "audio-source", "autoaudiosrc");
    const gchar *sink = hg_config_get_string (config, "audio-sink", "autoaudiosink");
    g_autoptr(GError) error_local = NULL;
    g_autoptr(GInetAddress) address = NULL;

    if (!g_strv_contains (voice_modes, voice))
      return bad_key (error, "voice", voice, "is not off, answer or call");
    if (!g_strv_contains (srtp_modes, srtp))
      return bad_key (error, "srtp", srtp, "is not off, optional or required");
    if (!hg_scaip_media_check_codecs (codecs, &error_local))
      return bad_key (error, "codecs", codecs, error_local->message);
    if (media_address != NULL && (address = g_inet_address_new_from_string (media_address)) == NULL)
      return bad_key (error, "media-address", media_address, "is not a numeric IP address");
    if (source[0] == '\0')
      return bad_key (error, "audio-source", source, "is empty");
    if (sink[0] == '\0')
      return bad_key (error, "audio-sink", sink, "is empty");
    if (!get_seconds (config, "voice-window", 120, 10, 3600, &self->voice_window, error))
      return FALSE;
    g_clear_pointer (&self->voice_callers, g_strfreev);
    if (hg_config_get_string (config, "voice-callers", NULL) != NULL)
      {
        g_auto(GStrv) hosts
            = g_strsplit_set (hg_config_get_string (config, "voice-callers", NULL), " ,\t", -1);
        g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

        for (guint i = 0; hosts[i] != NULL; i++)
          if (hosts[i][0] != '\0')
            g_strv_builder_add (builder, hosts[i]);
        self->voice_callers = g_strv_builder_end (builder);
        if (self->voice_callers[0] == NULL)
          return bad_key (error, "voice-callers",
                          hg_config_get_string (config, "voice-callers", NULL), "names no host");
      }
    for (guint i = 0; voice_modes[i] != NULL; i++)
      if (g_strcmp0 (voice_modes[i], voice) == 0)
        self->voice = (VoiceMode)i;
    for (guint i = 0; srtp_modes[i] != NULL; i++)
      if (g_strcmp0 (srtp_modes[i], srtp) == 0)
        self->srtp = (HgScaipSrtp)i;
    g_free (self->codecs);
    self->codecs = g_strdup (codecs);
    g_free (self->media_address);
    self->media_address = g_strdup (media_address);
    g_free (self->audio_source);
    self->audio_source = g_strdup (source);
    g_free (self->audio_sink);
    self->audio_sink = g_strdup (sink);
  }
  {
    const gchar *language = hg_config_get_string (config, "sound-language", "sv");
    gsize len = strlen (language);

    if (!hg_config_get_boolean (config, "sounds", TRUE, &self->sounds, error))
      return FALSE;
    if (len < 2 || len > 3 || strspn (language, "abcdefghijklmnopqrstuvwxyz") != len)
      return bad_key (error, "sound-language", language,
                      "is not a two- or three-letter language code");
    g_free (self->sound_language);
    self->sound_language = g_strdup (language);
    g_free (self->sound_dir);
    self->sound_dir = g_strdup (hg_config_get_string (config, "sound-dir", HG_SCAIP_SOUNDDIR));
    g_free (self->sound_sink);
    self->sound_sink = g_strdup (hg_config_get_string (config, "sound-sink", "autoaudiosink"));
  }
  {
    const gchar *device = hg_config_get_string (config, "button-device", NULL);
    const gchar *type = hg_config_get_string (config, "button-type", "assistance");
    const gchar *location = hg_config_get_string (config, "button-location", NULL);
    const gchar *name = hg_config_get_string (config, "button-name", NULL);
    gint64 key = 0;
    gint64 debounce = 0;

    if (device != NULL && !g_path_is_absolute (device))
      return bad_key (error, "button-device", device, "is not an absolute path");
    if (!hg_config_get_int (config, "button-key", 0, 1, 0x2ff, &key, error)
        || !hg_config_get_int (config, "button-debounce", 3000, 0, 60000, &debounce, error))
      return FALSE;
    if (device != NULL && key == 0)
      {
        g_set_error_literal (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                             "button-key: required with button-device");
        return FALSE;
      }
    if (!hg_alarm_type_is_valid (type))
      return bad_key (error, "button-type", type, "is not an alarm type");
    if (name != NULL && (name[0] == '\0' || strlen (name) > 64))
      return bad_key (error, "button-name", name, "is not 1-64 characters");
    g_free (self->button_device);
    g_free (self->last_health);
    self->button_device = g_strdup (device);
    self->button_key = (guint)key;
    self->button_debounce = (guint)debounce;
    g_free (self->button_type);
    self->button_type = g_strdup (type);
    g_free (self->button_location);
    self->button_location = g_strdup (location);
    g_free (self->button_name);
    self->button_name = name != NULL     ? g_strdup (name)
                        : device != NULL ? g_path_get_basename (device)
                                         : NULL;
  }
  {
    const gchar *tls_dir = hg_config_get_string (config, "tls-dir", NULL);
    gboolean needs_tls = uses_tls (primary) || uses_tls (secondary);
    const struct
    {
      const gchar *key;
      const gchar *uri;
    } others[] = { { "secondary", secondary },
                   { "path2-primary", path2_primary },
                   { "path2-secondary", path2_secondary } };

    /* Sofia-SIP then registers one (sips:) contact with every receiver, which a
     * receiver without TLS cannot answer: all use TLS or none */
    for (gsize i = 0; i < G_N_ELEMENTS (others); i++)
      if (others[i].uri != NULL && uses_tls (primary) != uses_tls (others[i].uri))
        return bad_key (error, others[i].key, others[i].uri,
                        "must use TLS exactly when primary does (mixing is not supported)");
    if (tls_dir == NULL && needs_tls)
      {
        g_set_error_literal (
            error, HG_ERROR, HG_ERROR_INVALID_DATA,
            "tls-dir: required for a sips: or ;transport=tls primary or secondary");
        return FALSE;
      }
    if (tls_dir != NULL)
      {
        g_autofree gchar *cafile = g_build_filename (tls_dir, "cafile.pem", NULL);

        if (!g_path_is_absolute (tls_dir))
          return bad_key (error, "tls-dir", tls_dir, "is not an absolute path");
        if (g_access (cafile, R_OK) != 0)
          return bad_key (error, "tls-dir", tls_dir, "has no readable cafile.pem");
      }
    g_free (self->tls_dir);
    /* a TLS transport only for TLS receivers: it would change the contact of the others */
    self->tls_dir = needs_tls ? g_strdup (tls_dir) : NULL;
  }
  if (timers.heartbeat_interval > 0 && timers.heartbeat_interval < 5)
    {
      g_autofree gchar *value = g_strdup_printf ("%u", timers.heartbeat_interval);
      return bad_key (error, "heartbeat-interval", value, "is neither 0 (off) nor 5 to 86400");
    }

  g_free (self->aor);
  self->aor = g_steal_pointer (&aor);
  g_free (self->primary);
  self->primary = g_steal_pointer (&primary);
  g_free (self->secondary);
  self->secondary = g_steal_pointer (&secondary);
  g_free (self->local_uri);
  self->local_uri = g_steal_pointer (&local_uri);
  g_free (self->path2_local_uri);
  self->path2_local_uri = g_steal_pointer (&path2_local_uri);
  g_free (self->path2_primary);
  self->path2_primary = g_steal_pointer (&path2_primary);
  g_free (self->path2_secondary);
  self->path2_secondary = g_steal_pointer (&path2_secondary);
  g_free (self->controller_id);
  self->controller_id = g_strdup (controller_id);
  g_free (self->auth_user);
  self->auth_user = g_strdup (auth_user);
  g_strfreev (self->caller_ids);
  self->caller_ids = g_steal_pointer (&caller_ids);
  g_free (self->demo_password);
  self->demo_password = g_strdup (hg_config_get_string (config, "demo-password", NULL));
  self->timers = timers;
  return TRUE;
}

/* local audible feedback */

static void
play_sound (HgScaipPlugin *self, const gchar *ref, guint bit, const gchar *name)
{
  guint done;

  if (self->player == NULL || !g_hash_table_contains (self->sounded, ref))
    return;
  done = GPOINTER_TO_UINT (g_hash_table_lookup (self->sounded, ref));
  if (bit != 0 && (done & bit) != 0)
    return;
  g_hash_table_replace (self->sounded, g_strdup (ref), GUINT_TO_POINTER (done | bit));
  hg_scaip_sounds_play (self->player, name, ref);
}

/* The resident's own alarms get feedback; technical faults and tests (which IT may
 * trigger remotely, at night) do not. */
static void
sound_alarm_raised (HgScaipPlugin *self, HgAlarm *alarm)
{
  const gchar *ref = hg_alarm_get_reference (alarm);
  HgAlarmState state = hg_alarm_get_state (alarm);

  if (self->player == NULL || g_strcmp0 (hg_alarm_get_alarm_type (alarm), "technical") == 0
      || g_strcmp0 (hg_alarm_get_alarm_type (alarm), "test") == 0
      || g_hash_table_contains (self->sounded, ref)
      || (state != HG_ALARM_STATE_RAISED && state != HG_ALARM_STATE_DELIVERED))
    return;
  g_hash_table_insert (
      self->sounded, g_strdup (ref),
      GUINT_TO_POINTER (state == HG_ALARM_STATE_DELIVERED ? SOUNDED_TONE | SOUNDED_SENT : 0));
  if (state == HG_ALARM_STATE_RAISED)
    play_sound (self, ref, SOUNDED_TONE, "tone");
}

static void
sound_alarm_ended (HgScaipPlugin *self, const gchar *ref, gboolean cancelled)
{
  if (cancelled)
    play_sound (self, ref, 0, "alarm-cancelled");
  g_hash_table_remove (self->sounded, ref);
}

/* health: what an operator sees in GET /api/v1/health */

static void
check_health (HgScaipPlugin *self)
{
  g_autoptr(JsonObject) health = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *fault = NULL;
  JsonObject *receivers = NULL;

  if (self->sip == NULL || self->delivery == NULL)
    return;
  receivers = json_object_new ();
  fault = hg_scaip_delivery_dup_fault (self->delivery);
  json_object_set_string_member (health, "line",
                                 hg_scaip_delivery_get_line_ok (self->delivery) ? "ok" : "down");
  json_object_set_string_member (
      health, "active",
      hg_scaip_sip_get_receiver_name (self->sip,
                                      hg_scaip_delivery_get_active_receiver (self->delivery)));
  for (guint i = 0; i < hg_scaip_sip_get_n_receivers (self->sip); i++)
    {
      JsonObject *receiver = json_object_new ();
      const gchar *error = hg_scaip_sip_get_registration_error (self->sip, i);

      json_object_set_string_member (receiver, "uri", hg_scaip_sip_get_receiver_uri (self->sip, i));
      if (self->timers.register_)
        json_object_set_boolean_member (receiver, "registered",
                                        hg_scaip_sip_is_registered (self->sip, i));
      if (error != NULL)
        json_object_set_string_member (receiver, "error", error);
      else
        json_object_set_null_member (receiver, "error");
      json_object_set_object_member (receivers, hg_scaip_sip_get_receiver_name (self->sip, i),
                                     receiver);
    }
  json_object_set_object_member (health, "receivers", receivers);
  if (hg_scaip_delivery_get_standby_receiver (self->delivery) != G_MAXUINT)
    {
      JsonObject *standby = json_object_new ();

      json_object_set_string_member (
          standby, "receiver",
          hg_scaip_sip_get_receiver_name (self->sip,
                                          hg_scaip_delivery_get_standby_receiver (self->delivery)));
      json_object_set_string_member (
          standby, "line", hg_scaip_delivery_get_standby_ok (self->delivery) ? "ok" : "down");
      json_object_set_object_member (health, "standby", standby);
    }
  json_object_set_boolean_member (health, "in_call", self->call_id != 0);
  json_object_set_int_member (health, "heartbeat-interval",
                              hg_scaip_delivery_get_heartbeat_interval (self->delivery));
  /* the member the core reads for alarm delivery (hg_context_report_health ()) */
  if (fault != NULL)
    json_object_set_string_member (health, "delivery-fault", fault);
  if (self->button != NULL)
    json_object_set_string_member (health, "button",
                                   hg_scaip_button_is_ready (self->button) ? "ready" : "missing");
  node = json_node_init_object (json_node_alloc (), health);
  text = json_to_string (node, FALSE);
  if (g_strcmp0 (text, self->last_health) == 0)
    return;
  g_free (self->last_health);
  self->last_health = g_steal_pointer (&text);
  hg_context_report_health (get_context (self), health);
}

static gboolean
health_timeout_cb (gpointer user_data)
{
  HgScaipPlugin *self = user_data;

  /* a step of the wall clock re-times Sofia-SIP's timers (PROTOCOL.md §6) */
  if (self->delivery != NULL)
    hg_scaip_delivery_check_clock (self->delivery);
  check_health (self);
  return G_SOURCE_CONTINUE;
}

/* reports to the core */

typedef struct
{
  gchar *ref; /* (owned) */
  HgAlarmState state;
} ReportData;

static void
report_data_free (ReportData *data)
{
  g_free (data->ref);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReportData, report_data_free)

static void
reported_cb (GObject *source,
             GAsyncResult *result,
             gpointer user_data)
{
  g_autoptr(ReportData) data = user_data;
  g_autoptr(GError) error = NULL;

  if (hg_context_report_alarm_finish (HG_CONTEXT (source), result, &error))
    return;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  /* e.g. staff closed it meanwhile: the core's life cycle has no way back */
  if (g_error_matches (error, HG_ERROR, HG_ERROR_ILLEGAL_TRANSITION))
    g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO, "HG_ALARM_REF", data->ref, "MESSAGE",
                      "alarm %s not reported %s: %s", data->ref,
                      hg_alarm_state_to_string (data->state), error->message);
  /* a journal that could not take it for now is retried by the host until it does: what
   * ends here is a connection to the core that is gone, after which the core offers the
   * alarm again */
  else
    g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "HG_ALARM_REF", data->ref, "MESSAGE",
                      "alarm %s not reported %s; the core offers it again when it is back: %s",
                      data->ref, hg_alarm_state_to_string (data->state), error->message);
}

static void
report (HgScaipPlugin *self,
        const gchar *ref,
        HgAlarmState state,
        guint receiver,
        gint snu)
{
  g_autoptr(JsonObject) detail = json_object_new ();
  ReportData *data = g_new0 (ReportData, 1);

  json_object_set_string_member (detail, "receiver",
                                 hg_scaip_sip_get_receiver_name (self->sip, receiver));
  json_object_set_string_member (detail, "uri",
                                 hg_scaip_sip_get_receiver_uri (self->sip, receiver));
  if (snu >= 0)
    json_object_set_int_member (detail, "snu", snu);
  data->ref = g_strdup (ref);
  data->state = state;
  hg_context_report_alarm_async (get_context (self), ref, state, detail, self->cancellable,
                                 reported_cb, data);
}

/* A receiver ended the session of an alarm's SCAIP ref: the new one is journaled with the
 * alarm (a report of its first state, which moves nothing, with the detail `delivery`), so
 * that a host started after this one goes on with it and never offers an ended ref again. */
typedef struct
{
  HgScaipPlugin *self; /* (unowned) valid unless cancelled */
  gchar *ref;          /* (owned) */
  gchar *scaip_ref;    /* (owned) */
} RefReportData;

static void
ref_report_data_free (RefReportData *data)
{
  g_free (data->ref);
  g_free (data->scaip_ref);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RefReportData, ref_report_data_free)

static void
ref_reported_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(RefReportData) data = user_data;
  g_autoptr(GError) error = NULL;

  if (!hg_context_report_alarm_finish (HG_CONTEXT (source), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "HG_ALARM_REF", data->ref, "MESSAGE",
                        "alarm %s: its new SCAIP ref %s not journaled; a restarted host would "
                        "send the previous one: %s",
                        data->ref, data->scaip_ref, error->message);
    }
  if (data->self->delivery != NULL)
    hg_scaip_delivery_ref_journaled (data->self->delivery, data->ref, data->scaip_ref);
}

static void
alarm_ref_changed_cb (HgScaipDelivery *delivery,
                      const gchar *ref,
                      const gchar *scaip_ref,
                      const gchar *previous,
                      HgScaipPlugin *self)
{
  g_autoptr(JsonObject) detail = hg_scaip_delivery_describe_ref (scaip_ref, previous);
  RefReportData *data = g_new0 (RefReportData, 1);

  data->self = self;
  data->ref = g_strdup (ref);
  data->scaip_ref = g_strdup (scaip_ref);
  hg_context_report_alarm_async (get_context (self), ref, HG_ALARM_STATE_RAISED, detail,
                                 self->cancellable, ref_reported_cb, data);
}

static void
alarm_delivered_cb (
    HgScaipDelivery *delivery, const gchar *ref, guint receiver, guint snu, HgScaipPlugin *self)
{
  report (self, ref, HG_ALARM_STATE_DELIVERED, receiver, (gint) snu);
  play_sound (self, ref, SOUNDED_SENT, "alarm-sent");
}

static void
alarm_acknowledged_cb (HgScaipDelivery *delivery,
                       const gchar *ref,
                       guint receiver,
                       HgScaipPlugin *self)
{
  report (self, ref, HG_ALARM_STATE_ACKNOWLEDGED, receiver, 0);
  play_sound (self, ref, SOUNDED_SENT, "alarm-sent");
  play_sound (self, ref, SOUNDED_HELP, "help-coming");
}

/* local technical alarms */

static void
technical_raised_cb (GObject *source,
                     GAsyncResult *result,
                     gpointer user_data)
{
  g_autofree gchar *reason = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *ref = hg_context_raise_alarm_finish (HG_CONTEXT (source), result, &error);

  if (ref == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("technical alarm (%s) not raised: %s", reason, error->message);
      return;
    }
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "HG_ALARM_REF", ref, "MESSAGE",
                    "technical alarm %s raised: %s", ref, reason);
}

/* @receiver: the receiver it is about */
static void
raise_technical (HgScaipPlugin *self,
                 const gchar *reason,
                 guint receiver,
                 const gchar *about_ref)
{
  g_autoptr(HgAlarm) alarm = hg_alarm_new ("technical");
  g_autoptr(JsonObject) detail = json_object_new ();

  hg_alarm_set_device (alarm, OWN_DEVICE);
  json_object_set_string_member (detail, "reason", reason);
  json_object_set_string_member (detail, "receiver",
                                 hg_scaip_sip_get_receiver_name (self->sip, receiver));
  if (about_ref != NULL)
    json_object_set_string_member (detail, "alarm", about_ref);
  hg_alarm_set_detail (alarm, detail);
  hg_context_raise_alarm_async (get_context (self), alarm, self->cancellable, technical_raised_cb,
                                g_strdup (reason));
}

static void
supervision_changed_cb (HgScaipDelivery *delivery,
                        gboolean ok,
                        const gchar *reason,
                        HgScaipPlugin *self)
{
  check_health (self);
  if (ok)
    {
      /* the next outage raises its own alarm */
      self->line_alarm_raised = FALSE;
      return;
    }
  if (self->line_alarm_raised)
    return;
  self->line_alarm_raised = TRUE;
  raise_technical (self, "line-supervision",
                   hg_scaip_delivery_get_active_receiver (self->delivery), NULL);
}

/* The network path not in use failed its supervision: the ARC hears of it over the one in
 * use, as a technical alarm, once per outage of that path. */
static void
standby_supervision_changed_cb (HgScaipDelivery *delivery,
                                gboolean ok,
                                guint receiver,
                                const gchar *reason,
                                HgScaipPlugin *self)
{
  check_health (self);
  if (ok)
    {
      self->standby_alarm_raised = FALSE;
      return;
    }
  if (self->standby_alarm_raised)
    return;
  self->standby_alarm_raised = TRUE;
  raise_technical (self, "standby-path-supervision", receiver, NULL);
}

/* Delivery failed (PROTOCOL.md §6): the core records it, with the reason, as the state
 * delivery-failed, which the API shows staff and resident ("call 112 if it is urgent");
 * one technical alarm says so, and reaches the ARC when it answers again. The engine
 * emits this once per alarm, also across restarts. */
static void
alarm_failed_cb (HgScaipDelivery *delivery,
                 const gchar *ref,
                 const gchar *type,
                 const gchar *reason,
                 guint receivers,
                 HgScaipPlugin *self)
{
  g_autoptr(JsonObject) detail = json_object_new ();
  JsonArray *names = json_array_new ();
  ReportData *data = g_new0 (ReportData, 1);

  check_health (self);
  json_object_set_string_member (detail, "reason", reason);
  for (guint i = 0; i < hg_scaip_sip_get_n_receivers (self->sip); i++)
    if ((receivers & (1u << i)) != 0)
      json_array_add_string_element (names, hg_scaip_sip_get_receiver_name (self->sip, i));
  json_object_set_array_member (detail, "receivers", names);
  json_object_set_int_member (detail, "delivery-timeout", self->timers.delivery_timeout);
  data->ref = g_strdup (ref);
  data->state = HG_ALARM_STATE_DELIVERY_FAILED;
  hg_context_report_alarm_async (get_context (self), ref, HG_ALARM_STATE_DELIVERY_FAILED, detail,
                                 self->cancellable, reported_cb, data);
  /* a technical alarm about an undeliverable technical alarm would never end */
  if (g_strcmp0 (type, "technical") == 0 || g_hash_table_contains (self->failed_raised, ref))
    return;
  g_hash_table_add (self->failed_raised, g_strdup (ref));
  raise_technical (self, g_strcmp0 (reason, "message-error") == 0 ? reason : "delivery-failed",
                   hg_scaip_delivery_get_active_receiver (self->delivery), ref);
}

static void
delivery_changed_cb (HgScaipDelivery *delivery, HgScaipPlugin *self)
{
  check_health (self);
}

/* voice */

static void
report_speech (HgScaipPlugin *self)
{
  g_autoptr(JsonObject) detail = json_object_new ();
  ReportData *data = g_new0 (ReportData, 1);

  json_object_set_string_member (detail, "codec", hg_scaip_media_get_codec (self->media));
  json_object_set_boolean_member (detail, "srtp", hg_scaip_media_get_srtp (self->media));
  json_object_set_string_member (detail, "direction",
                                 self->call_outgoing ? "outgoing" : "incoming");
  data->ref = g_strdup (self->call_ref);
  data->state = HG_ALARM_STATE_SPEECH_CONNECTED;
  hg_context_report_alarm_async (get_context (self), self->call_ref,
                                 HG_ALARM_STATE_SPEECH_CONNECTED, detail, self->cancellable,
                                 reported_cb, data);
}

static void
media_audio_received_cb (HgScaipMedia *media, gdouble db, HgScaipPlugin *self)
{
  LOG_CALL (self, G_LOG_LEVEL_MESSAGE, "alarm %s: receiving audio from the ARC (level %.1f dBFS)",
            self->call_ref, db);
}

static void
media_failed_cb (HgScaipMedia *media, const gchar *message, HgScaipPlugin *self)
{
  LOG_CALL (self, G_LOG_LEVEL_WARNING, "alarm %s: voice call audio failed: %s; hanging up",
            self->call_ref, message);
  hg_scaip_sip_hang_up (self->sip, self->call_id);
}

static void
end_call (HgScaipPlugin *self)
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
handle_dtmf (HgScaipPlugin *self, gchar digit, const gchar *how)
{
  if (self->call_id == 0 || self->media == NULL)
    return;
  switch (digit)
    {
    case '0':
      LOG_CALL (self, G_LOG_LEVEL_MESSAGE,
                "alarm %s: the ARC cleared the call down (DTMF 0, %s): hanging up",
                self->call_ref, how);
      hg_scaip_sip_hang_up (self->sip, self->call_id);
      break;
    case '1':
    case '3':
      LOG_CALL (self, G_LOG_LEVEL_MESSAGE, "alarm %s: speaker volume %s to %.0f %% (DTMF %c, %s)",
                self->call_ref, digit == '1' ? "down" : "up",
                100.0 * hg_scaip_media_change_speaker_volume (self->media,
                                                              digit == '1' ? -0.25 : 0.25),
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
media_dtmf_cb (HgScaipMedia *media, gint digit, HgScaipPlugin *self)
{
  handle_dtmf (self, (gchar) digit, "RFC 4733");
}

static void
call_dtmf_cb (HgScaipSip *sip, guint call, gint digit, HgScaipPlugin *self)
{
  if (call == self->call_id)
    handle_dtmf (self, (gchar) digit, "SIP INFO");
}

/* Starts the media of a negotiated call; FALSE (logged) if it cannot. */
static gboolean
start_media (HgScaipPlugin *self)
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
alarm_awaiting_voice (HgScaipPlugin *self)
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
caller_allowed (HgScaipPlugin *self, const gchar *from)
{
  const gchar *at = strrchr (from, '@');
  const gchar *host = at != NULL ? at + 1 : from;

  if (self->voice_callers != NULL)
    {
      for (guint i = 0; self->voice_callers[i] != NULL; i++)
        if (g_ascii_strcasecmp (self->voice_callers[i], host) == 0)
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
new_media (HgScaipPlugin *self, const gchar *path_address, const gchar *fallback, GError **error)
{
  const gchar *address = self->media_address != NULL ? self->media_address
                         : path_address != NULL      ? path_address
                                                     : fallback;

  return hg_scaip_media_new (address, path_address, self->codecs, self->srtp,
                             self->audio_source, self->audio_sink, error);
}

static void
call_incoming_cb (
    HgScaipSip *sip, guint call, const gchar *from, const gchar *offer, HgScaipPlugin *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *answer = NULL;
  const gchar *ref;

  if (self->voice == VOICE_OFF)
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
  self->media
      = new_media (self, hg_scaip_sip_get_call_local_address (sip, call), NULL, &error);
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
call_answered_cb (HgScaipSip *sip, guint call, const gchar *answer, HgScaipPlugin *self)
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
place_call (HgScaipPlugin *self, const gchar *ref, guint receiver, const gchar *transfer)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *offer = NULL;
  g_autofree gchar *local = NULL;
  g_autofree gchar *transfer_host = transfer != NULL ? hg_scaip_sip_uri_host (transfer) : NULL;
  const gchar *uri
      = transfer != NULL ? transfer : hg_scaip_sip_get_receiver_uri (self->sip, receiver);
  const gchar *path_address = hg_scaip_sip_get_receiver_local_address (self->sip, receiver);

  /* the address that routes to the receiver goes into our offer */
  if (path_address == NULL && self->media_address == NULL)
    local = hg_scaip_media_local_address_for (transfer_host != NULL
                                                  ? transfer_host
                                                  : hg_scaip_sip_get_receiver_host (self->sip,
                                                                                    receiver));
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
dial_clear (HgScaipPlugin *self)
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
dial_give_up (HgScaipPlugin *self, const gchar *why)
{
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "HG_ALARM_REF", self->dial_ref, "MESSAGE",
                    "alarm %s: no voice call with the ARC, given up after %u attempt%s: %s",
                    self->dial_ref, self->dial_attempts, self->dial_attempts == 1 ? "" : "s", why);
  dial_clear (self);
}

static void
dial (HgScaipPlugin *self)
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
  HgScaipPlugin *self = user_data;

  self->dial_retry_id = 0;
  dial (self);
  return G_SOURCE_REMOVE;
}

static gboolean
dial_deadline_cb (gpointer user_data)
{
  HgScaipPlugin *self = user_data;
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
dial_start (HgScaipPlugin *self, const gchar *ref, guint receiver, const gchar *transfer)
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
dial_failed (HgScaipPlugin *self, guint status, const gchar *reason, guint retry_after)
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
call_active_cb (HgScaipSip *sip, guint call, HgScaipPlugin *self)
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
  report_speech (self);
}

static void
call_ended_cb (HgScaipSip *sip,
               guint call,
               guint status,
               const gchar *reason,
               guint retry_after,
               HgScaipPlugin *self)
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

static void
voice_requested_cb (HgScaipDelivery *delivery,
                    const gchar *ref,
                    guint receiver,
                    guint mre,
                    gint cre,
                    const gchar *transfer,
                    HgScaipPlugin *self)
{
  gint64 *end;
  guint window = self->voice_window;

  /* nobody pressed anything: the microphone stays shut */
  if (g_hash_table_contains (self->quiet, ref))
    {
      g_message ("alarm %s: the ARC asks for voice, but it is a test or technical alarm; "
                 "no call is taken",
                 ref);
      return;
    }

  if (self->voice == VOICE_OFF)
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
               ref, self->voice == VOICE_CALL ? "call" : "answer");
  if (self->voice == VOICE_CALL)
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
static void
forget_voice (HgScaipPlugin *self, const gchar *ref)
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

/* the physical button */

static void
button_raised_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree gchar *name = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *ref = hg_context_raise_alarm_finish (HG_CONTEXT (source), result, &error);

  if (ref == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("button %s pressed but no alarm raised: %s", name, error->message);
      return;
    }
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "HG_ALARM_REF", ref, "MESSAGE",
                    "button %s pressed: alarm %s raised", name, ref);
}

static void
button_pressed_cb (HgScaipButton *button, HgScaipPlugin *self)
{
  g_autoptr(HgAlarm) alarm = hg_alarm_new (self->button_type);
  g_autoptr(JsonObject) detail = json_object_new ();

  hg_alarm_set_device (alarm, self->button_name);
  if (self->button_location != NULL)
    hg_alarm_set_location (alarm, self->button_location);
  json_object_set_string_member (detail, "input", "evdev");
  json_object_set_int_member (detail, "key", self->button_key);
  hg_alarm_set_detail (alarm, detail);
  hg_context_raise_alarm_async (get_context (self), alarm, self->cancellable, button_raised_cb,
                                g_strdup (self->button_name));
}

static void
registration_changed_cb (
    HgScaipSip *sip, guint receiver, gboolean registered, guint status, HgScaipPlugin *self)
{
  check_health (self);
}

/* start */

static void
password_stored_cb (GObject *source,
                    GAsyncResult *result,
                    gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!hg_context_store_secret_finish (HG_CONTEXT (source), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_message ("demo-password not stored as the secret %s: %s", PASSWORD_SECRET,
                   error->message);
      return;
    }
  g_message ("demo-password stored as the secret %s; remove it from the configuration",
             PASSWORD_SECRET);
}

/* In the order they are tried (PROTOCOL.md §6): the primary and secondary receivers over
 * the first network path, then over the second. */
static gboolean
add_receivers (HgScaipPlugin *self, GError **error)
{
  guint path2 = 0;
  const struct
  {
    const gchar *name;
    const gchar *uri;
    gboolean second_path;
  } receivers[] = {
    { "primary", self->primary, FALSE },
    { "secondary", self->secondary, FALSE },
    { "primary/path2", self->path2_primary, TRUE },
    { "secondary/path2", self->path2_secondary, TRUE },
  };

  if (self->path2_local_uri != NULL
      && (path2 = hg_scaip_sip_add_path (self->sip, self->path2_local_uri, error)) == G_MAXUINT)
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (receivers); i++)
    if (receivers[i].uri != NULL
        && hg_scaip_sip_add_receiver (self->sip, receivers[i].name, receivers[i].uri,
                                      receivers[i].second_path ? path2 : 0, error)
               == G_MAXUINT)
      return FALSE;
  return TRUE;
}

static gboolean
start_engine (HgScaipPlugin *self,
              const gchar *password,
              GError **error)
{
  HgScaipDeliveryConfig config = self->timers;

  self->sip = hg_scaip_sip_new (self->local_uri, self->aor, self->tls_dir, error);
  if (self->sip == NULL)
    return FALSE;
  hg_scaip_sip_set_credentials (self->sip, self->auth_user, password);
  if (!add_receivers (self, error))
    return FALSE;

  if (self->voice != VOICE_OFF
      && !hg_context_has_capability (get_context (self), "media.microphone"))
    {
      g_warning ("voice is configured but the capability media.microphone is not granted; "
                 "voice calls are refused");
      self->voice = VOICE_OFF;
    }
  if (self->sounds && !g_file_test (self->sound_dir, G_FILE_TEST_IS_DIR))
    g_warning ("sound-dir %s is not a directory: no local sounds", self->sound_dir);
  else if (self->sounds)
    self->player = hg_scaip_sounds_new (self->sound_dir, self->sound_language, self->sound_sink);
  if (self->button_device != NULL)
    {
      self->button
          = hg_scaip_button_new (self->button_device, self->button_key, self->button_debounce);
      g_signal_connect_object (self->button, "pressed", G_CALLBACK (button_pressed_cb), self, 0);
      hg_scaip_button_start (self->button);
    }
  /* the ARC calling back is the standard's callback (cha=1) */
  config.callback = self->voice == VOICE_ANSWER;
  config.controller_id = self->controller_id;
  config.caller_ids = (const gchar *const *) self->caller_ids;
  self->delivery = hg_scaip_delivery_new (self->sip, &config);
  g_signal_connect_object (self->delivery, "alarm-delivered", G_CALLBACK (alarm_delivered_cb), self,
                           0);
  g_signal_connect_object (self->delivery, "alarm-ref-changed", G_CALLBACK (alarm_ref_changed_cb),
                           self, 0);
  g_signal_connect_object (self->delivery, "alarm-acknowledged", G_CALLBACK (alarm_acknowledged_cb),
                           self, 0);
  g_signal_connect_object (self->delivery, "alarm-failed", G_CALLBACK (alarm_failed_cb), self, 0);
  g_signal_connect_object (self->delivery, "changed", G_CALLBACK (delivery_changed_cb), self, 0);
  g_signal_connect_object (self->delivery, "supervision-changed",
                           G_CALLBACK (supervision_changed_cb), self, 0);
  g_signal_connect_object (self->delivery, "standby-supervision-changed",
                           G_CALLBACK (standby_supervision_changed_cb), self, 0);
  g_signal_connect_object (self->delivery, "voice-requested", G_CALLBACK (voice_requested_cb), self,
                           0);
  g_signal_connect_object (self->sip, "call-incoming", G_CALLBACK (call_incoming_cb), self, 0);
  g_signal_connect_object (self->sip, "call-answered", G_CALLBACK (call_answered_cb), self, 0);
  g_signal_connect_object (self->sip, "call-active", G_CALLBACK (call_active_cb), self, 0);
  g_signal_connect_object (self->sip, "call-ended", G_CALLBACK (call_ended_cb), self, 0);
  g_signal_connect_object (self->sip, "call-dtmf", G_CALLBACK (call_dtmf_cb), self, 0);
  /* with voice off too: a call is then refused here, with a log line, not by the stack */
  hg_scaip_sip_enable_calls (self->sip);
  g_signal_connect_object (self->sip, "registration-changed", G_CALLBACK (registration_changed_cb),
                           self, 0);
  hg_scaip_delivery_start (self->delivery);
  self->health_id = g_timeout_add_seconds (HEALTH_CHECK_SECONDS, health_timeout_cb, self);
  g_message ("delivering alarms to %s%s%s as %s (heartbeat %s)", self->primary,
             self->secondary != NULL ? ", then " : "",
             self->secondary != NULL ? self->secondary : "", self->aor,
             self->timers.heartbeat_interval > 0 ? "on" : "off");
  return TRUE;
}

static void
password_found_cb (GObject *source,
                   GAsyncResult *result,
                   gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  HgScaipPlugin *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) start_error = NULL;
  g_autofree gchar *password
      = hg_context_lookup_secret_finish (HG_CONTEXT (source), result, &error);
  const gchar *use = password;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (password == NULL && self->demo_password != NULL)
    {
      g_warning ("secret %s not available (%s); using demo-password from the configuration",
                 PASSWORD_SECRET, error->message);
      use = self->demo_password;
      /* first start: keep it where it belongs, if the store is there */
      if (g_error_matches (error, HG_ERROR, HG_ERROR_NOT_FOUND))
        hg_context_store_secret_async (get_context (self), PASSWORD_SECRET, self->demo_password,
                                       self->cancellable, password_stored_cb, NULL);
    }
  else if (password == NULL)
    {
      /* the alarm path runs anyway: the ARC may not challenge */
      g_warning ("no SIP password: secret %s: %s; Digest challenges will not be answered",
                 PASSWORD_SECRET, error->message);
    }
  if (!start_engine (self, use, &start_error))
    {
      g_clear_object (&self->delivery);
      g_clear_object (&self->sip);
      g_task_return_new_error (task, HG_ERROR, HG_ERROR_UNAVAILABLE, "SIP: %s",
                               start_error->message);
    }
  else
    {
      g_task_return_boolean (task, TRUE);
    }
  if (password != NULL)
    memset (password, 0, strlen (password));
}

static void
hg_scaip_plugin_start_async (HgPlugin *plugin,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data)
{
  HgScaipPlugin *self = HG_SCAIP_PLUGIN (plugin);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, hg_scaip_plugin_start_async);
  if (self->aor == NULL)
    {
      g_task_return_new_error (task, HG_ERROR, HG_ERROR_INVALID_DATA, "%s", "not configured");
      return;
    }
  hg_context_lookup_secret_async (get_context (self), PASSWORD_SECRET, self->cancellable,
                                  password_found_cb, g_steal_pointer (&task));
}

static gboolean
hg_scaip_plugin_start_finish (HgPlugin *plugin,
                              GAsyncResult *result,
                              GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, plugin), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* stop */

/* Completes the stop task once, whichever of the shutdown and the timeout comes first. */
static void
stop_return (GTask *task)
{
  if (g_task_get_task_data (task) != NULL)
    return;
  g_task_set_task_data (task, GINT_TO_POINTER (1), NULL);
  g_task_return_boolean (task, TRUE);
}

static gboolean
stop_timeout_cb (gpointer user_data)
{
  stop_return (G_TASK (user_data));
  return G_SOURCE_REMOVE;
}

static void
sip_shut_down_cb (GObject *source,
                  GAsyncResult *result,
                  gpointer user_data)
{
  g_autoptr(GTask) task = user_data;

  hg_scaip_sip_shutdown_finish (HG_SCAIP_SIP (source), result, NULL);
  stop_return (task);
}

static void
hg_scaip_plugin_stop_async (HgPlugin *plugin,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data)
{
  HgScaipPlugin *self = HG_SCAIP_PLUGIN (plugin);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, hg_scaip_plugin_stop_async);
  if (self->delivery != NULL)
    hg_scaip_delivery_stop (self->delivery);
  g_clear_handle_id (&self->health_id, g_source_remove);
  dial_clear (self);
  end_call (self);
  if (self->sip == NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  /* unregistering may wait on a silent registrar: the host must still exit promptly */
  g_timeout_add_full (G_PRIORITY_DEFAULT, STOP_TIMEOUT_MS, stop_timeout_cb, g_object_ref (task),
                      g_object_unref);
  hg_scaip_sip_shutdown_async (self->sip, NULL, sip_shut_down_cb, g_steal_pointer (&task));
}

static gboolean
hg_scaip_plugin_stop_finish (HgPlugin *plugin,
                             GAsyncResult *result,
                             GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, plugin), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* events: must not block */

static void
hg_scaip_plugin_handle_event (HgPlugin *plugin,
                              HgEvent *event)
{
  HgScaipPlugin *self = HG_SCAIP_PLUGIN (plugin);
  const gchar *type = hg_event_get_event_type (event);
  JsonObject *body = hg_event_get_body (event);
  g_autoptr(GError) error = NULL;
  const gchar *ref = NULL;

  if (self->delivery == NULL || body == NULL)
    return;
  if (g_strcmp0 (type, "alarm.raised") == 0)
    {
      g_autoptr(HgAlarm) alarm = hg_alarm_new_from_json (body, &error);

      if (alarm == NULL || !hg_scaip_delivery_add_alarm (self->delivery, alarm, &error))
        {
          g_warning ("alarm.raised %" G_GUINT64_FORMAT " not delivered: %s",
                     hg_event_get_seq (event), error->message);
          return;
        }
      if (g_strcmp0 (hg_alarm_get_alarm_type (alarm), "test") == 0
          || g_strcmp0 (hg_alarm_get_alarm_type (alarm), "technical") == 0)
        g_hash_table_add (self->quiet, g_strdup (hg_alarm_get_reference (alarm)));
      sound_alarm_raised (self, alarm);
      return;
    }
  if (g_strcmp0 (type, "alarm.cancelled") != 0 && g_strcmp0 (type, "alarm.closed") != 0)
    return;
  if (!hg_json_object_get_string (body, "ref", &ref, &error))
    {
      g_warning ("%s %" G_GUINT64_FORMAT " ignored: %s", type, hg_event_get_seq (event),
                 error->message);
      return;
    }
  forget_voice (self, ref);
  sound_alarm_ended (self, ref, g_strcmp0 (type, "alarm.cancelled") == 0);
  g_hash_table_remove (self->quiet, ref);
  if (g_strcmp0 (type, "alarm.cancelled") == 0)
    {
      g_autoptr(HgAlarm) alarm = NULL;
      JsonObject *record = NULL;

      /* the record, for an abort after a restart that lost the alarm's session */
      if (json_object_has_member (body, "alarm")
          && (!hg_json_object_get_object (body, "alarm", &record, &error)
              || (alarm = hg_alarm_new_from_json (record, &error)) == NULL))
        {
          g_warning ("alarm.cancelled %" G_GUINT64_FORMAT ": the alarm it carries is ignored: %s",
                     hg_event_get_seq (event), error->message);
          g_clear_error (&error);
        }
      hg_scaip_delivery_cancel_alarm (self->delivery, ref, alarm);
    }
  else
    hg_scaip_delivery_close_alarm (self->delivery, ref);
}

static void
hg_scaip_plugin_dispose (GObject *object)
{
  HgScaipPlugin *self = HG_SCAIP_PLUGIN (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->health_id, g_source_remove);
  dial_clear (self);
  end_call (self);
  g_clear_object (&self->player);
  g_clear_object (&self->button);
  g_clear_object (&self->delivery);
  g_clear_object (&self->sip);
  G_OBJECT_CLASS (hg_scaip_plugin_parent_class)->dispose (object);
}

static void
hg_scaip_plugin_finalize (GObject *object)
{
  HgScaipPlugin *self = HG_SCAIP_PLUGIN (object);

  g_free (self->aor);
  g_free (self->auth_user);
  g_free (self->primary);
  g_free (self->secondary);
  g_free (self->controller_id);
  g_strfreev (self->caller_ids);
  g_free (self->local_uri);
  g_free (self->path2_local_uri);
  g_free (self->path2_primary);
  g_free (self->path2_secondary);
  g_free (self->tls_dir);
  if (self->demo_password != NULL)
    memset (self->demo_password, 0, strlen (self->demo_password));
  g_free (self->demo_password);
  g_hash_table_unref (self->failed_raised);
  g_hash_table_unref (self->awaiting_voice);
  g_free (self->audio_source);
  g_free (self->audio_sink);
  g_free (self->codecs);
  g_free (self->media_address);
  g_strfreev (self->voice_callers);
  g_free (self->sound_language);
  g_free (self->sound_dir);
  g_free (self->sound_sink);
  g_free (self->button_device);
  g_free (self->button_type);
  g_free (self->button_location);
  g_free (self->button_name);
  g_hash_table_unref (self->sounded);
  g_hash_table_unref (self->quiet);
  g_hash_table_unref (self->voice_mre);
  g_object_unref (self->cancellable);
  G_OBJECT_CLASS (hg_scaip_plugin_parent_class)->finalize (object);
}

static void
hg_scaip_plugin_class_init (HgScaipPluginClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  HgPluginClass *plugin_class = HG_PLUGIN_CLASS (klass);

  object_class->dispose = hg_scaip_plugin_dispose;
  object_class->finalize = hg_scaip_plugin_finalize;
  plugin_class->configure = hg_scaip_plugin_configure;
  plugin_class->start_async = hg_scaip_plugin_start_async;
  plugin_class->start_finish = hg_scaip_plugin_start_finish;
  plugin_class->stop_async = hg_scaip_plugin_stop_async;
  plugin_class->stop_finish = hg_scaip_plugin_stop_finish;
  plugin_class->handle_event = hg_scaip_plugin_handle_event;
}

static void
hg_scaip_plugin_init (HgScaipPlugin *self)
{
  self->cancellable = g_cancellable_new ();
  self->failed_raised = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->awaiting_voice = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->sounded = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->quiet = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->voice_mre = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/* The one symbol the module exports; it returns the type and does nothing else. */
HG_PLUGIN_EXPORT GType hg_plugin_query_type (void);

GType
hg_plugin_query_type (void)
{
  return HG_TYPE_SCAIP_PLUGIN;
}
