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
  { "/plugins/manifest/rejected/capability-outside-its-domains",
    MANIFEST_WITH ("\"capabilities\": [\"secrets\", \"alarm.deliver\"]"),
    "capability 'alarm.deliver' may not be granted in the personal domain" },
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

/* Every HG_CAPABILITY_* of the public header: the table has each, and no other. */
static const gchar *const public_names[] = {
  HG_CAPABILITY_ALARM_RAISE,
  HG_CAPABILITY_ALARM_DELIVER,
  HG_CAPABILITY_SENSOR_PUBLISH,
  HG_CAPABILITY_SENSOR_SUBSCRIBE,
  HG_CAPABILITY_MEDIA_CAMERA,
  HG_CAPABILITY_MEDIA_MICROPHONE,
  HG_CAPABILITY_SECRETS,
  HG_CAPABILITY_VISIT_PUBLISH,
  HG_CAPABILITY_CHANNEL_SERVE,
  HG_CAPABILITY_NET_CONNECT_PREFIX,
};

/* A capability of @rule as a manifest writes it. */
static gchar *
example_of (const HgdCapability *rule)
{
  if ((rule->flags & HGD_CAPABILITY_FLAGS_PARAMETER) != 0)
    return g_strconcat (rule->name, "arc.example.se:5060", NULL);
  return g_strdup (rule->name);
}

static void
test_capability_names (void)
{
  const gchar *good[] = {
    "net.connect:10.0.0.1:1", "net.connect:localhost:65535", "net.connect:[::1]:8883",
  };
  const gchar *bad[] = {
    "", "alarm", "alarm.raise ", "ALARM.RAISE", "net.connect", "net.connect:", "net.connect:h:",
    "net.connect:h:08", "net.connect:[::1:80", "net.connect:[nothost]:80", "net.connect:-h:80",
  };
  const HgdCapability *table;
  guint n_table;

  g_test_summary ("The capability check used for manifests and `deny` lists accepts the "
                  "names of the grant table, which are the public HG_CAPABILITY_* names, and "
                  "nothing else");
  table = hgd_capabilities_get_all (&n_table);
  g_assert_cmpuint (n_table, ==, G_N_ELEMENTS (public_names));
  for (guint i = 0; i < G_N_ELEMENTS (public_names); i++)
    {
      const HgdCapability *rule = hgd_capability_lookup (public_names[i]);

      g_assert_nonnull (rule);
      g_assert_cmpstr (rule->name, ==, public_names[i]);
    }
  for (guint i = 0; i < n_table; i++)
    {
      g_autofree gchar *capability = example_of (&table[i]);
      g_autoptr(GError) error = NULL;

      g_assert_true (hgd_capability_check (capability, &error));
      g_assert_no_error (error);
    }
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

static void
test_capability_domains (void)
{
  const HgdCapability *table;
  guint n_table;
  guint n_refused = 0;

  g_test_summary ("A manifest may ask for a capability only if every domain it names is one "
                  "the capability's rule in the grant table allows");
  table = hgd_capabilities_get_all (&n_table);
  for (guint i = 0; i < n_table; i++)
    {
      g_autofree gchar *capability = example_of (&table[i]);

      for (guint d = 0; d < HG_DOMAIN_LAST; d++)
        {
          g_autofree gchar *data = NULL;
          g_autoptr(HgdManifest) manifest = NULL;
          g_autoptr(GError) error = NULL;

          data = g_strdup_printf ("{ \"id\": \"x\", \"name\": \"X\", \"version\": \"1\", "
                                  "\"provider\": \"P\", \"api_version\": \"1\", \"module\": "
                                  "\"x.so\", \"domains\": [\"%s\"], \"capabilities\": [\"%s\"] }",
                                  hg_domain_to_string (d), capability);
          manifest = hgd_manifest_new_from_data (data, -1, &error);
          g_test_message ("%s in %s: %s", capability, hg_domain_to_string (d),
                          error != NULL ? error->message : "allowed");
          if (hgd_capability_allows_domain (&table[i], d))
            {
              g_assert_no_error (error);
              g_assert_nonnull (manifest);
            }
          else
            {
              g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
              g_assert_nonnull (strstr (error->message, "may not be granted in the"));
              n_refused++;
            }
        }
    }
  /* alarm.deliver, at least */
  g_assert_cmpuint (n_refused, >, 0);
}

static JsonObject *
object_at (JsonObject *object,
           const gchar *const *path)
{
  for (guint i = 0; object != NULL && path[i] != NULL; i++)
    {
      JsonNode *node = json_object_get_member (object, path[i]);
      object = node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
    }
  return object;
}

static gint
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *) a, *(const gchar *const *) b);
}

