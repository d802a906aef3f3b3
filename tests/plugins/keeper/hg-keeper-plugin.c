/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A test plugin with the secrets capability. On start it looks up its secret "token" (or
 * the one its `lookup` key names) and reports whether it found the value its `expect` key
 * names; then it stores "note" (the value of its `note` key, else "note of <id>") and
 * reads it back. Each outcome is a "sensor.probe" event {"call", "error", "matches"}: the
 * secret itself is never published or logged. */
#include <hemgate-plugin.h>

#define HG_TYPE_KEEPER_PLUGIN (hg_keeper_plugin_get_type ())
G_DECLARE_FINAL_TYPE (HgKeeperPlugin, hg_keeper_plugin, HG, KEEPER_PLUGIN, HgPlugin)

struct _HgKeeperPlugin
{
  HgPlugin parent_instance;
  gchar *expect;             /* (owned) (nullable) */
  gchar *lookup;             /* (owned) the secret looked up first */
  gchar *note;               /* (owned) */
  GCancellable *cancellable; /* (owned) */
};

G_DEFINE_TYPE (HgKeeperPlugin, hg_keeper_plugin, HG_TYPE_PLUGIN)

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
report (HgKeeperPlugin *self,
        const gchar *call,
        const GError *error,
        gboolean matches)
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
  json_object_set_boolean_member (body, "matches", matches);
  event = hg_event_new ("sensor.probe", body);
  hg_context_publish_event_async (hg_plugin_get_context (HG_PLUGIN (self)), event, self->cancellable,
                                  reported_cb, NULL);
}

static void
note_found_cb (GObject *source,
               GAsyncResult *result,
               gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *value = hg_context_lookup_secret_finish (HG_CONTEXT (source), result, &error);
  HgKeeperPlugin *self;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = HG_KEEPER_PLUGIN (user_data);
  report (self, "StoreSecret+LookupSecret", error, g_strcmp0 (value, self->note) == 0);
}

static void
note_stored_cb (GObject *source,
                GAsyncResult *result,
                gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  HgKeeperPlugin *self;

  hg_context_store_secret_finish (HG_CONTEXT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = HG_KEEPER_PLUGIN (user_data);
  if (error != NULL)
    {
      report (self, "StoreSecret+LookupSecret", error, FALSE);
      return;
    }
  hg_context_lookup_secret_async (HG_CONTEXT (source), "note", self->cancellable, note_found_cb, self);
}

static void
token_found_cb (GObject *source,
                GAsyncResult *result,
                gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *value = hg_context_lookup_secret_finish (HG_CONTEXT (source), result, &error);
  HgKeeperPlugin *self;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = HG_KEEPER_PLUGIN (user_data);
  report (self, "LookupSecret", error, self->expect != NULL && g_strcmp0 (value, self->expect) == 0);
  hg_context_store_secret_async (HG_CONTEXT (source), "note", self->note, self->cancellable,
                                 note_stored_cb, self);
}

static gboolean
hg_keeper_plugin_configure (HgPlugin *plugin,
                            HgConfig *config,
                            GError **error)
{
  HgKeeperPlugin *self = HG_KEEPER_PLUGIN (plugin);

  g_free (self->expect);
  self->expect = g_strdup (hg_config_get_string (config, "expect", NULL));
  g_free (self->lookup);
  self->lookup = g_strdup (hg_config_get_string (config, "lookup", "token"));
  g_free (self->note);
  self->note = g_strdup (hg_config_get_string (config, "note", NULL));
  return TRUE;
}

static void
hg_keeper_plugin_start_async (HgPlugin *plugin,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  HgKeeperPlugin *self = HG_KEEPER_PLUGIN (plugin);
  HgContext *context = hg_plugin_get_context (plugin);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, hg_keeper_plugin_start_async);
  if (self->note == NULL)
    self->note = g_strdup_printf ("note of %s", hg_context_get_plugin_id (context));
  hg_context_lookup_secret_async (context, self->lookup, self->cancellable, token_found_cb, self);
  g_task_return_boolean (task, TRUE);
}

static gboolean
hg_keeper_plugin_start_finish (HgPlugin *plugin,
                               GAsyncResult *result,
                               GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
hg_keeper_plugin_dispose (GObject *object)
{
  g_cancellable_cancel (HG_KEEPER_PLUGIN (object)->cancellable);
  G_OBJECT_CLASS (hg_keeper_plugin_parent_class)->dispose (object);
}

static void
hg_keeper_plugin_finalize (GObject *object)
{
  HgKeeperPlugin *self = HG_KEEPER_PLUGIN (object);

  g_free (self->expect);
  g_free (self->lookup);
  g_free (self->note);
  g_object_unref (self->cancellable);
  G_OBJECT_CLASS (hg_keeper_plugin_parent_class)->finalize (object);
}

static void
hg_keeper_plugin_class_init (HgKeeperPluginClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = hg_keeper_plugin_dispose;
  G_OBJECT_CLASS (klass)->finalize = hg_keeper_plugin_finalize;
  HG_PLUGIN_CLASS (klass)->configure = hg_keeper_plugin_configure;
  HG_PLUGIN_CLASS (klass)->start_async = hg_keeper_plugin_start_async;
  HG_PLUGIN_CLASS (klass)->start_finish = hg_keeper_plugin_start_finish;
}

static void
hg_keeper_plugin_init (HgKeeperPlugin *self)
{
  self->cancellable = g_cancellable_new ();
}

HG_PLUGIN_EXPORT GType hg_plugin_query_type (void);

GType
hg_plugin_query_type (void)
{
  return HG_TYPE_KEEPER_PLUGIN;
}
