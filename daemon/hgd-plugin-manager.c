/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdPluginManager: one HgdPluginInstance per [plugin:<id>] group. It starts and stops
 * them together, and hands every journaled event to each instance, which decides from
 * its grant whether its plugin may see it. One plugin failing never fails the daemon:
 * start completes once every enabled instance is running or has failed, and its
 * health shows in hgd_plugin_manager_to_json(). */
#include "config.h"

#include "hgd-plugin-instance.h"
#include "hgd-plugin-manager.h"

struct _HgdPluginManager
{
  GObject parent_instance;
  HgdConfig *config;                    /* (owned) */
  HgdJournal *journals[HG_DOMAIN_LAST]; /* (owned) (nullable) each */
  gulong appended_ids[HG_DOMAIN_LAST];
  HgdAlarms *alarms;                    /* (owned) */
  HgdSecrets *secrets;                  /* (owned) */
  GPtrArray *instances;                 /* (owned) (element-type HgdPluginInstance) */
  GTask *start_task;                    /* (owned) (nullable) until every instance settled */
};

G_DEFINE_TYPE (HgdPluginManager, hgd_plugin_manager, G_TYPE_OBJECT)

static void
event_appended_cb (HgdJournal *journal,
                   HgEvent *event,
                   HgdPluginManager *self)
{
  for (guint i = 0; i < self->instances->len; i++)
    hgd_plugin_instance_offer_event (g_ptr_array_index (self->instances, i), event);
}

/* Settled: running, or given up on for now (failed, backing off, disabled). */
static gboolean
all_settled (HgdPluginManager *self)
{
  for (guint i = 0; i < self->instances->len; i++)
    {
      HgdPluginState state = hgd_plugin_instance_get_state (g_ptr_array_index (self->instances, i));
      if (state == HGD_PLUGIN_STATE_STARTING || state == HGD_PLUGIN_STATE_STOPPED)
        return FALSE;
    }
  return TRUE;
}

static void
check_started (HgdPluginManager *self)
{
  g_autoptr(GTask) task = NULL;

  if (self->start_task == NULL || !all_settled (self))
    return;
  task = g_steal_pointer (&self->start_task);
  g_task_return_boolean (task, TRUE);
}

static void
instance_state_cb (HgdPluginInstance *instance,
                   GParamSpec *pspec,
                   HgdPluginManager *self)
{
  check_started (self);
}

/**
 * hgd_plugin_manager_start_async:
 * @self: an #HgdPluginManager
 * @cancellable: (nullable): a #GCancellable
 * @callback: called once every enabled instance is running or has failed
 * @user_data: data for @callback
 *
 * Spawns a host for every enabled instance.
 */
void
hgd_plugin_manager_start_async (HgdPluginManager *self,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (HGD_IS_PLUGIN_MANAGER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hgd_plugin_manager_start_async);
  if (self->start_task != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING, "%s", "plugins are already starting");
      return;
    }
  self->start_task = g_steal_pointer (&task);
  for (guint i = 0; i < self->instances->len; i++)
    hgd_plugin_instance_start (g_ptr_array_index (self->instances, i));
  check_started (self);
}

/**
 * hgd_plugin_manager_start_finish:
 * @self: an #HgdPluginManager
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: %TRUE; a plugin that fails is not an error of the daemon
 */
gboolean
hgd_plugin_manager_start_finish (HgdPluginManager *self,
                                 GAsyncResult *result,
                                 GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
instance_stopped_cb (GObject *source,
                     GAsyncResult *result,
                     gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  guint *pending = g_task_get_task_data (task);

  hgd_plugin_instance_stop_finish (HGD_PLUGIN_INSTANCE (source), result, NULL);
  if (--(*pending) == 0)
    g_task_return_boolean (task, TRUE);
}

/**
 * hgd_plugin_manager_stop_async:
 * @self: an #HgdPluginManager
 * @cancellable: (nullable): a #GCancellable
 * @callback: called once every host has exited
 * @user_data: data for @callback
 *
 * Stops forwarding events and stops every instance, all at once.
 */
void
hgd_plugin_manager_stop_async (HgdPluginManager *self,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  guint *pending = g_new0 (guint, 1);

  g_return_if_fail (HGD_IS_PLUGIN_MANAGER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hgd_plugin_manager_stop_async);
  g_task_set_task_data (task, pending, g_free);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      if (self->appended_ids[i] != 0)
        g_clear_signal_handler (&self->appended_ids[i], self->journals[i]);
    }
  *pending = self->instances->len + 1;
  for (guint i = 0; i < self->instances->len; i++)
    hgd_plugin_instance_stop_async (g_ptr_array_index (self->instances, i), NULL,
                                    instance_stopped_cb, g_object_ref (task));
  if (--(*pending) == 0)
    g_task_return_boolean (task, TRUE);
}

