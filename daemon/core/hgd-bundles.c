/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdBundles: plugins installed from signed bundles (data/bundle-format.md), each in one
 * domain, beside those hemgate.conf names. Per domain, in its state directory:
 *
 *   bundle-keys                 the keys the domain trusts (municipal IT sets the
 *                               municipal ones, the resident the personal ones)
 *   bundle-versions             per plugin, the highest version ever installed and its
 *                               build: an older one, or another build of it, is a
 *                               downgrade (a replayed bundle), refused unless allowed
 *   bundles/<id>/current        a link to versions/<version>-<digest>: what runs
 *   bundles/<id>/versions/      each unpacked version, and <dir>.ini: who signed it, ...
 *   bundles/<id>/pending        while an install is not yet proven: which version to go
 *                               back to
 *
 * An install: verify (signature by a key the domain trusts, plugin API, architecture,
 * capabilities the domain allows, approval of new ones) -> unpack into staging-* ->
 * rename into versions/ -> write `pending` -> switch `current` (a new link renamed over
 * it: atomic) -> (re)start the instance -> health check: running, and still running
 * after the health period -> remove `pending`. A failure after the switch switches back
 * and starts the previous version again (a fresh install is removed). At start,
 * hgd_bundles_load () finds any `pending` an install left when hemgated was killed and
 * switches back before any plugin starts: so a kill at any step leaves the previous
 * version running. Progress and outcome are journal events of the domain (`bundle.*`). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <unistd.h>

#include "hg-event-private.h"
#include "hgd-bundle.h"
#include "hgd-bundles.h"
#include "hgd-capabilities.h"
#include "hgd-manifest.h"
#include "hgd-plugin-manager.h"

#define KEYS_FILE "bundle-keys"
#define VERSIONS_FILE "bundle-versions"
#define BUNDLES_DIR "bundles"
#define PENDING_FILE "pending"
#define CURRENT_LINK "current"
/* how often an install job looks at the instance it started */
#define POLL_MS 100
/* jobs kept for their status route once finished */
#define MAX_FINISHED_JOBS 32

G_DEFINE_QUARK (hgd-bundles-error-quark, hgd_bundles_error)

static const gchar *const error_codes[] = {
  "untrusted-key",   "revoked-key", "wrong-domain", "capability-forbidden",
  "approval-needed", "conflict",    "busy",         "not-found",
  "downgrade",
};

/**
 * hgd_bundles_error_to_code:
 * @error: an error of hgd_bundles_install () and the others
 *
 * Returns: the API's code for it, e.g. `untrusted-key`
 */
const gchar *
hgd_bundles_error_to_code (const GError *error)
{
  if (error->domain == HGD_BUNDLES_ERROR && (guint) error->code < G_N_ELEMENTS (error_codes))
    return error_codes[error->code];
  if (error->domain == HGD_BUNDLE_ERROR)
    return hgd_bundle_error_to_code ((HgdBundleError) error->code);
  return "install-failed";
}

typedef struct
{
  HgdBundles *self; /* (unowned) (nullable) NULL once disposed */
  gchar *id;        /* (owned) */
  gchar *plugin;    /* (owned) */
  gchar *version;   /* (owned) */
  HgDomain domain;
  gchar *who;         /* (owned) */
  const gchar *state; /* running, succeeded, rolled-back, failed */
  const gchar *step;  /* accepted, staging, switching, starting, health-check, rolling-back, done */
  gchar *error;       /* (owned) (nullable) */
  gchar *previous;    /* (owned) (nullable) the version dir to go back to */
  gchar *previous_version; /* (owned) (nullable) */
  gchar *new_dir;          /* (owned) the version dir being installed */
  HgdBundle *bundle;       /* (owned) (nullable) until unpacked */
  gchar *key_id;           /* (owned) */
  gchar *capabilities;     /* (owned) comma-separated, for the .ini */
  gchar *digest;           /* (owned) the build's */
  gchar *downgrade_from;   /* (owned) (nullable) the highest version before, when allowed */
  guint health_seconds;
  guint poll_id;
  gint64 started;       /* monotonic, when accepted */
  gint64 deadline;      /* monotonic, to be running by */
  gint64 running_since; /* monotonic, 0 while not running */
  gint64 running_ms;    /* from accepted to first running, or -1 */
  gint64 finished_ms;   /* from accepted to the outcome, or -1 */
} Job;

struct _HgdBundles
{
  GObject parent_instance;
  HgdPluginManager *manager;            /* (unowned) it owns us */
  HgdConfig *config;                    /* (owned) */
  HgdJournal *journals[HG_DOMAIN_LAST]; /* (owned) (nullable) each */
  gchar *domain_dirs[HG_DOMAIN_LAST];   /* (owned) */
  GKeyFile *keys[HG_DOMAIN_LAST];       /* (owned) */
  GKeyFile *versions[HG_DOMAIN_LAST];   /* (owned) bundle-versions */
  GHashTable *jobs;                     /* (owned) id -> Job */
  GQueue finished;                      /* ids of finished jobs, oldest first (owned) */
  guint next_job;
};

G_DEFINE_TYPE (HgdBundles, hgd_bundles, G_TYPE_OBJECT)

static void
job_free (Job *job)
{
  g_clear_handle_id (&job->poll_id, g_source_remove);
  g_free (job->id);
  g_free (job->plugin);
  g_free (job->version);
  g_free (job->who);
  g_free (job->error);
  g_free (job->previous);
  g_free (job->previous_version);
  g_free (job->new_dir);
  g_clear_object (&job->bundle);
  g_free (job->key_id);
  g_free (job->capabilities);
  g_free (job->digest);
  g_free (job->downgrade_from);
  g_free (job);
}

/* Files ------------------------------------------------------------------------------- */

static gchar *
bundle_dir (HgdBundles *self,
            HgDomain domain,
            const gchar *plugin)
{
  return g_build_filename (self->domain_dirs[domain], BUNDLES_DIR, plugin, NULL);
}

static gchar *
bundle_file (HgdBundles *self,
             HgDomain domain,
             const gchar *plugin,
             const gchar *name)
{
  return g_build_filename (self->domain_dirs[domain], BUNDLES_DIR, plugin, name, NULL);
}

/* The keys the core stores for an installed plugin (the fleet manifest's `config`):
 * STATE/DOMAIN/bundle-config/ID.ini, apart from the bundle's folder so that an install's
 * staging and rollback leave it alone. */
static gchar *
config_path (HgdBundles *self,
             HgDomain domain,
             const gchar *plugin)
{
  g_autofree gchar *name = g_strconcat (plugin, ".ini", NULL);
  return g_build_filename (self->domain_dirs[domain], "bundle-config", name, NULL);
}

static GKeyFile *
load_config (HgdBundles *self,
             HgDomain domain,
             const gchar *plugin)
{
  g_autofree gchar *path = config_path (self, domain, plugin);
  GKeyFile *file = g_key_file_new ();

  (void) g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, NULL);
  return file;
}

/* Gives @instance the keys stored for it, if any. */
static void
apply_stored_config (HgdBundles *self,
                     HgDomain domain,
                     HgdPluginInstance *instance)
{
  g_autoptr(GKeyFile) file = load_config (self, domain, hgd_plugin_instance_get_id (instance));
  g_auto(GStrv) keys = g_key_file_get_keys (file, "config", NULL, NULL);
  g_autoptr(GHashTable) config = NULL;

  if (keys == NULL)
    {
      hgd_plugin_instance_set_stored_config (instance, NULL);
      return;
    }
  config = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; keys[i] != NULL; i++)
    g_hash_table_insert (config, g_strdup (keys[i]),
                         g_key_file_get_string (file, "config", keys[i], NULL));
  hgd_plugin_instance_set_stored_config (instance, config);
}

/**
 * hgd_bundles_set_config:
 * @self: the bundles
 * @domain: the domain
 * @plugin: a plugin id, installed or about to be
 * @config: (element-type utf8 utf8) (nullable): its own keys; %NULL: none stored
 * @digest: (nullable): names @config, e.g. in the fleet's status
 * @error: a #GError
 *
 * Stores @config for @plugin and gives it to its instance, which reads it at its next
 * start (the caller restarts it if it runs).
 *
 * Returns: %TRUE if stored
 */
