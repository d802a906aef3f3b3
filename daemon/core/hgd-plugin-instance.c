/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdPluginInstance: reads one [plugin:<id>] group and the plugin's manifest.json, derives
 * the grant (manifest capabilities less the group's `deny`), and keeps one
 * hemgate-plugin-host running for it:
 *
 *   spawn (socketpair end as fd 3) -> D-Bus handshake (we are the server) -> export
 *   Context1 -> PluginHost1.Start within start-timeout -> running: Ping every
 *   watchdog-interval, answered within watchdog-timeout; events in through HandleEvent.
 *
 * A host that exits, fails to start, or misses its watchdog is killed and restarted after
 * 1 s, 2 s, 4 s... capped at restart-max-delay; the backoff starts over once a host has
 * been running for restart-max-delay seconds. Every failure is logged as a warning and
 * journaled in the instance's OWN domain ("plugin.crashed", "plugin.hung",
 * "plugin.failed", "plugin.restarted", source "core"): the instance belongs to that
 * domain, and its health is in GET /api/v1/health for both. Only a plugin rejecting its
 * configuration, or a bad manifest, stops the restarts (state failed). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hgd-alarm-lifecycle.h"
#include "hgd-capabilities.h"
#include "hgd-channels.h"
#include "hgd-context-impl.h"
#include "hgd-dbus-generated.h"
#include "hgd-log.h"
#include "hgd-manifest.h"
#include "hgd-plugin-instance.h"
#include "hgd-sandbox.h"

#define PLUGIN_HOST_PATH "/org/hemgate/PluginHost"

/* Events waiting for a slow host; beyond this, sensor events are dropped and counted.
 * alarm.* events are never dropped. */
#define MAX_QUEUED_EVENTS 256
/* HandleEvent calls in flight at once; the replies are the flow control. */
#define MAX_EVENTS_IN_FLIGHT 8
/* Of those, re-offers of open alarms (after a host start): a new alarm waits behind at
 * most these, never behind every open alarm. */
#define MAX_REOFFERS_IN_FLIGHT 2
/* Stop: how long the host gets to answer Stop, and between SIGTERM and SIGKILL. */
#define STOP_TIMEOUT_MS 2000
#define STOP_GRACE_SECONDS 2
/* How long a host that lost its connection may take to exit by itself. */
#define DISCONNECT_GRACE_SECONDS 2

struct _HgdPluginInstance
{
  GObject parent_instance;

  /* configuration, fixed at construction */
  gchar *id;                            /* (owned) */
  gchar *source;                        /* (owned) "plugin:<id>" */
  HgdConfig *config;                    /* (owned) */
  HgdJournal *journals[HG_DOMAIN_LAST]; /* (owned) (nullable) each */
  HgdAlarms *alarms;                    /* (owned) */
  HgdSecrets *secrets;                  /* (owned) */
  HgdLimits *limits;                    /* (owned) (nullable) applied to each host */
  struct _HgdChannels *channels;        /* (owned) (nullable) API clients' channels */
  gboolean enabled;
  gchar *host_path;                     /* (owned) */
  guint watchdog_interval;              /* seconds */
  guint watchdog_timeout;
  guint start_timeout;
  guint restart_max_delay;

  /* installed from a bundle (hgd-bundles.c) rather than named in hemgate.conf: its
   * folder is this link (`<state>/<domain>/bundles/<id>/current`), resolved at each
   * load, and its domain is the one it was installed into */
  gchar *installed_link;                /* (owned) (nullable) */
  GHashTable *stored_config;            /* (owned) (nullable) utf8 -> utf8, a bundle's keys
                                         * the core stores (the fleet manifest's `config`) */
  HgDomain installed_domain;

  /* what load() found; reloaded by an admin restart of a failed instance */
  gchar *plugin;                        /* (owned) the plugin directory's name */
  gchar *plugin_dir;                    /* (owned) */
  HgdManifest *manifest;                /* (owned) (nullable) */
  gboolean domain_known;
  HgDomain domain;
  GStrv grant;                          /* (owned) */

  /* life cycle */
  HgdPluginState state;
  gchar *error;                         /* (owned) (nullable) the last failure */
  guint restarts;
  guint failures;                       /* in a row, for the backoff */
  guint64 dropped;
  gboolean dropping;                    /* a drop was logged; reset when the queue drains */
  gboolean permanent_failure;           /* do not restart: the plugin rejected its config */
  gboolean restart_now;                 /* an admin restart: respawn without backoff */
  GPtrArray *stop_tasks;                /* (owned) (element-type GTask) */
  guint backoff_id;
  GCancellable *cancellable;            /* (owned) for the object's lifetime */

  /* the current host, all cleared by teardown_host() */
  GSubprocess *subprocess;              /* (owned) (nullable) */
  gboolean in_namespaces;               /* the host is behind the sandbox's waiting processes */
  GDBusConnection *connection;          /* (owned) (nullable) */
  HgdDBusPluginHost1 *host_proxy;       /* (owned) (nullable) */
  HgdContextImpl *context;              /* (owned) (nullable) */
  GCancellable *host_cancellable;       /* (owned) (nullable) calls to this host */
  const gchar *kill_reason;             /* (nullable) why we killed it, if we did */
  guint start_timeout_id;
  guint watchdog_id;
  guint stable_id;
  guint stop_kill_id;
  guint stop_phase;
  guint disconnect_id;
  gboolean ping_in_flight;
  guint probe_interval; /* seconds: delivery-check-interval */
  guint probe_id;       /* an alarm.deliver instance's responsiveness probe */
  gboolean probe_in_flight;
  gint64 unanswered_since; /* monotonic, of the oldest unanswered probe; 0 if answered */
  GQueue queue;                         /* (element-type QueuedEvent) for HandleEvent */
  guint in_flight;
  GQueue reoffers;                      /* (element-type utf8) references of open alarms to
                                         * offer again, sent only when @queue is empty */
  guint reoffers_in_flight;
  HgdAlarmRouting *routing;             /* (owned) (nullable) which alarms are this one's */
  /* The municipal seq up to which the plugin took every alarm event (HandleEvent
   * answered; a host answers in order). A host that starts gets the alarms that ended
   * after it (cancelled, closed) as well as the open ones. A delivery plugin's is kept
   * on disk (the cursor file, at most CURSOR_SAVE_INTERVAL_USEC behind), so that this
   * holds across a crash of the core too. */
  guint64 alarm_seq_taken;
  guint64 cursor_saved;    /* the value on disk, or being written */
  gboolean cursor_writing; /* a write is in flight; the next waits for it */
  guint cursor_save_id;    /* the next write waits for CURSOR_SAVE_INTERVAL_USEC */
  gint64 cursor_written_at; /* monotonic, when the last write began; 0 before the first */
};

/* An event waiting for HandleEvent, and the call in flight. */
typedef struct
{
  HgdPluginInstance *self; /* (unowned) valid unless the call was cancelled */
  gchar *json;             /* (owned) */
  guint64 alarm_seq;       /* of an alarm event of the municipal journal, else 0 */
  gboolean reoffer;        /* an open alarm offered again, from @reoffers */
} QueuedEvent;

static void
queued_event_free (QueuedEvent *queued)
{
  g_free (queued->json);
  g_free (queued);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QueuedEvent, queued_event_free)

G_DEFINE_TYPE (HgdPluginInstance, hgd_plugin_instance, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_STATE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void spawn_host (HgdPluginInstance *self);

static const gchar *const state_names[] = {
  "disabled", "failed", "stopped", "starting", "running", "restarting", "stopping",
};

/* Returns: the stable name used in to_json() and the API, e.g. `running` */
const gchar *
hgd_plugin_state_to_string (HgdPluginState state)
{
  if ((guint) state >= G_N_ELEMENTS (state_names))
    return NULL;
  return state_names[state];
}

static void
set_state (HgdPluginInstance *self,
           HgdPluginState state)
{
  if (self->state == state)
    return;
  g_debug ("plugin %s: %s -> %s", self->id, hgd_plugin_state_to_string (self->state),
           hgd_plugin_state_to_string (state));
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

/* A warning with the journald field HG_PLUGIN, so `journalctl HG_PLUGIN=<id>` finds it. */
G_GNUC_PRINTF (2, 3) static void
warn (HgdPluginInstance *self,
      const gchar *format,
      ...)
{
  g_autofree gchar *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "HG_PLUGIN", self->id, "MESSAGE", "%s", message);
}

static void
set_error (HgdPluginInstance *self,
           const gchar *error)
{
  g_free (self->error);
  self->error = g_strdup (error);
}

/* Whether the grant makes the instance a path for alarms (alarm.deliver): see
 * HGD_CAPABILITY_FLAGS_DELIVERS_ALARMS. */
static gboolean
delivers_alarms (HgdPluginInstance *self)
{
  return self->grant != NULL
         && hgd_capabilities_grant_has_flags ((const gchar *const *) self->grant,
                                              HGD_CAPABILITY_FLAGS_DELIVERS_ALARMS);
}

static void
event_recorded_cb (GObject *source,
                   GAsyncResult *result,
                   gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!hgd_journal_append_finish (HGD_JOURNAL (source), result, &error))
    g_warning ("plugin event not journaled: %s", error->message);
}

/* Journals a plugin.* event in the instance's own domain. @body is consumed. */
static void
record_event (HgdPluginInstance *self,
              const gchar *type,
              JsonObject *body)
{
  g_autoptr(JsonObject) owned = body;
  g_autoptr(HgEvent) event = NULL;
  HgdJournal *journal = self->domain_known ? self->journals[self->domain] : self->journals[HG_DOMAIN_MUNICIPAL];

  json_object_set_string_member (owned, "plugin", self->id);
  if (journal == NULL)
    {
      g_debug ("plugin %s: no journal for %s", self->id, type);
      return;
    }
  event = hg_event_new (type, owned);
  hg_event_set_source (event, "core");
  hgd_journal_append_async (journal, event, NULL, NULL, event_recorded_cb, NULL);
}

/* configuration and manifest */

