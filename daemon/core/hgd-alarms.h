/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdAlarms: the life cycle of social alarms, kept durably in the municipal journal. */
#pragma once

#include "hgd-alarm-lifecycle.h"
#include "hgd-journal.h"

G_BEGIN_DECLS

#define HGD_ALARMS_ERROR (hgd_alarms_error_quark ())

typedef enum
{
  HGD_ALARMS_ERROR_KEY_IN_FLIGHT,      /* an alarm with this idempotency key is being raised */
  HGD_ALARMS_ERROR_KEY_REUSED,         /* the key was used for a different alarm */
  HGD_ALARMS_ERROR_ILLEGAL_TRANSITION, /* the life cycle has no such move for this caller */
} HgdAlarmsError;

GQuark hgd_alarms_error_quark (void);

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
void hgd_alarms_raise_idempotent_async (HgdAlarms *self,
                                        HgAlarm *alarm,
                                        const gchar *source,
                                        const gchar *key,
                                        const gchar *fingerprint,
                                        GCancellable *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer user_data);
gchar *hgd_alarms_raise_idempotent_finish (HgdAlarms *self,
                                           GAsyncResult *result,
                                           gboolean *replayed,
                                           GError **error);
void hgd_alarms_transition_async (HgdAlarms *self,
                                  const gchar *reference,
                                  HgAlarmState state,
                                  HgdAlarmCaller caller,
                                  const gchar *who,
                                  JsonObject *detail,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);
void hgd_alarms_transition_as_async (HgdAlarms *self,
                                     const gchar *reference,
                                     HgAlarmState state,
                                     HgdAlarmCaller caller,
                                     const gchar *who,
                                     const gchar *who_name,
                                     const gchar *who_issuer,
                                     JsonObject *detail,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);
void hgd_alarms_transition_steps_async (HgdAlarms *self,
                                        const gchar *reference,
                                        guint n_steps,
                                        const HgAlarmState *states,
                                        JsonObject *const *details,
                                        HgdAlarmCaller caller,
                                        const gchar *who,
                                        GCancellable *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer user_data);
GPtrArray *hgd_alarms_transition_steps_finish (HgdAlarms *self,
                                               GAsyncResult *result);
gboolean hgd_alarms_transition_finish (HgdAlarms *self,
                                       GAsyncResult *result,
                                       GError **error);
gboolean hgd_alarms_transition_as_finish (HgdAlarms *self,
                                          GAsyncResult *result,
                                          GError **error);

G_END_DECLS
