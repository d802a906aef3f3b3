/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgChirpstackAdapter: reads the ChirpStack v4 MQTT integration (JSON encoding).
 *
 *   application/<application_id>/device/<dev_eui>/event/up      uplink; `object` holds the
 *                                                               payload as the device
 *                                                               profile's codec decoded it
 *   application/<application_id>/device/<dev_eui>/event/status  `batteryLevel`, `margin`
 *
 * What `object` holds depends on the codec, so which member is which reading is
 * configuration: a profile `profile.<name>.<kind> = <path in object>` per device type, or,
 * for a device without one, `object.<kind>` for its own kind and `object.battery`. The
 * DevEUI in the topic must be the one in `deviceInfo`, so one device cannot speak for
 * another. */
#include "hg-chirpstack-adapter.h"

#include "hg-sensor-path.h"

#define MAX_PROFILE_NAME 64
#define MAX_APPLICATION 64

typedef struct
{
  HgSensorKind kind;
  HgSensorPath *path; /* (owned) within `object` */
} Mapping;

struct _HgChirpstackAdapter
{
  GObject parent_instance;
  HgSensorRegistry *registry; /* (owned) */
  HgDomain domain;
  gchar *application; /* (owned) an application id, or "+" for any */
  gsize max_payload;
  GHashTable *profiles; /* (owned) name -> GArray of Mapping */
};

static void hg_chirpstack_adapter_iface_init (HgSensorAdapterInterface *iface);

G_DEFINE_TYPE_WITH_CODE (HgChirpstackAdapter,
                         hg_chirpstack_adapter,
                         G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (HG_TYPE_SENSOR_ADAPTER,
                                                hg_chirpstack_adapter_iface_init))

static void
mapping_clear (gpointer data)
{
  Mapping *mapping = data;

  g_clear_pointer (&mapping->path, hg_sensor_path_free);
}

static gboolean
name_is_valid (const gchar *name,
               gsize max)
{
  gsize len = strlen (name);

  if (len == 0 || len > max)
    return FALSE;
  for (const gchar *p = name; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-')
        return FALSE;
    }
  return TRUE;
}

/* One topic level: ChirpStack's application ids are UUIDs; `+` takes every application. */
gboolean
hg_chirpstack_adapter_application_is_valid (const gchar *application,
                                            GError **error)
{
  if (g_strcmp0 (application, "+") == 0 || name_is_valid (application, MAX_APPLICATION))
    return TRUE;
  g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
               "'%s' is not an application id (letters, digits, '-' and '_') or '+'", application);
  return FALSE;
}

/**
 * hg_chirpstack_adapter_load_profiles:
 * @self: an adapter
 * @config: the instance's configuration
 * @error: return location for a #GError
 *
 * Reads the `profile.<name>.<kind>` keys, then checks that every ChirpStack device's
 * `profile` names one of them.
 *
 * Returns: %TRUE if all are well formed, else %FALSE with %HG_ERROR_INVALID_DATA naming
 *   the key
 */
gboolean
hg_chirpstack_adapter_load_profiles (HgChirpstackAdapter *self,
                                     HgConfig *config,
                                     GError **error)
{
  g_auto(GStrv) keys = hg_config_get_keys (config);
  GPtrArray *devices = hg_sensor_registry_get_devices (self->registry);

  for (guint i = 0; keys[i] != NULL; i++)
    {
      const gchar *rest;
      const gchar *dot;
      g_autofree gchar *name = NULL;
      g_autoptr(GError) error_local = NULL;
      GArray *mappings;
      Mapping mapping = { 0 };

      if (!g_str_has_prefix (keys[i], "profile."))
        continue;
      rest = keys[i] + strlen ("profile.");
      dot = strchr (rest, '.');
      if (dot == NULL)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       "key '%s': profile keys are profile.<name>.<kind>", keys[i]);
          return FALSE;
        }
      name = g_strndup (rest, dot - rest);
      if (!name_is_valid (name, MAX_PROFILE_NAME))
        {
          g_set_error (
              error, HG_ERROR, HG_ERROR_INVALID_DATA,
              "key '%s': profile name '%s' must be 1 to 64 of letters, digits, '_' and '-'",
              keys[i], name);
          return FALSE;
        }
      if (!hg_sensor_kind_from_string (dot + 1, &mapping.kind)
          || mapping.kind == HG_SENSOR_KIND_AVAILABILITY)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       "key '%s': '%s' is not a reading kind", keys[i], dot + 1);
          return FALSE;
        }
      mapping.path = hg_sensor_path_new (hg_config_get_string (config, keys[i], ""), &error_local);
      if (mapping.path == NULL)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "key '%s': %s", keys[i],
                       error_local->message);
          return FALSE;
        }
      mappings = g_hash_table_lookup (self->profiles, name);
      if (mappings == NULL)
        {
          mappings = g_array_new (FALSE, TRUE, sizeof (Mapping));
          g_array_set_clear_func (mappings, mapping_clear);
          g_hash_table_insert (self->profiles, g_steal_pointer (&name), mappings);
        }
      g_array_append_val (mappings, mapping);
    }
  for (guint i = 0; i < devices->len; i++)
    {
      HgSensorDevice *device = g_ptr_array_index (devices, i);

      if (device->source == HG_SENSOR_SOURCE_CHIRPSTACK && device->profile != NULL
          && !g_hash_table_contains (self->profiles, device->profile))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       "key 'device.%s.profile': no profile '%s' (profile.%s.<kind> keys)",
                       device->id, device->profile, device->profile);
          return FALSE;
        }
    }
  return TRUE;
}

