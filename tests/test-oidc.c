/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Staff log in with the municipality's identity provider: a real OpenID Provider
 * (tests/oidc/provider.mjs, the npm package oidc-provider) on 127.0.0.1 and a real
 * hemgated in the test process, with this test as the browser (libsoup: it follows the
 * redirects and posts the provider's login form). The forged ID tokens of the bad-input
 * cases are signed here with cjose and handed out by the provider's token endpoint in
 * place of its own, so that they go through the gateway's real callback path. */
#include "config.h"

#include <cjose/cjose.h>
#include <string.h>

#include "hg-test-http.h"
#include "hg-test-oidc.h"
#include "hgd-access-log.h"
#include "hgd-journal.h"
#include "hgd-oidc.h"
#include "hgd-test-daemon.h"

#define CLIENT_ID "hemgate-test-gateway"
#define KID "test-key-1"

/* The test data of the fixture's one case whose ID tokens last 70 s (the others' are the
 * cases' own, e.g. a forgery or a JWKS mode). */
static const gchar short_id_tokens[] = "short-id-tokens";
#define SHORT_ID_TOKENS ((gconstpointer) short_id_tokens)

typedef struct
{
  gchar *dir;                  /* (owned) */
  cjose_jwk_t *key;            /* (owned) the provider's signing key */
  gchar *client_secret;        /* (owned) */
  HgTestOidcProvider *op;      /* (owned) */
  HgdTestDaemon *td;           /* (owned) */
  GStrv overrides;             /* (owned) the gateway's configuration, for a restart */
  SoupSession *browser;        /* (owned) with its own cookie jar */
} Fixture;

/* One leg of the browser's journey. */
typedef struct
{
  guint status;
  gchar *location; /* (owned) (nullable) absolute */
  gchar *body;     /* (owned) */
  gchar *cookie;   /* (owned) (nullable) the gateway's session token, from Set-Cookie */
  JsonObject *json; /* (owned) (nullable) */
} Leg;

static void
leg_free (Leg *leg)
{
  g_free (leg->location);
  g_free (leg->body);
  g_free (leg->cookie);
  g_clear_pointer (&leg->json, json_object_unref);
  g_free (leg);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Leg, leg_free)

/* A request of the browser, not following redirects, while the main context runs (the
 * gateway is in this process). */
static Leg *
browse (Fixture *fx,
        const gchar *method,
        const gchar *uri,
        const gchar *form)
{
  g_autoptr(SoupMessage) msg = soup_message_new (method, uri);
  Leg *leg = g_new0 (Leg, 1);
  g_autoptr(GBytes) answer = NULL;
  SoupMessageHeaders *headers;
  const gchar *set_cookie;

  g_assert_nonnull (msg);
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
  if (form != NULL)
    {
      g_autoptr(GBytes) body = g_bytes_new (form, strlen (form));
      soup_message_set_request_body_from_bytes (msg, "application/x-www-form-urlencoded", body);
    }
  answer = hg_test_http_send (fx->browser, msg);
  headers = soup_message_get_response_headers (msg);
  leg->status = soup_message_get_status (msg);
  leg->body = g_strndup (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer));
  leg->location = hg_test_http_location (msg);
  set_cookie = soup_message_headers_get_one (headers, "Set-Cookie");
  if (set_cookie != NULL && g_str_has_prefix (set_cookie, "hemgate_session="))
    leg->cookie = g_strndup (set_cookie + strlen ("hemgate_session="),
                             strcspn (set_cookie + strlen ("hemgate_session="), ";"));
  if (g_strcmp0 (soup_message_headers_get_content_type (headers, NULL), "application/json") == 0)
    leg->json = hg_json_parse_object (leg->body, strlen (leg->body), 0, NULL);
  return leg;
}

static const gchar *
leg_error_message (Leg *leg)
{
  g_assert_nonnull (leg->json);
  return json_object_get_string_member (json_object_get_object_member (leg->json, "error"),
                                        "message");
}

static const gchar *
leg_error_code (Leg *leg)
{
  JsonObject *error;

  g_assert_nonnull (leg->json);
  error = json_object_get_object_member (leg->json, "error");
  g_assert_nonnull (error);
  g_test_message ("refused: %s: %s", json_object_get_string_member (error, "code"),
                  json_object_get_string_member (error, "message"));
  return json_object_get_string_member (error, "code");
}

static gchar *
query_param (const gchar *uri,
             const gchar *name)
{
  g_autoptr(GUri) parsed = g_uri_parse (uri, G_URI_FLAGS_ENCODED, NULL);
  g_autoptr(GHashTable) params = NULL;

  g_assert_nonnull (parsed);
  g_assert_nonnull (g_uri_get_query (parsed));
  params = g_uri_parse_params (g_uri_get_query (parsed), -1, "&", G_URI_PARAMS_NONE, NULL);
  return g_strdup (g_hash_table_lookup (params, name));
}

/* The browser at the provider (hg_test_oidc_provider_sign_in ()), until it is sent back to
 * the gateway. */
static gchar *
drive_provider (Fixture *fx,
                const gchar *start,
                const gchar *user)
{
  return hg_test_oidc_provider_sign_in (fx->op, fx->browser, start, user, fx->td->url);
}

/* From the gateway's login route through the provider's login form to the callback URL
 * the provider sends the browser to, which is not yet requested. @nonce: the one the
 * gateway put in the authorization request. */
static gchar *
login_at_provider (Fixture *fx,
                   const gchar *user,
                   gchar **nonce)
{
  g_autofree gchar *start = hgd_test_daemon_uri (fx->td, "/api/v1/auth/oidc/login");
  g_autoptr(Leg) begin = browse (fx, "GET", start, NULL);
  g_autofree gchar *challenge = NULL;
  g_autofree gchar *method = NULL;

  g_assert_cmpuint (begin->status, ==, SOUP_STATUS_FOUND);
  /* each login on a browser of its own: no single sign-on from the one before */
  soup_session_remove_feature_by_type (fx->browser, SOUP_TYPE_COOKIE_JAR);
  soup_session_add_feature_by_type (fx->browser, SOUP_TYPE_COOKIE_JAR);
  g_assert_true (g_str_has_prefix (begin->location, fx->op->issuer));
  /* PKCE with S256, a state and a nonce */
  challenge = query_param (begin->location, "code_challenge");
  g_assert_nonnull (challenge);
  method = query_param (begin->location, "code_challenge_method");
  g_assert_cmpstr (method, ==, "S256");
  if (nonce != NULL)
    *nonce = query_param (begin->location, "nonce");
  return drive_provider (fx, begin->location, user);
}

