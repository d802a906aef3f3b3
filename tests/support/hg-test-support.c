/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The test support library (hg-test-support.h). Every helper fails the test through
 * g_assert_*() where it cannot do what it says, so a caller needs no checks of its own. */
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "hg-test-support.h"

/* files */

/**
 * hg_test_rm_rf:
 * @path: a file or a directory
 *
 * Removes @path and, for a directory, everything in it. A symbolic link is removed,
 * never followed: a link into the build tree leaves the build tree as it is.
 */
void
hg_test_rm_rf (const gchar *path)
{
  g_autoptr(GDir) dir = NULL;
  const gchar *name;

  if (!g_file_test (path, G_FILE_TEST_IS_SYMLINK) && g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      dir = g_dir_open (path, 0, NULL);
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree gchar *child = g_build_filename (path, name, NULL);
          hg_test_rm_rf (child);
        }
    }
  g_remove (path);
}

/**
 * hg_test_plugin_dir_add:
 * @root: a plugin directory (`[plugins] directory`); made if missing
 * @built: where the build put the plugin, e.g. `<builddir>/plugins/example`
 * @grant: (nullable): a grant of the manifest to replace, e.g. `net.connect:127.0.0.1:1883`
 * @granted: (nullable): what replaces @grant
 *
 * Adds the plugin as a deployment has it: `<root>/<id>/`, a directory of its own, with
 * links to the built `manifest.json` and module (`*.so`). Never a link to the build
 * directory itself, which GLib's removal of a test's isolated directories would follow
 * and empty. With @grant, the manifest is a copy naming @granted instead, so that the
 * plugin may reach a service on a port of the test's.
 */
void
hg_test_plugin_dir_add (const gchar *root,
                        const gchar *built,
                        const gchar *grant,
                        const gchar *granted)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *id = g_path_get_basename (built);
  g_autofree gchar *dir = g_build_filename (root, id, NULL);
  g_autofree gchar *manifest = g_build_filename (built, "manifest.json", NULL);
  g_autoptr(GDir) files = NULL;
  const gchar *name;

  g_assert_true (g_file_test (manifest, G_FILE_TEST_IS_REGULAR));
  /* readable by the domain's user a sandboxed host runs as, like an installed plugin */
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
  files = g_dir_open (built, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (files)) != NULL)
    {
      g_autofree gchar *target = g_build_filename (built, name, NULL);
      g_autofree gchar *link = g_build_filename (dir, name, NULL);

      if ((strcmp (name, "manifest.json") != 0 || grant != NULL) && !g_str_has_suffix (name, ".so"))
        continue;
      if (!g_file_test (target, G_FILE_TEST_IS_REGULAR))
        continue;
      g_assert_cmpint (symlink (target, link), ==, 0);
    }
  if (grant != NULL)
    {
      g_autofree gchar *text = NULL;
      g_autofree gchar *rewritten = NULL;
      g_autofree gchar *copy = g_build_filename (dir, "manifest.json", NULL);
      g_auto(GStrv) parts = NULL;

      g_assert_nonnull (granted);
      g_assert_true (g_file_get_contents (manifest, &text, NULL, &error));
      g_assert_no_error (error);
      parts = g_strsplit (text, grant, -1);
      g_assert_cmpuint (g_strv_length (parts), ==, 2);
      rewritten = g_strjoinv (granted, parts);
      g_assert_true (g_file_set_contents (copy, rewritten, -1, &error));
      g_assert_no_error (error);
    }
}

/* the main context */

