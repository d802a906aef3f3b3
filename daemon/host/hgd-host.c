/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdHost: validates the plugin directory's manifest.json, loads the module it names and
 * looks up its one symbol, then answers org.hemgate.PluginHost1 on the connection to the
 * core: Start creates the plugin with an HgdHostContext, Stop stops it, Ping proves the
 * main loop is alive, HandleEvent passes events in. Emits "finished" when there is
 * nothing left to do (stopped, or the core went away). */
#include "config.h"

#include "hgd-dbus-generated.h"
#include "hgd-host-context.h"
#include "hgd-host.h"
#include "hgd-manifest.h"

#include <hg-event-private.h>

#define PLUGIN_HOST_PATH "/org/hemgate/PluginHost"
#define CONTEXT_PATH "/org/hemgate/Context"
#define QUERY_TYPE_SYMBOL "hg_plugin_query_type"

/* An event from the core is small; this only bounds what the host parses. */
#define MAX_EVENT_SIZE (256 * 1024)

struct _HgdHost
{
  GObject parent_instance;
  gchar *plugin_dir;                 /* (owned) */
  HgdManifest *manifest;             /* (owned) */
  GModule *module;                   /* (owned) resident: never unloaded */
  GType plugin_type;
  GDBusConnection *connection;       /* (owned) (nullable) until attached */
  HgdDBusPluginHost1 *skeleton;      /* (owned) (nullable) */
  HgdDBusContext1 *context_proxy;    /* (owned) (nullable) */
  HgPlugin *plugin;                  /* (owned) (nullable) until Start */
  gboolean running;
  gboolean finished;
  GCancellable *cancellable;         /* (owned) */
};

G_DEFINE_TYPE (HgdHost, hgd_host, G_TYPE_OBJECT)

