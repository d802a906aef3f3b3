/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgMqttSensorsPlugin: one instance serves one domain. It reads its devices, profiles and
 * rules in configure() (refusing a bad key by name), then connects to the broker and, for
 * every message:
 *
 *   topic -> the adapter that owns it (Zigbee2MQTT, ChirpStack, generic MQTT JSON)
 *         -> normalised readings, each value checked against the kind table
 *         -> the rules, which may fire -> hg_context_raise_alarm_async (retried until the
 *            core has it durably; never dropped)
 *         -> "sensor.reading" into the instance's journal: every change, and an unchanged
 *            value at most once per history-interval, within device-max-rate per device
 *
 * Every problem with a message is counted on its device and the message dropped; the
 * counts go into a "sensor.health" event every health-interval (and when the broker
 * connection or subscription changes). The plugin uses only the public plugin API. */
#include <hemgate-plugin.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "hg-chirpstack-adapter.h"
#include "hg-mqtt-client.h"
#include "hg-mqtt-json-adapter.h"
#include "hg-mqtt-sensors-plugin.h"
#include "hg-sensor-registry.h"
#include "hg-sensor-rules.h"
#include "hg-z2m-adapter.h"

#define DEFAULT_BROKER_HOST "127.0.0.1"
#define DEFAULT_BROKER_PORT 1883
#define DEFAULT_MAX_PAYLOAD (16 * 1024)
#define DEFAULT_MAX_BRIDGE_PAYLOAD (1024 * 1024)
#define DEFAULT_DEVICE_MAX_RATE 10
#define DEFAULT_HISTORY_INTERVAL 60
#define DEFAULT_HEALTH_INTERVAL 300
#define DEFAULT_RECONNECT_MAX 60
#define DEFAULT_KEEPALIVE 60
#define DEFAULT_Z2M_BASE_TOPIC "zigbee2mqtt"
#define TICK_SECONDS 10
/* Journal writes in flight to the core, and waiting behind them; beyond, readings are
 * evaluated but not journaled ("backlog"). Alarms never wait here. */
#define MAX_IN_FLIGHT 64
#define MAX_QUEUED 512
/* A failed alarm is raised again after this long, until the core takes it. */
#define ALARM_RETRY_SECONDS 2
#define PASSWORD_SECRET "mqtt-password"
#define CERTIFICATE_SECRET "mqtt-tls-certificate"
#define KEY_SECRET "mqtt-tls-key"
#define KEY_PASSWORD_SECRET "mqtt-tls-key-password"

/* The secrets start looks up, in this order; see secret_wanted (). */
static const gchar *const secret_names[] = {
  PASSWORD_SECRET,
  CERTIFICATE_SECRET,
  KEY_SECRET,
  KEY_PASSWORD_SECRET,
};

/* Every key of the plugin's own; `device.`, `rule.` and `profile.` keys are checked by
 * their readers. */
static const gchar *const plugin_keys[] = {
  "broker-host",
  "broker-port",
  "client-id",
  "protocol",
  "keepalive",
  "username",
  "tls-ca-file",
  "tls-certificate",
  "tls-key",
  "reconnect-max",
  "max-payload",
  "max-bridge-payload",
  "device-max-rate",
  "history-interval",
  "health-interval",
  "timezone",
  "z2m-base-topic",
  "z2m-subscribe",
  "chirpstack-application",
  NULL,
};
static const gchar *const key_prefixes[] = { "device.", "rule.", "profile.", NULL };

/* Readings whose change must reach the journal even from a device over its rate. */
static gboolean
kind_is_critical (HgSensorKind kind)
{
  return kind == HG_SENSOR_KIND_WATER_LEAK || kind == HG_SENSOR_KIND_SMOKE
         || kind == HG_SENSOR_KIND_FALL || kind == HG_SENSOR_KIND_ACTION;
}

/* What configure() settled, applied by start. */
typedef struct
{
  gchar *host; /* (owned) */
  guint16 port;
  gchar *client_id; /* (owned) */
  HgMqttProtocol protocol;
  guint keepalive;
  gchar *username;         /* (owned) (nullable) */
  gchar *ca_file;          /* (owned) (nullable) */
  gchar *certificate_file; /* (owned) (nullable) */
  gchar *key_file;         /* (owned) (nullable) */
  guint reconnect_max;
  guint device_max_rate;
  gint64 history_interval; /* microseconds */
  guint health_interval;   /* seconds */
} Settings;

struct _HgMqttSensorsPlugin
{
  HgPlugin parent_instance;

  Settings settings;
  HgSensorRegistry *registry; /* (owned) (nullable) until configured */
  HgSensorRules *rules;       /* (owned) (nullable) */
  GPtrArray *adapters;        /* (owned) (element-type HgSensorAdapter) */
  HgMqttClient *client;       /* (owned) (nullable) while running */
  HgMqttSensorsClockFunc clock;
  gpointer clock_data;
  GCancellable *cancellable; /* (owned) calls to the core */
  gchar *password;           /* (owned) (nullable) from the secret store */
  gchar *certificate_pem;    /* (owned) (nullable) client certificate from the secret store */
  gchar *key_pem;            /* (owned) (nullable) its key, wiped on finalize */
  gchar *key_password;       /* (owned) (nullable) */

  guint tick_id;
  guint health_id;
  GPtrArray *scratch; /* (owned) readings of the message being handled */
  GPtrArray *firings; /* (owned) */

  /* journal writes */
  guint in_flight;
  GQueue queue; /* (element-type HgEvent) (owned) waiting to be sent */
  guint64 published;
  guint64 publish_failed;
  guint64 publish_refused;   /* refused for now (Unavailable: the domain's event rate) */
  guint publish_backoff_id;  /* after a refusal, nothing is sent until it fires */
  gboolean publish_warned;

  /* alarms */
  GPtrArray *pending_alarms; /* (owned) (element-type HgAlarm) raise failed; retried */
  guint alarm_retry_id;
  guint alarms_in_flight;
  guint64 alarms_raised;
  guint64 alarms_failed;

