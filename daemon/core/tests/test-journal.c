/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of HgdJournal: opening and refusing files, durable appends in sequence order,
 * alarm records, a real kill -9, a full disk, and retention. */
#include "config.h"

#include <string.h>

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "hgd-alarms.h"
#include "hgd-journal-private.h"

#define USEC_PER_DAY ((gint64) 86400 * G_USEC_PER_SEC)

/* The journal warns once when it starts refusing events: expected where a test fills it. */
static gboolean expect_journal_warnings = FALSE;
static guint n_journal_warnings = 0;

static GLogWriterOutput
test_log_writer_cb (GLogLevelFlags log_level,
                    const GLogField *fields,
                    gsize n_fields,
                    gpointer user_data)
{
  const gchar *domain = NULL;
  const gchar *message = NULL;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0)
        domain = fields[i].value;
      else if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
        message = fields[i].value;
    }
  if (expect_journal_warnings && (log_level & G_LOG_LEVEL_WARNING) &&
      domain != NULL && g_str_has_prefix (domain, "hemgated"))
    {
      n_journal_warnings++;
      g_test_message ("expected warning: %s", message);
      return G_LOG_WRITER_HANDLED;
    }
  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

/* helpers */

static gchar *
domain_dir (const gchar *domain)
{
  return g_build_filename (g_get_user_state_dir (), "hemgate", domain, NULL);
}

static HgEvent *
event_new (const gchar *type,
           gint64 n)
{
  g_autoptr(JsonObject) body = json_object_new ();
  HgEvent *event;

  json_object_set_int_member (body, "n", n);
  event = hg_event_new (type, body);
  hg_event_set_source (event, "core");
  return event;
}

static HgEvent *
event_new_at (const gchar *type,
              gint64 timestamp)
{
  HgEvent *event = event_new (type, 0);

  hg_event_set_timestamp (event, timestamp);
  return event;
}

static HgAlarm *
alarm_new_raised (void)
{
  g_autofree gchar *reference = hgd_alarms_new_reference ();
  HgAlarm *alarm = hg_alarm_new ("fall");

  hg_alarm_set_reference (alarm, reference);
  hg_alarm_set_state (alarm, HG_ALARM_STATE_RAISED);
  hg_alarm_set_source (alarm, "plugin:test");
  hg_alarm_set_location (alarm, "bedroom");
  hg_alarm_set_priority (alarm, 7);
  return alarm;
}

static HgEvent *
alarm_event_new (HgAlarm *alarm)
{
  g_autoptr(JsonObject) body = hg_alarm_to_json (alarm);
  g_autofree gchar *type = g_strdup_printf ("alarm.%s",
                                            hg_alarm_state_to_string (hg_alarm_get_state (alarm)));
  HgEvent *event = hg_event_new (type, body);

  hg_event_set_source (event, "plugin:test");
  return event;
}

static void
result_cb (GObject *source_object,
           GAsyncResult *result,
           gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
  g_main_context_wakeup (NULL);
}

static gboolean
append_sync (HgdJournal *journal,
             HgEvent *event,
             HgAlarm *alarm,
             GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  hgd_journal_append_async (journal, event, alarm, NULL, result_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return hgd_journal_append_finish (journal, result, error);
}

static void
assert_append (HgdJournal *journal,
               HgEvent *event,
               HgAlarm *alarm)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (append_sync (journal, event, alarm, &error));
  g_assert_no_error (error);
}

static guint
count_events (HgdJournal *journal)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = hgd_journal_query_events (journal, 0, 0, &error);

  g_assert_no_error (error);
  return events->len;
}

static gboolean
has_event (HgdJournal *journal,
           guint64 seq)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = hgd_journal_query_events (journal, seq - 1, 1, &error);

  g_assert_no_error (error);
  return events->len == 1 && hg_event_get_seq (g_ptr_array_index (events, 0)) == seq;
}

static guint
file_mode (const gchar *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 07777;
}

static void
write_sqlite (const gchar *path,
              const gchar *sql)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
}

/* A state directory with a journal open in it. */
typedef struct
{
  gchar *dir;          /* (owned) */
  HgdJournal *journal; /* (owned) */
} Fixture;

static void
fixture_setup (Fixture *fixture,
               gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = domain_dir ("municipal");
  fixture->journal = hgd_journal_new (HG_DOMAIN_MUNICIPAL, fixture->dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fixture->journal);
}

static void
fixture_teardown (Fixture *fixture,
                  gconstpointer user_data)
{
  g_clear_object (&fixture->journal);
  g_free (fixture->dir);
}

static void
fixture_reopen (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;

  g_clear_object (&fixture->journal);
  fixture->journal = hgd_journal_new (HG_DOMAIN_MUNICIPAL, fixture->dir, &error);
  g_assert_no_error (error);
}

/* the alarm lane */

typedef struct
{
  GArray *announced; /* (element-type guint64) seq of each event-appended, in order */
  GPtrArray *events; /* (element-type HgEvent) completed, in completion order */
  guint n_pending;
  HgdJournal *journal; /* (unowned) */
} LaneLog;

static void
lane_appended_cb (HgdJournal *journal,
                  HgEvent *event,
                  gpointer user_data)
{
  LaneLog *log = user_data;
  guint64 seq = hg_event_get_seq (event);

  g_array_append_val (log->announced, seq);
}

static void
lane_append_cb (GObject *source_object,
                GAsyncResult *result,
                gpointer user_data)
{
  LaneLog *log = user_data;
  g_autoptr(GError) error = NULL;
  HgEvent *event = g_task_get_task_data (G_TASK (result));

  g_assert_true (hgd_journal_append_finish (HGD_JOURNAL (source_object), result, &error));
  g_assert_no_error (error);
  g_ptr_array_add (log->events, g_object_ref (event));
  log->n_pending--;
}

static void
lane_log_init (LaneLog *log,
               HgdJournal *journal)
{
  log->announced = g_array_new (FALSE, FALSE, sizeof (guint64));
  log->events = g_ptr_array_new_with_free_func (g_object_unref);
  log->journal = journal;
}

static void
lane_log_clear (LaneLog *log)
{
  g_array_unref (log->announced);
  g_ptr_array_unref (log->events);
}

/* Every event-appended in strictly increasing order, and the journal holds exactly
 * @n_events events numbered 1..@n_events: nothing lost, nothing twice, no gap. */
static void
assert_lane_log_complete (LaneLog *log,
                          guint n_events)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = hgd_journal_query_events (log->journal, 0, 0, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (log->announced->len, ==, n_events);
  for (guint i = 1; i < log->announced->len; i++)
    g_assert_cmpuint (g_array_index (log->announced, guint64, i - 1), <,
                      g_array_index (log->announced, guint64, i));
  g_assert_cmpuint (events->len, ==, n_events);
  for (guint i = 0; i < events->len; i++)
    g_assert_cmpuint (hg_event_get_seq (g_ptr_array_index (events, i)), ==, i + 1);
}

/* One append of a group: its result and when it completed. */
typedef struct
{
  GError *error;    /* (owned) (nullable) */
  guint64 seq;
  guint rank;       /* 1 for the first to complete */
  guint *n_done;    /* (unowned) shared by a group */
} GroupAppend;

static void
group_append_cb (GObject *source_object,
                 GAsyncResult *result,
                 gpointer user_data)
{
  GroupAppend *append = user_data;
  HgEvent *event = g_task_get_task_data (G_TASK (result));

  if (hgd_journal_append_finish (HGD_JOURNAL (source_object), result, &append->error))
    append->seq = hg_event_get_seq (event);
  append->rank = ++*append->n_done;
}

static void
test_group_one_transaction (Fixture *fixture,
                            gconstpointer user_data)
{
  g_autoptr(HgAlarm) first = alarm_new_raised ();
  g_autoptr(HgAlarm) second = alarm_new_raised ();
  g_autoptr(HgAlarm) missing = alarm_new_raised ();
  g_autoptr(HgEvent) first_raised = alarm_event_new (first);
  g_autoptr(HgEvent) second_raised = alarm_event_new (second);
  g_autoptr(HgEvent) missing_delivered = NULL;
  g_autoptr(HgEvent) delivered = NULL;
  GroupAppend appends[3] = { { 0 } };
  guint n_done = 0;

  g_test_summary ("The appends of a group are committed all or none, in the order made, "
                  "each completed on its own in sequence order: a group whose last append "
                  "cannot be written leaves nothing of the others on disk");

  /* an alarm raised and moved on in one group */
  hgd_journal_begin_group (fixture->journal);
  appends[0].n_done = appends[1].n_done = &n_done;
  hgd_journal_append_async (fixture->journal, first_raised, first, NULL, group_append_cb,
                            &appends[0]);
  hg_alarm_set_state (first, HG_ALARM_STATE_DELIVERED);
  delivered = alarm_event_new (first);
  /* a group begun inside (a callback's) joins the outer one */
  hgd_journal_begin_group (fixture->journal);
  hgd_journal_append_async (fixture->journal, delivered, first, NULL, group_append_cb, &appends[1]);
  hgd_journal_end_group (fixture->journal);
  g_assert_cmpuint (n_done, ==, 0);
  hgd_journal_end_group (fixture->journal);
  while (n_done < 2)
    g_main_context_iteration (NULL, TRUE);
  for (guint i = 0; i < 2; i++)
    {
      g_assert_no_error (appends[i].error);
      g_assert_cmpuint (appends[i].seq, ==, i + 1);
      g_assert_cmpuint (appends[i].rank, ==, i + 1);
    }
  g_assert_cmpuint (count_events (fixture->journal), ==, 2);

  /* a raise, then a step of an alarm with no record: neither is written */
  n_done = 0;
  memset (appends, 0, sizeof appends);
  appends[0].n_done = appends[1].n_done = &n_done;
  hg_alarm_set_state (missing, HG_ALARM_STATE_DELIVERED);
  missing_delivered = alarm_event_new (missing);
  hgd_journal_begin_group (fixture->journal);
  hgd_journal_append_async (fixture->journal, second_raised, second, NULL, group_append_cb,
                            &appends[0]);
  hgd_journal_append_async (fixture->journal, missing_delivered, missing, NULL, group_append_cb,
                            &appends[1]);
  hgd_journal_end_group (fixture->journal);
  while (n_done < 2)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (appends[0].error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_NOT_FOUND);
  g_assert_error (appends[1].error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_NOT_FOUND);
  g_assert_cmpuint (count_events (fixture->journal), ==, 2);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(HgAlarm) record = hgd_journal_get_alarm (fixture->journal,
                                                       hg_alarm_get_reference (second), &error);

    g_assert_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_NOT_FOUND);
    g_assert_null (record);
  }
  for (guint i = 0; i < 2; i++)
    g_clear_error (&appends[i].error);
}

static void
recorded_cb (HgdJournal *journal,
             HgEvent *event,
             HgAlarm *record,
             gpointer user_data)
{
  GPtrArray *records = user_data;

  g_assert_cmpuint (hg_event_get_seq (event), ==, hgd_journal_get_last_seq (journal));
  g_object_set_data_full (G_OBJECT (record), "event", g_object_ref (event), g_object_unref);
  g_ptr_array_add (records, g_object_ref (record));
}

