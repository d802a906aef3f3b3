/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdFleet: a gateway in a fleet (data/fleet-format.md). It connects to the broker of
 * `[fleet]` with TLS and its own client certificate (the key from the secret store, owner
 * core), follows `PREFIX/manifest`, and applies each signed deployment manifest that is
 * newer than the one applied, through the same install, health check and rollback as
 * `POST /api/v1/bundles` (HgdBundles). The bundles a manifest names are retained messages
 * on `PREFIX/bundles/DIGEST`. What the gateway runs, and the outcome, go retained to
 * `PREFIX/status/GATEWAY-ID`. Nothing hemgate-specific runs on the broker.
 *
 * libmosquitto runs its own network thread (mosquitto_loop_start), which reconnects by
 * itself; its callbacks only copy what arrived and hand it to the main context, where
 * everything else happens. Publishing and subscribing are safe from any thread. */
#include "config.h"

#include "hgd-fleet.h"

#include <errno.h>
#include <mosquitto.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hgd-bundle.h"
#include "hgd-bundles.h"
#include "hgd-fleet-manifest.h"
#include "hgd-plugin-instance.h"

#define STATE_FILE "fleet.state"
#define POLL_MS 200
#define KEEPALIVE 60
#define REFRESH_MAX 300 /* times POLL_MS: a minute */

struct _HgdFleet
{
  GObject parent_instance;
  HgdConfig *config;          /* (owned) */
  HgdPluginManager *plugins;  /* (owned) */
  HgdSecrets *secrets;        /* (owned) (nullable) */
  HgdJournal *journal;        /* (owned) (nullable) the municipal journal */
  gchar *state_path;          /* (owned) */
  gchar *gateway_id;          /* (owned) */
  GStrv groups;               /* (owned) */
  gchar *prefix;              /* (owned) */
  GMainContext *context;      /* (owned) */
  GCancellable *cancellable;  /* (owned) */
  struct mosquitto *mosq;     /* (owned) (nullable) */
  int key_fd;                 /* a memfd holding the client key, or -1 */
  gboolean running;           /* between start and stop: messages are handled */

  /* what was applied (kept in STATE_FILE) */
  gint64 serial;
  gchar *digest;  /* (owned) (nullable) of the manifest applied */
  gchar *outcome; /* (owned) none, converged, rolled-back, failed */
  gchar *error;   /* (owned) (nullable) why not converged */
  gchar *refused; /* (owned) (nullable) the last refusal: JSON {"code","message","serial"} */

  /* the manifest being applied */
  HgdFleetManifest *applying; /* (owned) (nullable) */
  HgdFleetManifest *next;     /* (owned) (nullable) arrived while applying */
  guint plugin_index;
  gchar *waiting_topic; /* (owned) (nullable) the bundle topic subscribed to */
  guint bundle_timeout_id;
  gchar *job_id; /* (owned) (nullable) */
  guint poll_id;
  gboolean config_replaced;      /* the install under way stored the manifest's config ... */
  GHashTable *previous_config;   /* (owned) (nullable) ... over this one */
  gchar *previous_config_digest; /* (owned) (nullable) */
  HgdPluginInstance *restarting; /* (nullable) restarted with a new config, until it runs */
  gulong restarting_id;
  gboolean restarting_down;      /* its old host has gone */
  guint refresh_id; /* publishes the status again once no plugin is starting */
  guint refreshes;
};

G_DEFINE_TYPE (HgdFleet, hgd_fleet, G_TYPE_OBJECT)

static void apply_next_plugin (HgdFleet *self);
static void handle_manifest (HgdFleet *self, HgdFleetManifest *manifest);

/* State and status -------------------------------------------------------------------- */

static void
load_state (HgdFleet *self)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();

  if (!g_key_file_load_from_file (file, self->state_path, G_KEY_FILE_NONE, NULL))
    return;
  self->serial = g_key_file_get_int64 (file, "fleet", "serial", NULL);
  self->digest = g_key_file_get_string (file, "fleet", "digest", NULL);
  g_free (self->outcome);
  self->outcome = g_key_file_get_string (file, "fleet", "outcome", NULL);
  if (self->outcome == NULL)
    self->outcome = g_strdup ("none");
  self->error = g_key_file_get_string (file, "fleet", "error", NULL);
  if (self->error != NULL && self->error[0] == '\0')
    g_clear_pointer (&self->error, g_free);
}

static void
save_state (HgdFleet *self)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autofree gchar *data = NULL;

  g_key_file_set_int64 (file, "fleet", "serial", self->serial);
  g_key_file_set_string (file, "fleet", "digest", self->digest != NULL ? self->digest : "");
  g_key_file_set_string (file, "fleet", "outcome", self->outcome);
  g_key_file_set_string (file, "fleet", "error", self->error != NULL ? self->error : "");
  data = g_key_file_to_data (file, NULL, NULL);
  if (!g_file_set_contents_full (self->state_path, data, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600,
                                 &error))
    g_warning ("fleet: %s", error->message);
}

