/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdOwnAlarms: the home's alarms, projected into the personal journal as `alarm.own`.
 *
 * Alarms are municipal records, kept in the municipal journal; the resident sees them in
 * the limited form of GET /api/v1/alarms (note (d) above the route table in hgd-api.c):
 * every alarm of the home, without `detail` (the municipality's notes) and without a
 * source that names someone else. Each time an alarm changes state (`alarm.raised` and
 * `alarm.<state>` in the municipal journal; not `alarm.updated`, which only adds delivery
 * detail), this appends one `alarm.own` event to the personal journal: a projection,
 * durable and replayed by the personal event stream like any other personal event, so
 * the home screen needs no polling.
 *
 * Its body is the alarm as the limited form shows it, with the state the municipal event
 * moved it to: {"ref", "type", "state", "priority", "device"?, "location"?, "source"?,
 * "raised", "updated"}. Nothing municipal-only crosses: `detail` never, and `source` only
 * when it is one of the home's devices (`plugin:<id>`) or a user of the personal domain,
 * never a member of staff. The stream narrows `source` further per viewer, as the limited
 * form does (hgd_own_alarms_narrow_for ()).
 *
 * The projection follows the municipal commit: a crash between the two loses that one
 * `alarm.own` (the alarm itself is safe, and GET /api/v1/alarms shows it). */
#include "config.h"

#include <string.h>

#include "hgd-own-alarms.h"

struct _HgdOwnAlarms
{
  GObject parent_instance;
  HgdJournal *municipal; /* (owned) */
  HgdJournal *personal;  /* (owned) */
  HgdAccounts *accounts; /* (owned) */
};

G_DEFINE_TYPE (HgdOwnAlarms, hgd_own_alarms, G_TYPE_OBJECT)

static gchar *
iso8601_from_usec (gint64 usec)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);

  if (dt == NULL)
    return g_strdup ("");
  return g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ");
}

/* Whether @source is the home's: one of its devices, or a user of the personal domain. */
static gboolean
source_is_the_homes (HgdOwnAlarms *self,
                     const gchar *source)
{
  g_autoptr(GPtrArray) users = NULL;

  if (g_str_has_prefix (source, "plugin:"))
    return TRUE;
  if (!g_str_has_prefix (source, "user:"))
    return FALSE;
  users = hgd_accounts_list_users (self->accounts, HG_DOMAIN_PERSONAL);
  for (guint i = 0; users != NULL && i < users->len; i++)
    {
      HgdUser *user = g_ptr_array_index (users, i);
      if (g_strcmp0 (user->username, source + strlen ("user:")) == 0)
        return TRUE;
    }
  return FALSE;
}

/**
 * hgd_own_alarms_to_json:
 * @self: an #HgdOwnAlarms
 * @alarm: the alarm's record
 * @state: the state its event moved it to
 *
 * Returns: (transfer full): the body of an `alarm.own` event for @alarm
 */
JsonObject *
hgd_own_alarms_to_json (HgdOwnAlarms *self,
                        HgAlarm *alarm,
                        HgAlarmState state)
{
  JsonObject *object;
  const gchar *source;

  g_return_val_if_fail (HGD_IS_OWN_ALARMS (self), NULL);
  g_return_val_if_fail (HG_IS_ALARM (alarm), NULL);

  object = hg_alarm_to_json (alarm);
  json_object_set_string_member (object, "state", hg_alarm_state_to_string (state));
  if (json_object_has_member (object, "detail"))
    json_object_remove_member (object, "detail");
  source = hg_alarm_get_source (alarm);
  if (source != NULL && !source_is_the_homes (self, source))
    json_object_remove_member (object, "source");
  if (hg_alarm_get_raised_time (alarm) > 0)
    {
      g_autofree gchar *raised = iso8601_from_usec (hg_alarm_get_raised_time (alarm));
      g_autofree gchar *updated = iso8601_from_usec (hg_alarm_get_updated_time (alarm));

      json_object_set_string_member (object, "raised", raised);
      json_object_set_string_member (object, "updated", updated);
    }
  return object;
}

/* Copies the members of @from into @to, but @except; the values are shared. */
static void
copy_members (JsonObject *to,
              JsonObject *from,
              const gchar *except)
{
  JsonObjectIter iter;
  const gchar *name;
  JsonNode *value;

  json_object_iter_init (&iter, from);
  while (json_object_iter_next (&iter, &name, &value))
    {
      if (g_strcmp0 (name, except) != 0)
        json_object_set_member (to, name, json_node_ref (value));
    }
}

