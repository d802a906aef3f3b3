/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hemgatectl plugins: lists the plugin instances with their state; restarts, disables or
 * enables one. */
#include "config.h"

#include <glib/gi18n.h>
#include <libsoup/soup.h>

#include "hemgatectl-commands.h"
#include "hg-json.h"
#include "hgd-bundle.h"

gboolean
hgd_cli_plugins (HgdCliClient *client,
                 const HgdCliOptions *options,
                 gchar **args,
                 GError **error)
{
  static const guint widths[] = { 20, 20, 10, 12, 8 };
  g_autoptr(JsonNode) answer = NULL;
  JsonArray *plugins;

  if (!hgd_cli_get_list (client, options, "/api/v1/plugins", "plugins", &answer, &plugins, error))
    return FALSE;
  if (plugins == NULL)
    return TRUE;
  if (json_array_get_length (plugins) == 0)
    {
      /* TRANSLATORS: “plugins” found no plugin instance */
      g_print ("%s\n", _("No plugins."));
      hgd_cli_print_personal_plugins (json_node_get_object (answer));
      return TRUE;
    }
  /* TRANSLATORS: column headings of the plugin list */
  hgd_cli_print_row (widths, 6,
                     (const gchar *const[]){ _("ID"), _("PLUGIN"), _("DOMAIN"), _("STATE"),
                                             _("RESTARTS"), _("ERROR") });
  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonNode *node = json_array_get_element (plugins, i);
      JsonObject *plugin = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      gint64 restarts = 0;
      g_autofree gchar *restarts_text = NULL;

      if (plugin != NULL)
        hg_json_object_get_optional_int (plugin, "restarts", 0, G_MAXINT64, &restarts, NULL);
      restarts_text = g_strdup_printf ("%" G_GINT64_FORMAT, restarts);
      hgd_cli_print_row (
          widths, 6,
          (const gchar *const[]){ hgd_cli_object_get_text (plugin, "id"),
                                  hgd_cli_object_get_text (plugin, "plugin"),
                                  hgd_cli_object_get_text (plugin, "domain"),
                                  hgd_cli_state_text (hgd_cli_object_get_text (plugin, "state")),
                                  restarts_text, hgd_cli_object_get_text (plugin, "error") });
    }
  hgd_cli_print_personal_plugins (json_node_get_object (answer));
  return TRUE;
}

/* POSTs /api/v1/plugins/ID/@action and prints @done, or the answer with --json. */
static gboolean
plugin_action (HgdCliClient *client,
               const HgdCliOptions *options,
               const gchar *id,
               const gchar *action,
               const gchar *done,
               GError **error)
{
  g_autofree gchar *escaped = g_uri_escape_string (id, NULL, FALSE);
  g_autofree gchar *path = g_strdup_printf ("/api/v1/plugins/%s/%s", escaped, action);
  g_autoptr(JsonNode) answer = NULL;

  answer = hgd_cli_client_request (client, "POST", path, NULL, error);
  if (answer == NULL)
    return FALSE;
  if (options->json)
    {
      hgd_cli_print_json (answer, TRUE);
      return TRUE;
    }
  g_print ("%s\n", done);
  return TRUE;
}

gboolean
hgd_cli_plugins_restart (HgdCliClient *client,
                         const HgdCliOptions *options,
                         gchar **args,
                         GError **error)
{
  /* TRANSLATORS: %s is a plugin instance id */
  g_autofree gchar *done = g_strdup_printf (_("Restarting %s."), args[0]);

  return plugin_action (client, options, args[0], "restart", done, error);
}

gboolean
hgd_cli_plugins_disable (HgdCliClient *client,
                         const HgdCliOptions *options,
                         gchar **args,
                         GError **error)
{
  /* TRANSLATORS: %s is a plugin instance id */
  g_autofree gchar *done = g_strdup_printf (
      _("Disabled %s: it is stopped, and stays stopped after a restart."), args[0]);

  return plugin_action (client, options, args[0], "disable", done, error);
}

gboolean
hgd_cli_plugins_enable (HgdCliClient *client,
                        const HgdCliOptions *options,
                        gchar **args,
                        GError **error)
{
  /* TRANSLATORS: %s is a plugin instance id */
  g_autofree gchar *done = g_strdup_printf (_("Enabled %s: starting it."), args[0]);

  return plugin_action (client, options, args[0], "enable", done, error);
}

/* plugins install FILE: POSTs the bundle to /api/v1/bundles, into the caller's domain,
 * then follows the install job until it ends, printing each step. */
/* A bundle's bytes from a file, or from an http(s) URL (the system's CAs for https), no
 * more than a bundle may be: what a larger answer would be is refused before it is read. */
