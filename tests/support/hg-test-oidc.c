/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The test OpenID Provider (hg-test-oidc.h): node runs tests/oidc/provider.mjs with the
 * packages `npm ci` installed next to it (./dev deps). */
#include "hg-test-oidc.h"

#include <string.h>

#include "hg-test-support.h"

/**
 * hg_test_oidc_provider_new:
 * @dir: an existing directory of the test, for the provider's configuration
 * @config: what tests/oidc/provider.mjs takes (its header says what); "port" is filled
 *   in with a free port
 *
 * Starts the provider and waits until it listens. The script is named by
 * `HEMGATE_OIDC_PROVIDER` (tests/meson.build sets it).
 *
 * Returns: (transfer full): the running provider
 */
HgTestOidcProvider *
hg_test_oidc_provider_new (const gchar *dir,
                           JsonObject *config)
{
  HgTestOidcProvider *op = g_new0 (HgTestOidcProvider, 1);
  const gchar *script = g_getenv ("HEMGATE_OIDC_PROVIDER");
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *path = g_build_filename (dir, "oidc-provider.json", NULL);
  g_autofree gchar *text = NULL;
  g_autofree gchar *line = NULL;

  g_assert_nonnull (script);
  if (!json_object_has_member (config, "port"))
    json_object_set_int_member (config, "port", hg_test_free_port ());
  json_node_set_object (node, config);
  text = json_to_string (node, TRUE);
  g_assert_true (g_file_set_contents (path, text, -1, &error));
  g_assert_no_error (error);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, hg_test_die_with_parent, NULL, NULL);
  op->process = g_subprocess_launcher_spawn (launcher, &error, "node", script, path, NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (op->process));
  line = hg_test_read_line (out);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "READY "));
  op->issuer = g_strdup (line + strlen ("READY "));
  op->dir = g_strdup (dir);
  op->session = soup_session_new_with_options ("proxy-resolver", NULL, NULL);
  return op;
}

void
hg_test_oidc_provider_free (HgTestOidcProvider *op)
{
  if (op == NULL)
    return;
  g_subprocess_send_signal (op->process, SIGTERM);
  g_subprocess_wait (op->process, NULL, NULL);
  g_object_unref (op->process);
  g_object_unref (op->session);
  g_free (op->issuer);
  g_free (op->dir);
  g_free (op);
}

typedef struct
{
  gboolean done;
  GBytes *body;
  GError *error;
} AdminCall;

static void
admin_cb (GObject *source,
          GAsyncResult *result,
          gpointer user_data)
{
  AdminCall *call = user_data;

  call->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &call->error);
  call->done = TRUE;
}

/**
 * hg_test_oidc_provider_admin:
 * @op: the provider
 * @path: an admin call, e.g. `/admin/users/alice/logout`
 * @json_body: (nullable): its body
 *
 * Makes the call, running the main context meanwhile (the provider may call the gateway
 * in this process, as the back-channel logout does), and asserts it succeeded.
 */