static void
journaled_cb (GObject *source,
              GAsyncResult *result,
              gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!hgd_journal_append_finish (HGD_JOURNAL (source), result, &error))
    g_warning ("fleet: cannot journal: %s", error->message);
}

/* Journals @type with @body (taken) in the municipal journal. */
static void
record (HgdFleet *self,
        const gchar *type,
        JsonObject *body)
{
  g_autoptr(HgEvent) event = NULL;

  if (self->journal == NULL)
    {
      json_object_unref (body);
      return;
    }
  event = hg_event_new (type, body);
  json_object_unref (body);
  hg_event_set_source (event, "core");
  hgd_journal_append_async (self->journal, event, NULL, NULL, journaled_cb, NULL);
}

static void
set_nullable (JsonObject *object,
              const gchar *member,
              const gchar *value)
{
  if (value != NULL)
    json_object_set_string_member (object, member, value);
  else
    json_object_set_null_member (object, member);
}

static JsonArray *
running_plugins (HgdFleet *self)
{
  HgdBundles *bundles = hgd_plugin_manager_get_bundles (self->plugins);
  g_autoptr(JsonArray) installed = NULL;
  JsonArray *array = json_array_new ();

  if (bundles == NULL)
    return array;
  installed = hgd_bundles_list_installed (bundles, HG_DOMAIN_MUNICIPAL);
  for (guint i = 0; i < json_array_get_length (installed); i++)
    {
      JsonObject *plugin = json_array_get_object_element (installed, i);
      const gchar *id = json_object_get_string_member (plugin, "id");
      HgdPluginInstance *instance = hgd_plugin_manager_find (self->plugins, id);
      JsonObject *object = json_object_new ();

      json_object_set_string_member (object, "id", id);
      set_nullable (object, "version",
                    json_object_get_string_member_with_default (plugin, "version", NULL));
      set_nullable (object, "digest",
                    json_object_get_string_member_with_default (plugin, "digest", NULL));
      json_object_set_string_member (
          object, "state",
          hgd_plugin_state_to_string (instance != NULL ? hgd_plugin_instance_get_state (instance)
                                                       : HGD_PLUGIN_STATE_FAILED));
      {
        g_autofree gchar *config = hgd_bundles_dup_config_digest (bundles, HG_DOMAIN_MUNICIPAL, id);
        set_nullable (object, "config", config);
      }
      json_array_add_object_element (array, object);
    }
  return array;
}

static void
publish_status (HgdFleet *self)
{
  g_autoptr(JsonObject) status = json_object_new ();
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree gchar *topic = NULL;
  g_autofree gchar *text = NULL;
  JsonArray *groups = json_array_new ();
  int rc;

  if (self->mosq == NULL)
    return;
  for (guint i = 0; self->groups[i] != NULL; i++)
    json_array_add_string_element (groups, self->groups[i]);
  json_object_set_string_member (status, "gateway", self->gateway_id);
  json_object_set_array_member (status, "groups", groups);
  json_object_set_int_member (status, "serial", self->serial);
  set_nullable (status, "manifest", self->digest);
  json_object_set_string_member (status, "outcome",
                                 self->applying != NULL ? "pending" : self->outcome);
  if (self->applying != NULL)
    json_object_set_int_member (status, "applying",
                                hgd_fleet_manifest_get_serial (self->applying));
  set_nullable (status, "error", self->applying != NULL ? NULL : self->error);
  if (self->refused != NULL)
    {
      g_autoptr(JsonNode) node = json_from_string (self->refused, NULL);
      json_object_set_member (status, "refused", g_steal_pointer (&node));
    }
  else
    json_object_set_null_member (status, "refused");
  json_object_set_array_member (status, "plugins", running_plugins (self));
  json_object_set_string_member (status, "updated", g_date_time_format_iso8601 (now));
  text = hg_json_object_to_string (status);
  topic = g_strdup_printf ("%s/status/%s", self->prefix, self->gateway_id);
  rc = mosquitto_publish (self->mosq, NULL, topic, (int) strlen (text), text, 1, TRUE);
  if (rc != MOSQ_ERR_SUCCESS)
    g_message ("fleet: status not published: %s", mosquitto_strerror (rc));
  else
    g_debug ("fleet: status published: %s", text);
}

static gboolean
any_starting (HgdFleet *self)
{
  g_autoptr(JsonArray) plugins = running_plugins (self);

  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *plugin = json_array_get_object_element (plugins, i);

      if (g_strcmp0 (json_object_get_string_member (plugin, "state"), "starting") == 0)
        return TRUE;
    }
  return FALSE;
}

static gboolean
refresh_cb (gpointer user_data)
{
  HgdFleet *self = HGD_FLEET (user_data);

  if (any_starting (self) && ++self->refreshes < REFRESH_MAX)
    return G_SOURCE_CONTINUE;
  self->refresh_id = 0;
  publish_status (self);
  return G_SOURCE_REMOVE;
}

