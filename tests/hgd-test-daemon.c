/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdTestDaemon: builds a config in a private state dir (port 0, loopback, TLS off unless
 * asked), creates and starts the daemon in-process, adds one user per role, and makes
 * HTTP requests with a real SoupSession, iterating the main context until each answer. */
#include "config.h"

#include <string.h>

#include "hgd-test-daemon.h"

static const struct
{
  const gchar *username;
  const gchar *password;
} test_users[] = {
  { "resident", "resident-test-passphrase" },
  { "family", "family-test-passphrase" },
  { "staff", "staff-test-passphrase" },
  { "admin", "admin-test-passphrase" },
  { "service", "service-test-passphrase" },
  { "guardian", "guardian-test-passphrase" },
  { "auditor", "auditor-test-passphrase" },
};
G_STATIC_ASSERT (G_N_ELEMENTS (test_users) == HGD_ROLE_LAST);

const gchar *
hgd_test_username (HgdRole role)
{
  g_assert_true (role < HGD_ROLE_LAST);
  return test_users[MIN (role, HGD_ROLE_LAST - 1)].username;
}

const gchar *
hgd_test_password (HgdRole role)
{
  g_assert_true (role < HGD_ROLE_LAST);
  return test_users[MIN (role, HGD_ROLE_LAST - 1)].password;
}

static void
started_cb (GObject *source,
            GAsyncResult *result,
            gpointer user_data)
{
  gboolean *done = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (hgd_daemon_start_finish (HGD_DAEMON (source), result, &error));
  g_assert_no_error (error);
  *done = TRUE;
}

