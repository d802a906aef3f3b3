/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdFleetManifest on its own: a manifest signed and read back, every member checked,
 * a signature that does not match, and who a target reaches (named groups, a stable
 * percentage of gateways). */
#include "config.h"

#include <string.h>

#include "hgd-bundle.h"
#include "hgd-fleet-manifest.h"

#define DIGEST                                                                                     \
  "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"                               \
  "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

/* @text signed with a new key; the key's public half in @public_key */
static HgdFleetManifest *
sign_and_read (const gchar *text,
               GBytes **public_key)
{
  g_autoptr(GBytes) secret_key = NULL;
  g_autoptr(GBytes) manifest = g_bytes_new (text, strlen (text));
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *envelope = NULL;
  HgdFleetManifest *read;

  g_assert_true (hgd_bundle_key_generate (public_key, &secret_key));
  envelope = hgd_fleet_sign (manifest, secret_key, &error);
  g_assert_no_error (error);
  message = g_bytes_new (envelope, strlen (envelope));
  read = hgd_fleet_manifest_new_from_message (message, &error);
  g_assert_no_error (error);
  return read;
}

static void
test_round_trip (void)
{
  g_autoptr(GBytes) public_key = NULL;
  g_autoptr(GBytes) other_public = NULL;
  g_autoptr(GBytes) other_secret = NULL;
  g_autoptr(HgdFleetManifest) manifest = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *key_id = NULL;
  HgdFleetPlugin *plugin;

  g_test_summary ("A signed manifest reads back with its serial, domain and plugins, verifies "
                  "with its key and not with another");
  manifest = sign_and_read ("{\"format\": 1, \"serial\": 7, \"domain\": \"municipal\", "
                            "\"plugins\": [{\"id\": \"greeter\", \"version\": \"1.1\", "
                            "\"digest\": \"" DIGEST "\"}]}",
                            &public_key);
  key_id = hgd_bundle_key_id (public_key);
  g_assert_cmpstr (hgd_fleet_manifest_get_key_id (manifest), ==, key_id);
  g_assert_cmpuint (strlen (hgd_fleet_manifest_get_digest (manifest)), ==, 128);
  g_assert_true (hgd_bundle_key_generate (&other_public, &other_secret));
  g_assert_false (hgd_fleet_manifest_verify (manifest, other_public, &error));
  g_assert_error (error, HGD_FLEET_ERROR, HGD_FLEET_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);
  g_assert_true (hgd_fleet_manifest_verify (manifest, public_key, &error));
  g_assert_no_error (error);
  g_assert_true (hgd_fleet_manifest_parse (manifest, &error));
  g_assert_no_error (error);
  g_assert_cmpint (hgd_fleet_manifest_get_serial (manifest), ==, 7);
  g_assert_cmpint (hgd_fleet_manifest_get_domain (manifest), ==, HG_DOMAIN_MUNICIPAL);
  g_assert_cmpuint (hgd_fleet_manifest_get_plugins (manifest)->len, ==, 1);
  plugin = g_ptr_array_index (hgd_fleet_manifest_get_plugins (manifest), 0);
  g_assert_cmpstr (plugin->id, ==, "greeter");
  g_assert_cmpstr (plugin->version, ==, "1.1");
  g_assert_cmpstr (plugin->digest, ==, DIGEST);
  g_assert_true (hgd_fleet_manifest_targets (manifest, "gw-1", NULL));
}

