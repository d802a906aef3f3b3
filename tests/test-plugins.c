/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Out-of-process plugins, end to end: an HgdPluginManager with real journals spawns the
 * real hemgate-plugin-host over real socketpairs to run the example plugin and the
 * misbehaving plugins of tests/plugins/. Nothing is mocked. Each case waits for a state
 * with a generous limit, then asserts it; none asserts how long anything took. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "hg-test-support.h"
#include "hgd-journal-private.h"
#include "hgd-plugin-manager.h"

/* How long a case waits for a condition before failing: far above what any needs. */
#define WAIT_SECONDS 60

/* A disk whose writes cannot be made durable: while set, every fdatasync () of this
 * process fails with EIO. This definition is the one SQLite's calls reach (a program's
 * symbols come before its libraries'); otherwise it is glibc's. */
static gint fdatasync_fails = FALSE;
static gint fdatasync_failed = 0;

int
fdatasync (int fd)
{
  static int (*real_fdatasync) (int) = NULL;

  if (g_atomic_int_get (&fdatasync_fails))
    {
      g_atomic_int_inc (&fdatasync_failed);
      errno = EIO;
      return -1;
    }
  if (real_fdatasync == NULL)
    real_fdatasync = (int (*) (int)) dlsym (RTLD_NEXT, "fdatasync");
  return real_fdatasync (fd);
}

typedef struct
{
  gchar *state_dir;                     /* (owned) removed in teardown */
  gchar *plugin_dir;                    /* (owned) links to the built plugins' files */
  HgdConfig *config;                    /* (owned) */
  HgdJournal *journals[HG_DOMAIN_LAST]; /* (owned) */
  HgdAlarms *alarms;                    /* (owned) */
  HgdSecrets *secrets;                  /* (owned) */
  HgdPluginManager *manager;            /* (owned) (nullable) until started */
  gboolean demo;                        /* start as hemgated --demo would */
} Fixture;

/* The plugins the cases use, and where the build put them. */
static const struct
{
  const gchar *id;
  const gchar *build_dir; /* relative to the build root */
} plugins[] = {
  { "example", "plugins" },
  { "crash-on-start", "tests/plugins" },
  { "hang", "tests/plugins" },
  { "greedy", "tests/plugins" },
  { "courier", "tests/plugins" },
  { "keeper", "tests/plugins" },
  { "bad-json", "tests/plugins" },
  { "unknown-key", "tests/plugins" },
  { "unknown-capability", "tests/plugins" },
  { "wrong-api-version", "tests/plugins" },
  { "personal-delivery", "tests/plugins" },
};

static void
setup (Fixture *fixture,
       gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *build_root = g_test_build_filename (G_TEST_BUILT, "..", NULL);

  fixture->state_dir = g_dir_make_tmp ("hemgate-plugins-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->plugin_dir = g_build_filename (fixture->state_dir, "plugins", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (plugins); i++)
    {
      g_autofree gchar *built = g_build_filename (build_root, plugins[i].build_dir, plugins[i].id, NULL);

      hg_test_plugin_dir_add (fixture->plugin_dir, built, NULL, NULL);
    }
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
  g_autoptr(GError) error = NULL;

  g_assert_true (hgd_plugin_manager_stop_finish (HGD_PLUGIN_MANAGER (source), result, &error));
  g_assert_no_error (error);
  *done = TRUE;
}

static void
teardown (Fixture *fixture,
          gconstpointer user_data)
{
  if (fixture->manager != NULL)
    {
      gboolean done = FALSE;

      hgd_plugin_manager_stop_async (fixture->manager, NULL, stopped_cb, &done);
      while (!done)
        g_main_context_iteration (NULL, TRUE);
    }
  g_clear_object (&fixture->manager);
  g_clear_object (&fixture->alarms);
  g_clear_object (&fixture->secrets);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    g_clear_object (&fixture->journals[i]);
  g_clear_object (&fixture->config);
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
  g_autoptr(GError) error = NULL;

  g_assert_true (hgd_plugin_manager_start_finish (HGD_PLUGIN_MANAGER (source), result, &error));
  g_assert_no_error (error);
  *done = TRUE;
}

/* Loads a configuration with short watchdog and backoff times plus @plugin_groups, and
 * starts the plugin manager; returns when every instance is running or has failed. */
static void
start_plugins (Fixture *fixture,
               const gchar *plugin_groups)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *host = g_test_build_filename (G_TEST_BUILT, "..", "daemon", "host",
                                                  "hemgate-plugin-host", NULL);
  g_autofree gchar *data = g_strdup_printf ("[plugins]\n"
                                            "directory = %s\n"
                                            "host = %s\n"
                                            "watchdog-interval = 1\n"
                                            "watchdog-timeout = 1\n"
                                            "start-timeout = 3\n"
                                            "restart-max-delay = 2\n"
                                            "%s",
                                            fixture->plugin_dir, host, plugin_groups);
  gboolean done = FALSE;

  fixture->config = hgd_config_new ();
  hgd_config_set_demo (fixture->config, fixture->demo);
  hgd_config_load_data (fixture->config, data, "test.conf", &error);
  g_assert_no_error (error);
  fixture->manager = hgd_plugin_manager_new (fixture->config, fixture->journals, fixture->alarms,
                                             fixture->secrets);
  hgd_plugin_manager_start_async (fixture->manager, NULL, started_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

/* waiting */

typedef gboolean (*Condition) (Fixture *fixture,
                               gconstpointer data);

typedef struct
{
  Fixture *fixture;
  Condition condition;
  gconstpointer data;
} Waiting;

static gboolean
waiting_met (gpointer user_data)
{
  Waiting *waiting = user_data;

  return waiting->condition (waiting->fixture, waiting->data);
}

static void
wait_for (Fixture *fixture,
          Condition condition,
          gconstpointer data,
          const gchar *what)
{
  Waiting waiting = { fixture, condition, data };

  g_test_message ("waiting for %s", what);
  if (!hg_test_try_wait_for (waiting_met, &waiting, WAIT_SECONDS))
    g_test_message ("gave up waiting for %s", what);
  g_assert_true (condition (fixture, data));
}

/* reading state back */

/* Returns: (transfer container) (element-type HgEvent): events of @type (and @source, if
 * not %NULL) in @domain's journal, oldest first */
static GPtrArray *
find_events (Fixture *fixture,
             HgDomain domain,
             const gchar *type,
             const gchar *source)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) all = hgd_journal_query_events (fixture->journals[domain], 0, 100000, &error);
  GPtrArray *found = g_ptr_array_new_with_free_func (g_object_unref);

  g_assert_no_error (error);
  for (guint i = 0; i < all->len; i++)
    {
      HgEvent *event = g_ptr_array_index (all, i);
      if (g_strcmp0 (hg_event_get_event_type (event), type) == 0 &&
          (source == NULL || g_strcmp0 (hg_event_get_source (event), source) == 0))
        g_ptr_array_add (found, g_object_ref (event));
    }
  return found;
}

/* plugin.* events about @instance */
static GPtrArray *
find_plugin_events (Fixture *fixture,
                    HgDomain domain,
                    const gchar *type,
                    const gchar *instance)
{
  g_autoptr(GPtrArray) events = find_events (fixture, domain, type, "core");
  GPtrArray *found = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < events->len; i++)
    {
      HgEvent *event = g_ptr_array_index (events, i);
      if (g_strcmp0 (json_object_get_string_member_with_default (hg_event_get_body (event), "plugin", ""),
                     instance) == 0)
        g_ptr_array_add (found, g_object_ref (event));
    }
  return found;
}

/* Returns: (transfer full): the instance's entry of hgd_plugin_manager_to_json() */
static JsonObject *
instance_json (Fixture *fixture,
               const gchar *id)
{
  g_autoptr(JsonArray) array = hgd_plugin_manager_to_json (fixture->manager, NULL);

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *object = json_array_get_object_element (array, i);
      if (g_strcmp0 (json_object_get_string_member (object, "id"), id) == 0)
        return json_object_ref (object);
    }
  g_assert_not_reached ();
}

