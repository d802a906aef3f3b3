/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdGrants on an injected clock: when a grant acts, for whom, and its night window. */
#include "config.h"

#include <string.h>

#include "hgd-grants.h"

#define SECOND G_GINT64_CONSTANT (1000000)

static gint64
local_time (gint hour,
            gint minute)
{
  g_autoptr(GDateTime) dt = g_date_time_new_local (2026, 12, 7, hour, minute, 0);
  return g_date_time_to_unix (dt) * G_USEC_PER_SEC;
}

static gchar *
utc_string (gint64 usec)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);
  return g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ");
}

/* Makes a grant from @request_json at @now, as the journal would hand it back. */
static gchar *
make (HgdGrants *grants,
      const gchar *request_json,
      gint64 now)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) request = hg_json_parse_object (request_json, -1, 0, &error);
  g_autoptr(JsonObject) grant = NULL;
  g_autoptr(HgEvent) event = NULL;

  g_assert_no_error (error);
  grant = hgd_grants_validate (request, "user:anna", now, &error);
  g_assert_no_error (error);
  g_assert_nonnull (grant);
  event = hg_event_new (HGD_GRANT_EVENT_MADE, grant);
  hgd_grants_apply_event (grants, event);
  hgd_grants_apply_event (grants, event); /* twice changes nothing */
  return g_strdup (json_object_get_string_member (grant, "id"));
}

static void
test_window_of_time (void)
{
  g_autoptr(HgdGrants) grants = hgd_grants_new ();
  gint64 t0 = local_time (12, 0);
  g_autofree gchar *start = utc_string (t0 + 10 * SECOND);
  g_autofree gchar *end = utc_string (t0 + 20 * SECOND);
  g_autofree gchar *request = g_strdup_printf (
      "{\"kind\":\"share-readings\",\"scope\":{\"devices\":[\"bed\"]},\"start\":\"%s\",\"end\":\"%s\"}",
      start, end);
  g_autofree gchar *id = make (grants, request, t0);
  g_autoptr(JsonArray) listed = NULL;

  g_test_summary ("A grant acts from its start until its end, for care staff only, and only "
                  "for what its scope names");
  g_assert_false (hgd_grants_allows (grants, HGD_ROLE_STAFF, "s", HGD_GRANT_READINGS, "bed",
                                     t0 + 10 * SECOND - 1));
  g_assert_true (hgd_grants_allows (grants, HGD_ROLE_STAFF, "s", HGD_GRANT_READINGS, "bed",
                                    t0 + 10 * SECOND));
  g_assert_cmpint (hgd_grants_allowed_since (grants, HGD_ROLE_STAFF, "s", HGD_GRANT_READINGS,
                                             "bed", t0 + 15 * SECOND),
                   ==, t0 + 10 * SECOND);
  g_assert_true (hgd_grants_allows (grants, HGD_ROLE_STAFF, "s", HGD_GRANT_READINGS, "bed",
                                    t0 + 20 * SECOND - 1));
  g_assert_false (hgd_grants_allows (grants, HGD_ROLE_STAFF, "s", HGD_GRANT_READINGS, "bed",
                                     t0 + 20 * SECOND));
  /* nobody else of the municipality, and nothing else of the home */
  for (HgdRole role = HGD_ROLE_IT_ADMIN; role < HGD_ROLE_LAST; role++)
    {
      if (hgd_role_get_domain (role) == HG_DOMAIN_MUNICIPAL)
        g_assert_false (hgd_grants_allows (grants, role, "x", HGD_GRANT_READINGS, "bed",
                                           t0 + 15 * SECOND));
    }
  g_assert_false (hgd_grants_allows (grants, HGD_ROLE_FAMILY, "x", HGD_GRANT_READINGS, "bed",
                                     t0 + 15 * SECOND));
  g_assert_false (hgd_grants_allows (grants, HGD_ROLE_STAFF, "s", HGD_GRANT_READINGS, "door",
                                     t0 + 15 * SECOND));
  g_assert_false (hgd_grants_night_check_allowed (grants, t0 + 15 * SECOND));
  /* the resident and the guardian need none */
  g_assert_cmpint (hgd_grants_allowed_since (grants, HGD_ROLE_GUARDIAN, "g", HGD_GRANT_READINGS,
                                             "door", t0),
                   ==, 0);

  listed = hgd_grants_to_json (grants, "municipality", t0 + 15 * SECOND);
  g_assert_cmpuint (json_array_get_length (listed), ==, 1);
  g_assert_true (json_object_get_boolean_member (json_array_get_object_element (listed, 0),
                                                 "active"));
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (listed, 0),
                                                  "made_by"),
                   ==, "user:anna");
}