/* Returns: (transfer full): the strings of @array, sorted */
static GStrv
sorted_strings (JsonArray *array)
{
  g_autoptr(GPtrArray) strings = g_ptr_array_new ();

  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    g_ptr_array_add (strings, g_strdup (json_array_get_string_element (array, i)));
  g_ptr_array_sort (strings, compare_strings);
  g_ptr_array_add (strings, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&strings), FALSE);
}

static void
test_schema_matches_table (void)
{
  const gchar *schema_path = g_getenv ("HGD_MANIFEST_SCHEMA");
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) prefixes = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) schema_names = NULL;
  const HgdCapability *table;
  JsonObject *root;
  JsonObject *items;
  JsonArray *any_of;
  JsonArray *all_of;
  guint n_table;
  guint n_restricted = 0;

  g_test_summary ("data/schemas/manifest.schema.json names exactly the capabilities of the "
                  "grant table, and restricts to its domains each one that the table "
                  "restricts");
  g_assert_nonnull (schema_path);
  json_parser_load_from_file (parser, schema_path, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));

  table = hgd_capabilities_get_all (&n_table);
  for (guint i = 0; i < n_table; i++)
    {
      if ((table[i].flags & HGD_CAPABILITY_FLAGS_PARAMETER) != 0)
        {
          g_autofree gchar *escaped = g_regex_escape_string (table[i].name, -1);
          g_ptr_array_add (prefixes, g_strconcat ("^", escaped, NULL));
        }
      else
        g_ptr_array_add (names, (gpointer) table[i].name);
    }
  g_ptr_array_sort (names, compare_strings);
  g_ptr_array_add (names, NULL);

  /* the names: one enum, then a pattern per parameterised capability */
  items = object_at (root, (const gchar *const[]) { "properties", "capabilities", "items", NULL });
  g_assert_nonnull (items);
  any_of = json_object_get_array_member (items, "anyOf");
  g_assert_cmpuint (json_array_get_length (any_of), ==, 1 + prefixes->len);
  schema_names = sorted_strings (json_object_get_array_member (json_array_get_object_element (any_of, 0), "enum"));
  g_assert_cmpstrv (schema_names, (const gchar *const *) names->pdata);
  for (guint i = 0; i < prefixes->len; i++)
    {
      const gchar *pattern = json_object_get_string_member (json_array_get_object_element (any_of, i + 1),
                                                            "pattern");
      g_test_message ("%s", pattern);
      g_assert_true (g_str_has_prefix (pattern, g_ptr_array_index (prefixes, i)));
    }

  /* the domains: an if/then rule for each capability not allowed everywhere, and no other */
  all_of = json_object_has_member (root, "allOf") ? json_object_get_array_member (root, "allOf") : NULL;
  for (guint i = 0; i < n_table; i++)
    {
      g_autoptr(GPtrArray) domains = g_ptr_array_new ();
      gboolean found = FALSE;

      if (table[i].domains == HGD_DOMAINS_ALL)
        continue;
      n_restricted++;
      for (guint d = 0; d < HG_DOMAIN_LAST; d++)
        {
          if (hgd_capability_allows_domain (&table[i], d))
            g_ptr_array_add (domains, (gpointer) hg_domain_to_string (d));
        }
      g_ptr_array_sort (domains, compare_strings);
      g_ptr_array_add (domains, NULL);
      for (guint j = 0; all_of != NULL && j < json_array_get_length (all_of); j++)
        {
          JsonObject *rule = json_array_get_object_element (all_of, j);
          JsonObject *contains = object_at (rule, (const gchar *const[]) { "if", "properties", "capabilities", "contains", NULL });
          JsonObject *allowed = object_at (rule, (const gchar *const[]) { "then", "properties", "domains", "items", NULL });
          g_auto(GStrv) schema_domains = NULL;

          if (contains == NULL || g_strcmp0 (json_object_get_string_member (contains, "const"), table[i].name) != 0)
            continue;
          g_assert_nonnull (allowed);
          schema_domains = sorted_strings (json_object_get_array_member (allowed, "enum"));
          g_assert_cmpstrv (schema_domains, (const gchar *const *) domains->pdata);
          found = TRUE;
        }
      g_test_message ("%s: %s", table[i].name, found ? "restricted" : "missing from the schema");
      g_assert_true (found);
    }
  g_assert_cmpuint (all_of != NULL ? json_array_get_length (all_of) : 0, ==, n_restricted);
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
  g_test_add_func ("/plugins/manifest/capability-domains", test_capability_domains);
  g_test_add_func ("/plugins/manifest/schema-matches-table", test_schema_matches_table);
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    g_test_add_data_func (bad_cases[i].path, &bad_cases[i], test_bad);
  return g_test_run ();
}
