/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgScaipPlugin: the scaip-alarm plugin, on the public plugin API only. It reads its
 * keys into an HgScaipConfig in configure (), looks up its SIP password in start (), then
 * hands every `alarm.raised` the core forwards to its HgScaipDelivery engine, and turns
 * what the engine reports into calls of HgContext: `delivered` and `acknowledged` reports,
 * which the core journals, and a local `technical` alarm when line supervision fails. The
 * voice calls the ARC asks for are HgScaipVoice's. */
#include <string.h>

#include <hemgate-plugin.h>

#include "hg-scaip-button.h"
#include "hg-scaip-config.h"
#include "hg-scaip-delivery.h"
#include "hg-scaip-plugin.h"
#include "hg-scaip-sip.h"
#include "hg-scaip-sounds.h"
#include "hg-scaip-voice.h"

/* The secret holding the Digest password (README.md, "Configuration"). */
#define PASSWORD_SECRET "sip-password"
/* How often the health report is checked for changes (it is sent only when changed), and
 * the wall clock for a step. */
#define HEALTH_CHECK_SECONDS 5
/* How long stop () waits for the SIP stack to unregister before it gives up. */
#define STOP_TIMEOUT_MS 1500
/* The device named in the technical alarms the plugin raises. */
#define OWN_DEVICE "scaip-alarm"

/* The feedback already given for an alarm (bits of HgScaipPlugin.sounded's values). */
enum
{
  SOUNDED_TONE = 1 << 0,
  SOUNDED_SENT = 1 << 1,
  SOUNDED_HELP = 1 << 2,
};

struct _HgScaipPlugin
{
  HgPlugin parent_instance;

  HgScaipConfig *config; /* (owned) (nullable) set by configure () */

  HgScaipSip *sip;            /* (owned) (nullable) while running */
  HgScaipDelivery *delivery;  /* (owned) (nullable) while running */
  HgScaipVoice *voice;        /* (owned) (nullable) while running */
  GCancellable *cancellable;  /* (owned) for calls of the context */
  gboolean line_alarm_raised;    /* in the current outage */
  gboolean standby_alarm_raised; /* in the current outage of the standby path */
  GHashTable *failed_raised;  /* (owned) refs a technical alarm was raised for */

  HgScaipButton *button; /* (owned) (nullable) without button-device */
  guint health_id;       /* the periodic check */
  gchar *last_health;    /* (owned) (nullable) the last report, as sent */
  HgScaipSounds *player; /* (owned) (nullable) unless sounds are off */
  GHashTable *sounded;   /* (owned) ref → SOUNDED_ bits, for the resident's own alarms */
  GHashTable *quiet;     /* (owned) refs of test and technical alarms: no sound, no call */
};

G_DEFINE_TYPE (HgScaipPlugin, hg_scaip_plugin, HG_TYPE_PLUGIN)

static HgContext *
get_context (HgScaipPlugin *self)
{
  return hg_plugin_get_context (HG_PLUGIN (self));
}

/* configuration */

