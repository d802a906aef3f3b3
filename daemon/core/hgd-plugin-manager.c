/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdPluginManager: one HgdPluginInstance per [plugin:<id>] group. It starts and stops
 * them together, and hands every journaled event to each instance, which decides from
 * its grant whether its plugin may see it. One plugin failing never fails the daemon:
 * start completes once every enabled instance is running or has failed, and its
 * health shows in hgd_plugin_manager_to_json(). An it-admin may disable an instance
 * through the API: it stays stopped, across restarts of the daemon too, until enabled
 * again (plugins.state in the municipal state directory). */
#include "config.h"

#include "hg-event-private.h"
#include "hgd-bundles.h"
#include "hgd-plugin-instance.h"
#include "hgd-plugin-manager.h"

#define STATE_FILE "plugins.state"
/* it-admin's choice of alarm delivery instances, over hemgate.conf's [alarms] */
#define ROUTING_FILE "alarm-delivery"

struct _HgdPluginManager
{
  GObject parent_instance;
  HgdConfig *config;                    /* (owned) */
  HgdJournal *journals[HG_DOMAIN_LAST]; /* (owned) (nullable) each */
  gulong appended_ids[HG_DOMAIN_LAST];
  HgdAlarms *alarms;                    /* (owned) */
  HgdSecrets *secrets;                  /* (owned) */
  HgdLimits *limits;                    /* (owned) each domain's share of the machine */
  HgdChannels *channels;                /* (owned) API clients' channels to instances */
  GPtrArray *instances;                 /* (owned) (element-type HgdPluginInstance) */
  GTask *start_task;                    /* (owned) (nullable) until every instance settled */
  gchar *state_path;                    /* (owned) (nullable) STATE_FILE, once loaded */
  GKeyFile *state;                      /* (owned) [plugin:<id>] disabled, by, at */
  HgdBundles *bundles;                  /* (owned) (nullable) the plugins installed from
                                         * bundles, once the state is loaded */
  HgdGrants *grants;                    /* (owned) (nullable) what crosses to other domains */
  HgdAccessLog *access_log;             /* (owned) (nullable) */
  GHashTable *shared_logged;            /* (owned) "<actor> <object>" -> the hour + 1 logged */
  HgdAlarmRouting *routing;             /* (owned) which delivery instance takes which alarm */
};

G_DEFINE_TYPE (HgdPluginManager, hgd_plugin_manager, G_TYPE_OBJECT)

/* A personal reading sent to a municipal plugin under a share-readings grant is a read of
 * personal data, in the resident's access log: once per plugin instance, device and hour
 * of the clock (not per reading, which would bury the log), as `read.personal` by
 * `plugin:<id>` of `sensor:<device>`. */
static void
log_shared (HgdPluginManager *self,
            HgdPluginInstance *instance,
            HgEvent *event,
            gint64 now)
{
  const gchar *device = json_object_get_string_member_with_default (hg_event_get_body (event), "device", NULL);
  g_autofree gchar *actor = g_strdup_printf ("plugin:%s", hgd_plugin_instance_get_id (instance));
  g_autofree gchar *object = device != NULL ? g_strdup_printf ("sensor:%s", device)
                                            : g_strdup_printf ("event:%s", hg_event_get_event_type (event));
  g_autofree gchar *key = g_strdup_printf ("%s %s", actor, object);
  gint64 hour = now / (G_USEC_PER_SEC * G_GINT64_CONSTANT (3600)) + 1;
  g_autoptr(JsonObject) detail = json_object_new ();

  if (self->access_log == NULL)
    return;
  if (GPOINTER_TO_SIZE (g_hash_table_lookup (self->shared_logged, key)) == (gsize) hour)
    return;
  g_hash_table_insert (self->shared_logged, g_steal_pointer (&key), GSIZE_TO_POINTER ((gsize) hour));
  json_object_set_string_member (detail, "domain", hg_domain_to_string (hgd_plugin_instance_get_domain (instance)));
  json_object_set_string_member (detail, "via", "plugin");
  hgd_access_log_record (self->access_log, HG_DOMAIN_PERSONAL, actor, "read.personal", object, detail);
}

