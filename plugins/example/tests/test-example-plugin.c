/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of HgExamplePlugin's class in-process: its configuration check, its heartbeat and
 * its event count, against a small HgContext that records what the plugin publishes.
 * Providers copying the example get this test shape with it. */
#include <hemgate-plugin.h>

#include "hg-example-plugin.h"

/* A context that journals nothing: it keeps what the plugin publishes, in order. */
#define TEST_TYPE_CONTEXT (test_context_get_type ())
G_DECLARE_FINAL_TYPE (TestContext, test_context, TEST, CONTEXT, HgContext)

struct _TestContext
{
  HgContext parent_instance;
  GPtrArray *published; /* (owned) (element-type HgEvent) */
  gboolean deny;        /* answer every publish with HG_ERROR_PERMISSION_DENIED */
  guint n_denied;
};

G_DEFINE_TYPE (TestContext, test_context, HG_TYPE_CONTEXT)

static void
test_context_publish_event_async (HgContext *context,
                                  HgEvent *event,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data)
{
  TestContext *self = TEST_CONTEXT (context);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, test_context_publish_event_async);
  if (self->deny)
    {
      self->n_denied++;
      g_task_return_new_error (task, HG_ERROR, HG_ERROR_PERMISSION_DENIED, "%s",
                               "PublishEvent needs the capability sensor.publish");
      return;
    }
  g_ptr_array_add (self->published, g_object_ref (event));
  g_task_return_pointer (task, GUINT_TO_POINTER (self->published->len), NULL);
}

static guint64
test_context_publish_event_finish (HgContext *context,
                                   GAsyncResult *result,
                                   GError **error)
{
  return GPOINTER_TO_UINT (g_task_propagate_pointer (G_TASK (result), error));
}

static void
test_context_finalize (GObject *object)
{
  g_ptr_array_unref (TEST_CONTEXT (object)->published);
  G_OBJECT_CLASS (test_context_parent_class)->finalize (object);
}

static void
test_context_class_init (TestContextClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_context_finalize;
  HG_CONTEXT_CLASS (klass)->publish_event_async = test_context_publish_event_async;
  HG_CONTEXT_CLASS (klass)->publish_event_finish = test_context_publish_event_finish;
}

static void
test_context_init (TestContext *self)
{
  self->published = g_ptr_array_new_with_free_func (g_object_unref);
}

typedef struct
{
  HgConfig *config;       /* (owned) */
  TestContext *context;   /* (owned) */
  HgPlugin *plugin;       /* (owned) */
} Fixture;

static void
setup (Fixture *fixture,
       gconstpointer user_data)
{
  const gchar *capabilities[] = { "sensor.publish", "sensor.subscribe", NULL };

  fixture->config = hg_config_new ();
  fixture->context = g_object_new (TEST_TYPE_CONTEXT,
                                   "plugin-id", "example",
                                   "domain", (guint) HG_DOMAIN_PERSONAL,
                                   "config", fixture->config,
                                   "capabilities", capabilities,
                                   NULL);
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

/* Waits, with a generous limit, until *@counter reaches @n. */
static void
wait_for_count (const guint *counter,
                guint n)
{
  gboolean timed_out = FALSE;
  guint timeout_id = g_timeout_add_seconds (30, timeout_cb, &timed_out);

  while (*counter < n && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timeout_id);
  g_assert_cmpuint (*counter, >=, n);
}

static void
wait_for_published (Fixture *fixture,
                    guint n)
{
  wait_for_count (&fixture->context->published->len, n);
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

  first = g_ptr_array_index (fixture->context->published, 0);
  second = g_ptr_array_index (fixture->context->published, 1);
  g_assert_cmpstr (hg_event_get_event_type (first), ==, "sensor.heartbeat");
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
      hg_plugin_handle_event (fixture->plugin, event);
    }
  wait_for_published (fixture, 1);

  heartbeat = g_ptr_array_index (fixture->context->published, 0);
  g_assert_cmpint (json_object_get_int_member (hg_event_get_body (heartbeat), "events-received"), ==, 3);
}

static void
test_denied (Fixture *fixture,
             gconstpointer user_data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A denied heartbeat does not stop the plugin: it keeps trying, and stops cleanly");
  fixture->context->deny = TRUE;
  hg_config_set (fixture->config, "interval", "1");
  start_plugin (fixture);
  wait_for_count (&fixture->context->n_denied, 2);
  g_assert_cmpuint (fixture->context->published->len, ==, 0);
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

  g_test_add ("/example/configure/interval-checked", Fixture, NULL, setup, test_configure, teardown);
  g_test_add ("/example/heartbeat/published-every-interval", Fixture, NULL, setup, test_heartbeat, teardown);
  g_test_add ("/example/events/counted-in-heartbeat", Fixture, NULL, setup, test_events_counted, teardown);
  g_test_add ("/example/heartbeat/denied-keeps-running", Fixture, NULL, setup, test_denied, teardown);
  return g_test_run ();
}
