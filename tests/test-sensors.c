/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mqtt-sensors plugin end to end: a real hemgated in the test process, the real
 * hemgate-plugin-host running the built plugin as two instances (municipal and personal),
 * a real mosquitto on 127.0.0.1 and a free port, and messages from mosquitto_pub and the
 * simulator. What is checked is what API clients see: alarms, events and the sensor
 * history routes. Each case is its own meson test; none asserts how long anything took. */
#include "config.h"

#include <glib/gstdio.h>
#include <unistd.h>

#include "hg-test-broker.h"
#include "hgd-test-daemon.h"

#define WAIT_SECONDS 60

typedef struct
{
  HgTestBroker *broker; /* (owned) */
  gchar *plugin_dir;    /* (owned) plugins/mqtt-sensors/ with this broker's grant */
  HgdTestDaemon *td;    /* (owned) */
} Fixture;

/* The plugin's directory as a deployment would have it, with the manifest naming this
 * broker: the plugin connects only to a broker its grant names. */
static gchar *
make_plugin_dir (guint16 port)
{
  g_autofree gchar *root = g_build_filename (g_get_user_data_dir (), "plugins", NULL);
  g_autofree gchar *built
      = g_build_filename (g_getenv ("HGD_TEST_BUILD_ROOT"), "plugins", "mqtt-sensors", NULL);
  g_autofree gchar *grant = g_strdup_printf ("net.connect:127.0.0.1:%u", port);

  hg_test_plugin_dir_add (root, built, "net.connect:127.0.0.1:1883", grant);
  return g_steal_pointer (&root);
}

/* The municipality's sensors in the municipal instance, the resident's own in the
 * personal one; both on the same broker. */
static void
setup (Fixture *fixture,
       gconstpointer user_data)
{
  g_autofree gchar *host = g_build_filename (g_getenv ("HGD_TEST_BUILD_ROOT"), "daemon", "host",
                                             "hemgate-plugin-host", NULL);
  g_autofree gchar *port = NULL;
  g_autoptr(GPtrArray) overrides = g_ptr_array_new ();
  HgdTestDaemonOptions options = { 0 };
  const gchar *const municipal[] = {
    "plugin",
    "mqtt-sensors",
    "domain",
    "municipal",
    "device.kitchen-leak.source",
    "z2m",
    "device.kitchen-leak.kind",
    "water_leak",
    "device.kitchen-leak.room",
    "kitchen",
    "device.hall-door.source",
    "z2m",
    "device.hall-door.kind",
    "contact",
    "device.hall-door.room",
    "hall",
    "device.climate.source",
    "chirpstack",
    "device.climate.kind",
    "temperature",
    "device.climate.dev-eui",
    "a84041000181c5c1",
    "rule.alarms.type",
    "immediate",
    "health-interval",
    "1",
    NULL,
  };
  const gchar *const personal[] = {
    "plugin",
    "mqtt-sensors",
    "domain",
    "personal",
    "device.living-temp.source",
    "z2m",
    "device.living-temp.kind",
    "temperature",
    "device.living-temp.room",
    "living room",
    "device.bath-leak.source",
    "z2m",
    "device.bath-leak.kind",
    "water_leak",
    "device.bath-leak.room",
    "bathroom",
    "rule.alarms.type",
    "immediate",
    "health-interval",
    "1",
    NULL,
  };

  fixture->broker = hg_test_broker_new (NULL);
  port = g_strdup_printf ("%u", fixture->broker->port);
  fixture->plugin_dir = make_plugin_dir (fixture->broker->port);

  g_ptr_array_add (overrides, (gpointer) "plugins");
  g_ptr_array_add (overrides, (gpointer) "directory");
  g_ptr_array_add (overrides, fixture->plugin_dir);
  g_ptr_array_add (overrides, (gpointer) "plugins");
  g_ptr_array_add (overrides, (gpointer) "host");
  g_ptr_array_add (overrides, host);
  for (guint i = 0; municipal[i] != NULL; i += 2)
    {
      g_ptr_array_add (overrides, (gpointer) "plugin:sensors-municipal");
      g_ptr_array_add (overrides, (gpointer) municipal[i]);
      g_ptr_array_add (overrides, (gpointer) municipal[i + 1]);
    }
  for (guint i = 0; personal[i] != NULL; i += 2)
    {
      g_ptr_array_add (overrides, (gpointer) "plugin:sensors-personal");
      g_ptr_array_add (overrides, (gpointer) personal[i]);
      g_ptr_array_add (overrides, (gpointer) personal[i + 1]);
    }
  g_ptr_array_add (overrides, (gpointer) "plugin:sensors-municipal");
  g_ptr_array_add (overrides, (gpointer) "broker-port");
  g_ptr_array_add (overrides, port);
  g_ptr_array_add (overrides, (gpointer) "plugin:sensors-personal");
  g_ptr_array_add (overrides, (gpointer) "broker-port");
  g_ptr_array_add (overrides, port);
  g_ptr_array_add (overrides, NULL);
  options.overrides = (const gchar *const *)overrides->pdata;
  fixture->td = hgd_test_daemon_new (&options);
}

