/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdJournal: one domain's events and alarm records in one SQLite file (WAL). A worker
 * thread owns the write connection and commits what is queued in one transaction with
 * synchronous=FULL (group commit); results and "event-appended" come back on the main
 * context in sequence order. Reads use a second, read-only connection on the main thread.
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

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "hgd-journal-private.h"
#include "hgd-sqlite.h"

/* At most this many appends share one transaction, to bound latency and memory. */
#define MAX_BATCH 4096

#define BUSY_TIMEOUT_MS 5000

/* A wall clock that moved this much more (or less) than the monotonic clock between two
 * appends was stepped, not slewed: NTP slews at most 500 ppm. */
#define CLOCK_STEP_MIN_USEC (2 * G_USEC_PER_SEC)
#define CLOCK_SLEW_PER_MILLE 1

/* The size budget (hgd_journal_set_size_budget()): past TRIM_START percent of it, the
 * worker removes the oldest events that belong to no alarm, TRIM_CHUNK per transaction,
 * until the journal is down to TRIM_TARGET percent or nothing removable is left. Health
 * warns at HGD_JOURNAL_SIZE_WARNING_PERCENT, which only what retention may not remove
 * can reach. */
#define TRIM_START 70
#define TRIM_TARGET 60
#define TRIM_CHUNK 2000

/* The WAL file is cut back to this after a checkpoint, so it does not keep the size of
 * its largest burst on the flash. */
#define WAL_SIZE_LIMIT (4 * 1024 * 1024)
#define USEC_PER_DAY ((gint64) 86400 * G_USEC_PER_SEC)

/* ts columns hold microseconds since the Unix epoch, UTC; body and detail are JSON objects.
 * AUTOINCREMENT so that a sequence number is never reused, even after pruning: API clients
 * resume from the last seq they saw. */
static const gchar schema_sql[] =
  "CREATE TABLE meta ("
  "  key TEXT PRIMARY KEY NOT NULL,"
  "  value TEXT NOT NULL);"
  "CREATE TABLE events ("
  "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  type TEXT NOT NULL,"
  "  ts INTEGER NOT NULL,"
  "  source TEXT,"
  "  body TEXT NOT NULL,"
  "  alarm_ref TEXT);"
  "CREATE INDEX events_by_type ON events (type, ts);"
  "CREATE INDEX events_by_alarm ON events (alarm_ref) WHERE alarm_ref IS NOT NULL;"
  "CREATE TABLE alarms ("
  "  ref TEXT PRIMARY KEY NOT NULL,"
  "  type TEXT NOT NULL,"
  "  state TEXT NOT NULL,"
  "  source TEXT,"
  "  device TEXT,"
  "  location TEXT,"
  "  priority INTEGER NOT NULL DEFAULT 0,"
  "  detail TEXT,"
  "  raised_seq INTEGER NOT NULL,"
  "  raised_ts INTEGER NOT NULL,"
  "  updated_ts INTEGER NOT NULL);"
  "CREATE INDEX alarms_by_state ON alarms (state);";

/* Indexes that queries need and an older file may lack: created on every open, so adding
 * one needs no migration. The sensor-history queries below use exactly this
 * expression and WHERE, so SQLite can use the partial index. */
#define SQL_READING_DEVICE "json_extract(body, '$.device')"
#define SQL_READING_KIND "json_extract(body, '$.kind')"
#define SQL_IS_READING "type = 'sensor.reading'"
static const gchar indexes_sql[] =
  "CREATE INDEX IF NOT EXISTS events_by_reading_device ON events (" SQL_READING_DEVICE ", ts) "
  "WHERE " SQL_IS_READING ";"
  "CREATE INDEX IF NOT EXISTS events_by_reading_kind ON events (" SQL_READING_DEVICE ", "
  SQL_READING_KIND ", ts) WHERE " SQL_IS_READING ";";

/* Schema version 2: an idempotency key (the API's Idempotency-Key header) is recorded in
 * the transaction that raises its alarm, so that a client retrying after a lost answer,
 * even across a kill of the core, gets the same alarm; @scope is who sent it, @fingerprint
 * what it asked. Releases with version 1 created this table on every open, so a version 1
 * file may have it already. */
static const gchar idempotency_keys_sql[]
    = "CREATE TABLE IF NOT EXISTS idempotency_keys ("
      "  scope TEXT NOT NULL,"
      "  key TEXT NOT NULL,"
      "  fingerprint TEXT NOT NULL,"
      "  alarm_ref TEXT NOT NULL,"
      "  ts INTEGER NOT NULL,"
      "  PRIMARY KEY (scope, key)) WITHOUT ROWID;"
      "CREATE INDEX IF NOT EXISTS idempotency_keys_by_ts ON idempotency_keys (ts);";

/* The schema, one step per version (hgd-sqlite.c): a new journal runs them all, an older
 * one those it lacks, when opened. Add a step for any change of a table; never edit one
 * that a release has shipped. */
static const HgdSqliteMigration journal_migrations[] = {
  { schema_sql, NULL },
  { idempotency_keys_sql, NULL },
};

/* hgd_journal_set_migrations_for_test () */
static const HgdSqliteMigration *migrations = journal_migrations;
static guint n_migrations = G_N_ELEMENTS (journal_migrations);

/* Every column the code reads or writes: preparing these checks an existing file's schema. */
static const gchar *const schema_probes[] = {
  "SELECT key, value FROM meta LIMIT 0",
  "SELECT seq, type, ts, source, body, alarm_ref FROM events LIMIT 0",
  "SELECT ref, type, state, source, device, location, priority, detail, raised_seq, raised_ts, "
  "updated_ts FROM alarms LIMIT 0",
  "SELECT scope, key, fingerprint, alarm_ref, ts FROM idempotency_keys LIMIT 0",
};

/* The final states of HgAlarmState, as stored in alarms.state. */
#define SQL_ALARM_IS_OPEN "state NOT IN ('closed', 'cancelled')"
#define SQL_ALARM_IS_FINAL "state IN ('closed', 'cancelled')"

#define SQL_ALARM_COLUMNS "ref, type, state, source, device, location, priority, detail"
/* what is read back: the columns above, then when the alarm was raised and last changed */
#define SQL_ALARM_READ SQL_ALARM_COLUMNS ", raised_ts, updated_ts"

G_DEFINE_QUARK (hgd-journal-error-quark, hgd_journal_error)

static const HgdSqliteStore journal_store = {
  .name = "journal",
  .error_quark = hgd_journal_error_quark,
  .error_codes = {
    [HGD_SQLITE_FAULT_IO] = HGD_JOURNAL_ERROR_IO,
    [HGD_SQLITE_FAULT_DISK_FULL] = HGD_JOURNAL_ERROR_DISK_FULL,
    [HGD_SQLITE_FAULT_CORRUPT] = HGD_JOURNAL_ERROR_CORRUPT,
    [HGD_SQLITE_FAULT_CONSTRAINT] = HGD_JOURNAL_ERROR_INVALID,
  },
};

/* A cached statement in use: reset and unbound when the scope ends. */
typedef sqlite3_stmt StatementUse;

static void
statement_use_release (StatementUse *stmt)
{
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StatementUse, statement_use_release)

typedef enum
{
  JOB_APPEND,
  JOB_PRUNE,
  JOB_CAP_SIZE,
  JOB_HOLD,
  JOB_TRIM,
  JOB_STOP,
} JobKind;

