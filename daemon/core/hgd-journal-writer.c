/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The worker thread of HgdJournal: it owns the write connection and commits what is
 * queued in one transaction with synchronous=FULL (group commit), then hands the finished
 * jobs back to the main context (hgd-journal.c).
 *
 * The queue has two lanes. Alarm-class appends (an event with an alarm record: raised,
 * and every later state) go in the alarm lane, everything else (readings, plugin events,
 * prune) in the ordinary lane. The worker always takes the alarm lane first and commits
 * its appends in a transaction of their own, never batched with readings; an ordinary
 * batch still being written when an alarm arrives is rolled back and written again after
 * it (once: the next ordinary batch is then committed whatever arrives). So an alarm
 * waits for at most one commit already in progress, not for the readings queued ahead
 * of it.
 *
 * The ordering rule: sequence numbers are strictly increasing in commit order, and every
 * completion and "event-appended" comes in sequence order. Within a lane, appends commit
 * in the order they were made; across lanes, an alarm-class append may commit (and so
 * get a lower sequence number) before ordinary appends made earlier. Nothing commits
 * before an append made earlier in its own lane. */
#include "config.h"

#include "hgd-journal-internal.h"

/* At most this many appends share one transaction, to bound latency and memory. */
#define MAX_BATCH 4096

/* The size budget (hgd_journal_set_size_budget()): past TRIM_START percent of it, the
 * worker removes the oldest events that belong to no alarm, TRIM_CHUNK per transaction,
 * until the journal is down to TRIM_TARGET percent or nothing removable is left. Health
 * warns at HGD_JOURNAL_SIZE_WARNING_PERCENT, which only what retention may not remove
 * can reach. */
#define TRIM_START 70
#define TRIM_TARGET 60
#define TRIM_CHUNK 2000

#define USEC_PER_DAY ((gint64) 86400 * G_USEC_PER_SEC)

/* A cached statement in use: reset and unbound when the scope ends. */
typedef sqlite3_stmt StatementUse;

static void
statement_use_release (StatementUse *stmt)
{
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StatementUse, statement_use_release)

/* jobs */

static void
alarm_row_free (AlarmRow *row)
{
  g_free (row->ref);
  g_free (row->type);
  g_free (row->source);
  g_free (row->device);
  g_free (row->location);
  g_free (row->detail);
  g_free (row);
}

AlarmRow *
hgd_journal_alarm_row_new (HgAlarm *alarm, const gchar *event_type)
{
  AlarmRow *row = g_new0 (AlarmRow, 1);
  JsonObject *detail = hg_alarm_get_detail (alarm);

  row->ref = g_strdup (hg_alarm_get_reference (alarm));
  row->type = g_strdup (hg_alarm_get_alarm_type (alarm));
  row->state = hg_alarm_state_to_string (hg_alarm_get_state (alarm));
  row->source = g_strdup (hg_alarm_get_source (alarm));
  row->device = g_strdup (hg_alarm_get_device (alarm));
  row->location = g_strdup (hg_alarm_get_location (alarm));
  row->priority = hg_alarm_get_priority (alarm);
  row->detail = detail != NULL ? hg_json_object_to_string (detail) : NULL;
  /* a raised alarm's record may change too (alarm.updated, hgd-alarms.c) */
  row->is_new = hg_alarm_get_state (alarm) == HG_ALARM_STATE_RAISED
                && g_strcmp0 (event_type, "alarm.raised") == 0;
  return row;
}

static void
idempotency_row_free (IdempotencyRow *row)
{
  g_free (row->scope);
  g_free (row->key);
  g_free (row->fingerprint);
  g_free (row);
}

void
hgd_journal_retention_rule_free (RetentionRule *rule)
{
  g_free (rule->prefix);
  g_free (rule);
}

Job *
hgd_journal_job_new (JobKind kind)
{
  Job *job = g_new0 (Job, 1);

  job->kind = kind;
  return job;
}

void
hgd_journal_job_free (Job *job)
{
  g_clear_object (&job->task);
  g_free (job->type);
  g_free (job->source);
  g_free (job->body);
  g_clear_pointer (&job->alarm, alarm_row_free);
  g_clear_object (&job->record);
  g_clear_pointer (&job->key, idempotency_row_free);
  g_clear_pointer (&job->access, hgd_access_entry_free);
  g_clear_pointer (&job->rules, g_ptr_array_unref);
  g_clear_pointer (&job->joined, g_ptr_array_unref);
  g_clear_error (&job->error);
  g_free (job);
}

/* the queue: two lanes, the alarm lane first */

gboolean
hgd_journal_job_is_alarm_class (Job *job)
{
  return job->kind == JOB_APPEND && (job->alarm != NULL || job->urgent);
}

