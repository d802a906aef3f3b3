/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The scaip-alarm plugin when alarms cannot reach the alarm receiving centre, end to end:
 * delivery failed (the core's state delivery-failed, one technical alarm, an abort at the
 * receivers, retrying in the background, across restarts), line supervision against an
 * ARC that answers heartbeats with SIP only, the ARC's heartbeat interval (<hbi>), and
 * what GET /api/v1/health says meanwhile. The ARCs are sipp (an independent SIP stack,
 * scenarios in sipp/) and hemgate-arc-sim; hemgated and its plugin host are the real ones.
 * Each case waits for events with generous limits and never asserts how fast. */
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "scaip-test.h"

#define AOR "sip:4600012345@arc.test"
#define CONTROLLER_ID "4600012345"
#define PASSWORD "arc-digest-passphrase"

/* Short timers; no registration (sipp is no registrar); @extra after the defaults. */
static gchar *
instance_keys (const gchar *primary, const gchar *secondary, const gchar *extra)
{
  return g_strdup_printf ("aor = " AOR "\n"
                          "controller-id = " CONTROLLER_ID "\n"
                          "local-uri = sip:127.0.0.1:*\n"
                          "primary = %s\n"
                          "%s%s%s"
                          "demo-password = " PASSWORD "\n"
                          "answer-timeout = 1\n"
                          "retry-max = 1\n"
                          "failover-timeout = 2\n"
                          "%s",
                          primary, secondary != NULL ? "secondary = " : "",
                          secondary != NULL ? secondary : "", secondary != NULL ? "\n" : "", extra);
}

/* sipp */

/* Returns: how many MESSAGE requests sipp received whose text holds @needle and, unless
 *   %NULL, @also; retransmissions count */
static guint
sipp_count (ScaipTestSipp *sipp, const gchar *needle, const gchar *also)
{
  g_autofree gchar *trace = NULL;
  g_auto(GStrv) chunks = NULL;
  guint count = 0;

  if (!g_file_get_contents (sipp->messages_path, &trace, NULL, NULL))
    return 0;
  chunks = g_strsplit (trace, "\n----------------------------------------------- ", -1);
  for (guint i = 0; chunks[i] != NULL; i++)
    {
      if (strstr (chunks[i], "message received") == NULL
          || strstr (chunks[i], "\nMESSAGE sip:") == NULL || strstr (chunks[i], needle) == NULL
          || (also != NULL && strstr (chunks[i], also) == NULL))
        continue;
      count++;
    }
  return count;
}

typedef struct
{
  ScaipTestSipp *sipp;
  ScaipTestSipp *other; /* (nullable) counted too */
  const gchar *needle;
  const gchar *also;
  guint at_least;
} SippCondition;

static gboolean
sipp_received (gpointer data)
{
  SippCondition *condition = data;
  guint count = sipp_count (condition->sipp, condition->needle, condition->also);

  if (condition->other != NULL)
    count += sipp_count (condition->other, condition->needle, condition->also);
  return count >= condition->at_least;
}

/* the gateway */

typedef struct
{
  ScaipTestGateway *gateway;
  const gchar *reason;
  const gchar *about; /* (nullable) */
  gchar *ref;         /* (owned) (nullable) the first found */
  guint count;
} TechnicalCondition;

/* Counts the plugin's technical alarms with detail @reason (and @about, the alarm). */
static gboolean
technical_found (gpointer data)
{
  TechnicalCondition *condition = data;
  g_autoptr(JsonObject) answer = scaip_test_gateway_request (
      condition->gateway, "GET", "/api/v1/alarms", NULL, SOUP_STATUS_OK);
  JsonArray *alarms = json_object_get_array_member (answer, "alarms");

  condition->count = 0;
  for (guint i = 0; i < json_array_get_length (alarms); i++)
    {
      JsonObject *alarm = json_array_get_object_element (alarms, i);
      JsonObject *detail = json_object_get_object_member (alarm, "detail");

      if (g_strcmp0 (json_object_get_string_member (alarm, "type"), "technical") != 0
          || detail == NULL
          || g_strcmp0 (json_object_get_string_member_with_default (detail, "reason", ""),
                        condition->reason)
                 != 0
          || (condition->about != NULL
              && g_strcmp0 (json_object_get_string_member_with_default (detail, "alarm", ""),
                            condition->about)
                     != 0))
        continue;
      condition->count++;
      if (condition->ref == NULL)
        condition->ref = g_strdup (json_object_get_string_member (alarm, "ref"));
    }
  return condition->count > 0;
}

