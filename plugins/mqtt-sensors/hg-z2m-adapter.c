/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgZ2mAdapter: reads the Zigbee2MQTT MQTT API.
 *
 *   <base>/<friendly_name>               flat JSON state: {"contact":false,"battery":97,...}
 *   <base>/<friendly_name>/availability  {"state":"online"} or, before 1.30, bare `online`
 *   <base>/bridge/devices                retained JSON array of the paired devices
 *
 * Each known state property of a registered device becomes one reading; `battery` and
 * `linkquality` ride along on all of them. A property of the wrong type or an absurd
 * value is counted on the device and skipped, and the message's other properties still
 * count, so a broken temperature field never hides a water leak. By default only the
 * registered devices' topics are subscribed (data minimisation: the instance of one
 * domain never receives the other's devices); `z2m-subscribe = all` takes `<base>/#` and
 * counts what comes from unregistered names. */
#include "hg-z2m-adapter.h"

/* Properties of a state message that are readings, in Zigbee2MQTT's names. */
static const struct
{
  const gchar *property;
  HgSensorKind kind;
} properties[] = {
  { "occupancy", HG_SENSOR_KIND_OCCUPANCY },
  { "presence", HG_SENSOR_KIND_OCCUPANCY },
  { "contact", HG_SENSOR_KIND_CONTACT },
  { "water_leak", HG_SENSOR_KIND_WATER_LEAK },
  { "smoke", HG_SENSOR_KIND_SMOKE },
  { "tamper", HG_SENSOR_KIND_TAMPER },
  { "vibration", HG_SENSOR_KIND_VIBRATION },
  { "fall", HG_SENSOR_KIND_FALL },
  { "battery_low", HG_SENSOR_KIND_BATTERY_LOW },
  { "action", HG_SENSOR_KIND_ACTION },
  { "temperature", HG_SENSOR_KIND_TEMPERATURE },
  { "humidity", HG_SENSOR_KIND_HUMIDITY },
  { "illuminance_lux", HG_SENSOR_KIND_ILLUMINANCE },
  { "illuminance", HG_SENSOR_KIND_ILLUMINANCE },
};

#define AVAILABILITY_SUFFIX "/availability"
#define MAX_BASE_TOPIC 64

struct _HgZ2mAdapter
{
  GObject parent_instance;
  HgSensorRegistry *registry; /* (owned) */
  HgDomain domain;
  gchar *base;   /* (owned) e.g. `zigbee2mqtt` */
  gchar *prefix; /* (owned) base + "/" */
  gboolean subscribe_all;
  gsize max_payload;
  gsize max_bridge_payload;
  /* what bridge/devices said */
  guint bridge_lists;        /* accepted device lists */
  guint bridge_rejected;     /* device lists that were not a JSON array of objects */
  guint bridge_devices;      /* entries in the last accepted list */
  guint bridge_unregistered; /* ... naming no registered device */
  guint bridge_invalid;      /* ... whose friendly name cannot be a topic */
};

static void hg_z2m_adapter_iface_init (HgSensorAdapterInterface *iface);

G_DEFINE_TYPE_WITH_CODE (HgZ2mAdapter,
                         hg_z2m_adapter,
                         G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (HG_TYPE_SENSOR_ADAPTER, hg_z2m_adapter_iface_init))

/* The base topic is one or more topic levels, without wildcards. */
gboolean
hg_z2m_adapter_base_topic_is_valid (const gchar *base_topic,
                                    GError **error)
{
  g_autoptr(GError) error_local = NULL;

  if (strlen (base_topic) > MAX_BASE_TOPIC || !hg_sensor_topic_is_valid (base_topic, &error_local))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "'%s' is not a base topic: %s",
                   base_topic, error_local != NULL ? error_local->message : "longer than 64 bytes");
      return FALSE;
    }
  return TRUE;
}

