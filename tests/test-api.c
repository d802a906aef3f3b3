/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the HTTP API against a real in-process hemgated over loopback: the route x role
 * table, the OpenAPI document, bad input, alarms, health, metrics, the events WebSocket
 * and TLS. Each case is its own meson test (tests/meson.build). */
#include "config.h"

#include <sqlite3.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "hgd-accounts-private.h"
#include "hgd-alarm-lifecycle.h"
#include "hgd-api-private.h"
#include "hgd-journal-private.h"
#include "hgd-test-daemon.h"
#include "hgd-tls.h"

#define ALL "resident family staff it-admin service guardian auditor"
#define HOME "resident family staff it-admin service guardian" /* all but the auditor */

/* The rules, written out independently of the route table in hgd-api.c: a route added
 * there without a line here fails /api/routes/role-table. `path` fills the pattern's
 * parameters with things that do not exist, `body` is one every handler rejects, so an
 * allowed call changes nothing. */
static const struct
{
  const gchar *method;
  const gchar *pattern;
  const gchar *path;
  const gchar *body;
  const gchar *allowed; /* "public", or the roles that may call it */
  const gchar *limited; /* the roles served the route's limited form, as x-roles writes them */
} expected_rules[] = {
  { "POST", "/api/v1/auth/login", "/api/v1/auth/login", "{}", "public", "" },
  { "POST", "/api/v1/auth/logout", "/api/v1/auth/logout", NULL, ALL, "" },
  { "GET", "/api/v1/auth/session", "/api/v1/auth/session", NULL, ALL, "" },
  { "GET", "/api/v1/auth/oidc", "/api/v1/auth/oidc", NULL, "public", "" },
  { "GET", "/api/v1/auth/oidc/login", "/api/v1/auth/oidc/login", NULL, "public", "" },
  { "GET", "/api/v1/auth/oidc/callback", "/api/v1/auth/oidc/callback", NULL, "public", "" },
  { "POST", "/api/v1/auth/oidc/backchannel-logout", "/api/v1/auth/oidc/backchannel-logout", NULL,
    "public", "" },
  { "POST", "/api/v1/auth/oidc/device", "/api/v1/auth/oidc/device", NULL, "public", "" },
  { "POST", "/api/v1/auth/oidc/device/token", "/api/v1/auth/oidc/device/token", "{}", "public",
    "" },
  { "GET", "/api/v1/health", "/api/v1/health", NULL, "public",
    "resident,family,guardian,auditor" },
  { "GET", "/api/v1/openapi.json", "/api/v1/openapi.json", NULL, "public", "" },
  { "GET", "/metrics", "/metrics", NULL, "it-admin service", "" },
  { "GET", "/api/v1/events", "/api/v1/events", NULL, HOME, "" },
  { "GET", "/api/v1/plugins", "/api/v1/plugins", NULL, "staff it-admin service", "" },
  { "POST", "/api/v1/plugins/{id}/restart", "/api/v1/plugins/no-such-plugin/restart", NULL,
    "it-admin", "" },
  { "POST", "/api/v1/plugins/{id}/disable", "/api/v1/plugins/no-such-plugin/disable", NULL,
    "it-admin", "" },
  { "POST", "/api/v1/plugins/{id}/enable", "/api/v1/plugins/no-such-plugin/enable", NULL,
    "it-admin", "" },
  { "GET", "/api/v1/users", "/api/v1/users", NULL, "resident it-admin guardian", "resident,guardian" },
  { "POST", "/api/v1/users", "/api/v1/users", "{}", "resident it-admin guardian", "resident,guardian" },
  { "POST", "/api/v1/users/{username}/password", "/api/v1/users/nobody/password", "{}",
    "resident it-admin guardian", "resident,guardian" },
  { "DELETE", "/api/v1/users/{username}/sessions", "/api/v1/users/nobody/sessions", NULL,
    "resident it-admin guardian", "resident,guardian" },
  { "POST", "/api/v1/alarms", "/api/v1/alarms", "{}", HOME, "resident,family,guardian" },
  { "GET", "/api/v1/alarms", "/api/v1/alarms", NULL, HOME, "resident,family,guardian" },
  { "GET", "/api/v1/alarms/{ref}", "/api/v1/alarms/NoSuchAlarmRef00", NULL, HOME,
    "resident,family,guardian" },
  { "POST", "/api/v1/alarms/{ref}/transitions", "/api/v1/alarms/NoSuchAlarmRef00/transitions", "{}",
    "resident family staff it-admin service guardian", "resident,family,guardian" },
  { "GET", "/api/v1/sensors", "/api/v1/sensors", NULL, HOME, "" },
  { "GET", "/api/v1/sensors/{device}/history", "/api/v1/sensors/no-such-device/history", NULL, HOME,
    "" },
  { "GET", "/api/v1/sensors/{device}/activity", "/api/v1/sensors/no-such-device/activity", NULL,
    HOME, "" },
  { "GET", "/api/v1/visits", "/api/v1/visits", NULL, "resident staff guardian", "" },
  { "GET", "/api/v1/grants", "/api/v1/grants", NULL, "resident family staff guardian",
    "family,staff" },
  { "POST", "/api/v1/grants", "/api/v1/grants", "{}", "resident guardian", "" },
  { "DELETE", "/api/v1/grants/{id}", "/api/v1/grants/no-such-grant", NULL, "resident guardian", "" },
  { "GET", "/api/v1/access-log", "/api/v1/access-log", NULL, "resident guardian auditor", "" },
  { "GET", "/api/v1/access-log/verify", "/api/v1/access-log/verify", NULL, "resident guardian auditor", "" },
  { "GET", "/api/v1/personal/export", "/api/v1/personal/export", NULL, "resident guardian", "" },
  { "POST", "/api/v1/personal/erase", "/api/v1/personal/erase", "{}", "resident guardian", "" },
  { "GET", "/api/v1/secrets", "/api/v1/secrets", NULL, "resident it-admin guardian", "" },
  { "PUT", "/api/v1/secrets/{owner}/{key}", "/api/v1/secrets/no-such-owner/key", "{}",
    "resident it-admin guardian", "" },
  { "DELETE", "/api/v1/secrets/{owner}/{key}", "/api/v1/secrets/no-such-owner/key", NULL,
    "resident it-admin guardian", "" },
  { "PUT", "/api/v1/tls/certificate", "/api/v1/tls/certificate", "{}", "it-admin", "" },
  { "GET", "/api/v1/bundles", "/api/v1/bundles", NULL, "resident it-admin guardian", "" },
  { "POST", "/api/v1/bundles", "/api/v1/bundles", "{}", "resident it-admin guardian", "" },
  { "GET", "/api/v1/bundles/jobs/{id}", "/api/v1/bundles/jobs/999999", NULL,
    "resident it-admin guardian", "" },
  { "DELETE", "/api/v1/bundles/{id}", "/api/v1/bundles/no-such-plugin", NULL,
    "resident it-admin guardian", "" },
  { "GET", "/api/v1/bundles/keys", "/api/v1/bundles/keys", NULL, "resident it-admin guardian", "" },
  { "POST", "/api/v1/bundles/keys", "/api/v1/bundles/keys", "{}", "resident it-admin guardian", "" },
  { "POST", "/api/v1/bundles/keys/{id}/revoke", "/api/v1/bundles/keys/0000000000000000/revoke", NULL,
    "resident it-admin guardian", "" },
  { "GET", "/api/v1/alarm-delivery", "/api/v1/alarm-delivery", NULL, "it-admin", "" },
  { "PUT", "/api/v1/alarm-delivery", "/api/v1/alarm-delivery", "{}", "it-admin", "" },
  { "GET", "/", "/", NULL, "public", "" },
  { "GET", "/ui/{file}", "/ui/no-such-file.js", NULL, "public", "" },
};

static gboolean
rule_allows (const gchar *allowed,
             const gchar *role)
{
  g_auto(GStrv) roles = g_strsplit (allowed, " ", -1);
  return g_strv_contains ((const gchar *const *) roles, role);
}

/* The resident lets the family user see (and with "act" cancel) the home's alarms. */
static gchar *
grant_family (HgdTestDaemon *td,
              const gchar *actions)
{
  g_autofree gchar *body = g_strdup_printf (
      "{\"kind\":\"family-access\",\"scope\":{\"user\":\"%s\",\"actions\":%s}}",
      hgd_test_username (HGD_ROLE_FAMILY), actions);
  g_autoptr(HgdTestResponse) made = hgd_test_daemon_request (
      td, "POST", "/api/v1/grants", hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT), body);

  g_assert_cmpuint (made->status, ==, SOUP_STATUS_CREATED);
  return g_strdup (json_object_get_string_member (made->json, "id"));
}

static void
assert_error (HgdTestResponse *response,
              guint status,
              const gchar *code)
{
  JsonObject *error = NULL;
  const gchar *message = NULL;

  g_assert_cmpuint (response->status, ==, status);
  g_assert_nonnull (response->json);
  g_assert_cmpuint (json_object_get_size (response->json), ==, 1);
  g_assert_true (hg_json_object_get_object (response->json, "error", &error, NULL));
  g_assert_cmpstr (hgd_test_response_error_code (response), ==, code);
  g_assert_true (hg_json_object_get_string (error, "message", &message, NULL));
  g_assert_cmpstr (message, !=, "");
}

static const gchar *
error_message (HgdTestResponse *response)
{
  JsonObject *error = NULL;
  const gchar *message = NULL;

  g_assert_true (hg_json_object_get_object (response->json, "error", &error, NULL));
  g_assert_true (hg_json_object_get_string (error, "message", &message, NULL));
  return message;
}

/* /api/routes/ ------------------------------------------------------------------------- */

static void
test_role_table (void)
{
  g_autoptr(HgdTestDaemon) td = NULL;
  gsize n_routes = 0;
  const HgdApiRoute *routes = hgd_api_get_routes (&n_routes);

  g_test_summary ("Every route x every role (and anonymous) gets the outcome the test's own table "
                  "states: 401 when anonymous on a protected route, 403 for a role not allowed, "
                  "neither for an allowed one; the daemon has exactly the routes of the table");

  /* the same set of routes on both sides */
  g_assert_cmpuint (n_routes, ==, G_N_ELEMENTS (expected_rules));
  for (gsize i = 0; i < n_routes; i++)
    {
      gboolean found = FALSE;
      for (gsize j = 0; j < G_N_ELEMENTS (expected_rules); j++)
        found = found || (g_strcmp0 (routes[i].method, expected_rules[j].method) == 0 &&
                          g_strcmp0 (routes[i].pattern, expected_rules[j].pattern) == 0);
      if (!found)
        g_test_message ("route %s %s has no rule in the test's table", routes[i].method,
                        routes[i].pattern);
      g_assert_true (found);
    }
  for (gsize j = 0; j < G_N_ELEMENTS (expected_rules); j++)
    {
      const HgdApiRoute *route
          = hgd_api_find_route (expected_rules[j].method, expected_rules[j].path, NULL, NULL);
      g_autofree gchar *limited = NULL;

      g_assert_nonnull (route);
      g_assert_cmpstr (route->pattern, ==, expected_rules[j].pattern);
      /* a route's limited form is a role rule of the table too */
      limited = hgd_api_roles_to_string (route->limited);
      g_assert_cmpstr (limited, ==, expected_rules[j].limited);
    }

  td = hgd_test_daemon_new (NULL);
  for (gsize j = 0; j < G_N_ELEMENTS (expected_rules); j++)
    {
      gboolean public = g_strcmp0 (expected_rules[j].allowed, "public") == 0;
      g_autoptr(HgdTestResponse) anon = hgd_test_daemon_request (
          td, expected_rules[j].method, expected_rules[j].path, NULL, expected_rules[j].body);

      g_test_message ("%s %s anonymous: %u", expected_rules[j].method, expected_rules[j].path,
                      anon->status);
      if (public)
        {
          g_assert_cmpuint (anon->status, !=, SOUP_STATUS_UNAUTHORIZED);
          g_assert_cmpuint (anon->status, !=, SOUP_STATUS_FORBIDDEN);
        }
      else
        {
          assert_error (anon, SOUP_STATUS_UNAUTHORIZED, "unauthenticated");
          g_assert_nonnull (soup_message_headers_get_one (anon->headers, "WWW-Authenticate"));
        }

      for (guint r = 0; r < HGD_ROLE_LAST; r++)
        {
          const gchar *role = hgd_role_to_string ((HgdRole) r);
          gboolean is_logout = g_strcmp0 (expected_rules[j].pattern, "/api/v1/auth/logout") == 0;
          g_autofree gchar *fresh = is_logout ? hgd_test_daemon_login (td, (HgdRole) r) : NULL;
          const gchar *token = fresh != NULL ? fresh : hgd_test_daemon_get_token (td, (HgdRole) r);
          g_autoptr(HgdTestResponse) response =
            hgd_test_daemon_request (td, expected_rules[j].method, expected_rules[j].path, token,
                                     expected_rules[j].body);

          g_test_message ("%s %s %s: %u", expected_rules[j].method, expected_rules[j].path, role,
                          response->status);
          if (public || rule_allows (expected_rules[j].allowed, role))
            {
              /* a consent grant is not a role rule: /api/grants/ tests those */
              g_assert_cmpuint (response->status, !=, SOUP_STATUS_UNAUTHORIZED);
              if (response->status == SOUP_STATUS_FORBIDDEN)
                g_assert_cmpstr (hgd_test_response_error_code (response), ==, "no-grant");
              g_assert_cmpuint (response->status, <, 500);
            }
          else
            {
              assert_error (response, SOUP_STATUS_FORBIDDEN, "forbidden");
            }
        }
    }
}

static void
test_unknown_route (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  g_autoptr(HgdTestResponse) missing = NULL;
  g_autoptr(HgdTestResponse) wrong_method = NULL;
  g_autoptr(HgdTestResponse) below = NULL;

  g_test_summary (
      "An unknown path is 404 not-found and a known path with another method 405 "
      "method-not-allowed with Allow, both as JSON errors and before any authentication");
  missing = hgd_test_daemon_request (td, "GET", "/api/v1/nothing-here", NULL, NULL);
  assert_error (missing, SOUP_STATUS_NOT_FOUND, "not-found");
  wrong_method = hgd_test_daemon_request (td, "DELETE", "/api/v1/alarms", NULL, NULL);
  assert_error (wrong_method, SOUP_STATUS_METHOD_NOT_ALLOWED, "method-not-allowed");
  g_assert_cmpstr (soup_message_headers_get_one (wrong_method->headers, "Allow"), ==, "POST, GET");
  below = hgd_test_daemon_request (td, "GET", "/api/v1/alarms/a/b/c",
                                   hgd_test_daemon_get_token (td, HGD_ROLE_STAFF), NULL);
  assert_error (below, SOUP_STATUS_NOT_FOUND, "not-found");
}

/* /api/openapi/ ------------------------------------------------------------------------ */

static void
test_openapi_covers_every_route (void)
{
  g_autofree gchar *path = g_test_build_filename (G_TEST_DIST, "..", "data", "openapi.json", NULL);
  g_autofree gchar *contents = NULL;
  gsize length = 0;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) doc = NULL;
  g_autoptr(GHashTable) in_doc = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  JsonObject *paths = NULL;
  const gchar *version = NULL;
  gsize n_routes = 0;
  const HgdApiRoute *routes = hgd_api_get_routes (&n_routes);
  JsonObjectIter iter;
  const gchar *path_name;
  JsonNode *path_node;

  g_test_summary ("data/openapi.json is OpenAPI 3.1 and lists exactly the daemon's routes, each "
                  "with x-roles equal to the route's rule");

  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  g_assert_no_error (error);
  doc = hg_json_parse_object (contents, (gssize) length, 0, &error);
  g_assert_no_error (error);
  g_assert_true (hg_json_object_get_string (doc, "openapi", &version, NULL));
  g_assert_true (g_str_has_prefix (version, "3.1."));
  g_assert_true (hg_json_object_get_object (doc, "paths", &paths, NULL));

  json_object_iter_init (&iter, paths);
  while (json_object_iter_next (&iter, &path_name, &path_node))
    {
      JsonObjectIter op_iter;
      const gchar *method;
      JsonNode *op_node;

      g_assert_true (JSON_NODE_HOLDS_OBJECT (path_node));
      json_object_iter_init (&op_iter, json_node_get_object (path_node));
      while (json_object_iter_next (&op_iter, &method, &op_node))
        {
          g_autofree gchar *upper = g_ascii_strup (method, -1);
          JsonArray *x_roles = NULL;
          g_autoptr(GString) roles = g_string_new (NULL);
          const HgdApiRoute *route = NULL;
          gchar *key;

          if (g_strcmp0 (method, "parameters") == 0)
            continue;
          g_assert_true (JSON_NODE_HOLDS_OBJECT (op_node));
          for (gsize i = 0; i < n_routes; i++)
            {
              if (g_strcmp0 (routes[i].method, upper) == 0
                  && g_strcmp0 (routes[i].pattern, path_name) == 0)
                route = &routes[i];
            }
          if (route == NULL)
            {
              g_test_message ("openapi.json has %s %s, the daemon does not", upper, path_name);
              g_test_fail ();
              continue;
            }
          g_assert_true (
              hg_json_object_get_array (json_node_get_object (op_node), "x-roles", &x_roles, NULL));
          for (guint k = 0; k < json_array_get_length (x_roles); k++)
            {
              if (roles->len > 0)
                g_string_append_c (roles, ',');
              g_string_append (roles, json_array_get_string_element (x_roles, k));
            }
          {
            g_autofree gchar *expected = hgd_api_roles_to_string (route->roles);
            g_assert_cmpstr (roles->str, ==, expected);
          }
          key = g_strdup_printf ("%s %s", upper, path_name);
          g_assert_true (g_hash_table_add (in_doc, key));
        }
    }
  for (gsize i = 0; i < n_routes; i++)
    {
      g_autofree gchar *key = g_strdup_printf ("%s %s", routes[i].method, routes[i].pattern);
      if (!g_hash_table_contains (in_doc, key))
        g_test_message ("route %s is missing from openapi.json", key);
      g_assert_true (g_hash_table_contains (in_doc, key));
    }
  g_assert_cmpuint (g_hash_table_size (in_doc), ==, n_routes);
}

static void
test_openapi_served (void)
{
  g_autofree gchar *path = g_test_build_filename (G_TEST_DIST, "..", "data", "openapi.json", NULL);
  g_autofree gchar *contents = NULL;
  gsize length = 0;
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  g_autoptr(HgdTestResponse) response = NULL;

  g_test_summary ("GET /api/v1/openapi.json serves data/openapi.json to anyone");
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  response = hgd_test_daemon_request (td, "GET", "/api/v1/openapi.json", NULL, NULL);
  g_assert_cmpuint (response->status, ==, SOUP_STATUS_OK);
  g_assert_cmpmem (g_bytes_get_data (response->body, NULL), g_bytes_get_size (response->body),
                   contents, length);
}

/* /api/bad-input/ ---------------------------------------------------------------------- */

static HgdTestResponse *
post_raw (HgdTestDaemon *td,
          const gchar *path,
          const gchar *token,
          const gchar *content_type,
          const gchar *body,
          gsize length)
{
  g_autofree gchar *uri = hgd_test_daemon_uri (td, path);
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", uri);
  g_autoptr(GBytes) bytes = g_bytes_new (body, length);

  if (token != NULL)
    {
      g_autofree gchar *authorization = g_strdup_printf ("Bearer %s", token);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                    authorization);
    }
  soup_message_set_request_body_from_bytes (msg, content_type, bytes);
  return hgd_test_daemon_send (td, msg);
}

static void
assert_still_answers (HgdTestDaemon *td)
{
  g_autoptr(HgdTestResponse) health
      = hgd_test_daemon_request (td, "GET", "/api/v1/health", NULL, NULL);
  g_assert_cmpuint (health->status, ==, SOUP_STATUS_OK);
}

static void
test_malformed_json (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  const gchar *token = hgd_test_daemon_get_token (td, HGD_ROLE_STAFF);
  const gchar *bodies[]
      = { "{\"type\": ", "[\"fall\"]", "not json", "{\"type\":\"fall\"}}", "\"fall\"", "" };

  g_test_summary (
      "A body that is not one JSON object is 400 invalid-json with the parser's message");
  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autoptr(HgdTestResponse) response =
        post_raw (td, "/api/v1/alarms", token, "application/json", bodies[i], strlen (bodies[i]));
      assert_error (response, SOUP_STATUS_BAD_REQUEST, "invalid-json");
      g_test_message ("%s -> %s", bodies[i], error_message (response));
    }
  {
    /* not UTF-8 */
    const gchar latin1[] = "{\"type\":\"fall\",\"location\":\"k\xf6k\"}";
    g_autoptr(HgdTestResponse) response =
      post_raw (td, "/api/v1/alarms", token, "application/json", latin1, strlen (latin1));
    assert_error (response, SOUP_STATUS_BAD_REQUEST, "invalid-json");
  }
  assert_still_answers (td);
}

static gchar *raise_alarm (HgdTestDaemon *td,
                          HgdRole role);

static const gchar *
error_field (HgdTestResponse *response)
{
  JsonObject *error = NULL;
  const gchar *field = NULL;

  g_assert_true (hg_json_object_get_object (response->json, "error", &error, NULL));
  g_assert_true (hg_json_object_get_optional_string (error, "field", &field, NULL));
  return field;
}

static void
test_strict_json (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  const gchar *staff = hgd_test_daemon_get_token (td, HGD_ROLE_STAFF);
  const gchar *admin = hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN);
  g_autofree gchar *ref = raise_alarm (td, HGD_ROLE_RESIDENT);
  g_autofree gchar *transitions = g_strdup_printf ("/api/v1/alarms/%s/transitions", ref);
  const struct
  {
    const gchar *path;
    const gchar *token;
    const gchar *body;
    gsize length; /* 0: strlen */
    const gchar *code;
    const gchar *field;
  } cases[] = {
    /* what json-glib 1.6 takes, but is not one JSON text */
    { "/api/v1/alarms", staff, "{\"type\":\"fall\"}{\"type\":\"fire\"}", 0, "invalid-json", NULL },
    { "/api/v1/alarms", staff, "{\"type\":\"fall\"} // more", 0, "invalid-json", NULL },
    { "/api/v1/alarms", staff, "var a = {\"type\":\"fall\"};", 0, "invalid-json", NULL },
    { "/api/v1/alarms", staff, "\xef\xbb\xbf{\"type\":\"fall\"}", 0, "invalid-json", NULL },
    { "/api/v1/alarms", staff, "{'type':'fall'}", 0, "invalid-json", NULL },
    { "/api/v1/alarms", staff, "{\"type\":\"fall\",\"priority\":0x5}", 0, "invalid-json", NULL },
    { "/api/v1/alarms", staff, "{\"type\":\"fall\",\"priority\":18446744073709551615}", 0,
      "invalid-json", "/priority" },
    { "/api/v1/alarms", staff, "{\"type\":\"fall\",\"location\":\"\\udc00\"}", 0,
      "invalid-json", "/location" },
    /* the same member twice: which one would count? */
    { "/api/v1/alarms", staff, "{\"type\":\"fall\",\"type\":\"fire\"}", 0, "duplicate-member",
      "/type" },
    { "/api/v1/users", admin,
      "{\"username\":\"nurse2\",\"role\":\"staff\",\"role\":\"it-admin\","
      "\"password\":\"a-long-enough-passphrase\"}", 0, "duplicate-member", "/role" },
    /* control characters, escaped or raw, in any text: they reach the UI and the ARC */
    { "/api/v1/alarms", staff, "{\"type\":\"fall\",\"location\":\"hall\\u0000way\"}", 0,
      "control-character", "/location" },
    { "/api/v1/alarms", staff, "{\"type\":\"fall\",\"location\":\"hall\\u0007\"}", 0,
      "control-character", "/location" },
    { "/api/v1/alarms", staff, "{\"type\":\"fall\",\"location\":\"hall\x07\"}", 0,
      "control-character", "/location" },
    { "/api/v1/alarms", staff, "{\"type\":\"fall\",\"location\":\"hall\\nway\"}", 0,
      "control-character", "/location" },
    { "/api/v1/alarms", staff, "{\"type\":\"fall\",\"device\":\"pendant\xc2\x85\"}", 0,
      "control-character", "/device" },
    { "/api/v1/alarms", staff, "{\"type\":\"fall\",\"location\":\"a\0b\"}", 32, "invalid-json",
      NULL },
    { transitions, staff, "{\"state\":\"acknowledged\",\"detail\":{\"note\":\"a\\u001bb\"}}", 0,
      "control-character", "/detail/note" },
    { "/api/v1/auth/login", NULL, "{\"username\":\"staff\\u0000x\",\"password\":\"x\"}", 0,
      "control-character", "/username" },
  };
  g_autoptr(HgdTestResponse) valid = NULL;
  g_autoptr(HgdTestResponse) alarms = NULL;
  JsonArray *list = NULL;

  g_test_bug ("issue 12 point 3, issue 10 point 8");
  g_test_summary ("A body with data after the object, a byte-order mark, a duplicate member or a "
                  "control character in any text is refused with 400 and a code "
                  "(invalid-json, duplicate-member, control-character) and the member's JSON "
                  "Pointer in `field`; nothing is stored; other text, any script, is kept");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gsize length = cases[i].length != 0 ? cases[i].length : strlen (cases[i].body);
      g_autoptr(HgdTestResponse) response
          = post_raw (td, cases[i].path, cases[i].token, "application/json", cases[i].body, length);

      g_test_message ("%s %s -> %u %s", cases[i].path, cases[i].body, response->status,
                      response->json != NULL ? error_message (response) : "");
      g_assert_cmpuint (response->status, ==, SOUP_STATUS_BAD_REQUEST);
      g_assert_cmpstr (hgd_test_response_error_code (response), ==, cases[i].code);
      g_assert_cmpstr (error_field (response), ==, cases[i].field);
      if (cases[i].field != NULL)
        g_assert_nonnull (strstr (error_message (response), cases[i].field));
    }

  /* nothing of it was stored: the one alarm is the resident's, still raised, and valid
   * text in any script, with a character outside the BMP, is taken unchanged */
  alarms = hgd_test_daemon_request (td, "GET", "/api/v1/alarms", staff, NULL);
  g_assert_true (hg_json_object_get_array (alarms->json, "alarms", &list, NULL));
  g_assert_cmpuint (json_array_get_length (list), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (list, 0), "state"),
                   ==, "raised");
  valid = hgd_test_daemon_request (
      td, "POST", "/api/v1/alarms", staff,
      "{\"type\":\"fall\",\"location\":\"K\u00f6k \u2013 \\u0627\\u0644 \\ud83d\\ude91\\/\"}");
  g_assert_cmpuint (valid->status, ==, SOUP_STATUS_CREATED);
  g_assert_cmpstr (json_object_get_string_member (valid->json, "location"), ==,
                   "K\u00f6k \u2013 \u0627\u0644 \U0001f691/");
  assert_still_answers (td);
}

static void
test_oversized_body (void)
{
  const gchar *const overrides[] = { "api", "max-body-bytes", "2048", NULL };
  HgdTestDaemonOptions options = { .overrides = overrides };
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (&options);
  const gchar *token = hgd_test_daemon_get_token (td, HGD_ROLE_STAFF);
  g_autoptr(GString) big = g_string_new ("{\"type\":\"fall\",\"location\":\"");
  g_autoptr(HgdTestResponse) declared = NULL;
  g_autoptr(HgdTestResponse) login = NULL;
  g_autoptr(HgdTestResponse) chunked = NULL;
  g_autoptr(HgdTestResponse) alarms = NULL;
  JsonArray *array = NULL;

  g_test_summary (
      "A body over [api] max-body-bytes is 413 payload-too-large, whether declared by "
      "Content-Length or sent chunked; login has its own smaller limit; nothing is raised "
      "and the daemon keeps answering");

  while (big->len < 1024 * 1024)
    g_string_append (big, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
  g_string_append (big, "\"}");

  declared = post_raw (td, "/api/v1/alarms", token, "application/json", big->str, big->len);
  assert_error (declared, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "payload-too-large");
  assert_still_answers (td);

  login = post_raw (td, "/api/v1/auth/login", NULL, "application/json", big->str, 5000);
  assert_error (login, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "payload-too-large");
  assert_still_answers (td);

  {
    g_autofree gchar *uri = hgd_test_daemon_uri (td, "/api/v1/alarms");
    g_autoptr(SoupMessage) msg = soup_message_new ("POST", uri);
    g_autofree gchar *authorization = g_strdup_printf ("Bearer %s", token);
    g_autoptr(GInputStream) stream
        = g_memory_input_stream_new_from_data (g_strdup (big->str), big->len, g_free);

    soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                  authorization);
    soup_message_set_request_body (msg, "application/json", stream, -1);
    g_assert_cmpint (soup_message_headers_get_encoding (soup_message_get_request_headers (msg)), ==,
                     SOUP_ENCODING_CHUNKED);
    chunked = hgd_test_daemon_send (td, msg);
    assert_error (chunked, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "payload-too-large");
  }
  assert_still_answers (td);

  alarms = hgd_test_daemon_request (td, "GET", "/api/v1/alarms", token, NULL);
  g_assert_cmpuint (alarms->status, ==, SOUP_STATUS_OK);
  g_assert_true (hg_json_object_get_array (alarms->json, "alarms", &array, NULL));
  g_assert_cmpuint (json_array_get_length (array), ==, 0);
}

