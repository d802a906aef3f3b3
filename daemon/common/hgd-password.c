/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading a password from standard input (hgd-password.h). */
#include "config.h"

#include <string.h>

#include "hgd-password.h"

/**
 * hgd_password_read_line:
 * @stream: where from, e.g. stdin
 * @max_bytes: the longest password taken
 * @too_long: (out): %TRUE when %NULL is returned because the line is longer than @max_bytes
 *
 * Reads one line, without its line ending (`\n` or `\r\n`); what it read is wiped from
 * memory other than the returned string.
 *
 * Returns: (transfer full) (nullable): the line (possibly empty), to wipe before freeing;
 *   %NULL at the end of @stream or when the line is too long
 */
gchar *
hgd_password_read_line (FILE *stream,
                        gsize max_bytes,
                        gboolean *too_long)
{
  gsize size = max_bytes + 2;
  gchar *buffer = g_malloc0 (size);
  gchar *password = NULL;
  gsize len;

  *too_long = FALSE;
  if (fgets (buffer, (int) size, stream) != NULL)
    {
      len = strlen (buffer);
      if (len > 0 && buffer[len - 1] == '\n')
        buffer[--len] = '\0';
      else if (!feof (stream))
        *too_long = TRUE;
      if (len > 0 && buffer[len - 1] == '\r')
        buffer[--len] = '\0';
      if (!*too_long)
        password = g_strdup (buffer);
    }
  explicit_bzero (buffer, size);
  g_free (buffer);
  return password;
}
