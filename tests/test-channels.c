/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Channels between API clients and plugin instances (HgdChannels), end to end: a real
 * hemgated in the test process, real plugin hosts running tests/plugins/echo (channel.serve)
 * and tests/plugins/keeper (without it), clients on the /api/v1/events WebSocket. */
#include "config.h"

#include <libsoup/soup.h>

#include "hg-test-support.h"
#include "hgd-test-daemon.h"

/* A WebSocket client that keeps the frames with an `op` it is sent. */
typedef struct
{
  SoupWebsocketConnection *conn; /* (owned) */
  GPtrArray *frames;             /* (owned) (element-type JsonObject) */
  gboolean closed;
} Client;

static void
client_message_cb (SoupWebsocketConnection *conn,
                   gint type,
                   GBytes *message,
                   gpointer user_data)
{
  Client *client = user_data;
  g_autoptr(JsonObject) frame = NULL;
  g_autoptr(GError) error = NULL;

  frame = hg_json_parse_object (g_bytes_get_data (message, NULL), g_bytes_get_size (message), 0,
                                &error);
  g_assert_no_error (error);
  if (json_object_has_member (frame, "op"))
    g_ptr_array_add (client->frames, g_steal_pointer (&frame));
}

static void
client_closed_cb (SoupWebsocketConnection *conn,
                  gpointer user_data)
{
  ((Client *) user_data)->closed = TRUE;
}

typedef struct
{
  gboolean done;
  SoupWebsocketConnection *conn;
  GError *error;
} Connect;

static void
connected_cb (GObject *source,
              GAsyncResult *result,
              gpointer user_data)
{
  Connect *data = user_data;

  data->conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &data->error);
  data->done = TRUE;
}

static Client *
client_connect (HgdTestDaemon *td,
                HgdRole role)
{
  g_autofree gchar *uri = hgd_test_daemon_uri (td, "/api/v1/events");
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
  g_autofree gchar *authorization =
    g_strdup_printf ("Bearer %s", hgd_test_daemon_get_token (td, role));
  Connect data = { FALSE, NULL, NULL };
  Client *client = g_new0 (Client, 1);

  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                authorization);
  soup_session_websocket_connect_async (td->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        connected_cb, &data);
  hg_test_wait_until (&data.done, 30);
  g_assert_no_error (data.error);
  client->conn = data.conn;
  client->frames = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_signal_connect (client->conn, "message", G_CALLBACK (client_message_cb), client);
  g_signal_connect (client->conn, "closed", G_CALLBACK (client_closed_cb), client);
  return client;
}

static void
client_free (Client *client)
{
  if (soup_websocket_connection_get_state (client->conn) == SOUP_WEBSOCKET_STATE_OPEN)
    {
      soup_websocket_connection_close (client->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      hg_test_wait_until (&client->closed, 30);
    }
  g_signal_handlers_disconnect_by_data (client->conn, client);
  g_object_unref (client->conn);
  g_ptr_array_unref (client->frames);
  g_free (client);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Client, client_free)

static void
client_send (Client *client,
             const gchar *text)
{
  soup_websocket_connection_send_text (client->conn, text);
}

/* Waits for the next frame; returns it (owned by @client). */
static JsonObject *
client_next (Client *client,
             guint *index)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (client->frames->len <= *index && g_get_monotonic_time () < deadline)
    hg_test_run_for (10);
  g_assert_cmpuint (client->frames->len, >, *index);
  return g_ptr_array_index (client->frames, (*index)++);
}

static void
assert_op (JsonObject *frame,
           const gchar *op)
{
  g_autofree gchar *text = hg_json_object_to_string (frame);

  if (g_strcmp0 (json_object_get_string_member_with_default (frame, "op", NULL), op) != 0)
    g_error ("expected op %s, got %s", op, text);
}

/* Opens a channel to @plugin and returns the answer (channel-opened or channel-error). */
static JsonObject *
client_open (Client *client,
             guint *index,
             const gchar *plugin)
{
  g_autofree gchar *text =
    g_strdup_printf ("{\"op\":\"channel-open\",\"plugin\":\"%s\",\"ref\":\"r-%s\"}", plugin, plugin);
  JsonObject *answer;
  g_autofree gchar *ref = g_strdup_printf ("r-%s", plugin);

  client_send (client, text);
  answer = client_next (client, index);
  g_assert_cmpstr (json_object_get_string_member (answer, "ref"), ==, ref);
  return answer;
}

