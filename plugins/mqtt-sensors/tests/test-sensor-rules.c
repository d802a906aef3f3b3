/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the rules engine with time passed in, so nights, weeks and daylight-saving
 * changes take microseconds: each rule type fires when it should, once (de-duplicated
 * until its condition clears), not when it should not, and a bad rule key is refused by
 * name. Local times are in CET/CEST (a POSIX rule, so no tzdata is needed). */
#include <hemgate-plugin.h>

#include "hg-sensor-registry.h"
#include "hg-sensor-rules.h"

#define MINUTE ((gint64) 60 * G_USEC_PER_SEC)
#define SWEDEN "CET-1CEST,M3.5.0,M10.5.0/3"

static const gchar *const devices_config[] = {
  "device.door.source",
  "z2m",
  "device.door.kind",
  "contact",
  "device.door.room",
  "hall",
  "device.window.source",
  "z2m",
  "device.window.kind",
  "contact",
  "device.bed.source",
  "z2m",
  "device.bed.kind",
  "occupancy",
  "device.bed.room",
  "bedroom",
  "device.motion.source",
  "z2m",
  "device.motion.kind",
  "occupancy",
  "device.leak.source",
  "z2m",
  "device.leak.kind",
  "water_leak",
  "device.leak.room",
  "kitchen",
  "device.smoke.source",
  "z2m",
  "device.smoke.kind",
  "smoke",
  "device.button.source",
  "z2m",
  "device.button.kind",
  "action",
  "device.temp.source",
  "z2m",
  "device.temp.kind",
  "temperature",
  NULL,
};

typedef struct
{
  GTimeZone *tz;              /* (owned) */
  HgSensorRegistry *registry; /* (owned) */
  HgSensorRules *rules;       /* (owned) (nullable) */
  GPtrArray *firings;         /* (owned) */
} Fixture;

static void
setup (Fixture *fixture,
       gconstpointer user_data)
{
  g_autoptr(HgConfig) config = hg_config_new ();
  g_autoptr(GError) error = NULL;

  fixture->tz = g_time_zone_new_identifier (SWEDEN);
  g_assert_nonnull (fixture->tz);
  for (guint i = 0; devices_config[i] != NULL; i += 2)
    hg_config_set (config, devices_config[i], devices_config[i + 1]);
  fixture->registry = hg_sensor_registry_new ();
  g_assert_true (hg_sensor_registry_load (fixture->registry, config, &error));
  g_assert_no_error (error);
  fixture->firings = g_ptr_array_new_with_free_func ((GDestroyNotify) hg_sensor_firing_free);
}

static void
teardown (Fixture *fixture,
          gconstpointer user_data)
{
  g_ptr_array_unref (fixture->firings);
  g_clear_object (&fixture->rules);
  g_clear_object (&fixture->registry);
  g_time_zone_unref (fixture->tz);
}

/* Local wall-clock time in CET/CEST, as microseconds since the epoch. */
static gint64
at (Fixture *fixture,
    gint month,
    gint day,
    gint hour,
    gint minute)
{
  g_autoptr(GDateTime) dt = g_date_time_new (fixture->tz, 2024, month, day, hour, minute, 0);

  return g_date_time_to_unix (dt) * G_USEC_PER_SEC;
}

/* Loads the rules of @pairs ("key", "value", ...) and starts the engine at @start. */
static void
load_rules (Fixture *fixture,
            gint64 start,
            const gchar *first_key,
            ...)
{
  g_autoptr(HgConfig) config = hg_config_new ();
  g_autoptr(GError) error = NULL;
  const gchar *key = first_key;
  va_list args;

  va_start (args, first_key);
  while (key != NULL)
    {
      hg_config_set (config, key, va_arg (args, const gchar *));
      key = va_arg (args, const gchar *);
    }
  va_end (args);
  fixture->rules = hg_sensor_rules_new (fixture->registry, fixture->tz);
  g_assert_true (hg_sensor_rules_load (fixture->rules, config, &error));
  g_assert_no_error (error);
  hg_sensor_rules_start (fixture->rules, start);
}

