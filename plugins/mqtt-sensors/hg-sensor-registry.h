/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgSensorRegistry: the devices of one plugin instance (and so of one domain), read from
 * its `device.<id>.*` keys, with what the plugin counts about each. */
#pragma once

#include <hemgate-plugin.h>

#include "hg-sensor-reading.h"

G_BEGIN_DECLS

typedef enum
{
  HG_SENSOR_SOURCE_Z2M,
  HG_SENSOR_SOURCE_CHIRPSTACK,
  HG_SENSOR_SOURCE_MQTT,
  HG_SENSOR_SOURCE_LAST
} HgSensorSource;

const gchar *hg_sensor_source_to_string (HgSensorSource source);

/* Why a message, or a value in it, was dropped; counted per device. */
typedef enum
{
  HG_SENSOR_DROP_TOO_LARGE,    /* the payload exceeds max-payload */
  HG_SENSOR_DROP_NOT_JSON,     /* not a JSON object (or not the expected bare string) */
  HG_SENSOR_DROP_WRONG_SHAPE,  /* a member missing or of the wrong type */
  HG_SENSOR_DROP_OUT_OF_RANGE, /* a value outside its plausible range */
  HG_SENSOR_DROP_FLOOD,        /* over device-max-rate: evaluated, not journaled */
  HG_SENSOR_DROP_BACKLOG,      /* the core fell behind: evaluated, not journaled */
  HG_SENSOR_DROP_LAST
} HgSensorDrop;

const gchar *hg_sensor_drop_to_string (HgSensorDrop drop);

typedef struct
{
  /* configuration */
  gchar *id; /* (owned) [a-z0-9_-], also the API's {device} */
  HgSensorSource source;
  HgSensorKind kind;   /* what the device is for: contact, water_leak, ... */
  gchar *room;         /* (owned) the alarm's location, e.g. `kitchen` */
  gchar *name;         /* (owned) display name */
  gchar *topic;        /* (owned) (nullable) Zigbee2MQTT friendly name, or MQTT topic */
  gchar *dev_eui;      /* (owned) (nullable) ChirpStack DevEUI, lower-case hex */
  gchar *profile;      /* (owned) (nullable) ChirpStack profile name */
  gchar *path;         /* (owned) (nullable) generic MQTT: JSON path of the value */
  gchar *battery_path; /* (owned) (nullable) generic MQTT: JSON path of battery % */
  gboolean fahrenheit; /* generic MQTT: the value is in °F */

  /* what the plugin saw */
  guint64 messages;
  guint64 readings;
  guint64 dropped[HG_SENSOR_DROP_LAST];
  gint64 last_seen; /* of the last accepted message, or 0 */
  gboolean availability_known;
  gboolean online;
  gint battery;           /* the last battery percentage, or -1 */
  gboolean bridge_listed; /* Zigbee2MQTT's bridge/devices names it */
  gdouble tokens;         /* device-max-rate bucket */
  gint64 tokens_ts;
  gint64 published_ts[HG_SENSOR_KIND_LAST];        /* last journaled, per kind */
  HgSensorReading *published[HG_SENSOR_KIND_LAST]; /* (owned) (nullable) its value */
} HgSensorDevice;

gboolean hg_sensor_device_id_is_valid (const gchar *id);
gboolean hg_sensor_topic_is_valid (const gchar *topic,
                                   GError **error);
gboolean hg_sensor_friendly_name_is_valid (const gchar *name,
                                           GError **error);
gboolean hg_sensor_device_take_token (HgSensorDevice *device,
                                      gint64 now,
                                      guint rate);
void hg_sensor_device_drop (HgSensorDevice *device,
                            HgSensorDrop drop);

#define HG_TYPE_SENSOR_REGISTRY (hg_sensor_registry_get_type ())
G_DECLARE_FINAL_TYPE (HgSensorRegistry, hg_sensor_registry, HG, SENSOR_REGISTRY, GObject)

HgSensorRegistry *hg_sensor_registry_new (void);
gboolean hg_sensor_registry_load (HgSensorRegistry *self,
                                  HgConfig *config,
                                  GError **error);
GPtrArray *hg_sensor_registry_get_devices (HgSensorRegistry *self);
HgSensorDevice *hg_sensor_registry_lookup (HgSensorRegistry *self,
                                           const gchar *id);
HgSensorDevice *hg_sensor_registry_lookup_z2m (HgSensorRegistry *self,
                                               const gchar *friendly_name);
HgSensorDevice *hg_sensor_registry_lookup_dev_eui (HgSensorRegistry *self,
                                                   const gchar *dev_eui);
HgSensorDevice *hg_sensor_registry_lookup_topic (HgSensorRegistry *self,
                                                 const gchar *topic);
void hg_sensor_registry_count_unknown (HgSensorRegistry *self,
                                       HgSensorSource source,
                                       const gchar *name);
guint64 hg_sensor_registry_get_n_unknown (HgSensorRegistry *self);
JsonObject *hg_sensor_registry_to_json (HgSensorRegistry *self,
                                        guint max_devices);

G_END_DECLS
