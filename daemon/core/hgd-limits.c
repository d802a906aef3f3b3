/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdLimits: keeps one domain's plugins from starving the other's, above all the
 * municipal alarm path. Read once from `[limits]`; each host is put under its domain's
 * limits by hgd_limits_apply () right after it is spawned, and every event a plugin
 * publishes takes a token of its domain's bucket first (alarms never do: RaiseAlarm is
 * not an event publication).
 *
 * CPU share: when hemgated has a cgroup v2 of its own with the cpu controller (the unit's
 * Delegate=yes), it moves itself into `<cgroup>/core` and each host into
 * `<cgroup>/<domain>`, whose cpu.weight and memory.max come from the configuration.
 * Otherwise (no delegation, cgroup v1 or a hybrid layout whose v2 tree has no
 * controllers, development) each host gets the nice value of its domain's weight, and
 * its memory an RLIMIT_DATA. Which is in force, and why, is in /api/v1/health. The I/O
 * priority is the nice value's (best-effort class) in both cases. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hgd-limits.h"

/* from linux/ioprio.h, which older kernels' headers lack */
#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_CLASS_BE 2
#define IOPRIO_WHO_PROCESS 1

/* A domain over its event rate is warned about at most once in this window; health
 * warns while a refusal is more recent than that. */
#define REFUSAL_WINDOW_USEC (60 * G_USEC_PER_SEC)

#if defined(__SANITIZE_ADDRESS__)
#define HGD_LIMITS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HGD_LIMITS_ASAN 1
#endif
#endif

typedef enum
{
  MEMORY_OFF,
  MEMORY_CGROUP,
  MEMORY_RLIMIT,
} MemoryMechanism;

typedef struct
{
  guint cpu_weight;
  gint nice;
  guint64 memory_max;    /* bytes; 0 for none */
  MemoryMechanism memory;
  guint64 journal_budget; /* bytes */
  HgdTokenBucket bucket;
  guint64 n_refused;
  gint64 last_refused;   /* monotonic; 0 for never */
  gint64 warned;         /* monotonic time of the last warning */
  guint64 refused_at_warning;
  gchar *error;          /* (owned) (nullable) why the last host was not limited */
  gchar *procs_path;     /* (owned) (nullable) the domain cgroup's cgroup.procs */
} DomainLimits;

struct _HgdLimits
{
  GObject parent_instance;
  gchar *cgroup_dir;     /* (owned) (nullable) the delegated cgroup in use */
  gchar *cgroup_reason;  /* (owned) (nullable) why none is used */
  gchar *memory_reason;  /* (owned) (nullable) why memory is not limited */
  DomainLimits domains[HG_DOMAIN_LAST];
};

G_DEFINE_TYPE (HgdLimits, hgd_limits, G_TYPE_OBJECT)

/**
 * hgd_token_bucket_init:
 * @bucket: a bucket
 * @rate: tokens added per second; 0 for no limit
 * @burst: the most tokens saved up (at least 1 is used)
 * @now: monotonic time, microseconds
 *
 * Starts @bucket full.
 */
void
hgd_token_bucket_init (HgdTokenBucket *bucket,
                       guint rate,
                       guint burst,
                       gint64 now)
{
  bucket->rate = rate;
  bucket->burst = MAX (burst, 1);
  bucket->tokens = bucket->burst;
  bucket->last = now;
}

/**
 * hgd_token_bucket_take:
 * @bucket: a bucket
 * @n: how many tokens are wanted
 * @now: monotonic time, microseconds
 *
 * Takes as many of @n tokens as the bucket holds.
 *
 * Returns: how many were taken, from 0 to @n
 */
guint
hgd_token_bucket_take (HgdTokenBucket *bucket,
                       guint n,
                       gint64 now)
{
  guint taken;

  if (bucket->rate == 0)
    return n;
  if (now > bucket->last)
    {
      bucket->tokens += (gdouble) (now - bucket->last) * bucket->rate / G_USEC_PER_SEC;
      bucket->tokens = MIN (bucket->tokens, (gdouble) bucket->burst);
      bucket->last = now;
    }
  taken = (guint) MIN ((gdouble) n, floor (bucket->tokens));
  bucket->tokens -= taken;
  return taken;
}

