/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the fuzz targets: quiet logging, except that warnings and criticals abort. */
#include "config.h"

#include <stdlib.h>

#include "fuzz.h"

static GLogWriterOutput
fuzz_log_writer_cb (GLogLevelFlags log_level,
                    const GLogField *fields,
                    gsize n_fields,
                    gpointer user_data)
{
  if ((log_level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) == 0)
    return G_LOG_WRITER_HANDLED;
  /* a warning or critical on untrusted input is a bug: make the fuzzer see a crash */
  g_log_writer_standard_streams (log_level, fields, n_fields, user_data);
  abort ();
}

/**
 * fuzz_setup:
 *
 * Installs the log writer, once; every target calls it first.
 */
void
fuzz_setup (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      g_log_set_writer_func (fuzz_log_writer_cb, NULL, NULL);
      g_once_init_leave (&initialized, 1);
    }
}
