/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The webrtc-visit plugin's call flow against HgTestContext, with real GStreamer pipelines:
 * staff start, the home rings, accept or decline, the gateway's offer (VP8 and Opus), a
 * second visit is busy, bad SDP and candidates, hang-up and a vanished browser; the
 * pipeline is gone (NULL) right after each call. A call to a second webrtcbin in this
 * process over a lossy link (netsim) lowers the video's bitrate and size; the staff
 * side's sinks are checked when configured. */
#include <hemgate-plugin.h>

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include "hg-webrtc-visit-plugin.h"

typedef struct
{
  HgTestContext *context; /* (owned) */
  HgPlugin *plugin;       /* (owned) */
} Fixture;

static void
started_cb (GObject *source,
            GAsyncResult *result,
            gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (hg_plugin_start_finish (HG_PLUGIN (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

static void
fixture_setup (Fixture *fixture,
               gconstpointer user_data)
{
  const gchar *capabilities[] = { "channel.serve", "media.camera", "media.microphone",
                                  "visit.publish", NULL };
  g_autoptr(GError) error = NULL;
  g_autofree gchar *config = NULL;
  gboolean started = FALSE;

  /* user_data: more of the instance's configuration */
  config = g_strdup_printf ("[plugin:webrtc-visit]\nring-seconds=5\ncheck-seconds=2\n%s",
                            user_data != NULL ? (const gchar *) user_data : "");
  fixture->context = hg_test_context_new_from_data ("webrtc-visit", HG_DOMAIN_MUNICIPAL, config,
                                                    capabilities, &error);
  g_assert_no_error (error);
  fixture->plugin = g_object_new (HG_TYPE_WEBRTC_VISIT_PLUGIN, "context", fixture->context, NULL);
  g_assert_true (hg_plugin_configure (fixture->plugin,
                                      hg_context_get_config (HG_CONTEXT (fixture->context)),
                                      &error));
  g_assert_no_error (error);
  hg_plugin_start_async (fixture->plugin, NULL, started_cb, &started);
  while (!started)
    g_main_context_iteration (NULL, TRUE);
}

static void
fixture_teardown (Fixture *fixture,
                  gconstpointer user_data)
{
  g_clear_object (&fixture->plugin);
  g_clear_object (&fixture->context);
}

static JsonObject *
typed (const gchar *type)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "type", type);
  return object;
}

static void
deliver (Fixture *fixture,
         const gchar *channel,
         JsonObject *message)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (hg_test_context_channel_deliver (fixture->context, channel, message, &error));
  g_assert_no_error (error);
  json_object_unref (message);
}

static void
say (Fixture *fixture,
     const gchar *channel,
     const gchar *type)
{
  deliver (fixture, channel, typed (type));
}

/* The newest message of @type on @channel, waiting up to 20 s for it */
static JsonObject *
wait_message (Fixture *fixture,
              const gchar *channel,
              const gchar *type)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      GPtrArray *messages = hg_test_context_get_channel_messages (fixture->context, channel);

      for (guint i = messages->len; i > 0; i--)
        {
          JsonObject *message = g_ptr_array_index (messages, i - 1);

          if (g_strcmp0 (json_object_get_string_member (message, "type"), type) == 0)
            return message;
        }
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_error ("no %s on %s", type, channel);
}

static JsonObject *
last_health (Fixture *fixture)
{
  GPtrArray *reports = hg_test_context_get_health_reports (fixture->context);

  g_assert_cmpuint (reports->len, >, 0);
  return g_ptr_array_index (reports, reports->len - 1);
}

static void
assert_idle (Fixture *fixture,
             const gchar *outcome)
{
  JsonObject *health = last_health (fixture);

  g_assert_cmpstr (json_object_get_string_member (health, "call"), ==, "idle");
  g_assert_cmpstr (json_object_get_string_member (health, "pipeline"), ==, "null");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (health,
                                                                                 "last_call"),
                                                  "outcome"), ==, outcome);
}

