/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hemgated's own Secret Service as the installed unit runs it: the real hemgated, its
 * private bus and the real gnome-keyring, each domain's keyring unlocked from a credential
 * in a CREDENTIALS_DIRECTORY the test makes (as LoadCredentialEncrypted= would), the real
 * plugin hosts running tests/plugins/keeper. The first it-admin added on the box
 * (hemgated --add-user), secrets set through the API and hemgatectl, restarts of the whole
 * stack, wrong and missing keys, damaged keyrings. */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "hg-test-support.h"
#include "hgd-test-daemon.h"

/* The keys and the values stored: none may be found in plain text on disk, in a log or in
 * a process' environment. */
#define KEY_MUNICIPAL "kM-3f1c0a9e5b7d2c4e8f6a1b3c5d7e9f0a"
#define KEY_PERSONAL "kP-7e2d4b6a8c0e1f3a5b7c9d1e3f5a7b9c"
#define NOTE_MUNICIPAL "sip-pass-Xq7#municipal-4411"
#define NOTE_PERSONAL "wifi-pass-Zr9!personal-2207"
/* set by people: through the API and hemgatectl, by the it-admin and the resident */
#define SET_MUNICIPAL_API "api-tok-Hv4%municipal-9120"
#define SET_MUNICIPAL_CTL "sip-pass-Wd2&municipal-5531"
#define SET_PERSONAL_API "api-tok-Jm8*personal-3308"
#define SET_PERSONAL_CTL "wifi-pass-Qs5+personal-7764"
/* the password of the it-admin hemgated --add-user makes */
#define IT_PASSWORD "first-admin-Ky3=password-6017"

static const gchar *const forbidden[] = { KEY_MUNICIPAL, KEY_PERSONAL, NOTE_MUNICIPAL,
                                          NOTE_PERSONAL, SET_MUNICIPAL_API, SET_MUNICIPAL_CTL,
                                          SET_PERSONAL_API, SET_PERSONAL_CTL, IT_PASSWORD };

/* XDG_DATA_DIRS before G_TEST_OPTION_ISOLATE_DIRS emptied it: hemgatectl needs the
 * system's GSettings schemas (GIO's proxy resolver reads them). */

typedef struct
{
  gchar *dir;         /* (owned) everything of the test */
  gchar *state;       /* (owned) hemgated's state directory */
  gchar *credentials; /* (owned) the CREDENTIALS_DIRECTORY */
  gchar *plugins;     /* (owned) the plugin directory */
  gchar *conf;        /* (owned) */
  gchar *log;         /* (owned) hemgated's stderr, every run appended */
  guint port;
  GSubprocess *process;   /* (owned) (nullable) */
  HgdTestDaemon *client;  /* (owned) (nullable) an HTTP client of the spawned hemgated */
} Fixture;

static void
write_credential (Fixture *fixture,
                  const gchar *name,
                  const gchar *key)
{
  g_autofree gchar *path = g_build_filename (fixture->credentials, name, NULL);
  g_autoptr(GError) error = NULL;

  g_chmod (path, 0600);
  g_assert_true (g_file_set_contents (path, key, -1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, 0400), ==, 0);
}

static void
remove_credentials (Fixture *fixture)
{
  hg_test_rm_rf (fixture->credentials);
  g_assert_cmpint (g_mkdir_with_parents (fixture->credentials, 0700), ==, 0);
}

/* The users of every role, made by an in-process daemon on @state (it keeps no secret:
 * its Secret Service is the session's, never used here). */
static void
make_users (const gchar *state)
{
  HgdTestDaemonOptions options = { 0 };
  g_autoptr(HgdTestDaemon) td = NULL;

  options.state_dir = state;
  td = hgd_test_daemon_new (&options);
}

static void
fixture_setup (Fixture *fixture,
               gconstpointer user_data)
{
  const gchar *build_root = g_getenv ("HGD_TEST_BUILD_ROOT");
  g_autofree gchar *keeper = NULL;

  g_assert_nonnull (build_root);
  fixture->dir = g_build_filename (g_get_user_runtime_dir (), "keyring-test", NULL);
  hg_test_rm_rf (fixture->dir);
  g_assert_cmpint (g_mkdir_with_parents (fixture->dir, 0700), ==, 0);
  g_assert_cmpint (g_chmod (fixture->dir, 0755), ==, 0);
  fixture->state = g_build_filename (fixture->dir, "state", NULL);
  fixture->credentials = g_build_filename (fixture->dir, "credentials", NULL);
  fixture->plugins = g_build_filename (fixture->dir, "plugins", NULL);
  fixture->conf = g_build_filename (fixture->dir, "hemgate.conf", NULL);
  fixture->log = g_build_filename (fixture->dir, "hemgated.log", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->credentials, 0700), ==, 0);
  write_credential (fixture, "hemgate-municipal-keyring", KEY_MUNICIPAL "\n");
  write_credential (fixture, "hemgate-personal-keyring", KEY_PERSONAL "\n");
  keeper = g_build_filename (build_root, "tests", "plugins", "keeper", NULL);
  hg_test_plugin_dir_add (fixture->plugins, keeper, NULL, NULL);

  /* user_data: no users, as on a fresh install */
  if (user_data == NULL)
    make_users (fixture->state);
  else
    g_assert_cmpint (g_mkdir_with_parents (fixture->state, 0700), ==, 0);
  fixture->port = hg_test_free_port ();
}

static void
stop_hemgated (Fixture *fixture)
{
  g_clear_pointer (&fixture->client, hgd_test_daemon_free);
  if (fixture->process == NULL)
    return;
  hg_test_terminate (fixture->process, 30, FALSE);
  g_clear_object (&fixture->process);
}

static void
fixture_teardown (Fixture *fixture,
                  gconstpointer user_data)
{
  stop_hemgated (fixture);
  if (g_getenv ("HEMGATE_TEST_KEEP") == NULL)
    hg_test_rm_rf (fixture->dir);
  g_free (fixture->dir);
  g_free (fixture->state);
  g_free (fixture->credentials);
  g_free (fixture->plugins);
  g_free (fixture->conf);
  g_free (fixture->log);
}

/* Starts hemgated as the unit does (no --demo, private Secret Service, the credentials),
 * with a keeper instance per @instances line: "id domain lookup expect [note]" (the note
 * it stores is the value it expects unless given). */
