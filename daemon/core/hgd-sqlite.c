/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The SQLite helpers of the journal and the accounts store, written once: errors in the
 * store's own domain, private directories and files, one-row queries, transactions, and
 * schema migrations kept in PRAGMA user_version.
 *
 * A store declares its schema as an ordered list of migrations, the first creating
 * version 1 from an empty file. hgd_sqlite_migrate() brings a file from its version to
 * the last in one transaction: a file is either wholly at the new version or, when a step
 * fails, as it was. A file newer than the list is refused, naming both versions: it was
 * written by a later hemgated, and this one cannot know what the later steps changed. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "hgd-sqlite.h"

struct _HgdSqliteTransaction
{
  sqlite3 *db;
  const HgdSqliteStore *store;
  gchar *path;          /* (owned) */
  sqlite3_stmt *commit; /* (unowned) (nullable) COMMIT, prepared by the caller */
  gboolean committed;
};

/* errors */

/**
 * hgd_sqlite_fault_for:
 * @db: (nullable): the connection that returned @rc, for the errno of an I/O error
 * @rc: an SQLite result code, extended or not
 *
 * Returns: what kind of failure @rc is
 */
HgdSqliteFault
hgd_sqlite_fault_for (sqlite3 *db, int rc)
{
  switch (rc & 0xff)
    {
    case SQLITE_FULL:
      return HGD_SQLITE_FAULT_DISK_FULL;
    case SQLITE_IOERR:
      if (db != NULL
          && (sqlite3_system_errno (db) == ENOSPC || sqlite3_system_errno (db) == EDQUOT))
        return HGD_SQLITE_FAULT_DISK_FULL;
      return HGD_SQLITE_FAULT_IO;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return HGD_SQLITE_FAULT_CORRUPT;
    case SQLITE_CONSTRAINT:
      return HGD_SQLITE_FAULT_CONSTRAINT;
    default:
      return HGD_SQLITE_FAULT_IO;
    }
}

/**
 * hgd_sqlite_set_error_fault:
 * @error: return location for a #GError
 * @store: the store
 * @fault: what kind of failure
 * @path: the file (or directory) concerned
 * @format: printf()-style, what went wrong
 *
 * Sets "<store> <path>: <message>" in @store's domain, with its code for @fault.
 */
void
hgd_sqlite_set_error_fault (GError **error,
                            const HgdSqliteStore *store,
                            HgdSqliteFault fault,
                            const gchar *path,
                            const gchar *format,
                            ...)
{
  g_autofree gchar *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, store->error_quark (), store->error_codes[fault], "%s %s: %s", store->name,
               path, message);
}

/**
 * hgd_sqlite_set_error:
 * @error: return location for a #GError
 * @store: the store
 * @db: (nullable): the connection of the failed call, for its message
 * @rc: the failed call's result code
 * @path: the database file
 * @what: (nullable): what was being done, e.g. "cannot open"
 *
 * Sets "<store> <path>: <what>: <SQLite's message>" right after the failed call.
 */
void
hgd_sqlite_set_error (GError **error,
                      const HgdSqliteStore *store,
                      sqlite3 *db,
                      int rc,
                      const gchar *path,
                      const gchar *what)
{
  const gchar *message = db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc);

  if (what != NULL)
    hgd_sqlite_set_error_fault (error, store, hgd_sqlite_fault_for (db, rc), path, "%s: %s", what,
                                message);
  else
    hgd_sqlite_set_error_fault (error, store, hgd_sqlite_fault_for (db, rc), path, "%s", message);
}

/* private files */

/**
 * hgd_sqlite_ensure_mode:
 * @store: the store
 * @path: a file or directory; one that does not exist is no error
 * @mode: the mode it must have
 * @error: return location for a #GError
 *
 * Returns: %TRUE if @path has @mode now or does not exist
 */
gboolean
hgd_sqlite_ensure_mode (const HgdSqliteStore *store, const gchar *path, guint mode, GError **error)
{
  if (g_chmod (path, mode) != 0 && errno != ENOENT)
    {
      int errsv = errno;
      hgd_sqlite_set_error_fault (error, store, HGD_SQLITE_FAULT_IO, path,
                                  "cannot set mode %04o: %s", mode, g_strerror (errsv));
      return FALSE;
    }
  return TRUE;
}

/**
 * hgd_sqlite_ensure_directory:
 * @store: the store
 * @directory: where its files live
 * @error: return location for a #GError
 *
 * Creates @directory 0700 with its parents, or makes an existing one 0700.
 *
 * Returns: %TRUE if @directory is there and private
 */
