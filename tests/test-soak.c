/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A bounded soak of the whole gateway: the real hemgated with its real plugin hosts
 * (scaip-alarm delivering to hemgate-arc-sim over TCP, mqtt-sensors in both domains on a
 * real mosquitto) under a steady mix of alarms (each with an Idempotency-Key, some sent
 * twice), sensor readings, WebSocket clients that stay and clients that come and go, and
 * logins, for HEMGATE_SOAK_SECONDS (120 by default; bench/soak runs 20 minutes).
 *
 * After a warm-up (a quarter of the run), every process's resident memory and open
 * descriptors are sampled: the second half of the run may not exceed the first by more
 * than a margin, and no process may be replaced. At the end every alarm that got a 2xx
 * is in the journal exactly once, reached the ARC exactly once and every WebSocket client
 * that stayed exactly once, and was closed. Nothing asserts how fast anything was. */
#include "config.h"

#include <glib/gstdio.h>
#include <unistd.h>

#include "hg-test-broker.h"
#include "scaip-test.h"

#define AOR "sip:4600012345@arc.test"
#define CONTROLLER_ID "4600012345"
#define PASSWORD "arc-digest-passphrase"

#define DEFAULT_SECONDS 120
#define TICK_MS 250             /* an alarm per tick */
#define SAMPLE_SECONDS 5
#define N_STAYING_CLIENTS 4
#define RSS_MARGIN_KIB 2048     /* or a tenth of the first half's, whichever is more */
/* hemgated's count moves by tens between samples as the soak's clients come and go (each
 * alarm POST is a connection of its own, kept until the client closes it or for [api]
 * keep-alive-timeout), so the medians of the two halves differ by several without a leak;
 * a leak per request, alarm or login would add hundreds over the run. */
#define FD_MARGIN 12

/* Samples of one process after the warm-up, in each half of the rest of the run, taken
 * while no login is in flight (a login's Argon2id takes 64 MiB for as long as it hashes).
 * The halves are compared by their medians, as requests in flight hold memory and
 * descriptors for a moment; a leak raises the median. */
typedef struct
{
  gint pid;
  gchar *name;       /* (owned) for messages */
  GArray *rss[2];    /* (owned) (element-type guint64) KiB */
  GArray *fds[2];    /* (owned) (element-type guint64) */
} Proc;

typedef struct
{
  SoupWebsocketConnection *conn; /* (owned) (nullable) */
  GHashTable *raised;            /* (owned) ref → count of alarm.raised seen */
  gboolean staying;              /* connected before the first alarm, to the end */
  gboolean closed;
} Client;

typedef struct
{
  ScaipTestGateway *gateway; /* (owned) */
  ScaipTestSim *sim;         /* (owned) */
  HgTestBroker *broker;      /* (owned) */
  gchar *plugin_dir;         /* (owned) */
  SoupSession *session;      /* (owned) async requests and WebSockets */
  gchar *staff_token;        /* (owned) */
  gchar *resident_token;     /* (owned) */
  GPtrArray *clients;        /* (owned) (element-type Client) */
  Client *churning;          /* (unowned) (nullable) the one that comes and goes */
  GHashTable *answered;      /* (owned) ref → GUINT (times a 2xx named it) */
  GHashTable *closing;       /* (owned) refs a close was sent for */
  GPtrArray *procs;          /* (owned) (element-type Proc) */
  guint n_pending;           /* requests without an answer yet */
  guint n_logins_pending;    /* logins hashing a password */
  gboolean sample_due;
  guint n_sent;
  guint n_replays;
  guint n_logins;
  guint n_readings;
  guint n_closed;
  guint tick;
  gint64 start;
  gint64 warm_up_end;
  gint64 half;
  gint64 end;
  gboolean loading;
} Soak;

static const gchar *
env (const gchar *name)
{
  const gchar *value = g_getenv (name);

  g_assert_nonnull (value);
  return value;
}

/* A plugin directory for this run: scaip-alarm as built, mqtt-sensors with its manifest
 * granting this broker's port instead of 1883. */
