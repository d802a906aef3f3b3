/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgTestContext: the HgContext a plugin's unit tests give it instead of a core. It checks
 * each call against the capabilities it was created with and refuses one the grant does
 * not cover with the error the core gives (HG_ERROR_PERMISSION_DENIED, see
 * daemon/core/hgd-context-impl.c), checks its input as the plugin host and the core do,
 * and records what was accepted: events (stamped as the core journals them), alarms (with
 * the reference handed out), alarm reports, health reports and secrets. A test can make the
 * next call of a kind fail with an error of its choosing, and hand the plugin an event in
 * the form the core sends it.
 *
 * Calls complete from an idle source of the caller's main context, in the order they were
 * made, never before the call returns: the real context waits for the core. */
#include "config.h"

#include <string.h>

#include "hg-alarm-private.h"
#include "hg-capability.h"
#include "hg-context-private.h"
#include "hg-error.h"
#include "hg-event-private.h"
#include "hg-json.h"
#include "hg-test-context.h"

/* The limits of the plugin host and the core (hgd-host-context.c, hgd-host.c,
 * hgd-secrets.c). */
#define MAX_JSON_SIZE (64 * 1024)
#define MAX_DELIVERED_EVENT_SIZE (256 * 1024)
#define MAX_SECRET_KEY 128
#define MAX_SECRET_VALUE 65536

/* What the core's dispatcher asks of each call (method_rules and publish_rules in
 * daemon/core/hgd-context-impl.c): the D-Bus method that carries it and the capability it
 * needs; a publish needs the capability of its type's first word. */
static const struct
{
  const gchar *method;
  const gchar *capability; /* NULL: decided by the event type */
} call_rules[HG_TEST_CONTEXT_CALL_LAST] = {
  [HG_TEST_CONTEXT_CALL_PUBLISH_EVENT] = { "PublishEvents", NULL },
  [HG_TEST_CONTEXT_CALL_RAISE_ALARM] = { "RaiseAlarm", "alarm.raise" },
  [HG_TEST_CONTEXT_CALL_REPORT_ALARM] = { "ReportAlarm", "alarm.deliver" },
  [HG_TEST_CONTEXT_CALL_LOOKUP_SECRET] = { "LookupSecret", "secrets" },
  [HG_TEST_CONTEXT_CALL_STORE_SECRET] = { "StoreSecret", "secrets" },
};

static const struct
{
  const gchar *first_word;
  const gchar *capability;
} publish_rules[] = {
  { "sensor", "sensor.publish" },
  { "visit", "visit.publish" },
};

/* One report of an alarm's step, as recorded. */
typedef struct
{
  gchar *reference;   /* (owned) */
  HgAlarmState state;
  JsonObject *detail; /* (owned) (nullable) */
} AlarmReport;

/* A call's answer, waiting for the idle that completes it. */
typedef struct
{
  GTask *task;               /* (owned) */
  GError *error;             /* (owned) (nullable) */
  gpointer value;            /* (owned) (nullable) NULL and no error: the boolean TRUE */
  GDestroyNotify value_free; /* (nullable) */
} Completion;

struct _HgTestContext
{
  HgContext parent_instance;
  gchar *source;                              /* (owned) "plugin:<id>" */
  guint64 last_seq;
  GPtrArray *events;                          /* (owned) (element-type HgEvent) */
  GPtrArray *alarms;                          /* (owned) (element-type HgAlarm) */
  GPtrArray *reports;                         /* (owned) (element-type AlarmReport) */
  GPtrArray *health;                          /* (owned) (element-type JsonObject) */
  GHashTable *secrets;                        /* (owned) key → value */
  GQueue failures[HG_TEST_CONTEXT_CALL_LAST]; /* (element-type GError) (owned) */
  guint n_calls[HG_TEST_CONTEXT_CALL_LAST];
  guint n_denied;
  GQueue pending;                             /* (element-type Completion) (owned) */
  GSource *complete_source;                   /* (owned) (nullable) */
  GHashTable *channels;                       /* (owned) id → GPtrArray of JsonObject sent */
  GHashTable *open_channels;                  /* (owned) the ids still open */
  guint n_channels;
};

struct _HgTestContextClass
{
  HgContextClass parent_class;
};

/**
 * HgTestContext:
 *
 * The #HgContext a plugin's unit tests give it in place of the gateway: no core, no
 * plugin host, no D-Bus. It answers each call as the core would and records what the
 * plugin did, for the test to check:
 *
 * ```c
 * const gchar *capabilities[] = { "sensor.publish", NULL };
 * g_autoptr(HgTestContext) context = hg_test_context_new ("example", HG_DOMAIN_PERSONAL,
 *                                                         config, capabilities);
 * g_autoptr(HgPlugin) plugin = g_object_new (MY_TYPE_PLUGIN, "context", context, NULL);
 *
 * ... configure and start the plugin, run the main loop ...
 * g_assert_cmpuint (hg_test_context_get_events (context)->len, ==, 1);
 * ```
 *
 * A call the granted capabilities do not cover is refused with
 * %HG_ERROR_PERMISSION_DENIED, as the core refuses it; hg_test_context_fail_next() makes
 * an allowed call fail, to test the plugin's error paths; hg_test_context_deliver_event()
 * hands the plugin an event as the core does. Calls complete from the main loop.
 *
 * Since: 1.0
 */
