/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hemgatectl login and logout: open a session with a password and keep its token in the
 * Secret Service (or, without one, in a file only the user can read); end it on the
 * gateway and forget the token. */
#include "config.h"

#include <glib/gi18n.h>

#include "hemgatectl-commands.h"
#include "hg-json.h"

/* Ends the session of a token that could not be kept, so it does not linger unused. */
static void
revoke_quietly (HgdCliClient *client)
{
  g_autoptr(JsonNode) answer
      = hgd_cli_client_request (client, "POST", "/api/v1/auth/logout", NULL, NULL);
}

static gboolean login_answered (HgdCliClient *client,
                                const HgdCliOptions *options,
                                JsonNode *answer,
                                const gchar *username,
                                GError **error);

/* The last API error's stable code, e.g. "authorization-pending". */
static const gchar *
last_error_code (HgdCliClient *client)
{
  JsonNode *node = hgd_cli_client_get_last_api_error (client);
  JsonObject *error;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  error = json_object_get_object_member (json_node_get_object (node), "error");
  return error != NULL ? json_object_get_string_member_with_default (error, "code", NULL) : NULL;
}

/* login --oidc: the device authorization grant (RFC 8628) through the gateway, which holds
 * the client secret: the user enters the code shown in a browser anywhere, meanwhile this
 * asks the gateway every few seconds whether they did. */
static gboolean
login_oidc (HgdCliClient *client,
            const HgdCliOptions *options,
            GError **error)
{
  g_autoptr(JsonNode) begin = NULL;
  g_autoptr(JsonNode) poll = NULL;
  g_autoptr(GError) error_local = NULL;
  g_autofree gchar *username = NULL;
  JsonObject *object;
  const gchar *device_code = NULL;
  const gchar *user_code = NULL;
  const gchar *uri = NULL;
  const gchar *uri_complete = NULL;
  gint64 interval;
  gint64 deadline;

  begin = hgd_cli_client_request (client, "POST", "/api/v1/auth/oidc/device", NULL, error);
  if (begin == NULL)
    return FALSE;
  object = JSON_NODE_HOLDS_OBJECT (begin) ? json_node_get_object (begin) : NULL;
  if (object == NULL ||
      !hg_json_object_get_string (object, "device_code", &device_code, &error_local) ||
      !hg_json_object_get_string (object, "user_code", &user_code, &error_local) ||
      !hg_json_object_get_string (object, "verification_uri", &uri, &error_local) ||
      !hg_json_object_get_optional_string (object, "verification_uri_complete", &uri_complete,
                                           &error_local))
    {
      if (error_local == NULL)
        g_set_error_literal (&error_local, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                             "the answer is not an object");
      g_propagate_error (error, hgd_cli_unexpected_answer (error_local));
      return FALSE;
    }
  interval = CLAMP (json_object_get_int_member_with_default (object, "interval", 5), 1, 60);
  deadline = g_get_monotonic_time () +
             CLAMP (json_object_get_int_member_with_default (object, "expires_in", 600), 1, 3600) *
                 G_USEC_PER_SEC;
  /* the instructions go to stderr with --json, which keeps stdout for the answer */
  {
    g_autofree gchar *text = g_strdup_printf (
        /* TRANSLATORS: login --oidc; the first %s is a web address, the second a code like
         * WDJB-MJHT */
        _("To log in, open %s in a browser (on any device) and enter the code %s\n"), uri,
        user_code);

    if (options->json)
      g_printerr ("%s", text);
    else
      g_print ("%s", text);
    if (uri_complete != NULL)
      {
        g_autofree gchar *direct = g_strdup_printf (
            /* TRANSLATORS: login --oidc; %s is a web address with the code in it */
            _("or open %s\n"), uri_complete);

        if (options->json)
          g_printerr ("%s", direct);
        else
          g_print ("%s", direct);
      }
  }

  {
    g_autoptr(JsonNode) body = json_node_new (JSON_NODE_OBJECT);
    JsonObject *request = json_object_new ();

    json_object_set_string_member (request, "device_code", device_code);
    json_node_take_object (body, request);
    while (TRUE)
      {
        g_clear_error (&error_local);
        g_usleep (interval * G_USEC_PER_SEC);
        poll = hgd_cli_client_request (client, "POST", "/api/v1/auth/oidc/device/token", body,
                                       &error_local);
        if (poll != NULL)
          break;
        if (g_strcmp0 (last_error_code (client), "authorization-pending") != 0 ||
            g_get_monotonic_time () > deadline)
          {
            g_propagate_error (error, g_steal_pointer (&error_local));
            return FALSE;
          }
      }
  }
  object = JSON_NODE_HOLDS_OBJECT (poll) ? json_node_get_object (poll) : NULL;
  username = g_strdup (object != NULL ? json_object_get_string_member_with_default (
                                            object, "username", "oidc")
                                      : "oidc");
  return login_answered (client, options, poll, username, error);
}

gboolean
hgd_cli_login (HgdCliClient *client,
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

  if (options->oidc)
    return login_oidc (client, options, error);

  /* TRANSLATORS: the password prompt; the first %s is a user name, the second the
   * gateway's address */
  prompt
      = g_strdup_printf (_("Password for %s at %s: "), username, hgd_cli_client_get_url (client));
  password = hgd_cli_read_password (prompt, NULL, options->password_stdin, error);
  if (password == NULL)
    return FALSE;

  object = json_object_new ();
  json_object_set_string_member (object, "username", username);
  json_object_set_string_member (object, "password", password);
  body = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (body, object);
  answer = hgd_cli_client_request (client, "POST", "/api/v1/auth/login", body, error);
  if (answer == NULL)
    return FALSE;
  return login_answered (client, options, answer, username, error);
}

