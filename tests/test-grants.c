/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Consent grants against a real in-process hemgated: the generated leak matrix (every
 * route x every role and anonymous x grants absent, present, expired and revoked, with
 * marker strings planted in each domain's data searched for in every body and every
 * event frame of the other domain's callers), and the grants API's own rules. */
#include "config.h"

#include <string.h>

#include "hgd-api-private.h"
#include "hgd-grants.h"
#include "hgd-test-daemon.h"

/* Planted in each domain's data. A personal marker reaches a municipal caller only as the
 * shared device's readings, to staff, while the grant is active. */
#define P_SHARED "PMARK-shared-e41c"
#define P_PRIVATE "PMARK-private-93bd"
#define P_BEFORE "PMARK-before-77c1" /* the shared device's, from before the grant */
#define M_MARK "MMARK-municipal-5a07"

typedef enum
{
  GRANTS_ABSENT,
  GRANTS_PRESENT,
  GRANTS_EXPIRED,
  GRANTS_REVOKED,
} GrantState;

/* Who is "anon" is written first; then the roles in HgdRole order. */
#define N_CALLERS (HGD_ROLE_LAST + 1)

/* The expectations, written independently of the route table: each route's request (the
 * path with {ref} standing for a real alarm; bodies every handler rejects, so nothing
 * changes) and the exact status for anon, resident, family, staff, it-admin, service,
 * guardian, auditor. A status written as -N is N with an active family-access grant,
 * else 403 no-grant. */
static const struct
{
  const gchar *method;
  const gchar *pattern;
  const gchar *path;
  const gchar *body;
  gint status[N_CALLERS];
} expected[] = {
  { "POST", "/api/v1/auth/login", "/api/v1/auth/login", "{}",
    { 400, 400, 400, 400, 400, 400, 400, 400 } },
  { "POST", "/api/v1/auth/logout", "/api/v1/auth/logout", NULL,
    { 401, 204, 204, 204, 204, 204, 204, 204 } },
  { "GET", "/api/v1/auth/session", "/api/v1/auth/session", NULL,
    { 401, 200, 200, 200, 200, 200, 200, 200 } },
  { "GET", "/api/v1/auth/oidc", "/api/v1/auth/oidc", NULL,
    { 200, 200, 200, 200, 200, 200, 200, 200 } },
  { "GET", "/api/v1/auth/oidc/login", "/api/v1/auth/oidc/login", NULL,
    { 404, 404, 404, 404, 404, 404, 404, 404 } },
  { "GET", "/api/v1/auth/oidc/callback", "/api/v1/auth/oidc/callback", NULL,
    { 404, 404, 404, 404, 404, 404, 404, 404 } },
  { "POST", "/api/v1/auth/oidc/backchannel-logout", "/api/v1/auth/oidc/backchannel-logout", NULL,
    { 415, 415, 415, 415, 415, 415, 415, 415 } },
  { "POST", "/api/v1/auth/oidc/device", "/api/v1/auth/oidc/device", NULL,
    { 404, 404, 404, 404, 404, 404, 404, 404 } },
  { "POST", "/api/v1/auth/oidc/device/token", "/api/v1/auth/oidc/device/token", "{}",
    { 400, 400, 400, 400, 400, 400, 400, 400 } },
  { "GET", "/api/v1/health", "/api/v1/health", NULL, { 200, 200, 200, 200, 200, 200, 200, 200 } },
  { "GET", "/api/v1/openapi.json", "/api/v1/openapi.json", NULL,
    { 200, 200, 200, 200, 200, 200, 200, 200 } },
  { "GET", "/metrics", "/metrics", NULL, { 401, 403, 403, 403, 200, 200, 403, 403 } },
  { "GET", "/api/v1/events", "/api/v1/events", NULL, { 401, 200, 200, 200, 200, 200, 200, 403 } },
  { "GET", "/api/v1/plugins", "/api/v1/plugins", NULL, { 401, 403, 403, 200, 200, 200, 403, 403 } },
  { "POST", "/api/v1/plugins/{id}/restart", "/api/v1/plugins/no-such-plugin/restart", NULL,
    { 401, 403, 403, 403, 404, 403, 403, 403 } },
  { "POST", "/api/v1/plugins/{id}/disable", "/api/v1/plugins/no-such-plugin/disable", NULL,
    { 401, 403, 403, 403, 404, 403, 403, 403 } },
  { "POST", "/api/v1/plugins/{id}/enable", "/api/v1/plugins/no-such-plugin/enable", NULL,
    { 401, 403, 403, 403, 404, 403, 403, 403 } },
  { "GET", "/api/v1/users", "/api/v1/users", NULL, { 401, 200, 403, 403, 200, 403, 200, 403 } },
  { "POST", "/api/v1/users", "/api/v1/users", "{}", { 401, 400, 403, 403, 400, 403, 400, 403 } },
  { "POST", "/api/v1/users/{username}/password", "/api/v1/users/nobody/password", "{}",
    { 401, 400, 403, 403, 400, 403, 400, 403 } },
  { "DELETE", "/api/v1/users/{username}/sessions", "/api/v1/users/nobody/sessions", NULL,
    { 401, 404, 403, 403, 404, 403, 404, 403 } },
  { "POST", "/api/v1/alarms", "/api/v1/alarms", "{}", { 401, 400, 400, 400, 400, 400, 400, 403 } },
  { "GET", "/api/v1/alarms", "/api/v1/alarms", NULL, { 401, 200, -200, 200, 200, 200, 200, 403 } },
  { "GET", "/api/v1/alarms/{ref}", "/api/v1/alarms/{ref}", NULL,
    { 401, 200, -200, 200, 200, 200, 200, 403 } },
  { "POST", "/api/v1/alarms/{ref}/transitions", "/api/v1/alarms/{ref}/transitions", "{}",
    { 401, 400, -400, 400, 400, 400, 400, 403 } },
  { "GET", "/api/v1/sensors", "/api/v1/sensors", NULL, { 401, 200, 200, 200, 200, 200, 200, 403 } },
  { "GET", "/api/v1/sensors/{device}/history", "/api/v1/sensors/pdev-shared/history", NULL,
    { 401, 200, 200, 200, 200, 200, 200, 403 } },
  { "GET", "/api/v1/sensors/{device}/activity", "/api/v1/sensors/pdev-shared/activity", NULL,
    { 401, 200, 200, 200, 200, 200, 200, 403 } },
  { "GET", "/api/v1/visits", "/api/v1/visits", NULL, { 401, 200, 403, 200, 403, 403, 200, 403 } },
  { "GET", "/api/v1/grants", "/api/v1/grants", NULL, { 401, 200, 200, 200, 403, 403, 200, 403 } },
  { "POST", "/api/v1/grants", "/api/v1/grants", "{}", { 401, 400, 403, 403, 403, 403, 400, 403 } },
  { "DELETE", "/api/v1/grants/{id}", "/api/v1/grants/no-such-grant", NULL,
    { 401, 404, 403, 403, 403, 403, 404, 403 } },
  { "GET", "/api/v1/access-log", "/api/v1/access-log", NULL,
    { 401, 200, 403, 403, 403, 403, 200, 200 } },
  { "GET", "/api/v1/access-log/verify", "/api/v1/access-log/verify", NULL,
    { 401, 200, 403, 403, 403, 403, 200, 200 } },
  { "GET", "/api/v1/personal/export", "/api/v1/personal/export", NULL,
    { 401, 200, 403, 403, 403, 403, 200, 403 } },
  { "POST", "/api/v1/personal/erase", "/api/v1/personal/erase", "{}",
    { 401, 400, 403, 403, 403, 403, 400, 403 } },
  { "GET", "/api/v1/secrets", "/api/v1/secrets", NULL, { 401, 200, 403, 403, 200, 403, 200, 403 } },
  { "PUT", "/api/v1/secrets/{owner}/{key}", "/api/v1/secrets/no-such-owner/key", "{}",
    { 401, 404, 403, 403, 404, 403, 404, 403 } },
  { "DELETE", "/api/v1/secrets/{owner}/{key}", "/api/v1/secrets/no-such-owner/key", NULL,
    { 401, 404, 403, 403, 404, 403, 404, 403 } },
  { "PUT", "/api/v1/tls/certificate", "/api/v1/tls/certificate", "{}",
    { 401, 403, 403, 403, 409, 403, 403, 403 } },
  { "GET", "/api/v1/bundles", "/api/v1/bundles", NULL, { 401, 200, 403, 403, 200, 403, 200, 403 } },
  { "POST", "/api/v1/bundles", "/api/v1/bundles", "{}", { 401, 400, 403, 403, 400, 403, 400, 403 } },
  { "GET", "/api/v1/bundles/jobs/{id}", "/api/v1/bundles/jobs/999999", NULL,
    { 401, 404, 403, 403, 404, 403, 404, 403 } },
  { "DELETE", "/api/v1/bundles/{id}", "/api/v1/bundles/no-such-plugin", NULL,
    { 401, 404, 403, 403, 404, 403, 404, 403 } },
  { "GET", "/api/v1/bundles/keys", "/api/v1/bundles/keys", NULL,
    { 401, 200, 403, 403, 200, 403, 200, 403 } },
  { "POST", "/api/v1/bundles/keys", "/api/v1/bundles/keys", "{}",
    { 401, 400, 403, 403, 400, 403, 400, 403 } },
  { "POST", "/api/v1/bundles/keys/{id}/revoke", "/api/v1/bundles/keys/0000000000000000/revoke", NULL,
    { 401, 404, 403, 403, 404, 403, 404, 403 } },
  { "GET", "/api/v1/alarm-delivery", "/api/v1/alarm-delivery", NULL,
    { 401, 403, 403, 403, 200, 403, 403, 403 } },
  { "PUT", "/api/v1/alarm-delivery", "/api/v1/alarm-delivery", "{\"delivery\": \"no-such-instance\"}",
    { 401, 403, 403, 403, 400, 403, 403, 403 } },
  { "GET", "/", "/", NULL, { 200, 200, 200, 200, 200, 200, 200, 200 } },
  { "GET", "/ui/{file}", "/ui/no-such-file.js", NULL, { 404, 404, 404, 404, 404, 404, 404, 404 } },
};

static const gchar *
caller_name (guint caller)
{
  return caller == 0 ? "anonymous" : hgd_role_to_string ((HgdRole) (caller - 1));
}

static void
append_cb (GObject *source,
           GAsyncResult *result,
           gpointer user_data)
{
  gboolean *done = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (hgd_journal_append_finish (HGD_JOURNAL (source), result, &error));
  g_assert_no_error (error);
  *done = TRUE;
}

/* Appends an event with a body to a domain's journal, as a plugin would publish it. */
static void
append (HgdTestDaemon *td,
        HgDomain domain,
        const gchar *type,
        const gchar *body_json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) body = hg_json_parse_object (body_json, -1, 0, &error);
  g_autoptr(HgEvent) event = NULL;
  gboolean done = FALSE;

  g_assert_no_error (error);
  event = hg_event_new (type, body);
  hg_event_set_source (event, "plugin:test");
  hgd_journal_append_async (hgd_daemon_get_journal (td->daemon, domain), event, NULL, NULL,
                            append_cb, &done);
  hg_test_wait_until (&done, 30);
}

