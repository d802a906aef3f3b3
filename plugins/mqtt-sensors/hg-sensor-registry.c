/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgSensorRegistry: reads `device.<id>.<field>` keys into devices, refusing the whole
 * configuration on the first bad key (named in the error), and indexes the devices by
 * the names their sources use: Zigbee2MQTT friendly name, ChirpStack DevEUI, MQTT topic.
 * It also keeps what the plugin counts per device, and a bounded count of messages from
 * devices nobody registered, for the health report. */
#include "hg-sensor-registry.h"

#include "hg-sensor-path.h"

/* Unknown names are remembered up to this many; beyond, they are only counted. */
#define MAX_UNKNOWN_NAMES 32
#define MAX_ID 64
#define MAX_TEXT 128
#define MAX_TOPIC 256
#define DEV_EUI_LENGTH 16

struct _HgSensorRegistry
{
  GObject parent_instance;
  GPtrArray *devices;   /* (owned) (element-type HgSensorDevice) in id order */
  GHashTable *by_id;    /* (owned) id -> device */
  GHashTable *by_z2m;   /* (owned) friendly name -> device */
  GHashTable *by_eui;   /* (owned) DevEUI -> device */
  GHashTable *by_topic; /* (owned) MQTT topic -> device */
  GHashTable *unknown;  /* (owned) "source:name" -> count */
  guint64 n_unknown;
};

G_DEFINE_TYPE (HgSensorRegistry, hg_sensor_registry, G_TYPE_OBJECT)

static const gchar *const source_names[] = { "z2m", "chirpstack", "mqtt" };
G_STATIC_ASSERT (G_N_ELEMENTS (source_names) == HG_SENSOR_SOURCE_LAST);

static const gchar *const drop_names[] = {
  "too-large", "not-json", "wrong-shape", "out-of-range", "flood", "backlog",
};
G_STATIC_ASSERT (G_N_ELEMENTS (drop_names) == HG_SENSOR_DROP_LAST);

/* Every field a device may have, and the sources it applies to (a bit per source). */
#define ALL_SOURCES 0x7
#define SOURCE_BIT(s) (1u << (s))
static const struct
{
  const gchar *field;
  guint sources;
} device_fields[] = {
  { "source", ALL_SOURCES },
  { "kind", ALL_SOURCES },
  { "room", ALL_SOURCES },
  { "name", ALL_SOURCES },
  { "topic", SOURCE_BIT (HG_SENSOR_SOURCE_Z2M) | SOURCE_BIT (HG_SENSOR_SOURCE_MQTT) },
  { "dev-eui", SOURCE_BIT (HG_SENSOR_SOURCE_CHIRPSTACK) },
  { "profile", SOURCE_BIT (HG_SENSOR_SOURCE_CHIRPSTACK) },
  { "path", SOURCE_BIT (HG_SENSOR_SOURCE_MQTT) },
  { "unit", SOURCE_BIT (HG_SENSOR_SOURCE_MQTT) },
  { "battery-path", SOURCE_BIT (HG_SENSOR_SOURCE_MQTT) },
};

const gchar *
hg_sensor_source_to_string (HgSensorSource source)
{
  g_return_val_if_fail ((guint) source < HG_SENSOR_SOURCE_LAST, NULL);
  return source_names[source];
}

const gchar *
hg_sensor_drop_to_string (HgSensorDrop drop)
{
  g_return_val_if_fail ((guint) drop < HG_SENSOR_DROP_LAST, NULL);
  return drop_names[drop];
}

/* Device ids appear in URLs, events and logs: 1-64 of a-z, 0-9, '_' and '-'. */
gboolean
hg_sensor_device_id_is_valid (const gchar *id)
{
  gsize len = id != NULL ? strlen (id) : 0;

  if (len == 0 || len > MAX_ID || !g_ascii_isalnum (id[0]))
    return FALSE;
  for (const gchar *p = id; *p != '\0'; p++)
    {
      if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '_' && *p != '-')
        return FALSE;
    }
  return TRUE;
}

