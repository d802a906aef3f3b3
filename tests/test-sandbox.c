/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The plugin hosts' sandbox (daemon/core/hgd-sandbox.c), end to end: real journals, the
 * real hemgate-plugin-host, the hostile tests/plugins/intruder in the personal domain
 * beside a municipal instance of the example plugin. As root (CI), every attempt of the
 * intruder is refused by the kernel, reported in its health and journaled as
 * plugin.denied; the domain users are made with useradd --system if missing (as
 * sysusers.d/hemgate.conf does on an installed system). Not as root, the protections
 * that need root are reported off, and no attempt is made: the intruder would succeed. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "hg-test-support.h"
#include "hgd-journal-private.h"
#include "hgd-plugin-manager.h"
#include "hgd-sandbox.h"

#define WAIT_SECONDS 60

typedef struct
{
  gchar *state_dir;                     /* (owned) removed in teardown */
  gchar *plugin_dir;                    /* (owned) */
  HgdConfig *configs[2];                /* (owned) */
  HgdJournal *journals[HG_DOMAIN_LAST]; /* (owned) */
  HgdAlarms *alarms;                    /* (owned) */
  HgdSecrets *secrets;                  /* (owned) */
  HgdPluginManager *managers[2];        /* (owned) (nullable) the victim's, the intruder's */
} Fixture;

/* As sysusers.d/hemgate.conf makes them on an installed system. */
static void
ensure_domain_users (void)
{
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      const gchar *user = hgd_sandbox_domain_user ((HgDomain) i);
      const gchar *argv[] = { "useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                              "--shell", "/usr/sbin/nologin", user, NULL };
      g_autoptr(GError) error = NULL;
      gint status = 0;

      if (getpwnam (user) != NULL)
        continue;
      g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                    &status, &error);
      g_assert_no_error (error);
      g_assert_nonnull (getpwnam (user));
    }
}

static void
setup (Fixture *fixture,
       gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *build_root = g_test_build_filename (G_TEST_BUILT, "..", NULL);
  g_autofree gchar *example = g_build_filename (build_root, "plugins", "example", NULL);
  g_autofree gchar *intruder = g_build_filename (build_root, "tests", "plugins", "intruder", NULL);

  if (geteuid () == 0)
    ensure_domain_users ();
  fixture->state_dir = g_dir_make_tmp ("hemgate-sandbox-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->plugin_dir = g_build_filename (fixture->state_dir, "plugins", NULL);
  hg_test_plugin_dir_add (fixture->plugin_dir, example, NULL, NULL);
  hg_test_plugin_dir_add (fixture->plugin_dir, intruder, NULL, NULL);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      g_autofree gchar *dir = g_build_filename (fixture->state_dir, hg_domain_to_string (i), NULL);
      fixture->journals[i] = hgd_journal_new (i, dir, &error);
      g_assert_no_error (error);
    }
  fixture->alarms = hgd_alarms_new (fixture->journals[HG_DOMAIN_MUNICIPAL]);
  fixture->secrets = hgd_secrets_new ();
}

static void
stopped_cb (GObject *source,
            GAsyncResult *result,
            gpointer user_data)
{
  gboolean *done = user_data;

  g_assert_true (hgd_plugin_manager_stop_finish (HGD_PLUGIN_MANAGER (source), result, NULL));
  *done = TRUE;
}

static void
teardown (Fixture *fixture,
          gconstpointer user_data)
{
  for (guint m = 0; m < G_N_ELEMENTS (fixture->managers); m++)
    {
      gboolean done = FALSE;

      if (fixture->managers[m] == NULL)
        continue;
      hgd_plugin_manager_stop_async (fixture->managers[m], NULL, stopped_cb, &done);
      hg_test_wait_until (&done, WAIT_SECONDS);
      g_clear_object (&fixture->managers[m]);
      g_clear_object (&fixture->configs[m]);
    }
  g_clear_object (&fixture->alarms);
  g_clear_object (&fixture->secrets);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    g_clear_object (&fixture->journals[i]);
  hg_test_rm_rf (fixture->state_dir);
  g_free (fixture->state_dir);
  g_free (fixture->plugin_dir);
}

