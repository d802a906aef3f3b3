/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of HgdContextImpl, the core's org.hemgate.Context1, called directly over a real
 * peer-to-peer connection on a socketpair with arguments no plugin host would send:
 * malformed and oversized bodies, too many bodies, types the grant does not cover. The
 * journals are real; the end-to-end cases with a real host are in tests/test-plugins.c. */
#include "config.h"

#include <sys/socket.h>

#include <hemgate-plugin.h>

#include "hg-test-support.h"
#include "hgd-capabilities.h"
#include "hgd-context-impl.h"
#include "hgd-dbus-generated.h"

#define CONTEXT_PATH "/org/hemgate/Context"
#define CONTEXT_IFACE "org.hemgate.Context1"

typedef struct
{
  gchar *dir;                           /* (owned) the state directory */
  HgdJournal *journals[HG_DOMAIN_LAST]; /* (owned) */
  HgdAlarms *alarms;                    /* (owned) */
  HgdSecrets *secrets;                  /* (owned) */
  HgdContextImpl *context;              /* (owned) */
  GDBusConnection *server;              /* (owned) the core's end */
  GDBusConnection *client;              /* (owned) the host's end */
} Fixture;

static void
connection_new_cb (GObject *source,
                   GAsyncResult *result,
                   gpointer user_data)
{
  GDBusConnection **connection = user_data;
  g_autoptr(GError) error = NULL;

  *connection = g_dbus_connection_new_finish (result, &error);
  g_assert_no_error (error);
}

static GIOStream *
stream_new (int fd)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, &error);

  g_assert_no_error (error);
  return G_IO_STREAM (g_socket_connection_factory_create_connection (socket));
}

/* @user_data: the grant, a NULL-terminated array */
static void
setup (Fixture *fixture,
       gconstpointer user_data)
{
  const gchar *const *grant = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) server_stream = NULL;
  g_autoptr(GIOStream) client_stream = NULL;
  g_autofree gchar *guid = g_dbus_generate_guid ();
  int fds[2];

  /* below the test's own data directory, which g_test_run() removes after the test */
  fixture->dir = g_build_filename (g_get_user_data_dir (), "hemgate", NULL);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      g_autofree gchar *dir = g_build_filename (fixture->dir, hg_domain_to_string (i), NULL);
      fixture->journals[i] = hgd_journal_new (i, dir, &error);
      g_assert_no_error (error);
    }
  fixture->alarms = hgd_alarms_new (fixture->journals[HG_DOMAIN_MUNICIPAL]);
  fixture->secrets = hgd_secrets_new ();
  fixture->context = hgd_context_impl_new ("probe", HG_DOMAIN_PERSONAL, grant, fixture->journals,
                                           fixture->alarms, fixture->secrets);

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  server_stream = stream_new (fds[0]);
  client_stream = stream_new (fds[1]);
  g_dbus_connection_new (server_stream, guid,
                         G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_SERVER |
                           G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_REQUIRE_SAME_USER |
                           G_DBUS_CONNECTION_FLAGS_DELAY_MESSAGE_PROCESSING,
                         NULL, NULL, connection_new_cb, &fixture->server);
  g_dbus_connection_new (client_stream, NULL, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL,
                         NULL, connection_new_cb, &fixture->client);
  while (fixture->server == NULL || fixture->client == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (hgd_context_impl_export (fixture->context, fixture->server, &error));
  g_assert_no_error (error);
  g_dbus_connection_start_message_processing (fixture->server);
}

static void
teardown (Fixture *fixture,
          gconstpointer user_data)
{
  g_dbus_connection_close_sync (fixture->client, NULL, NULL);
  g_clear_object (&fixture->client);
  hgd_context_impl_unexport (fixture->context);
  g_clear_object (&fixture->context);
  g_clear_object (&fixture->server);
  g_clear_object (&fixture->alarms);
  g_clear_object (&fixture->secrets);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    g_clear_object (&fixture->journals[i]);
  g_free (fixture->dir);
}

/* Calls @method on the context as the host would, and waits for the answer. */
static GVariant *
call (Fixture *fixture,
      const gchar *method,
      GVariant *parameters,
      const gchar *reply_type,
      GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  g_dbus_connection_call (fixture->client, NULL, CONTEXT_PATH, CONTEXT_IFACE, method, parameters,
                          G_VARIANT_TYPE (reply_type), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                          hg_test_async_result_cb, &result);
  hg_test_wait_for_result (&result);
  return g_dbus_connection_call_finish (fixture->client, result, error);
}

