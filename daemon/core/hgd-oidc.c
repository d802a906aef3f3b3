/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdOidc: an OpenID Connect relying party (authorization code flow with PKCE S256, state
 * and nonce, a confidential client) for the municipal roles. The provider's metadata comes
 * from its discovery document, its keys from its JWKS; every signature is checked by cjose,
 * and only RS256, PS256 and ES256 are taken (never `none` or an HMAC). */
#include "config.h"

#include <cjose/cjose.h>
#include <hemgate-plugin.h>
#include <libsoup/soup.h>
#include <sodium.h>
#include <string.h>

#include "hgd-oidc.h"

#define RANDOM_BYTES 32
#define PENDING_LIFETIME (G_GINT64_CONSTANT (600) * G_USEC_PER_SEC) /* a login's 10 minutes */
#define PENDING_MAX 256              /* logins begun and not yet back: the oldest go first */
#define KEYS_REFETCH_MIN (G_GINT64_CONSTANT (10) * G_USEC_PER_SEC) /* unknown kid: refetch */
#define DISCOVERY_LIFETIME (G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC)
#define MAX_DOCUMENT_BYTES (256 * 1024)
#define MAX_TOKEN_BYTES (16 * 1024)
#define BACKCHANNEL_EVENT "http://schemas.openid.net/event/backchannel-logout"

G_DEFINE_QUARK (hgd-oidc-error-quark, hgd_oidc_error)

/* A device login begun (RFC 8628, for hemgatectl): the client holds our own code for it,
 * never the provider's. */
typedef struct
{
  gchar *device_code; /* (owned) the provider's */
  gint64 expires;     /* monotonic */
} Device;

/* A login begun: its state is the key; single use, PENDING_LIFETIME at most. */
typedef struct
{
  gchar *nonce;    /* (owned) */
  gchar *verifier; /* (owned) the PKCE code verifier */
  gint64 created;  /* monotonic */
} Pending;

struct _HgdOidc
{
  GObject parent_instance;
  HgdSecrets *secrets;   /* (owned) (nullable) */
  gchar *issuer;         /* (owned) (nullable) when not configured */
  gchar *client_id;      /* (owned) */
  gchar *redirect_uri;   /* (owned) */
  gchar *role_claim;     /* (owned) */
  gchar *display_name;   /* (owned) */
  GStrv role_values[HGD_ROLE_LAST]; /* (owned) (nullable) claim values giving each role */
  gint64 leeway;         /* usec */
  SoupSession *session;  /* (owned) */
  JsonObject *discovery; /* (owned) (nullable) */
  gint64 discovery_time; /* monotonic */
  GPtrArray *keys;       /* (owned) cjose_jwk_t* of the JWKS */
  gint64 keys_time;      /* monotonic time of the last fetch; 0 for never */
  GHashTable *pending;   /* (owned) state → Pending */
  GHashTable *devices;   /* (owned) our device code → Device */
};

G_DEFINE_TYPE (HgdOidc, hgd_oidc, G_TYPE_OBJECT)

/* The municipal roles the provider may give, in the order a user's claims are matched. */
static const HgdRole mapped_roles[] = { HGD_ROLE_IT_ADMIN, HGD_ROLE_STAFF, HGD_ROLE_SERVICE };

static void
jwk_free (gpointer jwk)
{
  cjose_jwk_release (jwk);
}

/* A member of @object of the type wanted, or %NULL. */
static JsonArray *
object_get_array (JsonObject *object,
                  const gchar *member)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, member) : NULL;
  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static JsonObject *
object_get_object (JsonObject *object,
                   const gchar *member)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, member) : NULL;
  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static void
device_free (Device *device)
{
  g_free (device->device_code);
  g_free (device);
}

static void
pending_free (Pending *pending)
{
  g_free (pending->nonce);
  g_free (pending->verifier);
  g_free (pending);
}

/**
 * hgd_oidc_login_free:
 * @login: (transfer full): an #HgdOidcLogin
 */
void
hgd_oidc_login_free (HgdOidcLogin *login)
{
  if (login == NULL)
    return;
  g_free (login->issuer);
  g_free (login->subject);
  g_free (login->display_name);
  g_free (login->sid);
  g_free (login->id_token);
  g_free (login->refresh_token);
  g_free (login);
}

static void
hgd_oidc_finalize (GObject *object)
{
  HgdOidc *self = HGD_OIDC (object);

  g_clear_object (&self->secrets);
  g_free (self->issuer);
  g_free (self->client_id);
  g_free (self->redirect_uri);
  g_free (self->role_claim);
  g_free (self->display_name);
  for (guint i = 0; i < HGD_ROLE_LAST; i++)
    g_strfreev (self->role_values[i]);
  g_object_unref (self->session);
  g_clear_pointer (&self->discovery, json_object_unref);
  g_ptr_array_unref (self->keys);
  g_hash_table_unref (self->pending);
  g_hash_table_unref (self->devices);
  G_OBJECT_CLASS (hgd_oidc_parent_class)->finalize (object);
}

static void
hgd_oidc_class_init (HgdOidcClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hgd_oidc_finalize;
}

static void
hgd_oidc_init (HgdOidc *self)
{
  self->keys = g_ptr_array_new_with_free_func (jwk_free);
  self->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) pending_free);
  self->devices = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) device_free);
}

/**
 * hgd_oidc_new:
 * @config: the configuration; its `[oidc]` group
 * @secrets: (nullable): the secret store, which holds the client secret
 *   (%HGD_OIDC_CLIENT_SECRET_KEY of owner `core` in the municipal domain)
 *
 * Returns: (transfer full): the relying party; not configured without `[oidc] issuer`
 */
HgdOidc *
hgd_oidc_new (HgdConfig *config,
              HgdSecrets *secrets)
{
  HgdOidc *self = g_object_new (HGD_TYPE_OIDC, NULL);
  const gchar *issuer = hgd_config_get_string (config, "oidc", "issuer");
  const gchar *name = hgd_config_get_string (config, "oidc", "display-name");

  self->secrets = secrets != NULL ? g_object_ref (secrets) : NULL;
  if (issuer != NULL && issuer[0] != '\0')
    {
      /* the issuer as the provider states it, without a trailing slash for the paths */
      self->issuer = g_strdup (issuer);
    }
  self->client_id = g_strdup (hgd_config_get_string (config, "oidc", "client-id"));
  self->redirect_uri = g_strdup (hgd_config_get_string (config, "oidc", "redirect-uri"));
  self->role_claim = g_strdup (hgd_config_get_string (config, "oidc", "role-claim"));
  self->display_name = g_strdup (name != NULL && name[0] != '\0' ? name : issuer);
  self->role_values[HGD_ROLE_STAFF] = hgd_config_get_strv (config, "oidc", "staff");
  self->role_values[HGD_ROLE_IT_ADMIN] = hgd_config_get_strv (config, "oidc", "it-admin");
  self->role_values[HGD_ROLE_SERVICE] = hgd_config_get_strv (config, "oidc", "service");
  self->leeway = hgd_config_get_int (config, "oidc", "leeway") * G_USEC_PER_SEC;
  self->session = soup_session_new_with_options (
      "timeout", (guint) hgd_config_get_int (config, "oidc", "timeout"),
      "idle-timeout", (guint) 60, "user-agent", "hemgated/" PACKAGE_VERSION,
      /* straight to the provider: a system daemon has no desktop proxy settings */
      "proxy-resolver", NULL, NULL);
  return self;
}

