/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Checked JSON accessors: json-glib's plain getters treat a wrong shape as a programmer
 * error, so everything read from a socket or file goes through these instead. */
#include "config.h"

#include "hg-error.h"
#include "hg-json.h"

/**
 * hg_json_parse_object:
 * @data: the text
 * @length: its length, or -1 if nul-terminated
 * @max_length: the largest accepted length in bytes, or 0 for no limit
 * @error: return location for a #GError
 *
 * Parses untrusted text whose root must be a JSON object.
 *
 * Returns: (transfer full): the object, or %NULL with %HG_ERROR_INVALID_DATA
 *
 * Since: 1.0
 */
JsonObject *
hg_json_parse_object (const gchar *data,
                      gssize length,
                      gsize max_length,
                      GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) error_local = NULL;
  JsonNode *root;
  gsize len;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  len = length < 0 ? strlen (data) : (gsize) length;
  if (max_length > 0 && len > max_length)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "JSON document of %" G_GSIZE_FORMAT " bytes exceeds the limit of %" G_GSIZE_FORMAT,
                   len, max_length);
      return NULL;
    }
  if (len == 0)
    {
      g_set_error_literal (error, HG_ERROR, HG_ERROR_INVALID_DATA, "empty JSON document");
      return NULL;
    }
  if (!g_utf8_validate (data, len, NULL))
    {
      g_set_error_literal (error, HG_ERROR, HG_ERROR_INVALID_DATA, "JSON document is not valid UTF-8");
      return NULL;
    }
  if (!json_parser_load_from_data (parser, data, len, &error_local))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "malformed JSON: %s", error_local->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, HG_ERROR, HG_ERROR_INVALID_DATA, "JSON root is not an object");
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

static JsonNode *
get_member (JsonObject *object,
            const gchar *member,
            gboolean optional,
            GError **error)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL && !optional)
    g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "member '%s' is missing", member);
  return node;
}

static gboolean
wrong_type (const gchar *member,
            const gchar *wanted,
            GError **error)
{
  g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "member '%s' is not %s", member, wanted);
  return FALSE;
}

static gboolean
get_string (JsonObject *object,
            const gchar *member,
            gboolean optional,
            const gchar **value,
            GError **error)
{
  JsonNode *node;

  g_return_val_if_fail (object != NULL, FALSE);
  g_return_val_if_fail (member != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  *value = NULL;
  node = get_member (object, member, optional, error);
  if (node == NULL)
    return optional;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return wrong_type (member, "a string", error);
  *value = json_node_get_string (node);
  return TRUE;
}

/**
 * hg_json_object_get_string:
 * @object: a #JsonObject
 * @member: the member name
 * @value: (out) (transfer none): the string, owned by @object
 * @error: return location for a #GError
 *
 * Reads the string member @member of @object.
 *
 * Returns: %TRUE if @member exists and is a string
 *
 * Since: 1.0
 */
gboolean
hg_json_object_get_string (JsonObject *object,
                           const gchar *member,
                           const gchar **value,
                           GError **error)
{
  return get_string (object, member, FALSE, value, error);
}

/**
 * hg_json_object_get_optional_string:
 * @object: a #JsonObject
 * @member: the member name
 * @value: (out) (transfer none) (nullable): the string, or %NULL when absent
 * @error: return location for a #GError
 *
 * Reads the string member @member of @object, which may be absent.
 *
 * Returns: %TRUE if @member is absent or a string
 *
 * Since: 1.0
 */
gboolean
hg_json_object_get_optional_string (JsonObject *object,
                                    const gchar *member,
                                    const gchar **value,
                                    GError **error)
{
  return get_string (object, member, TRUE, value, error);
}

static gboolean
get_int (JsonObject *object,
         const gchar *member,
         gboolean optional,
         gint64 min,
         gint64 max,
         gint64 *value,
         GError **error)
{
  JsonNode *node;
  gint64 v;

  g_return_val_if_fail (object != NULL, FALSE);
  g_return_val_if_fail (member != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  node = get_member (object, member, optional, error);
  if (node == NULL)
    return optional;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return wrong_type (member, "an integer", error);
  v = json_node_get_int (node);
  if (v < min || v > max)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "member '%s' is %" G_GINT64_FORMAT ", outside %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT,
                   member, v, min, max);
      return FALSE;
    }
  *value = v;
  return TRUE;
}

/**
 * hg_json_object_get_int:
 * @object: a #JsonObject
 * @member: the member name
 * @min: the smallest accepted value
 * @max: the largest accepted value
 * @value: (out): the integer
 * @error: return location for a #GError
 *
 * Reads the integer member @member of @object, which must lie within @min..@max.
 *
 * Returns: %TRUE if @member is an integer within @min..@max
 *
 * Since: 1.0
 */
gboolean
hg_json_object_get_int (JsonObject *object,
                        const gchar *member,
                        gint64 min,
                        gint64 max,
                        gint64 *value,
                        GError **error)
{
  return get_int (object, member, FALSE, min, max, value, error);
}