static void
started_cb (GObject *source,
            GAsyncResult *result,
            gpointer user_data)
{
  gboolean *done = user_data;

  g_assert_true (hgd_plugin_manager_start_finish (HGD_PLUGIN_MANAGER (source), result, NULL));
  *done = TRUE;
}

static void
start_manager (Fixture *fixture,
               guint m,
               const gchar *plugin_groups)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *host = g_test_build_filename (G_TEST_BUILT, "..", "daemon", "host",
                                                  "hemgate-plugin-host", NULL);
  g_autofree gchar *data = g_strdup_printf ("[plugins]\ndirectory = %s\nhost = %s\n"
                                            "start-timeout = 10\n%s",
                                            fixture->plugin_dir, host, plugin_groups);
  gboolean done = FALSE;

  fixture->configs[m] = hgd_config_new ();
  hgd_config_load_data (fixture->configs[m], data, "test.conf", &error);
  g_assert_no_error (error);
  fixture->managers[m] = hgd_plugin_manager_new (fixture->configs[m], fixture->journals,
                                                 fixture->alarms, fixture->secrets);
  hgd_plugin_manager_start_async (fixture->managers[m], NULL, started_cb, &done);
  hg_test_wait_until (&done, WAIT_SECONDS);
}

/* Returns: (transfer full) (nullable): the instance's entry in the manager's JSON */
static JsonObject *
instance_json (HgdPluginManager *manager,
               const gchar *id)
{
  g_autoptr(JsonArray) array = hgd_plugin_manager_to_json (manager, NULL);

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *object = json_array_get_object_element (array, i);

      if (g_strcmp0 (json_object_get_string_member (object, "id"), id) == 0)
        return json_object_ref (object);
    }
  return NULL;
}

static GPtrArray *
find_events (Fixture *fixture,
             HgDomain domain,
             const gchar *type)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) all = hgd_journal_query_events (fixture->journals[domain], 0, 100000, &error);
  GPtrArray *found = g_ptr_array_new_with_free_func (g_object_unref);

  g_assert_no_error (error);
  for (guint i = 0; i < all->len; i++)
    {
      HgEvent *event = g_ptr_array_index (all, i);

      if (g_strcmp0 (hg_event_get_event_type (event), type) == 0)
        g_ptr_array_add (found, g_object_ref (event));
    }
  return found;
}

typedef struct
{
  Fixture *fixture;
  HgDomain domain;
  const gchar *type;
  guint count;
} EventsCondition;

static gboolean
has_events (gpointer data)
{
  EventsCondition *condition = data;
  g_autoptr(GPtrArray) events = find_events (condition->fixture, condition->domain, condition->type);

  return events->len >= condition->count;
}

typedef struct
{
  HgdPluginManager *manager;
  const gchar *id;
} RunningCondition;

static gboolean
is_running (gpointer data)
{
  RunningCondition *condition = data;
  g_autoptr(JsonObject) object = instance_json (condition->manager, condition->id);

  return object != NULL && g_strcmp0 (json_object_get_string_member (object, "state"), "running") == 0;
}

static gboolean
incoming_cb (GSocketService *service,
             GSocketConnection *connection,
             GObject *source_object,
             gpointer user_data)
{
  gboolean *connected = user_data;

  *connected = TRUE;
  return FALSE;
}

static const gchar *const attempts[] = {
  "read-journal", "list-state", "connect", "open-video", "ptrace", "kill-core", "write-system",
  "outside-call", NULL
};

