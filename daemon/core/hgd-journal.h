/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdJournal: one domain's durable event journal and alarm records (SQLite, WAL). */
#pragma once

#include <hemgate-plugin.h>
#include <hg-alarm-private.h>
#include <hg-event-private.h>

#include "hgd-access-entry.h"

G_BEGIN_DECLS

#define HGD_JOURNAL_ERROR (hgd_journal_error_quark ())

typedef enum
{
  HGD_JOURNAL_ERROR_CORRUPT,   /* the file is not a usable journal */
  HGD_JOURNAL_ERROR_DISK_FULL, /* SQLITE_FULL or ENOSPC: nothing new is accepted */
  HGD_JOURNAL_ERROR_IO,        /* any other storage failure */
  HGD_JOURNAL_ERROR_NOT_FOUND, /* no such alarm */
  HGD_JOURNAL_ERROR_INVALID,   /* e.g. a backwards alarm transition */
} HgdJournalError;

GQuark hgd_journal_error_quark (void);

/* Health warns when a journal holds this share of its size budget. */
#define HGD_JOURNAL_SIZE_WARNING_PERCENT 80

/* How long an idempotency key is kept: a retry within a day gets the same alarm. */
#define HGD_JOURNAL_IDEMPOTENCY_KEY_LIFETIME ((gint64) 24 * 3600 * G_USEC_PER_SEC)

#define HGD_TYPE_JOURNAL (hgd_journal_get_type ())
G_DECLARE_FINAL_TYPE (HgdJournal, hgd_journal, HGD, JOURNAL, GObject)

HgdJournal *hgd_journal_new (HgDomain domain,
                             const gchar *directory,
                             GError **error);
HgDomain hgd_journal_get_domain (HgdJournal *self);
const gchar *hgd_journal_get_path (HgdJournal *self);
guint64 hgd_journal_get_last_seq (HgdJournal *self);
const gchar *hgd_journal_get_fault (HgdJournal *self);

void hgd_journal_append_async (HgdJournal *self,
                               HgEvent *event,
                               HgAlarm *alarm,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data);
void hgd_journal_append_keyed_async (HgdJournal *self,
                                     HgEvent *event,
                                     HgAlarm *alarm,
                                     const gchar *scope,
                                     const gchar *key,
                                     const gchar *fingerprint,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);
void hgd_journal_begin_group (HgdJournal *self);
void hgd_journal_end_group (HgdJournal *self);
gboolean hgd_journal_append_finish (HgdJournal *self,
                                    GAsyncResult *result,
                                    GError **error);
gboolean hgd_journal_append_keyed_finish (HgdJournal *self,
                                          GAsyncResult *result,
                                          GError **error);
gboolean hgd_journal_lookup_idempotency_key (HgdJournal *self,
                                             const gchar *scope,
                                             const gchar *key,
                                             gint64 now,
                                             gchar **alarm_ref,
                                             gchar **fingerprint,
                                             GError **error);

void hgd_journal_append_access_async (HgdJournal *self,
                                      HgdAccessEntry *entry,
                                      GCancellable *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer user_data);
HgdAccessEntry *hgd_journal_append_access_finish (HgdJournal *self,
                                                  GAsyncResult *result,
                                                  GError **error);
void hgd_journal_sync (HgdJournal *self);
void hgd_journal_flush_async (HgdJournal *self,
                              GAsyncReadyCallback callback,
                              gpointer user_data);
gboolean hgd_journal_flush_finish (HgdJournal *self,
                                   GAsyncResult *result,
                                   GError **error);
GPtrArray *hgd_journal_query_access (HgdJournal *self,
                                     guint64 after,
                                     guint64 before,
                                     guint limit,
                                     gboolean newest_first,
                                     GError **error);
gboolean hgd_journal_get_access_head (HgdJournal *self,
                                      guint64 *seq,
                                      gchar **hash,
                                      GError **error);

GPtrArray *hgd_journal_query_events (HgdJournal *self,
                                     guint64 after,
                                     guint limit,
                                     GError **error);
GPtrArray *hgd_journal_query_alarm_events (HgdJournal *self,
                                          guint64 after,
                                          GError **error);
GPtrArray *hgd_journal_query_events_of_type (HgdJournal *self,
                                            const gchar *type,
                                            gint64 since,
                                            guint64 before,
                                            guint limit,
                                            GError **error);
GPtrArray *hgd_journal_query_readings (HgdJournal *self,
                                      const gchar *device,
                                      gint64 since,
                                      guint limit,
                                      GError **error);
GPtrArray *hgd_journal_query_latest_readings (HgdJournal *self,
                                             GError **error);
GArray *hgd_journal_count_readings (HgdJournal *self,
                                    const gchar *device,
                                    gint64 since,
                                    gint64 bucket,
                                    guint n_buckets,
                                    GError **error);
gint64 hgd_journal_count_alarms_in_state (HgdJournal *self, HgAlarmState state, GError **error);
GPtrArray *hgd_journal_list_alarms (HgdJournal *self,
                                    gboolean open_only,
                                    GError **error);
HgAlarm *hgd_journal_get_alarm (HgdJournal *self,
                                const gchar *reference,
                                GError **error);

gchar *hgd_journal_set_aside (const gchar *directory,
                              const gchar *const *extra,
                              GError **error);

void hgd_journal_set_size_budget (HgdJournal *self,
                                  guint64 bytes);
guint64 hgd_journal_get_size_budget (HgdJournal *self);
guint64 hgd_journal_get_used_size_bound (HgdJournal *self);
gboolean hgd_journal_get_used_size (HgdJournal *self,
                                    guint64 *used,
                                    GError **error);
void hgd_journal_set_retention (HgdJournal *self,
                                const gchar *type_prefix,
                                guint days);
gboolean hgd_journal_prune (HgdJournal *self,
                            gint64 now,
                            guint *n_removed,
                            GError **error);
gboolean hgd_journal_erase (HgdJournal *self,
                            GError **error);
void hgd_journal_prune_async (HgdJournal *self,
                              gint64 now,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data);
gboolean hgd_journal_prune_finish (HgdJournal *self,
                                   GAsyncResult *result,
                                   guint *n_removed,
                                   GError **error);

G_END_DECLS
