/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of HgdAccessLog: the hash chain in each domain's journal verifies, and an entry
 * edited, removed or reordered on disk (SQLite, with the journal closed) is found, naming
 * the first bad entry; grants in the personal journal are logged. */
#include "config.h"

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "hg-test-support.h"
#include "hgd-access-log.h"

typedef struct
{
  gchar *dir;                           /* (owned) */
  gchar *dirs[HG_DOMAIN_LAST];          /* (owned) one per domain */
  HgdJournal *journals[HG_DOMAIN_LAST]; /* (owned) */
  HgdAccessLog *log;                    /* (owned) */
} Fixture;

static void
fixture_open (Fixture *fixture)
{
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      g_autoptr(GError) error = NULL;

      fixture->journals[i] = hgd_journal_new (i, fixture->dirs[i], &error);
      g_assert_no_error (error);
    }
  fixture->log = hgd_access_log_new (fixture->journals);
}

static void
fixture_close (Fixture *fixture)
{
  g_clear_object (&fixture->log);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    g_clear_object (&fixture->journals[i]);
}

static void
fixture_set_up (Fixture *fixture,
                gconstpointer data)
{
  fixture->dir = g_dir_make_tmp ("hgd-access-log-XXXXXX", NULL);
  g_assert_nonnull (fixture->dir);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      fixture->dirs[i] = g_build_filename (fixture->dir, hg_domain_to_string (i), NULL);
      g_assert_cmpint (g_mkdir (fixture->dirs[i], 0700), ==, 0);
    }
  fixture_open (fixture);
}

static void
fixture_tear_down (Fixture *fixture,
                   gconstpointer data)
{
  fixture_close (fixture);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    g_free (fixture->dirs[i]);
  hg_test_rm_rf (fixture->dir);
  g_free (fixture->dir);
  hg_test_log_expect_warning (NULL);
}

static gboolean
nothing_pending (gpointer data)
{
  return hgd_access_log_get_n_pending (HGD_ACCESS_LOG (data)) == 0;
}

/* Five entries in the personal log, one in the municipal one, all on disk. */
static void
record_entries (Fixture *fixture)
{
  for (guint i = 1; i <= 5; i++)
    {
      g_autoptr(JsonObject) detail = json_object_new ();
      g_autofree gchar *object = g_strdup_printf ("sensor:%u", i);

      json_object_set_int_member (detail, "n", i);
      hgd_access_log_record (fixture->log, HG_DOMAIN_PERSONAL, "user:staff1", "read.personal",
                             object, detail);
    }
  hgd_access_log_record (fixture->log, HG_DOMAIN_MUNICIPAL, "user:staff1", "login", NULL, NULL);
  hg_test_wait_for (nothing_pending, fixture->log, 10);
}

