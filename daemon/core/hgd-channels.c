/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdChannels: the channels between API clients and plugin instances (HgContext's
 * channel-opened, channel-message, channel-closed and hg_context_channel_send ()). The one
 * dispatcher of who may open a channel: the instance must hold channel.serve, run, and
 * serve the caller's role (the capability's channel_roles in hgd-capabilities.c); a
 * municipal role reaches only a municipal instance, and a personal instance is unknown to
 * the municipality. Each opening and closing is journaled in the instance's domain
 * (`channel.opened`, `channel.closed`: who, which instance, how long). Messages are JSON
 * objects of at most HG_CONTEXT_CHANNEL_MAX_MESSAGE, at most HGD_CHANNEL_MAX_RATE a second
 * each way; a channel closes with its client (hgd_channels_close_owner ()) and with its
 * instance's host. A channel opened for the purpose `night-check` needs the resident's
 * night-check consent grant to hold (hgd_grants_night_check_allowed ()) when it opens, and
 * closes as soon as it no longer does: on every `grant.*` event of the personal journal
 * and every minute (the window's end); and at the latest after the grant's seconds per look
 * (hgd_grants_night_check_max_seconds ()) from its opening (`limit`). */
#include "config.h"

#include <string.h>

#include "hgd-capabilities.h"
#include "hgd-channels.h"

G_DEFINE_QUARK (hgd-channels-error-quark, hgd_channels_error)

typedef struct
{
  gint64 start;  /* monotonic, of the current second */
  guint count;
} Rate;

typedef struct
{
  HgdChannels *channels;         /* (unowned) */
  gchar *id;                     /* (owned) */
  HgdPluginInstance *instance;   /* (owned) */
  gulong state_id;
  gchar *username;               /* (owned) */
  HgdRole role;
  gchar *purpose;                /* (owned) (nullable) */
  HgdChannelSink sink;
  gpointer owner;                /* (unowned) the client, e.g. its WebSocket */
  gint64 opened;                 /* monotonic */
  guint limit_id;                /* closes a night check at its grant's seconds per look */
  guint64 n_from_client;
  guint64 n_from_plugin;
  Rate from_client;
  Rate from_plugin;
} Channel;

struct _HgdChannels
{
  GObject parent_instance;
  HgdJournal *journals[HG_DOMAIN_LAST]; /* (owned) (nullable) each */
  GHashTable *channels;                 /* (owned) id → Channel */
  guint64 serial;
  HgdGrants *grants;                    /* (owned) (nullable) the resident's consent */
  gulong grants_id;                     /* on the personal journal */
  guint consent_id;                     /* the minute's recheck, while a check is open */
};

G_DEFINE_TYPE (HgdChannels, hgd_channels, G_TYPE_OBJECT)

static void
channel_free (Channel *channel)
{
  g_clear_signal_handler (&channel->state_id, channel->instance);
  g_clear_handle_id (&channel->limit_id, g_source_remove);
  g_object_unref (channel->instance);
  g_free (channel->id);
  g_free (channel->username);
  g_free (channel->purpose);
  g_free (channel);
}

static void
journaled_cb (GObject *source,
              GAsyncResult *result,
              gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!hgd_journal_append_finish (HGD_JOURNAL (source), result, &error))
    g_warning ("channel event not journaled: %s", error->message);
}

