/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdGrants: the resident's consent grants. A grant lets something of the personal domain
 * cross to someone else: a device's readings or the detail of the home's device alarms to
 * the municipality's care staff, night checks in a window, the home's alarms to a named
 * family member. Grants are `grant.made` and `grant.revoked` events in the personal
 * journal (the body is the grant object) and are rebuilt from it at start.
 *
 * hgd_grants_allows () is the one place that decides whether a grant lets a caller have
 * something; the API's handlers and its event fan-out (hgd_grants_event_visible ()) ask
 * it, and nothing else looks at grants. A grant is active from its start until its end
 * or its revocation, whichever is first; every question is asked with the time, so an
 * expired or revoked grant lets nothing more through from that moment. */
#include "config.h"

#include <string.h>

#include "hgd-grants.h"

#define MAX_SCOPE_ITEMS 64
#define MAX_ITEM_LENGTH 128

G_DEFINE_QUARK (hgd-grants-error-quark, hgd_grants_error)

typedef enum
{
  KIND_SHARE_READINGS,
  KIND_SHARE_ALARMS,
  KIND_NIGHT_CHECK,
  KIND_FAMILY_ACCESS,
} Kind;

static const gchar *const kind_names[] = {
  "share-readings",
  "share-alarms",
  "night-check",
  "family-access",
};

typedef struct
{
  JsonObject *json; /* (owned) the grant object as made (without "active") */
  Kind kind;
  gint64 start;
  gint64 end;     /* 0: none */
  gint64 revoked; /* 0: not revoked */
} Grant;

struct _HgdGrants
{
  GObject parent_instance;
  GPtrArray *grants; /* (owned) Grant*, in the order made */
};

G_DEFINE_TYPE (HgdGrants, hgd_grants, G_TYPE_OBJECT)

static void
grant_free (Grant *grant)
{
  json_object_unref (grant->json);
  g_free (grant);
}

static void
hgd_grants_finalize (GObject *object)
{
  HgdGrants *self = HGD_GRANTS (object);

  g_ptr_array_unref (self->grants);
  G_OBJECT_CLASS (hgd_grants_parent_class)->finalize (object);
}

static void
hgd_grants_class_init (HgdGrantsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hgd_grants_finalize;
}

static void
hgd_grants_init (HgdGrants *self)
{
  self->grants = g_ptr_array_new_with_free_func ((GDestroyNotify) grant_free);
}

/**
 * hgd_grants_new:
 *
 * Returns: (transfer full): no grants; hgd_grants_load () reads them
 */
HgdGrants *
hgd_grants_new (void)
{
  return g_object_new (HGD_TYPE_GRANTS, NULL);
}

/**
 * hgd_grants_clear:
 * @self: the grants
 *
 * Forgets every grant, active or not, at once: for the personal domain's erasure, which
 * erases the journal they were read from.
 */
void
hgd_grants_clear (HgdGrants *self)
{
  g_return_if_fail (HGD_IS_GRANTS (self));
  g_ptr_array_set_size (self->grants, 0);
}

static JsonObject *
object_copy (JsonObject *object)
{
  JsonObject *copy = json_object_new ();
  JsonObjectIter iter;
  const gchar *name;
  JsonNode *node;

  json_object_iter_init (&iter, object);
  while (json_object_iter_next (&iter, &name, &node))
    json_object_set_member (copy, name, json_node_copy (node));
  return copy;
}

/* Times ---------------------------------------------------------------------------------- */

/* UTC, with microseconds when there are any: a grant acts from the exact moment it names,
 * so a reading taken just before it stays unshared. */
static gchar *
time_to_string (gint64 usec)
{
  g_autoptr(GDateTime) seconds = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);
  g_autoptr(GDateTime) dt = seconds != NULL ? g_date_time_add (seconds, usec % G_USEC_PER_SEC)
                                            : NULL;

  if (dt == NULL)
    return g_strdup ("");
  return g_date_time_format (dt, usec % G_USEC_PER_SEC != 0 ? "%Y-%m-%dT%H:%M:%S.%fZ"
                                                             : "%Y-%m-%dT%H:%M:%SZ");
}

static gboolean
time_from_string (const gchar *str,
                  gint64 *usec)
{
  g_autoptr(GDateTime) dt = NULL;

  if (str == NULL || strlen (str) > 64)
    return FALSE;
  dt = g_date_time_new_from_iso8601 (str, NULL);
  if (dt == NULL)
    return FALSE;
  *usec = g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
  return TRUE;
}

