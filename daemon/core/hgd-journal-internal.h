/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the parts of HgdJournal share: the object's fields, the worker and its jobs, and
 * the SQL they agree on. hgd-journal.c is the object and its API, hgd-journal-writer.c the
 * worker thread that writes, hgd-journal-file.c opening, creating, checking and migrating
 * the file, hgd-journal-query.c the reads. Not for use outside them. */
#pragma once

#include <sqlite3.h>

#include "hgd-access-entry.h"
#include "hgd-journal-private.h"
#include "hgd-sqlite.h"

G_BEGIN_DECLS

/* The sensor readings, as the reading indexes (hgd-journal-file.c) and the queries
 * (hgd-journal-query.c) both spell them, so that SQLite can use the partial indexes. */
#define SQL_READING_DEVICE "json_extract(body, '$.device')"
#define SQL_READING_KIND "json_extract(body, '$.kind')"
#define SQL_IS_READING "type = 'sensor.reading'"

/* The final states of HgAlarmState, as stored in alarms.state. */
#define SQL_ALARM_IS_OPEN "state NOT IN ('closed', 'cancelled')"
#define SQL_ALARM_IS_FINAL "state IN ('closed', 'cancelled')"

#define SQL_ALARM_COLUMNS "ref, type, state, source, device, location, priority, detail"
/* what is read back: the columns above, then when the alarm was raised and last changed */
#define SQL_ALARM_READ SQL_ALARM_COLUMNS ", raised_ts, updated_ts"

/* The journal's errors in HGD_JOURNAL_ERROR, for hgd-sqlite.c. */
extern const HgdSqliteStore hgd_journal_store;

typedef enum
{
  JOB_APPEND,
  JOB_PRUNE,
  JOB_CAP_SIZE,
  JOB_HOLD,
  JOB_TRIM,
  JOB_ERASE,
  JOB_SYNC,
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
  HgAlarm *record;  /* (owned) (nullable) with @alarm: the record as this append leaves it,
                     * for #HgdJournal::alarm-recorded; main thread only */
  IdempotencyRow *key; /* (owned) (nullable) recorded with a raised @alarm */
  HgdAccessEntry *access; /* (owned) (nullable) an access-log entry instead of an event;
                           * the worker chains it (seq, prev_hash, hash) */
  GPtrArray *joined; /* (owned) (nullable) (element-type Job) appends of the same lane
                      * committed in this one's transaction, right after it, all or none
                      * (hgd_journal_begin_group ()); each completes on its own */

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
  sqlite3_stmt *begin;         /* (owned) BEGIN IMMEDIATE, as every append batch */
  sqlite3_stmt *commit;        /* (owned) COMMIT */
  sqlite3_stmt *used_stmt[3];  /* (owned) page_count, freelist_count, page_size: after
                                * every commit (the size budget) */
  GThread *thread;             /* (owned) (nullable) */
  GMutex jobs_lock;            /* guards @alarm_lane and @ordinary_lane */
  GCond jobs_cond;             /* signalled when a job is queued */
  GQueue alarm_lane;           /* (element-type Job) alarm-class appends, taken first */
  GQueue ordinary_lane;        /* (element-type Job) every other job */
  gint64 budget;               /* bytes, 0 for none; guarded by @jobs_lock */
  gboolean trimming;           /* a JOB_TRIM is queued or running; worker thread only */
  guint64 n_trimmed;           /* events the current trim removed; worker thread only */
  gint64 used;                 /* bytes in use after the last append commit, if
                                * @used_known; worker thread only */
  gboolean used_known;
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
  guint grouping;         /* hgd_journal_begin_group () not yet ended */
  Job *group;             /* (owned) (nullable) the group being gathered, not yet queued */
  /* (owned) (nullable) on @reader, prepared once: /api/v1/health asks on every request */
  sqlite3_stmt *used_stmt[3]; /* page_count, freelist_count, page_size */
  sqlite3_stmt *state_count_stmt;
  sqlite3_stmt *alarm_stmt; /* one alarm's record: read at every step of every alarm */
};

/* hgd-journal-writer.c: jobs and the worker thread */
AlarmRow *hgd_journal_alarm_row_new (HgAlarm *alarm,
                                     const gchar *event_type);
void hgd_journal_retention_rule_free (RetentionRule *rule);
Job *hgd_journal_job_new (JobKind kind);
void hgd_journal_job_free (Job *job);
gboolean hgd_journal_job_is_alarm_class (Job *job);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Job, hgd_journal_job_free)
void hgd_journal_waiter_signal (Waiter *waiter);
void hgd_journal_waiter_wait (Waiter *waiter);
Worker *hgd_journal_worker_open (const gchar *path,
                                 HgDomain domain,
                                 gboolean had_wal,
                                 GError **error);
void hgd_journal_worker_push (Worker *worker,
                              Job *job);
void hgd_journal_worker_run_sync (Worker *worker,
                                  Job *job);
gint64 hgd_journal_worker_get_budget (Worker *worker);
gpointer hgd_journal_worker_thread (gpointer user_data);
void hgd_journal_worker_free (Worker *worker);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Worker, hgd_journal_worker_free)

/* hgd-journal-file.c: the file */
gboolean hgd_journal_file_check (const gchar *path,
                                 gboolean *exists,
                                 gboolean *had_wal,
                                 GError **error);
gboolean hgd_journal_file_create (const gchar *path,
                                  HgDomain domain,
                                  GError **error);
gboolean hgd_journal_file_ensure_private (const gchar *path,
                                          GError **error);
gboolean hgd_journal_file_open_writer (Worker *worker,
                                       HgDomain domain,
                                       gboolean had_wal,
                                       GError **error);
gboolean hgd_journal_file_open_reader (HgdJournal *self,
                                       GError **error);
gboolean hgd_journal_reader_get_used_bytes (HgdJournal *self,
                                            gint64 *used,
                                            GError **error);
gboolean hgd_journal_file_get_used_bytes (Worker *worker,
                                          gint64 *used,
                                          GError **error);

G_END_DECLS
