/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The class of HgContext, for its implementations only: the plugin host's context
 * (daemon/host/hgd-host-context.c) and HgTestContext. Not installed. */
#pragma once

#include "hg-context.h"

G_BEGIN_DECLS

/**
 * HgContextClass:
 *
 * Implemented by the plugin host, which forwards each call to the core over its
 * private D-Bus connection, and by #HgTestContext. Not part of the public API: the
 * installed hg-context.h declares the type without its class, so the ABI of
 * #HgContext is its functions alone.
 *
 * Each `_async` completes a #GTask whose source object is the context, with what the
 * matching hg_context_*_finish() returns: the event's sequence number as a #guint64
 * pointer (g_task_return_pointer() with g_free()), the alarm's reference or the secret
 * as a string, or a boolean; the `_finish` functions of #HgContext read it back.
 *
 * Since: 1.0
 */
struct _HgContextClass
{
  GObjectClass parent_class;

  void (*publish_event_async) (HgContext *self,
                               HgEvent *event,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data);
  void (*raise_alarm_async) (HgContext *self,
                             HgAlarm *alarm,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data);
  void (*report_alarm_async) (HgContext *self,
                              const gchar *reference,
                              HgAlarmState state,
                              JsonObject *detail,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data);
  void (*lookup_secret_async) (HgContext *self,
                               const gchar *key,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data);
  void (*store_secret_async) (HgContext *self,
                              const gchar *key,
                              const gchar *value,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data);
  void (*report_health) (HgContext *self,
                         JsonObject *health);
  /* since 1.1 */
  void (*channel_send) (HgContext *self,
                        const gchar *channel_id,
                        JsonObject *message);
  void (*channel_close) (HgContext *self,
                         const gchar *channel_id);
};

G_END_DECLS
