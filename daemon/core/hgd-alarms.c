/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdAlarms: raises social alarms and moves them through their life cycle. Every step is
 * an "alarm.<state>" event committed with the alarm's record in one transaction of the
 * municipal journal; transitions of one alarm run one at a time, so each is checked
 * against what is on disk, by the table of hgd-alarm-lifecycle.c.
 *
 * The steps one report brings together (hgd_alarms_transition_steps_async (), e.g.
 * `delivered` and `acknowledged` from one answer of the alarm centre) are checked one
 * after the other against the record as the step before left it, and committed in one
 * transaction: all of them or none, so `acknowledged` is never on disk without the
 * `delivered` that came with it. */
#include "config.h"

#include "hgd-alarms.h"
#include "hgd-log.h"

struct _HgdAlarms
{
  GObject parent_instance;
  HgdJournal *journal; /* (owned) (nullable) when the municipal journal failed to open */
  GHashTable *busy;    /* (owned) reference → Busy: the transitions of an alarm */
  GHashTable *keys;    /* (owned) "<source>\n<key>" of idempotent raises not yet on disk */
};

G_DEFINE_TYPE (HgdAlarms, hgd_alarms, G_TYPE_OBJECT)

G_DEFINE_QUARK (hgd-alarms-error-quark, hgd_alarms_error)

/* The transitions of one alarm: those waiting, and how many appends are in flight (the
 * steps of one transaction). */
typedef struct
{
  GQueue waiting; /* (element-type GTask) (owned) */
  guint appending;
} Busy;

/* An idempotent raise in flight. */
typedef struct
{
  HgAlarm *alarm; /* (owned) */
  gchar *pending; /* (owned) its entry in HgdAlarms.keys */
  gboolean replayed;
} RaiseData;

static void
raise_data_free (RaiseData *data)
{
  g_clear_object (&data->alarm);
  g_free (data->pending);
  g_free (data);
}

typedef struct
{
  gchar *reference;   /* (owned) */
  HgAlarmState state;
  HgdAlarmCaller caller;
  gchar *who;         /* (owned) */
  gchar *who_name;    /* (owned) (nullable) the identity provider's name of @who */
  gchar *who_issuer;  /* (owned) (nullable) the identity provider that vouched for @who */
  JsonObject *detail; /* (owned) (nullable) */
  gboolean joined;    /* committed in one transaction with the step before it */
} TransitionData;

static void
transition_data_free (TransitionData *data)
{
  g_free (data->reference);
  g_free (data->who);
  g_free (data->who_name);
  g_free (data->who_issuer);
  g_clear_pointer (&data->detail, json_object_unref);
  g_free (data);
}

static void
busy_free (Busy *busy)
{
  g_queue_clear_full (&busy->waiting, g_object_unref);
  g_free (busy);
}

static void
hgd_alarms_dispose (GObject *object)
{
  HgdAlarms *self = HGD_ALARMS (object);

  g_clear_object (&self->journal);
  G_OBJECT_CLASS (hgd_alarms_parent_class)->dispose (object);
}

static void
hgd_alarms_finalize (GObject *object)
{
  HgdAlarms *self = HGD_ALARMS (object);

  g_hash_table_unref (self->busy);
  g_hash_table_unref (self->keys);
  G_OBJECT_CLASS (hgd_alarms_parent_class)->finalize (object);
}

static void
hgd_alarms_class_init (HgdAlarmsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hgd_alarms_dispose;
  object_class->finalize = hgd_alarms_finalize;
}

static void
hgd_alarms_init (HgdAlarms *self)
{
  self->busy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) busy_free);
  self->keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/**
 * hgd_alarms_new:
 * @journal: (nullable): the municipal journal, or %NULL if it failed to open; then every
 *   call fails with %HG_ERROR_UNAVAILABLE
 *
 * Returns: (transfer full): a new #HgdAlarms
 */
