/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Benchmark of the municipal alarm path under a misbehaving personal domain: the latency
 * from POST /api/v1/alarms (staff) to the alarm being durable (the 201) and to its
 * delivery plugin having it (the courier test plugin's alarm.delivered report committed
 * in the municipal journal), one alarm at a time, 20 ms apart:
 *
 *   idle       the courier alone
 *   flood      and a personal plugin (tests/plugins/flood) publishing 20,000 events/s and
 *              spinning a CPU, under the default [limits]
 *   unlimited  the same flood with the personal domain's limits lifted
 *              (personal-event-rate = 0, personal-cpu-weight = 100); with --no-unlimited
 *              this phase is skipped
 *
 * Each phase is a fresh hemgated in this process, with real plugin hosts, and sends
 * ROUNDS alarms (default 200) or as many as fit in 30 s.
 *
 * Usage: bench-priority BUILDDIR [ROUNDS] [FLOOD_RATE] [--no-unlimited] */
#include "config.h"

#include <stdio.h>

#include "hgd-plugin-manager.h"
#include "hgd-test-daemon.h"

/* A phase stops after this many seconds of alarms, whatever ROUNDS says. */
#define PHASE_SECONDS 30

typedef struct
{
  GHashTable *delivered; /* (owned) ref -> monotonic time of alarm.delivered, boxed */
  guint64 personal;      /* events committed in the personal journal */
} Watch;

static void
municipal_appended_cb (HgdJournal *journal,
                       HgEvent *event,
                       Watch *watch)
{
  JsonObject *body = hg_event_get_body (event);
  gint64 *at;

  if (g_strcmp0 (hg_event_get_event_type (event), "alarm.delivered") != 0 || body == NULL
      || !json_object_has_member (body, "ref"))
    return;
  at = g_new (gint64, 1);
  *at = g_get_monotonic_time ();
  g_hash_table_insert (watch->delivered, g_strdup (json_object_get_string_member (body, "ref")),
                       at);
}

static void
personal_appended_cb (HgdJournal *journal,
                      HgEvent *event,
                      Watch *watch)
{
  watch->personal++;
}

