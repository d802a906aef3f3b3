/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What only the core and the host may do to an HgEvent: stamp it and carry it. Never
 * installed; not exported: outside libhemgate these go through hg__private__ ()
 * (hg-private.h). */
#pragma once

#include "hg-event.h"

G_BEGIN_DECLS

#ifdef HG_COMPILATION

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

#else /* the core, the host, tests and fuzz targets */

#include "hg-private.h"

static inline void
hg_event_set_domain (HgEvent *self,
                     HgDomain domain)
{
  hg__private__ ()->event_set_domain (self, domain);
}

static inline void
hg_event_set_seq (HgEvent *self,
                  guint64 seq)
{
  hg__private__ ()->event_set_seq (self, seq);
}

static inline void
hg_event_set_timestamp (HgEvent *self,
                        gint64 timestamp)
{
  hg__private__ ()->event_set_timestamp (self, timestamp);
}

static inline void
hg_event_set_source (HgEvent *self,
                     const gchar *source)
{
  hg__private__ ()->event_set_source (self, source);
}

static inline HgEvent *
hg_event_new_from_json (JsonObject *object,
                        GError **error)
{
  return hg__private__ ()->event_new_from_json (object, error);
}

#endif /* HG_COMPILATION */

G_END_DECLS
