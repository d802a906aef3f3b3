/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Demo mode: makes sure the users resident, family, staff, admin, guardian and auditor exist,
 * each with a fresh password (or the one in HEMGATE_DEMO_PASSWORD), so the logins can be
 * printed. */
#include "config.h"

#include <sodium.h>

#include "hgd-demo.h"

static const struct
{
  const gchar *username;
  HgdRole role;
} demo_users[] = {
  { "resident", HGD_ROLE_RESIDENT },
  { "family", HGD_ROLE_FAMILY },
  { "staff", HGD_ROLE_STAFF },
  { "admin", HGD_ROLE_IT_ADMIN },
  { "guardian", HGD_ROLE_GUARDIAN },
  { "auditor", HGD_ROLE_AUDITOR },
};

static void
demo_login_free (HgdDemoLogin *login)
{
  sodium_memzero (login->password, strlen (login->password));
  g_free (login->password);
  g_free (login);
}

/* Easy to type from a printed line: 12 lower-case letters and digits, no look-alikes. */
static gchar *
random_password (void)
{
  static const gchar alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
  gchar *password = g_new0 (gchar, 13);

  for (guint i = 0; i < 12; i++)
    password[i] = alphabet[randombytes_uniform (sizeof (alphabet) - 1)];
  return password;
}

/**
 * hgd_demo_ensure_users:
 * @accounts: the accounts
 * @password: (nullable): one password for every demo user, or %NULL for random ones
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type HgdDemoLogin): the logins to print
 */
GPtrArray *
hgd_demo_ensure_users (HgdAccounts *accounts,
                       const gchar *password,
                       GError **error)
{
  g_autoptr(GPtrArray) logins = g_ptr_array_new_with_free_func ((GDestroyNotify) demo_login_free);

  if (sodium_init () < 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "libsodium failed to initialise");
      return NULL;
    }
  for (guint i = 0; i < G_N_ELEMENTS (demo_users); i++)
    {
      HgdDemoLogin *login = g_new0 (HgdDemoLogin, 1);
      gboolean ok;

      login->username = demo_users[i].username;
      login->role = demo_users[i].role;
      login->password = password != NULL ? g_strdup (password) : random_password ();
      g_ptr_array_add (logins, login);
      if (hgd_accounts_has_user (accounts, login->username))
        ok = hgd_accounts_set_password (accounts, login->username, login->password, error);
      else
        ok = hgd_accounts_add_user (accounts, login->username, login->role, login->password, error);
      if (!ok)
        {
          g_prefix_error (error, "demo user %s: ", login->username);
          return NULL;
        }
    }
  return g_steal_pointer (&logins);
}