/* channel.opened and channel.closed, in the instance's domain */
static void
journal_channel (HgdChannels *self,
                 Channel *channel,
                 const gchar *type,
                 const gchar *by)
{
  HgDomain domain = hgd_plugin_instance_get_domain (channel->instance);
  HgdJournal *journal = self->journals[domain];
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(HgEvent) event = NULL;

  if (journal == NULL)
    return;
  json_object_set_string_member (body, "channel", channel->id);
  json_object_set_string_member (body, "plugin", hgd_plugin_instance_get_id (channel->instance));
  json_object_set_string_member (body, "user", channel->username);
  json_object_set_string_member (body, "role", hgd_role_to_string (channel->role));
  if (channel->purpose != NULL)
    json_object_set_string_member (body, "purpose", channel->purpose);
  if (by != NULL)
    {
      json_object_set_string_member (body, "by", by);
      json_object_set_int_member (body, "seconds",
                                  (g_get_monotonic_time () - channel->opened) / G_USEC_PER_SEC);
      json_object_set_int_member (body, "messages_in", (gint64) channel->n_from_client);
      json_object_set_int_member (body, "messages_out", (gint64) channel->n_from_plugin);
    }
  event = hg_event_new (type, body);
  hg_event_set_source (event, "core");
  hgd_journal_append_async (journal, event, NULL, NULL, journaled_cb, NULL);
}

/* Removes the channel; @by says who closed it, for the journal. */
static void
channel_end (HgdChannels *self,
             Channel *channel,
             const gchar *by)
{
  journal_channel (self, channel, "channel.closed", by);
  g_debug ("channel %s to %s closed by %s", channel->id,
           hgd_plugin_instance_get_id (channel->instance), by);
  g_hash_table_remove (self->channels, channel->id);
}

static gboolean
rate_take (Rate *rate)
{
  gint64 now = g_get_monotonic_time ();

  if (now - rate->start >= G_USEC_PER_SEC)
    {
      rate->start = now;
      rate->count = 0;
    }
  if (rate->count >= HGD_CHANNEL_MAX_RATE)
    return FALSE;
  rate->count++;
  return TRUE;
}

/* The host went away (crash, restart, stop): its channels close, and their clients are
 * told. */
static void
instance_state_cb (HgdPluginInstance *instance,
                   GParamSpec *pspec,
                   gpointer user_data)
{
  Channel *channel = user_data;
  HgdChannels *self = channel->channels;
  HgdChannelSink sink = channel->sink;
  gpointer owner = channel->owner;
  g_autofree gchar *id = NULL;

  if (hgd_plugin_instance_get_state (instance) == HGD_PLUGIN_STATE_RUNNING)
    return;
  id = g_strdup (channel->id);
  channel_end (self, channel, "stopped");
  sink (id, NULL, "stopped", owner);
}

/* Closes the channels whose purpose's consent no longer holds; the plugin and the client
 * are told. */
static void
recheck_consent (HgdChannels *self)
{
  g_autoptr(GPtrArray) ended = g_ptr_array_new_with_free_func (g_free);
  gboolean allowed;
  gboolean any = FALSE;
  GHashTableIter iter;
  Channel *channel;

  allowed = self->grants != NULL && hgd_grants_night_check_allowed (self->grants,
                                                                     g_get_real_time ());
  g_hash_table_iter_init (&iter, self->channels);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &channel))
    {
      if (channel->purpose == NULL)
        continue;
      if (allowed)
        any = TRUE;
      else
        g_ptr_array_add (ended, g_strdup (channel->id));
    }
  for (guint i = 0; i < ended->len; i++)
    {
      HgdChannelSink sink;
      gpointer owner;

      channel = g_hash_table_lookup (self->channels, g_ptr_array_index (ended, i));
      sink = channel->sink;
      owner = channel->owner;
      hgd_plugin_instance_channel_closed (channel->instance, channel->id);
      channel_end (self, channel, "consent");
      sink (g_ptr_array_index (ended, i), NULL, "consent", owner);
    }
  if (!any)
    g_clear_handle_id (&self->consent_id, g_source_remove);
}

/* A night check's look has lasted as long as its grant lets it: the core closes it, and
 * the plugin and the client are told. */
static gboolean
channel_limit_cb (gpointer user_data)
{
  Channel *channel = user_data;
  HgdChannels *self = channel->channels;
  HgdChannelSink sink = channel->sink;
  gpointer owner = channel->owner;
  g_autofree gchar *id = g_strdup (channel->id);

  channel->limit_id = 0;
  hgd_plugin_instance_channel_closed (channel->instance, channel->id);
  channel_end (self, channel, "limit");
  sink (id, NULL, "limit", owner);
  return G_SOURCE_REMOVE;
}