static gboolean
instance_is (Fixture *fixture,
             const gchar *id,
             const gchar *state)
{
  g_autoptr(JsonObject) object = instance_json (fixture, id);

  return g_strcmp0 (json_object_get_string_member (object, "state"), state) == 0;
}

static gint64
instance_restarts (Fixture *fixture,
                   const gchar *id)
{
  g_autoptr(JsonObject) object = instance_json (fixture, id);

  return json_object_get_int_member (object, "restarts");
}

/* conditions */

typedef struct
{
  HgDomain domain;
  const gchar *type;
  const gchar *source;
  guint count;
} EventCondition;

static gboolean
has_events (Fixture *fixture,
            gconstpointer data)
{
  const EventCondition *condition = data;
  g_autoptr(GPtrArray) events = find_events (fixture, condition->domain, condition->type, condition->source);

  return events->len >= condition->count;
}

static gboolean
has_plugin_events (Fixture *fixture,
                   gconstpointer data)
{
  const EventCondition *condition = data;
  g_autoptr(GPtrArray) events = find_plugin_events (fixture, condition->domain, condition->type, condition->source);

  return events->len >= condition->count;
}

typedef struct
{
  const gchar *id;
  const gchar *state;
  gint64 restarts;
} InstanceCondition;

static gboolean
instance_reached (Fixture *fixture,
                  gconstpointer data)
{
  const InstanceCondition *condition = data;

  return (condition->state == NULL || instance_is (fixture, condition->id, condition->state)) &&
         instance_restarts (fixture, condition->id) >= condition->restarts;
}

/* The largest "events-received" any of the example's heartbeats reported so far. */
static gint64
example_events_received (Fixture *fixture,
                         HgDomain domain)
{
  g_autoptr(GPtrArray) beats = find_events (fixture, domain, "sensor.heartbeat", "plugin:example");
  gint64 max = -1;

  for (guint i = 0; i < beats->len; i++)
    max = MAX (max, json_object_get_int_member (hg_event_get_body (g_ptr_array_index (beats, i)),
                                                "events-received"));
  return max;
}

static gboolean
example_received_one (Fixture *fixture,
                      gconstpointer data)
{
  return example_events_received (fixture, HG_DOMAIN_PERSONAL) >= 1;
}

static void
appended_cb (GObject *source,
             GAsyncResult *result,
             gpointer user_data)
{
  gboolean *done = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (hgd_journal_append_finish (HGD_JOURNAL (source), result, &error));
  g_assert_no_error (error);
  *done = TRUE;
}

