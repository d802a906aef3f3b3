/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the SQLite helper (hgd-sqlite.c): schema migrations on a new file, an older
 * one, a newer one and a failing step; errors in the store's own domain; private files. */
#include "config.h"

#include <sys/stat.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "hgd-sqlite.h"

typedef enum
{
  TEST_ERROR_IO,
  TEST_ERROR_FULL,
  TEST_ERROR_BROKEN,
  TEST_ERROR_REFUSED,
} TestError;

static G_DEFINE_QUARK (test-store-error-quark, test_store_error)

static const HgdSqliteStore test_store = {
  .name = "notes",
  .error_quark = test_store_error_quark,
  .error_codes = {
    [HGD_SQLITE_FAULT_IO] = TEST_ERROR_IO,
    [HGD_SQLITE_FAULT_DISK_FULL] = TEST_ERROR_FULL,
    [HGD_SQLITE_FAULT_CORRUPT] = TEST_ERROR_BROKEN,
    [HGD_SQLITE_FAULT_CONSTRAINT] = TEST_ERROR_REFUSED,
  },
};

/* version 3, by a function: every note gets its length */
static gboolean
add_lengths (sqlite3 *db,
             const HgdSqliteStore *store,
             const gchar *path,
             GError **error)
{
  return hgd_sqlite_exec (db, store, path, "UPDATE notes SET length = length (text)",
                          "cannot measure the notes", error);
}

static const HgdSqliteMigration migrations[] = {
  { "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)", NULL },
  { "ALTER TABLE notes ADD COLUMN length INTEGER", NULL },
  { NULL, add_lengths },
};

/* the steps above, then one that does part of its work and fails */
static const HgdSqliteMigration failing_migrations[] = {
  { "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)", NULL },
  { "ALTER TABLE notes ADD COLUMN length INTEGER", NULL },
  { NULL, add_lengths },
  { "CREATE TABLE tags (name TEXT); INSERT INTO notes (id, text) VALUES (1, 'again')", NULL },
};

static gchar *
test_path (void)
{
  /* G_TEST_OPTION_ISOLATE_DIRS: empty for every test */
  g_assert_cmpint (g_mkdir_with_parents (g_get_user_state_dir (), 0700), ==, 0);
  return g_build_filename (g_get_user_state_dir (), "notes.db", NULL);
}

static sqlite3 *
open_db (const gchar *path)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  return db;
}

static gint64
get_version (sqlite3 *db)
{
  g_autoptr(GError) error = NULL;
  gint64 version = -1;

  g_assert_true (hgd_sqlite_get_version (db, &test_store, "notes.db", &version, &error));
  g_assert_no_error (error);
  return version;
}

static gint64
query_int (sqlite3 *db,
           const gchar *sql)
{
  g_autoptr(GError) error = NULL;
  gint64 value = -1;

  g_assert_true (hgd_sqlite_query_int (db, &test_store, "notes.db", sql, &value, NULL, &error));
  g_assert_no_error (error);
  return value;
}

static void
test_migrate_new_file (void)
{
  g_autofree gchar *path = test_path ();
  g_autoptr(GError) error = NULL;
  sqlite3 *db = open_db (path);

  g_test_summary ("An empty file gets every step and the newest version");

  g_assert_cmpint (get_version (db), ==, 0);
  g_assert_true (hgd_sqlite_migrate (db, &test_store, path, migrations, G_N_ELEMENTS (migrations),
                                     &error));
  g_assert_no_error (error);
  g_assert_cmpint (get_version (db), ==, 3);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM pragma_table_info('notes') "
                                  "WHERE name = 'length'"),
                   ==, 1);

  /* again: nothing left to do */
  g_assert_true (hgd_sqlite_migrate (db, &test_store, path, migrations, G_N_ELEMENTS (migrations),
                                     &error));
  g_assert_no_error (error);
  g_assert_cmpint (get_version (db), ==, 3);
  sqlite3_close (db);
}

static void
test_migrate_older_file (void)
{
  g_autofree gchar *path = test_path ();
  g_autoptr(GError) error = NULL;
  sqlite3 *db = open_db (path);

  g_test_summary ("A version 1 file gets only the steps it lacks, its rows kept and brought "
                  "up to date by a step that is a function");

  g_assert_true (hgd_sqlite_migrate (db, &test_store, path, migrations, 1, &error));
  g_assert_no_error (error);
  g_assert_true (hgd_sqlite_exec (db, &test_store, path,
                                  "INSERT INTO notes (id, text) VALUES (1, 'milk'), (2, 'bread')",
                                  NULL, &error));
  g_assert_cmpint (get_version (db), ==, 1);

  g_assert_true (hgd_sqlite_migrate (db, &test_store, path, migrations, G_N_ELEMENTS (migrations),
                                     &error));
  g_assert_no_error (error);
  g_assert_cmpint (get_version (db), ==, 3);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM notes"), ==, 2);
  g_assert_cmpint (query_int (db, "SELECT length FROM notes WHERE id = 2"), ==, 5);
  sqlite3_close (db);
}

