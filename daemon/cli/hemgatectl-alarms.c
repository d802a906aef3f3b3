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

/* An alarm is worth a few tries: 1 + 2 + 4 seconds between four attempts. */
#define RAISE_ATTEMPTS 4

/* Whether the answer may have been lost (no connection, or it broke) or the gateway asks to
 * try again; never for an answer that refuses the alarm. */
static gboolean
raise_may_retry (HgdCliClient *client,
                 const GError *error)
{
  JsonNode *api_error = hgd_cli_client_get_last_api_error (client);
  const gchar *code = NULL;

  if (g_error_matches (error, HGD_CLI_ERROR, HGD_CLI_ERROR_UNREACHABLE))
    return TRUE;
  if (api_error != NULL && JSON_NODE_HOLDS_OBJECT (api_error))
    {
      JsonObject *object = json_node_get_object (api_error);
      JsonNode *inner = json_object_get_member (object, "error");

      if (inner != NULL && JSON_NODE_HOLDS_OBJECT (inner))
        code = hgd_cli_object_get_text (json_node_get_object (inner), "code");
    }
  return g_strcmp0 (code, "idempotency-key-in-flight") == 0
         || g_strcmp0 (code, "shutting-down") == 0;
}

gboolean
hgd_cli_alarms_raise (HgdCliClient *client,
                      const HgdCliOptions *options,
                      gchar **args,
                      GError **error)
{
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autofree gchar *key = NULL;
  JsonObject *object = json_object_new ();
  const gchar *ref = "-";

  json_object_set_string_member (object, "type", args[0]);
  json_object_set_string_member (object, "source", "hemgatectl");
  if (options->location != NULL)
    json_object_set_string_member (object, "location", options->location);
  body = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (body, object);
  /* one key for every attempt: however many reach the gateway, one alarm is raised */
  key = options->idempotency_key != NULL ? g_strdup (options->idempotency_key)
                                         : g_uuid_string_random ();
  for (guint attempt = 0;; attempt++)
    {
      g_autoptr(GError) error_local = NULL;

      answer = hgd_cli_client_request_idempotent (client, "POST", "/api/v1/alarms", body, key,
                                                  &error_local);
      if (answer != NULL)
        break;
      if (!raise_may_retry (client, error_local))
        {
          g_propagate_error (error, g_steal_pointer (&error_local));
          return FALSE;
        }
      if (attempt + 1 >= RAISE_ATTEMPTS)
        {
          /* the alarm may have been raised: say how to try again safely */
          g_autofree gchar *hint = g_strdup_printf (
              /* TRANSLATORS: after “alarms raise” failed; %s is the key; keep the option name */
              _("To try again without raising the alarm twice, run the same command with "
                "--idempotency-key %s"),
              key);

          g_set_error (error, error_local->domain, error_local->code, "%s\n%s",
                       error_local->message, hint);
          return FALSE;
        }
      g_usleep ((1 << attempt) * G_USEC_PER_SEC);
    }
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