static gboolean
consent_minute_cb (gpointer user_data)
{
  HgdChannels *self = HGD_CHANNELS (user_data);

  recheck_consent (self);
  return self->consent_id != 0 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
personal_event_cb (HgdJournal *journal,
                   HgEvent *event,
                   gpointer user_data)
{
  if (g_str_has_prefix (hg_event_get_event_type (event), "grant."))
    recheck_consent (HGD_CHANNELS (user_data));
}

/**
 * hgd_channels_set_grants:
 * @self: an #HgdChannels
 * @grants: the resident's consent grants, which purposes need
 */
void
hgd_channels_set_grants (HgdChannels *self,
                         HgdGrants *grants)
{
  g_return_if_fail (HGD_IS_CHANNELS (self));
  g_return_if_fail (HGD_IS_GRANTS (grants));
  g_set_object (&self->grants, grants);
  if (self->grants_id == 0 && self->journals[HG_DOMAIN_PERSONAL] != NULL)
    self->grants_id = g_signal_connect (self->journals[HG_DOMAIN_PERSONAL], "event-appended",
                                        G_CALLBACK (personal_event_cb), self);
}

static gboolean
role_is_served (const HgdCapability *rule,
                HgdRole role)
{
  const gchar *name = hgd_role_to_string (role);

  for (guint i = 0; i < HGD_CAPABILITY_MAX_ITEMS && rule->channel_roles[i] != NULL; i++)
    {
      if (g_str_equal (rule->channel_roles[i], name))
        return TRUE;
    }
  return FALSE;
}

/**
 * hgd_channels_open:
 * @self: an #HgdChannels
 * @instance: (nullable): the plugin instance the client names, %NULL if there is none
 * @username: the client's user
 * @role: the client's role
 * @purpose: (nullable): what the client opens it for: `night-check` or none
 * @sink: where what the plugin sends goes
 * @owner: the client, passed to @sink and to hgd_channels_close_owner ()
 * @error: return location for a #GError
 *
 * The one check of who may open a channel, deny by default; then journals
 * `channel.opened` and tells the plugin.
 *
 * Returns: (transfer full): the new channel's id, or %NULL with %HGD_CHANNELS_ERROR
 */
gchar *
hgd_channels_open (HgdChannels *self,
                   HgdPluginInstance *instance,
                   const gchar *username,
                   HgdRole role,
                   const gchar *purpose,
                   HgdChannelSink sink,
                   gpointer owner,
                   GError **error)
{
  const HgdCapability *rule = hgd_capability_lookup (HG_CAPABILITY_CHANNEL_SERVE);
  HgDomain caller_domain = hgd_role_get_domain (role);
  guint max_seconds = 0;
  Channel *channel;

  g_return_val_if_fail (HGD_IS_CHANNELS (self), NULL);
  g_return_val_if_fail (instance == NULL || HGD_IS_PLUGIN_INSTANCE (instance), NULL);
  g_return_val_if_fail (username != NULL, NULL);
  g_return_val_if_fail (sink != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* the municipality does not learn which plugins the home runs */
  if (instance == NULL ||
      (caller_domain == HG_DOMAIN_MUNICIPAL &&
       hgd_plugin_instance_get_domain (instance) != HG_DOMAIN_MUNICIPAL))
    {
      g_set_error_literal (error, HGD_CHANNELS_ERROR, HGD_CHANNELS_ERROR_NO_INSTANCE,
                           "no such plugin instance");
      return NULL;
    }
  if (!g_strv_contains (hgd_plugin_instance_get_grant (instance), HG_CAPABILITY_CHANNEL_SERVE))
    {
      g_set_error (error, HGD_CHANNELS_ERROR, HGD_CHANNELS_ERROR_NOT_SERVED,
                   "plugin instance %s does not serve channels",
                   hgd_plugin_instance_get_id (instance));
      return NULL;
    }
  if (!role_is_served (rule, role))
    {
      g_set_error (error, HGD_CHANNELS_ERROR, HGD_CHANNELS_ERROR_ROLE,
                   "the role %s may not open a channel", hgd_role_to_string (role));
      return NULL;
    }
  if (purpose != NULL && g_strcmp0 (purpose, "night-check") != 0)
    {
      g_set_error (error, HGD_CHANNELS_ERROR, HGD_CHANNELS_ERROR_PURPOSE,
                   "unknown purpose '%s'", purpose);
      return NULL;
    }
  if (purpose != NULL && self->grants != NULL)
    max_seconds = hgd_grants_night_check_max_seconds (self->grants, g_get_real_time ());
  if (purpose != NULL && max_seconds == 0)
    {
      g_set_error_literal (error, HGD_CHANNELS_ERROR, HGD_CHANNELS_ERROR_NO_CONSENT,
                           "no night-check consent holds now");
      return NULL;
    }
  if (hgd_plugin_instance_get_state (instance) != HGD_PLUGIN_STATE_RUNNING)
    {
      g_set_error (error, HGD_CHANNELS_ERROR, HGD_CHANNELS_ERROR_NOT_RUNNING,
                   "plugin instance %s is %s", hgd_plugin_instance_get_id (instance),
                   hgd_plugin_state_to_string (hgd_plugin_instance_get_state (instance)));
      return NULL;
    }

  channel = g_new0 (Channel, 1);
  channel->channels = self;
  channel->id = g_strdup_printf ("ch%" G_GUINT64_FORMAT "-%08x", ++self->serial,
                                 g_random_int ());
  channel->instance = g_object_ref (instance);
  channel->username = g_strdup (username);
  channel->role = role;
  channel->purpose = g_strdup (purpose);
  channel->sink = sink;
  channel->owner = owner;
  channel->opened = g_get_monotonic_time ();
  channel->state_id = g_signal_connect (instance, "notify::state", G_CALLBACK (instance_state_cb),
                                        channel);
  g_hash_table_insert (self->channels, channel->id, channel);
  journal_channel (self, channel, "channel.opened", NULL);
  hgd_plugin_instance_channel_opened (instance, channel->id, username, hgd_role_to_string (role),
                                      purpose);
  if (max_seconds > 0)
    channel->limit_id = g_timeout_add_seconds (max_seconds, channel_limit_cb, channel);
  if (purpose != NULL && self->consent_id == 0)
    self->consent_id = g_timeout_add_seconds (60, consent_minute_cb, self);
  return g_strdup (channel->id);
}

static Channel *
lookup_client_channel (HgdChannels *self,
                       gpointer owner,
                       const gchar *channel_id,
                       GError **error)
{
  Channel *channel = g_hash_table_lookup (self->channels, channel_id);

  if (channel == NULL || channel->owner != owner)
    {
      g_set_error_literal (error, HGD_CHANNELS_ERROR, HGD_CHANNELS_ERROR_NOT_OPEN,
                           "no such channel open");
      return NULL;
    }
  return channel;
}

/**
 * hgd_channels_client_send:
 * @self: an #HgdChannels
 * @owner: the client
 * @channel_id: one of @owner's channels
 * @message: the client's message
 * @error: return location for a #GError
 *
 * Returns: %TRUE if handed to the plugin; %FALSE with %HGD_CHANNELS_ERROR_NOT_OPEN,
 *   %HGD_CHANNELS_ERROR_TOO_LARGE or %HGD_CHANNELS_ERROR_RATE
 */
gboolean
hgd_channels_client_send (HgdChannels *self,
                          gpointer owner,
                          const gchar *channel_id,
                          JsonObject *message,
                          GError **error)
{
  Channel *channel;
  g_autofree gchar *json = NULL;

  g_return_val_if_fail (HGD_IS_CHANNELS (self), FALSE);
  g_return_val_if_fail (channel_id != NULL, FALSE);
  g_return_val_if_fail (message != NULL, FALSE);

  channel = lookup_client_channel (self, owner, channel_id, error);
  if (channel == NULL)
    return FALSE;
  json = hg_json_object_to_string (message);
  if (strlen (json) > HG_CONTEXT_CHANNEL_MAX_MESSAGE)
    {
      g_set_error (error, HGD_CHANNELS_ERROR, HGD_CHANNELS_ERROR_TOO_LARGE,
                   "a channel message is at most %d bytes", HG_CONTEXT_CHANNEL_MAX_MESSAGE);
      return FALSE;
    }
  if (!rate_take (&channel->from_client))
    {
      g_set_error (error, HGD_CHANNELS_ERROR, HGD_CHANNELS_ERROR_RATE,
                   "a channel carries at most %d messages a second", HGD_CHANNEL_MAX_RATE);
      return FALSE;
    }
  channel->n_from_client++;
  hgd_plugin_instance_channel_message (channel->instance, channel->id, json);
  return TRUE;
}

/**
 * hgd_channels_client_close:
 * @self: an #HgdChannels
 * @owner: the client
 * @channel_id: one of @owner's channels
 *
 * Returns: %TRUE if the channel was open and is now closed (the plugin is told)
 */
gboolean
hgd_channels_client_close (HgdChannels *self,
                           gpointer owner,
                           const gchar *channel_id)
{
  Channel *channel;

  g_return_val_if_fail (HGD_IS_CHANNELS (self), FALSE);
  g_return_val_if_fail (channel_id != NULL, FALSE);

  channel = lookup_client_channel (self, owner, channel_id, NULL);
  if (channel == NULL)
    return FALSE;
  hgd_plugin_instance_channel_closed (channel->instance, channel->id);
  channel_end (self, channel, "client");
  return TRUE;
}

/**
 * hgd_channels_close_owner:
 * @self: an #HgdChannels
 * @owner: a client that went away
 *
 * Closes every channel of @owner; their plugins are told.
 *
 * Returns: how many were closed
 */
guint
hgd_channels_close_owner (HgdChannels *self,
                          gpointer owner)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  Channel *channel;

  g_return_val_if_fail (HGD_IS_CHANNELS (self), 0);

  g_hash_table_iter_init (&iter, self->channels);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &channel))
    {
      if (channel->owner == owner)
        g_ptr_array_add (ids, g_strdup (channel->id));
    }
  for (guint i = 0; i < ids->len; i++)
    {
      channel = g_hash_table_lookup (self->channels, g_ptr_array_index (ids, i));
      hgd_plugin_instance_channel_closed (channel->instance, channel->id);
      channel_end (self, channel, "gone");
    }
  return ids->len;
}