static void
plant_reading (HgdTestDaemon *td,
               HgDomain domain,
               const gchar *device,
               const gchar *room)
{
  g_autofree gchar *body = g_strdup_printf (
      "{\"device\":\"%s\",\"kind\":\"temperature\",\"value\":21.5,\"unit\":\"°C\",\"room\":\"%s\"}",
      device, room);
  append (td, domain, "sensor.reading", body);
}

static HgdTestResponse *
request_as (HgdTestDaemon *td,
            HgdRole role,
            const gchar *method,
            const gchar *path,
            const gchar *body)
{
  return hgd_test_daemon_request (td, method, path, hgd_test_daemon_get_token (td, role), body);
}

/* Makes a grant as the resident; returns its id. */
static gchar *
make_grant (HgdTestDaemon *td,
            const gchar *body)
{
  g_autoptr(HgdTestResponse) made = request_as (td, HGD_ROLE_RESIDENT, "POST", "/api/v1/grants", body);

  g_test_message ("POST /api/v1/grants %s: %u", body, made->status);
  g_assert_cmpuint (made->status, ==, SOUP_STATUS_CREATED);
  g_assert_true (json_object_get_boolean_member (made->json, "active"));
  return g_strdup (json_object_get_string_member (made->json, "id"));
}

/* The events WebSocket of one role, keeping every frame's text. */
typedef struct
{
  SoupWebsocketConnection *conn; /* (owned) */
  GPtrArray *frames;             /* (element-type utf8) */
  gboolean connected;
  GError *error;
} Stream;