static void
event_appended_cb (HgdJournal *journal,
                   HgEvent *event,
                   HgdPluginManager *self)
{
  gint64 now = g_get_real_time ();
  /* with providers side by side, an alarm goes to one of them (hgd-alarm-routing.c) */
  gboolean routed = hg_event_get_domain (event) == HG_DOMAIN_MUNICIPAL
                    && g_str_has_prefix (hg_event_get_event_type (event), "alarm.");

  for (guint i = 0; i < self->instances->len; i++)
    {
      HgdPluginInstance *instance = g_ptr_array_index (self->instances, i);

      if (!routed || !hgd_plugin_instance_delivers_alarms (instance)
          || hgd_plugin_instance_get_state (instance) != HGD_PLUGIN_STATE_RUNNING
          || hgd_alarm_routing_takes_event (self->routing, hgd_plugin_instance_get_id (instance),
                                            event))
        hgd_plugin_instance_offer_event (instance, event);
      /* what of the other domain a consent grant lets through: hgd-grants.c decides */
      if (self->grants != NULL &&
          hgd_grants_plugin_event_visible (self->grants, hgd_plugin_instance_get_domain (instance), event, now) &&
          hgd_plugin_instance_offer_shared_event (instance, event))
        log_shared (self, instance, event, now);
    }
  if (routed)
    hgd_alarm_routing_event_offered (self->routing, event);
}

static gchar *
state_group (const gchar *instance_id)
{
  return g_strconcat ("plugin:", instance_id, NULL);
}

/* Disabled by an it-admin through the API (not `enabled = false` in hemgate.conf). */
static gboolean
is_admin_disabled (HgdPluginManager *self,
                   HgdPluginInstance *instance)
{
  g_autofree gchar *group = state_group (hgd_plugin_instance_get_id (instance));
  return g_key_file_get_boolean (self->state, group, "disabled", NULL);
}