gboolean
hgd_bundles_set_config (HgdBundles *self,
                        HgDomain domain,
                        const gchar *plugin,
                        GHashTable *config,
                        const gchar *digest,
                        GError **error)
{
  g_autofree gchar *path = config_path (self, domain, plugin);
  g_autofree gchar *dir = g_path_get_dirname (path);
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autofree gchar *data = NULL;
  HgdPluginInstance *instance;
  GHashTableIter iter;
  gpointer key, value;

  g_return_val_if_fail (HGD_IS_BUNDLES (self), FALSE);
  g_return_val_if_fail (hgd_manifest_id_is_valid (plugin), FALSE);

  if (config == NULL)
    {
      if (g_unlink (path) != 0 && errno != ENOENT)
        {
          int saved = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s", path,
                       g_strerror (saved));
          return FALSE;
        }
      instance = hgd_plugin_manager_find (self->manager, plugin);
      if (instance != NULL && hgd_plugin_instance_get_installed_link (instance) != NULL)
        hgd_plugin_instance_set_stored_config (instance, NULL);
      return TRUE;
    }
  g_return_val_if_fail (digest != NULL, FALSE);
  g_key_file_set_string (file, "stored", "digest", digest);
  g_hash_table_iter_init (&iter, config);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_key_file_set_string (file, "config", key, value);
  data = g_key_file_to_data (file, NULL, NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s", dir,
                   g_strerror (saved));
      return FALSE;
    }
  if (!g_file_set_contents_full (path, data, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
    return FALSE;
  instance = hgd_plugin_manager_find (self->manager, plugin);
  if (instance != NULL && hgd_plugin_instance_get_installed_link (instance) != NULL)
    apply_stored_config (self, domain, instance);
  return TRUE;
}

/**
 * hgd_bundles_dup_config:
 * @self: the bundles
 * @domain: the domain
 * @plugin: a plugin id
 * @digest: (out) (optional) (nullable): its digest
 *
 * Returns: (transfer full) (nullable) (element-type utf8 utf8): the keys stored for
 *   @plugin by hgd_bundles_set_config(), or %NULL
 */
GHashTable *
hgd_bundles_dup_config (HgdBundles *self,
                        HgDomain domain,
                        const gchar *plugin,
                        gchar **digest)
{
  g_autoptr(GKeyFile) file = NULL;
  g_auto(GStrv) keys = NULL;
  GHashTable *config;

  g_return_val_if_fail (HGD_IS_BUNDLES (self), NULL);
  file = load_config (self, domain, plugin);
  if (digest != NULL)
    *digest = g_key_file_get_string (file, "stored", "digest", NULL);
  if (!g_key_file_has_group (file, "stored"))
    return NULL;
  config = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  keys = g_key_file_get_keys (file, "config", NULL, NULL);
  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    g_hash_table_insert (config, g_strdup (keys[i]),
                         g_key_file_get_string (file, "config", keys[i], NULL));
  return config;
}

/**
 * hgd_bundles_dup_config_digest:
 * @self: the bundles
 * @domain: the domain
 * @plugin: a plugin id
 *
 * Returns: (transfer full) (nullable): the digest given with the keys stored for
 *   @plugin by hgd_bundles_set_config(), or %NULL
 */
gchar *
hgd_bundles_dup_config_digest (HgdBundles *self,
                               HgDomain domain,
                               const gchar *plugin)
{
  g_autoptr(GKeyFile) file = NULL;

  g_return_val_if_fail (HGD_IS_BUNDLES (self), NULL);
  file = load_config (self, domain, plugin);
  return g_key_file_get_string (file, "stored", "digest", NULL);
}

/* Removes @path and what is under it, never following a link. */
static void
remove_tree (const gchar *path)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const gchar *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree gchar *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      if (g_rmdir (path) != 0)
        g_warning ("cannot remove %s: %s", path, g_strerror (errno));
    }
  else if (g_unlink (path) != 0)
    g_warning ("cannot remove %s: %s", path, g_strerror (errno));
}

static void
sync_dir (const gchar *path)
{
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    return;
  (void) fsync (fd);
  close (fd);
}

/* Points @plugin's `current` at versions/@version_dir, atomically; %NULL removes it. */
static gboolean
switch_current (HgdBundles *self,
                HgDomain domain,
                const gchar *plugin,
                const gchar *version_dir,
                GError **error)
{
  g_autofree gchar *link = bundle_file (self, domain, plugin, CURRENT_LINK);
  g_autofree gchar *tmp = bundle_file (self, domain, plugin, CURRENT_LINK ".new");
  g_autofree gchar *dir = bundle_dir (self, domain, plugin);
  g_autofree gchar *target = NULL;

  if (version_dir == NULL)
    {
      if (g_unlink (link) != 0 && errno != ENOENT)
        {
          int errsv = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "cannot remove %s: %s",
                       link, g_strerror (errsv));
          return FALSE;
        }
      sync_dir (dir);
      return TRUE;
    }
  target = g_build_filename ("versions", version_dir, NULL);
  (void) g_unlink (tmp);
  if (symlink (target, tmp) != 0 || g_rename (tmp, link) != 0)
    {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "cannot switch %s: %s", link,
                   g_strerror (errsv));
      return FALSE;
    }
  sync_dir (dir);
  return TRUE;
}

/* The version folder `current` names now, or %NULL. */
static gchar *
current_version_dir (HgdBundles *self,
                     HgDomain domain,
                     const gchar *plugin)
{
  g_autofree gchar *link = bundle_file (self, domain, plugin, CURRENT_LINK);
  g_autofree gchar *target = g_file_read_link (link, NULL);

  if (target == NULL || !g_str_has_prefix (target, "versions/"))
    return NULL;
  return g_strdup (target + strlen ("versions/"));
}

static GKeyFile *
load_version_info (HgdBundles *self,
                   HgDomain domain,
                   const gchar *plugin,
                   const gchar *version_dir)
{
  g_autofree gchar *name = g_strconcat (version_dir, ".ini", NULL);
  g_autofree gchar *path
      = g_build_filename (self->domain_dirs[domain], BUNDLES_DIR, plugin, "versions", name, NULL);
  GKeyFile *info = g_key_file_new ();

  if (!g_key_file_load_from_file (info, path, G_KEY_FILE_NONE, NULL))
    g_clear_pointer (&info, g_key_file_unref);
  return info;
}

/* A test's way to kill hemgated at a named step of an install, as a power cut would
 * (HEMGATED_TEST_KILL_AT=staging|switch). */
static void
test_kill_point (const gchar *step)
{
  const gchar *at = g_getenv ("HEMGATED_TEST_KILL_AT");

  if (at != NULL && g_strcmp0 (at, step) == 0)
    {
      g_message ("killed at install step %s, as HEMGATED_TEST_KILL_AT asks", step);
      kill (getpid (), SIGKILL);
    }
}

/* Journal ----------------------------------------------------------------------------- */

static void
journaled_cb (GObject *source,
              GAsyncResult *result,
              gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!hgd_journal_append_finish (HGD_JOURNAL (source), result, &error))
    g_warning ("cannot journal a bundle event: %s", error->message);
}