static void
stream_message_cb (SoupWebsocketConnection *conn,
                   gint type,
                   GBytes *message,
                   gpointer user_data)
{
  Stream *stream = user_data;
  g_ptr_array_add (stream->frames,
                   g_strndup (g_bytes_get_data (message, NULL), g_bytes_get_size (message)));
}

static void
stream_connected_cb (GObject *source,
                     GAsyncResult *result,
                     gpointer user_data)
{
  Stream *stream = user_data;
  stream->conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result,
                                                        &stream->error);
  stream->connected = TRUE;
}

static Stream *
stream_open (HgdTestDaemon *td,
             HgdRole role)
{
  g_autofree gchar *uri = hgd_test_daemon_uri (td, "/api/v1/events");
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
  g_autofree gchar *authorization
      = g_strdup_printf ("Bearer %s", hgd_test_daemon_get_token (td, role));
  Stream *stream = g_new0 (Stream, 1);

  stream->frames = g_ptr_array_new_with_free_func (g_free);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                authorization);
  soup_session_websocket_connect_async (td->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        stream_connected_cb, stream);
  hg_test_wait_until (&stream->connected, 30);
  g_assert_no_error (stream->error);
  g_signal_connect (stream->conn, "message", G_CALLBACK (stream_message_cb), stream);
  return stream;
}

