/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hgd_password_read_line (): what hemgated --add-user and hemgatectl read a password with. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "hgd-password.h"

/* @text as a stream, as standard input would be */
static FILE *
stream_of (const gchar *text)
{
  FILE *stream = fmemopen ((gpointer) text, strlen (text), "r");

  g_assert_nonnull (stream);
  return stream;
}

static void
test_line_endings (void)
{
  const struct
  {
    const gchar *input;
    const gchar *password;
  } cases[] = {
    { "secret\n", "secret" },
    { "secret\r\n", "secret" },
    { "secret", "secret" },
    { "two words\nnext line\n", "two words" },
    { "\n", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      FILE *stream = stream_of (cases[i].input);
      gboolean too_long = TRUE;
      g_autofree gchar *password = hgd_password_read_line (stream, 16, &too_long);

      g_assert_cmpstr (password, ==, cases[i].password);
      g_assert_false (too_long);
      fclose (stream);
    }
}

static void
test_end_of_input (void)
{
  FILE *stream = stream_of ("");
  gboolean too_long = TRUE;

  g_assert_null (hgd_password_read_line (stream, 16, &too_long));
  g_assert_false (too_long);
  fclose (stream);
}

static void
test_limit (void)
{
  FILE *stream = stream_of ("0123456789abcdef\n");
  FILE *longer = stream_of ("0123456789abcdefg\n");
  gboolean too_long = TRUE;
  g_autofree gchar *password = hgd_password_read_line (stream, 16, &too_long);

  /* exactly the limit is taken; one byte more is refused */
  g_assert_cmpstr (password, ==, "0123456789abcdef");
  g_assert_false (too_long);
  g_assert_null (hgd_password_read_line (longer, 16, &too_long));
  g_assert_true (too_long);
  fclose (stream);
  fclose (longer);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/password/line-endings", test_line_endings);
  g_test_add_func ("/password/end-of-input", test_end_of_input);
  g_test_add_func ("/password/limit", test_limit);
  return g_test_run ();
}
