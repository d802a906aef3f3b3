/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgAlarm: type, device, location, priority and detail; the core adds reference and state. */
#include "config.h"

#include "hg-alarm-private.h"
#include "hg-error.h"
#include "hg-json.h"

struct _HgAlarm
{
  GObject parent_instance;
  gchar *reference;   /* (owned) (nullable) */
  gchar *type;        /* (owned) */
  HgAlarmState state;
  gchar *source;      /* (owned) (nullable) */
  gchar *device;      /* (owned) (nullable) */
  gchar *location;    /* (owned) (nullable) */
  guint priority;
  JsonObject *detail; /* (owned) (nullable) */
  gint64 raised;      /* µs since the epoch; 0 when not from the journal */
  gint64 updated;     /* µs since the epoch; 0 when not from the journal */
};

/**
 * HgAlarm:
 *
 * A social alarm: what a plugin raises with hg_context_raise_alarm_async() and what a
 * delivery plugin receives in the body of an `alarm.raised` event.
 *
 * A plugin sets the type, device, location, priority and detail; the core gives the
 * alarm its reference, state and source when it journals it, and only the core moves its
 * state on (#HgAlarmState).
 *
 * Since: 1.0
 */
G_DEFINE_TYPE (HgAlarm, hg_alarm, G_TYPE_OBJECT)

static const gchar *const state_names[] = {
  "raised",   "delivered", "acknowledged", "speech-connected", "dispatched",
  "attended", "closed",    "cancelled",    "delivery-failed",
};
G_STATIC_ASSERT (G_N_ELEMENTS (state_names) == HG_ALARM_STATE_LAST);

/* The place of each state in the life cycle: values are appended to the enum as the API
 * grows, so its order is not the enum's. */
static const guint state_ranks[] = {
  [HG_ALARM_STATE_RAISED] = 0,           [HG_ALARM_STATE_DELIVERED] = 1,
  [HG_ALARM_STATE_DELIVERY_FAILED] = 2,  [HG_ALARM_STATE_ACKNOWLEDGED] = 3,
  [HG_ALARM_STATE_SPEECH_CONNECTED] = 4, [HG_ALARM_STATE_DISPATCHED] = 5,
  [HG_ALARM_STATE_ATTENDED] = 6,         [HG_ALARM_STATE_CLOSED] = 7,
  [HG_ALARM_STATE_CANCELLED] = 8,
};
G_STATIC_ASSERT (G_N_ELEMENTS (state_ranks) == HG_ALARM_STATE_LAST);

/* The alarm types a resident, a sensor rule or IT can raise (issue: alarm sources). */
static const gchar *const alarm_types[] = {
  "assistance", "fall", "fire", "water", "inactivity", "door", "technical", "test", NULL,
};

/**
 * hg_alarm_state_to_string:
 * @state: an #HgAlarmState
 *
 * Names @state as the HTTP API, the journal and the event bodies write it.
 *
 * Returns: the stable name used in the API and the journal, e.g. `acknowledged`
 *
 * Since: 1.0
 */
const gchar *
hg_alarm_state_to_string (HgAlarmState state)
{
  if ((guint) state >= HG_ALARM_STATE_LAST)
    return NULL;
  return state_names[state];
}

/**
 * hg_alarm_state_from_string:
 * @str: (nullable): a state name
 * @state: (out): the state
 *
 * Reads a state name, as hg_alarm_state_to_string() writes it.
 *
 * Returns: %TRUE if @str names a state
 *
 * Since: 1.0
 */
gboolean
hg_alarm_state_from_string (const gchar *str,
                            HgAlarmState *state)
{
  for (guint i = 0; str != NULL && i < G_N_ELEMENTS (state_names); i++)
    {
      if (g_strcmp0 (str, state_names[i]) == 0)
        {
          *state = (HgAlarmState) i;
          return TRUE;
        }
    }
  return FALSE;
}

/**
 * hg_alarm_state_is_final:
 * @state: an #HgAlarmState
 *
 * Whether an alarm in @state can still change: closed and cancelled alarms cannot.
 *
 * Returns: %TRUE for closed and cancelled
 *
 * Since: 1.0
 */
gboolean
hg_alarm_state_is_final (HgAlarmState state)
{
  return state == HG_ALARM_STATE_CLOSED || state == HG_ALARM_STATE_CANCELLED;
}

