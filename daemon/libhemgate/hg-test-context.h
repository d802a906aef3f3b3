/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgTestContext: an HgContext with no core behind it, for a plugin's unit tests. It
 * answers as the core would and records what the plugin did. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "hg-alarm.h"
#include "hg-config.h"
#include "hg-context.h"
#include "hg-domain.h"
#include "hg-event.h"
#include "hg-plugin.h"

G_BEGIN_DECLS

/**
 * HgTestContextCall:
 * @HG_TEST_CONTEXT_CALL_PUBLISH_EVENT: hg_context_publish_event_async()
 * @HG_TEST_CONTEXT_CALL_RAISE_ALARM: hg_context_raise_alarm_async()
 * @HG_TEST_CONTEXT_CALL_REPORT_ALARM: hg_context_report_alarm_async()
 * @HG_TEST_CONTEXT_CALL_LOOKUP_SECRET: hg_context_lookup_secret_async()
 * @HG_TEST_CONTEXT_CALL_STORE_SECRET: hg_context_store_secret_async()
 *
 * The kinds of call a plugin makes on its #HgContext that can fail, for
 * hg_test_context_fail_next() and hg_test_context_get_n_calls().
 *
 * Since: 1.0
 */
typedef enum
{
  HG_TEST_CONTEXT_CALL_PUBLISH_EVENT,
  HG_TEST_CONTEXT_CALL_RAISE_ALARM,
  HG_TEST_CONTEXT_CALL_REPORT_ALARM,
  HG_TEST_CONTEXT_CALL_LOOKUP_SECRET,
  HG_TEST_CONTEXT_CALL_STORE_SECRET,
  /*< private >*/
  HG_TEST_CONTEXT_CALL_LAST
} HgTestContextCall;

/* Declared by hand rather than with G_DECLARE_FINAL_TYPE, which needs the class of
 * HgContext, and that is private. */
#define HG_TYPE_TEST_CONTEXT (hg_test_context_get_type ())
#define HG_TEST_CONTEXT(obj) (G_TYPE_CHECK_INSTANCE_CAST ((obj), HG_TYPE_TEST_CONTEXT, HgTestContext))
#define HG_IS_TEST_CONTEXT(obj) (G_TYPE_CHECK_INSTANCE_TYPE ((obj), HG_TYPE_TEST_CONTEXT))

typedef struct _HgTestContext HgTestContext;
typedef struct _HgTestContextClass HgTestContextClass;

GType hg_test_context_get_type (void);

HgTestContext *hg_test_context_new (const gchar *plugin_id,
                                    HgDomain domain,
                                    HgConfig *config,
                                    const gchar *const *capabilities);
HgTestContext *hg_test_context_new_from_data (const gchar *plugin_id,
                                              HgDomain domain,
                                              const gchar *config_data,
                                              const gchar *const *capabilities,
                                              GError **error);

void hg_test_context_fail_next (HgTestContext *self,
                                HgTestContextCall call,
                                const GError *error);
void hg_test_context_set_secret (HgTestContext *self,
                                 const gchar *key,
                                 const gchar *value);
void hg_test_context_change_secret (HgTestContext *self,
                                    const gchar *key,
                                    const gchar *value);
gboolean hg_test_context_deliver_event (HgTestContext *self,
                                        HgPlugin *plugin,
                                        HgEvent *event,
                                        GError **error);

GPtrArray *hg_test_context_get_events (HgTestContext *self);
GPtrArray *hg_test_context_get_alarms (HgTestContext *self);
guint hg_test_context_get_n_alarm_reports (HgTestContext *self);
const gchar *hg_test_context_get_alarm_report (HgTestContext *self,
                                              guint index,
                                              HgAlarmState *state,
                                              JsonObject **detail);
GPtrArray *hg_test_context_get_health_reports (HgTestContext *self);
const gchar *hg_test_context_get_secret (HgTestContext *self,
                                         const gchar *key);
guint hg_test_context_get_n_calls (HgTestContext *self,
                                   HgTestContextCall call);
guint hg_test_context_get_n_denied (HgTestContext *self);

gchar *hg_test_context_channel_open (HgTestContext *self,
                                     const gchar *user,
                                     const gchar *role,
                                     const gchar *purpose);
gboolean hg_test_context_channel_deliver (HgTestContext *self,
                                          const gchar *channel_id,
                                          JsonObject *message,
                                          GError **error);
void hg_test_context_channel_close (HgTestContext *self,
                                    const gchar *channel_id);
gboolean hg_test_context_channel_is_open (HgTestContext *self,
                                          const gchar *channel_id);
GPtrArray *hg_test_context_get_channel_messages (HgTestContext *self,
                                                 const gchar *channel_id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgTestContext, g_object_unref)

G_END_DECLS
