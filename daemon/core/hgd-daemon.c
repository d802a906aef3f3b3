/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdDaemon: creates the state directories, opens both journals, accounts, alarms,
 * secrets, the plugin manager and the API, in that order; a journal that fails to open is
 * a health fault of its domain, not the end of the other one. */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>

#include "hgd-api.h"
#include "hgd-daemon.h"
#include "hgd-fleet.h"
#include "hgd-own-alarms.h"

struct _HgdDaemon
{
  GObject parent_instance;
  HgdConfig *config;                       /* (owned) */
  gchar *state_dir;                        /* (owned) */
  HgdJournal *journals[HG_DOMAIN_LAST];    /* (owned) (nullable) when it failed to open */
  HgdAccessLog *access_log;                /* (owned) */
  GError *journal_errors[HG_DOMAIN_LAST];  /* (owned) (nullable) */
  HgdAccounts *accounts;                   /* (owned) */
  HgdAlarms *alarms;                       /* (owned) */
  HgdOwnAlarms *own_alarms;                /* (owned) (nullable) without both journals */
  HgdKeyring *keyring;                     /* (owned) (nullable): `[secrets] service = private` */
  HgdSecrets *secrets;                     /* (owned) */
  HgdPluginManager *plugins;               /* (owned) */
  HgdApi *api;                             /* (owned) */
  HgdFleet *fleet;                         /* (owned) follows `[fleet] broker` once started */
  guint prune_id;
  gint64 start_time;
};

static void hgd_daemon_initable_iface_init (GInitableIface *iface);

G_DEFINE_TYPE_WITH_CODE (HgdDaemon, hgd_daemon, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, hgd_daemon_initable_iface_init))

enum
{
  PROP_0,
  PROP_CONFIG,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gboolean
ensure_private_dir (const gchar *path,
                    GError **error)
{
  if (g_mkdir_with_parents (path, 0700) != 0)
    {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   "cannot create state directory %s: %s", path, g_strerror (errsv));
      return FALSE;
    }
  if (g_chmod (path, 0700) != 0)
    {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   "cannot make state directory %s private: %s", path, g_strerror (errsv));
      return FALSE;
    }
  return TRUE;
}

static void
apply_retention (HgdDaemon *self,
                 HgdJournal *journal)
{
  g_autoptr(GHashTable) retention = hgd_config_get_retention (self->config);
  GHashTableIter iter;
  gpointer key, value;

  hgd_journal_set_retention (journal, "", (guint) hgd_config_get_int (self->config, "journal", "retention-days"));
  hgd_journal_set_retention (journal, "alarm.",
                             (guint) hgd_config_get_int (self->config, "journal", "alarm-retention-days"));
  g_hash_table_iter_init (&iter, retention);
  while (g_hash_table_iter_next (&iter, &key, &value))
    hgd_journal_set_retention (journal, key, GPOINTER_TO_UINT (value));
}

/* [journal] <domain>-size-budget, in MiB */
static void
apply_size_budget (HgdDaemon *self,
                   HgdJournal *journal)
{
  g_autofree gchar *key = g_strdup_printf ("%s-size-budget",
                                           hg_domain_to_string (hgd_journal_get_domain (journal)));
  guint64 mib = (guint64) hgd_config_get_int (self->config, "journal", key);

  hgd_journal_set_size_budget (journal, mib * 1024 * 1024);
}

static void
pruned_cb (GObject *source,
           GAsyncResult *result,
           gpointer user_data)
{
  HgdJournal *journal = HGD_JOURNAL (source);
  g_autoptr(GError) error = NULL;
  guint n_removed = 0;

  if (!hgd_journal_prune_finish (journal, result, &n_removed, &error))
    g_warning ("%s", error->message);
  else if (n_removed > 0)
    g_info ("journal %s: pruned %u events past retention",
            hg_domain_to_string (hgd_journal_get_domain (journal)), n_removed);
}

/* Retention runs on each journal's worker thread, never on the main loop. */
static gboolean
prune_cb (gpointer user_data)
{
  HgdDaemon *self = HGD_DAEMON (user_data);

  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      if (self->journals[i] != NULL)
        hgd_journal_prune_async (self->journals[i], g_get_real_time (), NULL, pruned_cb, NULL);
    }
  return G_SOURCE_CONTINUE;
}