/* Publishes the status now and, while a plugin (e.g. the version rolled back to) is still
 * starting, again once it runs or failed. */
static void
report (HgdFleet *self)
{
  publish_status (self);
  if (self->refresh_id == 0 && any_starting (self))
    {
      self->refreshes = 0;
      self->refresh_id = g_timeout_add (POLL_MS, refresh_cb, self);
    }
}

/* A manifest refused: the running version stays, the refusal is reported and journaled. */
static void
refuse (HgdFleet *self,
        const GError *error,
        gint64 serial)
{
  g_autoptr(JsonObject) refusal = json_object_new ();
  const gchar *code = error->domain == HGD_FLEET_ERROR ? hgd_fleet_error_to_code (error->code)
                                                         : "manifest-malformed";

  g_warning ("fleet: manifest refused: %s", error->message);
  json_object_set_string_member (refusal, "code", code);
  json_object_set_string_member (refusal, "message", error->message);
  if (serial > 0)
    json_object_set_int_member (refusal, "serial", serial);
  else
    json_object_set_null_member (refusal, "serial");
  g_free (self->refused);
  self->refused = hg_json_object_to_string (refusal);
  record (self, "fleet.manifest-refused", json_object_ref (refusal));
  publish_status (self);
}

/* Applying ---------------------------------------------------------------------------- */

static void
finish_apply (HgdFleet *self,
              const gchar *outcome,
              const gchar *error)
{
  g_autoptr(HgdFleetManifest) manifest = g_steal_pointer (&self->applying);
  g_autoptr(HgdFleetManifest) next = g_steal_pointer (&self->next);
  JsonObject *body = json_object_new ();

  self->serial = hgd_fleet_manifest_get_serial (manifest);
  g_free (self->digest);
  self->digest = g_strdup (hgd_fleet_manifest_get_digest (manifest));
  g_free (self->outcome);
  self->outcome = g_strdup (outcome);
  g_free (self->error);
  self->error = g_strdup (error);
  g_clear_pointer (&self->refused, g_free);
  save_state (self);
  g_message ("fleet: manifest %" G_GINT64_FORMAT " applied: %s%s%s", self->serial, outcome,
             error != NULL ? ": " : "", error != NULL ? error : "");
  json_object_set_int_member (body, "serial", self->serial);
  json_object_set_string_member (body, "outcome", outcome);
  set_nullable (body, "error", error);
  record (self, "fleet.manifest-applied", body);
  report (self);
  if (next != NULL)
    handle_manifest (self, next);
}

static void
forget_previous_config (HgdFleet *self)
{
  self->config_replaced = FALSE;
  g_clear_pointer (&self->previous_config, g_hash_table_unref);
  g_clear_pointer (&self->previous_config_digest, g_free);
}

static gboolean
poll_job_cb (gpointer user_data)
{
  HgdFleet *self = HGD_FLEET (user_data);
  HgdBundles *bundles = hgd_plugin_manager_get_bundles (self->plugins);
  HgdFleetPlugin *plugin
      = g_ptr_array_index (hgd_fleet_manifest_get_plugins (self->applying), self->plugin_index);
  g_autoptr(JsonObject) job = hgd_bundles_job_to_json (bundles, self->job_id, HG_DOMAIN_MUNICIPAL);
  const gchar *state = job != NULL ? json_object_get_string_member (job, "state") : "failed";
  const gchar *error = job != NULL ? json_object_get_string_member_with_default (job, "error", NULL)
                                   : "the install job is gone";
  g_autofree gchar *message = NULL;

  if (g_strcmp0 (state, "running") == 0)
    return G_SOURCE_CONTINUE;
  self->poll_id = 0;
  g_clear_pointer (&self->job_id, g_free);
  if (g_strcmp0 (state, "succeeded") == 0)
    {
      forget_previous_config (self);
      self->plugin_index++;
      apply_next_plugin (self);
      return G_SOURCE_REMOVE;
    }
  /* the version that runs again had the config it had before */
  if (self->config_replaced)
    {
      g_autoptr(GError) local = NULL;

      if (!hgd_bundles_set_config (bundles, HG_DOMAIN_MUNICIPAL, plugin->id, self->previous_config,
                                   self->previous_config_digest, &local)
          || (hgd_plugin_manager_find (self->plugins, plugin->id) != NULL
              && !hgd_plugin_manager_restart (self->plugins, plugin->id, &local)))
        g_warning ("fleet: plugin %s: restoring its previous config: %s", plugin->id,
                   local->message);
    }
  forget_previous_config (self);
  message = g_strdup_printf ("plugin %s %s: %s", plugin->id, plugin->version,
                             error != NULL ? error : state);
  finish_apply (self, g_strcmp0 (state, "rolled-back") == 0 ? "rolled-back" : "failed", message);
  return G_SOURCE_REMOVE;
}