static gboolean
load (HgdPluginInstance *self,
      GError **error)
{
  g_autofree gchar *group = g_strdup_printf ("plugin:%s", self->id);
  g_autofree gchar *manifest_path = NULL;
  g_auto(GStrv) deny = NULL;
  g_autoptr(GStrvBuilder) grant = g_strv_builder_new ();
  const gchar *plugin = hgd_config_get_string (self->config, group, "plugin");
  const gchar *domain = hgd_config_get_string (self->config, group, "domain");
  const gchar *const *capabilities;

  g_clear_object (&self->manifest);
  g_clear_pointer (&self->grant, g_strfreev);
  g_clear_pointer (&self->plugin_dir, g_free);
  g_free (self->plugin);
  /* a bundle's instance is its plugin's id; a `source = bundle` group gives it keys alone */
  self->plugin = g_strdup (plugin[0] != '\0' && self->installed_link == NULL ? plugin : self->id);
  self->domain_known = FALSE;

  if (!hgd_manifest_id_is_valid (self->plugin))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "[%s] plugin '%s' is not a plugin id", group, self->plugin);
      return FALSE;
    }
  /* A credential in the configuration, in plain text, is for the demo alone: elsewhere
   * it would quietly stand in for the secret that is missing. */
  if (!hgd_config_get_demo (self->config))
    {
      g_autoptr(HgConfig) keys_config = hgd_config_get_plugin_config (self->config, self->id);
      g_auto(GStrv) keys = hg_config_get_keys (keys_config);

      for (guint i = 0; keys[i] != NULL; i++)
        {
          if (g_str_has_prefix (keys[i], "demo-"))
            {
              g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                           "[%s] %s is for the demo only (hemgated --demo): store the "
                           "credential as a secret of the instance and remove the key",
                           group, keys[i]);
              return FALSE;
            }
        }
    }
  if (domain[0] != '\0' && hg_domain_from_string (domain, &self->domain))
    self->domain_known = TRUE;

  if (self->installed_link != NULL)
    {
      /* the version the link names now: a switch takes effect at the next load */
      g_autofree gchar *target = g_file_read_link (self->installed_link, error);
      g_autofree gchar *parent = g_path_get_dirname (self->installed_link);

      if (target == NULL)
        return FALSE;
      self->plugin_dir = g_canonicalize_filename (target, parent);
      self->domain = self->installed_domain;
      self->domain_known = TRUE;
    }
  else
    self->plugin_dir = g_build_filename (
        hgd_config_get_string (self->config, "plugins", "directory"), self->plugin, NULL);
  manifest_path = g_build_filename (self->plugin_dir, "manifest.json", NULL);
  self->manifest = hgd_manifest_new_from_file (manifest_path, error);
  if (self->manifest == NULL)
    return FALSE;
  if (g_strcmp0 (hgd_manifest_get_id (self->manifest), self->plugin) != 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "manifest %s: id '%s' does not match its directory '%s'", manifest_path,
                   hgd_manifest_get_id (self->manifest), self->plugin);
      return FALSE;
    }

  if (!self->domain_known)
    {
      if (!hgd_manifest_get_only_domain (self->manifest, &self->domain))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       "[%s] needs 'domain': plugin %s may be installed in more than one",
                       group, self->plugin);
          return FALSE;
        }
      self->domain_known = TRUE;
    }
  else if (!hgd_manifest_allows_domain (self->manifest, self->domain))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   "[%s] domain %s: plugin %s may not be installed there", group,
                   hg_domain_to_string (self->domain), self->plugin);
      return FALSE;
    }

  /* A typo in `deny` must not quietly grant what it meant to withhold. */
  deny = hgd_config_get_strv (self->config, group, "deny");
  for (guint i = 0; deny[i] != NULL; i++)
    {
      if (!hgd_capability_check (deny[i], error))
        {
          g_prefix_error (error, "[%s] deny: ", group);
          return FALSE;
        }
    }
  capabilities = hgd_manifest_get_capabilities (self->manifest);
  for (guint i = 0; capabilities[i] != NULL; i++)
    {
      if (!g_strv_contains ((const gchar *const *) deny, capabilities[i]))
        g_strv_builder_add (grant, capabilities[i]);
    }
  self->grant = g_strv_builder_end (grant);
  return TRUE;
}

static gboolean
ensure_loaded (HgdPluginInstance *self)
{
  g_autoptr(GError) error = NULL;

  if (load (self, &error))
    {
      set_error (self, NULL);
      return TRUE;
    }
  warn (self, "plugin %s cannot run: %s", self->id, error->message);
  set_error (self, error->message);
  set_state (self, HGD_PLUGIN_STATE_FAILED);
  return FALSE;
}

/* tearing a host down */

static void
complete_stop_tasks (HgdPluginInstance *self)
{
  g_autoptr(GPtrArray) tasks = g_steal_pointer (&self->stop_tasks);

  self->stop_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < tasks->len; i++)
    g_task_return_boolean (g_ptr_array_index (tasks, i), TRUE);
}

static void
teardown_host (HgdPluginInstance *self)
{
  if (self->host_cancellable != NULL)
    g_cancellable_cancel (self->host_cancellable);
  g_clear_object (&self->host_cancellable);
  g_clear_handle_id (&self->start_timeout_id, g_source_remove);
  g_clear_handle_id (&self->watchdog_id, g_source_remove);
  g_clear_handle_id (&self->probe_id, g_source_remove);
  g_clear_handle_id (&self->stable_id, g_source_remove);
  g_clear_handle_id (&self->stop_kill_id, g_source_remove);
  g_clear_handle_id (&self->disconnect_id, g_source_remove);
  if (self->context != NULL)
    hgd_context_impl_unexport (self->context);
  g_clear_object (&self->context);
  g_clear_object (&self->host_proxy);
  if (self->connection != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->connection, self);
      g_dbus_connection_close (self->connection, NULL, NULL, NULL);
    }
  g_clear_object (&self->connection);
  g_clear_object (&self->subprocess);
  g_queue_clear_full (&self->queue, (GDestroyNotify) queued_event_free);
  g_queue_clear_full (&self->reoffers, g_free);
  self->in_flight = 0;
  self->reoffers_in_flight = 0;
  self->dropping = FALSE;
  self->ping_in_flight = FALSE;
  self->probe_in_flight = FALSE;
  self->unanswered_since = 0;
  self->kill_reason = NULL;
  self->stop_phase = 0;
}

/* Kills the host; host_exited_cb() takes it from there. */
static void
kill_host (HgdPluginInstance *self,
           const gchar *reason)
{
  if (self->subprocess == NULL)
    return;
  if (self->kill_reason == NULL)
    self->kill_reason = reason;
  g_subprocess_force_exit (self->subprocess);
}

static gboolean
backoff_done_cb (gpointer user_data)
{
  HgdPluginInstance *self = HGD_PLUGIN_INSTANCE (user_data);
  JsonObject *body = json_object_new ();
  guint delay = MIN (1u << MIN (self->failures - 1, 16u), self->restart_max_delay);

  self->backoff_id = 0;
  self->restarts++;
  HGD_LOG_EVENT (G_LOG_LEVEL_MESSAGE, HGD_MESSAGE_ID_PLUGIN_RESTARTED, "HG_PLUGIN", self->id,
                 "plugin %s restarted after %u s (restart %u)", self->id, delay, self->restarts);
  json_object_set_int_member (body, "restarts", self->restarts);
  json_object_set_int_member (body, "delay", delay);
  json_object_set_string_member (body, "reason", "backoff");
  record_event (self, "plugin.restarted", body);
  spawn_host (self);
  return G_SOURCE_REMOVE;
}

/* 1 s, 2 s, 4 s... capped at restart-max-delay */
static void
schedule_restart (HgdPluginInstance *self)
{
  guint delay = MIN (1u << MIN (self->failures, 16u), self->restart_max_delay);

  self->failures++;
  set_state (self, HGD_PLUGIN_STATE_RESTARTING);
  g_clear_handle_id (&self->backoff_id, g_source_remove);
  self->backoff_id = g_timeout_add_seconds (delay, backoff_done_cb, self);
}

/* An operator asked: no backoff, and the failure count starts over. */
static void
restart_on_request (HgdPluginInstance *self)
{
  JsonObject *body = json_object_new ();

  self->restart_now = FALSE;
  self->failures = 0;
  self->restarts++;
  HGD_LOG_EVENT (G_LOG_LEVEL_MESSAGE, HGD_MESSAGE_ID_PLUGIN_RESTARTED, "HG_PLUGIN", self->id,
                 "plugin %s restarted on request (restart %u)", self->id, self->restarts);
  json_object_set_int_member (body, "restarts", self->restarts);
  json_object_set_int_member (body, "delay", 0);
  json_object_set_string_member (body, "reason", "request");
  record_event (self, "plugin.restarted", body);
  spawn_host (self);
}

static gchar *
describe_exit (GSubprocess *subprocess)
{
  if (g_subprocess_get_if_signaled (subprocess))
    {
      gint sig = g_subprocess_get_term_sig (subprocess);
      return g_strdup_printf ("killed by signal %d (%s)", sig, g_strsignal (sig));
    }
  return g_strdup_printf ("exited with status %d", g_subprocess_get_exit_status (subprocess));
}

static void
host_gone (HgdPluginInstance *self)
{
  g_autofree gchar *how = describe_exit (self->subprocess);
  const gchar *reason = self->kill_reason;

  teardown_host (self);

  if (self->state == HGD_PLUGIN_STATE_STOPPING)
    {
      g_debug ("plugin %s host %s", self->id, how);
      set_state (self, HGD_PLUGIN_STATE_STOPPED);
      complete_stop_tasks (self);
      return;
    }
  if (self->restart_now)
    {
      restart_on_request (self);
      return;
    }
  if (reason == NULL)
    {
      JsonObject *body = json_object_new ();
      g_autofree gchar *error = g_strdup_printf ("host %s", how);

      warn (self, "plugin %s: host %s; restarting it", self->id, how);
      json_object_set_string_member (body, "reason", "exited");
      json_object_set_string_member (body, "how", how);
      record_event (self, "plugin.crashed", body);
      set_error (self, error);
    }
  if (self->permanent_failure)
    {
      set_state (self, HGD_PLUGIN_STATE_FAILED);
      return;
    }
  schedule_restart (self);
}

