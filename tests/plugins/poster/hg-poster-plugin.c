/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A test delivery plugin (alarm.deliver) of "another provider", written on the public
 * plugin API only: it delivers each alarm over a route of its own, an HTTP POST of
 * {"ref", "type"} to /alarms at the one address its manifest may connect to
 * (`net.connect:HOST:PORT`), one alarm at a time, in the order they came. The receiver
 * acknowledges an alarm by answering 200; the plugin then reports it delivered and
 * acknowledged. Until the answer comes the alarms behind it wait in the plugin's queue;
 * a refused or failed POST is tried again after a second, and reported in its health as
 * `delivery-fault` until a POST succeeds. An alarm it has in its queue,
 * or has delivered, is not queued again when the core offers it again. */
#include <gio/gio.h>
#include <hemgate-plugin.h>
#include <string.h>

#define HG_TYPE_POSTER_PLUGIN (hg_poster_plugin_get_type ())
G_DECLARE_FINAL_TYPE (HgPosterPlugin, hg_poster_plugin, HG, POSTER_PLUGIN, HgPlugin)

struct _HgPosterPlugin
{
  HgPlugin parent_instance;
  GCancellable *cancellable; /* (owned) */
  gchar *host;               /* (owned) (nullable) the receiver, from the grant */
  guint16 port;
  GQueue queue;              /* (element-type JsonObject) alarms to post, oldest first */
  GHashTable *seen;          /* (owned) references queued or delivered */
  gboolean posting;
  guint retry_id;
};

G_DEFINE_TYPE (HgPosterPlugin, hg_poster_plugin, HG_TYPE_PLUGIN)

static void post_next (HgPosterPlugin *self);

/* Posting, on a worker thread (a plugin must not block its main loop) ---------------- */

typedef struct
{
  gchar *host;  /* (owned) */
  guint16 port;
  gchar *body;  /* (owned) */
} Post;

static void
post_free (Post *post)
{
  g_free (post->host);
  g_free (post->body);
  g_free (post);
}

static void
post_thread (GTask *task,
             gpointer source,
             gpointer task_data,
             GCancellable *cancellable)
{
  Post *post = task_data;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *request = NULL;
  g_autoptr(GByteArray) answer = g_byte_array_new ();
  guint8 buffer[1024];
  gssize n;

  g_socket_client_set_timeout (client, 120);
  connection = g_socket_client_connect_to_host (client, post->host, post->port, cancellable,
                                                &error);
  if (connection == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  request = g_strdup_printf ("POST /alarms HTTP/1.1\r\nHost: %s:%u\r\n"
                             "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                             "Connection: close\r\n\r\n%s",
                             post->host, post->port, strlen (post->body), post->body);
  if (!g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                                  request, strlen (request), NULL, cancellable, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  while ((n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                                   buffer, sizeof buffer, cancellable, &error))
         > 0)
    g_byte_array_append (answer, buffer, (guint) n);
  if (n < 0)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (answer->len < 12 || memcmp (answer->data, "HTTP/1.1 200", 12) != 0)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s",
                               "the receiver did not acknowledge the alarm");
      return;
    }
  g_task_return_boolean (task, TRUE);
}

/* Reporting ------------------------------------------------------------------------- */

static void
acknowledged_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  g_autofree gchar *ref = user_data;
  g_autoptr(GError) error = NULL;

  if (!hg_context_report_alarm_finish (HG_CONTEXT (source), result, &error))
    g_message ("alarm %s not reported acknowledged: %s", ref, error->message);
}

