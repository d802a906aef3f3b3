/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgSensorRules: reads `rule.<id>.<field>` keys, checks each against the device registry
 * (precise errors naming the key), and evaluates the rules.
 *
 * The engine owns no timer and reads no clock: every reading carries its time, and
 * hg_sensor_rules_tick() is told what time it is. So the plugin drives it from the main
 * loop, and tests drive it through a night, a week or a daylight-saving change in
 * microseconds. Local times ("22:00") are wall-clock times in the configured GTimeZone,
 * converted with GDateTime, so a window keeps its wall-clock hours across DST changes.
 *
 * Every rule is de-duplicated per device (per rule for `inactivity`): it fires when its
 * condition becomes true and not again until the condition has cleared, so fifty
 * messages of one water leak are one alarm. Rule types:
 *
 *   immediate    water_leak or smoke true, fall true, a button action: at once;
 *                a button re-arms after `rearm` seconds without a press
 *   night-door   a contact opens (or is open) inside from..to
 *   bed-exit     a bed sensor's occupancy goes false inside from..to and is not true
 *                again within `minutes`
 *   inactivity   no activity (occupancy, contact, action, vibration) in from..to of a day;
 *                judged at the end of the window, never for a window begun before start
 *   temperature  temperature outside min..max for `minutes`
 *   low-battery  battery below `below` percent, or battery_low true
 *   offline      nothing heard for `minutes`, or Zigbee2MQTT reports it offline
 */
#include "hg-sensor-rules.h"

#include <math.h>

#define MINUTES_MAX (7 * 24 * 60)
#define REARM_MAX (24 * 3600)

typedef enum
{
  RULE_IMMEDIATE,
  RULE_NIGHT_DOOR,
  RULE_BED_EXIT,
  RULE_INACTIVITY,
  RULE_TEMPERATURE,
  RULE_LOW_BATTERY,
  RULE_OFFLINE,
  RULE_LAST
} RuleType;

/* Fields, by bit of the rule types they apply to. */
#define ALL_TYPES 0x7f
#define T(t) (1u << (t))
#define WINDOWED (T (RULE_NIGHT_DOOR) | T (RULE_BED_EXIT) | T (RULE_INACTIVITY))

static const struct
{
  const gchar *field;
  guint types;
} rule_fields[] = {
  { "type", ALL_TYPES },
  { "devices", ALL_TYPES },
  { "alarm-type", ALL_TYPES },
  { "priority", ALL_TYPES },
  { "from", WINDOWED },
  { "to", WINDOWED },
  { "minutes", T (RULE_BED_EXIT) | T (RULE_TEMPERATURE) | T (RULE_OFFLINE) },
  { "min", T (RULE_TEMPERATURE) },
  { "max", T (RULE_TEMPERATURE) },
  { "below", T (RULE_LOW_BATTERY) },
  { "actions", T (RULE_IMMEDIATE) },
  { "rearm", T (RULE_IMMEDIATE) },
};

/* The one table of what each rule means to an alarm centre: the SCAIP-friendly alarm
 * type and priority (0-9, as SCAIP `pri`) it raises unless its config says otherwise,
 * and its defaults. Correct alarm semantics here, in one place. */
static const struct
{
  const gchar *name;
  const gchar *alarm_type;
  guint priority;
  gint from; /* default window, minutes of the day; -1: required */
  gint to;
  gint minutes; /* default duration; 0: not used */
} rule_types[] = {
  [RULE_IMMEDIATE] = { "immediate", NULL, 0, 0, 0, 0 }, /* by reading kind: see below */
  [RULE_NIGHT_DOOR] = { "night-door", "door", 6, 22 * 60, 6 * 60, 0 },
  [RULE_BED_EXIT] = { "bed-exit", "fall", 6, 22 * 60, 7 * 60, 20 },
  [RULE_INACTIVITY] = { "inactivity", "inactivity", 6, -1, -1, 0 },
  [RULE_TEMPERATURE] = { "temperature", "assistance", 5, 0, 0, 30 },
  [RULE_LOW_BATTERY] = { "low-battery", "technical", 2, 0, 0, 0 },
  [RULE_OFFLINE] = { "offline", "technical", 3, 0, 0, 180 },
};
G_STATIC_ASSERT (G_N_ELEMENTS (rule_types) == RULE_LAST);

/* What an immediate rule raises, by the kind of the reading. */
static const struct
{
  HgSensorKind kind;
  const gchar *alarm_type;
  guint priority;
} immediate_kinds[] = {
  { HG_SENSOR_KIND_SMOKE, "fire", 9 },
  { HG_SENSOR_KIND_FALL, "fall", 8 },
  { HG_SENSOR_KIND_ACTION, "assistance", 8 },
  { HG_SENSOR_KIND_WATER_LEAK, "water", 7 },
};

#define DEFAULT_TEMPERATURE_MIN 16.0
#define DEFAULT_TEMPERATURE_MAX 30.0
#define DEFAULT_BATTERY_BELOW 15
#define DEFAULT_REARM 60
#define BATTERY_HYSTERESIS 5

