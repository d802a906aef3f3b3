/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The scaip-alarm plugin's voice call end to end, with real media: a real hemgated runs
 * the plugin in its real plugin host, an alarm is raised through the HTTP API, and
 * hemgate-arc-sim (the ARC) acknowledges it with mre=1, then calls (or is called). Both
 * sides send a GStreamer test tone over RTP and measure what they receive with a level
 * element: the test asserts audio flowed both ways and the alarm reached
 * speech-connected in the core. */
#include <fcntl.h>
#include <glib/gstdio.h>
#include <linux/input.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Starts a gateway whose primary receiver is @sim (over UDP), with @extra_keys, waits
 * until it registered, and raises an alarm of @type in @location. Returns the gateway;
 * @ref is the alarm's. */
static ScaipTestGateway *
start_voice_gateway (ScaipTestSim *sim,
                     const gchar *extra_keys,
                     const gchar *type,
                     const gchar *location,
                     gchar **ref)
{
  g_autofree gchar *uri = scaip_test_sim_uri (sim, "udp");
  g_autofree gchar *keys = voice_keys (uri, extra_keys);
  ScaipTestGateway *gateway = scaip_test_gateway_new_started (keys);

  scaip_test_gateway_wait_logged (gateway, "registered with");
  *ref = scaip_test_gateway_raise (gateway, type, location);
  return gateway;
}

static JsonObject *
me_record (ScaipTestSim *sim, const gchar *ref)
{
  g_autoptr(GPtrArray) records = scaip_test_sim_records (sim);

  for (guint i = 0; i < records->len; i++)
    {
      JsonObject *record = g_ptr_array_index (records, i);
      if (g_strcmp0 (json_object_get_string_member (record, "mty"), "ME") == 0
          && g_strcmp0 (json_object_get_string_member (record, "ref"), ref) == 0)
        return json_object_ref (record);
    }
  return NULL;
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
  g_autoptr(JsonObject) me = NULL;
  g_autofree gchar *ref = NULL;
  g_autofree gchar *window = NULL;

  g_ptr_array_add (args, (gpointer) "--password");
  g_ptr_array_add (args, (gpointer)PASSWORD);
  for (guint i = 0; commands[i] != NULL; i++)
    {
      g_ptr_array_add (args, (gpointer) "--command");
      g_ptr_array_add (args, (gpointer)commands[i]);
    }
  g_ptr_array_add (args, NULL);
  sim = scaip_test_sim_new ("primary", (const gchar *const *)args->pdata);
  gateway = start_voice_gateway (sim, extra_keys, "assistance", "bedroom", &ref);
  assert_gateway_heard (gateway, ref, codec, srtp);
  scaip_test_wait_sim_count (sim, ref, "CALL", 1);
  record = call_record (sim, ref);
  assert_arc_heard (record, codec, srtp);
  g_assert_cmpint (json_object_get_int_member (record, "status"), ==, 200);
  if (g_strv_contains (commands, "call-reinvite on"))
    g_assert_cmpint (json_object_get_int_member (record, "reinvite_status"), ==, 200);
  /* the ARC calling back is SCAIP's callback: cha=1, granted with cre=05 */
  me = me_record (sim, ref);
  g_assert_cmpint (json_object_get_int_member (me, "cha"), ==, 1);
  window = g_strdup_printf ("alarm %s: the ARC asks for voice; its call is answered for 300 s "
                            "(callback)",
                            ref);
  g_assert_true (scaip_test_gateway_logged (gateway, window));
}

static void
test_arc_calls_pcmu (void)
{
  const gchar *const commands[] = { "voice call", "call-seconds 3", "call-reinvite on", NULL };

  g_test_summary ("The ARC acknowledges with mre=1 and calls; the plugin auto-answers for the "
                  "alarm in progress, PCMU over plain RTP; both sides hear the other's tone "
                  "(level above -40 dBFS) and the alarm reaches speech-connected in the core; "
                  "a re-INVITE mid-call (a session refresh) is answered 200 and the call goes "
                  "on");
  arc_calls (commands, "voice = answer\n", "PCMU", FALSE);
}

