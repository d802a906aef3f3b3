/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgWebrtcVisitPlugin: video care visits. Staff start a visit on a channel, the resident's
 * home screen (its channel) rings, the resident accepts or declines; an accepted call runs
 * a GStreamer pipeline with webrtcbin (VP8 and Opus both ways), signalled over the staff
 * member's channel (offer from the gateway, answer and ICE candidates from the browser).
 * The pipeline exists only during the call and is in NULL state and gone right after it.
 * Nothing is recorded. One call at a time: a second start is answered "busy". */
#include <hemgate-plugin.h>

#include <string.h>

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include "hg-webrtc-visit-plugin.h"
#include "hg-webrtc-visit-rate.h"

#define DEFAULT_VIDEO_SOURCE "videotestsrc is-live=true pattern=ball"
#define DEFAULT_AUDIO_SOURCE "audiotestsrc is-live=true wave=sine volume=0.1"
#define DEFAULT_RING_SECONDS 30
#define DEFAULT_CHECK_SECONDS 60
/* The TURN server's long-term credentials: the instance's secrets, never its configuration */
#define TURN_USERNAME_SECRET "turn-username"
#define TURN_PASSWORD_SECRET "turn-password"
#define DEFAULT_ANSWER_ACTION "single"
#define DEFAULT_VIDEO_SINK "fakesink sync=false"
#define DEFAULT_AUDIO_SINK "fakesink sync=false"
#define DEFAULT_MIN_BITRATE 100000
#define DEFAULT_MAX_BITRATE 600000

typedef enum
{
  CALL_RINGING,
  CALL_ACTIVE,
} CallState;

typedef struct
{
  gchar *user;     /* (owned) */
  gchar *role;     /* (owned) */
  gboolean check;  /* opened for a night check, under the resident's consent */
} Peer;

typedef struct
{
  guint64 id;
  gboolean check;        /* a night check: video from the home only, ends by itself */
  CallState state;
  gchar *staff_channel;  /* (owned) */
  gchar *staff_user;     /* (owned) */
  gchar *resident_user;  /* (owned) (nullable) who answered */
  gint64 started;        /* real time */
  gint64 answered;       /* real time, 0 if not */
  guint ring_id;
  gboolean audio_only;   /* the camera failed and camera-optional let the visit go on */
  guint64 media;         /* which pipeline of the call: webrtcbin's messages name it */
  GstElement *pipeline;  /* (owned) (nullable) */
  GstElement *webrtc;    /* (unowned) in pipeline */
  HgWebrtcVisitRate rate; /* the video encoder's bitrate and size */
} Call;

struct _HgWebrtcVisitPlugin
{
  HgPlugin parent_instance;
  gchar *video_source;   /* (owned) a gst-launch description */
  gchar *audio_source;   /* (owned) */
  gchar *stun_server;    /* (owned) (nullable) */
  gchar *turn_server;    /* (owned) (nullable) turn(s)://HOST[:PORT][?transport=udp|tcp] */
  gboolean relay_only;   /* ice-transport-policy = relay, while TURN can be used */
  gchar *turn_username;  /* (owned) (nullable) the secret turn-username */
  gchar *turn_password;  /* (owned) (nullable) the secret turn-password, wiped when freed */
  GCancellable *cancellable; /* (owned) the secret lookups */
  guint ring_seconds;
  guint check_seconds;
  gchar *answer_button;  /* (owned) (nullable) the device whose button answers a visit */
  gchar *answer_action;  /* (owned) its action that does */
  gchar *video_sink;     /* (owned) a gst-launch description: the staff side's video */
  gchar *audio_sink;     /* (owned) */
  guint min_bitrate;     /* bit/s, the video's floor under congestion */
  guint max_bitrate;     /* bit/s, its ceiling */
  gboolean camera_optional; /* a visit goes on with sound only when the camera fails */
  guint64 n_media;          /* pipelines made, for HgWebrtcVisitPlugin.call->media */
  GHashTable *peers;     /* (owned) channel id → Peer */
  Call *call;            /* (owned) (nullable) the one call */
  guint64 n_calls;
  JsonObject *last_call; /* (owned) (nullable) */
  gint video_frames;     /* atomic: decoded in the current or last call */
  gint audio_frames;     /* atomic */
  guint health_id;
  GMainContext *context; /* (owned) where the plugin runs */
};

G_DEFINE_TYPE (HgWebrtcVisitPlugin, hg_webrtc_visit_plugin, HG_TYPE_PLUGIN)

static HgContext *
get_context (HgWebrtcVisitPlugin *self)
{
  return hg_plugin_get_context (HG_PLUGIN (self));
}

static void
peer_free (Peer *peer)
{
  g_free (peer->user);
  g_free (peer->role);
  g_free (peer);
}

static gboolean
role_is_staff (const gchar *role)
{
  return g_strcmp0 (role, "staff") == 0;
}

/* ICE: STUN and TURN. The TURN server is configured (turn-server), its long-term
 * credentials are the instance's secrets turn-username and turn-password, looked up at
 * start and again when an operator changes one (HgContext::secret-changed); a call uses
 * what is there when it starts. Without them a call still runs, on host and STUN
 * candidates. The password is never logged and is wiped from memory when dropped. */

static void report_health (HgWebrtcVisitPlugin *self);

static void
secret_free (gchar *secret)
{
  if (secret == NULL)
    return;
  memset (secret, 0, strlen (secret));
  g_free (secret);
}

/* turn(s)://HOST[:PORT][?transport=udp|tcp], as webrtcbin takes it, without credentials.
 * The value is never echoed: a mistaken one may hold a password. */
static gboolean
turn_server_check (const gchar *value,
                   GError **error)
{
  g_autoptr(GUri) uri = g_uri_parse (value, G_URI_FLAGS_NONE, NULL);
  const gchar *scheme = uri != NULL ? g_uri_get_scheme (uri) : NULL;
  const gchar *query = uri != NULL ? g_uri_get_query (uri) : NULL;

  if (uri != NULL && g_uri_get_userinfo (uri) != NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "key 'turn-server': credentials do not belong in the configuration; set "
                   "the secrets %s and %s", TURN_USERNAME_SECRET, TURN_PASSWORD_SECRET);
      return FALSE;
    }
  if (uri == NULL || (g_strcmp0 (scheme, "turn") != 0 && g_strcmp0 (scheme, "turns") != 0) ||
      g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0' ||
      *g_uri_get_path (uri) != '\0' || g_uri_get_fragment (uri) != NULL ||
      (query != NULL && g_strcmp0 (query, "transport=udp") != 0 &&
       g_strcmp0 (query, "transport=tcp") != 0))
    {
      g_set_error_literal (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                           "key 'turn-server': not turn://HOST[:PORT] or turns://HOST[:PORT], "
                           "with ?transport=udp or ?transport=tcp if at all");
      return FALSE;
    }
  return TRUE;
}

/* The keys turn-server and ice-transport-policy */
static gboolean
ice_configure (HgWebrtcVisitPlugin *self,
               HgConfig *config,
               GError **error)
{
  const gchar *turn = hg_config_get_string (config, "turn-server", NULL);
  const gchar *policy = hg_config_get_string (config, "ice-transport-policy", "all");

  if (turn != NULL && *turn == '\0')
    turn = NULL;
  if (turn != NULL && !turn_server_check (turn, error))
    return FALSE;
  if (g_strcmp0 (policy, "all") != 0 && g_strcmp0 (policy, "relay") != 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "key 'ice-transport-policy': '%s' is not 'all' or 'relay'", policy);
      return FALSE;
    }
  if (g_str_equal (policy, "relay") && turn == NULL)
    {
      g_set_error_literal (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                           "key 'ice-transport-policy': 'relay' needs a turn-server");
      return FALSE;
    }
  g_free (self->turn_server);
  self->turn_server = g_strdup (turn);
  self->relay_only = g_str_equal (policy, "relay");
  return TRUE;
}

