/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Integration tests of hemgated as a whole: a corrupt journal at start, a bad
 * configuration, and the systemd life cycle of the real binary. */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "hgd-test-daemon.h"

static void
test_corrupt_journal (void)
{
  g_autofree gchar *state = g_build_filename (g_get_user_data_dir (), "corrupt-state", NULL);
  g_autofree gchar *personal = g_build_filename (state, "personal", NULL);
  g_autofree gchar *db = g_build_filename (personal, "journal.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdTestDaemon) td = NULL;
  g_autoptr(HgdTestResponse) health = NULL;
  g_autoptr(HgdTestResponse) raised = NULL;
  g_autoptr(HgdTestResponse) events = NULL;
  const GError *journal_error;
  JsonObject *subsystems;
  HgdTestDaemonOptions options = { 0 };

  g_test_summary ("A corrupt personal journal at start is a named health fault; the daemon "
                  "runs and the municipal domain still takes alarms");
  g_assert_cmpint (g_mkdir_with_parents (personal, 0700), ==, 0);
  g_assert_true (g_file_set_contents (db, "this is not an SQLite database, it is garbage", -1, &error));
  g_assert_no_error (error);

  options.state_dir = state;
  hg_test_log_expect_warning ("personal domain runs without its journal");
  td = hgd_test_daemon_new (&options);
  g_assert_cmpuint (hg_test_log_expected_warnings (), ==, 1);

  g_assert_null (hgd_daemon_get_journal (td->daemon, HG_DOMAIN_PERSONAL));
  g_assert_nonnull (hgd_daemon_get_journal (td->daemon, HG_DOMAIN_MUNICIPAL));
  journal_error = hgd_daemon_get_journal_error (td->daemon, HG_DOMAIN_PERSONAL);
  g_assert_nonnull (journal_error);
  g_assert_nonnull (strstr (journal_error->message, db));

  health = hgd_test_daemon_request (td, "GET", "/api/v1/health",
                                    hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN), NULL);
  g_assert_cmpuint (health->status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (health->json, "status"), ==, "degraded");
  subsystems = json_object_get_object_member (health->json, "subsystems");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (subsystems, "journal-personal"),
                                                  "status"), ==, "fault");
  g_assert_nonnull (strstr (json_object_get_string_member (json_object_get_object_member (subsystems, "journal-personal"),
                                                           "message"), db));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (subsystems, "journal-municipal"),
                                                  "status"), ==, "ok");

  raised = hgd_test_daemon_request (td, "POST", "/api/v1/alarms",
                                    hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT),
                                    "{\"type\":\"assistance\",\"location\":\"bedroom\"}");
  g_assert_cmpuint (raised->status, ==, 201);

  events = hgd_test_daemon_request (td, "GET", "/api/v1/events",
                                    hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT), NULL);
  g_assert_cmpuint (events->status, ==, 503);
  g_assert_cmpstr (hgd_test_response_error_code (events), ==, "journal-unavailable");
}


/* journal damage between two runs: each kind, in each domain */

typedef enum
{
  DAMAGE_ZERO_LENGTH,
  DAMAGE_TRUNCATED,
  DAMAGE_WAL_WITHOUT_DATABASE,
  DAMAGE_DATABASE_WITHOUT_WAL,
  DAMAGE_CURSOR_PAST_END,
} Damage;

typedef struct
{
  Damage damage;
  HgDomain domain;
  const gchar *what; /* a substring of the fault */
} DamageCase;

static gchar *
copy_file (const gchar *from,
           const gchar *to)
{
  g_autofree gchar *contents = NULL;
  gsize length = 0;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_get_contents (from, &contents, &length, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (to, contents, (gssize) length, &error));
  g_assert_no_error (error);
  return g_strdup (to);
}

static goffset
file_size (const gchar *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_size;
}

/* Runs a daemon on @state that journals @n_events in @domain (and an alarm in the municipal
 * one), then damages the journal as @damage says while or after it runs. */
