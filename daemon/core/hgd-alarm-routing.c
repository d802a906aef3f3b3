/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdAlarmRouting: which alarm delivery instance takes which alarm, when more than one
 * provider's delivery plugin runs side by side. `[alarms] delivery` names the instance
 * for social alarms (every type but `technical`), `[alarms] technical-delivery` the one
 * for technical alarms (default: the same); it-admin may switch either at run time
 * (PUT /api/v1/alarms/delivery), kept in the municipal state directory over the
 * configuration. Unset, every running delivery instance takes every alarm, as before.
 *
 * An alarm is bound to the instance that first takes it and stays with it until it ends,
 * so a switch moves no alarm that is on its way: the instance it left keeps running and
 * sees each of its alarms to acknowledgement, new alarms go to the new one, and every
 * alarm reaches one alarm centre once. Only when the bound instance is gone (stopped,
 * disabled, failed, removed: hgd_alarm_routing_release ()) does the alarm move to the
 * instance routed now; with that one not running either, any running delivery instance
 * takes it, so that no alarm waits for a provider that is not there. Bindings live in
 * memory: after a restart of hemgated the open alarms are offered again by the routing
 * of the moment, at least once as before. */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>

#include "hgd-alarm-routing.h"

struct _HgdAlarmRouting
{
  GObject parent_instance;
  HgdConfig *config;    /* (owned) */
  gchar *state_path;    /* (owned) (nullable) the override it-admin set */
  gchar *delivery;      /* (owned) (nullable) */
  gchar *technical;     /* (owned) (nullable) */
  GHashTable *bindings; /* (owned) reference -> instance id */
  HgdAlarmRoutingAliveFunc alive;
  gpointer alive_data;
};

G_DEFINE_TYPE (HgdAlarmRouting, hgd_alarm_routing, G_TYPE_OBJECT)

static gchar *
non_empty (gchar *value)
{
  if (value != NULL && value[0] == '\0')
    g_clear_pointer (&value, g_free);
  return value;
}

static void
hgd_alarm_routing_finalize (GObject *object)
{
  HgdAlarmRouting *self = HGD_ALARM_ROUTING (object);

  g_clear_object (&self->config);
  g_free (self->state_path);
  g_free (self->delivery);
  g_free (self->technical);
  g_hash_table_unref (self->bindings);
  G_OBJECT_CLASS (hgd_alarm_routing_parent_class)->finalize (object);
}

static void
hgd_alarm_routing_class_init (HgdAlarmRoutingClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hgd_alarm_routing_finalize;
}

static void
hgd_alarm_routing_init (HgdAlarmRouting *self)
{
  self->bindings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

/**
 * hgd_alarm_routing_new:
 * @config: the configuration (`[alarms] delivery`, `technical-delivery`)
 *
 * Returns: (transfer full): the routing the configuration says
 */
HgdAlarmRouting *
hgd_alarm_routing_new (HgdConfig *config)
{
  HgdAlarmRouting *self = g_object_new (HGD_TYPE_ALARM_ROUTING, NULL);

  self->config = g_object_ref (config);
  self->delivery = non_empty (g_strdup (hgd_config_get_string (config, "alarms", "delivery")));
  self->technical
      = non_empty (g_strdup (hgd_config_get_string (config, "alarms", "technical-delivery")));
  return self;
}

/**
 * hgd_alarm_routing_load_state:
 * @self: the routing
 * @state_path: where it-admin's choice is kept over the configuration's
 *
 * Takes it-admin's choice, if there is one.
 */
void
hgd_alarm_routing_load_state (HgdAlarmRouting *self,
                              const gchar *state_path)
{
  g_autoptr(GKeyFile) saved = g_key_file_new ();
  g_autoptr(GError) error = NULL;

  g_return_if_fail (HGD_IS_ALARM_ROUTING (self));
  g_free (self->state_path);
  self->state_path = g_strdup (state_path);
  if (!g_key_file_load_from_file (saved, state_path, G_KEY_FILE_NONE, &error))
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_warning ("cannot read %s, alarm delivery as configured: %s", state_path,
                   error->message);
      return;
    }
  g_free (self->delivery);
  self->delivery = non_empty (g_key_file_get_string (saved, "alarms", "delivery", NULL));
  g_free (self->technical);
  self->technical = non_empty (g_key_file_get_string (saved, "alarms", "technical-delivery", NULL));
}

