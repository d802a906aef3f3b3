/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Demo mode: one user per role with printed passwords. */
#pragma once

#include "hgd-accounts.h"

G_BEGIN_DECLS

typedef struct
{
  const gchar *username;
  HgdRole role;
  gchar *password; /* (owned) */
} HgdDemoLogin;

GPtrArray *hgd_demo_ensure_users (HgdAccounts *accounts,
                                  const gchar *password,
                                  const gchar *state_dir,
                                  GError **error);

G_END_DECLS
