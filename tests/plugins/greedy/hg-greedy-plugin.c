/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A test plugin granted only sensor.publish that tries, one after another, what it was not
 * granted: RaiseAlarm (alarm.raise), publishing two alarm.* events at once (the core's
 * own), and LookupSecret (secrets). Then it publishes three "sensor.batch" events at once,
 * {"n": 1, 2, 3}, the second with a NaN reading, which JSON cannot carry. It reports each
 * outcome as a "sensor.probe" event {"call", "error", "message"}, with "error" the
 * org.hemgate.Error.* name or null, so the test can read from the journal what the plugin
 * was told. Publishes made at once reach the core as one PublishEvents call. */
#include <math.h>

#include <hemgate-plugin.h>

#define HG_TYPE_GREEDY_PLUGIN (hg_greedy_plugin_get_type ())
G_DECLARE_FINAL_TYPE (HgGreedyPlugin, hg_greedy_plugin, HG, GREEDY_PLUGIN, HgPlugin)

struct _HgGreedyPlugin
{
  HgPlugin parent_instance;
  GCancellable *cancellable; /* (owned) */
  guint n_alarm_events;      /* alarm.* publishes answered */
};

G_DEFINE_TYPE (HgGreedyPlugin, hg_greedy_plugin, HG_TYPE_PLUGIN)

static void probe_lookup_secret (HgGreedyPlugin *self);
static void probe_publish_alarm (HgGreedyPlugin *self);
static void probe_publish_batch (HgGreedyPlugin *self);

static void
reported_cb (GObject *source,
             GAsyncResult *result,
             gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (hg_context_publish_event_finish (HG_CONTEXT (source), result, &error) == 0)
    g_message ("probe not reported: %s", error->message);
}

static void
report (HgGreedyPlugin *self,
        const gchar *call,
        const GError *error)
{
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(HgEvent) event = NULL;

  json_object_set_string_member (body, "call", call);
  if (error != NULL && error->domain == HG_ERROR)
    json_object_set_string_member (body, "error", hg_error_to_string (error->code));
  else if (error != NULL)
    json_object_set_string_member (body, "error", "unexpected error domain");
  else
    json_object_set_null_member (body, "error");
  json_object_set_string_member (body, "message", error != NULL ? error->message : "");
  event = hg_event_new ("sensor.probe", body);
  hg_context_publish_event_async (hg_plugin_get_context (HG_PLUGIN (self)), event, self->cancellable,
                                  reported_cb, NULL);
}

static void
secret_cb (GObject *source,
           GAsyncResult *result,
           gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *secret = hg_context_lookup_secret_finish (HG_CONTEXT (source), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  report (HG_GREEDY_PLUGIN (user_data), "LookupSecret", error);
  probe_publish_batch (HG_GREEDY_PLUGIN (user_data));
}

/* One event of the batch probe; @self is unowned, as in the other probes: a cancelled
 * publish returns before using it */
typedef struct
{
  HgGreedyPlugin *self;
  gint n;
} BatchProbe;

static void
batch_event_cb (GObject *source,
                GAsyncResult *result,
                gpointer user_data)
{
  g_autofree BatchProbe *probe = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *call = NULL;

  hg_context_publish_event_finish (HG_CONTEXT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  call = g_strdup_printf ("batch-%d", probe->n);
  report (probe->self, call, error);
}

/* Three events at once, the second of which the core cannot parse. */
static void
probe_publish_batch (HgGreedyPlugin *self)
{
  for (gint n = 1; n <= 3; n++)
    {
      g_autoptr(JsonObject) body = json_object_new ();
      g_autoptr(HgEvent) event = NULL;
      BatchProbe *probe;

      json_object_set_int_member (body, "n", n);
      if (n == 2)
        json_object_set_double_member (body, "value", NAN);
      event = hg_event_new ("sensor.batch", body);
      probe = g_new0 (BatchProbe, 1);
      probe->self = self;
      probe->n = n;
      hg_context_publish_event_async (hg_plugin_get_context (HG_PLUGIN (self)), event,
                                      self->cancellable, batch_event_cb, probe);
    }
}

static void
probe_lookup_secret (HgGreedyPlugin *self)
{
  hg_context_lookup_secret_async (hg_plugin_get_context (HG_PLUGIN (self)), "password",
                                  self->cancellable, secret_cb, self);
}

static void
alarm_event_cb (GObject *source,
                GAsyncResult *result,
                gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  HgGreedyPlugin *self;

  hg_context_publish_event_finish (HG_CONTEXT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = HG_GREEDY_PLUGIN (user_data);
  report (self, "PublishEvent", error);
  if (++self->n_alarm_events == 2)
    probe_lookup_secret (self);
}

/* Two at once: one PublishEvents call, denied as a whole */
static void
probe_publish_alarm (HgGreedyPlugin *self)
{
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(HgEvent) event = hg_event_new ("alarm.raised", NULL);

      hg_context_publish_event_async (hg_plugin_get_context (HG_PLUGIN (self)), event,
                                      self->cancellable, alarm_event_cb, self);
    }
}

static void
alarm_raised_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *ref = hg_context_raise_alarm_finish (HG_CONTEXT (source), result, &error);
  HgGreedyPlugin *self;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = HG_GREEDY_PLUGIN (user_data);
  report (self, "RaiseAlarm", error);
  probe_publish_alarm (self);
}

static gboolean
probe_raise_alarm_cb (gpointer user_data)
{
  HgGreedyPlugin *self = HG_GREEDY_PLUGIN (user_data);
  g_autoptr(HgAlarm) alarm = hg_alarm_new ("assistance");

  hg_context_raise_alarm_async (hg_plugin_get_context (HG_PLUGIN (self)), alarm, self->cancellable,
                                alarm_raised_cb, self);
  return G_SOURCE_REMOVE;
}

static void
hg_greedy_plugin_start_async (HgPlugin *plugin,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  HgGreedyPlugin *self = HG_GREEDY_PLUGIN (plugin);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, hg_greedy_plugin_start_async);
  g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, probe_raise_alarm_cb, g_object_ref (self), g_object_unref);
  g_task_return_boolean (task, TRUE);
}

static gboolean
hg_greedy_plugin_start_finish (HgPlugin *plugin,
                               GAsyncResult *result,
                               GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
hg_greedy_plugin_dispose (GObject *object)
{
  g_cancellable_cancel (HG_GREEDY_PLUGIN (object)->cancellable);
  G_OBJECT_CLASS (hg_greedy_plugin_parent_class)->dispose (object);
}

static void
hg_greedy_plugin_finalize (GObject *object)
{
  g_object_unref (HG_GREEDY_PLUGIN (object)->cancellable);
  G_OBJECT_CLASS (hg_greedy_plugin_parent_class)->finalize (object);
}

static void
hg_greedy_plugin_class_init (HgGreedyPluginClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = hg_greedy_plugin_dispose;
  G_OBJECT_CLASS (klass)->finalize = hg_greedy_plugin_finalize;
  HG_PLUGIN_CLASS (klass)->start_async = hg_greedy_plugin_start_async;
  HG_PLUGIN_CLASS (klass)->start_finish = hg_greedy_plugin_start_finish;
}

static void
hg_greedy_plugin_init (HgGreedyPlugin *self)
{
  self->cancellable = g_cancellable_new ();
}

HG_PLUGIN_EXPORT GType hg_plugin_query_type (void);

GType
hg_plugin_query_type (void)
{
  return HG_TYPE_GREEDY_PLUGIN;
}
