/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdBundle: the .hgp plugin bundle (data/bundle-format.md). The file is one serialized
 * GVariant `(ssayay)`: magic, signing key id, Ed25519 signature, payload; the payload is
 * a gzip stream of a GVariant `(ua(sbay))`: format version and the files (name,
 * executable, contents). GLib reads both from untrusted bytes; we insist on their normal
 * form, so a damaged or truncated file is refused rather than read with defaults. The
 * signature is over BLAKE2b-512 ("hemgate-bundle-1\0" || payload), checked before the
 * payload is expanded; expanding stops at HGD_BUNDLE_MAX_EXPANDED (a zip bomb). Only
 * regular files exist in the format; every name is checked against the layout. */
#include "config.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "hgd-bundle.h"

#define MAGIC "hemgate-bundle"
#define FORMAT_VERSION 1
#define OUTER_TYPE "(ssayay)"
#define INNER_TYPE "(ua(sbay))"
#define SIGNATURE_CONTEXT "hemgate-bundle-1"

#ifndef HGD_BUNDLE_ARCH
#error "HGD_BUNDLE_ARCH must name the architecture, e.g. x86_64-linux"
#endif

struct _HgdBundle
{
  GObject parent_instance;
  gchar *key_id;     /* (owned) "" when unsigned */
  GBytes *signature; /* (owned) */
  GBytes *payload;   /* (owned) as signed: compressed */
  gchar *digest;     /* (owned) hex of the payload's BLAKE2b-512 (with the context) */
  guint8 digest_raw[crypto_generichash_BYTES_MAX];
  GVariant *entries; /* (owned) (nullable) a(sbay), once loaded */
  GBytes *manifest;  /* (owned) (nullable) */
};

G_DEFINE_TYPE (HgdBundle, hgd_bundle, G_TYPE_OBJECT)

G_DEFINE_QUARK (hgd-bundle-error-quark, hgd_bundle_error)

static const gchar *const error_codes[] = {
  "bad-format",   "too-large",   "bad-name",           "unsigned", "bad-signature",
  "bad-manifest", "api-version", "wrong-architecture", "bad-key",
};

/**
 * hgd_bundle_error_to_code:
 * @error: an #HgdBundleError
 *
 * Returns: the stable code the API answers with, e.g. `bad-signature`
 */
const gchar *
hgd_bundle_error_to_code (HgdBundleError error)
{
  if ((guint) error >= G_N_ELEMENTS (error_codes))
    return "bad-format";
  return error_codes[error];
}

static void
hgd_bundle_finalize (GObject *object)
{
  HgdBundle *self = HGD_BUNDLE (object);

  g_free (self->key_id);
  g_clear_pointer (&self->signature, g_bytes_unref);
  g_clear_pointer (&self->payload, g_bytes_unref);
  g_free (self->digest);
  g_clear_pointer (&self->entries, g_variant_unref);
  g_clear_pointer (&self->manifest, g_bytes_unref);
  G_OBJECT_CLASS (hgd_bundle_parent_class)->finalize (object);
}

static void
hgd_bundle_class_init (HgdBundleClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hgd_bundle_finalize;
}

static void
hgd_bundle_init (HgdBundle *self)
{
}

/**
 * hgd_bundle_host_architecture:
 *
 * Returns: the architecture this build's modules are for, e.g. `x86_64-linux`: the
 *   folder under `lib/` in a bundle
 */
const gchar *
hgd_bundle_host_architecture (void)
{
  return HGD_BUNDLE_ARCH;
}

static gboolean
segment_is_valid (const gchar *segment,
                  gsize length)
{
  if (length < 1 || length > 255 || segment[0] == '.')
    return FALSE;
  for (gsize i = 0; i < length; i++)
    {
      if (!g_ascii_isalnum (segment[i]) && strchr ("._+@-", segment[i]) == NULL)
        return FALSE;
    }
  return TRUE;
}

/**
 * hgd_bundle_name_is_valid:
 * @name: an entry's name
 *
 * The layout: `manifest.json`, `lib/ARCH/FILE`, or `data/...` and `locale/...` at any
 * depth; segments of letters, digits and `._+@-`, none empty or starting with `.` (so no
 * `..`), none absolute.
 *
 * Returns: %TRUE if @name may be a bundle's entry
 */
