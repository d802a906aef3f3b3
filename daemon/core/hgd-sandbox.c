/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdSandbox: the operating system's part of a plugin host's isolation (see
 * hgd-sandbox.h). Everything that allocates, looks up users or reads the disk is done in
 * hgd_sandbox_new (), in hemgated; the child setup between fork and exec makes system
 * calls only.
 *
 * As root the host is started through two extra processes, forks of hemgated that
 * exec nothing and only wait: the one GLib spawned (outside) makes the namespaces and
 * forks the namespace's PID 1, which mounts the sandbox's view of the disk and forks the
 * host as PID 2 (the host is not PID 1, which the kernel would protect from its own
 * signals, abort () among them). Each forwards SIGTERM, SIGINT and SIGHUP inwards and
 * hands the host's end (exit status or signal) outwards, so that hemgated sees the
 * host's own; each dies with its parent (PR_SET_PDEATHSIG), and the namespace with its
 * PID 1.
 *
 * The view of the disk: the whole system read-only and nosuid; a fresh /proc of the PID
 * namespace; a /dev with null, zero, full, random, urandom and /dev/shm, plus the device
 * nodes the capability table names for the granted capabilities, each bound from
 * hemgated's /dev (none is made: no CAP_MKNOD); a fresh /tmp, in which
 * only what hemgated itself runs from (a build tree under /tmp: its programs and
 * libraries) is shown again, read-only; /run a private 0700 tmpfs of the domain's user
 * (the runtime directory); hemgated's state
 * directory and configuration directory hidden under empty tmpfs; the plugin's directory
 * read-only and the instance's state directory (0700, the domain's user) writable again.
 *
 * The seccomp filter is an allow-list: the system-service call set (systemd's
 * @system-service, hgd-sandbox-syscalls.h) less namespaces, other processes' memory,
 * userfaultfd and the kernel keyring, and clone () without namespace flags; every other
 * call fails with EPERM (one newer than the list with ENOSYS), other architectures'
 * calls kill. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "hgd-capabilities.h"
#include "hgd-sandbox.h"

#if defined(__x86_64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* Under AddressSanitizer, LeakSanitizer stops the host's threads with ptrace at exit:
 * the filter leaves ptrace to the kernel's own checks (another host is in another PID
 * namespace and of another user, so still out of reach). */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ALLOW_PTRACE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ALLOW_PTRACE 1
#endif
#endif

#define SANDBOX_NAMESPACE_FLAGS (CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | \
                                 CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP)

typedef struct
{
  gchar *path;  /* (owned) under /dev */
} Device;

struct _HgdSandbox
{
  gboolean full;      /* namespaces, mounts, user (needs root) */
  gboolean net;       /* keeps the host's network (net.connect granted) */
  uid_t uid;
  gid_t gid;
  gchar *state_dir;   /* (owned) the instance's, writable */
  gchar *plugin_dir;  /* (owned) */
  GPtrArray *masks;   /* (element-type filename) hidden under an empty tmpfs */
  GArray *devices;    /* (element-type Device) */
  int *device_fds;    /* (owned) the child's, O_PATH: the standard nodes, then @devices */
  gchar *uid_gid_opts; /* (owned) tmpfs options of /run */
  /* `[plugin:ID] devices`: what the host sees at each path (a device node, a FIFO) */
  GPtrArray *extra_sources; /* (element-type filename) the real paths, links resolved */
  GPtrArray *extra_links;   /* (element-type filename) the configured path if a link, or NULL */
  gboolean *extra_is_dir;   /* (owned) per source: a directory, shown whole */
  int *extra_fds;           /* (owned) the child's, O_PATH */
  /* what hemgated runs from, when it is under /tmp (a build tree): shown read-only in the
   * host's fresh /tmp (element-type filename), and the child's O_PATH descriptors */
  GPtrArray *trees;
  int *tree_fds;
  struct sock_filter *code; /* (owned) */
  struct sock_fprog program;
  /* the child's, set up between fork and exec */
  gchar **mask_paths;   /* (owned) NULL-terminated copy of @masks for the child */
  GSpawnChildSetupFunc first; /* (nullable) runs in the child before anything else */
  gpointer first_data;
};

/* Shown in every host's /dev: bound from hemgated's own /dev (as bubblewrap's --dev), so
 * that no device node is ever made and hemgated needs no CAP_MKNOD. */
static const gchar *const standard_devices[] = {
  "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
};

/**
 * hgd_sandbox_mode_from_string:
 * @text: `auto`, `required` or `off` (`[plugins] sandbox`)
 * @mode: (out): the mode
 *
 * Returns: whether @text names a mode
 */
gboolean
hgd_sandbox_mode_from_string (const gchar *text,
                              HgdSandboxMode *mode)
{
  if (g_strcmp0 (text, "auto") == 0 || g_strcmp0 (text, "") == 0)
    *mode = HGD_SANDBOX_MODE_AUTO;
  else if (g_strcmp0 (text, "required") == 0)
    *mode = HGD_SANDBOX_MODE_REQUIRED;
  else if (g_strcmp0 (text, "off") == 0)
    *mode = HGD_SANDBOX_MODE_OFF;
  else
    return FALSE;
  return TRUE;
}

