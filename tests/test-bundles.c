/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Plugin bundles against real processes: hemgatectl makes keys and bundles from this
 * tree's built plugins (the example plugin, and the crash-on-start test plugin), signs
 * them, and installs, upgrades and removes them in a running hemgated (demo users, a free
 * port, its own state directory) over the HTTP API. Each bad bundle is refused with its
 * own code while the running version keeps running; a plugin that crashes at start is
 * rolled back; a kill -9 of hemgated in the middle of an install leaves the previous
 * version running after the restart. */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <signal.h>

#include "hg-test-http.h"
#include "hg-test-support.h"

#define PASSWORD "bundles-test-password-4711"
#define WAIT_SECONDS 30
#define PLUGIN "greeter"


typedef struct
{
  gchar *dir;         /* (owned) the test's own directory: keys, plugin folders, bundles */
  gchar *state_dir;   /* (owned) */
  gchar *config_path; /* (owned) */
  guint16 port;
  gchar *url;           /* (owned) */
  GSubprocess *daemon;  /* (owned) (nullable) */
  SoupSession *session; /* (owned) */
  gchar *admin;         /* (owned) it-admin's token */
  gchar *resident;      /* (owned) the resident's token */
} Fixture;

typedef struct
{
  guint status;
  JsonObject *json; /* (owned) (nullable) */
} Answer;

static void
answer_free (Answer *answer)
{
  g_clear_pointer (&answer->json, json_object_unref);
  g_free (answer);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Answer, answer_free)

/* HTTP ------------------------------------------------------------------------------------ */

static Answer *
request (Fixture *fixture,
         const gchar *method,
         const gchar *path,
         const gchar *token,
         const gchar *json_body,
         GBytes *bytes)
{
  g_autofree gchar *uri = g_strconcat (fixture->url, path, NULL);
  g_autoptr(SoupMessage) msg = hg_test_http_message_new (method, uri, token, json_body);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  Answer *answer = g_new0 (Answer, 1);

  if (bytes != NULL)
    soup_message_set_request_body_from_bytes (msg, "application/octet-stream", bytes);
  /* a body past the limit is refused from its headers; without waiting for `100 Continue`
   * the server's close would cut the upload, not answer it */
  if (bytes != NULL && g_bytes_get_size (bytes) > 32 * 1024 * 1024)
    soup_message_headers_set_expectations (soup_message_get_request_headers (msg),
                                           SOUP_EXPECTATION_CONTINUE);
  body = soup_session_send_and_read (fixture->session, msg, NULL, &error);
  g_assert_no_error (error);
  answer->status = soup_message_get_status (msg);
  if (g_bytes_get_size (body) > 0
      && json_parser_load_from_data (parser, g_bytes_get_data (body, NULL),
                                     (gssize) g_bytes_get_size (body), NULL)
      && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    answer->json = json_object_ref (json_node_get_object (json_parser_get_root (parser)));
  g_test_message ("%s %s -> %u %.*s", method, path, answer->status,
                  (int) MIN (g_bytes_get_size (body), 400),
                  (const gchar *) g_bytes_get_data (body, NULL));
  return answer;
}

static const gchar *
error_code (Answer *answer)
{
  JsonObject *error;

  if (answer->json == NULL || !json_object_has_member (answer->json, "error"))
    return NULL;
  error = json_object_get_object_member (answer->json, "error");
  return json_object_get_string_member_with_default (error, "code", NULL);
}

static gchar *
login (Fixture *fixture,
       const gchar *username)
{
  g_autofree gchar *body
      = g_strdup_printf ("{\"username\": \"%s\", \"password\": \"%s\"}", username, PASSWORD);
  g_autoptr(Answer) answer = request (fixture, "POST", "/api/v1/auth/login", NULL, body, NULL);

  g_assert_cmpuint (answer->status, ==, SOUP_STATUS_OK);
  return g_strdup (json_object_get_string_member (answer->json, "token"));
}

/* The daemon ------------------------------------------------------------------------------- */

static gboolean
url_is_up (gpointer data)
{
  Fixture *fixture = data;
  g_autofree gchar *uri = g_strconcat (fixture->url, "/api/v1/health", NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
  g_autoptr(GBytes) body = soup_session_send_and_read (fixture->session, msg, NULL, NULL);

  return body != NULL && soup_message_get_status (msg) == SOUP_STATUS_OK;
}

/* Starts hemgated --demo; @kill_at, when given, is the install step it kills itself at. */
static void
start_daemon (Fixture *fixture,
              const gchar *kill_at)
{
  g_autoptr(GSubprocessLauncher) launcher = hg_test_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr(GError) error = NULL;

  g_subprocess_launcher_setenv (launcher, "HEMGATE_DEMO_PASSWORD", PASSWORD, TRUE);
  if (kill_at != NULL)
    g_subprocess_launcher_setenv (launcher, "HEMGATED_TEST_KILL_AT", kill_at, TRUE);
  fixture->daemon
      = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("HEMGATED"), "--demo", "--config",
                                     fixture->config_path, "--state-dir", fixture->state_dir, NULL);
  g_assert_no_error (error);
  hg_test_wait_for (url_is_up, fixture, WAIT_SECONDS);
  g_clear_pointer (&fixture->admin, g_free);
  g_clear_pointer (&fixture->resident, g_free);
  fixture->admin = login (fixture, "admin");
  fixture->resident = login (fixture, "resident");
}

static void
stop_daemon (Fixture *fixture)
{
  if (fixture->daemon == NULL)
    return;
  hg_test_terminate (fixture->daemon, WAIT_SECONDS, FALSE);
  g_clear_object (&fixture->daemon);
}

/* hemgatectl --------------------------------------------------------------------------------- */

static gint
ctl (Fixture *fixture,
     const gchar *token,
     gchar **out,
     gchar **err,
     const gchar *const *argv)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) args = g_ptr_array_new ();

  launcher = hg_test_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_cwd (launcher, fixture->dir);
  if (fixture->url != NULL)
    g_subprocess_launcher_setenv (launcher, "HEMGATE_URL", fixture->url, TRUE);
  if (token != NULL)
    g_subprocess_launcher_setenv (launcher, "HEMGATE_TOKEN", token, TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "HEMGATE_TOKEN");
  g_ptr_array_add (args, (gpointer) g_getenv ("HEMGATECTL"));
  for (guint i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) argv[i]);
  g_ptr_array_add (args, NULL);
  return hg_test_run_process (launcher, (const gchar *const *) args->pdata, NULL, out, err);
}

#define CTL(fixture, token, ...)                                                                   \
  ctl ((fixture), (token), NULL, NULL, (const gchar *const[]){ __VA_ARGS__, NULL })

/* Bundles ----------------------------------------------------------------------------------- */

/* A plugin folder @name under the test's directory: @module_path copied beside a manifest
 * with @id, @version, @api, @domains and @capabilities (JSON arrays' insides). */
static gchar *
plugin_dir (Fixture *fixture,
            const gchar *name,
            const gchar *version,
            const gchar *api,
            const gchar *module_path,
            const gchar *domains,
            const gchar *capabilities)
{
  g_autofree gchar *dir = g_build_filename (fixture->dir, name, NULL);
  g_autofree gchar *module_name = g_path_get_basename (module_path);
  g_autofree gchar *module = g_build_filename (dir, module_name, NULL);
  g_autofree gchar *manifest = g_build_filename (dir, "manifest.json", NULL);
  g_autofree gchar *data_dir = g_build_filename (dir, "data", NULL);
  g_autofree gchar *data_file = g_build_filename (data_dir, "greeting.txt", NULL);
  g_autofree gchar *text = NULL;
  g_autofree gchar *contents = NULL;
  g_autoptr(GError) error = NULL;
  gsize length = 0;

  g_assert_cmpint (g_mkdir_with_parents (data_dir, 0755), ==, 0);
  text = g_strdup_printf ("{\"id\": \"%s\", \"name\": \"Greeter\", \"version\": \"%s\", "
                          "\"provider\": \"The hemgate tests\", \"api_version\": \"%s\", "
                          "\"module\": \"%s\", \"domains\": [%s], \"capabilities\": [%s]}\n",
                          PLUGIN, version, api, module_name, domains, capabilities);
  g_file_set_contents (manifest, text, -1, &error);
  g_assert_no_error (error);
  g_file_get_contents (module_path, &contents, &length, &error);
  g_assert_no_error (error);
  g_file_set_contents (module, contents, (gssize) length, &error);
  g_assert_no_error (error);
  g_file_set_contents (data_file, "hello\n", -1, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&dir);
}

static gchar *
example_module (void)
{
  return g_build_filename (g_getenv ("HEMGATE_PLUGINDIR"), "example", "hg-example-plugin.so", NULL);
}

/* A bundle NAME.hgp of the plugin folder @dir (for @arch, or this machine's), signed with
 * @key (a `bundle keygen` name) unless %NULL. */
static gchar *
make_bundle (Fixture *fixture,
             const gchar *dir,
             const gchar *name,
             const gchar *key,
             const gchar *arch)
{
  g_autofree gchar *file = g_strconcat (name, ".hgp", NULL);
  g_autofree gchar *key_file = key != NULL ? g_strconcat (key, ".key", NULL) : NULL;

  if (arch != NULL)
    g_assert_cmpint (CTL (fixture, NULL, "bundle", "create", "--arch", arch, dir, file), ==, 0);
  else
    g_assert_cmpint (CTL (fixture, NULL, "bundle", "create", dir, file), ==, 0);
  if (key != NULL)
    g_assert_cmpint (CTL (fixture, NULL, "bundle", "sign", file, key_file), ==, 0);
  return g_build_filename (fixture->dir, file, NULL);
}