/* No wildcard, no control character, valid UTF-8: text that can only name one topic. */
static gboolean
topic_text_is_valid (const gchar *text,
                     gsize max,
                     GError **error)
{
  gsize len = strlen (text);

  if (len == 0 || len > max)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "must be 1 to %" G_GSIZE_FORMAT " bytes",
                   max);
      return FALSE;
    }
  if (!g_utf8_validate (text, len, NULL))
    {
      g_set_error_literal (error, HG_ERROR, HG_ERROR_INVALID_DATA, "is not valid UTF-8");
      return FALSE;
    }
  for (const gchar *p = text; *p != '\0'; p++)
    {
      if (*p == '+' || *p == '#')
        {
          g_set_error_literal (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                               "holds an MQTT wildcard ('+' or '#')");
          return FALSE;
        }
      if ((guchar) *p < 0x20 || *p == 0x7f)
        {
          g_set_error_literal (error, HG_ERROR, HG_ERROR_INVALID_DATA, "holds a control character");
          return FALSE;
        }
    }
  if (text[0] == '/' || text[len - 1] == '/' || strstr (text, "//") != NULL)
    {
      g_set_error_literal (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                           "has an empty level (a leading, trailing or double '/')");
      return FALSE;
    }
  return TRUE;
}

/* An MQTT topic of the generic source: one topic, not the broker's own `$SYS/...`. */
gboolean
hg_sensor_topic_is_valid (const gchar *topic,
                          GError **error)
{
  if (!topic_text_is_valid (topic, MAX_TOPIC, error))
    return FALSE;
  if (topic[0] == '$')
    {
      g_set_error_literal (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                           "starts with '$', which is the broker's own");
      return FALSE;
    }
  return TRUE;
}

/* A Zigbee2MQTT friendly name: may hold '/', must not collide with the bridge's topics
 * or a device's own sub-topics. */
gboolean
hg_sensor_friendly_name_is_valid (const gchar *name,
                                  GError **error)
{
  static const gchar *const reserved_suffixes[] = { "/availability", "/set", "/get", NULL };

  if (!topic_text_is_valid (name, MAX_TEXT, error))
    return FALSE;
  if (g_strcmp0 (name, "bridge") == 0 || g_str_has_prefix (name, "bridge/") || name[0] == '$')
    {
      g_set_error_literal (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                           "is a Zigbee2MQTT bridge topic, not a device");
      return FALSE;
    }
  for (guint i = 0; reserved_suffixes[i] != NULL; i++)
    {
      if (g_str_has_suffix (name, reserved_suffixes[i]))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       "ends in '%s', which Zigbee2MQTT uses for its own topics",
                       reserved_suffixes[i]);
          return FALSE;
        }
    }
  return TRUE;
}

/* Display names and rooms: short text without control characters. */
static gboolean
text_is_valid (const gchar *text)
{
  gsize len = strlen (text);

  if (len > MAX_TEXT || !g_utf8_validate (text, len, NULL))
    return FALSE;
  for (const gchar *p = text; *p != '\0'; p++)
    {
      if ((guchar) *p < 0x20 || *p == 0x7f)
        return FALSE;
    }
  return TRUE;
}

/**
 * hg_sensor_device_take_token:
 * @device: a device
 * @now: the time, in microseconds
 * @rate: messages per second allowed on average, or 0 for no limit
 *
 * A token bucket of depth 2 × @rate: a device may burst briefly, not flood.
 *
 * Returns: %TRUE if the message is within the device's rate
 */
gboolean
hg_sensor_device_take_token (HgSensorDevice *device,
                             gint64 now,
                             guint rate)
{
  gdouble depth = 2.0 * rate;

  if (rate == 0)
    return TRUE;
  if (device->tokens_ts == 0)
    device->tokens = depth;
  else if (now > device->tokens_ts)
    device->tokens
        = MIN (depth, device->tokens + (gdouble) (now - device->tokens_ts) * rate / G_USEC_PER_SEC);
  device->tokens_ts = now;
  if (device->tokens < 1.0)
    return FALSE;
  device->tokens -= 1.0;
  return TRUE;
}

