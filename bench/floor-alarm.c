/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bare floor of the alarm path for bench/peers.py: what a small C program on the same
 * stack as hemgated (GLib, libsoup 3, json-glib, SQLite) does for an alarm with no
 * framework around it.
 *
 *   POST /api/v1/alarms {"type": ..., "location": ...}
 *     -> JSON parsed, the alarm inserted into SQLite (WAL; --sync full: its own commit,
 *        synced, before it is forwarded; --sync off: synchronous=OFF)
 *     -> a SIP MESSAGE with its SCAIP <mrq> over UDP to the ARC (hemgate-arc-sim without
 *        Digest, answering with the <mrs> in the 200 OK), resent every second until
 *        answered
 *     -> on <snu>0</snu>: the row updated to acknowledged (same sync), and the HTTP
 *        request answered 201 {"ref": ..., "state": "acknowledged"}
 *
 * No authentication, no registration, no retry policy beyond the resend, no events: the
 * least a program can do and still deliver an alarm.
 *
 * Usage: floor-alarm --arc-port PORT --db FILE [--sync full|off]
 * Prints "READY <http port>" on stdout. */
#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

typedef struct
{
  SoupServerMessage *msg;
  gchar *ref;
  gchar *datagram;
  gint64 sent_at;
} Pending;

typedef struct
{
  sqlite3 *db;
  sqlite3_stmt *insert;
  sqlite3_stmt *update;
  GSocket *udp;
  GSocketAddress *arc;
  guint local_port;
  guint arc_port;
  GHashTable *pending; /* ref -> Pending */
  guint64 counter;
  gchar prefix[5];
} Floor;

static void
pending_free (gpointer data)
{
  Pending *p = data;

  g_object_unref (p->msg);
  g_free (p->ref);
  g_free (p->datagram);
  g_free (p);
}

