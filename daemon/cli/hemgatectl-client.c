/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdCliClient: a SoupSession bound to one gateway URL that sends JSON requests with the
 * bearer token, keeps that token in the Secret Service (or, where none is reachable, in a
 * file only the user can read), and turns every failure into an HGD_CLI_ERROR whose code
 * is hemgatectl's exit status and whose message is translated. */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <libsecret/secret.h>
#include <unistd.h>

#include "hemgatectl-client.h"
#include "hg-json.h"

/* Large enough for any listing the API pages; the answer is still parsed strictly. */
#define MAX_ANSWER_BYTES (16 * 1024 * 1024)
#define REQUEST_TIMEOUT_SECONDS 30
#define TOKEN_FILE_NAME "tokens.json"
#define TOKEN_FILE_MAX_BYTES (1024 * 1024)

G_DEFINE_QUARK (hgd-cli-error-quark, hgd_cli_error)

struct _HgdCliClient
{
  GObject parent_instance;
  SoupSession *session;       /* (owned) */
  gchar *url;                 /* (owned) scheme://host[:port], no trailing slash */
  gboolean insecure;
  gchar *token;               /* (owned) (nullable) */
  HgdCliTokenSource token_source;
  JsonNode *last_api_error;   /* (owned) (nullable) the last {"error":…} document */
};

G_DEFINE_TYPE (HgdCliClient, hgd_cli_client, G_TYPE_OBJECT)

static const SecretSchema token_schema = {
  .name = "org.hemgate.CliToken",
  .flags = SECRET_SCHEMA_NONE,
  .attributes = {
    { "url", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { "user", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  },
};

static void
forget_token_in_memory (HgdCliClient *self)
{
  if (self->token != NULL)
    {
      explicit_bzero (self->token, strlen (self->token));
      g_clear_pointer (&self->token, g_free);
    }
  self->token_source = HGD_CLI_TOKEN_NONE;
}

static void
hgd_cli_client_dispose (GObject *object)
{
  HgdCliClient *self = HGD_CLI_CLIENT (object);

  g_clear_object (&self->session);
  G_OBJECT_CLASS (hgd_cli_client_parent_class)->dispose (object);
}

static void
hgd_cli_client_finalize (GObject *object)
{
  HgdCliClient *self = HGD_CLI_CLIENT (object);

  forget_token_in_memory (self);
  g_free (self->url);
  g_clear_pointer (&self->last_api_error, json_node_unref);
  G_OBJECT_CLASS (hgd_cli_client_parent_class)->finalize (object);
}

static void
hgd_cli_client_class_init (HgdCliClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hgd_cli_client_dispose;
  object_class->finalize = hgd_cli_client_finalize;
}

static void
hgd_cli_client_init (HgdCliClient *self)
{
}

/* Only scheme, host and port: the API lives at fixed paths below it. */
static gchar *
normalize_url (const gchar *url,
               GError **error)
{
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GError) error_local = NULL;
  const gchar *scheme;
  const gchar *path;

  uri = g_uri_parse (url, G_URI_FLAGS_NONE, &error_local);
  if (uri == NULL)
    {
      /* TRANSLATORS: %s is what the user gave as the gateway's address, the second %s why it is
       * wrong */
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE, _("“%s” is not a gateway URL: %s"),
                   url, error_local->message);
      return NULL;
    }
  scheme = g_uri_get_scheme (uri);
  path = g_uri_get_path (uri);
  if ((g_strcmp0 (scheme, "https") != 0 && g_strcmp0 (scheme, "http") != 0) ||
      g_uri_get_host (uri) == NULL || g_uri_get_host (uri)[0] == '\0' ||
      (path[0] != '\0' && g_strcmp0 (path, "/") != 0) ||
      g_uri_get_query (uri) != NULL || g_uri_get_fragment (uri) != NULL ||
      g_uri_get_userinfo (uri) != NULL)
    {
      g_set_error (
          error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE,
          /* TRANSLATORS: %s is what the user gave as the gateway's address */
          _("“%s” is not a gateway URL: give only https://HOST[:PORT] (or http:// for a demo)"),
          url);
      return NULL;
    }
  return g_uri_join (G_URI_FLAGS_NONE, scheme, NULL, g_uri_get_host (uri), g_uri_get_port (uri),
                     "", NULL, NULL);
}

/**
 * hgd_cli_client_new:
 * @url: the gateway, `https://HOST[:PORT]` (or `http://` for a demo gateway)
 * @insecure: accept any certificate, e.g. a test gateway's self-signed one
 * @ca_file: (nullable): PEM file of the certificates to trust instead of the system's,
 *   such as the gateway's own self-signed certificate (pinning it)
 * @error: return location for a #GError
 *
 * Returns: (transfer full): a client, or %NULL with %HGD_CLI_ERROR_USAGE or
 *   %HGD_CLI_ERROR_FAILED
 */