void
hg_sensor_device_drop (HgSensorDevice *device,
                       HgSensorDrop drop)
{
  g_return_if_fail ((guint) drop < HG_SENSOR_DROP_LAST);
  device->dropped[drop]++;
}

static void
device_free (HgSensorDevice *device)
{
  g_free (device->id);
  g_free (device->room);
  g_free (device->name);
  g_free (device->topic);
  g_free (device->dev_eui);
  g_free (device->profile);
  g_free (device->path);
  g_free (device->battery_path);
  for (guint i = 0; i < HG_SENSOR_KIND_LAST; i++)
    g_clear_pointer (&device->published[i], hg_sensor_reading_unref);
  g_free (device);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgSensorDevice, device_free)

static void
hg_sensor_registry_finalize (GObject *object)
{
  HgSensorRegistry *self = HG_SENSOR_REGISTRY (object);

  g_hash_table_unref (self->by_id);
  g_hash_table_unref (self->by_z2m);
  g_hash_table_unref (self->by_eui);
  g_hash_table_unref (self->by_topic);
  g_hash_table_unref (self->unknown);
  g_ptr_array_unref (self->devices);
  G_OBJECT_CLASS (hg_sensor_registry_parent_class)->finalize (object);
}

static void
hg_sensor_registry_class_init (HgSensorRegistryClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hg_sensor_registry_finalize;
}