static void
test_intruder_denied (Fixture *fixture,
                      gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketService) service = g_socket_service_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(JsonObject) victim = NULL;
  g_autoptr(GPtrArray) reports = NULL;
  g_autoptr(GPtrArray) denials = NULL;
  g_autofree gchar *groups = NULL;
  g_autofree gchar *municipal_dir = g_build_filename (fixture->state_dir, "municipal", NULL);
  g_autofree gchar *probe = NULL;
  RunningCondition victim_running = { NULL, "victim" };
  EventsCondition reported = { fixture, HG_DOMAIN_PERSONAL, "sensor.intruder", 1 };
  EventsCondition denied = { fixture, HG_DOMAIN_PERSONAL, "plugin.denied", 8 };
  gboolean connected = FALSE;
  struct passwd *personal;
  JsonObject *report;
  JsonArray *dev;
  GStatBuf st;

  g_test_summary ("As root, a personal-domain plugin runs as hemgate-personal and the kernel "
                  "refuses it the municipal journal and state directory, an undeclared "
                  "connection, /dev/video0, ptrace of another host, killing the core and "
                  "writing to the system; it reports each in its health, and the core "
                  "journals each as plugin.denied");
  if (geteuid () != 0)
    {
      g_autofree gchar *warning = NULL;
      g_autoptr(HgdConfig) config = hgd_config_new ();
      g_autoptr(JsonObject) status = hgd_sandbox_status_to_json (config, &warning);

      g_test_message ("not root: only what isolation reports is checked");
      g_assert_nonnull (warning);
      g_assert_nonnull (strstr (warning, "pid-namespace"));
      return;
    }

  /* the port nobody granted the intruder */
  g_socket_listener_add_address (G_SOCKET_LISTENER (service), address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
  g_assert_no_error (error);
  g_signal_connect (service, "incoming", G_CALLBACK (incoming_cb), &connected);
  g_socket_service_start (service);

  start_manager (fixture, 0, "[plugin:victim]\nplugin = example\ndomain = municipal\ninterval = 1\n");
  victim_running.manager = fixture->managers[0];
  hg_test_wait_for (is_running, &victim_running, WAIT_SECONDS);
  victim = instance_json (fixture->managers[0], "victim");
  g_assert_cmpint (json_object_get_int_member (victim, "pid"), >, 0);

  groups = g_strdup_printf ("[plugin:intruder]\ndomain = personal\njournal = %s\n"
                            "municipal-dir = %s\nport = %u\nvictim-pid = %" G_GINT64_FORMAT "\n"
                            "core-pid = %d\n",
                            hgd_journal_get_path (fixture->journals[HG_DOMAIN_MUNICIPAL]),
                            municipal_dir,
                            g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)),
                            json_object_get_int_member (victim, "pid"), (int) getpid ());
  start_manager (fixture, 1, groups);
  hg_test_wait_for (has_events, &reported, WAIT_SECONDS);
  hg_test_wait_for (has_events, &denied, WAIT_SECONDS);

  /* the intruder's own report */
  reports = find_events (fixture, HG_DOMAIN_PERSONAL, "sensor.intruder");
  report = hg_event_get_body (g_ptr_array_index (reports, 0));
  personal = getpwnam (HGD_SANDBOX_USER_PERSONAL);
  g_assert_nonnull (personal);
  g_assert_cmpint (json_object_get_int_member (report, "uid"), ==, personal->pw_uid);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (report, "allowed")), ==, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (report, "sandbox-denied")), ==,
                    g_strv_length ((gchar **) attempts));
  g_assert_cmpstr (json_object_get_string_member (report, "own-state"), ==, "written");
  /* only the standard nodes: no camera, microphone or disk without a capability */
  dev = json_object_get_array_member (report, "dev");
  for (guint i = 0; i < json_array_get_length (dev); i++)
    {
      const gchar *name = json_array_get_string_element (dev, i);
      const gchar *const standard[] = { "null", "zero", "full", "random", "urandom", "shm", "fd",
                                        "stdin", "stdout", "stderr", NULL };

      g_test_message ("/dev/%s", name);
      g_assert_true (g_strv_contains (standard, name));
    }

  /* what the kernel said, journaled by the core in the intruder's domain */
  denials = find_events (fixture, HG_DOMAIN_PERSONAL, "plugin.denied");
  for (guint a = 0; attempts[a] != NULL; a++)
    {
      gboolean found = FALSE;

      for (guint i = 0; i < denials->len; i++)
        {
          JsonObject *body = hg_event_get_body (g_ptr_array_index (denials, i));

          if (g_strcmp0 (json_object_get_string_member (body, "action"), attempts[a]) != 0)
            continue;
          g_assert_cmpstr (json_object_get_string_member (body, "plugin"), ==, "intruder");
          g_assert_cmpstr (json_object_get_string_member (body, "method"), ==, "sandbox");
          g_test_message ("%s: %s", attempts[a], json_object_get_string_member (body, "error"));
          found = TRUE;
        }
      g_assert_true (found);
    }
  g_assert_false (connected);

  /* its own state directory: the domain's user's, 0700, and the probe in it */
  probe = g_build_filename (fixture->state_dir, "personal", "plugins", "intruder", "probe", NULL);
  g_assert_cmpint (g_stat (probe, &st), ==, 0);
  g_assert_cmpint (st.st_uid, ==, personal->pw_uid);
  /* the victim and the core are alive */
  g_assert_cmpint (kill ((pid_t) json_object_get_int_member (victim, "pid"), 0), ==, 0);
  g_assert_true (is_running (&victim_running));
}

