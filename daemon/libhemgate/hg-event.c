/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgEvent: plugins set the type and body; the core stamps domain, sequence, time and source. */
#include "config.h"

#include "hg-error.h"
#include "hg-event-private.h"
#include "hg-json.h"

struct _HgEvent
{
  GObject parent_instance;
  gchar *type;      /* (owned) */
  JsonObject *body; /* (owned) */
  HgDomain domain;
  guint64 seq;
  gint64 timestamp; /* microseconds since the Unix epoch, UTC */
  gchar *source;    /* (owned) (nullable) */
};

/**
 * HgEvent:
 *
 * One journaled fact: a type such as `sensor.reading`, a JSON body, and where and when it
 * happened. A plugin sets the type and body; the core stamps the domain, sequence number,
 * time and source when it journals the event.
 *
 * Since: 1.0
 */
G_DEFINE_TYPE (HgEvent, hg_event, G_TYPE_OBJECT)

static void
hg_event_finalize (GObject *object)
{
  HgEvent *self = HG_EVENT (object);

  g_free (self->type);
  g_clear_pointer (&self->body, json_object_unref);
  g_free (self->source);
  G_OBJECT_CLASS (hg_event_parent_class)->finalize (object);
}

static void
hg_event_class_init (HgEventClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hg_event_finalize;
}

static void
hg_event_init (HgEvent *self)
{
}

/**
 * hg_event_type_is_valid:
 * @type: (nullable): an event type
 *
 * Event types are dotted lower-case words, e.g. `sensor.reading` or `alarm.raised`:
 * 3 to 64 characters of `a-z 0-9 . -`, with at least one dot.
 *
 * Returns: %TRUE if @type is well formed
 *
 * Since: 1.0
 */
gboolean
hg_event_type_is_valid (const gchar *type)
{
  gsize len;

  if (type == NULL)
    return FALSE;
  len = strlen (type);
  if (len < 3 || len > 64 || strchr (type, '.') == NULL || type[0] == '.' || type[len - 1] == '.')
    return FALSE;
  for (const gchar *p = type; *p != '\0'; p++)
    {
      if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '.' && *p != '-')
        return FALSE;
    }
  return TRUE;
}

/**
 * hg_event_new:
 * @type: the event type, see hg_event_type_is_valid()
 * @body: (nullable): the JSON body; an empty object if %NULL
 *
 * Creates an event for hg_context_publish_event_async(). The core stamps its domain,
 * sequence number, time and source when it journals it.
 *
 * Returns: (transfer full): a new event, not yet journaled
 *
 * Since: 1.0
 */
HgEvent *
hg_event_new (const gchar *type,
              JsonObject *body)
{
  HgEvent *self;

  g_return_val_if_fail (hg_event_type_is_valid (type), NULL);

  self = g_object_new (HG_TYPE_EVENT, NULL);
  self->type = g_strdup (type);
  self->body = body != NULL ? json_object_ref (body) : json_object_new ();
  return self;
}

/**
 * hg_event_get_event_type:
 * @self: an #HgEvent
 *
 * Gets the event type, e.g. `sensor.reading`.
 *
 * Returns: the event type
 *
 * Since: 1.0
 */
const gchar *
hg_event_get_event_type (HgEvent *self)
{
  g_return_val_if_fail (HG_IS_EVENT (self), NULL);
  return self->type;
}

/**
 * hg_event_get_body:
 * @self: an #HgEvent
 *
 * Gets the event's JSON body.
 *
 * Returns: (transfer none): the JSON body
 *
 * Since: 1.0
 */
JsonObject *
hg_event_get_body (HgEvent *self)
{
  g_return_val_if_fail (HG_IS_EVENT (self), NULL);
  return self->body;
}

/**
 * hg_event_get_domain:
 * @self: an #HgEvent
 *
 * Gets the domain whose journal holds the event.
 *
 * Returns: the domain whose journal holds the event
 *
 * Since: 1.0
 */
HgDomain
hg_event_get_domain (HgEvent *self)
{
  g_return_val_if_fail (HG_IS_EVENT (self), HG_DOMAIN_MUNICIPAL);
  return self->domain;
}

/**
 * hg_event_get_seq:
 * @self: an #HgEvent
 *
 * Gets the event's sequence number in its domain's journal.
 *
 * Returns: the sequence number in its domain's journal, 0 if not journaled
 *
 * Since: 1.0
 */
guint64
hg_event_get_seq (HgEvent *self)
{
  g_return_val_if_fail (HG_IS_EVENT (self), 0);
  return self->seq;
}

/**
 * hg_event_get_timestamp:
 * @self: an #HgEvent
 *
 * Gets when the core accepted the event.
 *
 * Returns: when the core accepted the event, in microseconds since the epoch (UTC)
 *
 * Since: 1.0
 */
