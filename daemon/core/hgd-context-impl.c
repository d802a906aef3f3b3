/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdContextImpl: exports org.hemgate.Context1 on one plugin host's connection. Every call
 * passes one authorization point first (authorize_method: the grant table of
 * hgd-capabilities.c, deny by default); a denial is answered with org.hemgate.Error.PermissionDenied naming the
 * capability, logged, and journaled as "plugin.denied" in the instance's domain. The
 * handlers then call the journal, alarms and secrets on the instance's behalf: always in
 * its own domain, always as "plugin:<id>". Events published take their domain's event-rate
 * tokens first (hgd-limits.c); past the rate they are refused with
 * org.hemgate.Error.Unavailable. Alarms are never rate limited.
 *
 * The object is registered with our own vtable (dispatch_method_call) that authorizes and
 * then hands the call to the generated skeleton's, rather than through the skeleton's
 * "g-authorize-method" signal: GLib emits that signal in a thread-pool worker, which would
 * let two quick calls of one plugin overtake each other (events journaled out of order)
 * and would touch this object off the main thread. */
#include "config.h"

#include "hgd-capabilities.h"
#include "hgd-context-impl.h"
#include "hgd-dbus-generated.h"

#define CONTEXT_PATH "/org/hemgate/Context"

/* The largest JSON argument a plugin may send (event bodies, alarms, details). */
#define MAX_JSON_SIZE (64 * 1024)

/* The most events one PublishEvents call may carry. */
#define MAX_BATCH_EVENTS 1024

/* The most steps of one ReportAlarmSteps call (see the XML). */
#define MAX_REPORT_STEPS 16

/* A plugin that keeps knocking is journaled at most this often; the rest are counted. */
#define DENIALS_PER_WINDOW 10
#define DENIAL_WINDOW_USEC (60 * G_USEC_PER_SEC)

struct _HgdContextImpl
{
  GObject parent_instance;
  gchar *instance_id;                   /* (owned) */
  gchar *source;                        /* (owned) "plugin:<id>" */
  HgDomain domain;
  GStrv grant;                          /* (owned) */
  HgdJournal *journals[HG_DOMAIN_LAST]; /* (owned) (nullable) each */
  HgdAlarms *alarms;                    /* (owned) */
  HgdSecrets *secrets;                  /* (owned) */
  HgdLimits *limits;                    /* (owned) (nullable) the domain's event rate */
  HgdChannels *channels;                /* (owned) (nullable) API clients' channels */
  HgdDBusContext1 *skeleton;            /* (owned) emits handle-* for authorized calls */
  GDBusConnection *connection;          /* (owned) (nullable) while exported */
  guint registration_id;
  GCancellable *cancellable;            /* (owned) */
  JsonObject *health;                   /* (owned) (nullable) the last ReportHealth */
  gint64 health_time;                   /* when it came, real time */
  guint n_denied;
  guint window_denied;                  /* denials journaled in the current window */
  gint64 window_start;
  GHashTable *sandbox_denied;           /* (owned) actions a "sandbox-denied" report named */
  GHashTable *missing_secrets;          /* (owned) keys LookupSecret did not find, until found */
};

G_DEFINE_TYPE (HgdContextImpl, hgd_context_impl, G_TYPE_OBJECT)

/**
 * hgd_context_impl_error_to_hg:
 * @error: an error of a core subsystem
 *
 * The one conversion of core errors to %HG_ERROR, which is all a plugin sees.
 *
 * Returns: (transfer full): the converted error
 */
GError *
hgd_context_impl_error_to_hg (const GError *error)
{
  HgError code = HG_ERROR_FAILED;

  if (error->domain == HG_ERROR)
    return g_error_copy (error);
  if (g_error_matches (error, HGD_ALARMS_ERROR, HGD_ALARMS_ERROR_ILLEGAL_TRANSITION))
    {
      code = HG_ERROR_ILLEGAL_TRANSITION;
    }
  else if (error->domain == HGD_JOURNAL_ERROR)
    {
      switch (error->code)
        {
        case HGD_JOURNAL_ERROR_NOT_FOUND:
          code = HG_ERROR_NOT_FOUND;
          break;
        case HGD_JOURNAL_ERROR_INVALID:
          code = HG_ERROR_INVALID_DATA;
          break;
        default:
          code = HG_ERROR_UNAVAILABLE;
          break;
        }
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      code = HG_ERROR_UNAVAILABLE;
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      code = HG_ERROR_NOT_FOUND;
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    {
      code = HG_ERROR_TIMED_OUT;
    }
  return g_error_new_literal (HG_ERROR, code, error->message);
}

static void
return_error (GDBusMethodInvocation *invocation,
              const GError *error)
{
  g_autoptr(GError) converted = hgd_context_impl_error_to_hg (error);

  g_dbus_method_invocation_return_gerror (invocation, converted);
}

static void
denial_appended_cb (GObject *source,
                    GAsyncResult *result,
                    gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!hgd_journal_append_finish (HGD_JOURNAL (source), result, &error))
    g_warning ("plugin.denied not journaled: %s", error->message);
}