HgdCliClient *
hgd_cli_client_new (const gchar *url,
                    gboolean insecure,
                    const gchar *ca_file,
                    GError **error)
{
  g_autoptr(HgdCliClient) self = g_object_new (HGD_TYPE_CLI_CLIENT, NULL);

  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (insecure && ca_file != NULL)
    {
      g_set_error_literal (
          error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE,
          /* TRANSLATORS: --insecure and --ca are command-line options; keep them as they are */
          _("--insecure and --ca exclude each other"));
      return NULL;
    }
  self->url = normalize_url (url, error);
  if (self->url == NULL)
    return NULL;
  self->insecure = insecure;
  self->session = soup_session_new_with_options ("user-agent", "hemgatectl/" PACKAGE_VERSION,
                                                 "timeout", REQUEST_TIMEOUT_SECONDS,
                                                 NULL);
  if (ca_file != NULL)
    {
      g_autoptr(GError) error_local = NULL;
      /* GTlsFileDatabase takes only absolute paths */
      g_autofree gchar *path = g_canonicalize_filename (ca_file, NULL);
      g_autoptr(GTlsDatabase) database = g_tls_file_database_new (path, &error_local);

      if (database == NULL)
        {
          /* TRANSLATORS: %s is a file name, the second %s why it could not be read */
          g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED,
                       _("cannot read certificates from %s: %s"), ca_file, error_local->message);
          return NULL;
        }
      soup_session_set_tls_database (self->session, database);
    }
  return g_steal_pointer (&self);
}

const gchar *
hgd_cli_client_get_url (HgdCliClient *self)
{
  g_return_val_if_fail (HGD_IS_CLI_CLIENT (self), NULL);
  return self->url;
}

/**
 * hgd_cli_client_set_token:
 * @self: a client
 * @token: (nullable): the bearer token to send, or %NULL for none
 * @source: where it came from
 */
void
hgd_cli_client_set_token (HgdCliClient *self,
                          const gchar *token,
                          HgdCliTokenSource source)
{
  g_return_if_fail (HGD_IS_CLI_CLIENT (self));

  forget_token_in_memory (self);
  if (token != NULL)
    {
      self->token = g_strdup (token);
      self->token_source = source;
    }
}

const gchar *
hgd_cli_client_get_token (HgdCliClient *self)
{
  g_return_val_if_fail (HGD_IS_CLI_CLIENT (self), NULL);
  return self->token;
}

HgdCliTokenSource
hgd_cli_client_get_token_source (HgdCliClient *self)
{
  g_return_val_if_fail (HGD_IS_CLI_CLIENT (self), HGD_CLI_TOKEN_NONE);
  return self->token_source;
}

/* The token file ----------------------------------------------------------------------------
 *
 * Where no Secret Service is reachable (a server, a session over SSH: "Cannot autolaunch
 * D-Bus without X11"), the token is kept as common CLIs keep theirs: in a file only the
 * user can read (0600, in a 0700 directory), $XDG_CONFIG_HOME/hemgate/tokens.json, or
 * $XDG_RUNTIME_DIR/hemgate/tokens.json if the first cannot be written. It holds one
 * object per gateway URL: {"<url>": {"user": "…", "token": "…"}}. */

/* The directories the file may be in, first choice first. */
static GPtrArray *
token_file_dirs (void)
{
  GPtrArray *dirs = g_ptr_array_new_with_free_func (g_free);
  const gchar *runtime = g_getenv ("XDG_RUNTIME_DIR");

  g_ptr_array_add (dirs, g_build_filename (g_get_user_config_dir (), "hemgate", NULL));
  if (runtime != NULL && g_path_is_absolute (runtime))
    g_ptr_array_add (dirs, g_build_filename (runtime, "hemgate", NULL));
  return dirs;
}

/* The tokens kept in @path, an empty object when there is no such file. */
static JsonObject *
token_file_read (const gchar *path,
                 GError **error)
{
  g_autoptr(GError) error_local = NULL;
  g_autofree gchar *contents = NULL;
  JsonObject *tokens;
  GStatBuf st;
  gsize length = 0;

  if (g_stat (path, &st) != 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        return json_object_new ();
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED,
                   /* TRANSLATORS: the first %s is a file name, the second why it failed */
                   _("cannot read %s: %s"), path, g_strerror (errno));
      return NULL;
    }
  if (st.st_uid != getuid () || (st.st_mode & 0077) != 0)
    {
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED,
                   /* TRANSLATORS: %s is a file name */
                   _("%s may be read by other users, so its tokens are not used; remove it "
                     "and log in again"),
                   path);
      return NULL;
    }
  if (!g_file_get_contents (path, &contents, &length, &error_local))
    {
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED, _("cannot read %s: %s"), path,
                   error_local->message);
      return NULL;
    }
  tokens = hg_json_parse_object (contents, (gssize) length, TOKEN_FILE_MAX_BYTES, &error_local);
  explicit_bzero (contents, length);
  if (tokens == NULL)
    {
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED,
                   /* TRANSLATORS: the first %s is a file name, the second what is wrong */
                   _("%s is damaged (%s); remove it and log in again"), path,
                   error_local->message);
      return NULL;
    }
  return tokens;
}

