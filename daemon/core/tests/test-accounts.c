/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of HgdAccounts: users in their own domain, hashed passwords, login rate limits and
 * bearer sessions that expire, can be revoked and survive a restart. */
#include "config.h"

#include <glib/gstdio.h>
#include <sodium.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "hg-test-support.h"
#include "hgd-accounts-private.h"
#include "hgd-demo.h"

#define PASSWORD "correct horse battery"
#define LIFETIME G_GINT64_CONSTANT (3600)

/* 64 characters, the longest user name */
#define LONG_NAME "a012345678901234567890123456789012345678901234567890123456789123"
/* 64 characters, 128 bytes */
#define LONG_NAME_UNICODE "ääääääääääääääääääääääääääääääääääääääääääääääääääääääääääääääää"

typedef struct
{
  gchar *dirs[HG_DOMAIN_LAST + 1]; /* (owned) NULL-terminated, indexed by HgDomain */
  HgdAccounts *accounts;           /* (owned) */
} Fixture;

static HgdAccounts *
open_accounts (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  HgdAccounts *accounts;

  accounts = hgd_accounts_new ((const gchar *const *) fixture->dirs, LIFETIME, &error);
  g_assert_no_error (error);
  g_assert_nonnull (accounts);
  return accounts;
}

/* Stops and starts again on the same directories, as the daemon does on restart. */
static void
restart (Fixture *fixture)
{
  g_clear_object (&fixture->accounts);
  fixture->accounts = open_accounts (fixture);
}

static void
fixture_set_up (Fixture *fixture,
                gconstpointer user_data)
{
  /* G_TEST_OPTION_ISOLATE_DIRS: a fresh, empty state dir for every test */
  const gchar *state_dir = g_get_user_state_dir ();

  fixture->dirs[HG_DOMAIN_MUNICIPAL] = g_build_filename (state_dir, "municipal", NULL);
  fixture->dirs[HG_DOMAIN_PERSONAL] = g_build_filename (state_dir, "personal", NULL);
  fixture->accounts = open_accounts (fixture);
}

static void
fixture_tear_down (Fixture *fixture,
                   gconstpointer user_data)
{
  g_clear_object (&fixture->accounts);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    g_clear_pointer (&fixture->dirs[i], g_free);
}

static gchar *
db_path (Fixture *fixture,
         HgDomain domain)
{
  return g_build_filename (fixture->dirs[domain], "accounts.db", NULL);
}

static void
add_user (Fixture *fixture,
          const gchar *username,
          HgdRole role)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (hgd_accounts_add_user (fixture->accounts, username, role, PASSWORD, &error));
  g_assert_no_error (error);
}

static HgdSession *
login (Fixture *fixture,
       const gchar *username,
       const gchar *password,
       const gchar *client,
       gint64 *retry_after,
       GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  hgd_accounts_login_async (fixture->accounts, username, password, client, NULL,
                            hg_test_async_result_cb, &result);
  hg_test_wait_for_result (&result);
  return hgd_accounts_login_finish (fixture->accounts, result, retry_after, error);
}

static HgdSession *
login_ok (Fixture *fixture,
          const gchar *username)
{
  g_autoptr(GError) error = NULL;
  HgdSession *session = login (fixture, username, PASSWORD, "192.0.2.1", NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (session);
  return session;
}

static void
assert_login_fails (Fixture *fixture,
                    const gchar *username,
                    const gchar *password,
                    const gchar *client,
                    gint code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdSession) session = NULL;
  gint64 retry_after = -1;

  session = login (fixture, username, password, client, &retry_after, &error);
  g_assert_error (error, HGD_ACCOUNTS_ERROR, code);
  g_assert_null (session);
  if (code == HGD_ACCOUNTS_ERROR_RATE_LIMITED)
    g_assert_cmpint (retry_after, >, 0);
  else
    g_assert_cmpint (retry_after, ==, 0);
}

/* Counts the rows of @table in @domain's accounts.db, reading the file with SQLite
 * directly: where the data is, not what the object remembers. */
static gint
count_rows (Fixture *fixture,
            HgDomain domain,
            const gchar *sql,
            const gchar *username)
{
  g_autofree gchar *path = db_path (fixture, domain);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint count;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, username, -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  count = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return count;
}

static void
test_login_right_password (Fixture *fixture,
                           gconstpointer user_data)
{
  g_autoptr(HgdSession) session = NULL;
  g_autoptr(HgdSession) looked_up = NULL;
  g_autofree gchar *id = NULL;
  gint64 now = g_get_real_time ();

  g_test_summary ("The right password opens a session whose random base64url token is shown "
                  "once; only its SHA-256 is kept and finds the session again");
  add_user (fixture, "anna", HGD_ROLE_STAFF);
  session = login_ok (fixture, "anna");
  g_assert_nonnull (session->token);
  g_assert_cmpuint (strlen (session->token), ==, 43);
  g_assert_cmpuint (strspn (session->token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                            "0123456789-_"), ==, 43);
  id = g_compute_checksum_for_string (G_CHECKSUM_SHA256, session->token, -1);
  g_assert_cmpstr (session->id, ==, id);
  g_assert_cmpstr (session->username, ==, "anna");
  g_assert_cmpint (session->role, ==, HGD_ROLE_STAFF);
  g_assert_cmpint (session->expires, >=, now + LIFETIME * G_USEC_PER_SEC);
  g_assert_cmpint (session->expires, <=, g_get_real_time () + LIFETIME * G_USEC_PER_SEC);

  looked_up = hgd_accounts_lookup_token (fixture->accounts, session->token);
  g_assert_nonnull (looked_up);
  g_assert_null (looked_up->token);
  g_assert_cmpstr (looked_up->id, ==, id);
  g_assert_cmpstr (looked_up->username, ==, "anna");
  g_assert_cmpint (looked_up->role, ==, HGD_ROLE_STAFF);
  g_assert_cmpint (looked_up->expires, ==, session->expires);
  g_assert_cmpint (count_rows (fixture, HG_DOMAIN_MUNICIPAL,
                               "SELECT count(*) FROM sessions WHERE id = ?1", id), ==, 1);
}

static void
test_login_two_tokens_differ (Fixture *fixture,
                              gconstpointer user_data)
{
  g_autoptr(HgdSession) first = NULL;
  g_autoptr(HgdSession) second = NULL;

  g_test_summary ("Each login gets its own token and session");
  add_user (fixture, "anna", HGD_ROLE_RESIDENT);
  first = login_ok (fixture, "anna");
  second = login_ok (fixture, "anna");
  g_assert_cmpstr (first->token, !=, second->token);
  g_assert_cmpstr (first->id, !=, second->id);
}

static void
test_login_wrong_password (Fixture *fixture,
                           gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdSession) session = NULL;

  g_test_summary ("A wrong password opens no session");
  add_user (fixture, "anna", HGD_ROLE_STAFF);
  session = login (fixture, "anna", "wrong password", "192.0.2.1", NULL, &error);
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_BAD_LOGIN);
  g_assert_null (session);
  assert_login_fails (fixture, "anna", "", "192.0.2.1", HGD_ACCOUNTS_ERROR_BAD_LOGIN);
}

static void
test_login_unknown_user (Fixture *fixture,
                         gconstpointer user_data)
{
  g_autoptr(GError) error_unknown = NULL;
  g_autoptr(GError) error_wrong = NULL;
  g_autoptr(GError) error_invalid = NULL;
  g_autoptr(HgdSession) session = NULL;

  g_test_summary ("An unknown or invalid user name fails exactly as a wrong password does");
  add_user (fixture, "anna", HGD_ROLE_STAFF);
  session = login (fixture, "nobody", PASSWORD, "192.0.2.1", NULL, &error_unknown);
  g_assert_null (session);
  session = login (fixture, "anna", "wrong password", "192.0.2.2", NULL, &error_wrong);
  g_assert_null (session);
  session = login (fixture, "-not a name-", PASSWORD, "192.0.2.3", NULL, &error_invalid);
  g_assert_null (session);
  g_assert_error (error_unknown, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_BAD_LOGIN);
  g_assert_error (error_wrong, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_BAD_LOGIN);
  g_assert_error (error_invalid, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_BAD_LOGIN);
  g_assert_cmpstr (error_unknown->message, ==, "wrong user name or password");
  g_assert_cmpstr (error_wrong->message, ==, error_unknown->message);
  g_assert_cmpstr (error_invalid->message, ==, error_unknown->message);
}

static void
test_login_name_case (Fixture *fixture,
                      gconstpointer user_data)
{
  g_autoptr(HgdSession) session = NULL;

  g_test_summary ("A capitalised user name, as phone keyboards type it, still logs in");
  add_user (fixture, "anna", HGD_ROLE_FAMILY);
  session = login_ok (fixture, "Anna");
  g_assert_cmpstr (session->username, ==, "anna");
}

