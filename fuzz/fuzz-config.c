/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: hemgate.conf from untrusted text (hgd_config_load_data), then every getter
 * that does not depend on a key's type, on what was accepted. */
#include "config.h"

#include "hgd-config.h"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t size)
{
  g_autoptr(HgdConfig) config = NULL;
  g_autoptr(GHashTable) retention = NULL;
  g_autofree gchar *text = NULL;
  g_auto(GStrv) instances = NULL;

  fuzz_setup ();
  if (size > FUZZ_MAX_INPUT)
    return 0;
  text = size > 0 ? g_strndup ((const gchar *) data, size) : g_strdup ("");
  config = hgd_config_new ();
  if (!hgd_config_load_data (config, text, "fuzz.conf", NULL))
    return 0;

  instances = hgd_config_get_plugin_instances (config);
  for (guint i = 0; instances[i] != NULL; i++)
    {
      g_autofree gchar *group = g_strdup_printf ("plugin:%s", instances[i]);
      g_autoptr(HgConfig) plugin = hgd_config_get_plugin_config (config, instances[i]);
      g_auto(GStrv) deny = hgd_config_get_strv (config, group, "deny");

      g_assert_nonnull (plugin);
      g_assert_nonnull (deny);
      g_assert_nonnull (hgd_config_get_string (config, group, "plugin"));
      g_assert_nonnull (hgd_config_get_string (config, group, "domain"));
      (void) hgd_config_get_boolean (config, group, "enabled");
    }
  retention = hgd_config_get_retention (config);
  g_assert_nonnull (retention);
  return 0;
}
