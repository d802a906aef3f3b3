/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A fleet of gateways against real processes: a real mosquitto with TLS that requires a
 * client certificate (a CA, the broker's and each gateway's certificate made here with
 * openssl), and many hemgated on loopback in light mode (each its own state directory,
 * no demo users, no configured plugins, no sandbox, the client key from a file), each
 * provisioned with the municipal domain's trusted key. hemgatectl signs and publishes
 * deployment manifests and reads the roll-out back from the status topics; raw
 * manifests (replays, damaged ones) go through the real mosquitto_pub. */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>

#include "hg-test-support.h"

#define WAIT_SECONDS 120
#define PREFIX "hemgate/fleet-test"


typedef struct
{
  gchar *dir; /* (owned) keys, certificates, bundles, manifests, state dirs */
  guint16 broker_port;
  GSubprocess *broker;    /* (owned) */
  GPtrArray *gateways;    /* (owned) of GSubprocess */
  guint n_gateways;
  guint n_pilot;          /* gw-000 .. the first n_pilot are in group "pilot" */
  gboolean secret_store;  /* the client key from hemgated's own secret store, not a file */
  guint16 api_port;       /* gw-000's */
} Fixture;

static GSubprocessLauncher *
launcher_new (Fixture *fixture,
              GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = hg_test_launcher_new (flags);

  g_subprocess_launcher_unsetenv (launcher, "HEMGATE_TOKEN");
  g_subprocess_launcher_set_cwd (launcher, fixture->dir);
  return launcher;
}

/* Runs @argv to its end; returns its exit status, its output in @out. */
static gint
run (Fixture *fixture,
     gchar **out,
     const gchar *const *argv)
{
  g_autoptr(GSubprocessLauncher) launcher
      = launcher_new (fixture, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *stdout_text = NULL;
  g_autofree gchar *stderr_text = NULL;
  g_autofree gchar *command = g_strjoinv (" ", (gchar **) argv);

  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &stdout_text, &stderr_text, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  if (g_subprocess_get_exit_status (process) != 0 || out == NULL)
    g_test_message ("$ %s -> %d\n%.2000s%.2000s", command, g_subprocess_get_exit_status (process),
                    stdout_text, stderr_text);
  if (out != NULL)
    *out = g_steal_pointer (&stdout_text);
  return g_subprocess_get_exit_status (process);
}

#define RUN(fixture, out, ...) run ((fixture), (out), (const gchar *const[]){ __VA_ARGS__, NULL })

static gchar *
path (Fixture *fixture,
      const gchar *name)
{
  return g_build_filename (fixture->dir, name, NULL);
}

/* hemgatectl fleet … with the broker's options and a client certificate of IT's */
static gint
fleet_ctl (Fixture *fixture,
           gchar **out,
           const gchar *const *argv)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_autofree gchar *broker = g_strdup_printf ("127.0.0.1:%u", fixture->broker_port);

  g_ptr_array_add (args, g_strdup (g_getenv ("HEMGATECTL")));
  g_ptr_array_add (args, g_strdup ("fleet"));
  for (guint i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (args, g_strdup (argv[i]));
  g_ptr_array_add (args, g_strdup ("--broker"));
  g_ptr_array_add (args, g_strdup (broker));
  g_ptr_array_add (args, g_strdup ("--ca"));
  g_ptr_array_add (args, path (fixture, "ca.crt"));
  g_ptr_array_add (args, g_strdup ("--cert"));
  g_ptr_array_add (args, path (fixture, "it.crt"));
  g_ptr_array_add (args, g_strdup ("--cert-key"));
  g_ptr_array_add (args, path (fixture, "it.key"));
  if (!g_strv_contains (argv, "--prefix"))
    {
      g_ptr_array_add (args, g_strdup ("--prefix"));
      g_ptr_array_add (args, g_strdup (PREFIX));
    }
  g_ptr_array_add (args, NULL);
  return run (fixture, out, (const gchar *const *) args->pdata);
}

#define FLEET(fixture, out, ...)                                                                   \
  fleet_ctl ((fixture), (out), (const gchar *const[]){ __VA_ARGS__, NULL })

/* Publishes @file as it is, retained, as IT's client (a replay or a damaged manifest). */
static void
publish_raw (Fixture *fixture,
             const gchar *file)
{
  g_autofree gchar *port = g_strdup_printf ("%u", fixture->broker_port);
  g_autofree gchar *ca = path (fixture, "ca.crt");
  g_autofree gchar *cert = path (fixture, "it.crt");
  g_autofree gchar *key = path (fixture, "it.key");

  g_assert_cmpint (RUN (fixture, NULL, "mosquitto_pub", "-h", "127.0.0.1", "-p", port, "--cafile",
                        ca, "--cert", cert, "--key", key, "-q", "1", "-r", "-t",
                        PREFIX "/manifest", "-f", file),
                   ==, 0);
}

/* Certificates ------------------------------------------------------------------------------- */

/* NAME.key and NAME.crt, an EC key and a certificate for @subject signed by the test CA */
static void
make_certificate (Fixture *fixture,
                  const gchar *name,
                  const gchar *extensions)
{
  g_autofree gchar *key = g_strconcat (name, ".key", NULL);
  g_autofree gchar *crt = g_strconcat (name, ".crt", NULL);
  g_autofree gchar *subject = g_strdup_printf ("/CN=%s", name);

  if (extensions != NULL)
    g_assert_cmpint (RUN (fixture, NULL, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", subject,
                          "-keyout", key, "-out", crt, "-CA", "ca.crt", "-CAkey", "ca.key",
                          "-addext", extensions),
                     ==, 0);
  else
    g_assert_cmpint (RUN (fixture, NULL, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", subject,
                          "-keyout", key, "-out", crt, "-CA", "ca.crt", "-CAkey", "ca.key"),
                     ==, 0);
}

static gboolean
broker_is_up (gpointer data)
{
  Fixture *fixture = data;
  g_autoptr(GSocket) socket
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, fixture->broker_port);

  return socket != NULL && g_socket_connect (socket, address, NULL, NULL);
}