/* "HH:MM" as minutes since midnight */
static gboolean
clock_from_string (const gchar *str,
                   guint *minutes)
{
  if (str == NULL || strlen (str) != 5 || !g_ascii_isdigit (str[0]) || !g_ascii_isdigit (str[1]) ||
      str[2] != ':' || !g_ascii_isdigit (str[3]) || !g_ascii_isdigit (str[4]))
    return FALSE;
  *minutes = (guint) ((str[0] - '0') * 10 + (str[1] - '0')) * 60 +
             (guint) ((str[3] - '0') * 10 + (str[4] - '0'));
  return (str[0] - '0') * 10 + (str[1] - '0') < 24 && (str[3] - '0') < 6;
}

/* Validation ------------------------------------------------------------------------------ */

static gboolean G_GNUC_PRINTF (2, 3)
invalid (GError **error,
         const gchar *format,
         ...)
{
  va_list args;
  g_autofree gchar *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, HGD_GRANTS_ERROR, HGD_GRANTS_ERROR_INVALID, message);
  return FALSE;
}

static gboolean
kind_from_string (const gchar *str,
                  Kind *kind)
{
  for (guint i = 0; str != NULL && i < G_N_ELEMENTS (kind_names); i++)
    {
      if (g_strcmp0 (str, kind_names[i]) == 0)
        {
          *kind = (Kind) i;
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean
is_name (const gchar *str)
{
  if (str == NULL || *str == '\0' || strlen (str) > MAX_ITEM_LENGTH || !g_utf8_validate (str, -1, NULL))
    return FALSE;
  for (const gchar *p = str; *p != '\0'; p++)
    {
      if ((guchar) *p < 0x20 || *p == 0x7f)
        return FALSE;
    }
  return TRUE;
}

/* A non-empty array of distinct names, at most MAX_SCOPE_ITEMS. */
static JsonArray *
validate_names (JsonObject *scope,
                const gchar *member,
                GError **error)
{
  JsonNode *node = json_object_get_member (scope, member);
  g_autoptr(JsonArray) copy = json_array_new ();
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      invalid (error, "scope.%s: must be an array of names", member);
      return NULL;
    }
  array = json_node_get_array (node);
  if (json_array_get_length (array) == 0 || json_array_get_length (array) > MAX_SCOPE_ITEMS)
    {
      invalid (error, "scope.%s: must name 1 to %d items", member, MAX_SCOPE_ITEMS);
      return NULL;
    }
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *item = json_array_get_element (array, i);
      const gchar *name = JSON_NODE_HOLDS_VALUE (item) &&
                                  json_node_get_value_type (item) == G_TYPE_STRING
                              ? json_node_get_string (item)
                              : NULL;

      if (!is_name (name))
        {
          invalid (error, "scope.%s[%u]: must be a non-empty name of at most %d bytes", member, i,
                   MAX_ITEM_LENGTH);
          return NULL;
        }
      for (guint j = 0; j < json_array_get_length (copy); j++)
        {
          if (g_strcmp0 (json_array_get_string_element (copy, j), name) == 0)
            {
              invalid (error, "scope.%s[%u]: '%s' is named twice", member, i, name);
              return NULL;
            }
        }
      json_array_add_string_element (copy, name);
    }
  return g_steal_pointer (&copy);
}

static JsonObject *
validate_scope (Kind kind,
                JsonObject *scope,
                GError **error)
{
  g_autoptr(JsonObject) out = json_object_new ();
  static const gchar *const readings_members[] = { "devices", NULL };
  static const gchar *const alarms_members[] = { "alarm_types", NULL };
  static const gchar *const night_members[] = { "window", "max_seconds", NULL };
  static const gchar *const window_members[] = { "from", "to", NULL };
  static const gchar *const family_members[] = { "user", "actions", NULL };
  const gchar *const *members[] = { readings_members, alarms_members, night_members,
                                    family_members };
  JsonObjectIter iter;
  const gchar *name;
  JsonNode *node;

  json_object_iter_init (&iter, scope);
  while (json_object_iter_next (&iter, &name, &node))
    {
      if (!g_strv_contains (members[kind], name))
        {
          invalid (error, "scope.%s: not a member of a %s scope", name, kind_names[kind]);
          return NULL;
        }
    }

  switch (kind)
    {
    case KIND_SHARE_READINGS:
    case KIND_SHARE_ALARMS:
      {
        const gchar *member = kind == KIND_SHARE_READINGS ? "devices" : "alarm_types";
        JsonArray *names = validate_names (scope, member, error);

        if (names == NULL)
          return NULL;
        for (guint i = 0; kind == KIND_SHARE_ALARMS && i < json_array_get_length (names); i++)
          {
            if (!hg_alarm_type_is_valid (json_array_get_string_element (names, i)))
              {
                json_array_unref (names);
                invalid (error, "scope.alarm_types[%u]: not an alarm type", i);
                return NULL;
              }
          }
        json_object_set_array_member (out, member, names);
        break;
      }
    case KIND_NIGHT_CHECK:
      {
        JsonNode *window_node = json_object_get_member (scope, "window");
        JsonObject *window;
        JsonObject *window_out;
        const gchar *from = NULL;
        const gchar *to = NULL;
        guint from_min = 0;
        guint to_min = 0;

        if (window_node == NULL || !JSON_NODE_HOLDS_OBJECT (window_node))
          {
            invalid (error, "scope.window: must be an object {\"from\": \"HH:MM\", \"to\": \"HH:MM\"}");
            return NULL;
          }
        window = json_node_get_object (window_node);
        json_object_iter_init (&iter, window);
        while (json_object_iter_next (&iter, &name, &node))
          {
            if (!g_strv_contains (window_members, name))
              {
                invalid (error, "scope.window.%s: not a member of a window", name);
                return NULL;
              }
          }
        from = json_object_get_string_member_with_default (window, "from", NULL);
        to = json_object_get_string_member_with_default (window, "to", NULL);
        if (!clock_from_string (from, &from_min))
          {
            invalid (error, "scope.window.from: must be a time of day as HH:MM");
            return NULL;
          }
        if (!clock_from_string (to, &to_min))
          {
            invalid (error, "scope.window.to: must be a time of day as HH:MM");
            return NULL;
          }
        if (from_min == to_min)
          {
            invalid (error, "scope.window.to: must differ from scope.window.from");
            return NULL;
          }
        window_out = json_object_new ();
        json_object_set_string_member (window_out, "from", from);
        json_object_set_string_member (window_out, "to", to);
        json_object_set_object_member (out, "window", window_out);

        /* optional: a grant journaled before the member existed reads as the default */
        node = json_object_get_member (scope, "max_seconds");
        if (node != NULL)
          {
            gint64 max_seconds = 0;

            if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64 ||
                (max_seconds = json_node_get_int (node)) < 1 ||
                max_seconds > HGD_GRANTS_NIGHT_CHECK_MAX_SECONDS)
              {
                invalid (error, "scope.max_seconds: must be a whole number of seconds per look, "
                                "1 to %d", HGD_GRANTS_NIGHT_CHECK_MAX_SECONDS);
                return NULL;
              }
            json_object_set_int_member (out, "max_seconds", max_seconds);
          }
        break;
      }
    case KIND_FAMILY_ACCESS:
      {
        const gchar *user = json_object_get_string_member_with_default (scope, "user", NULL);
        JsonArray *actions;

        if (!is_name (user))
          {
            invalid (error, "scope.user: must name a family member's user");
            return NULL;
          }
        actions = validate_names (scope, "actions", error);
        if (actions == NULL)
          return NULL;
        for (guint i = 0; i < json_array_get_length (actions); i++)
          {
            const gchar *action = json_array_get_string_element (actions, i);
            if (g_strcmp0 (action, "view") != 0 && g_strcmp0 (action, "act") != 0)
              {
                json_array_unref (actions);
                invalid (error, "scope.actions[%u]: must be \"view\" or \"act\"", i);
                return NULL;
              }
          }
        json_object_set_string_member (out, "user", user);
        json_object_set_array_member (out, "actions", actions);
        break;
      }
    }
  return g_steal_pointer (&out);
}

