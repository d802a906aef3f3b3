/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdSecrets: every credential through libsecret, scoped by domain and owner.
 *
 * Each secret is one item of the schema `org.hemgate.Secret`. With hemgated's own
 * Secret Service (an #HgdKeyring, `[secrets] service = private`) a domain's secrets are
 * kept in that domain's collection, which its own key unlocks; with the session bus's
 * (`[secrets] service = session`, tests) in the default collection. Each item has three
 * attributes: `domain` (`municipal` or `personal`), `owner`
 * (`core`, `plugin:<instance-id>` or `user:<name>`) and `key`. Lookups match all three
 * exactly, so the owner the core passes in (never one a plugin chose) is the whole of the
 * access check: a plugin asking for another owner's key, or its own key in the other
 * domain, gets "not found" whether or not that secret exists.
 *
 * Errors are in HG_ERROR, which is what plugins receive over D-Bus: INVALID_DATA for a
 * bad domain, owner, key or value; NOT_FOUND for a missing secret; UNAVAILABLE when the
 * Secret Service fails. Cancellation stays G_IO_ERROR_CANCELLED, so callers can tell it
 * apart as everywhere else in the core. Secret values are never logged nor put in errors. */
#include "config.h"

#include <libsecret/secret.h>

#include "hgd-keyring.h"
#include "hgd-secrets.h"

/* Longest key, and longest name after `plugin:` or `user:` in an owner. */
#define NAME_MAX_CHARS 128

/* Largest value stored, in bytes: room for a PEM private key or a long token. */
#define VALUE_MAX_BYTES 65536

struct _HgdSecrets
{
  GObject parent_instance;
  HgdKeyring *keyring; /* (owned) (nullable): NULL for the session bus's Secret Service */
};

G_DEFINE_TYPE (HgdSecrets, hgd_secrets, G_TYPE_OBJECT)

/* What a call is about; the task data of every operation, for error messages. */
typedef struct
{
  HgDomain domain;
  gchar *owner; /* (owned) */
  gchar *key;   /* (owned) */
} SecretsCall;

static void
secrets_call_free (SecretsCall *call)
{
  g_free (call->owner);
  g_free (call->key);
  g_free (call);
}

/* The on-disk contract: renaming the schema or an attribute loses every stored secret. */
static const SecretSchema *
secrets_get_schema (void)
{
  static const SecretSchema schema = {
    "org.hemgate.Secret",
    SECRET_SCHEMA_NONE,
    {
      { "domain", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "owner", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "key", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    },
  };
  return &schema;
}

/* 1 to NAME_MAX_CHARS characters of [A-Za-z0-9._-]. */
static gboolean
name_is_valid (const gchar *name)
{
  gsize len = 0;

  for (; name[len] != '\0'; len++)
    {
      gchar c = name[len];
      if (len >= NAME_MAX_CHARS)
        return FALSE;
      if (!g_ascii_isalnum (c) && c != '.' && c != '_' && c != '-')
        return FALSE;
    }
  return len > 0;
}

static gboolean
owner_is_valid (const gchar *owner)
{
  if (g_strcmp0 (owner, "core") == 0)
    return TRUE;
  if (g_str_has_prefix (owner, "plugin:"))
    return name_is_valid (owner + strlen ("plugin:"));
  if (g_str_has_prefix (owner, "user:"))
    return name_is_valid (owner + strlen ("user:"));
  return FALSE;
}

/* Checks what every call names. The inputs are not echoed back unless already checked:
 * a bad key may be anything a plugin sent. */
static gboolean
validate_call (HgDomain domain,
               const gchar *owner,
               const gchar *key,
               GError **error)
{
  if (hg_domain_to_string (domain) == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "secret domain %d is not municipal or personal", (gint) domain);
      return FALSE;
    }
  if (!owner_is_valid (owner))
    {
      g_set_error_literal (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                           "secret owner is not 'core', 'plugin:<id>' or 'user:<name>' "
                           "with 1 to 128 characters of [A-Za-z0-9._-]");
      return FALSE;
    }
  if (!name_is_valid (key))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "secret key for %s in %s is not 1 to 128 characters of [A-Za-z0-9._-]",
                   owner, hg_domain_to_string (domain));
      return FALSE;
    }
  return TRUE;
}

