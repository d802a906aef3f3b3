/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgEvent: one journaled fact — a type, a JSON body, and where and when it happened. */
#pragma once

#include <json-glib/json-glib.h>

#include "hg-domain.h"

G_BEGIN_DECLS

#define HG_TYPE_EVENT (hg_event_get_type ())
G_DECLARE_FINAL_TYPE (HgEvent, hg_event, HG, EVENT, GObject)

HgEvent *hg_event_new (const gchar *type,
                       JsonObject *body);
const gchar *hg_event_get_event_type (HgEvent *self);
JsonObject *hg_event_get_body (HgEvent *self);
HgDomain hg_event_get_domain (HgEvent *self);
guint64 hg_event_get_seq (HgEvent *self);
gint64 hg_event_get_timestamp (HgEvent *self);
const gchar *hg_event_get_source (HgEvent *self);
JsonObject *hg_event_to_json (HgEvent *self);
gboolean hg_event_type_is_valid (const gchar *type);

G_END_DECLS