/* The delivery cursors (delivery-<id>.cursor, written by HgdPluginInstance) of the
 * municipal directory, by file name. */
static GPtrArray *
list_delivery_cursors (const gchar *dir)
{
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const gchar *name;

  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL)
    {
      if (g_str_has_prefix (name, "delivery-") && g_str_has_suffix (name, ".cursor"))
        g_ptr_array_add (names, g_strdup (name));
    }
  g_ptr_array_add (names, NULL);
  return names;
}

/* A delivery cursor says up to which sequence number a plugin took the alarm events: one
 * past the journal's end means the journal lost events it once had (e.g. its WAL), and
 * would hand their numbers out again. That is a fault of the journal, as an empty file. */
static gboolean
check_delivery_cursors (HgdJournal *journal,
                        const gchar *dir,
                        GError **error)
{
  g_autoptr(GPtrArray) names = list_delivery_cursors (dir);
  guint64 last = hgd_journal_get_last_seq (journal);

  for (guint i = 0; i + 1 < names->len; i++)
    {
      g_autofree gchar *path = g_build_filename (dir, g_ptr_array_index (names, i), NULL);
      g_autofree gchar *contents = NULL;
      guint64 seq = 0;

      /* one that cannot be read is HgdPluginInstance's to report */
      if (!g_file_get_contents (path, &contents, NULL, NULL) ||
          !g_ascii_string_to_unsigned (g_strstrip (contents), 10, 0, G_MAXUINT64, &seq, NULL))
        continue;
      if (seq > last)
        {
          g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT,
                       "journal %s: ends at sequence number %" G_GUINT64_FORMAT " but the delivery "
                       "cursor %s says %" G_GUINT64_FORMAT " was delivered: events were lost",
                       hgd_journal_get_path (journal), last, path, seq);
          return FALSE;
        }
    }
  return TRUE;
}

/* Adds to a journal's fault what the operator can do about it. */
static void
add_reset_hint (GError *error,
                HgDomain domain)
{
  g_autofree gchar *message = NULL;

  if (!g_error_matches (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT))
    return;
  message = g_strdup_printf ("%s; the file is kept as it is: once inspected, "
                             "'hemgated --reset-journal %s' sets it aside and starts a new journal",
                             error->message, hg_domain_to_string (domain));
  g_free (error->message);
  error->message = g_steal_pointer (&message);
}

static HgdJournal *
open_journal (HgDomain domain,
              const gchar *dir,
              GError **error)
{
  g_autoptr(HgdJournal) journal = hgd_journal_new (domain, dir, error);

  if (journal == NULL ||
      (domain == HG_DOMAIN_MUNICIPAL && !check_delivery_cursors (journal, dir, error)))
    {
      add_reset_hint (*error, domain);
      return NULL;
    }
  return g_steal_pointer (&journal);
}

