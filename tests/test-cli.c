/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hemgatectl against the real hemgated: each case starts a demo gateway on a free port in
 * its own state directory, runs hemgatectl as a user would and checks exit statuses,
 * output and the token kept in the (real, private) Secret Service. Run it under
 * daemon/core/tests/run-with-keyring.sh; HEMGATED and HEMGATECTL name the programs. */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsecret/secret.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <sqlite3.h>

#include "hg-test-oidc.h"
#include "hg-test-support.h"

#define DEMO_PASSWORD "cli-test-password-4711"
#define WAIT_SECONDS 30

/* The same schema hemgatectl stores its token under. */
static const SecretSchema token_schema = {
  .name = "org.hemgate.CliToken",
  .flags = SECRET_SCHEMA_NONE,
  .attributes = {
    { "url", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { "user", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  },
};

/* Whether hemgatectl runs as over SSH on a headless machine: no session bus, no display. */
static gboolean ctl_without_session_bus;

/* XDG_DATA_DIRS before G_TEST_OPTION_ISOLATE_DIRS emptied it: the programs under test
 * need the system's GSettings schemas (GIO's proxy resolver reads them). */

typedef struct
{
  gchar *state_dir;     /* (owned) */
  gchar *config_path;   /* (owned) */
  GSubprocess *daemon;  /* (owned) (nullable) */
  gchar *url;           /* (owned) (nullable) e.g. http://127.0.0.1:40123 */
  guint port;
  gboolean tls;         /* the API speaks HTTPS with its self-signed certificate */
} Fixture;

/* Reading a line without hanging the test ----------------------------------------------- */

typedef struct
{
  gchar *line;        /* (owned) (nullable) */
  GError *error;      /* (owned) (nullable) */
  gboolean done;
} LineRead;

static void
read_line_cb (GObject *source,
              GAsyncResult *result,
              gpointer user_data)
{
  LineRead *read = user_data;

  read->line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                          NULL, &read->error);
  read->done = TRUE;
}

static gboolean
cancel_cb (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

/* One line from @stream within @seconds; NULL at end of stream, on error or timeout. */
static gchar *
read_line_within (GDataInputStream *stream,
                  guint seconds)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  LineRead read = { NULL, NULL, FALSE };
  guint timeout_id = g_timeout_add_seconds (seconds, cancel_cb, cancellable);

  g_data_input_stream_read_line_async (stream, G_PRIORITY_DEFAULT, cancellable, read_line_cb,
                                       &read);
  while (!read.done)
    g_main_context_iteration (NULL, TRUE);
  if (!g_cancellable_is_cancelled (cancellable))
    g_source_remove (timeout_id);
  if (read.error != NULL)
    {
      g_test_message ("reading a line: %s", read.error->message);
      g_error_free (read.error);
    }
  return read.line;
}

/* The gateway ---------------------------------------------------------------------------- */

static void
write_config (Fixture *fixture,
              guint port)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *config = NULL;

  /* --config replaces the demo configuration, so the example plugin is named again; the
   * secrets stay in the test's session keyring, where stored_secret () reads them */
  config = g_strdup_printf ("[api]\nlisten-address = 127.0.0.1\nport = %u\ntls = %s\n"
                            "\n[secrets]\nservice = session\n"
                            "\n[plugin:example]\ndomain = municipal\ninterval = 10\n",
                            port, fixture->tls ? "true" : "false");
  g_file_set_contents (fixture->config_path, config, -1, &error);
  g_assert_no_error (error);
}

/* Starts hemgated --demo and reads its URL from the banner. */
static void
start_daemon (Fixture *fixture)
{
  g_autoptr(GSubprocessLauncher) launcher = hg_test_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  const gchar *hemgated = g_getenv ("HEMGATED");

  g_assert_nonnull (hemgated);
  g_subprocess_launcher_setenv (launcher, "HEMGATE_DEMO_PASSWORD", DEMO_PASSWORD, TRUE);
  fixture->daemon = g_subprocess_launcher_spawn (launcher, &error, hemgated, "--demo",
                                                 "--config", fixture->config_path,
                                                 "--state-dir", fixture->state_dir, NULL);
  g_assert_no_error (error);

  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (fixture->daemon));
  while (fixture->url == NULL)
    {
      g_autofree gchar *line = read_line_within (out, WAIT_SECONDS);
      const gchar *start;
      const gchar *end;

      if (line == NULL)
        g_test_message ("hemgated printed no URL within %u s", WAIT_SECONDS);
      g_assert_nonnull (line);
      g_test_message ("hemgated: %s", line);
      start = strstr (line, fixture->tls ? "https://" : "http://");
      if (start == NULL)
        continue;
      end = strstr (start, "://") + strlen ("://");
      while (*end != '\0' && !g_ascii_isspace (*end) && *end != '/')
        end++;
      fixture->url = g_strndup (start, end - start);
    }
  fixture->port = (guint) g_ascii_strtoull (strrchr (fixture->url, ':') + 1, NULL, 10);
  g_assert_cmpuint (fixture->port, >, 0);
}

static void
stop_daemon (Fixture *fixture)
{
  if (fixture->daemon == NULL)
    return;
  hg_test_terminate (fixture->daemon, WAIT_SECONDS, TRUE);
  g_clear_object (&fixture->daemon);
}

static void
setup (Fixture *fixture,
       gconstpointer data)
{
  fixture->tls = GPOINTER_TO_INT (data);
  /* the test's own, isolated data directory (G_TEST_OPTION_ISOLATE_DIRS) */
  fixture->state_dir = g_build_filename (g_get_user_data_dir (), "hemgate", NULL);
  fixture->config_path = g_build_filename (g_get_user_config_dir (), "hemgate.conf", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->state_dir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (g_get_user_config_dir (), 0700), ==, 0);
  write_config (fixture, 0);
  start_daemon (fixture);
}

static void
teardown (Fixture *fixture,
          gconstpointer data)
{
  stop_daemon (fixture);
  g_free (fixture->url);
  g_free (fixture->config_path);
  g_free (fixture->state_dir);
}

/* hemgatectl ------------------------------------------------------------------------------ */

/* Runs hemgatectl with @argv against @url; @token, when given, goes in HEMGATE_TOKEN. */
static gint
run_ctl_full (const gchar *url,
              const gchar *token,
              const gchar *input,
              gchar **out,
              gchar **err,
              const gchar *const *argv)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) args = g_ptr_array_new ();

  launcher = hg_test_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                           G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "HEMGATE_URL", url, TRUE);
  if (ctl_without_session_bus)
    {
      g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
      g_subprocess_launcher_unsetenv (launcher, "DISPLAY");
      g_subprocess_launcher_unsetenv (launcher, "WAYLAND_DISPLAY");
      /* the test's isolated directories (GLib points the variables at /dev/null) */
      g_subprocess_launcher_setenv (launcher, "HOME", g_get_home_dir (), TRUE);
      g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", g_get_user_config_dir (), TRUE);
      g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", g_get_user_runtime_dir (), TRUE);
    }
  if (token != NULL)
    g_subprocess_launcher_setenv (launcher, "HEMGATE_TOKEN", token, TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "HEMGATE_TOKEN");
  g_ptr_array_add (args, (gpointer) g_getenv ("HEMGATECTL"));
  for (guint i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) argv[i]);
  g_ptr_array_add (args, NULL);
  return hg_test_run_process (launcher, (const gchar *const *) args->pdata, input, out, err);
}