static void
test_wrong_content_type (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  const gchar *token = hgd_test_daemon_get_token (td, HGD_ROLE_STAFF);
  const gchar *body = "{\"type\":\"fall\"}";
  const gchar *types[]
      = { "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
          "application/json; charset=iso-8859-1", NULL };

  g_test_summary (
      "A JSON route refuses any other Content-Type, or none, with 415 unsupported-media-type");
  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    {
      g_autoptr(HgdTestResponse) response
          = post_raw (td, "/api/v1/alarms", token, types[i], body, strlen (body));
      assert_error (response, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type");
    }
  {
    g_autoptr(HgdTestResponse) ok = post_raw (
        td, "/api/v1/alarms", token, "application/json; charset=utf-8", body, strlen (body));
    g_assert_cmpuint (ok->status, ==, SOUP_STATUS_CREATED);
  }
}

static void
test_unknown_member (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  const gchar *token = hgd_test_daemon_get_token (td, HGD_ROLE_STAFF);
  const struct
  {
    const gchar *path;
    const gchar *body;
    const gchar *named;
  } cases[] = {
    { "/api/v1/alarms", "{\"type\":\"fall\",\"colour\":\"red\"}", "'colour'" },
    { "/api/v1/alarms", "{\"type\":5}", "'type'" },
    { "/api/v1/alarms", "{\"location\":\"hall\"}", "'type'" },
    { "/api/v1/alarms", "{\"type\":\"meteor\"}", "'type'" },
    { "/api/v1/alarms", "{\"type\":\"fall\",\"priority\":12}", "'priority'" },
    { "/api/v1/alarms", "{\"type\":\"fall\",\"priority\":\"high\"}", "'priority'" },
    { "/api/v1/auth/login", "{\"username\":\"staff\",\"password\":\"x\",\"remember\":true}",
      "'remember'" },
    { "/api/v1/auth/login", "{\"username\":[],\"password\":\"x\"}", "'username'" },
    { "/api/v1/alarms/NoSuchAlarmRef00/transitions", "{\"state\":\"flying\"}", "'state'" },
    { "/api/v1/alarms/NoSuchAlarmRef00/transitions", "{\"state\":\"closed\",\"detail\":\"x\"}",
      "'detail'" },
  };

  g_test_summary ("Unknown members, missing members, wrong types and out-of-range values are 400 "
                  "invalid-request with a message naming the member");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(HgdTestResponse) response
          = hgd_test_daemon_request (td, "POST", cases[i].path, token, cases[i].body);
      assert_error (response, SOUP_STATUS_BAD_REQUEST, "invalid-request");
      g_test_message ("%s -> %s", cases[i].body, error_message (response));
      g_assert_nonnull (strstr (error_message (response), cases[i].named));
    }
  {
    g_autoptr(HgdTestResponse) query
        = hgd_test_daemon_request (td, "GET", "/api/v1/alarms?opne=true", token, NULL);
    assert_error (query, SOUP_STATUS_BAD_REQUEST, "invalid-request");
    g_assert_nonnull (strstr (error_message (query), "'opne'"));
  }
}

static void
test_expired_token (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  const gchar *token = hgd_test_daemon_get_token (td, HGD_ROLE_STAFF);
  g_autoptr(HgdTestResponse) before = NULL;
  g_autoptr(HgdTestResponse) after = NULL;
  gint64 lifetime = hgd_config_get_int (td->config, "api", "session-lifetime");

  g_test_summary (
      "A token past its lifetime is 401 unauthenticated with WWW-Authenticate invalid_token");
  before = hgd_test_daemon_request (td, "GET", "/api/v1/auth/session", token, NULL);
  g_assert_cmpuint (before->status, ==, SOUP_STATUS_OK);
  hgd_accounts_advance_clock (hgd_daemon_get_accounts (td->daemon), lifetime + 1);
  after = hgd_test_daemon_request (td, "GET", "/api/v1/alarms", token, NULL);
  assert_error (after, SOUP_STATUS_UNAUTHORIZED, "unauthenticated");
  g_assert_nonnull (
      strstr (soup_message_headers_get_one (after->headers, "WWW-Authenticate"), "invalid_token"));
}

static void
test_forged_token (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  g_autofree gchar *altered = g_strdup (hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN));
  g_autofree gchar *long_token = g_strnfill (4096, 'a');
  const gchar *forgeries[] = { altered, "", "null", "Bearer", long_token, "../../etc/passwd" };

  g_test_summary ("Made-up, altered, empty and oversized tokens are 401, by header and by cookie");
  altered[0] = altered[0] == 'A' ? 'B' : 'A';
  for (guint i = 0; i < G_N_ELEMENTS (forgeries); i++)
    {
      g_autoptr(HgdTestResponse) response
          = hgd_test_daemon_request (td, "GET", "/api/v1/users", forgeries[i], NULL);
      g_autofree gchar *uri = hgd_test_daemon_uri (td, "/api/v1/users");
      g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
      g_autofree gchar *cookie = g_strdup_printf ("hemgate_session=%s", forgeries[i]);
      g_autoptr(HgdTestResponse) by_cookie = NULL;

      assert_error (response, SOUP_STATUS_UNAUTHORIZED, "unauthenticated");
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Cookie", cookie);
      by_cookie = hgd_test_daemon_send (td, msg);
      assert_error (by_cookie, SOUP_STATUS_UNAUTHORIZED, "unauthenticated");
    }
  {
    g_autofree gchar *uri = hgd_test_daemon_uri (td, "/api/v1/users");
    g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
    g_autoptr(HgdTestResponse) basic = NULL;
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                  "Basic YWRtaW46YWRtaW4=");
    basic = hgd_test_daemon_send (td, msg);
    assert_error (basic, SOUP_STATUS_UNAUTHORIZED, "unauthenticated");
  }
}

static void
test_revoked_token (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  g_autofree gchar *token = hgd_test_daemon_login (td, HGD_ROLE_STAFF);
  g_autofree gchar *other = hgd_test_daemon_login (td, HGD_ROLE_STAFF);
  g_autoptr(HgdTestResponse) logout = NULL;
  g_autoptr(HgdTestResponse) after = NULL;
  g_autoptr(HgdTestResponse) again = NULL;
  g_autoptr(HgdTestResponse) still = NULL;

  g_test_summary ("After logout the token is 401; the same user's other sessions stay valid");
  logout = hgd_test_daemon_request (td, "POST", "/api/v1/auth/logout", token, NULL);
  g_assert_cmpuint (logout->status, ==, SOUP_STATUS_NO_CONTENT);
  after = hgd_test_daemon_request (td, "GET", "/api/v1/auth/session", token, NULL);
  assert_error (after, SOUP_STATUS_UNAUTHORIZED, "unauthenticated");
  again = hgd_test_daemon_request (td, "POST", "/api/v1/auth/logout", token, NULL);
  assert_error (again, SOUP_STATUS_UNAUTHORIZED, "unauthenticated");
  still = hgd_test_daemon_request (td, "GET", "/api/v1/auth/session", other, NULL);
  g_assert_cmpuint (still->status, ==, SOUP_STATUS_OK);
}

static void
test_personal_token_on_municipal_route (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  const struct
  {
    HgdRole role;
    const gchar *method;
    const gchar *path;
  } cases[] = {
    { HGD_ROLE_RESIDENT, "GET", "/metrics" },
    { HGD_ROLE_RESIDENT, "GET", "/api/v1/plugins" },
    { HGD_ROLE_FAMILY, "GET", "/api/v1/plugins" },
    { HGD_ROLE_RESIDENT, "POST", "/api/v1/plugins/example/restart" },
    { HGD_ROLE_FAMILY, "GET", "/api/v1/users" },
    { HGD_ROLE_STAFF, "GET", "/api/v1/users" },
    { HGD_ROLE_STAFF, "GET", "/metrics" },
  };

  g_test_summary ("A personal-domain token on a municipal route (and a role on another's) is 403 "
                  "forbidden and the answer carries nothing but the error");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(HgdTestResponse) response = hgd_test_daemon_request (
          td, cases[i].method, cases[i].path, hgd_test_daemon_get_token (td, cases[i].role), NULL);
      assert_error (response, SOUP_STATUS_FORBIDDEN, "forbidden");
    }
  {
    /* a resident managing users gets the personal domain only */
    g_autoptr(HgdTestResponse) users = hgd_test_daemon_request (
        td, "GET", "/api/v1/users", hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT), NULL);
    JsonArray *array = NULL;
    g_assert_cmpuint (users->status, ==, SOUP_STATUS_OK);
    g_assert_true (hg_json_object_get_array (users->json, "users", &array, NULL));
    for (guint i = 0; i < json_array_get_length (array); i++)
      g_assert_cmpstr (
          json_object_get_string_member (json_array_get_object_element (array, i), "domain"), ==,
          "personal");
  }
}

static void
test_login_rate_limited (void)
{
  const gchar *const overrides[] = { "api", "login-attempts", "3", NULL };
  HgdTestDaemonOptions options = { .overrides = overrides };
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (&options);
  const gchar *wrong = "{\"username\":\"staff\",\"password\":\"not-the-password\"}";
  g_autofree gchar *right = g_strdup_printf ("{\"username\":\"staff\",\"password\":\"%s\"}",
                                             hgd_test_password (HGD_ROLE_STAFF));
  g_autoptr(HgdTestResponse) limited = NULL;
  g_autoptr(HgdTestResponse) still_limited = NULL;
  const gchar *retry_after;
  guint64 seconds = 0;

  g_test_summary (
      "Wrong passwords are 401 bad-login; past [api] login-attempts the answer is 429 "
      "rate-limited with Retry-After, even for the right password; other routes still answer");
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(HgdTestResponse) response
          = hgd_test_daemon_request (td, "POST", "/api/v1/auth/login", NULL, wrong);
      assert_error (response, SOUP_STATUS_UNAUTHORIZED, "bad-login");
    }
  limited = hgd_test_daemon_request (td, "POST", "/api/v1/auth/login", NULL, wrong);
  assert_error (limited, 429, "rate-limited");
  retry_after = soup_message_headers_get_one (limited->headers, "Retry-After");
  g_assert_nonnull (retry_after);
  g_assert_true (g_ascii_string_to_unsigned (retry_after, 10, 1, 24 * 3600, &seconds, NULL));
  still_limited = hgd_test_daemon_request (td, "POST", "/api/v1/auth/login", NULL, right);
  assert_error (still_limited, 429, "rate-limited");
  assert_still_answers (td);
}

/* The events WebSocket. */
typedef struct
{
  SoupWebsocketConnection *conn; /* (owned) */
  GArray *seqs;                  /* guint64 of each frame */
  GPtrArray *domains;            /* (element-type utf8) */
  GPtrArray *events;             /* (element-type JsonObject) each frame */
  gboolean closed;
} WsClient;

static void
ws_message_cb (SoupWebsocketConnection *conn,
               gint type,
               GBytes *message,
               gpointer user_data)
{
  WsClient *client = user_data;
  g_autoptr(JsonObject) event = NULL;
  g_autoptr(GError) error = NULL;
  gint64 seq = 0;
  const gchar *domain = NULL;

  g_assert_cmpint (type, ==, SOUP_WEBSOCKET_DATA_TEXT);
  event = hg_json_parse_object (g_bytes_get_data (message, NULL), g_bytes_get_size (message), 0,
                                &error);
  g_assert_no_error (error);
  g_assert_true (hg_json_object_get_int (event, "seq", 1, G_MAXINT64, &seq, NULL));
  g_assert_true (hg_json_object_get_string (event, "domain", &domain, NULL));
  g_array_append_val (client->seqs, seq);
  g_ptr_array_add (client->domains, g_strdup (domain));
  g_ptr_array_add (client->events, json_object_ref (event));
}

static void
ws_closed_cb (SoupWebsocketConnection *conn,
              gpointer user_data)
{
  WsClient *client = user_data;
  client->closed = TRUE;
}

typedef struct
{
  gboolean done;
  SoupWebsocketConnection *conn;
  GError *error;
} ConnectData;

static void
ws_connected_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  ConnectData *data = user_data;
  data->conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &data->error);
  data->done = TRUE;
}

static WsClient *
ws_connect (HgdTestDaemon *td,
            const gchar *token,
            const gchar *query)
{
  g_autofree gchar *path = g_strconcat ("/api/v1/events", query, NULL);
  g_autofree gchar *uri = hgd_test_daemon_uri (td, path);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
  g_autofree gchar *authorization = g_strdup_printf ("Bearer %s", token);
  ConnectData data = { FALSE, NULL, NULL };
  WsClient *client = g_new0 (WsClient, 1);

  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                authorization);
  soup_session_websocket_connect_async (td->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        ws_connected_cb, &data);
  hg_test_wait_until (&data.done, 30);
  g_assert_no_error (data.error);
  client->conn = data.conn;
  client->seqs = g_array_new (FALSE, FALSE, sizeof (guint64));
  client->domains = g_ptr_array_new_with_free_func (g_free);
  client->events = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_signal_connect (client->conn, "message", G_CALLBACK (ws_message_cb), client);
  g_signal_connect (client->conn, "closed", G_CALLBACK (ws_closed_cb), client);
  return client;
}

static void
ws_close (WsClient *client)
{
  if (soup_websocket_connection_get_state (client->conn) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (client->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  hg_test_wait_until (&client->closed, 30);
}

static void
ws_client_free (WsClient *client)
{
  g_signal_handlers_disconnect_by_data (client->conn, client);
  g_object_unref (client->conn);
  g_array_unref (client->seqs);
  g_ptr_array_unref (client->domains);
  g_ptr_array_unref (client->events);
  g_free (client);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsClient, ws_client_free)

static void
ws_wait_for (WsClient *client,
             guint n_frames)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (client->seqs->len < n_frames && g_get_monotonic_time () < deadline)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
  g_assert_cmpuint (client->seqs->len, >=, n_frames);
}

static void
test_websocket_reconnect (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  const gchar *token = hgd_test_daemon_get_token (td, HGD_ROLE_STAFF);
  HgdJournal *journal = hgd_daemon_get_journal (td->daemon, HG_DOMAIN_MUNICIPAL);
  g_autoptr(WsClient) first = NULL;
  g_autoptr(WsClient) second = NULL;
  g_autoptr(GPtrArray) missed = NULL;
  g_autofree gchar *query = NULL;
  guint64 before = hgd_journal_get_last_seq (journal);
  guint64 last_seen;
  guint64 live;

  g_test_summary (
      "A client that reconnects with ?after=<last seq> gets exactly the events it missed, "
      "in order, then live ones without duplicates; other domains' events never arrive");

  query = g_strdup_printf ("?after=%" G_GUINT64_FORMAT, before);
  first = ws_connect (td, token, query);
  for (guint i = 0; i < 3; i++)
    hgd_test_daemon_append_event (td, HG_DOMAIN_MUNICIPAL, "test.before");
  hgd_test_daemon_append_event (td, HG_DOMAIN_PERSONAL, "test.personal");
  ws_wait_for (first, 3);
  hg_test_run_for (100);
  g_assert_cmpuint (first->seqs->len, ==, 3);
  for (guint i = 0; i < first->seqs->len; i++)
    {
      g_assert_cmpuint (g_array_index (first->seqs, guint64, i), ==, before + 1 + i);
      g_assert_cmpstr (g_ptr_array_index (first->domains, i), ==, "municipal");
    }
  last_seen = g_array_index (first->seqs, guint64, first->seqs->len - 1);
  ws_close (first);

  /* away: a tunnel */
  for (guint i = 0; i < 4; i++)
    hgd_test_daemon_append_event (td, HG_DOMAIN_MUNICIPAL, "test.while-away");
  {
    /* and an alarm raised over the API meanwhile */
    g_autoptr(HgdTestResponse) raised = hgd_test_daemon_request (
        td, "POST", "/api/v1/alarms", hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT),
        "{\"type\":\"assistance\"}");
    g_assert_cmpuint (raised->status, ==, SOUP_STATUS_CREATED);
  }
  hgd_test_daemon_append_event (td, HG_DOMAIN_PERSONAL, "test.personal");
  missed = hgd_journal_query_events (journal, last_seen, 0, NULL);
  g_assert_cmpuint (missed->len, ==, 5);

  g_clear_pointer (&query, g_free);
  query = g_strdup_printf ("?after=%" G_GUINT64_FORMAT, last_seen);
  second = ws_connect (td, token, query);
  ws_wait_for (second, missed->len);
  live = hgd_test_daemon_append_event (td, HG_DOMAIN_MUNICIPAL, "test.live");
  ws_wait_for (second, missed->len + 1);
  hg_test_run_for (100);
  g_assert_cmpuint (second->seqs->len, ==, missed->len + 1);
  for (guint i = 0; i < missed->len; i++)
    g_assert_cmpuint (g_array_index (second->seqs, guint64, i), ==,
                      hg_event_get_seq (g_ptr_array_index (missed, i)));
  g_assert_cmpuint (g_array_index (second->seqs, guint64, missed->len), ==, live);
  ws_close (second);
}

static void
test_websocket_refused (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  const gchar *queries[] = { "", "?after=abc" };
  const gchar *tokens[] = { NULL, "forged" };

  g_test_summary ("The events WebSocket is authenticated and validated before the upgrade: "
                  "no token is 401, a bad ?after= is 400, and no socket is opened");
  for (guint i = 0; i < G_N_ELEMENTS (queries); i++)
    {
      g_autofree gchar *path = g_strconcat ("/api/v1/events", queries[i], NULL);
      g_autofree gchar *uri = hgd_test_daemon_uri (td, path);
      g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
      ConnectData data = { FALSE, NULL, NULL };
      const gchar *token
          = tokens[i] != NULL ? hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT) : NULL;

      if (token != NULL)
        {
          g_autofree gchar *authorization = g_strdup_printf ("Bearer %s", token);
          soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                        authorization);
        }
      soup_session_websocket_connect_async (td->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                            ws_connected_cb, &data);
      hg_test_wait_until (&data.done, 30);
      g_assert_null (data.conn);
      g_assert_nonnull (data.error);
      g_assert_cmpuint (soup_message_get_status (msg), ==, token == NULL ? 401 : 400);
      g_clear_error (&data.error);
    }
}

static void
test_revoked_token_closes_stream (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  g_autofree gchar *token = hgd_test_daemon_login (td, HGD_ROLE_FAMILY);
  g_autoptr(WsClient) client = ws_connect (td, token, "");
  g_autoptr(HgdTestResponse) logout = NULL;

  g_test_summary ("Logging out closes the session's open events WebSocket at once");
  hgd_test_daemon_append_event (td, HG_DOMAIN_PERSONAL, "test.before-logout");
  ws_wait_for (client, 1);
  logout = hgd_test_daemon_request (td, "POST", "/api/v1/auth/logout", token, NULL);
  g_assert_cmpuint (logout->status, ==, SOUP_STATUS_NO_CONTENT);
  hg_test_wait_until (&client->closed, 5);
  g_assert_cmpint (soup_websocket_connection_get_close_code (client->conn), ==,
                   SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
}

/* /api/events/ ---------------------------------------------------------------------------- */

static void
assert_events_domain (HgdTestDaemon *td,
                      HgdRole role,
                      const gchar *domain,
                      const gchar *type)
{
  g_autoptr(HgdTestResponse) response = hgd_test_daemon_request (
      td, "GET", "/api/v1/events?after=0&limit=1000", hgd_test_daemon_get_token (td, role), NULL);
  JsonArray *events = NULL;
  gboolean found = FALSE;

  g_assert_cmpuint (response->status, ==, SOUP_STATUS_OK);
  g_assert_true (hg_json_object_get_array (response->json, "events", &events, NULL));
  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *event = json_array_get_object_element (events, i);
      g_assert_cmpstr (json_object_get_string_member (event, "domain"), ==, domain);
      found = found || g_strcmp0 (json_object_get_string_member (event, "type"), type) == 0;
    }
  g_assert_true (found);
}

static void
test_events_domains (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  const gchar *bad[]
      = { "?after=-1", "?after=abc", "?limit=0", "?limit=1001", "?limit=", "?since=3" };
  g_autoptr(HgdTestResponse) paged = NULL;
  JsonArray *events = NULL;

  g_test_summary (
      "GET /api/v1/events returns only the caller's domain (resident, family: personal; "
      "staff, it-admin, service: municipal), honours after and limit, and refuses bad queries");
  hgd_test_daemon_append_event (td, HG_DOMAIN_PERSONAL, "test.personal");
  hgd_test_daemon_append_event (td, HG_DOMAIN_MUNICIPAL, "test.municipal");
  hgd_test_daemon_append_event (td, HG_DOMAIN_MUNICIPAL, "test.municipal");
  assert_events_domain (td, HGD_ROLE_RESIDENT, "personal", "test.personal");
  assert_events_domain (td, HGD_ROLE_FAMILY, "personal", "test.personal");
  assert_events_domain (td, HGD_ROLE_STAFF, "municipal", "test.municipal");
  assert_events_domain (td, HGD_ROLE_IT_ADMIN, "municipal", "test.municipal");
  assert_events_domain (td, HGD_ROLE_SERVICE, "municipal", "test.municipal");

  paged = hgd_test_daemon_request (td, "GET", "/api/v1/events?after=0&limit=1",
                                   hgd_test_daemon_get_token (td, HGD_ROLE_STAFF), NULL);
  g_assert_true (hg_json_object_get_array (paged->json, "events", &events, NULL));
  g_assert_cmpuint (json_array_get_length (events), ==, 1);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree gchar *path = g_strconcat ("/api/v1/events", bad[i], NULL);
      g_autoptr(HgdTestResponse) response = hgd_test_daemon_request (
          td, "GET", path, hgd_test_daemon_get_token (td, HGD_ROLE_STAFF), NULL);
      assert_error (response, SOUP_STATUS_BAD_REQUEST, "invalid-request");
    }
}

/* /api/sensors ---------------------------------------------------------------------------- */

/* Writes a reading into @domain's journal file as the plugin would, journaled @age ago. */
static void
insert_reading (HgdTestDaemon *td,
                const gchar *domain,
                const gchar *body,
                gint64 age)
{
  g_autofree gchar *db_path = g_build_filename (td->state_dir, domain, "journal.db", NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 10000);
  g_assert_cmpint (sqlite3_prepare_v2 (db,
                                       "INSERT INTO events (type, ts, source, body) VALUES "
                                       "('sensor.reading', ?1, 'plugin:test', ?2)",
                                       -1, &stmt, NULL),
                   ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, g_get_real_time () - age);
  sqlite3_bind_text (stmt, 2, body, -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

static JsonArray *
sensors_of (HgdTestDaemon *td,
            HgdRole role,
            HgdTestResponse **response)
{
  JsonArray *devices = NULL;

  *response = hgd_test_daemon_request (td, "GET", "/api/v1/sensors",
                                       hgd_test_daemon_get_token (td, role), NULL);
  g_assert_cmpuint ((*response)->status, ==, SOUP_STATUS_OK);
  g_assert_true (hg_json_object_get_array ((*response)->json, "devices", &devices, NULL));
  return devices;
}

static void
test_sensors_list (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  gint64 second = G_USEC_PER_SEC;
  gint64 day = 86400 * second;
  const HgdRole municipal[] = { HGD_ROLE_STAFF, HGD_ROLE_IT_ADMIN, HGD_ROLE_SERVICE };
  const HgdRole personal[] = { HGD_ROLE_RESIDENT, HGD_ROLE_FAMILY };
  g_autoptr(HgdTestResponse) bad = NULL;

  g_test_summary ("GET /api/v1/sensors lists the devices of the caller's domain only, each with "
                  "its newest reading of every kind, and still lists one that reported once "
                  "long ago");
  insert_reading (td, "municipal",
                  "{\"device\":\"hall-door\",\"domain\":\"municipal\",\"kind\":\"contact\","
                  "\"value\":true,\"battery\":80,\"link_quality\":40}",
                  2 * 3600 * second);
  insert_reading (td, "municipal",
                  "{\"device\":\"hall-door\",\"domain\":\"municipal\",\"kind\":\"contact\","
                  "\"value\":false,\"battery\":79,\"link_quality\":120}",
                  60 * second);
  insert_reading (td, "municipal",
                  "{\"device\":\"hall-door\",\"domain\":\"municipal\",\"kind\":\"battery\","
                  "\"value\":79,\"unit\":\"%\"}",
                  3600 * second);
  /* reported once, 20 days ago: far outside any recent-events window */
  insert_reading (td, "municipal",
                  "{\"device\":\"attic-smoke\",\"domain\":\"municipal\",\"kind\":\"smoke\","
                  "\"value\":false}",
                  20 * day);
  insert_reading (td, "personal",
                  "{\"device\":\"living-temp\",\"domain\":\"personal\",\"kind\":\"temperature\","
                  "\"value\":21.5,\"unit\":\"°C\"}",
                  5 * second);
  /* not a reading: no device */
  hgd_test_daemon_append_event (td, HG_DOMAIN_MUNICIPAL, "test.municipal");

  for (guint i = 0; i < G_N_ELEMENTS (municipal); i++)
    {
      g_autoptr(HgdTestResponse) response = NULL;
      JsonArray *devices = sensors_of (td, municipal[i], &response);
      JsonObject *smoke;
      JsonObject *door;
      JsonArray *readings;
      JsonObject *contact;

      g_assert_cmpuint (json_array_get_length (devices), ==, 2);
      smoke = json_array_get_object_element (devices, 0);
      door = json_array_get_object_element (devices, 1);
      g_assert_cmpstr (json_object_get_string_member (smoke, "device"), ==, "attic-smoke");
      g_assert_cmpstr (json_object_get_string_member (smoke, "domain"), ==, "municipal");
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (smoke, "readings")), ==, 1);
      g_assert_cmpstr (json_object_get_string_member (door, "device"), ==, "hall-door");
      g_assert_cmpint (json_object_get_int_member (door, "battery"), ==, 79);
      g_assert_cmpint (json_object_get_int_member (door, "link_quality"), ==, 120);
      g_assert_true (json_object_has_member (door, "last_seen"));
      readings = json_object_get_array_member (door, "readings");
      g_assert_cmpuint (json_array_get_length (readings), ==, 2);
      g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (readings, 0), "kind"),
                       ==, "battery");
      g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (readings, 0), "unit"),
                       ==, "%");
      contact = json_array_get_object_element (readings, 1);
      g_assert_cmpstr (json_object_get_string_member (contact, "kind"), ==, "contact");
      g_assert_false (json_object_get_boolean_member (contact, "value"));
    }
  for (guint i = 0; i < G_N_ELEMENTS (personal); i++)
    {
      g_autoptr(HgdTestResponse) response = NULL;
      JsonArray *devices = sensors_of (td, personal[i], &response);
      JsonObject *temp;
      JsonObject *reading;

      g_assert_cmpuint (json_array_get_length (devices), ==, 1);
      temp = json_array_get_object_element (devices, 0);
      g_assert_cmpstr (json_object_get_string_member (temp, "device"), ==, "living-temp");
      g_assert_cmpstr (json_object_get_string_member (temp, "domain"), ==, "personal");
      reading = json_array_get_object_element (json_object_get_array_member (temp, "readings"), 0);
      g_assert_cmpfloat (json_object_get_double_member (reading, "value"), ==, 21.5);
      g_assert_cmpstr (json_object_get_string_member (reading, "unit"), ==, "°C");
    }
  bad = hgd_test_daemon_request (td, "GET", "/api/v1/sensors?limit=3",
                                 hgd_test_daemon_get_token (td, HGD_ROLE_STAFF), NULL);
  assert_error (bad, SOUP_STATUS_BAD_REQUEST, "invalid-request");
}

/* /api/alarms/ ---------------------------------------------------------------------------- */