static guint
count_technical (ScaipTestGateway *gateway)
{
  return scaip_test_gateway_count_alarms (gateway, "technical", "scaip-alarm", NULL);
}

typedef struct
{
  ScaipTestGateway *gateway;
  const gchar *status;  /* of the whole: ok or degraded */
  const gchar *message; /* (nullable) part of alarm-delivery's message */
} HealthCondition;

static gboolean
health_is (gpointer data)
{
  HealthCondition *condition = data;
  g_autoptr(JsonObject) health = scaip_test_gateway_request (
      condition->gateway, "GET", "/api/v1/health", NULL, SOUP_STATUS_OK);
  JsonObject *subsystems = json_object_get_object_member (health, "subsystems");
  JsonObject *delivery = json_object_get_object_member (subsystems, "alarm-delivery");
  const gchar *message = json_object_get_string_member_with_default (delivery, "message", "");

  if (g_strcmp0 (json_object_get_string_member (health, "status"), condition->status) != 0)
    return FALSE;
  if (condition->message == NULL)
    return TRUE;
  if (strstr (message, condition->message) == NULL)
    return FALSE;
  g_test_message ("health: alarm-delivery %s: %s",
                  json_object_get_string_member (delivery, "status"), message);
  return g_strcmp0 (json_object_get_string_member (delivery, "status"), "fault") == 0;
}

static void
wait_health (ScaipTestGateway *gateway, const gchar *status, const gchar *message)
{
  HealthCondition condition = { gateway, status, message };
  g_autofree gchar *what = g_strdup_printf ("health %s%s%s", status, message != NULL ? ": " : "",
                                            message != NULL ? message : "");

  scaip_test_wait (health_is, &condition, what);
}

/* Returns: (transfer full): the ref the plugin retries @ref under, from its log */
static gchar *
logged_background_ref (ScaipTestGateway *gateway, const gchar *ref)
{
  g_autofree gchar *prefix = g_strdup_printf ("alarm %s: delivery failed", ref);
  const gchar *marker = "in the background under ref ";

  for (guint i = 0; i < gateway->lines->len; i++)
    {
      const gchar *line = g_ptr_array_index (gateway->lines, i);
      const gchar *at = strstr (line, marker);

      if (strstr (line, prefix) != NULL && at != NULL)
        return g_strndup (at + strlen (marker), 16);
    }
  g_assert_not_reached ();
}

/* Two sipp ARCs whose applications answer heartbeats and never alarms, and a gateway
 * sending to them; @ref is a fall alarm raised there, once its delivery failed. */
static ScaipTestGateway *
start_failing (ScaipTestSipp *primary, ScaipTestSipp *secondary, gchar **ref, gchar **technical)
{
  g_autofree gchar *primary_uri = scaip_test_sipp_uri (primary);
  g_autofree gchar *secondary_uri = scaip_test_sipp_uri (secondary);
  g_autofree gchar *keys = NULL;
  g_autoptr(JsonObject) failed = NULL;
  TechnicalCondition condition = { NULL, "delivery-failed", NULL, NULL, 0 };
  ScaipTestGateway *gateway;
  JsonObject *detail;

  scaip_test_sipp_start (primary, "arc-alarms-unanswered.xml", NULL);
  scaip_test_sipp_start (secondary, "arc-alarms-unanswered.xml", NULL);
  keys = instance_keys (primary_uri, secondary_uri,
                        "register = false\nheartbeat-interval = 20\ndelivery-timeout = 6\n");
  gateway = scaip_test_gateway_new_started (keys);
  *ref = scaip_test_gateway_raise (gateway, "fall", "bathroom");
  scaip_test_gateway_wait_state (gateway, *ref, "delivery-failed");

  /* the core recorded it, with the reason */
  failed = scaip_test_gateway_find_event (gateway, "alarm.delivery-failed", *ref);
  g_assert_nonnull (failed);
  detail = json_object_get_object_member (json_object_get_object_member (failed, "body"), "detail");
  g_assert_cmpstr (json_object_get_string_member (detail, "reason"), ==, "no-confirmation");
  g_assert_cmpint (json_object_get_int_member (detail, "delivery-timeout"), ==, 6);

  /* one local technical alarm names it */
  condition.gateway = gateway;
  condition.about = *ref;
  scaip_test_wait (technical_found, &condition, "a technical alarm about the failed delivery");
  g_assert_cmpuint (condition.count, ==, 1);
  *technical = condition.ref;
  return gateway;
}

