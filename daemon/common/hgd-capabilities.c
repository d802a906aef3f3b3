/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The grant table: every capability a manifest may ask for, and all that holding it
 * means. A capability, Context1 call or event missing here is refused: the manifest
 * reader refuses a name not in the table or one asked for in a domain its rule leaves
 * out; the context dispatcher (hgd-context-impl.c) denies a call no granted rule allows;
 * a plugin instance is sent only the events a granted rule names; the plugin manager
 * counts as alarm delivery what the table flags so. data/schemas/manifest.schema.json
 * spells the same names and domain rules, checked by /plugins/manifest/schema-matches-table. */
#include "config.h"

#include "hgd-capabilities.h"

static gboolean check_net_connect (const gchar *capability,
                                   const gchar *parameter,
                                   GError **error);

static const HgdCapability capabilities[] = {
  {
    .name = HG_CAPABILITY_ALARM_RAISE,
    .domains = HGD_DOMAINS_ALL,
    .methods = { "RaiseAlarm" },
  },
  {
    /* alarms are the municipality's: the alarm centre is theirs, and so are the events */
    .name = HG_CAPABILITY_ALARM_DELIVER,
    .domains = HGD_DOMAIN_BIT (HG_DOMAIN_MUNICIPAL),
    .flags = HGD_CAPABILITY_FLAGS_DELIVERS_ALARMS,
    .methods = { "ReportAlarm", "ReportAlarmSteps" },
    /* what a delivery plugin acts on; not the steps it reports itself (delivered,
     * acknowledged, ...), nor those staff report */
    .receive_scope = HGD_RECEIVE_MUNICIPAL,
    .receives = { "alarm.raised", "alarm.cancelled", "alarm.closed" },
  },
  {
    .name = HG_CAPABILITY_SENSOR_PUBLISH,
    .domains = HGD_DOMAINS_ALL,
    .publishes = { "sensor.*" },
  },
  {
    .name = HG_CAPABILITY_SENSOR_SUBSCRIBE,
    .domains = HGD_DOMAINS_ALL,
    .receive_scope = HGD_RECEIVE_OWN_DOMAIN,
    .receives = { "sensor.*" },
  },
  {
    /* declared for IT to see; no call of the core needs it */
    .name = HG_CAPABILITY_MEDIA_CAMERA,
    .domains = HGD_DOMAINS_ALL,
    /* V4L2 capture and its media controller */
    .devices = { "video*", "media*" },
  },
  {
    .name = HG_CAPABILITY_MEDIA_MICROPHONE,
    .domains = HGD_DOMAINS_ALL,
    /* ALSA: the cards' control, PCM and timer nodes */
    .devices = { "snd/*" },
  },
  {
    /* always the instance's own secrets, in its own domain */
    .name = HG_CAPABILITY_SECRETS,
    .domains = HGD_DOMAINS_ALL,
    .methods = { "LookupSecret", "StoreSecret" },
  },
  {
    /* the records of care visits and camera checks: the municipality's */
    .name = HG_CAPABILITY_VISIT_PUBLISH,
    .domains = HGD_DOMAIN_BIT (HG_DOMAIN_MUNICIPAL),
    .publishes = { "visit.*" },
  },
  {
    /* API clients open channels to the instance (hgd-channels.c): which roles may is
     * .channel_roles; a municipal role only to a municipal instance */
    .name = HG_CAPABILITY_CHANNEL_SERVE,
    .domains = HGD_DOMAINS_ALL,
    .methods = { "ChannelSend", "ChannelClose" },
    .channel_roles = { "staff", "resident", "guardian" },
  },
  {
    /* the plugin connects itself; the host checks nothing, the plugin is expected to
     * (hg_context_has_capability ()), and IT sees the peers it may reach */
    .name = HG_CAPABILITY_NET_CONNECT_PREFIX,
    .domains = HGD_DOMAINS_ALL,
    .flags = HGD_CAPABILITY_FLAGS_PARAMETER,
    .check_parameter = check_net_connect,
  },
};

/* Context1 calls every instance may make: its own state. */
static const gchar *const calls_for_everyone[] = { "ReportHealth", NULL };

/* Context1 calls whose first argument, an event type, decides: they need the capability
 * whose `publishes` names the type. Types no rule names (alarm.*, plugin.*, ...) are the
 * core's own. */
static const gchar *const publishing_calls[] = { "PublishEvent", "PublishEvents", NULL };