/* Journals @type in @domain with @body (taken), source @who. */
static void
record (HgdBundles *self,
        HgDomain domain,
        const gchar *type,
        const gchar *who,
        JsonObject *body)
{
  g_autoptr(HgEvent) event = NULL;

  if (self->journals[domain] == NULL)
    {
      json_object_unref (body);
      return;
    }
  event = hg_event_new (type, body);
  json_object_unref (body);
  hg_event_set_source (event, who);
  hgd_journal_append_async (self->journals[domain], event, NULL, NULL, journaled_cb, NULL);
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

static JsonObject *
job_body (Job *job)
{
  JsonObject *body = json_object_new ();

  json_object_set_string_member (body, "job", job->id);
  json_object_set_string_member (body, "plugin", job->plugin);
  json_object_set_string_member (body, "version", job->version);
  json_object_set_string_member (body, "step", job->step);
  set_nullable (body, "previous_version", job->previous_version);
  return body;
}

/* Trusted keys ------------------------------------------------------------------------ */

static gchar *
key_group (const gchar *key_id)
{
  return g_strconcat ("key ", key_id, NULL);
}

static gboolean
save_keys (HgdBundles *self,
           HgDomain domain,
           GError **error)
{
  g_autofree gchar *path = g_build_filename (self->domain_dirs[domain], KEYS_FILE, NULL);
  g_autofree gchar *data = NULL;
  gsize length = 0;

  data = g_key_file_to_data (self->keys[domain], &length, NULL);
  return g_file_set_contents_full (path, data, (gssize) length,
                                   G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                   0600, error);
}

static JsonObject *
key_to_json (HgdBundles *self,
             HgDomain domain,
             const gchar *group)
{
  JsonObject *object = json_object_new ();
  g_autofree gchar *public_key = g_key_file_get_string (self->keys[domain], group, "public", NULL);
  g_autofree gchar *name = g_key_file_get_string (self->keys[domain], group, "name", NULL);
  g_autofree gchar *added_by = g_key_file_get_string (self->keys[domain], group, "added-by", NULL);
  g_autofree gchar *added_at = g_key_file_get_string (self->keys[domain], group, "added-at", NULL);
  g_autofree gchar *revoked_by
      = g_key_file_get_string (self->keys[domain], group, "revoked-by", NULL);
  g_autofree gchar *revoked_at
      = g_key_file_get_string (self->keys[domain], group, "revoked-at", NULL);

  json_object_set_string_member (object, "id", group + strlen ("key "));
  json_object_set_string_member (object, "domain", hg_domain_to_string (domain));
  set_nullable (object, "public_key", public_key);
  set_nullable (object, "name", name);
  set_nullable (object, "added_by", added_by);
  set_nullable (object, "added_at", added_at);
  json_object_set_boolean_member (object, "revoked", revoked_by != NULL);
  set_nullable (object, "revoked_by", revoked_by);
  set_nullable (object, "revoked_at", revoked_at);
  return object;
}

/**
 * hgd_bundles_list_keys:
 * @self: the bundles
 * @domain: whose keys
 *
 * Returns: (transfer full): the keys @domain trusts, or trusted and revoked
 */
JsonArray *
hgd_bundles_list_keys (HgdBundles *self,
                       HgDomain domain)
{
  JsonArray *array = json_array_new ();
  g_auto(GStrv) groups = NULL;

  g_return_val_if_fail (HGD_IS_BUNDLES (self), array);
  groups = g_key_file_get_groups (self->keys[domain], NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      if (g_str_has_prefix (groups[i], "key "))
        json_array_add_object_element (array, key_to_json (self, domain, groups[i]));
    }
  return array;
}

/**
 * hgd_bundles_trust_key:
 * @self: the bundles
 * @domain: which domain trusts it
 * @public_key: an Ed25519 public key in base64
 * @name: (nullable): a name for people, e.g. the provider's
 * @who: who, e.g. `user:admin`
 * @error: return location for a #GError
 *
 * Bundles signed by the key may then be installed in @domain. A revoked key stays
 * revoked (%HGD_BUNDLES_ERROR_REVOKED_KEY): a provider whose key was lost makes a new one.
 *
 * Returns: (transfer full) (nullable): the key as hgd_bundles_list_keys() shows it
 */
JsonObject *
hgd_bundles_trust_key (HgdBundles *self,
                       HgDomain domain,
                       const gchar *public_key,
                       const gchar *name,
                       const gchar *who,
                       GError **error)
{
  g_autoptr(GBytes) key = NULL;
  g_autofree gchar *id = NULL;
  g_autofree gchar *group = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree gchar *at = g_date_time_format_iso8601 (now);
  JsonObject *body;

  g_return_val_if_fail (HGD_IS_BUNDLES (self), NULL);

  key = hgd_bundle_public_key_from_base64 (public_key, error);
  if (key == NULL)
    return NULL;
  id = hgd_bundle_key_id (key);
  group = key_group (id);
  if (g_key_file_has_key (self->keys[domain], group, "revoked-by", NULL))
    {
      g_set_error (error, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_REVOKED_KEY,
                   "key %s is revoked in the %s domain; it cannot be trusted again", id,
                   hg_domain_to_string (domain));
      return NULL;
    }
  if (!g_key_file_has_group (self->keys[domain], group))
    {
      g_key_file_set_string (self->keys[domain], group, "public", public_key);
      if (name != NULL)
        g_key_file_set_string (self->keys[domain], group, "name", name);
      g_key_file_set_string (self->keys[domain], group, "added-by", who);
      g_key_file_set_string (self->keys[domain], group, "added-at", at);
      if (!save_keys (self, domain, error))
        {
          g_key_file_remove_group (self->keys[domain], group, NULL);
          return NULL;
        }
      body = json_object_new ();
      json_object_set_string_member (body, "key", id);
      set_nullable (body, "name", name);
      json_object_set_string_member (body, "who", who);
      record (self, domain, "bundle.key-trusted", who, body);
      g_message ("key %s trusted for the %s domain by %s", id, hg_domain_to_string (domain), who);
    }
  return key_to_json (self, domain, group);
}

/**
 * hgd_bundles_revoke_key:
 * @self: the bundles
 * @domain: the domain that trusted it
 * @key_id: the key's id
 * @who: who, e.g. `user:admin`
 * @error: return location for a #GError
 *
 * Its bundles are refused from now on; plugins running from one are reported in health
 * (hgd_bundles_dup_warning()) until removed or upgraded with another key's bundle.
 *
 * Returns: (transfer full) (nullable): the key, revoked
 */
JsonObject *
hgd_bundles_revoke_key (HgdBundles *self,
                        HgDomain domain,
                        const gchar *key_id,
                        const gchar *who,
                        GError **error)
{
  g_autofree gchar *group = key_group (key_id);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree gchar *at = g_date_time_format_iso8601 (now);
  JsonObject *body;

  g_return_val_if_fail (HGD_IS_BUNDLES (self), NULL);

  if (!g_key_file_has_group (self->keys[domain], group))
    {
      g_set_error (error, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_NOT_FOUND,
                   "the %s domain has no key %s", hg_domain_to_string (domain), key_id);
      return NULL;
    }
  if (!g_key_file_has_key (self->keys[domain], group, "revoked-by", NULL))
    {
      g_key_file_set_string (self->keys[domain], group, "revoked-by", who);
      g_key_file_set_string (self->keys[domain], group, "revoked-at", at);
      if (!save_keys (self, domain, error))
        {
          g_key_file_remove_key (self->keys[domain], group, "revoked-by", NULL);
          g_key_file_remove_key (self->keys[domain], group, "revoked-at", NULL);
          return NULL;
        }
      body = json_object_new ();
      json_object_set_string_member (body, "key", key_id);
      json_object_set_string_member (body, "who", who);
      record (self, domain, "bundle.key-revoked", who, body);
      g_message ("key %s revoked in the %s domain by %s", key_id, hg_domain_to_string (domain),
                 who);
    }
  return key_to_json (self, domain, group);
}

static gboolean
key_is_revoked (HgdBundles *self,
                HgDomain domain,
                const gchar *key_id)
{
  g_autofree gchar *group = key_group (key_id);
  return g_key_file_has_key (self->keys[domain], group, "revoked-by", NULL);
}

/* Versions seen ----------------------------------------------------------------------- */

/* The next segment of @p: a run of digits or a run of other characters but the
 * separators `.`, `-`, `+`, `~` and `_`; *@p moves past it and the separators after it. */
static gsize
version_segment (const gchar **p,
                 gboolean *numeric)
{
  const gchar *start = *p;
  gsize length = 0;

  *numeric = g_ascii_isdigit (*start);
  while (start[length] != '\0' && strchr (".-+~_", start[length]) == NULL
         && (g_ascii_isdigit (start[length]) != 0) == *numeric)
    length++;
  *p = start + length;
  while (**p != '\0' && strchr (".-+~_", **p) != NULL)
    (*p)++;
  return length;
}

/**
 * hgd_bundles_compare_versions:
 * @a: a plugin's version, e.g. `1.10.2`
 * @b: another
 *
 * Compares segment by segment: runs of digits as numbers (so 1.10 is newer than 1.9),
 * other runs as text; a version that goes on after the other ends is newer (1.0.1 after
 * 1.0).
 *
 * Returns: < 0 when @a is older than @b, 0 when they are the same, > 0 when newer
 */
gint
hgd_bundles_compare_versions (const gchar *a,
                              const gchar *b)
{
  while (*a != '\0' && *b != '\0')
    {
      const gchar *sa = a;
      const gchar *sb = b;
      gboolean na;
      gboolean nb;
      gsize la = version_segment (&a, &na);
      gsize lb = version_segment (&b, &nb);
      gint cmp;

      if (na != nb)
        return na ? 1 : -1; /* a number is newer than a word (1.0 after 1.0rc) */
      if (na)
        {
          while (la > 1 && *sa == '0')
            sa++, la--;
          while (lb > 1 && *sb == '0')
            sb++, lb--;
          if (la != lb)
            return la < lb ? -1 : 1;
        }
      cmp = strncmp (sa, sb, MIN (la, lb));
      if (cmp != 0)
        return cmp < 0 ? -1 : 1;
      if (la != lb)
        return la < lb ? -1 : 1;
    }
  if (*a == '\0' && *b == '\0')
    return 0;
  return *a == '\0' ? -1 : 1;
}

static gchar *
version_group (const gchar *plugin)
{
  return g_strconcat ("plugin ", plugin, NULL);
}

/* Remembers @version (@digest) of @plugin as the highest installed, if it is. */
static void
note_version (HgdBundles *self,
              HgDomain domain,
              const gchar *plugin,
              const gchar *version,
              const gchar *digest)
{
  g_autofree gchar *group = version_group (plugin);
  g_autofree gchar *highest = g_key_file_get_string (self->versions[domain], group, "version", NULL);
  g_autofree gchar *path = g_build_filename (self->domain_dirs[domain], VERSIONS_FILE, NULL);
  g_autofree gchar *data = NULL;
  g_autoptr(GError) error = NULL;
  gsize length = 0;

  if (highest != NULL && hgd_bundles_compare_versions (version, highest) < 0)
    return;
  g_key_file_set_string (self->versions[domain], group, "version", version);
  g_key_file_set_string (self->versions[domain], group, "digest", digest);
  data = g_key_file_to_data (self->versions[domain], &length, NULL);
  if (!g_file_set_contents_full (path, data, (gssize) length,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0600, &error))
    g_warning ("cannot remember version %s of %s: %s", version, plugin, error->message);
}

/* Whether @version (@digest) of @plugin is a downgrade: older than the highest version
 * installed before, or another build of that version. Returns the highest in @highest. */
static gboolean
is_downgrade (HgdBundles *self,
              HgDomain domain,
              const gchar *plugin,
              const gchar *version,
              const gchar *digest,
              gchar **highest)
{
  g_autofree gchar *group = version_group (plugin);
  g_autofree gchar *seen = g_key_file_get_string (self->versions[domain], group, "version", NULL);
  g_autofree gchar *seen_digest
      = g_key_file_get_string (self->versions[domain], group, "digest", NULL);
  gint cmp;

  if (seen == NULL)
    return FALSE;
  cmp = hgd_bundles_compare_versions (version, seen);
  if (cmp > 0 || (cmp == 0 && g_strcmp0 (digest, seen_digest) == 0))
    return FALSE;
  *highest = g_steal_pointer (&seen);
  return TRUE;
}

/* Installed --------------------------------------------------------------------------- */

/**
 * hgd_bundles_dup_trusted_key:
 * @self: the bundles
 * @domain: the domain that must trust the key
 * @key_id: a key id, as a signature names it
 * @error: return location for a #GError
 *
 * The same refusals as an install's, for what else a domain's keys sign (the fleet's
 * deployment manifests): a key of the other domain, an unknown one, a revoked one.
 *
 * Returns: (transfer full) (nullable): the Ed25519 public key, or %NULL with
 *   %HGD_BUNDLES_ERROR_UNTRUSTED_KEY or %HGD_BUNDLES_ERROR_REVOKED_KEY
 */
GBytes *
hgd_bundles_dup_trusted_key (HgdBundles *self,
                             HgDomain domain,
                             const gchar *key_id,
                             GError **error)
{
  HgDomain other = domain == HG_DOMAIN_MUNICIPAL ? HG_DOMAIN_PERSONAL : HG_DOMAIN_MUNICIPAL;
  g_autofree gchar *group = NULL;
  g_autofree gchar *public_text = NULL;

  g_return_val_if_fail (HGD_IS_BUNDLES (self), NULL);
  g_return_val_if_fail (key_id != NULL, NULL);

  group = key_group (key_id);
  if (!g_key_file_has_group (self->keys[domain], group))
    {
      if (g_key_file_has_group (self->keys[other], group))
        g_set_error (error, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_UNTRUSTED_KEY,
                     "signed by key %s, which the %s domain trusts, not the %s domain", key_id,
                     hg_domain_to_string (other), hg_domain_to_string (domain));
      else
        g_set_error (error, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_UNTRUSTED_KEY,
                     "signed by key %s, which the %s domain does not trust", key_id,
                     hg_domain_to_string (domain));
      return NULL;
    }
  if (key_is_revoked (self, domain, key_id))
    {
      g_set_error (error, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_REVOKED_KEY,
                   "signed by key %s, revoked in the %s domain", key_id,
                   hg_domain_to_string (domain));
      return NULL;
    }
  public_text = g_key_file_get_string (self->keys[domain], group, "public", NULL);
  return hgd_bundle_public_key_from_base64 (public_text, error);
}

static GStrv
installed_plugins (HgdBundles *self,
                   HgDomain domain)
{
  g_autofree gchar *path = g_build_filename (self->domain_dirs[domain], BUNDLES_DIR, NULL);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  const gchar *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      if (hgd_manifest_id_is_valid (name))
        g_strv_builder_add (builder, name);
    }
  return g_strv_builder_end (builder);
}

