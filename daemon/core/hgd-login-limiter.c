/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdLoginLimiter: the failed logins of each name within a window, kept in memory; after a
 * number of free failures a name waits 1, 2, 4, ... seconds from its newest, at most the
 * window. HgdAccounts keeps one by user name and client, and one by client. Times are
 * monotonic microseconds, given by the caller. */
#include "config.h"

#include "hgd-login-limiter.h"

/* Stale names are swept out once the table has this many, at the least. */
#define SWEEP_MIN 1024

struct _HgdLoginLimiter
{
  GHashTable *times; /* (owned) name → GArray of gint64 monotonic usec, oldest first */
  guint sweep_at;    /* drop stale names when the table grows to this size */
};

/**
 * hgd_login_limiter_new:
 *
 * Returns: (transfer full): a limiter with no failures
 */
HgdLoginLimiter *
hgd_login_limiter_new (void)
{
  HgdLoginLimiter *self = g_new0 (HgdLoginLimiter, 1);

  self->times = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify) g_array_unref);
  self->sweep_at = SWEEP_MIN;
  return self;
}

/**
 * hgd_login_limiter_free:
 * @self: (transfer full): a limiter
 */
void
hgd_login_limiter_free (HgdLoginLimiter *self)
{
  g_hash_table_unref (self->times);
  g_free (self);
}

/* Forgets all the failures once the newest is at or before @since (no failure for a
 * whole window); returns how many are left. */
static guint
prune_times (GArray *times,
             gint64 since)
{
  if (times->len > 0 && g_array_index (times, gint64, times->len - 1) <= since)
    g_array_set_size (times, 0);
  return times->len;
}

/* Names are attacker-chosen, so forget those whose failures all left the window once the
 * table has doubled since the last sweep: the cost per attempt stays constant. */
static void
sweep (HgdLoginLimiter *self,
       gint64 since)
{
  GHashTableIter iter;
  GArray *times;

  if (g_hash_table_size (self->times) < self->sweep_at)
    return;
  g_hash_table_iter_init (&iter, self->times);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &times))
    {
      if (prune_times (times, since) == 0)
        g_hash_table_iter_remove (&iter);
    }
  self->sweep_at = MAX (SWEEP_MIN, 2 * g_hash_table_size (self->times));
}

/**
 * hgd_login_limiter_get_wait:
 * @self: a limiter
 * @name: who tries
 * @attempts: how many failures are free
 * @window: seconds
 * @now: monotonic microseconds
 *
 * The first @attempts failures are free (typing errors); after them each failure doubles
 * the wait from the newest one: 1, 2, 4, ... seconds, at most the window. A window
 * without failures forgets them all.
 *
 * Returns: how many seconds until @name may try again; 0 if it may now
 */
gint64
hgd_login_limiter_get_wait (HgdLoginLimiter *self,
                            const gchar *name,
                            guint attempts,
                            gint64 window,
                            gint64 now)
{
  gint64 window_usec = window * G_USEC_PER_SEC;
  GArray *times;
  gint64 delay;
  gint64 free_at;
  guint excess;

  sweep (self, now - window_usec);
  times = g_hash_table_lookup (self->times, name);
  if (times == NULL)
    return 0;
  if (prune_times (times, now - window_usec) == 0)
    {
      g_hash_table_remove (self->times, name);
      return 0;
    }
  if (times->len < attempts)
    return 0;
  excess = times->len - attempts;
  delay = excess >= 30 ? window : MIN (window, (gint64) 1 << excess);
  free_at = g_array_index (times, gint64, times->len - 1) + delay * G_USEC_PER_SEC;
  if (free_at <= now)
    return 0;
  return MAX (1, (free_at - now + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC);
}

/**
 * hgd_login_limiter_add:
 * @self: a limiter
 * @name: who failed
 * @when: monotonic microseconds
 *
 * Returns: how many failures @name has now
 */
guint
hgd_login_limiter_add (HgdLoginLimiter *self,
                       const gchar *name,
                       gint64 when)
{
  GArray *times = g_hash_table_lookup (self->times, name);

  if (times == NULL)
    {
      times = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_hash_table_insert (self->times, g_strdup (name), times);
    }
  g_array_append_val (times, when);
  return times->len;
}

/**
 * hgd_login_limiter_forget:
 * @self: a limiter
 * @name: who tried
 * @when: the time given to hgd_login_limiter_add()
 *
 * Takes back one failure recorded at @when: the attempt did not fail after all.
 */
void
hgd_login_limiter_forget (HgdLoginLimiter *self,
                          const gchar *name,
                          gint64 when)
{
  GArray *times = g_hash_table_lookup (self->times, name);

  for (guint i = 0; times != NULL && i < times->len; i++)
    {
      if (g_array_index (times, gint64, i) == when)
        {
          g_array_remove_index (times, i);
          break;
        }
    }
  if (times != NULL && times->len == 0)
    g_hash_table_remove (self->times, name);
}

/**
 * hgd_login_limiter_count:
 * @self: a limiter
 * @name: who tried
 *
 * Returns: how many failures of @name are recorded, stale ones too until swept
 */
guint
hgd_login_limiter_count (HgdLoginLimiter *self,
                         const gchar *name)
{
  GArray *times = g_hash_table_lookup (self->times, name);

  return times != NULL ? times->len : 0;
}

/**
 * hgd_login_limiter_remove:
 * @self: a limiter
 * @name: who tried
 *
 * Forgives all of @name's failures.
 */
void
hgd_login_limiter_remove (HgdLoginLimiter *self,
                          const gchar *name)
{
  g_hash_table_remove (self->times, name);
}

/**
 * hgd_login_limiter_remove_prefix:
 * @self: a limiter
 * @prefix: the start of names
 *
 * Forgives the failures of every name that starts with @prefix.
 */
void
hgd_login_limiter_remove_prefix (HgdLoginLimiter *self,
                                 const gchar *prefix)
{
  GHashTableIter iter;
  const gchar *name;

  g_hash_table_iter_init (&iter, self->times);
  while (g_hash_table_iter_next (&iter, (gpointer *) &name, NULL))
    {
      if (g_str_has_prefix (name, prefix))
        g_hash_table_iter_remove (&iter);
    }
}
