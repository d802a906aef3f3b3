/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgSensorAdapter: the interface of a source adapter, which turns the MQTT messages of one
 * documented format into normalised readings, and what the adapters share. */
#pragma once

#include <hemgate-plugin.h>

#include "hg-sensor-reading.h"
#include "hg-sensor-registry.h"

G_BEGIN_DECLS

/* One message as the broker delivered it. */
typedef struct
{
  const gchar *topic;
  const gchar *payload; /* not nul-terminated; may be anything */
  gsize length;
  gboolean retained;
  gint64 now; /* when it was received, microseconds since the epoch */
} HgSensorMessage;

#define HG_TYPE_SENSOR_ADAPTER (hg_sensor_adapter_get_type ())
G_DECLARE_INTERFACE (HgSensorAdapter, hg_sensor_adapter, HG, SENSOR_ADAPTER, GObject)

struct _HgSensorAdapterInterface
{
  GTypeInterface g_iface;

  GStrv (*get_subscriptions) (HgSensorAdapter *self);
  gboolean (*handle_message) (HgSensorAdapter *self,
                              const HgSensorMessage *message,
                              GPtrArray *readings);
  void (*add_health) (HgSensorAdapter *self,
                      JsonObject *health);
};

GStrv hg_sensor_adapter_get_subscriptions (HgSensorAdapter *self);
gboolean hg_sensor_adapter_handle_message (HgSensorAdapter *self,
                                           const HgSensorMessage *message,
                                           GPtrArray *readings);
void hg_sensor_adapter_add_health (HgSensorAdapter *self,
                                   JsonObject *health);

/* Helpers for implementations. */
JsonObject *hg_sensor_adapter_parse_object (HgSensorDevice *device,
                                            const HgSensorMessage *message,
                                            gsize max_length);
HgSensorReading *hg_sensor_adapter_read_value (HgSensorDevice *device,
                                               HgDomain domain,
                                               HgSensorKind kind,
                                               JsonNode *node,
                                               const gchar *member,
                                               const HgSensorMessage *message);
gboolean hg_sensor_adapter_read_battery (HgSensorDevice *device,
                                         JsonNode *node,
                                         const gchar *member,
                                         gint *battery);
void hg_sensor_adapter_accept (HgSensorDevice *device,
                               const HgSensorMessage *message,
                               GPtrArray *readings,
                               guint first);

G_END_DECLS