static gchar *
make_plugin_dir (guint16 port)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *root = g_dir_make_tmp ("hemgate-soak-plugins-XXXXXX", &error);
  g_autofree gchar *scaip = g_build_filename (env ("HGD_TEST_BUILD_ROOT"), "plugins",
                                              "scaip-alarm", NULL);
  g_autofree gchar *sensors = g_build_filename (env ("HGD_TEST_BUILD_ROOT"), "plugins",
                                                "mqtt-sensors", NULL);
  g_autofree gchar *grant = g_strdup_printf ("net.connect:127.0.0.1:%u", port);

  g_assert_no_error (error);
  hg_test_plugin_dir_add (root, scaip, NULL, NULL);
  hg_test_plugin_dir_add (root, sensors, "net.connect:127.0.0.1:1883", grant);
  return g_steal_pointer (&root);
}

/* processes */

static Proc *
proc_new (gint pid)
{
  Proc *p = g_new0 (Proc, 1);

  p->pid = pid;
  for (guint i = 0; i < 2; i++)
    {
      p->rss[i] = g_array_new (FALSE, FALSE, sizeof (guint64));
      p->fds[i] = g_array_new (FALSE, FALSE, sizeof (guint64));
    }
  return p;
}

static gint
compare_guint64 (gconstpointer a,
                 gconstpointer b)
{
  guint64 x = *(const guint64 *) a;
  guint64 y = *(const guint64 *) b;

  return x < y ? -1 : x > y ? 1 : 0;
}

static guint64
median (GArray *samples)
{
  g_assert_cmpuint (samples->len, >, 0);
  g_array_sort (samples, compare_guint64);
  return g_array_index (samples, guint64, samples->len / 2);
}

static gint
first_child (gint pid)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%d/task/%d/children", pid, pid);
  g_autofree gchar *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  return (gint) g_ascii_strtoll (text, NULL, 10);
}

/* The plugin host behind @child of hemgated: @child itself, or as root the host the
 * sandbox's two waiting processes stand before (daemon/core/hgd-sandbox.c). */
static gint
host_of (gint child)
{
  gint init = first_child (child);
  gint host = init > 0 ? first_child (init) : 0;

  return host > 0 ? host : child;
}

/* hemgated and its children (the plugin hosts), from /proc/<pid>/stat. */
static void
find_procs (Soak *soak)
{
  gint daemon = (gint) g_ascii_strtoll (g_subprocess_get_identifier (soak->gateway->process), NULL,
                                        10);
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const gchar *name;
  Proc *p;

  g_assert_nonnull (proc);
  p = proc_new (daemon);
  p->name = g_strdup ("hemgated");
  g_ptr_array_add (soak->procs, p);
  while ((name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree gchar *cmdline_path = NULL;
      g_autofree gchar *cmdline = NULL;
      gsize cmdline_len = 0;
      const gchar *last;
      gint ppid = 0;

      if (!g_ascii_isdigit (name[0])
          || !hg_test_proc_stat ((gint)g_ascii_strtoll (name, NULL, 10), &ppid, NULL)
          || ppid != daemon)
        continue;
      p = proc_new (host_of ((gint) g_ascii_strtoll (name, NULL, 10)));
      cmdline_path = g_strdup_printf ("/proc/%d/cmdline", p->pid);
      g_file_get_contents (cmdline_path, &cmdline, &cmdline_len, NULL);
      /* the host's last argument is its plugin's directory */
      while (cmdline_len > 0 && cmdline[cmdline_len - 1] == '\0')
        cmdline_len--;
      last = cmdline != NULL ? cmdline : "?";
      for (gsize i = 0; cmdline != NULL && i < cmdline_len; i++)
        {
          if (cmdline[i] == '\0')
            last = cmdline + i + 1;
        }
      if (strrchr (last, '/') != NULL)
        last = strrchr (last, '/') + 1;
      p->name = g_strdup_printf ("plugin host %d (%s)", p->pid, last);
      g_ptr_array_add (soak->procs, p);
    }
}

/* What a process's descriptors are, by kind, for the log when they grow. */
static void
describe_fds (Proc *p)
{
  g_autofree gchar *fd_path = g_strdup_printf ("/proc/%d/fd", p->pid);
  g_autoptr(GDir) dir = g_dir_open (fd_path, 0, NULL);
  g_autoptr(GHashTable) kinds = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GString) text = g_string_new (NULL);
  GHashTableIter iter;
  gpointer kind, count;
  const gchar *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *link = g_build_filename (fd_path, name, NULL);
      g_autofree gchar *target = g_file_read_link (link, NULL);
      gchar *colon = target != NULL ? strchr (target, ':') : NULL;
      guint n;

      if (colon != NULL)
        *colon = '\0';
      else if (target != NULL && target[0] == '/')
        target[1] = '\0';
      kind = target != NULL ? target : (gpointer) "?";
      n = GPOINTER_TO_UINT (g_hash_table_lookup (kinds, kind));
      g_hash_table_replace (kinds, g_strdup (kind), GUINT_TO_POINTER (n + 1));
    }
  g_hash_table_iter_init (&iter, kinds);
  while (g_hash_table_iter_next (&iter, &kind, &count))
    g_string_append_printf (text, " %s=%u", (const gchar *) kind, GPOINTER_TO_UINT (count));
  g_test_message ("%s: descriptors now:%s", p->name, text->str);
}

