/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of hgd_json_check_strict: every JSON text RFC 8259 allows passes (and json-glib
 * then reads it), everything else is refused with its class and the member at fault. */
#include "config.h"

#include <string.h>

#include "hgd-json-check.h"
#include "hg-json.h"

static void
test_valid (void)
{
  const gchar *valid[] = {
    "{}",
    " \t\r\n{ } \n",
    "[]",
    "\"text\"",
    "0",
    "-0",
    "true",
    "null",
    "{\"a\":[1,-2,3.25,-0.5e-3,1E+2,6.02e23,9223372036854775807,-9223372036854775808]}",
    "{\"s\":\"\\\" \\\\ \\/ \\u00e9 \\u20ac \\ud83d\\ude91 K\xc3\xb6k \xe2\x80\x93\"}",
    "{\"\":\"\",\"a\":{\"a\":{\"a\":null}},\"b\":[{\"a\":1},{\"a\":2}]}",
    "{\"\\u0041\":1,\"B\":2}",
  };

  g_test_summary ("RFC 8259 JSON passes, including every escape but those of control "
                  "characters, characters outside the BMP and numbers at gint64's ends; "
                  "json-glib then reads every object among them");
  for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree gchar *field = NULL;

      {
        g_autofree gchar *shown = g_strescape (valid[i], NULL);
        g_test_message ("%s", shown);
      }
      g_assert_true (hgd_json_check_strict (valid[i], strlen (valid[i]), &field, &error));
      g_assert_no_error (error);
      g_assert_null (field);
      if (valid[i][strspn (valid[i], " \t\r\n")] == '{')
        {
          g_autoptr(JsonObject) object = hg_json_parse_object (valid[i], -1, 0, &error);
          g_assert_no_error (error);
          g_assert_nonnull (object);
        }
    }
}

static gchar *
nested (guint depth)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < depth; i++)
    g_string_append (text, "[");
  for (guint i = 0; i < depth; i++)
    g_string_append (text, "]");
  return g_string_free (text, FALSE);
}

static void
test_depth (void)
{
  g_autofree gchar *deepest = nested (HGD_JSON_CHECK_MAX_DEPTH);
  g_autofree gchar *too_deep = nested (HGD_JSON_CHECK_MAX_DEPTH + 1);
  g_autoptr(GError) error = NULL;

  g_test_summary ("Nesting is refused one level beyond HGD_JSON_CHECK_MAX_DEPTH");
  g_assert_true (hgd_json_check_strict (deepest, strlen (deepest), NULL, NULL));
  g_assert_false (hgd_json_check_strict (too_deep, strlen (too_deep), NULL, &error));
  g_assert_error (error, HGD_JSON_CHECK_ERROR, HGD_JSON_CHECK_ERROR_SYNTAX);
}

