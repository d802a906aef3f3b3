/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgScaipPlugin: delivers the gateway's social alarms to alarm receiving centres over
 * SCAIP (SS 91100) and reports each step back to the core. */
#pragma once

#include <hemgate-plugin.h>

G_BEGIN_DECLS

#define HG_TYPE_SCAIP_PLUGIN (hg_scaip_plugin_get_type ())
G_DECLARE_FINAL_TYPE (HgScaipPlugin, hg_scaip_plugin, HG, SCAIP_PLUGIN, HgPlugin)

G_END_DECLS