static void
teardown (Fixture *fixture,
          gconstpointer user_data)
{
  g_clear_pointer (&fixture->td, hgd_test_daemon_free);
  g_clear_pointer (&fixture->broker, hg_test_broker_free);
  g_free (fixture->plugin_dir);
}

/* Fetching what clients see ---------------------------------------------------------------- */

static const gchar *
token (Fixture *fixture,
       HgdRole role)
{
  return hgd_test_daemon_get_token (fixture->td, role);
}

static JsonObject *
get_json (Fixture *fixture,
          HgdRole role,
          const gchar *path)
{
  g_autoptr(HgdTestResponse) response
      = hgd_test_daemon_request (fixture->td, "GET", path, token (fixture, role), NULL);

  g_assert_cmpuint (response->status, ==, SOUP_STATUS_OK);
  g_assert_nonnull (response->json);
  return json_object_ref (response->json);
}

static JsonArray *
member_array (JsonObject *object,
              const gchar *name)
{
  JsonArray *array = NULL;

  if (!hg_json_object_get_array (object, name, &array, NULL))
    g_assert_not_reached ();
  return array;
}

/* Events of @type in the journal @role reads whose body's @member equals @value (a
 * string, or a boolean written "true"/"false"); all of that type when @member is NULL. */
static guint
count_events (Fixture *fixture,
              HgdRole role,
              const gchar *type,
              const gchar *member,
              const gchar *value)
{
  g_autoptr(JsonObject) page = get_json (fixture, role, "/api/v1/events?after=0&limit=1000");
  JsonArray *events = member_array (page, "events");
  guint n = 0;

  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *event = json_array_get_object_element (events, i);
      JsonObject *body = json_object_get_object_member (event, "body");
      JsonNode *node;

      if (g_strcmp0 (json_object_get_string_member (event, "type"), type) != 0)
        continue;
      if (member == NULL)
        {
          n++;
          continue;
        }
      node = json_object_get_member (body, member);
      if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
        continue;
      if (json_node_get_value_type (node) == G_TYPE_STRING
          && g_strcmp0 (json_node_get_string (node), value) == 0)
        n++;
      else if (json_node_get_value_type (node) == G_TYPE_BOOLEAN
               && g_strcmp0 (json_node_get_boolean (node) ? "true" : "false", value) == 0)
        n++;
    }
  return n;
}

/* Waits until the plugin instance of @role's domain said (in a sensor.health event) that
 * it is connected and subscribed, with at least @connects connections so far. */
static void
wait_subscribed (Fixture *fixture,
                 HgdRole role,
                 gint64 connects)
{
  for (guint attempt = 0; attempt < WAIT_SECONDS * 10; attempt++)
    {
      g_autoptr(JsonObject) page = get_json (fixture, role, "/api/v1/events?after=0&limit=1000");
      JsonArray *events = member_array (page, "events");

      for (guint i = 0; i < json_array_get_length (events); i++)
        {
          JsonObject *event = json_array_get_object_element (events, i);
          JsonObject *broker;

          if (g_strcmp0 (json_object_get_string_member (event, "type"), "sensor.health") != 0)
            continue;
          broker = json_object_get_object_member (json_object_get_object_member (event, "body"),
                                                  "broker");
          if (json_object_get_boolean_member (broker, "subscribed")
              && json_object_get_int_member (broker, "connects") >= connects)
            return;
        }
      hg_test_run_for (100);
    }
  g_assert_not_reached ();
}

