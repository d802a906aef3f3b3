/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdAccessEntry: an access-log entry and its place in the hash chain. The hash is
 * SHA-256 over a canonical serialization of every field but the hash itself, the previous
 * entry's hash included, so that changing, removing or reordering an entry breaks the
 * chain at that entry (HgdAccessLog, hgd_access_log_verify ()). */
#include "config.h"

#include <string.h>

#include "hgd-access-entry.h"

/* Bumped if the serialization ever changes; a verifier of another version says so. */
#define SERIALIZATION_TAG "hemgate-access-log-1\n"

HgdAccessEntry *
hgd_access_entry_new (HgDomain domain,
                      const gchar *actor,
                      const gchar *action,
                      const gchar *object,
                      JsonObject *detail)
{
  HgdAccessEntry *entry = g_new0 (HgdAccessEntry, 1);

  entry->domain = domain;
  entry->actor = g_strdup (actor != NULL ? actor : "unknown");
  entry->action = g_strdup (action);
  entry->object = g_strdup (object);
  entry->detail = detail != NULL ? hg_json_object_to_string (detail) : NULL;
  return entry;
}

void
hgd_access_entry_free (HgdAccessEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->actor);
  g_free (entry->action);
  g_free (entry->object);
  g_free (entry->detail);
  g_free (entry->prev_hash);
  g_free (entry->hash);
  g_free (entry);
}

/* Each field as its length, a colon and its bytes, so no two entries serialize alike;
 * an absent field is "-". */
static void
add_field (GChecksum *checksum,
           const gchar *value)
{
  g_autofree gchar *length = NULL;

  if (value == NULL)
    {
      g_checksum_update (checksum, (const guchar *) "-\n", 2);
      return;
    }
  length = g_strdup_printf ("%zu:", strlen (value));
  g_checksum_update (checksum, (const guchar *) length, -1);
  g_checksum_update (checksum, (const guchar *) value, -1);
  g_checksum_update (checksum, (const guchar *) "\n", 1);
}

/**
 * hgd_access_entry_compute_hash:
 * @entry: an entry with its seq, time and prev_hash set
 *
 * Returns: (transfer full): the lower-case hex SHA-256 that @entry's `hash` must hold
 */
gchar *
hgd_access_entry_compute_hash (const HgdAccessEntry *entry)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree gchar *seq = g_strdup_printf ("%" G_GUINT64_FORMAT, entry->seq);
  g_autofree gchar *time = g_strdup_printf ("%" G_GINT64_FORMAT, entry->time);

  g_checksum_update (checksum, (const guchar *) SERIALIZATION_TAG, -1);
  add_field (checksum, entry->prev_hash);
  add_field (checksum, seq);
  add_field (checksum, time);
  add_field (checksum, hg_domain_to_string (entry->domain));
  add_field (checksum, entry->actor);
  add_field (checksum, entry->action);
  add_field (checksum, entry->object);
  add_field (checksum, entry->detail);
  return g_strdup (g_checksum_get_string (checksum));
}

/**
 * hgd_access_entry_chain:
 * @entry: an entry with its time set
 * @prev_seq: the seq of the last entry of its domain, 0 for none
 * @prev_hash: (nullable): that entry's hash, %NULL for none
 *
 * Makes @entry the next one: sets its seq, prev_hash and hash.
 */
void
hgd_access_entry_chain (HgdAccessEntry *entry,
                        guint64 prev_seq,
                        const gchar *prev_hash)
{
  entry->seq = prev_seq + 1;
  g_free (entry->prev_hash);
  entry->prev_hash = g_strdup (prev_hash != NULL ? prev_hash : HGD_ACCESS_GENESIS_HASH);
  g_free (entry->hash);
  entry->hash = hgd_access_entry_compute_hash (entry);
}