G_DEFINE_FINAL_TYPE (HgTestContext, hg_test_context, HG_TYPE_CONTEXT)

static void
alarm_report_free (AlarmReport *report)
{
  g_free (report->reference);
  g_clear_pointer (&report->detail, json_object_unref);
  g_free (report);
}

static void
completion_free (Completion *completion)
{
  g_clear_object (&completion->task);
  g_clear_error (&completion->error);
  if (completion->value != NULL && completion->value_free != NULL)
    completion->value_free (completion->value);
  g_free (completion);
}

static void
complete (Completion *completion)
{
  GTask *task = completion->task;

  if (g_task_return_error_if_cancelled (task))
    return;
  if (completion->error != NULL)
    g_task_return_error (task, g_steal_pointer (&completion->error));
  else if (completion->value != NULL)
    g_task_return_pointer (task, g_steal_pointer (&completion->value), completion->value_free);
  else
    g_task_return_boolean (task, TRUE);
}

static gboolean
complete_cb (gpointer user_data)
{
  HgTestContext *self = HG_TEST_CONTEXT (user_data);
  guint n = g_queue_get_length (&self->pending);
  g_autoptr(GObject) keep = g_object_ref (G_OBJECT (self));

  g_clear_pointer (&self->complete_source, g_source_unref);
  /* only those made before this dispatch: a callback's new calls wait for the next */
  for (guint i = 0; i < n; i++)
    {
      Completion *completion = g_queue_pop_head (&self->pending);

      complete (completion);
      completion_free (completion);
    }
  return G_SOURCE_REMOVE;
}

/* Answers @task from an idle; takes @error and @value. */
static void
complete_later (HgTestContext *self,
                GTask *task,
                GError *error,
                gpointer value,
                GDestroyNotify value_free)
{
  Completion *completion = g_new0 (Completion, 1);

  completion->task = g_object_ref (task);
  completion->error = error;
  completion->value = value;
  completion->value_free = value_free;
  g_queue_push_tail (&self->pending, completion);
  if (self->complete_source != NULL && !g_source_is_destroyed (self->complete_source))
    return;
  g_clear_pointer (&self->complete_source, g_source_unref);
  self->complete_source = g_idle_source_new ();
  g_source_set_priority (self->complete_source, G_PRIORITY_DEFAULT);
  g_source_set_callback (self->complete_source, complete_cb, self, NULL);
  g_source_set_static_name (self->complete_source, "hemgate-test-context");
  g_source_attach (self->complete_source, g_task_get_context (task));
}

/* Returns: (nullable): the capability publishing @type needs, or %NULL if none lets a
 * plugin publish it */
static const gchar *
publish_capability (const gchar *type)
{
  const gchar *dot = strchr (type, '.');

  for (guint i = 0; dot != NULL && i < G_N_ELEMENTS (publish_rules); i++)
    {
      const gchar *word = publish_rules[i].first_word;

      if (strlen (word) == (gsize) (dot - type) && strncmp (type, word, dot - type) == 0)
        return publish_rules[i].capability;
    }
  return NULL;
}

/* Counts the call, and checks it as the core's dispatcher does and then against the
 * failures the test asked for. Returns: (transfer full) (nullable): the error to answer
 * with, or %NULL if the call goes ahead */
static GError *
check_call (HgTestContext *self,
            HgTestContextCall call,
            const gchar *event_type)
{
  const gchar *method = call_rules[call].method;
  const gchar *capability = call_rules[call].capability;

  self->n_calls[call]++;
  if (call == HG_TEST_CONTEXT_CALL_PUBLISH_EVENT)
    capability = publish_capability (event_type);
  if (capability == NULL)
    {
      self->n_denied++;
      return g_error_new (HG_ERROR, HG_ERROR_PERMISSION_DENIED,
                          "%s of '%s': no capability lets a plugin publish this type; it is "
                          "the core's own",
                          method, event_type);
    }
  if (!hg_context_has_capability (HG_CONTEXT (self), capability))
    {
      self->n_denied++;
      return g_error_new (HG_ERROR, HG_ERROR_PERMISSION_DENIED, "%s needs the capability %s",
                          method, capability);
    }
  return g_queue_pop_head (&self->failures[call]);
}

/* NULL, or the error of JSON larger than the host sends */
static GError *
check_json_size (JsonObject *object)
{
  g_autofree gchar *json = hg_json_object_to_string (object);

  if (strlen (json) <= MAX_JSON_SIZE)
    return NULL;
  return g_error_new (HG_ERROR, HG_ERROR_INVALID_DATA,
                      "JSON of %" G_GSIZE_FORMAT " bytes exceeds the limit of %d", strlen (json),
                      MAX_JSON_SIZE);
}

/* A copy of @object as the core gets it: through its text form. */
static JsonObject *
json_copy (JsonObject *object)
{
  g_autofree gchar *json = hg_json_object_to_string (object);

  return hg_json_parse_object (json, -1, G_MAXSIZE, NULL);
}

