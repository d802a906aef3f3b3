/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdLoginLimiter: recent failed logins by name (a user name and client, or a client), and
 * how long a name waits before its next try. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _HgdLoginLimiter HgdLoginLimiter;

HgdLoginLimiter *hgd_login_limiter_new (void);
void hgd_login_limiter_free (HgdLoginLimiter *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgdLoginLimiter, hgd_login_limiter_free)

gint64 hgd_login_limiter_get_wait (HgdLoginLimiter *self,
                                   const gchar *name,
                                   guint attempts,
                                   gint64 window,
                                   gint64 now);
guint hgd_login_limiter_add (HgdLoginLimiter *self,
                             const gchar *name,
                             gint64 when);
void hgd_login_limiter_forget (HgdLoginLimiter *self,
                               const gchar *name,
                               gint64 when);
guint hgd_login_limiter_count (HgdLoginLimiter *self,
                               const gchar *name);
void hgd_login_limiter_remove (HgdLoginLimiter *self,
                               const gchar *name);
void hgd_login_limiter_remove_prefix (HgdLoginLimiter *self,
                                      const gchar *prefix);

G_END_DECLS