/* The secret TURN still lacks, or NULL when it can be used (or is not configured) */
static const gchar *
turn_missing_secret (HgWebrtcVisitPlugin *self)
{
  if (self->turn_server == NULL)
    return NULL;
  if (self->turn_username == NULL)
    return TURN_USERNAME_SECRET;
  if (self->turn_password == NULL)
    return TURN_PASSWORD_SECRET;
  return NULL;
}

/* turn(s)://USER:PASSWORD@HOST..., the credentials percent-encoded; free with secret_free() */
static gchar *
dup_turn_uri (HgWebrtcVisitPlugin *self)
{
  const gchar *rest = strstr (self->turn_server, "://") + strlen ("://");
  gchar *user = g_uri_escape_string (self->turn_username, NULL, FALSE);
  gchar *password = g_uri_escape_string (self->turn_password, NULL, FALSE);
  gchar *uri = g_strdup_printf ("%.*s%s:%s@%s", (gint) (rest - self->turn_server),
                                self->turn_server, user, password, rest);

  secret_free (user);
  secret_free (password);
  return uri;
}

/* The ICE settings of a call's webrtcbin, before it gathers */
static void
ice_apply (HgWebrtcVisitPlugin *self,
           GstElement *webrtc)
{
  const gchar *missing = turn_missing_secret (self);
  gchar *uri;

  if (self->turn_server == NULL)
    return;
  if (missing != NULL)
    {
      g_message ("visit %" G_GUINT64_FORMAT ": TURN server configured but no secret %s: "
                 "host and STUN candidates only", self->call->id, missing);
      return;
    }
  uri = dup_turn_uri (self);
  g_object_set (webrtc, "turn-server", uri, NULL);
  secret_free (uri);
  if (self->relay_only)
    g_object_set (webrtc, "ice-transport-policy", GST_WEBRTC_ICE_TRANSPORT_POLICY_RELAY, NULL);
}

/* health's "turn": {"server", "state": "ready" or "no-credentials", "missing"} */
static void
ice_report_health (HgWebrtcVisitPlugin *self,
                   JsonObject *health)
{
  g_autoptr(JsonObject) turn = NULL;
  const gchar *missing = turn_missing_secret (self);

  if (self->turn_server == NULL)
    return;
  turn = json_object_new ();
  json_object_set_string_member (turn, "server", self->turn_server);
  json_object_set_string_member (turn, "policy", self->relay_only ? "relay" : "all");
  json_object_set_string_member (turn, "state", missing == NULL ? "ready" : "no-credentials");
  if (missing != NULL)
    json_object_set_string_member (turn, "missing", missing);
  json_object_set_object_member (health, "turn", g_steal_pointer (&turn));
}

typedef struct
{
  HgWebrtcVisitPlugin *self; /* (owned) */
  gchar *key;                /* (owned) */
  GTask *start;              /* (owned) (nullable) the start, which waits for both secrets */
} TurnLookup;

static void turn_secret_lookup (HgWebrtcVisitPlugin *self,
                                const gchar *key,
                                GTask *start);

static void
turn_secret_found_cb (GObject *source,
                      GAsyncResult *result,
                      gpointer user_data)
{
  TurnLookup *lookup = user_data;
  HgWebrtcVisitPlugin *self = lookup->self;
  g_autoptr(GError) error = NULL;
  gchar *value = hg_context_lookup_secret_finish (HG_CONTEXT (source), result, &error);
  gboolean password = g_str_equal (lookup->key, TURN_PASSWORD_SECRET);
  gchar **field = password ? &self->turn_password : &self->turn_username;

  gboolean cancelled = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  if (!cancelled)
    {
      secret_free (*field);
      *field = value;
      if (value == NULL)
        g_warning ("TURN server configured but the secret %s is not available (%s): calls use "
                   "host and STUN candidates only until it is set",
                   lookup->key, error->message);
      else if (lookup->start == NULL)
        g_message ("the secret %s changed; the next call uses it", lookup->key);
    }
  if (lookup->start != NULL && !password && !cancelled)
    turn_secret_lookup (self, TURN_PASSWORD_SECRET, g_steal_pointer (&lookup->start));
  else if (lookup->start != NULL && cancelled)
    g_task_return_error (lookup->start, g_steal_pointer (&error));
  else if (lookup->start != NULL)
    {
      /* without the secrets the plugin runs too, without TURN */
      report_health (self);
      g_task_return_boolean (lookup->start, TRUE);
    }
  else if (!cancelled)
    report_health (self);
  g_clear_object (&lookup->start);
  g_object_unref (lookup->self);
  g_free (lookup->key);
  g_free (lookup);
}

static void
turn_secret_lookup (HgWebrtcVisitPlugin *self,
                    const gchar *key,
                    GTask *start)
{
  TurnLookup *lookup = g_new0 (TurnLookup, 1);

  lookup->self = g_object_ref (self);
  lookup->key = g_strdup (key);
  lookup->start = start;
  hg_context_lookup_secret_async (get_context (self), key, self->cancellable,
                                  turn_secret_found_cb, lookup);
}

static void
secret_changed_cb (HgContext *context,
                   const gchar *key,
                   HgWebrtcVisitPlugin *self)
{
  if (g_strcmp0 (key, TURN_USERNAME_SECRET) == 0 || g_strcmp0 (key, TURN_PASSWORD_SECRET) == 0)
    turn_secret_lookup (self, key, NULL);
}

/* At start: follows the secrets, and returns @start once both were looked up */
static void
ice_start (HgWebrtcVisitPlugin *self,
           GTask *start)
{
  if (self->turn_server == NULL)
    {
      report_health (self);
      g_task_return_boolean (start, TRUE);
      g_object_unref (start);
      return;
    }
  if (g_cancellable_is_cancelled (self->cancellable))
    {
      g_object_unref (self->cancellable);
      self->cancellable = g_cancellable_new ();
    }
  g_signal_connect_object (get_context (self), "secret-changed", G_CALLBACK (secret_changed_cb),
                           self, 0);
  turn_secret_lookup (self, TURN_USERNAME_SECRET, start);
}

static void
send_type (HgWebrtcVisitPlugin *self,
           const gchar *channel_id,
           const gchar *type,
           const gchar *member,
           const gchar *value)
{
  g_autoptr(JsonObject) message = json_object_new ();

  json_object_set_string_member (message, "type", type);
  if (self->call != NULL)
    json_object_set_int_member (message, "call", (gint64) self->call->id);
  if (member != NULL)
    json_object_set_string_member (message, member, value);
  hg_context_channel_send (get_context (self), channel_id, message);
}

/* Every open channel of the home (resident, guardian) */
static void
send_to_home (HgWebrtcVisitPlugin *self,
              const gchar *type,
              const gchar *member,
              const gchar *value)
{
  GHashTableIter iter;
  const gchar *id;
  Peer *peer;

  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, (gpointer *) &id, (gpointer *) &peer))
    {
      if (!role_is_staff (peer->role))
        send_type (self, id, type, member, value);
    }
}

/* How many of the home's screens have a channel open (and so were rung) */
static guint
count_home_screens (HgWebrtcVisitPlugin *self)
{
  GHashTableIter iter;
  Peer *peer;
  guint n = 0;

  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &peer))
    {
      if (!role_is_staff (peer->role))
        n++;
    }
  return n;
}

static const gchar *
pipeline_state (HgWebrtcVisitPlugin *self)
{
  GstState state = GST_STATE_NULL;

  if (self->call == NULL || self->call->pipeline == NULL)
    return "null";
  gst_element_get_state (self->call->pipeline, &state, NULL, 0);
  return gst_element_state_get_name (state);
}

/* Whether the call has video (not when it went on with sound only), and the video
 * encoder's bitrate and picture size now, while a call's pipeline runs */
