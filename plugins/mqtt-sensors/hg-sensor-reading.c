/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgSensorReading: one table of reading kinds (name, value type, unit, plausible range)
 * that every adapter and rule consults, and the reading itself, a small reference-counted
 * record with its JSON form for "sensor.reading" events and alarm details. */
#include "hg-sensor-reading.h"

#include <math.h>

typedef struct
{
  const gchar *name; /* as in Zigbee2MQTT where it has the same property */
  HgSensorValueType type;
  const gchar *unit; /* (nullable) */
  gdouble min;       /* plausible range of number kinds */
  gdouble max;
} KindInfo;

/* The plausible ranges: a value outside is a broken or forged message, never a reading.
 * Temperature covers a freezer to a sauna with margin; illuminance direct sunlight. */
static const KindInfo kinds[] = {
  [HG_SENSOR_KIND_OCCUPANCY] = { "occupancy", HG_SENSOR_VALUE_BOOLEAN, NULL, 0, 0 },
  [HG_SENSOR_KIND_CONTACT] = { "contact", HG_SENSOR_VALUE_BOOLEAN, NULL, 0, 0 },
  [HG_SENSOR_KIND_WATER_LEAK] = { "water_leak", HG_SENSOR_VALUE_BOOLEAN, NULL, 0, 0 },
  [HG_SENSOR_KIND_SMOKE] = { "smoke", HG_SENSOR_VALUE_BOOLEAN, NULL, 0, 0 },
  [HG_SENSOR_KIND_TAMPER] = { "tamper", HG_SENSOR_VALUE_BOOLEAN, NULL, 0, 0 },
  [HG_SENSOR_KIND_VIBRATION] = { "vibration", HG_SENSOR_VALUE_BOOLEAN, NULL, 0, 0 },
  [HG_SENSOR_KIND_FALL] = { "fall", HG_SENSOR_VALUE_BOOLEAN, NULL, 0, 0 },
  [HG_SENSOR_KIND_BATTERY_LOW] = { "battery_low", HG_SENSOR_VALUE_BOOLEAN, NULL, 0, 0 },
  [HG_SENSOR_KIND_ACTION] = { "action", HG_SENSOR_VALUE_STRING, NULL, 0, 0 },
  [HG_SENSOR_KIND_TEMPERATURE] = { "temperature", HG_SENSOR_VALUE_NUMBER, "°C", -80, 120 },
  [HG_SENSOR_KIND_HUMIDITY] = { "humidity", HG_SENSOR_VALUE_NUMBER, "%", 0, 100 },
  [HG_SENSOR_KIND_ILLUMINANCE] = { "illuminance", HG_SENSOR_VALUE_NUMBER, "lx", 0, 200000 },
  [HG_SENSOR_KIND_BATTERY] = { "battery", HG_SENSOR_VALUE_NUMBER, "%", 0, 100 },
  [HG_SENSOR_KIND_AVAILABILITY] = { "availability", HG_SENSOR_VALUE_BOOLEAN, NULL, 0, 0 },
};
G_STATIC_ASSERT (G_N_ELEMENTS (kinds) == HG_SENSOR_KIND_LAST);

G_DEFINE_QUARK (hg-sensor-reading-error-quark, hg_sensor_reading_error)

const gchar *
hg_sensor_kind_to_string (HgSensorKind kind)
{
  g_return_val_if_fail ((guint) kind < HG_SENSOR_KIND_LAST, NULL);
  return kinds[kind].name;
}

gboolean
hg_sensor_kind_from_string (const gchar *str,
                            HgSensorKind *kind)
{
  for (guint i = 0; str != NULL && i < HG_SENSOR_KIND_LAST; i++)
    {
      if (g_strcmp0 (kinds[i].name, str) == 0)
        {
          *kind = (HgSensorKind) i;
          return TRUE;
        }
    }
  return FALSE;
}

HgSensorValueType
hg_sensor_kind_get_value_type (HgSensorKind kind)
{
  g_return_val_if_fail ((guint) kind < HG_SENSOR_KIND_LAST, HG_SENSOR_VALUE_BOOLEAN);
  return kinds[kind].type;
}

/* Returns: (nullable): the unit of a number kind, e.g. `°C` */
const gchar *
hg_sensor_kind_get_unit (HgSensorKind kind)
{
  g_return_val_if_fail ((guint) kind < HG_SENSOR_KIND_LAST, NULL);
  return kinds[kind].unit;
}

