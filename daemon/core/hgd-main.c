/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hemgated: the home gateway daemon. Parses options, loads the configuration, creates the
 * daemon and runs the main loop until SIGTERM or SIGINT. */
#include "config.h"

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "hgd-add-user.h"
#include "hgd-api.h"
#include "hgd-daemon.h"
#include "hgd-demo.h"
#include "hgd-log.h"
#include "hgd-sandbox.h"
#include "hgd-systemd.h"
#include "hgd-tls.h"

#define DEFAULT_CONFIG_FILE SYSCONFDIR "/hemgate/hemgate.conf"
#define DEMO_CONFIG_RESOURCE "/org/hemgate/daemon/hemgate-demo.conf"

typedef struct
{
  GMainLoop *loop;        /* (owned) */
  HgdDaemon *daemon;      /* (owned) */
  GPtrArray *demo_logins; /* (owned) (nullable) */
  gboolean stopping;
  int exit_status;
} HgdMain;

static void
print_demo_banner (HgdMain *self)
{
  HgdApi *api = hgd_daemon_get_api (self->daemon);

  /* TRANSLATORS: shown when the demo gateway is ready; %s is a web address */
  g_print (_("hemgate demo is running at %s\n"), hgd_api_get_url (api));
  /* TRANSLATORS: %s is a web address */
  g_print (_("API: %s/api/v1 (see %s/api/v1/openapi.json)\n"), hgd_api_get_url (api), hgd_api_get_url (api));
  /* TRANSLATORS: heading of the list of demo user names and passwords */
  g_print ("%s\n", _("Demo logins (user name, role, password):"));
  for (guint i = 0; i < self->demo_logins->len; i++)
    {
      HgdDemoLogin *login = g_ptr_array_index (self->demo_logins, i);
      g_print ("  %-10s %-10s %s\n", login->username, hgd_role_to_string (login->role), login->password);
    }
  /* TRANSLATORS: how to stop the demo */
  g_print ("%s\n", _("Press Ctrl+C to stop."));
}

static void
daemon_started_cb (GObject *source,
                   GAsyncResult *result,
                   gpointer user_data)
{
  HgdMain *self = user_data;
  g_autoptr(GError) error = NULL;

  if (!hgd_daemon_start_finish (HGD_DAEMON (source), result, &error))
    {
      g_printerr ("hemgated: %s\n", error->message);
      self->exit_status = EXIT_FAILURE;
      g_main_loop_quit (self->loop);
      return;
    }
  if (!hgd_systemd_notify ("READY=1\nSTATUS=running", &error))
    g_warning ("%s", error->message);
  HGD_LOG_EVENT (G_LOG_LEVEL_MESSAGE, HGD_MESSAGE_ID_STARTED, "HG_URL",
                 hgd_api_get_url (hgd_daemon_get_api (self->daemon)),
                 "hemgated %s ready at %s", PACKAGE_VERSION,
                 hgd_api_get_url (hgd_daemon_get_api (self->daemon)));
  if (self->demo_logins != NULL)
    print_demo_banner (self);
}

static void
daemon_stopped_cb (GObject *source,
                   GAsyncResult *result,
                   gpointer user_data)
{
  HgdMain *self = user_data;
  g_autoptr(GError) error = NULL;

  if (!hgd_daemon_stop_finish (HGD_DAEMON (source), result, &error))
    g_warning ("stopping: %s", error->message);
  g_main_loop_quit (self->loop);
}

static gboolean
stop_signal_cb (gpointer user_data)
{
  HgdMain *self = user_data;

  if (self->stopping)
    return G_SOURCE_CONTINUE;
  self->stopping = TRUE;
  hgd_systemd_notify ("STOPPING=1", NULL);
  HGD_LOG_EVENT (G_LOG_LEVEL_MESSAGE, HGD_MESSAGE_ID_STOPPING, "HG_REASON", "signal",
                 "hemgated stopping");
  hgd_daemon_stop_async (self->daemon, NULL, daemon_stopped_cb, self);
  return G_SOURCE_CONTINUE;
}

