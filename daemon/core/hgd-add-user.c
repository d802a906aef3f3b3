/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hemgated --add-user NAME --role ROLE: adds a user to the accounts of the role's domain on
 * the box itself, for the first it-admin of a fresh install (nobody can log in to make
 * one). It works whether hemgated runs or not: SQLite serialises the two writers, and a
 * running hemgated reads users another process added at their first login
 * (hgd-accounts.c). The password is read from standard input, never from the command
 * line; run as root, it writes as the owner of the state directory. */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "hgd-accounts.h"
#include "hgd-add-user.h"
#include "hgd-log.h"
#include "hgd-password.h"

/* as hgd-accounts.c accepts */
#define MAX_PASSWORD_BYTES 4096

typedef gchar *HgdPassword;

static void
password_free (gchar *password)
{
  if (password == NULL)
    return;
  explicit_bzero (password, strlen (password));
  g_free (password);
}

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (HgdPassword, password_free, NULL)

/* One line of standard input, without its line ending; NULL with a message printed. */
static gchar *
read_line (void)
{
  gboolean too_long;
  gchar *password = hgd_password_read_line (stdin, MAX_PASSWORD_BYTES, &too_long);

  if (password == NULL && too_long)
    {
      /* TRANSLATORS: %u is a number of bytes */
      g_printerr (_("hemgated: the password is longer than %u bytes\n"),
                  (guint) MAX_PASSWORD_BYTES);
    }
  else if (password == NULL)
    {
      /* TRANSLATORS: hemgated --add-user read nothing from standard input */
      g_printerr ("hemgated: %s\n", _("no password on standard input"));
    }
  return password;
}

static struct termios saved_termios;

static void
restore_terminal_and_die (int signum)
{
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved_termios);
  signal (signum, SIG_DFL);
  raise (signum);
}

static gchar *
prompt_without_echo (const gchar *prompt)
{
  struct termios quiet;
  struct sigaction action = { 0 };
  struct sigaction old_int;
  struct sigaction old_term;
  gchar *password;

  if (tcgetattr (STDIN_FILENO, &saved_termios) != 0)
    return read_line ();
  action.sa_handler = restore_terminal_and_die;
  sigemptyset (&action.sa_mask);
  sigaction (SIGINT, &action, &old_int);
  sigaction (SIGTERM, &action, &old_term);
  quiet = saved_termios;
  quiet.c_lflag &= ~ECHO;
  quiet.c_lflag |= ECHONL;
  fputs (prompt, stderr);
  fflush (stderr);
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
  password = read_line ();
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved_termios);
  sigaction (SIGINT, &old_int, NULL);
  sigaction (SIGTERM, &old_term, NULL);
  return password;
}

/* From a terminal: asked twice without echo. Otherwise: the first line of standard input. */
static gchar *
read_password (const gchar *username)
{
  g_autofree gchar *prompt = NULL;
  g_auto(HgdPassword) password = NULL;
  g_auto(HgdPassword) again = NULL;

  if (!isatty (STDIN_FILENO))
    return read_line ();
  /* TRANSLATORS: asks for the new user's password; %s is the user name */
  prompt = g_strdup_printf (_("Password for %s: "), username);
  password = prompt_without_echo (prompt);
  if (password == NULL)
    return NULL;
  /* TRANSLATORS: asks for the same password a second time */
  again = prompt_without_echo (_("The same password again: "));
  if (again == NULL)
    return NULL;
  if (strcmp (password, again) != 0)
    {
      /* TRANSLATORS: the two passwords typed for a new user were not the same */
      g_printerr ("hemgated: %s\n", _("the passwords differ"));
      return NULL;
    }
  return g_steal_pointer (&password);
}

/* As root, becomes the owner of the state directory (the unit's User=), so that the files
 * it writes stay the service's; as another user, that user must own the directory. */
static gboolean
become_owner_of (const gchar *state_dir)
{
  struct stat st;

  if (stat (state_dir, &st) != 0 || !S_ISDIR (st.st_mode))
    {
      /* TRANSLATORS: %s is a directory; hemgated or systemd-tmpfiles makes it at install */
      g_printerr (_("hemgated: the state directory %s does not exist; install hemgated "
                    "(or start it once) first\n"),
                  state_dir);
      return FALSE;
    }
  if (geteuid () == st.st_uid)
    return TRUE;
  if (geteuid () != 0)
    {
      /* TRANSLATORS: %s is a directory */
      g_printerr (_("hemgated: run this as root or as the owner of %s\n"), state_dir);
      return FALSE;
    }
  if (setgroups (0, NULL) != 0 || setgid (st.st_gid) != 0 || setuid (st.st_uid) != 0)
    {
      g_printerr ("hemgated: %s: %s\n", state_dir, g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

/**
 * hgd_add_user_run:
 * @config: the configuration, for the state directory and the session lifetime
 * @username: the new user's name
 * @role_name: the new user's role, as the API names it
 *
 * Adds the user with a password read from standard input; refuses a name that exists in
 * either domain. The creation is logged as any other (to the system journal when there
 * is one).
 *
 * Returns: the exit status
 */
int
hgd_add_user_run (HgdConfig *config,
                  const gchar *username,
                  const gchar *role_name)
{
  g_autofree gchar *state_dir = NULL;
  g_auto(GStrv) domain_dirs = g_new0 (gchar *, HG_DOMAIN_LAST + 1);
  g_autoptr(HgdAccounts) accounts = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(HgdPassword) password = NULL;
  guint invoker = (guint) getuid ();
  HgdRole role;

  if (!hgd_role_from_string (role_name, &role))
    {
      g_autoptr(GString) roles = g_string_new (NULL);

      for (guint i = 0; i < HGD_ROLE_LAST; i++)
        g_string_append_printf (roles, "%s%s", i > 0 ? ", " : "", hgd_role_to_string (i));
      /* TRANSLATORS: the first %s is what was given, the second the list of roles */
      g_printerr (_("hemgated: unknown role '%s' (one of %s)\n"), role_name, roles->str);
      return EXIT_FAILURE;
    }
  state_dir = g_canonicalize_filename (hgd_config_get_string (config, "daemon", "state-dir"),
                                       NULL);
  if (!become_owner_of (state_dir))
    return EXIT_FAILURE;
  password = read_password (username);
  if (password == NULL)
    return EXIT_FAILURE;

  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    domain_dirs[i] = g_build_filename (state_dir, hg_domain_to_string (i), NULL);
  accounts = hgd_accounts_new ((const gchar *const *) domain_dirs,
                               hgd_config_get_int (config, "api", "session-lifetime"), &error);
  if (accounts == NULL || !hgd_accounts_add_user (accounts, username, role, password, &error))
    {
      g_printerr ("hemgated: %s\n", error->message);
      return EXIT_FAILURE;
    }
  g_message ("user added on the command line by uid %u", invoker);
  /* TRANSLATORS: the first %s is a user name, the second a role */
  g_print (_("Added the user %s with the role %s. They can log in now, whether hemgated is "
             "running or not.\n"),
           username, role_name);
  return EXIT_SUCCESS;
}
