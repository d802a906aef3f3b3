/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdAccessEntry: one entry of the access log and the hash that chains it to the one
 * before; shared by the journal, which stores the chain, and HgdAccessLog, which checks it. */
#pragma once

#include <hemgate-plugin.h>

G_BEGIN_DECLS

/* The prev_hash of a domain's first entry. */
#define HGD_ACCESS_GENESIS_HASH "0000000000000000000000000000000000000000000000000000000000000000"

typedef struct
{
  guint64 seq;       /* 1, 2, 3, ... within its domain, without gaps */
  gint64 time;       /* microseconds since the epoch */
  HgDomain domain;
  gchar *actor;      /* (owned) "user:<name>", "plugin:<id>", "core" or "unknown" */
  gchar *action;     /* (owned) "login", "login.failed", "read.personal", "grant.made", ... */
  gchar *object;     /* (owned) (nullable) what was accessed, e.g. "grant:<id>" */
  gchar *detail;     /* (owned) (nullable) a JSON object, exactly as stored */
  gchar *prev_hash;  /* (owned) (nullable) until chained: the hash of entry seq - 1 */
  gchar *hash;       /* (owned) (nullable) until chained */
} HgdAccessEntry;

HgdAccessEntry *hgd_access_entry_new (HgDomain domain,
                                      const gchar *actor,
                                      const gchar *action,
                                      const gchar *object,
                                      JsonObject *detail);
void hgd_access_entry_free (HgdAccessEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgdAccessEntry, hgd_access_entry_free)

gchar *hgd_access_entry_compute_hash (const HgdAccessEntry *entry);
void hgd_access_entry_chain (HgdAccessEntry *entry,
                             guint64 prev_seq,
                             const gchar *prev_hash);

G_END_DECLS
