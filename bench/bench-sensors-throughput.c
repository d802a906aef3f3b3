/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Benchmark of the mqtt-sensors plugin's message path: readings per second through
 * normalisation and rules on one core, with mosquitto on the same machine.
 *
 *   broker   the broker's own limit here: a bare subscriber (HgMqttClient on the GLib main
 *            loop, counting) behind mosquitto, fed by hemgate-sensor-sim as fast as it can
 *   plugin   the same traffic into the plugin class (500 registered Zigbee devices, seven
 *            rules, journal writes to libhemgate's HgTestContext, which keeps them)
 *   cpu      the plugin's handle_message() called in a loop, no broker: the ceiling
 *
 * Usage: bench-sensors-throughput BUILDDIR [SECONDS] */
#include <math.h>
#include <stdio.h>

#include <hemgate-plugin.h>

#include "hg-mqtt-client.h"
#include "hg-mqtt-sensors-plugin.h"
#include "hg-test-broker.h"

#define N_DEVICES 500

/* Counting what arrives ------------------------------------------------------------------- */

typedef struct
{
  guint64 n;
  gint64 first;
  gint64 last;
} Counter;

static void
counter_hit (Counter *counter)
{
  gint64 now = g_get_monotonic_time ();

  if (counter->n++ == 0)
    counter->first = now;
  counter->last = now;
}

static gdouble
counter_rate (const Counter *counter)
{
  if (counter->n < 2 || counter->last <= counter->first)
    return 0;
  return (gdouble) (counter->n - 1) * G_USEC_PER_SEC / (gdouble) (counter->last - counter->first);
}

static void
bare_message_cb (const gchar *topic,
                 const gchar *payload,
                 gsize length,
                 gboolean retained,
                 gpointer user_data)
{
  counter_hit (user_data);
}

/* The plugin reads its clock once per message: counting the calls counts the messages. */
static gint64
counting_clock (gpointer user_data)
{
  counter_hit (user_data);
  return g_get_real_time ();
}

static void
iterate_for (guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < end)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
}

typedef struct
{
  gboolean done;
  gchar *out; /* (owned) */
} SimRun;

static void
sim_done_cb (GObject *source,
             GAsyncResult *result,
             gpointer user_data)
{
  SimRun *run = user_data;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &run->out, NULL, NULL);
  run->done = TRUE;
}

/* Runs the simulator's load scenario at full speed, iterating the main loop meanwhile and
 * until @counter has seen everything (or nothing came for two seconds). Returns how many
 * messages the simulator sent. */
static guint64
run_load (const gchar *sim,
          guint16 port,
          gdouble seconds,
          Counter *counter)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *port_text = g_strdup_printf ("%u", port);
  g_autofree gchar *duration = g_strdup_printf ("%.1f", seconds);
  g_autofree gchar *devices = g_strdup_printf ("%d", N_DEVICES);
  SimRun run = { FALSE, NULL };
  guint64 sent = 0;
  gint64 idle_since;
  const gchar *count;

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, sim, "--port", port_text,
                              "--scenario", "load", "--rate", "10000000", "--duration", duration,
                              "--devices", devices, NULL);
  if (process == NULL)
    {
      g_printerr ("bench-sensors-throughput: %s\n", error->message);
      exit (1);
    }
  g_subprocess_communicate_utf8_async (process, NULL, NULL, sim_done_cb, &run);
  while (!run.done)
    g_main_context_iteration (NULL, TRUE);
  count = run.out != NULL ? strstr (run.out, "load: ") : NULL;
  if (count != NULL)
    sent = g_ascii_strtoull (count + strlen ("load: "), NULL, 10);
  g_free (run.out);
  idle_since = g_get_monotonic_time ();
  while (counter->n < sent && g_get_monotonic_time () - idle_since < 2 * G_USEC_PER_SEC)
    {
      guint64 before = counter->n;
      iterate_for (50);
      if (counter->n != before)
        idle_since = g_get_monotonic_time ();
    }
  return sent;
}

static void
wait_subscribed_client (HgMqttClient *client)
{
  while (!hg_mqtt_client_get_subscribed (client))
    g_main_context_iteration (NULL, TRUE);
}