static void
test_migrate_newer_file_refused (void)
{
  g_autofree gchar *path = test_path ();
  g_autoptr(GError) error = NULL;
  sqlite3 *db = open_db (path);

  g_test_summary ("A file written by a later release is refused, naming both versions, and "
                  "left as it was");

  g_assert_true (hgd_sqlite_migrate (db, &test_store, path, migrations, G_N_ELEMENTS (migrations),
                                     &error));
  g_assert_true (hgd_sqlite_exec (db, &test_store, path, "PRAGMA user_version = 7", NULL, &error));
  g_assert_no_error (error);

  g_assert_false (hgd_sqlite_migrate (db, &test_store, path, migrations,
                                      G_N_ELEMENTS (migrations), &error));
  g_assert_error (error, test_store_error_quark (), TEST_ERROR_BROKEN);
  g_assert_true (g_str_has_prefix (error->message, "notes "));
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "schema version 7 is newer than this hemgated "
                                            "understands (3)"));
  g_assert_cmpint (get_version (db), ==, 7);
  sqlite3_close (db);
}

static void
test_migrate_failure_rolled_back (void)
{
  g_autofree gchar *path = test_path ();
  g_autofree gchar *before = NULL;
  g_autofree gchar *after = NULL;
  gsize before_length = 0;
  gsize after_length = 0;
  g_autoptr(GError) error = NULL;
  sqlite3 *db = open_db (path);

  g_test_summary ("A step that fails leaves the file as it was: no step of the migration "
                  "is kept, and the version is the old one");

  g_assert_true (hgd_sqlite_migrate (db, &test_store, path, migrations, 1, &error));
  g_assert_true (hgd_sqlite_exec (db, &test_store, path,
                                  "INSERT INTO notes (id, text) VALUES (1, 'milk')", NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &before, &before_length, NULL));

  g_assert_false (hgd_sqlite_migrate (db, &test_store, path, failing_migrations,
                                      G_N_ELEMENTS (failing_migrations), &error));
  /* the fourth step's INSERT hits the primary key */
  g_assert_error (error, test_store_error_quark (), TEST_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "cannot migrate the schema to version 4"));

  g_assert_cmpint (get_version (db), ==, 1);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM pragma_table_info('notes') "
                                  "WHERE name = 'length'"),
                   ==, 0);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM sqlite_master WHERE name = 'tags'"), ==, 0);
  sqlite3_close (db);
  g_assert_true (g_file_get_contents (path, &after, &after_length, NULL));
  g_assert_cmpmem (before, before_length, after, after_length);
}

static void
test_error_names_store (void)
{
  g_autofree gchar *path = test_path ();
  g_autoptr(GError) error = NULL;
  sqlite3 *db = open_db (path);

  g_test_summary ("An SQLite failure is reported in the store's domain as <store> <path>: "
                  "<what>: <SQLite's message>");

  g_assert_false (hgd_sqlite_exec (db, &test_store, path, "SELECT * FROM nowhere",
                                   "cannot look", &error));
  g_assert_error (error, test_store_error_quark (), TEST_ERROR_IO);
  g_assert_true (g_str_has_prefix (error->message, "notes "));
  g_assert_nonnull (strstr (error->message, ": cannot look: no such table: nowhere"));
  sqlite3_close (db);

  g_assert_cmpint (hgd_sqlite_fault_for (NULL, SQLITE_FULL), ==, HGD_SQLITE_FAULT_DISK_FULL);
  g_assert_cmpint (hgd_sqlite_fault_for (NULL, SQLITE_NOTADB), ==, HGD_SQLITE_FAULT_CORRUPT);
  g_assert_cmpint (hgd_sqlite_fault_for (NULL, SQLITE_CONSTRAINT_UNIQUE), ==,
                   HGD_SQLITE_FAULT_CONSTRAINT);
  g_assert_cmpint (hgd_sqlite_fault_for (NULL, SQLITE_IOERR_WRITE), ==, HGD_SQLITE_FAULT_IO);
}

static guint
file_mode (const gchar *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 07777;
}

static void
test_private_files (void)
{
  g_autofree gchar *directory = g_build_filename (g_get_user_state_dir (), "a", "b", NULL);
  g_autofree gchar *path = g_build_filename (directory, "notes.db", NULL);
  g_autoptr(GError) error = NULL;
  guint lax_mode = 1;
  mode_t old_umask;

  g_test_summary ("Directories are made 0700 and files 0600 whatever the umask; a file others "
                  "could read is tightened and its old mode reported");

  old_umask = umask (0);
  g_assert_true (hgd_sqlite_ensure_directory (&test_store, directory, &error));
  g_assert_true (hgd_sqlite_ensure_private_file (&test_store, path, &lax_mode, &error));
  umask (old_umask);
  g_assert_no_error (error);
  g_assert_cmpuint (file_mode (directory), ==, 0700);
  g_assert_cmpuint (file_mode (path), ==, 0600);
  g_assert_cmpuint (lax_mode, ==, 0);

  g_assert_cmpint (g_chmod (directory, 0755), ==, 0);
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  g_assert_true (hgd_sqlite_ensure_directory (&test_store, directory, &error));
  g_assert_true (hgd_sqlite_ensure_private_file (&test_store, path, &lax_mode, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (file_mode (directory), ==, 0700);
  g_assert_cmpuint (file_mode (path), ==, 0600);
  g_assert_cmpuint (lax_mode, ==, 0644);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/sqlite/migrate/new-file", test_migrate_new_file);
  g_test_add_func ("/sqlite/migrate/older-file", test_migrate_older_file);
  g_test_add_func ("/sqlite/migrate/newer-file-refused", test_migrate_newer_file_refused);
  g_test_add_func ("/sqlite/migrate/failure-rolled-back", test_migrate_failure_rolled_back);
  g_test_add_func ("/sqlite/error/names-store", test_error_names_store);
  g_test_add_func ("/sqlite/files/private", test_private_files);
  return g_test_run ();
}
