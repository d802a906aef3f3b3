/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdHost: one plugin module loaded into hemgate-plugin-host, driven over PluginHost1. */
#pragma once

#include <hemgate-plugin.h>

G_BEGIN_DECLS

#define HGD_TYPE_HOST (hgd_host_get_type ())
G_DECLARE_FINAL_TYPE (HgdHost, hgd_host, HGD, HOST, GObject)

HgdHost *hgd_host_new (const gchar *plugin_dir,
                       GError **error);
gboolean hgd_host_attach (HgdHost *self,
                          GDBusConnection *connection,
                          GError **error);

G_END_DECLS