static GStrv
hg_z2m_adapter_get_subscriptions (HgSensorAdapter *adapter)
{
  HgZ2mAdapter *self = HG_Z2M_ADAPTER (adapter);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  GPtrArray *devices = hg_sensor_registry_get_devices (self->registry);
  gboolean any = FALSE;

  for (guint i = 0; i < devices->len; i++)
    {
      HgSensorDevice *device = g_ptr_array_index (devices, i);
      g_autofree gchar *state = NULL;
      g_autofree gchar *availability = NULL;

      if (device->source != HG_SENSOR_SOURCE_Z2M)
        continue;
      any = TRUE;
      if (self->subscribe_all)
        continue;
      state = g_strconcat (self->prefix, device->topic, NULL);
      availability = g_strconcat (state, AVAILABILITY_SUFFIX, NULL);
      g_strv_builder_add (builder, state);
      g_strv_builder_add (builder, availability);
    }
  if (any && self->subscribe_all)
    {
      g_autofree gchar *all = g_strconcat (self->prefix, "#", NULL);
      g_strv_builder_add (builder, all);
    }
  else if (any)
    {
      g_autofree gchar *bridge = g_strconcat (self->prefix, "bridge/devices", NULL);
      g_strv_builder_add (builder, bridge);
    }
  return g_strv_builder_end (builder);
}

/* A device state message: one reading per known property. */
static void
handle_state (HgZ2mAdapter *self,
              HgSensorDevice *device,
              const HgSensorMessage *message,
              GPtrArray *readings)
{
  g_autoptr(JsonObject) object
      = hg_sensor_adapter_parse_object (device, message, self->max_payload);
  guint first = readings->len;
  gint battery = -1;
  gint link_quality = -1;
  gboolean have_illuminance = FALSE;
  JsonNode *node;

  if (object == NULL)
    return;
  node = json_object_get_member (object, "battery");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
    hg_sensor_adapter_read_battery (device, node, "battery", &battery);
  node = json_object_get_member (object, "linkquality");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
    {
      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64
          && json_node_get_int (node) >= 0 && json_node_get_int (node) <= 255)
        link_quality = (gint) json_node_get_int (node);
      else
        hg_sensor_device_drop (device, HG_SENSOR_DROP_WRONG_SHAPE);
    }

  for (guint i = 0; i < G_N_ELEMENTS (properties); i++)
    {
      HgSensorReading *reading;

      node = json_object_get_member (object, properties[i].property);
      /* null: Zigbee2MQTT does not know the value yet */
      if (node == NULL || JSON_NODE_HOLDS_NULL (node))
        continue;
      if (properties[i].kind == HG_SENSOR_KIND_ILLUMINANCE && have_illuminance)
        continue;
      /* "": the legacy empty action sent after every button event */
      if (properties[i].kind == HG_SENSOR_KIND_ACTION && JSON_NODE_HOLDS_VALUE (node)
          && json_node_get_value_type (node) == G_TYPE_STRING
          && json_node_get_string (node)[0] == '\0')
        continue;
      reading = hg_sensor_adapter_read_value (device, self->domain, properties[i].kind, node,
                                              properties[i].property, message);
      if (reading == NULL)
        continue;
      have_illuminance = have_illuminance || properties[i].kind == HG_SENSOR_KIND_ILLUMINANCE;
      g_ptr_array_add (readings, reading);
    }
  if (readings->len == first && battery >= 0)
    {
      HgSensorReading *reading
          = hg_sensor_reading_new (device->id, self->domain, HG_SENSOR_KIND_BATTERY, message->now);
      hg_sensor_reading_set_number (reading, battery);
      reading->retained = message->retained;
      g_ptr_array_add (readings, reading);
    }
  for (guint i = first; i < readings->len; i++)
    {
      HgSensorReading *reading = g_ptr_array_index (readings, i);
      reading->battery = battery;
      reading->link_quality = link_quality;
    }
  if (battery >= 0)
    device->battery = battery;
  hg_sensor_adapter_accept (device, message, readings, first);
}

