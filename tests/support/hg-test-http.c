/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The HTTP part of the test support library (hg-test-http.h). */
#include <string.h>

#include "hg-test-http.h"

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
