/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hemgatectl fleet: signs a deployment manifest and publishes it, with the bundles it
 * names, to the fleet's MQTT broker; and shows the roll-out from the gateways' status
 * topics. It talks to the broker only, never to a gateway (data/fleet-format.md). */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <mosquitto.h>
#include <string.h>

#include "hemgatectl-commands.h"
#include "hgd-bundle.h"
#include "hgd-fleet-manifest.h"
#include "hgd-manifest.h"

#define DEFAULT_PREFIX "hemgate/fleet"
#define DEFAULT_PORT 8883
#define CONNECT_TIMEOUT_MS 10000

typedef struct
{
  struct mosquitto *mosq;
  gboolean connected;
  int connack;
  guint unacked;           /* publishes waiting for their PUBACK */
  GHashTable *statuses;    /* gateway id -> JsonObject (owned) */
  GBytes *manifest;        /* (owned) (nullable) the retained manifest */
  const gchar *prefix;
} Session;

static void
on_connect (struct mosquitto *mosq,
            void *user_data,
            int rc)
{
  Session *session = user_data;

  session->connack = rc;
  session->connected = rc == 0;
}

static void
on_publish (struct mosquitto *mosq,
            void *user_data,
            int mid)
{
  Session *session = user_data;

  if (session->unacked > 0)
    session->unacked--;
}

static void
on_message (struct mosquitto *mosq,
            void *user_data,
            const struct mosquitto_message *message)
{
  Session *session = user_data;
  g_autofree gchar *manifest_topic = g_strdup_printf ("%s/manifest", session->prefix);
  g_autoptr(JsonObject) status = NULL;
  const gchar *gateway = NULL;

  if (g_strcmp0 (message->topic, manifest_topic) == 0)
    {
      g_clear_pointer (&session->manifest, g_bytes_unref);
      session->manifest = g_bytes_new (message->payload, (gsize) message->payloadlen);
      return;
    }
  status = hg_json_parse_object (message->payload, message->payloadlen, 64 * 1024, NULL);
  if (status == NULL || !hg_json_object_get_string (status, "gateway", &gateway, NULL))
    return;
  g_hash_table_replace (session->statuses, g_strdup (gateway), json_object_ref (status));
}

static void
session_clear (Session *session)
{
  if (session->mosq != NULL)
    {
      mosquitto_disconnect (session->mosq);
      mosquitto_loop (session->mosq, 100, 1);
      mosquitto_destroy (session->mosq);
    }
  g_clear_pointer (&session->statuses, g_hash_table_unref);
  g_clear_pointer (&session->manifest, g_bytes_unref);
}

/* Runs the network until @done is TRUE or @timeout_ms passed. */
static gboolean
run_until (Session *session,
           gboolean (*done) (Session *session),
           gint64 timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * 1000;

  while (!done (session))
    {
      int rc;

      if (g_get_monotonic_time () >= end)
        return FALSE;
      rc = mosquitto_loop (session->mosq, 100, 1);
      if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN)
        return FALSE;
    }
  return TRUE;
}

static gboolean
is_connected (Session *session)
{
  return session->connected || session->connack > 0;
}

static gboolean
all_acked (Session *session)
{
  return session->unacked == 0;
}

static gboolean
never (Session *session)
{
  return FALSE;
}