static Channel *
lookup_plugin_channel (HgdChannels *self,
                       const gchar *instance_id,
                       const gchar *channel_id)
{
  Channel *channel = g_hash_table_lookup (self->channels, channel_id);

  if (channel == NULL ||
      g_strcmp0 (hgd_plugin_instance_get_id (channel->instance), instance_id) != 0)
    return NULL;
  return channel;
}

/**
 * hgd_channels_plugin_send:
 * @self: an #HgdChannels
 * @instance_id: the instance that sends
 * @channel_id: a channel open to it
 * @message: the plugin's message
 * @error: return location for a #GError
 *
 * Returns: %TRUE if handed to the client; %FALSE with %HGD_CHANNELS_ERROR_NOT_OPEN or
 *   %HGD_CHANNELS_ERROR_RATE
 */
gboolean
hgd_channels_plugin_send (HgdChannels *self,
                          const gchar *instance_id,
                          const gchar *channel_id,
                          JsonObject *message,
                          GError **error)
{
  Channel *channel;

  g_return_val_if_fail (HGD_IS_CHANNELS (self), FALSE);
  g_return_val_if_fail (instance_id != NULL, FALSE);
  g_return_val_if_fail (channel_id != NULL, FALSE);
  g_return_val_if_fail (message != NULL, FALSE);

  channel = lookup_plugin_channel (self, instance_id, channel_id);
  if (channel == NULL)
    {
      g_set_error (error, HGD_CHANNELS_ERROR, HGD_CHANNELS_ERROR_NOT_OPEN,
                   "channel %s is not open to this instance", channel_id);
      return FALSE;
    }
  if (!rate_take (&channel->from_plugin))
    {
      g_set_error (error, HGD_CHANNELS_ERROR, HGD_CHANNELS_ERROR_RATE,
                   "a channel carries at most %d messages a second", HGD_CHANNEL_MAX_RATE);
      return FALSE;
    }
  channel->n_from_plugin++;
  channel->sink (channel->id, message, NULL, channel->owner);
  return TRUE;
}