static void
assert_verdict (Fixture *fixture,
                HgDomain domain,
                guint64 expected_bad,
                const gchar *expected_problem)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *reason = NULL;
  const gchar *problem = NULL;
  guint64 n = 0;
  guint64 bad = 0;

  g_assert_true (hgd_access_log_verify (fixture->log, domain, &n, &bad, &problem, &reason, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (bad, ==, expected_bad);
  g_assert_cmpstr (problem, ==, expected_problem);
  if (expected_bad == 0)
    {
      g_assert_null (reason);
      g_assert_null (hgd_access_log_get_fault (fixture->log, domain));
    }
  else
    {
      g_autofree gchar *named = g_strdup_printf ("%" G_GUINT64_FORMAT, expected_bad);

      g_assert_nonnull (strstr (reason, named));
      g_assert_cmpstr (hgd_access_log_get_fault (fixture->log, domain), ==, reason);
    }
}

static void
test_chain_verifies (Fixture *fixture,
                     gconstpointer data)
{
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GError) error = NULL;

  record_entries (fixture);
  entries = hgd_access_log_list (fixture->log, HG_DOMAIN_PERSONAL, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (entries->len, ==, 5);
  /* newest first, each linked to the one before */
  for (guint i = 0; i < entries->len; i++)
    {
      HgdAccessEntry *entry = g_ptr_array_index (entries, i);
      g_autofree gchar *computed = hgd_access_entry_compute_hash (entry);

      g_assert_cmpuint (entry->seq, ==, 5 - i);
      g_assert_cmpstr (entry->actor, ==, "user:staff1");
      g_assert_cmpstr (entry->action, ==, "read.personal");
      g_assert_cmpstr (computed, ==, entry->hash);
      g_assert_cmpint (entry->domain, ==, HG_DOMAIN_PERSONAL);
      if (i + 1 < entries->len)
        g_assert_cmpstr (entry->prev_hash, ==,
                         ((HgdAccessEntry *) g_ptr_array_index (entries, i + 1))->hash);
      else
        g_assert_cmpstr (entry->prev_hash, ==, HGD_ACCESS_GENESIS_HASH);
    }
  assert_verdict (fixture, HG_DOMAIN_PERSONAL, 0, NULL);
  assert_verdict (fixture, HG_DOMAIN_MUNICIPAL, 0, NULL);

  /* and after a restart, which verifies too, the chain goes on */
  fixture_close (fixture);
  fixture_open (fixture);
  g_assert_null (hgd_access_log_get_fault (fixture->log, HG_DOMAIN_PERSONAL));
  hgd_access_log_record (fixture->log, HG_DOMAIN_PERSONAL, "user:staff2", "read.personal", NULL, NULL);
  hg_test_wait_for (nothing_pending, fixture->log, 10);
  assert_verdict (fixture, HG_DOMAIN_PERSONAL, 0, NULL);
  g_clear_pointer (&entries, g_ptr_array_unref);
  entries = hgd_access_log_list (fixture->log, HG_DOMAIN_PERSONAL, 0, 1, &error);
  g_assert_cmpuint (entries->len, ==, 1);
  g_assert_cmpuint (((HgdAccessEntry *) g_ptr_array_index (entries, 0))->seq, ==, 6);
}

static void
test_list_pages (Fixture *fixture,
                 gconstpointer data)
{
  g_autoptr(GPtrArray) page = NULL;
  g_autoptr(GError) error = NULL;

  record_entries (fixture);
  page = hgd_access_log_list (fixture->log, HG_DOMAIN_PERSONAL, 4, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 2);
  g_assert_cmpuint (((HgdAccessEntry *) g_ptr_array_index (page, 0))->seq, ==, 3);
  g_assert_cmpuint (((HgdAccessEntry *) g_ptr_array_index (page, 1))->seq, ==, 2);
}

/* Runs @sql on the personal journal's file with the journal closed, then opens it again:
 * the start-up check must already name the entry. */
static void
tamper (Fixture *fixture,
        const gchar *sql,
        guint64 expected_bad,
        const gchar *expected_problem)
{
  g_autofree gchar *path = g_build_filename (fixture->dirs[HG_DOMAIN_PERSONAL], "journal.db", NULL);
  sqlite3 *db = NULL;

  record_entries (fixture);
  assert_verdict (fixture, HG_DOMAIN_PERSONAL, 0, NULL);
  fixture_close (fixture);

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_changes (db), >, 0);
  sqlite3_close (db);

  hg_test_log_expect_warning ("the personal access log is broken");
  fixture_open (fixture);
  g_assert_cmpuint (hg_test_log_expected_warnings (), ==, 1);
  g_assert_nonnull (hgd_access_log_get_fault (fixture->log, HG_DOMAIN_PERSONAL));
  assert_verdict (fixture, HG_DOMAIN_PERSONAL, expected_bad, expected_problem);
  /* the other domain's log is its own */
  assert_verdict (fixture, HG_DOMAIN_MUNICIPAL, 0, NULL);
}

static void
test_tamper_edit (Fixture *fixture,
                  gconstpointer data)
{
  tamper (fixture, "UPDATE access_log SET actor = 'user:nobody' WHERE seq = 3", 3, "changed");
}

static void
test_tamper_edit_detail (Fixture *fixture,
                         gconstpointer data)
{
  tamper (fixture, "UPDATE access_log SET detail = '{\"n\":9}' WHERE seq = 4", 4, "changed");
}

static void
test_tamper_delete (Fixture *fixture,
                    gconstpointer data)
{
  tamper (fixture, "DELETE FROM access_log WHERE seq = 2", 2, "missing");
}

static void
test_tamper_delete_last (Fixture *fixture,
                         gconstpointer data)
{
  tamper (fixture, "DELETE FROM access_log WHERE seq = 5", 5, "missing");
}

/* Entries 2 and 4 change places: each keeps its number, takes the other's content. */
static void
test_tamper_reorder (Fixture *fixture,
                     gconstpointer data)
{
  tamper (fixture,
          "UPDATE access_log SET seq = -2 WHERE seq = 2;"
          "UPDATE access_log SET seq = 2 WHERE seq = 4;"
          "UPDATE access_log SET seq = 4 WHERE seq = -2;",
          2, "out-of-order");
}

/* Entries renumbered to close the gap one removal left: the chain still breaks there. */
static void
test_tamper_delete_renumber (Fixture *fixture,
                             gconstpointer data)
{
  tamper (fixture,
          "DELETE FROM access_log WHERE seq = 3;"
          "UPDATE access_log SET seq = 3 WHERE seq = 4;"
          "UPDATE access_log SET seq = 4 WHERE seq = 5;"
          "UPDATE meta SET value = '4:' || (SELECT hash FROM access_log WHERE seq = 4) "
          "WHERE key = 'access-head'",
          3, "out-of-order");
}