static GVariant *
publish_events (Fixture *fixture,
                const gchar *type,
                const gchar *const *bodies,
                GError **error)
{
  return call (fixture, "PublishEvents", g_variant_new ("(s^as)", type, bodies), "(a(tss))", error);
}

/* Returns: (transfer container): the events @source journaled in the personal domain */
static GPtrArray *
journaled (Fixture *fixture,
           const gchar *source)
{
  g_autoptr(GError) error = NULL;
  HgdJournal *journal = fixture->journals[HG_DOMAIN_PERSONAL];
  g_autoptr(GPtrArray) all = hgd_journal_query_events (journal, 0, 0, &error);
  GPtrArray *found = g_ptr_array_new_with_free_func (g_object_unref);

  g_assert_no_error (error);
  for (guint i = 0; i < all->len; i++)
    {
      HgEvent *event = g_ptr_array_index (all, i);
      if (g_strcmp0 (hg_event_get_source (event), source) == 0)
        g_ptr_array_add (found, g_object_ref (event));
    }
  return found;
}

static const gchar *const sensor_grant[] = { HG_CAPABILITY_SENSOR_PUBLISH, NULL };
static const gchar *const no_grant[] = { NULL };
static const gchar *const deliver_grant[] = { HG_CAPABILITY_ALARM_DELIVER, NULL };

static void
test_results_per_body (Fixture *fixture,
                       gconstpointer user_data)
{
  g_autofree gchar *large = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) results = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  guint64 seqs[5];
  const gchar *names[5];
  const gchar *messages[5];
  const gchar *bodies[] = { "{\"n\":1}", "{\"n\":", "{\"n\":3}", NULL, "[4]", NULL };
  const guint failed[] = { 1, 3, 4 };

  g_test_summary ("PublishEvents answers one (seq, error name, message) per body in order: "
                  "a malformed, oversized or non-object body fails alone with InvalidData, "
                  "the others are journaled in order as the instance's events");
  large = g_strdup_printf ("{\"x\":\"%0*d\"}", 64 * 1024, 0);
  bodies[3] = large;
  reply = publish_events (fixture, "sensor.reading", bodies, &error);
  g_assert_no_error (error);
  results = g_variant_get_child_value (reply, 0);
  g_assert_cmpuint (g_variant_n_children (results), ==, 5);
  for (guint i = 0; i < 5; i++)
    {
      g_variant_get_child (results, i, "(t&s&s)", &seqs[i], &names[i], &messages[i]);
      g_test_message ("body %u: %" G_GUINT64_FORMAT " %s %s", i, seqs[i], names[i], messages[i]);
    }
  g_assert_cmpuint (seqs[0], >, 0);
  g_assert_cmpstr (names[0], ==, "");
  g_assert_cmpstr (messages[0], ==, "");
  g_assert_cmpuint (seqs[2], >, seqs[0]);
  g_assert_cmpstr (names[2], ==, "");
  for (guint i = 0; i < G_N_ELEMENTS (failed); i++)
    {
      g_assert_cmpuint (seqs[failed[i]], ==, 0);
      g_assert_cmpstr (names[failed[i]], ==, "org.hemgate.Error.InvalidData");
      g_assert_true (g_str_has_prefix (messages[failed[i]], "body: "));
    }
  g_assert_nonnull (strstr (messages[1], "malformed JSON"));
  g_assert_nonnull (strstr (messages[3], "exceeds the limit"));
  g_assert_nonnull (strstr (messages[4], "not an object"));

  events = journaled (fixture, "plugin:probe");
  g_assert_cmpuint (events->len, ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      HgEvent *event = g_ptr_array_index (events, i);

      g_assert_cmpuint (hg_event_get_seq (event), ==, seqs[2 * i]);
      g_assert_cmpint (json_object_get_int_member (hg_event_get_body (event), "n"), ==, 2 * i + 1);
      g_assert_cmpstr (hg_event_get_event_type (event), ==, "sensor.reading");
    }
}