/* `{"state":"online"}`, or the bare word of Zigbee2MQTT before 1.30. */
static void
handle_availability (HgZ2mAdapter *self,
                     HgSensorDevice *device,
                     const HgSensorMessage *message,
                     GPtrArray *readings)
{
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HgSensorReading) reading = NULL;
  const gchar *state = NULL;
  gboolean online;

  if (message->length == strlen ("online")
      && memcmp (message->payload, "online", message->length) == 0)
    {
      device->messages++;
      online = TRUE;
    }
  else if (message->length == strlen ("offline")
           && memcmp (message->payload, "offline", message->length) == 0)
    {
      device->messages++;
      online = FALSE;
    }
  else
    {
      object = hg_sensor_adapter_parse_object (device, message, self->max_payload);
      if (object == NULL)
        return;
      if (!hg_json_object_get_string (object, "state", &state, &error)
          || (g_strcmp0 (state, "online") != 0 && g_strcmp0 (state, "offline") != 0))
        {
          hg_sensor_device_drop (device, HG_SENSOR_DROP_WRONG_SHAPE);
          g_debug ("device %s: availability dropped: %s", device->id,
                   error != NULL ? error->message : "state is not online or offline");
          return;
        }
      online = g_strcmp0 (state, "online") == 0;
    }
  reading
      = hg_sensor_reading_new (device->id, self->domain, HG_SENSOR_KIND_AVAILABILITY, message->now);
  hg_sensor_reading_set_boolean (reading, online);
  reading->retained = message->retained;
  device->availability_known = TRUE;
  device->online = online;
  g_ptr_array_add (readings, g_steal_pointer (&reading));
  /* "offline" is the bridge speaking, not the device: it does not count as heard from */
  if (online)
    hg_sensor_adapter_accept (device, message, readings, readings->len - 1);
}

/* The bridge's list of paired devices: notes which registered devices it has, and counts
 * entries it lists that nobody registered or that no topic could name. */
static void
handle_bridge_devices (HgZ2mAdapter *self,
                       const HgSensorMessage *message)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) error = NULL;
  GPtrArray *devices = hg_sensor_registry_get_devices (self->registry);
  JsonNode *root;
  JsonArray *array;
  guint n;

  if (message->length > self->max_bridge_payload || message->length == 0
      || !g_utf8_validate (message->payload, (gssize) message->length, NULL)
      || !json_parser_load_from_data (parser, message->payload, (gssize) message->length, &error)
      || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    {
      self->bridge_rejected++;
      g_debug ("bridge/devices dropped: not a JSON array within %" G_GSIZE_FORMAT " bytes",
               self->max_bridge_payload);
      return;
    }
  array = json_node_get_array (root);
  n = json_array_get_length (array);
  for (guint i = 0; i < devices->len; i++)
    ((HgSensorDevice *) g_ptr_array_index (devices, i))->bridge_listed = FALSE;
  self->bridge_lists++;
  self->bridge_devices = 0;
  self->bridge_unregistered = 0;
  self->bridge_invalid = 0;
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      const gchar *name = NULL;
      const gchar *type = NULL;
      HgSensorDevice *device;

      if (!JSON_NODE_HOLDS_OBJECT (node)
          || !hg_json_object_get_string (json_node_get_object (node), "friendly_name", &name, NULL)
          || !hg_json_object_get_optional_string (json_node_get_object (node), "type", &type, NULL))
        {
          self->bridge_invalid++;
          continue;
        }
      if (g_strcmp0 (type, "Coordinator") == 0)
        continue;
      self->bridge_devices++;
      if (!hg_sensor_friendly_name_is_valid (name, NULL))
        {
          self->bridge_invalid++;
          continue;
        }
      device = hg_sensor_registry_lookup_z2m (self->registry, name);
      if (device == NULL)
        self->bridge_unregistered++;
      else
        device->bridge_listed = TRUE;
    }
  for (guint i = 0; i < devices->len; i++)
    {
      HgSensorDevice *device = g_ptr_array_index (devices, i);
      if (device->source == HG_SENSOR_SOURCE_Z2M && !device->bridge_listed)
        g_message ("device %s is not paired with Zigbee2MQTT (not in bridge/devices)", device->id);
    }
}

