/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests that data/hemgate.conf and hemgate.conf(5) document every key of HgdConfig and
 * that the documented file, with every setting uncommented, is a valid configuration. */
#include "config.h"

#include <glib/gstdio.h>

#include "hgd-config.h"

static gchar *
read_source_file (const gchar *first,
                  ...)
{
  g_autofree gchar *path = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  gchar *contents = NULL;
  const gchar *part;
  va_list args;

  /* daemon/core/tests/ -> the top of the source tree */
  g_ptr_array_add (parts, (gpointer) g_test_get_dir (G_TEST_DIST));
  g_ptr_array_add (parts, (gpointer) "..");
  g_ptr_array_add (parts, (gpointer) "..");
  g_ptr_array_add (parts, (gpointer) "..");
  va_start (args, first);
  for (part = first; part != NULL; part = va_arg (args, const gchar *))
    g_ptr_array_add (parts, (gpointer) part);
  va_end (args);
  g_ptr_array_add (parts, NULL);
  path = g_build_filenamev ((gchar **) parts->pdata);
  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

/* A line "#key = value" or "#[group]" is a setting shown commented out; a line "#" or
 * "# text" is an explanation. Uncomment the settings only. */
static gchar *
uncomment_settings (const gchar *text)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr(GString) out = g_string_new (NULL);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const gchar *line = lines[i];

      if (line[0] == '#' && line[1] != '\0' && line[1] != ' ' && line[1] != '#')
        line++;
      g_string_append (out, line);
      if (lines[i + 1] != NULL)
        g_string_append_c (out, '\n');
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
split_key (const gchar *group_key,
           gchar **group,
           gchar **key)
{
  const gchar *slash = strchr (group_key, '/');

  g_assert_nonnull (slash);
  *group = g_strndup (group_key, slash - group_key);
  *key = g_strdup (slash + 1);
}

static void
test_doc_as_installed_loads (void)
{
  g_autofree gchar *text = read_source_file ("data", "hemgate.conf", NULL);
  g_autoptr(HgdConfig) config = hgd_config_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) instances = NULL;

  g_test_summary ("The installed hemgate.conf, everything commented out, loads and changes "
                  "nothing: no plugin instance is configured by it");
  g_assert_true (hgd_config_load_data (config, text, "data/hemgate.conf", &error));
  g_assert_no_error (error);
  instances = hgd_config_get_plugin_instances (config);
  g_assert_cmpuint (g_strv_length (instances), ==, 0);
}

static void
test_doc_uncommented_loads (void)
{
  g_autofree gchar *text = read_source_file ("data", "hemgate.conf", NULL);
  g_autofree gchar *uncommented = uncomment_settings (text);
  g_autofree gchar *dir = NULL;
  g_autofree gchar *path = NULL;
  g_autoptr(HgdConfig) config = hgd_config_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) instances = NULL;

  g_test_summary ("data/hemgate.conf with every #key = value line uncommented is a valid "
                  "configuration for hgd_config_load_file");
  g_assert_cmpstr (uncommented, !=, text);
  dir = g_dir_make_tmp ("hemgate-config-doc-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (dir, "hemgate.conf", NULL);
  g_file_set_contents (path, uncommented, -1, &error);
  g_assert_no_error (error);

  g_assert_true (hgd_config_load_file (config, path, &error));
  g_assert_no_error (error);
  instances = hgd_config_get_plugin_instances (config);
  g_assert_cmpuint (g_strv_length (instances), ==, 1);

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_doc_documents_every_key (void)
{
  g_autofree gchar *text = read_source_file ("data", "hemgate.conf", NULL);
  g_autofree gchar *uncommented = uncomment_settings (text);
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) groups = NULL;
  const gchar *const *keys = hgd_config_list_keys ();

  g_test_summary ("Every key of the HgdConfig key table is shown in data/hemgate.conf, the "
                  "plugin instance keys in an example [plugin:<id>] group");
  g_assert_cmpuint (g_strv_length ((gchar **) keys), >, 0);
  g_key_file_load_from_data (keyfile, uncommented, -1, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  groups = g_key_file_get_groups (keyfile, NULL);
  g_assert_true (g_key_file_has_group (keyfile, "retention"));

  for (guint i = 0; keys[i] != NULL; i++)
    {
      g_autofree gchar *group = NULL;
      g_autofree gchar *key = NULL;
      gboolean found = FALSE;

      split_key (keys[i], &group, &key);
      for (guint j = 0; groups[j] != NULL && !found; j++)
        {
          if (g_strcmp0 (group, "plugin:") == 0 ? g_str_has_prefix (groups[j], "plugin:")
                                                : g_strcmp0 (groups[j], group) == 0)
            found = g_key_file_has_key (keyfile, groups[j], key, NULL);
        }
      if (!found)
        g_test_message ("data/hemgate.conf does not document [%s] %s", group, key);
      g_assert_true (found);
    }
}

static void
test_man_page_documents_every_key (void)
{
  g_autofree gchar *page = read_source_file ("data", "man", "hemgate.conf.5", NULL);
  const gchar *const *keys = hgd_config_list_keys ();

  g_test_summary ("hemgate.conf(5) has an entry for every group and key of the key table");
  g_assert_nonnull (strstr (page, "[retention]"));
  for (guint i = 0; keys[i] != NULL; i++)
    {
      g_autofree gchar *group = NULL;
      g_autofree gchar *key = NULL;
      g_autofree gchar *group_heading = NULL;
      g_autofree gchar *key_entry = NULL;
      g_autofree gchar *roff_key = NULL;
      g_auto(GStrv) hyphen_parts = NULL;

      split_key (keys[i], &group, &key);
      group_heading = g_strcmp0 (group, "plugin:") == 0 ? g_strdup ("[plugin:")
                                                        : g_strdup_printf ("[%s]", group);
      /* roff spells a hyphen in a name \- */
      hyphen_parts = g_strsplit (key, "-", -1);
      roff_key = g_strjoinv ("\\-", hyphen_parts);
      key_entry = g_strdup_printf ("\\fB%s\\fR", roff_key);
      if (strstr (page, group_heading) == NULL || strstr (page, key_entry) == NULL)
        g_test_message ("hemgate.conf(5) does not document [%s] %s", group, key);
      g_assert_nonnull (strstr (page, group_heading));
      g_assert_nonnull (strstr (page, key_entry));
    }
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/config/doc/installed-file-loads-unchanged", test_doc_as_installed_loads);
  g_test_add_func ("/config/doc/uncommented-file-loads", test_doc_uncommented_loads);
  g_test_add_func ("/config/doc/documents-every-key", test_doc_documents_every_key);
  g_test_add_func ("/config/doc/man-page-documents-every-key", test_man_page_documents_every_key);
  return g_test_run ();
}