static void
test_arc_calls_srtp_opus (void)
{
  const gchar *const commands[]
      = { "voice call", "call-srtp required", "call-codecs opus", "call-seconds 3", NULL };

  g_test_summary ("The ARC offers Opus over RTP/SAVP with an SDES key; the plugin answers with "
                  "its own key and SRTP carries the audio both ways");
  arc_calls (commands, "voice = answer\n", "opus", TRUE);
}

static void
test_gateway_calls (void)
{
  const gchar *const commands[] = { "voice answer", "call-seconds 3", NULL };

  g_test_summary ("With voice = call (the default, set here all the same) the gateway calls "
                  "the receiver that acknowledged (as SS 91100 §5 rule 6 has it); PCMA is the "
                  "configured codec; audio flows both ways");
  g_autoptr(ScaipTestSim) sim = NULL;
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autoptr(JsonObject) me = NULL;
  g_autoptr(JsonObject) record = NULL;
  g_autofree gchar *ref = NULL;
  const gchar *args[]
      = { "--password", PASSWORD, "--command", commands[0], "--command", commands[1], NULL };

  sim = scaip_test_sim_new ("primary", args);
  gateway = start_voice_gateway (sim, "voice = call\ncodecs = PCMA\n", "fall", "bathroom", &ref);
  assert_gateway_heard (gateway, ref, "PCMA", FALSE);
  scaip_test_wait_sim_count (sim, "", "CALL", 1);
  record = call_record (sim, NULL);
  assert_arc_heard (record, "PCMA", FALSE);
  me = me_record (sim, ref);
  g_assert_cmpint (json_object_get_int_member (me, "cha"), ==, -1);
}

/* The ARC calls about an acknowledged alarm and the gateway refuses with @status, logging
 * @logged: the microphone stays closed, the alarm stays acknowledged, sent once. */
/* The ARC acknowledges with mre 3 (simplex: the resident hears, the microphone is muted)
 * and calls; @dtmf_command (nullable) is the simulator's call-dtmf. Returns the ARC's call
 * record; the gateway must have logged "alarm REF: @gateway_log". */
static JsonObject *
simplex_call (const gchar *dtmf_command, const gchar *gateway_log)
{
  const gchar *args[] = { "--password", PASSWORD, "--command", "voice call", "--command",
                          "call-mre 3", "--command", "call-seconds 3", "--command",
                          dtmf_command, NULL };
  g_autoptr(ScaipTestSim) sim = NULL;
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autofree gchar *ref = NULL;
  g_autofree gchar *simplex = NULL;
  g_autofree gchar *logged = NULL;

  if (dtmf_command == NULL)
    args[8] = NULL;
  sim = scaip_test_sim_new ("primary", args);
  gateway = start_voice_gateway (sim, "voice = answer\n", "assistance", "bedroom", &ref);
  /* the resident hears the ARC either way */
  assert_gateway_heard (gateway, ref, "PCMU", FALSE);
  simplex = g_strdup_printf ("alarm %s: simplex as the ARC asked (mre 3): speaker on, "
                             "microphone muted",
                             ref);
  g_assert_true (scaip_test_gateway_logged (gateway, simplex));
  logged = g_strdup_printf ("alarm %s: %s", ref, gateway_log);
  g_assert_true (scaip_test_gateway_logged (gateway, logged));
  scaip_test_wait_sim_count (sim, ref, "CALL", 1);
  return call_record (sim, ref);
}

static void
test_simplex_microphone_muted (void)
{
  g_autoptr(JsonObject) record = NULL;

  g_test_summary ("The ARC acknowledges with mre=3 (simplex, the unit's speaker on and its "
                  "microphone muted) and calls: the call is set up as usual (RTP both ways, "
                  "TR 91102 7.7: no re-INVITE), the resident hears the ARC, and the ARC "
                  "receives the gateway's packets but hears nothing in them");
  record = simplex_call (NULL, "receiving audio from the ARC");
  g_assert_nonnull (record);
  g_assert_true (json_object_get_boolean_member (record, "connected"));
  g_assert_cmpint (json_object_get_int_member (record, "rx_packets"), >, 10);
  g_assert_cmpfloat (json_object_get_double_member (record, "rx_peak_db"), <, AUDIBLE_DB);
}