static void
start_broker (Fixture *fixture)
{
  g_autoptr(GSubprocessLauncher) launcher = launcher_new (fixture, G_SUBPROCESS_FLAGS_NONE);
  g_autofree gchar *config_path = path (fixture, "mosquitto.conf");
  g_autofree gchar *config = NULL;
  g_autoptr(GError) error = NULL;

  fixture->broker_port = hg_test_free_port ();
  /* a client certificate is required and names the client; nothing else is configured
   * for the fleet: any broker carries it */
  config = g_strdup_printf ("listener %u 127.0.0.1\n"
                            "cafile %s/ca.crt\ncertfile %s/broker.crt\nkeyfile %s/broker.key\n"
                            "require_certificate true\nuse_identity_as_username true\n"
                            "allow_anonymous false\n"
                            "persistence false\nmax_queued_messages 0\n"
                            "%s",
                            fixture->broker_port, fixture->dir, fixture->dir, fixture->dir,
                            getuid () == 0 ? "user root\n" : "");
  g_file_set_contents (config_path, config, -1, &error);
  g_assert_no_error (error);
  fixture->broker = g_subprocess_launcher_spawn (launcher, &error, "mosquitto", "-c", config_path,
                                                 NULL);
  g_assert_no_error (error);
  hg_test_wait_for (broker_is_up, fixture, WAIT_SECONDS);
}

/* Gateways ------------------------------------------------------------------------------------ */

static gchar *
gateway_id (guint i)
{
  return g_strdup_printf ("gw-%03u", i);
}

/* Writes the public key of `bundle keygen NAME` to @domain_dir's trusted keys */
static void
provision_key (Fixture *fixture,
               const gchar *name,
               const gchar *domain_dir,
               const gchar *who)
{
  g_autoptr(GKeyFile) pub = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autofree gchar *pub_name = g_strconcat (name, ".pub", NULL);
  g_autofree gchar *pub_path = path (fixture, pub_name);
  g_autofree gchar *id = NULL;
  g_autofree gchar *public_key = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *keys = g_build_filename (domain_dir, "bundle-keys", NULL);

  g_key_file_load_from_file (pub, pub_path, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  id = g_key_file_get_string (pub, "hemgate key", "id", &error);
  g_assert_no_error (error);
  public_key = g_key_file_get_string (pub, "hemgate key", "public", &error);
  g_assert_no_error (error);
  text = g_strdup_printf ("[key %s]\npublic=%s\nadded-by=%s\n", id, public_key, who);
  g_file_set_contents (keys, text, -1, &error);
  g_assert_no_error (error);
}

/* Provisions gateway @i: its certificate, its state dir trusting the municipal key and,
 * in the personal domain, the resident's key, and its configuration. */
static void
provision_gateway (Fixture *fixture,
                   guint i)
{
  g_autofree gchar *id = gateway_id (i);
  g_autofree gchar *state = g_strdup_printf ("%s/state-%s", fixture->dir, id);
  g_autofree gchar *municipal = g_build_filename (state, "municipal", NULL);
  g_autofree gchar *personal = g_build_filename (state, "personal", NULL);
  g_autofree gchar *config_path = g_strdup_printf ("%s/%s.conf", fixture->dir, id);
  g_autofree gchar *config = NULL;
  g_autofree gchar *key_line = NULL;
  g_autoptr(GError) error = NULL;
  guint16 api_port = hg_test_free_port ();

  if (i == 0)
    fixture->api_port = api_port;
  make_certificate (fixture, id, NULL);
  g_assert_cmpint (g_mkdir_with_parents (municipal, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (personal, 0700), ==, 0);
  /* what `hemgatectl trust add` stores: an image is provisioned with the municipal key;
   * the resident trusted their own key in the personal domain */
  provision_key (fixture, "municipal", municipal, "provisioning");
  provision_key (fixture, "resident", personal, "user:resident");
  /* light mode: no sandbox and the session's secret store (none: the key from a file) */
  key_line = fixture->secret_store
                 ? g_strdup ("")
                 : g_strdup_printf ("client-key-file = %s/%s.key\n", fixture->dir, id);
  config = g_strdup_printf (
      "[daemon]\nstate-dir = %s\n\n"
      "[api]\nlisten-address = 127.0.0.1\nport = %u\ntls = false\n\n"
      "[plugins]\nsandbox = off\nstart-timeout = 5\n\n"
      "[secrets]\nservice = %s\n\n"
      "[fleet]\nbroker = 127.0.0.1\nport = %u\nca-file = %s/ca.crt\n"
      "certificate-file = %s/%s.crt\n%s"
      "gateway-id = %s\ngroups = %s\ntopic-prefix = " PREFIX "\nhealth-check = 2\n",
      state, api_port, fixture->secret_store ? "private" : "session", fixture->broker_port,
      fixture->dir, fixture->dir, id, key_line, id, i < fixture->n_pilot ? "pilot" : "all");
  g_file_set_contents (config_path, config, -1, &error);
  g_assert_no_error (error);
}

/* Starts gateway @i's hemgated, its log in GATEWAY-ID.log */
static GSubprocess *
spawn_gateway (Fixture *fixture,
               guint i)
{
  g_autoptr(GSubprocessLauncher) launcher
      = launcher_new (fixture, G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autofree gchar *id = gateway_id (i);
  g_autofree gchar *config_path = g_strdup_printf ("%s/%s.conf", fixture->dir, id);
  g_autofree gchar *log = g_strdup_printf ("%s/%s.log", fixture->dir, id);
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  /* no session bus */
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS",
                                "unix:path=/nonexistent/bus", TRUE);
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  process = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("HEMGATED"), "--config",
                                         config_path, NULL);
  g_assert_no_error (error);
  return process;
}

/* Statuses ------------------------------------------------------------------------------------ */

/* gateway id -> its status, as `hemgatectl fleet status --json` shows it */
static GHashTable *
read_statuses (Fixture *fixture)
{
  g_autofree gchar *out = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  GHashTable *statuses = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                (GDestroyNotify) json_object_unref);
  JsonArray *array;

  g_assert_cmpint (FLEET (fixture, &out, "status", "--json", "--wait", "1"), ==, 0);
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  array = json_node_get_array (json_parser_get_root (parser));
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *status = json_array_get_object_element (array, i);
      g_hash_table_insert (statuses, g_strdup (json_object_get_string_member (status, "gateway")),
                           json_object_ref (status));
    }
  return statuses;
}