void
hgd_journal_worker_push (Worker *worker,
                         Job *job)
{
  g_mutex_lock (&worker->jobs_lock);
  g_queue_push_tail (hgd_journal_job_is_alarm_class (job) ? &worker->alarm_lane : &worker->ordinary_lane, job);
  g_cond_signal (&worker->jobs_cond);
  g_mutex_unlock (&worker->jobs_lock);
}

/* Blocks until a job is queued; the alarm lane's first. */
static Job *
worker_pop (Worker *worker)
{
  Job *job;

  g_mutex_lock (&worker->jobs_lock);
  while (g_queue_is_empty (&worker->alarm_lane) && g_queue_is_empty (&worker->ordinary_lane))
    g_cond_wait (&worker->jobs_cond, &worker->jobs_lock);
  job = g_queue_pop_head (&worker->alarm_lane);
  if (job == NULL)
    job = g_queue_pop_head (&worker->ordinary_lane);
  g_mutex_unlock (&worker->jobs_lock);
  return job;
}

/* The next job of a lane if it is an append, without waiting; an ordinary append is
 * not taken while an alarm waits. */
static Job *
worker_try_pop_append (Worker *worker,
                       gboolean alarm_lane)
{
  GQueue *lane = alarm_lane ? &worker->alarm_lane : &worker->ordinary_lane;
  Job *job = NULL;

  g_mutex_lock (&worker->jobs_lock);
  if ((alarm_lane || g_queue_is_empty (&worker->alarm_lane)) && !g_queue_is_empty (lane)
      && ((Job *) g_queue_peek_head (lane))->kind == JOB_APPEND)
    job = g_queue_pop_head (lane);
  g_mutex_unlock (&worker->jobs_lock);
  return job;
}

static gboolean
worker_alarm_waiting (Worker *worker)
{
  gboolean waiting;

  g_mutex_lock (&worker->jobs_lock);
  waiting = !g_queue_is_empty (&worker->alarm_lane);
  g_mutex_unlock (&worker->jobs_lock);
  return waiting;
}

/* Puts a batch that was rolled back at the head of the ordinary lane, in its order. */
static void
worker_requeue (Worker *worker,
                GPtrArray *batch)
{
  g_mutex_lock (&worker->jobs_lock);
  for (guint i = batch->len; i > 0; i--)
    g_queue_push_head (&worker->ordinary_lane, g_ptr_array_index (batch, i - 1));
  g_mutex_unlock (&worker->jobs_lock);
}

/* the worker thread */

/* A key past its lifetime may still be there until the next prune: it is replaced. */
static gboolean
worker_insert_key (Worker *worker,
                   Job *job,
                   GError **error)
{
  g_autoptr(StatementUse) stmt = worker->insert_key;
  int rc;

  sqlite3_bind_text (stmt, 1, job->key->scope, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, job->key->key, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, job->key->fingerprint, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, job->alarm->ref, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 5, job->ts);
  sqlite3_bind_int64 (stmt, 6, job->ts - HGD_JOURNAL_IDEMPOTENCY_KEY_LIFETIME);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE)
    {
      hgd_sqlite_set_error (error, &hgd_journal_store, worker->db, rc, worker->path,
                            "cannot record an idempotency key");
      return FALSE;
    }
  if (sqlite3_changes (worker->db) != 1)
    {
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_INVALID,
                   "journal %s: the idempotency key of alarm %s is in use", worker->path,
                   job->alarm->ref);
      return FALSE;
    }
  return TRUE;
}

/* Appends an access-log entry after the last one, inside the transaction that writes it:
 * a batch rolled back and written again is chained again, so the chain on disk never has
 * a gap or a fork. */
