/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hemgatectl alarms: lists the home's alarms with their state, and raises one. */
#include "config.h"

#include <glib/gi18n.h>

#include "hemgatectl-commands.h"
#include "hg-json.h"

gboolean
hgd_cli_alarms (HgdCliClient *client,
                const HgdCliOptions *options,
                gchar **args,
                GError **error)
{
  static const guint widths[] = { 20, 12, 14, 16 };
  g_autoptr(JsonNode) answer = NULL;
  JsonArray *alarms;

  answer = hgd_cli_client_request (client, "GET", "/api/v1/alarms", NULL, error);
  if (answer == NULL)
    return FALSE;
  if (options->json)
    {
      hgd_cli_print_json (answer, TRUE);
      return TRUE;
    }
  alarms = hgd_cli_answer_get_array (answer, "alarms", error);
  if (alarms == NULL)
    return FALSE;
  if (json_array_get_length (alarms) == 0)
    {
      /* TRANSLATORS: “alarms” found no alarm */
      g_print ("%s\n", _("No alarms."));
      return TRUE;
    }
  /* TRANSLATORS: column headings of the alarm list */
  hgd_cli_print_row (widths, 5,
                     (const gchar *const[]){ _("REFERENCE"), _("TYPE"), _("STATE"),
                                             _("LOCATION"), _("SOURCE") });
  for (guint i = 0; i < json_array_get_length (alarms); i++)
    {
      JsonNode *node = json_array_get_element (alarms, i);
      JsonObject *alarm = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;

      hgd_cli_print_row (widths, 5,
                         (const gchar *const[]){ hgd_cli_object_get_text (alarm, "ref"),
                                                 hgd_cli_object_get_text (alarm, "type"),
                                                 hgd_cli_object_get_text (alarm, "state"),
                                                 hgd_cli_object_get_text (alarm, "location"),
                                                 hgd_cli_object_get_text (alarm, "source") });
    }
  return TRUE;
}

gboolean
hgd_cli_alarms_raise (HgdCliClient *client,
                      const HgdCliOptions *options,
                      gchar **args,
                      GError **error)
{
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(JsonNode) answer = NULL;
  JsonObject *object = json_object_new ();
  const gchar *ref = "-";

  json_object_set_string_member (object, "type", args[0]);
  json_object_set_string_member (object, "source", "hemgatectl");
  if (options->location != NULL)
    json_object_set_string_member (object, "location", options->location);
  body = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (body, object);
  answer = hgd_cli_client_request (client, "POST", "/api/v1/alarms", body, error);
  if (answer == NULL)
    return FALSE;
  if (options->json)
    {
      hgd_cli_print_json (answer, TRUE);
      return TRUE;
    }
  if (JSON_NODE_HOLDS_OBJECT (answer))
    ref = hgd_cli_object_get_text (json_node_get_object (answer), "ref");
  /* TRANSLATORS: the alarm was journaled; the first %s is its type, the second its reference */
  g_print (_("Alarm %s raised: %s\n"), args[0], ref);
  return TRUE;
}