  guint64 unclaimed;         /* messages on a topic no adapter owns */
  guint64 generation;        /* bumped by anything the health report shows */
  guint64 health_generation; /* at the last sensor.health event */
  guint64 core_generation;   /* at the last hg_context_report_health() */
};

G_DEFINE_TYPE (HgMqttSensorsPlugin, hg_mqtt_sensors_plugin, HG_TYPE_PLUGIN)

static void
settings_clear (Settings *settings)
{
  g_free (settings->host);
  g_free (settings->client_id);
  g_free (settings->username);
  g_free (settings->ca_file);
  g_free (settings->certificate_file);
  g_free (settings->key_file);
  memset (settings, 0, sizeof *settings);
}

static gint64
real_clock (gpointer user_data)
{
  return g_get_real_time ();
}

static gint64
now (HgMqttSensorsPlugin *self)
{
  return self->clock (self->clock_data);
}

/* Configuration ------------------------------------------------------------------------ */

static gboolean
check_keys (HgConfig *config,
            GError **error)
{
  g_auto(GStrv) keys = hg_config_get_keys (config);

  for (guint i = 0; keys[i] != NULL; i++)
    {
      gboolean known = g_strv_contains (plugin_keys, keys[i]);

      for (guint j = 0; !known && key_prefixes[j] != NULL; j++)
        known = g_str_has_prefix (keys[i], key_prefixes[j]);
      if (!known)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "key '%s': unknown key", keys[i]);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
host_is_valid (const gchar *host)
{
  gsize len = strlen (host);

  if (g_hostname_is_ip_address (host))
    return TRUE;
  if (len == 0 || len > 253 || !g_ascii_isalnum (host[0]))
    return FALSE;
  for (const gchar *p = host; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '.' && *p != '-')
        return FALSE;
    }
  return TRUE;
}

static gboolean
client_id_is_valid (const gchar *id)
{
  gsize len = strlen (id);

  if (len == 0 || len > 64)
    return FALSE;
  for (const gchar *p = id; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
        return FALSE;
    }
  return TRUE;
}

/* A file the plugin host must read, named in the configuration. */
static gboolean
read_file_key (HgConfig *config,
               const gchar *key,
               gchar **value,
               GError **error)
{
  const gchar *path = hg_config_get_string (config, key, "");

  *value = NULL;
  if (path[0] == '\0')
    return TRUE;
  if (!g_path_is_absolute (path))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "key '%s': '%s' is not an absolute path",
                   key, path);
      return FALSE;
    }
  *value = g_strdup (path);
  return TRUE;
}

static gboolean
read_settings (HgMqttSensorsPlugin *self,
               HgConfig *config,
               Settings *settings,
               GError **error)
{
  HgContext *context = hg_plugin_get_context (HG_PLUGIN (self));
  g_autofree gchar *default_client_id
      = g_strdup_printf ("hemgate-%s", hg_context_get_plugin_id (context));
  const gchar *value;
  gint64 number = 0;

  value = hg_config_get_string (config, "broker-host", DEFAULT_BROKER_HOST);
  if (!host_is_valid (value))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "key 'broker-host': '%s' is not an IP address or host name", value);
      return FALSE;
    }
  settings->host = g_strdup (value);
  if (!hg_config_get_int (config, "broker-port", DEFAULT_BROKER_PORT, 1, 65535, &number, error))
    return FALSE;
  settings->port = (guint16) number;

  value = hg_config_get_string (config, "client-id", default_client_id);
  if (!client_id_is_valid (value))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "key 'client-id': '%s' is not 1 to 64 of letters, digits, '-' and '_'", value);
      return FALSE;
    }
  settings->client_id = g_strdup (value);

  value = hg_config_get_string (config, "protocol", "3.1.1");
  if (g_strcmp0 (value, "3.1.1") == 0)
    settings->protocol = HG_MQTT_PROTOCOL_V311;
  else if (g_strcmp0 (value, "5") == 0)
    settings->protocol = HG_MQTT_PROTOCOL_V5;
  else
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "key 'protocol': '%s' is not 3.1.1 or 5",
                   value);
      return FALSE;
    }
  if (!hg_config_get_int (config, "keepalive", DEFAULT_KEEPALIVE, 5, 3600, &number, error))
    return FALSE;
  settings->keepalive = (guint) number;
  if (!hg_config_get_int (config, "reconnect-max", DEFAULT_RECONNECT_MAX, 1, 3600, &number, error))
    return FALSE;
  settings->reconnect_max = (guint) number;

  value = hg_config_get_string (config, "username", "");
  if (strlen (value) > 256 || !g_utf8_validate (value, -1, NULL))
    {
      g_set_error_literal (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                           "key 'username': at most 256 bytes of UTF-8");
      return FALSE;
    }
  settings->username = value[0] != '\0' ? g_strdup (value) : NULL;

  if (!read_file_key (config, "tls-ca-file", &settings->ca_file, error)
      || !read_file_key (config, "tls-certificate", &settings->certificate_file, error)
      || !read_file_key (config, "tls-key", &settings->key_file, error))
    return FALSE;
  if (settings->ca_file == NULL
      && (settings->certificate_file != NULL || settings->key_file != NULL))
    {
      g_set_error_literal (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                           "key 'tls-ca-file': TLS needs the CA file that verifies the broker");
      return FALSE;
    }
  if ((settings->certificate_file == NULL) != (settings->key_file == NULL))
    {
      g_set_error_literal (
          error, HG_ERROR, HG_ERROR_INVALID_DATA,
          "key 'tls-key': a client certificate needs its key, and a key its certificate");
      return FALSE;
    }

  if (!hg_config_get_int (config, "device-max-rate", DEFAULT_DEVICE_MAX_RATE, 0, 100000, &number,
                          error))
    return FALSE;
  settings->device_max_rate = (guint) number;
  if (!hg_config_get_int (config, "history-interval", DEFAULT_HISTORY_INTERVAL, 0, 86400, &number,
                          error))
    return FALSE;
  settings->history_interval = number * G_USEC_PER_SEC;
  if (!hg_config_get_int (config, "health-interval", DEFAULT_HEALTH_INTERVAL, 1, 86400, &number,
                          error))
    return FALSE;
  settings->health_interval = (guint) number;
  return TRUE;
}

