/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hemgatectl users: lists the users the caller manages, and adds one with a role and a
 * password asked for without echo (or read from standard input). */
#include "config.h"

#include <glib/gi18n.h>

#include "hemgatectl-commands.h"
#include "hg-json.h"

gboolean
hgd_cli_users (HgdCliClient *client,
               const HgdCliOptions *options,
               gchar **args,
               GError **error)
{
  static const guint widths[] = { 24, 10, 10 };
  g_autoptr(JsonNode) answer = NULL;
  JsonArray *users;

  answer = hgd_cli_client_request (client, "GET", "/api/v1/users", NULL, error);
  if (answer == NULL)
    return FALSE;
  if (options->json)
    {
      hgd_cli_print_json (answer, TRUE);
      return TRUE;
    }
  users = hgd_cli_answer_get_array (answer, "users", error);
  if (users == NULL)
    return FALSE;
  if (json_array_get_length (users) == 0)
    {
      /* TRANSLATORS: “users” found nobody the caller manages */
      g_print ("%s\n", _("No users."));
      return TRUE;
    }
  /* TRANSLATORS: column headings of the user list */
  hgd_cli_print_row (widths, 4,
                     (const gchar *const[]){ _("USER"), _("ROLE"), _("DOMAIN"), _("CREATED") });
  for (guint i = 0; i < json_array_get_length (users); i++)
    {
      JsonNode *node = json_array_get_element (users, i);
      JsonObject *user = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      g_autofree gchar *created = hgd_cli_format_time (hgd_cli_object_get_text (user, "created"));

      hgd_cli_print_row (widths, 4,
                         (const gchar *const[]){ hgd_cli_object_get_text (user, "username"),
                                                 hgd_cli_object_get_text (user, "role"),
                                                 hgd_cli_object_get_text (user, "domain"),
                                                 created });
    }
  return TRUE;
}

gboolean
hgd_cli_users_add (HgdCliClient *client,
                   const HgdCliOptions *options,
                   gchar **args,
                   GError **error)
{
  const gchar *username = args[0];
  g_auto(HgdCliPassword) password = NULL;
  g_autofree gchar *prompt = NULL;
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(JsonNode) answer = NULL;
  JsonObject *object;

  /* --role is required: the dispatcher checked it */
  g_return_val_if_fail (options->role != NULL, FALSE);
  /* TRANSLATORS: the prompt for a new user's password; %s is the user name */
  prompt = g_strdup_printf (_("New password for %s: "), username);
  password
      = hgd_cli_read_password (prompt,
                               /* TRANSLATORS: the prompt to type the new password a second time */
                               _("Repeat the password: "), options->password_stdin, error);
  if (password == NULL)
    return FALSE;

  object = json_object_new ();
  json_object_set_string_member (object, "username", username);
  json_object_set_string_member (object, "role", options->role);
  json_object_set_string_member (object, "password", password);
  body = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (body, object);
  answer = hgd_cli_client_request (client, "POST", "/api/v1/users", body, error);
  if (answer == NULL)
    return FALSE;
  if (options->json)
    {
      hgd_cli_print_json (answer, TRUE);
      return TRUE;
    }
  /* TRANSLATORS: the first %s is a user name, the second a role */
  g_print (_("Added %s with the role %s.\n"), username, options->role);
  return TRUE;
}
