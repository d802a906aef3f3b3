/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the device registry and the three source adapters, fed messages directly:
 * what each documented format becomes, and that every kind of bad input (not JSON, the
 * wrong shape, absurd values, unknown devices, wildcards and control characters in names,
 * oversized payloads, one device speaking for another) is counted on the right device and
 * dropped without touching the rest of the message or the other devices. */
#include <hemgate-plugin.h>

#include "hg-chirpstack-adapter.h"
#include "hg-mqtt-json-adapter.h"
#include "hg-sensor-registry.h"
#include "hg-z2m-adapter.h"

#define MAX_PAYLOAD 4096
#define LORA_EUI "a84041000181c5c1"

static const gchar *const devices_config[] = {
  "device.hall-door.source",
  "z2m",
  "device.hall-door.kind",
  "contact",
  "device.hall-door.room",
  "hall",
  "device.hall-door.name",
  "Front door",
  "device.kitchen-leak.source",
  "z2m",
  "device.kitchen-leak.kind",
  "water_leak",
  "device.kitchen-leak.room",
  "kitchen",
  "device.living.source",
  "z2m",
  "device.living.kind",
  "temperature",
  "device.living.topic",
  "floor1/living-temp",
  "device.climate.source",
  "chirpstack",
  "device.climate.kind",
  "temperature",
  "device.climate.dev-eui",
  "A84041000181C5C1",
  "device.climate.profile",
  "elsys",
  "device.leak2.source",
  "chirpstack",
  "device.leak2.kind",
  "water_leak",
  "device.leak2.dev-eui",
  "0011223344556677",
  "device.meter.source",
  "mqtt",
  "device.meter.kind",
  "temperature",
  "device.meter.topic",
  "home/boiler/state",
  "device.meter.path",
  "$.sensors.water[1]",
  "device.meter.unit",
  "°F",
  "device.meter.battery-path",
  "power.battery",
  "profile.elsys.temperature",
  "temperature",
  "profile.elsys.humidity",
  "humidity",
  "profile.elsys.battery",
  "vdd_percent",
  NULL,
};

typedef struct
{
  HgConfig *config;           /* (owned) */
  HgSensorRegistry *registry; /* (owned) */
  HgZ2mAdapter *z2m;          /* (owned) */
  HgChirpstackAdapter *lora;  /* (owned) */
  HgMqttJsonAdapter *json;    /* (owned) */
  GPtrArray *readings;        /* (owned) */
} Fixture;

static HgConfig *
config_new (const gchar *const *pairs)
{
  HgConfig *config = hg_config_new ();

  for (guint i = 0; pairs[i] != NULL; i += 2)
    hg_config_set (config, pairs[i], pairs[i + 1]);
  return config;
}

static void
setup_with (Fixture *fixture,
            gboolean subscribe_all)
{
  g_autoptr(GError) error = NULL;

  fixture->config = config_new (devices_config);
  fixture->registry = hg_sensor_registry_new ();
  g_assert_true (hg_sensor_registry_load (fixture->registry, fixture->config, &error));
  g_assert_no_error (error);
  fixture->z2m = hg_z2m_adapter_new (fixture->registry, HG_DOMAIN_MUNICIPAL, "zigbee2mqtt",
                                     subscribe_all, MAX_PAYLOAD, 65536);
  fixture->lora
      = hg_chirpstack_adapter_new (fixture->registry, HG_DOMAIN_MUNICIPAL, "+", MAX_PAYLOAD);
  g_assert_true (hg_chirpstack_adapter_load_profiles (fixture->lora, fixture->config, &error));
  g_assert_no_error (error);
  fixture->json = hg_mqtt_json_adapter_new (fixture->registry, HG_DOMAIN_PERSONAL, MAX_PAYLOAD);
  fixture->readings = g_ptr_array_new_with_free_func ((GDestroyNotify) hg_sensor_reading_unref);
}

static void
setup (Fixture *fixture,
       gconstpointer user_data)
{
  setup_with (fixture, GPOINTER_TO_INT (user_data));
}

static void
teardown (Fixture *fixture,
          gconstpointer user_data)
{
  g_ptr_array_unref (fixture->readings);
  g_clear_object (&fixture->json);
  g_clear_object (&fixture->lora);
  g_clear_object (&fixture->z2m);
  g_clear_object (&fixture->registry);
  g_clear_object (&fixture->config);
}

/* Feeds one message to @adapter; returns whether it claimed the topic. */
static gboolean
feed_raw (Fixture *fixture,
          gpointer adapter,
          const gchar *topic,
          const gchar *payload,
          gsize length)
{
  HgSensorMessage message
      = { topic, payload, length, FALSE, G_GINT64_CONSTANT (1700000000) * G_USEC_PER_SEC };

  g_ptr_array_set_size (fixture->readings, 0);
  return hg_sensor_adapter_handle_message (HG_SENSOR_ADAPTER (adapter), &message,
                                           fixture->readings);
}

