/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgMqttJsonAdapter: any device publishing JSON on its own topic, read through the JSON
 * path its configuration names. */
#pragma once

#include "hg-sensor-adapter.h"

G_BEGIN_DECLS

#define HG_TYPE_MQTT_JSON_ADAPTER (hg_mqtt_json_adapter_get_type ())
G_DECLARE_FINAL_TYPE (HgMqttJsonAdapter, hg_mqtt_json_adapter, HG, MQTT_JSON_ADAPTER, GObject)

HgMqttJsonAdapter *hg_mqtt_json_adapter_new (HgSensorRegistry *registry,
                                             HgDomain domain,
                                             gsize max_payload);

G_END_DECLS