/**
 * hg_alarm_state_compare:
 * @a: an #HgAlarmState
 * @b: another
 *
 * Compares two states by the order in which an alarm passes them: raised, delivered,
 * delivery-failed, acknowledged, speech-connected, dispatched, attended, closed,
 * cancelled; e.g. a delivery plugin tells with it whether the alarm centre already has
 * an alarm (acknowledged or later). Which transitions the core allows is its own table,
 * not this order.
 *
 * Returns: a negative number if @a comes before @b, 0 if they are equal, positive after
 *
 * Since: 1.0
 */
gint
hg_alarm_state_compare (HgAlarmState a, HgAlarmState b)
{
  g_return_val_if_fail ((guint)a < HG_ALARM_STATE_LAST, 0);
  g_return_val_if_fail ((guint)b < HG_ALARM_STATE_LAST, 0);
  return (gint)state_ranks[a] - (gint)state_ranks[b];
}

/**
 * hg_alarm_type_is_valid:
 * @type: (nullable): an alarm type
 *
 * Whether @type is one of the alarm types hemgate knows.
 *
 * Returns: %TRUE for `assistance`, `fall`, `fire`, `water`, `inactivity`, `door`,
 *   `technical` and `test`
 *
 * Since: 1.0
 */
gboolean
hg_alarm_type_is_valid (const gchar *type)
{
  return type != NULL && g_strv_contains (alarm_types, type);
}

static void
hg_alarm_finalize (GObject *object)
{
  HgAlarm *self = HG_ALARM (object);

  g_free (self->reference);
  g_free (self->type);
  g_free (self->source);
  g_free (self->device);
  g_free (self->location);
  g_clear_pointer (&self->detail, json_object_unref);
  G_OBJECT_CLASS (hg_alarm_parent_class)->finalize (object);
}

static void
hg_alarm_class_init (HgAlarmClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hg_alarm_finalize;
}

static void
hg_alarm_init (HgAlarm *self)
{
}

/**
 * hg_alarm_new:
 * @alarm_type: see hg_alarm_type_is_valid()
 *
 * Creates an alarm of type @alarm_type, with no device, location, priority or detail
 * yet. The core gives it its reference, state and source when it journals it.
 *
 * Returns: (transfer full): a new alarm to pass to hg_context_raise_alarm_async()
 *
 * Since: 1.0
 */
HgAlarm *
hg_alarm_new (const gchar *alarm_type)
{
  HgAlarm *self;

  g_return_val_if_fail (hg_alarm_type_is_valid (alarm_type), NULL);
  self = g_object_new (HG_TYPE_ALARM, NULL);
  self->type = g_strdup (alarm_type);
  return self;
}

/**
 * hg_alarm_new_from_json:
 * @object: the wire form, see hg_alarm_to_json()
 * @error: return location for a #GError
 *
 * Reads an alarm from untrusted JSON, e.g. the body of an `alarm.raised` event.
 *
 * Returns: (transfer full): the alarm, or %NULL with %HG_ERROR_INVALID_DATA
 *
 * Since: 1.0
 */
HgAlarm *
hg_alarm_new_from_json (JsonObject *object,
                        GError **error)
{
  static const gchar *const members[] = {
    "ref", "type", "state", "source", "device", "location", "priority", "detail", NULL,
  };
  const gchar *type = NULL;
  const gchar *ref = NULL;
  const gchar *state = NULL;
  const gchar *source = NULL;
  const gchar *device = NULL;
  const gchar *location = NULL;
  gint64 priority = 0;
  g_autoptr(HgAlarm) self = NULL;

  g_return_val_if_fail (object != NULL, NULL);

  if (!hg_json_object_check_members (object, members, error) ||
      !hg_json_object_get_string (object, "type", &type, error) ||
      !hg_json_object_get_optional_string (object, "ref", &ref, error) ||
      !hg_json_object_get_optional_string (object, "state", &state, error) ||
      !hg_json_object_get_optional_string (object, "source", &source, error) ||
      !hg_json_object_get_optional_string (object, "device", &device, error) ||
      !hg_json_object_get_optional_string (object, "location", &location, error) ||
      !hg_json_object_get_optional_int (object, "priority", 0, 9, &priority, error))
    return NULL;
  if (!hg_alarm_type_is_valid (type))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "unknown alarm type '%s'", type);
      return NULL;
    }
  /* not hg_alarm_new (): the type is checked above, and this cannot return NULL */
  self = g_object_new (HG_TYPE_ALARM, NULL);
  self->type = g_strdup (type);
  if (state != NULL && !hg_alarm_state_from_string (state, &self->state))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "unknown alarm state '%s'", state);
      return NULL;
    }
  if (json_object_has_member (object, "detail"))
    {
      JsonObject *detail = NULL;
      if (!hg_json_object_get_object (object, "detail", &detail, error))
        return NULL;
      self->detail = json_object_ref (detail);
    }
  self->reference = g_strdup (ref);
  self->source = g_strdup (source);
  self->device = g_strdup (device);
  self->location = g_strdup (location);
  self->priority = (guint) priority;
  return g_steal_pointer (&self);
}