/* Logs and journals a denial; a flood is counted, and journaled at a bounded rate. */
static void
record_denial (HgdContextImpl *self,
               const gchar *method,
               const gchar *capability)
{
  HgdJournal *journal = self->journals[self->domain];
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(HgEvent) event = NULL;
  gint64 now = g_get_monotonic_time ();

  self->n_denied++;
  if (now - self->window_start > DENIAL_WINDOW_USEC)
    {
      self->window_start = now;
      self->window_denied = 0;
    }
  if (self->window_denied >= DENIALS_PER_WINDOW)
    {
      g_debug ("plugin %s denied %s again (%u denials)", self->instance_id, method, self->n_denied);
      return;
    }
  self->window_denied++;
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "HG_PLUGIN", self->instance_id,
                    "HG_DOMAIN", hg_domain_to_string (self->domain),
                    "MESSAGE", "plugin %s denied %s: it needs %s, which it was not granted",
                    self->instance_id, method,
                    capability != NULL ? capability : "a capability no plugin holds");
  if (journal == NULL)
    return;
  body = json_object_new ();
  json_object_set_string_member (body, "plugin", self->instance_id);
  json_object_set_string_member (body, "method", method);
  if (capability != NULL)
    json_object_set_string_member (body, "capability", capability);
  else
    json_object_set_null_member (body, "capability");
  json_object_set_int_member (body, "denied", self->n_denied);
  event = hg_event_new ("plugin.denied", body);
  hg_event_set_source (event, "core");
  hgd_journal_append_async (journal, event, NULL, NULL, denial_appended_cb, NULL);
}

/* The one authorization point: runs on the main thread before every handler, denies by
 * default. Returns FALSE having answered the call. */
static gboolean
authorize_method (HgdContextImpl *self,
                  GDBusMethodInvocation *invocation)
{
  const gchar *method = g_dbus_method_invocation_get_method_name (invocation);
  const gchar *event_type = NULL;
  const gchar *capability;

  /* a publishing method: its first argument is the type that decides */
  if (hgd_capabilities_call_names_event_type (method))
    g_variant_get_child (g_dbus_method_invocation_get_parameters (invocation), 0, "&s", &event_type);
  capability = hgd_capabilities_required_for_call (method, event_type);
  if (capability != NULL
      && (capability[0] == '\0' || g_strv_contains ((const gchar *const *) self->grant, capability)))
    return TRUE;

  record_denial (self, method, capability);
  if (capability == NULL && event_type != NULL)
    g_dbus_method_invocation_return_error (invocation, HG_ERROR, HG_ERROR_PERMISSION_DENIED,
                                           "%s of '%s': no capability lets a plugin publish this "
                                           "type; it is the core's own",
                                           method, event_type);
  else if (capability == NULL)
    g_dbus_method_invocation_return_error (invocation, HG_ERROR, HG_ERROR_PERMISSION_DENIED,
                                           "%s is not available to plugins", method);
  else
    g_dbus_method_invocation_return_error (invocation, HG_ERROR, HG_ERROR_PERMISSION_DENIED,
                                           "%s needs the capability %s", method, capability);
  return FALSE;
}

/* Parses an untrusted JSON argument, answering the call if it is bad. */
static JsonObject *
parse_argument (GDBusMethodInvocation *invocation,
                const gchar *name,
                const gchar *json)
{
  g_autoptr(GError) error = NULL;
  JsonObject *object = hg_json_parse_object (json, -1, MAX_JSON_SIZE, &error);

  if (object == NULL)
    {
      g_prefix_error (&error, "%s: ", name);
      return_error (invocation, error);
    }
  return object;
}

/* PublishEvent, PublishEvents */

/* Checks what all events of a publishing call share; returns the journal to append to, or
 * NULL having answered the call. */
static HgdJournal *
check_publish_call (HgdContextImpl *self,
                    GDBusMethodInvocation *invocation,
                    const gchar *type)
{
  HgdJournal *journal = self->journals[self->domain];

  if (!hg_event_type_is_valid (type))
    {
      g_dbus_method_invocation_return_error (invocation, HG_ERROR, HG_ERROR_INVALID_DATA,
                                             "invalid event type '%s'", type);
      return NULL;
    }
  if (journal == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, HG_ERROR, HG_ERROR_UNAVAILABLE,
                                             "the %s journal is not open", hg_domain_to_string (self->domain));
      return NULL;
    }
  return journal;
}

