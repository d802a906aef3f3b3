/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgScaipDelivery: the SCAIP exchange rules, as PROTOCOL.md §5-7 chooses them.
 *
 * Each alarm reference is one Session, a small state machine:
 *
 *   WAITING --send--> SENT --snu 0--> DONE            (delivered + acknowledged)
 *      ^               |  \--snu 4--> HOLD --poll--> SENT  (delivered on the first HOLD)
 *      |               |  \--snu 5/6/error--> next receiver, or WAITING (retry later),
 *      |               |                      or FAILED (message errors everywhere)
 *      +-- no answer --+  (answer-timeout, or a SIP error)
 *
 * A cancel turns a session that may have reached the ARC into an abort (mty=RE, same
 * ref), sent through the same machine. Heartbeats are one-shot sessions of their own: one
 * to the active receiver, and with a second network path one to the first receiver on
 * the path not in use (the standby), which supervises that path without ever making it
 * active.
 *
 * The link is one for all sessions: the active receiver is either answering (link up:
 * every session is sent at once) or silent (link down: only the oldest waiting session
 * is resent, as a probe, with backoff; after failover-timeout the next receiver becomes
 * active). The first answer on a silent link sends every waiting session, oldest first,
 * so the queue drains in the order the alarms were raised.
 *
 * Delivery fails (PROTOCOL.md §6) when an alarm is not acknowledged within
 * delivery-timeout (unless the ARC holds it with HOLD): the engine aborts it with mty=RE at
 * every receiver it went to, tells its owner (alarm-failed: the core records the state
 * delivery-failed, a technical alarm is raised), and goes on in the background under a
 * new ref derived from the alarm's (background_ref ()), the same after every restart.
 *
 * The engine tells its owner what the core must journal through signals; it never
 * calls HgContext itself. */
#include <string.h>

#include "hg-scaip-codec.h"
#include "hg-scaip-delivery.h"

/* The device type a heartbeat names: the local unit and controller (Annex A). */
#define DTY_LOCAL_UNIT 2

#define LOG_REF(level, ref, ...)                                                                   \
  g_log_structured (G_LOG_DOMAIN, level, "HG_ALARM_REF", ref, "MESSAGE", __VA_ARGS__)

typedef enum
{
  KIND_ALARM,
  KIND_HEARTBEAT,
} SessionKind;

typedef enum
{
  STATE_WAITING,
  STATE_SENT,
  STATE_HOLD,
  STATE_DONE,
  STATE_FAILED,
} SessionState;

typedef struct _HgScaipDelivery HgScaipDelivery;

typedef struct
{
  HgScaipDelivery *engine; /* (unowned) */
  SessionKind kind;
  gchar *ref;              /* (owned) */
  gchar *alarm_type;       /* (owned) (nullable) */
  guint64 seq;             /* arrival order */
  HgScaipRequest *request; /* (owned) the first request, as built */
  HgScaipMessageType mty;  /* ME, or RE once cancelled; PI for heartbeats */
  SessionState state;
  gboolean minimal; /* send only the mandatory fields (after a message error) */
  gboolean ever_sent;
  gboolean delivered; /* reported */
  guint receiver;     /* of the send in flight, or of the HOLD */
  guint refused;      /* receivers that refused in this round (bit mask) */
  guint errors;       /* receivers that refused the minimal form (bit mask) */
  guint generation;   /* of the send in flight; older answers of SIP are stale */
  gint64 sent_at;     /* monotonic, of the last send */
  gint64 sent_offset; /* the wall clock's offset (wall_clock_offset ()) at that send */
  gboolean sip_answered; /* the last send got its SIP 2xx */
  gint64 hold_since;  /* monotonic, of the first HOLD; 0 if none */
  guint timer_id;     /* answer timeout, HOLD poll, or retry */
  guint sent_to;      /* receivers the current ref went to (bit mask) */
  gint64 deadline;    /* monotonic end of delivery-timeout; 0 for none */
  guint deadline_id;  /* at @deadline */
  gboolean gave_up;   /* delivery failed: now in the background, under background_ref () */
} Session;

struct _HgScaipDelivery
{
  GObject parent_instance;
  HgScaipSip *sip;              /* (owned) */
  gchar *controller_id;         /* (owned) */
  GStrv caller_ids;             /* (owned) */
  HgScaipDeliveryConfig config; /* strings point at the two above */
  GCancellable *cancellable;    /* (owned) */
  gulong message_id;
  gulong registration_id;
  gboolean running;

  GHashTable *sessions; /* (owned) ref → Session, alarms and aborts */
  GHashTable *wire_refs;    /* (owned) background ref → Session (unowned) after delivery failed */
  guint heartbeat_interval; /* the configured one, or the ARC's <hbi> */
  Session *heartbeat;   /* (owned) (nullable) the heartbeat in flight */
  Session *standby;     /* (owned) (nullable) the standby path's heartbeat in flight */
  guint64 next_seq;

  guint active; /* the receiver every new send goes to */
  gboolean link_up;
  gint64 down_since;  /* monotonic, first unanswered send on the active one */
  guint backoff;      /* seconds before the next probe */
  gboolean probe_now; /* a receiver just became active: no backoff */
  guint probe_id;
  guint failover_id; /* at down_since + failover-timeout */

  gboolean line_fault; /* a heartbeat was missed; not yet answered again */
  gint64 fault_since;
  gboolean standby_fault; /* likewise on the standby path */
  guint heartbeat_id;

  gint64 clock_offset; /* wall_clock_offset () at the last hg_scaip_delivery_check_clock () */
};

G_DEFINE_TYPE (HgScaipDelivery, hg_scaip_delivery, G_TYPE_OBJECT)