static gboolean
hg_z2m_adapter_handle_message (HgSensorAdapter *adapter,
                               const HgSensorMessage *message,
                               GPtrArray *readings)
{
  HgZ2mAdapter *self = HG_Z2M_ADAPTER (adapter);
  g_autofree gchar *name = NULL;
  const gchar *rest;
  gboolean availability = FALSE;
  HgSensorDevice *device;

  if (!g_str_has_prefix (message->topic, self->prefix))
    return FALSE;
  rest = message->topic + strlen (self->prefix);
  if (g_strcmp0 (rest, "bridge/devices") == 0)
    {
      handle_bridge_devices (self, message);
      return TRUE;
    }
  /* the bridge's other topics, and commands to devices, are not readings */
  if (g_str_has_prefix (rest, "bridge/") || g_str_has_suffix (rest, "/set")
      || g_str_has_suffix (rest, "/get"))
    return TRUE;
  if (g_str_has_suffix (rest, AVAILABILITY_SUFFIX))
    {
      availability = TRUE;
      name = g_strndup (rest, strlen (rest) - strlen (AVAILABILITY_SUFFIX));
    }
  else
    {
      name = g_strdup (rest);
    }
  device = hg_sensor_registry_lookup_z2m (self->registry, name);
  if (device == NULL)
    {
      hg_sensor_registry_count_unknown (self->registry, HG_SENSOR_SOURCE_Z2M, name);
      return TRUE;
    }
  if (availability)
    handle_availability (self, device, message, readings);
  else
    handle_state (self, device, message, readings);
  return TRUE;
}

static void
hg_z2m_adapter_add_health (HgSensorAdapter *adapter,
                           JsonObject *health)
{
  HgZ2mAdapter *self = HG_Z2M_ADAPTER (adapter);
  JsonObject *bridge = json_object_new ();

  json_object_set_int_member (bridge, "lists", self->bridge_lists);
  json_object_set_int_member (bridge, "rejected", self->bridge_rejected);
  json_object_set_int_member (bridge, "devices", self->bridge_devices);
  json_object_set_int_member (bridge, "unregistered", self->bridge_unregistered);
  json_object_set_int_member (bridge, "invalid", self->bridge_invalid);
  json_object_set_object_member (health, "z2m-bridge", bridge);
}

static void
hg_z2m_adapter_iface_init (HgSensorAdapterInterface *iface)
{
  iface->get_subscriptions = hg_z2m_adapter_get_subscriptions;
  iface->handle_message = hg_z2m_adapter_handle_message;
  iface->add_health = hg_z2m_adapter_add_health;
}

static void
hg_z2m_adapter_finalize (GObject *object)
{
  HgZ2mAdapter *self = HG_Z2M_ADAPTER (object);

  g_object_unref (self->registry);
  g_free (self->base);
  g_free (self->prefix);
  G_OBJECT_CLASS (hg_z2m_adapter_parent_class)->finalize (object);
}

static void
hg_z2m_adapter_class_init (HgZ2mAdapterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hg_z2m_adapter_finalize;
}

static void
hg_z2m_adapter_init (HgZ2mAdapter *self)
{
}

/**
 * hg_z2m_adapter_new:
 * @registry: the instance's devices
 * @domain: the instance's domain
 * @base_topic: Zigbee2MQTT's base topic, checked with hg_z2m_adapter_base_topic_is_valid()
 * @subscribe_all: take `<base>/#` instead of the registered devices' topics
 * @max_payload: the largest device message accepted
 * @max_bridge_payload: the largest bridge/devices list accepted
 *
 * Returns: (transfer full): a new adapter
 */
HgZ2mAdapter *
hg_z2m_adapter_new (HgSensorRegistry *registry,
                    HgDomain domain,
                    const gchar *base_topic,
                    gboolean subscribe_all,
                    gsize max_payload,
                    gsize max_bridge_payload)
{
  HgZ2mAdapter *self = g_object_new (HG_TYPE_Z2M_ADAPTER, NULL);

  self->registry = g_object_ref (registry);
  self->domain = domain;
  self->base = g_strdup (base_topic);
  self->prefix = g_strconcat (base_topic, "/", NULL);
  self->subscribe_all = subscribe_all;
  self->max_payload = max_payload;
  self->max_bridge_payload = max_bridge_payload;
  return self;
}