static void
test_delivery_failed (void)
{
  g_autoptr(ScaipTestSipp) primary = scaip_test_sipp_new ();
  g_autoptr(ScaipTestSipp) secondary = scaip_test_sipp_new ();
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autofree gchar *ref = NULL;
  g_autofree gchar *technical = NULL;
  g_autofree gchar *background = NULL;
  g_autofree gchar *ref_element = NULL;
  g_autofree gchar *background_element = NULL;
  SippCondition aborted = { NULL, NULL, "<mty>RE</mty>", NULL, 1 };
  SippCondition retried = { NULL, NULL, NULL, NULL, 0 };

  g_test_bug ("10");
  g_test_summary ("Both receivers answer heartbeats but never an alarm (sipp, an independent "
                  "SIP stack): after delivery-timeout the alarm is delivery-failed in the "
                  "core, with its reason; one technical alarm names it; health reports the "
                  "fault; each receiver it went to gets an abort (mty=RE) with its ref; "
                  "retrying goes on in the background under a new ref, and once an ARC "
                  "answers again the alarm is acknowledged and health is ok");
  gateway = start_failing (primary, secondary, &ref, &technical);
  wait_health (gateway, "degraded", "delivery failed");

  /* [C] SS 91100 §5 rule 4: abort with the same ref, at each receiver it went to */
  ref_element = g_strdup_printf ("<ref>%s</ref>", ref);
  aborted.also = ref_element;
  aborted.sipp = primary;
  scaip_test_wait (sipp_received, &aborted, "the abort at the primary receiver");
  aborted.sipp = secondary;
  scaip_test_wait (sipp_received, &aborted, "the abort at the secondary receiver");

  /* in the background, under a ref of its own */
  background = logged_background_ref (gateway, ref);
  g_assert_cmpstr (background, !=, ref);
  background_element = g_strdup_printf ("<ref>%s</ref>", background);
  retried.sipp = primary;
  retried.other = secondary;
  retried.needle = background_element;
  retried.at_least = 2;
  scaip_test_wait (sipp_received, &retried, "the alarm resent in the background");

  /* the technical alarm cannot get through either: it fails too, and raises none */
  scaip_test_gateway_wait_state (gateway, technical, "delivery-failed");
  g_assert_cmpuint (count_technical (gateway), ==, 1);
  {
    g_autofree gchar *state = scaip_test_gateway_alarm_state (gateway, ref);
    g_assert_cmpstr (state, ==, "delivery-failed");
  }

  /* the primary's application answers again (arc-count.xml answers every MESSAGE) */
  scaip_test_sipp_stop (primary);
  scaip_test_sipp_start (primary, "arc-count.xml", NULL);
  scaip_test_gateway_wait_state (gateway, ref, "acknowledged");
  scaip_test_gateway_wait_state (gateway, technical, "acknowledged");
  g_assert_cmpuint (sipp_count (primary, background_element, NULL), >=, 1);
  wait_health (gateway, "ok", NULL);
  g_assert_cmpuint (count_technical (gateway), ==, 1);
}

