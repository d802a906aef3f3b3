/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the grant table (hgd-capabilities.c) on its own: which events each rule lets
 * an instance be sent, and what its flags make of a grant. The calls each rule allows are
 * swept over a real Context1 in daemon/core/tests/test-context-impl.c; the names and
 * domains against manifests and the schema in test-manifest.c. */
#include "config.h"

#include "hg-event-private.h"
#include "hgd-capabilities.h"

#define SELF "plugin:self"

static HgEvent *
event_new (const gchar *type,
           HgDomain domain,
           const gchar *source)
{
  g_autoptr(JsonObject) body = json_object_new ();
  HgEvent *event = hg_event_new (type, body);

  hg_event_set_domain (event, domain);
  hg_event_set_source (event, source);
  return event;
}

typedef struct
{
  const gchar *type;
  HgDomain domain;
  const gchar *source;
  const gchar *receiver; /* (nullable) the rule that lets it through */
} ReceiveCase;

static void
check_receives (const gchar *const *grant,
                HgDomain domain,
                const ReceiveCase *cases,
                guint n_cases)
{
  for (guint i = 0; i < n_cases; i++)
    {
      g_autoptr(HgEvent) event = event_new (cases[i].type, cases[i].domain, cases[i].source);
      const HgdCapability *rule = hgd_capabilities_find_receiver (grant, domain, SELF, event);

      g_test_message ("%s of %s by %s: %s", cases[i].type, hg_domain_to_string (cases[i].domain),
                      cases[i].source, rule != NULL ? rule->name : "not sent");
      g_assert_cmpstr (rule != NULL ? rule->name : NULL, ==, cases[i].receiver);
    }
}

static void
test_delivery_receives (void)
{
  const gchar *const grant[] = { HG_CAPABILITY_ALARM_DELIVER, HG_CAPABILITY_ALARM_RAISE, NULL };
  const ReceiveCase cases[] = {
    { "alarm.raised", HG_DOMAIN_MUNICIPAL, "user:resident", HG_CAPABILITY_ALARM_DELIVER },
    /* an alarm it raised itself it must still deliver */
    { "alarm.raised", HG_DOMAIN_MUNICIPAL, SELF, HG_CAPABILITY_ALARM_DELIVER },
    { "alarm.cancelled", HG_DOMAIN_MUNICIPAL, "user:resident", HG_CAPABILITY_ALARM_DELIVER },
    { "alarm.closed", HG_DOMAIN_MUNICIPAL, "user:staff", HG_CAPABILITY_ALARM_DELIVER },
    { "alarm.closed", HG_DOMAIN_MUNICIPAL, SELF, HG_CAPABILITY_ALARM_DELIVER },
    /* the steps it reports, and those of staff, are not what it acts on */
    { "alarm.delivered", HG_DOMAIN_MUNICIPAL, SELF, NULL },
    { "alarm.acknowledged", HG_DOMAIN_MUNICIPAL, SELF, NULL },
    { "alarm.speech-connected", HG_DOMAIN_MUNICIPAL, SELF, NULL },
    { "alarm.updated", HG_DOMAIN_MUNICIPAL, SELF, NULL },
    { "alarm.delivery-failed", HG_DOMAIN_MUNICIPAL, SELF, NULL },
    { "alarm.delivered", HG_DOMAIN_MUNICIPAL, "plugin:other", NULL },
    { "alarm.dispatched", HG_DOMAIN_MUNICIPAL, "user:staff", NULL },
    { "alarm.attended", HG_DOMAIN_MUNICIPAL, "user:staff", NULL },
    /* nothing of the personal domain, nothing but alarms */
    { "alarm.raised", HG_DOMAIN_PERSONAL, "user:resident", NULL },
    { "sensor.reading", HG_DOMAIN_MUNICIPAL, "plugin:other", NULL },
    { "plugin.crashed", HG_DOMAIN_MUNICIPAL, "core", NULL },
  };

  g_test_bug ("issue 14: delivery plugins are echoed their own reports");
  g_test_summary ("alarm.deliver lets an instance be sent the municipal alarm events a "
                  "delivery plugin acts on (raised, cancelled, closed), whoever made them, "
                  "and no other");
  check_receives (grant, HG_DOMAIN_MUNICIPAL, cases, G_N_ELEMENTS (cases));
}

static void
test_subscriber_receives (void)
{
  const gchar *const grant[] = { HG_CAPABILITY_SENSOR_SUBSCRIBE, HG_CAPABILITY_SENSOR_PUBLISH, NULL };
  const ReceiveCase cases[] = {
    { "sensor.reading", HG_DOMAIN_PERSONAL, "plugin:other", HG_CAPABILITY_SENSOR_SUBSCRIBE },
    { "sensor.state", HG_DOMAIN_PERSONAL, "plugin:other", HG_CAPABILITY_SENSOR_SUBSCRIBE },
    { "sensor.reading", HG_DOMAIN_PERSONAL, SELF, NULL },
    { "sensor.reading", HG_DOMAIN_MUNICIPAL, "plugin:other", NULL },
    { "sensors.reading", HG_DOMAIN_PERSONAL, "plugin:other", NULL },
    { "alarm.raised", HG_DOMAIN_PERSONAL, "plugin:other", NULL },
    { "alarm.raised", HG_DOMAIN_MUNICIPAL, "plugin:other", NULL },
  };

  g_test_summary ("sensor.subscribe lets an instance be sent the sensor.* events of its own "
                  "domain that it did not publish itself, and no other");
  check_receives (grant, HG_DOMAIN_PERSONAL, cases, G_N_ELEMENTS (cases));
}

