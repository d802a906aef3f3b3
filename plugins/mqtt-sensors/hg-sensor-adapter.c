/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgSensorAdapter: dispatch to the implementation, and the checks every adapter makes the
 * same way: the size limit, a JSON object root, and values read through the kind table,
 * each failure counted on the device under its reason and never fatal to the others. */
#include "hg-sensor-adapter.h"

G_DEFINE_INTERFACE (HgSensorAdapter, hg_sensor_adapter, G_TYPE_OBJECT)

static void
hg_sensor_adapter_default_init (HgSensorAdapterInterface *iface)
{
}

/* Returns: (transfer full): the topic filters to subscribe to */
GStrv
hg_sensor_adapter_get_subscriptions (HgSensorAdapter *self)
{
  g_return_val_if_fail (HG_IS_SENSOR_ADAPTER (self), NULL);
  return HG_SENSOR_ADAPTER_GET_IFACE (self)->get_subscriptions (self);
}

/**
 * hg_sensor_adapter_handle_message:
 * @self: an adapter
 * @message: the message
 * @readings: (element-type HgSensorReading): where to add the readings it holds
 *
 * Returns: %TRUE if the topic is the adapter's (whether or not the message was usable)
 */
gboolean
hg_sensor_adapter_handle_message (HgSensorAdapter *self,
                                  const HgSensorMessage *message,
                                  GPtrArray *readings)
{
  g_return_val_if_fail (HG_IS_SENSOR_ADAPTER (self), FALSE);
  return HG_SENSOR_ADAPTER_GET_IFACE (self)->handle_message (self, message, readings);
}

/* Adds what the adapter counts beyond the devices' own counters to @health. */
void
hg_sensor_adapter_add_health (HgSensorAdapter *self,
                              JsonObject *health)
{
  HgSensorAdapterInterface *iface;

  g_return_if_fail (HG_IS_SENSOR_ADAPTER (self));
  iface = HG_SENSOR_ADAPTER_GET_IFACE (self);
  if (iface->add_health != NULL)
    iface->add_health (self, health);
}

/**
 * hg_sensor_adapter_parse_object:
 * @device: the device the topic names
 * @message: its message
 * @max_length: the size limit
 *
 * Counts the message on @device, then parses it as a JSON object.
 *
 * Returns: (transfer full) (nullable): the object, or %NULL having counted why not
 */
JsonObject *
hg_sensor_adapter_parse_object (HgSensorDevice *device,
                                const HgSensorMessage *message,
                                gsize max_length)
{
  g_autoptr(GError) error = NULL;
  JsonObject *object;

  device->messages++;
  if (message->length > max_length)
    {
      hg_sensor_device_drop (device, HG_SENSOR_DROP_TOO_LARGE);
      g_debug ("device %s: %" G_GSIZE_FORMAT "-byte message dropped", device->id, message->length);
      return NULL;
    }
  object = hg_json_parse_object (message->payload, (gssize) message->length, max_length, &error);
  if (object == NULL)
    {
      hg_sensor_device_drop (device, HG_SENSOR_DROP_NOT_JSON);
      g_debug ("device %s: message dropped: %s", device->id, error->message);
    }
  return object;
}

static void
count_value_error (HgSensorDevice *device,
                   const GError *error)
{
  if (g_error_matches (error, HG_SENSOR_READING_ERROR, HG_SENSOR_READING_ERROR_OUT_OF_RANGE))
    hg_sensor_device_drop (device, HG_SENSOR_DROP_OUT_OF_RANGE);
  else
    hg_sensor_device_drop (device, HG_SENSOR_DROP_WRONG_SHAPE);
  g_debug ("device %s: value dropped: %s", device->id, error->message);
}

/**
 * hg_sensor_adapter_read_value:
 * @device: the device
 * @domain: the instance's domain
 * @kind: what @node holds
 * @node: the value, from untrusted JSON
 * @member: its name, for the error
 * @message: the message it came in
 *
 * Returns: (transfer full) (nullable): a reading, or %NULL having counted a wrong type or
 *   an absurd value on @device
 */
HgSensorReading *
hg_sensor_adapter_read_value (HgSensorDevice *device,
                              HgDomain domain,
                              HgSensorKind kind,
                              JsonNode *node,
                              const gchar *member,
                              const HgSensorMessage *message)
{
  g_autoptr(HgSensorReading) reading
      = hg_sensor_reading_new (device->id, domain, kind, message->now);
  g_autoptr(GError) error = NULL;

  if (!hg_sensor_reading_set_value_from_json (reading, node, member, &error))
    {
      count_value_error (device, error);
      return NULL;
    }
  reading->retained = message->retained;
  return g_steal_pointer (&reading);
}

/* Reads a battery percentage; an absurd one is counted and ignored (the other values of
 * the message still count). */
gboolean
hg_sensor_adapter_read_battery (HgSensorDevice *device,
                                JsonNode *node,
                                const gchar *member,
                                gint *battery)
{
  g_autoptr(HgSensorReading) reading
      = hg_sensor_reading_new (device->id, HG_DOMAIN_MUNICIPAL, HG_SENSOR_KIND_BATTERY, 0);
  g_autoptr(GError) error = NULL;

  if (!hg_sensor_reading_set_value_from_json (reading, node, member, &error))
    {
      count_value_error (device, error);
      return FALSE;
    }
  *battery = (gint) (reading->number + 0.5);
  return TRUE;
}

/* Marks @device as heard from and counts the readings from index @first on. */
void
hg_sensor_adapter_accept (HgSensorDevice *device,
                          const HgSensorMessage *message,
                          GPtrArray *readings,
                          guint first)
{
  device->last_seen = message->now;
  device->readings += readings->len - first;
}
