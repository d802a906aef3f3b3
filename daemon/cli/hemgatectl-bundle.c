/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hemgatectl bundle: makes signing keys, builds a .hgp bundle from a plugin's folder (its
 * build output or install tree), signs it and shows what one holds. Offline: no gateway
 * is asked. The format is data/bundle-format.md, read and written by hgd-bundle.c. */
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "hemgatectl-commands.h"
#include "hgd-bundle.h"
#include "hgd-manifest.h"

static GError *
usage_error (GError *error)
{
  GError *usage = g_error_new_literal (HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED, error->message);
  g_error_free (error);
  return usage;
}

static gboolean
write_file (const gchar *path,
            const gchar *data,
            gsize length,
            gint mode,
            GError **error)
{
  GError *local = NULL;

  if (g_file_set_contents_full (path, data, (gssize) length,
                                G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, mode,
                                &local))
    return TRUE;
  g_propagate_error (error, usage_error (local));
  return FALSE;
}

/* bundle keygen NAME: NAME.key (0600, the signing key) and NAME.pub (the public key to
 * give to the gateways' administrators). */
gboolean
hgd_cli_bundle_keygen (HgdCliClient *client,
                       const HgdCliOptions *options,
                       gchar **args,
                       GError **error)
{
  g_autoptr(GBytes) public_key = NULL;
  g_autoptr(GBytes) secret_key = NULL;
  g_autofree gchar *key_path = g_strconcat (args[0], ".key", NULL);
  g_autofree gchar *pub_path = g_strconcat (args[0], ".pub", NULL);
  g_autofree gchar *secret_text = NULL;
  g_autofree gchar *public_text = NULL;
  g_autofree gchar *id = NULL;

  if (g_file_test (key_path, G_FILE_TEST_EXISTS))
    {
      /* TRANSLATORS: %s is a file name */
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED, _ ("%s exists; not overwritten"),
                   key_path);
      return FALSE;
    }
  if (!hgd_bundle_key_generate (&public_key, &secret_key))
    {
      g_set_error_literal (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED, "libsodium failed to start");
      return FALSE;
    }
  secret_text = hgd_bundle_key_file_to_data (public_key, secret_key);
  public_text = hgd_bundle_key_file_to_data (public_key, NULL);
  if (!write_file (key_path, secret_text, strlen (secret_text), 0600, error)
      || !write_file (pub_path, public_text, strlen (public_text), 0644, error))
    return FALSE;
  id = hgd_bundle_key_id (public_key);
  if (options->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) node = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "key_id");
      json_builder_add_string_value (builder, id);
      json_builder_set_member_name (builder, "secret_key_file");
      json_builder_add_string_value (builder, key_path);
      json_builder_set_member_name (builder, "public_key_file");
      json_builder_add_string_value (builder, pub_path);
      json_builder_end_object (builder);
      node = json_builder_get_root (builder);
      hgd_cli_print_json (node, TRUE);
      return TRUE;
    }
  /* TRANSLATORS: %s are a key id and two file names */
  g_print (_ ("Key %s: signing key in %s (keep it secret), public key in %s.\n"), id, key_path,
           pub_path);
  return TRUE;
}

/* Adds every regular file under @dir/@top to the bundle, as @top/...; symbolic links and
 * anything else are refused, so a bundle holds only what it shows. */
