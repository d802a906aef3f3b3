/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdHostContext: implements every HgContext call as one asynchronous call of
 * org.hemgate.Context1 on the host's private connection to the core. It decides
 * nothing: the core checks each call against the grant. Errors come back as HG_ERROR,
 * converted in one place (hgd_host_context_error_to_hg). */
#include "config.h"

#include "hgd-host-context.h"

struct _HgdHostContext
{
  HgContext parent_instance;
  HgdDBusContext1 *proxy; /* (owned) */
};

G_DEFINE_TYPE (HgdHostContext, hgd_host_context, HG_TYPE_CONTEXT)

/* Events and alarms a plugin sends are capped by the core too; this only keeps a
 * runaway plugin from building huge messages in the host. */
#define MAX_JSON_SIZE (64 * 1024)

/**
 * hgd_host_context_error_to_hg:
 * @error: an error from a call to the core, or from the plugin
 *
 * The one conversion to %HG_ERROR for plugins: remote `org.hemgate.Error.*` errors keep
 * their code without the D-Bus prefix, a lost connection is %HG_ERROR_UNAVAILABLE, a
 * timeout %HG_ERROR_TIMED_OUT, and anything else %HG_ERROR_FAILED.
 * %G_IO_ERROR_CANCELLED stays as it is, as GIO callers expect.
 *
 * Returns: (transfer full): the converted error
 */