gboolean
hgd_bundle_name_is_valid (const gchar *name)
{
  g_auto(GStrv) segments = NULL;
  guint n;

  g_return_val_if_fail (name != NULL, FALSE);

  if (strlen (name) > HGD_BUNDLE_MAX_NAME || !g_utf8_validate (name, -1, NULL))
    return FALSE;
  if (g_strcmp0 (name, "manifest.json") == 0)
    return TRUE;
  segments = g_strsplit (name, "/", -1);
  n = g_strv_length (segments);
  for (guint i = 0; i < n; i++)
    {
      if (!segment_is_valid (segments[i], strlen (segments[i])))
        return FALSE;
    }
  if (g_strcmp0 (segments[0], "lib") == 0)
    return n == 3;
  if (g_strcmp0 (segments[0], "data") == 0 || g_strcmp0 (segments[0], "locale") == 0)
    return n >= 2;
  return FALSE;
}

static void
compute_digest (HgdBundle *self)
{
  crypto_generichash_state state;
  gsize size = 0;
  const guint8 *data = g_bytes_get_data (self->payload, &size);

  crypto_generichash_init (&state, NULL, 0, sizeof self->digest_raw);
  crypto_generichash_update (&state, (const guint8 *) SIGNATURE_CONTEXT, sizeof SIGNATURE_CONTEXT);
  crypto_generichash_update (&state, data, size);
  crypto_generichash_final (&state, self->digest_raw, sizeof self->digest_raw);
  self->digest = g_malloc (sizeof self->digest_raw * 2 + 1);
  sodium_bin2hex (self->digest, sizeof self->digest_raw * 2 + 1, self->digest_raw,
                  sizeof self->digest_raw);
}

/**
 * hgd_bundle_new_from_bytes:
 * @data: the file's contents, untrusted
 * @error: return location for a #GError
 *
 * Reads the signed envelope only; the payload is expanded by hgd_bundle_load_payload(),
 * after hgd_bundle_verify() when it matters who made it.
 *
 * Returns: (transfer full) (nullable): the bundle, or %NULL with %HGD_BUNDLE_ERROR
 */
HgdBundle *
hgd_bundle_new_from_bytes (GBytes *data,
                           GError **error)
{
  g_autoptr(HgdBundle) self = NULL;
  g_autoptr(GVariant) outer = NULL;
  g_autoptr(GVariant) signature = NULL;
  g_autoptr(GVariant) payload = NULL;
  const gchar *magic = NULL;
  const gchar *key_id = NULL;

  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (sodium_init () < 0)
    {
      g_set_error_literal (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_FORMAT,
                           "libsodium failed to start");
      return NULL;
    }
  if (g_bytes_get_size (data) > HGD_BUNDLE_MAX_SIZE)
    {
      g_set_error (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_TOO_LARGE,
                   "the bundle is %" G_GSIZE_FORMAT " bytes, more than %d", g_bytes_get_size (data),
                   HGD_BUNDLE_MAX_SIZE);
      return NULL;
    }
  outer = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE (OUTER_TYPE), data, FALSE));
  if (!g_variant_is_normal_form (outer))
    {
      g_set_error_literal (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_FORMAT,
                           "not a hemgate bundle, or damaged or truncated");
      return NULL;
    }
  g_variant_get (outer, "(&s&s@ay@ay)", &magic, &key_id, &signature, &payload);
  if (g_strcmp0 (magic, MAGIC) != 0)
    {
      g_set_error_literal (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_FORMAT,
                           "not a hemgate bundle");
      return NULL;
    }
  if (key_id[0] != '\0'
      && (strlen (key_id) != HGD_BUNDLE_KEY_ID_LENGTH
          || strspn (key_id, "0123456789abcdef") != HGD_BUNDLE_KEY_ID_LENGTH))
    {
      g_set_error_literal (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_FORMAT,
                           "the signing key id is not 16 hexadecimal digits");
      return NULL;
    }
  if ((key_id[0] == '\0') != (g_variant_get_size (signature) == 0)
      || (key_id[0] != '\0' && g_variant_get_size (signature) != crypto_sign_BYTES))
    {
      g_set_error_literal (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_FORMAT,
                           "the signature is not one Ed25519 signature with its key id");
      return NULL;
    }

  self = g_object_new (HGD_TYPE_BUNDLE, NULL);
  self->key_id = g_strdup (key_id);
  self->signature = g_variant_get_data_as_bytes (signature);
  self->payload = g_variant_get_data_as_bytes (payload);
  compute_digest (self);
  return g_steal_pointer (&self);
}

