/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdKeyring: hemgated's own Secret Service, a gnome-keyring on a private bus, with one
 * collection per domain unlocked at start from a systemd credential or a key file. */
#pragma once

#include <hemgate-plugin.h>

G_BEGIN_DECLS

/**
 * HgdKeyringProtection:
 * @HGD_KEYRING_PROTECTION_NONE: the domain's keyring is not open (see its fault)
 * @HGD_KEYRING_PROTECTION_CREDENTIAL: unlocked with a systemd credential
 *   (`LoadCredentialEncrypted=`, sealed to the TPM2 or the host key)
 * @HGD_KEYRING_PROTECTION_KEY_FILE: unlocked with a key file under the state directory
 * @HGD_KEYRING_PROTECTION_TEST_KEYRING: the Secret Service of the session bus
 *   (`[secrets] service = session`: tests and development only)
 *
 * What keeps a domain's keyring closed to someone who has its file.
 */
typedef enum
{
  HGD_KEYRING_PROTECTION_NONE,
  HGD_KEYRING_PROTECTION_CREDENTIAL,
  HGD_KEYRING_PROTECTION_KEY_FILE,
  HGD_KEYRING_PROTECTION_TEST_KEYRING,
} HgdKeyringProtection;

const gchar *hgd_keyring_protection_to_string (HgdKeyringProtection protection);

#define HGD_TYPE_KEYRING (hgd_keyring_get_type ())
G_DECLARE_FINAL_TYPE (HgdKeyring, hgd_keyring, HGD, KEYRING, GObject)

HgdKeyring *hgd_keyring_new (const gchar *state_dir);
gboolean hgd_keyring_start (HgdKeyring *self,
                            GError **error);
void hgd_keyring_stop (HgdKeyring *self);
const gchar *hgd_keyring_get_collection (HgdKeyring *self,
                                         HgDomain domain);
const gchar *hgd_keyring_get_fault (HgdKeyring *self,
                                    HgDomain domain);
HgdKeyringProtection hgd_keyring_get_protection (HgdKeyring *self,
                                                 HgDomain domain);
gchar *hgd_keyring_dup_file (HgdKeyring *self,
                             HgDomain domain);

G_END_DECLS
