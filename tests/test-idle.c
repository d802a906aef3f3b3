/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The demo home at rest: the real hemgated --demo as its own process with every plugin
 * host it starts (SCAIP to hemgate-arc-sim, both mqtt-sensors instances on a real
 * mosquitto that carries no traffic, the example plugin), measured over a quiet minute.
 * Each process must stay below a small share of one core: an appliance idles. The bound
 * is CPU time the processes themselves used (/proc/PID/stat), not wall time, so a busy
 * machine does not change the verdict. */
#include "config.h"

#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <unistd.h>

#include "hg-test-broker.h"
#include "hg-test-support.h"

/* How long the demo is left alone, how much CPU any one process may use meanwhile (1 % of
 * a core) and how often its threads may wake (10 times a second). An idle loop wakes for
 * keep-alives, heartbeats and the watchdog (tens of milliseconds a minute, one or two
 * wake-ups a second); the busy loop this guards against used 30 to 60 s and woke
 * thousands of times a second. */
#define QUIET_SECONDS 60
#define MAX_CPU_MS (QUIET_SECONDS * 1000 / 100)
#define MAX_WAKEUPS_PER_SECOND 10
#define START_SECONDS 60

typedef struct
{
  gint pid;
  gchar *name; /* (owned) comm and instance, for the message */
  guint64 ticks;
  guint64 switches; /* context switches of all its threads: how often it slept and woke */
} Sample;

static void
sample_free (Sample *sample)
{
  g_free (sample->name);
  g_free (sample);
}

static const gchar *
build_path (const gchar *relative)
{
  static GHashTable *paths;
  gchar *path;

  if (paths == NULL)
    paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  path = g_hash_table_lookup (paths, relative);
  if (path == NULL)
    {
      path = g_build_filename (g_getenv ("HGD_TEST_BUILD_ROOT"), relative, NULL);
      g_hash_table_insert (paths, g_strdup (relative), path);
    }
  return path;
}

static GSubprocess *
spawn (GSubprocessLauncher *launcher,
       const gchar *const *argv)
{
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  g_subprocess_launcher_set_child_setup (launcher, hg_test_die_with_parent, NULL, NULL);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  return process;
}

/* The plugin directory the demo runs with: the built plugins, the mqtt-sensors manifest
 * granting this broker's port (as plugins/mqtt-sensors/tools/sensors-demo makes it). */
static gchar *
make_plugin_dir (const gchar *dir,
                 guint16 port)
{
  g_autofree gchar *root = g_build_filename (dir, "plugins", NULL);
  g_autofree gchar *grant = g_strdup_printf ("net.connect:127.0.0.1:%u", port);

  hg_test_plugin_dir_add (root, build_path ("plugins/example"), NULL, NULL);
  hg_test_plugin_dir_add (root, build_path ("plugins/scaip-alarm"), NULL, NULL);
  hg_test_plugin_dir_add (root, build_path ("plugins/mqtt-sensors"), "net.connect:127.0.0.1:1883",
                          grant);
  return g_steal_pointer (&root);
}

static gchar *
process_name (gint pid)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%d/cmdline", pid);
  g_autofree gchar *cmdline = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &cmdline, &length, NULL))
    return g_strdup_printf ("pid %d", pid);
  for (gsize i = 0; i + 1 < length; i++)
    if (cmdline[i] == '\0')
      cmdline[i] = ' ';
  return g_strdup_printf ("%s (pid %d)", cmdline, pid);
}