void
hg_test_oidc_provider_admin (HgTestOidcProvider *op,
                             const gchar *path,
                             const gchar *json_body)
{
  g_autofree gchar *uri = g_strconcat (op->issuer, path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", uri);
  g_autoptr(GBytes) body = g_bytes_new (json_body != NULL ? json_body : "{}",
                                        strlen (json_body != NULL ? json_body : "{}"));
  AdminCall call = { FALSE, NULL, NULL };

  soup_message_set_request_body_from_bytes (msg, "application/json", body);
  soup_session_send_and_read_async (op->session, msg, G_PRIORITY_DEFAULT, NULL, admin_cb, &call);
  hg_test_wait_until (&call.done, 30);
  g_assert_no_error (call.error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, SOUP_STATUS_OK);
  g_bytes_unref (call.body);
}

/* The value of attribute @name in the HTML tag that starts at @tag, or NULL. */
static gchar *
tag_attribute (const gchar *tag,
               const gchar *name)
{
  g_autofree gchar *needle = g_strdup_printf (" %s=\"", name);
  const gchar *end = strchr (tag, '>');
  const gchar *at = strstr (tag, needle);

  if (at == NULL || (end != NULL && at > end))
    return NULL;
  at += strlen (needle);
  return g_strndup (at, strcspn (at, "\""));
}

/**
 * hg_test_oidc_provider_sign_in:
 * @op: the provider
 * @browser: the browser's session (with a cookie jar)
 * @uri: where the browser starts at the provider
 * @user: who logs in there (any password)
 * @back_to: the gateway's base URL
 *
 * The browser at the provider: follows its redirects and submits its forms (the user
 * code, the login form, the confirmation; their hidden fields as they are), running the
 * main context meanwhile, until the provider sends the browser to @back_to.
 *
 * Returns: (transfer full) (nullable): that address, not requested; %NULL when the
 *   provider ends on a page without a form (a device login's "success")
 */
gchar *
hg_test_oidc_provider_sign_in (HgTestOidcProvider *op,
                               SoupSession *browser,
                               const gchar *uri,
                               const gchar *user,
                               const gchar *back_to)
{
  g_autofree gchar *current = g_strdup (uri);
  g_autofree gchar *form = NULL;

  for (guint i = 0; i < 15; i++)
    {
      g_autoptr(SoupMessage) msg = soup_message_new (form != NULL ? "POST" : "GET", current);
      g_autoptr(GString) fields = g_string_new (NULL);
      g_autofree gchar *action = NULL;
      g_autofree gchar *page = NULL;
      const gchar *location;
      const gchar *form_tag;
      AdminCall call = { FALSE, NULL, NULL };

      g_assert_nonnull (msg);
      soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
      if (form != NULL)
        {
          gsize length = strlen (form);
          g_autoptr(GBytes) bytes = g_bytes_new_take (g_steal_pointer (&form), length);

          soup_message_set_request_body_from_bytes (msg, "application/x-www-form-urlencoded",
                                                    bytes);
        }
      soup_session_send_and_read_async (browser, msg, G_PRIORITY_DEFAULT, NULL, admin_cb, &call);
      hg_test_wait_until (&call.done, 30);
      g_assert_no_error (call.error);
      page = g_strndup (g_bytes_get_data (call.body, NULL), g_bytes_get_size (call.body));
      g_bytes_unref (call.body);

      location = soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                               "Location");
      if (location != NULL)
        {
          g_autoptr(GUri) next = g_uri_parse_relative (soup_message_get_uri (msg), location,
                                                       G_URI_FLAGS_ENCODED, NULL);

          g_assert_nonnull (next);
          g_free (current);
          current = g_uri_to_string (next);
          if (g_str_has_prefix (current, back_to))
            return g_steal_pointer (&current);
          continue;
        }
      g_assert_cmpuint (soup_message_get_status (msg), ==, SOUP_STATUS_OK);
      form_tag = strstr (page, "<form");
      if (form_tag == NULL)
        return NULL;
      action = tag_attribute (form_tag, "action");
      g_assert_nonnull (action);
      for (const gchar *p = strstr (form_tag, "<input"); p != NULL; p = strstr (p + 1, "<input"))
        {
          g_autofree gchar *name = tag_attribute (p, "name");
          g_autofree gchar *value = tag_attribute (p, "value");
          g_autofree gchar *escaped = NULL;

          if (name == NULL)
            continue;
          if (g_str_equal (name, "login") || g_str_equal (name, "password"))
            {
              g_free (value);
              value = g_strdup (g_str_equal (name, "login") ? user : "any password");
            }
          escaped = g_uri_escape_string (value != NULL ? value : "", NULL, FALSE);
          g_string_append_printf (fields, "%s%s=%s", fields->len > 0 ? "&" : "", name, escaped);
        }
      {
        g_autoptr(GUri) next = g_uri_parse_relative (soup_message_get_uri (msg), action,
                                                     G_URI_FLAGS_ENCODED, NULL);

        g_assert_nonnull (next);
        g_free (current);
        current = g_uri_to_string (next);
      }
      form = g_string_free (g_steal_pointer (&fields), FALSE);
    }
  g_assert_not_reached ();
}
