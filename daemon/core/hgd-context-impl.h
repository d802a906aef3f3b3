/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdContextImpl: the core's org.hemgate.Context1 for one plugin instance, checked against its grant. */
#pragma once

#include "hgd-alarms.h"
#include "hgd-channels.h"
#include "hgd-journal.h"
#include "hgd-limits.h"
#include "hgd-secrets.h"

G_BEGIN_DECLS

#define HGD_TYPE_CONTEXT_IMPL (hgd_context_impl_get_type ())
G_DECLARE_FINAL_TYPE (HgdContextImpl, hgd_context_impl, HGD, CONTEXT_IMPL, GObject)

HgdContextImpl *hgd_context_impl_new (const gchar *instance_id,
                                      HgDomain domain,
                                      const gchar *const *grant,
                                      HgdJournal *const *journals,
                                      HgdAlarms *alarms,
                                      HgdSecrets *secrets);
gboolean hgd_context_impl_export (HgdContextImpl *self,
                                  GDBusConnection *connection,
                                  GError **error);
void hgd_context_impl_unexport (HgdContextImpl *self);
void hgd_context_impl_set_limits (HgdContextImpl *self,
                                  HgdLimits *limits);
guint hgd_context_impl_get_n_denied (HgdContextImpl *self);
GStrv hgd_context_impl_dup_missing_secrets (HgdContextImpl *self);
JsonObject *hgd_context_impl_get_health (HgdContextImpl *self,
                                         gint64 *time);

GError *hgd_context_impl_error_to_hg (const GError *error);

void hgd_context_impl_set_channels (HgdContextImpl *self,
                                    HgdChannels *channels);

G_END_DECLS