/* Per rule and device. */
typedef struct
{
  gboolean active;  /* fired and not yet cleared */
  gint64 since;     /* temperature out of range / out of bed since, or 0 */
  gint64 last_seen; /* offline */
  gboolean reported_offline;
  gboolean open; /* night-door: the contact is open */
  gboolean battery_low;
  gint battery;
  HgSensorReading *last; /* (owned) (nullable) the last reading that mattered */
} State;

typedef struct
{
  gchar *id; /* (owned) */
  RuleType type;
  GHashTable *devices;     /* (owned) (nullable) device ids; NULL: every device */
  const gchar *alarm_type; /* (nullable) configured; NULL: from the table */
  gint priority;           /* configured, or -1 */
  gint from;               /* minutes of the local day */
  gint to;
  gint64 duration; /* microseconds */
  gdouble min;
  gdouble max;
  gint below;
  GStrv actions;      /* (owned) (nullable) NULL: any action */
  gint64 rearm;       /* microseconds */
  GHashTable *states; /* (owned) device id -> State */
  /* inactivity */
  gboolean active;
  gint64 last_activity; /* the last activity inside a window */
  gint64 evaluated_end; /* the end of the last window judged */
} Rule;

struct _HgSensorRules
{
  GObject parent_instance;
  HgSensorRegistry *registry; /* (owned) */
  GTimeZone *tz;              /* (owned) */
  GPtrArray *rules;           /* (owned) (element-type Rule) */
  gint64 started;             /* hg_sensor_rules_start(), or 0 */
};

G_DEFINE_TYPE (HgSensorRules, hg_sensor_rules, G_TYPE_OBJECT)

void
hg_sensor_firing_free (HgSensorFiring *firing)
{
  g_free (firing->rule);
  g_free (firing->device);
  g_clear_pointer (&firing->reading, hg_sensor_reading_unref);
  g_free (firing->reason);
  g_free (firing);
}

static void
state_free (State *state)
{
  g_clear_pointer (&state->last, hg_sensor_reading_unref);
  g_free (state);
}

static void
rule_free (Rule *rule)
{
  g_free (rule->id);
  g_clear_pointer (&rule->devices, g_hash_table_unref);
  g_strfreev (rule->actions);
  g_hash_table_unref (rule->states);
  g_free (rule);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Rule, rule_free)

static void
hg_sensor_rules_finalize (GObject *object)
{
  HgSensorRules *self = HG_SENSOR_RULES (object);

  g_object_unref (self->registry);
  g_time_zone_unref (self->tz);
  g_ptr_array_unref (self->rules);
  G_OBJECT_CLASS (hg_sensor_rules_parent_class)->finalize (object);
}

static void
hg_sensor_rules_class_init (HgSensorRulesClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hg_sensor_rules_finalize;
}

static void
hg_sensor_rules_init (HgSensorRules *self)
{
  self->rules = g_ptr_array_new_with_free_func ((GDestroyNotify) rule_free);
}

/**
 * hg_sensor_rules_new:
 * @registry: the devices the rules may name
 * @tz: the zone local times are in
 *
 * Returns: (transfer full): an engine without rules
 */
HgSensorRules *
hg_sensor_rules_new (HgSensorRegistry *registry,
                     GTimeZone *tz)
{
  HgSensorRules *self = g_object_new (HG_TYPE_SENSOR_RULES, NULL);

  self->registry = g_object_ref (registry);
  self->tz = g_time_zone_ref (tz);
  return self;
}

/* Configuration ------------------------------------------------------------------------ */

static gboolean
parse_time (const gchar *str,
            gint *minutes)
{
  if (strlen (str) != 5 || !g_ascii_isdigit (str[0]) || !g_ascii_isdigit (str[1]) || str[2] != ':'
      || !g_ascii_isdigit (str[3]) || !g_ascii_isdigit (str[4]))
    return FALSE;
  *minutes = ((str[0] - '0') * 10 + (str[1] - '0')) * 60 + (str[3] - '0') * 10 + (str[4] - '0');
  return (str[0] - '0') * 10 + (str[1] - '0') < 24 && (str[3] - '0') * 10 + (str[4] - '0') < 60;
}

static gboolean
parse_number (const gchar *str,
              gdouble *value)
{
  gchar *end = NULL;

  if (str[0] == '\0')
    return FALSE;
  *value = g_ascii_strtod (str, &end);
  return end != NULL && *end == '\0' && isfinite (*value);
}

