/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdAccessLog: who accessed what, per domain, append-only and tamper-evident. */
#pragma once

#include "hgd-access-entry.h"
#include "hgd-journal.h"

G_BEGIN_DECLS

#define HGD_TYPE_ACCESS_LOG (hgd_access_log_get_type ())
G_DECLARE_FINAL_TYPE (HgdAccessLog, hgd_access_log, HGD, ACCESS_LOG, GObject)

HgdAccessLog *hgd_access_log_new (HgdJournal *const *journals);
void hgd_access_log_record (HgdAccessLog *self,
                            HgDomain domain,
                            const gchar *actor,
                            const gchar *action,
                            const gchar *object,
                            JsonObject *detail);
GPtrArray *hgd_access_log_list (HgdAccessLog *self,
                                HgDomain domain,
                                guint64 before,
                                guint limit,
                                GError **error);
gboolean hgd_access_log_verify (HgdAccessLog *self,
                                HgDomain domain,
                                guint64 *n_entries,
                                guint64 *bad_seq,
                                const gchar **problem,
                                gchar **reason,
                                GError **error);
const gchar *hgd_access_log_get_fault (HgdAccessLog *self,
                                       HgDomain domain);
guint hgd_access_log_get_n_pending (HgdAccessLog *self);

G_END_DECLS
