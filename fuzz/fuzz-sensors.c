/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: one MQTT message, as a sensor plugin receives it from the broker, through
 * the mqtt-sensors adapters (Zigbee2MQTT, ChirpStack, generic JSON) and rules. The input
 * is the topic, a newline, then the payload. Every reading that comes out must be within
 * its kind's range and survive its JSON form. */
#include <hemgate-plugin.h>
#include <string.h>

#include "hg-chirpstack-adapter.h"
#include "hg-mqtt-json-adapter.h"
#include "hg-sensor-rules.h"
#include "hg-z2m-adapter.h"

#include "fuzz.h"

static const gchar *const config_pairs[] = {
  "device.door.source",
  "z2m",
  "device.door.kind",
  "contact",
  "device.door.topic",
  "hall/door",
  "device.leak.source",
  "z2m",
  "device.leak.kind",
  "water_leak",
  "device.button.source",
  "z2m",
  "device.button.kind",
  "action",
  "device.climate.source",
  "chirpstack",
  "device.climate.kind",
  "temperature",
  "device.climate.dev-eui",
  "a84041000181c5c1",
  "device.climate.profile",
  "elsys",
  "device.plain.source",
  "chirpstack",
  "device.plain.kind",
  "smoke",
  "device.plain.dev-eui",
  "0011223344556677",
  "device.meter.source",
  "mqtt",
  "device.meter.kind",
  "temperature",
  "device.meter.topic",
  "home/meter",
  "device.meter.path",
  "$.a.b[1].c",
  "device.meter.battery-path",
  "power.battery",
  "device.meter.unit",
  "°F",
  "profile.elsys.temperature",
  "temperature",
  "profile.elsys.humidity",
  "sensors[0].humidity",
  "profile.elsys.battery",
  "vdd",
  "rule.now.type",
  "immediate",
  "rule.night.type",
  "night-door",
  "rule.cold.type",
  "temperature",
  "rule.battery.type",
  "low-battery",
  "rule.silent.type",
  "offline",
  NULL,
};

static HgSensorRules *rules;
static GPtrArray *adapters;

static void
setup_once (void)
{
  g_autoptr(HgConfig) config = hg_config_new ();
  g_autoptr(HgSensorRegistry) registry = hg_sensor_registry_new ();
  g_autoptr(GTimeZone) tz = g_time_zone_new_utc ();
  g_autoptr(HgChirpstackAdapter) chirpstack = NULL;

  for (guint i = 0; config_pairs[i] != NULL; i += 2)
    hg_config_set (config, config_pairs[i], config_pairs[i + 1]);
  g_assert_true (hg_sensor_registry_load (registry, config, NULL));
  chirpstack = hg_chirpstack_adapter_new (registry, HG_DOMAIN_MUNICIPAL, "+", 16384);
  g_assert_true (hg_chirpstack_adapter_load_profiles (chirpstack, config, NULL));
  adapters = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (adapters, hg_mqtt_json_adapter_new (registry, HG_DOMAIN_MUNICIPAL, 16384));
  g_ptr_array_add (adapters, hg_z2m_adapter_new (registry, HG_DOMAIN_MUNICIPAL, "zigbee2mqtt", TRUE,
                                                 16384, 65536));
  g_ptr_array_add (adapters, g_steal_pointer (&chirpstack));
  rules = hg_sensor_rules_new (registry, tz);
  g_assert_true (hg_sensor_rules_load (rules, config, NULL));
  hg_sensor_rules_start (rules, 1);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t size)
{
  g_autoptr(GPtrArray) readings
      = g_ptr_array_new_with_free_func ((GDestroyNotify) hg_sensor_reading_unref);
  g_autoptr(GPtrArray) firings
      = g_ptr_array_new_with_free_func ((GDestroyNotify) hg_sensor_firing_free);
  g_autofree gchar *topic = NULL;
  const guint8 *newline;
  HgSensorMessage message = { 0 };
  static gint64 now = G_GINT64_CONSTANT (1700000000000000);

  fuzz_setup ();
  if (rules == NULL)
    setup_once ();
  if (size > FUZZ_MAX_INPUT || (newline = memchr (data, '\n', size)) == NULL)
    return 0;
  /* a broker delivers topics as UTF-8 strings without NUL */
  topic = g_strndup ((const gchar *) data, newline - data);
  if (strlen (topic) != (gsize) (newline - data) || !g_utf8_validate (topic, -1, NULL))
    return 0;
  now += 7 * G_USEC_PER_SEC;
  message.topic = topic;
  message.payload = (const gchar *) newline + 1;
  message.length = size - (newline - data) - 1;
  message.now = now;
  for (guint i = 0; i < adapters->len; i++)
    {
      if (hg_sensor_adapter_handle_message (g_ptr_array_index (adapters, i), &message, readings))
        break;
    }
  for (guint i = 0; i < readings->len; i++)
    {
      HgSensorReading *reading = g_ptr_array_index (readings, i);
      g_autoptr(JsonObject) json = hg_sensor_reading_to_json (reading);
      g_autofree gchar *text = hg_json_object_to_string (json);
      g_autoptr(JsonObject) reread = hg_json_parse_object (text, -1, 0, NULL);

      g_assert_nonnull (reread);
      if (hg_sensor_kind_get_value_type (reading->kind) == HG_SENSOR_VALUE_NUMBER)
        g_assert_true (hg_sensor_kind_check_number (reading->kind, reading->number, NULL));
      if (reading->kind == HG_SENSOR_KIND_ACTION)
        g_assert_true (hg_sensor_action_is_valid (reading->text));
      g_assert_true (reading->battery >= -1 && reading->battery <= 100);
      g_assert_true (reading->link_quality >= -1 && reading->link_quality <= 255);
      hg_sensor_rules_process (rules, reading, firings);
    }
  hg_sensor_rules_tick (rules, now, firings);
  for (guint i = 0; i < firings->len; i++)
    g_assert_true (
        hg_alarm_type_is_valid (((HgSensorFiring *) g_ptr_array_index (firings, i))->alarm_type));
  return 0;
}