static gboolean
parse_int (GHashTable *fields,
           const gchar *rule,
           const gchar *field,
           gint64 min,
           gint64 max,
           gint64 *value,
           GError **error)
{
  const gchar *str = g_hash_table_lookup (fields, field);

  if (str == NULL)
    return TRUE;
  if (!g_ascii_string_to_signed (str, 10, min, max, value, NULL))
    return hg_sensor_bad_key (error, "rule", rule, field,
                    "'%s' is not a whole number from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                    str, min, max);
  return TRUE;
}

/* Whether a device of @kind can ever satisfy a rule of @type. */
static gboolean
kind_fits (RuleType type,
           HgSensorKind kind)
{
  switch (type)
    {
    case RULE_IMMEDIATE:
      for (guint i = 0; i < G_N_ELEMENTS (immediate_kinds); i++)
        {
          if (immediate_kinds[i].kind == kind)
            return TRUE;
        }
      return FALSE;
    case RULE_NIGHT_DOOR:
      return kind == HG_SENSOR_KIND_CONTACT;
    case RULE_BED_EXIT:
      return kind == HG_SENSOR_KIND_OCCUPANCY;
    case RULE_TEMPERATURE:
      return kind == HG_SENSOR_KIND_TEMPERATURE;
    case RULE_INACTIVITY:
      return kind == HG_SENSOR_KIND_OCCUPANCY || kind == HG_SENSOR_KIND_CONTACT
             || kind == HG_SENSOR_KIND_ACTION || kind == HG_SENSOR_KIND_VIBRATION;
    case RULE_LOW_BATTERY:
    case RULE_OFFLINE:
    case RULE_LAST:
    default:
      return TRUE;
    }
}

static const gchar *
fitting_kinds (RuleType type)
{
  switch (type)
    {
    case RULE_IMMEDIATE:
      return "water_leak, smoke, fall or action";
    case RULE_NIGHT_DOOR:
      return "contact";
    case RULE_BED_EXIT:
      return "occupancy";
    case RULE_TEMPERATURE:
      return "temperature";
    case RULE_INACTIVITY:
      return "occupancy, contact, action or vibration";
    case RULE_LOW_BATTERY:
    case RULE_OFFLINE:
    case RULE_LAST:
    default:
      return "any";
    }
}

static gboolean
parse_devices (HgSensorRules *self,
               Rule *rule,
               const gchar *value,
               GError **error)
{
  g_auto(GStrv) ids = NULL;

  g_autofree gchar *trimmed = g_strstrip (g_strdup (value != NULL ? value : "*"));

  if (g_strcmp0 (trimmed, "*") == 0)
    {
      if (rule->type == RULE_BED_EXIT)
        return hg_sensor_bad_key (error, "rule", rule->id, "devices",
                        "missing: a bed-exit rule names its bed sensors");
      return TRUE;
    }
  ids = g_strsplit_set (value, ",;", -1);
  rule->devices = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; ids[i] != NULL; i++)
    {
      const gchar *id = g_strstrip (ids[i]);
      HgSensorDevice *device;

      if (id[0] == '\0')
        continue;
      device = hg_sensor_registry_lookup (self->registry, id);
      if (device == NULL)
        return hg_sensor_bad_key (error, "rule", rule->id, "devices",
                                  "no device '%s' (device.%s.* keys)", id, id);
      if (!kind_fits (rule->type, device->kind))
        return hg_sensor_bad_key (error, "rule", rule->id, "devices",
                                  "device %s is a %s sensor; a %s rule needs %s",
                        id, hg_sensor_kind_to_string (device->kind), rule_types[rule->type].name,
                        fitting_kinds (rule->type));
      g_hash_table_add (rule->devices, g_strdup (id));
    }
  if (g_hash_table_size (rule->devices) == 0)
    return hg_sensor_bad_key (error, "rule", rule->id, "devices", "names no device");
  return TRUE;
}

static gboolean
parse_window (Rule *rule,
              GHashTable *fields,
              GError **error)
{
  const gchar *from = g_hash_table_lookup (fields, "from");
  const gchar *to = g_hash_table_lookup (fields, "to");

  rule->from = rule_types[rule->type].from;
  rule->to = rule_types[rule->type].to;
  if (rule->from < 0 && from == NULL)
    return hg_sensor_bad_key (error, "rule", rule->id, "from",
                              "missing: an %s rule needs its window (from, to)",
                    rule_types[rule->type].name);
  if (rule->to < 0 && to == NULL)
    return hg_sensor_bad_key (error, "rule", rule->id, "to",
                              "missing: an %s rule needs its window (from, to)",
                    rule_types[rule->type].name);
  if (from != NULL && !parse_time (from, &rule->from))
    return hg_sensor_bad_key (error, "rule", rule->id, "from",
                              "'%s' is not a time HH:MM (00:00 to 23:59)", from);
  if (to != NULL && !parse_time (to, &rule->to))
    return hg_sensor_bad_key (error, "rule", rule->id, "to",
                              "'%s' is not a time HH:MM (00:00 to 23:59)", to);
  if (rule->from == rule->to)
    return hg_sensor_bad_key (error, "rule", rule->id, "to",
                              "the window from %02d:%02d to %02d:%02d is empty",
                    rule->from / 60, rule->from % 60, rule->to / 60, rule->to % 60);
  return TRUE;
}

