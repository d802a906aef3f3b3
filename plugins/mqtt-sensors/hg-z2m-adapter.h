/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgZ2mAdapter: Zigbee2MQTT device state, availability and bridge/devices to readings. */
#pragma once

#include "hg-sensor-adapter.h"

G_BEGIN_DECLS

#define HG_TYPE_Z2M_ADAPTER (hg_z2m_adapter_get_type ())
G_DECLARE_FINAL_TYPE (HgZ2mAdapter, hg_z2m_adapter, HG, Z2M_ADAPTER, GObject)

HgZ2mAdapter *hg_z2m_adapter_new (HgSensorRegistry *registry,
                                  HgDomain domain,
                                  const gchar *base_topic,
                                  gboolean subscribe_all,
                                  gsize max_payload,
                                  gsize max_bridge_payload);
gboolean hg_z2m_adapter_base_topic_is_valid (const gchar *base_topic,
                                             GError **error);

G_END_DECLS
