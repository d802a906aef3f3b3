/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgSensorPath: dotted member names with optional array indices, e.g. `$.object.temp` or
 * `sensors[1].value`. Deliberately no wildcards, filters or recursion: a configured path
 * names exactly one value. Lookups never trust the document's shape. */
#include "hg-sensor-path.h"

#include <hemgate-plugin.h>

/* Deep enough for any decoder output, short enough to read in a config file. */
#define MAX_STEPS 8
#define MAX_NAME 64
#define MAX_INDEX 255

typedef struct
{
  gchar *name; /* (owned) */
  gint index;  /* an array index after the name, or -1 */
} Step;

struct _HgSensorPath
{
  gchar *text; /* (owned) as configured */
  Step steps[MAX_STEPS];
  guint n_steps;
};

void
hg_sensor_path_free (HgSensorPath *self)
{
  if (self == NULL)
    return;
  for (guint i = 0; i < self->n_steps; i++)
    g_free (self->steps[i].name);
  g_free (self->text);
  g_free (self);
}

static gboolean
bad_path (const gchar *text,
          const gchar *why,
          GError **error)
{
  g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "'%s' is not a JSON path: %s", text, why);
  return FALSE;
}

static gboolean
parse_step (HgSensorPath *self,
            const gchar *text,
            const gchar *part,
            GError **error)
{
  const gchar *bracket = strchr (part, '[');
  gsize name_len = bracket != NULL ? (gsize) (bracket - part) : strlen (part);
  Step *step = &self->steps[self->n_steps];
  guint64 index = 0;

  if (name_len == 0 || name_len > MAX_NAME)
    return bad_path (text, "each step is a member name of 1 to 64 characters", error);
  for (gsize i = 0; i < name_len; i++)
    {
      if (!g_ascii_isalnum (part[i]) && part[i] != '_' && part[i] != '-')
        return bad_path (text, "member names are letters, digits, '_' and '-'", error);
    }
  step->index = -1;
  if (bracket != NULL)
    {
      g_autofree gchar *digits = NULL;
      const gchar *close = strchr (bracket, ']');

      if (close == NULL || close[1] != '\0' || close == bracket + 1)
        return bad_path (text, "an index is written [N] at the end of a step", error);
      digits = g_strndup (bracket + 1, close - bracket - 1);
      if (!g_ascii_string_to_unsigned (digits, 10, 0, MAX_INDEX, &index, NULL))
        return bad_path (text, "an index is a number from 0 to 255", error);
      step->index = (gint) index;
    }
  step->name = g_strndup (part, name_len);
  self->n_steps++;
  return TRUE;
}

/**
 * hg_sensor_path_new:
 * @text: e.g. `$.object.temperature` (the `$.` is optional)
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the compiled path, or %NULL with %HG_ERROR_INVALID_DATA
 */
HgSensorPath *
hg_sensor_path_new (const gchar *text,
                    GError **error)
{
  g_autoptr(HgSensorPath) self = g_new0 (HgSensorPath, 1);
  g_auto(GStrv) parts = NULL;
  const gchar *rest = text;

  g_return_val_if_fail (text != NULL, NULL);

  self->text = g_strdup (text);
  if (g_str_has_prefix (rest, "$."))
    rest += 2;
  parts = g_strsplit (rest, ".", -1);
  if (parts[0] == NULL || g_strv_length (parts) > MAX_STEPS)
    {
      bad_path (text, "a path has 1 to 8 steps", error);
      return NULL;
    }
  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (!parse_step (self, text, parts[i], error))
        return NULL;
    }
  return g_steal_pointer (&self);
}

const gchar *
hg_sensor_path_to_string (HgSensorPath *self)
{
  return self->text;
}

/* The name of the last member, to name it in errors and readings. */
const gchar *
hg_sensor_path_get_last_name (HgSensorPath *self)
{
  return self->steps[self->n_steps - 1].name;
}

/**
 * hg_sensor_path_lookup:
 * @self: a path
 * @root: untrusted JSON
 * @error: return location for a #GError
 *
 * Returns: (transfer none): the node the path names, or %NULL with
 *   %HG_ERROR_INVALID_DATA saying which step did not match
 */
JsonNode *
hg_sensor_path_lookup (HgSensorPath *self,
                       JsonObject *root,
                       GError **error)
{
  JsonObject *object = root;
  JsonNode *node = NULL;

  for (guint i = 0; i < self->n_steps; i++)
    {
      const Step *step = &self->steps[i];

      if (object == NULL)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "member '%s' is not an object",
                       self->steps[i - 1].name);
          return NULL;
        }
      node = json_object_get_member (object, step->name);
      if (node == NULL)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "member '%s' is missing",
                       step->name);
          return NULL;
        }
      if (step->index >= 0)
        {
          JsonArray *array;

          if (!JSON_NODE_HOLDS_ARRAY (node))
            {
              g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "member '%s' is not an array",
                           step->name);
              return NULL;
            }
          array = json_node_get_array (node);
          if ((guint) step->index >= json_array_get_length (array))
            {
              g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "member '%s' has no item %d",
                           step->name, step->index);
              return NULL;
            }
          node = json_array_get_element (array, step->index);
        }
      object = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
    }
  return node;
}
