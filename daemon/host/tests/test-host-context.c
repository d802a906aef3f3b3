/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of HgdHostContext alone: each HgContext call becomes the stated Context1 call, and
 * the core's answers, errors included, come back to the plugin as HG_ERROR. A GtDBusQueue
 * plays the core. */
#include "config.h"

#include <libglib-testing/dbus-queue.h>

#include "hgd-host-context.h"

#define CONTEXT_PATH "/org/hemgate/Context"
#define CONTEXT_IFACE "org.hemgate.Context1"
#define CORE_NAME "org.hemgate.TestCore"

typedef struct
{
  GtDBusQueue *queue;       /* (owned) */
  guint name_id;
  HgdHostContext *context;  /* (owned) */
} Fixture;

static void
setup (Fixture *fixture,
       gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdDBusContext1) proxy = NULL;
  g_autoptr(HgConfig) config = hg_config_new ();
  const gchar *capabilities[] = { "sensor.publish", NULL };

  fixture->queue = gt_dbus_queue_new ();
  gt_dbus_queue_connect (fixture->queue, &error);
  g_assert_no_error (error);
  fixture->name_id = gt_dbus_queue_own_name (fixture->queue, CORE_NAME);
  gt_dbus_queue_export_object (fixture->queue, CONTEXT_PATH,
                               (GDBusInterfaceInfo *) hgd_dbus_context1_interface_info (), &error);
  g_assert_no_error (error);

  proxy = hgd_dbus_context1_proxy_new_sync (gt_dbus_queue_get_client_connection (fixture->queue),
                                            G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES |
                                              G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS |
                                              G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                            CORE_NAME, CONTEXT_PATH, NULL, &error);
  g_assert_no_error (error);
  fixture->context = hgd_host_context_new (proxy, "example", HG_DOMAIN_PERSONAL, config, capabilities);
}

static void
teardown (Fixture *fixture,
          gconstpointer user_data)
{
  g_clear_object (&fixture->context);
  /* Release the name before disconnecting: releasing it inside disconnect can leave an
   * idle in the queue's server context after its thread stopped, which gt_dbus_queue_free
   * asserts against (seen in about one run in ten). */
  gt_dbus_queue_unown_name (fixture->queue, fixture->name_id);
  gt_dbus_queue_disconnect (fixture->queue, TRUE);
  g_clear_pointer (&fixture->queue, gt_dbus_queue_free);
}

/* Invocations popped from the queue are answered with the g_autoptr reference kept: the
 * queue took its own reference when the call arrived, which the reply consumes. */

