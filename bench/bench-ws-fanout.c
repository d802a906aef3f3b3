/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* WebSocket fan-out: 50 clients on /api/v1/events of a real hemgated; alarms raised over
 * HTTP; reports p50/p99/max from the POST to each client's receipt, and the spread
 * between the first and the last client for each event. */
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <stdlib.h>

#define N_CLIENTS 50
#define N_EVENTS 200

typedef struct
{
  GMainLoop *loop;
  SoupSession *session;
  gchar *url;
  gchar *token;
  GPtrArray *clients;  /* SoupWebsocketConnection */
  guint connected;
  gint64 sent_at;
  guint received;      /* for the current event */
  gint64 first_at;
  GArray *latencies;   /* gint64 usec, POST -> receipt */
  GArray *spreads;     /* gint64 usec, first -> last receipt */
} Bench;

static gint
cmp_int64 (gconstpointer a,
           gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

static void
report (const gchar *what,
        GArray *values)
{
  g_array_sort (values, cmp_int64);
  g_print ("  %-32s p50 %.2f ms  p99 %.2f ms  max %.2f ms  (n=%u)\n", what,
           g_array_index (values, gint64, values->len / 2) / 1000.0,
           g_array_index (values, gint64, (values->len * 99) / 100) / 1000.0,
           g_array_index (values, gint64, values->len - 1) / 1000.0, values->len);
}

static void raise_next (Bench *b);

static void
message_cb (SoupWebsocketConnection *ws,
            gint type,
            GBytes *message,
            gpointer user_data)
{
  Bench *b = user_data;
  gint64 now = g_get_monotonic_time ();
  gsize len;
  const gchar *data = g_bytes_get_data (message, &len);

  if (b->sent_at == 0 || g_strstr_len (data, len, "\"alarm.raised\"") == NULL)
    return;
  if (b->received == 0)
    b->first_at = now;
  g_array_append_val (b->latencies, (gint64) { now - b->sent_at });
  if (++b->received == N_CLIENTS)
    {
      g_array_append_val (b->spreads, (gint64) { now - b->first_at });
      b->sent_at = 0;
      if (b->spreads->len == N_EVENTS)
        g_main_loop_quit (b->loop);
      else
        raise_next (b);
    }
}

static void
raised_cb (GObject *source,
           GAsyncResult *result,
           gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);

  if (body == NULL)
    g_printerr ("bench-ws-fanout: raise failed: %s\n", error->message);
}

static void
raise_next (Bench *b)
{
  g_autofree gchar *uri = g_strdup_printf ("%s/api/v1/alarms", b->url);
  g_autofree gchar *auth = g_strdup_printf ("Bearer %s", b->token);
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", uri);
  static const gchar body[] = "{\"type\":\"test\",\"location\":\"hall\"}";

  soup_message_headers_append (soup_message_get_request_headers (msg), "Authorization", auth);
  soup_message_set_request_body_from_bytes (msg, "application/json",
                                            g_bytes_new_static (body, strlen (body)));
  b->received = 0;
  b->sent_at = g_get_monotonic_time ();
  soup_session_send_and_read_async (b->session, msg, G_PRIORITY_DEFAULT, NULL, raised_cb, b);
}

static void
ws_connected_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  Bench *b = user_data;
  g_autoptr(GError) error = NULL;
  SoupWebsocketConnection *ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);

  if (ws == NULL)
    {
      g_printerr ("bench-ws-fanout: websocket: %s\n", error->message);
      exit (1);
    }
  g_signal_connect (ws, "message", G_CALLBACK (message_cb), b);
  g_ptr_array_add (b->clients, ws);
  if (++b->connected == N_CLIENTS)
    raise_next (b);
}