enum
{
  SIGNAL_ALARM_DELIVERED,
  SIGNAL_ALARM_ACKNOWLEDGED,
  SIGNAL_ALARM_FAILED,
  SIGNAL_SUPERVISION_CHANGED,
  SIGNAL_STANDBY_SUPERVISION_CHANGED,
  SIGNAL_VOICE_REQUESTED,
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* A change of the wall clock against the monotonic one larger than this is a jump (a
 * step by NTP, an operator's date -s), not the slewing NTP does all the time. */
#define CLOCK_JUMP_USEC G_USEC_PER_SEC

static void session_send (Session *s, guint receiver);
static void give_up (Session *s, const gchar *reason);
static gboolean deadline_passed (Session *s);
static void schedule_probe (HgScaipDelivery *self);
static void schedule_heartbeat (HgScaipDelivery *self);

/* The receiver's name for logs: primary, secondary, primary/path2 ... */
static const gchar *
receiver_name (HgScaipDelivery *self,
               guint receiver)
{
  return hg_scaip_sip_get_receiver_name (self->sip, receiver);
}

/* Sofia-SIP 1.12.11 times everything (retransmissions, transaction timeouts, the
 * registration refresh) by the wall clock (su_now () is CLOCK_REALTIME, and this version
 * cannot be given another clock), while the engine's own timers are monotonic. The
 * difference of the two moves only when the wall clock is stepped. */
static gint64
wall_clock_offset (void)
{
  return g_get_real_time () - g_get_monotonic_time ();
}

/* Returns: (transfer full): @usec as whole seconds with their sign, e.g. "+3600 s" */
static gchar *
describe_jump (gint64 usec)
{
  gint64 seconds = (ABS (usec) + G_USEC_PER_SEC / 2) / G_USEC_PER_SEC;

  return g_strdup_printf ("%c%" G_GINT64_FORMAT " s", usec < 0 ? '-' : '+', seconds);
}

static guint
n_receivers (HgScaipDelivery *self)
{
  return hg_scaip_sip_get_n_receivers (self->sip);
}

static void
session_free (Session *s)
{
  if (s->gave_up)
    g_hash_table_remove (s->engine->wire_refs, s->request->ref);
  g_clear_handle_id (&s->timer_id, g_source_remove);
  g_clear_handle_id (&s->deadline_id, g_source_remove);
  g_free (s->ref);
  g_free (s->alarm_type);
  hg_scaip_request_free (s->request);
  g_free (s);
}

static Session *
session_new (HgScaipDelivery *self,
             SessionKind kind,
             HgScaipRequest *request)
{
  Session *s = g_new0 (Session, 1);

  s->engine = self;
  s->kind = kind;
  s->ref = g_strdup (request->ref);
  s->request = request;
  s->mty = request->mty;
  s->seq = self->next_seq++;
  s->state = STATE_WAITING;
  return s;
}

static const gchar *
session_what (Session *s)
{
  if (s->kind == KIND_HEARTBEAT)
    return "heartbeat";
  return s->mty == HG_SCAIP_MTY_RE ? "abort of alarm" : "alarm";
}

static void
register_with (HgScaipDelivery *self,
               guint receiver)
{
  if (self->config.register_)
    hg_scaip_sip_register (self->sip, receiver, self->config.register_expires);
}

/* line supervision */

static void
supervision_missed (HgScaipDelivery *self,
                    const gchar *reason)
{
  if (self->line_fault)
    return;
  self->line_fault = TRUE;
  self->fault_since = g_get_monotonic_time ();
  g_warning ("line supervision: heartbeat to the %s receiver missed (%s)",
             receiver_name (self, self->active), reason);
  g_signal_emit (self, signals[SIGNAL_SUPERVISION_CHANGED], 0, FALSE, reason);
  schedule_heartbeat (self);
}

static void
supervision_ok (HgScaipDelivery *self)
{
  gint64 seconds;

  if (!self->line_fault)
    return;
  self->line_fault = FALSE;
  seconds = (g_get_monotonic_time () - self->fault_since) / G_USEC_PER_SEC;
  g_message ("line supervision restored after %" G_GINT64_FORMAT " s: the %s receiver answers",
             seconds, receiver_name (self, self->active));
  g_signal_emit (self, signals[SIGNAL_SUPERVISION_CHANGED], 0, TRUE, "restored");
  schedule_heartbeat (self);
}

/* The receiver that supervises the network path not in use: the first one on another
 * path than the active receiver's; %G_MAXUINT with a single path. */
static guint
standby_receiver (HgScaipDelivery *self)
{
  guint active_path = hg_scaip_sip_get_receiver_path (self->sip, self->active);

  for (guint i = 0; i < n_receivers (self); i++)
    {
      if (hg_scaip_sip_get_receiver_path (self->sip, i) != active_path)
        return i;
    }
  return G_MAXUINT;
}

/* A standby heartbeat to @receiver was answered (@ok) or missed. */
static void
standby_supervision (HgScaipDelivery *self,
                     guint receiver,
                     gboolean ok,
                     const gchar *reason)
{
  if (ok != self->standby_fault)
    return; /* no change */
  self->standby_fault = !ok;
  if (ok)
    g_message ("line supervision: the standby path answers again (the %s receiver)",
               receiver_name (self, receiver));
  else
    g_warning ("line supervision: heartbeat over the standby path to the %s receiver "
               "missed (%s)",
               receiver_name (self, receiver), reason);
  g_signal_emit (self, signals[SIGNAL_STANDBY_SUPERVISION_CHANGED], 0, ok, receiver, reason);
  schedule_heartbeat (self);
}

/* the link */

/* Waiting sessions, oldest first. */
static GPtrArray *
waiting_sessions (HgScaipDelivery *self)
{
  GPtrArray *waiting = g_ptr_array_new ();
  GHashTableIter iter;
  Session *s;

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&s))
    {
      if (s->state == STATE_WAITING && s->timer_id == 0)
        g_ptr_array_add (waiting, s);
    }
  return waiting;
}

static gint
compare_seq (gconstpointer a,
             gconstpointer b)
{
  const Session *sa = *(Session *const *) a;
  const Session *sb = *(Session *const *) b;

  return sa->seq < sb->seq ? -1 : sa->seq > sb->seq ? 1 : 0;
}

static void
flush (HgScaipDelivery *self)
{
  g_autoptr(GPtrArray) waiting = waiting_sessions (self);

  g_ptr_array_sort (waiting, compare_seq);
  if (waiting->len > 0)
    g_message ("sending %u waiting requests to the %s receiver, oldest first", waiting->len,
               receiver_name (self, self->active));
  for (guint i = 0; i < waiting->len; i++)
    session_send (g_ptr_array_index (waiting, i), self->active);
}

/* An answer (any <mrs> for a session of ours) came from @receiver. */
static void
link_answered (HgScaipDelivery *self,
               guint receiver)
{
  if (receiver != self->active || self->link_up)
    return;
  g_message ("the %s receiver answers again after %" G_GINT64_FORMAT " s",
             receiver_name (self, receiver),
             (g_get_monotonic_time () - self->down_since) / G_USEC_PER_SEC);
  self->link_up = TRUE;
  self->backoff = 1;
  g_clear_handle_id (&self->probe_id, g_source_remove);
  g_clear_handle_id (&self->failover_id, g_source_remove);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  flush (self);
}

static void schedule_failover (HgScaipDelivery *self);

static gboolean
maybe_failover (HgScaipDelivery *self)
{
  guint from = self->active;
  GHashTableIter iter;
  Session *s;

  if (self->link_up || n_receivers (self) < 2
      || g_get_monotonic_time () - self->down_since
             < (gint64) self->config.failover_timeout * G_USEC_PER_SEC)
    return FALSE;
  self->active = (self->active + 1) % n_receivers (self);
  self->down_since = g_get_monotonic_time ();
  self->backoff = 1;
  self->probe_now = TRUE;
  g_warning ("failing over from the %s receiver (silent for %u s) to the %s receiver %s",
             receiver_name (self, from), self->config.failover_timeout,
             receiver_name (self, self->active),
             hg_scaip_sip_get_receiver_uri (self->sip, self->active));
  register_with (self, self->active);
  /* what still waits for the silent one goes to the new one now; a late answer from the
   * old one still counts, by its ref */
  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&s))
    {
      if (s->state == STATE_SENT && s->receiver == from)
        {
          g_clear_handle_id (&s->timer_id, g_source_remove);
          s->generation++;
          s->state = STATE_WAITING;
        }
    }
  schedule_failover (self);
  return TRUE;
}

static gboolean
failover_cb (gpointer user_data)
{
  HgScaipDelivery *self = HG_SCAIP_DELIVERY (user_data);

  self->failover_id = 0;
  if (maybe_failover (self))
    {
      g_clear_handle_id (&self->probe_id, g_source_remove);
      schedule_probe (self);
    }
  else
    {
      /* woken a little early */
      schedule_failover (self);
    }
  return G_SOURCE_REMOVE;
}

/* The failover happens at the deadline, even while a probe of the silent receiver is
 * still waiting for its answer. */
static void
schedule_failover (HgScaipDelivery *self)
{
  gint64 deadline = self->down_since + (gint64) self->config.failover_timeout * G_USEC_PER_SEC;
  gint64 delay_ms = MAX (0, (deadline - g_get_monotonic_time () + 999) / 1000);

  g_clear_handle_id (&self->failover_id, g_source_remove);
  if (!self->running || self->link_up || n_receivers (self) < 2)
    return;
  self->failover_id = g_timeout_add ((guint) delay_ms, failover_cb, self);
}