/* Returns: %TRUE if @value is finite and within the kind's plausible range */
gboolean
hg_sensor_kind_check_number (HgSensorKind kind,
                             gdouble value,
                             GError **error)
{
  g_return_val_if_fail ((guint) kind < HG_SENSOR_KIND_LAST, FALSE);
  g_return_val_if_fail (kinds[kind].type == HG_SENSOR_VALUE_NUMBER, FALSE);

  if (!isfinite (value) || value < kinds[kind].min || value > kinds[kind].max)
    {
      g_set_error (error, HG_SENSOR_READING_ERROR, HG_SENSOR_READING_ERROR_OUT_OF_RANGE,
                   "%s %g is outside %g..%g", kinds[kind].name, value, kinds[kind].min,
                   kinds[kind].max);
      return FALSE;
    }
  return TRUE;
}

/* Button actions are short words: `single`, `double_left`, `hold`, `sos`. Anything else
 * (control characters, markup, long text) is not a button. */
gboolean
hg_sensor_action_is_valid (const gchar *action)
{
  gsize len = action != NULL ? strlen (action) : 0;

  if (len == 0 || len > HG_SENSOR_ACTION_MAX)
    return FALSE;
  for (const gchar *p = action; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-')
        return FALSE;
    }
  return TRUE;
}

static void
reading_clear (gpointer data)
{
  HgSensorReading *self = data;

  g_free (self->device);
  g_free (self->text);
}

HgSensorReading *
hg_sensor_reading_new (const gchar *device,
                       HgDomain domain,
                       HgSensorKind kind,
                       gint64 ts)
{
  HgSensorReading *self;

  g_return_val_if_fail (device != NULL, NULL);
  g_return_val_if_fail ((guint) kind < HG_SENSOR_KIND_LAST, NULL);

  self = g_rc_box_new0 (HgSensorReading);
  self->device = g_strdup (device);
  self->domain = domain;
  self->kind = kind;
  self->battery = -1;
  self->link_quality = -1;
  self->ts = ts;
  return self;
}

HgSensorReading *
hg_sensor_reading_ref (HgSensorReading *self)
{
  return g_rc_box_acquire (self);
}

void
hg_sensor_reading_unref (HgSensorReading *self)
{
  g_rc_box_release_full (self, reading_clear);
}

void
hg_sensor_reading_set_boolean (HgSensorReading *self,
                               gboolean value)
{
  g_return_if_fail (kinds[self->kind].type == HG_SENSOR_VALUE_BOOLEAN);
  self->boolean = value != FALSE;
}

void
hg_sensor_reading_set_number (HgSensorReading *self,
                              gdouble value)
{
  g_return_if_fail (kinds[self->kind].type == HG_SENSOR_VALUE_NUMBER);
  self->number = value;
}

void
hg_sensor_reading_set_text (HgSensorReading *self,
                            const gchar *value)
{
  g_return_if_fail (kinds[self->kind].type == HG_SENSOR_VALUE_STRING);
  g_free (self->text);
  self->text = g_strdup (value);
}

/* Reads the value of @member from untrusted JSON into @self: a boolean kind takes true or
 * false (or 0 or 1, as LoRaWAN codecs write them), a number kind a number within its
 * range, `action` a short word. Anything else is an %HG_SENSOR_READING_ERROR naming
 * @member. */
