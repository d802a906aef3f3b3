/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The alarm life cycle as one table, keyed by (from state, to state, kind of caller): the
 * one place to change who may move an alarm where. HgdAlarms checks every transition
 * against it, whether a resident or staff asked over the HTTP API or a delivery plugin
 * reported by ReportAlarm; the order of HgAlarmState decides nothing here. */
#include "config.h"

#include "hgd-alarm-lifecycle.h"

/* The order of the columns (and of the rows as written), for reading only. */
static const HgAlarmState columns[] = {
  HG_ALARM_STATE_RAISED,       HG_ALARM_STATE_DELIVERED,        HG_ALARM_STATE_DELIVERY_FAILED,
  HG_ALARM_STATE_ACKNOWLEDGED, HG_ALARM_STATE_SPEECH_CONNECTED, HG_ALARM_STATE_DISPATCHED,
  HG_ALARM_STATE_ATTENDED,     HG_ALARM_STATE_CLOSED,           HG_ALARM_STATE_CANCELLED,
};
G_STATIC_ASSERT (G_N_ELEMENTS (columns) == HG_ALARM_STATE_LAST);

/* A row: one cell per column, separated by spaces. */
typedef gchar Row[2 * HG_ALARM_STATE_LAST];

/*
 * One matrix per kind of caller: the row is the state the alarm is in, the column the
 * state asked for.
 *
 *   >  the alarm moves (HGD_ALARM_STEP_MOVE)
 *   =  it is there already: nothing moves (HGD_ALARM_STEP_REPEAT)
 *   <  a report of an earlier state, kept only for its `delivery` detail (HGD_ALARM_STEP_LATE)
 *   .  illegal (HGD_ALARM_STEP_ILLEGAL)
 *
 * Closed and cancelled are final (hg_alarm_state_is_final ()): nothing leaves them, and a
 * final alarm's record no longer changes.
 */

/* clang-format off */

/* Municipal users: any step forward, cancelling included, until the alarm is final. */
static const Row staff[HG_ALARM_STATE_LAST] = {
  /*                                  raised delivered delivery-failed acknowledged
   *                                  speech-connected dispatched attended closed cancelled
   *                                   r d f a s p t c x */
  [HG_ALARM_STATE_RAISED]           = "= > > > > > > > >",
  [HG_ALARM_STATE_DELIVERED]        = ". = > > > > > > >",
  [HG_ALARM_STATE_DELIVERY_FAILED]  = ". . = > > > > > >",
  [HG_ALARM_STATE_ACKNOWLEDGED]     = ". . . = > > > > >",
  [HG_ALARM_STATE_SPEECH_CONNECTED] = ". . . . = > > > >",
  [HG_ALARM_STATE_DISPATCHED]       = ". . . . . = > > >",
  [HG_ALARM_STATE_ATTENDED]         = ". . . . . . = > >",
  [HG_ALARM_STATE_CLOSED]           = ". . . . . . . = .",
  [HG_ALARM_STATE_CANCELLED]        = ". . . . . . . . =",
};

/* The resident only cancels, at any point until the alarm is final. Which alarms (their
 * own, or the home's devices', never a technical one) is the route table's rule (e). */
static const Row resident[HG_ALARM_STATE_LAST] = {
  /*                                   r d f a s p t c x */
  [HG_ALARM_STATE_RAISED]           = ". . . . . . . . >",
  [HG_ALARM_STATE_DELIVERED]        = ". . . . . . . . >",
  [HG_ALARM_STATE_DELIVERY_FAILED]  = ". . . . . . . . >",
  [HG_ALARM_STATE_ACKNOWLEDGED]     = ". . . . . . . . >",
  [HG_ALARM_STATE_SPEECH_CONNECTED] = ". . . . . . . . >",
  [HG_ALARM_STATE_DISPATCHED]       = ". . . . . . . . >",
  [HG_ALARM_STATE_ATTENDED]         = ". . . . . . . . >",
  [HG_ALARM_STATE_CLOSED]           = ". . . . . . . . .",
  [HG_ALARM_STATE_CANCELLED]        = ". . . . . . . . =",
};

/* A delivery plugin reports the delivery steps, up to the voice call: delivered,
 * delivery-failed (it gave up prompt delivery, and goes on in the background),
 * acknowledged, speech-connected. Reports arrive late (a host restarted, staff moved the
 * alarm on meanwhile), and a plugin keeps its own state of the alarm in the record's
 * `delivery` detail, e.g. the SCAIP ref it goes on with after a session ended, by a
 * report of the current or an earlier state. */
