/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The webrtc-visit plugin's call flow against HgTestContext, with real GStreamer pipelines:
 * staff start, the home rings, accept or decline, the gateway's offer (VP8 and Opus), a
 * second visit is busy, bad SDP and candidates, hang-up and a vanished browser; the
 * pipeline is gone (NULL) right after each call. A call to a second webrtcbin in this
 * process over a lossy link (netsim) lowers the video's bitrate and size; the staff
 * side's sinks are checked when configured. */
#include <hemgate-plugin.h>

#include <gst/base/gstbasesrc.h>
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

/* The context with ring-seconds=5, check-seconds=2 and @extra of the instance's
 * configuration; the plugin not started yet */
static void
fixture_create (Fixture *fixture,
                const gchar *extra)
{
  const gchar *capabilities[] = { "channel.serve", "media.camera", "media.microphone",
                                  "visit.publish", "secrets", "sensor.subscribe", NULL };
  g_autoptr(GError) error = NULL;
  g_autofree gchar *config = NULL;

  config = g_strdup_printf ("[plugin:webrtc-visit]\nring-seconds=5\ncheck-seconds=2\n%s",
                            extra != NULL ? extra : "");
  fixture->context = hg_test_context_new_from_data ("webrtc-visit", HG_DOMAIN_MUNICIPAL, config,
                                                    capabilities, &error);
  g_assert_no_error (error);
}