static void
stop_waiting (HgdFleet *self)
{
  g_clear_handle_id (&self->bundle_timeout_id, g_source_remove);
  if (self->waiting_topic != NULL && self->mosq != NULL)
    mosquitto_unsubscribe (self->mosq, NULL, self->waiting_topic);
  g_clear_pointer (&self->waiting_topic, g_free);
}

static void
install_bundle (HgdFleet *self,
                GBytes *data)
{
  HgdBundles *bundles = hgd_plugin_manager_get_bundles (self->plugins);
  HgdFleetPlugin *plugin
      = g_ptr_array_index (hgd_fleet_manifest_get_plugins (self->applying), self->plugin_index);
  g_autoptr(HgdBundle) bundle = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) new_capabilities = NULL;
  g_autofree gchar *who = g_strdup_printf ("fleet:%" G_GINT64_FORMAT,
                                           hgd_fleet_manifest_get_serial (self->applying));
  guint health = (guint) hgd_config_get_int (self->config, "fleet", "health-check");

  stop_waiting (self);
  /* the manifest pins the build: another bundle on the topic is not installed */
  bundle = hgd_bundle_new_from_bytes (data, &error);
  if (bundle != NULL && g_strcmp0 (hgd_bundle_get_digest (bundle), plugin->digest) != 0)
    g_set_error (&error, HGD_FLEET_ERROR, HGD_FLEET_ERROR_BUNDLE,
                 "the bundle published for digest %.16s… is another build (%.16s…)",
                 plugin->digest, hgd_bundle_get_digest (bundle));
  /* the new version starts with the manifest's config */
  if (error == NULL && plugin->config != NULL)
    {
      forget_previous_config (self);
      self->previous_config = hgd_bundles_dup_config (bundles, HG_DOMAIN_MUNICIPAL, plugin->id,
                                                      &self->previous_config_digest);
      self->config_replaced = hgd_bundles_set_config (bundles, HG_DOMAIN_MUNICIPAL, plugin->id,
                                                      plugin->config, plugin->config_digest,
                                                      &error);
    }
  if (error == NULL)
    {
      /* a manifest signed by the domain's key approves its plugins' capabilities */
      self->job_id = hgd_bundles_install (bundles, HG_DOMAIN_MUNICIPAL, data, NULL, health, who,
                                          &new_capabilities, &error);
      if (self->job_id == NULL
          && g_error_matches (error, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_APPROVAL_NEEDED))
        {
          g_clear_error (&error);
          self->job_id
              = hgd_bundles_install (bundles, HG_DOMAIN_MUNICIPAL, data,
                                     (const gchar *const *) new_capabilities, health, who, NULL,
                                     &error);
        }
    }
  if (self->job_id == NULL && self->config_replaced)
    (void) hgd_bundles_set_config (bundles, HG_DOMAIN_MUNICIPAL, plugin->id, self->previous_config,
                                   self->previous_config_digest, NULL);
  if (self->job_id == NULL)
    {
      g_autofree gchar *message
          = g_strdup_printf ("plugin %s %s: %s", plugin->id, plugin->version, error->message);

      forget_previous_config (self);
      finish_apply (self, "failed", message);
      return;
    }
  self->poll_id = g_timeout_add (POLL_MS, poll_job_cb, self);
}

static gboolean
bundle_timeout_cb (gpointer user_data)
{
  HgdFleet *self = HGD_FLEET (user_data);
  HgdFleetPlugin *plugin
      = g_ptr_array_index (hgd_fleet_manifest_get_plugins (self->applying), self->plugin_index);
  g_autofree gchar *message = NULL;

  self->bundle_timeout_id = 0;
  stop_waiting (self);
  message = g_strdup_printf ("plugin %s %s: no bundle published on %s/bundles/%s", plugin->id,
                             plugin->version, self->prefix, plugin->digest);
  finish_apply (self, "failed", message);
  return G_SOURCE_REMOVE;
}

static gboolean
is_installed (HgdFleet *self,
              HgdFleetPlugin *plugin)
{
  HgdBundles *bundles = hgd_plugin_manager_get_bundles (self->plugins);
  g_autoptr(JsonArray) installed = hgd_bundles_list_installed (bundles, HG_DOMAIN_MUNICIPAL);

  for (guint i = 0; i < json_array_get_length (installed); i++)
    {
      JsonObject *object = json_array_get_object_element (installed, i);

      if (g_strcmp0 (json_object_get_string_member (object, "id"), plugin->id) == 0
          && g_strcmp0 (json_object_get_string_member_with_default (object, "digest", NULL),
                        plugin->digest)
                 == 0)
        return TRUE;
    }
  return FALSE;
}

/* Whether @plugin runs with the config the manifest gives it (or gives none). */
static gboolean
has_config (HgdFleet *self,
            HgdFleetPlugin *plugin)
{
  HgdBundles *bundles = hgd_plugin_manager_get_bundles (self->plugins);
  g_autofree gchar *stored = NULL;

  if (plugin->config == NULL)
    return TRUE;
  stored = hgd_bundles_dup_config_digest (bundles, HG_DOMAIN_MUNICIPAL, plugin->id);
  return g_strcmp0 (stored, plugin->config_digest) == 0;
}