static Rule *
rule_new_from_fields (HgSensorRules *self,
                      const gchar *id,
                      GHashTable *fields,
                      GError **error)
{
  g_autoptr(Rule) rule = g_new0 (Rule, 1);
  const gchar *type = g_hash_table_lookup (fields, "type");
  const gchar *value;
  GHashTableIter iter;
  const gchar *field;
  gint64 number;
  gboolean found = FALSE;

  rule->id = g_strdup (id);
  rule->priority = -1;
  rule->states
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) state_free);
  for (guint i = 0; type != NULL && i < RULE_LAST; i++)
    {
      if (g_strcmp0 (rule_types[i].name, type) == 0)
        {
          rule->type = (RuleType) i;
          found = TRUE;
        }
    }
  if (!found)
    {
      hg_sensor_bad_key (error, "rule", id, "type",
               "%s%s%s: one of immediate, night-door, bed-exit, inactivity, "
               "temperature, low-battery, offline",
               type != NULL ? "'" : "missing", type != NULL ? type : "",
               type != NULL ? "' is not a rule type" : "");
      return NULL;
    }
  g_hash_table_iter_init (&iter, fields);
  while (g_hash_table_iter_next (&iter, (gpointer *) &field, NULL))
    {
      for (guint i = 0; i < G_N_ELEMENTS (rule_fields); i++)
        {
          if (g_strcmp0 (rule_fields[i].field, field) == 0
              && (rule_fields[i].types & T (rule->type)) == 0)
            {
              hg_sensor_bad_key (error, "rule", id, field, "does not apply to a %s rule", type);
              return NULL;
            }
        }
    }
  if (!parse_devices (self, rule, g_hash_table_lookup (fields, "devices"), error))
    return NULL;

  value = g_hash_table_lookup (fields, "alarm-type");
  if (value != NULL)
    {
      if (!hg_alarm_type_is_valid (value) || g_strcmp0 (value, "test") == 0)
        {
          hg_sensor_bad_key (error, "rule", id, "alarm-type",
                   "'%s' is not one of assistance, fall, fire, water, "
                   "inactivity, door, technical",
                   value);
          return NULL;
        }
      /* the table of valid types outlives us; keep a static string */
      rule->alarm_type = g_intern_string (value);
    }
  number = -1;
  if (!parse_int (fields, id, "priority", 0, 9, &number, error))
    return NULL;
  rule->priority = (gint) number;

  if ((WINDOWED & T (rule->type)) != 0 && !parse_window (rule, fields, error))
    return NULL;
  number = rule_types[rule->type].minutes;
  if (!parse_int (fields, id, "minutes", 1, MINUTES_MAX, &number, error))
    return NULL;
  rule->duration = number * 60 * G_USEC_PER_SEC;

  rule->min = DEFAULT_TEMPERATURE_MIN;
  rule->max = DEFAULT_TEMPERATURE_MAX;
  value = g_hash_table_lookup (fields, "min");
  if (value != NULL
      && (!parse_number (value, &rule->min)
          || !hg_sensor_kind_check_number (HG_SENSOR_KIND_TEMPERATURE, rule->min, NULL)))
    {
      hg_sensor_bad_key (error, "rule", id, "min",
                         "'%s' is not a temperature from -80 to 120", value);
      return NULL;
    }
  value = g_hash_table_lookup (fields, "max");
  if (value != NULL
      && (!parse_number (value, &rule->max)
          || !hg_sensor_kind_check_number (HG_SENSOR_KIND_TEMPERATURE, rule->max, NULL)))
    {
      hg_sensor_bad_key (error, "rule", id, "max",
                         "'%s' is not a temperature from -80 to 120", value);
      return NULL;
    }
  if (rule->type == RULE_TEMPERATURE && rule->min >= rule->max)
    {
      hg_sensor_bad_key (error, "rule", id, "max", "%g is not above min %g", rule->max, rule->min);
      return NULL;
    }
  number = DEFAULT_BATTERY_BELOW;
  if (!parse_int (fields, id, "below", 1, 99, &number, error))
    return NULL;
  rule->below = (gint) number;

  value = g_hash_table_lookup (fields, "actions");
  if (value != NULL)
    {
      g_auto(GStrv) actions = g_strsplit_set (value, ",;", -1);
      g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

      for (guint i = 0; actions[i] != NULL; i++)
        {
          const gchar *action = g_strstrip (actions[i]);
          if (action[0] == '\0')
            continue;
          if (!hg_sensor_action_is_valid (action))
            {
              hg_sensor_bad_key (error, "rule", id, "actions",
                                 "'%s' is not an action name", action);
              return NULL;
            }
          g_strv_builder_add (builder, action);
        }
      rule->actions = g_strv_builder_end (builder);
      if (rule->actions[0] == NULL)
        {
          hg_sensor_bad_key (error, "rule", id, "actions", "names no action");
          return NULL;
        }
    }
  number = DEFAULT_REARM;
  if (!parse_int (fields, id, "rearm", 0, REARM_MAX, &number, error))
    return NULL;
  rule->rearm = number * G_USEC_PER_SEC;
  return g_steal_pointer (&rule);
}