/**
 * hgd_oidc_is_configured:
 * @self: an #HgdOidc
 *
 * Returns: whether `[oidc]` names an issuer, a client and a redirect URI
 */
gboolean
hgd_oidc_is_configured (HgdOidc *self)
{
  g_return_val_if_fail (HGD_IS_OIDC (self), FALSE);
  return self->issuer != NULL && self->client_id[0] != '\0' && self->redirect_uri[0] != '\0';
}

/* returns %TRUE, having ended @task with %HGD_OIDC_ERROR_NOT_CONFIGURED, when there is no [oidc] */
static gboolean
return_if_not_configured (HgdOidc *self,
                          GTask *task)
{
  if (hgd_oidc_is_configured (self))
    return FALSE;
  g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_NOT_CONFIGURED, "%s",
                           "no identity provider is configured ([oidc])");
  return TRUE;
}

const gchar *
hgd_oidc_get_issuer (HgdOidc *self)
{
  g_return_val_if_fail (HGD_IS_OIDC (self), NULL);
  return self->issuer;
}

/* What the login button says: "Log in with <display name>". */
const gchar *
hgd_oidc_get_display_name (HgdOidc *self)
{
  g_return_val_if_fail (HGD_IS_OIDC (self), NULL);
  return self->display_name;
}

static gchar *
base64url (const guint8 *data,
           gsize len)
{
  gsize out_len = sodium_base64_ENCODED_LEN (len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  gchar *out = g_malloc (out_len);

  sodium_bin2base64 (out, out_len, data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out;
}

static gchar *
random_string (void)
{
  guint8 raw[RANDOM_BYTES];

  randombytes_buf (raw, sizeof raw);
  return base64url (raw, sizeof raw);
}

/* What a login asks the provider for. */
static const gchar *
scope_for (HgdOidc *self)
{
  return g_strcmp0 (self->role_claim, "groups") == 0 ? "openid profile groups" : "openid profile";
}

/* Documents from the provider --------------------------------------------------------- */

static void
fetch_json_cb (GObject *source,
               GAsyncResult *result,
               gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  SoupMessage *msg = g_task_get_task_data (task);
  const gchar *what = g_object_get_data (G_OBJECT (msg), "hgd-oidc-what");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                              &error);
  JsonObject *object;
  guint status = soup_message_get_status (msg);

  if (body == NULL)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_UNAVAILABLE,
                               "the identity provider's %s could not be fetched: %s", what,
                               error->message);
      return;
    }
  /* the token and device endpoints answer their errors as JSON with 400 or 401 */
  gboolean json_errors = g_str_equal (what, "token endpoint") ||
                         g_str_equal (what, "device authorization endpoint");

  if (status != SOUP_STATUS_OK && !(json_errors && (status == 400 || status == 401)))
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_UNAVAILABLE,
                               "the identity provider's %s answered HTTP %u", what, status);
      return;
    }
  object = hg_json_parse_object (g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                                 MAX_DOCUMENT_BYTES, &error);
  if (object == NULL)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_UNAVAILABLE,
                               "the identity provider's %s is not a JSON object: %s", what,
                               error->message);
      return;
    }
  if (status != SOUP_STATUS_OK)
    {
      const gchar *code = json_object_get_string_member_with_default (object, "error", NULL);

      /* RFC 8628, 3.5: the user has not yet approved the device login */
      if (g_strcmp0 (code, "authorization_pending") == 0 || g_strcmp0 (code, "slow_down") == 0)
        g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_PENDING,
                                 "the login waits for the user at the identity provider (%s)",
                                 code);
      else
        g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_REFUSED,
                                 "the identity provider's %s refused: %s", what,
                                 code != NULL ? code : "(no error given)");
      json_object_unref (object);
      return;
    }
  g_task_return_pointer (task, object, (GDestroyNotify) json_object_unref);
}

/* Sends @msg (taking it) and parses the answer as one JSON object; @what names it in
 * errors. */
static void
fetch_json_async (HgdOidc *self,
                  SoupMessage *msg,
                  const gchar *what,
                  GCancellable *cancellable,
                  GAsyncReadyCallback callback,
                  gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_object_set_data (G_OBJECT (msg), "hgd-oidc-what", (gpointer) what);
  g_task_set_task_data (task, msg, g_object_unref);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept",
                                "application/json");
  soup_session_send_and_read_async (self->session, msg, G_PRIORITY_DEFAULT, cancellable,
                                    fetch_json_cb, task);
}

static JsonObject *
fetch_json_finish (GAsyncResult *result,
                   GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static gboolean
discovery_get_uri (JsonObject *discovery,
                   const gchar *member,
                   const gchar **uri,
                   GError **error)
{
  const gchar *value = json_object_get_string_member_with_default (discovery, member, NULL);

  if (value == NULL || !g_uri_is_valid (value, G_URI_FLAGS_NONE, NULL))
    {
      g_set_error (error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_UNAVAILABLE,
                   "the identity provider's discovery document has no valid '%s'", member);
      return FALSE;
    }
  *uri = value;
  return TRUE;
}

static void
discovery_cb (GObject *source,
              GAsyncResult *result,
              gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  HgdOidc *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) discovery = fetch_json_finish (result, &error);
  const gchar *uri;

  if (discovery == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (g_strcmp0 (json_object_get_string_member_with_default (discovery, "issuer", NULL),
                 self->issuer) != 0)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_UNAVAILABLE,
                               "the discovery document names another issuer than %s",
                               self->issuer);
      return;
    }
  if (!discovery_get_uri (discovery, "authorization_endpoint", &uri, &error) ||
      !discovery_get_uri (discovery, "token_endpoint", &uri, &error) ||
      !discovery_get_uri (discovery, "jwks_uri", &uri, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_clear_pointer (&self->discovery, json_object_unref);
  self->discovery = g_steal_pointer (&discovery);
  self->discovery_time = g_get_monotonic_time ();
  g_task_return_boolean (task, TRUE);
}

static gboolean
issuer_transport_is_safe (GUri *uri)
{
  const gchar *host = g_uri_get_host (uri);
  g_autoptr(GInetAddress) address = host != NULL ? g_inet_address_new_from_string (host) : NULL;

  if (g_strcmp0 (g_uri_get_scheme (uri), "https") == 0)
    return TRUE;
  return g_strcmp0 (g_uri_get_scheme (uri), "http") == 0 &&
         (g_strcmp0 (host, "localhost") == 0 ||
          (address != NULL && g_inet_address_get_is_loopback (address)));
}

/* The provider's metadata (/.well-known/openid-configuration), fetched once an hour. */
static void
ensure_discovery_async (HgdOidc *self,
                        GCancellable *cancellable,
                        GAsyncReadyCallback callback,
                        gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autofree gchar *uri = NULL;
  SoupMessage *msg;

  if (self->discovery != NULL &&
      g_get_monotonic_time () - self->discovery_time < DISCOVERY_LIFETIME)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  uri = g_strconcat (self->issuer, g_str_has_suffix (self->issuer, "/") ? "" : "/",
                     ".well-known/openid-configuration", NULL);
  msg = soup_message_new ("GET", uri);
  if (msg == NULL)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_NOT_CONFIGURED,
                               "[oidc] issuer is not a valid URL");
      return;
    }
  /* the provider's keys and tokens come over TLS; plain HTTP only on this machine (tests) */
  if (!issuer_transport_is_safe (soup_message_get_uri (msg)))
    {
      g_object_unref (msg);
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_NOT_CONFIGURED,
                               "[oidc] issuer must be an https URL (http only on the loopback)");
      return;
    }
  fetch_json_async (self, msg, "discovery document", cancellable, discovery_cb,
                    g_steal_pointer (&task));
}