static GBytes *
read_bytes (const gchar *path)
{
  gchar *contents = NULL;
  gsize length = 0;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

static void
keygen_and_trust (Fixture *fixture,
                  const gchar *name,
                  const gchar *token)
{
  g_autofree gchar *pub = g_strconcat (name, ".pub", NULL);

  g_assert_cmpint (CTL (fixture, NULL, "bundle", "keygen", name), ==, 0);
  if (token != NULL)
    g_assert_cmpint (CTL (fixture, token, "trust", "add", pub), ==, 0);
}

static Answer *
install (Fixture *fixture,
         const gchar *token,
         const gchar *path,
         const gchar *query)
{
  g_autoptr(GBytes) bytes = read_bytes (path);
  g_autofree gchar *route = g_strconcat ("/api/v1/bundles", query != NULL ? query : "", NULL);

  return request (fixture, "POST", route, token, NULL, bytes);
}

/* Installs @path over the API and waits for the job's outcome, which it returns. */
static JsonObject *
install_and_wait (Fixture *fixture,
                  const gchar *token,
                  const gchar *path,
                  const gchar *query)
{
  g_autoptr(Answer) accepted = install (fixture, token, path, query);
  g_autofree gchar *route = NULL;
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  g_assert_cmpuint (accepted->status, ==, SOUP_STATUS_ACCEPTED);
  route = g_strdup_printf ("/api/v1/bundles/jobs/%s",
                           json_object_get_string_member (accepted->json, "job"));
  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(Answer) job = request (fixture, "GET", route, token, NULL, NULL);

      g_assert_cmpuint (job->status, ==, SOUP_STATUS_OK);
      if (g_strcmp0 (json_object_get_string_member (job->json, "state"), "running") != 0)
        return json_object_ref (job->json);
      hg_test_run_for (100);
    }
  g_assert_not_reached ();
  return NULL;
}

/* The plugin's instance as GET /api/v1/plugins shows it to @token, or NULL. */
static JsonObject *
find_plugin (Fixture *fixture,
             const gchar *token)
{
  g_autoptr(Answer) answer = request (fixture, "GET", "/api/v1/plugins", token, NULL, NULL);
  JsonArray *plugins;

  g_assert_cmpuint (answer->status, ==, SOUP_STATUS_OK);
  plugins = json_object_get_array_member (answer->json, "plugins");
  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *plugin = json_array_get_object_element (plugins, i);
      if (g_strcmp0 (json_object_get_string_member (plugin, "id"), PLUGIN) == 0)
        return json_object_ref (plugin);
    }
  return NULL;
}

typedef struct
{
  Fixture *fixture;
  const gchar *version;
} RunningCheck;

static gboolean
runs_version (gpointer data)
{
  RunningCheck *check = data;
  g_autoptr(JsonObject) plugin = find_plugin (check->fixture, check->fixture->admin);

  return plugin != NULL
         && g_strcmp0 (json_object_get_string_member (plugin, "state"), "running") == 0
         && g_strcmp0 (json_object_get_string_member_with_default (plugin, "version", ""),
                       check->version)
                == 0;
}

/* The municipal greeter runs @version, within a few seconds. */
static void
assert_runs (Fixture *fixture,
             const gchar *version)
{
  RunningCheck check = { fixture, version };

  hg_test_wait_for (runs_version, &check, WAIT_SECONDS);
}

/* The types of the events of the caller's journal, in order, as one string. */
static gchar *
event_types (Fixture *fixture,
             const gchar *token)
{
  g_autoptr(Answer) answer
      = request (fixture, "GET", "/api/v1/events?limit=1000", token, NULL, NULL);
  g_autoptr(GString) types = g_string_new (NULL);
  JsonArray *events = json_object_get_array_member (answer->json, "events");

  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *event = json_array_get_object_element (events, i);
      const gchar *type = json_object_get_string_member (event, "type");

      if (g_str_has_prefix (type, "bundle."))
        g_string_append_printf (types, "%s ", type);
    }
  return g_string_free (g_steal_pointer (&types), FALSE);
}

/* Fixture ------------------------------------------------------------------------------------ */

static void
setup (Fixture *fixture,
       gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *config = NULL;

  fixture->dir = g_build_filename (g_get_user_data_dir (), "bundles-test", NULL);
  fixture->state_dir = g_build_filename (g_get_user_data_dir (), "hemgate", NULL);
  fixture->config_path = g_build_filename (g_get_user_config_dir (), "hemgate.conf", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->dir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (fixture->state_dir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (g_get_user_config_dir (), 0700), ==, 0);
  fixture->port = hg_test_free_port ();
  fixture->url = g_strdup_printf ("http://127.0.0.1:%u", fixture->port);
  /* the demo's users; of its plugins only the example, which a bundle may not replace */
  config = g_strdup_printf ("[api]\nlisten-address = 127.0.0.1\nport = %u\ntls = false\n\n"
                            "[plugin:scaip-alarm]\nenabled = false\n\n"
                            "[plugin:sensors-municipal]\nenabled = false\n\n"
                            "[plugin:sensors-personal]\nenabled = false\n",
                            fixture->port);
  g_file_set_contents (fixture->config_path, config, -1, &error);
  g_assert_no_error (error);
  fixture->session = soup_session_new_with_options ("timeout", 60, "proxy-resolver", NULL, NULL);
  start_daemon (fixture, NULL);
}

static void
teardown (Fixture *fixture,
          gconstpointer data)
{
  stop_daemon (fixture);
  g_clear_object (&fixture->session);
  g_free (fixture->admin);
  g_free (fixture->resident);
  g_free (fixture->url);
  g_free (fixture->config_path);
  g_free (fixture->state_dir);
  g_free (fixture->dir);
}

/* Tests -------------------------------------------------------------------------------------- */

static void
test_install_upgrade_remove (Fixture *fixture,
                             gconstpointer data)
{
  g_autofree gchar *module = example_module ();
  g_autofree gchar *v1_dir
      = plugin_dir (fixture, "v1", "1.0", "1", module, "\"municipal\"", "\"sensor.publish\"");
  g_autofree gchar *v2_dir = plugin_dir (fixture, "v2", "2.0", "1", module, "\"municipal\"",
                                         "\"sensor.publish\", \"secrets\"");
  g_autofree gchar *v1 = NULL;
  g_autofree gchar *v2 = NULL;
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  g_autofree gchar *types = NULL;
  g_autofree gchar *installed_dir = NULL;
  g_autoptr(Answer) listed = NULL;
  g_autoptr(Answer) refused = NULL;
  g_autoptr(Answer) removed = NULL;
  g_autoptr(JsonObject) outcome = NULL;
  g_autoptr(JsonObject) plugin = NULL;
  JsonArray *bundles;
  JsonArray *new_capabilities;

  g_test_summary ("A signed bundle of the example plugin installs into a running hemgated "
                  "through hemgatectl, upgrades only with its new capability approved, stays "
                  "installed across a restart, and is removed");
  keygen_and_trust (fixture, "provider", fixture->admin);
  v1 = make_bundle (fixture, v1_dir, "greeter-1.0", "provider", NULL);
  v2 = make_bundle (fixture, v2_dir, "greeter-2.0", "provider", NULL);

  g_assert_cmpint (
      ctl (fixture, NULL, &out, NULL, (const gchar *const[]){ "bundle", "inspect", v2, NULL }), ==,
      0);
  g_assert_nonnull (strstr (out, "greeter 2.0"));
  g_assert_nonnull (strstr (out, "secrets"));
  g_assert_nonnull (strstr (out, "data/greeting.txt"));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (ctl (fixture, fixture->admin, &out, NULL,
                        (const gchar *const[]){ "plugins", "install", v1, NULL }),
                   ==, 0);
  g_assert_nonnull (strstr (out, "Installed greeter 1.0"));
  g_clear_pointer (&out, g_free);
  assert_runs (fixture, "1.0");
  installed_dir = g_build_filename (fixture->state_dir, "municipal", "bundles", PLUGIN, "current",
                                    "data", "greeting.txt", NULL);
  g_assert_true (g_file_test (installed_dir, G_FILE_TEST_IS_REGULAR));

  /* the upgrade asks for `secrets`: refused until approved, with the list */
  refused = install (fixture, fixture->admin, v2, NULL);
  g_assert_cmpuint (refused->status, ==, SOUP_STATUS_CONFLICT);
  g_assert_cmpstr (error_code (refused), ==, "approval-needed");
  new_capabilities = json_object_get_array_member (
      json_object_get_object_member (refused->json, "error"), "new_capabilities");
  g_assert_cmpuint (json_array_get_length (new_capabilities), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (new_capabilities, 0), ==, "secrets");
  g_assert_cmpint (ctl (fixture, fixture->admin, NULL, &err,
                        (const gchar *const[]){ "plugins", "install", v2, NULL }),
                   ==, 1);
  g_assert_nonnull (strstr (err, "secrets"));
  assert_runs (fixture, "1.0");

  outcome = install_and_wait (fixture, fixture->admin, v2, "?approve=secrets&health=1");
  g_assert_cmpstr (json_object_get_string_member (outcome, "state"), ==, "succeeded");
  g_assert_cmpstr (json_object_get_string_member (outcome, "previous_version"), ==, "1.0");
  assert_runs (fixture, "2.0");
  plugin = find_plugin (fixture, fixture->admin);
  g_assert_cmpstr (json_object_get_string_member (plugin, "domain"), ==, "municipal");

  listed = request (fixture, "GET", "/api/v1/bundles", fixture->admin, NULL, NULL);
  bundles = json_object_get_array_member (listed->json, "bundles");
  g_assert_cmpuint (json_array_get_length (bundles), ==, 1);
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (bundles, 0), "version"), ==,
      "2.0");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (bundles, 0),
                                                  "previous_version"),
                   ==, "1.0");
  g_clear_pointer (&listed, answer_free);
  /* the resident sees none of the municipal domain's */
  listed = request (fixture, "GET", "/api/v1/bundles", fixture->resident, NULL, NULL);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (listed->json, "bundles")),
                    ==, 0);

  types = event_types (fixture, fixture->admin);
  g_assert_nonnull (strstr (types, "bundle.key-trusted"));
  g_assert_nonnull (strstr (types, "bundle.progress"));
  g_assert_nonnull (strstr (types, "bundle.installed"));

  /* across a restart of hemgated */
  stop_daemon (fixture);
  start_daemon (fixture, NULL);
  assert_runs (fixture, "2.0");

  g_assert_cmpint (CTL (fixture, fixture->admin, "plugins", "remove", PLUGIN), ==, 0);
  g_clear_pointer (&plugin, json_object_unref);
  plugin = find_plugin (fixture, fixture->admin);
  g_assert_null (plugin);
  g_assert_false (g_file_test (installed_dir, G_FILE_TEST_EXISTS));
  removed = request (fixture, "DELETE", "/api/v1/bundles/" PLUGIN, fixture->admin, NULL, NULL);
  g_assert_cmpuint (removed->status, ==, SOUP_STATUS_NOT_FOUND);
}