static void
test_alarm_recorded (Fixture *fixture,
                     gconstpointer user_data)
{
  g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(HgAlarm) alarm = alarm_new_raised ();
  g_autoptr(HgEvent) raised = alarm_event_new (alarm);
  g_autoptr(HgEvent) delivered = NULL;
  g_autoptr(HgEvent) plain = event_new ("sensor.reading", 1);
  g_autoptr(HgAlarm) on_disk = NULL;
  g_autoptr(GError) error = NULL;
  HgAlarm *record;
  gulong handler;

  g_test_summary ("alarm-recorded follows event-appended of an append with an alarm record, "
                  "with the record as that append left it, its times as the journal keeps "
                  "them; later changes to the caller's alarm do not show in it");

  handler = g_signal_connect (fixture->journal, "alarm-recorded", G_CALLBACK (recorded_cb), records);
  assert_append (fixture->journal, raised, alarm);
  assert_append (fixture->journal, plain, NULL);
  on_disk = hgd_journal_get_alarm (fixture->journal, hg_alarm_get_reference (alarm), &error);
  g_assert_no_error (error);
  hg_alarm_set_state (on_disk, HG_ALARM_STATE_DELIVERED);
  delivered = alarm_event_new (on_disk);
  assert_append (fixture->journal, delivered, on_disk);
  hg_alarm_set_state (on_disk, HG_ALARM_STATE_ACKNOWLEDGED);
  hg_alarm_set_location (on_disk, "kitchen");
  g_signal_handler_disconnect (fixture->journal, handler);

  g_assert_cmpuint (records->len, ==, 2);
  record = g_ptr_array_index (records, 0);
  g_assert_cmpstr (hg_alarm_get_reference (record), ==, hg_alarm_get_reference (alarm));
  g_assert_cmpint (hg_alarm_get_state (record), ==, HG_ALARM_STATE_RAISED);
  g_assert_cmpint (hg_alarm_get_raised_time (record), ==, hg_event_get_timestamp (raised));
  g_assert_cmpint (hg_alarm_get_updated_time (record), ==, hg_event_get_timestamp (raised));
  record = g_ptr_array_index (records, 1);
  g_assert_true (g_object_get_data (G_OBJECT (record), "event") == (gpointer) delivered);
  g_assert_cmpint (hg_alarm_get_state (record), ==, HG_ALARM_STATE_DELIVERED);
  g_assert_cmpstr (hg_alarm_get_location (record), ==, "bedroom");
  g_assert_cmpstr (hg_alarm_get_source (record), ==, "plugin:test");
  g_assert_cmpuint (hg_alarm_get_priority (record), ==, 7);
  g_assert_cmpint (hg_alarm_get_raised_time (record), ==, hg_event_get_timestamp (raised));
  g_assert_cmpint (hg_alarm_get_updated_time (record), ==, hg_event_get_timestamp (delivered));
  g_clear_object (&on_disk);
  on_disk = hgd_journal_get_alarm (fixture->journal, hg_alarm_get_reference (alarm), &error);
  g_assert_no_error (error);
  g_assert_cmpint (hg_alarm_get_raised_time (on_disk), ==, hg_alarm_get_raised_time (record));
  g_assert_cmpint (hg_alarm_get_updated_time (on_disk), ==, hg_alarm_get_updated_time (record));
}

static void
test_lane_alarm_ahead_of_readings (Fixture *fixture,
                                   gconstpointer user_data)
{
  const guint n_readings = 5000;
  g_autoptr(HgAlarm) alarm = alarm_new_raised ();
  g_autoptr(HgAlarm) delivered = NULL;
  g_autoptr(HgEvent) raised = alarm_event_new (alarm);
  g_autoptr(HgEvent) delivered_event = NULL;
  g_autoptr(GPtrArray) readings = g_ptr_array_new_with_free_func (g_object_unref);
  LaneLog log = { 0 };
  gulong handler;

  g_test_summary ("An alarm raised, and its next state, queued behind 5000 readings commit "
                  "before them, each in its own lane's order; sequence numbers follow commit "
                  "order and every event is announced once, in sequence order");

  lane_log_init (&log, fixture->journal);
  handler = g_signal_connect (fixture->journal, "event-appended", G_CALLBACK (lane_appended_cb),
                              &log);
  hgd_journal_hold_for_test (fixture->journal);
  for (guint i = 0; i < n_readings; i++)
    {
      g_autoptr(HgEvent) event = event_new ("sensor.reading", i);
      g_ptr_array_add (readings, g_object_ref (event));
      hgd_journal_append_async (fixture->journal, event, NULL, NULL, lane_append_cb, &log);
      log.n_pending++;
    }
  hgd_journal_append_async (fixture->journal, raised, alarm, NULL, lane_append_cb, &log);
  delivered = hg_alarm_new ("fall");
  hg_alarm_set_reference (delivered, hg_alarm_get_reference (alarm));
  hg_alarm_set_state (delivered, HG_ALARM_STATE_DELIVERED);
  delivered_event = alarm_event_new (delivered);
  hgd_journal_append_async (fixture->journal, delivered_event, delivered, NULL, lane_append_cb,
                            &log);
  log.n_pending += 2;
  hgd_journal_release_for_test (fixture->journal);
  while (log.n_pending > 0)
    g_main_context_iteration (NULL, TRUE);
  g_signal_handler_disconnect (fixture->journal, handler);

  g_assert_cmpuint (hg_event_get_seq (raised), ==, 1);
  g_assert_cmpuint (hg_event_get_seq (delivered_event), ==, 2);
  g_assert_true (g_ptr_array_index (log.events, 0) == raised);
  g_assert_true (g_ptr_array_index (log.events, 1) == delivered_event);
  for (guint i = 0; i < n_readings; i++)
    g_assert_cmpuint (hg_event_get_seq (g_ptr_array_index (readings, i)), ==, i + 3);
  assert_lane_log_complete (&log, n_readings + 2);
  lane_log_clear (&log);
}

static void
test_lane_alarm_during_readings (Fixture *fixture,
                                 gconstpointer user_data)
{
  const guint n_readings = 20000;
  g_autoptr(HgAlarm) alarm = alarm_new_raised ();
  g_autoptr(HgEvent) raised = alarm_event_new (alarm);
  LaneLog log = { 0 };
  guint64 n_before = 0;
  gulong handler;

  g_test_summary ("An alarm raised while 20000 readings are being committed waits for at "
                  "most the batch being written, not for the readings queued ahead of it; "
                  "a batch rolled back for it is written after it, nothing lost or doubled");

  lane_log_init (&log, fixture->journal);
  handler = g_signal_connect (fixture->journal, "event-appended", G_CALLBACK (lane_appended_cb),
                              &log);
  hgd_journal_hold_for_test (fixture->journal);
  for (guint i = 0; i < n_readings; i++)
    {
      g_autoptr(HgEvent) event = event_new ("sensor.reading", i);
      hgd_journal_append_async (fixture->journal, event, NULL, NULL, lane_append_cb, &log);
      log.n_pending++;
    }
  /* the worker starts on the first batch of readings; the alarm comes while it writes */
  hgd_journal_release_for_test (fixture->journal);
  hgd_journal_append_async (fixture->journal, raised, alarm, NULL, lane_append_cb, &log);
  log.n_pending++;
  while (log.n_pending > 0)
    g_main_context_iteration (NULL, TRUE);
  g_signal_handler_disconnect (fixture->journal, handler);

  /* readings committed before it: at most the first batch (4096), if its commit was
   * under way already; a slow main thread might see a second one through */
  for (guint i = 0; i < log.events->len; i++)
    {
      if (g_ptr_array_index (log.events, i) == raised)
        break;
      n_before++;
    }
  g_test_message ("alarm seq %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                  " readings committed before it of %u",
                  hg_event_get_seq (raised), n_before, n_readings);
  g_assert_cmpuint (hg_event_get_seq (raised), ==, n_before + 1);
  g_assert_cmpuint (n_before, <=, 2 * 4096);
  assert_lane_log_complete (&log, n_readings + 1);
  lane_log_clear (&log);
}

/* opening */

static void
test_open_private_files (void)
{
  g_autofree gchar *dir = domain_dir ("municipal");
  g_autofree gchar *db = g_build_filename (dir, "journal.db", NULL);
  g_autofree gchar *wal = g_strconcat (db, "-wal", NULL);
  g_autofree gchar *shm = g_strconcat (db, "-shm", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdJournal) journal = NULL;
  g_autoptr(HgEvent) event = event_new ("test.event", 1);
  mode_t old_umask;

  g_test_summary ("The state directory is created 0700 and the database, -wal and -shm "
                  "files 0600, whatever the umask");

  old_umask = umask (0);
  journal = hgd_journal_new (HG_DOMAIN_MUNICIPAL, dir, &error);
  umask (old_umask);
  g_assert_no_error (error);
  assert_append (journal, event, NULL);

  g_assert_cmpstr (hgd_journal_get_path (journal), ==, db);
  g_assert_cmpint (hgd_journal_get_domain (journal), ==, HG_DOMAIN_MUNICIPAL);
  g_assert_cmpuint (file_mode (dir), ==, 0700);
  g_assert_cmpuint (file_mode (db), ==, 0600);
  g_assert_cmpuint (file_mode (wal), ==, 0600);
  g_assert_cmpuint (file_mode (shm), ==, 0600);
}

static void
test_open_tightens_modes (void)
{
  g_autofree gchar *dir = domain_dir ("personal");
  g_autofree gchar *db = g_build_filename (dir, "journal.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdJournal) journal = NULL;

  g_test_summary ("An existing state directory or journal readable by others is made private");

  journal = hgd_journal_new (HG_DOMAIN_PERSONAL, dir, &error);
  g_assert_no_error (error);
  g_clear_object (&journal);
  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
  g_assert_cmpint (g_chmod (db, 0644), ==, 0);

  journal = hgd_journal_new (HG_DOMAIN_PERSONAL, dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (file_mode (dir), ==, 0700);
  g_assert_cmpuint (file_mode (db), ==, 0600);
}

static void
test_open_corrupt_file_named (void)
{
  g_autofree gchar *dir = domain_dir ("municipal");
  g_autofree gchar *db = g_build_filename (dir, "journal.db", NULL);
  g_autofree gchar *sibling = domain_dir ("personal");
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdJournal) journal = NULL;
  g_autoptr(HgdJournal) other = NULL;
  g_autoptr(HgEvent) event = event_new ("test.event", 1);
  g_autofree gchar *garbage = g_strnfill (8192, 'x');

  g_test_summary ("A file that is not a database is refused as corrupt with its path; the "
                  "other domain's journal beside it opens and works");

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (db, garbage, -1, NULL));

  journal = hgd_journal_new (HG_DOMAIN_MUNICIPAL, dir, &error);
  g_assert_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT);
  g_assert_null (journal);
  g_assert_nonnull (strstr (error->message, db));
  g_test_message ("%s", error->message);

  other = hgd_journal_new (HG_DOMAIN_PERSONAL, sibling, NULL);
  g_assert_nonnull (other);
  assert_append (other, event, NULL);
  g_assert_cmpuint (hgd_journal_get_last_seq (other), ==, 1);
}

