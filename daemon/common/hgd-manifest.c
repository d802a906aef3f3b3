/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdManifest: reads manifest.json through the checked JSON accessors and refuses it whole
 * on the first problem, so a plugin never runs with a half-understood grant. The rules are
 * those of data/schemas/manifest.schema.json; errors are HG_ERROR_INVALID_DATA. Which
 * capabilities exist, and in which domains each may be granted, the grant table says
 * (hgd-capabilities.c). */
#include "config.h"

#include "hgd-capabilities.h"
#include "hgd-manifest.h"

struct _HgdManifest
{
  GObject parent_instance;
  gchar *id;                        /* (owned) */
  gchar *name;                      /* (owned) */
  gchar *version;                   /* (owned) */
  gchar *provider;                  /* (owned) */
  gchar *module;                    /* (owned) */
  gboolean domains[HG_DOMAIN_LAST];
  GStrv capabilities;               /* (owned) */
};

G_DEFINE_TYPE (HgdManifest, hgd_manifest, G_TYPE_OBJECT)

static void
hgd_manifest_finalize (GObject *object)
{
  HgdManifest *self = HGD_MANIFEST (object);

  g_free (self->id);
  g_free (self->name);
  g_free (self->version);
  g_free (self->provider);
  g_free (self->module);
  g_strfreev (self->capabilities);
  G_OBJECT_CLASS (hgd_manifest_parent_class)->finalize (object);
}

static void
hgd_manifest_class_init (HgdManifestClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hgd_manifest_finalize;
}

static void
hgd_manifest_init (HgdManifest *self)
{
}

/**
 * hgd_manifest_id_is_valid:
 * @id: a plugin id
 *
 * Returns: %TRUE if @id is 1 to 64 of `a-z`, `0-9` and `-`, so it is also a safe
 *   directory name
 */
gboolean
hgd_manifest_id_is_valid (const gchar *id)
{
  gsize len;

  g_return_val_if_fail (id != NULL, FALSE);
  len = strlen (id);

  if (len < 1 || len > 64)
    return FALSE;
  for (const gchar *p = id; *p != '\0'; p++)
    {
      if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '-')
        return FALSE;
    }
  return TRUE;
}

/* A plain file name in the manifest's own directory. */
static gboolean
module_is_valid (const gchar *module)
{
  gsize len = strlen (module);

  if (len < 1 || len > 255 || module[0] == '.' || strstr (module, "..") != NULL)
    return FALSE;
  for (const gchar *p = module; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p) && strchr ("._+-", *p) == NULL)
        return FALSE;
    }
  return TRUE;
}

static gboolean
read_domains (HgdManifest *self,
              JsonArray *domains,
              GError **error)
{
  guint n = json_array_get_length (domains);

  if (n == 0)
    {
      g_set_error_literal (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                           "member 'domains' names no domain");
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (domains, i);
      const gchar *name = NULL;
      HgDomain domain;

      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
        name = json_node_get_string (node);
      if (name == NULL || !hg_domain_from_string (name, &domain))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       "member 'domains' item %u is not 'municipal' or 'personal'", i);
          return FALSE;
        }
      if (self->domains[domain])
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       "member 'domains' names '%s' twice", name);
          return FALSE;
        }
      self->domains[domain] = TRUE;
    }
  return TRUE;
}

/* A capability must be grantable in every domain the plugin may be installed in. */
static gboolean
check_capability_domains (HgdManifest *self,
                          const gchar *capability,
                          GError **error)
{
  const HgdCapability *rule = hgd_capability_lookup (capability);

  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      if (self->domains[i] && !hgd_capability_allows_domain (rule, (HgDomain) i))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       "capability '%s' may not be granted in the %s domain, which member "
                       "'domains' names", capability, hg_domain_to_string ((HgDomain) i));
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
read_capabilities (HgdManifest *self,
                   JsonArray *capabilities,
                   GError **error)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  guint n = json_array_get_length (capabilities);

  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (capabilities, i);
      const gchar *capability = NULL;

      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
        capability = json_node_get_string (node);
      if (capability == NULL)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       "member 'capabilities' item %u is not a string", i);
          return FALSE;
        }
      if (!hgd_capability_check (capability, error) ||
          !check_capability_domains (self, capability, error))
        return FALSE;
      if (!g_hash_table_add (seen, (gpointer) capability))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       "capability '%s' is listed twice", capability);
          return FALSE;
        }
      g_strv_builder_add (builder, capability);
    }
  self->capabilities = g_strv_builder_end (builder);
  return TRUE;
}

static gboolean
check_text (const gchar *member,
            const gchar *value,
            gsize max_length,
            GError **error)
{
  gsize len = g_utf8_strlen (value, -1);

  if (len < 1 || len > max_length)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "member '%s' must have 1 to %" G_GSIZE_FORMAT " characters", member, max_length);
      return FALSE;
    }
  return TRUE;
}

/**
 * hgd_manifest_new_from_data:
 * @data: the text of a manifest.json
 * @length: its length, or -1 if nul-terminated
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the manifest, or %NULL with %HG_ERROR_INVALID_DATA saying
 *   what is wrong
 */