/* The newest visit.ended record published, waiting for it */
static JsonObject *
wait_record (Fixture *fixture,
             guint n)
{
  GPtrArray *events = hg_test_context_get_events (fixture->context);
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (events->len < n && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (events->len, ==, n);
  g_assert_cmpstr (hg_event_get_event_type (g_ptr_array_index (events, n - 1)), ==, "visit.ended");
  return hg_event_get_body (g_ptr_array_index (events, n - 1));
}

/* libnice's UPnP (gupnp-igd) was never started in this process: its GType registers with
 * the first agent that gathers candidates with UPnP on */
static void
assert_no_upnp (void)
{
  g_assert_cmpuint (g_type_from_name ("GUPnPSimpleIgd"), ==, 0);
}

static void
test_accept_offer_hangup (Fixture *fixture,
                          gconstpointer user_data)
{
  g_autofree gchar *staff = NULL;
  g_autofree gchar *other = NULL;
  g_autofree gchar *home = NULL;
  JsonObject *message;
  const gchar *sdp;

  g_test_summary ("Staff start a visit, the home rings with the staff member's name, a second "
                  "visit is busy, the resident accepts, the gateway offers VP8 and Opus both "
                  "ways with its ICE candidates (no UPnP); a malformed answer fails the call and the "
                  "pipeline is gone (NULL) at once");
  home = hg_test_context_channel_open (fixture->context, "rut", "resident", NULL);
  staff = hg_test_context_channel_open (fixture->context, "anna", "staff", NULL);
  other = hg_test_context_channel_open (fixture->context, "bo", "staff", NULL);

  say (fixture, staff, "start");
  wait_message (fixture, staff, "ringing");
  message = wait_message (fixture, home, "ring");
  g_assert_cmpstr (json_object_get_string_member (message, "staff"), ==, "anna");
  say (fixture, other, "start");
  wait_message (fixture, other, "busy");
  say (fixture, home, "start");
  message = wait_message (fixture, home, "error");
  g_assert_cmpstr (json_object_get_string_member (message, "code"), ==, "forbidden");

  say (fixture, home, "accept");
  wait_message (fixture, staff, "accepted");
  message = wait_message (fixture, staff, "offer");
  sdp = json_object_get_string_member (message, "sdp");
  g_assert_nonnull (strstr (sdp, "VP8/90000"));
  g_assert_nonnull (strstr (sdp, "OPUS/48000"));
  g_assert_nonnull (strstr (sdp, "a=sendrecv"));
  wait_message (fixture, staff, "ice");
  g_assert_cmpstr (json_object_get_string_member (last_health (fixture), "call"), ==, "in-call");
  assert_no_upnp ();

  message = typed ("answer");
  json_object_set_string_member (message, "sdp", "this is not SDP");
  deliver (fixture, staff, message);
  message = wait_message (fixture, staff, "error");
  g_assert_cmpstr (json_object_get_string_member (message, "code"), ==, "bad-sdp");
  message = wait_message (fixture, home, "ended");
  g_assert_cmpstr (json_object_get_string_member (message, "outcome"), ==, "failed");
  assert_idle (fixture, "failed");
  message = wait_record (fixture, 1);
  g_assert_cmpstr (json_object_get_string_member (message, "staff"), ==, "anna");
  g_assert_cmpstr (json_object_get_string_member (message, "answered_by"), ==, "rut");
  g_assert_cmpstr (json_object_get_string_member (message, "outcome"), ==, "failed");
  g_assert_true (json_object_has_member (message, "started"));
  g_assert_true (json_object_has_member (message, "seconds"));
}

static void
test_decline_and_vanish (Fixture *fixture,
                         gconstpointer user_data)
{
  g_autofree gchar *staff = NULL;
  g_autofree gchar *home = NULL;
  JsonObject *message;

  g_test_summary ("A declined visit ends without a pipeline; candidates without a call are "
                  "refused; a staff browser that goes away mid-call ends it and the pipeline "
                  "is NULL; the resident hangs up too");
  home = hg_test_context_channel_open (fixture->context, "rut", "resident", NULL);
  staff = hg_test_context_channel_open (fixture->context, "anna", "staff", NULL);

  message = typed ("ice");
  json_object_set_string_member (message, "candidate", "candidate:1 1 UDP 1 127.0.0.1 9 typ host");
  json_object_set_int_member (message, "sdpMLineIndex", 0);
  deliver (fixture, staff, message);
  message = wait_message (fixture, staff, "error");
  g_assert_cmpstr (json_object_get_string_member (message, "code"), ==, "no-call");

  say (fixture, staff, "start");
  wait_message (fixture, home, "ring");
  say (fixture, home, "decline");
  message = wait_message (fixture, staff, "ended");
  g_assert_cmpstr (json_object_get_string_member (message, "outcome"), ==, "declined");
  assert_idle (fixture, "declined");
  message = wait_record (fixture, 1);
  g_assert_cmpstr (json_object_get_string_member (message, "outcome"), ==, "declined");
  g_assert_false (json_object_has_member (message, "answered_by"));

  say (fixture, staff, "start");
  wait_message (fixture, home, "ring");
  say (fixture, home, "accept");
  wait_message (fixture, staff, "offer");
  g_assert_cmpstr (json_object_get_string_member (last_health (fixture), "pipeline"), !=, "null");
  hg_test_context_channel_close (fixture->context, staff);
  assert_idle (fixture, "failed");

  g_free (staff);
  staff = hg_test_context_channel_open (fixture->context, "anna", "staff", NULL);
  say (fixture, staff, "start");
  say (fixture, home, "accept");
  wait_message (fixture, staff, "offer");
  say (fixture, home, "hangup");
  message = wait_message (fixture, staff, "ended");
  g_assert_cmpstr (json_object_get_string_member (message, "outcome"), ==, "answered");
  assert_idle (fixture, "answered");
}

static void
test_night_check (Fixture *fixture,
                  gconstpointer user_data)
{
  g_autofree gchar *staff = NULL;
  g_autofree gchar *check = NULL;
  g_autofree gchar *home = NULL;
  JsonObject *message;
  const gchar *sdp;

  g_test_summary ("A night check on a channel opened for it: video only (no Opus, sendonly), "
                  "the indicator on the home screen while the camera is on, ending by itself "
                  "after check-seconds with the pipeline NULL and a night-check record; a check "
                  "on an ordinary channel and a visit on a check channel are refused");
  home = hg_test_context_channel_open (fixture->context, "rut", "resident", NULL);
  staff = hg_test_context_channel_open (fixture->context, "anna", "staff", NULL);
  check = hg_test_context_channel_open (fixture->context, "nils", "staff", "night-check");

  say (fixture, staff, "check");
  message = wait_message (fixture, staff, "error");
  g_assert_cmpstr (json_object_get_string_member (message, "code"), ==, "forbidden");
  say (fixture, check, "start");
  message = wait_message (fixture, check, "error");
  g_assert_cmpstr (json_object_get_string_member (message, "code"), ==, "forbidden");

  say (fixture, check, "check");
  message = wait_message (fixture, home, "night-check");
  g_assert_cmpstr (json_object_get_string_member (message, "state"), ==, "started");
  message = wait_message (fixture, check, "offer");
  sdp = json_object_get_string_member (message, "sdp");
  g_assert_nonnull (strstr (sdp, "VP8/90000"));
  g_assert_null (strstr (sdp, "OPUS"));
  g_assert_nonnull (strstr (sdp, "a=sendonly"));
  say (fixture, staff, "start");
  wait_message (fixture, staff, "busy");

  /* ends by itself */
  message = wait_message (fixture, check, "ended");
  g_assert_cmpstr (json_object_get_string_member (message, "outcome"), ==, "completed");
  message = hg_test_context_get_channel_messages (fixture->context, home)->pdata[
      hg_test_context_get_channel_messages (fixture->context, home)->len - 1];
  g_assert_cmpstr (json_object_get_string_member (message, "type"), ==, "night-check");
  g_assert_cmpstr (json_object_get_string_member (message, "state"), ==, "ended");
  assert_idle (fixture, "completed");
  message = wait_record (fixture, 1);
  g_assert_cmpstr (json_object_get_string_member (message, "kind"), ==, "night-check");
  g_assert_cmpstr (json_object_get_string_member (message, "staff"), ==, "nils");
}

static void
test_camera_missing (Fixture *fixture,
                     gconstpointer user_data)
{
  g_autofree gchar *staff = NULL;
  g_autofree gchar *home = NULL;
  JsonObject *message;

  g_test_summary ("A camera that is missing: the accepted visit fails with a clear error to "
                  "staff (camera-unavailable), the home is told it ended, nothing stays open");
  home = hg_test_context_channel_open (fixture->context, "rut", "resident", NULL);
  staff = hg_test_context_channel_open (fixture->context, "anna", "staff", NULL);
  say (fixture, staff, "start");
  wait_message (fixture, home, "ring");
  say (fixture, home, "accept");
  message = wait_message (fixture, staff, "error");
  g_assert_cmpstr (json_object_get_string_member (message, "code"), ==, "camera-unavailable");
  message = wait_message (fixture, home, "ended");
  g_assert_cmpstr (json_object_get_string_member (message, "outcome"), ==, "failed");
  assert_idle (fixture, "failed");
}

/* A second WebRTC peer in the test process, GStreamer's webrtcbin, answering the gateway's
 * offer over the staff channel as a browser would. What it receives passes netsim first
 * (before its RTP session counts it, so its receiver reports tell the loss): the link to
 * a home on a weak connection. */
typedef struct
{
  Fixture *fixture;
  gchar *channel;        /* (owned) the staff channel it answers on */
  GstElement *pipeline;  /* (owned) */
  GstElement *webrtc;    /* (owned) */
  gdouble drop;          /* netsim's drop-probability */
  GAsyncQueue *outgoing; /* (owned) JsonObject, from webrtcbin's threads to the main loop */
  guint n_ice;           /* the gateway's candidates taken so far */
} TestPeer;

/* libnice's UPnP off for the peer too (see the plugin's disable_upnp ()) */
static void
test_peer_disable_upnp (GstElement *webrtc)
{
  g_autoptr(GObject) ice = NULL;
  g_autoptr(GObject) agent = NULL;

  g_object_get (webrtc, "ice-agent", &ice, NULL);
  g_object_get (ice, "agent", &agent, NULL);
  g_object_set (agent, "upnp", FALSE, NULL);
}

/* rtpbin puts the element it is given between the received RTP and its session */
static GstElement *
test_peer_request_decoder_cb (GstElement *rtpbin,
                              guint session,
                              gpointer user_data)
{
  TestPeer *peer = user_data;
  GstElement *bin = gst_bin_new (NULL);
  GstElement *netsim = gst_element_factory_make ("netsim", NULL);
  g_autoptr(GstPad) sink = NULL;
  g_autoptr(GstPad) src = NULL;

  g_assert_nonnull (netsim);
  g_object_set (netsim, "drop-probability", (gfloat) peer->drop, NULL);
  gst_bin_add (GST_BIN (bin), netsim);
  sink = gst_element_get_static_pad (netsim, "sink");
  src = gst_element_get_static_pad (netsim, "src");
  gst_element_add_pad (bin, gst_ghost_pad_new ("rtp_sink", sink));
  gst_element_add_pad (bin, gst_ghost_pad_new ("rtp_src", src));
  return bin;
}

/* A report every second rather than every five, as a browser sends them */
static void
test_peer_element_added_cb (GstBin *bin,
                            GstBin *sub_bin,
                            GstElement *element,
                            gpointer user_data)
{
  GstElementFactory *factory = gst_element_get_factory (element);

  if (factory != NULL && g_str_equal (GST_OBJECT_NAME (factory), "rtpsession"))
    g_object_set (element, "rtcp-min-interval", (guint64) GST_SECOND, NULL);
}

static void
test_peer_pad_added_cb (GstElement *webrtc,
                        GstPad *pad,
                        gpointer user_data)
{
  TestPeer *peer = user_data;
  GstElement *sink;
  g_autoptr(GstPad) input = NULL;

  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  sink = gst_element_factory_make ("fakesink", NULL);
  gst_bin_add (GST_BIN (peer->pipeline), sink);
  gst_element_sync_state_with_parent (sink);
  input = gst_element_get_static_pad (sink, "sink");
  g_assert_cmpint (gst_pad_link (pad, input), ==, GST_PAD_LINK_OK);
}

static void
test_peer_ice_candidate_cb (GstElement *webrtc,
                            guint mline,
                            gchar *candidate,
                            gpointer user_data)
{
  TestPeer *peer = user_data;
  JsonObject *message = typed ("ice");

  json_object_set_string_member (message, "candidate", candidate);
  json_object_set_int_member (message, "sdpMLineIndex", mline);
  g_async_queue_push (peer->outgoing, message);
}

static void
test_peer_answer_created_cb (GstPromise *promise,
                             gpointer user_data)
{
  TestPeer *peer = user_data;
  GstWebRTCSessionDescription *answer = NULL;
  JsonObject *message = typed ("answer");
  gchar *text;

  g_assert_cmpint (gst_promise_wait (promise), ==, GST_PROMISE_RESULT_REPLIED);
  gst_structure_get (gst_promise_get_reply (promise), "answer",
                     GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, NULL);
  g_assert_nonnull (answer);
  g_signal_emit_by_name (peer->webrtc, "set-local-description", answer, NULL);
  text = gst_sdp_message_as_text (answer->sdp);
  json_object_set_string_member (message, "sdp", text);
  g_free (text);
  gst_webrtc_session_description_free (answer);
  g_async_queue_push (peer->outgoing, message);
}

/* Answers @offer (the gateway's SDP) */
static TestPeer *
test_peer_new (Fixture *fixture,
               const gchar *channel,
               const gchar *offer,
               gdouble drop)
{
  TestPeer *peer = g_new0 (TestPeer, 1);
  g_autoptr(GstElement) rtpbin = NULL;
  g_autoptr(GError) error = NULL;
  GstSDPMessage *sdp = NULL;
  GstWebRTCSessionDescription *description;
  GstPromise *promise;

  peer->fixture = fixture;
  peer->channel = g_strdup (channel);
  peer->drop = drop;
  peer->outgoing = g_async_queue_new_full ((GDestroyNotify) json_object_unref);
  /* the staff member's camera, as a browser sends it */
  peer->pipeline = gst_parse_launch (
    "webrtcbin name=peer bundle-policy=max-bundle "
    "videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=15/1 ! "
    "vp8enc deadline=1 cpu-used=8 ! rtpvp8pay pt=96 ! "
    "application/x-rtp,media=video,encoding-name=VP8,payload=96 ! peer.", &error);
  g_assert_no_error (error);
  peer->webrtc = gst_bin_get_by_name (GST_BIN (peer->pipeline), "peer");
  test_peer_disable_upnp (peer->webrtc);
  rtpbin = gst_bin_get_by_name (GST_BIN (peer->webrtc), "rtpbin");
  g_assert_nonnull (rtpbin);
  g_signal_connect (rtpbin, "request-rtp-decoder", G_CALLBACK (test_peer_request_decoder_cb),
                    peer);
  g_signal_connect (peer->pipeline, "deep-element-added",
                    G_CALLBACK (test_peer_element_added_cb), NULL);
  g_signal_connect (peer->webrtc, "pad-added", G_CALLBACK (test_peer_pad_added_cb), peer);
  g_signal_connect (peer->webrtc, "on-ice-candidate", G_CALLBACK (test_peer_ice_candidate_cb),
                    peer);
  g_assert_cmpint (gst_element_set_state (peer->pipeline, GST_STATE_PLAYING), !=,
                   GST_STATE_CHANGE_FAILURE);

  g_assert_cmpint (gst_sdp_message_new_from_text (offer, &sdp), ==, GST_SDP_OK);
  description = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_OFFER, sdp);
  g_signal_emit_by_name (peer->webrtc, "set-remote-description", description, NULL);
  gst_webrtc_session_description_free (description);
  promise = gst_promise_new_with_change_func (test_peer_answer_created_cb, peer, NULL);
  g_signal_emit_by_name (peer->webrtc, "create-answer", NULL, promise);
  gst_promise_unref (promise);
  return peer;
}

