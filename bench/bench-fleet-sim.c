/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A fleet roll-out simulated with lightweight MQTT clients: N libmosquitto clients in one
 * process stand in for N gateways. Each follows PREFIX/manifest; on a manifest it does the
 * gateway's own check (hgd-fleet-manifest.c: envelope, Ed25519 against the trusted key,
 * the manifest, the serial, the target) and publishes its status, retained, to
 * PREFIX/status/sim-I. A monitor client times from the manifest's publication to the Nth
 * status. With --reference the clients answer without verifying: the broker's own rate
 * for the same traffic (N deliveries, N publishes, N deliveries to the monitor).
 *
 *   bench-fleet-sim --port P --clients 5000 --envelope FILE --public-key KEY.pub [--reference]
 *
 * FILE is what `hemgatectl fleet publish --json` prints. Plain TCP to the broker: the
 * TLS handshakes of a real fleet happen once per connection, not per roll-out. */
#include "config.h"

#include <errno.h>
#include <mosquitto.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "hgd-bundle.h"
#include "hgd-fleet-manifest.h"

#define PREFIX "hemgate/fleet-bench"

typedef struct
{
  struct mosquitto *mosq;
  guint index;
  gboolean connected;
  gboolean subscribed;
} Client;

static gboolean reference;
static GBytes *public_key;
static guint statuses_seen;
static guint n_clients;
static gint64 serial_wanted;
static gint64 published_at;
static gint64 last_status_at;
static guint verified;

static void
on_connect (struct mosquitto *mosq,
            void *user_data,
            int rc)
{
  Client *client = user_data;

  client->connected = rc == 0;
  if (rc == 0 && client->index < n_clients)
    mosquitto_subscribe (mosq, NULL, PREFIX "/manifest", 1);
  else if (rc == 0)
    mosquitto_subscribe (mosq, NULL, PREFIX "/status/+", 1);
}

static void
on_subscribe (struct mosquitto *mosq,
              void *user_data,
              int mid,
              int qos_count,
              const int *granted_qos)
{
  ((Client *) user_data)->subscribed = TRUE;
}

static void
on_gateway_message (struct mosquitto *mosq,
                    void *user_data,
                    const struct mosquitto_message *message)
{
  Client *client = user_data;
  g_autofree gchar *topic = g_strdup_printf (PREFIX "/status/sim-%05u", client->index);
  g_autofree gchar *status = NULL;
  gint64 serial = 0;

  if (message->payloadlen == 0)
    return;
  if (!reference)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (message->payload, (gsize) message->payloadlen);
      g_autoptr(HgdFleetManifest) manifest = hgd_fleet_manifest_new_from_message (bytes, NULL);

      if (manifest == NULL || !hgd_fleet_manifest_verify (manifest, public_key, NULL)
          || !hgd_fleet_manifest_parse (manifest, NULL))
        return;
      if (!hgd_fleet_manifest_targets (manifest, topic, NULL))
        return;
      serial = hgd_fleet_manifest_get_serial (manifest);
      verified++;
    }
  else
    serial = serial_wanted;
  status = g_strdup_printf ("{\"gateway\":\"sim-%05u\",\"serial\":%" G_GINT64_FORMAT
                            ",\"outcome\":\"converged\"}",
                            client->index, serial);
  mosquitto_publish (mosq, NULL, topic, (int) strlen (status), status, 1, TRUE);
}

static void
on_monitor_message (struct mosquitto *mosq,
                    void *user_data,
                    const struct mosquitto_message *message)
{
  g_autofree gchar *wanted = g_strdup_printf ("\"serial\":%" G_GINT64_FORMAT, serial_wanted);

  /* a retained status (of an earlier run) is not an answer to this manifest */
  if (published_at == 0 || message->payloadlen == 0 || message->retain)
    return;
  if (g_strstr_len (message->payload, message->payloadlen, wanted) != NULL)
    {
      statuses_seen++;
      last_status_at = g_get_monotonic_time ();
    }
}

/* One pass over every client's socket */
static void
loop_all (Client *clients,
          guint n,
          int timeout_ms)
{
  g_autofree struct pollfd *fds = g_new0 (struct pollfd, n);

  for (guint i = 0; i < n; i++)
    {
      fds[i].fd = mosquitto_socket (clients[i].mosq);
      fds[i].events = POLLIN | (mosquitto_want_write (clients[i].mosq) ? POLLOUT : 0);
    }
  if (poll (fds, n, timeout_ms) < 0 && errno != EINTR)
    g_error ("poll: %s", g_strerror (errno));
  for (guint i = 0; i < n; i++)
    {
      if ((fds[i].revents & (POLLIN | POLLERR | POLLHUP)) != 0)
        {
          int pending = 0;

          /* everything that arrived, not one packet per pass: the monitor gets N */
          for (guint r = 0; r < 4096; r++)
            {
              if (mosquitto_loop_read (clients[i].mosq, 1) != MOSQ_ERR_SUCCESS
                  || ioctl (fds[i].fd, FIONREAD, &pending) != 0 || pending == 0)
                break;
            }
        }
      if (mosquitto_want_write (clients[i].mosq))
        mosquitto_loop_write (clients[i].mosq, 1);
    }
}