/**
 * hgd_channels_plugin_close:
 * @self: an #HgdChannels
 * @instance_id: the instance that closes
 * @channel_id: a channel open to it; anything else is ignored
 *
 * Closes the channel on the plugin's word; the client is told.
 */
void
hgd_channels_plugin_close (HgdChannels *self,
                           const gchar *instance_id,
                           const gchar *channel_id)
{
  Channel *channel;
  HgdChannelSink sink;
  gpointer owner;
  g_autofree gchar *id = NULL;

  g_return_if_fail (HGD_IS_CHANNELS (self));
  g_return_if_fail (instance_id != NULL);
  g_return_if_fail (channel_id != NULL);

  channel = lookup_plugin_channel (self, instance_id, channel_id);
  if (channel == NULL)
    return;
  sink = channel->sink;
  owner = channel->owner;
  id = g_strdup (channel->id);
  channel_end (self, channel, "plugin");
  sink (id, NULL, "plugin", owner);
}

/**
 * hgd_channels_close_all:
 * @self: an #HgdChannels
 *
 * Closes every channel, as at shutdown: neither side is told.
 */
void
hgd_channels_close_all (HgdChannels *self)
{
  g_return_if_fail (HGD_IS_CHANNELS (self));
  g_hash_table_remove_all (self->channels);
}