static gboolean
secret_key_is_valid (const gchar *key)
{
  gsize len = strlen (key);

  if (len == 0 || len > MAX_SECRET_KEY)
    return FALSE;
  for (const gchar *p = key; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '.' && *p != '_' && *p != '-')
        return FALSE;
    }
  return TRUE;
}

static GError *
check_secret_key (HgTestContext *self,
                  const gchar *key)
{
  if (secret_key_is_valid (key))
    return NULL;
  return g_error_new (HG_ERROR, HG_ERROR_INVALID_DATA,
                      "secret key for %s in %s is not 1 to 128 characters of [A-Za-z0-9._-]",
                      self->source, hg_domain_to_string (hg_context_get_domain (HG_CONTEXT (self))));
}

/* The reference the core gives an alarm: ten base-36 digits of the time, six random
 * letters or digits (hgd_alarms_new_reference ()). */
static gchar *
new_reference (void)
{
  static const gchar digits36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  static const gchar alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  static gint64 last_usec = 0;
  gchar reference[17];
  guint64 usec;

  last_usec = MAX (g_get_real_time (), last_usec + 1);
  usec = (guint64) last_usec;
  for (gint i = 9; i >= 0; i--)
    {
      reference[i] = digits36[usec % 36];
      usec /= 36;
    }
  for (guint i = 10; i < 16; i++)
    reference[i] = alnum[g_random_int_range (0, sizeof (alnum) - 1)];
  reference[16] = '\0';
  return g_strdup (reference);
}

static void
hg_test_context_publish_event_async (HgContext *context,
                                     HgEvent *event,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  HgTestContext *self = HG_TEST_CONTEXT (context);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  const gchar *type = hg_event_get_event_type (event);
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(HgEvent) journaled = NULL;
  GError *error;
  guint64 seq;

  g_task_set_source_tag (task, hg_test_context_publish_event_async);
  error = check_call (self, HG_TEST_CONTEXT_CALL_PUBLISH_EVENT, type);
  if (error == NULL)
    error = check_json_size (hg_event_get_body (event));
  if (error != NULL)
    {
      complete_later (self, task, error, NULL, NULL);
      return;
    }
  body = json_copy (hg_event_get_body (event));
  journaled = hg_event_new (type, body);
  seq = ++self->last_seq;
  hg_event_set_domain (journaled, hg_context_get_domain (context));
  hg_event_set_seq (journaled, seq);
  hg_event_set_timestamp (journaled, g_get_real_time ());
  hg_event_set_source (journaled, self->source);
  g_ptr_array_add (self->events, g_steal_pointer (&journaled));
  complete_later (self, task, NULL, g_memdup2 (&seq, sizeof seq), g_free);
}

static void
hg_test_context_raise_alarm_async (HgContext *context,
                                   HgAlarm *alarm,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data)
{
  HgTestContext *self = HG_TEST_CONTEXT (context);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(JsonObject) object = hg_alarm_to_json (alarm);
  g_autoptr(JsonObject) copy = NULL;
  g_autoptr(HgAlarm) raised = NULL;
  g_autofree gchar *reference = NULL;
  GError *error;

  g_task_set_source_tag (task, hg_test_context_raise_alarm_async);
  error = check_call (self, HG_TEST_CONTEXT_CALL_RAISE_ALARM, NULL);
  if (error == NULL)
    error = check_json_size (object);
  if (error == NULL && !hg_alarm_type_is_valid (hg_alarm_get_alarm_type (alarm)))
    error = g_error_new (HG_ERROR, HG_ERROR_INVALID_DATA, "unknown alarm type '%s'",
                         hg_alarm_get_alarm_type (alarm));
  if (error == NULL)
    {
      copy = json_copy (object);
      raised = hg_alarm_new_from_json (copy, &error);
      if (raised == NULL)
        g_prefix_error (&error, "alarm: ");
    }
  if (error != NULL)
    {
      complete_later (self, task, error, NULL, NULL);
      return;
    }
  /* the core sets reference, state and source */
  reference = new_reference ();
  hg_alarm_set_reference (raised, reference);
  hg_alarm_set_state (raised, HG_ALARM_STATE_RAISED);
  hg_alarm_set_source (raised, self->source);
  g_ptr_array_add (self->alarms, g_steal_pointer (&raised));
  complete_later (self, task, NULL, g_steal_pointer (&reference), g_free);
}

static void
hg_test_context_report_alarm_async (HgContext *context,
                                    const gchar *reference,
                                    HgAlarmState state,
                                    JsonObject *detail,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  HgTestContext *self = HG_TEST_CONTEXT (context);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  AlarmReport *report;
  GError *error;

  g_task_set_source_tag (task, hg_test_context_report_alarm_async);
  error = check_call (self, HG_TEST_CONTEXT_CALL_REPORT_ALARM, NULL);
  if (error == NULL && hg_alarm_state_to_string (state) == NULL)
    error = g_error_new (HG_ERROR, HG_ERROR_INVALID_DATA, "unknown alarm state %d", state);
  if (error == NULL && detail != NULL)
    error = check_json_size (detail);
  if (error != NULL)
    {
      complete_later (self, task, error, NULL, NULL);
      return;
    }
  report = g_new0 (AlarmReport, 1);
  report->reference = g_strdup (reference);
  report->state = state;
  report->detail = detail != NULL ? json_copy (detail) : NULL;
  g_ptr_array_add (self->reports, report);
  complete_later (self, task, NULL, NULL, NULL);
}

