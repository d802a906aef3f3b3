/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdHashQueue: each Argon2 computation (a login's verification, a new password's hash)
 * holds 64 MiB, so they run one at a time, in a thread of GTask's pool, in the order
 * queued. A job is the caller's GTask and what to do with it (HgdHashJobFuncs): start it
 * on the main context when its turn comes, run it in the thread, finish it back on the
 * main context. The owner (HgdAccounts) is the source object of the worker's tasks, so it
 * lives while a job runs. */
#include "config.h"

#include "hgd-hash-queue.h"

struct _HgdHashQueue
{
  GObject *owner;   /* (unowned) it owns the queue */
  GQueue waiting;   /* (owned) HashJobs waiting for the worker */
  gboolean running; /* a HashJob is running in the worker thread */
};

typedef struct
{
  const HgdHashJobFuncs *funcs;
  GTask *task;         /* (owned) the caller's */
  gpointer data;       /* (unowned) the caller's task data, for the worker thread */
  HgdHashQueue *queue; /* (unowned) */
} HashJob;

static void
hash_job_free (HashJob *job)
{
  g_object_unref (job->task);
  g_free (job);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HashJob, hash_job_free)

/**
 * hgd_hash_queue_new:
 * @owner: what the jobs' functions are given; it owns the queue
 *
 * Returns: (transfer full): an empty queue
 */
HgdHashQueue *
hgd_hash_queue_new (GObject *owner)
{
  HgdHashQueue *self = g_new0 (HgdHashQueue, 1);

  self->owner = owner;
  g_queue_init (&self->waiting);
  return self;
}

/**
 * hgd_hash_queue_free:
 * @self: (transfer full): a queue with no job waiting or running
 */
void
hgd_hash_queue_free (HgdHashQueue *self)
{
  /* every job holds a reference to the owner, so none can be left here */
  g_warn_if_fail (g_queue_is_empty (&self->waiting));
  g_warn_if_fail (!self->running);
  g_queue_clear_full (&self->waiting, (GDestroyNotify) hash_job_free);
  g_free (self);
}

/* Runs in the worker thread. */
static void
hash_job_thread (GTask *worker,
                 gpointer source_object,
                 gpointer task_data,
                 GCancellable *cancellable)
{
  HashJob *job = task_data;

  job->funcs->run (worker, source_object, job->data, cancellable);
}

static void hash_job_done_cb (GObject *source,
                              GAsyncResult *result,
                              gpointer user_data);

/* Starts the next waiting job, if none is running. */
static void
hash_queue_next (HgdHashQueue *self)
{
  while (!self->running && !g_queue_is_empty (&self->waiting))
    {
      g_autoptr(HashJob) job = g_queue_pop_head (&self->waiting);
      g_autoptr(GTask) worker = NULL;

      if (!job->funcs->start (self->owner, job->task))
        continue;
      self->running = TRUE;
      job->data = g_task_get_task_data (job->task);
      job->queue = self;
      worker = g_task_new (self->owner, NULL, hash_job_done_cb, NULL);
      g_task_set_source_tag (worker, hash_queue_next);
      g_task_set_task_data (worker, g_steal_pointer (&job), (GDestroyNotify) hash_job_free);
      g_task_run_in_thread (worker, hash_job_thread);
    }
}

static void
hash_job_done_cb (GObject *source,
                  GAsyncResult *result,
                  gpointer user_data)
{
  HashJob *job = g_task_get_task_data (G_TASK (result));
  HgdHashQueue *self = job->queue;

  self->running = FALSE;
  job->funcs->done (source, job->task, result);
  hash_queue_next (self);
}

/**
 * hgd_hash_queue_push:
 * @self: a queue
 * @funcs: what to do with @task
 * @task: (transfer full): the caller's task, with its task data set
 *
 * Queues @task for the worker; it starts at once if nothing else waits or runs.
 */
void
hgd_hash_queue_push (HgdHashQueue *self,
                     const HgdHashJobFuncs *funcs,
                     GTask *task)
{
  HashJob *job = g_new0 (HashJob, 1);

  job->funcs = funcs;
  job->task = task;
  g_queue_push_tail (&self->waiting, job);
  hash_queue_next (self);
}

/**
 * hgd_hash_queue_get_length:
 * @self: a queue
 *
 * Returns: how many jobs wait, not counting the one running
 */
guint
hgd_hash_queue_get_length (HgdHashQueue *self)
{
  return g_queue_get_length (&self->waiting);
}

/**
 * hgd_hash_queue_get_waiting:
 * @self: a queue
 * @funcs: a kind of job
 *
 * Returns: (transfer container) (element-type GTask): the caller's tasks of the waiting
 *   jobs of @funcs, in order
 */
GPtrArray *
hgd_hash_queue_get_waiting (HgdHashQueue *self,
                            const HgdHashJobFuncs *funcs)
{
  GPtrArray *tasks = g_ptr_array_new ();

  for (GList *l = self->waiting.head; l != NULL; l = l->next)
    {
      HashJob *job = l->data;

      if (job->funcs == funcs)
        g_ptr_array_add (tasks, job->task);
    }
  return tasks;
}
