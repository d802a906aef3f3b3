/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdHashQueue: the callers' tasks waiting for the one Argon2 worker thread, run one at a
 * time in the order queued. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* What the worker does with a caller's GTask; @owner is the queue's. */
typedef struct
{
  /* on the main context when the job's turn comes; FALSE if it answered the task instead */
  gboolean (*start) (gpointer owner,
                     GTask *task);
  /* in the worker thread with the caller's task data as @task_data; touches nothing else */
  GTaskThreadFunc run;
  /* back on the main context with what @run returned; answers the task */
  void (*done) (gpointer owner,
                GTask *task,
                GAsyncResult *result);
} HgdHashJobFuncs;

typedef struct _HgdHashQueue HgdHashQueue;

HgdHashQueue *hgd_hash_queue_new (GObject *owner);
void hgd_hash_queue_free (HgdHashQueue *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgdHashQueue, hgd_hash_queue_free)

void hgd_hash_queue_push (HgdHashQueue *self,
                          const HgdHashJobFuncs *funcs,
                          GTask *task);
guint hgd_hash_queue_get_length (HgdHashQueue *self);
GPtrArray *hgd_hash_queue_get_waiting (HgdHashQueue *self,
                                       const HgdHashJobFuncs *funcs);

G_END_DECLS