/**
 * hgd_own_alarms_narrow_for:
 * @event: an event as hg_event_to_json () gives it
 * @username: who the event is for
 *
 * The event as @username may see it: an `alarm.own` whose source is another user of the
 * home loses its `source`, as in the limited form of GET /api/v1/alarms. Every other
 * event is returned as it is.
 *
 * Returns: (transfer full): @event, or a narrowed copy
 */
JsonObject *
hgd_own_alarms_narrow_for (JsonObject *event,
                           const gchar *username)
{
  g_autofree gchar *own = NULL;
  const gchar *type;
  JsonObject *narrowed;
  JsonObject *narrowed_body;
  JsonObject *body;
  const gchar *source;

  g_return_val_if_fail (event != NULL, NULL);

  type = json_object_get_string_member_with_default (event, "type", NULL);
  if (g_strcmp0 (type, "alarm.own") != 0)
    return json_object_ref (event);
  body = json_object_get_object_member (event, "body");
  source = body != NULL ? json_object_get_string_member_with_default (body, "source", NULL) : NULL;
  own = g_strdup_printf ("user:%s", username);
  if (source == NULL || g_str_has_prefix (source, "plugin:") || g_strcmp0 (source, own) == 0)
    return json_object_ref (event);

  /* a new event and body: the caller's event stays as it is */
  narrowed = json_object_new ();
  copy_members (narrowed, event, "body");
  narrowed_body = json_object_new ();
  copy_members (narrowed_body, body, "source");
  json_object_set_object_member (narrowed, "body", narrowed_body);
  return narrowed;
}

static void
own_appended_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!hgd_journal_append_finish (HGD_JOURNAL (source), result, &error))
    g_warning ("cannot project an alarm into the personal journal: %s", error->message);
}

static void
municipal_appended_cb (HgdJournal *journal,
                       HgEvent *event,
                       gpointer user_data)
{
  HgdOwnAlarms *self = HGD_OWN_ALARMS (user_data);
  const gchar *type = hg_event_get_event_type (event);
  JsonObject *body = hg_event_get_body (event);
  const gchar *ref;
  HgAlarmState state;
  g_autoptr(HgAlarm) alarm = NULL;
  g_autoptr(HgEvent) own = NULL;
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_str_has_prefix (type, "alarm.") ||
      !hg_alarm_state_from_string (type + strlen ("alarm."), &state))
    return; /* alarm.updated and every other event: no change of state */
  ref = body != NULL ? json_object_get_string_member_with_default (body, "ref", NULL) : NULL;
  if (ref == NULL)
    return;
  alarm = hgd_journal_get_alarm (self->municipal, ref, &error);
  if (alarm == NULL)
    {
      g_warning ("cannot project alarm %s into the personal journal: %s", ref,
                 error != NULL ? error->message : "no record");
      return;
    }
  object = hgd_own_alarms_to_json (self, alarm, state);
  own = hg_event_new ("alarm.own", object);
  hg_event_set_source (own, "core");
  hgd_journal_append_async (self->personal, own, NULL, NULL, own_appended_cb, NULL);
}

static void
hgd_own_alarms_dispose (GObject *object)
{
  HgdOwnAlarms *self = HGD_OWN_ALARMS (object);

  if (self->municipal != NULL)
    g_signal_handlers_disconnect_by_data (self->municipal, self);
  g_clear_object (&self->municipal);
  g_clear_object (&self->personal);
  g_clear_object (&self->accounts);
  G_OBJECT_CLASS (hgd_own_alarms_parent_class)->dispose (object);
}

static void
hgd_own_alarms_class_init (HgdOwnAlarmsClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = hgd_own_alarms_dispose;
}

static void
hgd_own_alarms_init (HgdOwnAlarms *self)
{
}

/**
 * hgd_own_alarms_new:
 * @municipal: the municipal journal, whose alarms are projected
 * @personal: the personal journal, which receives `alarm.own`
 * @accounts: to tell the personal domain's users from staff
 *
 * Returns: (transfer full): the projection, running until it is disposed
 */
HgdOwnAlarms *
hgd_own_alarms_new (HgdJournal *municipal,
                    HgdJournal *personal,
                    HgdAccounts *accounts)
{
  HgdOwnAlarms *self;

  g_return_val_if_fail (HGD_IS_JOURNAL (municipal), NULL);
  g_return_val_if_fail (HGD_IS_JOURNAL (personal), NULL);
  g_return_val_if_fail (HGD_IS_ACCOUNTS (accounts), NULL);

  self = g_object_new (HGD_TYPE_OWN_ALARMS, NULL);
  self->municipal = g_object_ref (municipal);
  self->personal = g_object_ref (personal);
  self->accounts = g_object_ref (accounts);
  g_signal_connect (municipal, "event-appended", G_CALLBACK (municipal_appended_cb), self);
  return self;
}
