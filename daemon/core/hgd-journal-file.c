/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The file of HgdJournal: creating a new journal whole, refusing one that is damaged, not
 * a journal, of another domain or newer than this code, migrating an older one's schema
 * (hgd-sqlite.c) and opening the write and read connections; and setting a journal aside. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "hgd-journal-internal.h"

/* The WAL file is cut back to this after a checkpoint, so it does not keep the size of
 * its largest burst on the flash. */
#define WAL_SIZE_LIMIT (4 * 1024 * 1024)

#define BUSY_TIMEOUT_MS 5000

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
 * one needs no migration. The sensor-history queries (hgd-journal-query.c) use exactly
 * this expression and WHERE, so SQLite can use the partial index. */
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

/* Schema version 3: the access log (HgdAccessLog), a hash chain of its own beside the
 * events rather than events of type access.*: events are sent to the domain's event
 * streams and plugins, removed by retention and trimmed for space, and the log must be
 * none of these. It is written only by the worker (hgd-journal-writer.c), which chains
 * each entry to the last one in the transaction that inserts it; `meta` 'access-head'
 * holds "<seq>:<hash>" of the last entry, so that a log cut short is seen too. */
static const gchar access_log_sql[]
    = "CREATE TABLE access_log ("
      "  seq INTEGER PRIMARY KEY NOT NULL,"
      "  ts INTEGER NOT NULL,"
      "  actor TEXT NOT NULL,"
      "  action TEXT NOT NULL,"
      "  object TEXT,"
      "  detail TEXT,"
      "  prev_hash TEXT NOT NULL,"
      "  hash TEXT NOT NULL);";

/* The schema, one step per version (hgd-sqlite.c): a new journal runs them all, an older
 * one those it lacks, when opened. Add a step for any change of a table; never edit one
 * that a release has shipped. */
static const HgdSqliteMigration journal_migrations[] = {
  { schema_sql, NULL },
  { idempotency_keys_sql, NULL },
  { access_log_sql, NULL },
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
  "SELECT seq, ts, actor, action, object, detail, prev_hash, hash FROM access_log LIMIT 0",
};

/* opening */

gboolean
hgd_journal_file_ensure_private (const gchar *path,
                                 GError **error)
{
  g_autofree gchar *wal = g_strconcat (path, "-wal", NULL);
  g_autofree gchar *shm = g_strconcat (path, "-shm", NULL);

  return hgd_sqlite_ensure_mode (&hgd_journal_store, path, 0600, error)
         && hgd_sqlite_ensure_mode (&hgd_journal_store, wal, 0600, error)
         && hgd_sqlite_ensure_mode (&hgd_journal_store, shm, 0600, error);
}

/* What is on disk before SQLite touches it. SQLite would take an empty or missing file
 * for a new database and a WAL without its database for nothing: both are a journal that
 * was lost, and are refused, naming the file. @exists: the database is there; @had_wal:
 * so is its WAL. */