static void
stream_free (Stream *stream)
{
  if (stream == NULL)
    return;
  g_signal_handlers_disconnect_by_data (stream->conn, stream);
  if (soup_websocket_connection_get_state (stream->conn) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (stream->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_object_unref (stream->conn);
  g_ptr_array_unref (stream->frames);
  g_free (stream);
}

static gboolean
stream_has (Stream *stream,
            const gchar *needle)
{
  for (guint i = 0; i < stream->frames->len; i++)
    {
      if (strstr (g_ptr_array_index (stream->frames, i), needle) != NULL)
        return TRUE;
    }
  return FALSE;
}

static void
stream_wait_for (Stream *stream,
                 const gchar *needle)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (!stream_has (stream, needle) && g_get_monotonic_time () < deadline)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
  g_assert_true (stream_has (stream, needle));
}

/* Whether @text may carry @marker to a caller of @role in @state. */
static gboolean
may_see (HgdRole role,
         GrantState state,
         const gchar *marker)
{
  HgDomain domain = hgd_role_get_domain (role);

  if (g_str_equal (marker, M_MARK))
    return domain == HG_DOMAIN_MUNICIPAL;
  if (domain == HG_DOMAIN_PERSONAL)
    return TRUE;
  return g_str_equal (marker, P_SHARED) && role == HGD_ROLE_STAFF && state == GRANTS_PRESENT;
}

static void
assert_no_leak (const gchar *what,
                gint caller,
                GrantState state,
                const gchar *text)
{
  const gchar *const markers[] = { P_SHARED, P_PRIVATE, P_BEFORE, M_MARK };

  if (caller == 0)
    {
      for (guint i = 0; i < G_N_ELEMENTS (markers); i++)
        g_assert_null (strstr (text, markers[i]));
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (markers); i++)
    {
      if (!may_see ((HgdRole) (caller - 1), state, markers[i]) && strstr (text, markers[i]) != NULL)
        {
          g_test_message ("%s as %s carries %s: %s", what, caller_name ((guint) caller),
                          markers[i], text);
          g_assert_not_reached ();
        }
    }
}

static void
test_matrix (gconstpointer data)
{
  GrantState state = GPOINTER_TO_INT (data);
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  g_autoptr(HgdTestResponse) raised = NULL;
  g_autofree gchar *ref = NULL;
  Stream *streams[HGD_ROLE_LAST] = { NULL };
  gsize n_routes = 0;
  const HgdApiRoute *routes = hgd_api_get_routes (&n_routes);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  gboolean family_alarms = state == GRANTS_PRESENT;
  gboolean staff_saw_shared = FALSE;

  g_test_summary ("Every route x every role and anonymous, with grants absent, present, expired "
                  "or revoked: the exact status of the test's table, and no marker of the other "
                  "domain in any body or event frame; a shared device's readings reach staff "
                  "only while its grant is active");

  /* the table covers exactly the daemon's routes */
  g_assert_cmpuint (n_routes, ==, G_N_ELEMENTS (expected));
  for (gsize i = 0; i < n_routes; i++)
    {
      gboolean found = FALSE;
      for (gsize j = 0; j < G_N_ELEMENTS (expected); j++)
        found = found || (g_str_equal (routes[i].method, expected[j].method) &&
                          g_str_equal (routes[i].pattern, expected[j].pattern));
      if (!found)
        g_test_message ("route %s %s has no line in the matrix", routes[i].method,
                        routes[i].pattern);
      g_assert_true (found);
    }

  /* each domain's data, with its markers */
  plant_reading (td, HG_DOMAIN_PERSONAL, "pdev-shared", P_BEFORE);
  plant_reading (td, HG_DOMAIN_PERSONAL, "pdev-private", P_PRIVATE);
  plant_reading (td, HG_DOMAIN_MUNICIPAL, "mdev", M_MARK);
  append (td, HG_DOMAIN_MUNICIPAL, "test.note", "{\"note\":\"" M_MARK "\"}");
  append (td, HG_DOMAIN_PERSONAL, "test.note", "{\"note\":\"" P_PRIVATE "\"}");
  /* of the municipal journal only visit.ended crosses to the home, and of it only its
   * known members (GET /api/v1/visits) */
  append (td, HG_DOMAIN_MUNICIPAL, "visit.ended",
          "{\"call\":1,\"kind\":\"visit\",\"staff\":\"anna\",\"outcome\":\"missed\","
          "\"note\":\"" M_MARK "\"}");
  append (td, HG_DOMAIN_MUNICIPAL, "visit.started", "{\"staff\":\"" M_MARK "\"}");
  /* an alarm's detail is the municipality's: the limited form never shows it */
  raised = request_as (td, HGD_ROLE_STAFF, "POST", "/api/v1/alarms",
                       "{\"type\":\"assistance\",\"source\":\"" M_MARK "\"}");
  g_assert_cmpuint (raised->status, ==, SOUP_STATUS_CREATED);
  ref = g_strdup (json_object_get_string_member (raised->json, "ref"));

  if (state != GRANTS_ABSENT)
    {
      g_autofree gchar *end = NULL;
      g_autofree gchar *family = NULL;
      g_autofree gchar *readings = NULL;
      g_autofree gchar *night = NULL;
      g_autofree gchar *alarms = NULL;

      if (state == GRANTS_EXPIRED)
        {
          g_autoptr(GDateTime) soon = g_date_time_new_now_utc ();
          g_autoptr(GDateTime) later = g_date_time_add_seconds (soon, 1.2);
          g_autofree gchar *iso = g_date_time_format_iso8601 (later);
          end = g_strdup_printf (",\"end\":\"%s\"", iso);
        }
      readings = g_strdup_printf (
          "{\"kind\":\"share-readings\",\"scope\":{\"devices\":[\"pdev-shared\"]}%s}",
          end != NULL ? end : "");
      alarms = g_strdup_printf (
          "{\"kind\":\"share-alarms\",\"scope\":{\"alarm_types\":[\"assistance\"]}%s}",
          end != NULL ? end : "");
      night = g_strdup_printf (
          "{\"kind\":\"night-check\",\"scope\":{\"window\":{\"from\":\"00:00\",\"to\":\"23:59\"}}%s}",
          end != NULL ? end : "");
      family = g_strdup_printf (
          "{\"kind\":\"family-access\",\"scope\":{\"user\":\"%s\",\"actions\":[\"view\",\"act\"]}%s}",
          hgd_test_username (HGD_ROLE_FAMILY), end != NULL ? end : "");
      g_ptr_array_add (ids, make_grant (td, readings));
      g_ptr_array_add (ids, make_grant (td, alarms));
      g_ptr_array_add (ids, make_grant (td, night));
      g_ptr_array_add (ids, make_grant (td, family));
      g_assert_true (hgd_grants_night_check_allowed (
          hgd_api_get_grants (hgd_daemon_get_api (td->daemon)), g_get_real_time ()));
    }
  /* a grant shares from its start on, not what came before */
  plant_reading (td, HG_DOMAIN_PERSONAL, "pdev-shared", P_SHARED);
  if (state == GRANTS_EXPIRED)
    hg_test_run_for (1500);
  if (state == GRANTS_REVOKED)
    {
      for (guint i = 0; i < ids->len; i++)
        {
          g_autofree gchar *path = g_strconcat ("/api/v1/grants/", g_ptr_array_index (ids, i), NULL);
          g_autoptr(HgdTestResponse) revoked = request_as (td, HGD_ROLE_GUARDIAN, "DELETE", path, NULL);
          g_assert_cmpuint (revoked->status, ==, SOUP_STATUS_NO_CONTENT);
        }
    }
  g_assert_cmpint (hgd_grants_night_check_allowed (
                       hgd_api_get_grants (hgd_daemon_get_api (td->daemon)), g_get_real_time ()),
                   ==, state == GRANTS_PRESENT);

  /* the live streams, open before the live events below */
  for (guint r = 0; r < HGD_ROLE_LAST; r++)
    {
      if (r != HGD_ROLE_AUDITOR)
        streams[r] = stream_open (td, (HgdRole) r);
    }

  for (gsize j = 0; j < G_N_ELEMENTS (expected); j++)
    {
      g_autofree gchar *path = NULL;
      g_auto(GStrv) parts = g_strsplit (expected[j].path, "{ref}", -1);

      path = g_strjoinv (ref, parts);
      for (guint caller = 0; caller < N_CALLERS; caller++)
        {
          gboolean is_logout = g_str_equal (expected[j].pattern, "/api/v1/auth/logout");
          g_autofree gchar *fresh
              = caller > 0 && is_logout ? hgd_test_daemon_login (td, (HgdRole) (caller - 1)) : NULL;
          const gchar *token = fresh != NULL ? fresh
                               : caller > 0  ? hgd_test_daemon_get_token (td, (HgdRole) (caller - 1))
                                             : NULL;
          g_autoptr(HgdTestResponse) response
              = hgd_test_daemon_request (td, expected[j].method, path, token, expected[j].body);
          g_autofree gchar *text
              = response->body != NULL && g_bytes_get_size (response->body) > 0
                    ? g_strndup (g_bytes_get_data (response->body, NULL),
                                 g_bytes_get_size (response->body))
                    : g_strdup ("");
          gint status = expected[j].status[caller];

          if (status < 0)
            status = family_alarms ? -status : SOUP_STATUS_FORBIDDEN;
          g_test_message ("%s %s %s: %u (expected %d)", expected[j].method, path,
                          caller_name (caller), response->status, status);
          g_assert_cmpuint (response->status, ==, (guint) status);
          if (expected[j].status[caller] < 0 && status == SOUP_STATUS_FORBIDDEN)
            g_assert_cmpstr (hgd_test_response_error_code (response), ==, "no-grant");
          assert_no_leak (path, (gint) caller, state, text);
          if (caller == 1 + HGD_ROLE_STAFF && strstr (text, P_SHARED) != NULL)
            staff_saw_shared = TRUE;
        }
    }
  /* the grant works, not only withholds: staff saw the shared device while it held */
  g_assert_cmpint (staff_saw_shared, ==, state == GRANTS_PRESENT);

  /* live events: each domain's, in an order that lets every stream be drained */
  plant_reading (td, HG_DOMAIN_PERSONAL, "pdev-shared", P_SHARED "-live");
  plant_reading (td, HG_DOMAIN_PERSONAL, "pdev-private", P_PRIVATE "-live");
  append (td, HG_DOMAIN_PERSONAL, "test.sentinel", "{\"n\":\"sentinel-1\"}");
  stream_wait_for (streams[HGD_ROLE_RESIDENT], "sentinel-1");
  append (td, HG_DOMAIN_MUNICIPAL, "test.note", "{\"note\":\"" M_MARK "-live\"}");
  append (td, HG_DOMAIN_MUNICIPAL, "test.sentinel", "{\"n\":\"sentinel-2\"}");
  append (td, HG_DOMAIN_PERSONAL, "test.sentinel", "{\"n\":\"sentinel-3\"}");
  for (guint r = 0; r < HGD_ROLE_LAST; r++)
    {
      if (streams[r] == NULL)
        continue;
      stream_wait_for (streams[r], hgd_role_get_domain ((HgdRole) r) == HG_DOMAIN_MUNICIPAL
                                       ? "sentinel-2"
                                       : "sentinel-3");
      for (guint i = 0; i < streams[r]->frames->len; i++)
        assert_no_leak ("event frame", (gint) r + 1, state,
                        g_ptr_array_index (streams[r]->frames, i));
      /* each domain's own live events reach it */
      g_assert_true (stream_has (streams[r], hgd_role_get_domain ((HgdRole) r) == HG_DOMAIN_MUNICIPAL
                                                 ? M_MARK "-live"
                                                 : P_PRIVATE "-live"));
    }
  g_assert_cmpint (stream_has (streams[HGD_ROLE_STAFF], P_SHARED "-live"), ==,
                   state == GRANTS_PRESENT);
  for (guint r = 0; r < HGD_ROLE_LAST; r++)
    stream_free (streams[r]);
}

/* The grants API ------------------------------------------------------------------------ */

static void
test_invalid_grants_named (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  const struct
  {
    const gchar *body;
    const gchar *member; /* the message starts with it */
  } cases[] = {
    { "{\"scope\":{}}", "kind:" },
    { "{\"kind\":\"share-everything\",\"scope\":{}}", "kind:" },
    { "{\"kind\":\"share-readings\"}", "scope:" },
    { "{\"kind\":\"share-readings\",\"scope\":{\"devices\":[]}}", "scope.devices:" },
    { "{\"kind\":\"share-readings\",\"scope\":{\"devices\":[\"a\",7]}}", "scope.devices[1]:" },
    { "{\"kind\":\"share-readings\",\"scope\":{\"devices\":[\"a\",\"a\"]}}", "scope.devices[1]:" },
    { "{\"kind\":\"share-readings\",\"scope\":{\"devices\":[\"a\"],\"rooms\":[]}}", "scope.rooms:" },
    { "{\"kind\":\"share-alarms\",\"scope\":{\"devices\":[\"a\"]}}", "scope.devices:" },
    { "{\"kind\":\"share-alarms\",\"scope\":{\"alarm_types\":[\"fall\",\"gossip\"]}}",
      "scope.alarm_types[1]:" },
    { "{\"kind\":\"night-check\",\"scope\":{\"window\":{\"from\":\"22:00\"}}}", "scope.window.to:" },
    { "{\"kind\":\"night-check\",\"scope\":{\"window\":{\"from\":\"25:00\",\"to\":\"06:00\"}}}",
      "scope.window.from:" },
    { "{\"kind\":\"night-check\",\"scope\":{\"window\":{\"from\":\"22:00\",\"to\":\"06:00\"},"
      "\"max_seconds\":0}}", "scope.max_seconds:" },
    { "{\"kind\":\"night-check\",\"scope\":{\"window\":{\"from\":\"22:00\",\"to\":\"06:00\"},"
      "\"max_seconds\":601}}", "scope.max_seconds:" },
    { "{\"kind\":\"night-check\",\"scope\":{\"window\":{\"from\":\"22:00\",\"to\":\"06:00\"},"
      "\"max_seconds\":\"a minute\"}}", "scope.max_seconds:" },
    { "{\"kind\":\"family-access\",\"scope\":{\"user\":\"family\",\"actions\":[\"spy\"]}}",
      "scope.actions[0]:" },
    { "{\"kind\":\"family-access\",\"scope\":{\"user\":\"staff\",\"actions\":[\"view\"]}}",
      "scope.user:" },
    { "{\"kind\":\"share-readings\",\"scope\":{\"devices\":[\"a\"]},\"grantee\":\"user:family\"}",
      "grantee:" },
    { "{\"kind\":\"share-readings\",\"scope\":{\"devices\":[\"a\"]},\"start\":\"yesterday\"}",
      "start:" },
    { "{\"kind\":\"share-readings\",\"scope\":{\"devices\":[\"a\"]},\"end\":\"2001-01-01T00:00:00Z\"}",
      "end:" },
    { "{\"kind\":\"share-readings\",\"scope\":{\"devices\":[\"a\"]},\"for\":\"ever\"}", "for:" },
  };

  g_test_summary ("A bad grant is 400 invalid-grant, and the message names the member");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(HgdTestResponse) refused
          = request_as (td, HGD_ROLE_RESIDENT, "POST", "/api/v1/grants", cases[i].body);
      JsonObject *error = NULL;
      const gchar *message = NULL;

      g_test_message ("%s: %u", cases[i].body, refused->status);
      g_assert_cmpuint (refused->status, ==, SOUP_STATUS_BAD_REQUEST);
      g_assert_cmpstr (hgd_test_response_error_code (refused), ==, "invalid-grant");
      g_assert_true (hg_json_object_get_object (refused->json, "error", &error, NULL));
      g_assert_true (hg_json_object_get_string (error, "message", &message, NULL));
      g_test_message ("  %s", message);
      g_assert_true (g_str_has_prefix (message, cases[i].member));
    }
}

