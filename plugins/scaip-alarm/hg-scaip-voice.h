/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgScaipVoice: the voice call of an acknowledged alarm (PROTOCOL.md §9): answering the
 * ARC's call in the alarm's voice window, or calling the ARC until the call connects or
 * the standard's setup time has passed, and the ARC's audio control during the call. */
#pragma once

#include <gio/gio.h>

#include "hg-scaip-config.h"
#include "hg-scaip-sip.h"

G_BEGIN_DECLS

#define HG_TYPE_SCAIP_VOICE (hg_scaip_voice_get_type ())
G_DECLARE_FINAL_TYPE (HgScaipVoice, hg_scaip_voice, HG, SCAIP_VOICE, GObject)

HgScaipVoice *hg_scaip_voice_new (HgScaipSip *sip, HgScaipConfig *config, HgScaipVoiceMode mode);
void hg_scaip_voice_request (HgScaipVoice *self,
                             const gchar *ref,
                             guint receiver,
                             guint mre,
                             gint cre,
                             const gchar *transfer);
void hg_scaip_voice_forget (HgScaipVoice *self, const gchar *ref);
void hg_scaip_voice_stop (HgScaipVoice *self);
gboolean hg_scaip_voice_in_call (HgScaipVoice *self);

G_END_DECLS