/* A send to @receiver, made at @sent_at, got no answer. */
static void
link_down (HgScaipDelivery *self,
           guint receiver,
           gint64 sent_at,
           const gchar *reason)
{
  if (receiver != self->active)
    return;
  if (self->link_up)
    {
      self->link_up = FALSE;
      self->down_since = sent_at;
      self->backoff = 1;
      g_warning ("the %s receiver %s does not answer (%s); resending the oldest request "
                 "with backoff",
                 receiver_name (self, receiver),
                 hg_scaip_sip_get_receiver_uri (self->sip, receiver), reason);
      /* an ARC that restarted may have lost our registration */
      register_with (self, receiver);
      schedule_failover (self);
      g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
    }
  if (maybe_failover (self))
    g_clear_handle_id (&self->probe_id, g_source_remove);
}

static gboolean
in_flight_to_active (HgScaipDelivery *self)
{
  GHashTableIter iter;
  Session *s;

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&s))
    {
      if (s->state == STATE_SENT && s->receiver == self->active)
        return TRUE;
    }
  return FALSE;
}

static gboolean
probe_cb (gpointer user_data)
{
  HgScaipDelivery *self = HG_SCAIP_DELIVERY (user_data);
  g_autoptr(GPtrArray) waiting = NULL;

  self->probe_id = 0;
  maybe_failover (self);
  if (self->link_up || in_flight_to_active (self))
    return G_SOURCE_REMOVE;
  waiting = waiting_sessions (self);
  if (waiting->len == 0)
    return G_SOURCE_REMOVE;
  g_ptr_array_sort (waiting, compare_seq);
  session_send (g_ptr_array_index (waiting, 0), self->active);
  return G_SOURCE_REMOVE;
}

/* While the link is down: the next probe after the backoff, and never after the
 * failover deadline. */
static void
schedule_probe (HgScaipDelivery *self)
{
  g_autoptr(GPtrArray) waiting = NULL;
  gint64 delay_ms;

  if (!self->running || self->link_up || self->probe_id != 0)
    return;
  waiting = waiting_sessions (self);
  if (waiting->len == 0)
    return;
  if (self->probe_now)
    {
      delay_ms = 0;
      self->probe_now = FALSE;
    }
  else
    {
      delay_ms = (gint64) self->backoff * 1000;
      self->backoff = MIN (self->backoff * 2, self->config.retry_max);
    }
  if (n_receivers (self) > 1)
    {
      gint64 deadline = self->down_since + (gint64) self->config.failover_timeout * G_USEC_PER_SEC;
      delay_ms = CLAMP ((deadline - g_get_monotonic_time ()) / 1000, 0, delay_ms);
    }
  self->probe_id = g_timeout_add ((guint) delay_ms, probe_cb, self);
}

/* sending */

static void
session_remove (Session *s)
{
  HgScaipDelivery *self = s->engine;

  if (s == self->heartbeat)
    g_clear_pointer (&self->heartbeat, session_free);
  else if (s == self->standby)
    g_clear_pointer (&self->standby, session_free);
  else
    g_hash_table_remove (self->sessions, s->ref);
}

/* The session got no answer: no <mrs> within answer-timeout, or a SIP error. */
static void
session_unanswered (Session *s,
                    const gchar *reason)
{
  HgScaipDelivery *self = s->engine;
  guint receiver = s->receiver;
  gint64 sent_at = s->sent_at;
  SessionKind kind = s->kind;

  g_clear_handle_id (&s->timer_id, g_source_remove);
  s->state = STATE_WAITING;
  s->generation++;
  LOG_REF (G_LOG_LEVEL_INFO, s->ref, "%s %s: no answer from the %s receiver (%s)", session_what (s),
           s->ref, receiver_name (self, receiver), reason);
  if (s == self->standby)
    {
      /* the path not in use: it is not the link alarms go over */
      session_remove (s);
      standby_supervision (self, receiver, FALSE, reason);
      return;
    }
  if (s->kind == KIND_HEARTBEAT)
    {
      session_remove (s);
      if (receiver == self->active)
        supervision_missed (self, reason);
    }
  link_down (self, receiver, sent_at, reason);
  /* e.g. a HOLD at the deadline, then silence */
  if (kind == KIND_ALARM && deadline_passed (s))
    {
      give_up (s, "no-confirmation");
      return;
    }
  if (self->link_up && kind == KIND_ALARM)
    {
      /* sent to a receiver that is not the active one any more */
      session_send (s, self->active);
      return;
    }
  schedule_probe (self);
}

/* If the wall clock was stepped while @s was in flight, @what (a SIP failure, or no
 * answer) may be Sofia-SIP's timers, not the receiver: logs it and sends @s again to the
 * same receiver, not counted silent. */
static gboolean
resent_after_clock_jump (Session *s, const gchar *what)
{
  HgScaipDelivery *self = s->engine;
  gint64 jump = wall_clock_offset () - s->sent_offset;
  g_autofree gchar *by = NULL;

  if (ABS (jump) <= CLOCK_JUMP_USEC)
    return FALSE;
  by = describe_jump (jump);
  LOG_REF (G_LOG_LEVEL_WARNING, s->ref,
           "%s %s: the wall clock jumped by %s while it was in flight to the %s receiver, "
           "and Sofia-SIP times its requests by that clock (%s): sending it again, the "
           "receiver is not counted silent",
           session_what (s), s->ref, by, receiver_name (self, s->receiver), what);
  session_send (s, s->receiver);
  return TRUE;
}

static gboolean
answer_timeout_cb (gpointer user_data)
{
  Session *s = user_data;
  /* a receiver whose SIP stack takes the request but says nothing (a TCP connection it
   * accepted and never reads) is told apart from one whose application is silent */
  g_autofree gchar *reason
      = s->sip_answered ? g_strdup_printf ("a SIP 2xx but no <mrs> within %u s",
                                           s->engine->config.answer_timeout)
                        : g_strdup_printf ("neither a SIP response nor an <mrs> within %u s",
                                           s->engine->config.answer_timeout);

  s->timer_id = 0;
  /* after a step back, Sofia-SIP's retransmissions of it wait that much longer */
  if (!resent_after_clock_jump (s, reason))
    session_unanswered (s, reason);
  return G_SOURCE_REMOVE;
}

typedef struct
{
  HgScaipDelivery *engine; /* (unowned) valid unless the call was cancelled */
  gchar *ref;              /* (owned) */
  guint generation;
  SessionKind kind;
} SendData;

static void
send_data_free (SendData *data)
{
  g_free (data->ref);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SendData, send_data_free)

static void handle_response_body (HgScaipDelivery *self, const gchar *body, const gchar *where);

static Session *
find_session (HgScaipDelivery *self,
              const gchar *ref)
{
  Session *s;

  if (self->heartbeat != NULL && g_strcmp0 (self->heartbeat->ref, ref) == 0)
    return self->heartbeat;
  if (self->standby != NULL && g_strcmp0 (self->standby->ref, ref) == 0)
    return self->standby;
  s = g_hash_table_lookup (self->sessions, ref);
  /* the ref of a failed delivery was aborted (mty=RE): a late answer to it, even snu 0,
   * says nothing of the background session */
  if (s != NULL && s->gave_up)
    return NULL;
  return s != NULL ? s : g_hash_table_lookup (self->wire_refs, ref);
}