static void
test_login_name_case_unicode (Fixture *fixture,
                              gconstpointer user_data)
{
  g_autoptr(HgdSession) session = NULL;
  g_autoptr(HgdSession) decomposed = NULL;

  g_test_summary ("A user name with å, ä, ö logs in typed capitalised, or with å decomposed");
  add_user (fixture, "åsa.öberg", HGD_ROLE_STAFF);
  session = login_ok (fixture, "Åsa.Öberg");
  g_assert_cmpstr (session->username, ==, "åsa.öberg");
  decomposed = login_ok (fixture, "a\314\212sa.o\314\210berg");
  g_assert_cmpstr (decomposed->username, ==, "åsa.öberg");
}

static void
test_login_rate_limited (Fixture *fixture,
                         gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdSession) session = NULL;
  g_autoptr(HgdSession) elsewhere = NULL;
  gint64 retry_after = 0;

  g_test_bug ("12");
  g_test_summary ("After five failed logins for a user name from one client, that client "
                  "waits 1, 2, 4, ... seconds before each next try, the right password "
                  "included; the same user logs in at once from another client");
  add_user (fixture, "anna", HGD_ROLE_STAFF);
  for (guint i = 0; i < 5; i++)
    assert_login_fails (fixture, "anna", "wrong password", "192.0.2.1",
                        HGD_ACCOUNTS_ERROR_BAD_LOGIN);
  session = login (fixture, "anna", PASSWORD, "192.0.2.1", &retry_after, &error);
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_RATE_LIMITED);
  g_assert_null (session);
  g_assert_cmpint (retry_after, ==, 1);
  g_clear_error (&error);

  /* the attacker's client does not lock the user out */
  elsewhere = login (fixture, "anna", PASSWORD, "198.51.100.1", NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (elsewhere);

  /* each further failure doubles the wait */
  for (gint64 expected = 2; expected <= 16; expected *= 2)
    {
      hgd_accounts_advance_clock (fixture->accounts, expected / 2);
      assert_login_fails (fixture, "anna", "wrong password", "192.0.2.1",
                          HGD_ACCOUNTS_ERROR_BAD_LOGIN);
      g_clear_pointer (&session,
                       hgd_session_unref);
      session = login (fixture, "anna", PASSWORD, "192.0.2.1", &retry_after, &error);
      g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_RATE_LIMITED);
      g_assert_cmpint (retry_after, ==, expected);
      g_clear_error (&error);
    }
  /* once waited, the right password logs in and forgives the pair */
  hgd_accounts_advance_clock (fixture->accounts, 16);
  session = login (fixture, "anna", PASSWORD, "192.0.2.1", &retry_after, &error);
  g_assert_no_error (error);
  g_assert_nonnull (session);
  g_assert_cmpint (retry_after, ==, 0);
  assert_login_fails (fixture, "anna", "wrong password", "192.0.2.1", HGD_ACCOUNTS_ERROR_BAD_LOGIN);
}

static void
test_login_rate_limited_unknown_user (Fixture *fixture,
                                      gconstpointer user_data)
{
  g_test_summary ("An unknown user name is limited like a known one, so the limit does not "
                  "tell which names exist");
  for (guint i = 0; i < 5; i++)
    assert_login_fails (fixture, "nobody", "wrong password", "192.0.2.1",
                        HGD_ACCOUNTS_ERROR_BAD_LOGIN);
  assert_login_fails (fixture, "nobody", "wrong password", "192.0.2.1",
                      HGD_ACCOUNTS_ERROR_RATE_LIMITED);
}

static void
test_login_rate_limited_per_client (Fixture *fixture,
                                    gconstpointer user_data)
{
  g_autoptr(HgdSession) session = NULL;
  g_autoptr(HgdSession) neighbour = NULL;

  g_test_bug ("12");
  g_test_summary ("Failures for one user name do not hold back other users at that client "
                  "(a home behind one address); a client guessing many names waits after 20 "
                  "failures; other clients do not");
  add_user (fixture, "anna", HGD_ROLE_STAFF);
  for (guint i = 0; i < 5; i++)
    assert_login_fails (fixture, "bo", "wrong password", "192.0.2.66",
                        HGD_ACCOUNTS_ERROR_BAD_LOGIN);
  neighbour = login (fixture, "anna", PASSWORD, "192.0.2.66", NULL, NULL);
  g_assert_nonnull (neighbour);

  for (guint i = 0; i < 20; i++)
    {
      g_autofree gchar *name = g_strdup_printf ("guess%u", i);
      assert_login_fails (fixture, name, PASSWORD, "192.0.2.67", HGD_ACCOUNTS_ERROR_BAD_LOGIN);
    }
  assert_login_fails (fixture, "anna", PASSWORD, "192.0.2.67", HGD_ACCOUNTS_ERROR_RATE_LIMITED);
  session = login_ok (fixture, "anna");
}

static void
test_login_success_clears_failures (Fixture *fixture,
                                    gconstpointer user_data)
{
  g_autoptr(HgdSession) session = NULL;

  g_test_summary ("A successful login clears the failed logins of that user from that client");
  add_user (fixture, "anna", HGD_ROLE_STAFF);
  for (guint i = 0; i < 4; i++)
    assert_login_fails (fixture, "anna", "wrong password", "192.0.2.1",
                        HGD_ACCOUNTS_ERROR_BAD_LOGIN);
  session = login_ok (fixture, "anna");
  for (guint i = 0; i < 5; i++)
    assert_login_fails (fixture, "anna", "wrong password", "192.0.2.1",
                        HGD_ACCOUNTS_ERROR_BAD_LOGIN);
  assert_login_fails (fixture, "anna", "wrong password", "192.0.2.1",
                      HGD_ACCOUNTS_ERROR_RATE_LIMITED);
}

static void
test_login_limit_settable (Fixture *fixture,
                           gconstpointer user_data)
{
  gint64 retry_after = 0;
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdSession) session = NULL;

  g_test_summary ("The number of free attempts and the window, which caps the wait, come from "
                  "the configuration");
  hgd_accounts_set_login_limit (fixture->accounts, 2, 60);
  add_user (fixture, "anna", HGD_ROLE_STAFF);
  for (guint i = 0; i < 2; i++)
    assert_login_fails (fixture, "anna", "wrong password", "192.0.2.1",
                        HGD_ACCOUNTS_ERROR_BAD_LOGIN);
  for (gint64 wait = 1; wait <= 32; wait *= 2)
    {
      hgd_accounts_advance_clock (fixture->accounts, wait);
      assert_login_fails (fixture, "anna", "wrong password", "192.0.2.1",
                          HGD_ACCOUNTS_ERROR_BAD_LOGIN);
    }
  /* 64 s capped at the window */
  session = login (fixture, "anna", PASSWORD, "192.0.2.1", &retry_after, &error);
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_RATE_LIMITED);
  g_assert_cmpint (retry_after, ==, 60);
  g_clear_error (&error);
  /* a window without failures forgets them */
  hgd_accounts_advance_clock (fixture->accounts, 60);
  session = login (fixture, "anna", PASSWORD, "192.0.2.1", &retry_after, &error);
  g_assert_no_error (error);
  g_assert_nonnull (session);
}

typedef struct
{
  guint done;
  guint ok;
  guint bad_login;
  guint rate_limited;
  guint busy;
} Flood;

static void
flood_cb (GObject *source,
          GAsyncResult *result,
          gpointer user_data)
{
  Flood *flood = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdSession) session = NULL;
  gint64 retry_after = 0;

  session = hgd_accounts_login_finish (HGD_ACCOUNTS (source), result, &retry_after, &error);
  flood->done++;
  if (session != NULL)
    flood->ok++;
  else if (g_error_matches (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_BAD_LOGIN))
    flood->bad_login++;
  else if (g_error_matches (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_RATE_LIMITED))
    flood->rate_limited++;
  else if (g_error_matches (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_BUSY))
    flood->busy++;
  if (retry_after > 0)
    g_assert_cmpint (retry_after, <=, 1);
}

static void
test_login_flood_refused_fast (Fixture *fixture,
                               gconstpointer user_data)
{
  Flood one_client = { 0 };
  Flood many_clients = { 0 };
  g_autoptr(HgdSession) session = NULL;

  g_test_bug ("12");
  g_test_summary ("40 parallel wrong logins from one client: three are verified, the rest are "
                  "refused at once (rate-limited), and a right login from another client, made "
                  "during the flood, succeeds; from 40 clients, eight wait for the hasher and "
                  "the rest are refused at once (busy)");
  add_user (fixture, "anna", HGD_ROLE_STAFF);
  for (guint i = 0; i < 40; i++)
    hgd_accounts_login_async (fixture->accounts, "anna", "wrong password", "192.0.2.99", NULL,
                              flood_cb, &one_client);
  /* all but three are answered before any hash has run */
  while (one_client.done < 37)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (one_client.rate_limited, ==, 37);
  g_assert_cmpuint (one_client.bad_login, ==, 0);
  session = login_ok (fixture, "anna");
  while (one_client.done < 40)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (one_client.bad_login, ==, 3);

  for (guint i = 0; i < 40; i++)
    {
      g_autofree gchar *client = g_strdup_printf ("198.51.100.%u", i + 1);
      hgd_accounts_login_async (fixture->accounts, "anna", "wrong password", client, NULL,
                                flood_cb, &many_clients);
    }
  /* one is hashing, LOGIN_QUEUE_MAX wait, the rest are answered before any hash is done */
  while (many_clients.done < 40 - 1 - 8)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (many_clients.busy, ==, 40 - 1 - 8);
  g_assert_cmpuint (many_clients.bad_login, ==, 0);
  while (many_clients.done < 40)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (many_clients.bad_login, ==, 9);
}