static void
proc_free (Proc *p)
{
  for (guint i = 0; i < 2; i++)
    {
      g_array_unref (p->rss[i]);
      g_array_unref (p->fds[i]);
    }
  g_free (p->name);
  g_free (p);
}

static void
sample (Soak *soak)
{
  gint64 now = g_get_monotonic_time ();

  soak->sample_due = FALSE;
  if (soak->procs->len == 0)
    {
      find_procs (soak);
      /* hemgated, scaip-alarm, and mqtt-sensors twice */
      g_assert_cmpuint (soak->procs->len, ==, 4);
    }
  for (guint i = 0; i < soak->procs->len; i++)
    {
      Proc *p = g_ptr_array_index (soak->procs, i);
      guint64 rss = 0;
      guint fds = 0;
      guint64 n_fds;
      guint half = now < soak->half ? 0 : 1;

      if (!hg_test_proc_rss_kib (p->pid, &rss) || !hg_test_proc_count_fds (p->pid, &fds))
        {
          /* a host restarted or the core died: not a quiet soak */
          g_test_message ("%s is gone during the soak", p->name);
          g_assert_not_reached ();
        }
      n_fds = fds;
      g_test_message ("sample %s: RSS %" G_GUINT64_FORMAT " KiB, %u descriptors", p->name, rss,
                      fds);
      g_array_append_val (p->rss[half], rss);
      g_array_append_val (p->fds[half], n_fds);
    }
}

static gboolean
sample_cb (gpointer user_data)
{
  Soak *soak = user_data;

  if (g_get_monotonic_time () < soak->warm_up_end)
    return G_SOURCE_CONTINUE;
  soak->sample_due = TRUE;
  if (soak->n_logins_pending == 0)
    sample (soak);
  return G_SOURCE_CONTINUE;
}

/* requests */

static SoupMessage *
message_new (Soak *soak,
             const gchar *method,
             const gchar *path,
             const gchar *token,
             const gchar *body)
{
  g_autofree gchar *uri = g_strconcat (soak->gateway->url, path, NULL);

  return hg_test_http_message_new (method, uri, token, body);
}

static JsonObject *
parse_object (GBytes *bytes)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();

  if (bytes == NULL
      || !json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL),
                                      (gssize) g_bytes_get_size (bytes), NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

typedef struct
{
  Soak *soak;
  gchar *key;    /* (owned) (nullable) the Idempotency-Key of a raise */
  gboolean replay;
  gchar *expect; /* (owned) (nullable) the ref a replay must name */
} Pending;

static void pending_free (Pending *pending)
{
  g_free (pending->key);
  g_free (pending->expect);
  g_free (pending);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Pending, pending_free)

static void raise_send (Soak *soak, const gchar *key, const gchar *expect);