static gboolean
worker_insert_access (Worker *worker,
                      Job *job,
                      GError **error)
{
  HgdAccessEntry *entry = job->access;
  g_autoptr(sqlite3_stmt) head = NULL;
  g_autoptr(sqlite3_stmt) insert = NULL;
  g_autoptr(sqlite3_stmt) anchor = NULL;
  g_autofree gchar *prev_hash = NULL;
  g_autofree gchar *head_value = NULL;
  guint64 prev_seq = 0;
  int rc;

  rc = sqlite3_prepare_v2 (worker->db, "SELECT seq, hash FROM access_log ORDER BY seq DESC LIMIT 1",
                           -1, &head, NULL);
  if (rc == SQLITE_OK)
    {
      rc = sqlite3_step (head);
      if (rc == SQLITE_ROW)
        {
          prev_seq = (guint64) sqlite3_column_int64 (head, 0);
          prev_hash = g_strdup ((const gchar *) sqlite3_column_text (head, 1));
          rc = SQLITE_DONE;
        }
    }
  if (rc != SQLITE_DONE)
    {
      hgd_sqlite_set_error (error, &hgd_journal_store, worker->db, rc, worker->path,
                            "cannot read the access log");
      return FALSE;
    }
  entry->time = job->ts;
  hgd_access_entry_chain (entry, prev_seq, prev_hash);

  rc = sqlite3_prepare_v2 (worker->db,
                           "INSERT INTO access_log (seq, ts, actor, action, object, detail, "
                           "prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                           -1, &insert, NULL);
  if (rc == SQLITE_OK)
    {
      sqlite3_bind_int64 (insert, 1, (sqlite3_int64) entry->seq);
      sqlite3_bind_int64 (insert, 2, entry->time);
      sqlite3_bind_text (insert, 3, entry->actor, -1, SQLITE_STATIC);
      sqlite3_bind_text (insert, 4, entry->action, -1, SQLITE_STATIC);
      sqlite3_bind_text (insert, 5, entry->object, -1, SQLITE_STATIC);
      sqlite3_bind_text (insert, 6, entry->detail, -1, SQLITE_STATIC);
      sqlite3_bind_text (insert, 7, entry->prev_hash, -1, SQLITE_STATIC);
      sqlite3_bind_text (insert, 8, entry->hash, -1, SQLITE_STATIC);
      rc = sqlite3_step (insert);
    }
  if (rc == SQLITE_DONE)
    rc = sqlite3_prepare_v2 (worker->db,
                             "INSERT INTO meta (key, value) VALUES ('access-head', ?1) "
                             "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                             -1, &anchor, NULL);
  if (rc == SQLITE_OK)
    {
      head_value = g_strdup_printf ("%" G_GUINT64_FORMAT ":%s", entry->seq, entry->hash);
      sqlite3_bind_text (anchor, 1, head_value, -1, SQLITE_STATIC);
      rc = sqlite3_step (anchor);
    }
  if (rc != SQLITE_DONE)
    {
      hgd_sqlite_set_error (error, &hgd_journal_store, worker->db, rc, worker->path,
                            "cannot append to the access log");
      return FALSE;
    }
  job->seq = entry->seq;
  return TRUE;
}

static gboolean
worker_insert (Worker *worker,
               Job *job,
               GError **error)
{
  int rc;

  if (job->access != NULL)
    return worker_insert_access (worker, job, error);

  {
    g_autoptr(StatementUse) stmt = worker->insert_event;

    sqlite3_bind_text (stmt, 1, job->type, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, job->ts);
    sqlite3_bind_text (stmt, 3, job->source, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 4, job->body, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 5, job->alarm != NULL ? job->alarm->ref : NULL, -1, SQLITE_STATIC);
    rc = sqlite3_step (stmt);
    if (rc != SQLITE_DONE)
      {
        g_autofree gchar *what = g_strdup_printf ("cannot append %s", job->type);
        hgd_sqlite_set_error (error, &hgd_journal_store, worker->db, rc, worker->path, what);
        return FALSE;
      }
    job->seq = (guint64) sqlite3_last_insert_rowid (worker->db);
  }

  if (job->alarm == NULL)
    return TRUE;

  if (job->alarm->is_new)
    {
      g_autoptr(StatementUse) stmt = worker->insert_alarm;

      sqlite3_bind_text (stmt, 1, job->alarm->ref, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 2, job->alarm->type, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 3, job->alarm->state, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 4, job->alarm->source, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 5, job->alarm->device, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 6, job->alarm->location, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 7, job->alarm->priority);
      sqlite3_bind_text (stmt, 8, job->alarm->detail, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 9, (sqlite3_int64) job->seq);
      sqlite3_bind_int64 (stmt, 10, job->ts);
      rc = sqlite3_step (stmt);
      if (rc != SQLITE_DONE)
        {
          g_autofree gchar *what = g_strdup_printf ("cannot record alarm %s", job->alarm->ref);
          hgd_sqlite_set_error (error, &hgd_journal_store, worker->db, rc, worker->path, what);
          return FALSE;
        }
      if (job->key != NULL && !worker_insert_key (worker, job, error))
        return FALSE;
    }
  else
    {
      g_autoptr(StatementUse) stmt = worker->update_alarm;

      sqlite3_bind_text (stmt, 1, job->alarm->ref, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 2, job->alarm->state, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 3, job->alarm->device, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 4, job->alarm->location, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 5, job->alarm->priority);
      sqlite3_bind_text (stmt, 6, job->alarm->detail, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 7, job->ts);
      rc = sqlite3_step (stmt);
      if (rc != SQLITE_DONE)
        {
          g_autofree gchar *what = g_strdup_printf ("cannot update alarm %s", job->alarm->ref);
          hgd_sqlite_set_error (error, &hgd_journal_store, worker->db, rc, worker->path, what);
          return FALSE;
        }
      if (sqlite3_changes (worker->db) != 1)
        {
          g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_NOT_FOUND,
                       "journal %s: no alarm with reference %s", worker->path, job->alarm->ref);
          return FALSE;
        }
    }
  return TRUE;
}

/* Writes @job and the appends joined to it, in that order. */
static gboolean
worker_insert_joined (Worker *worker,
                      Job *job,
                      GError **error)
{
  if (!worker_insert (worker, job, error))
    return FALSE;
  for (guint i = 0; job->joined != NULL && i < job->joined->len; i++)
    {
      if (!worker_insert (worker, g_ptr_array_index (job->joined, i), error))
        return FALSE;
    }
  return TRUE;
}

/* Commits batch[first .. first + n) in one transaction, or nothing of it. With
 * @preempted, it gives up (rolls back, no error) as soon as an alarm waits, and says so. */
static gboolean
worker_append_range (Worker *worker,
                     GPtrArray *batch,
                     guint first,
                     guint n,
                     gboolean *preempted,
                     GError **error)
{
  g_autoptr(HgdSqliteTransaction) txn = NULL;
  gboolean ok = TRUE;

  txn = hgd_sqlite_transaction_begin_prepared (worker->db, &hgd_journal_store, worker->path,
                                               worker->begin, worker->commit, error);
  if (txn == NULL)
    return FALSE;
  for (guint i = first; ok && i < first + n; i++)
    {
      /* every 64 rows: the check takes a lock */
      if (preempted != NULL && (i - first) % 64 == 0 && worker_alarm_waiting (worker))
        {
          *preempted = TRUE;
          ok = FALSE;
          break;
        }
      ok = worker_insert_joined (worker, g_ptr_array_index (batch, i), error);
    }
  if (ok && preempted != NULL && worker_alarm_waiting (worker))
    {
      *preempted = TRUE;
      ok = FALSE;
    }
  /* the size for the budget (worker_check_budget ()), read in the write transaction,
   * where it costs little: afterwards it would be a read transaction of its own */
  worker->used_known = FALSE;
  if (ok && !worker->trimming && hgd_journal_worker_get_budget (worker) > 0)
    {
      g_autoptr(GError) used_error = NULL;

      worker->used_known = hgd_journal_file_get_used_bytes (worker, &worker->used, &used_error);
      if (!worker->used_known)
        g_debug ("journal %s: size not checked: %s", worker->path, used_error->message);
    }
  if (ok)
    ok = hgd_sqlite_transaction_commit (txn, error);
  if (!ok)
    {
      worker->used_known = FALSE;
      for (guint i = first; i < first + n; i++)
        {
          Job *job = g_ptr_array_index (batch, i);

          job->seq = 0;
          for (guint j = 0; job->joined != NULL && j < job->joined->len; j++)
            ((Job *) g_ptr_array_index (job->joined, j))->seq = 0;
        }
    }
  return ok;
}

/* Commits @batch; returns FALSE only if it gave way to an alarm (@preemptible), and then
 * nothing of it is written and its jobs are not finished. */
static gboolean
worker_append (Worker *worker,
               GPtrArray *batch,
               gboolean preemptible)
{
  g_autoptr(GError) error = NULL;
  gboolean preempted = FALSE;

  if (worker_append_range (worker, batch, 0, batch->len, preemptible ? &preempted : NULL, &error))
    return TRUE;
  if (preempted)
    return FALSE;
  if (batch->len == 1)
    {
      ((Job *) g_ptr_array_index (batch, 0))->error = g_steal_pointer (&error);
      return TRUE;
    }

  /* find out which appends failed and why; the others may still fit */
  g_debug ("journal %s: batch of %u failed, retrying each: %s", worker->path, batch->len,
           error->message);
  for (guint i = 0; i < batch->len; i++)
    {
      Job *job = g_ptr_array_index (batch, i);
      worker_append_range (worker, batch, i, 1, NULL, &job->error);
    }
  return TRUE;
}

static const RetentionRule *
retention_rule_for (GPtrArray *rules,
                    const gchar *type)
{
  const RetentionRule *best = NULL;

  for (guint i = 0; i < rules->len; i++)
    {
      const RetentionRule *rule = g_ptr_array_index (rules, i);
      gboolean matches;

      if (rule->prefix[0] == '\0')
        matches = TRUE;
      else if (g_str_has_suffix (rule->prefix, "."))
        matches = g_str_has_prefix (type, rule->prefix);
      else
        matches = g_str_equal (type, rule->prefix);
      if (matches && (best == NULL || strlen (rule->prefix) > strlen (best->prefix)))
        best = rule;
    }
  return best;
}

static gboolean
worker_prune (Worker *worker,
              Job *job,
              GError **error)
{
  g_autoptr(HgdSqliteTransaction) txn = NULL;
  g_autoptr(sqlite3_stmt) types = NULL;
  g_autoptr(sqlite3_stmt) delete_events = NULL;
  g_autoptr(GPtrArray) type_names = g_ptr_array_new_with_free_func (g_free);
  int rc;

  txn = hgd_sqlite_transaction_begin (worker->db, &hgd_journal_store, worker->path, error);
  if (txn == NULL)
    return FALSE;

  rc = sqlite3_prepare_v2 (worker->db, "SELECT DISTINCT type FROM events", -1, &types, NULL);
  if (rc == SQLITE_OK)
    {
      while ((rc = sqlite3_step (types)) == SQLITE_ROW)
        g_ptr_array_add (type_names, g_strdup ((const gchar *) sqlite3_column_text (types, 0)));
    }
  if (rc != SQLITE_DONE)
    {
      hgd_sqlite_set_error (error, &hgd_journal_store, worker->db, rc, worker->path,
                            "cannot prune");
      return FALSE;
    }

  /* the events of an alarm that is still open stay, whatever their age */
  rc = sqlite3_prepare_v2 (worker->db,
                           "DELETE FROM events WHERE type = ?1 AND ts < ?2 AND (alarm_ref IS NULL OR "
                           "alarm_ref NOT IN (SELECT ref FROM alarms WHERE " SQL_ALARM_IS_OPEN "))",
                           -1, &delete_events, NULL);
  for (guint i = 0; rc == SQLITE_OK && i < type_names->len; i++)
    {
      const gchar *type = g_ptr_array_index (type_names, i);
      const RetentionRule *rule = retention_rule_for (job->rules, type);
      g_autoptr(StatementUse) stmt = NULL;

      if (rule == NULL || rule->days == 0)
        continue;
      stmt = delete_events;
      sqlite3_bind_text (stmt, 1, type, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 2, job->now - (gint64) rule->days * USEC_PER_DAY);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_DONE)
        {
          job->n_removed += (guint) sqlite3_changes (worker->db);
          rc = SQLITE_OK;
        }
    }
  if (rc != SQLITE_OK)
    {
      hgd_sqlite_set_error (error, &hgd_journal_store, worker->db, rc, worker->path,
                            "cannot prune events");
      return FALSE;
    }

  /* idempotency keys past their lifetime: a retry that late is a new alarm */
  {
    g_autoptr(sqlite3_stmt) delete_keys = NULL;

    rc = sqlite3_prepare_v2 (worker->db, "DELETE FROM idempotency_keys WHERE ts < ?1", -1,
                             &delete_keys, NULL);
    if (rc == SQLITE_OK)
      {
        sqlite3_bind_int64 (delete_keys, 1, job->now - HGD_JOURNAL_IDEMPOTENCY_KEY_LIFETIME);
        rc = sqlite3_step (delete_keys);
      }
    if (rc != SQLITE_DONE)
      {
        hgd_sqlite_set_error (error, &hgd_journal_store, worker->db, rc, worker->path,
                              "cannot prune idempotency keys");
        return FALSE;
      }
  }

  /* a closed alarm's record goes with the last of its events */
  if (!hgd_sqlite_exec (worker->db, &hgd_journal_store, worker->path,
                        "DELETE FROM alarms WHERE " SQL_ALARM_IS_FINAL " AND NOT EXISTS "
                        "(SELECT 1 FROM events WHERE events.alarm_ref = alarms.ref)",
                        "cannot prune alarms", error))
    return FALSE;
  return hgd_sqlite_transaction_commit (txn, error);
}