typedef struct
{
  GAsyncResult *results[3];
} Concurrent;

static void
concurrent_cb (GObject *source,
               GAsyncResult *result,
               gpointer user_data)
{
  GAsyncResult **slot = user_data;

  *slot = g_object_ref (result);
}

static void
test_login_concurrent (Fixture *fixture,
                       gconstpointer user_data)
{
  Concurrent concurrent = { { NULL } };
  const gchar *passwords[] = { PASSWORD, "wrong password", PASSWORD };

  g_test_summary ("Logins started together are all answered, each correctly");
  add_user (fixture, "anna", HGD_ROLE_STAFF);
  add_user (fixture, "bo", HGD_ROLE_RESIDENT);
  for (guint i = 0; i < G_N_ELEMENTS (concurrent.results); i++)
    hgd_accounts_login_async (fixture->accounts, i == 2 ? "bo" : "anna", passwords[i],
                              "192.0.2.1", NULL, concurrent_cb, &concurrent.results[i]);
  while (concurrent.results[0] == NULL || concurrent.results[1] == NULL ||
         concurrent.results[2] == NULL)
    g_main_context_iteration (NULL, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (concurrent.results); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(HgdSession) session = NULL;
      g_autoptr(GAsyncResult) result = g_steal_pointer (&concurrent.results[i]);

      session = hgd_accounts_login_finish (fixture->accounts, result, NULL, &error);
      if (i == 1)
        {
          g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_BAD_LOGIN);
        }
      else
        {
          g_assert_no_error (error);
          g_assert_cmpstr (session->username, ==, i == 2 ? "bo" : "anna");
        }
    }
}

static void
test_login_cancelled (Fixture *fixture,
                      gconstpointer user_data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) first = NULL;
  g_autoptr(GAsyncResult) second = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdSession) session = NULL;

  g_test_summary ("A login cancelled while waiting ends with G_IO_ERROR_CANCELLED");
  add_user (fixture, "anna", HGD_ROLE_STAFF);
  hgd_accounts_login_async (fixture->accounts, "anna", PASSWORD, "192.0.2.1", NULL,
                            hg_test_async_result_cb, &first);
  hgd_accounts_login_async (fixture->accounts, "anna", PASSWORD, "192.0.2.1", cancellable,
                            hg_test_async_result_cb, &second);
  g_cancellable_cancel (cancellable);
  while (first == NULL || second == NULL)
    g_main_context_iteration (NULL, TRUE);
  session = hgd_accounts_login_finish (fixture->accounts, second, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (session);
  session = hgd_accounts_login_finish (fixture->accounts, first, NULL, NULL);
  g_assert_nonnull (session);
}

static void
test_session_expired (Fixture *fixture,
                      gconstpointer user_data)
{
  g_autoptr(HgdSession) session = NULL;
  g_autoptr(HgdSession) looked_up = NULL;

  g_test_summary ("A token is refused once its session has expired");
  add_user (fixture, "anna", HGD_ROLE_STAFF);
  session = login_ok (fixture, "anna");
  hgd_accounts_advance_clock (fixture->accounts, LIFETIME - 10);
  looked_up = hgd_accounts_lookup_token (fixture->accounts, session->token);
  g_assert_nonnull (looked_up);
  hgd_accounts_advance_clock (fixture->accounts, 10);
  g_assert_null (hgd_accounts_lookup_token (fixture->accounts, session->token));
}

static void
test_session_expired_real_clock (Fixture *fixture,
                                 gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdSession) session = NULL;

  g_test_summary ("A session made with a 1 s lifetime is gone after 1.1 s, and not loaded "
                  "again at the next start");
  g_clear_object (&fixture->accounts);
  fixture->accounts = hgd_accounts_new ((const gchar *const *) fixture->dirs, 1, &error);
  g_assert_no_error (error);
  add_user (fixture, "anna", HGD_ROLE_STAFF);
  session = login_ok (fixture, "anna");
  g_usleep (1100 * 1000);
  g_assert_null (hgd_accounts_lookup_token (fixture->accounts, session->token));
  restart (fixture);
  g_assert_null (hgd_accounts_lookup_token (fixture->accounts, session->token));
  g_assert_cmpint (count_rows (fixture, HG_DOMAIN_MUNICIPAL, "SELECT count(*) FROM sessions "
                               "WHERE username = ?1", "anna"), ==, 0);
}

static void
test_session_revoked (Fixture *fixture,
                      gconstpointer user_data)
{
  g_autoptr(HgdSession) session = NULL;
  g_autoptr(HgdSession) other = NULL;
  g_autoptr(HgdSession) looked_up = NULL;

  g_test_summary ("A revoked token is refused, also after a restart; other sessions stay");
  add_user (fixture, "anna", HGD_ROLE_RESIDENT);
  session = login_ok (fixture, "anna");
  other = login_ok (fixture, "anna");
  g_assert_true (hgd_accounts_revoke_session (fixture->accounts, session->id));
  g_assert_null (hgd_accounts_lookup_token (fixture->accounts, session->token));
  g_assert_false (hgd_accounts_revoke_session (fixture->accounts, session->id));
  g_assert_false (hgd_accounts_revoke_session (fixture->accounts, "no-such-session"));
  restart (fixture);
  g_assert_null (hgd_accounts_lookup_token (fixture->accounts, session->token));
  looked_up = hgd_accounts_lookup_token (fixture->accounts, other->token);
  g_assert_nonnull (looked_up);
}

static void
test_session_user_sessions_revoked (Fixture *fixture,
                                    gconstpointer user_data)
{
  g_autoptr(HgdSession) first = NULL;
  g_autoptr(HgdSession) second = NULL;
  g_autoptr(HgdSession) other = NULL;
  g_autoptr(HgdSession) looked_up = NULL;

  g_test_summary ("Revoking a user's sessions ends all of them and no one else's");
  add_user (fixture, "anna", HGD_ROLE_STAFF);
  add_user (fixture, "bo", HGD_ROLE_STAFF);
  first = login_ok (fixture, "anna");
  second = login_ok (fixture, "anna");
  other = login_ok (fixture, "bo");
  g_assert_cmpuint (hgd_accounts_revoke_user_sessions (fixture->accounts, "anna"), ==, 2);
  g_assert_null (hgd_accounts_lookup_token (fixture->accounts, first->token));
  g_assert_null (hgd_accounts_lookup_token (fixture->accounts, second->token));
  g_assert_cmpuint (hgd_accounts_revoke_user_sessions (fixture->accounts, "anna"), ==, 0);
  g_assert_cmpuint (hgd_accounts_revoke_user_sessions (fixture->accounts, "nobody"), ==, 0);
  restart (fixture);
  g_assert_null (hgd_accounts_lookup_token (fixture->accounts, first->token));
  looked_up = hgd_accounts_lookup_token (fixture->accounts, other->token);
  g_assert_nonnull (looked_up);
}

static void
test_session_survives_restart (Fixture *fixture,
                               gconstpointer user_data)
{
  g_autoptr(HgdSession) session = NULL;
  g_autoptr(HgdSession) looked_up = NULL;

  g_test_summary ("A session is still valid after the daemon restarts");
  add_user (fixture, "anna", HGD_ROLE_FAMILY);
  session = login_ok (fixture, "anna");
  restart (fixture);
  looked_up = hgd_accounts_lookup_token (fixture->accounts, session->token);
  g_assert_nonnull (looked_up);
  g_assert_cmpstr (looked_up->id, ==, session->id);
  g_assert_cmpstr (looked_up->username, ==, "anna");
  g_assert_cmpint (looked_up->role, ==, HGD_ROLE_FAMILY);
  g_assert_cmpint (looked_up->expires, ==, session->expires);
  g_assert_null (looked_up->token);
}

static void
test_session_forged_token (Fixture *fixture,
                           gconstpointer user_data)
{
  g_autoptr(HgdSession) session = NULL;
  g_autofree gchar *altered = NULL;
  g_autofree gchar *longer = NULL;

  g_test_summary ("A token that was never issued finds nothing, whatever its shape");
  add_user (fixture, "anna", HGD_ROLE_STAFF);
  session = login_ok (fixture, "anna");
  altered = g_strdup (session->token);
  altered[0] = altered[0] == 'A' ? 'B' : 'A';
  longer = g_strconcat (session->token, "x", NULL);
  g_assert_null (hgd_accounts_lookup_token (fixture->accounts, altered));
  g_assert_null (hgd_accounts_lookup_token (fixture->accounts, longer));
  g_assert_null (hgd_accounts_lookup_token (fixture->accounts, ""));
  g_assert_null (hgd_accounts_lookup_token (fixture->accounts, NULL));
  /* the session id is not a token */
  g_assert_null (hgd_accounts_lookup_token (fixture->accounts, session->id));
}