/* Returns: (transfer none) (nullable): the error of @action in @report's sandbox-denied */
static const gchar *
denial_error (JsonObject *report,
              const gchar *action)
{
  JsonArray *denied = json_object_get_array_member (report, "sandbox-denied");

  for (guint i = 0; i < json_array_get_length (denied); i++)
    {
      JsonObject *entry = json_array_get_object_element (denied, i);

      if (g_strcmp0 (json_object_get_string_member (entry, "action"), action) == 0)
        return json_object_get_string_member (entry, "error");
    }
  return NULL;
}

static void
test_outside_call_refused (Fixture *fixture,
                           gconstpointer user_data)
{
  g_autoptr(GPtrArray) reports = NULL;
  g_autofree gchar *groups = NULL;
  RunningCondition intruder_running = { NULL, "intruder" };
  EventsCondition reported = { fixture, HG_DOMAIN_PERSONAL, "sensor.intruder", 1 };
  EventsCondition denied = { fixture, HG_DOMAIN_PERSONAL, "plugin.denied", 8 };
  g_autoptr(GPtrArray) denials = NULL;
  gboolean journaled = FALSE;
  JsonObject *report;

  g_test_summary ("A plugin's system call outside the system-service set (here "
                  "landlock_create_ruleset) fails with EPERM, not a kill: the plugin reports "
                  "it, the core journals it, and the host and the core keep running");
  /* the filter applies as root and not: the host's own report is the same */
  groups = g_strdup_printf ("[plugin:intruder]\ndomain = personal\nport = 1\n"
                            "victim-pid = %d\ncore-pid = %d\n", (int) getpid (), (int) getpid ());
  if (geteuid () != 0)
    {
      /* not root the intruder would kill the core (the test): only the filter's part */
      g_test_message ("not root: the intruder's other attempts would succeed");
      return;
    }
  start_manager (fixture, 1, groups);
  intruder_running.manager = fixture->managers[1];
  hg_test_wait_for (has_events, &reported, WAIT_SECONDS);

  reports = find_events (fixture, HG_DOMAIN_PERSONAL, "sensor.intruder");
  report = hg_event_get_body (g_ptr_array_index (reports, 0));
  g_assert_cmpstr (denial_error (report, "outside-call"), ==, g_strerror (EPERM));
  hg_test_wait_for (has_events, &denied, WAIT_SECONDS);
  denials = find_events (fixture, HG_DOMAIN_PERSONAL, "plugin.denied");
  for (guint i = 0; i < denials->len; i++)
    {
      JsonObject *body = hg_event_get_body (g_ptr_array_index (denials, i));

      if (g_strcmp0 (json_object_get_string_member (body, "action"), "outside-call") == 0)
        journaled = TRUE;
    }
  g_assert_true (journaled);
  /* the report was published after the call, by the same process: it was not killed */
  hg_test_wait_for (is_running, &intruder_running, WAIT_SECONDS);
  {
    g_autoptr(JsonObject) object = instance_json (fixture->managers[1], "intruder");

    g_assert_cmpint (json_object_get_int_member (object, "restarts"), ==, 0);
    g_assert_cmpint (kill ((pid_t) json_object_get_int_member (object, "pid"), 0), ==, 0);
  }
}