static gboolean
worker_cap_size (Worker *worker,
                 Job *job,
                 GError **error)
{
  g_autofree gchar *sql = NULL;
  gint64 pages = 0;
  gint64 max_pages = 0;

  if (job->extra_pages < 0)
    {
      max_pages = G_MAXINT32;
    }
  else
    {
      if (!hgd_sqlite_query_int (worker->db, &hgd_journal_store, worker->path, "PRAGMA page_count",
                                 &pages, "cannot read the page count", error))
        return FALSE;
      max_pages = pages + job->extra_pages;
    }
  sql = g_strdup_printf ("PRAGMA max_page_count = %" G_GINT64_FORMAT, max_pages);
  return hgd_sqlite_query_int (worker->db, &hgd_journal_store, worker->path, sql, &max_pages,
                               "cannot cap the size", error);
}

/* Deletes every event, alarm record and idempotency key, then rebuilds the file and empties
 * the WAL, so that what was deleted is in neither any more. The sequence numbers go on
 * where they were: a client that resumes with ?after= gets nothing it saw before. */
static gboolean
worker_erase (Worker *worker,
              GError **error)
{
  static const gchar *const deletes[]
      = { "DELETE FROM events", "DELETE FROM alarms", "DELETE FROM idempotency_keys" };
  g_autoptr(HgdSqliteTransaction) txn = NULL;

  if (!hgd_sqlite_exec (worker->db, &hgd_journal_store, worker->path, "PRAGMA secure_delete = ON",
                        "cannot turn on secure deletion", error))
    return FALSE;
  txn = hgd_sqlite_transaction_begin (worker->db, &hgd_journal_store, worker->path, error);
  if (txn == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (deletes); i++)
    {
      if (!hgd_sqlite_exec (worker->db, &hgd_journal_store, worker->path, deletes[i],
                            "cannot erase", error))
        return FALSE;
    }
  if (!hgd_sqlite_transaction_commit (txn, error))
    return FALSE;
  return hgd_sqlite_exec (worker->db, &hgd_journal_store, worker->path, "VACUUM",
                          "cannot rebuild after erasing", error) &&
         hgd_sqlite_exec (worker->db, &hgd_journal_store, worker->path,
                          "PRAGMA wal_checkpoint(TRUNCATE)", "cannot empty the WAL", error);
}