gboolean
hgd_sqlite_ensure_directory (const HgdSqliteStore *store, const gchar *directory, GError **error)
{
  GStatBuf st;

  if (g_mkdir_with_parents (directory, 0700) != 0)
    {
      int errsv = errno;
      hgd_sqlite_set_error_fault (error, store, HGD_SQLITE_FAULT_IO, directory,
                                  "cannot create the directory: %s", g_strerror (errsv));
      return FALSE;
    }
  if (g_stat (directory, &st) != 0)
    {
      int errsv = errno;
      hgd_sqlite_set_error_fault (error, store, HGD_SQLITE_FAULT_IO, directory, "%s",
                                  g_strerror (errsv));
      return FALSE;
    }
  if ((st.st_mode & 07777) != 0700)
    {
      g_debug ("%s %s: setting directory mode 0700 (was %04o)", store->name, directory,
               (guint) (st.st_mode & 07777));
      return hgd_sqlite_ensure_mode (store, directory, 0700, error);
    }
  return TRUE;
}

/**
 * hgd_sqlite_ensure_private_file:
 * @store: the store
 * @path: a database file
 * @lax_mode: (out) (optional): the mode @path had if others could read or write it, else 0
 * @error: return location for a #GError
 *
 * Creates @path 0600 if missing, or makes it 0600. SQLite would create it 0644 & ~umask;
 * it gives the -wal and -shm files the mode of the database file.
 *
 * Returns: %TRUE if @path is there and 0600
 */
gboolean
hgd_sqlite_ensure_private_file (const HgdSqliteStore *store,
                                const gchar *path,
                                guint *lax_mode,
                                GError **error)
{
  int fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  struct stat st;

  if (lax_mode != NULL)
    *lax_mode = 0;
  if (fd < 0)
    {
      int errsv = errno;
      hgd_sqlite_set_error_fault (error, store, HGD_SQLITE_FAULT_IO, path, "cannot open: %s",
                                  g_strerror (errsv));
      return FALSE;
    }
  if (fstat (fd, &st) != 0 || (st.st_mode & 07777) != 0600)
    {
      if (lax_mode != NULL && (st.st_mode & 0077) != 0)
        *lax_mode = st.st_mode & 07777;
      if (fchmod (fd, 0600) != 0)
        {
          int errsv = errno;
          close (fd);
          hgd_sqlite_set_error_fault (error, store, HGD_SQLITE_FAULT_IO, path,
                                      "cannot set mode 0600: %s", g_strerror (errsv));
          return FALSE;
        }
    }
  if (close (fd) != 0)
    {
      int errsv = errno;
      hgd_sqlite_set_error_fault (error, store, HGD_SQLITE_FAULT_IO, path, "%s",
                                  g_strerror (errsv));
      return FALSE;
    }
  return TRUE;
}

/* statements, used by whichever thread owns @db */

/**
 * hgd_sqlite_exec:
 * @db: the connection
 * @store: the store
 * @path: its file, for the message
 * @sql: one or more statements
 * @what: (nullable): what they do, for the message
 * @error: return location for a #GError
 *
 * Returns: %TRUE if every statement of @sql ran
 */
gboolean
hgd_sqlite_exec (sqlite3 *db,
                 const HgdSqliteStore *store,
                 const gchar *path,
                 const gchar *sql,
                 const gchar *what,
                 GError **error)
{
  int rc = sqlite3_exec (db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    {
      hgd_sqlite_set_error (error, store, db, rc, path, what);
      return FALSE;
    }
  return TRUE;
}

static sqlite3_stmt *
query_first_row (sqlite3 *db,
                 const HgdSqliteStore *store,
                 const gchar *path,
                 const gchar *sql,
                 gboolean *has_row,
                 const gchar *what,
                 GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      hgd_sqlite_set_error (error, store, db, rc, path, what);
      return NULL;
    }
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      hgd_sqlite_set_error (error, store, db, rc, path, what);
      return NULL;
    }
  *has_row = rc == SQLITE_ROW;
  return g_steal_pointer (&stmt);
}

/**
 * hgd_sqlite_query_text:
 * @db: the connection
 * @store: the store
 * @path: its file, for the message
 * @sql: a query
 * @value: (out) (transfer full) (nullable): the first column of its first row, %NULL if
 *   there is no row
 * @what: (nullable): what it asks, for the message
 * @error: return location for a #GError
 *
 * Returns: %TRUE if the query ran
 */
gboolean
hgd_sqlite_query_text (sqlite3 *db,
                       const HgdSqliteStore *store,
                       const gchar *path,
                       const gchar *sql,
                       gchar **value,
                       const gchar *what,
                       GError **error)
{
  gboolean has_row = FALSE;
  g_autoptr(sqlite3_stmt) stmt = query_first_row (db, store, path, sql, &has_row, what, error);

  if (stmt == NULL)
    return FALSE;
  *value = has_row ? g_strdup ((const gchar *) sqlite3_column_text (stmt, 0)) : NULL;
  return TRUE;
}

