/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdOidc: the OpenID Connect relying party by which municipal staff log in with the
 * municipality's identity provider ([oidc] in hemgate.conf). */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "hgd-config.h"
#include "hgd-role.h"
#include "hgd-secrets.h"

G_BEGIN_DECLS

#define HGD_OIDC_ERROR (hgd_oidc_error_quark ())

typedef enum
{
  HGD_OIDC_ERROR_NOT_CONFIGURED,   /* no [oidc] issuer, or no client secret */
  HGD_OIDC_ERROR_UNAVAILABLE,      /* the provider (discovery, token or keys) cannot be used */
  HGD_OIDC_ERROR_NO_PENDING_LOGIN, /* a callback whose state is unknown, used or too old */
  HGD_OIDC_ERROR_REFUSED,          /* the provider said no (an `error` in the callback) */
  HGD_OIDC_ERROR_INVALID_TOKEN,    /* an ID or logout token that fails a check */
  HGD_OIDC_ERROR_NO_ROLE,          /* the user's claims map to no municipal role */
  HGD_OIDC_ERROR_PENDING,          /* a device login the user has not approved yet */
} HgdOidcError;

GQuark hgd_oidc_error_quark (void);

/* The secret store's key of the client secret: domain municipal, owner `core`. */
#define HGD_OIDC_CLIENT_SECRET_KEY "oidc-client-secret"

/* Who logged in, from a verified ID token. */
typedef struct
{
  gchar *issuer;       /* (owned) */
  gchar *subject;      /* (owned) */
  gchar *display_name; /* (owned) (nullable) */
  gchar *sid;          /* (owned) (nullable) */
  gchar *id_token;     /* (owned) */
  gchar *refresh_token; /* (owned) (nullable) */
  HgdRole role;
  gint64 expires;      /* the ID token's `exp`, real time in usec */
} HgdOidcLogin;

void hgd_oidc_login_free (HgdOidcLogin *login);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgdOidcLogin, hgd_oidc_login_free)

#define HGD_TYPE_OIDC (hgd_oidc_get_type ())
G_DECLARE_FINAL_TYPE (HgdOidc, hgd_oidc, HGD, OIDC, GObject)

HgdOidc *hgd_oidc_new (HgdConfig *config,
                       HgdSecrets *secrets);
gboolean hgd_oidc_is_configured (HgdOidc *self);
const gchar *hgd_oidc_get_issuer (HgdOidc *self);
const gchar *hgd_oidc_get_display_name (HgdOidc *self);

void hgd_oidc_begin_login_async (HgdOidc *self,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data);
gchar *hgd_oidc_begin_login_finish (HgdOidc *self,
                                    GAsyncResult *result,
                                    GError **error);

void hgd_oidc_complete_login_async (HgdOidc *self,
                                    GHashTable *query,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);
HgdOidcLogin *hgd_oidc_complete_login_finish (HgdOidc *self,
                                              GAsyncResult *result,
                                              GError **error);

void hgd_oidc_verify_logout_async (HgdOidc *self,
                                   const gchar *logout_token,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data);
gboolean hgd_oidc_verify_logout_finish (HgdOidc *self,
                                        GAsyncResult *result,
                                        gchar **subject,
                                        gchar **sid,
                                        GError **error);

void hgd_oidc_begin_device_async (HgdOidc *self,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);
JsonObject *hgd_oidc_begin_device_finish (HgdOidc *self,
                                          GAsyncResult *result,
                                          GError **error);
void hgd_oidc_poll_device_async (HgdOidc *self,
                                 const gchar *device_code,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data);
HgdOidcLogin *hgd_oidc_poll_device_finish (HgdOidc *self,
                                           GAsyncResult *result,
                                           GError **error);

void hgd_oidc_refresh_async (HgdOidc *self,
                             const gchar *refresh_token,
                             const gchar *subject,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data);
HgdOidcLogin *hgd_oidc_refresh_finish (HgdOidc *self,
                                       GAsyncResult *result,
                                       GError **error);

gchar *hgd_oidc_dup_end_session_url (HgdOidc *self,
                                     const gchar *id_token);

G_END_DECLS