static void
test_revoked_at_once (void)
{
  g_autoptr(HgdGrants) grants = hgd_grants_new ();
  gint64 t0 = local_time (12, 0);
  g_autofree gchar *id = make (
      grants, "{\"kind\":\"family-access\",\"scope\":{\"user\":\"bo\",\"actions\":[\"view\"]}}", t0);
  g_autoptr(JsonObject) revoked = NULL;
  g_autoptr(JsonObject) again = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("Family access names one user and its actions; a revoked grant lets nothing "
                  "through from that moment, and is revoked once");
  g_assert_true (hgd_grants_allows (grants, HGD_ROLE_FAMILY, "bo", HGD_GRANT_ALARM_VIEW, NULL, t0));
  g_assert_false (hgd_grants_allows (grants, HGD_ROLE_FAMILY, "bo", HGD_GRANT_ALARM_ACT, NULL, t0));
  g_assert_false (hgd_grants_allows (grants, HGD_ROLE_FAMILY, "cia", HGD_GRANT_ALARM_VIEW, NULL, t0));
  /* alarms are municipal records: municipal roles need no grant to see them */
  g_assert_true (hgd_grants_allows (grants, HGD_ROLE_STAFF, "s", HGD_GRANT_ALARM_VIEW, NULL, t0));

  revoked = hgd_grants_revoke (grants, id, "user:anna", t0 + SECOND, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (revoked, "revoked_by"), ==, "user:anna");
  g_assert_false (hgd_grants_allows (grants, HGD_ROLE_FAMILY, "bo", HGD_GRANT_ALARM_VIEW, NULL,
                                     t0 + SECOND));
  again = hgd_grants_revoke (grants, id, "user:anna", t0 + 2 * SECOND, &error);
  g_assert_null (again);
  g_assert_error (error, HGD_GRANTS_ERROR, HGD_GRANTS_ERROR_REVOKED);
  g_clear_error (&error);
  g_assert_null (hgd_grants_revoke (grants, "no-such-id", "user:anna", t0, &error));
  g_assert_error (error, HGD_GRANTS_ERROR, HGD_GRANTS_ERROR_NOT_FOUND);
}

static void
test_night_window (void)
{
  g_autoptr(HgdGrants) grants = hgd_grants_new ();
  g_autofree gchar *id = make (
      grants, "{\"kind\":\"night-check\",\"scope\":{\"window\":{\"from\":\"22:00\",\"to\":\"06:00\"}}}",
      local_time (0, 0) - 3600 * SECOND);

  g_test_summary ("A night-check window is the gateway's local time and may span midnight");
  g_assert_true (hgd_grants_night_check_allowed (grants, local_time (23, 30)));
  g_assert_true (hgd_grants_night_check_allowed (grants, local_time (0, 0)));
  g_assert_true (hgd_grants_night_check_allowed (grants, local_time (5, 59)));
  g_assert_false (hgd_grants_night_check_allowed (grants, local_time (6, 0)));
  g_assert_false (hgd_grants_night_check_allowed (grants, local_time (12, 0)));
  g_assert_false (hgd_grants_night_check_allowed (grants, local_time (21, 59)));
  g_assert_true (hgd_grants_night_check_allowed (grants, local_time (22, 0)));
}

static void
test_night_max_seconds (void)
{
  g_autoptr(HgdGrants) grants = hgd_grants_new ();
  g_autoptr(HgdGrants) old = hgd_grants_new ();
  g_autoptr(HgEvent) old_event = NULL;
  g_autoptr(JsonObject) old_grant = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *id = make (
      grants,
      "{\"kind\":\"night-check\",\"scope\":{\"window\":{\"from\":\"22:00\",\"to\":\"06:00\"},"
      "\"max_seconds\":5}}",
      local_time (0, 0) - 3600 * SECOND);
  const gchar *const bad[] = { "0", "601", "\"60\"", "60.5", "null", "[60]" };

  g_test_summary ("A night-check grant's max_seconds per look (1 to 600) is what the core "
                  "lets a check last while its window holds; a grant journaled without one "
                  "(before the member existed) reads as 60, needing no migration; 0, 601 and "
                  "anything but a whole number are refused naming the member");
  g_assert_cmpuint (hgd_grants_night_check_max_seconds (grants, local_time (23, 30)), ==, 5);
  g_assert_cmpuint (hgd_grants_night_check_max_seconds (grants, local_time (12, 0)), ==, 0);

  /* as a release before max_seconds wrote it into the personal journal */
  old_grant = hg_json_parse_object (
      "{\"id\":\"3f1c\",\"kind\":\"night-check\",\"scope\":{\"window\":{\"from\":\"22:00\","
      "\"to\":\"06:00\"}},\"grantee\":\"municipality\",\"start\":\"2026-01-01T00:00:00Z\","
      "\"end\":null,\"made_by\":\"user:anna\",\"made\":\"2026-01-01T00:00:00Z\","
      "\"revoked\":null,\"revoked_by\":null}", -1, 0, &error);
  g_assert_no_error (error);
  old_event = hg_event_new (HGD_GRANT_EVENT_MADE, old_grant);
  hgd_grants_apply_event (old, old_event);
  g_assert_true (hgd_grants_night_check_allowed (old, local_time (23, 30)));
  g_assert_cmpuint (hgd_grants_night_check_max_seconds (old, local_time (23, 30)), ==, 60);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree gchar *text = g_strdup_printf (
          "{\"kind\":\"night-check\",\"scope\":{\"window\":{\"from\":\"22:00\",\"to\":\"06:00\"},"
          "\"max_seconds\":%s}}", bad[i]);
      g_autoptr(JsonObject) request = hg_json_parse_object (text, -1, 0, &error);
      g_autoptr(JsonObject) grant = NULL;

      g_assert_no_error (error);
      grant = hgd_grants_validate (request, "user:anna", local_time (12, 0), &error);
      g_test_message ("%s: %s", bad[i], error != NULL ? error->message : "accepted");
      g_assert_null (grant);
      g_assert_error (error, HGD_GRANTS_ERROR, HGD_GRANTS_ERROR_INVALID);
      g_assert_true (g_str_has_prefix (error->message, "scope.max_seconds: "));
      g_assert_nonnull (strstr (error->message, "1 to 600"));
      g_clear_error (&error);
    }
}

int
main (int argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/grants/window-of-time", test_window_of_time);
  g_test_add_func ("/grants/revoked-at-once", test_revoked_at_once);
  g_test_add_func ("/grants/night-window", test_night_window);
  g_test_add_func ("/grants/night-max-seconds", test_night_max_seconds);
  return g_test_run ();
}
