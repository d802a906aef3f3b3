/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What only the core may set on an HgAlarm: its reference, state and source, and when
 * its journal saw it raised and last changed (not part of its wire form). */
#pragma once

#include "hg-alarm.h"

G_BEGIN_DECLS

void hg_alarm_set_reference (HgAlarm *self,
                             const gchar *reference);
void hg_alarm_set_state (HgAlarm *self,
                         HgAlarmState state);
void hg_alarm_set_source (HgAlarm *self,
                          const gchar *source);
void hg_alarm_set_times (HgAlarm *self,
                         gint64 raised,
                         gint64 updated);
gint64 hg_alarm_get_raised_time (HgAlarm *self);
gint64 hg_alarm_get_updated_time (HgAlarm *self);

G_END_DECLS