static void
raised_cb (GObject *source,
           GAsyncResult *result,
           gpointer user_data)
{
  g_autoptr(Pending) pending = user_data;
  Soak *soak = pending->soak;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                               &error);
  g_autoptr(JsonObject) answer = parse_object (bytes);
  guint status = soup_message_get_status (msg);
  const gchar *ref;

  soak->n_pending--;
  g_assert_no_error (error);
  if (status != SOUP_STATUS_CREATED && status != SOUP_STATUS_OK)
    g_test_message ("POST /api/v1/alarms answered %u: %.*s", status,
                    bytes != NULL ? (int) g_bytes_get_size (bytes) : 0,
                    bytes != NULL ? (const gchar *) g_bytes_get_data (bytes, NULL) : "");
  g_assert_nonnull (answer);
  ref = json_object_get_string_member (answer, "ref");
  g_assert_nonnull (ref);
  if (pending->replay)
    {
      /* the same key again: the same alarm, said to be a replay */
      g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
      g_assert_cmpstr (soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                     "Idempotent-Replayed"),
                       ==, "true");
      g_assert_cmpstr (ref, ==, pending->expect);
      soak->n_replays++;
      return;
    }
  g_assert_cmpuint (status, ==, SOUP_STATUS_CREATED);
  g_assert_false (g_hash_table_contains (soak->answered, ref));
  g_hash_table_add (soak->answered, g_strdup (ref));
  /* every fifth: a client that did not hear the answer and tries again */
  if (g_hash_table_size (soak->answered) % 5 == 0)
    raise_send (soak, pending->key, ref);
}

static void
raise_send (Soak *soak,
            const gchar *key,
            const gchar *expect)
{
  g_autoptr(SoupMessage) msg = message_new (soak, "POST", "/api/v1/alarms", soak->staff_token,
                                            "{\"type\":\"fall\",\"source\":\"soak\"}");
  Pending *pending = g_new0 (Pending, 1);

  pending->soak = soak;
  pending->key = g_strdup (key);
  pending->replay = expect != NULL;
  pending->expect = g_strdup (expect);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Idempotency-Key", key);
  soak->n_pending++;
  soup_session_send_and_read_async (soak->session, msg, G_PRIORITY_DEFAULT, NULL, raised_cb,
                                    pending);
}

static void
closed_cb (GObject *source,
           GAsyncResult *result,
           gpointer user_data)
{
  Soak *soak = user_data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                               &error);

  soak->n_pending--;
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, SOUP_STATUS_OK);
  soak->n_closed++;
}

/* Staff close an alarm once the ARC acknowledged it, as the centre's operator would. */
static void
close_alarm (Soak *soak,
             const gchar *ref)
{
  g_autofree gchar *path = g_strdup_printf ("/api/v1/alarms/%s/transitions", ref);
  g_autoptr(SoupMessage) msg = NULL;

  if (g_hash_table_contains (soak->closing, ref))
    return;
  g_hash_table_add (soak->closing, g_strdup (ref));
  msg = message_new (soak, "POST", path, soak->staff_token, "{\"state\":\"closed\"}");
  soak->n_pending++;
  soup_session_send_and_read_async (soak->session, msg, G_PRIORITY_DEFAULT, NULL, closed_cb, soak);
}

static void
logged_out_cb (GObject *source,
               GAsyncResult *result,
               gpointer user_data)
{
  Soak *soak = user_data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GBytes) bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result, NULL);

  soak->n_pending--;
  g_assert_cmpuint (soup_message_get_status (msg), ==, SOUP_STATUS_NO_CONTENT);
}

static void
logged_in_cb (GObject *source,
              GAsyncResult *result,
              gpointer user_data)
{
  Soak *soak = user_data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GBytes) bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result, NULL);
  g_autoptr(JsonObject) answer = parse_object (bytes);
  g_autoptr(SoupMessage) logout = NULL;

  soak->n_pending--;
  soak->n_logins_pending--;
  g_assert_cmpuint (soup_message_get_status (msg), ==, SOUP_STATUS_OK);
  g_assert_nonnull (answer);
  soak->n_logins++;
  if (soak->sample_due && soak->n_logins_pending == 0)
    sample (soak);
  logout = message_new (soak, "POST", "/api/v1/auth/logout",
                        json_object_get_string_member (answer, "token"), NULL);
  soak->n_pending++;
  soup_session_send_and_read_async (soak->session, logout, G_PRIORITY_DEFAULT, NULL, logged_out_cb,
                                    soak);
}

