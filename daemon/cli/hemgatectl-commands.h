/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What every hemgatectl command gets (the parsed options, a client, its arguments), the
 * command entry points dispatched from hemgatectl.c, and helpers they share. */
#pragma once

#include "hemgatectl-client.h"

G_BEGIN_DECLS

/* Every option hemgatectl knows; a command sees only those it declared as set. */
typedef struct
{
  gchar *url;              /* (owned) the gateway */
  gchar *ca_file;          /* (owned) (nullable) --ca */
  gboolean insecure;       /* --insecure */
  gboolean json;           /* --json: print the API's JSON */
  gint64 after;            /* --after, or -1 */
  gint limit;              /* --limit, or 0 for the default */
  gboolean follow;         /* --follow */
  gchar *role;             /* (owned) (nullable) --role */
  gchar *location;         /* (owned) (nullable) --location */
  gboolean password_stdin; /* --password-stdin */
  gchar *idempotency_key;  /* (owned) (nullable) --idempotency-key */
  gboolean verify;         /* --verify */
  gboolean yes;            /* --yes */
  gchar *file;             /* (owned) (nullable) --file */
  gchar *arch;             /* (owned) (nullable) --arch */
  gchar *approve;          /* (owned) (nullable) --approve */
  gboolean oidc;           /* --oidc: log in with the identity provider */
  gboolean allow_downgrade; /* --allow-downgrade */
  gchar *key;              /* (owned) (nullable) --key: fleet publish's signing key */
  gchar *broker;           /* (owned) (nullable) --broker HOST[:PORT] */
  gchar *cert;             /* (owned) (nullable) --cert: the MQTT client certificate */
  gchar *cert_key;         /* (owned) (nullable) --cert-key: its key */
  gchar *prefix;           /* (owned) (nullable) --prefix: the fleet's topic prefix */
  gint wait;               /* --wait SECONDS, or 0 for the default */
} HgdCliOptions;

/* A command: @args are its positional arguments, already counted by the dispatcher. */
typedef gboolean (*HgdCliCommandFunc) (HgdCliClient *client,
                                       const HgdCliOptions *options,
                                       gchar **args,
                                       GError **error);

gboolean hgd_cli_login (HgdCliClient *client,
                        const HgdCliOptions *options,
                        gchar **args,
                        GError **error);
gboolean hgd_cli_logout (HgdCliClient *client,
                         const HgdCliOptions *options,
                         gchar **args,
                         GError **error);
gboolean hgd_cli_status (HgdCliClient *client,
                         const HgdCliOptions *options,
                         gchar **args,
                         GError **error);
gboolean hgd_cli_events (HgdCliClient *client,
                         const HgdCliOptions *options,
                         gchar **args,
                         GError **error);
gboolean hgd_cli_users (HgdCliClient *client,
                        const HgdCliOptions *options,
                        gchar **args,
                        GError **error);
gboolean hgd_cli_users_add (HgdCliClient *client,
                            const HgdCliOptions *options,
                            gchar **args,
                            GError **error);
gboolean hgd_cli_plugins (HgdCliClient *client,
                          const HgdCliOptions *options,
                          gchar **args,
                          GError **error);
gboolean hgd_cli_plugins_restart (HgdCliClient *client,
                                  const HgdCliOptions *options,
                                  gchar **args,
                                  GError **error);
gboolean hgd_cli_plugins_disable (HgdCliClient *client,
                                  const HgdCliOptions *options,
                                  gchar **args,
                                  GError **error);
gboolean hgd_cli_plugins_enable (HgdCliClient *client,
                                 const HgdCliOptions *options,
                                 gchar **args,
                                 GError **error);
gboolean hgd_cli_access_log (HgdCliClient *client,
                             const HgdCliOptions *options,
                             gchar **args,
                             GError **error);
gboolean hgd_cli_access_log_verify (HgdCliClient *client,
                                    const HgdCliOptions *options,
                                    gchar **args,
                                    GError **error);
gboolean hgd_cli_visits (HgdCliClient *client,
                         const HgdCliOptions *options,
                         gchar **args,
                         GError **error);
gboolean hgd_cli_alarms (HgdCliClient *client,
                         const HgdCliOptions *options,
                         gchar **args,
                         GError **error);
