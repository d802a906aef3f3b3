/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: a plugin bundle (.hgp) from untrusted bytes: the envelope
 * (hgd_bundle_new_from_bytes), a signature check against a fixed key, the payload
 * expanded and every entry checked (hgd_bundle_load_payload), as hemgated does before
 * anything is written. */
#include "config.h"

#include "hgd-bundle.h"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const guint8 key[HGD_BUNDLE_PUBLIC_KEY_SIZE] = { 0x5a };
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) public_key = NULL;
  g_autoptr(HgdBundle) bundle = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  g_auto(GStrv) architectures = NULL;

  fuzz_setup ();
  if (size > FUZZ_MAX_INPUT)
    return 0;
  bytes = g_bytes_new (data, size);
  bundle = hgd_bundle_new_from_bytes (bytes, NULL);
  if (bundle == NULL)
    return 0;
  public_key = g_bytes_new_static (key, sizeof key);
  g_assert_false (hgd_bundle_verify (bundle, public_key, NULL));
  g_assert_nonnull (hgd_bundle_get_digest (bundle));
  if (!hgd_bundle_load_payload (bundle, NULL))
    return 0;
  g_assert_nonnull (hgd_bundle_get_manifest (bundle));
  entries = hgd_bundle_list_entries (bundle);
  for (guint i = 0; i < entries->len; i++)
    g_assert_nonnull (g_ptr_array_index (entries, i));
  architectures = hgd_bundle_dup_architectures (bundle);
  (void) hgd_bundle_check_api_version (bundle, NULL);
  (void) hgd_bundle_check_architecture (bundle, "x.so", hgd_bundle_host_architecture (), NULL);
  return 0;
}
