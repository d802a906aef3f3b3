/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdSecrets: every credential through libsecret, scoped by domain and owner. */
#pragma once

#include <hemgate-plugin.h>

#include "hgd-keyring.h"

G_BEGIN_DECLS

#define HGD_TYPE_SECRETS (hgd_secrets_get_type ())
G_DECLARE_FINAL_TYPE (HgdSecrets, hgd_secrets, HGD, SECRETS, GObject)

HgdSecrets *hgd_secrets_new (void);
HgdSecrets *hgd_secrets_new_for_keyring (HgdKeyring *keyring);
gchar *hgd_secrets_dup_fault (HgdSecrets *self);
JsonObject *hgd_secrets_status_to_json (HgdSecrets *self,
                                        gchar **fault);

void hgd_secrets_lookup_async (HgdSecrets *self,
                               HgDomain domain,
                               const gchar *owner,
                               const gchar *key,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data);
gchar *hgd_secrets_lookup_finish (HgdSecrets *self,
                                  GAsyncResult *result,
                                  GError **error);
void hgd_secrets_store_async (HgdSecrets *self,
                              HgDomain domain,
                              const gchar *owner,
                              const gchar *key,
                              const gchar *value,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data);
gboolean hgd_secrets_store_finish (HgdSecrets *self,
                                   GAsyncResult *result,
                                   GError **error);
void hgd_secrets_clear_async (HgdSecrets *self,
                              HgDomain domain,
                              const gchar *owner,
                              const gchar *key,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data);
gboolean hgd_secrets_clear_finish (HgdSecrets *self,
                                   GAsyncResult *result,
                                   GError **error);
void hgd_secrets_list_keys_async (HgdSecrets *self,
                                  HgDomain domain,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);
JsonArray *hgd_secrets_list_keys_finish (HgdSecrets *self,
                                         GAsyncResult *result,
                                         GError **error);
void hgd_secrets_clear_domain_async (HgdSecrets *self,
                                     HgDomain domain,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);
gboolean hgd_secrets_clear_domain_finish (HgdSecrets *self,
                                          GAsyncResult *result,
                                          GError **error);
void hgd_secrets_list_async (HgdSecrets *self,
                             HgDomain domain,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data);
JsonArray *hgd_secrets_list_finish (HgdSecrets *self,
                                    GAsyncResult *result,
                                    GError **error);
gchar *hgd_secrets_lookup_sync (HgdSecrets *self,
                                HgDomain domain,
                                const gchar *owner,
                                const gchar *key,
                                GError **error);
gboolean hgd_secrets_store_sync (HgdSecrets *self,
                                 HgDomain domain,
                                 const gchar *owner,
                                 const gchar *key,
                                 const gchar *value,
                                 GError **error);

G_END_DECLS