#define run_ctl(fixture, input, out, err, ...)                                                     \
  run_ctl_full ((fixture)->url, NULL, (input), (out), (err),                                       \
                (const gchar *const[]){ __VA_ARGS__, NULL })

static void
login (Fixture *fixture,
       const gchar *username)
{
  g_assert_cmpint (
      run_ctl (fixture, DEMO_PASSWORD "\n", NULL, NULL, "login", username, "--password-stdin"), ==,
      0);
}

static gchar *
kept_token (Fixture *fixture,
            const gchar *username)
{
  g_autoptr(GError) error = NULL;
  gchar *token = secret_password_lookup_sync (&token_schema, NULL, &error, "url", fixture->url,
                                              "user", username, NULL);

  g_assert_no_error (error);
  return token;
}

static JsonNode *
parse_json (const gchar *text)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  g_assert_nonnull (json_parser_get_root (parser));
  return json_node_ref (json_parser_get_root (parser));
}

/* Cases ----------------------------------------------------------------------------------- */

static void
test_login_status_logout (Fixture *fixture,
                          gconstpointer data)
{
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  g_autofree gchar *token = NULL;

  g_test_summary (
      "login keeps the token in the Secret Service, status and protected commands work "
      "with it, logout ends the session on the gateway and forgets the token (exit 3 after)");

  /* not logged in: the public status works, a protected command says why it cannot */
  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "status"), ==, 0);
  g_assert_nonnull (strstr (out, "Gateway"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_ctl (fixture, NULL, NULL, &err, "users"), ==, 3);
  g_assert_nonnull (strstr (err, "not logged in"));
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (
      run_ctl (fixture, DEMO_PASSWORD "\n", &out, NULL, "login", "admin", "--password-stdin"), ==,
      0);
  g_assert_nonnull (strstr (out, "Logged in as admin"));
  token = kept_token (fixture, "admin");
  g_assert_nonnull (token);
  g_assert_null (strstr (out, token));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "status"), ==, 0);
  g_assert_nonnull (strstr (out, "Subsystems:"));
  g_assert_null (strstr (out, token));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "users"), ==, 0);
  g_assert_nonnull (strstr (out, "admin"));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "logout"), ==, 0);
  g_assert_nonnull (strstr (out, "Logged out"));
  g_clear_pointer (&out, g_free);
  g_assert_null (kept_token (fixture, "admin"));

  /* nothing kept any more, and the old token is revoked on the gateway */
  g_assert_cmpint (run_ctl (fixture, NULL, NULL, NULL, "users"), ==, 3);
  g_assert_cmpint (
      run_ctl_full (fixture->url, token, NULL, NULL, &err, (const gchar *const[]){ "users", NULL }),
      ==, 3);
  g_assert_nonnull (strstr (err, "not logged in"));
}

static void
assert_mode (const gchar *path,
             guint mode)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 0777, ==, mode);
}

static void
test_login_without_secret_service (Fixture *fixture,
                                   gconstpointer data)
{
  g_autofree gchar *dir = g_build_filename (g_get_user_config_dir (), "hemgate", NULL);
  g_autofree gchar *file = g_build_filename (dir, "tokens.json", NULL);
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  g_autofree gchar *contents = NULL;
  g_autoptr(JsonNode) kept = NULL;
  g_autofree gchar *token = NULL;
  JsonObject *entry;

  g_test_bug ("issue 12 point 14");
  g_test_summary ("With no D-Bus session and no display (SSH to a headless machine), login "
                  "keeps the token in $XDG_CONFIG_HOME/hemgate/tokens.json (0600, in a 0700 "
                  "directory) and says so; status and protected commands use it; logout removes "
                  "it; a token file others may read is refused");
  ctl_without_session_bus = TRUE;

  g_assert_cmpint (
      run_ctl (fixture, DEMO_PASSWORD "\n", &out, NULL, "login", "admin", "--password-stdin"), ==,
      0);
  g_assert_nonnull (strstr (out, "Logged in as admin"));
  g_assert_nonnull (strstr (out, file));
  assert_mode (dir, 0700);
  assert_mode (file, 0600);
  g_assert_true (g_file_get_contents (file, &contents, NULL, NULL));
  kept = parse_json (contents);
  entry = json_object_get_object_member (json_node_get_object (kept), fixture->url);
  g_assert_nonnull (entry);
  g_assert_cmpstr (json_object_get_string_member (entry, "user"), ==, "admin");
  token = g_strdup (json_object_get_string_member (entry, "token"));
  g_assert_nonnull (token);
  g_assert_null (strstr (out, token));
  /* not in the Secret Service, which hemgatectl could not reach */
  g_assert_null (kept_token (fixture, "admin"));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "status"), ==, 0);
  g_assert_nonnull (strstr (out, "Subsystems:"));
  /* the demo's sensors-personal, the resident's own: only counted for IT */
  g_assert_nonnull (strstr (out, "Personal plugins (the resident's own): 1, "));
  g_assert_null (strstr (out, "sensors-personal"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "users"), ==, 0);
  g_assert_nonnull (strstr (out, "admin"));
  g_clear_pointer (&out, g_free);

  /* a file others may read is not trusted */
  g_assert_cmpint (g_chmod (file, 0644), ==, 0);
  g_assert_cmpint (run_ctl (fixture, NULL, NULL, &err, "users"), ==, 3);
  g_assert_nonnull (strstr (err, "may be read by other users"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (g_chmod (file, 0600), ==, 0);

  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "logout"), ==, 0);
  g_assert_nonnull (strstr (out, "Logged out"));
  g_assert_false (g_file_test (file, G_FILE_TEST_EXISTS));
  g_assert_cmpint (run_ctl (fixture, NULL, NULL, &err, "users"), ==, 3);
  g_assert_nonnull (strstr (err, "not logged in"));
  g_assert_cmpint (
      run_ctl_full (fixture->url, token, NULL, NULL, NULL, (const gchar *const[]){ "users", NULL }),
      ==, 3);
}

static void
assert_json_output (Fixture *fixture,
                    const gchar *input,
                    const gchar *token,
                    JsonNode **answer,
                    const gchar *const *argv)
{
  g_autofree gchar *out = NULL;
  g_autoptr(JsonNode) node = NULL;

  g_assert_cmpint (run_ctl_full (fixture->url, NULL, input, &out, NULL, argv), ==, 0);
  node = parse_json (out);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  if (token != NULL)
    g_assert_null (strstr (out, token));
  if (answer != NULL)
    *answer = g_steal_pointer (&node);
}