static gboolean
session_connect (Session *session,
                 const HgdCliOptions *options,
                 GError **error)
{
  g_autofree gchar *host = NULL;
  g_autofree gchar *client_id = g_strdup_printf ("hemgatectl-%d-%u", (int) getpid (),
                                                 g_random_int ());
  const gchar *broker = options->broker != NULL ? options->broker : "127.0.0.1";
  const gchar *colon = strrchr (broker, ':');
  guint64 port = DEFAULT_PORT;
  int rc;

  mosquitto_lib_init ();
  session->prefix = options->prefix != NULL ? options->prefix : DEFAULT_PREFIX;
  session->statuses = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) json_object_unref);
  session->connack = -1;
  if (colon != NULL)
    {
      host = g_strndup (broker, (gsize) (colon - broker));
      if (!g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &port, NULL))
        {
          /* TRANSLATORS: %s is what was given to --broker */
          g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE, _("--broker %s: not HOST:PORT"),
                       broker);
          return FALSE;
        }
    }
  else
    host = g_strdup (broker);
  session->mosq = mosquitto_new (client_id, TRUE, session);
  mosquitto_int_option (session->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_connect_callback_set (session->mosq, on_connect);
  mosquitto_publish_callback_set (session->mosq, on_publish);
  mosquitto_message_callback_set (session->mosq, on_message);
  if (options->ca_file != NULL)
    {
      rc = mosquitto_tls_set (session->mosq, options->ca_file, NULL, options->cert,
                              options->cert != NULL ? options->cert_key : NULL, NULL);
      if (rc != MOSQ_ERR_SUCCESS)
        {
          /* TRANSLATORS: %s says what is wrong with the TLS files */
          g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE,
                       _("the broker's CA, certificate or key file: %s"), mosquitto_strerror (rc));
          return FALSE;
        }
    }
  rc = mosquitto_connect (session->mosq, host, (int) port, 60);
  if (rc != MOSQ_ERR_SUCCESS || !run_until (session, is_connected, CONNECT_TIMEOUT_MS)
      || !session->connected)
    {
      /* TRANSLATORS: the first %s is the broker's name, the second why it failed */
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_UNREACHABLE,
                   _("cannot connect to the broker %s:%u: %s"), host, (guint) port,
                   rc == MOSQ_ERR_ERRNO    ? g_strerror (errno)
                   : rc != MOSQ_ERR_SUCCESS ? mosquitto_strerror (rc)
                   : session->connack > 0  ? mosquitto_connack_string (session->connack)
                                           : _("no answer"));
      return FALSE;
    }
  return TRUE;
}

static gboolean
publish (Session *session,
         const gchar *topic,
         gconstpointer data,
         gsize size,
         GError **error)
{
  int rc = mosquitto_publish (session->mosq, NULL, topic, (int) size, data, 1, TRUE);

  if (rc != MOSQ_ERR_SUCCESS)
    {
      /* TRANSLATORS: %s are a topic and why it failed */
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED, _("cannot publish %s: %s"), topic,
                   mosquitto_strerror (rc));
      return FALSE;
    }
  session->unacked++;
  return TRUE;
}

static HgdBundle *
load_bundle (const gchar *path,
             GBytes **bytes,
             HgdManifest **manifest,
             GError **error)
{
  g_autofree gchar *data = NULL;
  gsize length = 0;
  g_autoptr(HgdBundle) bundle = NULL;
  GBytes *manifest_bytes;

  if (!g_file_get_contents (path, &data, &length, error))
    return NULL;
  *bytes = g_bytes_new_take (g_steal_pointer (&data), length);
  bundle = hgd_bundle_new_from_bytes (*bytes, error);
  if (bundle == NULL || !hgd_bundle_load_payload (bundle, error))
    return NULL;
  manifest_bytes = hgd_bundle_get_manifest (bundle);
  *manifest = hgd_manifest_new_from_data (g_bytes_get_data (manifest_bytes, NULL),
                                          (gssize) g_bytes_get_size (manifest_bytes), error);
  if (*manifest == NULL)
    return NULL;
  return g_steal_pointer (&bundle);
}

/* A plugin of the manifest given: {"bundle": FILE} becomes {"id", "version", "digest"}
 * and the bundle is published; {"id", "version", "digest"} is taken as it is. A `config`
 * goes along in either case (the gateway checks it). */