static void
write_then_damage (const gchar *state,
                   HgDomain domain,
                   Damage damage,
                   guint n_events)
{
  g_autofree gchar *dir = g_build_filename (state, hg_domain_to_string (domain), NULL);
  g_autofree gchar *db = g_build_filename (dir, "journal.db", NULL);
  g_autofree gchar *wal = g_strconcat (db, "-wal", NULL);
  g_autofree gchar *saved = g_build_filename (state, "saved-copy", NULL);
  g_autoptr(HgdTestDaemon) td = NULL;
  HgdTestDaemonOptions options = { 0 };
  int fd;

  options.state_dir = state;
  td = hgd_test_daemon_new (&options);
  for (guint i = 0; i < n_events; i++)
    hgd_test_daemon_append_event (td, domain, "sensor.reading");
  if (domain == HG_DOMAIN_MUNICIPAL)
    {
      g_autoptr(HgdTestResponse) raised = NULL;

      raised = hgd_test_daemon_request (td, "POST", "/api/v1/alarms",
                                        hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT),
                                        "{\"type\":\"assistance\",\"location\":\"bedroom\"}");
      g_assert_cmpuint (raised->status, ==, 201);
    }
  /* a running journal's files, as a kill -9 would leave them */
  if (damage == DAMAGE_WAL_WITHOUT_DATABASE)
    g_free (copy_file (wal, saved));
  else if (damage == DAMAGE_DATABASE_WITHOUT_WAL)
    g_free (copy_file (db, saved));
  /* the run is over when its journal is closed (hgd_test_daemon_free () checks): the last
   * connection's close has checkpointed the WAL into the database and removed it */
  g_clear_pointer (&td, hgd_test_daemon_free);
  g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));

  switch (damage)
    {
    case DAMAGE_ZERO_LENGTH:
      fd = g_open (db, O_WRONLY | O_TRUNC, 0);
      g_assert_cmpint (fd, >=, 0);
      g_assert_cmpint (close (fd), ==, 0);
      break;
    case DAMAGE_TRUNCATED:
      g_assert_cmpint (file_size (db), >, 8 * 4096);
      g_assert_cmpint (truncate (db, file_size (db) / 2), ==, 0);
      break;
    case DAMAGE_WAL_WITHOUT_DATABASE:
      g_assert_cmpint (g_unlink (db), ==, 0);
      g_assert_cmpint (g_rename (saved, wal), ==, 0);
      break;
    case DAMAGE_DATABASE_WITHOUT_WAL:
      g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));
      g_assert_cmpint (g_rename (saved, db), ==, 0);
      break;
    case DAMAGE_CURSOR_PAST_END:
      {
        g_autofree gchar *cursor = g_build_filename (dir, "delivery-scaip.cursor", NULL);
        g_assert_true (g_file_set_contents (cursor, "100000\n", -1, NULL));
      }
      break;
    default:
      g_assert_not_reached ();
    }
}

static JsonObject *
journal_subsystem (HgdTestResponse *health,
                   HgDomain domain)
{
  JsonObject *subsystems = json_object_get_object_member (health->json, "subsystems");
  g_autofree gchar *name = g_strdup_printf ("journal-%s", hg_domain_to_string (domain));

  return json_object_get_object_member (subsystems, name);
}

static void
test_journal_damage (gconstpointer data)
{
  const DamageCase *dc = data;
  HgDomain other = dc->domain == HG_DOMAIN_MUNICIPAL ? HG_DOMAIN_PERSONAL : HG_DOMAIN_MUNICIPAL;
  g_autofree gchar *state = g_build_filename (g_get_user_data_dir (), "damaged-state", NULL);
  g_autofree gchar *dir = g_build_filename (state, hg_domain_to_string (dc->domain), NULL);
  g_autofree gchar *db = g_build_filename (dir, "journal.db", NULL);
  g_autofree gchar *wal = g_strconcat (db, "-wal", NULL);
  g_autofree gchar *reset = g_strdup_printf ("hemgated --reset-journal %s", hg_domain_to_string (dc->domain));
  g_autoptr(HgdTestDaemon) td = NULL;
  g_autoptr(HgdTestResponse) health = NULL;
  HgdTestDaemonOptions options = { 0 };
  const GError *journal_error;
  const gchar *message;
  goffset db_size = -1;
  goffset wal_size = -1;

  g_test_summary ("A journal damaged between two runs (emptied, truncated, a WAL without its "
                  "database, a database whose WAL was lost after a kill, a delivery cursor "
                  "past its end) is a health fault naming the file and how to reset it; the "
                  "files are left as they were and nothing new is journaled in their place; "
                  "the other domain runs");

  write_then_damage (state, dc->domain, dc->damage, dc->damage == DAMAGE_TRUNCATED ? 400 : 3);
  if (g_file_test (db, G_FILE_TEST_EXISTS))
    db_size = file_size (db);
  if (g_file_test (wal, G_FILE_TEST_EXISTS))
    wal_size = file_size (wal);

  options.state_dir = state;
  hg_test_log_expect_warning ("runs without its journal");
  td = hgd_test_daemon_new (&options);
  g_assert_cmpuint (hg_test_log_expected_warnings (), ==, 1);

  g_assert_null (hgd_daemon_get_journal (td->daemon, dc->domain));
  g_assert_nonnull (hgd_daemon_get_journal (td->daemon, other));
  journal_error = hgd_daemon_get_journal_error (td->daemon, dc->domain);
  g_assert_nonnull (journal_error);
  g_test_message ("%s", journal_error->message);
  g_assert_nonnull (strstr (journal_error->message, db));
  g_assert_nonnull (strstr (journal_error->message, dc->what));
  g_assert_nonnull (strstr (journal_error->message, reset));

  health = hgd_test_daemon_request (td, "GET", "/api/v1/health",
                                    hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN), NULL);
  g_assert_cmpuint (health->status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (health->json, "status"), ==, "degraded");
  g_assert_cmpstr (json_object_get_string_member (journal_subsystem (health, dc->domain), "status"), ==, "fault");
  message = json_object_get_string_member (journal_subsystem (health, dc->domain), "message");
  g_assert_nonnull (strstr (message, db));
  g_assert_nonnull (strstr (message, dc->what));
  g_assert_cmpstr (json_object_get_string_member (journal_subsystem (health, other), "status"), ==, "ok");
  hgd_test_daemon_append_event (td, other, "sensor.reading");
  g_clear_pointer (&td, hgd_test_daemon_free);

  /* kept as it was for inspection: not recreated, not deleted, not written */
  g_assert_cmpint (g_file_test (db, G_FILE_TEST_EXISTS) ? file_size (db) : -1, ==, db_size);
  g_assert_cmpint (g_file_test (wal, G_FILE_TEST_EXISTS) ? file_size (wal) : -1, ==, wal_size);
}