/* Whether the caller's journal has a heartbeat of the bundle's example plugin. */
static gboolean
has_heartbeat (gpointer data)
{
  Fixture *fixture = data;
  g_autoptr(Answer) answer
      = request (fixture, "GET", "/api/v1/events?limit=1000", fixture->admin, NULL, NULL);
  JsonArray *events = json_object_get_array_member (answer->json, "events");

  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *event = json_array_get_object_element (events, i);

      if (g_strcmp0 (json_object_get_string_member (event, "type"), "sensor.heartbeat") == 0)
        return TRUE;
    }
  return FALSE;
}

/* Appends @text to the fixture's hemgate.conf and restarts hemgated to read it. */
static void
append_config (Fixture *fixture,
               const gchar *text)
{
  g_autofree gchar *config = NULL;
  g_autofree gchar *joined = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (fixture->config_path, &config, NULL, &error);
  g_assert_no_error (error);
  joined = g_strconcat (config, text, NULL);
  g_file_set_contents (fixture->config_path, joined, -1, &error);
  g_assert_no_error (error);
  stop_daemon (fixture);
  start_daemon (fixture, NULL);
}

static void
test_configured_from_conf (Fixture *fixture,
                           gconstpointer data)
{
  g_autofree gchar *module = example_module ();
  g_autofree gchar *v1_dir
      = plugin_dir (fixture, "v1", "1.0", "1", module, "\"municipal\"", "\"sensor.publish\"");
  g_autofree gchar *v1 = NULL;
  g_autofree gchar *config = NULL;
  g_autoptr(JsonObject) refused = NULL;
  g_autoptr(JsonObject) outcome = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A [plugin:ID] group marked source = bundle configures the instance of the "
                  "bundle that installs ID, not an instance of its own: an interval the "
                  "example plugin refuses fails the install, one of a second heartbeats");
  keygen_and_trust (fixture, "provider", fixture->admin);
  v1 = make_bundle (fixture, v1_dir, "greeter-1.0", "provider", NULL);

  append_config (fixture, "\n[plugin:" PLUGIN "]\nsource = bundle\ninterval = 0\n");
  g_assert_null (find_plugin (fixture, fixture->admin));
  refused = install_and_wait (fixture, fixture->admin, v1, "?health=1");
  g_assert_cmpstr (json_object_get_string_member (refused, "state"), !=, "succeeded");
  g_assert_nonnull (strstr (json_object_get_string_member (refused, "error"), "interval"));

  g_file_get_contents (fixture->config_path, &config, NULL, &error);
  g_assert_no_error (error);
  *strstr (config, "interval = 0") = '\0';
  g_file_set_contents (fixture->config_path, config, -1, &error);
  g_assert_no_error (error);
  append_config (fixture, "interval = 1\n");
  outcome = install_and_wait (fixture, fixture->admin, v1, "?health=1");
  g_assert_cmpstr (json_object_get_string_member (outcome, "state"), ==, "succeeded");
  hg_test_wait_for (has_heartbeat, fixture, WAIT_SECONDS);
}

static void
test_crash_at_start_rolls_back (Fixture *fixture,
                                gconstpointer data)
{
  g_autofree gchar *module = example_module ();
  g_autofree gchar *crash = g_build_filename (g_getenv ("HGD_TEST_PLUGINS"), "crash-on-start",
                                              "hg-crash-plugin.so", NULL);
  g_autofree gchar *v1_dir = plugin_dir (fixture, "v1", "1.0", "1", module, "\"municipal\"", "");
  g_autofree gchar *v3_dir = plugin_dir (fixture, "v3", "3.0", "1", crash, "\"municipal\"", "");
  g_autofree gchar *v1 = NULL;
  g_autofree gchar *v3 = NULL;
  g_autofree gchar *fresh_dir = NULL;
  g_autofree gchar *bundle_dir = NULL;
  g_autofree gchar *err = NULL;
  g_autofree gchar *types = NULL;
  g_autoptr(JsonObject) outcome = NULL;
  g_autoptr(JsonObject) fresh = NULL;

  g_test_summary ("A new version whose plugin crashes at start is rolled back by itself to the "
                  "version before it; a fresh install that crashes leaves nothing behind");
  keygen_and_trust (fixture, "provider", fixture->admin);
  v1 = make_bundle (fixture, v1_dir, "greeter-1.0", "provider", NULL);
  v3 = make_bundle (fixture, v3_dir, "greeter-3.0", "provider", NULL);

  /* a fresh install that crashes: removed again */
  fresh = install_and_wait (fixture, fixture->admin, v3, "?health=1");
  g_assert_cmpstr (json_object_get_string_member (fresh, "state"), ==, "rolled-back");
  bundle_dir = g_build_filename (fixture->state_dir, "municipal", "bundles", PLUGIN, NULL);
  g_assert_false (g_file_test (bundle_dir, G_FILE_TEST_EXISTS));
  g_assert_null (find_plugin (fixture, fixture->admin));

  outcome = install_and_wait (fixture, fixture->admin, v1, "?health=1");
  g_assert_cmpstr (json_object_get_string_member (outcome, "state"), ==, "succeeded");
  assert_runs (fixture, "1.0");
  g_clear_pointer (&outcome, json_object_unref);

  g_assert_cmpint (ctl (fixture, fixture->admin, NULL, &err,
                        (const gchar *const[]){ "plugins", "install", v3, NULL }),
                   ==, 1);
  g_assert_nonnull (strstr (err, "rolled-back"));
  assert_runs (fixture, "1.0");
  types = event_types (fixture, fixture->admin);
  g_assert_nonnull (strstr (types, "bundle.rolled-back"));
  fresh_dir = g_build_filename (bundle_dir, "pending", NULL);
  g_assert_false (g_file_test (fresh_dir, G_FILE_TEST_EXISTS));
}

/* Makes a bundle by hand with an entry called @name (of @zeros zero bytes) and
 * @manifest_text (or a plain one), as an attacker would: hemgatectl refuses to build such
 * names and manifests. hemgatectl signs it with the provider's key. */
static gchar *
forge_bundle (Fixture *fixture,
              const gchar *file,
              const gchar *manifest_text,
              const gchar *name,
              gsize zeros)
{
  g_autoptr(GVariantBuilder) entries = g_variant_builder_new (G_VARIANT_TYPE ("a(sbay)"));
  g_autoptr(GVariant) inner = NULL;
  g_autoptr(GVariant) outer = NULL;
  g_autoptr(GBytes) serialized = NULL;
  g_autoptr(GZlibCompressor) compressor = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 9);
  g_autoptr(GOutputStream) memory = g_memory_output_stream_new_resizable ();
  g_autoptr(GOutputStream) gzip = g_converter_output_stream_new (memory, G_CONVERTER (compressor));
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GBytes) contents = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *path = g_build_filename (fixture->dir, file, NULL);
  g_autofree gchar *module = example_module ();
  g_autofree gchar *module_data = NULL;
  gsize module_length = 0;
  const gchar *manifest
      = manifest_text != NULL
            ? manifest_text
            : "{\"id\": \"greeter\", \"name\": \"Greeter\", \"version\": \"6.6\", "
              "\"provider\": \"x\", \"api_version\": \"1\", \"module\": "
              "\"hg-example-plugin.so\", \"domains\": [\"municipal\"], \"capabilities\": []}";
  g_autofree gchar *lib
      = g_strdup_printf ("lib/%s/hg-example-plugin.so", g_getenv ("HGD_BUNDLE_ARCH"));

  g_file_get_contents (module, &module_data, &module_length, &error);
  g_assert_no_error (error);
  g_variant_builder_add (
      entries, "(sb@ay)", "manifest.json", FALSE,
      g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, manifest, strlen (manifest), 1));
  g_variant_builder_add (
      entries, "(sb@ay)", lib, TRUE,
      g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, module_data, module_length, 1));
  contents = zeros > 0 ? g_bytes_new_take (g_malloc0 (zeros), zeros) : g_bytes_new_static ("x", 1);
  g_variant_builder_add (entries, "(sb@ay)", name, FALSE,
                         g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, contents, TRUE));
  inner = g_variant_ref_sink (g_variant_new ("(ua(sbay))", 1, entries));
  serialized = g_variant_get_data_as_bytes (inner);
  g_assert_true (g_output_stream_write_all (gzip, g_bytes_get_data (serialized, NULL),
                                            g_bytes_get_size (serialized), NULL, NULL, &error));
  g_assert_true (g_output_stream_close (gzip, NULL, &error));
  payload = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (memory));
  outer = g_variant_ref_sink (g_variant_new (
      "(ss@ay@ay)", "hemgate-bundle", "", g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, "", 0, 1),
      g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, payload, TRUE)));
  g_file_set_contents (path, g_variant_get_data (outer), (gssize) g_variant_get_size (outer),
                       &error);
  g_assert_no_error (error);
  g_assert_cmpint (CTL (fixture, NULL, "bundle", "sign", path, "provider.key"), ==, 0);
  return g_steal_pointer (&path);
}