static void
test_raise_is_durable_before_201 (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  g_autoptr(HgdTestResponse) raised = NULL;
  g_autoptr(HgdTestResponse) as_staff = NULL;
  g_autoptr(HgdTestResponse) as_family = NULL;
  g_autofree gchar *db_path = g_build_filename (td->state_dir, "municipal", "journal.db", NULL);
  g_autofree gchar *location = NULL;
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  const gchar *ref = NULL;
  const gchar *source = NULL;
  JsonObject *detail = NULL;

  g_test_summary (
      "POST /api/v1/alarms answers 201 only once the alarm and its alarm.raised event "
      "are on disk: a separate read-only SQLite connection finds them right after the answer; "
      "the source is the caller, never what the body claims");
  raised = hgd_test_daemon_request (
      td, "POST", "/api/v1/alarms", hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT),
      "{\"type\":\"assistance\",\"source\":\"ui\",\"location\":\"bedroom\","
      "\"device\":\"pendant-1\",\"priority\":7}");
  g_assert_cmpuint (raised->status, ==, SOUP_STATUS_CREATED);
  g_assert_true (hg_json_object_get_string (raised->json, "ref", &ref, NULL));
  g_assert_true (hg_json_object_get_string (raised->json, "source", &source, NULL));
  g_assert_cmpstr (source, ==, "user:resident");
  g_assert_cmpstr (json_object_get_string_member (raised->json, "state"), ==, "raised");
  location = g_strdup_printf ("/api/v1/alarms/%s", ref);
  g_assert_cmpstr (soup_message_headers_get_one (raised->headers, "Location"), ==, location);

  /* no main-loop iteration between the answer and this read */
  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (
      sqlite3_prepare_v2 (db, "SELECT state, source, location, priority FROM alarms WHERE ref = ?1",
                          -1, &stmt, NULL),
      ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, ref, -1, SQLITE_TRANSIENT);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const gchar *) sqlite3_column_text (stmt, 0), ==, "raised");
  g_assert_cmpstr ((const gchar *) sqlite3_column_text (stmt, 1), ==, "user:resident");
  g_assert_cmpstr ((const gchar *) sqlite3_column_text (stmt, 2), ==, "bedroom");
  g_assert_cmpint (sqlite3_column_int (stmt, 3), ==, 7);
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_prepare_v2 (
                       db,
                       "SELECT count(*) FROM events WHERE alarm_ref = ?1 AND type = 'alarm.raised'",
                       -1, &stmt, NULL),
                   ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, ref, -1, SQLITE_TRANSIENT);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, 1);
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  /* staff see the municipal detail; family see where it stands, without it */
  as_staff = hgd_test_daemon_request (td, "GET", location,
                                      hgd_test_daemon_get_token (td, HGD_ROLE_STAFF), NULL);
  g_assert_cmpuint (as_staff->status, ==, SOUP_STATUS_OK);
  g_assert_true (hg_json_object_get_object (as_staff->json, "detail", &detail, NULL));
  g_assert_cmpstr (json_object_get_string_member (detail, "origin"), ==, "ui");
  g_free (grant_family (td, "[\"view\"]"));
  as_family = hgd_test_daemon_request (td, "GET", location,
                                       hgd_test_daemon_get_token (td, HGD_ROLE_FAMILY), NULL);
  g_assert_cmpuint (as_family->status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (as_family->json, "state"), ==, "raised");
  g_assert_false (json_object_has_member (as_family->json, "detail"));
  g_assert_false (json_object_has_member (as_family->json, "source"));
}

static gchar *
raise_alarm (HgdTestDaemon *td,
             HgdRole role)
{
  g_autoptr(HgdTestResponse) raised = hgd_test_daemon_request (
      td, "POST", "/api/v1/alarms", hgd_test_daemon_get_token (td, role), "{\"type\":\"fall\"}");
  g_assert_cmpuint (raised->status, ==, SOUP_STATUS_CREATED);
  return g_strdup (json_object_get_string_member (raised->json, "ref"));
}

static HgdTestResponse *
transition (HgdTestDaemon *td,
            HgdRole role,
            const gchar *ref,
            const gchar *state)
{
  g_autofree gchar *path = g_strdup_printf ("/api/v1/alarms/%s/transitions", ref);
  g_autofree gchar *body
      = g_strdup_printf ("{\"state\":\"%s\",\"detail\":{\"note\":\"test\"}}", state);
  return hgd_test_daemon_request (td, "POST", path, hgd_test_daemon_get_token (td, role), body);
}

static void
test_alarm_transitions (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  g_autofree gchar *first = raise_alarm (td, HGD_ROLE_RESIDENT);
  g_autofree gchar *second = raise_alarm (td, HGD_ROLE_STAFF);
  g_autoptr(HgdTestResponse) resident_ack
      = transition (td, HGD_ROLE_RESIDENT, first, "acknowledged");
  g_autoptr(HgdTestResponse) family_cancel = transition (td, HGD_ROLE_FAMILY, first, "cancelled");
  g_autoptr(HgdTestResponse) resident_cancel
      = transition (td, HGD_ROLE_RESIDENT, first, "cancelled");
  g_autoptr(HgdTestResponse) staff_ack = transition (td, HGD_ROLE_STAFF, second, "acknowledged");
  g_autoptr(HgdTestResponse) backwards = transition (td, HGD_ROLE_STAFF, second, "delivered");
  g_autoptr(HgdTestResponse) missing
      = transition (td, HGD_ROLE_STAFF, "NoSuchAlarmRef00", "closed");
  g_autoptr(HgdTestResponse) open = NULL;
  JsonArray *alarms = NULL;

  g_test_summary (
      "A resident may only cancel, family without a grant may not transition, staff move alarms forward; "
      "backwards is 409 invalid-transition, an unknown ref 404; ?open=true hides final alarms");
  assert_error (resident_ack, SOUP_STATUS_FORBIDDEN, "forbidden");
  assert_error (family_cancel, SOUP_STATUS_FORBIDDEN, "no-grant");
  g_assert_cmpuint (resident_cancel->status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (resident_cancel->json, "state"), ==, "cancelled");
  g_assert_cmpuint (staff_ack->status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (staff_ack->json, "state"), ==, "acknowledged");
  assert_error (backwards, SOUP_STATUS_CONFLICT, "invalid-transition");
  assert_error (missing, SOUP_STATUS_NOT_FOUND, "not-found");

  g_free (grant_family (td, "[\"view\"]"));
  open = hgd_test_daemon_request (td, "GET", "/api/v1/alarms?open=true",
                                  hgd_test_daemon_get_token (td, HGD_ROLE_FAMILY), NULL);
  g_assert_cmpuint (open->status, ==, SOUP_STATUS_OK);
  g_assert_true (hg_json_object_get_array (open->json, "alarms", &alarms, NULL));
  g_assert_cmpuint (json_array_get_length (alarms), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (alarms, 0), "ref"),
                   ==, second);
}

/* The caller kind the route table gives @role on the transitions route: see (e) there. */
static HgdAlarmCaller
transition_caller (HgdRole role)
{
  const HgdApiRoute *route
      = hgd_api_find_route ("POST", "/api/v1/alarms/NoSuchAlarmRef00/transitions", NULL, NULL);

  g_assert_nonnull (route);
  return (route->limited & HGD_ROLE_BIT (role)) != 0 ? HGD_ALARM_CALLER_RESIDENT
                                                     : HGD_ALARM_CALLER_STAFF;
}

/* The answer the route gives @role asking for @to on an alarm in @from, by the life
 * cycle's table for the caller kind the route table gives @role: 403 for a state that
 * caller can never set, else 200 or 409. */
static void
assert_transition_by_table (HgdTestDaemon *td,
                            HgdRole role,
                            const gchar *ref,
                            HgAlarmState from,
                            HgAlarmState to)
{
  g_autoptr(HgdTestResponse) answer
      = transition (td, role, ref, hg_alarm_state_to_string (to));
  HgdAlarmCaller caller = transition_caller (role);
  HgdAlarmStep step = hgd_alarm_lifecycle_get_step (from, to, caller);

  g_test_message ("%s: %s -> %s: %u", hgd_role_to_string (role), hg_alarm_state_to_string (from),
                  hg_alarm_state_to_string (to), answer->status);
  if (!hgd_alarm_lifecycle_may_reach (to, caller))
    {
      assert_error (answer, SOUP_STATUS_FORBIDDEN, "forbidden");
    }
  else if (step == HGD_ALARM_STEP_MOVE || step == HGD_ALARM_STEP_REPEAT)
    {
      g_assert_cmpuint (answer->status, ==, SOUP_STATUS_OK);
      g_assert_cmpstr (json_object_get_string_member (answer->json, "state"), ==,
                       hg_alarm_state_to_string (step == HGD_ALARM_STEP_MOVE ? to : from));
    }
  else
    {
      assert_error (answer, SOUP_STATUS_CONFLICT, "invalid-transition");
    }
}

static void
test_alarm_transition_table (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  g_autofree gchar *closed = raise_alarm (td, HGD_ROLE_RESIDENT);
  g_autoptr(HgdTestResponse) close = transition (td, HGD_ROLE_STAFF, closed, "closed");

  g_test_bug ("14");
  g_test_summary ("POST /api/v1/alarms/{ref}/transitions answers as the life cycle's table says "
                  "for the caller kind the route gives the role (resident, or staff for the "
                  "municipal roles): 200 for a move or a repeat, 409 invalid-transition for an "
                  "illegal move, 403 for a state the caller can never set; from raised and "
                  "from closed, every state");
  g_assert_cmpuint (close->status, ==, SOUP_STATUS_OK);
  for (guint to = 0; to < HG_ALARM_STATE_LAST; to++)
    {
      g_autofree gchar *own = raise_alarm (td, HGD_ROLE_RESIDENT);
      g_autofree gchar *other = raise_alarm (td, HGD_ROLE_RESIDENT);

      assert_transition_by_table (td, HGD_ROLE_RESIDENT, own, HG_ALARM_STATE_RAISED, to);
      assert_transition_by_table (td, HGD_ROLE_STAFF, other, HG_ALARM_STATE_RAISED, to);
      assert_transition_by_table (td, HGD_ROLE_RESIDENT, closed, HG_ALARM_STATE_CLOSED, to);
      assert_transition_by_table (td, HGD_ROLE_SERVICE, closed, HG_ALARM_STATE_CLOSED, to);
    }
}

static void
plugin_raised_cb (GObject *source,
                  GAsyncResult *result,
                  gpointer user_data)
{
  gchar **ref = user_data;
  g_autoptr(GError) error = NULL;

  *ref = hgd_alarms_raise_finish (HGD_ALARMS (source), result, &error);
  g_assert_no_error (error);
}

/* Raises an alarm as plugin instance @plugin does, through the core's one way in. */
static gchar *
raise_alarm_as_plugin (HgdTestDaemon *td,
                       const gchar *type,
                       const gchar *plugin)
{
  g_autoptr(HgAlarm) alarm = hg_alarm_new (type);
  g_autofree gchar *source = g_strconcat ("plugin:", plugin, NULL);
  gchar *ref = NULL;

  hgd_alarms_raise_async (hgd_daemon_get_alarms (td->daemon), alarm, source, NULL,
                          plugin_raised_cb, &ref);
  while (ref == NULL)
    g_main_context_iteration (NULL, TRUE);
  return ref;
}

static const gchar *
alarm_state (HgdTestDaemon *td,
             const gchar *ref)
{
  g_autofree gchar *path = g_strdup_printf ("/api/v1/alarms/%s", ref);
  g_autoptr(HgdTestResponse) response
      = hgd_test_daemon_request (td, "GET", path, hgd_test_daemon_get_token (td, HGD_ROLE_STAFF), NULL);
  const gchar *state = NULL;

  g_assert_true (hg_json_object_get_string (response->json, "state", &state, NULL));
  return g_intern_string (state);
}

static void
test_resident_cancels_own (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  g_autofree gchar *own = raise_alarm (td, HGD_ROLE_RESIDENT);
  g_autofree gchar *by_staff = raise_alarm (td, HGD_ROLE_STAFF);
  g_autofree gchar *by_family = raise_alarm (td, HGD_ROLE_FAMILY);
  g_autofree gchar *technical = raise_alarm_as_plugin (td, "technical", "scaip-alarm");
  g_autofree gchar *by_device = raise_alarm_as_plugin (td, "fall", "sensors-personal");
  g_autoptr(HgdTestResponse) cancel_staff = NULL;
  g_autoptr(HgdTestResponse) cancel_family = NULL;
  g_autoptr(HgdTestResponse) cancel_technical = NULL;
  g_autoptr(HgdTestResponse) cancel_device = NULL;
  g_autoptr(HgdTestResponse) cancel_own = NULL;
  g_autoptr(HgdTestResponse) staff_cancels = NULL;

  g_test_bug ("issue 12 point 5");
  g_test_summary ("A resident cancels only an alarm they raised or one the home's devices "
                  "raised; one raised by staff or family is 403 not-own-alarm, the alarm "
                  "plugin's technical alarm 403 technical-alarm, and those stay open");
  cancel_staff = transition (td, HGD_ROLE_RESIDENT, by_staff, "cancelled");
  assert_error (cancel_staff, SOUP_STATUS_FORBIDDEN, "not-own-alarm");
  cancel_family = transition (td, HGD_ROLE_RESIDENT, by_family, "cancelled");
  assert_error (cancel_family, SOUP_STATUS_FORBIDDEN, "not-own-alarm");
  cancel_technical = transition (td, HGD_ROLE_RESIDENT, technical, "cancelled");
  assert_error (cancel_technical, SOUP_STATUS_FORBIDDEN, "technical-alarm");
  g_assert_cmpstr (alarm_state (td, by_staff), ==, "raised");
  g_assert_cmpstr (alarm_state (td, by_family), ==, "raised");
  g_assert_cmpstr (alarm_state (td, technical), ==, "raised");

  cancel_device = transition (td, HGD_ROLE_RESIDENT, by_device, "cancelled");
  g_assert_cmpuint (cancel_device->status, ==, SOUP_STATUS_OK);
  cancel_own = transition (td, HGD_ROLE_RESIDENT, own, "cancelled");
  g_assert_cmpuint (cancel_own->status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (alarm_state (td, own), ==, "cancelled");
  /* staff still may */
  staff_cancels = transition (td, HGD_ROLE_STAFF, technical, "cancelled");
  g_assert_cmpuint (staff_cancels->status, ==, SOUP_STATUS_OK);
}

static GDateTime *
alarm_time (JsonObject *alarm,
            const gchar *member)
{
  const gchar *text = NULL;
  GDateTime *when;

  g_assert_true (hg_json_object_get_string (alarm, member, &text, NULL));
  when = g_date_time_new_from_iso8601 (text, NULL);
  g_assert_nonnull (when);
  return when;
}

static void
test_alarm_times (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  gint64 before = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree gchar *ref = raise_alarm (td, HGD_ROLE_RESIDENT);
  g_autoptr(HgdTestResponse) cancel = transition (td, HGD_ROLE_RESIDENT, ref, "cancelled");
  gint64 after = g_get_real_time () / G_USEC_PER_SEC;
  g_autoptr(HgdTestResponse) list = hgd_test_daemon_request (
      td, "GET", "/api/v1/alarms", hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT), NULL);
  g_autoptr(HgdTestResponse) one = NULL;
  g_autofree gchar *path = g_strdup_printf ("/api/v1/alarms/%s", ref);
  JsonArray *alarms = NULL;
  JsonObject *alarm;

  g_test_summary ("Alarms say when they were raised and last changed (RFC 3339), for the "
                  "resident's list too, and so does one alarm and a transition's answer");
  g_assert_cmpuint (cancel->status, ==, SOUP_STATUS_OK);
  g_assert_true (hg_json_object_get_array (list->json, "alarms", &alarms, NULL));
  g_assert_cmpuint (json_array_get_length (alarms), ==, 1);
  alarm = json_array_get_object_element (alarms, 0);
  {
    g_autoptr(GDateTime) raised = alarm_time (alarm, "raised");
    g_autoptr(GDateTime) updated = alarm_time (alarm, "updated");

    g_assert_cmpint (g_date_time_to_unix (raised), >=, before);
    g_assert_cmpint (g_date_time_to_unix (raised), <=, after);
    g_assert_cmpint (g_date_time_compare (raised, updated), <=, 0);
    g_assert_cmpint (g_date_time_to_unix (updated), <=, after);
  }
  one = hgd_test_daemon_request (td, "GET", path, hgd_test_daemon_get_token (td, HGD_ROLE_STAFF),
                                 NULL);
  g_assert_cmpuint (one->status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (one->json, "raised"), ==,
                   json_object_get_string_member (alarm, "raised"));
  g_assert_cmpstr (json_object_get_string_member (cancel->json, "updated"), ==,
                   json_object_get_string_member (alarm, "updated"));
}

/* /api/users/ ----------------------------------------------------------------------------- */

static void
test_users_by_domain (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  const gchar *resident = hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT);
  const gchar *admin = hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN);
  g_autofree gchar *family_token = hgd_test_daemon_login (td, HGD_ROLE_FAMILY);
  const struct
  {
    const gchar *token;
    const gchar *body;
    guint status;
  } creates[] = {
    { resident,
      "{\"username\":\"grandson\",\"role\":\"family\",\"password\":\"grandson-passphrase\"}", 201 },
    { resident,
      "{\"username\":\"fake-nurse\",\"role\":\"staff\",\"password\":\"fake-nurse-passphrase\"}",
      403 },
    { admin, "{\"username\":\"nurse2\",\"role\":\"staff\",\"password\":\"nurse2-passphrase\"}",
      201 },
    { admin, "{\"username\":\"cousin\",\"role\":\"family\",\"password\":\"cousin-passphrase\"}",
      403 },
    { admin, "{\"username\":\"nurse2\",\"role\":\"service\",\"password\":\"nurse2-passphrase\"}",
      409 },
    { admin, "{\"username\":\"nurse3\",\"role\":\"pilot\",\"password\":\"nurse3-passphrase\"}",
      400 },
    { admin, "{\"username\":\"Bad Name\",\"role\":\"staff\",\"password\":\"bad-name-passphrase\"}",
      400 },
  };
  g_autoptr(HgdTestResponse) admin_list = NULL;
  g_autoptr(HgdTestResponse) reset = NULL;
  g_autoptr(HgdTestResponse) after_reset = NULL;
  g_autoptr(HgdTestResponse) cross = NULL;
  JsonArray *users = NULL;

  g_test_summary (
      "it-admin manages municipal users only, the resident their family only; the other "
      "domain's users are invisible (404), and a password reset ends the user's sessions");
  for (guint i = 0; i < G_N_ELEMENTS (creates); i++)
    {
      g_autoptr(HgdTestResponse) response = hgd_test_daemon_request (
          td, "POST", "/api/v1/users", creates[i].token, creates[i].body);
      g_test_message ("%s -> %u", creates[i].body, response->status);
      g_assert_cmpuint (response->status, ==, creates[i].status);
    }
  admin_list = hgd_test_daemon_request (td, "GET", "/api/v1/users", admin, NULL);
  g_assert_true (hg_json_object_get_array (admin_list->json, "users", &users, NULL));
  for (guint i = 0; i < json_array_get_length (users); i++)
    {
      JsonObject *user = json_array_get_object_element (users, i);
      g_assert_cmpstr (json_object_get_string_member (user, "domain"), ==, "municipal");
      g_assert_false (json_object_has_member (user, "password"));
    }

  reset = hgd_test_daemon_request (td, "POST", "/api/v1/users/family/password", resident,
                                   "{\"password\":\"family-new-passphrase\"}");
  g_assert_cmpuint (reset->status, ==, SOUP_STATUS_NO_CONTENT);
  after_reset = hgd_test_daemon_request (td, "GET", "/api/v1/auth/session", family_token, NULL);
  assert_error (after_reset, SOUP_STATUS_UNAUTHORIZED, "unauthenticated");
  cross = hgd_test_daemon_request (td, "DELETE", "/api/v1/users/staff/sessions", resident, NULL);
  assert_error (cross, SOUP_STATUS_NOT_FOUND, "not-found");
}

static void
test_users_unicode_names (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  const gchar *admin = hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN);
  g_autoptr(HgdTestResponse) create = NULL;
  g_autoptr(HgdTestResponse) upper = NULL;
  g_autoptr(HgdTestResponse) login = NULL;
  g_autoptr(HgdTestResponse) reset = NULL;
  g_autoptr(HgdTestResponse) relogin = NULL;
  g_autoptr(HgdTestResponse) revoke = NULL;

  g_test_summary ("A user name with å, ä and ö is created, logs in typed capitalised, and is "
                  "managed through its percent-encoded path");
  create = hgd_test_daemon_request (
      td, "POST", "/api/v1/users", admin,
      "{\"username\":\"åsa.öberg\",\"role\":\"staff\",\"password\":\"första-lösenordet\"}");
  g_assert_cmpuint (create->status, ==, SOUP_STATUS_CREATED);
  upper = hgd_test_daemon_request (
      td, "POST", "/api/v1/users", admin,
      "{\"username\":\"Ärla\",\"role\":\"staff\",\"password\":\"första-lösenordet\"}");
  assert_error (upper, SOUP_STATUS_BAD_REQUEST, "invalid-request");
  login = hgd_test_daemon_request (
      td, "POST", "/api/v1/auth/login", NULL,
      "{\"username\":\"Åsa.Öberg\",\"password\":\"första-lösenordet\"}");
  g_assert_cmpuint (login->status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (login->json, "username"), ==, "åsa.öberg");
  reset = hgd_test_daemon_request (td, "POST", "/api/v1/users/%C3%A5sa.%C3%B6berg/password", admin,
                                   "{\"password\":\"andra-lösenordet\"}");
  g_assert_cmpuint (reset->status, ==, SOUP_STATUS_NO_CONTENT);
  relogin = hgd_test_daemon_request (
      td, "POST", "/api/v1/auth/login", NULL,
      "{\"username\":\"åsa.öberg\",\"password\":\"andra-lösenordet\"}");
  g_assert_cmpuint (relogin->status, ==, SOUP_STATUS_OK);
  revoke = hgd_test_daemon_request (td, "DELETE", "/api/v1/users/%C3%A5sa.%C3%B6berg/sessions",
                                    admin, NULL);
  g_assert_cmpuint (revoke->status, ==, SOUP_STATUS_OK);
  g_assert_cmpint (json_object_get_int_member (revoke->json, "revoked"), ==, 1);
}

/* /api/auth/ ------------------------------------------------------------------------------ */

static void
test_login_cookie (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  g_autofree gchar *body = g_strdup_printf ("{\"username\":\"staff\",\"password\":\"%s\"}",
                                            hgd_test_password (HGD_ROLE_STAFF));
  g_autoptr(HgdTestResponse) login
      = hgd_test_daemon_request (td, "POST", "/api/v1/auth/login", NULL, body);
  const gchar *set_cookie = soup_message_headers_get_one (login->headers, "Set-Cookie");
  const gchar *token = NULL;
  g_autofree gchar *cookie = NULL;
  g_autofree gchar *uri = hgd_test_daemon_uri (td, "/api/v1/auth/session");
  g_autofree gchar *host = NULL;

  g_test_summary (
      "Login answers token, role, domain and expires and sets an HttpOnly SameSite=Strict "
      "cookie (not Secure without TLS) that authenticates; a cookie request from another "
      "origin is 403; logout clears the cookie");
  g_assert_cmpuint (login->status, ==, SOUP_STATUS_OK);
  g_assert_true (hg_json_object_get_string (login->json, "token", &token, NULL));
  g_assert_cmpstr (json_object_get_string_member (login->json, "role"), ==, "staff");
  g_assert_cmpstr (json_object_get_string_member (login->json, "domain"), ==, "municipal");
  g_assert_true (json_object_has_member (login->json, "expires"));
  g_assert_nonnull (set_cookie);
  cookie = g_strdup_printf ("hemgate_session=%s;", token);
  g_assert_true (g_str_has_prefix (set_cookie, cookie));
  g_assert_nonnull (strstr (set_cookie, "; HttpOnly"));
  g_assert_nonnull (strstr (set_cookie, "; SameSite=Strict"));
  g_assert_nonnull (strstr (set_cookie, "; Path=/"));
  g_assert_null (strstr (set_cookie, "Secure"));

  g_clear_pointer (&cookie, g_free);
  cookie = g_strdup_printf ("theme=dark; hemgate_session=%s", token);
  host = g_strdup (td->url + strlen ("http://"));
  {
    g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
    g_autoptr(HgdTestResponse) session = NULL;
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Cookie", cookie);
    session = hgd_test_daemon_send (td, msg);
    g_assert_cmpuint (session->status, ==, SOUP_STATUS_OK);
    g_assert_cmpstr (json_object_get_string_member (session->json, "username"), ==, "staff");
  }
  {
    g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
    g_autoptr(HgdTestResponse) same_origin = NULL;
    g_autofree gchar *origin = g_strdup_printf ("http://%s", host);
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Cookie", cookie);
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Origin", origin);
    same_origin = hgd_test_daemon_send (td, msg);
    g_assert_cmpuint (same_origin->status, ==, SOUP_STATUS_OK);
  }
  {
    g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
    g_autoptr(HgdTestResponse) cross = NULL;
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Cookie", cookie);
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Origin",
                                  "http://evil.example");
    cross = hgd_test_daemon_send (td, msg);
    assert_error (cross, SOUP_STATUS_FORBIDDEN, "forbidden");
  }
  {
    g_autofree gchar *logout_uri = hgd_test_daemon_uri (td, "/api/v1/auth/logout");
    g_autoptr(SoupMessage) msg = soup_message_new ("POST", logout_uri);
    g_autoptr(HgdTestResponse) logout = NULL;
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Cookie", cookie);
    logout = hgd_test_daemon_send (td, msg);
    g_assert_cmpuint (logout->status, ==, SOUP_STATUS_NO_CONTENT);
    g_assert_nonnull (
        strstr (soup_message_headers_get_one (logout->headers, "Set-Cookie"), "Max-Age=0"));
  }
}

/* /api/plugins/ --------------------------------------------------------------------------- */

static JsonObject *
find_plugin (HgdTestDaemon *td,
             HgdRole role,
             const gchar *id)
{
  g_autoptr(HgdTestResponse) response = hgd_test_daemon_request (
      td, "GET", "/api/v1/plugins", hgd_test_daemon_get_token (td, role), NULL);
  JsonArray *plugins = NULL;

  g_assert_cmpuint (response->status, ==, SOUP_STATUS_OK);
  g_assert_true (hg_json_object_get_array (response->json, "plugins", &plugins, NULL));
  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *plugin = json_array_get_object_element (plugins, i);
      if (g_strcmp0 (json_object_get_string_member (plugin, "id"), id) == 0)
        return json_object_ref (plugin);
    }
  return NULL;
}

/* The example plugin as a municipal instance: one the municipality's roles see in full. */
static const gchar *const municipal_example[] = { "plugin:example", "domain", "municipal", NULL };

static void
test_plugins_restart (void)
{
  HgdTestDaemonOptions options = { .example_plugin = TRUE, .overrides = municipal_example };
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (&options);
  g_autoptr(JsonObject) before = find_plugin (td, HGD_ROLE_STAFF, "example");
  g_autoptr(HgdTestResponse) restart = NULL;
  g_autoptr(HgdTestResponse) unknown = NULL;
  g_autoptr(HgdTestResponse) metrics = NULL;
  g_autofree gchar *text = NULL;
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  g_test_summary ("With the example plugin running, staff see it in /api/v1/plugins, it-admin "
                  "restarts it (202) and the restart shows in the list and in /metrics");
  g_assert_nonnull (before);
  g_assert_cmpstr (json_object_get_string_member (before, "state"), ==, "running");
  g_assert_cmpint (json_object_get_int_member (before, "restarts"), ==, 0);

  restart = hgd_test_daemon_request (td, "POST", "/api/v1/plugins/example/restart",
                                     hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN), NULL);
  g_assert_cmpuint (restart->status, ==, SOUP_STATUS_ACCEPTED);
  unknown = hgd_test_daemon_request (td, "POST", "/api/v1/plugins/nope/restart",
                                     hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN), NULL);
  assert_error (unknown, SOUP_STATUS_NOT_FOUND, "not-found");

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(JsonObject) after = find_plugin (td, HGD_ROLE_IT_ADMIN, "example");
      if (json_object_get_int_member (after, "restarts") == 1 &&
          g_strcmp0 (json_object_get_string_member (after, "state"), "running") == 0)
        break;
      hg_test_run_for (50);
    }
  g_assert_cmpint (g_get_monotonic_time (), <, deadline);
  metrics = hgd_test_daemon_request (td, "GET", "/metrics",
                                     hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN), NULL);
  text = g_strndup (g_bytes_get_data (metrics->body, NULL), g_bytes_get_size (metrics->body));
  g_assert_nonnull (strstr (text, "\nhemgate_plugin_restarts_total{plugin=\"example\"} 1\n"));
  g_assert_nonnull (strstr (text, "\nhemgate_plugin_up{plugin=\"example\"} 1\n"));
}

/* Waits until instance @id of GET /api/v1/plugins has @state. */
static void
wait_plugin_state (HgdTestDaemon *td,
                   const gchar *id,
                   const gchar *state)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(JsonObject) plugin = find_plugin (td, HGD_ROLE_IT_ADMIN, id);
      if (g_strcmp0 (json_object_get_string_member (plugin, "state"), state) == 0)
        return;
      hg_test_run_for (50);
    }
  g_error ("plugin %s did not reach state %s", id, state);
}

/* The body of the newest event of @type in @role's domain, or NULL. */
static JsonObject *
newest_event_body (HgdTestDaemon *td,
                   HgdRole role,
                   const gchar *type)
{
  g_autoptr(HgdTestResponse) response = hgd_test_daemon_request (
      td, "GET", "/api/v1/events?after=0&limit=1000", hgd_test_daemon_get_token (td, role), NULL);
  JsonArray *events = NULL;
  JsonObject *found = NULL;

  g_assert_true (hg_json_object_get_array (response->json, "events", &events, NULL));
  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *event = json_array_get_object_element (events, i);
      if (g_strcmp0 (json_object_get_string_member (event, "type"), type) == 0)
        found = json_object_get_object_member (event, "body");
    }
  return found != NULL ? json_object_ref (found) : NULL;
}

