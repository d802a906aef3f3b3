/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdJournal: one domain's events and alarm records in one SQLite file (WAL). A worker
 * thread owns the write connection and commits what is queued in one transaction with
 * synchronous=FULL (group commit); results and "event-appended" come back on the main
 * context in sequence order. Reads use a second, read-only connection on the main thread.
 *
 * This file is the object and its API; the worker, its two lanes and the order in which
 * appends commit are in hgd-journal-writer.c, the file's creation, checks and schema in
 * hgd-journal-file.c, the reads in hgd-journal-query.c. */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <time.h>

#include "hgd-journal-internal.h"

/* A wall clock that moved this much more (or less) than the monotonic clock between two
 * appends was stepped, not slewed: NTP slews at most 500 ppm. */
#define CLOCK_STEP_MIN_USEC (2 * G_USEC_PER_SEC)
#define CLOCK_SLEW_PER_MILLE 1

G_DEFINE_QUARK (hgd-journal-error-quark, hgd_journal_error)

const HgdSqliteStore hgd_journal_store = {
  .name = "journal",
  .error_quark = hgd_journal_error_quark,
  .error_codes = {
    [HGD_SQLITE_FAULT_IO] = HGD_JOURNAL_ERROR_IO,
    [HGD_SQLITE_FAULT_DISK_FULL] = HGD_JOURNAL_ERROR_DISK_FULL,
    [HGD_SQLITE_FAULT_CORRUPT] = HGD_JOURNAL_ERROR_CORRUPT,
    [HGD_SQLITE_FAULT_CONSTRAINT] = HGD_JOURNAL_ERROR_INVALID,
  },
};

enum
{
  PROP_0,
  PROP_FAULT,
  N_PROPS
};

enum
{
  SIGNAL_EVENT_APPENDED,
  SIGNAL_ALARM_RECORDED,
  SIGNAL_TRIMMED,
  N_SIGNALS
};

static GParamSpec *props[N_PROPS] = { NULL };
static guint signals[N_SIGNALS] = { 0 };

G_DEFINE_TYPE (HgdJournal, hgd_journal, G_TYPE_OBJECT)

/* errors */

static const gchar *
fault_for_error (const GError *error)
{
  if (!g_error_matches (error, HGD_JOURNAL_ERROR, error->code))
    return NULL;
  switch (error->code)
    {
    case HGD_JOURNAL_ERROR_DISK_FULL:
      return "disk-full";
    case HGD_JOURNAL_ERROR_IO:
      return "io-error";
    case HGD_JOURNAL_ERROR_CORRUPT:
      return "corrupt";
    default:
      return NULL;
    }
}

/* completion on the main context */

static void
journal_set_fault (HgdJournal *self,
                   const gchar *fault)
{
  if (g_strcmp0 (self->fault, fault) == 0)
    return;
  if (fault != NULL)
    g_warning ("journal %s: refusing new events (%s)", self->path, fault);
  else
    g_message ("journal %s: accepting events again after %s", self->path, self->fault);
  self->fault = fault;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_FAULT]);
}

static void
journal_complete_append (HgdJournal *self,
                         Job *job)
{
  g_autoptr(GTask) task = g_steal_pointer (&job->task);
  HgEvent *event = g_task_get_task_data (task);

  if (job->error != NULL)
    {
      const gchar *fault = fault_for_error (job->error);

      if (fault != NULL)
        journal_set_fault (self, fault);
      g_task_return_error (task, g_steal_pointer (&job->error));
      return;
    }
  if (job->access != NULL)
    {
      /* not an event: nothing is announced */
      journal_set_fault (self, NULL);
      g_task_return_pointer (task, g_steal_pointer (&job->access),
                             (GDestroyNotify) hgd_access_entry_free);
      return;
    }

  hg_event_set_seq (event, job->seq);
  hg_event_set_domain (event, self->domain);
  hg_event_set_timestamp (event, job->ts);
  self->last_seq = MAX (self->last_seq, job->seq);
  journal_set_fault (self, NULL);
  g_signal_emit (self, signals[SIGNAL_EVENT_APPENDED], 0, event);
  if (job->record != NULL)
    g_signal_emit (self, signals[SIGNAL_ALARM_RECORDED], 0, event, job->record);
  g_task_return_boolean (task, TRUE);
}

static void
journal_complete_prune (HgdJournal *self,
                        Job *job)
{
  g_autoptr(GTask) task = g_steal_pointer (&job->task);

  if (job->error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&job->error));
      return;
    }
  g_task_return_int (task, job->n_removed);
}

static void
journal_complete_trim (HgdJournal *self,
                       Job *job)
{
  if (job->error != NULL)
    g_warning ("journal %s: cannot keep to the size budget: %s", self->path, job->error->message);
  else if (job->n_removed > 0)
    g_message ("journal %s: removed the %u oldest events that belong to no alarm, to keep "
               "within its size budget",
               self->path, job->n_removed);
  g_signal_emit (self, signals[SIGNAL_TRIMMED], 0, job->n_removed);
}