/**
 * hgd_bundles_list_installed:
 * @self: the bundles
 * @domain: whose
 *
 * Returns: (transfer full): each plugin installed from a bundle in @domain: {"id",
 *   "version", "signed_by", "key_revoked", "digest", "installed_by", "installed_at",
 *   "previous_version", "capabilities", "pending"}
 */
JsonArray *
hgd_bundles_list_installed (HgdBundles *self,
                            HgDomain domain)
{
  JsonArray *array = json_array_new ();
  g_auto(GStrv) plugins = NULL;

  g_return_val_if_fail (HGD_IS_BUNDLES (self), array);
  plugins = installed_plugins (self, domain);
  for (guint i = 0; plugins[i] != NULL; i++)
    {
      g_autofree gchar *current = current_version_dir (self, domain, plugins[i]);
      g_autoptr(GKeyFile) info = NULL;
      g_autofree gchar *version = NULL;
      g_autofree gchar *key = NULL;
      g_autofree gchar *digest = NULL;
      g_autofree gchar *by = NULL;
      g_autofree gchar *at = NULL;
      g_autofree gchar *previous = NULL;
      g_auto(GStrv) capabilities = NULL;
      g_autofree gchar *pending = bundle_file (self, domain, plugins[i], PENDING_FILE);
      JsonObject *object;
      JsonArray *caps = json_array_new ();

      if (current == NULL || (info = load_version_info (self, domain, plugins[i], current)) == NULL)
        {
          json_array_unref (caps);
          continue;
        }
      version = g_key_file_get_string (info, "bundle", "version", NULL);
      key = g_key_file_get_string (info, "bundle", "key", NULL);
      digest = g_key_file_get_string (info, "bundle", "digest", NULL);
      by = g_key_file_get_string (info, "bundle", "installed-by", NULL);
      at = g_key_file_get_string (info, "bundle", "installed-at", NULL);
      previous = g_key_file_get_string (info, "bundle", "previous-version", NULL);
      capabilities = g_key_file_get_string_list (info, "bundle", "capabilities", NULL, NULL);
      for (guint j = 0; capabilities != NULL && capabilities[j] != NULL; j++)
        json_array_add_string_element (caps, capabilities[j]);
      object = json_object_new ();
      json_object_set_string_member (object, "id", plugins[i]);
      json_object_set_string_member (object, "domain", hg_domain_to_string (domain));
      set_nullable (object, "version", version);
      set_nullable (object, "signed_by", key);
      json_object_set_boolean_member (object, "key_revoked",
                                      key != NULL && key_is_revoked (self, domain, key));
      set_nullable (object, "digest", digest);
      set_nullable (object, "installed_by", by);
      set_nullable (object, "installed_at", at);
      set_nullable (object, "previous_version",
                    previous != NULL && previous[0] != '\0' ? previous : NULL);
      json_object_set_array_member (object, "capabilities", caps);
      json_object_set_boolean_member (object, "pending", g_file_test (pending, G_FILE_TEST_EXISTS));
      json_array_add_object_element (array, object);
    }
  return array;
}

/**
 * hgd_bundles_dup_warning:
 * @self: the bundles
 * @domain: whose plugins
 *
 * Returns: (transfer full) (nullable): which plugins of @domain run from a bundle whose
 *   key was revoked since, or %NULL
 */
gchar *
hgd_bundles_dup_warning (HgdBundles *self,
                         HgDomain domain)
{
  g_autoptr(JsonArray) installed = NULL;
  g_autoptr(GString) warning = NULL;

  g_return_val_if_fail (HGD_IS_BUNDLES (self), NULL);
  installed = hgd_bundles_list_installed (self, domain);
  for (guint i = 0; i < json_array_get_length (installed); i++)
    {
      JsonObject *object = json_array_get_object_element (installed, i);

      if (!json_object_get_boolean_member (object, "key_revoked"))
        continue;
      if (warning == NULL)
        warning = g_string_new (NULL);
      else
        g_string_append (warning, "; ");
      g_string_append_printf (warning,
                              "plugin %s %s runs from a bundle signed by key %s, revoked since",
                              json_object_get_string_member (object, "id"),
                              json_object_get_string_member_with_default (object, "version", ""),
                              json_object_get_string_member_with_default (object, "signed_by", ""));
    }
  return warning != NULL ? g_string_free (g_steal_pointer (&warning), FALSE) : NULL;
}

/* Recovery ---------------------------------------------------------------------------- */

/* An install hemgated did not see to its end: back to what ran before it. */
static void
recover (HgdBundles *self,
         HgDomain domain,
         const gchar *plugin)
{
  g_autofree gchar *dir = bundle_dir (self, domain, plugin);
  g_autofree gchar *pending_path = bundle_file (self, domain, plugin, PENDING_FILE);
  g_autoptr(GKeyFile) pending = g_key_file_new ();
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *previous = NULL;
  g_autofree gchar *new_dir = NULL;
  const gchar *name;
  JsonObject *body;

  /* staging folders of an install cut short before its switch */
  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL)
    {
      if (g_str_has_prefix (name, "staging-") || g_strcmp0 (name, CURRENT_LINK ".new") == 0)
        {
          g_autofree gchar *path = g_build_filename (dir, name, NULL);
          remove_tree (path);
        }
    }
  if (!g_key_file_load_from_file (pending, pending_path, G_KEY_FILE_NONE, NULL))
    return;
  previous = g_key_file_get_string (pending, "pending", "previous", NULL);
  new_dir = g_key_file_get_string (pending, "pending", "new", NULL);
  if (previous != NULL && previous[0] == '\0')
    g_clear_pointer (&previous, g_free);
  if (!switch_current (self, domain, plugin, previous, &error))
    {
      g_warning ("cannot undo the unfinished install of %s: %s", plugin, error->message);
      return;
    }
  if (new_dir != NULL && hgd_manifest_id_is_valid (plugin) && g_strcmp0 (new_dir, previous) != 0
      && strchr (new_dir, '/') == NULL && new_dir[0] != '.')
    {
      g_autofree gchar *versions = g_build_filename (dir, "versions", NULL);
      g_autofree gchar *path = g_build_filename (versions, new_dir, NULL);
      g_autofree gchar *ini_name = g_strconcat (new_dir, ".ini", NULL);
      g_autofree gchar *ini = g_build_filename (versions, ini_name, NULL);

      remove_tree (path);
      (void) g_unlink (ini);
    }
  (void) g_unlink (pending_path);
  if (previous == NULL)
    remove_tree (dir);
  g_warning ("the install of %s was cut short; %s", plugin,
             previous != NULL ? "its previous version is back" : "it is not installed");
  body = json_object_new ();
  json_object_set_string_member (body, "plugin", plugin);
  json_object_set_string_member (body, "reason", "hemgated stopped before the install was proven");
  set_nullable (body, "restored", previous);
  record (self, domain, "bundle.rolled-back", "core", body);
}

/**
 * hgd_bundles_load:
 * @self: the bundles
 *
 * At start, before the plugins start: undoes any install cut short, and adds an
 * instance for each plugin installed from a bundle.
 */
void
hgd_bundles_load (HgdBundles *self)
{
  g_return_if_fail (HGD_IS_BUNDLES (self));

  for (guint d = 0; d < HG_DOMAIN_LAST; d++)
    {
      g_auto(GStrv) plugins = installed_plugins (self, (HgDomain) d);

      for (guint i = 0; plugins[i] != NULL; i++)
        {
          g_autofree gchar *link = bundle_file (self, (HgDomain) d, plugins[i], CURRENT_LINK);

          recover (self, (HgDomain) d, plugins[i]);
          if (!g_file_test (link, G_FILE_TEST_IS_SYMLINK))
            continue;
          if (hgd_plugin_manager_find (self->manager, plugins[i]) != NULL)
            {
              g_warning ("plugin %s is installed from a bundle and named in the configuration too; "
                         "the bundle is not started (mark its group source = bundle to "
                         "configure the bundle's instance)",
                         plugins[i]);
              continue;
            }
          apply_stored_config (
              self, (HgDomain) d,
              hgd_plugin_manager_add_installed (self->manager, plugins[i], (HgDomain) d, link));
        }
    }
}