static gboolean
validate_value (const gchar *value,
                GError **error)
{
  gsize len = strlen (value);

  if (len > VALUE_MAX_BYTES)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "secret value is longer than %d bytes", VALUE_MAX_BYTES);
      return FALSE;
    }
  if (!g_utf8_validate (value, len, NULL))
    {
      g_set_error_literal (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                           "secret value is not valid UTF-8");
      return FALSE;
    }
  return TRUE;
}

/* Validates the call and makes its task, with the call as task data. On a bad call the
 * task has already been given its error and NULL is returned. */
static GTask *
secrets_task_new (HgdSecrets *self,
                  HgDomain domain,
                  const gchar *owner,
                  const gchar *key,
                  GCancellable *cancellable,
                  GAsyncReadyCallback callback,
                  gpointer user_data,
                  gpointer source_tag)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(GError) error = NULL;
  SecretsCall *call;

  g_task_set_source_tag (task, source_tag);
  if (!validate_call (domain, owner, key, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return NULL;
    }
  if (self->keyring != NULL && hgd_keyring_get_collection (self->keyring, domain) == NULL)
    {
      g_task_return_new_error (task, HG_ERROR, HG_ERROR_UNAVAILABLE,
                               "secret service: secret '%s' for %s in %s: %s", key, owner,
                               hg_domain_to_string (domain),
                               hgd_keyring_get_fault (self->keyring, domain));
      return NULL;
    }
  call = g_new0 (SecretsCall, 1);
  call->domain = domain;
  call->owner = g_strdup (owner);
  call->key = g_strdup (key);
  g_task_set_task_data (task, call, (GDestroyNotify) secrets_call_free);
  return g_steal_pointer (&task);
}

static GHashTable *
secrets_call_build_attributes (const SecretsCall *call)
{
  return secret_attributes_build (secrets_get_schema (),
                                  "domain", hg_domain_to_string (call->domain),
                                  "owner", call->owner,
                                  "key", call->key,
                                  NULL);
}

/* The one place a libsecret error becomes an HG_ERROR. */
static GError *
secrets_error_convert (GError *error,
                       const gchar *doing,
                       const SecretsCall *call)
{
  GError *converted;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return error;
  if (g_dbus_error_is_remote_error (error))
    g_dbus_error_strip_remote_error (error);
  converted = g_error_new (HG_ERROR, HG_ERROR_UNAVAILABLE,
                           "secret service: %s secret '%s' for %s in %s: %s",
                           doing, call->key, call->owner,
                           hg_domain_to_string (call->domain), error->message);
  g_error_free (error);
  return converted;
}

static void
lookup_cb (GObject *source,
           GAsyncResult *result,
           gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  const SecretsCall *call = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  gchar *value = secret_password_lookup_finish (result, &error);

  if (error != NULL)
    {
      g_task_return_error (task, secrets_error_convert (g_steal_pointer (&error),
                                                        "looking up", call));
      return;
    }
  if (value == NULL)
    {
      g_task_return_new_error (task, HG_ERROR, HG_ERROR_NOT_FOUND,
                               "no secret '%s' for %s in %s",
                               call->key, call->owner, hg_domain_to_string (call->domain));
      return;
    }
  g_task_return_pointer (task, value, (GDestroyNotify) secret_password_free);
}

/**
 * hgd_secrets_lookup_async:
 * @self: an #HgdSecrets
 * @domain: the domain of the secret
 * @owner: whose secret: `core`, `plugin:<instance-id>` or `user:<name>`; filled in by the
 *   core, never taken from a plugin's request
 * @key: the secret's name within @owner: 1 to 128 characters of `[A-Za-z0-9._-]`
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the lookup completes
 * @user_data: data for @callback
 *
 * Looks up the secret stored under exactly @domain, @owner and @key.
 */
void
hgd_secrets_lookup_async (HgdSecrets *self,
                          HgDomain domain,
                          const gchar *owner,
                          const gchar *key,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GHashTable) attributes = NULL;

  g_return_if_fail (HGD_IS_SECRETS (self));
  g_return_if_fail (owner != NULL);
  g_return_if_fail (key != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = secrets_task_new (self, domain, owner, key, cancellable, callback, user_data,
                           hgd_secrets_lookup_async);
  if (task == NULL)
    return;
  attributes = secrets_call_build_attributes (g_task_get_task_data (task));
  secret_password_lookupv (secrets_get_schema (), attributes, cancellable,
                           lookup_cb, g_steal_pointer (&task));
}