static void
stop_watching_restart (HgdFleet *self)
{
  if (self->restarting != NULL)
    g_clear_signal_handler (&self->restarting_id, self->restarting);
  g_clear_object (&self->restarting);
}

/* A plugin restarted with the manifest's new config: the next once it runs again. */
static void
restarting_state_cb (HgdPluginInstance *instance,
                     GParamSpec *pspec,
                     HgdFleet *self)
{
  HgdPluginState state = hgd_plugin_instance_get_state (instance);
  HgdFleetPlugin *plugin
      = g_ptr_array_index (hgd_fleet_manifest_get_plugins (self->applying), self->plugin_index);
  g_autofree gchar *message = NULL;

  if (state == HGD_PLUGIN_STATE_STOPPING || state == HGD_PLUGIN_STATE_STOPPED
      || state == HGD_PLUGIN_STATE_STARTING)
    {
      self->restarting_down = TRUE;
      return;
    }
  if (state == HGD_PLUGIN_STATE_RUNNING && !self->restarting_down)
    return;
  stop_watching_restart (self);
  if (state == HGD_PLUGIN_STATE_RUNNING)
    {
      self->plugin_index++;
      apply_next_plugin (self);
      return;
    }
  {
    g_autoptr(JsonObject) object = hgd_plugin_instance_to_json (instance);
    const gchar *error = json_object_get_string_member_with_default (object, "error", NULL);

    message = g_strdup_printf ("plugin %s %s: it does not run with the new config (%s)",
                               plugin->id, plugin->version,
                               error != NULL ? error : hgd_plugin_state_to_string (state));
  }
  finish_apply (self, "failed", message);
}

/* The same build with another config: stored, and the instance restarted to read it. */
static gboolean
apply_config (HgdFleet *self,
              HgdFleetPlugin *plugin)
{
  HgdBundles *bundles = hgd_plugin_manager_get_bundles (self->plugins);
  HgdPluginInstance *instance = hgd_plugin_manager_find (self->plugins, plugin->id);
  g_autoptr(GError) error = NULL;

  if (hgd_bundles_set_config (bundles, HG_DOMAIN_MUNICIPAL, plugin->id, plugin->config,
                              plugin->config_digest, &error)
      && instance != NULL)
    {
      self->restarting = g_object_ref (instance);
      self->restarting_down = hgd_plugin_instance_get_state (instance) != HGD_PLUGIN_STATE_RUNNING;
      self->restarting_id = g_signal_connect (instance, "notify::state",
                                              G_CALLBACK (restarting_state_cb), self);
      if (hgd_plugin_manager_restart (self->plugins, plugin->id, &error))
        return TRUE;
      stop_watching_restart (self);
    }
  {
    g_autofree gchar *message
        = g_strdup_printf ("plugin %s %s: the new config: %s", plugin->id, plugin->version,
                           error != NULL ? error->message : "no instance");
    finish_apply (self, "failed", message);
  }
  return FALSE;
}

static void
apply_next_plugin (HgdFleet *self)
{
  GPtrArray *plugins = hgd_fleet_manifest_get_plugins (self->applying);
  HgdFleetPlugin *plugin;
  int rc;

  while (self->plugin_index < plugins->len
         && is_installed (self, g_ptr_array_index (plugins, self->plugin_index))
         && has_config (self, g_ptr_array_index (plugins, self->plugin_index)))
    self->plugin_index++;
  if (self->plugin_index == plugins->len)
    {
      finish_apply (self, "converged", NULL);
      return;
    }
  plugin = g_ptr_array_index (plugins, self->plugin_index);
  if (is_installed (self, plugin))
    {
      (void) apply_config (self, plugin);
      return;
    }
  self->waiting_topic = g_strdup_printf ("%s/bundles/%s", self->prefix, plugin->digest);
  self->bundle_timeout_id
      = g_timeout_add_seconds ((guint) hgd_config_get_int (self->config, "fleet", "bundle-timeout"),
                               bundle_timeout_cb, self);
  rc = mosquitto_subscribe (self->mosq, NULL, self->waiting_topic, 1);
  if (rc != MOSQ_ERR_SUCCESS)
    g_debug ("fleet: subscribe %s: %s (again on reconnect)", self->waiting_topic,
             mosquitto_strerror (rc));
}