static void
test_plugins_disable (void)
{
  HgdTestDaemonOptions options = { .example_plugin = TRUE, .overrides = municipal_example };
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (&options);
  const gchar *admin = hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN);
  g_autofree gchar *state_dir = g_strdup (td->state_dir);
  g_autofree gchar *who = g_strconcat ("user:", hgd_test_username (HGD_ROLE_IT_ADMIN), NULL);
  g_autoptr(HgdTestResponse) disabled = NULL;
  g_autoptr(HgdTestResponse) again = NULL;
  g_autoptr(HgdTestResponse) restart = NULL;
  g_autoptr(HgdTestResponse) enabled = NULL;
  g_autoptr(HgdTestResponse) health = NULL;
  g_autoptr(JsonObject) listed = NULL;
  g_autoptr(JsonObject) after_restart = NULL;
  g_autoptr(JsonObject) event = NULL;
  const gchar *unknown[] = { "/api/v1/plugins/nope/disable", "/api/v1/plugins/nope/enable" };

  g_test_summary ("it-admin disables the example plugin: its host stops, it shows as disabled "
                  "with who, plugin.disabled is journaled, restart is refused, it stays "
                  "stopped across a daemon restart, and enabling starts it again; unknown "
                  "instances are 404");
  wait_plugin_state (td, "example", "running");
  disabled = hgd_test_daemon_request (td, "POST", "/api/v1/plugins/example/disable", admin, NULL);
  g_assert_cmpuint (disabled->status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (disabled->json, "state"), ==, "disabled");
  g_assert_cmpstr (json_object_get_string_member (disabled->json, "disabled_by"), ==, who);
  g_assert_true (json_object_get_null_member (disabled->json, "pid"));
  listed = find_plugin (td, HGD_ROLE_STAFF, "example");
  g_assert_cmpstr (json_object_get_string_member (listed, "state"), ==, "disabled");
  /* a disabled instance is not a fault of the gateway */
  health = hgd_test_daemon_request (td, "GET", "/api/v1/health", admin, NULL);
  g_assert_cmpstr (json_object_get_string_member (health->json, "status"), ==, "ok");
  /* journaled in the instance's domain, with who */
  event = newest_event_body (td, HGD_ROLE_STAFF, "plugin.disabled");
  g_assert_nonnull (event);
  g_assert_cmpstr (json_object_get_string_member (event, "plugin"), ==, "example");
  g_assert_cmpstr (json_object_get_string_member (event, "who"), ==, who);
  again = hgd_test_daemon_request (td, "POST", "/api/v1/plugins/example/disable", admin, NULL);
  g_assert_cmpuint (again->status, ==, SOUP_STATUS_OK);
  restart = hgd_test_daemon_request (td, "POST", "/api/v1/plugins/example/restart", admin, NULL);
  assert_error (restart, SOUP_STATUS_CONFLICT, "conflict");
  for (guint i = 0; i < G_N_ELEMENTS (unknown); i++)
    {
      g_autoptr(HgdTestResponse) response = hgd_test_daemon_request (td, "POST", unknown[i], admin, NULL);
      assert_error (response, SOUP_STATUS_NOT_FOUND, "not-found");
    }

  /* the same state directory: still disabled, never started */
  g_clear_pointer (&td, hgd_test_daemon_free);
  options.state_dir = state_dir;
  td = hgd_test_daemon_new (&options);
  admin = hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN);
  after_restart = find_plugin (td, HGD_ROLE_IT_ADMIN, "example");
  g_assert_cmpstr (json_object_get_string_member (after_restart, "state"), ==, "disabled");
  g_assert_cmpstr (json_object_get_string_member (after_restart, "disabled_by"), ==, who);
  g_assert_true (json_object_get_null_member (after_restart, "pid"));

  enabled = hgd_test_daemon_request (td, "POST", "/api/v1/plugins/example/enable", admin, NULL);
  g_assert_cmpuint (enabled->status, ==, SOUP_STATUS_OK);
  g_assert_true (json_object_get_null_member (enabled->json, "disabled_by"));
  wait_plugin_state (td, "example", "running");
  g_clear_pointer (&event, json_object_unref);
  event = newest_event_body (td, HGD_ROLE_STAFF, "plugin.enabled");
  g_assert_nonnull (event);
  g_assert_cmpstr (json_object_get_string_member (event, "who"), ==, who);

  /* and enabled stays enabled */
  g_clear_pointer (&td, hgd_test_daemon_free);
  td = hgd_test_daemon_new (&options);
  wait_plugin_state (td, "example", "running");
}

static void
test_plugins_disable_last_delivery (void)
{
  const gchar *build_root = g_getenv ("HGD_TEST_BUILD_ROOT");
  g_autofree gchar *plugins = g_build_filename (build_root, "tests", "plugins", NULL);
  g_autofree gchar *host
      = g_build_filename (build_root, "daemon", "host", "hemgate-plugin-host", NULL);
  const gchar *overrides[] = {
    "plugins", "directory", plugins,
    "plugins", "host", host,
    "plugin:courier", "domain", "municipal",
    "plugin:courier2", "plugin", "courier",
    "plugin:courier2", "domain", "municipal",
    NULL,
  };
  HgdTestDaemonOptions options = { .overrides = overrides };
  g_autoptr(HgdTestDaemon) td = NULL;
  const gchar *admin;
  const gchar *anchors[] = { "courier", "courier2" };

  g_test_summary ("Disabling one of two delivery plugins leaves health ok; disabling the last "
                  "makes health report the alarm-delivery fault; enabling one clears it");
  g_assert_nonnull (build_root);
  td = hgd_test_daemon_new (&options);
  admin = hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN);
  for (guint i = 0; i < G_N_ELEMENTS (anchors); i++)
    wait_plugin_state (td, anchors[i], "running");
  for (guint i = 0; i < G_N_ELEMENTS (anchors); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/api/v1/plugins/%s/disable", anchors[i]);
      g_autoptr(HgdTestResponse) disabled = hgd_test_daemon_request (td, "POST", path, admin, NULL);
      g_autoptr(HgdTestResponse) health
          = hgd_test_daemon_request (td, "GET", "/api/v1/health", admin, NULL);
      g_autoptr(HgdTestResponse) anon
          = hgd_test_daemon_request (td, "GET", "/api/v1/health", NULL, NULL);
      JsonObject *delivery = json_object_get_object_member (
          json_object_get_object_member (health->json, "subsystems"), "alarm-delivery");

      g_assert_cmpuint (disabled->status, ==, SOUP_STATUS_OK);
      if (i == 0)
        {
          g_assert_cmpstr (json_object_get_string_member (health->json, "status"), ==, "ok");
          g_assert_cmpstr (json_object_get_string_member (delivery, "status"), ==, "ok");
        }
      else
        {
          g_assert_cmpstr (json_object_get_string_member (health->json, "status"), ==, "degraded");
          g_assert_cmpstr (json_object_get_string_member (anon->json, "status"), ==, "degraded");
          g_assert_cmpstr (json_object_get_string_member (delivery, "status"), ==, "fault");
          g_assert_cmpstr (json_object_get_string_member (delivery, "message"), ==,
                           "no alarm delivery plugin running");
        }
    }
  {
    g_autoptr(HgdTestResponse) enabled
        = hgd_test_daemon_request (td, "POST", "/api/v1/plugins/courier/enable", admin, NULL);
    g_autoptr(HgdTestResponse) health = NULL;

    g_assert_cmpuint (enabled->status, ==, SOUP_STATUS_OK);
    wait_plugin_state (td, "courier", "running");
    health = hgd_test_daemon_request (td, "GET", "/api/v1/health", admin, NULL);
    g_assert_cmpstr (json_object_get_string_member (health->json, "status"), ==, "ok");
  }
}

/* Waits until the in-process manager runs every instance. */
static void
wait_all_running (HgdTestDaemon *td)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  gboolean healthy = FALSE;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(JsonArray) all
          = hgd_plugin_manager_to_json (hgd_daemon_get_plugin_manager (td->daemon), &healthy);
      if (healthy)
        return;
      hg_test_run_for (50);
    }
  g_error ("the plugin instances did not all start");
}

static void
assert_personal_aggregate (JsonObject *object,
                           gint64 instances,
                           gint64 running,
                           const gchar *status)
{
  JsonObject *aggregate = NULL;

  g_assert_true (hg_json_object_get_object (object, "personal_plugins", &aggregate, NULL));
  g_assert_cmpuint (json_object_get_size (aggregate), ==, 3);
  g_assert_cmpint (json_object_get_int_member (aggregate, "instances"), ==, instances);
  g_assert_cmpint (json_object_get_int_member (aggregate, "running"), ==, running);
  g_assert_cmpstr (json_object_get_string_member (aggregate, "status"), ==, status);
}

static void
assert_no_personal_instance (JsonArray *plugins)
{
  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *plugin = json_array_get_object_element (plugins, i);
      g_assert_cmpstr (json_object_get_string_member (plugin, "id"), !=, "example");
      g_assert_cmpstr (json_object_get_string_member (plugin, "domain"), !=, "personal");
    }
}

static void
test_plugins_personal_aggregate (void)
{
  HgdTestDaemonOptions options = { .example_plugin = TRUE };
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (&options);
  const HgdRole municipal[] = { HGD_ROLE_STAFF, HGD_ROLE_IT_ADMIN, HGD_ROLE_SERVICE };
  g_autoptr(HgdTestResponse) metrics = NULL;
  g_autoptr(HgdTestResponse) disabled = NULL;
  g_autofree gchar *text = NULL;

  g_test_bug ("issue 12 point 6");
  g_test_summary ("The resident's own plugin instance (example, personal) is not listed to "
                  "municipal roles in /api/v1/plugins, /api/v1/health or /metrics: they see "
                  "only personal_plugins {instances, running, status}; /metrics counts no "
                  "personal events");
  wait_all_running (td);
  for (guint i = 0; i < 5; i++)
    hgd_test_daemon_append_event (td, HG_DOMAIN_PERSONAL, "sensor.reading");

  for (guint r = 0; r < G_N_ELEMENTS (municipal); r++)
    {
      const gchar *token = hgd_test_daemon_get_token (td, municipal[r]);
      g_autoptr(HgdTestResponse) list
          = hgd_test_daemon_request (td, "GET", "/api/v1/plugins", token, NULL);
      g_autoptr(HgdTestResponse) health
          = hgd_test_daemon_request (td, "GET", "/api/v1/health", token, NULL);
      JsonArray *plugins = NULL;

      g_assert_cmpuint (list->status, ==, SOUP_STATUS_OK);
      g_assert_true (hg_json_object_get_array (list->json, "plugins", &plugins, NULL));
      assert_no_personal_instance (plugins);
      assert_personal_aggregate (list->json, 1, 1, "ok");
      g_assert_true (hg_json_object_get_array (health->json, "plugins", &plugins, NULL));
      assert_no_personal_instance (plugins);
      assert_personal_aggregate (health->json, 1, 1, "ok");
    }

  metrics = hgd_test_daemon_request (td, "GET", "/metrics",
                                     hgd_test_daemon_get_token (td, HGD_ROLE_SERVICE), NULL);
  text = g_strndup (g_bytes_get_data (metrics->body, NULL), g_bytes_get_size (metrics->body));
  g_test_message ("%s", text);
  g_assert_null (strstr (text, "plugin=\"example\""));
  g_assert_null (strstr (text, "hemgate_events_total{domain=\"personal\"}"));
  g_assert_nonnull (strstr (text, "\nhemgate_events_total{domain=\"municipal\"} "));
  g_assert_nonnull (strstr (text, "\nhemgate_personal_plugins 1\n"));
  g_assert_nonnull (strstr (text, "\nhemgate_personal_plugins_running 1\n"));

  /* it-admin still may stop it; the answer tells only what they set */
  disabled = hgd_test_daemon_request (td, "POST", "/api/v1/plugins/example/disable",
                                      hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN), NULL);
  g_assert_cmpuint (disabled->status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (disabled->json, "state"), ==, "disabled");
  g_assert_false (json_object_has_member (disabled->json, "capabilities"));
  g_assert_false (json_object_has_member (disabled->json, "error"));
  g_assert_false (json_object_has_member (disabled->json, "pid"));
}

/* POST /api/v1/alarms with an Idempotency-Key header: the request, and its answer kept. */
static SoupMessage *
keyed_raise_message (HgdTestDaemon *td,
                     HgdRole role,
                     const gchar *key,
                     const gchar *body)
{
  g_autofree gchar *uri = hgd_test_daemon_uri (td, "/api/v1/alarms");
  g_autofree gchar *authorization
      = g_strdup_printf ("Bearer %s", hgd_test_daemon_get_token (td, role));
  g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
  SoupMessage *msg = soup_message_new ("POST", uri);

  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                authorization);
  if (key != NULL)
    soup_message_headers_append (soup_message_get_request_headers (msg), "Idempotency-Key", key);
  soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
  return msg;
}

static HgdTestResponse *
raise_with_key (HgdTestDaemon *td,
                HgdRole role,
                const gchar *key,
                const gchar *body)
{
  g_autoptr(SoupMessage) msg = keyed_raise_message (td, role, key, body);

  return hgd_test_daemon_send (td, msg);
}

static guint
count_alarms (HgdTestDaemon *td)
{
  g_autoptr(HgdTestResponse) list = hgd_test_daemon_request (
      td, "GET", "/api/v1/alarms", hgd_test_daemon_get_token (td, HGD_ROLE_STAFF), NULL);
  JsonArray *alarms = NULL;

  g_assert_cmpuint (list->status, ==, SOUP_STATUS_OK);
  g_assert_true (hg_json_object_get_array (list->json, "alarms", &alarms, NULL));
  return json_array_get_length (alarms);
}

static void
test_idempotency_key_same_alarm (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  const gchar *body = "{\"type\":\"assistance\",\"source\":\"ui\",\"location\":\"hall\"}";
  const gchar *key = "8e03978e-40d5-43e8-bc93-6894a57f9324";
  g_autoptr(HgdTestResponse) first = NULL;
  g_autoptr(HgdTestResponse) again = NULL;
  g_autoptr(HgdTestResponse) quoted = NULL;
  g_autoptr(HgdTestResponse) other_body = NULL;
  g_autoptr(HgdTestResponse) other_user = NULL;
  const gchar *ref = NULL;
  const gchar *bad_keys[] = { "", "\"\"", "has space", "semi;colon", "tab\tin",
                              "a,b" /* two headers read as one list */ };
  g_autofree gchar *long_key = g_strnfill (129, 'k');

  g_test_bug ("11");
  g_test_summary ("The same Idempotency-Key twice raises one alarm: the retry gets 200 with "
                  "the same alarm and Idempotent-Replayed: true; the same key with another body "
                  "is 422 idempotency-key-reused; another user's same key is their own; a key "
                  "that is not 1-128 token characters is 400 invalid-idempotency-key");
  first = raise_with_key (td, HGD_ROLE_RESIDENT, key, body);
  g_assert_cmpuint (first->status, ==, SOUP_STATUS_CREATED);
  g_assert_null (soup_message_headers_get_one (first->headers, "Idempotent-Replayed"));
  g_assert_true (hg_json_object_get_string (first->json, "ref", &ref, NULL));

  again = raise_with_key (td, HGD_ROLE_RESIDENT, key, body);
  g_assert_cmpuint (again->status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (soup_message_headers_get_one (again->headers, "Idempotent-Replayed"), ==,
                   "true");
  g_assert_cmpstr (json_object_get_string_member (again->json, "ref"), ==, ref);
  g_assert_cmpstr (json_object_get_string_member (again->json, "state"), ==, "raised");
  g_assert_cmpstr (json_object_get_string_member (again->json, "location"), ==, "hall");
  g_assert_cmpstr (soup_message_headers_get_one (again->headers, "Location"), ==,
                   soup_message_headers_get_one (first->headers, "Location"));

  /* the structured-field form of the same key */
  {
    g_autofree gchar *sf = g_strdup_printf ("\"%s\"", key);
    quoted = raise_with_key (td, HGD_ROLE_RESIDENT, sf, body);
  }
  g_assert_cmpuint (quoted->status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (quoted->json, "ref"), ==, ref);
  g_assert_cmpuint (count_alarms (td), ==, 1);

  other_body = raise_with_key (td, HGD_ROLE_RESIDENT, key, "{\"type\":\"fall\"}");
  assert_error (other_body, SOUP_STATUS_UNPROCESSABLE_ENTITY, "idempotency-key-reused");
  g_assert_cmpuint (count_alarms (td), ==, 1);

  other_user = raise_with_key (td, HGD_ROLE_STAFF, key, body);
  g_assert_cmpuint (other_user->status, ==, SOUP_STATUS_CREATED);
  g_assert_cmpstr (json_object_get_string_member (other_user->json, "ref"), !=, ref);
  g_assert_cmpuint (count_alarms (td), ==, 2);

  for (guint i = 0; i <= G_N_ELEMENTS (bad_keys); i++)
    {
      const gchar *bad = i < G_N_ELEMENTS (bad_keys) ? bad_keys[i] : long_key;
      g_autoptr(HgdTestResponse) refused = raise_with_key (td, HGD_ROLE_RESIDENT, bad, body);

      assert_error (refused, SOUP_STATUS_BAD_REQUEST, "invalid-idempotency-key");
    }
  {
    /* two Idempotency-Key headers are one unusable list */
    g_autoptr(SoupMessage) msg = keyed_raise_message (td, HGD_ROLE_RESIDENT, "one", body);
    g_autoptr(HgdTestResponse) refused = NULL;

    soup_message_headers_append (soup_message_get_request_headers (msg), "Idempotency-Key", "two");
    refused = hgd_test_daemon_send (td, msg);
    assert_error (refused, SOUP_STATUS_BAD_REQUEST, "invalid-idempotency-key");
  }
  g_assert_cmpuint (count_alarms (td), ==, 2);
}

static void
test_idempotency_key_survives_restart (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  g_autofree gchar *state_dir = g_strdup (td->state_dir);
  HgdTestDaemonOptions options = { 0 };
  const gchar *body = "{\"type\":\"fall\",\"source\":\"ui\"}";
  g_autoptr(HgdTestResponse) first = NULL;
  g_autoptr(HgdTestResponse) retry = NULL;
  g_autofree gchar *ref = NULL;

  g_test_bug ("11");
  g_test_summary ("An Idempotency-Key is journaled with its alarm: a client that lost the "
                  "answer and retries after the core restarted gets the same alarm, not a "
                  "second one");
  first = raise_with_key (td, HGD_ROLE_RESIDENT, "press-1", body);
  g_assert_cmpuint (first->status, ==, SOUP_STATUS_CREATED);
  ref = g_strdup (json_object_get_string_member (first->json, "ref"));
  g_clear_pointer (&td, hgd_test_daemon_free);

  options.state_dir = state_dir;
  td = hgd_test_daemon_new (&options);
  retry = raise_with_key (td, HGD_ROLE_RESIDENT, "press-1", body);
  g_assert_cmpuint (retry->status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (retry->json, "ref"), ==, ref);
  g_assert_cmpuint (count_alarms (td), ==, 1);
}

typedef struct
{
  guint n_done;
  guint status[2];
} KeyedSends;

static void
keyed_send_cb (GObject *source,
               GAsyncResult *result,
               gpointer user_data)
{
  KeyedSends *sends = user_data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GBytes) bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result, NULL);

  sends->status[sends->n_done++] = soup_message_get_status (msg);
}

static void
test_idempotency_key_in_flight (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  HgdJournal *journal = hgd_daemon_get_journal (td->daemon, HG_DOMAIN_MUNICIPAL);
  const gchar *body = "{\"type\":\"fall\"}";
  g_autoptr(SoupMessage) a = NULL;
  g_autoptr(SoupMessage) b = NULL;
  g_autoptr(HgdTestResponse) later = NULL;
  KeyedSends sends = { 0 };

  g_test_bug ("11");
  g_test_summary ("While the alarm of an Idempotency-Key is still being journaled, a second "
                  "request with that key is 409 idempotency-key-in-flight, not a second alarm; "
                  "once journaled, a retry gets that alarm");
  hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT);
  a = keyed_raise_message (td, HGD_ROLE_RESIDENT, "press-2", body);
  b = keyed_raise_message (td, HGD_ROLE_RESIDENT, "press-2", body);
  hgd_journal_hold_for_test (journal);
  soup_session_send_and_read_async (td->session, a, G_PRIORITY_DEFAULT, NULL, keyed_send_cb,
                                    &sends);
  soup_session_send_and_read_async (td->session, b, G_PRIORITY_DEFAULT, NULL, keyed_send_cb,
                                    &sends);
  /* whichever came second is answered while the first waits for the journal */
  while (sends.n_done < 1)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (sends.status[0], ==, SOUP_STATUS_CONFLICT);
  hgd_journal_release_for_test (journal);
  while (sends.n_done < 2)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (sends.status[1], ==, SOUP_STATUS_CREATED);

  later = raise_with_key (td, HGD_ROLE_RESIDENT, "press-2", body);
  g_assert_cmpuint (later->status, ==, SOUP_STATUS_OK);
  g_assert_cmpuint (count_alarms (td), ==, 1);
}

/* /api/health, /api/metrics-format ---------------------------------------------------------- */

static void
test_health (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  g_autoptr(HgdTestResponse) anon
      = hgd_test_daemon_request (td, "GET", "/api/v1/health", NULL, NULL);
  g_autoptr(HgdTestResponse) resident = NULL;
  g_autoptr(HgdTestResponse) admin = NULL;
  g_autoptr(HgdTestResponse) forged = NULL;
  JsonObject *subsystems = NULL;
  const gchar *names[] = { "journal-municipal", "journal-personal", "api", "plugins",
                           "access-log-municipal", "access-log-personal" };
  JsonArray *plugins = NULL;

  g_test_summary ("Health is public but anonymous callers see only the status; personal roles add "
                  "subsystem states; municipal roles add plugins and version");
  g_assert_cmpuint (anon->status, ==, SOUP_STATUS_OK);
  g_assert_cmpuint (json_object_get_size (anon->json), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (anon->json, "status"), ==, "ok");

  forged = hgd_test_daemon_request (td, "GET", "/api/v1/health", "forged", NULL);
  g_assert_cmpuint (forged->status, ==, SOUP_STATUS_OK);
  g_assert_cmpuint (json_object_get_size (forged->json), ==, 1);

  resident = hgd_test_daemon_request (td, "GET", "/api/v1/health",
                                      hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT), NULL);
  g_assert_true (hg_json_object_get_object (resident->json, "subsystems", &subsystems, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      JsonObject *subsystem = NULL;
      g_assert_true (hg_json_object_get_object (subsystems, names[i], &subsystem, NULL));
      g_assert_cmpstr (json_object_get_string_member (subsystem, "status"), ==, "ok");
    }
  g_assert_false (json_object_has_member (resident->json, "plugins"));

  admin = hgd_test_daemon_request (td, "GET", "/api/v1/health",
                                   hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN), NULL);
  g_assert_cmpstr (json_object_get_string_member (admin->json, "status"), ==, "ok");
  g_assert_true (hg_json_object_get_array (admin->json, "plugins", &plugins, NULL));
  g_assert_cmpstr (json_object_get_string_member (admin->json, "version"), ==, PACKAGE_VERSION);
}

static void
raised_count_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  guint *n_done = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *ref = hgd_alarms_raise_finish (HGD_ALARMS (source), result, &error);

  g_assert_no_error (error);
  g_assert_nonnull (ref);
  (*n_done)++;
}

/* Raises alarms in batches until the municipal journal holds @percent of @budget; returns
 * how many. */
static guint
fill_with_alarms (HgdTestDaemon *td,
                  guint64 budget,
                  guint percent)
{
  HgdJournal *journal = hgd_daemon_get_journal (td->daemon, HG_DOMAIN_MUNICIPAL);
  HgdAlarms *alarms = hgd_daemon_get_alarms (td->daemon);
  g_autofree gchar *location = g_strnfill (200, 'x');
  guint n_raised = 0;

  for (guint batch = 0; batch < 100; batch++)
    {
      g_autoptr(GError) error = NULL;
      guint64 used = 0;
      guint n_done = 0;

      g_assert_true (hgd_journal_get_used_size (journal, &used, &error));
      g_assert_no_error (error);
      if (used * 100 >= budget * percent)
        return n_raised;
      for (guint i = 0; i < 100; i++)
        {
          g_autoptr(HgAlarm) alarm = hg_alarm_new ("fall");

          hg_alarm_set_location (alarm, location);
          hgd_alarms_raise_async (alarms, alarm, "user:staff", NULL, raised_count_cb, &n_done);
        }
      while (n_done < 100)
        g_main_context_iteration (NULL, TRUE);
      n_raised += n_done;
    }
  g_assert_not_reached ();
}

static JsonObject *
journal_health (HgdTestResponse *health,
                const gchar *name)
{
  JsonObject *subsystems = NULL;
  JsonObject *subsystem = NULL;

  g_assert_cmpuint (health->status, ==, SOUP_STATUS_OK);
  g_assert_true (hg_json_object_get_object (health->json, "subsystems", &subsystems, NULL));
  g_assert_true (hg_json_object_get_object (subsystems, name, &subsystem, NULL));
  return subsystem;
}

static void
test_health_journal_size_budget (void)
{
  const gchar *overrides[] = { "journal", "municipal-size-budget", "1", NULL };
  HgdTestDaemonOptions options = { .overrides = overrides };
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (&options);
  const guint64 budget = 1024 * 1024;
  g_autoptr(HgdTestResponse) before = NULL;
  g_autoptr(HgdTestResponse) warned = NULL;
  g_autoptr(HgdTestResponse) warned_resident = NULL;
  g_autoptr(HgdTestResponse) warned_anonymous = NULL;
  g_autoptr(HgdTestResponse) over = NULL;
  g_autoptr(HgdTestResponse) raised = NULL;
  JsonObject *subsystem;
  const gchar *message = NULL;
  guint n_alarms = 0;

  g_test_bug ("11");
  g_test_summary ("Health warns, with the reason, when a journal reaches 80 % of its size "
                  "budget ([journal] municipal-size-budget) and reports a fault past it; alarms "
                  "fill it, as retention never removes them, and a new alarm is still accepted");
  before = hgd_test_daemon_request (td, "GET", "/api/v1/health",
                                    hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN), NULL);
  g_assert_cmpstr (json_object_get_string_member (before->json, "status"), ==, "ok");
  subsystem = journal_health (before, "journal-municipal");
  g_assert_cmpstr (json_object_get_string_member (subsystem, "status"), ==, "ok");

  n_alarms += fill_with_alarms (td, budget, 80);
  warned = hgd_test_daemon_request (td, "GET", "/api/v1/health",
                                    hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN), NULL);
  g_assert_cmpstr (json_object_get_string_member (warned->json, "status"), ==, "warning");
  subsystem = journal_health (warned, "journal-municipal");
  g_assert_cmpstr (json_object_get_string_member (subsystem, "status"), ==, "warning");
  g_assert_true (hg_json_object_get_string (subsystem, "message", &message, NULL));
  g_assert_nonnull (strstr (message, "of its size budget of 1.0"));
  g_assert_nonnull (strstr (message, "municipal-size-budget"));
  subsystem = journal_health (warned, "journal-personal");
  g_assert_cmpstr (json_object_get_string_member (subsystem, "status"), ==, "ok");

  /* personal roles see the state, not the message; anonymous callers the overall status */
  warned_resident = hgd_test_daemon_request (td, "GET", "/api/v1/health",
                                             hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT),
                                             NULL);
  subsystem = journal_health (warned_resident, "journal-municipal");
  g_assert_cmpstr (json_object_get_string_member (subsystem, "status"), ==, "warning");
  g_assert_false (json_object_has_member (subsystem, "message"));
  warned_anonymous = hgd_test_daemon_request (td, "GET", "/api/v1/health", NULL, NULL);
  g_assert_cmpstr (json_object_get_string_member (warned_anonymous->json, "status"), ==,
                   "warning");

  n_alarms += fill_with_alarms (td, budget, 100);
  over = hgd_test_daemon_request (td, "GET", "/api/v1/health",
                                  hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN), NULL);
  g_assert_cmpstr (json_object_get_string_member (over->json, "status"), ==, "degraded");
  subsystem = journal_health (over, "journal-municipal");
  g_assert_cmpstr (json_object_get_string_member (subsystem, "status"), ==, "fault");
  g_assert_true (hg_json_object_get_string (subsystem, "message", &message, NULL));
  g_assert_nonnull (strstr (message, "size budget"));

  /* over its budget, the journal still takes alarms, and has lost none */
  raised = hgd_test_daemon_request (td, "POST", "/api/v1/alarms",
                                    hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT),
                                    "{\"type\":\"assistance\"}");
  g_assert_cmpuint (raised->status, ==, SOUP_STATUS_CREATED);
  g_assert_cmpuint (count_alarms (td), ==, n_alarms + 1);
}

