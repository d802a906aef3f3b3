/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdAccessLog: the access log of each domain, what the resident (personal) and the
 * auditor (municipal) read to see who looked at what: every login and failed login,
 * every read of personal data by a municipal user or plugin, every grant made or revoked,
 * video visits and night checks, export and erasure.
 *
 * Append-only and tamper-evident: each entry carries the SHA-256 of a canonical form of
 * itself and of the entry before it (hgd-access-entry.c), so that changing, removing or
 * reordering an entry on disk breaks the chain at that entry, and the last entry's hash
 * is kept apart from the entries, so that cutting the log short shows too. The chain
 * lives in each domain's journal file, in a table of its own (hgd-journal-file.c, schema
 * version 3) written only by the journal's worker, which chains an entry in the
 * transaction that inserts it; it is not made of journal events, which are sent to the
 * event streams and removed by retention and the size budget. Whoever can write the file
 * can also rewrite the whole chain from some entry on: the log shows edits made without
 * hemgated, it does not prevent them.
 *
 * The chain is verified at start and by hgd_access_log_verify (); a broken chain is a
 * fault of the domain's access log that health reports. */
#include "config.h"

#include "hgd-access-log.h"

#define VERIFY_CHUNK 512

struct _HgdAccessLog
{
  GObject parent_instance;
  HgdJournal *journals[HG_DOMAIN_LAST]; /* (owned) (nullable) a journal that failed to open */
  gulong appended_id;                   /* on the personal journal: grants */
  gchar *faults[HG_DOMAIN_LAST];        /* (owned) (nullable) why a chain is broken */
  guint n_pending;                      /* appends not yet on disk */
};

G_DEFINE_TYPE (HgdAccessLog, hgd_access_log, G_TYPE_OBJECT)

static void
hgd_access_log_dispose (GObject *object)
{
  HgdAccessLog *self = HGD_ACCESS_LOG (object);

  if (self->journals[HG_DOMAIN_PERSONAL] != NULL)
    g_clear_signal_handler (&self->appended_id, self->journals[HG_DOMAIN_PERSONAL]);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    g_clear_object (&self->journals[i]);
  G_OBJECT_CLASS (hgd_access_log_parent_class)->dispose (object);
}

static void
hgd_access_log_finalize (GObject *object)
{
  HgdAccessLog *self = HGD_ACCESS_LOG (object);

  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    g_free (self->faults[i]);
  G_OBJECT_CLASS (hgd_access_log_parent_class)->finalize (object);
}

static void
hgd_access_log_class_init (HgdAccessLogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hgd_access_log_dispose;
  object_class->finalize = hgd_access_log_finalize;
}

static void
hgd_access_log_init (HgdAccessLog *self)
{
}

/* Grants are made and revoked as events of the personal journal (HgdGrants): each one is
 * logged once it is on disk, with who did it. */
static void
personal_event_appended_cb (HgdJournal *journal,
                            HgEvent *event,
                            gpointer user_data)
{
  HgdAccessLog *self = HGD_ACCESS_LOG (user_data);
  const gchar *type = hg_event_get_event_type (event);
  JsonObject *body = hg_event_get_body (event);
  g_autoptr(JsonObject) detail = NULL;
  g_autofree gchar *object = NULL;
  const gchar *actor;

  if (g_strcmp0 (type, "grant.made") != 0 && g_strcmp0 (type, "grant.revoked") != 0)
    return;
  actor = json_object_get_string_member_with_default (
      body, g_str_equal (type, "grant.made") ? "made_by" : "revoked_by", NULL);
  if (json_object_has_member (body, "id"))
    object = g_strdup_printf ("grant:%s", json_object_get_string_member_with_default (body, "id", ""));
  detail = json_object_new ();
  if (json_object_has_member (body, "kind"))
    json_object_set_string_member (detail, "kind",
                                   json_object_get_string_member_with_default (body, "kind", ""));
  if (json_object_has_member (body, "grantee"))
    json_object_set_string_member (detail, "grantee",
                                   json_object_get_string_member_with_default (body, "grantee", ""));
  hgd_access_log_record (self, HG_DOMAIN_PERSONAL, actor, type, object, detail);
}

static void
set_fault (HgdAccessLog *self,
           HgDomain domain,
           const gchar *fault)
{
  if (g_strcmp0 (self->faults[domain], fault) == 0)
    return;
  if (fault != NULL)
    g_warning ("the %s access log is broken: %s", hg_domain_to_string (domain), fault);
  else if (self->faults[domain] != NULL)
    g_message ("the %s access log verifies again", hg_domain_to_string (domain));
  g_free (self->faults[domain]);
  self->faults[domain] = g_strdup (fault);
}

/**
 * hgd_access_log_new:
 * @journals: %HG_DOMAIN_LAST journals indexed by #HgDomain, each (nullable)
 *
 * Verifies each domain's chain (see hgd_access_log_get_fault ()) and starts watching the
 * personal journal for grants.
 *
 * Returns: (transfer full): a new #HgdAccessLog
 */