/* Install ----------------------------------------------------------------------------- */

static void job_finish (Job *job, const gchar *state, const gchar *error);
static void job_roll_back (Job *job, const gchar *reason);

static void
job_set_step (Job *job,
              const gchar *step)
{
  job->step = step;
  g_debug ("install job %s (%s): %s", job->id, job->plugin, step);
  record (job->self, job->domain, "bundle.progress", job->who, job_body (job));
}

static gint64
elapsed_ms (Job *job)
{
  return (g_get_monotonic_time () - job->started) / 1000;
}

static gboolean
poll_cb (gpointer user_data)
{
  Job *job = user_data;
  HgdPluginInstance *instance = hgd_plugin_manager_find (job->self->manager, job->plugin);
  HgdPluginState state
      = instance != NULL ? hgd_plugin_instance_get_state (instance) : HGD_PLUGIN_STATE_FAILED;
  gint64 now = g_get_monotonic_time ();

  if (state == HGD_PLUGIN_STATE_RUNNING)
    {
      if (job->running_since == 0)
        {
          job->running_since = now;
          job->running_ms = elapsed_ms (job);
          job_set_step (job, "health-check");
        }
      if (now - job->running_since >= (gint64) job->health_seconds * G_USEC_PER_SEC)
        {
          job->poll_id = 0;
          job_finish (job, "succeeded", NULL);
          return G_SOURCE_REMOVE;
        }
      return G_SOURCE_CONTINUE;
    }
  if (state == HGD_PLUGIN_STATE_STARTING && job->running_since == 0 && now < job->deadline)
    return G_SOURCE_CONTINUE;
  job->poll_id = 0;
  {
    g_autoptr(JsonObject) object
        = instance != NULL ? hgd_plugin_instance_to_json (instance) : NULL;
    const gchar *error = object != NULL
                             ? json_object_get_string_member_with_default (object, "error", NULL)
                             : NULL;
    g_autofree gchar *reason = NULL;

    if (state == HGD_PLUGIN_STATE_STARTING)
      reason = g_strdup ("the new version did not start in time");
    else if (job->running_since != 0)
      reason = g_strdup_printf ("the new version stopped running during the health check (%s)",
                                error != NULL ? error : hgd_plugin_state_to_string (state));
    else
      reason = g_strdup_printf ("the new version did not start (%s)",
                                error != NULL ? error : hgd_plugin_state_to_string (state));
    job_roll_back (job, reason);
  }
  return G_SOURCE_REMOVE;
}

static void
job_watch (Job *job)
{
  guint start_timeout = (guint) hgd_config_get_int (job->self->config, "plugins", "start-timeout");

  job->deadline = g_get_monotonic_time () + (gint64) (start_timeout + 1) * G_USEC_PER_SEC;
  job->poll_id = g_timeout_add (POLL_MS, poll_cb, job);
}

/* Starts the instance anew from what `current` names now. */
static gboolean
start_current (HgdBundles *self,
               HgDomain domain,
               const gchar *plugin)
{
  HgdPluginInstance *instance = hgd_plugin_manager_find (self->manager, plugin);

  if (instance == NULL)
    {
      g_autofree gchar *link = bundle_file (self, domain, plugin, CURRENT_LINK);
      instance = hgd_plugin_manager_add_installed (self->manager, plugin, domain, link);
      apply_stored_config (self, domain, instance);
      if (hgd_plugin_instance_get_state (instance) == HGD_PLUGIN_STATE_FAILED)
        return FALSE;
    }
  else if (!hgd_plugin_instance_reload (instance))
    return FALSE;
  hgd_plugin_instance_start (instance);
  return TRUE;
}

static void
new_version_stopped_cb (GObject *source,
                        GAsyncResult *result,
                        gpointer user_data)
{
  Job *job = user_data;

  hgd_plugin_instance_stop_finish (HGD_PLUGIN_INSTANCE (source), result, NULL);
  if (job->self == NULL)
    return;
  if (!start_current (job->self, job->domain, job->plugin))
    {
      job_roll_back (job, "the new version cannot run");
      return;
    }
  job_watch (job);
}

static void
rolled_back_stopped_cb (GObject *source,
                        GAsyncResult *result,
                        gpointer user_data)
{
  Job *job = user_data;
  HgdBundles *self = job->self;
  HgdPluginInstance *instance = HGD_PLUGIN_INSTANCE (source);
  g_autofree gchar *dir = NULL;

  hgd_plugin_instance_stop_finish (instance, result, NULL);
  if (self == NULL)
    return;
  dir = bundle_dir (self, job->domain, job->plugin);
  if (job->previous != NULL)
    {
      if (!start_current (self, job->domain, job->plugin))
        g_warning ("plugin %s: the previous version does not start either", job->plugin);
    }
  else
    {
      hgd_plugin_manager_remove_installed (self->manager, instance);
      remove_tree (dir);
    }
  job_finish (job, "rolled-back", NULL);
}

static void
job_roll_back (Job *job,
               const gchar *reason)
{
  HgdBundles *self = job->self;
  HgdPluginInstance *instance = hgd_plugin_manager_find (self->manager, job->plugin);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *versions = NULL;

  g_warning ("install of %s %s failed, rolling back: %s", job->plugin, job->version, reason);
  g_free (job->error);
  job->error = g_strdup (reason);
  job_set_step (job, "rolling-back");
  if (!switch_current (self, job->domain, job->plugin, job->previous, &error))
    g_warning ("plugin %s: %s", job->plugin, error->message);
  versions = bundle_file (self, job->domain, job->plugin, "versions");
  if (job->new_dir != NULL && g_strcmp0 (job->new_dir, job->previous) != 0)
    {
      g_autofree gchar *path = g_build_filename (versions, job->new_dir, NULL);
      g_autofree gchar *ini_name = g_strconcat (job->new_dir, ".ini", NULL);
      g_autofree gchar *ini = g_build_filename (versions, ini_name, NULL);

      remove_tree (path);
      (void) g_unlink (ini);
    }
  {
    g_autofree gchar *pending = bundle_file (self, job->domain, job->plugin, PENDING_FILE);
    (void) g_unlink (pending);
  }
  if (instance == NULL)
    {
      g_autofree gchar *dir = bundle_dir (self, job->domain, job->plugin);
      if (job->previous == NULL)
        remove_tree (dir);
      job_finish (job, "rolled-back", NULL);
      return;
    }
  hgd_plugin_instance_stop_async (instance, NULL, rolled_back_stopped_cb, job);
}

/* Drops the version folders but the current and the previous one. */
static void
prune_versions (HgdBundles *self,
                Job *job)
{
  g_autofree gchar *versions = bundle_file (self, job->domain, job->plugin, "versions");
  g_autoptr(GDir) dir = g_dir_open (versions, 0, NULL);
  const gchar *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *base
          = g_str_has_suffix (name, ".ini") ? g_strndup (name, strlen (name) - 4) : g_strdup (name);
      g_autofree gchar *path = NULL;

      if (g_strcmp0 (base, job->new_dir) == 0 || g_strcmp0 (base, job->previous) == 0)
        continue;
      path = g_build_filename (versions, name, NULL);
      remove_tree (path);
    }
}

static void
job_finish (Job *job,
            const gchar *state,
            const gchar *error)
{
  HgdBundles *self = job->self;
  JsonObject *body;

  if (error != NULL)
    {
      g_free (job->error);
      job->error = g_strdup (error);
    }
  job->state = state;
  job->finished_ms = elapsed_ms (job);
  if (g_strcmp0 (state, "succeeded") == 0)
    {
      g_autofree gchar *pending = bundle_file (self, job->domain, job->plugin, PENDING_FILE);
      g_autofree gchar *dir = bundle_dir (self, job->domain, job->plugin);

      (void) g_unlink (pending);
      sync_dir (dir);
      prune_versions (self, job);
      note_version (self, job->domain, job->plugin, job->version, job->digest);
      g_message ("plugin %s %s installed in the %s domain by %s", job->plugin, job->version,
                 hg_domain_to_string (job->domain), job->who);
    }
  job->step = "done";
  body = job_body (job);
  json_object_set_string_member (body, "key", job->key_id);
  set_nullable (body, "error", job->error);
  if (job->downgrade_from != NULL)
    json_object_set_string_member (body, "downgrade_from", job->downgrade_from);
  json_object_set_int_member (body, "duration_ms", job->finished_ms);
  record (self, job->domain,
          g_strcmp0 (state, "succeeded") == 0     ? "bundle.installed"
          : g_strcmp0 (state, "rolled-back") == 0 ? "bundle.rolled-back"
                                                  : "bundle.failed",
          job->who, body);
  g_queue_push_tail (&self->finished, g_strdup (job->id));
  while (g_queue_get_length (&self->finished) > MAX_FINISHED_JOBS)
    {
      g_autofree gchar *old = g_queue_pop_head (&self->finished);
      g_hash_table_remove (self->jobs, old);
    }
}

static gboolean
write_version_info (HgdBundles *self,
                    Job *job,
                    GError **error)
{
  g_autoptr(GKeyFile) info = g_key_file_new ();
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree gchar *at = g_date_time_format_iso8601 (now);
  g_autofree gchar *name = g_strconcat (job->new_dir, ".ini", NULL);
  g_autofree gchar *path = g_build_filename (self->domain_dirs[job->domain], BUNDLES_DIR,
                                             job->plugin, "versions", name, NULL);
  g_auto(GStrv) capabilities = g_strsplit (job->capabilities, ",", -1);
  g_autofree gchar *data = NULL;
  gsize length = 0;

  g_key_file_set_string (info, "bundle", "version", job->version);
  g_key_file_set_string (info, "bundle", "key", job->key_id);
  g_key_file_set_string (info, "bundle", "digest", hgd_bundle_get_digest (job->bundle));
  g_key_file_set_string (info, "bundle", "installed-by", job->who);
  g_key_file_set_string (info, "bundle", "installed-at", at);
  g_key_file_set_string (info, "bundle", "previous-version",
                         job->previous_version != NULL ? job->previous_version : "");
  g_key_file_set_string_list (info, "bundle", "capabilities", (const gchar *const *) capabilities,
                              job->capabilities[0] != '\0' ? g_strv_length (capabilities) : 0);
  data = g_key_file_to_data (info, &length, NULL);
  return g_file_set_contents_full (path, data, (gssize) length,
                                   G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                   0644, error);
}