static gchar *
status_to_string (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);

  return json_to_string (node, FALSE);
}

typedef gboolean (*StatusCheck) (JsonObject *status, gconstpointer data);

typedef struct
{
  Fixture *fixture;
  guint first;
  guint last; /* exclusive */
  StatusCheck check;
  gconstpointer data;
} Expectation;

static gboolean
all_match (gpointer user_data)
{
  Expectation *expectation = user_data;
  g_autoptr(GHashTable) statuses = read_statuses (expectation->fixture);
  guint matching = 0;

  for (guint i = expectation->first; i < expectation->last; i++)
    {
      g_autofree gchar *id = gateway_id (i);
      JsonObject *status = g_hash_table_lookup (statuses, id);

      if (status != NULL && expectation->check (status, expectation->data))
        matching++;
      else if (i == expectation->last - 1 || matching + 1 < i - expectation->first)
        {
          g_autofree gchar *text = status != NULL ? status_to_string (status)
                                                  : g_strdup ("no status");
          g_test_message ("%s: %s", id, text);
        }
    }
  g_test_message ("%u of %u gateways as expected", matching,
                  expectation->last - expectation->first);
  return matching == expectation->last - expectation->first;
}

static void
wait_for_gateways (Fixture *fixture,
                   guint first,
                   guint last,
                   StatusCheck check,
                   gconstpointer data)
{
  Expectation expectation = { fixture, first, last, check, data };

  hg_test_wait_for (all_match, &expectation, WAIT_SECONDS);
}

/* The version of @plugin a status reports, and that it runs */
static const gchar *
running_version (JsonObject *status,
                 const gchar *plugin)
{
  JsonArray *plugins = json_object_get_array_member (status, "plugins");

  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *object = json_array_get_object_element (plugins, i);

      if (g_strcmp0 (json_object_get_string_member (object, "id"), plugin) == 0
          && g_strcmp0 (json_object_get_string_member (object, "state"), "running") == 0)
        return json_object_get_string_member (object, "version");
    }
  return NULL;
}

typedef struct
{
  gint64 serial;
  const gchar *outcome;
  const gchar *version; /* of "greeter", running; NULL: none */
  const gchar *refused; /* (nullable) the code of the last refusal */
} Expected;

static gboolean
status_is (JsonObject *status,
           gconstpointer data)
{
  const Expected *expected = data;
  JsonNode *refused = json_object_get_member (status, "refused");
  const gchar *code = refused != NULL && JSON_NODE_HOLDS_OBJECT (refused)
                          ? json_object_get_string_member (json_node_get_object (refused), "code")
                          : NULL;

  return json_object_get_int_member (status, "serial") == expected->serial
         && g_strcmp0 (json_object_get_string_member (status, "outcome"), expected->outcome) == 0
         && g_strcmp0 (running_version (status, "greeter"), expected->version) == 0
         && g_strcmp0 (code, expected->refused) == 0;
}

static gboolean
status_reports (JsonObject *status,
                gconstpointer data)
{
  return TRUE;
}

/* Seconds from @since (real time, µs) to the newest status's "updated": a roll-out's time
 * as the gateways report it (one clock: they all run here) */
static gdouble
rollout_seconds (Fixture *fixture,
                 gint64 since)
{
  g_autoptr(GHashTable) statuses = read_statuses (fixture);
  GHashTableIter iter;
  gpointer value;
  gint64 newest = since;

  g_hash_table_iter_init (&iter, statuses);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      g_autoptr(GDateTime) updated = g_date_time_new_from_iso8601 (
          json_object_get_string_member (value, "updated"), NULL);

      if (updated != NULL)
        newest = MAX (newest, g_date_time_to_unix (updated) * G_USEC_PER_SEC
                                   + g_date_time_get_microsecond (updated));
    }
  return (newest - since) / 1e6;
}

