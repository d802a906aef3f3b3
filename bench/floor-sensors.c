/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bare floor of the sensor path for bench/peers.py: an MQTT subscriber on the same
 * stack as hemgate's mqtt-sensors plugin (libmosquitto on the GLib main loop, json-glib,
 * SQLite) with no framework around it.
 *
 *   zigbee2mqtt/<device> {"occupancy": ..., "temperature": ..., ...}
 *     -> json-glib -> one row per reading (device, kind, value, time) in SQLite (WAL,
 *        synchronous=NORMAL, one transaction committed every 100 ms: group commit)
 *
 * No device registry, no rules, no rate limit, no events.
 *
 * Usage: floor-sensors --port BROKER_PORT --db FILE
 * Prints "SUBSCRIBED" on stdout once the broker granted the subscription. */
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <mosquitto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

typedef struct
{
  sqlite3 *db;
  sqlite3_stmt *insert;
  struct mosquitto *mosq;
  JsonParser *parser;
  gboolean in_transaction;
  guint write_id;
} Floor;

static void
exec_sql (Floor *floor,
          const gchar *sql)
{
  gchar *message = NULL;

  if (sqlite3_exec (floor->db, sql, NULL, NULL, &message) != SQLITE_OK)
    {
      g_printerr ("floor-sensors: %s: %s\n", sql, message);
      sqlite3_free (message);
    }
}

static void
store (Floor *floor,
       const gchar *device,
       const gchar *kind,
       JsonNode *value)
{
  if (!floor->in_transaction)
    {
      exec_sql (floor, "BEGIN");
      floor->in_transaction = TRUE;
    }
  sqlite3_bind_text (floor->insert, 1, device, -1, SQLITE_STATIC);
  sqlite3_bind_text (floor->insert, 2, kind, -1, SQLITE_STATIC);
  if (json_node_get_value_type (value) == G_TYPE_BOOLEAN)
    sqlite3_bind_int (floor->insert, 3, json_node_get_boolean (value));
  else
    sqlite3_bind_double (floor->insert, 3, json_node_get_double (value));
  sqlite3_bind_int64 (floor->insert, 4, g_get_real_time ());
  if (sqlite3_step (floor->insert) != SQLITE_DONE)
    g_printerr ("floor-sensors: %s\n", sqlite3_errmsg (floor->db));
  sqlite3_reset (floor->insert);
}

static void
message_cb (struct mosquitto *mosq,
            void *user_data,
            const struct mosquitto_message *message)
{
  Floor *floor = user_data;
  const gchar *device = strrchr (message->topic, '/');
  JsonObject *object;
  static const gchar *const kinds[] = { "occupancy", "temperature", "water_leak", "contact" };

  if (device == NULL || message->payloadlen <= 0
      || !json_parser_load_from_data (floor->parser, message->payload, message->payloadlen, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (floor->parser)))
    return;
  object = json_node_get_object (json_parser_get_root (floor->parser));
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      JsonNode *value = json_object_get_member (object, kinds[i]);

      if (value != NULL && JSON_NODE_HOLDS_VALUE (value))
        {
          store (floor, device + 1, kinds[i], value);
          break;
        }
    }
}

static void
subscribe_cb (struct mosquitto *mosq,
              void *user_data,
              int mid,
              int qos_count,
              const int *granted_qos)
{
  g_print ("SUBSCRIBED\n");
  fflush (stdout);
}

static void
connect_cb (struct mosquitto *mosq,
            void *user_data,
            int rc)
{
  if (rc == 0)
    mosquitto_subscribe (mosq, NULL, "zigbee2mqtt/+", 0);
}

static gboolean write_cb (gint fd,
                          GIOCondition condition,
                          gpointer user_data);

static void
want_write (Floor *floor)
{
  if (floor->write_id == 0 && mosquitto_want_write (floor->mosq))
    floor->write_id = g_unix_fd_add (mosquitto_socket (floor->mosq), G_IO_OUT, write_cb, floor);
}

static gboolean
write_cb (gint fd,
          GIOCondition condition,
          gpointer user_data)
{
  Floor *floor = user_data;

  mosquitto_loop_write (floor->mosq, 1);
  if (mosquitto_want_write (floor->mosq))
    return G_SOURCE_CONTINUE;
  floor->write_id = 0;
  return G_SOURCE_REMOVE;
}

static gboolean
read_cb (gint fd,
         GIOCondition condition,
         gpointer user_data)
{
  Floor *floor = user_data;
  gint rc = mosquitto_loop_read (floor->mosq, 1);

  if (rc != MOSQ_ERR_SUCCESS)
    {
      g_printerr ("floor-sensors: broker connection: %s\n", mosquitto_strerror (rc));
      exit (1);
    }
  want_write (floor);
  return G_SOURCE_CONTINUE;
}

static gboolean
tick_cb (gpointer user_data)
{
  Floor *floor = user_data;

  if (floor->in_transaction)
    {
      exec_sql (floor, "COMMIT");
      floor->in_transaction = FALSE;
    }
  mosquitto_loop_misc (floor->mosq);
  want_write (floor);
  return G_SOURCE_CONTINUE;
}

int
main (int argc,
      char **argv)
{
  Floor floor = { 0 };
  g_autofree gchar *db_path = NULL;
  gint port = 0;
  const GOptionEntry entries[]
      = { { "port", 0, 0, G_OPTION_ARG_INT, &port, "the broker's port on 127.0.0.1", "PORT" },
          { "db", 0, 0, G_OPTION_ARG_FILENAME, &db_path, "the SQLite database", "FILE" },
          { NULL } };
  g_autoptr(GOptionContext) context = g_option_context_new ("- the bare floor of the sensor path");
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  gint rc;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || port <= 0 || db_path == NULL)
    {
      g_printerr ("floor-sensors: %s\n",
                  error != NULL ? error->message : "--port and --db are required");
      return 2;
    }
  if (sqlite3_open (db_path, &floor.db) != SQLITE_OK)
    {
      g_printerr ("floor-sensors: %s: %s\n", db_path, sqlite3_errmsg (floor.db));
      return 1;
    }
  exec_sql (&floor, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                    "CREATE TABLE IF NOT EXISTS readings (device TEXT NOT NULL, kind TEXT NOT NULL,"
                    " value REAL, received INTEGER NOT NULL);");
  if (sqlite3_prepare_v2 (
          floor.db, "INSERT INTO readings (device, kind, value, received) VALUES (?, ?, ?, ?)", -1,
          &floor.insert, NULL)
      != SQLITE_OK)
    {
      g_printerr ("floor-sensors: %s\n", sqlite3_errmsg (floor.db));
      return 1;
    }
  floor.parser = json_parser_new ();

  mosquitto_lib_init ();
  floor.mosq = mosquitto_new (NULL, TRUE, &floor);
  mosquitto_connect_callback_set (floor.mosq, connect_cb);
  mosquitto_subscribe_callback_set (floor.mosq, subscribe_cb);
  mosquitto_message_callback_set (floor.mosq, message_cb);
  rc = mosquitto_connect (floor.mosq, "127.0.0.1", port, 30);
  if (rc != MOSQ_ERR_SUCCESS)
    {
      g_printerr ("floor-sensors: connecting to 127.0.0.1:%d: %s\n", port, mosquitto_strerror (rc));
      return 1;
    }
  g_unix_fd_add (mosquitto_socket (floor.mosq), G_IO_IN, read_cb, &floor);
  want_write (&floor);
  g_timeout_add (100, tick_cb, &floor);
  g_main_loop_run (loop);
  return 0;
}