static void
start_hemgated (Fixture *fixture,
                gboolean with_credentials,
                const gchar *instances)
{
  g_autofree gchar *notify_path = g_build_filename (fixture->dir, "notify", NULL);
  g_autofree gchar *host = g_build_filename (g_getenv ("HGD_TEST_BUILD_ROOT"), "daemon", "host",
                                             "hemgate-plugin-host", NULL);
  g_autofree gchar *daemon = g_build_filename (g_getenv ("HGD_TEST_BUILD_ROOT"), "daemon", "core",
                                               "hemgated", NULL);
  g_autoptr(GString) conf = g_string_new (NULL);
  g_auto(GStrv) lines = g_strsplit (instances, "\n", -1);
  g_autoptr(HgTestNotify) notify = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *log_before = NULL;

  g_string_append_printf (conf,
                          "[daemon]\nstate-dir = %s\n"
                          "[api]\nport = %u\nlisten-address = 127.0.0.1\ntls = false\n"
                          "[plugins]\ndirectory = %s\nhost = %s\n",
                          fixture->state, fixture->port, fixture->plugins, host);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit (lines[i], " ", 5);

      if (lines[i][0] == '\0')
        continue;
      g_assert_cmpuint (g_strv_length (fields), >=, 4);
      g_string_append_printf (conf,
                              "[plugin:%s]\nplugin = keeper\ndomain = %s\nlookup = %s\n"
                              "expect = %s\nnote = %s\n",
                              fields[0], fields[1], fields[2], fields[3],
                              fields[4] != NULL ? fields[4] : fields[3]);
    }
  g_assert_true (g_file_set_contents (fixture->conf, conf->str, -1, &error));
  g_assert_no_error (error);

  g_unlink (notify_path);
  notify = hg_test_notify_new (notify_path);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  /* each run's log in a file of its own, added to the others by read_log () */
  log_before = g_strdup_printf ("%s.run", fixture->log);
  g_subprocess_launcher_set_stderr_file_path (launcher, log_before);
  g_subprocess_launcher_setenv (launcher, "NOTIFY_SOCKET", notify_path, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
  g_subprocess_launcher_unsetenv (launcher, "HEMGATE_PLUGINDIR");
  g_subprocess_launcher_unsetenv (launcher, "HEMGATE_PLUGIN_HOST");
  if (with_credentials)
    g_subprocess_launcher_setenv (launcher, "CREDENTIALS_DIRECTORY", fixture->credentials, TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "CREDENTIALS_DIRECTORY");
  g_subprocess_launcher_set_child_setup (launcher, hg_test_die_with_parent, NULL, NULL);
  fixture->process = g_subprocess_launcher_spawn (launcher, &error, daemon, "--config",
                                                  fixture->conf, NULL);
  g_assert_no_error (error);
  hg_test_wait_until (&notify->ready, 60);
  g_assert_true (notify->ready);

  fixture->client = g_new0 (HgdTestDaemon, 1);
  fixture->client->url = g_strdup_printf ("http://127.0.0.1:%u", fixture->port);
  fixture->client->session = soup_session_new_with_options ("timeout", 30, "proxy-resolver",
                                                            NULL, NULL);
}

/* hemgated's log of the current run, added to the log of all runs. */
static gchar *
read_log (Fixture *fixture)
{
  g_autofree gchar *run = g_strdup_printf ("%s.run", fixture->log);
  g_autofree gchar *text = NULL;
  g_autofree gchar *all = NULL;
  g_autofree gchar *joined = NULL;

  g_file_get_contents (run, &text, NULL, NULL);
  g_file_get_contents (fixture->log, &all, NULL, NULL);
  joined = g_strconcat (all != NULL ? all : "", text != NULL ? text : "", NULL);
  g_assert_true (g_file_set_contents (fixture->log, joined, -1, NULL));
  g_unlink (run);
  return g_strdup (text != NULL ? text : "");
}

static gboolean
contains_bytes (const gchar *data,
                gsize length,
                const gchar *needle)
{
  return memmem (data, length, needle, strlen (needle)) != NULL;
}

/* No key and no stored value, byte for byte, in any file under @dir. */
static void
assert_no_plaintext_under (const gchar *dir)
{
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  const gchar *name;

  g_assert_nonnull (listing);
  while ((name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (dir, name, NULL);
      g_autofree gchar *contents = NULL;
      gsize length = 0;

      if (g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        continue;
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          assert_no_plaintext_under (path);
          continue;
        }
      if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
        continue;
      g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
      for (guint i = 0; i < G_N_ELEMENTS (forbidden); i++)
        {
          if (contains_bytes (contents, length, forbidden[i]))
            g_error ("%s holds a secret in plain text", path);
        }
    }
}

static void
assert_no_plaintext_in_text (const gchar *what,
                             const gchar *text)
{
  for (guint i = 0; i < G_N_ELEMENTS (forbidden); i++)
    {
      if (strstr (text, forbidden[i]) != NULL)
        g_error ("%s holds a secret in plain text", what);
    }
}

/* hemgated and every process under it: the plugin hosts (behind their sandbox's), the
 * keyring and its bus. */
static void
assert_no_plaintext_in_environments (GPid root)
{
  g_autoptr(GArray) pids = g_array_new (FALSE, FALSE, sizeof (GPid));
  guint checked = 0;

  g_array_append_val (pids, root);
  for (guint i = 0; i < pids->len; i++)
    {
      GPid parent = g_array_index (pids, GPid, i);
      g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
      g_autofree gchar *environ_path = g_strdup_printf ("/proc/%d/environ", parent);
      g_autofree gchar *contents = NULL;
      gsize length = 0;
      const gchar *name;

      if (g_file_get_contents (environ_path, &contents, &length, NULL))
        {
          for (guint j = 0; j < G_N_ELEMENTS (forbidden); j++)
            {
              if (contains_bytes (contents, length, forbidden[j]))
                g_error ("the environment of pid %d holds a secret", parent);
            }
          /* nor the private bus: only hemgated's connection and the keyring use it */
          if (parent != root && contains_bytes (contents, length, "secrets/run/bus"))
            {
              g_autofree gchar *comm_path = g_strdup_printf ("/proc/%d/comm", parent);
              g_autofree gchar *comm = NULL;

              g_assert_true (g_file_get_contents (comm_path, &comm, NULL, NULL));
              g_assert_cmpstr (g_strstrip (comm), ==, "gnome-keyring-d");
            }
          checked++;
        }
      while ((name = g_dir_read_name (proc)) != NULL)
        {
          gint ppid = 0;
          gint64 pid = g_ascii_strtoll (name, NULL, 10);

          if (pid > 0 && hg_test_proc_stat ((gint) pid, &ppid, NULL) && ppid == parent)
            {
              GPid child = (GPid) pid;

              g_array_append_val (pids, child);
            }
        }
    }
  /* hemgated, its bus, gnome-keyring and at least one host */
  g_assert_cmpuint (checked, >=, 4);
}

static JsonObject *
request_json (Fixture *fixture,
              HgdRole role,
              const gchar *path)
{
  g_autoptr(HgdTestResponse) response
      = hgd_test_daemon_request (fixture->client, "GET", path,
                                 hgd_test_daemon_get_token (fixture->client, role), NULL);

  g_assert_cmpuint (response->status, ==, 200);
  g_assert_nonnull (response->json);
  return json_object_ref (response->json);
}

/* The last "sensor.probe" of @instance for @call since @after, or NULL. */
static JsonObject *
find_probe (Fixture *fixture,
            HgdRole role,
            const gchar *instance,
            const gchar *call,
            gint64 after)
{
  g_autofree gchar *path = g_strdup_printf ("/api/v1/events?after=%" G_GINT64_FORMAT
                                            "&limit=1000", after);
  g_autoptr(JsonObject) answer = request_json (fixture, role, path);
  JsonArray *events = json_object_get_array_member (answer, "events");
  g_autofree gchar *source = g_strdup_printf ("plugin:%s", instance);
  JsonObject *found = NULL;

  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *event = json_array_get_object_element (events, i);
      JsonObject *body = json_object_get_object_member (event, "body");

      if (g_strcmp0 (json_object_get_string_member (event, "type"), "sensor.probe") == 0 &&
          g_strcmp0 (json_object_get_string_member (event, "source"), source) == 0 &&
          g_strcmp0 (json_object_get_string_member (body, "call"), call) == 0)
        found = body;
    }
  return found != NULL ? json_object_ref (found) : NULL;
}

