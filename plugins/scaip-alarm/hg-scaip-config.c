/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgScaipConfig: reads the plugin's keys from an HgConfig into a plain reference-counted
 * struct. Every key is checked here, an unknown one too, so that a typo fails configure ()
 * with the key named instead of leaving an alarm without, say, its failover. */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "hg-scaip-config.h"
#include "hg-scaip-sip.h"

/* The voice mode without a `voice` key: the unit places the call, as the standard has it
 * (PROTOCOL.md §9). */
#define DEFAULT_VOICE "call"

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

/* In the order of HgScaipVoiceMode and HgScaipSrtp. */
static const gchar *const voice_modes[] = { "off", "answer", "call", NULL };
static const gchar *const srtp_modes[] = { "off", "optional", "required", NULL };

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
  *out = (guint)value;
  return TRUE;
}

static void
hg_scaip_config_clear (HgScaipConfig *self)
{
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
}

HgScaipConfig *
hg_scaip_config_ref (HgScaipConfig *self)
{
  return g_atomic_rc_box_acquire (self);
}

void
hg_scaip_config_unref (HgScaipConfig *self)
{
  g_atomic_rc_box_release_full (self, (GDestroyNotify)hg_scaip_config_clear);
}

static gboolean
parse (HgScaipConfig *self,
       HgConfig *config,
       GError **error)
{
  g_auto(GStrv) keys = hg_config_get_keys (config);
  g_auto(GStrv) caller_ids = NULL;
  const gchar *controller_id = hg_config_get_string (config, "controller-id", NULL);
  const gchar *caller_id = hg_config_get_string (config, "caller-id", NULL);
  const gchar *auth_user = hg_config_get_string (config, "auth-user", NULL);
  HgScaipDeliveryConfig *timers = &self->timers;

  /* a typo in "secondary" must not silently leave the alarm without its failover */
  for (guint i = 0; keys[i] != NULL; i++)
    {
      if (!g_strv_contains (known_keys, keys[i]))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "%s: unknown key", keys[i]);
          return FALSE;
        }
    }
  if (!get_uri (config, "aor", TRUE, TRUE, &self->aor, error)
      || !get_uri (config, "primary", TRUE, FALSE, &self->primary, error)
      || !get_uri (config, "secondary", FALSE, FALSE, &self->secondary, error))
    return FALSE;
  self->local_uri = g_strdup (hg_config_get_string (config, "local-uri", "sip:*:*"));
  if (!hg_scaip_sip_check_uri (self->local_uri, FALSE, NULL))
    return bad_key (error, "local-uri", self->local_uri, "is not a sip: URI with a host");
  if (!get_path2 (config, self->local_uri, self->primary, self->secondary, &self->path2_local_uri,
                  &self->path2_primary, &self->path2_secondary, error))
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
                    : self->aor;
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
            if ((guchar)caller_ids[i][j] < 33 || (guchar)caller_ids[i][j] > 126)
              return bad_key (error, "caller-id", caller_ids[i], "is not printable ASCII");
          }
        g_strv_builder_add (builder, caller_ids[i]);
      }
    self->caller_ids = g_strv_builder_end (builder);
  }
  if (!hg_config_get_boolean (config, "register", TRUE, &timers->register_, error)
      || !get_seconds (config, "register-expires", 600, 60, 86400, &timers->register_expires, error)
      || !get_seconds (config, "answer-timeout", 5, 1, 60, &timers->answer_timeout, error)
      || !get_seconds (config, "failover-timeout", 10, 1, 600, &timers->failover_timeout, error)
      || !get_seconds (config, "retry-max", 30, 1, 600, &timers->retry_max, error)
      || !get_seconds (config, "hold-interval", 5, 5, 20, &timers->hold_interval, error)
      || !get_seconds (config, "hold-max", 180, 180, 1800, &timers->hold_max, error)
      || !get_seconds (config, "heartbeat-interval", 300, 0, 86400, &timers->heartbeat_interval,
                       error)
      || !get_seconds (config, "delivery-timeout", 60, 1, 3600, &timers->delivery_timeout, error)
      /* a count, not seconds: how many alarms one receiver is sent before it answers */
      || !get_seconds (config, "max-in-flight", 16, 1, 256, &timers->max_in_flight, error))
    return FALSE;
  {
    const gchar *voice = hg_config_get_string (config, "voice", DEFAULT_VOICE);
    const gchar *srtp = hg_config_get_string (config, "srtp", "optional");
    const gchar *codecs = hg_config_get_string (config, "codecs", "PCMU PCMA opus");
    const gchar *media_address = hg_config_get_string (config, "media-address", NULL);
    const gchar *source = hg_config_get_string (config, "audio-source", "autoaudiosrc");
    const gchar *sink = hg_config_get_string (config, "audio-sink", "autoaudiosink");
    const gchar *callers = hg_config_get_string (config, "voice-callers", NULL);
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
    if (callers != NULL)
      {
        g_auto(GStrv) hosts = g_strsplit_set (callers, " ,\t", -1);
        g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

        for (guint i = 0; hosts[i] != NULL; i++)
          if (hosts[i][0] != '\0')
            g_strv_builder_add (builder, hosts[i]);
        self->voice_callers = g_strv_builder_end (builder);
        if (self->voice_callers[0] == NULL)
          return bad_key (error, "voice-callers", callers, "names no host");
      }
    for (guint i = 0; voice_modes[i] != NULL; i++)
      if (g_strcmp0 (voice_modes[i], voice) == 0)
        self->voice = (HgScaipVoiceMode)i;
    for (guint i = 0; srtp_modes[i] != NULL; i++)
      if (g_strcmp0 (srtp_modes[i], srtp) == 0)
        self->srtp = (HgScaipSrtp)i;
    self->codecs = g_strdup (codecs);
    self->media_address = g_strdup (media_address);
    self->audio_source = g_strdup (source);
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
    self->sound_language = g_strdup (language);
    self->sound_dir = g_strdup (hg_config_get_string (config, "sound-dir", HG_SCAIP_SOUNDDIR));
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
    self->button_device = g_strdup (device);
    self->button_key = (guint)key;
    self->button_debounce = (guint)debounce;
    self->button_type = g_strdup (type);
    self->button_location = g_strdup (location);
    self->button_name = name != NULL     ? g_strdup (name)
                        : device != NULL ? g_path_get_basename (device)
                                         : NULL;
  }
  {
    const gchar *tls_dir = hg_config_get_string (config, "tls-dir", NULL);
    gboolean needs_tls = uses_tls (self->primary) || uses_tls (self->secondary);
    const struct
    {
      const gchar *key;
      const gchar *uri;
    } others[] = { { "secondary", self->secondary },
                   { "path2-primary", self->path2_primary },
                   { "path2-secondary", self->path2_secondary } };

    /* Sofia-SIP then registers one (sips:) contact with every receiver, which a
     * receiver without TLS cannot answer: all use TLS or none */
    for (gsize i = 0; i < G_N_ELEMENTS (others); i++)
      if (others[i].uri != NULL && uses_tls (self->primary) != uses_tls (others[i].uri))
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
    /* a TLS transport only for TLS receivers: it would change the contact of the others */
    self->tls_dir = needs_tls ? g_strdup (tls_dir) : NULL;
  }
  if (timers->heartbeat_interval > 0 && timers->heartbeat_interval < 5)
    {
      g_autofree gchar *value = g_strdup_printf ("%u", timers->heartbeat_interval);
      return bad_key (error, "heartbeat-interval", value, "is neither 0 (off) nor 5 to 86400");
    }
  self->controller_id = g_strdup (controller_id);
  self->auth_user = g_strdup (auth_user);
  self->demo_password = g_strdup (hg_config_get_string (config, "demo-password", NULL));
  return TRUE;
}

/**
 * hg_scaip_config_new:
 * @config: the plugin instance's configuration
 * @error: the first key that is unknown, missing or wrong, named in the message
 *
 * Returns: (transfer full) (nullable): the configuration, or %NULL with @error set
 */
HgScaipConfig *
hg_scaip_config_new (HgConfig *config,
                     GError **error)
{
  g_autoptr(HgScaipConfig) self = g_atomic_rc_box_new0 (HgScaipConfig);

  if (!parse (self, config, error))
    return NULL;
  return g_steal_pointer (&self);
}