/**
 * hgd_alarm_routing_set_alive_func:
 * @self: the routing
 * @func: says whether an instance is running to take its alarms
 * @user_data: for @func
 */
void
hgd_alarm_routing_set_alive_func (HgdAlarmRouting *self,
                                  HgdAlarmRoutingAliveFunc func,
                                  gpointer user_data)
{
  g_return_if_fail (HGD_IS_ALARM_ROUTING (self));
  self->alive = func;
  self->alive_data = user_data;
}

static gboolean
is_alive (HgdAlarmRouting *self,
          const gchar *instance_id)
{
  return self->alive == NULL || self->alive (instance_id, self->alive_data);
}

/**
 * hgd_alarm_routing_get_route:
 * @self: the routing
 * @alarm_type: (nullable): an alarm's type
 *
 * Returns: (nullable): the delivery instance new alarms of @alarm_type go to, or %NULL
 *   when every running one takes them
 */
const gchar *
hgd_alarm_routing_get_route (HgdAlarmRouting *self,
                             const gchar *alarm_type)
{
  g_return_val_if_fail (HGD_IS_ALARM_ROUTING (self), NULL);
  if (g_strcmp0 (alarm_type, "technical") == 0 && self->technical != NULL)
    return self->technical;
  return self->delivery;
}

/**
 * hgd_alarm_routing_to_json:
 * @self: the routing
 *
 * Returns: (transfer full): {"delivery", "technical_delivery"} (each nullable: every
 *   running delivery instance; technical_delivery %NULL is `delivery`'s) and "open":
 *   how many open alarms are bound to each instance
 */
JsonObject *
hgd_alarm_routing_to_json (HgdAlarmRouting *self)
{
  JsonObject *object = json_object_new ();
  JsonObject *open = json_object_new ();
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (HGD_IS_ALARM_ROUTING (self), object);
  if (self->delivery != NULL)
    json_object_set_string_member (object, "delivery", self->delivery);
  else
    json_object_set_null_member (object, "delivery");
  if (self->technical != NULL)
    json_object_set_string_member (object, "technical_delivery", self->technical);
  else
    json_object_set_null_member (object, "technical_delivery");
  g_hash_table_iter_init (&iter, self->bindings);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      gint64 n = json_object_get_int_member_with_default (open, value, 0);
      json_object_set_int_member (open, value, n + 1);
    }
  json_object_set_object_member (object, "open", open);
  return object;
}

/**
 * hgd_alarm_routing_set:
 * @self: the routing
 * @delivery: (nullable): the instance for social alarms, or %NULL for every one
 * @technical_delivery: (nullable): the instance for technical alarms, or %NULL for
 *   @delivery
 * @error: return location for a #GError
 *
 * Switches where new alarms go and keeps it over the configuration; alarms on their way
 * stay with the instance they are bound to.
 *
 * Returns: %TRUE if kept
 */
gboolean
hgd_alarm_routing_set (HgdAlarmRouting *self,
                       const gchar *delivery,
                       const gchar *technical_delivery,
                       GError **error)
{
  g_autoptr(GKeyFile) saved = g_key_file_new ();
  g_autofree gchar *data = NULL;
  gsize length = 0;

  g_return_val_if_fail (HGD_IS_ALARM_ROUTING (self), FALSE);
  g_return_val_if_fail (self->state_path != NULL, FALSE);
  g_key_file_set_string (saved, "alarms", "delivery", delivery != NULL ? delivery : "");
  g_key_file_set_string (saved, "alarms", "technical-delivery",
                         technical_delivery != NULL ? technical_delivery : "");
  data = g_key_file_to_data (saved, &length, NULL);
  if (!g_file_set_contents_full (self->state_path, data, (gssize) length,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0600, error))
    return FALSE;
  g_free (self->delivery);
  self->delivery = non_empty (g_strdup (delivery));
  g_free (self->technical);
  self->technical = non_empty (g_strdup (technical_delivery));
  return TRUE;
}

/**
 * hgd_alarm_routing_takes:
 * @self: the routing
 * @instance_id: a delivery instance
 * @reference: an open alarm's reference
 * @alarm_type: (nullable): its type
 * @bind: whether @instance_id is about to be given the alarm: then it is bound to it
 *
 * Returns: whether @instance_id is the instance to deliver the alarm
 */
