/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdConfig: hemgate.conf, validated in full at load; every key has a built-in default. */
#pragma once

#include <hemgate-plugin.h>

G_BEGIN_DECLS

#define HGD_CONFIG_ERROR (hgd_config_error_quark ())

typedef enum
{
  HGD_CONFIG_ERROR_PARSE,         /* not a key file */
  HGD_CONFIG_ERROR_UNKNOWN_GROUP, /* a group we do not know */
  HGD_CONFIG_ERROR_UNKNOWN_KEY,   /* a key we do not know */
  HGD_CONFIG_ERROR_BAD_VALUE,     /* a value of the wrong type or range */
} HgdConfigError;

GQuark hgd_config_error_quark (void);

#define HGD_TYPE_CONFIG (hgd_config_get_type ())
G_DECLARE_FINAL_TYPE (HgdConfig, hgd_config, HGD, CONFIG, GObject)

HgdConfig *hgd_config_new (void);
gboolean hgd_config_load_file (HgdConfig *self,
                               const gchar *path,
                               GError **error);
gboolean hgd_config_load_data (HgdConfig *self,
                               const gchar *data,
                               const gchar *name,
                               GError **error);
void hgd_config_set_override (HgdConfig *self,
                              const gchar *group,
                              const gchar *key,
                              const gchar *value);

const gchar *hgd_config_get_string (HgdConfig *self,
                                    const gchar *group,
                                    const gchar *key);
gint64 hgd_config_get_int (HgdConfig *self,
                           const gchar *group,
                           const gchar *key);
gboolean hgd_config_get_boolean (HgdConfig *self,
                                 const gchar *group,
                                 const gchar *key);
GStrv hgd_config_get_strv (HgdConfig *self,
                           const gchar *group,
                           const gchar *key);

void hgd_config_set_demo (HgdConfig *self,
                          gboolean demo);
gboolean hgd_config_get_demo (HgdConfig *self);

GStrv hgd_config_get_plugin_instances (HgdConfig *self);
HgConfig *hgd_config_get_plugin_config (HgdConfig *self,
                                        const gchar *instance);
GHashTable *hgd_config_get_retention (HgdConfig *self);

const gchar *const *hgd_config_list_keys (void);

G_END_DECLS
