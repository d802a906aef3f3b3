/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What only tests may do to an HgdJournal: make its file "fill up" like a full disk, hold
 * its worker so that appends queue up, and change its schema steps. */
#pragma once

#include "hgd-journal.h"
#include "hgd-sqlite.h"

G_BEGIN_DECLS

/* Caps the database at its current size plus @extra_pages pages (PRAGMA max_page_count on
 * the write connection), so appends that need more space fail with SQLITE_FULL as on a full
 * disk; a negative @extra_pages lifts the cap. Runs on the worker between two batches and
 * returns once it is in effect. */
void hgd_journal_cap_size_for_test (HgdJournal *self,
                                    gint64 extra_pages);

/* Holds the worker between two jobs and returns once it is held; what is appended
 * meanwhile queues up until hgd_journal_release_for_test (). Once per journal. */
void hgd_journal_hold_for_test (HgdJournal *self);
void hgd_journal_release_for_test (HgdJournal *self);

/* The schema version of a journal this code writes (the number of its migrations). */
guint hgd_journal_get_schema_version (void);
/* Journals opened from now on are migrated with @migrations instead of the real steps;
 * %NULL restores them. */
void hgd_journal_set_migrations_for_test (const HgdSqliteMigration *migrations,
                                          guint n_migrations);

G_END_DECLS
