/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: an alarm from untrusted JSON (hg_json_parse_object + hg_alarm_new_from_json),
 * as a plugin or an API client sends it; what is accepted must survive a round trip. */
#include "config.h"

#include <hemgate-plugin.h>

#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t size)
{
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(HgAlarm) alarm = NULL;
  g_autoptr(JsonObject) written = NULL;
  g_autoptr(JsonObject) reread = NULL;
  g_autoptr(HgAlarm) again = NULL;
  g_autofree gchar *text = NULL;

  fuzz_setup ();
  if (size > FUZZ_MAX_INPUT)
    return 0;
  object = hg_json_parse_object ((const gchar *) data, (gssize) size, FUZZ_MAX_INPUT, NULL);
  if (object == NULL)
    return 0;
  alarm = hg_alarm_new_from_json (object, NULL);
  if (alarm == NULL)
    return 0;

  /* what the gateway accepted, it writes in a form it accepts again, unchanged */
  written = hg_alarm_to_json (alarm);
  text = hg_json_object_to_string (written);
  reread = hg_json_parse_object (text, -1, 0, NULL);
  g_assert_nonnull (reread);
  again = hg_alarm_new_from_json (reread, NULL);
  g_assert_nonnull (again);
  g_assert_cmpstr (hg_alarm_get_alarm_type (again), ==, hg_alarm_get_alarm_type (alarm));
  g_assert_cmpint (hg_alarm_get_state (again), ==, hg_alarm_get_state (alarm));
  g_assert_cmpstr (hg_alarm_get_reference (again), ==, hg_alarm_get_reference (alarm));
  g_assert_cmpstr (hg_alarm_get_source (again), ==, hg_alarm_get_source (alarm));
  g_assert_cmpstr (hg_alarm_get_device (again), ==, hg_alarm_get_device (alarm));
  g_assert_cmpstr (hg_alarm_get_location (again), ==, hg_alarm_get_location (alarm));
  g_assert_cmpuint (hg_alarm_get_priority (again), ==, hg_alarm_get_priority (alarm));
  return 0;
}