/* Settled: running, or given up on for now (failed, backing off, disabled). */
static gboolean
all_settled (HgdPluginManager *self)
{
  for (guint i = 0; i < self->instances->len; i++)
    {
      HgdPluginInstance *instance = g_ptr_array_index (self->instances, i);
      HgdPluginState state = hgd_plugin_instance_get_state (instance);
      if (is_admin_disabled (self, instance))
        continue;
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

/* Whether a delivery instance is there to take its alarms. */
static gboolean
instance_alive (const gchar *instance_id,
                gpointer user_data)
{
  HgdPluginManager *self = user_data;
  HgdPluginInstance *instance = hgd_plugin_manager_find (self, instance_id);
  HgdPluginState state
      = instance != NULL ? hgd_plugin_instance_get_state (instance) : HGD_PLUGIN_STATE_STOPPED;

  return instance != NULL && hgd_plugin_instance_delivers_alarms (instance)
         && (state == HGD_PLUGIN_STATE_RUNNING || state == HGD_PLUGIN_STATE_STARTING);
}

/* A delivery instance that stopped (or crashed, or was disabled or removed) hands the
 * open alarms bound to it to the one routed now, or to any that runs. */
static void
release_alarms (HgdPluginManager *self,
                HgdPluginInstance *gone)
{
  g_auto(GStrv) references
      = hgd_alarm_routing_release (self->routing, hgd_plugin_instance_get_id (gone));

  if (references[0] == NULL)
    return;
  g_message ("plugin %s no longer delivers; its %u open alarms go to the delivery instance "
             "routed now",
             hgd_plugin_instance_get_id (gone), g_strv_length (references));
  for (guint i = 0; i < self->instances->len; i++)
    {
      HgdPluginInstance *instance = g_ptr_array_index (self->instances, i);

      if (instance != gone)
        hgd_plugin_instance_reoffer_alarms (instance, (const gchar *const *) references);
    }
}

static void
instance_state_cb (HgdPluginInstance *instance,
                   GParamSpec *pspec,
                   HgdPluginManager *self)
{
  if (hgd_plugin_instance_delivers_alarms (instance)
      && !instance_alive (hgd_plugin_instance_get_id (instance), self))
    release_alarms (self, instance);
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
    {
      HgdPluginInstance *instance = g_ptr_array_index (self->instances, i);
      if (is_admin_disabled (self, instance))
        g_message ("plugin %s is disabled by an administrator; not started",
                   hgd_plugin_instance_get_id (instance));
      else
        hgd_plugin_instance_start (instance);
    }
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
 * An instance an it-admin disabled is not counted against @healthy; it has state
 * `disabled` once its host is gone, and `disabled_by` and `disabled_at` (else null).
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
      JsonObject *object = hgd_plugin_instance_to_json (instance);
      HgdPluginState state = hgd_plugin_instance_get_state (instance);
      g_autofree gchar *group = state_group (hgd_plugin_instance_get_id (instance));
      g_autofree gchar *by = g_key_file_get_string (self->state, group, "by", NULL);
      g_autofree gchar *at = g_key_file_get_string (self->state, group, "at", NULL);

      if (is_admin_disabled (self, instance))
        {
          if (state == HGD_PLUGIN_STATE_STOPPED)
            json_object_set_string_member (object, "state", "disabled");
          json_object_set_string_member (object, "disabled_by", by != NULL ? by : "");
          json_object_set_string_member (object, "disabled_at", at != NULL ? at : "");
        }
      else
        {
          json_object_set_null_member (object, "disabled_by");
          json_object_set_null_member (object, "disabled_at");
          if (hgd_plugin_instance_is_enabled (instance) && state != HGD_PLUGIN_STATE_RUNNING)
            all_running = FALSE;
        }
      json_array_add_object_element (array, object);
    }
  if (healthy != NULL)
    *healthy = all_running;
  return array;
}

/**
 * hgd_plugin_manager_to_json_for_domain:
 * @self: an #HgdPluginManager
 * @domain: the domain of the caller who will see it
 * @healthy: (out) (optional): as for hgd_plugin_manager_to_json(), over every instance
 *
 * What a caller of @domain may see of the plugin instances; the one place the core keeps
 * the instances of the other domain out of sight. A personal instance is the resident's
 * own: its broker, its grant and errors, when it restarts tell about the home, so a
 * municipal caller sees only how many there are and whether they run. In full, as in
 * hgd_plugin_manager_to_json(): the instances of @domain, and those whose domain is not
 * known (a configuration error, for municipal IT to fix) when @domain is municipal.
 *
 * Returns: (transfer full): {"plugins": [...], "<other domain>_plugins": {"instances",
 *   "running", "status"}}, `status` being `ok` unless an enabled instance does not run
 */
JsonObject *
hgd_plugin_manager_to_json_for_domain (HgdPluginManager *self,
                                       HgDomain domain,
                                       gboolean *healthy)
{
  g_autoptr(JsonArray) all = NULL;
  g_autofree gchar *summary_name = NULL;
  JsonObject *object = json_object_new ();
  JsonObject *summary = json_object_new ();
  JsonArray *visible = json_array_new ();
  HgDomain other = domain == HG_DOMAIN_MUNICIPAL ? HG_DOMAIN_PERSONAL : HG_DOMAIN_MUNICIPAL;
  gint64 n_other = 0;
  gint64 n_running = 0;
  gboolean other_ok = TRUE;

  all = hgd_plugin_manager_to_json (self, healthy);
  for (guint i = 0; i < json_array_get_length (all); i++)
    {
      JsonObject *instance = json_array_get_object_element (all, i);
      const gchar *instance_domain = NULL;
      const gchar *state = NULL;

      if (!hg_json_object_get_optional_string (instance, "domain", &instance_domain, NULL))
        instance_domain = NULL;
      if (g_strcmp0 (instance_domain, hg_domain_to_string (other)) != 0
          && (instance_domain != NULL || domain == HG_DOMAIN_MUNICIPAL))
        {
          json_array_add_object_element (visible, json_object_ref (instance));
          continue;
        }
      n_other++;
      if (!hg_json_object_get_optional_string (instance, "state", &state, NULL))
        state = NULL;
      if (g_strcmp0 (state, "running") == 0)
        n_running++;
      else if (g_strcmp0 (state, "disabled") != 0)
        other_ok = FALSE;
    }
  json_object_set_array_member (object, "plugins", visible);
  json_object_set_int_member (summary, "instances", n_other);
  json_object_set_int_member (summary, "running", n_running);
  json_object_set_string_member (summary, "status", other_ok ? "ok" : "fault");
  summary_name = g_strdup_printf ("%s_plugins", hg_domain_to_string (other));
  json_object_set_object_member (object, summary_name, summary);
  return object;
}

/**
 * hgd_plugin_manager_check_health:
 * @self: an #HgdPluginManager
 * @missing: where the secrets that instances outside the personal domain asked for and
 *   lack are appended, "plugin ID: no secret 'KEY'", "; " between them
 *
 * What GET /api/v1/health needs of the plugins, without their JSON (which reads each
 * host's pid and health): the healthy of hgd_plugin_manager_to_json (), and the
 * "missing_secrets" of the instances hgd_plugin_manager_to_json_for_domain () shows the
 * municipal domain, in the same order.
 *
 * Returns: %TRUE if every enabled instance that an administrator did not disable runs
 */
gboolean
hgd_plugin_manager_check_health (HgdPluginManager *self,
                                 GString *missing)
{
  gboolean all_running = TRUE;

  g_return_val_if_fail (HGD_IS_PLUGIN_MANAGER (self), FALSE);
  g_return_val_if_fail (missing != NULL, FALSE);

  for (guint i = 0; i < self->instances->len; i++)
    {
      HgdPluginInstance *instance = g_ptr_array_index (self->instances, i);
      g_auto(GStrv) keys = NULL;

      if (!is_admin_disabled (self, instance) && hgd_plugin_instance_is_enabled (instance) &&
          hgd_plugin_instance_get_state (instance) != HGD_PLUGIN_STATE_RUNNING)
        all_running = FALSE;
      if (hgd_plugin_instance_is_in_domain (instance, HG_DOMAIN_PERSONAL))
        continue;
      keys = hgd_plugin_instance_dup_missing_secrets (instance);
      for (guint j = 0; keys != NULL && keys[j] != NULL; j++)
        g_string_append_printf (missing, "%splugin %s: no secret '%s'",
                                missing->len > 0 ? "; " : "",
                                hgd_plugin_instance_get_id (instance), keys[j]);
    }
  return all_running;
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
      if (g_strcmp0 (hgd_plugin_instance_get_id (instance), instance_id) != 0)
        continue;
      if (is_admin_disabled (self, instance))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       "plugin %s is disabled; enable it first", instance_id);
          return FALSE;
        }
      return hgd_plugin_instance_restart (instance, error);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no plugin instance '%s'", instance_id);
  return FALSE;
}