static const Row delivery_plugin[HG_ALARM_STATE_LAST] = {
  /*                                   r d f a s p t c x */
  [HG_ALARM_STATE_RAISED]           = "= > > > > . . . .",
  [HG_ALARM_STATE_DELIVERED]        = "< = > > > . . . .",
  [HG_ALARM_STATE_DELIVERY_FAILED]  = "< < = > > . . . .",
  [HG_ALARM_STATE_ACKNOWLEDGED]     = "< < < = > . . . .",
  [HG_ALARM_STATE_SPEECH_CONNECTED] = "< < < < = . . . .",
  [HG_ALARM_STATE_DISPATCHED]       = "< < < < < . . . .",
  [HG_ALARM_STATE_ATTENDED]         = "< < < < < . . . .",
  [HG_ALARM_STATE_CLOSED]           = "< < < < < . . . .",
  [HG_ALARM_STATE_CANCELLED]        = "< < < < < . . . .",
};

/* hemgated itself: as staff. */
static const Row core[HG_ALARM_STATE_LAST] = {
  /*                                   r d f a s p t c x */
  [HG_ALARM_STATE_RAISED]           = "= > > > > > > > >",
  [HG_ALARM_STATE_DELIVERED]        = ". = > > > > > > >",
  [HG_ALARM_STATE_DELIVERY_FAILED]  = ". . = > > > > > >",
  [HG_ALARM_STATE_ACKNOWLEDGED]     = ". . . = > > > > >",
  [HG_ALARM_STATE_SPEECH_CONNECTED] = ". . . . = > > > >",
  [HG_ALARM_STATE_DISPATCHED]       = ". . . . . = > > >",
  [HG_ALARM_STATE_ATTENDED]         = ". . . . . . = > >",
  [HG_ALARM_STATE_CLOSED]           = ". . . . . . . = .",
  [HG_ALARM_STATE_CANCELLED]        = ". . . . . . . . =",
};

/* clang-format on */

static const struct
{
  const gchar *name;
  const Row *rows;
} callers[] = {
  [HGD_ALARM_CALLER_RESIDENT] = { "resident", resident },
  [HGD_ALARM_CALLER_STAFF] = { "staff", staff },
  [HGD_ALARM_CALLER_DELIVERY_PLUGIN] = { "delivery-plugin", delivery_plugin },
  [HGD_ALARM_CALLER_CORE] = { "core", core },
};
G_STATIC_ASSERT (G_N_ELEMENTS (callers) == HGD_ALARM_CALLER_LAST);

static guint
column_of (HgAlarmState state)
{
  for (guint i = 0; i < G_N_ELEMENTS (columns); i++)
    {
      if (columns[i] == state)
        return i;
    }
  g_return_val_if_reached (0);
}

/**
 * hgd_alarm_lifecycle_get_step:
 * @from: the state the alarm is in
 * @to: the state asked for
 * @caller: who asks
 *
 * Returns: what the request does, by the table above; %HGD_ALARM_STEP_ILLEGAL for a
 *   state or caller out of range
 */
HgdAlarmStep
hgd_alarm_lifecycle_get_step (HgAlarmState from,
                              HgAlarmState to,
                              HgdAlarmCaller caller)
{
  g_return_val_if_fail ((guint) from < HG_ALARM_STATE_LAST, HGD_ALARM_STEP_ILLEGAL);
  g_return_val_if_fail ((guint) to < HG_ALARM_STATE_LAST, HGD_ALARM_STEP_ILLEGAL);
  g_return_val_if_fail ((guint) caller < HGD_ALARM_CALLER_LAST, HGD_ALARM_STEP_ILLEGAL);

  switch (callers[caller].rows[from][2 * column_of (to)])
    {
    case '>':
      return HGD_ALARM_STEP_MOVE;
    case '=':
      return HGD_ALARM_STEP_REPEAT;
    case '<':
      return HGD_ALARM_STEP_LATE;
    default:
      return HGD_ALARM_STEP_ILLEGAL;
    }
}

/**
 * hgd_alarm_lifecycle_may_reach:
 * @to: a state
 * @caller: who asks
 *
 * Whether @caller may ask for @to at all, from some state: the HTTP API refuses a request
 * for a state its caller can never set (403) before it looks at the alarm.
 *
 * Returns: %TRUE if some row of @caller's matrix has a cell other than illegal for @to
 */
gboolean
hgd_alarm_lifecycle_may_reach (HgAlarmState to,
                               HgdAlarmCaller caller)
{
  g_return_val_if_fail ((guint) to < HG_ALARM_STATE_LAST, FALSE);
  g_return_val_if_fail ((guint) caller < HGD_ALARM_CALLER_LAST, FALSE);

  for (guint from = 0; from < HG_ALARM_STATE_LAST; from++)
    {
      if (hgd_alarm_lifecycle_get_step ((HgAlarmState) from, to, caller) != HGD_ALARM_STEP_ILLEGAL)
        return TRUE;
    }
  return FALSE;
}

/**
 * hgd_alarm_caller_to_string:
 * @caller: a kind of caller
 *
 * Returns: (nullable): e.g. `delivery-plugin`, for log lines and messages
 */
const gchar *
hgd_alarm_caller_to_string (HgdAlarmCaller caller)
{
  if ((guint) caller >= HGD_ALARM_CALLER_LAST)
    return NULL;
  return callers[caller].name;
}