static const DamageCase damage_cases[] = {
  { DAMAGE_ZERO_LENGTH, HG_DOMAIN_MUNICIPAL, "the file is empty (0 bytes)" },
  { DAMAGE_ZERO_LENGTH, HG_DOMAIN_PERSONAL, "the file is empty (0 bytes)" },
  { DAMAGE_TRUNCATED, HG_DOMAIN_MUNICIPAL, "integrity check failed" },
  { DAMAGE_TRUNCATED, HG_DOMAIN_PERSONAL, "integrity check failed" },
  { DAMAGE_WAL_WITHOUT_DATABASE, HG_DOMAIN_MUNICIPAL, "the database is missing but its write-ahead log" },
  { DAMAGE_WAL_WITHOUT_DATABASE, HG_DOMAIN_PERSONAL, "the database is missing but its write-ahead log" },
  { DAMAGE_DATABASE_WITHOUT_WAL, HG_DOMAIN_MUNICIPAL, "was not closed cleanly and its write-ahead log" },
  { DAMAGE_DATABASE_WITHOUT_WAL, HG_DOMAIN_PERSONAL, "was not closed cleanly and its write-ahead log" },
  { DAMAGE_CURSOR_PAST_END, HG_DOMAIN_MUNICIPAL, "delivery-scaip.cursor says 100000 was delivered" },
};

static gchar *
hemgated_path (void);

static void
test_journal_reset (void)
{
  g_autofree gchar *state = g_build_filename (g_get_user_data_dir (), "reset-state", NULL);
  g_autofree gchar *dir = g_build_filename (state, "municipal", NULL);
  g_autofree gchar *db = g_build_filename (dir, "journal.db", NULL);
  g_autofree gchar *cursor = g_build_filename (dir, "delivery-scaip.cursor", NULL);
  g_autofree gchar *daemon = hemgated_path ();
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  g_autofree gchar *aside = NULL;
  g_autofree gchar *aside_db = NULL;
  g_autofree gchar *aside_cursor = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdTestDaemon) td = NULL;
  HgdTestDaemonOptions options = { 0 };
  const gchar *argv[] = { daemon, "--state-dir", state, "--reset-journal", "municipal", NULL };
  gint status = 0;

  g_test_summary ("hemgated --reset-journal moves a damaged journal and its delivery cursors "
                  "aside, deleting nothing, and the next start begins a new journal");

  write_then_damage (state, HG_DOMAIN_MUNICIPAL, DAMAGE_ZERO_LENGTH, 1);
  g_assert_true (g_file_set_contents (cursor, "4\n", -1, NULL));

  g_assert_true (g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                               &status, &error));
  g_assert_no_error (error);
  g_test_message ("%s%s", out, err);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_false (g_file_test (db, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (cursor, G_FILE_TEST_EXISTS));
  aside = g_strstrip (g_strdup (strstr (out, dir)));
  g_assert_nonnull (strstr (aside, "journal-set-aside-"));
  *strchr (aside, ';') = '\0';
  aside_db = g_build_filename (aside, "journal.db", NULL);
  aside_cursor = g_build_filename (aside, "delivery-scaip.cursor", NULL);
  g_assert_cmpint (file_size (aside_db), ==, 0);
  g_assert_cmpint (file_size (aside_cursor), ==, 2);

  options.state_dir = state;
  td = hgd_test_daemon_new (&options);
  g_assert_nonnull (hgd_daemon_get_journal (td->daemon, HG_DOMAIN_MUNICIPAL));
  g_assert_cmpuint (hgd_test_daemon_append_event (td, HG_DOMAIN_MUNICIPAL, "sensor.reading"), ==, 1);

  /* a domain that does not exist: said so, and not a success */
  g_clear_pointer (&td, hgd_test_daemon_free);
  argv[4] = "nowhere";
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_true (g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                               &status, &error));
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (err, "nowhere"));
}

