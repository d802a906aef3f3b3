/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgContext: a plugin's only window onto the gateway. Every call is checked by the core.
 * Plugins get one and call it; they cannot subclass it (its class is private). */
#pragma once

#include <gio/gio.h>

#include "hg-alarm.h"
#include "hg-config.h"
#include "hg-domain.h"
#include "hg-event.h"

G_BEGIN_DECLS

#define HG_TYPE_CONTEXT (hg_context_get_type ())
G_DECLARE_DERIVABLE_TYPE (HgContext, hg_context, HG, CONTEXT, GObject)

/* HgContextClass is not public: a plugin never implements a context. The plugin host's
 * context and HgTestContext, which plugin tests use, are the only subclasses, inside
 * libhemgate and the host (hg-context-private.h). */

const gchar *hg_context_get_plugin_id (HgContext *self);
HgDomain hg_context_get_domain (HgContext *self);
HgConfig *hg_context_get_config (HgContext *self);
const gchar *const *hg_context_get_capabilities (HgContext *self);
gboolean hg_context_has_capability (HgContext *self,
                                    const gchar *capability);

void hg_context_publish_event_async (HgContext *self,
                                     HgEvent *event,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);
guint64 hg_context_publish_event_finish (HgContext *self,
                                         GAsyncResult *result,
                                         GError **error);
void hg_context_raise_alarm_async (HgContext *self,
                                   HgAlarm *alarm,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data);
gchar *hg_context_raise_alarm_finish (HgContext *self,
                                      GAsyncResult *result,
                                      GError **error);
void hg_context_report_alarm_async (HgContext *self,
                                    const gchar *reference,
                                    HgAlarmState state,
                                    JsonObject *detail,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);
gboolean hg_context_report_alarm_finish (HgContext *self,
                                         GAsyncResult *result,
                                         GError **error);
void hg_context_lookup_secret_async (HgContext *self,
                                     const gchar *key,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);
gchar *hg_context_lookup_secret_finish (HgContext *self,
                                        GAsyncResult *result,
                                        GError **error);
void hg_context_store_secret_async (HgContext *self,
                                    const gchar *key,
                                    const gchar *value,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);
gboolean hg_context_store_secret_finish (HgContext *self,
                                         GAsyncResult *result,
                                         GError **error);
void hg_context_report_health (HgContext *self,
                               JsonObject *health);

/**
 * HG_CONTEXT_CHANNEL_MAX_MESSAGE:
 *
 * The largest message, as JSON text, that a channel carries either way; the core refuses a
 * larger one from a client and the host drops a larger one from the plugin.
 *
 * Since: 1.1
 */
#define HG_CONTEXT_CHANNEL_MAX_MESSAGE (64 * 1024)

void hg_context_channel_send (HgContext *self,
                              const gchar *channel_id,
                              JsonObject *message);
void hg_context_channel_close (HgContext *self,
                               const gchar *channel_id);

G_END_DECLS
