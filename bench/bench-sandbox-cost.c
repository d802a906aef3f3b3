/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cost of the plugin hosts' sandbox (daemon/core/hgd-sandbox.c): an HgdPluginManager
 * with real journals starts one instance of the example plugin, ROUNDS times with
 * `[plugins] sandbox = auto` and ROUNDS times with `off`, and prints the median time from
 * start to running and the memory of the host's processes a second later: the host's own
 * VmRSS and Pss, and, sandboxed, the Pss of the two waiting processes the sandbox adds
 * (forks of the core). Run as root for the full sandbox (as `auto` applies it only
 * there); not as root `auto` is the seccomp filter and no new privileges only.
 *
 * Usage: bench-sandbox-cost BUILDDIR [ROUNDS] */
#include "config.h"

#include <unistd.h>
#include <glib/gstdio.h>

#include "hg-test-support.h"
#include "hgd-plugin-manager.h"

typedef struct
{
  gdouble start_ms;
  gint64 host_rss_kib;
  gint64 host_pss_kib;
  gint64 extra_pss_kib; /* the sandbox's waiting processes */
} Sample;

static gint64
read_kib (gint pid,
          const gchar *file,
          const gchar *field)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%d/%s", pid, file);
  g_autofree gchar *text = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (g_str_has_prefix (lines[i], field))
        return g_ascii_strtoll (lines[i] + strlen (field), NULL, 10);
    }
  return 0;
}

static gboolean
running (gpointer data)
{
  HgdPluginManager *manager = data;
  g_autoptr(JsonArray) array = hgd_plugin_manager_to_json (manager, NULL);
  JsonObject *object = json_array_get_object_element (array, 0);

  return g_strcmp0 (json_object_get_string_member (object, "state"), "running") == 0;
}

static void
done_cb (GObject *source,
         GAsyncResult *result,
         gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

static Sample
one_round (const gchar *build,
           const gchar *mode)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *state = g_dir_make_tmp ("hemgate-bench-sandbox-XXXXXX", &error);
  g_autofree gchar *plugins = g_build_filename (state, "plugins", NULL);
  g_autofree gchar *example = g_build_filename (build, "plugins", "example", NULL);
  g_autofree gchar *host = g_build_filename (build, "daemon", "host", "hemgate-plugin-host", NULL);
  g_autofree gchar *data = NULL;
  g_autoptr(HgdConfig) config = hgd_config_new ();
  g_autoptr(HgdAlarms) alarms = NULL;
  g_autoptr(HgdSecrets) secrets = hgd_secrets_new ();
  g_autoptr(HgdPluginManager) manager = NULL;
  g_autoptr(JsonArray) array = NULL;
  HgdJournal *journals[HG_DOMAIN_LAST];
  gboolean done = FALSE;
  gint64 started;
  gint pid;
  Sample sample = { 0 };

  g_assert_no_error (error);
  hg_test_plugin_dir_add (plugins, example, NULL, NULL);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      g_autofree gchar *dir = g_build_filename (state, hg_domain_to_string (i), NULL);

      journals[i] = hgd_journal_new (i, dir, &error);
      g_assert_no_error (error);
    }
  alarms = hgd_alarms_new (journals[HG_DOMAIN_MUNICIPAL]);
  data = g_strdup_printf ("[plugins]\ndirectory = %s\nhost = %s\nsandbox = %s\n"
                          "[plugin:example]\ndomain = municipal\ninterval = 60\n",
                          plugins, host, mode);
  hgd_config_load_data (config, data, "bench.conf", &error);
  g_assert_no_error (error);
  manager = hgd_plugin_manager_new (config, journals, alarms, secrets);

  started = g_get_monotonic_time ();
  hgd_plugin_manager_start_async (manager, NULL, done_cb, &done);
  hg_test_wait_until (&done, 60);
  hg_test_wait_for (running, manager, 60);
  sample.start_ms = (g_get_monotonic_time () - started) / 1000.0;

  hg_test_run_for (1000);
  array = hgd_plugin_manager_to_json (manager, NULL);
  pid = (gint) json_object_get_int_member (json_array_get_object_element (array, 0), "pid");
  /* "pid" is the host's own; sandboxed as root, its parent is the namespace's init and
   * that one's the process hemgated spawned */
  sample.host_rss_kib = read_kib (pid, "status", "VmRSS:");
  sample.host_pss_kib = read_kib (pid, "smaps_rollup", "Pss:");
  if (!g_str_equal (mode, "off") && geteuid () == 0)
    {
      gint init = (gint) read_kib (pid, "status", "PPid:");
      gint outer = init > 0 ? (gint) read_kib (init, "status", "PPid:") : 0;

      sample.extra_pss_kib = read_kib (init, "smaps_rollup", "Pss:") + read_kib (outer, "smaps_rollup", "Pss:");
    }

  done = FALSE;
  hgd_plugin_manager_stop_async (manager, NULL, done_cb, &done);
  hg_test_wait_until (&done, 60);
  g_clear_object (&manager);
  g_clear_object (&alarms);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    g_object_unref (journals[i]);
  hg_test_rm_rf (state);
  return sample;
}

static gint
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  gdouble x = *(const gdouble *) a;
  gdouble y = *(const gdouble *) b;

  return x < y ? -1 : x > y;
}

static gdouble
median (GArray *values)
{
  g_array_sort (values, compare_doubles);
  return g_array_index (values, gdouble, values->len / 2);
}

int
main (int argc,
      char **argv)
{
  const gchar *modes[] = { "off", "auto" };
  guint rounds = argc > 2 ? (guint) g_ascii_strtoull (argv[2], NULL, 10) : 10;
  g_autofree gchar *build = NULL;

  if (argc < 2)
    {
      g_printerr ("usage: bench-sandbox-cost BUILDDIR [ROUNDS]\n");
      return 2;
    }
  /* absolute: the plugin directory links to the built files */
  build = g_canonicalize_filename (argv[1], NULL);
  g_log_set_writer_func (hg_test_quiet_log_writer_cb, NULL, NULL);
  g_print ("euid %u, %u rounds each; medians\n", (guint) geteuid (), rounds);
  g_print ("| sandbox | start to running | host VmRSS | host Pss | sandbox's waiting processes, Pss |\n");
  g_print ("| --- | --- | --- | --- | --- |\n");
  for (guint m = 0; m < G_N_ELEMENTS (modes); m++)
    {
      g_autoptr(GArray) start = g_array_new (FALSE, FALSE, sizeof (gdouble));
      g_autoptr(GArray) rss = g_array_new (FALSE, FALSE, sizeof (gdouble));
      g_autoptr(GArray) pss = g_array_new (FALSE, FALSE, sizeof (gdouble));
      g_autoptr(GArray) extra = g_array_new (FALSE, FALSE, sizeof (gdouble));

      for (guint r = 0; r < rounds; r++)
        {
          Sample sample = one_round (build, modes[m]);
          gdouble values[] = { sample.start_ms, sample.host_rss_kib / 1024.0,
                               sample.host_pss_kib / 1024.0, sample.extra_pss_kib / 1024.0 };

          g_array_append_val (start, values[0]);
          g_array_append_val (rss, values[1]);
          g_array_append_val (pss, values[2]);
          g_array_append_val (extra, values[3]);
        }
      g_print ("| %s | %.1f ms | %.1f MiB | %.1f MiB | %.2f MiB |\n", modes[m], median (start),
               median (rss), median (pss), median (extra));
    }
  return 0;
}