/* Returns: the system user @domain's plugin hosts run as */
const gchar *
hgd_sandbox_domain_user (HgDomain domain)
{
  return domain == HG_DOMAIN_PERSONAL ? HGD_SANDBOX_USER_PERSONAL : HGD_SANDBOX_USER_MUNICIPAL;
}

static HgdSandboxMode
config_mode (HgdConfig *config)
{
  HgdSandboxMode mode = HGD_SANDBOX_MODE_AUTO;

  (void) hgd_sandbox_mode_from_string (hgd_config_get_string (config, "plugins", "sandbox"), &mode);
  return mode;
}

/* The calls a host may make: @system-service less what no host gets (see the file) */
static const int allowed_calls[] = {
#include "hgd-sandbox-syscalls.h"
#ifdef SANDBOX_ALLOW_PTRACE
  __NR_ptrace,
#endif
};

/* The seccomp program, an allow-list: other architectures' calls (and x32's) kill; the
 * calls of allowed_calls[] pass; clone () passes without a namespace flag, clone3 ()
 * fails with ENOSYS (its flags are behind a pointer the filter cannot read; glibc then
 * uses clone ()); a call numbered above every call of the list is newer than this
 * build and fails with ENOSYS too, so that the C library falls back to the older call
 * as it does on an older kernel (systemd's filters do the same); any other call fails
 * with EPERM, which the plugin sees as an error it can report (hg_context_report_health ()
 * with "sandbox-denied", journaled by the core as plugin.denied). */
static struct sock_filter *
build_filter (guint *length)
{
  g_autoptr(GArray) code = g_array_new (FALSE, FALSE, sizeof (struct sock_filter));
  guint newest = 0;
  struct sock_filter head[] = {
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, arch)),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_AUDIT_ARCH, 1, 0),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr)),
#ifdef __X32_SYSCALL_BIT
    BPF_JUMP (BPF_JMP | BPF_JGE | BPF_K, __X32_SYSCALL_BIT, 0, 1),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
#endif
    /* clone: the flags are the first argument on both architectures */
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 4),
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, args[0])),
    BPF_JUMP (BPF_JMP | BPF_JSET | BPF_K, SANDBOX_NAMESPACE_FLAGS, 0, 1),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
  };

  g_array_append_vals (code, head, G_N_ELEMENTS (head));
  /* a jump offset is 8 bits: each comparison is followed by its own return */
  for (guint i = 0; i < G_N_ELEMENTS (allowed_calls); i++)
    {
      struct sock_filter check[] = {
        BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, (guint) allowed_calls[i], 0, 1),
        BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      };

      g_array_append_vals (code, check, G_N_ELEMENTS (check));
      newest = MAX (newest, (guint) allowed_calls[i]);
    }
  {
    struct sock_filter tail[] = {
      BPF_JUMP (BPF_JMP | BPF_JGT | BPF_K, newest, 0, 1),
      BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
      BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
    };

    g_array_append_vals (code, tail, G_N_ELEMENTS (tail));
  }
  *length = code->len;
  return (struct sock_filter *) g_array_free (g_steal_pointer (&code), FALSE);
}

/* hemgated's own capabilities (as root, what the unit's bounding set leaves) stay
 * permitted but are not effective, but while it uses them: to give an instance's state
 * directory to its domain's user (hgd_sandbox_new ()), to remove the personal plugins'
 * state at an erasure, and in a host's child, which makes them effective again before it
 * makes the sandbox. Capabilities are per thread: main () lowers them before hemgated
 * starts a thread, so that no other thread ever has any. A process that never called
 * hgd_sandbox_lower_privileges () (a test running the core) is left as it is. */
static gboolean privileges_lowered;