static void
test_metrics_format (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  g_autoptr(HgdTestResponse) metrics = NULL;
  g_autoptr(HgdTestResponse) missing = NULL;
  g_autoptr(GRegex) sample = NULL;
  g_autoptr(GRegex) comment = NULL;
  g_autoptr(GHashTable) types = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree gchar *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autofree gchar *ref = raise_alarm (td, HGD_ROLE_RESIDENT);
  const gchar *required[] = {
    "hemgate_up 1",
    "hemgate_alarms_open 1",
    "hemgate_http_requests_total{status=\"201\"} 1",
    "hemgate_http_requests_total{status=\"404\"} 1",
    "hemgate_journal_fault{domain=\"municipal\"} 0",
    "hemgate_journal_fault{domain=\"personal\"} 0",
    "hemgate_journal_budget_bytes{domain=\"municipal\"} 268435456",
    "hemgate_journal_budget_bytes{domain=\"personal\"} 134217728",
  };

  g_test_summary (
      "/metrics is Prometheus text format 0.0.4: every sample well-formed and typed, with "
      "the hemgate_* families the operators rely on");
  missing = hgd_test_daemon_request (td, "GET", "/nowhere", NULL, NULL);
  g_assert_cmpuint (missing->status, ==, SOUP_STATUS_NOT_FOUND);
  metrics = hgd_test_daemon_request (td, "GET", "/metrics",
                                     hgd_test_daemon_get_token (td, HGD_ROLE_SERVICE), NULL);
  g_assert_cmpuint (metrics->status, ==, SOUP_STATUS_OK);
  g_assert_true (g_str_has_prefix (soup_message_headers_get_one (metrics->headers, "Content-Type"),
                                   "text/plain; version=0.0.4"));
  text = g_strndup (g_bytes_get_data (metrics->body, NULL), g_bytes_get_size (metrics->body));
  g_test_message ("%s", text);
  g_assert_true (g_str_has_suffix (text, "\n"));

  sample = g_regex_new ("^([a-zA-Z_:][a-zA-Z0-9_:]*)"
                        "(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\.)*\""
                        "(?:,[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\.)*\")*\\})?"
                        " (-?[0-9]+(?:\\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|NaN|[+-]Inf)$",
                        0, 0, NULL);
  comment = g_regex_new ("^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$", 0, 0, NULL);
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i + 1] != NULL; i++)
    {
      g_autoptr(GMatchInfo) match = NULL;

      if (g_str_has_prefix (lines[i], "#"))
        {
          g_autofree gchar *kind = NULL;
          g_assert_true (g_regex_match (comment, lines[i], 0, &match));
          kind = g_match_info_fetch (match, 1);
          if (g_strcmp0 (kind, "TYPE") == 0)
            {
              g_autofree gchar *type = g_match_info_fetch (match, 3);
              g_assert_true (g_strcmp0 (type, "counter") == 0 || g_strcmp0 (type, "gauge") == 0);
              g_assert_true (g_hash_table_add (types, g_match_info_fetch (match, 2)));
            }
          continue;
        }
      if (!g_regex_match (sample, lines[i], 0, &match))
        g_test_message ("not a sample: %s", lines[i]);
      g_assert_true (g_regex_match (sample, lines[i], 0, NULL));
      {
        g_autofree gchar *name = g_match_info_fetch (match, 1);
        g_assert_true (g_hash_table_contains (types, name));
      }
    }
  for (guint i = 0; i < G_N_ELEMENTS (required); i++)
    {
      g_autofree gchar *line = g_strdup_printf ("\n%s\n", required[i]);
      if (strstr (text, line) == NULL)
        g_test_message ("missing: %s", required[i]);
      g_assert_nonnull (strstr (text, line));
    }
  g_assert_true (g_hash_table_contains (types, "hemgate_events_total"));
  g_assert_true (g_hash_table_contains (types, "hemgate_plugin_restarts_total"));
  /* how much the personal journal holds would tell how active the resident is */
  g_assert_nonnull (strstr (text, "hemgate_journal_bytes{domain=\"municipal\"} "));
  g_assert_null (strstr (text, "hemgate_journal_bytes{domain=\"personal\"}"));
}

/* /api/tls/ ------------------------------------------------------------------------------ */

static gchar *
served_certificate_pem (HgdTestDaemon *td)
{
  g_autoptr(HgdTestResponse) health
      = hgd_test_daemon_request (td, "GET", "/api/v1/health", NULL, NULL);
  gchar *pem = NULL;

  g_assert_cmpuint (health->status, ==, SOUP_STATUS_OK);
  g_assert_nonnull (td->peer_certificate);
  g_object_get (td->peer_certificate, "certificate-pem", &pem, NULL);
  return pem;
}

/* Whether any file under @dir holds @needle. */
static gboolean
tree_contains (const gchar *dir,
               const gchar *needle)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const gchar *name;

  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (dir, name, NULL);
      g_autofree gchar *contents = NULL;
      gsize length = 0;

      if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        {
          if (tree_contains (path, needle))
            return TRUE;
          continue;
        }
      if (g_file_get_contents (path, &contents, &length, NULL) &&
          memmem (contents, length, needle, strlen (needle)) != NULL)
        return TRUE;
    }
  return FALSE;
}

static void
test_tls_key_moved_into_store (void)
{
  g_autofree gchar *state_dir = g_build_filename (g_get_user_data_dir (), "tls-state", NULL);
  g_autofree gchar *tls_dir = g_build_filename (state_dir, "tls", NULL);
  g_autofree gchar *cert_path = NULL;
  g_autofree gchar *key_path = NULL;
  g_autofree gchar *cert_pem = NULL;
  g_autoptr(GError) error = NULL;
  HgdTestDaemonOptions options = { .tls = TRUE, .state_dir = state_dir };

  g_test_summary ("A TLS key file an older hemgated left in <state>/tls is moved into the "
                  "secret store (owner core) at start and the file removed; the same "
                  "certificate is served, then and after another start");
  g_test_bug ("issue 19");
  g_assert_true (hgd_tls_ensure_self_signed (tls_dir, &cert_path, &key_path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (cert_path, &cert_pem, NULL, NULL));

  for (guint start = 0; start < 2; start++)
    {
      g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (&options);
      g_autofree gchar *served = served_certificate_pem (td);
      g_autoptr(GTlsCertificate) served_cert = g_tls_certificate_new_from_pem (served, -1, NULL);
      g_autoptr(GTlsCertificate) file_cert = g_tls_certificate_new_from_pem (cert_pem, -1, NULL);
      g_autoptr(HgdTestResponse) listed = hgd_test_daemon_request (
          td, "GET", "/api/v1/secrets", hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN), NULL);
      g_autofree gchar *listed_text = g_strndup (g_bytes_get_data (listed->body, NULL),
                                                 g_bytes_get_size (listed->body));

      g_assert_true (g_tls_certificate_is_same (served_cert, file_cert));
      g_assert_false (g_file_test (key_path, G_FILE_TEST_EXISTS));
      g_assert_false (tree_contains (state_dir, "PRIVATE KEY"));
      g_assert_cmpuint (listed->status, ==, SOUP_STATUS_OK);
      g_assert_nonnull (strstr (listed_text, "\"owner\":\"core\",\"key\":\"tls-key\""));
    }
}

static JsonObject *last_event (HgdTestDaemon *td,
                               HgdRole role);

/* A key and certificate made by openssl in @dir as @name.{key,crt}; "expired" made 400
 * days ago (libfaketime) for 30 days. */
static void
make_certificate (const gchar *dir,
                  const gchar *name,
                  gboolean expired)
{
  g_autofree gchar *key = g_strdup_printf ("%s/%s.key", dir, name);
  g_autofree gchar *crt = g_strdup_printf ("%s/%s.crt", dir, name);
  g_autofree gchar *subject = g_strdup_printf ("/CN=%s.hemgate.test", name);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;

  if (expired)
    {
      g_ptr_array_add (argv, (gpointer) "faketime");
      g_ptr_array_add (argv, (gpointer) "-f");
      g_ptr_array_add (argv, (gpointer) "-400d");
    }
  for (const gchar *const *a = (const gchar *const[]){ "openssl", "req", "-x509", "-newkey", "ec",
                                                       "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                                       "-nodes", "-days", "30", NULL };
       *a != NULL; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, (gpointer) "-subj");
  g_ptr_array_add (argv, subject);
  g_ptr_array_add (argv, (gpointer) "-keyout");
  g_ptr_array_add (argv, key);
  g_ptr_array_add (argv, (gpointer) "-out");
  g_ptr_array_add (argv, crt);
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_newv ((const gchar *const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                   G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                               &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (process, NULL, &error));
  g_assert_no_error (error);
}

/* PUT /api/v1/tls/certificate with @name's certificate and @key_name's key. */
static HgdTestResponse *
install_certificate (HgdTestDaemon *td,
                     const gchar *dir,
                     const gchar *name,
                     const gchar *key_name)
{
  g_autofree gchar *crt_path = g_strdup_printf ("%s/%s.crt", dir, name);
  g_autofree gchar *key_path = g_strdup_printf ("%s/%s.key", dir, key_name);
  g_autofree gchar *crt = NULL;
  g_autofree gchar *key = NULL;
  g_autofree gchar *crt_b64 = NULL;
  g_autofree gchar *key_b64 = NULL;
  g_autofree gchar *body = NULL;

  g_assert_true (g_file_get_contents (crt_path, &crt, NULL, NULL));
  g_assert_true (g_file_get_contents (key_path, &key, NULL, NULL));
  crt_b64 = g_base64_encode ((const guchar *) crt, strlen (crt));
  key_b64 = g_base64_encode ((const guchar *) key, strlen (key));
  body = g_strdup_printf ("{\"certificate_base64\":\"%s\",\"key_base64\":\"%s\"}", crt_b64,
                          key_b64);
  return hgd_test_daemon_request (td, "PUT", "/api/v1/tls/certificate",
                                  hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN), body);
}

static void
test_tls_certificate_installed (void)
{
  g_autofree gchar *state_dir = g_build_filename (g_get_user_data_dir (), "tls-state", NULL);
  g_autofree gchar *dir = g_build_filename (g_get_user_config_dir (), "certs", NULL);
  g_autofree gchar *installed_path = g_build_filename (dir, "installed.crt", NULL);
  g_autofree gchar *installed_pem = NULL;
  g_autoptr(GTlsCertificate) installed = NULL;
  HgdTestDaemonOptions options = { .tls = TRUE, .state_dir = state_dir };

  g_test_summary ("The it-admin installs a certificate and key of their own through the API: "
                  "a key of another certificate, an expired certificate and what is not PEM "
                  "are refused (400) and change nothing; a good one is served on the next "
                  "connection without a restart, journaled without the key, its key kept in "
                  "the secret store, and served again after a restart");
  g_test_bug ("issue 19");
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  make_certificate (dir, "installed", FALSE);
  make_certificate (dir, "other", FALSE);
  make_certificate (dir, "expired", TRUE);
  g_assert_true (g_file_get_contents (installed_path, &installed_pem, NULL, NULL));
  installed = g_tls_certificate_new_from_pem (installed_pem, -1, NULL);
  g_assert_nonnull (installed);

  {
    g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (&options);
    g_autofree gchar *before = served_certificate_pem (td);
    g_autofree gchar *after = NULL;
    g_autoptr(GTlsCertificate) served = NULL;
    g_autoptr(JsonObject) event = NULL;
    g_autofree gchar *event_text = NULL;

    {
      g_autoptr(HgdTestResponse) mismatch = install_certificate (td, dir, "installed", "other");
      g_autoptr(HgdTestResponse) expired = install_certificate (td, dir, "expired", "expired");
      g_autoptr(HgdTestResponse) garbage = hgd_test_daemon_request (
          td, "PUT", "/api/v1/tls/certificate", hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN),
          "{\"certificate_base64\":\"bm90IGEgY2VydA==\",\"key_base64\":\"bm90IGEga2V5\"}");
      g_autoptr(HgdTestResponse) staff = hgd_test_daemon_request (
          td, "PUT", "/api/v1/tls/certificate", hgd_test_daemon_get_token (td, HGD_ROLE_STAFF),
          "{}");
      g_autofree gchar *unchanged = NULL;

      assert_error (mismatch, SOUP_STATUS_BAD_REQUEST, "invalid-certificate");
      g_assert_nonnull (strstr (error_message (mismatch), "key"));
      assert_error (expired, SOUP_STATUS_BAD_REQUEST, "invalid-certificate");
      g_assert_nonnull (strstr (error_message (expired), "expired"));
      assert_error (garbage, SOUP_STATUS_BAD_REQUEST, "invalid-certificate");
      assert_error (staff, SOUP_STATUS_FORBIDDEN, "forbidden");
      unchanged = served_certificate_pem (td);
      g_assert_cmpstr (unchanged, ==, before);
    }
    {
      g_autoptr(HgdTestResponse) response = install_certificate (td, dir, "installed",
                                                                 "installed");
      g_assert_cmpuint (response->status, ==, SOUP_STATUS_OK);
      g_assert_nonnull (strstr (json_object_get_string_member (response->json, "subject"),
                                "installed.hemgate.test"));
    }
    after = served_certificate_pem (td);
    served = g_tls_certificate_new_from_pem (after, -1, NULL);
    g_assert_true (g_tls_certificate_is_same (served, installed));

    event = last_event (td, HGD_ROLE_IT_ADMIN);
    g_assert_cmpstr (json_object_get_string_member (event, "type"), ==,
                     "tls.certificate-installed");
    event_text = hg_json_object_to_string (event);
    g_assert_null (strstr (event_text, "PRIVATE"));
    g_assert_false (tree_contains (state_dir, "PRIVATE KEY"));
  }
  {
    g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (&options);
    g_autofree gchar *served_pem = served_certificate_pem (td);
    g_autoptr(GTlsCertificate) served = g_tls_certificate_new_from_pem (served_pem, -1, NULL);

    g_assert_true (g_tls_certificate_is_same (served, installed));
  }
}

static void
test_tls_self_signed (void)
{
  g_autofree gchar *state_dir = g_build_filename (g_get_user_data_dir (), "tls-state", NULL);
  HgdTestDaemonOptions options = { .tls = TRUE, .state_dir = state_dir };
  g_autofree gchar *tls_dir = g_build_filename (state_dir, "tls", NULL);
  g_autofree gchar *cert_path = g_build_filename (tls_dir, "hemgate.crt", NULL);
  g_autofree gchar *key_path = g_build_filename (tls_dir, "hemgate.key", NULL);
  g_autofree gchar *first_file = NULL;
  g_autofree gchar *second_file = NULL;
  g_autofree gchar *first_served = NULL;
  g_autofree gchar *second_served = NULL;
  g_autoptr(GTlsCertificate) from_file = NULL;
  g_autoptr(GPtrArray) ips = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GDateTime) not_after = NULL;
  g_autoptr(GDateTime) nine_years = NULL;
  g_autofree gchar *subject = NULL;
  gboolean has_loopback = FALSE;
  gboolean has_localhost = FALSE;
  struct stat st;

  g_test_summary (
      "With [api] tls and no configured certificate, the first start makes a self-signed "
      "one (CN=hemgate, SAN localhost and 127.0.0.1, ten years) in <state>/tls (0700) with "
      "its key in the secret store (owner core, never a file), serves it over HTTPS with "
      "Secure cookies, and the next start reuses it");
  {
    g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (&options);
    g_autofree gchar *body = g_strdup_printf ("{\"username\":\"staff\",\"password\":\"%s\"}",
                                              hgd_test_password (HGD_ROLE_STAFF));
    g_autoptr(HgdTestResponse) login = NULL;

    g_assert_true (g_str_has_prefix (td->url, "https://"));
    first_served = served_certificate_pem (td);
    login = hgd_test_daemon_request (td, "POST", "/api/v1/auth/login", NULL, body);
    g_assert_cmpuint (login->status, ==, SOUP_STATUS_OK);
    g_assert_nonnull (
        strstr (soup_message_headers_get_one (login->headers, "Set-Cookie"), "; Secure"));
  }
  g_assert_cmpint (stat (tls_dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_false (g_file_test (key_path, G_FILE_TEST_EXISTS));
  g_assert_false (tree_contains (state_dir, "PRIVATE KEY"));
  g_assert_true (g_file_get_contents (cert_path, &first_file, NULL, NULL));

  from_file = g_tls_certificate_new_from_file (cert_path, NULL);
  g_assert_nonnull (from_file);
  {
    g_autoptr(GTlsCertificate) served = g_tls_certificate_new_from_pem (first_served, -1, NULL);
    g_assert_true (g_tls_certificate_is_same (served, from_file));
  }
  subject = g_tls_certificate_get_subject_name (from_file);
  g_assert_nonnull (strstr (subject, "CN=hemgate"));
  ips = g_tls_certificate_get_ip_addresses (from_file);
  for (guint i = 0; ips != NULL && i < ips->len; i++)
    {
      g_autofree gchar *ip = g_inet_address_to_string (g_ptr_array_index (ips, i));
      has_loopback = has_loopback || g_strcmp0 (ip, "127.0.0.1") == 0;
    }
  g_assert_true (has_loopback);
  names = g_tls_certificate_get_dns_names (from_file);
  for (guint i = 0; names != NULL && i < names->len; i++)
    {
      GBytes *name = g_ptr_array_index (names, i);
      has_localhost = has_localhost
                      || (g_bytes_get_size (name) == strlen ("localhost")
                          && memcmp (g_bytes_get_data (name, NULL), "localhost", 9) == 0);
    }
  g_assert_true (has_localhost);
  not_after = g_tls_certificate_get_not_valid_after (from_file);
  {
    g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
    nine_years = g_date_time_add_years (now, 9);
  }
  g_assert_cmpint (g_date_time_compare (not_after, nine_years), >, 0);

  {
    g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (&options);
    second_served = served_certificate_pem (td);
  }
  g_assert_true (g_file_get_contents (cert_path, &second_file, NULL, NULL));
  g_assert_cmpstr (first_file, ==, second_file);
  g_assert_cmpstr (first_served, ==, second_served);
}

/* /api/ui/ ----------------------------------------------------------------------------- */

static void
assert_ui_headers (HgdTestResponse *response,
                   const gchar *content_type)
{
  const gchar *csp = soup_message_headers_get_one (response->headers, "Content-Security-Policy");

  g_assert_cmpuint (response->status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (soup_message_headers_get_one (response->headers, "Content-Type"), ==,
                   content_type);
  g_assert_nonnull (csp);
  g_assert_true (g_str_has_prefix (csp, "default-src 'self';"));
  g_assert_nonnull (strstr (csp, "script-src 'self';"));
  g_assert_nonnull (strstr (csp, "frame-ancestors 'none'"));
  g_assert_null (strstr (csp, "unsafe-inline"));
  g_assert_null (strstr (csp, "unsafe-eval"));
  g_assert_cmpstr (soup_message_headers_get_one (response->headers, "X-Content-Type-Options"), ==,
                   "nosniff");
  g_assert_cmpstr (soup_message_headers_get_one (response->headers, "Cache-Control"), ==,
                   "no-cache");
  g_assert_nonnull (soup_message_headers_get_one (response->headers, "ETag"));
  g_assert_cmpuint (g_bytes_get_size (response->body), >, 0);
}

static void
test_ui_served (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  g_autoptr(HgdTestResponse) index = NULL;
  g_autoptr(HgdTestResponse) again = NULL;
  g_autoptr(HgdTestResponse) translations = NULL;
  g_autofree gchar *uri = NULL;
  g_autoptr(SoupMessage) conditional = NULL;
  g_autofree gchar *html = NULL;
  JsonObject *messages = NULL;
  static const struct
  {
    const gchar *path;
    const gchar *content_type;
  } assets[] = {
    { "/ui/app.js", "text/javascript; charset=utf-8" },
    { "/ui/style.css", "text/css; charset=utf-8" },
    { "/ui/uplot.esm.js", "text/javascript; charset=utf-8" },
    { "/ui/uplot.min.css", "text/css; charset=utf-8" },
  };
  static const gchar *const missing[] = {
    "/ui/no-such-file.js", "/ui/index.exe", "/ui/..app.js", "/ui/app.js/x",
    "/no-such-page", "/ui/", "/index.html",
  };

  g_test_summary ("GET / serves the UI page to anyone with a strict Content-Security-Policy, "
                  "nosniff and no-cache with an ETag (If-None-Match answers 304); each asset "
                  "has its content type; the translations come from po/; any other path is the "
                  "JSON 404 the API always gave; the session names the gateway's time zone");

  index = hgd_test_daemon_request (td, "GET", "/", NULL, NULL);
  assert_ui_headers (index, "text/html; charset=utf-8");
  html = g_strndup (g_bytes_get_data (index->body, NULL), g_bytes_get_size (index->body));
  g_assert_nonnull (strstr (html, "<script type=\"module\" src=\"/ui/app.js\"></script>"));
  /* no inline script: every <script> has a src */
  for (const gchar *p = strstr (html, "<script"); p != NULL; p = strstr (p + 1, "<script"))
    g_assert_true (g_str_has_prefix (p, "<script type=\"module\" src=\"/ui/"));

  uri = hgd_test_daemon_uri (td, "/");
  conditional = soup_message_new ("GET", uri);
  soup_message_headers_replace (soup_message_get_request_headers (conditional), "If-None-Match",
                                soup_message_headers_get_one (index->headers, "ETag"));
  again = hgd_test_daemon_send (td, conditional);
  g_assert_cmpuint (again->status, ==, SOUP_STATUS_NOT_MODIFIED);
  g_assert_cmpuint (g_bytes_get_size (again->body), ==, 0);

  for (gsize i = 0; i < G_N_ELEMENTS (assets); i++)
    {
      g_autoptr(HgdTestResponse) asset
          = hgd_test_daemon_request (td, "GET", assets[i].path, NULL, NULL);
      g_test_message ("%s: %u", assets[i].path, asset->status);
      assert_ui_headers (asset, assets[i].content_type);
    }

  translations = hgd_test_daemon_request (td, "GET", "/ui/sv.json", NULL, NULL);
  assert_ui_headers (translations, "application/json");
  g_assert_nonnull (translations->json);
  g_assert_true (hg_json_object_get_object (translations->json, "messages", &messages, NULL));
  g_assert_cmpstr (json_object_get_string_member_with_default (messages, "Press Ctrl+C to stop.",
                                                               NULL),
                   ==, "Tryck Ctrl+C för att stoppa.");

  for (gsize i = 0; i < G_N_ELEMENTS (missing); i++)
    {
      g_autoptr(HgdTestResponse) response
          = hgd_test_daemon_request (td, "GET", missing[i], NULL, NULL);
      g_test_message ("%s: %u", missing[i], response->status);
      assert_error (response, SOUP_STATUS_NOT_FOUND, "not-found");
    }
  {
    g_autoptr(HgdTestResponse) api
        = hgd_test_daemon_request (td, "GET", "/api/v1/no-such-route", NULL, NULL);
    assert_error (api, SOUP_STATUS_NOT_FOUND, "not-found");
    g_assert_cmpstr (soup_message_headers_get_one (api->headers, "Content-Type"), ==,
                     "application/json");
    g_assert_cmpstr (soup_message_headers_get_one (api->headers, "Cache-Control"), ==,
                     "no-store");
  }
  {
    g_autoptr(HgdTestResponse) post = hgd_test_daemon_request (td, "POST", "/", NULL, "{}");
    assert_error (post, SOUP_STATUS_METHOD_NOT_ALLOWED, "method-not-allowed");
  }
  {
    /* [daemon] timezone, when set, is the gateway's zone for the UI as for the plugins */
    static const gchar *const overrides[] = { "daemon", "timezone", "America/Sao_Paulo", NULL };
    HgdTestDaemonOptions options = { .overrides = overrides };
    g_autoptr(HgdTestDaemon) configured = hgd_test_daemon_new (&options);
    g_autoptr(HgdTestResponse) session = hgd_test_daemon_request (
        configured, "GET", "/api/v1/auth/session",
        hgd_test_daemon_get_token (configured, HGD_ROLE_RESIDENT), NULL);
    g_assert_cmpuint (session->status, ==, SOUP_STATUS_OK);
    g_assert_cmpstr (json_object_get_string_member_with_default (session->json, "timezone", NULL),
                     ==, "America/Sao_Paulo");
  }
  {
    /* the UI shows times in the gateway's time zone, which the session names */
    g_autoptr(HgdTestResponse) session = hgd_test_daemon_request (
        td, "GET", "/api/v1/auth/session", hgd_test_daemon_get_token (td, HGD_ROLE_STAFF), NULL);
    const gchar *timezone = NULL;
    g_assert_cmpuint (session->status, ==, SOUP_STATUS_OK);
    g_assert_true (hg_json_object_get_string (session->json, "timezone", &timezone, NULL));
    g_assert_cmpstr (timezone, !=, "");
  }
}

/* The real hemgated as a process of its own ------------------------------------------------
 * Cases that count the daemon's descriptors, or that block on a socket, cannot run the
 * daemon in the test process: they start the hemgated binary on a free loopback port. */

typedef struct
{
  gchar *dir;          /* (owned) config, log and notify socket */
  GSubprocess *process; /* (owned) */
  HgTestNotify *notify; /* (owned) NOTIFY_SOCKET, for READY=1 */
  guint16 port;
} Spawned;

static void
spawned_child_setup (gpointer user_data)
{
  struct rlimit limit;

  /* the usual soft limit, as a service manager leaves it: hemgated must raise it */
  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_max > 1024)
    {
      limit.rlim_cur = 1024;
      setrlimit (RLIMIT_NOFILE, &limit);
    }
}

/* Starts hemgated on 127.0.0.1, with TLS if @tls, and @api_conf added to its [api] group. */
static Spawned *
spawned_start_full (const gchar *api_conf,
                    gboolean tls)
{
  const gchar *scheme = tls ? "https" : "http";
  g_autofree gchar *listening = NULL;
  Spawned *spawned = g_new0 (Spawned, 1);
  g_autofree gchar *conf = NULL;
  g_autofree gchar *conf_text = NULL;
  g_autofree gchar *log = NULL;
  g_autofree gchar *log_text = NULL;
  g_autofree gchar *notify_path = NULL;
  g_autofree gchar *daemon = g_test_build_filename (G_TEST_BUILT, "..", "daemon", "core", "hemgated", NULL);
  g_autoptr(GSubprocessLauncher) launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr(GError) error = NULL;
  const gchar *url;

  spawned->dir = g_build_filename (g_get_user_runtime_dir (), tls ? "spawned-tls" : "spawned",
                                   NULL);
  g_assert_cmpint (g_mkdir_with_parents (spawned->dir, 0700), ==, 0);
  conf = g_build_filename (spawned->dir, "hemgate.conf", NULL);
  log = g_build_filename (spawned->dir, "hemgated.log", NULL);
  notify_path = g_build_filename (spawned->dir, "notify", NULL);
  conf_text = g_strdup_printf ("[daemon]\nstate-dir = %s/state\n[api]\nport = 0\n"
                               "listen-address = 127.0.0.1\ntls = %s\n%s",
                               spawned->dir, tls ? "true" : "false", api_conf);
  g_assert_true (g_file_set_contents (conf, conf_text, -1, &error));
  g_assert_no_error (error);

  spawned->notify = hg_test_notify_new (notify_path);

  g_subprocess_launcher_setenv (launcher, "NOTIFY_SOCKET", notify_path, TRUE);
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  g_subprocess_launcher_set_child_setup (launcher, spawned_child_setup, NULL, NULL);
  spawned->process = g_subprocess_launcher_spawn (launcher, &error, daemon, "--config", conf, NULL);
  g_assert_no_error (error);
  hg_test_wait_until (&spawned->notify->ready, 30);

  /* "API listening on http://127.0.0.1:PORT", logged before READY=1 */
  g_assert_true (g_file_get_contents (log, &log_text, NULL, &error));
  g_assert_no_error (error);
  listening = g_strdup_printf ("API listening on %s://127.0.0.1:", scheme);
  url = strstr (log_text, listening);
  g_assert_nonnull (url);
  spawned->port = (guint16) g_ascii_strtoull (url + strlen (listening), NULL, 10);
  g_assert_cmpuint (spawned->port, >, 0);
  return spawned;
}

/* Starts hemgated with plain HTTP on 127.0.0.1 and @api_conf added to its [api] group. */
static Spawned *
spawned_start (const gchar *api_conf)
{
  return spawned_start_full (api_conf, FALSE);
}

static void
spawned_stop (Spawned *spawned)
{
  g_subprocess_force_exit (spawned->process);
  g_subprocess_wait (spawned->process, NULL, NULL);
  hg_test_notify_free (spawned->notify);
  g_object_unref (spawned->process);
  g_free (spawned->dir);
  g_free (spawned);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Spawned, spawned_stop)

/* The daemon's open descriptors, from /proc. */
static guint
spawned_count_fds (Spawned *spawned)
{
  guint n = 0;

  g_assert_true (hg_test_proc_count_fds (
      (gint)g_ascii_strtoll (g_subprocess_get_identifier (spawned->process), NULL, 10), &n));
  return n;
}

/* A plain blocking TCP client; every read or write gives up after 30 s. */
static GSocket *
raw_connect (guint16 port)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, port);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);

  g_assert_no_error (error);
  g_socket_set_timeout (socket, 30);
  g_socket_connect (socket, address, NULL, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&socket);
}

