/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of HgdHostContext alone: each HgContext call becomes the stated Context1 call (the
 * publishes of one main-loop iteration one PublishEvents call), and the core's answers,
 * errors included, come back to the plugin as HG_ERROR. A GtDBusQueue plays the core. */
#include "config.h"

#include <libglib-testing/dbus-queue.h>

#include "hg-test-support.h"
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

/* One publish of a test: its result, and when it completed among the others. */
typedef struct
{
  GAsyncResult *result; /* (owned) (nullable) */
  guint *n_completed;   /* (unowned) shared by the publishes of a case */
  guint rank;           /* 1 for the first to complete, ... */
} Publish;

static void
published_cb (GObject *source,
              GAsyncResult *result,
              gpointer user_data)
{
  Publish *publish = user_data;

  publish->result = g_object_ref (result);
  publish->rank = ++*publish->n_completed;
}

static void
publish (Fixture *fixture,
         const gchar *type,
         gint64 value,
         GCancellable *cancellable,
         Publish *publish)
{
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(HgEvent) event = NULL;

  json_object_set_int_member (body, "value", value);
  event = hg_event_new (type, body);
  hg_context_publish_event_async (HG_CONTEXT (fixture->context), event, cancellable, published_cb,
                                  publish);
}

/* Publishes @n_publishes events of @type, {"value": first_value + i}, in this iteration */
static void
publish_all (Fixture *fixture,
             const gchar *type,
             gint64 first_value,
             Publish *published,
             guint n_publishes,
             guint *n_completed)
{
  for (guint i = 0; i < n_publishes; i++)
    {
      published[i] = (Publish) { NULL, n_completed, 0 };
      publish (fixture, type, first_value + i, NULL, &published[i]);
    }
}

/* Returns: the seq @publish completed with, once it did; @error set if it failed */
static guint64
publish_finish (Fixture *fixture,
                Publish *publish,
                GError **error)
{
  hg_test_wait_for_result (&publish->result);
  return hg_context_publish_event_finish (HG_CONTEXT (fixture->context), publish->result, error);
}

static void
publish_clear (Publish *publishes,
               guint n_publishes)
{
  for (guint i = 0; i < n_publishes; i++)
    g_clear_object (&publishes[i].result);
}

/* Asserts that each of @published completed with seq @first_seq + i, in order */
static void
assert_seqs_in_order (Fixture *fixture,
                      Publish *published,
                      guint n_publishes,
                      guint64 first_seq)
{
  for (guint i = 0; i < n_publishes; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_cmpuint (publish_finish (fixture, &published[i], &error), ==, first_seq + i);
      g_assert_no_error (error);
      g_assert_cmpuint (published[i].rank, ==, i + 1);
    }
}

/* Pops the next call, which must be PublishEvents of @type with @n_bodies bodies
 * {"value": first_value + i}; returns it to be answered. */
static GDBusMethodInvocation *
pop_publish_events (Fixture *fixture,
                    const gchar *type,
                    gint64 first_value,
                    guint n_bodies)
{
  GDBusMethodInvocation *invocation;
  g_autofree const gchar **bodies = NULL;
  const gchar *sent_type = NULL;

  invocation = gt_dbus_queue_assert_pop_message (fixture->queue, CONTEXT_PATH, CONTEXT_IFACE,
                                                 "PublishEvents", "(&s^a&s)", &sent_type, &bodies);
  g_assert_cmpstr (sent_type, ==, type);
  g_assert_cmpuint (g_strv_length ((gchar **) bodies), ==, n_bodies);
  for (guint i = 0; i < n_bodies; i++)
    {
      g_autofree gchar *expected = NULL;

      expected = g_strdup_printf ("{\"value\":%" G_GINT64_FORMAT "}", first_value + i);
      g_assert_cmpstr (bodies[i], ==, expected);
    }
  return invocation;
}

