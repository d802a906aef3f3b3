/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hgd-tls: loads the API's certificate, or makes a self-signed ECDSA P-256 one on first
 * start in <state-dir>/tls/ (directory 0700, key 0600) and reuses it afterwards. */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sys/stat.h>
#include <time.h>

#include "hgd-tls.h"

#include "hgd-secrets.h"

#define CERTIFICATE_NAME "hemgate.crt"
#define KEY_NAME "hemgate.key"
#define VALIDITY_YEARS 10

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_x509_privkey_t, gnutls_x509_privkey_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_x509_crt_t, gnutls_x509_crt_deinit, NULL)

static void
datum_clear (gnutls_datum_t *datum)
{
  g_clear_pointer (&datum->data, gnutls_free);
  datum->size = 0;
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (gnutls_datum_t, datum_clear)

static gboolean
check_gnutls (int rc,
              const gchar *what,
              GError **error)
{
  if (rc >= 0)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", what, gnutls_strerror (rc));
  return FALSE;
}

static gboolean
add_san_ip (gnutls_x509_crt_t crt,
            const gchar *address,
            GError **error)
{
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (address);

  return check_gnutls (gnutls_x509_crt_set_subject_alt_name (
                           crt, GNUTLS_SAN_IPADDRESS, g_inet_address_to_bytes (inet),
                           (unsigned)g_inet_address_get_native_size (inet), GNUTLS_FSAN_APPEND),
                       "subject alternative name", error);
}

static gboolean
add_san_dns (gnutls_x509_crt_t crt,
             const gchar *name,
             GError **error)
{
  return check_gnutls (gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_DNSNAME, name,
                                                             (unsigned) strlen (name),
                                                             GNUTLS_FSAN_APPEND),
                       "subject alternative name", error);
}

/* A self-signed server certificate: CN=hemgate, SAN localhost, 127.0.0.1, ::1 and the
 * host name, valid for ten years. */
static gboolean
generate (gnutls_datum_t *certificate_pem,
          gnutls_datum_t *key_pem,
          GError **error)
{
  g_auto(gnutls_x509_privkey_t) key = NULL;
  g_auto(gnutls_x509_crt_t) crt = NULL;
  guint8 serial[16];
  guint8 key_id[64];
  size_t key_id_size = sizeof (key_id);
  const gchar *hostname = g_get_host_name ();
  time_t now = time (NULL);
  const gchar *cn = "hemgate";

  if (!check_gnutls (gnutls_x509_privkey_init (&key), "private key", error)
      || !check_gnutls (
          gnutls_x509_privkey_generate2 (
              key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0, NULL, 0),
          "generating an ECDSA P-256 key", error)
      || !check_gnutls (gnutls_x509_crt_init (&crt), "certificate", error)
      || !check_gnutls (gnutls_rnd (GNUTLS_RND_NONCE, serial, sizeof (serial)), "serial number",
                        error))
    return FALSE;
  serial[0] &= 0x7f; /* a positive integer */
  if (!check_gnutls (gnutls_x509_crt_set_version (crt, 3), "certificate version", error)
      || !check_gnutls (gnutls_x509_crt_set_serial (crt, serial, sizeof (serial)), "serial number",
                        error)
      || !check_gnutls (gnutls_x509_crt_set_activation_time (crt, now - 24 * 3600),
                        "activation time", error)
      || !check_gnutls (
          gnutls_x509_crt_set_expiration_time (crt, now + (time_t)VALIDITY_YEARS * 365 * 24 * 3600),
          "expiration time", error)
      || !check_gnutls (gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
                                                       (unsigned)strlen (cn)),
                        "common name", error)
      || !check_gnutls (gnutls_x509_crt_set_key (crt, key), "certificate key", error)
      || !add_san_dns (crt, "localhost", error) || !add_san_ip (crt, "127.0.0.1", error)
      || !add_san_ip (crt, "::1", error))
    return FALSE;
  if (hostname != NULL && *hostname != '\0' && g_strcmp0 (hostname, "localhost") != 0 &&
      !add_san_dns (crt, hostname, error))
    return FALSE;
  if (!check_gnutls (gnutls_x509_crt_set_basic_constraints (crt, 0, -1), "basic constraints", error)
      || !check_gnutls (gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_DIGITAL_SIGNATURE),
                        "key usage", error)
      || !check_gnutls (gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_SERVER, 0),
                        "key purpose", error)
      || !check_gnutls (gnutls_x509_crt_get_key_id (crt, 0, key_id, &key_id_size), "key id", error)
      || !check_gnutls (gnutls_x509_crt_set_subject_key_id (crt, key_id, key_id_size),
                        "subject key id", error)
      || !check_gnutls (gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0),
                        "signing the certificate", error)
      || !check_gnutls (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, certificate_pem),
                        "exporting the certificate", error)
      || !check_gnutls (gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL,
                                                           GNUTLS_PKCS_PLAIN, key_pem),
                        "exporting the key", error))
    return FALSE;
  return TRUE;
}