/**
 * hgd_limits_nice_for_weight:
 * @weight: a cgroup v2 cpu.weight, 1 to 10000 (100 is the default share)
 *
 * The nice value whose scheduler weight stands to nice 0's as @weight to 100: each
 * step of nice is a factor of about 1.25 in CPU share.
 *
 * Returns: a nice value from -20 to 19
 */
gint
hgd_limits_nice_for_weight (guint weight)
{
  gdouble steps = -log ((gdouble) MAX (weight, 1) / 100.0) / log (1.25);

  return CLAMP ((gint) lround (steps), -20, 19);
}

static void
hgd_limits_finalize (GObject *object)
{
  HgdLimits *self = HGD_LIMITS (object);

  g_free (self->cgroup_dir);
  g_free (self->cgroup_reason);
  g_free (self->memory_reason);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      g_free (self->domains[i].error);
      g_free (self->domains[i].procs_path);
    }
  G_OBJECT_CLASS (hgd_limits_parent_class)->finalize (object);
}

static void
hgd_limits_class_init (HgdLimitsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hgd_limits_finalize;
}

static void
hgd_limits_init (HgdLimits *self)
{
}

/* Cgroup files are written in one write (), never through a temporary file. */
static gboolean
write_cgroup_file (const gchar *dir,
                   const gchar *name,
                   const gchar *value,
                   GError **error)
{
  g_autofree gchar *path = g_build_filename (dir, name, NULL);
  gssize len = strlen (value);
  gssize written;
  int errsv;
  int fd;

  fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s: %s", path,
                   g_strerror (errsv));
      return FALSE;
    }
  written = write (fd, value, len);
  errsv = errno;
  close (fd);
  if (written != len)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s: %s", path,
                   written < 0 ? g_strerror (errsv) : "short write");
      return FALSE;
    }
  return TRUE;
}

static gboolean
make_cgroup (const gchar *dir,
             const gchar *name,
             GError **error)
{
  g_autofree gchar *path = g_build_filename (dir, name, NULL);

  if (mkdir (path, 0755) != 0 && errno != EEXIST)
    {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s: %s", path,
                   g_strerror (errsv));
      return FALSE;
    }
  return TRUE;
}

static gboolean
has_word (const gchar *text,
          const gchar *word)
{
  g_auto(GStrv) words = g_strsplit_set (text, " \n", -1);

  return g_strv_contains ((const gchar *const *) words, word);
}

/* Sets up @dir, a cgroup v2 hemgated may manage, as `core` (hemgated) beside one child per
 * domain; FALSE with the reason if it cannot be used. */
static gboolean
setup_cgroup (HgdLimits *self,
              const gchar *dir,
              GError **error)
{
  g_autofree gchar *controllers = NULL;
  g_autofree gchar *procs = NULL;
  g_autofree gchar *controllers_path = g_build_filename (dir, "cgroup.controllers", NULL);
  g_autofree gchar *procs_path = g_build_filename (dir, "cgroup.procs", NULL);
  g_autofree gchar *core = g_build_filename (dir, "core", NULL);
  g_autofree gchar *self_pid = g_strdup_printf ("%d\n", (int) getpid ());
  g_autoptr(GString) enable = g_string_new ("+cpu");
  gboolean memory;

  if (!g_file_get_contents (controllers_path, &controllers, NULL, error))
    return FALSE;
  if (!has_word (controllers, "cpu"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "the cgroup v2 %s has no cpu controller", dir);
      return FALSE;
    }
  memory = has_word (controllers, "memory");
  /* only a cgroup of our own (Delegate=yes): nothing else may live in it */
  if (!g_file_get_contents (procs_path, &procs, NULL, error))
    return FALSE;
  g_strstrip (procs);
  if (procs[0] != '\0' && (strchr (procs, '\n') != NULL || atoi (procs) != (int) getpid ()))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                   "the cgroup v2 %s holds other processes than hemgated; give the service "
                   "Delegate=yes", dir);
      return FALSE;
    }
  if (access (dir, W_OK) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "the cgroup v2 %s is not writable; give the service Delegate=yes", dir);
      return FALSE;
    }
  /* no process may stay in a cgroup whose controllers its children use */
  if (!make_cgroup (dir, "core", error) || !write_cgroup_file (core, "cgroup.procs", self_pid, error))
    return FALSE;
  if (memory)
    g_string_append (enable, " +memory");
  if (!write_cgroup_file (dir, "cgroup.subtree_control", enable->str, error))
    return FALSE;
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      DomainLimits *limits = &self->domains[i];
      g_autofree gchar *child = g_build_filename (dir, hg_domain_to_string ((HgDomain) i), NULL);
      g_autofree gchar *weight = g_strdup_printf ("%u\n", limits->cpu_weight);

      if (!make_cgroup (dir, hg_domain_to_string ((HgDomain) i), error)
          || !write_cgroup_file (child, "cpu.weight", weight, error))
        return FALSE;
      if (memory && limits->memory_max > 0)
        {
          g_autofree gchar *max = g_strdup_printf ("%" G_GUINT64_FORMAT "\n", limits->memory_max);
          if (!write_cgroup_file (child, "memory.max", max, error))
            return FALSE;
        }
      limits->memory = memory && limits->memory_max > 0 ? MEMORY_CGROUP : limits->memory;
      limits->procs_path = g_build_filename (child, "cgroup.procs", NULL);
    }
  self->cgroup_dir = g_strdup (dir);
  return TRUE;
}

