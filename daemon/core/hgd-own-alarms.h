/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdOwnAlarms: the home's alarms, projected into the personal journal as `alarm.own`. */
#pragma once

#include "hgd-accounts.h"
#include "hgd-journal.h"

G_BEGIN_DECLS

#define HGD_TYPE_OWN_ALARMS (hgd_own_alarms_get_type ())
G_DECLARE_FINAL_TYPE (HgdOwnAlarms, hgd_own_alarms, HGD, OWN_ALARMS, GObject)

HgdOwnAlarms *hgd_own_alarms_new (HgdJournal *municipal,
                                  HgdJournal *personal,
                                  HgdAccounts *accounts);
JsonObject *hgd_own_alarms_to_json (HgdOwnAlarms *self,
                                    HgAlarm *alarm,
                                    HgAlarmState state);
JsonObject *hgd_own_alarms_narrow_for (JsonObject *event,
                                       const gchar *username);

G_END_DECLS