/**
 * hg_alarm_to_json:
 * @self: an #HgAlarm
 *
 * Writes the alarm's wire form, which hg_alarm_new_from_json() reads.
 *
 * Returns: (transfer full): `{"ref", "type", "state", "source", "device", "location",
 *   "priority", "detail"}`, omitting unset members
 *
 * Since: 1.0
 */
JsonObject *
hg_alarm_to_json (HgAlarm *self)
{
  JsonObject *object;

  g_return_val_if_fail (HG_IS_ALARM (self), NULL);

  object = json_object_new ();
  if (self->reference != NULL)
    json_object_set_string_member (object, "ref", self->reference);
  json_object_set_string_member (object, "type", self->type);
  json_object_set_string_member (object, "state", hg_alarm_state_to_string (self->state));
  if (self->source != NULL)
    json_object_set_string_member (object, "source", self->source);
  if (self->device != NULL)
    json_object_set_string_member (object, "device", self->device);
  if (self->location != NULL)
    json_object_set_string_member (object, "location", self->location);
  json_object_set_int_member (object, "priority", self->priority);
  if (self->detail != NULL)
    json_object_set_object_member (object, "detail", json_object_ref (self->detail));
  return object;
}

/**
 * hg_alarm_get_reference:
 * @self: an #HgAlarm
 *
 * Gets the reference the core gave the alarm when it journaled it.
 *
 * Returns: (nullable): the unique reference the core gave the alarm; the alarm
 *   centre de-duplicates on it
 *
 * Since: 1.0
 */
const gchar *
hg_alarm_get_reference (HgAlarm *self)
{
  g_return_val_if_fail (HG_IS_ALARM (self), NULL);
  return self->reference;
}

/**
 * hg_alarm_get_alarm_type:
 * @self: an #HgAlarm
 *
 * Gets the alarm type, e.g. `fall`; see hg_alarm_type_is_valid().
 *
 * Returns: the alarm type
 *
 * Since: 1.0
 */
const gchar *
hg_alarm_get_alarm_type (HgAlarm *self)
{
  g_return_val_if_fail (HG_IS_ALARM (self), NULL);
  return self->type;
}

/**
 * hg_alarm_get_state:
 * @self: an #HgAlarm
 *
 * Gets where the alarm stands in its life cycle.
 *
 * Returns: where the alarm stands
 *
 * Since: 1.0
 */
HgAlarmState
hg_alarm_get_state (HgAlarm *self)
{
  g_return_val_if_fail (HG_IS_ALARM (self), HG_ALARM_STATE_RAISED);
  return self->state;
}

/**
 * hg_alarm_get_source:
 * @self: an #HgAlarm
 *
 * Gets who raised the alarm, as the core recorded it.
 *
 * Returns: (nullable): who raised it, `plugin:<id>` or `user:<name>`
 *
 * Since: 1.0
 */
const gchar *
hg_alarm_get_source (HgAlarm *self)
{
  g_return_val_if_fail (HG_IS_ALARM (self), NULL);
  return self->source;
}

/**
 * hg_alarm_get_device:
 * @self: an #HgAlarm
 *
 * Gets the device that triggered the alarm, e.g. a fall sensor's id.
 *
 * Returns: (nullable): the device that triggered it
 *
 * Since: 1.0
 */
const gchar *
hg_alarm_get_device (HgAlarm *self)
{
  g_return_val_if_fail (HG_IS_ALARM (self), NULL);
  return self->device;
}

/**
 * hg_alarm_set_device:
 * @self: an #HgAlarm
 * @device: (nullable): the device that triggered it
 *
 * Sets the device that triggered the alarm.
 *
 * Since: 1.0
 */
void
hg_alarm_set_device (HgAlarm *self,
                     const gchar *device)
{
  g_return_if_fail (HG_IS_ALARM (self));
  g_free (self->device);
  self->device = g_strdup (device);
}

/**
 * hg_alarm_get_location:
 * @self: an #HgAlarm
 *
 * Gets the room the alarm comes from.
 *
 * Returns: (nullable): the room, e.g. `bedroom`
 *
 * Since: 1.0
 */