static void
raw_send (GSocket *socket,
          const gchar *text)
{
  gsize len = strlen (text);
  gsize sent = 0;

  while (sent < len)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_send (socket, text + sent, len - sent, NULL, &error);
      g_assert_no_error (error);
      sent += (gsize) n;
    }
}

static guint raw_read_response_full (GSocket *socket,
                                     gchar **head_out,
                                     gchar **body);

/* Reads one response with a Content-Length body; returns its status. */
static guint
raw_read_response (GSocket *socket,
                   gchar **body)
{
  return raw_read_response_full (socket, NULL, body);
}

/* Same, also giving the status line and headers in @head_out. */
static guint
raw_read_response_full (GSocket *socket,
                        gchar **head_out,
                        gchar **body)
{
  g_autoptr(GString) in = g_string_new (NULL);
  const gchar *end;
  const gchar *length;
  gsize head;
  guint64 content_length = 0;
  guint status = 0;

  while ((end = strstr (in->str, "\r\n\r\n")) == NULL)
    {
      g_autoptr(GError) error = NULL;
      gchar buf[4096];
      gssize n = g_socket_receive (socket, buf, sizeof (buf), NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      g_string_append_len (in, buf, n);
    }
  head = (gsize) (end - in->str) + 4;
  g_assert_true (g_str_has_prefix (in->str, "HTTP/1.1 ") ||
                 g_str_has_prefix (in->str, "HTTP/1.0 "));
  status = (guint) g_ascii_strtoull (in->str + strlen ("HTTP/1.1 "), NULL, 10);
  length = g_strstr_len (in->str, (gssize) head, "Content-Length: ");
  if (length != NULL)
    content_length = g_ascii_strtoull (length + strlen ("Content-Length: "), NULL, 10);
  while (in->len < head + content_length)
    {
      g_autoptr(GError) error = NULL;
      gchar buf[4096];
      gssize n = g_socket_receive (socket, buf, sizeof (buf), NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      g_string_append_len (in, buf, n);
    }
  if (body != NULL)
    *body = g_strndup (in->str + head, content_length);
  if (head_out != NULL)
    *head_out = g_strndup (in->str, head);
  return status;
}

/* Reads until the daemon closes the connection: TRUE if it did, FALSE on the 30 s timeout. */
static gboolean
raw_wait_closed (GSocket *socket)
{
  while (TRUE)
    {
      g_autoptr(GError) error = NULL;
      gchar buf[4096];
      gssize n = g_socket_receive (socket, buf, sizeof (buf), NULL, &error);

      if (n == 0)
        return TRUE;
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        return FALSE;
      if (error != NULL)
        return TRUE; /* reset */
    }
}

/* One request on a connection of its own, which the daemon closes after the answer. */
static guint
raw_request (guint16 port,
             const gchar *text,
             gchar **body)
{
  g_autoptr(GSocket) socket = raw_connect (port);
  guint status;

  raw_send (socket, text);
  status = raw_read_response (socket, body);
  g_assert_true (raw_wait_closed (socket));
  return status;
}

static guint
raw_health (guint16 port)
{
  g_autofree gchar *text = g_strdup_printf (
      "GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n\r\n", port);
  return raw_request (port, text, NULL);
}

static void
raise_own_descriptor_limit (void)
{
  struct rlimit limit;

  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &limit), ==, 0);
  limit.rlim_cur = limit.rlim_max;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &limit), ==, 0);
}

/* Runs `openssl s_client -brief` against 127.0.0.1:@port with @args, @request on its
 * stdin (then end of input: with -ign_eof it waits for the answer, else it closes); returns
 * whether the handshake completed, with its output in @out. */
static gboolean
openssl_client (guint16 port,
                const gchar *const *args,
                const gchar *request,
                gchar **out)
{
  g_autofree gchar *openssl = g_find_program_in_path ("openssl");
  g_autofree gchar *connect = g_strdup_printf ("127.0.0.1:%u", port);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (openssl); /* Debian's openssl package, in ./dev deps */
  g_ptr_array_add (argv, openssl);
  g_ptr_array_add (argv, (gpointer) "s_client");
  g_ptr_array_add (argv, (gpointer) "-connect");
  g_ptr_array_add (argv, connect);
  g_ptr_array_add (argv, (gpointer) "-brief");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_newv ((const gchar *const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                   | G_SUBPROCESS_FLAGS_STDERR_MERGE,
                               &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (process, request, NULL, out, NULL, &error));
  g_assert_no_error (error);
  return g_subprocess_get_if_exited (process) && g_subprocess_get_exit_status (process) == 0 &&
         strstr (*out, "CONNECTION ESTABLISHED") != NULL;
}

static void
test_tls_versions_and_hsts (void)
{
  const gchar *request = "GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         "Connection: close\r\n\r\n";
  /* SECLEVEL=0: the client would refuse TLS 1.0 and 1.1 itself otherwise */
  const gchar *const tls1_0[] = { "-tls1", "-cipher", "DEFAULT@SECLEVEL=0", NULL };
  const gchar *const tls1_1[] = { "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", NULL };
  const gchar *const tls1_2[] = { "-tls1_2", "-ign_eof", NULL };
  const gchar *const tls1_3[] = { "-tls1_3", "-ign_eof", NULL };
  const gchar *const weak_cipher[] = { "-tls1_2", "-cipher", "AES256-SHA:ECDHE-ECDSA-AES256-SHA",
                                       NULL };

  g_test_summary ("The installed hemgated (started as the unit does, with its default "
                  "[api] tls-priority) refuses TLS 1.0 and 1.1 handshakes and CBC ciphers, "
                  "completes TLS 1.2 and 1.3 ones, and sends Strict-Transport-Security on "
                  "answers over TLS but not over plain HTTP");
  g_test_bug ("issue 19");
  {
    g_autoptr(Spawned) spawned = spawned_start_full ("", TRUE);
    g_autofree gchar *out = NULL;

    g_assert_false (openssl_client (spawned->port, tls1_0, "", &out));
    g_clear_pointer (&out, g_free);
    g_assert_false (openssl_client (spawned->port, tls1_1, "", &out));
    g_clear_pointer (&out, g_free);
    g_assert_false (openssl_client (spawned->port, weak_cipher, "", &out));
    g_clear_pointer (&out, g_free);

    g_assert_true (openssl_client (spawned->port, tls1_2, request, &out));
    g_assert_nonnull (strstr (out, "Protocol version: TLSv1.2"));
    g_assert_nonnull (strstr (out, "HTTP/1.1 200"));
    g_assert_nonnull (strstr (out, "\r\nStrict-Transport-Security: max-age=31536000\r\n"));
    g_clear_pointer (&out, g_free);
    g_assert_true (openssl_client (spawned->port, tls1_3, request, &out));
    g_assert_nonnull (strstr (out, "Protocol version: TLSv1.3"));
    g_assert_nonnull (strstr (out, "HTTP/1.1 200"));
    g_assert_nonnull (strstr (out, "\r\nStrict-Transport-Security: max-age=31536000\r\n"));
  }
  {
    g_autoptr(Spawned) spawned = spawned_start ("");
    g_autoptr(GSocket) socket = raw_connect (spawned->port);
    g_autofree gchar *head = NULL;
    g_autofree gchar *body = NULL;

    raw_send (socket, request);
    g_assert_cmpuint (raw_read_response_full (socket, &head, &body), ==, 200);
    g_assert_null (strstr (head, "Strict-Transport-Security"));
  }
}

static void
test_connections_released (void)
{
  g_autoptr(Spawned) spawned = spawned_start ("request-timeout = 2\n");
  g_autoptr(GPtrArray) kept = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) slow = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree gchar *limits_path = NULL;
  g_autofree gchar *limits = NULL;
  g_autofree gchar *keep_alive = g_strdup_printf (
      "GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", spawned->port);
  g_autofree gchar *partial = g_strdup_printf (
      "GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nX-Slow: ", spawned->port);
  g_auto(GStrv) soft_hard = NULL;
  const gchar *line;
  guint baseline;
  gboolean released = FALSE;

  g_test_bug ("12");
  g_test_summary ("2,000 kept-alive connections that their clients close and 500 whose headers "
                  "never end do not keep the daemon's descriptors: the count returns to its "
                  "baseline, /api/v1/health answers throughout, and hemgated raised its soft "
                  "descriptor limit to the hard one");
  raise_own_descriptor_limit ();

  limits_path = g_strdup_printf ("/proc/%s/limits", g_subprocess_get_identifier (spawned->process));
  g_assert_true (g_file_get_contents (limits_path, &limits, NULL, NULL));
  line = strstr (limits, "Max open files");
  g_assert_nonnull (line);
  soft_hard = g_regex_split_simple ("\\s+", line + strlen ("Max open files"), 0, 0);
  g_assert_cmpstr (soft_hard[1], ==, soft_hard[2]);

  g_assert_cmpuint (raw_health (spawned->port), ==, SOUP_STATUS_OK);
  baseline = spawned_count_fds (spawned);

  /* four rounds of 500 held at once, so that the test needs no more than a few hundred
   * descriptors above the usual 1024 itself */
  for (guint round = 0; round < 4; round++)
    {
      for (guint i = 0; i < 500; i++)
        {
          GSocket *socket = raw_connect (spawned->port);
          g_ptr_array_add (kept, socket);
          raw_send (socket, keep_alive);
          g_assert_cmpuint (raw_read_response (socket, NULL), ==, SOUP_STATUS_OK);
        }
      g_assert_cmpuint (raw_health (spawned->port), ==, SOUP_STATUS_OK);
      g_ptr_array_set_size (kept, 0); /* the clients close them */
    }

  for (guint i = 0; i < 500; i++)
    {
      GSocket *socket = raw_connect (spawned->port);
      g_ptr_array_add (slow, socket);
      raw_send (socket, partial);
    }
  g_assert_cmpuint (raw_health (spawned->port), ==, SOUP_STATUS_OK);
  /* [api] request-timeout: the daemon closes each of them */
  for (guint i = 0; i < slow->len; i++)
    g_assert_true (raw_wait_closed (g_ptr_array_index (slow, i)));
  g_assert_cmpuint (raw_health (spawned->port), ==, SOUP_STATUS_OK);
  g_ptr_array_set_size (slow, 0);

  /* closing is asynchronous in the daemon: give it a bounded while */
  for (guint i = 0; i < 300 && !released; i++)
    {
      released = spawned_count_fds (spawned) <= baseline;
      if (!released)
        hg_test_run_for (100);
    }
  if (!released)
    g_test_message ("descriptors: %u, baseline %u", spawned_count_fds (spawned), baseline);
  g_assert_true (released);
  g_assert_cmpuint (raw_health (spawned->port), ==, SOUP_STATUS_OK);
}

/* Waits a bounded while for the daemon's descriptor count to fall to @baseline. */
static gboolean
spawned_wait_fds (Spawned *spawned,
                  guint baseline)
{
  for (guint i = 0; i < 300; i++)
    {
      if (spawned_count_fds (spawned) <= baseline)
        return TRUE;
      hg_test_run_for (100);
    }
  g_test_message ("descriptors: %u, baseline %u", spawned_count_fds (spawned), baseline);
  return FALSE;
}

static void
test_connections_kept_alive (void)
{
  /* an hour: only the daemon's watch on idle connections can release them in time */
  g_autoptr(Spawned) spawned = spawned_start ("keep-alive-timeout = 3600\n");
  g_autoptr(GPtrArray) kept = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GSocket) socket = NULL;
  g_autofree gchar *request = g_strdup_printf (
      "GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", spawned->port);
  guint baseline;

  g_test_bug ("13");
  g_test_summary ("A connection serves several requests; 1,000 clients that keep their "
                  "connections alive and close them while idle (some after sending half a "
                  "request line) do not keep the daemon's descriptors: the count returns to "
                  "its baseline long before [api] keep-alive-timeout");
  raise_own_descriptor_limit ();
  g_assert_cmpuint (raw_health (spawned->port), ==, SOUP_STATUS_OK);
  baseline = spawned_count_fds (spawned);

  socket = raw_connect (spawned->port);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree gchar *head = NULL;

      raw_send (socket, request);
      g_assert_cmpuint (raw_read_response_full (socket, &head, NULL), ==, SOUP_STATUS_OK);
      g_assert_null (strstr (head, "Connection: close"));
    }
  g_clear_object (&socket);

  for (guint round = 0; round < 2; round++)
    {
      for (guint i = 0; i < 500; i++)
        {
          GSocket *client = raw_connect (spawned->port);

          g_ptr_array_add (kept, client);
          raw_send (client, request);
          g_assert_cmpuint (raw_read_response (client, NULL), ==, SOUP_STATUS_OK);
          raw_send (client, request);
          g_assert_cmpuint (raw_read_response (client, NULL), ==, SOUP_STATUS_OK);
          if (i % 5 == 0)
            raw_send (client, "GET /api/v1/hea");
        }
      g_assert_cmpuint (raw_health (spawned->port), ==, SOUP_STATUS_OK);
      g_assert_cmpuint (spawned_count_fds (spawned), >=, baseline + 400);
      /* the clients close them, idle */
      g_ptr_array_set_size (kept, 0);
      g_assert_true (spawned_wait_fds (spawned, baseline));
    }
  g_assert_cmpuint (raw_health (spawned->port), ==, SOUP_STATUS_OK);
}

static void
test_connections_idle_closed (void)
{
  g_autoptr(Spawned) spawned
      = spawned_start ("keep-alive-timeout = 1\nmax-connections = 16\n");
  g_autoptr(GPtrArray) kept = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree gchar *request = g_strdup_printf (
      "GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", spawned->port);
  guint baseline;

  g_test_bug ("13");
  g_test_summary ("An idle kept-alive connection does not hold an [api] max-connections slot "
                  "for ever: the daemon closes it after [api] keep-alive-timeout, and new "
                  "clients are served again");
  g_assert_cmpuint (raw_health (spawned->port), ==, SOUP_STATUS_OK);
  baseline = spawned_count_fds (spawned);
  /* all but one slot (the connection of raw_health () may not be gone yet), twice: the
   * second round is served only if the daemon closed the first one's idle connections */
  for (guint round = 0; round < 2; round++)
    {
      for (guint i = 0; i < 15; i++)
        {
          GSocket *client = raw_connect (spawned->port);

          g_ptr_array_add (kept, client);
          raw_send (client, request);
          g_assert_cmpuint (raw_read_response (client, NULL), ==, SOUP_STATUS_OK);
        }
      for (guint i = 0; i < kept->len; i++)
        g_assert_true (raw_wait_closed (g_ptr_array_index (kept, i)));
      g_ptr_array_set_size (kept, 0);
      g_assert_true (spawned_wait_fds (spawned, baseline));
    }
  g_assert_cmpuint (raw_health (spawned->port), ==, SOUP_STATUS_OK);
}

static void
test_body_never_comes (void)
{
  g_autoptr(Spawned) spawned = spawned_start ("request-timeout = 1\n");
  g_autofree gchar *too_large = g_strdup_printf (
      "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
      "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{",
      spawned->port);
  g_autofree gchar *short_body = g_strdup_printf (
      "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
      "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
      spawned->port);
  g_autofree gchar *body = NULL;
  g_autofree gchar *body2 = NULL;
  guint status;

  g_test_bug ("12");
  g_test_summary ("A declared body over the limit is answered 413 without waiting for it; a "
                  "declared body that does not come is answered 408 after [api] "
                  "request-timeout; both connections are closed");

  status = raw_request (spawned->port, too_large, &body);
  g_assert_cmpuint (status, ==, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE);
  g_assert_nonnull (strstr (body, "\"payload-too-large\""));

  status = raw_request (spawned->port, short_body, &body2);
  g_assert_cmpuint (status, ==, SOUP_STATUS_REQUEST_TIMEOUT);
  g_assert_nonnull (strstr (body2, "\"request-timeout\""));
  g_assert_cmpuint (raw_health (spawned->port), ==, SOUP_STATUS_OK);
}

/* Sends @method @path with the given Host and Origin (either may be NULL: left as the
 * session sets it, or absent). */
static HgdTestResponse *
request_with_host (HgdTestDaemon *td,
                   const gchar *method,
                   const gchar *path,
                   const gchar *host,
                   const gchar *origin,
                   const gchar *json_body)
{
  g_autofree gchar *uri = hgd_test_daemon_uri (td, path);
  g_autoptr(SoupMessage) msg = soup_message_new (method, uri);
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);

  if (host != NULL)
    soup_message_headers_replace (headers, "Host", host);
  if (origin != NULL)
    soup_message_headers_replace (headers, "Origin", origin);
  if (json_body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (json_body, strlen (json_body));
      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }
  return hgd_test_daemon_send (td, msg);
}

static void
test_foreign_host_refused (void)
{
  const gchar *const overrides[] = { "api", "host-names", "gateway.test; hemma.example", NULL };
  HgdTestDaemonOptions options = { .overrides = overrides };
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (&options);
  const gchar *port = strrchr (td->url, ':') + 1;
  g_autofree gchar *localhost = g_strdup_printf ("localhost:%s", port);
  g_autofree gchar *configured = g_strdup_printf ("GATEWAY.test.:%s", port);
  g_autofree gchar *rebound = g_strdup_printf ("attacker.example:%s", port);
  const gchar *const refused[] = { rebound, "attacker.example", "10.20.30.40", "[2001:db8::1]:80",
                                   "gateway.test.attacker.example" };
  const gchar *const accepted[] = { localhost, configured, "hemma.example", "127.0.0.1", "[::1]" };

  g_test_bug ("12");
  g_test_summary ("A Host naming neither the listen address, loopback, localhost nor an [api] "
                  "host-names entry is refused with 421 unknown-host on every route, anonymous "
                  "ones included (DNS rebinding); the gateway's own names are served");

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr(HgdTestResponse) health
          = request_with_host (td, "GET", "/api/v1/health", refused[i], NULL, NULL);
      g_autoptr(HgdTestResponse) ui = request_with_host (td, "GET", "/", refused[i], NULL, NULL);
      g_autoptr(HgdTestResponse) login = request_with_host (
          td, "POST", "/api/v1/auth/login", refused[i], NULL,
          "{\"username\":\"nobody\",\"password\":\"nothing-at-all\"}");

      g_test_message ("Host: %s", refused[i]);
      assert_error (health, SOUP_STATUS_MISDIRECTED_REQUEST, "unknown-host");
      assert_error (ui, SOUP_STATUS_MISDIRECTED_REQUEST, "unknown-host");
      assert_error (login, SOUP_STATUS_MISDIRECTED_REQUEST, "unknown-host");
    }
  for (guint i = 0; i < G_N_ELEMENTS (accepted); i++)
    {
      g_autoptr(HgdTestResponse) health
          = request_with_host (td, "GET", "/api/v1/health", accepted[i], NULL, NULL);

      g_test_message ("Host: %s", accepted[i]);
      g_assert_cmpuint (health->status, ==, SOUP_STATUS_OK);
    }
}

static void
test_login_foreign_origin_refused (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  g_autofree gchar *body = g_strdup_printf ("{\"username\":\"%s\",\"password\":\"%s\"}",
                                            hgd_test_username (HGD_ROLE_RESIDENT),
                                            hgd_test_password (HGD_ROLE_RESIDENT));
  g_autoptr(HgdTestResponse) foreign = NULL;
  g_autoptr(HgdTestResponse) own = NULL;
  g_autoptr(HgdTestResponse) none = NULL;

  g_test_bug ("12");
  g_test_summary ("Login from a page of another origin is refused (login CSRF); from the "
                  "gateway's own origin, or without Origin (the CLI), it succeeds; the https "
                  "origin behind a TLS proxy counts as own only if the proxy is trusted");

  foreign = request_with_host (td, "POST", "/api/v1/auth/login", NULL, "http://attacker.example",
                               body);
  assert_error (foreign, SOUP_STATUS_FORBIDDEN, "forbidden");
  g_assert_null (soup_message_headers_get_one (foreign->headers, "Set-Cookie"));

  own = request_with_host (td, "POST", "/api/v1/auth/login", NULL, td->url, body);
  g_assert_cmpuint (own->status, ==, SOUP_STATUS_OK);
  none = request_with_host (td, "POST", "/api/v1/auth/login", NULL, NULL, body);
  g_assert_cmpuint (none->status, ==, SOUP_STATUS_OK);

  /* behind a TLS proxy the page's origin is https: believed from a trusted proxy only */
  {
    const gchar *const overrides[] = { "api", "trusted-proxies", "127.0.0.1", NULL };
    HgdTestDaemonOptions options = { .overrides = overrides };
    g_autoptr(HgdTestDaemon) proxied = hgd_test_daemon_new (&options);
    HgdTestDaemon *daemons[] = { proxied, td };

    for (guint i = 0; i < G_N_ELEMENTS (daemons); i++)
      {
        g_autofree gchar *uri = hgd_test_daemon_uri (daemons[i], "/api/v1/auth/login");
        g_autofree gchar *origin
            = g_strdup_printf ("https://%s", daemons[i]->url + strlen ("http://"));
        g_autoptr(SoupMessage) msg = soup_message_new ("POST", uri);
        g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
        g_autoptr(HgdTestResponse) response = NULL;

        soup_message_headers_replace (soup_message_get_request_headers (msg), "Origin", origin);
        soup_message_headers_replace (soup_message_get_request_headers (msg), "X-Forwarded-Proto",
                                      "https");
        soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
        response = hgd_test_daemon_send (daemons[i], msg);
        if (daemons[i] == proxied)
          g_assert_cmpuint (response->status, ==, SOUP_STATUS_OK);
        else
          assert_error (response, SOUP_STATUS_FORBIDDEN, "forbidden");
      }
  }
}

/* A login as @username from the client that X-Forwarded-For names (NULL: none). */
static HgdTestResponse *
login_forwarded (HgdTestDaemon *td,
                 const gchar *username,
                 const gchar *password,
                 const gchar *forwarded_for)
{
  g_autofree gchar *uri = hgd_test_daemon_uri (td, "/api/v1/auth/login");
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", uri);
  g_autofree gchar *body
      = g_strdup_printf ("{\"username\":\"%s\",\"password\":\"%s\"}", username, password);
  g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

  if (forwarded_for != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg), "X-Forwarded-For",
                                  forwarded_for);
  soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
  return hgd_test_daemon_send (td, msg);
}

static void
test_login_limits_per_client (void)
{
  const gchar *const overrides[] = { "api", "trusted-proxies", "127.0.0.0/8", NULL };
  HgdTestDaemonOptions options = { .overrides = overrides };
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (&options);
  g_autoptr(HgdTestDaemon) untrusting = hgd_test_daemon_new (NULL);
  const gchar *resident = hgd_test_username (HGD_ROLE_RESIDENT);
  const gchar *family = hgd_test_username (HGD_ROLE_FAMILY);
  const gchar *staff = hgd_test_username (HGD_ROLE_STAFF);

  g_test_bug ("12");
  g_test_summary ("Behind a trusted proxy, five wrong passwords for the resident from one "
                  "address delay only that address (429 with Retry-After), not the resident "
                  "elsewhere nor other users at that address; X-Forwarded-For from a peer "
                  "that is not a trusted proxy is ignored");

  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(HgdTestResponse) wrong
          = login_forwarded (td, resident, "not-the-password", "203.0.113.5");
      assert_error (wrong, SOUP_STATUS_UNAUTHORIZED, "bad-login");
    }
  {
    g_autoptr(HgdTestResponse) delayed = login_forwarded (
        td, resident, hgd_test_password (HGD_ROLE_RESIDENT), "198.51.100.9, 203.0.113.5");
    assert_error (delayed, 429, "rate-limited");
    g_assert_cmpstr (soup_message_headers_get_one (delayed->headers, "Retry-After"), ==, "1");
  }
  {
    g_autoptr(HgdTestResponse) elsewhere = login_forwarded (
        td, resident, hgd_test_password (HGD_ROLE_RESIDENT), "203.0.113.6");
    g_assert_cmpuint (elsewhere->status, ==, SOUP_STATUS_OK);
  }
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(HgdTestResponse) wrong
          = login_forwarded (td, family, "not-the-password", "203.0.113.7");
      assert_error (wrong, SOUP_STATUS_UNAUTHORIZED, "bad-login");
    }
  {
    g_autoptr(HgdTestResponse) neighbour
        = login_forwarded (td, staff, hgd_test_password (HGD_ROLE_STAFF), "203.0.113.7");
    g_assert_cmpuint (neighbour->status, ==, SOUP_STATUS_OK);
  }

  /* without [api] trusted-proxies the header changes nothing: all is one client */
  for (guint i = 0; i < 5; i++)
    {
      g_autofree gchar *spoofed = g_strdup_printf ("192.0.2.%u", i + 1);
      g_autoptr(HgdTestResponse) wrong
          = login_forwarded (untrusting, resident, "not-the-password", spoofed);
      assert_error (wrong, SOUP_STATUS_UNAUTHORIZED, "bad-login");
    }
  {
    g_autoptr(HgdTestResponse) spoofed = login_forwarded (
        untrusting, resident, hgd_test_password (HGD_ROLE_RESIDENT), "192.0.2.200");
    assert_error (spoofed, 429, "rate-limited");
  }
}

static void
test_weak_password_refused (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  const gchar *admin = hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN);
  const gchar *const weak[] = { "1234567890", "short-pw", "QwertyUiop" };

  g_test_bug ("12");
  g_test_summary ("A new password shorter than 10 characters or on the common list is refused "
                  "with 400 weak-password stating the rule, when a user is made and when a "
                  "password is reset; nothing is stored");

  for (guint i = 0; i < G_N_ELEMENTS (weak); i++)
    {
      g_autofree gchar *create = g_strdup_printf (
          "{\"username\":\"nurse9\",\"role\":\"staff\",\"password\":\"%s\"}", weak[i]);
      g_autofree gchar *reset = g_strdup_printf ("{\"password\":\"%s\"}", weak[i]);
      g_autoptr(HgdTestResponse) created
          = hgd_test_daemon_request (td, "POST", "/api/v1/users", admin, create);
      g_autoptr(HgdTestResponse) changed = hgd_test_daemon_request (
          td, "POST", "/api/v1/users/staff/password", admin, reset);
      const gchar *message = NULL;

      assert_error (created, SOUP_STATUS_BAD_REQUEST, "weak-password");
      g_assert_true (hg_json_object_get_string (
          json_object_get_object_member (created->json, "error"), "message", &message, NULL));
      g_assert_nonnull (strstr (message, "at least 10 characters; common passwords are refused"));
      g_assert_null (strstr (message, weak[i]));
      assert_error (changed, SOUP_STATUS_BAD_REQUEST, "weak-password");
    }
  {
    g_autoptr(HgdTestResponse) still = login_forwarded (td, hgd_test_username (HGD_ROLE_STAFF),
                                                        hgd_test_password (HGD_ROLE_STAFF), NULL);
    g_autoptr(HgdTestResponse) none = login_forwarded (td, "nurse9", "1234567890", NULL);
    g_assert_cmpuint (still->status, ==, SOUP_STATUS_OK);
    assert_error (none, SOUP_STATUS_UNAUTHORIZED, "bad-login");
  }
}

/* The resident's own alarms and data rights -------------------------------------------- */

/* How many frames of @client are of @type (and, if given, about alarm @ref). */
static guint
ws_count_type (WsClient *client,
               const gchar *type,
               const gchar *ref)
{
  guint n = 0;

  for (guint i = 0; i < client->events->len; i++)
    {
      JsonObject *event = g_ptr_array_index (client->events, i);
      JsonObject *body = json_object_get_object_member (event, "body");

      if (g_strcmp0 (json_object_get_string_member (event, "type"), type) != 0)
        continue;
      if (ref != NULL && g_strcmp0 (json_object_get_string_member_with_default (body, "ref", NULL), ref) != 0)
        continue;
      n++;
    }
  return n;
}

/* The body of the @nth `alarm.own` frame about @ref. */
static JsonObject *
ws_own_alarm (WsClient *client,
              const gchar *ref,
              guint nth)
{
  for (guint i = 0; i < client->events->len; i++)
    {
      JsonObject *event = g_ptr_array_index (client->events, i);
      JsonObject *body = json_object_get_object_member (event, "body");

      if (g_strcmp0 (json_object_get_string_member (event, "type"), "alarm.own") != 0 ||
          g_strcmp0 (json_object_get_string_member_with_default (body, "ref", NULL), ref) != 0)
        continue;
      if (nth-- == 0)
        return body;
    }
  g_assert_not_reached ();
}

static void
ws_wait_for_type (WsClient *client,
                  const gchar *type,
                  const gchar *ref,
                  guint n)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (ws_count_type (client, type, ref) < n && g_get_monotonic_time () < deadline)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
  g_assert_cmpuint (ws_count_type (client, type, ref), >=, n);
}

/* The members an alarm.own body may have: the limited view's, never `detail`. */
static void
assert_own_alarm_members (JsonObject *body)
{
  static const gchar *const allowed[] = { "ref",    "type",    "state",  "priority", "device",
                                          "location", "source", "raised", "updated",  NULL };
  g_autoptr(GList) members = json_object_get_members (body);

  for (GList *l = members; l != NULL; l = l->next)
    {
      if (!g_strv_contains (allowed, l->data))
        g_test_message ("alarm.own has member '%s'", (const gchar *) l->data);
      g_assert_true (g_strv_contains (allowed, l->data));
    }
}

