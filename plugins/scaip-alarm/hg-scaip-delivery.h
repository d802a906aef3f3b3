/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgScaipDelivery: the SCAIP exchange rules (SS 91100 §4-5): one session per alarm
 * reference, resent until the ARC acknowledges it, HOLD polling, failover between
 * receivers, ordered draining after an outage, aborts and heartbeats. */
#pragma once

#include <hemgate-plugin.h>

#include "hg-scaip-sip.h"

G_BEGIN_DECLS

/* The timers of PROTOCOL.md §6, in seconds. */
typedef struct
{
  const gchar *controller_id;     /* <cid>, 1-32 digits */
  const gchar *const *caller_ids; /* (nullable) <crd>, one per medium */
  guint answer_timeout;
  guint failover_timeout;
  guint retry_max;
  guint hold_interval;
  guint hold_max;
  guint heartbeat_interval; /* 0: no heartbeat */
  guint delivery_timeout;   /* no confirmation within this: delivery failed */
  gboolean register_;       /* REGISTER with each receiver */
  gboolean callback;        /* <cha>1</cha> on alarms a person may speak on */
  guint register_expires;
  guint max_in_flight; /* alarm requests one receiver has unanswered at a time */
} HgScaipDeliveryConfig;

#define HG_TYPE_SCAIP_DELIVERY (hg_scaip_delivery_get_type ())
G_DECLARE_FINAL_TYPE (HgScaipDelivery, hg_scaip_delivery, HG, SCAIP_DELIVERY, GObject)

HgScaipDelivery *hg_scaip_delivery_new (HgScaipSip *sip,
                                        const HgScaipDeliveryConfig *config);
void hg_scaip_delivery_start (HgScaipDelivery *self);
void hg_scaip_delivery_stop (HgScaipDelivery *self);
void hg_scaip_delivery_check_clock (HgScaipDelivery *self);
gboolean hg_scaip_delivery_add_alarm (HgScaipDelivery *self,
                                      HgAlarm *alarm,
                                      GError **error);
void hg_scaip_delivery_cancel_alarm (HgScaipDelivery *self,
                                     const gchar *ref,
                                     HgAlarm *alarm);
void hg_scaip_delivery_close_alarm (HgScaipDelivery *self,
                                    const gchar *ref);
void
hg_scaip_delivery_ref_journaled (HgScaipDelivery *self, const gchar *ref, const gchar *scaip_ref);
JsonObject *hg_scaip_delivery_describe_ref (const gchar *scaip_ref, const gchar *previous);
guint hg_scaip_delivery_get_active_receiver (HgScaipDelivery *self);
gboolean hg_scaip_delivery_get_line_ok (HgScaipDelivery *self);
guint hg_scaip_delivery_get_standby_receiver (HgScaipDelivery *self);
gboolean hg_scaip_delivery_get_standby_ok (HgScaipDelivery *self);
guint hg_scaip_delivery_get_heartbeat_interval (HgScaipDelivery *self);
gchar *hg_scaip_delivery_dup_fault (HgScaipDelivery *self);

G_END_DECLS