static void
test_restart_one_technical_alarm (void)
{
  g_autoptr(ScaipTestSipp) primary = scaip_test_sipp_new ();
  g_autoptr(ScaipTestSipp) secondary = scaip_test_sipp_new ();
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autofree gchar *ref = NULL;
  g_autofree gchar *technical = NULL;
  g_autofree gchar *background = NULL;
  g_autofree gchar *background_element = NULL;
  g_autofree gchar *resumed = NULL;
  ScaipTestHostCondition condition = { NULL, 0 };
  SippCondition retried = { NULL, NULL, NULL, NULL, 0 };

  g_test_bug ("10");
  g_test_summary ("A failed delivery is a state the core keeps: after kill -9 of the plugin "
                  "host, the new host takes the alarm as delivery-failed, resends it in the "
                  "background under the same background ref, and raises no second technical "
                  "alarm, also after its delivery-timeout has passed again");
  gateway = start_failing (primary, secondary, &ref, &technical);
  background = logged_background_ref (gateway, ref);
  background_element = g_strdup_printf ("<ref>%s</ref>", background);

  condition.gateway = gateway;
  condition.old_pid = scaip_test_gateway_host_pid (gateway);
  g_assert_cmpint (condition.old_pid, >, 0);
  g_assert_cmpint (kill ((pid_t)condition.old_pid, SIGKILL), ==, 0);
  scaip_test_wait (scaip_test_host_replaced, &condition, "a new plugin host");
  resumed = g_strdup_printf ("alarm %s (fall): delivery failed before", ref);
  scaip_test_gateway_wait_logged (gateway, resumed);

  retried.sipp = primary;
  retried.other = secondary;
  retried.needle = background_element;
  retried.at_least = sipp_count (primary, background_element, NULL)
                     + sipp_count (secondary, background_element, NULL) + 3;
  scaip_test_wait (sipp_received, &retried, "the new host resending under the background ref");
  /* more than delivery-timeout after the restart: a second failure would have come */
  hg_test_run_for (8000);
  g_assert_cmpuint (count_technical (gateway), ==, 1);
  {
    g_autofree gchar *state = scaip_test_gateway_alarm_state (gateway, ref);
    g_assert_cmpstr (state, ==, "delivery-failed");
  }
  wait_health (gateway, "degraded", "delivery failed");
}

static void
test_heartbeat_sip_only (void)
{
  g_autoptr(ScaipTestSipp) sipp = scaip_test_sipp_new ();
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autoptr(JsonObject) report = NULL;
  g_autofree gchar *uri = scaip_test_sipp_uri (sipp);
  g_autofree gchar *keys = NULL;
  TechnicalCondition condition = { NULL, "line-supervision", NULL, NULL, 0 };
  SippCondition heartbeats = { NULL, NULL, "<mty>PI</mty>", NULL, 0 };

  g_test_bug ("10");
  g_test_summary ("An ARC (sipp) that answers alarms with <mrs> and heartbeats with a bare "
                  "SIP 200: a 200 without <mrs> is no answer to a PI (SS 91100 §4 rule 1, "
                  "TR 91102 §7.3), so line supervision is down; that outage raises one "
                  "technical alarm, which the ARC acknowledges, and the outage goes on: no "
                  "'restored', no second technical alarm for the heartbeats after it");
  scaip_test_sipp_start (sipp, "arc-heartbeat-sip-only.xml", NULL);
  keys = instance_keys (uri, NULL, "register = false\nheartbeat-interval = 5\n");
  gateway = scaip_test_gateway_new_started (keys);
  condition.gateway = gateway;
  scaip_test_wait (technical_found, &condition, "a technical alarm for line supervision");
  scaip_test_gateway_wait_state (gateway, condition.ref, "acknowledged");

  /* three more heartbeats, each answered by SIP only, after the acknowledgement */
  heartbeats.sipp = sipp;
  heartbeats.at_least = sipp_count (sipp, "<mty>PI</mty>", NULL) + 3;
  scaip_test_wait (sipp_received, &heartbeats, "three more heartbeats");
  technical_found (&condition);
  g_assert_cmpuint (condition.count, ==, 1);
  g_assert_cmpuint (count_technical (gateway), ==, 1);
  g_assert_false (scaip_test_gateway_logged (gateway, "line supervision restored"));
  report = scaip_test_gateway_health_report (gateway);
  g_assert_nonnull (report);
  g_assert_cmpstr (json_object_get_string_member (report, "line"), ==, "down");
  wait_health (gateway, "degraded", "line supervision");
  g_free (condition.ref);
}

typedef struct
{
  ScaipTestGateway *gateway;
  gint64 interval;
} IntervalCondition;

