/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one door from the core and the plugin host into what libhemgate does not export.
 * Never installed. */
#pragma once

#include "hg-alarm.h"
#include "hg-event.h"

G_BEGIN_DECLS

/* The library exports only its public API (hemgate-plugin.map). What only the core and the
 * host may do (hg-alarm-private.h, hg-event-private.h) is reached through this table, as
 * GLib's glib__private__ (): one exported symbol, hg__private__ (), and the table's layout
 * is no promise. Callers do not use it directly: the private headers wrap each entry in a
 * static inline function of the same name. Add a new entry at the end. */
typedef struct
{
  /* hg-alarm-private.h */
  void (*alarm_set_reference) (HgAlarm *self,
                               const gchar *reference);
  void (*alarm_set_state) (HgAlarm *self,
                           HgAlarmState state);
  void (*alarm_set_source) (HgAlarm *self,
                            const gchar *source);
  void (*alarm_set_times) (HgAlarm *self,
                           gint64 raised,
                           gint64 updated);
  gint64 (*alarm_get_raised_time) (HgAlarm *self);
  gint64 (*alarm_get_updated_time) (HgAlarm *self);

  /* hg-event-private.h */
  void (*event_set_domain) (HgEvent *self,
                            HgDomain domain);
  void (*event_set_seq) (HgEvent *self,
                         guint64 seq);
  void (*event_set_timestamp) (HgEvent *self,
                               gint64 timestamp);
  void (*event_set_source) (HgEvent *self,
                            const gchar *source);
  HgEvent *(*event_new_from_json) (JsonObject *object,
                                   GError **error);
} HgPrivateVTable;

const HgPrivateVTable *hg__private__ (void);

G_END_DECLS