static void
assert_refused (Client *client,
                guint *index,
                const gchar *plugin,
                const gchar *code)
{
  JsonObject *answer = client_open (client, index, plugin);

  assert_op (answer, "channel-error");
  g_assert_cmpstr (json_object_get_string_member (answer, "code"), ==, code);
}

/* The plugins' directory: echo and keeper, as a deployment has them. */
typedef struct
{
  gchar *plugins; /* (owned) */
  gchar *host;    /* (owned) */
  GPtrArray *overrides; /* (owned) */
  HgdTestDaemon *td;    /* (owned) */
} Fixture;

static void
fixture_setup (Fixture *fixture,
               gconstpointer user_data)
{
  const gchar *build_root = g_getenv ("HGD_TEST_BUILD_ROOT");
  g_autofree gchar *echo = NULL;
  g_autofree gchar *keeper = NULL;
  HgdTestDaemonOptions options = { 0 };
  static const gchar *const instances[] = {
    /* instance, plugin, domain */
    "echo", "echo", "municipal",
    "echo-home", "echo", "personal",
    "keeper", "keeper", "municipal",
  };

  g_assert_nonnull (build_root);
  fixture->plugins = g_build_filename (g_get_user_runtime_dir (), "channel-plugins", NULL);
  hg_test_rm_rf (fixture->plugins);
  echo = g_build_filename (build_root, "tests", "plugins", "echo", NULL);
  keeper = g_build_filename (build_root, "tests", "plugins", "keeper", NULL);
  hg_test_plugin_dir_add (fixture->plugins, echo, NULL, NULL);
  hg_test_plugin_dir_add (fixture->plugins, keeper, NULL, NULL);
  /* user_data: also the webrtc-visit plugin, as instance "visit" */
  if (user_data != NULL)
    {
      g_autofree gchar *visit = g_build_filename (build_root, "plugins", "webrtc-visit", NULL);

      hg_test_plugin_dir_add (fixture->plugins, visit, NULL, NULL);
    }
  fixture->host = g_build_filename (build_root, "daemon", "host", "hemgate-plugin-host", NULL);

  fixture->overrides = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (fixture->overrides, g_strdup ("plugins"));
  g_ptr_array_add (fixture->overrides, g_strdup ("directory"));
  g_ptr_array_add (fixture->overrides, g_strdup (fixture->plugins));
  g_ptr_array_add (fixture->overrides, g_strdup ("plugins"));
  g_ptr_array_add (fixture->overrides, g_strdup ("host"));
  g_ptr_array_add (fixture->overrides, g_strdup (fixture->host));
  for (guint i = 0; i < G_N_ELEMENTS (instances); i += 3)
    {
      g_autofree gchar *group = g_strdup_printf ("plugin:%s", instances[i]);

      g_ptr_array_add (fixture->overrides, g_strdup (group));
      g_ptr_array_add (fixture->overrides, g_strdup ("plugin"));
      g_ptr_array_add (fixture->overrides, g_strdup (instances[i + 1]));
      g_ptr_array_add (fixture->overrides, g_strdup (group));
      g_ptr_array_add (fixture->overrides, g_strdup ("domain"));
      g_ptr_array_add (fixture->overrides, g_strdup (instances[i + 2]));
    }
  if (user_data != NULL)
    {
      g_ptr_array_add (fixture->overrides, g_strdup ("plugin:visit"));
      g_ptr_array_add (fixture->overrides, g_strdup ("plugin"));
      g_ptr_array_add (fixture->overrides, g_strdup ("webrtc-visit"));
      g_ptr_array_add (fixture->overrides, g_strdup ("plugin:visit"));
      g_ptr_array_add (fixture->overrides, g_strdup ("domain"));
      g_ptr_array_add (fixture->overrides, g_strdup ("municipal"));
    }
  g_ptr_array_add (fixture->overrides, NULL);
  options.overrides = (const gchar *const *) fixture->overrides->pdata;
  fixture->td = hgd_test_daemon_new (&options);
}