static gboolean
feed (Fixture *fixture,
      gpointer adapter,
      const gchar *topic,
      const gchar *payload)
{
  return feed_raw (fixture, adapter, topic, payload, strlen (payload));
}

/* The reading of @kind among the last message's readings; fails the test if none. */
static HgSensorReading *
find_reading (Fixture *fixture,
              HgSensorKind kind)
{
  for (guint i = 0; i < fixture->readings->len; i++)
    {
      HgSensorReading *reading = g_ptr_array_index (fixture->readings, i);
      if (reading->kind == kind)
        return reading;
    }
  g_test_message ("no %s reading", hg_sensor_kind_to_string (kind));
  g_assert_not_reached ();
}

static JsonObject *
member_object (JsonObject *object,
               const gchar *member)
{
  JsonObject *value = NULL;

  if (!hg_json_object_get_object (object, member, &value, NULL))
    g_assert_not_reached ();
  return value;
}

static HgSensorDevice *
device (Fixture *fixture,
        const gchar *id)
{
  HgSensorDevice *device = hg_sensor_registry_lookup (fixture->registry, id);

  g_assert_nonnull (device);
  return device;
}

/* /sensors/registry ------------------------------------------------------------------------ */

static void
test_registry_loaded (Fixture *fixture,
                      gconstpointer user_data)
{
  HgSensorDevice *door = device (fixture, "hall-door");
  HgSensorDevice *climate = device (fixture, "climate");

  g_test_summary ("Devices of all three sources are read from device.<id>.<field> keys and "
                  "found by the names their sources use");
  g_assert_cmpuint (hg_sensor_registry_get_devices (fixture->registry)->len, ==, 6);
  g_assert_cmpint (door->source, ==, HG_SENSOR_SOURCE_Z2M);
  g_assert_cmpint (door->kind, ==, HG_SENSOR_KIND_CONTACT);
  g_assert_cmpstr (door->name, ==, "Front door");
  g_assert_cmpstr (door->room, ==, "hall");
  g_assert_cmpstr (door->topic, ==, "hall-door");
  g_assert_true (hg_sensor_registry_lookup_z2m (fixture->registry, "hall-door") == door);
  g_assert_true (hg_sensor_registry_lookup_z2m (fixture->registry, "floor1/living-temp")
                 == device (fixture, "living"));
  g_assert_cmpstr (climate->dev_eui, ==, LORA_EUI);
  g_assert_true (hg_sensor_registry_lookup_dev_eui (fixture->registry, LORA_EUI) == climate);
  g_assert_true (hg_sensor_registry_lookup_topic (fixture->registry, "home/boiler/state")
                 == device (fixture, "meter"));
  g_assert_cmpstr (device (fixture, "kitchen-leak")->name, ==, "kitchen-leak");
}

static void
test_registry_bad_keys (void)
{
  static const struct
  {
    const gchar *key;
    const gchar *value;
    const gchar *named; /* the key the error must name */
  } cases[] = {
    { "device.hall-door.source", "zigbee", "'device.hall-door.source'" },
    { "device.hall-door.kind", "contacts", "'device.hall-door.kind'" },
    { "device.hall-door.kind", "availability", "'device.hall-door.kind'" },
    { "device.hall-door.topic", "hall/+/door", "wildcard" },
    { "device.hall-door.topic", "hall/#", "wildcard" },
    { "device.hall-door.topic", "bridge/devices", "'device.hall-door.topic'" },
    { "device.hall-door.topic", "door/availability", "'device.hall-door.topic'" },
    { "device.hall-door.topic", "door\nx", "control character" },
    { "device.hall-door.topic", "/door", "'device.hall-door.topic'" },
    { "device.hall-door.dev-eui", "0011223344556677", "does not apply" },
    { "device.hall-door.name", "Front\001door", "'device.hall-door.name'" },
    { "device.hall-door.colour", "red", "'device.hall-door.colour'" },
    { "device.Hall.source", "z2m", "'device.Hall.source'" },
    { "device.nofield", "z2m", "'device.nofield'" },
    { "device.living.topic", "hall-door", "already device" },
    { "device.climate.dev-eui", "a84041000181c5", "'device.climate.dev-eui'" },
    { "device.climate.dev-eui", "z84041000181c5c1", "'device.climate.dev-eui'" },
    { "device.leak2.dev-eui", "A84041000181c5c1", "already device" },
    { "device.meter.path", "$.a..b", "'device.meter.path'" },
    { "device.meter.path", "a[x]", "'device.meter.path'" },
    { "device.meter.unit", "K", "'device.meter.unit'" },
    { "device.meter.topic", "$SYS/broker/load", "'device.meter.topic'" },
    { "device.meter.topic", "", "'device.meter.topic'" },
  };

  g_test_summary ("A bad device key is HG_ERROR_INVALID_DATA naming the key, and the whole "
                  "configuration is refused");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(HgConfig) config = config_new (devices_config);
      g_autoptr(HgSensorRegistry) registry = hg_sensor_registry_new ();
      g_autoptr(GError) error = NULL;

      hg_config_set (config, cases[i].key, cases[i].value);
      g_assert_false (hg_sensor_registry_load (registry, config, &error));
      g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
      g_test_message ("%s = %s: %s", cases[i].key, cases[i].value, error->message);
      g_assert_nonnull (strstr (error->message, cases[i].named));
    }
}