static GStrv
hg_chirpstack_adapter_get_subscriptions (HgSensorAdapter *adapter)
{
  HgChirpstackAdapter *self = HG_CHIRPSTACK_ADAPTER (adapter);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  GPtrArray *devices = hg_sensor_registry_get_devices (self->registry);

  for (guint i = 0; i < devices->len; i++)
    {
      HgSensorDevice *device = g_ptr_array_index (devices, i);

      if (device->source == HG_SENSOR_SOURCE_CHIRPSTACK)
        {
          g_autofree gchar *up
              = g_strdup_printf ("application/%s/device/+/event/up", self->application);
          g_autofree gchar *status
              = g_strdup_printf ("application/%s/device/+/event/status", self->application);
          g_strv_builder_add (builder, up);
          g_strv_builder_add (builder, status);
          break;
        }
    }
  return g_strv_builder_end (builder);
}

/* The `deviceInfo.devEui` of an event must be the topic's. */
static gboolean
check_dev_eui (HgSensorDevice *device,
               JsonObject *object)
{
  g_autoptr(GError) error = NULL;
  JsonObject *info = NULL;
  const gchar *dev_eui = NULL;

  if (!hg_json_object_get_object (object, "deviceInfo", &info, &error)
      || !hg_json_object_get_string (info, "devEui", &dev_eui, &error)
      || g_ascii_strcasecmp (dev_eui, device->dev_eui) != 0)
    {
      hg_sensor_device_drop (device, HG_SENSOR_DROP_WRONG_SHAPE);
      g_debug ("device %s: event dropped: %s", device->id,
               error != NULL ? error->message : "deviceInfo.devEui is another device's");
      return FALSE;
    }
  return TRUE;
}

static void
add_reading (HgChirpstackAdapter *self,
             HgSensorDevice *device,
             const HgSensorMessage *message,
             HgSensorKind kind,
             JsonNode *node,
             const gchar *member,
             gint *battery,
             GPtrArray *readings)
{
  HgSensorReading *reading;

  if (kind == HG_SENSOR_KIND_BATTERY)
    {
      hg_sensor_adapter_read_battery (device, node, member, battery);
      return;
    }
  reading = hg_sensor_adapter_read_value (device, self->domain, kind, node, member, message);
  if (reading != NULL)
    g_ptr_array_add (readings, reading);
}

/* Adds a battery reading if the event had nothing else, and the battery to all. */
static void
finish_readings (HgChirpstackAdapter *self,
                 HgSensorDevice *device,
                 const HgSensorMessage *message,
                 gint battery,
                 GPtrArray *readings,
                 guint first)
{
  if (readings->len == first && battery >= 0)
    {
      HgSensorReading *reading
          = hg_sensor_reading_new (device->id, self->domain, HG_SENSOR_KIND_BATTERY, message->now);
      hg_sensor_reading_set_number (reading, battery);
      reading->retained = message->retained;
      g_ptr_array_add (readings, reading);
    }
  for (guint i = first; i < readings->len; i++)
    ((HgSensorReading *) g_ptr_array_index (readings, i))->battery = battery;
  if (battery >= 0)
    device->battery = battery;
  hg_sensor_adapter_accept (device, message, readings, first);
}

static void
handle_up (HgChirpstackAdapter *self,
           HgSensorDevice *device,
           const HgSensorMessage *message,
           GPtrArray *readings)
{
  g_autoptr(JsonObject) event
      = hg_sensor_adapter_parse_object (device, message, self->max_payload);
  g_autoptr(GError) error = NULL;
  JsonObject *object = NULL;
  guint first = readings->len;
  gint battery = -1;

  if (event == NULL || !check_dev_eui (device, event))
    return;
  if (!hg_json_object_get_object (event, "object", &object, &error))
    {
      /* no codec on the device profile, or a frame it could not decode */
      hg_sensor_device_drop (device, HG_SENSOR_DROP_WRONG_SHAPE);
      g_debug ("device %s: uplink dropped: %s", device->id, error->message);
      return;
    }
  if (device->profile != NULL)
    {
      GArray *mappings = g_hash_table_lookup (self->profiles, device->profile);

      for (guint i = 0; mappings != NULL && i < mappings->len; i++)
        {
          Mapping *mapping = &g_array_index (mappings, Mapping, i);
          g_autoptr(GError) error_local = NULL;
          JsonNode *node = hg_sensor_path_lookup (mapping->path, object, &error_local);

          /* one frame type of a device need not carry every value of its profile */
          if (node == NULL || JSON_NODE_HOLDS_NULL (node))
            continue;
          add_reading (self, device, message, mapping->kind, node,
                       hg_sensor_path_get_last_name (mapping->path), &battery, readings);
        }
    }
  else
    {
      const gchar *member = hg_sensor_kind_to_string (device->kind);
      JsonNode *node = json_object_get_member (object, member);

      if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
        add_reading (self, device, message, device->kind, node, member, &battery, readings);
      node = json_object_get_member (object, "battery");
      if (device->kind != HG_SENSOR_KIND_BATTERY && node != NULL && !JSON_NODE_HOLDS_NULL (node))
        add_reading (self, device, message, HG_SENSOR_KIND_BATTERY, node, "battery", &battery,
                     readings);
    }
  finish_readings (self, device, message, battery, readings, first);
}