static void
test_open_damaged_pages_named (void)
{
  g_autofree gchar *dir = domain_dir ("municipal");
  g_autofree gchar *db = g_build_filename (dir, "journal.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdJournal) journal = NULL;
  g_autofree gchar *contents = NULL;
  gsize length = 0;

  g_test_summary ("A journal whose pages were damaged fails the integrity check, naming the file");

  journal = hgd_journal_new (HG_DOMAIN_MUNICIPAL, dir, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 300; i++)
    {
      g_autoptr(HgEvent) event = event_new ("sensor.reading", i);
      assert_append (journal, event, NULL);
    }
  g_clear_object (&journal);

  /* keep the header and first pages, scribble over the rest */
  g_assert_true (g_file_get_contents (db, &contents, &length, NULL));
  g_assert_cmpuint (length, >, 4 * 4096);
  memset (contents + 2 * 4096, 0x5a, length - 2 * 4096);
  g_assert_true (g_file_set_contents (db, contents, length, NULL));

  journal = hgd_journal_new (HG_DOMAIN_MUNICIPAL, dir, &error);
  g_assert_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT);
  g_assert_null (journal);
  g_assert_nonnull (strstr (error->message, db));
  g_test_message ("%s", error->message);
}

static void
test_open_foreign_database_refused (void)
{
  g_autofree gchar *dir = domain_dir ("municipal");
  g_autofree gchar *db = g_build_filename (dir, "journal.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdJournal) journal = NULL;

  g_test_summary ("An SQLite database that is not a journal is refused, not converted");

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  write_sqlite (db, "CREATE TABLE recipes (name TEXT)");

  journal = hgd_journal_new (HG_DOMAIN_MUNICIPAL, dir, &error);
  g_assert_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, db));
}

static void
test_open_schemaless_database_refused (void)
{
  g_autofree gchar *dir = domain_dir ("personal");
  g_autofree gchar *db = g_build_filename (dir, "journal.db", NULL);
  g_autofree gchar *contents = NULL;
  g_autofree gchar *after = NULL;
  gsize length = 0;
  gsize after_length = 0;
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdJournal) journal = NULL;

  g_test_summary ("An SQLite database without a journal's schema (say, emptied) is refused as "
                  "corrupt and left as it was, not made into a new journal: a new journal is "
                  "only ever created where there was none");

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  write_sqlite (db, "CREATE TABLE gone (a); DROP TABLE gone");
  g_assert_true (g_file_get_contents (db, &contents, &length, NULL));
  g_assert_cmpuint (length, >, 0);

  journal = hgd_journal_new (HG_DOMAIN_PERSONAL, dir, &error);
  g_assert_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT);
  g_assert_null (journal);
  g_assert_nonnull (strstr (error->message, db));
  g_assert_nonnull (strstr (error->message, "empty SQLite database"));
  g_assert_true (g_file_get_contents (db, &after, &after_length, NULL));
  g_assert_cmpmem (contents, length, after, after_length);
}

static void
test_open_newer_schema_refused (void)
{
  g_autofree gchar *dir = domain_dir ("municipal");
  g_autofree gchar *db = g_build_filename (dir, "journal.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdJournal) journal = NULL;

  g_test_summary ("A journal with an unknown schema version is refused with the version");

  journal = hgd_journal_new (HG_DOMAIN_MUNICIPAL, dir, &error);
  g_assert_no_error (error);
  g_clear_object (&journal);
  write_sqlite (db, "PRAGMA user_version = 99");

  journal = hgd_journal_new (HG_DOMAIN_MUNICIPAL, dir, &error);
  g_assert_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "99"));
}

static void
test_open_other_domain_refused (void)
{
  g_autofree gchar *dir = domain_dir ("municipal");
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdJournal) journal = NULL;

  g_test_summary ("A journal keeps its domain: the municipal file cannot be opened as personal");

  journal = hgd_journal_new (HG_DOMAIN_MUNICIPAL, dir, &error);
  g_assert_no_error (error);
  g_clear_object (&journal);

  journal = hgd_journal_new (HG_DOMAIN_PERSONAL, dir, &error);
  g_assert_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "municipal"));
}

/* appending */

