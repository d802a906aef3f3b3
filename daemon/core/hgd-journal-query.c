/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The reads of HgdJournal: events, sensor readings, alarms and idempotency keys, on the
 * main thread's read-only connection (hgd-journal-file.c opens it). */
#include "config.h"

#include "hgd-journal-internal.h"

/* reading, on the main thread */

static sqlite3_stmt *
reader_prepare (HgdJournal *self,
                const gchar *sql,
                GError **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (self->reader, sql, -1, &stmt, NULL);

  if (rc != SQLITE_OK)
    {
      hgd_sqlite_set_error (error, &hgd_journal_store, self->reader, rc, self->path, "cannot read");
      return NULL;
    }
  return stmt;
}

/* A statement prepared once on the reader into @slot, reset for its next use. The caller
 * resets it again when done with it, so that no read transaction stays open. */
static sqlite3_stmt *
reader_prepare_cached (HgdJournal *self,
                       sqlite3_stmt **slot,
                       const gchar *sql,
                       GError **error)
{
  int rc;

  if (*slot != NULL)
    return *slot;
  rc = sqlite3_prepare_v3 (self->reader, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
  if (rc != SQLITE_OK)
    {
      hgd_sqlite_set_error (error, &hgd_journal_store, self->reader, rc, self->path, "cannot read");
      return NULL;
    }
  return *slot;
}

/* The bytes the journal's pages hold (not its free pages), as last committed. Each PRAGMA
 * is prepared once: page_count and freelist_count are read when stepped; page_size is
 * fixed once the journal is in WAL mode. (The table-valued pragma_*() functions would
 * prepare their PRAGMA again on every step.) */
gboolean
hgd_journal_reader_get_used_bytes (HgdJournal *self,
                                   gint64 *used,
                                   GError **error)
{
  static const gchar *const pragmas[] = { "PRAGMA page_count", "PRAGMA freelist_count",
                                          "PRAGMA page_size" };
  gint64 values[G_N_ELEMENTS (pragmas)] = { 0 };

  G_STATIC_ASSERT (G_N_ELEMENTS (pragmas) == G_N_ELEMENTS (self->used_stmt));
  for (guint i = 0; i < G_N_ELEMENTS (pragmas); i++)
    {
      sqlite3_stmt *stmt = reader_prepare_cached (self, &self->used_stmt[i], pragmas[i], error);
      int rc;

      if (stmt == NULL)
        return FALSE;
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        values[i] = sqlite3_column_int64 (stmt, 0);
      sqlite3_reset (stmt);
      if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        {
          hgd_sqlite_set_error (error, &hgd_journal_store, self->reader, rc, self->path,
                                "cannot read the page count");
          return FALSE;
        }
    }
  *used = MAX (values[0] - values[1], 0) * values[2];
  return TRUE;
}

static HgEvent *
event_from_row (HgdJournal *self,
                sqlite3_stmt *stmt,
                GError **error)
{
  guint64 seq = (guint64) sqlite3_column_int64 (stmt, 0);
  const gchar *type = (const gchar *) sqlite3_column_text (stmt, 1);
  const gchar *source = (const gchar *) sqlite3_column_text (stmt, 3);
  const gchar *text = (const gchar *) sqlite3_column_text (stmt, 4);
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(GError) error_local = NULL;
  HgEvent *event;

  if (!hg_event_type_is_valid (type))
    {
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT,
                   "journal %s: event %" G_GUINT64_FORMAT " has an invalid type", self->path, seq);
      return NULL;
    }
  body = hg_json_parse_object (text != NULL ? text : "", -1, 0, &error_local);
  if (body == NULL)
    {
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT,
                   "journal %s: event %" G_GUINT64_FORMAT ": %s", self->path, seq,
                   error_local->message);
      return NULL;
    }
  event = hg_event_new (type, body);
  hg_event_set_seq (event, seq);
  hg_event_set_domain (event, self->domain);
  hg_event_set_timestamp (event, sqlite3_column_int64 (stmt, 2));
  hg_event_set_source (event, source);
  return event;
}