static void
sent_cb (GObject *source,
         GAsyncResult *result,
         gpointer user_data)
{
  g_autoptr(SendData) data = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *body = NULL;
  HgScaipDelivery *self;
  Session *s;

  if (!hg_scaip_sip_send_finish (HG_SCAIP_SIP (source), result, &body, &error)
      && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = data->engine;
  if (!self->running)
    return;
  /* an answer in the 200 OK is an answer, however late (PROTOCOL.md §4) */
  if (body != NULL)
    handle_response_body (self, body, "200 OK");
  s = find_session (self, data->ref);
  if (s == NULL || s->generation != data->generation || s->state != STATE_SENT)
    return;
  if (error == NULL)
    {
      s->sip_answered = TRUE;
      return;
    }
  /* a forward step fires every pending Sofia-SIP timer at once: Timer F fails the
   * request with a local 408 that says nothing about the receiver */
  if (resent_after_clock_jump (s, error->message))
    return;
  LOG_REF (G_LOG_LEVEL_WARNING, s->ref, "%s %s: the %s receiver answered %s", session_what (s),
           s->ref, receiver_name (self, s->receiver), error->message);
  session_unanswered (s, error->message);
}

static void
session_send (Session *s,
              guint receiver)
{
  HgScaipDelivery *self = s->engine;
  g_autoptr(HgScaipRequest) reduced = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *xml = NULL;
  const HgScaipRequest *request = s->request;
  SendData *data;

  if (!self->running)
    return;
  if (s->mty == HG_SCAIP_MTY_RE)
    request = reduced = hg_scaip_request_new_minimal (s->request, HG_SCAIP_MTY_RE);
  else if (s->minimal)
    request = reduced = hg_scaip_request_new_minimal (s->request, s->mty);
  xml = hg_scaip_request_to_xml (request, &error);
  if (xml == NULL)
    {
      /* built from checked data, so this is a bug; never loop on it */
      LOG_REF (G_LOG_LEVEL_CRITICAL, s->ref, "%s %s cannot be written: %s", session_what (s),
               s->ref, error->message);
      s->state = STATE_FAILED;
      return;
    }
  g_clear_handle_id (&s->timer_id, g_source_remove);
  s->generation++;
  s->state = STATE_SENT;
  s->receiver = receiver;
  s->sent_at = g_get_monotonic_time ();
  s->sent_offset = wall_clock_offset ();
  s->sip_answered = FALSE;
  s->ever_sent = TRUE;
  s->sent_to |= 1u << receiver;
  LOG_REF (G_LOG_LEVEL_DEBUG, s->ref, "%s %s sent to the %s receiver", session_what (s), s->ref,
           receiver_name (self, receiver));

  data = g_new0 (SendData, 1);
  data->engine = self;
  /* the ref on the wire: after delivery failed, the background one (find_session ()) */
  data->ref = g_strdup (s->request->ref);
  data->generation = s->generation;
  data->kind = s->kind;
  s->timer_id = g_timeout_add (self->config.answer_timeout * 1000, answer_timeout_cb, s);
  hg_scaip_sip_send_async (self->sip, receiver, xml, self->cancellable, sent_cb, data);
}

static gboolean
hold_poll_cb (gpointer user_data)
{
  Session *s = user_data;

  s->timer_id = 0;
  session_send (s, s->receiver);
  return G_SOURCE_REMOVE;
}

static gboolean
retry_cb (gpointer user_data)
{
  Session *s = user_data;
  HgScaipDelivery *self = s->engine;

  s->timer_id = 0;
  if (self->link_up)
    session_send (s, self->active);
  else
    schedule_probe (self);
  return G_SOURCE_REMOVE;
}

/* answers */

static void
emit_delivered (Session *s,
                guint snu)
{
  /* after delivery failed, a HOLD is no confirmation: the core keeps delivery-failed */
  if (s->delivered || s->gave_up || s->kind != KIND_ALARM || s->mty != HG_SCAIP_MTY_ME)
    return;
  s->delivered = TRUE;
  g_signal_emit (s->engine, signals[SIGNAL_ALARM_DELIVERED], 0, s->ref, s->receiver, snu);
}

/* The ref the background retries of alarm @ref go under once its delivery failed: the
 * aborted one may not be used again (TR 91102 §6.1: the sender discards a ref whose
 * session ended), and a ref derived from the alarm's, not a random one, is the same after
 * a restart of the host, so the ARC still de-duplicates it. 16 hex digits of SHA-256. */
static gchar *
background_ref (const gchar *ref)
{
  g_autofree gchar *text = g_strdup_printf ("%s/background", ref);
  g_autofree gchar *sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);

  return g_strndup (sum, 16);
}

/* From now on @s goes to the ARC under background_ref (). */
static void
session_to_background (Session *s)
{
  HgScaipDelivery *self = s->engine;

  s->gave_up = TRUE;
  g_free (s->request->ref);
  s->request->ref = background_ref (s->ref);
  g_hash_table_insert (self->wire_refs, s->request->ref, s);
}

/* [C] SS 91100 §5 rule 4: no snu=0 within the specified time: abort with mty=RE and the
 * same ref, and go on with the alternative action (PROTOCOL.md §6). */
static void
give_up (Session *s, const gchar *reason)
{
  HgScaipDelivery *self = s->engine;
  g_autoptr(HgScaipRequest) abort_request
      = hg_scaip_request_new_minimal (s->request, HG_SCAIP_MTY_RE);
  g_autofree gchar *xml = hg_scaip_request_to_xml (abort_request, NULL);
  guint sent_to = s->sent_to;
  guint aborted = 0;

  g_clear_handle_id (&s->deadline_id, g_source_remove);
  g_clear_handle_id (&s->timer_id, g_source_remove);
  for (guint i = 0; i < n_receivers (self); i++)
    {
      if ((sent_to & (1u << i)) == 0 || xml == NULL)
        continue;
      hg_scaip_sip_send_async (self->sip, i, xml, self->cancellable, NULL, NULL);
      aborted++;
    }
  session_to_background (s);
  LOG_REF (G_LOG_LEVEL_WARNING, s->ref,
           "alarm %s: delivery failed: the alarm centre has not confirmed it within %u s (%s); "
           "aborted (mty=RE) at the %u receivers it went to, retrying in the background "
           "under ref %s",
           s->ref, self->config.delivery_timeout, reason, aborted, s->request->ref);
  g_signal_emit (self, signals[SIGNAL_ALARM_FAILED], 0, s->ref, s->alarm_type, reason, sent_to);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  s->generation++;
  s->state = STATE_WAITING;
  s->sent_to = 0;
  s->refused = 0;
  s->hold_since = 0;
  if (self->link_up)
    session_send (s, self->active);
  else
    schedule_probe (self);
}

static gboolean
deadline_passed (Session *s)
{
  return s->deadline != 0 && !s->gave_up && s->kind == KIND_ALARM && s->mty == HG_SCAIP_MTY_ME
         && g_get_monotonic_time () >= s->deadline;
}

static gboolean
deadline_cb (gpointer user_data)
{
  Session *s = user_data;

  s->deadline_id = 0;
  if (!deadline_passed (s) || s->state == STATE_DONE || s->state == STATE_FAILED)
    return G_SOURCE_REMOVE;
  if (s->hold_since != 0)
    {
      /* the ARC has it and works on it: HOLD ends in snu 0 or in hold-max (session_refused) */
      LOG_REF (G_LOG_LEVEL_MESSAGE, s->ref,
               "alarm %s: not confirmed within %u s, but on HOLD at the %s receiver", s->ref,
               s->engine->config.delivery_timeout, receiver_name (s->engine, s->receiver));
      return G_SOURCE_REMOVE;
    }
  give_up (s, "no-confirmation");
  return G_SOURCE_REMOVE;
}

