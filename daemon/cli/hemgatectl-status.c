/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hemgatectl status: the gateway's health (GET /api/v1/health); how much it shows depends
 * on who asks, from only the overall status for anyone to faults and plugins for staff. */
#include "config.h"

#include <glib/gi18n.h>

#include "hemgatectl-commands.h"
#include "hg-json.h"

static gchar *
format_uptime (gint64 seconds)
{
  guint days = (guint) (seconds / 86400);
  guint hours = (guint) (seconds % 86400 / 3600);
  guint minutes = (guint) (seconds % 3600 / 60);

  if (days > 0)
    /* TRANSLATORS: an uptime; %u is a number of days, followed by hours:minutes */
    return g_strdup_printf (
        g_dngettext (GETTEXT_PACKAGE, "%u day %02u:%02u", "%u days %02u:%02u", days), days, hours,
        minutes);
  return g_strdup_printf ("%02u:%02u", hours, minutes);
}

static void
print_subsystems (JsonObject *subsystems)
{
  g_autoptr(GList) names = json_object_get_members (subsystems);

  /* TRANSLATORS: heading of the list of the gateway's parts and their health */
  g_print ("%s\n", _("Subsystems:"));
  for (GList *l = names; l != NULL; l = l->next)
    {
      const gchar *name = l->data;
      JsonObject *subsystem = NULL;
      const gchar *message = NULL;

      if (!hg_json_object_get_object (subsystems, name, &subsystem, NULL))
        continue;
      g_autofree gchar *padded = hgd_cli_pad (name, 20);
      const gchar *state = hgd_cli_state_text (hgd_cli_object_get_text (subsystem, "status"));

      hg_json_object_get_optional_string (subsystem, "message", &message, NULL);
      if (message != NULL)
        g_print ("  %s %s: %s\n", padded, state, message);
      else
        g_print ("  %s %s\n", padded, state);
    }
}

static void
print_plugins (JsonArray *plugins)
{
  /* TRANSLATORS: heading of the list of plugin instances and their state */
  g_print ("%s\n", _("Plugins:"));
  if (json_array_get_length (plugins) == 0)
    /* TRANSLATORS: in the list of plugins */
    g_print ("  %s\n", _("(none)"));
  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonNode *node = json_array_get_element (plugins, i);
      JsonObject *plugin = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;

      g_autofree gchar *padded = hgd_cli_pad (hgd_cli_object_get_text (plugin, "id"), 20);

      g_print ("  %s %s\n", padded, hgd_cli_state_text (hgd_cli_object_get_text (plugin, "state")));
    }
}

gboolean
hgd_cli_status (HgdCliClient *client,
                const HgdCliOptions *options,
                gchar **args,
                GError **error)
{
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error_local = NULL;
  JsonObject *health;
  JsonObject *subsystems = NULL;
  JsonArray *plugins = NULL;
  const gchar *status = NULL;
  const gchar *version = NULL;
  gint64 uptime = -1;

  answer = hgd_cli_client_request (client, "GET", "/api/v1/health", NULL, error);
  if (answer == NULL)
    return FALSE;
  if (options->json)
    {
      hgd_cli_print_json (answer, TRUE);
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_OBJECT (answer))
    {
      g_set_error_literal (&error_local, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "the answer is not an object");
      g_propagate_error (error, hgd_cli_unexpected_answer (error_local));
      return FALSE;
    }
  health = json_node_get_object (answer);
  if (!hg_json_object_get_string (health, "status", &status, &error_local) ||
      !hg_json_object_get_optional_string (health, "version", &version, &error_local) ||
      !hg_json_object_get_optional_int (health, "uptime", 0, G_MAXINT64, &uptime, &error_local) ||
      (json_object_has_member (health, "subsystems") &&
       !hg_json_object_get_object (health, "subsystems", &subsystems, &error_local)) ||
      (json_object_has_member (health, "plugins") &&
       !hg_json_object_get_array (health, "plugins", &plugins, &error_local)))
    {
      g_propagate_error (error, hgd_cli_unexpected_answer (error_local));
      return FALSE;
    }

  /* TRANSLATORS: the first line of “status”: %s is the gateway's address, the second %s
   * its health */
  g_print (_("Gateway %s: %s\n"), hgd_cli_client_get_url (client), hgd_cli_state_text (status));
  if (version != NULL && uptime >= 0)
    {
      g_autofree gchar *up = format_uptime (uptime);
      /* TRANSLATORS: the first %s is a version number, the second how long it has run */
      g_print (_("hemgated %s, running for %s\n"), version, up);
    }
  if (subsystems != NULL)
    print_subsystems (subsystems);
  if (plugins != NULL)
    print_plugins (plugins);
  hgd_cli_print_personal_plugins (health);
  if (subsystems == NULL && hgd_cli_client_get_token (client) == NULL)
    /* TRANSLATORS: shown by “status” without a session; “hemgatectl login” stays untranslated */
    g_print ("%s\n", _("Log in (hemgatectl login USER) to see the health of each part."));
  return TRUE;
}