static void
handle_manifest (HgdFleet *self,
                 HgdFleetManifest *manifest)
{
  HgdBundles *bundles = hgd_plugin_manager_get_bundles (self->plugins);
  g_autoptr(GBytes) key = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *body;
  gint64 serial;

  if (bundles == NULL)
    return;
  /* the same manifest again (retained, after a reconnect): nothing to do */
  if (g_strcmp0 (hgd_fleet_manifest_get_digest (manifest), self->digest) == 0
      || (self->applying != NULL
          && g_strcmp0 (hgd_fleet_manifest_get_digest (manifest),
                        hgd_fleet_manifest_get_digest (self->applying))
                 == 0))
    return;
  key = hgd_bundles_dup_trusted_key (bundles, HG_DOMAIN_MUNICIPAL,
                                     hgd_fleet_manifest_get_key_id (manifest), &error);
  if (key == NULL)
    {
      g_autoptr(GError) refusal = g_error_new (HGD_FLEET_ERROR, HGD_FLEET_ERROR_UNTRUSTED_KEY,
                                               "the manifest is %s", error->message);
      refuse (self, refusal, 0);
      return;
    }
  if (!hgd_fleet_manifest_verify (manifest, key, &error)
      || !hgd_fleet_manifest_parse (manifest, &error))
    {
      refuse (self, error, 0);
      return;
    }
  serial = hgd_fleet_manifest_get_serial (manifest);
  if (hgd_fleet_manifest_get_domain (manifest) != HG_DOMAIN_MUNICIPAL)
    {
      g_set_error (&error, HGD_FLEET_ERROR, HGD_FLEET_ERROR_MALFORMED,
                   "manifest %" G_GINT64_FORMAT " is for the %s domain; a fleet deploys into "
                   "the municipal domain only",
                   serial, hg_domain_to_string (hgd_fleet_manifest_get_domain (manifest)));
      refuse (self, error, serial);
      return;
    }
  if (serial <= self->serial
      || (self->applying != NULL && serial <= hgd_fleet_manifest_get_serial (self->applying)))
    {
      g_set_error (&error, HGD_FLEET_ERROR, HGD_FLEET_ERROR_REPLAYED,
                   "manifest serial %" G_GINT64_FORMAT " is not newer than serial %" G_GINT64_FORMAT
                   " applied (a replay or a downgrade)",
                   serial,
                   self->applying != NULL ? hgd_fleet_manifest_get_serial (self->applying)
                                          : self->serial);
      refuse (self, error, serial);
      return;
    }
  if (!hgd_fleet_manifest_targets (manifest, self->gateway_id,
                                   (const gchar *const *) self->groups))
    {
      g_message ("fleet: manifest %" G_GINT64_FORMAT " is not for this gateway", serial);
      return;
    }
  if (self->applying != NULL)
    {
      g_set_object (&self->next, manifest);
      return;
    }
  g_message ("fleet: applying manifest %" G_GINT64_FORMAT " signed by %s", serial,
             hgd_fleet_manifest_get_key_id (manifest));
  body = json_object_new ();
  json_object_set_int_member (body, "serial", serial);
  json_object_set_string_member (body, "key", hgd_fleet_manifest_get_key_id (manifest));
  record (self, "fleet.manifest-accepted", body);
  self->applying = g_object_ref (manifest);
  self->plugin_index = 0;
  publish_status (self);
  apply_next_plugin (self);
}

/* MQTT -------------------------------------------------------------------------------- */

typedef struct
{
  HgdFleet *self; /* (owned) */
  gchar *topic;   /* (owned) (nullable) NULL: connected */
  GBytes *payload; /* (owned) (nullable) */
} Arrival;

static void
arrival_free (Arrival *arrival)
{
  g_object_unref (arrival->self);
  g_free (arrival->topic);
  g_clear_pointer (&arrival->payload, g_bytes_unref);
  g_free (arrival);
}

static gboolean
arrival_cb (gpointer user_data)
{
  Arrival *arrival = user_data;
  HgdFleet *self = arrival->self;
  g_autofree gchar *manifest_topic = NULL;

  if (!self->running)
    return G_SOURCE_REMOVE;
  if (arrival->topic == NULL)
    {
      g_autofree gchar *topic = g_strdup_printf ("%s/manifest", self->prefix);

      g_message ("fleet: connected to the broker as %s", self->gateway_id);
      mosquitto_subscribe (self->mosq, NULL, topic, 1);
      if (self->waiting_topic != NULL)
        mosquitto_subscribe (self->mosq, NULL, self->waiting_topic, 1);
      publish_status (self);
      return G_SOURCE_REMOVE;
    }
  manifest_topic = g_strdup_printf ("%s/manifest", self->prefix);
  if (g_strcmp0 (arrival->topic, manifest_topic) == 0)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(HgdFleetManifest) manifest = NULL;

      if (g_bytes_get_size (arrival->payload) == 0)
        return G_SOURCE_REMOVE; /* the retained manifest cleared */
      manifest = hgd_fleet_manifest_new_from_message (arrival->payload, &error);
      if (manifest == NULL)
        refuse (self, error, 0);
      else
        handle_manifest (self, manifest);
    }
  else if (g_strcmp0 (arrival->topic, self->waiting_topic) == 0
           && g_bytes_get_size (arrival->payload) > 0 && self->job_id == NULL)
    install_bundle (self, arrival->payload);
  return G_SOURCE_REMOVE;
}

