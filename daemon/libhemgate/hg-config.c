/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgConfig: the `[plugin:<id>]` group of hemgate.conf as the plugin sees it. */
#include "config.h"

#include "hg-config.h"
#include "hg-error.h"

struct _HgConfig
{
  GObject parent_instance;
  GHashTable *values; /* (owned) key -> value */
};

/**
 * HgConfig:
 *
 * A plugin instance's own configuration: the keys of its `[plugin:<id>]` group in
 * `hemgate.conf`, as text. The typed getters take a default and a range, and return an
 * error naming the key for a bad value, which #HgPluginClass.configure passes on.
 *
 * Since: 1.0
 */
G_DEFINE_TYPE (HgConfig, hg_config, G_TYPE_OBJECT)

static void
hg_config_finalize (GObject *object)
{
  HgConfig *self = HG_CONFIG (object);

  g_hash_table_unref (self->values);
  G_OBJECT_CLASS (hg_config_parent_class)->finalize (object);
}

static void
hg_config_class_init (HgConfigClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hg_config_finalize;
}

static void
hg_config_init (HgConfig *self)
{
  self->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

/**
 * hg_config_new:
 *
 * Creates an empty configuration; the plugin host fills it from the instance's section
 * of `hemgate.conf`.
 *
 * Returns: (transfer full): an empty configuration
 *
 * Since: 1.0
 */
HgConfig *
hg_config_new (void)
{
  return g_object_new (HG_TYPE_CONFIG, NULL);
}

/**
 * hg_config_set:
 * @self: an #HgConfig
 * @key: the key
 * @value: the value as written in the file
 *
 * Sets @key to @value, replacing what was there.
 *
 * Since: 1.0
 */
void
hg_config_set (HgConfig *self,
               const gchar *key,
               const gchar *value)
{
  g_return_if_fail (HG_IS_CONFIG (self));
  g_return_if_fail (key != NULL);
  g_return_if_fail (value != NULL);
  g_hash_table_replace (self->values, g_strdup (key), g_strdup (value));
}

/**
 * hg_config_get_keys:
 * @self: an #HgConfig
 *
 * Lists the keys that are set.
 *
 * Returns: (transfer full): the keys that are set, sorted
 *
 * Since: 1.0
 */
GStrv
hg_config_get_keys (HgConfig *self)
{
  GStrv keys;

  g_return_val_if_fail (HG_IS_CONFIG (self), NULL);
  keys = (GStrv) g_hash_table_get_keys_as_array (self->values, NULL);
  for (guint i = 0; keys[i] != NULL; i++)
    keys[i] = g_strdup (keys[i]);
  qsort (keys, g_strv_length (keys), sizeof (gchar *), (GCompareFunc) g_strcmp0);
  return keys;
}

/**
 * hg_config_get_string:
 * @self: an #HgConfig
 * @key: the key
 * @default_value: (nullable): returned when @key is not set
 *
 * Gets the text of @key.
 *
 * Returns: (nullable): the value or @default_value
 *
 * Since: 1.0
 */
const gchar *
hg_config_get_string (HgConfig *self,
                      const gchar *key,
                      const gchar *default_value)
{
  const gchar *value;

  g_return_val_if_fail (HG_IS_CONFIG (self), NULL);
  value = g_hash_table_lookup (self->values, key);
  return value != NULL ? value : default_value;
}

/**
 * hg_config_get_int:
 * @self: an #HgConfig
 * @key: the key
 * @default_value: used when @key is not set
 * @min: the smallest accepted value
 * @max: the largest accepted value
 * @value: (out): the value
 * @error: return location for a #GError
 *
 * Reads @key as an integer within @min..@max, or @default_value when it is not set. A
 * value that is not an integer or is out of range is an error naming the key.
 *
 * Returns: %TRUE if @key is unset or an integer in @min..@max
 *
 * Since: 1.0
 */
gboolean
hg_config_get_int (HgConfig *self,
                   const gchar *key,
                   gint64 default_value,
                   gint64 min,
                   gint64 max,
                   gint64 *value,
                   GError **error)
{
  const gchar *str;
  g_autoptr(GError) error_local = NULL;

  g_return_val_if_fail (HG_IS_CONFIG (self), FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  str = g_hash_table_lookup (self->values, key);
  if (str == NULL)
    {
      *value = default_value;
      return TRUE;
    }
  if (!g_ascii_string_to_signed (str, 10, min, max, value, &error_local))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "key '%s': %s", key, error_local->message);
      return FALSE;
    }
  return TRUE;
}

/**
 * hg_config_get_boolean:
 * @self: an #HgConfig
 * @key: the key
 * @default_value: used when @key is not set
 * @value: (out): the value
 * @error: return location for a #GError
 *
 * Reads @key as `true` or `false`, or @default_value when it is not set. Any other
 * value is an error naming the key.
 *
 * Returns: %TRUE if @key is unset, `true` or `false`
 *
 * Since: 1.0
 */
gboolean
hg_config_get_boolean (HgConfig *self,
                       const gchar *key,
                       gboolean default_value,
                       gboolean *value,
                       GError **error)
{
  const gchar *str;

  g_return_val_if_fail (HG_IS_CONFIG (self), FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  str = g_hash_table_lookup (self->values, key);
  if (str == NULL)
    *value = default_value;
  else if (g_strcmp0 (str, "true") == 0)
    *value = TRUE;
  else if (g_strcmp0 (str, "false") == 0)
    *value = FALSE;
  else
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "key '%s': '%s' is not 'true' or 'false'", key, str);
      return FALSE;
    }
  return TRUE;
}