static void
test_others_receive_nothing (void)
{
  const HgdCapability *table;
  guint n_table;
  const gchar *const types[] = { "alarm.raised", "alarm.closed", "sensor.reading", "plugin.denied" };

  g_test_summary ("A grant of any other capability, or none, lets an instance be sent no event");
  table = hgd_capabilities_get_all (&n_table);
  for (guint i = 0; i <= n_table; i++)
    {
      const gchar *name = i < n_table ? table[i].name : NULL;
      const gchar *const grant[] = { name, NULL };

      if (name != NULL && (g_str_equal (name, HG_CAPABILITY_ALARM_DELIVER) ||
                           g_str_equal (name, HG_CAPABILITY_SENSOR_SUBSCRIBE)))
        continue;
      for (guint t = 0; t < G_N_ELEMENTS (types); t++)
        {
          for (guint d = 0; d < HG_DOMAIN_LAST; d++)
            {
              g_autoptr(HgEvent) event = event_new (types[t], d, "plugin:other");
              g_assert_null (hgd_capabilities_find_receiver (grant, d, SELF, event));
            }
        }
    }
}

static void
test_delivery_flag (void)
{
  const gchar *const delivery[] = { HG_CAPABILITY_SECRETS, HG_CAPABILITY_ALARM_DELIVER, NULL };
  const gchar *const other[] = { HG_CAPABILITY_ALARM_RAISE, HG_CAPABILITY_SENSOR_SUBSCRIBE,
                                 "net.connect:arc.example.se:5060", NULL };
  const gchar *const none[] = { NULL };

  g_test_summary ("A grant with alarm.deliver, and only such a grant, makes an instance a path "
                  "for alarms to the alarm centre");
  g_assert_true (hgd_capabilities_grant_has_flags (delivery, HGD_CAPABILITY_FLAGS_DELIVERS_ALARMS));
  g_assert_false (hgd_capabilities_grant_has_flags (other, HGD_CAPABILITY_FLAGS_DELIVERS_ALARMS));
  g_assert_false (hgd_capabilities_grant_has_flags (none, HGD_CAPABILITY_FLAGS_DELIVERS_ALARMS));
  g_assert_true (hgd_capabilities_grant_has_flags (other, HGD_CAPABILITY_FLAGS_PARAMETER));
}

static void
test_type_patterns (void)
{
  g_test_summary ("`word.*` names every event type whose first word is `word`; any other "
                  "pattern names itself");
  g_assert_true (hgd_capabilities_event_type_matches ("sensor.*", "sensor.reading"));
  g_assert_true (hgd_capabilities_event_type_matches ("sensor.*", "sensor.state.changed"));
  g_assert_false (hgd_capabilities_event_type_matches ("sensor.*", "sensors.reading"));
  g_assert_false (hgd_capabilities_event_type_matches ("sensor.*", "sensor"));
  g_assert_false (hgd_capabilities_event_type_matches ("sensor.*", "alarm.raised"));
  g_assert_true (hgd_capabilities_event_type_matches ("alarm.raised", "alarm.raised"));
  g_assert_false (hgd_capabilities_event_type_matches ("alarm.raised", "alarm.raised.again"));
  g_assert_false (hgd_capabilities_event_type_matches ("alarm.raised", "alarm.raise"));
}

static void
test_net_connect_wildcards (void)
{
  const gchar *const valid[] = { "net.connect:*:*", "net.connect:*:5060", "net.connect:arc.example.se:*", NULL };
  const gchar *const invalid[] = { "net.connect:**:80", "net.connect:*.example.se:80", "net.connect:*:8*",
                                   "net.connect:*", NULL };

  g_test_summary ("net.connect takes * for the host or the port (peers the deployment "
                  "configures), and nothing else that is not a host or a port");
  for (guint i = 0; valid[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (hgd_capability_check (valid[i], &error));
      g_assert_no_error (error);
    }
  for (guint i = 0; invalid[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (hgd_capability_check (invalid[i], &error));
      g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
    }
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/plugins/capabilities/delivery-receives-what-it-acts-on", test_delivery_receives);
  g_test_add_func ("/plugins/capabilities/subscriber-receives-others-sensor-events",
                   test_subscriber_receives);
  g_test_add_func ("/plugins/capabilities/others-receive-nothing", test_others_receive_nothing);
  g_test_add_func ("/plugins/capabilities/delivery-flag", test_delivery_flag);
  g_test_add_func ("/plugins/capabilities/net-connect-wildcards", test_net_connect_wildcards);
  g_test_add_func ("/plugins/capabilities/event-type-patterns", test_type_patterns);
  return g_test_run ();
}
