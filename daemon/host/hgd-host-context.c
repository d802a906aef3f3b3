/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdHostContext: implements every HgContext call as an asynchronous call of
 * org.hemgate.Context1 on the host's private connection to the core. It decides
 * nothing: the core checks each call against the grant. Errors come back as HG_ERROR,
 * converted in one place (hgd_host_context_error_to_hg).
 *
 * Event publishes are the one exception to one call each: a sensor plugin publishes
 * thousands a second, and a D-Bus call per event cost far more than the event itself.
 * The publishes of one type made in one main-loop iteration are gathered into a batch
 * and sent as one PublishEvents call when that iteration's dispatch is done, when a
 * publish of another type comes (so that the core sees every call in the order the
 * plugin made it), when the batch is full, or before any other call to the core. Each
 * publish still completes on its own, with its own seq or error, in the order made.
 *
 * A report of an alarm's step is never dropped because the core could not journal it
 * (HG_ERROR_UNAVAILABLE: its journal is full or failing): the host keeps it and sends it
 * again, after 250 ms, then twice as long each time up to REPORT_RETRY_MAX_MS, until the
 * core journals it or refuses it for good, and only then completes it. The reports of
 * one alarm go one call at a time in the order made, so a later step never overtakes one
 * waiting to be sent again.
 *
 * Reports are gathered too: a report is sent when the current dispatch is done (or before
 * any other call to the core), and the reports of one alarm made by then, or while an
 * earlier call of that alarm was on its way, go in one ReportAlarmSteps call. So the
 * `delivered` and `acknowledged` that one answer of the alarm centre brings cost one
 * call, and the core commits both in one transaction. Each report still completes on its
 * own, with its own result, in the order made. */
#include "config.h"

#include "hgd-host-context.h"

/* Publishes gathered for one PublishEvents call: all of one type, in the order made. */
typedef struct
{
  gchar *type;       /* (owned) */
  GPtrArray *tasks;  /* (owned) (element-type GTask) */
  GPtrArray *bodies; /* (owned) (element-type utf8) the event bodies as JSON */
} PublishBatch;

struct _HgdHostContext
{
  HgContext parent_instance;
  HgdDBusContext1 *proxy; /* (owned) */
  GHashTable *reports;    /* (owned) reference → AlarmReports */
  GPtrArray *pending;     /* (owned) (element-type AlarmReports) (unowned elements) alarms
                           * whose reports wait for the end of the dispatch, in order */
  PublishBatch *batch;    /* (owned) (nullable) publishes not sent yet */
  GSource *flush_source;  /* (owned) (nullable) sends @batch and @pending after the current
                           * dispatch; at most one of them is not empty */
};

G_DEFINE_TYPE (HgdHostContext, hgd_host_context, HG_TYPE_CONTEXT)

/* Events and alarms a plugin sends are capped by the core too; this only keeps a
 * runaway plugin from building huge messages in the host. */
#define MAX_JSON_SIZE (64 * 1024)

/* The longest wait before a report the core could not journal is sent again. */
#define REPORT_RETRY_FIRST_MS 250
#define REPORT_RETRY_MAX_MS 5000

/* The most events of one PublishEvents call; the core refuses more (see the XML). */
#define MAX_BATCH_EVENTS 1024

/* The most steps of one ReportAlarmSteps call; the core refuses more (see the XML). */
#define MAX_REPORT_STEPS 16

/**
 * hgd_host_context_error_to_hg:
 * @error: an error from a call to the core, or from the plugin
 *
 * The one conversion to %HG_ERROR for plugins: remote `org.hemgate.Error.*` errors keep
 * their code without the D-Bus prefix, a lost connection is %HG_ERROR_UNAVAILABLE, a
 * timeout %HG_ERROR_TIMED_OUT, and anything else %HG_ERROR_FAILED.
 * %G_IO_ERROR_CANCELLED stays as it is, as GIO callers expect.
 *
 * Returns: (transfer full): the converted error
 */
