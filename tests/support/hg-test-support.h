/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the tests and benchmarks of this tree share, written once: removing a test's
 * directory, a plugin directory built from the build tree's files, waiting on the main
 * context for a condition or a result, children that die with the test, what /proc says
 * of a process, and log writers. GLib and GIO only, no hgd_ symbol: the plugins' own
 * tests link it too. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* files */

void hg_test_rm_rf (const gchar *path);
void hg_test_plugin_dir_add (const gchar *root,
                             const gchar *built,
                             const gchar *grant,
                             const gchar *granted);

/* the main context */

typedef gboolean (*HgTestCondition) (gpointer data);

gboolean hg_test_try_wait_for (HgTestCondition condition,
                               gpointer data,
                               guint timeout_seconds);
void hg_test_wait_for (HgTestCondition condition,
                       gpointer data,
                       guint timeout_seconds);
gboolean hg_test_flag_is_set (gpointer data);
void hg_test_wait_until (gboolean *condition,
                         guint timeout_seconds);
void hg_test_run_for (guint milliseconds);
void hg_test_async_result_cb (GObject *source,
                              GAsyncResult *result,
                              gpointer user_data);
GAsyncResult *hg_test_wait_for_result (GAsyncResult **result);

/* processes */

void hg_test_die_with_parent (gpointer user_data);
void hg_test_keep_system_data_dirs (void);
GSubprocessLauncher *hg_test_launcher_new (GSubprocessFlags flags);
guint16 hg_test_free_port (void);
guint16 hg_test_free_udp_port (void);
void hg_test_subprocess_exited_cb (GObject *source,
                                   GAsyncResult *result,
                                   gpointer user_data);
gchar *hg_test_read_line (GDataInputStream *stream);
void hg_test_terminate (GSubprocess *process,
                        guint timeout_seconds,
                        gboolean must_succeed);
gint hg_test_run_process (GSubprocessLauncher *launcher,
                         const gchar *const *argv,
                         const gchar *input,
                         gchar **out,
                         gchar **err);
gboolean hg_test_proc_stat (gint pid,
                            gint *ppid,
                            guint64 *cpu_ticks);
gboolean hg_test_proc_rss_kib (gint pid,
                               guint64 *rss_kib);
gboolean hg_test_proc_count_fds (gint pid,
                                 guint *n_fds);

/* a service manager's notification socket */

typedef struct
{
  gchar *path;       /* (owned) NOTIFY_SOCKET for the service */
  GSocket *socket;   /* (owned) */
  GSource *source;   /* (owned) on the main context */
  GString *received; /* (owned) every message, a line each */
  gboolean ready;    /* READY=1 came */
  gboolean stopping; /* STOPPING=1 came */
} HgTestNotify;

HgTestNotify *hg_test_notify_new (const gchar *path);
void hg_test_notify_free (HgTestNotify *notify);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgTestNotify, hg_test_notify_free)

/* logs */

void hg_test_log_expect_warning (const gchar *substring);
guint hg_test_log_expected_warnings (void);
GLogWriterOutput hg_test_log_writer_cb (GLogLevelFlags log_level,
                                        const GLogField *fields,
                                        gsize n_fields,
                                        gpointer user_data);
GLogWriterOutput hg_test_quiet_log_writer_cb (GLogLevelFlags log_level,
                                              const GLogField *fields,
                                              gsize n_fields,
                                              gpointer user_data);

G_END_DECLS
