/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdDaemon: owns every subsystem of hemgated and brings them up in order. */
#pragma once

#include "hgd-access-log.h"
#include "hgd-accounts.h"
#include "hgd-alarms.h"
#include "hgd-config.h"
#include "hgd-journal.h"
#include "hgd-plugin-manager.h"
#include "hgd-secrets.h"

G_BEGIN_DECLS

#define HGD_TYPE_DAEMON (hgd_daemon_get_type ())
G_DECLARE_FINAL_TYPE (HgdDaemon, hgd_daemon, HGD, DAEMON, GObject)

typedef struct _HgdApi HgdApi;

HgdDaemon *hgd_daemon_new (HgdConfig *config,
                           GCancellable *cancellable,
                           GError **error);
void hgd_daemon_start_async (HgdDaemon *self,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data);
gboolean hgd_daemon_start_finish (HgdDaemon *self,
                                  GAsyncResult *result,
                                  GError **error);
void hgd_daemon_stop_async (HgdDaemon *self,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data);
gboolean hgd_daemon_stop_finish (HgdDaemon *self,
                                 GAsyncResult *result,
                                 GError **error);

gchar *hgd_daemon_reset_journal (HgdConfig *config,
                                 HgDomain domain,
                                 GError **error);

HgdConfig *hgd_daemon_get_config (HgdDaemon *self);
const gchar *hgd_daemon_get_state_dir (HgdDaemon *self);
HgdJournal *hgd_daemon_get_journal (HgdDaemon *self,
                                    HgDomain domain);
const GError *hgd_daemon_get_journal_error (HgdDaemon *self,
                                            HgDomain domain);
HgdAccounts *hgd_daemon_get_accounts (HgdDaemon *self);
HgdAccessLog *hgd_daemon_get_access_log (HgdDaemon *self);
HgdAlarms *hgd_daemon_get_alarms (HgdDaemon *self);
HgdSecrets *hgd_daemon_get_secrets (HgdDaemon *self);
HgdPluginManager *hgd_daemon_get_plugin_manager (HgdDaemon *self);
HgdApi *hgd_daemon_get_api (HgdDaemon *self);
gint64 hgd_daemon_get_start_time (HgdDaemon *self);

G_END_DECLS