/**
 * hg_sensor_rules_load:
 * @self: an engine without rules
 * @config: the instance's configuration
 * @error: return location for a #GError
 *
 * Reads every `rule.<id>.<field>` key. Devices must be loaded into the registry first.
 *
 * Returns: %TRUE if every rule is well formed, else %FALSE with %HG_ERROR_INVALID_DATA
 *   naming the key
 */
gboolean
hg_sensor_rules_load (HgSensorRules *self,
                      HgConfig *config,
                      GError **error)
{
  g_auto(GStrv) keys = hg_config_get_keys (config);
  g_autoptr(GHashTable) by_rule
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_hash_table_unref);
  g_autoptr(GPtrArray) order = g_ptr_array_new ();

  g_return_val_if_fail (HG_IS_SENSOR_RULES (self), FALSE);

  for (guint i = 0; keys[i] != NULL; i++)
    {
      const gchar *rest;
      const gchar *dot;
      g_autofree gchar *id = NULL;
      GHashTable *fields;
      gboolean known = FALSE;

      if (!g_str_has_prefix (keys[i], "rule."))
        continue;
      rest = keys[i] + strlen ("rule.");
      dot = strchr (rest, '.');
      if (dot == NULL)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       "key '%s': rule keys are rule.<id>.<field>", keys[i]);
          return FALSE;
        }
      id = g_strndup (rest, dot - rest);
      if (!hg_sensor_device_id_is_valid (id))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       "key '%s': rule id '%s' must be 1 to 64 of a-z, 0-9, '_' and '-'", keys[i],
                       id);
          return FALSE;
        }
      for (guint j = 0; j < G_N_ELEMENTS (rule_fields); j++)
        known = known || g_strcmp0 (rule_fields[j].field, dot + 1) == 0;
      if (!known)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "key '%s': unknown rule field '%s'",
                       keys[i], dot + 1);
          return FALSE;
        }
      fields = g_hash_table_lookup (by_rule, id);
      if (fields == NULL)
        {
          fields = g_hash_table_new (g_str_hash, g_str_equal);
          g_ptr_array_add (order, id);
          g_hash_table_insert (by_rule, g_steal_pointer (&id), fields);
        }
      g_hash_table_insert (fields, (gpointer) (dot + 1),
                           (gpointer) hg_config_get_string (config, keys[i], ""));
    }
  for (guint i = 0; i < order->len; i++)
    {
      const gchar *id = g_ptr_array_index (order, i);
      Rule *rule = rule_new_from_fields (self, id, g_hash_table_lookup (by_rule, id), error);

      if (rule == NULL)
        return FALSE;
      g_ptr_array_add (self->rules, rule);
    }
  return TRUE;
}

guint
hg_sensor_rules_get_n_rules (HgSensorRules *self)
{
  return self->rules->len;
}

/**
 * hg_sensor_rules_start:
 * @self: an engine
 * @now: the time evaluation starts
 *
 * Devices count as heard from at @now (for `offline`), and windows begun before @now are
 * not judged (for `inactivity`: what happened before is unknown).
 */
void
hg_sensor_rules_start (HgSensorRules *self,
                       gint64 now)
{
  self->started = now;
}

/* Evaluation --------------------------------------------------------------------------- */

static GDateTime *
to_local (HgSensorRules *self,
          gint64 usec)
{
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);

  return g_date_time_to_timezone (utc, self->tz);
}

static gboolean
in_window (HgSensorRules *self,
           Rule *rule,
           gint64 usec)
{
  g_autoptr(GDateTime) local = to_local (self, usec);
  gint minute = g_date_time_get_hour (local) * 60 + g_date_time_get_minute (local);

  if (rule->from < rule->to)
    return minute >= rule->from && minute < rule->to;
  return minute >= rule->from || minute < rule->to;
}

static gboolean
rule_has_device (Rule *rule,
                 const gchar *device)
{
  return rule->devices == NULL || g_hash_table_contains (rule->devices, device);
}

static State *
rule_get_state (HgSensorRules *self,
                Rule *rule,
                const gchar *device)
{
  State *state = g_hash_table_lookup (rule->states, device);

  if (state == NULL)
    {
      state = g_new0 (State, 1);
      state->battery = -1;
      state->last_seen = self->started;
      g_hash_table_insert (rule->states, g_strdup (device), state);
    }
  return state;
}

static void
remember (State *state,
          HgSensorReading *reading)
{
  g_clear_pointer (&state->last, hg_sensor_reading_unref);
  state->last = hg_sensor_reading_ref (reading);
}

static void
fire (Rule *rule,
      const gchar *device,
      HgSensorReading *reading,
      const gchar *alarm_type,
      guint priority,
      gint64 now,
      GPtrArray *firings,
      gchar *reason)
{
  HgSensorFiring *firing = g_new0 (HgSensorFiring, 1);

  firing->rule = g_strdup (rule->id);
  firing->rule_type = rule_types[rule->type].name;
  firing->alarm_type = rule->alarm_type != NULL ? rule->alarm_type : alarm_type;
  firing->priority = rule->priority >= 0 ? (guint) rule->priority : priority;
  firing->device = g_strdup (device);
  firing->reading = reading != NULL ? hg_sensor_reading_ref (reading) : NULL;
  firing->reason = reason;
  firing->ts = now;
  g_ptr_array_add (firings, firing);
}