/**
 * hgd_grants_validate:
 * @request: a `POST /api/v1/grants` body: kind, scope, and optionally grantee, start, end
 * @made_by: who makes it, as `user:<name>`
 * @now: the time, microseconds since the epoch
 * @error: an %HGD_GRANTS_ERROR_INVALID naming the bad member
 *
 * Returns: (transfer full) (nullable): the grant object to journal as `grant.made`, with a
 *   new id; %NULL if @request is not a valid grant
 */
JsonObject *
hgd_grants_validate (JsonObject *request,
                     const gchar *made_by,
                     gint64 now,
                     GError **error)
{
  static const gchar *const members[] = { "kind", "scope", "grantee", "start", "end", NULL };
  g_autoptr(JsonObject) grant = json_object_new ();
  g_autoptr(JsonObject) scope = NULL;
  g_autofree gchar *expected_grantee = NULL;
  g_autofree gchar *id = NULL;
  g_autofree gchar *made = NULL;
  JsonNode *node;
  const gchar *kind_name;
  const gchar *grantee;
  gint64 start = now;
  gint64 end = 0;
  Kind kind;
  JsonObjectIter iter;
  const gchar *name;

  g_return_val_if_fail (request != NULL, NULL);
  g_return_val_if_fail (made_by != NULL, NULL);

  json_object_iter_init (&iter, request);
  while (json_object_iter_next (&iter, &name, &node))
    {
      if (!g_strv_contains (members, name))
        {
          invalid (error, "%s: not a member of a grant (kind, scope, grantee, start, end)", name);
          return NULL;
        }
    }
  kind_name = json_object_get_string_member_with_default (request, "kind", NULL);
  if (!kind_from_string (kind_name, &kind))
    {
      invalid (error, "kind: must be share-readings, share-alarms, night-check or family-access");
      return NULL;
    }
  node = json_object_get_member (request, "scope");
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      invalid (error, "scope: must be an object");
      return NULL;
    }
  scope = validate_scope (kind, json_node_get_object (node), error);
  if (scope == NULL)
    return NULL;

  if (kind == KIND_FAMILY_ACCESS)
    expected_grantee = g_strconcat ("user:", json_object_get_string_member (scope, "user"), NULL);
  else
    expected_grantee = g_strdup ("municipality");
  grantee = json_object_get_string_member_with_default (request, "grantee", expected_grantee);
  if (g_strcmp0 (grantee, expected_grantee) != 0)
    {
      invalid (error, "grantee: a %s grant is to \"%s\"", kind_name, expected_grantee);
      return NULL;
    }

  node = json_object_get_member (request, "start");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node) &&
      (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING ||
       !time_from_string (json_node_get_string (node), &start)))
    {
      invalid (error, "start: must be an ISO-8601 time with a time zone");
      return NULL;
    }
  node = json_object_get_member (request, "end");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node) &&
      (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING ||
       !time_from_string (json_node_get_string (node), &end)))
    {
      invalid (error, "end: must be an ISO-8601 time with a time zone, or null");
      return NULL;
    }
  if (end != 0 && end <= start)
    {
      invalid (error, "end: must be after start");
      return NULL;
    }
  if (end != 0 && end <= now)
    {
      invalid (error, "end: must be in the future");
      return NULL;
    }

  id = g_uuid_string_random ();
  made = time_to_string (now);
  json_object_set_string_member (grant, "id", id);
  json_object_set_string_member (grant, "kind", kind_names[kind]);
  json_object_set_object_member (grant, "scope", g_steal_pointer (&scope));
  json_object_set_string_member (grant, "grantee", expected_grantee);
  {
    g_autofree gchar *start_str = time_to_string (start);
    json_object_set_string_member (grant, "start", start_str);
  }
  if (end != 0)
    {
      g_autofree gchar *end_str = time_to_string (end);
      json_object_set_string_member (grant, "end", end_str);
    }
  else
    {
      json_object_set_null_member (grant, "end");
    }
  json_object_set_string_member (grant, "made_by", made_by);
  json_object_set_string_member (grant, "made", made);
  json_object_set_null_member (grant, "revoked");
  json_object_set_null_member (grant, "revoked_by");
  return g_steal_pointer (&grant);
}