static void
login_once (Soak *soak)
{
  static const gchar *const users[] = { "resident", "family", "staff", "admin" };
  g_autofree gchar *body
      = g_strdup_printf ("{\"username\":\"%s\",\"password\":\"" SCAIP_TEST_USER_PASSWORD "\"}",
                         users[soak->n_logins % G_N_ELEMENTS (users)]);
  g_autoptr(SoupMessage) msg = message_new (soak, "POST", "/api/v1/auth/login", NULL, body);

  soak->n_pending++;
  soak->n_logins_pending++;
  soup_session_send_and_read_async (soak->session, msg, G_PRIORITY_DEFAULT, NULL, logged_in_cb,
                                    soak);
}

/* WebSocket clients */

static void
client_message_cb (SoupWebsocketConnection *conn,
                   gint type,
                   GBytes *message,
                   gpointer user_data)
{
  Client *client = user_data;
  g_autoptr(JsonObject) event = parse_object (message);
  const gchar *event_type;
  JsonObject *body;
  const gchar *ref;

  g_assert_nonnull (event);
  event_type = json_object_get_string_member (event, "type");
  body = json_object_get_object_member (event, "body");
  ref = body != NULL ? json_object_get_string_member_with_default (body, "ref", NULL) : NULL;
  if (g_strcmp0 (event_type, "alarm.raised") == 0 && ref != NULL)
    g_hash_table_replace (client->raised, g_strdup (ref),
                          GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (client->raised,
                                                                                   ref))
                                            + 1));
}

static void
client_closed_cb (SoupWebsocketConnection *conn,
                  gpointer user_data)
{
  Client *client = user_data;

  client->closed = TRUE;
}