/* Waits until @role's journal holds @n events of @type with body @member = @value. */
static void
wait_events (Fixture *fixture,
             HgdRole role,
             const gchar *type,
             const gchar *member,
             const gchar *value,
             guint n)
{
  for (guint attempt = 0; attempt < WAIT_SECONDS * 10; attempt++)
    {
      if (count_events (fixture, role, type, member, value) >= n)
        return;
      hg_test_run_for (100);
    }
  g_assert_not_reached ();
}

static JsonArray *
alarms_of_type (JsonObject *list,
                const gchar *type)
{
  JsonArray *all = member_array (list, "alarms");
  JsonArray *found = json_array_new ();

  for (guint i = 0; i < json_array_get_length (all); i++)
    {
      JsonObject *alarm = json_array_get_object_element (all, i);
      if (g_strcmp0 (json_object_get_string_member (alarm, "type"), type) == 0)
        json_array_add_object_element (found, json_object_ref (alarm));
    }
  return found;
}

static guint
history_length (Fixture *fixture,
                HgdRole role,
                const gchar *device)
{
  g_autofree gchar *path = g_strdup_printf ("/api/v1/sensors/%s/history", device);
  g_autoptr(JsonObject) history = get_json (fixture, role, path);

  return json_array_get_length (member_array (history, "readings"));
}

/* The cases --------------------------------------------------------------------------------- */

static void
test_water_leak (Fixture *fixture,
                 gconstpointer user_data)
{
  g_autoptr(GString) lines = g_string_new (NULL);
  g_autoptr(JsonObject) list = NULL;
  g_autoptr(JsonObject) resident_list = NULL;
  g_autoptr(JsonArray) water = NULL;
  g_autoptr(JsonArray) resident_water = NULL;
  JsonObject *alarm;
  JsonObject *detail;
  JsonObject *reading;

  g_test_summary ("A Zigbee2MQTT water leak published fifty times with mosquitto_pub becomes "
                  "exactly one water alarm in GET /api/v1/alarms, durable, located in the "
                  "kitchen with the reading attached");
  wait_subscribed (fixture, HGD_ROLE_STAFF, 1);
  for (guint i = 0; i < 50; i++)
    g_string_append (lines,
                     "{\"water_leak\":true,\"battery\":100,\"linkquality\":84,\"tamper\":false}\n");
  hg_test_broker_publish_lines (fixture->broker, "zigbee2mqtt/kitchen-leak", lines->str, FALSE);
  /* dry afterwards: once that reading is journaled, all fifty were handled before it */
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/kitchen-leak", "{\"water_leak\":false}",
                          FALSE);
  wait_events (fixture, HGD_ROLE_STAFF, "sensor.reading", "value", "false", 2);

  list = get_json (fixture, HGD_ROLE_STAFF, "/api/v1/alarms");
  water = alarms_of_type (list, "water");
  g_assert_cmpuint (json_array_get_length (water), ==, 1);
  alarm = json_array_get_object_element (water, 0);
  g_assert_cmpstr (json_object_get_string_member (alarm, "device"), ==, "kitchen-leak");
  g_assert_cmpstr (json_object_get_string_member (alarm, "location"), ==, "kitchen");
  g_assert_cmpstr (json_object_get_string_member (alarm, "source"), ==, "plugin:sensors-municipal");
  detail = json_object_get_object_member (alarm, "detail");
  g_assert_cmpstr (json_object_get_string_member (detail, "rule_type"), ==, "immediate");
  reading = json_object_get_object_member (detail, "reading");
  g_assert_cmpstr (json_object_get_string_member (reading, "kind"), ==, "water_leak");
  g_assert_true (json_object_get_boolean_member (reading, "value"));
  /* the resident sees where their home's alarm stands, without the detail */
  resident_list = get_json (fixture, HGD_ROLE_RESIDENT, "/api/v1/alarms");
  resident_water = alarms_of_type (resident_list, "water");
  g_assert_cmpuint (json_array_get_length (resident_water), ==, 1);
  g_assert_false (
      json_object_has_member (json_array_get_object_element (resident_water, 0), "detail"));
  /* journaled: the leak once, then dry; tamper once */
  g_assert_cmpuint (count_events (fixture, HGD_ROLE_STAFF, "sensor.reading", "kind", "water_leak"),
                    ==, 2);
}