static gboolean
flag_cb (gpointer user_data)
{
  *(gboolean *)user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
tick_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/**
 * hg_test_try_wait_for:
 * @condition: checked every 50 ms at most, while the main context runs
 * @data: for @condition
 * @timeout_seconds: far above what it needs
 *
 * Iterates the main context until @condition holds or the time is up. The tick lets
 * @condition look at what changes outside this process too (a file, a child). How close
 * a wait came to its limit is in the test's log; no timing is asserted.
 *
 * Returns: whether @condition holds
 */
gboolean
hg_test_try_wait_for (HgTestCondition condition,
                      gpointer data,
                      guint timeout_seconds)
{
  gint64 start = g_get_monotonic_time ();
  gint64 deadline = start + timeout_seconds * G_USEC_PER_SEC;
  guint tick = g_timeout_add (50, tick_cb, NULL);
  gdouble seconds;

  while (!condition (data) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
  seconds = (gdouble)(g_get_monotonic_time () - start) / G_USEC_PER_SEC;
  if (seconds >= 1.0)
    g_test_message ("waited %.1f s of %u s", seconds, timeout_seconds);
  return condition (data);
}

/* As hg_test_try_wait_for (), failing the test when @condition does not hold in time. */
void
hg_test_wait_for (HgTestCondition condition,
                  gpointer data,
                  guint timeout_seconds)
{
  g_assert_true (hg_test_try_wait_for (condition, data, timeout_seconds));
}

/* An #HgTestCondition: whether the gboolean at @data is set. */
gboolean
hg_test_flag_is_set (gpointer data)
{
  return *(gboolean *)data;
}

/* Iterates the main context until *@condition, failing the test after the timeout. */
void
hg_test_wait_until (gboolean *condition,
                    guint timeout_seconds)
{
  hg_test_wait_for (hg_test_flag_is_set, condition, timeout_seconds);
}

/* Iterates the main context for @milliseconds. */
void
hg_test_run_for (guint milliseconds)
{
  gboolean done = FALSE;

  g_timeout_add (milliseconds, flag_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

/**
 * hg_test_async_result_cb:
 * @user_data: (out) (transfer full): a `GAsyncResult *` that is %NULL
 *
 * A #GAsyncReadyCallback that keeps the result, for hg_test_wait_for_result ().
 */
void
hg_test_async_result_cb (GObject *source,
                         GAsyncResult *result,
                         gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
  g_main_context_wakeup (NULL);
}

/**
 * hg_test_wait_for_result:
 * @result: where hg_test_async_result_cb () puts the result
 *
 * Iterates the main context until the call completes.
 *
 * Returns: (transfer none): *@result
 */
GAsyncResult *
hg_test_wait_for_result (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *result;
}

/* processes */

/**
 * hg_test_die_with_parent:
 *
 * A #GSpawnChildSetupFunc: a test that fails must not leave its children running.
 */
void
hg_test_die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* XDG_DATA_DIRS as it was before g_test_init () isolated the test's directories */
static gchar *system_data_dirs;

/**
 * hg_test_keep_system_data_dirs:
 *
 * Keeps the system's `XDG_DATA_DIRS` for hg_test_launcher_new (); call it before
 * g_test_init () with %G_TEST_OPTION_ISOLATE_DIRS, which points the variable into the
 * test's own directory.
 */
void
hg_test_keep_system_data_dirs (void)
{
  const gchar *dirs = g_getenv ("XDG_DATA_DIRS");

  g_free (system_data_dirs);
  system_data_dirs = g_strdup (dirs != NULL ? dirs : "/usr/local/share:/usr/share");
}

/**
 * hg_test_launcher_new:
 * @flags: as for g_subprocess_launcher_new ()
 *
 * A launcher for a program of the project under test (hemgated, hemgatectl): the C locale,
 * the system's data directories (hg_test_keep_system_data_dirs ()), GSettings in memory
 * (no dconf in the isolated directories), and killed with the test if it dies first (so a
 * failed assertion leaves no gateway behind).
 *
 * Returns: (transfer full): the launcher
 */
GSubprocessLauncher *
hg_test_launcher_new (GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  g_assert_nonnull (system_data_dirs);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C", TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_DIRS", system_data_dirs, TRUE);
  g_subprocess_launcher_setenv (launcher, "GSETTINGS_BACKEND", "memory", TRUE);
  g_subprocess_launcher_set_child_setup (launcher, hg_test_die_with_parent, NULL, NULL);
  return launcher;
}

/* A TCP port of 127.0.0.1 that was free a moment ago, for a service a test starts. */
guint16
hg_test_free_port (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, any, TRUE, &error));
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* The same for UDP. */
guint16
hg_test_free_udp_port (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, any, FALSE, &error));
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/**
 * hg_test_subprocess_exited_cb:
 * @user_data: (out): a gboolean, set when the process has exited
 *
 * For g_subprocess_wait_async (); wait with hg_test_flag_is_set ().
 */
void
hg_test_subprocess_exited_cb (GObject *source,
                              GAsyncResult *result,
                              gpointer user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *)user_data = TRUE;
}

