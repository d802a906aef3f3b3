/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdFleetManifest: the deployment manifest a gateway reads from its fleet's MQTT channel
 * (data/fleet-format.md). The envelope is read first and nothing of the manifest itself is
 * parsed before its signature has been checked against a key the domain trusts. */
#include "config.h"

#include "hgd-fleet-manifest.h"

#include "hgd-bundle.h"

#include <sodium.h>
#include <string.h>

#define ENVELOPE_FORMAT 1
#define MANIFEST_FORMAT 1
#define SIGNATURE_CONTEXT "hemgate-manifest-1"

G_DEFINE_QUARK (hgd-fleet-error-quark, hgd_fleet_error)

static const gchar *const error_codes[] = {
  [HGD_FLEET_ERROR_TOO_LARGE] = "manifest-too-large",
  [HGD_FLEET_ERROR_MALFORMED] = "manifest-malformed",
  [HGD_FLEET_ERROR_BAD_SIGNATURE] = "manifest-bad-signature",
  [HGD_FLEET_ERROR_UNTRUSTED_KEY] = "manifest-untrusted-key",
  [HGD_FLEET_ERROR_REPLAYED] = "manifest-replayed",
  [HGD_FLEET_ERROR_BUNDLE] = "bundle-failed",
};

/**
 * hgd_fleet_error_to_code:
 * @error: an #HgdFleetError
 *
 * Returns: the stable code the status topic carries for @error
 */
const gchar *
hgd_fleet_error_to_code (HgdFleetError error)
{
  if ((guint) error >= G_N_ELEMENTS (error_codes))
    return "manifest-malformed";
  return error_codes[error];
}

struct _HgdFleetManifest
{
  GObject parent_instance;
  gchar *key_id;      /* (owned) */
  GBytes *signature;  /* (owned) */
  GBytes *payload;    /* (owned) the manifest's bytes as signed */
  guint8 hash[crypto_generichash_BYTES_MAX];
  gchar *digest;      /* (owned) hex of hash */
  gboolean verified;
  gboolean parsed;
  gint64 serial;
  HgDomain domain;
  GPtrArray *plugins; /* (owned) of HgdFleetPlugin */
  GStrv groups;       /* (owned) (nullable) the target's groups */
  gint64 percent;     /* the target's share, -1 for none */
};

G_DEFINE_TYPE (HgdFleetManifest, hgd_fleet_manifest, G_TYPE_OBJECT)

static void
plugin_free (HgdFleetPlugin *plugin)
{
  g_free (plugin->id);
  g_free (plugin->version);
  g_free (plugin->digest);
  g_clear_pointer (&plugin->config, g_hash_table_unref);
  g_free (plugin->config_digest);
  g_free (plugin);
}

static void
hgd_fleet_manifest_finalize (GObject *object)
{
  HgdFleetManifest *self = HGD_FLEET_MANIFEST (object);

  g_free (self->key_id);
  g_clear_pointer (&self->signature, g_bytes_unref);
  g_clear_pointer (&self->payload, g_bytes_unref);
  g_free (self->digest);
  g_ptr_array_unref (self->plugins);
  g_strfreev (self->groups);
  G_OBJECT_CLASS (hgd_fleet_manifest_parent_class)->finalize (object);
}

static void
hgd_fleet_manifest_class_init (HgdFleetManifestClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hgd_fleet_manifest_finalize;
}

static void
hgd_fleet_manifest_init (HgdFleetManifest *self)
{
  self->plugins = g_ptr_array_new_with_free_func ((GDestroyNotify) plugin_free);
  self->percent = -1;
}

static void
compute_hash (const guint8 *payload,
              gsize size,
              guint8 *hash)
{
  crypto_generichash_state state;

  crypto_generichash_init (&state, NULL, 0, crypto_generichash_BYTES_MAX);
  crypto_generichash_update (&state, (const guint8 *) SIGNATURE_CONTEXT,
                             sizeof SIGNATURE_CONTEXT); /* with its NUL */
  crypto_generichash_update (&state, payload, size);
  crypto_generichash_final (&state, hash, crypto_generichash_BYTES_MAX);
}