static void
test_grants_survive_restart (void)
{
  g_autofree gchar *state_dir = NULL;
  g_autofree gchar *kept = NULL;
  g_autofree gchar *revoked = NULL;
  g_autoptr(HgdTestResponse) listed = NULL;
  g_autoptr(HgdTestResponse) family_list = NULL;
  g_autoptr(HgdTestResponse) staff_list = NULL;
  g_autofree gchar *revoke_path = NULL;
  HgdTestDaemonOptions options = { 0 };
  JsonArray *grants = NULL;

  g_test_summary ("Grants are rebuilt from the personal journal at start, revoked ones stay "
                  "revoked; each grantee lists only the grants to them");
  {
    g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
    g_autoptr(HgdTestResponse) gone = NULL;
    g_autoptr(HgdTestResponse) again = NULL;

    state_dir = g_strdup (td->state_dir);
    kept = make_grant (td, "{\"kind\":\"share-readings\",\"scope\":{\"devices\":[\"d1\"]},"
                           "\"end\":\"2999-01-01T00:00:00Z\"}");
    revoked = make_grant (td, "{\"kind\":\"family-access\",\"scope\":{\"user\":\"family\","
                              "\"actions\":[\"view\"]}}");
    revoke_path = g_strconcat ("/api/v1/grants/", revoked, NULL);
    gone = request_as (td, HGD_ROLE_RESIDENT, "DELETE", revoke_path, NULL);
    g_assert_cmpuint (gone->status, ==, SOUP_STATUS_NO_CONTENT);
    again = request_as (td, HGD_ROLE_RESIDENT, "DELETE", revoke_path, NULL);
    g_assert_cmpuint (again->status, ==, SOUP_STATUS_CONFLICT);
  }
  options.state_dir = state_dir;
  {
    g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (&options);

    listed = request_as (td, HGD_ROLE_GUARDIAN, "GET", "/api/v1/grants", NULL);
    g_assert_cmpuint (listed->status, ==, SOUP_STATUS_OK);
    g_assert_true (hg_json_object_get_array (listed->json, "grants", &grants, NULL));
    g_assert_cmpuint (json_array_get_length (grants), ==, 2);
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (grants, 0), "id"),
                     ==, kept);
    g_assert_true (json_object_get_boolean_member (json_array_get_object_element (grants, 0),
                                                   "active"));
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (grants, 0),
                                                    "end"),
                     ==, "2999-01-01T00:00:00Z");
    g_assert_false (json_object_get_boolean_member (json_array_get_object_element (grants, 1),
                                                    "active"));
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (grants, 1),
                                                    "revoked_by"),
                     ==, "user:resident");

    family_list = request_as (td, HGD_ROLE_FAMILY, "GET", "/api/v1/grants", NULL);
    g_assert_true (hg_json_object_get_array (family_list->json, "grants", &grants, NULL));
    g_assert_cmpuint (json_array_get_length (grants), ==, 1);
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (grants, 0), "id"),
                     ==, revoked);
    staff_list = request_as (td, HGD_ROLE_STAFF, "GET", "/api/v1/grants", NULL);
    g_assert_true (hg_json_object_get_array (staff_list->json, "grants", &grants, NULL));
    g_assert_cmpuint (json_array_get_length (grants), ==, 1);
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (grants, 0), "id"),
                     ==, kept);
  }
}

