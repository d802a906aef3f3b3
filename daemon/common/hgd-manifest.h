/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdManifest: a plugin's manifest.json, validated in full; read by the core and the host. */
#pragma once

#include <hemgate-plugin.h>

G_BEGIN_DECLS

#define HGD_TYPE_MANIFEST (hgd_manifest_get_type ())
G_DECLARE_FINAL_TYPE (HgdManifest, hgd_manifest, HGD, MANIFEST, GObject)

/* The largest manifest.json we read. */
#define HGD_MANIFEST_MAX_SIZE (64 * 1024)

HgdManifest *hgd_manifest_new_from_data (const gchar *data,
                                         gssize length,
                                         GError **error);
HgdManifest *hgd_manifest_new_from_file (const gchar *path,
                                         GError **error);

const gchar *hgd_manifest_get_id (HgdManifest *self);
const gchar *hgd_manifest_get_name (HgdManifest *self);
const gchar *hgd_manifest_get_version (HgdManifest *self);
const gchar *hgd_manifest_get_provider (HgdManifest *self);
const gchar *hgd_manifest_get_module (HgdManifest *self);
gboolean hgd_manifest_allows_domain (HgdManifest *self,
                                     HgDomain domain);
gboolean hgd_manifest_get_only_domain (HgdManifest *self,
                                       HgDomain *domain);
const gchar *const *hgd_manifest_get_capabilities (HgdManifest *self);

gboolean hgd_manifest_id_is_valid (const gchar *id);

G_END_DECLS
