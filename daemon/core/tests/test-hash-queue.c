/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of HgdHashQueue: jobs run one at a time, in the order queued, started and finished
 * on the main context; a job its start declines is skipped; the waiting jobs are listed. */
#include "config.h"

#include <gio/gio.h>

#include "hgd-hash-queue.h"

typedef struct
{
  GMutex lock;
  guint running;     /* jobs in the worker now; guarded by @lock */
  guint max_running; /* guarded by @lock */
  GPtrArray *order;  /* (element-type utf8) names, as each job ran; guarded by @lock */
  GPtrArray *done;   /* (element-type utf8) names, as each job finished; main thread */
  GThread *main_thread;
} Log;

static Log *test_log;

/* Runs in the worker thread; @task_data is the caller's, the job's name. */
static void
job_run (GTask *task,
         gpointer source_object,
         gpointer task_data,
         GCancellable *cancellable)
{
  g_mutex_lock (&test_log->lock);
  test_log->running++;
  test_log->max_running = MAX (test_log->max_running, test_log->running);
  g_ptr_array_add (test_log->order, g_strdup (task_data));
  g_mutex_unlock (&test_log->lock);

  /* gives a second job, were it started, the chance to overlap */
  g_usleep (2000);

  g_mutex_lock (&test_log->lock);
  test_log->running--;
  g_mutex_unlock (&test_log->lock);
  g_task_return_pointer (task, g_strdup_printf ("hashed %s", (const gchar *) task_data), g_free);
}

static gboolean
job_start (gpointer owner,
           GTask *task)
{
  g_assert_true (g_thread_self () == test_log->main_thread);
  g_assert_true (G_IS_OBJECT (owner));
  /* a job named "declined" answers its task itself */
  if (g_strcmp0 (g_task_get_task_data (task), "declined") == 0)
    {
      g_task_return_pointer (task, g_strdup ("declined"), g_free);
      return FALSE;
    }
  return TRUE;
}

static void
job_done (gpointer owner,
          GTask *task,
          GAsyncResult *result)
{
  g_autoptr(GError) error = NULL;
  gchar *hash;

  g_assert_true (g_thread_self () == test_log->main_thread);
  hash = g_task_propagate_pointer (G_TASK (result), &error);
  g_assert_no_error (error);
  g_ptr_array_add (test_log->done, g_strdup (g_task_get_task_data (task)));
  g_task_return_pointer (task, hash, g_free);
}

static const HgdHashJobFuncs test_job = {
  .start = job_start,
  .run = job_run,
  .done = job_done,
};

static const HgdHashJobFuncs other_job = {
  .start = job_start,
  .run = job_run,
  .done = job_done,
};

static void
answered_cb (GObject *source,
             GAsyncResult *result,
             gpointer user_data)
{
  guint *n_answered = user_data;
  g_autofree gchar *answer = g_task_propagate_pointer (G_TASK (result), NULL);

  g_assert_nonnull (answer);
  (*n_answered)++;
}

static void
push (HgdHashQueue *queue,
      GObject *owner,
      const HgdHashJobFuncs *funcs,
      const gchar *name,
      guint *n_answered)
{
  GTask *task = g_task_new (owner, NULL, answered_cb, n_answered);

  g_task_set_task_data (task, g_strdup (name), g_free);
  hgd_hash_queue_push (queue, funcs, task);
}

static void
test_one_at_a_time_in_order (void)
{
  const gchar *names[] = { "first", "second", "declined", "third", "fourth" };
  g_autoptr(GObject) owner = g_object_new (G_TYPE_OBJECT, NULL);
  g_autoptr(HgdHashQueue) queue = hgd_hash_queue_new (owner);
  g_autoptr(GPtrArray) waiting = NULL;
  Log log = { 0 };
  guint n_answered = 0;

  g_test_summary ("Jobs run in the worker one at a time, in the order queued, each started "
                  "and finished on the main context; a job its start declines does not run");

  g_mutex_init (&log.lock);
  log.order = g_ptr_array_new_with_free_func (g_free);
  log.done = g_ptr_array_new_with_free_func (g_free);
  log.main_thread = g_thread_self ();
  test_log = &log;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    push (queue, owner, i == 3 ? &other_job : &test_job, names[i], &n_answered);
  /* the first runs at once; the others wait */
  g_assert_cmpuint (hgd_hash_queue_get_length (queue), ==, 4);
  waiting = hgd_hash_queue_get_waiting (queue, &test_job);
  g_assert_cmpuint (waiting->len, ==, 3);
  g_assert_cmpstr (g_task_get_task_data (g_ptr_array_index (waiting, 0)), ==, "second");
  g_assert_cmpstr (g_task_get_task_data (g_ptr_array_index (waiting, 2)), ==, "fourth");

  while (n_answered < G_N_ELEMENTS (names))
    g_main_context_iteration (NULL, TRUE);

  g_assert_cmpuint (log.max_running, ==, 1);
  g_assert_cmpuint (log.order->len, ==, 4);
  g_assert_cmpstr (g_ptr_array_index (log.order, 0), ==, "first");
  g_assert_cmpstr (g_ptr_array_index (log.order, 1), ==, "second");
  g_assert_cmpstr (g_ptr_array_index (log.order, 2), ==, "third");
  g_assert_cmpstr (g_ptr_array_index (log.order, 3), ==, "fourth");
  g_assert_cmpuint (log.done->len, ==, 4);
  g_assert_cmpstr (g_ptr_array_index (log.done, 3), ==, "fourth");
  g_assert_cmpuint (hgd_hash_queue_get_length (queue), ==, 0);

  test_log = NULL;
  g_ptr_array_unref (log.order);
  g_ptr_array_unref (log.done);
  g_mutex_clear (&log.lock);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/hash-queue/one-at-a-time-in-order", test_one_at_a_time_in_order);
  return g_test_run ();
}