static gboolean
ensure_private_directory (const gchar *directory,
                          GError **error)
{
  if (g_mkdir_with_parents (directory, 0700) != 0 || g_chmod (directory, 0700) != 0)
    {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   "%s: %s", directory, g_strerror (errsv));
      return FALSE;
    }
  return TRUE;
}

/**
 * hgd_tls_ensure_self_signed:
 * @directory: where the certificate and key live, created 0700 if missing
 * @certificate_file: (out) (optional): the certificate's path
 * @key_file: (out) (optional): the key's path
 * @error: return location for a #GError
 *
 * Makes a self-signed certificate and key in @directory unless both already exist,
 * so clients that pinned the certificate keep working across restarts.
 *
 * Returns: %TRUE if both files exist afterwards
 */
gboolean
hgd_tls_ensure_self_signed (const gchar *directory,
                            gchar **certificate_file,
                            gchar **key_file,
                            GError **error)
{
  g_autofree gchar *cert_path = g_build_filename (directory, CERTIFICATE_NAME, NULL);
  g_autofree gchar *key_path = g_build_filename (directory, KEY_NAME, NULL);

  g_return_val_if_fail (directory != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!ensure_private_directory (directory, error))
    return FALSE;
  if (!g_file_test (cert_path, G_FILE_TEST_EXISTS) || !g_file_test (key_path, G_FILE_TEST_EXISTS))
    {
      g_auto(gnutls_datum_t) cert_pem = { NULL, 0 };
      g_auto(gnutls_datum_t) key_pem = { NULL, 0 };

      if (!generate (&cert_pem, &key_pem, error))
        {
          g_prefix_error (error, "self-signed certificate in %s: ", directory);
          return FALSE;
        }
      /* The key first: a certificate without its key is never left behind. */
      if (!g_file_set_contents_full (key_path, (const gchar *) key_pem.data, key_pem.size,
                                     G_FILE_SET_CONTENTS_CONSISTENT, 0600, error) ||
          !g_file_set_contents_full (cert_path, (const gchar *) cert_pem.data, cert_pem.size,
                                     G_FILE_SET_CONTENTS_CONSISTENT, 0644, error))
        return FALSE;
      g_message ("generated a self-signed TLS certificate in %s", directory);
    }
  if (certificate_file != NULL)
    *certificate_file = g_steal_pointer (&cert_path);
  if (key_file != NULL)
    *key_file = g_steal_pointer (&key_path);
  return TRUE;
}

/**
 * hgd_tls_load_certificate:
 * @certificate_file: (nullable): `[api] tls-certificate`, or empty for self-signed
 * @key_file: (nullable): `[api] tls-key`, or empty for self-signed
 * @state_dir: the daemon's state directory; self-signed files go in its `tls/`
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the server certificate with its key, or %NULL
 */
