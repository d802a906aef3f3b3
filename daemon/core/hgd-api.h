/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdApi: the HTTP API under /api/v1, the events WebSocket and /metrics (libsoup 3). */
#pragma once

#include "hgd-daemon.h"

G_BEGIN_DECLS

#define HGD_TYPE_API (hgd_api_get_type ())
G_DECLARE_FINAL_TYPE (HgdApi, hgd_api, HGD, API, GObject)

HgdApi *hgd_api_new (HgdDaemon *daemon);
gboolean hgd_api_listen (HgdApi *self,
                         GError **error);
/* The base URL clients use, e.g. "https://127.0.0.1:8443"; valid after listening. */
const gchar *hgd_api_get_url (HgdApi *self);

G_END_DECLS