/**
 * hg_test_terminate:
 * @process: a running program, e.g. hemgated
 * @timeout_seconds: how long it may take to exit
 * @must_succeed: assert that it exits with status 0
 *
 * Sends @process SIGTERM and waits, the main context running, until it has exited.
 */
void
hg_test_terminate (GSubprocess *process,
                   guint timeout_seconds,
                   gboolean must_succeed)
{
  gboolean exited = FALSE;

  g_subprocess_send_signal (process, SIGTERM);
  g_subprocess_wait_async (process, NULL, hg_test_subprocess_exited_cb, &exited);
  hg_test_wait_until (&exited, timeout_seconds);
  g_assert_true (exited);
  if (must_succeed)
    g_assert_true (g_subprocess_get_successful (process));
}

/**
 * hg_test_run_process:
 * @launcher: how to start it; its flags are set here to pipe all three streams
 * @argv: the command
 * @input: (nullable): what it reads on standard input
 * @out: (out) (optional): what it printed on standard output
 * @err: (out) (optional): what it printed on standard error
 *
 * Runs @argv to its end and logs the command, its exit status and its output with
 * g_test_message(); asserts that it exited (was not killed).
 *
 * Returns: its exit status
 */
gint
hg_test_run_process (GSubprocessLauncher *launcher,
                     const gchar *const *argv,
                     const gchar *input,
                     gchar **out,
                     gchar **err)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *stdout_text = NULL;
  g_autofree gchar *stderr_text = NULL;
  g_autofree gchar *command = g_strjoinv (" ", (gchar **) argv);

  g_subprocess_launcher_set_flags (launcher, G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                                 G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                 G_SUBPROCESS_FLAGS_STDERR_PIPE);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, input, NULL, &stdout_text, &stderr_text, &error);
  g_assert_no_error (error);
  g_test_message ("$ %s -> %d\n%s%s", command,
                  g_subprocess_get_if_exited (process) ? g_subprocess_get_exit_status (process)
                                                       : -1,
                  stdout_text, stderr_text);
  g_assert_true (g_subprocess_get_if_exited (process));
  if (out != NULL)
    *out = g_steal_pointer (&stdout_text);
  if (err != NULL)
    *err = g_steal_pointer (&stderr_text);
  return g_subprocess_get_exit_status (process);
}

/* One line of @stream (blocking), without its end; %NULL at the end of the stream. */
gchar *
hg_test_read_line (GDataInputStream *stream)
{
  g_autoptr(GError) error = NULL;
  gchar *line = g_data_input_stream_read_line_utf8 (stream, NULL, NULL, &error);

  g_assert_no_error (error);
  return line;
}

/**
 * hg_test_proc_stat:
 * @pid: a process
 * @ppid: (out) (optional): its parent
 * @cpu_ticks: (out) (optional): the CPU time it used so far (utime + stime), in clock ticks
 *
 * Reads /proc/@pid/stat.
 *
 * Returns: %FALSE once the process is gone
 */
gboolean
hg_test_proc_stat (gint pid,
                   gint *ppid,
                   guint64 *cpu_ticks)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree gchar *text = NULL;
  g_auto(GStrv) fields = NULL;
  const gchar *after_comm;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  /* pid (comm) state ppid ...: the command name may hold spaces and parentheses, so
   * count from its end */
  after_comm = strrchr (text, ')');
  if (after_comm == NULL)
    return FALSE;
  fields = g_strsplit (after_comm + 2, " ", -1);
  /* from the state (field 3): ppid is field 4, utime 14, stime 15 */
  if (g_strv_length (fields) < 13)
    return FALSE;
  if (ppid != NULL)
    *ppid = (gint)g_ascii_strtoll (fields[1], NULL, 10);
  if (cpu_ticks != NULL)
    *cpu_ticks = g_ascii_strtoull (fields[11], NULL, 10) + g_ascii_strtoull (fields[12], NULL, 10);
  return TRUE;
}

/* The resident memory of @pid (VmRSS of /proc/@pid/status); FALSE once it is gone. */
gboolean
hg_test_proc_rss_kib (gint pid,
                      guint64 *rss_kib)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree gchar *status = NULL;
  const gchar *line;

  if (!g_file_get_contents (path, &status, NULL, NULL))
    return FALSE;
  line = strstr (status, "\nVmRSS:");
  if (line == NULL)
    return FALSE;
  *rss_kib = g_ascii_strtoull (line + strlen ("\nVmRSS:"), NULL, 10);
  return TRUE;
}