const gchar *
hg_alarm_get_location (HgAlarm *self)
{
  g_return_val_if_fail (HG_IS_ALARM (self), NULL);
  return self->location;
}

/**
 * hg_alarm_set_location:
 * @self: an #HgAlarm
 * @location: (nullable): the room
 *
 * Sets the room the alarm comes from, e.g. `bedroom`.
 *
 * Since: 1.0
 */
void
hg_alarm_set_location (HgAlarm *self,
                       const gchar *location)
{
  g_return_if_fail (HG_IS_ALARM (self));
  g_free (self->location);
  self->location = g_strdup (location);
}

/*
 * hg_alarm_set_times:
 * @self: an #HgAlarm
 * @raised: when the alarm was raised, in µs since the epoch
 * @updated: when it last changed state, in µs since the epoch
 *
 * Sets the times the core's journal keeps for the alarm. They are not part of
 * hg_alarm_to_json (): the HTTP API adds them to what it shows.
 */
void
hg_alarm_set_times (HgAlarm *self,
                    gint64 raised,
                    gint64 updated)
{
  g_return_if_fail (HG_IS_ALARM (self));
  self->raised = raised;
  self->updated = updated;
}

/*
 * hg_alarm_get_raised_time:
 * @self: an #HgAlarm
 *
 * Returns: when the alarm was raised, in µs since the epoch; 0 if unknown
 */
gint64
hg_alarm_get_raised_time (HgAlarm *self)
{
  g_return_val_if_fail (HG_IS_ALARM (self), 0);
  return self->raised;
}

/*
 * hg_alarm_get_updated_time:
 * @self: an #HgAlarm
 *
 * Returns: when the alarm last changed state, in µs since the epoch; 0 if unknown
 */
gint64
hg_alarm_get_updated_time (HgAlarm *self)
{
  g_return_val_if_fail (HG_IS_ALARM (self), 0);
  return self->updated;
}

/**
 * hg_alarm_get_priority:
 * @self: an #HgAlarm
 *
 * Gets the alarm's priority.
 *
 * Returns: 0 (lowest) to 9 (highest), as SCAIP `pri`
 *
 * Since: 1.0
 */
guint
hg_alarm_get_priority (HgAlarm *self)
{
  g_return_val_if_fail (HG_IS_ALARM (self), 0);
  return self->priority;
}

/**
 * hg_alarm_set_priority:
 * @self: an #HgAlarm
 * @priority: 0 to 9; larger values are clamped to 9
 *
 * Sets the alarm's priority.
 *
 * Since: 1.0
 */
void
hg_alarm_set_priority (HgAlarm *self,
                       guint priority)
{
  g_return_if_fail (HG_IS_ALARM (self));
  self->priority = MIN (priority, 9);
}

/**
 * hg_alarm_get_detail:
 * @self: an #HgAlarm
 *
 * Gets the extra facts a plugin attached to the alarm.
 *
 * Returns: (transfer none) (nullable): extra facts, e.g. the sensor reading that fired
 *
 * Since: 1.0
 */
JsonObject *
hg_alarm_get_detail (HgAlarm *self)
{
  g_return_val_if_fail (HG_IS_ALARM (self), NULL);
  return self->detail;
}

/**
 * hg_alarm_set_detail:
 * @self: an #HgAlarm
 * @detail: (nullable): extra facts
 *
 * Attaches extra facts to the alarm, e.g. the sensor reading that fired; the alarm
 * takes a reference to @detail.
 *
 * Since: 1.0
 */
void
hg_alarm_set_detail (HgAlarm *self,
                     JsonObject *detail)
{
  g_return_if_fail (HG_IS_ALARM (self));
  g_clear_pointer (&self->detail, json_object_unref);
  if (detail != NULL)
    self->detail = json_object_ref (detail);
}

void
hg_alarm_set_reference (HgAlarm *self,
                        const gchar *reference)
{
  g_return_if_fail (HG_IS_ALARM (self));
  g_free (self->reference);
  self->reference = g_strdup (reference);
}

void
hg_alarm_set_state (HgAlarm *self,
                    HgAlarmState state)
{
  g_return_if_fail (HG_IS_ALARM (self));
  self->state = state;
}

void
hg_alarm_set_source (HgAlarm *self,
                     const gchar *source)
{
  g_return_if_fail (HG_IS_ALARM (self));
  g_free (self->source);
  self->source = g_strdup (source);
}
