/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A test delivery plugin (alarm.deliver): for every alarm.raised event of an alarm still
 * in state raised, it reports the alarm delivered, as an alarm-centre plugin would once
 * the centre has it. The test reads the alarm's state from the journal. The references
 * of the alarm.cancelled events it got, and its local time zone, are its health report,
 * {"cancelled": [...], "timezone", "raised": [...], "log": [...]}, where "raised" are the
 * references of every alarm.raised it got (new or offered again), in the order they
 * came, and "log" is "<type> <reference>" of every alarm event it got, in order; it
 * reports again with each alarm event. With `delay-ms = N` it takes N ms over every event
 * (sensor.subscribe brings it plenty), so it falls behind the way a slow plugin would; with
 * `detail-padding = N` its reports carry N bytes more detail, so that each needs pages of
 * its own in the journal. */
#include <hemgate-plugin.h>

#define HG_TYPE_COURIER_PLUGIN (hg_courier_plugin_get_type ())
G_DECLARE_FINAL_TYPE (HgCourierPlugin, hg_courier_plugin, HG, COURIER_PLUGIN, HgPlugin)

struct _HgCourierPlugin
{
  HgPlugin parent_instance;
  guint delay_ms;
  guint detail_padding;
  GCancellable *cancellable; /* (owned) */
  JsonArray *cancelled;      /* (owned) references, in the order they came */
  JsonArray *raised;         /* (owned) references of alarm.raised, in the order they came */
  JsonArray *log;            /* (owned) "<type> <reference>" of every alarm event */
  gchar *timezone;           /* (owned) the local time zone's identifier */
};

G_DEFINE_TYPE (HgCourierPlugin, hg_courier_plugin, HG_TYPE_PLUGIN)

static void
reported_cb (GObject *source,
             GAsyncResult *result,
             gpointer user_data)
{
  g_autofree gchar *ref = user_data;
  g_autoptr(GError) error = NULL;

  if (!hg_context_report_alarm_finish (HG_CONTEXT (source), result, &error))
    g_message ("alarm %s not reported delivered: %s", ref, error->message);
}

static void
report_health (HgCourierPlugin *self)
{
  g_autoptr(JsonObject) health = json_object_new ();

  json_object_set_array_member (health, "cancelled", json_array_ref (self->cancelled));
  json_object_set_array_member (health, "raised", json_array_ref (self->raised));
  json_object_set_array_member (health, "log", json_array_ref (self->log));
  json_object_set_string_member (health, "timezone", self->timezone);
  hg_context_report_health (hg_plugin_get_context (HG_PLUGIN (self)), health);
}

static gboolean
hg_courier_plugin_configure (HgPlugin *plugin,
                             HgConfig *config,
                             GError **error)
{
  HgCourierPlugin *self = HG_COURIER_PLUGIN (plugin);
  g_autoptr(GTimeZone) local = g_time_zone_new_local ();
  gint64 delay_ms = 0;
  gint64 detail_padding = 0;

  if (!hg_config_get_int (config, "delay-ms", 0, 0, 500, &delay_ms, error) ||
      !hg_config_get_int (config, "detail-padding", 0, 0, 32768, &detail_padding, error))
    return FALSE;
  self->delay_ms = (guint) delay_ms;
  self->detail_padding = (guint) detail_padding;
  /* the host's local time zone, which the core passes in TZ */
  g_free (self->timezone);
  self->timezone = g_strdup (g_time_zone_get_identifier (local));
  report_health (self);
  return TRUE;
}

static void
hg_courier_plugin_handle_event (HgPlugin *plugin,
                                HgEvent *event)
{
  HgCourierPlugin *self = HG_COURIER_PLUGIN (plugin);
  g_autoptr(HgAlarm) alarm = NULL;
  g_autoptr(JsonObject) detail = NULL;
  g_autoptr(GError) error = NULL;

  /* Slow on purpose (a real plugin must never block its main loop). */
  if (self->delay_ms > 0)
    g_usleep (self->delay_ms * 1000);
  if (g_str_has_prefix (hg_event_get_event_type (event), "alarm."))
    {
      const gchar *ref = json_object_get_string_member_with_default (hg_event_get_body (event), "ref", "");
      g_autofree gchar *line = g_strdup_printf ("%s %s", hg_event_get_event_type (event), ref);

      json_array_add_string_element (self->log, line);
      report_health (self);
    }
  if (g_strcmp0 (hg_event_get_event_type (event), "alarm.cancelled") == 0)
    {
      const gchar *ref = NULL;

      if (!hg_json_object_get_string (hg_event_get_body (event), "ref", &ref, &error))
        {
          g_message ("alarm.cancelled with a bad body: %s", error->message);
          return;
        }
      json_array_add_string_element (self->cancelled, ref);
      report_health (self);
      return;
    }
  if (g_strcmp0 (hg_event_get_event_type (event), "alarm.raised") != 0)
    return;
  alarm = hg_alarm_new_from_json (hg_event_get_body (event), &error);
  if (alarm == NULL)
    {
      g_message ("alarm.raised with a bad body: %s", error->message);
      return;
    }
  if (hg_alarm_get_reference (alarm) == NULL)
    return;
  json_array_add_string_element (self->raised, hg_alarm_get_reference (alarm));
  report_health (self);
  if (hg_alarm_get_state (alarm) != HG_ALARM_STATE_RAISED)
    return;
  detail = json_object_new ();
  json_object_set_string_member (detail, "courier", "test");
  json_object_set_boolean_member (detail, "replayed", hg_event_get_seq (event) == 0);
  if (self->detail_padding > 0)
    {
      g_autofree gchar *padding = g_strnfill (self->detail_padding, 'p');
      json_object_set_string_member (detail, "padding", padding);
    }
  hg_context_report_alarm_async (hg_plugin_get_context (plugin), hg_alarm_get_reference (alarm),
                                 HG_ALARM_STATE_DELIVERED, detail, self->cancellable, reported_cb,
                                 g_strdup (hg_alarm_get_reference (alarm)));
}

static void
hg_courier_plugin_dispose (GObject *object)
{
  g_cancellable_cancel (HG_COURIER_PLUGIN (object)->cancellable);
  G_OBJECT_CLASS (hg_courier_plugin_parent_class)->dispose (object);
}

static void
hg_courier_plugin_finalize (GObject *object)
{
  g_object_unref (HG_COURIER_PLUGIN (object)->cancellable);
  json_array_unref (HG_COURIER_PLUGIN (object)->cancelled);
  json_array_unref (HG_COURIER_PLUGIN (object)->raised);
  json_array_unref (HG_COURIER_PLUGIN (object)->log);
  g_free (HG_COURIER_PLUGIN (object)->timezone);
  G_OBJECT_CLASS (hg_courier_plugin_parent_class)->finalize (object);
}

static void
hg_courier_plugin_class_init (HgCourierPluginClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = hg_courier_plugin_dispose;
  G_OBJECT_CLASS (klass)->finalize = hg_courier_plugin_finalize;
  HG_PLUGIN_CLASS (klass)->configure = hg_courier_plugin_configure;
  HG_PLUGIN_CLASS (klass)->handle_event = hg_courier_plugin_handle_event;
}

static void
hg_courier_plugin_init (HgCourierPlugin *self)
{
  self->cancellable = g_cancellable_new ();
  self->cancelled = json_array_new ();
  self->raised = json_array_new ();
  self->log = json_array_new ();
}

HG_PLUGIN_EXPORT GType hg_plugin_query_type (void);

GType
hg_plugin_query_type (void)
{
  return HG_TYPE_COURIER_PLUGIN;
}