gboolean hgd_cli_alarms_raise (HgdCliClient *client,
                               const HgdCliOptions *options,
                               gchar **args,
                               GError **error);
gboolean hgd_cli_personal_export (HgdCliClient *client,
                                  const HgdCliOptions *options,
                                  gchar **args,
                                  GError **error);
gboolean hgd_cli_personal_erase (HgdCliClient *client,
                                 const HgdCliOptions *options,
                                 gchar **args,
                                 GError **error);
gboolean hgd_cli_secrets (HgdCliClient *client,
                          const HgdCliOptions *options,
                          gchar **args,
                          GError **error);
gboolean hgd_cli_secrets_set (HgdCliClient *client,
                              const HgdCliOptions *options,
                              gchar **args,
                              GError **error);
gboolean hgd_cli_secrets_delete (HgdCliClient *client,
                                 const HgdCliOptions *options,
                                 gchar **args,
                                 GError **error);
gboolean hgd_cli_tls_install (HgdCliClient *client,
                              const HgdCliOptions *options,
                              gchar **args,
                              GError **error);
gboolean hgd_cli_bundle_keygen (HgdCliClient *client,
                                const HgdCliOptions *options,
                                gchar **args,
                                GError **error);
gboolean hgd_cli_bundle_create (HgdCliClient *client,
                                const HgdCliOptions *options,
                                gchar **args,
                                GError **error);
gboolean hgd_cli_bundle_sign (HgdCliClient *client,
                              const HgdCliOptions *options,
                              gchar **args,
                              GError **error);
gboolean hgd_cli_bundle_inspect (HgdCliClient *client,
                                 const HgdCliOptions *options,
                                 gchar **args,
                                 GError **error);
gboolean hgd_cli_plugins_install (HgdCliClient *client,
                                  const HgdCliOptions *options,
                                  gchar **args,
                                  GError **error);
gboolean hgd_cli_plugins_remove (HgdCliClient *client,
                                 const HgdCliOptions *options,
                                 gchar **args,
                                 GError **error);
gboolean hgd_cli_fleet_publish (HgdCliClient *client,
                                const HgdCliOptions *options,
                                gchar **args,
                                GError **error);
gboolean hgd_cli_fleet_status (HgdCliClient *client,
                               const HgdCliOptions *options,
                               gchar **args,
                               GError **error);
gboolean hgd_cli_trust (HgdCliClient *client,
                        const HgdCliOptions *options,
                        gchar **args,
                        GError **error);
gboolean hgd_cli_trust_add (HgdCliClient *client,
                            const HgdCliOptions *options,
                            gchar **args,
                            GError **error);
gboolean hgd_cli_trust_revoke (HgdCliClient *client,
                               const HgdCliOptions *options,
                               gchar **args,
                               GError **error);

/* Helpers (hemgatectl-util.c) */
void hgd_cli_print_json (JsonNode *node,
                         gboolean pretty);
gchar *hgd_cli_pad (const gchar *text,
                    guint width);
void hgd_cli_print_row (const guint *widths,
                        guint n_cells,
                        const gchar *const *cells);
JsonArray *hgd_cli_answer_get_array (JsonNode *answer,
                                     const gchar *member,
                                     GError **error);
gboolean hgd_cli_get_list (HgdCliClient *client,
                           const HgdCliOptions *options,
                           const gchar *path,
                           const gchar *member,
                           JsonNode **answer,
                           JsonArray **list,
                           GError **error);
const gchar *hgd_cli_object_get_text (JsonObject *object,
                                      const gchar *member);
gchar *hgd_cli_format_time (const gchar *iso8601);
const gchar *hgd_cli_state_text (const gchar *state);
void hgd_cli_print_personal_plugins (JsonObject *root);
GError *hgd_cli_unexpected_answer (const GError *error);

/* A password read from the user; wiped when freed. */
typedef gchar *HgdCliPassword;
void hgd_cli_password_free (gchar *password);
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (HgdCliPassword, hgd_cli_password_free, NULL)
gchar *hgd_cli_read_password (const gchar *prompt,
                              const gchar *repeat_prompt,
                              gboolean from_stdin,
                              GError **error);

G_END_DECLS