GError *
hgd_host_context_error_to_hg (const GError *error)
{
  g_autoptr(GError) copy = g_error_copy (error);

  if (g_dbus_error_is_remote_error (copy))
    g_dbus_error_strip_remote_error (copy);
  if (copy->domain == HG_ERROR || g_error_matches (copy, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_steal_pointer (&copy);
  if (g_error_matches (copy, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
      g_error_matches (copy, G_DBUS_ERROR, G_DBUS_ERROR_TIMEOUT) ||
      g_error_matches (copy, G_DBUS_ERROR, G_DBUS_ERROR_TIMED_OUT) ||
      g_error_matches (copy, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY))
    return g_error_new (HG_ERROR, HG_ERROR_TIMED_OUT, "the core did not answer: %s", copy->message);
  if (g_error_matches (copy, G_IO_ERROR, G_IO_ERROR_CLOSED) ||
      g_error_matches (copy, G_DBUS_ERROR, G_DBUS_ERROR_DISCONNECTED))
    return g_error_new (HG_ERROR, HG_ERROR_UNAVAILABLE, "the core is gone: %s", copy->message);
  return g_error_new_literal (HG_ERROR, HG_ERROR_FAILED, copy->message);
}

static void
return_error (GTask *task,
              GError *error)
{
  g_autoptr(GError) owned = error;

  g_task_return_error (task, hgd_host_context_error_to_hg (owned));
}

static gboolean
check_size (GTask *task,
            const gchar *json)
{
  if (strlen (json) <= MAX_JSON_SIZE)
    return TRUE;
  g_task_return_new_error (task, HG_ERROR, HG_ERROR_INVALID_DATA,
                           "JSON of %" G_GSIZE_FORMAT " bytes exceeds the limit of %d",
                           strlen (json), MAX_JSON_SIZE);
  return FALSE;
}

static void
publish_event_cb (GObject *source,
                  GAsyncResult *result,
                  gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  guint64 seq = 0;

  if (!hgd_dbus_context1_call_publish_event_finish (HGD_DBUS_CONTEXT1 (source), &seq, result, &error))
    {
      return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_pointer (task, g_memdup2 (&seq, sizeof seq), g_free);
}

static void
hgd_host_context_publish_event_async (HgContext *context,
                                      HgEvent *event,
                                      GCancellable *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer user_data)
{
  HgdHostContext *self = HGD_HOST_CONTEXT (context);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autofree gchar *body = hg_json_object_to_string (hg_event_get_body (event));

  g_task_set_source_tag (task, hgd_host_context_publish_event_async);
  if (!check_size (task, body))
    return;
  hgd_dbus_context1_call_publish_event (self->proxy, hg_event_get_event_type (event), body,
                                        cancellable, publish_event_cb, g_steal_pointer (&task));
}

static guint64
hgd_host_context_publish_event_finish (HgContext *context,
                                       GAsyncResult *result,
                                       GError **error)
{
  g_autofree guint64 *seq = NULL;

  g_return_val_if_fail (g_task_is_valid (result, context), 0);
  seq = g_task_propagate_pointer (G_TASK (result), error);
  return seq != NULL ? *seq : 0;
}

static void
raise_alarm_cb (GObject *source,
                GAsyncResult *result,
                gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *ref = NULL;

  if (!hgd_dbus_context1_call_raise_alarm_finish (HGD_DBUS_CONTEXT1 (source), &ref, result, &error))
    {
      return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&ref), g_free);
}

static void
hgd_host_context_raise_alarm_async (HgContext *context,
                                    HgAlarm *alarm,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  HgdHostContext *self = HGD_HOST_CONTEXT (context);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(JsonObject) object = hg_alarm_to_json (alarm);
  g_autofree gchar *json = hg_json_object_to_string (object);

  g_task_set_source_tag (task, hgd_host_context_raise_alarm_async);
  if (!check_size (task, json))
    return;
  hgd_dbus_context1_call_raise_alarm (self->proxy, json, cancellable, raise_alarm_cb,
                                      g_steal_pointer (&task));
}

static gchar *
hgd_host_context_raise_alarm_finish (HgContext *context,
                                     GAsyncResult *result,
                                     GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, context), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
report_alarm_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!hgd_dbus_context1_call_report_alarm_finish (HGD_DBUS_CONTEXT1 (source), result, &error))
    {
      return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
hgd_host_context_report_alarm_async (HgContext *context,
                                     const gchar *reference,
                                     HgAlarmState state,
                                     JsonObject *detail,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  HgdHostContext *self = HGD_HOST_CONTEXT (context);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autofree gchar *json = detail != NULL ? hg_json_object_to_string (detail) : g_strdup ("");
  const gchar *state_str = hg_alarm_state_to_string (state);

  g_task_set_source_tag (task, hgd_host_context_report_alarm_async);
  if (state_str == NULL)
    {
      g_task_return_new_error (task, HG_ERROR, HG_ERROR_INVALID_DATA, "unknown alarm state %d", state);
      return;
    }
  if (!check_size (task, json))
    return;
  hgd_dbus_context1_call_report_alarm (self->proxy, reference, state_str, json, cancellable,
                                       report_alarm_cb, g_steal_pointer (&task));
}

static gboolean
hgd_host_context_report_alarm_finish (HgContext *context,
                                      GAsyncResult *result,
                                      GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, context), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
lookup_secret_cb (GObject *source,
                  GAsyncResult *result,
                  gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *value = NULL;

  if (!hgd_dbus_context1_call_lookup_secret_finish (HGD_DBUS_CONTEXT1 (source), &value, result, &error))
    {
      return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&value), g_free);
}

static void
hgd_host_context_lookup_secret_async (HgContext *context,
                                      const gchar *key,
                                      GCancellable *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer user_data)
{
  HgdHostContext *self = HGD_HOST_CONTEXT (context);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, hgd_host_context_lookup_secret_async);
  hgd_dbus_context1_call_lookup_secret (self->proxy, key, cancellable, lookup_secret_cb,
                                        g_steal_pointer (&task));
}

static gchar *
hgd_host_context_lookup_secret_finish (HgContext *context,
                                       GAsyncResult *result,
                                       GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, context), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
store_secret_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!hgd_dbus_context1_call_store_secret_finish (HGD_DBUS_CONTEXT1 (source), result, &error))
    {
      return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
hgd_host_context_store_secret_async (HgContext *context,
                                     const gchar *key,
                                     const gchar *value,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  HgdHostContext *self = HGD_HOST_CONTEXT (context);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, hgd_host_context_store_secret_async);
  hgd_dbus_context1_call_store_secret (self->proxy, key, value, cancellable, store_secret_cb,
                                       g_steal_pointer (&task));
}