/* The water alarm the resident's own leak sensor raised, as @role sees it. */
static JsonObject *
personal_water_alarm (Fixture *fixture,
                      HgdRole role)
{
  g_autoptr(JsonObject) list = get_json (fixture, role, "/api/v1/alarms");
  g_autoptr(JsonArray) water = alarms_of_type (list, "water");

  g_assert_cmpuint (json_array_get_length (water), ==, 1);
  return json_object_ref (json_array_get_object_element (water, 0));
}

/* Whether @role's GET /api/v1/events shows the personal water alarm's raise with its detail. */
static gboolean
raised_event_has_detail (Fixture *fixture,
                         HgdRole role)
{
  g_autoptr(JsonObject) page = get_json (fixture, role, "/api/v1/events?limit=1000");
  JsonArray *events = member_array (page, "events");
  gboolean found = FALSE;
  gboolean detail = FALSE;

  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *event = json_array_get_object_element (events, i);
      JsonObject *body = json_object_get_object_member (event, "body");
      if (g_strcmp0 (json_object_get_string_member (event, "type"), "alarm.raised") != 0 ||
          g_strcmp0 (json_object_get_string_member_with_default (body, "source", NULL),
                     "plugin:sensors-personal") != 0)
        continue;
      found = TRUE;
      detail = json_object_has_member (body, "detail");
    }
  g_assert_true (found);
  return detail;
}

/* Returns: how many reads of @object by @role's user the resident's access log has */
static guint
personal_reads (Fixture *fixture,
                HgdRole role,
                const gchar *object)
{
  g_autoptr(JsonObject) page = get_json (fixture, HGD_ROLE_RESIDENT, "/api/v1/access-log?limit=1000");
  JsonArray *entries = member_array (page, "entries");
  g_autofree gchar *actor = g_strconcat ("user:", hgd_test_username (role), NULL);
  guint n = 0;

  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *entry = json_array_get_object_element (entries, i);

      if (g_strcmp0 (json_object_get_string_member (entry, "action"), "read.personal") == 0 &&
          g_strcmp0 (json_object_get_string_member (entry, "actor"), actor) == 0 &&
          g_strcmp0 (json_object_get_string_member (entry, "object"), object) == 0)
        n++;
    }
  return n;
}