/* System calls only: also in the child between fork and exec. */
static gboolean
set_effective (gboolean effective)
{
  struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

  if (syscall (SYS_capget, &header, data) != 0)
    return FALSE;
  for (guint i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
    data[i].effective = effective ? data[i].permitted : 0;
  return syscall (SYS_capset, &header, data) == 0;
}

/**
 * hgd_sandbox_lower_privileges:
 *
 * For hemgated's main (), before it starts a thread: as root, keeps its capabilities
 * permitted but not effective, but around hgd_sandbox_privileges_raise () and
 * hgd_sandbox_privileges_lower (). The files hemgated makes are root's still.
 */
void
hgd_sandbox_lower_privileges (void)
{
  if (geteuid () != 0)
    return;
  if (!set_effective (FALSE))
    g_warning ("cannot lower hemgated's capabilities: %s", g_strerror (errno));
  else
    privileges_lowered = TRUE;
}

/* Makes hemgated's permitted capabilities effective, on the calling thread (the main
 * one), until hgd_sandbox_privileges_lower (). */
void
hgd_sandbox_privileges_raise (void)
{
  if (privileges_lowered)
    (void) set_effective (TRUE);
}

void
hgd_sandbox_privileges_lower (void)
{
  if (privileges_lowered)
    (void) set_effective (FALSE);
}

/* Adds the device nodes @pattern (relative to /dev, e.g. `video*`) names now. */
static void
add_devices (GArray *devices,
             const gchar *pattern)
{
  g_autofree gchar *dir_part = g_path_get_dirname (pattern);
  g_autofree gchar *name_part = g_path_get_basename (pattern);
  g_autofree gchar *dir = g_build_filename ("/dev", dir_part, NULL);
  g_autoptr(GDir) entries = g_dir_open (dir, 0, NULL);
  const gchar *name;

  if (entries == NULL)
    return;
  while ((name = g_dir_read_name (entries)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (dir, name, NULL);
      struct stat st;
      Device device;

      if (!g_pattern_match_simple (name_part, name) || stat (path, &st) != 0 ||
          (!S_ISCHR (st.st_mode) && !S_ISBLK (st.st_mode)))
        continue;
      device.path = g_steal_pointer (&path);
      g_array_append_val (devices, device);
    }
}

static void
device_clear (gpointer data)
{
  Device *device = data;

  g_free (device->path);
}

static uid_t tree_uid;
static gid_t tree_gid;

static int
chown_entry (const char *path,
             const struct stat *st,
             int type,
             struct FTW *ftw)
{
  if ((st->st_uid != tree_uid || st->st_gid != tree_gid) && lchown (path, tree_uid, tree_gid) != 0)
    return errno;
  return 0;
}

/* Makes @path a directory of @uid's, 0700, with all in it @uid's too when it was not (a
 * host that ran as another user before: sandbox = off, or an older unit). As root, with
 * CAP_CHOWN and CAP_DAC_OVERRIDE only: a directory is never chmod'ed while another user
 * owns it, which would take CAP_FOWNER. */
static gboolean
ensure_owned_dir (const gchar *path,
                  uid_t uid,
                  gid_t gid,
                  GError **error)
{
  gboolean root = geteuid () == 0;
  int result = 0;
  struct stat st;

  if (g_mkdir_with_parents (path, 0700) != 0 || lstat (path, &st) != 0)
    result = errno;
  if (result == 0 && (st.st_mode & 07777) != 0700)
    {
      if (root && st.st_uid != 0 && chown (path, 0, (gid_t) -1) != 0)
        result = errno;
      else if (chmod (path, 0700) != 0 || lstat (path, &st) != 0)
        result = errno;
    }
  if (result == 0 && root && (st.st_uid != uid || st.st_gid != gid))
    {
      /* only hemgated's main thread prepares sandboxes */
      tree_uid = uid;
      tree_gid = gid;
      result = nftw (path, chown_entry, 16, FTW_PHYS | FTW_MOUNT);
      if (result < 0)
        result = errno;
    }
  if (result != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (result), "%s: %s", path,
                   g_strerror (result));
      return FALSE;
    }
  return TRUE;
}

/* Looks up @domain's user; in auto mode, a missing one is nobody's. */
static gboolean
lookup_user (HgDomain domain,
             uid_t *uid,
             gid_t *gid,
             const gchar **name)
{
  struct passwd *pw = getpwnam (hgd_sandbox_domain_user (domain));

  *name = hgd_sandbox_domain_user (domain);
  if (pw == NULL)
    {
      pw = getpwnam ("nobody");
      *name = "nobody";
      if (pw == NULL)
        return FALSE;
      *uid = pw->pw_uid;
      *gid = pw->pw_gid;
      return FALSE;
    }
  *uid = pw->pw_uid;
  *gid = pw->pw_gid;
  return TRUE;
}

/* The top directories under /tmp of what hemgated and the host run from: the program
 * (hemgated, or a test linking the core) and the LD_LIBRARY_PATH entries, e.g.
 * /tmp/clone for a build tree in /tmp/clone/build. Empty for an installed gateway. */
static GPtrArray *
trees_under_tmp (void)
{
  g_autoptr(GPtrArray) trees = g_ptr_array_new_with_free_func (g_free);
  g_autofree gchar *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_auto(GStrv) libraries = g_strsplit (g_getenv ("LD_LIBRARY_PATH") != NULL ? g_getenv ("LD_LIBRARY_PATH") : "", ":", -1);
  g_autoptr(GPtrArray) paths = g_ptr_array_new ();

  if (exe != NULL)
    g_ptr_array_add (paths, exe);
  for (guint i = 0; libraries[i] != NULL; i++)
    g_ptr_array_add (paths, libraries[i]);
  for (guint i = 0; i < paths->len; i++)
    {
      const gchar *path = g_ptr_array_index (paths, i);
      const gchar *end;
      g_autofree gchar *top = NULL;

      if (!g_str_has_prefix (path, "/tmp/"))
        continue;
      end = strchr (path + 5, '/');
      top = end != NULL ? g_strndup (path, end - path) : g_strdup (path);
      if (top[5] != '\0' && g_file_test (top, G_FILE_TEST_IS_DIR) &&
          !g_ptr_array_find_with_equal_func (trees, top, g_str_equal, NULL))
        g_ptr_array_add (trees, g_steal_pointer (&top));
    }
  return g_steal_pointer (&trees);
}

static const gchar *const protections[] = { "user", "mount-namespace", "pid-namespace", "ipc-namespace",
                                            "uts-namespace", "network-namespace", "read-only-system",
                                            "devices", "seccomp", "no-new-privileges", NULL };

/* Returns: whether @protection (of protections[]) is applied to the hosts of a domain
 * whose user is there (@user_found) in @mode */
static gboolean
protection_in_force (const gchar *protection,
                     HgdSandboxMode mode,
                     gboolean user_found)
{
  gboolean root = geteuid () == 0 && mode != HGD_SANDBOX_MODE_OFF;
  gboolean filter = mode != HGD_SANDBOX_MODE_OFF;

#ifndef SANDBOX_AUDIT_ARCH
  filter = FALSE;
#endif
  if (g_str_equal (protection, "user"))
    return root && user_found;
  if (g_str_equal (protection, "seccomp"))
    return filter;
  if (g_str_equal (protection, "no-new-privileges"))
    return mode != HGD_SANDBOX_MODE_OFF;
  return root;
}

/* Returns: (transfer full): the protections not applied to @domain's hosts in @mode,
 * comma-separated, or "" */
static gchar *
protections_off (HgdSandboxMode mode,
                 HgDomain domain)
{
  g_autoptr(GString) off = g_string_new (NULL);
  uid_t uid;
  gid_t gid;
  const gchar *user = NULL;
  gboolean user_found = lookup_user (domain, &uid, &gid, &user);

  for (guint i = 0; protections[i] != NULL; i++)
    {
      if (!protection_in_force (protections[i], mode, user_found))
        g_string_append_printf (off, "%s%s", off->len > 0 ? ", " : "", protections[i]);
    }
  return g_string_free (g_steal_pointer (&off), FALSE);
}

/**
 * hgd_sandbox_new:
 * @config: hemgated's configuration (`[plugins] sandbox`, `[daemon] state-dir`)
 * @domain: the instance's domain
 * @instance_id: the instance's id
 * @grant: the instance's granted capabilities
 * @state_root: hemgated's state directory, hidden from the host
 * @plugin_dir: the plugin's directory, read-only to the host
 * @devices: (nullable): `[plugin:ID] devices`, paths the host may open besides those its
 *   capabilities name (a button's /dev/input/by-id/... node; a directory is shown whole);
 *   the files' own modes still apply
 * @error: return location for a #GError
 *
 * Prepares a host's sandbox: makes the instance's state directory
 * `<state_root>/<domain>/plugins/<id>` (0700, the domain's user), and all that the child
 * needs. With `sandbox = required`, fails unless every protection can be applied.
 *
 * Returns: (transfer full) (nullable): the sandbox, or %NULL with @error
 */
HgdSandbox *
hgd_sandbox_new (HgdConfig *config,
                 HgDomain domain,
                 const gchar *instance_id,
                 const gchar *const *grant,
                 const gchar *state_root,
                 const gchar *plugin_dir,
                 const gchar *const *devices,
                 GError **error)
{
  g_autoptr(HgdSandbox) self = g_new0 (HgdSandbox, 1);
  HgdSandboxMode mode = config_mode (config);
  const gchar *user = NULL;
  gboolean user_found;
  guint length = 0;

  self->masks = g_ptr_array_new_with_free_func (g_free);
  self->extra_sources = g_ptr_array_new_with_free_func (g_free);
  self->extra_links = g_ptr_array_new_with_free_func (g_free);
  self->devices = g_array_new (FALSE, FALSE, sizeof (Device));
  g_array_set_clear_func (self->devices, device_clear);
  self->state_dir = g_build_filename (state_root, hg_domain_to_string (domain), "plugins",
                                      instance_id, NULL);
  self->plugin_dir = g_strdup (plugin_dir);
  self->uid = geteuid ();
  self->gid = getegid ();

  user_found = lookup_user (domain, &self->uid, &self->gid, &user);
  if (geteuid () != 0 || mode == HGD_SANDBOX_MODE_OFF)
    {
      self->uid = geteuid ();
      self->gid = getegid ();
    }
  if (mode == HGD_SANDBOX_MODE_REQUIRED)
    {
      g_autofree gchar *off = protections_off (mode, domain);

      if (off[0] != '\0')
        {
          /* each missing protection by its name in health's isolation, and why */
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                       "[plugins] sandbox = required, but these protections cannot be applied: %s (%s)",
                       off,
                       geteuid () != 0 ? "hemgated does not run as root"
                       : !user_found   ? "the domain's user is missing, see sysusers.d/hemgate.conf"
                                       : "no seccomp filter for this architecture");
          return NULL;
        }
    }
  hgd_sandbox_privileges_raise ();
  if (!ensure_owned_dir (self->state_dir, self->uid, self->gid, error))
    {
      hgd_sandbox_privileges_lower ();
      return NULL;
    }
  hgd_sandbox_privileges_lower ();
  if (mode == HGD_SANDBOX_MODE_OFF)
    return g_steal_pointer (&self);

  self->full = geteuid () == 0;
  for (guint i = 0; grant != NULL && grant[i] != NULL; i++)
    {
      const HgdCapability *rule = hgd_capability_lookup (grant[i]);

      if (g_str_has_prefix (grant[i], HG_CAPABILITY_NET_CONNECT_PREFIX))
        self->net = TRUE;
      for (guint j = 0; rule != NULL && rule->devices[j] != NULL; j++)
        add_devices (self->devices, rule->devices[j]);
    }
  for (guint i = 0; devices != NULL && devices[i] != NULL; i++)
    {
      g_autofree gchar *real = realpath (devices[i], NULL);

      if (real == NULL)
        {
          int errsv = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "devices: %s: %s",
                       devices[i], g_strerror (errsv));
          return NULL;
        }
      g_ptr_array_add (self->extra_links, g_strcmp0 (real, devices[i]) != 0 ? g_strdup (devices[i]) : NULL);
      g_ptr_array_add (self->extra_sources, g_steal_pointer (&real));
    }
  self->device_fds = g_new0 (int, G_N_ELEMENTS (standard_devices) + self->devices->len + 1);
  self->extra_fds = g_new0 (int, self->extra_sources->len + 1);
  self->extra_is_dir = g_new0 (gboolean, self->extra_sources->len + 1);
  for (guint i = 0; i < self->extra_sources->len; i++)
    self->extra_is_dir[i] = g_file_test (g_ptr_array_index (self->extra_sources, i), G_FILE_TEST_IS_DIR);
  self->trees = trees_under_tmp ();
  self->tree_fds = g_new0 (int, self->trees->len + 1);
  g_ptr_array_add (self->masks, g_strdup (state_root));
  g_ptr_array_add (self->masks, g_build_filename (SYSCONFDIR, "hemgate", NULL));
  g_ptr_array_add (self->masks, NULL);
  self->mask_paths = (gchar **) self->masks->pdata;
  self->uid_gid_opts = g_strdup_printf ("mode=0700,size=16m,uid=%u,gid=%u", (guint) self->uid,
                                        (guint) self->gid);
