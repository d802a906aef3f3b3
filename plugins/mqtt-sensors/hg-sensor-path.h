/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgSensorPath: a small JSON path (`$.a.b[0].c`) from the configuration, compiled once and
 * looked up in untrusted JSON with every step's type checked. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _HgSensorPath HgSensorPath;

HgSensorPath *hg_sensor_path_new (const gchar *text,
                                  GError **error);
void hg_sensor_path_free (HgSensorPath *self);
const gchar *hg_sensor_path_to_string (HgSensorPath *self);
const gchar *hg_sensor_path_get_last_name (HgSensorPath *self);
JsonNode *hg_sensor_path_lookup (HgSensorPath *self,
                                 JsonObject *root,
                                 GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgSensorPath, hg_sensor_path_free)

G_END_DECLS
