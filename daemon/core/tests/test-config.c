/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of HgdConfig: defaults, and a bad file refused with group, key and line. */
#include "config.h"

#include "hgd-config.h"

static void
test_defaults (void)
{
  g_autoptr(HgdConfig) config = hgd_config_new ();

  g_test_summary ("Every key has a built-in default when no file is loaded");
  g_assert_cmpint (hgd_config_get_int (config, "api", "port"), ==, 8443);
  g_assert_true (hgd_config_get_boolean (config, "api", "tls"));
  g_assert_cmpstr (hgd_config_get_string (config, "api", "listen-address"), ==, "0.0.0.0");
  g_assert_cmpint (hgd_config_get_int (config, "api", "max-body-bytes"), ==, 65536);
  g_assert_cmpint (hgd_config_get_int (config, "journal", "municipal-size-budget"), ==, 256);
  g_assert_cmpint (hgd_config_get_int (config, "journal", "personal-size-budget"), ==, 128);
}

static void
test_values (void)
{
  g_autoptr(HgdConfig) config = hgd_config_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(HgConfig) plugin = NULL;
  g_auto(GStrv) instances = NULL;
  g_auto(GStrv) deny = NULL;
  g_autoptr(GHashTable) retention = NULL;
  const gchar *data =
    "# a comment\n"
    "[api]\n"
    "port = 9000\n"
    "tls = false\n"
    "[plugin:alarm-a]\n"
    "plugin = example\n"
    "domain = personal\n"
    "deny = secrets; net.connect:10.0.0.1:80\n"
    "greeting = hej\n"
    "[plugin:other]\n"
    "[retention]\n"
    "sensor.reading = 30\n";

  g_test_summary ("Values are read back typed; plugin groups keep their own keys");
  g_assert_true (hgd_config_load_data (config, data, "test.conf", &error));
  g_assert_no_error (error);
  g_assert_cmpint (hgd_config_get_int (config, "api", "port"), ==, 9000);
  g_assert_false (hgd_config_get_boolean (config, "api", "tls"));
  instances = hgd_config_get_plugin_instances (config);
  g_assert_cmpuint (g_strv_length (instances), ==, 2);
  g_assert_cmpstr (instances[0], ==, "alarm-a");
  g_assert_cmpstr (instances[1], ==, "other");
  g_assert_cmpstr (hgd_config_get_string (config, "plugin:alarm-a", "domain"), ==, "personal");
  deny = hgd_config_get_strv (config, "plugin:alarm-a", "deny");
  g_assert_cmpuint (g_strv_length (deny), ==, 2);
  g_assert_cmpstr (deny[1], ==, "net.connect:10.0.0.1:80");
  plugin = hgd_config_get_plugin_config (config, "alarm-a");
  g_assert_cmpstr (hg_config_get_string (plugin, "greeting", NULL), ==, "hej");
  g_assert_null (hg_config_get_string (plugin, "domain", NULL));
  retention = hgd_config_get_retention (config);
  g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (retention, "sensor.reading")), ==, 30);
}

typedef struct
{
  const gchar *data;
  gint code;
  const gchar *message;
} BadCase;

static void
test_bad (gconstpointer user_data)
{
  const BadCase *bad = user_data;
  g_autoptr(HgdConfig) config = hgd_config_new ();
  g_autoptr(GError) error = NULL;

  g_test_summary ("A bad file is refused whole with a message naming the line and key");
  g_assert_true (hgd_config_load_data (config, "[api]\nport = 1234\n", "good.conf", NULL));
  g_assert_false (hgd_config_load_data (config, bad->data, "bad.conf", &error));
  g_assert_error (error, HGD_CONFIG_ERROR, bad->code);
  g_assert_cmpstr (error->message, ==, bad->message);
  /* the earlier, valid configuration stays in force */
  g_assert_cmpint (hgd_config_get_int (config, "api", "port"), ==, 1234);
}