/* Expands the gzip @payload, failing past HGD_BUNDLE_MAX_EXPANDED. */
static GBytes *
expand (GBytes *payload,
        GError **error)
{
  g_autoptr(GZlibDecompressor) decompressor
      = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  gsize in_size = 0;
  const guint8 *in = g_bytes_get_data (payload, &in_size);
  guint8 buffer[64 * 1024];
  GConverterResult result;

  do
    {
      gsize read = 0;
      gsize written = 0;
      g_autoptr(GError) local = NULL;

      result = g_converter_convert (G_CONVERTER (decompressor), in, in_size, buffer, sizeof buffer,
                                    G_CONVERTER_INPUT_AT_END, &read, &written, &local);
      if (result == G_CONVERTER_ERROR)
        {
          g_set_error (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_FORMAT,
                       "the payload is not a gzip stream, or it is truncated: %s", local->message);
          return NULL;
        }
      in += read;
      in_size -= read;
      if (out->len + written > HGD_BUNDLE_MAX_EXPANDED)
        {
          g_set_error (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_TOO_LARGE,
                       "the payload expands to more than %d bytes", HGD_BUNDLE_MAX_EXPANDED);
          return NULL;
        }
      g_byte_array_append (out, buffer, (guint) written);
    }
  while (result != G_CONVERTER_FINISHED);
  if (in_size != 0)
    {
      g_set_error_literal (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_FORMAT,
                           "data after the payload's gzip stream");
      return NULL;
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/**
 * hgd_bundle_load_payload:
 * @self: a bundle
 * @error: return location for a #GError
 *
 * Expands the payload and checks every entry: the layout of its name, no name twice,
 * none both a file and a folder, a manifest.json.
 *
 * Returns: %TRUE if the files can be listed and unpacked
 */
gboolean
hgd_bundle_load_payload (HgdBundle *self,
                         GError **error)
{
  g_autoptr(GBytes) expanded = NULL;
  g_autoptr(GVariant) inner = NULL;
  g_autoptr(GVariant) entries = NULL;
  g_autoptr(GHashTable) names = NULL;
  GBytes *manifest = NULL;
  guint32 version = 0;
  gsize n;

  g_return_val_if_fail (HGD_IS_BUNDLE (self), FALSE);

  if (self->entries != NULL)
    return TRUE;
  expanded = expand (self->payload, error);
  if (expanded == NULL)
    return FALSE;
  inner = g_variant_ref_sink (
      g_variant_new_from_bytes (G_VARIANT_TYPE (INNER_TYPE), expanded, FALSE));
  if (!g_variant_is_normal_form (inner))
    {
      g_set_error_literal (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_FORMAT,
                           "the payload is damaged or truncated");
      return FALSE;
    }
  g_variant_get (inner, "(u@a(sbay))", &version, &entries);
  if (version != FORMAT_VERSION)
    {
      g_set_error (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_FORMAT,
                   "bundle format %u is not supported; this gateway reads format %d", version,
                   FORMAT_VERSION);
      return FALSE;
    }
  n = g_variant_n_children (entries);
  if (n > HGD_BUNDLE_MAX_ENTRIES)
    {
      g_set_error (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_TOO_LARGE,
                   "the bundle holds %" G_GSIZE_FORMAT " files, more than %d", n,
                   HGD_BUNDLE_MAX_ENTRIES);
      return FALSE;
    }
  names = g_hash_table_new (g_str_hash, g_str_equal);
  for (gsize i = 0; i < n; i++)
    {
      const gchar *name = NULL;
      g_variant_get_child (entries, i, "(&sb@ay)", &name, NULL, NULL);
      if (!hgd_bundle_name_is_valid (name))
        {
          g_autofree gchar *shown = g_strescape (name, NULL);
          g_set_error (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_BAD_NAME,
                       "entry '%s' is not a plain relative name in the bundle's layout", shown);
          return FALSE;
        }
      if (!g_hash_table_add (names, (gpointer)name))
        {
          g_set_error (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_BAD_NAME,
                       "entry '%s' is there twice", name);
          return FALSE;
        }
    }
  /* a file may not also be a folder of another entry */
  for (gsize i = 0; i < n; i++)
    {
      const gchar *name = NULL;
      g_autofree gchar *prefix = NULL;

      g_variant_get_child (entries, i, "(&sb@ay)", &name, NULL, NULL);
      prefix = g_strdup (name);
      for (gchar *slash = strrchr (prefix, '/'); slash != NULL; slash = strrchr (prefix, '/'))
        {
          *slash = '\0';
          if (g_hash_table_contains (names, prefix))
            {
              g_set_error (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_BAD_NAME,
                           "entry '%s' is both a file and a folder", prefix);
              return FALSE;
            }
        }
      if (g_strcmp0 (name, "manifest.json") == 0)
        {
          g_autoptr(GVariant) contents = NULL;
          g_variant_get_child (entries, i, "(&sb@ay)", NULL, NULL, &contents);
          manifest = g_variant_get_data_as_bytes (contents);
        }
    }
  if (manifest == NULL)
    {
      g_set_error_literal (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_BAD_MANIFEST,
                           "the bundle has no manifest.json");
      return FALSE;
    }
  self->manifest = manifest;
  self->entries = g_steal_pointer (&entries);
  return TRUE;
}

gboolean
hgd_bundle_is_signed (HgdBundle *self)
{
  g_return_val_if_fail (HGD_IS_BUNDLE (self), FALSE);
  return self->key_id[0] != '\0';
}

/* Returns: the id of the key that signed it, "" when unsigned */
const gchar *
hgd_bundle_get_key_id (HgdBundle *self)
{
  g_return_val_if_fail (HGD_IS_BUNDLE (self), NULL);
  return self->key_id;
}

/* Returns: the hex BLAKE2b-512 of the signed payload: which build this is */
const gchar *
hgd_bundle_get_digest (HgdBundle *self)
{
  g_return_val_if_fail (HGD_IS_BUNDLE (self), NULL);
  return self->digest;
}

/**
 * hgd_bundle_verify:
 * @self: a bundle
 * @public_key: the Ed25519 public key its key id names, from a trust store
 * @error: return location for a #GError
 *
 * Returns: %TRUE if @public_key signed this payload
 */
gboolean
hgd_bundle_verify (HgdBundle *self,
                   GBytes *public_key,
                   GError **error)
{
  g_autofree gchar *id = NULL;

  g_return_val_if_fail (HGD_IS_BUNDLE (self), FALSE);
  g_return_val_if_fail (public_key != NULL, FALSE);

  if (!hgd_bundle_is_signed (self))
    {
      g_set_error_literal (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_UNSIGNED,
                           "the bundle is not signed");
      return FALSE;
    }
  id = hgd_bundle_key_id (public_key);
  if (id == NULL || g_strcmp0 (id, self->key_id) != 0
      || crypto_sign_verify_detached (g_bytes_get_data (self->signature, NULL), self->digest_raw,
                                      sizeof self->digest_raw, g_bytes_get_data (public_key, NULL))
             != 0)
    {
      g_set_error (
          error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_BAD_SIGNATURE,
          "the signature does not match key %s: the bundle was changed or signed by another key",
          self->key_id);
      return FALSE;
    }
  return TRUE;
}

/* Returns: (transfer none): manifest.json's bytes; after hgd_bundle_load_payload() */
GBytes *
hgd_bundle_get_manifest (HgdBundle *self)
{
  g_return_val_if_fail (HGD_IS_BUNDLE (self), NULL);
  return self->manifest;
}

/**
 * hgd_bundle_list_entries:
 * @self: a loaded bundle
 *
 * Returns: (transfer full) (element-type utf8): the entries' names with their sizes,
 *   as "NAME SIZE[ x]" (x for executable), in the bundle's order
 */
GPtrArray *
hgd_bundle_list_entries (HgdBundle *self)
{
  GPtrArray *list = g_ptr_array_new_with_free_func (g_free);

  g_return_val_if_fail (HGD_IS_BUNDLE (self), list);
  for (gsize i = 0; self->entries != NULL && i < g_variant_n_children (self->entries); i++)
    {
      g_autoptr(GVariant) contents = NULL;
      const gchar *name = NULL;
      gboolean executable = FALSE;

      g_variant_get_child (self->entries, i, "(&sb@ay)", &name, &executable, &contents);
      g_ptr_array_add (list,
                       g_strdup_printf ("%s %" G_GSIZE_FORMAT "%s", name,
                                        g_variant_get_size (contents), executable ? " x" : ""));
    }
  return list;
}

static gint
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *) a, *(const gchar *const *) b);
}

