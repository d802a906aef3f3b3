/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgPlugin: the base class every hemgate plugin subclasses. */
#pragma once

#include <gio/gio.h>
#include <gmodule.h>

#include "hg-config.h"
#include "hg-context.h"
#include "hg-event.h"

G_BEGIN_DECLS

#define HG_TYPE_PLUGIN (hg_plugin_get_type ())
G_DECLARE_DERIVABLE_TYPE (HgPlugin, hg_plugin, HG, PLUGIN, GObject)

/**
 * HgPluginClass:
 * @start_async: begin work: connect, subscribe, open devices
 * @start_finish: finish @start_async
 * @stop_async: release everything; called before the host exits
 * @stop_finish: finish @stop_async
 * @configure: check the configuration before start; return %FALSE with
 *   %HG_ERROR_INVALID_DATA naming the key for a bad value
 * @handle_event: an event the grant lets the plugin see (e.g. `alarm.raised` with
 *   `alarm.deliver`); must not block
 *
 * All vfuncs are optional. Each runs on the host's main loop, which must never block:
 * the core restarts a host that stops answering its watchdog.
 *
 * Since: 1.0
 */
struct _HgPluginClass
{
  GObjectClass parent_class;

  void (*start_async) (HgPlugin *self,
                       GCancellable *cancellable,
                       GAsyncReadyCallback callback,
                       gpointer user_data);
  gboolean (*start_finish) (HgPlugin *self,
                            GAsyncResult *result,
                            GError **error);
  void (*stop_async) (HgPlugin *self,
                      GCancellable *cancellable,
                      GAsyncReadyCallback callback,
                      gpointer user_data);
  gboolean (*stop_finish) (HgPlugin *self,
                           GAsyncResult *result,
                           GError **error);
  gboolean (*configure) (HgPlugin *self,
                         HgConfig *config,
                         GError **error);
  void (*handle_event) (HgPlugin *self,
                        HgEvent *event);

  /*< private >*/
  gpointer padding[8];
};

/**
 * HG_PLUGIN_EXPORT:
 *
 * Marks the one symbol a plugin module exports:
 * `HG_PLUGIN_EXPORT GType hg_plugin_query_type (void)`, which returns the plugin's
 * #HgPlugin subclass and does nothing else.
 *
 * Since: 1.0
 */
#define HG_PLUGIN_EXPORT G_MODULE_EXPORT

/**
 * HgPluginQueryTypeFunc:
 *
 * The type of `hg_plugin_query_type()`, the one symbol a plugin module exports.
 *
 * Returns: the module's #HgPlugin subclass
 *
 * Since: 1.0
 */
typedef GType (*HgPluginQueryTypeFunc) (void);

HgContext *hg_plugin_get_context (HgPlugin *self);
gboolean hg_plugin_configure (HgPlugin *self,
                              HgConfig *config,
                              GError **error);
void hg_plugin_start_async (HgPlugin *self,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data);
gboolean hg_plugin_start_finish (HgPlugin *self,
                                 GAsyncResult *result,
                                 GError **error);
void hg_plugin_stop_async (HgPlugin *self,
                           GCancellable *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer user_data);
gboolean hg_plugin_stop_finish (HgPlugin *self,
                                GAsyncResult *result,
                                GError **error);
void hg_plugin_handle_event (HgPlugin *self,
                             HgEvent *event);

G_END_DECLS
