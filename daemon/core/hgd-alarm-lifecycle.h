/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The alarm life cycle: which caller may move an alarm from which state to which. */
#pragma once

#include <hemgate-plugin.h>

G_BEGIN_DECLS

/* Who asks for a transition. The HTTP API derives it from the route table
 * (hgd-api.c), ReportAlarm is always a delivery plugin. */
typedef enum
{
  HGD_ALARM_CALLER_RESIDENT,        /* the resident, over the HTTP API */
  HGD_ALARM_CALLER_STAFF,           /* municipal users, over the HTTP API */
  HGD_ALARM_CALLER_DELIVERY_PLUGIN, /* a plugin with alarm.deliver, by ReportAlarm */
  HGD_ALARM_CALLER_CORE,            /* hemgated itself */
  HGD_ALARM_CALLER_LAST
} HgdAlarmCaller;

/* What a request to move an alarm does, one cell of the table. */
typedef enum
{
  HGD_ALARM_STEP_ILLEGAL, /* refused with HGD_ALARMS_ERROR_ILLEGAL_TRANSITION */
  HGD_ALARM_STEP_MOVE,    /* the alarm moves: an alarm.<to> event */
  HGD_ALARM_STEP_REPEAT,  /* it is in that state already: nothing moves; a delivery plugin's
                           * `delivery` detail is kept in the record (alarm.updated) */
  HGD_ALARM_STEP_LATE,    /* a report of an earlier state: allowed only to keep a delivery
                           * plugin's `delivery` detail (alarm.updated), else illegal */
} HgdAlarmStep;

HgdAlarmStep hgd_alarm_lifecycle_get_step (HgAlarmState from,
                                           HgAlarmState to,
                                           HgdAlarmCaller caller);
gboolean hgd_alarm_lifecycle_may_reach (HgAlarmState to,
                                        HgdAlarmCaller caller);
const gchar *hgd_alarm_caller_to_string (HgdAlarmCaller caller);

G_END_DECLS