static void
fixture_teardown (Fixture *fixture,
                  gconstpointer user_data)
{
  g_clear_pointer (&fixture->td, hgd_test_daemon_free);
  hg_test_rm_rf (fixture->plugins);
  g_free (fixture->plugins);
  g_free (fixture->host);
  g_ptr_array_unref (fixture->overrides);
}

/* The echo instance's last health report, as staff see it in /api/v1/plugins, or NULL. */
static JsonObject *
echo_health (HgdTestDaemon *td)
{
  g_autoptr(HgdTestResponse) response = hgd_test_daemon_request (
      td, "GET", "/api/v1/plugins", hgd_test_daemon_get_token (td, HGD_ROLE_STAFF), NULL);
  JsonArray *plugins = NULL;

  g_assert_cmpuint (response->status, ==, SOUP_STATUS_OK);
  g_assert_true (hg_json_object_get_array (response->json, "plugins", &plugins, NULL));
  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *plugin = json_array_get_object_element (plugins, i);
      JsonObject *health;

      if (g_strcmp0 (json_object_get_string_member (plugin, "id"), "echo") != 0)
        continue;
      health = json_object_get_object_member (plugin, "health");
      if (health == NULL || !json_object_has_member (health, "report") ||
          JSON_NODE_HOLDS_NULL (json_object_get_member (health, "report")))
        return NULL;
      return json_object_ref (json_object_get_object_member (health, "report"));
    }
  return NULL;
}

/* Waits until the echo instance reports @member equal to @value. */
static void
wait_echo_health (HgdTestDaemon *td,
                  const gchar *member,
                  gint64 value)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(JsonObject) report = echo_health (td);

      if (report != NULL && json_object_get_int_member_with_default (report, member, -1) == value)
        return;
      hg_test_run_for (50);
    }
  g_error ("echo did not report %s = %" G_GINT64_FORMAT, member, value);
}

/* The newest municipal event of @type with channel @channel, or NULL. */
static JsonObject *
find_event (HgdTestDaemon *td,
            const gchar *type,
            const gchar *channel)
{
  g_autoptr(HgdTestResponse) response = hgd_test_daemon_request (
      td, "GET", "/api/v1/events?after=0&limit=1000",
      hgd_test_daemon_get_token (td, HGD_ROLE_STAFF), NULL);
  JsonArray *events = json_object_get_array_member (response->json, "events");
  JsonObject *found = NULL;

  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *event = json_array_get_object_element (events, i);
      JsonObject *body = json_object_get_object_member (event, "body");

      if (g_strcmp0 (json_object_get_string_member (event, "type"), type) == 0 &&
          g_strcmp0 (json_object_get_string_member (body, "channel"), channel) == 0)
        found = body;
    }
  return found != NULL ? json_object_ref (found) : NULL;
}

static JsonObject *
wait_event (HgdTestDaemon *td,
            const gchar *type,
            const gchar *channel)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      JsonObject *body = find_event (td, type, channel);

      if (body != NULL)
        return body;
      hg_test_run_for (50);
    }
  g_error ("no %s of channel %s journaled", type, channel);
}