static GTimeZone *
read_timezone (HgConfig *config,
               GError **error)
{
  const gchar *value = hg_config_get_string (config, "timezone", "");
  GTimeZone *tz;

  if (value[0] == '\0')
    return g_time_zone_new_local ();
  tz = g_time_zone_new_identifier (value);
  if (tz == NULL)
    g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                 "key 'timezone': '%s' is not a time zone (e.g. Europe/Stockholm)", value);
  return tz;
}

static gboolean
read_adapters (HgMqttSensorsPlugin *self,
               HgConfig *config,
               HgSensorRegistry *registry,
               GPtrArray *adapters,
               GError **error)
{
  HgDomain domain = hg_context_get_domain (hg_plugin_get_context (HG_PLUGIN (self)));
  g_autoptr(HgChirpstackAdapter) chirpstack = NULL;
  const gchar *base = hg_config_get_string (config, "z2m-base-topic", DEFAULT_Z2M_BASE_TOPIC);
  const gchar *subscribe = hg_config_get_string (config, "z2m-subscribe", "devices");
  const gchar *application = hg_config_get_string (config, "chirpstack-application", "+");
  g_autoptr(GError) error_local = NULL;
  gint64 max_payload = 0;
  gint64 max_bridge = 0;

  if (!hg_config_get_int (config, "max-payload", DEFAULT_MAX_PAYLOAD, 64, 1024 * 1024, &max_payload,
                          error)
      || !hg_config_get_int (config, "max-bridge-payload", DEFAULT_MAX_BRIDGE_PAYLOAD, 1024,
                             16 * 1024 * 1024, &max_bridge, error))
    return FALSE;
  if (!hg_z2m_adapter_base_topic_is_valid (base, &error_local))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "key 'z2m-base-topic': %s",
                   error_local->message);
      return FALSE;
    }
  if (g_strcmp0 (subscribe, "devices") != 0 && g_strcmp0 (subscribe, "all") != 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "key 'z2m-subscribe': '%s' is not devices or all", subscribe);
      return FALSE;
    }
  if (!hg_chirpstack_adapter_application_is_valid (application, &error_local))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "key 'chirpstack-application': %s",
                   error_local->message);
      return FALSE;
    }
  chirpstack = hg_chirpstack_adapter_new (registry, domain, application, (gsize) max_payload);
  if (!hg_chirpstack_adapter_load_profiles (chirpstack, config, error))
    return FALSE;
  /* the generic source first: its topics are exact, and may lie under another's prefix */
  g_ptr_array_add (adapters, hg_mqtt_json_adapter_new (registry, domain, (gsize) max_payload));
  g_ptr_array_add (adapters,
                   hg_z2m_adapter_new (registry, domain, base, g_strcmp0 (subscribe, "all") == 0,
                                       (gsize) max_payload, (gsize) max_bridge));
  g_ptr_array_add (adapters, g_steal_pointer (&chirpstack));
  return TRUE;
}

/* The broker is the one network peer, and the manifest must have asked for it. */
static gboolean
check_broker_granted (HgMqttSensorsPlugin *self,
                      Settings *settings,
                      GError **error)
{
  HgContext *context = hg_plugin_get_context (HG_PLUGIN (self));
  gboolean ipv6 = strchr (settings->host, ':') != NULL;
  g_autofree gchar *capability = g_strdup_printf (HG_CAPABILITY_NET_CONNECT_PREFIX "%s%s%s:%u",
                                                  ipv6 ? "[" : "",
                                                  settings->host, ipv6 ? "]" : "", settings->port);

  if (hg_context_has_capability (context, capability))
    return TRUE;
  g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
               "key 'broker-host': connecting to %s:%u needs the capability %s, which this "
               "instance was not granted (manifest.json names the brokers it may use)",
               settings->host, settings->port, capability);
  return FALSE;
}

static gboolean
hg_mqtt_sensors_plugin_configure (HgPlugin *plugin,
                                  HgConfig *config,
                                  GError **error)
{
  HgMqttSensorsPlugin *self = HG_MQTT_SENSORS_PLUGIN (plugin);
  HgContext *context = hg_plugin_get_context (plugin);
  Settings settings = { 0 };
  g_autoptr(HgSensorRegistry) registry = hg_sensor_registry_new ();
  g_autoptr(GPtrArray) adapters = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(HgSensorRules) rules = NULL;
  g_autoptr(GTimeZone) tz = NULL;

  if (!check_keys (config, error) || !read_settings (self, config, &settings, error)
      || !check_broker_granted (self, &settings, error))
    {
      settings_clear (&settings);
      return FALSE;
    }
  tz = read_timezone (config, error);
  if (tz == NULL || !hg_sensor_registry_load (registry, config, error)
      || !read_adapters (self, config, registry, adapters, error))
    {
      settings_clear (&settings);
      return FALSE;
    }
  rules = hg_sensor_rules_new (registry, tz);
  if (!hg_sensor_rules_load (rules, config, error))
    {
      settings_clear (&settings);
      return FALSE;
    }
  if (hg_sensor_rules_get_n_rules (rules) > 0
      && !hg_context_has_capability (context, HG_CAPABILITY_ALARM_RAISE))
    g_warning ("this instance may not raise alarms (alarm.raise is not granted): its %u rules will "
               "fire and be logged, but raise nothing",
               hg_sensor_rules_get_n_rules (rules));
  if (!hg_context_has_capability (context, HG_CAPABILITY_SENSOR_PUBLISH))
    g_warning ("this instance may not journal readings (sensor.publish is not granted)");

  settings_clear (&self->settings);
  self->settings = settings;
  g_set_object (&self->registry, registry);
  g_set_object (&self->rules, rules);
  g_ptr_array_unref (self->adapters);
  self->adapters = g_steal_pointer (&adapters);
  g_message ("configured for %s:%u with %u devices and %u rules in the %s domain",
             self->settings.host, self->settings.port,
             hg_sensor_registry_get_devices (registry)->len, hg_sensor_rules_get_n_rules (rules),
             hg_domain_to_string (hg_context_get_domain (context)));
  return TRUE;
}