GError *
hgd_host_context_error_to_hg (const GError *error)
{
  g_autoptr(GError) copy = g_error_copy (error);

  if (g_dbus_error_is_remote_error (copy))
    g_dbus_error_strip_remote_error (copy);
  if (copy->domain == HG_ERROR || g_error_matches (copy, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_steal_pointer (&copy);
  if (g_error_matches (copy, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
      g_error_matches (copy, G_DBUS_ERROR, G_DBUS_ERROR_TIMEOUT) ||
      g_error_matches (copy, G_DBUS_ERROR, G_DBUS_ERROR_TIMED_OUT) ||
      g_error_matches (copy, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY))
    return g_error_new (HG_ERROR, HG_ERROR_TIMED_OUT, "the core did not answer: %s", copy->message);
  if (g_error_matches (copy, G_IO_ERROR, G_IO_ERROR_CLOSED) ||
      g_error_matches (copy, G_DBUS_ERROR, G_DBUS_ERROR_DISCONNECTED))
    return g_error_new (HG_ERROR, HG_ERROR_UNAVAILABLE, "the core is gone: %s", copy->message);
  return g_error_new_literal (HG_ERROR, HG_ERROR_FAILED, copy->message);
}

static void
return_error (GTask *task,
              GError *error)
{
  g_autoptr(GError) owned = error;

  g_task_return_error (task, hgd_host_context_error_to_hg (owned));
}

static gboolean
check_size (GTask *task,
            const gchar *json)
{
  if (strlen (json) <= MAX_JSON_SIZE)
    return TRUE;
  g_task_return_new_error (task, HG_ERROR, HG_ERROR_INVALID_DATA,
                           "JSON of %" G_GSIZE_FORMAT " bytes exceeds the limit of %d",
                           strlen (json), MAX_JSON_SIZE);
  return FALSE;
}

static PublishBatch *
publish_batch_new (const gchar *type)
{
  PublishBatch *batch = g_new0 (PublishBatch, 1);

  batch->type = g_strdup (type);
  batch->tasks = g_ptr_array_new_with_free_func (g_object_unref);
  batch->bodies = g_ptr_array_new_with_free_func (g_free);
  return batch;
}

static void
publish_batch_free (PublishBatch *batch)
{
  g_free (batch->type);
  g_ptr_array_unref (batch->tasks);
  g_clear_pointer (&batch->bodies, g_ptr_array_unref);
  g_free (batch);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PublishBatch, publish_batch_free)

/* Completes the task of one body from its entry of the PublishEvents results. */
static void
return_publish_result (GTask *task,
                       guint64 seq,
                       const gchar *error_name,
                       const gchar *error_message)
{
  if (error_name[0] != '\0')
    return_error (task, g_dbus_error_new_for_dbus_error (error_name, error_message));
  else if (seq == 0)
    g_task_return_new_error (task, HG_ERROR, HG_ERROR_FAILED,
                             "the core returned no seq for the event");
  else
    g_task_return_pointer (task, g_memdup2 (&seq, sizeof seq), g_free);
}

static void
publish_events_cb (GObject *source,
                   GAsyncResult *result,
                   gpointer user_data)
{
  g_autoptr(PublishBatch) batch = user_data;
  g_autoptr(GVariant) results = NULL;
  g_autoptr(GError) error = NULL;

  if (hgd_dbus_context1_call_publish_events_finish (HGD_DBUS_CONTEXT1 (source), &results, result,
                                                    &error) &&
      g_variant_n_children (results) != batch->tasks->len)
    g_set_error (&error, HG_ERROR, HG_ERROR_FAILED,
                 "the core answered %" G_GSIZE_FORMAT " results for %u events",
                 g_variant_n_children (results), batch->tasks->len);
  /* in the order published; a task may complete synchronously and publish again, into the
   * next batch */
  for (guint i = 0; i < batch->tasks->len; i++)
    {
      GTask *task = g_ptr_array_index (batch->tasks, i);
      const gchar *name, *message;
      guint64 seq;

      if (error != NULL)
        {
          return_error (task, g_error_copy (error));
          continue;
        }
      g_variant_get_child (results, i, "(t&s&s)", &seq, &name, &message);
      return_publish_result (task, seq, name, message);
    }
}

/* Sends the gathered publishes as one PublishEvents call; those cancelled meanwhile
 * complete with G_IO_ERROR_CANCELLED and are not sent. */
static void
send_publishes (HgdHostContext *self)
{
  g_autoptr(PublishBatch) batch = g_steal_pointer (&self->batch);
  PublishBatch *sent;

  if (batch == NULL)
    return;
  for (guint i = 0; i < batch->tasks->len;)
    {
      if (g_task_return_error_if_cancelled (g_ptr_array_index (batch->tasks, i)))
        {
          g_ptr_array_remove_index (batch->tasks, i);
          g_ptr_array_remove_index (batch->bodies, i);
        }
      else
        {
          i++;
        }
    }
  if (batch->tasks->len == 0)
    return;
  g_ptr_array_add (batch->bodies, NULL);
  sent = g_steal_pointer (&batch);
  hgd_dbus_context1_call_publish_events (self->proxy, sent->type,
                                         (const gchar *const *) sent->bodies->pdata, NULL,
                                         publish_events_cb, sent);
  /* the message holds its own copy; publish_events_cb() frees the rest */
  g_clear_pointer (&sent->bodies, g_ptr_array_unref);
}

static void send_reports (HgdHostContext *self);

/* Sends what was gathered (publishes or reports: one of them is empty), so that the core
 * sees the calls in the order made. */
static void
flush_gathered (HgdHostContext *self)
{
  if (self->flush_source != NULL)
    {
      g_source_destroy (self->flush_source);
      g_clear_pointer (&self->flush_source, g_source_unref);
    }
  send_reports (self);
  send_publishes (self);
}

/**
 * hgd_host_context_flush:
 * @self: an #HgdHostContext
 *
 * Sends the publishes and reports gathered so far now rather than after the current
 * dispatch, e.g. before the host answers Stop and exits.
 */
void
hgd_host_context_flush (HgdHostContext *self)
{
  g_return_if_fail (HGD_IS_HOST_CONTEXT (self));
  flush_gathered (self);
}

static gboolean
flush_cb (gpointer user_data)
{
  HgdHostContext *self = HGD_HOST_CONTEXT (user_data);

  flush_gathered (self);
  return G_SOURCE_REMOVE;
}

static void
ensure_flush_source (HgdHostContext *self)
{
  if (self->flush_source != NULL)
    return;
  /* G_PRIORITY_DEFAULT: after the source now dispatching (which may publish many more),
   * yet in the very next iteration even while other default sources stay busy, which a
   * lower priority would not promise */
  self->flush_source = g_idle_source_new ();
  g_source_set_priority (self->flush_source, G_PRIORITY_DEFAULT);
  g_source_set_callback (self->flush_source, flush_cb, self, NULL);
  g_source_set_name (self->flush_source, "hemgate-publish-events");
  g_source_attach (self->flush_source, g_main_context_get_thread_default ());
}

static void
hgd_host_context_publish_event_async (HgContext *context,
                                      HgEvent *event,
                                      GCancellable *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer user_data)
{
  HgdHostContext *self = HGD_HOST_CONTEXT (context);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autofree gchar *body = hg_json_object_to_string (hg_event_get_body (event));
  const gchar *type = hg_event_get_event_type (event);

  g_task_set_source_tag (task, hgd_host_context_publish_event_async);
  if (!check_size (task, body))
    return;
  send_reports (self); /* the core sees the calls in the order made */
  if (self->batch != NULL && strcmp (self->batch->type, type) != 0)
    flush_gathered (self);
  if (self->batch == NULL)
    {
      self->batch = publish_batch_new (type);
      ensure_flush_source (self);
    }
  g_ptr_array_add (self->batch->tasks, g_steal_pointer (&task));
  g_ptr_array_add (self->batch->bodies, g_steal_pointer (&body));
  if (self->batch->tasks->len >= MAX_BATCH_EVENTS)
    flush_gathered (self);
}

static void
raise_alarm_cb (GObject *source,
                GAsyncResult *result,
                gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *ref = NULL;

  if (!hgd_dbus_context1_call_raise_alarm_finish (HGD_DBUS_CONTEXT1 (source), &ref, result, &error))
    {
      return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&ref), g_free);
}

static void
hgd_host_context_raise_alarm_async (HgContext *context,
                                    HgAlarm *alarm,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  HgdHostContext *self = HGD_HOST_CONTEXT (context);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(JsonObject) object = hg_alarm_to_json (alarm);
  g_autofree gchar *json = hg_json_object_to_string (object);

  g_task_set_source_tag (task, hgd_host_context_raise_alarm_async);
  flush_gathered (self); /* the core sees the calls in the order made */
  if (!check_size (task, json))
    return;
  hgd_dbus_context1_call_raise_alarm (self->proxy, json, cancellable, raise_alarm_cb,
                                      g_steal_pointer (&task));
}

/* One report of an alarm's step, the task data of its GTask. */
typedef struct
{
  gchar *state;  /* (owned) */
  gchar *detail; /* (owned) JSON, or "" */
} Report;

static void
report_free (Report *report)
{
  g_free (report->state);
  g_free (report->detail);
  g_free (report);
}

/* The reports of one alarm not yet completed, in the order made. */
typedef struct
{
  gchar *reference; /* (owned) */
  GQueue tasks;     /* (element-type GTask) (owned) */
  guint in_flight;  /* the first @in_flight of @tasks are on their way, in one call */
  gboolean pending; /* in HgdHostContext.pending: sent when the dispatch is done */
  guint attempts;   /* of the call of the reports in flight */
  guint retry_ms;
} AlarmReports;

static void
alarm_reports_free (AlarmReports *reports)
{
  g_free (reports->reference);
  g_queue_clear_full (&reports->tasks, g_object_unref);
  g_free (reports);
}

static void report_send (HgdHostContext *self,
                         AlarmReports *reports);

static const gchar *
task_state (GTask *task)
{
  return ((Report *) g_task_get_task_data (task))->state;
}

static gboolean
report_retry_cb (gpointer user_data)
{
  AlarmReports *reports = user_data;
  GTask *first = g_queue_peek_head (&reports->tasks);

  report_send (HGD_HOST_CONTEXT (g_task_get_source_object (first)), reports);
  return G_SOURCE_REMOVE;
}

/* Completes the first @n_done reports in flight, @errors[i] (owned, nullable) the error
 * of each; those left in flight (the core could not journal them, @why) are sent again
 * later. Then the alarm's next reports go, unless the end of a dispatch sends them. */
static void
report_done (HgdHostContext *self,
             AlarmReports *reports,
             guint n_done,
             GError **errors,
             const gchar *why)
{
  GTask *done[MAX_REPORT_STEPS];
  gboolean gone = FALSE;

  g_assert (n_done <= reports->in_flight && reports->in_flight <= MAX_REPORT_STEPS);
  for (guint i = 0; i < n_done; i++)
    done[i] = g_queue_pop_head (&reports->tasks);
  reports->in_flight -= n_done;
  if (n_done > 0 && reports->attempts > 1 && errors[0] == NULL)
    g_message ("alarm %s: the core journaled %s at attempt %u", reports->reference,
               task_state (done[0]), reports->attempts);
  if (reports->in_flight > 0)
    {
      if (reports->attempts == 1)
        g_warning ("alarm %s: the core could not journal %s (%s); sending it again until it does",
                   reports->reference, task_state (g_queue_peek_head (&reports->tasks)), why);
      reports->retry_ms = reports->retry_ms == 0 ? REPORT_RETRY_FIRST_MS
                                                 : MIN (reports->retry_ms * 2, REPORT_RETRY_MAX_MS);
      g_timeout_add (reports->retry_ms, report_retry_cb, reports);
    }
  else if (g_queue_is_empty (&reports->tasks) && !reports->pending)
    {
      /* settled before the plugin hears of it: its callback may report the alarm's next
       * step at once */
      g_hash_table_remove (self->reports, reports->reference);
      gone = TRUE;
    }
  for (guint i = 0; i < n_done; i++)
    {
      g_autoptr(GTask) task = done[i];

      if (errors[i] != NULL)
        return_error (task, errors[i]);
      else
        g_task_return_boolean (task, TRUE);
    }
  /* what was made while these were on their way goes now, in one call */
  if (!gone && reports->in_flight == 0 && !reports->pending
      && !g_queue_is_empty (&reports->tasks))
    report_send (self, reports);
}

/* Whether the core, still connected, could not journal a report for now. */
static gboolean
report_error_is_transient (HgdHostContext *self,
                           const GError *error)
{
  g_autoptr(GError) converted = hgd_host_context_error_to_hg (error);

  return g_error_matches (converted, HG_ERROR, HG_ERROR_UNAVAILABLE) && self->proxy != NULL
         && !g_dbus_connection_is_closed (g_dbus_proxy_get_connection (G_DBUS_PROXY (self->proxy)));
}

/* The answer to the call of the @n reports in flight: @error for all of them, or
 * @results, one (error_name, error_message) each. Completes them up to the first the
 * core could not journal for now; that one and the rest are sent again. */
static void
report_answered (HgdHostContext *self,
                 AlarmReports *reports,
                 GError *error,
                 GVariant *results)
{
  GError *errors[MAX_REPORT_STEPS] = { NULL };
  g_autoptr(GError) transient = NULL;
  guint n = reports->in_flight;
  guint n_done = 0;

  if (error == NULL && results != NULL && g_variant_n_children (results) != n)
    error = g_error_new (HG_ERROR, HG_ERROR_FAILED,
                         "the core answered %" G_GSIZE_FORMAT " results for %u steps",
                         g_variant_n_children (results), n);
  for (; n_done < n; n_done++)
    {
      GError *step_error = NULL;

      if (error != NULL)
        {
          step_error = g_error_copy (error);
        }
      else if (results != NULL)
        {
          const gchar *name, *message;

          g_variant_get_child (results, n_done, "(&s&s)", &name, &message);
          if (name[0] != '\0')
            step_error = g_dbus_error_new_for_dbus_error (name, message);
        }
      if (step_error != NULL && report_error_is_transient (self, step_error))
        {
          transient = hgd_host_context_error_to_hg (step_error);
          g_error_free (step_error);
          break;
        }
      errors[n_done] = step_error;
    }
  g_clear_error (&error);
  report_done (self, reports, n_done, errors, transient != NULL ? transient->message : NULL);
}

static void
report_alarm_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  AlarmReports *reports = user_data;
  HgdHostContext *self = g_task_get_source_object (g_queue_peek_head (&reports->tasks));
  GError *error = NULL;

  hgd_dbus_context1_call_report_alarm_finish (HGD_DBUS_CONTEXT1 (source), result, &error);
  report_answered (self, reports, error, NULL);
}

static void
report_alarm_steps_cb (GObject *source,
                       GAsyncResult *result,
                       gpointer user_data)
{
  AlarmReports *reports = user_data;
  HgdHostContext *self = g_task_get_source_object (g_queue_peek_head (&reports->tasks));
  g_autoptr(GVariant) results = NULL;
  GError *error = NULL;

  hgd_dbus_context1_call_report_alarm_steps_finish (HGD_DBUS_CONTEXT1 (source), &results, result,
                                                    &error);
  report_answered (self, reports, error, results);
}

/* Sends the reports in flight again, or, when none is, the next ones: as many as wait, up
 * to MAX_REPORT_STEPS of the same cancellable, in one call. */
static void
report_send (HgdHostContext *self,
             AlarmReports *reports)
{
  GTask *first = g_queue_peek_head (&reports->tasks);
  GCancellable *cancellable = g_task_get_cancellable (first);

  if (reports->in_flight == 0)
    {
      reports->attempts = 0;
      reports->retry_ms = 0;
      for (GList *l = reports->tasks.head;
           l != NULL && reports->in_flight < MAX_REPORT_STEPS
           && g_task_get_cancellable (l->data) == cancellable;
           l = l->next)
        reports->in_flight++;
    }
  /* disposed while they waited to be sent again: the host is going away */
  if (self->proxy == NULL)
    {
      GError *errors[MAX_REPORT_STEPS] = { NULL };

      for (guint i = 0; i < reports->in_flight; i++)
        errors[i] = g_error_new (HG_ERROR, HG_ERROR_UNAVAILABLE,
                                 "alarm %s: %s not journaled: the host is stopping",
                                 reports->reference,
                                 task_state (g_queue_peek_nth (&reports->tasks, i)));
      report_done (self, reports, reports->in_flight, errors, NULL);
      return;
    }
  reports->attempts++;
  send_publishes (self); /* the core sees the calls in the order made */
  if (reports->in_flight == 1)
    {
      Report *report = g_task_get_task_data (first);

      hgd_dbus_context1_call_report_alarm (self->proxy, reports->reference, report->state,
                                           report->detail, cancellable, report_alarm_cb, reports);
    }
  else
    {
      GVariantBuilder steps;
      GList *l = reports->tasks.head;

      g_variant_builder_init (&steps, G_VARIANT_TYPE ("a(ss)"));
      for (guint i = 0; i < reports->in_flight; i++, l = l->next)
        {
          Report *report = g_task_get_task_data (l->data);

          g_variant_builder_add (&steps, "(ss)", report->state, report->detail);
        }
      hgd_dbus_context1_call_report_alarm_steps (self->proxy, reports->reference,
                                                 g_variant_builder_end (&steps), cancellable,
                                                 report_alarm_steps_cb, reports);
    }
}

/* Sends the reports that waited for the end of the dispatch, alarm by alarm in the order
 * of each alarm's first. */
static void
send_reports (HgdHostContext *self)
{
  g_autoptr(GPtrArray) pending = NULL;

  if (self->pending->len == 0)
    return;
  pending = g_steal_pointer (&self->pending);
  self->pending = g_ptr_array_new ();
  for (guint i = 0; i < pending->len; i++)
    {
      AlarmReports *reports = g_ptr_array_index (pending, i);

      reports->pending = FALSE;
      if (reports->in_flight == 0)
        report_send (self, reports);
    }
}

static void
hgd_host_context_report_alarm_async (HgContext *context,
                                     const gchar *reference,
                                     HgAlarmState state,
                                     JsonObject *detail,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  HgdHostContext *self = HGD_HOST_CONTEXT (context);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autofree gchar *json = detail != NULL ? hg_json_object_to_string (detail) : g_strdup ("");
  const gchar *state_str = hg_alarm_state_to_string (state);
  AlarmReports *reports;
  Report *report;

  g_task_set_source_tag (task, hgd_host_context_report_alarm_async);
  send_publishes (self); /* the core sees the calls in the order made */
  if (state_str == NULL)
    {
      g_task_return_new_error (task, HG_ERROR, HG_ERROR_INVALID_DATA, "unknown alarm state %d", state);
      return;
    }
  if (!check_size (task, json))
    return;
  report = g_new0 (Report, 1);
  report->state = g_strdup (state_str);
  report->detail = g_steal_pointer (&json);
  g_task_set_task_data (task, report, (GDestroyNotify) report_free);

  reports = g_hash_table_lookup (self->reports, reference);
  if (reports == NULL)
    {
      reports = g_new0 (AlarmReports, 1);
      reports->reference = g_strdup (reference);
      g_queue_init (&reports->tasks);
      g_hash_table_insert (self->reports, reports->reference, reports);
    }
  g_queue_push_tail (&reports->tasks, g_steal_pointer (&task));
  /* with one on its way, it goes when that one is answered */
  if (reports->in_flight > 0 || reports->pending)
    return;
  reports->pending = TRUE;
  g_ptr_array_add (self->pending, reports);
  ensure_flush_source (self);
}

static void
lookup_secret_cb (GObject *source,
                  GAsyncResult *result,
                  gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *value = NULL;

  if (!hgd_dbus_context1_call_lookup_secret_finish (HGD_DBUS_CONTEXT1 (source), &value, result, &error))
    {
      return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&value), g_free);
}