/* Hands finished jobs to the main context, in order; the appends joined to one come
 * right after it, each on its own, with its error if the group failed. */
static void
worker_complete (Worker *worker,
                 Job *const *jobs,
                 guint n_jobs)
{
  g_mutex_lock (&worker->lock);
  for (guint i = 0; i < n_jobs; i++)
    {
      Job *job = jobs[i];
      g_autoptr(GPtrArray) joined = g_steal_pointer (&job->joined);

      g_queue_push_tail (&worker->done, job);
      if (joined == NULL)
        continue;
      g_ptr_array_set_free_func (joined, NULL);
      for (guint j = 0; j < joined->len; j++)
        {
          Job *member = g_ptr_array_index (joined, j);

          if (job->error != NULL && member->error == NULL)
            member->error = g_error_copy (job->error);
          g_queue_push_tail (&worker->done, member);
        }
    }
  g_mutex_unlock (&worker->lock);
  g_source_set_ready_time (worker->dispatch, 0);
}

void
hgd_journal_waiter_signal (Waiter *waiter)
{
  g_mutex_lock (&waiter->lock);
  waiter->done = TRUE;
  g_cond_signal (&waiter->cond);
  g_mutex_unlock (&waiter->lock);
}

void
hgd_journal_waiter_wait (Waiter *waiter)
{
  g_mutex_lock (&waiter->lock);
  while (!waiter->done)
    g_cond_wait (&waiter->cond, &waiter->lock);
  g_mutex_unlock (&waiter->lock);
}

