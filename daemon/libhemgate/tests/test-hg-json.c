/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the checked JSON accessors: wrong shapes are errors, never criticals. */
#include "config.h"

#include <hemgate-plugin.h>

static void
test_parse_rejects (void)
{
  const gchar *bad[] = { "", "[1,2]", "{\"a\":", "\"str\"", "{\"a\":1}}", NULL };

  g_test_summary ("Malformed text and non-object roots give HG_ERROR_INVALID_DATA");
  for (guint i = 0; bad[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonObject) obj = hg_json_parse_object (bad[i], -1, 0, &error);
      g_assert_null (obj);
      g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
    }
}

static void
test_parse_limit (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) obj = hg_json_parse_object ("{\"a\":\"0123456789\"}", -1, 8, &error);

  g_test_summary ("A document over the size limit is refused before parsing");
  g_assert_null (obj);
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "exceeds the limit of 8"));
}

static void
test_accessors (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) obj =
    hg_json_parse_object ("{\"s\":\"x\",\"i\":5,\"d\":1.5,\"b\":true,\"o\":{},\"a\":[]}", -1, 0, &error);
  const gchar *s = NULL;
  gint64 i = 0;
  gdouble d = 0;
  gboolean b = FALSE;
  JsonObject *o = NULL;
  JsonArray *a = NULL;
  static const gchar *const allowed[] = { "s", "i", "d", "b", "o", "a", NULL };
  static const gchar *const fewer[] = { "s", NULL };

  g_test_summary ("Each accessor returns the value of the right type, and an error otherwise");
  g_assert_no_error (error);
  g_assert_true (hg_json_object_get_string (obj, "s", &s, &error));
  g_assert_cmpstr (s, ==, "x");
  g_assert_true (hg_json_object_get_int (obj, "i", 0, 10, &i, &error));
  g_assert_cmpint (i, ==, 5);
  g_assert_true (hg_json_object_get_double (obj, "d", &d, &error));
  g_assert_cmpfloat (d, ==, 1.5);
  g_assert_true (hg_json_object_get_double (obj, "i", &d, &error));
  g_assert_cmpfloat (d, ==, 5.0);
  g_assert_true (hg_json_object_get_boolean (obj, "b", &b, &error));
  g_assert_true (b);
  g_assert_true (hg_json_object_get_object (obj, "o", &o, &error));
  g_assert_true (hg_json_object_get_array (obj, "a", &a, &error));
  g_assert_true (hg_json_object_check_members (obj, allowed, &error));
  g_assert_no_error (error);

  g_assert_false (hg_json_object_get_string (obj, "i", &s, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_cmpstr (error->message, ==, "member 'i' is not a string");
  g_clear_error (&error);
  g_assert_false (hg_json_object_get_int (obj, "i", 6, 10, &i, &error));
  g_assert_cmpstr (error->message, ==, "member 'i' is 5, outside 6..10");
  g_clear_error (&error);
  g_assert_false (hg_json_object_get_int (obj, "d", 0, 10, &i, &error));
  g_clear_error (&error);
  g_assert_false (hg_json_object_get_boolean (obj, "missing", &b, &error));
  g_assert_cmpstr (error->message, ==, "member 'missing' is missing");
  g_clear_error (&error);
  g_assert_true (hg_json_object_get_optional_string (obj, "missing", &s, &error));
  g_assert_null (s);
  g_assert_false (hg_json_object_get_optional_string (obj, "b", &s, &error));
  g_clear_error (&error);
  g_assert_false (hg_json_object_get_object (obj, "a", &o, &error));
  g_clear_error (&error);
  g_assert_false (hg_json_object_check_members (obj, fewer, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/json/parse/rejects-malformed", test_parse_rejects);
  g_test_add_func ("/json/parse/rejects-oversized", test_parse_limit);
  g_test_add_func ("/json/accessors/check-types", test_accessors);
  return g_test_run ();
}