/* An alarm row, copied from the HgAlarm on the main thread. */
typedef struct
{
  gchar *ref;         /* (owned) */
  gchar *type;        /* (owned) */
  const gchar *state; /* hg_alarm_state_to_string() */
  gchar *source;      /* (owned) (nullable) */
  gchar *device;      /* (owned) (nullable) */
  gchar *location;    /* (owned) (nullable) */
  gint64 priority;
  gchar *detail;      /* (owned) (nullable) JSON */
  gboolean is_new;    /* alarm.raised: insert, and the reference must be new; else update */
} AlarmRow;

/* An idempotency key to record with a new alarm. */
typedef struct
{
  gchar *scope;       /* (owned) */
  gchar *key;         /* (owned) */
  gchar *fingerprint; /* (owned) */
} IdempotencyRow;

typedef struct
{
  gchar *prefix; /* (owned) */
  guint days;    /* 0: keep forever */
} RetentionRule;

/* A synchronous caller blocks on this until the worker has run its job. */
typedef struct
{
  GMutex lock;
  GCond cond;
  gboolean done;
} Waiter;

/* One unit of work for the worker. The main thread fills it in, the worker runs it and
 * writes the results, then the main thread reads them; the queues order those steps. */
typedef struct
{
  JobKind kind;
  GTask *task;      /* (owned) (nullable) completed on the main context */
  Waiter *waiter;   /* (nullable) (unowned) for synchronous jobs instead of @task */

  /* JOB_APPEND */
  gboolean urgent;  /* goes in the alarm lane though it has no alarm record */
  gchar *type;      /* (owned) */
  gint64 ts;
  gchar *source;    /* (owned) (nullable) */
  gchar *body;      /* (owned) JSON */
  AlarmRow *alarm;  /* (owned) (nullable) */
  IdempotencyRow *key; /* (owned) (nullable) recorded with a raised @alarm */

  /* JOB_PRUNE */
  GPtrArray *rules; /* (owned) (element-type RetentionRule) */
  gint64 now;

  /* JOB_CAP_SIZE */
  gint64 extra_pages;

  /* JOB_HOLD */
  Waiter *release;  /* (unowned) the worker waits for it */

  /* results, written by the worker */
  guint64 seq;
  guint n_removed;
  GError *error;    /* (owned) (nullable) */
} Job;

/* The write side. Once the thread runs, @db and its statements belong to it alone. */
typedef struct
{
  gchar *path;                 /* (owned) */
  sqlite3 *db;                 /* (owned) */
  sqlite3_stmt *insert_event;  /* (owned) */
  sqlite3_stmt *insert_alarm;  /* (owned) */
  sqlite3_stmt *update_alarm;  /* (owned) */
  sqlite3_stmt *insert_key;    /* (owned) */
  GThread *thread;             /* (owned) (nullable) */
  GMutex jobs_lock;            /* guards @alarm_lane and @ordinary_lane */
  GCond jobs_cond;             /* signalled when a job is queued */
  GQueue alarm_lane;           /* (element-type Job) alarm-class appends, taken first */
  GQueue ordinary_lane;        /* (element-type Job) every other job */
  gint64 budget;               /* bytes, 0 for none; guarded by @jobs_lock */
  gboolean trimming;           /* a JOB_TRIM is queued or running; worker thread only */
  guint64 n_trimmed;           /* events the current trim removed; worker thread only */
  GMutex lock;                 /* guards @done */
  GQueue done;                 /* (element-type Job) finished, in queue order */
  GSource *dispatch;           /* (owned) (nullable) made ready when @done fills */
  gboolean marked_open;        /* meta 'state' says 'open': say 'closed' when closing */
} Worker;