/* Bundles and manifests --------------------------------------------------------------------- */

/* A signed bundle NAME.hgp of plugin "greeter" @version made of @module. */
static void
make_bundle (Fixture *fixture,
             const gchar *name,
             const gchar *version,
             const gchar *module_path)
{
  g_autofree gchar *dir = path (fixture, name);
  g_autofree gchar *module_name = g_path_get_basename (module_path);
  g_autofree gchar *module = g_build_filename (dir, module_name, NULL);
  g_autofree gchar *manifest = g_build_filename (dir, "manifest.json", NULL);
  g_autofree gchar *text = NULL;
  g_autofree gchar *contents = NULL;
  g_autofree gchar *file = g_strconcat (name, ".hgp", NULL);
  g_autoptr(GError) error = NULL;
  gsize length = 0;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  text = g_strdup_printf ("{\"id\": \"greeter\", \"name\": \"Greeter\", \"version\": \"%s\", "
                          "\"provider\": \"The hemgate tests\", \"api_version\": \"1\", "
                          "\"module\": \"%s\", \"domains\": [\"municipal\"], "
                          "\"capabilities\": [\"sensor.publish\"]}\n",
                          version, module_name);
  g_file_set_contents (manifest, text, -1, &error);
  g_assert_no_error (error);
  g_file_get_contents (module_path, &contents, &length, &error);
  g_assert_no_error (error);
  g_file_set_contents (module, contents, (gssize) length, &error);
  g_assert_no_error (error);
  g_assert_cmpint (RUN (fixture, NULL, g_getenv ("HEMGATECTL"), "bundle", "create", dir, file),
                   ==, 0);
  g_assert_cmpint (
      RUN (fixture, NULL, g_getenv ("HEMGATECTL"), "bundle", "sign", file, "municipal.key"), ==,
      0);
}

/* MANIFEST-NAME.json naming @bundle (a .hgp) at @serial, for @groups when given */
static gchar *
write_manifest (Fixture *fixture,
                const gchar *name,
                gint64 serial,
                const gchar *bundle,
                const gchar *groups)
{
  g_autofree gchar *file = g_strconcat (name, ".json", NULL);
  g_autofree gchar *full = path (fixture, file);
  g_autofree gchar *text = NULL;
  g_autoptr(GError) error = NULL;

  text = g_strdup_printf ("{\"serial\": %" G_GINT64_FORMAT ", \"domain\": \"municipal\", "
                          "\"plugins\": [{\"bundle\": \"%s\"}]%s%s%s}\n",
                          serial, bundle, groups != NULL ? ", \"target\": {\"groups\": [\"" : "",
                          groups != NULL ? groups : "", groups != NULL ? "\"]}" : "");
  g_file_set_contents (full, text, -1, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&file);
}

/* Publishes @manifest signed with @key; keeps the envelope in ENVELOPE-NAME */
static void
publish (Fixture *fixture,
         const gchar *manifest,
         const gchar *key,
         const gchar *envelope_name)
{
  g_autofree gchar *out = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (FLEET (fixture, &out, "publish", manifest, "--key", key, "--json"), ==, 0);
  if (envelope_name != NULL)
    {
      g_autofree gchar *file = path (fixture, envelope_name);
      g_file_set_contents (file, g_strstrip (out), -1, &error);
      g_assert_no_error (error);
    }
}

/* The envelope of @manifest signed with @key, published only under a prefix no gateway
 * follows */
static gchar *
sign_aside (Fixture *fixture,
            const gchar *manifest,
            const gchar *key)
{
  g_autofree gchar *out = NULL;

  g_assert_cmpint (FLEET (fixture, &out, "publish", manifest, "--key", key, "--json", "--prefix",
                          "hemgate/scratch"),
                   ==, 0);
  return g_strdup (g_strstrip (out));
}

/* Fixture ------------------------------------------------------------------------------------ */