/* Base64 that must decode to exactly what it says; g_base64_decode () never fails. */
static GBytes *
decode_base64 (const gchar *text,
               const gchar *what,
               GError **error)
{
  gsize len = 0;
  g_autofree guchar *data = NULL;

  for (const gchar *p = text; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '+' && *p != '/' && *p != '=')
        {
          g_set_error (error, HGD_FLEET_ERROR, HGD_FLEET_ERROR_MALFORMED, "%s is not base64",
                       what);
          return NULL;
        }
    }
  data = g_base64_decode (text, &len);
  return g_bytes_new_take (g_steal_pointer (&data), len);
}

/**
 * hgd_fleet_manifest_new_from_message:
 * @message: an MQTT message's payload, untrusted
 * @error: return location for a #GError
 *
 * Reads the envelope only: which key signed it, the signature and the manifest's bytes.
 * Call hgd_fleet_manifest_verify() and then hgd_fleet_manifest_parse().
 *
 * Returns: (transfer full) (nullable): the manifest, or %NULL with %HGD_FLEET_ERROR
 */
HgdFleetManifest *
hgd_fleet_manifest_new_from_message (GBytes *message,
                                     GError **error)
{
  g_autoptr(HgdFleetManifest) self = NULL;
  g_autoptr(JsonObject) envelope = NULL;
  g_autoptr(GError) local = NULL;
  static const gchar *const members[] = { "format", "key", "signature", "manifest", NULL };
  const gchar *key = NULL;
  const gchar *signature = NULL;
  const gchar *manifest = NULL;
  gint64 format = 0;
  gsize size;

  g_return_val_if_fail (message != NULL, NULL);

  size = g_bytes_get_size (message);
  if (size > HGD_FLEET_MANIFEST_MAX_SIZE)
    {
      g_set_error (error, HGD_FLEET_ERROR, HGD_FLEET_ERROR_TOO_LARGE,
                   "the manifest message is %" G_GSIZE_FORMAT " bytes, more than %d", size,
                   HGD_FLEET_MANIFEST_MAX_SIZE);
      return NULL;
    }
  if (sodium_init () < 0)
    {
      g_set_error_literal (error, HGD_FLEET_ERROR, HGD_FLEET_ERROR_MALFORMED,
                           "libsodium failed to start");
      return NULL;
    }
  envelope = hg_json_parse_object (g_bytes_get_data (message, NULL), (gssize) size, 0, &local);
  if (envelope == NULL || !hg_json_object_check_members (envelope, members, &local)
      || !hg_json_object_get_int (envelope, "format", ENVELOPE_FORMAT, ENVELOPE_FORMAT, &format,
                                  &local)
      || !hg_json_object_get_string (envelope, "key", &key, &local)
      || !hg_json_object_get_string (envelope, "signature", &signature, &local)
      || !hg_json_object_get_string (envelope, "manifest", &manifest, &local))
    {
      g_set_error (error, HGD_FLEET_ERROR, HGD_FLEET_ERROR_MALFORMED,
                   "not a signed deployment manifest: %s", local->message);
      return NULL;
    }
  self = g_object_new (HGD_TYPE_FLEET_MANIFEST, NULL);
  self->key_id = g_strdup (key);
  self->signature = decode_base64 (signature, "the signature", error);
  if (self->signature == NULL)
    return NULL;
  self->payload = decode_base64 (manifest, "the manifest", error);
  if (self->payload == NULL)
    return NULL;
  compute_hash (g_bytes_get_data (self->payload, NULL), g_bytes_get_size (self->payload),
                self->hash);
  self->digest = g_malloc (crypto_generichash_BYTES_MAX * 2 + 1);
  sodium_bin2hex (self->digest, crypto_generichash_BYTES_MAX * 2 + 1, self->hash,
                  crypto_generichash_BYTES_MAX);
  return g_steal_pointer (&self);
}