/* A directory only its owner, the user, may enter. */
static gboolean
ensure_private_dir (const gchar *dir,
                    GError **error)
{
  GStatBuf st;

  if (g_mkdir_with_parents (dir, 0700) != 0 || g_stat (dir, &st) != 0)
    {
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED,
                   /* TRANSLATORS: the first %s is a directory, the second why it failed */
                   _("cannot make %s: %s"), dir, g_strerror (errno));
      return FALSE;
    }
  if (st.st_uid != getuid ())
    {
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED,
                   /* TRANSLATORS: %s is a directory */
                   _("%s belongs to another user"), dir);
      return FALSE;
    }
  if ((st.st_mode & 0077) != 0 && g_chmod (dir, 0700) != 0)
    {
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED, _("cannot make %s: %s"), dir,
                   g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

/* Writes @tokens to @dir's file, mode 0600, replacing it at once; no tokens, no file. */
static gboolean
token_file_write (const gchar *dir,
                  JsonObject *tokens,
                  GError **error)
{
  g_autofree gchar *path = g_build_filename (dir, TOKEN_FILE_NAME, NULL);
  g_autoptr(GError) error_local = NULL;
  gchar *text;
  gboolean ok;

  if (json_object_get_size (tokens) == 0)
    {
      if (g_unlink (path) != 0 && errno != ENOENT)
        {
          g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED,
                       /* TRANSLATORS: the first %s is a file name, the second why it failed */
                       _("cannot remove %s: %s"), path, g_strerror (errno));
          return FALSE;
        }
      return TRUE;
    }
  if (!ensure_private_dir (dir, error))
    return FALSE;
  text = hg_json_object_to_string (tokens);
  ok = g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                 &error_local);
  explicit_bzero (text, strlen (text));
  g_free (text);
  if (!ok)
    {
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED,
                   /* TRANSLATORS: the first %s is a file name, the second why it failed */
                   _("cannot write %s: %s"), path, error_local->message);
      return FALSE;
    }
  return TRUE;
}

/* The token kept for @url in a token file, or NULL. */
static gchar *
token_file_lookup (const gchar *url,
                   GError **error)
{
  g_autoptr(GPtrArray) dirs = token_file_dirs ();

  for (guint i = 0; i < dirs->len; i++)
    {
      g_autofree gchar *path
          = g_build_filename (g_ptr_array_index (dirs, i), TOKEN_FILE_NAME, NULL);
      g_autoptr(JsonObject) tokens = token_file_read (path, error);
      JsonObject *entry = NULL;
      const gchar *token = NULL;

      if (tokens == NULL)
        return NULL;
      if (!json_object_has_member (tokens, url))
        continue;
      if (!hg_json_object_get_object (tokens, url, &entry, NULL) ||
          !hg_json_object_get_string (entry, "token", &token, NULL))
        {
          g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED,
                       _("%s is damaged (%s); remove it and log in again"), path, url);
          return NULL;
        }
      return g_strdup (token);
    }
  return NULL;
}

/* Keeps @token for @url in the first token file that can be written; its path. */
static gchar *
token_file_store (const gchar *url,
                  const gchar *username,
                  const gchar *token,
                  GError **error)
{
  g_autoptr(GPtrArray) dirs = token_file_dirs ();
  g_autoptr(GError) first_error = NULL;

  for (guint i = 0; i < dirs->len; i++)
    {
      const gchar *dir = g_ptr_array_index (dirs, i);
      g_autofree gchar *path = g_build_filename (dir, TOKEN_FILE_NAME, NULL);
      g_autoptr(GError) error_local = NULL;
      g_autoptr(JsonObject) tokens = token_file_read (path, &error_local);
      JsonObject *entry;

      if (tokens != NULL)
        {
          entry = json_object_new ();
          json_object_set_string_member (entry, "user", username);
          json_object_set_string_member (entry, "token", token);
          json_object_set_object_member (tokens, url, entry);
          if (token_file_write (dir, tokens, &error_local))
            return g_steal_pointer (&path);
        }
      if (first_error == NULL)
        first_error = g_steal_pointer (&error_local);
    }
  g_propagate_error (error, g_steal_pointer (&first_error));
  return NULL;
}