static void
host_exited_cb (GObject *source,
                GAsyncResult *result,
                gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  HgdPluginInstance *self;

  if (!g_subprocess_wait_finish (G_SUBPROCESS (source), result, &error) &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = HGD_PLUGIN_INSTANCE (user_data);
  if (G_SUBPROCESS (source) != self->subprocess)
    return;
  host_gone (self);
}

/* Failures before the host is up: we kill it, and say why. */
static void
fail_host (HgdPluginInstance *self,
           const gchar *event_type,
           const gchar *reason,
           const gchar *message)
{
  JsonObject *body = json_object_new ();

  warn (self, "plugin %s: %s; restarting it", self->id, message);
  json_object_set_string_member (body, "reason", reason);
  json_object_set_string_member (body, "error", message);
  record_event (self, event_type, body);
  set_error (self, message);
  kill_host (self, reason);
}

/* running */

static void
ping_cb (GObject *source,
         GAsyncResult *result,
         gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);
  g_autofree gchar *message = NULL;
  HgdPluginInstance *self;

  if (reply == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = HGD_PLUGIN_INSTANCE (user_data);
  self->ping_in_flight = FALSE;
  if (reply != NULL)
    return;
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    {
      /* e.g. the connection closed: host_exited_cb() or connection_closed_cb() acts */
      g_debug ("plugin %s: ping failed: %s", self->id, error->message);
      return;
    }
  message = g_strdup_printf ("host did not answer its watchdog within %u s", self->watchdog_timeout);
  fail_host (self, "plugin.hung", "watchdog", message);
}

static gboolean
watchdog_cb (gpointer user_data)
{
  HgdPluginInstance *self = HGD_PLUGIN_INSTANCE (user_data);

  if (self->ping_in_flight || self->host_proxy == NULL)
    return G_SOURCE_CONTINUE;
  self->ping_in_flight = TRUE;
  g_dbus_proxy_call (G_DBUS_PROXY (self->host_proxy), "Ping", NULL, G_DBUS_CALL_FLAGS_NONE,
                     (gint) self->watchdog_timeout * 1000, self->host_cancellable, ping_cb, self);
  return G_SOURCE_CONTINUE;
}

/* An alarm delivery host is asked every delivery-check-interval whether it answers, so that
 * health says at once when alarms cannot leave (a stopped or hung host); the watchdog
 * above, slower, is what restarts it. */
static void
probe_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);
  HgdPluginInstance *self;

  if (reply == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = HGD_PLUGIN_INSTANCE (user_data);
  self->probe_in_flight = FALSE;
  if (reply != NULL)
    self->unanswered_since = 0;
}

static gboolean
probe_timeout_cb (gpointer user_data)
{
  HgdPluginInstance *self = HGD_PLUGIN_INSTANCE (user_data);

  if (self->probe_in_flight || self->host_proxy == NULL)
    return G_SOURCE_CONTINUE;
  self->probe_in_flight = TRUE;
  if (self->unanswered_since == 0)
    self->unanswered_since = g_get_monotonic_time ();
  g_dbus_proxy_call (G_DBUS_PROXY (self->host_proxy), "Ping", NULL, G_DBUS_CALL_FLAGS_NONE,
                     (gint)self->watchdog_timeout * 1000, self->host_cancellable, probe_cb, self);
  return G_SOURCE_CONTINUE;
}

static gboolean
stable_cb (gpointer user_data)
{
  HgdPluginInstance *self = HGD_PLUGIN_INSTANCE (user_data);

  self->stable_id = 0;
  self->failures = 0;
  return G_SOURCE_REMOVE;
}

static void pump_events (HgdPluginInstance *self);

/* the cursor file: alarm_seq_taken of a delivery plugin, next to the municipal journal */

static gchar *
cursor_path (HgdPluginInstance *self)
{
  g_autofree gchar *dir = g_path_get_dirname (hgd_journal_get_path (self->journals[HG_DOMAIN_MUNICIPAL]));
  g_autofree gchar *name = g_strdup_printf ("delivery-%s.cursor", self->id);

  return g_build_filename (dir, name, NULL);
}

/* The cursor on disk, or the journal's end if there is none (a plugin new to this
 * gateway is not sent the alarms that ended before it came) or it is not a number below
 * that end. */
static guint64
cursor_load (HgdPluginInstance *self)
{
  guint64 last = hgd_journal_get_last_seq (self->journals[HG_DOMAIN_MUNICIPAL]);
  g_autofree gchar *path = cursor_path (self);
  g_autofree gchar *contents = NULL;
  g_autoptr(GError) error = NULL;
  guint64 seq;

  if (!g_file_get_contents (path, &contents, NULL, &error))
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        warn (self, "plugin %s: %s; alarms that ended before now are not sent again", self->id,
              error->message);
      return last;
    }
  if (!g_ascii_string_to_unsigned (g_strstrip (contents), 10, 0, last, &seq, &error))
    {
      warn (self, "plugin %s: %s: %s; alarms that ended before now are not sent again",
            self->id, path, error->message);
      return last;
    }
  return seq;
}

/* The cursor on disk may lag behind the one in memory by up to this long: at 1,000
 * alarms/s a durable write (a file, its fsync, a rename) for each alarm would cost more
 * than the alarm itself. A cursor that lags is safe: after a crash of the core the host is
 * offered again the ends it took in that time (delivery is at least once, and the alarm
 * centre de-duplicates on the reference), never fewer. */
#define CURSOR_SAVE_INTERVAL_USEC (250 * G_TIME_SPAN_MILLISECOND)

static void
cursor_write (HgdPluginInstance *self,
              guint64 seq,
              GError **error)
{
  g_autofree gchar *path = cursor_path (self);
  g_autofree gchar *contents = g_strdup_printf ("%" G_GUINT64_FORMAT "\n", seq);

  g_file_set_contents_full (path, contents, -1,
                            G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600,
                            error);
}

static void
cursor_write_thread (GTask *task,
                     gpointer source_object,
                     gpointer task_data,
                     GCancellable *cancellable)
{
  GError *error = NULL;

  cursor_write (source_object, *(guint64 *) task_data, &error);
  if (error == NULL)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void cursor_save (HgdPluginInstance *self);

static void
cursor_written_cb (GObject *source,
                   GAsyncResult *result,
                   gpointer user_data)
{
  HgdPluginInstance *self = HGD_PLUGIN_INSTANCE (source);
  g_autoptr(GError) error = NULL;

  self->cursor_writing = FALSE;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    warn (self, "plugin %s: delivery cursor not saved: %s", self->id, error->message);
  cursor_save (self);
}

static gboolean
cursor_save_due_cb (gpointer user_data)
{
  HgdPluginInstance *self = HGD_PLUGIN_INSTANCE (user_data);

  self->cursor_save_id = 0;
  cursor_save (self);
  return G_SOURCE_REMOVE;
}

/* Writes alarm_seq_taken durably off the main thread, one write at a time, the newest
 * value last, at most one write per CURSOR_SAVE_INTERVAL_USEC: the first after a quiet
 * time at once, the rest of a burst together at the end of the interval. */
static void
cursor_save (HgdPluginInstance *self)
{
  g_autoptr(GTask) task = NULL;
  gint64 now;

  /* disposed (journals cleared) while a write was in flight: cursor_flush () is past */
  if (self->cursor_writing || self->cursor_save_id != 0
      || self->cursor_saved >= self->alarm_seq_taken
      || self->journals[HG_DOMAIN_MUNICIPAL] == NULL)
    return;
  now = g_get_monotonic_time ();
  if (self->cursor_written_at != 0 && now - self->cursor_written_at < CURSOR_SAVE_INTERVAL_USEC)
    {
      self->cursor_save_id = g_timeout_add (
          (guint) ((self->cursor_written_at + CURSOR_SAVE_INTERVAL_USEC - now + 999) / 1000),
          cursor_save_due_cb, self);
      return;
    }
  self->cursor_written_at = now;
  self->cursor_writing = TRUE;
  self->cursor_saved = self->alarm_seq_taken;
  task = g_task_new (self, NULL, cursor_written_cb, NULL);
  g_task_set_source_tag (task, cursor_save);
  g_task_set_task_data (task, g_memdup2 (&self->cursor_saved, sizeof self->cursor_saved), g_free);
  g_task_run_in_thread (task, cursor_write_thread);
}

/* At dispose: a write that waits for its interval is made now, as the instance goes. */
static void
cursor_flush (HgdPluginInstance *self)
{
  g_autoptr(GError) error = NULL;

  if (self->cursor_save_id == 0)
    return;
  g_clear_handle_id (&self->cursor_save_id, g_source_remove);
  if (self->cursor_saved >= self->alarm_seq_taken)
    return;
  self->cursor_saved = self->alarm_seq_taken;
  cursor_write (self, self->cursor_saved, &error);
  if (error != NULL)
    warn (self, "plugin %s: delivery cursor not saved: %s", self->id, error->message);
}

static void
event_handled_cb (GObject *source,
                  GAsyncResult *result,
                  gpointer user_data)
{
  g_autoptr(QueuedEvent) queued = user_data;
  g_autoptr(GError) error = NULL;
  HgdPluginInstance *self;

  if (!hgd_dbus_plugin_host1_call_handle_event_finish (HGD_DBUS_PLUGIN_HOST1 (source), result, &error) &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = queued->self;
  if (queued->reoffer)
    self->reoffers_in_flight--;
  if (error != NULL)
    g_debug ("plugin %s: HandleEvent failed: %s", self->id, error->message);
  else if (queued->alarm_seq > self->alarm_seq_taken)
    {
      self->alarm_seq_taken = queued->alarm_seq;
      if (delivers_alarms (self))
        cursor_save (self);
    }
  self->in_flight--;
  pump_events (self);
}

static void
send_event (HgdPluginInstance *self,
            QueuedEvent *queued)
{
  self->in_flight++;
  if (queued->reoffer)
    self->reoffers_in_flight++;
  hgd_dbus_plugin_host1_call_handle_event (self->host_proxy, queued->json, self->host_cancellable,
                                           event_handled_cb, queued);
}

/* Whether a delivery plugin may still report @alarm acknowledged, by the life cycle's
 * table: then the alarm centre has not confirmed it, and a new host is offered it again. */
static gboolean
awaits_acknowledgement (HgAlarm *alarm)
{
  return hgd_alarm_lifecycle_get_step (hg_alarm_get_state (alarm), HG_ALARM_STATE_ACKNOWLEDGED,
                                       HGD_ALARM_CALLER_DELIVERY_PLUGIN)
         == HGD_ALARM_STEP_MOVE;
}

/* An open alarm offered again: alarm.raised with its record as it is now, seq 0; or
 * %NULL if it is no longer to be offered (it ended or was acknowledged since the host
 * started, and the plugin got or gets that step as an event of its own). */
static QueuedEvent *
reoffer_new (HgdPluginInstance *self,
             const gchar *reference)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HgAlarm) alarm = hgd_journal_get_alarm (self->journals[HG_DOMAIN_MUNICIPAL],
                                                    reference, &error);
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(HgEvent) event = NULL;
  g_autoptr(JsonObject) object = NULL;
  QueuedEvent *queued;

  if (alarm == NULL)
    {
      warn (self, "plugin %s: alarm %s not offered again: %s", self->id, reference, error->message);
      return NULL;
    }
  if (!awaits_acknowledgement (alarm))
    return NULL;
  /* another provider's since (hgd-alarm-routing.c); else it is this one's from now */
  if (self->routing != NULL
      && !hgd_alarm_routing_takes (self->routing, self->id, reference,
                                   hg_alarm_get_alarm_type (alarm), TRUE))
    return NULL;
  body = hg_alarm_to_json (alarm);
  event = hg_event_new ("alarm.raised", body);
  queued = g_new0 (QueuedEvent, 1);
  hg_event_set_domain (event, HG_DOMAIN_MUNICIPAL);
  hg_event_set_source (event, hg_alarm_get_source (alarm));
  hg_event_set_timestamp (event, g_get_real_time ());
  object = hg_event_to_json (event);
  queued->self = self;
  queued->json = hg_json_object_to_string (object);
  queued->reoffer = TRUE;
  return queued;
}

