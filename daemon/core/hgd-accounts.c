/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdAccounts: users with Argon2id password hashes and bearer sessions. Both live in memory
 * and are written through to accounts.db in the directory of the user's domain. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "hgd-accounts-private.h"
#include "hgd-api-resources.h"
#include "hgd-hash-queue.h"
#include "hgd-login-limiter.h"
#include "hgd-sqlite.h"

#define USERNAME_MAX_CHARS 64
#define USERNAME_MAX_BYTES (USERNAME_MAX_CHARS * 4)
#define PASSWORD_MIN_CHARS HGD_PASSWORD_MIN_CHARS
#define PASSWORD_MAX_BYTES 4096
#define TOKEN_BYTES 32
#define TOKEN_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define TOKEN_CHARS (sodium_base64_ENCODED_LEN (TOKEN_BYTES, TOKEN_VARIANT) - 1)
#define HASH_OPSLIMIT crypto_pwhash_OPSLIMIT_INTERACTIVE
#define HASH_MEMLIMIT crypto_pwhash_MEMLIMIT_INTERACTIVE
/* Each Argon2 computation (a login's verification, a new password's hash) holds
 * HASH_MEMLIMIT (64 MiB), so they run one at a time. While this many wait, new logins are
 * turned away at once (BUSY, retry in a second) rather than queued for many seconds, and
 * one client has at most LOGIN_CLIENT_MAX logins waiting or running: a flood from one
 * client is refused without delaying anyone else's. Password changes come from signed-in
 * managers and are not limited. */
#define LOGIN_QUEUE_MAX 8
#define LOGIN_CLIENT_MAX 3
/* A client failing for many user names (guessing names) waits after this many times
 * [api] login-attempts failures in the window. */
#define CLIENT_ATTEMPTS_FACTOR 4
/* How long a write waits for another process' transaction on the same file. */
#define BUSY_TIMEOUT_MS 2000
#define COMMON_PASSWORDS_RESOURCE "/org/hemgate/api/common-passwords.txt"

G_DEFINE_QUARK (hgd-accounts-error-quark, hgd_accounts_error)

static const HgdSqliteStore accounts_store = {
  .name = "accounts",
  .error_quark = hgd_accounts_error_quark,
  .error_codes = {
    [HGD_SQLITE_FAULT_IO] = HGD_ACCOUNTS_ERROR_STORAGE,
    [HGD_SQLITE_FAULT_DISK_FULL] = HGD_ACCOUNTS_ERROR_STORAGE,
    [HGD_SQLITE_FAULT_CORRUPT] = HGD_ACCOUNTS_ERROR_STORAGE,
    [HGD_SQLITE_FAULT_CONSTRAINT] = HGD_ACCOUNTS_ERROR_STORAGE,
  },
};

/* Verified against when the user name is unknown, so that an unknown name costs the same
 * time and memory as a wrong password. Made by crypto_pwhash_str at the INTERACTIVE limits
 * from a random password nobody kept; a match against it is never accepted anyway. */
static const gchar dummy_hash[] =
  "$argon2id$v=19$m=65536,t=2,p=1$q5FxPIrx8bQ3ySWNJV0jsw"
  "$Gu13m1M/aCl3aw7YDGu52Cj1z6GXnyRtZJJxX32PElU";

static const gchar schema_sql[] =
  "CREATE TABLE IF NOT EXISTS users ("
  "  username TEXT PRIMARY KEY NOT NULL,"
  "  role TEXT NOT NULL,"
  "  hash TEXT NOT NULL,"
  "  created INTEGER NOT NULL);"
  "CREATE TABLE IF NOT EXISTS sessions ("
  "  id TEXT PRIMARY KEY NOT NULL,"
  "  username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,"
  "  role TEXT NOT NULL,"
  "  expires INTEGER NOT NULL,"
  "  revoked INTEGER NOT NULL DEFAULT 0);"
  "CREATE INDEX IF NOT EXISTS sessions_username ON sessions (username);";

/* Version 2: expired sessions are deleted at every open and sweep (expires <= now). */
static const gchar sessions_by_expiry_sql[]
    = "CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires);";

/* The schema, one step per version (hgd-sqlite.c), run when a file is opened. Add a step
 * for any change of a table; never edit one that a release has shipped. */
static const HgdSqliteMigration accounts_migrations[] = {
  { schema_sql, NULL },
  { sessions_by_expiry_sql, NULL },
};

/* hgd_accounts_set_migrations_for_test () */
static const HgdSqliteMigration *migrations = accounts_migrations;
static guint n_migrations = G_N_ELEMENTS (accounts_migrations);

/* A user as kept in memory. */
typedef struct
{
  gchar *username; /* (owned) */
  HgdRole role;
  gint64 created;  /* real time, usec */
  gchar *hash;     /* (owned) crypto_pwhash_str output */
} Account;

struct _HgdAccounts
{
  GObject parent_instance;
  sqlite3 *db[HG_DOMAIN_LAST];      /* (owned) (nullable) until opened */
  gchar *db_path[HG_DOMAIN_LAST];   /* (owned) */
  GHashTable *accounts;             /* (owned) user name → Account, both domains */
  GHashTable *sessions;             /* (owned) session id → HgdSession (token NULL) */
  HgdLoginLimiter *pair_failures;   /* (owned) by "user name\nclient" */
  HgdLoginLimiter *client_failures; /* (owned) */
  gchar *verifying_client;          /* (owned) (nullable) the client of the login hashing now */
  GHashTable *adding;               /* (owned) user names reserved by adds in flight */
  HgdHashQueue *hash_queue;         /* (owned) logins and passwords waiting for Argon2 */
  gint64 session_lifetime;          /* seconds */
  guint login_attempts;
  gint64 login_window;              /* seconds */
  gint64 clock_offset;              /* usec; moved only by tests */
  gint64 data_version[HG_DOMAIN_LAST]; /* PRAGMA data_version when users were last read */
};

G_DEFINE_TYPE (HgdAccounts, hgd_accounts, G_TYPE_OBJECT)

static void
account_free (Account *account)
{
  g_free (account->username);
  g_free (account->hash);
  g_free (account);
}

static void
session_clear (gpointer data)
{
  HgdSession *session = data;

  if (session->token != NULL)
    {
      sodium_memzero (session->token, strlen (session->token));
      g_free (session->token);
    }
  g_free (session->id);
  g_free (session->username);
  g_free (session->issuer);
  g_free (session->subject);
  g_free (session->display_name);
  g_free (session->sid);
  g_free (session->id_token);
  g_free (session->refresh_token);
}

static HgdSession *
session_new (const gchar *token,
             const gchar *id,
             const gchar *username,
             HgdRole role,
             gint64 expires)
{
  HgdSession *session = g_atomic_rc_box_new0 (HgdSession);

  session->token = g_strdup (token);
  session->id = g_strdup (id);
  session->username = g_strdup (username);
  session->role = role;
  session->expires = expires;
  return session;
}

/**
 * hgd_session_ref:
 * @session: an #HgdSession
 *
 * Returns: (transfer full): @session
 */
HgdSession *
hgd_session_ref (HgdSession *session)
{
  g_return_val_if_fail (session != NULL, NULL);
  return g_atomic_rc_box_acquire (session);
}

/**
 * hgd_session_unref:
 * @session: (transfer full): an #HgdSession
 *
 * Drops a reference; the last one wipes the token and frees the session.
 */
void
hgd_session_unref (HgdSession *session)
{
  g_return_if_fail (session != NULL);
  g_atomic_rc_box_release_full (session, session_clear);
}

/**
 * hgd_user_free:
 * @user: (transfer full): an #HgdUser
 */
void
hgd_user_free (HgdUser *user)
{
  g_return_if_fail (user != NULL);
  g_free (user->username);
  g_free (user);
}

static void
hgd_accounts_finalize (GObject *object)
{
  HgdAccounts *self = HGD_ACCOUNTS (object);

  g_warn_if_fail (g_hash_table_size (self->adding) == 0);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      g_clear_pointer (&self->db[i], sqlite3_close_v2);
      g_free (self->db_path[i]);
    }
  g_hash_table_unref (self->accounts);
  g_hash_table_unref (self->sessions);
  g_hash_table_unref (self->adding);
  hgd_login_limiter_free (self->pair_failures);
  hgd_login_limiter_free (self->client_failures);
  g_free (self->verifying_client);
  hgd_hash_queue_free (self->hash_queue);
  G_OBJECT_CLASS (hgd_accounts_parent_class)->finalize (object);
}

