/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Benchmark of staff logins through the municipality's identity provider (issue 16), with
 * the real OpenID Provider of the tests (tests/oidc/provider.mjs, node) on 127.0.0.1 and a
 * real hemgated in this process:
 *
 *   login      the browser's round trip, as a tablet's browser makes it: the click on "Log
 *              in with <municipality>" (GET /api/v1/auth/oidc/login), the provider's
 *              redirects and its login and consent forms, the callback, the redirect to
 *              the web UI and what the staff view loads first (/, the session, the alarms,
 *              health); each login on a fresh cookie jar, so a whole login at the provider
 *   requests   what an OIDC session costs per API request against a local one: GET
 *              /api/v1/auth/session on one keep-alive connection, blocks of each token
 *              interleaved; requests/s and this process's CPU time per request (the
 *              gateway and the client both live here; the provider is not asked). Under
 *              callgrind (`valgrind --tool=callgrind`), one block of each is counted in
 *              instructions instead: each is dumped on its own (CALLGRIND_DUMP_STATS_AT)
 *   logout     from the provider's back-channel logout of a logged-in staff member (its
 *              admin call, which sends the signed logout token to the gateway) to the
 *              gateway refusing that session's next request
 *
 * Needs a Secret Service for the client secret: run it under
 * daemon/core/tests/run-with-keyring.sh (bench/RESULTS.md has the command).
 *
 * Usage: bench-oidc BUILDDIR [LOGINS] [LOGOUTS] [REQUESTS] */
#include "config.h"

#include <cjose/cjose.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <valgrind/callgrind.h>

#include "hg-test-http.h"
#include "hg-test-oidc.h"
#include "hgd-oidc.h"
#include "hgd-test-daemon.h"

#define CLIENT_ID "hemgate-bench-gateway"
#define BLOCKS 10 /* interleaved blocks of requests per token */

typedef struct
{
  gchar *dir;
  HgTestOidcProvider *op;
  HgdTestDaemon *td;
  SoupSession *browser;
} Bench;

/* A request of the browser (its cookies; a bearer @token if given), no redirects followed,
 * while the main context runs; its status, and where it redirects to in @location. */
static guint
browse (SoupSession *browser,
        const gchar *uri,
        const gchar *accept,
        const gchar *token,
        gchar **location)
{
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);

  g_assert_nonnull (msg);
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
  if (accept != NULL)
    soup_message_headers_replace (headers, "Accept", accept);
  if (token != NULL)
    {
      g_autofree gchar *bearer = g_strconcat ("Bearer ", token, NULL);
      soup_message_headers_replace (headers, "Authorization", bearer);
    }
  g_bytes_unref (hg_test_http_send (browser, msg));
  if (location != NULL)
    *location = hg_test_http_location (msg);
  return soup_message_get_status (msg);
}

static JsonObject *
user_json (const gchar *name,
           const gchar *group)
{
  JsonObject *user = json_object_new ();
  JsonArray *groups = json_array_new ();

  json_object_set_string_member (user, "name", name);
  json_array_add_string_element (groups, group);
  json_object_set_array_member (user, "groups", groups);
  return user;
}

static void
store_secret_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (hgd_secrets_store_finish (HGD_SECRETS (source), result, &error));
  *(gboolean *) user_data = TRUE;
}

