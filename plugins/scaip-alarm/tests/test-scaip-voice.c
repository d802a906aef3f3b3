/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The scaip-alarm plugin's voice call end to end, with real media: a real hemgated runs
 * the plugin in its real plugin host, an alarm is raised through the HTTP API, and
 * hemgate-arc-sim (the ARC) acknowledges it with mre=1, then calls (or is called). Both
 * sides send a GStreamer test tone over RTP and measure what they receive with a level
 * element: the test asserts audio flowed both ways and the alarm reached
 * speech-connected in the core. */
#include <string.h>

#include "scaip-test.h"

#define AOR "sip:4600012345@arc.test"
#define CONTROLLER_ID "4600012345"
#define PASSWORD "arc-digest-passphrase"
/* Well above silence (-60 dBFS) and well below the tones the two sides send. */
#define AUDIBLE_DB (-40.0)

static gchar *
voice_keys (const gchar *primary, const gchar *extra)
{
  return g_strdup_printf ("aor = " AOR "\n"
                          "controller-id = " CONTROLLER_ID "\n"
                          "local-uri = sip:127.0.0.1:*\n"
                          "primary = %s\n"
                          "answer-timeout = 2\n"
                          "retry-max = 2\n"
                          "failover-timeout = 4\n"
                          "heartbeat-interval = 0\n"
                          "demo-password = " PASSWORD "\n"
                          "audio-source = audiotestsrc is-live=true wave=sine freq=440 "
                          "volume=0.5\n"
                          "audio-sink = fakesink sync=false\n"
                          "%s",
                          primary, extra != NULL ? extra : "");
}

static JsonObject *
call_record (ScaipTestSim *sim, const gchar *ref)
{
  g_autoptr(GPtrArray) records = scaip_test_sim_records (sim);

  for (guint i = 0; i < records->len; i++)
    {
      JsonObject *record = g_ptr_array_index (records, i);
      if (g_strcmp0 (json_object_get_string_member (record, "mty"), "CALL") == 0
          && (ref == NULL || g_strcmp0 (json_object_get_string_member (record, "ref"), ref) == 0))
        return json_object_ref (record);
    }
  return NULL;
}

/* The ARC's side of the call: connected, and it heard the gateway's tone. */
static void
assert_arc_heard (JsonObject *record, const gchar *codec, gboolean srtp)
{
  g_assert_nonnull (record);
  g_assert_true (json_object_get_boolean_member (record, "connected"));
  g_assert_cmpstr (json_object_get_string_member (record, "codec"), ==, codec);
  g_assert_true (json_object_get_boolean_member (record, "srtp") == srtp);
  g_assert_cmpint (json_object_get_int_member (record, "rx_packets"), >, 10);
  g_assert_cmpfloat (json_object_get_double_member (record, "rx_peak_db"), >, AUDIBLE_DB);
}

/* The gateway's side: speech-connected in the core, and it heard the ARC's tone. */
static void
assert_gateway_heard (ScaipTestGateway *gateway,
                      const gchar *ref,
                      const gchar *codec,
                      gboolean srtp)
{
  g_autoptr(JsonObject) event = NULL;
  JsonObject *detail;
  g_autofree gchar *heard = g_strdup_printf ("alarm %s: receiving audio from the ARC", ref);
  g_autofree gchar *ended = g_strdup_printf ("alarm %s: call ended", ref);

  scaip_test_gateway_wait_state (gateway, ref, "speech-connected");
  event = scaip_test_gateway_find_event (gateway, "alarm.speech-connected", ref);
  g_assert_nonnull (event);
  detail = json_object_get_object_member (json_object_get_object_member (event, "body"), "detail");
  g_assert_cmpstr (json_object_get_string_member (detail, "codec"), ==, codec);
  g_assert_true (json_object_get_boolean_member (detail, "srtp") == srtp);
  scaip_test_gateway_wait_logged (gateway, heard);
  scaip_test_gateway_wait_logged (gateway, ended);
}

static void
arc_calls (const gchar *const *commands, const gchar *extra_keys, const gchar *codec, gboolean srtp)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(ScaipTestSim) sim = NULL;
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autoptr(JsonObject) record = NULL;
  g_autofree gchar *uri = NULL;
  g_autofree gchar *keys = NULL;
  g_autofree gchar *ref = NULL;

  g_ptr_array_add (args, (gpointer) "--password");
  g_ptr_array_add (args, (gpointer)PASSWORD);
  for (guint i = 0; commands[i] != NULL; i++)
    {
      g_ptr_array_add (args, (gpointer) "--command");
      g_ptr_array_add (args, (gpointer)commands[i]);
    }
  g_ptr_array_add (args, NULL);
  sim = scaip_test_sim_new ("primary", (const gchar *const *)args->pdata);
  uri = scaip_test_sim_uri (sim, "udp");
  keys = voice_keys (uri, extra_keys);
  gateway = scaip_test_gateway_new (keys);
  scaip_test_gateway_start (gateway);
  scaip_test_gateway_wait_logged (gateway, "registered with");

  ref = scaip_test_gateway_raise (gateway, "assistance", "bedroom");
  assert_gateway_heard (gateway, ref, codec, srtp);
  scaip_test_wait_sim_count (sim, ref, "CALL", 1);
  record = call_record (sim, ref);
  assert_arc_heard (record, codec, srtp);
  g_assert_cmpint (json_object_get_int_member (record, "status"), ==, 200);
}