struct _HgdJournal
{
  GObject parent_instance;
  HgDomain domain;
  gchar *path;            /* (owned) <directory>/journal.db */
  sqlite3 *reader;        /* (owned) (nullable) read-only, main thread only */
  Worker *worker;         /* (owned) (nullable) */
  GMainContext *context;  /* (owned) where completions and signals are delivered */
  GHashTable *retention;  /* (owned) type or prefix → GUINT_TO_POINTER (days) */
  guint64 last_seq;       /* the highest seq announced */
  const gchar *fault;     /* (nullable) "disk-full", "io-error" or "corrupt" */
  gint64 clock_wall;      /* the wall time of the last append stamped now */
  gint64 clock_monotonic; /* and the boot time then; 0 before the first */
  Waiter *hold;           /* (owned) (nullable) lets a held worker go; tests only */
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

static AlarmRow *
alarm_row_new (HgAlarm *alarm, const gchar *event_type)
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

static void
retention_rule_free (RetentionRule *rule)
{
  g_free (rule->prefix);
  g_free (rule);
}

static Job *
job_new (JobKind kind)
{
  Job *job = g_new0 (Job, 1);

  job->kind = kind;
  return job;
}

static void
job_free (Job *job)
{
  g_clear_object (&job->task);
  g_free (job->type);
  g_free (job->source);
  g_free (job->body);
  g_clear_pointer (&job->alarm, alarm_row_free);
  g_clear_pointer (&job->key, idempotency_row_free);
  g_clear_pointer (&job->rules, g_ptr_array_unref);
  g_clear_error (&job->error);
  g_free (job);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Job, job_free)

/* the queue: two lanes, the alarm lane first */

static gboolean
job_is_alarm_class (Job *job)
{
  return job->kind == JOB_APPEND && (job->alarm != NULL || job->urgent);
}

static void
worker_push (Worker *worker,
             Job *job)
{
  g_mutex_lock (&worker->jobs_lock);
  g_queue_push_tail (job_is_alarm_class (job) ? &worker->alarm_lane : &worker->ordinary_lane, job);
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
      hgd_sqlite_set_error (error, &journal_store, worker->db, rc, worker->path,
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

static gboolean
worker_insert (Worker *worker,
               Job *job,
               GError **error)
{
  int rc;

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
        hgd_sqlite_set_error (error, &journal_store, worker->db, rc, worker->path, what);
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
          hgd_sqlite_set_error (error, &journal_store, worker->db, rc, worker->path, what);
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
          hgd_sqlite_set_error (error, &journal_store, worker->db, rc, worker->path, what);
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

  txn = hgd_sqlite_transaction_begin (worker->db, &journal_store, worker->path, error);
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
      ok = worker_insert (worker, g_ptr_array_index (batch, i), error);
    }
  if (ok && preempted != NULL && worker_alarm_waiting (worker))
    {
      *preempted = TRUE;
      ok = FALSE;
    }
  if (ok)
    ok = hgd_sqlite_transaction_commit (txn, error);
  if (!ok)
    {
      for (guint i = first; i < first + n; i++)
        ((Job *) g_ptr_array_index (batch, i))->seq = 0;
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

  txn = hgd_sqlite_transaction_begin (worker->db, &journal_store, worker->path, error);
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
      hgd_sqlite_set_error (error, &journal_store, worker->db, rc, worker->path, "cannot prune");
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
      hgd_sqlite_set_error (error, &journal_store, worker->db, rc, worker->path,
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
        hgd_sqlite_set_error (error, &journal_store, worker->db, rc, worker->path,
                              "cannot prune idempotency keys");
        return FALSE;
      }
  }

  /* a closed alarm's record goes with the last of its events */
  if (!hgd_sqlite_exec (worker->db, &journal_store, worker->path,
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
      if (!hgd_sqlite_query_int (worker->db, &journal_store, worker->path, "PRAGMA page_count",
                                 &pages, "cannot read the page count", error))
        return FALSE;
      max_pages = pages + job->extra_pages;
    }
  sql = g_strdup_printf ("PRAGMA max_page_count = %" G_GINT64_FORMAT, max_pages);
  return hgd_sqlite_query_int (worker->db, &journal_store, worker->path, sql, &max_pages,
                               "cannot cap the size", error);
}

/* Hands finished jobs to the main context, in order. */
static void
worker_complete (Worker *worker,
                 Job *const *jobs,
                 guint n_jobs)
{
  g_mutex_lock (&worker->lock);
  for (guint i = 0; i < n_jobs; i++)
    g_queue_push_tail (&worker->done, jobs[i]);
  g_mutex_unlock (&worker->lock);
  g_source_set_ready_time (worker->dispatch, 0);
}

static void
waiter_signal (Waiter *waiter)
{
  g_mutex_lock (&waiter->lock);
  waiter->done = TRUE;
  g_cond_signal (&waiter->cond);
  g_mutex_unlock (&waiter->lock);
}

static void
waiter_wait (Waiter *waiter)
{
  g_mutex_lock (&waiter->lock);
  while (!waiter->done)
    g_cond_wait (&waiter->cond, &waiter->lock);
  g_mutex_unlock (&waiter->lock);
}

/* the size budget, on the worker thread */

static gint64
worker_get_budget (Worker *worker)
{
  gint64 budget;

  g_mutex_lock (&worker->jobs_lock);
  budget = worker->budget;
  g_mutex_unlock (&worker->jobs_lock);
  return budget;
}

/* The bytes the journal's pages hold; the free pages a deletion left are reused first. */
static gboolean
db_used_bytes (sqlite3 *db,
               const gchar *path,
               gint64 *used,
               GError **error)
{
  gint64 pages = 0;
  gint64 free_pages = 0;
  gint64 page_size = 0;

  if (!hgd_sqlite_query_int (db, &journal_store, path, "PRAGMA page_count", &pages,
                             "cannot read the page count", error)
      || !hgd_sqlite_query_int (db, &journal_store, path, "PRAGMA freelist_count", &free_pages,
                                "cannot read the free page count", error)
      || !hgd_sqlite_query_int (db, &journal_store, path, "PRAGMA page_size", &page_size,
                                "cannot read the page size", error))
    return FALSE;
  *used = MAX (pages - free_pages, 0) * page_size;
  return TRUE;
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
  txn = hgd_sqlite_transaction_begin (worker->db, &journal_store, worker->path, error);
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
          hgd_sqlite_set_error (error, &journal_store, worker->db, rc, worker->path,
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
  gint64 budget = worker_get_budget (worker);
  gint64 used = 0;
  guint n_removed = 0;

  if (!db_used_bytes (worker->db, worker->path, &used, &error) ||
      (budget > 0 && used * 100 > budget * TRIM_TARGET &&
       !worker_trim_chunk (worker, &n_removed, &error)))
    {
      /* the next commit tries again */
      job->error = g_steal_pointer (&error);
    }
  else if (n_removed > 0)
    {
      worker->n_trimmed += n_removed;
      worker_push (worker, job_new (JOB_TRIM));
      return FALSE;
    }
  job->n_removed = (guint) MIN (worker->n_trimmed, G_MAXUINT);
  worker->n_trimmed = 0;
  worker->trimming = FALSE;
  return TRUE;
}

/* After a commit: starts a trim once the journal passes TRIM_START percent of its budget. */
static void
worker_check_budget (Worker *worker)
{
  g_autoptr(GError) error = NULL;
  gint64 budget = worker_get_budget (worker);
  gint64 used = 0;

  if (budget <= 0 || worker->trimming)
    return;
  if (!db_used_bytes (worker->db, worker->path, &used, &error))
    {
      g_debug ("journal %s: size not checked: %s", worker->path, error->message);
      return;
    }
  if (used * 100 <= budget * TRIM_START)
    return;
  worker->trimming = TRUE;
  worker_push (worker, job_new (JOB_TRIM));
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
    case JOB_TRIM:
      if (!worker_trim (worker, job))
        {
          job_free (job);
          return;
        }
      break;
    case JOB_HOLD:
      /* tell the caller the worker is held, then wait to be let go */
      waiter_signal (job->waiter);
      waiter_wait (job->release);
      job_free (job);
      return;
    case JOB_APPEND:
    case JOB_STOP:
    default:
      g_assert_not_reached ();
    }

  if (job->waiter != NULL)
    {
      /* the caller frees @job once woken */
      waiter_signal (job->waiter);
      return;
    }
  worker_complete (worker, &job, 1);
}

static gpointer
worker_thread (gpointer user_data)
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
          job_free (job);
          return NULL;
        }
      if (job->kind != JOB_APPEND)
        {
          worker_run (worker, job);
          continue;
        }

      /* group commit: whatever queued up in the lane during the last fsync goes into
       * this one; the lanes are never mixed */
      alarm_lane = job_is_alarm_class (job);
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
static void
worker_run_sync (Worker *worker,
                 Job *job)
{
  Waiter waiter = { 0 };

  g_mutex_init (&waiter.lock);
  g_cond_init (&waiter.cond);
  job->waiter = &waiter;
  worker_push (worker, job);
  waiter_wait (&waiter);
  g_mutex_clear (&waiter.lock);
  g_cond_clear (&waiter.cond);
  job->waiter = NULL;
}

static void
worker_free (Worker *worker)
{
  if (worker->thread != NULL)
    {
      /* the queue is drained first: STOP is the last job */
      worker_push (worker, job_new (JOB_STOP));
      g_thread_join (worker->thread);
    }
  g_clear_pointer (&worker->insert_event, sqlite3_finalize);
  g_clear_pointer (&worker->insert_alarm, sqlite3_finalize);
  g_clear_pointer (&worker->update_alarm, sqlite3_finalize);
  g_clear_pointer (&worker->insert_key, sqlite3_finalize);
  /* the last connection (the reader is closed first): closing checkpoints the WAL into
   * the database and removes it, so the database alone is the whole journal again */
  if (worker->marked_open &&
      sqlite3_exec (worker->db, "UPDATE meta SET value = 'closed' WHERE key = 'state'", NULL, NULL,
                    NULL) != SQLITE_OK)
    g_warning ("journal %s: cannot record a clean close: %s", worker->path,
               sqlite3_errmsg (worker->db));
  g_clear_pointer (&worker->db, sqlite3_close_v2);
  g_queue_clear_full (&worker->alarm_lane, (GDestroyNotify) job_free);
  g_queue_clear_full (&worker->ordinary_lane, (GDestroyNotify) job_free);
  g_mutex_clear (&worker->jobs_lock);
  g_cond_clear (&worker->jobs_cond);
  g_queue_clear_full (&worker->done, (GDestroyNotify) job_free);
  g_mutex_clear (&worker->lock);
  if (worker->dispatch != NULL)
    g_source_destroy (worker->dispatch);
  g_clear_pointer (&worker->dispatch, g_source_unref);
  g_free (worker->path);
  g_free (worker);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Worker, worker_free)

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

  hg_event_set_seq (event, job->seq);
  hg_event_set_domain (event, self->domain);
  hg_event_set_timestamp (event, job->ts);
  self->last_seq = MAX (self->last_seq, job->seq);
  journal_set_fault (self, NULL);
  g_signal_emit (self, signals[SIGNAL_EVENT_APPENDED], 0, event);
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

/* opening */

static gboolean
ensure_files_private (const gchar *path,
                      GError **error)
{
  g_autofree gchar *wal = g_strconcat (path, "-wal", NULL);
  g_autofree gchar *shm = g_strconcat (path, "-shm", NULL);

  return hgd_sqlite_ensure_mode (&journal_store, path, 0600, error)
         && hgd_sqlite_ensure_mode (&journal_store, wal, 0600, error)
         && hgd_sqlite_ensure_mode (&journal_store, shm, 0600, error);
}

/* What is on disk before SQLite touches it. SQLite would take an empty or missing file
 * for a new database and a WAL without its database for nothing: both are a journal that
 * was lost, and are refused, naming the file. @exists: the database is there; @had_wal:
 * so is its WAL. */
static gboolean
check_files (const gchar *path,
             gboolean *exists,
             gboolean *had_wal,
             GError **error)
{
  g_autofree gchar *wal = g_strconcat (path, "-wal", NULL);
  GStatBuf st;
  GStatBuf wal_st;

  *had_wal = g_lstat (wal, &wal_st) == 0;
  if (!*had_wal && errno != ENOENT)
    {
      int errsv = errno;
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_IO, "journal %s: %s", wal,
                   g_strerror (errsv));
      return FALSE;
    }
  if (g_lstat (path, &st) != 0)
    {
      int errsv = errno;

      if (errsv != ENOENT)
        {
          g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_IO, "journal %s: %s", path,
                       g_strerror (errsv));
          return FALSE;
        }
      if (*had_wal)
        {
          g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT,
                       "journal %s: the database is missing but its write-ahead log %s is there",
                       path, wal);
          return FALSE;
        }
      *exists = FALSE;
      return TRUE;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT,
                   "journal %s: not a regular file", path);
      return FALSE;
    }
  if (st.st_size == 0)
    {
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT,
                   "journal %s: the file is empty (0 bytes)", path);
      return FALSE;
    }
  *exists = TRUE;
  return TRUE;
}