static gboolean
add_tree (const gchar *dir,
          const gchar *relative,
          GPtrArray *names,
          GPtrArray *contents,
          GArray *executable,
          GError **error)
{
  g_autofree gchar *path = g_build_filename (dir, relative, NULL);
  g_autoptr(GDir) folder = NULL;
  const gchar *child;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  folder = g_dir_open (path, 0, error);
  if (folder == NULL)
    return FALSE;
  while ((child = g_dir_read_name (folder)) != NULL)
    {
      g_autofree gchar *child_relative = g_build_filename (relative, child, NULL);
      g_autofree gchar *child_path = g_build_filename (dir, child_relative, NULL);
      GStatBuf st;

      if (g_lstat (child_path, &st) != 0)
        continue;
      if (S_ISDIR (st.st_mode))
        {
          if (!add_tree (dir, child_relative, names, contents, executable, error))
            return FALSE;
        }
      else if (S_ISREG (st.st_mode))
        {
          gchar *data = NULL;
          gsize length = 0;
          gboolean x = (st.st_mode & 0111) != 0;

          if (!g_file_get_contents (child_path, &data, &length, error))
            return FALSE;
          g_ptr_array_add (names, g_steal_pointer (&child_relative));
          g_ptr_array_add (contents, g_bytes_new_take (data, length));
          g_array_append_val (executable, x);
        }
      else
        {
          /* TRANSLATORS: %s is a file name */
          g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED,
                       _ ("%s is not a regular file or folder; a bundle holds only those"),
                       child_path);
          return FALSE;
        }
    }
  return TRUE;
}

/* bundle create DIR FILE [--arch ARCH]: DIR holds manifest.json and the module it names
 * (a plugin's build folder, or its folder in an install tree), and optionally data/ and
 * locale/. The module goes under lib/ARCH/ (default: this machine's). */
gboolean
hgd_cli_bundle_create (HgdCliClient *client,
                       const HgdCliOptions *options,
                       gchar **args,
                       GError **error)
{
  const gchar *dir = args[0];
  const gchar *arch = options->arch != NULL ? options->arch : hgd_bundle_host_architecture ();
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) contents = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GArray) executable = g_array_new (FALSE, FALSE, sizeof (gboolean));
  g_autofree gchar *manifest_path = g_build_filename (dir, "manifest.json", NULL);
  g_autofree gchar *manifest_data = NULL;
  g_autofree gchar *module_data = NULL;
  g_autofree gchar *module_path = NULL;
  g_autoptr(HgdManifest) manifest = NULL;
  g_autoptr(JsonObject) root = NULL;
  g_autoptr(GBytes) bundle = NULL;
  const gchar *id = NULL;
  const gchar *version = NULL;
  const gchar *module = NULL;
  const gchar *api_version = NULL;
  GError *local = NULL;
  gsize length = 0;
  gsize module_length = 0;
  gboolean no = FALSE;
  gboolean yes = TRUE;

  if (!g_file_get_contents (manifest_path, &manifest_data, &length, &local))
    {
      g_propagate_error (error, usage_error (local));
      return FALSE;
    }
  /* the manifest a gateway would refuse is refused here, with the same words; one for
   * another plugin API is for another gateway's rules, and only its module is read */
  root = hg_json_parse_object (manifest_data, (gssize) length, HGD_MANIFEST_MAX_SIZE, &local);
  if (root == NULL || !hg_json_object_get_string (root, "id", &id, &local)
      || !hg_json_object_get_string (root, "version", &version, &local)
      || !hg_json_object_get_string (root, "module", &module, &local)
      || !hg_json_object_get_string (root, "api_version", &api_version, &local))
    {
      g_prefix_error (&local, "%s: ", manifest_path);
      g_propagate_error (error, usage_error (local));
      return FALSE;
    }
  if (g_strcmp0 (api_version, HEMGATE_API_VERSION) == 0)
    manifest = hgd_manifest_new_from_data (manifest_data, (gssize) length, &local);
  if (g_strcmp0 (api_version, HEMGATE_API_VERSION) == 0 && manifest == NULL)
    {
      g_prefix_error (&local, "%s: ", manifest_path);
      g_propagate_error (error, usage_error (local));
      return FALSE;
    }
  if (strchr (module, '/') != NULL || module[0] == '.' || module[0] == '\0')
    {
      /* TRANSLATORS: %s is a file name */
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED,
                   _ ("%s: the module is not a plain file name"), manifest_path);
      return FALSE;
    }
  module_path = g_build_filename (dir, module, NULL);
  if (!g_file_get_contents (module_path, &module_data, &module_length, &local))
    {
      g_propagate_error (error, usage_error (local));
      return FALSE;
    }
  g_ptr_array_add (names, g_strdup ("manifest.json"));
  g_ptr_array_add (contents, g_bytes_new_take (g_steal_pointer (&manifest_data), length));
  g_array_append_val (executable, no);
  g_ptr_array_add (names, g_strdup_printf ("lib/%s/%s", arch, module));
  g_ptr_array_add (contents, g_bytes_new_take (g_steal_pointer (&module_data), module_length));
  g_array_append_val (executable, yes);
  if (!add_tree (dir, "data", names, contents, executable, &local)
      || !add_tree (dir, "locale", names, contents, executable, &local))
    {
      g_propagate_error (error, usage_error (local));
      return FALSE;
    }
  bundle = hgd_bundle_build (names, contents, executable, &local);
  if (bundle == NULL)
    {
      g_propagate_error (error, usage_error (local));
      return FALSE;
    }
  if (!write_file (args[1], g_bytes_get_data (bundle, NULL), g_bytes_get_size (bundle), 0644,
                   error))
    return FALSE;
  if (!options->json)
    /* TRANSLATORS: %s are a file name, a plugin id, its version and an architecture */
    g_print (_ ("Wrote %s: %s %s for %s, not signed yet.\n"), args[1], id, version, arch);
  return TRUE;
}