static void
hg_test_context_lookup_secret_async (HgContext *context,
                                     const gchar *key,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  HgTestContext *self = HG_TEST_CONTEXT (context);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  const gchar *value;
  GError *error;

  g_task_set_source_tag (task, hg_test_context_lookup_secret_async);
  error = check_call (self, HG_TEST_CONTEXT_CALL_LOOKUP_SECRET, NULL);
  if (error == NULL)
    error = check_secret_key (self, key);
  if (error != NULL)
    {
      complete_later (self, task, error, NULL, NULL);
      return;
    }
  value = g_hash_table_lookup (self->secrets, key);
  if (value == NULL)
    complete_later (self, task,
                    g_error_new (HG_ERROR, HG_ERROR_NOT_FOUND, "no secret '%s' for %s in %s", key,
                                 self->source,
                                 hg_domain_to_string (hg_context_get_domain (context))),
                    NULL, NULL);
  else
    complete_later (self, task, NULL, g_strdup (value), g_free);
}

static void
hg_test_context_store_secret_async (HgContext *context,
                                    const gchar *key,
                                    const gchar *value,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  HgTestContext *self = HG_TEST_CONTEXT (context);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  GError *error;

  g_task_set_source_tag (task, hg_test_context_store_secret_async);
  error = check_call (self, HG_TEST_CONTEXT_CALL_STORE_SECRET, NULL);
  if (error == NULL)
    error = check_secret_key (self, key);
  if (error == NULL && strlen (value) > MAX_SECRET_VALUE)
    error = g_error_new (HG_ERROR, HG_ERROR_INVALID_DATA, "secret value is longer than %d bytes",
                         MAX_SECRET_VALUE);
  if (error == NULL && !g_utf8_validate (value, -1, NULL))
    error = g_error_new_literal (HG_ERROR, HG_ERROR_INVALID_DATA, "secret value is not valid UTF-8");
  if (error != NULL)
    {
      complete_later (self, task, error, NULL, NULL);
      return;
    }
  g_hash_table_insert (self->secrets, g_strdup (key), g_strdup (value));
  complete_later (self, task, NULL, NULL, NULL);
}

static void
hg_test_context_report_health (HgContext *context,
                               JsonObject *health)
{
  HgTestContext *self = HG_TEST_CONTEXT (context);
  g_autoptr(GError) error = check_json_size (health);

  /* as the host does: a report too large to send is logged and dropped */
  if (error != NULL)
    {
      g_warning ("health report dropped: %s", error->message);
      return;
    }
  g_ptr_array_add (self->health, json_copy (health));
}

/* As the host and the core: a message to a channel that is not open is dropped, one
 * without the capability is a denial. */
static void
vfunc_channel_send (HgContext *context,
                    const gchar *channel_id,
                    JsonObject *message)
{
  HgTestContext *self = HG_TEST_CONTEXT (context);
  g_autoptr(GError) error = check_json_size (message);
  GPtrArray *messages;

  if (!hg_context_has_capability (context, HG_CAPABILITY_CHANNEL_SERVE))
    {
      self->n_denied++;
      g_debug ("channel message dropped: ChannelSend needs the capability %s",
               HG_CAPABILITY_CHANNEL_SERVE);
      return;
    }
  if (error != NULL)
    {
      g_warning ("channel message dropped: %s", error->message);
      return;
    }
  messages = g_hash_table_lookup (self->channels, channel_id);
  if (messages == NULL || !g_hash_table_contains (self->open_channels, channel_id))
    return;
  g_ptr_array_add (messages, json_copy (message));
}

static void
vfunc_channel_close (HgContext *context,
                     const gchar *channel_id)
{
  HgTestContext *self = HG_TEST_CONTEXT (context);

  if (!hg_context_has_capability (context, HG_CAPABILITY_CHANNEL_SERVE))
    {
      self->n_denied++;
      return;
    }
  g_hash_table_remove (self->open_channels, channel_id);
}

static void
hg_test_context_constructed (GObject *object)
{
  HgTestContext *self = HG_TEST_CONTEXT (object);

  G_OBJECT_CLASS (hg_test_context_parent_class)->constructed (object);
  self->source = g_strdup_printf ("plugin:%s", hg_context_get_plugin_id (HG_CONTEXT (self)));
}

static void
hg_test_context_finalize (GObject *object)
{
  HgTestContext *self = HG_TEST_CONTEXT (object);

  /* every pending completion holds a reference to this object: none is left */
  if (self->complete_source != NULL)
    {
      g_source_destroy (self->complete_source);
      g_source_unref (self->complete_source);
    }
  for (guint i = 0; i < HG_TEST_CONTEXT_CALL_LAST; i++)
    g_queue_clear_full (&self->failures[i], (GDestroyNotify) g_error_free);
  g_free (self->source);
  g_ptr_array_unref (self->events);
  g_ptr_array_unref (self->alarms);
  g_ptr_array_unref (self->reports);
  g_ptr_array_unref (self->health);
  g_hash_table_unref (self->secrets);
  g_hash_table_unref (self->channels);
  g_hash_table_unref (self->open_channels);
  G_OBJECT_CLASS (hg_test_context_parent_class)->finalize (object);
}

