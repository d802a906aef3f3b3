/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hemgatectl trust: the keys the caller's domain trusts to sign plugin bundles (municipal
 * IT for the municipal domain, the resident for the personal one): list, add, revoke. */
#include "config.h"

#include <glib/gi18n.h>

#include "hemgatectl-commands.h"
#include "hgd-bundle.h"

gboolean
hgd_cli_trust (HgdCliClient *client,
               const HgdCliOptions *options,
               gchar **args,
               GError **error)
{
  static const guint widths[] = { 18, 10, 22, 22 };
  g_autoptr(JsonNode) answer = NULL;
  JsonArray *keys;

  if (!hgd_cli_get_list (client, options, "/api/v1/bundles/keys", "keys", &answer, &keys, error))
    return FALSE;
  if (keys == NULL)
    return TRUE;
  if (json_array_get_length (keys) == 0)
    {
      /* TRANSLATORS: “trust” found no trusted key */
      g_print ("%s\n", _ ("No trusted keys: no bundle can be installed in your domain."));
      return TRUE;
    }
  /* TRANSLATORS: column headings of the trusted keys */
  hgd_cli_print_row (widths, 5,
                     (const gchar *const[]){ _ ("KEY"), _ ("DOMAIN"), _ ("ADDED BY"),
                                             _ ("REVOKED BY"), _ ("NAME") });
  for (guint i = 0; i < json_array_get_length (keys); i++)
    {
      JsonNode *node = json_array_get_element (keys, i);
      JsonObject *key = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;

      hgd_cli_print_row (widths, 5,
                         (const gchar *const[]){ hgd_cli_object_get_text (key, "id"),
                                                 hgd_cli_object_get_text (key, "domain"),
                                                 hgd_cli_object_get_text (key, "added_by"),
                                                 hgd_cli_object_get_text (key, "revoked_by"),
                                                 hgd_cli_object_get_text (key, "name") });
    }
  return TRUE;
}

gboolean
hgd_cli_trust_add (HgdCliClient *client,
                   const HgdCliOptions *options,
                   gchar **args,
                   GError **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autofree gchar *public_text = NULL;
  g_autofree gchar *name = g_path_get_basename (args[0]);
  GError *local = NULL;

  if (!g_key_file_load_from_file (file, args[0], G_KEY_FILE_NONE, &local)
      || (public_text = g_key_file_get_string (file, "hemgate key", "public", &local)) == NULL)
    {
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED, "%s: %s", args[0], local->message);
      g_error_free (local);
      return FALSE;
    }
  if (g_str_has_suffix (name, ".pub"))
    name[strlen (name) - 4] = '\0';
  json_object_set_string_member (body, "public_key", public_text);
  json_object_set_string_member (body, "name", name);
  node = json_node_init_object (json_node_alloc (), body);
  answer = hgd_cli_client_request (client, "POST", "/api/v1/bundles/keys", node, error);
  if (answer == NULL)
    return FALSE;
  if (options->json)
    hgd_cli_print_json (answer, TRUE);
  else
    /* TRANSLATORS: %s are a key id and a domain */
    g_print (_ ("Key %s is trusted for the %s domain.\n"),
             hgd_cli_object_get_text (json_node_get_object (answer), "id"),
             hgd_cli_object_get_text (json_node_get_object (answer), "domain"));
  return TRUE;
}

gboolean
hgd_cli_trust_revoke (HgdCliClient *client,
                      const HgdCliOptions *options,
                      gchar **args,
                      GError **error)
{
  g_autofree gchar *escaped = g_uri_escape_string (args[0], NULL, FALSE);
  g_autofree gchar *path = g_strdup_printf ("/api/v1/bundles/keys/%s/revoke", escaped);
  g_autoptr(JsonNode) answer = NULL;

  answer = hgd_cli_client_request (client, "POST", path, NULL, error);
  if (answer == NULL)
    return FALSE;
  if (options->json)
    hgd_cli_print_json (answer, TRUE);
  else
    /* TRANSLATORS: %s is a key id */
    g_print (_ ("Key %s is revoked: its bundles are refused.\n"), args[0]);
  return TRUE;
}
