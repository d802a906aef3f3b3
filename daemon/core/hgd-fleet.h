/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdFleet: follows the fleet's deployment channel on an MQTT broker ([fleet]), applies
 * the signed manifests through HgdBundles and reports on the status topic. */
#pragma once

#include "hgd-config.h"
#include "hgd-journal.h"
#include "hgd-plugin-manager.h"
#include "hgd-secrets.h"

G_BEGIN_DECLS

/* The secret (municipal domain, owner "core") holding the client certificate's key, PEM */
#define HGD_FLEET_KEY_SECRET "fleet-client-key"

#define HGD_TYPE_FLEET (hgd_fleet_get_type ())
G_DECLARE_FINAL_TYPE (HgdFleet, hgd_fleet, HGD, FLEET, GObject)

HgdFleet *hgd_fleet_new (HgdConfig *config,
                         HgdPluginManager *plugins,
                         HgdSecrets *secrets,
                         HgdJournal *journal,
                         const gchar *municipal_dir);
void hgd_fleet_start (HgdFleet *self);
void hgd_fleet_stop (HgdFleet *self);

G_END_DECLS
