/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdHostContext: the plugin's HgContext inside hemgate-plugin-host, forwarding to the core. */
#pragma once

#include <hemgate-plugin.h>
#include <hg-context-private.h>

#include "hgd-dbus-generated.h"

G_BEGIN_DECLS

#define HGD_TYPE_HOST_CONTEXT (hgd_host_context_get_type ())
G_DECLARE_FINAL_TYPE (HgdHostContext, hgd_host_context, HGD, HOST_CONTEXT, HgContext)

HgdHostContext *hgd_host_context_new (HgdDBusContext1 *proxy,
                                      const gchar *plugin_id,
                                      HgDomain domain,
                                      HgConfig *config,
                                      const gchar *const *capabilities);

GError *hgd_host_context_error_to_hg (const GError *error);
void hgd_host_context_flush (HgdHostContext *self);

G_END_DECLS