/* Answers @invocation with seq @first_seq + i for each of @n_bodies bodies */
static void
return_seqs (GDBusMethodInvocation *invocation,
             guint64 first_seq,
             guint n_bodies)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(tss)"));
  for (guint i = 0; i < n_bodies; i++)
    g_variant_builder_add (&builder, "(tss)", first_seq + i, "", "");
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(a(tss))", &builder));
}

static void
test_publish_event (Fixture *fixture,
                    gconstpointer user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = NULL;
  g_autoptr(GError) error = NULL;
  guint n_completed = 0;
  Publish published = { NULL, &n_completed, 0 };

  g_test_summary ("A publish alone is a PublishEvents call of its type and its body as JSON, "
                  "and returns the seq the core gave it");
  publish (fixture, "sensor.reading", 21, NULL, &published);

  invocation = pop_publish_events (fixture, "sensor.reading", 21, 1);
  return_seqs (invocation, 42, 1);

  g_assert_cmpuint (publish_finish (fixture, &published, &error), ==, 42);
  g_assert_no_error (error);
  publish_clear (&published, 1);
}

static void
test_publish_batched (Fixture *fixture,
                      gconstpointer user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = NULL;
  guint n_completed = 0;
  Publish published[4];

  g_test_summary ("Publishes made in one main-loop iteration arrive as one PublishEvents call "
                  "with every body in order; each completes with its own seq, in order");
  publish_all (fixture, "sensor.reading", 10, published, G_N_ELEMENTS (published), &n_completed);

  invocation = pop_publish_events (fixture, "sensor.reading", 10, G_N_ELEMENTS (published));
  gt_dbus_queue_assert_no_messages (fixture->queue);
  return_seqs (invocation, 100, G_N_ELEMENTS (published));

  assert_seqs_in_order (fixture, published, G_N_ELEMENTS (published), 100);
  gt_dbus_queue_assert_no_messages (fixture->queue);
  publish_clear (published, G_N_ELEMENTS (published));
}

static void
test_publish_type_splits_batch (Fixture *fixture,
                                gconstpointer user_data)
{
  g_autoptr(GDBusMethodInvocation) first = NULL;
  g_autoptr(GDBusMethodInvocation) second = NULL;
  guint n_completed = 0;
  Publish published[4];
  const gchar *types[] = { "sensor.reading", "sensor.reading", "sensor.battery", "sensor.battery" };

  g_test_summary ("A publish of another type sends the batch before it: two PublishEvents "
                  "calls, one per type, in the order published, and the completions in order");
  for (guint i = 0; i < G_N_ELEMENTS (published); i++)
    {
      published[i] = (Publish) { NULL, &n_completed, 0 };
      publish (fixture, types[i], i, NULL, &published[i]);
    }

  first = pop_publish_events (fixture, "sensor.reading", 0, 2);
  second = pop_publish_events (fixture, "sensor.battery", 2, 2);
  return_seqs (first, 7, 2);
  return_seqs (second, 9, 2);

  assert_seqs_in_order (fixture, published, G_N_ELEMENTS (published), 7);
  publish_clear (published, G_N_ELEMENTS (published));
}

static void
test_publish_body_error (Fixture *fixture,
                         gconstpointer user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = NULL;
  g_autoptr(GError) error = NULL;
  GVariantBuilder builder;
  guint n_completed = 0;
  Publish published[3];

  g_test_summary ("The core's error for one body of a batch fails that publish alone, as "
                  "the HG_ERROR its org.hemgate.Error.* name says, with the core's message");
  publish_all (fixture, "sensor.reading", 0, published, G_N_ELEMENTS (published), &n_completed);
  invocation = pop_publish_events (fixture, "sensor.reading", 0, 3);
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(tss)"));
  g_variant_builder_add (&builder, "(tss)", (guint64) 5, "", "");
  g_variant_builder_add (&builder, "(tss)", (guint64) 0, "org.hemgate.Error.InvalidData",
                         "body: malformed JSON: <data>:1:6: Parse error");
  g_variant_builder_add (&builder, "(tss)", (guint64) 6, "", "");
  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(a(tss))", &builder));

  g_assert_cmpuint (publish_finish (fixture, &published[0], &error), ==, 5);
  g_assert_no_error (error);
  g_assert_cmpuint (publish_finish (fixture, &published[1], &error), ==, 0);
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_cmpstr (error->message, ==, "body: malformed JSON: <data>:1:6: Parse error");
  g_clear_error (&error);
  g_assert_cmpuint (publish_finish (fixture, &published[2], &error), ==, 6);
  g_assert_no_error (error);
  publish_clear (published, G_N_ELEMENTS (published));
}

