/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgScaipDelivery: the SCAIP exchange rules, as PROTOCOL.md §5-7 chooses them.
 *
 * Each alarm is one Session, a small state machine:
 *
 *   WAITING --send--> SENT --snu 0--> DONE            (delivered + acknowledged)
 *      ^               |  \--snu 4--> HOLD --poll--> SENT  (delivered on the first HOLD)
 *      |               |  \--snu 5/6/error--> next receiver, or WAITING (retry later),
 *      |               |                      or FAILED (message errors everywhere)
 *      +-- no answer --+  (answer-timeout, or a SIP error; then its own backoff)
 *
 * Its requests carry a SCAIP ref: the alarm's own reference, until a receiver ends that
 * session (snu 5 or 6, HOLD beyond hold-max), when it takes a new one, which the owner
 * journals before it goes out. An answer counts only for the request it answers: its
 * ref, from a receiver that ref was sent to (the SIP peer, or the transaction of a
 * 200 OK). HOLD beyond hold-max aborts the ended ref with an RE of its own (KIND_ABORT),
 * whose answer ends only that abort.
 *
 * A cancel turns a session that may have reached the ARC into an abort (mty=RE, same
 * ref), sent through the same machine. Heartbeats are one-shot sessions of their own: one
 * to the active receiver, and with a second network path one to the first receiver on
 * the path not in use (the standby), which supervises that path without ever making it
 * active.
 *
 * The link is one for all sessions: the active receiver is either answering (link up:
 * sessions are sent at once, at most max-in-flight unanswered at a time) or silent (link
 * down: only the oldest waiting session is resent, as a probe, with backoff; after
 * failover-timeout the next receiver becomes active). The first answer on a silent link
 * sends the waiting sessions, oldest first, max-in-flight at a time, so the queue drains
 * in the order the alarms were raised without flooding the receiver.
 *
 * Delivery fails (PROTOCOL.md §6) when an alarm is not acknowledged within
 * delivery-timeout (unless the ARC holds it with HOLD): the engine aborts it with mty=RE at
 * every receiver it went to, tells its owner (alarm-failed: the core records the state
 * delivery-failed, a technical alarm is raised), and goes on in the background under a
 * new ref (session_new_ref ()), journaled like any other, so a restart goes on with it.
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
  KIND_ABORT, /* mty=RE of a ref a receiver ended (HOLD beyond hold-max), one-shot */
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
  gchar *ref;              /* (owned) the core's alarm reference; for heartbeats and
                            * aborts the SCAIP ref */
  const gchar *alarm_type; /* (nullable) interned: one of a few */
  guint64 seq;             /* arrival order */
  HgScaipRequest *request; /* (owned) the first request, as built; its ref is the SCAIP
                            * ref requests carry now (PROTOCOL.md §2) */
  HgScaipMessageType mty;  /* ME, or RE once cancelled; PI for heartbeats */
  SessionState state;
  gboolean minimal; /* send only the mandatory fields (after a message error) */
  gboolean ever_sent;
  gboolean delivered; /* reported */
  guint receiver;     /* of the send in flight, or of the HOLD */
  guint refused;      /* receivers that refused in this round (bit mask) */
  guint errors;       /* receivers that refused the minimal form (bit mask) */
  guint generation;   /* of the send in flight; older answers of SIP are stale */
  guint sent_to;      /* receivers the current ref and mty went to (bit mask): the only
                       * ones whose answer is taken */
  gboolean counted;   /* in the engine's in_flight of its receiver */
  guint attempts;     /* unanswered sends in a row, for the backoff */
  gint64 not_before;  /* monotonic: its backoff (and a Retry-After) ends; 0 for none */
  guint journal_id;   /* a new ref not journaled yet: what it is sent with waits for that,
                       * at most JOURNAL_WAIT_SECONDS */
  gboolean held;      /* a send waits for the journal; to held_receiver */
  guint held_receiver;
  gint64 sent_at;     /* monotonic, of the last send */
  gint64 sent_offset; /* the wall clock's offset (wall_clock_offset ()) at that send */
  gboolean sip_answered; /* the last send got its SIP 2xx */
  gint64 hold_since;  /* monotonic, of the first HOLD; 0 if none */
  guint timer_id;     /* answer timeout, HOLD poll, or retry */
  gint64 deadline;    /* monotonic end of delivery-timeout; 0 for none */
  guint deadline_id;  /* at @deadline */
  gboolean gave_up;   /* delivery failed: now in the background, under a new ref */
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
  GPtrArray *crd;       /* (owned) the <crd>s every alarm's request shares */
  GHashTable *by_ref;   /* (owned) SCAIP ref → Session (unowned): every alarm session */
  GHashTable *unsettled; /* (owned) the Sessions (unowned) of @sessions neither done nor
                          * failed: what flush () looks through, as a confirmed alarm's
                          * session stays in @sessions until the alarm ends */
  GHashTable *aborts;   /* (owned) SCAIP ref → Session: aborts of refs a receiver ended */
  guint in_flight[32];  /* alarm requests sent to each receiver, not yet answered */
  guint pump_id;        /* an idle that sends what waited for a free slot */
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
  SIGNAL_ALARM_REF_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* A change of the wall clock against the monotonic one larger than this is a jump (a
 * step by NTP, an operator's date -s), not the slewing NTP does all the time. */
#define CLOCK_JUMP_USEC G_USEC_PER_SEC

/* How long a new ref waits to be journaled before it is sent all the same: the core's
 * journal takes milliseconds; an alarm is never held for long by its bookkeeping. */
#define JOURNAL_WAIT_SECONDS 2

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

static void schedule_pump (HgScaipDelivery *self);

/* Every change of a session's state goes through here: it keeps the count of requests in
 * flight to each receiver (the bound of `max-in-flight`). */
static void
session_set_state (Session *s, SessionState state)
{
  HgScaipDelivery *self = s->engine;

  if (s->counted)
    {
      self->in_flight[s->receiver]--;
      s->counted = FALSE;
      schedule_pump (self);
    }
  s->state = state;
  if (g_hash_table_lookup (self->sessions, s->ref) != s)
    return; /* a heartbeat, a standby probe, an abort of an ended ref */
  if (state == STATE_DONE || state == STATE_FAILED)
    g_hash_table_remove (self->unsettled, s);
  else
    g_hash_table_add (self->unsettled, s);
}

static void
session_free (Session *s)
{
  HgScaipDelivery *self = s->engine;

  if (s->counted)
    self->in_flight[s->receiver]--;
  g_hash_table_remove (self->unsettled, s);
  if (s->kind == KIND_ALARM && g_hash_table_lookup (self->by_ref, s->request->ref) == s)
    g_hash_table_remove (self->by_ref, s->request->ref);
  g_clear_handle_id (&s->timer_id, g_source_remove);
  g_clear_handle_id (&s->journal_id, g_source_remove);
  g_clear_handle_id (&s->deadline_id, g_source_remove);
  g_free (s->ref);
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
  s->receiver = 0;
  return s;
}

static const gchar *
session_what (Session *s)
{
  if (s->kind == KIND_HEARTBEAT)
    return "heartbeat";
  if (s->kind == KIND_ABORT)
    return "abort of the ended ref";
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

/* Waiting sessions, in no order. */
static GPtrArray *
waiting_sessions (HgScaipDelivery *self)
{
  GPtrArray *waiting = g_ptr_array_new ();
  GHashTableIter iter;
  Session *s;

  g_hash_table_iter_init (&iter, self->unsettled);
  while (g_hash_table_iter_next (&iter, (gpointer *)&s, NULL))
    {
      /* not one whose new ref is on its way to the journal: it has its receiver */
      if (s->state == STATE_WAITING && s->timer_id == 0 && !s->held)
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

static gboolean pump_cb (gpointer user_data);

/* Sends the oldest waiting requests to the active receiver, as many as it may have in
 * flight (max-in-flight); the rest follow as answers free their slots. Returns: how many
 * were waiting. */
static guint
flush (HgScaipDelivery *self)
{
  g_autoptr(GPtrArray) waiting = waiting_sessions (self);
  guint in_flight = self->in_flight[self->active];
  guint slots = in_flight < self->config.max_in_flight ? self->config.max_in_flight - in_flight : 0;
  guint n = MIN (slots, waiting->len);

  /* the n oldest to the front: n is small, the waiting may be thousands */
  for (guint i = 0; i < n; i++)
    {
      guint oldest = i;

      for (guint j = i + 1; j < waiting->len; j++)
        {
          if (compare_seq (&waiting->pdata[j], &waiting->pdata[oldest]) < 0)
            oldest = j;
        }
      if (oldest != i)
        {
          gpointer swap = waiting->pdata[i];

          waiting->pdata[i] = waiting->pdata[oldest];
          waiting->pdata[oldest] = swap;
        }
    }
  for (guint i = 0; i < n; i++)
    {
      Session *s = g_ptr_array_index (waiting, i);
      gint64 wait_us = s->not_before - g_get_monotonic_time ();

      if (wait_us > 0)
        {
          /* in the order raised: the rest wait behind the oldest's own backoff */
          if (self->pump_id == 0)
            self->pump_id = g_timeout_add ((guint)((wait_us + 999) / 1000), pump_cb, self);
          break;
        }
      session_send (s, self->active);
    }
  return waiting->len;
}

/* An answer (any <mrs> for a session of ours) came from @receiver. */
static void
link_answered (HgScaipDelivery *self,
               guint receiver)
{
  guint n_waiting;

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
  n_waiting = flush (self);
  if (n_waiting > 0)
    g_message ("sending %u waiting requests to the %s receiver, oldest first, at most %u at a "
               "time",
               n_waiting, receiver_name (self, self->active), self->config.max_in_flight);
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
  g_clear_handle_id (&self->pump_id, g_source_remove);
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
          session_set_state (s, STATE_WAITING);
        }
      else if (s->state == STATE_WAITING && s->receiver == from)
        {
          /* its backoff (and a Retry-After) was the silent receiver's */
          s->not_before = 0;
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
  return self->in_flight[self->active] > 0;
}

static gboolean
probe_cb (gpointer user_data)
{
  HgScaipDelivery *self = HG_SCAIP_DELIVERY (user_data);
  g_autoptr(GPtrArray) waiting = NULL;
  Session *oldest;
  gint64 wait_us;

  self->probe_id = 0;
  maybe_failover (self);
  if (self->link_up || in_flight_to_active (self))
    return G_SOURCE_REMOVE;
  waiting = waiting_sessions (self);
  if (waiting->len == 0)
    return G_SOURCE_REMOVE;
  g_ptr_array_sort (waiting, compare_seq);
  oldest = g_ptr_array_index (waiting, 0);
  wait_us = oldest->not_before - g_get_monotonic_time ();
  if (wait_us > 0)
    {
      /* its own backoff, or the receiver's Retry-After, is not over */
      self->probe_id = g_timeout_add ((guint)((wait_us + 999) / 1000), probe_cb, self);
      return G_SOURCE_REMOVE;
    }
  session_send (oldest, self->active);
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
  else if (s->kind == KIND_ABORT)
    g_hash_table_remove (self->aborts, s->ref);
  else
    g_hash_table_remove (self->sessions, s->ref);
}

/* The wait before an unanswered request is sent again (PROTOCOL.md §6): 1 s, 2 s, 4 s ...
 * up to retry-max, each drawn between half and all of that so that alarms that failed
 * together are not resent together, and never less than the receiver's Retry-After. */
static guint
backoff_ms (HgScaipDelivery *self, guint attempts, guint retry_after)
{
  guint64 cap = (guint64)self->config.retry_max * 1000;
  guint64 full = MIN (cap, (guint64)1000 << MIN (attempts > 0 ? attempts - 1 : 0, 20u));
  guint64 ms = full / 2 + (guint64)g_random_int_range (0, (gint32)(full / 2) + 1);

  return (guint)MAX (ms, (guint64)retry_after * 1000);
}

static gboolean retry_cb (gpointer user_data);

/* The session got no answer: no <mrs> within answer-timeout, or a SIP error (whose
 * Retry-After, in seconds, is @retry_after). */
static void
session_unanswered (Session *s, const gchar *reason, guint retry_after)
{
  HgScaipDelivery *self = s->engine;
  guint receiver = s->receiver;
  gint64 sent_at = s->sent_at;
  guint delay;

  g_clear_handle_id (&s->timer_id, g_source_remove);
  session_set_state (s, STATE_WAITING);
  s->generation++;
  LOG_REF (G_LOG_LEVEL_INFO, s->ref, "%s %s: no answer from the %s receiver (%s)", session_what (s),
           s->request->ref, receiver_name (self, receiver), reason);
  if (s->kind == KIND_ABORT)
    {
      /* the alarm itself went on to the next receiver; the abort is a courtesy */
      LOG_REF (G_LOG_LEVEL_MESSAGE, s->ref,
               "abort of the ended ref %s not answered by the %s "
               "receiver; not sent again",
               s->ref, receiver_name (self, receiver));
      session_remove (s);
      return;
    }
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
      link_down (self, receiver, sent_at, reason);
      schedule_probe (self);
      return;
    }
  /* e.g. a HOLD at the deadline, then silence */
  if (deadline_passed (s))
    {
      link_down (self, receiver, sent_at, reason);
      give_up (s, "no-confirmation");
      return;
    }
  /* each alarm backs off on its own, so a receiver that comes back is not sent every
   * alarm it missed at once, again and again; they still go in the order raised */
  s->attempts++;
  delay = backoff_ms (self, s->attempts, retry_after);
  s->not_before = g_get_monotonic_time () + (gint64)delay * 1000;
  LOG_REF (retry_after > 0 ? G_LOG_LEVEL_MESSAGE : G_LOG_LEVEL_INFO, s->ref,
           "alarm %s: sent again in %u ms at the earliest%s", s->ref, delay,
           retry_after > 0 ? " (the receiver's Retry-After)" : "");
  link_down (self, receiver, sent_at, reason);
  if (self->link_up)
    schedule_pump (self);
  else
    schedule_probe (self);
}

static void session_send (Session *s, guint receiver);

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
    session_unanswered (s, reason, 0);
  return G_SOURCE_REMOVE;
}

/* One MESSAGE of ours: what its 200 OK may answer. */
typedef struct
{
  HgScaipDelivery *engine; /* (unowned) valid unless the call was cancelled */
  gchar *ref;              /* (owned) the SCAIP ref it carried */
  guint receiver;          /* where it went */
  guint generation;
} SendData;

static void
send_data_free (SendData *data)
{
  g_free (data->ref);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SendData, send_data_free)

static void handle_response_body (HgScaipDelivery *self, const gchar *body, SendData *data);

static Session *
find_session (HgScaipDelivery *self,
              const gchar *ref)
{
  Session *s;

  if (self->heartbeat != NULL && g_strcmp0 (self->heartbeat->ref, ref) == 0)
    return self->heartbeat;
  if (self->standby != NULL && g_strcmp0 (self->standby->ref, ref) == 0)
    return self->standby;
  s = g_hash_table_lookup (self->by_ref, ref);
  if (s != NULL)
    return s;
  return g_hash_table_lookup (self->aborts, ref);
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
  guint retry_after = 0;
  Session *s;

  if (!hg_scaip_sip_send_finish (HG_SCAIP_SIP (source), result, &body, &retry_after, &error)
      && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = data->engine;
  if (!self->running)
    return;
  /* an answer in the 200 OK is an answer to this very request, however late (PROTOCOL.md
   * §4) */
  if (body != NULL)
    handle_response_body (self, body, data);
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
           s->request->ref, receiver_name (self, s->receiver), error->message);
  session_unanswered (s, error->message, retry_after);
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
  if (s->journal_id != 0)
    {
      /* a new ref goes out once it is journaled (hg_scaip_delivery_ref_journaled ()), to
       * the receiver the alternative action chose first */
      g_clear_handle_id (&s->timer_id, g_source_remove);
      session_set_state (s, STATE_WAITING);
      if (!s->held)
        s->held_receiver = receiver;
      s->held = TRUE;
      return;
    }
  if (s->kind == KIND_ALARM && !(s->state == STATE_SENT && s->receiver == receiver)
      && self->in_flight[receiver] >= self->config.max_in_flight)
    {
      /* sent when a request to that receiver is answered (schedule_pump ()) */
      LOG_REF (G_LOG_LEVEL_DEBUG, s->ref,
               "alarm %s waits: %u requests in flight to the %s "
               "receiver already",
               s->ref, self->in_flight[receiver], receiver_name (self, receiver));
      g_clear_handle_id (&s->timer_id, g_source_remove);
      session_set_state (s, STATE_WAITING);
      return;
    }
  if (s->mty == HG_SCAIP_MTY_RE && s->kind == KIND_ALARM)
    request = reduced = hg_scaip_request_new_minimal (s->request, HG_SCAIP_MTY_RE);
  else if (s->minimal)
    request = reduced = hg_scaip_request_new_minimal (s->request, s->mty);
  xml = hg_scaip_request_to_xml (request, &error);
  if (xml == NULL)
    {
      /* built from checked data, so this is a bug; never loop on it */
      LOG_REF (G_LOG_LEVEL_CRITICAL, s->ref, "%s %s cannot be written: %s", session_what (s),
               s->ref, error->message);
      session_set_state (s, STATE_FAILED);
      return;
    }
  g_clear_handle_id (&s->timer_id, g_source_remove);
  session_set_state (s, STATE_SENT);
  s->generation++;
  s->receiver = receiver;
  s->sent_to |= 1u << receiver;
  if (s->kind == KIND_ALARM)
    {
      s->counted = TRUE;
      self->in_flight[receiver]++;
    }
  s->sent_at = g_get_monotonic_time ();
  s->sent_offset = wall_clock_offset ();
  s->sip_answered = FALSE;
  s->ever_sent = TRUE;
  LOG_REF (G_LOG_LEVEL_DEBUG, s->ref, "%s %s sent to the %s receiver as %s", session_what (s),
           s->ref, receiver_name (self, receiver), s->request->ref);

  data = g_new0 (SendData, 1);
  data->engine = self;
  data->ref = g_strdup (s->request->ref);
  data->receiver = receiver;
  data->generation = s->generation;
  s->timer_id = g_timeout_add (self->config.answer_timeout * 1000, answer_timeout_cb, s);
  hg_scaip_sip_send_async (self->sip, receiver, xml, self->cancellable, sent_cb, data);
}

static gboolean
hold_poll_cb (gpointer user_data)
{
  Session *s = user_data;
  HgScaipDelivery *self = s->engine;

  s->timer_id = 0;
  if (self->in_flight[s->receiver] >= self->config.max_in_flight)
    {
      /* the receiver has enough in hand: poll later, still there */
      s->timer_id = g_timeout_add (self->config.hold_interval * 1000, hold_poll_cb, s);
      return G_SOURCE_REMOVE;
    }
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

/* Sends what waits for a free slot at the active receiver, oldest first. */
static gboolean
pump_cb (gpointer user_data)
{
  HgScaipDelivery *self = HG_SCAIP_DELIVERY (user_data);

  self->pump_id = 0;
  if (self->running && self->link_up)
    flush (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_pump (HgScaipDelivery *self)
{
  if (self->pump_id == 0 && self->running && self->link_up)
    self->pump_id = g_idle_add (pump_cb, self);
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

/* The new ref of @s is journaled, or JOURNAL_WAIT_SECONDS passed: what waited for it
 * goes. */
static void
session_ref_journaled (Session *s)
{
  g_clear_handle_id (&s->journal_id, g_source_remove);
  if (!s->held)
    return;
  s->held = FALSE;
  if (s->state == STATE_WAITING && s->timer_id == 0)
    session_send (s, s->held_receiver);
}

static gboolean
journal_wait_cb (gpointer user_data)
{
  Session *s = user_data;

  s->journal_id = 0;
  LOG_REF (G_LOG_LEVEL_WARNING, s->ref,
           "alarm %s: its new ref %s is not journaled after %u s; sending it all the same", s->ref,
           s->request->ref, JOURNAL_WAIT_SECONDS);
  session_ref_journaled (s);
  return G_SOURCE_REMOVE;
}

/* TR 91102 §6.1: a receiver that answered snu 5 or 6, or kept the alarm on HOLD beyond
 * hold-max, ended the session of the current ref; what goes to a receiver next is a new
 * session with a ref of its own. The owner journals the change (PROTOCOL.md §2), and the
 * new ref goes out once it is: a host killed in between goes on with it, never with the
 * ended one. */
static void
session_new_ref (Session *s)
{
  HgScaipDelivery *self = s->engine;
  g_autofree gchar *previous = g_steal_pointer (&s->request->ref);

  g_hash_table_remove (self->by_ref, previous);
  s->request->ref = hg_scaip_new_ref ();
  g_hash_table_insert (self->by_ref, s->request->ref, s);
  s->sent_to = 0;
  g_clear_handle_id (&s->journal_id, g_source_remove);
  s->journal_id = g_timeout_add_seconds (JOURNAL_WAIT_SECONDS, journal_wait_cb, s);
  LOG_REF (G_LOG_LEVEL_MESSAGE, s->ref,
           "alarm %s: the session of ref %s ended at the %s receiver; the next request "
           "carries the new ref %s",
           s->ref, previous, receiver_name (self, s->receiver), s->request->ref);
  g_signal_emit (self, signals[SIGNAL_ALARM_REF_CHANGED], 0, s->ref, s->request->ref, previous);
}

/* The receiver after @from (in the order of PROTOCOL.md §6) that has not refused @s in
 * this round; @from itself when all others have; %G_MAXUINT when it has too. */
static guint
next_receiver (Session *s, guint from)
{
  guint n = n_receivers (s->engine);

  for (guint i = 1; i <= n; i++)
    {
      guint next = (from + i) % n;

      if ((s->refused & (1u << next)) == 0)
        return next;
    }
  return G_MAXUINT;
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
  s->gave_up = TRUE;
  session_new_ref (s);
  LOG_REF (G_LOG_LEVEL_WARNING, s->ref,
           "alarm %s: delivery failed: the alarm centre has not confirmed it within %u s (%s); "
           "aborted (mty=RE) at the %u receivers it went to, retrying in the background "
           "under ref %s",
           s->ref, self->config.delivery_timeout, reason, aborted, s->request->ref);
  g_signal_emit (self, signals[SIGNAL_ALARM_FAILED], 0, s->ref, s->alarm_type, reason, sent_to);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  s->generation++;
  session_set_state (s, STATE_WAITING);
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
  guint next;

  g_clear_handle_id (&s->timer_id, g_source_remove);
  s->hold_since = 0;
  LOG_REF (G_LOG_LEVEL_WARNING, s->ref, "%s %s refused by the %s receiver: snu %s (%s)",
           session_what (s), s->ref, receiver_name (self, receiver), snu,
           hg_scaip_status_to_string (status));
  if (status == HG_SCAIP_STATUS_MESSAGE_ERROR)
    {
      if (!s->minimal && s->mty == HG_SCAIP_MTY_ME)
        {
          /* not the same bytes again: only what every receiver must understand, to the
           * next receiver (PROTOCOL.md §5); this one has not refused that form yet */
          s->minimal = TRUE;
          next = next_receiver (s, receiver);
          LOG_REF (G_LOG_LEVEL_MESSAGE, s->ref,
                   "alarm %s: sending only its mandatory fields to the %s receiver", s->ref,
                   receiver_name (self, next));
          session_set_state (s, STATE_WAITING);
          session_send (s, next);
          return;
        }
      s->errors |= 1u << receiver;
    }
  else if (s->mty == HG_SCAIP_MTY_ME)
    {
      /* snu 5 or 6, or HOLD beyond hold-max: the session of that ref ended there */
      session_new_ref (s);
    }
  s->refused |= 1u << receiver;
  next = next_receiver (s, receiver);
  if (next != G_MAXUINT)
    {
      LOG_REF (G_LOG_LEVEL_MESSAGE, s->ref, "%s %s: trying the %s receiver instead",
               session_what (s), s->ref, receiver_name (self, next));
      session_set_state (s, STATE_WAITING);
      session_send (s, next);
      return;
    }
  s->refused = 0;
  if ((s->errors & all) == all)
    {
      gboolean reported = s->gave_up;

      session_set_state (s, STATE_FAILED);
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
  session_set_state (s, STATE_WAITING);
  s->timer_id = g_timeout_add (self->config.retry_max * 1000, retry_cb, s);
}

/* HOLD for longer than hold-max at @s's receiver: abort that session there with mty=RE
 * and its ref, a request of its own whose answer is matched to it alone; the alarm goes
 * on to the next receiver under a new ref. */
static void
hold_exceeded (Session *s)
{
  HgScaipDelivery *self = s->engine;
  Session *abort_session
      = session_new (self, KIND_ABORT, hg_scaip_request_new_minimal (s->request, HG_SCAIP_MTY_RE));

  LOG_REF (G_LOG_LEVEL_WARNING, s->ref,
           "alarm %s: HOLD for more than %u s; aborting its ref %s at the %s "
           "receiver",
           s->ref, self->config.hold_max, s->request->ref, receiver_name (self, s->receiver));
  g_hash_table_replace (self->aborts, abort_session->ref, abort_session);
  session_send (abort_session, s->receiver);
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

/* The status numbers of SS 91100 Table 2. */
static gboolean
snu_is_known (guint snu)
{
  return snu <= 7 || snu == 10 || snu == 99;
}

/* Which receiver an answer for @s came from: the one whose transaction's 200 OK carried
 * it (@exact), or one of @peers, the receivers the MESSAGE came from; only a receiver
 * the request (its ref and mty) was sent to counts. %G_MAXUINT for none. */
static guint
answering_receiver (Session *s, guint exact, guint peers)
{
  guint candidates = (exact != G_MAXUINT ? 1u << exact : peers) & s->sent_to;

  if (candidates == 0)
    return G_MAXUINT;
  if ((candidates & (1u << s->receiver)) != 0)
    return s->receiver;
  return (guint)g_bit_nth_lsf (candidates, -1);
}

/* An <mrs> came in the 200 OK of our request to the receiver @exact, or, with @exact
 * %G_MAXUINT, in a MESSAGE from @peer (the receivers @peers). Returns: the SIP status
 * for that MESSAGE: 200, or 403 when it is not the sender's to give. */
static guint
handle_response (
    HgScaipDelivery *self, HgScaipResponse *response, guint exact, guint peers, const gchar *peer)
{
  Session *s = find_session (self, response->ref);
  HgScaipStatus status = hg_scaip_status_from_snu (response->snu);
  guint receiver;
  gint64 now = g_get_monotonic_time ();

  if (s == NULL)
    {
      LOG_REF (G_LOG_LEVEL_MESSAGE, response->ref, "response for unknown ref %s (snu %s) ignored",
               response->ref, response->snu_raw);
      return 200;
    }
  receiver = answering_receiver (s, exact, peers);
  if (receiver == G_MAXUINT)
    {
      /* [C] TR 91102 §7.5, PROTOCOL.md §1: only the receiver the request went to answers
       * it; anyone else could acknowledge an alarm no one holds */
      LOG_REF (G_LOG_LEVEL_WARNING, s->ref,
               "<mrs> for %s %s (ref %s, snu %s) from %s refused with 403: it was not sent "
               "there (sent to the %s receiver)",
               session_what (s), s->ref, response->ref, response->snu_raw,
               exact != G_MAXUINT ? receiver_name (self, exact) : peer,
               receiver_name (self, s->receiver));
      return 403;
    }
  if (s->state == STATE_DONE || s->state == STATE_FAILED)
    {
      LOG_REF (G_LOG_LEVEL_DEBUG, s->ref, "late response for %s %s (snu %s) ignored",
               session_what (s), s->ref, response->snu_raw);
      return 200;
    }
  if (!snu_is_known (response->snu))
    {
      /* nothing is ended by a number the standard does not define: the answer timeout
       * keeps running, and without a valid answer the request is sent again */
      LOG_REF (G_LOG_LEVEL_WARNING, s->ref,
               "%s %s: the %s receiver answered snu %s, which SS 91100 does not define; "
               "ignored, still waiting for an answer",
               session_what (s), s->ref, receiver_name (self, receiver), response->snu_raw);
      return 200;
    }
  if (receiver != s->receiver && status != HG_SCAIP_STATUS_OK)
    {
      LOG_REF (G_LOG_LEVEL_MESSAGE, s->ref,
               "late answer snu %s for %s %s from the %s receiver ignored: it is in the "
               "hands of the %s receiver now",
               response->snu_raw, session_what (s), s->ref, receiver_name (self, receiver),
               receiver_name (self, s->receiver));
      return 200;
    }
  if (receiver != s->receiver && s->counted)
    {
      /* a late acknowledgement from the receiver before: the slot it frees is the other's */
      self->in_flight[s->receiver]--;
      s->counted = FALSE;
      schedule_pump (self);
    }
  s->receiver = receiver;
  s->attempts = 0;
  s->not_before = 0;

  if (s->kind == KIND_ABORT)
    {
      /* an RE's answer never acknowledges the alarm (PROTOCOL.md §5) */
      LOG_REF (G_LOG_LEVEL_MESSAGE, s->ref, "ended ref %s aborted at the %s receiver (snu %s)",
               s->ref, receiver_name (self, receiver), response->snu_raw);
      g_clear_handle_id (&s->timer_id, g_source_remove);
      session_remove (s);
      return 200;
    }
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
          return 200;
        }
      /* only an <mrs> to a heartbeat ends a missed supervision: answers to alarms do not,
       * or an ARC that answers alarms and not heartbeats would make one outage a technical
       * alarm every interval (PROTOCOL.md §7) */
      if (receiver == self->active)
        supervision_ok (self);
      heartbeat_interval_from_arc (self, response, receiver);
      link_answered (self, receiver);
      return 200;
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
      session_set_state (s, STATE_DONE);
      /* confirmed: its delivery deadline is past caring (deadline_cb () ignores a done
       * session). Its source would stay attached for delivery-timeout seconds after
       * each alarm, and the main loop walks every source at every turn: at 1,000 alarms/s
       * that was 60,000 of them. */
      g_clear_handle_id (&s->deadline_id, g_source_remove);
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
      session_set_state (s, STATE_HOLD);
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
  return 200;
}

static void
handle_response_body (HgScaipDelivery *self, const gchar *body, SendData *data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HgScaipResponse) response = hg_scaip_response_parse (body, strlen (body), &error);

  if (response == NULL)
    {
      g_warning ("SCAIP response in a 200 OK refused: %s", error->message);
      return;
    }
  if (g_strcmp0 (response->ref, data->ref) != 0)
    {
      /* the transaction says which request this answers: not another one */
      LOG_REF (G_LOG_LEVEL_WARNING, data->ref,
               "<mrs> in the 200 OK of the %s receiver to ref %s names ref %s; ignored",
               receiver_name (self, data->receiver), data->ref, response->ref);
      return;
    }
  handle_response (self, response, data->receiver, 0, NULL);
}

static guint
message_received_cb (HgScaipSip *sip,
                     const gchar *body,
                     guint length,
                     guint peers,
                     const gchar *peer,
                     HgScaipDelivery *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HgScaipResponse) response = NULL;

  if (!self->running)
    return 503;
  response = hg_scaip_response_parse (body, length, &error);
  if (response == NULL)
    {
      g_warning ("SCAIP response in a MESSAGE refused: %s (from %s)", error->message, peer);
      return 400;
    }
  return handle_response (self, response, G_MAXUINT, peers, peer);
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

/* The SCAIP ref the alarm's record says its requests carry now: the member
 * `delivery.scaip-ref` of its detail, as hg_scaip_delivery_describe_ref () made it and the
 * core keeps it; %NULL when it has none (the alarm's own reference). */
static const gchar *
delivery_scaip_ref (HgAlarm *alarm)
{
  JsonObject *detail = hg_alarm_get_detail (alarm);
  JsonNode *delivery;
  JsonNode *ref;

  if (detail == NULL || (delivery = json_object_get_member (detail, "delivery")) == NULL
      || !JSON_NODE_HOLDS_OBJECT (delivery)
      || (ref = json_object_get_member (json_node_get_object (delivery), "scaip-ref")) == NULL
      || json_node_get_value_type (ref) != G_TYPE_STRING
      || !hg_scaip_ref_is_valid (json_node_get_string (ref)))
    return NULL;
  return json_node_get_string (ref);
}

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
  const gchar *scaip_ref;
  Session *s;

  request = hg_scaip_request_new_for_alarm (
      alarm, self->controller_id, quiet ? no_voice : (const gchar *const *)self->caller_ids, error);
  if (request == NULL)
    return NULL;
  /* [C] SS 91100 §5 rule 8: the ARC calls back */
  if (self->config.callback && !quiet)
    request->cha = 1;
  s = session_new (self, KIND_ALARM, request);
  s->alarm_type = g_intern_string (hg_alarm_get_alarm_type (alarm));
  /* what every alarm's request has alike is kept once (PROTOCOL.md §6, memory) */
  if (request->crd->len == self->crd->len)
    {
      gboolean same = TRUE;

      for (guint i = 0; i < request->crd->len && same; i++)
        same = g_strcmp0 (g_ptr_array_index (request->crd, i), g_ptr_array_index (self->crd, i))
               == 0;
      if (same)
        {
          g_ptr_array_unref (request->crd);
          request->crd = g_ptr_array_ref (self->crd);
        }
    }
  /* the ref a receiver's ended session made it take last (PROTOCOL.md §2), as journaled */
  scaip_ref = delivery_scaip_ref (alarm);
  if (scaip_ref != NULL && g_strcmp0 (scaip_ref, request->ref) != 0)
    {
      LOG_REF (G_LOG_LEVEL_INFO, s->ref, "alarm %s goes on under its SCAIP ref %s", s->ref,
               scaip_ref);
      g_free (request->ref);
      request->ref = g_strdup (scaip_ref);
    }
  g_hash_table_insert (self->sessions, s->ref, s);
  g_hash_table_insert (self->by_ref, s->request->ref, s);
  if (s->state != STATE_DONE && s->state != STATE_FAILED)
    g_hash_table_add (self->unsettled, s);
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
      session_set_state (s, STATE_DONE);
      s->ever_sent = TRUE;
      s->delivered = TRUE;
      return TRUE;
    }
  s->delivered = state == HG_ALARM_STATE_DELIVERED;
  if (state == HG_ALARM_STATE_DELIVERY_FAILED)
    {
      /* failed before a restart: reported, its technical alarm raised, its ref aborted;
       * it goes on under the ref journaled after the abort (delivery_scaip_ref ()) */
      s->delivered = TRUE;
      s->gave_up = TRUE;
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
  session_set_state (s, STATE_WAITING);
  s->generation++;
  s->sent_to = 0;
  s->attempts = 0;
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

/**
 * hg_scaip_delivery_describe_ref:
 * @scaip_ref: the SCAIP ref an alarm's requests carry from now on
 * @previous: (nullable): the ref whose session a receiver ended
 *
 * The detail of the report that journals an alarm's new SCAIP ref
 * (#HgScaipDelivery::alarm-ref-changed): `{"delivery": {"scaip-ref": ..., "previous-scaip-ref":
 * ...}}`. The core keeps the member `delivery` in the alarm's record, and a restarted host
 * reads `scaip-ref` back from it (hg_scaip_delivery_add_alarm ()).
 *
 * Returns: (transfer full): the detail
 */
JsonObject *
hg_scaip_delivery_describe_ref (const gchar *scaip_ref, const gchar *previous)
{
  JsonObject *detail = json_object_new ();
  JsonObject *delivery = json_object_new ();

  g_return_val_if_fail (scaip_ref != NULL, NULL);

  json_object_set_string_member (delivery, "scaip-ref", scaip_ref);
  if (previous != NULL)
    json_object_set_string_member (delivery, "previous-scaip-ref", previous);
  json_object_set_object_member (detail, "delivery", delivery);
  return detail;
}

/**
 * hg_scaip_delivery_ref_journaled:
 * @self: an #HgScaipDelivery
 * @ref: the alarm's reference
 * @scaip_ref: the SCAIP ref of #HgScaipDelivery::alarm-ref-changed
 *
 * The core journaled (or could not journal) @scaip_ref: the alarm's requests with it go
 * out now. Without this call they go JOURNAL_WAIT_SECONDS after the change.
 */
void
hg_scaip_delivery_ref_journaled (HgScaipDelivery *self, const gchar *ref, const gchar *scaip_ref)
{
  Session *s;

  g_return_if_fail (HG_IS_SCAIP_DELIVERY (self));
  g_return_if_fail (ref != NULL && scaip_ref != NULL);

  s = g_hash_table_lookup (self->sessions, ref);
  if (s != NULL && g_strcmp0 (s->request->ref, scaip_ref) == 0)
    session_ref_journaled (s);
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
  g_clear_handle_id (&self->pump_id, g_source_remove);
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
  g_hash_table_remove_all (self->aborts);
  g_clear_object (&self->sip);
  G_OBJECT_CLASS (hg_scaip_delivery_parent_class)->dispose (object);
}

static void
hg_scaip_delivery_finalize (GObject *object)
{
  HgScaipDelivery *self = HG_SCAIP_DELIVERY (object);

  g_hash_table_unref (self->sessions);
  g_hash_table_unref (self->aborts);
  g_hash_table_unref (self->by_ref);
  g_hash_table_unref (self->unsettled);
  g_free (self->controller_id);
  g_strfreev (self->caller_ids);
  g_clear_pointer (&self->crd, g_ptr_array_unref);
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
  /**
   * HgScaipDelivery::alarm-ref-changed:
   * @ref: the alarm's reference
   * @scaip_ref: the SCAIP ref its requests carry from now on
   * @previous: the ref whose session a receiver ended
   *
   * To be journaled (hg_scaip_delivery_describe_ref ()), so that a restarted host goes on
   * with @scaip_ref.
   */
  signals[SIGNAL_ALARM_REF_CHANGED]
      = g_signal_new ("alarm-ref-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_VOICE_REQUESTED] = g_signal_new (
      "voice-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 5, G_TYPE_STRING, G_TYPE_UINT, G_TYPE_UINT, G_TYPE_INT, G_TYPE_STRING);
}

static void
hg_scaip_delivery_init (HgScaipDelivery *self)
{
  self->cancellable = g_cancellable_new ();
  /* keyed by the session's own ref, which lives as long as it */
  self->sessions
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)session_free);
  self->by_ref = g_hash_table_new (g_str_hash, g_str_equal);
  self->unsettled = g_hash_table_new (NULL, NULL);
  self->aborts
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)session_free);
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
  g_return_val_if_fail (config->max_in_flight > 0, NULL);
  g_return_val_if_fail (hg_scaip_sip_get_n_receivers (sip) <= 32, NULL);

  self = g_object_new (HG_TYPE_SCAIP_DELIVERY, NULL);
  self->sip = g_object_ref (sip);
  self->config = *config;
  self->heartbeat_interval = config->heartbeat_interval;
  self->controller_id = g_strdup (config->controller_id);
  self->caller_ids = g_strdupv ((gchar **) config->caller_ids);
  self->crd = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; self->caller_ids != NULL && self->caller_ids[i] != NULL; i++)
    g_ptr_array_add (self->crd, g_strdup (self->caller_ids[i]));
  self->config.controller_id = self->controller_id;
  self->config.caller_ids = (const gchar *const *) self->caller_ids;
  self->message_id
      = g_signal_connect (sip, "message-received", G_CALLBACK (message_received_cb), self);
  self->registration_id
      = g_signal_connect (sip, "registration-changed", G_CALLBACK (registration_changed_cb), self);
  return self;
}
