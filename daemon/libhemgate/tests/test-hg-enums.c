/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the enum GTypes (hg-enum-types.h): every value registered under the name the
 * API and the journal use, and the properties that carry an enum typed by it. */
#include "config.h"

#include <hemgate-plugin.h>

static void
test_enums_alarm_state (void)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (HG_TYPE_ALARM_STATE);

  g_test_summary ("HG_TYPE_ALARM_STATE has every state, each nick its wire name");
  g_assert_true (G_TYPE_IS_ENUM (HG_TYPE_ALARM_STATE));
  g_assert_cmpuint (klass->n_values, ==, HG_ALARM_STATE_LAST);
  for (guint i = 0; i < HG_ALARM_STATE_LAST; i++)
    {
      GEnumValue *value = g_enum_get_value (klass, (gint) i);

      g_assert_nonnull (value);
      g_assert_cmpstr (value->value_nick, ==, hg_alarm_state_to_string ((HgAlarmState) i));
    }
  g_assert_null (g_enum_get_value (klass, HG_ALARM_STATE_LAST));
}

static void
test_enums_domain (void)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (HG_TYPE_DOMAIN);

  g_test_summary ("HG_TYPE_DOMAIN has both domains, each nick its wire name");
  g_assert_cmpuint (klass->n_values, ==, HG_DOMAIN_LAST);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      GEnumValue *value = g_enum_get_value (klass, (gint) i);

      g_assert_nonnull (value);
      g_assert_cmpstr (value->value_nick, ==, hg_domain_to_string ((HgDomain) i));
    }
}

static void
test_enums_error (void)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (HG_TYPE_ERROR);

  g_test_summary ("HG_TYPE_ERROR has every error code and no private end marker");
  g_assert_cmpuint (klass->n_values, ==, HG_ERROR_LAST);
  g_assert_cmpstr (g_enum_get_value (klass, HG_ERROR_TIMED_OUT)->value_nick, ==, "timed-out");
}

static void
test_enums_context_domain_property (void)
{
  g_autoptr(GTypeClass) klass = g_type_class_ref (HG_TYPE_CONTEXT);
  g_autoptr(HgContext) context = NULL;
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_CLASS (klass), "domain");
  HgDomain domain = HG_DOMAIN_MUNICIPAL;

  g_test_summary ("HgContext:domain is an HgDomain enum property, not a bare number");
  g_assert_nonnull (pspec);
  g_assert_true (G_IS_PARAM_SPEC_ENUM (pspec));
  g_assert_true (G_PARAM_SPEC_VALUE_TYPE (pspec) == HG_TYPE_DOMAIN);

  /* HgContext is abstract: the shipped test context is the one a test can make */
  context = HG_CONTEXT (hg_test_context_new ("example", HG_DOMAIN_PERSONAL, NULL, NULL));
  g_object_get (context, "domain", &domain, NULL);
  g_assert_cmpint (domain, ==, HG_DOMAIN_PERSONAL);
  g_assert_cmpint (hg_context_get_domain (context), ==, HG_DOMAIN_PERSONAL);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/libhemgate/enums/alarm-state", test_enums_alarm_state);
  g_test_add_func ("/libhemgate/enums/domain", test_enums_domain);
  g_test_add_func ("/libhemgate/enums/error", test_enums_error);
  g_test_add_func ("/libhemgate/enums/context-domain-property", test_enums_context_domain_property);
  return g_test_run ();
}