HgdManifest *
hgd_manifest_new_from_data (const gchar *data,
                            gssize length,
                            GError **error)
{
  static const gchar *const members[] = {
    "id", "name", "version", "provider", "api_version", "module", "domains", "capabilities", NULL,
  };
  g_autoptr(JsonObject) root = NULL;
  g_autoptr(HgdManifest) self = NULL;
  const gchar *id = NULL;
  const gchar *name = NULL;
  const gchar *version = NULL;
  const gchar *provider = NULL;
  const gchar *api_version = NULL;
  const gchar *module = NULL;
  JsonArray *domains = NULL;
  JsonArray *capabilities = NULL;

  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  root = hg_json_parse_object (data, length, HGD_MANIFEST_MAX_SIZE, error);
  if (root == NULL)
    return NULL;
  if (!hg_json_object_check_members (root, members, error) ||
      !hg_json_object_get_string (root, "id", &id, error) ||
      !hg_json_object_get_string (root, "name", &name, error) ||
      !hg_json_object_get_string (root, "version", &version, error) ||
      !hg_json_object_get_string (root, "provider", &provider, error) ||
      !hg_json_object_get_string (root, "api_version", &api_version, error) ||
      !hg_json_object_get_string (root, "module", &module, error) ||
      !hg_json_object_get_array (root, "domains", &domains, error) ||
      !hg_json_object_get_array (root, "capabilities", &capabilities, error))
    return NULL;
  if (!hgd_manifest_id_is_valid (id))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "id '%s' is not 1 to 64 of a-z, 0-9 and '-'", id);
      return NULL;
    }
  if (g_strcmp0 (api_version, HEMGATE_API_VERSION) != 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "api_version '%s' is not supported; this host loads plugin API %s only",
                   api_version, HEMGATE_API_VERSION);
      return NULL;
    }
  if (!module_is_valid (module))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "module '%s' is not a plain file name", module);
      return NULL;
    }
  if (!check_text ("name", name, 128, error) ||
      !check_text ("version", version, 64, error) ||
      !check_text ("provider", provider, 128, error))
    return NULL;

  self = g_object_new (HGD_TYPE_MANIFEST, NULL);
  if (!read_domains (self, domains, error) ||
      !read_capabilities (self, capabilities, error))
    return NULL;
  self->id = g_strdup (id);
  self->name = g_strdup (name);
  self->version = g_strdup (version);
  self->provider = g_strdup (provider);
  self->module = g_strdup (module);
  return g_steal_pointer (&self);
}

/**
 * hgd_manifest_new_from_file:
 * @path: a manifest.json
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the manifest, or %NULL with an error that names @path
 */
HgdManifest *
hgd_manifest_new_from_file (const gchar *path,
                            GError **error)
{
  g_autofree gchar *data = NULL;
  gsize length = 0;
  HgdManifest *self;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_get_contents (path, &data, &length, error))
    return NULL;
  self = hgd_manifest_new_from_data (data, (gssize) length, error);
  if (self == NULL)
    g_prefix_error (error, "manifest %s: ", path);
  return self;
}

const gchar *
hgd_manifest_get_id (HgdManifest *self)
{
  g_return_val_if_fail (HGD_IS_MANIFEST (self), NULL);
  return self->id;
}

const gchar *
hgd_manifest_get_name (HgdManifest *self)
{
  g_return_val_if_fail (HGD_IS_MANIFEST (self), NULL);
  return self->name;
}

const gchar *
hgd_manifest_get_version (HgdManifest *self)
{
  g_return_val_if_fail (HGD_IS_MANIFEST (self), NULL);
  return self->version;
}

const gchar *
hgd_manifest_get_provider (HgdManifest *self)
{
  g_return_val_if_fail (HGD_IS_MANIFEST (self), NULL);
  return self->provider;
}

/* A plain file name, resolved against the manifest's directory by the caller. */
const gchar *
hgd_manifest_get_module (HgdManifest *self)
{
  g_return_val_if_fail (HGD_IS_MANIFEST (self), NULL);
  return self->module;
}

gboolean
hgd_manifest_allows_domain (HgdManifest *self,
                            HgDomain domain)
{
  g_return_val_if_fail (HGD_IS_MANIFEST (self), FALSE);
  return (guint) domain < HG_DOMAIN_LAST && self->domains[domain];
}

/**
 * hgd_manifest_get_only_domain:
 * @self: an #HgdManifest
 * @domain: (out): the domain
 *
 * Returns: %TRUE if the manifest allows exactly one domain, which is then in @domain
 */
gboolean
hgd_manifest_get_only_domain (HgdManifest *self,
                              HgDomain *domain)
{
  guint n = 0;

  g_return_val_if_fail (HGD_IS_MANIFEST (self), FALSE);
  g_return_val_if_fail (domain != NULL, FALSE);

  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      if (self->domains[i])
        {
          *domain = (HgDomain) i;
          n++;
        }
    }
  return n == 1;
}

/* Returns: (transfer none): the capabilities asked for, in manifest order */
const gchar *const *
hgd_manifest_get_capabilities (HgdManifest *self)
{
  g_return_val_if_fail (HGD_IS_MANIFEST (self), NULL);
  return (const gchar *const *) self->capabilities;
}
