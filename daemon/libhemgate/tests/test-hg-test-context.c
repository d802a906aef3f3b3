/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of HgTestContext, the context plugin authors test their plugins against: what it
 * records, what it refuses and with which error, the failures a test asks for, and that
 * its calls complete from the main loop, in order. That it refuses exactly what the core
 * refuses is checked against the core's own table in daemon/core/tests/test-context-impl.c. */
#include "config.h"

#include <string.h>

#include <hemgate-plugin.h>

/* A plugin that keeps the events it is handed. */
#define TEST_TYPE_PLUGIN (test_plugin_get_type ())
G_DECLARE_FINAL_TYPE (TestPlugin, test_plugin, TEST, PLUGIN, HgPlugin)

struct _TestPlugin
{
  HgPlugin parent_instance;
  GPtrArray *handled; /* (owned) (element-type HgEvent) */
};

G_DEFINE_TYPE (TestPlugin, test_plugin, HG_TYPE_PLUGIN)

static void
test_plugin_handle_event (HgPlugin *plugin,
                          HgEvent *event)
{
  g_ptr_array_add (TEST_PLUGIN (plugin)->handled, g_object_ref (event));
}

static void
test_plugin_finalize (GObject *object)
{
  g_ptr_array_unref (TEST_PLUGIN (object)->handled);
  G_OBJECT_CLASS (test_plugin_parent_class)->finalize (object);
}

static void
test_plugin_class_init (TestPluginClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_plugin_finalize;
  HG_PLUGIN_CLASS (klass)->handle_event = test_plugin_handle_event;
}

static void
test_plugin_init (TestPlugin *self)
{
  self->handled = g_ptr_array_new_with_free_func (g_object_unref);
}

static const gchar *const all_granted[] = { "sensor.publish", "alarm.raise", "alarm.deliver",
                                            "secrets", NULL };

/* One call's outcome, filled in by its callback. */
typedef struct
{
  gboolean returned; /* the call has returned to its caller */
  gboolean done;
  gboolean done_before_return;
  guint order;       /* the how-manyth completion */
  guint64 seq;
  gchar *string;     /* (owned) (nullable) a reference or a secret */
  gboolean ok;
  GError *error;     /* (owned) (nullable) */
} Call;

static guint n_completed;

static void
call_clear (Call *call)
{
  g_free (call->string);
  g_clear_error (&call->error);
  memset (call, 0, sizeof *call);
}

static void
finish (Call *call)
{
  call->done = TRUE;
  call->done_before_return = !call->returned;
  call->order = ++n_completed;
}

static void
published_cb (GObject *source,
              GAsyncResult *result,
              gpointer user_data)
{
  Call *call = user_data;

  call->seq = hg_context_publish_event_finish (HG_CONTEXT (source), result, &call->error);
  call->ok = call->seq != 0;
  finish (call);
}

static void
raised_cb (GObject *source,
           GAsyncResult *result,
           gpointer user_data)
{
  Call *call = user_data;

  call->string = hg_context_raise_alarm_finish (HG_CONTEXT (source), result, &call->error);
  call->ok = call->string != NULL;
  finish (call);
}

static void
reported_cb (GObject *source,
             GAsyncResult *result,
             gpointer user_data)
{
  Call *call = user_data;

  call->ok = hg_context_report_alarm_finish (HG_CONTEXT (source), result, &call->error);
  finish (call);
}

static void
looked_up_cb (GObject *source,
              GAsyncResult *result,
              gpointer user_data)
{
  Call *call = user_data;

  call->string = hg_context_lookup_secret_finish (HG_CONTEXT (source), result, &call->error);
  call->ok = call->string != NULL;
  finish (call);
}

static void
stored_cb (GObject *source,
           GAsyncResult *result,
           gpointer user_data)
{
  Call *call = user_data;

  call->ok = hg_context_store_secret_finish (HG_CONTEXT (source), result, &call->error);
  finish (call);
}

