/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdRole: who a user is, and which domain that puts them in. */
#pragma once

#include <hemgate-plugin.h>

G_BEGIN_DECLS

typedef enum
{
  HGD_ROLE_RESIDENT, /* personal */
  HGD_ROLE_FAMILY,   /* personal */
  HGD_ROLE_STAFF,    /* municipal: home-care staff */
  HGD_ROLE_IT_ADMIN, /* municipal: municipal IT */
  HGD_ROLE_SERVICE,  /* municipal: machine clients, e.g. fleet management */
  HGD_ROLE_GUARDIAN, /* personal: the resident's legal representative */
  HGD_ROLE_AUDITOR,  /* municipal: reads the municipal side of the access log, nothing else */
  HGD_ROLE_LAST
} HgdRole;

/* A set of roles, as a route's rule: HGD_ROLES (HGD_ROLE_STAFF, HGD_ROLE_IT_ADMIN) */
typedef guint HgdRoleMask;
#define HGD_ROLE_BIT(r) (1u << (r))
#define HGD_ROLES_ALL ((1u << HGD_ROLE_LAST) - 1)
/* Every role of a domain. A route's rule rarely wants a whole domain: the auditor may use
 * almost nothing, so the route table names its roles (hgd-api.c). */
#define HGD_ROLES_PERSONAL                                                                         \
  (HGD_ROLE_BIT (HGD_ROLE_RESIDENT) | HGD_ROLE_BIT (HGD_ROLE_FAMILY) |                             \
   HGD_ROLE_BIT (HGD_ROLE_GUARDIAN))
#define HGD_ROLES_MUNICIPAL                                                                        \
  (HGD_ROLE_BIT (HGD_ROLE_STAFF) | HGD_ROLE_BIT (HGD_ROLE_IT_ADMIN) |                              \
   HGD_ROLE_BIT (HGD_ROLE_SERVICE) | HGD_ROLE_BIT (HGD_ROLE_AUDITOR))

const gchar *hgd_role_to_string (HgdRole role);
gboolean hgd_role_from_string (const gchar *str,
                               HgdRole *role);
HgDomain hgd_role_get_domain (HgdRole role);

G_END_DECLS