static void
hg_sensor_registry_init (HgSensorRegistry *self)
{
  self->devices = g_ptr_array_new_with_free_func ((GDestroyNotify) device_free);
  self->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  self->by_z2m = g_hash_table_new (g_str_hash, g_str_equal);
  self->by_eui = g_hash_table_new (g_str_hash, g_str_equal);
  self->by_topic = g_hash_table_new (g_str_hash, g_str_equal);
  self->unknown = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

HgSensorRegistry *
hg_sensor_registry_new (void)
{
  return g_object_new (HG_TYPE_SENSOR_REGISTRY, NULL);
}

static gboolean
field_is_known (const gchar *field)
{
  for (guint i = 0; i < G_N_ELEMENTS (device_fields); i++)
    {
      if (g_strcmp0 (device_fields[i].field, field) == 0)
        return TRUE;
    }
  return FALSE;
}

static gboolean
field_applies (const gchar *field,
               HgSensorSource source)
{
  for (guint i = 0; i < G_N_ELEMENTS (device_fields); i++)
    {
      if (g_strcmp0 (device_fields[i].field, field) == 0)
        return (device_fields[i].sources & SOURCE_BIT (source)) != 0;
    }
  return FALSE;
}

static gboolean
parse_source (const gchar *str,
              HgSensorSource *source)
{
  for (guint i = 0; str != NULL && i < HG_SENSOR_SOURCE_LAST; i++)
    {
      if (g_strcmp0 (source_names[i], str) == 0)
        {
          *source = (HgSensorSource) i;
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean
check_path (const gchar *id,
            const gchar *field,
            const gchar *value,
            GError **error)
{
  g_autoptr(GError) error_local = NULL;
  g_autoptr(HgSensorPath) path = hg_sensor_path_new (value, &error_local);

  if (path == NULL)
    return hg_sensor_bad_key (error, "device", id, field, "%s", error_local->message);
  return TRUE;
}

/* The unit a generic MQTT device reports in must be the kind's own, or °F for temperature. */
static gboolean
check_unit (HgSensorDevice *device,
            const gchar *unit,
            GError **error)
{
  const gchar *canonical = hg_sensor_kind_get_unit (device->kind);

  if (canonical == NULL)
    return hg_sensor_bad_key (error, "device", device->id, "unit", "kind %s has no unit",
                    hg_sensor_kind_to_string (device->kind));
  if (g_strcmp0 (unit, canonical) == 0
      || (device->kind == HG_SENSOR_KIND_TEMPERATURE && g_strcmp0 (unit, "C") == 0))
    return TRUE;
  if (device->kind == HG_SENSOR_KIND_TEMPERATURE
      && (g_strcmp0 (unit, "°F") == 0 || g_strcmp0 (unit, "F") == 0))
    {
      device->fahrenheit = TRUE;
      return TRUE;
    }
  return hg_sensor_bad_key (error, "device", device->id, "unit",
                            "'%s' is not %s%s", unit, canonical,
                  device->kind == HG_SENSOR_KIND_TEMPERATURE ? " or °F" : "");
}

static gchar *
kind_names (void)
{
  g_autoptr(GString) names = g_string_new (NULL);

  for (guint i = 0; i < HG_SENSOR_KIND_AVAILABILITY; i++)
    g_string_append_printf (names, "%s%s", i > 0 ? ", " : "", hg_sensor_kind_to_string (i));
  return g_string_free (g_steal_pointer (&names), FALSE);
}

static HgSensorDevice *
device_new_from_fields (const gchar *id,
                        GHashTable *fields,
                        GError **error)
{
  g_autoptr(HgSensorDevice) device = g_new0 (HgSensorDevice, 1);
  GHashTableIter iter;
  const gchar *field;
  const gchar *value;
  const gchar *source = g_hash_table_lookup (fields, "source");
  const gchar *kind = g_hash_table_lookup (fields, "kind");

  device->id = g_strdup (id);
  device->battery = -1;
  if (source == NULL)
    {
      hg_sensor_bad_key (error, "device", id, "source",
               "missing: every device needs a source (z2m, chirpstack or mqtt)");
      return NULL;
    }
  if (!parse_source (source, &device->source))
    {
      hg_sensor_bad_key (error, "device", id, "source",
                         "'%s' is not z2m, chirpstack or mqtt", source);
      return NULL;
    }
  if (kind == NULL || !hg_sensor_kind_from_string (kind, &device->kind)
      || device->kind == HG_SENSOR_KIND_AVAILABILITY)
    {
      g_autofree gchar *names = kind_names ();
      if (kind == NULL)
        hg_sensor_bad_key (error, "device", id, "kind",
                           "missing: every device needs a kind (%s)", names);
      else
        hg_sensor_bad_key (error, "device", id, "kind",
                           "'%s' is not a reading kind (%s)", kind, names);
      return NULL;
    }

  g_hash_table_iter_init (&iter, fields);
  while (g_hash_table_iter_next (&iter, (gpointer *) &field, (gpointer *) &value))
    {
      if (!field_applies (field, device->source))
        {
          hg_sensor_bad_key (error, "device", id, field, "does not apply to source %s", source);
          return NULL;
        }
    }

  value = g_hash_table_lookup (fields, "name");
  device->name = g_strdup (value != NULL ? value : id);
  if (!text_is_valid (device->name))
    {
      hg_sensor_bad_key (error, "device", id, "name",
                         "must be at most %d bytes of UTF-8 without control characters",
               MAX_TEXT);
      return NULL;
    }
  value = g_hash_table_lookup (fields, "room");
  device->room = g_strdup (value != NULL ? value : "");
  if (!text_is_valid (device->room))
    {
      hg_sensor_bad_key (error, "device", id, "room",
                         "must be at most %d bytes of UTF-8 without control characters",
               MAX_TEXT);
      return NULL;
    }

  switch (device->source)
    {
    case HG_SENSOR_SOURCE_Z2M:
      {
        g_autoptr(GError) error_local = NULL;
        value = g_hash_table_lookup (fields, "topic");
        device->topic = g_strdup (value != NULL ? value : id);
        if (!hg_sensor_friendly_name_is_valid (device->topic, &error_local))
          {
            hg_sensor_bad_key (error, "device", id, "topic", "friendly name '%s' %s", device->topic,
                     error_local->message);
            return NULL;
          }
      }
      break;
    case HG_SENSOR_SOURCE_CHIRPSTACK:
      value = g_hash_table_lookup (fields, "dev-eui");
      if (value == NULL)
        {
          hg_sensor_bad_key (error, "device", id, "dev-eui",
                             "missing: a ChirpStack device needs its DevEUI");
          return NULL;
        }
      if (strlen (value) != DEV_EUI_LENGTH
          || strspn (value, "0123456789abcdefABCDEF") != DEV_EUI_LENGTH)
        {
          hg_sensor_bad_key (error, "device", id, "dev-eui",
                             "'%s' is not 16 hexadecimal digits", value);
          return NULL;
        }
      device->dev_eui = g_ascii_strdown (value, -1);
      device->profile = g_strdup (g_hash_table_lookup (fields, "profile"));
      break;
    case HG_SENSOR_SOURCE_MQTT:
    case HG_SENSOR_SOURCE_LAST:
    default:
      {
        g_autoptr(GError) error_local = NULL;
        value = g_hash_table_lookup (fields, "topic");
        if (value == NULL)
          {
            hg_sensor_bad_key (error, "device", id, "topic",
                               "missing: an MQTT device needs the topic it publishes on");
            return NULL;
          }
        if (!hg_sensor_topic_is_valid (value, &error_local))
          {
            hg_sensor_bad_key (error, "device", id, "topic",
                               "'%s' %s", value, error_local->message);
            return NULL;
          }
        device->topic = g_strdup (value);
        value = g_hash_table_lookup (fields, "path");
        device->path = g_strdup (value != NULL ? value : hg_sensor_kind_to_string (device->kind));
        if (!check_path (id, "path", device->path, error))
          return NULL;
        value = g_hash_table_lookup (fields, "battery-path");
        if (value != NULL && !check_path (id, "battery-path", value, error))
          return NULL;
        device->battery_path = g_strdup (value);
        value = g_hash_table_lookup (fields, "unit");
        if (value != NULL && !check_unit (device, value, error))
          return NULL;
      }
      break;
    }
  return g_steal_pointer (&device);
}

static gboolean
add_device (HgSensorRegistry *self,
            HgSensorDevice *device,
            GError **error)
{
  GHashTable *index = NULL;
  const gchar *name = NULL;
  const gchar *field = NULL;
  HgSensorDevice *other;

  switch (device->source)
    {
    case HG_SENSOR_SOURCE_Z2M:
      index = self->by_z2m;
      name = device->topic;
      field = "topic";
      break;
    case HG_SENSOR_SOURCE_CHIRPSTACK:
      index = self->by_eui;
      name = device->dev_eui;
      field = "dev-eui";
      break;
    case HG_SENSOR_SOURCE_MQTT:
    case HG_SENSOR_SOURCE_LAST:
    default:
      index = self->by_topic;
      name = device->topic;
      field = "topic";
      break;
    }
  other = g_hash_table_lookup (index, name);
  if (other != NULL)
    return hg_sensor_bad_key (error, "device", device->id, field,
                              "'%s' is already device %s", name, other->id);
  g_hash_table_insert (index, (gpointer) name, device);
  g_hash_table_insert (self->by_id, device->id, device);
  g_ptr_array_add (self->devices, device);
  return TRUE;
}

/**
 * hg_sensor_registry_load:
 * @self: an empty registry
 * @config: the instance's configuration
 * @error: return location for a #GError
 *
 * Reads every `device.<id>.<field>` key; other keys are left to their owners.
 *
 * Returns: %TRUE if every device is well formed, else %FALSE with
 *   %HG_ERROR_INVALID_DATA naming the key
 */
gboolean
hg_sensor_registry_load (HgSensorRegistry *self,
                         HgConfig *config,
                         GError **error)
{
  g_auto(GStrv) keys = hg_config_get_keys (config);
  g_autoptr(GHashTable) by_device
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_hash_table_unref);
  g_autoptr(GPtrArray) order = g_ptr_array_new ();

  g_return_val_if_fail (HG_IS_SENSOR_REGISTRY (self), FALSE);
  g_return_val_if_fail (self->devices->len == 0, FALSE);

  for (guint i = 0; keys[i] != NULL; i++)
    {
      const gchar *rest;
      const gchar *dot;
      g_autofree gchar *id = NULL;
      GHashTable *fields;

      if (!g_str_has_prefix (keys[i], "device."))
        continue;
      rest = keys[i] + strlen ("device.");
      dot = strchr (rest, '.');
      if (dot == NULL)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       "key '%s': device keys are device.<id>.<field>", keys[i]);
          return FALSE;
        }
      id = g_strndup (rest, dot - rest);
      if (!hg_sensor_device_id_is_valid (id))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       "key '%s': device id '%s' must be 1 to 64 of a-z, 0-9, '_' and '-'", keys[i],
                       id);
          return FALSE;
        }
      if (!field_is_known (dot + 1))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       "key '%s': unknown device field '%s'", keys[i], dot + 1);
          return FALSE;
        }
      fields = g_hash_table_lookup (by_device, id);
      if (fields == NULL)
        {
          fields = g_hash_table_new (g_str_hash, g_str_equal);
          g_ptr_array_add (order, id);
          g_hash_table_insert (by_device, g_steal_pointer (&id), fields);
        }
      /* the values live in @config for as long as this function runs */
      g_hash_table_insert (fields, (gpointer) (dot + 1),
                           (gpointer) hg_config_get_string (config, keys[i], ""));
    }
  for (guint i = 0; i < order->len; i++)
    {
      const gchar *id = g_ptr_array_index (order, i);
      HgSensorDevice *device
          = device_new_from_fields (id, g_hash_table_lookup (by_device, id), error);

      if (device == NULL)
        return FALSE;
      if (!add_device (self, device, error))
        {
          device_free (device);
          return FALSE;
        }
    }
  return TRUE;
}

