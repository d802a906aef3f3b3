/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hemgated --add-user: a user made on the box itself, for the first it-admin of a fresh
 * install. */
#pragma once

#include "hgd-config.h"

G_BEGIN_DECLS

int hgd_add_user_run (HgdConfig *config,
                      const gchar *username,
                      const gchar *role_name);

G_END_DECLS
