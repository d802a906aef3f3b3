/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdApi: the HTTP API under /api/v1, the events WebSocket and /metrics (libsoup 3). */
#pragma once

#include "hgd-access-log.h"
#include "hgd-accounts.h"
#include "hgd-alarms.h"
#include "hgd-config.h"
#include "hgd-journal.h"
#include "hgd-plugin-manager.h"

G_BEGIN_DECLS

/* What the API serves, given to hgd_api_new (), which takes its own references. */
typedef struct
{
  HgdConfig *config;
  const gchar *state_dir;                       /* where relative TLS paths start */
  HgdJournal *journals[HG_DOMAIN_LAST];         /* (nullable) a journal that failed to open */
  const GError *journal_errors[HG_DOMAIN_LAST]; /* (nullable) why, for health */
  HgdAccounts *accounts;
  HgdAccessLog *access_log;
  HgdAlarms *alarms;
  HgdPluginManager *plugins;
  gint64 start_time;                            /* when the daemon started, for uptime */
} HgdApiDeps;

#define HGD_TYPE_API (hgd_api_get_type ())
G_DECLARE_FINAL_TYPE (HgdApi, hgd_api, HGD, API, GObject)

HgdApi *hgd_api_new (const HgdApiDeps *deps);
gboolean hgd_api_listen (HgdApi *self,
                         GError **error);
/* The base URL clients use, e.g. "https://127.0.0.1:8443"; valid after listening. */
const gchar *hgd_api_get_url (HgdApi *self);
struct _HgdGrants *hgd_api_get_grants (HgdApi *self);

G_END_DECLS