/* One turn of the signalling: the peer's answer and candidates to the gateway, the
 * gateway's candidates to the peer */
static void
test_peer_signal (TestPeer *peer)
{
  GPtrArray *messages = hg_test_context_get_channel_messages (peer->fixture->context,
                                                              peer->channel);
  JsonObject *message;
  guint n = 0;

  while ((message = g_async_queue_try_pop (peer->outgoing)) != NULL)
    deliver (peer->fixture, peer->channel, message);
  for (guint i = 0; i < messages->len; i++)
    {
      message = g_ptr_array_index (messages, i);
      if (g_strcmp0 (json_object_get_string_member (message, "type"), "ice") != 0 ||
          n++ < peer->n_ice)
        continue;
      peer->n_ice++;
      g_signal_emit_by_name (peer->webrtc, "add-ice-candidate",
                             (guint) json_object_get_int_member (message, "sdpMLineIndex"),
                             json_object_get_string_member (message, "candidate"));
    }
}

static void
test_peer_free (TestPeer *peer)
{
  gst_element_set_state (peer->pipeline, GST_STATE_NULL);
  gst_object_unref (peer->webrtc);
  gst_object_unref (peer->pipeline);
  g_async_queue_unref (peer->outgoing);
  g_free (peer->channel);
  g_free (peer);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestPeer, test_peer_free)

