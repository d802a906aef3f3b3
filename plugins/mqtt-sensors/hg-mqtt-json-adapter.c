/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgMqttJsonAdapter: the generic source. Each device names the exact topic it publishes
 * on, the JSON path of its value (`device.<id>.path`, default the kind's name at the top
 * level), optionally the path of a battery percentage, and its unit (°F is converted).
 * Only those topics are subscribed; the value goes through the same kind table, so a
 * generic thermometer cannot report 500 °C either. */
#include "hg-mqtt-json-adapter.h"

#include "hg-sensor-path.h"

typedef struct
{
  HgSensorPath *path;         /* (owned) */
  HgSensorPath *battery_path; /* (owned) (nullable) */
} Paths;

struct _HgMqttJsonAdapter
{
  GObject parent_instance;
  HgSensorRegistry *registry; /* (owned) */
  HgDomain domain;
  gsize max_payload;
  GHashTable *paths; /* (owned) device id -> Paths */
};

static void hg_mqtt_json_adapter_iface_init (HgSensorAdapterInterface *iface);

G_DEFINE_TYPE_WITH_CODE (HgMqttJsonAdapter,
                         hg_mqtt_json_adapter,
                         G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (HG_TYPE_SENSOR_ADAPTER,
                                                hg_mqtt_json_adapter_iface_init))

static void
paths_free (Paths *paths)
{
  hg_sensor_path_free (paths->path);
  hg_sensor_path_free (paths->battery_path);
  g_free (paths);
}

static GStrv
hg_mqtt_json_adapter_get_subscriptions (HgSensorAdapter *adapter)
{
  HgMqttJsonAdapter *self = HG_MQTT_JSON_ADAPTER (adapter);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  GPtrArray *devices = hg_sensor_registry_get_devices (self->registry);

  for (guint i = 0; i < devices->len; i++)
    {
      HgSensorDevice *device = g_ptr_array_index (devices, i);
      if (device->source == HG_SENSOR_SOURCE_MQTT)
        g_strv_builder_add (builder, device->topic);
    }
  return g_strv_builder_end (builder);
}

static HgSensorReading *
read_fahrenheit (HgMqttJsonAdapter *self,
                 HgSensorDevice *device,
                 const HgSensorMessage *message,
                 JsonNode *node)
{
  g_autoptr(HgSensorReading) reading
      = hg_sensor_reading_new (device->id, self->domain, device->kind, message->now);
  gdouble celsius;

  if (!JSON_NODE_HOLDS_VALUE (node)
      || (json_node_get_value_type (node) != G_TYPE_DOUBLE
          && json_node_get_value_type (node) != G_TYPE_INT64))
    {
      hg_sensor_device_drop (device, HG_SENSOR_DROP_WRONG_SHAPE);
      return NULL;
    }
  celsius = (json_node_get_double (node) - 32.0) * 5.0 / 9.0;
  if (!hg_sensor_kind_check_number (device->kind, celsius, NULL))
    {
      hg_sensor_device_drop (device, HG_SENSOR_DROP_OUT_OF_RANGE);
      return NULL;
    }
  hg_sensor_reading_set_number (reading, celsius);
  reading->retained = message->retained;
  return g_steal_pointer (&reading);
}

static gboolean
hg_mqtt_json_adapter_handle_message (HgSensorAdapter *adapter,
                                     const HgSensorMessage *message,
                                     GPtrArray *readings)
{
  HgMqttJsonAdapter *self = HG_MQTT_JSON_ADAPTER (adapter);
  HgSensorDevice *device = hg_sensor_registry_lookup_topic (self->registry, message->topic);
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(GError) error = NULL;
  HgSensorReading *reading = NULL;
  Paths *paths;
  JsonNode *node;
  gint battery = -1;

  if (device == NULL)
    return FALSE;
  paths = g_hash_table_lookup (self->paths, device->id);
  object = hg_sensor_adapter_parse_object (device, message, self->max_payload);
  if (object == NULL)
    return TRUE;
  if (paths->battery_path != NULL
      && (node = hg_sensor_path_lookup (paths->battery_path, object, NULL)) != NULL)
    hg_sensor_adapter_read_battery (device, node,
                                    hg_sensor_path_get_last_name (paths->battery_path), &battery);
  node = hg_sensor_path_lookup (paths->path, object, &error);
  if (node == NULL)
    {
      hg_sensor_device_drop (device, HG_SENSOR_DROP_WRONG_SHAPE);
      g_debug ("device %s: message dropped: %s", device->id, error->message);
      return TRUE;
    }
  if (device->fahrenheit)
    reading = read_fahrenheit (self, device, message, node);
  else
    reading = hg_sensor_adapter_read_value (device, self->domain, device->kind, node,
                                            hg_sensor_path_get_last_name (paths->path), message);
  if (reading == NULL)
    return TRUE;
  reading->battery = battery;
  if (battery >= 0)
    device->battery = battery;
  g_ptr_array_add (readings, reading);
  hg_sensor_adapter_accept (device, message, readings, readings->len - 1);
  return TRUE;
}

static void
hg_mqtt_json_adapter_iface_init (HgSensorAdapterInterface *iface)
{
  iface->get_subscriptions = hg_mqtt_json_adapter_get_subscriptions;
  iface->handle_message = hg_mqtt_json_adapter_handle_message;
}

static void
hg_mqtt_json_adapter_finalize (GObject *object)
{
  HgMqttJsonAdapter *self = HG_MQTT_JSON_ADAPTER (object);

  g_object_unref (self->registry);
  g_hash_table_unref (self->paths);
  G_OBJECT_CLASS (hg_mqtt_json_adapter_parent_class)->finalize (object);
}

static void
hg_mqtt_json_adapter_class_init (HgMqttJsonAdapterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hg_mqtt_json_adapter_finalize;
}

static void
hg_mqtt_json_adapter_init (HgMqttJsonAdapter *self)
{
  self->paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) paths_free);
}

/**
 * hg_mqtt_json_adapter_new:
 * @registry: the instance's devices, already loaded (their paths were checked there)
 * @domain: the instance's domain
 * @max_payload: the largest message accepted
 *
 * Returns: (transfer full): a new adapter
 */
HgMqttJsonAdapter *
hg_mqtt_json_adapter_new (HgSensorRegistry *registry,
                          HgDomain domain,
                          gsize max_payload)
{
  HgMqttJsonAdapter *self = g_object_new (HG_TYPE_MQTT_JSON_ADAPTER, NULL);
  GPtrArray *devices = hg_sensor_registry_get_devices (registry);

  self->registry = g_object_ref (registry);
  self->domain = domain;
  self->max_payload = max_payload;
  for (guint i = 0; i < devices->len; i++)
    {
      HgSensorDevice *device = g_ptr_array_index (devices, i);
      Paths *paths;

      if (device->source != HG_SENSOR_SOURCE_MQTT)
        continue;
      paths = g_new0 (Paths, 1);
      /* checked by hg_sensor_registry_load(), so these cannot fail */
      paths->path = hg_sensor_path_new (device->path, NULL);
      if (device->battery_path != NULL)
        paths->battery_path = hg_sensor_path_new (device->battery_path, NULL);
      g_hash_table_insert (self->paths, g_strdup (device->id), paths);
    }
  return self;
}