static gchar *
hemgated_path (void)
{
  return g_test_build_filename (G_TEST_BUILT, "..", "daemon", "core", "hemgated", NULL);
}

static void
test_bad_config_refused (void)
{
  g_autofree gchar *conf = g_build_filename (g_get_user_data_dir (), "bad.conf", NULL);
  g_autofree gchar *daemon = hemgated_path ();
  g_autofree gchar *err = NULL;
  g_autoptr(GError) error = NULL;
  gint status = 0;
  const gchar *argv[] = { daemon, "--config", conf, NULL };

  g_test_summary ("hemgated refuses to start on a bad file, naming the file, line and key");
  g_assert_cmpint (g_mkdir_with_parents (g_get_user_data_dir (), 0700), ==, 0);
  g_assert_true (g_file_set_contents (conf, "[api]\nport = 8443\nlisten-adress = 0.0.0.0\n", -1, &error));
  g_assert_true (g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                               &err, &status, &error));
  g_assert_no_error (error);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 1);
  g_assert_nonnull (strstr (err, "bad.conf:3: unknown key 'listen-adress' in [api]"));
}

static void
test_systemd_lifecycle (void)
{
  g_autofree gchar *dir = g_build_filename (g_get_user_runtime_dir (), "notify-test", NULL);
  g_autofree gchar *path = g_build_filename (dir, "notify", NULL);
  g_autofree gchar *conf = g_build_filename (dir, "hemgate.conf", NULL);
  g_autofree gchar *conf_text = NULL;
  g_autofree gchar *daemon = hemgated_path ();
  g_autoptr(HgTestNotify) notify = NULL;
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  gboolean exited = FALSE;

  g_test_summary ("The real hemgated says READY=1 once it serves, and on SIGTERM says "
                  "STOPPING=1 and exits 0");
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  conf_text = g_strdup_printf ("[daemon]\nstate-dir = %s/state\n[api]\nport = 0\n"
                               "listen-address = 127.0.0.1\ntls = false\n", dir);
  g_assert_true (g_file_set_contents (conf, conf_text, -1, &error));

  notify = hg_test_notify_new (path);

  g_subprocess_launcher_setenv (launcher, "NOTIFY_SOCKET", path, TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, daemon, "--config", conf, NULL);
  g_assert_no_error (error);
  hg_test_wait_until (&notify->ready, 30);
  g_assert_true (notify->ready);

  g_subprocess_send_signal (process, SIGTERM);
  g_subprocess_wait_async (process, NULL, hg_test_subprocess_exited_cb, &exited);
  hg_test_wait_until (&exited, 30);
  g_assert_true (exited);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);
  hg_test_wait_until (&notify->stopping, 5);
  g_assert_true (notify->stopping);
}

/* the real hemgated under libfaketime */

static void
set_clock_offset (const gchar *offset_file,
                  const gchar *offset)
{
  g_autofree gchar *line = g_strdup_printf ("%s\n", offset);
  g_autoptr(GError) error = NULL;

  g_test_message ("hemgated's wall clock steps to the real one %s s", offset);
  g_assert_true (g_file_set_contents (offset_file, line, -1, &error));
  g_assert_no_error (error);
}

/* Microseconds since the epoch of an ISO 8601 time (g_date_time_to_unix_usec () is 2.80) */
static gint64
iso_time (const gchar *text)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_iso8601 (text, NULL);

  g_assert_nonnull (time);
  return g_date_time_to_unix (time) * G_USEC_PER_SEC + g_date_time_get_microsecond (time);
}

