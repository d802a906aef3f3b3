/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdAlarms: the life cycle of social alarms, kept durably in the municipal journal. */
#pragma once

#include "hgd-journal.h"

G_BEGIN_DECLS

#define HGD_TYPE_ALARMS (hgd_alarms_get_type ())
G_DECLARE_FINAL_TYPE (HgdAlarms, hgd_alarms, HGD, ALARMS, GObject)

HgdAlarms *hgd_alarms_new (HgdJournal *journal);
gchar *hgd_alarms_new_reference (void);

void hgd_alarms_raise_async (HgdAlarms *self,
                             HgAlarm *alarm,
                             const gchar *source,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data);
gchar *hgd_alarms_raise_finish (HgdAlarms *self,
                                GAsyncResult *result,
                                GError **error);
void hgd_alarms_transition_async (HgdAlarms *self,
                                  const gchar *reference,
                                  HgAlarmState state,
                                  const gchar *who,
                                  JsonObject *detail,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);
gboolean hgd_alarms_transition_finish (HgdAlarms *self,
                                       GAsyncResult *result,
                                       GError **error);

G_END_DECLS