/* Returns: (transfer full): the folders under lib/, sorted */
GStrv
hgd_bundle_dup_architectures (HgdBundle *self)
{
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_free);

  g_return_val_if_fail (HGD_IS_BUNDLE (self), NULL);
  for (gsize i = 0; self->entries != NULL && i < g_variant_n_children (self->entries); i++)
    {
      const gchar *name = NULL;
      g_auto(GStrv) parts = NULL;
      gboolean seen = FALSE;

      g_variant_get_child (self->entries, i, "(&sb@ay)", &name, NULL, NULL);
      if (!g_str_has_prefix (name, "lib/"))
        continue;
      parts = g_strsplit (name, "/", 3);
      for (guint j = 0; j < found->len; j++)
        seen = seen || g_strcmp0 (g_ptr_array_index (found, j), parts[1]) == 0;
      if (!seen)
        g_ptr_array_add (found, g_strdup (parts[1]));
    }
  g_ptr_array_sort (found, compare_strings);
  g_ptr_array_add (found, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&found), FALSE);
}

/**
 * hgd_bundle_check_api_version:
 * @self: a loaded bundle
 * @error: return location for a #GError
 *
 * Reads only `api_version` of the manifest, so that a plugin built for another plugin
 * API is refused as that, whatever else its manifest says.
 *
 * Returns: %TRUE if the manifest is for this gateway's plugin API
 */