gboolean
hg_sensor_reading_set_value_from_json (HgSensorReading *self,
                                       JsonNode *node,
                                       const gchar *member,
                                       GError **error)
{
  GType type = G_TYPE_INVALID;

  g_return_val_if_fail (node != NULL, FALSE);

  if (JSON_NODE_HOLDS_VALUE (node))
    type = json_node_get_value_type (node);
  switch (kinds[self->kind].type)
    {
    case HG_SENSOR_VALUE_BOOLEAN:
      if (type == G_TYPE_BOOLEAN)
        {
          self->boolean = json_node_get_boolean (node);
          return TRUE;
        }
      if (type == G_TYPE_INT64 && (json_node_get_int (node) == 0 || json_node_get_int (node) == 1))
        {
          self->boolean = json_node_get_int (node) == 1;
          return TRUE;
        }
      g_set_error (error, HG_SENSOR_READING_ERROR, HG_SENSOR_READING_ERROR_WRONG_TYPE,
                   "member '%s' is not a boolean", member);
      return FALSE;
    case HG_SENSOR_VALUE_NUMBER:
      if (type != G_TYPE_INT64 && type != G_TYPE_DOUBLE)
        {
          g_set_error (error, HG_SENSOR_READING_ERROR, HG_SENSOR_READING_ERROR_WRONG_TYPE,
                       "member '%s' is not a number", member);
          return FALSE;
        }
      if (!hg_sensor_kind_check_number (self->kind, json_node_get_double (node), error))
        return FALSE;
      self->number = json_node_get_double (node);
      return TRUE;
    case HG_SENSOR_VALUE_STRING:
    default:
      if (type != G_TYPE_STRING || !hg_sensor_action_is_valid (json_node_get_string (node)))
        {
          g_set_error (error, HG_SENSOR_READING_ERROR, HG_SENSOR_READING_ERROR_WRONG_TYPE,
                       "member '%s' is not an action of up to %d letters, digits, '_' or '-'",
                       member, HG_SENSOR_ACTION_MAX);
          return FALSE;
        }
      g_free (self->text);
      self->text = g_strdup (json_node_get_string (node));
      return TRUE;
    }
}

/* Returns: %TRUE if both readings are of the same kind and value */
gboolean
hg_sensor_reading_equal_value (HgSensorReading *self,
                               HgSensorReading *other)
{
  if (self->kind != other->kind)
    return FALSE;
  switch (kinds[self->kind].type)
    {
    case HG_SENSOR_VALUE_BOOLEAN:
      return self->boolean == other->boolean;
    case HG_SENSOR_VALUE_NUMBER:
      return self->number == other->number;
    case HG_SENSOR_VALUE_STRING:
    default:
      return g_strcmp0 (self->text, other->text) == 0;
    }
}

static gchar *
iso8601 (gint64 usec)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);
  g_autoptr(GDateTime) exact = NULL;

  if (dt == NULL)
    return g_strdup ("");
  exact = g_date_time_add (dt, usec % G_USEC_PER_SEC);
  return g_date_time_format_iso8601 (exact);
}

/* Returns: (transfer full): `{"device", "domain", "kind", "value", "unit", "battery",
 *   "link_quality", "ts", "retained"}`, leaving out what is unknown */
JsonObject *
hg_sensor_reading_to_json (HgSensorReading *self)
{
  JsonObject *object = json_object_new ();
  g_autofree gchar *ts = iso8601 (self->ts);

  json_object_set_string_member (object, "device", self->device);
  json_object_set_string_member (object, "domain", hg_domain_to_string (self->domain));
  json_object_set_string_member (object, "kind", kinds[self->kind].name);
  switch (kinds[self->kind].type)
    {
    case HG_SENSOR_VALUE_BOOLEAN:
      json_object_set_boolean_member (object, "value", self->boolean);
      break;
    case HG_SENSOR_VALUE_NUMBER:
      /* two decimals are more than any of these sensors resolves */
      json_object_set_double_member (object, "value", round (self->number * 100.0) / 100.0);
      break;
    case HG_SENSOR_VALUE_STRING:
    default:
      json_object_set_string_member (object, "value", self->text != NULL ? self->text : "");
      break;
    }
  if (kinds[self->kind].unit != NULL)
    json_object_set_string_member (object, "unit", kinds[self->kind].unit);
  if (self->battery >= 0)
    json_object_set_int_member (object, "battery", self->battery);
  if (self->link_quality >= 0)
    json_object_set_int_member (object, "link_quality", self->link_quality);
  json_object_set_string_member (object, "ts", ts);
  if (self->retained)
    json_object_set_boolean_member (object, "retained", TRUE);
  return object;
}

/**
 * hg_sensor_bad_key:
 * @error: return location for a #GError
 * @section: `device` or `rule`
 * @id: the device or rule id
 * @field: the field of the key
 * @format: what is wrong with it
 * @...: arguments for @format
 *
 * Sets %HG_ERROR_INVALID_DATA naming the configuration key `<section>.<id>.<field>`.
 *
 * Returns: %FALSE, for `return hg_sensor_bad_key (…);`
 */
gboolean
hg_sensor_bad_key (GError **error,
                   const gchar *section,
                   const gchar *id,
                   const gchar *field,
                   const gchar *format,
                   ...)
{
  g_autofree gchar *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "key '%s.%s.%s': %s", section, id, field,
               message);
  return FALSE;
}