/* A session opened (a login's answer): keeps its token and says so. */
static gboolean
login_answered (HgdCliClient *client,
                const HgdCliOptions *options,
                JsonNode *answer,
                const gchar *username,
                GError **error)
{
  g_autoptr(GError) error_local = NULL;
  g_autofree gchar *expires = NULL;
  g_autofree gchar *file = NULL;
  JsonObject *object;
  const gchar *token = NULL;
  const gchar *role = NULL;
  const gchar *domain = NULL;
  const gchar *expires_iso = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (answer))
    {
      g_set_error_literal (&error_local, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "the answer is not an object");
      g_propagate_error (error, hgd_cli_unexpected_answer (error_local));
      return FALSE;
    }
  object = json_node_get_object (answer);
  if (!hg_json_object_get_string (object, "token", &token, &error_local) ||
      !hg_json_object_get_optional_string (object, "role", &role, &error_local) ||
      !hg_json_object_get_optional_string (object, "domain", &domain, &error_local) ||
      !hg_json_object_get_optional_string (object, "expires", &expires_iso, &error_local))
    {
      g_propagate_error (error, hgd_cli_unexpected_answer (error_local));
      return FALSE;
    }
  hgd_cli_client_set_token (client, token, HGD_CLI_TOKEN_LOGIN);

  if (!hgd_cli_client_save_token (client, username, &file, &error_local))
    {
      /* with --json the token is printed, so the caller can still use it */
      if (options->json)
        {
          hgd_cli_print_json (answer, TRUE);
          g_printerr ("hemgatectl: %s\n", error_local->message);
          /* TRANSLATORS: HEMGATE_TOKEN stays untranslated */
          g_printerr ("%s\n", _("The token was not kept; pass it in HEMGATE_TOKEN."));
          return TRUE;
        }
      revoke_quietly (client);
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED,
                   /* TRANSLATORS: %s says why the token could not be kept; HEMGATE_TOKEN and
                    * “hemgatectl --json login” stay untranslated */
                   _("%s; the session was ended again. Run “hemgatectl --json login” and pass "
                     "the token it prints in HEMGATE_TOKEN"),
                   error_local->message);
      return FALSE;
    }

  if (options->json)
    {
      hgd_cli_print_json (answer, TRUE);
      if (file != NULL)
        /* TRANSLATORS: %s is a file name */
        g_printerr (_("No Secret Service is reachable, so the token is kept in %s, which "
                      "only you can read.\n"),
                    file);
      return TRUE;
    }
  g_print (
      /* TRANSLATORS: after login; the first %s is a user name, the second the gateway's address,
       * the third a role (e.g. staff), the fourth a domain (municipal or personal) */
      _("Logged in as %s at %s (role %s, %s domain).\n"), username, hgd_cli_client_get_url (client),
      role != NULL ? role : "-", domain != NULL ? domain : "-");
  expires = hgd_cli_format_time (expires_iso);
  /* TRANSLATORS: %s is a date and time */
  g_print (_("The session lasts until %s.\n"), expires);
  if (file != NULL)
    g_print (_("No Secret Service is reachable, so the token is kept in %s, which "
               "only you can read.\n"),
             file);
  return TRUE;
}

gboolean
hgd_cli_logout (HgdCliClient *client,
                const HgdCliOptions *options,
                gchar **args,
                GError **error)
{
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error_local = NULL;
  HgdCliTokenSource source = hgd_cli_client_get_token_source (client);
  gboolean already_ended = FALSE;

  answer = hgd_cli_client_request (client, "POST", "/api/v1/auth/logout", NULL, &error_local);
  if (answer == NULL)
    {
      /* a session that already ended: what is left to do is forget its token */
      if (!g_error_matches (error_local, HGD_CLI_ERROR, HGD_CLI_ERROR_AUTH))
        {
          g_propagate_error (error, g_steal_pointer (&error_local));
          return FALSE;
        }
      already_ended = TRUE;
    }
  if ((source == HGD_CLI_TOKEN_KEYRING || source == HGD_CLI_TOKEN_FILE) &&
      !hgd_cli_client_forget_token (client, error))
    return FALSE;

  if (options->json)
    {
      /* the API answers 204 No Content */
      g_autoptr(JsonNode) empty = json_node_new (JSON_NODE_OBJECT);
      json_node_take_object (empty, json_object_new ());
      hgd_cli_print_json (answer != NULL && !JSON_NODE_HOLDS_NULL (answer) ? answer : empty, TRUE);
    }
  else if (already_ended)
    /* TRANSLATORS: logout found the session already ended (expired or revoked) */
    g_print ("%s\n", _("The session had already ended."));
  else
    /* TRANSLATORS: %s is the gateway's address */
    g_print (_("Logged out of %s.\n"), hgd_cli_client_get_url (client));
  if (source == HGD_CLI_TOKEN_ENVIRONMENT)
    /* TRANSLATORS: HEMGATE_TOKEN stays untranslated */
    g_printerr ("%s\n", _("HEMGATE_TOKEN still holds the ended session's token; unset it."));
  return TRUE;
}