int
main (int argc,
      char **argv)
{
  gint port = 1883;
  gint clients_opt = 100;
  g_autofree gchar *envelope_path = NULL;
  g_autofree gchar *key_path = NULL;
  g_autofree gchar *envelope = NULL;
  gsize envelope_length = 0;
  const GOptionEntry entries[] = {
    { "port", 0, 0, G_OPTION_ARG_INT, &port, "The broker's port on 127.0.0.1", "PORT" },
    { "clients", 0, 0, G_OPTION_ARG_INT, &clients_opt, "Simulated gateways", "N" },
    { "envelope", 0, 0, G_OPTION_ARG_FILENAME, &envelope_path, "The signed manifest", "FILE" },
    { "public-key", 0, 0, G_OPTION_ARG_FILENAME, &key_path, "The trusted key (.pub)", "FILE" },
    { "reference", 0, 0, G_OPTION_ARG_NONE, &reference, "Answer without verifying", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("— a simulated fleet roll-out");
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdFleetManifest) manifest = NULL;
  g_autoptr(GBytes) envelope_bytes = NULL;
  Client *clients;
  gint64 start;
  gint64 deadline;
  guint n;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || envelope_path == NULL
      || key_path == NULL)
    {
      g_printerr ("%s\n", error != NULL ? error->message : "--envelope and --public-key needed");
      return 2;
    }
  n_clients = (guint) clients_opt;
  if (!g_file_get_contents (envelope_path, &envelope, &envelope_length, &error)
      || (public_key = hgd_bundle_key_file_load (key_path, FALSE, &error)) == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  g_strstrip (envelope);
  envelope_length = strlen (envelope);
  envelope_bytes = g_bytes_new (envelope, envelope_length);
  manifest = hgd_fleet_manifest_new_from_message (envelope_bytes, &error);
  if (manifest == NULL || !hgd_fleet_manifest_parse (manifest, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  serial_wanted = hgd_fleet_manifest_get_serial (manifest);
  mosquitto_lib_init ();

  /* the gateways, then the monitor (the last client) */
  n = n_clients + 1;
  clients = g_new0 (Client, n);
  start = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    {
      g_autofree gchar *id = g_strdup_printf ("bench-sim-%05u-%d", i, (int) getpid ());
      int rc;

      clients[i].index = i;
      clients[i].mosq = mosquitto_new (id, TRUE, &clients[i]);
      mosquitto_connect_callback_set (clients[i].mosq, on_connect);
      mosquitto_subscribe_callback_set (clients[i].mosq, on_subscribe);
      mosquitto_message_callback_set (clients[i].mosq,
                                      i < n_clients ? on_gateway_message : on_monitor_message);
      rc = mosquitto_connect (clients[i].mosq, "127.0.0.1", port, 600);
      if (rc != MOSQ_ERR_SUCCESS)
        {
          g_printerr ("client %u: %s\n", i,
                      rc == MOSQ_ERR_ERRNO ? g_strerror (errno) : mosquitto_strerror (rc));
          return 1;
        }
    }
  deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;
  for (;;)
    {
      guint ready = 0;

      for (guint i = 0; i < n; i++)
        ready += clients[i].subscribed;
      if (ready == n)
        break;
      if (g_get_monotonic_time () > deadline)
        {
          g_printerr ("only %u of %u clients subscribed\n", ready, n);
          return 1;
        }
      loop_all (clients, n, 100);
    }
  g_print ("%u clients connected and subscribed in %.2f s\n", n,
           (g_get_monotonic_time () - start) / 1e6);

  published_at = g_get_monotonic_time ();
  mosquitto_publish (clients[n - 1].mosq, NULL, PREFIX "/manifest", (int) envelope_length,
                     envelope, 1, TRUE);
  deadline = published_at + 300 * G_USEC_PER_SEC;
  while (statuses_seen < n_clients && g_get_monotonic_time () < deadline)
    loop_all (clients, n, 100);
  g_print ("%s: manifest %" G_GINT64_FORMAT " to %u of %u simulated gateways%s in %.3f s "
           "(%.0f gateways/s)\n",
           reference ? "reference (no verification)" : "roll-out", serial_wanted, statuses_seen,
           n_clients, reference ? "" : " (each verified it)",
           (last_status_at - published_at) / 1e6,
           statuses_seen / ((last_status_at - published_at) / 1e6));
  if (!reference && verified != n_clients)
    g_print ("only %u verified\n", verified);
  /* clear the retained manifest for the next run */
  mosquitto_publish (clients[n - 1].mosq, NULL, PREFIX "/manifest", 0, NULL, 1, TRUE);
  for (guint r = 0; r < 5; r++)
    loop_all (clients, n, 20);
  for (guint i = 0; i < n; i++)
    {
      mosquitto_disconnect (clients[i].mosq);
      mosquitto_destroy (clients[i].mosq);
    }
  g_free (clients);
  return statuses_seen == n_clients ? 0 : 1;
}