/* Journal -------------------------------------------------------------------------------- */

static void send_queued (HgMqttSensorsPlugin *self);

/* One event on its way to the core. */
typedef struct
{
  HgMqttSensorsPlugin *self; /* (unowned) valid unless the call was cancelled */
  HgEvent *event;            /* (owned) */
} PublishCall;

static void
publish_call_free (PublishCall *call)
{
  g_object_unref (call->event);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PublishCall, publish_call_free)

static gboolean
publish_backoff_cb (gpointer user_data)
{
  HgMqttSensorsPlugin *self = HG_MQTT_SENSORS_PLUGIN (user_data);

  self->publish_backoff_id = 0;
  send_queued (self);
  return G_SOURCE_REMOVE;
}

static void
published_cb (GObject *source,
              GAsyncResult *result,
              gpointer user_data)
{
  g_autoptr(PublishCall) call = user_data;
  g_autoptr(GError) error = NULL;
  HgMqttSensorsPlugin *self;

  hg_context_publish_event_finish (HG_CONTEXT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = call->self;
  self->in_flight--;
  if (g_error_matches (error, HG_ERROR, HG_ERROR_UNAVAILABLE))
    {
      /* The core cannot take it now: the domain publishes past its event rate, or its
       * journal is closed. A change of a safety-critical reading waits at the head of the
       * queue; the rest is dropped (the rules, and so the alarms, have seen it already;
       * alarms are never rate limited). Nothing is sent for a second. */
      self->publish_refused++;
      self->generation++;
      if (g_object_get_data (G_OBJECT (call->event), "hg-urgent") != NULL)
        g_queue_push_head (&self->queue, g_object_ref (call->event));
      g_debug ("reading not journaled for now: %s", error->message);
      if (self->publish_backoff_id == 0)
        self->publish_backoff_id = g_timeout_add_seconds (1, publish_backoff_cb, self);
      return;
    }
  if (error != NULL)
    {
      self->publish_failed++;
      self->generation++;
      if (!self->publish_warned)
        g_warning ("readings not journaled: %s", error->message);
      else
        g_debug ("reading not journaled: %s", error->message);
      self->publish_warned = TRUE;
    }
  else
    {
      self->published++;
    }
  send_queued (self);
}

static void
send_event (HgMqttSensorsPlugin *self,
            HgEvent *event)
{
  PublishCall *call = g_new0 (PublishCall, 1);

  call->self = self;
  call->event = g_object_ref (event);
  self->in_flight++;
  hg_context_publish_event_async (hg_plugin_get_context (HG_PLUGIN (self)), event,
                                  self->cancellable, published_cb, call);
}

static void
send_queued (HgMqttSensorsPlugin *self)
{
  while (self->publish_backoff_id == 0 && self->in_flight < MAX_IN_FLIGHT
         && !g_queue_is_empty (&self->queue))
    {
      g_autoptr(HgEvent) event = g_queue_pop_head (&self->queue);
      send_event (self, event);
    }
}

/* Returns: %FALSE if the event could not even be queued. An @urgent event (a change of a
 * safety-critical reading) goes ahead of the queue and is never refused. */
static gboolean
publish (HgMqttSensorsPlugin *self,
         const gchar *type,
         JsonObject *body,
         gboolean urgent)
{
  g_autoptr(HgEvent) event = hg_event_new (type, body);

  if (urgent)
    g_object_set_data (G_OBJECT (event), "hg-urgent", GINT_TO_POINTER (TRUE));
  if (self->publish_backoff_id == 0 && self->in_flight < MAX_IN_FLIGHT
      && g_queue_is_empty (&self->queue))
    {
      send_event (self, event);
      return TRUE;
    }
  if (urgent)
    {
      /* behind the urgent ones already waiting, ahead of the rest */
      GList *link = self->queue.head;
      while (link != NULL && g_object_get_data (link->data, "hg-urgent") != NULL)
        link = link->next;
      g_object_set_data (G_OBJECT (event), "hg-urgent", GINT_TO_POINTER (TRUE));
      if (link == NULL)
        g_queue_push_tail (&self->queue, g_steal_pointer (&event));
      else
        g_queue_insert_before (&self->queue, link, g_steal_pointer (&event));
      return TRUE;
    }
  if (g_queue_get_length (&self->queue) >= MAX_QUEUED)
    return FALSE;
  g_queue_push_tail (&self->queue, g_steal_pointer (&event));
  return TRUE;
}

static JsonObject *
reading_body (HgSensorDevice *device,
              HgSensorReading *reading)
{
  JsonObject *body = hg_sensor_reading_to_json (reading);

  json_object_set_string_member (body, "source", hg_sensor_source_to_string (device->source));
  if (device->room[0] != '\0')
    json_object_set_string_member (body, "room", device->room);
  return body;
}

/* Journals @reading if it is news: a change, or the first in history-interval. */
static void
journal_reading (HgMqttSensorsPlugin *self,
                 HgSensorDevice *device,
                 HgSensorReading *reading)
{
  HgSensorReading *last = device->published[reading->kind];
  gboolean changed = last == NULL || !hg_sensor_reading_equal_value (last, reading)
                     || reading->kind == HG_SENSOR_KIND_ACTION;
  g_autoptr(JsonObject) body = NULL;
  gboolean urgent;

  if (reading->kind == HG_SENSOR_KIND_AVAILABILITY)
    {
      if (!changed)
        return;
      body = json_object_new ();
      json_object_set_string_member (body, "device", device->id);
      json_object_set_boolean_member (body, "online", reading->boolean);
      if (!publish (self, "sensor.availability", body, FALSE))
        {
          hg_sensor_device_drop (device, HG_SENSOR_DROP_BACKLOG);
          return;
        }
      g_clear_pointer (&device->published[reading->kind], hg_sensor_reading_unref);
      device->published[reading->kind] = hg_sensor_reading_ref (reading);
      return;
    }
  if (!changed
      && reading->ts - device->published_ts[reading->kind] < self->settings.history_interval)
    return;
  urgent = changed && kind_is_critical (reading->kind);
  if (!urgent && !hg_sensor_device_take_token (device, reading->ts, self->settings.device_max_rate))
    {
      hg_sensor_device_drop (device, HG_SENSOR_DROP_FLOOD);
      return;
    }
  body = reading_body (device, reading);
  if (!publish (self, "sensor.reading", body, urgent))
    {
      hg_sensor_device_drop (device, HG_SENSOR_DROP_BACKLOG);
      return;
    }
  g_clear_pointer (&device->published[reading->kind], hg_sensor_reading_unref);
  device->published[reading->kind] = hg_sensor_reading_ref (reading);
  device->published_ts[reading->kind] = reading->ts;
}

/* Alarms --------------------------------------------------------------------------------- */

static void raise_alarm (HgMqttSensorsPlugin *self,
                         HgAlarm *alarm);

static gboolean
alarm_retry_cb (gpointer user_data)
{
  HgMqttSensorsPlugin *self = HG_MQTT_SENSORS_PLUGIN (user_data);
  g_autoptr(GPtrArray) pending = g_steal_pointer (&self->pending_alarms);

  self->alarm_retry_id = 0;
  self->pending_alarms = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < pending->len; i++)
    raise_alarm (self, g_ptr_array_index (pending, i));
  return G_SOURCE_REMOVE;
}