static gboolean
hgd_host_context_store_secret_finish (HgContext *context,
                                      GAsyncResult *result,
                                      GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, context), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
report_health_cb (GObject *source,
                  GAsyncResult *result,
                  gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!hgd_dbus_context1_call_report_health_finish (HGD_DBUS_CONTEXT1 (source), result, &error))
    g_debug ("health report not taken: %s", error->message);
}

/* Fire and forget: the next report replaces this one anyway. */
static void
hgd_host_context_report_health (HgContext *context,
                                JsonObject *health)
{
  HgdHostContext *self = HGD_HOST_CONTEXT (context);
  g_autofree gchar *json = hg_json_object_to_string (health);

  if (strlen (json) > MAX_JSON_SIZE)
    {
      g_warning ("health report of %" G_GSIZE_FORMAT " bytes dropped: the limit is %d",
                 strlen (json), MAX_JSON_SIZE);
      return;
    }
  hgd_dbus_context1_call_report_health (self->proxy, json, NULL, report_health_cb, NULL);
}

static void
hgd_host_context_dispose (GObject *object)
{
  HgdHostContext *self = HGD_HOST_CONTEXT (object);

  g_clear_object (&self->proxy);
  G_OBJECT_CLASS (hgd_host_context_parent_class)->dispose (object);
}

static void
hgd_host_context_class_init (HgdHostContextClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  HgContextClass *context_class = HG_CONTEXT_CLASS (klass);

  /* Registers org.hemgate.Error.* before the first reply can carry one. */
  (void) hg_error_quark ();

  object_class->dispose = hgd_host_context_dispose;
  context_class->publish_event_async = hgd_host_context_publish_event_async;
  context_class->publish_event_finish = hgd_host_context_publish_event_finish;
  context_class->raise_alarm_async = hgd_host_context_raise_alarm_async;
  context_class->raise_alarm_finish = hgd_host_context_raise_alarm_finish;
  context_class->report_alarm_async = hgd_host_context_report_alarm_async;
  context_class->report_alarm_finish = hgd_host_context_report_alarm_finish;
  context_class->lookup_secret_async = hgd_host_context_lookup_secret_async;
  context_class->lookup_secret_finish = hgd_host_context_lookup_secret_finish;
  context_class->store_secret_async = hgd_host_context_store_secret_async;
  context_class->store_secret_finish = hgd_host_context_store_secret_finish;
  context_class->report_health = hgd_host_context_report_health;
}

static void
hgd_host_context_init (HgdHostContext *self)
{
}

/**
 * hgd_host_context_new:
 * @proxy: org.hemgate.Context1 on the connection to the core
 * @plugin_id: the instance id
 * @domain: the instance's domain
 * @config: the instance's own configuration keys
 * @capabilities: the granted capabilities
 *
 * Returns: (transfer full): the context to give the plugin
 */
HgdHostContext *
hgd_host_context_new (HgdDBusContext1 *proxy,
                      const gchar *plugin_id,
                      HgDomain domain,
                      HgConfig *config,
                      const gchar *const *capabilities)
{
  HgdHostContext *self;

  g_return_val_if_fail (HGD_DBUS_IS_CONTEXT1 (proxy), NULL);
  g_return_val_if_fail (plugin_id != NULL, NULL);
  g_return_val_if_fail (HG_IS_CONFIG (config), NULL);

  self = g_object_new (HGD_TYPE_HOST_CONTEXT,
                       "plugin-id", plugin_id,
                       "domain", (guint) domain,
                       "config", config,
                       "capabilities", capabilities,
                       NULL);
  self->proxy = g_object_ref (proxy);
  return self;
}