/* snu 5, 6, a message error, or HOLD beyond hold-max: the alternative action. */
static void
session_refused (Session *s,
                 HgScaipStatus status,
                 const gchar *snu)
{
  HgScaipDelivery *self = s->engine;
  guint n = n_receivers (self);
  guint all = (1u << n) - 1;
  guint receiver = s->receiver;

  g_clear_handle_id (&s->timer_id, g_source_remove);
  s->hold_since = 0;
  LOG_REF (G_LOG_LEVEL_WARNING, s->ref, "%s %s refused by the %s receiver: snu %s (%s)",
           session_what (s), s->ref, receiver_name (self, receiver), snu,
           hg_scaip_status_to_string (status));
  if (status == HG_SCAIP_STATUS_MESSAGE_ERROR)
    {
      if (!s->minimal && s->mty == HG_SCAIP_MTY_ME)
        {
          /* not the same bytes again: only what every receiver must understand */
          s->minimal = TRUE;
          session_send (s, receiver);
          return;
        }
      s->errors |= 1u << receiver;
    }
  s->refused |= 1u << receiver;
  for (guint i = 1; i < n; i++)
    {
      guint next = (receiver + i) % n;
      if ((s->refused & (1u << next)) == 0)
        {
          LOG_REF (G_LOG_LEVEL_MESSAGE, s->ref, "%s %s: trying the %s receiver instead",
                   session_what (s), s->ref, receiver_name (self, next));
          session_send (s, next);
          return;
        }
    }
  s->refused = 0;
  if ((s->errors & all) == all)
    {
      gboolean reported = s->gave_up;

      s->state = STATE_FAILED;
      g_clear_handle_id (&s->deadline_id, g_source_remove);
      LOG_REF (G_LOG_LEVEL_WARNING, s->ref,
               "%s %s given up: every receiver refused even its "
               "mandatory fields",
               session_what (s), s->ref);
      /* once per alarm, also across restarts: the core knows it failed */
      if (s->mty == HG_SCAIP_MTY_ME && !reported)
        {
          s->gave_up = TRUE;
          g_signal_emit (self, signals[SIGNAL_ALARM_FAILED], 0, s->ref, s->alarm_type,
                         "message-error", s->errors);
          g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
        }
      return;
    }
  if (deadline_passed (s))
    {
      /* every receiver refused, or HOLD outlasted hold-max, past the deadline */
      give_up (s, g_strcmp0 (snu, "4") == 0 ? "hold-exceeded" : "refused");
      return;
    }
  s->state = STATE_WAITING;
  s->timer_id = g_timeout_add (self->config.retry_max * 1000, retry_cb, s);
}

static void
hold_exceeded (Session *s)
{
  HgScaipDelivery *self = s->engine;
  g_autoptr(HgScaipRequest) abort_request
      = hg_scaip_request_new_minimal (s->request, HG_SCAIP_MTY_RE);
  g_autofree gchar *xml = hg_scaip_request_to_xml (abort_request, NULL);

  LOG_REF (G_LOG_LEVEL_WARNING, s->ref,
           "alarm %s: HOLD for more than %u s; aborting it at the %s "
           "receiver",
           s->ref, self->config.hold_max, receiver_name (self, s->receiver));
  if (xml != NULL)
    hg_scaip_sip_send_async (self->sip, s->receiver, xml, self->cancellable, NULL, NULL);
  session_refused (s, HG_SCAIP_STATUS_NOT_TREATED, "4");
}

/* With cre 62 the ARC names where the unit is to call (SS 91100 §5, TR 91102 §5.2-5.7):
 * the first sip: or sips: <tnu>; a gsm: one names a medium this unit has not. */
static const gchar *
transfer_uri (const HgScaipResponse *response)
{
  if (response->cre != 62)
    return NULL;
  for (guint i = 0; i < response->tnu->len; i++)
    {
      const gchar *tnu = g_ptr_array_index (response->tnu, i);

      if (g_str_has_prefix (tnu, "sip:") || g_str_has_prefix (tnu, "sips:"))
        return tnu;
    }
  return NULL;
}

static void schedule_heartbeat (HgScaipDelivery *self);

/* [C] SS 91100 Table 2: with hbo=001 in the heartbeat, the ARC may set the interval with
 * <hbi> (1-1440 minutes) in its answer; heartbeats then follow it, until it says otherwise
 * or the host restarts. */
static void
heartbeat_interval_from_arc (HgScaipDelivery *self, HgScaipResponse *response, guint receiver)
{
  guint interval;

  if (response->hbi == HG_SCAIP_OMITTED || self->config.heartbeat_interval == 0)
    return;
  if (response->hbi < 1 || response->hbi > 1440)
    {
      g_warning ("the %s receiver asks for a heartbeat every %d min, outside 1-1440: ignored",
                 receiver_name (self, receiver), response->hbi);
      return;
    }
  interval = (guint)response->hbi * 60;
  if (interval == self->heartbeat_interval)
    return;
  g_message ("the %s receiver sets the heartbeat interval to %d min (hbi; was %u s)",
             receiver_name (self, receiver), response->hbi, self->heartbeat_interval);
  self->heartbeat_interval = interval;
  schedule_heartbeat (self);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
handle_response (HgScaipDelivery *self,
                 HgScaipResponse *response)
{
  Session *s = find_session (self, response->ref);
  HgScaipStatus status = hg_scaip_status_from_snu (response->snu);
  guint receiver;
  gint64 now = g_get_monotonic_time ();

  if (s == NULL)
    {
      LOG_REF (G_LOG_LEVEL_MESSAGE, response->ref, "response for unknown ref %s (snu %s) ignored",
               response->ref, response->snu_raw);
      return;
    }
  if (s->state == STATE_DONE || s->state == STATE_FAILED)
    {
      LOG_REF (G_LOG_LEVEL_DEBUG, s->ref, "late response for %s %s (snu %s) ignored",
               session_what (s), s->ref, response->snu_raw);
      return;
    }
  receiver = s->receiver;

  if (s->kind == KIND_HEARTBEAT)
    {
      gboolean standby = s == self->standby;

      if (status != HG_SCAIP_STATUS_OK)
        g_message ("heartbeat answered with snu %s by the %s receiver", response->snu_raw,
                   receiver_name (self, receiver));
      session_remove (s);
      if (standby)
        {
          standby_supervision (self, receiver, TRUE, "answered");
          return;
        }
      /* only an <mrs> to a heartbeat ends a missed supervision: answers to alarms do not,
       * or an ARC that answers alarms and not heartbeats would make one outage a technical
       * alarm every interval (PROTOCOL.md §7) */
      if (receiver == self->active)
        supervision_ok (self);
      heartbeat_interval_from_arc (self, response, receiver);
      link_answered (self, receiver);
      return;
    }
  if (response->hbi != HG_SCAIP_OMITTED)
    g_debug ("an <hbi> in the answer to %s %s ignored: only a heartbeat's answer sets it",
             session_what (s), s->ref);

  switch (status)
    {
    case HG_SCAIP_STATUS_OK:
      g_clear_handle_id (&s->timer_id, g_source_remove);
      if (s->mty == HG_SCAIP_MTY_RE)
        {
          LOG_REF (G_LOG_LEVEL_MESSAGE, s->ref, "alarm %s aborted at the %s receiver", s->ref,
                   receiver_name (self, receiver));
          session_remove (s);
          break;
        }
      s->state = STATE_DONE;
      emit_delivered (s, response->snu);
      LOG_REF (G_LOG_LEVEL_MESSAGE, s->ref, "alarm %s acknowledged by the %s receiver", s->ref,
               receiver_name (self, receiver));
      g_signal_emit (self, signals[SIGNAL_ALARM_ACKNOWLEDGED], 0, s->ref, receiver);
      /* [C] SS 91100 §5 rule 6: voice only after snu=0 with mre >= 1 */
      if (response->mre >= 1 && response->mre <= 3)
        g_signal_emit (self, signals[SIGNAL_VOICE_REQUESTED], 0, s->ref, receiver,
                       (guint)response->mre, response->cre, transfer_uri (response));
      break;
    case HG_SCAIP_STATUS_HOLD:
      g_clear_handle_id (&s->timer_id, g_source_remove);
      emit_delivered (s, response->snu);
      if (s->hold_since == 0)
        s->hold_since = now;
      if (now - s->hold_since >= (gint64) self->config.hold_max * G_USEC_PER_SEC)
        {
          hold_exceeded (s);
          break;
        }
      LOG_REF (G_LOG_LEVEL_INFO, s->ref, "%s %s on HOLD at the %s receiver; polling in %u s",
               session_what (s), s->ref, receiver_name (self, receiver),
               self->config.hold_interval);
      s->state = STATE_HOLD;
      s->timer_id = g_timeout_add (self->config.hold_interval * 1000, hold_poll_cb, s);
      break;
    case HG_SCAIP_STATUS_NOT_TREATED:
    case HG_SCAIP_STATUS_BUSY:
    case HG_SCAIP_STATUS_MESSAGE_ERROR:
    default:
      session_refused (s, status, response->snu_raw);
      break;
    }
  link_answered (self, receiver);
}

static void
handle_response_body (HgScaipDelivery *self,
                      const gchar *body,
                      const gchar *where)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HgScaipResponse) response = hg_scaip_response_parse (body, strlen (body), &error);

  if (response == NULL)
    {
      g_warning ("SCAIP response in a %s refused: %s", where, error->message);
      return;
    }
  handle_response (self, response);
}