static void
journal_complete_flush (HgdJournal *self,
                        Job *job)
{
  g_autoptr(GTask) task = g_steal_pointer (&job->task);

  g_task_return_boolean (task, TRUE);
}

static gboolean
journal_dispatch_cb (gpointer user_data)
{
  /* a completion callback may drop the last other reference */
  g_autoptr(HgdJournal) self = g_object_ref (HGD_JOURNAL (user_data));
  GQueue done = G_QUEUE_INIT;
  Job *job;

  g_source_set_ready_time (self->worker->dispatch, -1);
  g_mutex_lock (&self->worker->lock);
  done = self->worker->done;
  g_queue_init (&self->worker->done);
  g_mutex_unlock (&self->worker->lock);

  while ((job = g_queue_pop_head (&done)) != NULL)
    {
      g_autoptr(Job) owned = job;

      if (job->kind == JOB_APPEND)
        journal_complete_append (self, job);
      else if (job->kind == JOB_PRUNE)
        journal_complete_prune (self, job);
      else if (job->kind == JOB_TRIM)
        journal_complete_trim (self, job);
      else if (job->kind == JOB_SYNC && job->task != NULL)
        journal_complete_flush (self, job);
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
dispatch_source_dispatch (GSource *source,
                          GSourceFunc callback,
                          gpointer user_data)
{
  return callback (user_data);
}

static GSourceFuncs dispatch_source_funcs = {
  .dispatch = dispatch_source_dispatch,
};

/* GObject */

static void
hgd_journal_get_property (GObject *object,
                          guint prop_id,
                          GValue *value,
                          GParamSpec *pspec)
{
  HgdJournal *self = HGD_JOURNAL (object);

  switch (prop_id)
    {
    case PROP_FAULT:
      g_value_set_string (value, self->fault);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hgd_journal_finalize (GObject *object)
{
  HgdJournal *self = HGD_JOURNAL (object);

  /* the reader first, so that the writer is the last connection and checkpoints the WAL */
  for (guint i = 0; i < G_N_ELEMENTS (self->used_stmt); i++)
    g_clear_pointer (&self->used_stmt[i], sqlite3_finalize);
  g_clear_pointer (&self->state_count_stmt, sqlite3_finalize);
  g_clear_pointer (&self->alarm_stmt, sqlite3_finalize);
  g_clear_pointer (&self->reader, sqlite3_close_v2);
  /* never set here: a queued append's task holds a reference to the journal */
  g_clear_pointer (&self->group, hgd_journal_job_free);
  g_clear_pointer (&self->worker, hgd_journal_worker_free);
  if (self->hold != NULL)
    {
      g_mutex_clear (&self->hold->lock);
      g_cond_clear (&self->hold->cond);
      g_free (self->hold);
    }
  g_main_context_unref (self->context);
  g_hash_table_unref (self->retention);
  g_free (self->path);
  G_OBJECT_CLASS (hgd_journal_parent_class)->finalize (object);
}

static void
hgd_journal_class_init (HgdJournalClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = hgd_journal_get_property;
  object_class->finalize = hgd_journal_finalize;

  /**
   * HgdJournal:fault:
   *
   * Why new events are refused (`disk-full`, `io-error`, `corrupt`), or %NULL when the
   * last append succeeded.
   */
  props[PROP_FAULT] = g_param_spec_string ("fault", NULL, NULL, NULL,
                                           G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                                             G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  /**
   * HgdJournal::event-appended:
   * @self: the journal
   * @event: the event, stamped with its sequence number, domain and time
   *
   * Emitted on the main context for every event once it is committed, in sequence order.
   */
  signals[SIGNAL_EVENT_APPENDED] = g_signal_new ("event-appended", G_TYPE_FROM_CLASS (klass),
                                                 G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                                 g_cclosure_marshal_VOID__OBJECT, G_TYPE_NONE, 1,
                                                 HG_TYPE_EVENT);

  /**
   * HgdJournal::alarm-recorded:
   * @self: the journal
   * @event: the event, as #HgdJournal::event-appended gave it just before
   * @record: the alarm's record as this append left it, with when it was raised and
   *   this event's time as when it last changed
   *
   * Emitted right after #HgdJournal::event-appended for an event appended with an alarm
   * record, so that what follows the record needs no read of it. @record is a copy made
   * when the append was queued: its `detail` is shared, and must not be changed.
   */
  signals[SIGNAL_ALARM_RECORDED] = g_signal_new ("alarm-recorded", G_TYPE_FROM_CLASS (klass),
                                                 G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                 G_TYPE_NONE, 2, HG_TYPE_EVENT, HG_TYPE_ALARM);

  /**
   * HgdJournal::trimmed:
   * @journal: the journal
   * @n_removed: how many events were removed
   *
   * Emitted when the journal has gone below its size budget's trim target again (see
   * hgd_journal_set_size_budget()), or found nothing more it may remove.
   */
  signals[SIGNAL_TRIMMED] = g_signal_new ("trimmed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, g_cclosure_marshal_VOID__UINT,
                                          G_TYPE_NONE, 1, G_TYPE_UINT);
}

static void
hgd_journal_init (HgdJournal *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->retention = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/**
 * hgd_journal_new:
 * @domain: whose journal it is
 * @directory: the domain's state directory; created with mode 0700 if missing
 * @error: return location for a #GError
 *
 * Opens `<directory>/journal.db`, creating it (mode 0600) if missing, checks its integrity
 * and schema, and starts its worker thread. A journal that is there but empty, a WAL
 * without its database, or a journal killed before it was closed whose WAL is gone is
 * %HGD_JOURNAL_ERROR_CORRUPT: such a file is left as it is, never replaced (see
 * hgd_journal_set_aside ()). Completions and signals are delivered on the
 * thread-default main context of the caller, which must also make all other calls.
 *
 * Returns: (transfer full): the journal, or %NULL with %HGD_JOURNAL_ERROR_CORRUPT when the
 *   file is not a usable journal, or %HGD_JOURNAL_ERROR_IO
 */
HgdJournal *
hgd_journal_new (HgDomain domain,
                 const gchar *directory,
                 GError **error)
{
  g_autoptr(HgdJournal) self = NULL;
  gboolean exists = FALSE;
  gboolean had_wal = FALSE;

  g_return_val_if_fail ((guint) domain < HG_DOMAIN_LAST, NULL);
  g_return_val_if_fail (directory != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (HGD_TYPE_JOURNAL, NULL);
  self->domain = domain;
  self->path = g_build_filename (directory, "journal.db", NULL);

  if (!hgd_sqlite_ensure_directory (&hgd_journal_store, directory, error)
      || !hgd_journal_file_check (self->path, &exists, &had_wal, error))
    return NULL;
  if (!exists && !hgd_journal_file_create (self->path, domain, error))
    return NULL;
  if (!hgd_sqlite_ensure_mode (&hgd_journal_store, self->path, 0600, error))
    return NULL;
  self->worker = hgd_journal_worker_open (self->path, domain, had_wal, error);
  if (self->worker == NULL)
    return NULL;
  if (!hgd_journal_file_open_reader (self, error)
      || !hgd_journal_file_ensure_private (self->path, error))
    return NULL;

  self->worker->dispatch = g_source_new (&dispatch_source_funcs, sizeof (GSource));
  g_source_set_static_name (self->worker->dispatch, "[hemgated] journal completions");
  g_source_set_callback (self->worker->dispatch, journal_dispatch_cb, self, NULL);
  g_source_set_ready_time (self->worker->dispatch, -1);
  g_source_attach (self->worker->dispatch, self->context);

  self->worker->thread
      = g_thread_try_new ("hgd-journal", hgd_journal_worker_thread, self->worker, error);
  if (self->worker->thread == NULL)
    {
      g_prefix_error (error, "journal %s: cannot start the writer: ", self->path);
      return NULL;
    }
  g_debug ("journal %s: open for the %s domain at seq %" G_GUINT64_FORMAT, self->path,
           hg_domain_to_string (domain), self->last_seq);
  return g_steal_pointer (&self);
}

HgDomain
hgd_journal_get_domain (HgdJournal *self)
{
  g_return_val_if_fail (HGD_IS_JOURNAL (self), HG_DOMAIN_MUNICIPAL);
  return self->domain;
}

const gchar *
hgd_journal_get_path (HgdJournal *self)
{
  g_return_val_if_fail (HGD_IS_JOURNAL (self), NULL);
  return self->path;
}

/**
 * hgd_journal_get_last_seq:
 * @self: an #HgdJournal
 *
 * Returns: the sequence number of the last event announced by #HgdJournal::event-appended
 *   (or committed before the journal was opened), 0 if there is none
 */
guint64
hgd_journal_get_last_seq (HgdJournal *self)
{
  g_return_val_if_fail (HGD_IS_JOURNAL (self), 0);
  return self->last_seq;
}

/**
 * hgd_journal_get_fault:
 * @self: an #HgdJournal
 *
 * Returns: (nullable): `disk-full`, `io-error` or `corrupt` while appends fail, %NULL once
 *   one succeeds again
 */
const gchar *
hgd_journal_get_fault (HgdJournal *self)
{
  g_return_val_if_fail (HGD_IS_JOURNAL (self), NULL);
  return self->fault;
}

/* appending */

/* Queues the group of appends made since hgd_journal_begin_group (), if any. */
static void
journal_push_group (HgdJournal *self)
{
  if (self->group != NULL)
    hgd_journal_worker_push (self->worker, g_steal_pointer (&self->group));
}

/* Queues @job, after the group being gathered: the worker sees the jobs in the order made. */
static void
journal_push (HgdJournal *self,
              Job *job)
{
  journal_push_group (self);
  hgd_journal_worker_push (self->worker, job);
}

/* Queues an append, or adds it to the group being gathered. A group is of one lane: an
 * append of the other lane queues the group so far and starts the next one, so that
 * nothing commits before an append made earlier in its lane. */
static void
journal_push_append (HgdJournal *self,
                     Job *job)
{
  if (self->grouping == 0)
    {
      journal_push (self, job);
      return;
    }
  if (self->group != NULL
      && hgd_journal_job_is_alarm_class (self->group) != hgd_journal_job_is_alarm_class (job))
    journal_push_group (self);
  if (self->group == NULL)
    {
      self->group = job;
      return;
    }
  if (self->group->joined == NULL)
    self->group->joined = g_ptr_array_new_with_free_func ((GDestroyNotify) hgd_journal_job_free);
  g_ptr_array_add (self->group->joined, job);
}

/**
 * hgd_journal_begin_group:
 * @self: an #HgdJournal
 *
 * The appends made from now until hgd_journal_end_group () (hgd_journal_append_async (),
 * hgd_journal_append_keyed_async ()) are committed in one transaction, all or none of
 * them, in the order made; each still completes on its own, with its own sequence number
 * and #HgdJournal::event-appended, in sequence order. A group is of one lane: appends of
 * both lanes make one group per run of the same lane. Any other call that queues work
 * (an access-log entry, a prune, a sync, ...) queues the group so far first. A group
 * begun inside another (by a callback that runs meanwhile) joins it: the outermost end
 * queues it.
 */
void
hgd_journal_begin_group (HgdJournal *self)
{
  g_return_if_fail (HGD_IS_JOURNAL (self));
  self->grouping++;
}

/**
 * hgd_journal_end_group:
 * @self: an #HgdJournal
 *
 * Ends what hgd_journal_begin_group () began and queues the group.
 */
void
hgd_journal_end_group (HgdJournal *self)
{
  g_return_if_fail (HGD_IS_JOURNAL (self));
  g_return_if_fail (self->grouping > 0);
  if (--self->grouping == 0)
    journal_push_group (self);
}

static void
clock_step_appended_cb (GObject *source,
                        GAsyncResult *result,
                        gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!hgd_journal_append_finish (HGD_JOURNAL (source), result, &error))
    g_warning ("clock.stepped not journaled: %s", error->message);
}

/* The time since boot, suspend included (unlike g_get_monotonic_time ()): a gateway that
 * slept is not taken for one whose clock was stepped. */
static gint64
get_boot_time (void)
{
  struct timespec ts;

  if (clock_gettime (CLOCK_BOOTTIME, &ts) != 0)
    return g_get_monotonic_time ();
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static gchar *
format_time (gint64 usec)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);
  g_autoptr(GDateTime) exact = time != NULL ? g_date_time_add (time, usec % G_USEC_PER_SEC) : NULL;

  return exact != NULL ? g_date_time_format_iso8601 (exact) : g_strdup ("");
}

/* Events are stamped with the wall clock and ordered by their sequence number. When the
 * wall clock was stepped (by an operator, or NTP after a long time without) since the
 * last event, a clock.stepped event goes before the next one, saying from which time to
 * which, so that a reader of the journal knows why times go backwards (or jump) while
 * the sequence numbers go on. It goes in the alarm lane, ahead of what is queued. */
static void
journal_check_clock (HgdJournal *self,
                     gint64 now)
{
  gint64 monotonic = get_boot_time ();
  gint64 elapsed = monotonic - self->clock_monotonic;
  gint64 expected = self->clock_wall + elapsed;
  gint64 step = now - expected;
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(HgEvent) event = NULL;
  g_autofree gchar *from = NULL;
  g_autofree gchar *to = NULL;
  g_autoptr(GTask) task = NULL;
  Job *job;

  if (self->clock_monotonic == 0 ||
      ABS (step) <= CLOCK_STEP_MIN_USEC + elapsed / 1000 * CLOCK_SLEW_PER_MILLE)
    {
      self->clock_wall = now;
      self->clock_monotonic = monotonic;
      return;
    }
  self->clock_wall = now;
  self->clock_monotonic = monotonic;

  from = format_time (expected);
  to = format_time (now);
  g_warning ("journal %s: the wall clock was stepped by %+.3f s, from %s to %s", self->path,
             (gdouble) step / G_USEC_PER_SEC, from, to);
  body = json_object_new ();
  json_object_set_string_member (body, "from", from);
  json_object_set_string_member (body, "to", to);
  json_object_set_double_member (body, "step", (gdouble) step / G_USEC_PER_SEC);
  event = hg_event_new ("clock.stepped", body);
  hg_event_set_source (event, "core");

  task = g_task_new (self, NULL, clock_step_appended_cb, NULL);
  g_task_set_source_tag (task, hgd_journal_append_async);
  g_task_set_task_data (task, g_object_ref (event), g_object_unref);
  job = hgd_journal_job_new (JOB_APPEND);
  job->urgent = TRUE;
  job->type = g_strdup ("clock.stepped");
  job->ts = now;
  job->source = g_strdup ("core");
  job->body = hg_json_object_to_string (body);
  job->task = g_steal_pointer (&task);
  journal_push_append (self, job);
}

/* A copy of @alarm as an append at @ts leaves its record, for "alarm-recorded". */
static HgAlarm *
journal_record_new (HgAlarm *alarm,
                    gboolean is_new,
                    gint64 ts)
{
  HgAlarm *record = hg_alarm_new (hg_alarm_get_alarm_type (alarm));
  gint64 raised = hg_alarm_get_raised_time (alarm);

  hg_alarm_set_reference (record, hg_alarm_get_reference (alarm));
  hg_alarm_set_state (record, hg_alarm_get_state (alarm));
  hg_alarm_set_source (record, hg_alarm_get_source (alarm));
  hg_alarm_set_device (record, hg_alarm_get_device (alarm));
  hg_alarm_set_location (record, hg_alarm_get_location (alarm));
  hg_alarm_set_priority (record, hg_alarm_get_priority (alarm));
  hg_alarm_set_detail (record, hg_alarm_get_detail (alarm));
  hg_alarm_set_times (record, is_new || raised == 0 ? ts : raised, ts);
  return record;
}

/**
 * hgd_journal_append_async:
 * @self: an #HgdJournal
 * @event: a new event (sequence number 0); its source must be set by the caller
 * @alarm: (nullable): an alarm to record in the same transaction: inserted if its state
 *   is raised (its reference must be new), else its record is updated
 * @cancellable: (nullable): checked before queueing only: a queued append may already be
 *   on disk, so it always runs to its end
 * @callback: called on the caller's main context once the event is on disk (fsync)
 * @user_data: data for @callback
 *
 * Queues @event for the worker, which commits what is queued in its lane in one
 * transaction. With @alarm the append is alarm-class: it goes ahead of the ordinary
 * appends queued before it, in a transaction of its own (see the ordering rule at the
 * top of this file). On success the event is stamped with its sequence number, domain
 * and time (now if its timestamp is 0), then #HgdJournal::event-appended is emitted
 * (and #HgdJournal::alarm-recorded, with @alarm), then @callback runs. If the wall clock was stepped since the last event stamped now, a
 * `clock.stepped` event {"from", "to", "step"} (source `core`) is journaled before
 * @event: times may go backwards at a step, sequence numbers never do.
 */
void
hgd_journal_append_async (HgdJournal *self,
                          HgEvent *event,
                          HgAlarm *alarm,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  hgd_journal_append_keyed_async (self, event, alarm, NULL, NULL, NULL, cancellable, callback,
                                  user_data);
}

/**
 * hgd_journal_append_keyed_async:
 * @self: an #HgdJournal
 * @event: as for hgd_journal_append_async()
 * @alarm: (nullable): as for hgd_journal_append_async()
 * @scope: (nullable): who sent @key, e.g. `user:<name>`; keys of different scopes are apart
 * @key: (nullable): an idempotency key to record with a raised @alarm, in the same
 *   transaction; if a key of @scope that has not expired is already recorded, the append
 *   fails with %HGD_JOURNAL_ERROR_INVALID and nothing is written
 * @fingerprint: (nullable): what the request asked, to tell a retry from a reuse
 * @cancellable: (nullable): as for hgd_journal_append_async()
 * @callback: as for hgd_journal_append_async()
 * @user_data: data for @callback
 *
 * As hgd_journal_append_async(), recording @key for %HGD_JOURNAL_IDEMPOTENCY_KEY_LIFETIME
 * (see hgd_journal_lookup_idempotency_key()).
 */
void
hgd_journal_append_keyed_async (HgdJournal *self,
                                HgEvent *event,
                                HgAlarm *alarm,
                                const gchar *scope,
                                const gchar *key,
                                const gchar *fingerprint,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  Job *job;

  g_return_if_fail (HGD_IS_JOURNAL (self));
  g_return_if_fail (key == NULL || (scope != NULL && fingerprint != NULL));
  g_return_if_fail (key == NULL ||
                    (alarm != NULL && hg_alarm_get_state (alarm) == HG_ALARM_STATE_RAISED));
  g_return_if_fail (HG_IS_EVENT (event));
  g_return_if_fail (hg_event_get_seq (event) == 0);
  g_return_if_fail (alarm == NULL || HG_IS_ALARM (alarm));
  g_return_if_fail (alarm == NULL || hg_alarm_get_reference (alarm) != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hgd_journal_append_async);
  g_task_set_task_data (task, g_object_ref (event), g_object_unref);
  g_task_set_check_cancellable (task, FALSE);
  if (g_cancellable_set_error_if_cancelled (cancellable, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (hg_event_get_timestamp (event) == 0)
    journal_check_clock (self, g_get_real_time ());

  job = hgd_journal_job_new (JOB_APPEND);
  job->type = g_strdup (hg_event_get_event_type (event));
  job->ts = hg_event_get_timestamp (event) != 0 ? hg_event_get_timestamp (event) : self->clock_wall;
  job->source = g_strdup (hg_event_get_source (event));
  job->body = hg_json_object_to_string (hg_event_get_body (event));
  if (alarm != NULL)
    {
      job->alarm = hgd_journal_alarm_row_new (alarm, job->type);
      job->record = journal_record_new (alarm, job->alarm->is_new, job->ts);
    }
  if (key != NULL)
    {
      job->key = g_new0 (IdempotencyRow, 1);
      job->key->scope = g_strdup (scope);
      job->key->key = g_strdup (key);
      job->key->fingerprint = g_strdup (fingerprint);
    }
  job->task = g_steal_pointer (&task);
  journal_push_append (self, job);
}

/**
 * hgd_journal_append_finish:
 * @self: an #HgdJournal
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: %TRUE if the event (and alarm record) is on disk; else %FALSE with
 *   %HGD_JOURNAL_ERROR_DISK_FULL, %HGD_JOURNAL_ERROR_IO, %HGD_JOURNAL_ERROR_NOT_FOUND (no
 *   record to update) or %HGD_JOURNAL_ERROR_INVALID (the alarm reference exists already)
 */
gboolean
hgd_journal_append_finish (HgdJournal *self,
                           GAsyncResult *result,
                           GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hgd_journal_append_async, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * hgd_journal_append_keyed_finish:
 * @self: an #HgdJournal
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: as hgd_journal_append_finish(); %HGD_JOURNAL_ERROR_INVALID also when the key is
 *   recorded already
 */
gboolean
hgd_journal_append_keyed_finish (HgdJournal *self,
                                 GAsyncResult *result,
                                 GError **error)
{
  return hgd_journal_append_finish (self, result, error);
}

/* the access log */

/**
 * hgd_journal_append_access_async:
 * @self: an #HgdJournal
 * @entry: (transfer full): an entry of @self's domain, not yet chained
 * @cancellable: (nullable): a #GCancellable
 * @callback: called on the caller's main context once the entry is on disk
 * @user_data: data for @callback
 *
 * Appends @entry to the access log in @self's file, in the ordinary lane. The worker
 * stamps it with the time and chains it to the last entry (seq, prev_hash, hash) in the
 * transaction that writes it. Nothing is announced by #HgdJournal::event-appended, and
 * neither retention nor the size budget ever removes an entry.
 */
void
hgd_journal_append_access_async (HgdJournal *self,
                                 HgdAccessEntry *entry,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  Job *job;

  g_return_if_fail (HGD_IS_JOURNAL (self));
  g_return_if_fail (entry != NULL && entry->domain == self->domain);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hgd_journal_append_access_async);
  g_task_set_check_cancellable (task, FALSE);
  journal_check_clock (self, g_get_real_time ());
  job = hgd_journal_job_new (JOB_APPEND);
  job->type = g_strdup (entry->action);
  job->ts = self->clock_wall;
  job->access = entry;
  job->task = g_steal_pointer (&task);
  journal_push (self, job);
}

/**
 * hgd_journal_append_access_finish:
 * @self: an #HgdJournal
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the entry as stored, chained, or %NULL with the error of
 *   hgd_journal_append_finish()
 */
HgdAccessEntry *
hgd_journal_append_access_finish (HgdJournal *self,
                                  GAsyncResult *result,
                                  GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hgd_journal_append_access_async,
                        NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * hgd_journal_sync:
 * @self: an #HgdJournal
 *
 * Blocks until everything appended in the ordinary lane before it is committed, so that
 * the reads that follow see it; its completions still come on the main context later.
 */
void
hgd_journal_sync (HgdJournal *self)
{
  g_autoptr(Job) job = hgd_journal_job_new (JOB_SYNC);

  g_return_if_fail (HGD_IS_JOURNAL (self));
  journal_push_group (self);
  hgd_journal_worker_run_sync (self->worker, job);
}

/**
 * hgd_journal_flush_async:
 * @self: an #HgdJournal
 * @callback: called on the caller's main context when done
 * @user_data: data for @callback
 *
 * Completes once everything appended before it (in either lane) is committed and the
 * completion callbacks of those appends have run, so that nothing queued before it still
 * holds a reference to @self afterwards. For a clean stop.
 */
void
hgd_journal_flush_async (HgdJournal *self,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  Job *job;

  g_return_if_fail (HGD_IS_JOURNAL (self));

  /* the alarm lane goes first, so a barrier in the ordinary lane comes after both; the
   * completions are dispatched in the order the worker finished the jobs */
  job = hgd_journal_job_new (JOB_SYNC);
  job->task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (job->task, hgd_journal_flush_async);
  journal_push (self, job);
}

gboolean
hgd_journal_flush_finish (HgdJournal *self,
                          GAsyncResult *result,
                          GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hgd_journal_flush_async, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* the size budget */

/**
 * hgd_journal_set_size_budget:
 * @self: an #HgdJournal
 * @bytes: the most the journal should hold, or 0 for no budget
 *
 * Past 70 % of @bytes, the oldest sensor readings, then the oldest other events that
 * belong to no alarm, are removed until the journal is down to 60 %; an alarm's events,
 * open or closed, never are. Checked after each commit.
 */
void
hgd_journal_set_size_budget (HgdJournal *self,
                             guint64 bytes)
{
  g_return_if_fail (HGD_IS_JOURNAL (self));

  g_mutex_lock (&self->worker->jobs_lock);
  self->worker->budget = (gint64) MIN (bytes, (guint64) G_MAXINT64 / 100);
  g_mutex_unlock (&self->worker->jobs_lock);
}

/**
 * hgd_journal_get_size_budget:
 * @self: an #HgdJournal
 *
 * Returns: the budget in bytes, 0 if there is none
 */
guint64
hgd_journal_get_size_budget (HgdJournal *self)
{
  g_return_val_if_fail (HGD_IS_JOURNAL (self), 0);
  return (guint64) hgd_journal_worker_get_budget (self->worker);
}

/**
 * hgd_journal_get_used_size:
 * @self: an #HgdJournal
 * @used: (out): the bytes its pages hold, as last committed
 * @error: return location for a #GError
 *
 * Returns: %TRUE, or %FALSE if the journal could not be read
 */
gboolean
hgd_journal_get_used_size (HgdJournal *self,
                           guint64 *used,
                           GError **error)
{
  gint64 bytes = 0;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), FALSE);
  g_return_val_if_fail (used != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!hgd_journal_reader_get_used_bytes (self, &bytes, error))
    return FALSE;
  *used = (guint64) bytes;
  return TRUE;
}

/**
 * hgd_journal_get_used_size_bound:
 * @self: an #HgdJournal
 *
 * An upper bound of hgd_journal_get_used_size() without asking SQLite: the size of the
 * database file and of its write-ahead log together (each page beyond the file's end is
 * at least one WAL frame of a page and its header). Two stat() calls, where the exact
 * figure is several read transactions.
 *
 * Returns: the bound in bytes, or %G_MAXUINT64 if a file could not be read
 */
guint64
hgd_journal_get_used_size_bound (HgdJournal *self)
{
  g_autofree gchar *wal = NULL;
  GStatBuf st;
  guint64 bound;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), G_MAXUINT64);
  if (g_stat (self->path, &st) != 0)
    return G_MAXUINT64;
  bound = (guint64) st.st_size;
  wal = g_strconcat (self->path, "-wal", NULL);
  if (g_stat (wal, &st) == 0)
    bound += (guint64) st.st_size;
  else if (errno != ENOENT)
    return G_MAXUINT64;
  return bound;
}

/* retention */

/**
 * hgd_journal_set_retention:
 * @self: an #HgdJournal
 * @type_prefix: an event type (`sensor.reading`), a prefix ending in a dot (`sensor.`),
 *   or the empty string for every type
 * @days: how long events it matches are kept; 0 keeps them for ever
 *
 * The rule with the longest matching prefix decides an event's retention; events no rule
 * matches are kept. Events of alarms that are still open are always kept.
 */
void
hgd_journal_set_retention (HgdJournal *self,
                           const gchar *type_prefix,
                           guint days)
{
  g_return_if_fail (HGD_IS_JOURNAL (self));
  g_return_if_fail (type_prefix != NULL);
  g_hash_table_replace (self->retention, g_strdup (type_prefix), GUINT_TO_POINTER (days));
}

static Job *
prune_job_new (HgdJournal *self,
               gint64 now)
{
  Job *job = hgd_journal_job_new (JOB_PRUNE);
  GHashTableIter iter;
  gpointer key;
  gpointer value;

  /* the worker gets its own copy of the rules */
  job->now = now;
  job->rules = g_ptr_array_new_with_free_func ((GDestroyNotify) hgd_journal_retention_rule_free);
  g_hash_table_iter_init (&iter, self->retention);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      RetentionRule *rule = g_new0 (RetentionRule, 1);
      rule->prefix = g_strdup (key);
      rule->days = GPOINTER_TO_UINT (value);
      g_ptr_array_add (job->rules, rule);
    }
  return job;
}

/**
 * hgd_journal_prune:
 * @self: an #HgdJournal
 * @now: the current time in microseconds since the epoch, e.g. g_get_real_time()
 * @n_removed: (out) (optional): how many events were deleted
 * @error: return location for a #GError
 *
 * Deletes the events past their retention (see hgd_journal_set_retention()) and the
 * records of closed alarms none of whose events remain. Runs on the worker after the
 * appends queued before it, and blocks until it is done; see hgd_journal_prune_async().
 *
 * Returns: %TRUE on success
 */
gboolean
hgd_journal_prune (HgdJournal *self,
                   gint64 now,
                   guint *n_removed,
                   GError **error)
{
  g_autoptr(Job) job = NULL;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  job = prune_job_new (self, now);
  journal_push_group (self);
  hgd_journal_worker_run_sync (self->worker, job);
  if (job->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&job->error));
      return FALSE;
    }
  if (n_removed != NULL)
    *n_removed = job->n_removed;
  return TRUE;
}

/**
 * hgd_journal_erase:
 * @self: an #HgdJournal
 * @error: return location for a #GError
 *
 * Erases the journal in place: every event, alarm record and idempotency key is deleted,
 * the file rebuilt (VACUUM) and its WAL emptied, so that nothing erased stays on disk in
 * the journal's files. The journal stays open and usable, and its sequence numbers go on
 * from where they were (they are never reused). Runs on the worker after the appends
 * queued before it, and blocks until it is done: the rebuild takes as long as copying
 * what is left, which is little. The personal domain's erasure uses it.
 *
 * Returns: %TRUE on success
 */
gboolean
hgd_journal_erase (HgdJournal *self,
                   GError **error)
{
  g_autoptr(Job) job = NULL;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  job = hgd_journal_job_new (JOB_ERASE);
  journal_push_group (self);
  hgd_journal_worker_run_sync (self->worker, job);
  if (job->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&job->error));
      return FALSE;
    }
  return TRUE;
}

