/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdConfig: reads hemgate.conf against one table of known keys. A bad file is refused
 * whole, with the group, key and line of the first problem; nothing is guessed. */
#include "config.h"

#include "hgd-config.h"

G_DEFINE_QUARK (hgd-config-error-quark, hgd_config_error)

typedef enum
{
  KEY_STRING,
  KEY_INT,
  KEY_BOOLEAN,
  KEY_STRV,
  KEY_DOMAIN,
} KeyType;

typedef struct
{
  const gchar *group;
  const gchar *key;
  KeyType type;
  const gchar *default_value;
  gint64 min;
  gint64 max;
} KeySpec;

/* Every core key, its type and its default. `[plugin:<id>]` groups also take the keys
 * with group "plugin:"; their other keys belong to the plugin, which checks them. */
static const KeySpec key_specs[] = {
  { "daemon", "state-dir", KEY_STRING, LOCALSTATEDIR "/lib/hemgate", 0, 0 },
  { "daemon", "timezone", KEY_STRING, "", 0, 0 },
  { "api", "listen-address", KEY_STRING, "0.0.0.0", 0, 0 },
  { "api", "port", KEY_INT, "8443", 0, 65535 },
  { "api", "host-names", KEY_STRV, "", 0, 0 },
  { "api", "tls", KEY_BOOLEAN, "true", 0, 0 },
  { "api", "tls-certificate", KEY_STRING, "", 0, 0 },
  { "api", "tls-key", KEY_STRING, "", 0, 0 },
  { "api", "tls-priority", KEY_STRING, "", 0, 0 },
  { "api", "max-body-bytes", KEY_INT, "65536", 1024, 16 * 1024 * 1024 },
  { "api", "request-timeout", KEY_INT, "30", 1, 3600 },
  { "api", "max-connections", KEY_INT, "1024", 16, 65536 },
  { "api", "keep-alive-timeout", KEY_INT, "5", 0, 3600 },
  { "api", "session-lifetime", KEY_INT, "43200", 60, 30 * 24 * 3600 },
  { "api", "login-attempts", KEY_INT, "5", 1, 1000 },
  { "api", "login-window", KEY_INT, "300", 1, 24 * 3600 },
  { "api", "trusted-proxies", KEY_STRV, "", 0, 0 },
  { "journal", "retention-days", KEY_INT, "365", 1, 36500 },
  { "journal", "alarm-retention-days", KEY_INT, "3650", 365, 36500 },
  { "journal", "prune-interval", KEY_INT, "3600", 10, 7 * 24 * 3600 },
  { "journal", "municipal-size-budget", KEY_INT, "256", 1, 1024 * 1024 },
  { "journal", "personal-size-budget", KEY_INT, "128", 1, 1024 * 1024 },
  { "limits", "municipal-cpu-weight", KEY_INT, "100", 1, 10000 },
  { "limits", "personal-cpu-weight", KEY_INT, "10", 1, 10000 },
  { "limits", "municipal-event-rate", KEY_INT, "100000", 0, 10000000 },
  { "limits", "personal-event-rate", KEY_INT, "1000", 0, 10000000 },
  { "limits", "municipal-memory-max", KEY_INT, "2048", 0, 1024 * 1024 },
  { "limits", "personal-memory-max", KEY_INT, "512", 0, 1024 * 1024 },
  { "alarms", "delivery", KEY_STRING, "", 0, 0 },
  { "alarms", "technical-delivery", KEY_STRING, "", 0, 0 },
  { "plugins", "directory", KEY_STRING, PLUGINDIR, 0, 0 },
  { "plugins", "host", KEY_STRING, LIBEXECDIR "/hemgate-plugin-host", 0, 0 },
  { "plugins", "watchdog-interval", KEY_INT, "10", 1, 3600 },
  { "plugins", "watchdog-timeout", KEY_INT, "5", 1, 600 },
  { "plugins", "delivery-check-interval", KEY_INT, "2", 1, 60 },
  { "plugins", "start-timeout", KEY_INT, "10", 1, 600 },
  { "plugins", "restart-max-delay", KEY_INT, "60", 1, 3600 },
  { "plugins", "sandbox", KEY_STRING, "auto", 0, 0 },
  { "secrets", "service", KEY_STRING, "private", 0, 0 },
  { "oidc", "issuer", KEY_STRING, "", 0, 0 },
  { "oidc", "client-id", KEY_STRING, "", 0, 0 },
  { "oidc", "redirect-uri", KEY_STRING, "", 0, 0 },
  { "oidc", "display-name", KEY_STRING, "", 0, 0 },
  { "oidc", "role-claim", KEY_STRING, "groups", 0, 0 },
  { "oidc", "staff", KEY_STRV, "", 0, 0 },
  { "oidc", "it-admin", KEY_STRV, "", 0, 0 },
  { "oidc", "service", KEY_STRV, "", 0, 0 },
  { "oidc", "timeout", KEY_INT, "10", 1, 120 },
  { "oidc", "leeway", KEY_INT, "60", 0, 600 },
  { "fleet", "broker", KEY_STRING, "", 0, 0 },
  { "fleet", "port", KEY_INT, "8883", 1, 65535 },
  { "fleet", "ca-file", KEY_STRING, "", 0, 0 },
  { "fleet", "certificate-file", KEY_STRING, "", 0, 0 },
  { "fleet", "client-key-file", KEY_STRING, "", 0, 0 },
  { "fleet", "gateway-id", KEY_STRING, "", 0, 0 },
  { "fleet", "groups", KEY_STRV, "", 0, 0 },
  { "fleet", "topic-prefix", KEY_STRING, "hemgate/fleet", 0, 0 },
  { "fleet", "health-check", KEY_INT, "10", 1, 600 },
  { "fleet", "bundle-timeout", KEY_INT, "300", 1, 86400 },
  { "plugin:", "plugin", KEY_STRING, "", 0, 0 },
  { "plugin:", "domain", KEY_DOMAIN, "", 0, 0 },
  { "plugin:", "enabled", KEY_BOOLEAN, "true", 0, 0 },
  { "plugin:", "deny", KEY_STRV, "", 0, 0 },
  { "plugin:", "devices", KEY_STRV, "", 0, 0 },
  { "plugin:", "source", KEY_STRING, "config", 0, 0 },
};