static void
hgd_host_context_lookup_secret_async (HgContext *context,
                                      const gchar *key,
                                      GCancellable *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer user_data)
{
  HgdHostContext *self = HGD_HOST_CONTEXT (context);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, hgd_host_context_lookup_secret_async);
  flush_gathered (self); /* the core sees the calls in the order made */
  hgd_dbus_context1_call_lookup_secret (self->proxy, key, cancellable, lookup_secret_cb,
                                        g_steal_pointer (&task));
}

static void
store_secret_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!hgd_dbus_context1_call_store_secret_finish (HGD_DBUS_CONTEXT1 (source), result, &error))
    {
      return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
hgd_host_context_store_secret_async (HgContext *context,
                                     const gchar *key,
                                     const gchar *value,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  HgdHostContext *self = HGD_HOST_CONTEXT (context);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, hgd_host_context_store_secret_async);
  flush_gathered (self); /* the core sees the calls in the order made */
  hgd_dbus_context1_call_store_secret (self->proxy, key, value, cancellable, store_secret_cb,
                                       g_steal_pointer (&task));
}

static void
report_health_cb (GObject *source,
                  GAsyncResult *result,
                  gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!hgd_dbus_context1_call_report_health_finish (HGD_DBUS_CONTEXT1 (source), result, &error))
    g_debug ("health report not taken: %s", error->message);
}