static void
send_bool (Fixture *fixture,
           const gchar *device,
           HgSensorKind kind,
           gboolean value,
           gint64 ts)
{
  g_autoptr(HgSensorReading) reading
      = hg_sensor_reading_new (device, HG_DOMAIN_MUNICIPAL, kind, ts);

  hg_sensor_reading_set_boolean (reading, value);
  hg_sensor_rules_process (fixture->rules, reading, fixture->firings);
}

static void
send_number (Fixture *fixture,
             const gchar *device,
             HgSensorKind kind,
             gdouble value,
             gint battery,
             gint64 ts)
{
  g_autoptr(HgSensorReading) reading
      = hg_sensor_reading_new (device, HG_DOMAIN_MUNICIPAL, kind, ts);

  hg_sensor_reading_set_number (reading, value);
  reading->battery = battery;
  hg_sensor_rules_process (fixture->rules, reading, fixture->firings);
}

static void
send_action (Fixture *fixture,
             const gchar *device,
             const gchar *action,
             gint64 ts)
{
  g_autoptr(HgSensorReading) reading
      = hg_sensor_reading_new (device, HG_DOMAIN_MUNICIPAL, HG_SENSOR_KIND_ACTION, ts);

  hg_sensor_reading_set_text (reading, action);
  hg_sensor_rules_process (fixture->rules, reading, fixture->firings);
}

static void
tick (Fixture *fixture,
      gint64 now)
{
  hg_sensor_rules_tick (fixture->rules, now, fixture->firings);
}

static HgSensorFiring *
firing (Fixture *fixture,
        guint i)
{
  g_assert_cmpuint (i, <, fixture->firings->len);
  return g_ptr_array_index (fixture->firings, i);
}

/* /sensors/rules/config ------------------------------------------------------------------ */

static void
test_config_errors (Fixture *fixture,
                    gconstpointer user_data)
{
  static const struct
  {
    const gchar *pairs[8];
    const gchar *named;
  } cases[] = {
    { { "rule.a.type", "sometimes" }, "'rule.a.type'" },
    { { "rule.a.devices", "door" }, "'rule.a.type'" },
    { { "rule.a.type", "immediate", "rule.a.devices", "nosuch" }, "'rule.a.devices'" },
    { { "rule.a.type", "immediate", "rule.a.devices", "door" }, "'rule.a.devices'" },
    { { "rule.a.type", "night-door", "rule.a.devices", "bed" }, "'rule.a.devices'" },
    { { "rule.a.type", "night-door", "rule.a.from", "25:00" }, "'rule.a.from'" },
    { { "rule.a.type", "night-door", "rule.a.to", "7" }, "'rule.a.to'" },
    { { "rule.a.type", "night-door", "rule.a.from", "06:00", "rule.a.to", "06:00" },
      "'rule.a.to'" },
    { { "rule.a.type", "bed-exit" }, "'rule.a.devices'" },
    { { "rule.a.type", "bed-exit", "rule.a.devices", "bed", "rule.a.minutes", "0" },
      "'rule.a.minutes'" },
    { { "rule.a.type", "inactivity", "rule.a.to", "11:00" }, "'rule.a.from'" },
    { { "rule.a.type", "temperature", "rule.a.min", "cold" }, "'rule.a.min'" },
    { { "rule.a.type", "temperature", "rule.a.max", "300" }, "'rule.a.max'" },
    { { "rule.a.type", "temperature", "rule.a.min", "25", "rule.a.max", "20" }, "'rule.a.max'" },
    { { "rule.a.type", "low-battery", "rule.a.below", "100" }, "'rule.a.below'" },
    { { "rule.a.type", "low-battery", "rule.a.min", "3" }, "'rule.a.min'" },
    { { "rule.a.type", "offline", "rule.a.alarm-type", "meteor" }, "'rule.a.alarm-type'" },
    { { "rule.a.type", "offline", "rule.a.priority", "10" }, "'rule.a.priority'" },
    { { "rule.a.type", "immediate", "rule.a.actions", "sos;<b>" }, "'rule.a.actions'" },
    { { "rule.a.type", "immediate", "rule.a.colour", "red" }, "'rule.a.colour'" },
    { { "rule.A.type", "immediate" }, "'rule.A.type'" },
  };

  g_test_summary ("A bad rule key is HG_ERROR_INVALID_DATA naming the key: unknown types and "
                  "fields, devices that do not exist or cannot satisfy the rule, bad times, "
                  "ranges and alarm types");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(HgConfig) config = hg_config_new ();
      g_autoptr(HgSensorRules) rules = hg_sensor_rules_new (fixture->registry, fixture->tz);
      g_autoptr(GError) error = NULL;

      for (guint j = 0; cases[i].pairs[j] != NULL; j += 2)
        hg_config_set (config, cases[i].pairs[j], cases[i].pairs[j + 1]);
      g_assert_false (hg_sensor_rules_load (rules, config, &error));
      g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
      g_test_message ("case %u: %s", i, error->message);
      g_assert_nonnull (strstr (error->message, cases[i].named));
    }
}

