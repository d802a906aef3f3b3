/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Benchmark of HgdJournal: durable alarm raises per second with 1, 16 and 64 in flight
 * (each one fsynced before it completes; group commit shares the fsyncs), and ordinary
 * events per second when many are submitted at once. Prints a table. */
#include "config.h"

#include <stdio.h>
#include <sys/statfs.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "hg-test-support.h"
#include "hgd-alarms.h"

typedef struct
{
  const gchar *name;
  guint in_flight;
  guint n_ops;
  guint n_failed;
  gdouble seconds;
  GArray *latencies; /* (element-type gint64) microseconds per operation, if measured */
} Row;

static void
row_clear (Row *row)
{
  g_clear_pointer (&row->latencies, g_array_unref);
}

static HgdJournal *
journal_open (const gchar *base,
              const gchar *name)
{
  g_autofree gchar *dir = g_build_filename (base, name, NULL);
  g_autoptr(GError) error = NULL;
  HgdJournal *journal = hgd_journal_new (HG_DOMAIN_MUNICIPAL, dir, &error);

  if (journal == NULL)
    {
      g_printerr ("bench-journal: %s\n", error->message);
      exit (1);
    }
  return journal;
}

/* durable alarm raises */

typedef struct
{
  HgdAlarms *alarms;
  Row *row;
  guint started;
  guint finished;
} AlarmRun;

typedef struct
{
  AlarmRun *run;
  gint64 start;
} AlarmOp;

static void alarm_start (AlarmRun *run);

static void
alarm_raised_cb (GObject *source_object,
                 GAsyncResult *result,
                 gpointer user_data)
{
  g_autofree AlarmOp *op = user_data;
  AlarmRun *run = op->run;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *reference = hgd_alarms_raise_finish (HGD_ALARMS (source_object), result, &error);
  gint64 latency = g_get_monotonic_time () - op->start;

  if (reference == NULL)
    {
      g_printerr ("bench-journal: %s\n", error->message);
      run->row->n_failed++;
    }
  g_array_append_val (run->row->latencies, latency);
  run->finished++;
  if (run->started < run->row->n_ops)
    alarm_start (run);
}

static void
alarm_start (AlarmRun *run)
{
  g_autoptr(HgAlarm) alarm = hg_alarm_new ("fall");
  AlarmOp *op = g_new0 (AlarmOp, 1);

  hg_alarm_set_location (alarm, "bedroom");
  hg_alarm_set_device (alarm, "pendant-1");
  op->run = run;
  op->start = g_get_monotonic_time ();
  run->started++;
  hgd_alarms_raise_async (run->alarms, alarm, "plugin:bench", NULL, alarm_raised_cb, op);
}

static void
bench_alarms (const gchar *base,
              Row *row)
{
  g_autofree gchar *name = g_strdup_printf ("alarms-%u", row->in_flight);
  g_autoptr(HgdJournal) journal = journal_open (base, name);
  g_autoptr(HgdAlarms) alarms = hgd_alarms_new (journal);
  AlarmRun run = { .alarms = alarms, .row = row };
  gint64 start;

  row->latencies = g_array_sized_new (FALSE, FALSE, sizeof (gint64), row->n_ops);
  start = g_get_monotonic_time ();
  for (guint i = 0; i < row->in_flight && run.started < row->n_ops; i++)
    alarm_start (&run);
  while (run.finished < row->n_ops)
    g_main_context_iteration (NULL, TRUE);
  row->seconds = (gdouble) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
}

/* ordinary events, submitted all at once */

typedef struct
{
  Row *row;
  guint finished;
} EventRun;

static void
event_appended_cb (GObject *source_object,
                   GAsyncResult *result,
                   gpointer user_data)
{
  EventRun *run = user_data;
  g_autoptr(GError) error = NULL;

  if (!hgd_journal_append_finish (HGD_JOURNAL (source_object), result, &error))
    {
      g_printerr ("bench-journal: %s\n", error->message);
      run->row->n_failed++;
    }
  run->finished++;
}

/* The events are built first: building 100k json-glib objects is the producer's cost and
 * is reported on its own line, so that the journal's row measures the journal. */
static void
bench_events (const gchar *base,
              Row *row,
              Row *build_row)
{
  g_autoptr(HgdJournal) journal = journal_open (base, "events");
  g_autoptr(GPtrArray) events = g_ptr_array_new_full (row->n_ops, g_object_unref);
  EventRun run = { .row = row };
  gint64 start;

  start = g_get_monotonic_time ();
  for (guint i = 0; i < row->n_ops; i++)
    {
      g_autoptr(JsonObject) body = json_object_new ();
      HgEvent *event;

      json_object_set_string_member (body, "device", "hallway-motion");
      json_object_set_boolean_member (body, "occupancy", i % 2 == 0);
      json_object_set_int_member (body, "battery", 97);
      json_object_set_int_member (body, "linkquality", 132);
      event = hg_event_new ("sensor.reading", body);
      hg_event_set_source (event, "plugin:zigbee");
      g_ptr_array_add (events, event);
    }
  build_row->seconds = (gdouble) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;

  start = g_get_monotonic_time ();
  for (guint i = 0; i < row->n_ops; i++)
    hgd_journal_append_async (journal, g_ptr_array_index (events, i), NULL, NULL,
                              event_appended_cb, &run);
  while (run.finished < row->n_ops)
    g_main_context_iteration (NULL, TRUE);
  row->seconds = (gdouble) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
}

