/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of HgdManifest: a valid manifest reads back; every way a manifest can be wrong is
 * refused whole with HG_ERROR_INVALID_DATA and a message naming the problem. */
#include "config.h"

#include <glib/gstdio.h>

#include "hgd-capabilities.h"
#include "hgd-manifest.h"

#define GOOD_MANIFEST                                              \
  "{\n"                                                            \
  "  \"id\": \"scaip-alarm\",\n"                                   \
  "  \"name\": \"SCAIP alarm\",\n"                                 \
  "  \"version\": \"1.2.0\",\n"                                    \
  "  \"provider\": \"Exempel AB\",\n"                              \
  "  \"api_version\": \"1\",\n"                                    \
  "  \"module\": \"hg-scaip-plugin.so\",\n"                        \
  "  \"domains\": [\"municipal\"],\n"                              \
  "  \"capabilities\": [\"alarm.deliver\", \"secrets\",\n"         \
  "                     \"net.connect:arc.example.se:5060\",\n"    \
  "                     \"net.connect:[2001:db8::1]:443\"]\n"      \
  "}\n"

/* A valid manifest with one member replaced: "%s" takes `"member": value`. */
#define MANIFEST_WITH(...)                                         \
  "{ \"id\": \"x\", \"name\": \"X\", \"version\": \"1\", "         \
  "\"provider\": \"P\", \"api_version\": \"1\", "                  \
  "\"module\": \"x.so\", \"domains\": [\"personal\"], " __VA_ARGS__ " }"

