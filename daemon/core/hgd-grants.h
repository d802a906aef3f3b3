/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdGrants: the resident's consent grants, what may cross from the personal domain. */
#pragma once

#include "hgd-journal.h"
#include "hgd-role.h"

G_BEGIN_DECLS

#define HGD_GRANTS_ERROR (hgd_grants_error_quark ())

typedef enum
{
  HGD_GRANTS_ERROR_INVALID,   /* a grant request that names its bad member */
  HGD_GRANTS_ERROR_NOT_FOUND, /* no grant with that id */
  HGD_GRANTS_ERROR_REVOKED,   /* the grant is revoked already */
} HgdGrantsError;

GQuark hgd_grants_error_quark (void);

/* What a caller wants of the personal domain; the object each names is in brackets. */
typedef enum
{
  HGD_GRANT_READINGS,     /* a personal device's readings [device id] */
  HGD_GRANT_ALARM_DETAIL, /* the personal detail of an alarm the home's devices raised [type] */
  HGD_GRANT_ALARM_VIEW,   /* the home's alarms and their state [NULL] */
  HGD_GRANT_ALARM_ACT,    /* cancelling an alarm, as the resident may [NULL] */
  HGD_GRANT_NIGHT_CHECK,  /* a night check (a video look-in) [NULL] */
} HgdGrantAccess;

/* Event types in the personal journal; the body is the grant object. */
#define HGD_GRANT_EVENT_MADE "grant.made"
#define HGD_GRANT_EVENT_REVOKED "grant.revoked"

/* A night-check grant's seconds per look: `max_seconds` in its scope, 1 to this; the
 * default for a grant without it */
#define HGD_GRANTS_NIGHT_CHECK_MAX_SECONDS 600
#define HGD_GRANTS_NIGHT_CHECK_DEFAULT_SECONDS 60

#define HGD_TYPE_GRANTS (hgd_grants_get_type ())
G_DECLARE_FINAL_TYPE (HgdGrants, hgd_grants, HGD, GRANTS, GObject)

HgdGrants *hgd_grants_new (void);
gboolean hgd_grants_load (HgdGrants *self,
                          HgdJournal *personal,
                          GError **error);
void hgd_grants_apply_event (HgdGrants *self,
                             HgEvent *event);
void hgd_grants_clear (HgdGrants *self);

JsonObject *hgd_grants_validate (JsonObject *request,
                                 const gchar *made_by,
                                 gint64 now,
                                 GError **error);
JsonObject *hgd_grants_revoke (HgdGrants *self,
                               const gchar *id,
                               const gchar *revoked_by,
                               gint64 now,
                               GError **error);
JsonObject *hgd_grants_get (HgdGrants *self,
                            const gchar *id,
                            gint64 now);
JsonArray *hgd_grants_to_json (HgdGrants *self,
                               const gchar *grantee,
                               gint64 now);

gboolean hgd_grants_allows (HgdGrants *self,
                            HgdRole role,
                            const gchar *username,
                            HgdGrantAccess what,
                            const gchar *object,
                            gint64 now);
gint64 hgd_grants_allowed_since (HgdGrants *self,
                                 HgdRole role,
                                 const gchar *username,
                                 HgdGrantAccess what,
                                 const gchar *object,
                                 gint64 now);
gboolean hgd_grants_night_check_allowed (HgdGrants *self,
                                         gint64 now);
guint hgd_grants_night_check_max_seconds (HgdGrants *self,
                                          gint64 now);
gboolean hgd_grants_event_visible (HgdGrants *self,
                                   HgdRole role,
                                   const gchar *username,
                                   HgEvent *event,
                                   gint64 now);
gboolean hgd_grants_plugin_event_visible (HgdGrants *self,
                                          HgDomain domain,
                                          HgEvent *event,
                                          gint64 now);

G_END_DECLS