static void
setup (Fixture *fixture,
       gconstpointer data)
{
  const gchar *count = g_getenv ("HGD_FLEET_GATEWAYS");
  gint64 started;
  g_autoptr(GError) error = NULL;

  /* 0: one gateway whose client key is in its secret store */
  fixture->n_gateways = MAX (1, GPOINTER_TO_UINT (data));
  fixture->secret_store = GPOINTER_TO_UINT (data) == 0;
  if (count != NULL && fixture->n_gateways > 2)
    fixture->n_gateways = (guint) g_ascii_strtoull (count, NULL, 10);
  fixture->n_pilot = MAX (1, fixture->n_gateways / 10);
  fixture->dir = g_dir_make_tmp ("hemgate-fleet-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->gateways = g_ptr_array_new_with_free_func (g_object_unref);

  g_assert_cmpint (RUN (fixture, NULL, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                        "/CN=hemgate fleet test CA", "-keyout", "ca.key", "-out", "ca.crt"),
                   ==, 0);
  make_certificate (fixture, "broker", "subjectAltName=IP:127.0.0.1");
  make_certificate (fixture, "it", NULL);
  /* the municipal IT's signing key, a resident's (trusted in the personal domain), and
   * one nobody trusts */
  g_assert_cmpint (RUN (fixture, NULL, g_getenv ("HEMGATECTL"), "bundle", "keygen", "municipal"),
                   ==, 0);
  g_assert_cmpint (RUN (fixture, NULL, g_getenv ("HEMGATECTL"), "bundle", "keygen", "resident"),
                   ==, 0);
  g_assert_cmpint (RUN (fixture, NULL, g_getenv ("HEMGATECTL"), "bundle", "keygen", "rogue"), ==,
                   0);
  start_broker (fixture);
  started = g_get_monotonic_time ();
  for (guint i = 0; i < fixture->n_gateways; i++)
    {
      provision_gateway (fixture, i);
      g_ptr_array_add (fixture->gateways, spawn_gateway (fixture, i));
    }
  g_test_message ("%u gateways started", fixture->n_gateways);
  /* every gateway reports once connected, before any manifest */
  if (!fixture->secret_store)
    wait_for_gateways (fixture, 0, fixture->n_gateways, status_reports, NULL);
  g_test_message ("%u gateways started in %.1f s (certificates made, connected, reporting)",
                  fixture->n_gateways, (g_get_monotonic_time () - started) / 1e6);
}

static void
teardown (Fixture *fixture,
          gconstpointer data)
{
  for (guint i = 0; i < fixture->gateways->len; i++)
    g_subprocess_send_signal (fixture->gateways->pdata[i], SIGTERM);
  for (guint i = 0; i < fixture->gateways->len; i++)
    g_subprocess_wait (fixture->gateways->pdata[i], NULL, NULL);
  g_ptr_array_unref (fixture->gateways);
  if (fixture->broker != NULL)
    {
      g_subprocess_send_signal (fixture->broker, SIGTERM);
      g_subprocess_wait (fixture->broker, NULL, NULL);
      g_clear_object (&fixture->broker);
    }
  if (g_getenv ("HGD_FLEET_KEEP") == NULL)
    {
      g_autofree gchar *quoted = g_shell_quote (fixture->dir);
      g_autofree gchar *command = g_strdup_printf ("rm -rf %s", quoted);
      (void) system (command);
    }
  g_free (fixture->dir);
}

static gchar *
example_module (void)
{
  return g_build_filename (g_getenv ("HEMGATE_PLUGINDIR"), "example", "hg-example-plugin.so", NULL);
}

static gchar *
crash_module (void)
{
  return g_build_filename (g_getenv ("HGD_TEST_PLUGINS"), "crash-on-start", "hg-crash-plugin.so",
                           NULL);
}

/* Tests -------------------------------------------------------------------------------------- */

static void
test_rollout (Fixture *fixture,
              gconstpointer data)
{
  g_autofree gchar *example = example_module ();
  g_autofree gchar *crash = crash_module ();
  g_autofree gchar *m1 = NULL;
  g_autofree gchar *m2 = NULL;
  g_autofree gchar *m3 = NULL;
  g_autofree gchar *out = NULL;
  g_autofree gchar *line = NULL;
  g_autofree gchar *replay = NULL;
  const Expected converged = { 1, "converged", "1.0", NULL };
  const Expected rolled_back = { 2, "rolled-back", "1.0", NULL };
  const Expected replay_refused = { 2, "rolled-back", "1.0", "manifest-replayed" };
  const Expected pilot = { 3, "converged", "1.1", NULL };
  gint64 since;

  g_test_summary ("Gateways on one broker converge to a signed manifest and report it; a "
                  "version that crashes at start rolls back on every gateway, each reporting "
                  "it; an older manifest, re-signed or replayed as it was, is refused "
                  "everywhere; a manifest for a named group reaches only that group");
  make_bundle (fixture, "greeter-1.0", "1.0", example);
  make_bundle (fixture, "greeter-2.0", "2.0", crash);
  make_bundle (fixture, "greeter-1.1", "1.1", example);

  /* 1: every gateway installs 1.0 */
  m1 = write_manifest (fixture, "m1", 1, "greeter-1.0.hgp", NULL);
  since = g_get_real_time ();
  publish (fixture, m1, "municipal.key", "m1.envelope");
  wait_for_gateways (fixture, 0, fixture->n_gateways, status_is, &converged);
  g_test_message ("roll-out of manifest 1 (install) to %u gateways: %.2f s",
                  fixture->n_gateways, rollout_seconds (fixture, since));
  g_assert_cmpint (FLEET (fixture, &out, "status"), ==, 0);
  line = g_strdup_printf ("Manifest 1: %u converged, 0 pending, 0 failed", fixture->n_gateways);
  g_assert_nonnull (strstr (out, line));

  /* 2: 2.0 crashes at start: rolled back to 1.0 everywhere, and reported */
  m2 = write_manifest (fixture, "m2", 2, "greeter-2.0.hgp", NULL);
  since = g_get_real_time ();
  publish (fixture, m2, "municipal.key", NULL);
  wait_for_gateways (fixture, 0, fixture->n_gateways, status_is, &rolled_back);
  g_test_message ("roll-out of manifest 2 (crash, rollback) to %u gateways: %.2f s",
                  fixture->n_gateways, rollout_seconds (fixture, since));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&line, g_free);
  g_assert_cmpint (FLEET (fixture, &out, "status"), ==, 0);
  line = g_strdup_printf ("Manifest 2: 0 converged, 0 pending, %u failed", fixture->n_gateways);
  g_assert_nonnull (strstr (out, line));
  g_assert_nonnull (strstr (out, "did not start"));

  /* an older manifest, exactly as published then: refused, 1.0 keeps running */
  replay = path (fixture, "m1.envelope");
  publish_raw (fixture, replay);
  wait_for_gateways (fixture, 0, fixture->n_gateways, status_is, &replay_refused);

  /* 3: only the pilot group gets 1.1; the others keep what they run */
  m3 = write_manifest (fixture, "m3", 3, "greeter-1.1.hgp", "pilot");
  publish (fixture, m3, "municipal.key", NULL);
  wait_for_gateways (fixture, 0, fixture->n_pilot, status_is, &pilot);
  wait_for_gateways (fixture, fixture->n_pilot, fixture->n_gateways, status_is, &replay_refused);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&line, g_free);
  g_assert_cmpint (FLEET (fixture, &out, "status"), ==, 0);
  line = g_strdup_printf ("Manifest 3: %u converged, 0 pending, 0 failed, %u not targeted",
                          fixture->n_pilot, fixture->n_gateways - fixture->n_pilot);
  g_assert_nonnull (strstr (out, line));
}