/* Removes what the token files keep for @url. */
static gboolean
token_file_remove (const gchar *url,
                   GError **error)
{
  g_autoptr(GPtrArray) dirs = token_file_dirs ();

  for (guint i = 0; i < dirs->len; i++)
    {
      const gchar *dir = g_ptr_array_index (dirs, i);
      g_autofree gchar *path = g_build_filename (dir, TOKEN_FILE_NAME, NULL);
      g_autoptr(JsonObject) tokens = token_file_read (path, error);

      if (tokens == NULL)
        return FALSE;
      if (!json_object_has_member (tokens, url))
        continue;
      json_object_remove_member (tokens, url);
      if (!token_file_write (dir, tokens, error))
        return FALSE;
    }
  return TRUE;
}

/**
 * hgd_cli_client_ensure_token:
 * @self: a client
 * @required: whether having no token is an error
 * @error: return location for a #GError
 *
 * Finds the token for this gateway: `$HEMGATE_TOKEN` when set, else the one `login` kept
 * for this URL in the Secret Service, else in the token file. When @required is %FALSE,
 * finding none is not an error and requests go out without a token.
 *
 * Returns: %TRUE on success, or %FALSE with %HGD_CLI_ERROR_AUTH
 */
gboolean
hgd_cli_client_ensure_token (HgdCliClient *self,
                             gboolean required,
                             GError **error)
{
  g_autoptr(GError) error_local = NULL;
  const gchar *env;
  gchar *token;

  g_return_val_if_fail (HGD_IS_CLI_CLIENT (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->token != NULL)
    return TRUE;
  env = g_getenv ("HEMGATE_TOKEN");
  if (env != NULL && env[0] != '\0')
    {
      hgd_cli_client_set_token (self, env, HGD_CLI_TOKEN_ENVIRONMENT);
      return TRUE;
    }
  token = secret_password_lookup_sync (&token_schema, NULL, &error_local, "url", self->url, NULL);
  if (token != NULL)
    {
      hgd_cli_client_set_token (self, token, HGD_CLI_TOKEN_KEYRING);
      secret_password_free (token);
      return TRUE;
    }
  if (error_local != NULL)
    g_debug ("no Secret Service: %s", error_local->message);
  g_clear_error (&error_local);
  token = token_file_lookup (self->url, &error_local);
  if (token == NULL && error_local != NULL)
    {
      if (!required)
        return TRUE;
      error_local->code = HGD_CLI_ERROR_AUTH;
      g_propagate_error (error, g_steal_pointer (&error_local));
      return FALSE;
    }
  if (token == NULL)
    {
      if (!required)
        return TRUE;
      g_set_error (
          error, HGD_CLI_ERROR, HGD_CLI_ERROR_AUTH,
          /* TRANSLATORS: %s is the gateway's address; “hemgatectl login USER” stays untranslated */
          _("not logged in to %s; run “hemgatectl login USER” first"), self->url);
      return FALSE;
    }
  hgd_cli_client_set_token (self, token, HGD_CLI_TOKEN_FILE);
  explicit_bzero (token, strlen (token));
  g_free (token);
  return TRUE;
}

/**
 * hgd_cli_client_save_token:
 * @self: a client holding the token just received from login
 * @username: who logged in
 * @file: (out) (optional) (transfer full) (nullable): the token file it went to, or %NULL
 *   when the Secret Service took it
 * @error: return location for a #GError
 *
 * Keeps the token in the Secret Service (schema `org.hemgate.CliToken`, attributes `url`
 * and `user`), replacing any token kept for this URL before; where no Secret Service is
 * reachable, in the token file instead (see token_file_dirs()).
 *
 * Returns: %TRUE on success, or %FALSE with %HGD_CLI_ERROR_FAILED when neither could take it
 */
gboolean
hgd_cli_client_save_token (HgdCliClient *self,
                           const gchar *username,
                           gchar **file,
                           GError **error)
{
  g_autoptr(GError) error_local = NULL;
  g_autoptr(GError) file_error = NULL;
  g_autofree gchar *label = NULL;
  g_autofree gchar *path = NULL;

  g_return_val_if_fail (HGD_IS_CLI_CLIENT (self), FALSE);
  g_return_val_if_fail (self->token != NULL, FALSE);
  g_return_val_if_fail (username != NULL, FALSE);
  g_return_val_if_fail (file == NULL || *file == NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* TRANSLATORS: the label of the stored token, as a keyring manager shows it;
   * the first %s is a user name, the second the gateway's address */
  label = g_strdup_printf (_("hemgate token for %s at %s"), username, self->url);
  if ((secret_password_clear_sync (&token_schema, NULL, &error_local, "url", self->url, NULL) ||
       error_local == NULL) &&
      secret_password_store_sync (&token_schema, SECRET_COLLECTION_DEFAULT, label, self->token,
                                  NULL, &error_local, "url", self->url, "user", username, NULL))
    {
      /* a token an earlier login left in the file would outlive this one's logout */
      if (!token_file_remove (self->url, &file_error))
        g_debug ("old token file entry kept: %s", file_error->message);
      return TRUE;
    }

  path = token_file_store (self->url, username, self->token, &file_error);
  if (path == NULL)
    {
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED,
                   /* TRANSLATORS: the first %s is why the Secret Service (the desktop keyring)
                    * could not be used, the second why the token file could not */
                   _("no Secret Service is reachable to keep the token (%s), and %s"),
                   error_local->message, file_error->message);
      return FALSE;
    }
  g_debug ("token kept in %s: no Secret Service: %s", path, error_local->message);
  if (file != NULL)
    *file = g_steal_pointer (&path);
  return TRUE;
}

/**
 * hgd_cli_client_forget_token:
 * @self: a client
 * @error: return location for a #GError
 *
 * Removes the token kept for this URL from memory, the token file, and, unless it came
 * from the file (then no Secret Service was reachable), the Secret Service. Having none is
 * not an error.
 *
 * Returns: %TRUE on success, or %FALSE with %HGD_CLI_ERROR_FAILED
 */
gboolean
hgd_cli_client_forget_token (HgdCliClient *self,
                             GError **error)
{
  g_autoptr(GError) error_local = NULL;
  HgdCliTokenSource source;

  g_return_val_if_fail (HGD_IS_CLI_CLIENT (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  source = self->token_source;
  forget_token_in_memory (self);
  if (!token_file_remove (self->url, error))
    return FALSE;
  if (source == HGD_CLI_TOKEN_FILE)
    return TRUE;
  if (!secret_password_clear_sync (&token_schema, NULL, &error_local, "url", self->url, NULL) &&
      error_local != NULL)
    {
      g_set_error (
          error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED,
          /* TRANSLATORS: %s is why the Secret Service (the desktop keyring) could not be used */
          _("cannot remove the kept token: %s"), error_local->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
accept_certificate_cb (SoupMessage *msg,
                       GTlsCertificate *certificate,
                       GTlsCertificateFlags errors,
                       gpointer user_data)
{
  return TRUE;
}

static SoupMessage *
new_message (HgdCliClient *self,
             const gchar *method,
             const gchar *path,
             GError **error)
{
  g_autofree gchar *uri = g_strconcat (self->url, path, NULL);
  SoupMessage *msg = soup_message_new (method, uri);

  if (msg == NULL)
    {
      /* TRANSLATORS: %s is a web address that could not be formed, e.g. from a plugin id */
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE, _("invalid request address %s"), uri);
      return NULL;
    }
  if (self->token != NULL)
    {
      g_autofree gchar *authorization = g_strconcat ("Bearer ", self->token, NULL);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                    authorization);
      explicit_bzero (authorization, strlen (authorization));
    }
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept",
                                "application/json");
  if (self->insecure)
    g_signal_connect (msg, "accept-certificate", G_CALLBACK (accept_certificate_cb), NULL);
  return msg;
}

/* The one place where a failure to talk to the gateway becomes an exit status. */
static GError *
transport_error (HgdCliClient *self,
                 const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_error_copy (error);
  if (error->domain == G_TLS_ERROR)
    {
      if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_NOT_TLS))
        return g_error_new (HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED,
                            /* TRANSLATORS: %s is the gateway's address */
                            _("%s does not answer with TLS; is it an http:// address?"), self->url);
      return g_error_new (
          HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED,
          /* TRANSLATORS: %s is the gateway's address, the second %s the TLS library's reason;
           * --ca and --insecure are options and stay untranslated */
          _("the certificate of %s is not trusted (%s); pin the gateway's certificate "
            "with --ca FILE, or use --insecure for a test gateway"),
          self->url, error->message);
    }
  if (error->domain == G_RESOLVER_ERROR ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_NOT_FOUND) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT))
    return g_error_new (HGD_CLI_ERROR, HGD_CLI_ERROR_UNREACHABLE,
                        /* TRANSLATORS: %s is the gateway's address, the second %s the reason */
                        _("cannot reach the gateway at %s: %s"), self->url, error->message);
  return g_error_new (HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED,
                      /* TRANSLATORS: %s is the gateway's address, the second %s the reason */
                      _("request to %s failed: %s"), self->url, error->message);
}