static gboolean
load_config (HgdConfig *config,
             const gchar *path,
             gboolean demo,
             GError **error)
{
  if (demo)
    {
      g_autoptr(GBytes) bytes = g_resources_lookup_data (DEMO_CONFIG_RESOURCE, G_RESOURCE_LOOKUP_FLAGS_NONE, error);
      if (bytes == NULL)
        return FALSE;
      if (!hgd_config_load_data (config, g_bytes_get_data (bytes, NULL), "demo configuration", error))
        return FALSE;
    }
  if (path != NULL)
    return hgd_config_load_file (config, path, error);
  if (!demo && g_file_test (DEFAULT_CONFIG_FILE, G_FILE_TEST_EXISTS))
    return hgd_config_load_file (config, DEFAULT_CONFIG_FILE, error);
  return TRUE;
}

/* --reset-journal DOMAIN: with hemgated stopped, an operator's answer to a journal fault */
static int
reset_journal_and_exit (HgdConfig *config,
                        const gchar *domain_name)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *aside = NULL;
  HgDomain domain;

  if (!hg_domain_from_string (domain_name, &domain))
    {
      /* TRANSLATORS: %s is what the user gave instead of a domain name */
      g_printerr (_("hemgated: unknown domain '%s' (municipal or personal)\n"), domain_name);
      return EXIT_FAILURE;
    }
  aside = hgd_daemon_reset_journal (config, domain, &error);
  if (aside == NULL)
    {
      g_printerr ("hemgated: %s\n", error->message);
      return EXIT_FAILURE;
    }
  /* TRANSLATORS: %s is a domain name, then a directory */
  g_print (_("The %s journal was set aside in %s; hemgated starts a new one.\n"), domain_name,
           aside);
  return EXIT_SUCCESS;
}

/* Each HTTP connection holds a descriptor: take what the service manager allows
 * (LimitNOFILE) instead of the soft 1024 kept for programs using select (). */
static void
raise_descriptor_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max)
    return;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit (RLIMIT_NOFILE, &limit) != 0)
    g_warning ("cannot raise the descriptor limit: %s", g_strerror (errno));
}