/* Fire and forget: the next report replaces this one anyway. */
static void
hgd_host_context_report_health (HgContext *context,
                                JsonObject *health)
{
  HgdHostContext *self = HGD_HOST_CONTEXT (context);
  g_autofree gchar *json = hg_json_object_to_string (health);

  if (strlen (json) > MAX_JSON_SIZE)
    {
      g_warning ("health report of %" G_GSIZE_FORMAT " bytes dropped: the limit is %d",
                 strlen (json), MAX_JSON_SIZE);
      return;
    }
  flush_gathered (self); /* the core sees the calls in the order made */
  hgd_dbus_context1_call_report_health (self->proxy, json, NULL, report_health_cb, NULL);
}

static void
channel_call_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);
  if (reply == NULL)
    g_debug ("channel call not taken: %s", error->message);
}

/* Fire and forget, in order with the other calls: the plugin learns of a closed channel
 * from HgContext::channel-closed, not from a failed send. */
static void
hgd_host_context_channel_send (HgContext *context,
                               const gchar *channel_id,
                               JsonObject *message)
{
  HgdHostContext *self = HGD_HOST_CONTEXT (context);
  g_autofree gchar *json = hg_json_object_to_string (message);

  if (strlen (json) > HG_CONTEXT_CHANNEL_MAX_MESSAGE)
    {
      g_warning ("channel message of %" G_GSIZE_FORMAT " bytes dropped: the limit is %d",
                 strlen (json), HG_CONTEXT_CHANNEL_MAX_MESSAGE);
      return;
    }
  flush_gathered (self);
  hgd_dbus_context1_call_channel_send (self->proxy, channel_id, json, NULL,
                                       (GAsyncReadyCallback) channel_call_cb, NULL);
}