static gint64
event_time (JsonObject *event)
{
  return iso_time (json_object_get_string_member (event, "ts"));
}

/* Returns: (transfer none): the first event of @type in @events whose body's "ref" is
 * @ref (any, if @ref is %NULL) */
static JsonObject *
find_event (JsonArray *events,
            const gchar *type,
            const gchar *ref)
{
  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *event = json_array_get_object_element (events, i);
      JsonObject *body = json_object_get_object_member (event, "body");

      if (g_strcmp0 (json_object_get_string_member (event, "type"), type) == 0 &&
          (ref == NULL || g_strcmp0 (json_object_get_string_member_with_default (body, "ref", NULL), ref) == 0))
        return event;
    }
  return NULL;
}

static gchar *
raise_alarm (HgdTestDaemon *td)
{
  g_autoptr(HgdTestResponse) raised = NULL;

  raised = hgd_test_daemon_request (td, "POST", "/api/v1/alarms",
                                    hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT),
                                    "{\"type\":\"assistance\",\"location\":\"bedroom\"}");
  g_assert_cmpuint (raised->status, ==, 201);
  return g_strdup (json_object_get_string_member (raised->json, "ref"));
}

static void
test_clock_step_journaled (void)
{
  const gchar *library = g_getenv ("HEMGATE_LIBFAKETIME");
  const gchar *asan = g_getenv ("ASAN_OPTIONS");
  g_autofree gchar *dir = g_build_filename (g_get_user_runtime_dir (), "clock-test", NULL);
  g_autofree gchar *state = g_build_filename (dir, "state", NULL);
  g_autofree gchar *notify_path = g_build_filename (dir, "notify", NULL);
  g_autofree gchar *conf = g_build_filename (dir, "hemgate.conf", NULL);
  g_autofree gchar *offset_file = g_build_filename (dir, "faketime-offset", NULL);
  g_autofree gchar *conf_text = NULL;
  g_autofree gchar *asan_options = NULL;
  g_autofree gchar *daemon = hemgated_path ();
  g_autofree gchar *before = NULL;
  g_autofree gchar *after = NULL;
  g_autoptr(HgTestNotify) notify = NULL;
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdTestDaemon) td = NULL;
  g_autoptr(HgdTestResponse) response = NULL;
  HgdTestDaemonOptions options = { 0 };
  JsonArray *events;
  JsonObject *raised_before, *raised_after, *stepped, *body;
  gboolean exited = FALSE;
  guint port;

  g_test_bug ("issue 11, point 9: timestamps go backwards across a clock step");
  g_test_summary ("When the wall clock of the real hemgated steps back an hour between two "
                  "alarms, the journal says so: a clock.stepped event from the old time to the "
                  "new one comes between them, and sequence numbers keep their order while the "
                  "times go backwards");
  if (library == NULL || !g_file_test (library, G_FILE_TEST_EXISTS))
    g_test_message ("libfaketime (%s) is missing: install Debian's faketime package "
                    "(./dev deps does)", library != NULL ? library : "HEMGATE_LIBFAKETIME not set");
  g_assert_nonnull (library);
  g_assert_true (g_file_test (library, G_FILE_TEST_EXISTS));

  /* the users, made by an in-process daemon on the same state directory */
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  options.state_dir = state;
  td = hgd_test_daemon_new (&options);
  g_clear_pointer (&td, hgd_test_daemon_free);

  port = hg_test_free_port ();
  conf_text = g_strdup_printf ("[daemon]\nstate-dir = %s\n[api]\nport = %u\n"
                               "listen-address = 127.0.0.1\ntls = false\n", state, port);
  g_assert_true (g_file_set_contents (conf, conf_text, -1, &error));
  set_clock_offset (offset_file, "+0");

  notify = hg_test_notify_new (notify_path);

  /* the wall clock is the real one plus the offset in the file, read at every call; the
   * monotonic clock is left alone. An AddressSanitizer build refuses a library preloaded
   * before its own. */
  asan_options = g_strdup_printf ("%s%sverify_asan_link_order=0", asan != NULL ? asan : "",
                                  asan != NULL && asan[0] != '\0' ? ":" : "");
  g_subprocess_launcher_setenv (launcher, "NOTIFY_SOCKET", notify_path, TRUE);
  g_subprocess_launcher_setenv (launcher, "LD_PRELOAD", library, TRUE);
  g_subprocess_launcher_setenv (launcher, "FAKETIME_TIMESTAMP_FILE", offset_file, TRUE);
  g_subprocess_launcher_setenv (launcher, "FAKETIME_NO_CACHE", "1", TRUE);
  g_subprocess_launcher_setenv (launcher, "FAKETIME_DONT_FAKE_MONOTONIC", "1", TRUE);
  g_subprocess_launcher_setenv (launcher, "ASAN_OPTIONS", asan_options, TRUE);
  g_subprocess_launcher_set_child_setup (launcher, hg_test_die_with_parent, NULL, NULL);
  process = g_subprocess_launcher_spawn (launcher, &error, daemon, "--config", conf, NULL);
  g_assert_no_error (error);
  hg_test_wait_until (&notify->ready, 60);

  td = g_new0 (HgdTestDaemon, 1);
  td->url = g_strdup_printf ("http://127.0.0.1:%u", port);
  td->session = soup_session_new_with_options ("timeout", 30, "proxy-resolver", NULL, NULL);
  before = raise_alarm (td);
  set_clock_offset (offset_file, "-3600");
  after = raise_alarm (td);

  response = hgd_test_daemon_request (td, "GET", "/api/v1/events?limit=1000",
                                      hgd_test_daemon_get_token (td, HGD_ROLE_STAFF), NULL);
  g_assert_cmpuint (response->status, ==, 200);
  events = json_object_get_array_member (response->json, "events");
  raised_before = find_event (events, "alarm.raised", before);
  raised_after = find_event (events, "alarm.raised", after);
  stepped = find_event (events, "clock.stepped", NULL);
  g_assert_nonnull (raised_before);
  g_assert_nonnull (raised_after);
  g_assert_nonnull (stepped);

  /* the order is the sequence numbers', and the step is in it, between the two */
  g_assert_cmpint (json_object_get_int_member (raised_before, "seq"), <,
                   json_object_get_int_member (stepped, "seq"));
  g_assert_cmpint (json_object_get_int_member (stepped, "seq"), <,
                   json_object_get_int_member (raised_after, "seq"));
  g_assert_cmpint (event_time (raised_after), <, event_time (raised_before));
  g_assert_cmpstr (json_object_get_string_member (stepped, "source"), ==, "core");
  body = json_object_get_object_member (stepped, "body");
  g_test_message ("clock.stepped from %s to %s (%.3f s)", json_object_get_string_member (body, "from"),
                  json_object_get_string_member (body, "to"), json_object_get_double_member (body, "step"));
  g_assert_cmpfloat (json_object_get_double_member (body, "step"), <, -3500.0);
  g_assert_cmpfloat (json_object_get_double_member (body, "step"), >, -3700.0);
  g_assert_cmpint (iso_time (json_object_get_string_member (body, "to")), <,
                   iso_time (json_object_get_string_member (body, "from")));
  g_assert_cmpint (iso_time (json_object_get_string_member (body, "from")), >=, event_time (raised_before));
  g_assert_cmpint (iso_time (json_object_get_string_member (body, "to")), <=, event_time (raised_after));
  /* one step, one event */
  g_assert_true (find_event (events, "clock.stepped", NULL) == stepped);
  for (guint i = 0, n = 0; i < json_array_get_length (events); i++)
    {
      if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (events, i), "type"),
                     "clock.stepped") == 0)
        g_assert_cmpuint (++n, ==, 1);
    }

  g_clear_pointer (&td, hgd_test_daemon_free);
  g_subprocess_send_signal (process, SIGTERM);
  g_subprocess_wait_async (process, NULL, hg_test_subprocess_exited_cb, &exited);
  hg_test_wait_until (&exited, 30);
}