/* Request bodies may hold a password: wipe them before they are freed. */
static void
free_wiped (gpointer data)
{
  explicit_bzero (data, strlen (data));
  g_free (data);
}

static JsonNode *
parse_answer (HgdCliClient *self,
              GBytes *bytes,
              GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) error_local = NULL;
  gsize size = 0;
  const gchar *data = g_bytes_get_data (bytes, &size);

  if (size == 0)
    return json_node_new (JSON_NODE_NULL);
  if (size > MAX_ANSWER_BYTES || !g_utf8_validate (data, size, NULL) ||
      !json_parser_load_from_data (parser, data, size, &error_local) ||
      json_parser_get_root (parser) == NULL)
    {
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED,
                   /* TRANSLATORS: %s is the gateway's address */
                   _("the gateway at %s sent an answer that is not JSON"), self->url);
      return NULL;
    }
  return json_node_ref (json_parser_get_root (parser));
}

/* An HTTP error status: the API's {"error":{"code","message"}} when there is one. */
static GError *
status_error (HgdCliClient *self,
              SoupMessage *msg,
              JsonNode *answer)
{
  guint status = soup_message_get_status (msg);
  HgdCliError code = HGD_CLI_ERROR_FAILED;
  JsonObject *error_object = NULL;
  const gchar *api_code = NULL;
  const gchar *api_message = NULL;

  if (status == SOUP_STATUS_UNAUTHORIZED || status == SOUP_STATUS_FORBIDDEN)
    code = HGD_CLI_ERROR_AUTH;
  if (answer != NULL && JSON_NODE_HOLDS_OBJECT (answer) &&
      hg_json_object_get_object (json_node_get_object (answer), "error", &error_object, NULL) &&
      hg_json_object_get_string (error_object, "code", &api_code, NULL) &&
      hg_json_object_get_string (error_object, "message", &api_message, NULL))
    {
      g_autofree gchar *text = hgd_cli_describe_api_error (api_code, api_message);

      g_clear_pointer (&self->last_api_error, json_node_unref);
      self->last_api_error = json_node_ref (answer);
      return g_error_new_literal (HGD_CLI_ERROR, code, text);
    }
  if (status == SOUP_STATUS_UNAUTHORIZED)
    return g_error_new_literal (
        HGD_CLI_ERROR, code,
        /* TRANSLATORS: the gateway refused the request for lack of a valid session */
        _("not logged in, or the session has ended"));
  return g_error_new (
      HGD_CLI_ERROR, code,
      /* TRANSLATORS: %u is an HTTP status number, %s its reason phrase in English */
      _("the gateway answered HTTP %u %s"), status,
      soup_message_get_reason_phrase (msg) != NULL ? soup_message_get_reason_phrase (msg) : "");
}

