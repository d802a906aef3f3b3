/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of HgMqttSensorsPlugin's class in-process, against a real mosquitto on 127.0.0.1
 * and a free port, and libhemgate's HgTestContext, which records what the plugin journals
 * and which alarms it raises. Messages are published with
 * mosquitto_pub and the simulator. Each case waits for a state with a generous limit and
 * asserts it; none asserts how long anything took. */
#include <glib/gstdio.h>
#include <hemgate-plugin.h>

#include "hg-mqtt-sensors-plugin.h"
#include "hg-test-broker.h"

#define WAIT_SECONDS 60

/* Warnings are what some cases provoke (a refused password, an alarm the core cannot take
 * yet), so they are counted rather than fatal; cases that expect none check the count.
 * Criticals stay fatal. */
static guint n_warnings;

static GLogWriterOutput
log_writer_cb (GLogLevelFlags log_level,
               const GLogField *fields,
               gsize n_fields,
               gpointer user_data)
{
  if ((log_level & G_LOG_LEVEL_WARNING) != 0)
    n_warnings++;
  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

/* The fixture --------------------------------------------------------------------------- */

typedef struct
{
  HgTestBroker *broker; /* (owned) */
  HgConfig *config;     /* (owned) */
  HgTestContext *context; /* (owned) (nullable) until started */
  HgPlugin *plugin;     /* (owned) (nullable) */
  gint64 clock;         /* the fake clock, when a case sets it */
  gchar *capability;    /* (owned) net.connect for the broker */
} Fixture;

/* The home of the tests: the demo's devices, and rules for them. */
static const gchar *const home_config[] = {
  "device.hall-door.source",
  "z2m",
  "device.hall-door.kind",
  "contact",
  "device.hall-door.room",
  "hall",
  "device.bed.source",
  "z2m",
  "device.bed.kind",
  "occupancy",
  "device.bed.room",
  "bedroom",
  "device.bedroom-motion.source",
  "z2m",
  "device.bedroom-motion.kind",
  "occupancy",
  "device.kitchen-leak.source",
  "z2m",
  "device.kitchen-leak.kind",
  "water_leak",
  "device.kitchen-leak.room",
  "kitchen",
  "device.kitchen-leak.name",
  "Under the sink",
  "device.panic-button.source",
  "z2m",
  "device.panic-button.kind",
  "action",
  "device.living-temp.source",
  "z2m",
  "device.living-temp.kind",
  "temperature",
  "device.climate.source",
  "chirpstack",
  "device.climate.kind",
  "temperature",
  "device.climate.dev-eui",
  "a84041000181c5c1",
  "device.climate.profile",
  "elsys",
  "profile.elsys.temperature",
  "temperature",
  "profile.elsys.humidity",
  "humidity",
  "profile.elsys.battery",
  "battery",
  "rule.alarms.type",
  "immediate",
  "rule.bed.type",
  "bed-exit",
  "rule.bed.devices",
  "bed",
  "rule.bed.minutes",
  "20",
  "timezone",
  "CET-1CEST,M3.5.0,M10.5.0/3",
  "history-interval",
  "3600",
  NULL,
};

static gchar *tls_broker_config (void);
static gchar *tls_client_broker_config (void);

/* The setup's user data for a TLS broker, whose certificates are made when needed; and
 * for one that also requires a client certificate (signed by the same CA). */
static const gchar tls_broker_marker[] = "tls";
#define TLS_BROKER ((gconstpointer) tls_broker_marker)
static const gchar tls_client_broker_marker[] = "tls-client";
#define TLS_CLIENT_BROKER ((gconstpointer) tls_client_broker_marker)

static void
setup (Fixture *fixture,
       gconstpointer user_data)
{
  g_autofree gchar *extra = user_data == TLS_BROKER          ? tls_broker_config ()
                            : user_data == TLS_CLIENT_BROKER ? tls_client_broker_config ()
                                                             : g_strdup (user_data);
  g_autofree gchar *port = NULL;

  n_warnings = 0;
  fixture->broker = hg_test_broker_new (extra);
  fixture->config = hg_config_new ();
  for (guint i = 0; home_config[i] != NULL; i += 2)
    hg_config_set (fixture->config, home_config[i], home_config[i + 1]);
  port = g_strdup_printf ("%u", fixture->broker->port);
  hg_config_set (fixture->config, "broker-port", port);
  fixture->capability = g_strdup_printf ("net.connect:127.0.0.1:%u", fixture->broker->port);
}

static void
make_plugin (Fixture *fixture,
             const gchar *capability)
{
  const gchar *capabilities[] = { "sensor.publish", "alarm.raise", "secrets", capability, NULL };

  g_clear_object (&fixture->plugin);
  g_clear_object (&fixture->context);
  fixture->context = hg_test_context_new ("sensors-municipal", HG_DOMAIN_MUNICIPAL, fixture->config,
                                          capabilities);
  fixture->plugin = g_object_new (HG_TYPE_MQTT_SENSORS_PLUGIN, "context", fixture->context, NULL);
}

static guint
n_alarms (Fixture *fixture)
{
  return hg_test_context_get_alarms (fixture->context)->len;
}

static HgAlarm *
alarm_at (Fixture *fixture,
          guint index)
{
  return g_ptr_array_index (hg_test_context_get_alarms (fixture->context), index);
}

static void
stop_cb (GObject *source,
         GAsyncResult *result,
         gpointer user_data)
{
  gboolean *done = user_data;

  g_assert_true (hg_plugin_stop_finish (HG_PLUGIN (source), result, NULL));
  *done = TRUE;
}

static gboolean
is_true (gpointer user_data)
{
  return *(gboolean *) user_data;
}

static void
teardown (Fixture *fixture,
          gconstpointer user_data)
{
  if (fixture->plugin != NULL)
    {
      gboolean done = FALSE;
      hg_plugin_stop_async (fixture->plugin, NULL, stop_cb, &done);
      hg_test_wait_for (is_true, &done, WAIT_SECONDS);
    }
  g_clear_object (&fixture->plugin);
  g_clear_object (&fixture->context);
  g_clear_object (&fixture->config);
  g_clear_pointer (&fixture->broker, hg_test_broker_free);
  g_free (fixture->capability);
}

static void
started_cb (GObject *source,
            GAsyncResult *result,
            gpointer user_data)
{
  gboolean *done = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (hg_plugin_start_finish (HG_PLUGIN (source), result, &error));
  g_assert_no_error (error);
  *done = TRUE;
}

static JsonObject *
health (Fixture *fixture)
{
  return hg_mqtt_sensors_plugin_get_health (HG_MQTT_SENSORS_PLUGIN (fixture->plugin));
}

static JsonObject *
member (JsonObject *object,
        const gchar *name)
{
  JsonObject *value = NULL;

  if (!hg_json_object_get_object (object, name, &value, NULL))
    g_assert_not_reached ();
  return value;
}

static gint64
broker_number (Fixture *fixture,
               const gchar *name)
{
  g_autoptr(JsonObject) h = health (fixture);

  return json_object_get_int_member (member (h, "broker"), name);
}

/* Connected and subscribed: what is published from now on arrives. */
static gboolean
connected (gpointer user_data)
{
  Fixture *fixture = user_data;
  g_autoptr(JsonObject) h = health (fixture);

  return json_object_get_boolean_member (member (h, "broker"), "subscribed");
}

static gboolean
disconnected (gpointer user_data)
{
  return !connected (user_data);
}

/* Configures and starts the plugin; waits until the broker accepted it. */
static void
start_plugin (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  gboolean started = FALSE;

  if (fixture->plugin == NULL)
    make_plugin (fixture, fixture->capability);
  g_assert_true (hg_plugin_configure (fixture->plugin, fixture->config, &error));
  g_assert_no_error (error);
  hg_plugin_start_async (fixture->plugin, NULL, started_cb, &started);
  hg_test_wait_for (is_true, &started, WAIT_SECONDS);
}

/* The counters of one device in the plugin's health report. */
static gint64
device_count (Fixture *fixture,
              const gchar *device,
              const gchar *counter)
{
  g_autoptr(JsonObject) h = health (fixture);
  JsonObject *entry = member (member (h, "devices"), device);

  if (json_object_has_member (entry, counter))
    return json_object_get_int_member (entry, counter);
  return json_object_get_int_member (member (entry, "dropped"), counter);
}

typedef struct
{
  Fixture *fixture;
  const gchar *device;
  const gchar *counter;
  gint64 at_least;
} CountWait;

static gboolean
count_reached (gpointer user_data)
{
  CountWait *wait = user_data;

  return device_count (wait->fixture, wait->device, wait->counter) >= wait->at_least;
}

static void
wait_for_count (Fixture *fixture,
                const gchar *device,
                const gchar *counter,
                gint64 at_least)
{
  CountWait wait = { fixture, device, counter, at_least };

  hg_test_wait_for (count_reached, &wait, WAIT_SECONDS);
}

static gboolean
journal_drained (gpointer user_data)
{
  g_autoptr(JsonObject) h = health (user_data);

  return json_object_get_int_member (member (h, "journal"), "queued") == 0;
}

/* Events the plugin journaled of @type, for @device if not NULL. */
static guint
count_events (Fixture *fixture,
              const gchar *type,
              const gchar *device)
{
  guint n = 0;

  GPtrArray *events = hg_test_context_get_events (fixture->context);

  for (guint i = 0; i < events->len; i++)
    {
      HgEvent *event = g_ptr_array_index (events, i);
      JsonObject *body = hg_event_get_body (event);
      const gchar *name = NULL;

      if (g_strcmp0 (hg_event_get_event_type (event), type) != 0)
        continue;
      if (device != NULL
          && (!hg_json_object_get_optional_string (body, "device", &name, NULL)
              || g_strcmp0 (name, device) != 0))
        continue;
      n++;
    }
  return n;
}

static void
sim_done_cb (GObject *source,
             GAsyncResult *result,
             gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  g_subprocess_wait_check_finish (G_SUBPROCESS (source), result, &error);
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

static void
run_sim (Fixture *fixture,
         const gchar *first_arg,
         ...)
{
  gboolean done = FALSE;
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  const gchar *sim = g_getenv ("HEMGATE_SENSOR_SIM");
  const gchar *arg = first_arg;
  va_list args;

  g_assert_nonnull (sim);
  g_ptr_array_add (argv, g_strdup (sim));
  g_ptr_array_add (argv, g_strdup ("--port"));
  g_ptr_array_add (argv, g_strdup_printf ("%u", fixture->broker->port));
  va_start (args, first_arg);
  while (arg != NULL)
    {
      g_ptr_array_add (argv, g_strdup (arg));
      arg = va_arg (args, const gchar *);
    }
  va_end (args);
  g_ptr_array_add (argv, NULL);
  process = hg_test_spawn (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, (const gchar *const *)argv->pdata,
                           &error);
  g_assert_no_error (error);
  /* the plugin runs on this main loop: keep it running while the simulator publishes */
  g_subprocess_wait_check_async (process, NULL, sim_done_cb, &done);
  hg_test_wait_for (is_true, &done, WAIT_SECONDS);
}

/* /sensors/plugin/configure -------------------------------------------------------------- */

static void
test_configure_errors (Fixture *fixture,
                       gconstpointer user_data)
{
  static const struct
  {
    const gchar *key;
    const gchar *value;
    const gchar *named;
  } cases[] = {
    { "colour", "red", "'colour'" },
    { "broker-port", "70000", "'broker-port'" },
    { "broker-port", "1883", "net.connect:127.0.0.1:1883" },
    { "broker-host", "evil host", "'broker-host'" },
    { "protocol", "4", "'protocol'" },
    { "timezone", "Mars/Olympus_Mons", "'timezone'" },
    { "tls-certificate", "/etc/hemgate/client.pem", "'tls-ca-file'" },
    { "tls-ca-file", "ca.pem", "'tls-ca-file'" },
    { "client-id", "has spaces", "'client-id'" },
    { "max-payload", "10", "'max-payload'" },
    { "z2m-base-topic", "zigbee2mqtt/#", "'z2m-base-topic'" },
    { "z2m-subscribe", "some", "'z2m-subscribe'" },
    { "chirpstack-application", "a/b", "'chirpstack-application'" },
    { "device.hall-door.kind", "door", "'device.hall-door.kind'" },
    { "rule.night.type", "night-door", NULL },
    { "rule.bed.devices", "hall-door", "'rule.bed.devices'" },
    { "history-interval", "-1", "'history-interval'" },
  };

  g_test_summary ("configure() refuses a bad key by name with HG_ERROR_INVALID_DATA, including a "
                  "broker the manifest did not grant; a good configuration is accepted");
  make_plugin (fixture, fixture->capability);
  g_assert_true (hg_plugin_configure (fixture->plugin, fixture->config, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(HgConfig) config = hg_config_new ();
      g_autoptr(GError) error = NULL;
      g_autofree gchar *port = g_strdup_printf ("%u", fixture->broker->port);

      for (guint j = 0; home_config[j] != NULL; j += 2)
        hg_config_set (config, home_config[j], home_config[j + 1]);
      hg_config_set (config, "broker-port", port);
      hg_config_set (config, cases[i].key, cases[i].value);
      if (cases[i].named == NULL)
        {
          g_assert_true (hg_plugin_configure (fixture->plugin, config, &error));
          g_assert_no_error (error);
          continue;
        }
      g_assert_false (hg_plugin_configure (fixture->plugin, config, &error));
      g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
      g_test_message ("%s = %s: %s", cases[i].key, cases[i].value, error->message);
      g_assert_nonnull (strstr (error->message, cases[i].named));
    }
}

/* /sensors/plugin/water-leak ------------------------------------------------------------- */

static void
test_water_leak_once (Fixture *fixture,
                      gconstpointer user_data)
{
  g_autoptr(GString) lines = g_string_new (NULL);
  HgAlarm *alarm;
  JsonObject *detail;
  JsonObject *reading;

  g_test_summary ("Fifty water-leak messages through the broker raise one water alarm, located "
                  "in the device's room with the reading attached; the leak is journaled once");
  start_plugin (fixture);
  hg_test_wait_for (connected, fixture, WAIT_SECONDS);
  for (guint i = 0; i < 50; i++)
    g_string_append (lines,
                     "{\"water_leak\":true,\"battery\":100,\"linkquality\":84,\"tamper\":false}\n");
  hg_test_broker_publish_lines (fixture->broker, "zigbee2mqtt/kitchen-leak", lines->str, FALSE);
  wait_for_count (fixture, "kitchen-leak", "messages", 50);
  hg_test_wait_for (journal_drained, fixture, WAIT_SECONDS);

  g_assert_cmpuint (n_alarms (fixture), ==, 1);
  alarm = alarm_at (fixture, 0);
  g_assert_cmpstr (hg_alarm_get_alarm_type (alarm), ==, "water");
  g_assert_cmpstr (hg_alarm_get_device (alarm), ==, "kitchen-leak");
  g_assert_cmpstr (hg_alarm_get_location (alarm), ==, "kitchen");
  detail = hg_alarm_get_detail (alarm);
  g_assert_cmpstr (json_object_get_string_member (detail, "rule"), ==, "alarms");
  g_assert_cmpstr (json_object_get_string_member (detail, "device_name"), ==, "Under the sink");
  g_assert_cmpstr (json_object_get_string_member (detail, "domain"), ==, "municipal");
  reading = member (detail, "reading");
  g_assert_cmpstr (json_object_get_string_member (reading, "kind"), ==, "water_leak");
  g_assert_true (json_object_get_boolean_member (reading, "value"));
  g_assert_cmpint (json_object_get_int_member (reading, "battery"), ==, 100);
  g_assert_cmpuint (count_events (fixture, "sensor.reading", "kitchen-leak"), ==,
                    2); /* leak, tamper */

  /* dry, then a leak again: a second alarm */
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/kitchen-leak", "{\"water_leak\":false}",
                          FALSE);
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/kitchen-leak", "{\"water_leak\":true}",
                          FALSE);
  wait_for_count (fixture, "kitchen-leak", "messages", 52);
  hg_test_wait_for (journal_drained, fixture, WAIT_SECONDS);
  g_assert_cmpuint (n_alarms (fixture), ==, 2);
  g_assert_cmpuint (count_events (fixture, "sensor.reading", "kitchen-leak"), ==, 4);
  g_assert_cmpuint (n_warnings, ==, 0);
}

/* /sensors/plugin/simulator -------------------------------------------------------------- */

static void
test_simulated_day (Fixture *fixture,
                    gconstpointer user_data)
{
  g_test_summary ("A simulated day in both formats (Zigbee2MQTT and ChirpStack v4) becomes "
                  "readings of every device, with nothing dropped");
  hg_config_set (fixture->config, "chirpstack-application", "demo");
  hg_config_set (fixture->config, "history-interval", "0");
  /* a day in four seconds is far beyond any real device's rate */
  hg_config_set (fixture->config, "device-max-rate", "0");
  start_plugin (fixture);
  hg_test_wait_for (connected, fixture, WAIT_SECONDS);
  run_sim (fixture, "--scenario", "normal-day", "--speed", "20000", NULL);
  /* the last message of the day: the LoRaWAN device's 144th uplink */
  wait_for_count (fixture, "climate", "messages", 144);
  wait_for_count (fixture, "living-temp", "messages", 288);
  hg_test_wait_for (journal_drained, fixture, WAIT_SECONDS);
  g_assert_cmpint (device_count (fixture, "climate", "readings"), ==, 288);
  /* availability counts as a reading: online, then in and out of bed */
  g_assert_cmpint (device_count (fixture, "bed", "readings"), ==, 3);
  g_assert_cmpint (device_count (fixture, "hall-door", "readings"), ==, 9);
  g_assert_cmpint (device_count (fixture, "kitchen-leak", "messages"), ==, 25);
  g_assert_cmpint (device_count (fixture, "bedroom-motion", "messages"), >, 0);
  for (guint i = 0; i < 6; i++)
    {
      const gchar *devices[]
          = { "hall-door", "bed", "bedroom-motion", "kitchen-leak", "living-temp", "climate" };
      const gchar *drops[]
          = { "too-large", "not-json", "wrong-shape", "out-of-range", "flood", "backlog" };
      for (guint j = 0; j < G_N_ELEMENTS (drops); j++)
        {
          if (device_count (fixture, devices[i], drops[j]) != 0)
            g_test_message ("%s: %s", devices[i], drops[j]);
          g_assert_cmpint (device_count (fixture, devices[i], drops[j]), ==, 0);
        }
    }
  g_assert_cmpuint (count_events (fixture, "sensor.reading", "climate"), ==, 288);
  g_assert_cmpuint (count_events (fixture, "sensor.availability", NULL), ==, 6);
  g_assert_cmpuint (n_warnings, ==, 0);
  /* the bed was left at 07:00 and returned to at 22:00, outside the bed-exit window */
  g_assert_cmpuint (n_alarms (fixture), ==, 0);
}

/* /sensors/plugin/bad-input -------------------------------------------------------------- */

static void
test_garbage (Fixture *fixture,
              gconstpointer user_data)
{
  g_autoptr(JsonObject) h = NULL;

  g_test_summary ("The simulator's garbage (non-JSON, wrong shapes, absurd values, unknown "
                  "devices, injected names, oversized, one device speaking for another) is "
                  "counted per device and dropped; a good message afterwards still counts");
  hg_config_set (fixture->config, "z2m-subscribe", "all");
  start_plugin (fixture);
  hg_test_wait_for (connected, fixture, WAIT_SECONDS);
  run_sim (fixture, "--scenario", "garbage", NULL);
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/hall-door", "{\"contact\":false}", FALSE);
  wait_for_count (fixture, "hall-door", "readings", 1);
  hg_test_wait_for (journal_drained, fixture, WAIT_SECONDS);

  g_assert_cmpint (device_count (fixture, "hall-door", "not-json"), ==, 5);
  g_assert_cmpint (device_count (fixture, "hall-door", "wrong-shape"), ==, 1);
  g_assert_cmpint (device_count (fixture, "hall-door", "too-large"), ==, 1);
  g_assert_cmpint (device_count (fixture, "living-temp", "out-of-range"), ==, 2);
  g_assert_cmpint (device_count (fixture, "kitchen-leak", "wrong-shape"), ==, 1);
  g_assert_cmpint (device_count (fixture, "panic-button", "wrong-shape"), ==, 1);
  g_assert_cmpint (device_count (fixture, "climate", "wrong-shape"), ==, 2);
  h = health (fixture);
  /* not-registered and an unknown DevEUI; the broker itself refuses a topic with a
   * control character, so that one never arrives */
  g_assert_cmpint (json_object_get_int_member (member (h, "unknown"), "messages"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (member (h, "z2m-bridge"), "invalid"), ==, 2);
  g_assert_cmpuint (n_alarms (fixture), ==, 0);
  g_assert_cmpuint (count_events (fixture, "sensor.reading", "hall-door"), ==, 1);
}

static void
test_retained_garbage (Fixture *fixture,
                       gconstpointer user_data)
{
  g_test_summary ("Retained garbage the broker hands over on subscribing is counted and dropped; "
                  "retained good state is taken (and marked retained), and live messages follow");
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/hall-door", "garbage{", TRUE);
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/living-temp", "{\"temperature\":900}",
                          TRUE);
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/bed", "{\"occupancy\":true}", TRUE);
  start_plugin (fixture);
  wait_for_count (fixture, "hall-door", "not-json", 1);
  wait_for_count (fixture, "living-temp", "out-of-range", 1);
  wait_for_count (fixture, "bed", "readings", 1);
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/hall-door", "{\"contact\":true}", FALSE);
  wait_for_count (fixture, "hall-door", "readings", 1);
  hg_test_wait_for (journal_drained, fixture, WAIT_SECONDS);
  GPtrArray *events = hg_test_context_get_events (fixture->context);

  for (guint i = 0; i < events->len; i++)
    {
      HgEvent *event = g_ptr_array_index (events, i);
      JsonObject *body = hg_event_get_body (event);
      if (g_strcmp0 (json_object_get_string_member_with_default (body, "device", ""), "bed") == 0)
        g_assert_true (json_object_get_boolean_member (body, "retained"));
    }
}

static void
test_flood (Fixture *fixture,
            gconstpointer user_data)
{
  g_test_summary ("A flood from one device is counted on that device and not journaled beyond "
                  "its rate; other devices are still processed, and a water leak during the "
                  "flood still raises its alarm");
  hg_config_set (fixture->config, "history-interval", "0");
  g_test_message ("waiting for the plugin to start");
  start_plugin (fixture);
  g_test_message ("waiting for the broker connection");
  hg_test_wait_for (connected, fixture, WAIT_SECONDS);
  g_test_message ("waiting for the simulator's flood to be published");
  run_sim (fixture, "--scenario", "flood", "--rate", "5000", "--duration", "1", NULL);
  g_test_message ("publishing the leak (mosquitto_pub, QoS 1)");
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/kitchen-leak", "{\"water_leak\":true}",
                          FALSE);
  g_test_message ("waiting for the leak message");
  wait_for_count (fixture, "kitchen-leak", "messages", 1);
  g_test_message ("waiting for the journal queue to drain");
  hg_test_wait_for (journal_drained, fixture, WAIT_SECONDS);
  g_test_message ("flood: %" G_GINT64_FORMAT " messages, %u journaled",
                  device_count (fixture, "bedroom-motion", "messages"),
                  count_events (fixture, "sensor.reading", "bedroom-motion"));
  g_assert_cmpint (device_count (fixture, "bedroom-motion", "flood"), >, 0);
  g_assert_cmpint (device_count (fixture, "bedroom-motion", "messages"), >, 1000);
  g_assert_cmpint (device_count (fixture, "living-temp", "flood"), ==, 0);
  g_assert_cmpint (device_count (fixture, "living-temp", "readings"), >=, 8);
  g_assert_cmpuint (count_events (fixture, "sensor.reading", "living-temp"), ==,
                    (guint) device_count (fixture, "living-temp", "readings"));
  /* within 2 x 10 messages/s of burst and rate over the flood's length, give or take */
  g_assert_cmpuint (count_events (fixture, "sensor.reading", "bedroom-motion"), <, 200);
  g_assert_cmpuint (n_alarms (fixture), ==, 1);
  g_assert_cmpstr (hg_alarm_get_alarm_type (alarm_at (fixture, 0)), ==,
                   "water");
}

/* /sensors/plugin/broker ----------------------------------------------------------------- */

static void
test_broker_restart (Fixture *fixture,
                     gconstpointer user_data)
{
  g_test_summary ("The broker killed and restarted mid-stream: the plugin notices, reconnects "
                  "with backoff, subscribes again, and the next message counts");
  start_plugin (fixture);
  hg_test_wait_for (connected, fixture, WAIT_SECONDS);
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/hall-door", "{\"contact\":false}", FALSE);
  wait_for_count (fixture, "hall-door", "readings", 1);
  hg_test_broker_stop (fixture->broker);
  hg_test_wait_for (disconnected, fixture, WAIT_SECONDS);
  g_assert_cmpint (broker_number (fixture, "connects"), ==, 1);
  hg_test_broker_start (fixture->broker);
  hg_test_wait_for (connected, fixture, WAIT_SECONDS);
  g_assert_cmpint (broker_number (fixture, "connects"), ==, 2);
  g_assert_cmpint (broker_number (fixture, "failures"), >=, 1);
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/hall-door", "{\"contact\":true}", FALSE);
  wait_for_count (fixture, "hall-door", "readings", 2);
  /* the health report says so, too */
  g_assert_cmpuint (count_events (fixture, "sensor.health", NULL), >=, 3);
}

static void
test_broker_down_at_start (Fixture *fixture,
                           gconstpointer user_data)
{
  g_test_summary ("A broker that is down when the plugin starts is no error: the plugin starts, "
                  "keeps trying, and connects once the broker is up");
  hg_test_broker_stop (fixture->broker);
  start_plugin (fixture);
  g_assert_false (connected (fixture));
  hg_test_broker_start (fixture->broker);
  hg_test_wait_for (connected, fixture, WAIT_SECONDS);
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/panic-button", "{\"action\":\"single\"}",
                          FALSE);
  wait_for_count (fixture, "panic-button", "readings", 1);
  g_assert_cmpuint (n_alarms (fixture), ==, 1);
  g_assert_cmpstr (hg_alarm_get_alarm_type (alarm_at (fixture, 0)), ==,
                   "assistance");
}

static void
test_password_from_secrets (Fixture *fixture,
                            gconstpointer user_data)
{
  g_test_summary ("With a user name configured, the password comes from the secret store and the "
                  "broker, which refuses anonymous clients, accepts the plugin");
  hg_config_set (fixture->config, "username", "gateway");
  make_plugin (fixture, fixture->capability);
  hg_test_context_set_secret (fixture->context, "mqtt-password", "s3cret-for-test");
  start_plugin (fixture);
  /* the broker refuses anonymous clients, so being subscribed proves the password */
  hg_test_wait_for (connected, fixture, WAIT_SECONDS);
  g_assert_cmpint (broker_number (fixture, "connects"), ==, 1);
  g_assert_cmpuint (n_warnings, ==, 0);
}

static void
test_wrong_password (Fixture *fixture,
                     gconstpointer user_data)
{
  g_test_summary ("A wrong password is refused by the broker; the plugin keeps running and "
                  "trying with backoff, and never crashes");
  hg_config_set (fixture->config, "username", "gateway");
  make_plugin (fixture, fixture->capability);
  hg_test_context_set_secret (fixture->context, "mqtt-password", "wrong");
  start_plugin (fixture);
  while (broker_number (fixture, "failures") < 2)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (connected (fixture));
}

static void
test_broker_by_name (Fixture *fixture,
                     gconstpointer user_data)
{
  g_autofree gchar *grant = g_strdup_printf ("net.connect:localhost:%u", fixture->broker->port);

  g_test_summary ("A broker named by host name is resolved with GResolver, off the main loop, "
                  "and connected to (each address the name resolves to is tried in turn)");
  hg_config_set (fixture->config, "broker-host", "localhost");
  make_plugin (fixture, grant);
  start_plugin (fixture);
  hg_test_wait_for (connected, fixture, WAIT_SECONDS);
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/hall-door", "{\"contact\":true}", FALSE);
  wait_for_count (fixture, "hall-door", "readings", 1);
}

/* /sensors/plugin/alarms ------------------------------------------------------------------ */

static void
test_alarm_retried (Fixture *fixture,
                    gconstpointer user_data)
{
  g_autoptr(GError) unavailable = g_error_new_literal (HG_ERROR, HG_ERROR_UNAVAILABLE,
                                                       "the municipal journal is not open");

  g_test_summary ("An alarm the core cannot take yet (its journal unavailable) is raised again "
                  "until it is taken: no alarm is lost");
  make_plugin (fixture, fixture->capability);
  hg_test_context_fail_next (fixture->context, HG_TEST_CONTEXT_CALL_RAISE_ALARM, unavailable);
  hg_test_context_fail_next (fixture->context, HG_TEST_CONTEXT_CALL_RAISE_ALARM, unavailable);
  start_plugin (fixture);
  hg_test_wait_for (connected, fixture, WAIT_SECONDS);
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/kitchen-leak", "{\"water_leak\":true}",
                          FALSE);
  while (n_alarms (fixture) < 1)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (hg_test_context_get_n_calls (fixture->context, HG_TEST_CONTEXT_CALL_RAISE_ALARM), ==,
                    3);
  g_assert_cmpuint (n_alarms (fixture), ==, 1);
}

typedef struct
{
  Fixture *fixture;
  const gchar *device;
} DeviceRef;

static gboolean
reading_journaled (gpointer data)
{
  DeviceRef *ref = data;

  return count_events (ref->fixture, "sensor.reading", ref->device) > 0;
}

static void
test_reading_refused_alarm_kept (Fixture *fixture,
                                 gconstpointer user_data)
{
  g_autoptr(GError) refused = g_error_new_literal (
      HG_ERROR, HG_ERROR_UNAVAILABLE,
      "the personal domain publishes more events than its rate limit; try again later");
  DeviceRef leak = { fixture, "kitchen-leak" };

  g_test_summary ("When the core refuses readings for now (the domain's event rate), the alarm "
                  "of a water leak is raised once, unaffected, and the leak reading itself is "
                  "journaled after a pause rather than lost");
  make_plugin (fixture, fixture->capability);
  start_plugin (fixture);
  hg_test_wait_for (connected, fixture, WAIT_SECONDS);
  for (guint i = 0; i < 3; i++)
    hg_test_context_fail_next (fixture->context, HG_TEST_CONTEXT_CALL_PUBLISH_EVENT, refused);
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/kitchen-leak", "{\"water_leak\":true}",
                          FALSE);
  while (n_alarms (fixture) < 1)
    g_main_context_iteration (NULL, TRUE);
  hg_test_wait_for (reading_journaled, &leak, WAIT_SECONDS);
  g_assert_cmpuint (n_alarms (fixture), ==, 1);
  g_assert_cmpuint (hg_test_context_get_n_calls (fixture->context, HG_TEST_CONTEXT_CALL_RAISE_ALARM), ==,
                    1);
}

static gint64
fake_clock (gpointer user_data)
{
  Fixture *fixture = user_data;

  return fixture->clock;
}

static void
test_bed_exit_clock (Fixture *fixture,
                     gconstpointer user_data)
{
  g_autoptr(GDateTime) night = g_date_time_new_utc (2024, 1, 10, 1, 0, 0); /* 02:00 CET */
  HgAlarm *alarm;

  g_test_summary ("Time-based rules run on the plugin's clock, which a test sets: out of bed at "
                  "02:00 and not back after 20 minutes raises a fall alarm, without waiting");
  make_plugin (fixture, fixture->capability);
  fixture->clock = g_date_time_to_unix (night) * G_USEC_PER_SEC;
  hg_mqtt_sensors_plugin_set_clock (HG_MQTT_SENSORS_PLUGIN (fixture->plugin), fake_clock, fixture);
  start_plugin (fixture);
  hg_test_wait_for (connected, fixture, WAIT_SECONDS);
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/bed",
                          "{\"occupancy\":false,\"battery\":88}", FALSE);
  wait_for_count (fixture, "bed", "readings", 1);
  fixture->clock += 19 * 60 * G_USEC_PER_SEC;
  hg_mqtt_sensors_plugin_tick (HG_MQTT_SENSORS_PLUGIN (fixture->plugin));
  g_assert_cmpuint (n_alarms (fixture), ==, 0);
  fixture->clock += 2 * 60 * G_USEC_PER_SEC;
  hg_mqtt_sensors_plugin_tick (HG_MQTT_SENSORS_PLUGIN (fixture->plugin));
  while (n_alarms (fixture) < 1)
    g_main_context_iteration (NULL, TRUE);
  alarm = alarm_at (fixture, 0);
  g_assert_cmpstr (hg_alarm_get_alarm_type (alarm), ==, "fall");
  g_assert_cmpstr (hg_alarm_get_location (alarm), ==, "bedroom");
  g_assert_cmpstr (json_object_get_string_member (hg_alarm_get_detail (alarm), "rule_type"), ==,
                   "bed-exit");
}

/* TLS: a CA and a server certificate for 127.0.0.1, made with openssl for the test. */
static gchar *tls_dir;

static void
run_openssl (const gchar *const *argv)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;

  process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);
  g_assert_no_error (error);
  g_subprocess_wait_check (process, NULL, &error);
  g_assert_no_error (error);
}

static gchar *
tls_file (const gchar *name)
{
  return g_build_filename (tls_dir, name, NULL);
}

static gchar *
tls_broker_config (void)
{
  g_autofree gchar *ca_key = tls_file ("ca.key");
  g_autofree gchar *ca = tls_file ("ca.pem");
  g_autofree gchar *other_key = tls_file ("other.key");
  g_autofree gchar *other = tls_file ("other.pem");
  g_autofree gchar *key = tls_file ("server.key");
  g_autofree gchar *csr = tls_file ("server.csr");
  g_autofree gchar *cert = tls_file ("server.pem");
  g_autofree gchar *ext = tls_file ("ext.cnf");
  g_autofree gchar *client_key = tls_file ("client.key");
  g_autofree gchar *client_csr = tls_file ("client.csr");
  g_autofree gchar *client_cert = tls_file ("client.pem");
  g_autoptr(GError) error = NULL;

  run_openssl ((const gchar *const[]){ "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                                       "-keyout", ca_key, "-out", ca, "-days", "2", "-subj",
                                       "/CN=hemgate test CA", NULL });
  run_openssl ((const gchar *const[]){ "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                                       "-keyout", other_key, "-out", other, "-days", "2", "-subj",
                                       "/CN=someone else", NULL });
  run_openssl ((const gchar *const[]){ "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout",
                                       key, "-out", csr, "-subj", "/CN=127.0.0.1", NULL });
  g_assert_true (g_file_set_contents (ext, "subjectAltName=IP:127.0.0.1\n", -1, &error));
  run_openssl ((const gchar *const[]){ "openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey",
                                       ca_key, "-CAcreateserial", "-out", cert, "-days", "2",
                                       "-extfile", ext, NULL });
  /* a client certificate the broker accepts when it requires one */
  run_openssl ((const gchar *const[]){ "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout",
                                       client_key, "-out", client_csr, "-subj", "/CN=hemgate-gateway",
                                       NULL });
  run_openssl ((const gchar *const[]){ "openssl", "x509", "-req", "-in", client_csr, "-CA", ca,
                                       "-CAkey", ca_key, "-CAcreateserial", "-out", client_cert,
                                       "-days", "2", NULL });
  return g_strdup_printf ("cafile %s\ncertfile %s\nkeyfile %s\n", ca, cert, key);
}

/* The started plugin connects to the broker once, with no warning. */
static void
assert_connects_once (Fixture *fixture)
{
  hg_test_wait_for (connected, fixture, WAIT_SECONDS);
  g_assert_cmpint (broker_number (fixture, "connects"), ==, 1);
  g_assert_cmpuint (n_warnings, ==, 0);
}

/* The started plugin is refused by the broker, twice at least, and keeps trying. */
static void
assert_never_connects (Fixture *fixture)
{
  while (broker_number (fixture, "failures") < 2)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (connected (fixture));
  g_assert_cmpint (broker_number (fixture, "connects"), ==, 0);
}

static void
test_tls (Fixture *fixture,
          gconstpointer user_data)
{
  g_autofree gchar *ca = tls_file ("ca.pem");

  g_test_summary ("With tls-ca-file the plugin speaks TLS to the broker, verifying its "
                  "certificate, and subscribes");
  hg_config_set (fixture->config, "tls-ca-file", ca);
  start_plugin (fixture);
  assert_connects_once (fixture);
}

static void
test_tls_wrong_ca (Fixture *fixture,
                   gconstpointer user_data)
{
  g_autofree gchar *other = tls_file ("other.pem");

  g_test_summary ("A broker whose certificate the configured CA did not sign is never "
                  "connected to; the plugin keeps trying");
  hg_config_set (fixture->config, "tls-ca-file", other);
  start_plugin (fixture);
  assert_never_connects (fixture);
}

static gchar *
tls_client_broker_config (void)
{
  g_autofree gchar *config = tls_broker_config ();

  return g_strconcat (config, "require_certificate true\n", NULL);
}

/* The secret store holds the file @name of the test's TLS directory as @secret. */
static void
store_tls_secret (Fixture *fixture,
                  const gchar *secret,
                  const gchar *name)
{
  g_autofree gchar *path = tls_file (name);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_assert_no_error (error);
  hg_test_context_set_secret (fixture->context, secret, text);
}

static void
test_tls_client_certificate (Fixture *fixture,
                             gconstpointer user_data)
{
  g_autofree gchar *ca = tls_file ("ca.pem");

  g_test_summary ("A broker that requires a client certificate accepts the plugin's, held "
                  "in the secret store (mqtt-tls-certificate, mqtt-tls-key) and handed to "
                  "libmosquitto from memory, never written to disk");
  hg_config_set (fixture->config, "tls-ca-file", ca);
  make_plugin (fixture, fixture->capability);
  store_tls_secret (fixture, "mqtt-tls-certificate", "client.pem");
  store_tls_secret (fixture, "mqtt-tls-key", "client.key");
  start_plugin (fixture);
  assert_connects_once (fixture);
}

static void
test_tls_client_certificate_missing (Fixture *fixture,
                                     gconstpointer user_data)
{
  g_autofree gchar *ca = tls_file ("ca.pem");

  g_test_summary ("Without a client certificate in the secret store, a broker that requires "
                  "one never accepts the plugin, which keeps running and trying");
  hg_config_set (fixture->config, "tls-ca-file", ca);
  start_plugin (fixture);
  assert_never_connects (fixture);
}

/* The mosquitto.conf lines of a broker refusing anonymous clients, with a password file
 * in @dir. */
static gchar *
password_broker_config (const gchar *dir)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *file = g_build_filename (dir, "passwd", NULL);
  g_autoptr(GSubprocess) process = NULL;

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, "mosquitto_passwd", "-b", "-c", file,
                              "gateway", "s3cret-for-test", NULL);
  g_assert_no_error (error);
  g_subprocess_wait_check (process, NULL, &error);
  g_assert_no_error (error);
  return g_strdup_printf ("allow_anonymous false\npassword_file %s\n", file);
}