/* Takes @n of the domain's event tokens; returns how many of the first events may go. */
static guint
take_event_tokens (HgdContextImpl *self,
                   guint n)
{
  if (self->limits == NULL)
    return n;
  return hgd_limits_take_events (self->limits, self->domain, n);
}

static GError *
rate_error_new (HgdContextImpl *self)
{
  return g_error_new (HG_ERROR, HG_ERROR_UNAVAILABLE,
                      "the %s domain publishes more events than its rate limit; try again later",
                      hg_domain_to_string (self->domain));
}

/* Returns: (transfer full) (nullable): the event of the instance for an untrusted body, or
 * %NULL with the reason as %HG_ERROR */
static HgEvent *
plugin_event_new (HgdContextImpl *self,
                  const gchar *type,
                  const gchar *body_json,
                  GError **error)
{
  g_autoptr(JsonObject) body = hg_json_parse_object (body_json, -1, MAX_JSON_SIZE, error);
  HgEvent *event;

  if (body == NULL)
    {
      g_prefix_error (error, "body: ");
      return NULL;
    }
  event = hg_event_new (type, body);
  hg_event_set_source (event, self->source);
  return event;
}

typedef struct
{
  GDBusMethodInvocation *invocation; /* (owned) */
  HgEvent *event;                    /* (owned) */
} PublishData;

static void
publish_data_free (PublishData *data)
{
  g_object_unref (data->invocation);
  g_object_unref (data->event);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PublishData, publish_data_free)

static void
event_appended_cb (GObject *source,
                   GAsyncResult *result,
                   gpointer user_data)
{
  g_autoptr(PublishData) data = user_data;
  g_autoptr(GError) error = NULL;

  if (!hgd_journal_append_finish (HGD_JOURNAL (source), result, &error))
    {
      return_error (data->invocation, error);
      return;
    }
  g_dbus_method_invocation_return_value (data->invocation,
                                         g_variant_new ("(t)", hg_event_get_seq (data->event)));
}