static gint
compare_int64 (gconstpointer a,
               gconstpointer b)
{
  gint64 x = *(const gint64 *) a;
  gint64 y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static gdouble
percentile_ms (GArray *sorted,
               gdouble p)
{
  guint i = (guint) (p * (sorted->len - 1) + 0.5);

  if (sorted->len == 0)
    return 0;
  return g_array_index (sorted, gint64, MIN (i, sorted->len - 1)) / 1000.0;
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

static gboolean
instance_running (HgdTestDaemon *td,
                  const gchar *id)
{
  g_autoptr(JsonArray) plugins
      = hgd_plugin_manager_to_json (hgd_daemon_get_plugin_manager (td->daemon), NULL);

  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *plugin = json_array_get_object_element (plugins, i);
      if (g_strcmp0 (json_object_get_string_member (plugin, "id"), id) == 0)
        return g_strcmp0 (json_object_get_string_member (plugin, "state"), "running") == 0;
    }
  return FALSE;
}

typedef enum
{
  PHASE_IDLE,
  PHASE_FLOOD,
  PHASE_UNLIMITED,
} Phase;

static const gchar *const phase_names[] = { "idle", "flood", "unlimited" };

static gboolean
run_phase (const gchar *build,
           Phase phase,
           guint rounds,
           const gchar *flood_rate)
{
  g_autoptr(GPtrArray) overrides = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) durable = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) delivered = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GError) error = NULL;
  g_autofree gchar *plugins = g_build_filename (build, "tests", "plugins", NULL);
  g_autofree gchar *host = g_build_filename (build, "daemon", "host", "hemgate-plugin-host", NULL);
  g_autofree gchar *state = g_dir_make_tmp ("hemgate-bench-priority-XXXXXX", &error);
  HgdTestDaemonOptions options = { 0 };
  Watch watch = { 0 };
  HgdTestDaemon *td;
  HgdLimits *limits;
  const gchar *staff;
  guint64 personal_before;
  guint64 refused_before;
  gint64 start;
  gdouble seconds;
  guint lost = 0;

  g_assert_no_error (error);
  add (overrides, "plugins", "directory", plugins);
  add (overrides, "plugins", "host", host);
  add (overrides, "plugin:courier", "domain", "municipal");
  if (phase != PHASE_IDLE)
    {
      add (overrides, "plugin:flood", "domain", "personal");
      add (overrides, "plugin:flood", "rate", flood_rate);
    }
  if (phase == PHASE_UNLIMITED)
    {
      add (overrides, "limits", "personal-event-rate", "0");
      add (overrides, "limits", "personal-cpu-weight", "100");
    }
  g_ptr_array_add (overrides, NULL);
  options.overrides = (const gchar *const *) overrides->pdata;
  options.state_dir = state;
  watch.delivered = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  td = hgd_test_daemon_new (&options);
  g_signal_connect (hgd_daemon_get_journal (td->daemon, HG_DOMAIN_MUNICIPAL), "event-appended",
                    G_CALLBACK (municipal_appended_cb), &watch);
  g_signal_connect (hgd_daemon_get_journal (td->daemon, HG_DOMAIN_PERSONAL), "event-appended",
                    G_CALLBACK (personal_appended_cb), &watch);
  while (!instance_running (td, "courier") || (phase != PHASE_IDLE && !instance_running (td, "flood")))
    hg_test_run_for (50);
  staff = hgd_test_daemon_get_token (td, HGD_ROLE_STAFF);
  /* warm up: the flood at full strength, the first alarms out of the way */
  hg_test_run_for (2000);
  limits = hgd_plugin_manager_get_limits (hgd_daemon_get_plugin_manager (td->daemon));
  personal_before = watch.personal;
  refused_before = hgd_limits_get_n_refused (limits, HG_DOMAIN_PERSONAL);
  start = g_get_monotonic_time ();

  for (guint i = 0; i < rounds && g_get_monotonic_time () - start < PHASE_SECONDS * G_USEC_PER_SEC;
       i++)
    {
      gint64 t0 = g_get_monotonic_time ();
      g_autoptr(HgdTestResponse) raised = hgd_test_daemon_request (
          td, "POST", "/api/v1/alarms", staff, "{\"type\":\"fall\",\"location\":\"hall\"}");
      gint64 t_durable = g_get_monotonic_time ();
      gint64 deadline = t0 + 10 * G_USEC_PER_SEC;
      const gchar *ref;
      gint64 *at = NULL;
      gint64 latency;

      if (raised->status != SOUP_STATUS_CREATED)
        {
          lost++;
          continue;
        }
      ref = json_object_get_string_member (raised->json, "ref");
      while ((at = g_hash_table_lookup (watch.delivered, ref)) == NULL
             && g_get_monotonic_time () < deadline)
        g_main_context_iteration (NULL, TRUE);
      if (at == NULL)
        {
          lost++;
          continue;
        }
      latency = t_durable - t0;
      g_array_append_val (durable, latency);
      latency = *at - t0;
      g_array_append_val (delivered, latency);
      hg_test_run_for (20);
    }
  seconds = (gdouble) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;

  g_array_sort (durable, compare_int64);
  g_array_sort (delivered, compare_int64);
  g_print ("%-9s n=%u lost=%u  POST->201 durable p50=%.2f p99=%.2f ms  "
           "POST->delivery plugin has it p50=%.2f p99=%.2f max=%.2f ms",
           phase_names[phase], delivered->len, lost, percentile_ms (durable, 0.5),
           percentile_ms (durable, 0.99), percentile_ms (delivered, 0.5),
           percentile_ms (delivered, 0.99),
           delivered->len > 0 ? g_array_index (delivered, gint64, delivered->len - 1) / 1000.0 : 0);
  if (phase != PHASE_IDLE)
    g_print ("  personal: %.0f events/s journaled, %.0f/s refused",
             (watch.personal - personal_before) / seconds,
             (hgd_limits_get_n_refused (limits, HG_DOMAIN_PERSONAL) - refused_before) / seconds);
  g_print ("\n");

  hgd_test_daemon_free (td);
  g_hash_table_unref (watch.delivered);
  hg_test_rm_rf (state);
  g_free (g_steal_pointer (&state));
  return lost == 0;
}

int
main (int argc,
      char **argv)
{
  guint rounds = 200;
  const gchar *flood_rate = "20000";
  gboolean unlimited = TRUE;
  g_autofree gchar *build = NULL;
  gboolean ok = TRUE;
  guint n_positional = 0;

  for (gint i = 1; i < argc; i++)
    {
      if (g_strcmp0 (argv[i], "--no-unlimited") == 0)
        unlimited = FALSE;
      else if (n_positional == 0 && ++n_positional)
        build = g_canonicalize_filename (argv[i], NULL);
      else if (n_positional == 1 && ++n_positional)
        rounds = (guint) g_ascii_strtoull (argv[i], NULL, 10);
      else if (n_positional == 2 && ++n_positional)
        flood_rate = argv[i];
    }
  if (build == NULL || rounds == 0)
    {
      g_printerr ("usage: bench-priority BUILDDIR [ROUNDS] [FLOOD_RATE] [--no-unlimited]\n");
      return 2;
    }
  g_log_set_writer_func (hg_test_quiet_log_writer_cb, NULL, NULL);
  g_setenv ("HGD_TEST_BUILD_ROOT", build, TRUE);
  g_print ("municipal alarm, one at a time 20 ms apart; personal flood %s events/s offered "
           "plus a spinning thread; %u alarms per phase\n", flood_rate, rounds);
  ok = run_phase (build, PHASE_IDLE, rounds, flood_rate) && ok;
  ok = run_phase (build, PHASE_FLOOD, rounds, flood_rate) && ok;
  if (unlimited)
    ok = run_phase (build, PHASE_UNLIMITED, rounds, flood_rate) && ok;
  return ok ? 0 : 1;
}