/* Returns: (transfer none) (element-type HgSensorDevice): the devices, in id order */
GPtrArray *
hg_sensor_registry_get_devices (HgSensorRegistry *self)
{
  return self->devices;
}

HgSensorDevice *
hg_sensor_registry_lookup (HgSensorRegistry *self,
                           const gchar *id)
{
  return g_hash_table_lookup (self->by_id, id);
}

HgSensorDevice *
hg_sensor_registry_lookup_z2m (HgSensorRegistry *self,
                               const gchar *friendly_name)
{
  return g_hash_table_lookup (self->by_z2m, friendly_name);
}

HgSensorDevice *
hg_sensor_registry_lookup_dev_eui (HgSensorRegistry *self,
                                   const gchar *dev_eui)
{
  return g_hash_table_lookup (self->by_eui, dev_eui);
}

HgSensorDevice *
hg_sensor_registry_lookup_topic (HgSensorRegistry *self,
                                 const gchar *topic)
{
  return g_hash_table_lookup (self->by_topic, topic);
}

/**
 * hg_sensor_registry_count_unknown:
 * @self: a registry
 * @source: where the message came from
 * @name: (nullable): the friendly name or DevEUI it named, if it named one safely
 *
 * Counts a message from a device nobody registered. The first few names are kept for
 * the health report; a flood of made-up names only increments the total.
 */
