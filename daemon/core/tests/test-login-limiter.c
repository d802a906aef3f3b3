/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of HgdLoginLimiter: free failures, then doubling waits up to the window; a quiet
 * window forgets; failures taken back or forgiven; stale names swept out. */
#include "config.h"

#include <glib.h>

#include "hgd-login-limiter.h"

#define SEC G_USEC_PER_SEC
#define WINDOW 300

static void
test_free_then_doubling (void)
{
  g_autoptr(HgdLoginLimiter) limiter = hgd_login_limiter_new ();
  gint64 now = 1000 * SEC;

  g_test_summary ("The first failures are free; after them each failure doubles the wait "
                  "from the newest, 1, 2, 4 s, never more than the window");

  for (guint i = 1; i <= 3; i++)
    {
      g_assert_cmpuint (hgd_login_limiter_add (limiter, "anna\n192.0.2.1", now), ==, i);
      g_assert_cmpint (hgd_login_limiter_get_wait (limiter, "anna\n192.0.2.1", 3, WINDOW, now), ==,
                       i < 3 ? 0 : 1);
    }
  hgd_login_limiter_add (limiter, "anna\n192.0.2.1", now);
  g_assert_cmpint (hgd_login_limiter_get_wait (limiter, "anna\n192.0.2.1", 3, WINDOW, now), ==, 2);
  hgd_login_limiter_add (limiter, "anna\n192.0.2.1", now);
  g_assert_cmpint (hgd_login_limiter_get_wait (limiter, "anna\n192.0.2.1", 3, WINDOW, now), ==, 4);
  /* the wait runs from the newest failure */
  g_assert_cmpint (hgd_login_limiter_get_wait (limiter, "anna\n192.0.2.1", 3, WINDOW,
                                               now + 3 * SEC),
                   ==, 1);
  g_assert_cmpint (hgd_login_limiter_get_wait (limiter, "anna\n192.0.2.1", 3, WINDOW,
                                               now + 4 * SEC),
                   ==, 0);
  /* other names are not held up */
  g_assert_cmpint (hgd_login_limiter_get_wait (limiter, "bertil\n192.0.2.1", 3, WINDOW, now), ==,
                   0);

  for (guint i = 0; i < 40; i++)
    hgd_login_limiter_add (limiter, "anna\n192.0.2.1", now);
  g_assert_cmpint (hgd_login_limiter_get_wait (limiter, "anna\n192.0.2.1", 3, WINDOW, now), ==,
                   WINDOW);
}

static void
test_quiet_window_forgets (void)
{
  g_autoptr(HgdLoginLimiter) limiter = hgd_login_limiter_new ();
  gint64 now = 1000 * SEC;

  g_test_summary ("A whole window without failures forgets them all");

  for (guint i = 0; i < 10; i++)
    hgd_login_limiter_add (limiter, "192.0.2.1", now);
  g_assert_cmpint (hgd_login_limiter_get_wait (limiter, "192.0.2.1", 3, WINDOW, now), >, 0);
  g_assert_cmpint (hgd_login_limiter_get_wait (limiter, "192.0.2.1", 3, WINDOW,
                                               now + WINDOW * SEC),
                   ==, 0);
  g_assert_cmpuint (hgd_login_limiter_count (limiter, "192.0.2.1"), ==, 0);
  hgd_login_limiter_add (limiter, "192.0.2.1", now + WINDOW * SEC);
  g_assert_cmpuint (hgd_login_limiter_count (limiter, "192.0.2.1"), ==, 1);
}

static void
test_forget_and_remove (void)
{
  g_autoptr(HgdLoginLimiter) limiter = hgd_login_limiter_new ();

  g_test_summary ("A failure can be taken back by its time; a name's failures, or those of "
                  "every name with a prefix, forgiven");

  hgd_login_limiter_add (limiter, "anna\n192.0.2.1", 1 * SEC);
  hgd_login_limiter_add (limiter, "anna\n192.0.2.1", 2 * SEC);
  hgd_login_limiter_add (limiter, "anna\n192.0.2.2", 2 * SEC);
  hgd_login_limiter_add (limiter, "annika\n192.0.2.1", 2 * SEC);

  hgd_login_limiter_forget (limiter, "anna\n192.0.2.1", 1 * SEC);
  g_assert_cmpuint (hgd_login_limiter_count (limiter, "anna\n192.0.2.1"), ==, 1);
  hgd_login_limiter_forget (limiter, "anna\n192.0.2.1", 7 * SEC);
  g_assert_cmpuint (hgd_login_limiter_count (limiter, "anna\n192.0.2.1"), ==, 1);

  hgd_login_limiter_remove (limiter, "anna\n192.0.2.2");
  g_assert_cmpuint (hgd_login_limiter_count (limiter, "anna\n192.0.2.2"), ==, 0);

  hgd_login_limiter_add (limiter, "anna\n192.0.2.2", 3 * SEC);
  hgd_login_limiter_remove_prefix (limiter, "anna\n");
  g_assert_cmpuint (hgd_login_limiter_count (limiter, "anna\n192.0.2.1"), ==, 0);
  g_assert_cmpuint (hgd_login_limiter_count (limiter, "anna\n192.0.2.2"), ==, 0);
  g_assert_cmpuint (hgd_login_limiter_count (limiter, "annika\n192.0.2.1"), ==, 1);
}

static void
test_stale_names_swept (void)
{
  g_autoptr(HgdLoginLimiter) limiter = hgd_login_limiter_new ();
  gint64 now = 1000 * SEC;

  g_test_summary ("Once many names have failed, those whose failures all left the window are "
                  "dropped, so that made-up names cannot grow the table for ever");

  for (guint i = 0; i < 2048; i++)
    {
      g_autofree gchar *name = g_strdup_printf ("guess%u\n192.0.2.1", i);

      hgd_login_limiter_add (limiter, name, now);
    }
  hgd_login_limiter_add (limiter, "recent\n192.0.2.1", now + WINDOW * SEC);
  g_assert_cmpuint (hgd_login_limiter_count (limiter, "guess7\n192.0.2.1"), ==, 1);

  /* any look-up a window later sweeps */
  g_assert_cmpint (hgd_login_limiter_get_wait (limiter, "someone", 3, WINDOW,
                                               now + (WINDOW + 1) * SEC),
                   ==, 0);
  g_assert_cmpuint (hgd_login_limiter_count (limiter, "guess7\n192.0.2.1"), ==, 0);
  g_assert_cmpuint (hgd_login_limiter_count (limiter, "recent\n192.0.2.1"), ==, 1);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/login-limiter/free-failures-then-doubling-waits", test_free_then_doubling);
  g_test_add_func ("/login-limiter/quiet-window-forgets", test_quiet_window_forgets);
  g_test_add_func ("/login-limiter/forget-and-remove", test_forget_and_remove);
  g_test_add_func ("/login-limiter/stale-names-swept", test_stale_names_swept);
  return g_test_run ();
}