static void
test_dtmf_info_duplex (void)
{
  g_autoptr(JsonObject) record = NULL;

  g_test_summary ("In a simplex call (mre=3, microphone muted) the ARC sends DTMF 4 in a SIP "
                  "INFO (application/dtmf-relay) a second in: the gateway logs the switch to "
                  "duplex and the ARC then hears the resident's tone above -40 dBFS");
  record = simplex_call ("call-dtmf 4 1000", "duplex (DTMF 4, SIP INFO)");
  assert_arc_heard (record, "PCMU", FALSE);
}

static void
test_transferred_call (void)
{
  const gchar *target_args[] = { "--password", PASSWORD, "--command", "voice answer", NULL };
  g_autoptr(ScaipTestSim) target = scaip_test_sim_new ("voice-platform", target_args);
  g_autoptr(ScaipTestSim) sim = NULL;
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autoptr(JsonObject) record = NULL;
  g_autoptr(JsonObject) event = NULL;
  g_autofree gchar *target_uri = scaip_test_sim_uri (target, "udp");
  g_autofree gchar *transfer = g_strdup_printf ("call-transfer %s", target_uri);
  g_autofree gchar *ref = NULL;
  g_autofree gchar *asked = NULL;
  JsonObject *detail;

  g_test_summary ("The ARC acknowledges with mre=1, cre=62 and a sip: <tnu> naming its voice "
                  "platform (another simulator): the gateway, although voice = answer, calls "
                  "that URI; the platform hears the resident, the alarm reaches "
                  "speech-connected (outgoing), and the receiver itself gets no call");
  {
    const gchar *args[] = { "--password", PASSWORD, "--command", "voice answer", "--command",
                            transfer, NULL };
    sim = scaip_test_sim_new ("primary", args);
  }
  gateway = start_voice_gateway (sim, "voice = answer\n", "assistance", "bedroom", &ref);
  scaip_test_gateway_wait_state (gateway, ref, "speech-connected");
  asked = g_strdup_printf ("alarm %s: the ARC asks to be called at %s (cre 62)", ref, target_uri);
  g_assert_true (scaip_test_gateway_logged (gateway, asked));
  event = scaip_test_gateway_find_event (gateway, "alarm.speech-connected", ref);
  g_assert_nonnull (event);
  detail = json_object_get_object_member (json_object_get_object_member (event, "body"), "detail");
  g_assert_cmpstr (json_object_get_string_member (detail, "direction"), ==, "outgoing");
  scaip_test_wait_sim_count (target, NULL, "CALL", 1);
  record = call_record (target, NULL);
  assert_arc_heard (record, "PCMU", FALSE);
  g_assert_cmpuint (scaip_test_sim_count (sim, NULL, "CALL"), ==, 0);
}

static void
assert_call_refused (const gchar *extra_keys, gint status, const gchar *logged)
{
  const gchar *args[] = { "--password", PASSWORD, "--command", "voice call", NULL };
  g_autoptr(ScaipTestSim) sim = NULL;
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autoptr(JsonObject) record = NULL;
  g_autofree gchar *ref = NULL;
  g_autofree gchar *state = NULL;

  sim = scaip_test_sim_new ("primary", args);
  gateway = start_voice_gateway (sim, extra_keys, "assistance", "kitchen", &ref);
  scaip_test_gateway_wait_state (gateway, ref, "acknowledged");
  scaip_test_wait_sim_count (sim, ref, "CALL", 1);
  record = call_record (sim, ref);
  g_assert_nonnull (record);
  g_assert_false (json_object_get_boolean_member (record, "connected"));
  g_assert_cmpint (json_object_get_int_member (record, "status"), ==, status);
  scaip_test_gateway_wait_logged (gateway, logged);
  state = scaip_test_gateway_alarm_state (gateway, ref);
  g_assert_cmpstr (state, ==, "acknowledged");
  g_assert_cmpuint (scaip_test_sim_count (sim, ref, "ME"), ==, 1);
}

static void
test_no_alarm_no_answer (void)
{
  g_test_summary ("With voice = off the gateway never opens its microphone: the ARC's call is "
                  "refused with 480, the alarm stays acknowledged, nothing is lost");
  assert_call_refused ("voice = off\n", 480, "refused: voice is off");
}