GTlsCertificate *
hgd_tls_load_certificate (const gchar *certificate_file,
                          const gchar *key_file,
                          const gchar *state_dir,
                          GError **error)
{
  gboolean have_cert = certificate_file != NULL && *certificate_file != '\0';
  gboolean have_key = key_file != NULL && *key_file != '\0';
  g_autofree gchar *cert_path = NULL;
  g_autofree gchar *key_path = NULL;
  GTlsCertificate *certificate;

  g_return_val_if_fail (state_dir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (have_cert != have_key)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "[api] tls-certificate and tls-key must be set together");
      return NULL;
    }
  if (have_cert)
    {
      cert_path = g_strdup (certificate_file);
      key_path = g_strdup (key_file);
    }
  else
    {
      g_autofree gchar *directory = g_build_filename (state_dir, "tls", NULL);
      if (!hgd_tls_ensure_self_signed (directory, &cert_path, &key_path, error))
        return NULL;
    }
  certificate = g_tls_certificate_new_from_files (cert_path, key_path, error);
  if (certificate == NULL)
    {
      g_prefix_error (error, "TLS certificate %s with key %s: ", cert_path, key_path);
      return NULL;
    }
  return certificate;
}

/**
 * HGD_TLS_PRIORITY:
 *
 * The API's TLS rules, as a GnuTLS priority string: TLS 1.3 and 1.2 only, ECDHE key
 * exchange, AEAD ciphers (AES-GCM, ChaCha20-Poly1305), the server's order. `[api]
 * tls-priority` replaces it.
 */

/**
 * hgd_tls_apply_priority:
 * @priority: (nullable): a GnuTLS priority string, or %NULL or "" for %HGD_TLS_PRIORITY
 * @error: return location for a #GError
 *
 * Makes @priority the rules of every TLS connection of the process: glib-networking's
 * GnuTLS backend (2.74 in Debian 12) reads `G_TLS_GNUTLS_PRIORITY` once, when its first
 * connection is made, and uses it as the whole priority string. Call it before any TLS
 * connection exists and before other threads run (it sets an environment variable).
 *
 * Returns: %TRUE, or %FALSE with @error when GnuTLS does not accept @priority
 */
gboolean
hgd_tls_apply_priority (const gchar *priority,
                        GError **error)
{
  gnutls_priority_t parsed = NULL;
  const gchar *error_pos = NULL;
  int rc;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (priority == NULL || *priority == '\0')
    priority = HGD_TLS_PRIORITY;
  rc = gnutls_priority_init2 (&parsed, priority, &error_pos, 0);
  if (rc != GNUTLS_E_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "TLS priority string: %s at '%s'", gnutls_strerror (rc),
                   error_pos != NULL ? error_pos : priority);
      return FALSE;
    }
  gnutls_priority_deinit (parsed);
  g_setenv ("G_TLS_GNUTLS_PRIORITY", priority, TRUE);
  return TRUE;
}

/* The key in the secret store ----------------------------------------------------------- */

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_certificate_credentials_t,
                                 gnutls_certificate_free_credentials, NULL)

static void
wiped_free (gchar *text)
{
  if (text != NULL)
    explicit_bzero (text, strlen (text));
  g_free (text);
}

typedef gchar HgdWipedText;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgdWipedText, wiped_free)

/**
 * hgd_tls_certificate_new:
 * @chain_pem: the server certificate, then any intermediate ones, in PEM
 * @key_pem: the server certificate's private key, in PEM
 * @error: return location for a #GError
 *
 * Checks a certificate an administrator provides: the chain parses, the key is the
 * first certificate's, and that certificate is valid now (not yet valid or expired is
 * refused). Errors are %G_IO_ERROR_INVALID_DATA and say what is wrong, never the key.
 *
 * Returns: (transfer full): the certificate with its key, or %NULL
 */
