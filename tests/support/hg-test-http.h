/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the tests that speak to hemgated's HTTP API share: a request with its bearer
 * token and JSON body. Apart from hg-test-support.h, as it needs libsoup. */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

SoupMessage *hg_test_http_message_new (const gchar *method,
                                       const gchar *uri,
                                       const gchar *token,
                                       const gchar *json_body);
GBytes *hg_test_http_send (SoupSession *session,
                           SoupMessage *msg);
gchar *hg_test_http_location (SoupMessage *msg);

G_END_DECLS
