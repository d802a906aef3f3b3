/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of HgdSecrets against a real Secret Service: run by run-with-keyring.sh, which
 * gives this process a private D-Bus session with a throwaway, unlocked gnome-keyring. */
#include "config.h"

#include <libsecret/secret.h>
#include <string.h>

#include "hg-test-support.h"
#include "hgd-secrets.h"

/* Every value any test stores. The log writer below watches for them: a secret must
 * never reach a log line, at any level. Keys and owners may; these strings are in none. */
#define VALUE_ROUNDTRIP "Tr0ub4dor&3 lösen✓"
#define VALUE_REPLACED "correct horse battery staple"
#define VALUE_A "vtoken-aaaa-1111"
#define VALUE_A_PERSONAL "vtoken-aaaa-2222"
#define VALUE_B "vtoken-bbbb-1111"
#define VALUE_CLEAR "vtoken-cccc-1111"
#define VALUE_KEPT "vtoken-cccc-2222"
#define VALUE_ERASED "vtoken-dddd-1111"
#define VALUE_MUNICIPAL "vtoken-dddd-2222"

static const gchar *const logged_values_forbidden[] = {
  VALUE_ROUNDTRIP, VALUE_REPLACED, VALUE_A, VALUE_A_PERSONAL, VALUE_B, VALUE_CLEAR, VALUE_KEPT,
};

static gboolean secret_was_logged = FALSE;

/* The schema as stored. A copy on purpose: it is an on-disk contract, and a change in
 * hgd-secrets.c that would orphan every stored secret must fail here. */