/* /sensors/rules/immediate ----------------------------------------------------------------- */

static void
test_water_leak_once (Fixture *fixture,
                      gconstpointer user_data)
{
  gint64 t = at (fixture, 5, 1, 12, 0);
  HgSensorFiring *f;

  g_test_summary ("Fifty water-leak messages are one water alarm; dry, then wet again, is a "
                  "second");
  load_rules (fixture, t, "rule.leak.type", "immediate", NULL);
  for (guint i = 0; i < 50; i++)
    send_bool (fixture, "leak", HG_SENSOR_KIND_WATER_LEAK, TRUE, t + i);
  g_assert_cmpuint (fixture->firings->len, ==, 1);
  f = firing (fixture, 0);
  g_assert_cmpstr (f->alarm_type, ==, "water");
  g_assert_cmpstr (f->rule, ==, "leak");
  g_assert_cmpstr (f->rule_type, ==, "immediate");
  g_assert_cmpstr (f->device, ==, "leak");
  g_assert_nonnull (f->reading);
  g_assert_true (f->reading->boolean);
  g_assert_cmpuint (f->priority, ==, 7);
  tick (fixture, t + 60 * MINUTE);
  g_assert_cmpuint (fixture->firings->len, ==, 1);
  g_assert_cmpuint (hg_sensor_rules_get_n_active (fixture->rules), ==, 1);
  send_bool (fixture, "leak", HG_SENSOR_KIND_WATER_LEAK, FALSE, t + 100);
  g_assert_cmpuint (hg_sensor_rules_get_n_active (fixture->rules), ==, 0);
  send_bool (fixture, "leak", HG_SENSOR_KIND_WATER_LEAK, TRUE, t + 200);
  g_assert_cmpuint (fixture->firings->len, ==, 2);
}

static void
test_smoke_fall_button (Fixture *fixture,
                        gconstpointer user_data)
{
  gint64 t = at (fixture, 5, 1, 12, 0);

  g_test_summary ("Smoke is a fire alarm, a button press an assistance alarm; presses within "
                  "`rearm` seconds of the last are one call, a later one a new call");
  load_rules (fixture, t, "rule.now.type", "immediate", "rule.now.rearm", "60", NULL);
  send_bool (fixture, "smoke", HG_SENSOR_KIND_SMOKE, FALSE, t);
  g_assert_cmpuint (fixture->firings->len, ==, 0);
  send_bool (fixture, "smoke", HG_SENSOR_KIND_SMOKE, TRUE, t);
  g_assert_cmpuint (fixture->firings->len, ==, 1);
  g_assert_cmpstr (firing (fixture, 0)->alarm_type, ==, "fire");
  g_assert_cmpuint (firing (fixture, 0)->priority, ==, 9);

  send_action (fixture, "button", "single", t);
  send_action (fixture, "button", "double", t + 20 * G_USEC_PER_SEC);
  send_action (fixture, "button", "single", t + 50 * G_USEC_PER_SEC);
  g_assert_cmpuint (fixture->firings->len, ==, 2);
  g_assert_cmpstr (firing (fixture, 1)->alarm_type, ==, "assistance");
  g_assert_cmpstr (firing (fixture, 1)->reading->text, ==, "single");
  send_action (fixture, "button", "single", t + 200 * G_USEC_PER_SEC);
  g_assert_cmpuint (fixture->firings->len, ==, 3);
}