gboolean
hgd_plugin_manager_stop_finish (HgdPluginManager *self,
                                GAsyncResult *result,
                                GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * hgd_plugin_manager_to_json:
 * @self: an #HgdPluginManager
 * @healthy: (out) (optional): %FALSE if any enabled instance is not running
 *
 * Returns: (transfer full): one object per instance, see hgd_plugin_instance_to_json()
 */
JsonArray *
hgd_plugin_manager_to_json (HgdPluginManager *self,
                            gboolean *healthy)
{
  JsonArray *array = json_array_new ();
  gboolean all_running = TRUE;

  g_return_val_if_fail (HGD_IS_PLUGIN_MANAGER (self), array);

  for (guint i = 0; i < self->instances->len; i++)
    {
      HgdPluginInstance *instance = g_ptr_array_index (self->instances, i);

      json_array_add_object_element (array, hgd_plugin_instance_to_json (instance));
      if (hgd_plugin_instance_is_enabled (instance) &&
          hgd_plugin_instance_get_state (instance) != HGD_PLUGIN_STATE_RUNNING)
        all_running = FALSE;
    }
  if (healthy != NULL)
    *healthy = all_running;
  return array;
}

/**
 * hgd_plugin_manager_restart:
 * @self: an #HgdPluginManager
 * @instance_id: a plugin instance id
 * @error: return location for a #GError
 *
 * Restarts one instance now, for the admin API; see hgd_plugin_instance_restart().
 *
 * Returns: %TRUE if a restart is under way; else %G_IO_ERROR_NOT_FOUND for an unknown
 *   instance, %G_IO_ERROR_NOT_SUPPORTED for a disabled one, %G_IO_ERROR_BUSY while it
 *   stops, or the manifest error of a failed one
 */
gboolean
hgd_plugin_manager_restart (HgdPluginManager *self,
                            const gchar *instance_id,
                            GError **error)
{
  g_return_val_if_fail (HGD_IS_PLUGIN_MANAGER (self), FALSE);
  g_return_val_if_fail (instance_id != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (guint i = 0; i < self->instances->len; i++)
    {
      HgdPluginInstance *instance = g_ptr_array_index (self->instances, i);
      if (g_strcmp0 (hgd_plugin_instance_get_id (instance), instance_id) == 0)
        return hgd_plugin_instance_restart (instance, error);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no plugin instance '%s'", instance_id);
  return FALSE;
}

static void
hgd_plugin_manager_dispose (GObject *object)
{
  HgdPluginManager *self = HGD_PLUGIN_MANAGER (object);

  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      if (self->appended_ids[i] != 0)
        g_clear_signal_handler (&self->appended_ids[i], self->journals[i]);
      g_clear_object (&self->journals[i]);
    }
  if (self->instances != NULL)
    {
      for (guint i = 0; i < self->instances->len; i++)
        g_signal_handlers_disconnect_by_data (g_ptr_array_index (self->instances, i), self);
    }
  g_clear_pointer (&self->instances, g_ptr_array_unref);
  if (self->start_task != NULL)
    {
      g_autoptr(GTask) task = g_steal_pointer (&self->start_task);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "%s", "plugin manager disposed");
    }
  g_clear_object (&self->alarms);
  g_clear_object (&self->secrets);
  g_clear_object (&self->config);
  G_OBJECT_CLASS (hgd_plugin_manager_parent_class)->dispose (object);
}

static void
hgd_plugin_manager_class_init (HgdPluginManagerClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = hgd_plugin_manager_dispose;
}

static void
hgd_plugin_manager_init (HgdPluginManager *self)
{
  self->instances = g_ptr_array_new_with_free_func (g_object_unref);
}

/**
 * hgd_plugin_manager_new:
 * @config: the daemon's configuration
 * @journals: %HG_DOMAIN_LAST journals; an entry is %NULL when that journal failed to open
 * @alarms: the alarms
 * @secrets: the secrets
 *
 * Reads every `[plugin:<id>]` group and its manifest; nothing is spawned yet.
 *
 * Returns: (transfer full): the manager
 */
HgdPluginManager *
hgd_plugin_manager_new (HgdConfig *config,
                        HgdJournal *const *journals,
                        HgdAlarms *alarms,
                        HgdSecrets *secrets)
{
  HgdPluginManager *self;
  g_auto(GStrv) ids = NULL;

  g_return_val_if_fail (HGD_IS_CONFIG (config), NULL);
  g_return_val_if_fail (journals != NULL, NULL);
  g_return_val_if_fail (HGD_IS_ALARMS (alarms), NULL);
  g_return_val_if_fail (HGD_IS_SECRETS (secrets), NULL);

  self = g_object_new (HGD_TYPE_PLUGIN_MANAGER, NULL);
  self->config = g_object_ref (config);
  self->alarms = g_object_ref (alarms);
  self->secrets = g_object_ref (secrets);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      if (journals[i] == NULL)
        continue;
      self->journals[i] = g_object_ref (journals[i]);
      self->appended_ids[i] = g_signal_connect (journals[i], "event-appended",
                                                G_CALLBACK (event_appended_cb), self);
    }

  ids = hgd_config_get_plugin_instances (config);
  for (guint i = 0; ids[i] != NULL; i++)
    {
      HgdPluginInstance *instance = hgd_plugin_instance_new (config, ids[i], journals, alarms, secrets);

      g_signal_connect (instance, "notify::state", G_CALLBACK (instance_state_cb), self);
      g_ptr_array_add (self->instances, instance);
    }
  return self;
}