/* The cgroup v2 hemgated is in, as a directory, or NULL with the reason. */
static gchar *
find_own_cgroup (GError **error)
{
  g_autofree gchar *mountinfo = NULL;
  g_autofree gchar *cgroups = NULL;
  g_auto(GStrv) lines = NULL;
  g_autofree gchar *mount = NULL;
  const gchar *path = NULL;

  if (!g_file_get_contents ("/proc/self/mountinfo", &mountinfo, NULL, error)
      || !g_file_get_contents ("/proc/self/cgroup", &cgroups, NULL, error))
    return NULL;
  lines = g_strsplit (mountinfo, "\n", -1);
  for (guint i = 0; lines[i] != NULL && mount == NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit (lines[i], " ", -1);
      const gchar *sep = strstr (lines[i], " - cgroup2 ");

      if (sep != NULL && g_strv_length (fields) > 4)
        mount = g_strdup (fields[4]);
    }
  g_clear_pointer (&lines, g_strfreev);
  lines = g_strsplit (cgroups, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (g_str_has_prefix (lines[i], "0::"))
        path = lines[i] + 3;
    }
  if (mount == NULL || path == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "no cgroup v2 is mounted");
      return NULL;
    }
  if (g_str_equal (path, "/"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "hemgated is in the root of the cgroup v2 tree %s, not in a cgroup of its "
                   "own (Delegate=yes)", mount);
      return NULL;
    }
  return g_build_filename (mount, path, NULL);
}

static void
read_config (HgdLimits *self,
             HgdConfig *config)
{
  gint64 now = g_get_monotonic_time ();

  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      DomainLimits *limits = &self->domains[i];
      const gchar *name = hg_domain_to_string ((HgDomain) i);
      g_autofree gchar *weight_key = g_strdup_printf ("%s-cpu-weight", name);
      g_autofree gchar *rate_key = g_strdup_printf ("%s-event-rate", name);
      g_autofree gchar *memory_key = g_strdup_printf ("%s-memory-max", name);
      g_autofree gchar *budget_key = g_strdup_printf ("%s-size-budget", name);
      guint rate = (guint) hgd_config_get_int (config, "limits", rate_key);

      limits->cpu_weight = (guint) hgd_config_get_int (config, "limits", weight_key);
      limits->nice = hgd_limits_nice_for_weight (limits->cpu_weight);
      limits->memory_max = (guint64) hgd_config_get_int (config, "limits", memory_key) * 1024 * 1024;
      limits->journal_budget = (guint64) hgd_config_get_int (config, "journal", budget_key) * 1024 * 1024;
      /* a second's worth may come at once */
      hgd_token_bucket_init (&limits->bucket, rate, rate, now);
#ifdef HGD_LIMITS_ASAN
      limits->memory = MEMORY_OFF;
#else
      limits->memory = limits->memory_max > 0 ? MEMORY_RLIMIT : MEMORY_OFF;
#endif
    }
#ifdef HGD_LIMITS_ASAN
  self->memory_reason = g_strdup ("off in an AddressSanitizer build, whose shadow memory a data "
                                  "limit would exhaust");
#endif
}

