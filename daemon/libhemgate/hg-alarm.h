/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgAlarm: a social alarm as plugins raise it and as delivery plugins receive it. */
#pragma once

#include <json-glib/json-glib.h>

#include "hg-event.h"

G_BEGIN_DECLS

/**
 * HgAlarmState:
 * @HG_ALARM_STATE_RAISED: journaled by the core, not yet delivered
 * @HG_ALARM_STATE_DELIVERED: a delivery plugin handed it to the alarm centre
 * @HG_ALARM_STATE_ACKNOWLEDGED: the alarm centre accepted it
 * @HG_ALARM_STATE_SPEECH_CONNECTED: a voice call with the resident is up
 * @HG_ALARM_STATE_DISPATCHED: home-care staff are on their way
 * @HG_ALARM_STATE_ATTENDED: staff are with the resident
 * @HG_ALARM_STATE_CLOSED: handled; nothing more to do
 * @HG_ALARM_STATE_CANCELLED: cancelled by the resident within the allowed window
 * @HG_ALARM_STATE_DELIVERY_FAILED: the delivery plugin gave up prompt delivery: the alarm
 *   centre did not confirm it within the plugin's limit (the reason is in the event's
 *   detail); delivery goes on in the background, and the people concerned are told to
 *   call 112 if it is urgent.
 *
 * The states of an alarm's life cycle, kept by the core. Which step who may take is the
 * core's transition table, not the order of this enumeration; closed and cancelled are
 * final. hg_alarm_state_compare() orders them as an alarm passes them.
 *
 * Since: 1.0
 */
typedef enum
{
  HG_ALARM_STATE_RAISED,
  HG_ALARM_STATE_DELIVERED,
  HG_ALARM_STATE_ACKNOWLEDGED,
  HG_ALARM_STATE_SPEECH_CONNECTED,
  HG_ALARM_STATE_DISPATCHED,
  HG_ALARM_STATE_ATTENDED,
  HG_ALARM_STATE_CLOSED,
  HG_ALARM_STATE_CANCELLED,
  HG_ALARM_STATE_DELIVERY_FAILED,
  /*< private >*/
  HG_ALARM_STATE_LAST
} HgAlarmState;

const gchar *hg_alarm_state_to_string (HgAlarmState state);
gboolean hg_alarm_state_from_string (const gchar *str,
                                     HgAlarmState *state);
gboolean hg_alarm_state_is_final (HgAlarmState state);
gint hg_alarm_state_compare (HgAlarmState a, HgAlarmState b);
gboolean hg_alarm_type_is_valid (const gchar *type);

#define HG_TYPE_ALARM (hg_alarm_get_type ())
G_DECLARE_FINAL_TYPE (HgAlarm, hg_alarm, HG, ALARM, GObject)

HgAlarm *hg_alarm_new (const gchar *alarm_type);
HgAlarm *hg_alarm_new_from_json (JsonObject *object,
                                 GError **error);
JsonObject *hg_alarm_to_json (HgAlarm *self);

const gchar *hg_alarm_get_reference (HgAlarm *self);
const gchar *hg_alarm_get_alarm_type (HgAlarm *self);
HgAlarmState hg_alarm_get_state (HgAlarm *self);
const gchar *hg_alarm_get_source (HgAlarm *self);
const gchar *hg_alarm_get_device (HgAlarm *self);
void hg_alarm_set_device (HgAlarm *self,
                          const gchar *device);
const gchar *hg_alarm_get_location (HgAlarm *self);
void hg_alarm_set_location (HgAlarm *self,
                            const gchar *location);
guint hg_alarm_get_priority (HgAlarm *self);
void hg_alarm_set_priority (HgAlarm *self,
                            guint priority);
JsonObject *hg_alarm_get_detail (HgAlarm *self);
void hg_alarm_set_detail (HgAlarm *self,
                          JsonObject *detail);

G_END_DECLS