/* The grant set ----------------------------------------------------------------------------- */

static Grant *
find (HgdGrants *self,
      const gchar *id)
{
  for (guint i = 0; id != NULL && i < self->grants->len; i++)
    {
      Grant *grant = g_ptr_array_index (self->grants, i);
      if (g_strcmp0 (json_object_get_string_member_with_default (grant->json, "id", NULL), id) == 0)
        return grant;
    }
  return NULL;
}

/* A journalled grant object, checked again: the journal is trusted, but not blindly. */
static Grant *
grant_from_json (JsonObject *object)
{
  g_autoptr(GError) error = NULL;
  Grant *grant;
  Kind kind;
  gint64 start = 0;
  gint64 end = 0;
  JsonNode *scope = json_object_get_member (object, "scope");
  JsonNode *end_node = json_object_get_member (object, "end");
  g_autoptr(JsonObject) checked = NULL;

  if (json_object_get_string_member_with_default (object, "id", NULL) == NULL ||
      !kind_from_string (json_object_get_string_member_with_default (object, "kind", NULL), &kind) ||
      scope == NULL || !JSON_NODE_HOLDS_OBJECT (scope) ||
      !time_from_string (json_object_get_string_member_with_default (object, "start", NULL), &start))
    return NULL;
  checked = validate_scope (kind, json_node_get_object (scope), &error);
  if (checked == NULL)
    return NULL;
  if (end_node != NULL && !JSON_NODE_HOLDS_NULL (end_node) &&
      !time_from_string (json_object_get_string_member_with_default (object, "end", NULL), &end))
    return NULL;
  grant = g_new0 (Grant, 1);
  grant->json = object_copy (object);
  grant->kind = kind;
  grant->start = start;
  grant->end = end;
  return grant;
}