static void
hg_test_context_class_init (HgTestContextClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  HgContextClass *context_class = HG_CONTEXT_CLASS (klass);

  object_class->constructed = hg_test_context_constructed;
  object_class->finalize = hg_test_context_finalize;
  context_class->publish_event_async = hg_test_context_publish_event_async;
  context_class->raise_alarm_async = hg_test_context_raise_alarm_async;
  context_class->report_alarm_async = hg_test_context_report_alarm_async;
  context_class->lookup_secret_async = hg_test_context_lookup_secret_async;
  context_class->store_secret_async = hg_test_context_store_secret_async;
  context_class->report_health = hg_test_context_report_health;
  context_class->channel_send = vfunc_channel_send;
  context_class->channel_close = vfunc_channel_close;
}

static void
hg_test_context_init (HgTestContext *self)
{
  self->events = g_ptr_array_new_with_free_func (g_object_unref);
  self->alarms = g_ptr_array_new_with_free_func (g_object_unref);
  self->reports = g_ptr_array_new_with_free_func ((GDestroyNotify) alarm_report_free);
  self->health = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  self->secrets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->channels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) g_ptr_array_unref);
  self->open_channels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/**
 * hg_test_context_new:
 * @plugin_id: the plugin instance id, e.g. `example`
 * @domain: the instance's domain
 * @config: (nullable): the instance's own configuration keys; empty if %NULL
 * @capabilities: (nullable) (array zero-terminated=1): the capabilities granted, e.g.
 *   `sensor.publish`; none if %NULL
 *
 * Makes a context for testing a plugin without a core: give it to the plugin as its
 * #HgPlugin:context, run the main loop, and check what the plugin did with
 * hg_test_context_get_events() and the other getters.
 *
 * A call the capabilities do not cover is refused as the core refuses it, with
 * %HG_ERROR_PERMISSION_DENIED, and counted (hg_test_context_get_n_denied()). Input the
 * plugin host or the core would refuse (a body over 64 KiB, an unknown alarm type or
 * state, a bad secret key) is refused with %HG_ERROR_INVALID_DATA. Every call completes
 * from an idle source of the thread-default main context of the caller, in the order
 * made, and never before it returns, as the real context's calls wait for the core.
 *
 * Returns: (transfer full): a new context
 *
 * Since: 1.0
 */
HgTestContext *
hg_test_context_new (const gchar *plugin_id,
                     HgDomain domain,
                     HgConfig *config,
                     const gchar *const *capabilities)
{
  g_autoptr(HgConfig) empty = NULL;

  g_return_val_if_fail (plugin_id != NULL, NULL);
  g_return_val_if_fail (hg_domain_to_string (domain) != NULL, NULL);
  g_return_val_if_fail (config == NULL || HG_IS_CONFIG (config), NULL);

  if (config == NULL)
    config = empty = hg_config_new ();
  return g_object_new (HG_TYPE_TEST_CONTEXT,
                       "plugin-id", plugin_id,
                       "domain", (guint) domain,
                       "config", config,
                       "capabilities", capabilities,
                       NULL);
}

/**
 * hg_test_context_new_from_data:
 * @plugin_id: the plugin instance id, e.g. `example`
 * @domain: the instance's domain
 * @config_data: the configuration as in `hemgate.conf`: a key file with the group
 *   `[plugin:<plugin_id>]`, whose keys become the plugin's configuration, less those the
 *   core reads itself (`plugin`, `domain`, `enabled`, `deny`)
 * @capabilities: (nullable) (array zero-terminated=1): the capabilities granted
 * @error: return location for a #GError
 *
 * Like hg_test_context_new(), with the configuration given as text.
 *
 * Returns: (transfer full): a new context, or %NULL with %HG_ERROR_INVALID_DATA if
 *   @config_data is not a key file or has no group of the instance
 *
 * Since: 1.0
 */
HgTestContext *
hg_test_context_new_from_data (const gchar *plugin_id,
                               HgDomain domain,
                               const gchar *config_data,
                               const gchar *const *capabilities,
                               GError **error)
{
  static const gchar *const core_keys[] = { "plugin", "domain", "enabled", "deny", NULL };
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(HgConfig) config = hg_config_new ();
  g_autofree gchar *group = NULL;
  g_auto(GStrv) keys = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (plugin_id != NULL, NULL);
  g_return_val_if_fail (config_data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  group = g_strdup_printf ("plugin:%s", plugin_id);
  if (!g_key_file_load_from_data (keyfile, config_data, -1, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "configuration: %s",
                   local_error->message);
      return NULL;
    }
  keys = g_key_file_get_keys (keyfile, group, NULL, NULL);
  if (keys == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "configuration: no group [%s]", group);
      return NULL;
    }
  for (guint i = 0; keys[i] != NULL; i++)
    {
      g_autofree gchar *value = NULL;

      if (g_strv_contains (core_keys, keys[i]))
        continue;
      value = g_key_file_get_value (keyfile, group, keys[i], NULL);
      hg_config_set (config, keys[i], value);
    }
  return hg_test_context_new (plugin_id, domain, config, capabilities);
}