/**
 * hg_json_object_get_optional_int:
 * @object: a #JsonObject
 * @member: the member name
 * @min: the smallest accepted value
 * @max: the largest accepted value
 * @value: (inout): the integer, left untouched when absent
 * @error: return location for a #GError
 *
 * Reads the integer member @member of @object, which may be absent and must otherwise
 * lie within @min..@max.
 *
 * Returns: %TRUE if @member is absent or an integer within @min..@max
 *
 * Since: 1.0
 */
gboolean
hg_json_object_get_optional_int (JsonObject *object,
                                 const gchar *member,
                                 gint64 min,
                                 gint64 max,
                                 gint64 *value,
                                 GError **error)
{
  return get_int (object, member, TRUE, min, max, value, error);
}

/**
 * hg_json_object_get_double:
 * @object: a #JsonObject
 * @member: the member name
 * @value: (out): the number; integers are accepted too
 * @error: return location for a #GError
 *
 * Reads the number member @member of @object.
 *
 * Returns: %TRUE if @member is a number
 *
 * Since: 1.0
 */
gboolean
hg_json_object_get_double (JsonObject *object,
                           const gchar *member,
                           gdouble *value,
                           GError **error)
{
  JsonNode *node;
  GType type;

  g_return_val_if_fail (object != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  node = get_member (object, member, FALSE, error);
  if (node == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_VALUE (node))
    return wrong_type (member, "a number", error);
  type = json_node_get_value_type (node);
  if (type != G_TYPE_DOUBLE && type != G_TYPE_INT64)
    return wrong_type (member, "a number", error);
  *value = json_node_get_double (node);
  return TRUE;
}

/**
 * hg_json_object_get_boolean:
 * @object: a #JsonObject
 * @member: the member name
 * @value: (out): the boolean
 * @error: return location for a #GError
 *
 * Reads the boolean member @member of @object.
 *
 * Returns: %TRUE if @member is a boolean
 *
 * Since: 1.0
 */
gboolean
hg_json_object_get_boolean (JsonObject *object,
                            const gchar *member,
                            gboolean *value,
                            GError **error)
{
  JsonNode *node;

  g_return_val_if_fail (object != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  node = get_member (object, member, FALSE, error);
  if (node == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return wrong_type (member, "a boolean", error);
  *value = json_node_get_boolean (node);
  return TRUE;
}

/**
 * hg_json_object_get_object:
 * @object: a #JsonObject
 * @member: the member name
 * @value: (out) (transfer none): the nested object
 * @error: return location for a #GError
 *
 * Reads the object member @member of @object.
 *
 * Returns: %TRUE if @member is an object
 *
 * Since: 1.0
 */
gboolean
hg_json_object_get_object (JsonObject *object,
                           const gchar *member,
                           JsonObject **value,
                           GError **error)
{
  JsonNode *node;

  g_return_val_if_fail (object != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  node = get_member (object, member, FALSE, error);
  if (node == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return wrong_type (member, "an object", error);
  *value = json_node_get_object (node);
  return TRUE;
}

/**
 * hg_json_object_get_array:
 * @object: a #JsonObject
 * @member: the member name
 * @value: (out) (transfer none): the array
 * @error: return location for a #GError
 *
 * Reads the array member @member of @object.
 *
 * Returns: %TRUE if @member is an array
 *
 * Since: 1.0
 */
gboolean
hg_json_object_get_array (JsonObject *object,
                          const gchar *member,
                          JsonArray **value,
                          GError **error)
{
  JsonNode *node;

  g_return_val_if_fail (object != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  node = get_member (object, member, FALSE, error);
  if (node == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return wrong_type (member, "an array", error);
  *value = json_node_get_array (node);
  return TRUE;
}

/**
 * hg_json_object_check_members:
 * @object: a #JsonObject
 * @allowed: (array zero-terminated=1): the member names that may appear
 * @error: return location for a #GError
 *
 * Rejects unknown members, so a typo in a request or manifest is an error, not ignored.
 *
 * Returns: %TRUE if every member of @object is in @allowed
 *
 * Since: 1.0
 */
gboolean
hg_json_object_check_members (JsonObject *object,
                              const gchar *const *allowed,
                              GError **error)
{
  JsonObjectIter iter;
  const gchar *name;

  g_return_val_if_fail (object != NULL, FALSE);
  g_return_val_if_fail (allowed != NULL, FALSE);

  json_object_iter_init (&iter, object);
  while (json_object_iter_next (&iter, &name, NULL))
    {
      if (!g_strv_contains (allowed, name))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "unknown member '%s'", name);
          return FALSE;
        }
    }
  return TRUE;
}

/**
 * hg_json_object_to_string:
 * @object: a #JsonObject
 *
 * Writes @object as JSON text.
 *
 * Returns: (transfer full): compact JSON text of @object
 *
 * Since: 1.0
 */
gchar *
hg_json_object_to_string (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  g_return_val_if_fail (object != NULL, NULL);
  json_node_set_object (node, object);
  return json_to_string (node, FALSE);
}