void
hg_sensor_registry_count_unknown (HgSensorRegistry *self,
                                  HgSensorSource source,
                                  const gchar *name)
{
  g_autofree gchar *key = NULL;
  gpointer count;

  self->n_unknown++;
  if (name == NULL || !text_is_valid (name))
    name = "(unprintable)";
  key = g_strdup_printf ("%s:%s", source_names[source], name);
  count = g_hash_table_lookup (self->unknown, key);
  if (count != NULL || g_hash_table_size (self->unknown) < MAX_UNKNOWN_NAMES)
    g_hash_table_replace (self->unknown, g_steal_pointer (&key),
                          GUINT_TO_POINTER (GPOINTER_TO_UINT (count) + 1));
}

guint64
hg_sensor_registry_get_n_unknown (HgSensorRegistry *self)
{
  return self->n_unknown;
}

static gchar *
iso8601 (gint64 usec)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);

  return dt != NULL ? g_date_time_format_iso8601 (dt) : g_strdup ("");
}

static gboolean
device_has_problem (HgSensorDevice *device)
{
  if (device->last_seen == 0 || (device->availability_known && !device->online))
    return TRUE;
  for (guint d = 0; d < HG_SENSOR_DROP_LAST; d++)
    {
      if (device->dropped[d] > 0)
        return TRUE;
    }
  return FALSE;
}

