/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgSensorReading: the one normalised reading every adapter produces, and the table of
 * reading kinds with their value type, unit and plausible range. */
#pragma once

#include <hemgate-plugin.h>

G_BEGIN_DECLS

/**
 * HgSensorKind:
 *
 * What a reading measures. Boolean kinds are states (`contact` is %TRUE when closed, as
 * in Zigbee2MQTT); `action` is a button event such as `single`; the rest are numbers in
 * the kind's unit. `availability` is the device's own online state, kept for the rules
 * and health, and journaled as `sensor.availability` rather than as a reading.
 */
typedef enum
{
  HG_SENSOR_KIND_OCCUPANCY,
  HG_SENSOR_KIND_CONTACT,
  HG_SENSOR_KIND_WATER_LEAK,
  HG_SENSOR_KIND_SMOKE,
  HG_SENSOR_KIND_TAMPER,
  HG_SENSOR_KIND_VIBRATION,
  HG_SENSOR_KIND_FALL,
  HG_SENSOR_KIND_BATTERY_LOW,
  HG_SENSOR_KIND_ACTION,
  HG_SENSOR_KIND_TEMPERATURE,
  HG_SENSOR_KIND_HUMIDITY,
  HG_SENSOR_KIND_ILLUMINANCE,
  HG_SENSOR_KIND_BATTERY,
  HG_SENSOR_KIND_AVAILABILITY,
  HG_SENSOR_KIND_LAST
} HgSensorKind;

typedef enum
{
  HG_SENSOR_VALUE_BOOLEAN,
  HG_SENSOR_VALUE_NUMBER,
  HG_SENSOR_VALUE_STRING,
} HgSensorValueType;

/* Why a value from a message was not taken; the plugin counts each per device. */
#define HG_SENSOR_READING_ERROR (hg_sensor_reading_error_quark ())

typedef enum
{
  HG_SENSOR_READING_ERROR_WRONG_TYPE,   /* missing, or of the wrong JSON type */
  HG_SENSOR_READING_ERROR_OUT_OF_RANGE, /* a number outside the kind's plausible range */
} HgSensorReadingError;

GQuark hg_sensor_reading_error_quark (void);

/* The longest `action` string accepted, e.g. `single`, `double`, `hold`, `sos`. */
#define HG_SENSOR_ACTION_MAX 32

const gchar *hg_sensor_kind_to_string (HgSensorKind kind);
gboolean hg_sensor_kind_from_string (const gchar *str,
                                     HgSensorKind *kind);
HgSensorValueType hg_sensor_kind_get_value_type (HgSensorKind kind);
const gchar *hg_sensor_kind_get_unit (HgSensorKind kind);
gboolean hg_sensor_kind_check_number (HgSensorKind kind,
                                      gdouble value,
                                      GError **error);
gboolean hg_sensor_action_is_valid (const gchar *action);

typedef struct _HgSensorReading HgSensorReading;

/* Plain data, reference counted; fields are read directly and never changed once the
 * reading has been handed on. */
struct _HgSensorReading
{
  gchar *device; /* (owned) the registry id */
  HgDomain domain;
  HgSensorKind kind;
  gboolean boolean;  /* for boolean kinds */
  gdouble number;    /* for number kinds, in the kind's unit */
  gchar *text;       /* (owned) (nullable) for `action` */
  gint battery;      /* percent, or -1 when the message had none */
  gint link_quality; /* 0-255, or -1 */
  gint64 ts;         /* when it was received: microseconds since the epoch, UTC */
  gboolean retained; /* the broker's retained copy, delivered on subscribing */
};

HgSensorReading *hg_sensor_reading_new (const gchar *device,
                                        HgDomain domain,
                                        HgSensorKind kind,
                                        gint64 ts);
HgSensorReading *hg_sensor_reading_ref (HgSensorReading *self);
void hg_sensor_reading_unref (HgSensorReading *self);
void hg_sensor_reading_set_boolean (HgSensorReading *self,
                                    gboolean value);
void hg_sensor_reading_set_number (HgSensorReading *self,
                                   gdouble value);
void hg_sensor_reading_set_text (HgSensorReading *self,
                                 const gchar *value);
gboolean hg_sensor_reading_set_value_from_json (HgSensorReading *self,
                                                JsonNode *node,
                                                const gchar *member,
                                                GError **error);
gboolean hg_sensor_reading_equal_value (HgSensorReading *self,
                                        HgSensorReading *other);
JsonObject *hg_sensor_reading_to_json (HgSensorReading *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgSensorReading, hg_sensor_reading_unref)

gboolean hg_sensor_bad_key (GError **error,
                            const gchar *section,
                            const gchar *id,
                            const gchar *field,
                            const gchar *format,
                            ...) G_GNUC_PRINTF (5, 6);

G_END_DECLS