static void
test_echo (Fixture *fixture,
           gconstpointer user_data)
{
  HgdTestDaemon *td = fixture->td;
  g_autoptr(Client) staff = NULL;
  g_autoptr(JsonObject) opened_event = NULL;
  g_autoptr(JsonObject) closed_event = NULL;
  g_autofree gchar *channel = NULL;
  g_autofree gchar *text = NULL;
  JsonObject *frame;
  JsonObject *message;
  guint index = 0;

  g_test_summary ("Staff open a channel to a municipal instance with channel.serve over the "
                  "events WebSocket: the plugin is told who (its hello names the user and role), "
                  "messages go both ways in order, the plugin closes it and the client is told; "
                  "channel.opened and channel.closed are in the municipal journal with who and "
                  "which instance");
  wait_echo_health (td, "open", 0);
  staff = client_connect (td, HGD_ROLE_STAFF);
  frame = client_open (staff, &index, "echo");
  assert_op (frame, "channel-opened");
  channel = g_strdup (json_object_get_string_member (frame, "channel"));

  frame = client_next (staff, &index);
  assert_op (frame, "channel-message");
  g_assert_cmpstr (json_object_get_string_member (frame, "channel"), ==, channel);
  message = json_object_get_object_member (frame, "message");
  g_assert_cmpstr (json_object_get_string_member (message, "hello"), ==,
                   hgd_test_username (HGD_ROLE_STAFF));
  g_assert_cmpstr (json_object_get_string_member (message, "role"), ==, "staff");

  for (guint i = 0; i < 3; i++)
    {
      g_autofree gchar *say = g_strdup_printf ("{\"op\":\"channel-send\",\"channel\":\"%s\","
                                               "\"message\":{\"say\":\"n%u\"}}", channel, i);
      client_send (staff, say);
    }
  for (guint i = 0; i < 3; i++)
    {
      g_autofree gchar *expected = g_strdup_printf ("n%u", i);

      frame = client_next (staff, &index);
      assert_op (frame, "channel-message");
      message = json_object_get_object_member (frame, "message");
      g_assert_cmpstr (json_object_get_string_member (message, "echo"), ==, expected);
    }

  text = g_strdup_printf ("{\"op\":\"channel-send\",\"channel\":\"%s\","
                          "\"message\":{\"say\":\"bye\"}}", channel);
  client_send (staff, text);
  frame = client_next (staff, &index);
  assert_op (frame, "channel-closed");
  g_assert_cmpstr (json_object_get_string_member (frame, "reason"), ==, "plugin");

  /* closed: a later message is refused */
  client_send (staff, text);
  frame = client_next (staff, &index);
  assert_op (frame, "channel-error");
  g_assert_cmpstr (json_object_get_string_member (frame, "code"), ==, "not-open");

  opened_event = wait_event (td, "channel.opened", channel);
  g_assert_cmpstr (json_object_get_string_member (opened_event, "plugin"), ==, "echo");
  g_assert_cmpstr (json_object_get_string_member (opened_event, "user"), ==,
                   hgd_test_username (HGD_ROLE_STAFF));
  g_assert_cmpstr (json_object_get_string_member (opened_event, "role"), ==, "staff");
  closed_event = wait_event (td, "channel.closed", channel);
  g_assert_cmpstr (json_object_get_string_member (closed_event, "by"), ==, "plugin");
  g_assert_cmpint (json_object_get_int_member (closed_event, "messages_in"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (closed_event, "messages_out"), ==, 4);
}

static void
test_refusals (Fixture *fixture,
               gconstpointer user_data)
{
  HgdTestDaemon *td = fixture->td;
  g_autoptr(Client) staff = NULL;
  g_autoptr(Client) family = NULL;
  g_autoptr(Client) admin = NULL;
  g_autoptr(Client) resident = NULL;
  g_autofree gchar *padding = g_strnfill (HG_CONTEXT_CHANNEL_MAX_MESSAGE, 'x');
  g_autofree gchar *big = NULL;
  g_autofree gchar *channel = NULL;
  JsonObject *frame;
  guint staff_index = 0;
  guint family_index = 0;
  guint admin_index = 0;
  guint resident_index = 0;

  g_test_summary ("The core refuses a channel to an instance without channel.serve "
                  "(not-served), to one that does not exist or is of the personal domain, to "
                  "staff (not-found), and to family and it-admin whatever the instance "
                  "(forbidden); the resident reaches a municipal instance; an unknown op, a "
                  "frame without one and a message over 64 KiB are answered with errors and "
                  "the stream stays open");
  wait_echo_health (td, "open", 0);
  staff = client_connect (td, HGD_ROLE_STAFF);
  assert_refused (staff, &staff_index, "keeper", "not-served");
  assert_refused (staff, &staff_index, "echo-home", "not-found");
  assert_refused (staff, &staff_index, "nope", "not-found");

  family = client_connect (td, HGD_ROLE_FAMILY);
  assert_refused (family, &family_index, "echo-home", "forbidden");
  assert_refused (family, &family_index, "echo", "forbidden");
  admin = client_connect (td, HGD_ROLE_IT_ADMIN);
  assert_refused (admin, &admin_index, "echo", "forbidden");

  resident = client_connect (td, HGD_ROLE_RESIDENT);
  frame = client_open (resident, &resident_index, "echo");
  assert_op (frame, "channel-opened");
  channel = g_strdup (json_object_get_string_member (frame, "channel"));
  assert_op (client_next (resident, &resident_index), "channel-message");

  /* another client's channel is not this one's to use */
  big = g_strdup_printf ("{\"op\":\"channel-send\",\"channel\":\"%s\",\"message\":{\"say\":\"x\"}}",
                         channel);
  client_send (staff, big);
  frame = client_next (staff, &staff_index);
  assert_op (frame, "channel-error");
  g_assert_cmpstr (json_object_get_string_member (frame, "code"), ==, "not-open");
  g_clear_pointer (&big, g_free);

  big = g_strdup_printf ("{\"op\":\"channel-send\",\"channel\":\"%s\",\"message\":{\"say\":\"%s\"}}",
                         channel, padding);
  client_send (resident, big);
  frame = client_next (resident, &resident_index);
  assert_op (frame, "channel-error");
  g_assert_cmpstr (json_object_get_string_member (frame, "code"), ==, "too-large");

  client_send (resident, "{\"op\":\"channel-dance\"}");
  frame = client_next (resident, &resident_index);
  assert_op (frame, "channel-error");
  g_assert_cmpstr (json_object_get_string_member (frame, "code"), ==, "invalid");
  client_send (resident, "{\"channel\":\"x\"}");
  frame = client_next (resident, &resident_index);
  assert_op (frame, "channel-error");
  g_assert_cmpint (soup_websocket_connection_get_state (resident->conn), ==,
                   SOUP_WEBSOCKET_STATE_OPEN);
  wait_echo_health (td, "open", 1);
}

static void
test_client_gone (Fixture *fixture,
                  gconstpointer user_data)
{
  HgdTestDaemon *td = fixture->td;
  g_autoptr(Client) staff = NULL;
  g_autoptr(JsonObject) closed_event = NULL;
  g_autofree gchar *channel = NULL;
  JsonObject *frame;
  guint index = 0;

  g_test_summary ("A client whose WebSocket goes away closes its channels: the plugin is told "
                  "(HgContext::channel-closed) and channel.closed is journaled with by = gone");
  wait_echo_health (td, "open", 0);
  staff = client_connect (td, HGD_ROLE_STAFF);
  frame = client_open (staff, &index, "echo");
  assert_op (frame, "channel-opened");
  channel = g_strdup (json_object_get_string_member (frame, "channel"));
  wait_echo_health (td, "open", 1);

  soup_websocket_connection_close (staff->conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
  hg_test_wait_until (&staff->closed, 30);
  wait_echo_health (td, "closed", 1);
  wait_echo_health (td, "open", 0);
  closed_event = wait_event (td, "channel.closed", channel);
  g_assert_cmpstr (json_object_get_string_member (closed_event, "by"), ==, "gone");
}

static void
test_night_check_consent (Fixture *fixture,
                          gconstpointer user_data)
{
  HgdTestDaemon *td = fixture->td;
  g_autoptr(Client) staff = NULL;
  g_autoptr(HgdTestResponse) made = NULL;
  g_autoptr(HgdTestResponse) revoked = NULL;
  g_autoptr(JsonObject) opened_event = NULL;
  g_autoptr(JsonObject) closed_event = NULL;
  g_autofree gchar *channel = NULL;
  g_autofree gchar *revoke_path = NULL;
  g_autoptr(GDateTime) now = NULL;
  g_autoptr(GDateTime) from = NULL;
  g_autoptr(GDateTime) to = NULL;
  g_autofree gchar *from_text = NULL;
  g_autofree gchar *to_text = NULL;
  g_autofree gchar *body = NULL;
  const gchar *open_check = "{\"op\":\"channel-open\",\"plugin\":\"echo\",\"ref\":\"r-echo\","
                            "\"purpose\":\"night-check\"}";
  JsonObject *frame;
  guint index = 0;

  g_test_summary ("A channel for a night check opens only while the resident's night-check "
                  "consent grant holds (no-consent before, an unknown purpose invalid); the "
                  "plugin is told the purpose; when the resident withdraws the grant mid-check "
                  "the channel closes (reason consent), the plugin is told and channel.closed "
                  "is journaled with by = consent");
  wait_echo_health (td, "open", 0);
  staff = client_connect (td, HGD_ROLE_STAFF);
  client_send (staff, open_check);
  frame = client_next (staff, &index);
  assert_op (frame, "channel-error");
  g_assert_cmpstr (json_object_get_string_member (frame, "code"), ==, "no-consent");
  client_send (staff, "{\"op\":\"channel-open\",\"plugin\":\"echo\",\"ref\":\"r-echo\","
                      "\"purpose\":\"peek\"}");
  frame = client_next (staff, &index);
  assert_op (frame, "channel-error");
  g_assert_cmpstr (json_object_get_string_member (frame, "code"), ==, "invalid");

  /* a window from an hour ago to an hour from now, in the gateway's local time */
  now = g_date_time_new_now_local ();
  from = g_date_time_add_hours (now, -1);
  to = g_date_time_add_hours (now, 1);
  from_text = g_date_time_format (from, "%H:%M");
  to_text = g_date_time_format (to, "%H:%M");
  body = g_strdup_printf ("{\"kind\":\"night-check\",\"scope\":{\"window\":"
                          "{\"from\":\"%s\",\"to\":\"%s\"}}}", from_text, to_text);
  made = hgd_test_daemon_request (td, "POST", "/api/v1/grants",
                                  hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT), body);
  g_assert_cmpuint (made->status, ==, SOUP_STATUS_CREATED);
  client_send (staff, open_check);
  frame = client_next (staff, &index);
  assert_op (frame, "channel-opened");
  channel = g_strdup (json_object_get_string_member (frame, "channel"));
  frame = client_next (staff, &index);
  assert_op (frame, "channel-message");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (frame, "message"),
                                                  "purpose"), ==, "night-check");
  opened_event = wait_event (td, "channel.opened", channel);
  g_assert_cmpstr (json_object_get_string_member (opened_event, "purpose"), ==, "night-check");
  wait_echo_health (td, "open", 1);

  revoke_path = g_strdup_printf ("/api/v1/grants/%s", json_object_get_string_member (made->json,
                                                                                    "id"));
  revoked = hgd_test_daemon_request (td, "DELETE", revoke_path,
                                     hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT), NULL);
  g_assert_cmpuint (revoked->status, <, 300);
  frame = client_next (staff, &index);
  assert_op (frame, "channel-closed");
  g_assert_cmpstr (json_object_get_string_member (frame, "reason"), ==, "consent");
  wait_echo_health (td, "closed", 1);
  wait_echo_health (td, "open", 0);
  closed_event = wait_event (td, "channel.closed", channel);
  g_assert_cmpstr (json_object_get_string_member (closed_event, "by"), ==, "consent");
}

