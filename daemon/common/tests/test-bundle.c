/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdBundle: made, signed, verified, unpacked; and every kind of bad bundle refused with
 * its own error before anything is written. */
#include "config.h"

#include <glib/gstdio.h>
#include <sodium.h>

#include "hgd-bundle.h"

#define MANIFEST                                                                                   \
  "{\"id\": \"demo\", \"name\": \"Demo\", \"version\": \"1.0\", \"provider\": \"Test\","           \
  " \"api_version\": \"1\", \"module\": \"demo.so\", \"domains\": [\"personal\"],"                 \
  " \"capabilities\": []}"

/* A bundle of @names, each holding its own name as contents, plus the manifest. */
static GBytes *
build (const gchar *manifest,
       const gchar *const *names,
       GError **error)
{
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) contents = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GArray) executable = g_array_new (FALSE, FALSE, sizeof (gboolean));
  gboolean no = FALSE;

  if (manifest != NULL)
    {
      g_ptr_array_add (all, g_strdup ("manifest.json"));
      g_ptr_array_add (contents, g_bytes_new (manifest, strlen (manifest)));
      g_array_append_val (executable, no);
    }
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_ptr_array_add (all, g_strdup (names[i]));
      g_ptr_array_add (contents, g_bytes_new (names[i], strlen (names[i])));
      g_array_append_val (executable, no);
    }
  return hgd_bundle_build (all, contents, executable, error);
}

static void
test_roundtrip (void)
{
  const gchar *const names[] = { "lib/x86_64-linux/demo.so", "lib/aarch64-linux/demo.so",
                                 "data/rules/a.json", "locale/sv/LC_MESSAGES/demo.mo", NULL };
  g_autoptr(GBytes) unsigned_file = NULL;
  g_autoptr(GBytes) signed_file = NULL;
  g_autoptr(GBytes) public_key = NULL;
  g_autoptr(GBytes) secret_key = NULL;
  g_autoptr(GBytes) other_public = NULL;
  g_autoptr(GBytes) other_secret = NULL;
  g_autoptr(HgdBundle) bundle = NULL;
  g_autoptr(HgdBundle) plain = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *dir = NULL;
  g_autofree gchar *module = NULL;
  g_autofree gchar *id = NULL;
  g_auto(GStrv) archs = NULL;

  unsigned_file = build (MANIFEST, names, &error);
  g_assert_no_error (error);
  plain = hgd_bundle_new_from_bytes (unsigned_file, &error);
  g_assert_no_error (error);
  g_assert_false (hgd_bundle_is_signed (plain));
  g_assert_true (hgd_bundle_key_generate (&public_key, &secret_key));
  g_assert_false (hgd_bundle_verify (plain, public_key, &error));
  g_assert_error (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_UNSIGNED);
  g_clear_error (&error);

  signed_file = hgd_bundle_sign (plain, secret_key, &error);
  g_assert_no_error (error);
  bundle = hgd_bundle_new_from_bytes (signed_file, &error);
  g_assert_no_error (error);
  id = hgd_bundle_key_id (public_key);
  g_assert_cmpstr (hgd_bundle_get_key_id (bundle), ==, id);
  g_assert_cmpstr (hgd_bundle_get_digest (bundle), ==, hgd_bundle_get_digest (plain));
  g_assert_true (hgd_bundle_verify (bundle, public_key, &error));
  g_assert_no_error (error);

  /* another key, even given as if it were the signer, does not verify */
  g_assert_true (hgd_bundle_key_generate (&other_public, &other_secret));
  g_assert_false (hgd_bundle_verify (bundle, other_public, &error));
  g_assert_error (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);

  g_assert_true (hgd_bundle_load_payload (bundle, &error));
  g_assert_no_error (error);
  g_assert_true (hgd_bundle_check_api_version (bundle, &error));
  archs = hgd_bundle_dup_architectures (bundle);
  g_assert_cmpuint (g_strv_length (archs), ==, 2);
  g_assert_cmpstr (archs[0], ==, "aarch64-linux");
  g_assert_true (hgd_bundle_check_architecture (bundle, "demo.so", "x86_64-linux", &error));
  g_assert_false (hgd_bundle_check_architecture (bundle, "demo.so", "riscv64-linux", &error));
  g_assert_error (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_ARCHITECTURE);
  g_clear_error (&error);

  dir = g_dir_make_tmp ("test-bundle-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_true (hgd_bundle_extract (bundle, dir, "x86_64-linux", &error));
  g_assert_no_error (error);
  module = g_build_filename (dir, "demo.so", NULL);
  g_assert_true (g_file_test (module, G_FILE_TEST_IS_REGULAR));
  {
    g_autofree gchar *rules = g_build_filename (dir, "data", "rules", "a.json", NULL);
    g_autofree gchar *mo = g_build_filename (dir, "locale", "sv", "LC_MESSAGES", "demo.mo", NULL);
    g_autofree gchar *arm = g_build_filename (dir, "aarch64-linux", NULL);
    g_autofree gchar *command = g_strdup_printf ("rm -rf '%s'", dir);

    g_assert_true (g_file_test (rules, G_FILE_TEST_IS_REGULAR));
    g_assert_true (g_file_test (mo, G_FILE_TEST_IS_REGULAR));
    g_assert_false (g_file_test (arm, G_FILE_TEST_EXISTS));
    g_assert_cmpint (system (command), ==, 0);
  }
}

static void
test_bad_names (void)
{
  const gchar *const bad[]
      = { "../evil",      "/etc/passwd",     "data/../../x", "lib/x86_64-linux/a/b",
          "data/.hidden", "data//x",         "other/x",      "lib/demo.so",
          "data",         "manifest.json/x", "data/a b",     NULL };
  const gchar *const good[] = { "manifest.json", "data/x", "lib/x86_64-linux/demo.so",
                                "locale/sv/LC_MESSAGES/demo.mo", NULL };

  for (guint i = 0; bad[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      const gchar *const one[] = { bad[i], NULL };
      g_autoptr(GBytes) file = NULL;

      g_test_message ("name %s", bad[i]);
      g_assert_false (hgd_bundle_name_is_valid (bad[i]));
      file = build (MANIFEST, one, &error);
      g_assert_error (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_BAD_NAME);
      g_assert_null (file);
    }
  for (guint i = 0; good[i] != NULL; i++)
    g_assert_true (hgd_bundle_name_is_valid (good[i]));
}

/* A file made by hand, as an attacker would, with names the builder refuses. */
static GBytes *
forge (const gchar *name,
       GBytes *contents,
       guint32 version)
{
  g_autoptr(GVariantBuilder) entries = g_variant_builder_new (G_VARIANT_TYPE ("a(sbay)"));
  g_autoptr(GVariant) inner = NULL;
  g_autoptr(GVariant) outer = NULL;
  g_autoptr(GBytes) serialized = NULL;
  g_autoptr(GZlibCompressor) compressor = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 9);
  g_autoptr(GOutputStream) memory = g_memory_output_stream_new_resizable ();
  g_autoptr(GOutputStream) gzip = g_converter_output_stream_new (memory, G_CONVERTER (compressor));
  g_autoptr(GBytes) payload = NULL;

  g_variant_builder_add (
      entries, "(sb@ay)", "manifest.json", FALSE,
      g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, MANIFEST, strlen (MANIFEST), 1));
  g_variant_builder_add (entries, "(sb@ay)", name, FALSE,
                         g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, contents, TRUE));
  inner = g_variant_ref_sink (g_variant_new ("(ua(sbay))", version, entries));
  serialized = g_variant_get_data_as_bytes (inner);
  g_assert_true (g_output_stream_write_all (gzip, g_bytes_get_data (serialized, NULL),
                                            g_bytes_get_size (serialized), NULL, NULL, NULL));
  g_assert_true (g_output_stream_close (gzip, NULL, NULL));
  payload = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (memory));
  outer = g_variant_ref_sink (g_variant_new (
      "(ss@ay@ay)", "hemgate-bundle", "", g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, "", 0, 1),
      g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, payload, TRUE)));
  return g_variant_get_data_as_bytes (outer);
}

