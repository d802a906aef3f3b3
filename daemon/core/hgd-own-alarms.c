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
 * The projection is made from the record as the municipal append left it
 * (HgdJournal::alarm-recorded), not read back, and follows the municipal commit: the
 * projections of one main-loop iteration (all the steps of one group commit of the
 * municipal journal) are appended in one transaction of the personal journal when that
 * iteration's dispatch is done. A crash between the two loses those `alarm.own` (the
 * alarms themselves are safe, and GET /api/v1/alarms shows them). */
#include "config.h"

#include <string.h>

#include "hgd-own-alarms.h"

struct _HgdOwnAlarms
{
  GObject parent_instance;
  HgdJournal *municipal; /* (owned) */
  HgdJournal *personal;  /* (owned) */
  HgdAccounts *accounts; /* (owned) */
  GPtrArray *pending;    /* (owned) (element-type HgEvent) projections not yet appended */
  GSource *flush_source; /* (owned) (nullable) appends @pending after the current dispatch */
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

/* Appends the projections gathered so far, in one personal transaction. */
static void
flush_pending (HgdOwnAlarms *self)
{
  g_autoptr(GPtrArray) pending = NULL;

  if (self->flush_source != NULL)
    {
      g_source_destroy (self->flush_source);
      g_clear_pointer (&self->flush_source, g_source_unref);
    }
  if (self->pending->len == 0)
    return;
  pending = g_steal_pointer (&self->pending);
  self->pending = g_ptr_array_new_with_free_func (g_object_unref);
  hgd_journal_begin_group (self->personal);
  for (guint i = 0; i < pending->len; i++)
    hgd_journal_append_async (self->personal, g_ptr_array_index (pending, i), NULL, NULL,
                              own_appended_cb, NULL);
  hgd_journal_end_group (self->personal);
}

static gboolean
flush_cb (gpointer user_data)
{
  flush_pending (HGD_OWN_ALARMS (user_data));
  return G_SOURCE_REMOVE;
}

static void
alarm_recorded_cb (HgdJournal *journal,
                   HgEvent *event,
                   HgAlarm *record,
                   gpointer user_data)
{
  HgdOwnAlarms *self = HGD_OWN_ALARMS (user_data);
  const gchar *type = hg_event_get_event_type (event);
  g_autoptr(JsonObject) object = NULL;
  HgEvent *own;
  HgAlarmState state;

  if (!g_str_has_prefix (type, "alarm.") ||
      !hg_alarm_state_from_string (type + strlen ("alarm."), &state))
    return; /* alarm.updated: no change of state */
  object = hgd_own_alarms_to_json (self, record, state);
  own = hg_event_new ("alarm.own", object);
  hg_event_set_source (own, "core");
  g_ptr_array_add (self->pending, own);
  if (self->flush_source != NULL)
    return;
  /* G_PRIORITY_DEFAULT: after the journal's completions now dispatching, in the next
   * iteration at the latest */
  self->flush_source = g_idle_source_new ();
  g_source_set_priority (self->flush_source, G_PRIORITY_DEFAULT);
  g_source_set_callback (self->flush_source, flush_cb, self, NULL);
  g_source_set_static_name (self->flush_source, "[hemgated] alarm.own projections");
  g_source_attach (self->flush_source, g_main_context_get_thread_default ());
}

static void
hgd_own_alarms_dispose (GObject *object)
{
  HgdOwnAlarms *self = HGD_OWN_ALARMS (object);

  if (self->municipal != NULL)
    g_signal_handlers_disconnect_by_data (self->municipal, self);
  /* what waits is appended still: the personal journal is flushed after this at a stop */
  if (self->personal != NULL)
    flush_pending (self);
  g_clear_object (&self->municipal);
  g_clear_object (&self->personal);
  g_clear_object (&self->accounts);
  G_OBJECT_CLASS (hgd_own_alarms_parent_class)->dispose (object);
}

static void
hgd_own_alarms_finalize (GObject *object)
{
  HgdOwnAlarms *self = HGD_OWN_ALARMS (object);

  g_ptr_array_unref (self->pending);
  G_OBJECT_CLASS (hgd_own_alarms_parent_class)->finalize (object);
}

static void
hgd_own_alarms_class_init (HgdOwnAlarmsClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = hgd_own_alarms_dispose;
  G_OBJECT_CLASS (klass)->finalize = hgd_own_alarms_finalize;
}

static void
hgd_own_alarms_init (HgdOwnAlarms *self)
{
  self->pending = g_ptr_array_new_with_free_func (g_object_unref);
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
  g_signal_connect (municipal, "alarm-recorded", G_CALLBACK (alarm_recorded_cb), self);
  return self;
}