/* Steps @stmt (seq, type, ts, source, body) to its end, one HgEvent per row. */
static GPtrArray *
collect_events (HgdJournal *self,
                sqlite3_stmt *stmt,
                const gchar *what,
                GError **error)
{
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func (g_object_unref);
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      HgEvent *event = event_from_row (self, stmt, error);
      if (event == NULL)
        return NULL;
      g_ptr_array_add (events, event);
    }
  if (rc != SQLITE_DONE)
    {
      g_autofree gchar *message = g_strdup_printf ("cannot read %s", what);
      hgd_sqlite_set_error (error, &hgd_journal_store, self->reader, rc, self->path, message);
      return NULL;
    }
  return g_steal_pointer (&events);
}

/**
 * hgd_journal_query_events:
 * @self: an #HgdJournal
 * @after: return events with a larger sequence number than this
 * @limit: at most this many, or 0 for all
 * @error: return location for a #GError
 *
 * Returns: (transfer container) (element-type HgEvent): the events in sequence order
 */
GPtrArray *
hgd_journal_query_events (HgdJournal *self,
                          guint64 after,
                          guint limit,
                          GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = reader_prepare (self,
                         "SELECT seq, type, ts, source, body FROM events WHERE seq > ?1 "
                         "ORDER BY seq LIMIT ?2",
                         error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) MIN (after, (guint64) G_MAXINT64));
  sqlite3_bind_int64 (stmt, 2, limit > 0 ? (sqlite3_int64) limit : -1);
  return collect_events (self, stmt, "events", error);
}

/**
 * hgd_journal_query_alarm_events:
 * @self: an #HgdJournal
 * @after: return events with a larger sequence number than this
 * @error: return location for a #GError
 *
 * The events journaled with an alarm record (`alarm.raised` and every later state), by
 * the journal's index on the alarm reference.
 *
 * Returns: (transfer container) (element-type HgEvent): the events in sequence order
 */
GPtrArray *
hgd_journal_query_alarm_events (HgdJournal *self,
                                guint64 after,
                                GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = reader_prepare (self,
                         "SELECT seq, type, ts, source, body FROM events WHERE alarm_ref IS NOT NULL "
                         "AND seq > ?1 ORDER BY seq",
                         error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) MIN (after, (guint64) G_MAXINT64));
  return collect_events (self, stmt, "alarm events", error);
}

/**
 * hgd_journal_query_events_of_type:
 * @self: an #HgdJournal
 * @type: the exact event type, e.g. `visit.ended`
 * @since: the earliest journal time, microseconds since the epoch
 * @before: return events with a smaller sequence number than this, or 0 for any
 * @limit: at most this many, or 0 for all
 * @error: return location for a #GError
 *
 * The events of one type, by the journal's index on the type, for the few records a
 * route serves page by page (e.g. the visits of GET /api/v1/visits).
 *
 * Returns: (transfer container) (element-type HgEvent): the events, newest first
 */
GPtrArray *
hgd_journal_query_events_of_type (HgdJournal *self,
                                  const gchar *type,
                                  gint64 since,
                                  guint64 before,
                                  guint limit,
                                  GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), NULL);
  g_return_val_if_fail (type != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = reader_prepare (self,
                         "SELECT seq, type, ts, source, body FROM events WHERE type = ?1 "
                         "AND ts >= ?2 AND seq < ?3 ORDER BY seq DESC LIMIT ?4",
                         error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, type, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, since);
  sqlite3_bind_int64 (stmt, 3, before > 0 ? (sqlite3_int64) MIN (before, (guint64) G_MAXINT64)
                                           : G_MAXINT64);
  sqlite3_bind_int64 (stmt, 4, limit > 0 ? (sqlite3_int64) limit : -1);
  return collect_events (self, stmt, type, error);
}

/**
 * hgd_journal_query_readings:
 * @self: an #HgdJournal
 * @device: the `device` member of the readings' bodies
 * @since: the earliest journal time, microseconds since the epoch
 * @limit: at most this many, or 0 for all
 * @error: return location for a #GError
 *
 * The `sensor.reading` events of one device, by the journal's index on the device.
 *
 * Returns: (transfer container) (element-type HgEvent): the readings, oldest first
 */