/**
 * hgd_capabilities_get_all:
 * @n_capabilities: (out): the number of rules
 *
 * Returns: (transfer none) (array length=n_capabilities): the grant table
 */
const HgdCapability *
hgd_capabilities_get_all (guint *n_capabilities)
{
  g_return_val_if_fail (n_capabilities != NULL, NULL);
  *n_capabilities = G_N_ELEMENTS (capabilities);
  return capabilities;
}

/**
 * hgd_capability_lookup:
 * @capability: a capability as written in a manifest, e.g. `net.connect:h:80`
 *
 * Finds the rule of @capability; the parameter of a parameterised one is not checked
 * (hgd_capability_check () does).
 *
 * Returns: (transfer none) (nullable): the rule, or %NULL for an unknown name
 */
const HgdCapability *
hgd_capability_lookup (const gchar *capability)
{
  g_return_val_if_fail (capability != NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (capabilities); i++)
    {
      const HgdCapability *rule = &capabilities[i];

      if ((rule->flags & HGD_CAPABILITY_FLAGS_PARAMETER) != 0
            ? g_str_has_prefix (capability, rule->name)
            : g_str_equal (capability, rule->name))
        return rule;
    }
  return NULL;
}

static gboolean
host_is_valid (const gchar *host,
               gsize len)
{
  g_autofree gchar *copy = NULL;

  if (len == 0 || len > 253)
    return FALSE;
  if (host[0] == '[')
    {
      if (len < 4 || host[len - 1] != ']')
        return FALSE;
      copy = g_strndup (host + 1, len - 2);
      return strchr (copy, ':') != NULL && g_hostname_is_ip_address (copy);
    }
  if (!g_ascii_isalnum (host[0]))
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      if (!g_ascii_isalnum (host[i]) && host[i] != '.' && host[i] != '-')
        return FALSE;
    }
  return TRUE;
}

/* HOST:PORT, with a DNS name, IPv4 address or bracketed IPv6 address and a port from 1 to
 * 65535; either may be `*`. */
static gboolean
check_net_connect (const gchar *capability,
                   const gchar *parameter,
                   GError **error)
{
  const gchar *colon = strrchr (parameter, ':');
  guint64 port = 0;

  /* `*` for the host or the port: peers the deployment configures (an alarm centre's
   * receivers), which the manifest cannot know; shown as such to whoever approves */
  if (colon == NULL || !(host_is_valid (parameter, colon - parameter) ||
                         (colon - parameter == 1 && parameter[0] == '*')))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "capability '%s' does not name a host as net.connect:HOST:PORT", capability);
      return FALSE;
    }
  if (g_str_equal (colon + 1, "*"))
    return TRUE;
  if (colon[1] == '0' || !g_ascii_isdigit (colon[1]) ||
      !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &port, NULL))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "capability '%s' does not name a port from 1 to 65535", capability);
      return FALSE;
    }
  return TRUE;
}

/**
 * hgd_capability_check:
 * @capability: a capability as written in a manifest or a `deny` list
 * @error: return location for a #GError
 *
 * Returns: %TRUE if @capability is in the table, with a valid parameter if its rule
 *   takes one, else %FALSE with %HG_ERROR_INVALID_DATA naming it
 */
gboolean
hgd_capability_check (const gchar *capability,
                      GError **error)
{
  const HgdCapability *rule;

  g_return_val_if_fail (capability != NULL, FALSE);

  rule = hgd_capability_lookup (capability);
  if (rule == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "unknown capability '%s'", capability);
      return FALSE;
    }
  if (rule->check_parameter != NULL)
    return rule->check_parameter (capability, capability + strlen (rule->name), error);
  return TRUE;
}

/* Returns: whether @capability may be granted to an instance of @domain */
gboolean
hgd_capability_allows_domain (const HgdCapability *capability,
                              HgDomain domain)
{
  g_return_val_if_fail (capability != NULL, FALSE);
  return (guint) domain < HG_DOMAIN_LAST && (capability->domains & HGD_DOMAIN_BIT (domain)) != 0;
}

/**
 * hgd_capabilities_event_type_matches:
 * @pattern: an event type, or `word.*` for every type whose first word is `word`
 * @event_type: an event type
 *
 * Returns: whether @event_type is one @pattern names
 */