static void
test_json_output_parses (Fixture *fixture,
                         gconstpointer data)
{
  g_autoptr(JsonNode) login_answer = NULL;
  g_autoptr(JsonNode) plugins = NULL;
  g_autoptr(JsonNode) raised = NULL;
  g_autoptr(JsonNode) alarms = NULL;
  JsonArray *array;
  const gchar *token;
  gboolean found_example;

  g_test_summary ("every command prints valid JSON with --json, and only login prints the token");

  assert_json_output (
      fixture, DEMO_PASSWORD "\n", NULL, &login_answer,
      (const gchar *const[]){ "--json", "login", "admin", "--password-stdin", NULL });
  token = json_object_get_string_member (json_node_get_object (login_answer), "token");
  g_assert_nonnull (token);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (login_answer), "role"), ==,
                   "it-admin");

  assert_json_output (fixture, NULL, token, NULL,
                      (const gchar *const[]){ "--json", "status", NULL });
  assert_json_output (fixture, NULL, token, NULL,
                      (const gchar *const[]){ "events", "--json", NULL });
  assert_json_output (
      fixture, NULL, token, NULL,
      (const gchar *const[]){ "events", "--after", "0", "--limit", "5", "--json", NULL });
  assert_json_output (fixture, NULL, token, NULL,
                      (const gchar *const[]){ "--json", "users", NULL });
  assert_json_output (fixture, "a-new-staff-password\n", token, NULL,
                      (const gchar *const[]){ "--json", "users", "add", "nurse1", "--role", "staff",
                                              "--password-stdin", NULL });
  assert_json_output (fixture, NULL, token, &plugins,
                      (const gchar *const[]){ "--json", "plugins", NULL });
  array = json_object_get_array_member (json_node_get_object (plugins), "plugins");
  g_assert_nonnull (array);
  /* the demo configuration runs more instances (the simulated sensors); example is one */
  found_example = FALSE;
  for (guint i = 0; i < json_array_get_length (array); i++)
    found_example = found_example ||
                    g_strcmp0 (json_object_get_string_member (json_array_get_object_element (array, i), "id"),
                               "example") == 0;
  g_assert_true (found_example);
  assert_json_output (fixture, NULL, token, NULL,
                      (const gchar *const[]){ "--json", "plugins", "restart", "example", NULL });
  assert_json_output (
      fixture, NULL, token, &raised,
      (const gchar *const[]){ "--json", "alarms", "raise", "test", "--location", "hall", NULL });
  assert_json_output (fixture, NULL, token, &alarms,
                      (const gchar *const[]){ "--json", "alarms", NULL });
  assert_json_output (fixture, NULL, token, NULL,
                      (const gchar *const[]){ "--json", "logout", NULL });
}

static void
test_wrong_password_exit_3 (Fixture *fixture,
                            gconstpointer data)
{
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;

  g_test_summary ("a wrong password exits 3 with a clear message, and keeps no token");

  g_assert_cmpint (
      run_ctl (fixture, "not-the-password\n", &out, &err, "login", "admin", "--password-stdin"), ==,
      3);
  g_assert_nonnull (strstr (err, "wrong user name or password"));
  g_assert_cmpstr (out, ==, "");
  g_assert_null (kept_token (fixture, "admin"));
  g_clear_pointer (&err, g_free);
  g_clear_pointer (&out, g_free);

  /* with --json the API's error document is printed */
  g_assert_cmpint (run_ctl (fixture, "not-the-password\n", &out, NULL, "--json", "login", "admin",
                            "--password-stdin"), ==, 3);
  {
    g_autoptr(JsonNode) node = parse_json (out);
    JsonObject *error = json_object_get_object_member (json_node_get_object (node), "error");
    g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, "bad-login");
  }
}

static void
test_unreachable_exit_4 (void)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) any = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *url = NULL;
  g_autofree gchar *err = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);

  g_test_summary ("a gateway that does not answer gives exit 4, for public and protected commands");

  /* a port that was free a moment ago and has no listener */
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  any = g_inet_socket_address_new (loopback, 0);
  g_socket_bind (socket, any, TRUE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  url = g_strdup_printf ("http://127.0.0.1:%u",
                         g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  g_socket_close (socket, NULL);

  g_assert_cmpint (
      run_ctl_full (url, NULL, NULL, NULL, &err, (const gchar *const[]){ "status", NULL }), ==, 4);
  g_assert_nonnull (strstr (err, "cannot reach the gateway"));
  g_assert_cmpint (
      run_ctl_full (url, "some-token", NULL, NULL, NULL, (const gchar *const[]){ "alarms", NULL }),
      ==, 4);
  g_assert_cmpint (
      run_ctl_full (url, NULL, DEMO_PASSWORD "\n", NULL, NULL,
                    (const gchar *const[]){ "login", "admin", "--password-stdin", NULL }),
      ==, 4);
  g_assert_cmpint (run_ctl_full (url, "some-token", NULL, NULL, NULL,
                                 (const gchar *const[]){ "events", "--follow", NULL }), ==, 4);
  /* and a usage error is 2, before anything is sent */
  g_assert_cmpint (
      run_ctl_full (url, NULL, NULL, NULL, NULL, (const gchar *const[]){ "frobnicate", NULL }), ==,
      2);
  g_assert_cmpint (run_ctl_full ("ftp://example", NULL, NULL, NULL, NULL,
                                 (const gchar *const[]){ "status", NULL }),
                   ==, 2);
}

static void
test_alarms_raise_and_list (Fixture *fixture,
                            gconstpointer data)
{
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  g_autofree gchar *ref = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonArray *alarms;
  gboolean found = FALSE;

  g_test_summary ("alarms raise journals an alarm that alarms lists, in text and in JSON");

  login (fixture, "staff");
  g_assert_cmpint (
      run_ctl (fixture, NULL, &out, NULL, "alarms", "raise", "fall", "--location", "kitchen"), ==,
      0);
  g_assert_true (g_str_has_prefix (out, "Alarm fall raised: "));
  ref = g_strstrip (g_strdup (out + strlen ("Alarm fall raised: ")));
  g_assert_cmpstr (ref, !=, "");
  g_assert_cmpstr (ref, !=, "-");
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "alarms"), ==, 0);
  g_assert_nonnull (strstr (out, ref));
  g_assert_nonnull (strstr (out, "kitchen"));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "--json", "alarms"), ==, 0);
  node = parse_json (out);
  alarms = json_object_get_array_member (json_node_get_object (node), "alarms");
  for (guint i = 0; i < json_array_get_length (alarms); i++)
    {
      JsonObject *alarm = json_array_get_object_element (alarms, i);
      if (g_strcmp0 (json_object_get_string_member (alarm, "ref"), ref) != 0)
        continue;
      g_assert_cmpstr (json_object_get_string_member (alarm, "type"), ==, "fall");
      g_assert_cmpstr (json_object_get_string_member (alarm, "location"), ==, "kitchen");
      found = TRUE;
    }
  g_assert_true (found);

  /* an unknown type is refused by the gateway with its reason */
  g_assert_cmpint (run_ctl (fixture, NULL, NULL, &err, "alarms", "raise", "meteorite"), ==, 1);
  g_assert_nonnull (strstr (err, "did not accept the request"));
  g_assert_nonnull (strstr (err, "type"));
}