static const SecretSchema stored_schema = {
  "org.hemgate.Secret",
  SECRET_SCHEMA_NONE,
  {
    { "domain", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { "owner", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { "key", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  },
};

static GLogFunc test_log_handler = NULL;

static void
check_not_secret (const gchar *text)
{
  for (guint j = 0; j < G_N_ELEMENTS (logged_values_forbidden); j++)
    {
      if (strstr (text, logged_values_forbidden[j]) != NULL)
        secret_was_logged = TRUE;
    }
}

/* Debug messages are all enabled so that they are checked; they are shown on request. */
static gboolean
is_hidden (GLogLevelFlags log_level)
{
  return (log_level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO)) != 0 &&
         g_getenv ("G_MESSAGES_DEBUG") == NULL;
}

/* Structured messages (the core's) come here. */
static GLogWriterOutput
log_writer_cb (GLogLevelFlags log_level,
               const GLogField *fields,
               gsize n_fields,
               gpointer user_data)
{
  for (gsize i = 0; i < n_fields; i++)
    {
      g_autofree gchar *text = fields[i].length < 0
                                 ? g_strdup (fields[i].value)
                                 : g_strndup (fields[i].value, fields[i].length);
      check_not_secret (text);
    }
  if (is_hidden (log_level))
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

/* Unstructured messages (libsecret's, GLib's) go to GTest's default handler instead. */
static void
log_handler_cb (const gchar *log_domain,
                GLogLevelFlags log_level,
                const gchar *message,
                gpointer user_data)
{
  check_not_secret (message);
  if (!is_hidden (log_level))
    test_log_handler (log_domain, log_level, message, user_data);
}

typedef struct
{
  HgdSecrets *secrets; /* (owned) */
} Fixture;

static void
fixture_setup (Fixture *fixture,
               gconstpointer user_data)
{
  fixture->secrets = hgd_secrets_new ();
}

static void
fixture_teardown (Fixture *fixture,
                  gconstpointer user_data)
{
  g_clear_object (&fixture->secrets);
  g_assert_false (secret_was_logged);
}

static gboolean
store (HgdSecrets *secrets,
       HgDomain domain,
       const gchar *owner,
       const gchar *key,
       const gchar *value,
       GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  hgd_secrets_store_async (secrets, domain, owner, key, value, NULL, hg_test_async_result_cb,
                           &result);
  hg_test_wait_for_result (&result);
  return hgd_secrets_store_finish (secrets, result, error);
}

static gchar *
lookup (HgdSecrets *secrets,
        HgDomain domain,
        const gchar *owner,
        const gchar *key,
        GCancellable *cancellable,
        GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  hgd_secrets_lookup_async (secrets, domain, owner, key, cancellable, hg_test_async_result_cb,
                            &result);
  hg_test_wait_for_result (&result);
  return hgd_secrets_lookup_finish (secrets, result, error);
}

static gboolean
clear (HgdSecrets *secrets,
       HgDomain domain,
       const gchar *owner,
       const gchar *key,
       GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  hgd_secrets_clear_async (secrets, domain, owner, key, NULL, hg_test_async_result_cb, &result);
  hg_test_wait_for_result (&result);
  return hgd_secrets_clear_finish (secrets, result, error);
}

static void
assert_lookup (HgdSecrets *secrets,
               HgDomain domain,
               const gchar *owner,
               const gchar *key,
               const gchar *expected)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *value = lookup (secrets, domain, owner, key, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (value, ==, expected);
}

static void
assert_not_found (HgdSecrets *secrets,
                  HgDomain domain,
                  const gchar *owner,
                  const gchar *key)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *value = lookup (secrets, domain, owner, key, NULL, &error);
  g_autofree gchar *message = g_strdup_printf ("no secret '%s' for %s in %s",
                                               key, owner, hg_domain_to_string (domain));

  g_assert_error (error, HG_ERROR, HG_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, message);
  g_assert_null (value);
}

/* The items stored under exactly these names, read with libsecret directly. */
static GList *
search_stored (HgDomain domain,
               const gchar *owner,
               const gchar *key)
{
  g_autoptr(GError) error = NULL;
  GList *items = secret_password_search_sync (&stored_schema, SECRET_SEARCH_ALL, NULL, &error,
                                              "domain", hg_domain_to_string (domain),
                                              "owner", owner,
                                              "key", key,
                                              NULL);
  g_assert_no_error (error);
  return items;
}

static void
test_store_lookup_roundtrip (Fixture *fixture,
                             gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SecretService) service = NULL;
  g_autoptr(SecretCollection) collection = NULL;
  g_autofree gchar *collection_prefix = NULL;
  g_autofree gchar *label = NULL;
  GList *items = NULL;
  SecretItem *item;

  g_test_summary ("A stored secret is looked up unchanged from the default collection "
                  "under its label; storing again replaces it rather than adding another");

  g_assert_true (store (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:roundtrip",
                        "sip-password", VALUE_ROUNDTRIP, &error));
  g_assert_no_error (error);
  assert_lookup (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:roundtrip", "sip-password",
                 VALUE_ROUNDTRIP);

  /* one item, labelled for a person browsing the keyring, in the default collection */
  items = search_stored (HG_DOMAIN_MUNICIPAL, "plugin:roundtrip", "sip-password");
  g_assert_cmpuint (g_list_length (items), ==, 1);
  g_assert_true (SECRET_IS_ITEM (items->data));
  item = items->data;
  label = secret_item_get_label (item);
  g_assert_cmpstr (label, ==, "hemgate municipal plugin:roundtrip sip-password");
  /* (libsecret 0.20.5 does not accept a NULL service here, although documented) */
  service = secret_service_get_sync (SECRET_SERVICE_NONE, NULL, &error);
  g_assert_no_error (error);
  collection = secret_collection_for_alias_sync (service, SECRET_COLLECTION_DEFAULT,
                                                 SECRET_COLLECTION_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (collection);
  collection_prefix = g_strconcat (g_dbus_proxy_get_object_path (G_DBUS_PROXY (collection)),
                                   "/", NULL);
  g_assert_true (g_str_has_prefix (g_dbus_proxy_get_object_path (G_DBUS_PROXY (item)),
                                   collection_prefix));
  g_list_free_full (g_steal_pointer (&items), g_object_unref);

  g_assert_true (store (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:roundtrip",
                        "sip-password", VALUE_REPLACED, &error));
  g_assert_no_error (error);
  assert_lookup (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:roundtrip", "sip-password",
                 VALUE_REPLACED);
  items = search_stored (HG_DOMAIN_MUNICIPAL, "plugin:roundtrip", "sip-password");
  g_assert_cmpuint (g_list_length (items), ==, 1);
  g_list_free_full (g_steal_pointer (&items), g_object_unref);
}

static void
test_owner_isolation (Fixture *fixture,
                      gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;

  g_test_summary ("A secret is reachable only under its own owner and domain: another "
                  "plugin, the core, or the same plugin in the other domain finds nothing, "
                  "and a same-named secret there is a different one");

  g_assert_true (store (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:a", "password",
                        VALUE_A, &error));
  g_assert_no_error (error);
  assert_not_found (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:b", "password");
  assert_not_found (fixture->secrets, HG_DOMAIN_MUNICIPAL, "core", "password");
  assert_not_found (fixture->secrets, HG_DOMAIN_PERSONAL, "plugin:a", "password");

  /* same key, other owner; same owner and key, other domain: neither overwrites */
  g_assert_true (store (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:b", "password",
                        VALUE_B, &error));
  g_assert_no_error (error);
  g_assert_true (store (fixture->secrets, HG_DOMAIN_PERSONAL, "plugin:a", "password",
                        VALUE_A_PERSONAL, &error));
  g_assert_no_error (error);
  assert_lookup (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:a", "password", VALUE_A);
  assert_lookup (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:b", "password", VALUE_B);
  assert_lookup (fixture->secrets, HG_DOMAIN_PERSONAL, "plugin:a", "password",
                 VALUE_A_PERSONAL);
}

static void
test_missing_is_not_found (Fixture *fixture,
                           gconstpointer user_data)
{
  g_test_summary ("Looking up a secret never stored is HG_ERROR_NOT_FOUND naming key, "
                  "owner and domain");

  assert_not_found (fixture->secrets, HG_DOMAIN_PERSONAL, "user:nobody", "never-stored");
}

static void
test_clear (Fixture *fixture,
            gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  GList *items = NULL;

  g_test_summary ("Clearing removes exactly the named secret from the keyring; clearing "
                  "again, when there is nothing left, succeeds");

  g_assert_true (store (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:clear", "token",
                        VALUE_CLEAR, &error));
  g_assert_no_error (error);
  g_assert_true (store (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:clear-other", "token",
                        VALUE_KEPT, &error));
  g_assert_no_error (error);

  g_assert_true (clear (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:clear", "token",
                        &error));
  g_assert_no_error (error);
  assert_not_found (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:clear", "token");
  items = search_stored (HG_DOMAIN_MUNICIPAL, "plugin:clear", "token");
  g_assert_null (items);
  assert_lookup (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:clear-other", "token",
                 VALUE_KEPT);

  g_assert_true (clear (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:clear", "token",
                        &error));
  g_assert_no_error (error);
}

/* The personal domain's secrets as hgd_secrets_list_keys_async () gives them. */
static JsonArray *
list_keys (HgdSecrets *secrets,
           HgDomain domain)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *keys;

  hgd_secrets_list_keys_async (secrets, domain, NULL, hg_test_async_result_cb, &result);
  hg_test_wait_for_result (&result);
  keys = hgd_secrets_list_keys_finish (secrets, result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (keys);
  return keys;
}

static gboolean
keys_have (JsonArray *keys,
           const gchar *owner,
           const gchar *key)
{
  for (guint i = 0; i < json_array_get_length (keys); i++)
    {
      JsonObject *object = json_array_get_object_element (keys, i);
      g_autoptr(GList) members = json_object_get_members (object);

      g_assert_cmpuint (g_list_length (members), ==, 2);
      if (g_strcmp0 (json_object_get_string_member (object, "owner"), owner) == 0 &&
          g_strcmp0 (json_object_get_string_member (object, "key"), key) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
test_domain_list_and_clear (Fixture *fixture,
                            gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonArray) before = NULL;
  g_autoptr(JsonArray) after = NULL;
  g_autoptr(JsonArray) municipal = NULL;
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_ARRAY);
  g_autofree gchar *text = NULL;

  g_test_summary ("A domain's secrets are listed by owner and key without their values, and "
                  "cleared all at once, every owner's; the other domain's stay");

  g_assert_true (store (fixture->secrets, HG_DOMAIN_PERSONAL, "plugin:erase-a", "token",
                        VALUE_ERASED, &error));
  g_assert_true (store (fixture->secrets, HG_DOMAIN_PERSONAL, "user:erase-b", "pin",
                        VALUE_ERASED, &error));
  g_assert_true (store (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:erase-a", "token",
                        VALUE_MUNICIPAL, &error));
  g_assert_no_error (error);

  before = list_keys (fixture->secrets, HG_DOMAIN_PERSONAL);
  g_assert_true (keys_have (before, "plugin:erase-a", "token"));
  g_assert_true (keys_have (before, "user:erase-b", "pin"));
  json_node_set_array (node, before);
  text = json_to_string (node, FALSE);
  g_assert_null (strstr (text, VALUE_ERASED));
  g_assert_null (strstr (text, VALUE_MUNICIPAL));

  hgd_secrets_clear_domain_async (fixture->secrets, HG_DOMAIN_PERSONAL, NULL,
                                  hg_test_async_result_cb, &result);
  hg_test_wait_for_result (&result);
  g_assert_true (hgd_secrets_clear_domain_finish (fixture->secrets, result, &error));
  g_assert_no_error (error);

  after = list_keys (fixture->secrets, HG_DOMAIN_PERSONAL);
  g_assert_cmpuint (json_array_get_length (after), ==, 0);
  assert_not_found (fixture->secrets, HG_DOMAIN_PERSONAL, "plugin:erase-a", "token");
  municipal = list_keys (fixture->secrets, HG_DOMAIN_MUNICIPAL);
  g_assert_true (keys_have (municipal, "plugin:erase-a", "token"));
  assert_lookup (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:erase-a", "token", VALUE_MUNICIPAL);
}

/* Asserts that lookup, store and clear all refuse the call with HG_ERROR_INVALID_DATA. */
static void
assert_all_refused (HgdSecrets *secrets,
                    HgDomain domain,
                    const gchar *owner,
                    const gchar *key)
{
  g_autoptr(GError) error_lookup = NULL;
  g_autoptr(GError) error_store = NULL;
  g_autoptr(GError) error_clear = NULL;
  g_autofree gchar *value = lookup (secrets, domain, owner, key, NULL, &error_lookup);

  g_assert_error (error_lookup, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_null (value);
  g_assert_false (store (secrets, domain, owner, key, "unused", &error_store));
  g_assert_error (error_store, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_false (clear (secrets, domain, owner, key, &error_clear));
  g_assert_error (error_clear, HG_ERROR, HG_ERROR_INVALID_DATA);
}

static void
test_invalid_key_rejected (Fixture *fixture,
                           gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *value = NULL;
  g_autofree gchar *longest = g_strnfill (128, 'k');
  g_autofree gchar *too_long = g_strnfill (129, 'k');
  const gchar *bad_keys[] = { "", too_long, "a/b", "a b", "nyckel-å", "key\n", "key:x", "*" };

  g_test_summary ("A key that is not 1 to 128 characters of [A-Za-z0-9._-] is "
                  "HG_ERROR_INVALID_DATA for lookup, store and clear, and is not echoed");

  for (guint i = 0; i < G_N_ELEMENTS (bad_keys); i++)
    assert_all_refused (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:a", bad_keys[i]);

  value = lookup (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:a", "a/b", NULL, &error);
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_cmpstr (error->message, ==,
                   "secret key for plugin:a in municipal is not 1 to 128 characters of "
                   "[A-Za-z0-9._-]");
  g_clear_error (&error);

  /* the longest valid key, with every allowed kind of character, passes validation */
  longest[0] = 'A';
  longest[1] = '9';
  longest[2] = '.';
  longest[3] = '_';
  longest[4] = '-';
  assert_not_found (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:a", longest);
}

static void
test_invalid_owner_rejected (Fixture *fixture,
                             gconstpointer user_data)
{
  g_autofree gchar *too_long_id = g_strnfill (129, 'p');
  g_autofree gchar *too_long = g_strconcat ("plugin:", too_long_id, NULL);
  const gchar *bad_owners[] = {
    "", "root", "Core", "core:x", "plugin:", "plugin:a b", "plugin:a/b", "PLUGIN:a",
    "user:", "user:a:b", too_long,
  };

  g_test_summary ("An owner other than core, plugin:<id> or user:<name>, and a domain "
                  "other than municipal or personal, are HG_ERROR_INVALID_DATA");

  for (guint i = 0; i < G_N_ELEMENTS (bad_owners); i++)
    assert_all_refused (fixture->secrets, HG_DOMAIN_MUNICIPAL, bad_owners[i], "key");
  assert_all_refused (fixture->secrets, HG_DOMAIN_LAST, "plugin:a", "key");
  assert_all_refused (fixture->secrets, (HgDomain) -1, "plugin:a", "key");
}

static void
test_invalid_value_rejected (Fixture *fixture,
                             gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *too_long = g_strnfill (65537, 'v');

  g_test_summary ("A value that is not UTF-8 or is over 64 KiB is HG_ERROR_INVALID_DATA "
                  "and nothing is stored");

  g_assert_false (store (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:value", "binary",
                         "\xff\xfe", &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_cmpstr (error->message, ==,
                   "secret 'binary' for plugin:value in municipal: "
                   "secret value is not valid UTF-8");
  g_clear_error (&error);
  g_assert_false (store (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:value", "huge",
                         too_long, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_clear_error (&error);
  assert_not_found (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:value", "huge");
}

static void
test_cancelled (Fixture *fixture,
                gconstpointer user_data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree gchar *value = NULL;

  g_test_summary ("A cancelled call ends in G_IO_ERROR_CANCELLED, not an HG_ERROR, so the "
                  "caller can tell it from a failure");

  g_cancellable_cancel (cancellable);
  value = lookup (fixture->secrets, HG_DOMAIN_MUNICIPAL, "plugin:a", "password",
                  cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (value);
}

static void
test_service_unavailable (Fixture *fixture,
                          gconstpointer user_data)
{
  g_test_summary ("Without a reachable Secret Service every call is HG_ERROR_UNAVAILABLE "
                  "saying what failed on what, with the underlying reason");

  /* in a child, so that libsecret's process-wide connection is made on a dead bus */
  if (g_test_subprocess ())
    {
      g_autofree gchar *bus = g_build_filename (g_get_tmp_dir (), "no-such-bus", NULL);
      g_autofree gchar *address = g_strconcat ("unix:path=", bus, NULL);
      g_autoptr(HgdSecrets) secrets = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree gchar *value = NULL;

      g_setenv ("DBUS_SESSION_BUS_ADDRESS", address, TRUE);
      secrets = hgd_secrets_new ();
      value = lookup (secrets, HG_DOMAIN_MUNICIPAL, "plugin:a", "password", NULL, &error);
      g_assert_error (error, HG_ERROR, HG_ERROR_UNAVAILABLE);
      g_assert_true (g_str_has_prefix (error->message, "secret service: looking up secret "
                                                       "'password' for plugin:a in municipal: "));
      g_assert_cmpuint (strlen (error->message), >, strlen ("secret service: looking up secret "
                                                            "'password' for plugin:a in municipal: "));
      g_assert_null (value);
      g_clear_error (&error);
      g_assert_false (store (secrets, HG_DOMAIN_MUNICIPAL, "plugin:a", "password", VALUE_A,
                             &error));
      g_assert_error (error, HG_ERROR, HG_ERROR_UNAVAILABLE);
      g_clear_error (&error);
      g_assert_false (clear (secrets, HG_DOMAIN_MUNICIPAL, "plugin:a", "password", &error));
      g_assert_error (error, HG_ERROR, HG_ERROR_UNAVAILABLE);
      return;
    }
  g_test_trap_subprocess (NULL, 0, 0);
  g_test_trap_assert_passed ();
}

int
main (int argc,
      char **argv)
{
  /* every message, debug included, is checked for secrets by log_writer_cb or
   * log_handler_cb; messages printed go to stderr or are TAP comments */
  g_log_writer_default_set_use_stderr (TRUE);
  g_log_set_debug_enabled (TRUE);
  g_log_set_writer_func (log_writer_cb, NULL, NULL);

  /* G_TEST_OPTION_ISOLATE_DIRS as everywhere, deliberately: it points HOME and the XDG
   * directories of this process at fresh per-test directories, but gnome-keyring (started
   * by the wrapper, with the wrapper's throwaway HOME) is reached only through
   * DBUS_SESSION_BUS_ADDRESS, which it leaves alone. So the keyring is shared by the
   * tests of one run, and each test uses owners of its own. */
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  test_log_handler = g_log_set_default_handler (log_handler_cb, NULL);

  if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL)
    {
      g_printerr ("test-secrets needs a Secret Service: run it with run-with-keyring.sh\n");
      return 1;
    }

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD_TEST ("/secrets/store-lookup-roundtrip", test_store_lookup_roundtrip);
  ADD_TEST ("/secrets/owner-isolation", test_owner_isolation);
  ADD_TEST ("/secrets/missing-is-not-found", test_missing_is_not_found);
  ADD_TEST ("/secrets/clear", test_clear);
  ADD_TEST ("/secrets/domain-listed-and-cleared", test_domain_list_and_clear);
  ADD_TEST ("/secrets/invalid-key-rejected", test_invalid_key_rejected);
  ADD_TEST ("/secrets/invalid-owner-rejected", test_invalid_owner_rejected);
  ADD_TEST ("/secrets/invalid-value-rejected", test_invalid_value_rejected);
  ADD_TEST ("/secrets/cancelled", test_cancelled);
  ADD_TEST ("/secrets/service-unavailable", test_service_unavailable);
#undef ADD_TEST

  return g_test_run ();
}