static gboolean
hg_scaip_plugin_configure (HgPlugin *plugin,
                           HgConfig *config,
                           GError **error)
{
  HgScaipPlugin *self = HG_SCAIP_PLUGIN (plugin);
  g_autoptr(HgScaipConfig) parsed = hg_scaip_config_new (config, error);

  if (parsed == NULL)
    return FALSE;
  g_clear_pointer (&self->last_health, g_free);
  g_clear_pointer (&self->config, hg_scaip_config_unref);
  self->config = g_steal_pointer (&parsed);
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
      if (self->config->timers.register_)
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
  json_object_set_boolean_member (health, "in_call",
                                  self->voice != NULL && hg_scaip_voice_in_call (self->voice));
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
  json_object_set_int_member (detail, "delivery-timeout", self->config->timers.delivery_timeout);
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
speech_connected_cb (HgScaipVoice *voice,
                     const gchar *ref,
                     const gchar *codec,
                     gboolean srtp,
                     gboolean outgoing,
                     HgScaipPlugin *self)
{
  g_autoptr(JsonObject) detail = json_object_new ();
  ReportData *data = g_new0 (ReportData, 1);

  json_object_set_string_member (detail, "codec", codec);
  json_object_set_boolean_member (detail, "srtp", srtp);
  json_object_set_string_member (detail, "direction", outgoing ? "outgoing" : "incoming");
  data->ref = g_strdup (ref);
  data->state = HG_ALARM_STATE_SPEECH_CONNECTED;
  hg_context_report_alarm_async (get_context (self), ref, HG_ALARM_STATE_SPEECH_CONNECTED, detail,
                                 self->cancellable, reported_cb, data);
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
  /* nobody pressed anything: the microphone stays shut */
  if (g_hash_table_contains (self->quiet, ref))
    {
      g_message ("alarm %s: the ARC asks for voice, but it is a test or technical alarm; "
                 "no call is taken",
                 ref);
      return;
    }
  hg_scaip_voice_request (self->voice, ref, receiver, mre, cre, transfer);
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
  g_autoptr(HgAlarm) alarm = hg_alarm_new (self->config->button_type);
  g_autoptr(JsonObject) detail = json_object_new ();

  hg_alarm_set_device (alarm, self->config->button_name);
  if (self->config->button_location != NULL)
    hg_alarm_set_location (alarm, self->config->button_location);
  json_object_set_string_member (detail, "input", "evdev");
  json_object_set_int_member (detail, "key", self->config->button_key);
  hg_alarm_set_detail (alarm, detail);
  hg_context_raise_alarm_async (get_context (self), alarm, self->cancellable, button_raised_cb,
                                g_strdup (self->config->button_name));
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
    { "primary", self->config->primary, FALSE },
    { "secondary", self->config->secondary, FALSE },
    { "primary/path2", self->config->path2_primary, TRUE },
    { "secondary/path2", self->config->path2_secondary, TRUE },
  };

  if (self->config->path2_local_uri != NULL
      && (path2 = hg_scaip_sip_add_path (self->sip, self->config->path2_local_uri, error))
             == G_MAXUINT)
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
  HgScaipDeliveryConfig config = self->config->timers;

  self->sip
      = hg_scaip_sip_new (self->config->local_uri, self->config->aor, self->config->tls_dir, error);
  if (self->sip == NULL)
    return FALSE;
  hg_scaip_sip_set_credentials (self->sip, self->config->auth_user, password);
  if (!add_receivers (self, error))
    return FALSE;

  if (self->config->voice != HG_SCAIP_VOICE_OFF
      && !hg_context_has_capability (get_context (self), HG_CAPABILITY_MEDIA_MICROPHONE))
    {
      g_warning ("voice is configured but the capability media.microphone is not granted; "
                 "voice calls are refused");
      self->config->voice = HG_SCAIP_VOICE_OFF;
    }
  if (self->config->sounds && !g_file_test (self->config->sound_dir, G_FILE_TEST_IS_DIR))
    g_warning ("sound-dir %s is not a directory: no local sounds", self->config->sound_dir);
  else if (self->config->sounds)
    self->player = hg_scaip_sounds_new (self->config->sound_dir, self->config->sound_language,
                                        self->config->sound_sink);
  if (self->config->button_device != NULL)
    {
      self->button = hg_scaip_button_new (self->config->button_device, self->config->button_key,
                                          self->config->button_debounce);
      g_signal_connect_object (self->button, "pressed", G_CALLBACK (button_pressed_cb), self, 0);
      hg_scaip_button_start (self->button);
    }
  /* the ARC calling back is the standard's callback (cha=1) */
  config.callback = self->config->voice == HG_SCAIP_VOICE_ANSWER;
  config.controller_id = self->config->controller_id;
  config.caller_ids = (const gchar *const *)self->config->caller_ids;
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
  self->voice = hg_scaip_voice_new (self->sip, self->config, self->config->voice);
  g_signal_connect_object (self->voice, "speech-connected", G_CALLBACK (speech_connected_cb), self,
                           0);
  /* with voice off too: a call is then refused here, with a log line, not by the stack */
  hg_scaip_sip_enable_calls (self->sip);
  g_signal_connect_object (self->sip, "registration-changed", G_CALLBACK (registration_changed_cb),
                           self, 0);
  hg_scaip_delivery_start (self->delivery);
  self->health_id = g_timeout_add_seconds (HEALTH_CHECK_SECONDS, health_timeout_cb, self);
  g_message ("delivering alarms to %s%s%s as %s (heartbeat %s)", self->config->primary,
             self->config->secondary != NULL ? ", then " : "",
             self->config->secondary != NULL ? self->config->secondary : "", self->config->aor,
             self->config->timers.heartbeat_interval > 0 ? "on" : "off");
  return TRUE;
}