/* limits */

/* The instance @id of the in-process daemon's manager, or NULL. */
static JsonObject *
find_instance (HgdTestDaemon *td,
               const gchar *id)
{
  g_autoptr(JsonArray) instances
      = hgd_plugin_manager_to_json (hgd_daemon_get_plugin_manager (td->daemon), NULL);

  for (guint i = 0; i < json_array_get_length (instances); i++)
    {
      JsonObject *instance = json_array_get_object_element (instances, i);
      if (g_strcmp0 (json_object_get_string_member (instance, "id"), id) == 0)
        return json_object_ref (instance);
    }
  return NULL;
}

typedef struct
{
  HgdTestDaemon *td;
  const gchar *id;
} InstanceRef;

static gboolean
instance_running (gpointer data)
{
  InstanceRef *ref = data;
  g_autoptr(JsonObject) instance = find_instance (ref->td, ref->id);

  return instance != NULL
         && g_strcmp0 (json_object_get_string_member (instance, "state"), "running") == 0;
}

static gboolean
personal_events_refused (gpointer data)
{
  HgdTestDaemon *td = data;
  HgdLimits *limits = hgd_plugin_manager_get_limits (hgd_daemon_get_plugin_manager (td->daemon));

  return hgd_limits_get_n_refused (limits, HG_DOMAIN_PERSONAL) > 0;
}