static void
report_media (HgWebrtcVisitPlugin *self,
              JsonObject *health)
{
  g_autofree gchar *size = NULL;

  if (self->call == NULL || self->call->pipeline == NULL)
    return;
  size = g_strdup_printf ("%ux%u", hg_webrtc_visit_rate_get_width (&self->call->rate),
                          hg_webrtc_visit_rate_get_height (&self->call->rate));
  json_object_set_boolean_member (health, "video", !self->call->audio_only);
  if (self->call->audio_only)
    return;
  json_object_set_int_member (health, "video_bitrate", self->call->rate.bitrate);
  json_object_set_string_member (health, "video_size", size);
}

static void
report_health (HgWebrtcVisitPlugin *self)
{
  g_autoptr(JsonObject) health = json_object_new ();
  g_autoptr(JsonObject) frames = json_object_new ();
  const gchar *state = "idle";

  if (self->call != NULL)
    state = self->call->state == CALL_RINGING ? "ringing" : "in-call";
  json_object_set_string_member (health, "call", state);
  json_object_set_string_member (health, "pipeline", pipeline_state (self));
  json_object_set_int_member (health, "calls", (gint64) self->n_calls);
  json_object_set_int_member (frames, "video", g_atomic_int_get (&self->video_frames));
  json_object_set_int_member (frames, "audio", g_atomic_int_get (&self->audio_frames));
  json_object_set_object_member (health, "decoded_frames", g_steal_pointer (&frames));
  if (self->last_call != NULL)
    json_object_set_object_member (health, "last_call", json_object_ref (self->last_call));
  ice_report_health (self, health);
  report_media (self, health);
  hg_context_report_health (get_context (self), health);
}

static gboolean
health_cb (gpointer user_data)
{
  report_health (HG_WEBRTC_VISIT_PLUGIN (user_data));
  return G_SOURCE_CONTINUE;
}

static void
record_published_cb (GObject *source,
                     GAsyncResult *result,
                     gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (hg_context_publish_event_finish (HG_CONTEXT (source), result, &error) == 0)
    g_warning ("visit record not journaled: %s", error->message);
}

/* Ends the call: the pipeline goes to NULL and is freed before anyone is told; the record
 * (who, when, how long, outcome) goes to the municipal journal as `visit.ended`. */
/* The call's pipeline in NULL state and gone: the camera and microphone are closed */
static void
stop_pipeline (Call *call)
{
  g_autoptr(GstBus) bus = NULL;

  if (call->pipeline == NULL)
    return;
  bus = gst_pipeline_get_bus (GST_PIPELINE (call->pipeline));
  gst_bus_remove_watch (bus);
  gst_element_set_state (call->pipeline, GST_STATE_NULL);
  g_clear_pointer (&call->pipeline, gst_object_unref);
  call->webrtc = NULL;
}

static void
end_call (HgWebrtcVisitPlugin *self,
          const gchar *outcome)
{
  Call *call = self->call;
  g_autoptr(JsonObject) record = json_object_new ();
  g_autoptr(GDateTime) started = NULL;
  g_autofree gchar *iso = NULL;
  gint64 now = g_get_real_time ();

  if (call == NULL)
    return;
  g_clear_handle_id (&call->ring_id, g_source_remove);
  g_clear_handle_id (&self->health_id, g_source_remove);
  stop_pipeline (call);
  started = g_date_time_new_from_unix_utc (call->started / G_USEC_PER_SEC);
  json_object_set_int_member (record, "call", (gint64) call->id);
  json_object_set_string_member (record, "kind", call->check ? "night-check" : "visit");
  json_object_set_string_member (record, "staff", call->staff_user);
  if (call->resident_user != NULL)
    json_object_set_string_member (record, "answered_by", call->resident_user);
  iso = g_date_time_format_iso8601 (started);
  json_object_set_string_member (record, "started", iso);
  json_object_set_int_member (record, "seconds",
                              call->answered != 0 ? (now - call->answered) / G_USEC_PER_SEC : 0);
  json_object_set_string_member (record, "outcome", outcome);
  if (call->answered != 0)
    json_object_set_boolean_member (record, "video", !call->audio_only);
  g_clear_pointer (&self->last_call, json_object_unref);
  self->last_call = json_object_ref (record);
  if (hg_context_has_capability (get_context (self), HG_CAPABILITY_VISIT_PUBLISH))
    {
      g_autoptr(HgEvent) event = hg_event_new ("visit.ended", record);

      hg_context_publish_event_async (get_context (self), event, NULL, record_published_cb, NULL);
    }

  if (g_hash_table_contains (self->peers, call->staff_channel))
    send_type (self, call->staff_channel, "ended", "outcome", outcome);
  if (call->check)
    send_to_home (self, "night-check", "state", "ended");
  else
    send_to_home (self, "ended", "outcome", outcome);
  g_message ("visit %" G_GUINT64_FORMAT " ended: %s", call->id, outcome);
  g_free (call->staff_channel);
  g_free (call->staff_user);
  g_free (call->resident_user);
  g_free (call);
  self->call = NULL;
  report_health (self);
}

static gboolean
ring_timeout_cb (gpointer user_data)
{
  HgWebrtcVisitPlugin *self = HG_WEBRTC_VISIT_PLUGIN (user_data);

  self->call->ring_id = 0;
  end_call (self, self->call->check ? "completed" : "missed");
  return G_SOURCE_REMOVE;
}

/* The call id and which of its pipelines travel with webrtcbin's callbacks as qdata on
 * the element */
static GQuark
call_id_quark (void)
{
  return g_quark_from_static_string ("hg-webrtc-visit-call");
}

static GQuark
media_quark (void)
{
  return g_quark_from_static_string ("hg-webrtc-visit-media");
}

static guint64
element_call_id (GstElement *webrtc)
{
  return GPOINTER_TO_SIZE (g_object_get_qdata (G_OBJECT (webrtc), call_id_quark ()));
}

/* What webrtcbin's threads hand to the main context: a message for the staff channel of
 * the call whose pipeline @media sent it (dropped if that pipeline has gone meanwhile: the
 * call ended, or went on with sound only in a new one) */
typedef struct
{
  HgWebrtcVisitPlugin *self; /* (owned) */
  guint64 media;
  JsonObject *message;       /* (owned) (nullable) NULL: the call failed */
  gchar *failure;            /* (owned) (nullable) */
} Outgoing;

static gboolean
outgoing_cb (gpointer user_data)
{
  Outgoing *out = user_data;
  HgWebrtcVisitPlugin *self = out->self;

  if (self->call != NULL && self->call->media == out->media)
    {
      if (out->message != NULL)
        hg_context_channel_send (get_context (self), self->call->staff_channel, out->message);
      else
        {
          g_message ("visit %" G_GUINT64_FORMAT " failed: %s", self->call->id, out->failure);
          end_call (self, "failed");
        }
    }
  g_object_unref (out->self);
  g_clear_pointer (&out->message, json_object_unref);
  g_free (out->failure);
  g_free (out);
  return G_SOURCE_REMOVE;
}

static void
send_from_thread (HgWebrtcVisitPlugin *self,
                  GstElement *webrtc,
                  JsonObject *message,
                  const gchar *failure)
{
  Outgoing *out = g_new0 (Outgoing, 1);

  out->self = g_object_ref (self);
  out->media = GPOINTER_TO_SIZE (g_object_get_qdata (G_OBJECT (webrtc), media_quark ()));
  out->message = message;
  out->failure = g_strdup (failure);
  g_main_context_invoke (self->context, outgoing_cb, out);
}

