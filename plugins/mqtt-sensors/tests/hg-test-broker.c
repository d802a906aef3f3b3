/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgTestBroker: writes a mosquitto.conf (listener on 127.0.0.1 and a free port, anonymous,
 * no persistence, `user root` when run as root), starts mosquitto and waits until it
 * accepts connections; stop and start again keep the port, so a client sees a broker
 * restart. Publishing goes through the real mosquitto_pub. */
#include "hg-test-broker.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

/**
 * hg_test_spawn:
 * @flags: as g_subprocess_newv()
 * @argv: the command
 * @error: return location for a #GError
 *
 * Starts a helper (the broker, mosquitto_pub, the simulator) that is killed when the test
 * process dies, so a failed case ends at once instead of leaving it holding the test's
 * output open until meson's timeout.
 *
 * Returns: (transfer full): the process, or %NULL
 */
GSubprocess *
hg_test_spawn (GSubprocessFlags flags,
               const gchar *const *argv,
               GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  return g_subprocess_launcher_spawnv (launcher, argv, error);
}

static gboolean
accepts_connections (guint16 port)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;

  /* no proxy: the default resolver reads GSettings, which the isolated test dirs lack */
  g_socket_client_set_enable_proxy (client, FALSE);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, NULL);
  return connection != NULL;
}

/* Starts mosquitto on the broker's port; waits (briefly, sleeping) until it listens. */
void
hg_test_broker_start (HgTestBroker *broker)
{
  g_autoptr(GError) error = NULL;

  g_assert_null (broker->process);
  broker->process
      = hg_test_spawn (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                       (const gchar *const[]){ "mosquitto", "-c", broker->config, NULL }, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 500 && !accepts_connections (broker->port); i++)
    g_usleep (10 * 1000);
  g_assert_true (accepts_connections (broker->port));
}

/* Kills mosquitto and waits for it to be gone. */
void
hg_test_broker_stop (HgTestBroker *broker)
{
  g_autoptr(GError) error = NULL;

  if (broker->process == NULL)
    return;
  g_subprocess_force_exit (broker->process);
  g_subprocess_wait (broker->process, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&broker->process);
}

/**
 * hg_test_broker_new:
 * @extra_config: (nullable): more mosquitto.conf lines
 *
 * Returns: (transfer full): a running broker
 */
HgTestBroker *
hg_test_broker_new (const gchar *extra_config)
{
  HgTestBroker *broker = g_new0 (HgTestBroker, 1);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *text = NULL;

  broker->dir = g_dir_make_tmp ("hemgate-mosquitto-XXXXXX", &error);
  g_assert_no_error (error);
  broker->config = g_build_filename (broker->dir, "mosquitto.conf", NULL);
  broker->port = hg_test_free_port ();
  /* max_queued_messages 0: mosquitto 2 otherwise drops outgoing messages to a connected
   * client past 1000 queued, and the flood test's leak, published behind 5000 messages,
   * was lost that way once on a busy machine. A deployment's broker needs the same care
   * (see plugins/mqtt-sensors/README.md). */
  text = g_strdup_printf ("listener %u 127.0.0.1\n"
                          "allow_anonymous true\n"
                          "persistence false\n"
                          "set_tcp_nodelay true\n"
                          "max_queued_messages 0\n"
                          "%s"
                          "%s\n",
                          broker->port, getuid () == 0 ? "user root\n" : "",
                          extra_config != NULL ? extra_config : "");
  g_assert_true (g_file_set_contents (broker->config, text, -1, &error));
  g_assert_no_error (error);
  hg_test_broker_start (broker);
  return broker;
}

void
hg_test_broker_free (HgTestBroker *broker)
{
  hg_test_broker_stop (broker);
  g_remove (broker->config);
  g_rmdir (broker->dir);
  g_free (broker->config);
  g_free (broker->dir);
  g_free (broker);
}

static void
run_pub (HgTestBroker *broker,
         const gchar *topic,
         const gchar *payload,
         const gchar *stdin_text,
         gboolean retain)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autofree gchar *port = g_strdup_printf ("%u", broker->port);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, (gpointer) "mosquitto_pub");
  g_ptr_array_add (argv, (gpointer) "-h");
  g_ptr_array_add (argv, (gpointer) "127.0.0.1");
  g_ptr_array_add (argv, (gpointer) "-p");
  g_ptr_array_add (argv, port);
  g_ptr_array_add (argv, (gpointer) "-q");
  g_ptr_array_add (argv, (gpointer) "1");
  g_ptr_array_add (argv, (gpointer) "-t");
  g_ptr_array_add (argv, (gpointer) topic);
  if (retain)
    g_ptr_array_add (argv, (gpointer) "-r");
  if (stdin_text != NULL)
    g_ptr_array_add (argv, (gpointer) "-l");
  else if (payload[0] == '\0')
    g_ptr_array_add (argv, (gpointer) "-n");
  else
    {
      g_ptr_array_add (argv, (gpointer) "-m");
      g_ptr_array_add (argv, (gpointer) payload);
    }
  g_ptr_array_add (argv, NULL);
  process
      = hg_test_spawn (stdin_text != NULL ? G_SUBPROCESS_FLAGS_STDIN_PIPE : G_SUBPROCESS_FLAGS_NONE,
                       (const gchar *const *)argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, stdin_text, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_subprocess_wait_check (process, NULL, &error);
  g_assert_no_error (error);
}

/* Publishes one message with QoS 1 and returns once the broker has it. */
void
hg_test_broker_publish (HgTestBroker *broker,
                        const gchar *topic,
                        const gchar *payload,
                        gboolean retain)
{
  run_pub (broker, topic, payload, NULL, retain);
}

/* Publishes each line of @lines as one message, in order. */
void
hg_test_broker_publish_lines (HgTestBroker *broker,
                              const gchar *topic,
                              const gchar *lines,
                              gboolean retain)
{
  run_pub (broker, topic, NULL, lines, retain);
}

void
hg_test_broker_clear_retained (HgTestBroker *broker,
                               const gchar *topic)
{
  run_pub (broker, topic, "", NULL, TRUE);
}