/**
 * hgd_cli_client_request:
 * @self: a client
 * @method: "GET", "POST", …
 * @path: below the gateway's URL, e.g. "/api/v1/health", with any query already escaped
 * @body: (nullable): a JSON body to send
 * @error: return location for a #GError
 *
 * Sends one request and waits for the answer (hemgatectl does one thing at a time).
 *
 * Returns: (transfer full): the answer (a JSON null node when it had no body), or %NULL
 *   with an %HGD_CLI_ERROR; an API error document is then kept for
 *   hgd_cli_client_get_last_api_error()
 */
JsonNode *
hgd_cli_client_request (HgdCliClient *self,
                        const gchar *method,
                        const gchar *path,
                        JsonNode *body,
                        GError **error)
{
  return hgd_cli_client_request_idempotent (self, method, path, body, NULL, error);
}

/**
 * hgd_cli_client_request_idempotent:
 * @self: a client
 * @method: as for hgd_cli_client_request()
 * @path: as for hgd_cli_client_request()
 * @body: (nullable): as for hgd_cli_client_request()
 * @idempotency_key: (nullable): sent as the `Idempotency-Key` header, so that sending the
 *   same request again with the same key does it at most once
 * @error: return location for a #GError
 *
 * As hgd_cli_client_request(), with an idempotency key.
 *
 * Returns: (transfer full): as hgd_cli_client_request()
 */
JsonNode *
hgd_cli_client_request_idempotent (HgdCliClient *self,
                                   const gchar *method,
                                   const gchar *path,
                                   JsonNode *body,
                                   const gchar *idempotency_key,
                                   GError **error)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error_local = NULL;
  g_autoptr(JsonNode) answer = NULL;
  guint status;

  g_return_val_if_fail (HGD_IS_CLI_CLIENT (self), NULL);
  g_return_val_if_fail (method != NULL, NULL);
  g_return_val_if_fail (path != NULL && path[0] == '/', NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_clear_pointer (&self->last_api_error, json_node_unref);
  msg = new_message (self, method, path, error);
  if (msg == NULL)
    return NULL;
  if (idempotency_key != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Idempotency-Key",
                                  idempotency_key);
  if (body != NULL)
    {
      gchar *text = json_to_string (body, FALSE);
      g_autoptr(GBytes) request_body
          = g_bytes_new_with_free_func (text, strlen (text), free_wiped, text);

      soup_message_set_request_body_from_bytes (msg, "application/json", request_body);
    }

  bytes = soup_session_send_and_read (self->session, msg, NULL, &error_local);
  if (bytes == NULL)
    {
      g_propagate_error (error, transport_error (self, error_local));
      return NULL;
    }
  status = soup_message_get_status (msg);
  if (SOUP_STATUS_IS_SUCCESSFUL (status))
    return parse_answer (self, bytes, error);

  answer = parse_answer (self, bytes, NULL);
  g_propagate_error (error, status_error (self, msg, answer));
  return NULL;
}