/**
 * hgd_secrets_lookup_finish:
 * @self: an #HgdSecrets
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the secret, to be freed with secret_password_free() (which
 *   wipes it) or g_free(); or %NULL with %HG_ERROR_NOT_FOUND when there is none,
 *   %HG_ERROR_INVALID_DATA or %HG_ERROR_UNAVAILABLE
 */
gchar *
hgd_secrets_lookup_finish (HgdSecrets *self,
                           GAsyncResult *result,
                           GError **error)
{
  g_return_val_if_fail (HGD_IS_SECRETS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hgd_secrets_lookup_async,
                        NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
store_cb (GObject *source,
          GAsyncResult *result,
          gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  const SecretsCall *call = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!secret_password_store_finish (result, &error))
    {
      g_task_return_error (task, secrets_error_convert (g_steal_pointer (&error),
                                                        "storing", call));
      return;
    }
  g_debug ("stored secret '%s' for %s in %s",
           call->key, call->owner, hg_domain_to_string (call->domain));
  g_task_return_boolean (task, TRUE);
}

/**
 * hgd_secrets_store_async:
 * @self: an #HgdSecrets
 * @domain: the domain of the secret
 * @owner: whose secret: `core`, `plugin:<instance-id>` or `user:<name>`; filled in by the
 *   core, never taken from a plugin's request
 * @key: the secret's name within @owner: 1 to 128 characters of `[A-Za-z0-9._-]`
 * @value: the secret: valid UTF-8, at most 64 KiB
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the secret is stored
 * @user_data: data for @callback
 *
 * Stores @value in @domain's collection, replacing any secret already
 * stored under @domain, @owner and @key.
 */
void
hgd_secrets_store_async (HgdSecrets *self,
                         HgDomain domain,
                         const gchar *owner,
                         const gchar *key,
                         const gchar *value,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GHashTable) attributes = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *label = NULL;

  g_return_if_fail (HGD_IS_SECRETS (self));
  g_return_if_fail (owner != NULL);
  g_return_if_fail (key != NULL);
  g_return_if_fail (value != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = secrets_task_new (self, domain, owner, key, cancellable, callback, user_data,
                           hgd_secrets_store_async);
  if (task == NULL)
    return;
  if (!validate_value (value, &error))
    {
      g_prefix_error (&error, "secret '%s' for %s in %s: ",
                      key, owner, hg_domain_to_string (domain));
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  attributes = secrets_call_build_attributes (g_task_get_task_data (task));
  label = g_strdup_printf ("hemgate %s %s %s", hg_domain_to_string (domain), owner, key);
  secret_password_storev (secrets_get_schema (), attributes,
                          self->keyring != NULL
                            ? hgd_keyring_get_collection (self->keyring, domain)
                            : SECRET_COLLECTION_DEFAULT,
                          label, value, cancellable, store_cb, g_steal_pointer (&task));
}

/**
 * hgd_secrets_store_finish:
 * @self: an #HgdSecrets
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: %TRUE if the secret was stored; else %FALSE with %HG_ERROR_INVALID_DATA or
 *   %HG_ERROR_UNAVAILABLE
 */
gboolean
hgd_secrets_store_finish (HgdSecrets *self,
                          GAsyncResult *result,
                          GError **error)
{
  g_return_val_if_fail (HGD_IS_SECRETS (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hgd_secrets_store_async,
                        FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
clear_cb (GObject *source,
          GAsyncResult *result,
          gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  const SecretsCall *call = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  gboolean removed = secret_password_clear_finish (result, &error);

  /* FALSE without an error: there was nothing to remove */
  if (error != NULL)
    {
      g_task_return_error (task, secrets_error_convert (g_steal_pointer (&error),
                                                        "clearing", call));
      return;
    }
  if (removed)
    g_debug ("cleared secret '%s' for %s in %s",
             call->key, call->owner, hg_domain_to_string (call->domain));
  g_task_return_boolean (task, TRUE);
}

/**
 * hgd_secrets_clear_async:
 * @self: an #HgdSecrets
 * @domain: the domain of the secret
 * @owner: whose secret: `core`, `plugin:<instance-id>` or `user:<name>`; filled in by the
 *   core, never taken from a plugin's request
 * @key: the secret's name within @owner: 1 to 128 characters of `[A-Za-z0-9._-]`
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the secret is gone
 * @user_data: data for @callback
 *
 * Removes the secret stored under exactly @domain, @owner and @key. Clearing a secret
 * that does not exist succeeds: afterwards there is none either way.
 */
void
hgd_secrets_clear_async (HgdSecrets *self,
                         HgDomain domain,
                         const gchar *owner,
                         const gchar *key,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GHashTable) attributes = NULL;

  g_return_if_fail (HGD_IS_SECRETS (self));
  g_return_if_fail (owner != NULL);
  g_return_if_fail (key != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = secrets_task_new (self, domain, owner, key, cancellable, callback, user_data,
                           hgd_secrets_clear_async);
  if (task == NULL)
    return;
  attributes = secrets_call_build_attributes (g_task_get_task_data (task));
  secret_password_clearv (secrets_get_schema (), attributes, cancellable,
                          clear_cb, g_steal_pointer (&task));
}

/**
 * hgd_secrets_clear_finish:
 * @self: an #HgdSecrets
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: %TRUE if no such secret remains; else %FALSE with %HG_ERROR_INVALID_DATA or
 *   %HG_ERROR_UNAVAILABLE
 */
gboolean
hgd_secrets_clear_finish (HgdSecrets *self,
                          GAsyncResult *result,
                          GError **error)
{
  g_return_val_if_fail (HGD_IS_SECRETS (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hgd_secrets_clear_async,
                        FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* A whole domain's secrets, for the personal domain's export and erasure. */

static GError *
domain_error_convert (GError *error,
                      const gchar *doing,
                      HgDomain domain)
{
  GError *converted;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return error;
  if (g_dbus_error_is_remote_error (error))
    g_dbus_error_strip_remote_error (error);
  converted = g_error_new (HG_ERROR, HG_ERROR_UNAVAILABLE,
                           "secret service: %s the secrets of %s: %s", doing,
                           hg_domain_to_string (domain), error->message);
  g_error_free (error);
  return converted;
}

static GTask *
domain_task_new (HgdSecrets *self,
                 HgDomain domain,
                 GCancellable *cancellable,
                 GAsyncReadyCallback callback,
                 gpointer user_data,
                 gpointer source_tag,
                 GHashTable **attributes)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, GUINT_TO_POINTER (domain), NULL);
  if ((guint) domain >= HG_DOMAIN_LAST)
    {
      g_task_return_new_error (task, HG_ERROR, HG_ERROR_INVALID_DATA, "no such domain");
      return NULL;
    }
  if (self->keyring != NULL && hgd_keyring_get_collection (self->keyring, domain) == NULL)
    {
      g_task_return_new_error (task, HG_ERROR, HG_ERROR_UNAVAILABLE,
                               "secret service: the secrets of %s: %s",
                               hg_domain_to_string (domain),
                               hgd_keyring_get_fault (self->keyring, domain));
      return NULL;
    }
  *attributes = secret_attributes_build (secrets_get_schema (), "domain",
                                         hg_domain_to_string (domain), NULL);
  return g_steal_pointer (&task);
}

/* Both listings: `{"owner", "key"}` each, and for hgd_secrets_list_async() (the secrets
 * API's) also the time each was set. */
static void
list_cb (GObject *source,
         GAsyncResult *result,
         gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  HgDomain domain = GPOINTER_TO_UINT (g_task_get_task_data (task));
  gboolean modified = g_task_get_source_tag (task) == hgd_secrets_list_async;
  g_autoptr(GError) error = NULL;
  GList *items = secret_password_search_finish (result, &error);
  JsonArray *secrets;

  if (error != NULL)
    {
      g_task_return_error (task,
                           domain_error_convert (g_steal_pointer (&error), "listing", domain));
      return;
    }
  secrets = json_array_new ();
  for (GList *l = items; l != NULL; l = l->next)
    {
      g_autoptr(GHashTable) attributes = secret_retrievable_get_attributes (l->data);
      JsonObject *secret = json_object_new ();

      json_object_set_string_member (secret, "owner", g_hash_table_lookup (attributes, "owner"));
      json_object_set_string_member (secret, "key", g_hash_table_lookup (attributes, "key"));
      if (modified)
        json_object_set_int_member (secret, "modified",
                                    (gint64) secret_retrievable_get_modified (l->data));
      json_array_add_object_element (secrets, secret);
    }
  g_list_free_full (items, g_object_unref);
  g_task_return_pointer (task, secrets, (GDestroyNotify) json_array_unref);
}

/* The search both listings start, tagged @source_tag (which list_cb() answers by). */
static void
list_search (HgdSecrets *self,
             HgDomain domain,
             GCancellable *cancellable,
             GAsyncReadyCallback callback,
             gpointer user_data,
             gpointer source_tag)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GHashTable) attributes = NULL;

  task = domain_task_new (self, domain, cancellable, callback, user_data, source_tag,
                          &attributes);
  if (task == NULL)
    return;
  secret_password_searchv (secrets_get_schema (), attributes, SECRET_SEARCH_ALL, cancellable,
                           list_cb, g_steal_pointer (&task));
}

/**
 * hgd_secrets_list_keys_async:
 * @self: an #HgdSecrets
 * @domain: whose secrets
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the list
 * @user_data: data for @callback
 *
 * Lists which secrets @domain has, without their values: never unlocked nor read.
 */
void
hgd_secrets_list_keys_async (HgdSecrets *self,
                             HgDomain domain,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data)
{
  g_return_if_fail (HGD_IS_SECRETS (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  list_search (self, domain, cancellable, callback, user_data, hgd_secrets_list_keys_async);
}

/**
 * hgd_secrets_list_keys_finish:
 * @self: an #HgdSecrets
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer full): a JSON array of `{"owner", "key"}`, or %NULL with
 *   %HG_ERROR_UNAVAILABLE
 */
JsonArray *
hgd_secrets_list_keys_finish (HgdSecrets *self,
                              GAsyncResult *result,
                              GError **error)
{
  g_return_val_if_fail (HGD_IS_SECRETS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hgd_secrets_list_keys_async,
                        NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
clear_domain_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  HgDomain domain = GPOINTER_TO_UINT (g_task_get_task_data (task));
  g_autoptr(GError) error = NULL;

  /* FALSE without an error: there was nothing to remove */
  secret_password_clear_finish (result, &error);
  if (error != NULL)
    {
      g_task_return_error (task,
                           domain_error_convert (g_steal_pointer (&error), "clearing", domain));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

/**
 * hgd_secrets_clear_domain_async:
 * @self: an #HgdSecrets
 * @domain: whose secrets
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when they are gone
 * @user_data: data for @callback
 *
 * Removes every secret of @domain, of every owner; the other domain's stay.
 */
void
hgd_secrets_clear_domain_async (HgdSecrets *self,
                                HgDomain domain,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GHashTable) attributes = NULL;

  g_return_if_fail (HGD_IS_SECRETS (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = domain_task_new (self, domain, cancellable, callback, user_data,
                          hgd_secrets_clear_domain_async, &attributes);
  if (task == NULL)
    return;
  secret_password_clearv (secrets_get_schema (), attributes, cancellable, clear_domain_cb,
                          g_steal_pointer (&task));
}

/**
 * hgd_secrets_clear_domain_finish:
 * @self: an #HgdSecrets
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: %TRUE if @domain has no secret left; else %FALSE with %HG_ERROR_UNAVAILABLE
 */
gboolean
hgd_secrets_clear_domain_finish (HgdSecrets *self,
                                 GAsyncResult *result,
                                 GError **error)
{
  g_return_val_if_fail (HGD_IS_SECRETS (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hgd_secrets_clear_domain_async,
                        FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
hgd_secrets_dispose (GObject *object)
{
  HgdSecrets *self = HGD_SECRETS (object);

  g_clear_object (&self->keyring);
  G_OBJECT_CLASS (hgd_secrets_parent_class)->dispose (object);
}

static void
hgd_secrets_class_init (HgdSecretsClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = hgd_secrets_dispose;
}

static void
hgd_secrets_init (HgdSecrets *self)
{
}

/**
 * hgd_secrets_new:
 *
 * Returns: (transfer full): a new #HgdSecrets, using the Secret Service on the session bus
 *   and its default collection (`[secrets] service = session`: tests and development)
 */
HgdSecrets *
hgd_secrets_new (void)
{
  return g_object_new (HGD_TYPE_SECRETS, NULL);
}

/**
 * hgd_secrets_new_for_keyring:
 * @keyring: hemgated's own Secret Service, started
 *
 * Returns: (transfer full): a new #HgdSecrets keeping each domain's secrets in that
 *   domain's collection of @keyring; a domain whose keyring is not open answers every
 *   call with %HG_ERROR_UNAVAILABLE and the keyring's fault
 */
HgdSecrets *
hgd_secrets_new_for_keyring (HgdKeyring *keyring)
{
  HgdSecrets *self;

  g_return_val_if_fail (HGD_IS_KEYRING (keyring), NULL);
  self = g_object_new (HGD_TYPE_SECRETS, NULL);
  self->keyring = g_object_ref (keyring);
  return self;
}

/**
 * hgd_secrets_dup_fault:
 * @self: an #HgdSecrets
 *
 * The faults of hgd_secrets_status_to_json () alone, for a health answer that shows no
 * more: the keyrings that are not open, "; " between them.
 *
 * Returns: (transfer full) (nullable): the faults, or %NULL if there is none
 */
gchar *
hgd_secrets_dup_fault (HgdSecrets *self)
{
  GString *faults = NULL;

  g_return_val_if_fail (HGD_IS_SECRETS (self), NULL);

  for (guint i = 0; self->keyring != NULL && i < HG_DOMAIN_LAST; i++)
    {
      const gchar *domain_fault = hgd_keyring_get_fault (self->keyring, (HgDomain) i);

      if (domain_fault == NULL)
        continue;
      if (faults == NULL)
        faults = g_string_new (domain_fault);
      else
        g_string_append_printf (faults, "; %s", domain_fault);
    }
  return faults != NULL ? g_string_free (faults, FALSE) : NULL;
}

/**
 * hgd_secrets_status_to_json:
 * @self: an #HgdSecrets
 * @fault: (out) (transfer full) (optional): what fails, or %NULL
 *
 * What health says of the secrets: for each domain its `protection` (`credential`,
 * `key-file`, `test-keyring` or `none`) and, when its keyring is not open, its `fault`.
 *
 * Returns: (transfer full): the object
 */
JsonObject *
hgd_secrets_status_to_json (HgdSecrets *self,
                            gchar **fault)
{
  JsonObject *object = json_object_new ();
  g_autoptr(GString) faults = NULL;

  g_return_val_if_fail (HGD_IS_SECRETS (self), NULL);

  json_object_set_string_member (object, "service", self->keyring != NULL ? "private" : "session");
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      JsonObject *domain = json_object_new ();
      HgdKeyringProtection protection = HGD_KEYRING_PROTECTION_TEST_KEYRING;
      const gchar *domain_fault = NULL;

      if (self->keyring != NULL)
        {
          protection = hgd_keyring_get_protection (self->keyring, (HgDomain) i);
          domain_fault = hgd_keyring_get_fault (self->keyring, (HgDomain) i);
        }
      json_object_set_string_member (domain, "protection",
                                     hgd_keyring_protection_to_string (protection));
      if (domain_fault != NULL)
        {
          json_object_set_string_member (domain, "fault", domain_fault);
          if (faults == NULL)
            faults = g_string_new (domain_fault);
          else
            g_string_append_printf (faults, "; %s", domain_fault);
        }
      json_object_set_object_member (object, hg_domain_to_string ((HgDomain) i), domain);
    }
  if (fault != NULL)
    *fault = faults != NULL ? g_string_free (g_steal_pointer (&faults), FALSE) : NULL;
  return object;
}

/**
 * hgd_secrets_list_async:
 * @self: an #HgdSecrets
 * @domain: whose secrets
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the list
 * @user_data: data for @callback
 *
 * Lists @domain's secrets with when each was last set, without their values.
 */
void
hgd_secrets_list_async (HgdSecrets *self,
                        HgDomain domain,
                        GCancellable *cancellable,
                        GAsyncReadyCallback callback,
                        gpointer user_data)
{
  g_return_if_fail (HGD_IS_SECRETS (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  list_search (self, domain, cancellable, callback, user_data, hgd_secrets_list_async);
}

/**
 * hgd_secrets_list_finish:
 * @self: an #HgdSecrets
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer full): a JSON array of `{"owner", "key", "modified"}` (`modified` in
 *   seconds since 1970), or %NULL with %HG_ERROR_UNAVAILABLE
 */
JsonArray *
hgd_secrets_list_finish (HgdSecrets *self,
                         GAsyncResult *result,
                         GError **error)
{
  g_return_val_if_fail (HGD_IS_SECRETS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hgd_secrets_list_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The blocking forms' check that @call's domain has its keyring open. */
static gboolean
domain_is_open (HgdSecrets *self,
                const SecretsCall *call,
                GError **error)
{
  if (self->keyring == NULL || hgd_keyring_get_collection (self->keyring, call->domain) != NULL)
    return TRUE;
  g_set_error (error, HG_ERROR, HG_ERROR_UNAVAILABLE, "secret service: secret '%s' for %s in %s: %s",
               call->key, call->owner, hg_domain_to_string (call->domain),
               hgd_keyring_get_fault (self->keyring, call->domain));
  return FALSE;
}

/* Blocking forms, for the start-up of the API only (its TLS key, before the main loop
 * runs): the same checks and errors as the asynchronous calls. */

/**
 * hgd_secrets_lookup_sync:
 * @self: an #HgdSecrets
 * @domain: the domain of the secret
 * @owner: whose secret
 * @key: the secret's name within @owner
 * @error: return location for a #GError
 *
 * As hgd_secrets_lookup_async(), blocking. Only where no main loop runs yet.
 *
 * Returns: (transfer full): the secret, to be freed with secret_password_free(); or %NULL
 *   with the errors of hgd_secrets_lookup_finish()
 */
gchar *
hgd_secrets_lookup_sync (HgdSecrets *self,
                         HgDomain domain,
                         const gchar *owner,
                         const gchar *key,
                         GError **error)
{
  g_autoptr(GHashTable) attributes = NULL;
  g_autoptr(GError) local = NULL;
  SecretsCall call = { domain, (gchar *) owner, (gchar *) key };
  gchar *value;

  g_return_val_if_fail (HGD_IS_SECRETS (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!validate_call (domain, owner, key, error) || !domain_is_open (self, &call, error))
    return NULL;
  attributes = secrets_call_build_attributes (&call);
  value = secret_password_lookupv_sync (secrets_get_schema (), attributes, NULL, &local);
  if (local != NULL)
    {
      g_propagate_error (error, secrets_error_convert (g_steal_pointer (&local), "looking up",
                                                       &call));
      return NULL;
    }
  if (value == NULL)
    g_set_error (error, HG_ERROR, HG_ERROR_NOT_FOUND, "no secret '%s' for %s in %s", key, owner,
                 hg_domain_to_string (domain));
  return value;
}

/**
 * hgd_secrets_store_sync:
 * @self: an #HgdSecrets
 * @domain: the domain of the secret
 * @owner: whose secret
 * @key: the secret's name within @owner
 * @value: the secret
 * @error: return location for a #GError
 *
 * As hgd_secrets_store_async(), blocking. Only where no main loop runs yet.
 *
 * Returns: %TRUE if stored, else %FALSE with the errors of hgd_secrets_store_finish()
 */
gboolean
hgd_secrets_store_sync (HgdSecrets *self,
                        HgDomain domain,
                        const gchar *owner,
                        const gchar *key,
                        const gchar *value,
                        GError **error)
{
  g_autoptr(GHashTable) attributes = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree gchar *label = NULL;
  SecretsCall call = { domain, (gchar *) owner, (gchar *) key };

  g_return_val_if_fail (HGD_IS_SECRETS (self), FALSE);
  g_return_val_if_fail (value != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!validate_call (domain, owner, key, error) || !validate_value (value, error)
      || !domain_is_open (self, &call, error))
    return FALSE;
  attributes = secrets_call_build_attributes (&call);
  label = g_strdup_printf ("hemgate %s %s %s", hg_domain_to_string (domain), owner, key);
  if (!secret_password_storev_sync (secrets_get_schema (), attributes,
                                    self->keyring != NULL
                                      ? hgd_keyring_get_collection (self->keyring, domain)
                                      : SECRET_COLLECTION_DEFAULT,
                                    label, value, NULL, &local))
    {
      g_propagate_error (error, secrets_error_convert (g_steal_pointer (&local), "storing",
                                                       &call));
      return FALSE;
    }
  return TRUE;
}