static void
test_users_unique_across_domains (Fixture *fixture,
                                  gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;

  g_test_summary ("A user name taken in one domain cannot be added in the other, also after "
                  "a restart");
  add_user (fixture, "anna", HGD_ROLE_RESIDENT);
  g_assert_false (hgd_accounts_add_user (fixture->accounts, "anna", HGD_ROLE_STAFF, PASSWORD,
                                         &error));
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_false (hgd_accounts_add_user (fixture->accounts, "anna", HGD_ROLE_FAMILY, PASSWORD,
                                         &error));
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_EXISTS);
  g_clear_error (&error);
  restart (fixture);
  g_assert_false (hgd_accounts_add_user (fixture->accounts, "anna", HGD_ROLE_IT_ADMIN, PASSWORD,
                                         &error));
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_EXISTS);
  g_assert_cmpint (count_rows (fixture, HG_DOMAIN_MUNICIPAL,
                               "SELECT count(*) FROM users WHERE username = ?1", "anna"), ==, 0);
}

static void
test_users_added_by_another_process (Fixture *fixture,
                                     gconstpointer user_data)
{
  g_autoptr(HgdAccounts) other = open_accounts (fixture);
  g_autoptr(HgdSession) session = NULL;
  g_autoptr(GPtrArray) users = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A user another process adds to the files (hemgated --add-user while the "
                  "daemon runs) logs in at once, is listed and its name is taken; a name taken "
                  "in the other domain the same way is refused too");
  g_test_bug ("issue 19");

  /* the running daemon has read the (empty) files already */
  g_assert_false (hgd_accounts_has_user (fixture->accounts, "it"));
  g_assert_true (hgd_accounts_add_user (other, "it", HGD_ROLE_IT_ADMIN, PASSWORD, &error));
  g_assert_no_error (error);

  session = login_ok (fixture, "it");
  g_assert_cmpint (session->role, ==, HGD_ROLE_IT_ADMIN);
  users = hgd_accounts_list_users (fixture->accounts, HG_DOMAIN_MUNICIPAL);
  g_assert_cmpuint (users->len, ==, 1);
  g_assert_cmpstr (((HgdUser *) g_ptr_array_index (users, 0))->username, ==, "it");
  g_assert_false (hgd_accounts_add_user (fixture->accounts, "it", HGD_ROLE_STAFF, PASSWORD,
                                         &error));
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_EXISTS);
  g_clear_error (&error);

  g_assert_true (hgd_accounts_add_user (other, "elsa", HGD_ROLE_RESIDENT, PASSWORD, &error));
  g_assert_no_error (error);
  g_assert_false (hgd_accounts_add_user (fixture->accounts, "elsa", HGD_ROLE_STAFF, PASSWORD,
                                         &error));
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_EXISTS);
  g_assert_true (hgd_accounts_has_user (fixture->accounts, "elsa"));
  g_assert_cmpint (count_rows (fixture, HG_DOMAIN_MUNICIPAL,
                               "SELECT count(*) FROM users WHERE username = ?1", "elsa"), ==, 0);

  /* what this object adds itself is not read twice */
  add_user (fixture, "anna", HGD_ROLE_STAFF);
  g_clear_pointer (&users, g_ptr_array_unref);
  users = hgd_accounts_list_users (fixture->accounts, HG_DOMAIN_MUNICIPAL);
  g_assert_cmpuint (users->len, ==, 2);
}

static void
test_users_stored_in_own_domain (Fixture *fixture,
                                 gconstpointer user_data)
{
  g_autoptr(HgdSession) session = NULL;
  const gchar *users_sql = "SELECT count(*) FROM users WHERE username = ?1";
  const gchar *sessions_sql = "SELECT count(*) FROM sessions WHERE username = ?1";
  const struct
  {
    const gchar *name;
    HgdRole role;
    HgDomain domain;
  } users[] = {
    { "resident", HGD_ROLE_RESIDENT, HG_DOMAIN_PERSONAL },
    { "family", HGD_ROLE_FAMILY, HG_DOMAIN_PERSONAL },
    { "staff", HGD_ROLE_STAFF, HG_DOMAIN_MUNICIPAL },
    { "admin", HGD_ROLE_IT_ADMIN, HG_DOMAIN_MUNICIPAL },
    { "fleet", HGD_ROLE_SERVICE, HG_DOMAIN_MUNICIPAL },
    { "trustee", HGD_ROLE_GUARDIAN, HG_DOMAIN_PERSONAL },
    { "inspector", HGD_ROLE_AUDITOR, HG_DOMAIN_MUNICIPAL },
  };

  g_test_summary ("Each user, and each of their sessions, is stored only in the accounts.db "
                  "of the domain of their role");
  for (guint i = 0; i < G_N_ELEMENTS (users); i++)
    add_user (fixture, users[i].name, users[i].role);
  session = login_ok (fixture, "family");
  g_clear_pointer (&session, hgd_session_unref);
  session = login_ok (fixture, "admin");

  for (guint i = 0; i < G_N_ELEMENTS (users); i++)
    {
      HgDomain other = users[i].domain == HG_DOMAIN_PERSONAL ? HG_DOMAIN_MUNICIPAL
                                                             : HG_DOMAIN_PERSONAL;
      g_assert_cmpint (count_rows (fixture, users[i].domain, users_sql, users[i].name), ==, 1);
      g_assert_cmpint (count_rows (fixture, other, users_sql, users[i].name), ==, 0);
    }
  g_assert_cmpint (count_rows (fixture, HG_DOMAIN_PERSONAL, sessions_sql, "family"), ==, 1);
  g_assert_cmpint (count_rows (fixture, HG_DOMAIN_MUNICIPAL, sessions_sql, "family"), ==, 0);
  g_assert_cmpint (count_rows (fixture, HG_DOMAIN_MUNICIPAL, sessions_sql, "admin"), ==, 1);
  g_assert_cmpint (count_rows (fixture, HG_DOMAIN_PERSONAL, sessions_sql, "admin"), ==, 0);
}

static void
test_users_listed_by_domain (Fixture *fixture,
                             gconstpointer user_data)
{
  g_autoptr(GPtrArray) personal = NULL;
  g_autoptr(GPtrArray) municipal = NULL;
  HgdUser *user;
  gint64 before = g_get_real_time ();

  g_test_summary ("Users are listed per domain, sorted by name, with role and creation time");
  add_user (fixture, "karin", HGD_ROLE_STAFF);
  add_user (fixture, "bo", HGD_ROLE_RESIDENT);
  add_user (fixture, "admin", HGD_ROLE_IT_ADMIN);
  add_user (fixture, "anna", HGD_ROLE_FAMILY);
  restart (fixture);
  personal = hgd_accounts_list_users (fixture->accounts, HG_DOMAIN_PERSONAL);
  municipal = hgd_accounts_list_users (fixture->accounts, HG_DOMAIN_MUNICIPAL);
  g_assert_cmpuint (personal->len, ==, 2);
  g_assert_cmpuint (municipal->len, ==, 2);
  user = g_ptr_array_index (personal, 0);
  g_assert_cmpstr (user->username, ==, "anna");
  g_assert_cmpint (user->role, ==, HGD_ROLE_FAMILY);
  g_assert_cmpint (user->created, >=, before);
  g_assert_cmpint (user->created, <=, g_get_real_time ());
  user = g_ptr_array_index (personal, 1);
  g_assert_cmpstr (user->username, ==, "bo");
  g_assert_cmpint (user->role, ==, HGD_ROLE_RESIDENT);
  user = g_ptr_array_index (municipal, 0);
  g_assert_cmpstr (user->username, ==, "admin");
  g_assert_cmpint (user->role, ==, HGD_ROLE_IT_ADMIN);
  user = g_ptr_array_index (municipal, 1);
  g_assert_cmpstr (user->username, ==, "karin");
  g_assert_true (hgd_accounts_has_user (fixture->accounts, "karin"));
  g_assert_false (hgd_accounts_has_user (fixture->accounts, "Karin"));
}

