/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What only the core and the host may do to an HgEvent: stamp it and carry it. */
#pragma once

#include "hg-event.h"

G_BEGIN_DECLS

void hg_event_set_domain (HgEvent *self,
                          HgDomain domain);
void hg_event_set_seq (HgEvent *self,
                       guint64 seq);
void hg_event_set_timestamp (HgEvent *self,
                             gint64 timestamp);
void hg_event_set_source (HgEvent *self,
                          const gchar *source);
HgEvent *hg_event_new_from_json (JsonObject *object,
                                 GError **error);

G_END_DECLS
