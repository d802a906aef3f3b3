/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A test plugin that aborts in start(), every time: its host must be restarted with a
 * growing backoff while nothing else in the gateway notices. */
#include <hemgate-plugin.h>

#include <stdlib.h>
#include <sys/resource.h>

#define HG_TYPE_CRASH_PLUGIN (hg_crash_plugin_get_type ())
G_DECLARE_FINAL_TYPE (HgCrashPlugin, hg_crash_plugin, HG, CRASH_PLUGIN, HgPlugin)

struct _HgCrashPlugin
{
  HgPlugin parent_instance;
};

G_DEFINE_TYPE (HgCrashPlugin, hg_crash_plugin, HG_TYPE_PLUGIN)

static void
hg_crash_plugin_start_async (HgPlugin *plugin,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data)
{
  const struct rlimit no_core = { 0, 0 };

  /* Crash on purpose, without leaving core files behind in the test run. */
  setrlimit (RLIMIT_CORE, &no_core);
  abort ();
}

static gboolean
hg_crash_plugin_start_finish (HgPlugin *plugin,
                              GAsyncResult *result,
                              GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
hg_crash_plugin_class_init (HgCrashPluginClass *klass)
{
  HG_PLUGIN_CLASS (klass)->start_async = hg_crash_plugin_start_async;
  HG_PLUGIN_CLASS (klass)->start_finish = hg_crash_plugin_start_finish;
}

static void
hg_crash_plugin_init (HgCrashPlugin *self)
{
}

HG_PLUGIN_EXPORT GType hg_plugin_query_type (void);

GType
hg_plugin_query_type (void)
{
  return HG_TYPE_CRASH_PLUGIN;
}
