/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: a fleet deployment manifest from an MQTT message (hgd-fleet-manifest.c):
 * the envelope, a signature check against a fixed key, and the manifest read as if it had
 * verified (what a trusted signer's mistake could make a gateway read), its target
 * checked. */
#include "config.h"

#include "hgd-fleet-manifest.h"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const guint8 key[32] = { 0x5a };
  static const gchar *const groups[] = { "pilot", NULL };
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) public_key = NULL;
  g_autoptr(HgdFleetManifest) manifest = NULL;

  fuzz_setup ();
  if (size > FUZZ_MAX_INPUT)
    return 0;
  bytes = g_bytes_new (data, size);
  manifest = hgd_fleet_manifest_new_from_message (bytes, NULL);
  if (manifest == NULL)
    return 0;
  public_key = g_bytes_new_static (key, sizeof key);
  g_assert_false (hgd_fleet_manifest_verify (manifest, public_key, NULL));
  g_assert_nonnull (hgd_fleet_manifest_get_digest (manifest));
  if (!hgd_fleet_manifest_parse (manifest, NULL))
    return 0;
  g_assert_cmpint (hgd_fleet_manifest_get_serial (manifest), >=, 1);
  g_assert_nonnull (hgd_fleet_manifest_get_plugins (manifest));
  (void) hgd_fleet_manifest_targets (manifest, "gw-001", groups);
  return 0;
}