gboolean
hgd_alarm_routing_takes (HgdAlarmRouting *self,
                         const gchar *instance_id,
                         const gchar *reference,
                         const gchar *alarm_type,
                         gboolean bind)
{
  const gchar *bound;
  const gchar *route;
  gboolean takes;

  g_return_val_if_fail (HGD_IS_ALARM_ROUTING (self), TRUE);
  bound = reference != NULL ? g_hash_table_lookup (self->bindings, reference) : NULL;
  if (bound != NULL && is_alive (self, bound))
    return g_strcmp0 (bound, instance_id) == 0;
  route = hgd_alarm_routing_get_route (self, alarm_type);
  if (route == NULL)
    return TRUE;
  if (is_alive (self, route))
    takes = g_strcmp0 (route, instance_id) == 0;
  else
    takes = is_alive (self, instance_id); /* the routed one is not there: any that is */
  if (takes && bind && reference != NULL)
    g_hash_table_replace (self->bindings, g_strdup (reference), g_strdup (instance_id));
  return takes;
}

/**
 * hgd_alarm_routing_takes_event:
 * @self: the routing
 * @instance_id: a running delivery instance
 * @event: an alarm.* event of the municipal journal
 *
 * Whether @event goes to @instance_id: a new alarm binds it (to the routed instance),
 * the later events of an alarm go to the instance it is bound to (and its end, once
 * offered to each, unbinds it: hgd_alarm_routing_event_offered ()).
 *
 * Returns: %TRUE if @instance_id is to have @event
 */
gboolean
hgd_alarm_routing_takes_event (HgdAlarmRouting *self,
                               const gchar *instance_id,
                               HgEvent *event)
{
  JsonObject *body = hg_event_get_body (event);
  JsonObject *alarm = body;
  const gchar *type = hg_event_get_event_type (event);
  const gchar *reference;
  const gchar *alarm_type;

  g_return_val_if_fail (HGD_IS_ALARM_ROUTING (self), TRUE);
  if (body == NULL || !g_str_has_prefix (type, "alarm."))
    return TRUE;
  if (json_object_has_member (body, "alarm")
      && JSON_NODE_HOLDS_OBJECT (json_object_get_member (body, "alarm")))
    alarm = json_object_get_object_member (body, "alarm");
  reference = json_object_get_string_member_with_default (body, "ref", NULL);
  alarm_type = json_object_get_string_member_with_default (alarm, "type", NULL);
  return hgd_alarm_routing_takes (self, instance_id, reference, alarm_type,
                                  g_strcmp0 (type, "alarm.raised") == 0);
}

/**
 * hgd_alarm_routing_event_offered:
 * @self: the routing
 * @event: an event of the municipal journal, offered to every instance
 *
 * An alarm's end unbinds it.
 */
void
hgd_alarm_routing_event_offered (HgdAlarmRouting *self,
                                 HgEvent *event)
{
  const gchar *type = hg_event_get_event_type (event);
  JsonObject *body = hg_event_get_body (event);

  g_return_if_fail (HGD_IS_ALARM_ROUTING (self));
  if (body != NULL
      && (g_strcmp0 (type, "alarm.closed") == 0 || g_strcmp0 (type, "alarm.cancelled") == 0))
    g_hash_table_remove (self->bindings,
                         json_object_get_string_member_with_default (body, "ref", ""));
}

/**
 * hgd_alarm_routing_release:
 * @self: the routing
 * @instance_id: an instance that stopped, failed, or went
 *
 * Unbinds the alarms bound to @instance_id, for the instance routed now to take.
 *
 * Returns: (transfer full): their references
 */
GStrv
hgd_alarm_routing_release (HgdAlarmRouting *self,
                           const gchar *instance_id)
{
  g_autoptr(GStrvBuilder) released = g_strv_builder_new ();
  GHashTableIter iter;
  gpointer key;
  gpointer value;

  g_return_val_if_fail (HGD_IS_ALARM_ROUTING (self), NULL);
  g_hash_table_iter_init (&iter, self->bindings);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      if (g_strcmp0 (value, instance_id) != 0)
        continue;
      g_strv_builder_add (released, key);
      g_hash_table_iter_remove (&iter);
    }
  return g_strv_builder_end (released);
}