static void
test_over_rate_refused (Fixture *fixture,
                        gconstpointer user_data)
{
  g_autoptr(HgdConfig) config = hgd_config_new ();
  g_autoptr(HgdLimits) limits = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) results = NULL;
  g_autoptr(GVariant) single = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  const gchar *bodies[] = { "{\"n\":1}", "{\"n\":2}", "{\"n\":3}", "{\"n\":4}", "{\"n\":5}", NULL };

  g_test_summary ("Past its domain's event rate a plugin's events are refused with Unavailable: "
                  "in a PublishEvents call those past the tokens left, each on its own, the "
                  "first ones journaled; PublishEvent as a whole");
  g_assert_true (hgd_config_load_data (config, "[limits]\npersonal-event-rate = 3\n", "test.conf",
                                       &error));
  limits = hgd_limits_new_with_cgroup (config, "/nonexistent/cgroup");
  hgd_context_impl_set_limits (fixture->context, limits);

  reply = publish_events (fixture, "sensor.reading", bodies, &error);
  g_assert_no_error (error);
  results = g_variant_get_child_value (reply, 0);
  for (guint i = 0; i < 5; i++)
    {
      guint64 seq;
      const gchar *name;
      const gchar *message;

      g_variant_get_child (results, i, "(t&s&s)", &seq, &name, &message);
      if (i < 3)
        {
          g_assert_cmpuint (seq, >, 0);
          g_assert_cmpstr (name, ==, "");
        }
      else
        {
          g_assert_cmpuint (seq, ==, 0);
          g_assert_cmpstr (name, ==, "org.hemgate.Error.Unavailable");
          g_assert_nonnull (strstr (message, "rate limit"));
        }
    }
  single = call (fixture, "PublishEvent", g_variant_new ("(ss)", "sensor.reading", "{\"n\":6}"),
                 "(t)", &error);
  g_assert_null (single);
  g_assert_error (error, HG_ERROR, HG_ERROR_UNAVAILABLE);

  events = journaled (fixture, "plugin:probe");
  g_assert_cmpuint (events->len, ==, 3);
  g_assert_cmpuint (hgd_limits_get_n_refused (limits, HG_DOMAIN_PERSONAL), ==, 3);
}

static void
test_refused_as_whole (Fixture *fixture,
                       gconstpointer user_data)
{
  g_autoptr(GPtrArray) too_many = g_ptr_array_new ();
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) results = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  const gchar *one[] = { "{}", NULL };
  const gchar *none[] = { NULL };

  g_test_summary ("PublishEvents refuses with InvalidData, journaling nothing, more than 1024 "
                  "bodies or an invalid type; no bodies is an empty answer");
  for (guint i = 0; i < 1025; i++)
    g_ptr_array_add (too_many, (gpointer) "{}");
  g_ptr_array_add (too_many, NULL);
  reply = publish_events (fixture, "sensor.reading", (const gchar *const *) too_many->pdata,
                          &error);
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "1025 events in one call exceed the limit of 1024"));
  g_assert_null (reply);
  g_clear_error (&error);

  reply = publish_events (fixture, "sensor.Reading", one, &error);
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "invalid event type 'sensor.Reading'"));
  g_assert_null (reply);
  g_clear_error (&error);

  reply = publish_events (fixture, "sensor.reading", none, &error);
  g_assert_no_error (error);
  results = g_variant_get_child_value (reply, 0);
  g_assert_cmpuint (g_variant_n_children (results), ==, 0);

  events = journaled (fixture, "plugin:probe");
  g_assert_cmpuint (events->len, ==, 0);
}