gboolean
hgd_bundle_check_api_version (HgdBundle *self,
                              GError **error)
{
  g_autoptr(JsonObject) root = NULL;
  g_autoptr(GError) local = NULL;
  const gchar *version = NULL;
  gsize size = 0;
  const gchar *data;

  g_return_val_if_fail (HGD_IS_BUNDLE (self), FALSE);
  g_return_val_if_fail (self->manifest != NULL, FALSE);

  data = g_bytes_get_data (self->manifest, &size);
  root = hg_json_parse_object (size > 0 ? data : "", (gssize) size, 64 * 1024, &local);
  if (root == NULL || !hg_json_object_get_string (root, "api_version", &version, &local))
    {
      g_set_error (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_BAD_MANIFEST, "manifest.json: %s",
                   local->message);
      return FALSE;
    }
  if (g_strcmp0 (version, HEMGATE_API_VERSION) != 0)
    {
      g_set_error (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_API_VERSION,
                   "the plugin is built for plugin API %s; this gateway runs plugin API %s",
                   version, HEMGATE_API_VERSION);
      return FALSE;
    }
  return TRUE;
}

static GVariant *
find_entry (HgdBundle *self,
            const gchar *wanted,
            gboolean *executable)
{
  for (gsize i = 0; self->entries != NULL && i < g_variant_n_children (self->entries); i++)
    {
      const gchar *name = NULL;
      GVariant *contents = NULL;

      g_variant_get_child (self->entries, i, "(&sb@ay)", &name, executable, &contents);
      if (g_strcmp0 (name, wanted) == 0)
        return contents;
      g_variant_unref (contents);
    }
  return NULL;
}

/**
 * hgd_bundle_check_architecture:
 * @self: a loaded bundle
 * @module: the manifest's module
 * @architecture: e.g. hgd_bundle_host_architecture()
 * @error: return location for a #GError
 *
 * Returns: %TRUE if the bundle has `lib/ARCHITECTURE/MODULE`
 */
