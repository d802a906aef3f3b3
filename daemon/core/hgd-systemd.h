/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sd_notify without libsystemd: READY, STATUS, STOPPING and the watchdog. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

gboolean hgd_systemd_notify (const gchar *state,
                             GError **error);

#define HGD_TYPE_WATCHDOG (hgd_watchdog_get_type ())
G_DECLARE_FINAL_TYPE (HgdWatchdog, hgd_watchdog, HGD, WATCHDOG, GObject)

HgdWatchdog *hgd_watchdog_new (void);
guint64 hgd_watchdog_get_interval (HgdWatchdog *self);

G_END_DECLS