static void
handle_status (HgChirpstackAdapter *self,
               HgSensorDevice *device,
               const HgSensorMessage *message,
               GPtrArray *readings)
{
  g_autoptr(JsonObject) event
      = hg_sensor_adapter_parse_object (device, message, self->max_payload);
  JsonNode *node;
  gint battery = -1;

  if (event == NULL || !check_dev_eui (device, event))
    return;
  node = json_object_get_member (event, "batteryLevelUnavailable");
  if (node != NULL && JSON_NODE_HOLDS_VALUE (node)
      && json_node_get_value_type (node) == G_TYPE_BOOLEAN && json_node_get_boolean (node))
    node = NULL;
  else
    node = json_object_get_member (event, "batteryLevel");
  if (node != NULL)
    hg_sensor_adapter_read_battery (device, node, "batteryLevel", &battery);
  finish_readings (self, device, message, battery, readings, readings->len);
}

static gboolean
hg_chirpstack_adapter_handle_message (HgSensorAdapter *adapter,
                                      const HgSensorMessage *message,
                                      GPtrArray *readings)
{
  HgChirpstackAdapter *self = HG_CHIRPSTACK_ADAPTER (adapter);
  g_auto(GStrv) levels = NULL;
  g_autofree gchar *dev_eui = NULL;
  HgSensorDevice *device;

  if (!g_str_has_prefix (message->topic, "application/"))
    return FALSE;
  levels = g_strsplit (message->topic, "/", 7);
  if (g_strv_length (levels) != 6 || g_strcmp0 (levels[2], "device") != 0
      || g_strcmp0 (levels[4], "event") != 0
      || (g_strcmp0 (self->application, "+") != 0 && g_strcmp0 (levels[1], self->application) != 0))
    return FALSE;
  if (g_strcmp0 (levels[5], "up") != 0 && g_strcmp0 (levels[5], "status") != 0)
    return TRUE; /* join, ack, txack, log, location, integration: not readings */
  dev_eui = g_ascii_strdown (levels[3], -1);
  device = hg_sensor_registry_lookup_dev_eui (self->registry, dev_eui);
  if (device == NULL)
    {
      hg_sensor_registry_count_unknown (self->registry, HG_SENSOR_SOURCE_CHIRPSTACK, dev_eui);
      return TRUE;
    }
  if (g_strcmp0 (levels[5], "up") == 0)
    handle_up (self, device, message, readings);
  else
    handle_status (self, device, message, readings);
  return TRUE;
}

static void
hg_chirpstack_adapter_iface_init (HgSensorAdapterInterface *iface)
{
  iface->get_subscriptions = hg_chirpstack_adapter_get_subscriptions;
  iface->handle_message = hg_chirpstack_adapter_handle_message;
}

static void
hg_chirpstack_adapter_finalize (GObject *object)
{
  HgChirpstackAdapter *self = HG_CHIRPSTACK_ADAPTER (object);

  g_object_unref (self->registry);
  g_free (self->application);
  g_hash_table_unref (self->profiles);
  G_OBJECT_CLASS (hg_chirpstack_adapter_parent_class)->finalize (object);
}

static void
hg_chirpstack_adapter_class_init (HgChirpstackAdapterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hg_chirpstack_adapter_finalize;
}

static void
hg_chirpstack_adapter_init (HgChirpstackAdapter *self)
{
  self->profiles
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
}

/**
 * hg_chirpstack_adapter_new:
 * @registry: the instance's devices
 * @domain: the instance's domain
 * @application: the application id, or `+`, checked with
 *   hg_chirpstack_adapter_application_is_valid()
 * @max_payload: the largest event accepted
 *
 * Returns: (transfer full): a new adapter; load its profiles before use
 */
HgChirpstackAdapter *
hg_chirpstack_adapter_new (HgSensorRegistry *registry,
                           HgDomain domain,
                           const gchar *application,
                           gsize max_payload)
{
  HgChirpstackAdapter *self = g_object_new (HG_TYPE_CHIRPSTACK_ADAPTER, NULL);

  self->registry = g_object_ref (registry);
  self->domain = domain;
  self->application = g_strdup (application);
  self->max_payload = max_payload;
  return self;
}