/**
 * hgd_cli_client_request_bytes:
 * @self: a client
 * @method: e.g. "POST"
 * @path: the path and query, e.g. "/api/v1/bundles/install"
 * @body: the request body, sent as application/octet-stream
 * @error: return location for a #GError
 *
 * As hgd_cli_client_request(), with a body of bytes (a bundle).
 *
 * Returns: (transfer full): as hgd_cli_client_request()
 */
JsonNode *
hgd_cli_client_request_bytes (HgdCliClient *self,
                              const gchar *method,
                              const gchar *path,
                              GBytes *body,
                              GError **error)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error_local = NULL;
  g_autoptr(JsonNode) answer = NULL;

  g_return_val_if_fail (HGD_IS_CLI_CLIENT (self), NULL);
  g_return_val_if_fail (path != NULL && path[0] == '/', NULL);
  g_return_val_if_fail (body != NULL, NULL);

  g_clear_pointer (&self->last_api_error, json_node_unref);
  msg = new_message (self, method, path, error);
  if (msg == NULL)
    return NULL;
  soup_message_set_request_body_from_bytes (msg, "application/octet-stream", body);
  bytes = soup_session_send_and_read (self->session, msg, NULL, &error_local);
  if (bytes == NULL)
    {
      g_propagate_error (error, transport_error (self, error_local));
      return NULL;
    }
  if (SOUP_STATUS_IS_SUCCESSFUL (soup_message_get_status (msg)))
    return parse_answer (self, bytes, error);
  answer = parse_answer (self, bytes, NULL);
  g_propagate_error (error, status_error (self, msg, answer));
  return NULL;
}

/**
 * hgd_cli_client_get_last_api_error:
 * @self: a client
 *
 * Returns: (transfer none) (nullable): the `{"error": {"code", "message"}}` document of
 *   the last request that failed with one, for `--json`
 */
JsonNode *
hgd_cli_client_get_last_api_error (HgdCliClient *self)
{
  g_return_val_if_fail (HGD_IS_CLI_CLIENT (self), NULL);
  return self->last_api_error;
}

static void
websocket_connect_cb (GObject *source,
                      GAsyncResult *result,
                      gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  HgdCliClient *self = g_task_get_source_object (task);
  SoupMessage *msg = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupWebsocketConnection) connection = NULL;
  guint status;

  connection = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (connection != NULL)
    {
      g_task_return_pointer (task, g_steal_pointer (&connection), g_object_unref);
      return;
    }
  status = soup_message_get_status (msg);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_task_return_error (task, g_steal_pointer (&error));
  else if (status >= 300)
    g_task_return_error (task, status_error (self, msg, NULL));
  else
    g_task_return_error (task, transport_error (self, error));
}

/**
 * hgd_cli_client_websocket_connect_async:
 * @self: a client
 * @path: below the gateway's URL, e.g. "/api/v1/events?after=12"
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when connected or failed
 * @user_data: for @callback
 *
 * Opens a WebSocket with the bearer token in the handshake.
 */
void
hgd_cli_client_websocket_connect_async (HgdCliClient *self,
                                        const gchar *path,
                                        GCancellable *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  SoupMessage *msg;

  g_return_if_fail (HGD_IS_CLI_CLIENT (self));
  g_return_if_fail (path != NULL && path[0] == '/');

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hgd_cli_client_websocket_connect_async);
  msg = new_message (self, "GET", path, &error);
  if (msg == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_set_task_data (task, msg, g_object_unref);
  soup_session_websocket_connect_async (self->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        cancellable, websocket_connect_cb, g_steal_pointer (&task));
}