const gchar *
hgd_fleet_manifest_get_key_id (HgdFleetManifest *self)
{
  g_return_val_if_fail (HGD_IS_FLEET_MANIFEST (self), NULL);
  return self->key_id;
}

/* The BLAKE2b-512 the signature covers, in hex: names this manifest. */
const gchar *
hgd_fleet_manifest_get_digest (HgdFleetManifest *self)
{
  g_return_val_if_fail (HGD_IS_FLEET_MANIFEST (self), NULL);
  return self->digest;
}

/**
 * hgd_fleet_manifest_verify:
 * @self: a manifest
 * @public_key: the Ed25519 key its key id names, from the domain's trusted keys
 * @error: return location for a #GError
 *
 * Returns: %TRUE if @public_key signed the manifest
 */
gboolean
hgd_fleet_manifest_verify (HgdFleetManifest *self,
                           GBytes *public_key,
                           GError **error)
{
  g_return_val_if_fail (HGD_IS_FLEET_MANIFEST (self), FALSE);
  g_return_val_if_fail (public_key != NULL, FALSE);

  if (g_bytes_get_size (public_key) != crypto_sign_PUBLICKEYBYTES
      || g_bytes_get_size (self->signature) != crypto_sign_BYTES
      || crypto_sign_verify_detached (g_bytes_get_data (self->signature, NULL), self->hash,
                                      sizeof self->hash, g_bytes_get_data (public_key, NULL))
             != 0)
    {
      g_set_error (error, HGD_FLEET_ERROR, HGD_FLEET_ERROR_BAD_SIGNATURE,
                   "the manifest's signature does not verify with key %s", self->key_id);
      return FALSE;
    }
  self->verified = TRUE;
  return TRUE;
}

static gboolean
is_hex (const gchar *text,
        gsize length)
{
  if (strlen (text) != length)
    return FALSE;
  for (gsize i = 0; i < length; i++)
    {
      if (!g_ascii_isxdigit (text[i]) || g_ascii_isupper (text[i]))
        return FALSE;
    }
  return TRUE;
}

/* A plugin's own key, as in its `[plugin:<id>]` group of hemgate.conf: 1-64 of a-z, 0-9
 * and '-'; not one of the core's keys of that group (hgd-config.c), not `demo-*`. */
static gboolean
config_key_is_valid (const gchar *key,
                     GError **error)
{
  static const gchar *const core_keys[]
      = { "plugin", "domain", "enabled", "deny", "devices", "source", NULL };
  gsize length = strlen (key);

  for (const gchar *p = key; *p != '\0'; p++)
    {
      if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '-')
        length = 0;
    }
  if (length == 0 || length > 64)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "config key '%s' is not 1-64 characters of a-z, 0-9 and '-'", key);
      return FALSE;
    }
  if (g_strv_contains (core_keys, key))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "config key '%s' is the core's, not the plugin's", key);
      return FALSE;
    }
  if (g_str_has_prefix (key, "demo-"))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "config key '%s' is for the demo only; a credential is a secret", key);
      return FALSE;
    }
  return TRUE;
}

static gint
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *) a, *(const gchar *const *) b);
}

/* Reads a plugin's `config`: at most 64 keys, each value a string of at most 4 KiB. Its
 * digest is the hex BLAKE2b-256 of each key and value, each followed by a NUL, by key. */
