/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The strict check of a JSON request body before json-glib parses it. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define HGD_JSON_CHECK_ERROR (hgd_json_check_error_quark ())
GQuark hgd_json_check_error_quark (void);

typedef enum
{
  HGD_JSON_CHECK_ERROR_SYNTAX,            /* not one RFC 8259 JSON text */
  HGD_JSON_CHECK_ERROR_DUPLICATE_MEMBER,  /* a member name twice in one object */
  HGD_JSON_CHECK_ERROR_CONTROL_CHARACTER, /* a control character in a string */
} HgdJsonCheckError;

#define HGD_JSON_CHECK_MAX_DEPTH 32

gboolean hgd_json_check_strict (const gchar *data,
                                gsize length,
                                gchar **field,
                                GError **error);

G_END_DECLS