/* staging -> versions/ -> pending -> switch -> start; then the health check. */
static gboolean
job_run_cb (gpointer user_data)
{
  Job *job = user_data;
  HgdBundles *self = job->self;
  g_autofree gchar *dir = NULL;
  g_autofree gchar *versions = NULL;
  g_autofree gchar *staging = NULL;
  g_autofree gchar *target = NULL;
  g_autofree gchar *pending_path = NULL;
  g_autofree gchar *pending_data = NULL;
  g_autoptr(GKeyFile) pending = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  HgdPluginInstance *instance;

  if (self == NULL)
    return G_SOURCE_REMOVE;
  dir = bundle_dir (self, job->domain, job->plugin);
  versions = g_build_filename (dir, "versions", NULL);
  job_set_step (job, "staging");
  if (g_mkdir_with_parents (versions, 0755) != 0)
    {
      g_autofree gchar *message
          = g_strdup_printf ("cannot make %s: %s", versions, g_strerror (errno));
      job_finish (job, "failed", message);
      return G_SOURCE_REMOVE;
    }
  staging = g_build_filename (dir, "staging-XXXXXX", NULL);
  if (g_mkdtemp_full (staging, 0755) == NULL
      || !hgd_bundle_extract (job->bundle, staging, hgd_bundle_host_architecture (), &error))
    {
      g_autofree gchar *message = g_strdup_printf (
          "cannot unpack: %s", error != NULL ? error->message : g_strerror (errno));
      remove_tree (staging);
      job_finish (job, "failed", message);
      return G_SOURCE_REMOVE;
    }
  sync_dir (staging);
  test_kill_point ("staging");
  target = g_build_filename (versions, job->new_dir, NULL);
  remove_tree (target); /* an older copy of this very build, not the running one */
  if (g_rename (staging, target) != 0 || !write_version_info (self, job, &error))
    {
      g_autofree gchar *message = g_strdup_printf (
          "cannot place the new version: %s", error != NULL ? error->message : g_strerror (errno));
      remove_tree (staging);
      remove_tree (target);
      job_finish (job, "failed", message);
      return G_SOURCE_REMOVE;
    }
  sync_dir (versions);
  g_clear_object (&job->bundle);

  /* from here a failure, or a kill, goes back to @previous */
  job_set_step (job, "switching");
  g_key_file_set_string (pending, "pending", "previous",
                         job->previous != NULL ? job->previous : "");
  g_key_file_set_string (pending, "pending", "new", job->new_dir);
  g_key_file_set_string (pending, "pending", "job", job->id);
  pending_data = g_key_file_to_data (pending, NULL, NULL);
  pending_path = g_build_filename (dir, PENDING_FILE, NULL);
  if (!g_file_set_contents_full (pending_path, pending_data, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600,
                                 &error)
      || !switch_current (self, job->domain, job->plugin, job->new_dir, &error))
    {
      job_roll_back (job, error->message);
      return G_SOURCE_REMOVE;
    }
  test_kill_point ("switch");

  job_set_step (job, "starting");
  instance = hgd_plugin_manager_find (self->manager, job->plugin);
  if (instance != NULL)
    {
      hgd_plugin_instance_stop_async (instance, NULL, new_version_stopped_cb, job);
      return G_SOURCE_REMOVE;
    }
  if (!start_current (self, job->domain, job->plugin))
    {
      job_roll_back (job, "the new version cannot run");
      return G_SOURCE_REMOVE;
    }
  job_watch (job);
  return G_SOURCE_REMOVE;
}

static gboolean
job_is_running_for (HgdBundles *self,
                    const gchar *plugin)
{
  GHashTableIter iter;
  Job *job;

  g_hash_table_iter_init (&iter, self->jobs);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &job))
    {
      if (g_strcmp0 (job->plugin, plugin) == 0 && g_strcmp0 (job->state, "running") == 0)
        return TRUE;
    }
  return FALSE;
}

/* The capabilities of the version running now, or %NULL. */
static HgdManifest *
current_manifest (HgdBundles *self,
                  HgDomain domain,
                  const gchar *plugin)
{
  g_autofree gchar *path = bundle_file (self, domain, plugin, CURRENT_LINK "/manifest.json");
  return hgd_manifest_new_from_file (path, NULL);
}

/* Each capability the manifest asks for, checked against the grant table for @domain
 * before the manifest is read in full, so that the refusal names it. */
static gboolean
check_capabilities (GBytes *manifest_bytes,
                    HgDomain domain,
                    GError **error)
{
  g_autoptr(JsonObject) root = NULL;
  JsonNode *node;
  gsize size = 0;
  const gchar *data = g_bytes_get_data (manifest_bytes, &size);

  root = hg_json_parse_object (size > 0 ? data : "", (gssize) size, HGD_MANIFEST_MAX_SIZE, NULL);
  node = root != NULL ? json_object_get_member (root, "capabilities") : NULL;
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return TRUE; /* the manifest reader says what is wrong */
  for (guint i = 0; i < json_array_get_length (json_node_get_array (node)); i++)
    {
      JsonNode *item = json_array_get_element (json_node_get_array (node), i);
      const gchar *name;
      const HgdCapability *capability;

      if (!JSON_NODE_HOLDS_VALUE (item) || json_node_get_value_type (item) != G_TYPE_STRING)
        continue;
      name = json_node_get_string (item);
      capability = hgd_capability_lookup (name);
      if (capability != NULL && !hgd_capability_allows_domain (capability, domain))
        {
          g_set_error (error, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_CAPABILITY_FORBIDDEN,
                       "the plugin asks for %s, which the %s domain does not grant", name,
                       hg_domain_to_string (domain));
          return FALSE;
        }
    }
  return TRUE;
}

/* What `bundle.downgrade` and `bundle.downgrade-refused` say. */
static JsonObject *
downgrade_body (const gchar *plugin,
                const gchar *version,
                const gchar *digest,
                const gchar *highest,
                const gchar *key_id,
                const gchar *who)
{
  JsonObject *body = json_object_new ();

  json_object_set_string_member (body, "plugin", plugin);
  json_object_set_string_member (body, "version", version);
  json_object_set_string_member (body, "digest", digest);
  json_object_set_string_member (body, "highest_version", highest);
  json_object_set_string_member (body, "key", key_id);
  json_object_set_string_member (body, "who", who);
  return body;
}

/**
 * hgd_bundles_install:
 *
 * hgd_bundles_install_full() with no flags: a downgrade is refused.
 */
gchar *
hgd_bundles_install (HgdBundles *self,
                     HgDomain domain,
                     GBytes *data,
                     const gchar *const *approved,
                     guint health_seconds,
                     const gchar *who,
                     GStrv *new_capabilities,
                     GError **error)
{
  return hgd_bundles_install_full (self, domain, data, approved, health_seconds,
                                   HGD_BUNDLES_INSTALL_NONE, who, new_capabilities, error);
}

/**
 * hgd_bundles_install_full:
 * @self: the bundles
 * @domain: where to install it: the caller's domain
 * @data: the bundle file, untrusted
 * @approved: (nullable): capabilities the caller approves that the running version did
 *   not have
 * @health_seconds: how long the new version must run before it is kept
 * @flags: %HGD_BUNDLES_INSTALL_ALLOW_DOWNGRADE to install an older version on purpose
 * @who: who, e.g. `user:admin`
 * @new_capabilities: (out) (optional) (transfer full): with
 *   %HGD_BUNDLES_ERROR_APPROVAL_NEEDED, the capabilities to approve
 * @error: return location for a #GError
 *
 * Checks everything that can be checked before anything is written (see the top of this
 * file), then starts an install job; its progress is hgd_bundles_job_to_json().
 *
 * A bundle older than the highest version of the plugin ever installed in @domain, or
 * another build of that version, is a downgrade: a replay of a superseded bundle whose
 * signature is still valid. It is refused (%HGD_BUNDLES_ERROR_DOWNGRADE, journaled as
 * `bundle.downgrade-refused`) unless @flags allow it, when it is journaled as
 * `bundle.downgrade`. A bundle of a revoked key is refused whatever its version.
 *
 * Returns: (transfer full) (nullable): the job's id, or %NULL with the refusal
 */