#ifdef SANDBOX_AUDIT_ARCH
  self->code = build_filter (&length);
#endif
  self->program.len = length;
  self->program.filter = self->code;
  return g_steal_pointer (&self);
}

void
hgd_sandbox_free (HgdSandbox *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->trees, g_ptr_array_unref);
  g_free (self->tree_fds);
  g_free (self->state_dir);
  g_free (self->plugin_dir);
  g_ptr_array_unref (self->masks);
  g_array_unref (self->devices);
  g_free (self->device_fds);
  g_free (self->uid_gid_opts);
  g_ptr_array_unref (self->extra_sources);
  g_ptr_array_unref (self->extra_links);
  g_free (self->extra_fds);
  g_free (self->extra_is_dir);
  g_free (self->code);
  g_free (self);
}

/* Returns: the user the host runs as, the only peer the core's end of its socket accepts */
uid_t
hgd_sandbox_get_uid (HgdSandbox *self)
{
  return self->uid;
}

/* Returns: whether the host runs in namespaces of its own, behind two waiting processes */
gboolean
hgd_sandbox_is_full (HgdSandbox *self)
{
  return self->full;
}

static GPid
first_child (GPid pid)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%d/task/%d/children", (int) pid, (int) pid);
  g_autofree gchar *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  return (GPid) g_ascii_strtoll (text, NULL, 10);
}

