/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The alarm load generator of bench/peers.py, the same for every subject: offers
 * POST /api/v1/alarms {"type":"fall","location":"kitchen"} at a fixed rate (open loop:
 * each request is due at start + i / rate, whether or not earlier ones were answered;
 * latency counts from when it was due) over at most --connections keep-alive connections,
 * with never more requests in flight than connections (a due request waits here, not in
 * libsoup's queue, whose cost grows with its length),
 * and reports when each alarm was acknowledged by the ARC:
 *
 *   default   the answer is the acknowledgement: a 2xx whose body says
 *             "state":"acknowledged" (the peers answer once the ARC's <mrs> is in)
 *   --events  hemgated: the answer (201) only says the alarm is durable; the
 *             acknowledgement is the alarm.acknowledged event with the alarm's ref on
 *             the WebSocket /api/v1/events (one client, as the web UI has)
 *
 * Prints one JSON object: offered, answered (2xx), failed, acknowledged (within the offer
 * plus --drain seconds), ack_per_s (acknowledged / time from the first due to the last
 * acknowledgement), answer and ack latency p50/p99/max in ms.
 *
 * Usage: bench-alarm-load URL --rate N --seconds S [--connections C] [--token T]
 *                         [--events] [--warmup N] [--drain S] */
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <stdio.h>
#include <string.h>

static const gchar body[] = "{\"type\":\"fall\",\"location\":\"kitchen\"}";

typedef struct
{
  gint64 due;
  gint64 answered;
  gint64 acked;
} Request;

typedef struct
{
  SoupSession *session;
  GMainLoop *loop;
  gchar *url;
  gchar *auth;
  gboolean events;
  gint rate;
  gdouble seconds;
  gdouble drain;
  guint warmup;

  gint64 start;
  guint n_offer;
  guint n_sent;
  guint in_flight;
  guint connections;
  guint n_answered;
  guint n_failed;
  guint n_acked;
  guint n_warm;
  Request *requests;
  GHashTable *by_ref;     /* ref -> Request* once answered (events mode) */
  GHashTable *early_acks; /* ref -> ack time: an event before the answer */
  SoupWebsocketConnection *ws;
  gint64 last_ack;
} Load;

static gboolean
done (Load *load)
{
  return load->n_sent == load->n_offer && load->n_answered + load->n_failed == load->n_offer
         && (!load->events || load->n_acked >= load->n_answered);
}

static void
acked (Load *load,
       Request *r,
       gint64 when)
{
  if (r->acked != 0)
    return;
  r->acked = when;
  load->n_acked++;
  load->last_ack = MAX (load->last_ack, when);
  if (done (load))
    g_main_loop_quit (load->loop);
}

static gchar *
ref_of (GBytes *bytes,
        gboolean *acknowledged)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object;

  if (!json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL),
                                   (gssize)g_bytes_get_size (bytes), NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;
  object = json_node_get_object (json_parser_get_root (parser));
  if (acknowledged != NULL)
    *acknowledged = g_strcmp0 (json_object_get_string_member_with_default (object, "state", NULL),
                               "acknowledged")
                    == 0;
  return g_strdup (json_object_get_string_member_with_default (object, "ref", NULL));
}

static void pump (Load *load);

static void
answered_cb (GObject *source,
             GAsyncResult *result,
             gpointer user_data)
{
  Load *load = g_object_get_data (source, "load");
  Request *r = user_data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes
      = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  gint64 now = g_get_monotonic_time ();
  gboolean acknowledged = FALSE;
  g_autofree gchar *ref = NULL;

  if (r != NULL)
    {
      load->in_flight--;
      pump (load);
    }
  if (r == NULL) /* warm-up */
    {
      if (++load->n_warm == load->warmup)
        g_main_loop_quit (load->loop);
      return;
    }
  if (bytes == NULL || !SOUP_STATUS_IS_SUCCESSFUL (soup_message_get_status (msg))
      || (ref = ref_of (bytes, &acknowledged)) == NULL)
    {
      if (load->n_failed++ < 3)
        g_printerr ("bench-alarm-load: %u %s\n", soup_message_get_status (msg),
                    error != NULL ? error->message : "");
      if (done (load))
        g_main_loop_quit (load->loop);
      return;
    }
  r->answered = now;
  load->n_answered++;
  if (!load->events)
    {
      if (acknowledged)
        acked (load, r, now);
    }
  else
    {
      gpointer early = g_hash_table_lookup (load->early_acks, ref);

      g_hash_table_insert (load->by_ref, g_steal_pointer (&ref), r);
      if (early != NULL)
        acked (load, r, *(gint64 *)early);
    }
  if (done (load))
    g_main_loop_quit (load->loop);
}

static void
post (Load *load,
      Request *r)
{
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", load->url);

  if (load->auth != NULL)
    soup_message_headers_append (soup_message_get_request_headers (msg), "Authorization",
                                 load->auth);
  soup_message_set_request_body_from_bytes (msg, "application/json",
                                            g_bytes_new_static (body, strlen (body)));
  soup_session_send_and_read_async (load->session, msg, G_PRIORITY_DEFAULT, NULL, answered_cb, r);
}

static gboolean
tick_cb (gpointer user_data)
{
  Load *load = user_data;
  gint64 now = g_get_monotonic_time ();

  while (load->n_sent < load->n_offer && load->in_flight < load->connections
         && load->requests[load->n_sent].due <= now)
    {
      load->in_flight++;
      post (load, &load->requests[load->n_sent++]);
    }
  return load->n_sent < load->n_offer ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* sends what is due now that a connection is free */
static void
pump (Load *load)
{
  tick_cb (load);
}

static gboolean
deadline_cb (gpointer user_data)
{
  g_main_loop_quit (((Load *)user_data)->loop);
  return G_SOURCE_REMOVE;
}

static void
event_cb (SoupWebsocketConnection *ws,
          gint type,
          GBytes *message,
          gpointer user_data)
{
  Load *load = user_data;
  gint64 now = g_get_monotonic_time ();
  gsize len;
  const gchar *data = g_bytes_get_data (message, &len);
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *object;
  JsonObject *event_body;
  const gchar *ref;
  Request *r;

  if (load->start == 0 || g_strstr_len (data, (gssize)len, "\"alarm.acknowledged\"") == NULL)
    return;
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, data, (gssize)len, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return;
  object = json_node_get_object (json_parser_get_root (parser));
  if (g_strcmp0 (json_object_get_string_member_with_default (object, "type", NULL),
                 "alarm.acknowledged")
          != 0
      || (event_body = json_object_get_object_member (object, "body")) == NULL
      || (ref = json_object_get_string_member_with_default (event_body, "ref", NULL)) == NULL)
    return;
  r = g_hash_table_lookup (load->by_ref, ref);
  if (r != NULL)
    acked (load, r, now);
  else
    g_hash_table_insert (load->early_acks, g_strdup (ref), g_memdup2 (&now, sizeof now));
}

static void
ws_cb (GObject *source,
       GAsyncResult *result,
       gpointer user_data)
{
  Load *load = user_data;
  g_autoptr(GError) error = NULL;

  load->ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (load->ws == NULL)
    {
      g_printerr ("bench-alarm-load: WebSocket /api/v1/events: %s\n", error->message);
      exit (1);
    }
  g_signal_connect (load->ws, "message", G_CALLBACK (event_cb), load);
  g_main_loop_quit (load->loop);
}

static gint
compare (gconstpointer a,
         gconstpointer b)
{
  gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

  return x < y ? -1 : x > y;
}

static void
add_percentiles (JsonBuilder *builder,
                 const gchar *prefix,
                 GArray *values)
{
  static const struct
  {
    const gchar *name;
    gdouble p;
  } points[] = { { "p50", 0.50 }, { "p99", 0.99 }, { "max", 1.0 } };

  g_array_sort (values, compare);
  for (guint i = 0; i < G_N_ELEMENTS (points); i++)
    {
      g_autofree gchar *name = g_strdup_printf ("%s_%s_ms", prefix, points[i].name);

      json_builder_set_member_name (builder, name);
      if (values->len == 0)
        json_builder_add_null_value (builder);
      else
        json_builder_add_double_value (
            builder, g_array_index (values, gint64, (guint)((values->len - 1) * points[i].p + 0.5))
                         / 1000.0);
    }
}

int
main (int argc,
      char **argv)
{
  Load load = { 0 };
  g_autofree gchar *token = NULL;
  gint connections = 32;
  gint warmup = 20;
  const GOptionEntry entries[]
      = { { "rate", 0, 0, G_OPTION_ARG_INT, &load.rate, "alarms offered per second", "N" },
          { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &load.seconds, "how long to offer them", "S" },
          { "connections", 0, 0, G_OPTION_ARG_INT, &connections,
            "at most this many connections (32)", "C" },
          { "token", 0, 0, G_OPTION_ARG_STRING, &token, "a bearer token", "T" },
          { "events", 0, 0, G_OPTION_ARG_NONE, &load.events, "acknowledgements from /api/v1/events",
            NULL },
          { "warmup", 0, 0, G_OPTION_ARG_INT, &warmup,
            "alarms raised first, one after another, not counted (20)", "N" },
          { "drain", 0, 0, G_OPTION_ARG_DOUBLE, &load.drain, "seconds to wait past the offer (10)",
            "S" },
          { NULL } };
  g_autoptr(GOptionContext) context = g_option_context_new ("URL - offer alarms at a fixed rate");
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree gchar *json = NULL;
  g_autoptr(GArray) answers = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) acks = g_array_new (FALSE, FALSE, sizeof (gint64));
  guint deadline_id;

  load.drain = 10;
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 2 || load.rate <= 0
      || load.seconds <= 0)
    {
      g_printerr ("bench-alarm-load: %s\n",
                  error != NULL ? error->message : "URL, --rate and --seconds are required");
      return 2;
    }
  load.url = g_strdup_printf ("%s/api/v1/alarms", argv[1]);
  load.auth = token != NULL ? g_strdup_printf ("Bearer %s", token) : NULL;
  load.warmup = (guint)MAX (warmup, 0);
  load.connections = (guint)MAX (connections, 1);
  load.loop = g_main_loop_new (NULL, FALSE);
  load.session = soup_session_new_with_options ("max-conns", connections, "max-conns-per-host",
                                                connections, "timeout", 60, NULL);
  g_object_set_data (G_OBJECT (load.session), "load", &load);
  load.by_ref = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  load.early_acks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  if (load.events)
    {
      g_autofree gchar *uri = g_strdup_printf ("%s/api/v1/events", argv[1]);
      g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);

      if (load.auth != NULL)
        soup_message_headers_append (soup_message_get_request_headers (msg), "Authorization",
                                     load.auth);
      soup_session_websocket_connect_async (load.session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                            ws_cb, &load);
      g_main_loop_run (load.loop);
    }

  /* warm-up, not counted: connections opened, caches warm */
  for (guint i = 0; i < load.warmup; i++)
    post (&load, NULL);
  if (load.warmup > 0)
    g_main_loop_run (load.loop);

  load.n_offer = (guint)(load.rate * load.seconds);
  load.requests = g_new0 (Request, load.n_offer);
  load.start = g_get_monotonic_time ();
  for (guint i = 0; i < load.n_offer; i++)
    load.requests[i].due = load.start + (gint64)((gdouble)i * G_USEC_PER_SEC / load.rate);
  tick_cb (&load);
  g_timeout_add (1, tick_cb, &load);
  deadline_id = g_timeout_add ((guint)((load.seconds + load.drain) * 1000), deadline_cb, &load);
  g_main_loop_run (load.loop);
  g_source_remove (deadline_id);

  for (guint i = 0; i < load.n_sent; i++)
    {
      Request *r = &load.requests[i];

      if (r->answered != 0)
        g_array_append_val (answers, (gint64){ r->answered - r->due });
      if (r->acked != 0)
        g_array_append_val (acks, (gint64){ r->acked - r->due });
    }
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "rate");
  json_builder_add_int_value (builder, load.rate);
  json_builder_set_member_name (builder, "seconds");
  json_builder_add_double_value (builder, load.seconds);
  json_builder_set_member_name (builder, "offered");
  json_builder_add_int_value (builder, load.n_offer);
  json_builder_set_member_name (builder, "sent");
  json_builder_add_int_value (builder, load.n_sent);
  json_builder_set_member_name (builder, "answered");
  json_builder_add_int_value (builder, load.n_answered);
  json_builder_set_member_name (builder, "failed");
  json_builder_add_int_value (builder, load.n_failed);
  json_builder_set_member_name (builder, "acknowledged");
  json_builder_add_int_value (builder, load.n_acked);
  json_builder_set_member_name (builder, "ack_per_s");
  json_builder_add_double_value (
      builder, load.n_acked > 0
                   ? load.n_acked / MAX ((load.last_ack - load.start) / 1e6, load.seconds)
                   : 0.0);
  add_percentiles (builder, "answer", answers);
  add_percentiles (builder, "ack", acks);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json = json_generator_to_data (generator, NULL);
  g_print ("%s\n", json);
  return 0;
}