GPtrArray *
hgd_journal_query_readings (HgdJournal *self,
                            const gchar *device,
                            gint64 since,
                            guint limit,
                            GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), NULL);
  g_return_val_if_fail (device != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = reader_prepare (self,
                         "SELECT seq, type, ts, source, body FROM events WHERE " SQL_IS_READING
                         " AND " SQL_READING_DEVICE " = ?1 AND ts >= ?2 ORDER BY ts, seq LIMIT ?3",
                         error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, device, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, since);
  sqlite3_bind_int64 (stmt, 3, limit > 0 ? (sqlite3_int64) limit : -1);
  return collect_events (self, stmt, "readings", error);
}

/**
 * hgd_journal_count_readings:
 * @self: an #HgdJournal
 * @device: the `device` member of the readings' bodies
 * @since: the start of the first bucket, microseconds since the epoch
 * @bucket: the length of each bucket, microseconds
 * @n_buckets: how many buckets
 * @error: return location for a #GError
 *
 * Counts one device's `sensor.reading` events in @n_buckets consecutive buckets from
 * @since, e.g. per hour over 7 days for the activity summary.
 *
 * Returns: (transfer full) (element-type guint): @n_buckets counts, oldest first
 */
GArray *
hgd_journal_count_readings (HgdJournal *self,
                            const gchar *device,
                            gint64 since,
                            gint64 bucket,
                            guint n_buckets,
                            GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GArray) counts = NULL;
  int rc;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), NULL);
  g_return_val_if_fail (device != NULL, NULL);
  g_return_val_if_fail (bucket > 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  counts = g_array_sized_new (FALSE, TRUE, sizeof (guint), n_buckets);
  g_array_set_size (counts, n_buckets);
  stmt = reader_prepare (self,
                         "SELECT (ts - ?2) / ?3, count(*) FROM events WHERE " SQL_IS_READING
                         " AND " SQL_READING_DEVICE " = ?1 AND ts >= ?2 AND ts < ?2 + ?3 * ?4 GROUP BY 1",
                         error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, device, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, since);
  sqlite3_bind_int64 (stmt, 3, bucket);
  sqlite3_bind_int64 (stmt, 4, n_buckets);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 i = sqlite3_column_int64 (stmt, 0);
      if (i >= 0 && i < n_buckets)
        g_array_index (counts, guint, i) = (guint) sqlite3_column_int64 (stmt, 1);
    }
  if (rc != SQLITE_DONE)
    {
      hgd_sqlite_set_error (error, &hgd_journal_store, self->reader, rc, self->path,
                            "cannot count readings");
      return NULL;
    }
  return g_steal_pointer (&counts);
}

/* The latest reading of each (device, kind), walking events_by_reading_kind: each step of
 * the two recursive tables and each latest row is one index seek, so the cost grows with
 * the number of devices and kinds, not with the number of readings. */
#define SQL_READINGS_BY_KIND "events INDEXED BY events_by_reading_kind WHERE " SQL_IS_READING
static const gchar latest_readings_sql[] =
  "WITH RECURSIVE"
  " devices (device) AS ("
  "  SELECT (SELECT " SQL_READING_DEVICE " FROM " SQL_READINGS_BY_KIND " AND " SQL_READING_DEVICE
  " IS NOT NULL ORDER BY " SQL_READING_DEVICE " LIMIT 1)"
  "  UNION ALL"
  "  SELECT (SELECT " SQL_READING_DEVICE " FROM " SQL_READINGS_BY_KIND " AND " SQL_READING_DEVICE
  " > devices.device ORDER BY " SQL_READING_DEVICE " LIMIT 1) FROM devices WHERE device IS NOT NULL),"
  " kinds (device, kind) AS ("
  "  SELECT device, (SELECT " SQL_READING_KIND " FROM " SQL_READINGS_BY_KIND " AND " SQL_READING_DEVICE
  " = devices.device AND " SQL_READING_KIND " IS NOT NULL ORDER BY " SQL_READING_KIND " LIMIT 1)"
  "  FROM devices WHERE device IS NOT NULL"
  "  UNION ALL"
  "  SELECT device, (SELECT " SQL_READING_KIND " FROM " SQL_READINGS_BY_KIND " AND " SQL_READING_DEVICE
  " = kinds.device AND " SQL_READING_KIND " > kinds.kind ORDER BY " SQL_READING_KIND " LIMIT 1)"
  "  FROM kinds WHERE kind IS NOT NULL)"
  " SELECT e.seq, e.type, e.ts, e.source, e.body FROM kinds JOIN events e ON e.seq = ("
  "  SELECT seq FROM " SQL_READINGS_BY_KIND " AND " SQL_READING_DEVICE " = kinds.device AND "
  SQL_READING_KIND " = kinds.kind ORDER BY ts DESC LIMIT 1)"
  " WHERE kinds.kind IS NOT NULL ORDER BY kinds.device, kinds.kind";