static void
test_users_invalid_name (Fixture *fixture,
                         gconstpointer user_data)
{
  /* upper case, a decomposed å (not NFC), a superscript digit, a no-break space, and the
   * title-case letter ǅ are refused */
  const gchar *bad[] = { "", "-anna", ".anna", "_anna", "Anna", "an na", "anna/..", "Åsa",
                         "anna@example.org", "-åsa", "å\xff", "a\314\212sa", "åsa\u00b2",
                         "an\u00a0na", "ǅe", LONG_NAME "x", LONG_NAME_UNICODE "ö" };
  const gchar *good[] = { "a", "0", "anna.b_c-d", "1st", "åsa", "örjan.ängström", "ärla_ö-1",
                          "émile", "ß", LONG_NAME, LONG_NAME_UNICODE };

  g_test_summary ("User names are 1 to 64 characters of lower-case letters of any script, "
                  "0-9 . _ -, starting with a letter or digit, in NFC");
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_assert_false (hgd_accounts_add_user (fixture->accounts, bad[i], HGD_ROLE_STAFF, PASSWORD,
                                             &error));
      g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_INVALID);
      g_assert_false (hgd_accounts_has_user (fixture->accounts, bad[i]));
    }
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    add_user (fixture, good[i], HGD_ROLE_STAFF);
}

static void
test_users_weak_password (Fixture *fixture,
                          gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdSession) session = NULL;
  g_autofree gchar *huge = g_strnfill (5000, 'x');

  g_test_bug ("12");
  g_test_summary ("A password needs at least 10 characters (not bytes) and must not be a "
                  "common one or the user name; the refusal states the rule and never repeats "
                  "the password");
  g_assert_false (hgd_accounts_add_user (fixture->accounts, "anna", HGD_ROLE_STAFF, "seven77",
                                         &error));
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_WEAK_PASSWORD);
  g_assert_nonnull (strstr (error->message, HGD_PASSWORD_RULE));
  g_assert_null (strstr (error->message, "seven77"));
  g_clear_error (&error);
  /* nine characters, eighteen bytes */
  g_assert_false (hgd_accounts_add_user (fixture->accounts, "anna", HGD_ROLE_STAFF,
                                         "åäöåäöåäö", &error));
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_WEAK_PASSWORD);
  g_clear_error (&error);
  /* common ones, whatever their case, and the user's own name */
  for (guint i = 0; i < 3; i++)
    {
      const gchar *common[] = { "1234567890", "BasketBall", "qwertyuiop" };
      g_assert_false (hgd_accounts_add_user (fixture->accounts, "anna", HGD_ROLE_STAFF, common[i],
                                             &error));
      g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_WEAK_PASSWORD);
      g_assert_nonnull (strstr (error->message, "too common"));
      g_assert_nonnull (strstr (error->message, HGD_PASSWORD_RULE));
      g_clear_error (&error);
    }
  g_assert_false (hgd_accounts_add_user (fixture->accounts, "annasvensson", HGD_ROLE_STAFF,
                                         "AnnaSvensson", &error));
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_WEAK_PASSWORD);
  g_clear_error (&error);
  g_assert_false (hgd_accounts_add_user (fixture->accounts, "anna", HGD_ROLE_STAFF,
                                         "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6", &error));
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (hgd_accounts_add_user (fixture->accounts, "anna", HGD_ROLE_STAFF, huge,
                                         &error));
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (hgd_accounts_has_user (fixture->accounts, "anna"));

  g_assert_true (hgd_accounts_add_user (fixture->accounts, "anna", HGD_ROLE_STAFF,
                                        "åäöåäöåäöå", &error));
  g_assert_no_error (error);
  session = login (fixture, "anna", "åäöåäöåäöå", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (session);
}

static void
test_users_demo_passwords_pass (Fixture *fixture,
                                gconstpointer user_data)
{
  /* the fixed ones of ./dev demo's callers: the UI, CLI and SCAIP tests, the benchmarks */
  const gchar *const fixed[] = { NULL, "ui-test-password-7", "cli-test-password-4711",
                                 "scaip-test-passphrase", "bench-passphrase", "bench-password" };

  g_test_summary ("The demo's random passwords, and the fixed ones the tests and benchmarks "
                  "give it, pass the password rule");
  for (guint i = 0; i < G_N_ELEMENTS (fixed); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) logins
          = hgd_demo_ensure_users (fixture->accounts, fixed[i], NULL, &error);

      g_assert_no_error (error);
      g_assert_nonnull (logins);
    }
}

static const gchar *
demo_password (GPtrArray *logins,
               const gchar *username)
{
  for (guint i = 0; i < logins->len; i++)
    {
      HgdDemoLogin *login = g_ptr_array_index (logins, i);

      if (g_str_equal (login->username, username))
        return login->password;
    }
  g_assert_not_reached ();
}

