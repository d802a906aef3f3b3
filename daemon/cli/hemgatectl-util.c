/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers the hemgatectl commands share: printing JSON, reading the API's answers
 * leniently for display, formatting times, and reading a password without echo. */
#include "config.h"

#include <glib/gi18n.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "hemgatectl-commands.h"
#include "hg-json.h"
#include "hgd-password.h"

#define MAX_PASSWORD_LENGTH 1024

/**
 * hgd_cli_print_json:
 * @node: what to print
 * @pretty: indented over several lines, or one line (one event per line with --follow)
 *
 * Prints @node on stdout as it came from the API, and flushes at once so a reader on a
 * pipe sees it.
 */
void
hgd_cli_print_json (JsonNode *node,
                    gboolean pretty)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree gchar *text = NULL;

  json_generator_set_root (generator, node);
  json_generator_set_pretty (generator, pretty);
  text = json_generator_to_data (generator, NULL);
  fputs (text, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
}

/**
 * hgd_cli_pad:
 * @text: a cell of a table
 * @width: its column's width, in characters
 *
 * Returns: (transfer full): @text followed by spaces up to @width characters; printf's
 *   field widths count bytes, which misaligns “å” or “ä”
 */
gchar *
hgd_cli_pad (const gchar *text,
             guint width)
{
  glong len = g_utf8_strlen (text, -1);
  GString *padded = g_string_new (text);

  for (glong i = len; i < (glong) width; i++)
    g_string_append_c (padded, ' ');
  return g_string_free (padded, FALSE);
}

/**
 * hgd_cli_print_row:
 * @widths: the width of each column but the last, in characters
 * @n_cells: the number of cells, one more than @widths holds
 * @cells: the text of each cell
 *
 * Prints one row of a table, columns one space apart.
 */
void
hgd_cli_print_row (const guint *widths,
                   guint n_cells,
                   const gchar *const *cells)
{
  g_autoptr(GString) row = g_string_new (NULL);

  for (guint i = 0; i < n_cells; i++)
    {
      if (i + 1 < n_cells)
        {
          g_autofree gchar *cell = hgd_cli_pad (cells[i], widths[i]);
          g_string_append_printf (row, "%s ", cell);
        }
      else
        {
          g_string_append (row, cells[i]);
        }
    }
  g_print ("%s\n", row->str);
}

/**
 * hgd_cli_unexpected_answer:
 * @error: why the answer could not be read
 *
 * Returns: (transfer full): an %HGD_CLI_ERROR_FAILED saying the gateway answered
 *   something hemgatectl does not understand
 */
GError *
hgd_cli_unexpected_answer (const GError *error)
{
  return g_error_new (HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED,
                      /* TRANSLATORS: %s is a technical detail in English */
                      _("the gateway's answer was not as expected: %s"), error->message);
}

/**
 * hgd_cli_answer_get_array:
 * @answer: an API answer
 * @member: the member of the answer's object holding the list, e.g. "events"
 * @error: return location for a #GError
 *
 * Returns: (transfer none): the list, or %NULL with %HGD_CLI_ERROR_FAILED
 */
JsonArray *
hgd_cli_answer_get_array (JsonNode *answer,
                          const gchar *member,
                          GError **error)
{
  g_autoptr(GError) error_local = NULL;
  JsonArray *array = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (answer))
    {
      g_set_error_literal (&error_local, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "the answer is not an object");
      g_propagate_error (error, hgd_cli_unexpected_answer (error_local));
      return NULL;
    }
  if (!hg_json_object_get_array (json_node_get_object (answer), member, &array, &error_local))
    {
      g_propagate_error (error, hgd_cli_unexpected_answer (error_local));
      return NULL;
    }
  return array;
}

/**
 * hgd_cli_get_list:
 * @client: the client
 * @options: the command line's options
 * @path: what to GET, e.g. "/api/v1/plugins"
 * @member: the member of the answer's object holding the list
 * @answer: (out) (transfer full): the answer, which @list is part of
 * @list: (out) (transfer none): the list; %NULL when `--json` printed the answer already
 * @error: return location for a #GError
 *
 * What a listing command asks first: the answer, printed as it is with `--json`.
 *
 * Returns: %FALSE with @error when the request failed or the answer has no list
 */