static void
delivered_cb (GObject *source,
              GAsyncResult *result,
              gpointer user_data)
{
  g_autofree gchar *ref = user_data;
  g_autoptr(GError) error = NULL;

  if (!hg_context_report_alarm_finish (HG_CONTEXT (source), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_message ("alarm %s not reported delivered: %s", ref, error->message);
    }
  hg_context_report_alarm_async (HG_CONTEXT (source), ref, HG_ALARM_STATE_ACKNOWLEDGED, NULL,
                                 NULL, acknowledged_cb, g_strdup (ref));
}

static gboolean
retry_cb (gpointer user_data)
{
  HgPosterPlugin *self = user_data;

  self->retry_id = 0;
  post_next (self);
  return G_SOURCE_REMOVE;
}

/* {"delivery-fault": @fault}, or {} */
static void
report_fault (HgPosterPlugin *self,
              const gchar *fault)
{
  g_autoptr(JsonObject) health = json_object_new ();

  if (fault != NULL)
    json_object_set_string_member (health, "delivery-fault", fault);
  hg_context_report_health (hg_plugin_get_context (HG_PLUGIN (self)), health);
}

static void
posted_cb (GObject *source,
           GAsyncResult *result,
           gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  HgPosterPlugin *self;
  g_autoptr(JsonObject) alarm = NULL;
  const gchar *ref;

  if (!g_task_propagate_boolean (G_TASK (result), &error)
      && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = HG_POSTER_PLUGIN (source);
  self->posting = FALSE;
  if (error != NULL)
    {
      g_autofree gchar *fault
          = g_strdup_printf ("the alarm centre does not take alarms: %s", error->message);

      g_message ("alarm not posted, trying again: %s", error->message);
      report_fault (self, fault);
      self->retry_id = g_timeout_add_seconds (1, retry_cb, self);
      return;
    }
  report_fault (self, NULL);
  alarm = g_queue_pop_head (&self->queue);
  ref = json_object_get_string_member (alarm, "ref");
  hg_context_report_alarm_async (hg_plugin_get_context (HG_PLUGIN (self)), ref,
                                 HG_ALARM_STATE_DELIVERED, NULL, self->cancellable, delivered_cb,
                                 g_strdup (ref));
  post_next (self);
}

static void
post_next (HgPosterPlugin *self)
{
  g_autoptr(GTask) task = NULL;
  Post *post;

  if (self->posting || self->retry_id != 0 || g_queue_is_empty (&self->queue)
      || self->host == NULL)
    return;
  post = g_new0 (Post, 1);
  post->host = g_strdup (self->host);
  post->port = self->port;
  post->body = hg_json_object_to_string (g_queue_peek_head (&self->queue));
  task = g_task_new (self, self->cancellable, posted_cb, NULL);
  g_task_set_task_data (task, post, (GDestroyNotify) post_free);
  self->posting = TRUE;
  g_task_run_in_thread (task, post_thread);
}

/* The plugin ------------------------------------------------------------------------- */

static gboolean
hg_poster_plugin_configure (HgPlugin *plugin,
                            HgConfig *config,
                            GError **error)
{
  HgPosterPlugin *self = HG_POSTER_PLUGIN (plugin);
  const gchar *const *capabilities = hg_context_get_capabilities (hg_plugin_get_context (plugin));

  /* the receiver is the one address the manifest may connect to */
  for (guint i = 0; capabilities != NULL && capabilities[i] != NULL; i++)
    {
      g_auto(GStrv) parts = NULL;
      guint64 port = 0;

      if (!g_str_has_prefix (capabilities[i], "net.connect:"))
        continue;
      parts = g_strsplit (capabilities[i] + strlen ("net.connect:"), ":", 2);
      if (parts[0] == NULL || parts[1] == NULL
          || !g_ascii_string_to_unsigned (parts[1], 10, 1, 65535, &port, NULL))
        continue;
      g_free (self->host);
      self->host = g_strdup (parts[0]);
      self->port = (guint16) port;
      return TRUE;
    }
  g_set_error_literal (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       "the manifest grants no net.connect:HOST:PORT to post alarms to");
  return FALSE;
}

static void
hg_poster_plugin_handle_event (HgPlugin *plugin,
                               HgEvent *event)
{
  HgPosterPlugin *self = HG_POSTER_PLUGIN (plugin);
  g_autoptr(HgAlarm) alarm = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *post;
  HgAlarmState state;

  if (g_strcmp0 (hg_event_get_event_type (event), "alarm.raised") != 0)
    return;
  alarm = hg_alarm_new_from_json (hg_event_get_body (event), &error);
  if (alarm == NULL || hg_alarm_get_reference (alarm) == NULL)
    {
      g_message ("alarm.raised with a bad body: %s", error != NULL ? error->message : "no ref");
      return;
    }
  state = hg_alarm_get_state (alarm);
  if ((state != HG_ALARM_STATE_RAISED && state != HG_ALARM_STATE_DELIVERED)
      || g_hash_table_contains (self->seen, hg_alarm_get_reference (alarm)))
    return;
  g_hash_table_add (self->seen, g_strdup (hg_alarm_get_reference (alarm)));
  post = json_object_new ();
  json_object_set_string_member (post, "ref", hg_alarm_get_reference (alarm));
  json_object_set_string_member (post, "type", hg_alarm_get_alarm_type (alarm));
  g_queue_push_tail (&self->queue, post);
  post_next (self);
}

static void
hg_poster_plugin_dispose (GObject *object)
{
  HgPosterPlugin *self = HG_POSTER_PLUGIN (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  G_OBJECT_CLASS (hg_poster_plugin_parent_class)->dispose (object);
}

static void
hg_poster_plugin_finalize (GObject *object)
{
  HgPosterPlugin *self = HG_POSTER_PLUGIN (object);

  g_object_unref (self->cancellable);
  g_queue_clear_full (&self->queue, (GDestroyNotify) json_object_unref);
  g_hash_table_unref (self->seen);
  g_free (self->host);
  G_OBJECT_CLASS (hg_poster_plugin_parent_class)->finalize (object);
}

static void
hg_poster_plugin_class_init (HgPosterPluginClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = hg_poster_plugin_dispose;
  G_OBJECT_CLASS (klass)->finalize = hg_poster_plugin_finalize;
  HG_PLUGIN_CLASS (klass)->configure = hg_poster_plugin_configure;
  HG_PLUGIN_CLASS (klass)->handle_event = hg_poster_plugin_handle_event;
}

static void
hg_poster_plugin_init (HgPosterPlugin *self)
{
  self->cancellable = g_cancellable_new ();
  g_queue_init (&self->queue);
  self->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

HG_PLUGIN_EXPORT GType hg_plugin_query_type (void);

GType
hg_plugin_query_type (void)
{
  return HG_TYPE_POSTER_PLUGIN;
}
