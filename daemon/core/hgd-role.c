/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdRole: the roles and the domain each belongs to. */
#include "config.h"

#include "hgd-role.h"

static const struct
{
  const gchar *name;
  HgDomain domain;
} roles[] = {
  { "resident", HG_DOMAIN_PERSONAL },
  { "family", HG_DOMAIN_PERSONAL },
  { "staff", HG_DOMAIN_MUNICIPAL },
  { "it-admin", HG_DOMAIN_MUNICIPAL },
  { "service", HG_DOMAIN_MUNICIPAL },
  { "guardian", HG_DOMAIN_PERSONAL },
  { "auditor", HG_DOMAIN_MUNICIPAL },
};
G_STATIC_ASSERT (G_N_ELEMENTS (roles) == HGD_ROLE_LAST);

const gchar *
hgd_role_to_string (HgdRole role)
{
  if ((guint) role >= HGD_ROLE_LAST)
    return NULL;
  return roles[role].name;
}

gboolean
hgd_role_from_string (const gchar *str,
                      HgdRole *role)
{
  for (guint i = 0; str != NULL && i < G_N_ELEMENTS (roles); i++)
    {
      if (g_strcmp0 (str, roles[i].name) == 0)
        {
          *role = (HgdRole) i;
          return TRUE;
        }
    }
  return FALSE;
}

HgDomain
hgd_role_get_domain (HgdRole role)
{
  g_return_val_if_fail ((guint) role < HGD_ROLE_LAST, HG_DOMAIN_PERSONAL);
  return roles[role].domain;
}