int
main (int argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *dir = NULL;
  g_autofree gchar *passwords = NULL;
  g_autofree gchar *passwd_file = NULL;
  const gchar *tls_files[] = { "ca.key",     "ca.pem",     "ca.srl",     "other.key",
                               "other.pem",  "server.key", "server.csr", "server.pem",
                               "ext.cnf",    "client.key", "client.csr", "client.pem" };
  int rc;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  g_log_set_writer_func (log_writer_cb, NULL, NULL);
  dir = g_dir_make_tmp ("hemgate-mosquitto-passwd-XXXXXX", &error);
  g_assert_no_error (error);
  passwords = password_broker_config (dir);
  passwd_file = g_build_filename (dir, "passwd", NULL);
  tls_dir = dir;

  g_test_add ("/sensors/plugin/configure/bad-key-named", Fixture, NULL, setup,
              test_configure_errors, teardown);
  g_test_add ("/sensors/plugin/water-leak/one-alarm-for-fifty-messages", Fixture, NULL, setup,
              test_water_leak_once, teardown);
  g_test_add ("/sensors/plugin/simulator/day-in-both-formats", Fixture, NULL, setup,
              test_simulated_day, teardown);
  g_test_add ("/sensors/plugin/bad-input/garbage-counted", Fixture, NULL, setup, test_garbage,
              teardown);
  g_test_add ("/sensors/plugin/bad-input/retained-garbage-on-start", Fixture, NULL, setup,
              test_retained_garbage, teardown);
  g_test_add ("/sensors/plugin/bad-input/flood-from-one-device", Fixture, NULL, setup, test_flood,
              teardown);
  g_test_add ("/sensors/plugin/broker/restart-reconnect-resubscribe", Fixture, NULL, setup,
              test_broker_restart, teardown);
  g_test_add ("/sensors/plugin/broker/down-at-start", Fixture, NULL, setup,
              test_broker_down_at_start, teardown);
  g_test_add ("/sensors/plugin/broker/password-from-secret-store", Fixture, passwords, setup,
              test_password_from_secrets, teardown);
  g_test_add ("/sensors/plugin/broker/wrong-password-keeps-trying", Fixture, passwords, setup,
              test_wrong_password, teardown);
  g_test_add ("/sensors/plugin/broker/by-name-every-address-tried", Fixture, NULL, setup,
              test_broker_by_name, teardown);
  g_test_add ("/sensors/plugin/alarms/retried-until-taken", Fixture, NULL, setup,
              test_alarm_retried, teardown);
  g_test_add ("/sensors/plugin/alarms/reading-refused-alarm-kept", Fixture, NULL, setup,
              test_reading_refused_alarm_kept, teardown);
  g_test_add ("/sensors/plugin/rules/bed-exit-on-injected-clock", Fixture, NULL, setup,
              test_bed_exit_clock, teardown);
  g_test_add ("/sensors/plugin/broker/tls-verified", Fixture, TLS_BROKER, setup, test_tls,
              teardown);
  g_test_add ("/sensors/plugin/broker/tls-wrong-ca-refused", Fixture, TLS_BROKER, setup,
              test_tls_wrong_ca, teardown);
  g_test_add ("/sensors/plugin/broker/tls-client-certificate-from-secret-store", Fixture,
              TLS_CLIENT_BROKER, setup, test_tls_client_certificate, teardown);
  g_test_add ("/sensors/plugin/broker/tls-client-certificate-required", Fixture,
              TLS_CLIENT_BROKER, setup, test_tls_client_certificate_missing, teardown);
  rc = g_test_run ();
  for (guint i = 0; i < G_N_ELEMENTS (tls_files); i++)
    {
      g_autofree gchar *path = tls_file (tls_files[i]);
      g_remove (path);
    }
  g_remove (passwd_file);
  g_rmdir (dir);
  return rc;
}
