/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A hostile test plugin of the personal domain, granted nothing: when it starts it tries
 * what its host's sandbox must keep it from, each aimed by a key of its configuration:
 * reading the municipal journal (`journal`), listing the municipal state directory
 * (`municipal-dir`), connecting to 127.0.0.1:`port` (no net.connect granted), opening
 * /dev/video0, ptrace of another plugin host (`victim-pid`), killing the core
 * (`core-pid`, SIGKILL), writing to the system (/etc) and a system call outside the
 * system-service set (landlock_create_ruleset asking for the ABI version: harmless, and
 * answered by any kernel with Landlock, or with EOPNOTSUPP without). It reports in its health:
 * {"uid", "dev": [the names in /dev], "own-state": "written" or the error,
 *  "sandbox-denied": [{"action", "error"}], "allowed": [the actions that worked]}; the
 * core journals each entry of "sandbox-denied" as a plugin.denied event. The same report
 * is published as a "sensor.intruder" event, for the test to read all of it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <hemgate-plugin.h>

#define HG_TYPE_INTRUDER_PLUGIN (hg_intruder_plugin_get_type ())
G_DECLARE_FINAL_TYPE (HgIntruderPlugin, hg_intruder_plugin, HG, INTRUDER_PLUGIN, HgPlugin)

struct _HgIntruderPlugin
{
  HgPlugin parent_instance;
  gchar *journal;       /* (owned) */
  gchar *municipal_dir; /* (owned) */
  gint64 port;
  gint64 victim_pid;
  gint64 core_pid;
};

G_DEFINE_TYPE (HgIntruderPlugin, hg_intruder_plugin, HG_TYPE_PLUGIN)

/* Adds the outcome of one attempt: @errsv 0 is a success. */
static void
outcome (JsonArray *denied,
         JsonArray *allowed,
         const gchar *action,
         int errsv)
{
  JsonObject *entry;

  if (errsv == 0)
    {
      json_array_add_string_element (allowed, action);
      return;
    }
  entry = json_object_new ();
  json_object_set_string_member (entry, "action", action);
  json_object_set_string_member (entry, "error", g_strerror (errsv));
  json_array_add_object_element (denied, entry);
}

static int
try_open (const gchar *path,
          int flags)
{
  int fd = open (path, flags | O_CLOEXEC, 0600);

  if (fd < 0)
    return errno;
  close (fd);
  return 0;
}

static int
try_list (const gchar *path)
{
  DIR *dir = opendir (path);

  if (dir == NULL)
    return errno;
  closedir (dir);
  return 0;
}

static int
try_connect (guint16 port)
{
  struct sockaddr_in address = { 0 };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int errsv = 0;

  if (fd < 0)
    return errno;
  address.sin_family = AF_INET;
  address.sin_port = htons (port);
  address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (connect (fd, (struct sockaddr *) &address, sizeof address) != 0)
    errsv = errno;
  close (fd);
  return errsv;
}

static int
try_ptrace (pid_t pid)
{
  if (ptrace (PTRACE_ATTACH, pid, NULL, NULL) != 0)
    return errno;
  ptrace (PTRACE_DETACH, pid, NULL, NULL);
  return 0;
}

/* Not in the system-service set: the sandbox's filter fails it with EPERM. */
static int
try_outside_call (void)
{
#ifdef SYS_landlock_create_ruleset
  /* LANDLOCK_CREATE_RULESET_VERSION: only asks for the ABI version */
  if (syscall (SYS_landlock_create_ruleset, NULL, 0, 1U << 0) < 0)
    return errno;
  return 0;
#else
  return ENOSYS;
#endif
}

static int
try_kill (pid_t pid)
{
  return kill (pid, SIGKILL) != 0 ? errno : 0;
}

static void
published_cb (GObject *source,
              GAsyncResult *result,
              gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (hg_context_publish_event_finish (HG_CONTEXT (source), result, &error) == 0)
    g_message ("report not published: %s", error->message);
}