struct _HgdConfig
{
  GObject parent_instance;
  GKeyFile *keyfile;    /* (owned) what was loaded */
  GHashTable *lines;    /* (owned) "group\nkey" or "group" -> line number, for errors */
  gboolean demo;        /* hemgated --demo */
};

G_DEFINE_TYPE (HgdConfig, hgd_config, G_TYPE_OBJECT)

static void
hgd_config_finalize (GObject *object)
{
  HgdConfig *self = HGD_CONFIG (object);

  g_key_file_unref (self->keyfile);
  g_hash_table_unref (self->lines);
  G_OBJECT_CLASS (hgd_config_parent_class)->finalize (object);
}

static void
hgd_config_class_init (HgdConfigClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hgd_config_finalize;
}

static void
hgd_config_init (HgdConfig *self)
{
  self->keyfile = g_key_file_new ();
  self->lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

HgdConfig *
hgd_config_new (void)
{
  return g_object_new (HGD_TYPE_CONFIG, NULL);
}

/**
 * hgd_config_set_demo:
 * @self: an #HgdConfig
 * @demo: whether hemgated runs the demo (`--demo`)
 *
 * Marks the configuration as the demo's: only then may a plugin instance have keys that
 * are for the demo alone (`demo-*`, such as scaip-alarm's `demo-password`).
 */
void
hgd_config_set_demo (HgdConfig *self,
                     gboolean demo)
{
  g_return_if_fail (HGD_IS_CONFIG (self));
  self->demo = demo;
}

/**
 * hgd_config_get_demo:
 * @self: an #HgdConfig
 *
 * Returns: whether hemgated runs the demo (`--demo`)
 */
gboolean
hgd_config_get_demo (HgdConfig *self)
{
  g_return_val_if_fail (HGD_IS_CONFIG (self), FALSE);
  return self->demo;
}

static gboolean
is_plugin_group (const gchar *group)
{
  return g_str_has_prefix (group, "plugin:") && group[strlen ("plugin:")] != '\0';
}

static const KeySpec *
find_spec (const gchar *group,
           const gchar *key)
{
  const gchar *spec_group = is_plugin_group (group) ? "plugin:" : group;

  for (guint i = 0; i < G_N_ELEMENTS (key_specs); i++)
    {
      if (g_strcmp0 (key_specs[i].group, spec_group) == 0 &&
          g_strcmp0 (key_specs[i].key, key) == 0)
        return &key_specs[i];
    }
  return NULL;
}

/* Instance ids name files, D-Bus peers and secret owners: keep them plain. */
static gboolean
instance_id_is_valid (const gchar *id)
{
  gsize len = strlen (id);

  if (len == 0 || len > 64 || !g_ascii_isalnum (id[0]))
    return FALSE;
  for (const gchar *p = id; *p != '\0'; p++)
    {
      if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '-')
        return FALSE;
    }
  return TRUE;
}

