/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of hgd-systemd: notifications and watchdog pings arrive on a fake $NOTIFY_SOCKET,
 * a datagram socket of our own in a temporary directory (as bolt's test-watchdog). */
#include "config.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "hgd-systemd.h"

/* Long enough for a loaded CI machine; the tests assert what arrives, not when. */
#define RECEIVE_TIMEOUT_SECONDS 30

typedef struct
{
  gchar *dir;      /* (owned) */
  gchar *path;     /* (owned) the socket's path, or the abstract name after '@' */
  GSocket *socket; /* (owned) where the "systemd" end listens */
  GMainLoop *loop; /* (owned) */
  gchar *received; /* (owned) (nullable) the first datagram */
  gboolean timed_out;
} Fixture;

static void
fixture_setup (Fixture *fixture,
               gconstpointer user_data)
{
  gboolean abstract = GPOINTER_TO_INT (user_data);
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("hemgate-notify-XXXXXX", &error);
  g_assert_no_error (error);
  if (abstract)
    {
      g_autofree gchar *name = g_path_get_basename (fixture->dir);
      fixture->path = g_strdup_printf ("@%s/notify", name);
      address = g_unix_socket_address_new_with_type (fixture->path + 1, -1,
                                                     G_UNIX_SOCKET_ADDRESS_ABSTRACT);
    }
  else
    {
      fixture->path = g_build_filename (fixture->dir, "notify", NULL);
      address = g_unix_socket_address_new (fixture->path);
    }
  fixture->socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM,
                                  G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  g_socket_bind (fixture->socket, address, FALSE, &error);
  g_assert_no_error (error);
  g_socket_set_blocking (fixture->socket, FALSE);
  fixture->loop = g_main_loop_new (NULL, FALSE);

  g_setenv ("NOTIFY_SOCKET", fixture->path, TRUE);
  g_unsetenv ("WATCHDOG_USEC");
  g_unsetenv ("WATCHDOG_PID");
}

static void
fixture_teardown (Fixture *fixture,
                  gconstpointer user_data)
{
  g_unsetenv ("NOTIFY_SOCKET");
  g_unsetenv ("WATCHDOG_USEC");
  g_unsetenv ("WATCHDOG_PID");
  g_socket_close (fixture->socket, NULL);
  g_clear_object (&fixture->socket);
  if (fixture->path[0] == '/')
    g_assert_cmpint (g_unlink (fixture->path), ==, 0);
  g_assert_cmpint (g_rmdir (fixture->dir), ==, 0);
  g_clear_pointer (&fixture->loop, g_main_loop_unref);
  g_free (fixture->received);
  g_free (fixture->path);
  g_free (fixture->dir);
}

static gboolean
datagram_cb (GSocket *socket,
             GIOCondition condition,
             gpointer user_data)
{
  Fixture *fixture = user_data;
  g_autoptr(GError) error = NULL;
  gchar buffer[256];
  gssize len;

  len = g_socket_receive (socket, buffer, sizeof (buffer) - 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (len, >=, 0);
  buffer[len] = '\0';
  fixture->received = g_strdup (buffer);
  g_main_loop_quit (fixture->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
receive_timeout_cb (gpointer user_data)
{
  Fixture *fixture = user_data;

  fixture->timed_out = TRUE;
  g_main_loop_quit (fixture->loop);
  return G_SOURCE_REMOVE;
}

/* Runs the main loop until a datagram arrives (or a generous timeout passes). */
static void
receive_datagram (Fixture *fixture)
{
  g_autoptr(GSource) source = g_socket_create_source (fixture->socket, G_IO_IN, NULL);
  guint timeout_id;

  g_clear_pointer (&fixture->received, g_free);
  fixture->timed_out = FALSE;
  g_source_set_callback (source, G_SOURCE_FUNC (datagram_cb), fixture, NULL);
  g_source_attach (source, NULL);
  timeout_id = g_timeout_add_seconds (RECEIVE_TIMEOUT_SECONDS, receive_timeout_cb, fixture);
  g_main_loop_run (fixture->loop);
  g_source_destroy (source);
  if (!fixture->timed_out)
    g_source_remove (timeout_id);
  g_assert_false (fixture->timed_out);
  g_assert_nonnull (fixture->received);
}

static void
test_notify_ready (Fixture *fixture,
                   gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;

  g_test_summary ("hgd_systemd_notify() sends its state, verbatim, as one datagram to "
                  "$NOTIFY_SOCKET (a path or an abstract name)");
  g_assert_true (hgd_systemd_notify ("READY=1", &error));
  g_assert_no_error (error);
  receive_datagram (fixture);
  g_assert_cmpstr (fixture->received, ==, "READY=1");

  g_assert_true (hgd_systemd_notify ("READY=1\nSTATUS=running", &error));
  g_assert_no_error (error);
  receive_datagram (fixture);
  g_assert_cmpstr (fixture->received, ==, "READY=1\nSTATUS=running");
}

static void
test_watchdog_pings (Fixture *fixture,
                     gconstpointer user_data)
{
  g_autoptr(HgdWatchdog) watchdog = NULL;
  g_autofree gchar *pid = g_strdup_printf ("%d", (int) getpid ());

  g_test_summary ("With WATCHDOG_USEC and our WATCHDOG_PID set, HgdWatchdog sends WATCHDOG=1 "
                  "from the main loop at half the interval systemd asked for");
  g_setenv ("WATCHDOG_USEC", "200000", TRUE);
  g_setenv ("WATCHDOG_PID", pid, TRUE);
  watchdog = hgd_watchdog_new ();
  g_assert_cmpuint (hgd_watchdog_get_interval (watchdog), ==, 100000);

  receive_datagram (fixture);
  g_assert_cmpstr (fixture->received, ==, "WATCHDOG=1");
  /* and it keeps pinging */
  receive_datagram (fixture);
  g_assert_cmpstr (fixture->received, ==, "WATCHDOG=1");
}

static void
test_watchdog_other_pid (Fixture *fixture,
                         gconstpointer user_data)
{
  g_autoptr(HgdWatchdog) watchdog = NULL;
  g_autofree gchar *pid = g_strdup_printf ("%d", (int) getppid ());

  g_test_summary ("A watchdog meant for another process (WATCHDOG_PID) is not ours to ping");
  g_setenv ("WATCHDOG_USEC", "200000", TRUE);
  g_setenv ("WATCHDOG_PID", pid, TRUE);
  watchdog = hgd_watchdog_new ();
  g_assert_cmpuint (hgd_watchdog_get_interval (watchdog), ==, 0);
}

static void
test_watchdog_disabled (void)
{
  g_autoptr(HgdWatchdog) watchdog = NULL;

  g_test_summary ("Without WATCHDOG_USEC (or with a bad value) there is no watchdog");
  g_unsetenv ("WATCHDOG_USEC");
  watchdog = hgd_watchdog_new ();
  g_assert_cmpuint (hgd_watchdog_get_interval (watchdog), ==, 0);
  g_clear_object (&watchdog);

  g_setenv ("WATCHDOG_USEC", "soon", TRUE);
  watchdog = hgd_watchdog_new ();
  g_assert_cmpuint (hgd_watchdog_get_interval (watchdog), ==, 0);
  g_unsetenv ("WATCHDOG_USEC");
}

static void
test_notify_unset (void)
{
  g_autoptr(GError) error = NULL;

  g_test_summary ("Not under systemd (no $NOTIFY_SOCKET, or an empty one) notifying does "
                  "nothing and succeeds");
  g_unsetenv ("NOTIFY_SOCKET");
  g_assert_true (hgd_systemd_notify ("READY=1", &error));
  g_assert_no_error (error);
  g_setenv ("NOTIFY_SOCKET", "", TRUE);
  g_assert_true (hgd_systemd_notify ("READY=1", &error));
  g_assert_no_error (error);
  g_unsetenv ("NOTIFY_SOCKET");
}

static void
test_notify_relative (void)
{
  g_autoptr(GError) error = NULL;

  g_test_summary ("A relative $NOTIFY_SOCKET is neither a path nor an abstract name: an error");
  g_setenv ("NOTIFY_SOCKET", "run/notify", TRUE);
  g_assert_false (hgd_systemd_notify ("READY=1", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_unsetenv ("NOTIFY_SOCKET");
}

static void
test_notify_nobody_listening (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("hemgate-notify-XXXXXX", &error);
  g_autofree gchar *path = g_build_filename (dir, "gone", NULL);

  g_test_summary ("A $NOTIFY_SOCKET nobody listens on is an error naming the socket");
  g_assert_no_error (error);
  g_setenv ("NOTIFY_SOCKET", path, TRUE);
  g_assert_false (hgd_systemd_notify ("READY=1", &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, path));
  g_unsetenv ("NOTIFY_SOCKET");
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add ("/systemd/notify/ready", Fixture, GINT_TO_POINTER (FALSE),
              fixture_setup, test_notify_ready, fixture_teardown);
  g_test_add ("/systemd/notify/ready-abstract-socket", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_notify_ready, fixture_teardown);
  g_test_add ("/systemd/watchdog/pings-from-main-loop", Fixture, GINT_TO_POINTER (FALSE),
              fixture_setup, test_watchdog_pings, fixture_teardown);
  g_test_add ("/systemd/watchdog/ignores-other-pid", Fixture, GINT_TO_POINTER (FALSE),
              fixture_setup, test_watchdog_other_pid, fixture_teardown);
  g_test_add_func ("/systemd/watchdog/disabled-without-watchdog-usec", test_watchdog_disabled);
  g_test_add_func ("/systemd/notify/unset-is-a-no-op", test_notify_unset);
  g_test_add_func ("/systemd/notify/relative-socket-is-an-error", test_notify_relative);
  g_test_add_func ("/systemd/notify/nobody-listening-is-an-error", test_notify_nobody_listening);
  return g_test_run ();
}