/**
 * hgd_journal_query_latest_readings:
 * @self: an #HgdJournal
 * @error: return location for a #GError
 *
 * The newest `sensor.reading` event of each device and kind still in the journal, however
 * long ago it was journaled: the device list of the domain.
 *
 * Returns: (transfer container) (element-type HgEvent): the readings, by device, then kind
 */
GPtrArray *
hgd_journal_query_latest_readings (HgdJournal *self,
                                   GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = reader_prepare (self, latest_readings_sql, error);
  if (stmt == NULL)
    return NULL;
  return collect_events (self, stmt, "latest readings", error);
}

/* Columns as SQL_ALARM_READ. */
static HgAlarm *
alarm_from_row (HgdJournal *self,
                sqlite3_stmt *stmt,
                GError **error)
{
  const gchar *ref = (const gchar *) sqlite3_column_text (stmt, 0);
  const gchar *type = (const gchar *) sqlite3_column_text (stmt, 1);
  const gchar *state_str = (const gchar *) sqlite3_column_text (stmt, 2);
  const gchar *detail_str = (const gchar *) sqlite3_column_text (stmt, 7);
  g_autoptr(HgAlarm) alarm = NULL;
  HgAlarmState state;

  if (!hg_alarm_type_is_valid (type) || !hg_alarm_state_from_string (state_str, &state))
    {
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT,
                   "journal %s: alarm %s has an invalid type or state", self->path, ref);
      return NULL;
    }
  alarm = hg_alarm_new (type);
  hg_alarm_set_reference (alarm, ref);
  hg_alarm_set_state (alarm, state);
  hg_alarm_set_source (alarm, (const gchar *) sqlite3_column_text (stmt, 3));
  hg_alarm_set_device (alarm, (const gchar *) sqlite3_column_text (stmt, 4));
  hg_alarm_set_location (alarm, (const gchar *) sqlite3_column_text (stmt, 5));
  hg_alarm_set_priority (alarm, (guint) CLAMP (sqlite3_column_int64 (stmt, 6), 0, 9));
  hg_alarm_set_times (alarm, sqlite3_column_int64 (stmt, 8), sqlite3_column_int64 (stmt, 9));
  if (detail_str != NULL)
    {
      g_autoptr(GError) error_local = NULL;
      g_autoptr(JsonObject) detail = hg_json_parse_object (detail_str, -1, 0, &error_local);

      if (detail == NULL)
        {
          g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT,
                       "journal %s: alarm %s: %s", self->path, ref, error_local->message);
          return NULL;
        }
      hg_alarm_set_detail (alarm, detail);
    }
  return g_steal_pointer (&alarm);
}

/**
 * hgd_journal_list_alarms:
 * @self: an #HgdJournal
 * @open_only: only alarms not yet closed or cancelled
 * @error: return location for a #GError
 *
 * Returns: (transfer container) (element-type HgAlarm): the alarms, oldest first
 */
GPtrArray *
hgd_journal_list_alarms (HgdJournal *self,
                         gboolean open_only,
                         GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GPtrArray) alarms = g_ptr_array_new_with_free_func (g_object_unref);
  int rc;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = reader_prepare (self,
                         open_only ? "SELECT " SQL_ALARM_READ
                                     " FROM alarms WHERE " SQL_ALARM_IS_OPEN " ORDER BY raised_seq"
                                   : "SELECT " SQL_ALARM_READ " FROM alarms ORDER BY raised_seq",
                         error);
  if (stmt == NULL)
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      HgAlarm *alarm = alarm_from_row (self, stmt, error);
      if (alarm == NULL)
        return NULL;
      g_ptr_array_add (alarms, alarm);
    }
  if (rc != SQLITE_DONE)
    {
      hgd_sqlite_set_error (error, &hgd_journal_store, self->reader, rc, self->path,
                            "cannot read alarms");
      return NULL;
    }
  return g_steal_pointer (&alarms);
}

