/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdAccounts hooks for tests only: a movable clock, the dummy hash and the schema steps. */
#pragma once

#include "hgd-accounts.h"
#include "hgd-sqlite.h"

G_BEGIN_DECLS

/* Moves this object's real and monotonic clocks forward, e.g. past a session's expiry. */
void hgd_accounts_advance_clock (HgdAccounts *self,
                                 gint64 seconds);
/* The hash verified for unknown user names, so that they cost as much as a wrong password. */
const gchar *hgd_accounts_get_dummy_hash (void);

/* The schema version of an accounts file this code writes (the number of its migrations). */
guint hgd_accounts_get_schema_version (void);
/* Files opened from now on are migrated with @migrations instead of the real steps; %NULL
 * restores them. */
void hgd_accounts_set_migrations_for_test (const HgdSqliteMigration *migrations,
                                           guint n_migrations);

G_END_DECLS
