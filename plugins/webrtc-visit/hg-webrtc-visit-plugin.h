/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgWebrtcVisitPlugin: video care visits over WebRTC, signalled on channels. */
#pragma once

#include <hemgate-plugin.h>

G_BEGIN_DECLS

#define HG_TYPE_WEBRTC_VISIT_PLUGIN (hg_webrtc_visit_plugin_get_type ())
G_DECLARE_FINAL_TYPE (HgWebrtcVisitPlugin, hg_webrtc_visit_plugin, HG, WEBRTC_VISIT_PLUGIN,
                      HgPlugin)

G_END_DECLS