GTlsCertificate *
hgd_tls_certificate_new (const gchar *chain_pem,
                         const gchar *key_pem,
                         GError **error)
{
  g_auto(gnutls_certificate_credentials_t) credentials = NULL;
  gnutls_x509_crt_t *chain = NULL;
  unsigned int n_chain = 0;
  gnutls_datum_t chain_datum = { (unsigned char *) chain_pem, (unsigned int) strlen (chain_pem) };
  gnutls_datum_t key_datum = { (unsigned char *) key_pem, (unsigned int) strlen (key_pem) };
  time_t now = time (NULL);
  time_t not_before;
  time_t not_after;
  g_autoptr(HgdWipedText) both = NULL;
  GTlsCertificate *certificate;
  int rc;

  g_return_val_if_fail (chain_pem != NULL, NULL);
  g_return_val_if_fail (key_pem != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  rc = gnutls_x509_crt_list_import2 (&chain, &n_chain, &chain_datum, GNUTLS_X509_FMT_PEM, 0);
  if (rc < 0 || n_chain == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "the certificate is not a PEM certificate chain: %s",
                   rc < 0 ? gnutls_strerror (rc) : "no certificate");
      return NULL;
    }
  not_before = gnutls_x509_crt_get_activation_time (chain[0]);
  not_after = gnutls_x509_crt_get_expiration_time (chain[0]);
  for (unsigned int i = 0; i < n_chain; i++)
    gnutls_x509_crt_deinit (chain[i]);
  gnutls_free (chain);
  if (not_after == (time_t) -1 || not_after < now)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "the certificate has expired");
      return NULL;
    }
  if (not_before == (time_t) -1 || not_before > now)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "the certificate is not valid yet");
      return NULL;
    }
  if (!check_gnutls (gnutls_certificate_allocate_credentials (&credentials), "credentials",
                     error))
    return NULL;
  rc = gnutls_certificate_set_x509_key_mem2 (credentials, &chain_datum, &key_datum,
                                             GNUTLS_X509_FMT_PEM, NULL, 0);
  if (rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "the key is not the certificate's");
      return NULL;
    }
  if (rc < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "the key is not a PEM private key of the certificate: %s",
                   gnutls_strerror (rc));
      return NULL;
    }
  both = g_strconcat (chain_pem, "\n", key_pem, NULL);
  certificate = g_tls_certificate_new_from_pem (both, -1, error);
  if (certificate == NULL)
    g_prefix_error (error, "the certificate: ");
  return certificate;
}

/* The certificate file, and a key made with it or found in @key_path (moved out). */
static gboolean
own_key_to_store (HgdSecrets *secrets,
                  const gchar *cert_path,
                  const gchar *key_path,
                  GError **error)
{
  g_autoptr(HgdWipedText) key_pem = NULL;

  if (g_file_test (cert_path, G_FILE_TEST_EXISTS) && g_file_test (key_path, G_FILE_TEST_EXISTS))
    {
      if (!g_file_get_contents (key_path, &key_pem, NULL, error) ||
          !hgd_secrets_store_sync (secrets, HG_DOMAIN_MUNICIPAL, "core", HGD_TLS_KEY_SECRET,
                                   key_pem, error))
        return FALSE;
      g_message ("moved the TLS key from %s into the secret store", key_path);
    }
  else
    {
      g_auto(gnutls_datum_t) cert_pem = { NULL, 0 };
      g_auto(gnutls_datum_t) new_key_pem = { NULL, 0 };

      if (!generate (&cert_pem, &new_key_pem, error))
        return FALSE;
      key_pem = g_strndup ((const gchar *) new_key_pem.data, new_key_pem.size);
      explicit_bzero (new_key_pem.data, new_key_pem.size);
      /* the key first: a certificate without its key is never left behind */
      if (!hgd_secrets_store_sync (secrets, HG_DOMAIN_MUNICIPAL, "core", HGD_TLS_KEY_SECRET,
                                   key_pem, error) ||
          !g_file_set_contents_full (cert_path, (const gchar *) cert_pem.data, cert_pem.size,
                                     G_FILE_SET_CONTENTS_CONSISTENT, 0644, error))
        return FALSE;
      g_message ("generated a self-signed TLS certificate in %s, its key in the secret store",
                 cert_path);
    }
  return TRUE;
}