HgdAccessLog *
hgd_access_log_new (HgdJournal *const *journals)
{
  HgdAccessLog *self = g_object_new (HGD_TYPE_ACCESS_LOG, NULL);

  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      guint64 n = 0;
      guint64 bad = 0;
      const gchar *problem = NULL;
      g_autofree gchar *reason = NULL;
      g_autoptr(GError) error = NULL;

      if (journals[i] == NULL)
        continue;
      self->journals[i] = g_object_ref (journals[i]);
      if (!hgd_access_log_verify (self, i, &n, &bad, &problem, &reason, &error))
        set_fault (self, i, error->message);
    }
  if (self->journals[HG_DOMAIN_PERSONAL] != NULL)
    self->appended_id = g_signal_connect (self->journals[HG_DOMAIN_PERSONAL], "event-appended",
                                          G_CALLBACK (personal_event_appended_cb), self);
  return self;
}

static void
appended_cb (GObject *source,
             GAsyncResult *result,
             gpointer user_data)
{
  g_autoptr(HgdAccessLog) self = user_data;
  g_autoptr(HgdAccessEntry) entry = NULL;
  g_autoptr(GError) error = NULL;

  self->n_pending--;
  entry = hgd_journal_append_access_finish (HGD_JOURNAL (source), result, &error);
  if (entry == NULL)
    g_warning ("the %s access log lost an entry: %s",
               hg_domain_to_string (hgd_journal_get_domain (HGD_JOURNAL (source))), error->message);
}

/**
 * hgd_access_log_record:
 * @self: an #HgdAccessLog
 * @domain: whose log: the personal one for what concerns the resident's data
 * @actor: (nullable): who, "user:<name>", "plugin:<id>" or "core"; %NULL for "unknown"
 * @action: what they did: "login", "login.failed", "read.personal", "grant.made",
 *   "grant.revoked", "video-visit", "night-check", "export", "erase", ...
 * @object: (nullable): what they did it to, e.g. "sensors", "grant:<id>"
 * @detail: (nullable): more, as a small JSON object; never a password or token
 *
 * Appends an entry to @domain's access log. It is on disk after the journal's next
 * commit; a failure to write it is logged, as it cannot be answered to anyone.
 */
void
hgd_access_log_record (HgdAccessLog *self,
                       HgDomain domain,
                       const gchar *actor,
                       const gchar *action,
                       const gchar *object,
                       JsonObject *detail)
{
  g_return_if_fail (HGD_IS_ACCESS_LOG (self));
  g_return_if_fail ((guint) domain < HG_DOMAIN_LAST);
  g_return_if_fail (action != NULL && *action != '\0');

  if (self->journals[domain] == NULL)
    {
      g_warning ("the %s access log cannot record %s: the domain has no journal",
                 hg_domain_to_string (domain), action);
      return;
    }
  self->n_pending++;
  hgd_journal_append_access_async (self->journals[domain],
                                   hgd_access_entry_new (domain, actor, action, object, detail),
                                   NULL, appended_cb, g_object_ref (self));
}

/**
 * hgd_access_log_list:
 * @self: an #HgdAccessLog
 * @domain: whose log
 * @before: only entries with a smaller seq; 0 for the newest
 * @limit: at most this many; 0 for all
 * @error: return location for a #GError
 *
 * Waits until what was recorded before is on disk, then reads.
 *
 * Returns: (transfer container) (element-type HgdAccessEntry): the entries, newest first
 */
GPtrArray *
hgd_access_log_list (HgdAccessLog *self,
                     HgDomain domain,
                     guint64 before,
                     guint limit,
                     GError **error)
{
  g_return_val_if_fail (HGD_IS_ACCESS_LOG (self), NULL);
  g_return_val_if_fail ((guint) domain < HG_DOMAIN_LAST, NULL);

  if (self->journals[domain] == NULL)
    {
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_IO,
                   "the %s domain has no journal", hg_domain_to_string (domain));
      return NULL;
    }
  hgd_journal_sync (self->journals[domain]);
  return hgd_journal_query_access (self->journals[domain], 0, before, limit, TRUE, error);
}

/* The first thing wrong with @entry after @prev_hash, or NULL. */
static const gchar *
check_entry (const HgdAccessEntry *entry,
             guint64 expected_seq,
             const gchar *prev_hash,
             guint64 *bad_seq,
             gchar **reason)
{
  g_autofree gchar *computed = NULL;

  if (entry->seq != expected_seq)
    {
      *bad_seq = expected_seq;
      *reason = g_strdup_printf ("entry %" G_GUINT64_FORMAT " is missing", expected_seq);
      return "missing";
    }
  if (g_strcmp0 (entry->prev_hash, prev_hash) != 0)
    {
      *bad_seq = entry->seq;
      *reason = g_strdup_printf ("entry %" G_GUINT64_FORMAT " does not follow the entry before "
                                 "it: entries were reordered or replaced",
                                 entry->seq);
      return "out-of-order";
    }
  computed = hgd_access_entry_compute_hash (entry);
  if (g_strcmp0 (computed, entry->hash) != 0)
    {
      *bad_seq = entry->seq;
      *reason = g_strdup_printf ("entry %" G_GUINT64_FORMAT " was changed", entry->seq);
      return "changed";
    }
  return NULL;
}