/**
 * hgd_sandbox_find_host_pid:
 * @outer: the process hemgated spawned for a fully sandboxed host
 *
 * Returns: the host's own pid (in hemgated's PID namespace) behind the two waiting
 *   processes, or 0 while it is not there (starting, or gone)
 */
GPid
hgd_sandbox_find_host_pid (GPid outer)
{
  GPid init = first_child (outer);

  return init > 0 ? first_child (init) : 0;
}

/* Returns: (transfer none): the instance's state directory */
const gchar *
hgd_sandbox_get_state_dir (HgdSandbox *self)
{
  return self->state_dir;
}

/* the child: system calls only from here to hgd_sandbox_apply () */

static volatile pid_t forward_to = 0;

static void
forward_signal (int sig)
{
  if (forward_to > 0)
    kill (forward_to, sig);
}

static void
child_fail (const char *what,
            int errsv)
{
  const char *prefix = "hemgate-plugin-host: sandbox: ";
  const char *message = strerror (errsv);

  (void) !write (STDERR_FILENO, prefix, strlen (prefix));
  (void) !write (STDERR_FILENO, what, strlen (what));
  (void) !write (STDERR_FILENO, ": ", 2);
  (void) !write (STDERR_FILENO, message, strlen (message));
  (void) !write (STDERR_FILENO, "\n", 1);
  _exit (126);
}