/* The ref of the alarm hemgatectl --json alarms raise answered with. */
static gchar *
raise_ref (const gchar *out)
{
  g_autoptr(JsonNode) node = parse_json (out);

  return g_strdup (json_object_get_string_member (json_node_get_object (node), "ref"));
}

static guint
count_alarms_at (Fixture *fixture,
                 const gchar *location)
{
  g_autofree gchar *out = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonArray *alarms;
  guint n = 0;

  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "--json", "alarms"), ==, 0);
  node = parse_json (out);
  alarms = json_object_get_array_member (json_node_get_object (node), "alarms");
  for (guint i = 0; i < json_array_get_length (alarms); i++)
    {
      JsonObject *alarm = json_array_get_object_element (alarms, i);
      if (g_strcmp0 (json_object_get_string_member (alarm, "location"), location) == 0)
        n++;
    }
  return n;
}

static void
test_alarms_raise_idempotency_key_survives_kill (Fixture *fixture,
                                                 gconstpointer data)
{
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  g_autofree gchar *ref = NULL;
  g_autofree gchar *again = NULL;
  g_autoptr(GError) error = NULL;

  g_test_bug ("11");
  g_test_summary ("alarms raise --idempotency-key: the same key raises one alarm, also after "
                  "hemgated was killed with SIGKILL and started again; the same key for another "
                  "alarm is refused; a raise that cannot reach the gateway prints the key to "
                  "retry with");

  login (fixture, "staff");
  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "--json", "alarms", "raise", "fall",
                            "--location", "kitchen", "--idempotency-key", "press-7"),
                   ==, 0);
  ref = raise_ref (out);
  g_assert_nonnull (ref);
  g_clear_pointer (&out, g_free);

  /* the core dies without a chance to tidy up */
  g_subprocess_force_exit (fixture->daemon);
  g_subprocess_wait (fixture->daemon, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&fixture->daemon);

  /* meanwhile: hemgatectl retries, then says how to retry without a second alarm */
  g_assert_cmpint (run_ctl (fixture, NULL, NULL, &err, "alarms", "raise", "fall"), ==, 4);
  g_assert_nonnull (strstr (err, "--idempotency-key "));
  g_clear_pointer (&err, g_free);

  write_config (fixture, fixture->port);
  g_clear_pointer (&fixture->url, g_free);
  start_daemon (fixture);
  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "--json", "alarms", "raise", "fall",
                            "--location", "kitchen", "--idempotency-key", "press-7"),
                   ==, 0);
  again = raise_ref (out);
  g_assert_cmpstr (again, ==, ref);
  g_assert_cmpuint (count_alarms_at (fixture, "kitchen"), ==, 1);

  /* the same key for another alarm: refused, nothing raised */
  g_assert_cmpint (run_ctl (fixture, NULL, NULL, &err, "alarms", "raise", "fall", "--location",
                            "attic", "--idempotency-key", "press-7"),
                   ==, 1);
  g_assert_nonnull (strstr (err, "already used for a different alarm"));
  g_assert_cmpuint (count_alarms_at (fixture, "attic"), ==, 0);
}

/* The state hemgatectl plugins --json shows for instance @id. */
static gchar *
plugin_state (Fixture *fixture,
              const gchar *id)
{
  g_autofree gchar *out = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonArray *plugins;

  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "--json", "plugins"), ==, 0);
  node = parse_json (out);
  plugins = json_object_get_array_member (json_node_get_object (node), "plugins");
  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *plugin = json_array_get_object_element (plugins, i);
      if (g_strcmp0 (json_object_get_string_member (plugin, "id"), id) == 0)
        return g_strdup (json_object_get_string_member (plugin, "state"));
    }
  g_assert_not_reached ();
}

static void
test_plugins_disable_enable (Fixture *fixture,
                             gconstpointer data)
{
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  g_autofree gchar *state = NULL;

  g_test_summary ("plugins disable stops an instance and says so; plugins enable starts it "
                  "again; staff may not (exit 3, not allowed); an unknown id is an error");

  login (fixture, "staff");
  g_assert_cmpint (run_ctl (fixture, NULL, NULL, &err, "plugins", "disable", "example"), ==, 3);
  g_assert_nonnull (strstr (err, "not allowed"));
  g_clear_pointer (&err, g_free);

  login (fixture, "admin");
  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "plugins", "disable", "example"), ==, 0);
  g_assert_true (g_str_has_prefix (out, "Disabled example"));
  state = plugin_state (fixture, "example");
  g_assert_cmpstr (state, ==, "disabled");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&state, g_free);

  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "plugins", "enable", "example"), ==, 0);
  g_assert_true (g_str_has_prefix (out, "Enabled example"));
  state = plugin_state (fixture, "example");
  g_assert_cmpstr (state, !=, "disabled");

  g_assert_cmpint (run_ctl (fixture, NULL, NULL, &err, "plugins", "disable", "no-such-plugin"), ==,
                   1);
}

/* Follows events and returns the first alarm.raised event at @location, or fails. */
static void
assert_follow_sees_alarm (GDataInputStream *follow_out,
                          const gchar *location)
{
  for (;;)
    {
      g_autofree gchar *line = read_line_within (follow_out, WAIT_SECONDS);
      g_autoptr(JsonNode) node = NULL;
      JsonObject *event;
      JsonObject *body;

      if (line == NULL)
        g_test_message ("events --follow printed no alarm.raised event at %s within %u s", location,
                        WAIT_SECONDS);
      g_assert_nonnull (line);
      g_test_message ("follow: %s", line);
      node = parse_json (line);
      event = json_node_get_object (node);
      g_assert_true (json_object_has_member (event, "seq"));
      if (g_strcmp0 (json_object_get_string_member_with_default (event, "type", ""), "alarm.raised")
          != 0)
        continue;
      body = json_object_get_object_member (event, "body");
      if (g_strcmp0 (json_object_get_string_member_with_default (body, "location", ""), location)
          == 0)
        return;
    }
}