static gboolean
ensure_finish (GAsyncResult *result,
               GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
keys_cb (GObject *source,
         GAsyncResult *result,
         gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  HgdOidc *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) jwks = fetch_json_finish (result, &error);
  g_autoptr(GPtrArray) keys = NULL;
  JsonArray *array;

  if (jwks == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  array = object_get_array (jwks, "keys");
  keys = g_ptr_array_new_with_free_func (jwk_free);
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      g_autofree gchar *text = NULL;
      const gchar *use;
      cjose_jwk_t *jwk;
      cjose_err err;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      use = json_object_get_string_member_with_default (json_node_get_object (node), "use",
                                                        "sig");
      if (!g_str_equal (use, "sig"))
        continue;
      text = json_to_string (node, FALSE);
      jwk = cjose_jwk_import (text, strlen (text), &err);
      if (jwk == NULL)
        {
          g_debug ("a key of the JWKS is skipped: %s", err.message);
          continue;
        }
      g_ptr_array_add (keys, jwk);
    }
  if (keys->len == 0)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_UNAVAILABLE,
                               "the identity provider's keys (JWKS) hold no usable key");
      return;
    }
  g_ptr_array_unref (self->keys);
  self->keys = g_steal_pointer (&keys);
  g_task_return_boolean (task, TRUE);
}

/* Fetches the provider's keys anew; at most once in KEYS_REFETCH_MIN (a kid nobody knows
 * must not make us hammer the provider). */
static void
refresh_keys_async (HgdOidc *self,
                    GCancellable *cancellable,
                    GAsyncReadyCallback callback,
                    gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  const gchar *uri = json_object_get_string_member (self->discovery, "jwks_uri");
  gint64 now = g_get_monotonic_time ();

  if (self->keys_time != 0 && now - self->keys_time < KEYS_REFETCH_MIN && self->keys->len == 0)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_UNAVAILABLE,
                               "the identity provider's keys (JWKS) could not be fetched a "
                               "moment ago; the next try is in at most %d s",
                               (gint) (KEYS_REFETCH_MIN / G_USEC_PER_SEC));
      return;
    }
  if (self->keys_time != 0 && now - self->keys_time < KEYS_REFETCH_MIN)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_INVALID_TOKEN,
                               "the token's key is not among the identity provider's keys "
                               "(unknown kid), and they were fetched less than %d s ago",
                               (gint) (KEYS_REFETCH_MIN / G_USEC_PER_SEC));
      return;
    }
  self->keys_time = now;
  fetch_json_async (self, soup_message_new ("GET", uri), "keys (JWKS)", cancellable, keys_cb,
                    g_steal_pointer (&task));
}

/* Tokens ---------------------------------------------------------------------------------- */

static gboolean
alg_is_allowed (const gchar *alg,
                cjose_jwk_kty_t *kty)
{
  if (g_strcmp0 (alg, CJOSE_HDR_ALG_RS256) == 0 || g_strcmp0 (alg, CJOSE_HDR_ALG_PS256) == 0)
    {
      *kty = CJOSE_JWK_KTY_RSA;
      return TRUE;
    }
  if (g_strcmp0 (alg, CJOSE_HDR_ALG_ES256) == 0)
    {
      *kty = CJOSE_JWK_KTY_EC;
      return TRUE;
    }
  return FALSE;
}

/* Checks @compact's signature against the provider's keys and returns its claims.
 * @kid_unknown is set when only the key was missing (the caller may refetch the keys). */
static JsonObject *
verify_signature (HgdOidc *self,
                  const gchar *what,
                  const gchar *compact,
                  gboolean *kid_unknown,
                  GError **error)
{
  cjose_jws_t *jws;
  cjose_header_t *header;
  cjose_jwk_kty_t kty;
  cjose_err err;
  const gchar *alg;
  const gchar *kid;
  const cjose_jwk_t *key = NULL;
  guint8 *plaintext = NULL;
  size_t plaintext_len = 0;
  JsonObject *claims = NULL;
  g_autoptr(GError) local_error = NULL;

  *kid_unknown = FALSE;
  if (strlen (compact) > MAX_TOKEN_BYTES)
    {
      g_set_error (error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_INVALID_TOKEN,
                   "the %s is longer than %d bytes", what, MAX_TOKEN_BYTES);
      return NULL;
    }
  jws = cjose_jws_import (compact, strlen (compact), &err);
  if (jws == NULL)
    {
      g_set_error (error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_INVALID_TOKEN,
                   "the %s is not a signed JWT: %s", what, err.message);
      return NULL;
    }
  header = cjose_jws_get_protected (jws);
  alg = cjose_header_get (header, CJOSE_HDR_ALG, &err);
  kid = cjose_header_get (header, CJOSE_HDR_KID, &err);
  if (!alg_is_allowed (alg, &kty))
    {
      g_set_error (error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_INVALID_TOKEN,
                   "the %s is signed with algorithm '%s'; only RS256, PS256 and ES256 are "
                   "accepted", what, alg != NULL ? alg : "(none)");
      cjose_jws_release (jws);
      return NULL;
    }
  /* the key the header names; without a kid, the provider's only key of the kind */
  for (guint i = 0, n = 0; i < self->keys->len; i++)
    {
      const cjose_jwk_t *candidate = g_ptr_array_index (self->keys, i);

      if (cjose_jwk_get_kty (candidate, &err) != kty)
        continue;
      if (kid != NULL && g_strcmp0 (cjose_jwk_get_kid (candidate, &err), kid) == 0)
        {
          key = candidate;
          break;
        }
      if (kid == NULL)
        key = ++n == 1 ? candidate : NULL;
    }
  if (key == NULL)
    {
      *kid_unknown = TRUE;
      g_set_error (error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_INVALID_TOKEN,
                   "the %s names a key the identity provider does not have (unknown kid "
                   "'%s')", what,
                   kid != NULL ? kid : "(none)");
      cjose_jws_release (jws);
      return NULL;
    }
  if (!cjose_jws_verify (jws, key, &err))
    {
      g_set_error (error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_INVALID_TOKEN,
                   "the %s's signature is not valid: %s", what, err.message);
      cjose_jws_release (jws);
      return NULL;
    }
  if (cjose_jws_get_plaintext (jws, &plaintext, &plaintext_len, &err))
    claims = hg_json_parse_object ((const gchar *) plaintext, plaintext_len, MAX_TOKEN_BYTES,
                                   &local_error);
  cjose_jws_release (jws);
  if (claims == NULL)
    g_set_error (error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_INVALID_TOKEN,
                 "the %s's claims are not a JSON object", what);
  return claims;
}