static guint
message_received_cb (HgScaipSip *sip,
                     const gchar *body,
                     guint length,
                     HgScaipDelivery *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HgScaipResponse) response = NULL;

  if (!self->running)
    return 503;
  response = hg_scaip_response_parse (body, length, &error);
  if (response == NULL)
    {
      g_warning ("SCAIP response in a MESSAGE refused: %s", error->message);
      return 400;
    }
  handle_response (self, response);
  return 200;
}

/* An ARC may refuse MESSAGE requests of a sender it has not registered (403), e.g. an
 * alarm the core hands over right at start: once registered, probe at once. */
static void
registration_changed_cb (
    HgScaipSip *sip, guint receiver, gboolean registered, guint status, HgScaipDelivery *self)
{
  if (!self->running || !registered || self->link_up || receiver != self->active)
    return;
  g_clear_handle_id (&self->probe_id, g_source_remove);
  self->probe_now = TRUE;
  schedule_probe (self);
}

/* heartbeats */

/* Sends a heartbeat to @receiver in @slot, unless one is still in flight there. */
static void
send_heartbeat (HgScaipDelivery *self,
                Session **slot,
                guint receiver)
{
  g_autofree gchar *ref = NULL;

  if (*slot != NULL || receiver == G_MAXUINT)
    return;
  ref = hg_scaip_new_ref ();
  *slot = session_new (
      self, KIND_HEARTBEAT,
      hg_scaip_request_new (ref, HG_SCAIP_MTY_PI, self->controller_id, DTY_LOCAL_UNIT));
  /* [C] SS 91100 Table 1: hbo=001, the ARC may set the interval (<hbi>) */
  (*slot)->request->hbo = 1;
  session_send (*slot, receiver);
}

static gboolean
heartbeat_cb (gpointer user_data)
{
  HgScaipDelivery *self = HG_SCAIP_DELIVERY (user_data);

  send_heartbeat (self, &self->heartbeat, self->active);
  send_heartbeat (self, &self->standby, standby_receiver (self));
  return G_SOURCE_CONTINUE;
}

/* Every heartbeat-interval; while a path is faulty, every retry-max at most. */
static void
schedule_heartbeat (HgScaipDelivery *self)
{
  guint interval = self->heartbeat_interval;

  g_clear_handle_id (&self->heartbeat_id, g_source_remove);
  if (!self->running || interval == 0)
    return;
  if (self->line_fault || self->standby_fault)
    interval = MIN (interval, self->config.retry_max);
  self->heartbeat_id = g_timeout_add_seconds (interval, heartbeat_cb, self);
}

/* public */

/* A new session for @alarm, built from its record and added to the table. */
static Session *
session_add_for_alarm (HgScaipDelivery *self,
                       HgAlarm *alarm,
                       GError **error)
{
  /* nobody pressed anything for a test or a technical fault: the plugin takes no call for
   * one, so its <crd> offers no medium ([C] TR 91102 §5.2) and it asks for no callback */
  static const gchar *const no_voice[] = { "no-voice:", NULL };
  gboolean quiet = g_strcmp0 (hg_alarm_get_alarm_type (alarm), "test") == 0
                   || g_strcmp0 (hg_alarm_get_alarm_type (alarm), "technical") == 0;
  HgScaipRequest *request;
  Session *s;

  request = hg_scaip_request_new_for_alarm (
      alarm, self->controller_id, quiet ? no_voice : (const gchar *const *)self->caller_ids, error);
  if (request == NULL)
    return NULL;
  /* [C] SS 91100 §5 rule 8: the ARC calls back */
  if (self->config.callback && !quiet)
    request->cha = 1;
  s = session_new (self, KIND_ALARM, request);
  s->alarm_type = g_strdup (hg_alarm_get_alarm_type (alarm));
  g_hash_table_insert (self->sessions, g_strdup (s->ref), s);
  return s;
}

/**
 * hg_scaip_delivery_add_alarm:
 * @self: an #HgScaipDelivery
 * @alarm: an alarm from an `alarm.raised` event, with its reference and state
 * @error: return location for a #GError
 *
 * Starts the session of an alarm still `raised` or `delivered`; remembers one already
 * acknowledged (for a later abort). A reference already known is left alone: the core
 * sends every open alarm again when the host starts.
 *
 * Returns: %TRUE, or %FALSE with %HG_SCAIP_CODEC_ERROR if the alarm cannot be mapped
 */
gboolean
hg_scaip_delivery_add_alarm (HgScaipDelivery *self,
                             HgAlarm *alarm,
                             GError **error)
{
  HgAlarmState state = hg_alarm_get_state (alarm);
  Session *s;

  g_return_val_if_fail (HG_IS_SCAIP_DELIVERY (self), FALSE);
  g_return_val_if_fail (HG_IS_ALARM (alarm), FALSE);

  if (hg_alarm_get_reference (alarm) != NULL
      && g_hash_table_contains (self->sessions, hg_alarm_get_reference (alarm)))
    {
      LOG_REF (G_LOG_LEVEL_DEBUG, hg_alarm_get_reference (alarm), "alarm %s already in hand",
               hg_alarm_get_reference (alarm));
      return TRUE;
    }
  if (hg_alarm_state_is_final (state))
    return TRUE;
  s = session_add_for_alarm (self, alarm, error);
  if (s == NULL)
    return FALSE;
  if (hg_alarm_state_compare (state, HG_ALARM_STATE_ACKNOWLEDGED) >= 0)
    {
      /* the ARC has it: nothing to send, but an abort may follow */
      s->state = STATE_DONE;
      s->ever_sent = TRUE;
      s->delivered = TRUE;
      return TRUE;
    }
  s->delivered = state == HG_ALARM_STATE_DELIVERED;
  if (state == HG_ALARM_STATE_DELIVERY_FAILED)
    {
      /* failed before a restart: reported, its technical alarm raised, its ref aborted */
      s->delivered = TRUE;
      session_to_background (s);
      LOG_REF (G_LOG_LEVEL_MESSAGE, s->ref,
               "alarm %s (%s): delivery failed before; retrying in the background under ref %s",
               s->ref, s->alarm_type, s->request->ref);
    }
  else if (self->config.delivery_timeout > 0)
    {
      s->deadline
          = g_get_monotonic_time () + (gint64)self->config.delivery_timeout * G_USEC_PER_SEC;
      s->deadline_id = g_timeout_add (self->config.delivery_timeout * 1000, deadline_cb, s);
    }
  LOG_REF (G_LOG_LEVEL_INFO, s->ref, "alarm %s (%s) to deliver%s", s->ref, s->alarm_type,
           state == HG_ALARM_STATE_DELIVERED ? ", again" : "");
  if (self->link_up)
    session_send (s, self->active);
  else
    schedule_probe (self);
  return TRUE;
}

