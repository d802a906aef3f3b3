/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdAccounts hooks for tests only: a movable clock and the dummy hash. */
#pragma once

#include "hgd-accounts.h"

G_BEGIN_DECLS

/* Moves this object's real and monotonic clocks forward, e.g. past a session's expiry. */
void hgd_accounts_advance_clock (HgdAccounts *self,
                                 gint64 seconds);
/* The hash verified for unknown user names, so that they cost as much as a wrong password. */
const gchar *hgd_accounts_get_dummy_hash (void);

G_END_DECLS