static void
test_append_stamps_event (Fixture *fixture,
                          gconstpointer user_data)
{
  g_autoptr(HgEvent) event = event_new ("sensor.reading", 42);
  g_autoptr(HgEvent) dated = event_new_at ("sensor.reading", 1000 * G_USEC_PER_SEC);
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  HgEvent *read;
  gint64 before = g_get_real_time ();

  g_test_summary ("An append stamps sequence number, domain and time (now unless given); the "
                  "stored event reads back the same");

  assert_append (fixture->journal, event, NULL);
  g_assert_cmpuint (hg_event_get_seq (event), ==, 1);
  g_assert_cmpint (hg_event_get_domain (event), ==, HG_DOMAIN_MUNICIPAL);
  g_assert_cmpint (hg_event_get_timestamp (event), >=, before);
  g_assert_cmpint (hg_event_get_timestamp (event), <=, g_get_real_time ());

  assert_append (fixture->journal, dated, NULL);
  g_assert_cmpuint (hg_event_get_seq (dated), ==, 2);
  g_assert_cmpint (hg_event_get_timestamp (dated), ==, 1000 * G_USEC_PER_SEC);
  g_assert_cmpuint (hgd_journal_get_last_seq (fixture->journal), ==, 2);

  events = hgd_journal_query_events (fixture->journal, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (events->len, ==, 2);
  read = g_ptr_array_index (events, 0);
  g_assert_cmpuint (hg_event_get_seq (read), ==, 1);
  g_assert_cmpstr (hg_event_get_event_type (read), ==, "sensor.reading");
  g_assert_cmpstr (hg_event_get_source (read), ==, "core");
  g_assert_cmpint (hg_event_get_timestamp (read), ==, hg_event_get_timestamp (event));
  g_assert_cmpint (hg_event_get_domain (read), ==, HG_DOMAIN_MUNICIPAL);
  g_assert_cmpint (json_object_get_int_member (hg_event_get_body (read), "n"), ==, 42);
}

typedef struct
{
  HgdJournal *journal;
  GArray *completed; /* guint64 seq, in completion order */
  GArray *announced; /* guint64 seq, in signal order */
  guint n_pending;
  guint n_visible;   /* announced events already readable */
} OrderLog;

static void
order_appended_cb (HgdJournal *journal,
                   HgEvent *event,
                   gpointer user_data)
{
  OrderLog *log = user_data;
  guint64 seq = hg_event_get_seq (event);

  g_array_append_val (log->announced, seq);
  if (has_event (journal, seq))
    log->n_visible++;
}

static void
order_append_cb (GObject *source_object,
                 GAsyncResult *result,
                 gpointer user_data)
{
  OrderLog *log = user_data;
  g_autoptr(GError) error = NULL;
  guint64 seq;

  g_assert_true (hgd_journal_append_finish (HGD_JOURNAL (source_object), result, &error));
  g_assert_no_error (error);
  seq = hgd_journal_get_last_seq (HGD_JOURNAL (source_object));
  g_array_append_val (log->completed, seq);
  log->n_pending--;
}

static void
test_append_seq_monotonic (Fixture *fixture,
                           gconstpointer user_data)
{
  OrderLog log = { 0 };
  const guint n_events = 500;
  gulong handler;

  g_test_summary ("Appends in flight together complete and are announced in sequence order, "
                  "each announced only once it is committed and readable");

  log.completed = g_array_new (FALSE, FALSE, sizeof (guint64));
  log.announced = g_array_new (FALSE, FALSE, sizeof (guint64));
  handler = g_signal_connect (fixture->journal, "event-appended", G_CALLBACK (order_appended_cb), &log);
  for (guint i = 0; i < n_events; i++)
    {
      g_autoptr(HgEvent) event = event_new ("sensor.reading", i);
      hgd_journal_append_async (fixture->journal, event, NULL, NULL, order_append_cb, &log);
      log.n_pending++;
    }
  while (log.n_pending > 0)
    g_main_context_iteration (NULL, TRUE);
  g_signal_handler_disconnect (fixture->journal, handler);

  g_assert_cmpuint (log.announced->len, ==, n_events);
  g_assert_cmpuint (log.completed->len, ==, n_events);
  g_assert_cmpuint (log.n_visible, ==, n_events);
  for (guint i = 0; i < n_events; i++)
    {
      g_assert_cmpuint (g_array_index (log.announced, guint64, i), ==, i + 1);
      g_assert_cmpuint (g_array_index (log.completed, guint64, i), ==, i + 1);
    }
  g_assert_cmpuint (hgd_journal_get_last_seq (fixture->journal), ==, n_events);

  /* and it carries on after a restart */
  fixture_reopen (fixture);
  g_assert_cmpuint (hgd_journal_get_last_seq (fixture->journal), ==, n_events);
  {
    g_autoptr(HgEvent) event = event_new ("sensor.reading", 0);
    assert_append (fixture->journal, event, NULL);
    g_assert_cmpuint (hg_event_get_seq (event), ==, n_events + 1);
  }
  g_array_unref (log.completed);
  g_array_unref (log.announced);
}

static void
test_append_cancelled_not_written (Fixture *fixture,
                                   gconstpointer user_data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HgEvent) event = event_new ("sensor.reading", 1);

  g_test_summary ("An append cancelled before it is queued is not written");

  g_cancellable_cancel (cancellable);
  hgd_journal_append_async (fixture->journal, event, NULL, cancellable, result_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (hgd_journal_append_finish (fixture->journal, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (hg_event_get_seq (event), ==, 0);
  g_assert_cmpuint (count_events (fixture->journal), ==, 0);
}

static void
test_query_after_limit (Fixture *fixture,
                        gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) page = NULL;
  g_autoptr(GPtrArray) rest = NULL;
  g_autoptr(GPtrArray) none = NULL;

  g_test_summary ("Events are read after a sequence number, at most a limit, in order");

  for (guint i = 1; i <= 10; i++)
    {
      g_autoptr(HgEvent) event = event_new ("sensor.reading", i);
      assert_append (fixture->journal, event, NULL);
    }
  page = hgd_journal_query_events (fixture->journal, 3, 4, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 4);
  for (guint i = 0; i < page->len; i++)
    g_assert_cmpuint (hg_event_get_seq (g_ptr_array_index (page, i)), ==, 4 + i);
  rest = hgd_journal_query_events (fixture->journal, 7, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rest->len, ==, 3);
  none = hgd_journal_query_events (fixture->journal, 10, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (none->len, ==, 0);
}

typedef struct
{
  guint n_pending;
  guint n_ok;
} Counter;

static void
count_append_cb (GObject *source_object,
                 GAsyncResult *result,
                 gpointer user_data)
{
  Counter *counter = user_data;
  g_autoptr(GError) error = NULL;

  if (hgd_journal_append_finish (HGD_JOURNAL (source_object), result, &error))
    counter->n_ok++;
  counter->n_pending--;
}

static void
test_lifetime_pending_complete (void)
{
  g_autofree gchar *dir = domain_dir ("municipal");
  g_autoptr(GError) error = NULL;
  HgdJournal *journal;
  Counter counter = { 0 };
  const guint n_events = 200;

  g_test_summary ("Appends still queued when the owner drops the journal complete, and the "
                  "journal is finalized after them");

  journal = hgd_journal_new (HG_DOMAIN_MUNICIPAL, dir, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < n_events; i++)
    {
      g_autoptr(HgEvent) event = event_new ("sensor.reading", i);
      hgd_journal_append_async (journal, event, NULL, NULL, count_append_cb, &counter);
      counter.n_pending++;
    }
  g_object_add_weak_pointer (G_OBJECT (journal), (gpointer *) &journal);
  g_object_unref (journal);
  g_assert_nonnull (journal);
  while (counter.n_pending > 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (counter.n_ok, ==, n_events);
  g_assert_null (journal);

  journal = hgd_journal_new (HG_DOMAIN_MUNICIPAL, dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (count_events (journal), ==, n_events);
  g_object_unref (journal);
}

static void
flushed_cb (GObject *source_object,
            GAsyncResult *result,
            gpointer user_data)
{
  Counter *counter = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (hgd_journal_flush_finish (HGD_JOURNAL (source_object), result, &error));
  g_assert_no_error (error);
  /* every append queued before the flush, alarm or reading, has completed */
  g_assert_cmpuint (counter->n_pending, ==, 0);
  counter->n_ok = G_MAXUINT;
}

static void
test_lifetime_flush_after_pending (Fixture *fixture,
                                   gconstpointer user_data)
{
  Counter counter = { 0 };
  const guint n_events = 200;

  g_test_summary ("A flush completes after every append queued before it, in both lanes, "
                  "has been committed and its callback has run");

  for (guint i = 0; i < n_events; i++)
    {
      g_autoptr(HgAlarm) alarm = i % 50 == 0 ? alarm_new_raised () : NULL;
      g_autoptr(HgEvent) event = alarm != NULL ? alarm_event_new (alarm)
                                               : event_new ("sensor.reading", i);

      hgd_journal_append_async (fixture->journal, event, alarm, NULL, count_append_cb, &counter);
      counter.n_pending++;
    }
  hgd_journal_flush_async (fixture->journal, flushed_cb, &counter);
  while (counter.n_ok != G_MAXUINT)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (count_events (fixture->journal), ==, n_events);

  /* with nothing queued it completes too */
  counter.n_ok = 0;
  hgd_journal_flush_async (fixture->journal, flushed_cb, &counter);
  while (counter.n_ok != G_MAXUINT)
    g_main_context_iteration (NULL, TRUE);
}

/* alarms */

static void
test_alarm_recorded_with_event (Fixture *fixture,
                                gconstpointer user_data)
{
  g_autoptr(HgAlarm) alarm = alarm_new_raised ();
  g_autoptr(HgEvent) raised = alarm_event_new (alarm);
  g_autoptr(HgEvent) closed = NULL;
  g_autoptr(HgAlarm) read = NULL;
  g_autoptr(GPtrArray) open = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) detail = json_object_new ();

  g_test_summary ("An alarm record is written with its event; a later state updates it and "
                  "closed alarms leave the open list");

  json_object_set_string_member (detail, "sensor", "hallway");
  hg_alarm_set_detail (alarm, detail);
  assert_append (fixture->journal, raised, alarm);
  read = hgd_journal_get_alarm (fixture->journal, hg_alarm_get_reference (alarm), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (hg_alarm_get_reference (read), ==, hg_alarm_get_reference (alarm));
  g_assert_cmpstr (hg_alarm_get_alarm_type (read), ==, "fall");
  g_assert_cmpint (hg_alarm_get_state (read), ==, HG_ALARM_STATE_RAISED);
  g_assert_cmpstr (hg_alarm_get_source (read), ==, "plugin:test");
  g_assert_cmpstr (hg_alarm_get_location (read), ==, "bedroom");
  g_assert_cmpuint (hg_alarm_get_priority (read), ==, 7);
  g_assert_cmpstr (json_object_get_string_member (hg_alarm_get_detail (read), "sensor"), ==, "hallway");
  open = hgd_journal_list_alarms (fixture->journal, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (open->len, ==, 1);
  g_clear_pointer (&open, g_ptr_array_unref);

  hg_alarm_set_state (alarm, HG_ALARM_STATE_CLOSED);
  closed = alarm_event_new (alarm);
  assert_append (fixture->journal, closed, alarm);
  g_clear_object (&read);
  read = hgd_journal_get_alarm (fixture->journal, hg_alarm_get_reference (alarm), &error);
  g_assert_no_error (error);
  g_assert_cmpint (hg_alarm_get_state (read), ==, HG_ALARM_STATE_CLOSED);
  open = hgd_journal_list_alarms (fixture->journal, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (open->len, ==, 0);
  all = hgd_journal_list_alarms (fixture->journal, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 1);

  g_clear_object (&read);
  read = hgd_journal_get_alarm (fixture->journal, "nosuchref", &error);
  g_assert_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_NOT_FOUND);
  g_assert_null (read);
}

static void
test_alarm_duplicate_atomic (Fixture *fixture,
                             gconstpointer user_data)
{
  g_autoptr(HgAlarm) alarm = alarm_new_raised ();
  g_autoptr(HgAlarm) twin = hg_alarm_new ("fire");
  g_autoptr(HgEvent) first = alarm_event_new (alarm);
  g_autoptr(HgEvent) before = event_new ("sensor.reading", 1);
  g_autoptr(HgEvent) dup = NULL;
  g_autoptr(HgEvent) after = event_new ("sensor.reading", 2);
  g_autoptr(GAsyncResult) result_before = NULL;
  g_autoptr(GAsyncResult) result_dup = NULL;
  g_autoptr(GAsyncResult) result_after = NULL;
  g_autoptr(HgAlarm) read = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A raised alarm whose reference exists is refused with its event, while "
                  "the appends committed in the same batch succeed");

  assert_append (fixture->journal, first, alarm);
  hg_alarm_set_reference (twin, hg_alarm_get_reference (alarm));
  dup = alarm_event_new (twin);
  hgd_journal_append_async (fixture->journal, before, NULL, NULL, result_cb, &result_before);
  hgd_journal_append_async (fixture->journal, dup, twin, NULL, result_cb, &result_dup);
  hgd_journal_append_async (fixture->journal, after, NULL, NULL, result_cb, &result_after);
  while (result_before == NULL || result_dup == NULL || result_after == NULL)
    g_main_context_iteration (NULL, TRUE);

  g_assert_true (hgd_journal_append_finish (fixture->journal, result_before, NULL));
  g_assert_true (hgd_journal_append_finish (fixture->journal, result_after, NULL));
  g_assert_false (hgd_journal_append_finish (fixture->journal, result_dup, &error));
  g_assert_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_INVALID);
  g_assert_cmpuint (hg_event_get_seq (dup), ==, 0);
  g_assert_cmpuint (count_events (fixture->journal), ==, 3);
  g_clear_error (&error);
  read = hgd_journal_get_alarm (fixture->journal, hg_alarm_get_reference (alarm), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (hg_alarm_get_alarm_type (read), ==, "fall");
}

static void
test_alarm_update_unknown (Fixture *fixture,
                           gconstpointer user_data)
{
  g_autoptr(HgAlarm) alarm = alarm_new_raised ();
  g_autoptr(HgEvent) event = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A later state of an alarm that was never raised is refused with its event");

  hg_alarm_set_state (alarm, HG_ALARM_STATE_ACKNOWLEDGED);
  event = alarm_event_new (alarm);
  g_assert_false (append_sync (fixture->journal, event, alarm, &error));
  g_assert_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_NOT_FOUND);
  g_assert_cmpuint (count_events (fixture->journal), ==, 0);
}

/* kill -9: a child re-executes this binary as a writer that keeps appends in flight and
 * prints "SEQ REF" for every acknowledged one */

#define KILL_WRITER_IN_FLIGHT 16

static void kill_writer_append (HgdJournal *journal);

static void
kill_writer_append_cb (GObject *source_object,
                       GAsyncResult *result,
                       gpointer user_data)
{
  g_autoptr(HgEvent) event = user_data;
  g_autoptr(GError) error = NULL;
  HgdJournal *journal = HGD_JOURNAL (source_object);

  if (!hgd_journal_append_finish (journal, result, &error))
    {
      fprintf (stderr, "writer: %s\n", error->message);
      exit (1);
    }
  fprintf (stdout, "%" G_GUINT64_FORMAT " %s\n", hg_event_get_seq (event),
           json_object_get_string_member (hg_event_get_body (event), "ref"));
  fflush (stdout);
  kill_writer_append (journal);
}

static void
kill_writer_append (HgdJournal *journal)
{
  g_autoptr(HgAlarm) alarm = alarm_new_raised ();
  HgEvent *event = alarm_event_new (alarm);

  hgd_journal_append_async (journal, event, alarm, NULL, kill_writer_append_cb, event);
}

static int
run_kill_writer (const gchar *dir)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdJournal) journal = hgd_journal_new (HG_DOMAIN_MUNICIPAL, dir, &error);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  if (journal == NULL)
    {
      fprintf (stderr, "writer: %s\n", error->message);
      return 1;
    }
  for (guint i = 0; i < KILL_WRITER_IN_FLIGHT; i++)
    kill_writer_append (journal);
  g_main_loop_run (loop);
  return 0;
}

static void
read_acknowledged (GDataInputStream *stream,
                   GHashTable *acked,
                   guint until)
{
  while (until == 0 || g_hash_table_size (acked) < until)
    {
      g_autoptr(GError) error = NULL;
      g_autofree gchar *line = g_data_input_stream_read_line (stream, NULL, NULL, &error);
      g_auto(GStrv) parts = NULL;
      guint64 seq = 0;

      g_assert_no_error (error);
      if (line == NULL)
        {
          g_assert_cmpuint (until, ==, 0);
          return;
        }
      parts = g_strsplit (line, " ", 2);
      g_assert_cmpuint (g_strv_length (parts), ==, 2);
      g_assert_true (g_ascii_string_to_unsigned (parts[0], 10, 1, G_MAXINT64, &seq, NULL));
      g_hash_table_insert (acked, g_steal_pointer (&parts[1]), GSIZE_TO_POINTER (seq));
    }
}

static void
test_alarm_survives_kill (void)
{
  g_autofree gchar *dir = domain_dir ("municipal");
  g_autofree gchar *self_exe = NULL;
  g_autoptr(GHashTable) acked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GError) error = NULL;

  g_test_summary ("Every alarm acknowledged before a kill -9 in the middle of group commits is "
                  "in the journal afterwards, and the file passes its integrity check");

  self_exe = g_file_read_link ("/proc/self/exe", &error);
  g_assert_no_error (error);

  for (guint round = 0; round < 3; round++)
    {
      g_autoptr(GSubprocess) writer = NULL;
      g_autoptr(GDataInputStream) stream = NULL;
      g_autoptr(HgdJournal) journal = NULL;
      g_autoptr(GPtrArray) events = NULL;
      GHashTableIter iter;
      gpointer key;
      gpointer value;
      guint n_before = g_hash_table_size (acked);
      guint kill_after = (guint) g_test_rand_int_range (20, 300);
      guint64 max_seq = 0;

      writer = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, self_exe, "--kill-writer",
                                 dir, NULL);
      g_assert_no_error (error);
      stream = g_data_input_stream_new (g_subprocess_get_stdout_pipe (writer));
      read_acknowledged (stream, acked, n_before + kill_after);
      g_subprocess_send_signal (writer, SIGKILL);
      g_assert_true (g_subprocess_wait (writer, NULL, &error));
      g_assert_no_error (error);
      g_assert_true (g_subprocess_get_if_signaled (writer));
      g_assert_cmpint (g_subprocess_get_term_sig (writer), ==, SIGKILL);
      /* acknowledged just before the kill, still in the pipe */
      read_acknowledged (stream, acked, 0);
      g_test_message ("round %u: killed after %u acknowledged alarms", round,
                      g_hash_table_size (acked) - n_before);

      journal = hgd_journal_new (HG_DOMAIN_MUNICIPAL, dir, &error);
      g_assert_no_error (error);
      events = hgd_journal_query_events (journal, 0, 0, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (events->len, >=, g_hash_table_size (acked));
      g_hash_table_iter_init (&iter, acked);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          g_autoptr(HgAlarm) alarm = hgd_journal_get_alarm (journal, key, &error);
          guint64 seq = GPOINTER_TO_SIZE (value);
          HgEvent *event;

          g_assert_no_error (error);
          g_assert_cmpint (hg_alarm_get_state (alarm), ==, HG_ALARM_STATE_RAISED);
          g_assert_true (has_event (journal, seq));
          event = g_ptr_array_index (events, seq - 1);
          g_assert_cmpuint (hg_event_get_seq (event), ==, seq);
          g_assert_cmpstr (json_object_get_string_member (hg_event_get_body (event), "ref"), ==, key);
          max_seq = MAX (max_seq, seq);
        }
      g_assert_cmpuint (hgd_journal_get_last_seq (journal), >=, max_seq);
    }
}