/* The index of the first line hemgated logged with @needle; fails the test if none. */
static guint
logged_at (ScaipTestGateway *gateway, const gchar *needle)
{
  for (guint i = 0; i < gateway->lines->len; i++)
    {
      if (strstr (g_ptr_array_index (gateway->lines, i), needle) != NULL)
        return i;
    }
  g_test_message ("not logged: %s", needle);
  g_assert_not_reached ();
  return 0;
}

static gchar *
sound_keys_voice (const gchar *primary, const gchar *language, const gchar *voice)
{
  g_autofree gchar *dir
      = g_test_build_filename (G_TEST_DIST, "..", "..", "..", "data", "sounds", NULL);
  g_autofree gchar *extra = g_strdup_printf ("voice = %s\n"
                                             "sound-dir = %s\n"
                                             "sound-language = %s\n"
                                             "sound-sink = fakesink sync=true\n",
                                             voice, dir, language);

  return voice_keys (primary, extra);
}

static gchar *
sound_keys (const gchar *primary, const gchar *language)
{
  return sound_keys_voice (primary, language, "off");
}

static void
test_sounds_in_order (void)
{
  const gchar *args[] = { "--password", PASSWORD, NULL };
  g_autoptr(ScaipTestSim) sim = NULL;
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autofree gchar *uri = NULL;
  g_autofree gchar *keys = NULL;
  g_autofree gchar *ref = NULL;
  g_autofree gchar *tone = NULL;
  g_autofree gchar *sent = NULL;
  g_autofree gchar *help = NULL;

  g_test_summary ("The resident hears the tone when the alarm is raised, then 'Larmet är "
                  "skickat' when the ARC has it and 'Hjälp är på väg' when it acknowledged: "
                  "the Swedish files of data/sounds/, decoded and played to the end, in order");
  sim = scaip_test_sim_new ("primary", args);
  uri = scaip_test_sim_uri (sim, "udp");
  keys = sound_keys (uri, "sv");
  gateway = scaip_test_gateway_new_started (keys);
  scaip_test_gateway_wait_logged (gateway, "registered with");
  ref = scaip_test_gateway_raise (gateway, "assistance", "hall");
  scaip_test_gateway_wait_state (gateway, ref, "acknowledged");
  tone = g_strdup_printf ("sound tone.oga played for alarm %s", ref);
  sent = g_strdup_printf ("sound sv/alarm-sent.oga played for alarm %s", ref);
  help = g_strdup_printf ("sound sv/help-coming.oga played for alarm %s", ref);
  scaip_test_gateway_wait_logged (gateway, help);
  g_assert_cmpuint (logged_at (gateway, tone), <, logged_at (gateway, sent));
  g_assert_cmpuint (logged_at (gateway, sent), <, logged_at (gateway, help));
  g_assert_cmpuint (scaip_test_gateway_count_logged (gateway, "sound "), ==, 3);
  g_assert_false (scaip_test_gateway_logged (gateway, "not played"));
}

static void
test_sounds_language_and_cancel (void)
{
  const gchar *args[] = { "--password", PASSWORD, NULL };
  g_autoptr(ScaipTestSim) sim = NULL;
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autoptr(JsonObject) answer = NULL;
  g_autofree gchar *uri = NULL;
  g_autofree gchar *keys = NULL;
  g_autofree gchar *ref = NULL;
  g_autofree gchar *path = NULL;
  g_autofree gchar *cancelled = NULL;

  g_test_summary ("sound-language picks the spoken files; a language without recordings (fi) "
                  "speaks English; a cancelled alarm says so; a technical alarm is silent");
  sim = scaip_test_sim_new ("primary", args);
  uri = scaip_test_sim_uri (sim, "udp");
  keys = sound_keys (uri, "fi");
  gateway = scaip_test_gateway_new_started (keys);
  scaip_test_gateway_wait_logged (gateway, "registered with");
  ref = scaip_test_gateway_raise (gateway, "fall", "kitchen");
  scaip_test_gateway_wait_state (gateway, ref, "acknowledged");
  path = g_strdup_printf ("/api/v1/alarms/%s/transitions", ref);
  answer = scaip_test_gateway_request (gateway, "POST", path, "{\"state\":\"cancelled\"}",
                                       SOUP_STATUS_OK);
  cancelled = g_strdup_printf ("sound en/alarm-cancelled.oga played for alarm %s", ref);
  scaip_test_gateway_wait_logged (gateway, cancelled);
  g_assert_true (scaip_test_gateway_logged (gateway, "sound en/help-coming.oga played"));
  g_assert_false (scaip_test_gateway_logged (gateway, "sound fi/"));
  g_clear_pointer (&ref, g_free);

  ref = scaip_test_gateway_raise (gateway, "technical", "hall");
  scaip_test_gateway_wait_state (gateway, ref, "acknowledged");
  hg_test_run_for (1000);
  g_assert_cmpuint (scaip_test_gateway_count_logged (gateway, "sound "), ==, 4);
}