/**
 * hg_test_context_fail_next:
 * @self: an #HgTestContext
 * @call: the kind of call
 * @error: the error the call is to fail with, e.g. %HG_ERROR_UNAVAILABLE as the core
 *   answers when its journal is full
 *
 * Makes the next call of kind @call that the grant allows fail with a copy of @error,
 * and record nothing, to test how the plugin handles the failure. Called again before
 * such a call is made, the failures are used one each, in the order given. A call the
 * grant does not cover is refused as always and leaves the failure for the next.
 *
 * Since: 1.0
 */
void
hg_test_context_fail_next (HgTestContext *self,
                           HgTestContextCall call,
                           const GError *error)
{
  g_return_if_fail (HG_IS_TEST_CONTEXT (self));
  g_return_if_fail ((guint) call < HG_TEST_CONTEXT_CALL_LAST);
  g_return_if_fail (error != NULL);

  g_queue_push_tail (&self->failures[call], g_error_copy (error));
}

/**
 * hg_test_context_set_secret:
 * @self: an #HgTestContext
 * @key: the secret's name within the plugin, e.g. `mqtt-password`
 * @value: (nullable): the secret, or %NULL to remove it
 *
 * Puts a secret in the store as an operator would (`hemgatectl secret set`), for the
 * plugin to look up with hg_context_lookup_secret_async(). A secret the store does not
 * hold is %HG_ERROR_NOT_FOUND.
 *
 * Since: 1.0
 */
void
hg_test_context_set_secret (HgTestContext *self,
                            const gchar *key,
                            const gchar *value)
{
  g_return_if_fail (HG_IS_TEST_CONTEXT (self));
  g_return_if_fail (key != NULL);

  if (value == NULL)
    g_hash_table_remove (self->secrets, key);
  else
    g_hash_table_insert (self->secrets, g_strdup (key), g_strdup (value));
}

/**
 * hg_test_context_change_secret:
 * @self: an #HgTestContext
 * @key: the secret's name within the plugin, e.g. `sip-password`
 * @value: (nullable): the new secret, or %NULL to remove it
 *
 * Changes a secret as an operator does on a running gateway (`hemgatectl secrets set`):
 * as hg_test_context_set_secret(), then emits #HgContext::secret-changed for @key, as
 * the plugin host does when the core tells it.
 *
 * Since: 1.1
 */
void
hg_test_context_change_secret (HgTestContext *self,
                               const gchar *key,
                               const gchar *value)
{
  g_return_if_fail (HG_IS_TEST_CONTEXT (self));
  g_return_if_fail (key != NULL);

  hg_test_context_set_secret (self, key, value);
  g_signal_emit_by_name (self, "secret-changed", key);
}

/**
 * hg_test_context_deliver_event:
 * @self: an #HgTestContext
 * @plugin: the plugin @self is the context of
 * @event: the event, e.g. a `sensor.reading` of another plugin
 *
 * Hands @event to @plugin's #HgPluginClass.handle_event as the core and the plugin host
 * do: an event not yet journaled (sequence number 0) is stamped first, with the domain of
 * @self, the next sequence number, the time now, and the source `core` if it has none;
 * the plugin then gets a copy made from the event's wire form, as the host makes it.
 *
 * The core offers a plugin only the events its grant lets it see (`sensor.*` of its own
 * domain and not its own with `sensor.subscribe`, `alarm.*` with `alarm.deliver`); which
 * events to deliver is up to the test.
 *
 * Returns: %TRUE if delivered; %FALSE with %HG_ERROR_INVALID_DATA if the host would
 *   refuse the event (larger than 256 KiB in its wire form)
 *
 * Since: 1.0
 */
