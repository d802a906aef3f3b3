/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdChannels: the open channels between API clients and plugin instances, and the one
 * place that decides who may open one. */
#pragma once

#include <hemgate-plugin.h>

#include "hgd-grants.h"
#include "hgd-journal.h"
#include "hgd-plugin-instance.h"
#include "hgd-role.h"

G_BEGIN_DECLS

/* The most messages a channel carries each way in one second; more are refused. */
#define HGD_CHANNEL_MAX_RATE 100

#define HGD_CHANNELS_ERROR (hgd_channels_error_quark ())
GQuark hgd_channels_error_quark (void);

/**
 * HgdChannelsError:
 * @HGD_CHANNELS_ERROR_NO_INSTANCE: no such instance, or one of another domain the caller
 *   may not know of
 * @HGD_CHANNELS_ERROR_NOT_SERVED: the instance does not hold channel.serve
 * @HGD_CHANNELS_ERROR_ROLE: the caller's role may not open a channel to the instance
 * @HGD_CHANNELS_ERROR_NOT_RUNNING: the instance is not running
 * @HGD_CHANNELS_ERROR_NOT_OPEN: the channel is not open (to this instance or client)
 * @HGD_CHANNELS_ERROR_TOO_LARGE: the message is too large
 * @HGD_CHANNELS_ERROR_RATE: past the channel's message rate
 * @HGD_CHANNELS_ERROR_PURPOSE: an unknown purpose
 * @HGD_CHANNELS_ERROR_NO_CONSENT: the purpose needs a consent grant that does not hold now
 */
typedef enum
{
  HGD_CHANNELS_ERROR_NO_INSTANCE,
  HGD_CHANNELS_ERROR_NOT_SERVED,
  HGD_CHANNELS_ERROR_ROLE,
  HGD_CHANNELS_ERROR_NOT_RUNNING,
  HGD_CHANNELS_ERROR_NOT_OPEN,
  HGD_CHANNELS_ERROR_TOO_LARGE,
  HGD_CHANNELS_ERROR_RATE,
  HGD_CHANNELS_ERROR_PURPOSE,
  HGD_CHANNELS_ERROR_NO_CONSENT,
} HgdChannelsError;

/* Where a channel's client gets what the plugin sends: @message, or the close (@message
 * NULL, @reason why: "plugin" closed it, the instance "stopped", its purpose's "consent"
 * no longer holds). */
typedef void (*HgdChannelSink) (const gchar *channel_id,
                                JsonObject *message,
                                const gchar *reason,
                                gpointer owner);

#define HGD_TYPE_CHANNELS (hgd_channels_get_type ())
G_DECLARE_FINAL_TYPE (HgdChannels, hgd_channels, HGD, CHANNELS, GObject)

HgdChannels *hgd_channels_new (HgdJournal *const *journals);
void hgd_channels_set_grants (HgdChannels *self,
                              HgdGrants *grants);

gchar *hgd_channels_open (HgdChannels *self,
                          HgdPluginInstance *instance,
                          const gchar *username,
                          HgdRole role,
                          const gchar *purpose,
                          HgdChannelSink sink,
                          gpointer owner,
                          GError **error);
gboolean hgd_channels_client_send (HgdChannels *self,
                                   gpointer owner,
                                   const gchar *channel_id,
                                   JsonObject *message,
                                   GError **error);
gboolean hgd_channels_client_close (HgdChannels *self,
                                    gpointer owner,
                                    const gchar *channel_id);
guint hgd_channels_close_owner (HgdChannels *self,
                                gpointer owner);
gboolean hgd_channels_plugin_send (HgdChannels *self,
                                   const gchar *instance_id,
                                   const gchar *channel_id,
                                   JsonObject *message,
                                   GError **error);
void hgd_channels_plugin_close (HgdChannels *self,
                                const gchar *instance_id,
                                const gchar *channel_id);
void hgd_channels_close_all (HgdChannels *self);
guint hgd_channels_get_n_open (HgdChannels *self);

G_END_DECLS