static void
append_event (HgdJournal *journal,
              const gchar *type,
              const gchar *json)
{
  g_autoptr(JsonObject) body = hg_json_parse_object (json, -1, 0, NULL);
  g_autoptr(HgEvent) event = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (body);
  event = hg_event_new (type, body);
  hgd_journal_append_async (journal, event, NULL, NULL, hg_test_async_result_cb, &result);
  hgd_journal_append_finish (journal, hg_test_wait_for_result (&result), &error);
  g_assert_no_error (error);
}

static void
test_grants_logged (Fixture *fixture,
                    gconstpointer data)
{
  HgdJournal *personal = fixture->journals[HG_DOMAIN_PERSONAL];
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GError) error = NULL;
  HgdAccessEntry *made;
  HgdAccessEntry *revoked;

  append_event (personal, "grant.made",
                "{\"id\": \"g1\", \"kind\": \"share-readings\", \"grantee\": \"municipality\", "
                "\"scope\": {\"devices\": [\"door\"]}, \"made_by\": \"user:resident1\"}");
  append_event (personal, "sensor.reading", "{\"device\": \"door\", \"kind\": \"open\"}");
  append_event (personal, "grant.revoked",
                "{\"id\": \"g1\", \"kind\": \"share-readings\", \"grantee\": \"municipality\", "
                "\"made_by\": \"user:resident1\", \"revoked_by\": \"user:guardian1\"}");
  hg_test_wait_for (nothing_pending, fixture->log, 10);

  entries = hgd_access_log_list (fixture->log, HG_DOMAIN_PERSONAL, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (entries->len, ==, 2);
  revoked = g_ptr_array_index (entries, 0);
  made = g_ptr_array_index (entries, 1);
  g_assert_cmpstr (made->action, ==, "grant.made");
  g_assert_cmpstr (made->actor, ==, "user:resident1");
  g_assert_cmpstr (made->object, ==, "grant:g1");
  g_assert_cmpstr (made->detail, ==, "{\"kind\":\"share-readings\",\"grantee\":\"municipality\"}");
  g_assert_cmpstr (revoked->action, ==, "grant.revoked");
  g_assert_cmpstr (revoked->actor, ==, "user:guardian1");
  assert_verdict (fixture, HG_DOMAIN_PERSONAL, 0, NULL);

  /* nothing of the municipal journal's events is taken for a grant */
  append_event (fixture->journals[HG_DOMAIN_MUNICIPAL], "grant.made", "{\"id\": \"g2\"}");
  g_clear_pointer (&entries, g_ptr_array_unref);
  entries = hgd_access_log_list (fixture->log, HG_DOMAIN_MUNICIPAL, 0, 0, &error);
  g_assert_cmpuint (entries->len, ==, 0);
}

/* Entries are not journal events: neither announced nor removed by retention or trim. */
static void
test_not_events (Fixture *fixture,
                 gconstpointer data)
{
  HgdJournal *personal = fixture->journals[HG_DOMAIN_PERSONAL];
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GError) error = NULL;
  guint n_removed = 0;

  record_entries (fixture);
  events = hgd_journal_query_events (personal, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (events->len, ==, 0);
  hgd_journal_set_retention (personal, "", 1);
  g_assert_true (hgd_journal_prune (personal, g_get_real_time () + (gint64) 30 * 86400 * G_USEC_PER_SEC,
                                    &n_removed, &error));
  g_assert_no_error (error);
  entries = hgd_access_log_list (fixture->log, HG_DOMAIN_PERSONAL, 0, 0, &error);
  g_assert_cmpuint (entries->len, ==, 5);
  assert_verdict (fixture, HG_DOMAIN_PERSONAL, 0, NULL);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_log_set_writer_func (hg_test_log_writer_cb, NULL, NULL);

#define ADD(path, func) \
  g_test_add ("/access-log/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("chain/verifies", test_chain_verifies);
  ADD ("chain/pages", test_list_pages);
  ADD ("chain/not-journal-events", test_not_events);
  ADD ("tamper/edit", test_tamper_edit);
  ADD ("tamper/edit-detail", test_tamper_edit_detail);
  ADD ("tamper/delete", test_tamper_delete);
  ADD ("tamper/delete-last", test_tamper_delete_last);
  ADD ("tamper/delete-and-renumber", test_tamper_delete_renumber);
  ADD ("tamper/reorder", test_tamper_reorder);
  ADD ("grants/logged", test_grants_logged);
#undef ADD
  return g_test_run ();
}