static void
bench_set_up (Bench *bench)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) config = json_object_new ();
  g_autoptr(JsonObject) jwk = NULL;
  JsonObject *users = json_object_new ();
  guint16 port = hg_test_free_port ();
  g_autofree gchar *port_text = g_strdup_printf ("%u", port);
  g_autofree gchar *redirect = g_strdup_printf ("http://127.0.0.1:%u/api/v1/auth/oidc/callback",
                                                port);
  g_autofree gchar *backchannel = g_strdup_printf (
      "http://127.0.0.1:%u/api/v1/auth/oidc/backchannel-logout", port);
  g_autofree gchar *secret = g_strdup_printf ("bench-secret-%08x%08x", g_random_int (),
                                              g_random_int ());
  g_autofree gchar *jwk_text = NULL;
  cjose_jwk_t *key;
  cjose_err err;
  gboolean stored = FALSE;

  bench->dir = g_dir_make_tmp ("hemgate-bench-oidc-XXXXXX", &error);
  g_assert_no_error (error);
  key = cjose_jwk_create_RSA_random (2048, NULL, 0, &err);
  g_assert_nonnull (key);
  g_assert_true (cjose_jwk_set_kid (key, "bench-key", strlen ("bench-key"), &err));
  jwk_text = cjose_jwk_to_json (key, true, &err);
  cjose_jwk_release (key);
  jwk = hg_json_parse_object (jwk_text, strlen (jwk_text), 0, &error);
  g_assert_no_error (error);
  json_object_set_string_member (jwk, "alg", "RS256");
  json_object_set_string_member (jwk, "use", "sig");
  json_object_set_string_member (config, "client_id", CLIENT_ID);
  json_object_set_string_member (config, "client_secret", secret);
  json_object_set_string_member (config, "redirect_uri", redirect);
  json_object_set_string_member (config, "backchannel_logout_uri", backchannel);
  json_object_set_object_member (config, "jwk", json_object_ref (jwk));
  json_object_set_object_member (users, "anna", user_json ("Anna Andersson", "hemtjanst"));
  json_object_set_object_member (config, "users", users);
  bench->op = hg_test_oidc_provider_new (bench->dir, config);

  {
    const gchar *overrides[] = {
      "api", "port", port_text,
      "oidc", "issuer", bench->op->issuer,
      "oidc", "client-id", CLIENT_ID,
      "oidc", "redirect-uri", redirect,
      "oidc", "display-name", "Benchkommunen",
      "oidc", "staff", "hemtjanst",
      NULL,
    };
    HgdTestDaemonOptions options = { .overrides = overrides };

    bench->td = hgd_test_daemon_new (&options);
  }
  hgd_secrets_store_async (hgd_daemon_get_secrets (bench->td->daemon), HG_DOMAIN_MUNICIPAL,
                           "core", HGD_OIDC_CLIENT_SECRET_KEY, secret, NULL, store_secret_cb,
                           &stored);
  hg_test_wait_until (&stored, 30);
  bench->browser = soup_session_new_with_options ("timeout", 30, "proxy-resolver", NULL, NULL);
}

/* One whole login, as the browser makes it; the session's token (the cookie). @idp_time:
 * the part from the click to the callback's answer. */
static gchar *
login_once (Bench *bench,
            gint64 *idp_time,
            gint64 *total_time)
{
  g_autofree gchar *click = hgd_test_daemon_uri (bench->td, "/api/v1/auth/oidc/login");
  g_autofree gchar *at_provider = NULL;
  g_autofree gchar *callback = NULL;
  g_autofree gchar *ui = NULL;
  g_autoptr(GSList) cookies = NULL;
  const gchar *view[] = { "/api/v1/auth/session", "/api/v1/alarms", "/api/v1/health" };
  gchar *token = NULL;
  SoupCookieJar *jar;
  gint64 start;

  /* a fresh browser: no single sign-on from the login before */
  soup_session_remove_feature_by_type (bench->browser, SOUP_TYPE_COOKIE_JAR);
  soup_session_add_feature_by_type (bench->browser, SOUP_TYPE_COOKIE_JAR);
  jar = SOUP_COOKIE_JAR (soup_session_get_feature (bench->browser, SOUP_TYPE_COOKIE_JAR));

  start = g_get_monotonic_time ();
  g_assert_cmpuint (browse (bench->browser, click, "text/html", NULL, &at_provider), ==,
                    SOUP_STATUS_FOUND);
  callback = hg_test_oidc_provider_sign_in (bench->op, bench->browser, at_provider, "anna",
                                            bench->td->url);
  g_assert_nonnull (callback);
  g_assert_cmpuint (browse (bench->browser, callback, "text/html", NULL, &ui), ==,
                    SOUP_STATUS_SEE_OTHER);
  *idp_time = g_get_monotonic_time () - start;
  /* the web UI and what the staff view asks for first, with the session's cookie */
  g_assert_cmpuint (browse (bench->browser, ui, "text/html", NULL, NULL), ==, SOUP_STATUS_OK);
  for (guint i = 0; i < G_N_ELEMENTS (view); i++)
    {
      g_autofree gchar *uri = hgd_test_daemon_uri (bench->td, view[i]);
      g_assert_cmpuint (browse (bench->browser, uri, "application/json", NULL, NULL), ==,
                        SOUP_STATUS_OK);
    }
  *total_time = g_get_monotonic_time () - start;

  cookies = soup_cookie_jar_all_cookies (jar);
  for (GSList *l = cookies; l != NULL; l = l->next)
    {
      if (token == NULL && g_strcmp0 (soup_cookie_get_name (l->data), "hemgate_session") == 0)
        token = g_strdup (soup_cookie_get_value (l->data));
    }
  g_slist_free_full (g_steal_pointer (&cookies), (GDestroyNotify) soup_cookie_free);
  g_assert_nonnull (token);
  return token;
}