/* Voluntary and involuntary context switches of every thread of a process so far. */
static guint64
read_switches (gint pid)
{
  g_autofree gchar *tasks_path = g_strdup_printf ("/proc/%d/task", pid);
  g_autoptr(GDir) tasks = g_dir_open (tasks_path, 0, NULL);
  const gchar *task;
  guint64 switches = 0;

  while (tasks != NULL && (task = g_dir_read_name (tasks)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (tasks_path, task, "status", NULL);
      g_autofree gchar *text = NULL;
      g_auto(GStrv) lines = NULL;

      if (!g_file_get_contents (path, &text, NULL, NULL))
        continue;
      lines = g_strsplit (text, "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        if (g_str_has_prefix (lines[i], "voluntary_ctxt_switches:")
            || g_str_has_prefix (lines[i], "nonvoluntary_ctxt_switches:"))
          switches += g_ascii_strtoull (strchr (lines[i], ':') + 1, NULL, 10);
    }
  return switches;
}

/* Whether @pid is @ancestor or descends from it, by @parents (pid -> ppid). */
static gboolean
descends_from (GHashTable *parents,
               gint pid,
               gint ancestor)
{
  for (guint depth = 0; pid > 1 && depth < 16; depth++)
    {
      if (pid == ancestor)
        return TRUE;
      pid = GPOINTER_TO_INT (g_hash_table_lookup (parents, GINT_TO_POINTER (pid)));
    }
  return FALSE;
}

/* The daemon and every process under it (the plugin hosts, and as root the sandbox's
 * processes that wait for each), with their CPU time so far. */
static GPtrArray *
sample_processes (gint daemon_pid)
{
  g_autoptr(GPtrArray) samples = g_ptr_array_new_with_free_func ((GDestroyNotify) sample_free);
  g_autoptr(GHashTable) parents = g_hash_table_new (NULL, NULL);
  g_autoptr(GHashTable) ticks_of = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const gchar *entry;
  GHashTableIter iter;
  gpointer key;
  gpointer value;

  g_assert_nonnull (proc);
  while ((entry = g_dir_read_name (proc)) != NULL)
    {
      gint pid = (gint) g_ascii_strtoll (entry, NULL, 10);
      guint64 ticks;
      gint ppid;

      if (pid <= 0 || !hg_test_proc_stat (pid, &ppid, &ticks))
        continue;
      g_hash_table_insert (parents, GINT_TO_POINTER (pid), GINT_TO_POINTER (ppid));
      g_hash_table_insert (ticks_of, GINT_TO_POINTER (pid), g_memdup2 (&ticks, sizeof ticks));
    }
  g_hash_table_iter_init (&iter, ticks_of);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      gint pid = GPOINTER_TO_INT (key);

      if (descends_from (parents, pid, daemon_pid))
        {
          Sample *sample = g_new0 (Sample, 1);

          sample->pid = pid;
          sample->name = process_name (pid);
          sample->ticks = *(guint64 *) value;
          sample->switches = read_switches (pid);
          g_ptr_array_add (samples, sample);
        }
    }
  return g_steal_pointer (&samples);
}