/**
 * hgd_access_log_verify:
 * @self: an #HgdAccessLog
 * @domain: whose log
 * @n_entries: (out): how many entries were checked
 * @bad_seq: (out): the first entry that is wrong, 0 when the chain is intact
 * @problem: (out) (transfer none) (nullable): what is wrong with it, %NULL when intact:
 *   "missing" (removed, or the log cut short), "out-of-order" (reordered or replaced),
 *   "changed" (an entry's content differs from its hash), "unexpected" (entries after the
 *   last one hemgated wrote)
 * @reason: (out) (transfer full) (nullable): the same in an English sentence, for logs
 * @error: return location for a #GError
 *
 * Walks @domain's chain from its first entry, checking each entry's seq, its link to the
 * one before and its hash, then the last entry against the head kept apart. Sets or
 * clears the domain's fault (hgd_access_log_get_fault ()).
 *
 * Returns: %FALSE only if the log could not be read
 */
gboolean
hgd_access_log_verify (HgdAccessLog *self,
                       HgDomain domain,
                       guint64 *n_entries,
                       guint64 *bad_seq,
                       const gchar **problem,
                       gchar **reason,
                       GError **error)
{
  HgdJournal *journal;
  g_autofree gchar *prev_hash = g_strdup (HGD_ACCESS_GENESIS_HASH);
  g_autofree gchar *head_hash = NULL;
  guint64 last = 0;
  guint64 head_seq = 0;

  g_return_val_if_fail (HGD_IS_ACCESS_LOG (self), FALSE);
  g_return_val_if_fail ((guint) domain < HG_DOMAIN_LAST, FALSE);

  *n_entries = 0;
  *bad_seq = 0;
  *problem = NULL;
  *reason = NULL;
  journal = self->journals[domain];
  if (journal == NULL)
    {
      g_set_error (error, HGD_JOURNAL_ERROR, HGD_JOURNAL_ERROR_IO,
                   "the %s domain has no journal", hg_domain_to_string (domain));
      return FALSE;
    }
  hgd_journal_sync (journal);
  for (;;)
    {
      g_autoptr(GPtrArray) chunk = hgd_journal_query_access (journal, last, 0, VERIFY_CHUNK, FALSE, error);

      if (chunk == NULL)
        return FALSE;
      for (guint i = 0; i < chunk->len && *problem == NULL; i++)
        {
          const HgdAccessEntry *entry = g_ptr_array_index (chunk, i);

          *problem = check_entry (entry, last + 1, prev_hash, bad_seq, reason);
          if (*problem != NULL)
            break;
          last = entry->seq;
          g_free (prev_hash);
          prev_hash = g_strdup (entry->hash);
          (*n_entries)++;
        }
      if (*problem != NULL || chunk->len < VERIFY_CHUNK)
        break;
    }

  if (*problem == NULL)
    {
      if (!hgd_journal_get_access_head (journal, &head_seq, &head_hash, error))
        return FALSE;
      if (head_seq > last)
        {
          *bad_seq = last + 1;
          *problem = "missing";
          *reason = g_strdup_printf ("entries %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
                                     " are missing: the log was cut short",
                                     last + 1, head_seq);
        }
      else if (head_seq < last || (last > 0 && g_strcmp0 (head_hash, prev_hash) != 0))
        {
          *bad_seq = head_seq < last ? head_seq + 1 : last;
          *problem = "unexpected";
          *reason = g_strdup_printf ("entry %" G_GUINT64_FORMAT " was not written by hemgated",
                                     *bad_seq);
        }
    }
  set_fault (self, domain, *reason);
  return TRUE;
}

/**
 * hgd_access_log_get_fault:
 * @self: an #HgdAccessLog
 * @domain: whose log
 *
 * Returns: (nullable): why @domain's chain is broken, naming the first bad entry, as
 *   found at start or by the last hgd_access_log_verify (); %NULL while it is intact
 */
const gchar *
hgd_access_log_get_fault (HgdAccessLog *self,
                          HgDomain domain)
{
  g_return_val_if_fail (HGD_IS_ACCESS_LOG (self), NULL);
  g_return_val_if_fail ((guint) domain < HG_DOMAIN_LAST, NULL);
  return self->faults[domain];
}

/**
 * hgd_access_log_get_n_pending:
 * @self: an #HgdAccessLog
 *
 * Returns: how many recorded entries are not yet on disk
 */
guint
hgd_access_log_get_n_pending (HgdAccessLog *self)
{
  g_return_val_if_fail (HGD_IS_ACCESS_LOG (self), 0);
  return self->n_pending;
}