gboolean
hgd_bundle_check_architecture (HgdBundle *self,
                               const gchar *module,
                               const gchar *architecture,
                               GError **error)
{
  g_autofree gchar *name = g_strdup_printf ("lib/%s/%s", architecture, module);
  g_autoptr(GVariant) contents = find_entry (self, name, NULL);
  g_auto(GStrv) present = NULL;
  g_autofree gchar *list = NULL;

  if (contents != NULL)
    return TRUE;
  present = hgd_bundle_dup_architectures (self);
  list = g_strjoinv (", ", present);
  g_set_error (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_ARCHITECTURE,
               "the bundle has no %s for %s (it has: %s)", module, architecture,
               list[0] != '\0' ? list : "none");
  return FALSE;
}

/**
 * hgd_bundle_extract:
 * @self: a loaded bundle
 * @dir: an empty folder, which becomes the plugin's folder
 * @architecture: whose modules to take
 * @error: return location for a #GError
 *
 * Writes manifest.json, the modules of lib/@architecture/ beside it, and data/ and
 * locale/ as they are; modules for other architectures are left out. Each file is made
 * new (never through an existing name) and synced.
 *
 * Returns: %TRUE once every file is on disk
 */
gboolean
hgd_bundle_extract (HgdBundle *self,
                    const gchar *dir,
                    const gchar *architecture,
                    GError **error)
{
  g_autofree gchar *lib_prefix = g_strdup_printf ("lib/%s/", architecture);

  g_return_val_if_fail (HGD_IS_BUNDLE (self), FALSE);
  g_return_val_if_fail (self->entries != NULL, FALSE);

  for (gsize i = 0; i < g_variant_n_children (self->entries); i++)
    {
      g_autoptr(GVariant) contents = NULL;
      g_autofree gchar *path = NULL;
      g_autofree gchar *parent = NULL;
      const gchar *name = NULL;
      const gchar *relative;
      gboolean executable = FALSE;

      g_variant_get_child (self->entries, i, "(&sb@ay)", &name, &executable, &contents);
      if (g_str_has_prefix (name, "lib/"))
        {
          if (!g_str_has_prefix (name, lib_prefix))
            continue;
          relative = name + strlen (lib_prefix);
        }
      else
        relative = name;
      path = g_build_filename (dir, relative, NULL);
      parent = g_path_get_dirname (path);
      if (g_mkdir_with_parents (parent, 0755) != 0)
        {
          int errsv = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "cannot make %s: %s",
                       parent, g_strerror (errsv));
          return FALSE;
        }
      if (g_file_test (path, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK))
        {
          g_set_error (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_BAD_NAME,
                       "entry '%s' is there twice", name);
          return FALSE;
        }
      if (!g_file_set_contents_full (path, g_variant_get_data (contents),
                                     (gssize) g_variant_get_size (contents),
                                     G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                     executable ? 0755 : 0644, error))
        return FALSE;
    }
  return TRUE;
}

/* Makes the file around @payload. */
static GBytes *
envelope (const gchar *key_id,
          const guint8 *signature,
          gsize signature_size,
          GBytes *payload)
{
  g_autoptr(GVariant) outer = NULL;

  outer = g_variant_ref_sink (
      g_variant_new ("(ss@ay@ay)", MAGIC, key_id,
                     g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, signature, signature_size, 1),
                     g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, payload, TRUE)));
  return g_variant_get_data_as_bytes (outer);
}

/**
 * hgd_bundle_build:
 * @names: (element-type utf8): the entries' names, each hgd_bundle_name_is_valid()
 * @contents: (element-type GBytes): each entry's contents
 * @executable: (element-type gboolean): whether each is executable
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): an unsigned bundle file
 */
