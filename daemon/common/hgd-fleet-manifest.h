/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdFleetManifest: a signed deployment manifest (data/fleet-format.md): read from an
 * untrusted MQTT message and verified by the core, made and signed by hemgatectl. */
#pragma once

#include <hemgate-plugin.h>

G_BEGIN_DECLS

/* The largest manifest message read; a bigger one is refused before it is parsed. */
#define HGD_FLEET_MANIFEST_MAX_SIZE (64 * 1024)
#define HGD_FLEET_MANIFEST_MAX_PLUGINS 64
#define HGD_FLEET_MANIFEST_MAX_CONFIG_KEYS 64

#define HGD_FLEET_ERROR (hgd_fleet_error_quark ())
GQuark hgd_fleet_error_quark (void);

/* Each is a precise reason, also the status topic's `code` (hgd_fleet_error_to_code ()) */
typedef enum
{
  HGD_FLEET_ERROR_TOO_LARGE,     /* the message is past HGD_FLEET_MANIFEST_MAX_SIZE */
  HGD_FLEET_ERROR_MALFORMED,     /* not the envelope, or not a manifest */
  HGD_FLEET_ERROR_BAD_SIGNATURE, /* the signature does not match the key it names */
  HGD_FLEET_ERROR_UNTRUSTED_KEY, /* the domain does not trust, or has revoked, the key */
  HGD_FLEET_ERROR_REPLAYED,      /* a serial not newer than the one applied */
  HGD_FLEET_ERROR_BUNDLE,        /* a bundle it names cannot be fetched or installed */
} HgdFleetError;

const gchar *hgd_fleet_error_to_code (HgdFleetError error);

typedef struct
{
  gchar *id;      /* (owned) */
  gchar *version; /* (owned) */
  gchar *digest;  /* (owned) 128 hex digits, the bundle's build */
  GHashTable *config;   /* (owned) (nullable) utf8 -> utf8, its own keys; NULL: left as is */
  gchar *config_digest; /* (owned) (nullable) 64 hex digits naming config */
} HgdFleetPlugin;

#define HGD_TYPE_FLEET_MANIFEST (hgd_fleet_manifest_get_type ())
G_DECLARE_FINAL_TYPE (HgdFleetManifest, hgd_fleet_manifest, HGD, FLEET_MANIFEST, GObject)

HgdFleetManifest *hgd_fleet_manifest_new_from_message (GBytes *message,
                                                       GError **error);
const gchar *hgd_fleet_manifest_get_key_id (HgdFleetManifest *self);
const gchar *hgd_fleet_manifest_get_digest (HgdFleetManifest *self);
gboolean hgd_fleet_manifest_verify (HgdFleetManifest *self,
                                    GBytes *public_key,
                                    GError **error);
gboolean hgd_fleet_manifest_parse (HgdFleetManifest *self,
                                   GError **error);
gint64 hgd_fleet_manifest_get_serial (HgdFleetManifest *self);
HgDomain hgd_fleet_manifest_get_domain (HgdFleetManifest *self);
GPtrArray *hgd_fleet_manifest_get_plugins (HgdFleetManifest *self);
gboolean hgd_fleet_manifest_targets (HgdFleetManifest *self,
                                     const gchar *gateway_id,
                                     const gchar *const *groups);

guint hgd_fleet_gateway_bucket (const gchar *gateway_id);
gchar *hgd_fleet_sign (GBytes *manifest,
                       GBytes *secret_key,
                       GError **error);

G_END_DECLS