static void
test_denied (Fixture *fixture,
             gconstpointer user_data)
{
  const gchar *two[] = { "{\"n\":1}", "{\"n\":2}", NULL };
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GPtrArray) denials = NULL;
  g_autoptr(GError) error = NULL;
  const gchar *expected_capability = user_data == no_grant ? HG_CAPABILITY_SENSOR_PUBLISH : NULL;

  g_test_summary ("PublishEvents of alarm.* (the core's own) or of sensor.* without "
                  "sensor.publish is denied as a whole, like PublishEvent: PermissionDenied, "
                  "one plugin.denied event per call, nothing journaled");
  reply = publish_events (fixture, user_data == no_grant ? "sensor.reading" : "alarm.raised", two,
                          &error);
  g_assert_error (error, HG_ERROR, HG_ERROR_PERMISSION_DENIED);
  g_assert_null (reply);
  g_clear_error (&error);
  reply = call (fixture, "PublishEvent", g_variant_new ("(ss)", "alarm.raised", "{}"), "(t)",
                &error);
  g_assert_error (error, HG_ERROR, HG_ERROR_PERMISSION_DENIED);
  g_assert_null (reply);
  g_assert_cmpuint (hgd_context_impl_get_n_denied (fixture->context), ==, 2);

  events = journaled (fixture, "plugin:probe");
  g_assert_cmpuint (events->len, ==, 0);
  denials = journaled (fixture, "core");
  while (denials->len < 2)
    {
      g_main_context_iteration (NULL, TRUE);
      g_clear_pointer (&denials, g_ptr_array_unref);
      denials = journaled (fixture, "core");
    }
  g_assert_cmpuint (denials->len, ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      JsonObject *body = hg_event_get_body (g_ptr_array_index (denials, i));

      g_assert_cmpstr (hg_event_get_event_type (g_ptr_array_index (denials, i)), ==,
                       "plugin.denied");
      g_assert_cmpstr (json_object_get_string_member (body, "method"), ==,
                       i == 0 ? "PublishEvents" : "PublishEvent");
      if (i == 0 && expected_capability != NULL)
        g_assert_cmpstr (json_object_get_string_member (body, "capability"), ==,
                         expected_capability);
      else
        g_assert_true (json_object_get_null_member (body, "capability"));
    }
}

static void
test_publish_event (Fixture *fixture,
                    gconstpointer user_data)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  guint64 seq = 0;

  g_test_summary ("PublishEvent still journals one event and returns its seq, and fails a "
                  "malformed body with InvalidData");
  reply = call (fixture, "PublishEvent", g_variant_new ("(ss)", "sensor.reading", "{\"n\":1}"),
                "(t)", &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(t)", &seq);
  g_assert_cmpuint (seq, >, 0);
  g_clear_pointer (&reply, g_variant_unref);
  reply = call (fixture, "PublishEvent", g_variant_new ("(ss)", "sensor.reading", "{\"n\":"),
                "(t)", &error);
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_null (reply);

  events = journaled (fixture, "plugin:probe");
  g_assert_cmpuint (events->len, ==, 1);
  g_assert_cmpuint (hg_event_get_seq (g_ptr_array_index (events, 0)), ==, seq);
}

/* Exports a context of @grant in place of the fixture's. */
static void
replace_context (Fixture *fixture,
                 const gchar *const *grant)
{
  g_autoptr(GError) error = NULL;

  hgd_context_impl_unexport (fixture->context);
  g_clear_object (&fixture->context);
  fixture->context = hgd_context_impl_new ("probe", HG_DOMAIN_PERSONAL, grant, fixture->journals,
                                           fixture->alarms, fixture->secrets);
  g_assert_true (hgd_context_impl_export (fixture->context, fixture->server, &error));
  g_assert_no_error (error);
}

/* Arguments for @method that every handler refuses at once (empty strings and arrays),
 * with @event_type first for a publishing call. */
static GVariant *
empty_arguments (const GDBusMethodInfo *method,
                 const gchar *event_type)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_TUPLE);
  for (guint i = 0; method->in_args != NULL && method->in_args[i] != NULL; i++)
    {
      const gchar *signature = method->in_args[i]->signature;

      if (i == 0 && event_type != NULL)
        g_variant_builder_add (&builder, "s", event_type);
      else if (g_str_equal (signature, "s"))
        g_variant_builder_add (&builder, "s", "");
      else if (g_str_equal (signature, "as"))
        g_variant_builder_add_value (&builder, g_variant_new_strv (NULL, 0));
      else if (g_str_equal (signature, "a(ss)"))
        g_variant_builder_add_value (&builder, g_variant_new_array (G_VARIANT_TYPE ("(ss)"), NULL, 0));
      else
        g_assert_not_reached ();
    }
  return g_variant_builder_end (&builder);
}

/* For a publishing call, a type the rule of @capability lets a plugin publish. */
static gchar *
publishable_type (const gchar *capability)
{
  const HgdCapability *rule = hgd_capability_lookup (capability);

  g_assert_nonnull (rule);
  g_assert_nonnull (rule->publishes[0]);
  if (g_str_has_suffix (rule->publishes[0], ".*"))
    {
      g_autofree gchar *word = g_strndup (rule->publishes[0], strlen (rule->publishes[0]) - 1);
      return g_strconcat (word, "test", NULL);
    }
  return g_strdup (rule->publishes[0]);
}