static void
test_good (void)
{
  g_autoptr(HgdManifest) manifest = NULL;
  g_autoptr(GError) error = NULL;
  const gchar *const *capabilities;
  HgDomain domain;

  g_test_summary ("A valid manifest reads back member by member");
  manifest = hgd_manifest_new_from_data (GOOD_MANIFEST, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (hgd_manifest_get_id (manifest), ==, "scaip-alarm");
  g_assert_cmpstr (hgd_manifest_get_name (manifest), ==, "SCAIP alarm");
  g_assert_cmpstr (hgd_manifest_get_version (manifest), ==, "1.2.0");
  g_assert_cmpstr (hgd_manifest_get_provider (manifest), ==, "Exempel AB");
  g_assert_cmpstr (hgd_manifest_get_module (manifest), ==, "hg-scaip-plugin.so");
  g_assert_true (hgd_manifest_allows_domain (manifest, HG_DOMAIN_MUNICIPAL));
  g_assert_false (hgd_manifest_allows_domain (manifest, HG_DOMAIN_PERSONAL));
  g_assert_true (hgd_manifest_get_only_domain (manifest, &domain));
  g_assert_cmpint (domain, ==, HG_DOMAIN_MUNICIPAL);
  capabilities = hgd_manifest_get_capabilities (manifest);
  g_assert_cmpuint (g_strv_length ((gchar **) capabilities), ==, 4);
  g_assert_cmpstr (capabilities[2], ==, "net.connect:arc.example.se:5060");
}

static void
test_two_domains (void)
{
  g_autoptr(HgdManifest) manifest = NULL;
  g_autoptr(GError) error = NULL;
  HgDomain domain;

  g_test_summary ("A plugin may allow both domains; then it has no only domain");
  manifest = hgd_manifest_new_from_data ("{ \"id\": \"x\", \"name\": \"X\", \"version\": \"1\", "
                                         "\"provider\": \"P\", \"api_version\": \"1\", "
                                         "\"module\": \"x.so\", \"domains\": [\"personal\", \"municipal\"], "
                                         "\"capabilities\": [] }",
                                         -1, &error);
  g_assert_no_error (error);
  g_assert_false (hgd_manifest_get_only_domain (manifest, &domain));
  g_assert_true (hgd_manifest_allows_domain (manifest, HG_DOMAIN_PERSONAL));
  g_assert_true (hgd_manifest_allows_domain (manifest, HG_DOMAIN_MUNICIPAL));
}

typedef struct
{
  const gchar *path;
  const gchar *data;
  const gchar *message; /* a part of the expected error message */
} BadCase;

static const BadCase bad_cases[] = {
  { "/plugins/manifest/malformed-rejected", "{ \"id\": \"x\", ", "malformed JSON" },
  { "/plugins/manifest/unknown-key-rejected",
    MANIFEST_WITH ("\"capabilities\": [], \"autostart\": true"), "unknown member 'autostart'" },
  { "/plugins/manifest/unknown-capability-rejected",
    MANIFEST_WITH ("\"capabilities\": [\"sensor.publish\", \"root.shell\"]"), "unknown capability 'root.shell'" },
  { "/plugins/manifest/wrong-api-version-rejected",
    "{ \"id\": \"x\", \"name\": \"X\", \"version\": \"1\", \"provider\": \"P\", \"api_version\": \"2\", "
    "\"module\": \"x.so\", \"domains\": [\"personal\"], \"capabilities\": [] }",
    "api_version '2' is not supported" },
  { "/plugins/manifest/rejected/root-not-object", "[1, 2]", "JSON root is not an object" },
  { "/plugins/manifest/rejected/empty", "", "empty JSON document" },
  { "/plugins/manifest/rejected/extra-member", MANIFEST_WITH ("\"capabilities\": [], \"unused\": 1"), "unknown member 'unused'" },
  { "/plugins/manifest/rejected/capabilities-missing",
    "{ \"id\": \"x\", \"name\": \"X\", \"version\": \"1\", \"provider\": \"P\", \"api_version\": \"1\", "
    "\"module\": \"x.so\", \"domains\": [\"personal\"] }",
    "member 'capabilities' is missing" },
  { "/plugins/manifest/rejected/api-version-number",
    "{ \"id\": \"x\", \"name\": \"X\", \"version\": \"1\", \"provider\": \"P\", \"api_version\": 1, "
    "\"module\": \"x.so\", \"domains\": [\"personal\"], \"capabilities\": [] }",
    "member 'api_version' is not a string" },
  { "/plugins/manifest/rejected/capabilities-not-array",
    MANIFEST_WITH ("\"capabilities\": \"secrets\""), "member 'capabilities' is not an array" },
  { "/plugins/manifest/rejected/capability-not-string",
    MANIFEST_WITH ("\"capabilities\": [7]"), "item 0 is not a string" },
  { "/plugins/manifest/rejected/capability-twice",
    MANIFEST_WITH ("\"capabilities\": [\"secrets\", \"secrets\"]"), "'secrets' is listed twice" },
  { "/plugins/manifest/rejected/net-connect-port-zero",
    MANIFEST_WITH ("\"capabilities\": [\"net.connect:arc.example.se:0\"]"), "does not name a port" },
  { "/plugins/manifest/rejected/net-connect-port-too-big",
    MANIFEST_WITH ("\"capabilities\": [\"net.connect:arc.example.se:65536\"]"), "does not name a port" },
  { "/plugins/manifest/rejected/net-connect-port-signed",
    MANIFEST_WITH ("\"capabilities\": [\"net.connect:arc.example.se:+80\"]"), "does not name a port" },
  { "/plugins/manifest/rejected/net-connect-no-host",
    MANIFEST_WITH ("\"capabilities\": [\"net.connect::80\"]"), "does not name a host" },
  { "/plugins/manifest/rejected/net-connect-bad-host",
    MANIFEST_WITH ("\"capabilities\": [\"net.connect:arc/../x:80\"]"), "does not name a host" },
  { "/plugins/manifest/rejected/net-connect-no-port",
    MANIFEST_WITH ("\"capabilities\": [\"net.connect:arc.example.se\"]"), "as net.connect:HOST:PORT" },
  { "/plugins/manifest/rejected/id-upper-case",
    "{ \"id\": \"Example\", \"name\": \"X\", \"version\": \"1\", \"provider\": \"P\", \"api_version\": \"1\", "
    "\"module\": \"x.so\", \"domains\": [\"personal\"], \"capabilities\": [] }",
    "id 'Example' is not" },
  { "/plugins/manifest/rejected/id-path",
    "{ \"id\": \"../etc\", \"name\": \"X\", \"version\": \"1\", \"provider\": \"P\", \"api_version\": \"1\", "
    "\"module\": \"x.so\", \"domains\": [\"personal\"], \"capabilities\": [] }",
    "id '../etc' is not" },
  { "/plugins/manifest/rejected/module-parent",
    "{ \"id\": \"x\", \"name\": \"X\", \"version\": \"1\", \"provider\": \"P\", \"api_version\": \"1\", "
    "\"module\": \"../evil.so\", \"domains\": [\"personal\"], \"capabilities\": [] }",
    "module '../evil.so' is not a plain file name" },
  { "/plugins/manifest/rejected/module-absolute",
    "{ \"id\": \"x\", \"name\": \"X\", \"version\": \"1\", \"provider\": \"P\", \"api_version\": \"1\", "
    "\"module\": \"/usr/lib/evil.so\", \"domains\": [\"personal\"], \"capabilities\": [] }",
    "is not a plain file name" },
  { "/plugins/manifest/rejected/domains-empty",
    "{ \"id\": \"x\", \"name\": \"X\", \"version\": \"1\", \"provider\": \"P\", \"api_version\": \"1\", "
    "\"module\": \"x.so\", \"domains\": [], \"capabilities\": [] }",
    "names no domain" },
  { "/plugins/manifest/rejected/domain-unknown",
    "{ \"id\": \"x\", \"name\": \"X\", \"version\": \"1\", \"provider\": \"P\", \"api_version\": \"1\", "
    "\"module\": \"x.so\", \"domains\": [\"home\"], \"capabilities\": [] }",
    "is not 'municipal' or 'personal'" },
  { "/plugins/manifest/rejected/name-empty",
    "{ \"id\": \"x\", \"name\": \"\", \"version\": \"1\", \"provider\": \"P\", \"api_version\": \"1\", "
    "\"module\": \"x.so\", \"domains\": [\"personal\"], \"capabilities\": [] }",
    "member 'name' must have 1 to 128 characters" },
};

static void
test_bad (gconstpointer user_data)
{
  const BadCase *bad = user_data;
  g_autoptr(HgdManifest) manifest = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A manifest that breaks a rule of data/schemas/manifest.schema.json is "
                  "refused with HG_ERROR_INVALID_DATA naming the problem");
  manifest = hgd_manifest_new_from_data (bad->data, -1, &error);
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, bad->message));
  g_assert_null (manifest);
}