static void
test_alarm_own_stream (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  g_autoptr(WsClient) resident = ws_connect (td, hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT), "");
  g_autoptr(WsClient) family = ws_connect (td, hgd_test_daemon_get_token (td, HGD_ROLE_FAMILY), "");
  g_autoptr(WsClient) staff = ws_connect (td, hgd_test_daemon_get_token (td, HGD_ROLE_STAFF), "");
  g_autoptr(HgdTestResponse) raised = NULL;
  g_autoptr(HgdTestResponse) acknowledged = NULL;
  g_autoptr(HgdTestResponse) replayed = NULL;
  g_autofree gchar *own_source = g_strdup_printf ("user:%s", hgd_test_username (HGD_ROLE_RESIDENT));
  g_autofree gchar *staff_ref = NULL;
  const gchar *ref;
  JsonObject *body;
  JsonArray *events = NULL;
  guint n_own = 0;

  g_test_summary ("Each state change of an alarm of the home reaches the personal event stream "
                  "as alarm.own, the alarm as the resident's limited view shows it plus its "
                  "state: never on a municipal stream, never with the municipality's notes "
                  "(detail) or a member of staff's name; family (with the resident's grant) see "
                  "no other user's name");

  /* family see the home's alarms when the resident lets them (a consent grant) */
  g_free (grant_family (td, "[\"view\"]"));
  raised = hgd_test_daemon_request (td, "POST", "/api/v1/alarms",
                                    hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT),
                                    "{\"type\":\"fall\",\"source\":\"ui\",\"location\":\"hall\"}");
  g_assert_cmpuint (raised->status, ==, SOUP_STATUS_CREATED);
  ref = json_object_get_string_member (raised->json, "ref");
  ws_wait_for_type (resident, "alarm.own", ref, 1);
  body = ws_own_alarm (resident, ref, 0);
  assert_own_alarm_members (body);
  g_assert_cmpstr (json_object_get_string_member (body, "state"), ==, "raised");
  g_assert_cmpstr (json_object_get_string_member (body, "type"), ==, "fall");
  g_assert_cmpstr (json_object_get_string_member (body, "location"), ==, "hall");
  g_assert_cmpstr (json_object_get_string_member (body, "source"), ==, own_source);
  g_assert_true (json_object_has_member (body, "raised"));

  /* staff acknowledge it with a note: the state crosses, the note does not */
  acknowledged = transition (td, HGD_ROLE_STAFF, ref, "acknowledged");
  g_assert_cmpuint (acknowledged->status, ==, SOUP_STATUS_OK);
  ws_wait_for_type (resident, "alarm.own", ref, 2);
  body = ws_own_alarm (resident, ref, 1);
  assert_own_alarm_members (body);
  g_assert_cmpstr (json_object_get_string_member (body, "state"), ==, "acknowledged");

  /* family see the state, not who of the household raised it */
  ws_wait_for_type (family, "alarm.own", ref, 2);
  body = ws_own_alarm (family, ref, 0);
  assert_own_alarm_members (body);
  g_assert_false (json_object_has_member (body, "source"));

  /* an alarm staff raise for the home: the state crosses, the staff member's name does not */
  staff_ref = raise_alarm (td, HGD_ROLE_STAFF);
  ws_wait_for_type (resident, "alarm.own", staff_ref, 1);
  body = ws_own_alarm (resident, staff_ref, 0);
  assert_own_alarm_members (body);
  g_assert_false (json_object_has_member (body, "source"));

  /* the municipal stream has the alarm's own events, and never alarm.own */
  ws_wait_for_type (staff, "alarm.acknowledged", ref, 1);
  hg_test_run_for (100);
  g_assert_cmpuint (ws_count_type (staff, "alarm.own", NULL), ==, 0);
  for (guint i = 0; i < staff->domains->len; i++)
    g_assert_cmpstr (g_ptr_array_index (staff->domains, i), ==, "municipal");

  /* journaled: a replay of the personal journal has them too, narrowed as live */
  replayed = hgd_test_daemon_request (td, "GET", "/api/v1/events?after=0&limit=1000",
                                      hgd_test_daemon_get_token (td, HGD_ROLE_FAMILY), NULL);
  g_assert_cmpuint (replayed->status, ==, SOUP_STATUS_OK);
  g_assert_true (hg_json_object_get_array (replayed->json, "events", &events, NULL));
  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *event = json_array_get_object_element (events, i);
      if (g_strcmp0 (json_object_get_string_member (event, "type"), "alarm.own") != 0)
        continue;
      body = json_object_get_object_member (event, "body");
      assert_own_alarm_members (body);
      g_assert_false (json_object_has_member (body, "source"));
      n_own++;
    }
  g_assert_cmpuint (n_own, ==, 3);
  ws_close (resident);
  ws_close (family);
  ws_close (staff);
}

/* The personal export as @role, parsed. */
static HgdTestResponse *
personal_export (HgdTestDaemon *td,
                 HgdRole role)
{
  return hgd_test_daemon_request (td, "GET", "/api/v1/personal/export",
                                  hgd_test_daemon_get_token (td, role), NULL);
}

/* Whether the export's events include one of @type. */
static gboolean
export_has_event (JsonObject *export,
                  const gchar *type)
{
  JsonArray *events = json_object_get_array_member (export, "events");

  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *event = json_array_get_object_element (events, i);
      g_assert_cmpstr (json_object_get_string_member (event, "domain"), ==, "personal");
      if (g_strcmp0 (json_object_get_string_member (event, "type"), type) == 0)
        return TRUE;
    }
  return FALSE;
}

/* Whether @entries has one of @action by user @name. */
static gboolean
access_log_has (JsonArray *entries,
                const gchar *action,
                const gchar *name)
{
  g_autofree gchar *actor = g_strdup_printf ("user:%s", name);

  g_assert_nonnull (entries);
  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *entry = json_array_get_object_element (entries, i);
      g_assert_cmpstr (json_object_get_string_member (entry, "domain"), ==, "personal");
      if (g_strcmp0 (json_object_get_string_member (entry, "action"), action) == 0 &&
          g_strcmp0 (json_object_get_string_member (entry, "actor"), actor) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
test_personal_export (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  const HgdRole refused[] = { HGD_ROLE_FAMILY, HGD_ROLE_STAFF, HGD_ROLE_IT_ADMIN, HGD_ROLE_SERVICE,
                              HGD_ROLE_AUDITOR };
  g_autoptr(HgdTestResponse) export = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *ref = NULL;
  JsonArray *accounts;
  JsonArray *devices;
  gboolean found_family = FALSE;

  g_test_summary ("GET /api/v1/personal/export gives the resident one JSON document of the "
                  "personal domain: its events (alarm.own included), devices, plugins, accounts "
                  "by name, role and creation, never a password, hash or token, and no municipal "
                  "event; the guardian too; family and municipal roles are refused");
  hgd_test_daemon_append_event (td, HG_DOMAIN_PERSONAL, "test.personal");
  hgd_test_daemon_append_event (td, HG_DOMAIN_MUNICIPAL, "test.municipal-only");
  insert_reading (td, "personal",
                  "{\"device\":\"hall-thermo\",\"kind\":\"temperature\",\"value\":21.5}", 0);
  ref = raise_alarm (td, HGD_ROLE_RESIDENT);
  g_free (grant_family (td, "[\"view\"]"));

  export = personal_export (td, HGD_ROLE_RESIDENT);
  g_assert_cmpuint (export->status, ==, SOUP_STATUS_OK);
  g_assert_nonnull (export->json);
  g_assert_cmpstr (json_object_get_string_member (export->json, "format"), ==,
                   "hemgate-personal-export");
  g_assert_true (export_has_event (export->json, "test.personal"));
  g_assert_true (export_has_event (export->json, "alarm.own"));
  g_assert_false (export_has_event (export->json, "test.municipal-only"));
  g_assert_false (export_has_event (export->json, "alarm.raised"));
  devices = json_object_get_array_member (export->json, "devices");
  g_assert_cmpuint (json_array_get_length (devices), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (devices, 0),
                                                  "device"), ==, "hall-thermo");
  g_assert_true (json_object_has_member (export->json, "plugins"));
  g_assert_true (json_object_has_member (export->json, "secrets"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (export->json, "grants")),
                    ==, 1);

  accounts = json_object_get_array_member (export->json, "accounts");
  for (guint i = 0; i < json_array_get_length (accounts); i++)
    {
      JsonObject *account = json_array_get_object_element (accounts, i);
      g_autoptr(GList) members = json_object_get_members (account);
      HgdRole role;

      g_assert_cmpuint (g_list_length (members), ==, 3);
      g_assert_true (hgd_role_from_string (json_object_get_string_member (account, "role"), &role));
      g_assert_cmpint (hgd_role_get_domain (role), ==, HG_DOMAIN_PERSONAL);
      g_assert_true (json_object_has_member (account, "created"));
      found_family = found_family || g_strcmp0 (json_object_get_string_member (account, "username"),
                                                hgd_test_username (HGD_ROLE_FAMILY)) == 0;
    }
  g_assert_true (found_family);

  /* no secret of any kind anywhere in the document */
  text = g_strndup (g_bytes_get_data (export->body, NULL), g_bytes_get_size (export->body));
  g_assert_null (strstr (text, hgd_test_password (HGD_ROLE_RESIDENT)));
  g_assert_null (strstr (text, hgd_test_password (HGD_ROLE_FAMILY)));
  g_assert_null (strstr (text, hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT)));
  g_assert_null (strstr (text, "$argon2"));
  g_assert_null (strstr (text, hgd_test_username (HGD_ROLE_STAFF)));
  {
    JsonArray *events = json_object_get_array_member (export->json, "events");
    for (guint i = 0; i < json_array_get_length (events); i++)
      {
        JsonObject *body = json_object_get_object_member (json_array_get_object_element (events, i),
                                                          "body");
        g_assert_false (json_object_has_member (body, "detail"));
      }
  }

  {
    /* the personal access log is in it, and the export before is recorded there */
    g_autoptr(HgdTestResponse) guardian = personal_export (td, HGD_ROLE_GUARDIAN);
    g_assert_cmpuint (guardian->status, ==, SOUP_STATUS_OK);
    g_assert_true (export_has_event (guardian->json, "test.personal"));
    g_assert_true (access_log_has (json_object_get_array_member (guardian->json, "access_log"),
                                   "login", hgd_test_username (HGD_ROLE_RESIDENT)));
    g_assert_true (access_log_has (json_object_get_array_member (guardian->json, "access_log"),
                                   "export", hgd_test_username (HGD_ROLE_RESIDENT)));
  }
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr(HgdTestResponse) response = personal_export (td, refused[i]);
      assert_error (response, SOUP_STATUS_FORBIDDEN, "forbidden");
    }
}

static HgdTestResponse *
personal_erase (HgdTestDaemon *td,
                HgdRole role,
                const gchar *body)
{
  return hgd_test_daemon_request (td, "POST", "/api/v1/personal/erase",
                                  hgd_test_daemon_get_token (td, role), body);
}

/* The number of personal events the resident sees, and whether one is of @type. */
static guint
personal_events (HgdTestDaemon *td,
                 const gchar *type,
                 gboolean *found)
{
  g_autoptr(HgdTestResponse) response = hgd_test_daemon_request (
      td, "GET", "/api/v1/events?after=0&limit=1000", hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT),
      NULL);
  JsonArray *events = NULL;

  g_assert_cmpuint (response->status, ==, SOUP_STATUS_OK);
  g_assert_true (hg_json_object_get_array (response->json, "events", &events, NULL));
  *found = FALSE;
  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *event = json_array_get_object_element (events, i);
      *found = *found || g_strcmp0 (json_object_get_string_member (event, "type"), type) == 0;
    }
  return json_array_get_length (events);
}

static void
test_personal_erase_confirm (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  const gchar *bad[] = { "{}", "{\"confirm\":\"yes\"}", "{\"confirm\":true}",
                         "{\"confirm\":\"ERASE-PERSONAL-DATA\"}" };
  g_autoptr(HgdTestResponse) extra = NULL;
  gboolean found = FALSE;

  g_test_summary ("POST /api/v1/personal/erase erases nothing without "
                  "{\"confirm\": \"erase-personal-data\"}: 400 naming /confirm");
  hgd_test_daemon_append_event (td, HG_DOMAIN_PERSONAL, "test.kept");
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(HgdTestResponse) response = personal_erase (td, HGD_ROLE_RESIDENT, bad[i]);
      assert_error (response, SOUP_STATUS_BAD_REQUEST, "confirmation-required");
      g_assert_cmpstr (error_field (response), ==, "/confirm");
    }
  extra = personal_erase (td, HGD_ROLE_RESIDENT,
                          "{\"confirm\":\"erase-personal-data\",\"also\":1}");
  g_assert_cmpuint (extra->status, ==, SOUP_STATUS_BAD_REQUEST);
  personal_events (td, "test.kept", &found);
  g_assert_true (found);
}

/* Whether @needle is anywhere in the files of @dir whose name starts with @prefix. */
static gboolean
files_contain (const gchar *dir,
               const gchar *prefix,
               const gchar *needle)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const gchar *name;

  g_assert_nonnull (handle);
  while ((name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (dir, name, NULL);
      g_autofree gchar *contents = NULL;
      gsize length = 0;

      if (!g_str_has_prefix (name, prefix) || !g_file_get_contents (path, &contents, &length, NULL))
        continue;
      if (memmem (contents, length, needle, strlen (needle)) != NULL)
        return TRUE;
    }
  return FALSE;
}

/* The municipal side as staff see it: every event and every alarm, as text. */
static gchar *
municipal_snapshot (HgdTestDaemon *td,
                    guint *n_events)
{
  const gchar *token = hgd_test_daemon_get_token (td, HGD_ROLE_STAFF);
  g_autoptr(HgdTestResponse) events = hgd_test_daemon_request (
      td, "GET", "/api/v1/events?after=0&limit=1000", token, NULL);
  g_autoptr(HgdTestResponse) alarms = hgd_test_daemon_request (td, "GET", "/api/v1/alarms", token,
                                                               NULL);

  g_assert_cmpuint (events->status, ==, SOUP_STATUS_OK);
  g_assert_cmpuint (alarms->status, ==, SOUP_STATUS_OK);
  *n_events = json_array_get_length (json_object_get_array_member (events->json, "events"));
  return g_strndup (g_bytes_get_data (alarms->body, NULL), g_bytes_get_size (alarms->body));
}

static void
test_personal_erase (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  g_autofree gchar *state_dir = g_strdup (td->state_dir);
  g_autofree gchar *personal_dir = g_build_filename (state_dir, "personal", NULL);
  g_autofree gchar *plugin_state = g_build_filename (personal_dir, "plugins", "keeper", NULL);
  g_autofree gchar *plugin_file = g_build_filename (plugin_state, "data", NULL);
  g_autofree gchar *family_token = hgd_test_daemon_login (td, HGD_ROLE_FAMILY);
  g_autofree gchar *municipal_ref = NULL;
  g_autofree gchar *alarms_before = NULL;
  g_autofree gchar *alarms_after = NULL;
  g_autofree gchar *later_ref = NULL;
  g_autofree gchar *by = g_strdup_printf ("user:%s", hgd_test_username (HGD_ROLE_RESIDENT));
  g_autoptr(HgdTestResponse) erased = NULL;
  g_autoptr(HgdTestResponse) family_after = NULL;
  g_autoptr(HgdTestResponse) sensors = NULL;
  g_autoptr(HgdTestResponse) municipal_events = NULL;
  g_autoptr(GList) members = NULL;
  HgdTestDaemonOptions options = { 0 };
  JsonArray *events;
  JsonObject *record = NULL;
  guint n_before = 0;
  guint n_after = 0;
  gboolean found = FALSE;

  g_test_summary ("POST /api/v1/personal/erase erases the personal journal (on disk too, and "
                  "after a restart), the personal plugins' state and the family accounts, and "
                  "leaves the municipal domain as it was but for one personal.erased event with "
                  "who and when; municipal alarms work before and after");

  municipal_ref = raise_alarm (td, HGD_ROLE_STAFF);
  hgd_test_daemon_append_event (td, HG_DOMAIN_PERSONAL, "test.erase-me-7f3a");
  insert_reading (td, "personal", "{\"device\":\"bed-sensor\",\"kind\":\"presence\",\"value\":1}", 0);
  g_assert_cmpint (g_mkdir_with_parents (plugin_state, 0700), ==, 0);
  g_assert_true (g_file_set_contents (plugin_file, "plugin state", -1, NULL));
  g_assert_true (files_contain (personal_dir, "journal.db", "test.erase-me-7f3a"));
  g_free (grant_family (td, "[\"view\"]"));
  alarms_before = municipal_snapshot (td, &n_before);

  erased = personal_erase (td, HGD_ROLE_RESIDENT, "{\"confirm\":\"erase-personal-data\"}");
  g_assert_cmpuint (erased->status, ==, SOUP_STATUS_OK);
  g_assert_true (json_object_get_boolean_member (erased->json, "journal"));
  g_assert_true (json_object_get_boolean_member (erased->json, "plugin_state"));
  g_assert_true (json_object_get_boolean_member (erased->json, "recorded"));
  g_assert_cmpstr (json_array_get_string_element (
                       json_object_get_array_member (erased->json, "accounts_removed"), 0),
                   ==, hgd_test_username (HGD_ROLE_FAMILY));

  /* the personal data is gone: from the API, the plugin state, the family's login */
  personal_events (td, "test.erase-me-7f3a", &found);
  g_assert_false (found);
  g_assert_false (g_file_test (plugin_state, G_FILE_TEST_EXISTS));
  sensors = hgd_test_daemon_request (td, "GET", "/api/v1/sensors",
                                     hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT), NULL);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (sensors->json, "devices")),
                    ==, 0);
  family_after = hgd_test_daemon_request (td, "GET", "/api/v1/auth/session", family_token, NULL);
  g_assert_cmpuint (family_after->status, ==, SOUP_STATUS_UNAUTHORIZED);

  /* the municipal domain: its alarms as they were, one more event, which says who and when */
  alarms_after = municipal_snapshot (td, &n_after);
  g_assert_cmpstr (alarms_after, ==, alarms_before);
  g_assert_cmpuint (n_after, ==, n_before + 1);
  municipal_events = hgd_test_daemon_request (td, "GET", "/api/v1/events?after=0&limit=1000",
                                              hgd_test_daemon_get_token (td, HGD_ROLE_STAFF), NULL);
  events = json_object_get_array_member (municipal_events->json, "events");
  record = json_array_get_object_element (events, json_array_get_length (events) - 1);
  g_assert_cmpstr (json_object_get_string_member (record, "type"), ==, "personal.erased");
  record = json_object_get_object_member (record, "body");
  members = json_object_get_members (record);
  g_assert_cmpuint (g_list_length (members), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (record, "by"), ==, by);
  g_assert_cmpstr (json_object_get_string_member (record, "role"), ==, "resident");
  g_assert_true (json_object_has_member (record, "at"));

  /* the grants went with the journal: withdrawn at once */
  {
    g_autoptr(HgdTestResponse) grants = hgd_test_daemon_request (
        td, "GET", "/api/v1/grants", hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT), NULL);
    g_assert_cmpuint (grants->status, ==, SOUP_STATUS_OK);
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (grants->json, "grants")),
                      ==, 0);
  }

  /* the personal access log stays, with the erasure in it */
  {
    g_autoptr(HgdTestResponse) log = hgd_test_daemon_request (
        td, "GET", "/api/v1/access-log?limit=1000", hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT),
        NULL);
    JsonArray *entries = json_object_get_array_member (log->json, "entries");

    g_assert_true (access_log_has (entries, "erase", hgd_test_username (HGD_ROLE_RESIDENT)));
    g_assert_true (access_log_has (entries, "login", hgd_test_username (HGD_ROLE_FAMILY)));
  }

  /* and keeps working: a new alarm is raised and moves */
  later_ref = raise_alarm (td, HGD_ROLE_STAFF);
  {
    g_autoptr(HgdTestResponse) moved = transition (td, HGD_ROLE_STAFF, later_ref, "acknowledged");
    g_assert_cmpuint (moved->status, ==, SOUP_STATUS_OK);
  }

  /* nothing of it in the files, nor after a restart */
  g_clear_pointer (&td, hgd_test_daemon_free);
  g_assert_false (files_contain (personal_dir, "journal.db", "test.erase-me-7f3a"));
  g_assert_false (files_contain (personal_dir, "journal.db", "bed-sensor"));
  options.state_dir = state_dir;
  td = hgd_test_daemon_new (&options);
  personal_events (td, "test.erase-me-7f3a", &found);
  g_assert_false (found);
  {
    g_autofree gchar *alarms_restarted = NULL;
    guint n_restarted = 0;
    g_autoptr(HgdTestResponse) alarm = NULL;
    g_autofree gchar *path = g_strdup_printf ("/api/v1/alarms/%s", municipal_ref);

    alarms_restarted = municipal_snapshot (td, &n_restarted);
    g_assert_cmpuint (n_restarted, ==, n_after + 2); /* the later alarm: raised, acknowledged */
    alarm = hgd_test_daemon_request (td, "GET", path, hgd_test_daemon_get_token (td, HGD_ROLE_STAFF),
                                     NULL);
    g_assert_cmpuint (alarm->status, ==, SOUP_STATUS_OK);
  }
}

/* Access log ---------------------------------------------------------------------------- */

static HgdTestResponse *
access_log_get (HgdTestDaemon *td,
                HgdRole role,
                const gchar *path)
{
  HgdTestResponse *response = hgd_test_daemon_request (td, "GET", path,
                                                       hgd_test_daemon_get_token (td, role), NULL);

  g_assert_cmpuint (response->status, ==, SOUP_STATUS_OK);
  return response;
}

static void
login_fails (HgdTestDaemon *td,
             const gchar *username)
{
  g_autofree gchar *body = g_strdup_printf ("{\"username\": \"%s\", \"password\": \"not-the-password\"}",
                                            username);
  g_autoptr(HgdTestResponse) response
      = hgd_test_daemon_request (td, "POST", "/api/v1/auth/login", NULL, body);

  g_assert_cmpuint (response->status, ==, SOUP_STATUS_UNAUTHORIZED);
}

static JsonObject *
entry_at (HgdTestResponse *page,
          guint index)
{
  return json_array_get_object_element (json_object_get_array_member (page->json, "entries"), index);
}

static void
test_access_log_logins (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  const gchar *resident = hgd_test_username (HGD_ROLE_RESIDENT);
  g_autofree gchar *resident_actor = g_strconcat ("user:", resident, NULL);
  g_autofree gchar *staff_actor = g_strconcat ("user:", hgd_test_username (HGD_ROLE_STAFF), NULL);
  g_autoptr(HgdTestResponse) page = NULL;
  g_autoptr(HgdTestResponse) first = NULL;
  g_autoptr(HgdTestResponse) second = NULL;
  g_autoptr(HgdTestResponse) bad = NULL;
  g_autoptr(HgdTestResponse) verdict = NULL;
  JsonObject *entry;
  JsonArray *entries;

  g_test_summary ("Logins and failed logins go into the access log of the user's domain, newest "
                  "first, each chained to the one before; the resident reads the personal log "
                  "only, in pages; staff's logins are not in it; the chain verifies");
  login_fails (td, resident);
  login_fails (td, "no-such-user");
  /* the staff member logs in (municipal log), the resident too (personal log) */
  hgd_test_daemon_get_token (td, HGD_ROLE_STAFF);
  page = access_log_get (td, HGD_ROLE_RESIDENT, "/api/v1/access-log");
  g_assert_cmpstr (json_object_get_string_member (page->json, "domain"), ==, "personal");
  entries = json_object_get_array_member (page->json, "entries");
  g_assert_cmpuint (json_array_get_length (entries), ==, 2);
  g_assert_true (json_object_get_null_member (page->json, "next_before"));

  entry = entry_at (page, 0);
  g_assert_cmpint (json_object_get_int_member (entry, "seq"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (entry, "action"), ==, "login");
  g_assert_cmpstr (json_object_get_string_member (entry, "actor"), ==, resident_actor);
  g_assert_cmpstr (json_object_get_string_member (entry, "actor_name"), ==, resident);
  g_assert_cmpstr (json_object_get_string_member (entry, "domain"), ==, "personal");
  g_assert_true (json_object_get_null_member (entry, "object"));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (entry, "detail"),
                                                  "role"), ==, "resident");
  g_assert_true (g_str_has_suffix (json_object_get_string_member (entry, "time"), "Z"));
  g_assert_cmpuint (strlen (json_object_get_string_member (entry, "hash")), ==, 64);
  g_assert_cmpstr (json_object_get_string_member (entry, "prev_hash"), ==,
                   json_object_get_string_member (entry_at (page, 1), "hash"));

  entry = entry_at (page, 1);
  g_assert_cmpint (json_object_get_int_member (entry, "seq"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (entry, "action"), ==, "login.failed");
  g_assert_cmpstr (json_object_get_string_member (entry, "actor"), ==, resident_actor);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (entry, "detail"),
                                                  "reason"), ==, "bad-login");
  g_assert_cmpstr (json_object_get_string_member (entry, "prev_hash"), ==,
                   "0000000000000000000000000000000000000000000000000000000000000000");
  /* nothing of the municipal side: no staff login, no unknown user */
  for (guint i = 0; i < json_array_get_length (entries); i++)
    g_assert_cmpstr (json_object_get_string_member (entry_at (page, i), "actor"), !=, staff_actor);

  /* pages: one at a time, older with ?before= */
  first = access_log_get (td, HGD_ROLE_RESIDENT, "/api/v1/access-log?limit=1");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (first->json, "entries")), ==, 1);
  g_assert_cmpint (json_object_get_int_member (entry_at (first, 0), "seq"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (first->json, "next_before"), ==, 2);
  second = access_log_get (td, HGD_ROLE_RESIDENT, "/api/v1/access-log?limit=1&before=2");
  g_assert_cmpint (json_object_get_int_member (entry_at (second, 0), "seq"), ==, 1);
  g_assert_true (json_object_get_null_member (second->json, "next_before"));
  bad = hgd_test_daemon_request (td, "GET", "/api/v1/access-log?limit=0",
                                 hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT), NULL);
  assert_error (bad, SOUP_STATUS_BAD_REQUEST, "invalid-request");

  verdict = access_log_get (td, HGD_ROLE_RESIDENT, "/api/v1/access-log/verify");
  g_assert_true (json_object_get_boolean_member (verdict->json, "ok"));
  g_assert_cmpstr (json_object_get_string_member (verdict->json, "domain"), ==, "personal");
  g_assert_cmpint (json_object_get_int_member (verdict->json, "entries"), ==, 2);
  g_assert_true (json_object_get_null_member (verdict->json, "first_bad_seq"));
}

/* The municipal log, as the core has it: the auditor's role reads it over the API. */
static void
test_access_log_municipal_side (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  HgdAccessLog *log = hgd_daemon_get_access_log (td->daemon);
  g_autofree gchar *staff_actor = g_strconcat ("user:", hgd_test_username (HGD_ROLE_STAFF), NULL);
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GError) error = NULL;
  HgdAccessEntry *unknown;
  HgdAccessEntry *staff;

  g_test_summary ("A staff login and a failed login for a name no account has go into the "
                  "municipal log, the latter as 'unknown', without the name typed; the auditor "
                  "reads that log, the guardian the personal one");
  login_fails (td, "no-such-user");
  hgd_test_daemon_get_token (td, HGD_ROLE_STAFF);
  entries = hgd_access_log_list (log, HG_DOMAIN_MUNICIPAL, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (entries->len, ==, 2);
  staff = g_ptr_array_index (entries, 0);
  unknown = g_ptr_array_index (entries, 1);
  g_assert_cmpstr (staff->action, ==, "login");
  g_assert_cmpstr (staff->actor, ==, staff_actor);
  g_assert_cmpstr (unknown->action, ==, "login.failed");
  g_assert_cmpstr (unknown->actor, ==, "unknown");
  g_assert_null (strstr (unknown->detail, "no-such-user"));
  g_assert_nonnull (strstr (unknown->detail, "unknown-user"));

  /* the auditor reads the municipal side (with their own login now), the guardian the
   * personal one, where neither the staff login nor the unknown name is */
  {
    g_autoptr(HgdTestResponse) audit = access_log_get (td, HGD_ROLE_AUDITOR, "/api/v1/access-log");
    g_autoptr(HgdTestResponse) guardian = access_log_get (td, HGD_ROLE_GUARDIAN, "/api/v1/access-log");
    g_autoptr(HgdTestResponse) verdict = access_log_get (td, HGD_ROLE_AUDITOR,
                                                         "/api/v1/access-log/verify");

    g_assert_cmpstr (json_object_get_string_member (audit->json, "domain"), ==, "municipal");
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (audit->json, "entries")), ==, 3);
    g_assert_cmpstr (json_object_get_string_member (entry_at (audit, 1), "actor"), ==, staff_actor);
    g_assert_cmpstr (json_object_get_string_member (entry_at (audit, 2), "actor_name"), ==, "unknown");
    g_assert_cmpstr (json_object_get_string_member (guardian->json, "domain"), ==, "personal");
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (guardian->json, "entries")), ==, 1);
    g_assert_cmpstr (json_object_get_string_member (entry_at (guardian, 0), "action"), ==, "login");
    g_assert_true (json_object_get_boolean_member (verdict->json, "ok"));
    g_assert_cmpstr (json_object_get_string_member (verdict->json, "domain"), ==, "municipal");
  }
}