static void
write_bytes (gint fd, const void *data, gsize length)
{
  g_assert_cmpint (write (fd, data, length), ==, (gssize)length);
}

static void
write_event (gint fd, guint16 type, guint16 code, gint32 value)
{
  struct input_event event = {
    .type = type,
    .code = code,
    .value = value,
  };

  write_bytes (fd, &event, sizeof event);
}

/* The ref of the @n-th (from 0) alarm the button raised, from the plugin's log line. */
static gchar *
button_ref (ScaipTestGateway *gateway, guint n)
{
  const gchar *needle = "pressed: alarm ";

  for (guint i = 0; i < gateway->lines->len; i++)
    {
      const gchar *at = strstr (g_ptr_array_index (gateway->lines, i), needle);

      if (at != NULL && n-- == 0)
        return g_strndup (at + strlen (needle), 16);
    }
  g_assert_not_reached ();
  return NULL;
}

static void
test_button_evdev (void)
{
  const gchar *args[] = { "--password", PASSWORD, NULL };
  g_autoptr(ScaipTestSim) sim = NULL;
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) alarm = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("hemgate-button-XXXXXX", &error);
  g_autofree gchar *fifo = g_build_filename (dir, "event0", NULL);
  g_autofree gchar *uri = NULL;
  g_autofree gchar *extra = NULL;
  g_autofree gchar *keys = NULL;
  g_autofree gchar *ready = NULL;
  g_autofree gchar *ref = NULL;
  g_autofree gchar *second = NULL;
  g_autofree gchar *path = NULL;
  struct input_event press = {
    .type = EV_KEY,
    .code = KEY_F13,
    .value = 1,
  };
  gint fd;

  g_test_summary ("A physical button through evdev: struct input_event records (written into "
                  "a FIFO standing in for /dev/input/eventN, as CI has no /dev/uinput) raise "
                  "one assistance alarm per press of the configured key, with the device and "
                  "room set, delivered to the ARC; other keys, releases and a bounce within "
                  "button-debounce raise nothing; a record split over two reads counts once");
  g_assert_no_error (error);
  /* the sandboxed host runs as the municipal plugin user, and sees the FIFO only as the
   * device `devices` grants it (hemgate.conf(5)), through its directory as it is */
  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_cmpint (g_chmod (fifo, 0666), ==, 0);
  sim = scaip_test_sim_new ("primary", args);
  uri = scaip_test_sim_uri (sim, "udp");
  extra = g_strdup_printf ("voice = off\n"
                           "sounds = false\n"
                           "button-device = %s\n"
                           "devices = %s\n"
                           "button-key = %u\n"
                           "button-debounce = 1500\n"
                           "button-location = bedroom\n",
                           fifo, fifo, (guint)KEY_F13);
  keys = voice_keys (uri, extra);
  gateway = scaip_test_gateway_new_started (keys);
  ready = g_strdup_printf ("button %s ready (key %u)", fifo, (guint)KEY_F13);
  scaip_test_gateway_wait_logged (gateway, ready);
  scaip_test_gateway_wait_logged (gateway, "registered with");
  fd = g_open (fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC, 0);
  g_assert_cmpint (fd, >=, 0);

  write_event (fd, EV_KEY, KEY_A, 1); /* another key */
  write_event (fd, EV_KEY, KEY_A, 0);
  write_event (fd, EV_KEY, KEY_F13, 1); /* the press */
  write_event (fd, EV_SYN, SYN_REPORT, 0);
  write_event (fd, EV_KEY, KEY_F13, 2); /* key repeat */
  write_event (fd, EV_KEY, KEY_F13, 0); /* release */
  write_event (fd, EV_KEY, KEY_F13, 1); /* a bounce */
  write_event (fd, EV_KEY, KEY_F13, 0);
  scaip_test_gateway_wait_logged (gateway, "pressed: alarm ");
  ref = button_ref (gateway, 0);
  scaip_test_gateway_wait_state (gateway, ref, "acknowledged");
  path = g_strdup_printf ("/api/v1/alarms/%s", ref);
  alarm = scaip_test_gateway_request (gateway, "GET", path, NULL, SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (alarm, "type"), ==, "assistance");
  g_assert_cmpstr (json_object_get_string_member (alarm, "device"), ==, "event0");
  g_assert_cmpstr (json_object_get_string_member (alarm, "location"), ==, "bedroom");
  g_test_message ("source: %s", json_object_get_string_member (alarm, "source"));
  g_assert_cmpuint (scaip_test_sim_count (sim, ref, "ME"), ==, 1);

  /* after the debounce window: one record in two writes */
  hg_test_run_for (1700);
  write_bytes (fd, &press, 10);
  hg_test_run_for (100);
  write_bytes (fd, (const guint8 *)&press + 10, sizeof press - 10);
  scaip_test_gateway_wait_logged_count (gateway, "pressed: alarm ", 2);
  second = button_ref (gateway, 1);
  g_assert_cmpstr (second, !=, ref);
  scaip_test_gateway_wait_state (gateway, second, "acknowledged");
  hg_test_run_for (500);
  g_assert_cmpuint (scaip_test_gateway_count_logged (gateway, "pressed: alarm "), ==, 2);
  g_assert_cmpuint (scaip_test_sim_distinct (sim, "ME"), ==, 2);
  g_close (fd, NULL);
  g_remove (fifo);
  g_rmdir (dir);
}

