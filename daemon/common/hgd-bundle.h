/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdBundle: a plugin bundle (.hgp, data/bundle-format.md): read from untrusted bytes,
 * verified against a trusted Ed25519 key, unpacked; and made and signed by hemgatectl. */
#pragma once

#include <hemgate-plugin.h>

G_BEGIN_DECLS

/* The largest bundle file read, its payload once expanded, and how many files it may
 * hold; a bundle past one of them is refused before anything is written. */
#define HGD_BUNDLE_MAX_SIZE (32 * 1024 * 1024)
#define HGD_BUNDLE_MAX_EXPANDED (128 * 1024 * 1024)
#define HGD_BUNDLE_MAX_ENTRIES 4096
#define HGD_BUNDLE_MAX_NAME 512

/* Ed25519 key sizes (libsodium's crypto_sign_*BYTES) and the printed key id's length */
#define HGD_BUNDLE_PUBLIC_KEY_SIZE 32
#define HGD_BUNDLE_SECRET_KEY_SIZE 64
#define HGD_BUNDLE_KEY_ID_LENGTH 16

#define HGD_BUNDLE_ERROR (hgd_bundle_error_quark ())
GQuark hgd_bundle_error_quark (void);

/* Each is a precise reason, also the API's `code` (hgd_bundle_error_to_code ()) */
typedef enum
{
  HGD_BUNDLE_ERROR_FORMAT,        /* not a bundle, damaged or truncated */
  HGD_BUNDLE_ERROR_TOO_LARGE,     /* the file, its payload expanded, or its entry count */
  HGD_BUNDLE_ERROR_BAD_NAME,      /* an entry's name: '..', absolute, outside the layout */
  HGD_BUNDLE_ERROR_UNSIGNED,      /* no signature */
  HGD_BUNDLE_ERROR_BAD_SIGNATURE, /* the signature does not match the key it names */
  HGD_BUNDLE_ERROR_BAD_MANIFEST,  /* no manifest.json, or one the manifest reader refuses */
  HGD_BUNDLE_ERROR_API_VERSION,   /* built for another plugin API */
  HGD_BUNDLE_ERROR_ARCHITECTURE,  /* no module for this machine's architecture */
  HGD_BUNDLE_ERROR_BAD_KEY,       /* a key file that is not one */
} HgdBundleError;

const gchar *hgd_bundle_error_to_code (HgdBundleError error);

#define HGD_TYPE_BUNDLE (hgd_bundle_get_type ())
G_DECLARE_FINAL_TYPE (HgdBundle, hgd_bundle, HGD, BUNDLE, GObject)

HgdBundle *hgd_bundle_new_from_bytes (GBytes *data,
                                      GError **error);
gboolean hgd_bundle_load_payload (HgdBundle *self,
                                  GError **error);

gboolean hgd_bundle_is_signed (HgdBundle *self);
const gchar *hgd_bundle_get_key_id (HgdBundle *self);
const gchar *hgd_bundle_get_digest (HgdBundle *self);
gboolean hgd_bundle_verify (HgdBundle *self,
                            GBytes *public_key,
                            GError **error);

GBytes *hgd_bundle_get_manifest (HgdBundle *self);
GPtrArray *hgd_bundle_list_entries (HgdBundle *self);
GStrv hgd_bundle_dup_architectures (HgdBundle *self);
gboolean hgd_bundle_check_api_version (HgdBundle *self,
                                       GError **error);
gboolean hgd_bundle_check_architecture (HgdBundle *self,
                                        const gchar *module,
                                        const gchar *architecture,
                                        GError **error);
gboolean hgd_bundle_extract (HgdBundle *self,
                             const gchar *dir,
                             const gchar *architecture,
                             GError **error);

gboolean hgd_bundle_name_is_valid (const gchar *name);
const gchar *hgd_bundle_host_architecture (void);

/* Making one (hemgatectl bundle) */
GBytes *hgd_bundle_build (GPtrArray *names,
                          GPtrArray *contents,
                          GArray *executable,
                          GError **error);
GBytes *hgd_bundle_sign (HgdBundle *self,
                         GBytes *secret_key,
                         GError **error);

/* Keys */
gchar *hgd_bundle_key_id (GBytes *public_key);
gboolean hgd_bundle_key_generate (GBytes **public_key,
                                  GBytes **secret_key);
GBytes *hgd_bundle_public_key_from_base64 (const gchar *text,
                                           GError **error);
GBytes *hgd_bundle_key_file_load (const gchar *path,
                                  gboolean secret,
                                  GError **error);
gchar *hgd_bundle_key_file_to_data (GBytes *public_key,
                                    GBytes *secret_key);

G_END_DECLS