/* Runs the rest of the process as nobody, as hemgated would run without root. */
static void
become_nobody (void)
{
  struct passwd *nobody = getpwnam ("nobody");

  g_assert_nonnull (nobody);
  g_assert_cmpint (setgroups (0, NULL), ==, 0);
  g_assert_cmpint (setresgid (nobody->pw_gid, nobody->pw_gid, nobody->pw_gid), ==, 0);
  g_assert_cmpint (setresuid (nobody->pw_uid, nobody->pw_uid, nobody->pw_uid), ==, 0);
}

typedef struct
{
  Fixture *fixture;
  guint count;
} CrashedCondition;

static gboolean
has_spawn_failures (gpointer data)
{
  CrashedCondition *condition = data;
  g_autoptr(GPtrArray) crashed = find_events (condition->fixture, HG_DOMAIN_MUNICIPAL, "plugin.crashed");

  return crashed->len >= condition->count;
}

static void
test_required_without_root (void)
{
  Fixture fixture = { 0 };
  g_autoptr(JsonObject) strict = NULL;
  g_autoptr(JsonObject) status = NULL;
  g_autoptr(GPtrArray) crashed = NULL;
  g_autofree gchar *warning = NULL;
  RunningCondition lenient_running = { NULL, "lenient" };
  CrashedCondition two_failures = { &fixture, 2 };
  JsonArray *off;
  const gchar *error;

  g_test_summary ("Where hemgated cannot apply every protection (it does not run as root): "
                  "with sandbox = required no host starts, and the error names the missing "
                  "protections in the instance's state (health), its journal and the log; "
                  "with sandbox = auto the host starts and health's isolation lists what is off");
  if (!g_test_subprocess ())
    {
      /* the daemon's part runs in a child that is not root, whoever runs the test */
      g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      /* what hemgated logs (to journald, as a service) names them too */
      g_test_trap_assert_stderr ("*plugin strict: cannot spawn *: [plugins] sandbox = required, but "
                                 "these protections cannot be applied: user, mount-namespace, "
                                 "pid-namespace, ipc-namespace, uts-namespace, network-namespace, "
                                 "read-only-system, devices (hemgated does not run as root)*");
      return;
    }
  if (geteuid () == 0)
    become_nobody ();
  setup (&fixture, NULL);

  /* required: the host is never spawned */
  start_manager (&fixture, 0,
                 "sandbox = required\n[plugin:strict]\nplugin = example\ndomain = municipal\n");
  hg_test_wait_for (has_spawn_failures, &two_failures, WAIT_SECONDS);
  strict = instance_json (fixture.managers[0], "strict");
  g_assert_cmpstr (json_object_get_string_member (strict, "state"), !=, "running");
  g_assert_true (json_object_get_null_member (strict, "pid"));
  error = json_object_get_string_member (strict, "error");
  g_test_message ("strict: %s", error);
  g_assert_nonnull (strstr (error, "sandbox = required"));
  g_assert_nonnull (strstr (error, "pid-namespace"));
  g_assert_nonnull (strstr (error, "hemgated does not run as root"));
  crashed = find_events (&fixture, HG_DOMAIN_MUNICIPAL, "plugin.crashed");
  for (guint i = 0; i < crashed->len; i++)
    {
      JsonObject *body = hg_event_get_body (g_ptr_array_index (crashed, i));

      g_assert_cmpstr (json_object_get_string_member (body, "reason"), ==, "spawn");
      g_assert_nonnull (strstr (json_object_get_string_member (body, "error"), "mount-namespace"));
    }
  status = hgd_sandbox_status_to_json (fixture.configs[0], &warning);
  g_test_message ("isolation: %s", warning);
  g_assert_nonnull (warning);
  g_assert_true (g_str_has_prefix (warning, "plugin hosts not started ([plugins] sandbox = required"));
  g_assert_nonnull (strstr (warning, "municipal: user, mount-namespace"));
  g_clear_pointer (&status, json_object_unref);
  g_clear_pointer (&warning, g_free);

  /* auto: the same host starts, with what can be applied, and health says what is off */
  start_manager (&fixture, 1, "[plugin:lenient]\nplugin = example\ndomain = municipal\ninterval = 1\n");
  lenient_running.manager = fixture.managers[1];
  hg_test_wait_for (is_running, &lenient_running, WAIT_SECONDS);
  status = hgd_sandbox_status_to_json (fixture.configs[1], &warning);
  g_test_message ("isolation: %s", warning);
  g_assert_nonnull (warning);
  g_assert_true (g_str_has_prefix (warning, "plugin hosts not isolated (hemgated does not run as root)"));
  off = json_object_get_array_member (json_object_get_object_member (status, "municipal"), "off");
  g_assert_cmpuint (json_array_get_length (off), ==, 8);
  g_assert_cmpstr (json_array_get_string_element (off, 0), ==, "user");
  g_assert_cmpstr (json_array_get_string_element (off, 1), ==, "mount-namespace");
  /* what needs no root stays on */
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                        json_object_get_object_member (status, "municipal"), "on")),
                    ==, 2);
  /* the strict instance still has not started */
  g_clear_pointer (&strict, json_object_unref);
  strict = instance_json (fixture.managers[0], "strict");
  g_assert_cmpstr (json_object_get_string_member (strict, "state"), !=, "running");

  teardown (&fixture, NULL);
}