static void
test_button_location_control_characters (void)
{
  const gchar *args[] = { "--password", PASSWORD, NULL };
  g_autoptr(ScaipTestSim) sim = NULL;
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) me = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("hemgate-button-XXXXXX", &error);
  g_autofree gchar *fifo = g_build_filename (dir, "event0", NULL);
  g_autofree gchar *uri = NULL;
  g_autofree gchar *extra = NULL;
  g_autofree gchar *keys = NULL;
  g_autofree gchar *ready = NULL;
  g_autofree gchar *ref = NULL;
  gint fd;

  g_test_summary ("A room name with control characters (BEL, tab, ESC), as a "
                  "button's location (the API may refuse such text, a configuration or an "
                  "older journal need not): the <mrq> the ARC receives is well-formed XML 1.0, "
                  "which the simulator's reader checks (it answers 400 to a &#x7;), with the "
                  "room as one clean line in <lte>, and the alarm is acknowledged");
  g_test_bug ("issue 10: malformed XML for a location with a control character");
  g_assert_no_error (error);
  /* the sandboxed host runs as the municipal plugin user, and sees the FIFO only as the
   * device `devices` grants it (hemgate.conf(5)), through its directory as it is */
  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_cmpint (g_chmod (fifo, 0666), ==, 0);
  sim = scaip_test_sim_new ("primary", args);
  uri = scaip_test_sim_uri (sim, "udp");
  /* into the file as they are: a BEL, a tab and an ESC (a line feed would end the key) */
  extra = g_strdup_printf ("voice = off\n"
                           "sounds = false\n"
                           "button-device = %s\n"
                           "devices = %s\n"
                           "button-key = %u\n"
                           "button-location = \x07K\xc3\xb6k\t\033hall\n",
                           fifo, fifo, (guint)KEY_F13);
  keys = voice_keys (uri, extra);
  gateway = scaip_test_gateway_new_started (keys);
  ready = g_strdup_printf ("button %s ready (key %u)", fifo, (guint)KEY_F13);
  scaip_test_gateway_wait_logged (gateway, ready);
  scaip_test_gateway_wait_logged (gateway, "registered with");
  fd = g_open (fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC, 0);
  g_assert_cmpint (fd, >=, 0);
  write_event (fd, EV_KEY, KEY_F13, 1);
  scaip_test_gateway_wait_logged (gateway, "pressed: alarm ");
  ref = button_ref (gateway, 0);
  scaip_test_gateway_wait_state (gateway, ref, "acknowledged");
  me = me_record (sim, ref);
  g_assert_nonnull (me);
  g_assert_cmpstr (json_object_get_string_member (me, "lte"), ==, "K\xc3\xb6k hall");
  g_assert_cmpint (json_object_get_int_member (me, "lco"), ==, 1);
  g_assert_cmpuint (scaip_test_sim_count (sim, ref, "ME"), ==, 1);
  g_close (fd, NULL);
  g_remove (fifo);
  g_rmdir (dir);
}