static JsonObject *
device_to_json (HgSensorDevice *device)
{
  JsonObject *entry = json_object_new ();
  JsonObject *dropped = json_object_new ();

  json_object_set_string_member (entry, "source", source_names[device->source]);
  json_object_set_string_member (entry, "kind", hg_sensor_kind_to_string (device->kind));
  json_object_set_int_member (entry, "messages", (gint64) device->messages);
  json_object_set_int_member (entry, "readings", (gint64) device->readings);
  for (guint d = 0; d < HG_SENSOR_DROP_LAST; d++)
    json_object_set_int_member (dropped, drop_names[d], (gint64) device->dropped[d]);
  json_object_set_object_member (entry, "dropped", dropped);
  if (device->last_seen > 0)
    {
      g_autofree gchar *ts = iso8601 (device->last_seen);
      json_object_set_string_member (entry, "last_seen", ts);
    }
  else
    json_object_set_null_member (entry, "last_seen");
  if (device->availability_known)
    json_object_set_boolean_member (entry, "online", device->online);
  else
    json_object_set_null_member (entry, "online");
  if (device->battery >= 0)
    json_object_set_int_member (entry, "battery", device->battery);
  return entry;
}

/**
 * hg_sensor_registry_to_json:
 * @self: a registry
 * @max_devices: at most this many device entries, those with something to look at
 *   (drops, offline, never heard from) first; %G_MAXUINT for all
 *
 * Returns: (transfer full): `{"totals": {...}, "devices": {id: {...}}, "devices_omitted": n,
 *   "unknown": {...}}` for the health report; totals cover every device
 */
JsonObject *
hg_sensor_registry_to_json (HgSensorRegistry *self,
                            guint max_devices)
{
  JsonObject *object = json_object_new ();
  JsonObject *devices = json_object_new ();
  JsonObject *totals = json_object_new ();
  JsonObject *dropped = json_object_new ();
  JsonObject *unknown = json_object_new ();
  JsonObject *names = json_object_new ();
  guint64 sums[HG_SENSOR_DROP_LAST] = { 0 };
  guint64 messages = 0;
  guint64 readings = 0;
  guint n_entries = 0;
  GHashTableIter iter;
  const gchar *name;
  gpointer count;

  /* first the devices with a problem, then the rest, while there is room */
  for (guint pass = 0; pass < 2; pass++)
    {
      for (guint i = 0; i < self->devices->len; i++)
        {
          HgSensorDevice *device = g_ptr_array_index (self->devices, i);

          if (pass == 0)
            {
              messages += device->messages;
              readings += device->readings;
              for (guint d = 0; d < HG_SENSOR_DROP_LAST; d++)
                sums[d] += device->dropped[d];
            }
          if (n_entries < max_devices && device_has_problem (device) == (pass == 0))
            {
              json_object_set_object_member (devices, device->id, device_to_json (device));
              n_entries++;
            }
        }
    }
  json_object_set_int_member (totals, "devices", self->devices->len);
  json_object_set_int_member (totals, "messages", (gint64) messages);
  json_object_set_int_member (totals, "readings", (gint64) readings);
  for (guint d = 0; d < HG_SENSOR_DROP_LAST; d++)
    json_object_set_int_member (dropped, drop_names[d], (gint64) sums[d]);
  json_object_set_object_member (totals, "dropped", dropped);
  g_hash_table_iter_init (&iter, self->unknown);
  while (g_hash_table_iter_next (&iter, (gpointer *) &name, &count))
    json_object_set_int_member (names, name, GPOINTER_TO_UINT (count));
  json_object_set_int_member (unknown, "messages", (gint64) self->n_unknown);
  json_object_set_object_member (unknown, "names", names);
  json_object_set_object_member (object, "totals", totals);
  json_object_set_object_member (object, "devices", devices);
  json_object_set_int_member (object, "devices_omitted", self->devices->len - n_entries);
  json_object_set_object_member (object, "unknown", unknown);
  return object;
}