/* disk full */

static HgEvent *
event_new_large (void)
{
  g_autoptr(JsonObject) body = json_object_new ();
  g_autofree gchar *blob = g_strnfill (256 * 1024, 'x');
  HgEvent *event;

  json_object_set_string_member (body, "blob", blob);
  event = hg_event_new ("camera.snapshot", body);
  hg_event_set_source (event, "core");
  return event;
}

static void
test_disk_full (Fixture *fixture,
                gconstpointer user_data)
{
  g_autoptr(HgAlarm) kept = alarm_new_raised ();
  g_autoptr(HgEvent) kept_event = alarm_event_new (kept);
  g_autoptr(HgAlarm) lost = alarm_new_raised ();
  g_autoptr(HgEvent) lost_event = NULL;
  g_autoptr(HgEvent) refused = event_new_large ();
  g_autoptr(HgEvent) accepted = event_new_large ();
  g_autoptr(HgAlarm) read = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("When the file cannot grow, appends fail with DISK_FULL and the journal "
                  "reports a disk-full fault; committed alarms stay, and the fault clears "
                  "with the first append that fits again");

  for (guint i = 0; i < 20; i++)
    {
      g_autoptr(HgEvent) event = event_new ("sensor.reading", i);
      assert_append (fixture->journal, event, NULL);
    }
  assert_append (fixture->journal, kept_event, kept);
  g_assert_null (hgd_journal_get_fault (fixture->journal));

  hgd_journal_cap_size_for_test (fixture->journal, 0);
  expect_journal_warnings = TRUE;
  n_journal_warnings = 0;

  g_assert_false (append_sync (fixture->journal, refused, NULL, &error));
  g_assert_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_DISK_FULL);
  g_assert_nonnull (strstr (error->message, hgd_journal_get_path (fixture->journal)));
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_assert_cmpstr (hgd_journal_get_fault (fixture->journal), ==, "disk-full");
  g_assert_cmpuint (hg_event_get_seq (refused), ==, 0);

  /* an alarm that does not fit leaves neither event nor record */
  lost_event = alarm_event_new (lost);
  json_object_set_string_member (hg_event_get_body (lost_event), "blob",
                                 json_object_get_string_member (hg_event_get_body (refused), "blob"));
  g_assert_false (append_sync (fixture->journal, lost_event, lost, &error));
  g_assert_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_DISK_FULL);
  g_clear_error (&error);
  read = hgd_journal_get_alarm (fixture->journal, hg_alarm_get_reference (lost), &error);
  g_assert_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpuint (n_journal_warnings, ==, 1);
  expect_journal_warnings = FALSE;

  /* nothing committed was lost */
  g_assert_cmpuint (count_events (fixture->journal), ==, 21);
  read = hgd_journal_get_alarm (fixture->journal, hg_alarm_get_reference (kept), &error);
  g_assert_no_error (error);

  hgd_journal_cap_size_for_test (fixture->journal, -1);
  assert_append (fixture->journal, accepted, NULL);
  g_assert_null (hgd_journal_get_fault (fixture->journal));
  g_assert_cmpuint (hg_event_get_seq (accepted), ==, 22);

  fixture_reopen (fixture);
  g_assert_cmpuint (count_events (fixture->journal), ==, 22);
}

/* retention */

static void
prune (HgdJournal *journal,
       gboolean async,
       gint64 now,
       guint *n_removed)
{
  g_autoptr(GError) error = NULL;

  if (async)
    {
      g_autoptr(GAsyncResult) result = NULL;

      hgd_journal_prune_async (journal, now, NULL, result_cb, &result);
      while (result == NULL)
        g_main_context_iteration (NULL, TRUE);
      g_assert_true (hgd_journal_prune_finish (journal, result, n_removed, &error));
    }
  else
    {
      g_assert_true (hgd_journal_prune (journal, now, n_removed, &error));
    }
  g_assert_no_error (error);
}

static guint64
append_aged (HgdJournal *journal,
             const gchar *type,
             gint64 now,
             gint64 days)
{
  g_autoptr(HgEvent) event = event_new_at (type, now - days * USEC_PER_DAY);

  assert_append (journal, event, NULL);
  return hg_event_get_seq (event);
}

static HgAlarm *
append_alarm_aged (HgdJournal *journal,
                   gint64 now,
                   gint64 raised_days,
                   gint64 closed_days,
                   guint64 *raised_seq,
                   guint64 *closed_seq)
{
  g_autoptr(HgAlarm) alarm = alarm_new_raised ();
  g_autoptr(HgEvent) raised = alarm_event_new (alarm);

  hg_event_set_timestamp (raised, now - raised_days * USEC_PER_DAY);
  assert_append (journal, raised, alarm);
  *raised_seq = hg_event_get_seq (raised);
  if (closed_days >= 0)
    {
      g_autoptr(HgEvent) closed = NULL;

      hg_alarm_set_state (alarm, HG_ALARM_STATE_CLOSED);
      closed = alarm_event_new (alarm);
      hg_event_set_timestamp (closed, now - closed_days * USEC_PER_DAY);
      assert_append (journal, closed, alarm);
      *closed_seq = hg_event_get_seq (closed);
    }
  return g_steal_pointer (&alarm);
}

static void
test_retention_keeps_open_alarms (Fixture *fixture,
                                  gconstpointer user_data)
{
  gboolean async = GPOINTER_TO_INT (user_data);
  HgdJournal *journal = fixture->journal;
  gint64 now = g_get_real_time ();
  g_autoptr(HgAlarm) open = NULL;
  g_autoptr(HgAlarm) gone = NULL;
  g_autoptr(HgAlarm) recent = NULL;
  g_autoptr(HgAlarm) read = NULL;
  g_autoptr(GPtrArray) alarms = NULL;
  g_autoptr(GError) error = NULL;
  guint64 seq_open, seq_gone_raised, seq_gone_closed, seq_recent_raised, seq_recent_closed;
  guint64 seq_sensor_old, seq_sensor_new, seq_door_new, seq_door_old;
  guint64 unused = 0;
  guint n_removed = 0;

  g_test_summary ("Pruning deletes events past their retention but keeps the events of open "
                  "alarms, and the records of closed alarms go with their last event; "
                  "sequence numbers are never reused");

  hgd_journal_set_retention (journal, "", 365);
  hgd_journal_set_retention (journal, "sensor.", 30);
  hgd_journal_set_retention (journal, "alarm.", 30);

  seq_sensor_old = append_aged (journal, "sensor.reading", now, 40);
  seq_sensor_new = append_aged (journal, "sensor.reading", now, 10);
  seq_door_new = append_aged (journal, "door.opened", now, 100);
  open = append_alarm_aged (journal, now, 100, -1, &seq_open, &unused);
  gone = append_alarm_aged (journal, now, 100, 90, &seq_gone_raised, &seq_gone_closed);
  recent = append_alarm_aged (journal, now, 100, 1, &seq_recent_raised, &seq_recent_closed);
  seq_door_old = append_aged (journal, "door.opened", now, 400);

  prune (journal, async, now, &n_removed);
  g_assert_cmpuint (n_removed, ==, 5);
  g_assert_false (has_event (journal, seq_sensor_old));
  g_assert_true (has_event (journal, seq_sensor_new));
  g_assert_true (has_event (journal, seq_door_new));
  g_assert_false (has_event (journal, seq_door_old));
  g_assert_true (has_event (journal, seq_open));
  g_assert_false (has_event (journal, seq_gone_raised));
  g_assert_false (has_event (journal, seq_gone_closed));
  g_assert_false (has_event (journal, seq_recent_raised));
  g_assert_true (has_event (journal, seq_recent_closed));

  alarms = hgd_journal_list_alarms (journal, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (alarms->len, ==, 2);
  g_assert_cmpstr (hg_alarm_get_reference (g_ptr_array_index (alarms, 0)), ==,
                   hg_alarm_get_reference (open));
  g_assert_cmpstr (hg_alarm_get_reference (g_ptr_array_index (alarms, 1)), ==,
                   hg_alarm_get_reference (recent));
  read = hgd_journal_get_alarm (journal, hg_alarm_get_reference (gone), &error);
  g_assert_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_NOT_FOUND);

  /* pruning again finds nothing; the next event does not take the pruned last seq */
  prune (journal, async, now, &n_removed);
  g_assert_cmpuint (n_removed, ==, 0);
  fixture_reopen (fixture);
  g_assert_cmpuint (append_aged (fixture->journal, "door.opened", now, 0), ==, seq_door_old + 1);
}