gboolean
hg_test_context_deliver_event (HgTestContext *self,
                               HgPlugin *plugin,
                               HgEvent *event,
                               GError **error)
{
  g_autoptr(HgEvent) stamped = NULL;
  g_autoptr(JsonObject) wire = NULL;
  g_autoptr(JsonObject) received = NULL;
  g_autoptr(HgEvent) copy = NULL;
  g_autofree gchar *json = NULL;

  g_return_val_if_fail (HG_IS_TEST_CONTEXT (self), FALSE);
  g_return_val_if_fail (HG_IS_PLUGIN (plugin), FALSE);
  g_return_val_if_fail (hg_plugin_get_context (plugin) == HG_CONTEXT (self), FALSE);
  g_return_val_if_fail (HG_IS_EVENT (event), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (hg_event_get_seq (event) == 0)
    {
      stamped = hg_event_new (hg_event_get_event_type (event), hg_event_get_body (event));
      hg_event_set_domain (stamped, hg_context_get_domain (HG_CONTEXT (self)));
      hg_event_set_seq (stamped, ++self->last_seq);
      hg_event_set_timestamp (stamped, g_get_real_time ());
      hg_event_set_source (stamped,
                           hg_event_get_source (event) != NULL ? hg_event_get_source (event) : "core");
      event = stamped;
    }
  wire = hg_event_to_json (event);
  json = hg_json_object_to_string (wire);
  received = hg_json_parse_object (json, -1, MAX_DELIVERED_EVENT_SIZE, error);
  if (received != NULL)
    copy = hg_event_new_from_json (received, error);
  if (copy == NULL)
    {
      g_prefix_error (error, "event: ");
      return FALSE;
    }
  hg_plugin_handle_event (plugin, copy);
  return TRUE;
}

/**
 * hg_test_context_get_events:
 * @self: an #HgTestContext
 *
 * The events the plugin published, in order, as the core journals them: stamped with the
 * instance's domain, a sequence number (the one the publish returned), the time and the
 * source `plugin:<id>`, with a copy of the body as it was when published.
 *
 * Returns: (transfer none) (element-type HgEvent): the published events
 *
 * Since: 1.0
 */
GPtrArray *
hg_test_context_get_events (HgTestContext *self)
{
  g_return_val_if_fail (HG_IS_TEST_CONTEXT (self), NULL);
  return self->events;
}

/**
 * hg_test_context_get_alarms:
 * @self: an #HgTestContext
 *
 * The alarms the plugin raised, in order, as the core records them: each with the
 * reference the raise returned (hg_alarm_get_reference()), state
 * %HG_ALARM_STATE_RAISED and the source `plugin:<id>`.
 *
 * Returns: (transfer none) (element-type HgAlarm): the raised alarms
 *
 * Since: 1.0
 */
GPtrArray *
hg_test_context_get_alarms (HgTestContext *self)
{
  g_return_val_if_fail (HG_IS_TEST_CONTEXT (self), NULL);
  return self->alarms;
}

/**
 * hg_test_context_get_n_alarm_reports:
 * @self: an #HgTestContext
 *
 * Counts the reports of alarm steps the plugin made that the grant allowed; read each
 * with hg_test_context_get_alarm_report().
 *
 * Returns: how many reports of alarm steps (hg_context_report_alarm_async()) were
 *   accepted
 *
 * Since: 1.0
 */
guint
hg_test_context_get_n_alarm_reports (HgTestContext *self)
{
  g_return_val_if_fail (HG_IS_TEST_CONTEXT (self), 0);
  return self->reports->len;
}

/**
 * hg_test_context_get_alarm_report:
 * @self: an #HgTestContext
 * @index: which report, from 0 in the order made; less than
 *   hg_test_context_get_n_alarm_reports()
 * @state: (out) (optional): the state reported
 * @detail: (out) (optional) (transfer none) (nullable): the detail reported, if any
 *
 * One accepted report of an alarm's step. The test context does not keep alarms' life
 * cycles: it records each report the grant allows, whatever the alarm's state.
 *
 * Returns: the reference of the alarm the report is about
 *
 * Since: 1.0
 */
const gchar *
hg_test_context_get_alarm_report (HgTestContext *self,
                                  guint index,
                                  HgAlarmState *state,
                                  JsonObject **detail)
{
  AlarmReport *report;

  g_return_val_if_fail (HG_IS_TEST_CONTEXT (self), NULL);
  g_return_val_if_fail (index < self->reports->len, NULL);

  report = g_ptr_array_index (self->reports, index);
  if (state != NULL)
    *state = report->state;
  if (detail != NULL)
    *detail = report->detail;
  return report->reference;
}

/**
 * hg_test_context_get_health_reports:
 * @self: an #HgTestContext
 *
 * The health reports of the plugin (hg_context_report_health()), in order; the core
 * shows the last.
 *
 * Returns: (transfer none) (element-type JsonObject): the health reports
 *
 * Since: 1.0
 */
GPtrArray *
hg_test_context_get_health_reports (HgTestContext *self)
{
  g_return_val_if_fail (HG_IS_TEST_CONTEXT (self), NULL);
  return self->health;
}

/**
 * hg_test_context_get_secret:
 * @self: an #HgTestContext
 * @key: the secret's name
 *
 * What the store holds under @key: put there by hg_test_context_set_secret() or stored
 * by the plugin with hg_context_store_secret_async().
 *
 * Returns: (nullable): the secret, or %NULL if the store holds none under @key
 *
 * Since: 1.0
 */
const gchar *
hg_test_context_get_secret (HgTestContext *self,
                            const gchar *key)
{
  g_return_val_if_fail (HG_IS_TEST_CONTEXT (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);
  return g_hash_table_lookup (self->secrets, key);
}

/**
 * hg_test_context_get_n_calls:
 * @self: an #HgTestContext
 * @call: the kind of call
 *
 * Counts the plugin's calls of one kind, to check that it retried, or did not call at all.
 *
 * Returns: how many calls of kind @call the plugin made, whether they succeeded, failed
 *   or were refused
 *
 * Since: 1.0
 */
guint
hg_test_context_get_n_calls (HgTestContext *self,
                             HgTestContextCall call)
{
  g_return_val_if_fail (HG_IS_TEST_CONTEXT (self), 0);
  g_return_val_if_fail ((guint) call < HG_TEST_CONTEXT_CALL_LAST, 0);
  return self->n_calls[call];
}

/**
 * hg_test_context_get_n_denied:
 * @self: an #HgTestContext
 *
 * The core logs each call the grant does not cover and journals it as a `plugin.denied`
 * event; this counts them.
 *
 * Returns: how many calls were refused with %HG_ERROR_PERMISSION_DENIED
 *
 * Since: 1.0
 */
guint
hg_test_context_get_n_denied (HgTestContext *self)
{
  g_return_val_if_fail (HG_IS_TEST_CONTEXT (self), 0);
  return self->n_denied;
}

/**
 * hg_test_context_channel_open:
 * @self: an #HgTestContext
 * @user: the user name of the client
 * @role: the client's role, e.g. `staff`
 * @purpose: (nullable): the purpose the client gave, e.g. `night-check`
 *
 * Opens a channel to the plugin as an API client does: emits #HgContext::channel-opened
 * with a new id. The core's consent check of @purpose is not made here either. The core's checks of role and domain are not made here (the core's tests
 * make them); the plugin's own are.
 *
 * Returns: (transfer full): the channel's id
 *
 * Since: 1.1
 */
gchar *
hg_test_context_channel_open (HgTestContext *self,
                              const gchar *user,
                              const gchar *role,
                              const gchar *purpose)
{
  gchar *channel_id;

  g_return_val_if_fail (HG_IS_TEST_CONTEXT (self), NULL);
  g_return_val_if_fail (user != NULL, NULL);
  g_return_val_if_fail (role != NULL, NULL);

  channel_id = g_strdup_printf ("test-%u", ++self->n_channels);
  g_hash_table_insert (self->channels, g_strdup (channel_id),
                       g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref));
  g_hash_table_add (self->open_channels, g_strdup (channel_id));
  g_signal_emit_by_name (self, "channel-opened", channel_id, user, role, purpose);
  return channel_id;
}

/**
 * hg_test_context_channel_deliver:
 * @self: an #HgTestContext
 * @channel_id: a channel hg_test_context_channel_open() opened
 * @message: the client's message
 *
 * Hands the plugin a message of the client, as the host does: emits
 * #HgContext::channel-message with a copy of @message made from its text.
 *
 * Returns: %TRUE if delivered; %FALSE with %HG_ERROR_NOT_FOUND if the channel is not open,
 *   or %HG_ERROR_INVALID_DATA if the core would refuse the message (larger than
 *   %HG_CONTEXT_CHANNEL_MAX_MESSAGE)
 *
 * Since: 1.1
 */
gboolean
hg_test_context_channel_deliver (HgTestContext *self,
                                 const gchar *channel_id,
                                 JsonObject *message,
                                 GError **error)
{
  g_autofree gchar *json = NULL;
  g_autoptr(JsonObject) copy = NULL;

  g_return_val_if_fail (HG_IS_TEST_CONTEXT (self), FALSE);
  g_return_val_if_fail (channel_id != NULL, FALSE);
  g_return_val_if_fail (message != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!g_hash_table_contains (self->open_channels, channel_id))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_NOT_FOUND, "channel %s is not open", channel_id);
      return FALSE;
    }
  json = hg_json_object_to_string (message);
  copy = hg_json_parse_object (json, -1, HG_CONTEXT_CHANNEL_MAX_MESSAGE, error);
  if (copy == NULL)
    {
      g_prefix_error (error, "channel message: ");
      return FALSE;
    }
  g_signal_emit_by_name (self, "channel-message", channel_id, copy);
  return TRUE;
}