static gint64
last_seq (Fixture *fixture,
          HgdRole role)
{
  g_autoptr(JsonObject) answer = request_json (fixture, role, "/api/v1/events?after=0&limit=1000");
  JsonArray *events = json_object_get_array_member (answer, "events");
  guint n = json_array_get_length (events);

  return n == 0 ? 0 : json_object_get_int_member (json_array_get_object_element (events, n - 1), "seq");
}

static JsonObject *
wait_for_probe (Fixture *fixture,
                HgdRole role,
                const gchar *instance,
                const gchar *call,
                gint64 after)
{
  for (guint i = 0; i < 300; i++)
    {
      JsonObject *probe = find_probe (fixture, role, instance, call, after);

      if (probe != NULL)
        return probe;
      hg_test_run_for (100);
    }
  g_error ("no %s probe of %s", call, instance);
  return NULL;
}

/* Waits for a probe of @instance for @call with @error (a D-Bus error name). */
static JsonObject *
wait_for_probe_error (Fixture *fixture,
                      HgdRole role,
                      const gchar *instance,
                      const gchar *call,
                      const gchar *error)
{
  for (guint i = 0; i < 300; i++)
    {
      g_autoptr(JsonObject) probe = find_probe (fixture, role, instance, call, 0);

      if (probe != NULL && !json_object_get_null_member (probe, "error") &&
          g_strcmp0 (json_object_get_string_member (probe, "error"), error) == 0)
        return g_steal_pointer (&probe);
      hg_test_run_for (100);
    }
  g_error ("no %s probe of %s with %s", call, instance, error);
  return NULL;
}

static void
assert_probe (JsonObject *probe,
              const gchar *error,
              gboolean matches)
{
  g_test_message ("probe: %s, error %s, matches %d", json_object_get_string_member (probe, "call"),
                  json_object_get_null_member (probe, "error")
                      ? "none" : json_object_get_string_member (probe, "error"),
                  json_object_get_boolean_member (probe, "matches"));
  if (error == NULL)
    g_assert_true (json_object_get_null_member (probe, "error"));
  else
    g_assert_cmpstr (json_object_get_string_member (probe, "error"), ==, error);
  g_assert_cmpint (json_object_get_boolean_member (probe, "matches"), ==, matches);
}

static JsonObject *
secrets_health (Fixture *fixture,
                const gchar **status)
{
  g_autoptr(JsonObject) health = request_json (fixture, HGD_ROLE_IT_ADMIN, "/api/v1/health");
  JsonObject *secrets = json_object_get_object_member (
      json_object_get_object_member (health, "subsystems"), "secrets");

  g_assert_nonnull (secrets);
  if (status != NULL)
    *status = g_intern_string (json_object_get_string_member (health, "status"));
  return json_object_ref (secrets);
}

static const gchar *
protection_of (JsonObject *secrets,
               const gchar *domain)
{
  return json_object_get_string_member (
      json_object_get_object_member (json_object_get_object_member (secrets, "keyrings"), domain),
      "protection");
}

static gchar *
keyring_file (Fixture *fixture,
              const gchar *domain)
{
  g_autofree gchar *name = g_strdup_printf ("%s.keyring", domain);

  return g_build_filename (fixture->state, "secrets", "keyrings", name, NULL);
}

static GBytes *
read_bytes (const gchar *path)
{
  gchar *contents = NULL;
  gsize length = 0;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  return g_bytes_new_take (contents, length);
}

static guint
count_keyring_files (Fixture *fixture)
{
  g_autofree gchar *dir = g_build_filename (fixture->state, "secrets", "keyrings", NULL);
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  guint n = 0;
  const gchar *name;

  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL)
    n += g_str_has_suffix (name, ".keyring");
  return n;
}

/* A first start: each keeper stores its note and reads it back; the keyrings exist. */
static void
first_run (Fixture *fixture)
{
  g_autoptr(JsonObject) municipal = NULL;
  g_autoptr(JsonObject) personal = NULL;
  g_autofree gchar *log = NULL;

  start_hemgated (fixture, TRUE,
                  "keeper-m municipal token " NOTE_MUNICIPAL "\n"
                  "keeper-p personal token " NOTE_PERSONAL "\n");
  municipal = wait_for_probe (fixture, HGD_ROLE_STAFF, "keeper-m", "StoreSecret+LookupSecret", 0);
  personal = wait_for_probe (fixture, HGD_ROLE_RESIDENT, "keeper-p", "StoreSecret+LookupSecret", 0);
  assert_probe (municipal, NULL, TRUE);
  assert_probe (personal, NULL, TRUE);
  assert_no_plaintext_in_environments (
      (GPid) g_ascii_strtoll (g_subprocess_get_identifier (fixture->process), NULL, 10));
  stop_hemgated (fixture);
  log = read_log (fixture);
  assert_no_plaintext_in_text ("hemgated's log", log);
  g_assert_cmpuint (count_keyring_files (fixture), ==, 2);
}

/* Running the programs as IT does on the box ------------------------------------------- */