/**
 * hgd_plugin_manager_find:
 * @self: an #HgdPluginManager
 * @instance_id: a plugin instance id
 *
 * Returns: (transfer none) (nullable): the instance
 */
HgdPluginInstance *
hgd_plugin_manager_find (HgdPluginManager *self,
                         const gchar *instance_id)
{
  for (guint i = 0; i < self->instances->len; i++)
    {
      HgdPluginInstance *instance = g_ptr_array_index (self->instances, i);
      if (g_strcmp0 (hgd_plugin_instance_get_id (instance), instance_id) == 0)
        return instance;
    }
  return NULL;
}

/**
 * hgd_plugin_manager_dup_delivery_fault:
 * @self: an #HgdPluginManager
 *
 * Alarms must never be silently undeliverable: when instances with alarm.deliver are
 * configured (enabled in hemgate.conf) and none of them is running, e.g. because the last
 * one was disabled, this is the fault that health reports. While one runs, what a running
 * one says (hgd_plugin_instance_dup_delivery_fault (): a host that does not answer, a
 * silent alarm centre, a failed delivery) is the fault, unless another running one has
 * none: alarms then still leave through that one. But when [alarms] routes new alarms to
 * a running instance (hgd-alarm-routing.c), they leave through that one only, and its
 * fault is the fault whatever the others say.
 *
 * Returns: (transfer full) (nullable): the fault, or %NULL
 */