/* New events first; the re-offers of open alarms only when none waits, and a few at a
 * time, so that a new alarm overtakes them. */
static void
pump_events (HgdPluginInstance *self)
{
  while (self->host_proxy != NULL && self->in_flight < MAX_EVENTS_IN_FLIGHT &&
         !g_queue_is_empty (&self->queue))
    send_event (self, g_queue_pop_head (&self->queue));
  if (g_queue_is_empty (&self->queue))
    self->dropping = FALSE;
  while (self->host_proxy != NULL && self->in_flight < MAX_EVENTS_IN_FLIGHT &&
         self->reoffers_in_flight < MAX_REOFFERS_IN_FLIGHT && g_queue_is_empty (&self->queue) &&
         !g_queue_is_empty (&self->reoffers))
    {
      g_autofree gchar *reference = g_queue_pop_head (&self->reoffers);
      QueuedEvent *queued = reoffer_new (self, reference);

      if (queued != NULL)
        send_event (self, queued);
    }
}

static void
enqueue_event (HgdPluginInstance *self,
               HgEvent *event,
               gboolean is_alarm)
{
  g_autoptr(JsonObject) object = NULL;
  QueuedEvent *queued;

  if (!is_alarm && g_queue_get_length (&self->queue) >= MAX_QUEUED_EVENTS)
    {
      self->dropped++;
      if (!self->dropping)
        warn (self, "plugin %s falls behind: dropping sensor events (%" G_GUINT64_FORMAT " so far)",
              self->id, self->dropped);
      self->dropping = TRUE;
      return;
    }
  object = hg_event_to_json (event);
  queued = g_new0 (QueuedEvent, 1);
  queued->self = self;
  queued->json = hg_json_object_to_string (object);
  if (is_alarm && hg_event_get_domain (event) == HG_DOMAIN_MUNICIPAL)
    queued->alarm_seq = hg_event_get_seq (event);
  g_queue_push_tail (&self->queue, queued);
  pump_events (self);
}

/* A delivery plugin gets every open alarm the alarm centre has not acknowledged whenever
 * its host starts, so a crash, a restart or a switch of provider loses none. Delivery is
 * at least once: the alarm centre de-duplicates on the reference. They are offered again
 * behind every new event (pump_events ()): a new alarm never waits for the old ones. Each
 * is read again when its turn comes, so one that ended or was acknowledged meanwhile is
 * not offered after that step. An alarm the centre acknowledged is not offered again;
 * its later steps and its end come as they happen (and its end by
 * replay_ended_alarms ()). */
static void
replay_open_alarms (HgdPluginInstance *self)
{
  HgdJournal *journal = self->journals[HG_DOMAIN_MUNICIPAL];
  g_autoptr(GPtrArray) alarms = NULL;
  g_autoptr(GError) error = NULL;
  guint n_acknowledged = 0;

  if (!delivers_alarms (self) || journal == NULL)
    return;
  alarms = hgd_journal_list_alarms (journal, TRUE, &error);
  if (alarms == NULL)
    {
      warn (self, "plugin %s: open alarms not sent: %s", self->id, error->message);
      return;
    }
  for (guint i = 0; i < alarms->len; i++)
    {
      HgAlarm *alarm = g_ptr_array_index (alarms, i);

      if (!awaits_acknowledgement (alarm))
        {
          n_acknowledged++;
          continue;
        }
      /* bound to, or routed to, another provider's instance */
      if (self->routing != NULL
          && !hgd_alarm_routing_takes (self->routing, self->id, hg_alarm_get_reference (alarm),
                                       hg_alarm_get_alarm_type (alarm), FALSE))
        continue;
      g_queue_push_tail (&self->reoffers, g_strdup (hg_alarm_get_reference (alarm)));
    }
  if (alarms->len > 0)
    g_message ("plugin %s: offering %u open alarms again (%u acknowledged by the alarm centre "
               "are not)",
               self->id, g_queue_get_length (&self->reoffers), n_acknowledged);
  pump_events (self);
}

/* ... and the ends of alarms it may have missed: a cancel while its host was down, or
 * one that died with the host before it was taken, must still reach the alarm centre.
 * These are the journaled events, with their seq; one the plugin did take before may
 * come again (at least once, as the open alarms). */
static void
replay_ended_alarms (HgdPluginInstance *self)
{
  HgdJournal *journal = self->journals[HG_DOMAIN_MUNICIPAL];
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  guint n_sent = 0;

  if (!delivers_alarms (self) || journal == NULL)
    return;
  events = hgd_journal_query_alarm_events (journal, self->alarm_seq_taken, &error);
  if (events == NULL)
    {
      warn (self, "plugin %s: ended alarms not sent: %s", self->id, error->message);
      return;
    }
  for (guint i = 0; i < events->len; i++)
    {
      HgEvent *event = g_ptr_array_index (events, i);
      const gchar *type = hg_event_get_event_type (event);

      if (g_strcmp0 (type, "alarm.cancelled") != 0 && g_strcmp0 (type, "alarm.closed") != 0)
        continue;
      enqueue_event (self, event, TRUE);
      n_sent++;
    }
  if (n_sent > 0)
    g_message ("plugin %s: sent %u alarm ends it may have missed", self->id, n_sent);
}

static void
host_started_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  HgdPluginInstance *self;

  if (!hgd_dbus_plugin_host1_call_start_finish (HGD_DBUS_PLUGIN_HOST1 (source), result, &error) &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = HGD_PLUGIN_INSTANCE (user_data);
  if (error != NULL && error->domain != HG_ERROR)
    {
      /* No answer: the host died or dropped the connection. host_exited_cb() and
       * connection_closed_cb() say what happened; blaming Start here would hide it. */
      g_debug ("plugin %s: Start got no answer: %s", self->id, error->message);
      return;
    }
  if (error != NULL)
    {
      g_autofree gchar *message = NULL;

      g_dbus_error_strip_remote_error (error);
      if (g_error_matches (error, HG_ERROR, HG_ERROR_INVALID_DATA))
        {
          /* The plugin rejected its configuration: restarting will not help. */
          message = g_strdup_printf ("configuration rejected: %s", error->message);
          self->permanent_failure = TRUE;
          fail_host (self, "plugin.failed", "configuration", message);
          return;
        }
      message = g_strdup_printf ("start failed: %s", error->message);
      fail_host (self, "plugin.crashed", "start-failed", message);
      return;
    }

  g_clear_handle_id (&self->start_timeout_id, g_source_remove);
  set_error (self, NULL);
  set_state (self, HGD_PLUGIN_STATE_RUNNING);
  g_message ("plugin %s running in the %s domain (pid %s)", self->id, hg_domain_to_string (self->domain),
             g_subprocess_get_identifier (self->subprocess));
  self->watchdog_id = g_timeout_add_seconds (self->watchdog_interval, watchdog_cb, self);
  if (delivers_alarms (self))
    self->probe_id = g_timeout_add (self->probe_interval * 1000, probe_timeout_cb, self);
  self->stable_id = g_timeout_add_seconds (self->restart_max_delay, stable_cb, self);
  replay_open_alarms (self);
  replay_ended_alarms (self);
}

/* The instance's own keys: its `[plugin:<id>]` group's, then those the core stores for a
 * bundle's instance (hgd_plugin_instance_set_stored_config()), which win. */
static HgConfig *
dup_plugin_config (HgdPluginInstance *self)
{
  HgConfig *config = hgd_config_get_plugin_config (self->config, self->id);
  GHashTableIter iter;
  gpointer key, value;

  if (self->stored_config == NULL)
    return config;
  g_hash_table_iter_init (&iter, self->stored_config);
  while (g_hash_table_iter_next (&iter, &key, &value))
    hg_config_set (config, key, value);
  return config;
}

static GVariant *
config_to_variant (HgdPluginInstance *self)
{
  g_autoptr(HgConfig) config = dup_plugin_config (self);
  g_auto(GStrv) keys = hg_config_get_keys (config);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{ss}"));
  for (guint i = 0; keys[i] != NULL; i++)
    g_variant_builder_add (&builder, "{ss}", keys[i], hg_config_get_string (config, keys[i], ""));
  return g_variant_builder_end (&builder);
}

static gboolean
disconnect_grace_cb (gpointer user_data)
{
  HgdPluginInstance *self = HGD_PLUGIN_INSTANCE (user_data);

  self->disconnect_id = 0;
  fail_host (self, "plugin.hung", "disconnected", "host lost its connection but did not exit");
  return G_SOURCE_REMOVE;
}

/* A host exits when its connection closes; one whose main loop is stuck cannot. */
static void
connection_lost (HgdPluginInstance *self)
{
  if (self->subprocess == NULL || self->state == HGD_PLUGIN_STATE_STOPPING || self->disconnect_id != 0)
    return;
  self->disconnect_id = g_timeout_add_seconds (DISCONNECT_GRACE_SECONDS, disconnect_grace_cb, self);
}

