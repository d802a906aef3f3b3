/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hemgatectl events: lists the journal's events of the caller's domain, or with --follow
 * streams them from the WebSocket, reconnecting after a dropped connection with the last
 * sequence number seen so that the gateway replays whatever was missed. */
#include "config.h"

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>

#include "hemgatectl-commands.h"
#include "hg-json.h"

#define DEFAULT_LIMIT 100
#define RECONNECT_FIRST_DELAY_MS 250
#define RECONNECT_MAX_DELAY_MS 10000
#define KEEPALIVE_SECONDS 30
#define MAX_EVENT_BYTES (1024 * 1024)

static void
print_event (JsonObject *event)
{
  g_autofree gchar *when = NULL;
  g_autofree gchar *body = NULL;
  g_autofree gchar *type = hgd_cli_pad (hgd_cli_object_get_text (event, "type"), 20);
  g_autofree gchar *source = hgd_cli_pad (hgd_cli_object_get_text (event, "source"), 16);
  const gchar *ts = NULL;
  gint64 seq = 0;
  JsonObject *body_object = NULL;

  hg_json_object_get_optional_int (event, "seq", 0, G_MAXINT64, &seq, NULL);
  hg_json_object_get_optional_string (event, "ts", &ts, NULL);
  when = hgd_cli_format_time (ts);
  if (hg_json_object_get_object (event, "body", &body_object, NULL))
    body = hg_json_object_to_string (body_object);
  g_print ("%8" G_GINT64_FORMAT "  %s  %s %s %s\n", seq, when, type, source,
           body != NULL ? body : "");
  fflush (stdout);
}

/* The newest sequence number in the caller's domain. */
static gboolean
get_last_seq (HgdCliClient *client,
              gint64 *last_seq,
              GError **error)
{
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error_local = NULL;

  answer = hgd_cli_client_request (client, "GET", "/api/v1/events?limit=1", NULL, error);
  if (answer == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_OBJECT (answer) ||
      !hg_json_object_get_int (json_node_get_object (answer), "last_seq", 0, G_MAXINT64,
                                  last_seq, &error_local))
    {
      if (error_local == NULL)
        g_set_error_literal (&error_local, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                             "the answer is not an object");
      g_propagate_error (error, hgd_cli_unexpected_answer (error_local));
      return FALSE;
    }
  return TRUE;
}

static gboolean
list_events (HgdCliClient *client,
             const HgdCliOptions *options,
             GError **error)
{
  gint limit = options->limit > 0 ? options->limit : DEFAULT_LIMIT;
  gint64 after = options->after;
  g_autofree gchar *path = NULL;
  g_autoptr(JsonNode) answer = NULL;
  JsonArray *events;

  /* without --after: the newest events */
  if (after < 0)
    {
      gint64 last_seq = 0;
      if (!get_last_seq (client, &last_seq, error))
        return FALSE;
      after = MAX (last_seq - limit, 0);
    }
  path = g_strdup_printf ("/api/v1/events?after=%" G_GINT64_FORMAT "&limit=%d", after, limit);
  answer = hgd_cli_client_request (client, "GET", path, NULL, error);
  if (answer == NULL)
    return FALSE;
  if (options->json)
    {
      hgd_cli_print_json (answer, TRUE);
      return TRUE;
    }
  events = hgd_cli_answer_get_array (answer, "events", error);
  if (events == NULL)
    return FALSE;
  if (json_array_get_length (events) == 0)
    /* TRANSLATORS: “events” found nothing to list */
    g_print ("%s\n", _("No events."));
  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonNode *node = json_array_get_element (events, i);
      if (JSON_NODE_HOLDS_OBJECT (node))
        print_event (json_node_get_object (node));
    }
  return TRUE;
}

/* --follow ----------------------------------------------------------------------------- */

