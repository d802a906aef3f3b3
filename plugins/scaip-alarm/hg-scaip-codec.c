/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The SCAIP codec (SS 91100 Tables 1 and 2). Requests are written strictly: fields in the
 * standard's order, lengths and character sets of the normative table, text escaped, no
 * XML declaration and no namespace, as the standard's examples. Documents are read
 * liberally with GMarkupParseContext: optional XML declaration, any namespace prefix,
 * zero-padded numbers, the `<scaip>` root some receivers use, unknown elements ignored;
 * but within a size limit and with a precise error for anything malformed.
 *
 * The choices the standard leaves open are in the two tables below, alarm_types and
 * locations, and nowhere else (PROTOCOL.md §3). */
#include <string.h>

#include "hg-scaip-codec.h"

G_DEFINE_QUARK (hg - scaip - codec - error - quark, hg_scaip_codec_error)

/* hemgate alarm type → device type (Annex A), status code (Annex C) and the least
 * priority an alarm of that type is sent with (PROTOCOL.md §3). */
static const struct
{
  const gchar *type;
  gint dty;
  gint stc;
  gint pri;
} alarm_types[] = {
  { "assistance", 3, 10, 5 }, /* personal trigger; alarm (manual) */
  { "fall", 5, 9, 7 },        /* fall trigger/detector; alarm (automatic) */
  { "fire", 23, 9, 9 },       /* smoke detector; alarm (automatic) */
  { "water", 33, 9, 6 },      /* flood detector; alarm (automatic) */
  { "inactivity", 10, 9, 6 }, /* activity detector; alarm (automatic) */
  { "door", 14, 77, 4 },      /* door sensor; open too long */
  { "technical", 2, 42, 3 },  /* local unit and controller; failure */
  { "test", 2, 102, 0 },      /* local unit and controller; test transmission, primary */
};

/* The device type of a heartbeat: the local unit and controller itself. */
#define DTY_LOCAL_UNIT 2

/* Room names (English and Swedish, compared case-folded) → location code (Annex D).
 * Anything else that is not empty is 001, undefined, with the text in <lte>. */
static const struct
{
  const gchar *name;
  gint lco;
} locations[] = {
  /* clang-format off */
  { "home", 2 }, { "hem", 2 },
  { "outside", 7 }, { "balcony", 7 }, { "balkong", 7 },
  { "basement", 10 }, { "källare", 10 },
  { "bathroom", 11 }, { "badrum", 11 }, { "wc", 11 }, { "toalett", 11 },
  { "bedroom", 12 }, { "sovrum", 12 },
  { "dining room", 13 }, { "matsal", 13 },
  { "garage", 15 },
  { "garden", 16 }, { "trädgård", 16 },
  { "kitchen", 21 }, { "kök", 21 },
  { "laundry", 22 }, { "tvättstuga", 22 },
  { "stairs", 25 }, { "trappa", 25 },
  { "door", 38 }, { "dörr", 38 },
  { "front door", 39 }, { "ytterdörr", 39 },
  { "back door", 40 }, { "bakdörr", 40 },
  { "hallway", 42 }, { "hall", 42 },
  { "living room", 43 }, { "vardagsrum", 43 },
  { "apartment", 44 }, { "lägenhet", 44 },
  { "office", 48 }, { "kontor", 48 },
  { "room", 49 }, { "rum", 49 },
  /* clang-format on */
};

#define LCO_UNDEFINED 1

/* Field limits of the normative tables (not Annex F, see SCAIP.md §1.8). */
#define REF_MAX 16
#define CID_MAX 32
#define DID_MAX 16
#define CRD_MAX 256
#define TEXT_MAX 32
#define STE_MAX 128
#define TNU_MAX 256

/* Nesting below the fields: only <lge> has children. */
#define MAX_DEPTH 6

static const gchar *const mty_names[] = { "ME", "RE", "IN", "PI" };

const gchar *
hg_scaip_message_type_to_string (HgScaipMessageType mty)
{
  if ((guint) mty >= G_N_ELEMENTS (mty_names))
    return NULL;
  return mty_names[mty];
}

static gboolean
message_type_from_string (const gchar *str,
                          HgScaipMessageType *mty)
{
  for (guint i = 0; i < G_N_ELEMENTS (mty_names); i++)
    {
      if (g_ascii_strcasecmp (str, mty_names[i]) == 0)
        {
          *mty = (HgScaipMessageType) i;
          return TRUE;
        }
    }
  return FALSE;
}

/* character checks */

static gboolean
is_digits (const gchar *str,
           gsize min,
           gsize max)
{
  gsize len = strlen (str);

  if (len < min || len > max)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      if (!g_ascii_isdigit (str[i]))
        return FALSE;
    }
  return TRUE;
}

/**
 * hg_scaip_ref_is_valid:
 * @ref: (nullable): a reference
 *
 * Returns: %TRUE for 1 to 16 characters of `[0-9A-Za-z]`
 */