static JsonObject *
resolve_plugin (JsonObject *source,
                const gchar *dir,
                GPtrArray *bundles,
                GPtrArray *digests,
                GError **error)
{
  const gchar *file = NULL;
  g_autofree gchar *path = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(HgdBundle) bundle = NULL;
  g_autoptr(HgdManifest) manifest = NULL;
  g_autoptr(GError) local = NULL;
  JsonObject *object;

  if (!json_object_has_member (source, "bundle"))
    return json_object_ref (source);
  if (hg_json_object_get_string (source, "bundle", &file, &local))
    {
      path = g_path_is_absolute (file) ? g_strdup (file) : g_build_filename (dir, file, NULL);
      bundle = load_bundle (path, &bytes, &manifest, &local);
    }
  if (bundle == NULL)
    {
      /* TRANSLATORS: %s are a bundle file and what is wrong with it */
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE, _("bundle %s: %s"),
                   file != NULL ? file : "?", local->message);
      return NULL;
    }
  object = json_object_new ();
  json_object_set_string_member (object, "id", hgd_manifest_get_id (manifest));
  json_object_set_string_member (object, "version", hgd_manifest_get_version (manifest));
  json_object_set_string_member (object, "digest", hgd_bundle_get_digest (bundle));
  if (json_object_has_member (source, "config"))
    json_object_set_member (object, "config",
                            json_node_copy (json_object_get_member (source, "config")));
  g_ptr_array_add (bundles, g_steal_pointer (&bytes));
  g_ptr_array_add (digests, g_strdup (hgd_bundle_get_digest (bundle)));
  return object;
}

/* fleet publish MANIFEST --key KEYFILE */
gboolean
hgd_cli_fleet_publish (HgdCliClient *client,
                       const HgdCliOptions *options,
                       gchar **args,
                       GError **error)
{
  static const gchar *const members[] = { "serial", "domain", "plugins", "target", NULL };
  g_autofree gchar *text = NULL;
  g_autofree gchar *dir = g_path_get_dirname (args[0]);
  g_autofree gchar *signed_text = NULL;
  g_autofree gchar *envelope = NULL;
  g_autofree gchar *topic = NULL;
  g_autoptr(JsonObject) source = NULL;
  g_autoptr(JsonObject) manifest = json_object_new ();
  g_autoptr(GBytes) secret_key = NULL;
  g_autoptr(GBytes) signed_bytes = NULL;
  g_autoptr(GPtrArray) bundles = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GPtrArray) digests = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(HgdFleetManifest) check = NULL;
  JsonArray *plugins = NULL;
  JsonArray *resolved = json_array_new ();
  const gchar *domain = "municipal";
  gint64 serial = 0;
  GError *local = NULL;
  Session session = { 0 };
  gboolean ok;

  json_object_set_int_member (manifest, "format", 1);
  if (!g_file_get_contents (args[0], &text, NULL, &local)
      || (source = hg_json_parse_object (text, -1, HGD_FLEET_MANIFEST_MAX_SIZE, &local)) == NULL
      || !hg_json_object_check_members (source, members, &local)
      || !hg_json_object_get_int (source, "serial", 1, G_MAXINT64, &serial, &local)
      || !hg_json_object_get_optional_string (source, "domain", &domain, &local)
      || !hg_json_object_get_array (source, "plugins", &plugins, &local))
    {
      /* TRANSLATORS: %s are the manifest's file name and what is wrong with it */
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE, _("%s: %s"), args[0],
                   local->message);
      g_error_free (local);
      json_array_unref (resolved);
      return FALSE;
    }
  json_object_set_int_member (manifest, "serial", serial);
  json_object_set_string_member (manifest, "domain", domain != NULL ? domain : "municipal");
  json_object_set_array_member (manifest, "plugins", resolved);
  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonNode *node = json_array_get_element (plugins, i);
      JsonObject *plugin;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          /* TRANSLATORS: %s is the manifest's file name, %u a position in a list */
          g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE,
                       _("%s: plugins[%u] is not an object"), args[0], i);
          return FALSE;
        }
      plugin = resolve_plugin (json_node_get_object (node), dir, bundles, digests, error);
      if (plugin == NULL)
        return FALSE;
      json_array_add_object_element (resolved, plugin);
    }
  if (json_object_has_member (source, "target"))
    json_object_set_member (manifest, "target",
                            json_node_copy (json_object_get_member (source, "target")));

  secret_key = hgd_bundle_key_file_load (options->key, TRUE, &local);
  signed_text = hg_json_object_to_string (manifest);
  signed_bytes = g_bytes_new (signed_text, strlen (signed_text));
  if (secret_key == NULL || (envelope = hgd_fleet_sign (signed_bytes, secret_key, &local)) == NULL)
    {
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE, "%s", local->message);
      g_error_free (local);
      return FALSE;
    }
  /* what the gateways will read: refuse to publish what they would refuse */
  {
    g_autoptr(GBytes) message = g_bytes_new (envelope, strlen (envelope));

    check = hgd_fleet_manifest_new_from_message (message, &local);
    if (check == NULL || !hgd_fleet_manifest_parse (check, &local))
      {
        g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE, "%s", local->message);
        g_error_free (local);
        return FALSE;
      }
  }

  ok = session_connect (&session, options, error);
  for (guint i = 0; ok && i < bundles->len; i++)
    {
      g_autofree gchar *bundle_topic
          = g_strdup_printf ("%s/bundles/%s", session.prefix, (const gchar *) digests->pdata[i]);
      ok = publish (&session, bundle_topic, g_bytes_get_data (bundles->pdata[i], NULL),
                    g_bytes_get_size (bundles->pdata[i]), error);
    }
  if (ok)
    {
      topic = g_strdup_printf ("%s/manifest", session.prefix);
      ok = publish (&session, topic, envelope, strlen (envelope), error);
    }
  if (ok && !run_until (&session, all_acked, CONNECT_TIMEOUT_MS))
    {
      g_set_error_literal (error, HGD_CLI_ERROR, HGD_CLI_ERROR_UNREACHABLE,
                           /* TRANSLATORS: the broker did not confirm */
                           _("the broker did not confirm the publication"));
      ok = FALSE;
    }
  session_clear (&session);
  if (!ok)
    return FALSE;
  if (options->json)
    g_print ("%s\n", envelope);
  else
    {
      g_autofree gchar *serial_text = g_strdup_printf ("%" G_GINT64_FORMAT, serial);

      /* TRANSLATORS: the first %s is the manifest's serial, the second a key id, %u how
       * many bundles were published with it */
      g_print (_ ("Published manifest %s signed by %s with %u bundles.\n"), serial_text,
               hgd_fleet_manifest_get_key_id (check), bundles->len);
    }
  return TRUE;
}