static void
test_registry_missing_fields (void)
{
  static const gchar *const no_source[] = { "device.a.kind", "contact", NULL };
  static const gchar *const no_kind[] = { "device.a.source", "z2m", NULL };
  static const gchar *const no_eui[]
      = { "device.a.source", "chirpstack", "device.a.kind", "smoke", NULL };
  static const gchar *const no_topic[]
      = { "device.a.source", "mqtt", "device.a.kind", "smoke", NULL };
  const gchar *const *cases[] = { no_source, no_kind, no_eui, no_topic };
  const gchar *named[]
      = { "'device.a.source'", "'device.a.kind'", "'device.a.dev-eui'", "'device.a.topic'" };

  g_test_summary ("A device without a required field is refused, naming the missing key");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(HgConfig) config = config_new (cases[i]);
      g_autoptr(HgSensorRegistry) registry = hg_sensor_registry_new ();
      g_autoptr(GError) error = NULL;

      g_assert_false (hg_sensor_registry_load (registry, config, &error));
      g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
      g_assert_nonnull (strstr (error->message, named[i]));
    }
}

static void
test_profile_errors (void)
{
  static const struct
  {
    const gchar *key;
    const gchar *value;
    const gchar *named;
  } cases[] = {
    { "profile.elsys.temperatur", "t", "'profile.elsys.temperatur'" },
    { "profile.elsys.humidity", "a.", "'profile.elsys.humidity'" },
    { "profile.el sys.humidity", "h", "'profile.el sys.humidity'" },
    { "device.climate.profile", "nosuch", "'device.climate.profile'" },
  };

  g_test_summary ("ChirpStack profiles are checked: kinds, paths, and that devices name one");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(HgConfig) config = config_new (devices_config);
      g_autoptr(HgSensorRegistry) registry = hg_sensor_registry_new ();
      g_autoptr(HgChirpstackAdapter) lora = NULL;
      g_autoptr(GError) error = NULL;

      hg_config_set (config, cases[i].key, cases[i].value);
      g_assert_true (hg_sensor_registry_load (registry, config, NULL));
      lora = hg_chirpstack_adapter_new (registry, HG_DOMAIN_MUNICIPAL, "+", MAX_PAYLOAD);
      g_assert_false (hg_chirpstack_adapter_load_profiles (lora, config, &error));
      g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
      g_assert_nonnull (strstr (error->message, cases[i].named));
    }
}

/* /sensors/z2m ---------------------------------------------------------------------------- */

static void
test_z2m_subscriptions (Fixture *fixture,
                        gconstpointer user_data)
{
  g_auto(GStrv) filters = hg_sensor_adapter_get_subscriptions (HG_SENSOR_ADAPTER (fixture->z2m));
  g_autoptr(HgZ2mAdapter) all = hg_z2m_adapter_new (fixture->registry, HG_DOMAIN_MUNICIPAL,
                                                     "zigbee2mqtt", TRUE, MAX_PAYLOAD, 65536);
  g_auto(GStrv) all_filters = hg_sensor_adapter_get_subscriptions (HG_SENSOR_ADAPTER (all));
  g_auto(GStrv) lora_filters
      = hg_sensor_adapter_get_subscriptions (HG_SENSOR_ADAPTER (fixture->lora));
  g_auto(GStrv) json_filters
      = hg_sensor_adapter_get_subscriptions (HG_SENSOR_ADAPTER (fixture->json));

  g_test_summary ("By default only the registered devices' topics are subscribed (the other "
                  "domain's devices never reach this instance); z2m-subscribe=all takes <base>/#");
  g_assert_true (g_strv_contains ((const gchar *const *)filters, "zigbee2mqtt/hall-door"));
  g_assert_true (
      g_strv_contains ((const gchar *const *)filters, "zigbee2mqtt/hall-door/availability"));
  g_assert_true (g_strv_contains ((const gchar *const *)filters, "zigbee2mqtt/floor1/living-temp"));
  g_assert_true (g_strv_contains ((const gchar *const *)filters, "zigbee2mqtt/bridge/devices"));
  g_assert_cmpuint (g_strv_length (filters), ==, 7);
  g_assert_cmpuint (g_strv_length (all_filters), ==, 1);
  g_assert_cmpstr (all_filters[0], ==, "zigbee2mqtt/#");
  g_assert_true (
      g_strv_contains ((const gchar *const *)lora_filters, "application/+/device/+/event/up"));
  g_assert_true (
      g_strv_contains ((const gchar *const *)lora_filters, "application/+/device/+/event/status"));
  g_assert_cmpuint (g_strv_length (json_filters), ==, 1);
  g_assert_cmpstr (json_filters[0], ==, "home/boiler/state");
}

