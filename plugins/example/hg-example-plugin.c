/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgExamplePlugin: the smallest useful plugin, for providers to copy. It checks its one
 * configuration key in configure(), publishes a "sensor.heartbeat" event every `interval`
 * seconds while running, and counts the sensor events the core hands it. It uses only
 * the public plugin API, like every plugin. */
#include <hemgate-plugin.h>

#include "hg-example-plugin.h"

#define INTERVAL_DEFAULT 60
#define INTERVAL_MAX (24 * 3600)

struct _HgExamplePlugin
{
  HgPlugin parent_instance;
  guint interval;         /* seconds between heartbeats */
  guint heartbeat_id;     /* (nullable) while running */
  guint64 heartbeats;     /* heartbeats sent so far */
  guint64 events_received;
  gboolean warned;        /* a failed publish was logged once */
  GCancellable *cancellable; /* (owned) for calls in flight */
};

G_DEFINE_TYPE (HgExamplePlugin, hg_example_plugin, HG_TYPE_PLUGIN)

static void
heartbeat_published_cb (GObject *source,
                        GAsyncResult *result,
                        gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  HgExamplePlugin *self;
  guint64 seq;

  seq = hg_context_publish_event_finish (HG_CONTEXT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = HG_EXAMPLE_PLUGIN (user_data);
  if (error != NULL)
    {
      /* e.g. HG_ERROR_PERMISSION_DENIED when the deployment denies sensor.publish; the
       * core logs a denial as a warning, so once here is enough */
      if (!self->warned)
        g_message ("heartbeat not published: %s", error->message);
      else
        g_debug ("heartbeat not published: %s", error->message);
      self->warned = TRUE;
      return;
    }
  g_debug ("heartbeat journaled as %" G_GUINT64_FORMAT, seq);
}

static gboolean
heartbeat_cb (gpointer user_data)
{
  HgExamplePlugin *self = HG_EXAMPLE_PLUGIN (user_data);
  HgContext *context = hg_plugin_get_context (HG_PLUGIN (self));
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(HgEvent) event = NULL;

  self->heartbeats++;
  json_object_set_int_member (body, "sequence", (gint64) self->heartbeats);
  json_object_set_int_member (body, "events-received", (gint64) self->events_received);
  event = hg_event_new ("sensor.heartbeat", body);
  hg_context_publish_event_async (context, event, self->cancellable, heartbeat_published_cb, self);
  return G_SOURCE_CONTINUE;
}

static gboolean
hg_example_plugin_configure (HgPlugin *plugin,
                             HgConfig *config,
                             GError **error)
{
  HgExamplePlugin *self = HG_EXAMPLE_PLUGIN (plugin);
  gint64 interval = 0;

  if (!hg_config_get_int (config, "interval", INTERVAL_DEFAULT, 1, INTERVAL_MAX, &interval, error))
    return FALSE;
  self->interval = (guint) interval;
  return TRUE;
}

static void
hg_example_plugin_start_async (HgPlugin *plugin,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  HgExamplePlugin *self = HG_EXAMPLE_PLUGIN (plugin);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, hg_example_plugin_start_async);
  if (self->interval == 0)
    self->interval = INTERVAL_DEFAULT;
  g_clear_handle_id (&self->heartbeat_id, g_source_remove);
  self->heartbeat_id = g_timeout_add_seconds (self->interval, heartbeat_cb, self);
  g_message ("publishing a heartbeat every %u s", self->interval);
  g_task_return_boolean (task, TRUE);
}

static gboolean
hg_example_plugin_start_finish (HgPlugin *plugin,
                                GAsyncResult *result,
                                GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, plugin), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
hg_example_plugin_stop_async (HgPlugin *plugin,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  HgExamplePlugin *self = HG_EXAMPLE_PLUGIN (plugin);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, hg_example_plugin_stop_async);
  g_clear_handle_id (&self->heartbeat_id, g_source_remove);
  g_task_return_boolean (task, TRUE);
}

static gboolean
hg_example_plugin_stop_finish (HgPlugin *plugin,
                               GAsyncResult *result,
                               GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, plugin), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Must not block: the host's main loop also answers the core's watchdog. */
static void
hg_example_plugin_handle_event (HgPlugin *plugin,
                                HgEvent *event)
{
  HgExamplePlugin *self = HG_EXAMPLE_PLUGIN (plugin);

  self->events_received++;
  g_debug ("received %s (%" G_GUINT64_FORMAT " so far)", hg_event_get_event_type (event),
           self->events_received);
}

static void
hg_example_plugin_dispose (GObject *object)
{
  HgExamplePlugin *self = HG_EXAMPLE_PLUGIN (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->heartbeat_id, g_source_remove);
  G_OBJECT_CLASS (hg_example_plugin_parent_class)->dispose (object);
}

static void
hg_example_plugin_finalize (GObject *object)
{
  HgExamplePlugin *self = HG_EXAMPLE_PLUGIN (object);

  g_object_unref (self->cancellable);
  G_OBJECT_CLASS (hg_example_plugin_parent_class)->finalize (object);
}

static void
hg_example_plugin_class_init (HgExamplePluginClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  HgPluginClass *plugin_class = HG_PLUGIN_CLASS (klass);

  object_class->dispose = hg_example_plugin_dispose;
  object_class->finalize = hg_example_plugin_finalize;
  plugin_class->configure = hg_example_plugin_configure;
  plugin_class->start_async = hg_example_plugin_start_async;
  plugin_class->start_finish = hg_example_plugin_start_finish;
  plugin_class->stop_async = hg_example_plugin_stop_async;
  plugin_class->stop_finish = hg_example_plugin_stop_finish;
  plugin_class->handle_event = hg_example_plugin_handle_event;
}

static void
hg_example_plugin_init (HgExamplePlugin *self)
{
  self->interval = INTERVAL_DEFAULT;
  self->cancellable = g_cancellable_new ();
}

/* The one symbol the module exports; it returns the type and does nothing else. */
HG_PLUGIN_EXPORT GType hg_plugin_query_type (void);

GType
hg_plugin_query_type (void)
{
  return HG_TYPE_EXAMPLE_PLUGIN;
}
