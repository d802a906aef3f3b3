/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The baseline for the API benchmark: a bare libsoup 3 server with json-glib and SQLite
 * loaded, answering GET /api/v1/health with a static JSON body. */
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <sqlite3.h>
#include <stdlib.h>

static const gchar body[] = "{\"status\":\"ok\"}";

static void
health_cb (SoupServer *server,
           SoupServerMessage *msg,
           const char *path,
           GHashTable *query,
           gpointer user_data)
{
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC, body, strlen (body));
}

int
main (int argc,
      char **argv)
{
  g_autoptr(SoupServer) server = soup_server_new (NULL, NULL);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new (); /* loaded, as in hemgated */
  guint port = argc > 1 ? (guint) atoi (argv[1]) : 0;
  GSList *uris;

  g_assert (sqlite3_libversion_number () > 0);
  soup_server_add_handler (server, "/api/v1/health", health_cb, NULL, NULL);
  if (!soup_server_listen_local (server, port, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    {
      g_printerr ("bare-server: %s\n", error->message);
      return 1;
    }
  uris = soup_server_get_uris (server);
  g_print ("%u\n", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  g_main_loop_run (loop);
  return 0;
}