static void
test_users_demo_not_rehashed (Fixture *fixture,
                              gconstpointer user_data)
{
  const gchar *state_dir = g_get_user_state_dir ();
  const gchar *const users[] = { "resident", "family", "staff", "admin" };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) first = NULL;
  g_autoptr(GPtrArray) second = NULL;
  g_autoptr(GPtrArray) third = NULL;
  g_autoptr(GPtrArray) fixed = NULL;
  g_autoptr(HgdSession) session = NULL;
  g_autofree gchar *staff_hash = NULL;
  g_autofree gchar *resident_hash = NULL;
  g_autofree gchar *record = NULL;
  GStatBuf st;

  g_test_bug ("13");
  g_test_summary ("A restarted demo keeps its users' passwords without hashing them again "
                  "(their stored hashes do not change) and prints the same ones; a password "
                  "changed meanwhile, or another HEMGATE_DEMO_PASSWORD, is set and hashed anew");
  first = hgd_demo_ensure_users (fixture->accounts, NULL, state_dir, &error);
  g_assert_no_error (error);
  record = g_build_filename (state_dir, "demo-logins", NULL);
  g_assert_cmpint (g_stat (record, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  resident_hash = hgd_accounts_dup_password_hash (fixture->accounts, "resident");

  restart (fixture);
  second = hgd_demo_ensure_users (fixture->accounts, NULL, state_dir, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (users); i++)
    g_assert_cmpstr (demo_password (second, users[i]), ==, demo_password (first, users[i]));
  g_clear_pointer (&record, g_free);
  record = hgd_accounts_dup_password_hash (fixture->accounts, "resident");
  g_assert_cmpstr (record, ==, resident_hash);
  session = login (fixture, "resident", demo_password (second, "resident"), NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (session);

  /* someone changed staff's password: the recorded one no longer logs in */
  g_assert_true (hgd_accounts_set_password (fixture->accounts, "staff", "another password",
                                            &error));
  g_assert_no_error (error);
  staff_hash = hgd_accounts_dup_password_hash (fixture->accounts, "staff");
  restart (fixture);
  third = hgd_demo_ensure_users (fixture->accounts, NULL, state_dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (demo_password (third, "resident"), ==, demo_password (first, "resident"));
  g_clear_pointer (&record, g_free);
  record = hgd_accounts_dup_password_hash (fixture->accounts, "staff");
  g_assert_cmpstr (record, !=, staff_hash);
  g_clear_pointer (&session, hgd_session_unref);
  session = login (fixture, "staff", demo_password (third, "staff"), NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (session);

  fixed = hgd_demo_ensure_users (fixture->accounts, "bench-passphrase", state_dir, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (users); i++)
    g_assert_cmpstr (demo_password (fixed, users[i]), ==, "bench-passphrase");
  g_clear_pointer (&session, hgd_session_unref);
  session = login (fixture, "family", "bench-passphrase", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (session);
}

static void
test_users_password_changed (Fixture *fixture,
                             gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdSession) session = NULL;

  g_test_summary ("After a password change only the new password logs in, also after a "
                  "restart; a weak one or an unknown user is refused");
  add_user (fixture, "anna", HGD_ROLE_STAFF);
  g_assert_true (hgd_accounts_set_password (fixture->accounts, "anna", "new password", &error));
  g_assert_no_error (error);
  restart (fixture);
  assert_login_fails (fixture, "anna", PASSWORD, "192.0.2.1", HGD_ACCOUNTS_ERROR_BAD_LOGIN);
  session = login (fixture, "anna", "new password", "192.0.2.1", NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (session);

  g_assert_false (hgd_accounts_set_password (fixture->accounts, "anna", "short", &error));
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_WEAK_PASSWORD);
  g_clear_error (&error);
  g_assert_false (hgd_accounts_set_password (fixture->accounts, "nobody", "new password", &error));
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_NOT_FOUND);
}

static void
test_users_removed (Fixture *fixture,
                    gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdSession) session = NULL;

  g_test_summary ("A removed user cannot log in, their sessions end and their name is free");
  add_user (fixture, "anna", HGD_ROLE_RESIDENT);
  session = login_ok (fixture, "anna");
  g_assert_true (hgd_accounts_remove_user (fixture->accounts, "anna", &error));
  g_assert_no_error (error);
  g_assert_false (hgd_accounts_has_user (fixture->accounts, "anna"));
  g_assert_null (hgd_accounts_lookup_token (fixture->accounts, session->token));
  assert_login_fails (fixture, "anna", PASSWORD, "192.0.2.1", HGD_ACCOUNTS_ERROR_BAD_LOGIN);
  g_assert_cmpint (count_rows (fixture, HG_DOMAIN_PERSONAL,
                               "SELECT count(*) FROM sessions WHERE username = ?1", "anna"), ==, 0);
  restart (fixture);
  g_assert_null (hgd_accounts_lookup_token (fixture->accounts, session->token));
  g_assert_false (hgd_accounts_remove_user (fixture->accounts, "anna", &error));
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_NOT_FOUND);
  add_user (fixture, "anna", HGD_ROLE_STAFF);
}

/* The main loop's side of /accounts/users/add-async-does-not-block. */
typedef struct
{
  guint ticks;            /* times the timeout ran */
  guint ticks_at_done;    /* what @ticks was when the add completed */
  GAsyncResult *result;   /* (owned) (nullable) */
} Ticker;

static gboolean
ticker_tick_cb (gpointer user_data)
{
  Ticker *ticker = user_data;

  ticker->ticks++;
  return G_SOURCE_CONTINUE;
}

static void
ticker_done_cb (GObject *source,
                GAsyncResult *result,
                gpointer user_data)
{
  Ticker *ticker = user_data;

  ticker->ticks_at_done = ticker->ticks;
  ticker->result = g_object_ref (result);
}

static void
test_users_add_async_does_not_block (Fixture *fixture,
                                     gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdSession) session = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  Ticker ticker = { 0 };
  guint tick_id;

  g_test_summary ("While a user is being added, the password hashed in the worker, the main "
                  "loop keeps running; the user exists, and logs in, once the add completes");
  hgd_accounts_add_user_async (fixture->accounts, "anna", HGD_ROLE_STAFF, PASSWORD, NULL,
                               ticker_done_cb, &ticker);
  /* a blocking add would be answered before a timeout added only now could run */
  tick_id = g_timeout_add (1, ticker_tick_cb, &ticker);
  g_assert_false (hgd_accounts_has_user (fixture->accounts, "anna"));
  hg_test_wait_for_result (&ticker.result);
  g_source_remove (tick_id);
  result = g_steal_pointer (&ticker.result);
  g_assert_true (hgd_accounts_add_user_finish (fixture->accounts, result, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ticker.ticks_at_done, >, 0);
  g_assert_true (hgd_accounts_has_user (fixture->accounts, "anna"));
  g_assert_cmpint (count_rows (fixture, HG_DOMAIN_MUNICIPAL,
                               "SELECT count(*) FROM users WHERE username = ?1", "anna"), ==, 1);
  session = login_ok (fixture, "anna");
  g_clear_pointer (&session, hgd_session_unref);
  restart (fixture);
  session = login_ok (fixture, "anna");
}

static void
test_users_add_async_same_name (Fixture *fixture,
                                gconstpointer user_data)
{
  g_autoptr(GAsyncResult) first = NULL;
  g_autoptr(GAsyncResult) second = NULL;
  g_autoptr(GError) first_error = NULL;
  g_autoptr(GError) second_error = NULL;
  g_autoptr(GError) error = NULL;
  gboolean first_ok;
  gboolean second_ok;
  const gchar *users_sql = "SELECT count(*) FROM users WHERE username = ?1";

  g_test_summary ("Of two adds of one name in flight together, even in different domains, "
                  "exactly one succeeds and the other fails with EXISTS");
  hgd_accounts_add_user_async (fixture->accounts, "anna", HGD_ROLE_STAFF, PASSWORD, NULL,
                               hg_test_async_result_cb, &first);
  hgd_accounts_add_user_async (fixture->accounts, "anna", HGD_ROLE_RESIDENT, "another password",
                               NULL, hg_test_async_result_cb, &second);
  /* the name is reserved for the add in flight, also against the synchronous add */
  g_assert_false (hgd_accounts_add_user (fixture->accounts, "anna", HGD_ROLE_FAMILY, PASSWORD,
                                         &error));
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_EXISTS);
  hg_test_wait_for_result (&first);
  hg_test_wait_for_result (&second);
  first_ok = hgd_accounts_add_user_finish (fixture->accounts, first, &first_error);
  second_ok = hgd_accounts_add_user_finish (fixture->accounts, second, &second_error);
  g_assert_true (first_ok != second_ok);
  if (first_ok)
    {
      g_assert_no_error (first_error);
      g_assert_error (second_error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_EXISTS);
    }
  else
    {
      g_assert_no_error (second_error);
      g_assert_error (first_error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_EXISTS);
    }
  g_assert_cmpint (count_rows (fixture, HG_DOMAIN_MUNICIPAL, users_sql, "anna") +
                       count_rows (fixture, HG_DOMAIN_PERSONAL, users_sql, "anna"),
                   ==, 1);
  restart (fixture);
  g_assert_true (hgd_accounts_has_user (fixture->accounts, "anna"));
}

static void
test_users_add_async_cancelled (Fixture *fixture,
                                gconstpointer user_data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A cancelled add stores nothing and frees its name; a refused one is "
                  "answered without hashing");
  hgd_accounts_add_user_async (fixture->accounts, "anna", HGD_ROLE_STAFF, PASSWORD, cancellable,
                               hg_test_async_result_cb, &result);
  g_cancellable_cancel (cancellable);
  hg_test_wait_for_result (&result);
  g_assert_false (hgd_accounts_add_user_finish (fixture->accounts, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (hgd_accounts_has_user (fixture->accounts, "anna"));
  g_assert_cmpint (count_rows (fixture, HG_DOMAIN_MUNICIPAL,
                               "SELECT count(*) FROM users WHERE username = ?1", "anna"), ==, 0);
  g_clear_object (&result);
  g_clear_error (&error);

  hgd_accounts_add_user_async (fixture->accounts, "anna", HGD_ROLE_STAFF, "short", NULL,
                               hg_test_async_result_cb, &result);
  hg_test_wait_for_result (&result);
  g_assert_false (hgd_accounts_add_user_finish (fixture->accounts, result, &error));
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_WEAK_PASSWORD);
  g_clear_object (&result);
  g_clear_error (&error);

  hgd_accounts_add_user_async (fixture->accounts, "anna", HGD_ROLE_STAFF, PASSWORD, NULL,
                               hg_test_async_result_cb, &result);
  hg_test_wait_for_result (&result);
  g_assert_true (hgd_accounts_add_user_finish (fixture->accounts, result, &error));
  g_assert_no_error (error);
}

static gboolean
set_password (Fixture *fixture,
              const gchar *username,
              const gchar *password,
              GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  hgd_accounts_set_password_async (fixture->accounts, username, password, NULL,
                                   hg_test_async_result_cb, &result);
  hg_test_wait_for_result (&result);
  return hgd_accounts_set_password_finish (fixture->accounts, result, error);
}

static void
test_users_set_password_async (Fixture *fixture,
                               gconstpointer user_data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdSession) session = NULL;

  g_test_summary ("A password changed asynchronously: only the new one logs in, also after a "
                  "restart; a weak password, an unknown user, or a user removed while the "
                  "password was hashed is refused");
  add_user (fixture, "anna", HGD_ROLE_STAFF);
  g_assert_true (set_password (fixture, "anna", "new password", &error));
  g_assert_no_error (error);
  assert_login_fails (fixture, "anna", PASSWORD, "192.0.2.1", HGD_ACCOUNTS_ERROR_BAD_LOGIN);
  session = login (fixture, "anna", "new password", "192.0.2.1", NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (session);
  g_clear_pointer (&session, hgd_session_unref);
  restart (fixture);
  session = login (fixture, "anna", "new password", "192.0.2.2", NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (session);

  g_assert_false (set_password (fixture, "anna", "short", &error));
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_WEAK_PASSWORD);
  g_clear_error (&error);
  g_assert_false (set_password (fixture, "nobody", "new password", &error));
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* removed and added again while hashing: the new anna keeps her own password */
  hgd_accounts_set_password_async (fixture->accounts, "anna", "third password", NULL,
                                   hg_test_async_result_cb, &result);
  g_assert_true (hgd_accounts_remove_user (fixture->accounts, "anna", &error));
  g_assert_no_error (error);
  g_usleep (1);
  add_user (fixture, "anna", HGD_ROLE_STAFF);
  hg_test_wait_for_result (&result);
  g_assert_false (hgd_accounts_set_password_finish (fixture->accounts, result, &error));
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_NOT_FOUND);
  g_clear_pointer (&session, hgd_session_unref);
  session = login_ok (fixture, "anna");
}

/* Every file of both accounts databases, as bytes: the main file, -wal and -shm. */
static GByteArray *
read_db_files (Fixture *fixture)
{
  GByteArray *bytes = g_byte_array_new ();

  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      g_autoptr(GDir) dir = g_dir_open (fixture->dirs[i], 0, NULL);
      const gchar *name;

      g_assert_nonnull (dir);
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree gchar *path = g_build_filename (fixture->dirs[i], name, NULL);
          g_autofree gchar *contents = NULL;
          gsize length;

          g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
          g_byte_array_append (bytes, (const guint8 *) contents, length);
        }
    }
  return bytes;
}