gchar *
hgd_plugin_manager_dup_delivery_fault (HgdPluginManager *self)
{
  g_autofree gchar *fault = NULL;
  guint configured = 0;
  gboolean running = FALSE;

  g_return_val_if_fail (HGD_IS_PLUGIN_MANAGER (self), NULL);

  /* where new social and technical alarms go */
  for (guint i = 0; i < 2; i++)
    {
      const gchar *route
          = hgd_alarm_routing_get_route (self->routing, i == 0 ? "assistance" : "technical");
      HgdPluginInstance *routed = route != NULL ? hgd_plugin_manager_find (self, route) : NULL;

      if (routed != NULL && hgd_plugin_instance_delivers_alarms (routed)
          && hgd_plugin_instance_get_state (routed) == HGD_PLUGIN_STATE_RUNNING
          && (fault = hgd_plugin_instance_dup_delivery_fault (routed)) != NULL)
        return g_steal_pointer (&fault);
    }
  for (guint i = 0; i < self->instances->len; i++)
    {
      HgdPluginInstance *instance = g_ptr_array_index (self->instances, i);
      g_autofree gchar *instance_fault = NULL;

      if (!hgd_plugin_instance_is_enabled (instance) || !hgd_plugin_instance_delivers_alarms (instance))
        continue;
      configured++;
      if (hgd_plugin_instance_get_state (instance) != HGD_PLUGIN_STATE_RUNNING)
        continue;
      running = TRUE;
      instance_fault = hgd_plugin_instance_dup_delivery_fault (instance);
      if (instance_fault == NULL)
        return NULL;
      if (fault == NULL)
        fault = g_steal_pointer (&instance_fault);
    }
  if (running)
    return g_steal_pointer (&fault);
  return configured > 0 ? g_strdup ("no alarm delivery plugin running") : NULL;
}

/**
 * hgd_plugin_manager_restart_domain:
 * @self: an #HgdPluginManager
 * @domain: whose instances
 *
 * Restarts every instance of @domain that runs or is starting (not those disabled by
 * municipal IT, nor those that failed), e.g. after the personal domain's data was erased,
 * so that its plugins start again from nothing.
 *
 * Returns: how many were restarted
 */
guint
hgd_plugin_manager_restart_domain (HgdPluginManager *self,
                                   HgDomain domain)
{
  guint n_restarted = 0;

  g_return_val_if_fail (HGD_IS_PLUGIN_MANAGER (self), 0);

  for (guint i = 0; i < self->instances->len; i++)
    {
      HgdPluginInstance *instance = g_ptr_array_index (self->instances, i);
      g_autoptr(JsonObject) object = hgd_plugin_instance_to_json (instance);
      const gchar *name = json_object_get_string_member_with_default (object, "domain", NULL);
      HgdPluginState state = hgd_plugin_instance_get_state (instance);
      g_autoptr(GError) error = NULL;

      if (g_strcmp0 (name, hg_domain_to_string (domain)) != 0 || is_admin_disabled (self, instance))
        continue;
      if (state != HGD_PLUGIN_STATE_RUNNING && state != HGD_PLUGIN_STATE_STARTING)
        continue;
      if (hgd_plugin_instance_restart (instance, &error))
        n_restarted++;
      else
        g_warning ("cannot restart plugin %s: %s", hgd_plugin_instance_get_id (instance),
                   error->message);
    }
  return n_restarted;
}

/**
 * hgd_plugin_manager_load_state:
 * @self: an #HgdPluginManager
 * @dir: the municipal state directory
 *
 * Reads which instances an it-admin disabled; before hgd_plugin_manager_start_async().
 * A file that cannot be read is logged and leaves every instance enabled.
 */
void
hgd_plugin_manager_load_state (HgdPluginManager *self,
                               const gchar *dir)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (HGD_IS_PLUGIN_MANAGER (self));
  g_return_if_fail (dir != NULL);

  g_free (self->state_path);
  self->state_path = g_build_filename (dir, STATE_FILE, NULL);
  if (!g_key_file_load_from_file (self->state, self->state_path, G_KEY_FILE_KEEP_COMMENTS, &error)
      && !g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    g_warning ("cannot read %s, every plugin instance is enabled: %s", self->state_path,
               error->message);
  {
    g_autofree gchar *routing_path = g_build_filename (dir, ROUTING_FILE, NULL);
    hgd_alarm_routing_load_state (self->routing, routing_path);
  }
  /* the plugins installed from bundles: an install cut short is undone first */
  if (self->bundles == NULL)
    {
      g_autofree gchar *state_root = g_path_get_dirname (dir);

      self->bundles = hgd_bundles_new (self, self->config, self->journals, state_root);
      hgd_bundles_load (self->bundles);
    }
}

/**
 * hgd_plugin_manager_get_alarm_routing:
 * @self: an #HgdPluginManager
 *
 * Returns: (transfer none): which delivery instance takes which alarm
 */
HgdAlarmRouting *
hgd_plugin_manager_get_alarm_routing (HgdPluginManager *self)
{
  g_return_val_if_fail (HGD_IS_PLUGIN_MANAGER (self), NULL);
  return self->routing;
}