static gboolean
group_is_known (const gchar *group)
{
  if (is_plugin_group (group) || g_strcmp0 (group, "retention") == 0)
    return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (key_specs); i++)
    {
      /* "plugin:" alone is the table's name for every plugin group, not a group */
      if (g_strcmp0 (key_specs[i].group, group) == 0 && !g_str_has_suffix (group, ":"))
        return TRUE;
    }
  return FALSE;
}

/* GKeyFile keeps no line numbers, so note where each group and key stands. */
static void
index_lines (HgdConfig *self,
             const gchar *data)
{
  g_auto(GStrv) lines = g_strsplit (data, "\n", -1);
  g_autofree gchar *group = NULL;

  g_hash_table_remove_all (self->lines);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree gchar *line = g_strstrip (g_strdup (lines[i]));
      const gchar *eq;

      if (line[0] == '[')
        {
          gchar *end = strchr (line, ']');
          if (end != NULL)
            {
              g_free (group);
              group = g_strndup (line + 1, end - line - 1);
              g_hash_table_replace (self->lines, g_strdup (group), GUINT_TO_POINTER (i + 1));
            }
        }
      else if (group != NULL && line[0] != '#' && (eq = strchr (line, '=')) != NULL)
        {
          g_autofree gchar *key = g_strstrip (g_strndup (line, eq - line));
          g_hash_table_replace (self->lines, g_strdup_printf ("%s\n%s", group, key),
                                GUINT_TO_POINTER (i + 1));
        }
    }
}

static guint
line_of (HgdConfig *self,
         const gchar *group,
         const gchar *key)
{
  g_autofree gchar *id = key != NULL ? g_strdup_printf ("%s\n%s", group, key) : g_strdup (group);
  return GPOINTER_TO_UINT (g_hash_table_lookup (self->lines, id));
}