static gboolean
attempt_cb (gpointer user_data)
{
  HgIntruderPlugin *self = HG_INTRUDER_PLUGIN (user_data);
  g_autoptr(JsonObject) health = json_object_new ();
  JsonArray *denied = json_array_new ();
  JsonArray *allowed = json_array_new ();
  JsonArray *dev = json_array_new ();
  const gchar *state = g_getenv ("HEMGATE_STATE_DIRECTORY");
  g_autofree gchar *own = g_build_filename (state != NULL ? state : "/nonexistent", "probe", NULL);
  g_autoptr(GDir) entries = g_dir_open ("/dev", 0, NULL);
  const gchar *name;
  g_autoptr(HgEvent) event = NULL;
  int errsv;

  outcome (denied, allowed, "read-journal", try_open (self->journal, O_RDONLY));
  outcome (denied, allowed, "list-state", try_list (self->municipal_dir));
  outcome (denied, allowed, "connect", try_connect ((guint16) self->port));
  outcome (denied, allowed, "open-video", try_open ("/dev/video0", O_RDWR));
  outcome (denied, allowed, "ptrace", try_ptrace ((pid_t) self->victim_pid));
  outcome (denied, allowed, "kill-core", try_kill ((pid_t) self->core_pid));
  outcome (denied, allowed, "write-system", try_open ("/etc/hemgate-intruder", O_WRONLY | O_CREAT));
  outcome (denied, allowed, "outside-call", try_outside_call ());

  while (entries != NULL && (name = g_dir_read_name (entries)) != NULL)
    json_array_add_string_element (dev, name);
  errsv = try_open (own, O_WRONLY | O_CREAT);
  json_object_set_string_member (health, "own-state", errsv == 0 ? "written" : g_strerror (errsv));
  json_object_set_int_member (health, "uid", getuid ());
  json_object_set_array_member (health, "dev", dev);
  json_object_set_array_member (health, "sandbox-denied", denied);
  json_object_set_array_member (health, "allowed", allowed);
  hg_context_report_health (hg_plugin_get_context (HG_PLUGIN (self)), health);
  event = hg_event_new ("sensor.intruder", health);
  hg_context_publish_event_async (hg_plugin_get_context (HG_PLUGIN (self)), event, NULL,
                                  published_cb, NULL);
  return G_SOURCE_REMOVE;
}

static gboolean
hg_intruder_plugin_configure (HgPlugin *plugin,
                              HgConfig *config,
                              GError **error)
{
  HgIntruderPlugin *self = HG_INTRUDER_PLUGIN (plugin);

  g_free (self->journal);
  self->journal = g_strdup (hg_config_get_string (config, "journal", "/nonexistent"));
  g_free (self->municipal_dir);
  self->municipal_dir = g_strdup (hg_config_get_string (config, "municipal-dir", "/nonexistent"));
  return hg_config_get_int (config, "port", 1, 1, 65535, &self->port, error) &&
         hg_config_get_int (config, "victim-pid", 0, 0, G_MAXINT32, &self->victim_pid, error) &&
         hg_config_get_int (config, "core-pid", 0, 0, G_MAXINT32, &self->core_pid, error);
}

static void
hg_intruder_plugin_start_async (HgPlugin *plugin,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (plugin, cancellable, callback, user_data);

  g_task_set_source_tag (task, hg_intruder_plugin_start_async);
  g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, attempt_cb, g_object_ref (plugin), g_object_unref);
  g_task_return_boolean (task, TRUE);
}

static gboolean
hg_intruder_plugin_start_finish (HgPlugin *plugin,
                                 GAsyncResult *result,
                                 GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
hg_intruder_plugin_finalize (GObject *object)
{
  HgIntruderPlugin *self = HG_INTRUDER_PLUGIN (object);

  g_free (self->journal);
  g_free (self->municipal_dir);
  G_OBJECT_CLASS (hg_intruder_plugin_parent_class)->finalize (object);
}

static void
hg_intruder_plugin_class_init (HgIntruderPluginClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hg_intruder_plugin_finalize;
  HG_PLUGIN_CLASS (klass)->configure = hg_intruder_plugin_configure;
  HG_PLUGIN_CLASS (klass)->start_async = hg_intruder_plugin_start_async;
  HG_PLUGIN_CLASS (klass)->start_finish = hg_intruder_plugin_start_finish;
}

static void
hg_intruder_plugin_init (HgIntruderPlugin *self)
{
}

HG_PLUGIN_EXPORT GType hg_plugin_query_type (void);

GType
hg_plugin_query_type (void)
{
  return HG_TYPE_INTRUDER_PLUGIN;
}