static void
test_personal_alarm_detail (Fixture *fixture,
                            gconstpointer user_data)
{
  g_autoptr(JsonObject) before = NULL;
  g_autoptr(JsonObject) shared = NULL;
  g_autoptr(JsonObject) as_admin = NULL;
  g_autoptr(JsonObject) revoked = NULL;
  g_autoptr(HgdTestResponse) made = NULL;
  g_autoptr(HgdTestResponse) revoke = NULL;
  g_autofree gchar *path = NULL;
  g_autofree gchar *object = NULL;
  guint reads;

  g_test_summary ("An alarm the resident's own leak sensor raised reaches the municipality "
                  "(someone must come), but its detail (the reading) only care staff see, "
                  "only while a share-alarms grant of its type holds, each read of it in the "
                  "resident's access log");
  wait_subscribed (fixture, HGD_ROLE_RESIDENT, 1);
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/bath-leak", "{\"water_leak\":true}",
                          FALSE);
  wait_events (fixture, HGD_ROLE_RESIDENT, "sensor.reading", "device", "bath-leak", 1);
  for (guint attempt = 0; attempt < WAIT_SECONDS * 10; attempt++)
    {
      g_autoptr(JsonObject) list = get_json (fixture, HGD_ROLE_STAFF, "/api/v1/alarms");
      g_autoptr(JsonArray) water = alarms_of_type (list, "water");
      if (json_array_get_length (water) > 0)
        break;
      hg_test_run_for (100);
    }
  before = personal_water_alarm (fixture, HGD_ROLE_STAFF);
  g_assert_cmpstr (json_object_get_string_member (before, "source"), ==, "plugin:sensors-personal");
  g_assert_false (json_object_has_member (before, "detail"));
  g_assert_false (raised_event_has_detail (fixture, HGD_ROLE_STAFF));

  made = hgd_test_daemon_request (fixture->td, "POST", "/api/v1/grants",
                                  token (fixture, HGD_ROLE_RESIDENT),
                                  "{\"kind\":\"share-alarms\",\"scope\":{\"alarm_types\":[\"water\"]}}");
  g_assert_cmpuint (made->status, ==, SOUP_STATUS_CREATED);
  shared = personal_water_alarm (fixture, HGD_ROLE_STAFF);
  g_assert_true (json_object_has_member (shared, "detail"));
  /* each read of the detail is in the resident's access log: the alarm's, and the event's */
  object = g_strconcat ("alarm:", json_object_get_string_member (shared, "ref"), NULL);
  reads = personal_reads (fixture, HGD_ROLE_STAFF, object);
  g_assert_cmpuint (reads, >=, 1);
  g_assert_true (raised_event_has_detail (fixture, HGD_ROLE_STAFF));
  g_assert_cmpuint (personal_reads (fixture, HGD_ROLE_STAFF, object), ==, reads + 1);
  g_assert_false (raised_event_has_detail (fixture, HGD_ROLE_SERVICE));
  as_admin = personal_water_alarm (fixture, HGD_ROLE_IT_ADMIN);
  g_assert_false (json_object_has_member (as_admin, "detail"));

  path = g_strconcat ("/api/v1/grants/", json_object_get_string_member (made->json, "id"), NULL);
  revoke = hgd_test_daemon_request (fixture->td, "DELETE", path,
                                    token (fixture, HGD_ROLE_RESIDENT), NULL);
  g_assert_cmpuint (revoke->status, ==, SOUP_STATUS_NO_CONTENT);
  revoked = personal_water_alarm (fixture, HGD_ROLE_STAFF);
  g_assert_false (json_object_has_member (revoked, "detail"));
  g_assert_false (raised_event_has_detail (fixture, HGD_ROLE_STAFF));
}

static void
test_domains (Fixture *fixture,
              gconstpointer user_data)
{
  g_test_summary ("The municipality's sensor readings land in the municipal journal only and the "
                  "resident's own in the personal journal only, through events and the history "
                  "route alike");
  wait_subscribed (fixture, HGD_ROLE_STAFF, 1);
  wait_subscribed (fixture, HGD_ROLE_RESIDENT, 1);
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/hall-door",
                          "{\"contact\":false,\"battery\":97}", FALSE);
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/living-temp",
                          "{\"temperature\":21.5,\"humidity\":40}", FALSE);
  wait_events (fixture, HGD_ROLE_STAFF, "sensor.reading", "device", "hall-door", 1);
  wait_events (fixture, HGD_ROLE_RESIDENT, "sensor.reading", "device", "living-temp", 2);

  g_assert_cmpuint (
      count_events (fixture, HGD_ROLE_STAFF, "sensor.reading", "device", "living-temp"), ==, 0);
  g_assert_cmpuint (
      count_events (fixture, HGD_ROLE_RESIDENT, "sensor.reading", "device", "hall-door"), ==, 0);
  g_assert_cmpuint (
      count_events (fixture, HGD_ROLE_FAMILY, "sensor.reading", "device", "hall-door"), ==, 0);
  g_assert_cmpuint (count_events (fixture, HGD_ROLE_STAFF, "sensor.reading", "domain", "personal"),
                    ==, 0);
  g_assert_cmpuint (
      count_events (fixture, HGD_ROLE_RESIDENT, "sensor.reading", "domain", "municipal"), ==, 0);
  g_assert_cmpuint (history_length (fixture, HGD_ROLE_STAFF, "hall-door"), ==, 1);
  g_assert_cmpuint (history_length (fixture, HGD_ROLE_IT_ADMIN, "hall-door"), ==, 1);
  g_assert_cmpuint (history_length (fixture, HGD_ROLE_RESIDENT, "hall-door"), ==, 0);
  /* temperature and humidity */
  g_assert_cmpuint (history_length (fixture, HGD_ROLE_RESIDENT, "living-temp"), ==, 2);
  g_assert_cmpuint (history_length (fixture, HGD_ROLE_FAMILY, "living-temp"), ==, 2);
  g_assert_cmpuint (history_length (fixture, HGD_ROLE_STAFF, "living-temp"), ==, 0);
}