/* Runs @argv (the program first) with @input on its standard input; its exit status. */
static gint
run_program (const gchar *const *argv,
             GSubprocessLauncher *launcher,
             const gchar *input,
             gchar **out,
             gchar **err)
{
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C", TRUE);
  g_subprocess_launcher_set_child_setup (launcher, hg_test_die_with_parent, NULL, NULL);
  return hg_test_run_process (launcher, argv, input, out, err);
}

/* hemgated --add-user @username --role @role on the same configuration, the password on
 * standard input. */
static gint
add_user (Fixture *fixture,
          const gchar *username,
          const gchar *role,
          const gchar *input,
          gchar **out,
          gchar **err)
{
  g_autofree gchar *daemon = g_build_filename (g_getenv ("HGD_TEST_BUILD_ROOT"), "daemon", "core",
                                               "hemgated", NULL);
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  const gchar *argv[] = { daemon, "--config", fixture->conf, "--add-user", username, "--role",
                          role, NULL };

  return run_program (argv, launcher, input, out, err);
}

/* hemgatectl @args… against the running hemgated, as over SSH: no session bus, so a token
 * from `login` is kept in the test's own configuration directory. */
#define run_ctl(fixture, input, out, err, ...)                                                     \
  run_ctl_argv ((fixture), (input), (out), (err), (const gchar *const[]){ __VA_ARGS__, NULL })

static gint
run_ctl_argv (Fixture *fixture,
              const gchar *input,
              gchar **out,
              gchar **err,
              const gchar *const *args)
{
  g_autofree gchar *ctl = g_build_filename (g_getenv ("HGD_TEST_BUILD_ROOT"), "daemon", "cli",
                                            "hemgatectl", NULL);
  g_autofree gchar *url = g_strdup_printf ("http://127.0.0.1:%u", fixture->port);
  g_autoptr(GSubprocessLauncher) launcher = hg_test_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_subprocess_launcher_setenv (launcher, "HEMGATE_URL", url, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "HEMGATE_TOKEN");
  g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
  g_subprocess_launcher_setenv (launcher, "HOME", g_get_home_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", g_get_user_config_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", g_get_user_runtime_dir (), TRUE);
  g_ptr_array_add (argv, ctl);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  return run_program ((const gchar *const *) argv->pdata, launcher, input, out, err);
}

/* POST /api/v1/auth/login: the token, or NULL when refused. */
static gchar *
api_login (Fixture *fixture,
           const gchar *username,
           const gchar *password)
{
  g_autofree gchar *body = g_strdup_printf ("{\"username\":\"%s\",\"password\":\"%s\"}",
                                            username, password);
  g_autoptr(HgdTestResponse) response
      = hgd_test_daemon_request (fixture->client, "POST", "/api/v1/auth/login", NULL, body);

  if (response->status != SOUP_STATUS_OK)
    {
      g_assert_cmpuint (response->status, ==, SOUP_STATUS_UNAUTHORIZED);
      return NULL;
    }
  return g_strdup (json_object_get_string_member (response->json, "token"));
}

/* PUT /api/v1/secrets/@owner/@key with @value, as the holder of @token. */
static void
api_set_secret (Fixture *fixture,
                const gchar *token,
                const gchar *owner,
                const gchar *key,
                const gchar *value)
{
  g_autofree gchar *path = g_strdup_printf ("/api/v1/secrets/%s/%s", owner, key);
  g_autofree gchar *body = g_strdup_printf ("{\"value\":\"%s\"}", value);
  g_autoptr(HgdTestResponse) response
      = hgd_test_daemon_request (fixture->client, "PUT", path, token, body);

  g_assert_cmpuint (response->status, ==, SOUP_STATUS_NO_CONTENT);
}

/* GET /api/v1/secrets as the holder of @token: asserts that @owner's @key is listed with
 * when it was set, and that no value is anywhere in the answer. */
static void
assert_listed (Fixture *fixture,
               const gchar *token,
               const gchar *owner,
               const gchar *key)
{
  g_autoptr(HgdTestResponse) response
      = hgd_test_daemon_request (fixture->client, "GET", "/api/v1/secrets", token, NULL);
  JsonArray *secrets;
  gboolean found = FALSE;
  g_autofree gchar *text = NULL;

  g_assert_cmpuint (response->status, ==, SOUP_STATUS_OK);
  text = g_strndup (g_bytes_get_data (response->body, NULL), g_bytes_get_size (response->body));
  assert_no_plaintext_in_text ("the listing", text);
  secrets = json_object_get_array_member (response->json, "secrets");
  for (guint i = 0; i < json_array_get_length (secrets); i++)
    {
      JsonObject *secret = json_array_get_object_element (secrets, i);

      g_assert_false (json_object_has_member (secret, "value"));
      if (g_strcmp0 (json_object_get_string_member (secret, "owner"), owner) != 0 ||
          g_strcmp0 (json_object_get_string_member (secret, "key"), key) != 0)
        continue;
      found = TRUE;
      g_assert_false (json_object_get_null_member (secret, "set_at"));
    }
  if (!found)
    g_error ("%s %s is not listed", owner, key);
}

static gboolean
user_listed (Fixture *fixture,
             const gchar *token,
             const gchar *username,
             const gchar *role)
{
  g_autoptr(HgdTestResponse) response
      = hgd_test_daemon_request (fixture->client, "GET", "/api/v1/users", token, NULL);
  JsonArray *users;

  g_assert_cmpuint (response->status, ==, SOUP_STATUS_OK);
  users = json_object_get_array_member (response->json, "users");
  for (guint i = 0; i < json_array_get_length (users); i++)
    {
      JsonObject *user = json_array_get_object_element (users, i);

      if (g_strcmp0 (json_object_get_string_member (user, "username"), username) == 0)
        return g_strcmp0 (json_object_get_string_member (user, "role"), role) == 0;
    }
  return FALSE;
}

