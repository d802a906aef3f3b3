/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Structured logging for hemgated: journald fields when under systemd, the console otherwise. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Catalogued events (MESSAGE_ID), so operators can query them with journalctl. */
#define HGD_MESSAGE_ID_STARTED "6a4f3c5e0b1d4f2a9c8e7d6b5a493827"
#define HGD_MESSAGE_ID_STOPPING "6a4f3c5e0b1d4f2a9c8e7d6b5a493828"
#define HGD_MESSAGE_ID_ALARM_RAISED "6a4f3c5e0b1d4f2a9c8e7d6b5a493829"
#define HGD_MESSAGE_ID_PLUGIN_RESTARTED "6a4f3c5e0b1d4f2a9c8e7d6b5a49382a"

/* A message with journald fields, e.g.
 * HGD_LOG_EVENT (G_LOG_LEVEL_MESSAGE, HGD_MESSAGE_ID_ALARM_RAISED,
 *                "HG_ALARM_REF", ref, "alarm %s raised", ref); */
#define HGD_LOG_EVENT(level, message_id, field, value, ...)                                   \
  g_log_structured (G_LOG_DOMAIN, level, "MESSAGE_ID", message_id, field, value, "MESSAGE", \
                    __VA_ARGS__)

void hgd_log_setup (gboolean verbose);
void hgd_log_setup_command (gboolean verbose);

G_END_DECLS
