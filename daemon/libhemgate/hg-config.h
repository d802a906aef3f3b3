/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgConfig: a plugin instance's own configuration keys, read with defaults and ranges. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define HG_TYPE_CONFIG (hg_config_get_type ())
G_DECLARE_FINAL_TYPE (HgConfig, hg_config, HG, CONFIG, GObject)

HgConfig *hg_config_new (void);
void hg_config_set (HgConfig *self,
                    const gchar *key,
                    const gchar *value);
GStrv hg_config_get_keys (HgConfig *self);
const gchar *hg_config_get_string (HgConfig *self,
                                   const gchar *key,
                                   const gchar *default_value);
gboolean hg_config_get_int (HgConfig *self,
                            const gchar *key,
                            gint64 default_value,
                            gint64 min,
                            gint64 max,
                            gint64 *value,
                            GError **error);
gboolean hg_config_get_boolean (HgConfig *self,
                                const gchar *key,
                                gboolean default_value,
                                gboolean *value,
                                GError **error);

G_END_DECLS