static HgdLimits *
limits_new (HgdConfig *config,
            const gchar *cgroup_dir)
{
  HgdLimits *self = g_object_new (HGD_TYPE_LIMITS, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *dir = NULL;

  read_config (self, config);
  dir = cgroup_dir != NULL ? g_strdup (cgroup_dir) : find_own_cgroup (&error);
  if (dir == NULL || !setup_cgroup (self, dir, &error))
    {
      self->cgroup_reason = g_strdup (error->message);
      g_debug ("limits: no cgroup v2, nice and rlimits instead: %s", error->message);
    }
  else
    {
      g_debug ("limits: plugin hosts in the cgroups under %s", dir);
    }
  return self;
}

/**
 * hgd_limits_new:
 * @config: the daemon's configuration
 *
 * Reads `[limits]` and finds out what can enforce them here: a delegated cgroup v2 (set
 * up at once), else nice values and rlimits.
 *
 * Returns: (transfer full): the limits
 */
HgdLimits *
hgd_limits_new (HgdConfig *config)
{
  g_return_val_if_fail (HGD_IS_CONFIG (config), NULL);
  return limits_new (config, NULL);
}

/**
 * hgd_limits_new_with_cgroup:
 * @config: the daemon's configuration
 * @cgroup_dir: the cgroup v2 directory to manage, instead of hemgated's own
 *
 * As hgd_limits_new (), with a given cgroup; for tests.
 *
 * Returns: (transfer full): the limits
 */
HgdLimits *
hgd_limits_new_with_cgroup (HgdConfig *config,
                            const gchar *cgroup_dir)
{
  g_return_val_if_fail (HGD_IS_CONFIG (config), NULL);
  g_return_val_if_fail (cgroup_dir != NULL, NULL);
  return limits_new (config, cgroup_dir);
}

static gboolean
apply_nice (DomainLimits *limits,
            GPid pid,
            GError **error)
{
  if (setpriority (PRIO_PROCESS, (id_t) pid, limits->nice) != 0)
    {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "setpriority %d: %s",
                   limits->nice, g_strerror (errsv));
      return FALSE;
    }
  return TRUE;
}

/* The best-effort I/O priority of the domain's nice value, with or without a cgroup. */
static gboolean
apply_ionice (DomainLimits *limits,
              GPid pid,
              GError **error)
{
  gint level = CLAMP ((limits->nice + 20) / 5, 0, 7);
  int errsv;

  if (syscall (SYS_ioprio_set, IOPRIO_WHO_PROCESS, (int) pid,
               (IOPRIO_CLASS_BE << IOPRIO_CLASS_SHIFT) | level) != 0)
    {
      errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "ioprio_set: %s",
                   g_strerror (errsv));
      return FALSE;
    }
  return TRUE;
}

/**
 * hgd_limits_apply:
 * @self: the limits
 * @domain: the host's domain
 * @pid: a plugin host, just spawned
 * @error: return location for a #GError
 *
 * Puts a host under its domain's limits: into the domain's cgroup, or its nice value,
 * I/O priority and data limit. A failure is also shown by health.
 *
 * Returns: %TRUE if every limit was applied
 */
