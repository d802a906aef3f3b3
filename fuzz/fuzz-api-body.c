/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: an HTTP API request body, as the dispatcher reads it (hgd_json_check_strict,
 * then hg_json_parse_object); what the check accepts json-glib reads with no control
 * character in any string, and json-glib's own writing of it passes the check again. */
#include "config.h"

#include <hemgate-plugin.h>

#include "hgd-json-check.h"

#include "fuzz.h"

static void
assert_no_control (JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const gchar *name;
        JsonNode *member;

        json_object_iter_init (&iter, json_node_get_object (node));
        while (json_object_iter_next (&iter, &name, &member))
          {
            for (const gchar *p = name; *p != '\0'; p = g_utf8_next_char (p))
              g_assert_false (g_unichar_type (g_utf8_get_char (p)) == G_UNICODE_CONTROL);
            assert_no_control (member);
          }
        break;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        for (guint i = 0; i < json_array_get_length (array); i++)
          assert_no_control (json_array_get_element (array, i));
        break;
      }
    case JSON_NODE_VALUE:
      if (json_node_get_value_type (node) == G_TYPE_STRING)
        {
          const gchar *text = json_node_get_string (node);
          g_assert_true (g_utf8_validate (text, -1, NULL));
          for (const gchar *p = text; *p != '\0'; p = g_utf8_next_char (p))
            g_assert_false (g_unichar_type (g_utf8_get_char (p)) == G_UNICODE_CONTROL);
        }
      break;
    case JSON_NODE_NULL:
    default:
      break;
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t size)
{
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *field = NULL;
  g_autofree gchar *text = NULL;

  fuzz_setup ();
  if (size > FUZZ_MAX_INPUT)
    return 0;
  if (!hgd_json_check_strict ((const gchar *) data, size, &field, &error))
    {
      g_assert_nonnull (error);
      g_assert_true (field == NULL || field[0] == '/');
      return 0;
    }
  g_assert_null (field);
  object = hg_json_parse_object ((const gchar *) data, (gssize) size, 0, NULL);
  if (object == NULL)
    return 0; /* one JSON value, but not an object */

  root = json_node_init_object (json_node_alloc (), object);
  assert_no_control (root);
  text = hg_json_object_to_string (object);
  g_assert_true (hgd_json_check_strict (text, strlen (text), NULL, NULL));
  return 0;
}