/**
 * hgd_sqlite_query_int:
 * @db: the connection
 * @store: the store
 * @path: its file, for the message
 * @sql: a query
 * @value: (out): the first column of its first row, 0 if there is no row
 * @what: (nullable): what it asks, for the message
 * @error: return location for a #GError
 *
 * Returns: %TRUE if the query ran
 */
gboolean
hgd_sqlite_query_int (sqlite3 *db,
                      const HgdSqliteStore *store,
                      const gchar *path,
                      const gchar *sql,
                      gint64 *value,
                      const gchar *what,
                      GError **error)
{
  gboolean has_row = FALSE;
  g_autoptr(sqlite3_stmt) stmt = query_first_row (db, store, path, sql, &has_row, what, error);

  if (stmt == NULL)
    return FALSE;
  *value = has_row ? sqlite3_column_int64 (stmt, 0) : 0;
  return TRUE;
}

/* transactions */

/**
 * hgd_sqlite_transaction_begin:
 * @db: the connection
 * @store: the store
 * @path: its file, for messages
 * @error: return location for a #GError
 *
 * Begins a write transaction (BEGIN IMMEDIATE); freeing it uncommitted rolls it back.
 *
 * Returns: (transfer full) (nullable): the transaction
 */
HgdSqliteTransaction *
hgd_sqlite_transaction_begin (sqlite3 *db,
                              const HgdSqliteStore *store,
                              const gchar *path,
                              GError **error)
{
  HgdSqliteTransaction *txn;

  if (!hgd_sqlite_exec (db, store, path, "BEGIN IMMEDIATE", "cannot begin a transaction", error))
    return NULL;
  txn = g_new0 (HgdSqliteTransaction, 1);
  txn->db = db;
  txn->store = store;
  txn->path = g_strdup (path);
  return txn;
}

/* Steps @stmt, which returns no row, once and resets it. */
static gboolean
step_prepared (sqlite3 *db,
               const HgdSqliteStore *store,
               const gchar *path,
               sqlite3_stmt *stmt,
               const gchar *what,
               GError **error)
{
  int rc = sqlite3_step (stmt);

  if (rc != SQLITE_DONE)
    hgd_sqlite_set_error (error, store, db, rc, path, what);
  sqlite3_reset (stmt);
  return rc == SQLITE_DONE;
}

/**
 * hgd_sqlite_transaction_begin_prepared:
 * @db: the connection
 * @store: the store
 * @path: its file, for messages
 * @begin: `BEGIN IMMEDIATE` prepared on @db
 * @commit: `COMMIT` prepared on @db; must stay valid as long as the transaction
 * @error: return location for a #GError
 *
 * As hgd_sqlite_transaction_begin(), with statements the caller prepared once, for a
 * connection that commits often: sqlite3_exec () parses its SQL on every call.
 *
 * Returns: (transfer full) (nullable): the transaction
 */
HgdSqliteTransaction *
hgd_sqlite_transaction_begin_prepared (sqlite3 *db,
                                       const HgdSqliteStore *store,
                                       const gchar *path,
                                       sqlite3_stmt *begin,
                                       sqlite3_stmt *commit,
                                       GError **error)
{
  HgdSqliteTransaction *txn;

  if (!step_prepared (db, store, path, begin, "cannot begin a transaction", error))
    return NULL;
  txn = g_new0 (HgdSqliteTransaction, 1);
  txn->db = db;
  txn->store = store;
  txn->path = g_strdup (path);
  txn->commit = commit;
  return txn;
}

/**
 * hgd_sqlite_transaction_commit:
 * @txn: a transaction
 * @error: return location for a #GError
 *
 * Returns: %TRUE if it was committed
 */
gboolean
hgd_sqlite_transaction_commit (HgdSqliteTransaction *txn, GError **error)
{
  if (txn->commit != NULL)
    {
      if (!step_prepared (txn->db, txn->store, txn->path, txn->commit, "cannot commit", error))
        return FALSE;
    }
  else if (!hgd_sqlite_exec (txn->db, txn->store, txn->path, "COMMIT", "cannot commit", error))
    return FALSE;
  txn->committed = TRUE;
  return TRUE;
}

/**
 * hgd_sqlite_transaction_free:
 * @txn: (transfer full): a transaction
 *
 * Rolls @txn back unless it was committed.
 */
