/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdPluginInstance: one [plugin:<id>] of hemgate.conf and the host process that runs it. */
#pragma once

#include "hgd-alarm-routing.h"
#include "hgd-alarms.h"
#include "hgd-config.h"
#include "hgd-journal.h"
#include "hgd-limits.h"
#include "hgd-secrets.h"

G_BEGIN_DECLS

struct _HgdChannels;

/**
 * HgdPluginState:
 * @HGD_PLUGIN_STATE_DISABLED: `enabled = false` in the configuration
 * @HGD_PLUGIN_STATE_FAILED: cannot run until an operator acts (bad manifest, bad
 *   configuration, a grant the deployment cannot give); see the error
 * @HGD_PLUGIN_STATE_STOPPED: not started, or stopped
 * @HGD_PLUGIN_STATE_STARTING: a host is spawned and has not yet answered Start
 * @HGD_PLUGIN_STATE_RUNNING: the plugin started and its host answers the watchdog
 * @HGD_PLUGIN_STATE_RESTARTING: the host crashed or hung; waiting out the backoff
 * @HGD_PLUGIN_STATE_STOPPING: asked to stop; waiting for the host to exit
 */
typedef enum
{
  HGD_PLUGIN_STATE_DISABLED,
  HGD_PLUGIN_STATE_FAILED,
  HGD_PLUGIN_STATE_STOPPED,
  HGD_PLUGIN_STATE_STARTING,
  HGD_PLUGIN_STATE_RUNNING,
  HGD_PLUGIN_STATE_RESTARTING,
  HGD_PLUGIN_STATE_STOPPING,
} HgdPluginState;

const gchar *hgd_plugin_state_to_string (HgdPluginState state);

#define HGD_TYPE_PLUGIN_INSTANCE (hgd_plugin_instance_get_type ())
G_DECLARE_FINAL_TYPE (HgdPluginInstance, hgd_plugin_instance, HGD, PLUGIN_INSTANCE, GObject)

HgdPluginInstance *hgd_plugin_instance_new (HgdConfig *config,
                                            const gchar *instance_id,
                                            HgdJournal *const *journals,
                                            HgdAlarms *alarms,
                                            HgdSecrets *secrets);
HgdPluginInstance *hgd_plugin_instance_new_installed (HgdConfig *config,
                                                      const gchar *instance_id,
                                                      HgDomain domain,
                                                      const gchar *link,
                                                      HgdJournal *const *journals,
                                                      HgdAlarms *alarms,
                                                      HgdSecrets *secrets);
gboolean hgd_plugin_instance_reload (HgdPluginInstance *self);
const gchar *hgd_plugin_instance_get_installed_link (HgdPluginInstance *self);
void hgd_plugin_instance_set_stored_config (HgdPluginInstance *self,
                                            GHashTable *config);
const gchar *hgd_plugin_instance_get_id (HgdPluginInstance *self);
HgdPluginState hgd_plugin_instance_get_state (HgdPluginInstance *self);
void hgd_plugin_instance_set_alarm_routing (HgdPluginInstance *self,
                                            HgdAlarmRouting *routing);
void hgd_plugin_instance_reoffer_alarms (HgdPluginInstance *self,
                                         const gchar *const *references);
void hgd_plugin_instance_set_limits (HgdPluginInstance *self,
                                     HgdLimits *limits);
gboolean hgd_plugin_instance_is_enabled (HgdPluginInstance *self);
gboolean hgd_plugin_instance_delivers_alarms (HgdPluginInstance *self);
JsonObject *hgd_plugin_instance_to_json (HgdPluginInstance *self);
gchar *hgd_plugin_instance_dup_delivery_fault (HgdPluginInstance *self);

void hgd_plugin_instance_start (HgdPluginInstance *self);
gboolean hgd_plugin_instance_restart (HgdPluginInstance *self,
                                      GError **error);
void hgd_plugin_instance_stop_async (HgdPluginInstance *self,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);
gboolean hgd_plugin_instance_stop_finish (HgdPluginInstance *self,
                                          GAsyncResult *result,
                                          GError **error);
void hgd_plugin_instance_secret_changed (HgdPluginInstance *self,
                                         const gchar *key);
void hgd_plugin_instance_offer_event (HgdPluginInstance *self,
                                      HgEvent *event);
gboolean hgd_plugin_instance_offer_shared_event (HgdPluginInstance *self,
                                                 HgEvent *event);
HgDomain hgd_plugin_instance_get_domain (HgdPluginInstance *self);
gboolean hgd_plugin_instance_is_in_domain (HgdPluginInstance *self,
                                          HgDomain domain);
gchar **hgd_plugin_instance_dup_missing_secrets (HgdPluginInstance *self);
const gchar *const *hgd_plugin_instance_get_grant (HgdPluginInstance *self);
void hgd_plugin_instance_set_channels (HgdPluginInstance *self,
                                       struct _HgdChannels *channels);
void hgd_plugin_instance_channel_opened (HgdPluginInstance *self,
                                         const gchar *channel_id,
                                         const gchar *user,
                                         const gchar *role,
                                         const gchar *purpose);
void hgd_plugin_instance_channel_message (HgdPluginInstance *self,
                                          const gchar *channel_id,
                                          const gchar *message_json);
void hgd_plugin_instance_channel_closed (HgdPluginInstance *self,
                                         const gchar *channel_id);

G_END_DECLS