static void
offer_created_cb (GstPromise *promise,
                  gpointer user_data)
{
  GstElement *webrtc = user_data;
  HgWebrtcVisitPlugin *self = g_object_get_data (G_OBJECT (webrtc), "plugin");
  const GstStructure *reply = gst_promise_get_reply (promise);
  GstWebRTCSessionDescription *offer = NULL;
  JsonObject *message;
  gchar *text;

  if (reply != NULL)
    gst_structure_get (reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, NULL);
  gst_promise_unref (promise);
  if (offer == NULL)
    {
      send_from_thread (self, webrtc, NULL, "no offer");
      return;
    }
  g_signal_emit_by_name (webrtc, "set-local-description", offer, NULL);
  text = gst_sdp_message_as_text (offer->sdp);
  message = json_object_new ();
  json_object_set_string_member (message, "type", "offer");
  json_object_set_int_member (message, "call", (gint64) element_call_id (webrtc));
  json_object_set_string_member (message, "sdp", text);
  g_free (text);
  gst_webrtc_session_description_free (offer);
  send_from_thread (self, webrtc, message, NULL);
}

static void
negotiation_needed_cb (GstElement *webrtc,
                       gpointer user_data)
{
  GstPromise *promise = gst_promise_new_with_change_func (offer_created_cb, webrtc, NULL);

  g_signal_emit_by_name (webrtc, "create-offer", NULL, promise);
}

static void
ice_candidate_cb (GstElement *webrtc,
                  guint mline,
                  gchar *candidate,
                  gpointer user_data)
{
  HgWebrtcVisitPlugin *self = user_data;
  JsonObject *message = json_object_new ();

  json_object_set_string_member (message, "type", "ice");
  json_object_set_int_member (message, "call", (gint64) element_call_id (webrtc));
  json_object_set_string_member (message, "candidate", candidate);
  json_object_set_int_member (message, "sdpMLineIndex", mline);
  send_from_thread (self, webrtc, message, NULL);
}

/* Counts what the decoder gives: the frames received from the browser */
static GstPadProbeReturn
count_frames_cb (GstPad *pad,
                 GstPadProbeInfo *info,
                 gpointer user_data)
{
  g_atomic_int_inc ((gint *) user_data);
  return GST_PAD_PROBE_OK;
}

/* The staff side's media: decoded and counted; played by the configured sinks */
static void
decoded_pad_added_cb (GstElement *decodebin,
                      GstPad *pad,
                      gpointer user_data)
{
  HgWebrtcVisitPlugin *self = user_data;
  g_autoptr(GstCaps) caps = gst_pad_get_current_caps (pad);
  const gchar *name;
  GstElement *bin;
  GstElement *pipeline = GST_ELEMENT (gst_element_get_parent (decodebin));
  g_autoptr(GstPad) sink = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *description = NULL;
  gboolean video;

  if (caps == NULL)
    caps = gst_pad_query_caps (pad, NULL);
  name = gst_structure_get_name (gst_caps_get_structure (caps, 0));
  video = g_str_has_prefix (name, "video/");
  if (!video && !g_str_has_prefix (name, "audio/"))
    {
      gst_object_unref (pipeline);
      return;
    }
  description = g_strdup_printf (video ? "queue ! videoconvert ! videoscale ! %s"
                                       : "queue ! audioconvert ! audioresample ! %s",
                                 (const gchar *) g_object_get_data (G_OBJECT (pipeline),
                                                                    video ? "video-sink"
                                                                          : "audio-sink"));
  bin = gst_parse_bin_from_description_full (description, TRUE, NULL,
                                             GST_PARSE_FLAG_FATAL_ERRORS, &error);
  if (bin == NULL)
    {
      g_warning ("cannot play the staff side: %s", error->message);
      gst_object_unref (pipeline);
      return;
    }
  gst_bin_add (GST_BIN (pipeline), bin);
  gst_element_sync_state_with_parent (bin);
  sink = gst_element_get_static_pad (bin, "sink");
  gst_pad_link (pad, sink);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_frames_cb,
                     video ? &self->video_frames : &self->audio_frames, NULL);
  gst_object_unref (pipeline);
}

static void
webrtc_pad_added_cb (GstElement *webrtc,
                     GstPad *pad,
                     gpointer user_data)
{
  HgWebrtcVisitPlugin *self = user_data;
  GstElement *pipeline;
  GstElement *decodebin;
  g_autoptr(GstPad) sink = NULL;

  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  pipeline = GST_ELEMENT (gst_element_get_parent (webrtc));
  decodebin = gst_element_factory_make ("decodebin", NULL);
  g_signal_connect (decodebin, "pad-added", G_CALLBACK (decoded_pad_added_cb), self);
  gst_bin_add (GST_BIN (pipeline), decodebin);
  gst_element_sync_state_with_parent (decodebin);
  sink = gst_element_get_static_pad (decodebin, "sink");
  gst_pad_link (pad, sink);
  gst_object_unref (pipeline);
}

/* Congestion: the encoder follows the far end's receiver reports (HgWebrtcVisitRate), read
 * from the RTCP packets as the call's RTP session receives them, so there is no timer and
 * nothing at all while idle. The session's thread hands each report about our video to
 * the main context with the call's id; it is dropped if that call has ended. */
typedef struct
{
  GWeakRef self;         /* HgWebrtcVisitPlugin */
  guint64 call_id;
  GstElement *payloader; /* (owned) the video's, whose SSRC the reports name */
} RateWatch;

static void
rate_watch_clear (gpointer data)
{
  RateWatch *watch = data;

  g_weak_ref_clear (&watch->self);
  gst_clear_object (&watch->payloader);
}

static void
rate_watch_release (gpointer data,
                    GClosure *closure)
{
  g_rc_box_release_full (data, rate_watch_clear);
}

typedef struct
{
  HgWebrtcVisitPlugin *self; /* (owned) */
  guint64 call_id;
  HgWebrtcVisitRateReport report;
} RateReport;

static void
apply_rate (Call *call)
{
  GstElement *encoder = gst_bin_get_by_name (GST_BIN (call->pipeline), "videoenc");
  GstElement *size = gst_bin_get_by_name (GST_BIN (call->pipeline), "videosize");
  g_autoptr(GstCaps) caps = NULL;

  caps = gst_caps_new_simple ("video/x-raw", "width", G_TYPE_INT,
                              (gint) hg_webrtc_visit_rate_get_width (&call->rate), "height",
                              G_TYPE_INT, (gint) hg_webrtc_visit_rate_get_height (&call->rate),
                              NULL);
  if (encoder != NULL)
    g_object_set (encoder, "target-bitrate", (gint) call->rate.bitrate, NULL);
  if (size != NULL)
    g_object_set (size, "caps", caps, NULL);
  g_clear_object (&encoder);
  g_clear_object (&size);
}

static gboolean
rate_report_cb (gpointer user_data)
{
  RateReport *report = user_data;
  HgWebrtcVisitPlugin *self = report->self;
  Call *call = self->call;

  if (call != NULL && call->id == report->call_id && call->pipeline != NULL &&
      hg_webrtc_visit_rate_update (&call->rate, &report->report))
    {
      g_info ("visit %" G_GUINT64_FORMAT ": %.0f %% lost, video now %u bit/s, %ux%u", call->id,
              report->report.fraction_lost * 100, call->rate.bitrate,
              hg_webrtc_visit_rate_get_width (&call->rate),
              hg_webrtc_visit_rate_get_height (&call->rate));
      apply_rate (call);
    }
  g_object_unref (report->self);
  g_free (report);
  return G_SOURCE_REMOVE;
}

/* On the RTP session's thread, before the session handles the packet */
static void
rtcp_received_cb (GObject *session,
                  GstBuffer *buffer,
                  gpointer user_data)
{
  RateWatch *watch = user_data;
  g_autoptr(GstStructure) stats = NULL;
  HgWebrtcVisitRateReport found = { 0 };
  HgWebrtcVisitPlugin *self;
  RateReport *report;
  guint ssrc = 0;

  g_object_get (watch->payloader, "stats", &stats, NULL);
  if (stats == NULL || !gst_structure_get_uint (stats, "ssrc", &ssrc) ||
      !hg_webrtc_visit_rate_report_from_rtcp (buffer, ssrc,
                                              hg_webrtc_visit_rate_ntp_time (g_get_real_time ()),
                                              &found))
    return;
  self = g_weak_ref_get (&watch->self);
  if (self == NULL)
    return;
  report = g_new0 (RateReport, 1);
  report->self = self;
  report->call_id = watch->call_id;
  report->report = found;
  g_main_context_invoke (self->context, rate_report_cb, report);
}