typedef struct
{
  HgMqttSensorsPlugin *self; /* (unowned) valid unless the call was cancelled */
  HgAlarm *alarm;            /* (owned) */
} RaiseData;

static void
raise_data_free (RaiseData *data)
{
  g_clear_object (&data->alarm);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RaiseData, raise_data_free)

static void
alarm_raised_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  g_autoptr(RaiseData) data = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *ref = hg_context_raise_alarm_finish (HG_CONTEXT (source), result, &error);
  HgMqttSensorsPlugin *self;
  guint attempts;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_warning ("a %s alarm was not raised: the plugin stopped first",
                 hg_alarm_get_alarm_type (data->alarm));
      return;
    }
  self = data->self;
  self->alarms_in_flight--;
  self->generation++;
  attempts = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (data->alarm), "hg-attempts")) + 1;
  g_object_set_data (G_OBJECT (data->alarm), "hg-attempts", GUINT_TO_POINTER (attempts));
  if (ref != NULL)
    {
      self->alarms_raised++;
      g_message ("raised a %s alarm as %s (attempt %u)", hg_alarm_get_alarm_type (data->alarm), ref,
                 attempts);
      return;
    }
  if (g_error_matches (error, HG_ERROR, HG_ERROR_PERMISSION_DENIED)
      || g_error_matches (error, HG_ERROR, HG_ERROR_INVALID_DATA))
    {
      /* trying again cannot help; the core has journaled the denial */
      self->alarms_failed++;
      g_warning ("a %s alarm was refused: %s", hg_alarm_get_alarm_type (data->alarm),
                 error->message);
      return;
    }
  /* an operator should look at once; then the retries are not news until one succeeds */
  if (attempts == 1)
    g_warning ("a %s alarm was not raised yet, retrying every %d s: %s",
               hg_alarm_get_alarm_type (data->alarm), ALARM_RETRY_SECONDS, error->message);
  else
    g_debug ("a %s alarm was not raised yet (attempt %u): %s",
             hg_alarm_get_alarm_type (data->alarm), attempts, error->message);
  g_ptr_array_add (self->pending_alarms, g_steal_pointer (&data->alarm));
  if (self->alarm_retry_id == 0)
    self->alarm_retry_id = g_timeout_add_seconds (ALARM_RETRY_SECONDS, alarm_retry_cb, self);
}

static void
raise_alarm (HgMqttSensorsPlugin *self,
             HgAlarm *alarm)
{
  RaiseData *data = g_new0 (RaiseData, 1);

  data->self = self;
  data->alarm = g_object_ref (alarm);
  self->alarms_in_flight++;
  hg_context_raise_alarm_async (hg_plugin_get_context (HG_PLUGIN (self)), alarm, self->cancellable,
                                alarm_raised_cb, data);
}

static void
raise_firing (HgMqttSensorsPlugin *self,
              HgSensorFiring *firing)
{
  HgContext *context = hg_plugin_get_context (HG_PLUGIN (self));
  HgSensorDevice *device
      = firing->device != NULL ? hg_sensor_registry_lookup (self->registry, firing->device) : NULL;
  g_autoptr(HgAlarm) alarm = hg_alarm_new (firing->alarm_type);
  g_autoptr(JsonObject) detail = json_object_new ();

  g_message ("rule %s (%s) fired%s%s", firing->rule, firing->rule_type,
             firing->device != NULL ? " for device " : "",
             firing->device != NULL ? firing->device : "");
  json_object_set_string_member (detail, "rule", firing->rule);
  json_object_set_string_member (detail, "rule_type", firing->rule_type);
  json_object_set_string_member (detail, "reason", firing->reason);
  json_object_set_string_member (detail, "domain",
                                 hg_domain_to_string (hg_context_get_domain (context)));
  if (device != NULL)
    {
      json_object_set_string_member (detail, "device", device->id);
      json_object_set_string_member (detail, "device_name", device->name);
      json_object_set_string_member (detail, "room", device->room);
      hg_alarm_set_device (alarm, device->id);
      if (device->room[0] != '\0')
        hg_alarm_set_location (alarm, device->room);
    }
  if (firing->reading != NULL && device != NULL)
    json_object_set_object_member (detail, "reading", reading_body (device, firing->reading));
  hg_alarm_set_priority (alarm, firing->priority);
  hg_alarm_set_detail (alarm, detail);
  raise_alarm (self, alarm);
}