static gboolean
parse_config (HgdFleetPlugin *plugin,
              JsonNode *node,
              GError **error)
{
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  g_autoptr(GList) members = NULL;
  g_autoptr(GPtrArray) keys = g_ptr_array_new ();
  crypto_generichash_state state;
  guint8 hash[crypto_generichash_BYTES];

  if (object == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "config is not an object");
      return FALSE;
    }
  if (json_object_get_size (object) > HGD_FLEET_MANIFEST_MAX_CONFIG_KEYS)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "config has more than %d keys",
                   HGD_FLEET_MANIFEST_MAX_CONFIG_KEYS);
      return FALSE;
    }
  plugin->config = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const gchar *key = l->data;
      JsonNode *value = json_object_get_member (object, key);

      if (!config_key_is_valid (key, error))
        return FALSE;
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING
          || strlen (json_node_get_string (value)) > 4096)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       "config key '%s' is not a string of at most 4096 bytes", key);
          return FALSE;
        }
      g_hash_table_insert (plugin->config, g_strdup (key), g_strdup (json_node_get_string (value)));
      g_ptr_array_add (keys, (gpointer) key);
    }
  g_ptr_array_sort (keys, compare_strings);
  crypto_generichash_init (&state, NULL, 0, sizeof hash);
  for (guint i = 0; i < keys->len; i++)
    {
      const gchar *key = g_ptr_array_index (keys, i);
      const gchar *value = g_hash_table_lookup (plugin->config, key);

      crypto_generichash_update (&state, (const guint8 *) key, strlen (key) + 1);
      crypto_generichash_update (&state, (const guint8 *) value, strlen (value) + 1);
    }
  crypto_generichash_final (&state, hash, sizeof hash);
  plugin->config_digest = g_malloc (sizeof hash * 2 + 1);
  sodium_bin2hex (plugin->config_digest, sizeof hash * 2 + 1, hash, sizeof hash);
  return TRUE;
}

static gboolean
parse_plugins (HgdFleetManifest *self,
               JsonArray *plugins,
               GError **error)
{
  static const gchar *const members[] = { "id", "version", "digest", "config", NULL };
  guint n = json_array_get_length (plugins);

  if (n > HGD_FLEET_MANIFEST_MAX_PLUGINS)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "more than %d plugins",
                   HGD_FLEET_MANIFEST_MAX_PLUGINS);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (plugins, i);
      JsonObject *object = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const gchar *id = NULL;
      const gchar *version = NULL;
      const gchar *digest = NULL;
      HgdFleetPlugin *plugin;

      if (object == NULL)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "plugins[%u] is not an object",
                       i);
          return FALSE;
        }
      if (!hg_json_object_check_members (object, members, error)
          || !hg_json_object_get_string (object, "id", &id, error)
          || !hg_json_object_get_string (object, "version", &version, error)
          || !hg_json_object_get_string (object, "digest", &digest, error))
        {
          g_prefix_error (error, "plugins[%u]: ", i);
          return FALSE;
        }
      if (!is_hex (digest, crypto_generichash_BYTES_MAX * 2))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       "plugins[%u]: digest is not 128 lower-case hex digits", i);
          return FALSE;
        }
      plugin = g_new0 (HgdFleetPlugin, 1);
      plugin->id = g_strdup (id);
      plugin->version = g_strdup (version);
      plugin->digest = g_strdup (digest);
      g_ptr_array_add (self->plugins, plugin);
      if (json_object_has_member (object, "config")
          && !parse_config (plugin, json_object_get_member (object, "config"), error))
        {
          g_prefix_error (error, "plugins[%u]: ", i);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
parse_target (HgdFleetManifest *self,
              JsonObject *target,
              GError **error)
{
  static const gchar *const members[] = { "groups", "percent", NULL };
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  gint64 percent = -1;

  if (!hg_json_object_check_members (target, members, error)
      || !hg_json_object_get_optional_int (target, "percent", 0, 100, &percent, error))
    return FALSE;
  self->percent = json_object_has_member (target, "percent") ? percent : -1;
  if (json_object_has_member (target, "groups"))
    {
      JsonArray *groups = NULL;

      if (!hg_json_object_get_array (target, "groups", &groups, error))
        return FALSE;
      for (guint i = 0; i < json_array_get_length (groups); i++)
        {
          JsonNode *node = json_array_get_element (groups, i);

          if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
            {
              g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                           "target.groups[%u] is not a string", i);
              return FALSE;
            }
          g_strv_builder_add (builder, json_node_get_string (node));
        }
      self->groups = g_strv_builder_end (builder);
    }
  return TRUE;
}