gboolean
hg_scaip_ref_is_valid (const gchar *ref)
{
  gsize len;

  if (ref == NULL)
    return FALSE;
  len = strlen (ref);
  if (len < 1 || len > REF_MAX)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      if (!g_ascii_isalnum (ref[i]))
        return FALSE;
    }
  return TRUE;
}

static gboolean
is_printable_ascii (const gchar *str,
                    gsize min,
                    gsize max)
{
  gsize len = strlen (str);

  if (len < min || len > max)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      if ((guchar) str[i] < 32 || (guchar) str[i] > 126)
        return FALSE;
    }
  return TRUE;
}

/* XML 1.0 §2.2, production Char: what a document may hold, literally or as a character
 * reference. g_markup_escape_text () writes the other control characters as references
 * (&#x7;), which only XML 1.1 allows. */
static gboolean
is_xml_char (gunichar c)
{
  return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF)
         || (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* What a one-line text field may not hold: anything XML 1.0 forbids, control characters
 * (tab, line feed and carriage return among them, DEL, C1) and line or paragraph
 * separators. */
static gboolean
breaks_line_of_text (gunichar c)
{
  GUnicodeType type = g_unichar_type (c);

  return !is_xml_char (c) || type == G_UNICODE_CONTROL || type == G_UNICODE_LINE_SEPARATOR
         || type == G_UNICODE_PARAGRAPH_SEPARATOR;
}

static gboolean
is_text (const gchar *str,
         glong max_chars)
{
  glong chars;

  if (!g_utf8_validate (str, -1, NULL))
    return FALSE;
  for (const gchar *p = str; *p != '\0'; p = g_utf8_next_char (p))
    {
      if (breaks_line_of_text (g_utf8_get_char (p)))
        return FALSE;
    }
  chars = g_utf8_strlen (str, -1);
  return chars >= 1 && chars <= max_chars;
}

/**
 * hg_scaip_new_ref:
 *
 * Returns: (transfer full): 16 random characters of `[0-9A-Za-z]`, for a heartbeat
 */
gchar *
hg_scaip_new_ref (void)
{
  static const gchar alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  gchar *ref = g_new0 (gchar, REF_MAX + 1);

  for (guint i = 0; i < REF_MAX; i++)
    ref[i] = alnum[g_random_int_range (0, sizeof (alnum) - 1)];
  return ref;
}

/**
 * hg_scaip_location_code:
 * @location: (nullable): a room name, e.g. `kitchen` or `Kök`
 *
 * Returns: the Annex D location code, 1 (undefined) for a name the table does not know,
 *   or %HG_SCAIP_OMITTED for no location
 */
gint
hg_scaip_location_code (const gchar *location)
{
  /* the table's names case-folded once, for the life of the process: every alarm asks */
  static gchar **folded_names = NULL;
  g_autofree gchar *stripped = NULL;
  g_autofree gchar *folded = NULL;

  if (g_once_init_enter (&folded_names))
    {
      gchar **names = g_new0 (gchar *, G_N_ELEMENTS (locations) + 1);

      for (guint i = 0; i < G_N_ELEMENTS (locations); i++)
        names[i] = g_utf8_casefold (locations[i].name, -1);
      g_once_init_leave (&folded_names, names);
    }
  if (location == NULL || !g_utf8_validate (location, -1, NULL))
    return HG_SCAIP_OMITTED;
  stripped = g_strstrip (g_strdup (location));
  if (stripped[0] == '\0')
    return HG_SCAIP_OMITTED;
  folded = g_utf8_casefold (stripped, -1);
  for (guint i = 0; i < G_N_ELEMENTS (locations); i++)
    {
      if (g_str_equal (folded, folded_names[i]))
        return locations[i].lco;
    }
  return LCO_UNDEFINED;
}

/* requests */

/**
 * hg_scaip_request_new:
 * @ref: the reference
 * @mty: the message type
 * @cid: the controller id
 * @dty: the device type
 *
 * Returns: (transfer full): a request with the mandatory fields; the others omitted
 */
HgScaipRequest *
hg_scaip_request_new (const gchar *ref,
                      HgScaipMessageType mty,
                      const gchar *cid,
                      gint dty)
{
  HgScaipRequest *request = g_new0 (HgScaipRequest, 1);

  request->ref = g_strdup (ref);
  request->mty = mty;
  request->cid = g_strdup (cid);
  request->dty = dty;
  request->crd = g_ptr_array_new_with_free_func (g_free);
  request->cha = HG_SCAIP_OMITTED;
  request->hbo = HG_SCAIP_OMITTED;
  request->stc = HG_SCAIP_OMITTED;
  request->pri = HG_SCAIP_OMITTED;
  request->lco = HG_SCAIP_OMITTED;
  return request;
}

HgScaipRequest *
hg_scaip_request_copy (const HgScaipRequest *request)
{
  HgScaipRequest *copy
      = hg_scaip_request_new (request->ref, request->mty, request->cid, request->dty);

  copy->cha = request->cha;
  copy->hbo = request->hbo;
  copy->did = g_strdup (request->did);
  for (guint i = 0; i < request->crd->len; i++)
    g_ptr_array_add (copy->crd, g_strdup (g_ptr_array_index (request->crd, i)));
  copy->stc = request->stc;
  copy->pri = request->pri;
  copy->lco = request->lco;
  copy->lte = g_strdup (request->lte);
  return copy;
}

void
hg_scaip_request_free (HgScaipRequest *request)
{
  g_free (request->ref);
  g_free (request->cid);
  g_free (request->did);
  g_ptr_array_unref (request->crd);
  g_free (request->lte);
  g_free (request);
}

/* Keeps printable ASCII only, at most @max characters; NULL if nothing is left. */
static gchar *
to_printable_ascii (const gchar *str,
                    gsize max)
{
  GString *out;

  if (str == NULL)
    return NULL;
  out = g_string_new (NULL);
  for (const gchar *p = str; *p != '\0' && out->len < max; p++)
    {
      if ((guchar) *p >= 32 && (guchar) *p <= 126)
        g_string_append_c (out, *p);
    }
  if (out->len == 0)
    {
      g_string_free (out, TRUE);
      return NULL;
    }
  return g_string_free (out, FALSE);
}

/* One line of at most @max characters of valid UTF-8 text: invalid bytes become U+FFFD,
 * each run of line breaks, control characters and characters XML 1.0 forbids becomes one
 * space (so "Kök\nhall" is "Kök hall", and no &#x7; is ever written), and the ends are
 * stripped; NULL if nothing is left. */
static gchar *
to_text (const gchar *str,
         glong max)
{
  g_autofree gchar *valid = NULL;
  g_autoptr(GString) line = NULL;
  gboolean broken = FALSE;

  if (str == NULL)
    return NULL;
  valid = g_utf8_make_valid (str, -1);
  line = g_string_new (NULL);
  for (const gchar *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (breaks_line_of_text (c))
        {
          broken = TRUE;
          continue;
        }
      if (broken && line->len > 0)
        g_string_append_c (line, ' ');
      broken = FALSE;
      g_string_append_unichar (line, c);
    }
  g_strstrip (line->str);
  if (line->str[0] == '\0')
    return NULL;
  return g_utf8_substring (line->str, 0, MIN (g_utf8_strlen (line->str, -1), max));
}

/**
 * hg_scaip_request_new_for_alarm:
 * @alarm: an alarm with its reference
 * @cid: the controller id (1-32 digits)
 * @crd: (nullable): the caller ids, one per medium
 * @error: return location for a #GError
 *
 * Maps an alarm to an `mty=ME` request through the tables of this file.
 *
 * Returns: (transfer full): the request, or %NULL with %HG_SCAIP_CODEC_ERROR_INVALID_FIELD
 *   for an alarm without a usable reference or of a type the table lacks
 */
HgScaipRequest *
hg_scaip_request_new_for_alarm (HgAlarm *alarm,
                                const gchar *cid,
                                const gchar *const *crd,
                                GError **error)
{
  const gchar *ref = hg_alarm_get_reference (alarm);
  const gchar *type = hg_alarm_get_alarm_type (alarm);
  g_autoptr(HgScaipRequest) request = NULL;
  g_autofree gchar *location = NULL;

  g_return_val_if_fail (HG_IS_ALARM (alarm), NULL);
  g_return_val_if_fail (cid != NULL, NULL);

  if (!hg_scaip_ref_is_valid (ref))
    {
      g_set_error (error, HG_SCAIP_CODEC_ERROR, HG_SCAIP_CODEC_ERROR_INVALID_FIELD,
                   "alarm reference '%s' is not 1-16 characters of [0-9A-Za-z]",
                   ref != NULL ? ref : "(none)");
      return NULL;
    }
  for (guint i = 0; i < G_N_ELEMENTS (alarm_types); i++)
    {
      if (g_strcmp0 (alarm_types[i].type, type) != 0)
        continue;
      request = hg_scaip_request_new (ref, HG_SCAIP_MTY_ME, cid, alarm_types[i].dty);
      request->stc = alarm_types[i].stc;
      request->pri = MAX ((gint) MIN (hg_alarm_get_priority (alarm), 9u), alarm_types[i].pri);
      break;
    }
  if (request == NULL)
    {
      g_set_error (error, HG_SCAIP_CODEC_ERROR, HG_SCAIP_CODEC_ERROR_INVALID_FIELD,
                   "alarm type '%s' has no SCAIP mapping", type);
      return NULL;
    }
  request->did = to_printable_ascii (hg_alarm_get_device (alarm), DID_MAX);
  for (guint i = 0; crd != NULL && crd[i] != NULL; i++)
    g_ptr_array_add (request->crd, g_strdup (crd[i]));
  /* the room's code from the text as sent, so "living\nroom" is still the living room */
  location = to_text (hg_alarm_get_location (alarm), G_MAXLONG);
  request->lco = hg_scaip_location_code (location);
  request->lte = to_text (location, TEXT_MAX);
  return g_steal_pointer (&request);
}

/**
 * hg_scaip_request_new_minimal:
 * @request: a request
 * @mty: the message type of the new request
 *
 * The request reduced to what every receiver must understand: `ref`, `cid`, `dty`, and
 * for `ME` the status code. Used for an abort (`RE`, whose mandatory fields equal the
 * first request's) and after a message error.
 *
 * Returns: (transfer full): the reduced request
 */
HgScaipRequest *
hg_scaip_request_new_minimal (const HgScaipRequest *request,
                              HgScaipMessageType mty)
{
  HgScaipRequest *minimal = hg_scaip_request_new (request->ref, mty, request->cid, request->dty);

  if (mty == HG_SCAIP_MTY_ME)
    minimal->stc = request->stc;
  return minimal;
}

static gboolean
invalid_field (GError **error,
               const gchar *tag,
               const gchar *rule)
{
  g_set_error (error, HG_SCAIP_CODEC_ERROR, HG_SCAIP_CODEC_ERROR_INVALID_FIELD, "<%s> must be %s",
               tag, rule);
  return FALSE;
}

static gboolean
check_request (const HgScaipRequest *request,
               GError **error)
{
  if (!hg_scaip_ref_is_valid (request->ref))
    return invalid_field (error, "ref", "1-16 characters of [0-9A-Za-z]");
  if ((guint) request->mty > HG_SCAIP_MTY_PI)
    return invalid_field (error, "mty", "ME, RE, IN or PI");
  if (request->cha != HG_SCAIP_OMITTED && request->cha != 0 && request->cha != 1)
    return invalid_field (error, "cha", "0 or 1");
  if (request->hbo != HG_SCAIP_OMITTED && request->hbo != 0 && request->hbo != 1)
    return invalid_field (error, "hbo", "0 or 1 (001)");
  if (request->cid == NULL || !is_digits (request->cid, 1, CID_MAX))
    return invalid_field (error, "cid", "1-32 digits");
  if (request->dty < 0 || request->dty > 9999)
    return invalid_field (error, "dty", "a code from 0 to 9999");
  if (request->did != NULL && !is_printable_ascii (request->did, 1, DID_MAX))
    return invalid_field (error, "did", "1-16 characters of printable ASCII");
  for (guint i = 0; i < request->crd->len; i++)
    {
      const gchar *crd = g_ptr_array_index (request->crd, i);
      if (!is_printable_ascii (crd, 1, CRD_MAX))
        return invalid_field (error, "crd", "1-256 characters of printable ASCII");
    }
  if (request->stc != HG_SCAIP_OMITTED && (request->stc < 0 || request->stc > 9999))
    return invalid_field (error, "stc", "a code from 0 to 9999");
  if (request->pri != HG_SCAIP_OMITTED && (request->pri < 0 || request->pri > 9))
    return invalid_field (error, "pri", "a digit from 0 to 9");
  if (request->lco != HG_SCAIP_OMITTED && (request->lco < 0 || request->lco > 999))
    return invalid_field (error, "lco", "a code from 0 to 999");
  if (request->lte != NULL && !is_text (request->lte, TEXT_MAX))
    return invalid_field (error, "lte",
                          "1-32 characters of UTF-8 on one line, without control characters");
  return TRUE;
}

static void
append_element (GString *xml,
                const gchar *tag,
                const gchar *value)
{
  g_autofree gchar *escaped = g_markup_escape_text (value, -1);

  g_string_append_printf (xml, "<%s>%s</%s>", tag, escaped, tag);
}

static void
append_code (GString *xml,
             const gchar *tag,
             gint value,
             gint digits)
{
  if (value != HG_SCAIP_OMITTED)
    g_string_append_printf (xml, "<%s>%0*d</%s>", tag, digits, value, tag);
}

/**
 * hg_scaip_request_to_xml:
 * @request: a request
 * @error: return location for a #GError
 *
 * Writes `<mrq>` strictly: every field is checked against the normative table first.
 *
 * Returns: (transfer full): the document, or %NULL with %HG_SCAIP_CODEC_ERROR_INVALID_FIELD
 *   naming the field, or %HG_SCAIP_CODEC_ERROR_TOO_LARGE above 1300 bytes
 */
gchar *
hg_scaip_request_to_xml (const HgScaipRequest *request,
                         GError **error)
{
  g_autoptr(GString) xml = NULL;

  g_return_val_if_fail (request != NULL, NULL);

  if (!check_request (request, error))
    return NULL;
  xml = g_string_new ("<mrq>");
  append_element (xml, "ref", request->ref);
  append_code (xml, "cha", request->cha, 1);
  if (request->mty != HG_SCAIP_MTY_ME)
    append_element (xml, "mty", hg_scaip_message_type_to_string (request->mty));
  /* SS 91100 Table 1: 001 accepts interval changes (<hbi>) from the ARC */
  append_code (xml, "hbo", request->hbo, 3);
  append_element (xml, "cid", request->cid);
  append_code (xml, "dty", request->dty, 4);
  if (request->did != NULL)
    append_element (xml, "did", request->did);
  for (guint i = 0; i < request->crd->len; i++)
    append_element (xml, "crd", g_ptr_array_index (request->crd, i));
  append_code (xml, "stc", request->stc, 4);
  append_code (xml, "pri", request->pri, 1);
  append_code (xml, "lco", request->lco, 3);
  if (request->lte != NULL)
    append_element (xml, "lte", request->lte);
  g_string_append (xml, "</mrq>");
  if (xml->len > HG_SCAIP_MAX_REQUEST)
    {
      g_set_error (error, HG_SCAIP_CODEC_ERROR, HG_SCAIP_CODEC_ERROR_TOO_LARGE,
                   "<mrq> of %" G_GSIZE_FORMAT " bytes exceeds %d and would need <ame>", xml->len,
                   HG_SCAIP_MAX_REQUEST);
      return NULL;
    }
  return g_string_free (g_steal_pointer (&xml), FALSE);
}

/* reading: a namespace-agnostic walk that collects (tag, value) pairs */

typedef struct
{
  gchar *name;  /* (owned) local name; "lge/geo" for the children of <lge> */
  gchar *value; /* (owned) stripped text */
} Field;

static void
field_free (Field *field)
{
  g_free (field->name);
  g_free (field->value);
  g_free (field);
}

typedef struct
{
  const gchar *expected; /* "mrq" or "mrs" */
  gint depth;            /* of the element being read; 0 outside the root */
  gint field_depth;      /* where fields stand: 1 under <mrs>, 2 under <scaip><mrs> */
  gboolean wrapped;      /* the root is <scaip> */
  gboolean root_seen;
  gchar *field;      /* (owned) (nullable) the field whose text is being read */
  gchar *group;      /* (owned) (nullable) "lge" while inside it */
  GString *text;     /* (owned) */
  GPtrArray *fields; /* (owned) (element-type Field) */
} Reader;

static const gchar *
local_name (const gchar *name)
{
  const gchar *colon = strrchr (name, ':');

  return colon != NULL ? colon + 1 : name;
}

static gboolean
set_error (GError **error,
           gint code,
           const gchar *message)
{
  g_set_error_literal (error, HG_SCAIP_CODEC_ERROR, code, message);
  return FALSE;
}

static void
reader_start_element (GMarkupParseContext *context,
                      const gchar *element_name,
                      const gchar **attribute_names,
                      const gchar **attribute_values,
                      gpointer user_data,
                      GError **error)
{
  Reader *reader = user_data;
  const gchar *name = local_name (element_name);
  g_autofree gchar *message = NULL;

  reader->depth++;
  if (reader->depth > MAX_DEPTH)
    {
      set_error (error, HG_SCAIP_CODEC_ERROR_MALFORMED, "elements nested too deep");
      return;
    }
  if (reader->depth == 1)
    {
      if (reader->root_seen)
        {
          set_error (error, HG_SCAIP_CODEC_ERROR_MALFORMED,
                     "not well-formed XML: a second root element");
          return;
        }
      reader->root_seen = TRUE;
      if (g_strcmp0 (name, reader->expected) == 0)
        {
          reader->field_depth = 1;
          return;
        }
      if (g_strcmp0 (name, "scaip") == 0)
        {
          reader->wrapped = TRUE;
          reader->field_depth = 1;
          return;
        }
      message = g_strdup_printf ("root element <%s> is not <%s>", name, reader->expected);
      set_error (error, HG_SCAIP_CODEC_ERROR_WRONG_ROOT, message);
      return;
    }
  /* <scaip><mrs>...</mrs></scaip>: the fields move one level down */
  if (reader->wrapped && reader->depth == 2 && reader->fields->len == 0 && reader->field_depth == 1
      && g_strcmp0 (name, reader->expected) == 0)
    {
      reader->field_depth = 2;
      return;
    }
  if (reader->depth == reader->field_depth + 1 && reader->field == NULL && reader->group == NULL)
    {
      if (g_strcmp0 (name, "lge") == 0)
        {
          reader->group = g_strdup (name);
          return;
        }
      reader->field = g_strdup (name);
      g_string_truncate (reader->text, 0);
      return;
    }
  if (reader->group != NULL && reader->field == NULL && reader->depth == reader->field_depth + 2)
    {
      reader->field = g_strdup_printf ("%s/%s", reader->group, name);
      g_string_truncate (reader->text, 0);
      return;
    }
  message = g_strdup_printf ("element <%s> where a value belongs", name);
  set_error (error, HG_SCAIP_CODEC_ERROR_MALFORMED, message);
}

static void
reader_end_element (GMarkupParseContext *context,
                    const gchar *element_name,
                    gpointer user_data,
                    GError **error)
{
  Reader *reader = user_data;

  if (reader->field != NULL)
    {
      Field *field = g_new0 (Field, 1);

      field->name = g_steal_pointer (&reader->field);
      field->value = g_strstrip (g_strdup (reader->text->str));
      g_ptr_array_add (reader->fields, field);
    }
  else if (reader->group != NULL && reader->depth == reader->field_depth + 1)
    {
      g_clear_pointer (&reader->group, g_free);
    }
  reader->depth--;
}

static void
reader_text (GMarkupParseContext *context,
             const gchar *text,
             gsize text_len,
             gpointer user_data,
             GError **error)
{
  Reader *reader = user_data;

  if (reader->field != NULL)
    {
      g_string_append_len (reader->text, text, (gssize) text_len);
      return;
    }
  for (gsize i = 0; i < text_len; i++)
    {
      if (!g_ascii_isspace (text[i]))
        {
          set_error (error, HG_SCAIP_CODEC_ERROR_MALFORMED, "text outside a field");
          return;
        }
    }
}

static const GMarkupParser reader_parser = {
  reader_start_element,
  reader_end_element,
  reader_text,
  NULL, /* passthrough: the XML declaration, comments and a DOCTYPE are skipped */
  NULL,
};

/* Returns: (transfer container) (element-type Field): the fields of the document */
static GPtrArray *
read_fields (const gchar *data,
             gsize length,
             const gchar *expected,
             GError **error)
{
  g_autoptr(GMarkupParseContext) context = NULL;
  g_autoptr(GPtrArray) fields = g_ptr_array_new_with_free_func ((GDestroyNotify) field_free);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error_local = NULL;
  g_autofree gchar *field = NULL;
  g_autofree gchar *group = NULL;
  Reader reader = { expected, 0, 0, FALSE, FALSE, NULL, NULL, text, fields };
  gboolean ok;

  if (length > HG_SCAIP_MAX_DOCUMENT)
    {
      g_set_error (error, HG_SCAIP_CODEC_ERROR, HG_SCAIP_CODEC_ERROR_TOO_LARGE,
                   "document of %" G_GSIZE_FORMAT " bytes exceeds the limit of %d", length,
                   HG_SCAIP_MAX_DOCUMENT);
      return NULL;
    }
  if (length == 0 || data == NULL)
    {
      set_error (error, HG_SCAIP_CODEC_ERROR_MALFORMED, "empty document");
      return NULL;
    }
  context
      = g_markup_parse_context_new (&reader_parser, G_MARKUP_TREAT_CDATA_AS_TEXT, &reader, NULL);
  ok = g_markup_parse_context_parse (context, data, (gssize) length, &error_local)
       && g_markup_parse_context_end_parse (context, &error_local);
  field = g_steal_pointer (&reader.field);
  group = g_steal_pointer (&reader.group);
  if (!ok)
    {
      if (error_local->domain == HG_SCAIP_CODEC_ERROR)
        g_propagate_error (error, g_steal_pointer (&error_local));
      else
        g_set_error (error, HG_SCAIP_CODEC_ERROR, HG_SCAIP_CODEC_ERROR_MALFORMED,
                     "not well-formed XML: %s", error_local->message);
      return NULL;
    }
  return g_steal_pointer (&fields);
}

/* Finds the one @name; a second is an error. Returns FALSE with @error set then. */
static gboolean
find_single (GPtrArray *fields,
             const gchar *name,
             const gchar **value,
             GError **error)
{
  *value = NULL;
  for (guint i = 0; i < fields->len; i++)
    {
      Field *field = g_ptr_array_index (fields, i);

      if (g_strcmp0 (field->name, name) != 0)
        continue;
      if (*value != NULL)
        {
          g_set_error (error, HG_SCAIP_CODEC_ERROR, HG_SCAIP_CODEC_ERROR_INVALID_FIELD,
                       "<%s> appears more than once", name);
          return FALSE;
        }
      *value = field->value;
    }
  return TRUE;
}

static gboolean
find_required (
    GPtrArray *fields, const gchar *root, const gchar *name, const gchar **value, GError **error)
{
  if (!find_single (fields, name, value, error))
    return FALSE;
  if (*value == NULL)
    {
      g_set_error (error, HG_SCAIP_CODEC_ERROR, HG_SCAIP_CODEC_ERROR_MISSING_FIELD,
                   "<%s> has no <%s>", root, name);
      return FALSE;
    }
  return TRUE;
}

/* An optional number of 1 to @digits digits within [@min, @max]; zero padding is fine. */
static gboolean
find_number (GPtrArray *fields,
             const gchar *name,
             guint digits,
             gint min,
             gint max,
             gint *value,
             GError **error)
{
  const gchar *str = NULL;
  gint64 number = 0;

  *value = HG_SCAIP_OMITTED;
  if (!find_single (fields, name, &str, error))
    return FALSE;
  if (str == NULL)
    return TRUE;
  if (!is_digits (str, 1, digits) || !g_ascii_string_to_signed (str, 10, min, max, &number, NULL))
    {
      g_set_error (error, HG_SCAIP_CODEC_ERROR, HG_SCAIP_CODEC_ERROR_INVALID_FIELD,
                   "<%s> '%s' is not a number from %d to %d", name, str, min, max);
      return FALSE;
    }
  *value = (gint) number;
  return TRUE;
}

/**
 * hg_scaip_request_parse:
 * @data: the document
 * @length: its length in bytes
 * @error: return location for a #GError
 *
 * Reads an `<mrq>` (the simulator's side of the codec): liberally as to namespaces, the
 * XML declaration and zero padding, strictly as to XML 1.0's characters, which GMarkup
 * alone does not check.
 *
 * Returns: (transfer full): the request, or %NULL with an %HG_SCAIP_CODEC_ERROR
 */
HgScaipRequest *
hg_scaip_request_parse (const gchar *data,
                        gsize length,
                        GError **error)
{
  g_autoptr(GPtrArray) fields = read_fields (data, length, "mrq", error);
  g_autoptr(HgScaipRequest) request = NULL;
  HgScaipMessageType mty = HG_SCAIP_MTY_ME;
  const gchar *ref = NULL;
  const gchar *cid = NULL;
  const gchar *mty_str = NULL;
  const gchar *did = NULL;
  const gchar *lte = NULL;
  gint dty = 0;

  if (fields == NULL)
    return NULL;
  /* strict where the plugin is liberal: GMarkup takes &#x7; and raw control characters,
   * XML 1.0 does not, and a receiver's parser may refuse the whole alarm for one */
  for (guint i = 0; i < fields->len; i++)
    {
      Field *field = g_ptr_array_index (fields, i);

      for (const gchar *p = field->value; *p != '\0'; p = g_utf8_next_char (p))
        {
          if (!is_xml_char (g_utf8_get_char (p)))
            {
              g_set_error (error, HG_SCAIP_CODEC_ERROR, HG_SCAIP_CODEC_ERROR_MALFORMED,
                           "not well-formed XML 1.0: <%s> holds U+%04X, a character XML 1.0 "
                           "does not allow",
                           field->name, g_utf8_get_char (p));
              return NULL;
            }
        }
    }
  if (!find_required (fields, "mrq", "ref", &ref, error)
      || !find_required (fields, "mrq", "cid", &cid, error)
      || !find_single (fields, "mty", &mty_str, error) || !find_single (fields, "did", &did, error)
      || !find_single (fields, "lte", &lte, error)
      || !find_number (fields, "dty", 4, 0, 9999, &dty, error))
    return NULL;
  if (dty == HG_SCAIP_OMITTED)
    {
      set_error (error, HG_SCAIP_CODEC_ERROR_MISSING_FIELD, "<mrq> has no <dty>");
      return NULL;
    }
  if (!hg_scaip_ref_is_valid (ref))
    {
      invalid_field (error, "ref", "1-16 characters of [0-9A-Za-z]");
      return NULL;
    }
  if (!is_digits (cid, 1, CID_MAX))
    {
      invalid_field (error, "cid", "1-32 digits");
      return NULL;
    }
  if (mty_str != NULL && mty_str[0] != '\0' && !message_type_from_string (mty_str, &mty))
    {
      invalid_field (error, "mty", "ME, RE, IN or PI");
      return NULL;
    }
  request = hg_scaip_request_new (ref, mty, cid, dty);
  if (!find_number (fields, "cha", 1, 0, 1, &request->cha, error)
      || !find_number (fields, "hbo", 3, 0, 1, &request->hbo, error)
      || !find_number (fields, "stc", 4, 0, 9999, &request->stc, error)
      || !find_number (fields, "pri", 1, 0, 9, &request->pri, error)
      || !find_number (fields, "lco", 3, 0, 999, &request->lco, error))
    return NULL;
  request->did = g_strdup (did);
  request->lte = g_strdup (lte);
  for (guint i = 0; i < fields->len; i++)
    {
      Field *field = g_ptr_array_index (fields, i);
      if (g_strcmp0 (field->name, "crd") == 0)
        g_ptr_array_add (request->crd, g_strdup (field->value));
    }
  return g_steal_pointer (&request);
}

/* responses */

HgScaipResponse *
hg_scaip_response_new (const gchar *ref,
                       guint snu)
{
  HgScaipResponse *response = g_new0 (HgScaipResponse, 1);

  response->ref = g_strdup (ref);
  response->snu = snu;
  response->snu_raw = g_strdup_printf ("%u", snu);
  response->mre = HG_SCAIP_OMITTED;
  response->cre = HG_SCAIP_OMITTED;
  response->hbi = HG_SCAIP_OMITTED;
  response->tnu = g_ptr_array_new_with_free_func (g_free);
  return response;
}

void
hg_scaip_response_free (HgScaipResponse *response)
{
  g_free (response->ref);
  g_free (response->snu_raw);
  g_free (response->ste);
  g_free (response->cve);
  g_ptr_array_unref (response->tnu);
  g_free (response);
}

/**
 * hg_scaip_response_parse:
 * @data: the document: the body of a MESSAGE or of a 200 OK
 * @length: its length in bytes
 * @error: return location for a #GError
 *
 * Reads an `<mrs>` liberally (PROTOCOL.md §4): at most %HG_SCAIP_MAX_DOCUMENT bytes, an
 * optional XML declaration, any namespace, zero-padded numbers, root `<mrs>` or
 * `<scaip>`. `ref` and `snu` are required; an `snu` outside the standard's table is kept.
 *
 * Returns: (transfer full): the response, or %NULL with an %HG_SCAIP_CODEC_ERROR
 */
HgScaipResponse *
hg_scaip_response_parse (const gchar *data,
                         gsize length,
                         GError **error)
{
  g_autoptr(GPtrArray) fields = read_fields (data, length, "mrs", error);
  g_autoptr(HgScaipResponse) response = NULL;
  const gchar *ref = NULL;
  const gchar *snu = NULL;
  const gchar *ste = NULL;
  const gchar *cve = NULL;
  gint64 number = 0;

  if (fields == NULL)
    return NULL;
  if (!find_required (fields, "mrs", "ref", &ref, error)
      || !find_required (fields, "mrs", "snu", &snu, error)
      || !find_single (fields, "ste", &ste, error) || !find_single (fields, "cve", &cve, error))
    return NULL;
  if (!hg_scaip_ref_is_valid (ref))
    {
      invalid_field (error, "ref", "1-16 characters of [0-9A-Za-z]");
      return NULL;
    }
  if (!is_digits (snu, 1, 3) || !g_ascii_string_to_signed (snu, 10, 0, 999, &number, NULL))
    {
      invalid_field (error, "snu", "1-3 digits");
      return NULL;
    }
  response = hg_scaip_response_new (ref, (guint) number);
  g_free (response->snu_raw);
  response->snu_raw = g_strdup (snu);
  if (!find_number (fields, "mre", 2, 0, 99, &response->mre, error)
      || !find_number (fields, "cre", 2, 0, 99, &response->cre, error)
      || !find_number (fields, "hbi", 4, 0, 9999, &response->hbi, error))
    return NULL;
  /* <ste> is ASCII text by the table; what else arrives is kept for the log, bounded */
  if (ste != NULL && ste[0] != '\0')
    response->ste = g_utf8_substring (ste, 0, MIN (g_utf8_strlen (ste, -1), STE_MAX));
  if (cve != NULL && cve[0] != '\0')
    response->cve = g_utf8_substring (cve, 0, MIN (g_utf8_strlen (cve, -1), 5));
  for (guint i = 0; i < fields->len; i++)
    {
      Field *field = g_ptr_array_index (fields, i);
      if (g_strcmp0 (field->name, "tnu") == 0 && field->value[0] != '\0')
        g_ptr_array_add (
            response->tnu,
            g_utf8_substring (field->value, 0, MIN (g_utf8_strlen (field->value, -1), TNU_MAX)));
    }
  return g_steal_pointer (&response);
}

/**
 * hg_scaip_response_to_xml:
 * @response: a response
 * @error: return location for a #GError
 *
 * Writes `<mrs>`, for the simulator and the tests.
 *
 * Returns: (transfer full): the document, or %NULL with %HG_SCAIP_CODEC_ERROR_INVALID_FIELD
 */
gchar *
hg_scaip_response_to_xml (const HgScaipResponse *response,
                          GError **error)
{
  g_autoptr(GString) xml = NULL;

  g_return_val_if_fail (response != NULL, NULL);

  if (!hg_scaip_ref_is_valid (response->ref))
    {
      invalid_field (error, "ref", "1-16 characters of [0-9A-Za-z]");
      return NULL;
    }
  if (response->snu > 999)
    {
      invalid_field (error, "snu", "1-3 digits");
      return NULL;
    }
  if (response->ste != NULL && !is_printable_ascii (response->ste, 0, STE_MAX))
    {
      invalid_field (error, "ste", "0-128 characters of printable ASCII");
      return NULL;
    }
  xml = g_string_new ("<mrs>");
  append_element (xml, "ref", response->ref);
  g_string_append_printf (xml, "<snu>%u</snu>", response->snu);
  if (response->ste != NULL)
    append_element (xml, "ste", response->ste);
  append_code (xml, "mre", response->mre, 1);
  append_code (xml, "cre", response->cre, 2);
  for (guint i = 0; i < response->tnu->len; i++)
    append_element (xml, "tnu", g_ptr_array_index (response->tnu, i));
  append_code (xml, "hbi", response->hbi, 1);
  g_string_append (xml, "</mrs>");
  return g_string_free (g_steal_pointer (&xml), FALSE);
}

/**
 * hg_scaip_status_from_snu:
 * @snu: a status number
 *
 * Returns: what the number asks of the sender; every number outside the standard's
 *   table is a message error, as 99 (PROTOCOL.md §5)
 */
HgScaipStatus
hg_scaip_status_from_snu (guint snu)
{
  switch (snu)
    {
    case 0:
      return HG_SCAIP_STATUS_OK;
    case 4:
      return HG_SCAIP_STATUS_HOLD;
    case 5:
      return HG_SCAIP_STATUS_NOT_TREATED;
    case 6:
      return HG_SCAIP_STATUS_BUSY;
    default:
      return HG_SCAIP_STATUS_MESSAGE_ERROR;
    }
}

const gchar *
hg_scaip_status_to_string (HgScaipStatus status)
{
  static const gchar *const names[] = { "ok", "hold", "not-treated", "busy", "message-error" };

  if ((guint) status >= G_N_ELEMENTS (names))
    return NULL;
  return names[status];
}
