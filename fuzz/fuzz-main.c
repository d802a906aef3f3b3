/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A driver for compilers without libFuzzer: runs a fuzz target once on each file named on
 * the command line, so the seed corpus is a regression test in every build. */
#include "config.h"

#include <stdlib.h>

#include "fuzz.h"

int
main (int argc,
      char **argv)
{
  if (argc < 2)
    {
      g_printerr ("usage: %s FILE...\n", argv[0]);
      return EXIT_FAILURE;
    }
  for (int i = 1; i < argc; i++)
    {
      g_autofree gchar *data = NULL;
      g_autofree guint8 *copy = NULL;
      g_autoptr(GError) error = NULL;
      gsize size = 0;

      if (!g_file_get_contents (argv[i], &data, &size, &error))
        {
          g_printerr ("%s: %s\n", argv[0], error->message);
          return EXIT_FAILURE;
        }
      /* an exact-size copy without the nul g_file_get_contents adds, so that reading past
       * the end is caught by ASan or valgrind */
      copy = g_memdup2 (data, size);
      LLVMFuzzerTestOneInput (copy, size);
      g_print ("%s: ok\n", argv[i]);
    }
  return EXIT_SUCCESS;
}