/**
 * hgd_plugin_manager_get_bundles:
 * @self: an #HgdPluginManager
 *
 * Returns: (transfer none) (nullable): the installer of bundles, once
 *   hgd_plugin_manager_load_state() ran
 */
HgdBundles *
hgd_plugin_manager_get_bundles (HgdPluginManager *self)
{
  g_return_val_if_fail (HGD_IS_PLUGIN_MANAGER (self), NULL);
  return self->bundles;
}

/**
 * hgd_plugin_manager_add_installed:
 * @self: an #HgdPluginManager
 * @instance_id: the plugin's id
 * @domain: the domain it is installed in
 * @link: the link to its current version's folder
 *
 * Adds an instance of a plugin installed from a bundle; not started.
 *
 * Returns: (transfer none): the instance
 */
HgdPluginInstance *
hgd_plugin_manager_add_installed (HgdPluginManager *self,
                                  const gchar *instance_id,
                                  HgDomain domain,
                                  const gchar *link)
{
  HgdPluginInstance *instance;

  g_return_val_if_fail (HGD_IS_PLUGIN_MANAGER (self), NULL);
  g_return_val_if_fail (hgd_plugin_manager_find (self, instance_id) == NULL, NULL);

  instance = hgd_plugin_instance_new_installed (self->config, instance_id, domain, link,
                                                self->journals, self->alarms, self->secrets);
  hgd_plugin_instance_set_limits (instance, self->limits);
  hgd_plugin_instance_set_alarm_routing (instance, self->routing);
  hgd_plugin_instance_set_channels (instance, self->channels);
  g_signal_connect (instance, "notify::state", G_CALLBACK (instance_state_cb), self);
  g_ptr_array_add (self->instances, instance);
  return instance;
}

/**
 * hgd_plugin_manager_remove_installed:
 * @self: an #HgdPluginManager
 * @instance: a stopped instance of hgd_plugin_manager_add_installed()
 *
 * Forgets @instance, e.g. once its bundle is removed.
 */
void
hgd_plugin_manager_remove_installed (HgdPluginManager *self,
                                     HgdPluginInstance *instance)
{
  g_return_if_fail (HGD_IS_PLUGIN_MANAGER (self));
  g_return_if_fail (hgd_plugin_instance_get_installed_link (instance) != NULL);

  g_signal_handlers_disconnect_by_data (instance, self);
  g_object_ref (instance);
  g_ptr_array_remove (self->instances, instance);
  if (hgd_plugin_instance_delivers_alarms (instance))
    release_alarms (self, instance);
  g_object_unref (instance);
}

static gboolean
save_state (HgdPluginManager *self,
            GError **error)
{
  g_autofree gchar *data = NULL;
  gsize length = 0;

  if (self->state_path == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED, "%s",
                   "the plugin state file is not loaded");
      return FALSE;
    }
  data = g_key_file_to_data (self->state, &length, NULL);
  return g_file_set_contents_full (self->state_path, data, (gssize) length,
                                   G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                   0600, error);
}

typedef struct
{
  HgdPluginInstance *instance; /* (owned) */
  gboolean disable;
  gchar *who;                  /* (owned) */
} SetDisabledData;

static void
set_disabled_data_free (SetDisabledData *data)
{
  g_clear_object (&data->instance);
  g_free (data->who);
  g_free (data);
}