GBytes *
hgd_bundle_build (GPtrArray *names,
                  GPtrArray *contents,
                  GArray *executable,
                  GError **error)
{
  g_autoptr(GVariantBuilder) builder = g_variant_builder_new (G_VARIANT_TYPE ("a(sbay)"));
  g_autoptr(GVariant) inner = NULL;
  g_autoptr(GBytes) serialized = NULL;
  g_autoptr(GZlibCompressor) compressor = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 9);
  g_autoptr(GOutputStream) memory = g_memory_output_stream_new_resizable ();
  g_autoptr(GOutputStream) gzip = NULL;
  g_autoptr(GBytes) payload = NULL;
  gsize size = 0;

  g_return_val_if_fail (names->len == contents->len && names->len == executable->len, NULL);

  for (guint i = 0; i < names->len; i++)
    {
      const gchar *name = g_ptr_array_index (names, i);
      if (!hgd_bundle_name_is_valid (name))
        {
          g_set_error (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_BAD_NAME,
                       "'%s' is not a name a bundle may hold", name);
          return NULL;
        }
      g_variant_builder_add (builder, "(sb@ay)", name, g_array_index (executable, gboolean, i),
                             g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING,
                                                       g_ptr_array_index (contents, i), TRUE));
    }
  inner = g_variant_ref_sink (g_variant_new ("(ua(sbay))", FORMAT_VERSION, builder));
  serialized = g_variant_get_data_as_bytes (inner);
  gzip = g_converter_output_stream_new (memory, G_CONVERTER (compressor));
  if (!g_output_stream_write_all (gzip, g_bytes_get_data (serialized, NULL),
                                  g_bytes_get_size (serialized), &size, NULL, error)
      || !g_output_stream_close (gzip, NULL, error))
    return NULL;
  payload = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (memory));
  return envelope ("", NULL, 0, payload);
}

/**
 * hgd_bundle_sign:
 * @self: a bundle, signed or not
 * @secret_key: an Ed25519 secret key (64 bytes)
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the same payload signed with @secret_key (any
 *   earlier signature replaced)
 */
GBytes *
hgd_bundle_sign (HgdBundle *self,
                 GBytes *secret_key,
                 GError **error)
{
  guint8 signature[crypto_sign_BYTES];
  guint8 public_key[crypto_sign_PUBLICKEYBYTES];
  g_autoptr(GBytes) public_bytes = NULL;
  g_autofree gchar *key_id = NULL;

  g_return_val_if_fail (HGD_IS_BUNDLE (self), NULL);

  if (g_bytes_get_size (secret_key) != crypto_sign_SECRETKEYBYTES)
    {
      g_set_error_literal (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_BAD_KEY,
                           "not an Ed25519 secret key");
      return NULL;
    }
  crypto_sign_ed25519_sk_to_pk (public_key, g_bytes_get_data (secret_key, NULL));
  public_bytes = g_bytes_new (public_key, sizeof public_key);
  key_id = hgd_bundle_key_id (public_bytes);
  crypto_sign_detached (signature, NULL, self->digest_raw, sizeof self->digest_raw,
                        g_bytes_get_data (secret_key, NULL));
  return envelope (key_id, signature, sizeof signature, self->payload);
}

/**
 * hgd_bundle_key_id:
 * @public_key: an Ed25519 public key
 *
 * Returns: (transfer full) (nullable): its id, the first 8 bytes of its BLAKE2b-256 in
 *   hex; %NULL if it is not 32 bytes
 */
gchar *
hgd_bundle_key_id (GBytes *public_key)
{
  guint8 hash[crypto_generichash_BYTES];
  gchar hex[HGD_BUNDLE_KEY_ID_LENGTH + 1];

  g_return_val_if_fail (public_key != NULL, NULL);
  if (g_bytes_get_size (public_key) != crypto_sign_PUBLICKEYBYTES || sodium_init () < 0)
    return NULL;
  crypto_generichash (hash, sizeof hash, g_bytes_get_data (public_key, NULL),
                      crypto_sign_PUBLICKEYBYTES, NULL, 0);
  sodium_bin2hex (hex, sizeof hex, hash, HGD_BUNDLE_KEY_ID_LENGTH / 2);
  return g_strdup (hex);
}

/* Makes a new Ed25519 key pair. */
gboolean
hgd_bundle_key_generate (GBytes **public_key,
                         GBytes **secret_key)
{
  guint8 pk[crypto_sign_PUBLICKEYBYTES];
  guint8 *sk;

  if (sodium_init () < 0)
    return FALSE;
  sk = g_malloc (crypto_sign_SECRETKEYBYTES);
  crypto_sign_keypair (pk, sk);
  *public_key = g_bytes_new (pk, sizeof pk);
  *secret_key = g_bytes_new_take (sk, crypto_sign_SECRETKEYBYTES);
  return TRUE;
}

