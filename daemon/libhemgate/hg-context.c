/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgContext: identity and grant of a plugin instance, and the calls it may make.
 * The methods here only dispatch to the implementation: the plugin host's, which asks
 * the core (and the core decides whether each call is allowed), or HgTestContext's in a
 * plugin's unit tests. The type is abstract and its class private
 * (hg-context-private.h). */
#include "config.h"

#include "hg-context-private.h"
#include "hg-enum-types.h"
#include "hg-error.h"

typedef struct
{
  gchar *plugin_id;    /* (owned) */
  HgDomain domain;
  HgConfig *config;    /* (owned) */
  GStrv capabilities;  /* (owned) */
} HgContextPrivate;

/**
 * HgContext:
 *
 * A plugin instance's only window onto the gateway: its identity, configuration and
 * grant, and the calls it may make. The plugin host gives each plugin one as its
 * #HgPlugin:context; every call goes to the core, which checks it against the grant.
 *
 * Plugins use a context and never implement one: the type is abstract and its class is
 * not public. A plugin's unit tests give it an #HgTestContext instead.
 *
 * Since: 1.0
 */
G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (HgContext, hg_context, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_PLUGIN_ID,
  PROP_DOMAIN,
  PROP_CONFIG,
  PROP_CAPABILITIES,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_SECRET_CHANGED,
  SIGNAL_CHANNEL_OPENED,
  SIGNAL_CHANNEL_MESSAGE,
  SIGNAL_CHANNEL_CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
hg_context_finalize (GObject *object)
{
  HgContext *self = HG_CONTEXT (object);
  HgContextPrivate *priv = hg_context_get_instance_private (self);

  g_free (priv->plugin_id);
  g_clear_object (&priv->config);
  g_strfreev (priv->capabilities);
  G_OBJECT_CLASS (hg_context_parent_class)->finalize (object);
}

static void
hg_context_get_property (GObject *object,
                         guint prop_id,
                         GValue *value,
                         GParamSpec *pspec)
{
  HgContext *self = HG_CONTEXT (object);
  HgContextPrivate *priv = hg_context_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_PLUGIN_ID:
      g_value_set_string (value, priv->plugin_id);
      break;
    case PROP_DOMAIN:
      g_value_set_enum (value, priv->domain);
      break;
    case PROP_CONFIG:
      g_value_set_object (value, priv->config);
      break;
    case PROP_CAPABILITIES:
      g_value_set_boxed (value, priv->capabilities);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_context_set_property (GObject *object,
                         guint prop_id,
                         const GValue *value,
                         GParamSpec *pspec)
{
  HgContext *self = HG_CONTEXT (object);
  HgContextPrivate *priv = hg_context_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_PLUGIN_ID:
      priv->plugin_id = g_value_dup_string (value);
      break;
    case PROP_DOMAIN:
      priv->domain = (HgDomain) g_value_get_enum (value);
      break;
    case PROP_CONFIG:
      priv->config = g_value_dup_object (value);
      break;
    case PROP_CAPABILITIES:
      priv->capabilities = g_value_dup_boxed (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_context_constructed (GObject *object)
{
  HgContext *self = HG_CONTEXT (object);
  HgContextPrivate *priv = hg_context_get_instance_private (self);

  G_OBJECT_CLASS (hg_context_parent_class)->constructed (object);
  if (priv->config == NULL)
    priv->config = hg_config_new ();
  if (priv->capabilities == NULL)
    priv->capabilities = g_new0 (gchar *, 1);
}

static void
hg_context_class_init (HgContextClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = hg_context_finalize;
  object_class->get_property = hg_context_get_property;
  object_class->set_property = hg_context_set_property;
  object_class->constructed = hg_context_constructed;

  /**
   * HgContext:plugin-id:
   *
   * The id of the plugin instance, as in its manifest and the configuration.
   *
   * Since: 1.0
   */
  properties[PROP_PLUGIN_ID] =
    g_param_spec_string ("plugin-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * HgContext:domain:
   *
   * The #HgDomain the instance is installed in; all its events and secrets belong there.
   *
   * Since: 1.0
   */
  properties[PROP_DOMAIN] =
    g_param_spec_enum ("domain", NULL, NULL, HG_TYPE_DOMAIN, HG_DOMAIN_MUNICIPAL,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * HgContext:config:
   *
   * The instance's configuration.
   *
   * Since: 1.0
   */
  properties[PROP_CONFIG] =
    g_param_spec_object ("config", NULL, NULL, HG_TYPE_CONFIG,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * HgContext:capabilities:
   *
   * The capabilities the core granted: those the manifest asked for that the deployment
   * allows.
   *
   * Since: 1.0
   */
  properties[PROP_CAPABILITIES] =
    g_param_spec_boxed ("capabilities", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * HgContext::secret-changed:
   * @self: the #HgContext
   * @key: the key of the instance's secret that was set or removed
   *
   * Emitted when an operator sets or removes one of the instance's own secrets (through
   * the API or `hemgatectl secrets`) while it runs. The signal carries no value: a plugin
   * that uses @key looks it up again with hg_context_lookup_secret_async() and applies
   * it (for example registers again with a new password), without a restart. A secret
   * removed is then %HG_ERROR_NOT_FOUND. Not emitted for the plugin's own
   * hg_context_store_secret_async().
   *
   * Since: 1.1
   */
  signals[SIGNAL_SECRET_CHANGED] =
    g_signal_new ("secret-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);

  /**
   * HgContext::channel-opened:
   * @self: the #HgContext
   * @channel_id: the channel's id, unique while the core runs
   * @user: the user name of the API client who opened it
   * @role: the client's role, e.g. `staff` or `resident`
   * @purpose: (nullable): what the client opened it for, if it said: `night-check` (a
   *   look-in by camera), which the core allows only while the resident's night-check
   *   consent grant holds, and closes (#HgContext::channel-closed) as soon as it no longer
   *   does (withdrawn, or outside its window) or when the grant's seconds per look (its
   *   `max_seconds`, default 60) are up
   *
   * Emitted when an API client has opened a channel to this instance (over the
   * `/api/v1/events` WebSocket, message `channel-open`). The core has already checked that
   * the instance holds %HG_CAPABILITY_CHANNEL_SERVE, that the client's role may use a
   * channel and that its domain may reach the instance's, and has journaled
   * `channel.opened` in the instance's domain. The plugin decides what the client may do
   * from @role; to refuse it, it closes the channel with hg_context_channel_close().
   *
   * Since: 1.1
   */
  signals[SIGNAL_CHANNEL_OPENED] =
    g_signal_new ("channel-opened", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 4, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);
  /**
   * HgContext::channel-message:
   * @self: the #HgContext
   * @channel_id: the channel
   * @message: the client's message, a JSON object of the plugin's own design, at most
   *   %HG_CONTEXT_CHANNEL_MAX_MESSAGE as text
   *
   * Emitted for each message the client of an open channel sends, in order. The message is
   * untrusted input: read it with the checked accessors (hg_json_object_get_string()).
   *
   * Since: 1.1
   */
  signals[SIGNAL_CHANNEL_MESSAGE] =
    g_signal_new ("channel-message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 2, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
                  JSON_TYPE_OBJECT);
  /**
   * HgContext::channel-closed:
   * @self: the #HgContext
   * @channel_id: the channel
   *
   * Emitted once when a channel has closed for any reason but the plugin's own
   * hg_context_channel_close(): the client closed it or went away (its WebSocket closed,
   * its session ended), or the consent its purpose needs no longer holds or its seconds per
   * look are up. The plugin frees what the channel held
   * (e.g. ends a call).
   *
   * Since: 1.1
   */
  signals[SIGNAL_CHANNEL_CLOSED] =
    g_signal_new ("channel-closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
hg_context_init (HgContext *self)
{
}

/**
 * hg_context_get_plugin_id:
 * @self: an #HgContext
 *
 * Gets the id of the plugin instance this context belongs to.
 *
 * Returns: the plugin instance id
 *
 * Since: 1.0
 */
const gchar *
hg_context_get_plugin_id (HgContext *self)
{
  HgContextPrivate *priv = hg_context_get_instance_private (self);

  g_return_val_if_fail (HG_IS_CONTEXT (self), NULL);
  return priv->plugin_id;
}

/**
 * hg_context_get_domain:
 * @self: an #HgContext
 *
 * Gets the domain the plugin instance is installed in.
 *
 * Returns: the domain the instance belongs to
 *
 * Since: 1.0
 */
HgDomain
hg_context_get_domain (HgContext *self)
{
  HgContextPrivate *priv = hg_context_get_instance_private (self);

  g_return_val_if_fail (HG_IS_CONTEXT (self), HG_DOMAIN_MUNICIPAL);
  return priv->domain;
}

/**
 * hg_context_get_config:
 * @self: an #HgContext
 *
 * Gets the plugin instance's configuration.
 *
 * Returns: (transfer none): the instance's configuration
 *
 * Since: 1.0
 */
HgConfig *
hg_context_get_config (HgContext *self)
{
  HgContextPrivate *priv = hg_context_get_instance_private (self);

  g_return_val_if_fail (HG_IS_CONTEXT (self), NULL);
  return priv->config;
}

/**
 * hg_context_get_capabilities:
 * @self: an #HgContext
 *
 * Gets the capabilities the core granted the plugin instance.
 *
 * Returns: (transfer none) (array zero-terminated=1): the granted capabilities
 *
 * Since: 1.0
 */
const gchar *const *
hg_context_get_capabilities (HgContext *self)
{
  HgContextPrivate *priv = hg_context_get_instance_private (self);

  g_return_val_if_fail (HG_IS_CONTEXT (self), NULL);
  return (const gchar *const *) priv->capabilities;
}

/**
 * hg_context_has_capability:
 * @self: an #HgContext
 * @capability: an `HG_CAPABILITY_*` name, e.g. %HG_CAPABILITY_ALARM_RAISE, or
 *   %HG_CAPABILITY_NET_CONNECT_PREFIX followed by `HOST:PORT`
 *
 * A plugin may use this to skip work it could not do; the core checks every call
 * regardless.
 *
 * Returns: %TRUE if @capability was granted
 *
 * Since: 1.0
 */
gboolean
hg_context_has_capability (HgContext *self,
                           const gchar *capability)
{
  HgContextPrivate *priv = hg_context_get_instance_private (self);

  g_return_val_if_fail (HG_IS_CONTEXT (self), FALSE);
  g_return_val_if_fail (capability != NULL, FALSE);
  return g_strv_contains ((const gchar *const *) priv->capabilities, capability);
}

/**
 * hg_context_publish_event_async:
 * @self: an #HgContext
 * @event: the event; the core stamps domain, sequence, time and source
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the event is journaled
 * @user_data: data for @callback
 *
 * Publishes an event into the instance's domain. Needs the capability matching the
 * event type's first word, e.g. `sensor.publish` for `sensor.reading`.
 *
 * Since: 1.0
 */
void
hg_context_publish_event_async (HgContext *self,
                                HgEvent *event,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
  HgContextClass *klass;

  g_return_if_fail (HG_IS_CONTEXT (self));
  g_return_if_fail (HG_IS_EVENT (event));
  klass = HG_CONTEXT_GET_CLASS (self);
  klass->publish_event_async (self, event, cancellable, callback, user_data);
}

/**
 * hg_context_publish_event_finish:
 * @self: an #HgContext
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes hg_context_publish_event_async().
 *
 * Returns: the event's sequence number in its journal, or 0 on error
 *
 * Since: 1.0
 */
guint64
hg_context_publish_event_finish (HgContext *self,
                                 GAsyncResult *result,
                                 GError **error)
{
  g_autofree guint64 *seq = NULL;

  g_return_val_if_fail (HG_IS_CONTEXT (self), 0);
  g_return_val_if_fail (g_task_is_valid (result, self), 0);
  seq = g_task_propagate_pointer (G_TASK (result), error);
  return seq != NULL ? *seq : 0;
}

/**
 * hg_context_raise_alarm_async:
 * @self: an #HgContext
 * @alarm: the alarm
 * @cancellable: (nullable): a #GCancellable
 * @callback: called once the core has committed the alarm durably
 * @user_data: data for @callback
 *
 * Raises a social alarm. Needs `alarm.raise`. The call completes only after the alarm
 * is on disk in the municipal journal, so a plugin may tell the resident "sent" then.
 *
 * Since: 1.0
 */
void
hg_context_raise_alarm_async (HgContext *self,
                              HgAlarm *alarm,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  HgContextClass *klass;

  g_return_if_fail (HG_IS_CONTEXT (self));
  g_return_if_fail (HG_IS_ALARM (alarm));
  klass = HG_CONTEXT_GET_CLASS (self);
  klass->raise_alarm_async (self, alarm, cancellable, callback, user_data);
}

/**
 * hg_context_raise_alarm_finish:
 * @self: an #HgContext
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes hg_context_raise_alarm_async(). It succeeds only once the core has journaled
 * the alarm durably.
 *
 * Returns: (transfer full): the alarm's unique reference, or %NULL on error
 *
 * Since: 1.0
 */
gchar *
hg_context_raise_alarm_finish (HgContext *self,
                               GAsyncResult *result,
                               GError **error)
{
  g_return_val_if_fail (HG_IS_CONTEXT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * hg_context_report_alarm_async:
 * @self: an #HgContext
 * @reference: the alarm's reference
 * @state: the state it reached, e.g. %HG_ALARM_STATE_ACKNOWLEDGED
 * @detail: (nullable): facts about the step, e.g. which receiver answered
 * @cancellable: (nullable): a #GCancellable
 * @callback: called once the transition is journaled
 * @user_data: data for @callback
 *
 * Reports a delivery step of an alarm. Needs `alarm.deliver`. A delivery plugin reports
 * %HG_ALARM_STATE_DELIVERED, %HG_ALARM_STATE_DELIVERY_FAILED,
 * %HG_ALARM_STATE_ACKNOWLEDGED and %HG_ALARM_STATE_SPEECH_CONNECTED, each only forward, and
 * nothing once the alarm is closed or cancelled; the core answers another report with
 * %HG_ERROR_ILLEGAL_TRANSITION (since 0.2; %HG_ERROR_INVALID_DATA before). Reporting the
 * state the alarm is in again succeeds and changes nothing. A report of the current or an
 * earlier state whose @detail has an object `delivery` keeps that object in the alarm's
 * record (the plugin's own state of the alarm, e.g. the reference it goes on with)
 * without moving it. A plugin that gives up prompt delivery reports
 * %HG_ALARM_STATE_DELIVERY_FAILED (since 0.2) with the reason in @detail (`reason`), goes on
 * delivering in the background, and later reports %HG_ALARM_STATE_ACKNOWLEDGED if it gets
 * through; the core offers the alarm again in that state after a restart, so the plugin
 * can tell it has already given up once.
 *
 * A report the core cannot journal for now (its journal is full or failing) is not
 * dropped: the plugin host keeps it and sends it again, with a growing delay, until the
 * core journals it; @callback runs only then (or on an error retrying cannot cure, or
 * when @cancellable is cancelled). The reports of one alarm reach the core in the order
 * they were made, so a later step never overtakes an earlier one.
 *
 * Since: 1.0
 */
void
hg_context_report_alarm_async (HgContext *self,
                               const gchar *reference,
                               HgAlarmState state,
                               JsonObject *detail,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  HgContextClass *klass;

  g_return_if_fail (HG_IS_CONTEXT (self));
  g_return_if_fail (reference != NULL);
  klass = HG_CONTEXT_GET_CLASS (self);
  klass->report_alarm_async (self, reference, state, detail, cancellable, callback, user_data);
}

/**
 * hg_context_report_alarm_finish:
 * @self: an #HgContext
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes hg_context_report_alarm_async().
 *
 * Returns: %TRUE if the transition was journaled
 *
 * Since: 1.0
 */
gboolean
hg_context_report_alarm_finish (HgContext *self,
                                GAsyncResult *result,
                                GError **error)
{
  g_return_val_if_fail (HG_IS_CONTEXT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * hg_context_lookup_secret_async:
 * @self: an #HgContext
 * @key: the secret's name within this plugin, e.g. `sip-password`
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: data for @callback
 *
 * Looks up one of the instance's own secrets. Needs `secrets`. A plugin can reach
 * only secrets stored under its own id and domain.
 *
 * Since: 1.0
 */
void
hg_context_lookup_secret_async (HgContext *self,
                                const gchar *key,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
  HgContextClass *klass;

  g_return_if_fail (HG_IS_CONTEXT (self));
  g_return_if_fail (key != NULL);
  klass = HG_CONTEXT_GET_CLASS (self);
  klass->lookup_secret_async (self, key, cancellable, callback, user_data);
}

/**
 * hg_context_lookup_secret_finish:
 * @self: an #HgContext
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes hg_context_lookup_secret_async().
 *
 * Returns: (transfer full): the secret, or %NULL with %HG_ERROR_NOT_FOUND or another error
 *
 * Since: 1.0
 */
gchar *
hg_context_lookup_secret_finish (HgContext *self,
                                 GAsyncResult *result,
                                 GError **error)
{
  g_return_val_if_fail (HG_IS_CONTEXT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * hg_context_store_secret_async:
 * @self: an #HgContext
 * @key: the secret's name within this plugin
 * @value: the secret
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when stored
 * @user_data: data for @callback
 *
 * Stores one of the instance's own secrets. Needs `secrets`.
 *
 * Since: 1.0
 */
void
hg_context_store_secret_async (HgContext *self,
                               const gchar *key,
                               const gchar *value,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  HgContextClass *klass;

  g_return_if_fail (HG_IS_CONTEXT (self));
  g_return_if_fail (key != NULL);
  g_return_if_fail (value != NULL);
  klass = HG_CONTEXT_GET_CLASS (self);
  klass->store_secret_async (self, key, value, cancellable, callback, user_data);
}

/**
 * hg_context_store_secret_finish:
 * @self: an #HgContext
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes hg_context_store_secret_async().
 *
 * Returns: %TRUE if stored
 *
 * Since: 1.0
 */
gboolean
hg_context_store_secret_finish (HgContext *self,
                                GAsyncResult *result,
                                GError **error)
{
  g_return_val_if_fail (HG_IS_CONTEXT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * hg_context_report_health:
 * @self: an #HgContext
 * @health: the plugin's health report: a JSON object of the plugin's own design, at
 *   most 64 KiB as text, e.g. `{"broker": {"connected": true}, "dropped": 3}`
 *
 * Tells the core how the plugin is doing, for operators: the core keeps the last report
 * (in memory, not journaled) until the next one or until the plugin's host stops, and
 * shows it with the instance's state and restarts in `GET /api/v1/health`. Report when
 * something an operator should see has changed (a lost connection, a missed supervision,
 * counters of dropped input), at most every few seconds. Reports never name personal
 * data; those of instances in the personal domain are not shown to the municipality.
 *
 * A plugin with the capability `alarm.deliver` says that alarms are not reaching the alarm
 * centre right now (a silent receiver, a missed line supervision, an alarm whose delivery
 * failed) with a string member `delivery-fault`, the reason in English; `GET
 * /api/v1/health` then reports alarm delivery as degraded with that reason until a report
 * without the member (since 0.2).
 *
 * Needs no capability. It does not block and cannot fail; a report the core cannot take
 * (e.g. too large) is logged by the host and dropped.
 *
 * Since: 1.0
 */
void
hg_context_report_health (HgContext *self,
                          JsonObject *health)
{
  HgContextClass *klass;

  g_return_if_fail (HG_IS_CONTEXT (self));
  g_return_if_fail (health != NULL);
  klass = HG_CONTEXT_GET_CLASS (self);
  klass->report_health (self, health);
}

/**
 * hg_context_channel_send:
 * @self: an #HgContext
 * @channel_id: a channel opened to this instance (#HgContext::channel-opened)
 * @message: the message, a JSON object of the plugin's own design, at most
 *   %HG_CONTEXT_CHANNEL_MAX_MESSAGE as text
 *
 * Sends @message to the client at the other end of the channel. Needs
 * %HG_CAPABILITY_CHANNEL_SERVE. It does not block and cannot fail: messages reach the
 * client in the order they were sent, and one for a channel that has closed meanwhile, or
 * one too large, is dropped (the host logs it). The core bounds how fast a channel
 * carries messages each way.
 *
 * Since: 1.1
 */
void
hg_context_channel_send (HgContext *self,
                         const gchar *channel_id,
                         JsonObject *message)
{
  HgContextClass *klass;

  g_return_if_fail (HG_IS_CONTEXT (self));
  g_return_if_fail (channel_id != NULL);
  g_return_if_fail (message != NULL);
  klass = HG_CONTEXT_GET_CLASS (self);
  klass->channel_send (self, channel_id, message);
}

/**
 * hg_context_channel_close:
 * @self: an #HgContext
 * @channel_id: a channel opened to this instance
 *
 * Closes the channel: the client is told (`channel-closed`), and
 * #HgContext::channel-closed is not emitted for it. Needs %HG_CAPABILITY_CHANNEL_SERVE.
 * Closing a channel that has closed already does nothing.
 *
 * Since: 1.1
 */
void
hg_context_channel_close (HgContext *self,
                          const gchar *channel_id)
{
  HgContextClass *klass;

  g_return_if_fail (HG_IS_CONTEXT (self));
  g_return_if_fail (channel_id != NULL);
  klass = HG_CONTEXT_GET_CLASS (self);
  klass->channel_close (self, channel_id);
}
