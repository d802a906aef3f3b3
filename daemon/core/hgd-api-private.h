/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The HTTP API's route table, exposed so tests can enumerate every route and its rule. */
#pragma once

#include "hgd-api.h"
#include "hgd-role.h"

G_BEGIN_DECLS

/* In a route's roles: callable without a session (a session is still used if sent). */
#define HGD_API_PUBLIC (1u << 31)

typedef enum
{
  HGD_API_BODY_NONE, /* any request body is ignored */
  HGD_API_BODY_JSON, /* an application/json object, parsed before the handler runs */
  HGD_API_BODY_BYTES, /* any bytes (a bundle), up to the route's own max_body, which may
                       * be above [api] max-body-bytes; the handler reads them */
  HGD_API_BODY_FORM, /* application/x-www-form-urlencoded, decoded before the handler runs */
} HgdApiBody;

typedef struct _HgdApiRequest HgdApiRequest;
typedef void (*HgdApiHandler) (HgdApi *self,
                               HgdApiRequest *request);

typedef struct
{
  const gchar *method;   /* "GET", "POST", "DELETE" */
  const gchar *pattern;  /* "/api/v1/alarms/{ref}/transitions" */
  HgdRoleMask roles;     /* HGD_ROLE_BIT()s allowed, or HGD_API_PUBLIC */
  HgdRoleMask limited;   /* of @roles, those served the route's limited form, which the
                          * notes on the route table state; 0 for none */
  HgdApiBody body;
  gsize max_body;        /* bytes; 0 for [api] max-body-bytes */
  HgdApiHandler handler;
} HgdApiRoute;

const HgdApiRoute *hgd_api_get_routes (gsize *n_routes);
const HgdApiRoute *hgd_api_find_route (const gchar *method,
                                       const gchar *path,
                                       GPtrArray **params,
                                       gboolean *path_exists);
gchar *hgd_api_roles_to_string (HgdRoleMask roles);

G_END_DECLS