static void
test_bad_manifests (void)
{
  const gchar *const bad[] = {
    "{\"format\": 2, \"serial\": 1, \"domain\": \"municipal\", \"plugins\": []}",
    "{\"format\": 1, \"serial\": 0, \"domain\": \"municipal\", \"plugins\": []}",
    "{\"format\": 1, \"serial\": 1, \"domain\": \"nowhere\", \"plugins\": []}",
    "{\"format\": 1, \"serial\": 1, \"domain\": \"municipal\", \"plugins\": [], \"x\": 1}",
    "{\"format\": 1, \"serial\": 1, \"domain\": \"municipal\", \"plugins\": [{\"id\": \"a\", "
    "\"version\": \"1\", \"digest\": \"ABC\"}]}",
    "{\"format\": 1, \"serial\": 1, \"domain\": \"municipal\", \"plugins\": [], "
    "\"target\": {\"percent\": 101}}",
    "[1, 2]",
  };

  g_test_summary ("A manifest of another format, serial 0, an unknown domain or member, a "
                  "digest that is not 128 lower-case hex digits or a percentage past 100 is "
                  "refused as malformed");
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GBytes) public_key = NULL;
      g_autoptr(HgdFleetManifest) manifest = sign_and_read (bad[i], &public_key);
      g_autoptr(GError) error = NULL;

      g_assert_true (hgd_fleet_manifest_verify (manifest, public_key, NULL));
      g_assert_false (hgd_fleet_manifest_parse (manifest, &error));
      g_assert_error (error, HGD_FLEET_ERROR, HGD_FLEET_ERROR_MALFORMED);
      g_test_message ("%s: %s", bad[i], error->message);
    }
}

/* The config digest of greeter's @config (a JSON object) in a signed manifest, or NULL
 * with @error set if it is refused. */
static gchar *
config_digest (const gchar *config,
               GError **error)
{
  g_autofree gchar *text = g_strdup_printf (
      "{\"format\": 1, \"serial\": 1, \"domain\": \"municipal\", \"plugins\": "
      "[{\"id\": \"greeter\", \"version\": \"1\", \"digest\": \"" DIGEST "\", "
      "\"config\": %s}]}",
      config);
  g_autoptr(GBytes) public_key = NULL;
  g_autoptr(HgdFleetManifest) manifest = sign_and_read (text, &public_key);
  HgdFleetPlugin *plugin;

  if (!hgd_fleet_manifest_parse (manifest, error))
    return NULL;
  plugin = g_ptr_array_index (hgd_fleet_manifest_get_plugins (manifest), 0);
  g_assert_nonnull (plugin->config);
  return g_strdup (plugin->config_digest);
}

static void
test_config (void)
{
  const gchar *const bad[] = {
    "[]",
    "{\"interval\": 5}",
    "{\"demo-password\": \"x\"}",
    "{\"enabled\": \"false\"}",
    "{\"deny\": \"\"}",
    "{\"source\": \"config\"}",
    "{\"Interval\": \"5\"}",
    "{\"\": \"5\"}",
  };
  g_autofree gchar *one = NULL;
  g_autofree gchar *same = NULL;
  g_autofree gchar *other = NULL;
  g_autofree gchar *empty = NULL;
  g_autofree gchar *long_value = g_strnfill (4097, 'x');
  g_autofree gchar *too_long = g_strdup_printf ("{\"arc\": \"%s\"}", long_value);
  g_autoptr(GError) error = NULL;

  g_test_summary ("A plugin's config is its own keys with string values, named by a digest "
                  "that does not depend on their order; a key of the core's, a demo-* key, a "
                  "value that is not a string or too long is refused as malformed");
  one = config_digest ("{\"interval\": \"5\", \"arc\": \"192.0.2.1\"}", &error);
  g_assert_no_error (error);
  same = config_digest ("{\"arc\": \"192.0.2.1\", \"interval\": \"5\"}", &error);
  g_assert_no_error (error);
  other = config_digest ("{\"arc\": \"192.0.2.1\", \"interval\": \"6\"}", &error);
  g_assert_no_error (error);
  empty = config_digest ("{}", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (one), ==, 64);
  g_assert_cmpstr (one, ==, same);
  g_assert_cmpstr (one, !=, other);
  g_assert_cmpstr (one, !=, empty);
  for (guint i = 0; i <= G_N_ELEMENTS (bad); i++)
    {
      const gchar *config = i < G_N_ELEMENTS (bad) ? bad[i] : too_long;
      g_autofree gchar *digest = config_digest (config, &error);

      g_assert_null (digest);
      g_assert_error (error, HGD_FLEET_ERROR, HGD_FLEET_ERROR_MALFORMED);
      g_test_message ("%.60s: %s", config, error->message);
      g_clear_error (&error);
    }
}