/* An operator set or removed the SIP password on the running gateway: use it from now on
 * and register again with each receiver, without a restart. */
static void
password_changed_cb (GObject *source,
                     GAsyncResult *result,
                     gpointer user_data)
{
  HgScaipPlugin *self;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *password
      = hg_context_lookup_secret_finish (HG_CONTEXT (source), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = HG_SCAIP_PLUGIN (user_data);
  if (self->sip == NULL)
    return;
  if (password == NULL)
    g_warning ("the secret %s changed but cannot be read (%s); Digest challenges will not be "
               "answered",
               PASSWORD_SECRET, error->message);
  else
    g_message ("the secret %s changed; registering again with it", PASSWORD_SECRET);
  hg_scaip_sip_set_credentials (self->sip, self->config->auth_user, password);
  if (self->config->timers.register_)
    {
      for (guint i = 0; i < hg_scaip_sip_get_n_receivers (self->sip); i++)
        hg_scaip_sip_register (self->sip, i, self->config->timers.register_expires);
    }
  if (password != NULL)
    memset (password, 0, strlen (password));
}

static void
secret_changed_cb (HgContext *context,
                   const gchar *key,
                   HgScaipPlugin *self)
{
  if (g_strcmp0 (key, PASSWORD_SECRET) != 0 || self->sip == NULL)
    return;
  hg_context_lookup_secret_async (context, PASSWORD_SECRET, self->cancellable,
                                  password_changed_cb, self);
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
  if (password == NULL && self->config->demo_password != NULL)
    {
      g_warning ("secret %s not available (%s); using demo-password from the configuration",
                 PASSWORD_SECRET, error->message);
      use = self->config->demo_password;
      /* first start: keep it where it belongs, if the store is there */
      if (g_error_matches (error, HG_ERROR, HG_ERROR_NOT_FOUND))
        hg_context_store_secret_async (get_context (self), PASSWORD_SECRET,
                                       self->config->demo_password, self->cancellable,
                                       password_stored_cb, NULL);
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
      g_signal_connect_object (get_context (self), "secret-changed",
                               G_CALLBACK (secret_changed_cb), self, 0);
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
  if (self->config == NULL)
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
  if (self->voice != NULL)
    hg_scaip_voice_stop (self->voice);
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
  hg_scaip_voice_forget (self->voice, ref);
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
  if (self->voice != NULL)
    hg_scaip_voice_stop (self->voice);
  g_clear_object (&self->voice);
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

  g_clear_pointer (&self->config, hg_scaip_config_unref);
  g_hash_table_unref (self->failed_raised);
  g_free (self->last_health);
  g_hash_table_unref (self->sounded);
  g_hash_table_unref (self->quiet);
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
  self->sounded = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->quiet = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/* The one symbol the module exports; it returns the type and does nothing else. */
HG_PLUGIN_EXPORT GType hg_plugin_query_type (void);

GType
hg_plugin_query_type (void)
{
  return HG_TYPE_SCAIP_PLUGIN;
}