static void
test_z2m_state (Fixture *fixture,
                gconstpointer user_data)
{
  HgSensorReading *contact;
  HgSensorReading *tamper;
  g_autoptr(JsonObject) json = NULL;
  g_autofree gchar *text = NULL;

  g_test_summary ("A Zigbee2MQTT state message becomes one reading per known property, each "
                  "with the message's battery and link quality");
  g_assert_true (
      feed (fixture, fixture->z2m, "zigbee2mqtt/hall-door",
            "{\"contact\":false,\"battery\":97,\"linkquality\":132,\"tamper\":false,"
            "\"voltage\":3005,\"update\":{\"state\":\"idle\"},\"device_temperature\":null}"));
  g_assert_cmpuint (fixture->readings->len, ==, 2);
  contact = find_reading (fixture, HG_SENSOR_KIND_CONTACT);
  tamper = find_reading (fixture, HG_SENSOR_KIND_TAMPER);
  g_assert_nonnull (contact);
  g_assert_nonnull (tamper);
  g_assert_false (contact->boolean);
  g_assert_cmpstr (contact->device, ==, "hall-door");
  g_assert_cmpint (contact->battery, ==, 97);
  g_assert_cmpint (contact->link_quality, ==, 132);
  g_assert_cmpint (tamper->battery, ==, 97);
  g_assert_cmpuint (device (fixture, "hall-door")->messages, ==, 1);
  g_assert_cmpuint (device (fixture, "hall-door")->readings, ==, 2);
  g_assert_cmpint (device (fixture, "hall-door")->battery, ==, 97);

  json = hg_sensor_reading_to_json (contact);
  text = hg_json_object_to_string (json);
  g_test_message ("%s", text);
  g_assert_cmpstr (json_object_get_string_member (json, "device"), ==, "hall-door");
  g_assert_cmpstr (json_object_get_string_member (json, "domain"), ==, "municipal");
  g_assert_cmpstr (json_object_get_string_member (json, "kind"), ==, "contact");
  g_assert_false (json_object_get_boolean_member (json, "value"));
  g_assert_cmpint (json_object_get_int_member (json, "battery"), ==, 97);
  g_assert_cmpint (json_object_get_int_member (json, "link_quality"), ==, 132);
  g_assert_cmpstr (json_object_get_string_member (json, "ts"), ==, "2023-11-14T22:13:20Z");

  /* a battery-only update is a battery reading; friendly names may hold '/' */
  g_assert_true (
      feed (fixture, fixture->z2m, "zigbee2mqtt/floor1/living-temp", "{\"battery\":55}"));
  g_assert_cmpuint (fixture->readings->len, ==, 1);
  g_assert_cmpfloat (find_reading (fixture, HG_SENSOR_KIND_BATTERY)->number, ==, 55);
  g_assert_true (feed (
      fixture, fixture->z2m, "zigbee2mqtt/floor1/living-temp",
      "{\"temperature\":21.37,\"humidity\":41.5,\"illuminance_lux\":12,\"illuminance\":9000}"));
  g_assert_cmpuint (fixture->readings->len, ==, 3);
  g_assert_cmpfloat (find_reading (fixture, HG_SENSOR_KIND_TEMPERATURE)->number, ==, 21.37);
  g_assert_cmpfloat (find_reading (fixture, HG_SENSOR_KIND_ILLUMINANCE)->number, ==, 12);
}

static void
test_z2m_availability (Fixture *fixture,
                       gconstpointer user_data)
{
  HgSensorDevice *door = device (fixture, "hall-door");

  g_test_summary ("Availability is read in both forms, JSON {\"state\":...} and the bare word "
                  "of older Zigbee2MQTT; anything else is counted as wrong");
  g_assert_true (feed (fixture, fixture->z2m, "zigbee2mqtt/hall-door/availability",
                       "{\"state\":\"offline\"}"));
  g_assert_cmpuint (fixture->readings->len, ==, 1);
  g_assert_cmpint (find_reading (fixture, HG_SENSOR_KIND_AVAILABILITY)->boolean, ==, FALSE);
  g_assert_true (door->availability_known);
  g_assert_false (door->online);
  g_assert_cmpint (door->last_seen, ==, 0);
  g_assert_true (feed (fixture, fixture->z2m, "zigbee2mqtt/hall-door/availability", "online"));
  g_assert_true (find_reading (fixture, HG_SENSOR_KIND_AVAILABILITY)->boolean);
  g_assert_true (door->online);
  g_assert_true (feed (fixture, fixture->z2m, "zigbee2mqtt/hall-door/availability", "offline"));
  g_assert_false (door->online);
  g_assert_true (
      feed (fixture, fixture->z2m, "zigbee2mqtt/hall-door/availability", "{\"state\":\"maybe\"}"));
  g_assert_cmpuint (fixture->readings->len, ==, 0);
  g_assert_true (feed (fixture, fixture->z2m, "zigbee2mqtt/hall-door/availability", "onlinex"));
  g_assert_cmpuint (fixture->readings->len, ==, 0);
  g_assert_cmpuint (door->dropped[HG_SENSOR_DROP_WRONG_SHAPE], ==, 1);
  g_assert_cmpuint (door->dropped[HG_SENSOR_DROP_NOT_JSON], ==, 1);
}