static gboolean
exec_sql (Floor *floor,
          const gchar *sql)
{
  gchar *message = NULL;

  if (sqlite3_exec (floor->db, sql, NULL, NULL, &message) != SQLITE_OK)
    {
      g_printerr ("floor-alarm: %s: %s\n", sql, message);
      sqlite3_free (message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
step_done (Floor *floor,
           sqlite3_stmt *stmt)
{
  gint rc = sqlite3_step (stmt);

  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  if (rc != SQLITE_DONE)
    {
      g_printerr ("floor-alarm: %s\n", sqlite3_errmsg (floor->db));
      return FALSE;
    }
  return TRUE;
}

static void
respond (SoupServerMessage *msg,
         guint status,
         const gchar *json)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, json, strlen (json));
}

static void
send_datagram (Floor *floor,
               Pending *p)
{
  g_autoptr(GError) error = NULL;

  p->sent_at = g_get_monotonic_time ();
  if (g_socket_send_to (floor->udp, floor->arc, p->datagram, strlen (p->datagram), NULL, &error)
      < 0)
    g_printerr ("floor-alarm: sending %s: %s\n", p->ref, error->message);
}

static gchar *
sip_message (Floor *floor,
             const gchar *ref,
             gint dty)
{
  g_autofree gchar *body
      = g_strdup_printf ("<mrq><ref>%s</ref><cid>4600012345</cid><dty>%04d</dty></mrq>", ref, dty);

  return g_strdup_printf ("MESSAGE sip:arc@127.0.0.1:%u SIP/2.0\r\n"
                          "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK%s\r\n"
                          "Max-Forwards: 70\r\n"
                          "From: <sip:4600012345@floor.bench>;tag=%s\r\n"
                          "To: <sip:arc@127.0.0.1:%u>\r\n"
                          "Call-ID: %s@127.0.0.1\r\n"
                          "CSeq: 1 MESSAGE\r\n"
                          "Content-Type: application/scaip+xml\r\n"
                          "Content-Length: %zu\r\n"
                          "\r\n%s",
                          floor->arc_port, floor->local_port, ref, ref, floor->arc_port, ref,
                          strlen (body), body);
}

static void
alarms_cb (SoupServer *server,
           SoupServerMessage *msg,
           const char *path,
           GHashTable *query,
           gpointer user_data)
{
  Floor *floor = user_data;
  SoupMessageBody *request = soup_server_message_get_request_body (msg);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *object;
  const gchar *type;
  const gchar *location;
  Pending *p;

  if (soup_server_message_get_method (msg) != SOUP_METHOD_POST)
    {
      respond (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "{\"code\":\"method\"}");
      return;
    }
  if (!json_parser_load_from_data (parser, request->data, (gssize)request->length, &error)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      respond (msg, SOUP_STATUS_BAD_REQUEST, "{\"code\":\"invalid-json\"}");
      return;
    }
  object = json_node_get_object (json_parser_get_root (parser));
  type = json_object_get_string_member_with_default (object, "type", NULL);
  location = json_object_get_string_member_with_default (object, "location", "");
  if (type == NULL)
    {
      respond (msg, SOUP_STATUS_BAD_REQUEST, "{\"code\":\"invalid-alarm\"}");
      return;
    }

  p = g_new0 (Pending, 1);
  p->msg = g_object_ref (msg);
  p->ref = g_strdup_printf ("%s%012" G_GUINT64_FORMAT, floor->prefix, ++floor->counter);
  sqlite3_bind_text (floor->insert, 1, p->ref, -1, SQLITE_STATIC);
  sqlite3_bind_text (floor->insert, 2, type, -1, SQLITE_STATIC);
  sqlite3_bind_text (floor->insert, 3, location, -1, SQLITE_STATIC);
  sqlite3_bind_text (floor->insert, 4, request->data, (int)request->length, SQLITE_STATIC);
  sqlite3_bind_int64 (floor->insert, 5, g_get_real_time ());
  if (!step_done (floor, floor->insert))
    {
      respond (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "{\"code\":\"storage\"}");
      pending_free (p);
      return;
    }
  p->datagram = sip_message (floor, p->ref, g_str_equal (type, "fall") ? 5 : 3);
  g_hash_table_insert (floor->pending, p->ref, p);
  soup_server_message_pause (msg);
  send_datagram (floor, p);
}

static gchar *
between (const gchar *text,
         const gchar *open,
         const gchar *close)
{
  const gchar *start = strstr (text, open);
  const gchar *end;

  if (start == NULL)
    return NULL;
  start += strlen (open);
  end = strstr (start, close);
  return end != NULL ? g_strndup (start, (gsize)(end - start)) : NULL;
}

static gboolean
udp_cb (GSocket *socket,
        GIOCondition condition,
        gpointer user_data)
{
  Floor *floor = user_data;
  gchar buffer[4096];

  while (TRUE)
    {
      g_autoptr(GError) error = NULL;
      g_autofree gchar *ref = NULL;
      g_autofree gchar *snu = NULL;
      g_autofree gchar *json = NULL;
      gssize n = g_socket_receive (socket, buffer, sizeof buffer - 1, NULL, &error);
      Pending *p;

      if (n < 0)
        break; /* G_IO_ERROR_WOULD_BLOCK: all read */
      buffer[n] = '\0';
      if (!g_str_has_prefix (buffer, "SIP/2.0 200"))
        continue; /* 100 Trying, or a request we do not take */
      ref = between (buffer, "<ref>", "</ref>");
      snu = between (buffer, "<snu>", "</snu>");
      if (ref == NULL || g_strcmp0 (snu, "0") != 0
          || (p = g_hash_table_lookup (floor->pending, ref)) == NULL)
        continue;
      sqlite3_bind_int64 (floor->update, 1, g_get_real_time ());
      sqlite3_bind_text (floor->update, 2, ref, -1, SQLITE_STATIC);
      if (step_done (floor, floor->update))
        {
          json = g_strdup_printf ("{\"ref\":\"%s\",\"state\":\"acknowledged\"}", ref);
          respond (p->msg, SOUP_STATUS_CREATED, json);
        }
      else
        respond (p->msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "{\"code\":\"storage\"}");
      soup_server_message_unpause (p->msg);
      g_hash_table_remove (floor->pending, ref);
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
resend_cb (gpointer user_data)
{
  Floor *floor = user_data;
  gint64 now = g_get_monotonic_time ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, floor->pending);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (now - ((Pending *)value)->sent_at >= G_USEC_PER_SEC)
      send_datagram (floor, value);
  return G_SOURCE_CONTINUE;
}

int
main (int argc,
      char **argv)
{
  Floor floor = { 0 };
  g_autofree gchar *db_path = NULL;
  g_autofree gchar *sync = NULL;
  gint arc_port = 0;
  const GOptionEntry entries[]
      = { { "arc-port", 0, 0, G_OPTION_ARG_INT, &arc_port, "the ARC's UDP port on 127.0.0.1",
            "PORT" },
          { "db", 0, 0, G_OPTION_ARG_FILENAME, &db_path, "the SQLite database", "FILE" },
          { "sync", 0, 0, G_OPTION_ARG_STRING, &sync, "full (default) or off", "MODE" },
          { NULL } };
  g_autoptr(GOptionContext) context = g_option_context_new ("- the bare floor of the alarm path");
  g_autoptr(SoupServer) server = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GSource) source = NULL;
  g_autofree gchar *pragmas = NULL;
  GSList *uris;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || arc_port <= 0 || db_path == NULL
      || (sync != NULL && !g_str_equal (sync, "full") && !g_str_equal (sync, "off")))
    {
      g_printerr ("floor-alarm: %s\n", error != NULL
                                           ? error->message
                                           : "--arc-port and --db are required; --sync full|off");
      return 2;
    }
  floor.arc_port = (guint)arc_port;
  g_snprintf (floor.prefix, sizeof floor.prefix, "F%03x", g_random_int_range (0, 0xfff));

  if (sqlite3_open (db_path, &floor.db) != SQLITE_OK)
    {
      g_printerr ("floor-alarm: %s: %s\n", db_path, sqlite3_errmsg (floor.db));
      return 1;
    }
  pragmas = g_strdup_printf (
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;"
      "CREATE TABLE IF NOT EXISTS alarms (ref TEXT PRIMARY KEY, type TEXT NOT NULL,"
      " location TEXT, body TEXT, state TEXT NOT NULL DEFAULT 'raised',"
      " received INTEGER, acknowledged INTEGER);",
      g_strcmp0 (sync, "off") == 0 ? "OFF" : "FULL");
  if (!exec_sql (&floor, pragmas)
      || sqlite3_prepare_v2 (
             floor.db,
             "INSERT INTO alarms (ref, type, location, body, received) VALUES (?, ?, ?, ?, ?)", -1,
             &floor.insert, NULL)
             != SQLITE_OK
      || sqlite3_prepare_v2 (
             floor.db, "UPDATE alarms SET state = 'acknowledged', acknowledged = ? WHERE ref = ?",
             -1, &floor.update, NULL)
             != SQLITE_OK)
    {
      g_printerr ("floor-alarm: %s\n", sqlite3_errmsg (floor.db));
      return 1;
    }

  floor.pending = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, pending_free);
  floor.arc = g_inet_socket_address_new (loopback, (guint16)arc_port);
  floor.udp
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  if (floor.udp == NULL || !g_socket_bind (floor.udp, any, FALSE, &error)
      || (bound = g_socket_get_local_address (floor.udp, &error)) == NULL)
    {
      g_printerr ("floor-alarm: UDP: %s\n", error->message);
      return 1;
    }
  g_socket_set_blocking (floor.udp, FALSE);
  floor.local_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  source = g_socket_create_source (floor.udp, G_IO_IN, NULL);
  g_source_set_callback (source, G_SOURCE_FUNC (udp_cb), &floor, NULL);
  g_source_attach (source, NULL);
  g_timeout_add_seconds (1, resend_cb, &floor);

  server = soup_server_new (NULL, NULL);
  soup_server_add_handler (server, "/api/v1/alarms", alarms_cb, &floor, NULL);
  if (!soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    {
      g_printerr ("floor-alarm: %s\n", error->message);
      return 1;
    }
  uris = soup_server_get_uris (server);
  g_print ("READY %u\n", g_uri_get_port (uris->data));
  fflush (stdout);
  g_slist_free_full (uris, (GDestroyNotify)g_uri_unref);
  g_main_loop_run (loop);
  return 0;
}