static void
result_cb (GObject *source,
           GAsyncResult *result,
           gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static GAsyncResult *
wait_for_result (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *result;
}

static void
test_publish_event (Fixture *fixture,
                    gconstpointer user_data)
{
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(HgEvent) event = NULL;
  g_autoptr(GDBusMethodInvocation) invocation = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const gchar *type = NULL;
  const gchar *body_json = NULL;
  guint64 seq;

  g_test_summary ("PublishEvent carries the type and the body as JSON, and returns the seq");
  json_object_set_int_member (body, "value", 21);
  event = hg_event_new ("sensor.reading", body);
  hg_context_publish_event_async (HG_CONTEXT (fixture->context), event, NULL, result_cb, &result);

  invocation = gt_dbus_queue_assert_pop_message (fixture->queue, CONTEXT_PATH, CONTEXT_IFACE,
                                                 "PublishEvent", "(&s&s)", &type, &body_json);
  g_assert_cmpstr (type, ==, "sensor.reading");
  g_assert_cmpstr (body_json, ==, "{\"value\":21}");
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(t)", (guint64) 42));

  seq = hg_context_publish_event_finish (HG_CONTEXT (fixture->context), wait_for_result (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (seq, ==, 42);
}

static void
test_permission_denied (Fixture *fixture,
                        gconstpointer user_data)
{
  g_autoptr(HgAlarm) alarm = hg_alarm_new ("assistance");
  g_autoptr(GDBusMethodInvocation) invocation = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *ref = NULL;
  const gchar *alarm_json = NULL;

  g_test_summary ("The core's org.hemgate.Error.PermissionDenied reaches the plugin as "
                  "HG_ERROR_PERMISSION_DENIED with the core's message");
  hg_alarm_set_location (alarm, "hall");
  hg_context_raise_alarm_async (HG_CONTEXT (fixture->context), alarm, NULL, result_cb, &result);

  invocation = gt_dbus_queue_assert_pop_message (fixture->queue, CONTEXT_PATH, CONTEXT_IFACE,
                                                 "RaiseAlarm", "(&s)", &alarm_json);
  g_assert_nonnull (strstr (alarm_json, "\"location\":\"hall\""));
  g_dbus_method_invocation_return_dbus_error (invocation,
                                              "org.hemgate.Error.PermissionDenied",
                                              "RaiseAlarm needs the capability alarm.raise");

  ref = hg_context_raise_alarm_finish (HG_CONTEXT (fixture->context), wait_for_result (&result), &error);
  g_assert_error (error, HG_ERROR, HG_ERROR_PERMISSION_DENIED);
  g_assert_cmpstr (error->message, ==, "RaiseAlarm needs the capability alarm.raise");
  g_assert_null (ref);
}

static void
test_raise_alarm (Fixture *fixture,
                  gconstpointer user_data)
{
  g_autoptr(HgAlarm) alarm = hg_alarm_new ("fall");
  g_autoptr(GDBusMethodInvocation) invocation = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *ref = NULL;
  const gchar *alarm_json = NULL;

  g_test_summary ("RaiseAlarm returns the reference the core gave the alarm");
  hg_context_raise_alarm_async (HG_CONTEXT (fixture->context), alarm, NULL, result_cb, &result);
  invocation = gt_dbus_queue_assert_pop_message (fixture->queue, CONTEXT_PATH, CONTEXT_IFACE,
                                                 "RaiseAlarm", "(&s)", &alarm_json);
  g_assert_nonnull (strstr (alarm_json, "\"type\":\"fall\""));
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", "A-1"));

  ref = hg_context_raise_alarm_finish (HG_CONTEXT (fixture->context), wait_for_result (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ref, ==, "A-1");
}

static void
test_report_alarm (Fixture *fixture,
                   gconstpointer user_data)
{
  g_autoptr(JsonObject) detail = json_object_new ();
  g_autoptr(GDBusMethodInvocation) invocation = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const gchar *ref = NULL;
  const gchar *state = NULL;
  const gchar *detail_json = NULL;

  g_test_summary ("ReportAlarm sends the state's stable name and the detail as JSON; "
                  "the core's NotFound comes back as HG_ERROR_NOT_FOUND");
  json_object_set_string_member (detail, "receiver", "arc-1");
  hg_context_report_alarm_async (HG_CONTEXT (fixture->context), "A-1", HG_ALARM_STATE_ACKNOWLEDGED,
                                 detail, NULL, result_cb, &result);
  invocation = gt_dbus_queue_assert_pop_message (fixture->queue, CONTEXT_PATH, CONTEXT_IFACE,
                                                 "ReportAlarm", "(&s&s&s)", &ref, &state, &detail_json);
  g_assert_cmpstr (ref, ==, "A-1");
  g_assert_cmpstr (state, ==, "acknowledged");
  g_assert_cmpstr (detail_json, ==, "{\"receiver\":\"arc-1\"}");
  g_dbus_method_invocation_return_dbus_error (invocation,
                                              "org.hemgate.Error.NotFound", "no alarm A-1");

  g_assert_false (hg_context_report_alarm_finish (HG_CONTEXT (fixture->context),
                                                  wait_for_result (&result), &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_NOT_FOUND);
}

static void
test_secrets (Fixture *fixture,
              gconstpointer user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) result2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *value = NULL;
  const gchar *key = NULL;
  const gchar *stored = NULL;

  g_test_summary ("StoreSecret and LookupSecret carry key and value; an error name the core "
                  "never uses comes back as HG_ERROR_FAILED");
  hg_context_store_secret_async (HG_CONTEXT (fixture->context), "sip-password", "hemligt", NULL,
                                 result_cb, &result);
  invocation = gt_dbus_queue_assert_pop_message (fixture->queue, CONTEXT_PATH, CONTEXT_IFACE,
                                                 "StoreSecret", "(&s&s)", &key, &stored);
  g_assert_cmpstr (key, ==, "sip-password");
  g_assert_cmpstr (stored, ==, "hemligt");
  g_dbus_method_invocation_return_value (invocation, NULL);
  g_assert_true (hg_context_store_secret_finish (HG_CONTEXT (fixture->context),
                                                 wait_for_result (&result), &error));
  g_assert_no_error (error);

  hg_context_lookup_secret_async (HG_CONTEXT (fixture->context), "sip-password", NULL, result_cb, &result2);
  g_clear_object (&invocation);
  invocation = gt_dbus_queue_assert_pop_message (fixture->queue, CONTEXT_PATH, CONTEXT_IFACE,
                                                 "LookupSecret", "(&s)", &key);
  g_assert_cmpstr (key, ==, "sip-password");
  g_dbus_method_invocation_return_dbus_error (invocation,
                                              "org.freedesktop.DBus.Error.Failed", "keyring locked");
  value = hg_context_lookup_secret_finish (HG_CONTEXT (fixture->context), wait_for_result (&result2), &error);
  g_assert_error (error, HG_ERROR, HG_ERROR_FAILED);
  g_assert_null (value);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/host/context/publish-event-returns-seq", Fixture, NULL, setup, test_publish_event, teardown);
  g_test_add ("/host/context/permission-denied-maps-to-hg-error", Fixture, NULL, setup,
              test_permission_denied, teardown);
  g_test_add ("/host/context/raise-alarm-returns-ref", Fixture, NULL, setup, test_raise_alarm, teardown);
  g_test_add ("/host/context/report-alarm-sends-state-name", Fixture, NULL, setup, test_report_alarm, teardown);
  g_test_add ("/host/context/secrets-round-trip", Fixture, NULL, setup, test_secrets, teardown);
  return g_test_run ();
}