/* Installing @path as @token is refused with @status and @code, and version 1.0 runs on. */
static void
assert_refused (Fixture *fixture,
                const gchar *token,
                const gchar *path,
                guint status,
                const gchar *code,
                const gchar *words)
{
  g_autoptr(Answer) answer = install (fixture, token, path, NULL);
  const gchar *message;

  g_assert_cmpuint (answer->status, ==, status);
  g_assert_cmpstr (error_code (answer), ==, code);
  message = json_object_get_string_member (json_object_get_object_member (answer->json, "error"),
                                           "message");
  if (words != NULL && strstr (message, words) == NULL)
    g_error ("'%s' does not say '%s'", message, words);
  assert_runs (fixture, "1.0");
}

static void
test_bad_input (Fixture *fixture,
                gconstpointer data)
{
  g_autofree gchar *module = example_module ();
  g_autofree gchar *v1_dir = plugin_dir (fixture, "v1", "1.0", "1", module, "\"municipal\"", "");
  g_autofree gchar *v2_dir = plugin_dir (fixture, "v2", "2.0", "1", module, "\"municipal\"", "");
  g_autofree gchar *future_dir
      = plugin_dir (fixture, "future", "2.1", "2", module, "\"municipal\"", "");
  g_autofree gchar *v1 = NULL;
  g_autofree gchar *unsigned_bundle = NULL;
  g_autofree gchar *stranger = NULL;
  g_autofree gchar *personal = NULL;
  g_autofree gchar *arm = NULL;
  g_autofree gchar *future = NULL;
  g_autofree gchar *deliver = NULL;
  g_autofree gchar *tampered = g_build_filename (fixture->dir, "tampered.hgp", NULL);
  g_autofree gchar *truncated = g_build_filename (fixture->dir, "truncated.hgp", NULL);
  g_autofree gchar *oversized = g_build_filename (fixture->dir, "oversized.hgp", NULL);
  g_autofree gchar *dotdot = NULL;
  g_autofree gchar *absolute = NULL;
  g_autofree gchar *bomb = NULL;
  g_autofree gchar *v2 = NULL;
  g_autofree gchar *contents = NULL;
  g_autofree gchar *health_status = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) outcome = NULL;
  g_autoptr(Answer) health = NULL;
  g_autoptr(Answer) revoked = NULL;
  g_autoptr(Answer) listed = NULL;
  JsonObject *subsystem;
  gsize length = 0;

  g_test_summary ("Every bad bundle is refused with its own reason, and the running version keeps "
                  "running: unsigned, wrongly signed, tampered, truncated, oversized, a zip bomb, "
                  "'../' and absolute names, another architecture, a plugin API from the future, "
                  "a capability the domain forbids, a personal key into the municipal domain, a "
                  "revoked key");
  keygen_and_trust (fixture, "provider", fixture->admin);
  keygen_and_trust (fixture, "stranger", NULL);
  keygen_and_trust (fixture, "residents-own", fixture->resident);
  v1 = make_bundle (fixture, v1_dir, "greeter-1.0", "provider", NULL);
  outcome = install_and_wait (fixture, fixture->admin, v1, "?health=1");
  g_assert_cmpstr (json_object_get_string_member (outcome, "state"), ==, "succeeded");
  assert_runs (fixture, "1.0");

  unsigned_bundle = make_bundle (fixture, v2_dir, "unsigned", NULL, NULL);
  assert_refused (fixture, fixture->admin, unsigned_bundle, 400, "unsigned", "not signed");

  stranger = make_bundle (fixture, v2_dir, "stranger", "stranger", NULL);
  assert_refused (fixture, fixture->admin, stranger, 400, "untrusted-key", "does not trust");

  personal = make_bundle (fixture, v2_dir, "personal-key", "residents-own", NULL);
  assert_refused (fixture, fixture->admin, personal, 400, "untrusted-key",
                  "the personal domain trusts, not the municipal domain");

  /* one bit of the payload changed after signing */
  v2 = make_bundle (fixture, v2_dir, "greeter-2.0", "provider", NULL);
  g_file_get_contents (v2, &contents, &length, &error);
  g_assert_no_error (error);
  contents[length - 40] ^= 0x01;
  g_file_set_contents (tampered, contents, (gssize) length, &error);
  g_assert_no_error (error);
  assert_refused (fixture, fixture->admin, tampered, 400, "bad-signature", "does not match");

  g_file_set_contents (truncated, contents, (gssize) (length / 2), &error);
  g_assert_no_error (error);
  assert_refused (fixture, fixture->admin, truncated, 400, "bad-format", NULL);

  {
    /* past the bundle's limit: refused by the API before it is read */
    gsize size = 32 * 1024 * 1024 + 1;
    g_autofree gchar *big = g_malloc0 (size);
    g_file_set_contents (oversized, big, (gssize) size, &error);
    g_assert_no_error (error);
    assert_refused (fixture, fixture->admin, oversized, 413, "payload-too-large", NULL);
  }

  bomb = forge_bundle (fixture, "bomb.hgp", NULL, "data/zeros", 129 * 1024 * 1024);
  assert_refused (fixture, fixture->admin, bomb, 413, "too-large", "expands to more than");

  dotdot = forge_bundle (fixture, "dotdot.hgp", NULL, "../../../etc/evil", 0);
  assert_refused (fixture, fixture->admin, dotdot, 400, "bad-name", "../../../etc/evil");
  absolute = forge_bundle (fixture, "absolute.hgp", NULL, "/etc/evil", 0);
  assert_refused (fixture, fixture->admin, absolute, 400, "bad-name", "/etc/evil");

  arm = make_bundle (fixture, v2_dir, "arm", "provider", "sparc64-linux");
  assert_refused (fixture, fixture->admin, arm, 400, "wrong-architecture", "sparc64-linux");

  future = make_bundle (fixture, future_dir, "future", "provider", NULL);
  assert_refused (fixture, fixture->admin, future, 400, "api-version", "plugin API 2");

  /* the resident trusts the provider too, but the personal domain grants no alarm.deliver */
  g_assert_cmpint (CTL (fixture, fixture->resident, "trust", "add", "provider.pub"), ==, 0);
  deliver = forge_bundle (fixture, "deliver.hgp",
                          "{\"id\": \"greeter\", \"name\": \"Greeter\", \"version\": \"2.2\", "
                          "\"provider\": \"x\", \"api_version\": \"1\", \"module\": "
                          "\"hg-example-plugin.so\", \"domains\": [\"personal\"], "
                          "\"capabilities\": [\"alarm.deliver\"]}",
                          "data/x", 0);
  assert_refused (fixture, fixture->resident, deliver, 400, "capability-forbidden",
                  "alarm.deliver");

  /* nothing of any of them was left behind */
  listed = request (fixture, "GET", "/api/v1/bundles", fixture->admin, NULL, NULL);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (listed->json, "bundles")),
                    ==, 1);
  {
    g_autofree gchar *versions
        = g_build_filename (fixture->state_dir, "municipal", "bundles", PLUGIN, "versions", NULL);
    g_autoptr(GDir) dir = g_dir_open (versions, 0, &error);
    guint n = 0;

    g_assert_no_error (error);
    while (g_dir_read_name (dir) != NULL)
      n++;
    g_assert_cmpuint (n, ==, 2); /* 1.0's folder and its .ini */
  }

  /* revoked: its bundles are refused, and the one running shows in health */
  {
    g_autofree gchar *out = NULL;
    g_autofree gchar *key_id = NULL;
    g_autoptr(GKeyFile) key = g_key_file_new ();
    g_autofree gchar *pub = g_build_filename (fixture->dir, "provider.pub", NULL);

    g_assert_true (g_key_file_load_from_file (key, pub, G_KEY_FILE_NONE, NULL));
    key_id = g_key_file_get_string (key, "hemgate key", "id", NULL);
    g_assert_cmpint (ctl (fixture, fixture->admin, &out, NULL,
                          (const gchar *const[]){ "trust", "revoke", key_id, NULL }),
                     ==, 0);
    revoked = request (fixture, "GET", "/api/v1/bundles/keys", fixture->admin, NULL, NULL);
    g_assert_true (json_object_get_boolean_member (
        json_array_get_object_element (json_object_get_array_member (revoked->json, "keys"), 0),
        "revoked"));
  }
  assert_refused (fixture, fixture->admin, v2, 400, "revoked-key", "revoked");
  health = request (fixture, "GET", "/api/v1/health", fixture->admin, NULL, NULL);
  subsystem = json_object_get_object_member (
      json_object_get_object_member (health->json, "subsystems"), "bundles");
  g_assert_cmpstr (json_object_get_string_member (subsystem, "status"), ==, "warning");
  g_assert_nonnull (strstr (json_object_get_string_member (subsystem, "message"), "greeter 1.0"));
  /* a warning at least (the rest of the gateway may have worse to say) */
  health_status = g_strdup (json_object_get_string_member (health->json, "status"));
  g_assert_cmpstr (health_status, !=, "ok");
}