static void
hgd_accounts_class_init (HgdAccountsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hgd_accounts_finalize;
}

static void
hgd_accounts_init (HgdAccounts *self)
{
  self->accounts = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                          (GDestroyNotify) account_free);
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) hgd_session_unref);
  self->pair_failures = hgd_login_limiter_new ();
  self->client_failures = hgd_login_limiter_new ();
  self->adding = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->hash_queue = hgd_hash_queue_new (G_OBJECT (self));
  self->login_attempts = 5;
  self->login_window = 300;
}

static gint64
now_real (HgdAccounts *self)
{
  return g_get_real_time () + self->clock_offset;
}

static gint64
now_monotonic (HgdAccounts *self)
{
  return g_get_monotonic_time () + self->clock_offset;
}

static HgDomain
account_get_domain (Account *account)
{
  return hgd_role_get_domain (account->role);
}

static gboolean
set_db_error (HgdAccounts *self,
              HgDomain domain,
              GError **error)
{
  hgd_sqlite_set_error (error, &accounts_store, self->db[domain],
                        sqlite3_extended_errcode (self->db[domain]), self->db_path[domain], NULL);
  return FALSE;
}

/* Runs one write with @texts bound to ?1…?n and then @number, if given, to ?n+1. Writes are
 * rare (users change, logins) and small, so they run on the main thread. */
static gboolean
db_run (HgdAccounts *self,
        HgDomain domain,
        const gchar *sql,
        const gchar *const *texts,
        const gint64 *number,
        GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gint n = 0;

  if (sqlite3_prepare_v2 (self->db[domain], sql, -1, &stmt, NULL) != SQLITE_OK)
    return set_db_error (self, domain, error);
  for (; texts != NULL && texts[n] != NULL; n++)
    sqlite3_bind_text (stmt, n + 1, texts[n], -1, SQLITE_TRANSIENT);
  if (number != NULL)
    sqlite3_bind_int64 (stmt, n + 1, *number);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return set_db_error (self, domain, error);
  return TRUE;
}

static gboolean
open_db (HgdAccounts *self,
         HgDomain domain,
         const gchar *directory,
         GError **error)
{
  guint lax_mode = 0;

  self->db_path[domain] = g_build_filename (directory, "accounts.db", NULL);
  /* the file is made 0600 before SQLite opens it; SQLite gives the -wal and -shm files the
   * same mode */
  if (!hgd_sqlite_ensure_directory (&accounts_store, directory, error)
      || !hgd_sqlite_ensure_private_file (&accounts_store, self->db_path[domain], &lax_mode, error))
    return FALSE;
  if (lax_mode != 0)
    g_warning ("accounts %s: mode was %04o, setting 0600", self->db_path[domain], lax_mode);
  if (sqlite3_open_v2 (self->db_path[domain], &self->db[domain], SQLITE_OPEN_READWRITE,
                       NULL) != SQLITE_OK)
    return set_db_error (self, domain, error);
  sqlite3_extended_result_codes (self->db[domain], 1);
  /* hemgated --add-user writes while the daemon runs: each waits out the other's short
   * transaction instead of failing at once */
  sqlite3_busy_timeout (self->db[domain], BUSY_TIMEOUT_MS);
  /* secure_delete: a replaced password hash does not linger in free pages */
  if (sqlite3_exec (self->db[domain],
                    "PRAGMA journal_mode = WAL;"
                    "PRAGMA synchronous = FULL;"
                    "PRAGMA foreign_keys = ON;"
                    "PRAGMA secure_delete = ON;",
                    NULL, NULL, NULL) != SQLITE_OK)
    return set_db_error (self, domain, error);
  return hgd_sqlite_migrate (self->db[domain], &accounts_store, self->db_path[domain], migrations,
                             n_migrations, error);
}

/* A user name is 1 to 64 characters: lower-case letters of any script (å, ä, ö, é…),
 * the digits 0-9, '.', '_' and '-', starting with a letter or digit, in NFC so that one
 * name has one spelling. */
static gboolean
is_valid_username (const gchar *username)
{
  gsize len = strnlen (username, USERNAME_MAX_BYTES + 1);
  g_autofree gchar *nfc = NULL;
  glong chars = 0;

  if (len == 0 || len > USERNAME_MAX_BYTES || !g_utf8_validate_len (username, len, NULL))
    return FALSE;
  for (const gchar *p = username; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      gboolean letter = g_unichar_isalpha (c) && !g_unichar_isupper (c) && !g_unichar_istitle (c);
      gboolean digit = c < 0x80 && g_ascii_isdigit ((gchar)c);

      if (chars == 0 && !letter && !digit)
        return FALSE;
      if (!letter && !digit && c != '.' && c != '_' && c != '-')
        return FALSE;
      if (++chars > USERNAME_MAX_CHARS)
        return FALSE;
    }
  nfc = g_utf8_normalize (username, len, G_NORMALIZE_NFC);
  return nfc != NULL && strcmp (nfc, username) == 0;
}

/* The name a login is for: lower case and NFC, as names are stored; "" when it is no
 * valid name at all (all invalid names share one failure log: none is anybody's). */
static gchar *
login_username (const gchar *username)
{
  gsize len = strnlen (username, USERNAME_MAX_BYTES + 1);
  g_autofree gchar *lower = NULL;
  g_autofree gchar *nfc = NULL;

  if (len > USERNAME_MAX_BYTES || !g_utf8_validate_len (username, len, NULL))
    return g_strdup ("");
  lower = g_utf8_strdown (username, len);
  nfc = g_utf8_normalize (lower, -1, G_NORMALIZE_NFC);
  if (nfc == NULL || !is_valid_username (nfc))
    return g_strdup ("");
  return g_steal_pointer (&nfc);
}

static gboolean
check_username (const gchar *username,
                GError **error)
{
  if (!is_valid_username (username))
    {
      g_set_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_INVALID,
                   "user name must be 1 to %d characters from lower-case letters, 0-9, '.', "
                   "'_' and '-', starting with a letter or digit",
                   USERNAME_MAX_CHARS);
      return FALSE;
    }
  return TRUE;
}

/* The common passwords shipped in data/common-passwords.txt (Openwall's list, public
 * domain), lower case, loaded once. */
static GHashTable *
common_passwords (void)
{
  static GHashTable *table = NULL;

  if (g_once_init_enter (&table))
    {
      GHashTable *set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_autoptr(GBytes) bytes = g_resource_lookup_data (hgd_api_resources_get_resource (),
                                                        COMMON_PASSWORDS_RESOURCE,
                                                        G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
      g_auto(GStrv) lines = NULL;

      if (bytes != NULL)
        lines = g_strsplit (g_bytes_get_data (bytes, NULL), "\n", -1);
      for (guint i = 0; lines != NULL && lines[i] != NULL; i++)
        {
          if (lines[i][0] != '\0' && !g_str_has_prefix (lines[i], "#!comment"))
            g_hash_table_add (set, g_utf8_strdown (g_strstrip (lines[i]), -1));
        }
      g_once_init_leave (&table, set);
    }
  return table;
}

/* Whether @password is on the list of common ones, or the user's own name. */
static gboolean
password_is_common (const gchar *password,
                    const gchar *username)
{
  g_autofree gchar *lower = g_utf8_strdown (password, -1);

  return g_hash_table_contains (common_passwords (), lower) ||
         (username != NULL && g_strcmp0 (lower, username) == 0);
}

/* The message never repeats the password. */
static gboolean
check_password (const gchar *password,
                const gchar *username,
                GError **error)
{
  gsize len = strnlen (password, PASSWORD_MAX_BYTES + 1);

  if (len > PASSWORD_MAX_BYTES)
    {
      g_set_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_INVALID,
                   "password must be at most %d bytes long", PASSWORD_MAX_BYTES);
      return FALSE;
    }
  if (!g_utf8_validate (password, len, NULL))
    {
      g_set_error_literal (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_INVALID,
                           "password is not valid UTF-8");
      return FALSE;
    }
  if (g_utf8_strlen (password, len) < PASSWORD_MIN_CHARS)
    {
      g_set_error_literal (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_WEAK_PASSWORD,
                           "the password is too short: " HGD_PASSWORD_RULE);
      return FALSE;
    }
  if (password_is_common (password, username))
    {
      g_set_error_literal (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_WEAK_PASSWORD,
                           "the password is too common: " HGD_PASSWORD_RULE);
      return FALSE;
    }
  return TRUE;
}