/* Waits until the gateway counts @n open event streams (GET /metrics, as an admin). */
static void
wait_for_streams (Fixture *fixture,
                  const gchar *token,
                  guint n)
{
  /* no proxy on loopback; and the default resolver would want GSettings schemas */
  g_autoptr(SoupSession) session = soup_session_new_with_options ("proxy-resolver", NULL, NULL);
  g_autofree gchar *uri = g_strconcat (fixture->url, "/metrics", NULL);
  g_autofree gchar *wanted = g_strdup_printf ("\nhemgate_event_streams %u\n", n);
  g_autofree gchar *authorization = g_strconcat ("Bearer ", token, NULL);

  for (guint i = 0; i < WAIT_SECONDS * 10; i++)
    {
      g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree gchar *text = NULL;

      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                    authorization);
      bytes = soup_session_send_and_read (session, msg, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (soup_message_get_status (msg), ==, SOUP_STATUS_OK);
      text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
      if (strstr (text, wanted) != NULL)
        return;
      g_usleep (G_USEC_PER_SEC / 10);
    }
  g_test_message ("the gateway never had %u event streams open", n);
  g_assert_not_reached ();
}

/* Starts `hemgatectl events --follow --json` with @extra_args (NULL-terminated, or NULL). */
static GSubprocess *
spawn_follow (Fixture *fixture,
              const gchar *const *extra_args,
              GDataInputStream **out)
{
  g_autoptr(GSubprocessLauncher) launcher = hg_test_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  g_subprocess_launcher_setenv (launcher, "HEMGATE_URL", fixture->url, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "HEMGATE_TOKEN");
  g_ptr_array_add (args, (gpointer) g_getenv ("HEMGATECTL"));
  g_ptr_array_add (args, (gpointer) "events");
  g_ptr_array_add (args, (gpointer) "--follow");
  g_ptr_array_add (args, (gpointer) "--json");
  for (guint i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) extra_args[i]);
  g_ptr_array_add (args, NULL);
  process = g_subprocess_launcher_spawnv (launcher, (const gchar *const *) args->pdata, &error);
  g_assert_no_error (error);
  *out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  return process;
}

static void
stop_follow (GSubprocess *follow)
{
  g_autoptr(GError) error = NULL;

  g_subprocess_send_signal (follow, SIGINT);
  g_subprocess_wait_check (follow, NULL, &error);
  g_assert_no_error (error);
}

static void
test_events_follow_receives_new_event (Fixture *fixture,
                                       gconstpointer data)
{
  g_autoptr(GSubprocess) follow = NULL;
  g_autoptr(GDataInputStream) follow_out = NULL;
  g_autofree gchar *token = NULL;

  g_test_summary ("events --follow --json prints an alarm raised through the API while it streams, "
                  "as one JSON object per line, and stops cleanly on SIGINT");

  login (fixture, "admin");
  token = kept_token (fixture, "admin");
  follow = spawn_follow (fixture, NULL, &follow_out);
  wait_for_streams (fixture, token, 1);

  g_assert_cmpint (
      run_ctl (fixture, NULL, NULL, NULL, "alarms", "raise", "fall", "--location", "bedroom"), ==,
      0);
  assert_follow_sees_alarm (follow_out, "bedroom");
  stop_follow (follow);
}

static void
test_events_follow_survives_restart (Fixture *fixture,
                                     gconstpointer data)
{
  g_autoptr(GSubprocess) follow = NULL;
  g_autoptr(GDataInputStream) follow_out = NULL;
  g_autofree gchar *token = NULL;

  g_test_summary ("events --follow reconnects after the gateway restarts and receives the events "
                  "raised while it was disconnected");

  login (fixture, "admin");
  token = kept_token (fixture, "admin");
  follow = spawn_follow (fixture, NULL, &follow_out);
  wait_for_streams (fixture, token, 1);

  /* the same port again, so the follower finds it */
  stop_daemon (fixture);
  write_config (fixture, fixture->port);
  g_clear_pointer (&fixture->url, g_free);
  start_daemon (fixture);
  /* raised at once, most likely before the follower is back: it must come by replay */
  g_assert_cmpint (
      run_ctl (fixture, NULL, NULL, NULL, "alarms", "raise", "water", "--location", "bathroom"), ==,
      0);
  assert_follow_sees_alarm (follow_out, "bathroom");
  /* and the live stream works after the reconnection */
  wait_for_streams (fixture, token, 1);
  g_assert_cmpint (
      run_ctl (fixture, NULL, NULL, NULL, "alarms", "raise", "fire", "--location", "attic"), ==, 0);
  assert_follow_sees_alarm (follow_out, "attic");
  stop_follow (follow);
}

static void
test_tls_verified_pinned_or_insecure (Fixture *fixture,
                                      gconstpointer data)
{
  g_autofree gchar *err = NULL;
  g_autofree gchar *certificate = g_build_filename (fixture->state_dir, "tls", "hemgate.crt", NULL);
  g_autoptr(GSubprocess) follow = NULL;
  g_autoptr(GDataInputStream) follow_out = NULL;

  g_test_summary (
      "the gateway's self-signed certificate is refused (exit 1, naming --ca), accepted when "
      "pinned with --ca, or with --insecure; the events WebSocket goes over TLS too");

  g_assert_true (g_str_has_prefix (fixture->url, "https://"));
  g_assert_true (g_file_test (certificate, G_FILE_TEST_EXISTS));

  g_assert_cmpint (run_ctl (fixture, NULL, NULL, &err, "status"), ==, 1);
  g_assert_nonnull (strstr (err, "not trusted"));
  g_assert_nonnull (strstr (err, "--ca"));
  g_assert_cmpint (run_ctl (fixture, NULL, NULL, NULL, "--ca", certificate, "status"), ==, 0);
  g_assert_cmpint (run_ctl (fixture, NULL, NULL, NULL, "--insecure", "status"), ==, 0);
  g_assert_cmpint (run_ctl (fixture, NULL, NULL, NULL, "--insecure", "--ca", certificate, "status"),
                   ==, 2);

  g_assert_cmpint (run_ctl (fixture, DEMO_PASSWORD "\n", NULL, NULL, "--ca", certificate, "login",
                            "staff", "--password-stdin"),
                   ==, 0);
  /* from the start of the journal, so the alarm comes whether it is replayed or live */
  follow = spawn_follow (
      fixture, (const gchar *const[]){ "--ca", certificate, "--after", "0", NULL }, &follow_out);
  g_assert_cmpint (run_ctl (fixture, NULL, NULL, NULL, "--ca", certificate, "alarms", "raise",
                            "test", "--location", "porch"),
                   ==, 0);
  assert_follow_sees_alarm (follow_out, "porch");
  stop_follow (follow);
}