static void
test_invalid (void)
{
  const struct
  {
    const gchar *text;
    gsize length; /* 0: strlen */
    HgdJsonCheckError code;
    const gchar *field;
  } invalid[] = {
    { "", 0, HGD_JSON_CHECK_ERROR_SYNTAX, NULL },
    { "  ", 0, HGD_JSON_CHECK_ERROR_SYNTAX, NULL },
    { "\xef\xbb\xbf{}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, NULL },
    { "{} {}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, NULL },
    { "{}x", 0, HGD_JSON_CHECK_ERROR_SYNTAX, NULL },
    { "{} /* c */", 0, HGD_JSON_CHECK_ERROR_SYNTAX, NULL },
    { "{\"a\":1 // c\n}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, NULL },
    { "var a = {}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, NULL },
    { "{'a':1}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, NULL },
    { "{a:1}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, NULL },
    { "{\"a\":1,}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, NULL },
    { "[1,]", 0, HGD_JSON_CHECK_ERROR_SYNTAX, "/1" },
    { "{\"a\" 1}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, "/a" },
    { "{\"a\":01}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, NULL },
    { "{\"a\":0x1}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, NULL },
    { "{\"a\":1.}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, "/a" },
    { "{\"a\":.5}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, "/a" },
    { "{\"a\":+1}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, "/a" },
    { "{\"a\":1e}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, "/a" },
    { "{\"a\":- 1}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, "/a" },
    { "{\"a\":9223372036854775808}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, "/a" },
    { "{\"a\":1e999}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, "/a" },
    { "{\"a\":NaN}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, "/a" },
    { "{\"a\":tru}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, "/a" },
    { "{\"a\":\"\\x41\"}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, "/a" },
    { "{\"a\":\"\\101\"}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, "/a" },
    { "{\"a\":\"\\u12\"}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, "/a" },
    { "{\"a\":\"\\ud83d\"}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, "/a" },
    { "{\"a\":\"\\ude91\\ud83d\"}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, "/a" },
    { "{\"a\":\"open", 0, HGD_JSON_CHECK_ERROR_SYNTAX, "/a" },
    { "{\"a\":\"k\xf6k\"}", 0, HGD_JSON_CHECK_ERROR_SYNTAX, NULL },
    { "{\"a\":\"x\0y\"}", 11, HGD_JSON_CHECK_ERROR_SYNTAX, NULL },
    { "{\"a\":1,\"a\":1}", 0, HGD_JSON_CHECK_ERROR_DUPLICATE_MEMBER, "/a" },
    { "{\"a\":1,\"\\u0061\":2}", 0, HGD_JSON_CHECK_ERROR_DUPLICATE_MEMBER, "/a" },
    { "{\"o\":{\"x/y\":1,\"x/y\":2}}", 0, HGD_JSON_CHECK_ERROR_DUPLICATE_MEMBER, "/o/x~1y" },
    { "{\"a\":\"\\u0000\"}", 0, HGD_JSON_CHECK_ERROR_CONTROL_CHARACTER, "/a" },
    { "{\"a\":\"\\t\"}", 0, HGD_JSON_CHECK_ERROR_CONTROL_CHARACTER, "/a" },
    { "{\"a\":\"\t\"}", 0, HGD_JSON_CHECK_ERROR_CONTROL_CHARACTER, "/a" },
    { "{\"a\":\"\\u007f\"}", 0, HGD_JSON_CHECK_ERROR_CONTROL_CHARACTER, "/a" },
    { "{\"a\":\"\xc2\x9b\"}", 0, HGD_JSON_CHECK_ERROR_CONTROL_CHARACTER, "/a" },
    { "{\"a\":[\"ok\",\"\\r\"]}", 0, HGD_JSON_CHECK_ERROR_CONTROL_CHARACTER, "/a/1" },
    { "{\"~a\":{\"b\\u0007\":1}}", 0, HGD_JSON_CHECK_ERROR_CONTROL_CHARACTER, "/~0a" },
  };

  g_test_summary ("What is not one RFC 8259 JSON text is a syntax error, a member given twice "
                  "a duplicate, a control character anywhere in text its own error; the field "
                  "is the JSON Pointer of the member at fault");
  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree gchar *field = NULL;
      gsize length = invalid[i].length != 0 ? invalid[i].length : strlen (invalid[i].text);

      g_assert_false (hgd_json_check_strict (invalid[i].text, length, &field, &error));
      {
        g_autofree gchar *shown = g_strescape (invalid[i].text, NULL);
        g_autofree gchar *message = g_strescape (error->message, NULL);
        g_test_message ("%s -> %s [%s]", shown, message, field != NULL ? field : "-");
      }
      g_assert_error (error, HGD_JSON_CHECK_ERROR, (gint) invalid[i].code);
      g_assert_cmpstr (field, ==, invalid[i].field);
    }
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json-check/valid", test_valid);
  g_test_add_func ("/json-check/invalid", test_invalid);
  g_test_add_func ("/json-check/depth", test_depth);
  return g_test_run ();
}