gchar *
hgd_bundles_install_full (HgdBundles *self,
                          HgDomain domain,
                          GBytes *data,
                          const gchar *const *approved,
                          guint health_seconds,
                          HgdBundlesInstallFlags flags,
                          const gchar *who,
                          GStrv *new_capabilities,
                          GError **error)
{
  g_autofree gchar *highest = NULL;
  g_autoptr(JsonObject) downgrade = NULL; /* (nullable) what bundle.downgrade* says */
  g_autoptr(HgdBundle) bundle = NULL;
  g_autoptr(HgdManifest) manifest = NULL;
  g_autoptr(HgdManifest) running = NULL;
  g_autoptr(GBytes) public_key = NULL;
  g_autofree gchar *group = NULL;
  g_autofree gchar *public_text = NULL;
  g_autofree gchar *current = NULL;
  g_autofree gchar *new_dir = NULL;
  g_autoptr(GStrvBuilder) missing = g_strv_builder_new ();
  g_auto(GStrv) missing_list = NULL;
  HgDomain other = domain == HG_DOMAIN_MUNICIPAL ? HG_DOMAIN_PERSONAL : HG_DOMAIN_MUNICIPAL;
  const gchar *const *capabilities;
  const gchar *key_id;
  const gchar *plugin;
  HgdPluginInstance *existing;
  GBytes *manifest_bytes;
  Job *job;

  g_return_val_if_fail (HGD_IS_BUNDLES (self), NULL);
  g_return_val_if_fail (data != NULL, NULL);

  /* who signed it: before anything of it is expanded */
  bundle = hgd_bundle_new_from_bytes (data, error);
  if (bundle == NULL)
    return NULL;
  if (!hgd_bundle_is_signed (bundle))
    {
      g_set_error_literal (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_UNSIGNED,
                           "the bundle is not signed; only signed bundles are installed");
      return NULL;
    }
  key_id = hgd_bundle_get_key_id (bundle);
  group = key_group (key_id);
  if (!g_key_file_has_group (self->keys[domain], group))
    {
      g_autofree gchar *other_group = key_group (key_id);
      if (g_key_file_has_group (self->keys[other], other_group))
        g_set_error (
            error, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_UNTRUSTED_KEY,
            "the bundle is signed by key %s, which the %s domain trusts, not the %s domain", key_id,
            hg_domain_to_string (other), hg_domain_to_string (domain));
      else
        g_set_error (error, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_UNTRUSTED_KEY,
                     "the bundle is signed by key %s, which the %s domain does not trust", key_id,
                     hg_domain_to_string (domain));
      return NULL;
    }
  if (key_is_revoked (self, domain, key_id))
    {
      g_set_error (error, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_REVOKED_KEY,
                   "the bundle is signed by key %s, revoked in the %s domain", key_id,
                   hg_domain_to_string (domain));
      return NULL;
    }
  public_text = g_key_file_get_string (self->keys[domain], group, "public", NULL);
  public_key = hgd_bundle_public_key_from_base64 (public_text, error);
  if (public_key == NULL || !hgd_bundle_verify (bundle, public_key, error))
    return NULL;

  /* what it is */
  if (!hgd_bundle_load_payload (bundle, error) || !hgd_bundle_check_api_version (bundle, error))
    return NULL;
  manifest_bytes = hgd_bundle_get_manifest (bundle);
  if (!check_capabilities (manifest_bytes, domain, error))
    return NULL;
  manifest = hgd_manifest_new_from_data (g_bytes_get_data (manifest_bytes, NULL),
                                         (gssize) g_bytes_get_size (manifest_bytes), error);
  if (manifest == NULL)
    {
      g_autoptr(GError) local = g_steal_pointer (error);
      g_set_error (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_BAD_MANIFEST, "manifest.json: %s",
                   local->message);
      return NULL;
    }
  plugin = hgd_manifest_get_id (manifest);
  if (!hgd_manifest_allows_domain (manifest, domain))
    {
      g_set_error (error, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_WRONG_DOMAIN,
                   "plugin %s may not be installed in the %s domain (its manifest's domains)",
                   plugin, hg_domain_to_string (domain));
      return NULL;
    }
  if (!hgd_bundle_check_architecture (bundle, hgd_manifest_get_module (manifest),
                                      hgd_bundle_host_architecture (), error))
    return NULL;

  /* where it goes */
  existing = hgd_plugin_manager_find (self->manager, plugin);
  if (existing != NULL && hgd_plugin_instance_get_installed_link (existing) == NULL)
    {
      g_set_error (error, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_CONFLICT,
                   "plugin instance %s is named in the configuration; a bundle cannot replace it",
                   plugin);
      return NULL;
    }
  current = current_version_dir (self, other, plugin);
  if (current != NULL)
    {
      g_set_error (error, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_CONFLICT,
                   "plugin %s is installed in the %s domain", plugin, hg_domain_to_string (other));
      return NULL;
    }
  if (job_is_running_for (self, plugin))
    {
      g_set_error (error, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_BUSY,
                   "an install of plugin %s is under way", plugin);
      return NULL;
    }
  /* the folder's name: the version, made a plain name, and the build */
  new_dir = g_strdup_printf ("v%s-%.16s", hgd_manifest_get_version (manifest),
                             hgd_bundle_get_digest (bundle));
  g_strcanon (new_dir, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+-", '_');
  current = current_version_dir (self, domain, plugin);
  if (g_strcmp0 (current, new_dir) == 0)
    {
      g_set_error (error, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_CONFLICT,
                   "this build of plugin %s %s is installed already", plugin,
                   hgd_manifest_get_version (manifest));
      return NULL;
    }

  /* a replay of a superseded bundle: only on purpose */
  if (is_downgrade (self, domain, plugin, hgd_manifest_get_version (manifest),
                    hgd_bundle_get_digest (bundle), &highest))
    {
      const gchar *version = hgd_manifest_get_version (manifest);

      downgrade = downgrade_body (plugin, version, hgd_bundle_get_digest (bundle), highest,
                                  key_id, who);
      if ((flags & HGD_BUNDLES_INSTALL_ALLOW_DOWNGRADE) == 0)
        {
          record (self, domain, "bundle.downgrade-refused", who, g_steal_pointer (&downgrade));
          if (hgd_bundles_compare_versions (version, highest) < 0)
            g_set_error (error, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_DOWNGRADE,
                         "plugin %s %s is older than version %s, installed before; allow the "
                         "downgrade to install it",
                         plugin, version, highest);
          else
            g_set_error (error, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_DOWNGRADE,
                         "plugin %s %s is another build of version %s, installed before; allow "
                         "the downgrade to install it",
                         plugin, version, highest);
          return NULL;
        }
    }

  /* an upgrade: what the running version did not have must be approved */
  capabilities = hgd_manifest_get_capabilities (manifest);
  running = current != NULL ? current_manifest (self, domain, plugin) : NULL;
  if (running != NULL)
    {
      const gchar *const *had = hgd_manifest_get_capabilities (running);

      for (guint i = 0; capabilities[i] != NULL; i++)
        {
          if (!g_strv_contains (had, capabilities[i])
              && (approved == NULL || !g_strv_contains (approved, capabilities[i])))
            g_strv_builder_add (missing, capabilities[i]);
        }
      missing_list = g_strv_builder_end (missing);
      if (missing_list[0] != NULL)
        {
          g_autofree gchar *list = g_strjoinv (", ", missing_list);
          g_set_error (error, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_APPROVAL_NEEDED,
                       "version %s asks for capabilities version %s did not have: %s; approve them "
                       "to install it",
                       hgd_manifest_get_version (manifest), hgd_manifest_get_version (running),
                       list);
          if (new_capabilities != NULL)
            *new_capabilities = g_steal_pointer (&missing_list);
          return NULL;
        }
    }

  job = g_new0 (Job, 1);
  job->self = self;
  job->id = g_strdup_printf ("%u", ++self->next_job);
  job->plugin = g_strdup (plugin);
  job->version = g_strdup (hgd_manifest_get_version (manifest));
  job->domain = domain;
  job->who = g_strdup (who);
  job->state = "running";
  job->step = "accepted";
  job->previous = g_steal_pointer (&current);
  job->previous_version = running != NULL ? g_strdup (hgd_manifest_get_version (running)) : NULL;
  job->new_dir = g_steal_pointer (&new_dir);
  job->bundle = g_steal_pointer (&bundle);
  job->key_id = g_strdup (key_id);
  job->capabilities = g_strjoinv (",", (gchar **) capabilities);
  job->digest = g_strdup (hgd_bundle_get_digest (job->bundle));
  job->downgrade_from = g_steal_pointer (&highest);
  if (downgrade != NULL)
    {
      g_message ("downgrade of %s to %s (from %s) in the %s domain allowed by %s", job->plugin,
                 job->version, job->downgrade_from, hg_domain_to_string (domain), who);
      record (self, domain, "bundle.downgrade", who, g_steal_pointer (&downgrade));
    }
  job->health_seconds = health_seconds;
  job->started = g_get_monotonic_time ();
  job->running_ms = -1;
  job->finished_ms = -1;
  g_hash_table_insert (self->jobs, job->id, job);
  g_message ("install of %s %s in the %s domain by %s: job %s", job->plugin, job->version,
             hg_domain_to_string (domain), who, job->id);
  job_set_step (job, "accepted");
  g_idle_add (job_run_cb, job);
  return g_strdup (job->id);
}

/**
 * hgd_bundles_job_to_json:
 * @self: the bundles
 * @job_id: a job's id
 * @domain: the caller's domain: a job of the other domain is not found
 *
 * Returns: (transfer full) (nullable): {"job", "plugin", "version", "domain", "state",
 *   "step", "error", "previous_version", "running_ms", "duration_ms"}
 */
JsonObject *
hgd_bundles_job_to_json (HgdBundles *self,
                         const gchar *job_id,
                         HgDomain domain)
{
  Job *job;
  JsonObject *object;

  g_return_val_if_fail (HGD_IS_BUNDLES (self), NULL);
  job = g_hash_table_lookup (self->jobs, job_id);
  if (job == NULL || job->domain != domain)
    return NULL;
  object = job_body (job);
  json_object_set_string_member (object, "domain", hg_domain_to_string (job->domain));
  json_object_set_string_member (object, "state", job->state);
  set_nullable (object, "error", job->error);
  if (job->running_ms >= 0)
    json_object_set_int_member (object, "running_ms", job->running_ms);
  else
    json_object_set_null_member (object, "running_ms");
  if (job->finished_ms >= 0)
    json_object_set_int_member (object, "duration_ms", job->finished_ms);
  else
    json_object_set_null_member (object, "duration_ms");
  return object;
}

/* Remove ------------------------------------------------------------------------------ */

typedef struct
{
  HgDomain domain;
  gchar *plugin; /* (owned) */
  gchar *who;    /* (owned) */
} RemoveData;

static void
remove_data_free (RemoveData *data)
{
  g_free (data->plugin);
  g_free (data->who);
  g_free (data);
}

static void
removed_stopped_cb (GObject *source,
                    GAsyncResult *result,
                    gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  HgdBundles *self = g_task_get_source_object (task);
  RemoveData *data = g_task_get_task_data (task);
  g_autofree gchar *dir = bundle_dir (self, data->domain, data->plugin);
  g_autofree gchar *config = config_path (self, data->domain, data->plugin);
  JsonObject *body = json_object_new ();

  hgd_plugin_instance_stop_finish (HGD_PLUGIN_INSTANCE (source), result, NULL);
  hgd_plugin_manager_remove_installed (self->manager, HGD_PLUGIN_INSTANCE (source));
  remove_tree (dir);
  remove_tree (config);
  json_object_set_string_member (body, "plugin", data->plugin);
  json_object_set_string_member (body, "who", data->who);
  record (self, data->domain, "bundle.removed", data->who, body);
  g_message ("plugin %s removed from the %s domain by %s", data->plugin,
             hg_domain_to_string (data->domain), data->who);
  g_task_return_boolean (task, TRUE);
}

/**
 * hgd_bundles_remove_async:
 * @self: the bundles
 * @domain: the caller's domain
 * @plugin: a plugin installed from a bundle in @domain
 * @who: who, e.g. `user:admin`
 * @callback: called once its host is stopped and its files are gone
 * @user_data: data for @callback
 *
 * Stops the plugin and removes every version of it (its own state directory stays, as
 * for an instance removed from hemgate.conf).
 */
void
hgd_bundles_remove_async (HgdBundles *self,
                          HgDomain domain,
                          const gchar *plugin,
                          const gchar *who,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, callback, user_data);
  g_autofree gchar *current = NULL;
  HgdPluginInstance *instance;
  RemoveData *data;

  g_return_if_fail (HGD_IS_BUNDLES (self));

  current = hgd_manifest_id_is_valid (plugin) ? current_version_dir (self, domain, plugin) : NULL;
  instance = hgd_plugin_manager_find (self->manager, plugin);
  if (current == NULL || instance == NULL
      || hgd_plugin_instance_get_installed_link (instance) == NULL)
    {
      g_task_return_new_error (task, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_NOT_FOUND,
                               "no plugin %s installed from a bundle in the %s domain", plugin,
                               hg_domain_to_string (domain));
      return;
    }
  if (job_is_running_for (self, plugin))
    {
      g_task_return_new_error (task, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_BUSY,
                               "an install of plugin %s is under way", plugin);
      return;
    }
  data = g_new0 (RemoveData, 1);
  data->domain = domain;
  data->plugin = g_strdup (plugin);
  data->who = g_strdup (who);
  g_task_set_task_data (task, data, (GDestroyNotify) remove_data_free);
  hgd_plugin_instance_stop_async (instance, NULL, removed_stopped_cb, g_steal_pointer (&task));
}