/**
 * hgd_journal_count_alarms_in_state:
 * @self: an #HgdJournal
 * @state: an alarm state
 * @error: return location for a #GError
 *
 * Counts the alarms now in @state (one index lookup, alarms_by_state), e.g. for health.
 *
 * Returns: the count, or -1 with @error set
 */
gint64
hgd_journal_count_alarms_in_state (HgdJournal *self, HgAlarmState state, GError **error)
{
  sqlite3_stmt *stmt;
  gint64 count;
  int rc;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), -1);
  g_return_val_if_fail ((guint)state < HG_ALARM_STATE_LAST, -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  stmt = reader_prepare_cached (self, &self->state_count_stmt,
                                "SELECT count(*) FROM alarms WHERE state = ?1", error);
  if (stmt == NULL)
    return -1;
  sqlite3_bind_text (stmt, 1, hg_alarm_state_to_string (state), -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      hgd_sqlite_set_error (error, &hgd_journal_store, self->reader, rc, self->path,
                            "cannot count alarms");
      sqlite3_reset (stmt);
      return -1;
    }
  count = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  return count;
}

/**
 * hgd_journal_get_alarm:
 * @self: an #HgdJournal
 * @reference: the alarm's reference
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the alarm as last committed, or %NULL with
 *   %HGD_JOURNAL_ERROR_NOT_FOUND
 */
HgAlarm *
hgd_journal_get_alarm (HgdJournal *self,
                       const gchar *reference,
                       GError **error)
{
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), NULL);
  g_return_val_if_fail (reference != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* prepared once: every step of every alarm reads its record (hgd-alarms.c,
   * hgd-own-alarms.c) */
  stmt = reader_prepare_cached (self, &self->alarm_stmt,
                                "SELECT " SQL_ALARM_READ " FROM alarms WHERE ref = ?1", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, reference, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      HgAlarm *alarm = alarm_from_row (self, stmt, error);

      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      return alarm;
    }
  if (rc != SQLITE_DONE)
    hgd_sqlite_set_error (error, &hgd_journal_store, self->reader, rc, self->path,
                          "cannot read alarms");
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  if (rc != SQLITE_DONE)
    return NULL;
  g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_NOT_FOUND,
               "journal %s: no alarm with reference %s", self->path, reference);
  return NULL;
}

/**
 * hgd_journal_lookup_idempotency_key:
 * @self: an #HgdJournal
 * @scope: who sent @key
 * @key: an idempotency key
 * @now: the time now, in microseconds since the epoch; keys older than
 *   %HGD_JOURNAL_IDEMPOTENCY_KEY_LIFETIME are not found
 * @alarm_ref: (out) (optional) (nullable) (transfer full): the alarm raised with @key, or
 *   %NULL if @key is not recorded
 * @fingerprint: (out) (optional) (nullable) (transfer full): what that request asked
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success, even if @key is not recorded; %FALSE if the journal could not
 *   be read
 */
gboolean
hgd_journal_lookup_idempotency_key (HgdJournal *self,
                                    const gchar *scope,
                                    const gchar *key,
                                    gint64 now,
                                    gchar **alarm_ref,
                                    gchar **fingerprint,
                                    GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), FALSE);
  g_return_val_if_fail (scope != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (alarm_ref != NULL)
    *alarm_ref = NULL;
  if (fingerprint != NULL)
    *fingerprint = NULL;
  stmt = reader_prepare (self,
                         "SELECT alarm_ref, fingerprint FROM idempotency_keys "
                         "WHERE scope = ?1 AND key = ?2 AND ts >= ?3",
                         error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, scope, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, key, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, now - HGD_JOURNAL_IDEMPOTENCY_KEY_LIFETIME);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      if (alarm_ref != NULL)
        *alarm_ref = g_strdup ((const gchar *) sqlite3_column_text (stmt, 0));
      if (fingerprint != NULL)
        *fingerprint = g_strdup ((const gchar *) sqlite3_column_text (stmt, 1));
      return TRUE;
    }
  if (rc != SQLITE_DONE)
    {
      hgd_sqlite_set_error (error, &hgd_journal_store, self->reader, rc, self->path,
                            "cannot read idempotency keys");
      return FALSE;
    }
  return TRUE;
}