static void
test_publish_batch_fails (Fixture *fixture,
                          gconstpointer user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = NULL;
  guint n_completed = 0;
  Publish published[2];

  g_test_summary ("An error of the whole PublishEvents call fails every publish of the "
                  "batch with it, converted to HG_ERROR, in order");
  publish_all (fixture, "alarm.raised", 0, published, G_N_ELEMENTS (published), &n_completed);
  invocation = pop_publish_events (fixture, "alarm.raised", 0, 2);
  g_dbus_method_invocation_return_dbus_error (invocation,
                                              "org.hemgate.Error.PermissionDenied",
                                              "PublishEvents of 'alarm.raised': no capability "
                                              "lets a plugin publish this type; it is the core's "
                                              "own");
  for (guint i = 0; i < G_N_ELEMENTS (published); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_cmpuint (publish_finish (fixture, &published[i], &error), ==, 0);
      g_assert_error (error, HG_ERROR, HG_ERROR_PERMISSION_DENIED);
      g_assert_nonnull (strstr (error->message, "'alarm.raised'"));
      g_assert_cmpuint (published[i].rank, ==, i + 1);
    }
  publish_clear (published, G_N_ELEMENTS (published));
}

static void
test_publish_cancelled_not_sent (Fixture *fixture,
                                 gconstpointer user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree const gchar **bodies = NULL;
  const gchar *type = NULL;
  guint n_completed = 0;
  Publish published[3];

  g_test_summary ("A publish cancelled before its batch is sent fails with "
                  "G_IO_ERROR_CANCELLED and is left out of the call; the others are sent");
  for (guint i = 0; i < G_N_ELEMENTS (published); i++)
    {
      published[i] = (Publish) { NULL, &n_completed, 0 };
      publish (fixture, "sensor.reading", i, i == 1 ? cancellable : NULL, &published[i]);
    }
  g_cancellable_cancel (cancellable);

  invocation = gt_dbus_queue_assert_pop_message (fixture->queue, CONTEXT_PATH, CONTEXT_IFACE,
                                                 "PublishEvents", "(&s^a&s)", &type, &bodies);
  g_assert_cmpuint (g_strv_length ((gchar **) bodies), ==, 2);
  g_assert_cmpstr (bodies[0], ==, "{\"value\":0}");
  g_assert_cmpstr (bodies[1], ==, "{\"value\":2}");
  return_seqs (invocation, 30, 2);

  g_assert_cmpuint (publish_finish (fixture, &published[1], &error), ==, 0);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpuint (publish_finish (fixture, &published[0], &error), ==, 30);
  g_assert_no_error (error);
  g_assert_cmpuint (publish_finish (fixture, &published[2], &error), ==, 31);
  g_assert_no_error (error);
  publish_clear (published, G_N_ELEMENTS (published));
}

