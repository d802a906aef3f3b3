/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdTestDaemon: a real hemgated in the test process, on a free loopback port, with one
 * user per role, and a SoupSession that talks to it over the network. */
#pragma once

#include <libsoup/soup.h>

#include "hg-test-http.h"
#include "hg-test-support.h"
#include "hgd-api.h"
#include "hgd-daemon.h"

G_BEGIN_DECLS

typedef struct
{
  gchar *state_dir;              /* (owned) */
  HgdConfig *config;             /* (owned) */
  HgdDaemon *daemon;             /* (owned) */
  SoupSession *session;          /* (owned) */
  gchar *url;                    /* (owned) e.g. http://127.0.0.1:41234 */
  gboolean tls;
  gchar *tokens[HGD_ROLE_LAST];  /* (owned) (nullable) one login per role, on demand */
  GTlsCertificate *peer_certificate; /* (owned) (nullable) from the last TLS request */
} HgdTestDaemon;

typedef struct
{
  guint status;
  SoupMessageHeaders *headers; /* (owned) response headers */
  GBytes *body;                /* (owned) */
  JsonObject *json;            /* (owned) (nullable) the body, if it is a JSON object */
} HgdTestResponse;

/* Options for hgd_test_daemon_new(); overrides are "group", "key", "value" triples. */
typedef struct
{
  gboolean tls;
  const gchar *state_dir;            /* (nullable) reuse this one instead of a fresh dir */
  const gchar *const *overrides;     /* (nullable) NULL-terminated triples */
  gboolean example_plugin;           /* run plugins/example as instance "example" */
} HgdTestDaemonOptions;

HgdTestDaemon *hgd_test_daemon_new (const HgdTestDaemonOptions *options);
void hgd_test_daemon_free (HgdTestDaemon *td);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgdTestDaemon, hgd_test_daemon_free)

const gchar *hgd_test_username (HgdRole role);
const gchar *hgd_test_password (HgdRole role);
const gchar *hgd_test_daemon_get_token (HgdTestDaemon *td,
                                        HgdRole role);
gchar *hgd_test_daemon_login (HgdTestDaemon *td,
                              HgdRole role);

HgdTestResponse *hgd_test_daemon_request (HgdTestDaemon *td,
                                          const gchar *method,
                                          const gchar *path,
                                          const gchar *token,
                                          const gchar *json_body);
HgdTestResponse *hgd_test_daemon_send (HgdTestDaemon *td,
                                       SoupMessage *msg);
gchar *hgd_test_daemon_uri (HgdTestDaemon *td,
                            const gchar *path);
void hgd_test_response_free (HgdTestResponse *response);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgdTestResponse, hgd_test_response_free)
const gchar *hgd_test_response_error_code (HgdTestResponse *response);

guint64 hgd_test_daemon_append_event (HgdTestDaemon *td,
                                      HgDomain domain,
                                      const gchar *type);

G_END_DECLS