HgdTestDaemon *
hgd_test_daemon_new (const HgdTestDaemonOptions *options)
{
  g_autoptr(HgdTestDaemon) td = g_new0 (HgdTestDaemon, 1);
  g_autoptr(GError) error = NULL;
  HgdAccounts *accounts;
  gboolean started = FALSE;

  td->tls = options != NULL && options->tls;
  if (options != NULL && options->state_dir != NULL)
    td->state_dir = g_strdup (options->state_dir);
  else
    td->state_dir = g_build_filename (g_get_user_data_dir (), "hemgate-state", NULL);

  td->config = hgd_config_new ();
  hgd_config_set_override (td->config, "daemon", "state-dir", td->state_dir);
  hgd_config_set_override (td->config, "api", "listen-address", "127.0.0.1");
  hgd_config_set_override (td->config, "api", "port", "0");
  hgd_config_set_override (td->config, "api", "tls", td->tls ? "true" : "false");
  /* the test's own keyring on its session bus (run-with-keyring.sh): hemgated's private
   * Secret Service would make the test process' session bus its own, once per process */
  hgd_config_set_override (td->config, "secrets", "service", "session");
  if (options != NULL && options->example_plugin)
    {
      /* the build tree: <builddir>/plugins/example/ holds the module and its manifest */
      const gchar *build_root = g_getenv ("HGD_TEST_BUILD_ROOT");
      g_autofree gchar *plugins = NULL;
      g_autofree gchar *host = NULL;

      g_assert_nonnull (build_root);
      plugins = g_build_filename (build_root, "plugins", NULL);
      host = g_build_filename (build_root, "daemon", "host", "hemgate-plugin-host", NULL);
      hgd_config_set_override (td->config, "plugins", "directory", plugins);
      hgd_config_set_override (td->config, "plugins", "host", host);
      hgd_config_set_override (td->config, "plugin:example", "plugin", "example");
      hgd_config_set_override (td->config, "plugin:example", "domain", "personal");
    }
  for (guint i = 0; options != NULL && options->overrides != NULL && options->overrides[i] != NULL;
       i += 3)
    hgd_config_set_override (td->config, options->overrides[i], options->overrides[i + 1],
                             options->overrides[i + 2]);

  td->daemon = hgd_daemon_new (td->config, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (td->daemon);
  hgd_daemon_start_async (td->daemon, NULL, started_cb, &started);
  hg_test_wait_until (&started, 30);

  accounts = hgd_daemon_get_accounts (td->daemon);
  for (guint i = 0; i < HGD_ROLE_LAST; i++)
    {
      if (hgd_accounts_has_user (accounts, test_users[i].username))
        continue;
      hgd_accounts_add_user (accounts, test_users[i].username, (HgdRole)i, test_users[i].password,
                             &error);
      g_assert_no_error (error);
    }

  td->url = g_strdup (hgd_api_get_url (hgd_daemon_get_api (td->daemon)));
  g_assert_nonnull (td->url);
  g_assert_true (g_str_has_prefix (td->url, td->tls ? "https://127.0.0.1:" : "http://127.0.0.1:"));
  /* no proxy: the default resolver reads GSettings, which the isolated test dirs lack */
  td->session = soup_session_new_with_options ("timeout", 30, "proxy-resolver", NULL, NULL);
  return g_steal_pointer (&td);
}

static void
stopped_cb (GObject *source,
            GAsyncResult *result,
            gpointer user_data)
{
  gboolean *done = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (hgd_daemon_stop_finish (HGD_DAEMON (source), result, &error));
  g_assert_no_error (error);
  *done = TRUE;
}

static gboolean
journals_closed (gpointer data)
{
  HgdJournal **journals = data;

  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    if (journals[i] != NULL)
      return FALSE;
  return TRUE;
}

void
hgd_test_daemon_free (HgdTestDaemon *td)
{
  HgdJournal *journals[HG_DOMAIN_LAST] = { NULL, };

  if (td->session != NULL)
    soup_session_abort (td->session);
  if (td->daemon != NULL)
    {
      gboolean stopped = FALSE;
      hgd_daemon_stop_async (td->daemon, NULL, stopped_cb, &stopped);
      hg_test_wait_until (&stopped, 30);
      for (guint i = 0; i < HG_DOMAIN_LAST; i++)
        {
          journals[i] = hgd_daemon_get_journal (td->daemon, i);
          if (journals[i] != NULL)
            g_object_add_weak_pointer (G_OBJECT (journals[i]), (gpointer *) &journals[i]);
        }
    }
  g_clear_object (&td->session);
  g_clear_object (&td->daemon);
  g_clear_object (&td->config);
  g_clear_object (&td->peer_certificate);
  for (guint i = 0; i < HGD_ROLE_LAST; i++)
    g_free (td->tokens[i]);
  /* let the journals' and the server's last callbacks run */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  /* the run is over when its journals are closed (their WAL checkpointed): nothing of the
   * stopped daemon may hold one on, or it would write into the next test's files */
  if (!journals_closed (journals))
    g_error ("a journal of the stopped daemon is still held: it would be closed (its WAL "
             "checkpointed) later, into the files of whatever comes next");
  g_free (td->state_dir);
  g_free (td->url);
  g_free (td);
}

gchar *
hgd_test_daemon_uri (HgdTestDaemon *td,
                     const gchar *path)
{
  return g_strconcat (td->url, path, NULL);
}

static gboolean
accept_certificate_cb (SoupMessage *msg,
                       GTlsCertificate *certificate,
                       GTlsCertificateFlags errors,
                       gpointer user_data)
{
  /* the daemon's certificate is self-signed; the TLS test compares it with the file */
  return TRUE;
}

typedef struct
{
  gboolean done;
  GBytes *body;
  GError *error;
} SendData;

static void
send_cb (GObject *source,
         GAsyncResult *result,
         gpointer user_data)
{
  SendData *data = user_data;

  data->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &data->error);
  data->done = TRUE;
}

