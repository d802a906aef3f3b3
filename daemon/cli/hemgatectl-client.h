/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdCliClient: hemgatectl's connection to one gateway: base URL, TLS trust, bearer token
 * (kept through libsecret, or in a private file without it), JSON requests, and API
 * errors mapped to exit statuses. */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define HGD_CLI_ERROR (hgd_cli_error_quark ())

/* The codes are hemgatectl's exit statuses; messages are translated, for the user. */
typedef enum
{
  HGD_CLI_ERROR_FAILED = 1,      /* anything else, including an untrusted certificate */
  HGD_CLI_ERROR_USAGE = 2,       /* bad command line */
  HGD_CLI_ERROR_AUTH = 3,        /* not logged in, session ended, or forbidden */
  HGD_CLI_ERROR_UNREACHABLE = 4, /* no connection to the gateway */
} HgdCliError;

GQuark hgd_cli_error_quark (void);

/* Where the token in use came from. */
typedef enum
{
  HGD_CLI_TOKEN_NONE,
  HGD_CLI_TOKEN_ENVIRONMENT, /* $HEMGATE_TOKEN */
  HGD_CLI_TOKEN_KEYRING,     /* the Secret Service */
  HGD_CLI_TOKEN_FILE,        /* the token file, where no Secret Service is reachable */
  HGD_CLI_TOKEN_LOGIN,       /* just received from POST /api/v1/auth/login */
} HgdCliTokenSource;

#define HGD_TYPE_CLI_CLIENT (hgd_cli_client_get_type ())
G_DECLARE_FINAL_TYPE (HgdCliClient, hgd_cli_client, HGD, CLI_CLIENT, GObject)

HgdCliClient *hgd_cli_client_new (const gchar *url,
                                  gboolean insecure,
                                  const gchar *ca_file,
                                  GError **error);
const gchar *hgd_cli_client_get_url (HgdCliClient *self);

void hgd_cli_client_set_token (HgdCliClient *self,
                               const gchar *token,
                               HgdCliTokenSource source);
const gchar *hgd_cli_client_get_token (HgdCliClient *self);
HgdCliTokenSource hgd_cli_client_get_token_source (HgdCliClient *self);
gboolean hgd_cli_client_ensure_token (HgdCliClient *self,
                                      gboolean required,
                                      GError **error);
gboolean hgd_cli_client_save_token (HgdCliClient *self,
                                    const gchar *username,
                                    gchar **file,
                                    GError **error);
gboolean hgd_cli_client_forget_token (HgdCliClient *self,
                                      GError **error);

JsonNode *hgd_cli_client_request (HgdCliClient *self,
                                  const gchar *method,
                                  const gchar *path,
                                  JsonNode *body,
                                  GError **error);
JsonNode *hgd_cli_client_request_idempotent (HgdCliClient *self,
                                             const gchar *method,
                                             const gchar *path,
                                             JsonNode *body,
                                             const gchar *idempotency_key,
                                             GError **error);
JsonNode *hgd_cli_client_request_bytes (HgdCliClient *self,
                                        const gchar *method,
                                        const gchar *path,
                                        GBytes *body,
                                        GError **error);
JsonNode *hgd_cli_client_get_last_api_error (HgdCliClient *self);

void hgd_cli_client_websocket_connect_async (HgdCliClient *self,
                                             const gchar *path,
                                             GCancellable *cancellable,
                                             GAsyncReadyCallback callback,
                                             gpointer user_data);
SoupWebsocketConnection *hgd_cli_client_websocket_connect_finish (HgdCliClient *self,
                                                                  GAsyncResult *result,
                                                                  GError **error);

gchar *hgd_cli_describe_api_error (const gchar *code,
                                   const gchar *message);

G_END_DECLS