static void
hand_over (HgdFleet *self,
           const gchar *topic,
           GBytes *payload)
{
  Arrival *arrival = g_new0 (Arrival, 1);

  arrival->self = g_object_ref (self);
  arrival->topic = g_strdup (topic);
  arrival->payload = payload;
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, arrival_cb, arrival,
                              (GDestroyNotify) arrival_free);
}

/* on libmosquitto's thread */
static void
on_connect (struct mosquitto *mosq,
            void *user_data,
            int rc)
{
  HgdFleet *self = user_data;

  if (rc != 0)
    {
      g_message ("fleet: the broker refused the connection: %s", mosquitto_connack_string (rc));
      return;
    }
  hand_over (self, NULL, NULL);
}

/* on libmosquitto's thread */
static void
on_disconnect (struct mosquitto *mosq,
               void *user_data,
               int rc)
{
  if (rc != 0)
    g_message ("fleet: lost the broker: %s", mosquitto_strerror (rc));
}

/* on libmosquitto's thread */
static void
on_message (struct mosquitto *mosq,
            void *user_data,
            const struct mosquitto_message *message)
{
  HgdFleet *self = user_data;

  /* a bundle's limit; a manifest past its own is refused with its size */
  if (message->payloadlen > HGD_BUNDLE_MAX_SIZE)
    return;
  hand_over (self, message->topic, g_bytes_new (message->payload, (gsize) message->payloadlen));
}