/* Signals and waits until the newest health report passes @done, up to 60 s */
static JsonObject *
test_peer_wait_health (TestPeer *peer,
                       gboolean (*done) (JsonObject *health))
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      JsonObject *health = last_health (peer->fixture);

      if (done (health))
        return health;
      test_peer_signal (peer);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10000);
    }
  g_error ("the health report never became what was waited for");
}

static gboolean
bitrate_lowered (JsonObject *health)
{
  return json_object_has_member (health, "video_bitrate") &&
         json_object_get_int_member (health, "video_bitrate") < 600000;
}

static gboolean
size_lowered (JsonObject *health)
{
  return g_strcmp0 (json_object_get_string_member_with_default (health, "video_size", ""),
                    "320x240") == 0;
}

static gboolean
video_decoded (JsonObject *health)
{
  return json_object_get_int_member (json_object_get_object_member (health, "decoded_frames"),
                                     "video") > 0;
}

static gboolean
call_idle (JsonObject *health)
{
  return g_strcmp0 (json_object_get_string_member (health, "call"), "idle") == 0;
}

static void
test_congestion_lowers_bitrate (Fixture *fixture,
                                gconstpointer user_data)
{
  g_autofree gchar *staff = NULL;
  g_autofree gchar *home = NULL;
  g_autoptr(TestPeer) peer = NULL;
  JsonObject *message;
  JsonObject *health;

  g_test_summary ("A call to a peer (webrtcbin) that loses a fifth of what it receives "
                  "(netsim): its receiver reports take the gateway's video below max-bitrate "
                  "and to 320x240, never below min-bitrate; the pipeline is NULL after the "
                  "hang-up");
  home = hg_test_context_channel_open (fixture->context, "rut", "resident", NULL);
  staff = hg_test_context_channel_open (fixture->context, "anna", "staff", NULL);
  say (fixture, staff, "start");
  wait_message (fixture, home, "ring");
  say (fixture, home, "accept");
  message = wait_message (fixture, staff, "offer");
  health = last_health (fixture);
  g_assert_cmpint (json_object_get_int_member (health, "video_bitrate"), ==, 600000);
  g_assert_cmpstr (json_object_get_string_member (health, "video_size"), ==, "640x480");

  peer = test_peer_new (fixture, staff, json_object_get_string_member (message, "sdp"), 0.2);
  health = test_peer_wait_health (peer, bitrate_lowered);
  g_assert_cmpint (json_object_get_int_member (health, "video_bitrate"), >=, 100000);
  health = test_peer_wait_health (peer, size_lowered);
  g_assert_cmpint (json_object_get_int_member (health, "video_bitrate"), <, 250000);
  g_assert_cmpint (json_object_get_int_member (health, "video_bitrate"), >=, 100000);
  /* the staff side's video, decoded into the default video-sink and counted */
  test_peer_wait_health (peer, video_decoded);
  assert_no_upnp ();

  say (fixture, staff, "hangup");
  message = wait_message (fixture, home, "ended");
  g_assert_cmpstr (json_object_get_string_member (message, "outcome"), ==, "answered");
  assert_idle (fixture, "answered");
  g_assert_false (json_object_has_member (last_health (fixture), "video_bitrate"));
}