static void
test_history_and_activity (Fixture *fixture,
                           gconstpointer user_data)
{
  g_autoptr(JsonObject) history = NULL;
  g_autoptr(JsonObject) later = NULL;
  g_autoptr(JsonObject) limited = NULL;
  g_autoptr(JsonObject) week = NULL;
  g_autoptr(JsonObject) month = NULL;
  JsonArray *readings;
  JsonArray *hours;
  JsonObject *body;
  const gchar *bad[] = {
    "/api/v1/sensors/hall-door/activity?days=8",
    "/api/v1/sensors/hall-door/activity?weeks=1",
    "/api/v1/sensors/hall-door/history?since=yesterday",
    "/api/v1/sensors/hall-door/history?limit=0",
    "/api/v1/sensors/hall-door/history?limit=10001",
    "/api/v1/sensors/hall%20door/history",
  };

  g_test_summary ("The history route returns a device's readings oldest first with since and "
                  "limit; the activity route counts them per hour over 7 or 30 days; bad "
                  "parameters are 400 with a stable code");
  wait_subscribed (fixture, HGD_ROLE_STAFF, 1);
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/hall-door", "{\"contact\":false}", FALSE);
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/hall-door", "{\"contact\":true}", FALSE);
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/hall-door", "{\"contact\":false}", FALSE);
  wait_events (fixture, HGD_ROLE_STAFF, "sensor.reading", "device", "hall-door", 3);

  history = get_json (fixture, HGD_ROLE_STAFF, "/api/v1/sensors/hall-door/history");
  readings = member_array (history, "readings");
  g_assert_cmpuint (json_array_get_length (readings), ==, 3);
  g_assert_false (json_object_get_boolean_member (history, "truncated"));
  body = json_object_get_object_member (json_array_get_object_element (readings, 0), "body");
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (readings, 0), "type"), ==,
      "sensor.reading");
  g_assert_cmpstr (json_object_get_string_member (body, "kind"), ==, "contact");
  g_assert_false (json_object_get_boolean_member (body, "value"));
  g_assert_cmpstr (json_object_get_string_member (body, "room"), ==, "hall");
  g_assert_cmpstr (json_object_get_string_member (body, "source"), ==, "z2m");
  body = json_object_get_object_member (json_array_get_object_element (readings, 1), "body");
  g_assert_true (json_object_get_boolean_member (body, "value"));

  limited = get_json (fixture, HGD_ROLE_STAFF, "/api/v1/sensors/hall-door/history?limit=2");
  g_assert_cmpuint (json_array_get_length (member_array (limited, "readings")), ==, 2);
  g_assert_true (json_object_get_boolean_member (limited, "truncated"));
  later = get_json (fixture, HGD_ROLE_STAFF,
                    "/api/v1/sensors/hall-door/history?since=2999-01-01T00:00:00Z");
  g_assert_cmpuint (json_array_get_length (member_array (later, "readings")), ==, 0);

  week = get_json (fixture, HGD_ROLE_STAFF, "/api/v1/sensors/hall-door/activity");
  hours = member_array (week, "hours");
  g_assert_cmpint (json_object_get_int_member (week, "days"), ==, 7);
  g_assert_cmpuint (json_array_get_length (hours), ==, 7 * 24);
  g_assert_cmpint (json_object_get_int_member (week, "total"), ==, 3);
  /* the readings are from this hour, the last bucket (or the one before, at an hour's turn) */
  g_assert_cmpint (json_array_get_int_element (hours, 7 * 24 - 1)
                       + json_array_get_int_element (hours, 7 * 24 - 2),
                   ==, 3);
  month = get_json (fixture, HGD_ROLE_STAFF, "/api/v1/sensors/hall-door/activity?days=30");
  g_assert_cmpuint (json_array_get_length (member_array (month, "hours")), ==, 30 * 24);
  g_assert_cmpint (json_object_get_int_member (month, "total"), ==, 3);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(HgdTestResponse) response = hgd_test_daemon_request (
          fixture->td, "GET", bad[i], token (fixture, HGD_ROLE_STAFF), NULL);
      g_test_message ("%s: %u", bad[i], response->status);
      g_assert_cmpuint (response->status, ==, SOUP_STATUS_BAD_REQUEST);
      g_assert_cmpstr (hgd_test_response_error_code (response), ==, "invalid-request");
    }
}

