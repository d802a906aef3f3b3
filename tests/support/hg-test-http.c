/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The HTTP part of the test support library (hg-test-http.h). */
#include <string.h>

#include "hg-test-http.h"
#include "hg-test-support.h"

/**
 * hg_test_http_message_new:
 * @method: e.g. `POST`
 * @uri: the whole URI
 * @token: (nullable): sent as `Authorization: Bearer @token`
 * @json_body: (nullable): sent as `application/json`
 *
 * Returns: (transfer full): the request, to send
 */
SoupMessage *
hg_test_http_message_new (const gchar *method,
                          const gchar *uri,
                          const gchar *token,
                          const gchar *json_body)
{
  SoupMessage *msg = soup_message_new (method, uri);

  g_assert_nonnull (msg);
  if (token != NULL)
    {
      g_autofree gchar *authorization = g_strdup_printf ("Bearer %s", token);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                    authorization);
    }
  if (json_body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (json_body, strlen (json_body));
      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }
  return msg;
}

typedef struct
{
  gboolean done;
  GBytes *body;
  GError *error;
} Call;

static void
call_cb (GObject *source,
         GAsyncResult *result,
         gpointer user_data)
{
  Call *call = user_data;

  call->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &call->error);
  call->done = TRUE;
}

/**
 * hg_test_http_send:
 * @session: whose cookies and settings
 * @msg: the request
 *
 * Sends @msg while the main context runs (so the gateway may be in this process), for a
 * minute at the most, and asserts that it was answered.
 *
 * Returns: (transfer full): the answer's body
 */
GBytes *
hg_test_http_send (SoupSession *session,
                   SoupMessage *msg)
{
  Call call = { FALSE, NULL, NULL };

  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL, call_cb, &call);
  hg_test_wait_until (&call.done, 60);
  g_assert_no_error (call.error);
  return call.body;
}

/**
 * hg_test_http_location:
 * @msg: an answered request
 *
 * Returns: (transfer full) (nullable): where the answer redirects to (its `Location`,
 *   resolved against @msg's URI), or %NULL
 */
gchar *
hg_test_http_location (SoupMessage *msg)
{
  const gchar *where = soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                     "Location");
  g_autoptr(GUri) resolved = NULL;

  if (where == NULL)
    return NULL;
  resolved = g_uri_parse_relative (soup_message_get_uri (msg), where, G_URI_FLAGS_ENCODED, NULL);
  g_assert_nonnull (resolved);
  return g_uri_to_string (resolved);
}