/* hemgated is killed (SIGKILL, by itself) at @step of an upgrade; after the restart the
 * previous version runs, and nothing of the new one is left. */
static void
kill_at (Fixture *fixture,
         const gchar *step)
{
  g_autofree gchar *module = example_module ();
  g_autofree gchar *v1_dir = plugin_dir (fixture, "v1", "1.0", "1", module, "\"municipal\"", "");
  g_autofree gchar *v2_dir = plugin_dir (fixture, "v2", "2.0", "1", module, "\"municipal\"", "");
  g_autofree gchar *v1 = NULL;
  g_autofree gchar *v2 = NULL;
  g_autofree gchar *types = NULL;
  g_autofree gchar *versions
      = g_build_filename (fixture->state_dir, "municipal", "bundles", PLUGIN, "versions", NULL);
  g_autofree gchar *pending
      = g_build_filename (fixture->state_dir, "municipal", "bundles", PLUGIN, "pending", NULL);
  g_autoptr(JsonObject) outcome = NULL;
  g_autoptr(Answer) listed = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GDir) dir = NULL;
  g_autofree gchar *uri = g_strconcat (fixture->url, "/api/v1/bundles?health=1", NULL);
  guint n = 0;

  keygen_and_trust (fixture, "provider", fixture->admin);
  v1 = make_bundle (fixture, v1_dir, "greeter-1.0", "provider", NULL);
  v2 = make_bundle (fixture, v2_dir, "greeter-2.0", "provider", NULL);
  outcome = install_and_wait (fixture, fixture->admin, v1, "?health=1");
  g_assert_cmpstr (json_object_get_string_member (outcome, "state"), ==, "succeeded");

  stop_daemon (fixture);
  start_daemon (fixture, step);
  assert_runs (fixture, "1.0");
  /* the install is accepted, then hemgated dies at the step */
  bytes = read_bytes (v2);
  msg = hg_test_http_message_new ("POST", uri, fixture->admin, NULL);
  soup_message_set_request_body_from_bytes (msg, "application/octet-stream", bytes);
  g_clear_pointer (&bytes, g_bytes_unref);
  bytes = soup_session_send_and_read (fixture->session, msg, NULL, NULL);
  g_subprocess_wait (fixture->daemon, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_signaled (fixture->daemon));
  g_assert_cmpint (g_subprocess_get_term_sig (fixture->daemon), ==, SIGKILL);
  g_clear_object (&fixture->daemon);
  if (g_strcmp0 (step, "switch") == 0)
    g_assert_true (g_file_test (pending, G_FILE_TEST_EXISTS));

  start_daemon (fixture, NULL);
  assert_runs (fixture, "1.0");
  g_assert_false (g_file_test (pending, G_FILE_TEST_EXISTS));
  listed = request (fixture, "GET", "/api/v1/bundles", fixture->admin, NULL, NULL);
  g_assert_cmpstr (
      json_object_get_string_member (
          json_array_get_object_element (json_object_get_array_member (listed->json, "bundles"), 0),
          "version"),
      ==, "1.0");
  dir = g_dir_open (versions, 0, &error);
  g_assert_no_error (error);
  while (g_dir_read_name (dir) != NULL)
    n++;
  g_assert_cmpuint (n, ==, 2);
  {
    /* and no staging folder is left */
    g_autofree gchar *top
        = g_build_filename (fixture->state_dir, "municipal", "bundles", PLUGIN, NULL);
    g_autoptr(GDir) listing = g_dir_open (top, 0, &error);
    const gchar *name;

    g_assert_no_error (error);
    while ((name = g_dir_read_name (listing)) != NULL)
      g_assert_false (g_str_has_prefix (name, "staging-"));
  }
  if (g_strcmp0 (step, "switch") == 0)
    {
      types = event_types (fixture, fixture->admin);
      g_assert_nonnull (strstr (types, "bundle.rolled-back"));
    }

  /* and the upgrade can be made again */
  g_clear_pointer (&outcome, json_object_unref);
  outcome = install_and_wait (fixture, fixture->admin, v2, "?health=1");
  g_assert_cmpstr (json_object_get_string_member (outcome, "state"), ==, "succeeded");
  assert_runs (fixture, "2.0");
}

static gboolean
path_is_gone (gpointer data)
{
  return !g_file_test (data, G_FILE_TEST_EXISTS);
}

/* The bundle.* events of @token's journal of @type, newest last. */
static JsonArray *
bundle_events (Fixture *fixture,
               const gchar *token,
               const gchar *type)
{
  g_autoptr(Answer) answer
      = request (fixture, "GET", "/api/v1/events?limit=1000", token, NULL, NULL);
  JsonArray *events = json_object_get_array_member (answer->json, "events");
  JsonArray *found = json_array_new ();

  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *event = json_array_get_object_element (events, i);

      if (g_strcmp0 (json_object_get_string_member (event, "type"), type) == 0)
        json_array_add_object_element (found, json_object_ref (event));
    }
  return found;
}

typedef struct
{
  Fixture *fixture;
  const gchar *type;
  guint count;
} EventCount;

static gboolean
has_events (gpointer data)
{
  EventCount *check = data;
  g_autoptr(JsonArray) events
      = bundle_events (check->fixture, check->fixture->admin, check->type);

  return json_array_get_length (events) >= check->count;
}

/* Waits for @count events of @type in it-admin's journal (they are journaled as they
 * happen, committed a moment later), and returns them. */
static JsonArray *
wait_for_events (Fixture *fixture,
                 const gchar *type,
                 guint count)
{
  EventCount check = { fixture, type, count };
  JsonArray *events;

  hg_test_wait_for (has_events, &check, WAIT_SECONDS);
  events = bundle_events (fixture, fixture->admin, type);
  g_assert_cmpuint (json_array_get_length (events), ==, count);
  return events;
}

/* Installing @path (with @query) is refused 409 downgrade, naming @words; @version runs on. */
static void
assert_downgrade_refused (Fixture *fixture,
                          const gchar *path,
                          const gchar *query,
                          const gchar *words,
                          const gchar *version)
{
  g_autoptr(Answer) answer = install (fixture, fixture->admin, path, query);
  const gchar *message;

  g_assert_cmpuint (answer->status, ==, SOUP_STATUS_CONFLICT);
  g_assert_cmpstr (error_code (answer), ==, "downgrade");
  message = json_object_get_string_member (json_object_get_object_member (answer->json, "error"),
                                           "message");
  if (strstr (message, words) == NULL)
    g_error ("'%s' does not say '%s'", message, words);
  assert_runs (fixture, version);
}