/* reporting */

static gint
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a;
  gint64 y = *(const gint64 *) b;

  return (x > y) - (x < y);
}

static gdouble
percentile_ms (GArray *latencies,
               gdouble fraction)
{
  guint index;

  if (latencies == NULL || latencies->len == 0)
    return 0;
  index = MIN ((guint) (fraction * latencies->len), latencies->len - 1);
  return (gdouble) g_array_index (latencies, gint64, index) / 1000.0;
}

static const gchar *
filesystem_name (const gchar *path)
{
  struct statfs st;

  if (statfs (path, &st) != 0)
    return "unknown";
  switch ((guint32) st.f_type)
    {
    case 0xEF53:
      return "ext4";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x01021994:
      return "tmpfs (fsync is free: not representative)";
    case 0x794C7630:
      return "overlayfs";
    default:
      return "other";
    }
}

/* The 1, 5 and 15 minute load averages, as /proc/loadavg gives them. */
static const gchar *
load_average (void)
{
  static gchar text[64] = "unknown";
  g_autofree gchar *contents = NULL;
  g_auto(GStrv) fields = NULL;

  if (!g_file_get_contents ("/proc/loadavg", &contents, NULL, NULL))
    return text;
  fields = g_strsplit (contents, " ", 4);
  if (g_strv_length (fields) >= 3)
    g_snprintf (text, sizeof (text), "%s %s %s", fields[0], fields[1], fields[2]);
  return text;
}

static void
remove_tree (const gchar *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const gchar *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

int
main (int argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *base = NULL;
  g_autofree gchar *parent = NULL;
  gint n_alarms = 2000;
  gint n_events = 100000;
  gboolean keep = FALSE;
  const GOptionEntry entries[] = {
    { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &parent,
      "Make the journals in a new folder here (default: the current directory)", "DIR" },
    { "alarms", 'a', 0, G_OPTION_ARG_INT, &n_alarms, "Alarms raised per in-flight depth", "N" },
    { "events", 'e', 0, G_OPTION_ARG_INT, &n_events, "Ordinary events submitted at once", "N" },
    { "keep", 'k', 0, G_OPTION_ARG_NONE, &keep, "Keep the journals afterwards", NULL },
    { NULL },
  };
  Row rows[] = {
    { "durable alarm raise", 1, 0 },
    { "durable alarm raise", 16, 0 },
    { "durable alarm raise", 64, 0 },
    { "ordinary events, batched", 0, 0 },
    { "(building those events)", 0, 0 },
  };

  context = g_option_context_new ("- measure the hemgate event journal");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-journal: %s\n", error->message);
      return 1;
    }
  if (n_alarms < 1 || n_events < 1)
    {
      g_printerr ("bench-journal: --alarms and --events must be at least 1\n");
      return 1;
    }
  g_log_set_writer_func (hg_test_quiet_log_writer_cb, NULL, NULL);

  base = g_build_filename (parent != NULL ? parent : ".", "bench-journal-XXXXXX", NULL);
  if (g_mkdtemp (base) == NULL)
    {
      g_printerr ("bench-journal: cannot create %s: %s\n", base, g_strerror (errno));
      return 1;
    }

  for (guint i = 0; i < 3; i++)
    {
      rows[i].n_ops = (guint) n_alarms;
      bench_alarms (base, &rows[i]);
    }
  rows[3].n_ops = rows[4].n_ops = (guint) n_events;
  rows[3].in_flight = (guint) n_events;
  bench_events (base, &rows[3], &rows[4]);

  g_print ("hemgate journal benchmark: SQLite %s, WAL, synchronous=FULL, in %s (%s)\n",
           sqlite3_libversion (), base, filesystem_name (base));
  g_print ("%u CPUs, load average %s (other work on the machine skews the figures)\n",
           g_get_num_processors (), load_average ());
  g_print ("%-26s %9s %8s %8s %10s %8s %8s\n", "test", "in-flight", "ops", "seconds", "ops/s",
           "p50 ms", "p99 ms");
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      Row *row = &rows[i];

      if (row->latencies != NULL)
        g_array_sort (row->latencies, compare_gint64);
      g_print ("%-26s %9u %8u %8.3f %10.0f", row->name, row->in_flight, row->n_ops, row->seconds,
               row->n_ops / row->seconds);
      if (row->latencies != NULL)
        g_print (" %8.2f %8.2f", percentile_ms (row->latencies, 0.50),
                 percentile_ms (row->latencies, 0.99));
      else
        g_print (" %8s %8s", "-", "-");
      g_print ("%s\n", row->n_failed > 0 ? "  (failures!)" : "");
      row_clear (row);
    }
  g_print ("targets: durable alarm commits >= 1000/s; ordinary events >= 50000/s batched\n");

  if (!keep)
    remove_tree (base);
  return 0;
}