static void
test_targets (void)
{
  static const gchar *const pilot[] = { "pilot", NULL };
  static const gchar *const north[] = { "north", NULL };
  g_autoptr(GBytes) key_a = NULL;
  g_autoptr(GBytes) key_b = NULL;
  g_autoptr(GBytes) key_c = NULL;
  g_autoptr(HgdFleetManifest) grouped = sign_and_read (
      "{\"format\": 1, \"serial\": 1, \"domain\": \"municipal\", \"plugins\": [], "
      "\"target\": {\"groups\": [\"pilot\"]}}",
      &key_a);
  g_autoptr(HgdFleetManifest) ten = sign_and_read (
      "{\"format\": 1, \"serial\": 1, \"domain\": \"municipal\", \"plugins\": [], "
      "\"target\": {\"percent\": 10}}",
      &key_b);
  g_autoptr(HgdFleetManifest) twenty = sign_and_read (
      "{\"format\": 1, \"serial\": 1, \"domain\": \"municipal\", \"plugins\": [], "
      "\"target\": {\"percent\": 20}}",
      &key_c);
  guint in_ten = 0;

  g_test_summary ("A manifest for a group reaches its members only; a percentage reaches about "
                  "that share of gateways by their id, and every gateway of 10 % is in 20 %");
  g_assert_true (hgd_fleet_manifest_parse (grouped, NULL));
  g_assert_true (hgd_fleet_manifest_parse (ten, NULL));
  g_assert_true (hgd_fleet_manifest_parse (twenty, NULL));
  g_assert_true (hgd_fleet_manifest_targets (grouped, "gw-1", pilot));
  g_assert_false (hgd_fleet_manifest_targets (grouped, "gw-1", north));
  g_assert_false (hgd_fleet_manifest_targets (grouped, "gw-1", NULL));
  for (guint i = 0; i < 10000; i++)
    {
      g_autofree gchar *id = g_strdup_printf ("gw-%05u", i);
      gboolean a = hgd_fleet_manifest_targets (ten, id, NULL);

      g_assert_cmpuint (hgd_fleet_gateway_bucket (id), ==, hgd_fleet_gateway_bucket (id));
      g_assert_true (!a || hgd_fleet_manifest_targets (twenty, id, NULL));
      in_ten += a;
    }
  g_assert_cmpuint (in_ten, >, 800);
  g_assert_cmpuint (in_ten, <, 1200);
}

static void
test_envelope_refusals (void)
{
  g_autofree gchar *big = g_strnfill (HGD_FLEET_MANIFEST_MAX_SIZE + 1, ' ');
  g_autoptr(GBytes) too_large = g_bytes_new (big, strlen (big));
  g_autoptr(GBytes) not_json = g_bytes_new_static ("{\"format\":", 10);
  g_autoptr(GError) error = NULL;

  g_test_summary ("A message past 64 KiB, or not the envelope, is refused before anything of "
                  "it is read");
  g_assert_null (hgd_fleet_manifest_new_from_message (too_large, &error));
  g_assert_error (error, HGD_FLEET_ERROR, HGD_FLEET_ERROR_TOO_LARGE);
  g_clear_error (&error);
  g_assert_null (hgd_fleet_manifest_new_from_message (not_json, &error));
  g_assert_error (error, HGD_FLEET_ERROR, HGD_FLEET_ERROR_MALFORMED);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/fleet-manifest/round-trip", test_round_trip);
  g_test_add_func ("/fleet-manifest/bad-manifests-malformed", test_bad_manifests);
  g_test_add_func ("/fleet-manifest/targets", test_targets);
  g_test_add_func ("/fleet-manifest/config", test_config);
  g_test_add_func ("/fleet-manifest/envelope-refusals", test_envelope_refusals);
  return g_test_run ();
}