static void
test_each_call_needs_its_capability (Fixture *fixture,
                                     gconstpointer user_data)
{
  GDBusInterfaceInfo *info = hgd_dbus_context1_interface_info ();
  const HgdCapability *table;
  guint n_table;
  guint n_checked = 0;

  g_test_summary ("Every Context1 method, and every type a publishing method may carry, is "
                  "allowed by the grant table's rule and only by it: denied without the "
                  "capability, naming it, and not denied with it alone");
  table = hgd_capabilities_get_all (&n_table);
  for (guint i = 0; i < n_table; i++)
    {
      const gchar *const grant[] = { table[i].name, NULL };

      for (guint m = 0; m < G_N_ELEMENTS (table[i].methods) + G_N_ELEMENTS (table[i].publishes); m++)
        {
          gboolean publishing = m >= G_N_ELEMENTS (table[i].methods);
          const gchar *name = publishing ? table[i].publishes[m - G_N_ELEMENTS (table[i].methods)]
                                         : table[i].methods[m];
          g_autofree gchar *type = NULL;

          if (name == NULL)
            continue;
          if (publishing)
            type = publishable_type (table[i].name);
          for (guint k = 0; info->methods[k] != NULL; k++)
            {
              const GDBusMethodInfo *method = info->methods[k];
              g_autoptr(GVariant) reply = NULL;
              g_autoptr(GError) error = NULL;
              g_autofree gchar *expected = NULL;

              if (publishing ? !hgd_capabilities_call_names_event_type (method->name)
                             : !g_str_equal (method->name, name))
                continue;
              g_test_message ("%s %s", method->name, type != NULL ? type : "");
              g_assert_cmpstr (hgd_capabilities_required_for_call (method->name, type), ==,
                               table[i].name);

              replace_context (fixture, (const gchar *const[]) { NULL });
              reply = call (fixture, method->name, empty_arguments (method, type), "()", &error);
              g_assert_error (error, HG_ERROR, HG_ERROR_PERMISSION_DENIED);
              expected = g_strdup_printf ("%s needs the capability %s", method->name, table[i].name);
              g_assert_nonnull (strstr (error->message, expected));
              g_clear_error (&error);
              g_clear_pointer (&reply, g_variant_unref);

              replace_context (fixture, grant);
              reply = call (fixture, method->name, empty_arguments (method, type), "()", &error);
              g_assert_false (g_error_matches (error, HG_ERROR, HG_ERROR_PERMISSION_DENIED));
              n_checked++;
            }
        }
    }
  g_assert_cmpuint (n_checked, >, 0);
}

static void
test_every_call_in_table (Fixture *fixture,
                          gconstpointer user_data)
{
  GDBusInterfaceInfo *info = hgd_dbus_context1_interface_info ();

  g_test_summary ("No Context1 method is left out of the grant table: each is for every "
                  "instance, needs a capability, or is a publishing method decided by its "
                  "event type; an unknown method and a type no rule names need a capability "
                  "no grant holds");
  for (guint k = 0; info->methods[k] != NULL; k++)
    {
      const gchar *method = info->methods[k]->name;

      g_test_message ("%s", method);
      if (hgd_capabilities_call_names_event_type (method))
        {
          g_assert_cmpstr (hgd_capabilities_required_for_call (method, "sensor.reading"), ==,
                           HG_CAPABILITY_SENSOR_PUBLISH);
          g_assert_null (hgd_capabilities_required_for_call (method, "alarm.raised"));
          g_assert_null (hgd_capabilities_required_for_call (method, "plugin.denied"));
          g_assert_null (hgd_capabilities_required_for_call (method, "sensors.reading"));
          g_assert_null (hgd_capabilities_required_for_call (method, NULL));
        }
      else
        g_assert_nonnull (hgd_capabilities_required_for_call (method, NULL));
    }
  g_assert_cmpstr (hgd_capabilities_required_for_call ("ReportHealth", NULL), ==, "");
  g_assert_null (hgd_capabilities_required_for_call ("Exec", NULL));
}

static void
raised_cb (GObject *source,
           GAsyncResult *result,
           gpointer user_data)
{
  gchar **reference = user_data;
  g_autoptr(GError) error = NULL;

  *reference = hgd_alarms_raise_finish (HGD_ALARMS (source), result, &error);
  g_assert_no_error (error);
}