static void
test_button_actions_filter (Fixture *fixture,
                            gconstpointer user_data)
{
  gint64 t = at (fixture, 5, 1, 12, 0);

  g_test_summary ("`actions` limits which button actions call for help; the alarm type can be "
                  "configured");
  load_rules (fixture, t, "rule.sos.type", "immediate", "rule.sos.devices", "button",
              "rule.sos.actions", "hold; sos", "rule.sos.alarm-type", "fall", "rule.sos.priority",
              "9", NULL);
  send_action (fixture, "button", "single", t);
  g_assert_cmpuint (fixture->firings->len, ==, 0);
  send_action (fixture, "button", "hold", t);
  g_assert_cmpuint (fixture->firings->len, ==, 1);
  g_assert_cmpstr (firing (fixture, 0)->alarm_type, ==, "fall");
  g_assert_cmpuint (firing (fixture, 0)->priority, ==, 9);
  /* a leak is not the button rule's device */
  send_bool (fixture, "leak", HG_SENSOR_KIND_WATER_LEAK, TRUE, t);
  g_assert_cmpuint (fixture->firings->len, ==, 1);
}

/* /sensors/rules/night-door ----------------------------------------------------------------- */

static void
test_night_door (Fixture *fixture,
                 gconstpointer user_data)
{
  g_test_summary ("A door opened between 22:00 and 06:00 local time is a door alarm, once per "
                  "opening; by day it is nothing; a door still open when the window starts "
                  "fires then");
  load_rules (fixture, at (fixture, 5, 1, 12, 0), "rule.night.type", "night-door",
              "rule.night.devices", "door", NULL);
  send_bool (fixture, "door", HG_SENSOR_KIND_CONTACT, FALSE, at (fixture, 5, 1, 12, 0));
  send_bool (fixture, "door", HG_SENSOR_KIND_CONTACT, TRUE, at (fixture, 5, 1, 12, 1));
  g_assert_cmpuint (fixture->firings->len, ==, 0);
  send_bool (fixture, "door", HG_SENSOR_KIND_CONTACT, FALSE, at (fixture, 5, 1, 23, 10));
  send_bool (fixture, "door", HG_SENSOR_KIND_CONTACT, FALSE, at (fixture, 5, 1, 23, 11));
  tick (fixture, at (fixture, 5, 1, 23, 30));
  g_assert_cmpuint (fixture->firings->len, ==, 1);
  g_assert_cmpstr (firing (fixture, 0)->alarm_type, ==, "door");
  g_assert_cmpstr (firing (fixture, 0)->device, ==, "door");
  g_assert_nonnull (firing (fixture, 0)->reading);
  send_bool (fixture, "door", HG_SENSOR_KIND_CONTACT, TRUE, at (fixture, 5, 2, 0, 0));
  send_bool (fixture, "door", HG_SENSOR_KIND_CONTACT, FALSE, at (fixture, 5, 2, 5, 59));
  g_assert_cmpuint (fixture->firings->len, ==, 2);

  /* left open in the evening: the alarm comes when the window starts */
  send_bool (fixture, "door", HG_SENSOR_KIND_CONTACT, TRUE, at (fixture, 5, 2, 6, 5));
  send_bool (fixture, "door", HG_SENSOR_KIND_CONTACT, FALSE, at (fixture, 5, 2, 21, 50));
  tick (fixture, at (fixture, 5, 2, 21, 59));
  g_assert_cmpuint (fixture->firings->len, ==, 2);
  tick (fixture, at (fixture, 5, 2, 22, 0));
  g_assert_cmpuint (fixture->firings->len, ==, 3);
  /* the window sensor is not one of this rule's devices */
  send_bool (fixture, "window", HG_SENSOR_KIND_CONTACT, FALSE, at (fixture, 5, 2, 23, 0));
  g_assert_cmpuint (fixture->firings->len, ==, 3);
}