/**
 * hgd_journal_prune_async:
 * @self: an #HgdJournal
 * @now: the current time in microseconds since the epoch
 * @cancellable: (nullable): checked before queueing only
 * @callback: called on the caller's main context when done
 * @user_data: data for @callback
 *
 * As hgd_journal_prune(), without blocking the caller.
 */
void
hgd_journal_prune_async (HgdJournal *self,
                         gint64 now,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  Job *job;

  g_return_if_fail (HGD_IS_JOURNAL (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hgd_journal_prune_async);
  g_task_set_check_cancellable (task, FALSE);
  if (g_cancellable_set_error_if_cancelled (cancellable, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  job = prune_job_new (self, now);
  job->task = g_steal_pointer (&task);
  journal_push (self, job);
}

/**
 * hgd_journal_prune_finish:
 * @self: an #HgdJournal
 * @result: the #GAsyncResult
 * @n_removed: (out) (optional): how many events were deleted
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
hgd_journal_prune_finish (HgdJournal *self,
                          GAsyncResult *result,
                          guint *n_removed,
                          GError **error)
{
  gssize n;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hgd_journal_prune_async, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  n = g_task_propagate_int (G_TASK (result), error);
  if (n < 0)
    return FALSE;
  if (n_removed != NULL)
    *n_removed = (guint) n;
  return TRUE;
}

/* for tests */

void
hgd_journal_cap_size_for_test (HgdJournal *self,
                               gint64 extra_pages)
{
  g_autoptr(Job) job = hgd_journal_job_new (JOB_CAP_SIZE);

  g_return_if_fail (HGD_IS_JOURNAL (self));

  job->extra_pages = extra_pages;
  journal_push_group (self);
  hgd_journal_worker_run_sync (self->worker, job);
  if (job->error != NULL)
    g_critical ("%s", job->error->message);
}

void
hgd_journal_hold_for_test (HgdJournal *self)
{
  Waiter held = { 0 };
  Job *job = hgd_journal_job_new (JOB_HOLD);

  g_return_if_fail (HGD_IS_JOURNAL (self));
  g_return_if_fail (self->hold == NULL);

  self->hold = g_new0 (Waiter, 1);
  g_mutex_init (&self->hold->lock);
  g_cond_init (&self->hold->cond);
  g_mutex_init (&held.lock);
  g_cond_init (&held.cond);
  job->waiter = &held;
  job->release = self->hold;
  journal_push (self, job);
  hgd_journal_waiter_wait (&held);
  g_mutex_clear (&held.lock);
  g_cond_clear (&held.cond);
}

void
hgd_journal_release_for_test (HgdJournal *self)
{
  g_return_if_fail (HGD_IS_JOURNAL (self));
  g_return_if_fail (self->hold != NULL);

  hgd_journal_waiter_signal (self->hold);
}
