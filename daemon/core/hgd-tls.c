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