static HgConfig *
plugin_config (guint16 port)
{
  HgConfig *config = hg_config_new ();
  g_autofree gchar *port_text = g_strdup_printf ("%u", port);

  hg_config_set (config, "broker-port", port_text);
  for (guint i = 0; i < N_DEVICES; i++)
    {
      g_autofree gchar *source = g_strdup_printf ("device.load-%u.source", i);
      g_autofree gchar *kind = g_strdup_printf ("device.load-%u.kind", i);
      g_autofree gchar *room = g_strdup_printf ("device.load-%u.room", i);
      hg_config_set (config, source, "z2m");
      hg_config_set (config, kind, "occupancy");
      hg_config_set (config, room, "room");
    }
  hg_config_set (config, "rule.now.type", "immediate");
  hg_config_set (config, "rule.night.type", "night-door");
  hg_config_set (config, "rule.morning.type", "inactivity");
  hg_config_set (config, "rule.morning.from", "07:00");
  hg_config_set (config, "rule.morning.to", "11:00");
  hg_config_set (config, "rule.cold.type", "temperature");
  hg_config_set (config, "rule.battery.type", "low-battery");
  hg_config_set (config, "rule.silent.type", "offline");
  hg_config_set (config, "rule.bed.type", "bed-exit");
  hg_config_set (config, "rule.bed.devices", "load-0");
  return config;
}

static HgPlugin *
plugin_new (HgConfig *config,
            guint16 port)
{
  g_autofree gchar *grant = g_strdup_printf ("net.connect:127.0.0.1:%u", port);
  const gchar *capabilities[] = { "sensor.publish", "alarm.raise", grant, NULL };
  g_autoptr(HgTestContext) context = hg_test_context_new ("bench", HG_DOMAIN_MUNICIPAL, config,
                                                         capabilities);
  g_autoptr(GError) error = NULL;
  HgPlugin *plugin = g_object_new (HG_TYPE_MQTT_SENSORS_PLUGIN, "context", context, NULL);

  if (!hg_plugin_configure (plugin, config, &error))
    {
      g_printerr ("bench-sensors-throughput: %s\n", error->message);
      exit (1);
    }
  return plugin;
}

static void
started_cb (GObject *source,
            GAsyncResult *result,
            gpointer user_data)
{
  *(gboolean *) user_data = hg_plugin_start_finish (HG_PLUGIN (source), result, NULL);
}

static gboolean
plugin_subscribed (HgPlugin *plugin)
{
  g_autoptr(JsonObject) health
      = hg_mqtt_sensors_plugin_get_health (HG_MQTT_SENSORS_PLUGIN (plugin));

  return json_object_get_boolean_member (json_object_get_object_member (health, "broker"),
                                         "subscribed");
}

static guint64
plugin_total (HgPlugin *plugin,
              const gchar *counter)
{
  g_autoptr(JsonObject) health
      = hg_mqtt_sensors_plugin_get_health (HG_MQTT_SENSORS_PLUGIN (plugin));
  JsonObject *devices = json_object_get_object_member (health, "devices");
  g_autoptr(GList) members = json_object_get_members (devices);
  guint64 total = 0;

  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonObject *device = json_object_get_object_member (devices, l->data);
      if (json_object_has_member (device, counter))
        total += (guint64) json_object_get_int_member (device, counter);
      else
        total += (guint64) json_object_get_int_member (
            json_object_get_object_member (device, "dropped"), counter);
    }
  return total;
}

