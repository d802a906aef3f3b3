/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of HgExamplePlugin's class in-process: its configuration check, its heartbeat and
 * its event count, against the HgTestContext libhemgate ships, which records what the
 * plugin publishes. Providers copying the example get this test shape with it. */
#include <hemgate-plugin.h>

#include "hg-example-plugin.h"

typedef struct
{
  HgConfig *config;       /* (owned) */
  HgTestContext *context; /* (owned) */
  HgPlugin *plugin;       /* (owned) */
} Fixture;

/* The user data of a case: the capabilities its context grants. */
static const gchar *const granted[] = { "sensor.publish", "sensor.subscribe", NULL };
static const gchar *const publish_denied[] = { "sensor.subscribe", NULL };

static void
setup (Fixture *fixture,
       gconstpointer user_data)
{
  fixture->config = hg_config_new ();
  fixture->context = hg_test_context_new ("example", HG_DOMAIN_PERSONAL, fixture->config,
                                          user_data);
  fixture->plugin = g_object_new (HG_TYPE_EXAMPLE_PLUGIN, "context", fixture->context, NULL);
}

static void
teardown (Fixture *fixture,
          gconstpointer user_data)
{
  g_clear_object (&fixture->plugin);
  g_clear_object (&fixture->context);
  g_clear_object (&fixture->config);
}

static void
result_cb (GObject *source,
           GAsyncResult *result,
           gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static void
start_plugin (Fixture *fixture)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (hg_plugin_configure (fixture->plugin, fixture->config, &error));
  g_assert_no_error (error);
  hg_plugin_start_async (fixture->plugin, NULL, result_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (hg_plugin_start_finish (fixture->plugin, result, &error));
  g_assert_no_error (error);
}

static gboolean
timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Waits, with a generous limit, until @counter (of @fixture) reaches @n. */
static void
wait_for_count (Fixture *fixture,
                guint (*counter) (Fixture *fixture),
                guint n)
{
  gboolean timed_out = FALSE;
  guint timeout_id = g_timeout_add_seconds (30, timeout_cb, &timed_out);

  while (counter (fixture) < n && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timeout_id);
  g_assert_cmpuint (counter (fixture), >=, n);
}

static guint
n_published (Fixture *fixture)
{
  return hg_test_context_get_events (fixture->context)->len;
}

static guint
n_denied (Fixture *fixture)
{
  return hg_test_context_get_n_denied (fixture->context);
}

static void
wait_for_published (Fixture *fixture,
                    guint n)
{
  wait_for_count (fixture, n_published, n);
}

static void
test_configure (Fixture *fixture,
                gconstpointer user_data)
{
  const gchar *bad[] = { "0", "-5", "abc", "86401", "" };

  g_test_summary ("interval defaults to 60 and is checked in configure(): a bad value is "
                  "HG_ERROR_INVALID_DATA naming the key");
  g_assert_true (hg_plugin_configure (fixture->plugin, fixture->config, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(HgConfig) config = hg_config_new ();
      g_autoptr(GError) error = NULL;

      hg_config_set (config, "interval", bad[i]);
      g_assert_false (hg_plugin_configure (fixture->plugin, config, &error));
      g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
      g_assert_nonnull (strstr (error->message, "interval"));
    }
}

static void
test_heartbeat (Fixture *fixture,
                gconstpointer user_data)
{
  HgEvent *first;
  HgEvent *second;

  g_test_summary ("While running, the plugin publishes numbered sensor.heartbeat events");
  hg_config_set (fixture->config, "interval", "1");
  start_plugin (fixture);
  wait_for_published (fixture, 2);

  first = g_ptr_array_index (hg_test_context_get_events (fixture->context), 0);
  second = g_ptr_array_index (hg_test_context_get_events (fixture->context), 1);
  g_assert_cmpstr (hg_event_get_event_type (first), ==, "sensor.heartbeat");
  g_assert_cmpstr (hg_event_get_source (first), ==, "plugin:example");
  g_assert_cmpint (hg_event_get_domain (first), ==, HG_DOMAIN_PERSONAL);
  g_assert_cmpint (json_object_get_int_member (hg_event_get_body (first), "sequence"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (hg_event_get_body (second), "sequence"), ==, 2);
}

static void
test_events_counted (Fixture *fixture,
                     gconstpointer user_data)
{
  HgEvent *heartbeat;

  g_test_summary ("Events handed to the plugin are counted in its next heartbeat");
  hg_config_set (fixture->config, "interval", "1");
  start_plugin (fixture);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(HgEvent) event = hg_event_new ("sensor.reading", NULL);
      g_autoptr(GError) error = NULL;

      g_assert_true (hg_test_context_deliver_event (fixture->context, fixture->plugin, event, &error));
      g_assert_no_error (error);
    }
  wait_for_published (fixture, 1);

  heartbeat = g_ptr_array_index (hg_test_context_get_events (fixture->context), 0);
  g_assert_cmpint (json_object_get_int_member (hg_event_get_body (heartbeat), "events-received"), ==, 3);
}

static void
test_denied (Fixture *fixture,
             gconstpointer user_data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A denied heartbeat (the instance is not granted sensor.publish) does not stop "
                  "the plugin: it keeps trying, and stops cleanly");
  hg_config_set (fixture->config, "interval", "1");
  start_plugin (fixture);
  wait_for_count (fixture, n_denied, 2);
  g_assert_cmpuint (n_published (fixture), ==, 0);
  hg_plugin_stop_async (fixture->plugin, NULL, result_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (hg_plugin_stop_finish (fixture->plugin, result, &error));
  g_assert_no_error (error);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/example/configure/interval-checked", Fixture, granted, setup, test_configure, teardown);
  g_test_add ("/example/heartbeat/published-every-interval", Fixture, granted, setup, test_heartbeat, teardown);
  g_test_add ("/example/events/counted-in-heartbeat", Fixture, granted, setup, test_events_counted, teardown);
  g_test_add ("/example/heartbeat/denied-keeps-running", Fixture, publish_denied, setup, test_denied,
              teardown);
  return g_test_run ();
}