static gboolean
sync_directory (const gchar *directory,
                GError **error)
{
  int fd = g_open (directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

  if (fd < 0 || fsync (fd) != 0)
    {
      int errsv = errno;
      if (fd >= 0)
        close (fd);
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_IO, "journal %s: cannot sync: %s",
                   directory, g_strerror (errsv));
      return FALSE;
    }
  close (fd);
  return TRUE;
}

static gboolean schema_create (sqlite3 *db,
                               const gchar *path,
                               HgDomain domain,
                               GError **error);

/* Creates a new journal whole: its schema is written to <path>.new, which is then renamed
 * to @path. So a journal.db that exists always had its schema, and one that is empty or
 * lacks it was damaged, never half-created. */
static gboolean
journal_create (const gchar *path,
                HgDomain domain,
                GError **error)
{
  g_autofree gchar *tmp = g_strconcat (path, ".new", NULL);
  g_autofree gchar *tmp_journal = g_strconcat (tmp, "-journal", NULL);
  g_autofree gchar *directory = g_path_get_dirname (path);
  sqlite3 *db = NULL;
  gboolean ok;
  int rc;

  /* what an interrupted creation left: never a journal yet */
  (void) g_unlink (tmp_journal);
  if (g_unlink (tmp) != 0 && errno != ENOENT)
    {
      int errsv = errno;
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_IO, "journal %s: cannot remove: %s",
                   tmp, g_strerror (errsv));
      return FALSE;
    }
  if (!hgd_sqlite_ensure_private_file (&journal_store, tmp, NULL, error))
    return FALSE;
  rc = sqlite3_open_v2 (tmp, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      hgd_sqlite_set_error (error, &journal_store, db, rc, tmp, "cannot create");
      sqlite3_close_v2 (db);
      return FALSE;
    }
  ok = hgd_sqlite_exec (db, &journal_store, tmp, "PRAGMA synchronous = FULL", "cannot create",
                        error)
       && schema_create (db, tmp, domain, error);
  rc = sqlite3_close_v2 (db);
  if (ok && rc != SQLITE_OK)
    {
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_IO, "journal %s: cannot close: %s",
                   tmp, sqlite3_errstr (rc));
      return FALSE;
    }
  if (!ok)
    return FALSE;
  if (g_rename (tmp, path) != 0)
    {
      int errsv = errno;
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_IO, "journal %s: cannot create: %s",
                   path, g_strerror (errsv));
      return FALSE;
    }
  g_debug ("journal %s: created for the %s domain", path, hg_domain_to_string (domain));
  return sync_directory (directory, error);
}

/* PRAGMA quick_check answers "ok", or lines saying what is wrong: report the first few. */
static gboolean
check_integrity (sqlite3 *db,
                 const gchar *path,
                 GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  const guint max_problems = 3;
  int rc;

  rc = sqlite3_prepare_v2 (db, "PRAGMA quick_check", -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      hgd_sqlite_set_error (error, &journal_store, db, rc, path, "integrity check failed");
      return FALSE;
    }
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW && problems->len < max_problems)
    {
      const gchar *line = (const gchar *) sqlite3_column_text (stmt, 0);

      if (g_strcmp0 (line, "ok") != 0)
        g_ptr_array_add (problems, g_strdup (line));
    }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      hgd_sqlite_set_error (error, &journal_store, db, rc, path, "integrity check failed");
      return FALSE;
    }
  if (problems->len > 0)
    {
      g_autofree gchar *text = NULL;

      g_ptr_array_add (problems, NULL);
      text = g_strjoinv ("; ", (gchar **) problems->pdata);
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT,
                   "journal %s: integrity check failed: %s", path, text);
      return FALSE;
    }
  return TRUE;
}

/* A new journal: every migration, then its domain. */
static gboolean
schema_create (sqlite3 *db,
               const gchar *path,
               HgDomain domain,
               GError **error)
{
  g_autofree gchar *meta = NULL;

  meta = g_strdup_printf ("INSERT INTO meta (key, value) VALUES ('domain', '%s')",
                          hg_domain_to_string (domain));
  return hgd_sqlite_migrate (db, &journal_store, path, migrations, n_migrations, error)
         && hgd_sqlite_exec (db, &journal_store, path, meta, "cannot create the schema", error);
}

/* Whether the file is a journal of @domain that this code can read or migrate. */
static gboolean
schema_check (Worker *worker,
              HgDomain domain,
              GError **error)
{
  g_autofree gchar *owner = NULL;
  gint64 version = 0;
  gint64 n_objects = 0;

  if (!hgd_sqlite_get_version (worker->db, &journal_store, worker->path, &version, error))
    return FALSE;
  /* a new journal is created whole (journal_create ()): a file without the schema was
   * emptied or replaced, and is refused like any other damage */
  if (version == 0)
    {
      if (!hgd_sqlite_query_int (worker->db, &journal_store, worker->path,
                                 "SELECT count(*) FROM sqlite_master", &n_objects,
                                 "cannot read the schema", error))
        return FALSE;
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT,
                   n_objects != 0 ? "journal %s: an SQLite database but not a hemgate journal"
                                  : "journal %s: an empty SQLite database, not a hemgate journal",
                   worker->path);
      return FALSE;
    }
  if (!hgd_sqlite_check_version (&journal_store, worker->path, version, n_migrations, error))
    return FALSE;
  if (!hgd_sqlite_query_text (worker->db, &journal_store, worker->path,
                              "SELECT value FROM meta WHERE key = 'domain'", &owner,
                              "cannot read the schema", error))
    return FALSE;
  if (g_strcmp0 (owner, hg_domain_to_string (domain)) != 0)
    {
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT,
                   "journal %s: belongs to the %s domain, not %s", worker->path,
                   owner != NULL ? owner : "unknown", hg_domain_to_string (domain));
      return FALSE;
    }
  return TRUE;
}

