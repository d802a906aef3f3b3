/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdCapability: the one grant table: per capability, where it may be granted, which
 * Context1 calls it allows, which events it lets a plugin publish and be sent. Read by the
 * manifest reader, the context dispatcher, the plugin manager and each plugin instance. */
#pragma once

#include <hemgate-plugin.h>

G_BEGIN_DECLS

/* A set of domains, as a capability's rule */
#define HGD_DOMAIN_BIT(d) (1u << (d))
#define HGD_DOMAINS_ALL ((1u << HG_DOMAIN_LAST) - 1)

typedef enum
{
  HGD_CAPABILITY_FLAGS_NONE = 0,
  /* the name is a prefix, written with a parameter after it (net.connect:HOST:PORT) */
  HGD_CAPABILITY_FLAGS_PARAMETER = 1 << 0,
  /* the instance is a path for alarms to the alarm centre: the events it is sent are
   * never dropped and are tracked by its cursor, it is offered the open alarms when its
   * host starts, probed for health, and counted by health's alarm-delivery */
  HGD_CAPABILITY_FLAGS_DELIVERS_ALARMS = 1 << 1,
} HgdCapabilityFlags;

typedef enum
{
  HGD_RECEIVE_NONE,       /* it brings no events */
  HGD_RECEIVE_OWN_DOMAIN, /* events of the instance's domain, except those it published */
  HGD_RECEIVE_MUNICIPAL,  /* events of the municipal journal, whoever made them */
} HgdReceiveScope;

/* The most entries in each list of a rule, with room for the NULL that ends it */
#define HGD_CAPABILITY_MAX_ITEMS 4

typedef struct
{
  const gchar *name;       /* an HG_CAPABILITY_* */
  guint domains;           /* HGD_DOMAIN_BIT ()s of the domains it may be granted in */
  HgdCapabilityFlags flags;
  /* (nullable) checks the parameter of a HGD_CAPABILITY_FLAGS_PARAMETER capability */
  gboolean (*check_parameter) (const gchar *capability,
                               const gchar *parameter,
                               GError **error);
  const gchar *methods[HGD_CAPABILITY_MAX_ITEMS];   /* Context1 methods it allows */
  const gchar *publishes[HGD_CAPABILITY_MAX_ITEMS]; /* event types it may publish */
  HgdReceiveScope receive_scope;
  const gchar *receives[HGD_CAPABILITY_MAX_ITEMS];  /* event types it is sent */
  /* device nodes under /dev its plugin host may see (hgd-sandbox.c), as patterns of
   * g_pattern_match_simple () on the last part, e.g. "video*" */
  const gchar *devices[HGD_CAPABILITY_MAX_ITEMS];
  /* the roles of API clients that may open a channel to an instance holding it (names
   * as hgd_role_to_string ()) */
  const gchar *channel_roles[HGD_CAPABILITY_MAX_ITEMS];
} HgdCapability;

const HgdCapability *hgd_capabilities_get_all (guint *n_capabilities);
const HgdCapability *hgd_capability_lookup (const gchar *capability);
gboolean hgd_capability_check (const gchar *capability,
                               GError **error);
gboolean hgd_capability_allows_domain (const HgdCapability *capability,
                                       HgDomain domain);

gboolean hgd_capabilities_event_type_matches (const gchar *pattern,
                                              const gchar *event_type);
const gchar *hgd_capabilities_required_for_call (const gchar *method,
                                                 const gchar *event_type);
gboolean hgd_capabilities_call_names_event_type (const gchar *method);
const HgdCapability *hgd_capabilities_find_receiver (const gchar *const *grant,
                                                     HgDomain domain,
                                                     const gchar *source,
                                                     HgEvent *event);
gboolean hgd_capabilities_grant_has_flags (const gchar *const *grant,
                                           HgdCapabilityFlags flags);

G_END_DECLS