static void
test_night_door_dst (Fixture *fixture,
                     gconstpointer user_data)
{
  g_autoptr(GDateTime) utc_spring = g_date_time_new_utc (2024, 3, 31, 4, 30, 0);
  g_autoptr(GDateTime) utc_autumn = g_date_time_new_utc (2024, 10, 27, 4, 30, 0);
  g_autoptr(GDateTime) utc_autumn_late = g_date_time_new_utc (2024, 10, 27, 5, 30, 0);
  gint64 spring = g_date_time_to_unix (utc_spring) * G_USEC_PER_SEC;
  gint64 autumn = g_date_time_to_unix (utc_autumn) * G_USEC_PER_SEC;
  gint64 autumn_late = g_date_time_to_unix (utc_autumn_late) * G_USEC_PER_SEC;

  g_test_summary ("The window follows local wall-clock time across daylight-saving changes: "
                  "04:30 UTC is 06:30 CEST after the spring change (outside 22-06) and 05:30 "
                  "CET after the autumn change (inside)");
  load_rules (fixture, at (fixture, 3, 30, 12, 0), "rule.night.type", "night-door", NULL);
  send_bool (fixture, "door", HG_SENSOR_KIND_CONTACT, FALSE, spring);
  g_assert_cmpuint (fixture->firings->len, ==, 0);
  send_bool (fixture, "door", HG_SENSOR_KIND_CONTACT, TRUE, spring + MINUTE);
  send_bool (fixture, "door", HG_SENSOR_KIND_CONTACT, FALSE, autumn);
  g_assert_cmpuint (fixture->firings->len, ==, 1);
  send_bool (fixture, "door", HG_SENSOR_KIND_CONTACT, TRUE, autumn + MINUTE);
  send_bool (fixture, "door", HG_SENSOR_KIND_CONTACT, FALSE, autumn_late);
  g_assert_cmpuint (fixture->firings->len, ==, 1);
}

/* /sensors/rules/bed-exit ------------------------------------------------------------------ */

static void
test_bed_exit (Fixture *fixture,
               gconstpointer user_data)
{
  gint64 out = at (fixture, 5, 1, 2, 0);

  g_test_summary ("Out of bed at night and back within N minutes is nothing; not back after N "
                  "minutes is one alarm; out of bed by day is nothing");
  load_rules (fixture, at (fixture, 4, 30, 20, 0), "rule.bed.type", "bed-exit", "rule.bed.devices",
              "bed", "rule.bed.minutes", "20", NULL);
  send_bool (fixture, "bed", HG_SENSOR_KIND_OCCUPANCY, FALSE, out);
  tick (fixture, out + 10 * MINUTE);
  send_bool (fixture, "bed", HG_SENSOR_KIND_OCCUPANCY, TRUE, out + 15 * MINUTE);
  tick (fixture, out + 30 * MINUTE);
  g_assert_cmpuint (fixture->firings->len, ==, 0);

  send_bool (fixture, "bed", HG_SENSOR_KIND_OCCUPANCY, FALSE, out + 60 * MINUTE);
  tick (fixture, out + 79 * MINUTE);
  g_assert_cmpuint (fixture->firings->len, ==, 0);
  tick (fixture, out + 80 * MINUTE);
  tick (fixture, out + 90 * MINUTE);
  send_bool (fixture, "bed", HG_SENSOR_KIND_OCCUPANCY, FALSE, out + 91 * MINUTE);
  tick (fixture, out + 120 * MINUTE);
  g_assert_cmpuint (fixture->firings->len, ==, 1);
  g_assert_cmpstr (firing (fixture, 0)->alarm_type, ==, "fall");
  g_assert_cmpstr (firing (fixture, 0)->rule_type, ==, "bed-exit");
  g_assert_nonnull (strstr (firing (fixture, 0)->reason, "20 minutes"));

  /* back, then up for the day at 09:00: no alarm */
  send_bool (fixture, "bed", HG_SENSOR_KIND_OCCUPANCY, TRUE, at (fixture, 5, 1, 5, 0));
  send_bool (fixture, "bed", HG_SENSOR_KIND_OCCUPANCY, FALSE, at (fixture, 5, 1, 9, 0));
  tick (fixture, at (fixture, 5, 1, 12, 0));
  g_assert_cmpuint (fixture->firings->len, ==, 1);
}