static gchar *
login (Bench *b,
       const gchar *user,
       const gchar *password)
{
  g_autofree gchar *uri = g_strdup_printf ("%s/api/v1/auth/login", b->url);
  g_autofree gchar *body = g_strdup_printf ("{\"username\":\"%s\",\"password\":\"%s\"}", user, password);
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", uri);
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  soup_message_set_request_body_from_bytes (msg, "application/json", g_bytes_new_take (g_strdup (body), strlen (body)));
  reply = soup_session_send_and_read (b->session, msg, NULL, &error);
  if (reply == NULL || soup_message_get_status (msg) != 200 ||
      !json_parser_load_from_data (parser, g_bytes_get_data (reply, NULL), g_bytes_get_size (reply), &error))
    {
      g_printerr ("bench-ws-fanout: login failed (%u)\n", soup_message_get_status (msg));
      exit (1);
    }
  return g_strdup (json_object_get_string_member (json_node_get_object (json_parser_get_root (parser)), "token"));
}

int
main (int argc,
      char **argv)
{
  Bench b = { 0 };
  const gchar *build = argc > 1 ? argv[1] : ".";
  g_autofree gchar *tmp = g_dir_make_tmp ("hemgate-fanout-XXXXXX", NULL);
  g_autofree gchar *conf = g_build_filename (tmp, "hemgate.conf", NULL);
  g_autofree gchar *conf_text = g_strdup_printf ("[daemon]\nstate-dir=%s/state\n[api]\nport=0\ntls=false\n"
                                                 "listen-address=127.0.0.1\n", tmp);
  g_autofree gchar *daemon_path = g_build_filename (build, "daemon", "core", "hemgated", NULL);
  g_autofree gchar *plugindir = g_build_filename (build, "plugins", NULL);
  g_autofree gchar *host = g_build_filename (build, "daemon", "host", "hemgate-plugin-host", NULL);
  const gchar *daemon_argv[] = { daemon_path, "--demo", "--config", conf, NULL };
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                                              G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_autoptr(GSubprocess) daemon = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;

  g_file_set_contents (conf, conf_text, -1, NULL);
  g_subprocess_launcher_setenv (launcher, "HEMGATE_DEMO_PASSWORD", "bench-password", TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C", TRUE);
  g_subprocess_launcher_setenv (launcher, "HEMGATE_PLUGINDIR", plugindir, TRUE);
  g_subprocess_launcher_setenv (launcher, "HEMGATE_PLUGIN_HOST", host, TRUE);
  daemon = g_subprocess_launcher_spawnv (launcher, daemon_argv, &error);
  if (daemon == NULL)
    {
      g_printerr ("bench-ws-fanout: %s\n", error->message);
      return 1;
    }
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (daemon));
  while (b.url == NULL)
    {
      g_autofree gchar *line = g_data_input_stream_read_line (out, NULL, NULL, &error);
      const gchar *at;
      if (line == NULL)
        {
          g_printerr ("bench-ws-fanout: hemgated exited before it was ready\n");
          return 1;
        }
      if ((at = strstr (line, "running at ")) != NULL)
        b.url = g_strdup (at + strlen ("running at "));
    }

  b.loop = g_main_loop_new (NULL, FALSE);
  b.session = soup_session_new ();
  b.clients = g_ptr_array_new_with_free_func (g_object_unref);
  b.latencies = g_array_new (FALSE, FALSE, sizeof (gint64));
  b.spreads = g_array_new (FALSE, FALSE, sizeof (gint64));
  b.token = login (&b, "staff", "bench-password");
  for (guint i = 0; i < N_CLIENTS; i++)
    {
      g_autofree gchar *uri = g_strdup_printf ("%s/api/v1/events", b.url);
      g_autofree gchar *auth = g_strdup_printf ("Bearer %s", b.token);
      g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
      soup_message_headers_append (soup_message_get_request_headers (msg), "Authorization", auth);
      soup_session_websocket_connect_async (b.session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                            ws_connected_cb, &b);
    }
  g_main_loop_run (b.loop);

  g_print ("WebSocket fan-out, %d clients, %d alarms raised over HTTP one after another:\n", N_CLIENTS, N_EVENTS);
  report ("POST -> receipt at each client", b.latencies);
  report ("first -> last client (fan-out)", b.spreads);
  g_subprocess_send_signal (daemon, SIGTERM);
  g_subprocess_wait (daemon, NULL, NULL);
  return 0;
}
