/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of HgEvent and HgAlarm: their wire forms round-trip and bad input is refused. */
#include "config.h"

#include <hemgate-plugin.h>
#include <hg-event-private.h>

static void
test_event_roundtrip (void)
{
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(HgEvent) event = NULL;
  g_autoptr(HgEvent) copy = NULL;
  g_autoptr(JsonObject) wire = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("An event survives its wire form with every field");
  json_object_set_int_member (body, "battery", 97);
  event = hg_event_new ("sensor.reading", body);
  hg_event_set_domain (event, HG_DOMAIN_PERSONAL);
  hg_event_set_seq (event, 42);
  hg_event_set_timestamp (event, 1700000000123456);
  hg_event_set_source (event, "plugin:example");
  wire = hg_event_to_json (event);
  copy = hg_event_new_from_json (wire, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (hg_event_get_event_type (copy), ==, "sensor.reading");
  g_assert_cmpint (hg_event_get_domain (copy), ==, HG_DOMAIN_PERSONAL);
  g_assert_cmpuint (hg_event_get_seq (copy), ==, 42);
  g_assert_cmpint (hg_event_get_timestamp (copy), ==, 1700000000123456);
  g_assert_cmpstr (hg_event_get_source (copy), ==, "plugin:example");
  g_assert_cmpint (json_object_get_int_member (hg_event_get_body (copy), "battery"), ==, 97);
}

static void
test_event_types (void)
{
  g_test_summary ("Event types are dotted lower-case words");
  g_assert_true (hg_event_type_is_valid ("alarm.raised"));
  g_assert_true (hg_event_type_is_valid ("plugin.host-crashed"));
  g_assert_false (hg_event_type_is_valid ("alarm"));
  g_assert_false (hg_event_type_is_valid ("Alarm.raised"));
  g_assert_false (hg_event_type_is_valid (".alarm"));
  g_assert_false (hg_event_type_is_valid ("alarm.raised."));
  g_assert_false (hg_event_type_is_valid ("alarm raised"));
  g_assert_false (hg_event_type_is_valid (NULL));
}

static void
test_alarm_json (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) obj = NULL;
  g_autoptr(HgAlarm) alarm = NULL;
  g_autoptr(JsonObject) wire = NULL;
  HgAlarmState state;

  g_test_summary ("An alarm reads from JSON with checks and writes back the same fields");
  obj = hg_json_parse_object ("{\"ref\":\"A1\",\"type\":\"fall\",\"state\":\"delivered\","
                              "\"device\":\"pendant\",\"location\":\"bedroom\",\"priority\":7}",
                              -1, 0, &error);
  g_assert_no_error (error);
  alarm = hg_alarm_new_from_json (obj, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (hg_alarm_get_reference (alarm), ==, "A1");
  g_assert_cmpint (hg_alarm_get_state (alarm), ==, HG_ALARM_STATE_DELIVERED);
  g_assert_cmpuint (hg_alarm_get_priority (alarm), ==, 7);
  wire = hg_alarm_to_json (alarm);
  g_assert_cmpstr (json_object_get_string_member (wire, "location"), ==, "bedroom");

  g_assert_true (hg_alarm_state_from_string ("speech-connected", &state));
  g_assert_cmpint (state, ==, HG_ALARM_STATE_SPEECH_CONNECTED);
  g_assert_true (hg_alarm_state_is_final (HG_ALARM_STATE_CANCELLED));
  g_assert_false (hg_alarm_state_is_final (HG_ALARM_STATE_ACKNOWLEDGED));
}

static void
test_alarm_bad (void)
{
  const gchar *bad[] = {
    "{\"type\":\"party\"}",
    "{\"type\":\"fall\",\"priority\":10}",
    "{\"type\":\"fall\",\"state\":\"lost\"}",
    "{\"type\":\"fall\",\"colour\":\"red\"}",
    "{\"type\":3}",
    NULL,
  };

  g_test_summary ("Unknown types, states, members and out-of-range priorities are refused");
  for (guint i = 0; bad[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonObject) obj = hg_json_parse_object (bad[i], -1, 0, &error);
      g_autoptr(HgAlarm) alarm = NULL;

      g_assert_no_error (error);
      alarm = hg_alarm_new_from_json (obj, &error);
      g_assert_null (alarm);
      g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
    }
}

static void
test_error_dbus_names (void)
{
  g_autoptr(GError) error = g_error_new_literal (HG_ERROR, HG_ERROR_PERMISSION_DENIED, "no");
  g_autofree gchar *name = g_dbus_error_encode_gerror (error);
  g_autoptr(GError) remote = NULL;

  g_test_summary ("HG_ERROR codes map to and from stable D-Bus error names");
  g_assert_cmpstr (name, ==, "org.hemgate.Error.PermissionDenied");
  remote = g_dbus_error_new_for_dbus_error ("org.hemgate.Error.PermissionDenied", "denied");
  g_assert_error (remote, HG_ERROR, HG_ERROR_PERMISSION_DENIED);
  g_assert_cmpstr (hg_error_to_string (HG_ERROR_TIMED_OUT), ==, "org.hemgate.Error.TimedOut");
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/event/wire-form-roundtrip", test_event_roundtrip);
  g_test_add_func ("/event/type-names", test_event_types);
  g_test_add_func ("/alarm/json-roundtrip", test_alarm_json);
  g_test_add_func ("/alarm/json-rejects-bad", test_alarm_bad);
  g_test_add_func ("/error/dbus-names", test_error_dbus_names);
  return g_test_run ();
}
