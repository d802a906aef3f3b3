/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A test plugin that blocks its host's main loop for good, so the host stops answering
 * the core: with `hang-in = running` (the default) shortly after a successful start, which
 * the watchdog must catch; with `hang-in = start` inside start(), which the start timeout
 * must catch. */
#include <hemgate-plugin.h>

#define HG_TYPE_HANG_PLUGIN (hg_hang_plugin_get_type ())
G_DECLARE_FINAL_TYPE (HgHangPlugin, hg_hang_plugin, HG, HANG_PLUGIN, HgPlugin)

struct _HgHangPlugin
{
  HgPlugin parent_instance;
  gboolean hang_in_start;
  guint hang_id;
};

G_DEFINE_TYPE (HgHangPlugin, hg_hang_plugin, HG_TYPE_PLUGIN)

G_GNUC_NORETURN static void
block_forever (void)
{
  g_message ("blocking the main loop for good");
  for (;;)
    g_usleep (G_USEC_PER_SEC);
}

static gboolean
hang_cb (gpointer user_data)
{
  block_forever ();
  return G_SOURCE_REMOVE;
}

static gboolean
hg_hang_plugin_configure (HgPlugin *plugin,
                          HgConfig *config,
                          GError **error)
{
  HgHangPlugin *self = HG_HANG_PLUGIN (plugin);
  const gchar *hang_in = hg_config_get_string (config, "hang-in", "running");

  if (g_strcmp0 (hang_in, "running") != 0 && g_strcmp0 (hang_in, "start") != 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "hang-in: '%s' is not 'running' or 'start'", hang_in);
      return FALSE;
    }
  self->hang_in_start = g_strcmp0 (hang_in, "start") == 0;
  return TRUE;
}

static void
hg_hang_plugin_start_async (HgPlugin *plugin,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data)
{
  HgHangPlugin *self = HG_HANG_PLUGIN (plugin);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, hg_hang_plugin_start_async);
  if (self->hang_in_start)
    block_forever ();
  self->hang_id = g_timeout_add (200, hang_cb, self);
  g_task_return_boolean (task, TRUE);
}

static gboolean
hg_hang_plugin_start_finish (HgPlugin *plugin,
                             GAsyncResult *result,
                             GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
hg_hang_plugin_dispose (GObject *object)
{
  g_clear_handle_id (&HG_HANG_PLUGIN (object)->hang_id, g_source_remove);
  G_OBJECT_CLASS (hg_hang_plugin_parent_class)->dispose (object);
}

static void
hg_hang_plugin_class_init (HgHangPluginClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = hg_hang_plugin_dispose;
  HG_PLUGIN_CLASS (klass)->configure = hg_hang_plugin_configure;
  HG_PLUGIN_CLASS (klass)->start_async = hg_hang_plugin_start_async;
  HG_PLUGIN_CLASS (klass)->start_finish = hg_hang_plugin_start_finish;
}

static void
hg_hang_plugin_init (HgHangPlugin *self)
{
}

HG_PLUGIN_EXPORT GType hg_plugin_query_type (void);

GType
hg_plugin_query_type (void)
{
  return HG_TYPE_HANG_PLUGIN;
}