static void
test_first_admin_added_on_the_box (Fixture *fixture,
                                   gconstpointer user_data)
{
  g_autofree gchar *token = NULL;
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  g_autofree gchar *db = g_build_filename (fixture->state, "municipal", "accounts.db", NULL);
  g_autofree gchar *personal_db = g_build_filename (fixture->state, "personal", "accounts.db",
                                                    NULL);
  g_autofree gchar *log = NULL;
  GStatBuf st;

  g_test_summary ("On a fresh install nobody can log in; hemgated --add-user, run on the box "
                  "while hemgated runs, adds the first it-admin with the password from "
                  "standard input; they log in through the API at once and set a secret with "
                  "hemgatectl; a taken name is refused; a user added while hemgated is "
                  "stopped logs in after its start");
  g_test_bug ("issue 19");

  start_hemgated (fixture, TRUE, "keeper-m municipal sip-password " SET_MUNICIPAL_CTL "\n");
  g_assert_null (api_login (fixture, "it", IT_PASSWORD));

  g_assert_cmpint (add_user (fixture, "it", "it-admin", IT_PASSWORD "\n", &out, NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, "Added the user it with the role it-admin."));
  g_clear_pointer (&out, g_free);
  token = api_login (fixture, "it", IT_PASSWORD);
  g_assert_nonnull (token);
  g_assert_true (user_listed (fixture, token, "it", "it-admin"));

  /* the name is taken, whatever the role; the first password still holds */
  g_assert_cmpint (add_user (fixture, "it", "staff", "another-password-0042\n", NULL, &err), ==,
                   1);
  g_assert_nonnull (strstr (err, "the user name is taken"));
  g_clear_pointer (&err, g_free);
  g_assert_null (api_login (fixture, "it", "another-password-0042"));
  /* nothing on standard input, a weak password, an unknown role: nothing added */
  g_assert_cmpint (add_user (fixture, "kim", "staff", "", NULL, &err), ==, 1);
  g_assert_nonnull (strstr (err, "no password on standard input"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (add_user (fixture, "kim", "staff", "short\n", NULL, &err), ==, 1);
  g_assert_nonnull (strstr (err, "too short"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (add_user (fixture, "kim", "janitor", IT_PASSWORD "\n", NULL, &err), ==, 1);
  g_assert_nonnull (strstr (err, "unknown role"));
  g_clear_pointer (&err, g_free);
  g_assert_false (user_listed (fixture, token, "kim", "staff"));

  /* the README's path: hemgatectl login, then the SIP password */
  g_assert_cmpint (run_ctl (fixture, IT_PASSWORD "\n", NULL, NULL, "login", "it",
                            "--password-stdin"),
                   ==, 0);
  g_assert_cmpint (run_ctl (fixture, SET_MUNICIPAL_CTL "\n", &out, NULL, "secrets", "set",
                            "plugin:keeper-m", "sip-password"),
                   ==, 0);
  g_assert_true (g_str_has_prefix (out, "Set the secret sip-password of plugin:keeper-m."));
  g_clear_pointer (&out, g_free);
  assert_listed (fixture, token, "plugin:keeper-m", "sip-password");
  stop_hemgated (fixture);

  /* hemgated stopped: the resident added now logs in once it runs */
  g_assert_cmpint (add_user (fixture, "elsa", "resident", NOTE_PERSONAL "\n", NULL, NULL), ==, 0);
  start_hemgated (fixture, TRUE, "keeper-m municipal sip-password " SET_MUNICIPAL_CTL "\n");
  g_free (token);
  token = api_login (fixture, "elsa", NOTE_PERSONAL);
  g_assert_nonnull (token);
  stop_hemgated (fixture);

  /* the files stay the service's: private, no password in them */
  g_assert_cmpint (g_stat (db, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (personal_db, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  assert_no_plaintext_under (fixture->state);
  log = read_log (fixture);
  assert_no_plaintext_in_text ("hemgated's log", log);
}

/* The keepers of test_secrets_set_by_people (): each looks up the secret a person set. */
#define PEOPLES_KEEPERS                                                                            \
  "keeper-m1 municipal api-token " SET_MUNICIPAL_API " note-m1\n"                                  \
  "keeper-m2 municipal sip-password " SET_MUNICIPAL_CTL " note-m2\n"                               \
  "keeper-p1 personal api-token " SET_PERSONAL_API " note-p1\n"                                    \
  "keeper-p2 personal wifi-password " SET_PERSONAL_CTL " note-p2\n"

/* Waits for the LookupSecret probe of @instance since @after that found its value. */
static void
wait_for_match (Fixture *fixture,
                HgdRole role,
                const gchar *instance,
                gint64 after)
{
  for (guint i = 0; i < 300; i++)
    {
      g_autoptr(JsonObject) probe = find_probe (fixture, role, instance, "LookupSecret", after);

      if (probe != NULL && json_object_get_boolean_member (probe, "matches"))
        {
          assert_probe (probe, NULL, TRUE);
          return;
        }
      hg_test_run_for (100);
    }
  g_error ("%s never found the value it expects", instance);
}

static void
test_secrets_set_by_people (Fixture *fixture,
                            gconstpointer user_data)
{
  const gchar *resident = hgd_test_username (HGD_ROLE_RESIDENT);
  g_autofree gchar *resident_input = g_strdup_printf ("%s\n",
                                                      hgd_test_password (HGD_ROLE_RESIDENT));
  g_autofree gchar *it_token = NULL;
  g_autofree gchar *out = NULL;
  g_autofree gchar *log = NULL;
  const gchar *resident_token;
  gint64 municipal_after;
  gint64 personal_after;
  GPid pid;

  g_test_summary ("As the installed unit runs it: an it-admin added on the box sets municipal "
                  "secrets through PUT /api/v1/secrets and hemgatectl secrets set, the "
                  "resident personal ones the same two ways; after a restart of the whole "
                  "stack the plugins find each value and the listings show each key, never a "
                  "value; no value is in plain text under the state directory, in the "
                  "journals, in the log or in any process' environment");
  g_test_bug ("issue 19");

  start_hemgated (fixture, TRUE, PEOPLES_KEEPERS);
  g_assert_cmpint (add_user (fixture, "it-berg", "it-admin", IT_PASSWORD "\n", NULL, NULL), ==, 0);
  it_token = api_login (fixture, "it-berg", IT_PASSWORD);
  g_assert_nonnull (it_token);
  resident_token = hgd_test_daemon_get_token (fixture->client, HGD_ROLE_RESIDENT);

  /* municipal, by the it-admin: the API, then hemgatectl */
  api_set_secret (fixture, it_token, "plugin:keeper-m1", "api-token", SET_MUNICIPAL_API);
  g_assert_cmpint (run_ctl (fixture, IT_PASSWORD "\n", NULL, NULL, "login", "it-berg",
                            "--password-stdin"),
                   ==, 0);
  g_assert_cmpint (run_ctl (fixture, SET_MUNICIPAL_CTL "\n", NULL, NULL, "secrets", "set",
                            "plugin:keeper-m2", "sip-password"),
                   ==, 0);
  /* personal, by the resident: the same two ways */
  api_set_secret (fixture, resident_token, "plugin:keeper-p1", "api-token", SET_PERSONAL_API);
  g_assert_cmpint (run_ctl (fixture, resident_input, NULL, NULL, "login", resident,
                            "--password-stdin"),
                   ==, 0);
  g_assert_cmpint (run_ctl (fixture, SET_PERSONAL_CTL "\n", NULL, NULL, "secrets", "set",
                            "plugin:keeper-p2", "wifi-password"),
                   ==, 0);

  assert_listed (fixture, it_token, "plugin:keeper-m1", "api-token");
  assert_listed (fixture, it_token, "plugin:keeper-m2", "sip-password");
  assert_listed (fixture, resident_token, "plugin:keeper-p1", "api-token");
  assert_listed (fixture, resident_token, "plugin:keeper-p2", "wifi-password");
  pid = (GPid) g_ascii_strtoll (g_subprocess_get_identifier (fixture->process), NULL, 10);
  assert_no_plaintext_in_environments (pid);
  municipal_after = last_seq (fixture, HGD_ROLE_STAFF);
  personal_after = last_seq (fixture, HGD_ROLE_RESIDENT);
  stop_hemgated (fixture);
  log = read_log (fixture);
  assert_no_plaintext_in_text ("hemgated's log", log);
  assert_no_plaintext_under (fixture->state);

  /* a simulated reboot: hemgated, its bus, gnome-keyring and the hosts start again */
  start_hemgated (fixture, TRUE, PEOPLES_KEEPERS);
  wait_for_match (fixture, HGD_ROLE_STAFF, "keeper-m1", municipal_after);
  wait_for_match (fixture, HGD_ROLE_STAFF, "keeper-m2", municipal_after);
  wait_for_match (fixture, HGD_ROLE_RESIDENT, "keeper-p1", personal_after);
  wait_for_match (fixture, HGD_ROLE_RESIDENT, "keeper-p2", personal_after);
  g_free (it_token);
  it_token = api_login (fixture, "it-berg", IT_PASSWORD);
  assert_listed (fixture, it_token, "plugin:keeper-m1", "api-token");
  assert_listed (fixture, it_token, "plugin:keeper-m2", "sip-password");
  resident_token = hgd_test_daemon_get_token (fixture->client, HGD_ROLE_RESIDENT);
  assert_listed (fixture, resident_token, "plugin:keeper-p1", "api-token");
  assert_listed (fixture, resident_token, "plugin:keeper-p2", "wifi-password");
  /* hemgatectl's listing, with the token its login kept (sessions outlive a restart) */
  g_assert_cmpint (run_ctl (fixture, NULL, &out, NULL, "secrets"), ==, 0);
  g_assert_nonnull (strstr (out, "plugin:keeper-p2"));
  g_assert_nonnull (strstr (out, "wifi-password"));
  g_assert_null (strstr (out, "keeper-m1"));
  assert_no_plaintext_in_text ("hemgatectl secrets", out);
  pid = (GPid) g_ascii_strtoll (g_subprocess_get_identifier (fixture->process), NULL, 10);
  assert_no_plaintext_in_environments (pid);
  stop_hemgated (fixture);
  g_free (log);
  log = read_log (fixture);
  assert_no_plaintext_in_text ("hemgated's log", log);
  assert_no_plaintext_under (fixture->state);
}

static void
test_restart_keeps_secrets (Fixture *fixture,
                            gconstpointer user_data)
{
  g_autoptr(JsonObject) municipal = NULL;
  g_autoptr(JsonObject) personal = NULL;
  g_autoptr(JsonObject) secrets = NULL;
  g_autoptr(JsonObject) crossed = NULL;
  g_autofree gchar *log = NULL;
  g_autofree gchar *key_file = NULL;
  const gchar *status = NULL;
  const gchar *message = NULL;
  gint64 after;

  g_test_summary ("As the installed unit runs it, hemgated keeps each domain's secrets in its "
                  "own keyring, unlocked from its credential without a password typed; they "
                  "survive a restart of the whole stack; no secret or key is in plain text "
                  "under the state directory, in the journals, in the log or in any "
                  "process' environment; a missing secret is a health fault naming the "
                  "instance and the key; an instance of the other domain with the same name "
                  "finds nothing");

  /* first start: the keyrings are made; keeper-m asked for a token nobody stored */
  start_hemgated (fixture, TRUE,
                  "keeper-m municipal token " NOTE_MUNICIPAL "\n"
                  "keeper-p personal token " NOTE_PERSONAL "\n");
  municipal = wait_for_probe (fixture, HGD_ROLE_STAFF, "keeper-m", "StoreSecret+LookupSecret", 0);
  personal = wait_for_probe (fixture, HGD_ROLE_RESIDENT, "keeper-p", "StoreSecret+LookupSecret", 0);
  assert_probe (municipal, NULL, TRUE);
  assert_probe (personal, NULL, TRUE);
  g_clear_pointer (&municipal, json_object_unref);
  municipal = wait_for_probe (fixture, HGD_ROLE_STAFF, "keeper-m", "LookupSecret", 0);
  assert_probe (municipal, "org.hemgate.Error.NotFound", FALSE);

  secrets = secrets_health (fixture, &status);
  g_assert_cmpstr (status, ==, "degraded");
  g_assert_cmpstr (json_object_get_string_member (secrets, "status"), ==, "fault");
  message = json_object_get_string_member (secrets, "message");
  g_assert_nonnull (strstr (message, "plugin keeper-m: no secret 'token'"));
  g_assert_cmpstr (protection_of (secrets, "municipal"), ==, "credential");
  g_assert_cmpstr (protection_of (secrets, "personal"), ==, "credential");
  assert_no_plaintext_in_environments (
      (GPid) g_ascii_strtoll (g_subprocess_get_identifier (fixture->process), NULL, 10));
  stop_hemgated (fixture);
  log = read_log (fixture);
  assert_no_plaintext_in_text ("hemgated's log", log);
  assert_no_plaintext_under (fixture->state);
  /* the credentials were used: no key file was made */
  key_file = g_build_filename (fixture->state, "secrets", "municipal.key", NULL);
  g_assert_false (g_file_test (key_file, G_FILE_TEST_EXISTS));

  /* a simulated reboot: everything stopped, started again; each keeper finds its note
   * before storing anything */
  start_hemgated (fixture, TRUE,
                  "keeper-m municipal note " NOTE_MUNICIPAL "\n"
                  "keeper-p personal note " NOTE_PERSONAL "\n");
  after = 0;
  g_clear_pointer (&municipal, json_object_unref);
  g_clear_pointer (&personal, json_object_unref);
  for (guint i = 0; i < 300 && (municipal == NULL || !json_object_get_boolean_member (municipal, "matches")); i++)
    {
      g_clear_pointer (&municipal, json_object_unref);
      municipal = find_probe (fixture, HGD_ROLE_STAFF, "keeper-m", "LookupSecret", after);
      hg_test_run_for (100);
    }
  g_assert_nonnull (municipal);
  assert_probe (municipal, NULL, TRUE);
  for (guint i = 0; i < 300 && (personal == NULL || !json_object_get_boolean_member (personal, "matches")); i++)
    {
      g_clear_pointer (&personal, json_object_unref);
      personal = find_probe (fixture, HGD_ROLE_RESIDENT, "keeper-p", "LookupSecret", after);
      hg_test_run_for (100);
    }
  g_assert_nonnull (personal);
  assert_probe (personal, NULL, TRUE);
  /* found, so no longer missing */
  g_clear_pointer (&secrets, json_object_unref);
  secrets = secrets_health (fixture, &status);
  g_assert_cmpstr (json_object_get_string_member (secrets, "status"), ==, "ok");
  assert_no_plaintext_in_environments (
      (GPid) g_ascii_strtoll (g_subprocess_get_identifier (fixture->process), NULL, 10));
  after = last_seq (fixture, HGD_ROLE_RESIDENT);
  stop_hemgated (fixture);
  g_free (log);
  log = read_log (fixture);
  assert_no_plaintext_in_text ("hemgated's log", log);
  assert_no_plaintext_under (fixture->state);

  /* the municipal instance's name in the personal domain: its note is not there */
  start_hemgated (fixture, TRUE, "keeper-m personal note " NOTE_MUNICIPAL "\n");
  crossed = wait_for_probe (fixture, HGD_ROLE_RESIDENT, "keeper-m", "LookupSecret", after);
  assert_probe (crossed, "org.hemgate.Error.NotFound", FALSE);
  stop_hemgated (fixture);
  g_free (log);
  log = read_log (fixture);
  assert_no_plaintext_in_text ("hemgated's log", log);
}

static void
assert_domain_fault (Fixture *fixture,
                     const gchar *domain,
                     const gchar *expected)
{
  g_autoptr(JsonObject) secrets = NULL;
  JsonObject *keyrings;
  JsonObject *entry;
  const gchar *status = NULL;

  secrets = secrets_health (fixture, &status);
  g_assert_cmpstr (status, ==, "degraded");
  g_assert_cmpstr (json_object_get_string_member (secrets, "status"), ==, "fault");
  g_assert_nonnull (strstr (json_object_get_string_member (secrets, "message"), expected));
  keyrings = json_object_get_object_member (secrets, "keyrings");
  entry = json_object_get_object_member (keyrings, domain);
  g_assert_cmpstr (json_object_get_string_member (entry, "protection"), ==, "none");
  g_assert_nonnull (strstr (json_object_get_string_member (entry, "fault"), expected));
}

static void
test_wrong_or_missing_key (Fixture *fixture,
                           gconstpointer user_data)
{
  g_autofree gchar *municipal_file = keyring_file (fixture, "municipal");
  g_autofree gchar *personal_file = keyring_file (fixture, "personal");
  g_autofree gchar *log = NULL;
  g_autofree gchar *key_file = NULL;
  g_autoptr(GBytes) municipal_before = NULL;
  g_autoptr(GBytes) personal_before = NULL;
  g_autoptr(GBytes) after = NULL;
  g_autoptr(JsonObject) probe = NULL;
  g_autoptr(JsonObject) secrets = NULL;

  g_test_summary ("The personal key does not open the municipal keyring, nor does no key: "
                  "the domain's secrets are unavailable, health and the log say why, the "
                  "other domain works, and the keyring file is left byte for byte");

  first_run (fixture);
  municipal_before = read_bytes (municipal_file);
  personal_before = read_bytes (personal_file);

  /* the personal domain's key given for the municipal keyring */
  write_credential (fixture, "hemgate-municipal-keyring", KEY_PERSONAL "\n");
  start_hemgated (fixture, TRUE,
                  "keeper-m municipal note " NOTE_MUNICIPAL "\n"
                  "keeper-p personal note " NOTE_PERSONAL "\n");
  assert_domain_fault (fixture, "municipal", "the municipal key does not open the keyring");
  probe = wait_for_probe_error (fixture, HGD_ROLE_STAFF, "keeper-m", "LookupSecret",
                                "org.hemgate.Error.Unavailable");
  assert_probe (probe, "org.hemgate.Error.Unavailable", FALSE);
  secrets = secrets_health (fixture, NULL);
  g_assert_cmpstr (protection_of (secrets, "personal"), ==, "credential");
  stop_hemgated (fixture);
  log = read_log (fixture);
  g_assert_nonnull (strstr (log, "the municipal key does not open the keyring"));
  assert_no_plaintext_in_text ("hemgated's log", log);
  after = read_bytes (municipal_file);
  g_assert_true (g_bytes_equal (after, municipal_before));
  g_assert_cmpuint (count_keyring_files (fixture), ==, 2);

  /* no credentials at all: not a new key file over an existing keyring (the personal
   * one was written again above, by keeper-p) */
  g_clear_pointer (&personal_before, g_bytes_unref);
  personal_before = read_bytes (personal_file);
  remove_credentials (fixture);
  start_hemgated (fixture, FALSE, "keeper-m municipal note " NOTE_MUNICIPAL "\n");
  assert_domain_fault (fixture, "municipal", "no key opens the municipal keyring");
  assert_domain_fault (fixture, "personal", "no key opens the personal keyring");
  stop_hemgated (fixture);
  g_free (log);
  log = read_log (fixture);
  g_assert_nonnull (strstr (log, "no key opens the municipal keyring"));
  key_file = g_build_filename (fixture->state, "secrets", "municipal.key", NULL);
  g_assert_false (g_file_test (key_file, G_FILE_TEST_EXISTS));
  g_clear_pointer (&after, g_bytes_unref);
  after = read_bytes (municipal_file);
  g_assert_true (g_bytes_equal (after, municipal_before));
  g_clear_pointer (&after, g_bytes_unref);
  after = read_bytes (personal_file);
  g_assert_true (g_bytes_equal (after, personal_before));
  g_assert_cmpuint (count_keyring_files (fixture), ==, 2);
}

static void
test_damaged_keyring (Fixture *fixture,
                      gconstpointer user_data)
{
  g_autofree gchar *municipal_file = keyring_file (fixture, "municipal");
  g_autofree gchar *aside = g_build_filename (fixture->state, "secrets", "damaged",
                                              "municipal.keyring", NULL);
  g_autofree gchar *log = NULL;
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) after = NULL;
  g_autoptr(JsonObject) personal = NULL;
  g_autoptr(JsonObject) secrets = NULL;
  g_autofree gchar *damaged = NULL;
  gsize length;

  g_test_summary ("A damaged municipal keyring file is a fault naming the file; it is set "
                  "aside byte for byte, never replaced by a new, empty keyring, also on the "
                  "next start; the personal keyring goes on working");

  first_run (fixture);
  before = read_bytes (municipal_file);
  /* the header kept, the rest overwritten */
  length = g_bytes_get_size (before);
  damaged = g_malloc (length);
  memcpy (damaged, g_bytes_get_data (before, NULL), length);
  for (gsize i = 40; i < length; i++)
    damaged[i] = (gchar) (i * 7);
  g_assert_true (g_file_set_contents (municipal_file, damaged, (gssize) length, NULL));
  g_clear_pointer (&before, g_bytes_unref);
  before = read_bytes (municipal_file);

  for (guint run = 0; run < 2; run++)
    {
      start_hemgated (fixture, TRUE,
                      "keeper-m municipal note " NOTE_MUNICIPAL "\n"
                      "keeper-p personal note " NOTE_PERSONAL "\n");
      assert_domain_fault (fixture, "municipal", aside);
      secrets = secrets_health (fixture, NULL);
      g_assert_cmpstr (protection_of (secrets, "personal"), ==, "credential");
      g_clear_pointer (&secrets, json_object_unref);
      personal = wait_for_probe (fixture, HGD_ROLE_RESIDENT, "keeper-p", "LookupSecret", 0);
      g_clear_pointer (&personal, json_object_unref);
      stop_hemgated (fixture);
      g_free (log);
      log = read_log (fixture);
      g_assert_nonnull (strstr (log, aside));
      g_assert_false (g_file_test (municipal_file, G_FILE_TEST_EXISTS));
      g_clear_pointer (&after, g_bytes_unref);
      after = read_bytes (aside);
      g_assert_true (g_bytes_equal (after, before));
      g_assert_cmpuint (count_keyring_files (fixture), ==, 1);
    }
}

static void
test_keyring_of_another_device (Fixture *fixture,
                                gconstpointer user_data)
{
  g_autofree gchar *municipal_file = keyring_file (fixture, "municipal");
  g_autofree gchar *other_state = g_build_filename (fixture->dir, "other-state", NULL);
  g_autofree gchar *other_file = NULL;
  g_autofree gchar *log = NULL;
  g_autoptr(GBytes) other = NULL;
  g_autoptr(GBytes) after = NULL;
  gchar *state;

  g_test_summary ("A municipal keyring copied from another gateway, sealed with that "
                  "gateway's key, is a fault here and is left as it is");

  /* the other gateway: its own state directory, its own keys */
  state = fixture->state;
  fixture->state = g_strdup (other_state);
  make_users (fixture->state);
  write_credential (fixture, "hemgate-municipal-keyring", "another-device-key-0001\n");
  first_run (fixture);
  other_file = keyring_file (fixture, "municipal");
  g_free (fixture->state);
  fixture->state = state;
  write_credential (fixture, "hemgate-municipal-keyring", KEY_MUNICIPAL "\n");

  /* this one's first start, then the other's keyring in place of its own */
  first_run (fixture);
  other = read_bytes (other_file);
  g_assert_true (g_file_set_contents (municipal_file, g_bytes_get_data (other, NULL),
                                      (gssize) g_bytes_get_size (other), NULL));
  start_hemgated (fixture, TRUE, "keeper-m municipal note " NOTE_MUNICIPAL "\n");
  assert_domain_fault (fixture, "municipal", "the municipal key does not open the keyring");
  stop_hemgated (fixture);
  log = read_log (fixture);
  g_assert_nonnull (strstr (log, "another device"));
  after = read_bytes (municipal_file);
  g_assert_true (g_bytes_equal (after, other));
}

static void
test_keyring_exits (Fixture *fixture,
                    gconstpointer user_data)
{
  GPid hemgated;
  GPid keyring = 0;
  g_autoptr(GDir) proc = NULL;
  const gchar *name;
  const gchar *status = NULL;
  g_autoptr(JsonObject) secrets = NULL;

  g_test_summary ("When gnome-keyring dies under a running hemgated, health says at once that "
                  "no secret is available, for both domains");

  start_hemgated (fixture, TRUE, "");
  secrets = secrets_health (fixture, &status);
  g_assert_cmpstr (json_object_get_string_member (secrets, "status"), ==, "ok");
  g_clear_pointer (&secrets, json_object_unref);
  hemgated = (GPid) g_ascii_strtoll (g_subprocess_get_identifier (fixture->process), NULL, 10);
  proc = g_dir_open ("/proc", 0, NULL);
  while ((name = g_dir_read_name (proc)) != NULL)
    {
      gint64 pid = g_ascii_strtoll (name, NULL, 10);
      g_autofree gchar *comm_path = g_strdup_printf ("/proc/%s/comm", name);
      g_autofree gchar *comm = NULL;
      gint ppid = 0;

      if (pid > 0 && hg_test_proc_stat ((gint) pid, &ppid, NULL) && ppid == hemgated &&
          g_file_get_contents (comm_path, &comm, NULL, NULL) &&
          g_str_equal (g_strstrip (comm), "gnome-keyring-d"))
        keyring = (GPid) pid;
    }
  g_assert_cmpint (keyring, >, 0);
  g_assert_cmpint (kill (keyring, SIGKILL), ==, 0);
  for (guint i = 0; i < 100; i++)
    {
      g_clear_pointer (&secrets, json_object_unref);
      secrets = secrets_health (fixture, &status);
      if (g_strcmp0 (json_object_get_string_member (secrets, "status"), "fault") == 0)
        break;
      hg_test_run_for (100);
    }
  assert_domain_fault (fixture, "municipal", "gnome-keyring-daemon) exited");
  assert_domain_fault (fixture, "personal", "gnome-keyring-daemon) exited");
  stop_hemgated (fixture);
  g_free (read_log (fixture));
}

int
main (int argc,
      char **argv)
{
  hg_test_keep_system_data_dirs ();
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD_TEST ("/keyring/installed/restart-keeps-secrets", test_restart_keeps_secrets);
  ADD_TEST ("/keyring/installed/wrong-or-missing-key", test_wrong_or_missing_key);
  ADD_TEST ("/keyring/installed/damaged-keyring", test_damaged_keyring);
  ADD_TEST ("/keyring/installed/keyring-of-another-device", test_keyring_of_another_device);
  ADD_TEST ("/keyring/installed/keyring-exits", test_keyring_exits);
  ADD_TEST ("/keyring/installed/set-by-people",
            test_secrets_set_by_people);
#undef ADD_TEST
  /* as on a fresh install: no user at all */
  g_test_add ("/keyring/installed/first-admin", Fixture, "no users",
              fixture_setup, test_first_admin_added_on_the_box, fixture_teardown);

  return g_test_run ();
}