static void
fire_default (Rule *rule,
              const gchar *device,
              HgSensorReading *reading,
              gint64 now,
              GPtrArray *firings,
              gchar *reason)
{
  fire (rule, device, reading, rule_types[rule->type].alarm_type, rule_types[rule->type].priority,
        now, firings, reason);
}

static void
process_immediate (Rule *rule,
                   State *state,
                   HgSensorReading *reading,
                   GPtrArray *firings)
{
  const gchar *alarm_type = NULL;
  guint priority = 0;

  for (guint i = 0; i < G_N_ELEMENTS (immediate_kinds); i++)
    {
      if (immediate_kinds[i].kind == reading->kind)
        {
          alarm_type = immediate_kinds[i].alarm_type;
          priority = immediate_kinds[i].priority;
        }
    }
  if (alarm_type == NULL)
    return;
  if (reading->kind == HG_SENSOR_KIND_ACTION)
    {
      if (rule->actions != NULL
          && !g_strv_contains ((const gchar *const *)rule->actions, reading->text))
        return;
      /* a button has no "cleared" state: presses within `rearm` of the last are one call */
      if (state->active && reading->ts - state->since < rule->rearm)
        {
          state->since = reading->ts;
          return;
        }
      state->active = TRUE;
      state->since = reading->ts;
      fire (rule, reading->device, reading, alarm_type, priority, reading->ts, firings,
            g_strdup_printf ("button action '%s'", reading->text));
      return;
    }
  if (!reading->boolean)
    {
      state->active = FALSE;
      return;
    }
  if (state->active)
    return;
  state->active = TRUE;
  fire (rule, reading->device, reading, alarm_type, priority, reading->ts, firings,
        g_strdup_printf ("%s detected", hg_sensor_kind_to_string (reading->kind)));
}

static void
evaluate_night_door (HgSensorRules *self,
                     Rule *rule,
                     const gchar *device,
                     State *state,
                     gint64 now,
                     GPtrArray *firings)
{
  gboolean condition = state->open && in_window (self, rule, now);

  if (!condition)
    {
      state->active = FALSE;
      return;
    }
  if (state->active)
    return;
  state->active = TRUE;
  fire_default (rule, device, state->last, now, firings,
                g_strdup_printf ("door open between %02d:%02d and %02d:%02d", rule->from / 60,
                                 rule->from % 60, rule->to / 60, rule->to % 60));
}

static void
evaluate_bed_exit (Rule *rule,
                   const gchar *device,
                   State *state,
                   gint64 now,
                   GPtrArray *firings)
{
  if (state->since == 0 || state->active || now - state->since < rule->duration)
    return;
  state->active = TRUE;
  fire_default (rule, device, state->last, now, firings,
                g_strdup_printf ("out of bed for %" G_GINT64_FORMAT " minutes",
                                 rule->duration / (60 * G_USEC_PER_SEC)));
}

static void
evaluate_temperature (Rule *rule,
                      const gchar *device,
                      State *state,
                      gint64 now,
                      GPtrArray *firings)
{
  if (state->since == 0 || state->active || now - state->since < rule->duration)
    return;
  state->active = TRUE;
  fire_default (rule, device, state->last, now, firings,
                g_strdup_printf ("temperature outside %g..%g °C for %" G_GINT64_FORMAT " minutes",
                                 rule->min, rule->max, rule->duration / (60 * G_USEC_PER_SEC)));
}

static void
evaluate_offline (Rule *rule,
                  const gchar *device,
                  State *state,
                  gint64 now,
                  GPtrArray *firings)
{
  if (state->active)
    return;
  if (state->reported_offline)
    {
      state->active = TRUE;
      fire_default (rule, device, state->last, now, firings,
                    g_strdup ("reported offline by its bridge"));
      return;
    }
  if (now - state->last_seen < rule->duration)
    return;
  state->active = TRUE;
  fire_default (rule, device, state->last, now, firings,
                g_strdup_printf ("nothing heard for %" G_GINT64_FORMAT " minutes",
                                 rule->duration / (60 * G_USEC_PER_SEC)));
}

static gboolean
is_activity (HgSensorReading *reading)
{
  switch (reading->kind)
    {
    case HG_SENSOR_KIND_OCCUPANCY:
    case HG_SENSOR_KIND_VIBRATION:
      return reading->boolean;
    case HG_SENSOR_KIND_CONTACT:
    case HG_SENSOR_KIND_ACTION:
      return TRUE;
    case HG_SENSOR_KIND_WATER_LEAK:
    case HG_SENSOR_KIND_SMOKE:
    case HG_SENSOR_KIND_TAMPER:
    case HG_SENSOR_KIND_FALL:
    case HG_SENSOR_KIND_BATTERY_LOW:
    case HG_SENSOR_KIND_TEMPERATURE:
    case HG_SENSOR_KIND_HUMIDITY:
    case HG_SENSOR_KIND_ILLUMINANCE:
    case HG_SENSOR_KIND_BATTERY:
    case HG_SENSOR_KIND_AVAILABILITY:
    case HG_SENSOR_KIND_LAST:
    default:
      return FALSE;
    }
}