static gboolean
get_time_claim (JsonObject *claims,
                const gchar *name,
                gboolean required,
                gint64 *value,
                GError **error)
{
  JsonNode *node = json_object_get_member (claims, name);

  if (node == NULL && !required)
    return TRUE;
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      (json_node_get_value_type (node) != G_TYPE_INT64 &&
       json_node_get_value_type (node) != G_TYPE_DOUBLE))
    {
      g_set_error (error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_INVALID_TOKEN,
                   "the token's '%s' is missing or not a number", name);
      return FALSE;
    }
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    *value = json_node_get_int (node);
  else
    *value = (gint64) json_node_get_double (node);
  if (*value < 0 || *value > G_MAXINT64 / G_USEC_PER_SEC)
    {
      g_set_error (error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_INVALID_TOKEN,
                   "the token's '%s' is out of range", name);
      return FALSE;
    }
  *value *= G_USEC_PER_SEC;
  return TRUE;
}

/* What every token from the provider must say: its issuer, for us, and its times. */
static gboolean
check_common_claims (HgdOidc *self,
                     JsonObject *claims,
                     gboolean exp_required,
                     gint64 *expires,
                     GError **error)
{
  const gchar *iss = json_object_get_string_member_with_default (claims, "iss", NULL);
  JsonNode *aud = json_object_get_member (claims, "aud");
  gboolean for_us = FALSE;
  gint64 now = g_get_real_time ();
  gint64 exp = 0;
  gint64 nbf = 0;
  gint64 iat = 0;

  if (g_strcmp0 (iss, self->issuer) != 0)
    {
      g_set_error (error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_INVALID_TOKEN,
                   "the token is from another issuer (%s), not %s", iss != NULL ? iss : "none",
                   self->issuer);
      return FALSE;
    }
  if (aud != NULL && JSON_NODE_HOLDS_VALUE (aud))
    for_us = g_strcmp0 (json_node_get_string (aud), self->client_id) == 0;
  else if (aud != NULL && JSON_NODE_HOLDS_ARRAY (aud))
    {
      JsonArray *array = json_node_get_array (aud);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *element = json_array_get_element (array, i);
          if (JSON_NODE_HOLDS_VALUE (element) &&
              g_strcmp0 (json_node_get_string (element), self->client_id) == 0)
            for_us = TRUE;
        }
      /* several audiences: the party it was issued to must be us */
      if (for_us && json_array_get_length (array) > 1 &&
          g_strcmp0 (json_object_get_string_member_with_default (claims, "azp", NULL),
                     self->client_id) != 0)
        for_us = FALSE;
    }
  if (!for_us)
    {
      g_set_error (error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_INVALID_TOKEN, "%s",
                   "the token is for another audience, not this gateway's client id");
      return FALSE;
    }
  if (!get_time_claim (claims, "exp", exp_required, &exp, error) ||
      !get_time_claim (claims, "iat", TRUE, &iat, error) ||
      !get_time_claim (claims, "nbf", FALSE, &nbf, error))
    return FALSE;
  if (exp_required && exp + self->leeway <= now)
    {
      g_set_error (error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_INVALID_TOKEN, "%s",
                   "the token has expired");
      return FALSE;
    }
  if (nbf - self->leeway > now || iat - self->leeway > now)
    {
      g_set_error (error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_INVALID_TOKEN, "%s",
                   "the token is not yet valid (nbf or iat in the future)");
      return FALSE;
    }
  if (expires != NULL)
    *expires = exp;
  return TRUE;
}

static gboolean
value_maps_to (HgdOidc *self,
               HgdRole role,
               const gchar *value)
{
  return self->role_values[role] != NULL && value != NULL &&
         g_strv_contains ((const gchar *const *) self->role_values[role], value);
}

/* The municipal role of the user's role claim (a string or an array of strings): the
 * first of it-admin, staff, service that one of its values maps to. */
static gboolean
map_role (HgdOidc *self,
          JsonObject *claims,
          HgdRole *role,
          GError **error)
{
  JsonNode *node = json_object_get_member (claims, self->role_claim);

  for (guint r = 0; node != NULL && r < G_N_ELEMENTS (mapped_roles); r++)
    {
      if (JSON_NODE_HOLDS_VALUE (node) &&
          json_node_get_value_type (node) == G_TYPE_STRING &&
          value_maps_to (self, mapped_roles[r], json_node_get_string (node)))
        {
          *role = mapped_roles[r];
          return TRUE;
        }
      if (JSON_NODE_HOLDS_ARRAY (node))
        {
          JsonArray *array = json_node_get_array (node);

          for (guint i = 0; i < json_array_get_length (array); i++)
            {
              JsonNode *element = json_array_get_element (array, i);

              if (JSON_NODE_HOLDS_VALUE (element) &&
                  json_node_get_value_type (element) == G_TYPE_STRING &&
                  value_maps_to (self, mapped_roles[r], json_node_get_string (element)))
                {
                  *role = mapped_roles[r];
                  return TRUE;
                }
            }
        }
    }
  g_set_error (error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_NO_ROLE,
               "the identity provider gives this user no role on the gateway (claim '%s')",
               self->role_claim);
  return FALSE;
}

/* Logging in ------------------------------------------------------------------------------ */

static void
forget_old_pending (HgdOidc *self)
{
  gint64 now = g_get_monotonic_time ();
  GHashTableIter iter;
  Pending *pending;
  const gchar *oldest = NULL;
  gint64 oldest_time = G_MAXINT64;

  g_hash_table_iter_init (&iter, self->pending);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &pending))
    {
      if (now - pending->created > PENDING_LIFETIME)
        g_hash_table_iter_remove (&iter);
    }
  if (g_hash_table_size (self->pending) < PENDING_MAX)
    return;
  g_hash_table_iter_init (&iter, self->pending);
  while (g_hash_table_iter_next (&iter, (gpointer *) &oldest, (gpointer *) &pending))
    {
      if (pending->created < oldest_time)
        oldest_time = pending->created;
    }
  g_hash_table_iter_init (&iter, self->pending);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &pending))
    {
      if (pending->created == oldest_time)
        {
          g_hash_table_iter_remove (&iter);
          break;
        }
    }
}