static void
watch_session (RateWatch *watch,
               GstElement *element)
{
  GstElementFactory *factory = gst_element_get_factory (element);
  g_autoptr(GObject) session = NULL;

  if (factory == NULL || g_strcmp0 (GST_OBJECT_NAME (factory), "rtpsession") != 0)
    return;
  g_object_get (element, "internal-session", &session, NULL);
  g_signal_connect_data (session, "on-receiving-rtcp", G_CALLBACK (rtcp_received_cb),
                         g_rc_box_acquire (watch), rate_watch_release, 0);
}

/* webrtcbin's rtpbin makes its RTP sessions as the call is negotiated */
static void
element_added_cb (GstBin *bin,
                  GstBin *sub_bin,
                  GstElement *element,
                  gpointer user_data)
{
  watch_session (user_data, element);
}

static void
watch_rate (HgWebrtcVisitPlugin *self,
            Call *call)
{
  GstElement *payloader = gst_bin_get_by_name (GST_BIN (call->pipeline), "videopay");
  g_autoptr(GstIterator) elements = NULL;
  GValue item = G_VALUE_INIT;
  RateWatch *watch;

  if (payloader == NULL)
    return;
  watch = g_rc_box_new0 (RateWatch);
  g_weak_ref_init (&watch->self, self);
  watch->call_id = call->id;
  watch->payloader = payloader;
  g_signal_connect_data (call->pipeline, "deep-element-added", G_CALLBACK (element_added_cb),
                         watch, rate_watch_release, 0);
  elements = gst_bin_iterate_recurse (GST_BIN (call->pipeline));
  while (gst_iterator_next (elements, &item) == GST_ITERATOR_OK)
    {
      watch_session (watch, g_value_get_object (&item));
      g_value_reset (&item);
    }
  g_value_unset (&item);
}

/* libnice asks the home's router for a port mapping over UPnP (gupnp-igd) unless told not
 * to; a visit needs none (host candidates on the LAN, STUN or TURN beyond it), and the
 * discovery multicasts on the home network and warns when another process holds its
 * port. webrtcbin 1.22 has no property for it: its ICE object (GstWebRTCNice) hands out
 * the NiceAgent, which gathers no candidates before the offer is made. */
static void
disable_upnp (GstElement *webrtc)
{
  g_autoptr(GObject) ice = NULL;
  g_autoptr(GObject) agent = NULL;

  g_object_get (webrtc, "ice-agent", &ice, NULL);
  if (ice == NULL || g_object_class_find_property (G_OBJECT_GET_CLASS (ice), "agent") == NULL)
    return;
  g_object_get (ice, "agent", &agent, NULL);
  if (agent != NULL && g_object_class_find_property (G_OBJECT_GET_CLASS (agent), "upnp") != NULL)
    g_object_set (agent, "upnp", FALSE, NULL);
}

/* A new call's pipeline, before it plays: no UPnP, the configured sinks for the staff side
 * (copied, so that a reconfiguration cannot pull them away mid-call), the encoder at its
 * ceiling and following the receiver reports */
static void
setup_media (HgWebrtcVisitPlugin *self,
             Call *call)
{
  disable_upnp (call->webrtc);
  g_object_set_data_full (G_OBJECT (call->pipeline), "video-sink", g_strdup (self->video_sink),
                          g_free);
  g_object_set_data_full (G_OBJECT (call->pipeline), "audio-sink", g_strdup (self->audio_sink),
                          g_free);
  hg_webrtc_visit_rate_init (&call->rate, self->min_bitrate, self->max_bitrate);
  apply_rate (call);
  watch_rate (self, call);
}

/* The configured sink can be made and takes the decoded media (has an input, no output);
 * whether its device opens is known only when a call plays it. */
static gboolean
check_sink (const gchar *key,
            const gchar *description,
            GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GstElement) bin = NULL;
  g_autoptr(GstPad) input = NULL;
  g_autoptr(GstPad) output = NULL;
  GstElement *made;

  if (!gst_init_check (NULL, NULL, error))
    return FALSE;
  made = gst_parse_bin_from_description_full (description, TRUE, NULL,
                                              GST_PARSE_FLAG_FATAL_ERRORS, &local_error);
  if (made == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "%s \"%s\": %s", key, description,
                   local_error->message);
      return FALSE;
    }
  bin = gst_object_ref_sink (made);
  input = gst_element_get_static_pad (bin, "sink");
  output = gst_element_get_static_pad (bin, "src");
  if (input == NULL || output != NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "%s \"%s\": not a sink", key,
                   description);
      return FALSE;
    }
  return TRUE;
}

/* video-sink, audio-sink, min-bitrate, max-bitrate */
static gboolean
configure_media (HgWebrtcVisitPlugin *self,
                 HgConfig *config,
                 GError **error)
{
  const gchar *video_sink = hg_config_get_string (config, "video-sink", DEFAULT_VIDEO_SINK);
  const gchar *audio_sink = hg_config_get_string (config, "audio-sink", DEFAULT_AUDIO_SINK);
  gint64 min_bitrate = DEFAULT_MIN_BITRATE;
  gint64 max_bitrate = DEFAULT_MAX_BITRATE;

  if (!hg_config_get_int (config, "min-bitrate", DEFAULT_MIN_BITRATE, 30000, 10000000,
                          &min_bitrate, error) ||
      !hg_config_get_int (config, "max-bitrate", DEFAULT_MAX_BITRATE, 30000, 10000000,
                          &max_bitrate, error))
    return FALSE;
  if (min_bitrate > max_bitrate)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "min-bitrate %" G_GINT64_FORMAT " is above max-bitrate %" G_GINT64_FORMAT,
                   min_bitrate, max_bitrate);
      return FALSE;
    }
  if (!check_sink ("video-sink", video_sink, error) ||
      !check_sink ("audio-sink", audio_sink, error))
    return FALSE;
  g_free (self->video_sink);
  self->video_sink = g_strdup (video_sink);
  g_free (self->audio_sink);
  self->audio_sink = g_strdup (audio_sink);
  self->min_bitrate = (guint) min_bitrate;
  self->max_bitrate = (guint) max_bitrate;
  return TRUE;
}

/* A source of the call's pipeline, its configured gst-launch description as a bin named
 * @name ("camera", "microphone", so that an error can be told by where it comes from),
 * linked to the element named @into */
static gboolean
add_source (GstElement *pipeline,
            const gchar *name,
            const gchar *description,
            const gchar *into,
            GError **error)
{
  g_autoptr(GstElement) next = gst_bin_get_by_name (GST_BIN (pipeline), into);
  GstElement *source = gst_parse_bin_from_description_full (description, TRUE, NULL,
                                                            GST_PARSE_FLAG_FATAL_ERRORS, error);

  if (source == NULL)
    return FALSE;
  gst_object_set_name (GST_OBJECT (source), name);
  gst_bin_add (GST_BIN (pipeline), source);
  if (!gst_element_link (source, next))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "the %s \"%s\" gives no media", name,
                   description);
      return FALSE;
    }
  return TRUE;
}

/* What an error of the call's pipeline means for staff: which part failed, the camera or
 * the microphone (their bins are named), and whether it is missing (no such device) or
 * busy (another program has it); "media-failed" for the rest (the encoders, the staff
 * side's sinks) */