static void
process_low_battery (Rule *rule,
                     State *state,
                     HgSensorReading *reading,
                     GPtrArray *firings)
{
  gboolean low;

  if (reading->kind == HG_SENSOR_KIND_BATTERY_LOW)
    state->battery_low = reading->boolean;
  if (reading->battery >= 0)
    state->battery = reading->battery;
  else if (reading->kind == HG_SENSOR_KIND_BATTERY)
    state->battery = (gint) reading->number;
  if (reading->kind != HG_SENSOR_KIND_BATTERY_LOW && reading->battery < 0
      && reading->kind != HG_SENSOR_KIND_BATTERY)
    return;
  low = state->battery_low || (state->battery >= 0 && state->battery < rule->below);
  if (state->active)
    {
      /* cleared once the battery is clearly back, so a level hovering at the threshold
       * is one alarm, and a replaced battery re-arms the rule */
      if (!state->battery_low && state->battery >= rule->below + BATTERY_HYSTERESIS)
        state->active = FALSE;
      return;
    }
  if (!low)
    return;
  remember (state, reading);
  state->active = TRUE;
  if (state->battery >= 0 && state->battery < rule->below)
    fire_default (rule, reading->device, reading, reading->ts, firings,
                  g_strdup_printf ("battery at %d%%, below %d%%", state->battery, rule->below));
  else
    fire_default (rule, reading->device, reading, reading->ts, firings, g_strdup ("battery low"));
}

/* Judges the last window of an inactivity rule that has ended by @now, once. */
static void
evaluate_inactivity (HgSensorRules *self,
                     Rule *rule,
                     gint64 now,
                     GPtrArray *firings)
{
  g_autoptr(GDateTime) local = to_local (self, now);
  g_autoptr(GDateTime) end = NULL;
  g_autoptr(GDateTime) start = NULL;
  g_autoptr(GDateTime) start_day = NULL;
  gint64 end_usec;
  gint64 start_usec;

  end = g_date_time_new (self->tz, g_date_time_get_year (local), g_date_time_get_month (local),
                         g_date_time_get_day_of_month (local), rule->to / 60, rule->to % 60, 0);
  if (g_date_time_compare (end, local) > 0)
    {
      GDateTime *yesterday = g_date_time_add_days (end, -1);
      g_date_time_unref (end);
      end = yesterday;
    }
  start_day = rule->from < rule->to ? g_date_time_ref (end) : g_date_time_add_days (end, -1);
  start = g_date_time_new (
      self->tz, g_date_time_get_year (start_day), g_date_time_get_month (start_day),
      g_date_time_get_day_of_month (start_day), rule->from / 60, rule->from % 60, 0);
  end_usec = g_date_time_to_unix (end) * G_USEC_PER_SEC;
  start_usec = g_date_time_to_unix (start) * G_USEC_PER_SEC;
  if (end_usec <= rule->evaluated_end)
    return;
  rule->evaluated_end = end_usec;
  if (start_usec < self->started || rule->active || rule->last_activity >= start_usec)
    return;
  rule->active = TRUE;
  fire_default (rule, NULL, NULL, now, firings,
                g_strdup_printf ("no activity between %02d:%02d and %02d:%02d", rule->from / 60,
                                 rule->from % 60, rule->to / 60, rule->to % 60));
}