HgdTestResponse *
hgd_test_daemon_send (HgdTestDaemon *td,
                      SoupMessage *msg)
{
  SendData data = { FALSE, NULL, NULL };
  HgdTestResponse *response = g_new0 (HgdTestResponse, 1);
  SoupMessageHeaders *headers;
  const gchar *content_type;

  if (td->tls)
    g_signal_connect (msg, "accept-certificate", G_CALLBACK (accept_certificate_cb), td);
  soup_session_send_and_read_async (td->session, msg, G_PRIORITY_DEFAULT, NULL, send_cb, &data);
  hg_test_wait_until (&data.done, 60);
  g_assert_no_error (data.error);

  if (td->tls && soup_message_get_tls_peer_certificate (msg) != NULL)
    g_set_object (&td->peer_certificate, soup_message_get_tls_peer_certificate (msg));

  headers = soup_message_get_response_headers (msg);
  response->status = soup_message_get_status (msg);
  response->headers = soup_message_headers_ref (headers);
  response->body = data.body;
  content_type = soup_message_headers_get_content_type (headers, NULL);
  if (g_strcmp0 (content_type, "application/json") == 0 && g_bytes_get_size (data.body) > 0)
    {
      g_autoptr(GError) error = NULL;
      response->json = hg_json_parse_object (g_bytes_get_data (data.body, NULL),
                                             g_bytes_get_size (data.body), 0, &error);
      g_assert_no_error (error);
    }
  return response;
}

HgdTestResponse *
hgd_test_daemon_request (HgdTestDaemon *td,
                         const gchar *method,
                         const gchar *path,
                         const gchar *token,
                         const gchar *json_body)
{
  g_autofree gchar *uri = hgd_test_daemon_uri (td, path);
  g_autoptr(SoupMessage) msg = hg_test_http_message_new (method, uri, token, json_body);

  return hgd_test_daemon_send (td, msg);
}

void
hgd_test_response_free (HgdTestResponse *response)
{
  soup_message_headers_unref (response->headers);
  g_bytes_unref (response->body);
  g_clear_pointer (&response->json, json_object_unref);
  g_free (response);
}

/* The `error.code` of an error answer, or NULL. */
const gchar *
hgd_test_response_error_code (HgdTestResponse *response)
{
  JsonObject *error = NULL;
  const gchar *code = NULL;

  if (response->json == NULL || !hg_json_object_get_object (response->json, "error", &error, NULL)
      || !hg_json_object_get_string (error, "code", &code, NULL))
    return NULL;
  return code;
}

/* Logs in over the API; every call makes a new session. */
gchar *
hgd_test_daemon_login (HgdTestDaemon *td,
                       HgdRole role)
{
  g_autofree gchar *body = g_strdup_printf ("{\"username\":\"%s\",\"password\":\"%s\"}",
                                            hgd_test_username (role), hgd_test_password (role));
  g_autoptr(HgdTestResponse) response
      = hgd_test_daemon_request (td, "POST", "/api/v1/auth/login", NULL, body);
  const gchar *token = NULL;

  g_assert_cmpuint (response->status, ==, SOUP_STATUS_OK);
  g_assert_nonnull (response->json);
  g_assert_true (hg_json_object_get_string (response->json, "token", &token, NULL));
  return g_strdup (token);
}

/* One session per role for the whole test (password hashing is deliberately slow). */
const gchar *
hgd_test_daemon_get_token (HgdTestDaemon *td,
                           HgdRole role)
{
  g_assert_true (role < HGD_ROLE_LAST);
  if (td->tokens[role] == NULL)
    td->tokens[role] = hgd_test_daemon_login (td, role);
  return td->tokens[role];
}

typedef struct
{
  gboolean done;
  GError *error;
} AppendData;

static void
append_cb (GObject *source,
           GAsyncResult *result,
           gpointer user_data)
{
  AppendData *data = user_data;

  hgd_journal_append_finish (HGD_JOURNAL (source), result, &data->error);
  data->done = TRUE;
}

/* Journals an event in @domain directly, as a plugin would; returns its sequence number. */
guint64
hgd_test_daemon_append_event (HgdTestDaemon *td,
                              HgDomain domain,
                              const gchar *type)
{
  HgdJournal *journal = hgd_daemon_get_journal (td->daemon, domain);
  g_autoptr(HgEvent) event = hg_event_new (type, NULL);
  AppendData data = { FALSE, NULL };

  g_assert_nonnull (journal);
  hg_event_set_source (event, "plugin:test");
  hgd_journal_append_async (journal, event, NULL, NULL, append_cb, &data);
  hg_test_wait_until (&data.done, 30);
  g_assert_no_error (data.error);
  g_assert_cmpuint (hg_event_get_seq (event), >, 0);
  return hg_event_get_seq (event);
}
