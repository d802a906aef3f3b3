/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgScaipSip: the plugin's SIP user agent (Sofia-SIP's NUA on the GLib main loop):
 * registers with each receiver, sends SCAIP bodies in MESSAGE requests and hands on the
 * MESSAGE requests addressed to our own address of record. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define HG_SCAIP_SIP_ERROR (hg_scaip_sip_error_quark ())
GQuark hg_scaip_sip_error_quark (void);

/* Errors of HG_SCAIP_SIP_ERROR carry the SIP status as their code (e.g. 408, 503; Sofia
 * reports local failures as 9xx), or one of these. */
typedef enum
{
  HG_SCAIP_SIP_ERROR_FAILED = 1,      /* the stack could not be set up */
  HG_SCAIP_SIP_ERROR_INVALID_URI = 2, /* a configured URI does not parse */
  HG_SCAIP_SIP_ERROR_SHUT_DOWN = 3,   /* the agent was shut down with the request in flight */
} HgScaipSipError;

/* The MIME type of SCAIP bodies, SS 91100 §9.1. */
#define HG_SCAIP_CONTENT_TYPE "application/scaip+xml"

#define HG_TYPE_SCAIP_SIP (hg_scaip_sip_get_type ())
G_DECLARE_FINAL_TYPE (HgScaipSip, hg_scaip_sip, HG, SCAIP_SIP, GObject)

gboolean hg_scaip_sip_check_uri (const gchar *uri,
                                 gboolean need_user,
                                 GError **error);
gchar *hg_scaip_sip_uri_host (const gchar *uri);
HgScaipSip *
hg_scaip_sip_new (const gchar *local_uri, const gchar *aor, const gchar *tls_dir, GError **error);
guint hg_scaip_sip_add_path (HgScaipSip *self, const gchar *local_uri, GError **error);
void hg_scaip_sip_set_credentials (HgScaipSip *self,
                                   const gchar *auth_user,
                                   const gchar *password);
guint hg_scaip_sip_add_receiver (HgScaipSip *self,
                                 const gchar *name,
                                 const gchar *uri,
                                 guint path,
                                 GError **error);
guint hg_scaip_sip_get_n_receivers (HgScaipSip *self);
const gchar *hg_scaip_sip_get_receiver_name (HgScaipSip *self,
                                             guint receiver);
const gchar *hg_scaip_sip_get_receiver_uri (HgScaipSip *self,
                                            guint receiver);
const gchar *hg_scaip_sip_get_registration_error (HgScaipSip *self, guint receiver);
const gchar *hg_scaip_sip_get_receiver_host (HgScaipSip *self, guint receiver);
const gchar *hg_scaip_sip_get_receiver_local_address (HgScaipSip *self, guint receiver);
guint hg_scaip_sip_get_receiver_path (HgScaipSip *self, guint receiver);
void hg_scaip_sip_register (HgScaipSip *self,
                            guint receiver,
                            guint expires);
gboolean hg_scaip_sip_is_registered (HgScaipSip *self,
                                     guint receiver);

void hg_scaip_sip_send_async (HgScaipSip *self,
                              guint receiver,
                              const gchar *body,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data);
gboolean hg_scaip_sip_send_finish (HgScaipSip *self,
                                   GAsyncResult *result,
                                   gchar **response_body,
                                   guint *retry_after,
                                   GError **error);

void hg_scaip_sip_enable_calls (HgScaipSip *self);
void hg_scaip_sip_answer_call (HgScaipSip *self, guint call, guint status, const gchar *sdp);
guint hg_scaip_sip_place_call (HgScaipSip *self,
                               guint receiver,
                               const gchar *uri,
                               const gchar *sdp);
const gchar *hg_scaip_sip_get_call_local_address (HgScaipSip *self, guint call);
void hg_scaip_sip_hang_up (HgScaipSip *self, guint call);

void hg_scaip_sip_shutdown_async (HgScaipSip *self,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);
gboolean hg_scaip_sip_shutdown_finish (HgScaipSip *self,
                                       GAsyncResult *result,
                                       GError **error);

G_END_DECLS