static const gchar *
media_failure (Call *call,
               GstMessage *message)
{
  g_autoptr(GstElement) camera = gst_bin_get_by_name (GST_BIN (call->pipeline), "camera");
  g_autoptr(GstElement) microphone = gst_bin_get_by_name (GST_BIN (call->pipeline),
                                                          "microphone");
  g_autoptr(GError) error = NULL;
  g_autofree gchar *debug = NULL;
  gboolean is_camera;

  gst_message_parse_error (message, &error, &debug);
  g_message ("visit %" G_GUINT64_FORMAT ": %s (%s)", call->id, error->message,
             debug != NULL ? debug : GST_MESSAGE_SRC_NAME (message));
  is_camera = camera != NULL &&
              gst_object_has_as_ancestor (GST_MESSAGE_SRC (message), GST_OBJECT (camera));
  if (!is_camera && (microphone == NULL || !gst_object_has_as_ancestor (GST_MESSAGE_SRC (message),
                                                                        GST_OBJECT (microphone))))
    return "media-failed";
  if (g_error_matches (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND))
    return is_camera ? "camera-missing" : "microphone-missing";
  if (g_error_matches (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_BUSY))
    return is_camera ? "camera-busy" : "microphone-busy";
  return is_camera ? "camera-unavailable" : "microphone-unavailable";
}

static gboolean bus_cb (GstBus *bus,
                        GstMessage *message,
                        gpointer user_data);

/* Starts the call's media: the camera (unless the visit goes on with sound only) and, for
 * a visit, the microphone, into webrtcbin. NULL when it plays; else what failed (see
 * media_failure ()), with the pipeline gone. */
static const gchar *
start_pipeline (HgWebrtcVisitPlugin *self)
{
  Call *call = self->call;
  g_autofree gchar *description = NULL;
  g_autoptr(GstBus) bus = NULL;
  g_autoptr(GError) error = NULL;
  GArray *transceivers = NULL;
  gboolean video = !call->audio_only;
  gboolean audio = !call->check; /* a night check is video only: the microphone stays closed */
  const gchar *failure = NULL;

  description = g_strdup_printf (
    "webrtcbin name=webrtc bundle-policy=max-bundle %s%s %s %s",
    self->stun_server != NULL ? "stun-server=" : "",
    self->stun_server != NULL ? self->stun_server : "",
    video ? "videoconvert name=videoin ! videoscale ! capsfilter name=videosize "
            "caps=video/x-raw,width=640,height=480 ! videorate ! video/x-raw,framerate=15/1 ! "
            "queue ! vp8enc name=videoenc deadline=1 cpu-used=8 end-usage=cbr "
            "target-bitrate=600000 keyframe-max-dist=30 error-resilient=partitions ! "
            "rtpvp8pay name=videopay pt=96 ! "
            "application/x-rtp,media=video,encoding-name=VP8,payload=96 ! webrtc."
          : "",
    audio ? "audioconvert name=audioin ! audioresample ! queue ! opusenc ! rtpopuspay pt=111 ! "
            "application/x-rtp,media=audio,encoding-name=OPUS,payload=111 ! webrtc."
          : "");
  call->pipeline = gst_parse_launch_full (description, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &error);
  if (call->pipeline == NULL)
    {
      g_message ("visit %" G_GUINT64_FORMAT ": %s", call->id, error->message);
      return "media-failed";
    }
  bus = gst_pipeline_get_bus (GST_PIPELINE (call->pipeline));
  gst_bus_add_watch (bus, bus_cb, self);
  if (video && !add_source (call->pipeline, "camera", self->video_source, "videoin", &error))
    failure = "camera-unavailable";
  else if (audio &&
           !add_source (call->pipeline, "microphone", self->audio_source, "audioin", &error))
    failure = "microphone-unavailable";
  if (failure != NULL)
    {
      g_message ("visit %" G_GUINT64_FORMAT ": %s", call->id, error->message);
      stop_pipeline (call);
      return failure;
    }
  call->media = ++self->n_media;
  call->webrtc = gst_bin_get_by_name (GST_BIN (call->pipeline), "webrtc");
  gst_object_unref (call->webrtc); /* the pipeline holds it */
  g_object_set_qdata (G_OBJECT (call->webrtc), call_id_quark (), GSIZE_TO_POINTER (call->id));
  g_object_set_qdata (G_OBJECT (call->webrtc), media_quark (), GSIZE_TO_POINTER (call->media));
  g_object_set_data (G_OBJECT (call->webrtc), "plugin", self);
  ice_apply (self, call->webrtc);
  setup_media (self, call);
  g_signal_connect (call->webrtc, "on-negotiation-needed", G_CALLBACK (negotiation_needed_cb),
                    NULL);
  g_signal_connect (call->webrtc, "on-ice-candidate", G_CALLBACK (ice_candidate_cb), self);
  g_signal_connect (call->webrtc, "pad-added", G_CALLBACK (webrtc_pad_added_cb), self);
  /* both ways: the staff side comes back on the same m-lines */
  g_signal_emit_by_name (call->webrtc, "get-transceivers", &transceivers);
  for (guint i = 0; transceivers != NULL && i < transceivers->len; i++)
    g_object_set (g_array_index (transceivers, GstWebRTCRTPTransceiver *, i), "direction",
                  call->check ? GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY
                              : GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV, NULL);
  g_clear_pointer (&transceivers, g_array_unref);
  g_atomic_int_set (&self->video_frames, 0);
  g_atomic_int_set (&self->audio_frames, 0);
  if (gst_element_set_state (call->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_autoptr(GstMessage) message = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);

      failure = message != NULL ? media_failure (call, message) : "media-failed";
      stop_pipeline (call);
      return failure;
    }
  return NULL;
}

/* The camera, the microphone or another part of the call's media failed, as it started or
 * during the call. A visit whose camera fails goes on with sound only where the
 * configuration allows it (camera-optional): staff are told "video-unavailable" and get a
 * new offer. Otherwise (a night check is its camera) staff are told what failed and the
 * call ends "failed". TRUE if the call goes on. */
static gboolean
media_failed (HgWebrtcVisitPlugin *self,
              const gchar *failure)
{
  Call *call = self->call;

  if (self->camera_optional && !call->check && !call->audio_only &&
      g_str_has_prefix (failure, "camera-"))
    {
      stop_pipeline (call);
      call->audio_only = TRUE;
      g_message ("visit %" G_GUINT64_FORMAT ": %s, going on with sound only", call->id, failure);
      send_type (self, call->staff_channel, "video-unavailable", "code", failure);
      failure = start_pipeline (self);
      if (failure == NULL)
        {
          report_health (self);
          return TRUE;
        }
    }
  send_type (self, call->staff_channel, "error", "code", failure);
  end_call (self, "failed");
  return FALSE;
}

static gboolean
bus_cb (GstBus *bus,
        GstMessage *message,
        gpointer user_data)
{
  HgWebrtcVisitPlugin *self = user_data;

  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR && self->call != NULL &&
      self->call->pipeline != NULL)
    media_failed (self, media_failure (self->call, message));
  return G_SOURCE_CONTINUE;
}

/* `ringing` to staff, with how many of the home's screens ring: with none on, no one in
 * the home sees the call (a phone call may reach them better) */
static void
send_ringing (HgWebrtcVisitPlugin *self,
              const gchar *channel_id)
{
  g_autoptr(JsonObject) message = json_object_new ();

  json_object_set_string_member (message, "type", "ringing");
  json_object_set_int_member (message, "call", (gint64) self->call->id);
  json_object_set_int_member (message, "screens", count_home_screens (self));
  hg_context_channel_send (get_context (self), channel_id, message);
}

static void
handle_start (HgWebrtcVisitPlugin *self,
              const gchar *channel_id,
              Peer *peer)
{
  Call *call;

  if (self->call != NULL)
    {
      g_autoptr(JsonObject) busy = json_object_new ();

      json_object_set_string_member (busy, "type", "busy");
      hg_context_channel_send (get_context (self), channel_id, busy);
      return;
    }
  call = g_new0 (Call, 1);
  call->id = ++self->n_calls;
  call->state = CALL_RINGING;
  call->staff_channel = g_strdup (channel_id);
  call->staff_user = g_strdup (peer->user);
  call->started = g_get_real_time ();
  call->ring_id = g_timeout_add_seconds (self->ring_seconds, ring_timeout_cb, self);
  self->call = call;
  send_ringing (self, channel_id);
  send_to_home (self, "ring", "staff", peer->user);
  report_health (self);
}