static void
test_downgrade (Fixture *fixture,
                gconstpointer data)
{
  g_autofree gchar *module = example_module ();
  g_autofree gchar *old_dir = plugin_dir (fixture, "old", "1.9", "1", module, "\"municipal\"", "");
  g_autofree gchar *new_dir = plugin_dir (fixture, "new", "1.10", "1", module, "\"municipal\"", "");
  g_autofree gchar *rebuilt_dir
      = plugin_dir (fixture, "rebuilt", "1.10", "1", module, "\"municipal\"", "");
  g_autofree gchar *rebuilt_data = g_build_filename (rebuilt_dir, "data", "greeting.txt", NULL);
  g_autofree gchar *old = NULL;
  g_autofree gchar *new = NULL;
  g_autofree gchar *rebuilt = NULL;
  g_autofree gchar *err = NULL;
  g_autofree gchar *out = NULL;
  g_autofree gchar *key_id = NULL;
  g_autoptr(GKeyFile) key = g_key_file_new ();
  g_autofree gchar *pub = g_build_filename (fixture->dir, "provider.pub", NULL);
  g_autoptr(JsonObject) outcome = NULL;
  g_autoptr(JsonArray) refusals = NULL;
  g_autoptr(JsonArray) downgrades = NULL;
  g_autoptr(JsonArray) installed = NULL;
  g_autoptr(Answer) revoked = NULL;
  JsonObject *body;
  JsonObject *last;

  g_test_summary ("A bundle older than the highest version installed before, or another build "
                  "of it, is refused as a downgrade (journaled) unless allowed on purpose, which "
                  "is journaled too; the refusal outlives a remove and a restart; a replayed "
                  "bundle of a revoked key is refused even when a downgrade is allowed");
  g_assert_true (g_file_set_contents (rebuilt_data, "hello again\n", -1, NULL));
  keygen_and_trust (fixture, "provider", fixture->admin);
  old = make_bundle (fixture, old_dir, "greeter-1.9", "provider", NULL);
  new = make_bundle (fixture, new_dir, "greeter-1.10", "provider", NULL);
  rebuilt = make_bundle (fixture, rebuilt_dir, "greeter-1.10-rebuilt", "provider", NULL);

  /* 1.9, then 1.10: an upgrade (1.10 is newer: numbers compare as numbers) */
  outcome = install_and_wait (fixture, fixture->admin, old, "?health=0");
  g_assert_cmpstr (json_object_get_string_member (outcome, "state"), ==, "succeeded");
  g_clear_pointer (&outcome, json_object_unref);
  outcome = install_and_wait (fixture, fixture->admin, new, "?health=0");
  g_assert_cmpstr (json_object_get_string_member (outcome, "state"), ==, "succeeded");
  g_clear_pointer (&outcome, json_object_unref);
  assert_runs (fixture, "1.10");

  /* the replay of 1.9, and another build of 1.10: refused, journaled */
  assert_downgrade_refused (fixture, old, NULL, "older than version 1.10", "1.10");
  assert_downgrade_refused (fixture, old, "?allow_downgrade=false", "older", "1.10");
  assert_downgrade_refused (fixture, rebuilt, NULL, "another build of version 1.10", "1.10");
  refusals = wait_for_events (fixture, "bundle.downgrade-refused", 3);
  body = json_object_get_object_member (json_array_get_object_element (refusals, 0), "body");
  g_assert_cmpstr (json_object_get_string_member (body, "plugin"), ==, PLUGIN);
  g_assert_cmpstr (json_object_get_string_member (body, "version"), ==, "1.9");
  g_assert_cmpstr (json_object_get_string_member (body, "highest_version"), ==, "1.10");
  g_assert_cmpstr (json_object_get_string_member (body, "who"), ==, "user:admin");
  g_assert_cmpint (ctl (fixture, fixture->admin, NULL, &err,
                        (const gchar *const[]){ "plugins", "install", old, NULL }),
                   ==, 1);
  g_assert_nonnull (strstr (err, "older than version 1.10"));
  assert_runs (fixture, "1.10");

  /* on purpose: installed, and journaled as such */
  g_assert_cmpint (ctl (fixture, fixture->admin, &out, NULL,
                        (const gchar *const[]){ "plugins", "install", "--allow-downgrade", old,
                                                NULL }),
                   ==, 0);
  assert_runs (fixture, "1.9");
  downgrades = wait_for_events (fixture, "bundle.downgrade", 1);
  body = json_object_get_object_member (json_array_get_object_element (downgrades, 0), "body");
  g_assert_cmpstr (json_object_get_string_member (body, "version"), ==, "1.9");
  g_assert_cmpstr (json_object_get_string_member (body, "highest_version"), ==, "1.10");
  installed = bundle_events (fixture, fixture->admin, "bundle.installed");
  last = json_object_get_object_member (
      json_array_get_object_element (installed, json_array_get_length (installed) - 1), "body");
  g_assert_cmpstr (json_object_get_string_member (last, "version"), ==, "1.9");
  g_assert_cmpstr (json_object_get_string_member (last, "downgrade_from"), ==, "1.10");

  /* the highest version stays 1.10: after a remove and a restart, 1.9 is still a downgrade,
   * and 1.10 itself is not */
  g_assert_cmpint (CTL (fixture, fixture->admin, "plugins", "remove", PLUGIN), ==, 0);
  stop_daemon (fixture);
  start_daemon (fixture, NULL);
  {
    g_autoptr(Answer) answer = install (fixture, fixture->admin, old, NULL);

    g_assert_cmpuint (answer->status, ==, SOUP_STATUS_CONFLICT);
    g_assert_cmpstr (error_code (answer), ==, "downgrade");
  }
  outcome = install_and_wait (fixture, fixture->admin, new, "?health=0");
  g_assert_cmpstr (json_object_get_string_member (outcome, "state"), ==, "succeeded");
  assert_runs (fixture, "1.10");

  /* the key rotated: the old key's bundles are refused, downgrade allowed or not */
  keygen_and_trust (fixture, "provider-2025", fixture->admin);
  g_assert_true (g_key_file_load_from_file (key, pub, G_KEY_FILE_NONE, NULL));
  key_id = g_key_file_get_string (key, "hemgate key", "id", NULL);
  g_assert_cmpint (CTL (fixture, fixture->admin, "trust", "revoke", key_id), ==, 0);
  revoked = install (fixture, fixture->admin, old, "?allow_downgrade=true");
  g_assert_cmpuint (revoked->status, ==, SOUP_STATUS_BAD_REQUEST);
  g_assert_cmpstr (error_code (revoked), ==, "revoked-key");
  assert_runs (fixture, "1.10");
}

typedef struct
{
  Fixture *fixture;
  const gchar *id;
} StateCheck;

static gboolean
plugin_is_running (gpointer data)
{
  StateCheck *check = data;
  g_autoptr(Answer) answer
      = request (check->fixture, "GET", "/api/v1/plugins", check->fixture->admin, NULL, NULL);
  JsonArray *plugins = json_object_get_array_member (answer->json, "plugins");

  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *plugin = json_array_get_object_element (plugins, i);

      if (g_strcmp0 (json_object_get_string_member (plugin, "id"), check->id) == 0)
        return g_strcmp0 (json_object_get_string_member (plugin, "state"), "running") == 0;
    }
  return FALSE;
}

static void
test_ci_built (Fixture *fixture,
               gconstpointer data)
{
  const gchar *dir = g_getenv ("HGD_CI_BUNDLES");
  const gchar *const plugins[] = { "example", "mqtt-sensors", "scaip-alarm" };
  g_autofree gchar *pub = g_build_filename (dir, "bundle-signing.pub", NULL);
  g_autofree gchar *sensors = g_build_filename (dir, "mqtt-sensors.hgp", NULL);
  g_autoptr(GKeyFile) key = g_key_file_new ();
  g_autofree gchar *key_id = NULL;
  g_autofree gchar *signer = NULL;
  g_autoptr(JsonObject) outcome = NULL;
  g_autoptr(Answer) listed = NULL;
  g_autoptr(GDir) listing = NULL;
  StateCheck check = { fixture, "mqtt-sensors" };
  const gchar *name;
  JsonObject *bundle;

  g_test_summary ("The bundles the build makes of this tree's plugins (ninja bundles) are signed "
                  "with a key made at build time, whose private half is not left behind; each "
                  "inspects as its plugin, and one installs into a running hemgated");
  g_assert_nonnull (dir);
  g_assert_true (g_key_file_load_from_file (key, pub, G_KEY_FILE_NONE, NULL));
  key_id = g_key_file_get_string (key, "hemgate key", "id", NULL);
  g_assert_nonnull (key_id);
  signer = g_strdup_printf ("Signed by:     %s", key_id);
  listing = g_dir_open (dir, 0, NULL);
  while ((name = g_dir_read_name (listing)) != NULL)
    g_assert_false (g_str_has_suffix (name, ".key"));

  for (guint i = 0; i < G_N_ELEMENTS (plugins); i++)
    {
      g_autofree gchar *file = g_strconcat (plugins[i], ".hgp", NULL);
      g_autofree gchar *path = g_build_filename (dir, file, NULL);
      g_autofree gchar *plugin_line = g_strdup_printf ("Plugin:        %s ", plugins[i]);
      g_autofree gchar *lib = g_strdup_printf ("lib/%s/", g_getenv ("HGD_BUNDLE_ARCH"));
      g_autofree gchar *out = NULL;

      g_assert_cmpint (
          ctl (fixture, NULL, &out, NULL, (const gchar *const[]){ "bundle", "inspect", path, NULL }),
          ==, 0);
      g_assert_nonnull (strstr (out, plugin_line));
      g_assert_nonnull (strstr (out, signer));
      g_assert_nonnull (strstr (out, "manifest.json"));
      g_assert_nonnull (strstr (out, lib));
    }

  /* trusted by it-admin, the sensors plugin installs and runs (it waits for its broker) */
  g_assert_cmpint (CTL (fixture, fixture->admin, "trust", "add", pub), ==, 0);
  outcome = install_and_wait (fixture, fixture->admin, sensors, "?health=1");
  g_assert_cmpstr (json_object_get_string_member (outcome, "state"), ==, "succeeded");
  hg_test_wait_for (plugin_is_running, &check, WAIT_SECONDS);
  listed = request (fixture, "GET", "/api/v1/bundles", fixture->admin, NULL, NULL);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (listed->json, "bundles")),
                    ==, 1);
  bundle = json_array_get_object_element (json_object_get_array_member (listed->json, "bundles"), 0);
  g_assert_cmpstr (json_object_get_string_member (bundle, "id"), ==, "mqtt-sensors");
  g_assert_cmpstr (json_object_get_string_member (bundle, "signed_by"), ==, key_id);
}

/* A web server of its own (python3's http.server on 127.0.0.1) for the bundles in the
 * test's directory, as a provider's download page would be; up when it answers. */
static GSubprocess *
serve_directory (Fixture *fixture,
                 guint16 *port)
{
  g_autofree gchar *port_text = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  GSubprocess *server;

  *port = hg_test_free_port ();
  port_text = g_strdup_printf ("%u", *port);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                        | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  /* gone with the test, also when an assertion ends it */
  g_subprocess_launcher_set_child_setup (launcher, hg_test_die_with_parent, NULL, NULL);
  server = g_subprocess_launcher_spawn (launcher, &error, "python3", "-m", "http.server", "--bind",
                                        "127.0.0.1", "--directory", fixture->dir, port_text, NULL);
  g_assert_no_error (error);
  for (guint i = 0; i < 100; i++)
    {
      g_autoptr(GSocketClient) client = g_socket_client_new ();
      g_autoptr(GSocketConnection) connection = NULL;

      g_socket_client_set_enable_proxy (client, FALSE);
      connection = g_socket_client_connect_to_host (client, "127.0.0.1", *port, NULL, NULL);
      if (connection != NULL)
        return server;
      g_usleep (50 * 1000);
    }
  g_error ("python3 -m http.server did not listen on port %u", *port);
  return NULL;
}