gboolean
hgd_bundles_remove_finish (HgdBundles *self,
                           GAsyncResult *result,
                           GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Erasure ----------------------------------------------------------------------------- */

static void
erased_stopped_cb (GObject *source,
                   GAsyncResult *result,
                   gpointer user_data)
{
  g_autofree gchar *dir = user_data;
  HgdPluginInstance *instance = HGD_PLUGIN_INSTANCE (source);
  HgdBundles *self = g_object_get_data (G_OBJECT (instance), "hgd-bundles-erasing");

  hgd_plugin_instance_stop_finish (instance, result, NULL);
  if (self != NULL)
    hgd_plugin_manager_remove_installed (self->manager, instance);
  remove_tree (dir);
}

/**
 * hgd_bundles_erase_domain:
 * @self: the bundles
 * @domain: whose (the personal domain's, when the resident erases its data)
 *
 * Forgets every key @domain trusts and the versions installed before, and removes every
 * plugin installed in it from a bundle: its host is stopped, then its files removed.
 *
 * Returns: how many plugins are being removed
 */
guint
hgd_bundles_erase_domain (HgdBundles *self,
                          HgDomain domain)
{
  g_auto(GStrv) plugins = NULL;
  g_autofree gchar *keys = NULL;
  guint n = 0;

  g_return_val_if_fail (HGD_IS_BUNDLES (self), 0);

  keys = g_build_filename (self->domain_dirs[domain], KEYS_FILE, NULL);
  if (g_unlink (keys) != 0 && errno != ENOENT)
    g_warning ("cannot remove %s: %s", keys, g_strerror (errno));
  g_key_file_unref (self->keys[domain]);
  self->keys[domain] = g_key_file_new ();
  g_clear_pointer (&keys, g_free);
  keys = g_build_filename (self->domain_dirs[domain], VERSIONS_FILE, NULL);
  if (g_unlink (keys) != 0 && errno != ENOENT)
    g_warning ("cannot remove %s: %s", keys, g_strerror (errno));
  g_key_file_unref (self->versions[domain]);
  self->versions[domain] = g_key_file_new ();
  g_clear_pointer (&keys, g_free);
  keys = g_build_filename (self->domain_dirs[domain], "bundle-config", NULL);
  remove_tree (keys);
  plugins = installed_plugins (self, domain);
  for (guint i = 0; plugins[i] != NULL; i++)
    {
      HgdPluginInstance *instance = hgd_plugin_manager_find (self->manager, plugins[i]);
      gchar *dir = bundle_dir (self, domain, plugins[i]);

      if (instance == NULL || hgd_plugin_instance_get_installed_link (instance) == NULL)
        {
          remove_tree (dir);
          g_free (dir);
          continue;
        }
      /* the manager outlives a stop it started; the data only says who to tell */
      g_object_set_data (G_OBJECT (instance), "hgd-bundles-erasing", self);
      hgd_plugin_instance_stop_async (instance, NULL, erased_stopped_cb, dir);
      n++;
    }
  return n;
}

/* Object ------------------------------------------------------------------------------ */

static void
hgd_bundles_dispose (GObject *object)
{
  HgdBundles *self = HGD_BUNDLES (object);

  if (self->jobs != NULL)
    {
      GHashTableIter iter;
      Job *job;

      /* a job still running is left to its callbacks, which see it is orphaned */
      g_hash_table_iter_init (&iter, self->jobs);
      while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &job))
        {
          if (g_strcmp0 (job->state, "running") != 0)
            continue;
          g_clear_handle_id (&job->poll_id, g_source_remove);
          job->self = NULL;
          g_hash_table_iter_steal (&iter);
        }
    }
  g_clear_pointer (&self->jobs, g_hash_table_unref);
  g_queue_clear_full (&self->finished, g_free);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      g_clear_object (&self->journals[i]);
      g_clear_pointer (&self->keys[i], g_key_file_unref);
      g_clear_pointer (&self->versions[i], g_key_file_unref);
      g_clear_pointer (&self->domain_dirs[i], g_free);
    }
  g_clear_object (&self->config);
  G_OBJECT_CLASS (hgd_bundles_parent_class)->dispose (object);
}

static void
hgd_bundles_class_init (HgdBundlesClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = hgd_bundles_dispose;
}

static void
hgd_bundles_init (HgdBundles *self)
{
  self->jobs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) job_free);
  g_queue_init (&self->finished);
}

/**
 * hgd_bundles_new:
 * @manager: the plugin manager, which owns the result
 * @config: the configuration
 * @journals: %HG_DOMAIN_LAST journals, each possibly %NULL
 * @state_root: hemgated's state directory
 *
 * Reads each domain's trusted keys. hgd_bundles_load() then finds the installed plugins.
 *
 * Returns: (transfer full): the bundles
 */
HgdBundles *
hgd_bundles_new (HgdPluginManager *manager,
                 HgdConfig *config,
                 HgdJournal *const *journals,
                 const gchar *state_root)
{
  HgdBundles *self = g_object_new (HGD_TYPE_BUNDLES, NULL);

  self->manager = manager;
  self->config = g_object_ref (config);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      g_autofree gchar *path = NULL;
      g_autoptr(GError) error = NULL;

      self->journals[i] = journals[i] != NULL ? g_object_ref (journals[i]) : NULL;
      self->domain_dirs[i]
          = g_build_filename (state_root, hg_domain_to_string ((HgDomain) i), NULL);
      self->keys[i] = g_key_file_new ();
      path = g_build_filename (self->domain_dirs[i], KEYS_FILE, NULL);
      if (!g_key_file_load_from_file (self->keys[i], path, G_KEY_FILE_NONE, &error)
          && !g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_warning ("cannot read %s, the %s domain trusts no key: %s", path,
                   hg_domain_to_string ((HgDomain) i), error->message);
      g_clear_error (&error);
      g_clear_pointer (&path, g_free);
      self->versions[i] = g_key_file_new ();
      path = g_build_filename (self->domain_dirs[i], VERSIONS_FILE, NULL);
      if (!g_key_file_load_from_file (self->versions[i], path, G_KEY_FILE_NONE, &error)
          && !g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_warning ("cannot read %s, the versions installed before are unknown: %s", path,
                   error->message);
    }
  return self;
}
