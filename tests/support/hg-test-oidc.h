/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A real OpenID Provider for the tests: tests/oidc/provider.mjs (the npm package
 * oidc-provider) on a free port of 127.0.0.1, configured by the test, stopped with it. */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct
{
  GSubprocess *process; /* (owned) node tests/oidc/provider.mjs CONFIG */
  gchar *dir;           /* (owned) where its configuration is written */
  gchar *issuer;        /* (owned) http://127.0.0.1:<port> */
  SoupSession *session; /* (owned) for the admin calls */
} HgTestOidcProvider;

HgTestOidcProvider *hg_test_oidc_provider_new (const gchar *dir,
                                               JsonObject *config);
void hg_test_oidc_provider_free (HgTestOidcProvider *op);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgTestOidcProvider, hg_test_oidc_provider_free)

void hg_test_oidc_provider_admin (HgTestOidcProvider *op,
                                  const gchar *path,
                                  const gchar *json_body);

gchar *hg_test_oidc_provider_sign_in (HgTestOidcProvider *op,
                                      SoupSession *browser,
                                      const gchar *uri,
                                      const gchar *user,
                                      const gchar *back_to);

G_END_DECLS