static const gchar *
status_kind (JsonObject *status,
             HgdFleetManifest *manifest)
{
  gint64 serial = json_object_get_int_member_with_default (status, "serial", 0);
  const gchar *outcome = json_object_get_string_member_with_default (status, "outcome", "none");
  JsonNode *refused = json_object_get_member (status, "refused");
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) groups = NULL;
  JsonArray *array = json_object_get_array_member (status, "groups");

  if (manifest == NULL)
    return "pending";
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    g_strv_builder_add (builder, json_array_get_string_element (array, i));
  groups = g_strv_builder_end (builder);
  if (!hgd_fleet_manifest_targets (manifest, json_object_get_string_member (status, "gateway"),
                                   (const gchar *const *) groups))
    return "not-targeted";
  if (serial == hgd_fleet_manifest_get_serial (manifest))
    return g_strcmp0 (outcome, "converged") == 0 ? "converged"
           : g_strcmp0 (outcome, "pending") == 0 ? "pending"
                                                 : "failed";
  if (serial > hgd_fleet_manifest_get_serial (manifest))
    return "converged";
  if (refused != NULL && JSON_NODE_HOLDS_OBJECT (refused))
    return "failed";
  return "pending";
}

static gint
compare_ids (gconstpointer a,
             gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *) a, *(const gchar *const *) b);
}