/**
 * hg_test_context_channel_close:
 * @self: an #HgTestContext
 * @channel_id: a channel hg_test_context_channel_open() opened
 *
 * Closes the channel as a client that hangs up or goes away: emits
 * #HgContext::channel-closed if it was open.
 *
 * Since: 1.1
 */
void
hg_test_context_channel_close (HgTestContext *self,
                               const gchar *channel_id)
{
  g_return_if_fail (HG_IS_TEST_CONTEXT (self));
  g_return_if_fail (channel_id != NULL);

  if (g_hash_table_remove (self->open_channels, channel_id))
    g_signal_emit_by_name (self, "channel-closed", channel_id);
}

/**
 * hg_test_context_channel_is_open:
 * @self: an #HgTestContext
 * @channel_id: a channel
 *
 * Whether a channel is still open, for a test to check that the plugin closed it.
 *
 * Returns: %TRUE if the channel is open: neither the test nor the plugin closed it
 *
 * Since: 1.1
 */
gboolean
hg_test_context_channel_is_open (HgTestContext *self,
                                 const gchar *channel_id)
{
  g_return_val_if_fail (HG_IS_TEST_CONTEXT (self), FALSE);
  g_return_val_if_fail (channel_id != NULL, FALSE);
  return g_hash_table_contains (self->open_channels, channel_id);
}

/**
 * hg_test_context_get_channel_messages:
 * @self: an #HgTestContext
 * @channel_id: a channel hg_test_context_channel_open() opened
 *
 * The messages the plugin sent on the channel (hg_context_channel_send()) while it was
 * open, in order.
 *
 * Returns: (transfer none) (element-type JsonObject) (nullable): the messages, or %NULL
 *   for a channel never opened
 *
 * Since: 1.1
 */
GPtrArray *
hg_test_context_get_channel_messages (HgTestContext *self,
                                      const gchar *channel_id)
{
  g_return_val_if_fail (HG_IS_TEST_CONTEXT (self), NULL);
  g_return_val_if_fail (channel_id != NULL, NULL);
  return g_hash_table_lookup (self->channels, channel_id);
}