/* /sensors/rules/inactivity ------------------------------------------------------------------ */

static void
test_inactivity (Fixture *fixture,
                 gconstpointer user_data)
{
  g_test_summary ("No activity between 07:00 and 11:00 is an inactivity alarm at 11:00, judged "
                  "once; activity in the window (any device of the rule) means none; a window "
                  "begun before the engine started is not judged");
  load_rules (fixture, at (fixture, 5, 1, 8, 0), "rule.morning.type", "inactivity",
              "rule.morning.from", "07:00", "rule.morning.to", "11:00", NULL);
  /* day 1: started mid-window, not judged */
  tick (fixture, at (fixture, 5, 1, 11, 5));
  g_assert_cmpuint (fixture->firings->len, ==, 0);
  /* day 2: motion at 06:59 does not count, nothing after: an alarm at 11:00 */
  send_bool (fixture, "motion", HG_SENSOR_KIND_OCCUPANCY, TRUE, at (fixture, 5, 2, 6, 59));
  send_number (fixture, "temp", HG_SENSOR_KIND_TEMPERATURE, 21, -1, at (fixture, 5, 2, 8, 0));
  send_bool (fixture, "motion", HG_SENSOR_KIND_OCCUPANCY, FALSE, at (fixture, 5, 2, 9, 0));
  tick (fixture, at (fixture, 5, 2, 10, 59));
  g_assert_cmpuint (fixture->firings->len, ==, 0);
  tick (fixture, at (fixture, 5, 2, 11, 0));
  tick (fixture, at (fixture, 5, 2, 11, 10));
  tick (fixture, at (fixture, 5, 2, 18, 0));
  g_assert_cmpuint (fixture->firings->len, ==, 1);
  g_assert_cmpstr (firing (fixture, 0)->alarm_type, ==, "inactivity");
  g_assert_null (firing (fixture, 0)->device);
  /* day 3: the door opened at 09:30: no alarm */
  send_bool (fixture, "door", HG_SENSOR_KIND_CONTACT, FALSE, at (fixture, 5, 3, 9, 30));
  tick (fixture, at (fixture, 5, 3, 11, 0));
  g_assert_cmpuint (fixture->firings->len, ==, 1);
  /* day 4: a button press counts as activity too */
  send_action (fixture, "button", "single", at (fixture, 5, 4, 7, 0));
  tick (fixture, at (fixture, 5, 4, 11, 0));
  g_assert_cmpuint (fixture->firings->len, ==, 1);
  /* day 5: nothing at all, a second alarm */
  tick (fixture, at (fixture, 5, 5, 11, 1));
  g_assert_cmpuint (fixture->firings->len, ==, 2);
}

static void
test_inactivity_dst (Fixture *fixture,
                     gconstpointer user_data)
{
  g_test_summary ("A night window 23:00-03:00 spanning the spring daylight-saving change "
                  "(02:00 -> 03:00) is judged at 03:00 local time");
  load_rules (fixture, at (fixture, 3, 30, 12, 0), "rule.night.type", "inactivity",
              "rule.night.from", "23:00", "rule.night.to", "03:00", "rule.night.devices", "motion",
              NULL);
  send_bool (fixture, "motion", HG_SENSOR_KIND_OCCUPANCY, TRUE, at (fixture, 3, 30, 22, 0));
  tick (fixture, at (fixture, 3, 31, 1, 59));
  g_assert_cmpuint (fixture->firings->len, ==, 0);
  /* 01:59 CET + 1 minute is 03:00 CEST */
  tick (fixture, at (fixture, 3, 31, 1, 59) + MINUTE);
  g_assert_cmpuint (fixture->firings->len, ==, 1);
}