static void
raise_firings (HgMqttSensorsPlugin *self)
{
  for (guint i = 0; i < self->firings->len; i++)
    raise_firing (self, g_ptr_array_index (self->firings, i));
  g_ptr_array_set_size (self->firings, 0);
}

/* Messages ------------------------------------------------------------------------------- */

/**
 * hg_mqtt_sensors_plugin_handle_message:
 * @self: a configured plugin
 * @topic: the topic
 * @payload: the payload, not nul-terminated
 * @length: its length
 * @retained: the broker's retained copy
 *
 * What the MQTT client calls for every message; public for benchmarks that measure the
 * normalisation and rules without a broker.
 */
void
hg_mqtt_sensors_plugin_handle_message (HgMqttSensorsPlugin *self,
                                       const gchar *topic,
                                       const gchar *payload,
                                       gsize length,
                                       gboolean retained)
{
  HgSensorMessage message = { topic, payload, length, retained, now (self) };
  gboolean claimed = FALSE;

  self->generation++;
  for (guint i = 0; i < self->adapters->len && !claimed; i++)
    claimed = hg_sensor_adapter_handle_message (g_ptr_array_index (self->adapters, i), &message,
                                                self->scratch);
  if (!claimed)
    self->unclaimed++;
  /* the rules first, so an alarm goes to the core ahead of the message's readings */
  for (guint i = 0; i < self->scratch->len; i++)
    hg_sensor_rules_process (self->rules, g_ptr_array_index (self->scratch, i), self->firings);
  raise_firings (self);
  for (guint i = 0; i < self->scratch->len; i++)
    {
      HgSensorReading *reading = g_ptr_array_index (self->scratch, i);
      journal_reading (self, hg_sensor_registry_lookup (self->registry, reading->device), reading);
    }
  g_ptr_array_set_size (self->scratch, 0);
}

static void
message_cb (const gchar *topic,
            const gchar *payload,
            gsize length,
            gboolean retained,
            gpointer user_data)
{
  hg_mqtt_sensors_plugin_handle_message (HG_MQTT_SENSORS_PLUGIN (user_data), topic, payload, length,
                                         retained);
}

/* Health --------------------------------------------------------------------------------- */

static JsonObject *
health_to_json (HgMqttSensorsPlugin *self,
                guint max_devices)
{
  JsonObject *health = hg_sensor_registry_to_json (self->registry, max_devices);
  JsonObject *broker = json_object_new ();
  JsonObject *journal = json_object_new ();
  JsonObject *alarms = json_object_new ();
  JsonObject *rules = json_object_new ();

  json_object_set_boolean_member (
      broker, "connected", self->client != NULL && hg_mqtt_client_get_connected (self->client));
  json_object_set_boolean_member (
      broker, "subscribed", self->client != NULL && hg_mqtt_client_get_subscribed (self->client));
  json_object_set_int_member (
      broker, "connects", self->client != NULL ? hg_mqtt_client_get_n_connects (self->client) : 0);
  json_object_set_int_member (
      broker, "failures", self->client != NULL ? hg_mqtt_client_get_n_failures (self->client) : 0);
  json_object_set_int_member (broker, "unclaimed", (gint64) self->unclaimed);
  json_object_set_object_member (health, "broker", broker);
  json_object_set_int_member (journal, "published", (gint64) self->published);
  json_object_set_int_member (journal, "failed", (gint64) self->publish_failed);
  json_object_set_int_member (journal, "refused", (gint64) self->publish_refused);
  json_object_set_int_member (journal, "queued",
                              g_queue_get_length (&self->queue) + self->in_flight);
  json_object_set_object_member (health, "journal", journal);
  json_object_set_int_member (alarms, "raised", (gint64) self->alarms_raised);
  json_object_set_int_member (alarms, "refused", (gint64) self->alarms_failed);
  json_object_set_int_member (alarms, "pending",
                              self->pending_alarms->len + self->alarms_in_flight);
  json_object_set_object_member (health, "alarms", alarms);
  json_object_set_int_member (rules, "count", hg_sensor_rules_get_n_rules (self->rules));
  json_object_set_int_member (rules, "active", hg_sensor_rules_get_n_active (self->rules));
  json_object_set_object_member (health, "rules", rules);
  for (guint i = 0; i < self->adapters->len; i++)
    hg_sensor_adapter_add_health (g_ptr_array_index (self->adapters, i), health);
  return health;
}

/**
 * hg_mqtt_sensors_plugin_get_health:
 * @self: a configured plugin
 *
 * Returns: (transfer full): the health report with an entry for every device; the
 *   "sensor.health" events carry at most 100
 */
JsonObject *
hg_mqtt_sensors_plugin_get_health (HgMqttSensorsPlugin *self)
{
  return health_to_json (self, G_MAXUINT);
}

/* The health event stays well under the core's 64 KiB per event however many devices
 * there are: totals for all, and an entry for at most this many devices, those with
 * something to look at first. */
#define MAX_HEALTH_DEVICES 100

/* Journals a sensor.health event, and tells the core (for /api/v1/health). */
static void
report_health (HgMqttSensorsPlugin *self)
{
  g_autoptr(JsonObject) health = health_to_json (self, MAX_HEALTH_DEVICES);

  self->health_generation = self->generation;
  self->core_generation = self->generation;
  hg_context_report_health (hg_plugin_get_context (HG_PLUGIN (self)), health);
  publish (self, "sensor.health", health, FALSE);
}

/* The core's copy is cheap (in memory): keep it within a tick of the counters. */
static void
report_health_to_core (HgMqttSensorsPlugin *self)
{
  g_autoptr(JsonObject) health = NULL;

  if (self->core_generation == self->generation)
    return;
  health = health_to_json (self, MAX_HEALTH_DEVICES);
  self->core_generation = self->generation;
  hg_context_report_health (hg_plugin_get_context (HG_PLUGIN (self)), health);
}

/* Reading a large configuration, subscribing to many topics and bursts of traffic leave
 * freed heap behind, also in the arena of GDBus's worker thread; give it back after each,
 * so a host with hundreds of devices stays small (glibc keeps it otherwise). */