static void
test_oversized (void)
{
  g_autoptr(GString) data = g_string_new (MANIFEST_WITH ("\"capabilities\": []"));
  g_autoptr(HgdManifest) manifest = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A manifest larger than 64 KiB is refused before it is parsed");
  g_string_insert (data, 1, " ");
  while (data->len <= HGD_MANIFEST_MAX_SIZE)
    g_string_insert (data, 1, "                                ");
  manifest = hgd_manifest_new_from_data (data->str, (gssize) data->len, &error);
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "exceeds the limit"));
}

static void
test_file_named (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdManifest) manifest = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("hemgate-manifest-XXXXXX", &error);
  g_autofree gchar *path = g_build_filename (dir, "manifest.json", NULL);

  g_test_summary ("Errors from a file name the file");
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (path, "{", -1, &error));
  manifest = hgd_manifest_new_from_file (path, &error);
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_true (g_str_has_prefix (error->message, "manifest "));
  g_assert_nonnull (strstr (error->message, path));
  g_remove (path);
  g_rmdir (dir);
}

static void
test_capability_names (void)
{
  const gchar *good[] = {
    "alarm.raise", "alarm.deliver", "sensor.publish", "sensor.subscribe", "media.camera",
    "media.microphone", "secrets", "net.connect:10.0.0.1:1", "net.connect:localhost:65535",
    "net.connect:[::1]:8883",
  };
  const gchar *bad[] = {
    "", "alarm", "alarm.raise ", "ALARM.RAISE", "net.connect", "net.connect:", "net.connect:h:",
    "net.connect:h:08", "net.connect:[::1:80", "net.connect:[nothost]:80", "net.connect:-h:80",
  };

  g_test_summary ("The capability check used for manifests and `deny` lists");
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    g_assert_true (hgd_capability_check (good[i], NULL));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_test_message ("%s", bad[i]);
      g_assert_false (hgd_capability_check (bad[i], &error));
      g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
    }
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/plugins/manifest/good", test_good);
  g_test_add_func ("/plugins/manifest/two-domains", test_two_domains);
  g_test_add_func ("/plugins/manifest/rejected/oversized", test_oversized);
  g_test_add_func ("/plugins/manifest/file-named-in-errors", test_file_named);
  g_test_add_func ("/plugins/manifest/capability-names", test_capability_names);
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    g_test_add_data_func (bad_cases[i].path, &bad_cases[i], test_bad);
  return g_test_run ();
}
