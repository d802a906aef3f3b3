/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What only the core may set on an HgAlarm: its reference, state and source. */
#pragma once

#include "hg-alarm.h"

G_BEGIN_DECLS

void hg_alarm_set_reference (HgAlarm *self,
                             const gchar *reference);
void hg_alarm_set_state (HgAlarm *self,
                         HgAlarmState state);
void hg_alarm_set_source (HgAlarm *self,
                          const gchar *source);

G_END_DECLS
