/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hgd-tls: the API's TLS certificate, configured or self-signed on first start (gnutls). */
#pragma once

#include <gio/gio.h>

#include "hgd-secrets.h"

G_BEGIN_DECLS

/* See hgd_tls_apply_priority (): the one place the API's protocol versions and ciphers
 * are written. */
#define HGD_TLS_PRIORITY                                                                  \
  "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:"       \
  "-CIPHER-ALL:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-GCM:-MAC-ALL:+AEAD:"             \
  "%SERVER_PRECEDENCE"

gboolean hgd_tls_ensure_self_signed (const gchar *directory,
                                     gchar **certificate_file,
                                     gchar **key_file,
                                     GError **error);
GTlsCertificate *hgd_tls_load_certificate (const gchar *certificate_file,
                                           const gchar *key_file,
                                           const gchar *state_dir,
                                           GError **error);
/* The secret of owner `core` holding the gateway's own TLS key. */
#define HGD_TLS_KEY_SECRET "tls-key"

GTlsCertificate *hgd_tls_certificate_new (const gchar *chain_pem,
                                          const gchar *key_pem,
                                          GError **error);
GTlsCertificate *hgd_tls_load_own_certificate (HgdSecrets *secrets,
                                               const gchar *state_dir,
                                               GError **error);
gboolean hgd_tls_apply_priority (const gchar *priority,
                                 GError **error);

G_END_DECLS
