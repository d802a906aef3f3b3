/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the alarm life cycle's table (hgd-alarm-lifecycle.c): every (from, to, caller)
 * cell against a rule written out here independently, in words and with the test's own
 * copy of the order an alarm passes its states, so that a changed cell fails here. */
#include "config.h"

#include "hgd-alarm-lifecycle.h"

/* The order in which an alarm passes its states: raised, delivered, delivery-failed,
 * acknowledged, speech-connected, dispatched, attended, closed, cancelled. */
static guint
rank (HgAlarmState state)
{
  static const HgAlarmState order[] = {
    HG_ALARM_STATE_RAISED,           HG_ALARM_STATE_DELIVERED,  HG_ALARM_STATE_DELIVERY_FAILED,
    HG_ALARM_STATE_ACKNOWLEDGED,     HG_ALARM_STATE_SPEECH_CONNECTED,
    HG_ALARM_STATE_DISPATCHED,       HG_ALARM_STATE_ATTENDED,   HG_ALARM_STATE_CLOSED,
    HG_ALARM_STATE_CANCELLED,
  };

  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    {
      if (order[i] == state)
        return i;
    }
  g_assert_not_reached ();
}

static gboolean
is_final (HgAlarmState state)
{
  return state == HG_ALARM_STATE_CLOSED || state == HG_ALARM_STATE_CANCELLED;
}

/* What a delivery plugin reports: the delivery steps up to the voice call; raised only
 * as a late report that carries its `delivery` state. */
static gboolean
is_delivery_state (HgAlarmState state)
{
  return state == HG_ALARM_STATE_RAISED || state == HG_ALARM_STATE_DELIVERED
         || state == HG_ALARM_STATE_DELIVERY_FAILED || state == HG_ALARM_STATE_ACKNOWLEDGED
         || state == HG_ALARM_STATE_SPEECH_CONNECTED;
}

/* The rule as the API and the plugin documentation state it. */
static HgdAlarmStep
expected_step (HgAlarmState from,
               HgAlarmState to,
               HgdAlarmCaller caller)
{
  switch (caller)
    {
    case HGD_ALARM_CALLER_RESIDENT:
      /* only cancels, at any point until the alarm is final */
      if (to != HG_ALARM_STATE_CANCELLED)
        return HGD_ALARM_STEP_ILLEGAL;
      if (from == HG_ALARM_STATE_CANCELLED)
        return HGD_ALARM_STEP_REPEAT;
      return is_final (from) ? HGD_ALARM_STEP_ILLEGAL : HGD_ALARM_STEP_MOVE;
    case HGD_ALARM_CALLER_STAFF:
    case HGD_ALARM_CALLER_CORE:
      /* any step forward out of a state that is not final */
      if (from == to)
        return HGD_ALARM_STEP_REPEAT;
      if (is_final (from) || rank (to) < rank (from))
        return HGD_ALARM_STEP_ILLEGAL;
      return HGD_ALARM_STEP_MOVE;
    case HGD_ALARM_CALLER_DELIVERY_PLUGIN:
      /* the delivery steps forward; an earlier one late, for its `delivery` detail */
      if (!is_delivery_state (to))
        return HGD_ALARM_STEP_ILLEGAL;
      if (from == to)
        return HGD_ALARM_STEP_REPEAT;
      if (rank (to) < rank (from))
        return HGD_ALARM_STEP_LATE;
      return is_final (from) ? HGD_ALARM_STEP_ILLEGAL : HGD_ALARM_STEP_MOVE;
    case HGD_ALARM_CALLER_LAST:
    default:
      g_assert_not_reached ();
    }
}

static void
test_every_cell (void)
{
  guint n_legal = 0;

  g_test_bug ("14");
  g_test_summary ("Every (from, to, caller) cell of the table is the step the documented rule "
                  "gives: residents only cancel; staff and the core take any step forward "
                  "until the alarm is final; a delivery plugin reports delivered, "
                  "delivery-failed, acknowledged and speech-connected forward, and earlier "
                  "states late; nothing leaves closed or cancelled");

  for (guint caller = 0; caller < HGD_ALARM_CALLER_LAST; caller++)
    for (guint from = 0; from < HG_ALARM_STATE_LAST; from++)
      for (guint to = 0; to < HG_ALARM_STATE_LAST; to++)
        {
          HgdAlarmStep expected = expected_step (from, to, caller);
          HgdAlarmStep step = hgd_alarm_lifecycle_get_step (from, to, caller);

          if (step != expected)
            g_test_message ("%s: %s -> %s is %d, expected %d", hgd_alarm_caller_to_string (caller),
                            hg_alarm_state_to_string (from), hg_alarm_state_to_string (to), step,
                            expected);
          g_assert_cmpint (step, ==, expected);
          if (step != HGD_ALARM_STEP_ILLEGAL)
            n_legal++;
        }
  /* the rule above has this many legal cells: a table that allows nothing fails here too */
  g_assert_cmpuint (n_legal, ==, 8 + 44 + 44 + 45);
}

