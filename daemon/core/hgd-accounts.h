/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdAccounts: users, password hashes and bearer sessions, each stored in its domain. */
#pragma once

#include <gio/gio.h>

#include "hgd-role.h"

G_BEGIN_DECLS

#define HGD_ACCOUNTS_ERROR (hgd_accounts_error_quark ())

typedef enum
{
  HGD_ACCOUNTS_ERROR_INVALID,       /* bad user name, role or weak password */
  HGD_ACCOUNTS_ERROR_EXISTS,        /* user name taken (names are unique across domains) */
  HGD_ACCOUNTS_ERROR_NOT_FOUND,     /* no such user */
  HGD_ACCOUNTS_ERROR_BAD_LOGIN,     /* wrong user name or password (never says which) */
  HGD_ACCOUNTS_ERROR_RATE_LIMITED,  /* too many failed logins; retry later */
  HGD_ACCOUNTS_ERROR_STORAGE,       /* the accounts database failed */
  HGD_ACCOUNTS_ERROR_WEAK_PASSWORD, /* a new password too short or too common */
  HGD_ACCOUNTS_ERROR_BUSY,          /* too many logins waiting for the hasher; retry soon */
} HgdAccountsError;

/* The rule for new passwords, as the API and the UI state it. */
#define HGD_PASSWORD_MIN_CHARS 10
#define HGD_PASSWORD_RULE "at least 10 characters; common passwords are refused"

GQuark hgd_accounts_error_quark (void);

/* A logged-in session; immutable, reference counted. */
typedef struct
{
  gchar *token;      /* (owned) the bearer token; only in the login answer, NULL otherwise */
  gchar *id;         /* (owned) stable id: hex SHA-256 of the token */
  gchar *username;   /* (owned) */
  HgdRole role;
  gint64 expires;    /* real time, microseconds since the epoch */
  /* A session opened through the municipality's identity provider (hgd-oidc.c) has no
   * account on the gateway and lives in memory only; NULL for a local login. */
  gchar *issuer;       /* (owned) (nullable) the IdP, its `iss` */
  gchar *subject;      /* (owned) (nullable) the staff member at the IdP, `sub` */
  gchar *display_name; /* (owned) (nullable) their `name` */
  gchar *sid;          /* (owned) (nullable) the IdP's session, for back-channel logout */
  gchar *id_token;     /* (owned) (nullable) the ID token, the hint of RP-initiated logout */
  gchar *refresh_token; /* (owned) (nullable) renews the session before it expires */
} HgdSession;

/* Who the identity provider says a staff member is, for an external session. */
typedef struct
{
  const gchar *issuer;
  const gchar *subject;
  const gchar *display_name; /* (nullable) */
  const gchar *sid;          /* (nullable) */
  const gchar *id_token;     /* (nullable) */
  const gchar *refresh_token; /* (nullable) */
} HgdSessionIdentity;

HgdSession *hgd_session_ref (HgdSession *session);
void hgd_session_unref (HgdSession *session);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgdSession, hgd_session_unref)

typedef struct
{
  gchar *username; /* (owned) */
  HgdRole role;
  gint64 created;  /* microseconds since the epoch */
} HgdUser;

void hgd_user_free (HgdUser *user);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgdUser, hgd_user_free)

#define HGD_TYPE_ACCOUNTS (hgd_accounts_get_type ())
G_DECLARE_FINAL_TYPE (HgdAccounts, hgd_accounts, HGD, ACCOUNTS, GObject)

/* domain_directories: HG_DOMAIN_LAST directories indexed by HgDomain, each holding
 * accounts.db; session_lifetime: how long a bearer token lives, in seconds. */
HgdAccounts *hgd_accounts_new (const gchar *const *domain_directories,
                               gint64 session_lifetime,
                               GError **error);
/* After `attempts` failed logins for one user name from one client within `window_seconds`,
 * that pair waits 1, 2, 4, ... seconds (at most the window) before its next try; a client
 * failing for any names waits likewise after 4 x `attempts` (config [api] login-attempts,
 * login-window; 5 in 300 s by default). */
void hgd_accounts_set_login_limit (HgdAccounts *self,
                                   guint attempts,
                                   guint window_seconds);
/* The synchronous add and set_password hash on the calling thread: start-up only. */
gboolean hgd_accounts_add_user (HgdAccounts *self,
                                const gchar *username,
                                HgdRole role,
                                const gchar *password,
                                GError **error);
gboolean hgd_accounts_set_password (HgdAccounts *self,
                                    const gchar *username,
                                    const gchar *password,
                                    GError **error);
void hgd_accounts_add_user_async (HgdAccounts *self,
                                  const gchar *username,
                                  HgdRole role,
                                  const gchar *password,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);
gboolean hgd_accounts_add_user_finish (HgdAccounts *self,
                                       GAsyncResult *result,
                                       GError **error);
void hgd_accounts_set_password_async (HgdAccounts *self,
                                      const gchar *username,
                                      const gchar *password,
                                      GCancellable *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer user_data);
gboolean hgd_accounts_set_password_finish (HgdAccounts *self,
                                           GAsyncResult *result,
                                           GError **error);
gboolean hgd_accounts_remove_user (HgdAccounts *self,
                                   const gchar *username,
                                   GError **error);
gchar *hgd_accounts_dup_password_hash (HgdAccounts *self,
                                       const gchar *username);
gboolean hgd_accounts_has_user (HgdAccounts *self,
                                const gchar *username);
GPtrArray *hgd_accounts_list_users (HgdAccounts *self,
                                    HgDomain domain);

void hgd_accounts_login_async (HgdAccounts *self,
                               const gchar *username,
                               const gchar *password,
                               const gchar *client,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data);
HgdSession *hgd_accounts_login_finish (HgdAccounts *self,
                                       GAsyncResult *result,
                                       gint64 *retry_after,
                                       GError **error);
HgdSession *hgd_accounts_lookup_token (HgdAccounts *self,
                                       const gchar *token);
gboolean hgd_accounts_revoke_session (HgdAccounts *self,
                                      const gchar *session_id);
guint hgd_accounts_revoke_user_sessions (HgdAccounts *self,
                                         const gchar *username);
HgdSession *hgd_accounts_open_external_session (HgdAccounts *self,
                                                const HgdSessionIdentity *identity,
                                                HgdRole role,
                                                gint64 expires);
GPtrArray *hgd_accounts_list_external_sessions (HgdAccounts *self);
gboolean hgd_accounts_renew_external_session (HgdAccounts *self,
                                              const gchar *session_id,
                                              gint64 expires,
                                              const gchar *id_token,
                                              const gchar *refresh_token);
guint hgd_accounts_revoke_external_sessions (HgdAccounts *self,
                                             const gchar *issuer,
                                             const gchar *subject,
                                             const gchar *sid);

G_END_DECLS
