/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of HgdAlarmRouting: [alarms] delivery and technical-delivery, an alarm bound to
 * the instance it went to across a switch, the release of a stopped instance's alarms,
 * any running instance when the routed one is not, it-admin's choice kept over the
 * configuration, and no routing at all: every instance takes every alarm. */
#include "config.h"

#include <glib/gstdio.h>

#include "hg-event-private.h"
#include "hgd-alarm-routing.h"
#include "hg-test-support.h"

/* which instances run, as the plugin manager would say */
static gboolean
alive_cb (const gchar *instance_id,
          gpointer user_data)
{
  return g_strv_contains ((const gchar *const *) user_data, instance_id);
}

static HgdAlarmRouting *
routing_new (const gchar *text)
{
  g_autoptr(HgdConfig) config = hgd_config_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (hgd_config_load_data (config, text, "test", &error));
  g_assert_no_error (error);
  return hgd_alarm_routing_new (config);
}

static HgEvent *
alarm_event (const gchar *type,
             const gchar *ref,
             const gchar *alarm_type)
{
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(JsonObject) alarm = json_object_new ();

  json_object_set_string_member (alarm, "ref", ref);
  json_object_set_string_member (alarm, "type", alarm_type);
  json_object_set_string_member (body, "ref", ref);
  if (g_strcmp0 (type, "alarm.raised") == 0)
    json_object_set_string_member (body, "type", alarm_type);
  else
    json_object_set_object_member (body, "alarm", g_steal_pointer (&alarm));
  return hg_event_new (type, body);
}

static void
test_unrouted (void)
{
  g_autoptr(HgdAlarmRouting) routing = routing_new ("");
  g_autoptr(HgEvent) raised = alarm_event ("alarm.raised", "r1", "fall");

  g_test_summary ("Without [alarms], every delivery instance takes every alarm, as before");
  g_assert_null (hgd_alarm_routing_get_route (routing, "fall"));
  g_assert_true (hgd_alarm_routing_takes_event (routing, "a", raised));
  g_assert_true (hgd_alarm_routing_takes_event (routing, "b", raised));
}

static void
test_switch_keeps_bound (void)
{
  const gchar *const running[] = { "a", "b", "t", NULL };
  g_autoptr(HgdAlarmRouting) routing = routing_new ("[alarms]\ndelivery = a\n"
                                                    "technical-delivery = t\n");
  g_autoptr(HgEvent) first = alarm_event ("alarm.raised", "r1", "assistance");
  g_autoptr(HgEvent) technical = alarm_event ("alarm.raised", "r2", "technical");
  g_autoptr(HgEvent) second = alarm_event ("alarm.raised", "r3", "fall");
  g_autoptr(HgEvent) closed = alarm_event ("alarm.closed", "r1", "assistance");
  g_autofree gchar *dir = g_dir_make_tmp ("hgd-routing-XXXXXX", NULL);
  g_autofree gchar *path = g_build_filename (dir, "alarm-delivery", NULL);
  g_autoptr(GError) error = NULL;

  g_test_summary ("Social and technical alarms go to their instances; after a switch a new "
                  "alarm goes to the new one and an alarm on its way stays where it went, "
                  "its end too, until it ends");
  hgd_alarm_routing_set_alive_func (routing, alive_cb, (gpointer) running);
  hgd_alarm_routing_load_state (routing, path);
  g_assert_true (hgd_alarm_routing_takes_event (routing, "a", first));
  g_assert_false (hgd_alarm_routing_takes_event (routing, "b", first));
  g_assert_false (hgd_alarm_routing_takes_event (routing, "a", technical));
  g_assert_true (hgd_alarm_routing_takes_event (routing, "t", technical));

  g_assert_true (hgd_alarm_routing_set (routing, "b", NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (hgd_alarm_routing_get_route (routing, "technical"), ==, "b");
  g_assert_false (hgd_alarm_routing_takes_event (routing, "a", second));
  g_assert_true (hgd_alarm_routing_takes_event (routing, "b", second));
  /* r1 is a's: offered again (a host start) or its end, to a only */
  g_assert_true (hgd_alarm_routing_takes (routing, "a", "r1", "assistance", TRUE));
  g_assert_false (hgd_alarm_routing_takes (routing, "b", "r1", "assistance", TRUE));
  g_assert_true (hgd_alarm_routing_takes_event (routing, "a", closed));
  g_assert_false (hgd_alarm_routing_takes_event (routing, "b", closed));
  hgd_alarm_routing_event_offered (routing, closed);
  /* once ended it is no one's: offered again now, the routed one would take it */
  g_assert_true (hgd_alarm_routing_takes (routing, "b", "r1", "assistance", FALSE));

  /* it-admin's choice outlives a restart, over the configuration */
  {
    g_autoptr(HgdAlarmRouting) again = routing_new ("[alarms]\ndelivery = a\n");

    hgd_alarm_routing_load_state (again, path);
    g_assert_cmpstr (hgd_alarm_routing_get_route (again, "fall"), ==, "b");
  }
  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_release (void)
{
  const gchar *running[] = { "a", "b", NULL };
  g_autoptr(HgdAlarmRouting) routing = routing_new ("[alarms]\ndelivery = a\n");
  g_autoptr(HgEvent) first = alarm_event ("alarm.raised", "r1", "fall");
  g_autoptr(HgEvent) second = alarm_event ("alarm.raised", "r2", "fall");
  g_auto(GStrv) released = NULL;

  g_test_summary ("An instance that stops hands its open alarms to the routed one, or, with "
                  "that one not running either, to any that runs");
  hgd_alarm_routing_set_alive_func (routing, alive_cb, running);
  g_assert_true (hgd_alarm_routing_takes_event (routing, "a", first));
  g_assert_true (hgd_alarm_routing_takes_event (routing, "a", second));
  running[0] = "gone";
  released = hgd_alarm_routing_release (routing, "a");
  g_assert_cmpuint (g_strv_length (released), ==, 2);
  /* a is routed but not running: b takes them, and they are b's from then on */
  g_assert_true (hgd_alarm_routing_takes (routing, "b", "r1", "fall", TRUE));
  running[0] = "a";
  g_assert_false (hgd_alarm_routing_takes (routing, "a", "r1", "fall", TRUE));
  g_assert_true (hgd_alarm_routing_takes (routing, "a", "r2", "fall", TRUE));
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/alarm-routing/unrouted-every-instance", test_unrouted);
  g_test_add_func ("/alarm-routing/switch-keeps-alarms-on-their-way", test_switch_keeps_bound);
  g_test_add_func ("/alarm-routing/stopped-instance-releases", test_release);
  return g_test_run ();
}