static HgdBundle *
read_bundle (const gchar *path,
             GError **error)
{
  g_autofree gchar *data = NULL;
  g_autoptr(GBytes) bytes = NULL;
  GError *local = NULL;
  HgdBundle *bundle;
  gsize length = 0;

  if (!g_file_get_contents (path, &data, &length, &local))
    {
      g_propagate_error (error, usage_error (local));
      return NULL;
    }
  bytes = g_bytes_new_take (g_steal_pointer (&data), length);
  bundle = hgd_bundle_new_from_bytes (bytes, &local);
  if (bundle == NULL)
    {
      g_prefix_error (&local, "%s: ", path);
      g_propagate_error (error, usage_error (local));
    }
  return bundle;
}

/* bundle sign FILE KEYFILE: signs FILE in place with the signing key of `bundle keygen`. */
gboolean
hgd_cli_bundle_sign (HgdCliClient *client,
                     const HgdCliOptions *options,
                     gchar **args,
                     GError **error)
{
  g_autoptr(HgdBundle) bundle = NULL;
  g_autoptr(GBytes) secret_key = NULL;
  g_autoptr(GBytes) signed_bundle = NULL;
  GError *local = NULL;

  bundle = read_bundle (args[0], error);
  if (bundle == NULL)
    return FALSE;
  secret_key = hgd_bundle_key_file_load (args[1], TRUE, &local);
  if (secret_key == NULL || (signed_bundle = hgd_bundle_sign (bundle, secret_key, &local)) == NULL)
    {
      g_propagate_error (error, usage_error (local));
      return FALSE;
    }
  if (!write_file (args[0], g_bytes_get_data (signed_bundle, NULL),
                   g_bytes_get_size (signed_bundle), 0644, error))
    return FALSE;
  g_clear_object (&bundle);
  bundle = read_bundle (args[0], error);
  if (bundle == NULL)
    return FALSE;
  if (!options->json)
    /* TRANSLATORS: %s are a file name and a key id */
    g_print (_ ("Signed %s with key %s.\n"), args[0], hgd_bundle_get_key_id (bundle));
  return TRUE;
}

static void
add_strv (JsonObject *object,
          const gchar *member,
          const gchar *const *values)
{
  JsonArray *array = json_array_new ();

  for (guint i = 0; values != NULL && values[i] != NULL; i++)
    json_array_add_string_element (array, values[i]);
  json_object_set_array_member (object, member, array);
}