static void
connection_closed_cb (GDBusConnection *connection,
                      gboolean remote_peer_vanished,
                      GError *error,
                      HgdPluginInstance *self)
{
  connection_lost (self);
}

static void
connection_ready_cb (GObject *source,
                     GAsyncResult *result,
                     gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) connection = g_dbus_connection_new_finish (result, &error);
  HgdPluginInstance *self;

  if (connection == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = HGD_PLUGIN_INSTANCE (user_data);
  if (connection == NULL)
    {
      /* Most likely the host died during the handshake: let its exit status speak, and
       * kill it if it lingers. */
      g_debug ("plugin %s: no D-Bus connection to the host: %s", self->id, error->message);
      connection_lost (self);
      return;
    }

  self->connection = g_steal_pointer (&connection);
  g_signal_connect (self->connection, "closed", G_CALLBACK (connection_closed_cb), self);
  self->context = hgd_context_impl_new (self->id, self->domain, (const gchar *const *) self->grant,
                                        self->journals, self->alarms, self->secrets);
  if (self->limits != NULL)
    hgd_context_impl_set_limits (self->context, self->limits);
  if (self->channels != NULL)
    hgd_context_impl_set_channels (self->context, self->channels);
  if (!hgd_context_impl_export (self->context, self->connection, &error))
    {
      g_autofree gchar *message = g_strdup_printf ("cannot export Context1: %s", error->message);
      fail_host (self, "plugin.crashed", "connection", message);
      return;
    }
  /* No bus name, no properties, no signals: this does no I/O and does not block. */
  self->host_proxy = hgd_dbus_plugin_host1_proxy_new_sync (self->connection,
                                                           G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES |
                                                             G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS,
                                                           NULL, PLUGIN_HOST_PATH, NULL, &error);
  if (self->host_proxy == NULL)
    {
      g_autofree gchar *message = g_strdup_printf ("no PluginHost1 proxy: %s", error->message);
      fail_host (self, "plugin.crashed", "connection", message);
      return;
    }
  /* Start is bounded by start-timeout, other calls by the watchdog. */
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (self->host_proxy), G_MAXINT);
  g_dbus_connection_start_message_processing (self->connection);
  hgd_dbus_plugin_host1_call_start (self->host_proxy, self->id, hg_domain_to_string (self->domain),
                                    (const gchar *const *) self->grant, config_to_variant (self),
                                    self->host_cancellable, host_started_cb, self);
}

static gboolean
start_timeout_cb (gpointer user_data)
{
  HgdPluginInstance *self = HGD_PLUGIN_INSTANCE (user_data);
  g_autofree gchar *message = g_strdup_printf ("host did not start within %u s", self->start_timeout);

  self->start_timeout_id = 0;
  fail_host (self, "plugin.hung", "start-timeout", message);
  return G_SOURCE_REMOVE;
}

static void
spawn_failed (HgdPluginInstance *self,
              const GError *error)
{
  JsonObject *body = json_object_new ();
  g_autofree gchar *message = g_strdup_printf ("cannot spawn %s: %s", self->host_path, error->message);

  warn (self, "plugin %s: %s", self->id, message);
  json_object_set_string_member (body, "reason", "spawn");
  json_object_set_string_member (body, "error", message);
  record_event (self, "plugin.crashed", body);
  set_error (self, message);
  schedule_restart (self);
}

/* Puts the new host under its domain's limits; one that cannot be limited still runs, and
 * health says so. */
static void
apply_limits (HgdPluginInstance *self)
{
  g_autoptr(GError) error = NULL;
  GPid pid;

  if (self->limits == NULL)
    return;
  pid = (GPid) g_ascii_strtoll (g_subprocess_get_identifier (self->subprocess), NULL, 10);
  if (!hgd_limits_apply (self->limits, self->domain, pid, &error))
    warn (self, "plugin %s: host runs without its domain's limits: %s", self->id, error->message);
}

/* In the host's child process, before the sandbox forks the host itself: its domain's
 * limits, which every process of the host inherits (hgd_sandbox_set_first ()). */
static void
apply_limits_in_child (gpointer user_data)
{
  HgdPluginInstance *self = user_data;

  hgd_limits_apply_in_child (self->limits, self->domain);
}

/* The host's sandbox (hgd-sandbox.c); hemgated's state directory is the journals'
 * parent. */
static HgdSandbox *
new_sandbox (HgdPluginInstance *self,
             GError **error)
{
  HgdJournal *journal = self->journals[self->domain];
  g_autofree gchar *domain_dir = g_path_get_dirname (hgd_journal_get_path (journal));
  g_autofree gchar *state_root = g_path_get_dirname (domain_dir);
  g_autofree gchar *group = g_strdup_printf ("plugin:%s", self->id);
  g_auto(GStrv) devices = hgd_config_get_strv (self->config, group, "devices");

  return hgd_sandbox_new (self->config, self->domain, self->id, (const gchar *const *) self->grant,
                          state_root, self->plugin_dir, (const gchar *const *) devices, error);
}

static void
spawn_host (HgdPluginInstance *self)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(HgdSandbox) sandbox = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) stream = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *guid = NULL;
  const gchar *argv[] = { self->host_path, "--fd", "3", "--plugin-dir", self->plugin_dir, NULL };
  const gchar *timezone = hgd_config_get_string (self->config, "daemon", "timezone");
  int fds[2];

  g_return_if_fail (self->subprocess == NULL);

  self->permanent_failure = FALSE;
  sandbox = new_sandbox (self, &error);
  if (sandbox == NULL)
    {
      spawn_failed (self, error);
      return;
    }
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    {
      int errsv = errno;
      g_set_error (&error, G_IO_ERROR, g_io_error_from_errno (errsv), "socketpair: %s", g_strerror (errsv));
      spawn_failed (self, error);
      return;
    }
  /* From here the GSocket owns fds[0] and the launcher fds[1]. */
  socket = g_socket_new_from_fd (fds[0], &error);
  if (socket == NULL)
    {
      close (fds[0]);
      close (fds[1]);
      spawn_failed (self, error);
      return;
    }
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_take_fd (launcher, fds[1], 3);
  /* the gateway's local time is the plugin's: rules, schedules, log times */
  if (timezone[0] != '\0')
    g_subprocess_launcher_setenv (launcher, "TZ", timezone, TRUE);
  /* A host is small and mostly idle: GLib 2.74's slice allocator keeps per-thread
   * caches (~0.8 MiB with a large configuration), and glibc an arena per thread
   * (GDBus's worker among them); plain malloc with two arenas keeps it lean. An
   * operator's own setting in hemgated's environment wins. */
  g_subprocess_launcher_setenv (launcher, "G_SLICE", "always-malloc", FALSE);
  g_subprocess_launcher_setenv (launcher, "MALLOC_ARENA_MAX", "2", FALSE);
  if (self->limits != NULL)
    hgd_sandbox_set_first (sandbox, apply_limits_in_child, self);
  hgd_sandbox_apply (sandbox, launcher);
  self->in_namespaces = hgd_sandbox_is_full (sandbox);
  self->subprocess = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_clear_object (&launcher); /* closes our copy of the host's end */
  if (self->subprocess == NULL)
    {
      spawn_failed (self, error);
      return;
    }

  self->host_cancellable = g_cancellable_new ();
  set_state (self, HGD_PLUGIN_STATE_STARTING);
  g_debug ("plugin %s: host pid %s", self->id, g_subprocess_get_identifier (self->subprocess));
  apply_limits (self);
  self->start_timeout_id = g_timeout_add_seconds (self->start_timeout, start_timeout_cb, self);
  g_subprocess_wait_async (self->subprocess, self->cancellable, host_exited_cb, self);

  stream = g_socket_connection_factory_create_connection (socket);
  guid = g_dbus_generate_guid ();
  /* The peer is whoever holds the other end of this socketpair: only the host. Its
   * credentials on the socket are hemgated's own (a socketpair's are its maker's), so a
   * host the sandbox runs as its domain's user cannot claim EXTERNAL; it is let in
   * anonymously. */
  g_dbus_connection_new (G_IO_STREAM (stream), guid,
                         G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_SERVER |
                           (hgd_sandbox_get_uid (sandbox) == geteuid ()
                                ? G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_REQUIRE_SAME_USER
                                : G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_ALLOW_ANONYMOUS) |
                           G_DBUS_CONNECTION_FLAGS_DELAY_MESSAGE_PROCESSING,
                         NULL, self->host_cancellable, connection_ready_cb, self);
}

/* public */

/**
 * hgd_plugin_instance_start:
 * @self: an #HgdPluginInstance
 *
 * Spawns the host unless the instance is disabled, failed, or already has one. Watch
 * #HgdPluginInstance:state for the outcome.
 */
void
hgd_plugin_instance_start (HgdPluginInstance *self)
{
  g_return_if_fail (HGD_IS_PLUGIN_INSTANCE (self));

  if (self->state != HGD_PLUGIN_STATE_STOPPED)
    return;
  self->failures = 0;
  spawn_host (self);
}

/**
 * hgd_plugin_instance_restart:
 * @self: an #HgdPluginInstance
 * @error: return location for a #GError
 *
 * For the admin API: kills a running host and starts a new one at once, cuts a backoff
 * short, or re-reads the manifest of a failed instance and starts it.
 *
 * Returns: %TRUE if a (re)start is under way
 */
gboolean
hgd_plugin_instance_restart (HgdPluginInstance *self,
                             GError **error)
{
  g_autoptr(GError) error_local = NULL;

  g_return_val_if_fail (HGD_IS_PLUGIN_INSTANCE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  switch (self->state)
    {
    case HGD_PLUGIN_STATE_DISABLED:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "plugin %s is disabled in the configuration", self->id);
      return FALSE;
    case HGD_PLUGIN_STATE_STOPPING:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY, "plugin %s is stopping", self->id);
      return FALSE;
    case HGD_PLUGIN_STATE_FAILED:
      if (self->subprocess != NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY, "plugin %s is still shutting down", self->id);
          return FALSE;
        }
      if (!load (self, &error_local))
        {
          set_error (self, error_local->message);
          g_propagate_error (error, g_steal_pointer (&error_local));
          return FALSE;
        }
      set_error (self, NULL);
      set_state (self, HGD_PLUGIN_STATE_STOPPED);
      hgd_plugin_instance_start (self);
      return TRUE;
    case HGD_PLUGIN_STATE_STOPPED:
      hgd_plugin_instance_start (self);
      return TRUE;
    case HGD_PLUGIN_STATE_RESTARTING:
      g_clear_handle_id (&self->backoff_id, g_source_remove);
      restart_on_request (self);
      return TRUE;
    case HGD_PLUGIN_STATE_STARTING:
    case HGD_PLUGIN_STATE_RUNNING:
      self->restart_now = TRUE;
      kill_host (self, "request");
      return TRUE;
    default:
      g_assert_not_reached ();
    }
  return TRUE;
}