/**
 * hgd_grants_apply_event:
 * @self: the grants
 * @event: an event of the personal journal; anything but `grant.made` and `grant.revoked`
 *   is ignored, and applying one twice changes nothing
 */
void
hgd_grants_apply_event (HgdGrants *self,
                        HgEvent *event)
{
  const gchar *type;
  JsonObject *body;
  const gchar *id;

  g_return_if_fail (HGD_IS_GRANTS (self));
  g_return_if_fail (event != NULL);

  type = hg_event_get_event_type (event);
  body = hg_event_get_body (event);
  id = json_object_get_string_member_with_default (body, "id", NULL);
  if (g_strcmp0 (type, HGD_GRANT_EVENT_MADE) == 0)
    {
      Grant *grant;

      if (find (self, id) != NULL)
        return;
      grant = grant_from_json (body);
      if (grant == NULL)
        {
          g_warning ("ignoring a malformed grant.made event (seq %" G_GUINT64_FORMAT ")",
                     hg_event_get_seq (event));
          return;
        }
      g_ptr_array_add (self->grants, grant);
    }
  else if (g_strcmp0 (type, HGD_GRANT_EVENT_REVOKED) == 0)
    {
      Grant *grant = find (self, id);
      gint64 revoked = 0;

      if (grant == NULL || grant->revoked != 0 ||
          !time_from_string (json_object_get_string_member_with_default (body, "revoked", NULL),
                             &revoked))
        return;
      grant->revoked = MAX (revoked, 1);
      json_object_set_string_member (grant->json, "revoked",
                                     json_object_get_string_member (body, "revoked"));
      json_object_set_string_member (
          grant->json, "revoked_by",
          json_object_get_string_member_with_default (body, "revoked_by", ""));
    }
}

/**
 * hgd_grants_load:
 * @self: the grants
 * @personal: the personal journal
 * @error: return location for a #GError
 *
 * Reads every grant made and revoked from @personal.
 *
 * Returns: whether the journal could be read
 */
gboolean
hgd_grants_load (HgdGrants *self,
                 HgdJournal *personal,
                 GError **error)
{
  guint64 after = 0;

  g_return_val_if_fail (HGD_IS_GRANTS (self), FALSE);
  g_return_val_if_fail (HGD_IS_JOURNAL (personal), FALSE);

  for (;;)
    {
      g_autoptr(GPtrArray) events = hgd_journal_query_events (personal, after, 1000, error);

      if (events == NULL)
        return FALSE;
      for (guint i = 0; i < events->len; i++)
        {
          HgEvent *event = g_ptr_array_index (events, i);
          if (g_str_has_prefix (hg_event_get_event_type (event), "grant."))
            hgd_grants_apply_event (self, event);
          after = hg_event_get_seq (event);
        }
      if (events->len < 1000)
        return TRUE;
    }
}

/**
 * hgd_grants_revoke:
 * @self: the grants
 * @id: the grant's id
 * @revoked_by: who revokes it, as `user:<name>`
 * @now: the time
 * @error: %HGD_GRANTS_ERROR_NOT_FOUND or %HGD_GRANTS_ERROR_REVOKED
 *
 * Revokes the grant at once, in memory; the caller journals the answer as
 * `grant.revoked`.
 *
 * Returns: (transfer full) (nullable): the revoked grant object
 */
