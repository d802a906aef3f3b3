/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hemgatectl personal: the resident's data rights: export everything of the personal
 * domain to a file, and erase it (only with --yes). */
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "hemgatectl-commands.h"
#include "hg-json.h"

static guint
array_length (JsonObject *object,
              const gchar *member)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, member) : NULL;

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node)
             ? json_array_get_length (json_node_get_array (node))
             : 0;
}

gboolean
hgd_cli_personal_export (HgdCliClient *client,
                         const HgdCliOptions *options,
                         gchar **args,
                         GError **error)
{
  const gchar *path = args[0];
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree gchar *text = NULL;
  gsize length = 0;
  JsonObject *document;

  answer = hgd_cli_client_request (client, "GET", "/api/v1/personal/export", NULL, error);
  if (answer == NULL)
    return FALSE;
  document = JSON_NODE_HOLDS_OBJECT (answer) ? json_node_get_object (answer) : NULL;
  json_generator_set_root (generator, answer);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, &length);
  if (g_strcmp0 (path, "-") == 0)
    {
      g_print ("%s\n", text);
      return TRUE;
    }
  /* personal data: readable by its owner only, and never half written */
  if (!g_file_set_contents_full (path, text, (gssize) length,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_ONLY_EXISTING,
                                 0600, error))
    return FALSE;
  if (options->json)
    return TRUE;
  /* TRANSLATORS: after “personal export FILE”; %s is the file, then how many of each */
  g_print (_("Exported the personal domain to %s: %u events, %u devices, %u accounts, %u "
             "access log entries.\n"),
           path, array_length (document, "events"), array_length (document, "devices"),
           array_length (document, "accounts"), array_length (document, "access_log"));
  return TRUE;
}

gboolean
hgd_cli_personal_erase (HgdCliClient *client,
                        const HgdCliOptions *options,
                        gchar **args,
                        GError **error)
{
  g_autoptr(JsonNode) body = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(JsonNode) answer = NULL;
  JsonObject *object = json_object_new ();
  JsonObject *result;
  JsonArray *removed = NULL;

  /* --yes is required: the dispatcher checked it */
  g_return_val_if_fail (options->yes, FALSE);
  json_object_set_string_member (object, "confirm", "erase-personal-data");
  json_node_take_object (body, object);
  answer = hgd_cli_client_request (client, "POST", "/api/v1/personal/erase", body, error);
  if (answer == NULL)
    return FALSE;
  if (options->json)
    {
      hgd_cli_print_json (answer, TRUE);
      return TRUE;
    }
  result = JSON_NODE_HOLDS_OBJECT (answer) ? json_node_get_object (answer) : NULL;
  /* TRANSLATORS: after “personal erase --yes” */
  g_print ("%s\n", _("Erased the personal domain: its journal, the personal plugins' data and "
                     "the family accounts."));
  if (result != NULL && json_object_has_member (result, "accounts_removed"))
    removed = json_object_get_array_member (result, "accounts_removed");
  for (guint i = 0; removed != NULL && i < json_array_get_length (removed); i++)
    /* TRANSLATORS: one line per account “personal erase” removed; %s is its name */
    g_print (_("Removed the account %s.\n"), json_array_get_string_element (removed, i));
  if (result != NULL && !json_object_get_boolean_member_with_default (result, "secrets", FALSE))
    /* TRANSLATORS: “personal erase” could not reach the Secret Service */
    g_print ("%s\n", _("The personal secrets could not be removed: the Secret Service was not "
                       "reachable. Run the command again."));
  if (result != NULL && !json_object_get_boolean_member_with_default (result, "recorded", FALSE))
    /* TRANSLATORS: the erasure happened but the municipal journal did not record it */
    g_print ("%s\n", _("The erasure could not be recorded in the municipal journal."));
  return TRUE;
}