static void
test_broker_restart (Fixture *fixture,
                     gconstpointer user_data)
{
  g_test_summary ("The broker killed and restarted: the plugin in its host reconnects and "
                  "subscribes again, and a leak afterwards still raises its alarm; the host was "
                  "never restarted");
  wait_subscribed (fixture, HGD_ROLE_STAFF, 1);
  hg_test_broker_stop (fixture->broker);
  hg_test_broker_start (fixture->broker);
  wait_subscribed (fixture, HGD_ROLE_STAFF, 2);
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/kitchen-leak", "{\"water_leak\":true}",
                          FALSE);
  wait_events (fixture, HGD_ROLE_STAFF, "alarm.raised", NULL, NULL, 1);
  g_assert_cmpuint (count_events (fixture, HGD_ROLE_STAFF, "plugin.restarted", NULL, NULL), ==, 0);
  g_assert_cmpuint (count_events (fixture, HGD_ROLE_STAFF, "plugin.crashed", NULL, NULL), ==, 0);
}

static void
test_garbage (Fixture *fixture,
              gconstpointer user_data)
{
  g_autoptr(GSubprocess) sim = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *port = g_strdup_printf ("%u", fixture->broker->port);

  g_test_summary ("The simulator's garbage does not disturb the plugin host: it keeps running, "
                  "counts what it dropped in its health report, and the next good message counts");
  wait_subscribed (fixture, HGD_ROLE_STAFF, 1);
  sim = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error,
                          g_getenv ("HEMGATE_SENSOR_SIM"), "--port", port, "--scenario", "garbage",
                          NULL);
  g_assert_no_error (error);
  g_subprocess_wait_check (sim, NULL, &error);
  g_assert_no_error (error);
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/hall-door", "{\"contact\":true}", FALSE);
  wait_events (fixture, HGD_ROLE_STAFF, "sensor.reading", "device", "hall-door", 1);
  g_assert_cmpuint (count_events (fixture, HGD_ROLE_STAFF, "plugin.crashed", NULL, NULL), ==, 0);
  g_assert_cmpuint (count_events (fixture, HGD_ROLE_STAFF, "sensor.reading", "device", "hall-door"),
                    ==, 1);
  g_assert_cmpuint (count_events (fixture, HGD_ROLE_STAFF, "alarm.raised", NULL, NULL), ==, 0);
}

/* The instance @id in GET /api/v1/health as @role sees it. */
static JsonObject *
health_plugin (JsonObject *health,
               const gchar *id)
{
  JsonArray *plugins = member_array (health, "plugins");

  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *plugin = json_array_get_object_element (plugins, i);
      if (g_strcmp0 (json_object_get_string_member (plugin, "id"), id) == 0)
        return plugin;
    }
  g_assert_not_reached ();
}

static gboolean
reported_subscribed (JsonObject *plugin)
{
  JsonNode *node = json_object_get_member (plugin, "health");
  JsonObject *report;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return FALSE;
  report = json_object_get_object_member (json_node_get_object (node), "report");
  return json_object_get_boolean_member (json_object_get_object_member (report, "broker"),
                                         "subscribed");
}