/* the size budget, on the worker thread */

gint64
hgd_journal_worker_get_budget (Worker *worker)
{
  gint64 budget;

  g_mutex_lock (&worker->jobs_lock);
  budget = worker->budget;
  g_mutex_unlock (&worker->jobs_lock);
  return budget;
}

/* Removes up to TRIM_CHUNK of the oldest events retention may remove for space: sensor
 * readings first, then other events that belong to no alarm. An alarm's events, open or
 * closed, are never removed for space. */
static gboolean
worker_trim_chunk (Worker *worker,
                   guint *n_removed,
                   GError **error)
{
  static const gchar *const tiers[] = {
    "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE " SQL_IS_READING
    " AND alarm_ref IS NULL ORDER BY ts LIMIT ?1)",
    "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE alarm_ref IS NULL "
    "AND type NOT LIKE 'alarm.%' ORDER BY seq LIMIT ?1)",
  };
  g_autoptr(HgdSqliteTransaction) txn = NULL;

  *n_removed = 0;
  txn = hgd_sqlite_transaction_begin (worker->db, &hgd_journal_store, worker->path, error);
  if (txn == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (tiers) && *n_removed == 0; i++)
    {
      g_autoptr(sqlite3_stmt) stmt = NULL;
      int rc = sqlite3_prepare_v2 (worker->db, tiers[i], -1, &stmt, NULL);

      if (rc == SQLITE_OK)
        {
          sqlite3_bind_int (stmt, 1, TRIM_CHUNK);
          rc = sqlite3_step (stmt);
        }
      if (rc != SQLITE_DONE)
        {
          hgd_sqlite_set_error (error, &hgd_journal_store, worker->db, rc, worker->path,
                                "cannot remove events for space");
          return FALSE;
        }
      *n_removed = (guint) sqlite3_changes (worker->db);
    }
  return hgd_sqlite_transaction_commit (txn, error);
}

/* One step of a trim: it queues the next step behind what is queued, so appends, and
 * alarms above all, are not held up by a long one. Returns TRUE when the trim is over,
 * with the number of events it removed in @job. */
