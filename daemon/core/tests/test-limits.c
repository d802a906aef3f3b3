/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of HgdLimits: the token bucket, [limits] in hemgate.conf, the nice value of a
 * weight, a delegated cgroup v2 set up and used (a directory laid out as one), the
 * fallback to nice and ionice on a real process, and the event rate with its warning. */
#include "config.h"

#include <sys/syscall.h>
#include <unistd.h>

#include "hgd-limits.h"
#include "hg-test-support.h"

#define SEC G_USEC_PER_SEC

static void
test_bucket (void)
{
  HgdTokenBucket bucket;
  gint64 now = 1000 * SEC;

  g_test_summary ("A bucket starts full, gives what it holds, refills at its rate up to its "
                  "burst, and a rate of 0 lets everything through");

  hgd_token_bucket_init (&bucket, 10, 10, now);
  g_assert_cmpuint (hgd_token_bucket_take (&bucket, 15, now), ==, 10);
  g_assert_cmpuint (hgd_token_bucket_take (&bucket, 1, now), ==, 0);
  g_assert_cmpuint (hgd_token_bucket_take (&bucket, 5, now + SEC / 10), ==, 1);
  g_assert_cmpuint (hgd_token_bucket_take (&bucket, 5, now + SEC / 10), ==, 0);
  /* saved up no further than the burst */
  g_assert_cmpuint (hgd_token_bucket_take (&bucket, 100, now + 60 * SEC), ==, 10);
  /* a clock that does not move gives nothing back */
  g_assert_cmpuint (hgd_token_bucket_take (&bucket, 1, now), ==, 0);

  hgd_token_bucket_init (&bucket, 0, 0, now);
  g_assert_cmpuint (hgd_token_bucket_take (&bucket, 1000000, now), ==, 1000000);
}

static void
test_nice_for_weight (void)
{
  g_test_summary ("A cpu.weight becomes the nice value of the same share of nice 0's");

  g_assert_cmpint (hgd_limits_nice_for_weight (100), ==, 0);
  g_assert_cmpint (hgd_limits_nice_for_weight (10), ==, 10);
  g_assert_cmpint (hgd_limits_nice_for_weight (1000), ==, -10);
  g_assert_cmpint (hgd_limits_nice_for_weight (1), ==, 19);
  g_assert_cmpint (hgd_limits_nice_for_weight (10000), ==, -20);
}

static void
test_config (void)
{
  const gchar *bad[] = {
    "[limits]\npersonal-cpu-weight = 0\n",
    "[limits]\nmunicipal-cpu-weight = 10001\n",
    "[limits]\npersonal-event-rate = -1\n",
    "[limits]\npersonal-memory-max = lots\n",
    "[limits]\npersonal-nice = 5\n",
  };
  g_autoptr(HgdConfig) config = hgd_config_new ();
  g_autoptr(GError) error = NULL;

  g_test_summary ("[limits] takes each domain's cpu weight, event rate and memory, in range; "
                  "the defaults favour the municipal domain");

  g_assert_cmpint (hgd_config_get_int (config, "limits", "municipal-cpu-weight"), >,
                   hgd_config_get_int (config, "limits", "personal-cpu-weight"));
  g_assert_cmpint (hgd_config_get_int (config, "limits", "municipal-event-rate"), >,
                   hgd_config_get_int (config, "limits", "personal-event-rate"));
  g_assert_cmpint (hgd_config_get_int (config, "limits", "personal-memory-max"), >, 0);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(HgdConfig) other = hgd_config_new ();
      g_autoptr(GError) error_bad = NULL;
      gint code = i == G_N_ELEMENTS (bad) - 1 ? HGD_CONFIG_ERROR_UNKNOWN_KEY
                                              : HGD_CONFIG_ERROR_BAD_VALUE;

      g_assert_false (hgd_config_load_data (other, bad[i], "test.conf", &error_bad));
      g_assert_error (error_bad, HGD_CONFIG_ERROR, code);
    }
  g_assert_true (hgd_config_load_data (config,
                                       "[limits]\npersonal-cpu-weight = 50\n"
                                       "personal-event-rate = 0\nmunicipal-memory-max = 0\n",
                                       "test.conf", &error));
  g_assert_no_error (error);
  g_assert_cmpint (hgd_config_get_int (config, "limits", "personal-cpu-weight"), ==, 50);
  g_assert_cmpint (hgd_config_get_int (config, "limits", "personal-event-rate"), ==, 0);
  g_assert_cmpint (hgd_config_get_int (config, "limits", "municipal-memory-max"), ==, 0);
}

static gchar *
read_file (const gchar *dir,
           const gchar *name)
{
  g_autofree gchar *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  gchar *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return g_strstrip (contents);
}

