/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgSensorRules: the declarative rules of `rule.<id>.*` keys, evaluated against readings
 * and the passing of time, deciding when an alarm is due. */
#pragma once

#include "hg-sensor-reading.h"
#include "hg-sensor-registry.h"

G_BEGIN_DECLS

/* A rule that fired: the plugin raises one alarm for it. */
typedef struct
{
  gchar *rule;              /* (owned) the rule id */
  const gchar *rule_type;   /* e.g. `night-door` */
  const gchar *alarm_type;  /* a SCAIP-friendly HgAlarm type, e.g. `water` */
  guint priority;           /* 0-9 */
  gchar *device;            /* (owned) (nullable) the device, if one device caused it */
  HgSensorReading *reading; /* (owned) (nullable) the reading that caused it */
  gchar *reason;            /* (owned) English, for the alarm detail */
  gint64 ts;                /* when it fired */
} HgSensorFiring;

void hg_sensor_firing_free (HgSensorFiring *firing);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgSensorFiring, hg_sensor_firing_free)

#define HG_TYPE_SENSOR_RULES (hg_sensor_rules_get_type ())
G_DECLARE_FINAL_TYPE (HgSensorRules, hg_sensor_rules, HG, SENSOR_RULES, GObject)

HgSensorRules *hg_sensor_rules_new (HgSensorRegistry *registry,
                                    GTimeZone *tz);
gboolean hg_sensor_rules_load (HgSensorRules *self,
                               HgConfig *config,
                               GError **error);
guint hg_sensor_rules_get_n_rules (HgSensorRules *self);
void hg_sensor_rules_start (HgSensorRules *self,
                            gint64 now);
void hg_sensor_rules_process (HgSensorRules *self,
                              HgSensorReading *reading,
                              GPtrArray *firings);
void hg_sensor_rules_tick (HgSensorRules *self,
                           gint64 now,
                           GPtrArray *firings);
guint hg_sensor_rules_get_n_active (HgSensorRules *self);

G_END_DECLS
