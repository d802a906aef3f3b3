/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdBundles: the plugins installed from signed bundles, per domain: the keys each
 * domain trusts, install, upgrade with rollback, removal. */
#pragma once

#include "hgd-config.h"
#include "hgd-journal.h"

G_BEGIN_DECLS

#define HGD_BUNDLES_ERROR (hgd_bundles_error_quark ())
GQuark hgd_bundles_error_quark (void);

/* Refusals beyond the bundle's own (HGD_BUNDLE_ERROR); hgd_bundles_error_to_code () */
typedef enum
{
  HGD_BUNDLES_ERROR_UNTRUSTED_KEY,        /* the domain does not trust the signer */
  HGD_BUNDLES_ERROR_REVOKED_KEY,          /* the signer's key is revoked in the domain */
  HGD_BUNDLES_ERROR_WRONG_DOMAIN,         /* the manifest does not allow the domain */
  HGD_BUNDLES_ERROR_CAPABILITY_FORBIDDEN, /* a capability the domain may not grant */
  HGD_BUNDLES_ERROR_APPROVAL_NEEDED,      /* new capabilities, not approved */
  HGD_BUNDLES_ERROR_CONFLICT,             /* the id is taken, or this build runs already */
  HGD_BUNDLES_ERROR_BUSY,                 /* an install of this plugin is under way */
  HGD_BUNDLES_ERROR_NOT_FOUND,            /* no such bundle, key or job */
  HGD_BUNDLES_ERROR_DOWNGRADE,            /* older than a version installed before */
} HgdBundlesError;

/**
 * HgdBundlesInstallFlags:
 * @HGD_BUNDLES_INSTALL_NONE: an ordinary install or upgrade
 * @HGD_BUNDLES_INSTALL_ALLOW_DOWNGRADE: install even a version older than the highest one
 *   installed before (or another build of it), journaled as `bundle.downgrade`
 */
typedef enum
{
  HGD_BUNDLES_INSTALL_NONE = 0,
  HGD_BUNDLES_INSTALL_ALLOW_DOWNGRADE = 1 << 0,
} HgdBundlesInstallFlags;

const gchar *hgd_bundles_error_to_code (const GError *error);

struct _HgdPluginManager;

#define HGD_TYPE_BUNDLES (hgd_bundles_get_type ())
G_DECLARE_FINAL_TYPE (HgdBundles, hgd_bundles, HGD, BUNDLES, GObject)

HgdBundles *hgd_bundles_new (struct _HgdPluginManager *manager,
                             HgdConfig *config,
                             HgdJournal *const *journals,
                             const gchar *state_root);
void hgd_bundles_load (HgdBundles *self);

JsonArray *hgd_bundles_list_keys (HgdBundles *self,
                                  HgDomain domain);
JsonObject *hgd_bundles_trust_key (HgdBundles *self,
                                   HgDomain domain,
                                   const gchar *public_key,
                                   const gchar *name,
                                   const gchar *who,
                                   GError **error);
JsonObject *hgd_bundles_revoke_key (HgdBundles *self,
                                    HgDomain domain,
                                    const gchar *key_id,
                                    const gchar *who,
                                    GError **error);

GBytes *hgd_bundles_dup_trusted_key (HgdBundles *self,
                                     HgDomain domain,
                                     const gchar *key_id,
                                     GError **error);

JsonArray *hgd_bundles_list_installed (HgdBundles *self,
                                       HgDomain domain);
gboolean hgd_bundles_set_config (HgdBundles *self,
                                 HgDomain domain,
                                 const gchar *plugin,
                                 GHashTable *config,
                                 const gchar *digest,
                                 GError **error);
GHashTable *hgd_bundles_dup_config (HgdBundles *self,
                                    HgDomain domain,
                                    const gchar *plugin,
                                    gchar **digest);
gchar *hgd_bundles_dup_config_digest (HgdBundles *self,
                                      HgDomain domain,
                                      const gchar *plugin);
gchar *hgd_bundles_install (HgdBundles *self,
                            HgDomain domain,
                            GBytes *data,
                            const gchar *const *approved,
                            guint health_seconds,
                            const gchar *who,
                            GStrv *new_capabilities,
                            GError **error);
gchar *hgd_bundles_install_full (HgdBundles *self,
                                 HgDomain domain,
                                 GBytes *data,
                                 const gchar *const *approved,
                                 guint health_seconds,
                                 HgdBundlesInstallFlags flags,
                                 const gchar *who,
                                 GStrv *new_capabilities,
                                 GError **error);
gint hgd_bundles_compare_versions (const gchar *a,
                                   const gchar *b);
JsonObject *hgd_bundles_job_to_json (HgdBundles *self,
                                     const gchar *job_id,
                                     HgDomain domain);
void hgd_bundles_remove_async (HgdBundles *self,
                               HgDomain domain,
                               const gchar *plugin,
                               const gchar *who,
                               GAsyncReadyCallback callback,
                               gpointer user_data);
gboolean hgd_bundles_remove_finish (HgdBundles *self,
                                    GAsyncResult *result,
                                    GError **error);
gchar *hgd_bundles_dup_warning (HgdBundles *self,
                                HgDomain domain);
guint hgd_bundles_erase_domain (HgdBundles *self,
                                HgDomain domain);

G_END_DECLS