static void
fixture_start (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  gboolean started = FALSE;

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
fixture_setup (Fixture *fixture,
               gconstpointer user_data)
{
  /* user_data: more of the instance's configuration */
  fixture_create (fixture, user_data);
  fixture_start (fixture);
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

/* How many messages of @type arrived on @channel so far */
static guint
count_messages (Fixture *fixture,
                const gchar *channel,
                const gchar *type)
{
  GPtrArray *messages = hg_test_context_get_channel_messages (fixture->context, channel);
  guint n = 0;

  for (guint i = 0; i < messages->len; i++)
    {
      JsonObject *message = g_ptr_array_index (messages, i);

      if (g_strcmp0 (json_object_get_string_member (message, "type"), type) == 0)
        n++;
    }
  return n;
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

/* A home screen (rut) and a staff member (anna) open their channels, anna starts a visit
 * and the home accepts it */
static void
visit_accepted (Fixture *fixture,
                gchar **staff,
                gchar **home)
{
  *home = hg_test_context_channel_open (fixture->context, "rut", "resident", NULL);
  *staff = hg_test_context_channel_open (fixture->context, "anna", "staff", NULL);
  say (fixture, *staff, "start");
  wait_message (fixture, *home, "ring");
  say (fixture, *home, "accept");
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
  message = wait_message (fixture, staff, "ringing");
  g_assert_cmpint (json_object_get_int_member (message, "screens"), ==, 1);
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
  /* a home screen that connects mid-call is told the call runs */
  {
    g_autofree gchar *late = hg_test_context_channel_open (fixture->context, "rut", "resident",
                                                           NULL);

    message = wait_message (fixture, late, "accepted");
    g_assert_cmpstr (json_object_get_string_member (message, "staff"), ==, "anna");
    g_assert_cmpint (json_object_get_int_member (message, "seconds"), >=, 0);
  }

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
test_ringing_no_screen (Fixture *fixture,
                        gconstpointer user_data)
{
  g_autofree gchar *staff = NULL;
  g_autofree gchar *home = NULL;
  JsonObject *message;

  g_test_summary ("With no home screen on, staff are told that no screen rings (screens 0); "
                  "a screen that connects while it rings is rung; staff hanging up while it "
                  "rings cancel it");
  staff = hg_test_context_channel_open (fixture->context, "anna", "staff", NULL);
  say (fixture, staff, "start");
  message = wait_message (fixture, staff, "ringing");
  g_assert_cmpint (json_object_get_int_member (message, "screens"), ==, 0);
  home = hg_test_context_channel_open (fixture->context, "rut", "resident", NULL);
  message = wait_message (fixture, home, "ring");
  g_assert_cmpstr (json_object_get_string_member (message, "staff"), ==, "anna");
  say (fixture, staff, "hangup");
  message = wait_message (fixture, home, "ended");
  g_assert_cmpstr (json_object_get_string_member (message, "outcome"), ==, "cancelled");
  assert_idle (fixture, "cancelled");
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
  /* a home screen that (re)connects while the camera looks in shows the indicator too */
  {
    g_autofree gchar *late = hg_test_context_channel_open (fixture->context, "rut", "resident",
                                                           NULL);

    message = wait_message (fixture, late, "night-check");
    g_assert_cmpstr (json_object_get_string_member (message, "state"), ==, "started");
  }

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

/* A camera or microphone another program has open. Its device answers EBUSY, which
 * v4l2src (and alsasrc, pulsesrc) post as GST_RESOURCE_ERROR_BUSY when they start; no
 * device can be made busy on a test machine, so this source fails its start that way. */
G_DECLARE_FINAL_TYPE (HgTestBusySrc, hg_test_busy_src, HG_TEST, BUSY_SRC, GstBaseSrc)

struct _HgTestBusySrc
{
  GstBaseSrc parent_instance;
};

G_DEFINE_TYPE (HgTestBusySrc, hg_test_busy_src, GST_TYPE_BASE_SRC)

static GstStaticPadTemplate busy_src_template =
  GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static gboolean
busy_src_start (GstBaseSrc *src)
{
  GST_ELEMENT_ERROR (src, RESOURCE, BUSY, ("Device '/dev/video0' is busy"),
                     ("open: Device or resource busy"));
  return FALSE;
}

static void
hg_test_busy_src_class_init (HgTestBusySrcClass *klass)
{
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  gst_element_class_set_static_metadata (element_class, "Busy device", "Source",
                                         "A device another program has open", "hemgate");
  gst_element_class_add_static_pad_template (element_class, &busy_src_template);
  GST_BASE_SRC_CLASS (klass)->start = busy_src_start;
}

static void
hg_test_busy_src_init (HgTestBusySrc *self)
{
}

/* Staff start a visit, the home accepts: the code of the error staff are then told, with
 * the call ended "failed" and nothing left open */
static void
assert_visit_fails_with (Fixture *fixture,
                         const gchar *code)
{
  g_autofree gchar *staff = NULL;
  g_autofree gchar *home = NULL;
  JsonObject *message;

  visit_accepted (fixture, &staff, &home);
  message = wait_message (fixture, staff, "error");
  g_assert_cmpstr (json_object_get_string_member (message, "code"), ==, code);
  message = wait_message (fixture, home, "ended");
  g_assert_cmpstr (json_object_get_string_member (message, "outcome"), ==, "failed");
  g_assert_cmpuint (count_messages (fixture, staff, "offer"), ==, 0);
  assert_idle (fixture, "failed");
}

static void
test_camera_missing (Fixture *fixture,
                     gconstpointer user_data)
{
  g_test_summary ("A camera that is missing (no such device): the accepted visit fails with "
                  "camera-missing to staff, the home is told it ended, nothing stays open");
  assert_visit_fails_with (fixture, "camera-missing");
}

static void
test_camera_busy (Fixture *fixture,
                  gconstpointer user_data)
{
  g_test_summary ("A camera that another program has open: camera-busy, told apart from "
                  "missing; a busy microphone is microphone-busy");
  assert_visit_fails_with (fixture, "camera-busy");
  g_clear_object (&fixture->plugin);
  g_clear_object (&fixture->context);
  fixture_setup (fixture, "audio-source=hgtestbusysrc\n");
  assert_visit_fails_with (fixture, "microphone-busy");
}

/* The media lines of an offer: "audio", "video" */
static gchar *
offer_media (JsonObject *offer)
{
  GstSDPMessage *sdp = NULL;
  g_autoptr(GString) media = g_string_new (NULL);

  g_assert_cmpint (gst_sdp_message_new_from_text (json_object_get_string_member (offer, "sdp"),
                                                  &sdp), ==, GST_SDP_OK);
  for (guint i = 0; i < gst_sdp_message_medias_len (sdp); i++)
    g_string_append_printf (media, "%s%s", i > 0 ? " " : "",
                            gst_sdp_media_get_media (gst_sdp_message_get_media (sdp, i)));
  gst_sdp_message_free (sdp);
  return g_string_free (g_steal_pointer (&media), FALSE);
}

/* The newest offer on @channel once there are @n of them */
static JsonObject *
wait_offer (Fixture *fixture,
            const gchar *channel,
            guint n)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (count_messages (fixture, channel, "offer") < n && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (count_messages (fixture, channel, "offer"), ==, n);
  return wait_message (fixture, channel, "offer");
}

static void
test_camera_optional (Fixture *fixture,
                      gconstpointer user_data)
{
  g_autofree gchar *staff = NULL;
  g_autofree gchar *home = NULL;
  g_autofree gchar *media = NULL;
  g_autofree gchar *check = NULL;
  JsonObject *message;

  g_test_summary ("With camera-optional, a visit whose camera is missing goes on with sound "
                  "only: staff are told video-unavailable (camera-missing) and offered audio "
                  "alone, and the record says video false; a night check still fails, it is "
                  "its camera");
  visit_accepted (fixture, &staff, &home);
  message = wait_message (fixture, staff, "video-unavailable");
  g_assert_cmpstr (json_object_get_string_member (message, "code"), ==, "camera-missing");
  media = offer_media (wait_offer (fixture, staff, 1));
  g_assert_cmpstr (media, ==, "audio");
  g_assert_cmpstr (json_object_get_string_member (last_health (fixture), "call"), ==, "in-call");
  g_assert_cmpstr (json_object_get_string_member (last_health (fixture), "pipeline"), !=,
                   "null");
  say (fixture, home, "hangup");
  message = wait_message (fixture, staff, "ended");
  g_assert_cmpstr (json_object_get_string_member (message, "outcome"), ==, "answered");
  assert_idle (fixture, "answered");
  message = wait_record (fixture, 1);
  g_assert_false (json_object_get_boolean_member (message, "video"));

  check = hg_test_context_channel_open (fixture->context, "nils", "staff", "night-check");
  say (fixture, check, "check");
  message = wait_message (fixture, check, "error");
  g_assert_cmpstr (json_object_get_string_member (message, "code"), ==, "camera-missing");
  assert_idle (fixture, "failed");
}

/* The TURN credentials: characters that must be percent-encoded in a URI's userinfo */
#define TURN_USERNAME "gate:way@home"
#define TURN_PASSWORD "p@ss:w%rd/\xc3\xb6?#"
#define TURN_CONFIG "turn-server=turn://127.0.0.1:3478?transport=udp\nice-transport-policy=relay\n"

/* The webrtcbin of the newest call, seen as gst_parse_launch () adds it to the pipeline */
static GstElement *last_webrtc;

static gboolean
element_added_cb (GSignalInvocationHint *hint,
                  guint n_values,
                  const GValue *values,
                  gpointer user_data)
{
  GstElement *element = g_value_get_object (&values[1]);
  GstElementFactory *factory = gst_element_get_factory (element);

  if (factory != NULL && g_str_equal (GST_OBJECT_NAME (factory), "webrtcbin"))
    {
      g_clear_object (&last_webrtc);
      last_webrtc = g_object_ref (element);
    }
  return TRUE;
}

/* Starts a visit and waits for the gateway's offer: the call's webrtcbin has gathered */
static void
call_until_offer (Fixture *fixture,
                  const gchar *staff,
                  const gchar *home)
{
  g_clear_object (&last_webrtc);
  say (fixture, staff, "start");
  wait_message (fixture, home, "ring");
  say (fixture, home, "accept");
  wait_message (fixture, staff, "offer");
  g_assert_nonnull (last_webrtc);
}

static void
hang_up (Fixture *fixture,
         const gchar *staff)
{
  say (fixture, staff, "hangup");
  wait_message (fixture, staff, "ended");
  g_clear_object (&last_webrtc);
}

/* The user and password webrtcbin takes from its turn-server, parsed as it does (one
 * unescape by GstUri, one per part), and the rest of the URI */
static void
assert_turn_server (GstElement *webrtc,
                    const gchar *user,
                    const gchar *password)
{
  g_autofree gchar *value = NULL;
  g_autoptr(GstUri) uri = NULL;
  g_auto(GStrv) parts = NULL;
  g_autofree gchar *got_user = NULL;
  g_autofree gchar *got_password = NULL;

  g_object_get (webrtc, "turn-server", &value, NULL);
  g_assert_nonnull (value);
  uri = gst_uri_from_string (value);
  g_assert_nonnull (uri);
  g_assert_cmpstr (gst_uri_get_scheme (uri), ==, "turn");
  g_assert_cmpstr (gst_uri_get_host (uri), ==, "127.0.0.1");
  g_assert_cmpuint (gst_uri_get_port (uri), ==, 3478);
  g_assert_cmpstr (gst_uri_get_query_value (uri, "transport"), ==, "udp");
  /* exactly one ':' is left to split user and password: theirs are encoded */
  parts = g_strsplit (gst_uri_get_userinfo (uri), ":", -1);
  g_assert_cmpuint (g_strv_length (parts), ==, 2);
  got_user = g_uri_unescape_string (parts[0], NULL);
  got_password = g_uri_unescape_string (parts[1], NULL);
  g_assert_cmpstr (got_user, ==, user);
  g_assert_cmpstr (got_password, ==, password);
}

static GstWebRTCICETransportPolicy
transport_policy (GstElement *webrtc)
{
  GstWebRTCICETransportPolicy policy = GST_WEBRTC_ICE_TRANSPORT_POLICY_ALL;

  g_object_get (webrtc, "ice-transport-policy", &policy, NULL);
  return policy;
}

static JsonObject *
turn_health (Fixture *fixture)
{
  JsonObject *health = last_health (fixture);

  g_assert_true (json_object_has_member (health, "turn"));
  return json_object_get_object_member (health, "turn");
}

/* Warnings a case expects: written, not fatal, counted */
static const gchar *expected_warning;
static guint n_expected_warnings;

/* TURN configured; user_data: which secrets are in the store before the plugin starts,
 * "both" or "username" */
static void
fixture_setup_turn (Fixture *fixture,
                    gconstpointer user_data)
{
  fixture_create (fixture, TURN_CONFIG);
  hg_test_context_set_secret (fixture->context, "turn-username", TURN_USERNAME);
  if (g_str_equal (user_data, "both"))
    hg_test_context_set_secret (fixture->context, "turn-password", TURN_PASSWORD);
  n_expected_warnings = 0;
  fixture_start (fixture);
}

static void
test_turn_from_secrets (Fixture *fixture,
                        gconstpointer user_data)
{
  g_autofree gchar *staff = NULL;
  g_autofree gchar *home = NULL;
  JsonObject *turn;

  g_test_summary ("The configured TURN server with the credentials from the secret store "
                  "(turn-username, turn-password) ends up in the call's webrtcbin as "
                  "turn-server, percent-encoded, with ice-transport-policy relay; the health "
                  "report says TURN is ready and never carries a credential");
  turn = turn_health (fixture);
  g_assert_cmpstr (json_object_get_string_member (turn, "state"), ==, "ready");
  g_assert_cmpstr (json_object_get_string_member (turn, "server"), ==,
                   "turn://127.0.0.1:3478?transport=udp");
  g_assert_cmpstr (json_object_get_string_member (turn, "policy"), ==, "relay");
  g_assert_cmpuint (hg_test_context_get_n_calls (fixture->context,
                                                 HG_TEST_CONTEXT_CALL_LOOKUP_SECRET), ==, 2);

  home = hg_test_context_channel_open (fixture->context, "rut", "resident", NULL);
  staff = hg_test_context_channel_open (fixture->context, "anna", "staff", NULL);
  call_until_offer (fixture, staff, home);
  assert_turn_server (last_webrtc, TURN_USERNAME, TURN_PASSWORD);
  g_assert_cmpint (transport_policy (last_webrtc), ==, GST_WEBRTC_ICE_TRANSPORT_POLICY_RELAY);
  hang_up (fixture, staff);
  assert_idle (fixture, "answered");

  /* an operator changes the password: the next call uses it */
  hg_test_context_change_secret (fixture->context, "turn-password", "second");
  while (hg_test_context_get_n_calls (fixture->context, HG_TEST_CONTEXT_CALL_LOOKUP_SECRET) < 3)
    g_main_context_iteration (NULL, TRUE);
  g_main_context_iteration (NULL, FALSE);
  call_until_offer (fixture, staff, home);
  assert_turn_server (last_webrtc, TURN_USERNAME, "second");
  hang_up (fixture, staff);
}

static void
test_turn_missing_secret (Fixture *fixture,
                          gconstpointer user_data)
{
  g_autofree gchar *staff = NULL;
  g_autofree gchar *home = NULL;
  JsonObject *turn;

  g_test_summary ("TURN configured but the secret turn-password missing: a warning names the "
                  "secret, the health report says no-credentials and which; a call still runs "
                  "on host candidates (no turn-server, policy all, not relay-only); once the "
                  "secret is set the next call uses TURN");
  g_assert_cmpuint (n_expected_warnings, ==, 1);
  turn = turn_health (fixture);
  g_assert_cmpstr (json_object_get_string_member (turn, "state"), ==, "no-credentials");
  g_assert_cmpstr (json_object_get_string_member (turn, "missing"), ==, "turn-password");

  home = hg_test_context_channel_open (fixture->context, "rut", "resident", NULL);
  staff = hg_test_context_channel_open (fixture->context, "anna", "staff", NULL);
  call_until_offer (fixture, staff, home);
  {
    g_autofree gchar *value = NULL;

    g_object_get (last_webrtc, "turn-server", &value, NULL);
    g_assert_null (value);
  }
  g_assert_cmpint (transport_policy (last_webrtc), ==, GST_WEBRTC_ICE_TRANSPORT_POLICY_ALL);
  /* host candidates are gathered */
  wait_message (fixture, staff, "ice");
  hang_up (fixture, staff);

  hg_test_context_change_secret (fixture->context, "turn-password", TURN_PASSWORD);
  while (g_strcmp0 (json_object_get_string_member (turn_health (fixture), "state"), "ready") != 0)
    g_main_context_iteration (NULL, TRUE);
  call_until_offer (fixture, staff, home);
  assert_turn_server (last_webrtc, TURN_USERNAME, TURN_PASSWORD);
  g_assert_cmpint (transport_policy (last_webrtc), ==, GST_WEBRTC_ICE_TRANSPORT_POLICY_RELAY);
  hang_up (fixture, staff);
}

static void
test_turn_config_refused (void)
{
  const struct
  {
    const gchar *config;
    const gchar *message;
  } cases[] = {
    { "turn-server=turn://gate:s3cret-pw@127.0.0.1:3478\n", "do not belong in the configuration" },
    { "turn-server=stun://127.0.0.1:3478\n", "not turn://HOST" },
    { "turn-server=turn://127.0.0.1:3478?transport=sctp\n", "not turn://HOST" },
    { "turn-server=turn://127.0.0.1:3478/path\n", "not turn://HOST" },
    { "turn-server=turn:///\n", "not turn://HOST" },
    { "ice-transport-policy=relay\n", "needs a turn-server" },
    { "turn-server=turns://turn.example.org\nice-transport-policy=none\n", "'none' is not" },
  };

  g_test_summary ("A TURN server with credentials in the configuration is refused without "
                  "echoing them, as are a server that is not turn(s)://HOST[:PORT] and a "
                  "relay-only policy without one");
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *data = g_strdup_printf ("[plugin:webrtc-visit]\n%s", cases[i].config);
      g_autoptr(HgTestContext) context = NULL;
      g_autoptr(HgPlugin) plugin = NULL;
      g_autoptr(GError) error = NULL;

      context = hg_test_context_new_from_data ("webrtc-visit", HG_DOMAIN_MUNICIPAL, data, NULL,
                                               &error);
      g_assert_no_error (error);
      plugin = g_object_new (HG_TYPE_WEBRTC_VISIT_PLUGIN, "context", context, NULL);
      g_assert_false (hg_plugin_configure (plugin, hg_context_get_config (HG_CONTEXT (context)),
                                           &error));
      g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
      g_assert_nonnull (strstr (error->message, cases[i].message));
      g_assert_null (strstr (error->message, "s3cret"));
    }
}

/* A button event as mqtt-sensors journals it: a `sensor.reading` of kind `action` */
static void
press (Fixture *fixture,
       const gchar *device,
       const gchar *action)
{
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(HgEvent) event = NULL;
  g_autoptr(GError) error = NULL;

  json_object_set_string_member (body, "device", device);
  json_object_set_string_member (body, "domain", "municipal");
  json_object_set_string_member (body, "kind", "action");
  json_object_set_string_member (body, "value", action);
  event = hg_event_new ("sensor.reading", body);
  g_assert_true (hg_test_context_deliver_event (fixture->context, fixture->plugin, event, &error));
  g_assert_no_error (error);
}

static void
test_button_answers (Fixture *fixture,
                     gconstpointer user_data)
{
  g_autofree gchar *staff = NULL;
  g_autofree gchar *home = NULL;
  JsonObject *message;

  g_test_summary ("A configured physical button (answer-button, answer-action) answers a "
                  "ringing visit, recorded as answered_by button; another device's or another "
                  "action's event leaves it ringing, and a press with nothing ringing does "
                  "nothing");
  home = hg_test_context_channel_open (fixture->context, "rut", "resident", NULL);
  staff = hg_test_context_channel_open (fixture->context, "anna", "staff", NULL);

  /* nothing rings: ignored */
  press (fixture, "hall-button", "double");
  g_assert_cmpstr (json_object_get_string_member (last_health (fixture), "call"), ==, "idle");
  g_assert_cmpuint (hg_test_context_get_channel_messages (fixture->context, staff)->len, ==, 0);

  say (fixture, staff, "start");
  wait_message (fixture, home, "ring");
  press (fixture, "kitchen-button", "double");
  press (fixture, "hall-button", "single");
  press (fixture, "hall-button", "hold");
  g_assert_cmpstr (json_object_get_string_member (last_health (fixture), "call"), ==, "ringing");

  press (fixture, "hall-button", "double");
  wait_message (fixture, staff, "accepted");
  wait_message (fixture, home, "accepted");
  wait_message (fixture, staff, "offer");
  g_assert_cmpstr (json_object_get_string_member (last_health (fixture), "call"), ==, "in-call");
  say (fixture, staff, "hangup");
  message = wait_message (fixture, home, "ended");
  g_assert_cmpstr (json_object_get_string_member (message, "outcome"), ==, "answered");
  assert_idle (fixture, "answered");
  message = wait_record (fixture, 1);
  g_assert_cmpstr (json_object_get_string_member (message, "answered_by"), ==, "button");
}

/* Warnings a case expects (expected_warning) are written, counted and not made fatal;
 * everything else goes as GLib would. */
static GLogWriterOutput
log_writer_cb (GLogLevelFlags log_level,
               const GLogField *fields,
               gsize n_fields,
               gpointer user_data)
{
  for (gsize i = 0; i < n_fields; i++)
    {
      if (expected_warning != NULL && g_strcmp0 (fields[i].key, "MESSAGE") == 0
          && fields[i].length < 0 && strstr (fields[i].value, expected_warning) != NULL
          && (log_level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) == 0)
        {
          n_expected_warnings++;
          return g_log_writer_standard_streams (log_level, fields, n_fields, user_data);
        }
    }
  return g_log_writer_default (log_level, fields, n_fields, user_data);
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
  visit_accepted (fixture, &staff, &home);
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
                  "video comes (media-failed to staff), and the pipeline is NULL");
  visit_accepted (fixture, &staff, &home);
  message = wait_message (fixture, staff, "offer");
  peer = test_peer_new (fixture, staff, json_object_get_string_member (message, "sdp"), 0.0);
  test_peer_wait_health (peer, call_idle);
  message = wait_message (fixture, staff, "error");
  g_assert_cmpstr (json_object_get_string_member (message, "code"), ==, "media-failed");
  message = wait_message (fixture, home, "ended");
  g_assert_cmpstr (json_object_get_string_member (message, "outcome"), ==, "failed");
  assert_idle (fixture, "failed");
}

static gboolean
sound_only (JsonObject *health)
{
  return json_object_has_member (health, "video") &&
         !json_object_get_boolean_member (health, "video");
}

static void
test_camera_fails_mid_call (Fixture *fixture,
                            gconstpointer user_data)
{
  g_autofree gchar *staff = NULL;
  g_autofree gchar *home = NULL;
  g_autofree gchar *first = NULL;
  g_autofree gchar *second = NULL;
  g_autoptr(TestPeer) peer = NULL;
  JsonObject *message;

  g_test_summary ("A camera that fails during the call (an error from inside its source): "
                  "with camera-optional the visit goes on with sound only in a new offer, "
                  "and the record says video false");
  visit_accepted (fixture, &staff, &home);
  message = wait_offer (fixture, staff, 1);
  first = offer_media (message);
  g_assert_cmpstr (first, ==, "video audio");
  /* the camera's media flow once a peer answers */
  peer = test_peer_new (fixture, staff, json_object_get_string_member (message, "sdp"), 0.0);
  test_peer_wait_health (peer, sound_only);
  message = wait_message (fixture, staff, "video-unavailable");
  g_assert_cmpstr (json_object_get_string_member (message, "code"), ==, "camera-unavailable");
  second = offer_media (wait_offer (fixture, staff, 2));
  g_assert_cmpstr (second, ==, "audio");
  g_assert_cmpuint (count_messages (fixture, staff, "error"), ==, 0);
  say (fixture, staff, "hangup");
  message = wait_message (fixture, home, "ended");
  g_assert_cmpstr (json_object_get_string_member (message, "outcome"), ==, "answered");
  assert_idle (fixture, "answered");
  message = wait_record (fixture, 1);
  g_assert_false (json_object_get_boolean_member (message, "video"));
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
    { "camera-optional=true\n", NULL },
    { "camera-optional=perhaps\n", "camera-optional" },
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
  g_log_set_writer_func (log_writer_cb, NULL, NULL);
  gst_init (&argc, &argv);
  gst_element_register (NULL, "hgtestbusysrc", GST_RANK_NONE, hg_test_busy_src_get_type ());
  g_signal_add_emission_hook (g_signal_lookup ("element-added", GST_TYPE_BIN), 0,
                              element_added_cb, NULL, NULL);
  expected_warning = "the secret turn-password is not available";

  g_test_add ("/webrtc-visit/accept-offer-bad-answer", Fixture, NULL, fixture_setup,
              test_accept_offer_hangup, fixture_teardown);
  g_test_add ("/webrtc-visit/ringing-says-how-many-screens", Fixture, NULL, fixture_setup,
              test_ringing_no_screen, fixture_teardown);
  g_test_add ("/webrtc-visit/decline-vanish-hangup", Fixture, NULL, fixture_setup,
              test_decline_and_vanish, fixture_teardown);
  g_test_add ("/webrtc-visit/night-check-video-only-ends-by-itself", Fixture, NULL, fixture_setup,
              test_night_check, fixture_teardown);
  g_test_add ("/webrtc-visit/camera-missing-clear-error", Fixture,
              "video-source=v4l2src device=/dev/video-missing\n", fixture_setup,
              test_camera_missing, fixture_teardown);
  g_test_add ("/webrtc-visit/camera-busy-told-apart", Fixture, "video-source=hgtestbusysrc\n",
              fixture_setup, test_camera_busy, fixture_teardown);
  g_test_add ("/webrtc-visit/camera-optional-sound-only", Fixture,
              "video-source=v4l2src device=/dev/video-missing\ncamera-optional=true\n",
              fixture_setup, test_camera_optional, fixture_teardown);
  g_test_add ("/webrtc-visit/camera-fails-mid-call-sound-only", Fixture,
              "video-source=videotestsrc is-live=true ! identity error-after=20\n"
              "camera-optional=true\n",
              fixture_setup, test_camera_fails_mid_call, fixture_teardown);
  g_test_add ("/webrtc-visit/turn-server-from-secrets", Fixture, "both", fixture_setup_turn,
              test_turn_from_secrets, fixture_teardown);
  g_test_add ("/webrtc-visit/turn-missing-secret-falls-back", Fixture, "username",
              fixture_setup_turn, test_turn_missing_secret, fixture_teardown);
  g_test_add_func ("/webrtc-visit/turn-config-refused", test_turn_config_refused);
  g_test_add ("/webrtc-visit/button-answers-a-ringing-visit", Fixture,
              "answer-button=hall-button\nanswer-action=double\n", fixture_setup,
              test_button_answers, fixture_teardown);
  g_test_add ("/webrtc-visit/congestion-lowers-bitrate-and-size", Fixture, NULL, fixture_setup,
              test_congestion_lowers_bitrate, fixture_teardown);
  g_test_add ("/webrtc-visit/staff-video-to-configured-sink", Fixture,
              "video-sink=fakesink state-error=ready-to-paused\n", fixture_setup,
              test_staff_video_to_sink, fixture_teardown);
  g_test_add_func ("/webrtc-visit/configure/sinks-and-bitrates", test_configure_media);
  return g_test_run ();
}