/* MANIFEST-NAME.json naming @bundle at @serial with @config, a JSON object */
static gchar *
write_config_manifest (Fixture *fixture,
                       const gchar *name,
                       gint64 serial,
                       const gchar *bundle,
                       const gchar *config)
{
  g_autofree gchar *file = g_strconcat (name, ".json", NULL);
  g_autofree gchar *full = path (fixture, file);
  g_autofree gchar *text = NULL;
  g_autoptr(GError) error = NULL;

  text = g_strdup_printf ("{\"serial\": %" G_GINT64_FORMAT ", \"domain\": \"municipal\", "
                          "\"plugins\": [{\"bundle\": \"%s\", \"config\": %s}]}\n",
                          serial, bundle, config);
  g_file_set_contents (full, text, -1, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&file);
}

typedef struct
{
  gint64 serial;
  const gchar *outcome;
  const gchar *state;  /* (nullable) greeter's; NULL: any */
  const gchar *words;  /* (nullable) in the status's error */
  gchar **config;      /* (inout) greeter's config digest: set if NULL, else compared */
} ConfigExpected;

static gboolean
config_status_is (JsonObject *status,
                  gconstpointer data)
{
  const ConfigExpected *expected = data;
  JsonArray *plugins = json_object_get_array_member (status, "plugins");
  JsonObject *plugin = NULL;
  const gchar *config;
  const gchar *error = json_object_get_string_member_with_default (status, "error", NULL);

  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (plugins, i),
                                                    "id"),
                     "greeter")
          == 0)
        plugin = json_array_get_object_element (plugins, i);
    }
  if (plugin == NULL || json_object_get_int_member (status, "serial") != expected->serial
      || g_strcmp0 (json_object_get_string_member (status, "outcome"), expected->outcome) != 0
      || (expected->state != NULL
          && g_strcmp0 (json_object_get_string_member (plugin, "state"), expected->state) != 0)
      || (expected->words != NULL && (error == NULL || strstr (error, expected->words) == NULL)))
    return FALSE;
  config = json_object_get_string_member_with_default (plugin, "config", NULL);
  if (config == NULL || strlen (config) != 64)
    return FALSE;
  if (*expected->config == NULL)
    *expected->config = g_strdup (config);
  return g_strcmp0 (*expected->config, config) == 0;
}

static void
test_config (Fixture *fixture,
             gconstpointer data)
{
  g_autofree gchar *example = example_module ();
  g_autofree gchar *m1 = NULL;
  g_autofree gchar *m2 = NULL;
  g_autofree gchar *m3 = NULL;
  g_autofree gchar *m4 = NULL;
  g_autofree gchar *crash = crash_module ();
  g_autofree gchar *digest1 = NULL;
  g_autofree gchar *digest2 = NULL;
  g_autofree gchar *digest3 = NULL;
  ConfigExpected first = { 1, "converged", "running", NULL, &digest1 };
  ConfigExpected refused = { 2, "failed", NULL, "interval", &digest2 };
  ConfigExpected fixed = { 3, "converged", "running", NULL, &digest3 };
  ConfigExpected rolled_back = { 4, "rolled-back", "running", "did not start", &digest3 };

  g_test_summary ("A manifest's plugin carries config: installed with it, the plugin runs "
                  "with it; the same build with another config restarts the plugin with that "
                  "one (an interval the example plugin refuses fails the manifest), and the "
                  "status names the config's digest; a version rolled back runs again with "
                  "the config it had");
  make_bundle (fixture, "greeter-1.0", "1.0", example);
  make_bundle (fixture, "greeter-2.0", "2.0", crash);

  m1 = write_config_manifest (fixture, "m1", 1, "greeter-1.0.hgp", "{\"interval\": \"1\"}");
  publish (fixture, m1, "municipal.key", NULL);
  wait_for_gateways (fixture, 0, fixture->n_gateways, config_status_is, &first);

  /* the same bundle, a config the plugin refuses in its configure() */
  m2 = write_config_manifest (fixture, "m2", 2, "greeter-1.0.hgp", "{\"interval\": \"0\"}");
  publish (fixture, m2, "municipal.key", NULL);
  wait_for_gateways (fixture, 0, fixture->n_gateways, config_status_is, &refused);
  g_assert_cmpstr (digest2, !=, digest1);

  m3 = write_config_manifest (fixture, "m3", 3, "greeter-1.0.hgp", "{\"interval\": \"2\"}");
  publish (fixture, m3, "municipal.key", NULL);
  wait_for_gateways (fixture, 0, fixture->n_gateways, config_status_is, &fixed);
  g_assert_cmpstr (digest3, !=, digest1);
  g_assert_cmpstr (digest3, !=, digest2);

  /* a version that crashes at start, with another config: rolled back, and 1.0 runs
   * again with the config it had */
  m4 = write_config_manifest (fixture, "m4", 4, "greeter-2.0.hgp", "{\"interval\": \"3\"}");
  publish (fixture, m4, "municipal.key", NULL);
  wait_for_gateways (fixture, 0, fixture->n_gateways, config_status_is, &rolled_back);
}