/* After migrating: every column the code uses is there. */
static gboolean
schema_probe (Worker *worker, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (schema_probes); i++)
    {
      g_autoptr(sqlite3_stmt) stmt = NULL;

      if (sqlite3_prepare_v2 (worker->db, schema_probes[i], -1, &stmt, NULL) != SQLITE_OK)
        {
          g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT,
                       "journal %s: unexpected schema: %s", worker->path, sqlite3_errmsg (worker->db));
          return FALSE;
        }
    }
  return TRUE;
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
      hgd_sqlite_set_error (error, &journal_store, worker->db, rc, worker->path, "cannot prepare");
      return FALSE;
    }
  return TRUE;
}

/* The journal's clean-close marker (meta 'state'): 'open' from the moment it is opened
 * (checkpointed into the database file itself), 'closed' once closed cleanly. A journal
 * left 'open' (the core was killed) keeps its newest commits in its WAL: if that WAL is
 * gone, so are they, and the sequence numbers would be handed out again. */
static gboolean
worker_check_closed (Worker *worker,
                     gboolean had_wal,
                     GError **error)
{
  g_autofree gchar *state = NULL;

  if (!hgd_sqlite_query_text (worker->db, &journal_store, worker->path,
                              "SELECT value FROM meta WHERE key = 'state'", &state,
                              "cannot read the schema", error))
    return FALSE;
  if (!had_wal && g_strcmp0 (state, "open") == 0)
    {
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT,
                   "journal %s: was not closed cleanly and its write-ahead log %s-wal is "
                   "missing: its newest events are lost",
                   worker->path, worker->path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
worker_mark_open (Worker *worker,
                  GError **error)
{
  if (!hgd_sqlite_exec (worker->db, &journal_store, worker->path,
                        "INSERT OR REPLACE INTO meta (key, value) VALUES ('state', 'open')",
                        "cannot mark the journal open", error)
      || !hgd_sqlite_exec (worker->db, &journal_store, worker->path, "PRAGMA wal_checkpoint(FULL)",
                           "cannot mark the journal open", error))
    return FALSE;
  worker->marked_open = TRUE;
  return TRUE;
}

static Worker *
worker_open (const gchar *path,
             HgDomain domain,
             gboolean had_wal,
             GError **error)
{
  g_autoptr(Worker) worker = g_new0 (Worker, 1);
  g_autofree gchar *mode = NULL;
  int rc;

  worker->path = g_strdup (path);
  g_mutex_init (&worker->jobs_lock);
  g_cond_init (&worker->jobs_cond);
  g_queue_init (&worker->alarm_lane);
  g_queue_init (&worker->ordinary_lane);
  g_mutex_init (&worker->lock);
  g_queue_init (&worker->done);

  rc = sqlite3_open_v2 (path, &worker->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      hgd_sqlite_set_error (error, &journal_store, worker->db, rc, path, "cannot open");
      return NULL;
    }
  sqlite3_extended_result_codes (worker->db, 1);
  sqlite3_busy_timeout (worker->db, BUSY_TIMEOUT_MS);

  /* every check reads only: a journal refused is left as it was */
  if (!check_integrity (worker->db, path, error) || !schema_check (worker, domain, error) ||
      !worker_check_closed (worker, had_wal, error))
    return NULL;
  /* one transaction: a journal whose migration fails is left as it was, too */
  if (!hgd_sqlite_migrate (worker->db, &journal_store, path, migrations, n_migrations, error)
      || !schema_probe (worker, error))
    return NULL;
  if (!hgd_sqlite_query_text (worker->db, &journal_store, path, "PRAGMA journal_mode = WAL", &mode,
                              "cannot switch to WAL mode", error))
    return NULL;
  if (g_strcmp0 (mode, "wal") != 0)
    {
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_IO,
                   "journal %s: cannot switch to WAL mode (still %s)", path, mode);
      return NULL;
    }
  /* FULL: in WAL mode every commit is fsynced before it returns */
  if (!hgd_sqlite_exec (worker->db, &journal_store, path, "PRAGMA synchronous = FULL",
                        "cannot set synchronous", error))
    return NULL;
  {
    g_autofree gchar *limit = g_strdup_printf ("PRAGMA journal_size_limit = %d", WAL_SIZE_LIMIT);
    gint64 ignored = 0;

    if (!hgd_sqlite_query_int (worker->db, &journal_store, path, limit, &ignored,
                               "cannot limit the WAL size", error))
      return NULL;
  }
  if (!worker_mark_open (worker, error))
    return NULL;
  if (!hgd_sqlite_exec (worker->db, &journal_store, path, indexes_sql, "cannot create the indexes",
                        error))
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
                       &worker->insert_key, error))
    return NULL;
  return g_steal_pointer (&worker);
}

static gboolean
journal_open_reader (HgdJournal *self,
                     GError **error)
{
  g_autofree gchar *seq = NULL;
  int rc;

  rc = sqlite3_open_v2 (self->path, &self->reader, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      hgd_sqlite_set_error (error, &journal_store, self->reader, rc, self->path,
                            "cannot open for reading");
      return FALSE;
    }
  sqlite3_extended_result_codes (self->reader, 1);
  sqlite3_busy_timeout (self->reader, BUSY_TIMEOUT_MS);
  if (!hgd_sqlite_query_text (self->reader, &journal_store, self->path,
                              "SELECT seq FROM sqlite_sequence WHERE name = 'events'", &seq,
                              "cannot read the last sequence number", error))
    return FALSE;
  self->last_seq = seq != NULL ? g_ascii_strtoull (seq, NULL, 10) : 0;
  return TRUE;
}

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
  g_clear_pointer (&self->reader, sqlite3_close_v2);
  g_clear_pointer (&self->worker, worker_free);
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

  if (!hgd_sqlite_ensure_directory (&journal_store, directory, error)
      || !check_files (self->path, &exists, &had_wal, error))
    return NULL;
  if (!exists && !journal_create (self->path, domain, error))
    return NULL;
  if (!hgd_sqlite_ensure_mode (&journal_store, self->path, 0600, error))
    return NULL;
  self->worker = worker_open (self->path, domain, had_wal, error);
  if (self->worker == NULL)
    return NULL;
  if (!journal_open_reader (self, error) || !ensure_files_private (self->path, error))
    return NULL;

  self->worker->dispatch = g_source_new (&dispatch_source_funcs, sizeof (GSource));
  g_source_set_static_name (self->worker->dispatch, "[hemgated] journal completions");
  g_source_set_callback (self->worker->dispatch, journal_dispatch_cb, self, NULL);
  g_source_set_ready_time (self->worker->dispatch, -1);
  g_source_attach (self->worker->dispatch, self->context);

  self->worker->thread = g_thread_try_new ("hgd-journal", worker_thread, self->worker, error);
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
  job = job_new (JOB_APPEND);
  job->urgent = TRUE;
  job->type = g_strdup ("clock.stepped");
  job->ts = now;
  job->source = g_strdup ("core");
  job->body = hg_json_object_to_string (body);
  job->task = g_steal_pointer (&task);
  worker_push (self->worker, job);
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
 * and time (now if its timestamp is 0), then #HgdJournal::event-appended is emitted,
 * then @callback runs. If the wall clock was stepped since the last event stamped now, a
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

  job = job_new (JOB_APPEND);
  job->type = g_strdup (hg_event_get_event_type (event));
  job->ts = hg_event_get_timestamp (event) != 0 ? hg_event_get_timestamp (event) : self->clock_wall;
  job->source = g_strdup (hg_event_get_source (event));
  job->body = hg_json_object_to_string (hg_event_get_body (event));
  job->alarm = alarm != NULL ? alarm_row_new (alarm, job->type) : NULL;
  if (key != NULL)
    {
      job->key = g_new0 (IdempotencyRow, 1);
      job->key->scope = g_strdup (scope);
      job->key->key = g_strdup (key);
      job->key->fingerprint = g_strdup (fingerprint);
    }
  job->task = g_steal_pointer (&task);
  worker_push (self->worker, job);
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