gboolean
hgd_journal_file_check (const gchar *path,
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
gboolean
hgd_journal_file_create (const gchar *path,
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
  if (!hgd_sqlite_ensure_private_file (&hgd_journal_store, tmp, NULL, error))
    return FALSE;
  rc = sqlite3_open_v2 (tmp, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      hgd_sqlite_set_error (error, &hgd_journal_store, db, rc, tmp, "cannot create");
      sqlite3_close_v2 (db);
      return FALSE;
    }
  ok = hgd_sqlite_exec (db, &hgd_journal_store, tmp, "PRAGMA synchronous = FULL", "cannot create",
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
      hgd_sqlite_set_error (error, &hgd_journal_store, db, rc, path, "integrity check failed");
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
      hgd_sqlite_set_error (error, &hgd_journal_store, db, rc, path, "integrity check failed");
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
  return hgd_sqlite_migrate (db, &hgd_journal_store, path, migrations, n_migrations, error)
         && hgd_sqlite_exec (db, &hgd_journal_store, path, meta, "cannot create the schema", error);
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

  if (!hgd_sqlite_get_version (worker->db, &hgd_journal_store, worker->path, &version, error))
    return FALSE;
  /* a new journal is created whole (hgd_journal_file_create ()): a file without the schema was
   * emptied or replaced, and is refused like any other damage */
  if (version == 0)
    {
      if (!hgd_sqlite_query_int (worker->db, &hgd_journal_store, worker->path,
                                 "SELECT count(*) FROM sqlite_master", &n_objects,
                                 "cannot read the schema", error))
        return FALSE;
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT,
                   n_objects != 0 ? "journal %s: an SQLite database but not a hemgate journal"
                                  : "journal %s: an empty SQLite database, not a hemgate journal",
                   worker->path);
      return FALSE;
    }
  if (!hgd_sqlite_check_version (&hgd_journal_store, worker->path, version, n_migrations, error))
    return FALSE;
  if (!hgd_sqlite_query_text (worker->db, &hgd_journal_store, worker->path,
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

  if (!hgd_sqlite_query_text (worker->db, &hgd_journal_store, worker->path,
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
  if (!hgd_sqlite_exec (worker->db, &hgd_journal_store, worker->path,
                        "INSERT OR REPLACE INTO meta (key, value) VALUES ('state', 'open')",
                        "cannot mark the journal open", error)
      || !hgd_sqlite_exec (worker->db, &hgd_journal_store, worker->path,
                           "PRAGMA wal_checkpoint(FULL)", "cannot mark the journal open", error))
    return FALSE;
  worker->marked_open = TRUE;
  return TRUE;
}

/* Opens @worker's write connection to its journal, which exists: checks that it is an
 * undamaged journal of @domain that was closed cleanly or kept its WAL, migrates its
 * schema, and marks it open. */
gboolean
hgd_journal_file_open_writer (Worker *worker,
                              HgDomain domain,
                              gboolean had_wal,
                              GError **error)
{
  const gchar *path = worker->path;
  g_autofree gchar *mode = NULL;
  int rc;

  rc = sqlite3_open_v2 (path, &worker->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      hgd_sqlite_set_error (error, &hgd_journal_store, worker->db, rc, path, "cannot open");
      return FALSE;
    }
  sqlite3_extended_result_codes (worker->db, 1);
  sqlite3_busy_timeout (worker->db, BUSY_TIMEOUT_MS);

  /* every check reads only: a journal refused is left as it was */
  if (!check_integrity (worker->db, path, error) || !schema_check (worker, domain, error) ||
      !worker_check_closed (worker, had_wal, error))
    return FALSE;
  /* one transaction: a journal whose migration fails is left as it was, too */
  if (!hgd_sqlite_migrate (worker->db, &hgd_journal_store, path, migrations, n_migrations, error)
      || !schema_probe (worker, error))
    return FALSE;
  if (!hgd_sqlite_query_text (worker->db, &hgd_journal_store, path, "PRAGMA journal_mode = WAL",
                              &mode, "cannot switch to WAL mode", error))
    return FALSE;
  if (g_strcmp0 (mode, "wal") != 0)
    {
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_IO,
                   "journal %s: cannot switch to WAL mode (still %s)", path, mode);
      return FALSE;
    }
  /* FULL: in WAL mode every commit is fsynced before it returns */
  if (!hgd_sqlite_exec (worker->db, &hgd_journal_store, path, "PRAGMA synchronous = FULL",
                        "cannot set synchronous", error))
    return FALSE;
  {
    g_autofree gchar *limit = g_strdup_printf ("PRAGMA journal_size_limit = %d", WAL_SIZE_LIMIT);
    gint64 ignored = 0;

    if (!hgd_sqlite_query_int (worker->db, &hgd_journal_store, path, limit, &ignored,
                               "cannot limit the WAL size", error))
      return FALSE;
  }
  if (!worker_mark_open (worker, error))
    return FALSE;
  if (!hgd_sqlite_exec (worker->db, &hgd_journal_store, path, indexes_sql,
                        "cannot create the indexes", error))
    return FALSE;
  return TRUE;
}

gboolean
hgd_journal_file_open_reader (HgdJournal *self,
                              GError **error)
{
  g_autofree gchar *seq = NULL;
  int rc;

  rc = sqlite3_open_v2 (self->path, &self->reader, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      hgd_sqlite_set_error (error, &hgd_journal_store, self->reader, rc, self->path,
                            "cannot open for reading");
      return FALSE;
    }
  sqlite3_extended_result_codes (self->reader, 1);
  sqlite3_busy_timeout (self->reader, BUSY_TIMEOUT_MS);
  if (!hgd_sqlite_query_text (self->reader, &hgd_journal_store, self->path,
                              "SELECT seq FROM sqlite_sequence WHERE name = 'events'", &seq,
                              "cannot read the last sequence number", error))
    return FALSE;
  self->last_seq = seq != NULL ? g_ascii_strtoull (seq, NULL, 10) : 0;
  return TRUE;
}

/* The bytes the journal's pages hold; the free pages a deletion left are reused first. */
gboolean
hgd_journal_file_get_used_bytes (Worker *worker,
                                 gint64 *used,
                                 GError **error)
{
  static const gchar *const pragmas[] = { "PRAGMA page_count", "PRAGMA freelist_count",
                                          "PRAGMA page_size" };
  gint64 values[G_N_ELEMENTS (pragmas)] = { 0 };

  G_STATIC_ASSERT (G_N_ELEMENTS (pragmas) == G_N_ELEMENTS (worker->used_stmt));
  /* each PRAGMA is prepared once, and read when stepped */
  for (guint i = 0; i < G_N_ELEMENTS (pragmas); i++)
    {
      int rc = SQLITE_OK;

      if (worker->used_stmt[i] == NULL)
        rc = sqlite3_prepare_v3 (worker->db, pragmas[i], -1, SQLITE_PREPARE_PERSISTENT,
                                 &worker->used_stmt[i], NULL);
      if (rc == SQLITE_OK)
        {
          rc = sqlite3_step (worker->used_stmt[i]);
          if (rc == SQLITE_ROW)
            values[i] = sqlite3_column_int64 (worker->used_stmt[i], 0);
        }
      if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        hgd_sqlite_set_error (error, &hgd_journal_store, worker->db, rc, worker->path,
                              "cannot read the page count");
      if (worker->used_stmt[i] != NULL)
        sqlite3_reset (worker->used_stmt[i]);
      if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return FALSE;
    }
  *used = MAX (values[0] - values[1], 0) * values[2];
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
