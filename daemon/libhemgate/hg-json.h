/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Checked accessors for untrusted JSON: every wrong shape is a GError, never a critical. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

JsonObject *hg_json_parse_object (const gchar *data,
                                  gssize length,
                                  gsize max_length,
                                  GError **error);
gboolean hg_json_object_get_string (JsonObject *object,
                                    const gchar *member,
                                    const gchar **value,
                                    GError **error);
gboolean hg_json_object_get_optional_string (JsonObject *object,
                                             const gchar *member,
                                             const gchar **value,
                                             GError **error);
gboolean hg_json_object_get_int (JsonObject *object,
                                 const gchar *member,
                                 gint64 min,
                                 gint64 max,
                                 gint64 *value,
                                 GError **error);
gboolean hg_json_object_get_optional_int (JsonObject *object,
                                          const gchar *member,
                                          gint64 min,
                                          gint64 max,
                                          gint64 *value,
                                          GError **error);
gboolean hg_json_object_get_double (JsonObject *object,
                                    const gchar *member,
                                    gdouble *value,
                                    GError **error);
gboolean hg_json_object_get_boolean (JsonObject *object,
                                     const gchar *member,
                                     gboolean *value,
                                     GError **error);
gboolean hg_json_object_get_object (JsonObject *object,
                                    const gchar *member,
                                    JsonObject **value,
                                    GError **error);
gboolean hg_json_object_get_array (JsonObject *object,
                                   const gchar *member,
                                   JsonArray **value,
                                   GError **error);
gboolean hg_json_object_check_members (JsonObject *object,
                                       const gchar *const *allowed,
                                       GError **error);
gchar *hg_json_object_to_string (JsonObject *object);

G_END_DECLS