/* reading, on the main thread */

static sqlite3_stmt *
reader_prepare (HgdJournal *self,
                const gchar *sql,
                GError **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (self->reader, sql, -1, &stmt, NULL);

  if (rc != SQLITE_OK)
    {
      hgd_sqlite_set_error (error, &journal_store, self->reader, rc, self->path, "cannot read");
      return NULL;
    }
  return stmt;
}

static HgEvent *
event_from_row (HgdJournal *self,
                sqlite3_stmt *stmt,
                GError **error)
{
  guint64 seq = (guint64) sqlite3_column_int64 (stmt, 0);
  const gchar *type = (const gchar *) sqlite3_column_text (stmt, 1);
  const gchar *source = (const gchar *) sqlite3_column_text (stmt, 3);
  const gchar *text = (const gchar *) sqlite3_column_text (stmt, 4);
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(GError) error_local = NULL;
  HgEvent *event;

  if (!hg_event_type_is_valid (type))
    {
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT,
                   "journal %s: event %" G_GUINT64_FORMAT " has an invalid type", self->path, seq);
      return NULL;
    }
  body = hg_json_parse_object (text != NULL ? text : "", -1, 0, &error_local);
  if (body == NULL)
    {
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT,
                   "journal %s: event %" G_GUINT64_FORMAT ": %s", self->path, seq,
                   error_local->message);
      return NULL;
    }
  event = hg_event_new (type, body);
  hg_event_set_seq (event, seq);
  hg_event_set_domain (event, self->domain);
  hg_event_set_timestamp (event, sqlite3_column_int64 (stmt, 2));
  hg_event_set_source (event, source);
  return event;
}

/* Steps @stmt (seq, type, ts, source, body) to its end, one HgEvent per row. */
static GPtrArray *
collect_events (HgdJournal *self,
                sqlite3_stmt *stmt,
                const gchar *what,
                GError **error)
{
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func (g_object_unref);
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      HgEvent *event = event_from_row (self, stmt, error);
      if (event == NULL)
        return NULL;
      g_ptr_array_add (events, event);
    }
  if (rc != SQLITE_DONE)
    {
      g_autofree gchar *message = g_strdup_printf ("cannot read %s", what);
      hgd_sqlite_set_error (error, &journal_store, self->reader, rc, self->path, message);
      return NULL;
    }
  return g_steal_pointer (&events);
}

/**
 * hgd_journal_query_events:
 * @self: an #HgdJournal
 * @after: return events with a larger sequence number than this
 * @limit: at most this many, or 0 for all
 * @error: return location for a #GError
 *
 * Returns: (transfer container) (element-type HgEvent): the events in sequence order
 */
GPtrArray *
hgd_journal_query_events (HgdJournal *self,
                          guint64 after,
                          guint limit,
                          GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = reader_prepare (self,
                         "SELECT seq, type, ts, source, body FROM events WHERE seq > ?1 "
                         "ORDER BY seq LIMIT ?2",
                         error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) MIN (after, (guint64) G_MAXINT64));
  sqlite3_bind_int64 (stmt, 2, limit > 0 ? (sqlite3_int64) limit : -1);
  return collect_events (self, stmt, "events", error);
}

/**
 * hgd_journal_query_alarm_events:
 * @self: an #HgdJournal
 * @after: return events with a larger sequence number than this
 * @error: return location for a #GError
 *
 * The events journaled with an alarm record (`alarm.raised` and every later state), by
 * the journal's index on the alarm reference.
 *
 * Returns: (transfer container) (element-type HgEvent): the events in sequence order
 */
GPtrArray *
hgd_journal_query_alarm_events (HgdJournal *self,
                                guint64 after,
                                GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = reader_prepare (self,
                         "SELECT seq, type, ts, source, body FROM events WHERE alarm_ref IS NOT NULL "
                         "AND seq > ?1 ORDER BY seq",
                         error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) MIN (after, (guint64) G_MAXINT64));
  return collect_events (self, stmt, "alarm events", error);
}

/**
 * hgd_journal_query_readings:
 * @self: an #HgdJournal
 * @device: the `device` member of the readings' bodies
 * @since: the earliest journal time, microseconds since the epoch
 * @limit: at most this many, or 0 for all
 * @error: return location for a #GError
 *
 * The `sensor.reading` events of one device, by the journal's index on the device.
 *
 * Returns: (transfer container) (element-type HgEvent): the readings, oldest first
 */
GPtrArray *
hgd_journal_query_readings (HgdJournal *self,
                            const gchar *device,
                            gint64 since,
                            guint limit,
                            GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), NULL);
  g_return_val_if_fail (device != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = reader_prepare (self,
                         "SELECT seq, type, ts, source, body FROM events WHERE " SQL_IS_READING
                         " AND " SQL_READING_DEVICE " = ?1 AND ts >= ?2 ORDER BY ts, seq LIMIT ?3",
                         error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, device, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, since);
  sqlite3_bind_int64 (stmt, 3, limit > 0 ? (sqlite3_int64) limit : -1);
  return collect_events (self, stmt, "readings", error);
}

/**
 * hgd_journal_count_readings:
 * @self: an #HgdJournal
 * @device: the `device` member of the readings' bodies
 * @since: the start of the first bucket, microseconds since the epoch
 * @bucket: the length of each bucket, microseconds
 * @n_buckets: how many buckets
 * @error: return location for a #GError
 *
 * Counts one device's `sensor.reading` events in @n_buckets consecutive buckets from
 * @since, e.g. per hour over 7 days for the activity summary.
 *
 * Returns: (transfer full) (element-type guint): @n_buckets counts, oldest first
 */
GArray *
hgd_journal_count_readings (HgdJournal *self,
                            const gchar *device,
                            gint64 since,
                            gint64 bucket,
                            guint n_buckets,
                            GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GArray) counts = NULL;
  int rc;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), NULL);
  g_return_val_if_fail (device != NULL, NULL);
  g_return_val_if_fail (bucket > 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  counts = g_array_sized_new (FALSE, TRUE, sizeof (guint), n_buckets);
  g_array_set_size (counts, n_buckets);
  stmt = reader_prepare (self,
                         "SELECT (ts - ?2) / ?3, count(*) FROM events WHERE " SQL_IS_READING
                         " AND " SQL_READING_DEVICE " = ?1 AND ts >= ?2 AND ts < ?2 + ?3 * ?4 GROUP BY 1",
                         error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, device, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, since);
  sqlite3_bind_int64 (stmt, 3, bucket);
  sqlite3_bind_int64 (stmt, 4, n_buckets);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 i = sqlite3_column_int64 (stmt, 0);
      if (i >= 0 && i < n_buckets)
        g_array_index (counts, guint, i) = (guint) sqlite3_column_int64 (stmt, 1);
    }
  if (rc != SQLITE_DONE)
    {
      hgd_sqlite_set_error (error, &journal_store, self->reader, rc, self->path,
                            "cannot count readings");
      return NULL;
    }
  return g_steal_pointer (&counts);
}

/* The latest reading of each (device, kind), walking events_by_reading_kind: each step of
 * the two recursive tables and each latest row is one index seek, so the cost grows with
 * the number of devices and kinds, not with the number of readings. */
