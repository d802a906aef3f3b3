/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The strict check every JSON request body passes before json-glib parses it. json-glib
 * 1.6 (Debian 12's) is lenient, and in ways its tree cannot show afterwards: it skips a
 * byte-order mark, comments and a `var x =` prefix, reads single-quoted strings, hex and
 * octal numbers and several top-level values (the last one wins), keeps only the last of
 * two members of the same name, and ends a string at \u0000. JsonParser:strict arrived
 * in json-glib 1.10; until then this reads the text once by RFC 8259 (with I-JSON's
 * RFC 7493 rules on duplicate names and surrogates) and refuses what an API client should
 * never send: anything that is not exactly one JSON value, a member name given twice,
 * and a control character (Unicode category Cc, escaped or not) in any string, as no
 * field of the API holds one and each would reach the UI or the alarm centre. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "hgd-json-check.h"

G_DEFINE_QUARK (hgd-json-check-error-quark, hgd_json_check_error)

typedef struct
{
  const gchar *start;
  const gchar *p;
  const gchar *end;
  GPtrArray *path; /* (owned) member names and array indices down to the value read */
  guint depth;
  gchar **field; /* (nullable) where to put the JSON Pointer of a failure */
} Reader;

/* RFC 6901: "/a/0/b", with "~" as "~0" and "/" as "~1" inside a name. */
static gchar *
path_to_pointer (GPtrArray *path)
{
  GString *pointer = g_string_new (NULL);

  for (guint i = 0; i < path->len; i++)
    {
      g_string_append_c (pointer, '/');
      for (const gchar *c = g_ptr_array_index (path, i); *c != '\0'; c++)
        {
          if (*c == '~')
            g_string_append (pointer, "~0");
          else if (*c == '/')
            g_string_append (pointer, "~1");
          else
            g_string_append_c (pointer, *c);
        }
    }
  return g_string_free (pointer, FALSE);
}

static gboolean fail (Reader *r,
                      GError **error,
                      HgdJsonCheckError code,
                      const gchar *format,
                      ...) G_GNUC_PRINTF (4, 5);

/* Sets @error with the place it happened: the member's pointer, else the byte offset. */
static gboolean
fail (Reader *r,
      GError **error,
      HgdJsonCheckError code,
      const gchar *format,
      ...)
{
  g_autofree gchar *what = NULL;
  g_autofree gchar *pointer = path_to_pointer (r->path);
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  if (*pointer != '\0')
    g_set_error (error, HGD_JSON_CHECK_ERROR, code, "member '%s': %s", pointer, what);
  else
    g_set_error (error, HGD_JSON_CHECK_ERROR, code, "%s at byte %" G_GSIZE_FORMAT, what,
                 (gsize) (r->p - r->start));
  if (r->field != NULL && *pointer != '\0')
    *r->field = g_steal_pointer (&pointer);
  return FALSE;
}

static gboolean
fail_unexpected (Reader *r,
                 GError **error,
                 const gchar *expected)
{
  if (r->p >= r->end)
    return fail (r, error, HGD_JSON_CHECK_ERROR_SYNTAX, "the text ends where %s should follow",
                 expected);
  if (g_ascii_isgraph (*r->p))
    return fail (r, error, HGD_JSON_CHECK_ERROR_SYNTAX, "'%c' where %s should follow", *r->p,
                 expected);
  return fail (r, error, HGD_JSON_CHECK_ERROR_SYNTAX, "U+%04X where %s should follow",
               g_utf8_get_char (r->p), expected);
}

static void
skip_whitespace (Reader *r)
{
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
    r->p++;
}

static gboolean
is_control (gunichar c)
{
  return g_unichar_type (c) == G_UNICODE_CONTROL;
}

static gboolean
fail_control (Reader *r,
              GError **error,
              gunichar c,
              gboolean in_name)
{
  return fail (r, error, HGD_JSON_CHECK_ERROR_CONTROL_CHARACTER,
               "%s holds the control character U+%04X; text may not contain control characters",
               in_name ? "a member name" : "the text", c);
}

static gboolean
read_hex4 (Reader *r,
           gunichar *unit,
           GError **error)
{
  *unit = 0;
  for (guint i = 0; i < 4; i++)
    {
      gint digit = r->p < r->end ? g_ascii_xdigit_value (*r->p) : -1;
      if (digit < 0)
        return fail_unexpected (r, error, "four hex digits after \\u");
      *unit = (*unit << 4) | (gunichar) digit;
      r->p++;
    }
  return TRUE;
}

/* An escape after its backslash: the character it stands for. */
static gboolean
read_escape (Reader *r,
             gunichar *c,
             GError **error)
{
  gunichar low;

  if (r->p >= r->end)
    return fail_unexpected (r, error, "an escape");
  switch (*r->p++)
    {
    case '"':
      *c = '"';
      return TRUE;
    case '\\':
      *c = '\\';
      return TRUE;
    case '/':
      *c = '/';
      return TRUE;
    case 'b':
      *c = '\b';
      return TRUE;
    case 'f':
      *c = '\f';
      return TRUE;
    case 'n':
      *c = '\n';
      return TRUE;
    case 'r':
      *c = '\r';
      return TRUE;
    case 't':
      *c = '\t';
      return TRUE;
    case 'u':
      break;
    default:
      r->p--;
      return fail_unexpected (r, error, "one of \" \\ / b f n r t u after a backslash");
    }
  if (!read_hex4 (r, c, error))
    return FALSE;
  if (*c >= 0xdc00 && *c <= 0xdfff)
    return fail (r, error, HGD_JSON_CHECK_ERROR_SYNTAX,
                 "a low surrogate \\u%04X without a high one", *c);
  if (*c < 0xd800 || *c > 0xdbff)
    return TRUE;
  if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
    return fail (r, error, HGD_JSON_CHECK_ERROR_SYNTAX,
                 "a high surrogate \\u%04X without a low one", *c);
  r->p += 2;
  if (!read_hex4 (r, &low, error))
    return FALSE;
  if (low < 0xdc00 || low > 0xdfff)
    return fail (r, error, HGD_JSON_CHECK_ERROR_SYNTAX,
                 "a high surrogate \\u%04X without a low one", *c);
  *c = 0x10000 + ((*c - 0xd800) << 10) + (low - 0xdc00);
  return TRUE;
}

/* A string from its opening quote; its text goes to @out (nullable). The text is UTF-8
 * already (checked before), so a character is read whole. */
static gboolean
read_string (Reader *r,
             GString *out,
             gboolean is_name,
             GError **error)
{
  r->p++;
  for (;;)
    {
      gunichar c = 0;

      if (r->p >= r->end)
        return fail (r, error, HGD_JSON_CHECK_ERROR_SYNTAX, "an unterminated string");
      if (*r->p == '"')
        {
          r->p++;
          return TRUE;
        }
      if (*r->p == '\\')
        {
          r->p++;
          if (!read_escape (r, &c, error))
            return FALSE;
        }
      else
        {
          c = g_utf8_get_char (r->p);
          r->p = g_utf8_next_char (r->p);
        }
      if (is_control (c))
        return fail_control (r, error, c, is_name);
      if (out != NULL)
        g_string_append_unichar (out, c);
    }
}

static gboolean
read_digits (Reader *r,
             GError **error)
{
  if (r->p >= r->end || !g_ascii_isdigit (*r->p))
    return fail_unexpected (r, error, "a digit");
  while (r->p < r->end && g_ascii_isdigit (*r->p))
    r->p++;
  return TRUE;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?, and within what json-glib holds: an
 * integer in gint64, any other number a finite double. */
static gboolean
read_number (Reader *r,
             GError **error)
{
  const gchar *begin = r->p;
  gboolean integer = TRUE;
  gboolean out_of_range;
  g_autofree gchar *text = NULL;

  if (*r->p == '-')
    r->p++;
  if (r->p < r->end && *r->p == '0')
    r->p++;
  else if (!read_digits (r, error))
    return FALSE;
  if (r->p < r->end && *r->p == '.')
    {
      integer = FALSE;
      r->p++;
      if (!read_digits (r, error))
        return FALSE;
    }
  if (r->p < r->end && (*r->p == 'e' || *r->p == 'E'))
    {
      integer = FALSE;
      r->p++;
      if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
        r->p++;
      if (!read_digits (r, error))
        return FALSE;
    }
  text = g_strndup (begin, r->p - begin);
  if (integer)
    {
      errno = 0;
      g_ascii_strtoll (text, NULL, 10);
      out_of_range = errno == ERANGE;
    }
  else
    {
      out_of_range = !isfinite (g_ascii_strtod (text, NULL));
    }
  if (out_of_range)
    return fail (r, error, HGD_JSON_CHECK_ERROR_SYNTAX, "the number %s is out of range", text);
  return TRUE;
}

static gboolean
read_literal (Reader *r,
              GError **error)
{
  static const gchar *const literals[] = { "true", "false", "null" };

  for (guint i = 0; i < G_N_ELEMENTS (literals); i++)
    {
      gsize len = strlen (literals[i]);
      if ((gsize) (r->end - r->p) >= len && memcmp (r->p, literals[i], len) == 0)
        {
          r->p += len;
          return TRUE;
        }
    }
  return fail_unexpected (r, error, "a value");
}

static gboolean read_value (Reader *r,
                            GError **error);

static gboolean
read_object (Reader *r,
             GError **error)
{
  g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  r->p++;
  skip_whitespace (r);
  if (r->p < r->end && *r->p == '}')
    {
      r->p++;
      return TRUE;
    }
  for (;;)
    {
      g_autoptr(GString) name = g_string_new (NULL);

      skip_whitespace (r);
      if (r->p >= r->end || *r->p != '"')
        return fail_unexpected (r, error, "a member name in double quotes");
      if (!read_string (r, name, TRUE, error))
        return FALSE;
      g_ptr_array_add (r->path, g_strdup (name->str));
      if (g_hash_table_contains (names, name->str))
        return fail (r, error, HGD_JSON_CHECK_ERROR_DUPLICATE_MEMBER,
                     "the member is given more than once");
      g_hash_table_add (names, g_string_free (g_steal_pointer (&name), FALSE));
      skip_whitespace (r);
      if (r->p >= r->end || *r->p != ':')
        return fail_unexpected (r, error, "':'");
      r->p++;
      if (!read_value (r, error))
        return FALSE;
      g_ptr_array_remove_index (r->path, r->path->len - 1);
      skip_whitespace (r);
      if (r->p < r->end && *r->p == ',')
        {
          r->p++;
          continue;
        }
      if (r->p < r->end && *r->p == '}')
        {
          r->p++;
          return TRUE;
        }
      return fail_unexpected (r, error, "',' or '}'");
    }
}

static gboolean
read_array (Reader *r,
            GError **error)
{
  r->p++;
  skip_whitespace (r);
  if (r->p < r->end && *r->p == ']')
    {
      r->p++;
      return TRUE;
    }
  for (guint index = 0;; index++)
    {
      g_ptr_array_add (r->path, g_strdup_printf ("%u", index));
      if (!read_value (r, error))
        return FALSE;
      g_ptr_array_remove_index (r->path, r->path->len - 1);
      skip_whitespace (r);
      if (r->p < r->end && *r->p == ',')
        {
          r->p++;
          continue;
        }
      if (r->p < r->end && *r->p == ']')
        {
          r->p++;
          return TRUE;
        }
      return fail_unexpected (r, error, "',' or ']'");
    }
}

static gboolean
read_value (Reader *r,
            GError **error)
{
  gboolean ok;

  skip_whitespace (r);
  if (r->p >= r->end)
    return fail_unexpected (r, error, "a value");
  switch (*r->p)
    {
    case '{':
    case '[':
      if (r->depth == HGD_JSON_CHECK_MAX_DEPTH)
        return fail (r, error, HGD_JSON_CHECK_ERROR_SYNTAX, "nested deeper than %u levels",
                     (guint) HGD_JSON_CHECK_MAX_DEPTH);
      r->depth++;
      ok = *r->p == '{' ? read_object (r, error) : read_array (r, error);
      r->depth--;
      return ok;
    case '"':
      return read_string (r, NULL, FALSE, error);
    case '-':
    case '0' ... '9':
      return read_number (r, error);
    default:
      return read_literal (r, error);
    }
}

/**
 * hgd_json_check_strict:
 * @data: the text
 * @length: its length in bytes
 * @field: (out) (optional) (transfer full): the JSON Pointer (RFC 6901) of the member at
 *   fault, e.g. `/location`, or %NULL when the fault is not within a member
 * @error: return location for a #GError
 *
 * Checks that @data is exactly one JSON value by RFC 8259 in UTF-8, without a byte-order
 * mark, with unique member names in each object, with no control character in any string
 * or member name, nested at most %HGD_JSON_CHECK_MAX_DEPTH deep; integers must fit a
 * gint64, other numbers a finite double.
 *
 * Returns: %TRUE if it is, else %FALSE with an %HGD_JSON_CHECK_ERROR
 */
gboolean
hgd_json_check_strict (const gchar *data,
                       gsize length,
                       gchar **field,
                       GError **error)
{
  g_autoptr(GPtrArray) path = g_ptr_array_new_with_free_func (g_free);
  Reader r = { data, data, data + length, path, 0, field };

  g_return_val_if_fail (data != NULL || length == 0, FALSE);
  g_return_val_if_fail (field == NULL || *field == NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (memchr (data, '\0', length) != NULL)
    {
      g_set_error (error, HGD_JSON_CHECK_ERROR, HGD_JSON_CHECK_ERROR_SYNTAX,
                   "a NUL byte at byte %" G_GSIZE_FORMAT,
                   (gsize) ((const gchar *) memchr (data, '\0', length) - data));
      return FALSE;
    }
  if (!g_utf8_validate (data, (gssize) length, NULL))
    {
      g_set_error_literal (error, HGD_JSON_CHECK_ERROR, HGD_JSON_CHECK_ERROR_SYNTAX,
                           "the JSON text is not valid UTF-8");
      return FALSE;
    }
  if (length >= 3 && memcmp (data, "\xef\xbb\xbf", 3) == 0)
    {
      g_set_error_literal (error, HGD_JSON_CHECK_ERROR, HGD_JSON_CHECK_ERROR_SYNTAX,
                           "a byte-order mark (U+FEFF) precedes the JSON text");
      return FALSE;
    }
  skip_whitespace (&r);
  if (r.p >= r.end)
    {
      g_set_error_literal (error, HGD_JSON_CHECK_ERROR, HGD_JSON_CHECK_ERROR_SYNTAX,
                           "the JSON text is empty");
      return FALSE;
    }
  if (!read_value (&r, error))
    return FALSE;
  skip_whitespace (&r);
  if (r.p < r.end)
    return fail (&r, error, HGD_JSON_CHECK_ERROR_SYNTAX, "data after the JSON value");
  return TRUE;
}