static gchar *
get_health_status (SoupSession *session,
                   const gchar *url)
{
  g_autofree gchar *uri = g_strconcat (url, "/api/v1/health", NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
  g_autoptr(GBytes) body = soup_session_send_and_read (session, msg, NULL, NULL);
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  JsonNode *root;

  if (body == NULL || soup_message_get_status (msg) != SOUP_STATUS_OK
      || !json_parser_load_from_data (parser, g_bytes_get_data (body, NULL),
                                      (gssize) g_bytes_get_size (body), NULL))
    return NULL;
  root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  return g_strdup (json_object_get_string_member_with_default (json_node_get_object (root),
                                                               "status", ""));
}

static void
test_demo_idles (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HgTestBroker) broker = hg_test_broker_new (NULL);
  /* removed with the isolated directories at the end */
  g_autofree gchar *dir = g_build_filename (g_get_user_data_dir (), "idle", NULL);
  g_autofree gchar *plugin_dir = NULL;
  g_autofree gchar *config_path = NULL;
  g_autofree gchar *config = NULL;
  g_autofree gchar *state_dir = NULL;
  g_autofree gchar *ready = NULL;
  g_autofree gchar *line = NULL;
  g_autofree gchar *url = NULL;
  g_autoptr(GSubprocessLauncher) sim_launcher = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) sim = NULL;
  g_autoptr(GSubprocess) daemon = NULL;
  g_autoptr(GDataInputStream) sim_output = NULL;
  g_autoptr(GDataInputStream) output = NULL;
  /* no proxy: the default resolver reads GSettings, which the isolated test dirs lack */
  g_autoptr(SoupSession) session
      = soup_session_new_with_options ("timeout", 10, "proxy-resolver", NULL, NULL);
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) after = NULL;
  g_autoptr(GString) report = g_string_new (NULL);
  gint daemon_pid;
  guint hosts = 0;
  gint64 deadline;
  gboolean healthy = FALSE;
  gboolean too_busy = FALSE;
  const long ticks_per_second = sysconf (_SC_CLK_TCK);

  g_test_summary ("Over a quiet minute of the demo home, hemgated and every plugin host "
                  "use less than 1 % of a core and wake at most 10 times a second each");
  g_test_bug ("11");

  /* the simulated alarm centre, as ./dev demo starts it */
  sim_launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  sim = spawn (sim_launcher,
               (const gchar *const[]){ build_path ("plugins/scaip-alarm/tools/hemgate-arc-sim"),
                                       "--password", "hemgate-demo-arc", NULL });
  sim_output = g_data_input_stream_new (g_subprocess_get_stdout_pipe (sim));
  ready = hg_test_read_line (sim_output);
  g_assert_nonnull (ready);
  g_assert_true (g_str_has_prefix (ready, "READY "));

  /* the demo's configuration, with this test's broker, centre and a free API port */
  plugin_dir = make_plugin_dir (dir, broker->port);
  state_dir = g_build_filename (dir, "state", NULL);
  config_path = g_build_filename (dir, "overlay.conf", NULL);
  config = g_strdup_printf ("[api]\nport = 0\n\n"
                            "[plugin:scaip-alarm]\nprimary = sip:arc@127.0.0.1:%s\n\n"
                            "[plugin:sensors-municipal]\nbroker-port = %u\n\n"
                            "[plugin:sensors-personal]\nbroker-port = %u\n",
                            ready + strlen ("READY "), broker->port, broker->port);
  g_assert_true (g_file_set_contents (config_path, config, -1, &error));
  g_assert_no_error (error);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_setenv (launcher, "HEMGATE_PLUGINDIR", plugin_dir, TRUE);
  g_subprocess_launcher_setenv (launcher, "HEMGATE_PLUGIN_HOST",
                                build_path ("daemon/host/hemgate-plugin-host"), TRUE);
  g_subprocess_launcher_setenv (launcher, "HEMGATE_DEMO_PASSWORD", "idle-demo-password", TRUE);
  daemon = spawn (launcher,
                  (const gchar *const[]){ build_path ("daemon/core/hemgated"), "--demo", "--state-dir",
                                          state_dir, "--config", config_path, NULL });
  daemon_pid = (gint) g_ascii_strtoll (g_subprocess_get_identifier (daemon), NULL, 10);
  output = g_data_input_stream_new (g_subprocess_get_stdout_pipe (daemon));
  while (url == NULL)
    {
      const gchar *prefix = "hemgate demo is running at ";

      g_clear_pointer (&line, g_free);
      line = hg_test_read_line (output);
      g_assert_nonnull (line);
      if (g_str_has_prefix (line, prefix))
        url = g_strdup (line + strlen (prefix));
    }

  /* up: every plugin running and healthy, the sensors connected to their broker */
  deadline = g_get_monotonic_time () + START_SECONDS * G_USEC_PER_SEC;
  while (!healthy && g_get_monotonic_time () < deadline)
    {
      g_autofree gchar *status = get_health_status (session, url);

      healthy = g_strcmp0 (status, "ok") == 0;
      if (!healthy)
        g_usleep (G_USEC_PER_SEC / 5);
    }
  g_assert_true (healthy);

  before = sample_processes (daemon_pid);
  for (guint i = 0; i < before->len; i++)
    if (strstr (((Sample *) g_ptr_array_index (before, i))->name, "hemgate-plugin-host") != NULL)
      hosts++;
  /* example, scaip-alarm, sensors-municipal, sensors-personal (as root, each also has the
   * sandbox's two waiting processes, which are sampled too) */
  g_assert_cmpuint (hosts, ==, 4);

  g_test_message ("leaving the demo alone for %d s", QUIET_SECONDS);
  g_usleep (QUIET_SECONDS * G_USEC_PER_SEC);
  after = sample_processes (daemon_pid);

  for (guint i = 0; i < before->len; i++)
    {
      Sample *first = g_ptr_array_index (before, i);
      Sample *last = NULL;
      guint64 cpu_ms;
      guint64 wakeups;

      for (guint j = 0; j < after->len && last == NULL; j++)
        if (((Sample *) g_ptr_array_index (after, j))->pid == first->pid)
          last = g_ptr_array_index (after, j);
      /* a host that was restarted meanwhile is a failure of its own */
      if (last == NULL)
        {
          g_string_append_printf (report, "%s exited while idle\n", first->name);
          too_busy = TRUE;
          continue;
        }
      cpu_ms = (last->ticks - first->ticks) * 1000 / (guint64) ticks_per_second;
      wakeups = last->switches - first->switches;
      g_test_message ("%s: %" G_GUINT64_FORMAT " ms of CPU and %" G_GUINT64_FORMAT
                      " wake-ups in %d s", first->name, cpu_ms, wakeups, QUIET_SECONDS);
      if (cpu_ms > MAX_CPU_MS)
        {
          g_string_append_printf (report, "%s used %" G_GUINT64_FORMAT " ms of CPU in %d s "
                                  "(at most %d)\n", first->name, cpu_ms, QUIET_SECONDS,
                                  MAX_CPU_MS);
          too_busy = TRUE;
        }
      if (wakeups > MAX_WAKEUPS_PER_SECOND * QUIET_SECONDS)
        {
          g_string_append_printf (report, "%s woke %" G_GUINT64_FORMAT " times in %d s "
                                  "(at most %d)\n", first->name, wakeups, QUIET_SECONDS,
                                  MAX_WAKEUPS_PER_SECOND * QUIET_SECONDS);
          too_busy = TRUE;
        }
    }
  if (too_busy)
    g_test_fail_printf ("not idle:\n%s", report->str);

  g_subprocess_send_signal (daemon, SIGTERM);
  g_subprocess_wait (daemon, NULL, &error);
  g_assert_no_error (error);
  g_subprocess_force_exit (sim);
  g_subprocess_wait (sim, NULL, NULL);
  hg_test_broker_stop (broker);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/idle/demo-at-rest-uses-almost-no-cpu", test_demo_idles);
  return g_test_run ();
}