/* Thread-safe: also called in the worker thread. */
static gchar *
hash_password (const gchar *password,
               GError **error)
{
  gchar hash[crypto_pwhash_STRBYTES];

  if (crypto_pwhash_str (hash, password, strlen (password), HASH_OPSLIMIT, HASH_MEMLIMIT) != 0)
    {
      g_set_error_literal (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_STORAGE,
                           "cannot hash the password: out of memory");
      return NULL;
    }
  return g_strdup (hash);
}

/* Reads the users of @domain's database into memory. With @only_new, a user already
 * known (in either domain) is left as it is, and a name that is known in the other domain
 * is skipped with a warning instead of failing. */
static gboolean
load_users (HgdAccounts *self,
            HgDomain domain,
            gboolean only_new,
            GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gint rc;

  if (sqlite3_prepare_v2 (self->db[domain], "SELECT username, role, hash, created FROM users",
                          -1, &stmt, NULL) != SQLITE_OK)
    return set_db_error (self, domain, error);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const gchar *username = (const gchar *) sqlite3_column_text (stmt, 0);
      const gchar *role_name = (const gchar *) sqlite3_column_text (stmt, 1);
      const gchar *hash = (const gchar *) sqlite3_column_text (stmt, 2);
      Account *account;
      HgdRole role;

      if (username == NULL || !is_valid_username (username) || hash == NULL ||
          !hgd_role_from_string (role_name, &role) || hgd_role_get_domain (role) != domain)
        {
          g_set_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_STORAGE,
                       "accounts %s: a user has an invalid name or a role of another domain",
                       self->db_path[domain]);
          return FALSE;
        }
      if (only_new && g_hash_table_contains (self->accounts, username))
        {
          Account *known = g_hash_table_lookup (self->accounts, username);

          if (account_get_domain (known) != domain)
            g_warning ("accounts %s: a user name added by another process is also in %s",
                       self->db_path[domain], self->db_path[account_get_domain (known)]);
          continue;
        }
      if (g_hash_table_contains (self->accounts, username))
        {
          g_set_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_STORAGE,
                       "accounts %s: a user name is also in %s", self->db_path[domain],
                       self->db_path[domain == HG_DOMAIN_MUNICIPAL ? HG_DOMAIN_PERSONAL
                                                                   : HG_DOMAIN_MUNICIPAL]);
          return FALSE;
        }
      account = g_new0 (Account, 1);
      account->username = g_strdup (username);
      account->role = role;
      account->hash = g_strdup (hash);
      account->created = sqlite3_column_int64 (stmt, 3);
      g_hash_table_insert (self->accounts, account->username, account);
    }
  if (rc != SQLITE_DONE)
    return set_db_error (self, domain, error);
  return TRUE;
}

/* Drops sessions past their expiry (revoked ones too), then loads the live ones. */
static gboolean
load_sessions (HgdAccounts *self,
               HgDomain domain,
               GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gint64 now = now_real (self);
  gint rc;

  if (!db_run (self, domain, "DELETE FROM sessions WHERE expires <= ?1", NULL, &now, error))
    return FALSE;
  if (sqlite3_prepare_v2 (self->db[domain],
                          "SELECT id, username, role, expires FROM sessions WHERE revoked = 0",
                          -1, &stmt, NULL) != SQLITE_OK)
    return set_db_error (self, domain, error);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const gchar *id = (const gchar *) sqlite3_column_text (stmt, 0);
      const gchar *username = (const gchar *) sqlite3_column_text (stmt, 1);
      const gchar *role_name = (const gchar *) sqlite3_column_text (stmt, 2);
      Account *account = username != NULL ? g_hash_table_lookup (self->accounts, username) : NULL;
      HgdRole role;

      /* a session whose user changed role since it was opened is no longer valid */
      if (id == NULL || account == NULL || !hgd_role_from_string (role_name, &role) ||
          role != account->role)
        continue;
      g_hash_table_insert (self->sessions, g_strdup (id),
                           session_new (NULL, id, username, role, sqlite3_column_int64 (stmt, 3)));
    }
  if (rc != SQLITE_DONE)
    return set_db_error (self, domain, error);
  return TRUE;
}

/* PRAGMA data_version: it changes when another connection to the file commits, never
 * for this connection's own writes. */
static gboolean
read_data_version (HgdAccounts *self,
                   HgDomain domain,
                   gint64 *version,
                   GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (sqlite3_prepare_v2 (self->db[domain], "PRAGMA data_version", -1, &stmt, NULL) != SQLITE_OK
      || sqlite3_step (stmt) != SQLITE_ROW)
    return set_db_error (self, domain, error);
  *version = sqlite3_column_int64 (stmt, 0);
  return TRUE;
}

/* Users another process added since the databases were last read: `hemgated --add-user`
 * run on the box while the daemon is running (the first it-admin of a fresh install). Only
 * additions are picked up; everything else changes through this object. */
static void
load_users_added_elsewhere (HgdAccounts *self)
{
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      g_autoptr(GError) error = NULL;
      gint64 version = 0;

      if (self->db[i] == NULL)
        continue;
      if (!read_data_version (self, i, &version, &error))
        {
          g_warning ("%s", error->message);
          continue;
        }
      if (version == self->data_version[i])
        continue;
      self->data_version[i] = version;
      if (!load_users (self, i, TRUE, &error))
        g_warning ("%s", error->message);
    }
}

static gboolean
ensure_sodium (GError **error)
{
  static gsize result = 0;

  if (g_once_init_enter (&result))
    g_once_init_leave (&result, sodium_init () < 0 ? 1 : 2);
  if (result != 2)
    {
      g_set_error_literal (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_STORAGE,
                           "accounts: libsodium could not be initialised");
      return FALSE;
    }
  return TRUE;
}

/**
 * hgd_accounts_new:
 * @domain_directories: (array fixed-size=2): the state directory of each #HgDomain,
 *   indexed by domain; each gets an `accounts.db`, and is created 0700 if missing
 * @session_lifetime: how long a session lasts, in seconds
 * @error: return location for a #GError
 *
 * Opens both accounts databases and loads their users and live sessions.
 *
 * Returns: (transfer full): a new #HgdAccounts, or %NULL with @error set
 */
HgdAccounts *
hgd_accounts_new (const gchar *const *domain_directories,
                  gint64 session_lifetime,
                  GError **error)
{
  g_autoptr(HgdAccounts) self = NULL;

  g_return_val_if_fail (domain_directories != NULL, NULL);
  g_return_val_if_fail (session_lifetime > 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    g_return_val_if_fail (domain_directories[i] != NULL, NULL);
  if (g_strcmp0 (domain_directories[HG_DOMAIN_MUNICIPAL],
                 domain_directories[HG_DOMAIN_PERSONAL]) == 0)
    {
      g_set_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_INVALID,
                   "accounts: both domains use the directory %s",
                   domain_directories[HG_DOMAIN_MUNICIPAL]);
      return NULL;
    }
  if (!ensure_sodium (error))
    return NULL;

  self = g_object_new (HGD_TYPE_ACCOUNTS, NULL);
  self->session_lifetime = session_lifetime;
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      if (!open_db (self, i, domain_directories[i], error))
        return NULL;
    }
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      if (!read_data_version (self, i, &self->data_version[i], error) ||
          !load_users (self, i, FALSE, error) || !load_sessions (self, i, error))
        return NULL;
    }
  g_info ("accounts loaded: %u users, %u live sessions", g_hash_table_size (self->accounts),
          g_hash_table_size (self->sessions));
  return g_steal_pointer (&self);
}

/**
 * hgd_accounts_set_login_limit:
 * @self: an #HgdAccounts
 * @attempts: failed logins allowed per user name, and per client, within the window
 * @window_seconds: the length of the window
 */
void
hgd_accounts_set_login_limit (HgdAccounts *self,
                              guint attempts,
                              guint window_seconds)
{
  g_return_if_fail (HGD_IS_ACCOUNTS (self));
  g_return_if_fail (attempts > 0);
  g_return_if_fail (window_seconds > 0);
  self->login_attempts = attempts;
  self->login_window = window_seconds;
}

