/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgDomain: the two kinds of owner every piece of data in hemgate belongs to. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * HgDomain:
 * @HG_DOMAIN_MUNICIPAL: the municipality: home-care staff, the alarm centre, municipal IT
 * @HG_DOMAIN_PERSONAL: the resident personally: their own devices, services and family
 *
 * Every event, reading, plugin instance, user, secret and file belongs to exactly one
 * domain. Nothing crosses between them without the resident's consent.
 *
 * Since: 1.0
 */
typedef enum
{
  HG_DOMAIN_MUNICIPAL,
  HG_DOMAIN_PERSONAL,
  /*< private >*/
  HG_DOMAIN_LAST
} HgDomain;

const gchar *hg_domain_to_string (HgDomain domain);
gboolean hg_domain_from_string (const gchar *str,
                                HgDomain *domain);

G_END_DECLS