static void
check_load_fails (GBytes *file,
                  gint code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdBundle) bundle = hgd_bundle_new_from_bytes (file, &error);

  if (bundle != NULL)
    g_assert_false (hgd_bundle_load_payload (bundle, &error));
  g_assert_error (error, HGD_BUNDLE_ERROR, code);
}

static void
test_forged (void)
{
  g_autoptr(GBytes) small = g_bytes_new_static ("x", 1);
  g_autofree guint8 *zeros = g_malloc0 (HGD_BUNDLE_MAX_EXPANDED + 1);
  g_autoptr(GBytes) huge = g_bytes_new_static (zeros, HGD_BUNDLE_MAX_EXPANDED + 1);
  const gchar *const names[] = { "../evil", "/abs", "data/../../etc/x", NULL };

  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(GBytes) file = forge (names[i], small, 1);
      check_load_fails (file, HGD_BUNDLE_ERROR_BAD_NAME);
    }
  {
    g_autoptr(GBytes) file = forge ("data/x", small, 2);
    check_load_fails (file, HGD_BUNDLE_ERROR_FORMAT);
  }
  {
    /* a zip bomb: 128 MiB of zeros in a bundle of ~130 KiB */
    g_autoptr(GBytes) file = forge ("data/zeros", huge, 1);
    g_assert_cmpuint (g_bytes_get_size (file), <, 1024 * 1024);
    check_load_fails (file, HGD_BUNDLE_ERROR_TOO_LARGE);
  }
}