static void
test_night_check_limit (Fixture *fixture,
                        gconstpointer user_data)
{
  HgdTestDaemon *td = fixture->td;
  g_autoptr(Client) staff = NULL;
  g_autoptr(HgdTestResponse) made = NULL;
  g_autoptr(JsonObject) closed_event = NULL;
  g_autofree gchar *channel = NULL;
  g_autoptr(GDateTime) now = NULL;
  g_autoptr(GDateTime) from = NULL;
  g_autoptr(GDateTime) to = NULL;
  g_autofree gchar *from_text = NULL;
  g_autofree gchar *to_text = NULL;
  g_autofree gchar *body = NULL;
  JsonObject *frame;
  guint index = 0;

  g_test_summary ("A night check's channel is closed by the core once its grant's max_seconds "
                  "per look are up (reason limit), inside the window and with the grant still "
                  "active; the plugin is told and channel.closed is journaled with by = limit");
  wait_echo_health (td, "open", 0);
  now = g_date_time_new_now_local ();
  from = g_date_time_add_hours (now, -1);
  to = g_date_time_add_hours (now, 1);
  from_text = g_date_time_format (from, "%H:%M");
  to_text = g_date_time_format (to, "%H:%M");
  body = g_strdup_printf ("{\"kind\":\"night-check\",\"scope\":{\"window\":"
                          "{\"from\":\"%s\",\"to\":\"%s\"},\"max_seconds\":1}}",
                          from_text, to_text);
  made = hgd_test_daemon_request (td, "POST", "/api/v1/grants",
                                  hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT), body);
  g_assert_cmpuint (made->status, ==, SOUP_STATUS_CREATED);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (made->json, "scope"),
                                               "max_seconds"), ==, 1);

  staff = client_connect (td, HGD_ROLE_STAFF);
  client_send (staff, "{\"op\":\"channel-open\",\"plugin\":\"echo\",\"ref\":\"r-echo\","
                      "\"purpose\":\"night-check\"}");
  frame = client_next (staff, &index);
  assert_op (frame, "channel-opened");
  channel = g_strdup (json_object_get_string_member (frame, "channel"));
  assert_op (client_next (staff, &index), "channel-message");
  frame = client_next (staff, &index);
  assert_op (frame, "channel-closed");
  g_assert_cmpstr (json_object_get_string_member (frame, "channel"), ==, channel);
  g_assert_cmpstr (json_object_get_string_member (frame, "reason"), ==, "limit");
  wait_echo_health (td, "closed", 1);
  wait_echo_health (td, "open", 0);
  closed_event = wait_event (td, "channel.closed", channel);
  g_assert_cmpstr (json_object_get_string_member (closed_event, "by"), ==, "limit");
}

