/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: a plugin's manifest.json from untrusted text (hgd_manifest_new_from_data),
 * read by the core and by the plugin host before any plugin code runs. */
#include "config.h"

#include "hgd-capabilities.h"
#include "hgd-manifest.h"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t size)
{
  g_autoptr(HgdManifest) manifest = NULL;
  const gchar *const *capabilities;
  HgDomain domain;

  fuzz_setup ();
  if (size > FUZZ_MAX_INPUT)
    return 0;
  /* libFuzzer may hand an empty input as NULL; the API takes "" */
  manifest = hgd_manifest_new_from_data (data != NULL ? (const gchar *) data : "", (gssize) size, NULL);
  if (manifest == NULL)
    return 0;

  g_assert_nonnull (hgd_manifest_get_id (manifest));
  g_assert_nonnull (hgd_manifest_get_module (manifest));
  capabilities = hgd_manifest_get_capabilities (manifest);
  g_assert_nonnull (capabilities);
  for (guint i = 0; capabilities[i] != NULL; i++)
    g_assert_true (hgd_capability_check (capabilities[i], NULL));
  (void) hgd_manifest_get_only_domain (manifest, &domain);
  (void) hgd_manifest_allows_domain (manifest, HG_DOMAIN_PERSONAL);
  return 0;
}
