/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The log writer of hemgated: journald when stderr is the journal (as bolt), else the
 * console; debug and info only with --verbose (or G_MESSAGES_DEBUG). */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "hgd-log.h"

static gboolean log_verbose = FALSE;
static gboolean log_to_journald = FALSE;
static gboolean log_command = FALSE;

static GLogWriterOutput
hgd_log_writer (GLogLevelFlags log_level,
                const GLogField *fields,
                gsize n_fields,
                gpointer user_data)
{
  if (log_level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO))
    {
      if (!log_verbose && g_getenv ("G_MESSAGES_DEBUG") == NULL)
        return G_LOG_WRITER_HANDLED;
      if (log_level & G_LOG_LEVEL_DEBUG && !log_verbose)
        return g_log_writer_default (log_level, fields, n_fields, user_data);
    }
  if (log_to_journald && g_log_writer_journald (log_level, fields, n_fields, user_data) == G_LOG_WRITER_HANDLED)
    {
      /* a command run by hand shows its warnings on the terminal too */
      if (log_command
          && (log_level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)))
        g_log_writer_standard_streams (log_level, fields, n_fields, user_data);
      return G_LOG_WRITER_HANDLED;
    }
  return g_log_writer_standard_streams (log_level, fields, n_fields, user_data);
}

/* For a command run on the box by hand (hemgated --add-user): what it logs goes to the
 * system journal when there is one, as the service's own logs do, whatever stderr is. */
void
hgd_log_setup_command (gboolean verbose)
{
  log_verbose = verbose;
  log_command = TRUE;
  log_to_journald = g_log_writer_is_journald (fileno (stderr))
                    || g_file_test ("/run/systemd/journal/socket", G_FILE_TEST_EXISTS);
  g_log_set_writer_func (hgd_log_writer, NULL, NULL);
}

void
hgd_log_setup (gboolean verbose)
{
  log_verbose = verbose;
  log_to_journald = g_log_writer_is_journald (fileno (stderr));
  g_log_set_writer_func (hgd_log_writer, NULL, NULL);
}