static gboolean
worker_trim (Worker *worker,
             Job *job)
{
  g_autoptr(GError) error = NULL;
  gint64 budget = hgd_journal_worker_get_budget (worker);
  gint64 used = 0;
  guint n_removed = 0;

  if (!hgd_journal_file_get_used_bytes (worker, &used, &error) ||
      (budget > 0 && used * 100 > budget * TRIM_TARGET &&
       !worker_trim_chunk (worker, &n_removed, &error)))
    {
      /* the next commit tries again */
      job->error = g_steal_pointer (&error);
    }
  else if (n_removed > 0)
    {
      worker->n_trimmed += n_removed;
      hgd_journal_worker_push (worker, hgd_journal_job_new (JOB_TRIM));
      return FALSE;
    }
  job->n_removed = (guint) MIN (worker->n_trimmed, G_MAXUINT);
  worker->n_trimmed = 0;
  worker->trimming = FALSE;
  return TRUE;
}

/* After a commit: starts a trim once the journal passes TRIM_START percent of its budget,
 * by the size worker_append_range () read just before the commit (or, after a failed
 * one, by a read of its own). */
static void
worker_check_budget (Worker *worker)
{
  g_autoptr(GError) error = NULL;
  gint64 budget = hgd_journal_worker_get_budget (worker);
  gint64 used = worker->used;

  if (budget <= 0 || worker->trimming)
    return;
  if (!worker->used_known && !hgd_journal_file_get_used_bytes (worker, &used, &error))
    {
      g_debug ("journal %s: size not checked: %s", worker->path, error->message);
      return;
    }
  worker->used_known = FALSE;
  if (used * 100 <= budget * TRIM_START)
    return;
  worker->trimming = TRUE;
  hgd_journal_worker_push (worker, hgd_journal_job_new (JOB_TRIM));
}

static void
worker_run (Worker *worker,
            Job *job)
{
  switch (job->kind)
    {
    case JOB_PRUNE:
      worker_prune (worker, job, &job->error);
      break;
    case JOB_CAP_SIZE:
      worker_cap_size (worker, job, &job->error);
      break;
    case JOB_ERASE:
      worker_erase (worker, &job->error);
      break;
    case JOB_TRIM:
      if (!worker_trim (worker, job))
        {
          hgd_journal_job_free (job);
          return;
        }
      break;
    case JOB_SYNC:
      break;
    case JOB_HOLD:
      /* tell the caller the worker is held, then wait to be let go */
      hgd_journal_waiter_signal (job->waiter);
      hgd_journal_waiter_wait (job->release);
      hgd_journal_job_free (job);
      return;
    case JOB_APPEND:
    case JOB_STOP:
    default:
      g_assert_not_reached ();
    }

  if (job->waiter != NULL)
    {
      /* the caller frees @job once woken */
      hgd_journal_waiter_signal (job->waiter);
      return;
    }
  worker_complete (worker, &job, 1);
}

gpointer
hgd_journal_worker_thread (gpointer user_data)
{
  Worker *worker = user_data;
  gboolean preemptible = TRUE;

  for (;;)
    {
      Job *job = worker_pop (worker);
      g_autoptr(GPtrArray) batch = NULL;
      gboolean alarm_lane;
      Job *next;

      if (job->kind == JOB_STOP)
        {
          hgd_journal_job_free (job);
          return NULL;
        }
      if (job->kind != JOB_APPEND)
        {
          worker_run (worker, job);
          continue;
        }

      /* group commit: whatever queued up in the lane during the last fsync goes into
       * this one; the lanes are never mixed */
      alarm_lane = hgd_journal_job_is_alarm_class (job);
      batch = g_ptr_array_new ();
      g_ptr_array_add (batch, job);
      while (batch->len < MAX_BATCH && (next = worker_try_pop_append (worker, alarm_lane)) != NULL)
        g_ptr_array_add (batch, next);
      if (!worker_append (worker, batch, !alarm_lane && preemptible))
        {
          /* an alarm came: it goes first, then this batch again, without giving way
           * a second time, so that a stream of alarms cannot starve the readings */
          worker_requeue (worker, batch);
          preemptible = FALSE;
          continue;
        }
      if (!alarm_lane)
        preemptible = TRUE;
      worker_complete (worker, (Job *const *) batch->pdata, batch->len);
      worker_check_budget (worker);
    }
}

/* Runs @job on the worker and blocks until it is done; for short jobs only. */
void
hgd_journal_worker_run_sync (Worker *worker,
                             Job *job)
{
  Waiter waiter = { 0 };

  g_mutex_init (&waiter.lock);
  g_cond_init (&waiter.cond);
  job->waiter = &waiter;
  hgd_journal_worker_push (worker, job);
  hgd_journal_waiter_wait (&waiter);
  g_mutex_clear (&waiter.lock);
  g_cond_clear (&waiter.cond);
  job->waiter = NULL;
}