static gboolean
hgd_daemon_initable_init (GInitable *initable,
                          GCancellable *cancellable,
                          GError **error)
{
  HgdDaemon *self = HGD_DAEMON (initable);
  /* NULL-terminated, as hgd_accounts_new () takes it */
  g_auto(GStrv) domain_dirs = g_new0 (gchar *, HG_DOMAIN_LAST + 1);
  HgdJournal *municipal;
  HgdApiDeps deps = { 0 };

  self->state_dir = g_canonicalize_filename (hgd_config_get_string (self->config, "daemon", "state-dir"), NULL);
  if (!ensure_private_dir (self->state_dir, error))
    return FALSE;

  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      domain_dirs[i] = g_build_filename (self->state_dir, hg_domain_to_string (i), NULL);
      if (!ensure_private_dir (domain_dirs[i], error))
        return FALSE;
      self->journals[i] = open_journal (i, domain_dirs[i], &self->journal_errors[i]);
      if (self->journals[i] == NULL)
        {
          g_warning ("%s domain runs without its journal: %s", hg_domain_to_string (i),
                     self->journal_errors[i]->message);
          continue;
        }
      apply_retention (self, self->journals[i]);
      apply_size_budget (self, self->journals[i]);
    }

  self->access_log = hgd_access_log_new (self->journals);
  self->accounts = hgd_accounts_new ((const gchar *const *) domain_dirs,
                                     hgd_config_get_int (self->config, "api", "session-lifetime"), error);
  if (self->accounts == NULL)
    return FALSE;
  hgd_accounts_set_login_limit (self->accounts,
                                (guint) hgd_config_get_int (self->config, "api", "login-attempts"),
                                (guint) hgd_config_get_int (self->config, "api", "login-window"));

  municipal = self->journals[HG_DOMAIN_MUNICIPAL];
  self->alarms = hgd_alarms_new (municipal);
  if (municipal != NULL && self->journals[HG_DOMAIN_PERSONAL] != NULL)
    self->own_alarms = hgd_own_alarms_new (municipal, self->journals[HG_DOMAIN_PERSONAL],
                                           self->accounts);
  /* the Secret Service before the plugin hosts, which ask it for their credentials */
  if (g_strcmp0 (hgd_config_get_string (self->config, "secrets", "service"), "session") == 0)
    {
      g_message ("secrets: the session bus's Secret Service ([secrets] service = session), "
                 "for tests and development only");
      self->secrets = hgd_secrets_new ();
    }
  else
    {
      g_autoptr(GError) keyring_error = NULL;

      self->keyring = hgd_keyring_new (self->state_dir);
      if (!hgd_keyring_start (self->keyring, &keyring_error))
        g_warning ("secrets: hemgated's Secret Service did not start: %s",
                   keyring_error->message);
      self->secrets = hgd_secrets_new_for_keyring (self->keyring);
    }
  self->plugins = hgd_plugin_manager_new (self->config, self->journals, self->alarms, self->secrets);
  hgd_plugin_manager_load_state (self->plugins, domain_dirs[HG_DOMAIN_MUNICIPAL]);
  self->fleet = hgd_fleet_new (self->config, self->plugins, self->secrets,
                               self->journals[HG_DOMAIN_MUNICIPAL], domain_dirs[HG_DOMAIN_MUNICIPAL]);
  self->start_time = g_get_real_time ();
  deps.config = self->config;
  deps.state_dir = self->state_dir;
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      deps.journals[i] = self->journals[i];
      deps.journal_errors[i] = self->journal_errors[i];
    }
  deps.accounts = self->accounts;
  deps.access_log = self->access_log;
  deps.alarms = self->alarms;
  deps.plugins = self->plugins;
  deps.secrets = self->secrets;
  deps.start_time = self->start_time;
  self->api = hgd_api_new (&deps);
  hgd_plugin_manager_set_grants (self->plugins, hgd_api_get_grants (self->api), self->access_log);
  if (!hgd_api_listen (self->api, error))
    return FALSE;

  self->prune_id = g_timeout_add_seconds ((guint) hgd_config_get_int (self->config, "journal", "prune-interval"),
                                          prune_cb, self);
  return TRUE;
}

static void
hgd_daemon_initable_iface_init (GInitableIface *iface)
{
  iface->init = hgd_daemon_initable_init;
}

static void
hgd_daemon_dispose (GObject *object)
{
  HgdDaemon *self = HGD_DAEMON (object);

  g_clear_handle_id (&self->prune_id, g_source_remove);
  if (self->fleet != NULL)
    hgd_fleet_stop (self->fleet);
  g_clear_object (&self->fleet);
  g_clear_object (&self->api);
  g_clear_object (&self->plugins);
  g_clear_object (&self->secrets);
  g_clear_object (&self->keyring);
  g_clear_object (&self->own_alarms);
  g_clear_object (&self->alarms);
  g_clear_object (&self->accounts);
  g_clear_object (&self->access_log);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    g_clear_object (&self->journals[i]);
  g_clear_object (&self->config);
  G_OBJECT_CLASS (hgd_daemon_parent_class)->dispose (object);
}

static void
hgd_daemon_finalize (GObject *object)
{
  HgdDaemon *self = HGD_DAEMON (object);

  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    g_clear_error (&self->journal_errors[i]);
  g_free (self->state_dir);
  G_OBJECT_CLASS (hgd_daemon_parent_class)->finalize (object);
}