/**
 * hgd_tls_load_own_certificate:
 * @secrets: the secret store
 * @state_dir: the daemon's state directory; the certificate goes in its `tls/`
 * @error: return location for a #GError
 *
 * The gateway's own certificate when `[api] tls-certificate` is not set: the certificate
 * in `<state-dir>/tls/hemgate.crt`, its key the secret %HGD_TLS_KEY_SECRET of `core`. A
 * key left in `tls/hemgate.key` by an older hemgated is moved into the store and the file
 * removed; without either, a self-signed certificate is made. When the secret store
 * cannot be reached, the files are used as before, with a warning.
 *
 * Blocks on the Secret Service: only at start-up, before the main loop runs.
 *
 * Returns: (transfer full): the certificate with its key, or %NULL
 */
GTlsCertificate *
hgd_tls_load_own_certificate (HgdSecrets *secrets,
                              const gchar *state_dir,
                              GError **error)
{
  g_autofree gchar *directory = g_build_filename (state_dir, "tls", NULL);
  g_autofree gchar *cert_path = g_build_filename (directory, CERTIFICATE_NAME, NULL);
  g_autofree gchar *key_path = g_build_filename (directory, KEY_NAME, NULL);
  g_autofree gchar *cert_pem = NULL;
  g_autoptr(HgdWipedText) key_pem = NULL;
  g_autoptr(HgdWipedText) both = NULL;
  g_autoptr(GError) local = NULL;
  GTlsCertificate *certificate;

  g_return_val_if_fail (HGD_IS_SECRETS (secrets), NULL);
  g_return_val_if_fail (state_dir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!ensure_private_directory (directory, error))
    return NULL;
  key_pem = hgd_secrets_lookup_sync (secrets, HG_DOMAIN_MUNICIPAL, "core", HGD_TLS_KEY_SECRET,
                                     &local);
  if (key_pem == NULL && g_error_matches (local, HG_ERROR, HG_ERROR_NOT_FOUND))
    {
      g_clear_error (&local);
      if (own_key_to_store (secrets, cert_path, key_path, &local))
        key_pem = hgd_secrets_lookup_sync (secrets, HG_DOMAIN_MUNICIPAL, "core",
                                           HGD_TLS_KEY_SECRET, &local);
    }
  if (key_pem != NULL && !g_file_test (cert_path, G_FILE_TEST_EXISTS))
    {
      /* a key without its certificate: start again with a new pair */
      g_clear_pointer (&key_pem, wiped_free);
      if (own_key_to_store (secrets, cert_path, key_path, &local))
        key_pem = hgd_secrets_lookup_sync (secrets, HG_DOMAIN_MUNICIPAL, "core",
                                           HGD_TLS_KEY_SECRET, &local);
    }
  if (key_pem == NULL)
    {
      g_warning ("TLS key: the secret store cannot be used (%s); using the files in %s",
                 local->message, directory);
      return hgd_tls_load_certificate (NULL, NULL, state_dir, error);
    }
  if (g_file_test (key_path, G_FILE_TEST_EXISTS) && g_unlink (key_path) != 0)
    g_warning ("cannot remove %s, whose key is in the secret store now: %s", key_path,
               g_strerror (errno));
  if (!g_file_get_contents (cert_path, &cert_pem, NULL, error))
    return NULL;
  both = g_strconcat (cert_pem, "\n", key_pem, NULL);
  certificate = g_tls_certificate_new_from_pem (both, -1, error);
  if (certificate == NULL)
    g_prefix_error (error, "TLS certificate %s with its key from the secret store: ", cert_path);
  return certificate;
}