static void
write_file (const gchar *dir,
            const gchar *name,
            const gchar *contents)
{
  g_autofree gchar *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

/* A directory laid out as a cgroup v2 hemgated was delegated, holding @procs. */
static gchar *
make_cgroup_dir (const gchar *procs)
{
  g_autoptr(GError) error = NULL;
  gchar *dir = g_dir_make_tmp ("hemgate-cgroup-XXXXXX", &error);

  g_assert_no_error (error);
  write_file (dir, "cgroup.controllers", "cpuset cpu io memory pids\n");
  write_file (dir, "cgroup.procs", procs);
  write_file (dir, "cgroup.subtree_control", "");
  return dir;
}

static JsonObject *
domain_json (JsonObject *limits,
             const gchar *domain,
             const gchar *part)
{
  return json_object_get_object_member (json_object_get_object_member (limits, domain), part);
}

static void
test_cgroup (void)
{
  g_autoptr(HgdConfig) config = hgd_config_new ();
  g_autofree gchar *pid = g_strdup_printf ("%d\n", (int) getpid ());
  g_autofree gchar *dir = make_cgroup_dir (pid);
  g_autoptr(HgdLimits) limits = NULL;
  g_autoptr(JsonObject) json = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) child = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *memory = NULL;

  g_test_summary ("With a cgroup v2 of its own, hemgated moves itself into core/, gives each "
                  "domain a child with its cpu.weight and memory.max, puts a host into its "
                  "domain's, and health says cgroup");

  limits = hgd_limits_new_with_cgroup (config, dir);
  text = read_file (dir, "core/cgroup.procs");
  g_assert_cmpint (g_ascii_strtoll (text, NULL, 10), ==, getpid ());
  g_clear_pointer (&text, g_free);
  text = read_file (dir, "cgroup.subtree_control");
  g_assert_cmpstr (text, ==, "+cpu +memory");
  g_clear_pointer (&text, g_free);
  text = read_file (dir, "personal/cpu.weight");
  g_assert_cmpstr (text, ==, "10");
  g_clear_pointer (&text, g_free);
  text = read_file (dir, "municipal/cpu.weight");
  g_assert_cmpstr (text, ==, "100");
  g_clear_pointer (&text, g_free);
  memory = g_strdup_printf ("%d", 512 * 1024 * 1024);
  text = read_file (dir, "personal/memory.max");
  g_assert_cmpstr (text, ==, memory);
  g_clear_pointer (&text, g_free);

  child = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, "sleep", "60", NULL);
  g_assert_no_error (error);
  g_assert_true (hgd_limits_apply (limits, HG_DOMAIN_PERSONAL,
                                   (GPid) atoi (g_subprocess_get_identifier (child)), &error));
  g_assert_no_error (error);
  text = read_file (dir, "personal/cgroup.procs");
  g_assert_cmpstr (text, ==, g_subprocess_get_identifier (child));
  g_subprocess_force_exit (child);

  json = hgd_limits_to_json (limits, HG_DOMAIN_MUNICIPAL);
  g_assert_cmpstr (json_object_get_string_member (domain_json (json, "personal", "cpu"), "mechanism"),
                   ==, "cgroup");
  g_assert_cmpstr (json_object_get_string_member (domain_json (json, "personal", "memory"), "mechanism"),
                   ==, "cgroup");
  hg_test_rm_rf (dir);
}

static void
test_cgroup_not_ours (void)
{
  g_autoptr(HgdConfig) config = hgd_config_new ();
  g_autofree gchar *dir = make_cgroup_dir ("1\n77\n");
  g_autoptr(HgdLimits) limits = NULL;
  g_autoptr(JsonObject) json = NULL;
  g_autofree gchar *core = NULL;
  JsonObject *cpu;

  g_test_summary ("A cgroup that holds other processes is not hemgated's to divide: nothing "
                  "is written, and health says nice, and why");

  limits = hgd_limits_new_with_cgroup (config, dir);
  core = g_build_filename (dir, "core", NULL);
  g_assert_false (g_file_test (core, G_FILE_TEST_EXISTS));
  json = hgd_limits_to_json (limits, HG_DOMAIN_MUNICIPAL);
  cpu = domain_json (json, "personal", "cpu");
  g_assert_cmpstr (json_object_get_string_member (cpu, "mechanism"), ==, "nice");
  g_assert_cmpint (json_object_get_int_member (cpu, "nice"), ==, 10);
  g_assert_nonnull (strstr (json_object_get_string_member (cpu, "reason"), "Delegate=yes"));
  hg_test_rm_rf (dir);
}

/* The nice value of @pid, field 19 of /proc/<pid>/stat. */
static gint
read_nice (const gchar *pid)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%s/stat", pid);
  g_autofree gchar *stat = NULL;
  g_auto(GStrv) fields = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &stat, NULL, &error);
  g_assert_no_error (error);
  /* after the command's name, which may hold spaces: state is field 3 */
  fields = g_strsplit (strrchr (stat, ')') + 2, " ", -1);
  return (gint) g_ascii_strtoll (fields[19 - 3], NULL, 10);
}