/* fleet status */
gboolean
hgd_cli_fleet_status (HgdCliClient *client,
                      const HgdCliOptions *options,
                      gchar **args,
                      GError **error)
{
  g_autofree gchar *status_topic = NULL;
  g_autofree gchar *manifest_topic = NULL;
  g_autoptr(HgdFleetManifest) manifest = NULL;
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  guint converged = 0, pending = 0, failed = 0, skipped = 0;
  const guint widths[] = { 20, 7, 13, 24 };
  Session session = { 0 };
  GHashTableIter iter;
  gpointer key;

  if (!session_connect (&session, options, error))
    {
      session_clear (&session);
      return FALSE;
    }
  status_topic = g_strdup_printf ("%s/status/+", session.prefix);
  manifest_topic = g_strdup_printf ("%s/manifest", session.prefix);
  mosquitto_subscribe (session.mosq, NULL, status_topic, 1);
  mosquitto_subscribe (session.mosq, NULL, manifest_topic, 1);
  run_until (&session, never, (gint64) (options->wait > 0 ? options->wait : 2) * 1000);
  if (session.manifest != NULL)
    {
      manifest = hgd_fleet_manifest_new_from_message (session.manifest, NULL);
      if (manifest != NULL && !hgd_fleet_manifest_parse (manifest, NULL))
        g_clear_object (&manifest);
    }
  g_hash_table_iter_init (&iter, session.statuses);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (ids, key);
  g_ptr_array_sort (ids, compare_ids);

  if (options->json)
    {
      g_autoptr(JsonArray) array = json_array_new ();
      g_autoptr(JsonNode) node = json_node_new (JSON_NODE_ARRAY);

      for (guint i = 0; i < ids->len; i++)
        {
          JsonObject *status = g_hash_table_lookup (session.statuses, ids->pdata[i]);
          JsonObject *copy = json_object_ref (status);

          json_object_set_string_member (copy, "rollout", status_kind (status, manifest));
          json_array_add_object_element (array, copy);
        }
      json_node_set_array (node, array);
      hgd_cli_print_json (node, TRUE);
      session_clear (&session);
      return TRUE;
    }
  for (guint i = 0; i < ids->len; i++)
    {
      const gchar *kind
          = status_kind (g_hash_table_lookup (session.statuses, ids->pdata[i]), manifest);

      if (g_strcmp0 (kind, "converged") == 0)
        converged++;
      else if (g_strcmp0 (kind, "failed") == 0)
        failed++;
      else if (g_strcmp0 (kind, "not-targeted") == 0)
        skipped++;
      else
        pending++;
    }
  if (manifest != NULL)
    {
      g_autofree gchar *serial_text
          = g_strdup_printf ("%" G_GINT64_FORMAT, hgd_fleet_manifest_get_serial (manifest));

      /* TRANSLATORS: a summary; %s is the manifest's serial, the %u are counts of gateways */
      g_print (_ ("Manifest %s: %u converged, %u pending, %u failed, %u not targeted, of %u "
                  "gateways\n"),
               serial_text, converged, pending, failed, skipped, ids->len);
    }
  else
    /* TRANSLATORS: %u is a count of gateways */
    g_print (_ ("No manifest published; %u gateways report\n"), ids->len);
  {
    const gchar *header[] = { _ ("GATEWAY"), _ ("SERIAL"), _ ("ROLL-OUT"), _ ("PLUGINS"),
                              _ ("ERROR") };
    hgd_cli_print_row (widths, G_N_ELEMENTS (header), header);
  }
  for (guint i = 0; i < ids->len; i++)
    {
      JsonObject *status = g_hash_table_lookup (session.statuses, ids->pdata[i]);
      JsonArray *plugins = json_object_get_array_member (status, "plugins");
      JsonNode *refused = json_object_get_member (status, "refused");
      g_autoptr(GString) list = g_string_new (NULL);
      g_autofree gchar *serial = g_strdup_printf (
          "%" G_GINT64_FORMAT, json_object_get_int_member_with_default (status, "serial", 0));
      const gchar *message = json_object_get_string_member_with_default (status, "error", NULL);
      const gchar *cells[5];

      for (guint j = 0; plugins != NULL && j < json_array_get_length (plugins); j++)
        {
          JsonObject *plugin = json_array_get_object_element (plugins, j);
          g_string_append_printf (
              list, "%s%s %s", j > 0 ? ", " : "", json_object_get_string_member (plugin, "id"),
              json_object_get_string_member_with_default (plugin, "version", "?"));
        }
      if (refused != NULL && JSON_NODE_HOLDS_OBJECT (refused))
        message = json_object_get_string_member_with_default (json_node_get_object (refused),
                                                              "message", message);
      cells[0] = ids->pdata[i];
      cells[1] = serial;
      cells[2] = status_kind (status, manifest);
      cells[3] = list->len > 0 ? list->str : "-";
      cells[4] = message != NULL ? message : "";
      hgd_cli_print_row (widths, G_N_ELEMENTS (cells), cells);
    }
  session_clear (&session);
  return TRUE;
}