/* The entry of @action on @object by @actor in the access log @role reads, or NULL. */
static JsonObject *
find_access (HgdTestDaemon *td,
             HgdRole role,
             const gchar *action,
             const gchar *object,
             const gchar *actor)
{
  g_autoptr(HgdTestResponse) response = hgd_test_daemon_request (
      td, "GET", "/api/v1/access-log", hgd_test_daemon_get_token (td, role), NULL);
  JsonArray *entries;

  g_assert_cmpuint (response->status, ==, SOUP_STATUS_OK);
  entries = json_object_get_array_member (response->json, "entries");
  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *entry = json_array_get_object_element (entries, i);

      if (g_strcmp0 (json_object_get_string_member (entry, "action"), action) == 0 &&
          g_strcmp0 (json_object_get_string_member_with_default (entry, "object", NULL),
                     object) == 0 &&
          g_strcmp0 (json_object_get_string_member_with_default (entry, "actor", NULL),
                     actor) == 0)
        return json_object_ref (entry);
    }
  return NULL;
}

static JsonObject *
wait_access (HgdTestDaemon *td,
             HgdRole role,
             const gchar *action,
             const gchar *object,
             const gchar *actor)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      JsonObject *entry = find_access (td, role, action, object, actor);

      if (entry != NULL)
        return entry;
      hg_test_run_for (50);
    }
  g_error ("no %s of %s by %s in the access log", action, object, actor);
}