static void
begin_discovery_cb (GObject *source,
                    GAsyncResult *result,
                    gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  HgdOidc *self = HGD_OIDC (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(GUri) endpoint = NULL;
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GString) query = NULL;
  g_autofree gchar *state = NULL;
  g_autofree gchar *challenge = NULL;
  guint8 digest[32];
  gsize digest_len = sizeof digest;
  g_autoptr(GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  Pending *pending;

  if (!ensure_finish (result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  endpoint = g_uri_parse (json_object_get_string_member (self->discovery,
                                                         "authorization_endpoint"),
                          G_URI_FLAGS_ENCODED, &error);
  if (endpoint == NULL)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_UNAVAILABLE,
                               "the authorization endpoint is not a URL: %s", error->message);
      return;
    }
  forget_old_pending (self);
  pending = g_new0 (Pending, 1);
  pending->nonce = random_string ();
  pending->verifier = random_string ();
  pending->created = g_get_monotonic_time ();
  state = random_string ();
  g_checksum_update (sha, (const guchar *) pending->verifier, -1);
  g_checksum_get_digest (sha, digest, &digest_len);
  challenge = base64url (digest, digest_len);

  query = g_string_new (g_uri_get_query (endpoint));
  if (query->len > 0)
    g_string_append_c (query, '&');
  g_string_append (query, "response_type=code&scope=");
  g_string_append_uri_escaped (query, scope_for (self), NULL, FALSE);
  g_string_append (query, "&client_id=");
  g_string_append_uri_escaped (query, self->client_id, NULL, FALSE);
  g_string_append (query, "&redirect_uri=");
  g_string_append_uri_escaped (query, self->redirect_uri, NULL, FALSE);
  g_string_append_printf (query, "&state=%s&nonce=%s&code_challenge=%s"
                          "&code_challenge_method=S256",
                          state, pending->nonce, challenge);
  uri = g_uri_build (G_URI_FLAGS_ENCODED, g_uri_get_scheme (endpoint),
                     g_uri_get_userinfo (endpoint), g_uri_get_host (endpoint),
                     g_uri_get_port (endpoint), g_uri_get_path (endpoint), query->str, NULL);
  g_hash_table_insert (self->pending, g_steal_pointer (&state), pending);
  g_task_return_pointer (task, g_uri_to_string (uri), g_free);
}

/**
 * hgd_oidc_begin_login_async:
 * @self: an #HgdOidc
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: for @callback
 *
 * Begins a login: a new state, nonce and PKCE verifier, kept for ten minutes and used
 * once, and the provider's authorization URL that carries them.
 */
void
hgd_oidc_begin_login_async (HgdOidc *self,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (HGD_IS_OIDC (self));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hgd_oidc_begin_login_async);
  if (return_if_not_configured (self, task))
    return;
  ensure_discovery_async (self, cancellable, begin_discovery_cb, g_steal_pointer (&task));
}

/**
 * hgd_oidc_begin_login_finish:
 * @self: an #HgdOidc
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the URL to send the browser to
 */
gchar *
hgd_oidc_begin_login_finish (HgdOidc *self,
                             GAsyncResult *result,
                             GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* A callback or logout on its way through discovery, the secret, the token and the keys. */
typedef struct
{
  Pending *pending;  /* (owned) (nullable) the login this callback ends */
  gchar *code;       /* (owned) (nullable) */
  gchar *token;      /* (owned) (nullable) the ID token or the logout token */
  gboolean logout;   /* a back-channel logout, not a login */
  gboolean device_begin; /* asks the provider for a device login */
  gchar *device_key; /* (owned) (nullable) polls the device login of our code */
  gchar *refresh;    /* (owned) (nullable) the refresh token sent, or received */
  gchar *subject;    /* (owned) (nullable) refreshing: whose session it must stay */
  gboolean refreshing;
  gboolean refetched; /* the keys were fetched for this token already */
} Flow;

static void
flow_free (Flow *flow)
{
  g_clear_pointer (&flow->pending, pending_free);
  g_free (flow->code);
  g_free (flow->token);
  g_free (flow->device_key);
  g_free (flow->refresh);
  g_free (flow->subject);
  g_free (flow);
}

/* a task that carries a new Flow (returned in @flow) as its data, tagged @source_tag */
static GTask *
flow_task_new (HgdOidc *self,
               gpointer source_tag,
               GCancellable *cancellable,
               GAsyncReadyCallback callback,
               gpointer user_data,
               Flow **flow)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  *flow = g_new0 (Flow, 1);
  g_task_set_task_data (task, *flow, (GDestroyNotify) flow_free);
  return task;
}

static void flow_verify (GTask *task);

static void
flow_keys_cb (GObject *source,
              GAsyncResult *result,
              gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!ensure_finish (result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  flow_verify (g_steal_pointer (&task));
}

static void
flow_return_login (GTask *task,
                   JsonObject *claims)
{
  HgdOidc *self = g_task_get_source_object (task);
  Flow *flow = g_task_get_task_data (task);
  g_autoptr(HgdOidcLogin) login = g_new0 (HgdOidcLogin, 1);
  g_autoptr(GError) error = NULL;
  const gchar *nonce = json_object_get_string_member_with_default (claims, "nonce", NULL);
  const gchar *sub = json_object_get_string_member_with_default (claims, "sub", NULL);

  if (!check_common_claims (self, claims, TRUE, &login->expires, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* within the leeway but past by our clock: its session would end before it began */
  if (login->expires <= g_get_real_time ())
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_INVALID_TOKEN, "%s",
                               "the token has expired");
      return;
    }
  /* a device login has no nonce: the provider hands its tokens to us alone */
  if (flow->pending != NULL && (nonce == NULL || !g_str_equal (nonce, flow->pending->nonce)))
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_INVALID_TOKEN, "%s",
                               "the ID token's nonce is not the one of this login (replayed?)");
      return;
    }
  if (sub == NULL || sub[0] == '\0' || strlen (sub) > 255)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_INVALID_TOKEN, "%s",
                               "the ID token has no valid subject (sub)");
      return;
    }
  if (flow->refreshing && g_strcmp0 (sub, flow->subject) != 0)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_INVALID_TOKEN, "%s",
                               "the refreshed ID token is for another subject");
      return;
    }
  if (!map_role (self, claims, &login->role, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  login->issuer = g_strdup (self->issuer);
  login->subject = g_strdup (sub);
  login->display_name = g_strdup (json_object_get_string_member_with_default (claims, "name",
                                                                              NULL));
  login->sid = g_strdup (json_object_get_string_member_with_default (claims, "sid", NULL));
  login->id_token = g_strdup (flow->token);
  login->refresh_token = g_strdup (flow->refresh);
  g_task_return_pointer (task, g_steal_pointer (&login), (GDestroyNotify) hgd_oidc_login_free);
}

static void
flow_return_logout (GTask *task,
                    JsonObject *claims)
{
  HgdOidc *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  JsonObject *events = object_get_object (claims, "events");
  const gchar *sub = json_object_get_string_member_with_default (claims, "sub", NULL);
  const gchar *sid = json_object_get_string_member_with_default (claims, "sid", NULL);
  gchar **out;

  if (!check_common_claims (self, claims, FALSE, NULL, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (object_get_object (events, BACKCHANNEL_EVENT) == NULL)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_INVALID_TOKEN, "%s",
                               "the logout token has no back-channel logout event");
      return;
    }
  if (json_object_has_member (claims, "nonce"))
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_INVALID_TOKEN, "%s",
                               "a logout token must not have a nonce");
      return;
    }
  if (sub == NULL && sid == NULL)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_INVALID_TOKEN, "%s",
                               "the logout token names neither a subject nor a session");
      return;
    }
  out = g_new0 (gchar *, 3);
  out[0] = g_strdup (sub);
  out[1] = g_strdup (sid);
  g_task_return_pointer (task, out, (GDestroyNotify) g_strfreev);
}

