/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Benchmark of the whole sensor alarm path: the latency from an MQTT publish of a
 * Zigbee2MQTT water leak to the alarm being durable in the municipal journal (its
 * alarm.raised event committed), while hemgate-sensor-sim publishes background readings
 * at a set rate from 500 registered devices; and the plugin host's memory with those 500
 * devices. A real hemgated runs in this process with the real plugin host and a private
 * mosquitto on 127.0.0.1.
 *
 * Usage: bench-sensors-latency BUILDDIR [ROUNDS] [BACKGROUND_RATE] [DEVICE_MAX_RATE]
 * DEVICE_MAX_RATE is the plugin's device-max-rate (default 10), which bounds how many of
 * the background readings are journaled. */
#include "config.h"

#include <mosquitto.h>
#include <stdio.h>
#include <unistd.h>

#include "hg-test-broker.h"
#include "hgd-plugin-manager.h"
#include "hgd-test-daemon.h"

#define N_DEVICES 500

typedef struct
{
  gint64 alarm_at;     /* monotonic time the last alarm.raised was committed, or 0 */
  gint64 dry_at;       /* ... the last dry kitchen-leak reading */
  gboolean subscribed; /* the sensors instance said so in sensor.health */
  guint64 readings;    /* sensor.reading events committed */
} Watch;

static void
event_appended_cb (HgdJournal *journal,
                   HgEvent *event,
                   Watch *watch)
{
  const gchar *type = hg_event_get_event_type (event);
  JsonObject *body = hg_event_get_body (event);

  if (g_strcmp0 (type, "alarm.raised") == 0)
    {
      watch->alarm_at = g_get_monotonic_time ();
    }
  else if (g_strcmp0 (type, "sensor.reading") == 0)
    {
      watch->readings++;
      if (g_strcmp0 (json_object_get_string_member_with_default (body, "device", ""),
                     "kitchen-leak")
              == 0
          && g_strcmp0 (json_object_get_string_member_with_default (body, "kind", ""), "water_leak")
                 == 0
          && !json_object_get_boolean_member_with_default (body, "value", TRUE))
        watch->dry_at = g_get_monotonic_time ();
    }
  else if (g_strcmp0 (type, "sensor.health") == 0 && json_object_has_member (body, "broker"))
    {
      watch->subscribed = json_object_get_boolean_member_with_default (
          json_object_get_object_member (body, "broker"), "subscribed", FALSE);
    }
}

/* The build's plugins, with an mqtt-sensors manifest granting this broker. */
static gchar *
make_plugin_dir (const gchar *build,
                 guint16 port)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *root = g_dir_make_tmp ("hemgate-bench-plugins-XXXXXX", &error);
  g_autofree gchar *sensors = g_build_filename (build, "plugins", "mqtt-sensors", NULL);
  g_autofree gchar *example = g_build_filename (build, "plugins", "example", NULL);
  g_autofree gchar *grant = g_strdup_printf ("net.connect:127.0.0.1:%u", port);

  g_assert_no_error (error);
  hg_test_plugin_dir_add (root, sensors, "net.connect:127.0.0.1:1883", grant);
  hg_test_plugin_dir_add (root, example, NULL, NULL);
  return g_steal_pointer (&root);
}

static void
add (GPtrArray *overrides,
     const gchar *group,
     const gchar *key,
     const gchar *value)
{
  g_ptr_array_add (overrides, g_strdup (group));
  g_ptr_array_add (overrides, g_strdup (key));
  g_ptr_array_add (overrides, g_strdup (value));
}

static guint
rss_kib (gint64 pid)
{
  guint64 kib = 0;

  hg_test_proc_rss_kib ((gint)pid, &kib);
  return (guint)kib;
}

static gint64
host_pid (HgdTestDaemon *td,
          const gchar *instance)
{
  g_autoptr(JsonArray) plugins
      = hgd_plugin_manager_to_json (hgd_daemon_get_plugin_manager (td->daemon), NULL);

  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *plugin = json_array_get_object_element (plugins, i);
      if (g_strcmp0 (json_object_get_string_member (plugin, "id"), instance) == 0
          && !json_object_get_null_member (plugin, "pid"))
        return json_object_get_int_member (plugin, "pid");
    }
  return 0;
}

