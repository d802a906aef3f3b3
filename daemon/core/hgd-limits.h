/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdLimits: each domain's share of the machine — CPU, I/O and memory of its plugin hosts
 * (cgroup v2 where hemgated has a delegated cgroup, nice/ionice and a data rlimit
 * otherwise) and the rate at which its plugins may publish events (a token bucket). */
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>
#include <hemgate-plugin.h>

#include "hgd-config.h"

G_BEGIN_DECLS

/* A token bucket: @rate tokens a second, at most @burst saved up. Rate 0 lets all through. */
typedef struct
{
  guint rate;
  guint burst;
  gdouble tokens;
  gint64 last; /* monotonic microseconds of the last refill */
} HgdTokenBucket;

void hgd_token_bucket_init (HgdTokenBucket *bucket,
                            guint rate,
                            guint burst,
                            gint64 now);
guint hgd_token_bucket_take (HgdTokenBucket *bucket,
                             guint n,
                             gint64 now);

gint hgd_limits_nice_for_weight (guint weight);

#define HGD_TYPE_LIMITS (hgd_limits_get_type ())
G_DECLARE_FINAL_TYPE (HgdLimits, hgd_limits, HGD, LIMITS, GObject)

HgdLimits *hgd_limits_new (HgdConfig *config);
HgdLimits *hgd_limits_new_with_cgroup (HgdConfig *config,
                                       const gchar *cgroup_dir);
void hgd_limits_apply_in_child (HgdLimits *self,
                                HgDomain domain);
gboolean hgd_limits_apply (HgdLimits *self,
                           HgDomain domain,
                           GPid pid,
                           GError **error);
guint hgd_limits_take_events (HgdLimits *self,
                              HgDomain domain,
                              guint n);
guint64 hgd_limits_get_n_refused (HgdLimits *self,
                                  HgDomain domain);
gchar *hgd_limits_dup_warning (HgdLimits *self,
                               HgDomain domain,
                               HgDomain caller);
JsonObject *hgd_limits_to_json (HgdLimits *self,
                                HgDomain caller);

G_END_DECLS