JsonObject *
hgd_grants_revoke (HgdGrants *self,
                   const gchar *id,
                   const gchar *revoked_by,
                   gint64 now,
                   GError **error)
{
  Grant *grant;
  g_autofree gchar *revoked = NULL;

  g_return_val_if_fail (HGD_IS_GRANTS (self), NULL);

  grant = find (self, id);
  if (grant == NULL)
    {
      g_set_error (error, HGD_GRANTS_ERROR, HGD_GRANTS_ERROR_NOT_FOUND, "no grant '%s'", id);
      return NULL;
    }
  if (grant->revoked != 0)
    {
      g_set_error (error, HGD_GRANTS_ERROR, HGD_GRANTS_ERROR_REVOKED,
                   "grant '%s' is revoked already", id);
      return NULL;
    }
  revoked = time_to_string (now);
  grant->revoked = MAX (now, 1);
  json_object_set_string_member (grant->json, "revoked", revoked);
  json_object_set_string_member (grant->json, "revoked_by", revoked_by);
  return object_copy (grant->json);
}

static gboolean
grant_is_active (Grant *grant,
                 gint64 now)
{
  /* a revocation acts from the moment it is made, whatever time it names */
  return grant->revoked == 0 && grant->start <= now && (grant->end == 0 || now < grant->end);
}

/**
 * hgd_grants_to_json:
 * @self: the grants
 * @grantee: (nullable): only the grants to this grantee (`municipality`, `user:<name>`)
 * @now: the time, for `active`
 *
 * Returns: (transfer full): the grant objects, in the order made, each with `active`
 */
JsonArray *
hgd_grants_to_json (HgdGrants *self,
                    const gchar *grantee,
                    gint64 now)
{
  JsonArray *array = json_array_new ();

  g_return_val_if_fail (HGD_IS_GRANTS (self), array);

  for (guint i = 0; i < self->grants->len; i++)
    {
      Grant *grant = g_ptr_array_index (self->grants, i);
      JsonObject *object;

      if (grantee != NULL &&
          g_strcmp0 (json_object_get_string_member_with_default (grant->json, "grantee", NULL),
                     grantee) != 0)
        continue;
      object = object_copy (grant->json);
      json_object_set_boolean_member (object, "active", grant_is_active (grant, now));
      json_array_add_object_element (array, object);
    }
  return array;
}

/**
 * hgd_grants_get:
 * @self: the grants
 * @id: a grant's id
 * @now: the time, for `active`
 *
 * Returns: (transfer full) (nullable): the grant object with `active`, or %NULL
 */
JsonObject *
hgd_grants_get (HgdGrants *self,
                const gchar *id,
                gint64 now)
{
  Grant *grant;
  JsonObject *object;

  g_return_val_if_fail (HGD_IS_GRANTS (self), NULL);

  grant = find (self, id);
  if (grant == NULL)
    return NULL;
  object = object_copy (grant->json);
  json_object_set_boolean_member (object, "active", grant_is_active (grant, now));
  return object;
}

/* Policy ---------------------------------------------------------------------------------- */

static gboolean
array_contains (JsonObject *scope,
                const gchar *member,
                const gchar *value)
{
  JsonArray *array = json_object_get_array_member (scope, member);

  for (guint i = 0; value != NULL && array != NULL && i < json_array_get_length (array); i++)
    {
      if (g_strcmp0 (json_array_get_string_element (array, i), value) == 0)
        return TRUE;
    }
  return FALSE;
}

/* Whether @grant, active, covers @what of @object for @role and @username. */
static gboolean
grant_covers (Grant *grant,
              HgdRole role,
              const gchar *username,
              HgdGrantAccess what,
              const gchar *object)
{
  JsonObject *scope = json_object_get_object_member (grant->json, "scope");

  switch (what)
    {
    case HGD_GRANT_READINGS:
      /* "the municipality" is its care staff: neither IT, machine clients nor auditors */
      return role == HGD_ROLE_STAFF && grant->kind == KIND_SHARE_READINGS &&
             array_contains (scope, "devices", object);
    case HGD_GRANT_ALARM_DETAIL:
      return role == HGD_ROLE_STAFF && grant->kind == KIND_SHARE_ALARMS &&
             array_contains (scope, "alarm_types", object);
    case HGD_GRANT_ALARM_VIEW:
    case HGD_GRANT_ALARM_ACT:
      /* act lets one see what one acts on */
      return role == HGD_ROLE_FAMILY && grant->kind == KIND_FAMILY_ACCESS &&
             g_strcmp0 (json_object_get_string_member (scope, "user"), username) == 0 &&
             (array_contains (scope, "actions", "act") ||
              (what == HGD_GRANT_ALARM_VIEW && array_contains (scope, "actions", "view")));
    case HGD_GRANT_NIGHT_CHECK:
      return grant->kind == KIND_NIGHT_CHECK;
    }
  return FALSE;
}