#define SQL_READINGS_BY_KIND "events INDEXED BY events_by_reading_kind WHERE " SQL_IS_READING
static const gchar latest_readings_sql[] =
  "WITH RECURSIVE"
  " devices (device) AS ("
  "  SELECT (SELECT " SQL_READING_DEVICE " FROM " SQL_READINGS_BY_KIND " AND " SQL_READING_DEVICE
  " IS NOT NULL ORDER BY " SQL_READING_DEVICE " LIMIT 1)"
  "  UNION ALL"
  "  SELECT (SELECT " SQL_READING_DEVICE " FROM " SQL_READINGS_BY_KIND " AND " SQL_READING_DEVICE
  " > devices.device ORDER BY " SQL_READING_DEVICE " LIMIT 1) FROM devices WHERE device IS NOT NULL),"
  " kinds (device, kind) AS ("
  "  SELECT device, (SELECT " SQL_READING_KIND " FROM " SQL_READINGS_BY_KIND " AND " SQL_READING_DEVICE
  " = devices.device AND " SQL_READING_KIND " IS NOT NULL ORDER BY " SQL_READING_KIND " LIMIT 1)"
  "  FROM devices WHERE device IS NOT NULL"
  "  UNION ALL"
  "  SELECT device, (SELECT " SQL_READING_KIND " FROM " SQL_READINGS_BY_KIND " AND " SQL_READING_DEVICE
  " = kinds.device AND " SQL_READING_KIND " > kinds.kind ORDER BY " SQL_READING_KIND " LIMIT 1)"
  "  FROM kinds WHERE kind IS NOT NULL)"
  " SELECT e.seq, e.type, e.ts, e.source, e.body FROM kinds JOIN events e ON e.seq = ("
  "  SELECT seq FROM " SQL_READINGS_BY_KIND " AND " SQL_READING_DEVICE " = kinds.device AND "
  SQL_READING_KIND " = kinds.kind ORDER BY ts DESC LIMIT 1)"
  " WHERE kinds.kind IS NOT NULL ORDER BY kinds.device, kinds.kind";

/**
 * hgd_journal_query_latest_readings:
 * @self: an #HgdJournal
 * @error: return location for a #GError
 *
 * The newest `sensor.reading` event of each device and kind still in the journal, however
 * long ago it was journaled: the device list of the domain.
 *
 * Returns: (transfer container) (element-type HgEvent): the readings, by device, then kind
 */
GPtrArray *
hgd_journal_query_latest_readings (HgdJournal *self,
                                   GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = reader_prepare (self, latest_readings_sql, error);
  if (stmt == NULL)
    return NULL;
  return collect_events (self, stmt, "latest readings", error);
}

/* Columns as SQL_ALARM_READ. */
static HgAlarm *
alarm_from_row (HgdJournal *self,
                sqlite3_stmt *stmt,
                GError **error)
{
  const gchar *ref = (const gchar *) sqlite3_column_text (stmt, 0);
  const gchar *type = (const gchar *) sqlite3_column_text (stmt, 1);
  const gchar *state_str = (const gchar *) sqlite3_column_text (stmt, 2);
  const gchar *detail_str = (const gchar *) sqlite3_column_text (stmt, 7);
  g_autoptr(HgAlarm) alarm = NULL;
  HgAlarmState state;

  if (!hg_alarm_type_is_valid (type) || !hg_alarm_state_from_string (state_str, &state))
    {
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT,
                   "journal %s: alarm %s has an invalid type or state", self->path, ref);
      return NULL;
    }
  alarm = hg_alarm_new (type);
  hg_alarm_set_reference (alarm, ref);
  hg_alarm_set_state (alarm, state);
  hg_alarm_set_source (alarm, (const gchar *) sqlite3_column_text (stmt, 3));
  hg_alarm_set_device (alarm, (const gchar *) sqlite3_column_text (stmt, 4));
  hg_alarm_set_location (alarm, (const gchar *) sqlite3_column_text (stmt, 5));
  hg_alarm_set_priority (alarm, (guint) CLAMP (sqlite3_column_int64 (stmt, 6), 0, 9));
  hg_alarm_set_times (alarm, sqlite3_column_int64 (stmt, 8), sqlite3_column_int64 (stmt, 9));
  if (detail_str != NULL)
    {
      g_autoptr(GError) error_local = NULL;
      g_autoptr(JsonObject) detail = hg_json_parse_object (detail_str, -1, 0, &error_local);

      if (detail == NULL)
        {
          g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT,
                       "journal %s: alarm %s: %s", self->path, ref, error_local->message);
          return NULL;
        }
      hg_alarm_set_detail (alarm, detail);
    }
  return g_steal_pointer (&alarm);
}

/**
 * hgd_journal_list_alarms:
 * @self: an #HgdJournal
 * @open_only: only alarms not yet closed or cancelled
 * @error: return location for a #GError
 *
 * Returns: (transfer container) (element-type HgAlarm): the alarms, oldest first
 */
GPtrArray *
hgd_journal_list_alarms (HgdJournal *self,
                         gboolean open_only,
                         GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GPtrArray) alarms = g_ptr_array_new_with_free_func (g_object_unref);
  int rc;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = reader_prepare (self,
                         open_only ? "SELECT " SQL_ALARM_READ
                                     " FROM alarms WHERE " SQL_ALARM_IS_OPEN " ORDER BY raised_seq"
                                   : "SELECT " SQL_ALARM_READ " FROM alarms ORDER BY raised_seq",
                         error);
  if (stmt == NULL)
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      HgAlarm *alarm = alarm_from_row (self, stmt, error);
      if (alarm == NULL)
        return NULL;
      g_ptr_array_add (alarms, alarm);
    }
  if (rc != SQLITE_DONE)
    {
      hgd_sqlite_set_error (error, &journal_store, self->reader, rc, self->path,
                            "cannot read alarms");
      return NULL;
    }
  return g_steal_pointer (&alarms);
}

/**
 * hgd_journal_count_alarms_in_state:
 * @self: an #HgdJournal
 * @state: an alarm state
 * @error: return location for a #GError
 *
 * Counts the alarms now in @state (one index lookup, alarms_by_state), e.g. for health.
 *
 * Returns: the count, or -1 with @error set
 */
gint64
hgd_journal_count_alarms_in_state (HgdJournal *self, HgAlarmState state, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), -1);
  g_return_val_if_fail ((guint)state < HG_ALARM_STATE_LAST, -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  stmt = reader_prepare (self, "SELECT count(*) FROM alarms WHERE state = ?1", error);
  if (stmt == NULL)
    return -1;
  sqlite3_bind_text (stmt, 1, hg_alarm_state_to_string (state), -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      hgd_sqlite_set_error (error, &journal_store, self->reader, rc, self->path,
                            "cannot count alarms");
      return -1;
    }
  return sqlite3_column_int64 (stmt, 0);
}

/**
 * hgd_journal_get_alarm:
 * @self: an #HgdJournal
 * @reference: the alarm's reference
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the alarm as last committed, or %NULL with
 *   %HGD_JOURNAL_ERROR_NOT_FOUND
 */
HgAlarm *
hgd_journal_get_alarm (HgdJournal *self,
                       const gchar *reference,
                       GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), NULL);
  g_return_val_if_fail (reference != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = reader_prepare (self, "SELECT " SQL_ALARM_READ " FROM alarms WHERE ref = ?1", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, reference, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return alarm_from_row (self, stmt, error);
  if (rc != SQLITE_DONE)
    {
      hgd_sqlite_set_error (error, &journal_store, self->reader, rc, self->path,
                            "cannot read alarms");
      return NULL;
    }
  g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_NOT_FOUND,
               "journal %s: no alarm with reference %s", self->path, reference);
  return NULL;
}