static gint
compare_int64 (gconstpointer a,
               gconstpointer b)
{
  gint64 x = *(const gint64 *) a;
  gint64 y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

/* The p-th percentile (nearest rank) of @values, sorted here. */
static gint64
percentile (GArray *values,
            guint p)
{
  guint rank;

  g_array_sort (values, compare_int64);
  rank = (values->len * p + 99) / 100;
  return g_array_index (values, gint64, MAX (rank, 1) - 1);
}

static void
print_times (const gchar *what,
             GArray *values)
{
  printf ("  %-34s n=%u  median %.1f ms  p90 %.1f ms  min %.1f ms  max %.1f ms\n", what,
          values->len, percentile (values, 50) / 1000.0, percentile (values, 90) / 1000.0,
          percentile (values, 0) / 1000.0, percentile (values, 100) / 1000.0);
}

static void
bench_login (Bench *bench,
             guint n)
{
  g_autoptr(GArray) idp = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) total = g_array_new (FALSE, FALSE, sizeof (gint64));

  printf ("== login through the identity provider, click to staff view (%u logins)\n", n);
  for (guint i = 0; i < n + 1; i++)
    {
      gint64 a, b;
      g_autofree gchar *token = login_once (bench, &a, &b);

      if (i == 0)
        continue; /* the first one warms up the provider (its discovery, node's JIT) */
      g_array_append_val (idp, a);
      g_array_append_val (total, b);
    }
  print_times ("click -> callback answered", idp);
  print_times ("click -> staff view loaded", total);
}

static gint64
cpu_usec (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return (gint64) usage.ru_utime.tv_sec * G_USEC_PER_SEC + usage.ru_utime.tv_usec +
         (gint64) usage.ru_stime.tv_sec * G_USEC_PER_SEC + usage.ru_stime.tv_usec;
}

static void
requests (Bench *bench,
          SoupSession *client,
          const gchar *token,
          guint n)
{
  g_autofree gchar *uri = hgd_test_daemon_uri (bench->td, "/api/v1/auth/session");

  for (guint i = 0; i < n; i++)
    g_assert_cmpuint (browse (client, uri, "application/json", token, NULL), ==, SOUP_STATUS_OK);
}

static void
bench_requests (Bench *bench,
                guint n)
{
  g_autoptr(SoupSession) client = soup_session_new_with_options ("proxy-resolver", NULL, NULL);
  const gchar *local = hgd_test_daemon_get_token (bench->td, HGD_ROLE_STAFF);
  gint64 a, b;
  g_autofree gchar *oidc = login_once (bench, &a, &b);
  const gchar *tokens[] = { local, oidc };
  const gchar *names[] = { "local staff session", "OIDC staff session" };
  g_autoptr(GArray) local_rate = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) oidc_rate = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) local_cpu = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) oidc_cpu = g_array_new (FALSE, FALSE, sizeof (gint64));
  GArray *rate[2] = { local_rate, oidc_rate };
  GArray *cpu[2] = { local_cpu, oidc_cpu };

  requests (bench, client, local, 50); /* the connection and the caches warm */
  requests (bench, client, oidc, 50);
  if (RUNNING_ON_VALGRIND)
    {
      printf ("== GET /api/v1/auth/session, %u requests of each session under callgrind: "
              "see the dumps `local` and `oidc`\n", n);
      for (guint t = 0; t < 2; t++)
        {
          CALLGRIND_ZERO_STATS;
          requests (bench, client, tokens[t], n);
          CALLGRIND_DUMP_STATS_AT (t == 0 ? "local" : "oidc");
        }
      return;
    }
  printf ("== GET /api/v1/auth/session, one keep-alive connection, %u blocks of %u requests "
          "per session, interleaved\n", BLOCKS, n);
  for (guint block = 0; block < BLOCKS; block++)
    {
      for (guint t = 0; t < 2; t++)
        {
          guint which = (block + t) % 2; /* alternate which goes first */
          gint64 wall = g_get_monotonic_time ();
          gint64 used = cpu_usec ();
          gint64 per_second;
          gint64 cpu_ns;

          requests (bench, client, tokens[which], n);
          wall = g_get_monotonic_time () - wall;
          used = cpu_usec () - used;
          per_second = (gint64) n * G_USEC_PER_SEC / MAX (wall, 1);
          cpu_ns = used * 1000 / n;
          g_array_append_val (rate[which], per_second);
          g_array_append_val (cpu[which], cpu_ns);
        }
    }
  for (guint t = 0; t < 2; t++)
    printf ("  %-22s median %" G_GINT64_FORMAT " requests/s (min %" G_GINT64_FORMAT
            ", max %" G_GINT64_FORMAT "), CPU %.1f µs/request (min %.1f, max %.1f)\n",
            names[t], percentile (rate[t], 50), percentile (rate[t], 0),
            percentile (rate[t], 100), percentile (cpu[t], 50) / 1000.0,
            percentile (cpu[t], 0) / 1000.0, percentile (cpu[t], 100) / 1000.0);
  printf ("  OIDC / local: requests/s %.3f, CPU per request %.3f (medians)\n",
          (gdouble) percentile (rate[1], 50) / (gdouble) percentile (rate[0], 50),
          (gdouble) percentile (cpu[1], 50) / (gdouble) percentile (cpu[0], 50));
}