/* A night check: the camera only, at once (the resident consented beforehand, and the
 * core let the channel open only inside that consent's window), with the indicator on the
 * home screen, ending by itself after check-seconds. */
static void
handle_check (HgWebrtcVisitPlugin *self,
              const gchar *channel_id,
              Peer *peer)
{
  const gchar *failure;
  Call *call;

  if (self->call != NULL)
    {
      g_autoptr(JsonObject) busy = json_object_new ();

      json_object_set_string_member (busy, "type", "busy");
      hg_context_channel_send (get_context (self), channel_id, busy);
      return;
    }
  call = g_new0 (Call, 1);
  call->id = ++self->n_calls;
  call->check = TRUE;
  call->state = CALL_ACTIVE;
  call->staff_channel = g_strdup (channel_id);
  call->staff_user = g_strdup (peer->user);
  call->started = call->answered = g_get_real_time ();
  call->ring_id = g_timeout_add_seconds (self->check_seconds, ring_timeout_cb, self);
  self->call = call;
  send_to_home (self, "night-check", "state", "started");
  failure = start_pipeline (self);
  if (failure != NULL && !media_failed (self, failure))
    return;
  self->health_id = g_timeout_add_seconds (1, health_cb, self);
  report_health (self);
}

static void
handle_accept (HgWebrtcVisitPlugin *self,
               const gchar *answered_by)
{
  const gchar *failure;

  g_clear_handle_id (&self->call->ring_id, g_source_remove);
  self->call->state = CALL_ACTIVE;
  self->call->answered = g_get_real_time ();
  self->call->resident_user = g_strdup (answered_by);
  send_type (self, self->call->staff_channel, "accepted", NULL, NULL);
  send_to_home (self, "accepted", NULL, NULL);
  failure = start_pipeline (self);
  if (failure != NULL && !media_failed (self, failure))
    return;
  self->health_id = g_timeout_add_seconds (1, health_cb, self);
  report_health (self);
}

static void
handle_answer (HgWebrtcVisitPlugin *self,
               const gchar *channel_id,
               JsonObject *message)
{
  GstSDPMessage *sdp = NULL;
  GstWebRTCSessionDescription *answer;
  const gchar *text = NULL;
  g_autoptr(GError) error = NULL;

  /* (GStreamer's parser takes no empty text) */
  if (!hg_json_object_get_string (message, "sdp", &text, &error) || *text == '\0' ||
      gst_sdp_message_new_from_text (text, &sdp) != GST_SDP_OK ||
      gst_sdp_message_medias_len (sdp) == 0)
    {
      if (sdp != NULL)
        gst_sdp_message_free (sdp);
      send_type (self, channel_id, "error", "code", "bad-sdp");
      end_call (self, "failed");
      return;
    }
  answer = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
  g_signal_emit_by_name (self->call->webrtc, "set-remote-description", answer, NULL);
  gst_webrtc_session_description_free (answer);
}

static void
handle_ice (HgWebrtcVisitPlugin *self,
            const gchar *channel_id,
            JsonObject *message)
{
  const gchar *candidate = NULL;
  gint64 mline = 0;
  g_autoptr(GError) error = NULL;

  if (!hg_json_object_get_string (message, "candidate", &candidate, &error) ||
      !hg_json_object_get_int (message, "sdpMLineIndex", 0, 16, &mline, &error))
    {
      send_type (self, channel_id, "error", "code", "bad-candidate");
      return;
    }
  if (*candidate == '\0')
    return; /* the end of the browser's candidates */
  g_signal_emit_by_name (self->call->webrtc, "add-ice-candidate", (guint) mline, candidate);
}

static gboolean
is_call_staff (HgWebrtcVisitPlugin *self,
               const gchar *channel_id)
{
  return self->call != NULL && g_str_equal (self->call->staff_channel, channel_id);
}

static void
channel_message_cb (HgContext *context,
                    const gchar *channel_id,
                    JsonObject *message,
                    HgWebrtcVisitPlugin *self)
{
  Peer *peer = g_hash_table_lookup (self->peers, channel_id);
  g_autoptr(GError) error = NULL;
  const gchar *type = NULL;
  gboolean staff;

  if (peer == NULL)
    return;
  if (!hg_json_object_get_string (message, "type", &type, &error))
    {
      send_type (self, channel_id, "error", "code", "invalid");
      return;
    }
  staff = role_is_staff (peer->role);
  if (g_str_equal (type, "check") && staff && peer->check)
    handle_check (self, channel_id, peer);
  else if (g_str_equal (type, "start") && staff && !peer->check)
    handle_start (self, channel_id, peer);
  else if (g_str_equal (type, "start") || g_str_equal (type, "check"))
    send_type (self, channel_id, "error", "code", "forbidden");
  else if ((g_str_equal (type, "accept") || g_str_equal (type, "decline")) && !staff &&
           self->call != NULL && self->call->state == CALL_RINGING)
    {
      if (g_str_equal (type, "accept"))
        handle_accept (self, peer->user);
      else
        end_call (self, "declined");
    }
  else if (g_str_equal (type, "answer") && is_call_staff (self, channel_id) &&
           self->call->webrtc != NULL)
    handle_answer (self, channel_id, message);
  else if (g_str_equal (type, "ice") && is_call_staff (self, channel_id) &&
           self->call->webrtc != NULL)
    handle_ice (self, channel_id, message);
  else if (g_str_equal (type, "hangup") && self->call != NULL &&
           (is_call_staff (self, channel_id) || !staff))
    end_call (self, self->call->check ? "ended"
                    : self->call->state == CALL_RINGING ? "cancelled" : "answered");
  else
    send_type (self, channel_id, "error", "code", "no-call");
}

static void
channel_opened_cb (HgContext *context,
                   const gchar *channel_id,
                   const gchar *user,
                   const gchar *role,
                   const gchar *purpose,
                   HgWebrtcVisitPlugin *self)
{
  Peer *peer = g_new0 (Peer, 1);

  peer->user = g_strdup (user);
  peer->role = g_strdup (role);
  peer->check = g_strcmp0 (purpose, "night-check") == 0;
  g_hash_table_insert (self->peers, g_strdup (channel_id), peer);
  if (role_is_staff (role) || self->call == NULL)
    return;
  /* a home screen that connects (or reconnects) mid-way is told what goes on: it rings
   * while a visit rings, shows the call while one runs, and above all shows the
   * indicator while the camera looks in */
  if (self->call->check)
    send_type (self, channel_id, "night-check", "state", "started");
  else if (self->call->state == CALL_RINGING)
    send_type (self, channel_id, "ring", "staff", self->call->staff_user);
  else
    {
      g_autoptr(JsonObject) message = json_object_new ();

      json_object_set_string_member (message, "type", "accepted");
      json_object_set_int_member (message, "call", (gint64) self->call->id);
      json_object_set_string_member (message, "staff", self->call->staff_user);
      json_object_set_int_member (message, "seconds",
                                  (g_get_real_time () - self->call->answered) / G_USEC_PER_SEC);
      hg_context_channel_send (get_context (self), channel_id, message);
    }
}

/* A staff browser that goes away ends its call; the home's screens come and go. */
static void
channel_closed_cb (HgContext *context,
                   const gchar *channel_id,
                   HgWebrtcVisitPlugin *self)
{
  gboolean was_staff = is_call_staff (self, channel_id);

  g_hash_table_remove (self->peers, channel_id);
  if (was_staff && self->call->check)
    end_call (self, "ended");
  else if (was_staff)
    end_call (self, self->call->state == CALL_RINGING ? "cancelled" : "failed");
}