gboolean
hgd_cli_get_list (HgdCliClient *client,
                  const HgdCliOptions *options,
                  const gchar *path,
                  const gchar *member,
                  JsonNode **answer,
                  JsonArray **list,
                  GError **error)
{
  *list = NULL;
  *answer = hgd_cli_client_request (client, "GET", path, NULL, error);
  if (*answer == NULL)
    return FALSE;
  if (options->json)
    {
      hgd_cli_print_json (*answer, TRUE);
      return TRUE;
    }
  *list = hgd_cli_answer_get_array (*answer, member, error);
  return *list != NULL;
}

/**
 * hgd_cli_object_get_text:
 * @object: (nullable): an object from an API answer
 * @member: a member name
 *
 * For display only: a missing member, or one that is not a string, shows as "-".
 *
 * Returns: (transfer none): the string member, or "-"
 */
const gchar *
hgd_cli_object_get_text (JsonObject *object,
                         const gchar *member)
{
  const gchar *value = NULL;

  if (object == NULL ||
      !hg_json_object_get_optional_string (object, member, &value, NULL) ||
      value == NULL || value[0] == '\0')
    return "-";
  return value;
}

/**
 * hgd_cli_format_time:
 * @iso8601: (nullable): a time from the API, ISO 8601 in UTC
 *
 * Returns: (transfer full): the time in local time, "YYYY-MM-DD HH:MM:SS", or the text as
 *   it came when it is not a time
 */
gchar *
hgd_cli_format_time (const gchar *iso8601)
{
  g_autoptr(GDateTime) utc = NULL;
  g_autoptr(GDateTime) local = NULL;

  if (iso8601 == NULL || iso8601[0] == '\0')
    return g_strdup ("-");
  utc = g_date_time_new_from_iso8601 (iso8601, NULL);
  if (utc == NULL)
    return g_strdup (iso8601);
  local = g_date_time_to_local (utc);
  return g_date_time_format (local, "%Y-%m-%d %H:%M:%S");
}

/**
 * hgd_cli_print_personal_plugins:
 * @root: (nullable): an answer of GET /api/v1/plugins or /api/v1/health
 *
 * Prints the line on the resident's own plugin instances, of which a municipal user sees
 * only the number and whether they run; nothing when @root has no `personal_plugins`.
 */
void
hgd_cli_print_personal_plugins (JsonObject *root)
{
  JsonObject *personal = NULL;
  gint64 instances = 0;
  gint64 running = 0;
  const gchar *status = NULL;

  if (root == NULL || !json_object_has_member (root, "personal_plugins") ||
      !hg_json_object_get_object (root, "personal_plugins", &personal, NULL) ||
      !hg_json_object_get_int (personal, "instances", 0, G_MAXINT, &instances, NULL) ||
      !hg_json_object_get_int (personal, "running", 0, G_MAXINT, &running, NULL) ||
      !hg_json_object_get_string (personal, "status", &status, NULL))
    return;
  /* TRANSLATORS: the resident's own plugin instances, which municipal users see only
   * counted: the first %u is how many there are, the second how many run, %s a health
   * state (ok or fault) */
  g_print (_("Personal plugins (the resident's own): %u, %u running, %s\n"), (guint) instances,
           (guint) running, hgd_cli_state_text (status));
}

/**
 * hgd_cli_state_text:
 * @state: a state word of the API (health, plugin instance)
 *
 * Returns: (transfer none): the word as the user reads it; an unknown word as it came
 */
const gchar *
hgd_cli_state_text (const gchar *state)
{
  static const struct
  {
    const gchar *state;
    const gchar *text;
  } states[] = {
    /* TRANSLATORS: a health state */
    { "ok", N_("ok") },
    /* TRANSLATORS: a health state: the gateway runs, but some part has a fault */
    { "degraded", N_("degraded") },
    /* TRANSLATORS: a health state of one part */
    { "fault", N_("fault") },
    /* TRANSLATORS: a health state: works, but an operator should act soon (e.g. a journal
     * near its size budget) */
    { "warning", N_("warning") },
    /* TRANSLATORS: the state of a plugin instance: switched off in the configuration */
    { "disabled", N_("disabled") },
    /* TRANSLATORS: the state of a plugin instance: cannot run until an operator acts */
    { "failed", N_("failed") },
    /* TRANSLATORS: the state of a plugin instance */
    { "stopped", N_("stopped") },
    /* TRANSLATORS: the state of a plugin instance */
    { "starting", N_("starting") },
    /* TRANSLATORS: the state of a plugin instance */
    { "running", N_("running") },
    /* TRANSLATORS: the state of a plugin instance: waiting to be restarted after a crash */
    { "restarting", N_("restarting") },
    /* TRANSLATORS: the state of a plugin instance */
    { "stopping", N_("stopping") },
  };

  for (guint i = 0; i < G_N_ELEMENTS (states); i++)
    {
      if (g_strcmp0 (states[i].state, state) == 0)
        return _(states[i].text);
    }
  return state;
}

