/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgScaipSounds: local audible feedback for the resident: short sound files from
 * data/sounds/ (a tone, and spoken messages per language) played one after the other
 * through GStreamer's playbin on a configurable sink. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define HG_TYPE_SCAIP_SOUNDS (hg_scaip_sounds_get_type ())
G_DECLARE_FINAL_TYPE (HgScaipSounds, hg_scaip_sounds, HG, SCAIP_SOUNDS, GObject)

HgScaipSounds *hg_scaip_sounds_new (const gchar *dir, const gchar *language, const gchar *sink);
void hg_scaip_sounds_play (HgScaipSounds *self, const gchar *name, const gchar *ref);

G_END_DECLS
