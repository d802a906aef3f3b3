/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading a password from standard input, as hemgated --add-user and hemgatectl do. */
#pragma once

#include <glib.h>
#include <stdio.h>

G_BEGIN_DECLS

gchar *hgd_password_read_line (FILE *stream,
                               gsize max_bytes,
                               gboolean *too_long);

G_END_DECLS