static gboolean
handle_publish_event_cb (HgdDBusContext1 *skeleton,
                         GDBusMethodInvocation *invocation,
                         const gchar *type,
                         const gchar *body_json,
                         HgdContextImpl *self)
{
  HgdJournal *journal = check_publish_call (self, invocation, type);
  g_autoptr(GError) error = NULL;
  PublishData *data;
  HgEvent *event;

  if (journal == NULL)
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  if (take_event_tokens (self, 1) == 0)
    {
      error = rate_error_new (self);
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  event = plugin_event_new (self, type, body_json, &error);
  if (event == NULL)
    {
      return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  data = g_new0 (PublishData, 1);
  data->invocation = g_object_ref (invocation);
  data->event = event;
  hgd_journal_append_async (journal, data->event, NULL, self->cancellable, event_appended_cb, data);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* One PublishEvents call: answered when the last of its events is journaled or failed. */
typedef struct _PublishBatch PublishBatch;

typedef struct
{
  PublishBatch *batch; /* (unowned) */
  HgEvent *event;      /* (owned) (nullable) NULL if the body was refused */
  GError *error;       /* (owned) (nullable) why the event was not journaled, as HG_ERROR */
} BatchEntry;

struct _PublishBatch
{
  GDBusMethodInvocation *invocation; /* (owned) */
  guint n_entries;
  guint n_pending;                   /* appends not yet completed */
  BatchEntry entries[];
};

static void
publish_batch_answer (PublishBatch *batch)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(tss)"));
  for (guint i = 0; i < batch->n_entries; i++)
    {
      BatchEntry *entry = &batch->entries[i];
      g_autofree gchar *name = NULL;

      if (entry->error == NULL)
        {
          g_variant_builder_add (&builder, "(tss)", hg_event_get_seq (entry->event), "", "");
        }
      else
        {
          name = g_dbus_error_encode_gerror (entry->error);
          g_variant_builder_add (&builder, "(tss)", (guint64) 0, name, entry->error->message);
        }
      g_clear_object (&entry->event);
      g_clear_error (&entry->error);
    }
  g_dbus_method_invocation_return_value (batch->invocation, g_variant_new ("(a(tss))", &builder));
  g_object_unref (batch->invocation);
  g_free (batch);
}

static void
batch_event_appended_cb (GObject *source,
                         GAsyncResult *result,
                         gpointer user_data)
{
  BatchEntry *entry = user_data;
  g_autoptr(GError) error = NULL;

  if (!hgd_journal_append_finish (HGD_JOURNAL (source), result, &error))
    entry->error = hgd_context_impl_error_to_hg (error);
  if (--entry->batch->n_pending == 0)
    publish_batch_answer (entry->batch);
}

static gboolean
handle_publish_events_cb (HgdDBusContext1 *skeleton,
                          GDBusMethodInvocation *invocation,
                          const gchar *type,
                          const gchar *const *bodies_json,
                          HgdContextImpl *self)
{
  guint n_bodies = g_strv_length ((gchar **) bodies_json);
  HgdJournal *journal;
  PublishBatch *batch;
  guint n_allowed;

  if (n_bodies > MAX_BATCH_EVENTS)
    {
      g_dbus_method_invocation_return_error (invocation, HG_ERROR, HG_ERROR_INVALID_DATA,
                                             "%u events in one call exceed the limit of %d",
                                             n_bodies, MAX_BATCH_EVENTS);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  journal = check_publish_call (self, invocation, type);
  if (journal == NULL)
    return G_DBUS_METHOD_INVOCATION_HANDLED;

  n_allowed = take_event_tokens (self, n_bodies);
  batch = g_malloc0 (sizeof (PublishBatch) + n_bodies * sizeof (BatchEntry));
  batch->invocation = g_object_ref (invocation);
  batch->n_entries = n_bodies;
  /* one extra count, dropped below, so that the answer waits for every append to start */
  batch->n_pending = n_bodies + 1;
  for (guint i = 0; i < n_bodies; i++)
    {
      BatchEntry *entry = &batch->entries[i];

      entry->batch = batch;
      if (i >= n_allowed)
        {
          entry->error = rate_error_new (self);
          batch->n_pending--;
          continue;
        }
      entry->event = plugin_event_new (self, type, bodies_json[i], &entry->error);
      if (entry->event == NULL)
        {
          batch->n_pending--;
          continue;
        }
      hgd_journal_append_async (journal, entry->event, NULL, self->cancellable,
                                batch_event_appended_cb, entry);
    }
  if (--batch->n_pending == 0)
    publish_batch_answer (batch);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* RaiseAlarm */

static void
alarm_raised_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *ref = hgd_alarms_raise_finish (HGD_ALARMS (source), result, &error);

  if (ref == NULL)
    {
      return_error (invocation, error);
      return;
    }
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", ref));
}

static gboolean
handle_raise_alarm_cb (HgdDBusContext1 *skeleton,
                       GDBusMethodInvocation *invocation,
                       const gchar *alarm_json,
                       HgdContextImpl *self)
{
  g_autoptr(JsonObject) object = parse_argument (invocation, "alarm", alarm_json);
  g_autoptr(HgAlarm) alarm = NULL;
  g_autoptr(GError) error = NULL;

  if (object == NULL)
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  alarm = hg_alarm_new_from_json (object, &error);
  if (alarm == NULL)
    {
      g_prefix_error (&error, "alarm: ");
      return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  /* The core sets reference, state and source. */
  hgd_alarms_raise_async (self->alarms, alarm, self->source, self->cancellable, alarm_raised_cb,
                          g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ReportAlarm */

static void
alarm_reported_cb (GObject *source,
                   GAsyncResult *result,
                   gpointer user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;

  if (!hgd_alarms_transition_finish (HGD_ALARMS (source), result, &error))
    {
      return_error (invocation, error);
      return;
    }
  g_dbus_method_invocation_return_value (invocation, NULL);
}

static gboolean
handle_report_alarm_cb (HgdDBusContext1 *skeleton,
                        GDBusMethodInvocation *invocation,
                        const gchar *ref,
                        const gchar *state_str,
                        const gchar *detail_json,
                        HgdContextImpl *self)
{
  g_autoptr(JsonObject) detail = NULL;
  HgAlarmState state;

  if (!hg_alarm_state_from_string (state_str, &state))
    {
      g_dbus_method_invocation_return_error (invocation, HG_ERROR, HG_ERROR_INVALID_DATA,
                                             "unknown alarm state '%s'", state_str);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (detail_json[0] != '\0')
    {
      detail = parse_argument (invocation, "detail", detail_json);
      if (detail == NULL)
        return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  hgd_alarms_transition_async (self->alarms, ref, state, HGD_ALARM_CALLER_DELIVERY_PLUGIN,
                               self->source, detail, self->cancellable, alarm_reported_cb,
                               g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ReportAlarmSteps */

static void
json_object_unref_nullable (gpointer object)
{
  if (object != NULL)
    json_object_unref (object);
}

static void
alarm_steps_reported_cb (GObject *source,
                         GAsyncResult *result,
                         gpointer user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GPtrArray) errors = hgd_alarms_transition_steps_finish (HGD_ALARMS (source), result);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ss)"));
  for (guint i = 0; i < errors->len; i++)
    {
      const GError *error = g_ptr_array_index (errors, i);
      g_autoptr(GError) converted = NULL;
      g_autofree gchar *name = NULL;

      if (error == NULL)
        {
          g_variant_builder_add (&builder, "(ss)", "", "");
          continue;
        }
      converted = hgd_context_impl_error_to_hg (error);
      name = g_dbus_error_encode_gerror (converted);
      g_variant_builder_add (&builder, "(ss)", name, converted->message);
    }
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(a(ss))", &builder));
}

static gboolean
handle_report_alarm_steps_cb (HgdDBusContext1 *skeleton,
                              GDBusMethodInvocation *invocation,
                              const gchar *ref,
                              GVariant *steps,
                              HgdContextImpl *self)
{
  gsize n_steps = g_variant_n_children (steps);
  g_autoptr(GPtrArray) details = NULL;
  HgAlarmState states[MAX_REPORT_STEPS];

  if (n_steps == 0 || n_steps > MAX_REPORT_STEPS)
    {
      g_dbus_method_invocation_return_error (invocation, HG_ERROR, HG_ERROR_INVALID_DATA,
                                             "%" G_GSIZE_FORMAT " steps: from 1 to %d in one call",
                                             n_steps, MAX_REPORT_STEPS);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  details = g_ptr_array_new_full (n_steps, json_object_unref_nullable);
  for (gsize i = 0; i < n_steps; i++)
    {
      const gchar *state_str;
      const gchar *detail_json;
      JsonObject *detail = NULL;

      g_variant_get_child (steps, i, "(&s&s)", &state_str, &detail_json);
      if (!hg_alarm_state_from_string (state_str, &states[i]))
        {
          g_dbus_method_invocation_return_error (invocation, HG_ERROR, HG_ERROR_INVALID_DATA,
                                                 "step %" G_GSIZE_FORMAT ": unknown alarm state '%s'",
                                                 i + 1, state_str);
          return G_DBUS_METHOD_INVOCATION_HANDLED;
        }
      if (detail_json[0] != '\0')
        {
          detail = parse_argument (invocation, "detail", detail_json);
          if (detail == NULL)
            return G_DBUS_METHOD_INVOCATION_HANDLED;
        }
      g_ptr_array_add (details, detail); /* NULL for none */
    }
  hgd_alarms_transition_steps_async (self->alarms, ref, (guint) n_steps, states,
                                     (JsonObject *const *) details->pdata,
                                     HGD_ALARM_CALLER_DELIVERY_PLUGIN, self->source,
                                     self->cancellable, alarm_steps_reported_cb,
                                     g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* LookupSecret, StoreSecret: always the instance's own, in its own domain */

/* A call on a secret: the invocation and, for health, the instance and the key. */
typedef struct
{
  GDBusMethodInvocation *invocation; /* (owned) */
  HgdContextImpl *self;              /* (owned) */
  gchar *key;                        /* (owned) */
} SecretCall;

static SecretCall *
secret_call_new (HgdContextImpl *self,
                 GDBusMethodInvocation *invocation,
                 const gchar *key)
{
  SecretCall *call = g_new0 (SecretCall, 1);

  call->invocation = g_object_ref (invocation);
  call->self = g_object_ref (self);
  call->key = g_strdup (key);
  return call;
}

static void
secret_call_free (SecretCall *call)
{
  g_object_unref (call->invocation);
  g_object_unref (call->self);
  g_free (call->key);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SecretCall, secret_call_free)

/* A secret the plugin asked for and did not get is a fault of its health until it is
 * there (an administrator stored it, or the plugin itself did). Only valid keys count:
 * a plugin cannot fill health with names it made up. */
static void
secret_set_missing (HgdContextImpl *self,
                    const gchar *key,
                    gboolean missing)
{
  if (!missing)
    {
      g_hash_table_remove (self->missing_secrets, key);
      return;
    }
  if (g_hash_table_size (self->missing_secrets) < 16)
    g_hash_table_add (self->missing_secrets, g_strdup (key));
}

static void
secret_found_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  g_autoptr(SecretCall) call = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *value = hgd_secrets_lookup_finish (HGD_SECRETS (source), result, &error);

  if (value == NULL)
    {
      if (g_error_matches (error, HG_ERROR, HG_ERROR_NOT_FOUND))
        secret_set_missing (call->self, call->key, TRUE);
      return_error (call->invocation, error);
      return;
    }
  secret_set_missing (call->self, call->key, FALSE);
  g_dbus_method_invocation_return_value (call->invocation,
                                         g_variant_new ("(s)", value));
  memset (value, 0, strlen (value));
}

static gboolean
handle_lookup_secret_cb (HgdDBusContext1 *skeleton,
                         GDBusMethodInvocation *invocation,
                         const gchar *key,
                         HgdContextImpl *self)
{
  hgd_secrets_lookup_async (self->secrets, self->domain, self->source, key, self->cancellable,
                            secret_found_cb, secret_call_new (self, invocation, key));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
secret_stored_cb (GObject *source,
                  GAsyncResult *result,
                  gpointer user_data)
{
  g_autoptr(SecretCall) call = user_data;
  g_autoptr(GError) error = NULL;

  if (!hgd_secrets_store_finish (HGD_SECRETS (source), result, &error))
    {
      return_error (call->invocation, error);
      return;
    }
  secret_set_missing (call->self, call->key, FALSE);
  g_dbus_method_invocation_return_value (call->invocation, NULL);
}

static gboolean
handle_store_secret_cb (HgdDBusContext1 *skeleton,
                        GDBusMethodInvocation *invocation,
                        const gchar *key,
                        const gchar *value,
                        HgdContextImpl *self)
{
  hgd_secrets_store_async (self->secrets, self->domain, self->source, key, value, self->cancellable,
                           secret_stored_cb, secret_call_new (self, invocation, key));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gint
compare_strings_cb (gconstpointer a,
                    gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *) a, *(const gchar *const *) b);
}

/**
 * hgd_context_impl_dup_missing_secrets:
 * @self: an #HgdContextImpl
 *
 * Returns: (transfer full): the keys of the secrets the plugin asked for and did not get,
 *   sorted; empty when none is missing
 */
GStrv
hgd_context_impl_dup_missing_secrets (HgdContextImpl *self)
{
  GPtrArray *keys;
  GHashTableIter iter;
  gpointer key;

  g_return_val_if_fail (HGD_IS_CONTEXT_IMPL (self), NULL);

  keys = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, self->missing_secrets);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (keys, g_strdup (key));
  g_ptr_array_sort (keys, compare_strings_cb);
  g_ptr_array_add (keys, NULL);
  return (GStrv) g_ptr_array_free (keys, FALSE);
}

/* What the operating system refused the plugin (hgd-sandbox.c), as the plugin itself
 * reports it in its health: "sandbox-denied": [{"action", "error"}]. Each action is
 * journaled once per host as plugin.denied {"plugin", "method": "sandbox", "action",
 * "error", "capability": null, "denied"}, within the denial rate of record_denial (). */
static void
record_sandbox_denials (HgdContextImpl *self,
                        JsonObject *health)
{
  JsonNode *node = json_object_get_member (health, "sandbox-denied");
  HgdJournal *journal = self->journals[self->domain];
  JsonArray *denied;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return;
  denied = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (denied); i++)
    {
      JsonNode *element = json_array_get_element (denied, i);
      g_autoptr(JsonObject) body = NULL;
      g_autoptr(HgEvent) event = NULL;
      const gchar *action;
      const gchar *reason;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        continue;
      action = json_object_get_string_member_with_default (json_node_get_object (element), "action", NULL);
      reason = json_object_get_string_member_with_default (json_node_get_object (element), "error", "");
      if (action == NULL || g_hash_table_contains (self->sandbox_denied, action) ||
          g_hash_table_size (self->sandbox_denied) >= DENIALS_PER_WINDOW)
        continue;
      g_hash_table_add (self->sandbox_denied, g_strdup (action));
      self->n_denied++;
      g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "HG_PLUGIN", self->instance_id,
                        "HG_DOMAIN", hg_domain_to_string (self->domain),
                        "MESSAGE", "plugin %s: its sandbox denied %s: %s", self->instance_id,
                        action, reason);
      if (journal == NULL)
        continue;
      body = json_object_new ();
      json_object_set_string_member (body, "plugin", self->instance_id);
      json_object_set_string_member (body, "method", "sandbox");
      json_object_set_string_member (body, "action", action);
      json_object_set_string_member (body, "error", reason);
      json_object_set_null_member (body, "capability");
      json_object_set_int_member (body, "denied", self->n_denied);
      event = hg_event_new ("plugin.denied", body);
      hg_event_set_source (event, "core");
      hgd_journal_append_async (journal, event, NULL, NULL, denial_appended_cb, NULL);
    }
}

/* ReportHealth: kept in memory for the API, not journaled (but for what the sandbox
 * denied) */

static gboolean
handle_report_health_cb (HgdDBusContext1 *skeleton,
                         GDBusMethodInvocation *invocation,
                         const gchar *health_json,
                         HgdContextImpl *self)
{
  JsonObject *health = parse_argument (invocation, "health", health_json);

  if (health == NULL)
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  g_clear_pointer (&self->health, json_object_unref);
  self->health = health;
  self->health_time = g_get_real_time ();
  record_sandbox_denials (self, health);
  g_dbus_method_invocation_return_value (invocation, NULL);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ChannelSend, ChannelClose: the channels API clients opened to this instance
 * (hgd-channels.c); another instance's channel is not found */

static gboolean
handle_channel_send_cb (HgdDBusContext1 *skeleton,
                        GDBusMethodInvocation *invocation,
                        const gchar *channel_id,
                        const gchar *message_json,
                        HgdContextImpl *self)
{
  g_autoptr(JsonObject) message = NULL;
  g_autoptr(GError) error = NULL;

  message = parse_argument (invocation, "message", message_json);
  if (message == NULL)
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  if (self->channels == NULL ||
      !hgd_channels_plugin_send (self->channels, self->instance_id, channel_id, message, &error))
    {
      g_dbus_method_invocation_return_error (invocation, HG_ERROR,
                                             error != NULL &&
                                                 g_error_matches (error, HGD_CHANNELS_ERROR,
                                                                  HGD_CHANNELS_ERROR_RATE)
                                               ? HG_ERROR_UNAVAILABLE
                                               : HG_ERROR_NOT_FOUND,
                                             "%s", error != NULL ? error->message
                                                                 : "no channels here");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  hgd_dbus_context1_complete_channel_send (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_channel_close_cb (HgdDBusContext1 *skeleton,
                         GDBusMethodInvocation *invocation,
                         const gchar *channel_id,
                         HgdContextImpl *self)
{
  if (self->channels != NULL)
    hgd_channels_plugin_close (self->channels, self->instance_id, channel_id);
  hgd_dbus_context1_complete_channel_close (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/**
 * hgd_context_impl_set_channels:
 * @self: an #HgdContextImpl
 * @channels: the channels ChannelSend and ChannelClose act on
 */
void
hgd_context_impl_set_channels (HgdContextImpl *self,
                               HgdChannels *channels)
{
  g_return_if_fail (HGD_IS_CONTEXT_IMPL (self));
  g_return_if_fail (HGD_IS_CHANNELS (channels));
  g_set_object (&self->channels, channels);
}

/**
 * hgd_context_impl_get_health:
 * @self: an #HgdContextImpl
 * @time: (out) (optional): when it was reported, microseconds since the epoch
 *
 * Returns: (transfer none) (nullable): the instance's last health report, if any
 */
JsonObject *
hgd_context_impl_get_health (HgdContextImpl *self,
                             gint64 *time)
{
  g_return_val_if_fail (HGD_IS_CONTEXT_IMPL (self), NULL);
  if (time != NULL)
    *time = self->health_time;
  return self->health;
}

/* Every call of the host arrives here, on the main thread, in the order it was sent. */
static void
dispatch_method_call (GDBusConnection *connection,
                      const gchar *sender,
                      const gchar *object_path,
                      const gchar *interface_name,
                      const gchar *method_name,
                      GVariant *parameters,
                      GDBusMethodInvocation *invocation,
                      gpointer user_data)
{
  HgdContextImpl *self = HGD_CONTEXT_IMPL (user_data);
  GDBusInterfaceVTable *generated;

  if (!authorize_method (self, invocation))
    return;
  generated = g_dbus_interface_skeleton_get_vtable (G_DBUS_INTERFACE_SKELETON (self->skeleton));
  generated->method_call (connection, sender, object_path, interface_name, method_name, parameters,
                          invocation, self->skeleton);
}

/**
 * hgd_context_impl_export:
 * @self: an #HgdContextImpl
 * @connection: the connection to the instance's host
 * @error: return location for a #GError
 *
 * Returns: %TRUE if org.hemgate.Context1 is exported at /org/hemgate/Context
 */
gboolean
hgd_context_impl_export (HgdContextImpl *self,
                         GDBusConnection *connection,
                         GError **error)
{
  static const GDBusInterfaceVTable vtable = { dispatch_method_call, NULL, NULL, { NULL } };

  g_return_val_if_fail (HGD_IS_CONTEXT_IMPL (self), FALSE);
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), FALSE);
  g_return_val_if_fail (self->registration_id == 0, FALSE);

  self->registration_id =
    g_dbus_connection_register_object (connection, CONTEXT_PATH,
                                       hgd_dbus_context1_interface_info (),
                                       &vtable, self, NULL, error);
  if (self->registration_id == 0)
    return FALSE;
  self->connection = g_object_ref (connection);
  return TRUE;
}

/**
 * hgd_context_impl_unexport:
 * @self: an #HgdContextImpl
 *
 * Stops answering, and abandons calls in flight (their hosts get an error).
 */
void
hgd_context_impl_unexport (HgdContextImpl *self)
{
  g_return_if_fail (HGD_IS_CONTEXT_IMPL (self));

  g_cancellable_cancel (self->cancellable);
  if (self->registration_id != 0)
    g_dbus_connection_unregister_object (self->connection, self->registration_id);
  self->registration_id = 0;
  g_clear_object (&self->connection);
}

/**
 * hgd_context_impl_set_limits:
 * @self: an #HgdContextImpl
 * @limits: the limits whose event rate the instance's domain publishes at
 */
void
hgd_context_impl_set_limits (HgdContextImpl *self,
                             HgdLimits *limits)
{
  g_return_if_fail (HGD_IS_CONTEXT_IMPL (self));
  g_return_if_fail (HGD_IS_LIMITS (limits));
  g_set_object (&self->limits, limits);
}

/* Returns: how many calls were denied so far */
guint
hgd_context_impl_get_n_denied (HgdContextImpl *self)
{
  g_return_val_if_fail (HGD_IS_CONTEXT_IMPL (self), 0);
  return self->n_denied;
}

static void
hgd_context_impl_dispose (GObject *object)
{
  HgdContextImpl *self = HGD_CONTEXT_IMPL (object);

  hgd_context_impl_unexport (self);
  g_clear_object (&self->skeleton);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    g_clear_object (&self->journals[i]);
  g_clear_object (&self->alarms);
  g_clear_object (&self->secrets);
  g_clear_object (&self->limits);
  g_clear_object (&self->channels);
  G_OBJECT_CLASS (hgd_context_impl_parent_class)->dispose (object);
}

static void
hgd_context_impl_finalize (GObject *object)
{
  HgdContextImpl *self = HGD_CONTEXT_IMPL (object);

  g_free (self->instance_id);
  g_free (self->source);
  g_strfreev (self->grant);
  g_clear_pointer (&self->health, json_object_unref);
  g_hash_table_unref (self->sandbox_denied);
  g_hash_table_unref (self->missing_secrets);
  g_object_unref (self->cancellable);
  G_OBJECT_CLASS (hgd_context_impl_parent_class)->finalize (object);
}

static void
hgd_context_impl_class_init (HgdContextImplClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hgd_context_impl_dispose;
  object_class->finalize = hgd_context_impl_finalize;
}

static void
hgd_context_impl_init (HgdContextImpl *self)
{
  self->cancellable = g_cancellable_new ();
  self->sandbox_denied = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->missing_secrets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/**
 * hgd_context_impl_new:
 * @instance_id: the plugin instance id
 * @domain: the instance's domain
 * @grant: the capabilities granted to the instance
 * @journals: %HG_DOMAIN_LAST journals, each possibly %NULL
 * @alarms: the alarms
 * @secrets: the secrets
 *
 * Returns: (transfer full): a Context1 implementation, not yet exported
 */
HgdContextImpl *
hgd_context_impl_new (const gchar *instance_id,
                      HgDomain domain,
                      const gchar *const *grant,
                      HgdJournal *const *journals,
                      HgdAlarms *alarms,
                      HgdSecrets *secrets)
{
  HgdContextImpl *self;

  g_return_val_if_fail (instance_id != NULL, NULL);
  g_return_val_if_fail ((guint) domain < HG_DOMAIN_LAST, NULL);
  g_return_val_if_fail (grant != NULL, NULL);
  g_return_val_if_fail (journals != NULL, NULL);
  g_return_val_if_fail (HGD_IS_ALARMS (alarms), NULL);
  g_return_val_if_fail (HGD_IS_SECRETS (secrets), NULL);

  (void) hg_error_quark (); /* registers org.hemgate.Error.* */
  self = g_object_new (HGD_TYPE_CONTEXT_IMPL, NULL);
  self->instance_id = g_strdup (instance_id);
  self->source = g_strdup_printf ("plugin:%s", instance_id);
  self->domain = domain;
  self->grant = g_strdupv ((gchar **) grant);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    self->journals[i] = journals[i] != NULL ? g_object_ref (journals[i]) : NULL;
  self->alarms = g_object_ref (alarms);
  self->secrets = g_object_ref (secrets);

  self->skeleton = hgd_dbus_context1_skeleton_new ();
  g_signal_connect_object (self->skeleton, "handle-publish-event", G_CALLBACK (handle_publish_event_cb), self, 0);
  g_signal_connect_object (self->skeleton, "handle-publish-events", G_CALLBACK (handle_publish_events_cb), self, 0);
  g_signal_connect_object (self->skeleton, "handle-raise-alarm", G_CALLBACK (handle_raise_alarm_cb), self, 0);
  g_signal_connect_object (self->skeleton, "handle-report-alarm", G_CALLBACK (handle_report_alarm_cb), self, 0);
  g_signal_connect_object (self->skeleton, "handle-report-alarm-steps",
                           G_CALLBACK (handle_report_alarm_steps_cb), self, 0);
  g_signal_connect_object (self->skeleton, "handle-lookup-secret", G_CALLBACK (handle_lookup_secret_cb), self, 0);
  g_signal_connect_object (self->skeleton, "handle-store-secret", G_CALLBACK (handle_store_secret_cb), self, 0);
  g_signal_connect_object (self->skeleton, "handle-report-health", G_CALLBACK (handle_report_health_cb), self, 0);
  g_signal_connect_object (self->skeleton, "handle-channel-send", G_CALLBACK (handle_channel_send_cb), self, 0);
  g_signal_connect_object (self->skeleton, "handle-channel-close", G_CALLBACK (handle_channel_close_cb), self, 0);
  return self;
}
