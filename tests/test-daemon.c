/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Integration tests of hemgated as a whole: a corrupt journal at start, a bad
 * configuration, and the systemd life cycle of the real binary. */
#include "config.h"

#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>

#include "hgd-test-daemon.h"

/* The one warning a test expects (a substring of it), swallowed and counted. */
static const gchar *expected_warning = NULL;
static guint n_expected_warnings = 0;

static GLogWriterOutput
log_writer_cb (GLogLevelFlags log_level,
               const GLogField *fields,
               gsize n_fields,
               gpointer user_data)
{
  for (gsize i = 0; expected_warning != NULL && i < n_fields; i++)
    {
      if (g_strcmp0 (fields[i].key, "MESSAGE") == 0 && (log_level & G_LOG_LEVEL_WARNING) &&
          strstr (fields[i].value, expected_warning) != NULL)
        {
          n_expected_warnings++;
          return G_LOG_WRITER_HANDLED;
        }
    }
  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

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
  expected_warning = "personal domain runs without its journal";
  td = hgd_test_daemon_new (&options);
  g_assert_cmpuint (n_expected_warnings, ==, 1);

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

static gchar *
hemgated_path (void)
{
  return g_test_build_filename (G_TEST_BUILT, "..", "daemon", "hemgated", NULL);
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

typedef struct
{
  GString *received;
  gboolean ready;
  gboolean stopping;
} NotifyState;

static gboolean
notify_readable_cb (GSocket *socket,
                    GIOCondition condition,
                    gpointer user_data)
{
  NotifyState *state = user_data;
  gchar buf[4096];
  gssize n = g_socket_receive (socket, buf, sizeof (buf) - 1, NULL, NULL);

  if (n > 0)
    {
      buf[n] = '\0';
      g_string_append_printf (state->received, "%s\n", buf);
      state->ready = state->ready || strstr (buf, "READY=1") != NULL;
      state->stopping = state->stopping || strstr (buf, "STOPPING=1") != NULL;
    }
  return G_SOURCE_CONTINUE;
}

static void
wait_cb (GObject *source,
         GAsyncResult *result,
         gpointer user_data)
{
  gboolean *done = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *done = TRUE;
}

static void
test_systemd_lifecycle (void)
{
  g_autofree gchar *dir = g_build_filename (g_get_user_runtime_dir (), "notify-test", NULL);
  g_autofree gchar *path = g_build_filename (dir, "notify", NULL);
  g_autofree gchar *conf = g_build_filename (dir, "hemgate.conf", NULL);
  g_autofree gchar *conf_text = NULL;
  g_autofree gchar *daemon = hemgated_path ();
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSource) source = NULL;
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  NotifyState state = { g_string_new (NULL), FALSE, FALSE };
  gboolean exited = FALSE;

  g_test_summary ("The real hemgated says READY=1 once it serves, and on SIGTERM says "
                  "STOPPING=1 and exits 0");
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  conf_text = g_strdup_printf ("[daemon]\nstate-dir = %s/state\n[api]\nport = 0\n"
                               "listen-address = 127.0.0.1\ntls = false\n", dir);
  g_assert_true (g_file_set_contents (conf, conf_text, -1, &error));

  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  address = g_unix_socket_address_new (path);
  g_assert_true (g_socket_bind (socket, address, TRUE, &error));
  source = g_socket_create_source (socket, G_IO_IN, NULL);
  g_source_set_callback (source, G_SOURCE_FUNC (notify_readable_cb), &state, NULL);
  g_source_attach (source, NULL);

  g_subprocess_launcher_setenv (launcher, "NOTIFY_SOCKET", path, TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, daemon, "--config", conf, NULL);
  g_assert_no_error (error);
  hgd_test_wait_until (&state.ready, 30);
  g_assert_true (state.ready);

  g_subprocess_send_signal (process, SIGTERM);
  g_subprocess_wait_async (process, NULL, wait_cb, &exited);
  hgd_test_wait_until (&exited, 30);
  g_assert_true (exited);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);
  hgd_test_wait_until (&state.stopping, 5);
  g_assert_true (state.stopping);
  g_source_destroy (source);
  g_string_free (state.received, TRUE);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_log_set_writer_func (log_writer_cb, NULL, NULL);
  g_test_add_func ("/daemon/journal/corrupt-at-start-named-and-contained", test_corrupt_journal);
  g_test_add_func ("/daemon/config/bad-file-refused-with-line", test_bad_config_refused);
  g_test_add_func ("/daemon/systemd/ready-then-stopping", test_systemd_lifecycle);
  return g_test_run ();
}