gboolean
hgd_limits_apply (HgdLimits *self,
                  HgDomain domain,
                  GPid pid,
                  GError **error)
{
  DomainLimits *limits;
  g_autoptr(GError) error_local = NULL;
  gboolean ok = TRUE;

  g_return_val_if_fail (HGD_IS_LIMITS (self), FALSE);
  g_return_val_if_fail ((guint) domain < HG_DOMAIN_LAST, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  limits = &self->domains[domain];
  if (self->cgroup_dir != NULL)
    {
      g_autofree gchar *child = g_build_filename (self->cgroup_dir, hg_domain_to_string (domain), NULL);
      g_autofree gchar *text = g_strdup_printf ("%d\n", (int) pid);

      ok = write_cgroup_file (child, "cgroup.procs", text, &error_local);
    }
  /* without a cgroup the CPU share; the I/O priority always */
  if (ok && self->cgroup_dir == NULL)
    ok = apply_nice (limits, pid, &error_local);
  if (ok)
    ok = apply_ionice (limits, pid, &error_local);
  if (ok && limits->memory == MEMORY_RLIMIT)
    {
      struct rlimit rlim = { limits->memory_max, limits->memory_max };

      if (prlimit ((pid_t) pid, RLIMIT_DATA, &rlim, NULL) != 0)
        {
          int errsv = errno;
          g_set_error (&error_local, G_IO_ERROR, g_io_error_from_errno (errsv),
                       "prlimit RLIMIT_DATA: %s", g_strerror (errsv));
          ok = FALSE;
        }
    }
  g_clear_pointer (&limits->error, g_free);
  if (!ok)
    {
      limits->error = g_strdup (error_local->message);
      g_propagate_error (error, g_steal_pointer (&error_local));
    }
  return ok;
}

/**
 * hgd_limits_apply_in_child:
 * @self: the limits
 * @domain: the host's domain
 *
 * The same limits as hgd_limits_apply(), on the calling process: for a host's child
 * setup, before the sandbox forks the host's own process, so that every process of the
 * host inherits them. Only system calls, no allocation; failures are left to
 * hgd_limits_apply() on the spawned process to report.
 */
void
hgd_limits_apply_in_child (HgdLimits *self,
                           HgDomain domain)
{
  DomainLimits *limits = &self->domains[domain];
  gint level = CLAMP ((limits->nice + 20) / 5, 0, 7);

  if (limits->procs_path != NULL)
    {
      int fd = open (limits->procs_path, O_WRONLY | O_CLOEXEC);

      if (fd >= 0)
        {
          /* "0" is the writing process */
          if (write (fd, "0\n", 2) < 0)
            {
              /* reported by hgd_limits_apply () */
            }
          close (fd);
        }
    }
  else
    setpriority (PRIO_PROCESS, 0, limits->nice);
  syscall (SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, (IOPRIO_CLASS_BE << IOPRIO_CLASS_SHIFT) | level);
  if (limits->memory == MEMORY_RLIMIT)
    {
      struct rlimit rlim = { limits->memory_max, limits->memory_max };

      setrlimit (RLIMIT_DATA, &rlim);
    }
}

/**
 * hgd_limits_take_events:
 * @self: the limits
 * @domain: the publishing plugin's domain
 * @n: how many events it publishes at once
 *
 * Takes @n of the domain's event tokens, or as many as are left; the rest are refused,
 * counted, and warned about at most once a minute.
 *
 * Returns: how many of the @n events may be journaled (the first ones)
 */
guint
hgd_limits_take_events (HgdLimits *self,
                        HgDomain domain,
                        guint n)
{
  DomainLimits *limits;
  gint64 now = g_get_monotonic_time ();
  guint taken;

  g_return_val_if_fail (HGD_IS_LIMITS (self), n);
  g_return_val_if_fail ((guint) domain < HG_DOMAIN_LAST, n);

  limits = &self->domains[domain];
  taken = hgd_token_bucket_take (&limits->bucket, n, now);
  if (taken == n)
    return taken;
  limits->n_refused += n - taken;
  limits->last_refused = now;
  if (limits->warned == 0 || now - limits->warned >= REFUSAL_WINDOW_USEC)
    {
      g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                        "HG_DOMAIN", hg_domain_to_string (domain),
                        "MESSAGE", "the %s domain's plugins publish more than %u events/s: "
                        "%" G_GUINT64_FORMAT " refused since the last warning",
                        hg_domain_to_string (domain), limits->bucket.rate,
                        limits->n_refused - limits->refused_at_warning);
      limits->warned = now;
      limits->refused_at_warning = limits->n_refused;
    }
  return taken;
}

/* Returns: how many events of @domain were refused for its rate so far */
guint64
hgd_limits_get_n_refused (HgdLimits *self,
                          HgDomain domain)
{
  g_return_val_if_fail (HGD_IS_LIMITS (self), 0);
  g_return_val_if_fail ((guint) domain < HG_DOMAIN_LAST, 0);
  return self->domains[domain].n_refused;
}

/**
 * hgd_limits_dup_warning:
 * @self: the limits
 * @domain: a domain
 * @caller: the domain of who asks: how many events another domain publishes is not said
 *
 * Returns: (transfer full) (nullable): what health should warn about for @domain's
 *   limits (events refused in the last minute, a host left unlimited), or %NULL
 */