/* GET /api/v1/visits as @role, waiting until it lists @n records. */
static HgdTestResponse *
wait_visits (HgdTestDaemon *td,
             HgdRole role,
             guint n)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(HgdTestResponse) response = hgd_test_daemon_request (
          td, "GET", "/api/v1/visits", hgd_test_daemon_get_token (td, role), NULL);

      g_assert_cmpuint (response->status, ==, SOUP_STATUS_OK);
      if (json_array_get_length (json_object_get_array_member (response->json, "visits")) >= n ||
          g_get_monotonic_time () >= deadline)
        return g_steal_pointer (&response);
      hg_test_run_for (50);
    }
}

static void
test_visit_records (Fixture *fixture,
                    gconstpointer user_data)
{
  HgdTestDaemon *td = fixture->td;
  g_autoptr(Client) staff = NULL;
  g_autoptr(HgdTestResponse) visits = NULL;
  g_autoptr(HgdTestResponse) family = NULL;
  g_autoptr(HgdTestResponse) admin = NULL;
  g_autoptr(HgdTestResponse) staff_read = NULL;
  g_autoptr(HgdTestResponse) bad = NULL;
  g_autoptr(JsonObject) opened_event = NULL;
  g_autoptr(JsonObject) entry = NULL;
  g_autoptr(JsonObject) staff_entry = NULL;
  g_autofree gchar *channel = NULL;
  g_autofree gchar *resident_actor = g_strdup_printf ("user:%s",
                                                      hgd_test_username (HGD_ROLE_RESIDENT));
  g_autofree gchar *staff_actor = g_strdup_printf ("user:%s", hgd_test_username (HGD_ROLE_STAFF));
  g_autofree gchar *text = NULL;
  JsonArray *array;
  JsonObject *visit;
  JsonObject *frame;
  guint index = 0;

  g_test_summary ("The record of a visit the webrtc-visit plugin journaled (visit.ended, in the "
                  "municipal journal) is read by the resident in GET /api/v1/visits with its "
                  "members, and by nothing else of that journal (the channel's own events stay "
                  "out); family and it-admin are refused; the resident's read is in the "
                  "municipal access log (read.municipal), staff's in the personal one");
  visits = wait_visits (td, HGD_ROLE_RESIDENT, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (visits->json, "visits")),
                    ==, 0);
  g_clear_pointer (&visits, hgd_test_response_free);

  /* staff start a visit and hang up while it rings: the plugin journals `cancelled` */
  staff = client_connect (td, HGD_ROLE_STAFF);
  frame = client_open (staff, &index, "visit");
  assert_op (frame, "channel-opened");
  channel = g_strdup (json_object_get_string_member (frame, "channel"));
  text = g_strdup_printf ("{\"op\":\"channel-send\",\"channel\":\"%s\","
                          "\"message\":{\"type\":\"start\"}}", channel);
  client_send (staff, text);
  frame = client_next (staff, &index);
  assert_op (frame, "channel-message");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (frame, "message"),
                                                  "type"), ==, "ringing");
  g_free (text);
  text = g_strdup_printf ("{\"op\":\"channel-send\",\"channel\":\"%s\","
                          "\"message\":{\"type\":\"hangup\"}}", channel);
  client_send (staff, text);
  opened_event = wait_event (td, "channel.opened", channel);

  visits = wait_visits (td, HGD_ROLE_RESIDENT, 1);
  array = json_object_get_array_member (visits->json, "visits");
  g_assert_cmpuint (json_array_get_length (array), ==, 1);
  visit = json_array_get_object_element (array, 0);
  g_assert_cmpstr (json_object_get_string_member (visit, "kind"), ==, "visit");
  g_assert_cmpstr (json_object_get_string_member (visit, "staff"), ==,
                   hgd_test_username (HGD_ROLE_STAFF));
  g_assert_cmpstr (json_object_get_string_member (visit, "outcome"), ==, "cancelled");
  g_assert_true (json_object_has_member (visit, "started"));
  g_assert_true (json_object_has_member (visit, "seconds"));
  g_assert_true (json_object_has_member (visit, "seq"));
  /* the channel's events are municipal too, and do not cross */
  g_assert_false (json_object_has_member (visit, "channel"));
  g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (visits->json, "next_before")));

  family = hgd_test_daemon_request (td, "GET", "/api/v1/visits",
                                    hgd_test_daemon_get_token (td, HGD_ROLE_FAMILY), NULL);
  g_assert_cmpuint (family->status, ==, SOUP_STATUS_FORBIDDEN);
  admin = hgd_test_daemon_request (td, "GET", "/api/v1/visits",
                                   hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN), NULL);
  g_assert_cmpuint (admin->status, ==, SOUP_STATUS_FORBIDDEN);
  bad = hgd_test_daemon_request (td, "GET", "/api/v1/visits?since=yesterday",
                                 hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT), NULL);
  g_assert_cmpuint (bad->status, ==, SOUP_STATUS_BAD_REQUEST);

  entry = wait_access (td, HGD_ROLE_AUDITOR, "read.municipal", "visits", resident_actor);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (entry, "detail"),
                                                  "role"), ==, "resident");
  staff_read = wait_visits (td, HGD_ROLE_STAFF, 1);
  staff_entry = wait_access (td, HGD_ROLE_RESIDENT, "read.personal", "visits", staff_actor);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/channels/open-echo-close-journaled", Fixture, NULL, fixture_setup, test_echo,
              fixture_teardown);
  g_test_add ("/channels/refused-by-capability-domain-role", Fixture, NULL, fixture_setup,
              test_refusals, fixture_teardown);
  g_test_add ("/channels/client-gone-closes-its-channels", Fixture, NULL, fixture_setup,
              test_client_gone, fixture_teardown);
  g_test_add ("/channels/night-check-needs-consent-closed-when-withdrawn", Fixture, NULL,
              fixture_setup, test_night_check_consent, fixture_teardown);
  g_test_add ("/channels/night-check-closed-at-its-grants-limit", Fixture, NULL, fixture_setup,
              test_night_check_limit, fixture_teardown);
  g_test_add ("/channels/visit-records-read-by-the-home", Fixture, "webrtc-visit", fixture_setup,
              test_visit_records, fixture_teardown);
  return g_test_run ();
}