int
main (int argc,
      char **argv)
{
  g_autofree gchar *sim = NULL;
  gdouble seconds = argc > 2 ? g_ascii_strtod (argv[2], NULL) : 5.0;
  g_autoptr(HgTestBroker) broker = NULL;
  Counter bare = { 0 };
  Counter plugin_counter = { 0 };
  guint64 bare_sent;
  guint64 plugin_sent;
  gdouble cpu_rate;
  guint64 readings;

  if (argc < 2)
    {
      g_printerr ("usage: bench-sensors-throughput BUILDDIR [SECONDS]\n");
      return 2;
    }
  g_log_set_writer_func (hg_test_quiet_log_writer_cb, NULL, NULL);
  sim = g_build_filename (argv[1], "plugins", "mqtt-sensors", "hemgate-sensor-sim", NULL);
  broker = hg_test_broker_new ("max_queued_messages 0\nmax_queued_bytes 0\n");

  /* 1. the broker's own limit, with a bare subscriber */
  {
    g_autoptr(HgMqttClient) client = hg_mqtt_client_new ("bench-bare", "127.0.0.1", broker->port);
    const gchar *filters[] = { "zigbee2mqtt/#", NULL };

    hg_mqtt_client_set_subscriptions (client, filters);
    hg_mqtt_client_set_message_func (client, bare_message_cb, &bare);
    hg_mqtt_client_start (client, NULL);
    wait_subscribed_client (client);
    bare_sent = run_load (sim, broker->port, seconds, &bare);
    hg_mqtt_client_stop (client);
  }

  /* 2. the plugin */
  {
    g_autoptr(HgConfig) config = plugin_config (broker->port);
    g_autoptr(HgPlugin) plugin = plugin_new (config, broker->port);
    gboolean started = FALSE;

    hg_mqtt_sensors_plugin_set_clock (HG_MQTT_SENSORS_PLUGIN (plugin), counting_clock,
                                      &plugin_counter);
    hg_plugin_start_async (plugin, NULL, started_cb, &started);
    while (!started || !plugin_subscribed (plugin))
      g_main_context_iteration (NULL, TRUE);
    plugin_counter.n = 0;
    plugin_sent = run_load (sim, broker->port, seconds, &plugin_counter);
    readings = plugin_total (plugin, "readings");
    g_print ("plugin: %" G_GUINT64_FORMAT " readings, %" G_GUINT64_FORMAT " journal writes, "
             "%" G_GUINT64_FORMAT " over device-max-rate\n",
             readings,
             (guint64) hg_test_context_get_events (
                 HG_TEST_CONTEXT (hg_plugin_get_context (plugin)))->len,
             plugin_total (plugin, "flood"));
  }

  /* 3. the ceiling: no broker, one core */
  {
    g_autoptr(HgConfig) config = plugin_config (broker->port);
    g_autoptr(HgPlugin) plugin = plugin_new (config, broker->port);
    g_autoptr(GPtrArray) topics = g_ptr_array_new_with_free_func (g_free);
    const gchar *payloads[] = { "{\"occupancy\":true,\"battery\":90,\"linkquality\":100}",
                                "{\"occupancy\":false,\"battery\":90,\"linkquality\":100}" };
    gint64 start;
    gint64 end;
    guint64 n = 0;

    for (guint i = 0; i < N_DEVICES; i++)
      g_ptr_array_add (topics, g_strdup_printf ("zigbee2mqtt/load-%u", i));
    start = g_get_monotonic_time ();
    end = start + (gint64) (2 * G_USEC_PER_SEC);
    while (g_get_monotonic_time () < end)
      {
        for (guint i = 0; i < 1000; i++, n++)
          {
            const gchar *payload = payloads[(n / N_DEVICES) % 2];
            hg_mqtt_sensors_plugin_handle_message (HG_MQTT_SENSORS_PLUGIN (plugin),
                                                   g_ptr_array_index (topics, n % N_DEVICES),
                                                   payload, strlen (payload), FALSE);
          }
        while (g_main_context_iteration (NULL, FALSE))
          ;
      }
    cpu_rate = (gdouble) n * G_USEC_PER_SEC / (gdouble) (g_get_monotonic_time () - start);
  }

  g_print ("%-44s %12s %12s %12s\n", "messages (1 reading each) through", "sent", "received",
           "per second");
  g_print ("%-44s %12" G_GUINT64_FORMAT " %12" G_GUINT64_FORMAT " %12.0f\n",
           "mosquitto -> bare subscriber (broker limit)", bare_sent, bare.n, counter_rate (&bare));
  g_print ("%-44s %12" G_GUINT64_FORMAT " %12" G_GUINT64_FORMAT " %12.0f\n",
           "mosquitto -> plugin (normalise + rules)", plugin_sent, plugin_counter.n,
           counter_rate (&plugin_counter));
  g_print ("%-44s %12s %12s %12.0f\n", "plugin alone, no broker (one core)", "-", "-", cpu_rate);
  return 0;
}