static gboolean
heartbeat_interval_is (gpointer data)
{
  IntervalCondition *condition = data;
  g_autoptr(JsonObject) report = scaip_test_gateway_health_report (condition->gateway);

  return report != NULL
         && json_object_get_int_member_with_default (report, "heartbeat-interval", -1)
                == condition->interval;
}

static void
test_heartbeat_interval_from_arc (void)
{
  g_autoptr(ScaipTestSipp) sipp = scaip_test_sipp_new ();
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autofree gchar *uri = scaip_test_sipp_uri (sipp);
  g_autofree gchar *keys = NULL;
  IntervalCondition interval = { NULL, 60 };
  SippCondition heartbeats = { NULL, NULL, "<mty>PI</mty>", NULL, 1 };
  guint before;

  g_test_bug ("10");
  g_test_summary ("Heartbeats carry hbo=001 (SS 91100 Table 1), and the interval an ARC (sipp) "
                  "sets with <hbi>1</hbi> in its answer is obeyed: the configured 5 s become "
                  "1 min, so no heartbeat follows within the next 10 s, and the next one "
                  "still comes");
  scaip_test_sipp_start (sipp, "arc-heartbeat-interval.xml", NULL);
  keys = instance_keys (uri, NULL, "register = false\nheartbeat-interval = 5\n");
  gateway = scaip_test_gateway_new_started (keys);
  heartbeats.sipp = sipp;
  scaip_test_wait (sipp_received, &heartbeats, "a heartbeat");
  g_assert_cmpuint (sipp_count (sipp, "<mty>PI</mty>", "<hbo>001</hbo>"), >=, 1);
  interval.gateway = gateway;
  scaip_test_wait (heartbeat_interval_is, &interval, "the heartbeat interval of 60 s");
  scaip_test_gateway_wait_logged (gateway, "sets the heartbeat interval to 1 min");

  before = sipp_count (sipp, "<mty>PI</mty>", NULL);
  hg_test_run_for (10000);
  g_assert_cmpuint (sipp_count (sipp, "<mty>PI</mty>", NULL), ==, before);
  heartbeats.at_least = before + 1;
  scaip_test_wait (sipp_received, &heartbeats, "the heartbeat a minute later");
}

static void
test_hold_then_silence (void)
{
  const gchar *sim_args[] = { "--password", PASSWORD, NULL };
  g_autoptr(ScaipTestSim) sim = scaip_test_sim_new ("primary", sim_args);
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autoptr(JsonObject) failed = NULL;
  g_autofree gchar *uri = scaip_test_sim_uri (sim, "udp");
  g_autofree gchar *keys
      = instance_keys (uri, NULL, "heartbeat-interval = 0\ndelivery-timeout = 6\n");
  g_autofree gchar *ref = NULL;
  g_autofree gchar *on_hold = NULL;
  g_autofree gchar *state = NULL;
  JsonObject *detail;

  g_test_bug ("10");
  g_test_summary ("An alarm the ARC holds with HOLD (snu=4) when delivery-timeout passes has "
                  "not failed: the ARC works on it; when the ARC then falls silent, it fails "
                  "at the next unanswered poll");
  gateway = scaip_test_gateway_new_started (keys);
  scaip_test_sim_command (sim, "hold 1000");
  ref = scaip_test_gateway_raise (gateway, "fall", "hall");
  scaip_test_gateway_wait_state (gateway, ref, "delivered");
  on_hold = g_strdup_printf ("alarm %s: not confirmed within 6 s, but on HOLD", ref);
  scaip_test_gateway_wait_logged (gateway, on_hold);
  state = scaip_test_gateway_alarm_state (gateway, ref);
  g_assert_cmpstr (state, ==, "delivered");

  scaip_test_sim_command (sim, "silent");
  scaip_test_gateway_wait_state (gateway, ref, "delivery-failed");
  failed = scaip_test_gateway_find_event (gateway, "alarm.delivery-failed", ref);
  g_assert_nonnull (failed);
  detail = json_object_get_object_member (json_object_get_object_member (failed, "body"), "detail");
  g_assert_cmpstr (json_object_get_string_member (detail, "reason"), ==, "no-confirmation");
}