static void
process_rule (HgSensorRules *self,
              Rule *rule,
              HgSensorReading *reading,
              GPtrArray *firings)
{
  State *state;

  if (!rule_has_device (rule, reading->device))
    return;
  if (rule->type == RULE_INACTIVITY)
    {
      if (!is_activity (reading))
        return;
      if (in_window (self, rule, reading->ts))
        rule->last_activity = MAX (rule->last_activity, reading->ts);
      rule->active = FALSE;
      return;
    }
  /* a state only for devices whose readings can matter to the rule: 500 motion sensors
   * need none in a water-leak rule */
  if ((rule->type == RULE_IMMEDIATE && !kind_fits (RULE_IMMEDIATE, reading->kind))
      || (rule->type == RULE_NIGHT_DOOR && reading->kind != HG_SENSOR_KIND_CONTACT)
      || (rule->type == RULE_BED_EXIT && reading->kind != HG_SENSOR_KIND_OCCUPANCY)
      || (rule->type == RULE_TEMPERATURE && reading->kind != HG_SENSOR_KIND_TEMPERATURE)
      || (rule->type == RULE_LOW_BATTERY && reading->battery < 0
          && reading->kind != HG_SENSOR_KIND_BATTERY
          && reading->kind != HG_SENSOR_KIND_BATTERY_LOW))
    return;
  state = rule_get_state (self, rule, reading->device);
  switch (rule->type)
    {
    case RULE_IMMEDIATE:
      process_immediate (rule, state, reading, firings);
      break;
    case RULE_NIGHT_DOOR:
      if (reading->kind != HG_SENSOR_KIND_CONTACT)
        return;
      state->open = !reading->boolean;
      remember (state, reading);
      evaluate_night_door (self, rule, reading->device, state, reading->ts, firings);
      break;
    case RULE_BED_EXIT:
      if (reading->kind != HG_SENSOR_KIND_OCCUPANCY)
        return;
      remember (state, reading);
      if (reading->boolean)
        {
          state->since = 0;
          state->active = FALSE;
        }
      else if (state->since == 0 && in_window (self, rule, reading->ts))
        {
          state->since = reading->ts;
        }
      break;
    case RULE_TEMPERATURE:
      if (reading->kind != HG_SENSOR_KIND_TEMPERATURE)
        return;
      remember (state, reading);
      if (reading->number >= rule->min && reading->number <= rule->max)
        {
          state->since = 0;
          state->active = FALSE;
        }
      else if (state->since == 0)
        {
          state->since = reading->ts;
        }
      evaluate_temperature (rule, reading->device, state, reading->ts, firings);
      break;
    case RULE_LOW_BATTERY:
      process_low_battery (rule, state, reading, firings);
      break;
    case RULE_OFFLINE:
      if (reading->kind == HG_SENSOR_KIND_AVAILABILITY && !reading->boolean)
        {
          state->reported_offline = TRUE;
          evaluate_offline (rule, reading->device, state, reading->ts, firings);
          return;
        }
      remember (state, reading);
      state->reported_offline = FALSE;
      state->last_seen = MAX (state->last_seen, reading->ts);
      state->active = FALSE;
      break;
    case RULE_INACTIVITY:
    case RULE_LAST:
    default:
      break;
    }
}

/**
 * hg_sensor_rules_process:
 * @self: an engine
 * @reading: a reading, with the time it was received
 * @firings: (element-type HgSensorFiring): where to add the rules it makes fire
 */
void
hg_sensor_rules_process (HgSensorRules *self,
                         HgSensorReading *reading,
                         GPtrArray *firings)
{
  g_return_if_fail (HG_IS_SENSOR_RULES (self));

  for (guint i = 0; i < self->rules->len; i++)
    process_rule (self, g_ptr_array_index (self->rules, i), reading, firings);
}

/**
 * hg_sensor_rules_tick:
 * @self: an engine
 * @now: the time
 * @firings: (element-type HgSensorFiring): where to add the rules that fire by @now
 *
 * Evaluates what depends on time passing: windows opening and closing, durations
 * running out, devices falling silent.
 */
void
hg_sensor_rules_tick (HgSensorRules *self,
                      gint64 now,
                      GPtrArray *firings)
{
  g_return_if_fail (HG_IS_SENSOR_RULES (self));

  for (guint i = 0; i < self->rules->len; i++)
    {
      Rule *rule = g_ptr_array_index (self->rules, i);
      GHashTableIter iter;
      const gchar *device;
      State *state;

      if (rule->type == RULE_INACTIVITY)
        {
          evaluate_inactivity (self, rule, now, firings);
          continue;
        }
      /* an offline rule also watches devices that never sent anything */
      if (rule->type == RULE_OFFLINE)
        {
          GPtrArray *devices = hg_sensor_registry_get_devices (self->registry);
          for (guint j = 0; j < devices->len; j++)
            {
              HgSensorDevice *d = g_ptr_array_index (devices, j);
              if (rule_has_device (rule, d->id))
                rule_get_state (self, rule, d->id);
            }
        }
      g_hash_table_iter_init (&iter, rule->states);
      while (g_hash_table_iter_next (&iter, (gpointer *) &device, (gpointer *) &state))
        {
          switch (rule->type)
            {
            case RULE_NIGHT_DOOR:
              evaluate_night_door (self, rule, device, state, now, firings);
              break;
            case RULE_BED_EXIT:
              evaluate_bed_exit (rule, device, state, now, firings);
              break;
            case RULE_TEMPERATURE:
              evaluate_temperature (rule, device, state, now, firings);
              break;
            case RULE_OFFLINE:
              evaluate_offline (rule, device, state, now, firings);
              break;
            case RULE_IMMEDIATE:
            case RULE_INACTIVITY:
            case RULE_LOW_BATTERY:
            case RULE_LAST:
            default:
              break;
            }
        }
    }
}

/* Returns: how many rule conditions are currently raised and not cleared */
guint
hg_sensor_rules_get_n_active (HgSensorRules *self)
{
  guint n = 0;

  for (guint i = 0; i < self->rules->len; i++)
    {
      Rule *rule = g_ptr_array_index (self->rules, i);
      GHashTableIter iter;
      State *state;

      n += rule->active ? 1 : 0;
      g_hash_table_iter_init (&iter, rule->states);
      while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &state))
        n += state->active ? 1 : 0;
    }
  return n;
}