int
main (int argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdConfig) config = NULL;
  g_autoptr(HgdWatchdog) watchdog = NULL;
  g_autofree gchar *config_path = NULL;
  g_autofree gchar *state_dir = NULL;
  gboolean demo = FALSE;
  gboolean verbose = FALSE;
  gboolean version = FALSE;
  g_autofree gchar *reset_journal = NULL;
  g_autofree gchar *add_user = NULL;
  g_autofree gchar *role = NULL;
  HgdMain self = { NULL, NULL, NULL, FALSE, EXIT_SUCCESS };
  const GOptionEntry entries[] = {
    /* TRANSLATORS: help for --config */
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, N_("Read the configuration from FILE"), N_("FILE") },
    /* TRANSLATORS: help for --state-dir */
    { "state-dir", 's', 0, G_OPTION_ARG_FILENAME, &state_dir, N_("Keep journals and accounts in DIR"), N_("DIR") },
    /* TRANSLATORS: help for --demo */
    { "demo", 0, 0, G_OPTION_ARG_NONE, &demo, N_("Run a demo home with demo users on 127.0.0.1"), NULL },
    /* TRANSLATORS: help for --verbose */
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, N_("Log informational and debug messages"), NULL },
    /* TRANSLATORS: help for --reset-journal; DOMAIN is municipal or personal */
    { "reset-journal", 0, 0, G_OPTION_ARG_STRING, &reset_journal, N_("Set the journal of DOMAIN aside for inspection, so that the next start begins a new one, and exit"), N_("DOMAIN") },
    /* TRANSLATORS: help for --add-user; the password is read from standard input */
    { "add-user", 0, 0, G_OPTION_ARG_STRING, &add_user, N_("Add the user NAME with the role of --role, the password read from standard input, and exit; hemgated may be running"), N_("NAME") },
    /* TRANSLATORS: help for --role; it-admin, staff, resident… */
    { "role", 0, 0, G_OPTION_ARG_STRING, &role, N_("The role of the user --add-user adds (it-admin, staff, resident, …)"), N_("ROLE") },
    /* TRANSLATORS: help for --version */
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Print the version and exit"), NULL },
    { NULL }
  };

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* TRANSLATORS: the one-line summary of hemgated --help */
  context = g_option_context_new (_("— home gateway for welfare technology"));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("hemgated: %s\n", error->message);
      return EXIT_FAILURE;
    }
  if (version)
    {
      g_print ("hemgated %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }
  if ((add_user == NULL) != (role == NULL) || (add_user != NULL && demo))
    {
      /* TRANSLATORS: --add-user, --role and --demo are options, not translated */
      g_printerr ("hemgated: %s\n", _("--add-user needs --role, and neither goes with --demo"));
      return EXIT_FAILURE;
    }
  if (add_user != NULL)
    hgd_log_setup_command (verbose);
  else
    hgd_log_setup (verbose);
  raise_descriptor_limit ();
  /* before any thread: as root, capabilities only while they are used (hgd-sandbox.c) */
  hgd_sandbox_lower_privileges ();

  config = hgd_config_new ();
  hgd_config_set_demo (config, demo);
  if (!load_config (config, config_path, demo, &error))
    {
      /* TRANSLATORS: %s is a detailed error naming the file and line */
      g_printerr (_("hemgated: refusing to start: %s\n"), error->message);
      return EXIT_FAILURE;
    }
  if (state_dir != NULL)
    hgd_config_set_override (config, "daemon", "state-dir", state_dir);
  if (reset_journal != NULL)
    return reset_journal_and_exit (config, reset_journal);
  if (add_user != NULL)
    return hgd_add_user_run (config, add_user, role);
  /* Running from a build tree: the plugins and the host are not installed. */
  if (g_getenv ("HEMGATE_PLUGINDIR") != NULL)
    hgd_config_set_override (config, "plugins", "directory", g_getenv ("HEMGATE_PLUGINDIR"));
  if (g_getenv ("HEMGATE_PLUGIN_HOST") != NULL)
    hgd_config_set_override (config, "plugins", "host", g_getenv ("HEMGATE_PLUGIN_HOST"));
  /* before any TLS connection exists and before the daemon's threads run */
  if (!hgd_tls_apply_priority (hgd_config_get_string (config, "api", "tls-priority"), &error))
    {
      g_printerr (_("hemgated: refusing to start: %s\n"), error->message);
      return EXIT_FAILURE;
    }

  self.daemon = hgd_daemon_new (config, NULL, &error);
  if (self.daemon == NULL)
    {
      g_printerr ("hemgated: %s\n", error->message);
      return EXIT_FAILURE;
    }
  if (demo)
    {
      self.demo_logins = hgd_demo_ensure_users (
          hgd_daemon_get_accounts (self.daemon), g_getenv ("HEMGATE_DEMO_PASSWORD"),
          hgd_config_get_string (config, "daemon", "state-dir"), &error);
      if (self.demo_logins == NULL)
        {
          g_printerr ("hemgated: %s\n", error->message);
          g_object_unref (self.daemon);
          return EXIT_FAILURE;
        }
    }

  self.loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGTERM, stop_signal_cb, &self);
  g_unix_signal_add (SIGINT, stop_signal_cb, &self);
  watchdog = hgd_watchdog_new ();
  hgd_daemon_start_async (self.daemon, NULL, daemon_started_cb, &self);
  g_main_loop_run (self.loop);

  g_clear_pointer (&self.demo_logins, g_ptr_array_unref);
  g_clear_object (&self.daemon);
  g_main_loop_unref (self.loop);
  return self.exit_status;
}