/**
 * hgd_fleet_manifest_parse:
 * @self: a manifest; the core reads only one hgd_fleet_manifest_verify() accepted
 * @error: return location for a #GError
 *
 * Reads the signed manifest: {"format": 1, "serial", "domain", "plugins": [{"id",
 * "version", "digest", "config"?}], "target": {"groups", "percent"}}; unknown members are
 * errors.
 *
 * Returns: %TRUE if it is one
 */
gboolean
hgd_fleet_manifest_parse (HgdFleetManifest *self,
                          GError **error)
{
  static const gchar *const members[] = { "format", "serial", "domain", "plugins", "target", NULL };
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(GError) local = NULL;
  JsonArray *plugins = NULL;
  JsonObject *target = NULL;
  const gchar *domain = NULL;
  gint64 format = 0;

  g_return_val_if_fail (HGD_IS_FLEET_MANIFEST (self), FALSE);

  object = hg_json_parse_object (g_bytes_get_data (self->payload, NULL),
                                 (gssize) g_bytes_get_size (self->payload), 0, &local);
  if (object == NULL || !hg_json_object_check_members (object, members, &local)
      || !hg_json_object_get_int (object, "format", MANIFEST_FORMAT, MANIFEST_FORMAT, &format,
                                  &local)
      || !hg_json_object_get_int (object, "serial", 1, G_MAXINT64, &self->serial, &local)
      || !hg_json_object_get_string (object, "domain", &domain, &local)
      || !hg_json_object_get_array (object, "plugins", &plugins, &local)
      || !parse_plugins (self, plugins, &local))
    {
      g_set_error (error, HGD_FLEET_ERROR, HGD_FLEET_ERROR_MALFORMED, "manifest: %s",
                   local->message);
      return FALSE;
    }
  if (!hg_domain_from_string (domain, &self->domain))
    {
      g_set_error (error, HGD_FLEET_ERROR, HGD_FLEET_ERROR_MALFORMED,
                   "manifest: unknown domain '%s'", domain);
      return FALSE;
    }
  if (json_object_has_member (object, "target")
      && (!hg_json_object_get_object (object, "target", &target, &local)
          || !parse_target (self, target, &local)))
    {
      g_set_error (error, HGD_FLEET_ERROR, HGD_FLEET_ERROR_MALFORMED, "manifest: %s",
                   local->message);
      return FALSE;
    }
  self->parsed = TRUE;
  return TRUE;
}

gint64
hgd_fleet_manifest_get_serial (HgdFleetManifest *self)
{
  g_return_val_if_fail (HGD_IS_FLEET_MANIFEST (self), 0);
  return self->serial;
}

HgDomain
hgd_fleet_manifest_get_domain (HgdFleetManifest *self)
{
  g_return_val_if_fail (HGD_IS_FLEET_MANIFEST (self), HG_DOMAIN_MUNICIPAL);
  return self->domain;
}

/* Returns: (transfer none) (element-type HgdFleetPlugin): the plugins it names */
GPtrArray *
hgd_fleet_manifest_get_plugins (HgdFleetManifest *self)
{
  g_return_val_if_fail (HGD_IS_FLEET_MANIFEST (self), NULL);
  return self->plugins;
}

/**
 * hgd_fleet_gateway_bucket:
 * @gateway_id: a gateway's id
 *
 * A gateway's place in a percentage roll-out: the first four bytes of the BLAKE2b-256 of
 * its id, modulo 100. Stable, so a gateway in the first 10 % stays in the first 20 %.
 *
 * Returns: 0 to 99
 */