static void
test_truncated_and_oversized (void)
{
  const gchar *const names[] = { "lib/x86_64-linux/demo.so", NULL };
  g_autoptr(GBytes) file = build (MANIFEST, names, NULL);
  g_autofree guint8 *big = g_malloc0 (HGD_BUNDLE_MAX_SIZE + 1);
  g_autoptr(GBytes) oversized = g_bytes_new_static (big, HGD_BUNDLE_MAX_SIZE + 1);
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
  gsize size = g_bytes_get_size (file);

  /* every cut is refused, as the envelope or as the payload */
  for (gsize cut = 0; cut < size; cut += 7)
    {
      g_autoptr(GBytes) part = g_bytes_new_from_bytes (file, 0, cut);
      g_autoptr(GError) error = NULL;
      g_autoptr(HgdBundle) bundle = hgd_bundle_new_from_bytes (part, &error);

      if (bundle != NULL)
        g_assert_false (hgd_bundle_load_payload (bundle, &error));
      g_assert_nonnull (error);
      g_assert_true (error->domain == HGD_BUNDLE_ERROR);
    }
  check_load_fails (oversized, HGD_BUNDLE_ERROR_TOO_LARGE);
  check_load_fails (empty, HGD_BUNDLE_ERROR_FORMAT);
}

static void
test_tampered (void)
{
  const gchar *const names[] = { "lib/x86_64-linux/demo.so", NULL };
  g_autoptr(GBytes) file = build (MANIFEST, names, NULL);
  g_autoptr(GBytes) public_key = NULL;
  g_autoptr(GBytes) secret_key = NULL;
  g_autoptr(HgdBundle) plain = hgd_bundle_new_from_bytes (file, NULL);
  g_autoptr(GBytes) signed_file = NULL;
  g_autoptr(HgdBundle) changed = NULL;
  g_autoptr(GError) error = NULL;
  guint8 *data;
  gsize size = 0;

  g_assert_true (hgd_bundle_key_generate (&public_key, &secret_key));
  signed_file = hgd_bundle_sign (plain, secret_key, NULL);
  size = g_bytes_get_size (signed_file);
  data = g_memdup2 (g_bytes_get_data (signed_file, NULL), size);
  /* the last byte is in the payload (a framing offset follows only for the tuple's
   * non-final members): flip one byte in the middle of the payload instead */
  data[size - 20] ^= 0x01;
  {
    g_autoptr(GBytes) bytes = g_bytes_new_take (data, size);
    changed = hgd_bundle_new_from_bytes (bytes, &error);
  }
  if (changed != NULL)
    {
      g_assert_false (hgd_bundle_verify (changed, public_key, &error));
      g_assert_error (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_BAD_SIGNATURE);
    }
  else
    g_assert_error (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_FORMAT);
}

static void
test_api_version (void)
{
  const gchar *const names[] = { "lib/x86_64-linux/demo.so", NULL };
  g_autoptr(GBytes) file = build ("{\"id\": \"demo\", \"api_version\": \"2\"}", names, NULL);
  g_autoptr(HgdBundle) bundle = hgd_bundle_new_from_bytes (file, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (hgd_bundle_load_payload (bundle, &error));
  g_assert_false (hgd_bundle_check_api_version (bundle, &error));
  g_assert_error (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_API_VERSION);
  g_assert_true (strstr (error->message, "plugin API 2") != NULL);
}

static void
test_no_manifest (void)
{
  const gchar *const names[] = { "lib/x86_64-linux/demo.so", NULL };
  g_autoptr(GBytes) file = build (NULL, names, NULL);

  check_load_fails (file, HGD_BUNDLE_ERROR_BAD_MANIFEST);
}

static void
test_key_file (void)
{
  g_autoptr(GBytes) public_key = NULL;
  g_autoptr(GBytes) secret_key = NULL;
  g_autoptr(GBytes) loaded_secret = NULL;
  g_autoptr(GBytes) loaded_public = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *secret_text = NULL;
  g_autofree gchar *public_text = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("test-bundle-key-XXXXXX", NULL);
  g_autofree gchar *key_path = g_build_filename (dir, "k.key", NULL);
  g_autofree gchar *pub_path = g_build_filename (dir, "k.pub", NULL);

  g_assert_true (hgd_bundle_key_generate (&public_key, &secret_key));
  secret_text = hgd_bundle_key_file_to_data (public_key, secret_key);
  public_text = hgd_bundle_key_file_to_data (public_key, NULL);
  g_assert_true (g_file_set_contents (key_path, secret_text, -1, NULL));
  g_assert_true (g_file_set_contents (pub_path, public_text, -1, NULL));
  loaded_secret = hgd_bundle_key_file_load (key_path, TRUE, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (loaded_secret, secret_key));
  loaded_public = hgd_bundle_key_file_load (pub_path, FALSE, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (loaded_public, public_key));
  g_assert_null (hgd_bundle_key_file_load (pub_path, TRUE, &error));
  g_assert_error (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_BAD_KEY);
  g_unlink (key_path);
  g_unlink (pub_path);
  g_rmdir (dir);
}

int
main (int argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/bundle/roundtrip", test_roundtrip);
  g_test_add_func ("/bundle/bad-names", test_bad_names);
  g_test_add_func ("/bundle/forged", test_forged);
  g_test_add_func ("/bundle/truncated-and-oversized", test_truncated_and_oversized);
  g_test_add_func ("/bundle/tampered", test_tampered);
  g_test_add_func ("/bundle/api-version", test_api_version);
  g_test_add_func ("/bundle/no-manifest", test_no_manifest);
  g_test_add_func ("/bundle/key-file", test_key_file);
  return g_test_run ();
}