static void
hgd_daemon_set_property (GObject *object,
                         guint prop_id,
                         const GValue *value,
                         GParamSpec *pspec)
{
  HgdDaemon *self = HGD_DAEMON (object);

  switch (prop_id)
    {
    case PROP_CONFIG:
      self->config = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hgd_daemon_class_init (HgdDaemonClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hgd_daemon_dispose;
  object_class->finalize = hgd_daemon_finalize;
  object_class->set_property = hgd_daemon_set_property;

  properties[PROP_CONFIG] =
    g_param_spec_object ("config", NULL, NULL, HGD_TYPE_CONFIG,
                         G_PARAM_WRITABLE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
hgd_daemon_init (HgdDaemon *self)
{
}

/**
 * hgd_daemon_reset_journal:
 * @config: the configuration, for the state directory
 * @domain: whose journal
 * @error: return location for a #GError
 *
 * What `hemgated --reset-journal DOMAIN` does, with hemgated stopped: sets @domain's
 * journal aside (hgd_journal_set_aside ()), and for the municipal domain the delivery
 * cursors with it, as they count in its sequence numbers. The next start creates a new
 * journal. Nothing is deleted.
 *
 * Returns: (transfer full): the directory the files were moved to, or %NULL
 */
gchar *
hgd_daemon_reset_journal (HgdConfig *config,
                          HgDomain domain,
                          GError **error)
{
  g_autofree gchar *state_dir = NULL;
  g_autofree gchar *dir = NULL;
  g_autoptr(GPtrArray) cursors = NULL;

  g_return_val_if_fail (HGD_IS_CONFIG (config), NULL);
  g_return_val_if_fail ((guint) domain < HG_DOMAIN_LAST, NULL);

  state_dir = g_canonicalize_filename (hgd_config_get_string (config, "daemon", "state-dir"), NULL);
  dir = g_build_filename (state_dir, hg_domain_to_string (domain), NULL);
  if (domain == HG_DOMAIN_MUNICIPAL)
    cursors = list_delivery_cursors (dir);
  return hgd_journal_set_aside (dir, cursors != NULL ? (const gchar *const *) cursors->pdata : NULL,
                                error);
}

/**
 * hgd_daemon_new:
 * @config: a validated configuration
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Opens everything and starts listening; plugins start with hgd_daemon_start_async().
 *
 * Returns: (transfer full): the daemon, or %NULL if it cannot run at all
 */
HgdDaemon *
hgd_daemon_new (HgdConfig *config,
                GCancellable *cancellable,
                GError **error)
{
  g_return_val_if_fail (HGD_IS_CONFIG (config), NULL);
  return g_initable_new (HGD_TYPE_DAEMON, cancellable, error, "config", config, NULL);
}

static void
plugins_started_cb (GObject *source,
                    GAsyncResult *result,
                    gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!hgd_plugin_manager_start_finish (HGD_PLUGIN_MANAGER (source), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* the fleet's manifests install through the plugins, so it follows once they run */
  hgd_fleet_start (HGD_DAEMON (g_task_get_source_object (task))->fleet);
  g_task_return_boolean (task, TRUE);
}

/**
 * hgd_daemon_start_async:
 * @self: an #HgdDaemon
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when every plugin instance is running or has failed
 * @user_data: data for @callback
 *
 * A plugin that fails does not fail the start; it shows in health.
 */
void
hgd_daemon_start_async (HgdDaemon *self,
                        GCancellable *cancellable,
                        GAsyncReadyCallback callback,
                        gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_return_if_fail (HGD_IS_DAEMON (self));
  g_task_set_source_tag (task, hgd_daemon_start_async);
  hgd_plugin_manager_start_async (self->plugins, cancellable, plugins_started_cb, g_steal_pointer (&task));
}

gboolean
hgd_daemon_start_finish (HgdDaemon *self,
                         GAsyncResult *result,
                         GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
journal_flushed_cb (GObject *source,
                    GAsyncResult *result,
                    gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  guint *pending = g_task_get_task_data (task);

  hgd_journal_flush_finish (HGD_JOURNAL (source), result, NULL);
  if (--*pending == 0)
    g_task_return_boolean (task, TRUE);
}

static void
plugins_stopped_cb (GObject *source,
                    GAsyncResult *result,
                    gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  HgdDaemon *self = g_task_get_source_object (task);
  guint *pending = g_new0 (guint, 1);

  if (!hgd_plugin_manager_stop_finish (HGD_PLUGIN_MANAGER (source), result, &error))
    {
      g_free (pending);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  /* what the stopped hosts and the API queued last (their events, the access log's
   * entries) is committed, and its callbacks have run, before the stop is complete */
  g_task_set_task_data (task, pending, g_free);
  *pending = 1;
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      if (self->journals[i] == NULL)
        continue;
      (*pending)++;
      hgd_journal_flush_async (self->journals[i], journal_flushed_cb, g_object_ref (task));
    }
  if (--*pending == 0)
    g_task_return_boolean (task, TRUE);
}

/**
 * hgd_daemon_stop_async:
 * @self: an #HgdDaemon
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the plugin hosts have stopped and the journals have committed
 *   what was queued until then
 * @user_data: data for @callback
 *
 * The journals are closed when the daemon is finalized.
 */
void
hgd_daemon_stop_async (HgdDaemon *self,
                       GCancellable *cancellable,
                       GAsyncReadyCallback callback,
                       gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_return_if_fail (HGD_IS_DAEMON (self));
  g_task_set_source_tag (task, hgd_daemon_stop_async);
  hgd_plugin_manager_stop_async (self->plugins, cancellable, plugins_stopped_cb, g_steal_pointer (&task));
}

gboolean
hgd_daemon_stop_finish (HgdDaemon *self,
                        GAsyncResult *result,
                        GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

HgdConfig *
hgd_daemon_get_config (HgdDaemon *self)
{
  g_return_val_if_fail (HGD_IS_DAEMON (self), NULL);
  return self->config;
}

const gchar *
hgd_daemon_get_state_dir (HgdDaemon *self)
{
  g_return_val_if_fail (HGD_IS_DAEMON (self), NULL);
  return self->state_dir;
}

HgdJournal *
hgd_daemon_get_journal (HgdDaemon *self,
                        HgDomain domain)
{
  g_return_val_if_fail (HGD_IS_DAEMON (self), NULL);
  g_return_val_if_fail ((guint) domain < HG_DOMAIN_LAST, NULL);
  return self->journals[domain];
}

const GError *
hgd_daemon_get_journal_error (HgdDaemon *self,
                              HgDomain domain)
{
  g_return_val_if_fail (HGD_IS_DAEMON (self), NULL);
  g_return_val_if_fail ((guint) domain < HG_DOMAIN_LAST, NULL);
  return self->journal_errors[domain];
}

HgdAccounts *
hgd_daemon_get_accounts (HgdDaemon *self)
{
  g_return_val_if_fail (HGD_IS_DAEMON (self), NULL);
  return self->accounts;
}

/**
 * hgd_daemon_get_access_log:
 * @self: an #HgdDaemon
 *
 * Returns: (transfer none): the access log, for what the core itself must record
 *   (hgd_access_log_record ()), e.g. video visits and night checks
 */
HgdAccessLog *
hgd_daemon_get_access_log (HgdDaemon *self)
{
  g_return_val_if_fail (HGD_IS_DAEMON (self), NULL);
  return self->access_log;
}

HgdAlarms *
hgd_daemon_get_alarms (HgdDaemon *self)
{
  g_return_val_if_fail (HGD_IS_DAEMON (self), NULL);
  return self->alarms;
}

HgdSecrets *
hgd_daemon_get_secrets (HgdDaemon *self)
{
  g_return_val_if_fail (HGD_IS_DAEMON (self), NULL);
  return self->secrets;
}

HgdPluginManager *
hgd_daemon_get_plugin_manager (HgdDaemon *self)
{
  g_return_val_if_fail (HGD_IS_DAEMON (self), NULL);
  return self->plugins;
}

HgdApi *
hgd_daemon_get_api (HgdDaemon *self)
{
  g_return_val_if_fail (HGD_IS_DAEMON (self), NULL);
  return self->api;
}

gint64
hgd_daemon_get_start_time (HgdDaemon *self)
{
  g_return_val_if_fail (HGD_IS_DAEMON (self), 0);
  return self->start_time;
}