/**
 * hg_scaip_delivery_cancel_alarm:
 * @self: an #HgScaipDelivery
 * @ref: the alarm's reference
 * @alarm: (nullable): the alarm's record, as the cancel event carries it
 *
 * The resident cancelled the alarm: if it may have reached the ARC, abort it there with
 * `mty=RE` and the same reference; if it was never sent, just drop it.
 *
 * With no session for @ref (the host restarted after the alarm ended, so the core
 * replayed the cancel but not the alarm), this instance cannot know whether an earlier
 * host sent it: it aborts it at the ARC from @alarm, since an abort of an alarm the ARC
 * never had is answered and forgotten, and one not sent leaves the ARC acting on it.
 */
void
hg_scaip_delivery_cancel_alarm (HgScaipDelivery *self,
                                const gchar *ref,
                                HgAlarm *alarm)
{
  g_autoptr(GError) error = NULL;
  Session *s;

  g_return_if_fail (HG_IS_SCAIP_DELIVERY (self));
  g_return_if_fail (ref != NULL);
  g_return_if_fail (alarm == NULL || HG_IS_ALARM (alarm));

  s = g_hash_table_lookup (self->sessions, ref);
  if (s == NULL && alarm == NULL)
    {
      LOG_REF (G_LOG_LEVEL_MESSAGE, ref,
               "alarm %s cancelled; this instance did not send it and the event does not "
               "say what it was, so no abort is sent",
               ref);
      return;
    }
  if (s == NULL)
    {
      s = session_add_for_alarm (self, alarm, &error);
      if (s == NULL)
        {
          LOG_REF (G_LOG_LEVEL_WARNING, ref, "alarm %s cancelled; no abort can be built: %s",
                   ref, error->message);
          return;
        }
      LOG_REF (G_LOG_LEVEL_MESSAGE, ref,
               "alarm %s cancelled while this plugin was not running; an earlier host may "
               "have sent it",
               ref);
      s->ever_sent = TRUE;
      s->delivered = TRUE;
    }
  if (s->mty == HG_SCAIP_MTY_RE)
    return;
  if (!s->ever_sent || s->state == STATE_FAILED)
    {
      LOG_REF (G_LOG_LEVEL_MESSAGE, ref, "alarm %s cancelled before the ARC had it", ref);
      session_remove (s);
      return;
    }
  LOG_REF (G_LOG_LEVEL_MESSAGE, ref, "alarm %s cancelled; aborting it at the ARC", ref);
  g_clear_handle_id (&s->timer_id, g_source_remove);
  s->mty = HG_SCAIP_MTY_RE;
  s->state = STATE_WAITING;
  s->generation++;
  s->refused = 0;
  s->errors = 0;
  s->hold_since = 0;
  if (self->link_up)
    session_send (s, self->active);
  else
    schedule_probe (self);
}

/**
 * hg_scaip_delivery_close_alarm:
 * @self: an #HgScaipDelivery
 * @ref: the alarm's reference
 *
 * The alarm was closed: stop every retry of it.
 */
void
hg_scaip_delivery_close_alarm (HgScaipDelivery *self,
                               const gchar *ref)
{
  g_return_if_fail (HG_IS_SCAIP_DELIVERY (self));
  g_return_if_fail (ref != NULL);

  g_hash_table_remove (self->sessions, ref);
}

/* Returns: the index of the receiver new requests go to */
guint
hg_scaip_delivery_get_active_receiver (HgScaipDelivery *self)
{
  g_return_val_if_fail (HG_IS_SCAIP_DELIVERY (self), 0);
  return self->active;
}

/* Returns: %FALSE while a missed heartbeat has not been answered again */
gboolean
hg_scaip_delivery_get_line_ok (HgScaipDelivery *self)
{
  g_return_val_if_fail (HG_IS_SCAIP_DELIVERY (self), FALSE);
  return !self->line_fault;
}

/* Returns: the receiver that supervises the path not in use, or %G_MAXUINT with one path */
guint
hg_scaip_delivery_get_standby_receiver (HgScaipDelivery *self)
{
  g_return_val_if_fail (HG_IS_SCAIP_DELIVERY (self), G_MAXUINT);
  return standby_receiver (self);
}

/* Returns: %FALSE while a missed standby heartbeat has not been answered again */
gboolean
hg_scaip_delivery_get_standby_ok (HgScaipDelivery *self)
{
  g_return_val_if_fail (HG_IS_SCAIP_DELIVERY (self), FALSE);
  return !self->standby_fault;
}

/* Returns: the heartbeat interval in seconds: the configured one, or the ARC's <hbi> */
guint
hg_scaip_delivery_get_heartbeat_interval (HgScaipDelivery *self)
{
  g_return_val_if_fail (HG_IS_SCAIP_DELIVERY (self), 0);
  return self->heartbeat_interval;
}

/**
 * hg_scaip_delivery_dup_fault:
 * @self: an #HgScaipDelivery
 *
 * What keeps alarms from the alarm centre right now, for the health report: a missed
 * line supervision, a silent active receiver with requests waiting, or alarms whose
 * delivery failed (PROTOCOL.md §6-7).
 *
 * Returns: (transfer full) (nullable): the reason, or %NULL when delivery is fine
 */
gchar *
hg_scaip_delivery_dup_fault (HgScaipDelivery *self)
{
  GHashTableIter iter;
  Session *s;
  guint failed = 0;
  guint waiting = 0;

  g_return_val_if_fail (HG_IS_SCAIP_DELIVERY (self), NULL);

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&s))
    {
      if (s->gave_up && s->state != STATE_DONE)
        failed++;
      else if (s->state != STATE_DONE && s->state != STATE_FAILED)
        waiting++;
    }
  if (failed > 0)
    return g_strdup_printf ("delivery failed: the alarm centre has not confirmed %u alarm%s; "
                            "retrying in the background",
                            failed, failed == 1 ? "" : "s");
  if (self->line_fault)
    return g_strdup_printf ("line supervision: the %s receiver does not answer heartbeats",
                            receiver_name (self, self->active));
  if (!self->link_up && waiting > 0)
    return g_strdup_printf ("the %s receiver does not answer; %u request%s waiting",
                            receiver_name (self, self->active), waiting, waiting == 1 ? "" : "s");
  return NULL;
}

/**
 * hg_scaip_delivery_check_clock:
 * @self: an #HgScaipDelivery
 *
 * To be called every few seconds. When the wall clock was stepped since the last call,
 * registers again with every receiver: Sofia-SIP times the registration refresh by the
 * wall clock, so after a step back the refresh would come that much later and the
 * registration would lapse at the ARC in between; a new REGISTER times it anew.
 */
void
hg_scaip_delivery_check_clock (HgScaipDelivery *self)
{
  gint64 offset;
  gint64 jump;
  g_autofree gchar *by = NULL;

  g_return_if_fail (HG_IS_SCAIP_DELIVERY (self));

  offset = wall_clock_offset ();
  jump = offset - self->clock_offset;
  self->clock_offset = offset;
  if (!self->running || ABS (jump) <= CLOCK_JUMP_USEC)
    return;
  by = describe_jump (jump);
  if (!self->config.register_)
    {
      g_warning ("the wall clock jumped by %s; Sofia-SIP times its requests by it (register is "
                 "off: nothing to register again)",
                 by);
      return;
    }
  g_warning ("the wall clock jumped by %s; Sofia-SIP times the registration refresh by it: "
             "registering again with every receiver",
             by);
  for (guint i = 0; i < n_receivers (self); i++)
    register_with (self, i);
}