/* Checks the flow's token against the keys, fetching them once if its key is missing. */
static void
flow_verify (GTask *task)
{
  HgdOidc *self = g_task_get_source_object (task);
  Flow *flow = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) claims = NULL;
  gboolean kid_unknown = FALSE;
  const gchar *what = flow->logout ? "logout token" : "ID token";

  if (self->keys->len > 0)
    claims = verify_signature (self, what, flow->token, &kid_unknown, &error);
  if (claims == NULL && (self->keys->len == 0 || kid_unknown) && !flow->refetched)
    {
      flow->refetched = TRUE;
      g_clear_error (&error);
      refresh_keys_async (self, g_task_get_cancellable (task), flow_keys_cb, task);
      return;
    }
  if (claims == NULL)
    {
      if (error == NULL)
        g_set_error (&error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_UNAVAILABLE, "%s",
                     "the identity provider has no keys to check the token with");
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  if (flow->logout)
    flow_return_logout (task, claims);
  else
    flow_return_login (task, claims);
  g_object_unref (task);
}

static void
flow_token_cb (GObject *source,
               GAsyncResult *result,
               gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  Flow *flow = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) answer = fetch_json_finish (result, &error);
  HgdOidc *self = g_task_get_source_object (task);
  const gchar *id_token;

  /* a device login is over, whatever its end, unless the user has still to approve it */
  if (flow->device_key != NULL &&
      !g_error_matches (error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_PENDING))
    g_hash_table_remove (self->devices, flow->device_key);
  if (answer == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  id_token = json_object_get_string_member_with_default (answer, "id_token", NULL);
  if (id_token == NULL)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_INVALID_TOKEN, "%s",
                               "the token endpoint answered without an ID token");
      return;
    }
  flow->token = g_strdup (id_token);
  /* a new refresh token replaces the one used (rotation); without one, it stays */
  if (json_object_get_string_member_with_default (answer, "refresh_token", NULL) != NULL)
    {
      g_free (flow->refresh);
      flow->refresh = g_strdup (json_object_get_string_member (answer, "refresh_token"));
    }
  flow_verify (g_steal_pointer (&task));
}

static void
flow_device_cb (GObject *source,
                GAsyncResult *result,
                gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  HgdOidc *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) answer = fetch_json_finish (result, &error);
  const gchar *device_code;
  const gchar *user_code;
  const gchar *uri;
  const gchar *uri_complete;
  gint64 expires_in;
  gint64 interval;
  Device *device;
  gchar *key;
  JsonObject *out;

  if (answer == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  device_code = json_object_get_string_member_with_default (answer, "device_code", NULL);
  user_code = json_object_get_string_member_with_default (answer, "user_code", NULL);
  uri = json_object_get_string_member_with_default (answer, "verification_uri", NULL);
  uri_complete = json_object_get_string_member_with_default (answer, "verification_uri_complete",
                                                             NULL);
  expires_in = json_object_get_int_member_with_default (answer, "expires_in", 600);
  interval = json_object_get_int_member_with_default (answer, "interval", 5);
  if (device_code == NULL || user_code == NULL || uri == NULL ||
      !g_uri_is_valid (uri, G_URI_FLAGS_NONE, NULL) || expires_in <= 0 || interval <= 0)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_UNAVAILABLE, "%s",
                               "the device authorization endpoint answered without a usable "
                               "device code, user code or address");
      return;
    }
  expires_in = MIN (expires_in, PENDING_LIFETIME / G_USEC_PER_SEC);
  device = g_new0 (Device, 1);
  device->device_code = g_strdup (device_code);
  device->expires = g_get_monotonic_time () + expires_in * G_USEC_PER_SEC;
  key = random_string ();
  g_hash_table_insert (self->devices, key, device);

  out = json_object_new ();
  json_object_set_string_member (out, "device_code", key);
  json_object_set_string_member (out, "user_code", user_code);
  json_object_set_string_member (out, "verification_uri", uri);
  if (uri_complete != NULL && g_uri_is_valid (uri_complete, G_URI_FLAGS_NONE, NULL))
    json_object_set_string_member (out, "verification_uri_complete", uri_complete);
  json_object_set_int_member (out, "expires_in", expires_in);
  json_object_set_int_member (out, "interval", interval);
  g_task_return_pointer (task, out, (GDestroyNotify) json_object_unref);
}