/* Writes @text to FILE-NAME and publishes it raw; waits for every gateway to refuse it
 * with @code (and a message containing @words) and to keep 1.0 at serial 1. */
static void
expect_refusal (Fixture *fixture,
                const gchar *name,
                const gchar *text,
                gssize length,
                const gchar *code,
                const gchar *words)
{
  g_autofree gchar *file = path (fixture, name);
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) statuses = NULL;
  const Expected refused = { 1, "converged", "1.0", code };

  g_test_message ("publishing %s", name);
  g_file_set_contents (file, text, length, &error);
  g_assert_no_error (error);
  publish_raw (fixture, file);
  wait_for_gateways (fixture, 0, fixture->n_gateways, status_is, &refused);
  statuses = read_statuses (fixture);
  for (guint i = 0; i < fixture->n_gateways; i++)
    {
      g_autofree gchar *id = gateway_id (i);
      g_autofree gchar *log = g_strdup_printf ("%s/%s.log", fixture->dir, id);
      g_autofree gchar *log_text = NULL;
      JsonObject *status = g_hash_table_lookup (statuses, id);
      JsonObject *refusal = json_object_get_object_member (status, "refused");
      const gchar *message = json_object_get_string_member (refusal, "message");

      g_test_message ("%s: %s", id, message);
      g_assert_nonnull (strstr (message, words));
      g_file_get_contents (log, &log_text, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (strstr (log_text, message));
    }
}

static void
test_bad_input (Fixture *fixture,
                gconstpointer data)
{
  g_autofree gchar *example = example_module ();
  g_autofree gchar *m1 = NULL;
  g_autofree gchar *m2 = NULL;
  g_autofree gchar *good = NULL;
  g_autofree gchar *damaged = NULL;
  g_autofree gchar *rogue = NULL;
  g_autofree gchar *personal = NULL;
  g_autofree gchar *big = NULL;
  const Expected converged = { 1, "converged", "1.0", NULL };
  gchar *signature;

  g_test_summary ("A manifest with a bad signature, by an unknown key, by a key of the personal "
                  "domain, of malformed JSON or too large is refused with a precise error in "
                  "the status and the log, and the running version is kept");
  make_bundle (fixture, "greeter-1.0", "1.0", example);
  make_bundle (fixture, "greeter-1.1", "1.1", example);
  m1 = write_manifest (fixture, "m1", 1, "greeter-1.0.hgp", NULL);
  publish (fixture, m1, "municipal.key", NULL);
  wait_for_gateways (fixture, 0, fixture->n_gateways, status_is, &converged);

  /* signed where no gateway listens, then published raw */
  m2 = write_manifest (fixture, "m2", 2, "greeter-1.1.hgp", NULL);
  good = sign_aside (fixture, m2, "municipal.key");
  rogue = sign_aside (fixture, m2, "rogue.key");
  personal = sign_aside (fixture, m2, "resident.key");

  /* a newer manifest by the municipal key, one character of its signature changed */
  damaged = g_strdup (good);
  signature = strstr (damaged, "\"signature\":\"");
  g_assert_nonnull (signature);
  signature += strlen ("\"signature\":\"") + 4;
  *signature = *signature == 'A' ? 'B' : 'A';
  expect_refusal (fixture, "bad-signature", damaged, -1, "manifest-bad-signature",
                  "signature does not verify with key");
  expect_refusal (fixture, "unknown-key", rogue, -1, "manifest-untrusted-key",
                  "which the municipal domain does not trust");
  expect_refusal (fixture, "personal-key", personal, -1, "manifest-untrusted-key",
                  "which the personal domain trusts, not the municipal domain");
  expect_refusal (fixture, "malformed", "{\"format\": 1, \"key\": ", -1, "manifest-malformed",
                  "not a signed deployment manifest");
  big = g_strnfill (70 * 1024, ' ');
  memcpy (big, good, strlen (good));
  expect_refusal (fixture, "oversized", big, -1, "manifest-too-large", "more than 65536");
}