static void
test_family_act_cancels (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  g_autoptr(HgdTestResponse) raised = request_as (td, HGD_ROLE_RESIDENT, "POST", "/api/v1/alarms",
                                                   "{\"type\":\"assistance\"}");
  g_autofree gchar *path = NULL;
  g_autofree gchar *view = NULL;
  g_autofree gchar *act = NULL;
  g_autoptr(HgdTestResponse) no_grant = NULL;
  g_autoptr(HgdTestResponse) view_only = NULL;
  g_autoptr(HgdTestResponse) cancelled = NULL;

  g_test_summary ("A family member cancels the resident's alarm only under a family-access "
                  "grant with act; view alone is 403 no-grant");
  g_assert_cmpuint (raised->status, ==, SOUP_STATUS_CREATED);
  path = g_strdup_printf ("/api/v1/alarms/%s/transitions",
                          json_object_get_string_member (raised->json, "ref"));
  no_grant = request_as (td, HGD_ROLE_FAMILY, "POST", path, "{\"state\":\"cancelled\"}");
  g_assert_cmpuint (no_grant->status, ==, SOUP_STATUS_FORBIDDEN);
  g_assert_cmpstr (hgd_test_response_error_code (no_grant), ==, "no-grant");
  view = make_grant (td, "{\"kind\":\"family-access\",\"scope\":{\"user\":\"family\","
                         "\"actions\":[\"view\"]}}");
  view_only = request_as (td, HGD_ROLE_FAMILY, "POST", path, "{\"state\":\"cancelled\"}");
  g_assert_cmpuint (view_only->status, ==, SOUP_STATUS_FORBIDDEN);
  g_assert_cmpstr (hgd_test_response_error_code (view_only), ==, "no-grant");
  act = make_grant (td, "{\"kind\":\"family-access\",\"scope\":{\"user\":\"family\","
                        "\"actions\":[\"view\",\"act\"]}}");
  cancelled = request_as (td, HGD_ROLE_FAMILY, "POST", path, "{\"state\":\"cancelled\"}");
  g_assert_cmpuint (cancelled->status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (cancelled->json, "state"), ==, "cancelled");
}