static void
test_report_alarm_illegal (Fixture *fixture,
                           gconstpointer user_data)
{
  g_autoptr(HgAlarm) alarm = hg_alarm_new ("fall");
  g_autoptr(HgAlarm) recorded = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *reference = NULL;

  g_test_bug ("14");
  g_test_summary ("ReportAlarm of a step the life cycle does not give a delivery plugin fails "
                  "with org.hemgate.Error.IllegalTransition (HG_ERROR_ILLEGAL_TRANSITION), "
                  "not InvalidData, and the alarm stays where it is");

  hgd_alarms_raise_async (fixture->alarms, alarm, "plugin:pendant", NULL, raised_cb, &reference);
  while (reference == NULL)
    g_main_context_iteration (NULL, TRUE);

  reply = call (fixture, "ReportAlarm", g_variant_new ("(sss)", reference, "acknowledged", ""),
                "()", &error);
  g_assert_no_error (error);
  g_clear_pointer (&reply, g_variant_unref);
  /* a plugin does not close alarms, nor go back without a `delivery` detail */
  reply = call (fixture, "ReportAlarm", g_variant_new ("(sss)", reference, "closed", ""), "()",
                &error);
  g_assert_error (error, HG_ERROR, HG_ERROR_ILLEGAL_TRANSITION);
  g_assert_null (reply);
  g_clear_error (&error);
  reply = call (fixture, "ReportAlarm", g_variant_new ("(sss)", reference, "delivered", "{}"), "()",
                &error);
  g_assert_error (error, HG_ERROR, HG_ERROR_ILLEGAL_TRANSITION);
  g_assert_null (reply);
  g_clear_error (&error);
  /* an unknown state is still bad data */
  reply = call (fixture, "ReportAlarm", g_variant_new ("(sss)", reference, "lost", ""), "()",
                &error);
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_clear_error (&error);

  recorded = hgd_journal_get_alarm (fixture->journals[HG_DOMAIN_MUNICIPAL], reference, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hg_alarm_get_state (recorded), ==, HG_ALARM_STATE_ACKNOWLEDGED);
}

