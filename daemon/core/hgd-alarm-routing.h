/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdAlarmRouting: which alarm delivery instance takes which alarm. */
#pragma once

#include <hemgate-plugin.h>

#include "hgd-config.h"

G_BEGIN_DECLS

#define HGD_TYPE_ALARM_ROUTING (hgd_alarm_routing_get_type ())
G_DECLARE_FINAL_TYPE (HgdAlarmRouting, hgd_alarm_routing, HGD, ALARM_ROUTING, GObject)

/* Whether an instance is there to take the alarms bound to it. */
typedef gboolean (*HgdAlarmRoutingAliveFunc) (const gchar *instance_id,
                                              gpointer user_data);

HgdAlarmRouting *hgd_alarm_routing_new (HgdConfig *config);
void hgd_alarm_routing_load_state (HgdAlarmRouting *self,
                                   const gchar *state_path);
const gchar *hgd_alarm_routing_get_route (HgdAlarmRouting *self,
                                          const gchar *alarm_type);
JsonObject *hgd_alarm_routing_to_json (HgdAlarmRouting *self);
gboolean hgd_alarm_routing_set (HgdAlarmRouting *self,
                                const gchar *delivery,
                                const gchar *technical_delivery,
                                GError **error);
void hgd_alarm_routing_set_alive_func (HgdAlarmRouting *self,
                                       HgdAlarmRoutingAliveFunc func,
                                       gpointer user_data);
gboolean hgd_alarm_routing_takes (HgdAlarmRouting *self,
                                  const gchar *instance_id,
                                  const gchar *reference,
                                  const gchar *alarm_type,
                                  gboolean bind);
gboolean hgd_alarm_routing_takes_event (HgdAlarmRouting *self,
                                        const gchar *instance_id,
                                        HgEvent *event);
void hgd_alarm_routing_event_offered (HgdAlarmRouting *self,
                                      HgEvent *event);
GStrv hgd_alarm_routing_release (HgdAlarmRouting *self,
                                 const gchar *instance_id);

G_END_DECLS