static void
flow_secret_cb (GObject *source,
                GAsyncResult *result,
                gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  HgdOidc *self = g_task_get_source_object (task);
  Flow *flow = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *secret = hgd_secrets_lookup_finish (HGD_SECRETS (source), result, &error);
  g_autofree gchar *id = NULL;
  g_autofree gchar *escaped_secret = NULL;
  g_autofree gchar *basic = NULL;
  g_autofree gchar *credentials = NULL;
  g_autofree gchar *header = NULL;
  g_autofree gchar *form = NULL;
  GCancellable *cancellable;
  SoupMessage *msg;

  if (secret == NULL)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_NOT_CONFIGURED,
                               "the client secret (secret '%s' of core in the municipal "
                               "domain) cannot be read: %s",
                               HGD_OIDC_CLIENT_SECRET_KEY, error->message);
      return;
    }
  /* client_secret_basic: both form-encoded, then Base64 (RFC 6749, 2.3.1) */
  id = g_uri_escape_string (self->client_id, NULL, FALSE);
  escaped_secret = g_uri_escape_string (secret, NULL, FALSE);
  credentials = g_strdup_printf ("%s:%s", id, escaped_secret);
  basic = g_base64_encode ((const guchar *) credentials, strlen (credentials));
  header = g_strconcat ("Basic ", basic, NULL);
  if (flow->device_begin)
    form = soup_form_encode ("client_id", self->client_id, "scope", scope_for (self), NULL);
  else if (flow->device_key != NULL)
    {
      Device *device = g_hash_table_lookup (self->devices, flow->device_key);

      if (device == NULL)
        {
          g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_NO_PENDING_LOGIN, "%s",
                                   "no device login is waiting for this code");
          return;
        }
      form = soup_form_encode ("grant_type", "urn:ietf:params:oauth:grant-type:device_code",
                               "device_code", device->device_code, "client_id", self->client_id,
                               NULL);
    }
  else if (flow->refreshing)
    form = soup_form_encode ("grant_type", "refresh_token", "refresh_token", flow->refresh, NULL);
  else
    form = soup_form_encode ("grant_type", "authorization_code", "code", flow->code,
                             "redirect_uri", self->redirect_uri, "code_verifier",
                             flow->pending->verifier, NULL);
  msg = soup_message_new_from_encoded_form (
      "POST",
      json_object_get_string_member (self->discovery, flow->device_begin
                                                          ? "device_authorization_endpoint"
                                                          : "token_endpoint"),
      g_steal_pointer (&form));
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", header);
  sodium_memzero (credentials, strlen (credentials));
  sodium_memzero (escaped_secret, strlen (escaped_secret));
  sodium_memzero (secret, strlen (secret));
  cancellable = g_task_get_cancellable (task);
  if (flow->device_begin)
    fetch_json_async (self, msg, "device authorization endpoint", cancellable, flow_device_cb,
                      g_steal_pointer (&task));
  else
    fetch_json_async (self, msg, "token endpoint", cancellable, flow_token_cb,
                      g_steal_pointer (&task));
}

static void
flow_discovery_cb (GObject *source,
                   GAsyncResult *result,
                   gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  HgdOidc *self = HGD_OIDC (source);
  Flow *flow = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  GCancellable *cancellable;

  if (!ensure_finish (result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (flow->logout)
    {
      flow_verify (g_steal_pointer (&task));
      return;
    }
  if (flow->device_begin &&
      json_object_get_string_member_with_default (self->discovery,
                                                  "device_authorization_endpoint", NULL) == NULL)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_NOT_CONFIGURED, "%s",
                               "the identity provider offers no device login (RFC 8628)");
      return;
    }
  if (self->secrets == NULL)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_NOT_CONFIGURED, "%s",
                               "there is no secret store for the client secret");
      return;
    }
  cancellable = g_task_get_cancellable (task);
  hgd_secrets_lookup_async (self->secrets, HG_DOMAIN_MUNICIPAL, "core",
                            HGD_OIDC_CLIENT_SECRET_KEY, cancellable, flow_secret_cb,
                            g_steal_pointer (&task));
}

/**
 * hgd_oidc_complete_login_async:
 * @self: an #HgdOidc
 * @query: (nullable): the callback's query parameters
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: for @callback
 *
 * Ends the login that @query's `state` names (once: the state is gone after this call,
 * whatever its outcome): the code is exchanged for tokens with the client secret and the
 * PKCE verifier, and the ID token is verified (signature, issuer, audience, times, nonce)
 * and mapped to a role.
 */
void
hgd_oidc_complete_login_async (HgdOidc *self,
                               GHashTable *query,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  const gchar *state = query != NULL ? g_hash_table_lookup (query, "state") : NULL;
  const gchar *code = query != NULL ? g_hash_table_lookup (query, "code") : NULL;
  const gchar *iss = query != NULL ? g_hash_table_lookup (query, "iss") : NULL;
  const gchar *idp_error = query != NULL ? g_hash_table_lookup (query, "error") : NULL;
  gchar *key = NULL;
  Flow *flow;

  g_return_if_fail (HGD_IS_OIDC (self));
  task = flow_task_new (self, hgd_oidc_complete_login_async, cancellable, callback, user_data,
                       &flow);
  if (return_if_not_configured (self, task))
    return;
  if (state == NULL ||
      !g_hash_table_steal_extended (self->pending, state, (gpointer *) &key,
                                    (gpointer *) &flow->pending))
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_NO_PENDING_LOGIN, "%s",
                               "no login is waiting for this answer (unknown, used or "
                               "missing state)");
      return;
    }
  g_free (key);
  if (g_get_monotonic_time () - flow->pending->created > PENDING_LIFETIME)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_NO_PENDING_LOGIN, "%s",
                               "the login took longer than 10 minutes; start again");
      return;
    }
  if (idp_error != NULL)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_REFUSED,
                               "the identity provider refused the login: %.64s", idp_error);
      return;
    }
  /* RFC 9207: an answer that says it comes from another provider is a mix-up */
  if (iss != NULL && g_strcmp0 (iss, self->issuer) != 0)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_INVALID_TOKEN, "%s",
                               "the answer comes from another issuer");
      return;
    }
  if (code == NULL || code[0] == '\0' || strlen (code) > 1024)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_REFUSED, "%s",
                               "the identity provider's answer has no code");
      return;
    }
  flow->code = g_strdup (code);
  ensure_discovery_async (self, cancellable, flow_discovery_cb, g_steal_pointer (&task));
}

/**
 * hgd_oidc_complete_login_finish:
 * @self: an #HgdOidc
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer full): who logged in, with their role; or %NULL with an
 *   %HGD_OIDC_ERROR
 */
HgdOidcLogin *
hgd_oidc_complete_login_finish (HgdOidc *self,
                                GAsyncResult *result,
                                GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * hgd_oidc_verify_logout_async:
 * @self: an #HgdOidc
 * @logout_token: what the provider posted to the back-channel logout route
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: for @callback
 *
 * Verifies a back-channel logout token (OpenID Connect Back-Channel Logout 1.0, 2.6):
 * signature, issuer, audience, `iat`, the logout event, `sub` or `sid`, and no `nonce`.
 */
void
hgd_oidc_verify_logout_async (HgdOidc *self,
                              const gchar *logout_token,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  Flow *flow;

  g_return_if_fail (HGD_IS_OIDC (self));
  task = flow_task_new (self, hgd_oidc_verify_logout_async, cancellable, callback, user_data,
                       &flow);
  flow->logout = TRUE;
  flow->token = g_strdup (logout_token);
  if (return_if_not_configured (self, task))
    return;
  if (logout_token == NULL)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_INVALID_TOKEN, "%s",
                               "the request has no logout_token");
      return;
    }
  ensure_discovery_async (self, cancellable, flow_discovery_cb, g_steal_pointer (&task));
}

