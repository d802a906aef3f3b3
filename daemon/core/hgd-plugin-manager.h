/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdPluginManager: one hemgate-plugin-host process per configured plugin instance. */
#pragma once

#include "hgd-access-log.h"
#include "hgd-alarms.h"
#include "hgd-channels.h"
#include "hgd-config.h"
#include "hgd-grants.h"
#include "hgd-journal.h"
#include "hgd-limits.h"
#include "hgd-plugin-instance.h"
#include "hgd-secrets.h"

G_BEGIN_DECLS

#define HGD_TYPE_PLUGIN_MANAGER (hgd_plugin_manager_get_type ())
G_DECLARE_FINAL_TYPE (HgdPluginManager, hgd_plugin_manager, HGD, PLUGIN_MANAGER, GObject)

/* journals: HG_DOMAIN_LAST entries; an entry may be NULL when that journal failed to open. */
HgdPluginManager *hgd_plugin_manager_new (HgdConfig *config,
                                          HgdJournal *const *journals,
                                          HgdAlarms *alarms,
                                          HgdSecrets *secrets);
void hgd_plugin_manager_start_async (HgdPluginManager *self,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);
gboolean hgd_plugin_manager_start_finish (HgdPluginManager *self,
                                          GAsyncResult *result,
                                          GError **error);
void hgd_plugin_manager_stop_async (HgdPluginManager *self,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);
gboolean hgd_plugin_manager_stop_finish (HgdPluginManager *self,
                                         GAsyncResult *result,
                                         GError **error);

/* A JSON array of {"id","plugin","name","version","provider","domain","capabilities",
 * "state","error","restarts","pid","dropped"}; healthy is FALSE if any enabled instance is
 * not running. "capabilities" is the grant; "dropped" counts sensor events a slow host
 * missed; unknown values are null. States: disabled, failed, stopped, starting, running,
 * restarting, stopping. "disabled_by" and "disabled_at" are set for an instance an
 * it-admin disabled (hgd_plugin_manager_set_disabled_async ()), else null. */
JsonArray *hgd_plugin_manager_to_json (HgdPluginManager *self,
                                       gboolean *healthy);
gboolean hgd_plugin_manager_check_health (HgdPluginManager *self,
                                          GString *missing);
JsonObject *hgd_plugin_manager_to_json_for_domain (HgdPluginManager *self,
                                                  HgDomain domain,
                                                  gboolean *healthy);
HgdLimits *hgd_plugin_manager_get_limits (HgdPluginManager *self);
HgdChannels *hgd_plugin_manager_get_channels (HgdPluginManager *self);
gboolean hgd_plugin_manager_restart (HgdPluginManager *self,
                                     const gchar *instance_id,
                                     GError **error);
guint hgd_plugin_manager_restart_domain (HgdPluginManager *self,
                                         HgDomain domain);
void hgd_plugin_manager_load_state (HgdPluginManager *self,
                                    const gchar *dir);
void hgd_plugin_manager_set_disabled_async (HgdPluginManager *self,
                                            const gchar *instance_id,
                                            gboolean disable,
                                            const gchar *who,
                                            GCancellable *cancellable,
                                            GAsyncReadyCallback callback,
                                            gpointer user_data);
gboolean hgd_plugin_manager_set_disabled_finish (HgdPluginManager *self,
                                                 GAsyncResult *result,
                                                 GError **error);
gchar *hgd_plugin_manager_dup_delivery_fault (HgdPluginManager *self);
void hgd_plugin_manager_secret_changed (HgdPluginManager *self,
                                        const gchar *instance_id,
                                        const gchar *key);
HgdPluginInstance *hgd_plugin_manager_find (HgdPluginManager *self,
                                            const gchar *instance_id);
struct _HgdBundles *hgd_plugin_manager_get_bundles (HgdPluginManager *self);
HgdAlarmRouting *hgd_plugin_manager_get_alarm_routing (HgdPluginManager *self);
HgdPluginInstance *hgd_plugin_manager_add_installed (HgdPluginManager *self,
                                                     const gchar *instance_id,
                                                     HgDomain domain,
                                                     const gchar *link);
void hgd_plugin_manager_remove_installed (HgdPluginManager *self,
                                          HgdPluginInstance *instance);
void hgd_plugin_manager_set_grants (HgdPluginManager *self,
                                    HgdGrants *grants,
                                    HgdAccessLog *access_log);

G_END_DECLS