gchar *
hgd_limits_dup_warning (HgdLimits *self,
                        HgDomain domain,
                        HgDomain caller)
{
  DomainLimits *limits;

  g_return_val_if_fail (HGD_IS_LIMITS (self), NULL);
  g_return_val_if_fail ((guint) domain < HG_DOMAIN_LAST, NULL);

  limits = &self->domains[domain];
  if (limits->last_refused != 0
      && g_get_monotonic_time () - limits->last_refused < REFUSAL_WINDOW_USEC && domain != caller)
    return g_strdup_printf ("the %s domain's plugins publish more than its event rate of %u/s; "
                            "the excess is refused", hg_domain_to_string (domain),
                            limits->bucket.rate);
  if (limits->last_refused != 0
      && g_get_monotonic_time () - limits->last_refused < REFUSAL_WINDOW_USEC)
    return g_strdup_printf ("the %s domain's plugins publish more than its event rate of %u/s; "
                            "%" G_GUINT64_FORMAT " events refused so far; raise [limits] "
                            "%s-event-rate if that is expected",
                            hg_domain_to_string (domain), limits->bucket.rate, limits->n_refused,
                            hg_domain_to_string (domain));
  if (limits->error != NULL)
    return g_strdup_printf ("a %s plugin host runs without its limits: %s",
                            hg_domain_to_string (domain), limits->error);
  return NULL;
}

static const gchar *
memory_mechanism_to_string (MemoryMechanism mechanism)
{
  switch (mechanism)
    {
    case MEMORY_CGROUP:
      return "cgroup";
    case MEMORY_RLIMIT:
      return "rlimit-data";
    case MEMORY_OFF:
    default:
      return "off";
    }
}

/**
 * hgd_limits_to_json:
 * @self: the limits
 * @caller: the domain of who asks: another domain's count of refused events is left out
 *
 * Returns: (transfer full): per domain, what limits its CPU, I/O, memory, event rate and
 *   journal size, and how (`cgroup`, `nice`, `ionice`, `rlimit-data`, `off`), for health
 */
JsonObject *
hgd_limits_to_json (HgdLimits *self,
                    HgDomain caller)
{
  JsonObject *object = json_object_new ();

  g_return_val_if_fail (HGD_IS_LIMITS (self), object);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      DomainLimits *limits = &self->domains[i];
      JsonObject *domain = json_object_new ();
      JsonObject *cpu = json_object_new ();
      JsonObject *io = json_object_new ();
      JsonObject *memory = json_object_new ();
      JsonObject *events = json_object_new ();
      JsonObject *journal = json_object_new ();

      json_object_set_string_member (cpu, "mechanism", self->cgroup_dir != NULL ? "cgroup" : "nice");
      json_object_set_int_member (cpu, "weight", limits->cpu_weight);
      if (self->cgroup_dir != NULL)
        {
          g_autofree gchar *child = g_build_filename (self->cgroup_dir,
                                                      hg_domain_to_string ((HgDomain) i), NULL);
          json_object_set_string_member (cpu, "cgroup", child);
        }
      else
        {
          json_object_set_int_member (cpu, "nice", limits->nice);
          json_object_set_string_member (cpu, "reason", self->cgroup_reason);
        }
      json_object_set_string_member (io, "mechanism", "ionice");
      json_object_set_string_member (io, "class", "best-effort");
      json_object_set_int_member (io, "level", CLAMP ((limits->nice + 20) / 5, 0, 7));
      json_object_set_string_member (memory, "mechanism", memory_mechanism_to_string (limits->memory));
      if (limits->memory_max > 0)
        json_object_set_int_member (memory, "max", (gint64) limits->memory_max);
      else
        json_object_set_null_member (memory, "max");
      if (limits->memory == MEMORY_OFF && self->memory_reason != NULL)
        json_object_set_string_member (memory, "reason", self->memory_reason);
      json_object_set_int_member (events, "rate", limits->bucket.rate);
      json_object_set_int_member (events, "burst", limits->bucket.burst);
      if ((HgDomain) i == caller)
        json_object_set_int_member (events, "refused", (gint64) limits->n_refused);
      json_object_set_int_member (journal, "size_budget", (gint64) limits->journal_budget);
      json_object_set_object_member (domain, "cpu", cpu);
      json_object_set_object_member (domain, "io", io);
      json_object_set_object_member (domain, "memory", memory);
      json_object_set_object_member (domain, "events", events);
      json_object_set_object_member (domain, "journal", journal);
      if (limits->error != NULL)
        json_object_set_string_member (domain, "error", limits->error);
      json_object_set_object_member (object, hg_domain_to_string ((HgDomain) i), domain);
    }
  return object;
}