guint
hgd_fleet_gateway_bucket (const gchar *gateway_id)
{
  guint8 hash[crypto_generichash_BYTES];

  crypto_generichash (hash, sizeof hash, (const guint8 *) gateway_id, strlen (gateway_id), NULL,
                      0);
  return ((guint) hash[0] << 24 | (guint) hash[1] << 16 | (guint) hash[2] << 8 | hash[3]) % 100;
}

/**
 * hgd_fleet_manifest_targets:
 * @self: a parsed manifest
 * @gateway_id: this gateway's id
 * @groups: (nullable): this gateway's groups
 *
 * A manifest without a target is for every gateway; with one, for the gateways in one of
 * its groups or, with a percentage, whose bucket (hgd_fleet_gateway_bucket()) is below it.
 *
 * Returns: whether this gateway is to apply it
 */
gboolean
hgd_fleet_manifest_targets (HgdFleetManifest *self,
                            const gchar *gateway_id,
                            const gchar *const *groups)
{
  g_return_val_if_fail (HGD_IS_FLEET_MANIFEST (self), FALSE);

  if (self->groups == NULL && self->percent < 0)
    return TRUE;
  for (guint i = 0; self->groups != NULL && self->groups[i] != NULL; i++)
    {
      if (groups != NULL && g_strv_contains (groups, self->groups[i]))
        return TRUE;
    }
  return self->percent >= 0 && hgd_fleet_gateway_bucket (gateway_id) < (guint) self->percent;
}

/**
 * hgd_fleet_sign:
 * @manifest: the manifest's JSON text
 * @secret_key: an Ed25519 secret key (64 bytes, as hgd_bundle_key_file_load() reads it)
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the envelope to publish
 */
gchar *
hgd_fleet_sign (GBytes *manifest,
                GBytes *secret_key,
                GError **error)
{
  guint8 hash[crypto_generichash_BYTES_MAX];
  guint8 signature[crypto_sign_BYTES];
  g_autoptr(GBytes) public_key = NULL;
  g_autofree gchar *key_id = NULL;
  g_autofree gchar *signature64 = NULL;
  g_autofree gchar *manifest64 = NULL;
  g_autoptr(JsonObject) envelope = json_object_new ();

  g_return_val_if_fail (manifest != NULL, NULL);
  g_return_val_if_fail (secret_key != NULL, NULL);

  if (sodium_init () < 0 || g_bytes_get_size (secret_key) != crypto_sign_SECRETKEYBYTES)
    {
      g_set_error_literal (error, HGD_FLEET_ERROR, HGD_FLEET_ERROR_UNTRUSTED_KEY,
                           "not an Ed25519 secret key");
      return NULL;
    }
  /* an Ed25519 secret key ends with its public key */
  public_key = g_bytes_new_from_bytes (secret_key, crypto_sign_SECRETKEYBYTES - crypto_sign_PUBLICKEYBYTES,
                                       crypto_sign_PUBLICKEYBYTES);
  key_id = hgd_bundle_key_id (public_key);
  compute_hash (g_bytes_get_data (manifest, NULL), g_bytes_get_size (manifest), hash);
  crypto_sign_detached (signature, NULL, hash, sizeof hash, g_bytes_get_data (secret_key, NULL));
  signature64 = g_base64_encode (signature, sizeof signature);
  manifest64 = g_base64_encode (g_bytes_get_data (manifest, NULL), g_bytes_get_size (manifest));
  json_object_set_int_member (envelope, "format", ENVELOPE_FORMAT);
  json_object_set_string_member (envelope, "key", key_id);
  json_object_set_string_member (envelope, "signature", signature64);
  json_object_set_string_member (envelope, "manifest", manifest64);
  return hg_json_object_to_string (envelope);
}
