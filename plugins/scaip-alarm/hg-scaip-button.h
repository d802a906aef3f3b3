/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgScaipButton: a physical alarm button read through Linux evdev: `struct input_event`
 * records from a device node, read non-blockingly on the GLib main loop. A press of the
 * configured key, outside the debounce window, is the "pressed" signal. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define HG_TYPE_SCAIP_BUTTON (hg_scaip_button_get_type ())
G_DECLARE_FINAL_TYPE (HgScaipButton, hg_scaip_button, HG, SCAIP_BUTTON, GObject)

HgScaipButton *hg_scaip_button_new (const gchar *path, guint key_code, guint debounce_ms);
void hg_scaip_button_start (HgScaipButton *self);
gboolean hg_scaip_button_is_ready (HgScaipButton *self);

G_END_DECLS