static void
test_install_from_url (Fixture *fixture,
                       gconstpointer data)
{
  g_autofree gchar *module = example_module ();
  g_autofree gchar *v1_dir
      = plugin_dir (fixture, "v1", "1.0", "1", module, "\"municipal\"", "\"sensor.publish\"");
  g_autofree gchar *v1 = NULL;
  g_autofree gchar *url = NULL;
  g_autofree gchar *missing = NULL;
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  g_autoptr(GSubprocess) server = NULL;
  guint16 port = 0;

  g_test_summary ("hemgatectl plugins install takes an http URL as well as a file: the bundle "
                  "is fetched from a real web server and installed; a URL that is not there is "
                  "a clear error and installs nothing");
  g_test_bug ("issue 17");
  keygen_and_trust (fixture, "provider", fixture->admin);
  v1 = make_bundle (fixture, v1_dir, "greeter-1.0", "provider", NULL);
  server = serve_directory (fixture, &port);
  url = g_strdup_printf ("http://127.0.0.1:%u/greeter-1.0.hgp", port);
  missing = g_strdup_printf ("http://127.0.0.1:%u/no-such-bundle.hgp", port);

  g_assert_cmpint (ctl (fixture, fixture->admin, NULL, &err,
                        (const gchar *const[]){ "plugins", "install", missing, NULL }),
                   ==, 1);
  g_assert_nonnull (strstr (err, "Could not fetch"));
  g_assert_nonnull (strstr (err, ": 404 "));
  g_assert_cmpint (ctl (fixture, fixture->admin, &out, NULL,
                        (const gchar *const[]){ "plugins", "install", url, NULL }),
                   ==, 0);
  g_assert_nonnull (strstr (out, "Installed greeter 1.0"));
  assert_runs (fixture, "1.0");
  g_subprocess_force_exit (server);
  g_subprocess_wait (server, NULL, NULL);
}

/* Another provider's alarm centre for the poster plugin: it takes POST /alarms and
 * acknowledges each alarm by answering 200, at once or, while @hold, when released. */
typedef struct
{
  SoupServer *server; /* (owned) */
  guint16 port;
  gboolean hold;
  GPtrArray *received; /* (owned) (element-type utf8) references, in the order they came */
  GPtrArray *held;     /* (owned) (element-type SoupServerMessage) */
} Receiver;

static void
receiver_answer (SoupServerMessage *msg)
{
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC, "{}", 2);
}

static void
receiver_cb (SoupServer *server,
             SoupServerMessage *msg,
             const char *path,
             GHashTable *query,
             gpointer user_data)
{
  Receiver *receiver = user_data;
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr(JsonParser) parser = json_parser_new ();

  g_assert_true (json_parser_load_from_data (parser, body->data, body->length, NULL));
  g_ptr_array_add (receiver->received,
                   g_strdup (json_object_get_string_member (
                       json_node_get_object (json_parser_get_root (parser)), "ref")));
  if (!receiver->hold)
    {
      receiver_answer (msg);
      return;
    }
  soup_server_message_pause (msg);
  g_ptr_array_add (receiver->held, g_object_ref (msg));
}

