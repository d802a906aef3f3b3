/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgPlugin: holds the plugin's HgContext and gives every vfunc a harmless default. */
#include "config.h"

#include "hg-plugin.h"

typedef struct
{
  HgContext *context; /* (owned) */
} HgPluginPrivate;

/**
 * HgPlugin:
 *
 * The base class of every hemgate plugin. A plugin module subclasses it and exports one
 * symbol, `hg_plugin_query_type()` (see %HG_PLUGIN_EXPORT), returning the subclass; the
 * plugin host creates the object with its #HgContext and drives it through
 * #HgPluginClass.
 *
 * Since: 1.0
 */
G_DEFINE_TYPE_WITH_PRIVATE (HgPlugin, hg_plugin, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_CONTEXT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
hg_plugin_dispose (GObject *object)
{
  HgPluginPrivate *priv = hg_plugin_get_instance_private (HG_PLUGIN (object));

  g_clear_object (&priv->context);
  G_OBJECT_CLASS (hg_plugin_parent_class)->dispose (object);
}

static void
hg_plugin_get_property (GObject *object,
                        guint prop_id,
                        GValue *value,
                        GParamSpec *pspec)
{
  HgPluginPrivate *priv = hg_plugin_get_instance_private (HG_PLUGIN (object));

  switch (prop_id)
    {
    case PROP_CONTEXT:
      g_value_set_object (value, priv->context);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_plugin_set_property (GObject *object,
                        guint prop_id,
                        const GValue *value,
                        GParamSpec *pspec)
{
  HgPluginPrivate *priv = hg_plugin_get_instance_private (HG_PLUGIN (object));

  switch (prop_id)
    {
    case PROP_CONTEXT:
      priv->context = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_plugin_class_init (HgPluginClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hg_plugin_dispose;
  object_class->get_property = hg_plugin_get_property;
  object_class->set_property = hg_plugin_set_property;

  /**
   * HgPlugin:context:
   *
   * The plugin's window onto the gateway, set by the host at construction.
   *
   * Since: 1.0
   */
  properties[PROP_CONTEXT] =
    g_param_spec_object ("context", NULL, NULL, HG_TYPE_CONTEXT,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
hg_plugin_init (HgPlugin *self)
{
}

/**
 * hg_plugin_get_context:
 * @self: an #HgPlugin
 *
 * Gets the context the plugin was created with: its only window onto the gateway.
 *
 * Returns: (transfer none): the plugin's #HgContext
 *
 * Since: 1.0
 */
HgContext *
hg_plugin_get_context (HgPlugin *self)
{
  HgPluginPrivate *priv = hg_plugin_get_instance_private (self);

  g_return_val_if_fail (HG_IS_PLUGIN (self), NULL);
  return priv->context;
}

/**
 * hg_plugin_configure:
 * @self: an #HgPlugin
 * @config: the instance's configuration
 * @error: return location for a #GError
 *
 * Lets the plugin check its configuration before it starts; calls
 * #HgPluginClass.configure, if the plugin has one.
 *
 * Returns: %TRUE if the plugin accepts @config
 *
 * Since: 1.0
 */
gboolean
hg_plugin_configure (HgPlugin *self,
                     HgConfig *config,
                     GError **error)
{
  HgPluginClass *klass;

  g_return_val_if_fail (HG_IS_PLUGIN (self), FALSE);
  g_return_val_if_fail (HG_IS_CONFIG (config), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  klass = HG_PLUGIN_GET_CLASS (self);
  if (klass->configure == NULL)
    return TRUE;
  return klass->configure (self, config, error);
}

/**
 * hg_plugin_start_async:
 * @self: an #HgPlugin
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when started
 * @user_data: data for @callback
 *
 * Starts the plugin: calls #HgPluginClass.start_async, or completes at once if the
 * plugin has none.
 *
 * Since: 1.0
 */
void
hg_plugin_start_async (HgPlugin *self,
                       GCancellable *cancellable,
                       GAsyncReadyCallback callback,
                       gpointer user_data)
{
  HgPluginClass *klass;

  g_return_if_fail (HG_IS_PLUGIN (self));
  klass = HG_PLUGIN_GET_CLASS (self);
  if (klass->start_async == NULL)
    {
      g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
      g_task_set_source_tag (task, hg_plugin_start_async);
      g_task_return_boolean (task, TRUE);
      return;
    }
  klass->start_async (self, cancellable, callback, user_data);
}

/**
 * hg_plugin_start_finish:
 * @self: an #HgPlugin
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes hg_plugin_start_async().
 *
 * Returns: %TRUE if the plugin started
 *
 * Since: 1.0
 */
gboolean
hg_plugin_start_finish (HgPlugin *self,
                        GAsyncResult *result,
                        GError **error)
{
  g_return_val_if_fail (HG_IS_PLUGIN (self), FALSE);
  if (g_task_is_valid (result, self) &&
      g_task_get_source_tag (G_TASK (result)) == hg_plugin_start_async)
    return g_task_propagate_boolean (G_TASK (result), error);
  return HG_PLUGIN_GET_CLASS (self)->start_finish (self, result, error);
}

/**
 * hg_plugin_stop_async:
 * @self: an #HgPlugin
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when stopped
 * @user_data: data for @callback
 *
 * Stops the plugin: calls #HgPluginClass.stop_async, or completes at once if the plugin
 * has none.
 *
 * Since: 1.0
 */
void
hg_plugin_stop_async (HgPlugin *self,
                      GCancellable *cancellable,
                      GAsyncReadyCallback callback,
                      gpointer user_data)
{
  HgPluginClass *klass;

  g_return_if_fail (HG_IS_PLUGIN (self));
  klass = HG_PLUGIN_GET_CLASS (self);
  if (klass->stop_async == NULL)
    {
      g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
      g_task_set_source_tag (task, hg_plugin_stop_async);
      g_task_return_boolean (task, TRUE);
      return;
    }
  klass->stop_async (self, cancellable, callback, user_data);
}

/**
 * hg_plugin_stop_finish:
 * @self: an #HgPlugin
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes hg_plugin_stop_async().
 *
 * Returns: %TRUE if the plugin stopped cleanly
 *
 * Since: 1.0
 */
gboolean
hg_plugin_stop_finish (HgPlugin *self,
                       GAsyncResult *result,
                       GError **error)
{
  g_return_val_if_fail (HG_IS_PLUGIN (self), FALSE);
  if (g_task_is_valid (result, self) &&
      g_task_get_source_tag (G_TASK (result)) == hg_plugin_stop_async)
    return g_task_propagate_boolean (G_TASK (result), error);
  return HG_PLUGIN_GET_CLASS (self)->stop_finish (self, result, error);
}

/**
 * hg_plugin_handle_event:
 * @self: an #HgPlugin
 * @event: the event
 *
 * Hands the plugin an event its grant lets it see; calls #HgPluginClass.handle_event,
 * if the plugin has one.
 *
 * Since: 1.0
 */
void
hg_plugin_handle_event (HgPlugin *self,
                        HgEvent *event)
{
  HgPluginClass *klass;

  g_return_if_fail (HG_IS_PLUGIN (self));
  g_return_if_fail (HG_IS_EVENT (event));
  klass = HG_PLUGIN_GET_CLASS (self);
  if (klass->handle_event != NULL)
    klass->handle_event (self, event);
}