static void
trim_heap (void)
{
#ifdef __GLIBC__
  malloc_trim (0);
#endif
}

static gboolean
health_cb (gpointer user_data)
{
  HgMqttSensorsPlugin *self = HG_MQTT_SENSORS_PLUGIN (user_data);

  if (self->generation != self->health_generation)
    report_health (self);
  trim_heap ();
  return G_SOURCE_CONTINUE;
}

static void
connected_changed_cb (HgMqttClient *client,
                      GParamSpec *pspec,
                      HgMqttSensorsPlugin *self)
{
  self->generation++;
  report_health (self);
  if (hg_mqtt_client_get_subscribed (client))
    trim_heap ();
}

/* Life cycle ----------------------------------------------------------------------------- */

/**
 * hg_mqtt_sensors_plugin_tick:
 * @self: a started plugin
 *
 * Evaluates the time-based rules now (by the plugin's clock); runs every 10 s on its own.
 */
void
hg_mqtt_sensors_plugin_tick (HgMqttSensorsPlugin *self)
{
  hg_sensor_rules_tick (self->rules, now (self), self->firings);
  raise_firings (self);
}

static gboolean
tick_cb (gpointer user_data)
{
  hg_mqtt_sensors_plugin_tick (HG_MQTT_SENSORS_PLUGIN (user_data));
  report_health_to_core (HG_MQTT_SENSORS_PLUGIN (user_data));
  return G_SOURCE_CONTINUE;
}

static void
start_client (HgMqttSensorsPlugin *self,
              GTask *task)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) filters = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < self->adapters->len; i++)
    {
      g_auto(GStrv) mine
          = hg_sensor_adapter_get_subscriptions (g_ptr_array_index (self->adapters, i));
      for (guint j = 0; mine[j] != NULL; j++)
        g_ptr_array_add (filters, g_strdup (mine[j]));
    }
  g_ptr_array_add (filters, NULL);

  self->client
      = hg_mqtt_client_new (self->settings.client_id, self->settings.host, self->settings.port);
  hg_mqtt_client_set_protocol (self->client, self->settings.protocol);
  hg_mqtt_client_set_keepalive (self->client, self->settings.keepalive);
  hg_mqtt_client_set_reconnect_delays (self->client, 1000, self->settings.reconnect_max * 1000);
  if (self->settings.username != NULL)
    hg_mqtt_client_set_credentials (self->client, self->settings.username, self->password);
  if (self->settings.ca_file != NULL)
    hg_mqtt_client_set_tls (self->client, self->settings.ca_file, self->settings.certificate_file,
                            self->settings.key_file, self->key_password);
  if (self->settings.ca_file != NULL && self->certificate_pem != NULL && self->key_pem != NULL
      && !hg_mqtt_client_set_tls_client_pem (self->client, self->certificate_pem, self->key_pem,
                                             &error))
    {
      g_clear_object (&self->client);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  hg_mqtt_client_set_subscriptions (self->client, (const gchar *const *)filters->pdata);
  hg_mqtt_client_set_message_func (self->client, message_cb, self);
  g_signal_connect_object (self->client, "notify::connected", G_CALLBACK (connected_changed_cb),
                           self, 0);
  g_signal_connect_object (self->client, "notify::subscribed", G_CALLBACK (connected_changed_cb),
                           self, 0);
  if (!hg_mqtt_client_start (self->client, &error))
    {
      g_clear_object (&self->client);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  hg_sensor_rules_start (self->rules, now (self));
  self->tick_id = g_timeout_add_seconds (TICK_SECONDS, tick_cb, self);
  self->health_id = g_timeout_add_seconds (self->settings.health_interval, health_cb, self);
  g_message ("connecting to %s:%u with %u topic filters", self->settings.host, self->settings.port,
             filters->len - 1);
  g_task_return_boolean (task, TRUE);
}

/* The secrets, looked up in turn before connecting: the broker password; with TLS and no
 * certificate files, a client certificate and key; then the key's password. A secret that
 * is not stored is not an error: the broker will say if it wanted one. */
static void lookup_next_secret (HgMqttSensorsPlugin *self,
                                GTask *task,
                                guint next);

static void
wipe (gchar **secret)
{
  if (*secret != NULL)
    memset (*secret, 0, strlen (*secret));
  g_clear_pointer (secret, g_free);
}

static gboolean
secret_wanted (HgMqttSensorsPlugin *self,
               const gchar *name)
{
  Settings *settings = &self->settings;

  if (g_strcmp0 (name, PASSWORD_SECRET) == 0)
    return settings->username != NULL;
  if (g_strcmp0 (name, CERTIFICATE_SECRET) == 0 || g_strcmp0 (name, KEY_SECRET) == 0)
    return settings->ca_file != NULL && settings->certificate_file == NULL;
  return settings->key_file != NULL || self->key_pem != NULL;
}

static gchar **
secret_slot (HgMqttSensorsPlugin *self,
             const gchar *name)
{
  if (g_strcmp0 (name, PASSWORD_SECRET) == 0)
    return &self->password;
  if (g_strcmp0 (name, CERTIFICATE_SECRET) == 0)
    return &self->certificate_pem;
  if (g_strcmp0 (name, KEY_SECRET) == 0)
    return &self->key_pem;
  return &self->key_password;
}

static void
secret_cb (GObject *source,
           GAsyncResult *result,
           gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *value = hg_context_lookup_secret_finish (HG_CONTEXT (source), result, &error);
  HgMqttSensorsPlugin *self;
  guint index;
  gchar **slot;

  if (g_task_return_error_if_cancelled (task))
    return;
  self = g_task_get_source_object (task);
  index = GPOINTER_TO_UINT (g_task_get_task_data (task));
  if (value == NULL)
    g_message ("secret %s not available (%s); connecting without it", secret_names[index],
               error->message);
  slot = secret_slot (self, secret_names[index]);
  wipe (slot);
  *slot = g_steal_pointer (&value);
  lookup_next_secret (self, g_steal_pointer (&task), index + 1);
}

static void
lookup_next_secret (HgMqttSensorsPlugin *self,
                    GTask *task,
                    guint next)
{
  HgContext *context = hg_plugin_get_context (HG_PLUGIN (self));

  while (next < G_N_ELEMENTS (secret_names) && !secret_wanted (self, secret_names[next]))
    next++;
  if (next == G_N_ELEMENTS (secret_names))
    {
      start_client (self, task);
      g_object_unref (task);
      return;
    }
  g_task_set_task_data (task, GUINT_TO_POINTER (next), NULL);
  hg_context_lookup_secret_async (context, secret_names[next], g_task_get_cancellable (task),
                                  secret_cb, task);
}

static void
hg_mqtt_sensors_plugin_start_async (HgPlugin *plugin,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  HgMqttSensorsPlugin *self = HG_MQTT_SENSORS_PLUGIN (plugin);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, hg_mqtt_sensors_plugin_start_async);
  if (self->registry == NULL)
    {
      g_task_return_new_error (task, HG_ERROR, HG_ERROR_FAILED, "%s",
                               "started before it was configured");
      return;
    }
  if (self->client != NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  lookup_next_secret (self, g_steal_pointer (&task), 0);
}

static gboolean
hg_mqtt_sensors_plugin_start_finish (HgPlugin *plugin,
                                     GAsyncResult *result,
                                     GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, plugin), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
stop_running (HgMqttSensorsPlugin *self)
{
  if (self->client != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->client, self);
      hg_mqtt_client_stop (self->client);
      g_clear_object (&self->client);
    }
  g_clear_handle_id (&self->tick_id, g_source_remove);
  g_clear_handle_id (&self->health_id, g_source_remove);
  g_clear_handle_id (&self->alarm_retry_id, g_source_remove);
  g_clear_handle_id (&self->publish_backoff_id, g_source_remove);
}