static gboolean
bytes_contain (GByteArray *bytes,
               const gchar *needle)
{
  return memmem (bytes->data, bytes->len, needle, strlen (needle)) != NULL;
}

static void
test_hash_not_plaintext (Fixture *fixture,
                         gconstpointer user_data)
{
  g_autoptr(GByteArray) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdSession) session = NULL;

  g_test_summary ("Neither the password nor the token is in any database file; the password "
                  "is stored as an Argon2id hash");
  add_user (fixture, "anna", HGD_ROLE_STAFF);
  g_assert_true (hgd_accounts_set_password (fixture->accounts, "anna", "second password", &error));
  g_assert_no_error (error);
  add_user (fixture, "bo", HGD_ROLE_RESIDENT);
  session = login (fixture, "anna", "second password", NULL, NULL, &error);
  g_assert_no_error (error);
  bytes = read_db_files (fixture);
  g_assert_true (bytes_contain (bytes, "anna"));
  g_assert_true (bytes_contain (bytes, "$argon2id$"));
  g_assert_false (bytes_contain (bytes, PASSWORD));
  g_assert_false (bytes_contain (bytes, "second password"));
  g_assert_false (bytes_contain (bytes, session->token));
  g_assert_true (bytes_contain (bytes, session->id));
}

static void
test_hash_dummy_costs_as_much (Fixture *fixture,
                               gconstpointer user_data)
{
  g_test_summary ("The hash verified for unknown users has the same Argon2id cost as a real one");
  g_assert_true (g_str_has_prefix (hgd_accounts_get_dummy_hash (), "$argon2id$"));
  g_assert_cmpint (crypto_pwhash_str_needs_rehash (hgd_accounts_get_dummy_hash (),
                                                   crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                                   crypto_pwhash_MEMLIMIT_INTERACTIVE), ==, 0);
}

static void
test_hash_rehashed_on_login (Fixture *fixture,
                             gconstpointer user_data)
{
  gchar weak[crypto_pwhash_STRBYTES];
  g_autofree gchar *path = db_path (fixture, HG_DOMAIN_MUNICIPAL);
  g_autoptr(HgdSession) session = NULL;
  gchar *sql;
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  g_test_summary ("A hash made with weaker limits is replaced at the next successful login");
  add_user (fixture, "anna", HGD_ROLE_STAFF);
  g_clear_object (&fixture->accounts);
  g_assert_cmpint (crypto_pwhash_str (weak, PASSWORD, strlen (PASSWORD),
                                      crypto_pwhash_OPSLIMIT_MIN, 8192), ==, 0);
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  sql = sqlite3_mprintf ("UPDATE users SET hash = %Q WHERE username = 'anna'", weak);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_free (sql);
  sqlite3_close (db);

  fixture->accounts = open_accounts (fixture);
  session = login_ok (fixture, "anna");
  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT hash FROM users WHERE username = 'anna'", -1,
                                       &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (crypto_pwhash_str_needs_rehash ((const gchar *) sqlite3_column_text (stmt, 0),
                                                   crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                                   crypto_pwhash_MEMLIMIT_INTERACTIVE), ==, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  g_clear_pointer (&session, hgd_session_unref);
  restart (fixture);
  session = login_ok (fixture, "anna");
}

static void
assert_mode (const gchar *path,
             guint mode)
{
  struct stat st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 07777, ==, mode);
}

static void
test_storage_private_modes (Fixture *fixture,
                            gconstpointer user_data)
{
  g_autoptr(HgdSession) session = NULL;

  g_test_summary ("Missing domain directories are created 0700; the database files are 0600, "
                  "and an existing file with a looser mode is tightened");
  add_user (fixture, "anna", HGD_ROLE_STAFF);
  session = login_ok (fixture, "anna");
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      g_autofree gchar *path = db_path (fixture, i);
      g_autofree gchar *wal = g_strconcat (path, "-wal", NULL);
      g_autofree gchar *shm = g_strconcat (path, "-shm", NULL);

      assert_mode (fixture->dirs[i], 0700);
      assert_mode (path, 0600);
      assert_mode (wal, 0600);
      assert_mode (shm, 0600);
    }

  g_clear_object (&fixture->accounts);
  {
    g_autofree gchar *path = db_path (fixture, HG_DOMAIN_PERSONAL);
    g_assert_cmpint (g_chmod (path, 0644), ==, 0);
    hg_test_log_expect_warning ("mode was 0644, setting 0600");
    fixture->accounts = open_accounts (fixture);
    g_assert_cmpuint (hg_test_log_expected_warnings (), ==, 1);
    hg_test_log_expect_warning (NULL);
    assert_mode (path, 0600);
  }
}

static void
test_storage_corrupt_file (Fixture *fixture,
                           gconstpointer user_data)
{
  g_autofree gchar *path = db_path (fixture, HG_DOMAIN_PERSONAL);
  g_autofree gchar *garbage = g_strnfill (8192, 'x');
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdAccounts) accounts = NULL;

  g_test_summary ("A corrupt accounts.db is refused with an error naming the file");
  g_clear_object (&fixture->accounts);
  g_assert_true (g_file_set_contents_full (path, garbage, -1, G_FILE_SET_CONTENTS_NONE, 0600,
                                          NULL));
  accounts = hgd_accounts_new ((const gchar *const *) fixture->dirs, LIFETIME, &error);
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_STORAGE);
  g_assert_null (accounts);
  g_assert_nonnull (strstr (error->message, path));
}

static void
test_storage_same_directory (Fixture *fixture,
                             gconstpointer user_data)
{
  const gchar *dirs[] = { fixture->dirs[0], fixture->dirs[0], NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdAccounts) accounts = NULL;

  g_test_summary ("The two domains may not share a directory");
  accounts = hgd_accounts_new (dirs, LIFETIME, &error);
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_INVALID);
  g_assert_null (accounts);
}

/* migrations */

static gint64
read_version (const gchar *path)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 version;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  version = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return version;
}

static void
exec_sqlite (const gchar *path,
             const gchar *sql)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
}

/* Replaces @domain's accounts.db with one made from an SQL dump in tests/data, in WAL mode
 * as hemgated leaves it. */
static void
load_dump (Fixture *fixture,
           HgDomain domain,
           const gchar *name)
{
  g_autofree gchar *dump_path = g_test_build_filename (G_TEST_DIST, "data", name, NULL);
  g_autofree gchar *path = db_path (fixture, domain);
  g_autofree gchar *wal = g_strconcat (path, "-wal", NULL);
  g_autofree gchar *shm = g_strconcat (path, "-shm", NULL);
  g_autofree gchar *dump = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_get_contents (dump_path, &dump, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_unlink (path), ==, 0);
  (void) g_unlink (wal);
  (void) g_unlink (shm);
  exec_sqlite (path, dump);
  exec_sqlite (path, "PRAGMA journal_mode = WAL");
  g_assert_cmpint (g_chmod (path, 0600), ==, 0);
}

static void
assert_user (Fixture *fixture,
             HgDomain domain,
             guint index,
             const gchar *username,
             HgdRole role,
             gint64 created)
{
  g_autoptr(GPtrArray) users = hgd_accounts_list_users (fixture->accounts, domain);
  HgdUser *user;

  g_assert_cmpuint (index, <, users->len);
  user = g_ptr_array_index (users, index);
  g_assert_cmpstr (user->username, ==, username);
  g_assert_cmpint (user->role, ==, role);
  g_assert_cmpint (user->created, ==, created);
}