/**
 * hgd_plugin_instance_offer_event:
 * @self: an #HgdPluginInstance
 * @event: an event just journaled
 *
 * Passes @event to the plugin if a rule of its grant names it (the `receives` of
 * hgd-capabilities.c): with alarm.deliver, the alarm.* events a delivery plugin acts on
 * (raised, cancelled, closed) of the municipal journal, not the steps it reports; with
 * sensor.subscribe, sensor.* events of its own domain, not its own. Only while running: a
 * host that (re)starts gets the open alarms instead.
 */
void
hgd_plugin_instance_offer_event (HgdPluginInstance *self,
                                 HgEvent *event)
{
  const HgdCapability *rule;

  g_return_if_fail (HGD_IS_PLUGIN_INSTANCE (self));
  g_return_if_fail (HG_IS_EVENT (event));

  if (self->state != HGD_PLUGIN_STATE_RUNNING || self->grant == NULL)
    return;
  rule = hgd_capabilities_find_receiver ((const gchar *const *) self->grant, self->domain,
                                         self->source, event);
  if (rule != NULL)
    enqueue_event (self, event, (rule->flags & HGD_CAPABILITY_FLAGS_DELIVERS_ALARMS) != 0);
}

/**
 * hgd_plugin_instance_offer_shared_event:
 * @self: an #HgdPluginInstance
 * @event: an event of the other domain that a consent grant lets through to @self
 *   (hgd_grants_plugin_event_visible ())
 *
 * Passes @event to the plugin if a rule of its grant would pass it an event of its own
 * domain of that type (sensor.subscribe: sensor.*). Only while running.
 *
 * Returns: whether @event went to the plugin, a read of the other domain's data that the
 *   caller logs
 */
gboolean
hgd_plugin_instance_offer_shared_event (HgdPluginInstance *self,
                                        HgEvent *event)
{
  const HgdCapability *rule;

  g_return_val_if_fail (HGD_IS_PLUGIN_INSTANCE (self), FALSE);
  g_return_val_if_fail (HG_IS_EVENT (event), FALSE);

  if (self->state != HGD_PLUGIN_STATE_RUNNING || self->grant == NULL || !self->domain_known ||
      hg_event_get_domain (event) == self->domain)
    return FALSE;
  rule = hgd_capabilities_find_receiver ((const gchar *const *) self->grant,
                                         hg_event_get_domain (event), self->source, event);
  if (rule == NULL || rule->receive_scope != HGD_RECEIVE_OWN_DOMAIN)
    return FALSE;
  enqueue_event (self, event, FALSE);
  return TRUE;
}

/* Returns: the instance's domain */
HgDomain
hgd_plugin_instance_get_domain (HgdPluginInstance *self)
{
  g_return_val_if_fail (HGD_IS_PLUGIN_INSTANCE (self), HG_DOMAIN_MUNICIPAL);
  return self->domain;
}

/**
 * hgd_plugin_instance_is_in_domain:
 * @self: an #HgdPluginInstance
 * @domain: a domain
 *
 * Returns: %TRUE if the instance is known to be of @domain (not for one whose manifest
 *   could not be read: its domain is not known)
 */
gboolean
hgd_plugin_instance_is_in_domain (HgdPluginInstance *self,
                                  HgDomain domain)
{
  g_return_val_if_fail (HGD_IS_PLUGIN_INSTANCE (self), FALSE);
  return self->domain_known && self->domain == domain;
}

/**
 * hgd_plugin_instance_dup_missing_secrets:
 * @self: an #HgdPluginInstance
 *
 * Returns: (transfer full) (nullable): the keys of the secrets the running plugin asked
 *   for and did not find (until they are there), as "missing_secrets" of
 *   hgd_plugin_instance_to_json (); %NULL while it does not run
 */
gchar **
hgd_plugin_instance_dup_missing_secrets (HgdPluginInstance *self)
{
  g_return_val_if_fail (HGD_IS_PLUGIN_INSTANCE (self), NULL);
  return self->context != NULL ? hgd_context_impl_dup_missing_secrets (self->context) : NULL;
}

static gboolean
stop_grace_cb (gpointer user_data)
{
  HgdPluginInstance *self = HGD_PLUGIN_INSTANCE (user_data);

  if (self->subprocess == NULL)
    {
      self->stop_kill_id = 0;
      return G_SOURCE_REMOVE;
    }
  if (self->stop_phase++ == 0)
    {
      g_debug ("plugin %s: host still up after Stop; sending SIGTERM", self->id);
      g_subprocess_send_signal (self->subprocess, SIGTERM);
      return G_SOURCE_CONTINUE;
    }
  warn (self, "plugin %s: host ignored SIGTERM; killing it", self->id);
  self->stop_kill_id = 0;
  kill_host (self, "stop");
  return G_SOURCE_REMOVE;
}

static void
stop_replied_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);

  /* The host exits after answering; stop_grace_cb() follows up if it does not. */
  if (reply == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_debug ("plugin %s: Stop failed: %s", HGD_PLUGIN_INSTANCE (user_data)->id, error->message);
}

/**
 * hgd_plugin_instance_stop_async:
 * @self: an #HgdPluginInstance
 * @cancellable: (nullable): a #GCancellable
 * @callback: called once the host has exited
 * @user_data: data for @callback
 *
 * Asks the plugin to stop (PluginHost1.Stop), then SIGTERM, then SIGKILL, each after
 * a short grace period. Never fails.
 */
void
hgd_plugin_instance_stop_async (HgdPluginInstance *self,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  gboolean running;

  g_return_if_fail (HGD_IS_PLUGIN_INSTANCE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hgd_plugin_instance_stop_async);
  g_clear_handle_id (&self->backoff_id, g_source_remove);
  self->restart_now = FALSE;
  if (self->subprocess == NULL)
    {
      if (self->state != HGD_PLUGIN_STATE_DISABLED && self->state != HGD_PLUGIN_STATE_FAILED)
        set_state (self, HGD_PLUGIN_STATE_STOPPED);
      g_task_return_boolean (task, TRUE);
      return;
    }
  g_ptr_array_add (self->stop_tasks, g_steal_pointer (&task));
  if (self->state == HGD_PLUGIN_STATE_STOPPING)
    return;

  running = self->state == HGD_PLUGIN_STATE_RUNNING;
  set_state (self, HGD_PLUGIN_STATE_STOPPING);
  g_clear_handle_id (&self->start_timeout_id, g_source_remove);
  g_clear_handle_id (&self->watchdog_id, g_source_remove);
  g_clear_handle_id (&self->probe_id, g_source_remove);
  g_clear_handle_id (&self->stable_id, g_source_remove);
  g_clear_handle_id (&self->disconnect_id, g_source_remove);
  if (running && self->host_proxy != NULL)
    {
      g_dbus_proxy_call (G_DBUS_PROXY (self->host_proxy), "Stop", NULL, G_DBUS_CALL_FLAGS_NONE,
                         STOP_TIMEOUT_MS, self->host_cancellable, stop_replied_cb, self);
      self->stop_kill_id = g_timeout_add_seconds (STOP_GRACE_SECONDS, stop_grace_cb, self);
      return;
    }
  /* Not started yet: nothing to ask politely. */
  self->stop_phase = 1;
  g_subprocess_send_signal (self->subprocess, SIGTERM);
  self->stop_kill_id = g_timeout_add_seconds (STOP_GRACE_SECONDS, stop_grace_cb, self);
}