static void
test_report_alarm_steps (Fixture *fixture,
                         gconstpointer user_data)
{
  g_autoptr(HgAlarm) alarm = hg_alarm_new ("fall");
  g_autoptr(HgAlarm) recorded = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *reference = NULL;
  const gchar *name, *message;
  GVariantBuilder steps;

  g_test_summary ("ReportAlarmSteps journals each step as ReportAlarm would, in order, and "
                  "answers each on its own: a step the life cycle refuses is "
                  "IllegalTransition in its result only; an unknown state fails the call");

  hgd_alarms_raise_async (fixture->alarms, alarm, "plugin:pendant", NULL, raised_cb, &reference);
  while (reference == NULL)
    g_main_context_iteration (NULL, TRUE);

  g_variant_builder_init (&steps, G_VARIANT_TYPE ("a(ss)"));
  g_variant_builder_add (&steps, "(ss)", "delivered", "{\"receiver\":\"primary\",\"snu\":1}");
  g_variant_builder_add (&steps, "(ss)", "closed", "");
  g_variant_builder_add (&steps, "(ss)", "acknowledged", "{\"receiver\":\"primary\"}");
  reply = call (fixture, "ReportAlarmSteps", g_variant_new ("(sa(ss))", reference, &steps),
                "(a(ss))", &error);
  g_assert_no_error (error);
  {
    g_autoptr(GVariant) results = g_variant_get_child_value (reply, 0);

    g_assert_cmpuint (g_variant_n_children (results), ==, 3);
    g_variant_get_child (results, 0, "(&s&s)", &name, &message);
    g_assert_cmpstr (name, ==, "");
    g_variant_get_child (results, 1, "(&s&s)", &name, &message);
    g_assert_cmpstr (name, ==, "org.hemgate.Error.IllegalTransition");
    g_variant_get_child (results, 2, "(&s&s)", &name, &message);
    g_assert_cmpstr (name, ==, "");
  }
  g_clear_pointer (&reply, g_variant_unref);

  recorded = hgd_journal_get_alarm (fixture->journals[HG_DOMAIN_MUNICIPAL], reference, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hg_alarm_get_state (recorded), ==, HG_ALARM_STATE_ACKNOWLEDGED);
  events = hgd_journal_query_events (fixture->journals[HG_DOMAIN_MUNICIPAL], 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (events->len, ==, 3);
  g_assert_cmpstr (hg_event_get_event_type (g_ptr_array_index (events, 1)), ==, "alarm.delivered");
  g_assert_cmpstr (hg_event_get_source (g_ptr_array_index (events, 1)), ==, "plugin:probe");
  g_assert_cmpstr (hg_event_get_event_type (g_ptr_array_index (events, 2)), ==,
                   "alarm.acknowledged");

  /* bad data fails the whole call, and nothing is journaled */
  g_variant_builder_init (&steps, G_VARIANT_TYPE ("a(ss)"));
  g_variant_builder_add (&steps, "(ss)", "closed", "");
  g_variant_builder_add (&steps, "(ss)", "lost", "");
  reply = call (fixture, "ReportAlarmSteps", g_variant_new ("(sa(ss))", reference, &steps),
                "(a(ss))", &error);
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_null (reply);
  g_clear_error (&error);
  g_variant_builder_init (&steps, G_VARIANT_TYPE ("a(ss)"));
  reply = call (fixture, "ReportAlarmSteps", g_variant_new ("(sa(ss))", reference, &steps),
                "(a(ss))", &error);
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_null (reply);
}

/* HgTestContext, the double plugin authors test against, must refuse exactly what this
 * dispatcher refuses. */

typedef struct
{
  HgTestContextCall kind;
  gboolean done;
  GError *error; /* (owned) (nullable) */
} DoubleCall;

static void
double_call_done_cb (GObject *source,
                     GAsyncResult *result,
                     gpointer user_data)
{
  DoubleCall *call = user_data;
  HgContext *context = HG_CONTEXT (source);

  switch (call->kind)
    {
    case HG_TEST_CONTEXT_CALL_PUBLISH_EVENT:
      hg_context_publish_event_finish (context, result, &call->error);
      break;
    case HG_TEST_CONTEXT_CALL_RAISE_ALARM:
      g_free (hg_context_raise_alarm_finish (context, result, &call->error));
      break;
    case HG_TEST_CONTEXT_CALL_REPORT_ALARM:
      hg_context_report_alarm_finish (context, result, &call->error);
      break;
    case HG_TEST_CONTEXT_CALL_LOOKUP_SECRET:
      g_free (hg_context_lookup_secret_finish (context, result, &call->error));
      break;
    case HG_TEST_CONTEXT_CALL_STORE_SECRET:
      hg_context_store_secret_finish (context, result, &call->error);
      break;
    default:
      g_assert_not_reached ();
    }
  call->done = TRUE;
}

/* Returns: whether @context refused the call of @kind (of @event_type, for a publish) */
static gboolean
double_denies (HgTestContext *context,
               HgTestContextCall kind,
               const gchar *event_type)
{
  HgContext *base = HG_CONTEXT (context);
  DoubleCall call = { kind, FALSE, NULL };
  g_autoptr(HgEvent) event = NULL;
  g_autoptr(HgAlarm) alarm = NULL;
  gboolean denied;

  switch (kind)
    {
    case HG_TEST_CONTEXT_CALL_PUBLISH_EVENT:
      event = hg_event_new (event_type, NULL);
      hg_context_publish_event_async (base, event, NULL, double_call_done_cb, &call);
      break;
    case HG_TEST_CONTEXT_CALL_RAISE_ALARM:
      alarm = hg_alarm_new ("fall");
      hg_context_raise_alarm_async (base, alarm, NULL, double_call_done_cb, &call);
      break;
    case HG_TEST_CONTEXT_CALL_REPORT_ALARM:
      hg_context_report_alarm_async (base, "0123456789abcdef", HG_ALARM_STATE_DELIVERED, NULL, NULL,
                                     double_call_done_cb, &call);
      break;
    case HG_TEST_CONTEXT_CALL_LOOKUP_SECRET:
      hg_context_lookup_secret_async (base, "pin", NULL, double_call_done_cb, &call);
      break;
    case HG_TEST_CONTEXT_CALL_STORE_SECRET:
      hg_context_store_secret_async (base, "pin", "1234", NULL, double_call_done_cb, &call);
      break;
    default:
      g_assert_not_reached ();
    }
  while (!call.done)
    g_main_context_iteration (NULL, TRUE);
  denied = g_error_matches (call.error, HG_ERROR, HG_ERROR_PERMISSION_DENIED);
  g_clear_error (&call.error);
  return denied;
}

static void
test_double_agrees (void)
{
  static const struct
  {
    HgTestContextCall kind;
    const gchar *method;
  } calls[] = {
    { HG_TEST_CONTEXT_CALL_PUBLISH_EVENT, "PublishEvents" },
    { HG_TEST_CONTEXT_CALL_RAISE_ALARM, "RaiseAlarm" },
    { HG_TEST_CONTEXT_CALL_REPORT_ALARM, "ReportAlarm" },
    { HG_TEST_CONTEXT_CALL_LOOKUP_SECRET, "LookupSecret" },
    { HG_TEST_CONTEXT_CALL_STORE_SECRET, "StoreSecret" },
  };
  static const gchar *const capabilities[] = { "sensor.publish", "sensor.subscribe", "alarm.raise",
                                               "alarm.deliver", "secrets", NULL };
  static const gchar *const event_types[] = { "sensor.reading", "sensor.health", "alarm.raised",
                                              "plugin.denied", "example.thing" };

  g_test_summary ("HgTestContext, the context plugins are unit-tested against, refuses a call "
                  "with PermissionDenied exactly when the core's table refuses it, for no "
                  "capability, each one alone and all of them");
  /* grants: none, each capability alone, all of them */
  for (guint g = 0; g <= g_strv_length ((gchar **) capabilities) + 1; g++)
    {
      const gchar *one[] = { g > 0 ? capabilities[g - 1] : NULL, NULL };
      const gchar *const *grant = g == 0                                         ? (const gchar *const *) one
                                  : g <= g_strv_length ((gchar **) capabilities) ? (const gchar *const *) one
                                                                                 : capabilities;
      g_autoptr(HgTestContext) context = hg_test_context_new ("probe", HG_DOMAIN_MUNICIPAL, NULL, grant);

      for (guint c = 0; c < G_N_ELEMENTS (calls); c++)
        {
          guint n_types = calls[c].kind == HG_TEST_CONTEXT_CALL_PUBLISH_EVENT ? G_N_ELEMENTS (event_types) : 1;

          for (guint t = 0; t < n_types; t++)
            {
              const gchar *type = calls[c].kind == HG_TEST_CONTEXT_CALL_PUBLISH_EVENT ? event_types[t] : NULL;
              const gchar *needed = hgd_capabilities_required_for_call (calls[c].method, type);
              gboolean core_denies = needed == NULL || (needed[0] != '\0' && !g_strv_contains (grant, needed));

              g_test_message ("grant %s, %s %s: the core %s", grant[0] != NULL ? grant[0] : "(none)",
                              calls[c].method, type != NULL ? type : "", core_denies ? "denies" : "allows");
              g_assert_cmpint (double_denies (context, calls[c].kind, type), ==, core_denies);
            }
        }
    }
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* denials are logged as warnings by design */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);

  g_test_add ("/context/publish-events/result-per-body", Fixture, sensor_grant, setup,
              test_results_per_body, teardown);
  g_test_add ("/context/publish-events/over-rate-refused", Fixture, sensor_grant, setup,
              test_over_rate_refused, teardown);
  g_test_add ("/context/publish-events/refused-as-whole", Fixture, sensor_grant, setup,
              test_refused_as_whole, teardown);
  g_test_add ("/context/publish-events/core-type-denied", Fixture, sensor_grant, setup, test_denied,
              teardown);
  g_test_add ("/context/publish-events/ungranted-type-denied", Fixture, no_grant, setup,
              test_denied, teardown);
  g_test_add ("/context/publish-event/journals-one", Fixture, sensor_grant, setup,
              test_publish_event, teardown);
  g_test_add ("/context/grant/each-call-needs-its-capability", Fixture, no_grant, setup,
              test_each_call_needs_its_capability, teardown);
  g_test_add ("/context/grant/every-call-in-table", Fixture, no_grant, setup,
              test_every_call_in_table, teardown);

  g_test_add ("/context/report-alarm/illegal-transition", Fixture, deliver_grant, setup,
              test_report_alarm_illegal, teardown);
  g_test_add ("/context/report-alarm/steps", Fixture, deliver_grant, setup,
              test_report_alarm_steps, teardown);
  g_test_add_func ("/context/test-context/denies-as-the-core", test_double_agrees);
  return g_test_run ();
}