static gboolean
check_value (const KeySpec *spec,
             const gchar *value,
             GError **error)
{
  g_autoptr(GError) error_local = NULL;
  gint64 number;
  HgDomain domain;

  switch (spec->type)
    {
    case KEY_STRING:
      /* the string keys with fixed values: the sandbox (hgd-sandbox.c) */
      if (g_str_equal (spec->key, "sandbox") && g_strcmp0 (value, "auto") != 0 &&
          g_strcmp0 (value, "required") != 0 && g_strcmp0 (value, "off") != 0)
        {
          g_set_error (error, HGD_CONFIG_ERROR, HGD_CONFIG_ERROR_BAD_VALUE,
                       "'%s' is not 'auto', 'required' or 'off'", value);
          return FALSE;
        }
      /* and hemgated's Secret Service (hgd-keyring.c) */
      if (g_str_equal (spec->key, "service") && g_strcmp0 (value, "private") != 0 &&
          g_strcmp0 (value, "session") != 0)
        {
          g_set_error (error, HGD_CONFIG_ERROR, HGD_CONFIG_ERROR_BAD_VALUE,
                       "'%s' is not 'private' or 'session'", value);
          return FALSE;
        }
      /* and where a plugin instance comes from */
      if (g_str_equal (spec->key, "source") && g_strcmp0 (value, "config") != 0 &&
          g_strcmp0 (value, "bundle") != 0)
        {
          g_set_error (error, HGD_CONFIG_ERROR, HGD_CONFIG_ERROR_BAD_VALUE,
                       "'%s' is not 'config' or 'bundle'", value);
          return FALSE;
        }
      return TRUE;
    case KEY_STRV:
      return TRUE;
    case KEY_INT:
      if (!g_ascii_string_to_signed (value, 10, spec->min, spec->max, &number, &error_local))
        {
          g_set_error (error, HGD_CONFIG_ERROR, HGD_CONFIG_ERROR_BAD_VALUE,
                       "'%s' is not a whole number from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                       value, spec->min, spec->max);
          return FALSE;
        }
      return TRUE;
    case KEY_BOOLEAN:
      if (g_strcmp0 (value, "true") != 0 && g_strcmp0 (value, "false") != 0)
        {
          g_set_error (error, HGD_CONFIG_ERROR, HGD_CONFIG_ERROR_BAD_VALUE,
                       "'%s' is not 'true' or 'false'", value);
          return FALSE;
        }
      return TRUE;
    case KEY_DOMAIN:
      if (value[0] != '\0' && !hg_domain_from_string (value, &domain))
        {
          g_set_error (error, HGD_CONFIG_ERROR, HGD_CONFIG_ERROR_BAD_VALUE,
                       "'%s' is not 'municipal' or 'personal'", value);
          return FALSE;
        }
      return TRUE;
    default:
      g_assert_not_reached ();
    }
}

static gboolean
validate (HgdConfig *self,
          GKeyFile *keyfile,
          const gchar *name,
          GError **error)
{
  g_auto(GStrv) groups = g_key_file_get_groups (keyfile, NULL);

  for (guint i = 0; groups[i] != NULL; i++)
    {
      const gchar *group = groups[i];
      g_auto(GStrv) keys = NULL;

      if (!group_is_known (group))
        {
          g_set_error (error, HGD_CONFIG_ERROR, HGD_CONFIG_ERROR_UNKNOWN_GROUP,
                       "%s:%u: unknown group [%s]", name, line_of (self, group, NULL), group);
          return FALSE;
        }
      if (is_plugin_group (group) && !instance_id_is_valid (group + strlen ("plugin:")))
        {
          g_set_error (error, HGD_CONFIG_ERROR, HGD_CONFIG_ERROR_UNKNOWN_GROUP,
                       "%s:%u: plugin instance id '%s' must be 1-64 characters of a-z, 0-9 and '-'",
                       name, line_of (self, group, NULL), group + strlen ("plugin:"));
          return FALSE;
        }
      keys = g_key_file_get_keys (keyfile, group, NULL, NULL);
      for (guint j = 0; keys != NULL && keys[j] != NULL; j++)
        {
          const gchar *key = keys[j];
          g_autofree gchar *value = g_key_file_get_value (keyfile, group, key, NULL);
          g_autoptr(GError) error_local = NULL;
          const KeySpec *spec;

          if (g_strcmp0 (group, "retention") == 0)
            {
              static const KeySpec retention_spec = { "retention", NULL, KEY_INT, NULL, 1, 36500 };
              if (!hg_event_type_is_valid (key) && !g_str_has_suffix (key, "."))
                {
                  g_set_error (error, HGD_CONFIG_ERROR, HGD_CONFIG_ERROR_UNKNOWN_KEY,
                               "%s:%u: [retention] key '%s' is not an event type or prefix",
                               name, line_of (self, group, key), key);
                  return FALSE;
                }
              spec = &retention_spec;
            }
          else
            {
              spec = find_spec (group, key);
            }
          if (spec == NULL && is_plugin_group (group))
            continue; /* the plugin's own key: its configure() checks it */
          if (spec == NULL)
            {
              g_set_error (error, HGD_CONFIG_ERROR, HGD_CONFIG_ERROR_UNKNOWN_KEY,
                           "%s:%u: unknown key '%s' in [%s]",
                           name, line_of (self, group, key), key, group);
              return FALSE;
            }
          if (!check_value (spec, value, &error_local))
            {
              g_set_error (error, HGD_CONFIG_ERROR, HGD_CONFIG_ERROR_BAD_VALUE,
                           "%s:%u: [%s] %s: %s", name, line_of (self, group, key), group, key,
                           error_local->message);
              return FALSE;
            }
        }
    }
  return TRUE;
}

/* Lays @data over @base: GKeyFile merges repeated groups and the later key wins, so the
 * two texts joined are the layered configuration (empty [plugin:<id>] groups included). */
static GKeyFile *
merge (GKeyFile *base,
       const gchar *data)
{
  g_autofree gchar *base_data = g_key_file_to_data (base, NULL, NULL);
  g_autofree gchar *joined = g_strconcat (base_data, "\n", data, NULL);
  GKeyFile *merged = g_key_file_new ();

  /* both halves were parsed and validated already */
  g_key_file_load_from_data (merged, joined, -1, G_KEY_FILE_NONE, NULL);
  return merged;
}

/**
 * hgd_config_load_data:
 * @self: an #HgdConfig
 * @data: the text of a key file
 * @name: how to name it in errors, e.g. its path
 * @error: return location for a #GError
 *
 * Lays @data over what is already loaded (key by key, a later value wins) if, and only
 * if, all of it is valid; e.g. `--demo --config FILE` is the demo configuration with
 * FILE's values on top.
 *
 * Returns: %TRUE if loaded
 */
gboolean
hgd_config_load_data (HgdConfig *self,
                      const gchar *data,
                      const gchar *name,
                      GError **error)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GError) error_local = NULL;
  GKeyFile *merged;

  g_return_val_if_fail (HGD_IS_CONFIG (self), FALSE);
  g_return_val_if_fail (data != NULL, FALSE);

  index_lines (self, data);
  if (!g_key_file_load_from_data (keyfile, data, -1, G_KEY_FILE_NONE, &error_local))
    {
      g_set_error (error, HGD_CONFIG_ERROR, HGD_CONFIG_ERROR_PARSE, "%s: %s", name,
                   error_local->message);
      return FALSE;
    }
  if (!validate (self, keyfile, name, error))
    return FALSE;
  merged = merge (self->keyfile, data);
  g_key_file_unref (self->keyfile);
  self->keyfile = merged;
  return TRUE;
}

