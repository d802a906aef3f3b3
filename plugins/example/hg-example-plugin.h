/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgExamplePlugin: the template plugin; publishes a heartbeat and counts what it receives. */
#pragma once

#include <hemgate-plugin.h>

G_BEGIN_DECLS

#define HG_TYPE_EXAMPLE_PLUGIN (hg_example_plugin_get_type ())
G_DECLARE_FINAL_TYPE (HgExamplePlugin, hg_example_plugin, HG, EXAMPLE_PLUGIN, HgPlugin)

G_END_DECLS