static void
log_domain_event (HgDomain domain,
                  GLogLevelFlags level,
                  const gchar *message)
{
  g_log_structured (G_LOG_DOMAIN, level, "HG_DOMAIN", hg_domain_to_string (domain), "MESSAGE",
                    "%s", message);
}

/* Adding users and changing passwords ------------------------------------------------------ */

/* A new password on its way through the worker into a user's row. */
typedef struct
{
  gchar *username; /* (owned) */
  HgdRole role;    /* adding: the new user's role */
  gint64 created;  /* changing: the user's creation time, to tell them from a namesake */
  gchar *password; /* (owned) wiped when freed */
} PasswordData;

static PasswordData *
password_data_new (const gchar *username,
                   const gchar *password)
{
  PasswordData *data = g_new0 (PasswordData, 1);

  data->username = g_strdup (username);
  data->password = g_strdup (password);
  return data;
}

static void
password_data_free (PasswordData *data)
{
  sodium_memzero (data->password, strlen (data->password));
  g_free (data->password);
  g_free (data->username);
  g_free (data);
}

/* Runs in the worker thread; touches only @task_data. */
static void
password_hash_thread (GTask *task,
                      gpointer source_object,
                      gpointer task_data,
                      GCancellable *cancellable)
{
  PasswordData *data = task_data;
  g_autoptr(GError) error = NULL;
  gchar *hash;

  hash = hash_password (data->password, &error);
  if (hash == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, hash, g_free);
}

/* Answers @task if it was cancelled while waiting for the worker. */
static gboolean
password_job_start (gpointer owner,
                    GTask *task)
{
  return !g_task_return_error_if_cancelled (task);
}

/* The worker's hash; or %NULL with @task answered, if hashing failed or the caller
 * cancelled meanwhile (then nothing is stored). */
static gchar *
password_job_take_hash (GTask *task,
                        GAsyncResult *result)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *hash = NULL;

  hash = g_task_propagate_pointer (G_TASK (result), &error);
  if (hash == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return NULL;
    }
  if (g_task_return_error_if_cancelled (task))
    return NULL;
  return g_steal_pointer (&hash);
}

/* Everything checked before the hash; a name an add in flight reserved counts as taken. */
static gboolean
add_user_check (HgdAccounts *self,
                const gchar *username,
                HgdRole role,
                const gchar *password,
                GError **error)
{
  if (!check_username (username, error))
    return FALSE;
  if ((guint) role >= HGD_ROLE_LAST)
    {
      g_set_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_INVALID, "role %d is not a role",
                   (gint) role);
      return FALSE;
    }
  if (!check_password (password, username, error))
    return FALSE;
  load_users_added_elsewhere (self);
  if (g_hash_table_contains (self->accounts, username) ||
      g_hash_table_contains (self->adding, username))
    {
      g_set_error_literal (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_EXISTS,
                           "the user name is taken");
      return FALSE;
    }
  return TRUE;
}

/* Stores a checked user with their password's @hash, in the database and in memory. */
static gboolean
add_user_commit (HgdAccounts *self,
                 const gchar *username,
                 HgdRole role,
                 const gchar *hash,
                 GError **error)
{
  g_autofree gchar *message = NULL;
  HgDomain domain = hgd_role_get_domain (role);
  gint64 created = now_real (self);
  Account *account;

  if (!db_run (self, domain,
               "INSERT INTO users (username, role, hash, created) VALUES (?1, ?2, ?3, ?4)",
               (const gchar *[]){ username, hgd_role_to_string (role), hash, NULL }, &created,
               error))
    return FALSE;

  account = g_new0 (Account, 1);
  account->username = g_strdup (username);
  account->role = role;
  account->created = created;
  account->hash = g_strdup (hash);
  g_hash_table_insert (self->accounts, account->username, account);
  message = g_strdup_printf ("user added with role %s", hgd_role_to_string (role));
  log_domain_event (domain, G_LOG_LEVEL_MESSAGE, message);
  g_debug ("user %s added", username);
  return TRUE;
}

/**
 * hgd_accounts_add_user:
 * @self: an #HgdAccounts
 * @username: 1–64 characters from `a-z0-9._-`, starting with a letter or digit
 * @role: the role; it decides the domain the user is stored in
 * @password: at least 10 characters, not a common one
 * @error: return location for a #GError
 *
 * Adds a user, hashing on the calling thread (0.1–0.4 s and 64 MiB): only for start-up,
 * before the main loop runs. Once it runs, use hgd_accounts_add_user_async().
 *
 * Returns: %TRUE if added; %HGD_ACCOUNTS_ERROR_EXISTS if the name is taken in either domain
 *   or being added
 */
gboolean
hgd_accounts_add_user (HgdAccounts *self,
                       const gchar *username,
                       HgdRole role,
                       const gchar *password,
                       GError **error)
{
  g_autofree gchar *hash = NULL;

  g_return_val_if_fail (HGD_IS_ACCOUNTS (self), FALSE);
  g_return_val_if_fail (username != NULL, FALSE);
  g_return_val_if_fail (password != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!add_user_check (self, username, role, password, error))
    return FALSE;
  hash = hash_password (password, error);
  if (hash == NULL)
    return FALSE;
  return add_user_commit (self, username, role, hash, error);
}

static gboolean
add_user_start (gpointer owner,
                GTask *task)
{
  HgdAccounts *self = HGD_ACCOUNTS (owner);
  PasswordData *data = g_task_get_task_data (task);

  if (password_job_start (self, task))
    return TRUE;
  g_hash_table_remove (self->adding, data->username);
  return FALSE;
}