static int
write_all (int fd,
           const gchar *text)
{
  gsize len = strlen (text);
  gsize done = 0;

  while (done < len)
    {
      gssize n = write (fd, text + done, len - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      done += (gsize) n;
    }
  return 0;
}

static void
connect_broker (HgdFleet *self,
                const gchar *key_pem)
{
  const gchar *broker = hgd_config_get_string (self->config, "fleet", "broker");
  const gchar *ca = hgd_config_get_string (self->config, "fleet", "ca-file");
  const gchar *certificate = hgd_config_get_string (self->config, "fleet", "certificate-file");
  const gchar *key_file = hgd_config_get_string (self->config, "fleet", "client-key-file");
  guint port = (guint) hgd_config_get_int (self->config, "fleet", "port");
  g_autofree gchar *key_path = NULL;
  int rc;

  self->mosq = mosquitto_new (self->gateway_id, TRUE, self);
  if (self->mosq == NULL)
    {
      g_warning ("fleet: cannot make an MQTT client: %s", g_strerror (errno));
      return;
    }
  mosquitto_int_option (self->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_connect_callback_set (self->mosq, on_connect);
  mosquitto_message_callback_set (self->mosq, on_message);
  mosquitto_disconnect_callback_set (self->mosq, on_disconnect);
  mosquitto_reconnect_delay_set (self->mosq, 1, 30, TRUE);
  if (key_pem != NULL)
    {
      /* the key stays in memory: a file of this process OpenSSL reads by its /proc name */
      self->key_fd = memfd_create ("fleet-client-key", MFD_CLOEXEC);
      if (self->key_fd < 0 || write_all (self->key_fd, key_pem) < 0)
        g_warning ("fleet: cannot hold the client key: %s", g_strerror (errno));
      else
        key_path = g_strdup_printf ("/proc/self/fd/%d", self->key_fd);
    }
  else if (key_file[0] != '\0')
    key_path = g_strdup (key_file);
  if (ca[0] != '\0')
    {
      rc = mosquitto_tls_set (self->mosq, ca, NULL, certificate[0] != '\0' ? certificate : NULL,
                              certificate[0] != '\0' ? key_path : NULL, NULL);
      if (rc != MOSQ_ERR_SUCCESS)
        {
          g_warning ("fleet: TLS files: %s", mosquitto_strerror (rc));
          g_clear_pointer (&self->mosq, mosquitto_destroy);
          return;
        }
    }
  rc = mosquitto_connect_async (self->mosq, broker, (int) port, KEEPALIVE);
  if (rc != MOSQ_ERR_SUCCESS)
    g_message ("fleet: broker %s:%u: %s (retrying)", broker, port,
               rc == MOSQ_ERR_ERRNO ? g_strerror (errno) : mosquitto_strerror (rc));
  rc = mosquitto_loop_start (self->mosq);
  if (rc != MOSQ_ERR_SUCCESS)
    {
      g_warning ("fleet: cannot start the MQTT thread: %s", mosquitto_strerror (rc));
      g_clear_pointer (&self->mosq, mosquitto_destroy);
    }
}

static void
key_looked_up_cb (GObject *source,
                  GAsyncResult *result,
                  gpointer user_data)
{
  g_autoptr(HgdFleet) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *key = hgd_secrets_lookup_finish (HGD_SECRETS (source), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || !self->running)
    return;
  if (key == NULL && !g_error_matches (error, HG_ERROR, HG_ERROR_NOT_FOUND))
    g_warning ("fleet: the client key from the secret store: %s", error->message);
  connect_broker (self, key);
  if (key != NULL)
    memset (key, 0, strlen (key));
}

/**
 * hgd_fleet_start:
 * @self: the fleet
 *
 * Connects to the broker, if `[fleet] broker` names one, and follows the channel.
 */
void
hgd_fleet_start (HgdFleet *self)
{
  g_return_if_fail (HGD_IS_FLEET (self));

  if (self->running || hgd_config_get_string (self->config, "fleet", "broker")[0] == '\0')
    return;
  self->running = TRUE;
  load_state (self);
  g_message ("fleet: gateway %s follows %s on %s:%" G_GINT64_FORMAT ", manifest %" G_GINT64_FORMAT
             " applied",
             self->gateway_id, self->prefix, hgd_config_get_string (self->config, "fleet", "broker"),
             hgd_config_get_int (self->config, "fleet", "port"), self->serial);
  if (self->secrets != NULL)
    hgd_secrets_lookup_async (self->secrets, HG_DOMAIN_MUNICIPAL, "core", HGD_FLEET_KEY_SECRET,
                              self->cancellable, key_looked_up_cb, g_object_ref (self));
  else
    connect_broker (self, NULL);
}

/**
 * hgd_fleet_stop:
 * @self: the fleet
 *
 * Disconnects and stops libmosquitto's thread; nothing arrives afterwards.
 */
void
hgd_fleet_stop (HgdFleet *self)
{
  g_return_if_fail (HGD_IS_FLEET (self));

  self->running = FALSE;
  g_cancellable_cancel (self->cancellable);
  if (self->mosq != NULL)
    {
      mosquitto_disconnect (self->mosq);
      mosquitto_loop_stop (self->mosq, FALSE);
      g_clear_pointer (&self->mosq, mosquitto_destroy);
    }
  if (self->key_fd >= 0)
    {
      close (self->key_fd);
      self->key_fd = -1;
    }
  g_clear_handle_id (&self->poll_id, g_source_remove);
  stop_watching_restart (self);
  forget_previous_config (self);
  g_clear_handle_id (&self->bundle_timeout_id, g_source_remove);
  g_clear_handle_id (&self->refresh_id, g_source_remove);
}

static void
hgd_fleet_dispose (GObject *object)
{
  HgdFleet *self = HGD_FLEET (object);

  hgd_fleet_stop (self);
  g_clear_object (&self->applying);
  g_clear_object (&self->next);
  g_clear_object (&self->plugins);
  g_clear_object (&self->secrets);
  g_clear_object (&self->journal);
  g_clear_object (&self->config);
  G_OBJECT_CLASS (hgd_fleet_parent_class)->dispose (object);
}

static void
hgd_fleet_finalize (GObject *object)
{
  HgdFleet *self = HGD_FLEET (object);

  g_free (self->state_path);
  g_free (self->gateway_id);
  g_strfreev (self->groups);
  g_free (self->prefix);
  g_free (self->digest);
  g_free (self->outcome);
  g_free (self->error);
  g_free (self->refused);
  g_free (self->waiting_topic);
  g_free (self->job_id);
  g_main_context_unref (self->context);
  g_object_unref (self->cancellable);
  G_OBJECT_CLASS (hgd_fleet_parent_class)->finalize (object);
}

static void
hgd_fleet_class_init (HgdFleetClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hgd_fleet_dispose;
  object_class->finalize = hgd_fleet_finalize;
  mosquitto_lib_init ();
}

static void
hgd_fleet_init (HgdFleet *self)
{
  self->key_fd = -1;
  self->outcome = g_strdup ("none");
  self->cancellable = g_cancellable_new ();
  self->context = g_main_context_ref_thread_default ();
}

/**
 * hgd_fleet_new:
 * @config: the configuration (`[fleet]`)
 * @plugins: the plugin manager, whose bundles install what a manifest names
 * @secrets: (nullable): the secret store, for the client key
 * @journal: (nullable): the municipal journal
 * @municipal_dir: the municipal state directory, for `fleet.state`
 *
 * Returns: (transfer full): the fleet client; hgd_fleet_start() connects it
 */
HgdFleet *
hgd_fleet_new (HgdConfig *config,
               HgdPluginManager *plugins,
               HgdSecrets *secrets,
               HgdJournal *journal,
               const gchar *municipal_dir)
{
  HgdFleet *self = g_object_new (HGD_TYPE_FLEET, NULL);
  const gchar *id;

  self->config = g_object_ref (config);
  self->plugins = g_object_ref (plugins);
  self->secrets = secrets != NULL ? g_object_ref (secrets) : NULL;
  self->journal = journal != NULL ? g_object_ref (journal) : NULL;
  self->state_path = g_build_filename (municipal_dir, STATE_FILE, NULL);
  id = hgd_config_get_string (config, "fleet", "gateway-id");
  self->gateway_id = g_strdup (id[0] != '\0' ? id : g_get_host_name ());
  self->groups = hgd_config_get_strv (config, "fleet", "groups");
  self->prefix = g_strdup (hgd_config_get_string (config, "fleet", "topic-prefix"));
  return self;
}