static void
client_free (Client *client)
{
  if (client->conn != NULL)
    {
      g_signal_handlers_disconnect_by_data (client->conn, client);
      if (soup_websocket_connection_get_state (client->conn) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (client->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_clear_object (&client->conn);
    }
  g_hash_table_unref (client->raised);
  g_free (client);
}

typedef struct
{
  Soak *soak;
  Client *client;
} Connecting;

static void
client_connected_cb (GObject *source,
                     GAsyncResult *result,
                     gpointer user_data)
{
  Connecting *connecting = user_data;
  g_autoptr(GError) error = NULL;
  Client *client = connecting->client;

  connecting->soak->n_pending--;
  client->conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  g_assert_no_error (error);
  g_signal_connect (client->conn, "message", G_CALLBACK (client_message_cb), client);
  g_signal_connect (client->conn, "closed", G_CALLBACK (client_closed_cb), client);
  g_free (connecting);
}

static Client *
client_connect (Soak *soak,
                const gchar *token,
                gboolean staying)
{
  g_autoptr(SoupMessage) msg = message_new (soak, "GET", "/api/v1/events", token, NULL);
  Client *client = g_new0 (Client, 1);
  Connecting *connecting = g_new0 (Connecting, 1);

  client->raised = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  client->staying = staying;
  connecting->soak = soak;
  connecting->client = client;
  soak->n_pending++;
  soup_session_websocket_connect_async (soak->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        client_connected_cb, connecting);
  g_ptr_array_add (soak->clients, client);
  return client;
}

/* The churning client: closed and replaced while the others stay. */
static void
churn (Soak *soak)
{
  if (soak->churning != NULL)
    {
      if (soak->churning->conn == NULL)
        return; /* still connecting */
      g_ptr_array_remove (soak->clients, soak->churning);
    }
  soak->churning = client_connect (soak, soak->tick % 2 == 0 ? soak->resident_token
                                                             : soak->staff_token,
                                   FALSE);
}

/* readings */

static void
publish_readings (Soak *soak)
{
  g_autoptr(GString) temperatures = g_string_new (NULL);

  for (guint i = 0; i < 10; i++)
    g_string_append_printf (temperatures, "{\"temperature\":%u.%u,\"humidity\":%u}\n",
                            18 + (soak->tick + i) % 6, i, 35 + i);
  hg_test_broker_publish_lines (soak->broker, "zigbee2mqtt/living-temp", temperatures->str, FALSE);
  hg_test_broker_publish_lines (soak->broker, "zigbee2mqtt/hall-door",
                                "{\"contact\":false,\"battery\":97}\n"
                                "{\"contact\":true,\"battery\":97}\n",
                                FALSE);
  soak->n_readings += 12;
}

/* the load */

static gboolean
tick_cb (gpointer user_data)
{
  Soak *soak = user_data;
  g_autofree gchar *key = NULL;
  guint per_second = 1000 / TICK_MS;

  if (g_get_monotonic_time () >= soak->end)
    {
      soak->loading = FALSE;
      return G_SOURCE_REMOVE;
    }
  soak->tick++;
  key = g_uuid_string_random ();
  raise_send (soak, key, NULL);
  soak->n_sent++;
  if (soak->tick % per_second == 0)
    publish_readings (soak);
  if (soak->tick % (2 * per_second) == 0)
    login_once (soak);
  if (soak->tick % (3 * per_second) == 0)
    churn (soak);
  return G_SOURCE_CONTINUE;
}

/* Closes what the ARC acknowledged, from what the first staying client saw. */
static void
close_acknowledged (Soak *soak)
{
  g_autoptr(JsonObject) list = scaip_test_gateway_request (soak->gateway, "GET",
                                                           "/api/v1/alarms?open=true", NULL,
                                                           SOUP_STATUS_OK);
  JsonArray *alarms = json_object_get_array_member (list, "alarms");

  for (guint i = 0; i < json_array_get_length (alarms); i++)
    {
      JsonObject *alarm = json_array_get_object_element (alarms, i);

      if (g_strcmp0 (json_object_get_string_member (alarm, "state"), "acknowledged") == 0)
        close_alarm (soak, json_object_get_string_member (alarm, "ref"));
    }
}

static gboolean
close_cb (gpointer user_data)
{
  close_acknowledged (user_data);
  return G_SOURCE_CONTINUE;
}

static gboolean
nothing_pending (gpointer data)
{
  Soak *soak = data;

  return !soak->loading && soak->n_pending == 0;
}

static gboolean
clients_connected (gpointer data)
{
  Soak *soak = data;

  return soak->n_pending == 0;
}

static gboolean
arc_has_all (gpointer data)
{
  Soak *soak = data;

  return scaip_test_sim_distinct (soak->sim, "ME") >= g_hash_table_size (soak->answered);
}

static gboolean
all_closed (gpointer data)
{
  Soak *soak = data;
  g_autoptr(JsonObject) list = NULL;

  if (soak->n_pending > 0)
    return FALSE;
  close_acknowledged (soak);
  if (soak->n_pending > 0)
    return FALSE;
  list = scaip_test_gateway_request (soak->gateway, "GET", "/api/v1/alarms?open=true", NULL,
                                     SOUP_STATUS_OK);
  return json_array_get_length (json_object_get_array_member (list, "alarms")) == 0;
}

static gchar *
login_token (ScaipTestGateway *gateway,
             const gchar *user)
{
  g_autofree gchar *body
      = g_strdup_printf ("{\"username\":\"%s\",\"password\":\"" SCAIP_TEST_USER_PASSWORD "\"}",
                         user);
  g_autoptr(JsonObject) login
      = scaip_test_gateway_request (gateway, "POST", "/api/v1/auth/login", body, SOUP_STATUS_OK);

  return g_strdup (json_object_get_string_member (login, "token"));
}

static void
test_soak (void)
{
  const gchar *const sim_args[] = { "--password", PASSWORD, NULL };
  const gchar *seconds_text = g_getenv ("HEMGATE_SOAK_SECONDS");
  guint seconds = seconds_text != NULL ? (guint) g_ascii_strtoull (seconds_text, NULL, 10)
                                       : DEFAULT_SECONDS;
  Soak soak_data = { 0 };
  Soak *soak = &soak_data;
  g_autofree gchar *uri = NULL;
  g_autofree gchar *keys = NULL;
  g_autoptr(JsonObject) all = NULL;
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GHashTable) at_arc = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) in_journal = g_hash_table_new (g_str_hash, g_str_equal);
  JsonArray *alarms;
  GHashTableIter iter;
  gpointer ref;
  guint tick_id, sample_id, close_id;

  g_test_bug ("11");
  g_test_summary ("Under a steady mix of alarms, readings, WebSocket clients and logins, the "
                  "memory and descriptors of hemgated and each plugin host stay flat after a "
                  "warm-up, and no alarm is lost or duplicated in the journal, at the ARC or on "
                  "the event stream");
  g_assert_cmpuint (seconds, >=, 40);

  soak->broker = hg_test_broker_new (NULL);
  soak->plugin_dir = make_plugin_dir (soak->broker->port);
  g_setenv ("HEMGATE_PLUGINDIR", soak->plugin_dir, TRUE);
  soak->sim = scaip_test_sim_new ("primary", sim_args);
  uri = scaip_test_sim_uri (soak->sim, "tcp");
  keys = g_strdup_printf ("aor = " AOR "\n"
                          "controller-id = " CONTROLLER_ID "\n"
                          "local-uri = sip:127.0.0.1:*\n"
                          "primary = %s\n"
                          "heartbeat-interval = 0\n"
                          "demo-password = " PASSWORD "\n"
                          "[plugin:soak-municipal]\n"
                          "plugin = mqtt-sensors\n"
                          "domain = municipal\n"
                          "broker-port = %u\n"
                          "device.hall-door.source = z2m\n"
                          "device.hall-door.kind = contact\n"
                          "device.hall-door.room = hall\n"
                          "[plugin:soak-personal]\n"
                          "plugin = mqtt-sensors\n"
                          "domain = personal\n"
                          "broker-port = %u\n"
                          "device.living-temp.source = z2m\n"
                          "device.living-temp.kind = temperature\n"
                          "device.living-temp.room = living room\n",
                          uri, soak->broker->port, soak->broker->port);
  soak->gateway = scaip_test_gateway_new_started (keys);
  scaip_test_gateway_wait_logged (soak->gateway, "registered with");

  soak->session = soup_session_new_with_options ("timeout", 60, "proxy-resolver", NULL,
                                                 "max-conns", 64, "max-conns-per-host", 32, NULL);
  soak->staff_token = login_token (soak->gateway, "staff");
  soak->resident_token = login_token (soak->gateway, "resident");
  soak->clients = g_ptr_array_new_with_free_func ((GDestroyNotify) client_free);
  soak->answered = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  soak->closing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  soak->procs = g_ptr_array_new_with_free_func ((GDestroyNotify) proc_free);
  for (guint i = 0; i < N_STAYING_CLIENTS; i++)
    client_connect (soak, soak->staff_token, TRUE);
  scaip_test_wait (clients_connected, soak, "the WebSocket clients");

  soak->start = g_get_monotonic_time ();
  soak->end = soak->start + (gint64) seconds * G_USEC_PER_SEC;
  soak->warm_up_end = soak->start + (gint64) seconds * G_USEC_PER_SEC / 4;
  soak->half = soak->warm_up_end + (soak->end - soak->warm_up_end) / 2;
  soak->loading = TRUE;
  g_test_message ("soak: %u s, warm-up %u s", seconds, seconds / 4);
  tick_id = g_timeout_add (TICK_MS, tick_cb, soak);
  sample_id = g_timeout_add_seconds (SAMPLE_SECONDS, sample_cb, soak);
  close_id = g_timeout_add_seconds (2, close_cb, soak);
  while (soak->loading)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (sample_id);
  g_source_remove (close_id);
  (void) tick_id; /* removed itself */

  scaip_test_wait (nothing_pending, soak, "answers to every request");
  scaip_test_wait (arc_has_all, soak, "every alarm at the ARC");
  scaip_test_wait (all_closed, soak, "every alarm closed");
  g_test_message ("soak: %u alarms (%u retried with their key), %u readings, %u logins, "
                  "%u closed",
                  g_hash_table_size (soak->answered), soak->n_replays, soak->n_readings,
                  soak->n_logins, soak->n_closed);
  g_assert_cmpuint (g_hash_table_size (soak->answered), ==, soak->n_sent);

  /* memory and descriptors: flat for every process */
  for (guint i = 0; i < soak->procs->len; i++)
    {
      Proc *p = g_ptr_array_index (soak->procs, i);
      guint64 rss_first = median (p->rss[0]);
      guint64 rss_second = median (p->rss[1]);
      guint64 fds_first = median (p->fds[0]);
      guint64 fds_second = median (p->fds[1]);
      guint64 margin = MAX (RSS_MARGIN_KIB, rss_first / 10);

      g_test_message ("%s: median RSS %" G_GUINT64_FORMAT " then %" G_GUINT64_FORMAT
                      " KiB (most %" G_GUINT64_FORMAT "), descriptors %" G_GUINT64_FORMAT
                      " then %" G_GUINT64_FORMAT " (%u + %u samples)",
                      p->name, rss_first, rss_second,
                      g_array_index (p->rss[1], guint64, p->rss[1]->len - 1), fds_first,
                      fds_second, p->rss[0]->len, p->rss[1]->len);
      describe_fds (p);
      g_assert_cmpuint (rss_first, >, 0);
      g_assert_cmpuint (rss_second, <=, rss_first + margin);
      g_assert_cmpuint (fds_second, <=, fds_first + FD_MARGIN);
    }

  /* the journal: each answered alarm once, and no other */
  all = scaip_test_gateway_request (soak->gateway, "GET", "/api/v1/alarms", NULL, SOUP_STATUS_OK);
  alarms = json_object_get_array_member (all, "alarms");
  for (guint i = 0; i < json_array_get_length (alarms); i++)
    {
      const gchar *alarm_ref
          = json_object_get_string_member (json_array_get_object_element (alarms, i), "ref");

      g_assert_false (g_hash_table_contains (in_journal, alarm_ref));
      g_assert_true (g_hash_table_contains (soak->answered, alarm_ref));
      g_hash_table_add (in_journal, (gpointer) alarm_ref);
    }
  g_assert_cmpuint (g_hash_table_size (in_journal), ==, g_hash_table_size (soak->answered));

  /* the ARC: each once */
  records = scaip_test_sim_records (soak->sim);
  for (guint i = 0; i < records->len; i++)
    {
      JsonObject *record = g_ptr_array_index (records, i);
      const gchar *record_ref = json_object_get_string_member_with_default (record, "ref", NULL);

      if (g_strcmp0 (json_object_get_string_member_with_default (record, "mty", NULL), "ME") != 0)
        continue;
      g_assert_true (g_hash_table_contains (soak->answered, record_ref));
      g_assert_false (g_hash_table_contains (at_arc, record_ref));
      g_hash_table_add (at_arc, (gpointer) record_ref);
    }
  g_assert_cmpuint (g_hash_table_size (at_arc), ==, g_hash_table_size (soak->answered));

  /* the clients that stayed: each alarm.raised once */
  for (guint i = 0; i < soak->clients->len; i++)
    {
      Client *client = g_ptr_array_index (soak->clients, i);

      if (!client->staying)
        continue;
      g_assert_false (client->closed);
      g_assert_cmpuint (g_hash_table_size (client->raised), ==,
                        g_hash_table_size (soak->answered));
      g_hash_table_iter_init (&iter, soak->answered);
      while (g_hash_table_iter_next (&iter, &ref, NULL))
        g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (client->raised, ref)), ==, 1);
    }

  g_ptr_array_unref (soak->clients);
  g_ptr_array_unref (soak->procs);
  g_hash_table_unref (soak->answered);
  g_hash_table_unref (soak->closing);
  g_clear_object (&soak->session);
  g_free (soak->staff_token);
  g_free (soak->resident_token);
  scaip_test_gateway_free (soak->gateway);
  scaip_test_sim_free (soak->sim);
  hg_test_broker_free (soak->broker);
  hg_test_rm_rf (soak->plugin_dir);
  g_free (soak->plugin_dir);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/soak/alarms-readings-clients-logins", test_soak);
  return g_test_run ();
}
