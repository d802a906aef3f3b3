/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgChirpstackAdapter: ChirpStack v4 uplink and status events to readings, through the
 * device profiles of the configuration. */
#pragma once

#include "hg-sensor-adapter.h"

G_BEGIN_DECLS

#define HG_TYPE_CHIRPSTACK_ADAPTER (hg_chirpstack_adapter_get_type ())
G_DECLARE_FINAL_TYPE (HgChirpstackAdapter, hg_chirpstack_adapter, HG, CHIRPSTACK_ADAPTER, GObject)

HgChirpstackAdapter *hg_chirpstack_adapter_new (HgSensorRegistry *registry,
                                                HgDomain domain,
                                                const gchar *application,
                                                gsize max_payload);
gboolean hg_chirpstack_adapter_load_profiles (HgChirpstackAdapter *self,
                                              HgConfig *config,
                                              GError **error);
gboolean hg_chirpstack_adapter_application_is_valid (const gchar *application,
                                                     GError **error);

G_END_DECLS