/* A configured physical button answers a ringing visit: a `sensor.reading` of kind
 * `action` from answer-button with answer-action (sensor.subscribe), not one retained by
 * the broker and replayed. Anything else, or with nothing ringing, is ignored. */
static void
hg_webrtc_visit_plugin_handle_event (HgPlugin *plugin,
                                     HgEvent *event)
{
  HgWebrtcVisitPlugin *self = HG_WEBRTC_VISIT_PLUGIN (plugin);
  JsonObject *body;
  const gchar *device = NULL;
  const gchar *kind = NULL;
  const gchar *action = NULL;
  gboolean retained = FALSE;

  if (self->answer_button == NULL || self->call == NULL || self->call->state != CALL_RINGING ||
      g_strcmp0 (hg_event_get_event_type (event), "sensor.reading") != 0)
    return;
  body = hg_event_get_body (event);
  if (!hg_json_object_get_string (body, "device", &device, NULL) ||
      !hg_json_object_get_string (body, "kind", &kind, NULL) ||
      !hg_json_object_get_string (body, "value", &action, NULL) ||
      g_strcmp0 (device, self->answer_button) != 0 || g_strcmp0 (kind, "action") != 0 ||
      g_strcmp0 (action, self->answer_action) != 0)
    return;
  if (json_object_has_member (body, "retained") &&
      hg_json_object_get_boolean (body, "retained", &retained, NULL) && retained)
    return;
  g_message ("visit %" G_GUINT64_FORMAT " answered by the button %s", self->call->id, device);
  handle_accept (self, "button");
}

static gboolean
hg_webrtc_visit_plugin_configure (HgPlugin *plugin,
                                  HgConfig *config,
                                  GError **error)
{
  HgWebrtcVisitPlugin *self = HG_WEBRTC_VISIT_PLUGIN (plugin);
  const gchar *stun = hg_config_get_string (config, "stun-server", NULL);
  const gchar *button;
  gint64 ring = DEFAULT_RING_SECONDS;
  gint64 check = DEFAULT_CHECK_SECONDS;

  if (!hg_config_get_int (config, "ring-seconds", DEFAULT_RING_SECONDS, 5, 300, &ring, error) ||
      !hg_config_get_int (config, "check-seconds", DEFAULT_CHECK_SECONDS, 1, 600, &check, error) ||
      !ice_configure (self, config, error))
    return FALSE;
  if (!configure_media (self, config, error) ||
      !hg_config_get_boolean (config, "camera-optional", FALSE, &self->camera_optional, error))
    return FALSE;
  g_free (self->video_source);
  self->video_source = g_strdup (hg_config_get_string (config, "video-source",
                                                       DEFAULT_VIDEO_SOURCE));
  g_free (self->audio_source);
  self->audio_source = g_strdup (hg_config_get_string (config, "audio-source",
                                                       DEFAULT_AUDIO_SOURCE));
  g_free (self->stun_server);
  self->stun_server = stun != NULL && *stun != '\0' ? g_strdup (stun) : NULL;
  self->ring_seconds = (guint) ring;
  self->check_seconds = (guint) check;
  g_free (self->answer_button);
  button = hg_config_get_string (config, "answer-button", NULL);
  self->answer_button = button != NULL && *button != '\0' ? g_strdup (button) : NULL;
  g_free (self->answer_action);
  self->answer_action = g_strdup (hg_config_get_string (config, "answer-action",
                                                        DEFAULT_ANSWER_ACTION));
  return TRUE;
}

static void
hg_webrtc_visit_plugin_start_async (HgPlugin *plugin,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  HgWebrtcVisitPlugin *self = HG_WEBRTC_VISIT_PLUGIN (plugin);
  HgContext *context = get_context (self);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(GError) error = NULL;

  g_task_set_source_tag (task, hg_webrtc_visit_plugin_start_async);
  if (!gst_init_check (NULL, NULL, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (self->video_source == NULL)
    {
      self->video_source = g_strdup (DEFAULT_VIDEO_SOURCE);
      self->audio_source = g_strdup (DEFAULT_AUDIO_SOURCE);
      self->ring_seconds = DEFAULT_RING_SECONDS;
      self->check_seconds = DEFAULT_CHECK_SECONDS;
    }
  self->context = g_main_context_ref_thread_default ();
  g_signal_connect_object (context, "channel-opened", G_CALLBACK (channel_opened_cb), self, 0);
  g_signal_connect_object (context, "channel-message", G_CALLBACK (channel_message_cb), self, 0);
  g_signal_connect_object (context, "channel-closed", G_CALLBACK (channel_closed_cb), self, 0);
  ice_start (self, g_steal_pointer (&task));
}

static gboolean
hg_webrtc_visit_plugin_start_finish (HgPlugin *plugin,
                                     GAsyncResult *result,
                                     GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
hg_webrtc_visit_plugin_stop_async (HgPlugin *plugin,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data)
{
  HgWebrtcVisitPlugin *self = HG_WEBRTC_VISIT_PLUGIN (plugin);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, hg_webrtc_visit_plugin_stop_async);
  g_cancellable_cancel (self->cancellable);
  end_call (self, "failed");
  g_task_return_boolean (task, TRUE);
}

static gboolean
hg_webrtc_visit_plugin_stop_finish (HgPlugin *plugin,
                                    GAsyncResult *result,
                                    GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
hg_webrtc_visit_plugin_dispose (GObject *object)
{
  HgWebrtcVisitPlugin *self = HG_WEBRTC_VISIT_PLUGIN (object);

  if (self->call != NULL)
    end_call (self, "failed");
  G_OBJECT_CLASS (hg_webrtc_visit_plugin_parent_class)->dispose (object);
}

static void
hg_webrtc_visit_plugin_finalize (GObject *object)
{
  HgWebrtcVisitPlugin *self = HG_WEBRTC_VISIT_PLUGIN (object);

  g_free (self->video_source);
  g_free (self->audio_source);
  g_free (self->stun_server);
  g_free (self->turn_server);
  secret_free (self->turn_username);
  secret_free (self->turn_password);
  g_clear_object (&self->cancellable);
  g_free (self->answer_button);
  g_free (self->answer_action);
  g_free (self->video_sink);
  g_free (self->audio_sink);
  g_hash_table_unref (self->peers);
  g_clear_pointer (&self->last_call, json_object_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  G_OBJECT_CLASS (hg_webrtc_visit_plugin_parent_class)->finalize (object);
}

static void
hg_webrtc_visit_plugin_class_init (HgWebrtcVisitPluginClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  HgPluginClass *plugin_class = HG_PLUGIN_CLASS (klass);

  object_class->dispose = hg_webrtc_visit_plugin_dispose;
  object_class->finalize = hg_webrtc_visit_plugin_finalize;
  plugin_class->configure = hg_webrtc_visit_plugin_configure;
  plugin_class->handle_event = hg_webrtc_visit_plugin_handle_event;
  plugin_class->start_async = hg_webrtc_visit_plugin_start_async;
  plugin_class->start_finish = hg_webrtc_visit_plugin_start_finish;
  plugin_class->stop_async = hg_webrtc_visit_plugin_stop_async;
  plugin_class->stop_finish = hg_webrtc_visit_plugin_stop_finish;
}

static void
hg_webrtc_visit_plugin_init (HgWebrtcVisitPlugin *self)
{
  self->peers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) peer_free);
  self->cancellable = g_cancellable_new ();
  self->video_sink = g_strdup (DEFAULT_VIDEO_SINK);
  self->audio_sink = g_strdup (DEFAULT_AUDIO_SINK);
  self->min_bitrate = DEFAULT_MIN_BITRATE;
  self->max_bitrate = DEFAULT_MAX_BITRATE;
}

HG_PLUGIN_EXPORT GType hg_plugin_query_type (void);

GType
hg_plugin_query_type (void)
{
  return HG_TYPE_WEBRTC_VISIT_PLUGIN;
}