/* Whether @role needs no grant for @what: the resident and the guardian own the home's
 * data; alarms are municipal records, so municipal roles see and act on them by their
 * route rules; everything else of the personal domain needs a grant. */
static gboolean
needs_no_grant (HgdRole role,
                HgdGrantAccess what)
{
  if (role == HGD_ROLE_RESIDENT || role == HGD_ROLE_GUARDIAN)
    return TRUE;
  if (what == HGD_GRANT_ALARM_VIEW || what == HGD_GRANT_ALARM_ACT)
    return hgd_role_get_domain (role) == HG_DOMAIN_MUNICIPAL;
  return FALSE;
}

/**
 * hgd_grants_allowed_since:
 * @self: the grants
 * @role: the caller's role
 * @username: the caller's user name
 * @what: what the caller wants
 * @object: (nullable): of what, see #HgdGrantAccess
 * @now: the time
 *
 * Returns: -1 when no active grant (or the caller's own right) lets @role have @what of
 *   @object at @now; else since when: 0 for the caller's own right, else the earliest
 *   start of the active grants that cover it (nothing from before a grant is shared)
 */
gint64
hgd_grants_allowed_since (HgdGrants *self,
                          HgdRole role,
                          const gchar *username,
                          HgdGrantAccess what,
                          const gchar *object,
                          gint64 now)
{
  gint64 since = -1;

  g_return_val_if_fail (HGD_IS_GRANTS (self), -1);

  if (needs_no_grant (role, what))
    return 0;
  for (guint i = 0; i < self->grants->len; i++)
    {
      Grant *grant = g_ptr_array_index (self->grants, i);
      if (grant_is_active (grant, now) && grant_covers (grant, role, username, what, object))
        since = since < 0 ? grant->start : MIN (since, grant->start);
    }
  return since;
}

/**
 * hgd_grants_allows:
 * @self: the grants
 * @role: the caller's role
 * @username: the caller's user name
 * @what: what the caller wants
 * @object: (nullable): of what, see #HgdGrantAccess
 * @now: the time
 *
 * The one decision on what crosses from the personal domain: whether @role (and, for
 * family, @username) may have @what of @object at @now. Resident and guardian always
 * may; care staff a device's readings or a device alarm's detail under an active
 * share-readings or share-alarms grant; a family member the home's alarms under an
 * active family-access grant naming them (`view`; `act` also lets them cancel).
 *
 * Returns: whether it is allowed
 */
gboolean
hgd_grants_allows (HgdGrants *self,
                   HgdRole role,
                   const gchar *username,
                   HgdGrantAccess what,
                   const gchar *object,
                   gint64 now)
{
  return hgd_grants_allowed_since (self, role, username, what, object, now) >= 0;
}

/* The seconds per look of a night-check grant: its `max_seconds`, or the default for one
 * made without (or before the member existed). */
static guint
night_check_max_seconds (Grant *grant)
{
  JsonObject *scope = json_object_get_object_member (grant->json, "scope");

  return (guint) json_object_get_int_member_with_default (scope, "max_seconds",
                                                          HGD_GRANTS_NIGHT_CHECK_DEFAULT_SECONDS);
}

/**
 * hgd_grants_night_check_max_seconds:
 * @self: the grants
 * @now: the time
 *
 * For the night checks of the video work: how long one look may last now, the scope's
 * `max_seconds` (default %HGD_GRANTS_NIGHT_CHECK_DEFAULT_SECONDS) of the active
 * night-check grant whose window (local time of the gateway; a window may span
 * midnight) holds @now; of several, the strictest.
 *
 * Returns: the seconds, or 0 if no night check may be made now
 */
guint
hgd_grants_night_check_max_seconds (HgdGrants *self,
                                    gint64 now)
{
  g_autoptr(GDateTime) local = NULL;
  guint minute;
  guint limit = 0;

  g_return_val_if_fail (HGD_IS_GRANTS (self), 0);

  local = g_date_time_new_from_unix_local (now / G_USEC_PER_SEC);
  if (local == NULL)
    return 0;
  minute = (guint) (g_date_time_get_hour (local) * 60 + g_date_time_get_minute (local));
  for (guint i = 0; i < self->grants->len; i++)
    {
      Grant *grant = g_ptr_array_index (self->grants, i);
      JsonObject *window;
      guint from = 0;
      guint to = 0;

      if (!grant_is_active (grant, now) || grant->kind != KIND_NIGHT_CHECK)
        continue;
      window = json_object_get_object_member (json_object_get_object_member (grant->json, "scope"),
                                              "window");
      if (!clock_from_string (json_object_get_string_member (window, "from"), &from) ||
          !clock_from_string (json_object_get_string_member (window, "to"), &to))
        continue;
      if (from < to ? (minute >= from && minute < to) : (minute >= from || minute < to))
        limit = limit == 0 ? night_check_max_seconds (grant)
                           : MIN (limit, night_check_max_seconds (grant));
    }
  return limit;
}