/* The municipal example plugin's heartbeats, for what it was sent */
typedef struct
{
  HgdTestDaemon *td;
  guint64 after;     /* a municipal journal seq */
  guint n_wanted;    /* heartbeats after @after */
  gint64 received;   /* out: events-received of the newest */
  gint64 wanted_received; /* -1: any */
} Heartbeats;

static gboolean
heartbeats_seen (gpointer data)
{
  Heartbeats *hb = data;
  HgdJournal *journal = hgd_daemon_get_journal (hb->td->daemon, HG_DOMAIN_MUNICIPAL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = hgd_journal_query_events (journal, hb->after, 100000, &error);
  guint n = 0;

  g_assert_no_error (error);
  for (guint i = 0; i < events->len; i++)
    {
      HgEvent *event = g_ptr_array_index (events, i);

      if (g_strcmp0 (hg_event_get_event_type (event), "sensor.heartbeat") != 0 ||
          g_strcmp0 (hg_event_get_source (event), "plugin:example") != 0)
        continue;
      n++;
      hb->received = json_object_get_int_member (hg_event_get_body (event), "events-received");
    }
  return n >= hb->n_wanted && (hb->wanted_received < 0 || hb->received == hb->wanted_received);
}

/* Returns: how many entries of the resident's access log @actor has on @object */
static guint
access_entries (HgdTestDaemon *td,
                const gchar *actor,
                const gchar *object)
{
  g_autoptr(HgdTestResponse) page = request_as (td, HGD_ROLE_RESIDENT, "GET", "/api/v1/access-log", NULL);
  JsonArray *entries;
  guint n = 0;

  g_assert_cmpuint (page->status, ==, SOUP_STATUS_OK);
  entries = json_object_get_array_member (page->json, "entries");
  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *entry = json_array_get_object_element (entries, i);

      if (g_strcmp0 (json_object_get_string_member (entry, "actor"), actor) == 0 &&
          g_strcmp0 (json_object_get_string_member (entry, "object"), object) == 0)
        {
          g_assert_cmpstr (json_object_get_string_member (entry, "action"), ==, "read.personal");
          n++;
        }
    }
  return n;
}