/**
 * hgd_journal_lookup_idempotency_key:
 * @self: an #HgdJournal
 * @scope: who sent @key
 * @key: an idempotency key
 * @now: the time now, in microseconds since the epoch; keys older than
 *   %HGD_JOURNAL_IDEMPOTENCY_KEY_LIFETIME are not found
 * @alarm_ref: (out) (optional) (nullable) (transfer full): the alarm raised with @key, or
 *   %NULL if @key is not recorded
 * @fingerprint: (out) (optional) (nullable) (transfer full): what that request asked
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success, even if @key is not recorded; %FALSE if the journal could not
 *   be read
 */
gboolean
hgd_journal_lookup_idempotency_key (HgdJournal *self,
                                    const gchar *scope,
                                    const gchar *key,
                                    gint64 now,
                                    gchar **alarm_ref,
                                    gchar **fingerprint,
                                    GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), FALSE);
  g_return_val_if_fail (scope != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (alarm_ref != NULL)
    *alarm_ref = NULL;
  if (fingerprint != NULL)
    *fingerprint = NULL;
  stmt = reader_prepare (self,
                         "SELECT alarm_ref, fingerprint FROM idempotency_keys "
                         "WHERE scope = ?1 AND key = ?2 AND ts >= ?3",
                         error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, scope, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, key, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, now - HGD_JOURNAL_IDEMPOTENCY_KEY_LIFETIME);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      if (alarm_ref != NULL)
        *alarm_ref = g_strdup ((const gchar *) sqlite3_column_text (stmt, 0));
      if (fingerprint != NULL)
        *fingerprint = g_strdup ((const gchar *) sqlite3_column_text (stmt, 1));
      return TRUE;
    }
  if (rc != SQLITE_DONE)
    {
      hgd_sqlite_set_error (error, &journal_store, self->reader, rc, self->path,
                            "cannot read idempotency keys");
      return FALSE;
    }
  return TRUE;
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
  return (guint64) worker_get_budget (self->worker);
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

  if (!db_used_bytes (self->reader, self->path, &bytes, error))
    return FALSE;
  *used = (guint64) bytes;
  return TRUE;
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
  Job *job = job_new (JOB_PRUNE);
  GHashTableIter iter;
  gpointer key;
  gpointer value;

  /* the worker gets its own copy of the rules */
  job->now = now;
  job->rules = g_ptr_array_new_with_free_func ((GDestroyNotify) retention_rule_free);
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
  worker_run_sync (self->worker, job);
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
  worker_push (self->worker, job);
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

/* setting a journal aside */

/**
 * hgd_journal_set_aside:
 * @directory: a domain's state directory
 * @extra: (nullable) (array zero-terminated=1): names of other files in @directory that
 *   belong with the journal and go with it, if they are there
 * @error: return location for a #GError
 *
 * Moves `journal.db` and its `-wal` and `-shm` files (and @extra) into a new directory
 * `journal-set-aside-<UTC time>` beside them, for inspection: nothing is deleted. The
 * next hgd_journal_new () on @directory creates a new, empty journal. For an operator,
 * with hemgated stopped (`hemgated --reset-journal`): never done by the core itself.
 *
 * Returns: (transfer full): the directory the files are in now, or %NULL with
 *   %HGD_JOURNAL_ERROR_NOT_FOUND if there is no journal, or %HGD_JOURNAL_ERROR_IO
 */
gchar *
hgd_journal_set_aside (const gchar *directory,
                       const gchar *const *extra,
                       GError **error)
{
  const gchar *const names[] = { "journal.db", "journal.db-wal", "journal.db-shm" };
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree gchar *stamp = g_date_time_format (now, "%Y%m%dT%H%M%SZ");
  g_autofree gchar *name = g_strdup_printf ("journal-set-aside-%s", stamp);
  g_autofree gchar *aside = g_build_filename (directory, name, NULL);
  g_autoptr(GPtrArray) moving = g_ptr_array_new ();

  g_return_val_if_fail (directory != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_ptr_array_add (moving, (gpointer) names[i]);
  for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
    g_ptr_array_add (moving, (gpointer) extra[i]);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree gchar *path = g_build_filename (directory, names[i], NULL);
      if (g_file_test (path, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK))
        break;
      if (i + 1 == G_N_ELEMENTS (names))
        {
          g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_NOT_FOUND,
                       "journal %s/journal.db: there is no journal to set aside", directory);
          return NULL;
        }
    }
  if (g_mkdir (aside, 0700) != 0)
    {
      int errsv = errno;
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_IO, "journal %s: cannot create: %s",
                   aside, g_strerror (errsv));
      return NULL;
    }
  for (guint i = 0; i < moving->len; i++)
    {
      const gchar *file = g_ptr_array_index (moving, i);
      g_autofree gchar *from = g_build_filename (directory, file, NULL);
      g_autofree gchar *to = g_build_filename (aside, file, NULL);

      if (g_rename (from, to) != 0 && errno != ENOENT)
        {
          int errsv = errno;
          g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_IO,
                       "journal %s: cannot move to %s: %s", from, aside, g_strerror (errsv));
          return NULL;
        }
    }
  if (!sync_directory (aside, error) || !sync_directory (directory, error))
    return NULL;
  return g_steal_pointer (&aside);
}

/* for tests */

void
hgd_journal_cap_size_for_test (HgdJournal *self,
                               gint64 extra_pages)
{
  g_autoptr(Job) job = job_new (JOB_CAP_SIZE);

  g_return_if_fail (HGD_IS_JOURNAL (self));

  job->extra_pages = extra_pages;
  worker_run_sync (self->worker, job);
  if (job->error != NULL)
    g_critical ("%s", job->error->message);
}

void
hgd_journal_hold_for_test (HgdJournal *self)
{
  Waiter held = { 0 };
  Job *job = job_new (JOB_HOLD);

  g_return_if_fail (HGD_IS_JOURNAL (self));
  g_return_if_fail (self->hold == NULL);

  self->hold = g_new0 (Waiter, 1);
  g_mutex_init (&self->hold->lock);
  g_cond_init (&self->hold->cond);
  g_mutex_init (&held.lock);
  g_cond_init (&held.cond);
  job->waiter = &held;
  job->release = self->hold;
  worker_push (self->worker, job);
  waiter_wait (&held);
  g_mutex_clear (&held.lock);
  g_cond_clear (&held.cond);
}

void
hgd_journal_release_for_test (HgdJournal *self)
{
  g_return_if_fail (HGD_IS_JOURNAL (self));
  g_return_if_fail (self->hold != NULL);

  waiter_signal (self->hold);
}

/**
 * hgd_journal_set_migrations_for_test:
 * @test_migrations: (array length=n_test_migrations) (nullable): the schema steps journals
 *   are created and migrated with from now on, or %NULL for the real ones
 * @n_test_migrations: how many
 *
 * Lets a test add a step, e.g. one that fails.
 */
void
hgd_journal_set_migrations_for_test (const HgdSqliteMigration *test_migrations,
                                     guint n_test_migrations)
{
  migrations = test_migrations != NULL ? test_migrations : journal_migrations;
  n_migrations = test_migrations != NULL ? n_test_migrations : G_N_ELEMENTS (journal_migrations);
}

/**
 * hgd_journal_get_schema_version:
 *
 * Returns: the schema version journals are migrated to
 */
guint
hgd_journal_get_schema_version (void)
{
  return G_N_ELEMENTS (journal_migrations);
}
