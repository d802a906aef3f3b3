/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hgd-tls: the API's TLS certificate, configured or self-signed on first start (gnutls). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

gboolean hgd_tls_ensure_self_signed (const gchar *directory,
                                     gchar **certificate_file,
                                     gchar **key_file,
                                     GError **error);
GTlsCertificate *hgd_tls_load_certificate (const gchar *certificate_file,
                                           const gchar *key_file,
                                           const gchar *state_dir,
                                           GError **error);

G_END_DECLS