HgdAlarms *
hgd_alarms_new (HgdJournal *journal)
{
  HgdAlarms *self;

  g_return_val_if_fail (journal == NULL || HGD_IS_JOURNAL (journal), NULL);
  g_return_val_if_fail (journal == NULL || hgd_journal_get_domain (journal) == HG_DOMAIN_MUNICIPAL,
                        NULL);

  self = g_object_new (HGD_TYPE_ALARMS, NULL);
  self->journal = journal != NULL ? g_object_ref (journal) : NULL;
  return self;
}

/**
 * hgd_alarms_new_reference:
 *
 * A reference is 16 characters of `[0-9A-Za-z]`, usable as a SCAIP `ref`: 10 base-36
 * digits of the time in microseconds, strictly increasing within the process, then 6
 * random characters, so that references also differ across restarts and clock steps.
 * (The time part wraps in 2084; the random part still keeps references apart.)
 *
 * Returns: (transfer full): a new unique alarm reference
 */
gchar *
hgd_alarms_new_reference (void)
{
  static const gchar digits36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  static const gchar alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  static gint64 last_usec = 0;
  G_LOCK_DEFINE_STATIC (last_usec);
  gchar reference[17];
  guint64 usec;

  G_LOCK (last_usec);
  last_usec = MAX (g_get_real_time (), last_usec + 1);
  usec = (guint64) last_usec;
  G_UNLOCK (last_usec);

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

/* raising */

static void
raise_append_cb (GObject *source_object,
                 GAsyncResult *result,
                 gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  HgAlarm *alarm = g_task_get_task_data (task);
  const gchar *reference = hg_alarm_get_reference (alarm);

  if (!hgd_journal_append_finish (HGD_JOURNAL (source_object), result, &error))
    {
      g_prefix_error (&error, "alarm %s not raised: ", reference);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  HGD_LOG_EVENT (G_LOG_LEVEL_MESSAGE, HGD_MESSAGE_ID_ALARM_RAISED, "HG_ALARM_REF", reference,
                 "alarm %s raised (%s)", reference, hg_alarm_get_alarm_type (alarm));
  g_task_return_pointer (task, g_strdup (reference), g_free);
}

/* What refuses any new alarm at once: no journal, or a type the core does not know.
 * Returns: %FALSE after returning the error on @task. */
static gboolean
raise_is_possible (HgdAlarms *self,
                   GTask *task,
                   HgAlarm *alarm)
{
  if (self->journal == NULL)
    {
      g_task_return_new_error (task, HG_ERROR, HG_ERROR_UNAVAILABLE, "%s",
                               "municipal journal unavailable");
      return FALSE;
    }
  if (!hg_alarm_type_is_valid (hg_alarm_get_alarm_type (alarm)))
    {
      g_task_return_new_error (task, HG_ERROR, HG_ERROR_INVALID_DATA, "unknown alarm type '%s'",
                               hg_alarm_get_alarm_type (alarm));
      return FALSE;
    }
  return TRUE;
}

/* A new alarm's reference and first state, and the event that journals it. */
static HgEvent *
raised_event_new (HgAlarm *alarm,
                  const gchar *source)
{
  g_autofree gchar *reference = hgd_alarms_new_reference ();
  g_autoptr(JsonObject) body = NULL;
  HgEvent *event;

  hg_alarm_set_reference (alarm, reference);
  hg_alarm_set_state (alarm, HG_ALARM_STATE_RAISED);
  hg_alarm_set_source (alarm, source);
  body = hg_alarm_to_json (alarm);
  event = hg_event_new ("alarm.raised", body);
  hg_event_set_source (event, source);
  return event;
}

/**
 * hgd_alarms_raise_async:
 * @self: an #HgdAlarms
 * @alarm: the alarm; it is given a new reference, state raised and @source
 * @source: who raises it: `plugin:<id>` or `user:<name>`
 * @cancellable: (nullable): checked before the alarm is queued only; once queued it is
 *   raised
 * @callback: called once the alarm and its `alarm.raised` event are on disk
 * @user_data: data for @callback
 *
 * Raises a social alarm: journals an `alarm.raised` event whose body is the alarm, and its
 * record, in one durable transaction.
 */
void
hgd_alarms_raise_async (HgdAlarms *self,
                        HgAlarm *alarm,
                        const gchar *source,
                        GCancellable *cancellable,
                        GAsyncReadyCallback callback,
                        gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(HgEvent) event = NULL;

  g_return_if_fail (HGD_IS_ALARMS (self));
  g_return_if_fail (HG_IS_ALARM (alarm));
  g_return_if_fail (source != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hgd_alarms_raise_async);
  g_task_set_check_cancellable (task, FALSE);
  g_task_set_task_data (task, g_object_ref (alarm), g_object_unref);

  if (!raise_is_possible (self, task, alarm))
    return;

  event = raised_event_new (alarm, source);
  hgd_journal_append_async (self->journal, event, alarm, cancellable, raise_append_cb,
                            g_steal_pointer (&task));
}

/**
 * hgd_alarms_raise_finish:
 * @self: an #HgdAlarms
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the alarm's reference, or %NULL with %HG_ERROR_UNAVAILABLE,
 *   %HG_ERROR_INVALID_DATA or an %HGD_JOURNAL_ERROR
 */
gchar *
hgd_alarms_raise_finish (HgdAlarms *self,
                         GAsyncResult *result,
                         GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hgd_alarms_raise_async, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* raising with an idempotency key */

static void
raise_idempotent_append_cb (GObject *source_object,
                            GAsyncResult *result,
                            gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  HgdAlarms *self = g_task_get_source_object (task);
  RaiseData *data = g_task_get_task_data (task);
  const gchar *reference = hg_alarm_get_reference (data->alarm);

  g_hash_table_remove (self->keys, data->pending);
  if (!hgd_journal_append_keyed_finish (HGD_JOURNAL (source_object), result, &error))
    {
      g_prefix_error (&error, "alarm %s not raised: ", reference);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  HGD_LOG_EVENT (G_LOG_LEVEL_MESSAGE, HGD_MESSAGE_ID_ALARM_RAISED, "HG_ALARM_REF", reference,
                 "alarm %s raised (%s)", reference, hg_alarm_get_alarm_type (data->alarm));
  g_task_return_pointer (task, g_strdup (reference), g_free);
}

/**
 * hgd_alarms_raise_idempotent_async:
 * @self: an #HgdAlarms
 * @alarm: as for hgd_alarms_raise_async()
 * @source: as for hgd_alarms_raise_async(); also the scope of @key
 * @key: the client's idempotency key
 * @fingerprint: what the client asked (the request, canonicalised), to tell a retry of the
 *   same request from a key reused for another
 * @cancellable: (nullable): as for hgd_alarms_raise_async()
 * @callback: called once the alarm is on disk, or was already
 * @user_data: data for @callback
 *
 * As hgd_alarms_raise_async(), but raises at most one alarm per (@source, @key) within
 * %HGD_JOURNAL_IDEMPOTENCY_KEY_LIFETIME: the key is journaled in the alarm's own
 * transaction, so a retry after the answer was lost, even across a kill of the core, is
 * answered with the alarm raised the first time (@replayed set by the finish function).
 */
void
hgd_alarms_raise_idempotent_async (HgdAlarms *self,
                                   HgAlarm *alarm,
                                   const gchar *source,
                                   const gchar *key,
                                   const gchar *fingerprint,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(HgEvent) event = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *recorded_ref = NULL;
  g_autofree gchar *recorded_fingerprint = NULL;
  RaiseData *data;

  g_return_if_fail (HGD_IS_ALARMS (self));
  g_return_if_fail (HG_IS_ALARM (alarm));
  g_return_if_fail (source != NULL);
  g_return_if_fail (key != NULL);
  g_return_if_fail (fingerprint != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hgd_alarms_raise_idempotent_async);
  g_task_set_check_cancellable (task, FALSE);
  data = g_new0 (RaiseData, 1);
  data->alarm = g_object_ref (alarm);
  data->pending = g_strdup_printf ("%s\n%s", source, key);
  g_task_set_task_data (task, data, (GDestroyNotify) raise_data_free);

  if (!raise_is_possible (self, task, alarm))
    return;
  /* the main thread is the only writer of keys: what is not on disk yet is in @keys */
  if (g_hash_table_contains (self->keys, data->pending))
    {
      g_task_return_new_error (task, HGD_ALARMS_ERROR, HGD_ALARMS_ERROR_KEY_IN_FLIGHT, "%s",
                               "an alarm with this idempotency key is still being raised");
      return;
    }
  if (!hgd_journal_lookup_idempotency_key (self->journal, source, key, g_get_real_time (),
                                           &recorded_ref, &recorded_fingerprint, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (recorded_ref != NULL)
    {
      if (g_strcmp0 (recorded_fingerprint, fingerprint) != 0)
        {
          g_task_return_new_error (task, HGD_ALARMS_ERROR, HGD_ALARMS_ERROR_KEY_REUSED,
                                   "the idempotency key was used for alarm %s, which was "
                                   "raised with a different request",
                                   recorded_ref);
          return;
        }
      g_debug ("alarm %s: a retry with the same idempotency key", recorded_ref);
      data->replayed = TRUE;
      g_task_return_pointer (task, g_steal_pointer (&recorded_ref), g_free);
      return;
    }

  event = raised_event_new (alarm, source);
  g_hash_table_add (self->keys, g_strdup (data->pending));
  hgd_journal_append_keyed_async (self->journal, event, alarm, source, key, fingerprint,
                                  cancellable, raise_idempotent_append_cb, g_steal_pointer (&task));
}

/**
 * hgd_alarms_raise_idempotent_finish:
 * @self: an #HgdAlarms
 * @result: the #GAsyncResult
 * @replayed: (out) (optional): %TRUE if the alarm was raised by an earlier request with
 *   the same key, and nothing new was raised
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the alarm's reference, or %NULL with an error as
 *   hgd_alarms_raise_finish(), or %HGD_ALARMS_ERROR_KEY_IN_FLIGHT or
 *   %HGD_ALARMS_ERROR_KEY_REUSED
 */
gchar *
hgd_alarms_raise_idempotent_finish (HgdAlarms *self,
                                    GAsyncResult *result,
                                    gboolean *replayed,
                                    GError **error)
{
  RaiseData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (
      g_task_get_source_tag (G_TASK (result)) == hgd_alarms_raise_idempotent_async, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  data = g_task_get_task_data (G_TASK (result));
  if (replayed != NULL)
    *replayed = data->replayed;
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* transitions */

static void transition_run (HgdAlarms *self,
                            const gchar *reference);

static void
transition_append_cb (GObject *source_object,
                      GAsyncResult *result,
                      gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  HgdAlarms *self = g_task_get_source_object (task);
  TransitionData *data = g_task_get_task_data (task);
  g_autofree gchar *reference = g_strdup (data->reference);
  Busy *busy = g_hash_table_lookup (self->busy, reference);

  if (!hgd_journal_append_finish (HGD_JOURNAL (source_object), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
    }
  else
    {
      g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO, "HG_ALARM_REF", reference, "MESSAGE",
                        "alarm %s %s", reference, hg_alarm_state_to_string (data->state));
      g_task_return_boolean (task, TRUE);
    }
  /* the next transition once every step of this transaction is done */
  g_assert (busy != NULL && busy->appending > 0);
  if (--busy->appending == 0)
    transition_run (self, reference);
}

/* The record keeps what a delivery plugin reported as `delivery` in its detail, beside
 * what the alarm was raised with, replacing the previous one. */
static void
keep_delivery (HgAlarm *alarm, JsonObject *delivery)
{
  g_autoptr(JsonObject) detail = json_object_new ();
  JsonObject *old = hg_alarm_get_detail (alarm);

  if (old != NULL)
    {
      JsonObjectIter iter;
      const gchar *name;
      JsonNode *node;

      json_object_iter_init (&iter, old);
      while (json_object_iter_next (&iter, &name, &node))
        json_object_set_member (detail, name, json_node_copy (node));
    }
  json_object_set_object_member (detail, "delivery", json_object_ref (delivery));
  hg_alarm_set_detail (alarm, detail);
}

/* Who the identity provider says a staff member is, beside `who` in a step's body. */
static void
transition_add_identity (TransitionData *data,
                         JsonObject *body)
{
  if (data->who_name != NULL)
    json_object_set_string_member (body, "who_name", data->who_name);
  if (data->who_issuer != NULL)
    json_object_set_string_member (body, "who_issuer", data->who_issuer);
}

/* Checks @task's transition against the alarm's record and completes it, or starts its
 * append and returns TRUE: then transition_append_cb() continues the queue. The record
 * is *@record_inout if set (as the step before in the same transaction left it), else
 * read from disk into it; a step that moves the alarm leaves it moved there. */
static gboolean
transition_step (HgdAlarms *self,
                 GTask *task_owned,
                 HgAlarm **record_inout)
{
  g_autoptr(GTask) task = task_owned;
  g_autoptr(GError) error = NULL;
  HgAlarm *alarm = *record_inout;
  g_autoptr(HgEvent) event = NULL;
  g_autoptr(JsonObject) body = NULL;
  g_autofree gchar *event_type = NULL;
  TransitionData *data = g_task_get_task_data (task);
  JsonObject *delivery = NULL;
  HgAlarmState current;
  HgdAlarmStep step;

  if (alarm == NULL)
    alarm = *record_inout = hgd_journal_get_alarm (self->journal, data->reference, &error);
  if (alarm == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return FALSE;
    }
  current = hg_alarm_get_state (alarm);
  /* only a delivery plugin keeps its own state of the alarm in the record (e.g. the SCAIP
   * ref it goes on with); for anyone else `delivery` is detail like any other */
  if (data->caller == HGD_ALARM_CALLER_DELIVERY_PLUGIN && data->detail != NULL
      && json_object_has_member (data->detail, "delivery")
      && JSON_NODE_HOLDS_OBJECT (json_object_get_member (data->detail, "delivery")))
    delivery = json_object_get_object_member (data->detail, "delivery");

  step = hgd_alarm_lifecycle_get_step (current, data->state, data->caller);
  if (step == HGD_ALARM_STEP_ILLEGAL || (step == HGD_ALARM_STEP_LATE && delivery == NULL))
    {
      g_task_return_new_error (task, HGD_ALARMS_ERROR, HGD_ALARMS_ERROR_ILLEGAL_TRANSITION,
                               "alarm %s cannot move from %s to %s (asked by %s)", data->reference,
                               hg_alarm_state_to_string (current),
                               hg_alarm_state_to_string (data->state),
                               hgd_alarm_caller_to_string (data->caller));
      return FALSE;
    }
  if (step != HGD_ALARM_STEP_MOVE)
    {
      /* a repeat, or a late report carrying `delivery`; a final alarm's record no longer
       * changes */
      if (delivery == NULL || hg_alarm_state_is_final (current))
        {
          g_task_return_boolean (task, TRUE);
          return FALSE;
        }
      keep_delivery (alarm, delivery);
      body = json_object_new ();
      json_object_set_string_member (body, "ref", data->reference);
      json_object_set_string_member (body, "state", hg_alarm_state_to_string (current));
      json_object_set_string_member (body, "who", data->who);
  transition_add_identity (data, body);
      json_object_set_object_member (body, "detail", json_object_ref (data->detail));
      json_object_set_object_member (body, "alarm", hg_alarm_to_json (alarm));
      event = hg_event_new ("alarm.updated", body);
      hg_event_set_source (event, data->who);
      hgd_journal_append_async (self->journal, event, alarm, NULL, transition_append_cb,
                                g_steal_pointer (&task));
      return TRUE;
    }

  hg_alarm_set_state (alarm, data->state);
  if (delivery != NULL)
    keep_delivery (alarm, delivery);
  body = json_object_new ();
  json_object_set_string_member (body, "ref", data->reference);
  json_object_set_string_member (body, "state", hg_alarm_state_to_string (data->state));
  json_object_set_string_member (body, "who", data->who);
  transition_add_identity (data, body);
  if (data->detail != NULL)
    json_object_set_object_member (body, "detail", json_object_ref (data->detail));
  /* the whole record, so that a plugin that never saw alarm.raised (a host that restarted
   * after the alarm ended) can still act on it, e.g. abort it at the alarm centre */
  json_object_set_object_member (body, "alarm", hg_alarm_to_json (alarm));
  event_type = g_strdup_printf ("alarm.%s", hg_alarm_state_to_string (data->state));
  event = hg_event_new (event_type, body);
  hg_event_set_source (event, data->who);
  hgd_journal_append_async (self->journal, event, alarm, NULL, transition_append_cb,
                            g_steal_pointer (&task));
  return TRUE;
}

/* Runs the queued transitions of @reference until one waits for the journal; the steps
 * joined to it go in its transaction. */
static void
transition_run (HgdAlarms *self,
                const gchar *reference)
{
  g_autofree gchar *key = g_strdup (reference);
  Busy *busy = g_hash_table_lookup (self->busy, key);

  if (busy == NULL)
    return;
  for (;;)
    {
      GTask *task = g_queue_pop_head (&busy->waiting);
      g_autoptr(HgAlarm) record = NULL;

      if (task == NULL)
        {
          g_hash_table_remove (self->busy, key);
          return;
        }
      hgd_journal_begin_group (self->journal);
      for (;;)
        {
          if (transition_step (self, task, &record))
            busy->appending++;
          task = g_queue_peek_head (&busy->waiting);
          if (task == NULL || !((TransitionData *) g_task_get_task_data (task))->joined)
            break;
          g_queue_pop_head (&busy->waiting);
        }
      hgd_journal_end_group (self->journal);
      if (busy->appending > 0)
        return;
    }
}

/* Queues a transition, @joined to the one queued just before it, and runs the queue if
 * @run and it was idle; hgd_alarms_transition_async () and _as_async () say what. */
static void
transition_start (HgdAlarms *self,
                  const gchar *reference,
                  HgAlarmState state,
                  HgdAlarmCaller caller,
                  const gchar *who,
                  const gchar *who_name,
                  const gchar *who_issuer,
                  JsonObject *detail,
                  gboolean joined,
                  gboolean run,
                  GCancellable *cancellable,
                  gpointer source_tag,
                  GAsyncReadyCallback callback,
                  gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  TransitionData *data;
  Busy *busy;

  g_return_if_fail (HGD_IS_ALARMS (self));
  g_return_if_fail (reference != NULL);
  g_return_if_fail ((guint) state < HG_ALARM_STATE_LAST);
  g_return_if_fail ((guint) caller < HGD_ALARM_CALLER_LAST);
  g_return_if_fail (who != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);
  g_task_set_check_cancellable (task, FALSE);
  data = g_new0 (TransitionData, 1);
  data->reference = g_strdup (reference);
  data->state = state;
  data->caller = caller;
  data->who = g_strdup (who);
  data->who_name = g_strdup (who_name);
  data->who_issuer = g_strdup (who_issuer);
  data->detail = detail != NULL ? json_object_ref (detail) : NULL;
  data->joined = joined;
  g_task_set_task_data (task, data, (GDestroyNotify) transition_data_free);

  if (self->journal == NULL)
    {
      g_task_return_new_error (task, HG_ERROR, HG_ERROR_UNAVAILABLE, "%s",
                               "municipal journal unavailable");
      return;
    }

  busy = g_hash_table_lookup (self->busy, reference);
  if (busy != NULL)
    {
      g_queue_push_tail (&busy->waiting, g_steal_pointer (&task));
      return;
    }
  busy = g_new0 (Busy, 1);
  g_queue_push_tail (&busy->waiting, g_steal_pointer (&task));
  g_hash_table_insert (self->busy, g_strdup (reference), busy);
  if (run)
    transition_run (self, reference);
}

/**
 * hgd_alarms_transition_async:
 * @self: an #HgdAlarms
 * @reference: the alarm's reference
 * @state: the state it reached
 * @caller: what kind of caller asks, for the life cycle's table (hgd-alarm-lifecycle.c)
 * @who: who reports it: `plugin:<id>` or `user:<name>`
 * @detail: (nullable): facts about the step, e.g. which receiver answered
 * @cancellable: (nullable): a #GCancellable; a queued transition is not cancelled
 * @callback: called once the transition is on disk
 * @user_data: data for @callback
 *
 * Moves an alarm as the life cycle's table allows @caller (hgd_alarm_lifecycle_get_step ()).
 * A move appends an `alarm.<state>` event with body `{ref, state, who, detail, alarm}`
 * (`alarm` is the record after the move) and updates the record in the same transaction.
 * Asking for the state the alarm is in succeeds without a new event; a delivery plugin's
 * report of that or an earlier state with a `delivery` object in @detail keeps it in the
 * record of an alarm that is not final, by an `alarm.updated` event. Transitions of one
 * alarm run in the order requested.
 */
void
hgd_alarms_transition_async (HgdAlarms *self,
                             const gchar *reference,
                             HgAlarmState state,
                             HgdAlarmCaller caller,
                             const gchar *who,
                             JsonObject *detail,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data)
{
  transition_start (self, reference, state, caller, who, NULL, NULL, detail, FALSE, TRUE,
                    cancellable, hgd_alarms_transition_async, callback, user_data);
}

/**
 * hgd_alarms_transition_as_async:
 * @self: an #HgdAlarms
 * @reference: the alarm's reference
 * @state: the state it reached
 * @caller: what kind of caller asks
 * @who: who reports it: `plugin:<id>` or `user:<name>`
 * @who_name: (nullable): the name the identity provider gives @who (`user:oidc:<sub>`)
 * @who_issuer: (nullable): the identity provider that vouched for @who
 * @detail: (nullable): facts about the step
 * @cancellable: (nullable): a #GCancellable; a queued transition is not cancelled
 * @callback: called once the transition is on disk
 * @user_data: data for @callback
 *
 * As hgd_alarms_transition_async (), with the staff member's identity from the identity
 * provider in the step's body: `who_name` and `who_issuer` beside `who`, when given.
 * Finish with hgd_alarms_transition_as_finish ().
 */
void
hgd_alarms_transition_as_async (HgdAlarms *self,
                                const gchar *reference,
                                HgAlarmState state,
                                HgdAlarmCaller caller,
                                const gchar *who,
                                const gchar *who_name,
                                const gchar *who_issuer,
                                JsonObject *detail,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
  transition_start (self, reference, state, caller, who, who_name, who_issuer, detail, FALSE,
                    TRUE, cancellable, hgd_alarms_transition_as_async, callback, user_data);
}

/**
 * hgd_alarms_transition_finish:
 * @self: an #HgdAlarms
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: %TRUE if the alarm is in the requested state (or stays in a later one, for a
 *   late report); else %FALSE with %HGD_ALARMS_ERROR_ILLEGAL_TRANSITION (the table has no
 *   such step for the caller), %HGD_JOURNAL_ERROR_NOT_FOUND, another %HGD_JOURNAL_ERROR,
 *   or %HG_ERROR_UNAVAILABLE
 */
gboolean
hgd_alarms_transition_finish (HgdAlarms *self,
                              GAsyncResult *result,
                              GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hgd_alarms_transition_async,
                        FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * hgd_alarms_transition_as_finish:
 * @self: an #HgdAlarms
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: as hgd_alarms_transition_finish ()
 */
gboolean
hgd_alarms_transition_as_finish (HgdAlarms *self,
                                 GAsyncResult *result,
                                 GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hgd_alarms_transition_as_async,
                        FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* several steps in one transaction */

/* The steps of one hgd_alarms_transition_steps_async (): answered when the last is done. */
typedef struct
{
  GTask *task;       /* (owned) the caller's */
  GPtrArray *errors; /* (owned) (element-type GError) (nullable elements) one per step */
  guint n_pending;
} Steps;

typedef struct
{
  Steps *steps; /* (unowned) valid until its last step is done */
  guint index;
} StepEntry;

static void
error_free_nullable (gpointer error)
{
  if (error != NULL)
    g_error_free (error);
}

static void
step_done_cb (GObject *source,
              GAsyncResult *result,
              gpointer user_data)
{
  g_autofree StepEntry *entry = user_data;
  Steps *steps = entry->steps;
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_ptr_array_index (steps->errors, entry->index) = error;
  if (--steps->n_pending > 0)
    return;
  g_task_return_pointer (steps->task, g_steal_pointer (&steps->errors),
                         (GDestroyNotify) g_ptr_array_unref);
  g_object_unref (steps->task);
  g_free (steps);
}

/**
 * hgd_alarms_transition_steps_async:
 * @self: an #HgdAlarms
 * @reference: the alarm's reference
 * @n_steps: how many steps, at least 1
 * @states: (array length=n_steps): the states reached, in the order reached
 * @details: (array length=n_steps): facts about each step, or %NULL for none
 * @caller: as for hgd_alarms_transition_async ()
 * @who: as for hgd_alarms_transition_async ()
 * @cancellable: (nullable): as for hgd_alarms_transition_async ()
 * @callback: called once every step is on disk or failed
 * @user_data: data for @callback
 *
 * Several steps of one alarm that came together (a delivery plugin's `delivered` and
 * `acknowledged` from one answer of the alarm centre). Each is checked and journaled
 * exactly as by hgd_alarms_transition_async (), in the order given, against the record as
 * the step before it left it, with the same events; the events of all of them are
 * committed in one transaction, so either all of them are on disk or none is. A step
 * the life cycle refuses fails alone, and the next one is checked as if it had not been
 * asked.
 */
void
hgd_alarms_transition_steps_async (HgdAlarms *self,
                                   const gchar *reference,
                                   guint n_steps,
                                   const HgAlarmState *states,
                                   JsonObject *const *details,
                                   HgdAlarmCaller caller,
                                   const gchar *who,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data)
{
  gboolean idle;
  Steps *steps;

  g_return_if_fail (HGD_IS_ALARMS (self));
  g_return_if_fail (reference != NULL);
  g_return_if_fail (n_steps > 0 && states != NULL);
  g_return_if_fail (who != NULL);

  steps = g_new0 (Steps, 1);
  steps->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (steps->task, hgd_alarms_transition_steps_async);
  g_task_set_check_cancellable (steps->task, FALSE);
  steps->errors = g_ptr_array_new_full (n_steps, error_free_nullable);
  g_ptr_array_set_size (steps->errors, n_steps);
  steps->n_pending = n_steps;

  idle = !g_hash_table_contains (self->busy, reference);
  for (guint i = 0; i < n_steps; i++)
    {
      StepEntry *entry = g_new0 (StepEntry, 1);

      entry->steps = steps;
      entry->index = i;
      /* queued, not run: the steps go to the journal together */
      transition_start (self, reference, states[i], caller, who, NULL, NULL,
                        details != NULL ? details[i] : NULL, i > 0, FALSE, cancellable,
                        hgd_alarms_transition_steps_async, step_done_cb, entry);
    }
  if (idle)
    transition_run (self, reference);
}

/**
 * hgd_alarms_transition_steps_finish:
 * @self: an #HgdAlarms
 * @result: the #GAsyncResult
 *
 * Returns: (transfer full) (element-type GError): one entry per step, in the order
 *   given: %NULL if it succeeded, else why not, as hgd_alarms_transition_finish () says
 */
GPtrArray *
hgd_alarms_transition_steps_finish (HgdAlarms *self,
                                    GAsyncResult *result)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (
      g_task_get_source_tag (G_TASK (result)) == hgd_alarms_transition_steps_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), NULL);
}