static void
add_user_done (gpointer owner,
               GTask *task,
               GAsyncResult *result)
{
  HgdAccounts *self = HGD_ACCOUNTS (owner);
  PasswordData *data = g_task_get_task_data (task);
  g_autofree gchar *hash = NULL;
  g_autoptr(GError) error = NULL;

  g_hash_table_remove (self->adding, data->username);
  hash = password_job_take_hash (task, result);
  if (hash == NULL)
    return;
  if (!add_user_commit (self, data->username, data->role, hash, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static const HgdHashJobFuncs add_user_job = {
  .start = add_user_start,
  .run = password_hash_thread,
  .done = add_user_done,
};

/**
 * hgd_accounts_add_user_async:
 * @self: an #HgdAccounts
 * @username: as for hgd_accounts_add_user()
 * @role: the role; it decides the domain the user is stored in
 * @password: at least 10 characters, not a common one
 * @cancellable: (nullable): a #GCancellable; once it is cancelled nothing is stored
 * @callback: called when done
 * @user_data: for @callback
 *
 * Adds a user as hgd_accounts_add_user() does, hashing the password in the worker thread
 * that verifies logins, one hash at a time. The checks run before this returns, and reserve
 * the name: another add of it fails with %HGD_ACCOUNTS_ERROR_EXISTS until this one is done.
 */
void
hgd_accounts_add_user_async (HgdAccounts *self,
                             const gchar *username,
                             HgdRole role,
                             const gchar *password,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  PasswordData *data;

  g_return_if_fail (HGD_IS_ACCOUNTS (self));
  g_return_if_fail (username != NULL);
  g_return_if_fail (password != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hgd_accounts_add_user_async);
  if (!add_user_check (self, username, role, password, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  data = password_data_new (username, password);
  data->role = role;
  g_task_set_task_data (task, data, (GDestroyNotify) password_data_free);
  g_hash_table_add (self->adding, g_strdup (username));
  hgd_hash_queue_push (self->hash_queue, &add_user_job, g_steal_pointer (&task));
}

/**
 * hgd_accounts_add_user_finish:
 * @self: an #HgdAccounts
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: %TRUE if added; otherwise %FALSE with the errors of hgd_accounts_add_user() or
 *   %G_IO_ERROR_CANCELLED
 */
gboolean
hgd_accounts_add_user_finish (HgdAccounts *self,
                              GAsyncResult *result,
                              GError **error)
{
  g_return_val_if_fail (HGD_IS_ACCOUNTS (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hgd_accounts_add_user_async,
                        FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Everything checked before the hash: the user, who must exist, and the new password. */
static Account *
set_password_check (HgdAccounts *self,
                    const gchar *username,
                    const gchar *password,
                    GError **error)
{
  Account *account = g_hash_table_lookup (self->accounts, username);

  if (account == NULL)
    {
      g_set_error_literal (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_NOT_FOUND,
                           "no such user");
      return NULL;
    }
  if (!check_password (password, username, error))
    return NULL;
  return account;
}

/* Replaces the hash of @account with @hash, in the database and in memory. */
static gboolean
set_password_commit (HgdAccounts *self,
                     Account *account,
                     const gchar *hash,
                     GError **error)
{
  if (!db_run (self, account_get_domain (account), "UPDATE users SET hash = ?1 WHERE username = ?2",
               (const gchar *[]){ hash, account->username, NULL }, NULL, error))
    return FALSE;
  g_free (account->hash);
  account->hash = g_strdup (hash);
  log_domain_event (account_get_domain (account), G_LOG_LEVEL_MESSAGE, "user password changed");
  g_debug ("password of %s changed", account->username);
  return TRUE;
}

/**
 * hgd_accounts_set_password:
 * @self: an #HgdAccounts
 * @username: an existing user
 * @password: the new password, at least 10 characters, not a common one
 * @error: return location for a #GError
 *
 * Replaces a password, hashing on the calling thread as hgd_accounts_add_user() does: only
 * for start-up; once the main loop runs, use hgd_accounts_set_password_async(). Open
 * sessions stay valid; call hgd_accounts_revoke_user_sessions() to end them.
 *
 * Returns: %TRUE if changed
 */
gboolean
hgd_accounts_set_password (HgdAccounts *self,
                           const gchar *username,
                           const gchar *password,
                           GError **error)
{
  g_autofree gchar *hash = NULL;
  Account *account;

  g_return_val_if_fail (HGD_IS_ACCOUNTS (self), FALSE);
  g_return_val_if_fail (username != NULL, FALSE);
  g_return_val_if_fail (password != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  account = set_password_check (self, username, password, error);
  if (account == NULL)
    return FALSE;
  hash = hash_password (password, error);
  if (hash == NULL)
    return FALSE;
  return set_password_commit (self, account, hash, error);
}

static void
set_password_done (gpointer owner,
                   GTask *task,
                   GAsyncResult *result)
{
  HgdAccounts *self = HGD_ACCOUNTS (owner);
  PasswordData *data = g_task_get_task_data (task);
  g_autofree gchar *hash = NULL;
  g_autoptr(GError) error = NULL;
  Account *account;

  hash = password_job_take_hash (task, result);
  if (hash == NULL)
    return;
  /* removed while hashing, and perhaps added again: not the user the caller meant */
  account = g_hash_table_lookup (self->accounts, data->username);
  if (account == NULL || account->created != data->created)
    {
      g_task_return_new_error (task, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_NOT_FOUND, "%s",
                               "no such user");
      return;
    }
  if (!set_password_commit (self, account, hash, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static const HgdHashJobFuncs set_password_job = {
  .start = password_job_start,
  .run = password_hash_thread,
  .done = set_password_done,
};

/**
 * hgd_accounts_set_password_async:
 * @self: an #HgdAccounts
 * @username: an existing user
 * @password: the new password, at least 10 characters, not a common one
 * @cancellable: (nullable): a #GCancellable; once it is cancelled nothing is stored
 * @callback: called when done
 * @user_data: for @callback
 *
 * Replaces a password as hgd_accounts_set_password() does, hashing in the worker thread
 * as hgd_accounts_add_user_async() does. The user and the password are checked before this
 * returns. Changes of one user's password take effect in the order they were made.
 */
void
hgd_accounts_set_password_async (HgdAccounts *self,
                                 const gchar *username,
                                 const gchar *password,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  PasswordData *data;
  Account *account;

  g_return_if_fail (HGD_IS_ACCOUNTS (self));
  g_return_if_fail (username != NULL);
  g_return_if_fail (password != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hgd_accounts_set_password_async);
  account = set_password_check (self, username, password, &error);
  if (account == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  data = password_data_new (username, password);
  data->created = account->created;
  g_task_set_task_data (task, data, (GDestroyNotify) password_data_free);
  hgd_hash_queue_push (self->hash_queue, &set_password_job, g_steal_pointer (&task));
}

/**
 * hgd_accounts_set_password_finish:
 * @self: an #HgdAccounts
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: %TRUE if changed; otherwise %FALSE with %HGD_ACCOUNTS_ERROR_NOT_FOUND (also if
 *   the user was removed meanwhile), %HGD_ACCOUNTS_ERROR_INVALID,
 *   %HGD_ACCOUNTS_ERROR_STORAGE or %G_IO_ERROR_CANCELLED
 */
gboolean
hgd_accounts_set_password_finish (HgdAccounts *self,
                                  GAsyncResult *result,
                                  GError **error)
{
  g_return_val_if_fail (HGD_IS_ACCOUNTS (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                            hgd_accounts_set_password_async,
                        FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static guint
forget_user_sessions (HgdAccounts *self,
                      const gchar *username)
{
  GHashTableIter iter;
  HgdSession *session;
  guint n = 0;

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &session))
    {
      if (g_strcmp0 (session->username, username) == 0)
        {
          g_hash_table_iter_remove (&iter);
          n++;
        }
    }
  return n;
}

/* A removed user's failed logins go with them: a new user of that name starts afresh. */
static void
forget_user_failures (HgdAccounts *self,
                      const gchar *username)
{
  g_autofree gchar *prefix = g_strdup_printf ("%s\n", username);

  hgd_login_limiter_remove_prefix (self->pair_failures, prefix);
}

/**
 * hgd_accounts_remove_user:
 * @self: an #HgdAccounts
 * @username: an existing user
 * @error: return location for a #GError
 *
 * Removes a user and all their sessions.
 *
 * Returns: %TRUE if removed; %HGD_ACCOUNTS_ERROR_NOT_FOUND if there is no such user
 */
gboolean
hgd_accounts_remove_user (HgdAccounts *self,
                          const gchar *username,
                          GError **error)
{
  Account *account;
  HgDomain domain;

  g_return_val_if_fail (HGD_IS_ACCOUNTS (self), FALSE);
  g_return_val_if_fail (username != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  account = g_hash_table_lookup (self->accounts, username);
  if (account == NULL)
    {
      g_set_error_literal (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_NOT_FOUND,
                           "no such user");
      return FALSE;
    }
  domain = account_get_domain (account);
  /* the sessions go with the row: ON DELETE CASCADE */
  if (!db_run (self, domain, "DELETE FROM users WHERE username = ?1",
               (const gchar *[]){ username, NULL }, NULL, error))
    return FALSE;
  forget_user_sessions (self, username);
  forget_user_failures (self, username);
  g_debug ("user %s removed", username);
  g_hash_table_remove (self->accounts, username);
  log_domain_event (domain, G_LOG_LEVEL_MESSAGE, "user removed");
  return TRUE;
}

/**
 * hgd_accounts_has_user:
 * @self: an #HgdAccounts
 * @username: a user name
 *
 * Returns: %TRUE if @username exists in either domain
 */
gboolean
hgd_accounts_has_user (HgdAccounts *self,
                       const gchar *username)
{
  g_return_val_if_fail (HGD_IS_ACCOUNTS (self), FALSE);
  g_return_val_if_fail (username != NULL, FALSE);
  load_users_added_elsewhere (self);
  return g_hash_table_contains (self->accounts, username);
}

/**
 * hgd_accounts_dup_password_hash:
 * @self: an #HgdAccounts
 * @username: a user name
 *
 * The user's stored password hash (crypto_pwhash_str output, salted: it changes with
 * every new password), for telling whether a password was changed since.
 *
 * Returns: (transfer full) (nullable): the hash, or %NULL if there is no such user
 */
gchar *
hgd_accounts_dup_password_hash (HgdAccounts *self,
                                const gchar *username)
{
  Account *account;

  g_return_val_if_fail (HGD_IS_ACCOUNTS (self), NULL);
  g_return_val_if_fail (username != NULL, NULL);
  account = g_hash_table_lookup (self->accounts, username);
  return account != NULL ? g_strdup (account->hash) : NULL;
}

static gint
compare_users (gconstpointer a,
               gconstpointer b)
{
  const HgdUser *user_a = *(const HgdUser *const *) a;
  const HgdUser *user_b = *(const HgdUser *const *) b;

  return strcmp (user_a->username, user_b->username);
}

/**
 * hgd_accounts_list_users:
 * @self: an #HgdAccounts
 * @domain: a domain
 *
 * Returns: (transfer container) (element-type HgdUser): the users of @domain, by name
 */
GPtrArray *
hgd_accounts_list_users (HgdAccounts *self,
                         HgDomain domain)
{
  GPtrArray *users;
  GHashTableIter iter;
  Account *account;

  g_return_val_if_fail (HGD_IS_ACCOUNTS (self), NULL);
  g_return_val_if_fail ((guint) domain < HG_DOMAIN_LAST, NULL);

  load_users_added_elsewhere (self);
  users = g_ptr_array_new_with_free_func ((GDestroyNotify) hgd_user_free);
  g_hash_table_iter_init (&iter, self->accounts);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &account))
    {
      HgdUser *user;

      if (account_get_domain (account) != domain)
        continue;
      user = g_new0 (HgdUser, 1);
      user->username = g_strdup (account->username);
      user->role = account->role;
      user->created = account->created;
      g_ptr_array_add (users, user);
    }
  g_ptr_array_sort (users, compare_users);
  return users;
}

typedef struct
{
  gchar *username;    /* (owned) as looked up: lower case, or "" if not a valid name */
  gchar *password;    /* (owned) wiped when freed */
  gchar *client;      /* (owned) (nullable) */
  gchar *pair;        /* (owned) "user name\nclient": the key of the pair's failures */
  gint64 attempt;     /* monotonic usec; this attempt's entry in the failure logs */
  gint64 retry_after; /* seconds, when rate limited */
  gchar *hash;        /* (owned) (nullable) the user's hash; NULL: verify the dummy */
  gchar *new_hash;    /* (owned) (nullable) set by the verifier if the hash was weak */
} LoginData;

static void
login_data_free (LoginData *data)
{
  sodium_memzero (data->password, strlen (data->password));
  g_free (data->password);
  g_free (data->username);
  g_free (data->client);
  g_free (data->pair);
  g_free (data->hash);
  g_free (data->new_hash);
  g_free (data);
}

static void
login_forget_attempt (HgdAccounts *self,
                      LoginData *data,
                      gboolean user_too)
{
  if (user_too)
    hgd_login_limiter_forget (self->pair_failures, data->pair, data->attempt);
  if (data->client != NULL)
    hgd_login_limiter_forget (self->client_failures, data->client, data->attempt);
}

/* Runs in a worker thread; touches only @task_data. */
static void
login_verify_thread (GTask *task,
                     gpointer source_object,
                     gpointer task_data,
                     GCancellable *cancellable)
{
  LoginData *data = task_data;
  const gchar *hash = data->hash != NULL ? data->hash : dummy_hash;
  gboolean verified;

  verified = crypto_pwhash_str_verify (hash, data->password, strlen (data->password)) == 0 &&
             data->hash != NULL;
  if (verified && crypto_pwhash_str_needs_rehash (hash, HASH_OPSLIMIT, HASH_MEMLIMIT) != 0)
    data->new_hash = hash_password (data->password, NULL);
  g_task_return_boolean (task, verified);
}

/* The login's turn at the worker: it verifies against the user's hash as it is now. */
static gboolean
login_start (gpointer owner,
             GTask *task)
{
  HgdAccounts *self = HGD_ACCOUNTS (owner);
  LoginData *data = g_task_get_task_data (task);
  Account *account;

  /* cancelled before any password was tried: not a failure */
  if (g_task_return_error_if_cancelled (task))
    {
      login_forget_attempt (self, data, TRUE);
      return FALSE;
    }
  load_users_added_elsewhere (self);
  account = g_hash_table_lookup (self->accounts, data->username);
  if (account != NULL && strnlen (data->password, PASSWORD_MAX_BYTES + 1) <= PASSWORD_MAX_BYTES)
    data->hash = g_strdup (account->hash);
  g_free (self->verifying_client);
  self->verifying_client = g_strdup (data->client);
  return TRUE;
}

/* Keeps the memory, and the databases, free of expired sessions; runs at each login.
 * A database is written only if one of its sessions expired. */
static void
sessions_purge_expired (HgdAccounts *self,
                        gint64 now)
{
  gboolean expired[HG_DOMAIN_LAST] = { FALSE };
  GHashTableIter iter;
  HgdSession *session;

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &session))
    {
      if (session->expires <= now)
        {
          expired[hgd_role_get_domain (session->role)] = TRUE;
          g_hash_table_iter_remove (&iter);
        }
    }
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      g_autoptr(GError) error = NULL;

      if (expired[i] &&
          !db_run (self, i, "DELETE FROM sessions WHERE expires <= ?1", NULL, &now, &error))
        g_warning ("cannot remove expired sessions: %s", error->message);
    }
}

static HgdSession *
session_create (HgdAccounts *self,
                Account *account,
                GError **error)
{
  guint8 raw[TOKEN_BYTES];
  gchar token[TOKEN_CHARS + 1];
  g_autofree gchar *id = NULL;
  g_autoptr(HgdSession) session = NULL;
  gint64 now = now_real (self);
  gint64 expires = now + self->session_lifetime * G_USEC_PER_SEC;
  gboolean ok;

  sessions_purge_expired (self, now);
  randombytes_buf (raw, sizeof raw);
  sodium_bin2base64 (token, sizeof token, raw, sizeof raw, TOKEN_VARIANT);
  sodium_memzero (raw, sizeof raw);
  id = g_compute_checksum_for_string (G_CHECKSUM_SHA256, token, -1);
  ok = db_run (self, account_get_domain (account),
               "INSERT INTO sessions (id, username, role, expires) VALUES (?1, ?2, ?3, ?4)",
               (const gchar *[]){ id, account->username, hgd_role_to_string (account->role), NULL },
               &expires, error);
  if (ok)
    {
      g_hash_table_insert (self->sessions, g_strdup (id),
                           session_new (NULL, id, account->username, account->role, expires));
      session = session_new (token, id, account->username, account->role, expires);
    }
  sodium_memzero (token, sizeof token);
  return g_steal_pointer (&session);
}

static void
login_failed (HgdAccounts *self,
              LoginData *data)
{
  gint64 now = now_monotonic (self);

  /* the failure counted since the attempt began now dates from its answer, so that a
   * slow hash does not use up the wait before the next try */
  hgd_login_limiter_forget (self->pair_failures, data->pair, data->attempt);
  hgd_login_limiter_add (self->pair_failures, data->pair, now);
  if (data->client != NULL)
    {
      hgd_login_limiter_forget (self->client_failures, data->client, data->attempt);
      hgd_login_limiter_add (self->client_failures, data->client, now);
    }
  if (hgd_login_limiter_count (self->pair_failures, data->pair) == self->login_attempts)
    g_message ("%u failed logins for one user name from one client in %" G_GINT64_FORMAT
               " s: its next tries are delayed",
               self->login_attempts, self->login_window);
  if (data->client != NULL
      && hgd_login_limiter_count (self->client_failures, data->client)
           == self->login_attempts * CLIENT_ATTEMPTS_FACTOR)
    g_message ("%u failed logins from one client in %" G_GINT64_FORMAT
               " s: its next tries are delayed",
               self->login_attempts * CLIENT_ATTEMPTS_FACTOR, self->login_window);
  /* no user name: people type their password into that field too */
  g_debug ("login failed");
}

static void
login_succeeded (HgdAccounts *self,
                 LoginData *data,
                 Account *account)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *message = NULL;

  /* the pair's failures are forgiven; the client's others stay */
  hgd_login_limiter_remove (self->pair_failures, data->pair);
  login_forget_attempt (self, data, FALSE);
  if (data->new_hash != NULL)
    {
      if (db_run (self, account_get_domain (account),
                  "UPDATE users SET hash = ?1 WHERE username = ?2",
                  (const gchar *[]){ data->new_hash, account->username, NULL }, NULL, &error))
        {
          g_free (account->hash);
          account->hash = g_steal_pointer (&data->new_hash);
          g_debug ("password hash of %s strengthened", account->username);
        }
      else
        {
          g_warning ("cannot store a stronger password hash: %s", error->message);
        }
    }
  message = g_strdup_printf ("login accepted with role %s", hgd_role_to_string (account->role));
  log_domain_event (account_get_domain (account), G_LOG_LEVEL_INFO, message);
  g_debug ("login for %s accepted", account->username);
}

static void
login_verify_done (gpointer owner,
                   GTask *task,
                   GAsyncResult *result)
{
  HgdAccounts *self = HGD_ACCOUNTS (owner);
  LoginData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  Account *account;
  gboolean verified;

  g_clear_pointer (&self->verifying_client, g_free);
  verified = g_task_propagate_boolean (G_TASK (result), NULL);
  /* a user removed, or a password changed, during the verification does not log in */
  account = g_hash_table_lookup (self->accounts, data->username);
  if (!verified || account == NULL || g_strcmp0 (account->hash, data->hash) != 0)
    {
      login_failed (self, data);
      g_task_return_new_error (task, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_BAD_LOGIN, "%s",
                               "wrong user name or password");
    }
  else
    {
      HgdSession *session;

      login_succeeded (self, data, account);
      if (!g_task_return_error_if_cancelled (task))
        {
          session = session_create (self, account, &error);
          if (session == NULL)
            g_task_return_error (task, g_steal_pointer (&error));
          else
            g_task_return_pointer (task, session, (GDestroyNotify) hgd_session_unref);
        }
    }
}

static const HgdHashJobFuncs login_job = {
  .start = login_start,
  .run = login_verify_thread,
  .done = login_verify_done,
};

/* How many logins of @client wait for the worker or run in it. */
static guint
logins_of_client (HgdAccounts *self,
                  const gchar *client)
{
  guint n = g_strcmp0 (self->verifying_client, client) == 0 ? 1 : 0;

  g_autoptr(GPtrArray) waiting = hgd_hash_queue_get_waiting (self->hash_queue, &login_job);

  for (guint i = 0; i < waiting->len; i++)
    {
      LoginData *data = g_task_get_task_data (g_ptr_array_index (waiting, i));

      if (g_strcmp0 (data->client, client) == 0)
        n++;
    }
  return n;
}

/**
 * hgd_accounts_login_async:
 * @self: an #HgdAccounts
 * @username: what the user typed; matched without regard to ASCII case
 * @password: what the user typed
 * @client: (nullable): who is asking, e.g. an IP address, for the per-client limit;
 *   %NULL for no per-client limit
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: for @callback
 *
 * Checks a password in the worker thread, one hash at a time, and opens a session.
 * An unknown user name and a wrong password fail alike, and take as long.
 */
void
hgd_accounts_login_async (HgdAccounts *self,
                          const gchar *username,
                          const gchar *password,
                          const gchar *client,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  LoginData *data;
  gint64 now;
  gint64 wait;

  g_return_if_fail (HGD_IS_ACCOUNTS (self));
  g_return_if_fail (username != NULL);
  g_return_if_fail (password != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hgd_accounts_login_async);
  data = g_new0 (LoginData, 1);
  data->username = login_username (username);
  data->password = g_strdup (password);
  data->client = g_strdup (client);
  data->pair = g_strdup_printf ("%s\n%s", data->username, client != NULL ? client : "");
  g_task_set_task_data (task, data, (GDestroyNotify) login_data_free);

  now = now_monotonic (self);
  wait = hgd_login_limiter_get_wait (self->pair_failures, data->pair, self->login_attempts,
                                     self->login_window, now);
  if (data->client != NULL)
    wait = MAX (wait, hgd_login_limiter_get_wait (self->client_failures, data->client,
                                                  self->login_attempts * CLIENT_ATTEMPTS_FACTOR,
                                                  self->login_window, now));
  if (wait == 0 && data->client != NULL &&
      logins_of_client (self, data->client) >= LOGIN_CLIENT_MAX)
    wait = 1;
  if (wait > 0)
    {
      data->retry_after = wait;
      g_debug ("login refused for %" G_GINT64_FORMAT " s", wait);
      g_task_return_new_error (task, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_RATE_LIMITED,
                               "too many failed logins; try again in %" G_GINT64_FORMAT " s",
                               wait);
      return;
    }
  if (hgd_hash_queue_get_length (self->hash_queue) >= LOGIN_QUEUE_MAX)
    {
      data->retry_after = 1;
      g_debug ("login refused: %u logins waiting", LOGIN_QUEUE_MAX);
      g_task_return_new_error (task, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_BUSY, "%s",
                               "too many logins at once; try again in 1 s");
      return;
    }

  /* counted as failed until it succeeds, so that logins in flight count too */
  data->attempt = now;
  hgd_login_limiter_add (self->pair_failures, data->pair, now);
  if (data->client != NULL)
    hgd_login_limiter_add (self->client_failures, data->client, now);
  hgd_hash_queue_push (self->hash_queue, &login_job, g_steal_pointer (&task));
}

/**
 * hgd_accounts_login_finish:
 * @self: an #HgdAccounts
 * @result: the #GAsyncResult
 * @retry_after: (out) (optional): with %HGD_ACCOUNTS_ERROR_RATE_LIMITED, the seconds to
 *   wait; 0 otherwise
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the new session, the only one with its token set; or %NULL
 *   with %HGD_ACCOUNTS_ERROR_BAD_LOGIN, %HGD_ACCOUNTS_ERROR_RATE_LIMITED,
 *   %HGD_ACCOUNTS_ERROR_STORAGE or %G_IO_ERROR_CANCELLED
 */
HgdSession *
hgd_accounts_login_finish (HgdAccounts *self,
                           GAsyncResult *result,
                           gint64 *retry_after,
                           GError **error)
{
  LoginData *data;

  g_return_val_if_fail (HGD_IS_ACCOUNTS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hgd_accounts_login_async, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  data = g_task_get_task_data (G_TASK (result));
  if (retry_after != NULL)
    *retry_after = data->retry_after;
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * hgd_accounts_lookup_token:
 * @self: an #HgdAccounts
 * @token: (nullable): a bearer token as presented by a client
 *
 * Returns: (transfer full) (nullable): the session, without its token; %NULL if the token
 *   is unknown, expired or revoked
 */
HgdSession *
hgd_accounts_lookup_token (HgdAccounts *self,
                           const gchar *token)
{
  g_autofree gchar *id = NULL;
  HgdSession *session;

  g_return_val_if_fail (HGD_IS_ACCOUNTS (self), NULL);

  if (token == NULL || strnlen (token, TOKEN_CHARS + 1) != TOKEN_CHARS)
    return NULL;
  id = g_compute_checksum_for_string (G_CHECKSUM_SHA256, token, TOKEN_CHARS);
  session = g_hash_table_lookup (self->sessions, id);
  if (session == NULL)
    return NULL;
  if (session->expires <= now_real (self))
    {
      g_hash_table_remove (self->sessions, id);
      return NULL;
    }
  return hgd_session_ref (session);
}

/**
 * hgd_accounts_revoke_session:
 * @self: an #HgdAccounts
 * @session_id: the #HgdSession id
 *
 * Ends a session at once. If the database cannot record it, a warning is logged and the
 * session still ends for this run of the daemon.
 *
 * Returns: %TRUE if a live session was revoked
 */
gboolean
hgd_accounts_revoke_session (HgdAccounts *self,
                             const gchar *session_id)
{
  g_autoptr(GError) error = NULL;
  HgdSession *session;
  HgDomain domain;

  g_return_val_if_fail (HGD_IS_ACCOUNTS (self), FALSE);
  g_return_val_if_fail (session_id != NULL, FALSE);

  session = g_hash_table_lookup (self->sessions, session_id);
  if (session == NULL)
    return FALSE;
  domain = hgd_role_get_domain (session->role);
  if (!db_run (self, domain, "UPDATE sessions SET revoked = 1 WHERE id = ?1",
               (const gchar *[]){ session_id, NULL }, NULL, &error))
    g_warning ("cannot record a revoked session: %s", error->message);
  g_debug ("a session of %s revoked", session->username);
  g_hash_table_remove (self->sessions, session_id);
  return TRUE;
}

/**
 * hgd_accounts_revoke_user_sessions:
 * @self: an #HgdAccounts
 * @username: a user name
 *
 * Ends every session of @username, as hgd_accounts_revoke_session().
 *
 * Returns: how many live sessions were revoked
 */
guint
hgd_accounts_revoke_user_sessions (HgdAccounts *self,
                                   const gchar *username)
{
  g_autoptr(GError) error = NULL;
  Account *account;
  guint n;

  g_return_val_if_fail (HGD_IS_ACCOUNTS (self), 0);
  g_return_val_if_fail (username != NULL, 0);

  account = g_hash_table_lookup (self->accounts, username);
  if (account == NULL)
    return 0;
  if (!db_run (self, account_get_domain (account),
               "UPDATE sessions SET revoked = 1 WHERE username = ?1",
               (const gchar *[]){ username, NULL }, NULL, &error))
    g_warning ("cannot record revoked sessions: %s", error->message);
  n = forget_user_sessions (self, username);
  g_debug ("%u sessions of %s revoked", n, username);
  return n;
}

/**
 * hgd_accounts_open_external_session:
 * @self: an #HgdAccounts
 * @identity: who the identity provider says the caller is
 * @role: a municipal role, from the provider's claims
 * @expires: when the session ends at the latest (real time, usec): the ID token's expiry
 *
 * Opens a session for a staff member the municipality's identity provider vouched for
 * (hgd-oidc.c). It has no account here and is kept in memory only: it ends no later than
 * @expires or [api] session-lifetime, and at once when the provider says so
 * (hgd_accounts_revoke_external_sessions ()). Its user name is `oidc:<subject>`.
 *
 * Returns: (transfer full): the new session, with its token set
 */
HgdSession *
hgd_accounts_open_external_session (HgdAccounts *self,
                                    const HgdSessionIdentity *identity,
                                    HgdRole role,
                                    gint64 expires)
{
  guint8 raw[TOKEN_BYTES];
  gchar token[TOKEN_CHARS + 1];
  g_autofree gchar *id = NULL;
  g_autofree gchar *username = NULL;
  HgdSession *kept;
  HgdSession *session;
  gint64 now = now_real (self);

  g_return_val_if_fail (HGD_IS_ACCOUNTS (self), NULL);
  g_return_val_if_fail (identity != NULL && identity->issuer != NULL, NULL);
  g_return_val_if_fail (identity->subject != NULL, NULL);
  g_return_val_if_fail (hgd_role_get_domain (role) == HG_DOMAIN_MUNICIPAL, NULL);

  sessions_purge_expired (self, now);
  expires = MIN (expires, now + self->session_lifetime * G_USEC_PER_SEC);
  randombytes_buf (raw, sizeof raw);
  sodium_bin2base64 (token, sizeof token, raw, sizeof raw, TOKEN_VARIANT);
  sodium_memzero (raw, sizeof raw);
  id = g_compute_checksum_for_string (G_CHECKSUM_SHA256, token, -1);
  username = g_strconcat ("oidc:", identity->subject, NULL);
  kept = session_new (NULL, id, username, role, expires);
  session = session_new (token, id, username, role, expires);
  sodium_memzero (token, sizeof token);
  for (guint i = 0; i < 2; i++)
    {
      HgdSession *s = i == 0 ? kept : session;

      s->issuer = g_strdup (identity->issuer);
      s->subject = g_strdup (identity->subject);
      s->display_name = g_strdup (identity->display_name);
      s->sid = g_strdup (identity->sid);
      s->id_token = g_strdup (identity->id_token);
    }
  /* the refresh token stays here; the caller's copy has no use for it */
  kept->refresh_token = g_strdup (identity->refresh_token);
  g_hash_table_insert (self->sessions, g_strdup (id), kept);
  return session;
}

/**
 * hgd_accounts_list_external_sessions:
 * @self: an #HgdAccounts
 *
 * Returns: (transfer container) (element-type HgdSession): the live sessions from the
 *   identity provider, without their tokens
 */
GPtrArray *
hgd_accounts_list_external_sessions (HgdAccounts *self)
{
  GPtrArray *sessions = g_ptr_array_new_with_free_func ((GDestroyNotify) hgd_session_unref);
  GHashTableIter iter;
  HgdSession *session;
  gint64 now = now_real (self);

  g_return_val_if_fail (HGD_IS_ACCOUNTS (self), sessions);
  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &session))
    {
      if (session->issuer != NULL && session->expires > now)
        g_ptr_array_add (sessions, hgd_session_ref (session));
    }
  return sessions;
}

/**
 * hgd_accounts_renew_external_session:
 * @self: an #HgdAccounts
 * @session_id: an external session
 * @expires: its new end (real time, usec), the new ID token's; at most [api]
 *   session-lifetime from now
 * @id_token: the new ID token
 * @refresh_token: (nullable): the refresh token for the next renewal
 *
 * Returns: %TRUE if the session was still there to renew
 */
gboolean
hgd_accounts_renew_external_session (HgdAccounts *self,
                                     const gchar *session_id,
                                     gint64 expires,
                                     const gchar *id_token,
                                     const gchar *refresh_token)
{
  HgdSession *old;
  HgdSession *renewed;

  g_return_val_if_fail (HGD_IS_ACCOUNTS (self), FALSE);
  g_return_val_if_fail (session_id != NULL, FALSE);

  old = g_hash_table_lookup (self->sessions, session_id);
  if (old == NULL || old->issuer == NULL || old->expires <= now_real (self))
    return FALSE;
  /* sessions are immutable: the renewed one takes the old one's place */
  renewed = session_new (NULL, old->id, old->username, old->role,
                         MIN (expires, now_real (self) + self->session_lifetime * G_USEC_PER_SEC));
  renewed->issuer = g_strdup (old->issuer);
  renewed->subject = g_strdup (old->subject);
  renewed->display_name = g_strdup (old->display_name);
  renewed->sid = g_strdup (old->sid);
  renewed->id_token = g_strdup (id_token);
  renewed->refresh_token = g_strdup (refresh_token);
  g_hash_table_replace (self->sessions, g_strdup (session_id), renewed);
  return TRUE;
}

/**
 * hgd_accounts_revoke_external_sessions:
 * @self: an #HgdAccounts
 * @issuer: the identity provider
 * @subject: (nullable): its user; %NULL for any
 * @sid: (nullable): its session; %NULL for any
 *
 * Ends at once the external sessions of @issuer that match @subject and @sid (at least
 * one of them given), as a back-channel logout asks.
 *
 * Returns: how many sessions ended
 */
guint
hgd_accounts_revoke_external_sessions (HgdAccounts *self,
                                       const gchar *issuer,
                                       const gchar *subject,
                                       const gchar *sid)
{
  GHashTableIter iter;
  HgdSession *session;
  guint n = 0;

  g_return_val_if_fail (HGD_IS_ACCOUNTS (self), 0);
  g_return_val_if_fail (issuer != NULL, 0);
  g_return_val_if_fail (subject != NULL || sid != NULL, 0);

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &session))
    {
      if (g_strcmp0 (session->issuer, issuer) != 0 ||
          (subject != NULL && g_strcmp0 (session->subject, subject) != 0) ||
          (sid != NULL && g_strcmp0 (session->sid, sid) != 0))
        continue;
      g_hash_table_iter_remove (&iter);
      n++;
    }
  g_debug ("%u sessions ended by the identity provider", n);
  return n;
}

void
hgd_accounts_advance_clock (HgdAccounts *self,
                            gint64 seconds)
{
  g_return_if_fail (HGD_IS_ACCOUNTS (self));
  g_return_if_fail (seconds >= 0);
  self->clock_offset += seconds * G_USEC_PER_SEC;
}

const gchar *
hgd_accounts_get_dummy_hash (void)
{
  return dummy_hash;
}

/**
 * hgd_accounts_set_migrations_for_test:
 * @test_migrations: (array length=n_test_migrations) (nullable): the schema steps account
 *   files are migrated with from now on, or %NULL for the real ones
 * @n_test_migrations: how many
 */
void
hgd_accounts_set_migrations_for_test (const HgdSqliteMigration *test_migrations,
                                      guint n_test_migrations)
{
  migrations = test_migrations != NULL ? test_migrations : accounts_migrations;
  n_migrations = test_migrations != NULL ? n_test_migrations : G_N_ELEMENTS (accounts_migrations);
}

/**
 * hgd_accounts_get_schema_version:
 *
 * Returns: the schema version account files are migrated to
 */
guint
hgd_accounts_get_schema_version (void)
{
  return G_N_ELEMENTS (accounts_migrations);
}