enum
{
  SIGNAL_FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
emit_finished (HgdHost *self)
{
  if (self->finished)
    return;
  self->finished = TRUE;
  g_signal_emit (self, signals[SIGNAL_FINISHED], 0);
}

static void
set_state (HgdHost *self,
           const gchar *state)
{
  g_debug ("plugin %s: %s", hgd_manifest_get_id (self->manifest), state);
  hgd_dbus_plugin_host1_set_state (self->skeleton, state);
}

/* Plugins should fail with HG_ERROR; anything else reaches the core as HG_ERROR_FAILED,
 * and a rejected configuration is always HG_ERROR_INVALID_DATA. */
static void
return_plugin_error (GDBusMethodInvocation *invocation,
                     const GError *error,
                     gboolean configuring)
{
  g_autoptr(GError) converted = hgd_host_context_error_to_hg (error);

  if (configuring && converted->code != HG_ERROR_INVALID_DATA)
    converted->code = HG_ERROR_INVALID_DATA;
  if (converted->domain != HG_ERROR)
    {
      g_dbus_method_invocation_return_error_literal (invocation, HG_ERROR, HG_ERROR_FAILED,
                                                     converted->message);
      return;
    }
  g_dbus_method_invocation_return_gerror (invocation, converted);
}

typedef struct
{
  HgdHost *self;                     /* (owned) */
  GDBusMethodInvocation *invocation; /* (owned) */
} CallData;

static CallData *
call_data_new (HgdHost *self,
               GDBusMethodInvocation *invocation)
{
  CallData *data = g_new0 (CallData, 1);

  data->self = g_object_ref (self);
  data->invocation = g_object_ref (invocation);
  return data;
}

static void
call_data_free (CallData *data)
{
  g_object_unref (data->self);
  g_object_unref (data->invocation);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CallData, call_data_free)

static void
plugin_started_cb (GObject *source,
                   GAsyncResult *result,
                   gpointer user_data)
{
  g_autoptr(CallData) data = user_data;
  g_autoptr(GError) error = NULL;
  HgdHost *self;

  if (!hg_plugin_start_finish (HG_PLUGIN (source), result, &error))
    {
      return_plugin_error (data->invocation, error, FALSE);
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      set_state (data->self, "failed");
      return;
    }
  self = data->self;
  self->running = TRUE;
  set_state (self, "running");
  g_message ("plugin %s started as instance %s", hgd_manifest_get_id (self->manifest),
             hg_context_get_plugin_id (hg_plugin_get_context (self->plugin)));
  hgd_dbus_plugin_host1_complete_start (self->skeleton, data->invocation);
}

static gboolean
handle_start_cb (HgdDBusPluginHost1 *skeleton,
                 GDBusMethodInvocation *invocation,
                 const gchar *instance_id,
                 const gchar *domain_str,
                 const gchar *const *capabilities,
                 GVariant *config_variant,
                 HgdHost *self)
{
  g_autoptr(HgConfig) config = hg_config_new ();
  g_autoptr(HgdHostContext) context = NULL;
  g_autoptr(GError) error = NULL;
  GVariantIter iter;
  const gchar *key;
  const gchar *value;
  HgDomain domain;

  if (self->plugin != NULL)
    {
      g_dbus_method_invocation_return_error_literal (invocation, HG_ERROR, HG_ERROR_FAILED,
                                                     "the plugin was already started");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (!hg_domain_from_string (domain_str, &domain))
    {
      g_dbus_method_invocation_return_error (invocation, HG_ERROR, HG_ERROR_INVALID_DATA,
                                             "unknown domain '%s'", domain_str);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_variant_iter_init (&iter, config_variant);
  while (g_variant_iter_next (&iter, "{&s&s}", &key, &value))
    hg_config_set (config, key, value);

  context = hgd_host_context_new (self->context_proxy, instance_id, domain, config, capabilities);
  self->plugin = g_object_new (self->plugin_type, "context", context, NULL);
  set_state (self, "starting");
  if (!hg_plugin_configure (self->plugin, config, &error))
    {
      g_warning ("plugin %s rejected its configuration: %s", hgd_manifest_get_id (self->manifest),
                 error->message);
      set_state (self, "failed");
      return_plugin_error (invocation, error, TRUE);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  hg_plugin_start_async (self->plugin, self->cancellable, plugin_started_cb,
                         call_data_new (self, invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
flushed_cb (GObject *source,
            GAsyncResult *result,
            gpointer user_data)
{
  g_autoptr(HgdHost) self = user_data;

  /* The reply is out, or the core is gone: either way nothing is left to do. */
  g_dbus_connection_flush_finish (G_DBUS_CONNECTION (source), result, NULL);
  emit_finished (self);
}

static void
finish_stop (HgdHost *self,
             GDBusMethodInvocation *invocation)
{
  self->running = FALSE;
  set_state (self, "stopped");
  /* what the plugin published last goes out before the answer the host exits after */
  if (self->plugin != NULL)
    hgd_host_context_flush (HGD_HOST_CONTEXT (hg_plugin_get_context (self->plugin)));
  hgd_dbus_plugin_host1_complete_stop (self->skeleton, invocation);
  g_dbus_connection_flush (self->connection, NULL, flushed_cb, g_object_ref (self));
}

static void
plugin_stopped_cb (GObject *source,
                   GAsyncResult *result,
                   gpointer user_data)
{
  g_autoptr(CallData) data = user_data;
  g_autoptr(GError) error = NULL;

  if (!hg_plugin_stop_finish (HG_PLUGIN (source), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          return_plugin_error (data->invocation, error, FALSE);
          return;
        }
      g_warning ("plugin %s did not stop cleanly: %s",
                 hgd_manifest_get_id (data->self->manifest), error->message);
    }
  finish_stop (data->self, data->invocation);
}

static gboolean
handle_stop_cb (HgdDBusPluginHost1 *skeleton,
                GDBusMethodInvocation *invocation,
                HgdHost *self)
{
  if (self->plugin == NULL || !self->running)
    {
      finish_stop (self, invocation);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  set_state (self, "stopping");
  hg_plugin_stop_async (self->plugin, self->cancellable, plugin_stopped_cb,
                        call_data_new (self, invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Answered from the main loop on purpose: a plugin that blocks it goes unanswered. */
static gboolean
handle_ping_cb (HgdDBusPluginHost1 *skeleton,
                GDBusMethodInvocation *invocation,
                HgdHost *self)
{
  hgd_dbus_plugin_host1_complete_ping (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_handle_event_cb (HgdDBusPluginHost1 *skeleton,
                        GDBusMethodInvocation *invocation,
                        const gchar *event_json,
                        HgdHost *self)
{
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(HgEvent) event = NULL;
  g_autoptr(GError) error = NULL;

  if (!self->running)
    {
      g_dbus_method_invocation_return_error_literal (invocation, HG_ERROR, HG_ERROR_UNAVAILABLE,
                                                     "the plugin is not running");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  object = hg_json_parse_object (event_json, -1, MAX_EVENT_SIZE, &error);
  if (object != NULL)
    event = hg_event_new_from_json (object, &error);
  if (event == NULL)
    {
      g_prefix_error (&error, "event: ");
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  hgd_dbus_plugin_host1_complete_handle_event (skeleton, invocation);
  hg_plugin_handle_event (self->plugin, event);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* SecretChanged: the core says an operator set or removed one of the instance's secrets. */
static gboolean
handle_secret_changed_cb (HgdDBusPluginHost1 *skeleton,
                          GDBusMethodInvocation *invocation,
                          const gchar *key,
                          HgdHost *self)
{
  if (!self->running)
    {
      g_dbus_method_invocation_return_error_literal (invocation, HG_ERROR, HG_ERROR_UNAVAILABLE,
                                                     "the plugin is not running");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  hgd_dbus_plugin_host1_complete_secret_changed (skeleton, invocation);
  g_signal_emit_by_name (hg_plugin_get_context (self->plugin), "secret-changed", key);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ChannelOpened, ChannelMessage, ChannelClosed: an API client's channel to the instance,
 * checked by the core */
static gboolean
check_running (HgdHost *self,
               GDBusMethodInvocation *invocation)
{
  if (self->running)
    return TRUE;
  g_dbus_method_invocation_return_error_literal (invocation, HG_ERROR, HG_ERROR_UNAVAILABLE,
                                                 "the plugin is not running");
  return FALSE;
}

static gboolean
handle_channel_opened_cb (HgdDBusPluginHost1 *skeleton,
                          GDBusMethodInvocation *invocation,
                          const gchar *channel_id,
                          const gchar *user,
                          const gchar *role,
                          const gchar *purpose,
                          HgdHost *self)
{
  if (!check_running (self, invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  hgd_dbus_plugin_host1_complete_channel_opened (skeleton, invocation);
  g_signal_emit_by_name (hg_plugin_get_context (self->plugin), "channel-opened", channel_id, user,
                         role, *purpose != '\0' ? purpose : NULL);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_channel_message_cb (HgdDBusPluginHost1 *skeleton,
                           GDBusMethodInvocation *invocation,
                           const gchar *channel_id,
                           const gchar *message_json,
                           HgdHost *self)
{
  g_autoptr(JsonObject) message = NULL;
  g_autoptr(GError) error = NULL;

  if (!check_running (self, invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  message = hg_json_parse_object (message_json, -1, HG_CONTEXT_CHANNEL_MAX_MESSAGE, &error);
  if (message == NULL)
    {
      g_prefix_error (&error, "channel message: ");
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  hgd_dbus_plugin_host1_complete_channel_message (skeleton, invocation);
  g_signal_emit_by_name (hg_plugin_get_context (self->plugin), "channel-message", channel_id,
                         message);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_channel_closed_cb (HgdDBusPluginHost1 *skeleton,
                          GDBusMethodInvocation *invocation,
                          const gchar *channel_id,
                          HgdHost *self)
{
  if (!check_running (self, invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  hgd_dbus_plugin_host1_complete_channel_closed (skeleton, invocation);
  g_signal_emit_by_name (hg_plugin_get_context (self->plugin), "channel-closed", channel_id);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
connection_closed_cb (GDBusConnection *connection,
                      gboolean remote_peer_vanished,
                      GError *error,
                      HgdHost *self)
{
  g_debug ("connection to the core closed%s%s", error != NULL ? ": " : "",
           error != NULL ? error->message : "");
  emit_finished (self);
}

static gboolean
load_module (HgdHost *self,
             GError **error)
{
  g_autofree gchar *path = g_build_filename (self->plugin_dir, hgd_manifest_get_module (self->manifest), NULL);
  HgPluginQueryTypeFunc query_type = NULL;
  GType type;

  self->module = g_module_open (path, G_MODULE_BIND_LOCAL);
  if (self->module == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_FAILED, "cannot load %s: %s", path, g_module_error ());
      return FALSE;
    }
  if (!g_module_symbol (self->module, QUERY_TYPE_SYMBOL, (gpointer *) &query_type) || query_type == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_FAILED, "%s does not export %s", path, QUERY_TYPE_SYMBOL);
      return FALSE;
    }
  /* The module registers GTypes, which can never be unregistered. */
  g_module_make_resident (self->module);
  type = query_type ();
  if (!g_type_is_a (type, HG_TYPE_PLUGIN) || G_TYPE_IS_ABSTRACT (type))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_FAILED, "%s: %s is not an instantiable HgPlugin",
                   path, QUERY_TYPE_SYMBOL);
      return FALSE;
    }
  self->plugin_type = type;
  return TRUE;
}

/**
 * hgd_host_new:
 * @plugin_dir: the directory holding manifest.json and the module it names
 * @error: return location for a #GError
 *
 * Validates the manifest, then loads the module and finds its #HgPlugin type.
 *
 * Returns: (transfer full): the host, or %NULL with an error naming the file
 */
HgdHost *
hgd_host_new (const gchar *plugin_dir,
              GError **error)
{
  g_autoptr(HgdHost) self = g_object_new (HGD_TYPE_HOST, NULL);
  g_autofree gchar *manifest_path = g_build_filename (plugin_dir, "manifest.json", NULL);

  g_return_val_if_fail (plugin_dir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self->plugin_dir = g_strdup (plugin_dir);
  self->manifest = hgd_manifest_new_from_file (manifest_path, error);
  if (self->manifest == NULL)
    return NULL;
  if (!load_module (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

/**
 * hgd_host_attach:
 * @self: an #HgdHost
 * @connection: the connection to the core, with message processing not yet started
 * @error: return location for a #GError
 *
 * Exports org.hemgate.PluginHost1 and creates the org.hemgate.Context1 proxy the
 * plugin's context calls. The caller starts message processing afterwards.
 *
 * Returns: %TRUE on success
 */
gboolean
hgd_host_attach (HgdHost *self,
                 GDBusConnection *connection,
                 GError **error)
{
  g_return_val_if_fail (HGD_IS_HOST (self), FALSE);
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), FALSE);
  g_return_val_if_fail (self->connection == NULL, FALSE);

  self->connection = g_object_ref (connection);
  g_signal_connect_object (connection, "closed", G_CALLBACK (connection_closed_cb), self, 0);

  self->context_proxy =
    hgd_dbus_context1_proxy_new_sync (connection,
                                      G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES |
                                        G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS,
                                      NULL, CONTEXT_PATH, self->cancellable, error);
  if (self->context_proxy == NULL)
    return FALSE;

  self->skeleton = hgd_dbus_plugin_host1_skeleton_new ();
  hgd_dbus_plugin_host1_set_plugin_id (self->skeleton, hgd_manifest_get_id (self->manifest));
  hgd_dbus_plugin_host1_set_state (self->skeleton, "loaded");
  g_signal_connect_object (self->skeleton, "handle-start", G_CALLBACK (handle_start_cb), self, 0);
  g_signal_connect_object (self->skeleton, "handle-stop", G_CALLBACK (handle_stop_cb), self, 0);
  g_signal_connect_object (self->skeleton, "handle-ping", G_CALLBACK (handle_ping_cb), self, 0);
  g_signal_connect_object (self->skeleton, "handle-handle-event",
                           G_CALLBACK (handle_handle_event_cb), self, 0);
  g_signal_connect_object (self->skeleton, "handle-secret-changed",
                           G_CALLBACK (handle_secret_changed_cb), self, 0);
  g_signal_connect_object (self->skeleton, "handle-channel-opened",
                           G_CALLBACK (handle_channel_opened_cb), self, 0);
  g_signal_connect_object (self->skeleton, "handle-channel-message",
                           G_CALLBACK (handle_channel_message_cb), self, 0);
  g_signal_connect_object (self->skeleton, "handle-channel-closed",
                           G_CALLBACK (handle_channel_closed_cb), self, 0);
  return g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->skeleton), connection,
                                           PLUGIN_HOST_PATH, error);
}

static void
hgd_host_dispose (GObject *object)
{
  HgdHost *self = HGD_HOST (object);

  g_cancellable_cancel (self->cancellable);
  if (self->skeleton != NULL)
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->skeleton));
  g_clear_object (&self->plugin);
  g_clear_object (&self->skeleton);
  g_clear_object (&self->context_proxy);
  g_clear_object (&self->connection);
  g_clear_object (&self->manifest);
  G_OBJECT_CLASS (hgd_host_parent_class)->dispose (object);
}

static void
hgd_host_finalize (GObject *object)
{
  HgdHost *self = HGD_HOST (object);

  /* The module is resident; closing only drops the handle. */
  g_clear_pointer (&self->module, g_module_close);
  g_free (self->plugin_dir);
  g_object_unref (self->cancellable);
  G_OBJECT_CLASS (hgd_host_parent_class)->finalize (object);
}

static void
hgd_host_class_init (HgdHostClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hgd_host_dispose;
  object_class->finalize = hgd_host_finalize;

  /**
   * HgdHost::finished:
   *
   * The plugin has stopped or the core has gone; the host should exit.
   */
  signals[SIGNAL_FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
hgd_host_init (HgdHost *self)
{
  self->cancellable = g_cancellable_new ();
}