/* /sensors/rules/temperature, low-battery, offline ------------------------------------------ */

static void
test_temperature (Fixture *fixture,
                  gconstpointer user_data)
{
  gint64 t = at (fixture, 1, 10, 12, 0);

  g_test_summary ("Temperature outside min..max for N minutes is one alarm; a short excursion "
                  "is none; back in range re-arms the rule");
  load_rules (fixture, t, "rule.cold.type", "temperature", "rule.cold.min", "16", "rule.cold.max",
              "28.5", "rule.cold.minutes", "30", NULL);
  send_number (fixture, "temp", HG_SENSOR_KIND_TEMPERATURE, 14, -1, t);
  tick (fixture, t + 20 * MINUTE);
  send_number (fixture, "temp", HG_SENSOR_KIND_TEMPERATURE, 17, -1, t + 25 * MINUTE);
  tick (fixture, t + 60 * MINUTE);
  g_assert_cmpuint (fixture->firings->len, ==, 0);
  send_number (fixture, "temp", HG_SENSOR_KIND_TEMPERATURE, 29, -1, t + 70 * MINUTE);
  send_number (fixture, "temp", HG_SENSOR_KIND_TEMPERATURE, 31, -1, t + 80 * MINUTE);
  tick (fixture, t + 99 * MINUTE);
  g_assert_cmpuint (fixture->firings->len, ==, 0);
  tick (fixture, t + 100 * MINUTE);
  send_number (fixture, "temp", HG_SENSOR_KIND_TEMPERATURE, 32, -1, t + 110 * MINUTE);
  g_assert_cmpuint (fixture->firings->len, ==, 1);
  g_assert_cmpstr (firing (fixture, 0)->alarm_type, ==, "assistance");
  g_assert_cmpfloat (firing (fixture, 0)->reading->number, ==, 31);
  send_number (fixture, "temp", HG_SENSOR_KIND_TEMPERATURE, 20, -1, t + 120 * MINUTE);
  send_number (fixture, "temp", HG_SENSOR_KIND_TEMPERATURE, 10, -1, t + 130 * MINUTE);
  tick (fixture, t + 160 * MINUTE);
  g_assert_cmpuint (fixture->firings->len, ==, 2);
}

static void
test_low_battery (Fixture *fixture,
                  gconstpointer user_data)
{
  gint64 t = at (fixture, 1, 10, 12, 0);

  g_test_summary ("A battery below the threshold is one technical alarm per device until it is "
                  "clearly back (replaced); battery_low true counts as low");
  load_rules (fixture, t, "rule.battery.type", "low-battery", "rule.battery.below", "15", NULL);
  send_bool (fixture, "door", HG_SENSOR_KIND_CONTACT, TRUE, t);
  send_number (fixture, "temp", HG_SENSOR_KIND_TEMPERATURE, 20, 40, t);
  g_assert_cmpuint (fixture->firings->len, ==, 0);
  send_number (fixture, "temp", HG_SENSOR_KIND_TEMPERATURE, 20, 14, t + 1);
  send_number (fixture, "temp", HG_SENSOR_KIND_TEMPERATURE, 20, 15, t + 2);
  send_number (fixture, "temp", HG_SENSOR_KIND_TEMPERATURE, 20, 13, t + 3);
  g_assert_cmpuint (fixture->firings->len, ==, 1);
  g_assert_cmpstr (firing (fixture, 0)->alarm_type, ==, "technical");
  g_assert_cmpstr (firing (fixture, 0)->device, ==, "temp");
  send_number (fixture, "temp", HG_SENSOR_KIND_BATTERY, 100, 100, t + 4);
  send_number (fixture, "temp", HG_SENSOR_KIND_TEMPERATURE, 20, 10, t + 5);
  g_assert_cmpuint (fixture->firings->len, ==, 2);
  send_bool (fixture, "leak", HG_SENSOR_KIND_BATTERY_LOW, TRUE, t + 6);
  g_assert_cmpuint (fixture->firings->len, ==, 3);
  g_assert_cmpstr (firing (fixture, 2)->device, ==, "leak");
}