static GBytes *
read_bundle (const gchar *where,
             GError **error)
{
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(SoupMessage) message = NULL;
  g_autoptr(GInputStream) body = NULL;
  g_autoptr(GByteArray) data = g_byte_array_new ();
  GError *local = NULL;
  gchar *contents = NULL;
  gsize length = 0;

  if (!g_str_has_prefix (where, "http://") && !g_str_has_prefix (where, "https://"))
    {
      if (!g_file_get_contents (where, &contents, &length, &local))
        {
          g_set_error_literal (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED, local->message);
          g_error_free (local);
          return NULL;
        }
      return g_bytes_new_take (contents, length);
    }
  message = soup_message_new (SOUP_METHOD_GET, where);
  if (message == NULL)
    {
      /* TRANSLATORS: %s is what was given as a bundle's address */
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED, _("Not a URL: %s"), where);
      return NULL;
    }
  session = soup_session_new_with_options ("timeout", 60, NULL);
  body = soup_session_send (session, message, NULL, &local);
  if (body == NULL || soup_message_get_status (message) != SOUP_STATUS_OK)
    {
      g_autofree gchar *why
          = local != NULL ? g_strdup (local->message)
                          : g_strdup_printf ("%u %s", soup_message_get_status (message),
                                             soup_message_get_reason_phrase (message));

      /* TRANSLATORS: the first %s is a URL, the second why it could not be fetched */
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED, _("Could not fetch %s: %s"),
                   where, why);
      g_clear_error (&local);
      return NULL;
    }
  for (;;)
    {
      guint8 buffer[65536];
      gssize n = g_input_stream_read (body, buffer, sizeof buffer, NULL, &local);

      if (n < 0)
        {
          g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED, _("Could not fetch %s: %s"),
                       where, local->message);
          g_error_free (local);
          return NULL;
        }
      if (n == 0)
        break;
      if (data->len + (gsize) n > HGD_BUNDLE_MAX_SIZE)
        {
          /* TRANSLATORS: %s is a URL; %u the largest bundle in MiB */
          g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED,
                       _("%s is larger than a bundle may be (%u MiB)"), where,
                       (guint) (HGD_BUNDLE_MAX_SIZE / (1024 * 1024)));
          return NULL;
        }
      g_byte_array_append (data, buffer, (guint) n);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&data));
}

gboolean
hgd_cli_plugins_install (HgdCliClient *client,
                         const HgdCliOptions *options,
                         gchar **args,
                         GError **error)
{
  g_autofree gchar *path = NULL;
  g_autofree gchar *job_path = NULL;
  g_autofree gchar *last_step = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JsonNode) answer = NULL;
  const gchar *job;

  bytes = read_bundle (args[0], error);
  if (bytes == NULL)
    return FALSE;
  if (options->approve != NULL)
    {
      g_autofree gchar *escaped = g_uri_escape_string (options->approve, ",", FALSE);
      path = g_strdup_printf ("/api/v1/bundles?approve=%s%s", escaped,
                              options->allow_downgrade ? "&allow_downgrade=true" : "");
    }
  else
    path = g_strdup (options->allow_downgrade ? "/api/v1/bundles?allow_downgrade=true"
                                              : "/api/v1/bundles");
  answer = hgd_cli_client_request_bytes (client, "POST", path, bytes, error);
  if (answer == NULL)
    return FALSE;
  job = hgd_cli_object_get_text (json_node_get_object (answer), "job");
  job_path = g_strdup_printf ("/api/v1/bundles/jobs/%s", job);
  for (;;)
    {
      JsonObject *object;
      const gchar *state;
      const gchar *step;

      g_clear_pointer (&answer, json_node_unref);
      answer = hgd_cli_client_request (client, "GET", job_path, NULL, error);
      if (answer == NULL)
        return FALSE;
      object = json_node_get_object (answer);
      state = hgd_cli_object_get_text (object, "state");
      step = hgd_cli_object_get_text (object, "step");
      if (!options->json && g_strcmp0 (step, last_step) != 0)
        {
          /* TRANSLATORS: an install job's progress; %s is its step, e.g. staging */
          g_print (_("… %s\n"), step);
          g_free (last_step);
          last_step = g_strdup (step);
        }
      if (g_strcmp0 (state, "running") != 0)
        {
          if (options->json)
            hgd_cli_print_json (answer, TRUE);
          if (g_strcmp0 (state, "succeeded") == 0)
            {
              if (!options->json)
                /* TRANSLATORS: %s are a plugin id and its version */
                g_print (_("Installed %s %s: it runs.\n"),
                         hgd_cli_object_get_text (object, "plugin"),
                         hgd_cli_object_get_text (object, "version"));
              return TRUE;
            }
          /* TRANSLATORS: %s are the outcome (e.g. rolled-back) and its reason */
          g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED, _("Install %s: %s"), state,
                       hgd_cli_object_get_text (object, "error"));
          return FALSE;
        }
      g_usleep (200 * 1000);
    }
}

/* plugins remove ID: DELETE /api/v1/bundles/ID. */
gboolean
hgd_cli_plugins_remove (HgdCliClient *client,
                        const HgdCliOptions *options,
                        gchar **args,
                        GError **error)
{
  g_autofree gchar *escaped = g_uri_escape_string (args[0], NULL, FALSE);
  g_autofree gchar *path = g_strdup_printf ("/api/v1/bundles/%s", escaped);
  g_autoptr(JsonNode) answer = NULL;

  answer = hgd_cli_client_request (client, "DELETE", path, NULL, error);
  if (answer == NULL)
    return FALSE;
  if (options->json)
    hgd_cli_print_json (answer, TRUE);
  else
    /* TRANSLATORS: %s is a plugin id */
    g_print (_("Removed %s.\n"), args[0]);
  return TRUE;
}