/**
 * hgd_config_load_file:
 * @self: an #HgdConfig
 * @path: a hemgate.conf
 * @error: return location for a #GError
 *
 * Returns: %TRUE if loaded; errors name the file and line
 */
gboolean
hgd_config_load_file (HgdConfig *self,
                      const gchar *path,
                      GError **error)
{
  g_autofree gchar *data = NULL;

  g_return_val_if_fail (HGD_IS_CONFIG (self), FALSE);
  if (!g_file_get_contents (path, &data, NULL, error))
    return FALSE;
  return hgd_config_load_data (self, data, path, error);
}

/**
 * hgd_config_set_override:
 * @self: an #HgdConfig
 * @group: the group
 * @key: a known key
 * @value: a valid value
 *
 * Sets a value from the command line (e.g. `--state-dir`); the caller passes only
 * known keys and valid values.
 */
void
hgd_config_set_override (HgdConfig *self,
                         const gchar *group,
                         const gchar *key,
                         const gchar *value)
{
  g_return_if_fail (HGD_IS_CONFIG (self));
  g_return_if_fail (find_spec (group, key) != NULL || is_plugin_group (group));
  g_key_file_set_value (self->keyfile, group, key, value);
}

/* The value of a known key, or its default. Domains are read as strings. */
static gchar *
get_value (HgdConfig *self,
           const gchar *group,
           const gchar *key,
           KeyType type)
{
  const KeySpec *spec = find_spec (group, key);
  gchar *value;

  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (spec->type == type || (type == KEY_STRING && spec->type == KEY_DOMAIN), NULL);
  value = g_key_file_get_value (self->keyfile, group, key, NULL);
  if (value == NULL)
    value = g_strdup (spec->default_value);
  return value;
}

/**
 * hgd_config_get_string:
 * @self: an #HgdConfig
 * @group: a known group
 * @key: a known string key
 *
 * Returns: the value or its default; never %NULL
 */
const gchar *
hgd_config_get_string (HgdConfig *self,
                       const gchar *group,
                       const gchar *key)
{
  g_autofree gchar *value = NULL;

  g_return_val_if_fail (HGD_IS_CONFIG (self), NULL);
  value = get_value (self, group, key, KEY_STRING);
  if (value == NULL)
    return "";
  return g_intern_string (value);
}

/**
 * hgd_config_get_int:
 * @self: an #HgdConfig
 * @group: a known group
 * @key: a known integer key
 *
 * Returns: the value or its default
 */
gint64
hgd_config_get_int (HgdConfig *self,
                    const gchar *group,
                    const gchar *key)
{
  g_autofree gchar *value = NULL;

  g_return_val_if_fail (HGD_IS_CONFIG (self), 0);
  value = get_value (self, group, key, KEY_INT);
  return value != NULL ? g_ascii_strtoll (value, NULL, 10) : 0;
}

/**
 * hgd_config_get_boolean:
 * @self: an #HgdConfig
 * @group: a known group
 * @key: a known boolean key
 *
 * Returns: the value or its default
 */
gboolean
hgd_config_get_boolean (HgdConfig *self,
                        const gchar *group,
                        const gchar *key)
{
  g_autofree gchar *value = NULL;

  g_return_val_if_fail (HGD_IS_CONFIG (self), FALSE);
  value = get_value (self, group, key, KEY_BOOLEAN);
  return g_strcmp0 (value, "true") == 0;
}