static void
test_arc_calls_pcmu (void)
{
  const gchar *const commands[] = { "voice call", "call-seconds 3", NULL };

  g_test_summary ("The ARC acknowledges with mre=1 and calls; the plugin auto-answers for the "
                  "alarm in progress, PCMU over plain RTP; both sides hear the other's tone "
                  "(level above -40 dBFS) and the alarm reaches speech-connected in the core");
  arc_calls (commands, NULL, "PCMU", FALSE);
}

static void
test_arc_calls_srtp_opus (void)
{
  const gchar *const commands[]
      = { "voice call", "call-srtp required", "call-codecs opus", "call-seconds 3", NULL };

  g_test_summary ("The ARC offers Opus over RTP/SAVP with an SDES key; the plugin answers with "
                  "its own key and SRTP carries the audio both ways");
  arc_calls (commands, NULL, "opus", TRUE);
}

static void
test_gateway_calls (void)
{
  const gchar *const commands[] = { "voice answer", "call-seconds 3", NULL };

  g_test_summary ("With voice = call the gateway calls the receiver that acknowledged (as "
                  "SS 91100 §5 rule 6 has it); PCMA is the configured codec; audio flows both "
                  "ways");
  g_autoptr(ScaipTestSim) sim = NULL;
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autoptr(JsonObject) record = NULL;
  g_autofree gchar *uri = NULL;
  g_autofree gchar *keys = NULL;
  g_autofree gchar *ref = NULL;
  const gchar *args[]
      = { "--password", PASSWORD, "--command", commands[0], "--command", commands[1], NULL };

  sim = scaip_test_sim_new ("primary", args);
  uri = scaip_test_sim_uri (sim, "udp");
  keys = voice_keys (uri, "voice = call\ncodecs = PCMA\n");
  gateway = scaip_test_gateway_new (keys);
  scaip_test_gateway_start (gateway);
  scaip_test_gateway_wait_logged (gateway, "registered with");
  ref = scaip_test_gateway_raise (gateway, "fall", "bathroom");
  assert_gateway_heard (gateway, ref, "PCMA", FALSE);
  scaip_test_wait_sim_count (sim, "", "CALL", 1);
  record = call_record (sim, NULL);
  assert_arc_heard (record, "PCMA", FALSE);
}

static void
test_no_alarm_no_answer (void)
{
  const gchar *args[] = { "--password", PASSWORD, "--command", "voice call", NULL };
  g_autoptr(ScaipTestSim) sim = NULL;
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autoptr(JsonObject) record = NULL;
  g_autofree gchar *uri = NULL;
  g_autofree gchar *keys = NULL;
  g_autofree gchar *ref = NULL;
  g_autofree gchar *state = NULL;

  g_test_summary ("With voice = off the gateway never opens its microphone: the ARC's call is "
                  "refused with 480, the alarm stays acknowledged, nothing is lost");
  sim = scaip_test_sim_new ("primary", args);
  uri = scaip_test_sim_uri (sim, "udp");
  keys = voice_keys (uri, "voice = off\n");
  gateway = scaip_test_gateway_new (keys);
  scaip_test_gateway_start (gateway);
  scaip_test_gateway_wait_logged (gateway, "registered with");
  ref = scaip_test_gateway_raise (gateway, "assistance", "kitchen");
  scaip_test_gateway_wait_state (gateway, ref, "acknowledged");
  scaip_test_wait_sim_count (sim, ref, "CALL", 1);
  record = call_record (sim, ref);
  g_assert_nonnull (record);
  g_assert_false (json_object_get_boolean_member (record, "connected"));
  g_assert_cmpint (json_object_get_int_member (record, "status"), ==, 480);
  scaip_test_gateway_wait_logged (gateway, "refused: voice is off");
  state = scaip_test_gateway_alarm_state (gateway, ref);
  g_assert_cmpstr (state, ==, "acknowledged");
  g_assert_cmpuint (scaip_test_sim_count (sim, ref, "ME"), ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/scaip/voice/arc-calls-pcmu", test_arc_calls_pcmu);
  g_test_add_func ("/scaip/voice/arc-calls-srtp-opus", test_arc_calls_srtp_opus);
  g_test_add_func ("/scaip/voice/gateway-calls-pcma", test_gateway_calls);
  g_test_add_func ("/scaip/voice/refused-when-voice-off", test_no_alarm_no_answer);
  return g_test_run ();
}