static gboolean
file_contains (gpointer data)
{
  const gchar *const *what = data; /* the file, the text */
  g_autofree gchar *text = NULL;

  return g_file_get_contents (what[0], &text, NULL, NULL) && strstr (text, what[1]) != NULL;
}

/* Returns: the capabilities a /proc/<pid>/task/<tid>/status line names, e.g. "CapEff:" */
static guint64
task_capabilities (const gchar *status_path,
                   const gchar *field)
{
  g_autofree gchar *text = NULL;
  const gchar *line;

  g_assert_true (g_file_get_contents (status_path, &text, NULL, NULL));
  line = strstr (text, field);
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen (field), NULL, 16);
}

static void
test_daemon_capabilities (Fixture *fixture,
                          gconstpointer user_data)
{
  g_autofree gchar *daemon = g_test_build_filename (G_TEST_BUILT, "..", "daemon", "core", "hemgated", NULL);
  g_autofree gchar *host = g_test_build_filename (G_TEST_BUILT, "..", "daemon", "host",
                                                  "hemgate-plugin-host", NULL);
  g_autofree gchar *conf = g_build_filename (fixture->state_dir, "hemgate.conf", NULL);
  g_autofree gchar *log = g_build_filename (fixture->state_dir, "hemgated.log", NULL);
  g_autofree gchar *state = g_build_filename (fixture->state_dir, "state", NULL);
  g_autofree gchar *text = g_strdup_printf ("[daemon]\nstate-dir = %s\n[api]\nport = 0\n"
                                            "listen-address = 127.0.0.1\ntls = false\n"
                                            "[plugins]\ndirectory = %s\nhost = %s\n"
                                            "[plugin:ex]\nplugin = example\ndomain = municipal\n",
                                            state, fixture->plugin_dir, host);
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) tasks = NULL;
  g_autofree gchar *tasks_path = NULL;
  g_autofree gchar *instance_dir = g_build_filename (state, "municipal", "plugins", "ex", NULL);
  const gchar *running[] = { log, "plugin ex running", NULL };
  const gchar *name;
  guint n_tasks = 0;
  GStatBuf st;

  g_test_summary ("hemgated as root keeps its capabilities permitted but effective in no "
                  "thread, and still runs a host as its domain's user in the sandbox, which "
                  "takes them");
  g_assert_true (g_file_set_contents (conf, text, -1, &error));
  g_assert_no_error (error);
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  process = g_subprocess_launcher_spawn (launcher, &error, daemon, "--config", conf, NULL);
  g_assert_no_error (error);
  hg_test_wait_for (file_contains, running, WAIT_SECONDS);

  tasks_path = g_strdup_printf ("/proc/%s/task", g_subprocess_get_identifier (process));
  tasks = g_dir_open (tasks_path, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (tasks)) != NULL)
    {
      g_autofree gchar *status = g_build_filename (tasks_path, name, "status", NULL);

      g_assert_cmphex (task_capabilities (status, "CapEff:"), ==, 0);
      if (geteuid () == 0)
        g_assert_cmphex (task_capabilities (status, "CapPrm:"), !=, 0);
      n_tasks++;
    }
  g_assert_cmpuint (n_tasks, >, 1);
  if (geteuid () == 0)
    {
      struct passwd *municipal = getpwnam (HGD_SANDBOX_USER_MUNICIPAL);

      g_assert_cmpint (g_stat (instance_dir, &st), ==, 0);
      g_assert_cmpint (st.st_uid, ==, municipal->pw_uid);
    }
  else
    g_test_message ("not root: no capabilities to keep");
  g_subprocess_send_signal (process, SIGTERM);
  g_assert_true (g_subprocess_wait_check (process, NULL, &error));
  g_assert_no_error (error);
}