static const BadCase bad_cases[] = {
  { "[api]\nport = 80\nprot = 1\n", HGD_CONFIG_ERROR_UNKNOWN_KEY, "bad.conf:3: unknown key 'prot' in [api]" },
  { "\n[apy]\n", HGD_CONFIG_ERROR_UNKNOWN_GROUP, "bad.conf:2: unknown group [apy]" },
  { "[api]\nport = 70000\n", HGD_CONFIG_ERROR_BAD_VALUE, "bad.conf:2: [api] port: '70000' is not a whole number from 0 to 65535" },
  { "[api]\ntls = yes\n", HGD_CONFIG_ERROR_BAD_VALUE, "bad.conf:2: [api] tls: 'yes' is not 'true' or 'false'" },
  { "[plugin:x]\ndomain = family\n", HGD_CONFIG_ERROR_BAD_VALUE, "bad.conf:2: [plugin:x] domain: 'family' is not 'municipal' or 'personal'" },
  { "[plugin:x]\nsource = file\n", HGD_CONFIG_ERROR_BAD_VALUE, "bad.conf:2: [plugin:x] source: 'file' is not 'config' or 'bundle'" },
  { "[plugin:Bad/Id]\n", HGD_CONFIG_ERROR_UNKNOWN_GROUP, "bad.conf:1: plugin instance id 'Bad/Id' must be 1-64 characters of a-z, 0-9 and '-'" },
  { "[plugin:]\nenabled = true\n", HGD_CONFIG_ERROR_UNKNOWN_GROUP, "bad.conf:1: unknown group [plugin:]" },
  { "[journal]\nmunicipal-size-budget = 0\n", HGD_CONFIG_ERROR_BAD_VALUE, "bad.conf:2: [journal] municipal-size-budget: '0' is not a whole number from 1 to 1048576" },
  { "[retention]\nSensor = 3\n", HGD_CONFIG_ERROR_UNKNOWN_KEY, "bad.conf:2: [retention] key 'Sensor' is not an event type or prefix" },
};

static void
test_layered (void)
{
  g_autoptr(HgdConfig) config = hgd_config_new ();
  g_auto(GStrv) instances = NULL;

  g_test_summary ("A second file is laid over the first key by key, keeping the rest");
  g_assert_true (hgd_config_load_data (config, "[api]\nport = 8080\ntls = false\n[plugin:example]\n",
                                       "demo", NULL));
  g_assert_true (hgd_config_load_data (config, "[api]\nport = 0\n[plugin:other]\n", "local.conf", NULL));
  g_assert_cmpint (hgd_config_get_int (config, "api", "port"), ==, 0);
  g_assert_false (hgd_config_get_boolean (config, "api", "tls"));
  instances = hgd_config_get_plugin_instances (config);
  g_assert_cmpuint (g_strv_length (instances), ==, 2);
}

static void
test_source_bundle (void)
{
  g_autoptr(HgdConfig) config = hgd_config_new ();
  g_autoptr(HgConfig) plugin = NULL;
  g_auto(GStrv) instances = NULL;

  g_test_summary ("A [plugin:ID] group marked source = bundle is no instance of its own; its "
                  "keys are the plugin's, for the instance a bundle installs");
  g_assert_true (hgd_config_load_data (config,
                                       "[plugin:made]\nsource = config\n"
                                       "[plugin:bundled]\nsource = bundle\ninterval = 5\n",
                                       "test.conf", NULL));
  instances = hgd_config_get_plugin_instances (config);
  g_assert_cmpuint (g_strv_length (instances), ==, 1);
  g_assert_cmpstr (instances[0], ==, "made");
  plugin = hgd_config_get_plugin_config (config, "bundled");
  g_assert_cmpstr (hg_config_get_string (plugin, "interval", NULL), ==, "5");
  g_assert_null (hg_config_get_string (plugin, "source", NULL));
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/config/defaults", test_defaults);
  g_test_add_func ("/config/source-bundle", test_source_bundle);
  g_test_add_func ("/config/values", test_values);
  g_test_add_func ("/config/later-file-laid-over-earlier", test_layered);
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/config/bad-file-refused/%u", i);
      g_test_add_data_func (path, &bad_cases[i], test_bad);
    }
  g_assert_cmpint (HGD_CONFIG_ERROR_PARSE, ==, 0);
  return g_test_run ();
}