/* the access log */

/**
 * hgd_journal_query_access:
 * @self: an #HgdJournal
 * @after: only entries with a larger seq than this
 * @before: only entries with a smaller seq than this; 0 for no bound
 * @limit: at most this many; 0 for all
 * @newest_first: in descending order of seq, else ascending
 * @error: return location for a #GError
 *
 * The access log's entries as stored, unchecked (hgd_access_log_verify () checks them).
 *
 * Returns: (transfer container) (element-type HgdAccessEntry): the entries, or %NULL
 */
GPtrArray *
hgd_journal_query_access (HgdJournal *self,
                          guint64 after,
                          guint64 before,
                          guint limit,
                          gboolean newest_first,
                          GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) hgd_access_entry_free);
  int rc;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = reader_prepare (self,
                         newest_first
                             ? "SELECT seq, ts, actor, action, object, detail, prev_hash, hash FROM "
                               "access_log WHERE seq > ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
                             : "SELECT seq, ts, actor, action, object, detail, prev_hash, hash FROM "
                               "access_log WHERE seq > ?1 AND seq < ?2 ORDER BY seq LIMIT ?3",
                         error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) MIN (after, (guint64) G_MAXINT64));
  sqlite3_bind_int64 (stmt, 2, before > 0 ? (sqlite3_int64) MIN (before, (guint64) G_MAXINT64)
                                          : G_MAXINT64);
  sqlite3_bind_int64 (stmt, 3, limit > 0 ? (sqlite3_int64) limit : -1);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      HgdAccessEntry *entry = g_new0 (HgdAccessEntry, 1);

      entry->seq = (guint64) sqlite3_column_int64 (stmt, 0);
      entry->time = sqlite3_column_int64 (stmt, 1);
      entry->domain = self->domain;
      entry->actor = g_strdup ((const gchar *) sqlite3_column_text (stmt, 2));
      entry->action = g_strdup ((const gchar *) sqlite3_column_text (stmt, 3));
      entry->object = g_strdup ((const gchar *) sqlite3_column_text (stmt, 4));
      entry->detail = g_strdup ((const gchar *) sqlite3_column_text (stmt, 5));
      entry->prev_hash = g_strdup ((const gchar *) sqlite3_column_text (stmt, 6));
      entry->hash = g_strdup ((const gchar *) sqlite3_column_text (stmt, 7));
      g_ptr_array_add (entries, entry);
    }
  if (rc != SQLITE_DONE)
    {
      hgd_sqlite_set_error (error, &hgd_journal_store, self->reader, rc, self->path,
                            "cannot read the access log");
      return NULL;
    }
  return g_steal_pointer (&entries);
}

/**
 * hgd_journal_get_access_head:
 * @self: an #HgdJournal
 * @seq: (out): the seq of the last entry the access log was given, 0 for none
 * @hash: (out) (transfer full) (nullable): its hash, %NULL for none
 * @error: return location for a #GError
 *
 * What the writer recorded as the access log's last entry, apart from the entries
 * themselves, so that a log cut short shows.
 *
 * Returns: %FALSE on a read error or an unreadable record
 */
gboolean
hgd_journal_get_access_head (HgdJournal *self,
                             guint64 *seq,
                             gchar **hash,
                             GError **error)
{
  g_autofree gchar *value = NULL;
  g_auto(GStrv) parts = NULL;

  g_return_val_if_fail (HGD_IS_JOURNAL (self), FALSE);

  *seq = 0;
  *hash = NULL;
  if (!hgd_sqlite_query_text (self->reader, &hgd_journal_store, self->path,
                              "SELECT value FROM meta WHERE key = 'access-head'", &value,
                              "cannot read the access log's head", error))
    return FALSE;
  if (value == NULL)
    return TRUE;
  parts = g_strsplit (value, ":", 2);
  if (g_strv_length (parts) != 2 ||
      !g_ascii_string_to_unsigned (parts[0], 10, 1, G_MAXINT64, seq, NULL))
    {
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_CORRUPT,
                   "journal %s: the access log's head record is unreadable", self->path);
      return FALSE;
    }
  *hash = g_strdup (parts[1]);
  return TRUE;
}