typedef struct
{
  HgdTestDaemon *td;
  const gchar *path;
} AlarmRef;

static gboolean
alarm_delivered (gpointer data)
{
  AlarmRef *ref = data;
  g_autoptr(HgdTestResponse) alarm = hgd_test_daemon_request (
      ref->td, "GET", ref->path, hgd_test_daemon_get_token (ref->td, HGD_ROLE_STAFF), NULL);

  return alarm->status == SOUP_STATUS_OK
         && g_strcmp0 (json_object_get_string_member (alarm->json, "state"), "delivered") == 0;
}

/* The nice value of process @pid, field 19 of /proc/<pid>/stat. */
static gint
process_nice (gint64 pid)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%" G_GINT64_FORMAT "/stat", pid);
  g_autofree gchar *stat = NULL;
  g_auto(GStrv) fields = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &stat, NULL, &error);
  g_assert_no_error (error);
  /* after the command's name, which may hold spaces: the state is field 3 */
  fields = g_strsplit (strrchr (stat, ')') + 2, " ", -1);
  return (gint) g_ascii_strtoll (fields[19 - 3], NULL, 10);
}

/* The host of @id runs under its domain's CPU share: the nice value of @weight, or the
 * domain's cgroup, whichever health says is in force. */
static void
assert_host_limited (HgdTestDaemon *td,
                     JsonObject *limits,
                     const gchar *id,
                     const gchar *domain,
                     guint weight)
{
  g_autoptr(JsonObject) instance = find_instance (td, id);
  JsonObject *cpu = json_object_get_object_member (json_object_get_object_member (limits, domain),
                                                   "cpu");
  gint64 pid = json_object_get_int_member (instance, "pid");

  g_assert_cmpint (pid, >, 0);
  if (g_strcmp0 (json_object_get_string_member (cpu, "mechanism"), "cgroup") == 0)
    {
      g_autofree gchar *path = g_strdup_printf ("/proc/%" G_GINT64_FORMAT "/cgroup", pid);
      g_autofree gchar *cgroups = NULL;
      g_autofree gchar *own = g_strdup_printf ("/%s\n", domain);

      g_assert_true (g_file_get_contents (path, &cgroups, NULL, NULL));
      g_assert_nonnull (strstr (cgroups, own));
    }
  else
    {
      g_assert_cmpstr (json_object_get_string_member (cpu, "mechanism"), ==, "nice");
      g_assert_cmpint (process_nice (pid), ==, hgd_limits_nice_for_weight (weight));
    }
}