/* hemgatectl … against gw-000's API, as over SSH: no session bus, the token in a file */
static gint
gateway_ctl (Fixture *fixture,
             const gchar *input,
             gchar **out,
             const gchar *const *argv)
{
  g_autoptr(GSubprocessLauncher) launcher = launcher_new (
      fixture, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                   | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree gchar *url = g_strdup_printf ("http://127.0.0.1:%u", fixture->api_port);
  g_autofree gchar *stdout_text = NULL;
  g_autofree gchar *stderr_text = NULL;

  g_subprocess_launcher_setenv (launcher, "HEMGATE_URL", url, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
  g_subprocess_launcher_setenv (launcher, "HOME", g_get_home_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", g_get_user_config_dir (), TRUE);
  g_ptr_array_add (args, (gpointer) g_getenv ("HEMGATECTL"));
  for (guint i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) argv[i]);
  g_ptr_array_add (args, NULL);
  process = g_subprocess_launcher_spawnv (launcher, (const gchar *const *) args->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, input, NULL, &stdout_text, &stderr_text, &error);
  g_assert_no_error (error);
  g_test_message ("$ hemgatectl %s -> %d\n%.3000s%s", argv[0],
                  g_subprocess_get_exit_status (process), stdout_text, stderr_text);
  if (out != NULL)
    *out = g_steal_pointer (&stdout_text);
  return g_subprocess_get_exit_status (process);
}

#define GATEWAY_CTL(fixture, input, out, ...)                                                      \
  gateway_ctl ((fixture), (input), (out), (const gchar *const[]){ __VA_ARGS__, NULL })

static gboolean
api_is_up (gpointer data)
{
  Fixture *fixture = data;

  return GATEWAY_CTL (fixture, NULL, NULL, "status") == 0;
}

static void
test_secret_key_and_journal (Fixture *fixture,
                             gconstpointer data)
{
  g_autofree gchar *config_path = path (fixture, "gw-000.conf");
  g_autofree gchar *key_path = path (fixture, "gw-000.key");
  g_autofree gchar *example = example_module ();
  g_autofree gchar *m1 = NULL;
  g_autofree gchar *rogue = NULL;
  g_autofree gchar *out = NULL;
  /* its "Added the user" stays out of the TAP stream */
  g_autoptr(GSubprocessLauncher) launcher
      = launcher_new (fixture, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr(GSubprocess) add_user = NULL;
  g_autoptr(GError) error = NULL;
  const Expected converged = { 1, "converged", "1.0", NULL };
  const Expected refused = { 1, "converged", "1.0", "manifest-untrusted-key" };

  g_test_summary ("A gateway's client key comes from its own secret store (owner core), set "
                  "by IT through hemgatectl; a refused manifest is journaled");
  /* the first it-admin, as on a fresh install */
  add_user = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("HEMGATED"), "--config",
                                          config_path, "--add-user", "it", "--role", "it-admin",
                                          NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (add_user, "fleet-test-password-4711\n", NULL, NULL, NULL,
                                 &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (add_user), ==, 0);
  hg_test_wait_for (api_is_up, fixture, WAIT_SECONDS);
  g_assert_cmpint (
      GATEWAY_CTL (fixture, "fleet-test-password-4711\n", NULL, "login", "it", "--password-stdin"),
      ==, 0);
  g_assert_cmpint (GATEWAY_CTL (fixture, NULL, NULL, "secrets", "set", "core", "fleet-client-key",
                                "--file", key_path),
                   ==, 0);
  /* the key is read at start */
  g_subprocess_send_signal (fixture->gateways->pdata[0], SIGTERM);
  g_subprocess_wait (fixture->gateways->pdata[0], NULL, NULL);
  g_ptr_array_remove_index (fixture->gateways, 0);
  g_ptr_array_add (fixture->gateways, spawn_gateway (fixture, 0));
  wait_for_gateways (fixture, 0, 1, status_reports, NULL);

  make_bundle (fixture, "greeter-1.0", "1.0", example);
  m1 = write_manifest (fixture, "m1", 1, "greeter-1.0.hgp", NULL);
  publish (fixture, m1, "municipal.key", NULL);
  wait_for_gateways (fixture, 0, 1, status_is, &converged);
  rogue = write_manifest (fixture, "m2", 2, "greeter-1.0.hgp", NULL);
  publish (fixture, rogue, "rogue.key", NULL);
  wait_for_gateways (fixture, 0, 1, status_is, &refused);

  hg_test_wait_for (api_is_up, fixture, WAIT_SECONDS);
  g_assert_cmpint (
      GATEWAY_CTL (fixture, "fleet-test-password-4711\n", NULL, "login", "it", "--password-stdin"),
      ==, 0);
  g_assert_cmpint (GATEWAY_CTL (fixture, NULL, &out, "events", "--json", "--limit", "1000"), ==,
                   0);
  g_assert_nonnull (strstr (out, "fleet.manifest-applied"));
  g_assert_nonnull (strstr (out, "fleet.manifest-refused"));
  g_assert_nonnull (strstr (out, "manifest-untrusted-key"));
  g_assert_nonnull (strstr (out, "which the municipal domain does not trust"));
}

int
main (int argc,
      char **argv)
{
  hg_test_keep_system_data_dirs ();
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add ("/fleet/rollout", Fixture, GUINT_TO_POINTER (50), setup, test_rollout, teardown);
  g_test_add ("/fleet/bad-input", Fixture, GUINT_TO_POINTER (2), setup, test_bad_input, teardown);
  g_test_add ("/fleet/config", Fixture, GUINT_TO_POINTER (2), setup, test_config, teardown);
  g_test_add ("/fleet/secret-key-and-journal", Fixture, GUINT_TO_POINTER (0), setup,
              test_secret_key_and_journal, teardown);
  return g_test_run ();
}