static void
test_personal_export_erase (Fixture *fixture,
                            gconstpointer data)
{
  g_autofree gchar *path = g_build_filename (g_get_user_data_dir (), "export.json", NULL);
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  g_autofree gchar *contents = NULL;
  g_autoptr(JsonNode) document = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("personal export FILE saves the personal domain's JSON document readable by "
                  "its owner only; personal erase refuses without --yes (exit 2) and erases "
                  "with it; staff may do neither (exit 3)");

  login (fixture, "resident");
  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "personal", "export", path), ==, 0);
  g_assert_true (g_str_has_prefix (out, "Exported the personal domain to "));
  assert_mode (path, 0600);
  g_assert_true (g_file_get_contents (path, &contents, NULL, &error));
  g_assert_no_error (error);
  document = parse_json (contents);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (document), "format"), ==,
                   "hemgate-personal-export");
  g_assert_true (json_object_has_member (json_node_get_object (document), "events"));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (run_ctl (fixture, NULL, NULL, &err, "personal", "erase"), ==, 2);
  g_assert_nonnull (strstr (err, "--yes"));
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "personal", "erase", "--yes"), ==, 0);
  g_assert_true (g_str_has_prefix (out, "Erased the personal domain"));
  g_assert_nonnull (strstr (out, "Removed the account family."));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "--json", "personal", "erase", "--yes"), ==,
                   0);
  answer = parse_json (out);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (answer), "journal"));
  g_assert_true (json_object_get_boolean_member (json_node_get_object (answer), "secrets"));
  g_assert_true (json_object_get_boolean_member (json_node_get_object (answer), "recorded"));

  login (fixture, "staff");
  g_assert_cmpint (run_ctl (fixture, NULL, NULL, NULL, "personal", "export", path), ==, 3);
  g_assert_cmpint (run_ctl (fixture, NULL, NULL, NULL, "personal", "erase", "--yes"), ==, 3);
}

static void
test_access_log_list_and_verify (Fixture *fixture,
                                 gconstpointer data)
{
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  g_autofree gchar *journal = g_build_filename (fixture->state_dir, "personal", "journal.db", NULL);
  sqlite3 *db = NULL;

  g_test_summary ("access-log lists the resident's failed and successful logins newest first; "
                  "--verify says the chain is intact, and after an entry is removed on disk "
                  "with the gateway stopped, “access-log verify” exits 1 naming the entry");
  g_assert_cmpint (run_ctl (fixture, "not-the-password\n", NULL, NULL, "login", "resident",
                            "--password-stdin"), ==, 3);
  login (fixture, "resident");
  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "access-log"), ==, 0);
  g_assert_nonnull (strstr (out, "WHO"));
  g_assert_nonnull (strstr (out, "resident"));
  /* newest first */
  g_assert_nonnull (strstr (out, "logged in"));
  g_assert_nonnull (strstr (out, "failed to log in"));
  g_assert_true (strstr (out, "logged in") < strstr (out, "failed to log in"));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "access-log", "--verify"), ==, 0);
  g_assert_nonnull (strstr (out, "The personal access log is intact: 2 entries verified."));
  g_clear_pointer (&out, g_free);

  stop_daemon (fixture);
  g_assert_cmpint (sqlite3_open (journal, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "DELETE FROM access_log WHERE seq = 1", NULL, NULL, NULL), ==,
                   SQLITE_OK);
  sqlite3_close (db);
  write_config (fixture, fixture->port);
  g_clear_pointer (&fixture->url, g_free);
  start_daemon (fixture);

  g_assert_cmpint (run_ctl (fixture, NULL, &out, &err, "access-log", "verify"), ==, 1);
  g_assert_nonnull (strstr (err, "the personal access log is broken at entry 1: the entry is missing"));
  g_assert_cmpstr (out, ==, "");
}

static void
test_visits_list (Fixture *fixture,
                  gconstpointer data)
{
  g_autofree gchar *out = NULL;
  g_autofree gchar *journal = g_build_filename (fixture->state_dir, "municipal", "journal.db",
                                                NULL);
  sqlite3 *db = NULL;

  g_test_summary ("visits lists the home's visit records (visit.ended of the municipal journal) "
                  "for the resident, newest first, in words; family may not (exit 3)");
  login (fixture, "resident");
  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "visits"), ==, 0);
  g_assert_nonnull (strstr (out, "No video visits or night checks yet."));
  g_clear_pointer (&out, g_free);

  /* two records as the webrtc-visit plugin journals them, written with the gateway stopped */
  stop_daemon (fixture);
  g_assert_cmpint (sqlite3_open (journal, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db,
                                 "INSERT INTO events (type, ts, source, body) VALUES "
                                 "('visit.ended', 1765000000000000, 'plugin:webrtc-visit', "
                                 "'{\"call\":1,\"kind\":\"visit\",\"staff\":\"anna\","
                                 "\"answered_by\":\"button\",\"started\":\"2025-12-06T05:46:00Z\","
                                 "\"seconds\":312,\"outcome\":\"answered\"}'), "
                                 "('visit.ended', 1765000100000000, 'plugin:webrtc-visit', "
                                 "'{\"call\":2,\"kind\":\"night-check\",\"staff\":\"nils\","
                                 "\"started\":\"2025-12-06T05:48:00Z\",\"seconds\":40,"
                                 "\"outcome\":\"completed\"}')",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
  write_config (fixture, fixture->port);
  g_clear_pointer (&fixture->url, g_free);
  start_daemon (fixture);

  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "visits"), ==, 0);
  g_assert_nonnull (strstr (out, "STAFF"));
  g_assert_nonnull (strstr (out, "video visit"));
  g_assert_nonnull (strstr (out, "the button"));
  g_assert_nonnull (strstr (out, "312"));
  g_assert_nonnull (strstr (out, "answered"));
  /* newest first */
  g_assert_nonnull (strstr (out, "night check"));
  g_assert_true (strstr (out, "night check") < strstr (out, "video visit"));
  g_clear_pointer (&out, g_free);

  login (fixture, "family");
  g_assert_cmpint (run_ctl (fixture, NULL, NULL, NULL, "visits"), ==, 3);
}