static void
bench_logout (Bench *bench,
              guint n)
{
  g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(SoupSession) client = soup_session_new_with_options ("proxy-resolver", NULL, NULL);
  g_autofree gchar *uri = hgd_test_daemon_uri (bench->td, "/api/v1/auth/session");

  printf ("== back-channel logout to the session refused (%u logouts)\n", n);
  for (guint i = 0; i < n; i++)
    {
      gint64 a, b, start;
      g_autofree gchar *token = login_once (bench, &a, &b);
      guint polls = 0;

      g_assert_cmpuint (browse (client, uri, "application/json", token, NULL), ==,
                        SOUP_STATUS_OK);
      start = g_get_monotonic_time ();
      hg_test_oidc_provider_admin (bench->op, "/admin/users/anna/logout", NULL);
      while (browse (client, uri, "application/json", token, NULL) != SOUP_STATUS_UNAUTHORIZED)
        {
          g_assert_cmpuint (++polls, <, 10000);
        }
      start = g_get_monotonic_time () - start;
      g_array_append_val (times, start);
      if (polls > 0)
        printf ("  (logout %u: %u requests still served after the provider's call returned)\n",
                i, polls);
    }
  print_times ("logout -> session refused", times);
}

int
main (int argc,
      char **argv)
{
  g_autofree gchar *build = NULL;
  guint logins = 20;
  guint logouts = 12;
  guint n_requests = 500;
  Bench bench = { 0 };

  if (argc < 2)
    {
      g_printerr ("usage: bench-oidc BUILDDIR [LOGINS] [LOGOUTS] [REQUESTS]\n");
      return 2;
    }
  build = g_canonicalize_filename (argv[1], NULL);
  if (argc > 2)
    logins = (guint) g_ascii_strtoull (argv[2], NULL, 10);
  if (argc > 3)
    logouts = (guint) g_ascii_strtoull (argv[3], NULL, 10);
  if (argc > 4)
    n_requests = (guint) g_ascii_strtoull (argv[4], NULL, 10);
  g_setenv ("HGD_TEST_BUILD_ROOT", build, TRUE);
  /* the provider of the tests, in the source tree */
  g_setenv ("HEMGATE_OIDC_PROVIDER", OIDC_PROVIDER, FALSE);

  bench_set_up (&bench);
  if (!RUNNING_ON_VALGRIND)
    bench_login (&bench, logins);
  bench_requests (&bench, n_requests);
  if (!RUNNING_ON_VALGRIND)
    bench_logout (&bench, logouts);

  soup_session_abort (bench.browser);
  g_object_unref (bench.browser);
  hgd_test_daemon_free (bench.td);
  hg_test_oidc_provider_free (bench.op);
  hg_test_rm_rf (bench.dir);
  g_free (bench.dir);
  return 0;
}