static void
hgd_host_context_channel_close (HgContext *context,
                                const gchar *channel_id)
{
  HgdHostContext *self = HGD_HOST_CONTEXT (context);

  flush_gathered (self);
  hgd_dbus_context1_call_channel_close (self->proxy, channel_id, NULL,
                                        (GAsyncReadyCallback) channel_call_cb, NULL);
}

static void
hgd_host_context_dispose (GObject *object)
{
  HgdHostContext *self = HGD_HOST_CONTEXT (object);

  /* only g_object_run_dispose() gets here with a batch (its tasks hold references to
   * this object): send it rather than leave its tasks unanswered */
  if (self->proxy != NULL)
    flush_gathered (self);
  g_clear_object (&self->proxy);
  G_OBJECT_CLASS (hgd_host_context_parent_class)->dispose (object);
}

static void
hgd_host_context_finalize (GObject *object)
{
  HgdHostContext *self = HGD_HOST_CONTEXT (object);

  /* every report holds a reference to this object until it completes */
  g_hash_table_unref (self->reports);
  g_ptr_array_unref (self->pending);
  G_OBJECT_CLASS (hgd_host_context_parent_class)->finalize (object);
}

static void
hgd_host_context_class_init (HgdHostContextClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  HgContextClass *context_class = HG_CONTEXT_CLASS (klass);

  /* Registers org.hemgate.Error.* before the first reply can carry one. */
  (void) hg_error_quark ();

  object_class->dispose = hgd_host_context_dispose;
  object_class->finalize = hgd_host_context_finalize;
  context_class->publish_event_async = hgd_host_context_publish_event_async;
  context_class->raise_alarm_async = hgd_host_context_raise_alarm_async;
  context_class->report_alarm_async = hgd_host_context_report_alarm_async;
  context_class->lookup_secret_async = hgd_host_context_lookup_secret_async;
  context_class->store_secret_async = hgd_host_context_store_secret_async;
  context_class->report_health = hgd_host_context_report_health;
  context_class->channel_send = hgd_host_context_channel_send;
  context_class->channel_close = hgd_host_context_channel_close;
}