static void
wait_done (Call *call)
{
  while (!call->done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (call->done_before_return);
  g_assert_true (call->ok == (call->error == NULL));
}

static void
publish (HgTestContext *context,
         const gchar *type,
         JsonObject *body,
         GCancellable *cancellable,
         Call *call)
{
  g_autoptr(HgEvent) event = hg_event_new (type, body);

  hg_context_publish_event_async (HG_CONTEXT (context), event, cancellable, published_cb, call);
  call->returned = TRUE;
}

static void
raise_alarm (HgTestContext *context,
             const gchar *alarm_type,
             Call *call)
{
  g_autoptr(HgAlarm) alarm = hg_alarm_new (alarm_type);

  hg_alarm_set_location (alarm, "hall");
  hg_context_raise_alarm_async (HG_CONTEXT (context), alarm, NULL, raised_cb, call);
  call->returned = TRUE;
}

static void
report (HgTestContext *context,
        const gchar *reference,
        HgAlarmState state,
        JsonObject *detail,
        Call *call)
{
  hg_context_report_alarm_async (HG_CONTEXT (context), reference, state, detail, NULL, reported_cb,
                                 call);
  call->returned = TRUE;
}

static void
lookup (HgTestContext *context,
        const gchar *key,
        Call *call)
{
  hg_context_lookup_secret_async (HG_CONTEXT (context), key, NULL, looked_up_cb, call);
  call->returned = TRUE;
}

static void
store (HgTestContext *context,
       const gchar *key,
       const gchar *value,
       Call *call)
{
  hg_context_store_secret_async (HG_CONTEXT (context), key, value, NULL, stored_cb, call);
  call->returned = TRUE;
}

static JsonObject *
body_with (const gchar *member,
           gint64 value)
{
  JsonObject *body = json_object_new ();

  json_object_set_int_member (body, member, value);
  return body;
}

static void
test_publish_recorded (void)
{
  g_autoptr(HgTestContext) context = hg_test_context_new ("meter", HG_DOMAIN_PERSONAL, NULL,
                                                          all_granted);
  g_autoptr(JsonObject) body = body_with ("value", 21);
  Call first = { 0 };
  Call second = { 0 };
  GPtrArray *events;
  HgEvent *event;

  g_test_summary ("A publish is recorded as the core journals it: the domain of the instance, "
                  "the seq the call returned, its time, source plugin:<id>, and the body as it "
                  "was when published");
  publish (context, "sensor.reading", body, NULL, &first);
  json_object_set_int_member (body, "value", 99);
  publish (context, "sensor.reading", body, NULL, &second);
  wait_done (&first);
  wait_done (&second);
  g_assert_no_error (first.error);
  g_assert_cmpuint (first.seq, ==, 1);
  g_assert_cmpuint (second.seq, ==, 2);

  events = hg_test_context_get_events (context);
  g_assert_cmpuint (events->len, ==, 2);
  event = g_ptr_array_index (events, 0);
  g_assert_cmpstr (hg_event_get_event_type (event), ==, "sensor.reading");
  g_assert_cmpint (hg_event_get_domain (event), ==, HG_DOMAIN_PERSONAL);
  g_assert_cmpuint (hg_event_get_seq (event), ==, 1);
  g_assert_cmpstr (hg_event_get_source (event), ==, "plugin:meter");
  g_assert_cmpint (hg_event_get_timestamp (event), >, 0);
  g_assert_cmpint (json_object_get_int_member (hg_event_get_body (event), "value"), ==, 21);
  event = g_ptr_array_index (events, 1);
  g_assert_cmpint (json_object_get_int_member (hg_event_get_body (event), "value"), ==, 99);
  g_assert_cmpuint (hg_test_context_get_n_calls (context, HG_TEST_CONTEXT_CALL_PUBLISH_EVENT), ==, 2);
  g_assert_cmpuint (hg_test_context_get_n_denied (context), ==, 0);
  call_clear (&first);
  call_clear (&second);
}

static void
test_complete_in_order (void)
{
  g_autoptr(HgTestContext) context = hg_test_context_new ("meter", HG_DOMAIN_MUNICIPAL, NULL,
                                                          all_granted);
  g_autoptr(GError) unavailable = g_error_new_literal (HG_ERROR, HG_ERROR_UNAVAILABLE, "full");
  Call calls[5] = { { 0 } };

  g_test_summary ("Every call completes from the main loop, never before it returns, and calls "
                  "complete in the order made, whatever their kind and outcome");
  n_completed = 0;
  hg_test_context_fail_next (context, HG_TEST_CONTEXT_CALL_STORE_SECRET, unavailable);
  raise_alarm (context, "fall", &calls[0]);
  publish (context, "sensor.reading", NULL, NULL, &calls[1]);
  store (context, "pin", "1234", &calls[2]);
  lookup (context, "absent", &calls[3]);
  publish (context, "alarm.raised", NULL, NULL, &calls[4]);
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    g_assert_false (calls[i].done);
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    {
      wait_done (&calls[i]);
      g_assert_cmpuint (calls[i].order, ==, i + 1);
    }
  g_assert_true (calls[0].ok);
  g_assert_true (calls[1].ok);
  g_assert_error (calls[2].error, HG_ERROR, HG_ERROR_UNAVAILABLE);
  g_assert_error (calls[3].error, HG_ERROR, HG_ERROR_NOT_FOUND);
  g_assert_error (calls[4].error, HG_ERROR, HG_ERROR_PERMISSION_DENIED);
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    call_clear (&calls[i]);
}

static void
test_denied (void)
{
  const gchar *const none[] = { NULL };
  g_autoptr(HgTestContext) context = hg_test_context_new ("stranger", HG_DOMAIN_MUNICIPAL, NULL,
                                                          none);
  g_autoptr(HgTestContext) granted = hg_test_context_new ("trusted", HG_DOMAIN_MUNICIPAL, NULL,
                                                          all_granted);
  g_autoptr(GError) failure = g_error_new_literal (HG_ERROR, HG_ERROR_UNAVAILABLE, "full");
  Call calls[6] = { { 0 } };
  Call core_type = { 0 };
  Call after = { 0 };

  g_test_summary ("A call the grant does not cover is refused with HG_ERROR_PERMISSION_DENIED "
                  "naming the capability, as the core refuses it, counted, and not recorded; "
                  "a failure asked for is left for the next allowed call");
  hg_test_context_fail_next (context, HG_TEST_CONTEXT_CALL_PUBLISH_EVENT, failure);
  publish (context, "sensor.reading", NULL, NULL, &calls[0]);
  raise_alarm (context, "fall", &calls[1]);
  report (context, "0123456789abcdef", HG_ALARM_STATE_DELIVERED, NULL, &calls[2]);
  lookup (context, "pin", &calls[3]);
  store (context, "pin", "1234", &calls[4]);
  publish (context, "plugin.denied", NULL, NULL, &calls[5]);
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    {
      wait_done (&calls[i]);
      g_assert_error (calls[i].error, HG_ERROR, HG_ERROR_PERMISSION_DENIED);
      g_test_message ("%s", calls[i].error->message);
    }
  g_assert_nonnull (strstr (calls[0].error->message, "sensor.publish"));
  g_assert_nonnull (strstr (calls[1].error->message, "alarm.raise"));
  g_assert_nonnull (strstr (calls[2].error->message, "alarm.deliver"));
  g_assert_nonnull (strstr (calls[3].error->message, "secrets"));
  g_assert_nonnull (strstr (calls[4].error->message, "secrets"));
  g_assert_cmpuint (hg_test_context_get_n_denied (context), ==, G_N_ELEMENTS (calls));
  g_assert_cmpuint (hg_test_context_get_n_calls (context, HG_TEST_CONTEXT_CALL_PUBLISH_EVENT), ==, 2);
  g_assert_cmpuint (hg_test_context_get_events (context)->len, ==, 0);
  g_assert_cmpuint (hg_test_context_get_alarms (context)->len, ==, 0);
  g_assert_cmpuint (hg_test_context_get_n_alarm_reports (context), ==, 0);
  g_assert_null (hg_test_context_get_secret (context, "pin"));

  /* the core's own types are refused whatever the grant */
  publish (granted, "alarm.raised", NULL, NULL, &core_type);
  wait_done (&core_type);
  g_assert_error (core_type.error, HG_ERROR, HG_ERROR_PERMISSION_DENIED);
  g_assert_cmpuint (hg_test_context_get_n_denied (granted), ==, 1);

  /* the failure asked for is still there for an allowed call */
  hg_test_context_fail_next (granted, HG_TEST_CONTEXT_CALL_PUBLISH_EVENT, failure);
  publish (granted, "sensor.reading", NULL, NULL, &after);
  wait_done (&after);
  g_assert_error (after.error, HG_ERROR, HG_ERROR_UNAVAILABLE);

  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    call_clear (&calls[i]);
  call_clear (&core_type);
  call_clear (&after);
}

static void
test_fail_next (void)
{
  g_autoptr(HgTestContext) context = hg_test_context_new ("meter", HG_DOMAIN_MUNICIPAL, NULL,
                                                          all_granted);
  g_autoptr(GError) full = g_error_new_literal (HG_ERROR, HG_ERROR_UNAVAILABLE, "journal full");
  g_autoptr(GError) slow = g_error_new_literal (HG_ERROR, HG_ERROR_TIMED_OUT, "too slow");
  Call calls[3] = { { 0 } };
  Call other = { 0 };

  g_test_summary ("Failures asked for with fail_next() are used one call each, in the order "
                  "given, only by calls of their kind; a failed call records nothing");
  hg_test_context_fail_next (context, HG_TEST_CONTEXT_CALL_RAISE_ALARM, full);
  hg_test_context_fail_next (context, HG_TEST_CONTEXT_CALL_RAISE_ALARM, slow);
  publish (context, "sensor.reading", NULL, NULL, &other);
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    raise_alarm (context, "water", &calls[i]);
  wait_done (&other);
  g_assert_no_error (other.error);
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    wait_done (&calls[i]);
  g_assert_error (calls[0].error, HG_ERROR, HG_ERROR_UNAVAILABLE);
  g_assert_cmpstr (calls[0].error->message, ==, "journal full");
  g_assert_error (calls[1].error, HG_ERROR, HG_ERROR_TIMED_OUT);
  g_assert_no_error (calls[2].error);
  g_assert_cmpuint (hg_test_context_get_alarms (context)->len, ==, 1);
  g_assert_cmpuint (hg_test_context_get_n_calls (context, HG_TEST_CONTEXT_CALL_RAISE_ALARM), ==, 3);
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    call_clear (&calls[i]);
  call_clear (&other);
}

static void
test_alarms_and_reports (void)
{
  g_autoptr(HgTestContext) context = hg_test_context_new ("panic", HG_DOMAIN_MUNICIPAL, NULL,
                                                          all_granted);
  g_autoptr(JsonObject) detail = json_object_new ();
  Call raised = { 0 };
  Call reported = { 0 };
  Call bad_state = { 0 };
  HgAlarm *alarm;
  HgAlarmState state;
  JsonObject *recorded_detail = NULL;

  g_test_summary ("A raised alarm is recorded with the reference the raise returned, state "
                  "raised and source plugin:<id>; a report of its step is recorded with its "
                  "state and detail; an unknown state is HG_ERROR_INVALID_DATA");
  raise_alarm (context, "fall", &raised);
  wait_done (&raised);
  g_assert_no_error (raised.error);
  g_assert_cmpuint (strlen (raised.string), ==, 16);
  g_assert_cmpuint (hg_test_context_get_alarms (context)->len, ==, 1);
  alarm = g_ptr_array_index (hg_test_context_get_alarms (context), 0);
  g_assert_cmpstr (hg_alarm_get_reference (alarm), ==, raised.string);
  g_assert_cmpstr (hg_alarm_get_alarm_type (alarm), ==, "fall");
  g_assert_cmpstr (hg_alarm_get_location (alarm), ==, "hall");
  g_assert_cmpint (hg_alarm_get_state (alarm), ==, HG_ALARM_STATE_RAISED);
  g_assert_cmpstr (hg_alarm_get_source (alarm), ==, "plugin:panic");

  json_object_set_string_member (detail, "receiver", "primary");
  report (context, raised.string, HG_ALARM_STATE_ACKNOWLEDGED, detail, &reported);
  report (context, raised.string, HG_ALARM_STATE_LAST + 3, NULL, &bad_state);
  wait_done (&reported);
  wait_done (&bad_state);
  g_assert_no_error (reported.error);
  g_assert_error (bad_state.error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_cmpuint (hg_test_context_get_n_alarm_reports (context), ==, 1);
  g_assert_cmpstr (hg_test_context_get_alarm_report (context, 0, &state, &recorded_detail), ==,
                   raised.string);
  g_assert_cmpint (state, ==, HG_ALARM_STATE_ACKNOWLEDGED);
  g_assert_cmpstr (json_object_get_string_member (recorded_detail, "receiver"), ==, "primary");
  call_clear (&raised);
  call_clear (&reported);
  call_clear (&bad_state);
}

static void
test_secrets (void)
{
  g_autoptr(HgTestContext) context = hg_test_context_new ("mqtt", HG_DOMAIN_MUNICIPAL, NULL,
                                                          all_granted);
  Call missing = { 0 };
  Call found = { 0 };
  Call stored = { 0 };
  Call bad_key = { 0 };

  g_test_summary ("A secret the test put in the store is looked up, a missing one is "
                  "HG_ERROR_NOT_FOUND, a stored one is kept, a bad key is HG_ERROR_INVALID_DATA");
  lookup (context, "mqtt-password", &missing);
  wait_done (&missing);
  g_assert_error (missing.error, HG_ERROR, HG_ERROR_NOT_FOUND);

  hg_test_context_set_secret (context, "mqtt-password", "s3cret");
  lookup (context, "mqtt-password", &found);
  store (context, "session.token", "abc", &stored);
  store (context, "no/slashes", "abc", &bad_key);
  wait_done (&found);
  wait_done (&stored);
  wait_done (&bad_key);
  g_assert_cmpstr (found.string, ==, "s3cret");
  g_assert_no_error (stored.error);
  g_assert_cmpstr (hg_test_context_get_secret (context, "session.token"), ==, "abc");
  g_assert_error (bad_key.error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_null (hg_test_context_get_secret (context, "no/slashes"));

  hg_test_context_set_secret (context, "mqtt-password", NULL);
  g_assert_null (hg_test_context_get_secret (context, "mqtt-password"));
  call_clear (&missing);
  call_clear (&found);
  call_clear (&stored);
  call_clear (&bad_key);
}

static void
secret_changed_cb (HgContext *context,
                   const gchar *key,
                   gpointer user_data)
{
  GPtrArray *keys = user_data;
  const gchar *value = hg_test_context_get_secret (HG_TEST_CONTEXT (context), key);

  /* the new value is there when the plugin is told */
  g_ptr_array_add (keys, g_strdup_printf ("%s=%s", key, value != NULL ? value : "none"));
}

static void
test_secret_changed (void)
{
  g_autoptr(HgTestContext) context = hg_test_context_new ("scaip", HG_DOMAIN_MUNICIPAL, NULL,
                                                          all_granted);
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  Call found = { 0 };

  g_test_summary ("hg_test_context_change_secret () changes the secret and then emits "
                  "HgContext::secret-changed with its key, as the host does when an operator "
                  "sets or removes one; set_secret () alone emits nothing");
  g_signal_connect (context, "secret-changed", G_CALLBACK (secret_changed_cb), keys);

  hg_test_context_set_secret (context, "sip-password", "first");
  g_assert_cmpuint (keys->len, ==, 0);
  hg_test_context_change_secret (context, "sip-password", "second");
  hg_test_context_change_secret (context, "sip-password", NULL);
  g_assert_cmpuint (keys->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (keys, 0), ==, "sip-password=second");
  g_assert_cmpstr (g_ptr_array_index (keys, 1), ==, "sip-password=none");

  hg_test_context_change_secret (context, "sip-password", "third");
  lookup (context, "sip-password", &found);
  wait_done (&found);
  g_assert_cmpstr (found.string, ==, "third");
  call_clear (&found);
}

static void
test_too_large (void)
{
  g_autoptr(HgTestContext) context = hg_test_context_new ("meter", HG_DOMAIN_MUNICIPAL, NULL,
                                                          all_granted);
  g_autoptr(JsonObject) body = json_object_new ();
  g_autofree gchar *big = g_strnfill (70 * 1024, 'x');
  Call call = { 0 };

  g_test_summary ("A body larger than the plugin host sends (64 KiB) is HG_ERROR_INVALID_DATA");
  json_object_set_string_member (body, "blob", big);
  publish (context, "sensor.reading", body, NULL, &call);
  wait_done (&call);
  g_assert_error (call.error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_cmpuint (hg_test_context_get_events (context)->len, ==, 0);
  call_clear (&call);
}

static void
test_cancelled (void)
{
  g_autoptr(HgTestContext) context = hg_test_context_new ("meter", HG_DOMAIN_MUNICIPAL, NULL,
                                                          all_granted);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Call call = { 0 };

  g_test_summary ("A call cancelled before it completes completes with G_IO_ERROR_CANCELLED");
  publish (context, "sensor.reading", NULL, cancellable, &call);
  g_cancellable_cancel (cancellable);
  wait_done (&call);
  g_assert_error (call.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  call_clear (&call);
}

static void
test_health (void)
{
  g_autoptr(HgTestContext) context = hg_test_context_new ("meter", HG_DOMAIN_MUNICIPAL, NULL, NULL);
  g_autoptr(JsonObject) first = body_with ("dropped", 1);
  g_autoptr(JsonObject) second = body_with ("dropped", 2);
  GPtrArray *reports;

  g_test_summary ("Health reports need no capability and are recorded in order");
  hg_context_report_health (HG_CONTEXT (context), first);
  hg_context_report_health (HG_CONTEXT (context), second);
  reports = hg_test_context_get_health_reports (context);
  g_assert_cmpuint (reports->len, ==, 2);
  g_assert_cmpint (json_object_get_int_member (g_ptr_array_index (reports, 0), "dropped"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (g_ptr_array_index (reports, 1), "dropped"), ==, 2);
}

static void
test_config_from_data (void)
{
  g_autoptr(HgTestContext) context = NULL;
  g_autoptr(GError) error = NULL;
  HgConfig *config;
  g_auto(GStrv) keys = NULL;

  g_test_summary ("The configuration given as hemgate.conf text is the instance's group, less "
                  "the keys the core reads; text without the group is HG_ERROR_INVALID_DATA");
  context = hg_test_context_new_from_data ("example", HG_DOMAIN_PERSONAL,
                                           "[plugin:example]\ndomain = personal\ninterval = 5\n"
                                           "[plugin:other]\ninterval = 7\n",
                                           NULL, &error);
  g_assert_no_error (error);
  config = hg_context_get_config (HG_CONTEXT (context));
  keys = hg_config_get_keys (config);
  g_assert_cmpuint (g_strv_length (keys), ==, 1);
  g_assert_cmpstr (hg_config_get_string (config, "interval", NULL), ==, "5");
  g_assert_cmpstr (hg_context_get_plugin_id (HG_CONTEXT (context)), ==, "example");
  g_assert_cmpint (hg_context_get_domain (HG_CONTEXT (context)), ==, HG_DOMAIN_PERSONAL);
  g_clear_object (&context);

  context = hg_test_context_new_from_data ("example", HG_DOMAIN_PERSONAL, "[plugin:other]\nx = 1\n",
                                           NULL, &error);
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_null (context);
  g_clear_error (&error);
  context = hg_test_context_new_from_data ("example", HG_DOMAIN_PERSONAL, "not a key file", NULL,
                                           &error);
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_null (context);
}

static void
test_deliver (void)
{
  const gchar *const capabilities[] = { "sensor.subscribe", NULL };
  g_autoptr(HgTestContext) context = hg_test_context_new ("counter", HG_DOMAIN_PERSONAL, NULL,
                                                          capabilities);
  g_autoptr(TestPlugin) plugin = g_object_new (TEST_TYPE_PLUGIN, "context", context, NULL);
  g_autoptr(JsonObject) body = body_with ("value", 3);
  g_autoptr(HgEvent) event = hg_event_new ("sensor.reading", body);
  g_autoptr(JsonObject) big_body = json_object_new ();
  g_autofree gchar *big = g_strnfill (300 * 1024, 'x');
  g_autoptr(HgEvent) big_event = NULL;
  g_autoptr(GError) error = NULL;
  HgEvent *handled;

  g_test_summary ("An event is delivered as the core and the host hand it over: stamped with "
                  "the domain, a seq and a time, source core unless it has one, a copy from its "
                  "wire form; one the host would refuse is HG_ERROR_INVALID_DATA");
  g_assert_true (hg_test_context_deliver_event (context, HG_PLUGIN (plugin), event, &error));
  g_assert_no_error (error);
  g_assert_true (hg_test_context_deliver_event (context, HG_PLUGIN (plugin), event, &error));
  g_assert_cmpuint (plugin->handled->len, ==, 2);
  handled = g_ptr_array_index (plugin->handled, 0);
  g_assert_true (handled != event);
  g_assert_cmpstr (hg_event_get_event_type (handled), ==, "sensor.reading");
  g_assert_cmpint (hg_event_get_domain (handled), ==, HG_DOMAIN_PERSONAL);
  g_assert_cmpuint (hg_event_get_seq (handled), ==, 1);
  g_assert_cmpint (hg_event_get_timestamp (handled), >, 0);
  g_assert_cmpstr (hg_event_get_source (handled), ==, "core");
  g_assert_cmpint (json_object_get_int_member (hg_event_get_body (handled), "value"), ==, 3);
  g_assert_cmpuint (hg_event_get_seq (g_ptr_array_index (plugin->handled, 1)), ==, 2);
  /* the caller's event is left as it was */
  g_assert_cmpuint (hg_event_get_seq (event), ==, 0);

  json_object_set_string_member (big_body, "blob", big);
  big_event = hg_event_new ("sensor.reading", big_body);
  g_assert_false (hg_test_context_deliver_event (context, HG_PLUGIN (plugin), big_event, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_cmpuint (plugin->handled->len, ==, 2);
}

/* A plugin of a few lines: answers each message with {"echo": ...}, closes on "bye", and
 * counts the closes it was told of. */
typedef struct
{
  GPtrArray *log; /* (owned) what the plugin saw, as text */
} ChannelPlugin;

static void
channel_opened_cb (HgContext *context,
                   const gchar *channel_id,
                   const gchar *user,
                   const gchar *role,
                   const gchar *purpose,
                   gpointer user_data)
{
  ChannelPlugin *plugin = user_data;

  g_ptr_array_add (plugin->log, g_strdup_printf ("opened %s %s %s %s", channel_id, user, role,
                                                 purpose != NULL ? purpose : "-"));
}

static void
channel_message_cb (HgContext *context,
                    const gchar *channel_id,
                    JsonObject *message,
                    gpointer user_data)
{
  ChannelPlugin *plugin = user_data;
  g_autoptr(JsonObject) reply = json_object_new ();
  g_autoptr(GError) error = NULL;
  const gchar *text = NULL;

  if (!hg_json_object_get_string (message, "say", &text, &error))
    {
      g_ptr_array_add (plugin->log, g_strdup_printf ("bad %s", error->message));
      return;
    }
  if (g_str_equal (text, "bye"))
    {
      hg_context_channel_close (context, channel_id);
      return;
    }
  json_object_set_string_member (reply, "echo", text);
  hg_context_channel_send (context, channel_id, reply);
}

static void
channel_closed_cb (HgContext *context,
                   const gchar *channel_id,
                   gpointer user_data)
{
  ChannelPlugin *plugin = user_data;

  g_ptr_array_add (plugin->log, g_strdup_printf ("closed %s", channel_id));
}

static JsonObject *
say_new (const gchar *text)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "say", text);
  return object;
}

static void
test_channels (void)
{
  const gchar *serve[] = { HG_CAPABILITY_CHANNEL_SERVE, NULL };
  g_autoptr(HgTestContext) context = hg_test_context_new ("visit", HG_DOMAIN_MUNICIPAL, NULL,
                                                          serve);
  ChannelPlugin plugin = { g_ptr_array_new_with_free_func (g_free) };
  g_autoptr(JsonObject) hello = say_new ("hello");
  g_autoptr(JsonObject) bye = say_new ("bye");
  g_autoptr(JsonObject) big = json_object_new ();
  g_autofree gchar *first = NULL;
  g_autofree gchar *second = NULL;
  g_autofree gchar *padding = g_strnfill (HG_CONTEXT_CHANNEL_MAX_MESSAGE, 'x');
  g_autoptr(GError) error = NULL;
  GPtrArray *messages;

  g_test_summary ("HgTestContext drives channels as a client through the core: opened, "
                  "messages both ways in order, closed by the client (signal) or by the plugin "
                  "(no signal, later messages dropped); too large and closed channels refused");
  g_signal_connect (context, "channel-opened", G_CALLBACK (channel_opened_cb), &plugin);
  g_signal_connect (context, "channel-message", G_CALLBACK (channel_message_cb), &plugin);
  g_signal_connect (context, "channel-closed", G_CALLBACK (channel_closed_cb), &plugin);

  first = hg_test_context_channel_open (context, "anna", "staff", NULL);
  second = hg_test_context_channel_open (context, "rut", "resident", "night-check");
  g_assert_cmpstr (first, !=, second);
  g_assert_cmpuint (plugin.log->len, ==, 2);
  g_assert_true (g_str_has_suffix (g_ptr_array_index (plugin.log, 0), " anna staff -"));
  g_assert_true (g_str_has_suffix (g_ptr_array_index (plugin.log, 1), " rut resident night-check"));

  g_assert_true (hg_test_context_channel_deliver (context, first, hello, &error));
  g_assert_no_error (error);
  messages = hg_test_context_get_channel_messages (context, first);
  g_assert_cmpuint (messages->len, ==, 1);
  g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (messages, 0), "echo"), ==,
                   "hello");
  g_assert_cmpuint (hg_test_context_get_channel_messages (context, second)->len, ==, 0);

  json_object_set_string_member (big, "say", padding);
  g_assert_false (hg_test_context_channel_deliver (context, first, big, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_clear_error (&error);

  /* the plugin closes: no signal for it, and the channel takes nothing more */
  g_assert_true (hg_test_context_channel_deliver (context, first, bye, &error));
  g_assert_false (hg_test_context_channel_is_open (context, first));
  g_assert_cmpuint (plugin.log->len, ==, 2);
  g_assert_false (hg_test_context_channel_deliver (context, first, hello, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* the client goes away: the plugin is told once */
  hg_test_context_channel_close (context, second);
  hg_test_context_channel_close (context, second);
  g_assert_cmpuint (plugin.log->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (plugin.log, 2), ==, "closed test-2");
  g_assert_null (hg_test_context_get_channel_messages (context, "test-99"));
  g_ptr_array_unref (plugin.log);
}

static void
test_channels_denied (void)
{
  g_autoptr(HgTestContext) context = hg_test_context_new ("visit", HG_DOMAIN_MUNICIPAL, NULL,
                                                          NULL);
  g_autoptr(JsonObject) hello = say_new ("hello");
  g_autofree gchar *channel = NULL;

  g_test_summary ("without channel.serve, hg_context_channel_send () and _close () are denied "
                  "as the core denies them, and nothing is sent");
  channel = hg_test_context_channel_open (context, "anna", "staff", NULL);
  hg_context_channel_send (HG_CONTEXT (context), channel, hello);
  hg_context_channel_close (HG_CONTEXT (context), channel);
  g_assert_cmpuint (hg_test_context_get_channel_messages (context, channel)->len, ==, 0);
  g_assert_true (hg_test_context_channel_is_open (context, channel));
  g_assert_cmpuint (hg_test_context_get_n_denied (context), ==, 2);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/test-context/publish/recorded-as-journaled", test_publish_recorded);
  g_test_add_func ("/test-context/calls/complete-from-main-loop-in-order", test_complete_in_order);
  g_test_add_func ("/test-context/grant/denied-as-the-core", test_denied);
  g_test_add_func ("/test-context/fail-next/one-each-in-order", test_fail_next);
  g_test_add_func ("/test-context/alarms/reference-and-reports", test_alarms_and_reports);
  g_test_add_func ("/test-context/secrets/preloaded-and-stored", test_secrets);
  g_test_add_func ("/test-context/secrets/changed-signal", test_secret_changed);
  g_test_add_func ("/test-context/publish/too-large-refused", test_too_large);
  g_test_add_func ("/test-context/calls/cancelled", test_cancelled);
  g_test_add_func ("/test-context/health/recorded", test_health);
  g_test_add_func ("/test-context/config/from-key-file-text", test_config_from_data);
  g_test_add_func ("/test-context/deliver/as-the-core", test_deliver);
  g_test_add_func ("/test-context/channels/both-ways-and-closes", test_channels);
  g_test_add_func ("/test-context/channels/denied-without-capability", test_channels_denied);
  return g_test_run ();
}