static void
append_reading (Fixture *fixture,
                HgDomain domain)
{
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(HgEvent) event = NULL;
  gboolean done = FALSE;

  json_object_set_double_member (body, "temperature", 21.5);
  event = hg_event_new ("sensor.reading", body);
  hg_event_set_source (event, "user:test");
  hgd_journal_append_async (fixture->journals[domain], event, NULL, NULL, appended_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

/* the cases */

static void
test_start_and_publish (Fixture *fixture,
                        gconstpointer user_data)
{
  EventCondition beats = { HG_DOMAIN_PERSONAL, "sensor.heartbeat", "plugin:example", 3 };
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GPtrArray) municipal = NULL;
  JsonArray *capabilities;
  gint64 pid;

  g_test_summary ("The example plugin runs in its own host process; its events land in its "
                  "own domain's journal with source plugin:example, and it receives the "
                  "sensor events of its domain only");
  start_plugins (fixture, "[plugin:example]\ndomain = personal\ninterval = 1\n");
  g_assert_true (instance_is (fixture, "example", "running"));

  object = instance_json (fixture, "example");
  pid = json_object_get_int_member (object, "pid");
  g_assert_cmpint (pid, >, 0);
  g_assert_cmpint (pid, !=, getpid ());
  g_assert_cmpstr (json_object_get_string_member (object, "domain"), ==, "personal");
  g_assert_cmpstr (json_object_get_string_member (object, "name"), ==, "Example plugin");
  capabilities = json_object_get_array_member (object, "capabilities");
  g_assert_cmpuint (json_array_get_length (capabilities), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (capabilities, 0), ==, HG_CAPABILITY_SENSOR_PUBLISH);

  /* One reading in each domain: the plugin may see only the personal one. */
  append_reading (fixture, HG_DOMAIN_MUNICIPAL);
  append_reading (fixture, HG_DOMAIN_PERSONAL);
  wait_for (fixture, example_received_one, NULL, "the example to count a personal reading");
  wait_for (fixture, has_events, &beats, "three heartbeats");

  events = find_events (fixture, HG_DOMAIN_PERSONAL, "sensor.heartbeat", "plugin:example");
  g_assert_cmpint (hg_event_get_domain (g_ptr_array_index (events, 0)), ==, HG_DOMAIN_PERSONAL);
  g_assert_cmpuint (hg_event_get_seq (g_ptr_array_index (events, 0)), >, 0);
  g_assert_cmpint (example_events_received (fixture, HG_DOMAIN_PERSONAL), ==, 1);
  municipal = find_events (fixture, HG_DOMAIN_MUNICIPAL, "sensor.heartbeat", NULL);
  g_assert_cmpuint (municipal->len, ==, 0);

  /* Stopping ends the host. */
  {
    gboolean done = FALSE;
    hgd_plugin_manager_stop_async (fixture->manager, NULL, stopped_cb, &done);
    while (!done)
      g_main_context_iteration (NULL, TRUE);
  }
  g_assert_true (instance_is (fixture, "example", "stopped"));
  g_assert_cmpint (kill ((pid_t) pid, 0), ==, -1);
  g_assert_cmpint (errno, ==, ESRCH);
}

static void
test_crash_on_start (Fixture *fixture,
                     gconstpointer user_data)
{
  InstanceCondition restarted = { "crash", NULL, 3 };
  EventCondition beats = { HG_DOMAIN_MUNICIPAL, "sensor.heartbeat", "plugin:example", 2 };
  EventCondition crash_events = { HG_DOMAIN_MUNICIPAL, "plugin.crashed", "crash", 3 };
  EventCondition restart_events = { HG_DOMAIN_MUNICIPAL, "plugin.restarted", "crash", 3 };
  g_autoptr(GPtrArray) crashed = NULL;
  g_autoptr(GPtrArray) restarts = NULL;
  g_autoptr(JsonObject) object = NULL;
  gboolean healthy = TRUE;
  g_autoptr(JsonArray) array = NULL;

  g_test_summary ("A host that crashes in start is restarted after 1 s, 2 s, then the "
                  "2 s cap; each crash and restart is an event; another plugin keeps running");
  start_plugins (fixture,
                 "[plugin:crash]\nplugin = crash-on-start\n"
                 "[plugin:example]\ndomain = municipal\ninterval = 1\n");
  wait_for (fixture, instance_reached, &restarted, "three restarts of crash");
  wait_for (fixture, has_plugin_events, &crash_events, "three plugin.crashed events");
  wait_for (fixture, has_plugin_events, &restart_events, "three plugin.restarted events");
  wait_for (fixture, has_events, &beats, "heartbeats of the example");

  crashed = find_plugin_events (fixture, HG_DOMAIN_MUNICIPAL, "plugin.crashed", "crash");
  g_assert_cmpuint (crashed->len, >=, 3);
  g_assert_nonnull (strstr (json_object_get_string_member (hg_event_get_body (g_ptr_array_index (crashed, 0)), "how"),
                            "signal 6"));
  restarts = find_plugin_events (fixture, HG_DOMAIN_MUNICIPAL, "plugin.restarted", "crash");
  g_assert_cmpuint (restarts->len, >=, 3);
  g_assert_cmpint (json_object_get_int_member (hg_event_get_body (g_ptr_array_index (restarts, 0)), "delay"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (hg_event_get_body (g_ptr_array_index (restarts, 1)), "delay"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (hg_event_get_body (g_ptr_array_index (restarts, 2)), "delay"), ==, 2);

  g_assert_true (instance_is (fixture, "example", "running"));
  g_assert_cmpint (instance_restarts (fixture, "example"), ==, 0);
  object = instance_json (fixture, "crash");
  g_assert_nonnull (strstr (json_object_get_string_member (object, "error"), "signal 6"));
  array = hgd_plugin_manager_to_json (fixture->manager, &healthy);
  g_assert_false (healthy);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    g_assert_null (hgd_journal_get_fault (fixture->journals[i]));
}

static void
test_hang_watchdog (Fixture *fixture,
                    gconstpointer user_data)
{
  EventCondition hung = { HG_DOMAIN_MUNICIPAL, "plugin.hung", "hang", 1 };
  InstanceCondition restarted = { "hang", NULL, 1 };
  g_autoptr(GPtrArray) events = NULL;

  g_test_summary ("A host whose plugin blocks the main loop misses its watchdog, is killed "
                  "and restarted; plugin.hung is journaled");
  start_plugins (fixture, "[plugin:hang]\n");
  wait_for (fixture, has_plugin_events, &hung, "plugin.hung");
  wait_for (fixture, instance_reached, &restarted, "a restart of hang");

  events = find_plugin_events (fixture, HG_DOMAIN_MUNICIPAL, "plugin.hung", "hang");
  g_assert_cmpstr (json_object_get_string_member (hg_event_get_body (g_ptr_array_index (events, 0)), "reason"),
                   ==, "watchdog");
  g_clear_pointer (&events, g_ptr_array_unref);
  /* Killed on purpose: that is not also reported as a crash. */
  events = find_plugin_events (fixture, HG_DOMAIN_MUNICIPAL, "plugin.crashed", "hang");
  g_assert_cmpuint (events->len, ==, 0);
}

static void
test_hang_in_start (Fixture *fixture,
                    gconstpointer user_data)
{
  EventCondition hung = { HG_DOMAIN_MUNICIPAL, "plugin.hung", "hang", 1 };
  g_autoptr(GPtrArray) events = NULL;

  g_test_summary ("A host that never answers Start is killed after start-timeout");
  start_plugins (fixture, "[plugin:hang]\nhang-in = start\n");
  wait_for (fixture, has_plugin_events, &hung, "plugin.hung");

  events = find_plugin_events (fixture, HG_DOMAIN_MUNICIPAL, "plugin.hung", "hang");
  g_assert_cmpstr (json_object_get_string_member (hg_event_get_body (g_ptr_array_index (events, 0)), "reason"),
                   ==, "start-timeout");
}

typedef struct
{
  const gchar *instance;
  const gchar *message;
} FailedCase;

static void
test_bad_manifest (Fixture *fixture,
                   gconstpointer user_data)
{
  const FailedCase cases[] = {
    { "bad-json", "malformed JSON" },
    { "unknown-key", "unknown member 'autostart'" },
    { "unknown-capability", "unknown capability 'root.shell'" },
    { "personal-delivery", "capability 'alarm.deliver' may not be granted in the personal domain" },
    { "wrong-api-version", "api_version '2' is not supported" },
    { "wrong-domain", "domain personal: plugin courier may not be installed there" },
    { "typo-in-deny", "deny: unknown capability 'secret'" },
    { "not-installed", "No such file" },
    { "bad-config", "configuration rejected: hang-in: 'sideways' is not" },
  };
  gboolean healthy = TRUE;
  g_autoptr(JsonArray) array = NULL;

  g_test_summary ("An instance whose manifest is malformed, has an unknown key or capability, "
                  "asks for a capability in a domain the grant table does not allow it in, "
                  "or another plugin API, whose configuration the manifest does not allow, "
                  "or whose plugin rejects its keys, fails with the reason and is not "
                  "restarted; the daemon and other plugins carry on");
  start_plugins (fixture,
                 "[plugin:bad-json]\n"
                 "[plugin:unknown-key]\n"
                 "[plugin:unknown-capability]\n"
                 "[plugin:personal-delivery]\ndomain = municipal\n"
                 "[plugin:wrong-api-version]\n"
                 "[plugin:wrong-domain]\nplugin = courier\ndomain = personal\n"
                 "[plugin:typo-in-deny]\nplugin = example\ndomain = personal\ndeny = secret\n"
                 "[plugin:not-installed]\nplugin = nowhere\n"
                 "[plugin:bad-config]\nplugin = hang\nhang-in = sideways\n"
                 "[plugin:example]\ndomain = municipal\n");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonObject) object = instance_json (fixture, cases[i].instance);
      const gchar *error = json_object_get_string_member (object, "error");

      g_test_message ("%s: %s", cases[i].instance, error);
      g_assert_cmpstr (json_object_get_string_member (object, "state"), ==, "failed");
      g_assert_nonnull (strstr (error, cases[i].message));
      g_assert_true (json_object_get_null_member (object, "pid"));
    }
  g_assert_true (instance_is (fixture, "example", "running"));
  array = hgd_plugin_manager_to_json (fixture->manager, &healthy);
  g_assert_false (healthy);
}

static gboolean
probe_found (GPtrArray *probes,
             const gchar *call,
             const gchar *capability)
{
  for (guint i = 0; i < probes->len; i++)
    {
      JsonObject *body = hg_event_get_body (g_ptr_array_index (probes, i));
      const gchar *message = json_object_get_string_member (body, "message");

      if (g_strcmp0 (json_object_get_string_member (body, "call"), call) != 0)
        continue;
      g_test_message ("%s: %s", call, message);
      return g_strcmp0 (json_object_get_string_member (body, "error"), "org.hemgate.Error.PermissionDenied") == 0 &&
             (capability == NULL || strstr (message, capability) != NULL);
    }
  return FALSE;
}

static gboolean
denial_found (GPtrArray *denials,
              const gchar *method,
              const gchar *capability)
{
  for (guint i = 0; i < denials->len; i++)
    {
      JsonObject *body = hg_event_get_body (g_ptr_array_index (denials, i));

      if (g_strcmp0 (json_object_get_string_member (body, "method"), method) != 0)
        continue;
      if (capability == NULL)
        return json_object_get_null_member (body, "capability");
      return g_strcmp0 (json_object_get_string_member (body, "capability"), capability) == 0;
    }
  return FALSE;
}

/* The probe of @call, which must be there */
static JsonObject *
probe_body (GPtrArray *probes,
            const gchar *call)
{
  for (guint i = 0; i < probes->len; i++)
    {
      JsonObject *body = hg_event_get_body (g_ptr_array_index (probes, i));

      if (g_strcmp0 (json_object_get_string_member (body, "call"), call) == 0)
        return body;
    }
  g_assert_not_reached ();
}

/* Runs the greedy plugin until it has reported all its probes; returns them */
static GPtrArray *
run_greedy (Fixture *fixture)
{
  EventCondition probes_done = { HG_DOMAIN_PERSONAL, "sensor.probe", "plugin:greedy", 7 };

  start_plugins (fixture, "[plugin:greedy]\n");
  wait_for (fixture, has_events, &probes_done, "seven probes of greedy");
  return find_events (fixture, HG_DOMAIN_PERSONAL, "sensor.probe", "plugin:greedy");
}

static void
test_ungranted_denied (Fixture *fixture,
                       gconstpointer user_data)
{
  g_autoptr(GPtrArray) probes = NULL;
  g_autoptr(GPtrArray) denials = NULL;
  g_autoptr(GPtrArray) alarms = NULL;
  g_autoptr(GPtrArray) alarm_events = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A plugin granted only sensor.publish is told PermissionDenied, naming the "
                  "capability, when it raises an alarm, publishes alarm.* events or reads a "
                  "secret; each denied call is one plugin.denied event in its domain (two "
                  "alarm.* events published at once are one PublishEvents call), and no "
                  "alarm exists");
  probes = run_greedy (fixture);
  g_assert_cmpuint (probes->len, ==, 7);
  g_assert_true (probe_found (probes, "RaiseAlarm", HG_CAPABILITY_ALARM_RAISE));
  g_assert_true (probe_found (probes, "PublishEvent", "alarm.raised"));
  g_assert_true (probe_found (probes, "LookupSecret", HG_CAPABILITY_SECRETS));

  denials = find_plugin_events (fixture, HG_DOMAIN_PERSONAL, "plugin.denied", "greedy");
  g_assert_cmpuint (denials->len, ==, 3);
  g_assert_true (denial_found (denials, "RaiseAlarm", HG_CAPABILITY_ALARM_RAISE));
  g_assert_true (denial_found (denials, "PublishEvents", NULL));
  g_assert_true (denial_found (denials, "LookupSecret", HG_CAPABILITY_SECRETS));

  alarm_events = find_events (fixture, HG_DOMAIN_PERSONAL, "alarm.raised", "plugin:greedy");
  g_assert_cmpuint (alarm_events->len, ==, 0);
  alarms = hgd_journal_list_alarms (fixture->journals[HG_DOMAIN_MUNICIPAL], FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (alarms->len, ==, 0);
  g_assert_true (instance_is (fixture, "greedy", "running"));
}

static void
test_batch_bad_body (Fixture *fixture,
                     gconstpointer user_data)
{
  g_autoptr(GPtrArray) probes = NULL;
  g_autoptr(GPtrArray) events = NULL;
  JsonObject *bad;
  const gchar *message;
  HgEvent *first, *second;

  g_test_summary ("Of three events a plugin publishes at once, one PublishEvents call, the "
                  "one whose body is not JSON (a NaN reading) fails alone with InvalidData; "
                  "the other two are journaled in order, as the plugin's, and told so");
  probes = run_greedy (fixture);
  g_assert_true (json_object_get_null_member (probe_body (probes, "batch-1"), "error"));
  g_assert_true (json_object_get_null_member (probe_body (probes, "batch-3"), "error"));
  bad = probe_body (probes, "batch-2");
  message = json_object_get_string_member (bad, "message");
  g_test_message ("batch-2: %s", message);
  g_assert_cmpstr (json_object_get_string_member (bad, "error"), ==,
                   "org.hemgate.Error.InvalidData");
  g_assert_true (g_str_has_prefix (message, "body: malformed JSON"));

  events = find_events (fixture, HG_DOMAIN_PERSONAL, "sensor.batch", "plugin:greedy");
  g_assert_cmpuint (events->len, ==, 2);
  first = g_ptr_array_index (events, 0);
  second = g_ptr_array_index (events, 1);
  g_assert_cmpint (json_object_get_int_member (hg_event_get_body (first), "n"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (hg_event_get_body (second), "n"), ==, 3);
  g_assert_cmpuint (hg_event_get_seq (first), <, hg_event_get_seq (second));
}

static void
test_deny_config (Fixture *fixture,
                  gconstpointer user_data)
{
  EventCondition denied = { HG_DOMAIN_PERSONAL, "plugin.denied", "example", 1 };
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(GPtrArray) denials = NULL;
  g_autoptr(GPtrArray) beats = NULL;
  JsonArray *capabilities;

  g_test_summary ("`deny = sensor.publish` withholds a capability the manifest asks for: "
                  "the grant lacks it and the plugin's heartbeat is denied");
  start_plugins (fixture, "[plugin:example]\ndomain = personal\ninterval = 1\ndeny = sensor.publish\n");
  wait_for (fixture, has_plugin_events, &denied, "a denied heartbeat");

  object = instance_json (fixture, "example");
  capabilities = json_object_get_array_member (object, "capabilities");
  g_assert_cmpuint (json_array_get_length (capabilities), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (capabilities, 0), ==, HG_CAPABILITY_SENSOR_SUBSCRIBE);
  denials = find_plugin_events (fixture, HG_DOMAIN_PERSONAL, "plugin.denied", "example");
  g_assert_true (denial_found (denials, "PublishEvents", HG_CAPABILITY_SENSOR_PUBLISH));
  beats = find_events (fixture, HG_DOMAIN_PERSONAL, "sensor.heartbeat", NULL);
  g_assert_cmpuint (beats->len, ==, 0);
  g_assert_true (instance_is (fixture, "example", "running"));
}

static void
secret_stored_cb (GObject *source,
                  GAsyncResult *result,
                  gpointer user_data)
{
  gboolean *done = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (hgd_secrets_store_finish (HGD_SECRETS (source), result, &error));
  g_assert_no_error (error);
  *done = TRUE;
}

static void
store_secret (Fixture *fixture,
              HgDomain domain,
              const gchar *owner,
              const gchar *key,
              const gchar *value)
{
  gboolean done = FALSE;

  hgd_secrets_store_async (fixture->secrets, domain, owner, key, value, NULL, secret_stored_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

/* The body of @instance's "sensor.probe" for @call, or NULL */
static JsonObject *
find_probe (Fixture *fixture,
            const gchar *instance,
            const gchar *call)
{
  g_autofree gchar *source = g_strdup_printf ("plugin:%s", instance);
  g_autoptr(GPtrArray) probes = find_events (fixture, HG_DOMAIN_PERSONAL, "sensor.probe", source);

  for (guint i = 0; i < probes->len; i++)
    {
      JsonObject *body = hg_event_get_body (g_ptr_array_index (probes, i));
      if (g_strcmp0 (json_object_get_string_member (body, "call"), call) == 0)
        return json_object_ref (body);
    }
  return NULL;
}

static void
assert_probe (Fixture *fixture,
              const gchar *instance,
              const gchar *call,
              const gchar *error,
              gboolean matches)
{
  g_autoptr(JsonObject) body = find_probe (fixture, instance, call);

  g_assert_nonnull (body);
  if (error == NULL)
    g_assert_true (json_object_get_null_member (body, "error"));
  else
    g_assert_cmpstr (json_object_get_string_member (body, "error"), ==, error);
  g_assert_cmpint (json_object_get_boolean_member (body, "matches"), ==, matches);
}

static void
test_secrets_scoped (Fixture *fixture,
                     gconstpointer user_data)
{
  const gchar *instances[] = { "keeper-a", "keeper-b", "keeper-x" };

  g_test_summary ("Through the real Secret Service, a plugin with `secrets` reads and writes "
                  "only its own secrets in its own domain: not another instance's, not its "
                  "own name's in the other domain");
  store_secret (fixture, HG_DOMAIN_PERSONAL, "plugin:keeper-a", "token", "s3cret");
  store_secret (fixture, HG_DOMAIN_MUNICIPAL, "plugin:keeper-x", "token", "s3cret");
  start_plugins (fixture,
                 "[plugin:keeper-a]\nplugin = keeper\ndomain = personal\nexpect = s3cret\n"
                 "[plugin:keeper-b]\nplugin = keeper\ndomain = personal\nexpect = s3cret\n"
                 "[plugin:keeper-x]\nplugin = keeper\ndomain = personal\nexpect = s3cret\n");
  for (guint i = 0; i < G_N_ELEMENTS (instances); i++)
    {
      g_autofree gchar *source = g_strdup_printf ("plugin:%s", instances[i]);
      EventCondition probes = { HG_DOMAIN_PERSONAL, "sensor.probe", source, 2 };
      wait_for (fixture, has_events, &probes, "two probes");
    }

  assert_probe (fixture, "keeper-a", "LookupSecret", NULL, TRUE);
  assert_probe (fixture, "keeper-b", "LookupSecret", "org.hemgate.Error.NotFound", FALSE);
  assert_probe (fixture, "keeper-x", "LookupSecret", "org.hemgate.Error.NotFound", FALSE);
  for (guint i = 0; i < G_N_ELEMENTS (instances); i++)
    assert_probe (fixture, instances[i], "StoreSecret+LookupSecret", NULL, TRUE);
}

static void
assert_missing_secrets (Fixture *fixture,
                        const gchar *instance,
                        const gchar *expected)
{
  g_autoptr(JsonObject) object = instance_json (fixture, instance);
  JsonArray *missing = json_object_get_array_member (object, "missing_secrets");
  g_autoptr(GString) keys = g_string_new (NULL);

  g_assert_nonnull (missing);
  for (guint i = 0; i < json_array_get_length (missing); i++)
    g_string_append_printf (keys, "%s%s", i > 0 ? "," : "", json_array_get_string_element (missing, i));
  g_assert_cmpstr (keys->str, ==, expected);
}

static void
test_secrets_missing (Fixture *fixture,
                      gconstpointer user_data)
{
  const gchar *instances[] = { "keeper-found", "keeper-missing", "keeper-later" };

  g_test_summary ("A secret a plugin asks for and does not find is listed in its instance's "
                  "missing_secrets (what health names), and leaves the list once it is there");
  store_secret (fixture, HG_DOMAIN_PERSONAL, "plugin:keeper-found", "token", "s3cret");
  start_plugins (fixture,
                 "[plugin:keeper-found]\nplugin = keeper\ndomain = personal\nexpect = s3cret\n"
                 "[plugin:keeper-missing]\nplugin = keeper\ndomain = personal\n"
                 "[plugin:keeper-later]\nplugin = keeper\ndomain = personal\nlookup = note\n");
  for (guint i = 0; i < G_N_ELEMENTS (instances); i++)
    {
      g_autofree gchar *source = g_strdup_printf ("plugin:%s", instances[i]);
      EventCondition probes = { HG_DOMAIN_PERSONAL, "sensor.probe", source, 2 };
      wait_for (fixture, has_events, &probes, "two probes");
    }
  assert_probe (fixture, "keeper-later", "LookupSecret", "org.hemgate.Error.NotFound", FALSE);
  assert_probe (fixture, "keeper-later", "StoreSecret+LookupSecret", NULL, TRUE);
  assert_missing_secrets (fixture, "keeper-found", "");
  assert_missing_secrets (fixture, "keeper-missing", "token");
  /* it asked for "note" before storing it; stored, it is no longer missing */
  assert_missing_secrets (fixture, "keeper-later", "");
}

static void
test_demo_keys_refused (Fixture *fixture,
                        gconstpointer user_data)
{
  g_autoptr(JsonObject) object = NULL;

  g_test_summary ("An instance with a key for the demo alone (demo-password) is refused at "
                  "start outside hemgated --demo, with an error naming the key; in the demo it "
                  "runs");
  fixture->demo = GPOINTER_TO_INT (user_data);
  start_plugins (fixture,
                 "[plugin:keeper-demo]\nplugin = keeper\ndomain = municipal\n"
                 "demo-password = not-a-real-password\n");
  object = instance_json (fixture, "keeper-demo");
  if (fixture->demo)
    {
      g_assert_true (instance_is (fixture, "keeper-demo", "running"));
      return;
    }
  g_assert_cmpstr (json_object_get_string_member (object, "state"), ==, "failed");
  g_assert_cmpstr (json_object_get_string_member (object, "error"), ==,
                   "[plugin:keeper-demo] demo-password is for the demo only (hemgated --demo): "
                   "store the credential as a secret of the instance and remove the key");
  g_assert_null (strstr (json_object_get_string_member (object, "error"), "not-a-real-password"));
}

static void
raised_cb (GObject *source,
           GAsyncResult *result,
           gpointer user_data)
{
  gchar **ref = user_data;
  g_autoptr(GError) error = NULL;

  *ref = hgd_alarms_raise_finish (HGD_ALARMS (source), result, &error);
  g_assert_no_error (error);
}

static gchar *
raise_alarm (Fixture *fixture,
             const gchar *type)
{
  g_autoptr(HgAlarm) alarm = hg_alarm_new (type);
  gchar *ref = NULL;

  hg_alarm_set_location (alarm, "bedroom");
  hgd_alarms_raise_async (fixture->alarms, alarm, "user:test", NULL, raised_cb, &ref);
  while (ref == NULL)
    g_main_context_iteration (NULL, TRUE);
  return ref;
}

static gboolean
alarm_delivered (Fixture *fixture,
                 gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HgAlarm) alarm = hgd_journal_get_alarm (fixture->journals[HG_DOMAIN_MUNICIPAL], data, &error);

  g_assert_no_error (error);
  return hg_alarm_get_state (alarm) == HG_ALARM_STATE_DELIVERED;
}

static void
test_open_alarms_after_restart (Fixture *fixture,
                                gconstpointer user_data)
{
  InstanceCondition restarting = { "courier", "restarting", 0 };
  InstanceCondition running_again = { "courier", "running", 1 };
  EventCondition crash_event = { HG_DOMAIN_MUNICIPAL, "plugin.crashed", "courier", 1 };
  g_autofree gchar *before_start = NULL;
  g_autofree gchar *while_down = NULL;
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(GPtrArray) crashed = NULL;
  g_autoptr(HgAlarm) alarm = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A delivery plugin gets every open alarm when its host starts: one raised "
                  "before the gateway started, and one raised while its host was down after "
                  "a crash; it reports both delivered");
  before_start = raise_alarm (fixture, "fall");
  start_plugins (fixture, "[plugin:courier]\n");
  wait_for (fixture, alarm_delivered, before_start, "the first alarm delivered");

  object = instance_json (fixture, "courier");
  g_assert_cmpint (kill ((pid_t) json_object_get_int_member (object, "pid"), SIGKILL), ==, 0);
  wait_for (fixture, instance_reached, &restarting, "the courier host to be down");
  while_down = raise_alarm (fixture, "assistance");
  wait_for (fixture, instance_reached, &running_again, "the courier host to run again");
  wait_for (fixture, alarm_delivered, while_down, "the second alarm delivered");
  wait_for (fixture, has_plugin_events, &crash_event, "plugin.crashed");

  crashed = find_plugin_events (fixture, HG_DOMAIN_MUNICIPAL, "plugin.crashed", "courier");
  g_assert_cmpuint (crashed->len, ==, 1);
  g_assert_nonnull (strstr (json_object_get_string_member (hg_event_get_body (g_ptr_array_index (crashed, 0)), "how"),
                            "signal 9"));
  /* The first alarm was replayed too, and left alone: it was no longer raised. */
  alarm = hgd_journal_get_alarm (fixture->journals[HG_DOMAIN_MUNICIPAL], before_start, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hg_alarm_get_state (alarm), ==, HG_ALARM_STATE_DELIVERED);
}

/* The courier's health report lists @data among the cancels it got. */
static gboolean
courier_got_cancel (Fixture *fixture,
                    gconstpointer data)
{
  g_autoptr(JsonObject) object = instance_json (fixture, "courier");
  JsonNode *health = json_object_get_member (object, "health");
  JsonArray *cancelled;

  if (health == NULL || JSON_NODE_HOLDS_NULL (health))
    return FALSE;
  cancelled = json_object_get_array_member (
      json_object_get_object_member (json_node_get_object (health), "report"), "cancelled");
  for (guint i = 0; i < json_array_get_length (cancelled); i++)
    {
      if (g_strcmp0 (json_array_get_string_element (cancelled, i), data) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
transitioned_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (hgd_alarms_transition_finish (HGD_ALARMS (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

static gboolean
is_set (Fixture *fixture,
        gconstpointer data)
{
  return *(const gboolean *) data;
}

static void
test_cancel_while_host_down (Fixture *fixture,
                             gconstpointer user_data)
{
  InstanceCondition restarting = { "courier", "restarting", 0 };
  InstanceCondition running_again = { "courier", "running", 1 };
  g_autofree gchar *ref = NULL;
  g_autoptr(JsonObject) object = NULL;
  gboolean cancelled = FALSE;

  g_test_bug ("cancel lost when no host runs");
  g_test_summary ("An alarm the resident cancels while the delivery plugin's host is down "
                  "(killed after it delivered the alarm) is no longer open, yet the plugin "
                  "gets its alarm.cancelled when the host runs again");
  start_plugins (fixture, "[plugin:courier]\n");
  ref = raise_alarm (fixture, "fall");
  wait_for (fixture, alarm_delivered, ref, "the alarm delivered");

  object = instance_json (fixture, "courier");
  g_assert_cmpint (kill ((pid_t) json_object_get_int_member (object, "pid"), SIGKILL), ==, 0);
  wait_for (fixture, instance_reached, &restarting, "the courier host to be down");
  hgd_alarms_transition_async (fixture->alarms, ref, HG_ALARM_STATE_CANCELLED,
                               HGD_ALARM_CALLER_RESIDENT, "user:resident",
                               NULL, NULL, transitioned_cb, &cancelled);
  wait_for (fixture, is_set, &cancelled, "the cancel journaled");
  wait_for (fixture, instance_reached, &running_again, "the courier host to run again");
  wait_for (fixture, courier_got_cancel, ref, "the cancel to reach the restarted plugin");
}

static void
test_cancel_before_core_crash (Fixture *fixture,
                               gconstpointer user_data)
{
  g_autofree gchar *ref = NULL;
  g_autoptr(JsonObject) object = NULL;
  gboolean cancelled = FALSE;
  pid_t pid;

  g_test_summary ("An alarm cancelled while the delivery plugin's host is stopped, so that the "
                  "host never takes the cancel, and then the core and the host die: the plugin "
                  "gets the alarm.cancelled when the core starts again (the delivery cursor is "
                  "on disk, not only in memory)");
  start_plugins (fixture, "[plugin:courier]\n");
  ref = raise_alarm (fixture, "fall");
  wait_for (fixture, alarm_delivered, ref, "the alarm delivered");

  object = instance_json (fixture, "courier");
  pid = (pid_t) json_object_get_int_member (object, "pid");
  g_assert_cmpint (kill (pid, SIGSTOP), ==, 0);
  hgd_alarms_transition_async (fixture->alarms, ref, HG_ALARM_STATE_CANCELLED,
                               HGD_ALARM_CALLER_RESIDENT, "user:resident",
                               NULL, NULL, transitioned_cb, &cancelled);
  wait_for (fixture, is_set, &cancelled, "the cancel journaled");

  /* the crash: the host and the core's plugin manager go without a word */
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  g_clear_object (&fixture->manager);
  g_clear_object (&fixture->config);

  start_plugins (fixture, "[plugin:courier]\n");
  wait_for (fixture, courier_got_cancel, ref, "the cancel to reach the plugin after the restart");
}

/* Returns: (transfer full) (nullable): the references of the alarm.raised events the
 * courier got, in the order it got them */
static JsonArray *
courier_raised (Fixture *fixture)
{
  g_autoptr(JsonObject) object = instance_json (fixture, "courier");
  JsonNode *health = json_object_get_member (object, "health");
  JsonObject *report;

  if (health == NULL || JSON_NODE_HOLDS_NULL (health))
    return NULL;
  report = json_object_get_object_member (json_node_get_object (health), "report");
  if (!json_object_has_member (report, "raised"))
    return NULL;
  return json_array_ref (json_object_get_array_member (report, "raised"));
}

static gboolean
courier_got_raised (Fixture *fixture,
                    gconstpointer data)
{
  g_autoptr(JsonArray) raised = courier_raised (fixture);

  return raised != NULL && json_array_get_length (raised) >= GPOINTER_TO_UINT (data);
}

/* The highest seq of the alarm.raised events in the municipal journal. */
static guint64
last_raised_seq (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events
      = hgd_journal_query_events (fixture->journals[HG_DOMAIN_MUNICIPAL], 0, 100000, &error);
  guint64 seq = 0;

  g_assert_no_error (error);
  for (guint i = 0; i < events->len; i++)
    {
      HgEvent *event = g_ptr_array_index (events, i);

      if (g_str_equal (hg_event_get_event_type (event), "alarm.raised"))
        seq = MAX (seq, hg_event_get_seq (event));
    }
  return seq;
}

static void
test_cursor_saved_when_instance_goes (Fixture *fixture,
                                      gconstpointer user_data)
{
  const guint n_alarms = 5;
  g_autofree gchar *path = NULL;
  g_autofree gchar *contents = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A delivery plugin's cursor is written at most every 250 ms while alarms "
                  "come in a burst; what waits for its turn is written when the instance "
                  "goes, so the cursor on disk is the last alarm the host took");
  start_plugins (fixture, "[plugin:courier]\n");
  for (guint i = 0; i < n_alarms; i++)
    g_free (raise_alarm (fixture, "fall"));
  /* the courier reports its health after it answered HandleEvent, on the same connection */
  wait_for (fixture, courier_got_raised, GUINT_TO_POINTER (n_alarms), "the courier to take every alarm");

  /* the instance goes with the manager, without a stop */
  g_clear_object (&fixture->manager);
  path = g_build_filename (fixture->state_dir, "municipal", "delivery-courier.cursor", NULL);
  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_ascii_strtoull (contents, NULL, 10), ==, last_raised_seq (fixture));
}

static gint
find_string (JsonArray *array,
             const gchar *value)
{
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      if (g_strcmp0 (json_array_get_string_element (array, i), value) == 0)
        return (gint) i;
    }
  return -1;
}

static void
test_new_alarm_before_reoffers (Fixture *fixture,
                                gconstpointer user_data)
{
  const guint n_open = 60;
  const guint n_acknowledged = 5;
  const guint n_reoffered = n_open - n_acknowledged;
  InstanceCondition running = { "courier", "running", 0 };
  g_autoptr(GPtrArray) open = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonArray) raised = NULL;
  g_autofree gchar *new_ref = NULL;
  gint position;

  g_test_bug ("issue 11, point 4: a core restart delays new alarms behind every old one");
  g_test_summary ("When a delivery plugin's host starts with many open alarms journaled, a new "
                  "alarm is offered to it before the remaining open alarms are offered again, "
                  "and the alarms the alarm centre acknowledged are not offered again at all");
  for (guint i = 0; i < n_open; i++)
    g_ptr_array_add (open, raise_alarm (fixture, "fall"));
  for (guint i = 0; i < n_acknowledged; i++)
    {
      gboolean acknowledged = FALSE;

      hgd_alarms_transition_async (fixture->alarms, g_ptr_array_index (open, i),
                                   HG_ALARM_STATE_ACKNOWLEDGED, HGD_ALARM_CALLER_DELIVERY_PLUGIN,
                                   "plugin:courier", NULL, NULL,
                                   transitioned_cb, &acknowledged);
      wait_for (fixture, is_set, &acknowledged, "an acknowledgement journaled");
    }

  /* the courier takes 50 ms over each event: the re-offers take a while */
  start_plugins (fixture, "[plugin:courier]\ndelay-ms = 50\n");
  wait_for (fixture, instance_reached, &running, "the courier running");
  new_ref = raise_alarm (fixture, "fall");
  wait_for (fixture, courier_got_raised, GUINT_TO_POINTER (n_reoffered + 1),
            "the new alarm and every open one not acknowledged at the courier");

  raised = courier_raised (fixture);
  g_assert_nonnull (raised);
  position = find_string (raised, new_ref);
  g_test_message ("the new alarm came %d of %u", position + 1, json_array_get_length (raised));
  g_assert_cmpint (position, >=, 0);
  /* before the re-offers that had not gone out yet: at least one came after it */
  g_assert_cmpint (position, <, (gint) n_reoffered);
  for (guint i = 0; i < n_open; i++)
    {
      const gchar *ref = g_ptr_array_index (open, i);

      if (i < n_acknowledged)
        g_assert_cmpint (find_string (raised, ref), ==, -1);
      else
        g_assert_cmpint (find_string (raised, ref), >=, 0);
    }
  g_assert_cmpuint (json_array_get_length (raised), ==, n_reoffered + 1);
}

/* Returns: (transfer full) (nullable): the courier's "log" */
static JsonArray *
courier_log (Fixture *fixture)
{
  g_autoptr(JsonObject) object = instance_json (fixture, "courier");
  JsonNode *health = json_object_get_member (object, "health");
  JsonObject *report;

  if (health == NULL || JSON_NODE_HOLDS_NULL (health))
    return NULL;
  report = json_object_get_object_member (json_node_get_object (health), "report");
  if (!json_object_has_member (report, "log"))
    return NULL;
  return json_array_ref (json_object_get_array_member (report, "log"));
}

typedef struct
{
  const gchar *last; /* the last alarm offered again */
  const gchar *cancelled;
} ReofferDone;

static gboolean
courier_got_last_and_cancel (Fixture *fixture,
                             gconstpointer data)
{
  const ReofferDone *done = data;
  g_autoptr(JsonArray) log = courier_log (fixture);
  g_autofree gchar *last = g_strdup_printf ("alarm.raised %s", done->last);
  g_autofree gchar *cancel = g_strdup_printf ("alarm.cancelled %s", done->cancelled);

  return log != NULL && find_string (log, last) >= 0 && find_string (log, cancel) >= 0;
}

static void
test_reoffer_not_after_cancel (Fixture *fixture,
                               gconstpointer user_data)
{
  const guint n_open = 60;
  InstanceCondition running = { "courier", "running", 0 };
  g_autoptr(GPtrArray) open = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonArray) log = NULL;
  g_autofree gchar *raised_line = NULL;
  g_autofree gchar *cancel_line = NULL;
  gboolean cancelled = FALSE;
  ReofferDone done = { NULL, NULL };
  const gchar *middle;
  gint cancel_at;

  g_test_summary ("An open alarm cancelled while it waits to be offered again to a delivery "
                  "plugin whose host started is not offered again after its cancel: the "
                  "plugin never sees it raised once it saw it cancelled");
  for (guint i = 0; i < n_open; i++)
    g_ptr_array_add (open, raise_alarm (fixture, "fall"));
  middle = g_ptr_array_index (open, n_open / 2);

  start_plugins (fixture, "[plugin:courier]\ndelay-ms = 50\n");
  wait_for (fixture, instance_reached, &running, "the courier running");
  hgd_alarms_transition_async (fixture->alarms, middle, HG_ALARM_STATE_CANCELLED,
                               HGD_ALARM_CALLER_RESIDENT, "user:resident",
                               NULL, NULL, transitioned_cb, &cancelled);
  wait_for (fixture, is_set, &cancelled, "the cancel journaled");
  done.last = g_ptr_array_index (open, n_open - 1);
  done.cancelled = middle;
  wait_for (fixture, courier_got_last_and_cancel, &done,
            "the last open alarm offered again, and the cancel, at the courier");

  log = courier_log (fixture);
  raised_line = g_strdup_printf ("alarm.raised %s", middle);
  cancel_line = g_strdup_printf ("alarm.cancelled %s", middle);
  cancel_at = find_string (log, cancel_line);
  g_assert_cmpint (cancel_at, >=, 0);
  for (guint i = (guint) cancel_at + 1; i < json_array_get_length (log); i++)
    g_assert_cmpstr (json_array_get_string_element (log, i), !=, raised_line);
}

static gboolean
municipal_journal_full (Fixture *fixture,
                        gconstpointer data)
{
  return g_strcmp0 (hgd_journal_get_fault (fixture->journals[HG_DOMAIN_MUNICIPAL]), "disk-full") == 0;
}

static gboolean
municipal_journal_healthy (Fixture *fixture,
                           gconstpointer data)
{
  return hgd_journal_get_fault (fixture->journals[HG_DOMAIN_MUNICIPAL]) == NULL;
}

static void
test_report_retried_until_journaled (Fixture *fixture,
                                     gconstpointer user_data)
{
  HgdJournal *journal = fixture->journals[HG_DOMAIN_MUNICIPAL];
  g_autofree gchar *ref = NULL;

  g_test_bug ("issue 11, point 3: an acknowledgement is dropped when one journal write fails");
  g_test_summary ("A delivery plugin's report that the core cannot journal (its disk is full) is "
                  "kept by the plugin host and sent again until the core journals it: once the "
                  "disk has room, the alarm shows the state the plugin reported");
  ref = raise_alarm (fixture, "fall");
  /* the disk is full from now on: the courier's report, padded to need pages of its own,
   * is the only thing journaled in the municipal domain */
  hgd_journal_cap_size_for_test (journal, 0);
  start_plugins (fixture, "[plugin:courier]\ndetail-padding = 16384\n");
  wait_for (fixture, municipal_journal_full, NULL, "the courier's report refused for a full disk");
  g_assert_false (alarm_delivered (fixture, ref));

  hgd_journal_cap_size_for_test (journal, -1);
  wait_for (fixture, alarm_delivered, ref, "the report journaled once the disk has room");
  wait_for (fixture, municipal_journal_healthy, NULL, "the journal healthy again");
}

static gboolean
municipal_journal_failing (Fixture *fixture,
                           gconstpointer data)
{
  return g_strcmp0 (hgd_journal_get_fault (fixture->journals[HG_DOMAIN_MUNICIPAL]), "io-error") == 0;
}

static void
test_report_retried_after_fsync_failure (Fixture *fixture,
                                         gconstpointer user_data)
{
  g_autofree gchar *ref = NULL;

  g_test_bug ("issue 11, point 3: an acknowledgement is dropped when one journal write fails");
  g_test_summary ("A delivery plugin's report that the core cannot journal because fdatasync "
                  "fails is kept by the plugin host and sent again until the core journals "
                  "it: once the disk syncs again, the alarm shows the state the plugin reported");
  ref = raise_alarm (fixture, "fall");
  /* from now on nothing becomes durable: the courier's report is the only thing journaled
   * in the municipal domain */
  g_atomic_int_set (&fdatasync_fails, TRUE);
  start_plugins (fixture, "[plugin:courier]\n");
  wait_for (fixture, municipal_journal_failing, NULL, "the courier's report refused: fdatasync failed");
  g_assert_cmpint (g_atomic_int_get (&fdatasync_failed), >, 0);
  g_assert_false (alarm_delivered (fixture, ref));

  g_atomic_int_set (&fdatasync_fails, FALSE);
  wait_for (fixture, alarm_delivered, ref, "the report journaled once the disk syncs again");
  wait_for (fixture, municipal_journal_healthy, NULL, "the journal healthy again");
}

static gboolean
courier_reported (Fixture *fixture,
                  gconstpointer data)
{
  g_autoptr(JsonObject) object = instance_json (fixture, "courier");
  JsonNode *health = json_object_get_member (object, "health");

  return health != NULL && !JSON_NODE_HOLDS_NULL (health);
}

static void
test_host_timezone (Fixture *fixture,
                    gconstpointer user_data)
{
  g_autoptr(JsonObject) object = NULL;
  JsonObject *report;

  g_test_summary ("A plugin host runs in the gateway's configured time zone ([daemon] "
                  "timezone, passed as TZ), whatever the daemon's own environment says");
  g_assert_cmpstr (g_getenv ("TZ"), !=, "America/Sao_Paulo");
  start_plugins (fixture, "[daemon]\ntimezone = America/Sao_Paulo\n[plugin:courier]\n");
  wait_for (fixture, courier_reported, NULL, "the courier's health report");
  object = instance_json (fixture, "courier");
  report = json_object_get_object_member (json_object_get_object_member (object, "health"),
                                          "report");
  g_assert_cmpstr (json_object_get_string_member (report, "timezone"), ==, "America/Sao_Paulo");
}

static void
counted_append_cb (GObject *source,
                   GAsyncResult *result,
                   gpointer user_data)
{
  guint *pending = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (hgd_journal_append_finish (HGD_JOURNAL (source), result, &error));
  g_assert_no_error (error);
  (*pending)--;
}

static gboolean
courier_dropped_some (Fixture *fixture,
                      gconstpointer data)
{
  g_autoptr(JsonObject) object = instance_json (fixture, "courier");

  return json_object_get_int_member (object, "dropped") > 0;
}

static void
test_slow_host_drops (Fixture *fixture,
                      gconstpointer user_data)
{
  const guint n_readings = 1000;
  gchar *refs[3] = { NULL, };
  guint pending = n_readings;

  g_test_summary ("A host that falls behind loses sensor events, counted in \"dropped\", "
                  "but never an alarm, and keeps running");
  start_plugins (fixture, "[plugin:courier]\ndelay-ms = 10\n");

  for (guint i = 0; i < n_readings; i++)
    {
      g_autoptr(JsonObject) body = json_object_new ();
      g_autoptr(HgEvent) event = NULL;

      json_object_set_int_member (body, "n", i);
      event = hg_event_new ("sensor.reading", body);
      hg_event_set_source (event, "user:test");
      hgd_journal_append_async (fixture->journals[HG_DOMAIN_MUNICIPAL], event, NULL, NULL,
                                counted_append_cb, &pending);
    }
  while (pending > 0)
    g_main_context_iteration (NULL, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (refs); i++)
    refs[i] = raise_alarm (fixture, "assistance");

  wait_for (fixture, courier_dropped_some, NULL, "sensor events dropped");
  for (guint i = 0; i < G_N_ELEMENTS (refs); i++)
    wait_for (fixture, alarm_delivered, refs[i], "an alarm delivered behind the flood");
  g_assert_true (instance_is (fixture, "courier", "running"));
  g_assert_cmpint (instance_restarts (fixture, "courier"), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (refs); i++)
    g_free (refs[i]);
}

static void
test_restart_on_request (Fixture *fixture,
                         gconstpointer user_data)
{
  InstanceCondition restarted = { "example", "running", 1 };
  EventCondition restart_event = { HG_DOMAIN_MUNICIPAL, "plugin.restarted", "example", 1 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = NULL;

  g_test_summary ("hgd_plugin_manager_restart() replaces a running host at once, without "
                  "backoff, and names an unknown instance");
  start_plugins (fixture, "[plugin:example]\ndomain = municipal\n");
  g_assert_true (hgd_plugin_manager_restart (fixture->manager, "example", &error));
  g_assert_no_error (error);
  wait_for (fixture, instance_reached, &restarted, "example restarted");
  wait_for (fixture, has_plugin_events, &restart_event, "plugin.restarted");
  events = find_plugin_events (fixture, HG_DOMAIN_MUNICIPAL, "plugin.restarted", "example");
  g_assert_cmpuint (events->len, ==, 1);
  g_assert_cmpstr (json_object_get_string_member (hg_event_get_body (g_ptr_array_index (events, 0)), "reason"),
                   ==, "request");

  g_assert_false (hgd_plugin_manager_restart (fixture->manager, "nobody", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

static gboolean
courier_logged (Fixture *fixture,
                gconstpointer data)
{
  g_autoptr(JsonArray) log = courier_log (fixture);

  return log != NULL && find_string (log, data) >= 0;
}

static void
test_delivery_not_echoed (Fixture *fixture,
                          gconstpointer user_data)
{
  InstanceCondition running = { "courier", "running", 0 };
  g_autofree gchar *ref = NULL;
  g_autofree gchar *closed_line = NULL;
  g_autoptr(JsonArray) log = NULL;
  g_autoptr(GPtrArray) delivered = NULL;
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  gboolean dispatched = FALSE;
  gboolean closed = FALSE;

  g_test_bug ("issue 14: delivery plugins are echoed their own reports");
  g_test_summary ("A delivery plugin is sent the alarm events it acts on (raised, closed), not "
                  "the delivered it reported itself nor the steps staff report; the journal, "
                  "which every other subscriber reads, still has its report");
  start_plugins (fixture, "[plugin:courier]\n");
  wait_for (fixture, instance_reached, &running, "the courier running");
  ref = raise_alarm (fixture, "fall");
  wait_for (fixture, alarm_delivered, ref, "the courier's report journaled");
  hgd_alarms_transition_async (fixture->alarms, ref, HG_ALARM_STATE_DISPATCHED,
                               HGD_ALARM_CALLER_STAFF, "user:staff", NULL, NULL,
                               transitioned_cb, &dispatched);
  wait_for (fixture, is_set, &dispatched, "the dispatch journaled");
  hgd_alarms_transition_async (fixture->alarms, ref, HG_ALARM_STATE_CLOSED,
                               HGD_ALARM_CALLER_STAFF, "user:staff", NULL, NULL,
                               transitioned_cb, &closed);
  wait_for (fixture, is_set, &closed, "the close journaled");
  /* the host takes events in journal order: an echo would have come before the close */
  closed_line = g_strdup_printf ("alarm.closed %s", ref);
  wait_for (fixture, courier_logged, closed_line, "the close at the courier");

  log = courier_log (fixture);
  for (guint i = 0; i < json_array_get_length (log); i++)
    {
      g_test_message ("the courier got %s", json_array_get_string_element (log, i));
      g_ptr_array_add (lines, g_strdup (json_array_get_string_element (log, i)));
    }
  g_ptr_array_add (lines, NULL);
  g_assert_cmpuint (lines->len - 1, ==, 2);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (lines, 0), "alarm.raised "));
  g_assert_cmpstr (g_ptr_array_index (lines, 1), ==, closed_line);

  delivered = find_events (fixture, HG_DOMAIN_MUNICIPAL, "alarm.delivered", "plugin:courier");
  g_assert_cmpuint (delivered->len, ==, 1);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* Crashes, hangs and denials are logged as warnings by design; they are what these
   * cases provoke. Criticals stay fatal. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);

  g_test_add ("/plugins/host/start-and-publish", Fixture, NULL, setup, test_start_and_publish, teardown);
  g_test_add ("/plugins/host/crash-on-start-restarted-with-backoff", Fixture, NULL, setup,
              test_crash_on_start, teardown);
  g_test_add ("/plugins/host/hang-killed-by-watchdog", Fixture, NULL, setup, test_hang_watchdog, teardown);
  g_test_add ("/plugins/host/hang-in-start-killed-by-start-timeout", Fixture, NULL, setup,
              test_hang_in_start, teardown);
  g_test_add ("/plugins/manifest/bad-manifest-instance-failed", Fixture, NULL, setup, test_bad_manifest, teardown);
  g_test_add ("/plugins/grant/ungranted-capability-denied", Fixture, NULL, setup, test_ungranted_denied, teardown);
  g_test_add ("/plugins/grant/secrets-scoped-to-instance-and-domain", Fixture, NULL, setup,
              test_secrets_scoped, teardown);
  g_test_add ("/plugins/grant/secrets-missing-listed-until-there", Fixture, NULL, setup,
              test_secrets_missing, teardown);
  g_test_add ("/plugins/config/demo-key-refused-outside-demo", Fixture, GINT_TO_POINTER (FALSE),
              setup, test_demo_keys_refused, teardown);
  g_test_add ("/plugins/config/demo-key-allowed-in-demo", Fixture, GINT_TO_POINTER (TRUE), setup,
              test_demo_keys_refused, teardown);
  g_test_add ("/plugins/events/batch-with-bad-body-journals-the-others", Fixture, NULL, setup,
              test_batch_bad_body, teardown);
  g_test_add ("/plugins/grant/deny-config-withholds-capability", Fixture, NULL, setup, test_deny_config, teardown);
  g_test_add ("/plugins/alarm/delivery-plugin-receives-open-alarms-after-restart", Fixture, NULL, setup,
              test_open_alarms_after_restart, teardown);
  g_test_add ("/plugins/alarm/cancel-while-host-down-reaches-plugin-after-restart", Fixture, NULL,
              setup, test_cancel_while_host_down, teardown);
  g_test_add ("/plugins/alarm/cancel-before-core-crash-reaches-plugin-after-restart", Fixture,
              NULL, setup, test_cancel_before_core_crash, teardown);
  g_test_add ("/plugins/alarm/cursor-saved-when-instance-goes", Fixture, NULL, setup,
              test_cursor_saved_when_instance_goes, teardown);
  g_test_add ("/plugins/alarm/new-alarm-before-reoffered-open-alarms", Fixture, NULL, setup,
              test_new_alarm_before_reoffers, teardown);
  g_test_add ("/plugins/alarm/reoffer-not-after-cancel", Fixture, NULL, setup,
              test_reoffer_not_after_cancel, teardown);
  g_test_add ("/plugins/alarm/delivery-plugin-not-sent-its-own-reports", Fixture, NULL, setup,
              test_delivery_not_echoed, teardown);
  g_test_add ("/plugins/alarm/report-retried-until-journaled", Fixture, NULL, setup,
              test_report_retried_until_journaled, teardown);
  g_test_add ("/plugins/alarm/report-retried-after-fsync-failure", Fixture, NULL, setup,
              test_report_retried_after_fsync_failure, teardown);
  g_test_add ("/plugins/host/runs-in-configured-timezone", Fixture, NULL, setup,
              test_host_timezone, teardown);
  g_test_add ("/plugins/events/slow-host-drops-sensor-events-not-alarms", Fixture, NULL, setup,
              test_slow_host_drops, teardown);
  g_test_add ("/plugins/manager/restart-on-request", Fixture, NULL, setup, test_restart_on_request, teardown);
  return g_test_run ();
}