static void
disabled_event_journaled_cb (GObject *source,
                             GAsyncResult *result,
                             gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!hgd_journal_append_finish (HGD_JOURNAL (source), result, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

/* Journals plugin.disabled or plugin.enabled in the instance's own domain, as the other
 * plugin.* events, with who did it. Takes @task. */
static void
journal_change (GTask *task)
{
  HgdPluginManager *self = g_task_get_source_object (task);
  SetDisabledData *data = g_task_get_task_data (task);
  g_autoptr(JsonObject) object = hgd_plugin_instance_to_json (data->instance);
  const gchar *domain_name = json_object_get_string_member_with_default (object, "domain", NULL);
  HgDomain domain = HG_DOMAIN_MUNICIPAL;
  g_autoptr(HgEvent) event = NULL;
  JsonObject *body = json_object_new ();
  HgdJournal *journal;

  if (domain_name != NULL && !hg_domain_from_string (domain_name, &domain))
    domain = HG_DOMAIN_MUNICIPAL;
  journal = self->journals[domain] != NULL ? self->journals[domain] : self->journals[HG_DOMAIN_MUNICIPAL];
  json_object_set_string_member (body, "plugin", hgd_plugin_instance_get_id (data->instance));
  json_object_set_string_member (body, "who", data->who);
  event = hg_event_new (data->disable ? "plugin.disabled" : "plugin.enabled", body);
  json_object_unref (body);
  hg_event_set_source (event, data->who);
  if (journal == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s",
                               "no journal to record the change in");
      g_object_unref (task);
      return;
    }
  hgd_journal_append_async (journal, event, NULL, g_task_get_cancellable (task),
                            disabled_event_journaled_cb, task);
}

static void
instance_stopped_for_change_cb (GObject *source,
                                GAsyncResult *result,
                                gpointer user_data)
{
  GTask *task = user_data;
  HgdPluginManager *self = g_task_get_source_object (task);
  SetDisabledData *data = g_task_get_task_data (task);

  hgd_plugin_instance_stop_finish (HGD_PLUGIN_INSTANCE (source), result, NULL);
  /* enabled: start it again, unless it was disabled again meanwhile */
  if (!data->disable && !is_admin_disabled (self, data->instance))
    hgd_plugin_instance_start (data->instance);
  journal_change (task);
}

/**
 * hgd_plugin_manager_set_disabled_async:
 * @self: an #HgdPluginManager
 * @instance_id: a plugin instance id
 * @disable: %TRUE to disable, %FALSE to enable
 * @who: who asks, e.g. `user:admin`, for the journal
 * @cancellable: (nullable): a #GCancellable
 * @callback: called once the host has stopped (or begun to start) and the change is
 *   journaled
 * @user_data: data for @callback
 *
 * For the admin API: disabling stops the instance's host (PluginHost1.Stop, then
 * signals) and keeps it stopped, across restarts of the daemon, until it is enabled;
 * enabling starts it. The choice is on disk before the host is touched. Fails with
 * %G_IO_ERROR_NOT_FOUND for an unknown instance and %G_IO_ERROR_NOT_SUPPORTED for one
 * disabled in hemgate.conf. Asking for the state it already has changes and journals
 * nothing.
 */
void
hgd_plugin_manager_set_disabled_async (HgdPluginManager *self,
                                       const gchar *instance_id,
                                       gboolean disable,
                                       const gchar *who,
                                       GCancellable *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *group = NULL;
  HgdPluginInstance *instance;
  SetDisabledData *data;

  g_return_if_fail (HGD_IS_PLUGIN_MANAGER (self));
  g_return_if_fail (instance_id != NULL);
  g_return_if_fail (who != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hgd_plugin_manager_set_disabled_async);
  instance = hgd_plugin_manager_find (self, instance_id);
  if (instance == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no plugin instance '%s'",
                               instance_id);
      return;
    }
  if (!hgd_plugin_instance_is_enabled (instance))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               "plugin %s is disabled in the configuration", instance_id);
      return;
    }
  if (is_admin_disabled (self, instance) == disable)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  group = state_group (instance_id);
  if (disable)
    {
      g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
      g_autofree gchar *at = g_date_time_format_iso8601 (now);

      g_key_file_set_boolean (self->state, group, "disabled", TRUE);
      g_key_file_set_string (self->state, group, "by", who);
      g_key_file_set_string (self->state, group, "at", at);
    }
  else
    g_key_file_remove_group (self->state, group, NULL);
  if (!save_state (self, &error))
    {
      /* as it was: what is not on disk would not hold across a restart */
      if (disable)
        g_key_file_remove_group (self->state, group, NULL);
      else
        g_key_file_set_boolean (self->state, group, "disabled", TRUE);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_message ("plugin %s %s by %s", instance_id, disable ? "disabled" : "enabled", who);
  data = g_new0 (SetDisabledData, 1);
  data->instance = g_object_ref (instance);
  data->disable = disable;
  data->who = g_strdup (who);
  g_task_set_task_data (task, data, (GDestroyNotify) set_disabled_data_free);
  /* enabling stops too: a host still stopping from a disable is waited for */
  hgd_plugin_instance_stop_async (instance, NULL, instance_stopped_for_change_cb,
                                  g_steal_pointer (&task));
}