/* A whole login; the callback's answer. */
static Leg *
login (Fixture *fx,
       const gchar *user)
{
  g_autofree gchar *callback = login_at_provider (fx, user, NULL);

  return browse (fx, "GET", callback, NULL);
}

static void
store_secret_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (hgd_secrets_store_finish (HGD_SECRETS (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

static JsonObject *
user_json (const gchar *name,
           const gchar *group)
{
  JsonObject *user = json_object_new ();
  JsonArray *groups = json_array_new ();

  json_object_set_string_member (user, "name", name);
  json_array_add_string_element (groups, group);
  json_array_add_string_element (groups, "alla-anstallda");
  json_object_set_array_member (user, "groups", groups);
  return user;
}

static void
fixture_set_up (Fixture *fx,
                gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) config = json_object_new ();
  g_autoptr(JsonObject) jwk = NULL;
  JsonObject *users = json_object_new ();
  guint16 port = hg_test_free_port ();
  g_autofree gchar *port_text = g_strdup_printf ("%u", port);
  g_autofree gchar *gateway = g_strdup_printf ("http://127.0.0.1:%u", port);
  g_autofree gchar *redirect = g_strconcat (gateway, "/api/v1/auth/oidc/callback", NULL);
  g_autofree gchar *backchannel = g_strconcat (gateway, "/api/v1/auth/oidc/backchannel-logout",
                                               NULL);
  g_autofree gchar *jwk_text = NULL;
  gboolean stored = FALSE;
  cjose_err err;

  fx->dir = g_dir_make_tmp ("hemgate-oidc-XXXXXX", &error);
  g_assert_no_error (error);
  fx->key = cjose_jwk_create_RSA_random (2048, NULL, 0, &err);
  g_assert_nonnull (fx->key);
  g_assert_true (cjose_jwk_set_kid (fx->key, KID, strlen (KID), &err));
  jwk_text = cjose_jwk_to_json (fx->key, true, &err);
  jwk = hg_json_parse_object (jwk_text, strlen (jwk_text), 0, &error);
  g_assert_no_error (error);
  json_object_set_string_member (jwk, "alg", "RS256");
  json_object_set_string_member (jwk, "use", "sig");
  fx->client_secret = g_strdup_printf ("test-secret-%08x%08x", g_random_int (), g_random_int ());

  json_object_set_string_member (config, "client_id", CLIENT_ID);
  json_object_set_string_member (config, "client_secret", fx->client_secret);
  json_object_set_string_member (config, "redirect_uri", redirect);
  json_object_set_string_member (config, "backchannel_logout_uri", backchannel);
  json_object_set_object_member (config, "jwk", json_object_ref (jwk));
  json_object_set_object_member (users, "anna", user_json ("Anna Andersson", "hemtjanst"));
  json_object_set_object_member (users, "ivar", user_json ("Ivar Isaksson", "kommun-it"));
  json_object_set_object_member (users, "olle", user_json ("Olle Olsson", "bibliotek"));
  json_object_set_object_member (config, "users", users);
  /* the refresh case: ID tokens that run out during the test */
  if (data == SHORT_ID_TOKENS)
    json_object_set_int_member (config, "id_token_ttl", 70);
  fx->op = hg_test_oidc_provider_new (fx->dir, config);

  {
    const gchar *overrides[] = {
      "api", "port", port_text,
      "oidc", "issuer", fx->op->issuer,
      "oidc", "client-id", CLIENT_ID,
      "oidc", "redirect-uri", redirect,
      "oidc", "display-name", "Testkommunen",
      "oidc", "staff", "hemtjanst;hemsjukvard",
      "oidc", "it-admin", "kommun-it",
      "oidc", "timeout", "2",
      NULL,
    };
    HgdTestDaemonOptions options = { .overrides = overrides };

    fx->overrides = g_strdupv ((gchar **) overrides);
    fx->td = hgd_test_daemon_new (&options);
  }
  hgd_secrets_store_async (hgd_daemon_get_secrets (fx->td->daemon), HG_DOMAIN_MUNICIPAL, "core",
                           HGD_OIDC_CLIENT_SECRET_KEY, fx->client_secret, NULL, store_secret_cb,
                           &stored);
  hg_test_wait_until (&stored, 30);
  fx->browser = soup_session_new_with_options ("timeout", 30, "proxy-resolver", NULL, NULL);
  soup_session_add_feature_by_type (fx->browser, SOUP_TYPE_COOKIE_JAR);
}

static void
fixture_tear_down (Fixture *fx,
                   gconstpointer data)
{
  soup_session_abort (fx->browser);
  g_clear_object (&fx->browser);
  g_clear_pointer (&fx->td, hgd_test_daemon_free);
  g_strfreev (fx->overrides);
  g_clear_pointer (&fx->op, hg_test_oidc_provider_free);
  cjose_jwk_release (fx->key);
  g_free (fx->client_secret);
  hg_test_rm_rf (fx->dir);
  g_free (fx->dir);
}

/* The newest entry of the municipal access log. */
static HgdAccessEntry *
last_access_entry (Fixture *fx)
{
  HgdAccessLog *log = hgd_daemon_get_access_log (fx->td->daemon);
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GError) error = NULL;

  entries = hgd_access_log_list (log, HG_DOMAIN_MUNICIPAL, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (entries->len, >, 0);
  /* newest first */
  return g_ptr_array_steal_index (entries, 0);
}

typedef struct
{
  Fixture *fx;
  const gchar *type;
  const gchar *member;
  const gchar *value;
} JournalWant;

/* Whether the municipal journal has an event of the type with a body member of the value. */
static gboolean
journal_has (gpointer data)
{
  JournalWant *want = data;
  HgdJournal *journal = hgd_daemon_get_journal (want->fx->td->daemon, HG_DOMAIN_MUNICIPAL);
  g_autoptr(GPtrArray) events = hgd_journal_query_events (journal, 0, 0, NULL);

  for (guint i = 0; events != NULL && i < events->len; i++)
    {
      HgEvent *event = g_ptr_array_index (events, i);

      if (g_strcmp0 (hg_event_get_event_type (event), want->type) == 0 &&
          g_strcmp0 (json_object_get_string_member_with_default (hg_event_get_body (event),
                                                                 want->member, NULL),
                     want->value) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
assert_journaled (Fixture *fx,
                  const gchar *type,
                  const gchar *member,
                  const gchar *value)
{
  JournalWant want = { fx, type, member, value };

  hg_test_wait_for (journal_has, &want, 10);
}

static void
assert_refusal_logged (Fixture *fx,
                       const gchar *reason)
{
  g_autoptr(HgdAccessEntry) entry = last_access_entry (fx);
  g_autofree gchar *expected = g_strdup_printf ("\"reason\":\"%s\"", reason);

  assert_journaled (fx, "auth.refused", "reason", reason);

  g_assert_cmpstr (entry->action, ==, "login.failed");
  g_assert_nonnull (entry->detail);
  g_test_message ("access log: %s %s", entry->action, entry->detail);
  g_assert_nonnull (strstr (entry->detail, expected));
}

static HgdTestResponse *
session_of (Fixture *fx,
            const gchar *token)
{
  return hgd_test_daemon_request (fx->td, "GET", "/api/v1/auth/session", token, NULL);
}

/* Cases ------------------------------------------------------------------------------------ */

static void
test_roles (Fixture *fx,
            gconstpointer data)
{
  g_autoptr(Leg) anna = NULL;
  g_autoptr(Leg) ivar = NULL;
  g_autoptr(HgdTestResponse) info = NULL;
  g_autoptr(HgdTestResponse) session = NULL;
  g_autoptr(HgdTestResponse) plugins = NULL;
  g_autoptr(HgdAccessEntry) entry = NULL;

  g_test_summary ("Staff and IT log in through the provider and get the role their groups map "
                  "to, in the gateway's own session (token and cookie), with their identity in "
                  "the municipal access log");
  info = hgd_test_daemon_request (fx->td, "GET", "/api/v1/auth/oidc", NULL, NULL);
  g_assert_cmpuint (info->status, ==, SOUP_STATUS_OK);
  g_assert_true (json_object_get_boolean_member (info->json, "enabled"));
  g_assert_cmpstr (json_object_get_string_member (info->json, "display_name"), ==,
                   "Testkommunen");

  anna = login (fx, "anna");
  g_assert_cmpuint (anna->status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (anna->json, "role"), ==, "staff");
  g_assert_cmpstr (json_object_get_string_member (anna->json, "domain"), ==, "municipal");
  g_assert_cmpstr (json_object_get_string_member (anna->json, "subject"), ==, "anna");
  g_assert_cmpstr (json_object_get_string_member (anna->json, "name"), ==, "Anna Andersson");
  g_assert_cmpstr (json_object_get_string_member (anna->json, "issuer"), ==, fx->op->issuer);
  g_assert_cmpstr (anna->cookie, ==, json_object_get_string_member (anna->json, "token"));
  /* the session ends with the ID token (the provider's 10 minutes), not after [api]
   * session-lifetime (12 hours) */
  {
    g_autoptr(GDateTime) expires = g_date_time_new_from_iso8601 (
        json_object_get_string_member (anna->json, "expires"), NULL);
    gint64 left = g_date_time_to_unix (expires) - g_get_real_time () / G_USEC_PER_SEC;

    g_assert_cmpint (left, >, 0);
    g_assert_cmpint (left, <=, 600);
  }
  entry = last_access_entry (fx);
  g_assert_cmpstr (entry->action, ==, "login");
  g_assert_cmpstr (entry->actor, ==, "user:oidc:anna");
  g_assert_nonnull (strstr (entry->detail, "\"name\":\"Anna Andersson\""));
  /* and the municipal journal, with who the provider says she is */
  assert_journaled (fx, "auth.login", "name", "Anna Andersson");

  session = session_of (fx, anna->cookie);
  g_assert_cmpuint (session->status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (session->json, "role"), ==, "staff");
  /* the route table's rules hold for it: staff may list plugins, not restart them */
  plugins = hgd_test_daemon_request (fx->td, "POST", "/api/v1/plugins/none/restart",
                                     anna->cookie, NULL);
  g_assert_cmpuint (plugins->status, ==, SOUP_STATUS_FORBIDDEN);

  ivar = login (fx, "ivar");
  g_assert_cmpuint (ivar->status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (ivar->json, "role"), ==, "it-admin");
}

static void
test_no_role (Fixture *fx,
              gconstpointer data)
{
  g_autoptr(Leg) olle = NULL;
  g_autoptr(Leg) anna = NULL;
  g_autoptr(Leg) again = NULL;

  g_test_summary ("A user whose groups map to no role gets no session, nor does one removed "
                  "from the group between two logins; each refusal is in the access log");
  olle = login (fx, "olle");
  g_assert_cmpuint (olle->status, ==, SOUP_STATUS_FORBIDDEN);
  g_assert_cmpstr (leg_error_code (olle), ==, "no-role");
  g_assert_null (olle->cookie);
  assert_refusal_logged (fx, "no-role");

  anna = login (fx, "anna");
  g_assert_cmpuint (anna->status, ==, SOUP_STATUS_OK);
  hg_test_oidc_provider_admin (fx->op, "/admin/users/anna",
                               "{\"name\": \"Anna Andersson\", \"groups\": [\"bibliotek\"]}");
  again = login (fx, "anna");
  g_assert_cmpuint (again->status, ==, SOUP_STATUS_FORBIDDEN);
  g_assert_cmpstr (leg_error_code (again), ==, "no-role");
  assert_refusal_logged (fx, "no-role");
}

static void
test_backchannel_logout (Fixture *fx,
                         gconstpointer data)
{
  g_autoptr(Leg) anna = login (fx, "anna");
  g_autoptr(Leg) ivar = login (fx, "ivar");
  g_autoptr(HgdTestResponse) before = NULL;
  g_autoptr(HgdTestResponse) after = NULL;
  g_autoptr(HgdTestResponse) other = NULL;
  g_autoptr(HgdAccessEntry) entry = NULL;
  gint64 start;

  g_test_summary ("A staff member the provider logs out (back-channel logout, a signed logout "
                  "token) loses their open gateway session at once; others keep theirs");
  g_assert_cmpuint (anna->status, ==, SOUP_STATUS_OK);
  g_assert_cmpuint (ivar->status, ==, SOUP_STATUS_OK);
  before = session_of (fx, anna->cookie);
  g_assert_cmpuint (before->status, ==, SOUP_STATUS_OK);

  start = g_get_monotonic_time ();
  hg_test_oidc_provider_admin (fx->op, "/admin/users/anna/logout", NULL);
  after = session_of (fx, anna->cookie);
  g_test_message ("back-channel logout to session refused: %.1f ms",
                  (g_get_monotonic_time () - start) / 1000.0);
  g_assert_cmpuint (after->status, ==, SOUP_STATUS_UNAUTHORIZED);
  other = session_of (fx, ivar->cookie);
  g_assert_cmpuint (other->status, ==, SOUP_STATUS_OK);
  entry = last_access_entry (fx);
  g_assert_cmpstr (entry->action, ==, "logout");
  g_assert_cmpstr (entry->actor, ==, "user:oidc:anna");
  assert_journaled (fx, "auth.logout", "subject", "anna");
}

static void
test_rp_logout (Fixture *fx,
                gconstpointer data)
{
  g_autoptr(Leg) anna = login (fx, "anna");
  g_autoptr(HgdTestResponse) logout = NULL;
  g_autoptr(HgdTestResponse) after = NULL;
  const gchar *url;

  g_test_summary ("Logging out of a session from the provider ends it here and answers where "
                  "the browser logs out at the provider (RP-initiated logout)");
  g_assert_cmpuint (anna->status, ==, SOUP_STATUS_OK);
  logout = hgd_test_daemon_request (fx->td, "POST", "/api/v1/auth/logout", anna->cookie, NULL);
  g_assert_cmpuint (logout->status, ==, SOUP_STATUS_OK);
  url = json_object_get_string_member (logout->json, "end_session_url");
  g_assert_true (g_str_has_prefix (url, fx->op->issuer));
  g_assert_nonnull (strstr (url, "id_token_hint="));
  after = session_of (fx, anna->cookie);
  g_assert_cmpuint (after->status, ==, SOUP_STATUS_UNAUTHORIZED);
}

/* Bad input ------------------------------------------------------------------------------- */

typedef enum
{
  FORGE_EXPIRED,
  FORGE_NOT_YET_VALID,
  FORGE_AUDIENCE,
  FORGE_ISSUER,
  FORGE_ALG_NONE,
  FORGE_HS256_PUBLIC_KEY,
  FORGE_UNKNOWN_KID,
  FORGE_REPLAYED_NONCE,
} Forgery;

/* What the refusal of each says. */
static const gchar *const reasons[] = {
  [FORGE_EXPIRED] = "has expired",
  [FORGE_NOT_YET_VALID] = "not yet valid",
  [FORGE_AUDIENCE] = "another audience",
  [FORGE_ISSUER] = "another issuer",
  [FORGE_ALG_NONE] = "algorithm 'none'",
  [FORGE_HS256_PUBLIC_KEY] = "algorithm 'HS256'",
  [FORGE_UNKNOWN_KID] = "unknown kid",
  [FORGE_REPLAYED_NONCE] = "nonce",
};

static gchar *
b64url (const gchar *text)
{
  g_autofree gchar *b64 = g_base64_encode ((const guchar *) text, strlen (text));
  GString *out = g_string_new (NULL);

  for (const gchar *p = b64; *p != '\0' && *p != '='; p++)
    g_string_append_c (out, *p == '+' ? '-' : *p == '/' ? '_' : *p);
  return g_string_free (out, FALSE);
}

/* An ID token for anna with @claims_text, signed with cjose by @key under @alg and @kid;
 * `none` is written out, as no library signs with it. */
static gchar *
sign_token (const gchar *claims_text,
            const gchar *alg,
            const gchar *kid,
            cjose_jwk_t *key)
{
  cjose_header_t *header;
  cjose_jws_t *jws;
  cjose_err err;
  const gchar *compact = NULL;
  gchar *out;

  if (g_str_equal (alg, "none"))
    {
      g_autofree gchar *h = b64url ("{\"alg\":\"none\",\"typ\":\"JWT\"}");
      g_autofree gchar *c = b64url (claims_text);
      return g_strdup_printf ("%s.%s.", h, c);
    }
  header = cjose_header_new (&err);
  g_assert_true (cjose_header_set (header, CJOSE_HDR_ALG, alg, &err));
  g_assert_true (cjose_header_set (header, CJOSE_HDR_KID, kid, &err));
  g_assert_true (cjose_header_set (header, "typ", "JWT", &err));
  jws = cjose_jws_sign (key, header, (const guint8 *) claims_text, strlen (claims_text), &err);
  g_assert_nonnull (jws);
  g_assert_true (cjose_jws_export (jws, &compact, &err));
  out = g_strdup (compact);
  cjose_jws_release (jws);
  cjose_header_release (header);
  return out;
}

static void
test_forged (Fixture *fx,
             gconstpointer data)
{
  Forgery forgery = GPOINTER_TO_INT (data);
  g_autofree gchar *nonce = NULL;
  g_autofree gchar *callback = NULL;
  g_autofree gchar *claims_text = NULL;
  g_autofree gchar *token = NULL;
  g_autofree gchar *body = NULL;
  g_autoptr(JsonObject) claims = json_object_new ();
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(JsonObject) wrapper = json_object_new ();
  g_autoptr(JsonNode) wrapper_node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(Leg) answer = NULL;
  JsonArray *groups = json_array_new ();
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  const gchar *alg = "RS256";
  const gchar *kid = KID;
  cjose_jwk_t *key = fx->key;
  cjose_jwk_t *other = NULL;
  cjose_err err;

  g_test_summary ("A forged or wrong ID token through the real callback path is refused with "
                  "a clear error and an access log entry, and gives no session");
  if (forgery == FORGE_REPLAYED_NONCE)
    {
      /* a real login first; its nonce is then replayed in another */
      g_autofree gchar *first = login_at_provider (fx, "anna", &nonce);
      g_autoptr(Leg) ok = browse (fx, "GET", first, NULL);
      g_autofree gchar *fresh = NULL;

      g_assert_cmpuint (ok->status, ==, SOUP_STATUS_OK);
      callback = login_at_provider (fx, "anna", &fresh);
      g_assert_cmpstr (fresh, !=, nonce);
    }
  else
    {
      callback = login_at_provider (fx, "anna", &nonce);
    }

  json_object_set_string_member (claims, "iss", fx->op->issuer);
  json_object_set_string_member (claims, "aud", CLIENT_ID);
  json_object_set_string_member (claims, "sub", "anna");
  json_object_set_string_member (claims, "name", "Anna Andersson");
  json_object_set_string_member (claims, "nonce", nonce);
  json_object_set_int_member (claims, "iat", now);
  json_object_set_int_member (claims, "exp", now + 300);
  json_array_add_string_element (groups, "hemtjanst");
  json_object_set_array_member (claims, "groups", groups);
  switch (forgery)
    {
    case FORGE_EXPIRED:
      json_object_set_int_member (claims, "iat", now - 7200);
      json_object_set_int_member (claims, "exp", now - 3600);
      break;
    case FORGE_NOT_YET_VALID:
      json_object_set_int_member (claims, "nbf", now + 3600);
      break;
    case FORGE_AUDIENCE:
      json_object_set_string_member (claims, "aud", "another-client");
      break;
    case FORGE_ISSUER:
      json_object_set_string_member (claims, "iss", "http://127.0.0.1:9/another-issuer");
      break;
    case FORGE_ALG_NONE:
      alg = "none";
      break;
    case FORGE_HS256_PUBLIC_KEY:
      {
        /* the provider's public key, as anyone can fetch it, used as an HMAC secret */
        g_autofree gchar *public_jwk = cjose_jwk_to_json (fx->key, false, &err);
        other = cjose_jwk_create_oct_spec ((const guint8 *) public_jwk, strlen (public_jwk),
                                           &err);
        g_assert_nonnull (other);
        key = other;
        alg = "HS256";
      }
      break;
    case FORGE_UNKNOWN_KID:
      other = cjose_jwk_create_RSA_random (2048, NULL, 0, &err);
      g_assert_nonnull (other);
      key = other;
      kid = "a-key-nobody-published";
      break;
    case FORGE_REPLAYED_NONCE:
    default:
      break;
    }
  json_node_set_object (node, claims);
  claims_text = json_to_string (node, FALSE);
  token = sign_token (claims_text, alg, kid, key);
  json_object_set_string_member (wrapper, "id_token", token);
  json_node_set_object (wrapper_node, wrapper);
  body = json_to_string (wrapper_node, FALSE);
  hg_test_oidc_provider_admin (fx->op, "/admin/next-id-token", body);

  answer = browse (fx, "GET", callback, NULL);
  g_assert_cmpuint (answer->status, ==, SOUP_STATUS_UNAUTHORIZED);
  g_assert_cmpstr (leg_error_code (answer), ==, "invalid-token");
  /* refused for the reason forged, said plainly */
  g_assert_nonnull (strstr (leg_error_message (answer), reasons[forgery]));
  g_assert_null (answer->cookie);
  assert_refusal_logged (fx, "invalid-token");
  if (other != NULL)
    cjose_jwk_release (other);
}

static void
test_replayed_state (Fixture *fx,
                     gconstpointer data)
{
  g_autofree gchar *callback = login_at_provider (fx, "anna", NULL);
  g_autoptr(Leg) first = browse (fx, "GET", callback, NULL);
  g_autoptr(Leg) again = NULL;
  g_autoptr(Leg) unasked = NULL;
  g_autofree gchar *made_up = NULL;

  g_test_summary ("A callback whose state was used already, or that no login is waiting for, "
                  "is refused and logged");
  g_assert_cmpuint (first->status, ==, SOUP_STATUS_OK);
  again = browse (fx, "GET", callback, NULL);
  g_assert_cmpuint (again->status, ==, SOUP_STATUS_BAD_REQUEST);
  g_assert_cmpstr (leg_error_code (again), ==, "no-pending-login");
  assert_refusal_logged (fx, "no-pending-login");

  made_up = hgd_test_daemon_uri (fx->td, "/api/v1/auth/oidc/callback?code=abc&state=made-up");
  unasked = browse (fx, "GET", made_up, NULL);
  g_assert_cmpuint (unasked->status, ==, SOUP_STATUS_BAD_REQUEST);
  g_assert_cmpstr (leg_error_code (unasked), ==, "no-pending-login");
  assert_refusal_logged (fx, "no-pending-login");
}

static void
test_jwks_broken (Fixture *fx,
                  gconstpointer data)
{
  const gchar *mode = data;
  g_autofree gchar *body = g_strdup_printf ("{\"mode\": \"%s\"}", mode);
  g_autoptr(Leg) answer = NULL;
  g_autoptr(Leg) later = NULL;

  g_test_summary ("While the provider's keys (JWKS) are down, too slow or garbage, nobody "
                  "logs in, the refusal says so and is logged; once they are back, logins work");
  hg_test_oidc_provider_admin (fx->op, "/admin/jwks", body);
  answer = login (fx, "anna");
  g_assert_cmpuint (answer->status, ==, SOUP_STATUS_BAD_GATEWAY);
  g_assert_cmpstr (leg_error_code (answer), ==, "idp-unavailable");
  g_assert_null (answer->cookie);
  assert_refusal_logged (fx, "idp-unavailable");

  hg_test_oidc_provider_admin (fx->op, "/admin/jwks", "{\"mode\": \"ok\"}");
  /* the keys are fetched again at most every 10 s */
  hg_test_run_for (10500);
  later = login (fx, "anna");
  g_assert_cmpuint (later->status, ==, SOUP_STATUS_OK);
}

static void
test_break_glass (Fixture *fx,
                  gconstpointer data)
{
  g_autoptr(Leg) refused = NULL;
  g_autoptr(HgdAccessEntry) entry = NULL;
  g_autoptr(HgdTestResponse) health = NULL;
  g_autofree gchar *start = hgd_test_daemon_uri (fx->td, "/api/v1/auth/oidc/login");
  JsonObject *idp;
  const gchar *token;

  g_test_summary ("With the provider unreachable (a home's uplink down), nobody logs in through "
                  "it; the fallback is a local municipal account (break-glass), which is "
                  "recorded as such in the access log and shown to IT in health");
  g_subprocess_send_signal (fx->op->process, SIGTERM);
  g_assert_true (g_subprocess_wait (fx->op->process, NULL, NULL));
  refused = browse (fx, "GET", start, NULL);
  g_assert_cmpuint (refused->status, ==, SOUP_STATUS_BAD_GATEWAY);
  g_assert_cmpstr (leg_error_code (refused), ==, "idp-unavailable");
  assert_refusal_logged (fx, "idp-unavailable");

  token = hgd_test_daemon_get_token (fx->td, HGD_ROLE_IT_ADMIN);
  entry = last_access_entry (fx);
  g_assert_cmpstr (entry->action, ==, "login");
  g_assert_nonnull (strstr (entry->detail, "\"method\":\"break-glass\""));
  assert_journaled (fx, "auth.break-glass", "role", "it-admin");

  health = hgd_test_daemon_request (fx->td, "GET", "/api/v1/health", token, NULL);
  g_assert_cmpuint (health->status, ==, SOUP_STATUS_OK);
  idp = json_object_get_object_member (json_object_get_object_member (health->json, "subsystems"),
                                       "identity-provider");
  g_assert_nonnull (idp);
  g_assert_cmpstr (json_object_get_string_member (idp, "status"), ==, "warning");
  g_test_message ("health: %s", json_object_get_string_member (idp, "message"));
  g_assert_nonnull (strstr (json_object_get_string_member (idp, "message"), "could not be fetched"));
  g_assert_nonnull (strstr (json_object_get_string_member (idp, "message"),
                            "1 break-glass login"));
}

static void
test_device (Fixture *fx,
             gconstpointer data)
{
  g_autoptr(HgdTestResponse) begin = NULL;
  g_autoptr(HgdTestResponse) waiting = NULL;
  g_autoptr(HgdTestResponse) done = NULL;
  g_autoptr(HgdTestResponse) again = NULL;
  g_autoptr(HgdTestResponse) session = NULL;
  g_autofree gchar *poll = NULL;
  g_autofree gchar *back = NULL;
  const gchar *device_code;
  const gchar *verify;

  g_test_summary ("A client without a browser (hemgatectl over SSH) logs in with the device "
                  "authorization grant: it gets a code for the user to enter at the provider, "
                  "waits, and then gets the gateway's session with the user's role, once");
  begin = hgd_test_daemon_request (fx->td, "POST", "/api/v1/auth/oidc/device", NULL, NULL);
  g_assert_cmpuint (begin->status, ==, SOUP_STATUS_OK);
  device_code = json_object_get_string_member (begin->json, "device_code");
  g_assert_nonnull (json_object_get_string_member (begin->json, "user_code"));
  g_assert_true (g_str_has_prefix (json_object_get_string_member (begin->json, "verification_uri"),
                                   fx->op->issuer));
  verify = json_object_get_string_member (begin->json, "verification_uri_complete");
  g_assert_nonnull (verify);
  poll = g_strdup_printf ("{\"device_code\": \"%s\"}", device_code);

  waiting = hgd_test_daemon_request (fx->td, "POST", "/api/v1/auth/oidc/device/token", NULL, poll);
  g_assert_cmpuint (waiting->status, ==, SOUP_STATUS_BAD_REQUEST);
  g_assert_cmpstr (hgd_test_response_error_code (waiting), ==, "authorization-pending");

  /* IT enters the code at the provider in a browser of their own, and logs in there */
  back = drive_provider (fx, verify, "ivar");
  g_assert_null (back);

  done = hgd_test_daemon_request (fx->td, "POST", "/api/v1/auth/oidc/device/token", NULL, poll);
  g_assert_cmpuint (done->status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (done->json, "role"), ==, "it-admin");
  g_assert_cmpstr (json_object_get_string_member (done->json, "subject"), ==, "ivar");
  session = session_of (fx, json_object_get_string_member (done->json, "token"));
  g_assert_cmpuint (session->status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (session->json, "role"), ==, "it-admin");

  again = hgd_test_daemon_request (fx->td, "POST", "/api/v1/auth/oidc/device/token", NULL, poll);
  g_assert_cmpuint (again->status, ==, SOUP_STATUS_BAD_REQUEST);
  g_assert_cmpstr (hgd_test_response_error_code (again), ==, "no-pending-login");
}

static void
test_plain_http_issuer (void)
{
  const gchar *overrides[] = {
    "oidc", "issuer", "http://idp.example-kommun.se/realms/staff",
    "oidc", "client-id", CLIENT_ID,
    "oidc", "redirect-uri", "https://gw.example-kommun.se/api/v1/auth/oidc/callback",
    NULL,
  };
  HgdTestDaemonOptions options = { .overrides = overrides };
  g_autoptr(HgdTestDaemon) td = NULL;
  g_autoptr(HgdTestResponse) login = NULL;

  g_test_summary ("An issuer reached over plain HTTP anywhere but this machine is refused: its "
                  "keys and tokens could be changed on the way");
  td = hgd_test_daemon_new (&options);
  login = hgd_test_daemon_request (td, "GET", "/api/v1/auth/oidc/login", NULL, NULL);
  g_assert_cmpuint (login->status, ==, SOUP_STATUS_NOT_FOUND);
  g_assert_cmpstr (hgd_test_response_error_code (login), ==, "oidc-not-configured");
}

static gboolean
session_has_ended (gpointer data)
{
  gpointer *args = data;
  g_autoptr(HgdTestResponse) session = session_of (args[0], args[1]);

  return session->status == SOUP_STATUS_UNAUTHORIZED;
}

static gboolean
session_is_renewed (gpointer data)
{
  gpointer *args = data;
  g_autoptr(HgdTestResponse) session = session_of (args[0], args[1]);

  return session->status == SOUP_STATUS_OK &&
         g_strcmp0 (json_object_get_string_member (session->json, "expires"), args[2]) != 0;
}

/* Asks once a second (each time a request to the gateway), for a minute at most. */
static void
wait_a_minute_for (HgTestCondition condition,
                   gpointer data)
{
  guint seconds = 0;

  while (!condition (data) && seconds < 60)
    {
      hg_test_run_for (1000);
      seconds++;
    }
  g_test_message ("waited about %u s", seconds);
  g_assert_true (condition (data));
}

static void
test_refresh (Fixture *fx,
              gconstpointer data)
{
  g_autoptr(Leg) anna = login (fx, "anna");
  g_autoptr(HgdAccessEntry) entry = NULL;
  const gchar *first_expiry;
  gpointer args[3];

  g_test_summary ("A session from the provider is renewed with its refresh token before its "
                  "ID token runs out, and ends once the provider no longer gives the user the "
                  "role (removed from the group between two requests)");
  g_assert_cmpuint (anna->status, ==, SOUP_STATUS_OK);
  first_expiry = json_object_get_string_member (anna->json, "expires");
  args[0] = fx;
  args[1] = anna->cookie;
  args[2] = (gpointer) first_expiry;
  /* 70 s tokens, renewed when less than 60 s are left */
  wait_a_minute_for (session_is_renewed, args);

  hg_test_oidc_provider_admin (fx->op, "/admin/users/anna",
                               "{\"name\": \"Anna Andersson\", \"groups\": [\"bibliotek\"]}");
  wait_a_minute_for (session_has_ended, args);
  entry = last_access_entry (fx);
  g_assert_cmpstr (entry->action, ==, "logout");
  g_assert_cmpstr (entry->actor, ==, "user:oidc:anna");
  g_assert_nonnull (strstr (entry->detail, "\"reason\":\"no-role\""));
}

static void
append_cb (GObject *source,
           GAsyncResult *result,
           gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (hgd_journal_append_finish (HGD_JOURNAL (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

/* A reading of the home's own device, in the personal journal as a plugin publishes it. */
static void
append_personal_reading (Fixture *fx,
                         const gchar *body)
{
  HgdJournal *journal = hgd_daemon_get_journal (fx->td->daemon, HG_DOMAIN_PERSONAL);
  g_autoptr(JsonObject) object = hg_json_parse_object (body, -1, 0, NULL);
  g_autoptr(HgEvent) event = NULL;
  gboolean done = FALSE;

  g_assert_nonnull (object);
  event = hg_event_new ("sensor.reading", object);
  hg_event_set_source (event, "plugin:test");
  hgd_journal_append_async (journal, event, NULL, NULL, append_cb, &done);
  hg_test_wait_until (&done, 30);
}

/* The municipal journal's event of @type about alarm @ref (its body), or NULL. */
static JsonObject *
alarm_step (Fixture *fx,
            const gchar *type,
            const gchar *ref)
{
  HgdJournal *journal = hgd_daemon_get_journal (fx->td->daemon, HG_DOMAIN_MUNICIPAL);
  g_autoptr(GPtrArray) events = hgd_journal_query_events (journal, 0, 0, NULL);

  for (guint i = 0; events != NULL && i < events->len; i++)
    {
      HgEvent *event = g_ptr_array_index (events, i);
      JsonObject *body = hg_event_get_body (event);

      if (g_strcmp0 (hg_event_get_event_type (event), type) == 0 && body != NULL &&
          g_strcmp0 (json_object_get_string_member_with_default (body, "ref", NULL), ref) == 0)
        return json_object_ref (body);
    }
  return NULL;
}

static void
test_identity_on_steps (Fixture *fx,
                        gconstpointer data)
{
  const gchar *resident = hgd_test_daemon_get_token (fx->td, HGD_ROLE_RESIDENT);
  g_autoptr(Leg) anna = login (fx, "anna");
  g_autoptr(HgdTestResponse) raised = NULL;
  g_autoptr(HgdTestResponse) acknowledged = NULL;
  g_autoptr(HgdTestResponse) closed = NULL;
  g_autoptr(HgdTestResponse) events = NULL;
  g_autoptr(HgdTestResponse) grant = NULL;
  g_autoptr(HgdTestResponse) sensors = NULL;
  g_autoptr(HgdTestResponse) looked = NULL;
  g_autoptr(JsonObject) step = NULL;
  g_autoptr(JsonObject) close_step = NULL;
  g_autofree gchar *path = NULL;
  JsonArray *array;
  JsonObject *entry = NULL;
  JsonObject *seen = NULL;
  const gchar *ref;

  g_test_summary ("A staff member logged in through the provider acts on an alarm and reads "
                  "the resident's shared readings: the alarm's steps (journal and event list) "
                  "and the resident's access log name them as the provider does, subject, "
                  "name and IdP; a local login's steps stay as they were; IT's secret.set "
                  "in the journal names them too");
  g_assert_cmpuint (anna->status, ==, SOUP_STATUS_OK);

  /* the resident asks for help; Anna acknowledges and closes it */
  raised = hgd_test_daemon_request (fx->td, "POST", "/api/v1/alarms", resident,
                                    "{\"type\":\"assistance\"}");
  g_assert_cmpuint (raised->status, ==, SOUP_STATUS_CREATED);
  ref = json_object_get_string_member (raised->json, "ref");
  path = g_strdup_printf ("/api/v1/alarms/%s/transitions", ref);
  acknowledged = hgd_test_daemon_request (fx->td, "POST", path, anna->cookie,
                                          "{\"state\":\"acknowledged\"}");
  g_assert_cmpuint (acknowledged->status, ==, SOUP_STATUS_OK);
  closed = hgd_test_daemon_request (fx->td, "POST", path,
                                    hgd_test_daemon_get_token (fx->td, HGD_ROLE_STAFF),
                                    "{\"state\":\"closed\"}");
  g_assert_cmpuint (closed->status, ==, SOUP_STATUS_OK);

  step = alarm_step (fx, "alarm.acknowledged", ref);
  g_assert_nonnull (step);
  g_assert_cmpstr (json_object_get_string_member (step, "who"), ==, "user:oidc:anna");
  g_assert_cmpstr (json_object_get_string_member_with_default (step, "who_name", NULL), ==,
                   "Anna Andersson");
  g_assert_cmpstr (json_object_get_string_member_with_default (step, "who_issuer", NULL), ==,
                   fx->op->issuer);
  /* a local staff account has no provider to name */
  close_step = alarm_step (fx, "alarm.closed", ref);
  g_assert_nonnull (close_step);
  g_assert_false (json_object_has_member (close_step, "who_name"));
  g_assert_false (json_object_has_member (close_step, "who_issuer"));

  /* the steps as staff read them, which the alarm's history in the UI is made of */
  events = hgd_test_daemon_request (fx->td, "GET", "/api/v1/events", anna->cookie, NULL);
  g_assert_cmpuint (events->status, ==, SOUP_STATUS_OK);
  array = json_object_get_array_member (events->json, "events");
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *event = json_array_get_object_element (array, i);

      if (g_strcmp0 (json_object_get_string_member (event, "type"), "alarm.acknowledged") == 0)
        seen = json_object_get_object_member (event, "body");
    }
  g_assert_nonnull (seen);
  g_assert_cmpstr (json_object_get_string_member_with_default (seen, "who_name", NULL), ==,
                   "Anna Andersson");
  g_assert_cmpstr (json_object_get_string_member_with_default (seen, "who_issuer", NULL), ==,
                   fx->op->issuer);

  /* the resident shares a device's readings; Anna looks at them */
  grant = hgd_test_daemon_request (fx->td, "POST", "/api/v1/grants", resident,
                                   "{\"kind\": \"share-readings\", "
                                   "\"scope\": {\"devices\": [\"living-temp\"]}}");
  g_assert_cmpuint (grant->status, ==, SOUP_STATUS_CREATED);
  append_personal_reading (fx, "{\"device\":\"living-temp\",\"domain\":\"personal\","
                               "\"kind\":\"temperature\",\"value\":21.5,\"unit\":\"°C\"}");
  sensors = hgd_test_daemon_request (fx->td, "GET", "/api/v1/sensors", anna->cookie, NULL);
  g_assert_cmpuint (sensors->status, ==, SOUP_STATUS_OK);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (sensors->json,
                                                                         "devices")), ==, 1);

  /* Who has looked: the resident's access log names her as the provider does */
  looked = hgd_test_daemon_request (fx->td, "GET", "/api/v1/access-log", resident, NULL);
  g_assert_cmpuint (looked->status, ==, SOUP_STATUS_OK);
  array = json_object_get_array_member (looked->json, "entries");
  g_assert_cmpuint (json_array_get_length (array), >, 0);
  entry = json_array_get_object_element (array, 0); /* newest first */
  g_assert_cmpstr (json_object_get_string_member (entry, "action"), ==, "read.personal");
  g_assert_cmpstr (json_object_get_string_member (entry, "actor"), ==, "user:oidc:anna");
  g_assert_cmpstr (json_object_get_string_member (entry, "actor_name"), ==, "Anna Andersson");
  g_assert_cmpstr (json_object_get_string_member_with_default (entry, "actor_issuer", NULL), ==,
                   fx->op->issuer);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (entry, "detail"),
                                                  "issuer"),
                   ==, fx->op->issuer);

  /* IT from the provider: a secret set is journaled with their name and IdP too */
  {
    g_autoptr(Leg) ivar = login (fx, "ivar");
    g_autoptr(HgdTestResponse) set = NULL;

    g_assert_cmpuint (ivar->status, ==, SOUP_STATUS_OK);
    set = hgd_test_daemon_request (fx->td, "PUT", "/api/v1/secrets/core/bench-note", ivar->cookie,
                                   "{\"value\": \"not really secret\"}");
    g_assert_cmpuint (set->status, ==, SOUP_STATUS_NO_CONTENT);
    assert_journaled (fx, "secret.set", "by_name", "Ivar Isaksson");
    assert_journaled (fx, "secret.set", "by_issuer", fx->op->issuer);
    assert_journaled (fx, "secret.set", "by", "user:oidc:ivar");
  }
}

/* Stops the gateway and starts it again on the same state directory and port. */
static void
restart_daemon (Fixture *fx)
{
  g_autofree gchar *state_dir = g_strdup (fx->td->state_dir);
  HgdTestDaemonOptions options = { .state_dir = state_dir,
                                   .overrides = (const gchar *const *) fx->overrides };

  g_clear_pointer (&fx->td, hgd_test_daemon_free);
  fx->td = hgd_test_daemon_new (&options);
}

static void
test_restart (Fixture *fx,
              gconstpointer data)
{
  g_autoptr(Leg) anna = login (fx, "anna");
  g_autofree gchar *local = NULL;
  g_autoptr(HgdTestResponse) before = NULL;
  g_autoptr(HgdTestResponse) after = NULL;
  g_autoptr(HgdTestResponse) local_after = NULL;
  g_autoptr(Leg) again = NULL;
  g_autoptr(HgdTestResponse) renewed = NULL;

  g_test_summary ("A session from the provider lives in the gateway's memory only (README "
                  "says why): after a restart it is refused, while a local session is kept, "
                  "and the staff member logs in again through the provider");
  g_assert_cmpuint (anna->status, ==, SOUP_STATUS_OK);
  local = g_strdup (hgd_test_daemon_get_token (fx->td, HGD_ROLE_RESIDENT));
  before = session_of (fx, anna->cookie);
  g_assert_cmpuint (before->status, ==, SOUP_STATUS_OK);

  restart_daemon (fx);
  after = session_of (fx, anna->cookie);
  g_assert_cmpuint (after->status, ==, SOUP_STATUS_UNAUTHORIZED);
  local_after = session_of (fx, local);
  g_assert_cmpuint (local_after->status, ==, SOUP_STATUS_OK);

  again = login (fx, "anna");
  g_assert_cmpuint (again->status, ==, SOUP_STATUS_OK);
  renewed = session_of (fx, again->cookie);
  g_assert_cmpuint (renewed->status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (renewed->json, "role"), ==, "staff");
}

int
main (int argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(path, func, data)                                                                      \
  g_test_add ("/oidc/" path, Fixture, data, fixture_set_up, func, fixture_tear_down)
  ADD ("login/staff-and-it-admin-roles", test_roles, NULL);
  ADD ("login/no-mapped-group-no-session", test_no_role, NULL);
  ADD ("identity/on-alarm-steps-and-access-log", test_identity_on_steps, NULL);
  ADD ("restart/sessions-end-local-ones-kept", test_restart, NULL);
  ADD ("logout/backchannel-ends-session", test_backchannel_logout, NULL);
  ADD ("logout/rp-initiated", test_rp_logout, NULL);
  ADD ("bad-input/expired", test_forged, GINT_TO_POINTER (FORGE_EXPIRED));
  ADD ("bad-input/not-yet-valid", test_forged, GINT_TO_POINTER (FORGE_NOT_YET_VALID));
  ADD ("bad-input/wrong-audience", test_forged, GINT_TO_POINTER (FORGE_AUDIENCE));
  ADD ("bad-input/wrong-issuer", test_forged, GINT_TO_POINTER (FORGE_ISSUER));
  ADD ("bad-input/alg-none", test_forged, GINT_TO_POINTER (FORGE_ALG_NONE));
  ADD ("bad-input/hs256-with-public-key", test_forged, GINT_TO_POINTER (FORGE_HS256_PUBLIC_KEY));
  ADD ("bad-input/unknown-kid", test_forged, GINT_TO_POINTER (FORGE_UNKNOWN_KID));
  ADD ("bad-input/replayed-nonce", test_forged, GINT_TO_POINTER (FORGE_REPLAYED_NONCE));
  ADD ("bad-input/replayed-state-and-no-pending-login", test_replayed_state, NULL);
  ADD ("bad-input/jwks-down", test_jwks_broken, "down");
  ADD ("bad-input/jwks-slow", test_jwks_broken, "slow");
  ADD ("bad-input/jwks-garbage", test_jwks_broken, "garbage");
  ADD ("offline/break-glass-recorded-and-shown", test_break_glass, NULL);
  ADD ("device/it-admin-logs-in-with-a-code", test_device, NULL);
  g_test_add_func ("/oidc/config/plain-http-issuer-refused", test_plain_http_issuer);
  ADD ("refresh/renewed-then-ended-when-removed-from-group", test_refresh, SHORT_ID_TOKENS);
#undef ADD
  return g_test_run ();
}