/**
 * hgd_grants_night_check_allowed:
 * @self: the grants
 * @now: the time
 *
 * For the night checks of the video work: whether an active night-check grant's window
 * (local time of the gateway; a window may span midnight) holds @now.
 *
 * Returns: whether a night check may be made now
 */
gboolean
hgd_grants_night_check_allowed (HgdGrants *self,
                                gint64 now)
{
  g_return_val_if_fail (HGD_IS_GRANTS (self), FALSE);
  return hgd_grants_night_check_max_seconds (self, now) > 0;
}

/**
 * hgd_grants_event_visible:
 * @self: the grants
 * @role: the role of a stream's caller
 * @username: the caller's user name
 * @event: an event of either journal
 * @now: the time
 *
 * The event fan-out's rule, on hgd_grants_allows (): each domain's callers see their own
 * domain's events, except that a family member sees the `grant.*` events only of grants
 * to them and `alarm.own` only with alarm access; of the personal domain, care staff see
 * the `sensor.reading` events of shared devices, nothing else.
 *
 * Returns: whether a stream of @role's caller may carry @event
 */
gboolean
hgd_grants_event_visible (HgdGrants *self,
                          HgdRole role,
                          const gchar *username,
                          HgEvent *event,
                          gint64 now)
{
  HgDomain own = hgd_role_get_domain (role);
  const gchar *type = hg_event_get_event_type (event);
  JsonObject *body = hg_event_get_body (event);

  g_return_val_if_fail (HGD_IS_GRANTS (self), FALSE);

  if (role == HGD_ROLE_AUDITOR)
    return FALSE;
  if (hg_event_get_domain (event) == own)
    {
      if (role != HGD_ROLE_FAMILY)
        return TRUE;
      if (g_str_has_prefix (type, "grant."))
        {
          g_autofree gchar *me = g_strconcat ("user:", username, NULL);
          return g_strcmp0 (json_object_get_string_member_with_default (body, "grantee", NULL),
                            me) == 0;
        }
      if (g_strcmp0 (type, "alarm.own") == 0)
        return hgd_grants_allows (self, role, username, HGD_GRANT_ALARM_VIEW, NULL, now);
      return TRUE;
    }
  if (hg_event_get_domain (event) == HG_DOMAIN_PERSONAL && g_strcmp0 (type, "sensor.reading") == 0)
    return hgd_grants_allows (self, role, username, HGD_GRANT_READINGS,
                              json_object_get_string_member_with_default (body, "device", NULL),
                              now);
  return FALSE;
}

/**
 * hgd_grants_plugin_event_visible:
 * @self: the grants
 * @domain: a plugin instance's domain
 * @event: an event of either journal
 * @now: the time
 *
 * The plugins' side of the fan-out rule, on hgd_grants_allows (): a share-readings grant
 * is to the municipality, its plugins as its care staff, so a municipal plugin instance
 * may be sent the `sensor.reading` events of the shared devices and nothing else of the
 * personal domain. Whether it is sent them at all is still its capabilities' decision
 * (sensor.subscribe).
 *
 * Returns: whether a plugin instance of @domain may be sent @event of the other domain
 */
gboolean
hgd_grants_plugin_event_visible (HgdGrants *self,
                                 HgDomain domain,
                                 HgEvent *event,
                                 gint64 now)
{
  g_return_val_if_fail (HGD_IS_GRANTS (self), FALSE);
  g_return_val_if_fail (HG_IS_EVENT (event), FALSE);

  if (domain != HG_DOMAIN_MUNICIPAL || hg_event_get_domain (event) != HG_DOMAIN_PERSONAL ||
      g_strcmp0 (hg_event_get_event_type (event), "sensor.reading") != 0)
    return FALSE;
  return hgd_grants_allows (self, HGD_ROLE_STAFF, NULL, HGD_GRANT_READINGS,
                            json_object_get_string_member_with_default (hg_event_get_body (event),
                                                                        "device", NULL),
                            now);
}