gboolean
hgd_plugin_instance_stop_finish (HgdPluginInstance *self,
                                 GAsyncResult *result,
                                 GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

const gchar *
hgd_plugin_instance_get_id (HgdPluginInstance *self)
{
  g_return_val_if_fail (HGD_IS_PLUGIN_INSTANCE (self), NULL);
  return self->id;
}

HgdPluginState
hgd_plugin_instance_get_state (HgdPluginInstance *self)
{
  g_return_val_if_fail (HGD_IS_PLUGIN_INSTANCE (self), HGD_PLUGIN_STATE_FAILED);
  return self->state;
}

gboolean
hgd_plugin_instance_is_enabled (HgdPluginInstance *self)
{
  g_return_val_if_fail (HGD_IS_PLUGIN_INSTANCE (self), FALSE);
  return self->enabled;
}

/* Returns: whether the instance's grant makes it a path for alarms to the alarm centre
 * (HGD_CAPABILITY_FLAGS_DELIVERS_ALARMS: alarm.deliver) */
gboolean
hgd_plugin_instance_delivers_alarms (HgdPluginInstance *self)
{
  g_return_val_if_fail (HGD_IS_PLUGIN_INSTANCE (self), FALSE);
  return delivers_alarms (self);
}

/**
 * hgd_plugin_instance_dup_delivery_fault:
 * @self: a running #HgdPluginInstance with `alarm.deliver`
 *
 * Why alarms cannot leave through this instance right now: its host has not answered the
 * core for longer than delivery-check-interval, or its last health report says so in
 * `delivery-fault` (hg_context_report_health ()).
 *
 * Returns: (transfer full) (nullable): the reason, naming the instance, or %NULL
 */
gchar *
hgd_plugin_instance_dup_delivery_fault (HgdPluginInstance *self)
{
  JsonObject *report;
  JsonNode *fault;

  g_return_val_if_fail (HGD_IS_PLUGIN_INSTANCE (self), NULL);

  if (self->state != HGD_PLUGIN_STATE_RUNNING)
    return NULL;
  if (self->unanswered_since != 0
      && g_get_monotonic_time () - self->unanswered_since
             > (gint64)self->probe_interval * G_USEC_PER_SEC)
    return g_strdup_printf ("plugin %s: its host has not answered for %" G_GINT64_FORMAT " s",
                            self->id,
                            (g_get_monotonic_time () - self->unanswered_since) / G_USEC_PER_SEC);
  report = self->context != NULL ? hgd_context_impl_get_health (self->context, NULL) : NULL;
  fault = report != NULL ? json_object_get_member (report, "delivery-fault") : NULL;
  if (fault != NULL && JSON_NODE_HOLDS_VALUE (fault)
      && json_node_get_value_type (fault) == G_TYPE_STRING)
    return g_strdup_printf ("plugin %s: %s", self->id, json_node_get_string (fault));
  return NULL;
}

static void
set_nullable_string (JsonObject *object,
                     const gchar *member,
                     const gchar *value)
{
  if (value != NULL)
    json_object_set_string_member (object, member, value);
  else
    json_object_set_null_member (object, member);
}

static JsonNode *
health_to_json (HgdPluginInstance *self)
{
  JsonObject *report = NULL;
  g_autoptr(JsonObject) health = NULL;
  g_autoptr(GDateTime) when = NULL;
  g_autofree gchar *reported = NULL;
  gint64 time = 0;

  if (self->context != NULL && self->domain_known && self->domain == HG_DOMAIN_MUNICIPAL)
    report = hgd_context_impl_get_health (self->context, &time);
  if (report == NULL)
    return json_node_new (JSON_NODE_NULL);
  when = g_date_time_new_from_unix_utc (time / G_USEC_PER_SEC);
  reported = g_date_time_format_iso8601 (when);
  health = json_object_new ();
  json_object_set_string_member (health, "reported", reported);
  json_object_set_object_member (health, "report", json_object_ref (report));
  return json_node_init_object (json_node_alloc (), health);
}

/**
 * hgd_plugin_instance_to_json:
 * @self: an #HgdPluginInstance
 *
 * Returns: (transfer full): {"id", "plugin", "name", "version", "provider", "domain",
 *   "capabilities", "state", "error", "restarts", "pid", "dropped", "health",
 *   "missing_secrets"}; "missing_secrets" are the keys of the secrets the running plugin
 *   asked for and did not find (until they are there); "pid" is the
 *   host's own (behind a sandbox's waiting processes, once it is there); what is not
 *   known (e.g. the name, with a bad manifest) is null; "capabilities" is the grant;
 *   "health" is {"reported", "report"}, the plugin's last hg_context_report_health() of
 *   the running host, and is null for an instance of the personal domain (the resident's
 *   own devices are not the municipality's to see) or one that reported nothing
 */
JsonObject *
hgd_plugin_instance_to_json (HgdPluginInstance *self)
{
  JsonObject *object = json_object_new ();
  JsonArray *capabilities = json_array_new ();
  JsonArray *missing_array;
  g_auto(GStrv) missing = NULL;
  GPid pid = 0;

  g_return_val_if_fail (HGD_IS_PLUGIN_INSTANCE (self), object);

  json_object_set_string_member (object, "id", self->id);
  json_object_set_string_member (object, "plugin", self->plugin);
  set_nullable_string (object, "name", self->manifest != NULL ? hgd_manifest_get_name (self->manifest) : NULL);
  set_nullable_string (object, "version", self->manifest != NULL ? hgd_manifest_get_version (self->manifest) : NULL);
  set_nullable_string (object, "provider", self->manifest != NULL ? hgd_manifest_get_provider (self->manifest) : NULL);
  set_nullable_string (object, "domain", self->domain_known ? hg_domain_to_string (self->domain) : NULL);
  for (guint i = 0; self->grant != NULL && self->grant[i] != NULL; i++)
    json_array_add_string_element (capabilities, self->grant[i]);
  json_object_set_array_member (object, "capabilities", capabilities);
  json_object_set_string_member (object, "state", hgd_plugin_state_to_string (self->state));
  set_nullable_string (object, "error", self->error);
  json_object_set_int_member (object, "restarts", self->restarts);
  if (self->subprocess != NULL && g_subprocess_get_identifier (self->subprocess) != NULL)
    pid = (GPid) g_ascii_strtoll (g_subprocess_get_identifier (self->subprocess), NULL, 10);
  /* the host itself, not the sandbox's processes that wait for it: none while it is not
   * there (starting, or just gone) */
  if (pid > 0 && self->in_namespaces)
    pid = hgd_sandbox_find_host_pid (pid);
  if (pid > 0)
    json_object_set_int_member (object, "pid", pid);
  else
    json_object_set_null_member (object, "pid");
  json_object_set_int_member (object, "dropped", (gint64) self->dropped);
  json_object_set_member (object, "health", health_to_json (self));
  /* the secrets the running plugin asked for and has not got: a fault in health */
  missing = hgd_plugin_instance_dup_missing_secrets (self);
  missing_array = json_array_new ();
  for (guint i = 0; missing != NULL && missing[i] != NULL; i++)
    json_array_add_string_element (missing_array, missing[i]);
  json_object_set_array_member (object, "missing_secrets", missing_array);
  return object;
}

static void
hgd_plugin_instance_get_property (GObject *object,
                                  guint prop_id,
                                  GValue *value,
                                  GParamSpec *pspec)
{
  HgdPluginInstance *self = HGD_PLUGIN_INSTANCE (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_uint (value, self->state);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hgd_plugin_instance_dispose (GObject *object)
{
  HgdPluginInstance *self = HGD_PLUGIN_INSTANCE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->backoff_id, g_source_remove);
  /* A host never outlives its instance (nor, by PR_SET_PDEATHSIG, the daemon). */
  if (self->subprocess != NULL)
    g_subprocess_force_exit (self->subprocess);
  teardown_host (self);
  if (self->stop_tasks != NULL)
    complete_stop_tasks (self);
  cursor_flush (self);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    g_clear_object (&self->journals[i]);
  g_clear_object (&self->alarms);
  g_clear_object (&self->secrets);
  g_clear_object (&self->limits);
  g_clear_object (&self->routing);
  g_clear_object (&self->channels);
  g_clear_object (&self->config);
  g_clear_object (&self->manifest);
  G_OBJECT_CLASS (hgd_plugin_instance_parent_class)->dispose (object);
}

static void
hgd_plugin_instance_finalize (GObject *object)
{
  HgdPluginInstance *self = HGD_PLUGIN_INSTANCE (object);

  g_free (self->id);
  g_free (self->source);
  g_free (self->host_path);
  g_free (self->plugin);
  g_free (self->plugin_dir);
  g_free (self->installed_link);
  g_clear_pointer (&self->stored_config, g_hash_table_unref);
  g_strfreev (self->grant);
  g_free (self->error);
  g_clear_pointer (&self->stop_tasks, g_ptr_array_unref);
  g_object_unref (self->cancellable);
  G_OBJECT_CLASS (hgd_plugin_instance_parent_class)->finalize (object);
}

static void
hgd_plugin_instance_class_init (HgdPluginInstanceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = hgd_plugin_instance_get_property;
  object_class->dispose = hgd_plugin_instance_dispose;
  object_class->finalize = hgd_plugin_instance_finalize;

  /**
   * HgdPluginInstance:state:
   *
   * The #HgdPluginState.
   */
  properties[PROP_STATE] = g_param_spec_uint ("state", NULL, NULL, 0, HGD_PLUGIN_STATE_STOPPING,
                                              HGD_PLUGIN_STATE_STOPPED,
                                              G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                                                G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  (void) hg_error_quark (); /* so org.hemgate.Error.* from hosts map back to HG_ERROR */
}

static void
hgd_plugin_instance_init (HgdPluginInstance *self)
{
  self->cancellable = g_cancellable_new ();
  self->stop_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  self->state = HGD_PLUGIN_STATE_STOPPED;
  g_queue_init (&self->queue);
  g_queue_init (&self->reoffers);
}

static void
init_instance (HgdPluginInstance *self,
               HgdConfig *config,
               const gchar *instance_id,
               HgdJournal *const *journals,
               HgdAlarms *alarms,
               HgdSecrets *secrets)
{
  self->id = g_strdup (instance_id);
  self->source = g_strdup_printf ("plugin:%s", instance_id);
  self->config = g_object_ref (config);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    self->journals[i] = journals[i] != NULL ? g_object_ref (journals[i]) : NULL;
  if (self->journals[HG_DOMAIN_MUNICIPAL] != NULL)
    self->alarm_seq_taken = self->cursor_saved = cursor_load (self);
  self->alarms = g_object_ref (alarms);
  self->secrets = g_object_ref (secrets);
  self->host_path = g_strdup (hgd_config_get_string (config, "plugins", "host"));
  self->watchdog_interval = (guint) hgd_config_get_int (config, "plugins", "watchdog-interval");
  self->watchdog_timeout = (guint) hgd_config_get_int (config, "plugins", "watchdog-timeout");
  self->probe_interval = (guint)hgd_config_get_int (config, "plugins", "delivery-check-interval");
  self->start_timeout = (guint) hgd_config_get_int (config, "plugins", "start-timeout");
  self->restart_max_delay = (guint) hgd_config_get_int (config, "plugins", "restart-max-delay");
}

/**
 * hgd_plugin_instance_new:
 * @config: the daemon's configuration
 * @instance_id: the <id> of a `[plugin:<id>]` group
 * @journals: %HG_DOMAIN_LAST journals, each possibly %NULL
 * @alarms: the alarms
 * @secrets: the secrets
 *
 * Reads the instance's configuration and manifest. A problem does not fail: the
 * instance is then in state failed, with the error in hgd_plugin_instance_to_json().
 *
 * Returns: (transfer full): the instance, stopped, disabled or failed
 */
HgdPluginInstance *
hgd_plugin_instance_new (HgdConfig *config,
                         const gchar *instance_id,
                         HgdJournal *const *journals,
                         HgdAlarms *alarms,
                         HgdSecrets *secrets)
{
  HgdPluginInstance *self;
  g_autofree gchar *group = NULL;

  g_return_val_if_fail (HGD_IS_CONFIG (config), NULL);
  g_return_val_if_fail (instance_id != NULL, NULL);
  g_return_val_if_fail (journals != NULL, NULL);
  g_return_val_if_fail (HGD_IS_ALARMS (alarms), NULL);
  g_return_val_if_fail (HGD_IS_SECRETS (secrets), NULL);

  self = g_object_new (HGD_TYPE_PLUGIN_INSTANCE, NULL);
  init_instance (self, config, instance_id, journals, alarms, secrets);

  group = g_strdup_printf ("plugin:%s", instance_id);
  self->enabled = hgd_config_get_boolean (config, group, "enabled");
  if (!self->enabled)
    {
      /* Read for what to_json() shows; a disabled instance's problems are not errors. */
      (void) load (self, NULL);
      self->state = HGD_PLUGIN_STATE_DISABLED;
      return self;
    }
  ensure_loaded (self);
  return self;
}

/**
 * hgd_plugin_instance_new_installed:
 * @config: the daemon's configuration
 * @instance_id: the plugin's id, also the instance's
 * @domain: the domain it was installed into
 * @link: the link to its current version's folder
 * @journals: %HG_DOMAIN_LAST journals, each possibly %NULL
 * @alarms: the alarms
 * @secrets: the secrets
 *
 * An instance of a plugin installed from a bundle (hgd-bundles.c): its folder is where
 * @link points at each load; a `[plugin:<id>]` group marked `source = bundle` gives it
 * its own keys, `deny` and `devices` (else the defaults apply).
 *
 * Returns: (transfer full): the instance, stopped or failed
 */
HgdPluginInstance *
hgd_plugin_instance_new_installed (HgdConfig *config,
                                   const gchar *instance_id,
                                   HgDomain domain,
                                   const gchar *link,
                                   HgdJournal *const *journals,
                                   HgdAlarms *alarms,
                                   HgdSecrets *secrets)
{
  HgdPluginInstance *self;

  g_return_val_if_fail (link != NULL, NULL);

  self = g_object_new (HGD_TYPE_PLUGIN_INSTANCE, NULL);
  self->installed_link = g_strdup (link);
  self->installed_domain = domain;
  init_instance (self, config, instance_id, journals, alarms, secrets);
  self->enabled = TRUE;
  ensure_loaded (self);
  return self;
}

/**
 * hgd_plugin_instance_reload:
 * @self: an instance without a host (stopped or failed)
 *
 * Reads the manifest again, e.g. after its bundle's version was switched; the instance
 * is then stopped, ready to start, or failed with the reason.
 *
 * Returns: %TRUE if it can start
 */
gboolean
hgd_plugin_instance_reload (HgdPluginInstance *self)
{
  g_return_val_if_fail (HGD_IS_PLUGIN_INSTANCE (self), FALSE);
  g_return_val_if_fail (self->subprocess == NULL, FALSE);

  if (!ensure_loaded (self))
    return FALSE;
  self->restarts = 0;
  set_state (self, HGD_PLUGIN_STATE_STOPPED);
  return TRUE;
}

/**
 * hgd_plugin_instance_set_stored_config:
 * @self: an instance of hgd_plugin_instance_new_installed()
 * @config: (nullable) (element-type utf8 utf8): the keys the core stores for it
 *
 * Sets the keys given to the plugin's configure() at its next start, over those of a
 * `[plugin:<id>]` group marked `source = bundle`.
 */
void
hgd_plugin_instance_set_stored_config (HgdPluginInstance *self,
                                       GHashTable *config)
{
  g_return_if_fail (HGD_IS_PLUGIN_INSTANCE (self));
  g_return_if_fail (self->installed_link != NULL);

  g_clear_pointer (&self->stored_config, g_hash_table_unref);
  if (config != NULL)
    self->stored_config = g_hash_table_ref (config);
}

/**
 * hgd_plugin_instance_get_installed_link:
 * @self: an instance
 *
 * Returns: (nullable): the link to its bundle's current version, or %NULL for an
 *   instance of hemgate.conf
 */
const gchar *
hgd_plugin_instance_get_installed_link (HgdPluginInstance *self)
{
  g_return_val_if_fail (HGD_IS_PLUGIN_INSTANCE (self), NULL);
  return self->installed_link;
}

/**
 * hgd_plugin_instance_set_alarm_routing:
 * @self: an instance
 * @routing: which delivery instance takes which alarm
 *
 * With alarm.deliver, the instance is offered only the open alarms @routing gives it
 * when its host starts (hgd_plugin_manager's offers of new events ask @routing too).
 */
void
hgd_plugin_instance_set_alarm_routing (HgdPluginInstance *self,
                                       HgdAlarmRouting *routing)
{
  g_return_if_fail (HGD_IS_PLUGIN_INSTANCE (self));
  g_set_object (&self->routing, routing);
}

/**
 * hgd_plugin_instance_reoffer_alarms:
 * @self: a running instance with alarm.deliver
 * @references: open alarms another delivery instance had and can no longer deliver
 *
 * Offers them again as at a host start, each that is this instance's to take by the
 * routing when its turn comes.
 */
void
hgd_plugin_instance_reoffer_alarms (HgdPluginInstance *self,
                                    const gchar *const *references)
{
  g_return_if_fail (HGD_IS_PLUGIN_INSTANCE (self));

  if (self->state != HGD_PLUGIN_STATE_RUNNING || !delivers_alarms (self))
    return;
  for (guint i = 0; references[i] != NULL; i++)
    g_queue_push_tail (&self->reoffers, g_strdup (references[i]));
  pump_events (self);
}

/**
 * hgd_plugin_instance_set_limits:
 * @self: an instance
 * @limits: the per-domain limits
 *
 * Sets the limits each host of the instance is put under, from its next spawn on, and
 * the event rate its plugin publishes at.
 */
void
hgd_plugin_instance_set_limits (HgdPluginInstance *self,
                                HgdLimits *limits)
{
  g_return_if_fail (HGD_IS_PLUGIN_INSTANCE (self));
  g_return_if_fail (HGD_IS_LIMITS (limits));
  g_set_object (&self->limits, limits);
}

static void
secret_changed_cb (GObject *source,
                   GAsyncResult *result,
                   gpointer user_data)
{
  g_autofree gchar *id = user_data;
  g_autoptr(GError) error = NULL;

  if (!hgd_dbus_plugin_host1_call_secret_changed_finish (HGD_DBUS_PLUGIN_HOST1 (source), result,
                                                         &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_debug ("plugin %s: SecretChanged failed: %s", id, error->message);
}

/**
 * hgd_plugin_instance_secret_changed:
 * @self: an #HgdPluginInstance
 * @key: the key of the instance's secret that was set or removed
 *
 * Tells a running instance that one of its secrets changed (HgContext::secret-changed);
 * one that is not running reads its secrets when it starts.
 */
void
hgd_plugin_instance_secret_changed (HgdPluginInstance *self,
                                    const gchar *key)
{
  g_return_if_fail (HGD_IS_PLUGIN_INSTANCE (self));
  g_return_if_fail (key != NULL);

  if (self->state != HGD_PLUGIN_STATE_RUNNING || self->host_proxy == NULL)
    return;
  hgd_dbus_plugin_host1_call_secret_changed (self->host_proxy, key, self->host_cancellable,
                                             secret_changed_cb, g_strdup (self->id));
}

/* Returns: (transfer none): the capabilities granted to the instance */
const gchar *const *
hgd_plugin_instance_get_grant (HgdPluginInstance *self)
{
  static const gchar *const none[] = { NULL };

  g_return_val_if_fail (HGD_IS_PLUGIN_INSTANCE (self), NULL);
  return self->grant != NULL ? (const gchar *const *) self->grant : none;
}

/**
 * hgd_plugin_instance_set_channels:
 * @self: an #HgdPluginInstance
 * @channels: the channels its ChannelSend and ChannelClose act on
 */
void
hgd_plugin_instance_set_channels (HgdPluginInstance *self,
                                  HgdChannels *channels)
{
  g_return_if_fail (HGD_IS_PLUGIN_INSTANCE (self));
  g_return_if_fail (HGD_IS_CHANNELS (channels));
  g_set_object (&self->channels, channels);
}

static void
channel_call_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  g_autofree gchar *id = user_data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);
  if (reply == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_debug ("plugin %s: channel call failed: %s", id, error->message);
}

/**
 * hgd_plugin_instance_channel_opened:
 * @self: a running #HgdPluginInstance
 * @channel_id: the new channel
 * @user: the client's user
 * @role: the client's role
 * @purpose: (nullable): what the client opened it for
 *
 * Tells the plugin (HgContext::channel-opened); hgd-channels.c has checked who may. The
 * calls of a channel reach the host in the order made.
 */
void
hgd_plugin_instance_channel_opened (HgdPluginInstance *self,
                                    const gchar *channel_id,
                                    const gchar *user,
                                    const gchar *role,
                                    const gchar *purpose)
{
  g_return_if_fail (HGD_IS_PLUGIN_INSTANCE (self));

  if (self->host_proxy == NULL)
    return;
  hgd_dbus_plugin_host1_call_channel_opened (self->host_proxy, channel_id, user, role,
                                             purpose != NULL ? purpose : "",
                                             self->host_cancellable, channel_call_cb,
                                             g_strdup (self->id));
}

/**
 * hgd_plugin_instance_channel_message:
 * @self: an #HgdPluginInstance
 * @channel_id: an open channel
 * @message_json: the client's message, a JSON object as text
 *
 * Hands the plugin a client's message (HgContext::channel-message).
 */
void
hgd_plugin_instance_channel_message (HgdPluginInstance *self,
                                     const gchar *channel_id,
                                     const gchar *message_json)
{
  g_return_if_fail (HGD_IS_PLUGIN_INSTANCE (self));

  if (self->host_proxy == NULL)
    return;
  hgd_dbus_plugin_host1_call_channel_message (self->host_proxy, channel_id, message_json,
                                              self->host_cancellable, channel_call_cb,
                                              g_strdup (self->id));
}

/**
 * hgd_plugin_instance_channel_closed:
 * @self: an #HgdPluginInstance
 * @channel_id: a channel the client closed
 *
 * Tells the plugin (HgContext::channel-closed).
 */
void
hgd_plugin_instance_channel_closed (HgdPluginInstance *self,
                                    const gchar *channel_id)
{
  g_return_if_fail (HGD_IS_PLUGIN_INSTANCE (self));

  if (self->host_proxy == NULL)
    return;
  hgd_dbus_plugin_host1_call_channel_closed (self->host_proxy, channel_id,
                                             self->host_cancellable, channel_call_cb,
                                             g_strdup (self->id));
}