/* Waits for @child, forwarding signals to it, and ends as it did: by its signal (as
 * PID 1 of a namespace cannot, by 128 + the signal) or with its status. */
static void G_GNUC_NORETURN
wait_and_mirror (pid_t child,
                 gboolean is_init)
{
  static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
  struct sigaction action = { 0 };
  sigset_t all;
  int status = 0;

  forward_to = child;
  action.sa_handler = forward_signal;
  for (guint i = 0; i < G_N_ELEMENTS (forwarded); i++)
    sigaction (forwarded[i], &action, NULL);
  sigemptyset (&all);
  sigprocmask (SIG_SETMASK, &all, NULL);
  /* only stderr: the socket to the core is the host's alone */
  syscall (SYS_close_range, 3, ~0U, 0);
  while (waitpid (child, &status, 0) < 0)
    {
      if (errno != EINTR)
        _exit (126);
    }
  if (WIFEXITED (status) && !is_init && WEXITSTATUS (status) > 128 && WEXITSTATUS (status) < 128 + 65)
    status = WEXITSTATUS (status) - 128 + 0x10000; /* a signal PID 1 passed on */
  else if (WIFEXITED (status))
    _exit (WEXITSTATUS (status));
  else if (is_init)
    _exit (128 + WTERMSIG (status));
  else
    status = WTERMSIG (status) + 0x10000;
  {
    int sig = status - 0x10000;
    struct rlimit no_core = { 0, 0 };

    setrlimit (RLIMIT_CORE, &no_core);
    action.sa_handler = SIG_DFL;
    sigaction (sig, &action, NULL);
    kill (getpid (), sig);
    _exit (128 + sig);
  }
}

static void
mkdir_parents (const char *path,
               mode_t mode)
{
  char buffer[4096];
  size_t len = strlen (path);

  if (len >= sizeof buffer)
    return;
  memcpy (buffer, path, len + 1);
  for (size_t i = 1; i <= len; i++)
    {
      if (buffer[i] == '/' || buffer[i] == '\0')
        {
          char saved = buffer[i];

          buffer[i] = '\0';
          mkdir (buffer, mode);
          buffer[i] = saved;
        }
    }
}

static void
mkdir_parent_of (const char *path)
{
  char parent[4096];
  size_t len = strlen (path);

  while (len > 0 && path[len - 1] != '/')
    len--;
  if (len > 1 && len < sizeof parent)
    {
      memcpy (parent, path, len - 1);
      parent[len - 1] = '\0';
      mkdir_parents (parent, 0755);
    }
}