static void
test_limits_personal_flood (void)
{
  const gchar *build_root = g_getenv ("HGD_TEST_BUILD_ROOT");
  g_autofree gchar *plugins = g_build_filename (build_root, "tests", "plugins", NULL);
  g_autofree gchar *host
      = g_build_filename (build_root, "daemon", "host", "hemgate-plugin-host", NULL);
  const gchar *overrides[] = {
    "plugins", "directory", plugins,
    "plugins", "host", host,
    "limits", "personal-event-rate", "1000",
    "limits", "personal-cpu-weight", "10",
    "limits", "municipal-cpu-weight", "100",
    "plugin:courier", "domain", "municipal",
    "plugin:flood", "domain", "personal",
    "plugin:flood", "rate", "20000",
    NULL,
  };
  HgdTestDaemonOptions options = { .overrides = overrides };
  g_autoptr(HgdTestDaemon) td = NULL;
  g_autoptr(HgdTestResponse) raised = NULL;
  g_autoptr(HgdTestResponse) health = NULL;
  g_autoptr(HgdTestResponse) resident_health = NULL;
  g_autofree gchar *path = NULL;
  InstanceRef courier = { NULL, "courier" };
  InstanceRef flood = { NULL, "flood" };
  AlarmRef alarm = { NULL, NULL };
  HgdLimits *limits;
  JsonObject *subsystem;
  JsonObject *limits_json;

  g_test_summary ("A personal plugin that publishes 20,000 events/s and spins a CPU is held "
                  "to its domain's event rate (the excess refused, health warns) and CPU share "
                  "(its host's nice value or cgroup); a municipal alarm raised meanwhile is "
                  "journaled and handed to the delivery plugin");
  g_assert_nonnull (build_root);
  hg_test_log_expect_warning ("events/s");
  td = hgd_test_daemon_new (&options);
  courier.td = flood.td = td;
  hg_test_wait_for (instance_running, &courier, 30);
  hg_test_wait_for (instance_running, &flood, 30);
  hg_test_wait_for (personal_events_refused, td, 30);

  raised = hgd_test_daemon_request (td, "POST", "/api/v1/alarms",
                                    hgd_test_daemon_get_token (td, HGD_ROLE_STAFF),
                                    "{\"type\":\"fall\",\"location\":\"hall\"}");
  g_assert_cmpuint (raised->status, ==, SOUP_STATUS_CREATED);
  path = g_strdup_printf ("/api/v1/alarms/%s", json_object_get_string_member (raised->json, "ref"));
  alarm.td = td;
  alarm.path = path;
  hg_test_wait_for (alarm_delivered, &alarm, 60);

  /* the flood goes on, and is still refused */
  limits = hgd_plugin_manager_get_limits (hgd_daemon_get_plugin_manager (td->daemon));
  g_assert_cmpuint (hgd_limits_get_n_refused (limits, HG_DOMAIN_PERSONAL), >, 0);
  g_assert_cmpuint (hgd_limits_get_n_refused (limits, HG_DOMAIN_MUNICIPAL), ==, 0);
  g_assert_cmpuint (hg_test_log_expected_warnings (), >=, 1);

  health = hgd_test_daemon_request (td, "GET", "/api/v1/health",
                                    hgd_test_daemon_get_token (td, HGD_ROLE_IT_ADMIN), NULL);
  g_assert_cmpuint (health->status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (health->json, "status"), ==, "warning");
  subsystem = json_object_get_object_member (
      json_object_get_object_member (health->json, "subsystems"), "limits");
  g_assert_cmpstr (json_object_get_string_member (subsystem, "status"), ==, "warning");
  g_assert_nonnull (strstr (json_object_get_string_member (subsystem, "message"),
                            "personal domain"));
  limits_json = json_object_get_object_member (health->json, "limits");
  g_assert_cmpint (json_object_get_int_member (
                       json_object_get_object_member (
                           json_object_get_object_member (limits_json, "personal"), "events"),
                       "rate"),
                   ==, 1000);
  assert_host_limited (td, limits_json, "flood", "personal", 10);
  assert_host_limited (td, limits_json, "courier", "municipal", 100);

  /* the resident learns that the limits bite, from the subsystem's state */
  resident_health = hgd_test_daemon_request (td, "GET", "/api/v1/health",
                                             hgd_test_daemon_get_token (td, HGD_ROLE_RESIDENT), NULL);
  subsystem = json_object_get_object_member (
      json_object_get_object_member (resident_health->json, "subsystems"), "limits");
  g_assert_cmpstr (json_object_get_string_member (subsystem, "status"), ==, "warning");
  g_clear_pointer (&td, hgd_test_daemon_free);
  hg_test_log_expect_warning (NULL);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_log_set_writer_func (hg_test_log_writer_cb, NULL, NULL);
  g_test_add_func ("/daemon/journal/corrupt-at-start-named-and-contained", test_corrupt_journal);
  for (guint i = 0; i < G_N_ELEMENTS (damage_cases); i++)
    {
      static const gchar *const names[] = { "zero-length", "truncated", "wal-without-database",
                                            "database-without-wal", "cursor-past-end" };
      g_autofree gchar *path = g_strdup_printf ("/daemon/journal/damage/%s/%s",
                                                names[damage_cases[i].damage],
                                                hg_domain_to_string (damage_cases[i].domain));
      g_test_add_data_func (path, &damage_cases[i], test_journal_damage);
    }
  g_test_add_func ("/daemon/journal/reset-sets-aside-and-starts-new", test_journal_reset);
  g_test_add_func ("/daemon/config/bad-file-refused-with-line", test_bad_config_refused);
  g_test_add_func ("/daemon/systemd/ready-then-stopping", test_systemd_lifecycle);
  g_test_add_func ("/daemon/clock/step-journaled-between-events", test_clock_step_journaled);
  g_test_add_func ("/daemon/limits/personal-flood-held-alarm-delivered", test_limits_personal_flood);
  return g_test_run ();
}
