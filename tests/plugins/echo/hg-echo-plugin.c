/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A test plugin with channel.serve. On a channel opened it sends {"hello": user, "role":
 * role}; it answers {"say": TEXT} with {"echo": TEXT}, closes the channel on "bye", and
 * after each opening and closing reports {"open": N, "opened": N, "closed": N} as its
 * health, which the tests read in GET /api/v1/health. */
#include <hemgate-plugin.h>

#define HG_TYPE_ECHO_PLUGIN (hg_echo_plugin_get_type ())
G_DECLARE_FINAL_TYPE (HgEchoPlugin, hg_echo_plugin, HG, ECHO_PLUGIN, HgPlugin)

struct _HgEchoPlugin
{
  HgPlugin parent_instance;
  GHashTable *open; /* (owned) channel ids */
  guint opened;
  guint closed;     /* by the client */
};

G_DEFINE_TYPE (HgEchoPlugin, hg_echo_plugin, HG_TYPE_PLUGIN)

static void
report (HgEchoPlugin *self)
{
  g_autoptr(JsonObject) health = json_object_new ();

  json_object_set_int_member (health, "open", g_hash_table_size (self->open));
  json_object_set_int_member (health, "opened", self->opened);
  json_object_set_int_member (health, "closed", self->closed);
  hg_context_report_health (hg_plugin_get_context (HG_PLUGIN (self)), health);
}

static void
channel_opened_cb (HgContext *context,
                   const gchar *channel_id,
                   const gchar *user,
                   const gchar *role,
                   const gchar *purpose,
                   HgEchoPlugin *self)
{
  g_autoptr(JsonObject) hello = json_object_new ();

  g_hash_table_add (self->open, g_strdup (channel_id));
  self->opened++;
  json_object_set_string_member (hello, "hello", user);
  json_object_set_string_member (hello, "role", role);
  if (purpose != NULL)
    json_object_set_string_member (hello, "purpose", purpose);
  hg_context_channel_send (context, channel_id, hello);
  report (self);
}

static void
channel_message_cb (HgContext *context,
                    const gchar *channel_id,
                    JsonObject *message,
                    HgEchoPlugin *self)
{
  g_autoptr(JsonObject) reply = json_object_new ();
  g_autoptr(GError) error = NULL;
  const gchar *text = NULL;

  if (!hg_json_object_get_string (message, "say", &text, &error))
    json_object_set_string_member (reply, "error", error->message);
  else if (g_str_equal (text, "bye"))
    {
      g_hash_table_remove (self->open, channel_id);
      hg_context_channel_close (context, channel_id);
      report (self);
      return;
    }
  else
    json_object_set_string_member (reply, "echo", text);
  hg_context_channel_send (context, channel_id, reply);
}

static void
channel_closed_cb (HgContext *context,
                   const gchar *channel_id,
                   HgEchoPlugin *self)
{
  if (g_hash_table_remove (self->open, channel_id))
    self->closed++;
  report (self);
}

static void
hg_echo_plugin_start_async (HgPlugin *plugin,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data)
{
  HgEchoPlugin *self = HG_ECHO_PLUGIN (plugin);
  HgContext *context = hg_plugin_get_context (plugin);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, hg_echo_plugin_start_async);
  g_signal_connect_object (context, "channel-opened", G_CALLBACK (channel_opened_cb), self, 0);
  g_signal_connect_object (context, "channel-message", G_CALLBACK (channel_message_cb), self, 0);
  g_signal_connect_object (context, "channel-closed", G_CALLBACK (channel_closed_cb), self, 0);
  report (self);
  g_task_return_boolean (task, TRUE);
}

static gboolean
hg_echo_plugin_start_finish (HgPlugin *plugin,
                             GAsyncResult *result,
                             GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
hg_echo_plugin_finalize (GObject *object)
{
  HgEchoPlugin *self = HG_ECHO_PLUGIN (object);

  g_hash_table_unref (self->open);
  G_OBJECT_CLASS (hg_echo_plugin_parent_class)->finalize (object);
}

static void
hg_echo_plugin_class_init (HgEchoPluginClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hg_echo_plugin_finalize;
  HG_PLUGIN_CLASS (klass)->start_async = hg_echo_plugin_start_async;
  HG_PLUGIN_CLASS (klass)->start_finish = hg_echo_plugin_start_finish;
}

static void
hg_echo_plugin_init (HgEchoPlugin *self)
{
  self->open = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

HG_PLUGIN_EXPORT GType hg_plugin_query_type (void);

GType
hg_plugin_query_type (void)
{
  return HG_TYPE_ECHO_PLUGIN;
}