gint64
hg_event_get_timestamp (HgEvent *self)
{
  g_return_val_if_fail (HG_IS_EVENT (self), 0);
  return self->timestamp;
}

/**
 * hg_event_get_source:
 * @self: an #HgEvent
 *
 * Gets who caused the event, as the core recorded it.
 *
 * Returns: (nullable): who caused it: `plugin:<id>`, `user:<name>` or `core`
 *
 * Since: 1.0
 */
const gchar *
hg_event_get_source (HgEvent *self)
{
  g_return_val_if_fail (HG_IS_EVENT (self), NULL);
  return self->source;
}

void
hg_event_set_domain (HgEvent *self,
                     HgDomain domain)
{
  g_return_if_fail (HG_IS_EVENT (self));
  self->domain = domain;
}

void
hg_event_set_seq (HgEvent *self,
                  guint64 seq)
{
  g_return_if_fail (HG_IS_EVENT (self));
  self->seq = seq;
}

void
hg_event_set_timestamp (HgEvent *self,
                        gint64 timestamp)
{
  g_return_if_fail (HG_IS_EVENT (self));
  self->timestamp = timestamp;
}

void
hg_event_set_source (HgEvent *self,
                     const gchar *source)
{
  g_return_if_fail (HG_IS_EVENT (self));
  g_free (self->source);
  self->source = g_strdup (source);
}

/**
 * hg_event_to_json:
 * @self: an #HgEvent
 *
 * The wire form used by the API, the WebSocket and the plugin host:
 * `{"seq", "domain", "type", "ts", "source", "body"}` with `ts` in ISO 8601 UTC.
 *
 * Returns: (transfer full): a new #JsonObject
 *
 * Since: 1.0
 */
JsonObject *
hg_event_to_json (HgEvent *self)
{
  JsonObject *object;
  g_autoptr(GDateTime) dt = NULL;
  g_autofree gchar *ts = NULL;

  g_return_val_if_fail (HG_IS_EVENT (self), NULL);

  dt = g_date_time_new_from_unix_utc (self->timestamp / G_USEC_PER_SEC);
  if (dt != NULL)
    {
      g_autoptr(GDateTime) precise = g_date_time_add (dt, self->timestamp % G_USEC_PER_SEC);
      ts = g_date_time_format_iso8601 (precise);
    }
  object = json_object_new ();
  json_object_set_int_member (object, "seq", (gint64) self->seq);
  json_object_set_string_member (object, "domain", hg_domain_to_string (self->domain));
  json_object_set_string_member (object, "type", self->type);
  json_object_set_string_member (object, "ts", ts != NULL ? ts : "");
  if (self->source != NULL)
    json_object_set_string_member (object, "source", self->source);
  else
    json_object_set_null_member (object, "source");
  json_object_set_object_member (object, "body", json_object_ref (self->body));
  return object;
}

/*
 * hg_event_new_from_json:
 * @object: the wire form, see hg_event_to_json()
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the event, or %NULL with %HG_ERROR_INVALID_DATA
 */
HgEvent *
hg_event_new_from_json (JsonObject *object,
                        GError **error)
{
  const gchar *type = NULL;
  const gchar *domain_str = NULL;
  const gchar *ts = NULL;
  const gchar *source = NULL;
  JsonObject *body = NULL;
  gint64 seq = 0;
  HgDomain domain;
  g_autoptr(HgEvent) event = NULL;

  if (!hg_json_object_get_string (object, "type", &type, error) ||
      !hg_json_object_get_string (object, "domain", &domain_str, error) ||
      !hg_json_object_get_int (object, "seq", 0, G_MAXINT64, &seq, error) ||
      !hg_json_object_get_optional_string (object, "ts", &ts, error) ||
      !hg_json_object_get_object (object, "body", &body, error))
    return NULL;
  if (json_object_has_member (object, "source") &&
      !json_object_get_null_member (object, "source") &&
      !hg_json_object_get_string (object, "source", &source, error))
    return NULL;
  if (!hg_event_type_is_valid (type))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "invalid event type '%s'", type);
      return NULL;
    }
  if (!hg_domain_from_string (domain_str, &domain))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "invalid domain '%s'", domain_str);
      return NULL;
    }
  /* not hg_event_new (): the type is checked above, and this cannot return NULL */
  event = g_object_new (HG_TYPE_EVENT, NULL);
  event->type = g_strdup (type);
  event->body = json_object_ref (body);
  event->domain = domain;
  event->seq = (guint64) seq;
  event->source = g_strdup (source);
  if (ts != NULL && ts[0] != '\0')
    {
      g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601 (ts, NULL);
      if (dt == NULL)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "invalid timestamp '%s'", ts);
          return NULL;
        }
      event->timestamp = g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
    }
  return g_steal_pointer (&event);
}
