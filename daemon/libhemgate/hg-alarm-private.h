/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What only the core may set on an HgAlarm: its reference, state and source, and when
 * its journal saw it raised and last changed (not part of its wire form). Never installed;
 * not exported: outside libhemgate these go through hg__private__ () (hg-private.h). */
#pragma once

#include "hg-alarm.h"

G_BEGIN_DECLS

#ifdef HG_COMPILATION

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

#else /* the core, the host, tests and fuzz targets */

#include "hg-private.h"

static inline void
hg_alarm_set_reference (HgAlarm *self,
                        const gchar *reference)
{
  hg__private__ ()->alarm_set_reference (self, reference);
}

static inline void
hg_alarm_set_state (HgAlarm *self,
                    HgAlarmState state)
{
  hg__private__ ()->alarm_set_state (self, state);
}

static inline void
hg_alarm_set_source (HgAlarm *self,
                     const gchar *source)
{
  hg__private__ ()->alarm_set_source (self, source);
}

static inline void
hg_alarm_set_times (HgAlarm *self,
                    gint64 raised,
                    gint64 updated)
{
  hg__private__ ()->alarm_set_times (self, raised, updated);
}

static inline gint64
hg_alarm_get_raised_time (HgAlarm *self)
{
  return hg__private__ ()->alarm_get_raised_time (self);
}

static inline gint64
hg_alarm_get_updated_time (HgAlarm *self)
{
  return hg__private__ ()->alarm_get_updated_time (self);
}

#endif /* HG_COMPILATION */

G_END_DECLS