/* How many descriptors @pid has open (/proc/@pid/fd); FALSE once it is gone. */
gboolean
hg_test_proc_count_fds (gint pid,
                        guint *n_fds)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%d/fd", pid);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);

  if (dir == NULL)
    return FALSE;
  *n_fds = 0;
  while (g_dir_read_name (dir) != NULL)
    (*n_fds)++;
  return TRUE;
}

/* a service manager's notification socket */

static gboolean
notify_readable_cb (GSocket *socket,
                    GIOCondition condition,
                    gpointer user_data)
{
  HgTestNotify *notify = user_data;
  gchar buf[4096];
  gssize n = g_socket_receive (socket, buf, sizeof (buf) - 1, NULL, NULL);

  if (n > 0)
    {
      buf[n] = '\0';
      g_string_append_printf (notify->received, "%s\n", buf);
      notify->ready = notify->ready || strstr (buf, "READY=1") != NULL;
      notify->stopping = notify->stopping || strstr (buf, "STOPPING=1") != NULL;
    }
  return G_SOURCE_CONTINUE;
}

/**
 * hg_test_notify_new:
 * @path: where to bind the socket; a service started with `NOTIFY_SOCKET=@path` reports
 *   to it as to systemd (sd_notify (3))
 *
 * Listens on the main context for what a service reports; READY=1 and STOPPING=1 set
 * the members of the same name.
 *
 * Returns: (transfer full): the listening socket
 */
HgTestNotify *
hg_test_notify_new (const gchar *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);
  HgTestNotify *notify = g_new0 (HgTestNotify, 1);

  notify->path = g_strdup (path);
  notify->received = g_string_new (NULL);
  notify->socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM,
                                 G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (notify->socket, address, TRUE, &error));
  g_assert_no_error (error);
  notify->source = g_socket_create_source (notify->socket, G_IO_IN, NULL);
  g_source_set_callback (notify->source, G_SOURCE_FUNC (notify_readable_cb), notify, NULL);
  g_source_attach (notify->source, NULL);
  return notify;
}

void
hg_test_notify_free (HgTestNotify *notify)
{
  g_source_destroy (notify->source);
  g_source_unref (notify->source);
  g_object_unref (notify->socket);
  g_string_free (notify->received, TRUE);
  g_free (notify->path);
  g_free (notify);
}

/* logs */

/* GLib 2.74's g_test_expect_message () does not see structured log messages, so the
 * warning a case expects is caught by hg_test_log_writer_cb (): counted, not fatal. */
static const gchar *expected_warning = NULL;
static guint expected_warnings = 0;

/**
 * hg_test_log_expect_warning:
 * @substring: (nullable): text of the warning a case expects; %NULL: none
 *
 * Warnings containing @substring are counted from now on instead of failing the test,
 * where hg_test_log_writer_cb () is the log writer.
 */
void
hg_test_log_expect_warning (const gchar *substring)
{
  expected_warning = substring;
  expected_warnings = 0;
}

/* How many of the expected warnings were logged since hg_test_log_expect_warning (). */
guint
hg_test_log_expected_warnings (void)
{
  return expected_warnings;
}

/* A #GLogWriterFunc: GLib's default writer, but for the warnings a case expects. */
GLogWriterOutput
hg_test_log_writer_cb (GLogLevelFlags log_level,
                       const GLogField *fields,
                       gsize n_fields,
                       gpointer user_data)
{
  for (gsize i = 0; expected_warning != NULL && i < n_fields; i++)
    {
      if ((log_level & G_LOG_LEVEL_WARNING) != 0 && g_strcmp0 (fields[i].key, "MESSAGE") == 0
          && strstr (fields[i].value, expected_warning) != NULL)
        {
          expected_warnings++;
          return G_LOG_WRITER_HANDLED;
        }
    }
  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

/* A #GLogWriterFunc for benchmarks: debug, info and message lines (one per alarm raised)
 * would distort the figures; warnings and worse are written. */
GLogWriterOutput
hg_test_quiet_log_writer_cb (GLogLevelFlags log_level,
                             const GLogField *fields,
                             gsize n_fields,
                             gpointer user_data)
{
  if (log_level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG))
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_default (log_level, fields, n_fields, user_data);
}