static void
hg_mqtt_sensors_plugin_stop_async (HgPlugin *plugin,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data)
{
  HgMqttSensorsPlugin *self = HG_MQTT_SENSORS_PLUGIN (plugin);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, hg_mqtt_sensors_plugin_stop_async);
  if (self->pending_alarms->len > 0)
    g_warning ("stopping with %u alarms the core has not taken yet", self->pending_alarms->len);
  stop_running (self);
  g_task_return_boolean (task, TRUE);
}

static gboolean
hg_mqtt_sensors_plugin_stop_finish (HgPlugin *plugin,
                                    GAsyncResult *result,
                                    GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, plugin), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * hg_mqtt_sensors_plugin_set_clock:
 * @self: a plugin
 * @func: (nullable): the clock, or %NULL for the real time
 * @user_data: data for @func
 *
 * Lets tests run time-based rules through hours and days without waiting.
 */
void
hg_mqtt_sensors_plugin_set_clock (HgMqttSensorsPlugin *self,
                                  HgMqttSensorsClockFunc func,
                                  gpointer user_data)
{
  g_return_if_fail (HG_IS_MQTT_SENSORS_PLUGIN (self));
  self->clock = func != NULL ? func : real_clock;
  self->clock_data = func != NULL ? user_data : NULL;
}

static void
hg_mqtt_sensors_plugin_dispose (GObject *object)
{
  HgMqttSensorsPlugin *self = HG_MQTT_SENSORS_PLUGIN (object);

  g_cancellable_cancel (self->cancellable);
  stop_running (self);
  g_queue_clear_full (&self->queue, g_object_unref);
  g_clear_object (&self->rules);
  g_clear_object (&self->registry);
  g_ptr_array_set_size (self->adapters, 0);
  G_OBJECT_CLASS (hg_mqtt_sensors_plugin_parent_class)->dispose (object);
}

static void
hg_mqtt_sensors_plugin_finalize (GObject *object)
{
  HgMqttSensorsPlugin *self = HG_MQTT_SENSORS_PLUGIN (object);

  settings_clear (&self->settings);
  wipe (&self->password);
  wipe (&self->certificate_pem);
  wipe (&self->key_pem);
  wipe (&self->key_password);
  g_ptr_array_unref (self->adapters);
  g_ptr_array_unref (self->scratch);
  g_ptr_array_unref (self->firings);
  g_ptr_array_unref (self->pending_alarms);
  g_object_unref (self->cancellable);
  G_OBJECT_CLASS (hg_mqtt_sensors_plugin_parent_class)->finalize (object);
}

static void
hg_mqtt_sensors_plugin_class_init (HgMqttSensorsPluginClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  HgPluginClass *plugin_class = HG_PLUGIN_CLASS (klass);

  object_class->dispose = hg_mqtt_sensors_plugin_dispose;
  object_class->finalize = hg_mqtt_sensors_plugin_finalize;
  plugin_class->configure = hg_mqtt_sensors_plugin_configure;
  plugin_class->start_async = hg_mqtt_sensors_plugin_start_async;
  plugin_class->start_finish = hg_mqtt_sensors_plugin_start_finish;
  plugin_class->stop_async = hg_mqtt_sensors_plugin_stop_async;
  plugin_class->stop_finish = hg_mqtt_sensors_plugin_stop_finish;
}

static void
hg_mqtt_sensors_plugin_init (HgMqttSensorsPlugin *self)
{
  self->clock = real_clock;
  self->cancellable = g_cancellable_new ();
  self->adapters = g_ptr_array_new_with_free_func (g_object_unref);
  self->scratch = g_ptr_array_new_with_free_func ((GDestroyNotify) hg_sensor_reading_unref);
  self->firings = g_ptr_array_new_with_free_func ((GDestroyNotify) hg_sensor_firing_free);
  self->pending_alarms = g_ptr_array_new_with_free_func (g_object_unref);
  g_queue_init (&self->queue);
}

/* The one symbol the module exports; it returns the type and does nothing else. */
HG_PLUGIN_EXPORT GType hg_plugin_query_type (void);

GType
hg_plugin_query_type (void)
{
  return HG_TYPE_MQTT_SENSORS_PLUGIN;
}