static void
test_health_in_api (Fixture *fixture,
                    gconstpointer user_data)
{
  g_autoptr(HgdTestResponse) anonymous = NULL;
  g_autoptr(JsonObject) resident = NULL;
  guint attempt;

  g_test_summary ("The plugin's own health report (hg_context_report_health) shows in "
                  "GET /api/v1/health beside its state and restarts, for municipal roles and "
                  "municipal instances only: the resident's own instance is only counted, "
                  "nothing for personal roles or anonymous callers");
  wait_subscribed (fixture, HGD_ROLE_STAFF, 1);
  for (attempt = 0; attempt < WAIT_SECONDS * 10; attempt++)
    {
      g_autoptr(JsonObject) health = get_json (fixture, HGD_ROLE_STAFF, "/api/v1/health");
      if (reported_subscribed (health_plugin (health, "sensors-municipal")))
        break;
      hg_test_run_for (100);
    }
  g_assert_cmpuint (attempt, <, WAIT_SECONDS * 10);

  /* the garbage is counted on the device, and the count reaches the API within a tick */
  hg_test_broker_publish (fixture->broker, "zigbee2mqtt/hall-door", "not json", FALSE);
  for (attempt = 0; attempt < WAIT_SECONDS * 10; attempt++)
    {
      g_autoptr(JsonObject) health = get_json (fixture, HGD_ROLE_IT_ADMIN, "/api/v1/health");
      JsonObject *plugin = health_plugin (health, "sensors-municipal");
      JsonObject *report = json_object_get_object_member (
          json_object_get_object_member (plugin, "health"), "report");
      JsonObject *door = json_object_get_object_member (
          json_object_get_object_member (report, "devices"), "hall-door");

      g_assert_cmpstr (json_object_get_string_member (plugin, "state"), ==, "running");
      g_assert_cmpint (json_object_get_int_member (plugin, "restarts"), ==, 0);
      g_assert_nonnull (json_object_get_string_member (
          json_object_get_object_member (plugin, "health"), "reported"));
      /* the resident's own instance: not listed, only counted */
      g_assert_cmpint (json_object_get_int_member (
                           json_object_get_object_member (health, "personal_plugins"), "instances"),
                       ==, 1);
      if (json_object_get_int_member (json_object_get_object_member (door, "dropped"), "not-json")
          == 1)
        break;
      hg_test_run_for (100);
    }
  g_assert_cmpuint (attempt, <, WAIT_SECONDS * 10);

  resident = get_json (fixture, HGD_ROLE_RESIDENT, "/api/v1/health");
  g_assert_false (json_object_has_member (resident, "plugins"));
  anonymous = hgd_test_daemon_request (fixture->td, "GET", "/api/v1/health", NULL, NULL);
  g_assert_cmpuint (anonymous->status, ==, SOUP_STATUS_OK);
  g_assert_false (json_object_has_member (anonymous->json, "plugins"));
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/sensors/e2e/water-leak-one-alarm-for-fifty-messages", Fixture, NULL, setup,
              test_water_leak, teardown);
  g_test_add ("/sensors/e2e/personal-alarm-detail-under-grant", Fixture, NULL, setup,
              test_personal_alarm_detail, teardown);
  g_test_add ("/sensors/e2e/readings-in-owner-domain-only", Fixture, NULL, setup, test_domains,
              teardown);
  g_test_add ("/sensors/e2e/history-and-activity-routes", Fixture, NULL, setup,
              test_history_and_activity, teardown);
  g_test_add ("/sensors/e2e/broker-restart-reconnects-in-host", Fixture, NULL, setup,
              test_broker_restart, teardown);
  g_test_add ("/sensors/e2e/garbage-does-not-disturb-host", Fixture, NULL, setup, test_garbage,
              teardown);
  g_test_add ("/sensors/e2e/plugin-health-in-api", Fixture, NULL, setup, test_health_in_api,
              teardown);
  return g_test_run ();
}