void
hgd_journal_worker_free (Worker *worker)
{
  if (worker->thread != NULL)
    {
      /* the queue is drained first: STOP is the last job */
      hgd_journal_worker_push (worker, hgd_journal_job_new (JOB_STOP));
      g_thread_join (worker->thread);
    }
  g_clear_pointer (&worker->insert_event, sqlite3_finalize);
  g_clear_pointer (&worker->insert_alarm, sqlite3_finalize);
  g_clear_pointer (&worker->update_alarm, sqlite3_finalize);
  g_clear_pointer (&worker->insert_key, sqlite3_finalize);
  g_clear_pointer (&worker->begin, sqlite3_finalize);
  g_clear_pointer (&worker->commit, sqlite3_finalize);
  for (guint i = 0; i < G_N_ELEMENTS (worker->used_stmt); i++)
    g_clear_pointer (&worker->used_stmt[i], sqlite3_finalize);
  /* the last connection (the reader is closed first): closing checkpoints the WAL into
   * the database and removes it, so the database alone is the whole journal again */
  if (worker->marked_open &&
      sqlite3_exec (worker->db, "UPDATE meta SET value = 'closed' WHERE key = 'state'", NULL, NULL,
                    NULL) != SQLITE_OK)
    g_warning ("journal %s: cannot record a clean close: %s", worker->path,
               sqlite3_errmsg (worker->db));
  g_clear_pointer (&worker->db, sqlite3_close_v2);
  g_queue_clear_full (&worker->alarm_lane, (GDestroyNotify) hgd_journal_job_free);
  g_queue_clear_full (&worker->ordinary_lane, (GDestroyNotify) hgd_journal_job_free);
  g_mutex_clear (&worker->jobs_lock);
  g_cond_clear (&worker->jobs_cond);
  g_queue_clear_full (&worker->done, (GDestroyNotify) hgd_journal_job_free);
  g_mutex_clear (&worker->lock);
  if (worker->dispatch != NULL)
    g_source_destroy (worker->dispatch);
  g_clear_pointer (&worker->dispatch, g_source_unref);
  g_free (worker->path);
  g_free (worker);
}

static gboolean
writer_prepare (Worker *worker,
                const gchar *sql,
                sqlite3_stmt **stmt,
                GError **error)
{
  int rc = sqlite3_prepare_v3 (worker->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL);

  if (rc != SQLITE_OK)
    {
      hgd_sqlite_set_error (error, &hgd_journal_store, worker->db, rc, worker->path,
                            "cannot prepare");
      return FALSE;
    }
  return TRUE;
}

Worker *
hgd_journal_worker_open (const gchar *path,
                         HgDomain domain,
                         gboolean had_wal,
                         GError **error)
{
  g_autoptr(Worker) worker = g_new0 (Worker, 1);

  worker->path = g_strdup (path);
  g_mutex_init (&worker->jobs_lock);
  g_cond_init (&worker->jobs_cond);
  g_queue_init (&worker->alarm_lane);
  g_queue_init (&worker->ordinary_lane);
  g_mutex_init (&worker->lock);
  g_queue_init (&worker->done);

  if (!hgd_journal_file_open_writer (worker, domain, had_wal, error))
    return NULL;
  if (!writer_prepare (worker,
                       "INSERT INTO events (type, ts, source, body, alarm_ref) "
                       "VALUES (?1, ?2, ?3, ?4, ?5)",
                       &worker->insert_event, error) ||
      !writer_prepare (worker,
                       "INSERT INTO alarms (" SQL_ALARM_COLUMNS ", raised_seq, raised_ts, updated_ts) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
                       &worker->insert_alarm, error) ||
      !writer_prepare (worker,
                       "UPDATE alarms SET state = ?2, device = ?3, location = ?4, priority = ?5, "
                       "detail = ?6, updated_ts = ?7 WHERE ref = ?1",
                       &worker->update_alarm, error) ||
      !writer_prepare (worker,
                       "INSERT INTO idempotency_keys (scope, key, fingerprint, alarm_ref, ts) "
                       "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (scope, key) DO UPDATE SET "
                       "fingerprint = excluded.fingerprint, alarm_ref = excluded.alarm_ref, "
                       "ts = excluded.ts WHERE idempotency_keys.ts < ?6",
                       &worker->insert_key, error) ||
      !writer_prepare (worker, "BEGIN IMMEDIATE", &worker->begin, error) ||
      !writer_prepare (worker, "COMMIT", &worker->commit, error))
    return NULL;
  return g_steal_pointer (&worker);
}