static void
test_isolation_status (Fixture *fixture,
                       gconstpointer user_data)
{
  g_autoptr(HgdConfig) config = hgd_config_new ();
  g_autoptr(JsonObject) status = NULL;
  g_autofree gchar *warning = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("Health's isolation says per domain which protections are on: all as "
                  "root with the domain users, none of those needing root otherwise; "
                  "sandbox = off turns all off");
  status = hgd_sandbox_status_to_json (config, &warning);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      JsonObject *domain = json_object_get_object_member (status, hg_domain_to_string (i));
      JsonArray *off = json_object_get_array_member (domain, "off");

      if (geteuid () == 0)
        {
          g_assert_cmpuint (json_array_get_length (off), ==, 0);
          g_assert_cmpstr (json_object_get_string_member (domain, "user"), ==,
                           hgd_sandbox_domain_user ((HgDomain) i));
        }
      else
        g_assert_cmpuint (json_array_get_length (off), >, 0);
    }
  if (geteuid () == 0)
    g_assert_null (warning);
  g_clear_pointer (&warning, g_free);
  g_clear_pointer (&status, json_object_unref);

  hgd_config_load_data (config, "[plugins]\nsandbox = off\n", "test.conf", &error);
  g_assert_no_error (error);
  status = hgd_sandbox_status_to_json (config, &warning);
  g_assert_nonnull (warning);
  g_assert_nonnull (strstr (warning, "seccomp"));

  g_assert_false (hgd_config_load_data (config, "[plugins]\nsandbox = sometimes\n", "test.conf", &error));
  g_assert_nonnull (error);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  g_test_add ("/sandbox/intruder-denied-by-the-kernel", Fixture, NULL, setup, test_intruder_denied, teardown);
  g_test_add ("/sandbox/outside-call-refused", Fixture, NULL, setup, test_outside_call_refused, teardown);
  g_test_add_func ("/sandbox/required-without-root", test_required_without_root);
  g_test_add ("/sandbox/daemon-capabilities-only-in-use", Fixture, NULL, setup, test_daemon_capabilities,
              teardown);
  g_test_add ("/sandbox/isolation-status", Fixture, NULL, setup, test_isolation_status, teardown);
  return g_test_run ();
}