static void
test_health_arc_outage (void)
{
  const gchar *sim_args[] = { "--password", PASSWORD, NULL };
  g_autoptr(ScaipTestSim) sim = scaip_test_sim_new ("primary", sim_args);
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autofree gchar *uri = scaip_test_sim_uri (sim, "udp");
  g_autofree gchar *keys = instance_keys (uri, NULL, "heartbeat-interval = 0\n");
  g_autofree gchar *first = NULL;
  g_autofree gchar *second = NULL;

  g_test_bug ("11");
  g_test_summary ("Health reports alarm delivery degraded, with the reason, as soon as the "
                  "alarm centre stops answering an outstanding alarm, and ok again once it "
                  "answers");
  gateway = scaip_test_gateway_new_started (keys);
  first = scaip_test_gateway_raise (gateway, "assistance", "kitchen");
  scaip_test_gateway_wait_state (gateway, first, "acknowledged");
  wait_health (gateway, "ok", NULL);

  scaip_test_sim_command (sim, "silent");
  second = scaip_test_gateway_raise (gateway, "fall", "hall");
  wait_health (gateway, "degraded", "the primary receiver does not answer");
  scaip_test_sim_command (sim, "normal");
  scaip_test_gateway_wait_state (gateway, second, "acknowledged");
  wait_health (gateway, "ok", NULL);
}

static void
test_health_stopped_host (void)
{
  const gchar *sim_args[] = { "--password", PASSWORD, NULL };
  g_autoptr(ScaipTestSim) sim = scaip_test_sim_new ("primary", sim_args);
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *uri = scaip_test_sim_uri (sim, "udp");
  g_autofree gchar *keys = instance_keys (uri, NULL, "heartbeat-interval = 0\n");
  g_autofree gchar *config = NULL;
  g_autofree gchar *slow = NULL;
  g_auto(GStrv) parts = NULL;
  gint64 pid;

  g_test_bug ("11");
  g_test_summary ("A stopped (SIGSTOP) alarm delivery host makes health report alarm delivery "
                  "degraded within delivery-check-interval, naming the plugin, though the "
                  "watchdog (here every 600 s) has not restarted it; after SIGCONT the same "
                  "host runs on and health is ok");
  gateway = scaip_test_gateway_new (keys);
  g_file_get_contents (gateway->config_path, &config, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (config, "watchdog-interval = 2\n"));
  /* the watchdog must not be what notices it */
  parts = g_strsplit (config, "watchdog-interval = 2\n", 2);
  slow = g_strjoinv ("watchdog-interval = 600\n", parts);
  g_file_set_contents (gateway->config_path, slow, -1, &error);
  g_assert_no_error (error);
  scaip_test_gateway_start (gateway);
  scaip_test_wait (scaip_test_host_running, gateway, "the plugin host");
  wait_health (gateway, "ok", NULL);

  pid = scaip_test_gateway_host_pid (gateway);
  g_assert_cmpint (kill ((pid_t)pid, SIGSTOP), ==, 0);
  wait_health (gateway, "degraded", "plugin " SCAIP_TEST_INSTANCE ": its host has not answered");
  g_assert_cmpint (kill ((pid_t)pid, SIGCONT), ==, 0);
  wait_health (gateway, "ok", NULL);
  g_assert_cmpint (scaip_test_gateway_host_pid (gateway), ==, pid);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_bug_base ("issue ");

  g_test_add_func ("/scaip/failure/delivery-failed-when-receivers-silent", test_delivery_failed);
  g_test_add_func ("/scaip/failure/restart-raises-no-second-technical-alarm",
                   test_restart_one_technical_alarm);
  g_test_add_func ("/scaip/interop/sipp-heartbeat-sip-200-only", test_heartbeat_sip_only);
  g_test_add_func ("/scaip/interop/sipp-heartbeat-interval-from-arc",
                   test_heartbeat_interval_from_arc);
  g_test_add_func ("/scaip/failure/hold-then-silence-fails", test_hold_then_silence);
  g_test_add_func ("/scaip/health/arc-outage-degrades-delivery", test_health_arc_outage);
  g_test_add_func ("/scaip/health/stopped-host-degrades-delivery", test_health_stopped_host);
  return g_test_run ();
}