static void
test_nice_applied (void)
{
  g_autoptr(HgdConfig) config = hgd_config_new ();
  g_autoptr(HgdLimits) limits = NULL;
  g_autoptr(GSubprocess) child = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) json = NULL;
  const gchar *pid;
  int ioprio;

  g_test_summary ("Without a cgroup a host gets its domain's nice value and best-effort I/O "
                  "priority, as the kernel then reports them");

  g_assert_true (hgd_config_load_data (config, "[limits]\npersonal-cpu-weight = 20\n", "test.conf",
                                       &error));
  limits = hgd_limits_new_with_cgroup (config, "/nonexistent/cgroup");
  child = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, "sleep", "60", NULL);
  g_assert_no_error (error);
  pid = g_subprocess_get_identifier (child);
  g_assert_cmpint (read_nice (pid), ==, 0);

  g_assert_true (hgd_limits_apply (limits, HG_DOMAIN_PERSONAL, (GPid) atoi (pid), &error));
  g_assert_no_error (error);
  g_assert_cmpint (read_nice (pid), ==, hgd_limits_nice_for_weight (20));
  ioprio = (int) syscall (SYS_ioprio_get, 1, atoi (pid));
  g_assert_cmpint (ioprio >> 13, ==, 2); /* best effort */
  g_assert_cmpint (ioprio & 0xff, ==, (hgd_limits_nice_for_weight (20) + 20) / 5);

  json = hgd_limits_to_json (limits, HG_DOMAIN_PERSONAL);
  g_assert_cmpstr (json_object_get_string_member (domain_json (json, "personal", "cpu"), "mechanism"),
                   ==, "nice");
  g_assert_cmpstr (json_object_get_string_member (domain_json (json, "personal", "io"), "mechanism"),
                   ==, "ionice");
  g_subprocess_force_exit (child);
}

static void
test_event_rate (void)
{
  g_autoptr(HgdConfig) config = hgd_config_new ();
  g_autoptr(HgdLimits) limits = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) json = NULL;
  g_autofree gchar *warning = NULL;
  guint taken = 0;

  g_test_summary ("Past its event rate a domain's publishing is refused and counted, with one "
                  "warning, and health warns; the other domain is untouched");

  g_assert_true (hgd_config_load_data (config, "[limits]\npersonal-event-rate = 100\n",
                                       "test.conf", &error));
  limits = hgd_limits_new_with_cgroup (config, "/nonexistent/cgroup");
  g_assert_null (hgd_limits_dup_warning (limits, HG_DOMAIN_PERSONAL, HG_DOMAIN_PERSONAL));

  hg_test_log_expect_warning ("events/s");
  for (guint i = 0; i < 50; i++)
    taken += hgd_limits_take_events (limits, HG_DOMAIN_PERSONAL, 10);
  /* the burst of a second's worth, and what trickled in meanwhile */
  g_assert_cmpuint (taken, >=, 100);
  g_assert_cmpuint (taken, <, 500);
  g_assert_cmpuint (hgd_limits_get_n_refused (limits, HG_DOMAIN_PERSONAL), ==, 500 - taken);
  g_assert_cmpuint (hg_test_log_expected_warnings (), ==, 1);
  hg_test_log_expect_warning (NULL);

  g_assert_cmpuint (hgd_limits_take_events (limits, HG_DOMAIN_MUNICIPAL, 1000), ==, 1000);
  g_assert_cmpuint (hgd_limits_get_n_refused (limits, HG_DOMAIN_MUNICIPAL), ==, 0);

  warning = hgd_limits_dup_warning (limits, HG_DOMAIN_PERSONAL, HG_DOMAIN_PERSONAL);
  g_assert_nonnull (strstr (warning, "personal-event-rate"));
  g_assert_null (hgd_limits_dup_warning (limits, HG_DOMAIN_MUNICIPAL, HG_DOMAIN_MUNICIPAL));
  /* the municipal side learns that the rate is exceeded, not by how much */
  g_clear_pointer (&warning, g_free);
  warning = hgd_limits_dup_warning (limits, HG_DOMAIN_PERSONAL, HG_DOMAIN_MUNICIPAL);
  g_assert_null (strstr (warning, "refused so far"));
  json = hgd_limits_to_json (limits, HG_DOMAIN_MUNICIPAL);
  g_assert_false (json_object_has_member (domain_json (json, "personal", "events"), "refused"));
  g_assert_cmpint (json_object_get_int_member (domain_json (json, "personal", "events"), "rate"),
                   ==, 100);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_log_set_writer_func (hg_test_log_writer_cb, NULL, NULL);

  g_test_add_func ("/limits/token-bucket", test_bucket);
  g_test_add_func ("/limits/nice-for-weight", test_nice_for_weight);
  g_test_add_func ("/limits/config", test_config);
  g_test_add_func ("/limits/cgroup/delegated", test_cgroup);
  g_test_add_func ("/limits/cgroup/not-ours-falls-back-to-nice", test_cgroup_not_ours);
  g_test_add_func ("/limits/nice/applied-to-process", test_nice_applied);
  g_test_add_func ("/limits/event-rate/refused-counted-warned", test_event_rate);
  return g_test_run ();
}