static gboolean
plugin_read_logged (gpointer data)
{
  return access_entries (data, "plugin:example", "sensor:pdev-shared") > 0;
}

static void
test_plugin_read_logged (void)
{
  const gchar *const overrides[] = { "plugin:example", "domain", "municipal",
                                     "plugin:example", "interval", "1", NULL };
  HgdTestDaemonOptions options = { .overrides = overrides, .example_plugin = TRUE };
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (&options);
  HgdJournal *municipal = hgd_daemon_get_journal (td->daemon, HG_DOMAIN_MUNICIPAL);
  Heartbeats hb = { td, 0, 1, 0, -1 };
  g_autofree gchar *grant = NULL;

  g_test_summary ("A municipal plugin with sensor.subscribe is sent the resident's readings "
                  "only of a device shared by a share-readings grant, and that read is in "
                  "the resident's access log (read.personal by plugin:<id>), once an hour per "
                  "device; without the grant neither the reading nor an entry");
  hg_test_wait_for (heartbeats_seen, &hb, 30);

  /* no grant: a heartbeat after two more says it got nothing, and nothing is logged */
  plant_reading (td, HG_DOMAIN_PERSONAL, "pdev-shared", "kitchen");
  hb.after = hgd_journal_get_last_seq (municipal);
  hb.n_wanted = 2;
  hg_test_wait_for (heartbeats_seen, &hb, 30);
  g_assert_cmpint (hb.received, ==, 0);
  g_assert_cmpuint (access_entries (td, "plugin:example", "sensor:pdev-shared"), ==, 0);

  /* shared: the next reading reaches it, and the read is logged for the resident */
  grant = make_grant (td, "{\"kind\":\"share-readings\",\"scope\":{\"devices\":[\"pdev-shared\"]}}");
  plant_reading (td, HG_DOMAIN_PERSONAL, "pdev-other", "hall");
  plant_reading (td, HG_DOMAIN_PERSONAL, "pdev-shared", "kitchen");
  hb.after = hgd_journal_get_last_seq (municipal);
  hb.n_wanted = 1;
  hb.wanted_received = 1;
  hg_test_wait_for (heartbeats_seen, &hb, 30);
  hg_test_wait_for (plugin_read_logged, td, 30);
  g_assert_cmpuint (access_entries (td, "plugin:example", "sensor:pdev-other"), ==, 0);

  /* another reading of the same device within the hour: sent, not logged again */
  plant_reading (td, HG_DOMAIN_PERSONAL, "pdev-shared", "kitchen");
  hb.after = hgd_journal_get_last_seq (municipal);
  hb.wanted_received = 2;
  hg_test_wait_for (heartbeats_seen, &hb, 30);
  g_assert_cmpuint (access_entries (td, "plugin:example", "sensor:pdev-shared"), ==, 1);

  /* the other domain's event fan-out is one way: staff read no log */
  {
    g_autoptr(HgdTestResponse) staff = request_as (td, HGD_ROLE_STAFF, "GET", "/api/v1/access-log", NULL);

    g_assert_cmpuint (staff->status, ==, SOUP_STATUS_FORBIDDEN);
  }
}

int
main (int argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_data_func ("/grants/matrix/absent", GINT_TO_POINTER (GRANTS_ABSENT), test_matrix);
  g_test_add_data_func ("/grants/matrix/present", GINT_TO_POINTER (GRANTS_PRESENT), test_matrix);
  g_test_add_data_func ("/grants/matrix/expired", GINT_TO_POINTER (GRANTS_EXPIRED), test_matrix);
  g_test_add_data_func ("/grants/matrix/revoked", GINT_TO_POINTER (GRANTS_REVOKED), test_matrix);
  g_test_add_func ("/grants/api/invalid-named", test_invalid_grants_named);
  g_test_add_func ("/grants/api/survive-restart", test_grants_survive_restart);
  g_test_add_func ("/grants/api/family-act-cancels", test_family_act_cancels);
  g_test_add_func ("/grants/plugins/shared-reading-logged", test_plugin_read_logged);
  return g_test_run ();
}