static void
test_offline (Fixture *fixture,
              gconstpointer user_data)
{
  gint64 t = at (fixture, 1, 10, 12, 0);

  g_test_summary ("A device heard nothing from for N minutes (counted from start, so also one "
                  "never heard from) is one technical alarm; reported offline by its bridge "
                  "fires at once; any message re-arms");
  load_rules (fixture, t, "rule.silent.type", "offline", "rule.silent.devices", "door, leak",
              "rule.silent.minutes", "60", NULL);
  send_bool (fixture, "door", HG_SENSOR_KIND_CONTACT, TRUE, t + 30 * MINUTE);
  tick (fixture, t + 59 * MINUTE);
  g_assert_cmpuint (fixture->firings->len, ==, 0);
  tick (fixture, t + 60 * MINUTE);
  g_assert_cmpuint (fixture->firings->len, ==, 1);
  g_assert_cmpstr (firing (fixture, 0)->device, ==, "leak");
  tick (fixture, t + 89 * MINUTE);
  g_assert_cmpuint (fixture->firings->len, ==, 1);
  tick (fixture, t + 90 * MINUTE);
  g_assert_cmpuint (fixture->firings->len, ==, 2);
  g_assert_cmpstr (firing (fixture, 1)->device, ==, "door");
  g_assert_cmpstr (firing (fixture, 1)->alarm_type, ==, "technical");
  tick (fixture, t + 200 * MINUTE);
  g_assert_cmpuint (fixture->firings->len, ==, 2);

  send_bool (fixture, "door", HG_SENSOR_KIND_CONTACT, TRUE, t + 201 * MINUTE);
  send_bool (fixture, "door", HG_SENSOR_KIND_AVAILABILITY, FALSE, t + 202 * MINUTE);
  g_assert_cmpuint (fixture->firings->len, ==, 3);
  g_assert_nonnull (strstr (firing (fixture, 2)->reason, "offline"));
  send_bool (fixture, "door", HG_SENSOR_KIND_AVAILABILITY, FALSE, t + 203 * MINUTE);
  g_assert_cmpuint (fixture->firings->len, ==, 3);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/sensors/rules/config/bad-key-named", Fixture, NULL, setup, test_config_errors,
              teardown);
  g_test_add ("/sensors/rules/immediate/water-leak-once-until-dry", Fixture, NULL, setup,
              test_water_leak_once, teardown);
  g_test_add ("/sensors/rules/immediate/smoke-and-button-rearm", Fixture, NULL, setup,
              test_smoke_fall_button, teardown);
  g_test_add ("/sensors/rules/immediate/actions-and-alarm-type", Fixture, NULL, setup,
              test_button_actions_filter, teardown);
  g_test_add ("/sensors/rules/night-door/window", Fixture, NULL, setup, test_night_door, teardown);
  g_test_add ("/sensors/rules/night-door/daylight-saving", Fixture, NULL, setup,
              test_night_door_dst, teardown);
  g_test_add ("/sensors/rules/bed-exit/not-back-in-time", Fixture, NULL, setup, test_bed_exit,
              teardown);
  g_test_add ("/sensors/rules/inactivity/judged-at-window-end", Fixture, NULL, setup,
              test_inactivity, teardown);
  g_test_add ("/sensors/rules/inactivity/daylight-saving", Fixture, NULL, setup,
              test_inactivity_dst, teardown);
  g_test_add ("/sensors/rules/temperature/out-of-range-for-minutes", Fixture, NULL, setup,
              test_temperature, teardown);
  g_test_add ("/sensors/rules/low-battery/once-until-replaced", Fixture, NULL, setup,
              test_low_battery, teardown);
  g_test_add ("/sensors/rules/offline/silent-or-reported", Fixture, NULL, setup, test_offline,
              teardown);
  return g_test_run ();
}