static Receiver *
receiver_new (gboolean hold)
{
  Receiver *receiver = g_new0 (Receiver, 1);
  g_autoptr(GError) error = NULL;

  receiver->server = soup_server_new (NULL, NULL);
  receiver->port = hg_test_free_port ();
  receiver->hold = hold;
  receiver->received = g_ptr_array_new_with_free_func (g_free);
  receiver->held = g_ptr_array_new_with_free_func (g_object_unref);
  soup_server_add_handler (receiver->server, "/alarms", receiver_cb, receiver, NULL);
  g_assert_true (soup_server_listen_local (receiver->server, receiver->port,
                                           SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  g_assert_no_error (error);
  return receiver;
}

static void
receiver_release (Receiver *receiver)
{
  receiver->hold = FALSE;
  for (guint i = 0; i < receiver->held->len; i++)
    {
      SoupServerMessage *msg = g_ptr_array_index (receiver->held, i);

      receiver_answer (msg);
      soup_server_message_unpause (msg);
    }
  g_ptr_array_set_size (receiver->held, 0);
}

static void
receiver_free (Receiver *receiver)
{
  soup_server_disconnect (receiver->server);
  g_object_unref (receiver->server);
  g_ptr_array_unref (receiver->received);
  g_ptr_array_unref (receiver->held);
  g_free (receiver);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Receiver, receiver_free)

typedef struct
{
  Receiver *receiver;
  guint count;
} ReceivedCheck;

static gboolean
has_received (gpointer data)
{
  ReceivedCheck *check = data;
  return check->receiver->received->len >= check->count;
}

static void
wait_received (Receiver *receiver,
               guint count)
{
  ReceivedCheck check = { receiver, count };
  hg_test_wait_for (has_received, &check, WAIT_SECONDS);
}

/* A plugin folder for the poster plugin as provider @provider ships it, as @id: it posts
 * alarms to 127.0.0.1:@port. */
static gchar *
poster_dir (Fixture *fixture,
            const gchar *id,
            const gchar *provider,
            guint16 port)
{
  g_autofree gchar *dir = g_build_filename (fixture->dir, id, NULL);
  g_autofree gchar *module_path = g_build_filename (g_getenv ("HGD_TEST_PLUGINS"), "poster",
                                                    "hg-poster-plugin.so", NULL);
  g_autofree gchar *module = g_build_filename (dir, "hg-poster-plugin.so", NULL);
  g_autofree gchar *manifest = g_build_filename (dir, "manifest.json", NULL);
  g_autofree gchar *text = NULL;
  g_autofree gchar *contents = NULL;
  g_autoptr(GError) error = NULL;
  gsize length = 0;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  text = g_strdup_printf ("{\"id\": \"%s\", \"name\": \"Alarms over HTTP\", \"version\": \"1.0\", "
                          "\"provider\": \"%s\", \"api_version\": \"1\", "
                          "\"module\": \"hg-poster-plugin.so\", \"domains\": [\"municipal\"], "
                          "\"capabilities\": [\"alarm.deliver\", \"net.connect:127.0.0.1:%u\"]}\n",
                          id, provider, port);
  g_file_set_contents (manifest, text, -1, &error);
  g_assert_no_error (error);
  g_file_get_contents (module_path, &contents, &length, &error);
  g_assert_no_error (error);
  g_file_set_contents (module, contents, (gssize) length, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&dir);
}

static gchar *
raise_alarm (Fixture *fixture)
{
  g_autoptr(Answer) answer = request (fixture, "POST", "/api/v1/alarms", fixture->resident,
                                      "{\"type\": \"assistance\"}", NULL);

  g_assert_cmpuint (answer->status, ==, SOUP_STATUS_CREATED);
  return g_strdup (json_object_get_string_member (answer->json, "ref"));
}

typedef struct
{
  Fixture *fixture;
  GPtrArray *refs;
} AcknowledgedCheck;

static gboolean
all_acknowledged (gpointer data)
{
  AcknowledgedCheck *check = data;

  for (guint i = 0; i < check->refs->len; i++)
    {
      g_autofree gchar *route
          = g_strdup_printf ("/api/v1/alarms/%s", (const gchar *) check->refs->pdata[i]);
      g_autoptr(Answer) answer
          = request (check->fixture, "GET", route, check->fixture->resident, NULL, NULL);

      if (g_strcmp0 (json_object_get_string_member (answer->json, "state"), "acknowledged") != 0)
        return FALSE;
    }
  return TRUE;
}

/* Health names poster-b's fault under alarm-delivery. */
static gboolean
delivery_faulty (gpointer data)
{
  Fixture *fixture = data;
  g_autoptr(Answer) health = request (fixture, "GET", "/api/v1/health", fixture->admin, NULL, NULL);
  JsonObject *delivery = json_object_get_object_member (
      json_object_get_object_member (health->json, "subsystems"), "alarm-delivery");

  return g_strcmp0 (json_object_get_string_member (delivery, "status"), "fault") == 0
         && strstr (json_object_get_string_member_with_default (delivery, "message", ""),
                    "poster-b")
                != NULL;
}

static guint
count_in (GPtrArray *received,
          const gchar *ref)
{
  guint n = 0;

  for (guint i = 0; i < received->len; i++)
    n += g_strcmp0 (received->pdata[i], ref) == 0;
  return n;
}

static void
test_providers_side_by_side (Fixture *fixture,
                             gconstpointer data)
{
  g_autoptr(Receiver) centre_a = receiver_new (TRUE);
  g_autoptr(Receiver) centre_b = receiver_new (FALSE);
  g_autofree gchar *dir_a = poster_dir (fixture, "poster-a", "Provider A", centre_a->port);
  g_autofree gchar *dir_b = poster_dir (fixture, "poster-b", "Provider B", centre_b->port);
  g_autofree gchar *bundle_a = NULL;
  g_autofree gchar *bundle_b = NULL;
  g_autoptr(GPtrArray) refs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonObject) outcome = NULL;
  g_autoptr(Answer) answer = NULL;
  g_autoptr(Answer) refused = NULL;
  g_autoptr(JsonArray) changes = NULL;
  g_autoptr(JsonArray) crashes = NULL;
  AcknowledgedCheck acknowledged = { fixture, refs };
  const guint before = 4;
  const guint after = 3;

  g_test_summary ("Two alarm delivery plugins of two providers, installed from bundles signed "
                  "by two keys, run side by side; it-admin switches new alarms from one to the "
                  "other while alarms are on their way (one waiting for the first alarm "
                  "centre's acknowledgement, others queued behind it): every alarm reaches "
                  "exactly one alarm centre exactly once and ends acknowledged");
  keygen_and_trust (fixture, "provider-a", fixture->admin);
  keygen_and_trust (fixture, "provider-b", fixture->admin);
  bundle_a = make_bundle (fixture, dir_a, "poster-a", "provider-a", NULL);
  bundle_b = make_bundle (fixture, dir_b, "poster-b", "provider-b", NULL);
  outcome = install_and_wait (fixture, fixture->admin, bundle_a, "?health=0");
  g_assert_cmpstr (json_object_get_string_member (outcome, "state"), ==, "succeeded");
  g_clear_pointer (&outcome, json_object_unref);
  outcome = install_and_wait (fixture, fixture->admin, bundle_b, "?health=0");
  g_assert_cmpstr (json_object_get_string_member (outcome, "state"), ==, "succeeded");

  refused = request (fixture, "PUT", "/api/v1/alarm-delivery", fixture->admin,
                     "{\"delivery\": \"example\"}", NULL);
  g_assert_cmpuint (refused->status, ==, SOUP_STATUS_BAD_REQUEST);
  g_assert_cmpstr (error_code (refused), ==, "not-a-delivery-instance");
  answer = request (fixture, "PUT", "/api/v1/alarm-delivery", fixture->admin,
                    "{\"delivery\": \"poster-a\"}", NULL);
  g_assert_cmpuint (answer->status, ==, SOUP_STATUS_OK);
  g_clear_pointer (&answer, answer_free);

  /* provider A's centre holds the first; the others wait in its plugin */
  for (guint i = 0; i < before; i++)
    g_ptr_array_add (refs, raise_alarm (fixture));
  wait_received (centre_a, 1);

  /* switched: new alarms go to provider B; A's stay with A */
  answer = request (fixture, "PUT", "/api/v1/alarm-delivery", fixture->admin,
                    "{\"delivery\": \"poster-b\"}", NULL);
  g_assert_cmpuint (answer->status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (answer->json, "delivery"), ==, "poster-b");
  g_assert_cmpint (json_object_get_int_member (
                       json_object_get_object_member (answer->json, "open"), "poster-a"),
                   ==, before);
  for (guint i = 0; i < after; i++)
    g_ptr_array_add (refs, raise_alarm (fixture));
  wait_received (centre_b, after);
  g_assert_cmpuint (centre_a->received->len, ==, 1);

  receiver_release (centre_a);
  hg_test_wait_for (all_acknowledged, &acknowledged, WAIT_SECONDS);
  hg_test_run_for (500); /* anything late would come now */

  g_assert_cmpuint (centre_a->received->len, ==, before);
  g_assert_cmpuint (centre_b->received->len, ==, after);
  for (guint i = 0; i < refs->len; i++)
    {
      const gchar *ref = refs->pdata[i];

      g_assert_cmpuint (count_in (centre_a->received, ref), ==, i < before ? 1 : 0);
      g_assert_cmpuint (count_in (centre_b->received, ref), ==, i < before ? 0 : 1);
    }
  changes = wait_for_events (fixture, "alarms.delivery-changed", 2);
  /* and neither plugin crashed on the way (which would hand its alarms over) */
  crashes = bundle_events (fixture, fixture->admin, "plugin.crashed");
  g_assert_cmpuint (json_array_get_length (crashes), ==, 0);

  /* provider B's centre goes away: new alarms wait at B, and health says so although
   * provider A's plugin is well */
  soup_server_disconnect (centre_b->server);
  g_ptr_array_add (refs, raise_alarm (fixture));
  hg_test_wait_for (delivery_faulty, fixture, WAIT_SECONDS);
}

static void
test_personal_install_export_erase (Fixture *fixture,
                                    gconstpointer data)
{
  g_autofree gchar *module = example_module ();
  g_autofree gchar *dir = plugin_dir (fixture, "own", "1.0", "1", module, "\"personal\"",
                                      "\"sensor.publish\"");
  g_autofree gchar *bundle = NULL;
  g_autofree gchar *installed = g_build_filename (fixture->state_dir, "personal", "bundles", PLUGIN,
                                                  NULL);
  g_autofree gchar *keys = g_build_filename (fixture->state_dir, "personal", "bundle-keys", NULL);
  g_autoptr(JsonObject) outcome = NULL;
  g_autoptr(Answer) municipal = NULL;
  g_autoptr(Answer) exported = NULL;
  g_autoptr(Answer) erased = NULL;
  g_autoptr(Answer) listed = NULL;
  g_autoptr(Answer) job = NULL;
  JsonArray *bundles;

  g_test_summary ("The resident installs a plugin of their own from a bundle signed by a key "
                  "they approved; IT sees none of it; it is in the resident's export and goes "
                  "with the erasure of the personal domain");
  keygen_and_trust (fixture, "residents-own", fixture->resident);
  bundle = make_bundle (fixture, dir, "own", "residents-own", NULL);
  /* the municipal domain does not trust the resident's key */
  municipal = install (fixture, fixture->admin, bundle, NULL);
  g_assert_cmpstr (error_code (municipal), ==, "untrusted-key");

  outcome = install_and_wait (fixture, fixture->resident, bundle, "?health=1");
  g_assert_cmpstr (json_object_get_string_member (outcome, "state"), ==, "succeeded");
  g_assert_cmpstr (json_object_get_string_member (outcome, "domain"), ==, "personal");
  g_assert_true (g_file_test (installed, G_FILE_TEST_IS_DIR));
  /* the job is not IT's to see, nor the plugin in full */
  job = request (fixture, "GET", "/api/v1/bundles/jobs/1", fixture->admin, NULL, NULL);
  g_assert_cmpuint (job->status, ==, SOUP_STATUS_NOT_FOUND);
  g_assert_null (find_plugin (fixture, fixture->admin));

  exported = request (fixture, "GET", "/api/v1/personal/export", fixture->resident, NULL, NULL);
  g_assert_cmpuint (exported->status, ==, SOUP_STATUS_OK);
  bundles = json_object_get_array_member (exported->json, "bundles");
  g_assert_cmpuint (json_array_get_length (bundles), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (bundles, 0), "id"),
                   ==, PLUGIN);
  bundles = json_object_get_array_member (exported->json, "bundle_keys");
  g_assert_cmpuint (json_array_get_length (bundles), ==, 1);

  erased = request (fixture, "POST", "/api/v1/personal/erase", fixture->resident,
                    "{\"confirm\": \"erase-personal-data\"}", NULL);
  g_assert_cmpuint (erased->status, ==, SOUP_STATUS_OK);
  g_assert_cmpint (json_object_get_int_member (erased->json, "bundles_removed"), ==, 1);
  g_assert_false (g_file_test (keys, G_FILE_TEST_EXISTS));
  /* its files go once its host has stopped */
  hg_test_wait_for (path_is_gone, installed, WAIT_SECONDS);
  listed = request (fixture, "GET", "/api/v1/bundles", fixture->resident, NULL, NULL);
  bundles = json_object_get_array_member (listed->json, "bundles");
  g_assert_cmpuint (json_array_get_length (bundles), ==, 0);
  g_assert_false (g_file_test (installed, G_FILE_TEST_EXISTS));
  g_clear_pointer (&listed, answer_free);
  listed = request (fixture, "GET", "/api/v1/bundles/keys", fixture->resident, NULL, NULL);
  bundles = json_object_get_array_member (listed->json, "keys");
  g_assert_cmpuint (json_array_get_length (bundles), ==, 0);
}

static void
test_kill_at_staging (Fixture *fixture,
                      gconstpointer data)
{
  g_test_summary (
      "kill -9 of hemgated while an upgrade is staged leaves the previous version running");
  kill_at (fixture, "staging");
}

static void
test_kill_at_switch (Fixture *fixture,
                     gconstpointer data)
{
  g_test_summary ("kill -9 of hemgated right after an upgrade's switch, before its health check, "
                  "leaves the previous version running after the restart");
  kill_at (fixture, "switch");
}

int
main (int argc,
      char **argv)
{
  hg_test_keep_system_data_dirs ();
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add ("/bundles/install-upgrade-remove", Fixture, NULL, setup, test_install_upgrade_remove,
              teardown);
  g_test_add ("/bundles/configured-from-conf", Fixture, NULL, setup, test_configured_from_conf,
              teardown);
  g_test_add ("/bundles/crash-at-start-rolls-back", Fixture, NULL, setup,
              test_crash_at_start_rolls_back, teardown);
  g_test_add ("/bundles/bad-input", Fixture, NULL, setup, test_bad_input, teardown);
  g_test_add ("/bundles/downgrade-refused-unless-allowed", Fixture, NULL, setup, test_downgrade,
              teardown);
  g_test_add ("/bundles/ci-built", Fixture, NULL, setup, test_ci_built, teardown);
  g_test_add ("/bundles/install-from-url", Fixture, NULL, setup, test_install_from_url, teardown);
  g_test_add ("/bundles/providers-side-by-side", Fixture, NULL, setup,
              test_providers_side_by_side, teardown);
  g_test_add ("/bundles/personal-install-export-erase", Fixture, NULL, setup,
              test_personal_install_export_erase, teardown);
  g_test_add ("/bundles/kill-at-staging", Fixture, NULL, setup, test_kill_at_staging, teardown);
  g_test_add ("/bundles/kill-at-switch", Fixture, NULL, setup, test_kill_at_switch, teardown);
  return g_test_run ();
}