/* An entry changed in the file while hemgated is stopped: a health fault from the start,
 * and verify names it. */
static void
test_access_log_tampered (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  g_autofree gchar *state_dir = g_strdup (td->state_dir);
  g_autofree gchar *path = g_build_filename (state_dir, "personal", "journal.db", NULL);
  HgdTestDaemonOptions options = { 0 };
  g_autoptr(HgdTestResponse) health = NULL;
  g_autoptr(HgdTestResponse) verdict = NULL;
  JsonObject *subsystem;
  sqlite3 *db = NULL;

  g_test_summary ("An access-log entry edited on disk with hemgated stopped makes health report "
                  "the personal access log as a fault naming the entry, and verify says which");
  login_fails (td, hgd_test_username (HGD_ROLE_RESIDENT));
  login_fails (td, hgd_test_username (HGD_ROLE_RESIDENT));
  hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT);
  g_clear_pointer (&td, hgd_test_daemon_free);

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "UPDATE access_log SET action = 'login' WHERE seq = 2", NULL,
                                 NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  hg_test_log_expect_warning ("the personal access log is broken");
  options.state_dir = state_dir;
  td = hgd_test_daemon_new (&options);
  health = hgd_test_daemon_request (td, "GET", "/api/v1/health",
                                    hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN), NULL);
  g_assert_cmpstr (json_object_get_string_member (health->json, "status"), ==, "degraded");
  subsystem = json_object_get_object_member (json_object_get_object_member (health->json, "subsystems"),
                                             "access-log-personal");
  g_assert_cmpstr (json_object_get_string_member (subsystem, "status"), ==, "fault");
  g_assert_cmpstr (json_object_get_string_member (subsystem, "message"), ==, "entry 2 was changed");
  verdict = access_log_get (td, HGD_ROLE_RESIDENT, "/api/v1/access-log/verify");
  g_assert_false (json_object_get_boolean_member (verdict->json, "ok"));
  g_assert_cmpint (json_object_get_int_member (verdict->json, "first_bad_seq"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (verdict->json, "problem"), ==, "changed");
  g_assert_cmpint (json_object_get_int_member (verdict->json, "entries"), ==, 1);
  g_assert_cmpuint (hg_test_log_expected_warnings (), >=, 1);
  hg_test_log_expect_warning (NULL);
}

/* What crosses under a grant is logged in the resident's log, with who read it. */
static void
test_access_log_personal_reads (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  const gchar *staff = hgd_test_daemon_get_token (td, HGD_ROLE_STAFF);
  g_autofree gchar *staff_actor = g_strconcat ("user:", hgd_test_username (HGD_ROLE_STAFF), NULL);
  g_autofree gchar *resident_actor = g_strconcat ("user:", hgd_test_username (HGD_ROLE_RESIDENT), NULL);
  g_autoptr(HgdTestResponse) before = NULL;
  g_autoptr(HgdTestResponse) grant = NULL;
  g_autoptr(HgdTestResponse) list = NULL;
  g_autoptr(HgdTestResponse) history = NULL;
  g_autoptr(HgdTestResponse) page = NULL;
  JsonObject *entry;

  g_test_summary ("A staff member's read of the resident's readings under a grant is logged in "
                  "the personal access log (read.personal, who, what), the grant too; a read "
                  "that shows nothing personal is not");
  insert_reading (td, "personal",
                  "{\"device\":\"living-temp\",\"domain\":\"personal\",\"kind\":\"temperature\","
                  "\"value\":21.5,\"unit\":\"°C\"}",
                  0);
  /* no grant: nothing personal crosses, nothing is logged */
  before = hgd_test_daemon_request (td, "GET", "/api/v1/sensors", staff, NULL);
  g_assert_cmpuint (before->status, ==, SOUP_STATUS_OK);

  grant = hgd_test_daemon_request (td, "POST", "/api/v1/grants",
                                   hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT),
                                   "{\"kind\": \"share-readings\", \"scope\": {\"devices\": [\"living-temp\"]}}");
  g_assert_cmpuint (grant->status, ==, SOUP_STATUS_CREATED);
  insert_reading (td, "personal",
                  "{\"device\":\"living-temp\",\"domain\":\"personal\",\"kind\":\"temperature\","
                  "\"value\":21.7,\"unit\":\"°C\"}",
                  -G_USEC_PER_SEC);
  list = hgd_test_daemon_request (td, "GET", "/api/v1/sensors", staff, NULL);
  g_assert_cmpuint (list->status, ==, SOUP_STATUS_OK);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (list->json, "devices")), ==, 1);
  history = hgd_test_daemon_request (td, "GET", "/api/v1/sensors/living-temp/history", staff, NULL);
  g_assert_cmpuint (history->status, ==, SOUP_STATUS_OK);

  page = access_log_get (td, HGD_ROLE_RESIDENT, "/api/v1/access-log");
  /* newest first: the history, the list, the grant, the resident's login */
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (page->json, "entries")), ==, 4);
  entry = entry_at (page, 0);
  g_assert_cmpstr (json_object_get_string_member (entry, "action"), ==, "read.personal");
  g_assert_cmpstr (json_object_get_string_member (entry, "actor"), ==, staff_actor);
  g_assert_cmpstr (json_object_get_string_member (entry, "object"), ==, "sensor:living-temp");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (entry, "detail"),
                                                  "role"), ==, "staff");
  entry = entry_at (page, 1);
  g_assert_cmpstr (json_object_get_string_member (entry, "action"), ==, "read.personal");
  g_assert_cmpstr (json_object_get_string_member (entry, "object"), ==, "sensors");
  entry = entry_at (page, 2);
  g_assert_cmpstr (json_object_get_string_member (entry, "action"), ==, "grant.made");
  g_assert_cmpstr (json_object_get_string_member (entry, "actor"), ==, resident_actor);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (entry, "object"), "grant:"));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (entry, "detail"),
                                                  "kind"), ==, "share-readings");
  g_assert_cmpstr (json_object_get_string_member (entry_at (page, 3), "action"), ==, "login");
}

static void
append_personal_reading (HgdTestDaemon *td,
                         gdouble value)
{
  HgdJournal *journal = hgd_daemon_get_journal (td->daemon, HG_DOMAIN_PERSONAL);
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(HgEvent) event = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  json_object_set_string_member (body, "device", "living-temp");
  json_object_set_string_member (body, "domain", "personal");
  json_object_set_string_member (body, "kind", "temperature");
  json_object_set_double_member (body, "value", value);
  event = hg_event_new ("sensor.reading", body);
  hg_event_set_source (event, "plugin:test");
  hgd_journal_append_async (journal, event, NULL, NULL, hg_test_async_result_cb, &result);
  hgd_journal_append_finish (journal, hg_test_wait_for_result (&result), &error);
  g_assert_no_error (error);
}

static void
test_access_log_shared_events (void)
{
  g_autoptr(HgdTestDaemon) td = hgd_test_daemon_new (NULL);
  g_autofree gchar *staff_actor = g_strconcat ("user:", hgd_test_username (HGD_ROLE_STAFF), NULL);
  g_autoptr(HgdTestResponse) grant = NULL;
  g_autoptr(HgdTestResponse) page = NULL;
  g_autoptr(WsClient) client = NULL;
  JsonObject *entry;

  g_test_summary ("A shared device's readings sent live to a staff member's event stream are "
                  "logged in the personal access log once per device and stream, not per reading");
  grant = hgd_test_daemon_request (td, "POST", "/api/v1/grants",
                                   hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT),
                                   "{\"kind\": \"share-readings\", \"scope\": {\"devices\": [\"living-temp\"]}}");
  g_assert_cmpuint (grant->status, ==, SOUP_STATUS_CREATED);
  client = ws_connect (td, hgd_test_daemon_get_token (td, HGD_ROLE_STAFF), "");
  append_personal_reading (td, 21.0);
  append_personal_reading (td, 21.5);
  ws_wait_for (client, 2);
  ws_close (client);

  page = access_log_get (td, HGD_ROLE_RESIDENT, "/api/v1/access-log");
  /* the read, the grant, the resident's login */
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (page->json, "entries")), ==, 3);
  entry = entry_at (page, 0);
  g_assert_cmpstr (json_object_get_string_member (entry, "action"), ==, "read.personal");
  g_assert_cmpstr (json_object_get_string_member (entry, "actor"), ==, staff_actor);
  g_assert_cmpstr (json_object_get_string_member (entry, "object"), ==, "sensor:living-temp");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (entry, "detail"),
                                                  "via"), ==, "events");
  g_assert_cmpstr (json_object_get_string_member (entry_at (page, 1), "action"), ==, "grant.made");
}

/* /api/secrets/ ------------------------------------------------------------------------ */

/* A daemon with one municipal ("muni") and one personal ("example") instance. */
static HgdTestDaemon *
secrets_daemon_new (void)
{
  static const gchar *const overrides[] = {
    "plugin:muni", "plugin", "example",
    "plugin:muni", "domain", "municipal",
    NULL,
  };
  HgdTestDaemonOptions options = { .example_plugin = TRUE, .overrides = overrides };

  return hgd_test_daemon_new (&options);
}

static HgdTestResponse *
secret_put (HgdTestDaemon *td,
            HgdRole role,
            const gchar *owner_key,
            const gchar *body)
{
  g_autofree gchar *path = g_strconcat ("/api/v1/secrets/", owner_key, NULL);

  return hgd_test_daemon_request (td, "PUT", path, hgd_test_daemon_get_token (td, role), body);
}

/* The last event of @role's domain's journal, as the event list shows it. */
static JsonObject *
last_event (HgdTestDaemon *td,
            HgdRole role)
{
  g_autoptr(HgdTestResponse) response = hgd_test_daemon_request (
      td, "GET", "/api/v1/events?after=0&limit=1000", hgd_test_daemon_get_token (td, role), NULL);
  JsonArray *events;

  g_assert_cmpuint (response->status, ==, SOUP_STATUS_OK);
  events = json_object_get_array_member (response->json, "events");
  g_assert_cmpuint (json_array_get_length (events), >, 0);
  return json_object_ref (
      json_array_get_object_element (events, json_array_get_length (events) - 1));
}

static void
test_secrets_write_only (void)
{
  g_autoptr(HgdTestDaemon) td = secrets_daemon_new ();
  const gchar *value = "sip-pass-9Qx7-never-shown";
  g_autofree gchar *body = g_strdup_printf ("{\"value\":\"%s\"}", value);
  g_autofree gchar *pem = g_strdup ("-----BEGIN PRIVATE KEY-----\nTUlJQ2VBSUJBREFO\n"
                                    "-----END PRIVATE KEY-----\n");
  g_autofree gchar *pem_b64 = g_base64_encode ((const guchar *) pem, strlen (pem));
  g_autofree gchar *pem_body = g_strdup_printf ("{\"value_base64\":\"%s\"}", pem_b64);
  g_autofree gchar *by = g_strdup_printf ("user:%s", hgd_test_username (HGD_ROLE_IT_ADMIN));
  g_autofree gchar *resident = g_strdup_printf ("user:%s", hgd_test_username (HGD_ROLE_RESIDENT));
  g_autoptr(JsonObject) event = NULL;
  g_autofree gchar *event_text = NULL;

  g_test_summary ("The it-admin sets municipal secrets (core, a municipal instance), the resident "
                  "a personal instance's; listings show owner, key, domain and when set, each "
                  "domain only its own and never a value; set and delete are journaled without "
                  "the value, personal ones also in the access log; a second delete is 404");
  g_test_bug ("issue 19");

  {
    g_autoptr(HgdTestResponse) set = secret_put (td, HGD_ROLE_IT_ADMIN, "plugin:muni/sip-password",
                                                 body);
    g_autoptr(HgdTestResponse) set_pem = secret_put (td, HGD_ROLE_IT_ADMIN, "core/tls-key",
                                                     pem_body);
    g_autoptr(HgdTestResponse) set_personal = secret_put (td, HGD_ROLE_RESIDENT,
                                                          "plugin:example/token", body);

    g_assert_cmpuint (set->status, ==, SOUP_STATUS_NO_CONTENT);
    g_assert_cmpuint (set_pem->status, ==, SOUP_STATUS_NO_CONTENT);
    g_assert_cmpuint (set_personal->status, ==, SOUP_STATUS_NO_CONTENT);
  }

  /* journaled in the caller's domain: who, what, never the value */
  event = last_event (td, HGD_ROLE_IT_ADMIN);
  g_assert_cmpstr (json_object_get_string_member (event, "type"), ==, "secret.set");
  event_text = hg_json_object_to_string (event);
  g_assert_null (strstr (event_text, "BEGIN PRIVATE KEY"));
  {
    JsonObject *event_body = json_object_get_object_member (event, "body");
    g_assert_cmpstr (json_object_get_string_member (event_body, "owner"), ==, "core");
    g_assert_cmpstr (json_object_get_string_member (event_body, "key"), ==, "tls-key");
    g_assert_cmpstr (json_object_get_string_member (event_body, "by"), ==, by);
    g_assert_cmpuint (json_object_get_size (event_body), ==, 3);
  }
  g_clear_pointer (&event, json_object_unref);
  event = last_event (td, HGD_ROLE_RESIDENT);
  g_assert_cmpstr (json_object_get_string_member (event, "type"), ==, "secret.set");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (event, "body"),
                                                  "owner"),
                   ==, "plugin:example");

  /* listed per domain, without values */
  {
    g_autoptr(HgdTestResponse) municipal = hgd_test_daemon_request (
        td, "GET", "/api/v1/secrets", hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN), NULL);
    g_autoptr(HgdTestResponse) personal = hgd_test_daemon_request (
        td, "GET", "/api/v1/secrets", hgd_test_daemon_get_token (td, HGD_ROLE_GUARDIAN), NULL);
    g_autofree gchar *municipal_text = NULL;
    g_autofree gchar *personal_text = NULL;
    JsonArray *secrets;
    gboolean saw_core = FALSE;

    g_assert_cmpuint (municipal->status, ==, SOUP_STATUS_OK);
    g_assert_cmpuint (personal->status, ==, SOUP_STATUS_OK);
    municipal_text = g_strndup (g_bytes_get_data (municipal->body, NULL),
                                g_bytes_get_size (municipal->body));
    personal_text = g_strndup (g_bytes_get_data (personal->body, NULL),
                               g_bytes_get_size (personal->body));
    g_assert_null (strstr (municipal_text, value));
    g_assert_null (strstr (municipal_text, "BEGIN PRIVATE KEY"));
    g_assert_null (strstr (personal_text, value));
    g_assert_null (strstr (municipal_text, "plugin:example"));
    g_assert_null (strstr (personal_text, "plugin:muni"));

    secrets = json_object_get_array_member (municipal->json, "secrets");
    g_assert_cmpuint (json_array_get_length (secrets), ==, 2);
    for (guint i = 0; i < json_array_get_length (secrets); i++)
      {
        JsonObject *secret = json_array_get_object_element (secrets, i);
        const gchar *set_at = json_object_get_string_member (secret, "set_at");
        g_autoptr(GDateTime) when = g_date_time_new_from_iso8601 (set_at, NULL);

        g_assert_cmpuint (json_object_get_size (secret), ==, 4);
        g_assert_cmpstr (json_object_get_string_member (secret, "domain"), ==, "municipal");
        g_assert_nonnull (when);
        saw_core = saw_core ||
                   (g_strcmp0 (json_object_get_string_member (secret, "owner"), "core") == 0 &&
                    g_strcmp0 (json_object_get_string_member (secret, "key"), "tls-key") == 0);
      }
    g_assert_true (saw_core);
    secrets = json_object_get_array_member (personal->json, "secrets");
    g_assert_cmpuint (json_array_get_length (secrets), ==, 1);
  }

  /* the personal change is in the resident's access log */
  {
    g_autoptr(HgdTestResponse) log = access_log_get (td, HGD_ROLE_RESIDENT, "/api/v1/access-log");
    JsonArray *entries = json_object_get_array_member (log->json, "entries");
    gboolean found = FALSE;

    for (guint i = 0; i < json_array_get_length (entries); i++)
      {
        JsonObject *entry = json_array_get_object_element (entries, i);
        found = found ||
                (g_strcmp0 (json_object_get_string_member (entry, "action"), "secret.set") == 0 &&
                 g_strcmp0 (json_object_get_string_member (entry, "actor"), resident) == 0 &&
                 g_strcmp0 (json_object_get_string_member (entry, "object"),
                            "plugin:example/token") == 0);
      }
    g_assert_true (found);
  }

  /* delete: journaled; then there is none */
  {
    g_autoptr(HgdTestResponse) deleted = hgd_test_daemon_request (
        td, "DELETE", "/api/v1/secrets/plugin:muni/sip-password",
        hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN), NULL);
    g_autoptr(HgdTestResponse) again = hgd_test_daemon_request (
        td, "DELETE", "/api/v1/secrets/plugin:muni/sip-password",
        hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN), NULL);

    g_assert_cmpuint (deleted->status, ==, SOUP_STATUS_NO_CONTENT);
    assert_error (again, SOUP_STATUS_NOT_FOUND, "not-found");
  }
  g_clear_pointer (&event, json_object_unref);
  event = last_event (td, HGD_ROLE_IT_ADMIN);
  g_assert_cmpstr (json_object_get_string_member (event, "type"), ==, "secret.deleted");
  {
    g_autoptr(HgdTestResponse) municipal = hgd_test_daemon_request (
        td, "GET", "/api/v1/secrets", hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN), NULL);
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (municipal->json,
                                                                           "secrets")),
                      ==, 1);
  }
}

/* {"value": "aaa..."} with @length a's. */
static gchar *
value_body_of_length (gsize length)
{
  g_autoptr(GString) body = g_string_new ("{\"value\":\"");

  for (gsize i = 0; i < length; i++)
    g_string_append_c (body, 'a');
  g_string_append (body, "\"}");
  return g_string_free (g_steal_pointer (&body), FALSE);
}

static void
test_secrets_bad_input (void)
{
  g_autoptr(HgdTestDaemon) td = secrets_daemon_new ();
  g_autofree gchar *long_value = value_body_of_length (40000);
  const gchar *ok = "{\"value\":\"fine\"}";
  struct
  {
    HgdRole role;
    const gchar *owner_key;
    const gchar *body; /* base64 of the value when it starts with '=' */
    guint status;
    const gchar *code;
  } cases[] = {
    /* the value: text only, and not too much of it */
    { HGD_ROLE_IT_ADMIN, "core/k", "=\xff\xfe\x01", 400, "invalid-value" },     /* not UTF-8 */
    { HGD_ROLE_IT_ADMIN, "core/k", "=a\x01" "b", 400, "invalid-value" },        /* control */
    { HGD_ROLE_IT_ADMIN, "core/k", "{\"value_base64\":\"AAEC\"}", 400, "invalid-value" }, /* NUL */
    { HGD_ROLE_IT_ADMIN, "core/k", "{\"value_base64\":\"not base64!\"}", 400, "invalid-value" },
    { HGD_ROLE_IT_ADMIN, "core/k", "{\"value\":\"\"}", 400, "invalid-value" },
    { HGD_ROLE_IT_ADMIN, "core/k", "{\"value\":\"a\",\"value_base64\":\"YQ==\"}", 400,
      "invalid-request" },
    { HGD_ROLE_IT_ADMIN, "core/k", "{}", 400, "invalid-request" },
    { HGD_ROLE_IT_ADMIN, "core/k", "{\"value\":\"a\",\"owner\":\"core\"}", 400, "invalid-request" },
    { HGD_ROLE_IT_ADMIN, "core/k", "{\"value\":1}", 400, "invalid-request" },
    { HGD_ROLE_IT_ADMIN, "core/k", long_value, 400, "invalid-value" },
    /* whose */
    { HGD_ROLE_IT_ADMIN, "plugin:nope/k", ok, 404, "unknown-owner" },
    { HGD_ROLE_IT_ADMIN, "user:admin/k", ok, 404, "unknown-owner" },
    { HGD_ROLE_IT_ADMIN, "nobody/k", ok, 404, "unknown-owner" },
    { HGD_ROLE_IT_ADMIN, "plugin:example/k", ok, 404, "unknown-owner" }, /* personal */
    { HGD_ROLE_RESIDENT, "core/k", ok, 403, "forbidden" },
    { HGD_ROLE_GUARDIAN, "core/k", ok, 403, "forbidden" },
    { HGD_ROLE_RESIDENT, "plugin:muni/k", ok, 403, "forbidden" },
    { HGD_ROLE_RESIDENT, "plugin:nope/k", ok, 404, "unknown-owner" },
    { HGD_ROLE_IT_ADMIN, "core/bad*key", ok, 400, "invalid-request" },
  };

  g_test_summary ("PUT /api/v1/secrets refuses a value that is not text (not UTF-8, NUL, "
                  "control characters), empty, over 32 KiB or given twice, unknown members, an "
                  "unknown owner, a personal instance to the it-admin (404) and a municipal "
                  "owner to the resident (403); nothing refused is stored or journaled");
  g_test_bug ("issue 19");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *body = NULL;
      g_autoptr(HgdTestResponse) response = NULL;

      if (cases[i].body[0] == '=')
        {
          g_autofree gchar *encoded = g_base64_encode ((const guchar *) cases[i].body + 1,
                                                       strlen (cases[i].body + 1));
          body = g_strdup_printf ("{\"value_base64\":\"%s\"}", encoded);
        }
      else
        {
          body = g_strdup (cases[i].body);
        }
      response = secret_put (td, cases[i].role, cases[i].owner_key, body);
      g_test_message ("case %u: %s as %s: %u", i, cases[i].owner_key,
                      hgd_role_to_string (cases[i].role), response->status);
      assert_error (response, cases[i].status, cases[i].code);
    }

  /* a body over [api] max-body-bytes is not even read */
  {
    g_autofree gchar *huge = value_body_of_length (70000);
    g_autoptr(HgdTestResponse) response = secret_put (td, HGD_ROLE_IT_ADMIN, "core/k", huge);

    assert_error (response, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "payload-too-large");
  }

  /* nothing of it was stored, nor journaled */
  {
    g_autoptr(HgdTestResponse) municipal = hgd_test_daemon_request (
        td, "GET", "/api/v1/secrets", hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN), NULL);
    g_autoptr(HgdTestResponse) personal = hgd_test_daemon_request (
        td, "GET", "/api/v1/secrets", hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT), NULL);
    g_autoptr(HgdTestResponse) events = hgd_test_daemon_request (
        td, "GET", "/api/v1/events?after=0&limit=1000",
        hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN), NULL);
    g_autofree gchar *events_text = g_strndup (g_bytes_get_data (events->body, NULL),
                                               g_bytes_get_size (events->body));

    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (municipal->json,
                                                                           "secrets")),
                      ==, 0);
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (personal->json,
                                                                           "secrets")),
                      ==, 0);
    g_assert_null (strstr (events_text, "secret.set"));
  }
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* GLib's writer, but for the warnings a case expects (hg_test_log_expect_warning ()) */
  g_log_set_writer_func (hg_test_log_writer_cb, NULL, NULL);

  g_test_add_func ("/api/routes/role-table", test_role_table);
  g_test_add_func ("/api/routes/unknown-path-and-method", test_unknown_route);
  g_test_add_func ("/api/openapi/covers-every-route", test_openapi_covers_every_route);
  g_test_add_func ("/api/openapi/served", test_openapi_served);
  g_test_add_func ("/api/ui/served-with-strict-headers", test_ui_served);
  g_test_add_func ("/api/bad-input/malformed-json", test_malformed_json);
  g_test_add_func ("/api/bad-input/strict-json", test_strict_json);
  g_test_add_func ("/api/bad-input/oversized-body", test_oversized_body);
  g_test_add_func ("/api/bad-input/wrong-content-type", test_wrong_content_type);
  g_test_add_func ("/api/bad-input/unknown-member", test_unknown_member);
  g_test_add_func ("/api/bad-input/expired-token", test_expired_token);
  g_test_add_func ("/api/bad-input/forged-token", test_forged_token);
  g_test_add_func ("/api/bad-input/revoked-token", test_revoked_token);
  g_test_add_func ("/api/bad-input/personal-token-on-municipal-route",
                   test_personal_token_on_municipal_route);
  g_test_add_func ("/api/bad-input/login-rate-limited", test_login_rate_limited);
  g_test_add_func ("/api/bad-input/websocket-reconnect-replays-missed-events",
                   test_websocket_reconnect);
  g_test_add_func ("/api/bad-input/websocket-refused-before-upgrade", test_websocket_refused);
  g_test_add_func ("/api/bad-input/revoked-token-closes-event-stream",
                   test_revoked_token_closes_stream);
  g_test_add_func ("/api/events/caller-domain-only", test_events_domains);
  g_test_add_func ("/api/sensors/devices-of-caller-domain", test_sensors_list);
  g_test_add_func ("/api/alarms/raise-is-durable-before-201", test_raise_is_durable_before_201);
  g_test_add_func ("/api/alarms/idempotency-key-same-alarm", test_idempotency_key_same_alarm);
  g_test_add_func ("/api/alarms/idempotency-key-survives-restart",
                   test_idempotency_key_survives_restart);
  g_test_add_func ("/api/alarms/idempotency-key-in-flight", test_idempotency_key_in_flight);
  g_test_add_func ("/api/alarms/transitions-by-role", test_alarm_transitions);
  g_test_add_func ("/api/alarms/transitions-by-table", test_alarm_transition_table);
  g_test_add_func ("/api/alarms/resident-cancels-only-own-or-home-alarms",
                   test_resident_cancels_own);
  g_test_add_func ("/api/alarms/times", test_alarm_times);
  g_test_add_func ("/api/users/managed-by-domain", test_users_by_domain);
  g_test_add_func ("/api/users/unicode-names", test_users_unicode_names);
  g_test_add_func ("/api/auth/login-cookie", test_login_cookie);
  g_test_add_func ("/api/plugins/example-listed-and-restarted", test_plugins_restart);
  g_test_add_func ("/api/plugins/disabled-stays-stopped-across-restart", test_plugins_disable);
  g_test_add_func ("/api/plugins/personal-instances-only-as-aggregate",
                   test_plugins_personal_aggregate);
  g_test_add_func ("/api/plugins/disabling-last-delivery-is-a-health-fault",
                   test_plugins_disable_last_delivery);
  g_test_add_func ("/api/health", test_health);
  g_test_add_func ("/api/journal/size-budget-warns-in-health", test_health_journal_size_budget);
  g_test_add_func ("/api/metrics-format", test_metrics_format);
  g_test_add_func ("/api/tls/self-signed-generated-and-reused", test_tls_self_signed);
  g_test_add_func ("/api/tls/old-versions-refused-hsts-sent", test_tls_versions_and_hsts);
  g_test_add_func ("/api/tls/key-file-moved-into-secret-store", test_tls_key_moved_into_store);
  g_test_add_func ("/api/tls/certificate-installed-used-without-restart",
                   test_tls_certificate_installed);
  g_test_add_func ("/api/connections/closed-and-slow-released", test_connections_released);
  g_test_add_func ("/api/connections/body-never-comes-answered", test_body_never_comes);
  g_test_add_func ("/api/connections/kept-alive-closed-idle-released",
                   test_connections_kept_alive);
  g_test_add_func ("/api/connections/idle-closed-after-keep-alive-timeout",
                   test_connections_idle_closed);
  g_test_add_func ("/api/host/foreign-host-refused", test_foreign_host_refused);
  g_test_add_func ("/api/auth/login-foreign-origin-refused", test_login_foreign_origin_refused);
  g_test_add_func ("/api/auth/login-limits-per-client", test_login_limits_per_client);
  g_test_add_func ("/api/users/weak-password-refused", test_weak_password_refused);
  g_test_add_func ("/api/events/alarm-own-on-personal-stream-only", test_alarm_own_stream);
  g_test_add_func ("/api/personal/export-contents-and-roles", test_personal_export);
  g_test_add_func ("/api/personal/erase-requires-confirm", test_personal_erase_confirm);
  g_test_add_func ("/api/personal/erase-leaves-municipal-intact", test_personal_erase);
  g_test_add_func ("/api/access-log/logins-paging-verify", test_access_log_logins);
  g_test_add_func ("/api/access-log/municipal-side", test_access_log_municipal_side);
  g_test_add_func ("/api/access-log/tampered-is-health-fault", test_access_log_tampered);
  g_test_add_func ("/api/access-log/personal-reads-under-grant", test_access_log_personal_reads);
  g_test_add_func ("/api/access-log/shared-events-logged-once", test_access_log_shared_events);
  g_test_add_func ("/api/secrets/write-only-journaled-per-domain", test_secrets_write_only);
  g_test_add_func ("/api/secrets/bad-input-refused", test_secrets_bad_input);

  return g_test_run ();
}