/* bundle inspect FILE: what it is, who signed it, what it asks for, what it holds. */
gboolean
hgd_cli_bundle_inspect (HgdCliClient *client,
                        const HgdCliOptions *options,
                        gchar **args,
                        GError **error)
{
  g_autoptr(HgdBundle) bundle = NULL;
  g_autoptr(HgdManifest) manifest = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  g_auto(GStrv) architectures = NULL;
  g_autofree gchar *domains = NULL;
  g_autofree gchar *capabilities = NULL;
  g_autofree gchar *archs = NULL;
  GError *local = NULL;
  GBytes *manifest_bytes;
  const gchar *domain_names[3] = { NULL };
  guint n_domains = 0;
  const gchar *signer;

  bundle = read_bundle (args[0], error);
  if (bundle == NULL)
    return FALSE;
  if (!hgd_bundle_load_payload (bundle, &local))
    {
      g_prefix_error (&local, "%s: ", args[0]);
      g_propagate_error (error, usage_error (local));
      return FALSE;
    }
  manifest_bytes = hgd_bundle_get_manifest (bundle);
  manifest = hgd_manifest_new_from_data (g_bytes_get_data (manifest_bytes, NULL),
                                         (gssize) g_bytes_get_size (manifest_bytes), &local);
  if (manifest == NULL)
    {
      g_prefix_error (&local, "%s: manifest.json: ", args[0]);
      g_propagate_error (error, usage_error (local));
      return FALSE;
    }
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      if (hgd_manifest_allows_domain (manifest, (HgDomain) i))
        domain_names[n_domains++] = hg_domain_to_string ((HgDomain) i);
    }
  architectures = hgd_bundle_dup_architectures (bundle);
  entries = hgd_bundle_list_entries (bundle);
  signer = hgd_bundle_get_key_id (bundle);

  json_object_set_string_member (object, "id", hgd_manifest_get_id (manifest));
  json_object_set_string_member (object, "name", hgd_manifest_get_name (manifest));
  json_object_set_string_member (object, "version", hgd_manifest_get_version (manifest));
  json_object_set_string_member (object, "provider", hgd_manifest_get_provider (manifest));
  if (signer[0] != '\0')
    json_object_set_string_member (object, "signed_by", signer);
  else
    json_object_set_null_member (object, "signed_by");
  json_object_set_string_member (object, "digest", hgd_bundle_get_digest (bundle));
  add_strv (object, "domains", domain_names);
  add_strv (object, "capabilities", hgd_manifest_get_capabilities (manifest));
  add_strv (object, "architectures", (const gchar *const *) architectures);
  g_ptr_array_add (entries, NULL);
  add_strv (object, "files", (const gchar *const *) entries->pdata);
  if (options->json)
    {
      node = json_node_init_object (json_node_alloc (), object);
      hgd_cli_print_json (node, TRUE);
      return TRUE;
    }
  domains = g_strjoinv (", ", (gchar **) domain_names);
  capabilities = g_strjoinv (", ", (gchar **) hgd_manifest_get_capabilities (manifest));
  archs = g_strjoinv (", ", architectures);
  /* TRANSLATORS: the lines of “bundle inspect”; keep the labels aligned */
  g_print (_ ("Plugin:        %s %s (%s)\n"), hgd_manifest_get_id (manifest),
           hgd_manifest_get_version (manifest), hgd_manifest_get_name (manifest));
  g_print (_ ("Provider:      %s\n"), hgd_manifest_get_provider (manifest));
  g_print (_ ("Signed by:     %s\n"), signer[0] != '\0' ? signer : _ ("nobody (not signed)"));
  g_print (_ ("Domains:       %s\n"), domains);
  g_print (_ ("Capabilities:  %s\n"), capabilities[0] != '\0' ? capabilities : _ ("none"));
  g_print (_ ("Architectures: %s\n"), archs);
  g_print (_ ("Files:\n"));
  for (guint i = 0; entries->pdata[i] != NULL; i++)
    g_print ("  %s\n", (const gchar *) entries->pdata[i]);
  return TRUE;
}
