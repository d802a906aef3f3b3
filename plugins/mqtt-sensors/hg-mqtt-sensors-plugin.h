/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgMqttSensorsPlugin: Zigbee2MQTT, ChirpStack and MQTT sensors as readings, and rules
 * that raise alarms. */
#pragma once

#include <hemgate-plugin.h>

G_BEGIN_DECLS

#define HG_TYPE_MQTT_SENSORS_PLUGIN (hg_mqtt_sensors_plugin_get_type ())
G_DECLARE_FINAL_TYPE (HgMqttSensorsPlugin, hg_mqtt_sensors_plugin, HG, MQTT_SENSORS_PLUGIN, HgPlugin)

/* The plugin's clock: microseconds since the epoch, UTC. */
typedef gint64 (*HgMqttSensorsClockFunc) (gpointer user_data);

/* For tests and benchmarks, which run the class in-process: */
void hg_mqtt_sensors_plugin_set_clock (HgMqttSensorsPlugin *self,
                                       HgMqttSensorsClockFunc func,
                                       gpointer user_data);
void hg_mqtt_sensors_plugin_tick (HgMqttSensorsPlugin *self);
JsonObject *hg_mqtt_sensors_plugin_get_health (HgMqttSensorsPlugin *self);
void hg_mqtt_sensors_plugin_handle_message (HgMqttSensorsPlugin *self,
                                            const gchar *topic,
                                            const gchar *payload,
                                            gsize length,
                                            gboolean retained);

G_END_DECLS