/* Returns: how many channels are open */
guint
hgd_channels_get_n_open (HgdChannels *self)
{
  g_return_val_if_fail (HGD_IS_CHANNELS (self), 0);
  return g_hash_table_size (self->channels);
}

static void
hgd_channels_dispose (GObject *object)
{
  HgdChannels *self = HGD_CHANNELS (object);

  g_hash_table_remove_all (self->channels);
  g_clear_handle_id (&self->consent_id, g_source_remove);
  if (self->grants_id != 0)
    g_clear_signal_handler (&self->grants_id, self->journals[HG_DOMAIN_PERSONAL]);
  g_clear_object (&self->grants);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    g_clear_object (&self->journals[i]);
  G_OBJECT_CLASS (hgd_channels_parent_class)->dispose (object);
}

static void
hgd_channels_finalize (GObject *object)
{
  HgdChannels *self = HGD_CHANNELS (object);

  g_hash_table_unref (self->channels);
  G_OBJECT_CLASS (hgd_channels_parent_class)->finalize (object);
}

static void
hgd_channels_class_init (HgdChannelsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hgd_channels_dispose;
  object_class->finalize = hgd_channels_finalize;
}

static void
hgd_channels_init (HgdChannels *self)
{
  self->channels = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                          (GDestroyNotify) channel_free);
}

/**
 * hgd_channels_new:
 * @journals: %HG_DOMAIN_LAST journals, each possibly %NULL
 *
 * Returns: (transfer full): no channels yet
 */
HgdChannels *
hgd_channels_new (HgdJournal *const *journals)
{
  HgdChannels *self;

  g_return_val_if_fail (journals != NULL, NULL);

  self = g_object_new (HGD_TYPE_CHANNELS, NULL);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    self->journals[i] = journals[i] != NULL ? g_object_ref (journals[i]) : NULL;
  return self;
}
