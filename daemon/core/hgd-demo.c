/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Demo mode: makes sure the users resident, family, staff, admin, guardian and auditor
 * exist, each with a password that can be printed: a fresh random one, or the one in
 * HEMGATE_DEMO_PASSWORD.
 *
 * Hashing a password costs an Argon2 run at the accounts' INTERACTIVE limits (tens of ms
 * and 64 MiB each), which made most of the demo's start. So the demo remembers what it
 * printed in <state-dir>/demo-logins (mode 0600: the demo's own passwords, in the clear,
 * beside the demo's accounts) with each user's stored hash; on the next start a user whose
 * stored hash is still the one recorded (nobody changed the password since) and whose
 * recorded password is still the one wanted keeps it, without hashing. The cost of the
 * hashes themselves is never lowered. */
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
/* The password recorded for @username if it still holds; else NULL. */
static gchar *
recorded_password (GKeyFile *record,
                   HgdAccounts *accounts,
                   const gchar *username,
                   const gchar *wanted)
{
  g_autofree gchar *recorded_hash = g_key_file_get_string (record, username, "hash", NULL);
  g_autofree gchar *hash = hgd_accounts_dup_password_hash (accounts, username);
  g_autofree gchar *recorded = g_key_file_get_string (record, username, "password", NULL);

  if (recorded_hash == NULL || hash == NULL || recorded == NULL ||
      g_strcmp0 (recorded_hash, hash) != 0 || (wanted != NULL && g_strcmp0 (wanted, recorded) != 0))
    {
      if (recorded != NULL)
        sodium_memzero (recorded, strlen (recorded));
      return NULL;
    }
  return g_steal_pointer (&recorded);
}

GPtrArray *
hgd_demo_ensure_users (HgdAccounts *accounts,
                       const gchar *password,
                       const gchar *state_dir,
                       GError **error)
{
  g_autoptr(GPtrArray) logins = g_ptr_array_new_with_free_func ((GDestroyNotify) demo_login_free);
  g_autoptr(GKeyFile) record = g_key_file_new ();
  g_autofree gchar *record_path
      = state_dir != NULL ? g_build_filename (state_dir, "demo-logins", NULL) : NULL;
  g_autofree gchar *record_text = NULL;
  gboolean changed = FALSE;

  if (sodium_init () < 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "libsodium failed to initialise");
      return NULL;
    }
  if (record_path != NULL)
    g_key_file_load_from_file (record, record_path, G_KEY_FILE_NONE, NULL); /* none yet */
  for (guint i = 0; i < G_N_ELEMENTS (demo_users); i++)
    {
      HgdDemoLogin *login = g_new0 (HgdDemoLogin, 1);
      g_autofree gchar *hash = NULL;
      gboolean ok;

      login->username = demo_users[i].username;
      login->role = demo_users[i].role;
      g_ptr_array_add (logins, login);
      login->password = recorded_password (record, accounts, login->username, password);
      if (login->password != NULL)
        continue;
      login->password = password != NULL ? g_strdup (password) : random_password ();
      if (hgd_accounts_has_user (accounts, login->username))
        ok = hgd_accounts_set_password (accounts, login->username, login->password, error);
      else
        ok = hgd_accounts_add_user (accounts, login->username, login->role, login->password, error);
      if (!ok)
        {
          g_prefix_error (error, "demo user %s: ", login->username);
          return NULL;
        }
      hash = hgd_accounts_dup_password_hash (accounts, login->username);
      g_key_file_set_string (record, login->username, "password", login->password);
      g_key_file_set_string (record, login->username, "hash", hash);
      changed = TRUE;
    }
  if (record_path != NULL && changed)
    {
      g_autoptr(GError) local_error = NULL;

      record_text = g_key_file_to_data (record, NULL, NULL);
      /* only a cost if it fails: the next start hashes again */
      if (!g_file_set_contents_full (record_path, record_text, -1,
                                     G_FILE_SET_CONTENTS_CONSISTENT, 0600, &local_error))
        g_warning ("demo logins not recorded: %s", local_error->message);
      sodium_memzero (record_text, strlen (record_text));
    }
  return g_steal_pointer (&logins);
}