static void
test_remote_test_alarm (void)
{
  const gchar *args[] = { "--password", PASSWORD, "--command", "voice call", NULL };
  g_autoptr(ScaipTestSim) sim = NULL;
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autoptr(JsonObject) login = NULL;
  g_autoptr(JsonObject) alarm = NULL;
  g_autoptr(JsonObject) me = NULL;
  g_autoptr(JsonObject) call = NULL;
  g_autofree gchar *uri = NULL;
  g_autofree gchar *keys = NULL;
  g_autofree gchar *ref = NULL;

  g_test_summary ("Municipal IT triggers a test alarm remotely (it-admin through the API): it "
                  "reaches the ARC as a test transmission (dty 0002, stc 0102, pri 0, no "
                  "callback request); the home stays quiet: no sound plays, and when the ARC "
                  "calls anyway the call is refused, so no microphone opens");
  sim = scaip_test_sim_new ("primary", args);
  uri = scaip_test_sim_uri (sim, "udp");
  /* voice on: the refusal must come from the alarm being a test */
  keys = sound_keys_voice (uri, "sv", "answer");
  gateway = scaip_test_gateway_new_started (keys);
  scaip_test_gateway_wait_logged (gateway, "registered with");
  login = scaip_test_gateway_request (
      gateway, "POST", "/api/v1/auth/login",
      "{\"username\":\"admin\",\"password\":\"" SCAIP_TEST_USER_PASSWORD "\"}", SOUP_STATUS_OK);
  g_free (gateway->token);
  gateway->token = g_strdup (json_object_get_string_member (login, "token"));
  alarm = scaip_test_gateway_request (gateway, "POST", "/api/v1/alarms",
                                      "{\"type\":\"test\",\"source\":\"remote-test\"}",
                                      SOUP_STATUS_CREATED);
  ref = g_strdup (json_object_get_string_member (alarm, "ref"));
  scaip_test_gateway_wait_state (gateway, ref, "acknowledged");
  me = me_record (sim, ref);
  g_assert_nonnull (me);
  g_assert_cmpint (json_object_get_int_member (me, "dty"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (me, "stc"), ==, 102);
  g_assert_cmpint (json_object_get_int_member (me, "pri"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (me, "cha"), ==, -1);
  scaip_test_wait_sim_count (sim, ref, "CALL", 1);
  call = call_record (sim, ref);
  g_assert_false (json_object_get_boolean_member (call, "connected"));
  g_assert_cmpint (json_object_get_int_member (call, "status"), ==, 480);
  g_assert_true (scaip_test_gateway_logged (gateway, "it is a test or technical alarm; no call"));
  g_assert_cmpuint (scaip_test_gateway_count_logged (gateway, "sound "), ==, 0);
  g_assert_cmpuint (scaip_test_sim_count (sim, ref, "ME"), ==, 1);
}

/* The <crd> elements of the ME of @ref at @sim, separated by spaces. */
static gchar *
me_crd (ScaipTestSim *sim, const gchar *ref)
{
  g_autoptr(JsonObject) me = me_record (sim, ref);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) crd = NULL;
  JsonArray *array;

  g_assert_nonnull (me);
  array = json_object_get_array_member (me, "crd");
  for (guint i = 0; i < json_array_get_length (array); i++)
    g_strv_builder_add (builder, json_array_get_string_element (array, i));
  crd = g_strv_builder_end (builder);
  return g_strjoinv (" ", crd);
}

static void
test_quiet_alarms_offer_no_voice (void)
{
  const gchar *args[] = { "--password", PASSWORD, NULL };
  g_autoptr(ScaipTestSim) sim = NULL;
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autoptr(JsonObject) login = NULL;
  g_autoptr(JsonObject) test_alarm = NULL;
  g_autofree gchar *assistance = NULL;
  g_autofree gchar *technical = NULL;
  g_autofree gchar *crd = NULL;
  const gchar *test_ref;

  g_test_summary ("Test and technical alarms, whose calls the gateway refuses, offer no voice "
                  "medium: their <crd> is no-voice: alone, whatever caller-id lists, while an "
                  "assistance alarm offers every medium of caller-id");
  g_test_bug ("issue 10: test and technical alarms advertise a voice medium in crd");
  sim = scaip_test_sim_new ("primary", args);
  gateway = start_voice_gateway (sim, "caller-id = " AOR " gsm:+46701234567\n", "assistance",
                                 "hall", &assistance);
  scaip_test_gateway_wait_state (gateway, assistance, "acknowledged");
  crd = me_crd (sim, assistance);
  g_assert_cmpstr (crd, ==, AOR " gsm:+46701234567");
  g_clear_pointer (&crd, g_free);

  technical = scaip_test_gateway_raise (gateway, "technical", "hall");
  scaip_test_gateway_wait_state (gateway, technical, "acknowledged");
  crd = me_crd (sim, technical);
  g_assert_cmpstr (crd, ==, "no-voice:");
  g_clear_pointer (&crd, g_free);

  /* a test alarm is IT's (role it-admin) */
  login = scaip_test_gateway_request (
      gateway, "POST", "/api/v1/auth/login",
      "{\"username\":\"admin\",\"password\":\"" SCAIP_TEST_USER_PASSWORD "\"}", SOUP_STATUS_OK);
  g_free (gateway->token);
  gateway->token = g_strdup (json_object_get_string_member (login, "token"));
  test_alarm = scaip_test_gateway_request (gateway, "POST", "/api/v1/alarms",
                                           "{\"type\":\"test\",\"source\":\"remote-test\"}",
                                           SOUP_STATUS_CREATED);
  test_ref = json_object_get_string_member (test_alarm, "ref");
  scaip_test_gateway_wait_state (gateway, test_ref, "acknowledged");
  crd = me_crd (sim, test_ref);
  g_assert_cmpstr (crd, ==, "no-voice:");
}

static void
test_stranger_refused (void)
{
  g_test_summary ("A call from a host that is not in voice-callers is refused with 403 even "
                  "while an alarm awaits the ARC's call: the microphone opens for the ARC only");
  assert_call_refused ("voice = answer\nvoice-callers = voice.arc.example\n", 403,
                       "refused: not a host of voice-callers");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/scaip/voice/arc-calls-pcmu", test_arc_calls_pcmu);
  g_test_add_func ("/scaip/voice/arc-calls-srtp-opus", test_arc_calls_srtp_opus);
  g_test_add_func ("/scaip/voice/gateway-calls-pcma", test_gateway_calls);
  g_test_add_func ("/scaip/voice/refused-when-voice-off", test_no_alarm_no_answer);
  g_test_add_func ("/scaip/voice/simplex-microphone-muted", test_simplex_microphone_muted);
  g_test_add_func ("/scaip/voice/dtmf-info-duplex", test_dtmf_info_duplex);
  g_test_add_func ("/scaip/voice/transferred-call-cre-62", test_transferred_call);
  g_test_add_func ("/scaip/voice/stranger-refused", test_stranger_refused);
  g_test_add_func ("/scaip/voice/quiet-alarms-offer-no-voice", test_quiet_alarms_offer_no_voice);
  g_test_add_func ("/scaip/sounds/played-in-order", test_sounds_in_order);
  g_test_add_func ("/scaip/sounds/language-and-cancel", test_sounds_language_and_cancel);
  g_test_add_func ("/scaip/button/evdev-press-raises-alarm", test_button_evdev);
  g_test_add_func ("/scaip/button/location-control-characters-well-formed",
                   test_button_location_control_characters);
  g_test_add_func ("/scaip/test-alarm/remote-by-it-is-quiet", test_remote_test_alarm);
  return g_test_run ();
}