/**
 * hg_scaip_delivery_start:
 * @self: an #HgScaipDelivery
 *
 * Registers with every receiver and starts the heartbeat. Alarms may be added before.
 */
void
hg_scaip_delivery_start (HgScaipDelivery *self)
{
  g_return_if_fail (HG_IS_SCAIP_DELIVERY (self));

  if (self->running)
    return;
  self->running = TRUE;
  self->clock_offset = wall_clock_offset ();
  for (guint i = 0; i < n_receivers (self); i++)
    register_with (self, i);
  schedule_heartbeat (self);
  if (self->link_up)
    flush (self);
}

/**
 * hg_scaip_delivery_stop:
 * @self: an #HgScaipDelivery
 *
 * Stops every timer and ignores answers from now on. Sessions are kept: the core sends
 * the open alarms again when the plugin starts next.
 */
void
hg_scaip_delivery_stop (HgScaipDelivery *self)
{
  GHashTableIter iter;
  Session *s;

  g_return_if_fail (HG_IS_SCAIP_DELIVERY (self));

  self->running = FALSE;
  g_clear_handle_id (&self->probe_id, g_source_remove);
  g_clear_handle_id (&self->failover_id, g_source_remove);
  g_clear_handle_id (&self->heartbeat_id, g_source_remove);
  g_clear_pointer (&self->heartbeat, session_free);
  g_clear_pointer (&self->standby, session_free);
  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&s))
    {
      g_clear_handle_id (&s->timer_id, g_source_remove);
      g_clear_handle_id (&s->deadline_id, g_source_remove);
    }
}

static void
hg_scaip_delivery_dispose (GObject *object)
{
  HgScaipDelivery *self = HG_SCAIP_DELIVERY (object);

  g_cancellable_cancel (self->cancellable);
  hg_scaip_delivery_stop (self);
  if (self->sip != NULL && self->message_id != 0)
    g_clear_signal_handler (&self->message_id, self->sip);
  if (self->sip != NULL && self->registration_id != 0)
    g_clear_signal_handler (&self->registration_id, self->sip);
  g_hash_table_remove_all (self->sessions);
  g_clear_object (&self->sip);
  G_OBJECT_CLASS (hg_scaip_delivery_parent_class)->dispose (object);
}

static void
hg_scaip_delivery_finalize (GObject *object)
{
  HgScaipDelivery *self = HG_SCAIP_DELIVERY (object);

  g_hash_table_unref (self->sessions);
  g_hash_table_unref (self->wire_refs);
  g_free (self->controller_id);
  g_strfreev (self->caller_ids);
  g_object_unref (self->cancellable);
  G_OBJECT_CLASS (hg_scaip_delivery_parent_class)->finalize (object);
}

static void
hg_scaip_delivery_class_init (HgScaipDeliveryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hg_scaip_delivery_dispose;
  object_class->finalize = hg_scaip_delivery_finalize;

  /**
   * HgScaipDelivery::alarm-delivered:
   * @ref: the alarm's reference
   * @receiver: the receiver's index
   * @snu: the status number that showed the ARC has it (0 or 4)
   */
  signals[SIGNAL_ALARM_DELIVERED]
      = g_signal_new ("alarm-delivered", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_UINT, G_TYPE_UINT);
  /**
   * HgScaipDelivery::alarm-acknowledged:
   * @ref: the alarm's reference
   * @receiver: the receiver's index
   */
  signals[SIGNAL_ALARM_ACKNOWLEDGED]
      = g_signal_new ("alarm-acknowledged", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_UINT);
  /**
   * HgScaipDelivery::alarm-failed:
   * @ref: the alarm's reference
   * @type: (nullable): its alarm type
   * @reason: why it is given up: `no-confirmation`, `refused`, `hold-exceeded` or
   *   `message-error`
   * @receivers: the receivers it was aborted at, or that refused it (bit mask)
   *
   * Delivery failed: once per alarm, also across restarts (not for an alarm the core
   * already has as delivery-failed).
   */
  signals[SIGNAL_ALARM_FAILED] = g_signal_new (
      "alarm-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 4, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_UINT);
  /**
   * HgScaipDelivery::changed:
   *
   * What hg_scaip_delivery_dup_fault () or the heartbeat interval says may have changed.
   */
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /**
   * HgScaipDelivery::supervision-changed:
   * @ok: %FALSE when a heartbeat was missed, %TRUE when the line answers again
   * @reason: what happened
   */
  signals[SIGNAL_SUPERVISION_CHANGED]
      = g_signal_new ("supervision-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 2, G_TYPE_BOOLEAN, G_TYPE_STRING);
  /**
   * HgScaipDelivery::standby-supervision-changed:
   * @ok: %FALSE when a heartbeat over the network path not in use was missed, %TRUE when
   *   that path answers again
   * @receiver: the receiver the heartbeat went to
   * @reason: what happened
   */
  signals[SIGNAL_STANDBY_SUPERVISION_CHANGED] = g_signal_new (
      "standby-supervision-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
      NULL, G_TYPE_NONE, 3, G_TYPE_BOOLEAN, G_TYPE_UINT, G_TYPE_STRING);
  /**
   * HgScaipDelivery::voice-requested:
   * @ref: the acknowledged alarm
   * @receiver: the receiver that acknowledged it
   * @mre: the `<mre>` of its answer: 1 duplex, 2 microphone only, 3 speaker only
   * @cre: its `<cre>`: 1-60 minutes of callback, 61 or 62 (see @transfer), or
   *   %HG_SCAIP_OMITTED
   * @transfer: (nullable): with cre 62, the sip: URI of its `<tnu>` the unit is to call
   */
  signals[SIGNAL_VOICE_REQUESTED] = g_signal_new (
      "voice-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 5, G_TYPE_STRING, G_TYPE_UINT, G_TYPE_UINT, G_TYPE_INT, G_TYPE_STRING);
}

static void
hg_scaip_delivery_init (HgScaipDelivery *self)
{
  self->cancellable = g_cancellable_new ();
  self->sessions
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) session_free);
  self->wire_refs = g_hash_table_new (g_str_hash, g_str_equal);
  self->link_up = TRUE;
  self->backoff = 1;
}

/**
 * hg_scaip_delivery_new:
 * @sip: the SIP agent, with its receivers added
 * @config: the timers and the controller's identity; copied
 *
 * Returns: (transfer full): a stopped engine
 */
HgScaipDelivery *
hg_scaip_delivery_new (HgScaipSip *sip,
                       const HgScaipDeliveryConfig *config)
{
  HgScaipDelivery *self;

  g_return_val_if_fail (HG_IS_SCAIP_SIP (sip), NULL);
  g_return_val_if_fail (config != NULL && config->controller_id != NULL, NULL);
  g_return_val_if_fail (hg_scaip_sip_get_n_receivers (sip) > 0, NULL);
  g_return_val_if_fail (config->answer_timeout > 0 && config->retry_max > 0, NULL);

  self = g_object_new (HG_TYPE_SCAIP_DELIVERY, NULL);
  self->sip = g_object_ref (sip);
  self->config = *config;
  self->heartbeat_interval = config->heartbeat_interval;
  self->controller_id = g_strdup (config->controller_id);
  self->caller_ids = g_strdupv ((gchar **) config->caller_ids);
  self->config.controller_id = self->controller_id;
  self->config.caller_ids = (const gchar *const *) self->caller_ids;
  self->message_id
      = g_signal_connect (sip, "message-received", G_CALLBACK (message_received_cb), self);
  self->registration_id
      = g_signal_connect (sip, "registration-changed", G_CALLBACK (registration_changed_cb), self);
  return self;
}