gboolean
hgd_capabilities_event_type_matches (const gchar *pattern,
                                     const gchar *event_type)
{
  gsize len;

  g_return_val_if_fail (pattern != NULL, FALSE);
  g_return_val_if_fail (event_type != NULL, FALSE);

  len = strlen (pattern);
  if (g_str_has_suffix (pattern, ".*"))
    return strncmp (pattern, event_type, len - 1) == 0;
  return g_str_equal (pattern, event_type);
}

static gboolean
list_contains (const gchar *const *list,
               const gchar *item)
{
  for (guint i = 0; i < HGD_CAPABILITY_MAX_ITEMS && list[i] != NULL; i++)
    {
      if (g_str_equal (list[i], item))
        return TRUE;
    }
  return FALSE;
}

static gboolean
list_matches_type (const gchar *const *patterns,
                   const gchar *event_type)
{
  for (guint i = 0; i < HGD_CAPABILITY_MAX_ITEMS && patterns[i] != NULL; i++)
    {
      if (hgd_capabilities_event_type_matches (patterns[i], event_type))
        return TRUE;
    }
  return FALSE;
}

/* Returns: whether the first argument of Context1 call @method is the event type that
 * decides what it needs */
gboolean
hgd_capabilities_call_names_event_type (const gchar *method)
{
  g_return_val_if_fail (method != NULL, FALSE);
  return g_strv_contains (publishing_calls, method);
}

/**
 * hgd_capabilities_required_for_call:
 * @method: a Context1 method name
 * @event_type: (nullable): for PublishEvent and PublishEvents, the event type
 *
 * Returns: (nullable): the capability @method needs, the empty string if every instance
 *   may call it, or %NULL if no grant allows it
 */
const gchar *
hgd_capabilities_required_for_call (const gchar *method,
                                    const gchar *event_type)
{
  gboolean publishing;

  g_return_val_if_fail (method != NULL, NULL);

  if (g_strv_contains (calls_for_everyone, method))
    return "";
  publishing = hgd_capabilities_call_names_event_type (method);
  if (publishing && event_type == NULL)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (capabilities); i++)
    {
      const HgdCapability *rule = &capabilities[i];

      if (publishing ? list_matches_type (rule->publishes, event_type)
                     : list_contains (rule->methods, method))
        return rule->name;
    }
  return NULL;
}

/**
 * hgd_capabilities_find_receiver:
 * @grant: the capabilities granted to a plugin instance
 * @domain: the instance's domain
 * @source: the instance as an event source, `plugin:<id>`
 * @event: a journaled event
 *
 * Returns: (transfer none) (nullable): the granted rule that lets the instance be sent
 *   @event, or %NULL if none does
 */
const HgdCapability *
hgd_capabilities_find_receiver (const gchar *const *grant,
                                HgDomain domain,
                                const gchar *source,
                                HgEvent *event)
{
  const gchar *type;

  g_return_val_if_fail (grant != NULL, NULL);
  g_return_val_if_fail (HG_IS_EVENT (event), NULL);

  type = hg_event_get_event_type (event);
  for (guint i = 0; i < G_N_ELEMENTS (capabilities); i++)
    {
      const HgdCapability *rule = &capabilities[i];
      gboolean in_scope = FALSE;

      switch (rule->receive_scope)
        {
        case HGD_RECEIVE_NONE:
          break;
        case HGD_RECEIVE_OWN_DOMAIN:
          in_scope = hg_event_get_domain (event) == domain
                     && g_strcmp0 (hg_event_get_source (event), source) != 0;
          break;
        case HGD_RECEIVE_MUNICIPAL:
          in_scope = hg_event_get_domain (event) == HG_DOMAIN_MUNICIPAL;
          break;
        default:
          g_assert_not_reached ();
        }
      if (in_scope && list_matches_type (rule->receives, type) && g_strv_contains (grant, rule->name))
        return rule;
    }
  return NULL;
}

/* Returns: whether a capability of @grant has every flag of @flags */
gboolean
hgd_capabilities_grant_has_flags (const gchar *const *grant,
                                  HgdCapabilityFlags flags)
{
  g_return_val_if_fail (grant != NULL, FALSE);

  for (guint i = 0; grant[i] != NULL; i++)
    {
      const HgdCapability *rule = hgd_capability_lookup (grant[i]);

      if (rule != NULL && (rule->flags & flags) == flags)
        return TRUE;
    }
  return FALSE;
}