static void
test_staff_video_to_sink (Fixture *fixture,
                          gconstpointer user_data)
{
  g_autofree gchar *staff = NULL;
  g_autofree gchar *home = NULL;
  g_autoptr(TestPeer) peer = NULL;
  JsonObject *message;

  g_test_summary ("The staff side's video plays in the configured video-sink: one whose "
                  "device fails to start (fakesink state-error) fails the call once the "
                  "video comes, and the pipeline is NULL");
  home = hg_test_context_channel_open (fixture->context, "rut", "resident", NULL);
  staff = hg_test_context_channel_open (fixture->context, "anna", "staff", NULL);
  say (fixture, staff, "start");
  wait_message (fixture, home, "ring");
  say (fixture, home, "accept");
  message = wait_message (fixture, staff, "offer");
  peer = test_peer_new (fixture, staff, json_object_get_string_member (message, "sdp"), 0.0);
  test_peer_wait_health (peer, call_idle);
  message = wait_message (fixture, home, "ended");
  g_assert_cmpstr (json_object_get_string_member (message, "outcome"), ==, "failed");
  assert_idle (fixture, "failed");
}

static void
test_configure_media (void)
{
  struct
  {
    const gchar *config;
    const gchar *error; /* (nullable) a part of the message, NULL if it configures */
  } cases[] = {
    { "video-sink=fakesink sync=false\naudio-sink=fakesink\n", NULL },
    { "min-bitrate=50000\nmax-bitrate=2000000\n", NULL },
    { "video-sink=no-such-sink\n", "video-sink \"no-such-sink\"" },
    { "audio-sink=fakesink ! ! \n", "audio-sink" },
    { "audio-sink=audiotestsrc\n", "audio-sink \"audiotestsrc\": not a sink" },
    { "video-sink=videoconvert\n", "video-sink \"videoconvert\": not a sink" },
    { "min-bitrate=700000\n", "min-bitrate 700000 is above max-bitrate 600000" },
    { "max-bitrate=1000\n", "max-bitrate" },
  };

  g_test_summary ("video-sink and audio-sink are gst-launch descriptions of a sink: one that "
                  "cannot be made or is no sink is a configuration error naming the key; "
                  "min-bitrate above max-bitrate too");
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(HgTestContext) context = NULL;
      g_autoptr(HgPlugin) plugin = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree gchar *config = g_strdup_printf ("[plugin:webrtc-visit]\n%s", cases[i].config);
      gboolean ok;

      context = hg_test_context_new_from_data ("webrtc-visit", HG_DOMAIN_MUNICIPAL, config, NULL,
                                               &error);
      g_assert_no_error (error);
      plugin = g_object_new (HG_TYPE_WEBRTC_VISIT_PLUGIN, "context", context, NULL);
      ok = hg_plugin_configure (plugin, hg_context_get_config (HG_CONTEXT (context)), &error);
      if (cases[i].error == NULL)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
          continue;
        }
      g_assert_false (ok);
      g_assert_nonnull (error);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, cases[i].error));
    }
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  gst_init (&argc, &argv);

  g_test_add ("/webrtc-visit/accept-offer-bad-answer", Fixture, NULL, fixture_setup,
              test_accept_offer_hangup, fixture_teardown);
  g_test_add ("/webrtc-visit/decline-vanish-hangup", Fixture, NULL, fixture_setup,
              test_decline_and_vanish, fixture_teardown);
  g_test_add ("/webrtc-visit/night-check-video-only-ends-by-itself", Fixture, NULL, fixture_setup,
              test_night_check, fixture_teardown);
  g_test_add ("/webrtc-visit/camera-missing-clear-error", Fixture,
              "video-source=v4l2src device=/dev/video-missing\n", fixture_setup,
              test_camera_missing, fixture_teardown);
  g_test_add ("/webrtc-visit/congestion-lowers-bitrate-and-size", Fixture, NULL, fixture_setup,
              test_congestion_lowers_bitrate, fixture_teardown);
  g_test_add ("/webrtc-visit/staff-video-to-configured-sink", Fixture,
              "video-sink=fakesink state-error=ready-to-paused\n", fixture_setup,
              test_staff_video_to_sink, fixture_teardown);
  g_test_add_func ("/webrtc-visit/configure/sinks-and-bitrates", test_configure_media);
  return g_test_run ();
}