static void
test_z2m_bad_values (Fixture *fixture,
                     gconstpointer user_data)
{
  HgSensorDevice *leak = device (fixture, "kitchen-leak");

  g_test_summary ("Absurd values and wrong types are counted and skipped, and the rest of the "
                  "message still counts: a broken temperature never hides a water leak");
  g_assert_true (
      feed (fixture, fixture->z2m, "zigbee2mqtt/kitchen-leak",
            "{\"water_leak\":true,\"temperature\":500,\"battery\":250,\"humidity\":\"wet\","
            "\"linkquality\":900,\"action\":\"<script>\",\"tamper\":1}"));
  g_assert_cmpuint (fixture->readings->len, ==, 2);
  g_assert_true (find_reading (fixture, HG_SENSOR_KIND_WATER_LEAK)->boolean);
  g_assert_true (find_reading (fixture, HG_SENSOR_KIND_TAMPER)->boolean);
  g_assert_cmpint (find_reading (fixture, HG_SENSOR_KIND_WATER_LEAK)->battery, ==, -1);
  g_assert_cmpint (find_reading (fixture, HG_SENSOR_KIND_WATER_LEAK)->link_quality, ==, -1);
  g_assert_cmpuint (leak->dropped[HG_SENSOR_DROP_OUT_OF_RANGE], ==, 2);
  g_assert_cmpuint (leak->dropped[HG_SENSOR_DROP_WRONG_SHAPE], ==, 3);

  /* infinities and NaN cannot be written in JSON; a huge exponent is just out of range */
  g_assert_true (
      feed (fixture, fixture->z2m, "zigbee2mqtt/kitchen-leak", "{\"temperature\":1e308}"));
  g_assert_cmpuint (fixture->readings->len, ==, 0);
  g_assert_cmpuint (leak->dropped[HG_SENSOR_DROP_OUT_OF_RANGE], ==, 3);
  g_assert_true (feed (fixture, fixture->z2m, "zigbee2mqtt/kitchen-leak",
                       "{\"temperature\":-80,\"battery\":0}"));
  g_assert_cmpuint (fixture->readings->len, ==, 1);
  g_assert_cmpuint (leak->dropped[HG_SENSOR_DROP_OUT_OF_RANGE], ==, 3);
}

static void
test_z2m_malformed (Fixture *fixture,
                    gconstpointer user_data)
{
  static const guchar latin1[]
      = { '{', '"', 'c', 'o', 'n', 't', 'a', 'c', 't', '"', ':', 0xe5, '}' };
  HgSensorDevice *door = device (fixture, "hall-door");
  g_autofree gchar *pad = g_strnfill (MAX_PAYLOAD, 'x');
  g_autofree gchar *big = g_strdup_printf ("{\"contact\":true,\"pad\":\"%s\"}", pad);
  const gchar *not_objects[]
      = { "this is not json", "[1,2,3]", "{\"contact\":", "", "null", "42", "\"online\"" };

  g_test_summary ("Non-JSON, JSON that is not an object, invalid UTF-8, empty and oversized "
                  "payloads are counted on the device and dropped");
  for (guint i = 0; i < G_N_ELEMENTS (not_objects); i++)
    {
      g_assert_true (feed (fixture, fixture->z2m, "zigbee2mqtt/hall-door", not_objects[i]));
      g_assert_cmpuint (fixture->readings->len, ==, 0);
    }
  g_assert_true (feed_raw (fixture, fixture->z2m, "zigbee2mqtt/hall-door", (const gchar *) latin1,
                           sizeof latin1));
  g_assert_true (feed (fixture, fixture->z2m, "zigbee2mqtt/hall-door", big));
  g_assert_cmpuint (fixture->readings->len, ==, 0);
  g_assert_cmpuint (door->dropped[HG_SENSOR_DROP_NOT_JSON], ==, G_N_ELEMENTS (not_objects) + 1);
  g_assert_cmpuint (door->dropped[HG_SENSOR_DROP_TOO_LARGE], ==, 1);
  g_assert_cmpuint (door->messages, ==, G_N_ELEMENTS (not_objects) + 2);
  g_assert_cmpint (door->last_seen, ==, 0);

  /* the other devices are untouched, and the device itself recovers at once */
  g_assert_cmpuint (device (fixture, "kitchen-leak")->messages, ==, 0);
  g_assert_true (feed (fixture, fixture->z2m, "zigbee2mqtt/hall-door", "{\"contact\":true}"));
  g_assert_cmpuint (fixture->readings->len, ==, 1);
}

