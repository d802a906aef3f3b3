/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hemgate-plugin-host: runs one plugin in its own process for hemgated, which spawns it
 * with one end of a socketpair as --fd and talks to it over private D-Bus on that socket.
 * It dies with its parent and exits when the connection closes. */
#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <signal.h>
#include <sys/prctl.h>

#include "hgd-host.h"

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_CONTINUE;
}

static void
finished_cb (HgdHost *host,
             GMainLoop *loop)
{
  g_main_loop_quit (loop);
}

/* Wraps the inherited socket as the client end of a peer-to-peer D-Bus connection. */
static GDBusConnection *
connect_to_core (gint fd,
                 GError **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) stream = NULL;

  socket = g_socket_new_from_fd (fd, error);
  if (socket == NULL)
    {
      g_prefix_error (error, "fd %d: ", fd);
      return NULL;
    }
  stream = g_socket_connection_factory_create_connection (socket);
  return g_dbus_connection_new_sync (G_IO_STREAM (stream), NULL,
                                     G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                       G_DBUS_CONNECTION_FLAGS_DELAY_MESSAGE_PROCESSING,
                                     NULL, NULL, error);
}

int
main (int argc,
      char **argv)
{
  g_autoptr(GOptionContext) option_context = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(HgdHost) host = NULL;
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *plugin_dir = NULL;
  gint fd = -1;
  const GOptionEntry entries[] = {
    { "fd", 0, 0, G_OPTION_ARG_INT, &fd,
      /* TRANSLATORS: command line option help */
      N_("The socket to the core, inherited from hemgated"), "N" },
    { "plugin-dir", 0, 0, G_OPTION_ARG_FILENAME, &plugin_dir,
      /* TRANSLATORS: command line option help */
      N_("The directory with the plugin's manifest.json and module"), "DIR" },
    { NULL },
  };

  /* If hemgated dies, so do we: a plugin must never outlive the core that checks it. */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) != 0)
    {
      g_printerr ("hemgate-plugin-host: cannot set the parent-death signal\n");
      return 1;
    }

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  option_context = g_option_context_new (NULL);
  /* TRANSLATORS: the summary in --help of the plugin host */
  g_option_context_set_summary (option_context, _("Runs one hemgate plugin for hemgated."));
  g_option_context_add_main_entries (option_context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (option_context, &argc, &argv, &error))
    {
      g_printerr ("hemgate-plugin-host: %s\n", error->message);
      return 1;
    }
  if (fd < 3 || plugin_dir == NULL)
    {
      /* TRANSLATORS: the host is started by hemgated, not by people */
      g_printerr ("hemgate-plugin-host: %s\n", _("--fd (3 or more) and --plugin-dir are required"));
      return 1;
    }

  host = hgd_host_new (plugin_dir, &error);
  if (host == NULL)
    {
      g_printerr ("hemgate-plugin-host: %s\n", error->message);
      return 1;
    }
  connection = connect_to_core (fd, &error);
  if (connection == NULL || !hgd_host_attach (host, connection, &error))
    {
      g_printerr ("hemgate-plugin-host: %s\n", error->message);
      return 1;
    }

  loop = g_main_loop_new (NULL, FALSE);
  g_signal_connect (host, "finished", G_CALLBACK (finished_cb), loop);
  g_unix_signal_add (SIGTERM, quit_cb, loop);
  g_unix_signal_add (SIGINT, quit_cb, loop);
  g_dbus_connection_start_message_processing (connection);
  g_main_loop_run (loop);

  g_dbus_connection_close_sync (connection, NULL, NULL);
  return 0;
}