static void
bind_fd (int fd,
         const char *target,
         gboolean directory,
         gboolean writable)
{
  char source[64];
  int n = 0;
  char digits[16];
  int len = 0;

  memcpy (source, "/proc/self/fd/", 14);
  n = 14;
  do
    {
      digits[len++] = (char) ('0' + fd % 10);
      fd /= 10;
    }
  while (fd > 0);
  while (len > 0)
    source[n++] = digits[--len];
  source[n] = '\0';
  if (directory)
    mkdir_parents (target, 0755);
  else
    {
      int point;

      mkdir_parent_of (target);
      /* O_EXCL: an existing target (a FIFO, a device) is never opened, which could block */
      point = open (target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (point >= 0)
        close (point);
    }
  if (mount (source, target, NULL, MS_BIND | MS_REC, NULL) != 0)
    child_fail (target, errno);
  if (mount (NULL, target, NULL,
             MS_REMOUNT | MS_BIND | MS_NOSUID | (directory ? MS_NODEV : 0) | (writable ? 0 : MS_RDONLY),
             NULL) != 0)
    child_fail (target, errno);
}

/* PID 1's part, as root in the new namespaces: the view of the disk. */
static void
make_view (HgdSandbox *self)
{
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID };
  const guint n_standard = G_N_ELEMENTS (standard_devices);
  int plugin_fd;
  int state_fd;

  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    child_fail ("/ private", errno);
  if (syscall (SYS_mount_setattr, AT_FDCWD, "/", AT_RECURSIVE, &attr, sizeof attr) != 0)
    child_fail ("/ read-only", errno);
  if (mount ("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
    child_fail ("/proc", errno);
  /* what is shown again, found before it is hidden */
  plugin_fd = open (self->plugin_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (plugin_fd < 0)
    child_fail (self->plugin_dir, errno);
  state_fd = open (self->state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (state_fd < 0)
    child_fail (self->state_dir, errno);
  for (guint i = 0; i < self->trees->len; i++)
    {
      self->tree_fds[i] = open (g_ptr_array_index (self->trees, i), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (self->tree_fds[i] < 0)
        child_fail (g_ptr_array_index (self->trees, i), errno);
    }
  for (guint i = 0; i < self->extra_sources->len; i++)
    {
      self->extra_fds[i] = open (g_ptr_array_index (self->extra_sources, i), O_PATH | O_CLOEXEC);
      if (self->extra_fds[i] < 0)
        child_fail (g_ptr_array_index (self->extra_sources, i), errno);
    }
  for (guint i = 0; i < n_standard + self->devices->len; i++)
    {
      const char *path = i < n_standard ? standard_devices[i]
                                        : g_array_index (self->devices, Device, i - n_standard).path;

      self->device_fds[i] = open (path, O_PATH | O_CLOEXEC);
      if (self->device_fds[i] < 0)
        child_fail (path, errno);
    }

  if (mount ("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") != 0)
    child_fail ("/dev", errno);
  for (guint i = 0; i < n_standard + self->devices->len; i++)
    {
      const char *path = i < n_standard ? standard_devices[i]
                                        : g_array_index (self->devices, Device, i - n_standard).path;

      bind_fd (self->device_fds[i], path, FALSE, TRUE);
      close (self->device_fds[i]);
    }
  mkdir ("/dev/shm", 01777);
  if (mount ("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=16m") != 0)
    child_fail ("/dev/shm", errno);
  symlink ("/proc/self/fd", "/dev/fd");
  symlink ("/proc/self/fd/0", "/dev/stdin");
  symlink ("/proc/self/fd/1", "/dev/stdout");
  symlink ("/proc/self/fd/2", "/dev/stderr");

  if (mount ("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m") != 0)
    child_fail ("/tmp", errno);
  /* before the masks, which may lie inside them */
  for (guint i = 0; i < self->trees->len; i++)
    {
      bind_fd (self->tree_fds[i], g_ptr_array_index (self->trees, i), TRUE, FALSE);
      close (self->tree_fds[i]);
    }
  if (mount ("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, self->uid_gid_opts) != 0)
    child_fail ("/run", errno);
  for (guint i = 0; self->mask_paths[i] != NULL; i++)
    {
      struct stat st;

      if (stat (self->mask_paths[i], &st) != 0 || !S_ISDIR (st.st_mode))
        continue;
      if (mount ("tmpfs", self->mask_paths[i], "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                 "mode=0755,size=64k") != 0)
        child_fail (self->mask_paths[i], errno);
    }
  bind_fd (plugin_fd, self->plugin_dir, TRUE, FALSE);
  bind_fd (state_fd, self->state_dir, TRUE, TRUE);
  close (plugin_fd);
  close (state_fd);
  for (guint i = 0; i < self->extra_sources->len; i++)
    {
      const char *link = g_ptr_array_index (self->extra_links, i);

      bind_fd (self->extra_fds[i], g_ptr_array_index (self->extra_sources, i), self->extra_is_dir[i],
               TRUE);
      close (self->extra_fds[i]);
      if (link != NULL)
        {
          mkdir_parent_of (link);
          symlink (g_ptr_array_index (self->extra_sources, i), link);
        }
    }
  if (mount (NULL, "/dev", NULL, MS_REMOUNT | MS_NOSUID | MS_NOEXEC | MS_RDONLY, NULL) != 0)
    child_fail ("/dev read-only", errno);
  /* the masks' own tmpfs read-only, now that the binds have their mount points */
  for (guint i = 0; self->mask_paths[i] != NULL; i++)
    mount (NULL, self->mask_paths[i], NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
}

/* The host's own part: its user, no new privileges, the filter. */
static void
drop_privileges (HgdSandbox *self)
{
  sigset_t all;

  if (self->full)
    {
      if (setgroups (0, NULL) != 0)
        child_fail ("setgroups", errno);
      if (setresgid (self->gid, self->gid, self->gid) != 0)
        child_fail ("setresgid", errno);
      if (setresuid (self->uid, self->uid, self->uid) != 0)
        child_fail ("setresuid", errno);
      if (chdir ("/") != 0)
        child_fail ("chdir", errno);
    }
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    child_fail ("no_new_privs", errno);
  if (self->program.len > 0 && prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &self->program) != 0)
    child_fail ("seccomp", errno);
  sigemptyset (&all);
  sigprocmask (SIG_SETMASK, &all, NULL);
}

static void
child_setup (gpointer user_data)
{
  HgdSandbox *self = user_data;
  int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
  pid_t pid;

  /* hemgated's own capabilities, which the sandbox takes; the host drops them all */
  if (privileges_lowered)
    set_effective (TRUE);
  /* before the forks below: what it sets, the host's own process inherits */
  if (self->first != NULL)
    self->first (self->first_data);
  if (self->masks->len == 0)
    return; /* off */
  if (!self->full)
    {
      drop_privileges (self);
      return;
    }
  if (!self->net)
    flags |= CLONE_NEWNET;
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (unshare (flags) != 0)
    child_fail ("unshare", errno);
  pid = fork ();
  if (pid < 0)
    child_fail ("fork", errno);
  if (pid > 0)
    wait_and_mirror (pid, FALSE);

  /* PID 1 */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  make_view (self);
  pid = fork ();
  if (pid < 0)
    child_fail ("fork", errno);
  if (pid > 0)
    wait_and_mirror (pid, TRUE);

  /* PID 2: the host */
  drop_privileges (self);
}

/**
 * hgd_sandbox_apply:
 * @self: an #HgdSandbox
 * @launcher: the host's launcher
 *
 * Sets @launcher's child setup and the host's environment: `HEMGATE_STATE_DIRECTORY`, and
 * in namespaces `HEMGATE_RUNTIME_DIRECTORY`, `XDG_RUNTIME_DIR` (/run) and `HOME` (the
 * state directory). @self must live until the spawn returns.
 */
void
hgd_sandbox_apply (HgdSandbox *self,
                   GSubprocessLauncher *launcher)
{
  g_subprocess_launcher_setenv (launcher, "HEMGATE_STATE_DIRECTORY", self->state_dir, TRUE);
  if (self->full)
    g_subprocess_launcher_setenv (launcher, "HOME", self->state_dir, TRUE); /* hemgated's is hidden */
  if (self->full)
    {
      g_subprocess_launcher_setenv (launcher, "HEMGATE_RUNTIME_DIRECTORY", "/run", TRUE);
      g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", "/run", TRUE);
    }
  if (self->masks->len == 0 && self->first == NULL)
    return; /* off */
  g_subprocess_launcher_set_child_setup (launcher, child_setup, self, NULL);
}

/**
 * hgd_sandbox_set_first:
 * @self: an #HgdSandbox
 * @func: what the host's child process runs first, before it is sandboxed
 * @user_data: for @func; must live until the spawn returns
 *
 * For settings every process of the host must inherit (its domain's limits): @func runs
 * in the child between fork and exec, before the sandbox's own forks, so it may use
 * only async-signal-safe calls. Call before hgd_sandbox_apply().
 */
void
hgd_sandbox_set_first (HgdSandbox *self,
                       GSpawnChildSetupFunc func,
                       gpointer user_data)
{
  self->first = func;
  self->first_data = user_data;
}

/**
 * hgd_sandbox_status_to_json:
 * @config: hemgated's configuration
 * @warning: (out) (transfer full) (optional): what is off, or %NULL when nothing is
 *
 * For `GET /api/v1/health`'s subsystem `isolation`.
 *
 * Returns: (transfer full): {"mode", "<domain>": {"user", "on": [...], "off": [...]}}
 */
JsonObject *
hgd_sandbox_status_to_json (HgdConfig *config,
                            gchar **warning)
{
  HgdSandboxMode mode = config_mode (config);
  JsonObject *object = json_object_new ();
  g_autoptr(GString) off_text = g_string_new (NULL);

  json_object_set_string_member (object, "mode", hgd_config_get_string (config, "plugins", "sandbox"));
  for (guint d = 0; d < HG_DOMAIN_LAST; d++)
    {
      JsonObject *domain = json_object_new ();
      JsonArray *on = json_array_new ();
      JsonArray *off = json_array_new ();
      uid_t uid;
      gid_t gid;
      const gchar *user = NULL;
      gboolean root = geteuid () == 0 && mode != HGD_SANDBOX_MODE_OFF;
      g_autofree gchar *domain_off = protections_off (mode, (HgDomain) d);
      gboolean user_found = lookup_user ((HgDomain) d, &uid, &gid, &user);

      for (guint i = 0; protections[i] != NULL; i++)
        json_array_add_string_element (protection_in_force (protections[i], mode, user_found) ? on : off,
                                       protections[i]);
      json_object_set_string_member (domain, "user",
                                     root ? user : g_get_user_name ());
      json_object_set_array_member (domain, "on", on);
      json_object_set_array_member (domain, "off", off);
      json_object_set_object_member (object, hg_domain_to_string ((HgDomain) d), domain);
      if (domain_off[0] != '\0')
        g_string_append_printf (off_text, "%s%s: %s off", off_text->len > 0 ? "; " : "",
                                hg_domain_to_string ((HgDomain) d), domain_off);
    }
  if (warning != NULL)
    {
      const gchar *why = geteuid () != 0             ? "hemgated does not run as root"
                         : mode == HGD_SANDBOX_MODE_OFF ? "[plugins] sandbox = off"
                                                        : NULL;

      if (off_text->len == 0)
        *warning = NULL;
      else if (mode == HGD_SANDBOX_MODE_REQUIRED)
        *warning = g_strdup_printf ("plugin hosts not started ([plugins] sandbox = required%s%s): %s",
                                    why != NULL ? "; " : "", why != NULL ? why : "", off_text->str);
      else
        *warning = g_strdup_printf ("plugin hosts %s%s%s: %s",
                                    why != NULL ? "not isolated (" : "partly isolated",
                                    why != NULL ? why : "", why != NULL ? ")" : "", off_text->str);
    }
  return object;
}