/**
 * hgd_bundle_public_key_from_base64:
 * @text: a public key in base64
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the 32 bytes, or %NULL with %HGD_BUNDLE_ERROR_BAD_KEY
 */
GBytes *
hgd_bundle_public_key_from_base64 (const gchar *text,
                                   GError **error)
{
  guint8 key[crypto_sign_PUBLICKEYBYTES];
  gsize length = 0;

  if (text == NULL
      || sodium_base642bin (key, sizeof key, text, strlen (text), NULL, &length, NULL,
                            sodium_base64_VARIANT_ORIGINAL)
             != 0
      || length != sizeof key)
    {
      g_set_error_literal (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_BAD_KEY,
                           "not an Ed25519 public key in base64 (32 bytes)");
      return NULL;
    }
  return g_bytes_new (key, sizeof key);
}

static gchar *
to_base64 (GBytes *bytes)
{
  gsize size = g_bytes_get_size (bytes);
  gsize length = sodium_base64_encoded_len (size, sodium_base64_VARIANT_ORIGINAL);
  gchar *text = g_malloc (length);

  sodium_bin2base64 (text, length, g_bytes_get_data (bytes, NULL), size,
                     sodium_base64_VARIANT_ORIGINAL);
  return text;
}

/**
 * hgd_bundle_key_file_to_data:
 * @public_key: the public key
 * @secret_key: (nullable): the secret key, for the signing key file
 *
 * Returns: (transfer full): a key file: group `[hemgate key]`, `id`, `public` and, for a
 *   signing key, `secret` (base64)
 */
gchar *
hgd_bundle_key_file_to_data (GBytes *public_key,
                             GBytes *secret_key)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autofree gchar *id = hgd_bundle_key_id (public_key);
  g_autofree gchar *public_text = to_base64 (public_key);

  g_key_file_set_string (file, "hemgate key", "id", id);
  g_key_file_set_string (file, "hemgate key", "public", public_text);
  if (secret_key != NULL)
    {
      g_autofree gchar *secret_text = to_base64 (secret_key);
      g_key_file_set_string (file, "hemgate key", "secret", secret_text);
      sodium_memzero (secret_text, strlen (secret_text));
    }
  return g_key_file_to_data (file, NULL, NULL);
}

/**
 * hgd_bundle_key_file_load:
 * @path: a file of hgd_bundle_key_file_to_data()
 * @secret: %TRUE for its secret key, %FALSE for its public key
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the key
 */
GBytes *
hgd_bundle_key_file_load (const gchar *path,
                          gboolean secret,
                          GError **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autofree gchar *text = NULL;
  g_autofree gchar *public_text = NULL;
  g_autoptr(GBytes) public_key = NULL;
  guint8 *key;
  gsize length = 0;

  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, error))
    return NULL;
  public_text = g_key_file_get_string (file, "hemgate key", "public", NULL);
  public_key = hgd_bundle_public_key_from_base64 (public_text, error);
  if (public_key == NULL)
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  if (!secret)
    return g_steal_pointer (&public_key);
  text = g_key_file_get_string (file, "hemgate key", "secret", NULL);
  key = g_malloc (crypto_sign_SECRETKEYBYTES);
  if (text == NULL
      || sodium_base642bin (key, crypto_sign_SECRETKEYBYTES, text, strlen (text), NULL, &length,
                            NULL, sodium_base64_VARIANT_ORIGINAL)
             != 0
      || length != crypto_sign_SECRETKEYBYTES
      || memcmp (key + crypto_sign_SECRETKEYBYTES - crypto_sign_PUBLICKEYBYTES,
                 g_bytes_get_data (public_key, NULL), crypto_sign_PUBLICKEYBYTES)
             != 0)
    {
      g_free (key);
      g_set_error (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_BAD_KEY,
                   "%s: no Ed25519 secret key matching its public key", path);
      return NULL;
    }
  if (text != NULL)
    sodium_memzero (text, strlen (text));
  return g_bytes_new_take (key, crypto_sign_SECRETKEYBYTES);
}