/**
 * hgd_config_get_strv:
 * @self: an #HgdConfig
 * @group: a known group
 * @key: a known list key (`;`-separated)
 *
 * Returns: (transfer full): the items, trimmed, without empty ones
 */
GStrv
hgd_config_get_strv (HgdConfig *self,
                     const gchar *group,
                     const gchar *key)
{
  g_autofree gchar *value = NULL;
  g_auto(GStrv) parts = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (HGD_IS_CONFIG (self), NULL);
  value = get_value (self, group, key, KEY_STRV);
  parts = g_strsplit_set (value != NULL ? value : "", ";,", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_strstrip (parts[i]);
      if (parts[i][0] != '\0')
        g_strv_builder_add (builder, parts[i]);
    }
  return g_strv_builder_end (builder);
}

/**
 * hgd_config_get_plugin_instances:
 * @self: an #HgdConfig
 *
 * Returns: (transfer full): the ids of the `[plugin:<id>]` groups, in file order,
 *   but for those marked `source = bundle`: these configure a plugin installed from a
 *   bundle (hgd-bundles.c), not an instance of their own
 */
GStrv
hgd_config_get_plugin_instances (HgdConfig *self)
{
  g_auto(GStrv) groups = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (HGD_IS_CONFIG (self), NULL);
  groups = g_key_file_get_groups (self->keyfile, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      g_autofree gchar *source = NULL;

      if (!is_plugin_group (groups[i]))
        continue;
      source = g_key_file_get_string (self->keyfile, groups[i], "source", NULL);
      if (g_strcmp0 (source, "bundle") != 0)
        g_strv_builder_add (builder, groups[i] + strlen ("plugin:"));
    }
  return g_strv_builder_end (builder);
}

/**
 * hgd_config_get_plugin_config:
 * @self: an #HgdConfig
 * @instance: a plugin instance id
 *
 * Returns: (transfer full): the plugin's own keys of `[plugin:<instance>]`, without
 *   the core's (`plugin`, `domain`, `enabled`, `deny`, `devices`, `source`)
 */
HgConfig *
hgd_config_get_plugin_config (HgdConfig *self,
                              const gchar *instance)
{
  g_autofree gchar *group = g_strdup_printf ("plugin:%s", instance);
  g_auto(GStrv) keys = NULL;
  HgConfig *config = hg_config_new ();

  g_return_val_if_fail (HGD_IS_CONFIG (self), config);
  keys = g_key_file_get_keys (self->keyfile, group, NULL, NULL);
  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      g_autofree gchar *value = NULL;
      if (find_spec (group, keys[i]) != NULL)
        continue;
      value = g_key_file_get_value (self->keyfile, group, keys[i], NULL);
      hg_config_set (config, keys[i], value);
    }
  return config;
}

/**
 * hgd_config_get_retention:
 * @self: an #HgdConfig
 *
 * Returns: (transfer full) (element-type utf8 guint): event type or prefix -> days,
 *   from `[retention]`
 */
GHashTable *
hgd_config_get_retention (HgdConfig *self)
{
  GHashTable *retention = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_auto(GStrv) keys = NULL;

  g_return_val_if_fail (HGD_IS_CONFIG (self), retention);
  keys = g_key_file_get_keys (self->keyfile, "retention", NULL, NULL);
  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      gint64 days = g_key_file_get_int64 (self->keyfile, "retention", keys[i], NULL);
      g_hash_table_insert (retention, g_strdup (keys[i]), GUINT_TO_POINTER ((guint) days));
    }
  return retention;
}

/**
 * hgd_config_list_keys:
 *
 * Lists every core key as `group/key`, in the order of the key table. The keys every
 * `[plugin:<id>]` group takes are listed under the group `plugin:`, e.g. `plugin:/domain`;
 * `[retention]` has no fixed keys and is not listed. For documentation and its tests.
 *
 * Returns: (transfer none) (array zero-terminated=1): the keys; owned by HgdConfig
 */
const gchar *const *
hgd_config_list_keys (void)
{
  static gchar **keys = NULL;

  if (g_once_init_enter (&keys))
    {
      gchar **list = g_new0 (gchar *, G_N_ELEMENTS (key_specs) + 1);

      for (guint i = 0; i < G_N_ELEMENTS (key_specs); i++)
        list[i] = g_strdup_printf ("%s/%s", key_specs[i].group, key_specs[i].key);
      g_once_init_leave (&keys, list);
    }
  return (const gchar *const *) keys;
}