/**
 * hgd_oidc_verify_logout_finish:
 * @self: an #HgdOidc
 * @result: the #GAsyncResult
 * @subject: (out) (optional) (nullable): the token's `sub`
 * @sid: (out) (optional) (nullable): the token's `sid`
 * @error: return location for a #GError
 *
 * Returns: whether the logout token is valid
 */
gboolean
hgd_oidc_verify_logout_finish (HgdOidc *self,
                               GAsyncResult *result,
                               gchar **subject,
                               gchar **sid,
                               GError **error)
{
  g_auto(GStrv) out = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  out = g_task_propagate_pointer (G_TASK (result), error);
  if (out == NULL)
    return FALSE;
  if (subject != NULL)
    *subject = g_steal_pointer (&out[0]);
  if (sid != NULL)
    *sid = g_steal_pointer (&out[1]);
  return TRUE;
}

/**
 * hgd_oidc_begin_device_async:
 * @self: an #HgdOidc
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: for @callback
 *
 * Begins a login on a device without a browser, e.g. hemgatectl over SSH (the device
 * authorization grant, RFC 8628): the provider gives a user code to enter at its address;
 * the device then polls with hgd_oidc_poll_device_async().
 */
void
hgd_oidc_begin_device_async (HgdOidc *self,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  Flow *flow;
  GHashTableIter iter;
  Device *device;
  gint64 now = g_get_monotonic_time ();

  g_return_if_fail (HGD_IS_OIDC (self));
  task = flow_task_new (self, hgd_oidc_begin_device_async, cancellable, callback, user_data,
                       &flow);
  flow->device_begin = TRUE;
  if (return_if_not_configured (self, task))
    return;
  /* those the user never approved go; there are at most PENDING_MAX at once */
  g_hash_table_iter_init (&iter, self->devices);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &device))
    {
      if (device->expires <= now)
        g_hash_table_iter_remove (&iter);
    }
  if (g_hash_table_size (self->devices) >= PENDING_MAX)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_UNAVAILABLE, "%s",
                               "too many device logins are waiting; try again later");
      return;
    }
  ensure_discovery_async (self, cancellable, flow_discovery_cb, g_steal_pointer (&task));
}

/**
 * hgd_oidc_begin_device_finish:
 * @self: an #HgdOidc
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer full): what the device shows and polls with: `device_code` (ours),
 *   `user_code`, `verification_uri`, `verification_uri_complete` (optional),
 *   `expires_in` and `interval`
 */
JsonObject *
hgd_oidc_begin_device_finish (HgdOidc *self,
                              GAsyncResult *result,
                              GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * hgd_oidc_poll_device_async:
 * @self: an #HgdOidc
 * @device_code: what hgd_oidc_begin_device_finish() answered
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: for @callback
 *
 * Asks the provider whether the user approved the device login, and if so verifies its ID
 * token as hgd_oidc_complete_login_async() does (without a nonce, which the grant has not).
 */
void
hgd_oidc_poll_device_async (HgdOidc *self,
                            const gchar *device_code,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  Device *device;
  Flow *flow;

  g_return_if_fail (HGD_IS_OIDC (self));
  task = flow_task_new (self, hgd_oidc_poll_device_async, cancellable, callback, user_data,
                       &flow);
  flow->device_key = g_strdup (device_code);
  device = device_code != NULL ? g_hash_table_lookup (self->devices, device_code) : NULL;
  if (device != NULL && device->expires <= g_get_monotonic_time ())
    {
      g_hash_table_remove (self->devices, device_code);
      device = NULL;
    }
  if (device == NULL)
    {
      g_task_return_new_error (task, HGD_OIDC_ERROR, HGD_OIDC_ERROR_NO_PENDING_LOGIN, "%s",
                               "no device login is waiting for this code (unknown, used or "
                               "expired)");
      return;
    }
  ensure_discovery_async (self, cancellable, flow_discovery_cb, g_steal_pointer (&task));
}

/**
 * hgd_oidc_poll_device_finish:
 * @self: an #HgdOidc
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer full): who logged in; or %NULL, with %HGD_OIDC_ERROR_PENDING while
 *   the user has not approved the login yet
 */
HgdOidcLogin *
hgd_oidc_poll_device_finish (HgdOidc *self,
                             GAsyncResult *result,
                             GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * hgd_oidc_refresh_async:
 * @self: an #HgdOidc
 * @refresh_token: what the provider gave at the login (or the last refresh)
 * @subject: whose session it is
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: for @callback
 *
 * Asks the provider for a new ID token, before the session's runs out, and checks it as a
 * login's (for the same subject; the role from its claims again, so that a user removed
 * from the group loses the role).
 */
void
hgd_oidc_refresh_async (HgdOidc *self,
                        const gchar *refresh_token,
                        const gchar *subject,
                        GCancellable *cancellable,
                        GAsyncReadyCallback callback,
                        gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  Flow *flow;

  g_return_if_fail (HGD_IS_OIDC (self));
  g_return_if_fail (refresh_token != NULL);
  g_return_if_fail (subject != NULL);
  task = flow_task_new (self, hgd_oidc_refresh_async, cancellable, callback, user_data,
                       &flow);
  flow->refreshing = TRUE;
  flow->refresh = g_strdup (refresh_token);
  flow->subject = g_strdup (subject);
  if (return_if_not_configured (self, task))
    return;
  ensure_discovery_async (self, cancellable, flow_discovery_cb, g_steal_pointer (&task));
}

/**
 * hgd_oidc_refresh_finish:
 * @self: an #HgdOidc
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the session's new expiry, tokens and role
 */
HgdOidcLogin *
hgd_oidc_refresh_finish (HgdOidc *self,
                         GAsyncResult *result,
                         GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * hgd_oidc_dup_end_session_url:
 * @self: an #HgdOidc
 * @id_token: (nullable): the session's ID token, the provider's hint
 *
 * Returns: (transfer full) (nullable): where to send the browser to log out at the
 *   provider too (RP-initiated logout), if its discovery document names that endpoint
 */
gchar *
hgd_oidc_dup_end_session_url (HgdOidc *self,
                              const gchar *id_token)
{
  const gchar *endpoint;
  g_autoptr(GString) url = NULL;

  g_return_val_if_fail (HGD_IS_OIDC (self), NULL);
  if (self->discovery == NULL)
    return NULL;
  endpoint = json_object_get_string_member_with_default (self->discovery,
                                                         "end_session_endpoint", NULL);
  if (endpoint == NULL)
    return NULL;
  url = g_string_new (endpoint);
  g_string_append_c (url, strchr (endpoint, '?') != NULL ? '&' : '?');
  g_string_append (url, "client_id=");
  g_string_append_uri_escaped (url, self->client_id, NULL, FALSE);
  if (id_token != NULL)
    {
      g_string_append (url, "&id_token_hint=");
      g_string_append_uri_escaped (url, id_token, NULL, FALSE);
    }
  return g_string_free (g_steal_pointer (&url), FALSE);
}