static int
compare_int64 (gconstpointer a,
               gconstpointer b)
{
  gint64 x = *(const gint64 *) a;
  gint64 y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static gint64
percentile (GArray *sorted,
            gdouble p)
{
  guint i = (guint) (p * (sorted->len - 1) + 0.5);

  return g_array_index (sorted, gint64, MIN (i, sorted->len - 1));
}

static void
wait_until (gint64 *at,
            gint64 since,
            guint seconds)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;

  while (*at < since && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
}

int
main (int argc,
      char **argv)
{
  guint rounds = argc > 2 ? (guint) g_ascii_strtoull (argv[2], NULL, 10) : 200;
  guint rate = argc > 3 ? (guint) g_ascii_strtoull (argv[3], NULL, 10) : 10000;
  const gchar *device_max_rate = argc > 4 ? argv[4] : "10";
  g_autoptr(HgTestBroker) broker = NULL;
  g_autoptr(GPtrArray) overrides = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) latencies = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GSubprocess) load = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *plugin_dir = NULL;
  g_autofree gchar *build = NULL;
  g_autofree gchar *host = NULL;
  g_autofree gchar *sim = NULL;
  g_autofree gchar *port = NULL;
  g_autofree gchar *rate_text = g_strdup_printf ("%u", rate);
  g_autofree gchar *devices_text = g_strdup_printf ("%d", N_DEVICES);
  g_autofree gchar *state = NULL;
  HgdTestDaemonOptions options = { 0 };
  HgdTestDaemon *td;
  struct mosquitto *publisher;
  Watch watch = { 0 };
  guint64 readings_before;
  gint64 load_start;
  guint lost = 0;

  if (argc < 2)
    {
      g_printerr (
          "usage: bench-sensors-latency BUILDDIR [ROUNDS] [BACKGROUND_RATE] [DEVICE_MAX_RATE]\n");
      return 2;
    }
  g_log_set_writer_func (hg_test_quiet_log_writer_cb, NULL, NULL);
  build = g_canonicalize_filename (argv[1], NULL);
  host = g_getenv ("HEMGATE_BENCH_HOST") != NULL
             ? g_strdup (g_getenv ("HEMGATE_BENCH_HOST"))
             : g_build_filename (build, "daemon", "host", "hemgate-plugin-host", NULL);
  sim = g_build_filename (build, "plugins", "mqtt-sensors", "hemgate-sensor-sim", NULL);
  g_setenv ("HGD_TEST_BUILD_ROOT", build, TRUE);
  broker = hg_test_broker_new (NULL);
  port = g_strdup_printf ("%u", broker->port);
  plugin_dir = make_plugin_dir (build, broker->port);
  state = g_dir_make_tmp ("hemgate-bench-state-XXXXXX", &error);
  g_assert_no_error (error);

  add (overrides, "plugins", "directory", plugin_dir);
  add (overrides, "plugins", "host", host);
  add (overrides, "plugin:example", "plugin", "example");
  add (overrides, "plugin:example", "domain", "personal");
  add (overrides, "plugin:sensors-municipal", "plugin", "mqtt-sensors");
  add (overrides, "plugin:sensors-municipal", "domain", "municipal");
  add (overrides, "plugin:sensors-municipal", "broker-port", port);
  add (overrides, "plugin:sensors-municipal", "health-interval", "1");
  add (overrides, "plugin:sensors-municipal", "device-max-rate", device_max_rate);
  add (overrides, "plugin:sensors-municipal", "device.kitchen-leak.source", "z2m");
  add (overrides, "plugin:sensors-municipal", "device.kitchen-leak.kind", "water_leak");
  add (overrides, "plugin:sensors-municipal", "device.kitchen-leak.room", "kitchen");
  add (overrides, "plugin:sensors-municipal", "rule.alarms.type", "immediate");
  add (overrides, "plugin:sensors-municipal", "rule.battery.type", "low-battery");
  add (overrides, "plugin:sensors-municipal", "rule.silent.type", "offline");
  add (overrides, "plugin:sensors-municipal", "rule.morning.type", "inactivity");
  add (overrides, "plugin:sensors-municipal", "rule.morning.from", "07:00");
  add (overrides, "plugin:sensors-municipal", "rule.morning.to", "11:00");
  for (guint i = 0; i < N_DEVICES; i++)
    {
      g_autofree gchar *source = g_strdup_printf ("device.load-%u.source", i);
      g_autofree gchar *kind = g_strdup_printf ("device.load-%u.kind", i);
      g_autofree gchar *room = g_strdup_printf ("device.load-%u.room", i);
      add (overrides, "plugin:sensors-municipal", source, "z2m");
      add (overrides, "plugin:sensors-municipal", kind, "occupancy");
      add (overrides, "plugin:sensors-municipal", room, "room");
    }
  g_ptr_array_add (overrides, NULL);
  options.overrides = (const gchar *const *)overrides->pdata;
  options.state_dir = state;
  td = hgd_test_daemon_new (&options);
  g_signal_connect (hgd_daemon_get_journal (td->daemon, HG_DOMAIN_MUNICIPAL), "event-appended",
                    G_CALLBACK (event_appended_cb), &watch);
  while (!watch.subscribed)
    g_main_context_iteration (NULL, TRUE);

  mosquitto_lib_init ();
  publisher = mosquitto_new ("bench-publisher", TRUE, NULL);
  mosquitto_int_option (publisher, MOSQ_OPT_TCP_NODELAY, 1);
  g_assert_cmpint (mosquitto_connect (publisher, "127.0.0.1", broker->port, 60), ==,
                   MOSQ_ERR_SUCCESS);
  mosquitto_loop_start (publisher);

  load = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, sim, "--port", port,
                           "--scenario", "load", "--devices", devices_text, "--rate", rate_text,
                           "--duration", "3600", NULL);
  g_assert_no_error (error);
  /* warm up: let the background reach its rate */
  hg_test_run_for (2000);
  readings_before = watch.readings;
  load_start = g_get_monotonic_time ();

  for (guint i = 0; i < rounds; i++)
    {
      static const gchar wet[] = "{\"water_leak\":true,\"battery\":100,\"linkquality\":84}";
      static const gchar dry[] = "{\"water_leak\":false,\"battery\":100,\"linkquality\":84}";
      gint64 t0 = g_get_monotonic_time ();
      gint64 latency;

      mosquitto_publish (publisher, NULL, "zigbee2mqtt/kitchen-leak", sizeof wet - 1, wet, 0,
                         FALSE);
      wait_until (&watch.alarm_at, t0, 10);
      if (watch.alarm_at < t0)
        {
          lost++;
          continue;
        }
      latency = watch.alarm_at - t0;
      g_array_append_val (latencies, latency);
      t0 = g_get_monotonic_time ();
      mosquitto_publish (publisher, NULL, "zigbee2mqtt/kitchen-leak", sizeof dry - 1, dry, 0,
                         FALSE);
      wait_until (&watch.dry_at, t0, 10);
      hg_test_run_for (20);
    }

  {
    gdouble seconds = (gdouble) (g_get_monotonic_time () - load_start) / G_USEC_PER_SEC;
    gint64 sensors_pid = host_pid (td, "sensors-municipal");
    gint64 example_pid = host_pid (td, "example");

    g_array_sort (latencies, compare_int64);
    g_print ("background: %u readings/s offered by hemgate-sensor-sim over %d devices; "
             "%.0f sensor.reading events/s journaled (device-max-rate %s, history-interval 60)\n",
             rate, N_DEVICES, (watch.readings - readings_before) / seconds, device_max_rate);
    if (latencies->len > 0)
      g_print ("water leak publish -> alarm.raised durable: n=%u p50=%.2f ms p99=%.2f ms max=%.2f "
               "ms lost=%u\n",
               latencies->len, percentile (latencies, 0.5) / 1000.0,
               percentile (latencies, 0.99) / 1000.0,
               g_array_index (latencies, gint64, latencies->len - 1) / 1000.0, lost);
    g_print (
        "plugin host VmRSS: mqtt-sensors with %d devices %u KiB (%.1f MiB); idle example %u KiB\n",
        N_DEVICES + 1, rss_kib (sensors_pid), rss_kib (sensors_pid) / 1024.0,
        rss_kib (example_pid));
  }

  g_subprocess_force_exit (load);
  g_subprocess_wait (load, NULL, NULL);
  mosquitto_disconnect (publisher);
  mosquitto_loop_stop (publisher, FALSE);
  mosquitto_destroy (publisher);
  mosquitto_lib_cleanup ();
  hgd_test_daemon_free (td);
  return lost == 0 ? 0 : 1;
}