static void
test_migrate_previous_release (Fixture *fixture,
                               gconstpointer user_data)
{
  g_autofree gchar *municipal = db_path (fixture, HG_DOMAIN_MUNICIPAL);
  g_autofree gchar *personal = db_path (fixture, HG_DOMAIN_PERSONAL);
  g_autoptr(GPtrArray) municipal_users = NULL;
  g_autoptr(GPtrArray) personal_users = NULL;
  g_autoptr(HgdSession) anna = NULL;
  g_autoptr(HgdSession) asa = NULL;
  g_autoptr(HgdSession) bertil = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("Account files of both domains written by the previous release (schema "
                  "version 1) open: the users, their passwords and their sessions are kept, and "
                  "the files are at the current version");

  g_assert_cmpuint (hgd_accounts_get_schema_version (), >, 1);
  g_clear_object (&fixture->accounts);
  load_dump (fixture, HG_DOMAIN_MUNICIPAL, "accounts-v1-municipal.sql");
  load_dump (fixture, HG_DOMAIN_PERSONAL, "accounts-v1-personal.sql");
  g_assert_cmpint (read_version (municipal), ==, 1);
  g_assert_cmpint (read_version (personal), ==, 1);
  fixture->accounts = open_accounts (fixture);

  municipal_users = hgd_accounts_list_users (fixture->accounts, HG_DOMAIN_MUNICIPAL);
  personal_users = hgd_accounts_list_users (fixture->accounts, HG_DOMAIN_PERSONAL);
  g_assert_cmpuint (municipal_users->len, ==, 2);
  g_assert_cmpuint (personal_users->len, ==, 2);
  assert_user (fixture, HG_DOMAIN_MUNICIPAL, 0, "anna", HGD_ROLE_STAFF, 1796602230092946);
  assert_user (fixture, HG_DOMAIN_MUNICIPAL, 1, "it.admin", HGD_ROLE_IT_ADMIN, 1796602230596524);
  assert_user (fixture, HG_DOMAIN_PERSONAL, 0, "bertil", HGD_ROLE_FAMILY, 1796602231498443);
  assert_user (fixture, HG_DOMAIN_PERSONAL, 1, "åsa.öberg", HGD_ROLE_RESIDENT, 1796602231028653);

  /* the sessions of the previous release are still signed in */
  anna = hgd_accounts_lookup_token (fixture->accounts, "jc1T1YiDLbFTr3m8s_KiSVfAwdQXUG7cEGsOitecHMc");
  g_assert_nonnull (anna);
  g_assert_cmpstr (anna->username, ==, "anna");
  g_assert_cmpint (anna->role, ==, HGD_ROLE_STAFF);
  asa = hgd_accounts_lookup_token (fixture->accounts, "KCehOD7vksZIVjI2sF2W3ta6UHU1coEDqOgao5lM1gw");
  g_assert_nonnull (asa);
  g_assert_cmpstr (asa->username, ==, "åsa.öberg");

  /* and the passwords log in */
  bertil = login (fixture, "bertil", "correct horse battery 4", "192.0.2.1", NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (bertil);
  g_assert_cmpint (bertil->role, ==, HGD_ROLE_FAMILY);
  assert_login_fails (fixture, "anna", "correct horse battery 4", "192.0.2.1",
                      HGD_ACCOUNTS_ERROR_BAD_LOGIN);

  g_clear_object (&fixture->accounts);
  g_assert_cmpint (read_version (municipal), ==, hgd_accounts_get_schema_version ());
  g_assert_cmpint (read_version (personal), ==, hgd_accounts_get_schema_version ());
}

static void
test_migrate_new_file_current (Fixture *fixture,
                               gconstpointer user_data)
{
  g_autofree gchar *path = db_path (fixture, HG_DOMAIN_MUNICIPAL);

  g_test_summary ("A new accounts.db is created at the current schema version");

  g_clear_object (&fixture->accounts);
  g_assert_cmpint (read_version (path), ==, hgd_accounts_get_schema_version ());
}

static void
test_migrate_newer_refused (Fixture *fixture,
                            gconstpointer user_data)
{
  g_autofree gchar *path = db_path (fixture, HG_DOMAIN_PERSONAL);
  g_autofree gchar *versions = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdAccounts) accounts = NULL;

  g_test_summary ("An accounts.db written by a later release is refused, naming both versions, "
                  "and left at its version");

  g_clear_object (&fixture->accounts);
  exec_sqlite (path, "PRAGMA user_version = 42");
  accounts = hgd_accounts_new ((const gchar *const *) fixture->dirs, LIFETIME, &error);
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_STORAGE);
  g_assert_null (accounts);
  g_assert_nonnull (strstr (error->message, path));
  versions = g_strdup_printf ("schema version 42 is newer than this hemgated understands (%u)",
                              hgd_accounts_get_schema_version ());
  g_assert_nonnull (strstr (error->message, versions));
  g_assert_cmpint (read_version (path), ==, 42);
}

static void
test_migrate_failure_rolled_back (Fixture *fixture,
                                  gconstpointer user_data)
{
  static const HgdSqliteMigration failing[] = {
    { "SELECT 1", NULL },
    { "SELECT 1", NULL },
    { "DELETE FROM users; INSERT INTO no_such_table VALUES (1)", NULL },
  };
  g_autofree gchar *path = db_path (fixture, HG_DOMAIN_MUNICIPAL);
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdAccounts) accounts = NULL;

  g_test_summary ("An accounts.db whose migration fails is refused and keeps its users and "
                  "version");

  add_user (fixture, "anna", HGD_ROLE_STAFF);
  g_clear_object (&fixture->accounts);
  hgd_accounts_set_migrations_for_test (failing, G_N_ELEMENTS (failing));
  accounts = hgd_accounts_new ((const gchar *const *) fixture->dirs, LIFETIME, &error);
  hgd_accounts_set_migrations_for_test (NULL, 0);
  g_assert_error (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_STORAGE);
  g_assert_null (accounts);
  g_assert_nonnull (strstr (error->message, "cannot migrate the schema to version 3"));
  g_assert_cmpint (read_version (path), ==, hgd_accounts_get_schema_version ());

  fixture->accounts = open_accounts (fixture);
  g_assert_true (hgd_accounts_has_user (fixture->accounts, "anna"));
}

static void
add_test (const gchar *path,
          void (*func) (Fixture *, gconstpointer))
{
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_log_set_writer_func (hg_test_log_writer_cb, NULL, NULL);
  g_assert_cmpint (sodium_init (), >=, 0);

  add_test ("/accounts/login/right-password-accepted", test_login_right_password);
  add_test ("/accounts/login/each-login-gets-own-token", test_login_two_tokens_differ);
  add_test ("/accounts/login/wrong-password-rejected", test_login_wrong_password);
  add_test ("/accounts/login/unknown-user-rejected-like-wrong-password", test_login_unknown_user);
  add_test ("/accounts/login/user-name-case-ignored", test_login_name_case);
  add_test ("/accounts/login/user-name-unicode-case-ignored", test_login_name_case_unicode);
  add_test ("/accounts/login/delay-per-user-and-client-doubles", test_login_rate_limited);
  add_test ("/accounts/login/unknown-user-rate-limited-alike",
            test_login_rate_limited_unknown_user);
  add_test ("/accounts/login/rate-limited-per-client", test_login_rate_limited_per_client);
  add_test ("/accounts/login/success-clears-failures", test_login_success_clears_failures);
  add_test ("/accounts/login/limit-settable", test_login_limit_settable);
  add_test ("/accounts/login/flood-refused-fast", test_login_flood_refused_fast);
  add_test ("/accounts/users/demo-passwords-pass-rule", test_users_demo_passwords_pass);
  add_test ("/accounts/users/demo-not-rehashed-on-restart", test_users_demo_not_rehashed);
  add_test ("/accounts/login/concurrent-logins-answered", test_login_concurrent);
  add_test ("/accounts/login/cancelled", test_login_cancelled);
  add_test ("/accounts/session/expired-token-rejected", test_session_expired);
  add_test ("/accounts/session/expired-token-rejected-real-clock", test_session_expired_real_clock);
  add_test ("/accounts/session/revoked-token-rejected", test_session_revoked);
  add_test ("/accounts/session/user-sessions-revoked", test_session_user_sessions_revoked);
  add_test ("/accounts/session/survives-restart", test_session_survives_restart);
  add_test ("/accounts/session/forged-token-rejected", test_session_forged_token);
  add_test ("/accounts/users/names-unique-across-domains", test_users_unique_across_domains);
  add_test ("/accounts/users/stored-in-own-domain", test_users_stored_in_own_domain);
  add_test ("/accounts/users/added-by-another-process", test_users_added_by_another_process);
  add_test ("/accounts/users/listed-by-domain-sorted", test_users_listed_by_domain);
  add_test ("/accounts/users/invalid-name-rejected", test_users_invalid_name);
  add_test ("/accounts/users/weak-password-rejected", test_users_weak_password);
  add_test ("/accounts/users/password-changed", test_users_password_changed);
  add_test ("/accounts/users/removed-user-cannot-log-in", test_users_removed);
  add_test ("/accounts/users/add-async-does-not-block", test_users_add_async_does_not_block);
  add_test ("/accounts/users/add-async-same-name-refused", test_users_add_async_same_name);
  add_test ("/accounts/users/add-async-cancelled-stores-nothing", test_users_add_async_cancelled);
  add_test ("/accounts/users/set-password-async", test_users_set_password_async);
  add_test ("/accounts/hash/not-plaintext", test_hash_not_plaintext);
  add_test ("/accounts/hash/dummy-costs-as-much", test_hash_dummy_costs_as_much);
  add_test ("/accounts/hash/rehashed-on-login", test_hash_rehashed_on_login);
  add_test ("/accounts/storage/private-file-modes", test_storage_private_modes);
  add_test ("/accounts/storage/corrupt-file-refused", test_storage_corrupt_file);
  add_test ("/accounts/storage/domains-need-own-directories", test_storage_same_directory);
  add_test ("/accounts/migrate/previous-release-opens", test_migrate_previous_release);
  add_test ("/accounts/migrate/new-file-at-current-version", test_migrate_new_file_current);
  add_test ("/accounts/migrate/newer-file-refused", test_migrate_newer_refused);
  add_test ("/accounts/migrate/failure-rolled-back", test_migrate_failure_rolled_back);
  return g_test_run ();
}
