/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the core's SQLite stores (the journal, the accounts) share: their errors, private
 * files, statements and transactions, and versioned schema migrations. */
#pragma once

#include <gio/gio.h>
#include <sqlite3.h>

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

/* What kind of failure an SQLite result code (or a file operation) is. */
typedef enum
{
  HGD_SQLITE_FAULT_IO,         /* any other storage failure */
  HGD_SQLITE_FAULT_DISK_FULL,  /* SQLITE_FULL, or an I/O error with ENOSPC or EDQUOT */
  HGD_SQLITE_FAULT_CORRUPT,    /* not a usable file of this store, or a schema it cannot use */
  HGD_SQLITE_FAULT_CONSTRAINT, /* a UNIQUE, NOT NULL, ... constraint refused a write */
  HGD_SQLITE_N_FAULTS
} HgdSqliteFault;

/* A store as its errors show it: every message starts "<name> <path>: ", and every fault
 * is reported as the store's own error code. */
typedef struct
{
  const gchar *name;                     /* "journal", "accounts" */
  GQuark (*error_quark) (void);          /* the store's error domain */
  gint error_codes[HGD_SQLITE_N_FAULTS]; /* its code for each HgdSqliteFault */
} HgdSqliteStore;

/* One step of a store's schema, from version N - 1 to N where N is its place in the list,
 * counted from 1: @sql is run, then @func, if given. */
typedef gboolean (*HgdSqliteMigrateFunc) (sqlite3 *db,
                                          const HgdSqliteStore *store,
                                          const gchar *path,
                                          GError **error);
typedef struct
{
  const gchar *sql;          /* (nullable) */
  HgdSqliteMigrateFunc func; /* (nullable) */
} HgdSqliteMigration;

HgdSqliteFault hgd_sqlite_fault_for (sqlite3 *db,
                                     int rc);
void hgd_sqlite_set_error (GError **error,
                           const HgdSqliteStore *store,
                           sqlite3 *db,
                           int rc,
                           const gchar *path,
                           const gchar *what);
void hgd_sqlite_set_error_fault (GError **error,
                                 const HgdSqliteStore *store,
                                 HgdSqliteFault fault,
                                 const gchar *path,
                                 const gchar *format,
                                 ...) G_GNUC_PRINTF (5, 6);

gboolean hgd_sqlite_ensure_directory (const HgdSqliteStore *store,
                                      const gchar *directory,
                                      GError **error);
gboolean hgd_sqlite_ensure_private_file (const HgdSqliteStore *store,
                                         const gchar *path,
                                         guint *lax_mode,
                                         GError **error);
gboolean hgd_sqlite_ensure_mode (const HgdSqliteStore *store,
                                 const gchar *path,
                                 guint mode,
                                 GError **error);

gboolean hgd_sqlite_exec (sqlite3 *db,
                          const HgdSqliteStore *store,
                          const gchar *path,
                          const gchar *sql,
                          const gchar *what,
                          GError **error);
gboolean hgd_sqlite_query_int (sqlite3 *db,
                               const HgdSqliteStore *store,
                               const gchar *path,
                               const gchar *sql,
                               gint64 *value,
                               const gchar *what,
                               GError **error);
gboolean hgd_sqlite_query_text (sqlite3 *db,
                                const HgdSqliteStore *store,
                                const gchar *path,
                                const gchar *sql,
                                gchar **value,
                                const gchar *what,
                                GError **error);

/* A write transaction that rolls back unless committed (as fwupd's FuDeviceLocker). */
typedef struct _HgdSqliteTransaction HgdSqliteTransaction;

HgdSqliteTransaction *hgd_sqlite_transaction_begin (sqlite3 *db,
                                                    const HgdSqliteStore *store,
                                                    const gchar *path,
                                                    GError **error);
HgdSqliteTransaction *hgd_sqlite_transaction_begin_prepared (sqlite3 *db,
                                                             const HgdSqliteStore *store,
                                                             const gchar *path,
                                                             sqlite3_stmt *begin,
                                                             sqlite3_stmt *commit,
                                                             GError **error);
gboolean hgd_sqlite_transaction_commit (HgdSqliteTransaction *txn,
                                        GError **error);
void hgd_sqlite_transaction_free (HgdSqliteTransaction *txn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgdSqliteTransaction, hgd_sqlite_transaction_free)

gboolean hgd_sqlite_get_version (sqlite3 *db,
                                 const HgdSqliteStore *store,
                                 const gchar *path,
                                 gint64 *version,
                                 GError **error);
gboolean hgd_sqlite_check_version (const HgdSqliteStore *store,
                                   const gchar *path,
                                   gint64 version,
                                   guint n_migrations,
                                   GError **error);
gboolean hgd_sqlite_migrate (sqlite3 *db,
                             const HgdSqliteStore *store,
                             const gchar *path,
                             const HgdSqliteMigration *migrations,
                             guint n_migrations,
                             GError **error);

G_END_DECLS