typedef struct
{
  HgdCliClient *client;                /* (unowned) */
  const HgdCliOptions *options;        /* (unowned) */
  GMainLoop *loop;                     /* (owned) */
  GCancellable *cancellable;           /* (owned) */
  SoupWebsocketConnection *connection; /* (owned) (nullable) */
  gint64 last_seq;                     /* the newest event printed, or asked for */
  guint delay_ms;                      /* before the next reconnection */
  guint retry_id;
  guint sigint_id;
  guint sigterm_id;
  gboolean connecting;                 /* a connection attempt is under way */
  GError *error;                       /* (owned) (nullable) what ended the stream */
} Follow;

static void connect_stream (Follow *follow);

static void
follow_stop (Follow *follow,
             GError *error)
{
  if (follow->error == NULL)
    follow->error = error;
  else if (error != NULL)
    g_error_free (error);
  g_cancellable_cancel (follow->cancellable);
  g_main_loop_quit (follow->loop);
}

static void
drop_connection (Follow *follow)
{
  if (follow->connection == NULL)
    return;
  g_signal_handlers_disconnect_by_data (follow->connection, follow);
  if (soup_websocket_connection_get_state (follow->connection) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (follow->connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_clear_object (&follow->connection);
}

static gboolean
retry_cb (gpointer user_data)
{
  Follow *follow = user_data;

  follow->retry_id = 0;
  connect_stream (follow);
  return G_SOURCE_REMOVE;
}

static void
schedule_reconnect (Follow *follow,
                    const gchar *reason)
{
  g_autofree gchar *next = g_strdup_printf ("%" G_GINT64_FORMAT, follow->last_seq + 1);

  drop_connection (follow);
  g_printerr ("hemgatectl: %s\n", reason);
  /* TRANSLATORS: %.1f is a number of seconds; %s is an event sequence number */
  g_printerr (_("hemgatectl: reconnecting in %.1f s, from event %s on\n"),
              follow->delay_ms / 1000.0, next);
  follow->retry_id = g_timeout_add (follow->delay_ms, retry_cb, follow);
  follow->delay_ms = MIN (follow->delay_ms * 2, RECONNECT_MAX_DELAY_MS);
}

static void
message_cb (SoupWebsocketConnection *connection,
            gint type,
            GBytes *message,
            gpointer user_data)
{
  Follow *follow = user_data;
  g_autoptr(JsonObject) event = NULL;
  g_autoptr(GError) error = NULL;
  gsize size = 0;
  const gchar *data = g_bytes_get_data (message, &size);
  gint64 seq = 0;

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return;
  event = hg_json_parse_object (data, (gssize) size, MAX_EVENT_BYTES, &error);
  if (event == NULL || !hg_json_object_get_int (event, "seq", 0, G_MAXINT64, &seq, &error))
    {
      follow_stop (follow, hgd_cli_unexpected_answer (error));
      return;
    }
  /* a replay overlapping what was printed before a reconnection */
  if (seq <= follow->last_seq)
    return;
  follow->last_seq = seq;
  if (follow->options->json)
    {
      g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
      json_node_set_object (node, event);
      hgd_cli_print_json (node, FALSE);
    }
  else
    {
      print_event (event);
    }
}

static void
closed_cb (SoupWebsocketConnection *connection,
           gpointer user_data)
{
  Follow *follow = user_data;
  gushort code = soup_websocket_connection_get_close_code (connection);

  /* the gateway closes a stream whose session ended (logout, revocation, expiry) */
  if (code == SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION)
    {
      drop_connection (follow);
      follow_stop (follow, g_error_new_literal (
                               HGD_CLI_ERROR, HGD_CLI_ERROR_AUTH,
                               /* TRANSLATORS: the event stream was closed by the gateway */
                               _("the gateway ended the event stream: the session has ended")));
      return;
    }
  /* TRANSLATORS: the connection of “events --follow” was lost */
  schedule_reconnect (follow, _("the event stream was interrupted"));
}

static void
connected_cb (GObject *source,
              GAsyncResult *result,
              gpointer user_data)
{
  Follow *follow = user_data;
  g_autoptr(GError) error = NULL;
  SoupWebsocketConnection *connection;

  follow->connecting = FALSE;
  connection = hgd_cli_client_websocket_connect_finish (HGD_CLI_CLIENT (source), result, &error);
  if (connection == NULL)
    {
      if (g_cancellable_is_cancelled (follow->cancellable))
        return;
      /* only a gateway that is away (restarting, network down) is worth waiting for */
      if (g_error_matches (error, HGD_CLI_ERROR, HGD_CLI_ERROR_UNREACHABLE))
        schedule_reconnect (follow, error->message);
      else
        follow_stop (follow, g_steal_pointer (&error));
      return;
    }
  follow->connection = connection;
  follow->delay_ms = RECONNECT_FIRST_DELAY_MS;
  soup_websocket_connection_set_keepalive_interval (connection, KEEPALIVE_SECONDS);
  soup_websocket_connection_set_max_incoming_payload_size (connection, MAX_EVENT_BYTES);
  g_signal_connect (connection, "message", G_CALLBACK (message_cb), follow);
  g_signal_connect (connection, "closed", G_CALLBACK (closed_cb), follow);
}

static void
connect_stream (Follow *follow)
{
  g_autofree gchar *path
      = g_strdup_printf ("/api/v1/events?after=%" G_GINT64_FORMAT, follow->last_seq);

  follow->connecting = TRUE;
  hgd_cli_client_websocket_connect_async (follow->client, path, follow->cancellable, connected_cb,
                                          follow);
}

static gboolean
stop_signal_cb (gpointer user_data)
{
  Follow *follow = user_data;

  drop_connection (follow);
  follow_stop (follow, NULL);
  return G_SOURCE_CONTINUE;
}

static gboolean
follow_events (HgdCliClient *client,
               const HgdCliOptions *options,
               GError **error)
{
  Follow follow = {
    .client = client,
    .options = options,
    .last_seq = options->after,
    .delay_ms = RECONNECT_FIRST_DELAY_MS,
  };

  /* without --after: from now on, so that nothing after this moment is missed even if
   * the first connection is slow or fails */
  if (follow.last_seq < 0 && !get_last_seq (client, &follow.last_seq, error))
    return FALSE;

  follow.loop = g_main_loop_new (NULL, FALSE);
  follow.cancellable = g_cancellable_new ();
  follow.sigint_id = g_unix_signal_add (SIGINT, stop_signal_cb, &follow);
  follow.sigterm_id = g_unix_signal_add (SIGTERM, stop_signal_cb, &follow);
  if (!options->json)
    /* TRANSLATORS: shown on stderr when “events --follow” starts; %s is the gateway's address */
    g_printerr (_("Following the events of %s; press Ctrl+C to stop.\n"),
                hgd_cli_client_get_url (client));
  connect_stream (&follow);
  g_main_loop_run (follow.loop);

  /* a cancelled connection attempt still calls back, into this frame: wait for it */
  while (follow.connecting)
    g_main_context_iteration (NULL, TRUE);
  drop_connection (&follow);
  g_clear_handle_id (&follow.retry_id, g_source_remove);
  g_clear_handle_id (&follow.sigint_id, g_source_remove);
  g_clear_handle_id (&follow.sigterm_id, g_source_remove);
  g_clear_object (&follow.cancellable);
  g_main_loop_unref (follow.loop);
  if (follow.error != NULL)
    {
      g_propagate_error (error, follow.error);
      return FALSE;
    }
  return TRUE;
}

gboolean
hgd_cli_events (HgdCliClient *client,
                const HgdCliOptions *options,
                gchar **args,
                GError **error)
{
  if (options->follow)
    return follow_events (client, options, error);
  return list_events (client, options, error);
}