static void
test_z2m_unknown_names (Fixture *fixture,
                        gconstpointer user_data)
{
  g_autoptr(JsonObject) health = NULL;
  JsonObject *unknown;
  JsonObject *names;

  g_test_summary ("With z2m-subscribe=all, messages of unregistered or unprintable names are "
                  "counted (a bounded number of names kept) and dropped; bridge and command "
                  "topics are no readings");
  g_assert_true (feed (fixture, fixture->z2m, "zigbee2mqtt/not-registered", "{\"contact\":false}"));
  g_assert_true (feed (fixture, fixture->z2m, "zigbee2mqtt/evil\001name", "{\"contact\":false}"));
  g_assert_true (feed (fixture, fixture->z2m, "zigbee2mqtt/not-registered/availability", "online"));
  g_assert_true (feed (fixture, fixture->z2m, "zigbee2mqtt/hall-door/set", "{\"contact\":false}"));
  g_assert_true (
      feed (fixture, fixture->z2m, "zigbee2mqtt/bridge/state", "{\"state\":\"online\"}"));
  g_assert_cmpuint (fixture->readings->len, ==, 0);
  for (guint i = 0; i < 100; i++)
    {
      g_autofree gchar *topic = g_strdup_printf ("zigbee2mqtt/made-up-%u", i);
      feed (fixture, fixture->z2m, topic, "{}");
    }
  g_assert_cmpuint (hg_sensor_registry_get_n_unknown (fixture->registry), ==, 103);
  health = hg_sensor_registry_to_json (fixture->registry, G_MAXUINT);
  unknown = member_object (health, "unknown");
  names = member_object (unknown, "names");
  g_assert_cmpint (json_object_get_int_member (unknown, "messages"), ==, 103);
  g_assert_cmpint (json_object_get_int_member (names, "z2m:not-registered"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (names, "z2m:(unprintable)"), ==, 1);
  g_assert_cmpuint (json_object_get_size (names), <=, 32);
  g_assert_false (feed (fixture, fixture->z2m, "other/hall-door", "{}"));
}

static void
test_z2m_bridge_devices (Fixture *fixture,
                         gconstpointer user_data)
{
  g_autoptr(JsonObject) health = json_object_new ();
  JsonObject *bridge;

  g_test_summary ("bridge/devices marks the registered devices the bridge has paired and counts "
                  "unregistered entries and names that cannot be topics (wildcards)");
  g_assert_true (feed (
      fixture, fixture->z2m, "zigbee2mqtt/bridge/devices",
      "[{\"friendly_name\":\"Coordinator\",\"type\":\"Coordinator\"},"
      "{\"friendly_name\":\"hall-door\",\"type\":\"EndDevice\",\"ieee_address\":\"0x00158d0001\","
      "\"definition\":{\"model\":\"MCCGQ11LM\",\"vendor\":\"Aqara\",\"exposes\":[]}},"
      "{\"friendly_name\":\"someone-else\",\"type\":\"EndDevice\"},"
      "{\"friendly_name\":\"a/+/#\",\"type\":\"EndDevice\"},"
      "{\"friendly_name\":5},\"text\",[]]"));
  g_assert_cmpuint (fixture->readings->len, ==, 0);
  g_assert_true (device (fixture, "hall-door")->bridge_listed);
  g_assert_false (device (fixture, "kitchen-leak")->bridge_listed);
  hg_sensor_adapter_add_health (HG_SENSOR_ADAPTER (fixture->z2m), health);
  bridge = member_object (health, "z2m-bridge");
  g_assert_cmpint (json_object_get_int_member (bridge, "devices"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (bridge, "unregistered"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (bridge, "invalid"), ==, 4);

  g_assert_true (
      feed (fixture, fixture->z2m, "zigbee2mqtt/bridge/devices", "{\"not\":\"a list\"}"));
  g_assert_true (feed (fixture, fixture->z2m, "zigbee2mqtt/bridge/devices", "garbage"));
  json_object_remove_member (health, "z2m-bridge");
  hg_sensor_adapter_add_health (HG_SENSOR_ADAPTER (fixture->z2m), health);
  bridge = member_object (health, "z2m-bridge");
  g_assert_cmpint (json_object_get_int_member (bridge, "rejected"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (bridge, "lists"), ==, 1);
}

/* /sensors/chirpstack --------------------------------------------------------------------- */

static gchar *
uplink (const gchar *dev_eui,
        const gchar *object)
{
  return g_strdup_printf (
      "{\"deduplicationId\":\"3ac7e3c4\",\"time\":\"2024-01-01T10:00:00Z\","
      "\"deviceInfo\":{\"tenantId\":\"t\",\"applicationId\":\"app\",\"deviceProfileName\":"
      "\"Elsys\","
      "\"deviceName\":\"climate\",\"devEui\":\"%s\",\"tags\":{}},\"devAddr\":\"00189440\","
      "\"fCnt\":7,\"fPort\":5,\"data\":\"AQDi\"%s%s,\"rxInfo\":[{\"rssi\":-36,\"snr\":10.5}]}",
      dev_eui, object != NULL ? ",\"object\":" : "", object != NULL ? object : "");
}

static void
test_chirpstack_profile (Fixture *fixture,
                         gconstpointer user_data)
{
  g_autofree gchar *up
      = uplink (LORA_EUI, "{\"temperature\":22.5,\"humidity\":41,\"vdd_percent\":88,\"co2\":500}");
  g_autofree gchar *partial = uplink (LORA_EUI, "{\"humidity\":40}");

  g_test_summary ("A ChirpStack v4 uplink's decoded object becomes readings through the device's "
                  "profile; a frame without some of the profile's values is no error");
  g_assert_true (feed (fixture, fixture->lora, "application/app/device/" LORA_EUI "/event/up", up));
  g_assert_cmpuint (fixture->readings->len, ==, 2);
  g_assert_cmpfloat (find_reading (fixture, HG_SENSOR_KIND_TEMPERATURE)->number, ==, 22.5);
  g_assert_cmpfloat (find_reading (fixture, HG_SENSOR_KIND_HUMIDITY)->number, ==, 41);
  g_assert_cmpint (find_reading (fixture, HG_SENSOR_KIND_HUMIDITY)->battery, ==, 88);
  g_assert_true (
      feed (fixture, fixture->lora, "application/app/device/A84041000181C5C1/event/up", partial));
  g_assert_cmpuint (fixture->readings->len, ==, 1);
  g_assert_cmpuint (device (fixture, "climate")->readings, ==, 3);
  g_assert_true (
      feed (fixture, fixture->lora, "application/app/device/" LORA_EUI "/event/join", "{}"));
  g_assert_cmpuint (fixture->readings->len, ==, 0);
  g_assert_false (feed (fixture, fixture->lora, "application/app/gateway/x/event/up", "{}"));
}

static void
test_chirpstack_default_mapping (Fixture *fixture,
                                 gconstpointer user_data)
{
  g_autofree gchar *up = uplink ("0011223344556677", "{\"water_leak\":1,\"battery\":30}");
  g_autofree gchar *status
      = g_strdup_printf ("{\"deviceInfo\":{\"devEui\":\"0011223344556677\"},\"margin\":7,"
                         "\"externalPowerSource\":false,\"batteryLevelUnavailable\":false,"
                         "\"batteryLevel\":75.5}");

  g_test_summary ("Without a profile, object.<kind> and object.battery are read (0/1 as a "
                  "boolean); status events carry the battery level");
  g_assert_true (
      feed (fixture, fixture->lora, "application/x/device/0011223344556677/event/up", up));
  g_assert_cmpuint (fixture->readings->len, ==, 1);
  g_assert_true (find_reading (fixture, HG_SENSOR_KIND_WATER_LEAK)->boolean);
  g_assert_cmpint (find_reading (fixture, HG_SENSOR_KIND_WATER_LEAK)->battery, ==, 30);
  g_assert_true (
      feed (fixture, fixture->lora, "application/x/device/0011223344556677/event/status", status));
  g_assert_cmpuint (fixture->readings->len, ==, 1);
  g_assert_cmpfloat (find_reading (fixture, HG_SENSOR_KIND_BATTERY)->number, ==, 76);
}

static void
test_chirpstack_bad (Fixture *fixture,
                     gconstpointer user_data)
{
  HgSensorDevice *climate = device (fixture, "climate");
  g_autofree gchar *other = uplink ("0000000000000001", "{\"temperature\":21}");
  g_autofree gchar *no_object = uplink (LORA_EUI, NULL);
  g_autofree gchar *hot = uplink (LORA_EUI, "{\"temperature\":130,\"humidity\":40}");
  g_autofree gchar *unknown = uplink ("ffffffffffffffff", "{\"temperature\":21}");

  g_test_summary (
      "One device cannot speak for another (deviceInfo.devEui must match the topic); "
      "an uplink without a decoded object, absurd values and unknown DevEUIs are counted");
  g_assert_true (
      feed (fixture, fixture->lora, "application/app/device/" LORA_EUI "/event/up", other));
  g_assert_true (
      feed (fixture, fixture->lora, "application/app/device/" LORA_EUI "/event/up", no_object));
  g_assert_true (feed (fixture, fixture->lora, "application/app/device/" LORA_EUI "/event/up",
                       "{\"object\":{}}"));
  g_assert_cmpuint (fixture->readings->len, ==, 0);
  g_assert_cmpuint (climate->dropped[HG_SENSOR_DROP_WRONG_SHAPE], ==, 3);
  g_assert_true (
      feed (fixture, fixture->lora, "application/app/device/" LORA_EUI "/event/up", hot));
  g_assert_cmpuint (fixture->readings->len, ==, 1);
  g_assert_cmpuint (climate->dropped[HG_SENSOR_DROP_OUT_OF_RANGE], ==, 1);
  g_assert_true (
      feed (fixture, fixture->lora, "application/app/device/ffffffffffffffff/event/up", unknown));
  g_assert_true (feed (fixture, fixture->lora, "application/app/device/not-hex/event/up", unknown));
  g_assert_cmpuint (hg_sensor_registry_get_n_unknown (fixture->registry), ==, 2);
}

/* /sensors/mqtt-json ---------------------------------------------------------------------- */

static void
test_mqtt_json (Fixture *fixture,
                gconstpointer user_data)
{
  HgSensorDevice *meter = device (fixture, "meter");
  HgSensorReading *reading;

  g_test_summary ("A generic device's value is found by its JSON path, converted from °F, "
                  "range-checked, and a missing member is a wrong shape");
  g_assert_true (feed (fixture, fixture->json, "home/boiler/state",
                       "{\"sensors\":{\"water\":[140.0,68.0]},\"power\":{\"battery\":64}}"));
  g_assert_cmpuint (fixture->readings->len, ==, 1);
  reading = find_reading (fixture, HG_SENSOR_KIND_TEMPERATURE);
  g_assert_cmpfloat_with_epsilon (reading->number, 20.0, 0.001);
  g_assert_cmpint (reading->domain, ==, HG_DOMAIN_PERSONAL);
  g_assert_cmpint (reading->battery, ==, 64);
  g_assert_true (
      feed (fixture, fixture->json, "home/boiler/state", "{\"sensors\":{\"water\":[1]}}"));
  g_assert_true (
      feed (fixture, fixture->json, "home/boiler/state", "{\"sensors\":{\"water\":\"hot\"}}"));
  g_assert_true (
      feed (fixture, fixture->json, "home/boiler/state", "{\"sensors\":{\"water\":[0,\"x\"]}}"));
  g_assert_cmpuint (meter->dropped[HG_SENSOR_DROP_WRONG_SHAPE], ==, 3);
  g_assert_true (
      feed (fixture, fixture->json, "home/boiler/state", "{\"sensors\":{\"water\":[0,400]}}"));
  g_assert_cmpuint (meter->dropped[HG_SENSOR_DROP_OUT_OF_RANGE], ==, 1);
  g_assert_cmpuint (fixture->readings->len, ==, 0);
  g_assert_false (feed (fixture, fixture->json, "home/boiler/other", "{}"));
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/sensors/registry/devices-loaded", Fixture, NULL, setup, test_registry_loaded,
              teardown);
  g_test_add_func ("/sensors/registry/bad-key-named", test_registry_bad_keys);
  g_test_add_func ("/sensors/registry/missing-field-named", test_registry_missing_fields);
  g_test_add_func ("/sensors/chirpstack/profile-errors-named", test_profile_errors);
  g_test_add ("/sensors/z2m/subscriptions", Fixture, NULL, setup, test_z2m_subscriptions, teardown);
  g_test_add ("/sensors/z2m/state-to-readings", Fixture, NULL, setup, test_z2m_state, teardown);
  g_test_add ("/sensors/z2m/availability-json-and-bare", Fixture, NULL, setup,
              test_z2m_availability, teardown);
  g_test_add ("/sensors/z2m/bad-values-counted-rest-kept", Fixture, NULL, setup,
              test_z2m_bad_values, teardown);
  g_test_add ("/sensors/z2m/malformed-counted", Fixture, NULL, setup, test_z2m_malformed, teardown);
  g_test_add ("/sensors/z2m/unknown-and-injected-names-counted", Fixture, GINT_TO_POINTER (TRUE),
              setup, test_z2m_unknown_names, teardown);
  g_test_add ("/sensors/z2m/bridge-devices", Fixture, NULL, setup, test_z2m_bridge_devices,
              teardown);
  g_test_add ("/sensors/chirpstack/uplink-through-profile", Fixture, NULL, setup,
              test_chirpstack_profile, teardown);
  g_test_add ("/sensors/chirpstack/default-mapping-and-status", Fixture, NULL, setup,
              test_chirpstack_default_mapping, teardown);
  g_test_add ("/sensors/chirpstack/bad-uplinks-counted", Fixture, NULL, setup, test_chirpstack_bad,
              teardown);
  g_test_add ("/sensors/mqtt-json/path-unit-and-range", Fixture, NULL, setup, test_mqtt_json,
              teardown);
  return g_test_run ();
}
