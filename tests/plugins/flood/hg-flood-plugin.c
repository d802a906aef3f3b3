/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A test plugin of the personal domain that misbehaves as hard as a plugin can without
 * capabilities: it publishes `sensor.flood` events at `rate` a second (default 20000), a
 * hundredth every 10 ms, and with `spin = true` (the default) a thread of its own spins
 * a CPU. What the core answered is its health report, every second: {"accepted",
 * "refused" (org.hemgate.Error.Unavailable: over the domain's event rate), "failed"
 * (any other error), "skipped" (not sent: too many still unanswered)}. Used by the limits
 * tests and bench/priority. */
#include <hemgate-plugin.h>

#define HG_TYPE_FLOOD_PLUGIN (hg_flood_plugin_get_type ())
G_DECLARE_FINAL_TYPE (HgFloodPlugin, hg_flood_plugin, HG, FLOOD_PLUGIN, HgPlugin)

#define TICK_MS 10

struct _HgFloodPlugin
{
  HgPlugin parent_instance;
  GCancellable *cancellable; /* (owned) */
  guint rate;
  gboolean spin;
  GThread *spinner;          /* (owned) (nullable) */
  gint stop;                 /* atomic: the spinner stops */
  guint tick_id;
  guint report_id;
  guint in_flight;
  guint64 accepted;
  guint64 refused;
  guint64 failed;
  guint64 skipped;
};

G_DEFINE_TYPE (HgFloodPlugin, hg_flood_plugin, HG_TYPE_PLUGIN)

static gpointer
spin_thread (gpointer user_data)
{
  HgFloodPlugin *self = user_data;
  volatile guint64 n = 0;

  while (!g_atomic_int_get (&self->stop))
    n++;
  return NULL;
}

static gboolean
report_cb (gpointer user_data)
{
  HgFloodPlugin *self = HG_FLOOD_PLUGIN (user_data);
  g_autoptr(JsonObject) health = json_object_new ();

  json_object_set_int_member (health, "accepted", (gint64) self->accepted);
  json_object_set_int_member (health, "refused", (gint64) self->refused);
  json_object_set_int_member (health, "failed", (gint64) self->failed);
  json_object_set_int_member (health, "skipped", (gint64) self->skipped);
  hg_context_report_health (hg_plugin_get_context (HG_PLUGIN (self)), health);
  return G_SOURCE_CONTINUE;
}

static void
published_cb (GObject *source,
              GAsyncResult *result,
              gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  HgFloodPlugin *self;

  hg_context_publish_event_finish (HG_CONTEXT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = HG_FLOOD_PLUGIN (user_data);
  self->in_flight--;
  if (error == NULL)
    self->accepted++;
  else if (g_error_matches (error, HG_ERROR, HG_ERROR_UNAVAILABLE))
    self->refused++;
  else
    self->failed++;
}

static gboolean
tick_cb (gpointer user_data)
{
  HgFloodPlugin *self = HG_FLOOD_PLUGIN (user_data);
  guint n = MAX (self->rate * TICK_MS / 1000, 1);

  /* a second's worth unanswered: the core is behind, do not pile up more */
  if (self->in_flight >= MAX (self->rate, 100))
    {
      self->skipped += n;
      return G_SOURCE_CONTINUE;
    }
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(JsonObject) body = json_object_new ();
      g_autoptr(HgEvent) event = NULL;

      json_object_set_int_member (body, "n", (gint64) i);
      event = hg_event_new ("sensor.flood", body);
      self->in_flight++;
      hg_context_publish_event_async (hg_plugin_get_context (HG_PLUGIN (self)), event,
                                      self->cancellable, published_cb, self);
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
hg_flood_plugin_configure (HgPlugin *plugin,
                           HgConfig *config,
                           GError **error)
{
  HgFloodPlugin *self = HG_FLOOD_PLUGIN (plugin);
  gint64 rate = 0;

  if (!hg_config_get_int (config, "rate", 20000, 0, 1000000, &rate, error)
      || !hg_config_get_boolean (config, "spin", TRUE, &self->spin, error))
    return FALSE;
  self->rate = (guint) rate;
  return TRUE;
}

static void
hg_flood_plugin_start_async (HgPlugin *plugin,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data)
{
  HgFloodPlugin *self = HG_FLOOD_PLUGIN (plugin);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, hg_flood_plugin_start_async);
  if (self->spin && self->spinner == NULL)
    self->spinner = g_thread_new ("flood-spin", spin_thread, self);
  if (self->rate > 0)
    self->tick_id = g_timeout_add (TICK_MS, tick_cb, self);
  self->report_id = g_timeout_add_seconds (1, report_cb, self);
  g_task_return_boolean (task, TRUE);
}

static gboolean
hg_flood_plugin_start_finish (HgPlugin *plugin,
                              GAsyncResult *result,
                              GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
hg_flood_plugin_dispose (GObject *object)
{
  HgFloodPlugin *self = HG_FLOOD_PLUGIN (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->tick_id, g_source_remove);
  g_clear_handle_id (&self->report_id, g_source_remove);
  g_atomic_int_set (&self->stop, TRUE);
  g_clear_pointer (&self->spinner, g_thread_join);
  G_OBJECT_CLASS (hg_flood_plugin_parent_class)->dispose (object);
}

static void
hg_flood_plugin_finalize (GObject *object)
{
  g_object_unref (HG_FLOOD_PLUGIN (object)->cancellable);
  G_OBJECT_CLASS (hg_flood_plugin_parent_class)->finalize (object);
}

static void
hg_flood_plugin_class_init (HgFloodPluginClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = hg_flood_plugin_dispose;
  G_OBJECT_CLASS (klass)->finalize = hg_flood_plugin_finalize;
  HG_PLUGIN_CLASS (klass)->configure = hg_flood_plugin_configure;
  HG_PLUGIN_CLASS (klass)->start_async = hg_flood_plugin_start_async;
  HG_PLUGIN_CLASS (klass)->start_finish = hg_flood_plugin_start_finish;
}

static void
hg_flood_plugin_init (HgFloodPlugin *self)
{
  self->cancellable = g_cancellable_new ();
}

HG_PLUGIN_EXPORT GType hg_plugin_query_type (void);

GType
hg_plugin_query_type (void)
{
  return HG_TYPE_FLOOD_PLUGIN;
}