static void
test_publish_sent_before_other_call (Fixture *fixture,
                                     gconstpointer user_data)
{
  g_autoptr(HgAlarm) alarm = hg_alarm_new ("fall");
  g_autoptr(GDBusMethodInvocation) published_invocation = NULL;
  g_autoptr(GDBusMethodInvocation) alarm_invocation = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *ref = NULL;
  const gchar *alarm_json = NULL;
  guint n_completed = 0;
  Publish published = { NULL, &n_completed, 0 };

  g_test_summary ("A call other than a publish sends the gathered publishes first: the core "
                  "sees the calls in the order the plugin made them");
  publish (fixture, "sensor.reading", 1, NULL, &published);
  hg_context_raise_alarm_async (HG_CONTEXT (fixture->context), alarm, NULL, hg_test_async_result_cb,
                                &result);

  published_invocation = pop_publish_events (fixture, "sensor.reading", 1, 1);
  alarm_invocation = gt_dbus_queue_assert_pop_message (fixture->queue, CONTEXT_PATH, CONTEXT_IFACE,
                                                       "RaiseAlarm", "(&s)", &alarm_json);
  return_seqs (published_invocation, 3, 1);
  g_dbus_method_invocation_return_value (alarm_invocation, g_variant_new ("(s)", "A-2"));

  g_assert_cmpuint (publish_finish (fixture, &published, &error), ==, 3);
  g_assert_no_error (error);
  ref = hg_context_raise_alarm_finish (HG_CONTEXT (fixture->context),
                                       hg_test_wait_for_result (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ref, ==, "A-2");
  publish_clear (&published, 1);
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
  hg_context_raise_alarm_async (HG_CONTEXT (fixture->context), alarm, NULL, hg_test_async_result_cb,
                                &result);

  invocation = gt_dbus_queue_assert_pop_message (fixture->queue, CONTEXT_PATH, CONTEXT_IFACE,
                                                 "RaiseAlarm", "(&s)", &alarm_json);
  g_assert_nonnull (strstr (alarm_json, "\"location\":\"hall\""));
  g_dbus_method_invocation_return_dbus_error (invocation,
                                              "org.hemgate.Error.PermissionDenied",
                                              "RaiseAlarm needs the capability alarm.raise");

  ref = hg_context_raise_alarm_finish (HG_CONTEXT (fixture->context),
                                       hg_test_wait_for_result (&result), &error);
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
  hg_context_raise_alarm_async (HG_CONTEXT (fixture->context), alarm, NULL, hg_test_async_result_cb,
                                &result);
  invocation = gt_dbus_queue_assert_pop_message (fixture->queue, CONTEXT_PATH, CONTEXT_IFACE,
                                                 "RaiseAlarm", "(&s)", &alarm_json);
  g_assert_nonnull (strstr (alarm_json, "\"type\":\"fall\""));
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", "A-1"));

  ref = hg_context_raise_alarm_finish (HG_CONTEXT (fixture->context),
                                       hg_test_wait_for_result (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ref, ==, "A-1");
}

/* Pops a ReportAlarm call of @reference and checks its state, and its detail unless
 * @detail is %NULL. */
static GDBusMethodInvocation *
pop_report (Fixture *fixture,
            const gchar *reference,
            const gchar *state,
            const gchar *detail)
{
  GDBusMethodInvocation *invocation;
  const gchar *ref = NULL;
  const gchar *sent_state = NULL;
  const gchar *detail_json = NULL;

  invocation = gt_dbus_queue_assert_pop_message (fixture->queue, CONTEXT_PATH, CONTEXT_IFACE,
                                                 "ReportAlarm", "(&s&s&s)", &ref, &sent_state,
                                                 &detail_json);
  g_assert_cmpstr (ref, ==, reference);
  g_assert_cmpstr (sent_state, ==, state);
  if (detail != NULL)
    g_assert_cmpstr (detail_json, ==, detail);
  return invocation;
}

static void
test_report_alarm (Fixture *fixture,
                   gconstpointer user_data)
{
  g_autoptr(JsonObject) detail = json_object_new ();
  g_autoptr(GDBusMethodInvocation) invocation = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("ReportAlarm sends the state's stable name and the detail as JSON; "
                  "the core's NotFound comes back as HG_ERROR_NOT_FOUND");
  json_object_set_string_member (detail, "receiver", "arc-1");
  hg_context_report_alarm_async (HG_CONTEXT (fixture->context), "A-1", HG_ALARM_STATE_ACKNOWLEDGED,
                                 detail, NULL, hg_test_async_result_cb, &result);
  invocation = pop_report (fixture, "A-1", "acknowledged", "{\"receiver\":\"arc-1\"}");
  g_dbus_method_invocation_return_dbus_error (invocation,
                                              "org.hemgate.Error.NotFound", "no alarm A-1");

  g_assert_false (hg_context_report_alarm_finish (HG_CONTEXT (fixture->context),
                                                  hg_test_wait_for_result (&result), &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_NOT_FOUND);
}

static void
test_report_alarm_retried (Fixture *fixture,
                           gconstpointer user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = NULL;
  g_autoptr(GAsyncResult) acknowledged = NULL;
  g_autoptr(GAsyncResult) closed = NULL;
  g_autoptr(GAsyncResult) other = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A report the core answers Unavailable (its journal cannot take it) is kept "
                  "and sent again until the core takes it, and completes only then; a later "
                  "report of the same alarm waits behind it, one of another alarm does not");
  hg_context_report_alarm_async (HG_CONTEXT (fixture->context), "A-1", HG_ALARM_STATE_ACKNOWLEDGED,
                                 NULL, NULL, hg_test_async_result_cb, &acknowledged);
  hg_context_report_alarm_async (HG_CONTEXT (fixture->context), "B-2", HG_ALARM_STATE_DELIVERED,
                                 NULL, NULL, hg_test_async_result_cb, &other);
  hg_test_log_expect_warning ("alarm A-1: the core could not journal acknowledged");

  invocation = pop_report (fixture, "A-1", "acknowledged", NULL);
  /* made while the first is on its way: it waits for that one */
  hg_context_report_alarm_async (HG_CONTEXT (fixture->context), "A-1", HG_ALARM_STATE_CLOSED, NULL,
                                 NULL, hg_test_async_result_cb, &closed);
  g_dbus_method_invocation_return_dbus_error (g_steal_pointer (&invocation),
                                              "org.hemgate.Error.Unavailable",
                                              "journal municipal: disk full");

  invocation = pop_report (fixture, "B-2", "delivered", NULL);
  g_dbus_method_invocation_return_value (g_steal_pointer (&invocation), NULL);
  g_assert_true (hg_context_report_alarm_finish (HG_CONTEXT (fixture->context),
                                                 hg_test_wait_for_result (&other), &error));
  g_assert_no_error (error);

  /* the same report again, not the next one of that alarm; and not completed yet */
  invocation = pop_report (fixture, "A-1", "acknowledged", NULL);
  g_assert_cmpuint (hg_test_log_expected_warnings (), ==, 1);
  g_assert_null (acknowledged);
  g_assert_null (closed);
  g_dbus_method_invocation_return_value (g_steal_pointer (&invocation), NULL);
  g_assert_true (hg_context_report_alarm_finish (HG_CONTEXT (fixture->context),
                                                 hg_test_wait_for_result (&acknowledged), &error));
  g_assert_no_error (error);

  invocation = pop_report (fixture, "A-1", "closed", NULL);
  g_dbus_method_invocation_return_value (g_steal_pointer (&invocation), NULL);
  g_assert_true (hg_context_report_alarm_finish (HG_CONTEXT (fixture->context),
                                                 hg_test_wait_for_result (&closed), &error));
  g_assert_no_error (error);
}

/* Pops a ReportAlarmSteps call of @reference and checks its steps' states. */
static GDBusMethodInvocation *
pop_steps (Fixture *fixture,
           const gchar *reference,
           const gchar *const *states,
           const gchar *first_detail)
{
  GDBusMethodInvocation *invocation;
  g_autoptr(GVariant) steps = NULL;
  const gchar *ref = NULL;

  invocation = gt_dbus_queue_assert_pop_message (fixture->queue, CONTEXT_PATH, CONTEXT_IFACE,
                                                 "ReportAlarmSteps", "(&s@a(ss))", &ref, &steps);
  g_assert_cmpstr (ref, ==, reference);
  g_assert_cmpuint (g_variant_n_children (steps), ==, g_strv_length ((gchar **) states));
  for (guint i = 0; states[i] != NULL; i++)
    {
      const gchar *state, *detail;

      g_variant_get_child (steps, i, "(&s&s)", &state, &detail);
      g_assert_cmpstr (state, ==, states[i]);
      if (i == 0 && first_detail != NULL)
        g_assert_cmpstr (detail, ==, first_detail);
    }
  return invocation;
}

static void
test_report_alarm_steps (Fixture *fixture,
                         gconstpointer user_data)
{
  static const gchar *const delivered_acknowledged[] = { "delivered", "acknowledged", NULL };
  g_autoptr(JsonObject) detail = json_object_new ();
  g_autoptr(GDBusMethodInvocation) invocation = NULL;
  g_autoptr(GAsyncResult) delivered = NULL;
  g_autoptr(GAsyncResult) acknowledged = NULL;
  g_autoptr(GAsyncResult) other = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("The reports of one alarm made in one main-loop iteration go in one "
                  "ReportAlarmSteps call, in the order made, another alarm's in a call of "
                  "its own; each completes with its own result, and a step the core could "
                  "not journal for now is sent again, alone, until it is");

  json_object_set_int_member (detail, "snu", 1);
  hg_context_report_alarm_async (HG_CONTEXT (fixture->context), "A-1", HG_ALARM_STATE_DELIVERED,
                                 detail, NULL, hg_test_async_result_cb, &delivered);
  hg_context_report_alarm_async (HG_CONTEXT (fixture->context), "A-1", HG_ALARM_STATE_ACKNOWLEDGED,
                                 NULL, NULL, hg_test_async_result_cb, &acknowledged);
  hg_context_report_alarm_async (HG_CONTEXT (fixture->context), "B-2", HG_ALARM_STATE_DELIVERED,
                                 NULL, NULL, hg_test_async_result_cb, &other);

  invocation = pop_steps (fixture, "A-1", delivered_acknowledged, "{\"snu\":1}");
  g_dbus_method_invocation_return_value (
      g_steal_pointer (&invocation),
      g_variant_new_parsed ("([('', ''), ('org.hemgate.Error.IllegalTransition', "
                            "'alarm A-1 cannot move from closed to acknowledged')],)"));
  invocation = pop_report (fixture, "B-2", "delivered", NULL);
  g_dbus_method_invocation_return_value (g_steal_pointer (&invocation), NULL);

  g_assert_true (hg_context_report_alarm_finish (HG_CONTEXT (fixture->context),
                                                 hg_test_wait_for_result (&delivered), &error));
  g_assert_no_error (error);
  g_assert_false (hg_context_report_alarm_finish (HG_CONTEXT (fixture->context),
                                                  hg_test_wait_for_result (&acknowledged), &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_ILLEGAL_TRANSITION);
  g_clear_error (&error);
  g_assert_true (hg_context_report_alarm_finish (HG_CONTEXT (fixture->context),
                                                 hg_test_wait_for_result (&other), &error));
  g_assert_no_error (error);
  g_clear_object (&delivered);
  g_clear_object (&acknowledged);

  /* the journal took the first step and not the second: the second goes again, alone */
  hg_context_report_alarm_async (HG_CONTEXT (fixture->context), "C-3", HG_ALARM_STATE_DELIVERED,
                                 NULL, NULL, hg_test_async_result_cb, &delivered);
  hg_context_report_alarm_async (HG_CONTEXT (fixture->context), "C-3", HG_ALARM_STATE_ACKNOWLEDGED,
                                 NULL, NULL, hg_test_async_result_cb, &acknowledged);
  hg_test_log_expect_warning ("alarm C-3: the core could not journal acknowledged");
  invocation = pop_steps (fixture, "C-3", delivered_acknowledged, "");
  g_dbus_method_invocation_return_value (
      g_steal_pointer (&invocation),
      g_variant_new_parsed ("([('', ''), ('org.hemgate.Error.Unavailable', "
                            "'journal municipal: disk full')],)"));
  g_assert_true (hg_context_report_alarm_finish (HG_CONTEXT (fixture->context),
                                                 hg_test_wait_for_result (&delivered), &error));
  g_assert_no_error (error);
  invocation = pop_report (fixture, "C-3", "acknowledged", NULL);
  g_assert_cmpuint (hg_test_log_expected_warnings (), ==, 1);
  g_assert_null (acknowledged);
  g_dbus_method_invocation_return_value (g_steal_pointer (&invocation), NULL);
  g_assert_true (hg_context_report_alarm_finish (HG_CONTEXT (fixture->context),
                                                 hg_test_wait_for_result (&acknowledged), &error));
  g_assert_no_error (error);
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
                                 hg_test_async_result_cb, &result);
  invocation = gt_dbus_queue_assert_pop_message (fixture->queue, CONTEXT_PATH, CONTEXT_IFACE,
                                                 "StoreSecret", "(&s&s)", &key, &stored);
  g_assert_cmpstr (key, ==, "sip-password");
  g_assert_cmpstr (stored, ==, "hemligt");
  g_dbus_method_invocation_return_value (invocation, NULL);
  g_assert_true (hg_context_store_secret_finish (HG_CONTEXT (fixture->context),
                                                 hg_test_wait_for_result (&result), &error));
  g_assert_no_error (error);

  hg_context_lookup_secret_async (HG_CONTEXT (fixture->context), "sip-password", NULL,
                                  hg_test_async_result_cb, &result2);
  g_clear_object (&invocation);
  invocation = gt_dbus_queue_assert_pop_message (fixture->queue, CONTEXT_PATH, CONTEXT_IFACE,
                                                 "LookupSecret", "(&s)", &key);
  g_assert_cmpstr (key, ==, "sip-password");
  g_dbus_method_invocation_return_dbus_error (invocation,
                                              "org.freedesktop.DBus.Error.Failed", "keyring locked");
  value = hg_context_lookup_secret_finish (HG_CONTEXT (fixture->context),
                                           hg_test_wait_for_result (&result2), &error);
  g_assert_error (error, HG_ERROR, HG_ERROR_FAILED);
  g_assert_null (value);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_log_set_writer_func (hg_test_log_writer_cb, NULL, NULL);

  g_test_add ("/host/context/publish-event-returns-seq", Fixture, NULL, setup, test_publish_event, teardown);
  g_test_add ("/host/context/publishes-of-one-iteration-one-call", Fixture, NULL, setup,
              test_publish_batched, teardown);
  g_test_add ("/host/context/publish-of-other-type-splits-batch", Fixture, NULL, setup,
              test_publish_type_splits_batch, teardown);
  g_test_add ("/host/context/publish-body-error-fails-that-publish-only", Fixture, NULL, setup,
              test_publish_body_error, teardown);
  g_test_add ("/host/context/publish-batch-error-fails-every-publish", Fixture, NULL, setup,
              test_publish_batch_fails, teardown);
  g_test_add ("/host/context/publish-cancelled-before-flush-not-sent", Fixture, NULL, setup,
              test_publish_cancelled_not_sent, teardown);
  g_test_add ("/host/context/publishes-sent-before-other-call", Fixture, NULL, setup,
              test_publish_sent_before_other_call, teardown);
  g_test_add ("/host/context/permission-denied-maps-to-hg-error", Fixture, NULL, setup,
              test_permission_denied, teardown);
  g_test_add ("/host/context/raise-alarm-returns-ref", Fixture, NULL, setup, test_raise_alarm, teardown);
  g_test_add ("/host/context/report-alarm-sends-state-name", Fixture, NULL, setup, test_report_alarm, teardown);
  g_test_add ("/host/context/report-alarm-steps-in-one-call", Fixture, NULL, setup,
              test_report_alarm_steps, teardown);
  g_test_add ("/host/context/report-alarm-retried-while-unavailable", Fixture, NULL, setup,
              test_report_alarm_retried, teardown);
  g_test_add ("/host/context/secrets-round-trip", Fixture, NULL, setup, test_secrets, teardown);
  return g_test_run ();
}