void
hgd_sqlite_transaction_free (HgdSqliteTransaction *txn)
{
  /* SQLite may have rolled back already, e.g. after SQLITE_FULL */
  if (!txn->committed && !sqlite3_get_autocommit (txn->db))
    sqlite3_exec (txn->db, "ROLLBACK", NULL, NULL, NULL);
  g_free (txn->path);
  g_free (txn);
}

/* schema versions */

/**
 * hgd_sqlite_get_version:
 * @db: the connection
 * @store: the store
 * @path: its file, for the message
 * @version: (out): the file's schema version, 0 for an empty file
 * @error: return location for a #GError
 *
 * Returns: %TRUE if the version was read
 */
gboolean
hgd_sqlite_get_version (
    sqlite3 *db, const HgdSqliteStore *store, const gchar *path, gint64 *version, GError **error)
{
  return hgd_sqlite_query_int (db, store, path, "PRAGMA user_version", version,
                               "cannot read the schema version", error);
}

/**
 * hgd_sqlite_check_version:
 * @store: the store
 * @path: its file, for the message
 * @version: the file's schema version
 * @n_migrations: how many migrations the code knows, so its newest version
 * @error: return location for a #GError
 *
 * Refuses a file written by a later release: one this code cannot migrate.
 *
 * Returns: %TRUE if @version is at most @n_migrations
 */
gboolean
hgd_sqlite_check_version (const HgdSqliteStore *store,
                          const gchar *path,
                          gint64 version,
                          guint n_migrations,
                          GError **error)
{
  if (version < 0)
    {
      hgd_sqlite_set_error_fault (error, store, HGD_SQLITE_FAULT_CORRUPT, path,
                                  "schema version %" G_GINT64_FORMAT " is not supported",
                                  version);
      return FALSE;
    }
  if (version > (gint64) n_migrations)
    {
      hgd_sqlite_set_error_fault (error, store, HGD_SQLITE_FAULT_CORRUPT, path,
                                  "schema version %" G_GINT64_FORMAT " is newer than this "
                                  "hemgated understands (%u): written by a later release?",
                                  version, n_migrations);
      return FALSE;
    }
  return TRUE;
}

/**
 * hgd_sqlite_migrate:
 * @db: the connection, with no transaction open
 * @store: the store
 * @path: its file, for messages
 * @migrations: (array length=n_migrations): the store's schema, version 1 first
 * @n_migrations: how many
 * @error: return location for a #GError
 *
 * Brings the file's schema from its PRAGMA user_version to @n_migrations, running the
 * migrations it lacks in order, in one transaction with the new version. A file already
 * at @n_migrations is not written to; one past it is refused (hgd_sqlite_check_version()).
 * On failure the file is left as it was.
 *
 * Returns: %TRUE if the file's schema is at version @n_migrations
 */
gboolean
hgd_sqlite_migrate (sqlite3 *db,
                    const HgdSqliteStore *store,
                    const gchar *path,
                    const HgdSqliteMigration *migrations,
                    guint n_migrations,
                    GError **error)
{
  g_autoptr(HgdSqliteTransaction) txn = NULL;
  g_autofree gchar *set_version = NULL;
  gint64 version = 0;

  g_return_val_if_fail (n_migrations > 0, FALSE);

  if (!hgd_sqlite_get_version (db, store, path, &version, error)
      || !hgd_sqlite_check_version (store, path, version, n_migrations, error))
    return FALSE;
  if (version == (gint64) n_migrations)
    return TRUE;
  /* read again inside the transaction: another connection may have migrated meanwhile */
  txn = hgd_sqlite_transaction_begin (db, store, path, error);
  if (txn == NULL || !hgd_sqlite_get_version (db, store, path, &version, error)
      || !hgd_sqlite_check_version (store, path, version, n_migrations, error))
    return FALSE;
  for (guint i = (guint) version; i < n_migrations; i++)
    {
      g_autofree gchar *what = g_strdup_printf ("cannot migrate the schema to version %u", i + 1);

      if (migrations[i].sql != NULL
          && !hgd_sqlite_exec (db, store, path, migrations[i].sql, what, error))
        return FALSE;
      if (migrations[i].func != NULL && !migrations[i].func (db, store, path, error))
        return FALSE;
    }
  set_version = g_strdup_printf ("PRAGMA user_version = %u", n_migrations);
  if (!hgd_sqlite_exec (db, store, path, set_version, "cannot set the schema version", error)
      || !hgd_sqlite_transaction_commit (txn, error))
    return FALSE;
  if (version > 0)
    g_message ("%s %s: schema migrated from version %" G_GINT64_FORMAT " to %u", store->name, path,
               version, n_migrations);
  return TRUE;
}