/* What hemgated keeps in the Secret Service (hgd-secrets.c), read past the API. */
static gchar *
stored_secret (const gchar *owner,
               const gchar *key)
{
  static const SecretSchema schema = {
    .name = "org.hemgate.Secret",
    .flags = SECRET_SCHEMA_NONE,
    .attributes = {
      { "domain", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "owner", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "key", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    },
  };
  g_autoptr(GError) error = NULL;
  gchar *value = secret_password_lookup_sync (&schema, NULL, &error, "domain", "municipal",
                                              "owner", owner, "key", key, NULL);

  g_assert_no_error (error);
  return value;
}

static void
test_secrets_set_list_delete (Fixture *fixture,
                              gconstpointer data)
{
  const gchar *token = "tok-3b9f-read-from-stdin";
  const gchar *pem = "-----BEGIN PRIVATE KEY-----\nTUlJQ2VBSUJBREFO\n-----END PRIVATE KEY-----\n";
  g_autofree gchar *pem_path = g_build_filename (g_get_user_config_dir (), "key.pem", NULL);
  g_autofree gchar *input = g_strdup_printf ("%s\n", token);
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  g_autofree gchar *stored = NULL;
  g_autoptr(JsonNode) listed = NULL;

  g_test_summary ("secrets set reads the value from standard input (one line) or --file (as it "
                  "is), never from the command line; secrets lists owner, key and domain but no "
                  "value; secrets delete removes it, and again is an error; staff may not list, "
                  "the resident may not set a municipal secret");
  g_test_bug ("issue 19");
  g_assert_true (g_file_set_contents (pem_path, pem, -1, NULL));

  login (fixture, "admin");
  g_assert_cmpint (run_ctl (fixture, input, &out, NULL, "secrets", "set", "plugin:example",
                            "api-token"),
                   ==, 0);
  g_assert_true (g_str_has_prefix (out, "Set the secret api-token of plugin:example."));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_ctl (fixture, NULL, NULL, NULL, "secrets", "set", "core", "tls-key",
                            "--file", pem_path),
                   ==, 0);
  stored = stored_secret ("plugin:example", "api-token");
  g_assert_cmpstr (stored, ==, token);
  g_clear_pointer (&stored, g_free);
  stored = stored_secret ("core", "tls-key");
  g_assert_cmpstr (stored, ==, pem);
  g_clear_pointer (&stored, g_free);

  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "secrets"), ==, 0);
  g_assert_nonnull (strstr (out, "plugin:example"));
  g_assert_nonnull (strstr (out, "api-token"));
  g_assert_nonnull (strstr (out, "tls-key"));
  g_assert_nonnull (strstr (out, "municipal"));
  g_assert_null (strstr (out, token));
  g_assert_null (strstr (out, "PRIVATE"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "--json", "secrets"), ==, 0);
  listed = parse_json (out);
  {
    JsonArray *secrets = json_object_get_array_member (json_node_get_object (listed), "secrets");

    /* the demo's own (scaip-alarm's sip-password) besides ours */
    g_assert_cmpuint (json_array_get_length (secrets), >=, 2);
    for (guint i = 0; i < json_array_get_length (secrets); i++)
      g_assert_false (json_object_has_member (json_array_get_object_element (secrets, i),
                                              "value"));
  }
  g_clear_pointer (&out, g_free);

  /* nothing to set is an error, and so is an empty value */
  g_assert_cmpint (run_ctl (fixture, "", NULL, NULL, "secrets", "set", "core", "empty"), !=, 0);
  g_assert_cmpint (run_ctl (fixture, "\n", NULL, NULL, "secrets", "set", "core", "empty"), !=, 0);

  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "secrets", "delete", "plugin:example",
                            "api-token"),
                   ==, 0);
  g_assert_true (g_str_has_prefix (out, "Deleted the secret api-token of plugin:example."));
  stored = stored_secret ("plugin:example", "api-token");
  g_assert_null (stored);
  g_assert_cmpint (run_ctl (fixture, NULL, NULL, &err, "secrets", "delete", "plugin:example",
                            "api-token"),
                   ==, 1);
  g_clear_pointer (&err, g_free);

  login (fixture, "staff");
  g_assert_cmpint (run_ctl (fixture, NULL, NULL, &err, "secrets"), ==, 3);
  g_assert_nonnull (strstr (err, "not allowed"));
  g_clear_pointer (&err, g_free);
  login (fixture, "resident");
  g_assert_cmpint (run_ctl (fixture, "x\n", NULL, &err, "secrets", "set", "core", "tls-key"), ==,
                   3);
}

static void
test_tls_install (Fixture *fixture,
                  gconstpointer data)
{
  g_autofree gchar *dir = g_build_filename (g_get_user_config_dir (), "certs", NULL);
  g_autofree gchar *crt = g_build_filename (dir, "gateway.crt", NULL);
  g_autofree gchar *key = g_build_filename (dir, "gateway.key", NULL);
  g_autofree gchar *own = g_build_filename (fixture->state_dir, "tls", "hemgate.crt", NULL);
  g_autofree gchar *out = NULL;
  g_autoptr(GSubprocess) openssl = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("tls install sends IT's certificate and key; the next connection is "
                  "served that certificate (verified with it as the only CA), without a "
                  "restart; a key of another certificate is refused");
  g_test_bug ("issue 19");
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  openssl = g_subprocess_new (G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error, "openssl", "req",
                              "-x509", "-newkey", "ec", "-pkeyopt",
                              "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30", "-subj",
                              "/CN=gateway.example", "-addext", "subjectAltName=IP:127.0.0.1",
                              "-keyout", key, "-out", crt, NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (openssl, NULL, &error));
  g_assert_no_error (error);

  g_assert_cmpint (run_ctl (fixture, DEMO_PASSWORD "\n", NULL, NULL, "--ca", own, "login",
                            "admin", "--password-stdin"),
                   ==, 0);
  g_assert_cmpint (run_ctl (fixture, NULL, NULL, NULL, "--ca", crt, "status"), ==, 1);
  g_assert_cmpint (run_ctl (fixture, NULL, NULL, NULL, "--ca", own, "tls", "install", crt, own),
                   ==, 1);
  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "--ca", own, "tls", "install", crt, key),
                   ==, 0);
  g_assert_true (g_str_has_prefix (out, "Installed the certificate CN=gateway.example"));
  g_assert_cmpint (run_ctl (fixture, NULL, NULL, NULL, "--ca", crt, "status"), ==, 0);
}

/* login --oidc --------------------------------------------------------------------------- */