static void
test_scaip_reports (void)
{
  g_test_bug ("14");
  g_test_summary ("What the scaip-alarm plugin reports stays legal: delivered, delivery-failed "
                  "and then acknowledged once the background delivery gets through, "
                  "speech-connected, and raised or delivered again with a new SCAIP ref after "
                  "staff moved the alarm on or it ended");

  g_assert_cmpint (hgd_alarm_lifecycle_get_step (HG_ALARM_STATE_RAISED, HG_ALARM_STATE_DELIVERED,
                                                 HGD_ALARM_CALLER_DELIVERY_PLUGIN),
                   ==, HGD_ALARM_STEP_MOVE);
  g_assert_cmpint (hgd_alarm_lifecycle_get_step (HG_ALARM_STATE_DELIVERED,
                                                 HG_ALARM_STATE_DELIVERY_FAILED,
                                                 HGD_ALARM_CALLER_DELIVERY_PLUGIN),
                   ==, HGD_ALARM_STEP_MOVE);
  g_assert_cmpint (hgd_alarm_lifecycle_get_step (HG_ALARM_STATE_DELIVERY_FAILED,
                                                 HG_ALARM_STATE_ACKNOWLEDGED,
                                                 HGD_ALARM_CALLER_DELIVERY_PLUGIN),
                   ==, HGD_ALARM_STEP_MOVE);
  g_assert_cmpint (hgd_alarm_lifecycle_get_step (HG_ALARM_STATE_ACKNOWLEDGED,
                                                 HG_ALARM_STATE_SPEECH_CONNECTED,
                                                 HGD_ALARM_CALLER_DELIVERY_PLUGIN),
                   ==, HGD_ALARM_STEP_MOVE);
  g_assert_cmpint (hgd_alarm_lifecycle_get_step (HG_ALARM_STATE_DELIVERY_FAILED,
                                                 HG_ALARM_STATE_DELIVERED,
                                                 HGD_ALARM_CALLER_DELIVERY_PLUGIN),
                   ==, HGD_ALARM_STEP_LATE);
  g_assert_cmpint (hgd_alarm_lifecycle_get_step (HG_ALARM_STATE_DISPATCHED, HG_ALARM_STATE_RAISED,
                                                 HGD_ALARM_CALLER_DELIVERY_PLUGIN),
                   ==, HGD_ALARM_STEP_LATE);
  g_assert_cmpint (hgd_alarm_lifecycle_get_step (HG_ALARM_STATE_CLOSED, HG_ALARM_STATE_RAISED,
                                                 HGD_ALARM_CALLER_DELIVERY_PLUGIN),
                   ==, HGD_ALARM_STEP_LATE);
}

static void
test_plugin_limits (void)
{
  static const HgAlarmState people_only[] = {
    HG_ALARM_STATE_DISPATCHED,
    HG_ALARM_STATE_ATTENDED,
    HG_ALARM_STATE_CLOSED,
    HG_ALARM_STATE_CANCELLED,
  };

  g_test_bug ("14");
  g_test_summary ("A delivery plugin can neither dispatch, attend, close nor cancel an alarm, "
                  "from any state; staff can");

  for (guint i = 0; i < G_N_ELEMENTS (people_only); i++)
    {
      g_assert_false (
          hgd_alarm_lifecycle_may_reach (people_only[i], HGD_ALARM_CALLER_DELIVERY_PLUGIN));
      g_assert_true (hgd_alarm_lifecycle_may_reach (people_only[i], HGD_ALARM_CALLER_STAFF));
      for (guint from = 0; from < HG_ALARM_STATE_LAST; from++)
        g_assert_cmpint (hgd_alarm_lifecycle_get_step (from, people_only[i],
                                                       HGD_ALARM_CALLER_DELIVERY_PLUGIN),
                         ==, HGD_ALARM_STEP_ILLEGAL);
    }
}

static void
test_may_reach (void)
{
  g_test_bug ("14");
  g_test_summary ("The states a caller may ask for at all, which the HTTP API checks before it "
                  "looks at the alarm: a resident only cancelled; staff every state");

  for (guint to = 0; to < HG_ALARM_STATE_LAST; to++)
    {
      g_assert_cmpint (hgd_alarm_lifecycle_may_reach (to, HGD_ALARM_CALLER_RESIDENT), ==,
                       to == HG_ALARM_STATE_CANCELLED);
      g_assert_true (hgd_alarm_lifecycle_may_reach (to, HGD_ALARM_CALLER_STAFF));
      g_assert_cmpint (hgd_alarm_lifecycle_may_reach (to, HGD_ALARM_CALLER_DELIVERY_PLUGIN), ==,
                       is_delivery_state (to));
    }
  g_assert_cmpstr (hgd_alarm_caller_to_string (HGD_ALARM_CALLER_DELIVERY_PLUGIN), ==,
                   "delivery-plugin");
  g_assert_null (hgd_alarm_caller_to_string (HGD_ALARM_CALLER_LAST));
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/alarm-lifecycle/every-cell", test_every_cell);
  g_test_add_func ("/alarm-lifecycle/scaip-reports-legal", test_scaip_reports);
  g_test_add_func ("/alarm-lifecycle/plugin-cannot-end-alarms", test_plugin_limits);
  g_test_add_func ("/alarm-lifecycle/may-reach", test_may_reach);
  return g_test_run ();
}