static void
test_retention_longest_prefix (Fixture *fixture,
                               gconstpointer user_data)
{
  HgdJournal *journal = fixture->journal;
  gint64 now = g_get_real_time ();
  guint64 door, motion_new, motion_old, battery, reading_old, reading_new, other;
  guint n_removed = 0;
  g_autoptr(GError) error = NULL;

  g_test_summary ("The rule with the longest matching prefix decides; an exact type beats a "
                  "prefix, 0 days keeps for ever, and a prefix matches only whole words");

  hgd_journal_set_retention (journal, "", 10);
  hgd_journal_set_retention (journal, "sensor.", 30);
  hgd_journal_set_retention (journal, "sensor.battery", 0);
  hgd_journal_set_retention (journal, "sensor.reading", 30);
  hgd_journal_set_retention (journal, "sensor.reading", 5); /* replaces the rule */

  door = append_aged (journal, "door.opened", now, 20);
  motion_new = append_aged (journal, "sensor.motion", now, 20);
  motion_old = append_aged (journal, "sensor.motion", now, 40);
  battery = append_aged (journal, "sensor.battery", now, 1000);
  reading_old = append_aged (journal, "sensor.reading", now, 6);
  reading_new = append_aged (journal, "sensor.reading", now, 4);
  other = append_aged (journal, "sensorx.reading", now, 20);

  g_assert_true (hgd_journal_prune (journal, now, &n_removed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_removed, ==, 4);
  g_assert_false (has_event (journal, door));
  g_assert_true (has_event (journal, motion_new));
  g_assert_false (has_event (journal, motion_old));
  g_assert_true (has_event (journal, battery));
  g_assert_false (has_event (journal, reading_old));
  g_assert_true (has_event (journal, reading_new));
  g_assert_false (has_event (journal, other));
}

/* the size budget */

static void
count_done_cb (GObject *source_object,
               GAsyncResult *result,
               gpointer user_data)
{
  guint *n_done = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (hgd_journal_append_finish (HGD_JOURNAL (source_object), result, &error));
  g_assert_no_error (error);
  (*n_done)++;
}

static void
trimmed_cb (HgdJournal *journal,
            guint n_removed,
            gpointer user_data)
{
  guint *n_trims = user_data;

  (*n_trims)++;
}

static gboolean
trim_timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

static guint64
used_size (HgdJournal *journal)
{
  g_autoptr(GError) error = NULL;
  guint64 used = 0;

  g_assert_true (hgd_journal_get_used_size (journal, &used, &error));
  g_assert_no_error (error);
  return used;
}

static void
test_size_budget_keeps_alarms (Fixture *fixture,
                               gconstpointer user_data)
{
  const guint64 budget = 1024 * 1024;
  const guint n_readings = 12000;
  const guint n_alarms = 10;
  HgdJournal *journal = fixture->journal;
  g_autoptr(GPtrArray) alarms = NULL;
  g_autoptr(GPtrArray) alarm_events = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HgEvent) door = event_new ("door.opened", 0);
  guint64 first_reading = 0;
  guint64 last_reading = 0;
  guint64 last_alarm_seq = 0;
  guint n_done = 0;
  guint n_trims = 0;
  gboolean timed_out = FALSE;
  guint timeout_id;

  g_test_bug ("11");
  g_test_summary ("With a size budget, the journal removes the oldest sensor readings once past "
                  "70 % of it, down to 60 %, before any other event; alarms and their events, "
                  "open or closed, are all kept");

  hgd_journal_set_size_budget (journal, budget);
  g_assert_cmpuint (hgd_journal_get_size_budget (journal), ==, budget);
  g_signal_connect (journal, "trimmed", G_CALLBACK (trimmed_cb), &n_trims);

  for (guint i = 0; i < n_alarms; i++)
    {
      g_autoptr(HgAlarm) alarm = alarm_new_raised ();
      g_autoptr(HgEvent) raised = alarm_event_new (alarm);

      assert_append (journal, raised, alarm);
      last_alarm_seq = hg_event_get_seq (raised);
      if (i % 2 == 0)
        {
          g_autoptr(HgEvent) closed = NULL;

          hg_alarm_set_state (alarm, HG_ALARM_STATE_CLOSED);
          closed = alarm_event_new (alarm);
          assert_append (journal, closed, alarm);
          last_alarm_seq = hg_event_get_seq (closed);
        }
    }
  assert_append (journal, door, NULL);

  for (guint i = 0; i < n_readings; i++)
    {
      g_autoptr(JsonObject) body = json_object_new ();
      g_autoptr(HgEvent) reading = NULL;

      json_object_set_string_member (body, "device", "living-temp");
      json_object_set_string_member (body, "kind", "temperature");
      json_object_set_double_member (body, "value", 20.0 + i % 50 / 10.0);
      json_object_set_string_member (body, "unit", "°C");
      reading = hg_event_new ("sensor.reading", body);
      hg_event_set_source (reading, "plugin:sensors");
      hgd_journal_append_async (journal, reading, NULL, NULL, count_done_cb, &n_done);
    }
  timeout_id = g_timeout_add_seconds (60, trim_timeout_cb, &timed_out);
  while (n_done < n_readings && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  /* the readings came after the alarms and the door event, in order */
  first_reading = hg_event_get_seq (door) + 1;
  last_reading = hgd_journal_get_last_seq (journal);
  g_assert_cmpuint (last_reading, ==, first_reading + n_readings - 1);
  g_assert_cmpuint (hg_event_get_seq (door), >, last_alarm_seq);

  /* a trim is under way or done; it ends below the trim target, and a later commit past
   * the start of trimming starts another */
  while ((n_trims == 0 || used_size (journal) * 100 > budget * 70) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (timeout_id);

  g_assert_cmpuint (n_trims, >, 0);
  g_assert_cmpuint (used_size (journal) * 100, <=, budget * 70);
  g_assert_false (has_event (journal, first_reading));
  g_assert_true (has_event (journal, last_reading));
  /* readings went first: the older event that is not a reading is still there */
  g_assert_true (has_event (journal, hg_event_get_seq (door)));

  alarms = hgd_journal_list_alarms (journal, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (alarms->len, ==, n_alarms);
  alarm_events = hgd_journal_query_alarm_events (journal, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (alarm_events->len, ==, n_alarms + n_alarms / 2);
}

static void
test_size_budget_other_events_after_readings (Fixture *fixture,
                                              gconstpointer user_data)
{
  const guint64 budget = 512 * 1024;
  const guint n_events = 6000;
  HgdJournal *journal = fixture->journal;
  g_autoptr(HgAlarm) alarm = alarm_new_raised ();
  g_autoptr(HgEvent) raised = alarm_event_new (alarm);
  g_autoptr(HgEvent) reading = event_new ("sensor.reading", 0);
  g_autoptr(GPtrArray) alarm_events = NULL;
  g_autoptr(GError) error = NULL;
  guint64 first_other = 0;
  guint n_done = 0;
  guint n_trims = 0;
  gboolean timed_out = FALSE;
  guint timeout_id;

  g_test_bug ("11");
  g_test_summary ("When no sensor reading is left to remove, the size budget removes the oldest "
                  "other events that belong to no alarm, and never an alarm's event");

  g_signal_connect (journal, "trimmed", G_CALLBACK (trimmed_cb), &n_trims);
  assert_append (journal, raised, alarm);
  assert_append (journal, reading, NULL);
  for (guint i = 0; i < n_events; i++)
    {
      g_autoptr(HgEvent) event = event_new ("door.opened", i);

      hgd_journal_append_async (journal, event, NULL, NULL, count_done_cb, &n_done);
    }
  first_other = hg_event_get_seq (reading) + 1;
  timeout_id = g_timeout_add_seconds (60, trim_timeout_cb, &timed_out);
  while (n_done < n_events && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  /* the budget comes only now: one trim, which must go past the readings */
  hgd_journal_set_size_budget (journal, budget);
  {
    g_autoptr(HgEvent) last = event_new ("door.opened", n_events);

    assert_append (journal, last, NULL);
  }
  while (n_trims == 0 && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (timeout_id);

  g_assert_cmpuint (used_size (journal) * 100, <=, budget * 70);
  g_assert_false (has_event (journal, hg_event_get_seq (reading)));
  g_assert_false (has_event (journal, first_other));
  g_assert_true (has_event (journal, hgd_journal_get_last_seq (journal)));
  g_assert_true (has_event (journal, hg_event_get_seq (raised)));
  alarm_events = hgd_journal_query_alarm_events (journal, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (alarm_events->len, ==, 1);
}

/* idempotency keys */

static void
test_idempotency_key_expires (Fixture *fixture,
                              gconstpointer user_data)
{
  HgdJournal *journal = fixture->journal;
  g_autoptr(HgAlarm) alarm = alarm_new_raised ();
  g_autoptr(HgEvent) raised = alarm_event_new (alarm);
  g_autoptr(HgAlarm) second = alarm_new_raised ();
  g_autoptr(HgEvent) second_raised = alarm_event_new (second);
  g_autoptr(HgAlarm) kept = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *ref = NULL;
  g_autofree gchar *fingerprint = NULL;
  gint64 now = g_get_real_time ();
  gint64 later = now + HGD_JOURNAL_IDEMPOTENCY_KEY_LIFETIME + G_USEC_PER_SEC;
  guint n_removed = 0;

  g_test_bug ("11");
  g_test_summary ("An idempotency key is recorded with its alarm, found for its lifetime, a "
                  "second alarm cannot take it, and pruning removes it after its lifetime");

  hgd_journal_append_keyed_async (journal, raised, alarm, "user:anna", "k1", "f1", NULL, result_cb,
                                  &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (hgd_journal_append_keyed_finish (journal, result, &error));
  g_assert_no_error (error);
  g_clear_object (&result);

  g_assert_true (hgd_journal_lookup_idempotency_key (journal, "user:anna", "k1", now, &ref,
                                                     &fingerprint, &error));
  g_assert_cmpstr (ref, ==, hg_alarm_get_reference (alarm));
  g_assert_cmpstr (fingerprint, ==, "f1");
  g_clear_pointer (&ref, g_free);
  g_assert_true (hgd_journal_lookup_idempotency_key (journal, "user:bert", "k1", now, &ref, NULL,
                                                     &error));
  g_assert_null (ref);

  /* the same key for another alarm: refused, and that alarm is not written either */
  hgd_journal_append_keyed_async (journal, second_raised, second, "user:anna", "k1", "f2", NULL,
                                  result_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (hgd_journal_append_keyed_finish (journal, result, &error));
  g_assert_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (hgd_journal_get_alarm (journal, hg_alarm_get_reference (second), &error));
  g_clear_error (&error);

  g_assert_true (hgd_journal_lookup_idempotency_key (journal, "user:anna", "k1", later, &ref, NULL,
                                                     &error));
  g_assert_null (ref);
  g_assert_true (hgd_journal_prune (journal, later, &n_removed, &error));
  g_assert_no_error (error);
  g_assert_true (hgd_journal_lookup_idempotency_key (journal, "user:anna", "k1", now, &ref, NULL,
                                                     &error));
  g_assert_null (ref);
  /* the alarm itself stays */
  kept = hgd_journal_get_alarm (journal, hg_alarm_get_reference (alarm), &error);
  g_assert_no_error (error);
  g_assert_nonnull (kept);
}

/* readings of one device */

static guint64
append_reading (HgdJournal *journal,
                const gchar *type,
                const gchar *device,
                gint64 ts)
{
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(HgEvent) event = NULL;

  if (device != NULL)
    json_object_set_string_member (body, "device", device);
  json_object_set_string_member (body, "kind", "occupancy");
  json_object_set_boolean_member (body, "value", TRUE);
  event = hg_event_new (type, body);
  hg_event_set_source (event, "plugin:test");
  hg_event_set_timestamp (event, ts);
  assert_append (journal, event, NULL);
  return hg_event_get_seq (event);
}

static gboolean
plan_uses_index (const gchar *path,
                 const gchar *sql)
{
  g_autofree gchar *explain = g_strdup_printf ("EXPLAIN QUERY PLAN %s", sql);
  sqlite3_stmt *stmt = NULL;
  sqlite3 *db = NULL;
  gboolean found = FALSE;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, explain, -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    found = found || strstr ((const gchar *) sqlite3_column_text (stmt, 3), "events_by_reading_device") != NULL;
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return found;
}

static void
test_readings_by_device (Fixture *fixture,
                         gconstpointer user_data)
{
  HgdJournal *journal = fixture->journal;
  const gint64 hour = G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC;
  gint64 start = (g_get_real_time () / hour - 48) * hour;
  g_autoptr(GPtrArray) readings = NULL;
  g_autoptr(GPtrArray) limited = NULL;
  g_autoptr(GArray) counts = NULL;
  g_autoptr(GError) error = NULL;
  guint64 first;

  g_test_summary ("sensor.reading events are found by the device in their body, oldest first "
                  "from a time, and counted per hour, through the journal's index; other types "
                  "and devices are not");
  first = append_reading (journal, "sensor.reading", "bed", start + 10);
  append_reading (journal, "sensor.reading", "bed", start + hour + 5);
  append_reading (journal, "sensor.reading", "bed", start + hour + 6);
  append_reading (journal, "sensor.reading", "hall-door", start + hour + 7);
  append_reading (journal, "sensor.health", "bed", start + hour + 8);
  append_reading (journal, "sensor.reading", NULL, start + hour + 9);
  append_reading (journal, "sensor.reading", "bed", start + 5 * hour);
  append_reading (journal, "sensor.reading", "bed", start - 1);

  readings = hgd_journal_query_readings (journal, "bed", start, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (readings->len, ==, 4);
  g_assert_cmpuint (hg_event_get_seq (g_ptr_array_index (readings, 0)), ==, first);
  g_assert_cmpint (hg_event_get_timestamp (g_ptr_array_index (readings, 3)), ==, start + 5 * hour);
  g_assert_cmpstr (json_object_get_string_member (hg_event_get_body (g_ptr_array_index (readings, 1)), "device"),
                   ==, "bed");
  limited = hgd_journal_query_readings (journal, "bed", start + hour, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (limited->len, ==, 2);
  g_assert_cmpint (hg_event_get_timestamp (g_ptr_array_index (limited, 0)), ==, start + hour + 5);

  counts = hgd_journal_count_readings (journal, "bed", start, hour, 6, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (counts->len, ==, 6);
  g_assert_cmpuint (g_array_index (counts, guint, 0), ==, 1);
  g_assert_cmpuint (g_array_index (counts, guint, 1), ==, 2);
  g_assert_cmpuint (g_array_index (counts, guint, 2), ==, 0);
  g_assert_cmpuint (g_array_index (counts, guint, 5), ==, 1);
  g_clear_pointer (&counts, g_array_unref);
  counts = hgd_journal_count_readings (journal, "nobody", start, hour, 3, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_array_index (counts, guint, 0) + g_array_index (counts, guint, 1), ==, 0);

  g_assert_true (plan_uses_index (hgd_journal_get_path (journal),
                                  "SELECT seq FROM events WHERE type = 'sensor.reading' AND "
                                  "json_extract(body, '$.device') = 'bed' AND ts >= 0 ORDER BY ts, seq"));
}

static void
test_readings_index_added (Fixture *fixture,
                           gconstpointer user_data)
{
  g_autofree gchar *path = g_strdup (hgd_journal_get_path (fixture->journal));
  g_autoptr(GPtrArray) readings = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A journal written before the device index existed gets it when opened, and "
                  "its readings are found");
  append_reading (fixture->journal, "sensor.reading", "bed", g_get_real_time ());
  g_clear_object (&fixture->journal);
  write_sqlite (path, "DROP INDEX events_by_reading_device");
  g_assert_false (plan_uses_index (path, "SELECT seq FROM events WHERE type = 'sensor.reading' AND "
                                         "json_extract(body, '$.device') = 'bed'"));
  fixture_reopen (fixture);
  g_assert_true (plan_uses_index (path, "SELECT seq FROM events WHERE type = 'sensor.reading' AND "
                                        "json_extract(body, '$.device') = 'bed'"));
  readings = hgd_journal_query_readings (fixture->journal, "bed", 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (readings->len, ==, 1);
}

/* migrations */

/* Makes @db from an SQL dump in tests/data, in WAL mode as hemgated leaves its journals. */
static void
load_dump (const gchar *name,
           const gchar *db)
{
  g_autofree gchar *dump_path = g_test_build_filename (G_TEST_DIST, "data", name, NULL);
  g_autofree gchar *dump = NULL;
  g_autofree gchar *directory = g_path_get_dirname (db);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_get_contents (dump_path, &dump, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir_with_parents (directory, 0700), ==, 0);
  write_sqlite (db, dump);
  write_sqlite (db, "PRAGMA journal_mode = WAL");
}

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

/* Every row of @sql in @path's file, each as its columns' text joined by '|' ("NULL" for
 * none): what is on disk, read without the journal. */
static GPtrArray *
read_rows (const gchar *path,
           const gchar *sql)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func (g_free);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      g_autoptr(GString) row = g_string_new (NULL);

      for (gint i = 0; i < sqlite3_column_count (stmt); i++)
        {
          const gchar *text = (const gchar *) sqlite3_column_text (stmt, i);

          g_string_append_printf (row, "%s%s", i > 0 ? "|" : "", text != NULL ? text : "NULL");
        }
      g_ptr_array_add (rows, g_string_free (g_steal_pointer (&row), FALSE));
    }
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return g_steal_pointer (&rows);
}

static gchar *
event_to_row (HgEvent *event)
{
  g_autofree gchar *body = hg_json_object_to_string (hg_event_get_body (event));
  const gchar *source = hg_event_get_source (event);

  return g_strdup_printf ("%" G_GUINT64_FORMAT "|%s|%" G_GINT64_FORMAT "|%s|%s",
                          hg_event_get_seq (event), hg_event_get_event_type (event),
                          hg_event_get_timestamp (event), source != NULL ? source : "NULL", body);
}

static gchar *
alarm_to_row (HgAlarm *alarm)
{
  JsonObject *detail_object = hg_alarm_get_detail (alarm);
  g_autofree gchar *detail = detail_object != NULL ? hg_json_object_to_string (detail_object)
                                                   : g_strdup ("NULL");

  return g_strdup_printf ("%s|%s|%s|%s|%s|%s|%u|%s|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT,
                          hg_alarm_get_reference (alarm), hg_alarm_get_alarm_type (alarm),
                          hg_alarm_state_to_string (hg_alarm_get_state (alarm)),
                          hg_alarm_get_source (alarm) != NULL ? hg_alarm_get_source (alarm) : "NULL",
                          hg_alarm_get_device (alarm) != NULL ? hg_alarm_get_device (alarm) : "NULL",
                          hg_alarm_get_location (alarm) != NULL ? hg_alarm_get_location (alarm)
                                                                : "NULL",
                          hg_alarm_get_priority (alarm), detail, hg_alarm_get_raised_time (alarm),
                          hg_alarm_get_updated_time (alarm));
}

static void
assert_upgraded (HgDomain domain,
                 const gchar *dump,
                 guint n_events,
                 guint n_alarms,
                 guint n_open_alarms)
{
  g_autofree gchar *dir = domain_dir (hg_domain_to_string (domain));
  g_autofree gchar *db = g_build_filename (dir, "journal.db", NULL);
  g_autoptr(GPtrArray) event_rows = NULL;
  g_autoptr(GPtrArray) alarm_rows = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GPtrArray) alarms = NULL;
  g_autoptr(GPtrArray) open_alarms = NULL;
  g_autoptr(GPtrArray) alarm_events = NULL;
  g_autoptr(HgdJournal) journal = NULL;
  g_autoptr(HgEvent) next = event_new ("test.after-upgrade", 1);
  g_autoptr(GError) error = NULL;
  guint n_alarm_events = 0;

  load_dump (dump, db);
  g_assert_cmpint (read_version (db), ==, 1);
  event_rows = read_rows (db, "SELECT seq, type, ts, source, body FROM events ORDER BY seq");
  alarm_rows = read_rows (db, "SELECT ref, type, state, source, device, location, priority, "
                              "detail, raised_ts, updated_ts FROM alarms ORDER BY ref");
  g_assert_cmpuint (event_rows->len, ==, n_events);
  g_assert_cmpuint (alarm_rows->len, ==, n_alarms);

  journal = hgd_journal_new (domain, dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (journal);

  /* every event, from every cursor */
  g_assert_cmpuint (hgd_journal_get_last_seq (journal), ==, n_events);
  for (guint after = 0; after <= n_events; after++)
    {
      g_autoptr(GPtrArray) page = hgd_journal_query_events (journal, after, 0, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (page->len, ==, n_events - after);
      for (guint i = 0; i < page->len; i++)
        {
          g_autofree gchar *row = event_to_row (g_ptr_array_index (page, i));

          g_assert_cmpstr (row, ==, g_ptr_array_index (event_rows, after + i));
          g_assert_cmpint (hg_event_get_domain (g_ptr_array_index (page, i)), ==, domain);
        }
    }
  events = hgd_journal_query_events (journal, 0, 0, &error);
  for (guint i = 0; i < events->len; i++)
    {
      if (g_str_has_prefix (hg_event_get_event_type (g_ptr_array_index (events, i)), "alarm."))
        n_alarm_events++;
    }
  alarm_events = hgd_journal_query_alarm_events (journal, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (alarm_events->len, ==, n_alarm_events);

  /* every alarm, listed and looked up */
  alarms = hgd_journal_list_alarms (journal, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (alarms->len, ==, n_alarms);
  for (guint i = 0; i < alarm_rows->len; i++)
    {
      const gchar *expected = g_ptr_array_index (alarm_rows, i);
      g_auto(GStrv) fields = g_strsplit (expected, "|", 2);
      g_autoptr(HgAlarm) alarm = hgd_journal_get_alarm (journal, fields[0], &error);
      g_autofree gchar *row = NULL;

      g_assert_no_error (error);
      row = alarm_to_row (alarm);
      g_assert_cmpstr (row, ==, expected);
    }
  open_alarms = hgd_journal_list_alarms (journal, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (open_alarms->len, ==, n_open_alarms);

  /* and the journal goes on where it was */
  assert_append (journal, next, NULL);
  g_assert_cmpuint (hg_event_get_seq (next), ==, n_events + 1);
  g_clear_object (&journal);
  g_assert_cmpint (read_version (db), ==, hgd_journal_get_schema_version ());
}

static void
test_migrate_previous_release (void)
{
  g_autofree gchar *dir = domain_dir ("municipal");
  g_autoptr(HgdJournal) journal = NULL;
  g_autofree gchar *alarm_ref = NULL;
  g_autofree gchar *fingerprint = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("Journals of both domains written by the previous release (schema version 1) "
                  "open: every event, alarm and cursor reads back as it was written, appends go "
                  "on from the last sequence number, and the file is at the current version");

  g_assert_cmpuint (hgd_journal_get_schema_version (), >, 1);
  assert_upgraded (HG_DOMAIN_MUNICIPAL, "journal-v1-municipal.sql", 9, 2, 1);
  assert_upgraded (HG_DOMAIN_PERSONAL, "journal-v1-personal.sql", 7, 1, 0);

  /* the idempotency key recorded with the first alarm is still found */
  journal = hgd_journal_new (HG_DOMAIN_MUNICIPAL, dir, &error);
  g_assert_no_error (error);
  g_assert_true (hgd_journal_lookup_idempotency_key (journal, "user:anna", "idem-key-1",
                                                     G_GINT64_CONSTANT (1796602221847630) +
                                                       G_USEC_PER_SEC,
                                                     &alarm_ref, &fingerprint, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (alarm_ref, ==, "al-0001-fall");
  g_assert_cmpstr (fingerprint, ==, "fp-1234");
}

static void
test_migrate_new_journal_current (void)
{
  g_autofree gchar *dir = domain_dir ("personal");
  g_autofree gchar *db = g_build_filename (dir, "journal.db", NULL);
  g_autoptr(HgdJournal) journal = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A new journal is created at the current schema version");

  journal = hgd_journal_new (HG_DOMAIN_PERSONAL, dir, &error);
  g_assert_no_error (error);
  g_clear_object (&journal);
  g_assert_cmpint (read_version (db), ==, hgd_journal_get_schema_version ());
}

static void
test_migrate_failure_leaves_file (void)
{
  /* version 1 is the file's already; version 2 does part of its work, then fails */
  static const HgdSqliteMigration failing[] = {
    { "SELECT 1", NULL },
    { "CREATE TABLE half_done (a); INSERT INTO no_such_table VALUES (1)", NULL },
  };
  g_autofree gchar *dir = domain_dir ("municipal");
  g_autofree gchar *db = g_build_filename (dir, "journal.db", NULL);
  g_autofree gchar *before = NULL;
  g_autofree gchar *after = NULL;
  gsize before_length = 0;
  gsize after_length = 0;
  g_autoptr(HgdJournal) journal = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A journal whose migration fails is refused and left byte for byte as it "
                  "was; with a working migration it opens afterwards");

  load_dump ("journal-v1-municipal.sql", db);
  g_assert_true (g_file_get_contents (db, &before, &before_length, NULL));

  hgd_journal_set_migrations_for_test (failing, G_N_ELEMENTS (failing));
  journal = hgd_journal_new (HG_DOMAIN_MUNICIPAL, dir, &error);
  hgd_journal_set_migrations_for_test (NULL, 0);
  g_assert_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_IO);
  g_assert_null (journal);
  g_assert_nonnull (strstr (error->message, db));
  g_assert_nonnull (strstr (error->message, "cannot migrate the schema to version 2"));
  g_assert_true (g_file_get_contents (db, &after, &after_length, NULL));
  g_assert_cmpmem (before, before_length, after, after_length);
  g_assert_cmpint (read_version (db), ==, 1);
  g_clear_error (&error);

  journal = hgd_journal_new (HG_DOMAIN_MUNICIPAL, dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hgd_journal_get_last_seq (journal), ==, 9);
}

/* Whether @needle is in the journal's files (the database, its WAL). */
static gboolean
journal_files_contain (const gchar *dir,
                       const gchar *needle)
{
  static const gchar *const names[] = { "journal.db", "journal.db-wal" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree gchar *path = g_build_filename (dir, names[i], NULL);
      g_autofree gchar *contents = NULL;
      gsize length = 0;

      if (g_file_get_contents (path, &contents, &length, NULL) &&
          memmem (contents, length, needle, strlen (needle)) != NULL)
        return TRUE;
    }
  return FALSE;
}

static void
test_erase (Fixture *fixture,
            gconstpointer user_data)
{
  g_autoptr(HgAlarm) alarm = alarm_new_raised ();
  g_autoptr(HgEvent) raised = alarm_event_new (alarm);
  g_autoptr(HgEvent) later = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) alarms = NULL;
  guint64 last;

  g_test_summary ("Erasing deletes every event and alarm record, from the files too, keeps "
                  "the journal open and its sequence numbers going on, and holds after reopening");
  for (gint64 i = 0; i < 50; i++)
    {
      g_autoptr(JsonObject) body = json_object_new ();
      g_autoptr(HgEvent) event = NULL;

      json_object_set_string_member (body, "note", "erase-me-b41c");
      event = hg_event_new ("test.private", body);
      assert_append (fixture->journal, event, NULL);
    }
  assert_append (fixture->journal, raised, alarm);
  last = hgd_journal_get_last_seq (fixture->journal);
  g_assert_true (journal_files_contain (fixture->dir, "erase-me-b41c"));

  g_assert_true (hgd_journal_erase (fixture->journal, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_events (fixture->journal), ==, 0);
  alarms = hgd_journal_list_alarms (fixture->journal, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (alarms->len, ==, 0);
  g_assert_false (journal_files_contain (fixture->dir, "erase-me-b41c"));
  g_assert_false (journal_files_contain (fixture->dir, "bedroom"));

  later = event_new ("test.after", 1);
  assert_append (fixture->journal, later, NULL);
  g_assert_cmpuint (hg_event_get_seq (later), ==, last + 1);

  fixture_reopen (fixture);
  g_assert_cmpuint (count_events (fixture->journal), ==, 1);
  g_assert_cmpuint (hgd_journal_get_last_seq (fixture->journal), ==, last + 1);
  g_assert_false (journal_files_contain (fixture->dir, "erase-me-b41c"));
}

int
main (int argc,
      char **argv)
{
  if (argc == 3 && g_strcmp0 (argv[1], "--kill-writer") == 0)
    return run_kill_writer (argv[2]);

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_log_set_writer_func (test_log_writer_cb, NULL, NULL);

  g_test_add_func ("/journal/open/private-files", test_open_private_files);
  g_test_add_func ("/journal/open/tightens-lax-modes", test_open_tightens_modes);
  g_test_add_func ("/journal/open/corrupt-file-named", test_open_corrupt_file_named);
  g_test_add_func ("/journal/open/damaged-pages-named", test_open_damaged_pages_named);
  g_test_add_func ("/journal/open/foreign-database-refused", test_open_foreign_database_refused);
  g_test_add_func ("/journal/open/schemaless-database-refused", test_open_schemaless_database_refused);
  g_test_add_func ("/journal/open/newer-schema-refused", test_open_newer_schema_refused);
  g_test_add_func ("/journal/open/other-domain-refused", test_open_other_domain_refused);
  g_test_add_func ("/journal/migrate/previous-release-opens", test_migrate_previous_release);
  g_test_add_func ("/journal/migrate/new-journal-at-current-version",
                   test_migrate_new_journal_current);
  g_test_add_func ("/journal/migrate/failure-leaves-file-as-it-was",
                   test_migrate_failure_leaves_file);
  g_test_add ("/journal/append/stamps-seq-domain-time", Fixture, NULL, fixture_setup,
              test_append_stamps_event, fixture_teardown);
  g_test_add ("/journal/erase/everything-gone-seq-goes-on", Fixture, NULL, fixture_setup,
              test_erase, fixture_teardown);
  g_test_add ("/journal/append/seq-monotonic", Fixture, NULL, fixture_setup,
              test_append_seq_monotonic, fixture_teardown);
  g_test_add ("/journal/append/cancelled-before-queued-not-written", Fixture, NULL, fixture_setup,
              test_append_cancelled_not_written, fixture_teardown);
  g_test_add ("/journal/query/after-and-limit", Fixture, NULL, fixture_setup,
              test_query_after_limit, fixture_teardown);
  g_test_add ("/journal/alarm-recorded", Fixture, NULL, fixture_setup, test_alarm_recorded,
              fixture_teardown);
  g_test_add ("/journal/group/one-transaction", Fixture, NULL, fixture_setup,
              test_group_one_transaction, fixture_teardown);
  g_test_add ("/journal/lane/alarm-commits-before-queued-readings", Fixture, NULL, fixture_setup,
              test_lane_alarm_ahead_of_readings, fixture_teardown);
  g_test_add ("/journal/lane/alarm-does-not-wait-for-readings-being-committed", Fixture, NULL,
              fixture_setup, test_lane_alarm_during_readings, fixture_teardown);
  g_test_add_func ("/journal/lifetime/pending-appends-complete-after-unref",
                   test_lifetime_pending_complete);
  g_test_add ("/journal/lifetime/flush-after-pending-appends", Fixture, NULL, fixture_setup,
              test_lifetime_flush_after_pending, fixture_teardown);
  g_test_add ("/journal/alarm/recorded-with-its-event", Fixture, NULL, fixture_setup,
              test_alarm_recorded_with_event, fixture_teardown);
  g_test_add ("/journal/alarm/duplicate-reference-refused-alone", Fixture, NULL, fixture_setup,
              test_alarm_duplicate_atomic, fixture_teardown);
  g_test_add ("/journal/alarm/update-of-unknown-alarm-refused", Fixture, NULL, fixture_setup,
              test_alarm_update_unknown, fixture_teardown);
  g_test_add_func ("/journal/alarm/survives-kill", test_alarm_survives_kill);
  g_test_add ("/journal/disk-full/reported-and-recovers", Fixture, NULL, fixture_setup,
              test_disk_full, fixture_teardown);
  g_test_add ("/journal/retention/prunes-old-keeps-open-alarms/sync", Fixture, GINT_TO_POINTER (FALSE),
              fixture_setup, test_retention_keeps_open_alarms, fixture_teardown);
  g_test_add ("/journal/retention/prunes-old-keeps-open-alarms/async", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_retention_keeps_open_alarms, fixture_teardown);
  g_test_add ("/journal/retention/longest-prefix-wins", Fixture, NULL, fixture_setup,
              test_retention_longest_prefix, fixture_teardown);
  g_test_add ("/journal/size-budget/removes-readings-first-keeps-alarms", Fixture, NULL,
              fixture_setup, test_size_budget_keeps_alarms, fixture_teardown);
  g_test_add ("/journal/size-budget/then-other-events-never-alarms", Fixture, NULL,
              fixture_setup, test_size_budget_other_events_after_readings, fixture_teardown);
  g_test_add ("/journal/idempotency/key-kept-for-its-lifetime", Fixture, NULL, fixture_setup,
              test_idempotency_key_expires, fixture_teardown);
  g_test_add ("/journal/readings/by-device-and-hour", Fixture, NULL, fixture_setup,
              test_readings_by_device, fixture_teardown);
  g_test_add ("/journal/readings/index-added-to-existing-journal", Fixture, NULL, fixture_setup,
              test_readings_index_added, fixture_teardown);

  return g_test_run ();
}