void
hgd_cli_password_free (gchar *password)
{
  if (password == NULL)
    return;
  explicit_bzero (password, strlen (password));
  g_free (password);
}

/* Reads one line, without its line ending. */
static gchar *
read_line (GError **error)
{
  gboolean too_long;
  gchar *password = hgd_password_read_line (stdin, MAX_PASSWORD_LENGTH, &too_long);

  if (password == NULL && too_long)
    {
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE,
                   /* TRANSLATORS: %u is a number of bytes */
                   _("the password is longer than %u bytes"), (guint) MAX_PASSWORD_LENGTH);
      return NULL;
    }
  if (password == NULL)
    {
      g_set_error_literal (
          error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE,
          /* TRANSLATORS: the password was to be read from standard input, which was empty */
          _("no password on standard input"));
      return NULL;
    }
  if (password[0] == '\0')
    {
      g_free (password);
      g_set_error_literal (error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE,
                           /* TRANSLATORS: the user typed an empty password */
                           _("the password is empty"));
      return NULL;
    }
  return password;
}

/* The terminal as it was before echo was turned off, for a signal that ends us mid-prompt. */
static struct termios saved_termios;

static void
restore_terminal_and_die (int signum)
{
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved_termios);
  signal (signum, SIG_DFL);
  raise (signum);
}

static gchar *
prompt_without_echo (const gchar *prompt,
                     GError **error)
{
  struct termios quiet;
  struct sigaction action = { 0 };
  struct sigaction old_int;
  struct sigaction old_term;
  struct sigaction old_hup;
  gchar *password;

  if (tcgetattr (STDIN_FILENO, &saved_termios) != 0)
    {
      g_set_error_literal (
          error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE,
          /* TRANSLATORS: --password-stdin is an option and stays untranslated */
          _("cannot ask for a password: standard input is not a terminal; use --password-stdin"));
      return NULL;
    }
  action.sa_handler = restore_terminal_and_die;
  sigemptyset (&action.sa_mask);
  sigaction (SIGINT, &action, &old_int);
  sigaction (SIGTERM, &action, &old_term);
  sigaction (SIGHUP, &action, &old_hup);

  quiet = saved_termios;
  quiet.c_lflag &= ~ECHO;
  quiet.c_lflag |= ECHONL;
  fputs (prompt, stderr);
  fflush (stderr);
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
  password = read_line (error);
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved_termios);

  sigaction (SIGINT, &old_int, NULL);
  sigaction (SIGTERM, &old_term, NULL);
  sigaction (SIGHUP, &old_hup, NULL);
  return password;
}

/**
 * hgd_cli_read_password:
 * @prompt: what to ask, on the terminal
 * @repeat_prompt: (nullable): to ask a second time and compare (for a new password)
 * @from_stdin: read one line from standard input instead (--password-stdin)
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the password, to free with hgd_cli_password_free(), or %NULL
 *   with %HGD_CLI_ERROR_USAGE
 */
gchar *
hgd_cli_read_password (const gchar *prompt,
                       const gchar *repeat_prompt,
                       gboolean from_stdin,
                       GError **error)
{
  g_auto(HgdCliPassword) password = NULL;
  g_auto(HgdCliPassword) again = NULL;

  if (from_stdin)
    return read_line (error);
  if (!isatty (STDIN_FILENO))
    {
      g_set_error_literal (
          error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE,
          _("cannot ask for a password: standard input is not a terminal; use --password-stdin"));
      return NULL;
    }
  password = prompt_without_echo (prompt, error);
  if (password == NULL || repeat_prompt == NULL)
    return g_steal_pointer (&password);
  again = prompt_without_echo (repeat_prompt, error);
  if (again == NULL)
    return NULL;
  if (g_strcmp0 (password, again) != 0)
    {
      g_set_error_literal (
          error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE,
          /* TRANSLATORS: the two passwords typed for a new user were not the same */
          _("the passwords differ"));
      return NULL;
    }
  return g_steal_pointer (&password);
}
