/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* String forms of HgDomain, as used in config, manifests, the API and file names. */
#include "config.h"

#include "hg-domain.h"

static const gchar *const domain_names[] = { "municipal", "personal" };

G_STATIC_ASSERT (G_N_ELEMENTS (domain_names) == HG_DOMAIN_LAST);

/**
 * hg_domain_to_string:
 * @domain: an #HgDomain
 *
 * Names @domain as the configuration, the API and the journal write it.
 *
 * Returns: `municipal` or `personal`, or %NULL for an invalid value
 *
 * Since: 1.0
 */
const gchar *
hg_domain_to_string (HgDomain domain)
{
  if ((guint) domain >= HG_DOMAIN_LAST)
    return NULL;
  return domain_names[domain];
}

/**
 * hg_domain_from_string:
 * @str: (nullable): a domain name
 * @domain: (out): the domain
 *
 * Reads a domain name, as hg_domain_to_string() writes it.
 *
 * Returns: %TRUE if @str names a domain
 *
 * Since: 1.0
 */
gboolean
hg_domain_from_string (const gchar *str,
                       HgDomain *domain)
{
  for (guint i = 0; str != NULL && i < G_N_ELEMENTS (domain_names); i++)
    {
      if (g_strcmp0 (str, domain_names[i]) == 0)
        {
          *domain = (HgDomain) i;
          return TRUE;
        }
    }
  return FALSE;
}