static void
hgd_host_context_init (HgdHostContext *self)
{
  self->reports = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                         (GDestroyNotify) alarm_reports_free);
  self->pending = g_ptr_array_new ();
}

/**
 * hgd_host_context_new:
 * @proxy: org.hemgate.Context1 on the connection to the core
 * @plugin_id: the instance id
 * @domain: the instance's domain
 * @config: the instance's own configuration keys
 * @capabilities: the granted capabilities
 *
 * Returns: (transfer full): the context to give the plugin
 */
HgdHostContext *
hgd_host_context_new (HgdDBusContext1 *proxy,
                      const gchar *plugin_id,
                      HgDomain domain,
                      HgConfig *config,
                      const gchar *const *capabilities)
{
  HgdHostContext *self;

  g_return_val_if_fail (HGD_DBUS_IS_CONTEXT1 (proxy), NULL);
  g_return_val_if_fail (plugin_id != NULL, NULL);
  g_return_val_if_fail (HG_IS_CONFIG (config), NULL);

  self = g_object_new (HGD_TYPE_HOST_CONTEXT,
                       "plugin-id", plugin_id,
                       "domain", domain,
                       "config", config,
                       "capabilities", capabilities,
                       NULL);
  self->proxy = g_object_ref (proxy);
  return self;
}