SoupWebsocketConnection *
hgd_cli_client_websocket_connect_finish (HgdCliClient *self,
                                         GAsyncResult *result,
                                         GError **error)
{
  g_return_val_if_fail (HGD_IS_CLI_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The API's stable error codes, each with the text hemgatectl shows for it; with_detail
 * when the API's English message says something the text cannot (which member, which id). */
static const struct
{
  const gchar *code;
  const gchar *text;
  gboolean with_detail;
} api_error_texts[] = {
  /* TRANSLATORS: the gateway's answer when the user name or password is wrong */
  { "bad-login", N_("wrong user name or password"), FALSE },
  /* TRANSLATORS: the gateway's answer when no valid session token was sent */
  { "unauthenticated", N_("not logged in, or the session has ended"), FALSE },
  /* TRANSLATORS: the gateway's answer when the user's role may not do this */
  { "forbidden", N_("not allowed"), TRUE },
  /* TRANSLATORS: the gateway's answer when a resident cancels an alarm someone else raised */
  { "not-own-alarm", N_("you can only cancel an alarm you raised yourself"), FALSE },
  /* TRANSLATORS: the gateway's answer when a resident cancels a technical alarm (a fault of
   * the alarm line, which staff handle) */
  { "technical-alarm",
    N_("a technical alarm is handled by the staff and cannot be cancelled here"), FALSE },
  /* TRANSLATORS: the gateway's answer when too many logins failed */
  { "rate-limited", N_("too many failed attempts; wait a few minutes and try again"), FALSE },
  /* TRANSLATORS: the gateway's answer for a route or thing that does not exist */
  { "not-found", N_("not found"), TRUE },
  /* TRANSLATORS: the gateway's answer when a user name is already taken */
  { "user-exists", N_("that user name is already taken"), FALSE },
  /* TRANSLATORS: the gateway's answer to a request it cannot accept */
  { "invalid-request", N_("the gateway did not accept the request"), TRUE },
  /* TRANSLATORS: the gateway's answer to a request body that is not JSON */
  { "invalid-json", N_("the gateway could not read the request"), TRUE },
  /* TRANSLATORS: the gateway's answer to a request body that gives one field twice */
  { "duplicate-member", N_("the request gives a field more than once"), TRUE },
  /* TRANSLATORS: the gateway's answer to a text with a control character (e.g. a line
   * break or a tab) in it */
  { "control-character", N_("a text may not contain control characters such as line breaks"),
    TRUE },
  /* TRANSLATORS: the gateway's answer to a request of the wrong content type */
  { "unsupported-media-type", N_("the gateway could not read the request"), TRUE },
  /* TRANSLATORS: the gateway's answer to a request that is too large */
  { "payload-too-large", N_("the request is too large"), TRUE },
  /* TRANSLATORS: the gateway's answer when this version of it lacks an operation */
  { "method-not-allowed", N_("the gateway does not offer this operation"), FALSE },
  /* TRANSLATORS: the gateway's answer when this version of it lacks an operation */
  { "not-supported", N_("the gateway does not offer this operation"), TRUE },
  /* TRANSLATORS: the gateway's answer when an --idempotency-key is not a usable key */
  { "invalid-idempotency-key", N_("the idempotency key is not valid"), TRUE },
  /* TRANSLATORS: the gateway's answer when an idempotency key was already used for another
   * alarm */
  { "idempotency-key-reused", N_("that idempotency key was already used for a different alarm"),
    TRUE },
  /* TRANSLATORS: the gateway's answer when the alarm with this idempotency key is still being
   * raised */
  { "idempotency-key-in-flight", N_("the alarm with this idempotency key is still being raised"),
    FALSE },
  /* TRANSLATORS: the gateway's answer when an alarm cannot move to the state asked for */
  { "invalid-transition", N_("the alarm cannot change to that state"), TRUE },
  /* TRANSLATORS: the gateway's answer when its event journal cannot be used (e.g. disk full) */
  { "journal-unavailable", N_("the gateway's journal is unavailable; the operation was not done"),
    TRUE },
  /* TRANSLATORS: the gateway's answer when its user accounts cannot be used */
  { "accounts-unavailable", N_("the gateway's user accounts are unavailable"), TRUE },
  /* TRANSLATORS: the gateway's answer when a part of it is down */
  { "unavailable", N_("the gateway cannot do this right now; try again later"), TRUE },
  /* TRANSLATORS: the gateway's answer when an operation took too long */
  { "timed-out", N_("the operation took too long"), TRUE },
  /* TRANSLATORS: the gateway's answer while it stops */
  { "shutting-down", N_("the gateway is shutting down; try again in a moment"), FALSE },
  /* TRANSLATORS: the gateway's answer to an internal failure */
  { "internal", N_("the gateway failed internally; see its log"), FALSE },
};

/**
 * hgd_cli_describe_api_error:
 * @code: the API error's stable `code`
 * @message: the API's English message
 *
 * The one place where an API error becomes the text a user reads: translated text chosen
 * by @code (with the English detail where it helps), or the English message alone for a
 * code hemgatectl does not know.
 *
 * Returns: (transfer full): the text
 */
gchar *
hgd_cli_describe_api_error (const gchar *code,
                            const gchar *message)
{
  g_return_val_if_fail (code != NULL, NULL);
  g_return_val_if_fail (message != NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (api_error_texts); i++)
    {
      if (g_strcmp0 (api_error_texts[i].code, code) != 0)
        continue;
      if (!api_error_texts[i].with_detail)
        return g_strdup (_(api_error_texts[i].text));
      /* TRANSLATORS: an error from the gateway: the first %s is the translated reason,
       * the second the gateway's own English detail */
      return g_strdup_printf (_("%s: %s"), _(api_error_texts[i].text), message);
    }
  return g_strdup (message);
}