static void
test_login_oidc (void)
{
  Fixture fixture = { 0 };
  g_autoptr(JsonObject) provider_config = json_object_new ();
  g_autoptr(JsonObject) jwk = NULL;
  g_autoptr(HgTestOidcProvider) op = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) ctl = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(SoupSession) browser = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *config = NULL;
  g_autofree gchar *verify = NULL;
  g_autofree gchar *back = NULL;
  g_autofree gchar *logged_in = NULL;
  g_autofree gchar *token = NULL;
  g_autofree gchar *users = NULL;
  JsonObject *people = json_object_new ();
  JsonObject *ivar = json_object_new ();
  JsonArray *groups = json_array_new ();
  const gchar *redirect = "http://127.0.0.1:9/api/v1/auth/oidc/callback";
  static const SecretSchema gateway_secrets = {
    .name = "org.hemgate.Secret",
    .flags = SECRET_SCHEMA_NONE,
    .attributes = {
      { "domain", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "owner", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "key", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    },
  };

  g_test_summary ("login --oidc over SSH: hemgatectl prints an address and a code, IT enters it "
                  "in a browser elsewhere and logs in at the identity provider, and hemgatectl "
                  "then keeps the session with the role the provider's groups give");
  fixture.state_dir = g_build_filename (g_get_user_data_dir (), "hemgate", NULL);
  fixture.config_path = g_build_filename (g_get_user_config_dir (), "hemgate.conf", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture.state_dir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (g_get_user_config_dir (), 0700), ==, 0);

  /* a real provider, its signing key made by node's own crypto there */
  {
    g_autofree gchar *key_json = NULL;
    g_autofree gchar *script = g_strdup (
        "const c = require('crypto'); const { privateKey } = c.generateKeyPairSync('rsa', "
        "{ modulusLength: 2048 }); process.stdout.write(JSON.stringify({ ...privateKey.export("
        "{ format: 'jwk' }), kid: 'cli-key', alg: 'RS256', use: 'sig' }))");
    const gchar *argv[] = { "node", "-e", script, NULL };
    g_autoptr(JsonNode) node = NULL;
    gint status = -1;

    g_assert_true (g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                 &key_json, NULL, &status, &error));
    g_assert_no_error (error);
    node = json_from_string (key_json, &error);
    g_assert_no_error (error);
    jwk = json_node_dup_object (node);
  }
  json_object_set_string_member (provider_config, "client_id", "hemgate-cli-test");
  json_object_set_string_member (provider_config, "client_secret", "cli-test-client-secret-99");
  json_object_set_string_member (provider_config, "redirect_uri", redirect);
  json_object_set_object_member (provider_config, "jwk", json_object_ref (jwk));
  json_array_add_string_element (groups, "kommun-it");
  json_object_set_string_member (ivar, "name", "Ivar Isaksson");
  json_object_set_array_member (ivar, "groups", groups);
  json_object_set_object_member (people, "ivar", ivar);
  json_object_set_object_member (provider_config, "users", people);
  op = hg_test_oidc_provider_new (g_get_user_config_dir (), provider_config);

  /* the gateway, its client secret in the (private) Secret Service */
  g_assert_true (secret_password_store_sync (&gateway_secrets, SECRET_COLLECTION_DEFAULT,
                                             "hemgate oidc", "cli-test-client-secret-99", NULL,
                                             &error, "domain", "municipal", "owner", "core",
                                             "key", "oidc-client-secret", NULL));
  g_assert_no_error (error);
  config = g_strdup_printf ("[api]\nlisten-address = 127.0.0.1\nport = 0\ntls = false\n\n"
                            "[secrets]\nservice = session\n\n[oidc]\nissuer = %s\nclient-id = hemgate-cli-test\n"
                            "redirect-uri = %s\nit-admin = kommun-it\n",
                            op->issuer, redirect);
  g_file_set_contents (fixture.config_path, config, -1, &error);
  g_assert_no_error (error);
  start_daemon (&fixture);

  /* hemgatectl login --oidc, reading what it says as it goes */
  launcher = hg_test_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_setenv (launcher, "HEMGATE_URL", fixture.url, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "HEMGATE_TOKEN");
  ctl = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("HEMGATECTL"), "login", "--oidc",
                                     NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (ctl));
  while (verify == NULL)
    {
      g_autofree gchar *line = read_line_within (out, WAIT_SECONDS);

      g_assert_nonnull (line);
      g_test_message ("hemgatectl: %s", line);
      if (g_str_has_prefix (line, "or open "))
        verify = g_strdup (line + strlen ("or open "));
    }
  g_assert_true (g_str_has_prefix (verify, op->issuer));

  /* IT, in a browser on another machine */
  browser = soup_session_new_with_options ("proxy-resolver", NULL, NULL);
  soup_session_add_feature_by_type (browser, SOUP_TYPE_COOKIE_JAR);
  back = hg_test_oidc_provider_sign_in (op, browser, verify, "ivar", fixture.url);
  g_assert_null (back);

  logged_in = read_line_within (out, WAIT_SECONDS);
  g_test_message ("hemgatectl: %s", logged_in);
  g_assert_nonnull (logged_in);
  g_assert_nonnull (strstr (logged_in, "Logged in as oidc:ivar"));
  g_assert_nonnull (strstr (logged_in, "role it-admin"));
  g_assert_true (g_subprocess_wait_check (ctl, NULL, &error));
  g_assert_no_error (error);
  token = kept_token (&fixture, "oidc:ivar");
  g_assert_nonnull (token);
  /* the kept session works for what it-admin may do */
  g_assert_cmpint (run_ctl_full (fixture.url, token, NULL, &users, NULL,
                                 (const gchar *const[]){ "users", NULL }),
                   ==, 0);

  stop_daemon (&fixture);
  g_free (fixture.url);
  g_free (fixture.config_path);
  g_free (fixture.state_dir);
}

int
main (int argc,
      char **argv)
{
  hg_test_keep_system_data_dirs ();
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/cli/login-status-logout", Fixture, NULL, setup, test_login_status_logout, teardown);
  g_test_add ("/cli/personal-export-erase", Fixture, NULL, setup, test_personal_export_erase,
              teardown);
  g_test_add ("/cli/login-without-secret-service-keeps-token-in-file", Fixture, NULL, setup,
              test_login_without_secret_service, teardown);
  g_test_add ("/cli/json-output-parses", Fixture, NULL, setup, test_json_output_parses, teardown);
  g_test_add ("/cli/wrong-password-exit-3", Fixture, NULL, setup, test_wrong_password_exit_3,
              teardown);
  g_test_add_func ("/cli/unreachable-exit-4", test_unreachable_exit_4);
  g_test_add ("/cli/alarms-raise-and-list", Fixture, NULL, setup, test_alarms_raise_and_list,
              teardown);
  g_test_add ("/cli/alarms-raise-idempotency-key-survives-kill", Fixture, NULL, setup,
              test_alarms_raise_idempotency_key_survives_kill, teardown);
  g_test_add ("/cli/plugins-disable-enable", Fixture, NULL, setup, test_plugins_disable_enable,
              teardown);
  g_test_add ("/cli/events-follow-receives-new-event", Fixture, NULL, setup,
              test_events_follow_receives_new_event, teardown);
  g_test_add ("/cli/events-follow-survives-restart", Fixture, NULL, setup,
              test_events_follow_survives_restart, teardown);
  g_test_add ("/cli/tls-verified-pinned-or-insecure", Fixture, GINT_TO_POINTER (TRUE), setup,
              test_tls_verified_pinned_or_insecure, teardown);
  g_test_add ("/cli/access-log-list-and-verify", Fixture, NULL, setup,
              test_access_log_list_and_verify, teardown);
  g_test_add ("/cli/visits-list", Fixture, NULL, setup, test_visits_list, teardown);
  g_test_add ("/cli/secrets-set-list-delete", Fixture, NULL, setup, test_secrets_set_list_delete,
              teardown);
  g_test_add ("/cli/tls-install-used-at-once", Fixture, GINT_TO_POINTER (TRUE), setup,
              test_tls_install, teardown);
  g_test_add_func ("/cli/login-oidc-device-code", test_login_oidc);
  return g_test_run ();
}