gboolean
hgd_plugin_manager_set_disabled_finish (HgdPluginManager *self,
                                        GAsyncResult *result,
                                        GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
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
  g_clear_object (&self->bundles);
  /* the channels hold their instances */
  if (self->channels != NULL)
    hgd_channels_close_all (self->channels);
  g_clear_object (&self->channels);
  g_clear_pointer (&self->instances, g_ptr_array_unref);
  if (self->start_task != NULL)
    {
      g_autoptr(GTask) task = g_steal_pointer (&self->start_task);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "%s", "plugin manager disposed");
    }
  g_clear_object (&self->alarms);
  g_clear_object (&self->secrets);
  g_clear_object (&self->limits);
  if (self->routing != NULL)
    hgd_alarm_routing_set_alive_func (self->routing, NULL, NULL);
  g_clear_object (&self->routing);
  g_clear_object (&self->grants);
  g_clear_object (&self->access_log);
  g_clear_pointer (&self->shared_logged, g_hash_table_unref);
  g_clear_object (&self->config);
  g_clear_pointer (&self->state, g_key_file_unref);
  g_clear_pointer (&self->state_path, g_free);
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
  self->state = g_key_file_new ();
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
  self->limits = hgd_limits_new (config);
  self->routing = hgd_alarm_routing_new (config);
  hgd_alarm_routing_set_alive_func (self->routing, instance_alive, self);
  self->channels = hgd_channels_new (journals);
  self->shared_logged = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
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

      hgd_plugin_instance_set_limits (instance, self->limits);
      hgd_plugin_instance_set_alarm_routing (instance, self->routing);
      hgd_plugin_instance_set_channels (instance, self->channels);
      g_signal_connect (instance, "notify::state", G_CALLBACK (instance_state_cb), self);
      g_ptr_array_add (self->instances, instance);
    }
  return self;
}

/**
 * hgd_plugin_manager_get_channels:
 * @self: the manager
 *
 * Returns: (transfer none): the channels of API clients to its instances
 */
HgdChannels *
hgd_plugin_manager_get_channels (HgdPluginManager *self)
{
  g_return_val_if_fail (HGD_IS_PLUGIN_MANAGER (self), NULL);
  return self->channels;
}

/**
 * hgd_plugin_manager_get_limits:
 * @self: the manager
 *
 * Returns: (transfer none): the per-domain limits its plugin hosts run under
 */
HgdLimits *
hgd_plugin_manager_get_limits (HgdPluginManager *self)
{
  g_return_val_if_fail (HGD_IS_PLUGIN_MANAGER (self), NULL);
  return self->limits;
}

/**
 * hgd_plugin_manager_secret_changed:
 * @self: an #HgdPluginManager
 * @instance_id: the instance whose secret was set or removed
 * @key: the secret's key
 *
 * Tells the instance, if it runs, so that it reads the secret again without a restart.
 */
void
hgd_plugin_manager_secret_changed (HgdPluginManager *self,
                                   const gchar *instance_id,
                                   const gchar *key)
{
  HgdPluginInstance *instance;

  g_return_if_fail (HGD_IS_PLUGIN_MANAGER (self));
  g_return_if_fail (instance_id != NULL);
  g_return_if_fail (key != NULL);

  instance = hgd_plugin_manager_find (self, instance_id);
  if (instance != NULL)
    hgd_plugin_instance_secret_changed (instance, key);
}

/**
 * hgd_plugin_manager_set_grants:
 * @self: the plugin manager
 * @grants: the resident's consent grants
 * @access_log: the access log, for the reads the grants let through
 *
 * Lets the events of the personal domain that @grants share reach municipal plugins
 * (hgd_grants_plugin_event_visible ()), each such read logged in @access_log. Without
 * this, no plugin is sent anything of the other domain.
 */
void
hgd_plugin_manager_set_grants (HgdPluginManager *self,
                               HgdGrants *grants,
                               HgdAccessLog *access_log)
{
  g_return_if_fail (HGD_IS_PLUGIN_MANAGER (self));
  g_return_if_fail (HGD_IS_GRANTS (grants));
  g_return_if_fail (HGD_IS_ACCESS_LOG (access_log));

  g_set_object (&self->grants, grants);
  g_set_object (&self->access_log, access_log);
  /* and a channel's purpose may need a consent (night-check) */
  hgd_channels_set_grants (self->channels, grants);
}
