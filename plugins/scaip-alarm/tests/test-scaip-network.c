/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The scaip-alarm plugin over the network's harder paths, end to end with the real
 * hemgated: SIP over TLS (sips:) with the receiver's certificate checked against the CA
 * and the host name, a certificate that names another host, and a receiver whose host
 * name does not resolve. Each must be a precise log line, and the alarm must still reach
 * an ARC (the secondary) exactly once. The TLS material is tests/tls/ (make-certs.sh). */
#include <string.h>
#include <glib/gstdio.h>

#include "scaip-test.h"

#define AOR "sip:4600012345@arc.test"
#define CONTROLLER_ID "4600012345"
#define PASSWORD "arc-digest-passphrase"

static gchar *
tls_dir (const gchar *name)
{
  return g_test_build_filename (G_TEST_DIST, "tls", name, NULL);
}

/* The timers of most cases: a silent receiver is noticed and failed over from quickly. */
#define QUICK_TIMERS                                                                               \
  "answer-timeout = 2\n"                                                                           \
  "retry-max = 2\n"                                                                                \
  "failover-timeout = 4\n"                                                                         \
  "heartbeat-interval = 0\n"

/* @timers: the timer keys, one "key = value" a line */
static gchar *
network_keys (const gchar *primary, const gchar *secondary, const gchar *timers)
{
  g_autofree gchar *gateway_tls = tls_dir ("gateway");

  return g_strdup_printf ("aor = " AOR "\n"
                          "controller-id = " CONTROLLER_ID "\n"
                          "local-uri = sip:127.0.0.1:*\n"
                          "primary = %s\n"
                          "%s%s%s"
                          "tls-dir = %s\n"
                          "%s"
                          "voice = off\n"
                          "sounds = false\n"
                          "demo-password = " PASSWORD "\n",
                          primary, secondary != NULL ? "secondary = " : "",
                          secondary != NULL ? secondary : "", secondary != NULL ? "\n" : "",
                          gateway_tls, timers);
}

static ScaipTestSim *
tls_sim (const gchar *name, const gchar *cert, guint *port)
{
  g_autofree gchar *dir = tls_dir (cert);
  g_autofree gchar *port_str = NULL;

  *port = hg_test_free_port ();
  port_str = g_strdup_printf ("%u", *port);
  {
    const gchar *args[]
        = { "--password", PASSWORD, "--tls-dir", dir, "--tls-port", port_str, NULL };
    return scaip_test_sim_new (name, args);
  }
}

static const gchar *
acknowledged_by (ScaipTestGateway *gateway, const gchar *ref)
{
  g_autoptr(JsonObject) event = scaip_test_gateway_find_event (gateway, "alarm.acknowledged", ref);
  JsonObject *detail;

  g_assert_nonnull (event);
  detail = json_object_get_object_member (json_object_get_object_member (event, "body"), "detail");
  return g_intern_string (json_object_get_string_member (detail, "receiver"));
}

typedef struct
{
  ScaipTestGateway *gateway;
  const gchar *receiver;
  const gchar *needle;
} HealthWait;

static gboolean
health_names_error (gpointer data)
{
  HealthWait *wait = data;
  g_autoptr(JsonObject) report = scaip_test_gateway_health_report (wait->gateway);
  JsonObject *receivers;
  JsonObject *receiver;
  const gchar *error;

  if (report == NULL)
    return FALSE;
  receivers = json_object_get_object_member (report, "receivers");
  receiver = receivers != NULL ? json_object_get_object_member (receivers, wait->receiver) : NULL;
  error = receiver != NULL ? json_object_get_string_member_with_default (receiver, "error", NULL)
                           : NULL;
  return error != NULL && strstr (error, wait->needle) != NULL;
}

/* Waits until the plugin's health report names @needle as @receiver's error. */
static void
wait_health_error (ScaipTestGateway *gateway, const gchar *receiver, const gchar *needle)
{
  HealthWait wait = { gateway, receiver, needle };
  g_autofree gchar *what
      = g_strdup_printf ("the %s receiver's error '%s' in GET /api/v1/health", receiver, needle);

  scaip_test_wait (health_names_error, &wait, what);
}

static void
test_tls_delivery (void)
{
  g_autoptr(ScaipTestSim) sim = NULL;
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autoptr(GPtrArray) records = NULL;
  g_autofree gchar *primary = NULL;
  g_autofree gchar *keys = NULL;
  g_autofree gchar *ref = NULL;
  guint port = 0;

  g_test_summary ("Over TLS (sips:) to an ARC whose certificate chains to tls-dir/cafile.pem "
                  "and names the host of its URI (127.0.0.1): registered, delivered exactly "
                  "once over TLS and acknowledged");
  sim = tls_sim ("primary", "arc", &port);
  primary = g_strdup_printf ("sips:arc@127.0.0.1:%u", port);
  keys = network_keys (primary, NULL, QUICK_TIMERS);
  gateway = scaip_test_gateway_new_started (keys);
  scaip_test_gateway_wait_logged (gateway, "registered with sips:127.0.0.1");
  ref = scaip_test_gateway_raise (gateway, "assistance", "hall");
  scaip_test_gateway_wait_state (gateway, ref, "acknowledged");
  g_assert_cmpuint (scaip_test_sim_count (sim, ref, "ME"), ==, 1);
  records = scaip_test_sim_records (sim);
  g_assert_cmpuint (records->len, ==, 1);
  g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (records, 0), "transport"), ==,
                   "tls");
  g_assert_false (scaip_test_gateway_logged (gateway, "TLS:"));
}

static void
test_tls_certificate_mismatch (void)
{
  g_autoptr(ScaipTestSim) impostor = NULL;
  g_autoptr(ScaipTestSim) secondary = NULL;
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autofree gchar *primary = NULL;
  g_autofree gchar *secondary_uri = NULL;
  g_autofree gchar *keys = NULL;
  g_autofree gchar *ref = NULL;
  guint port = 0;
  guint secondary_port = 0;

  g_test_summary ("The primary ARC's certificate is from the trusted CA but names another host: "
                  "the plugin refuses the connection with a precise log line, sends nothing "
                  "there, fails over, and the alarm is acknowledged by the secondary (TLS with "
                  "the right certificate) exactly once; the plugin's health report names the "
                  "refused certificate");
  impostor = tls_sim ("primary", "mismatch", &port);
  secondary = tls_sim ("secondary", "arc", &secondary_port);
  primary = g_strdup_printf ("sips:arc@127.0.0.1:%u", port);
  secondary_uri = g_strdup_printf ("sips:arc@127.0.0.1:%u", secondary_port);
  keys = network_keys (primary, secondary_uri, QUICK_TIMERS);
  gateway = scaip_test_gateway_new_started (keys);
  scaip_test_gateway_wait_logged (gateway, "TLS: the receiver's certificate does not name the "
                                           "host connected to (127.0.0.1); connection refused");
  ref = scaip_test_gateway_raise (gateway, "fall", "kitchen");
  scaip_test_gateway_wait_state (gateway, ref, "acknowledged");
  g_assert_cmpstr (acknowledged_by (gateway, ref), ==, "secondary");
  g_assert_true (scaip_test_gateway_logged (gateway, "failing over from the primary receiver"));
  g_assert_cmpuint (scaip_test_sim_count (impostor, ref, "ME"), ==, 0);
  wait_health_error (gateway, "primary", "TLS: certificate does not name 127.0.0.1");
  g_assert_cmpuint (scaip_test_sim_count (secondary, ref, "ME"), ==, 1);
}

static void
test_dns_failure (void)
{
  g_autoptr(ScaipTestSim) secondary = NULL;
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autofree gchar *secondary_uri = NULL;
  g_autofree gchar *keys = NULL;
  g_autofree gchar *ref = NULL;
  const gchar *args[] = { "--password", PASSWORD, NULL };

  g_test_summary ("The primary ARC's host name does not resolve (.invalid, RFC 6761): a precise "
                  "log line names the host, the plugin fails over, and the alarm is "
                  "acknowledged by the secondary exactly once; GET /api/v1/health shows the "
                  "plugin's report: the primary's error, the secondary active and registered");
  secondary = scaip_test_sim_new ("secondary", args);
  secondary_uri = scaip_test_sim_uri (secondary, "udp");
  keys = network_keys ("sip:arc@arc.hemgate.invalid", secondary_uri, QUICK_TIMERS);
  gateway = scaip_test_gateway_new_started (keys);
  ref = scaip_test_gateway_raise (gateway, "assistance", "hall");
  scaip_test_gateway_wait_state (gateway, ref, "acknowledged");
  g_assert_cmpstr (acknowledged_by (gateway, ref), ==, "secondary");
  g_assert_true (scaip_test_gateway_logged (
      gateway, "registration with sip:arc.hemgate.invalid failed: 503 DNS Error (the "
               "receiver's host name does not resolve)"));
  g_assert_true (scaip_test_gateway_logged (gateway, "failing over from the primary receiver"));
  g_assert_cmpuint (scaip_test_sim_count (secondary, ref, "ME"), ==, 1);
  wait_health_error (gateway, "primary",
                     "503 DNS Error (the receiver's host name does not resolve)");
  {
    g_autoptr(JsonObject) report = scaip_test_gateway_health_report (gateway);
    JsonObject *receivers = json_object_get_object_member (report, "receivers");

    g_assert_cmpstr (json_object_get_string_member (report, "active"), ==, "secondary");
    g_assert_true (json_object_get_boolean_member (
        json_object_get_object_member (receivers, "secondary"), "registered"));
  }
}

/* A "receiver" on a TCP port of 127.0.0.1 that accepts every connection and then never
 * reads or writes: the connections stay open until it is freed. */
typedef struct
{
  GSocketService *service; /* (owned) */
  GPtrArray *connections;  /* (owned) (element-type GSocketConnection) every one accepted */
  guint port;
} BlackHole;

static gboolean
black_hole_incoming_cb (GSocketService *service,
                        GSocketConnection *connection,
                        GObject *source,
                        gpointer user_data)
{
  BlackHole *hole = user_data;

  g_test_message ("black hole: connection %u accepted", hole->connections->len + 1);
  g_ptr_array_add (hole->connections, g_object_ref (connection));
  return TRUE;
}

static BlackHole *
black_hole_new (void)
{
  BlackHole *hole = g_new0 (BlackHole, 1);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  hole->connections = g_ptr_array_new_with_free_func (g_object_unref);
  hole->service = g_socket_service_new ();
  g_socket_listener_add_address (G_SOCKET_LISTENER (hole->service), any, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
  g_assert_no_error (error);
  hole->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_signal_connect (hole->service, "incoming", G_CALLBACK (black_hole_incoming_cb), hole);
  g_socket_service_start (hole->service);
  g_test_message ("black hole on TCP port %u", hole->port);
  return hole;
}

static void
black_hole_free (BlackHole *hole)
{
  g_socket_service_stop (hole->service);
  g_socket_listener_close (G_SOCKET_LISTENER (hole->service));
  g_object_unref (hole->service);
  g_ptr_array_unref (hole->connections);
  g_free (hole);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BlackHole, black_hole_free)

static gboolean
health_active_is (gpointer data)
{
  HealthWait *wait = data;
  g_autoptr(JsonObject) report = scaip_test_gateway_health_report (wait->gateway);

  return report != NULL
         && g_strcmp0 (json_object_get_string_member_with_default (report, "active", NULL),
                       wait->receiver)
                == 0;
}

static void
test_silent_tcp_receiver (void)
{
  g_autoptr(BlackHole) hole = black_hole_new ();
  g_autoptr(ScaipTestSim) secondary = NULL;
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autofree gchar *primary = NULL;
  g_autofree gchar *secondary_uri = NULL;
  g_autofree gchar *keys = NULL;
  g_autofree gchar *ref = NULL;
  g_autofree gchar *silent_line = NULL;
  const gchar *args[] = { "--password", PASSWORD, NULL };
  HealthWait active = { NULL, "secondary", NULL };

  g_test_summary ("The primary ARC accepts the TCP connection and then never answers: no SIP "
                  "response, no <mrs>. A precise log line says so, the plugin fails over, and "
                  "the alarm is acknowledged by the secondary (the simulator over TCP) exactly "
                  "once; the primary did accept the connection; GET /api/v1/health names the "
                  "secondary as the active receiver");
  secondary = scaip_test_sim_new ("secondary", args);
  secondary_uri = scaip_test_sim_uri (secondary, "tcp");
  primary = g_strdup_printf ("sip:arc@127.0.0.1:%u;transport=tcp", hole->port);
  keys = network_keys (primary, secondary_uri, QUICK_TIMERS);
  gateway = scaip_test_gateway_new_started (keys);
  ref = scaip_test_gateway_raise (gateway, "assistance", "hall");
  scaip_test_gateway_wait_state (gateway, ref, "acknowledged");
  g_assert_cmpstr (acknowledged_by (gateway, ref), ==, "secondary");
  g_assert_cmpuint (scaip_test_sim_count (secondary, ref, "ME"), ==, 1);
  g_assert_cmpuint (scaip_test_sim_distinct (secondary, "ME"), ==, 1);
  g_assert_cmpuint (hole->connections->len, >=, 1);
  silent_line = g_strdup_printf ("the primary receiver %s does not answer (neither a SIP "
                                 "response nor an <mrs> within 2 s); resending the oldest "
                                 "request with backoff",
                                 primary);
  g_assert_true (scaip_test_gateway_logged (gateway, silent_line));
  g_assert_true (scaip_test_gateway_logged (gateway, "failing over from the primary receiver"));
  active.gateway = gateway;
  scaip_test_wait (health_active_is, &active, "the secondary active in GET /api/v1/health");
}

/* clock jumps */

/* The timers of the clock cases: the registration is refreshed only when the plugin asks
 * for it, within the case. */
#define CLOCK_TIMERS                                                                               \
  "register-expires = 3600\n"                                                                      \
  "retry-max = 2\n"

/* Runs @gateway under libfaketime (Debian's faketime package; ./dev deps installs it):
 * the wall clock of hemgated and its plugin host (CLOCK_REALTIME, by which Sofia-SIP
 * times everything) is the real one plus the offset in the returned file, re-read on
 * every call; their monotonic clock is left alone. The file says "+0" to begin with. It is
 * in @dir, which the instance is granted (`devices`) so that its sandboxed host sees the
 * file, rewritten whole each time, too. */
static gchar *
use_faketime (ScaipTestGateway *gateway,
              const gchar *dir)
{
  const gchar *library = g_getenv ("HEMGATE_LIBFAKETIME");
  const gchar *asan = g_getenv ("ASAN_OPTIONS");
  g_autofree gchar *asan_options = NULL;
  g_autoptr(GError) error = NULL;
  gchar *offset_file = g_build_filename (dir, "faketime-offset", NULL);

  if (library == NULL || !g_file_test (library, G_FILE_TEST_EXISTS))
    g_test_message ("libfaketime (%s) is missing: install Debian's faketime package "
                    "(./dev deps does); the clock cases cannot run without it",
                    library != NULL ? library : "HEMGATE_LIBFAKETIME not set");
  g_assert_nonnull (library);
  g_assert_true (g_file_test (library, G_FILE_TEST_EXISTS));
  g_file_set_contents (offset_file, "+0\n", -1, &error);
  g_assert_no_error (error);
  scaip_test_gateway_setenv (gateway, "LD_PRELOAD", library);
  scaip_test_gateway_setenv (gateway, "FAKETIME_TIMESTAMP_FILE", offset_file);
  scaip_test_gateway_setenv (gateway, "FAKETIME_NO_CACHE", "1");
  scaip_test_gateway_setenv (gateway, "FAKETIME_DONT_FAKE_MONOTONIC", "1");
  /* an AddressSanitizer build refuses to run with a library preloaded before its own */
  asan_options = g_strdup_printf ("%s%sverify_asan_link_order=0", asan != NULL ? asan : "",
                                  asan != NULL && asan[0] != '\0' ? ":" : "");
  scaip_test_gateway_setenv (gateway, "ASAN_OPTIONS", asan_options);
  return offset_file;
}

/* Steps the gateway's wall clock to the real one plus @offset, e.g. "+3600". */
static void
set_clock_offset (const gchar *offset_file, const gchar *offset)
{
  g_autofree gchar *line = g_strdup_printf ("%s\n", offset);
  g_autoptr(GError) error = NULL;

  g_test_message ("the gateway's wall clock steps to the real one %s s", offset);
  g_file_set_contents (offset_file, line, -1, &error);
  g_assert_no_error (error);
}

static gboolean
has_health_report (gpointer data)
{
  g_autoptr(JsonObject) report = scaip_test_gateway_health_report (data);

  return report != NULL;
}

/* Returns: (transfer full): the plugin's health report, once it made one */
static JsonObject *
wait_health_report (ScaipTestGateway *gateway)
{
  scaip_test_wait (has_health_report, gateway, "the plugin's health report");
  return scaip_test_gateway_health_report (gateway);
}

/* Starts a gateway under libfaketime with @primary and @secondary over UDP and @timers
 * (besides CLOCK_TIMERS), and waits until it registered with both.
 *
 * Returns: (transfer full): the gateway; @offset_file: the file of its clock offset */
static ScaipTestGateway *
start_clock_gateway (ScaipTestSim *primary,
                     ScaipTestSim *secondary,
                     const gchar *timers,
                     gchar **offset_file)
{
  g_autofree gchar *primary_uri = scaip_test_sim_uri (primary, "udp");
  g_autofree gchar *secondary_uri = scaip_test_sim_uri (secondary, "udp");
  g_autofree gchar *all_timers = g_strconcat (CLOCK_TIMERS, timers, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("hemgate-faketime-XXXXXX", &error);
  g_autofree gchar *with_dir = NULL;
  g_autofree gchar *keys = NULL;
  ScaipTestGateway *gateway;

  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
  with_dir = g_strdup_printf ("%sdevices = %s\n", all_timers, dir);
  keys = network_keys (primary_uri, secondary_uri, with_dir);
  gateway = scaip_test_gateway_new (keys);
  *offset_file = use_faketime (gateway, dir);
  scaip_test_gateway_start (gateway);
  scaip_test_gateway_wait_logged_count (gateway, "registered with", 2);
  return gateway;
}

/* Returns: (transfer full): the ref of the last <mrq> of @mty @sim received */
static gchar *
last_ref (ScaipTestSim *sim, const gchar *mty)
{
  g_autoptr(GPtrArray) records = scaip_test_sim_records (sim);

  for (guint i = records->len; i > 0; i--)
    {
      JsonObject *record = g_ptr_array_index (records, i - 1);

      if (g_strcmp0 (json_object_get_string_member (record, "mty"), mty) == 0)
        return g_strdup (json_object_get_string_member (record, "ref"));
    }
  g_assert_not_reached ();
}

static void
test_clock_forward_jump (void)
{
  const gchar *args[] = { "--password", PASSWORD, NULL };
  g_autoptr(ScaipTestSim) primary = scaip_test_sim_new ("primary", args);
  g_autoptr(ScaipTestSim) secondary = scaip_test_sim_new ("secondary", args);
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autoptr(JsonObject) report = NULL;
  g_autofree gchar *offset_file = NULL;
  g_autofree gchar *ref = NULL;
  g_autofree gchar *alarm_line = NULL;
  g_autofree gchar *heartbeat_ref = NULL;
  g_autofree gchar *heartbeat_line = NULL;
  guint heartbeats;

  g_test_summary ("The gateway's wall clock steps forward by an hour (NTP's first sync on a "
                  "gateway without an RTC) while an alarm and a heartbeat are in flight over "
                  "UDP to a primary that holds its answers back: Sofia-SIP, which times its "
                  "transactions by the wall clock, fails both at once with a local 408. The "
                  "plugin logs the jump for each, sends them again to the same receiver, "
                  "counts no silence: no failover, no local technical alarm, the line stays "
                  "ok, and the primary acknowledges the alarm, one distinct ref");
  gateway = start_clock_gateway (primary, secondary,
                                 "answer-timeout = 45\n"
                                 "failover-timeout = 2\n"
                                 "heartbeat-interval = 5\n",
                                 &offset_file);

  /* the answers come 30 s late: both requests are still in flight at the step */
  scaip_test_sim_command (primary, "slow 30000");
  heartbeats = scaip_test_sim_count (primary, NULL, "PI");
  ref = scaip_test_gateway_raise (gateway, "assistance", "hall");
  scaip_test_wait_sim_count (primary, ref, "ME", 1);
  scaip_test_wait_sim_count (primary, NULL, "PI", heartbeats + 1);
  heartbeat_ref = last_ref (primary, "PI");
  set_clock_offset (offset_file, "+3600");

  alarm_line = g_strdup_printf ("alarm %s: the wall clock jumped by +3600 s while it was in "
                                "flight to the primary receiver",
                                ref);
  heartbeat_line = g_strdup_printf ("heartbeat %s: the wall clock jumped by +3600 s while it "
                                    "was in flight to the primary receiver",
                                    heartbeat_ref);
  scaip_test_gateway_wait_logged (gateway, alarm_line);
  scaip_test_gateway_wait_logged (gateway, heartbeat_line);
  g_assert_true (scaip_test_gateway_logged (gateway, "(408 Request Timeout): sending it again, "
                                                     "the receiver is not counted silent"));
  scaip_test_gateway_wait_state (gateway, ref, "acknowledged");

  g_assert_cmpstr (acknowledged_by (gateway, ref), ==, "primary");
  g_assert_cmpuint (scaip_test_sim_distinct (primary, "ME"), ==, 1);
  g_assert_cmpuint (scaip_test_sim_count (secondary, NULL, "ME"), ==, 0);
  g_assert_cmpuint (scaip_test_gateway_count_alarms (gateway, "technical", NULL, NULL), ==, 0);
  g_assert_false (scaip_test_gateway_logged (gateway, "line supervision: heartbeat"));
  g_assert_false (scaip_test_gateway_logged (gateway, "does not answer"));
  g_assert_false (scaip_test_gateway_logged (gateway, "failing over"));
  report = wait_health_report (gateway);
  g_assert_cmpstr (json_object_get_string_member (report, "line"), ==, "ok");
  g_assert_cmpstr (json_object_get_string_member (report, "active"), ==, "primary");
}

static void
test_clock_backward_jump (void)
{
  const gchar *args[] = { "--password", PASSWORD, "--record-registers", NULL };
  g_autoptr(ScaipTestSim) primary = scaip_test_sim_new ("primary", args);
  g_autoptr(ScaipTestSim) secondary = scaip_test_sim_new ("secondary", args);
  g_autoptr(ScaipTestGateway) gateway = NULL;
  g_autofree gchar *offset_file = NULL;
  g_autofree gchar *ref = NULL;
  guint primary_registers;
  guint secondary_registers;

  g_test_summary ("The gateway's wall clock steps back by an hour: Sofia-SIP's pending timers, "
                  "the registration refresh among them, would come an hour late and the "
                  "registrations lapse at the ARC. The plugin logs the jump once and registers "
                  "again with both receivers (each records a new REGISTER); an alarm raised "
                  "afterwards, whose first MESSAGE the primary drops, is resent on the "
                  "plugin's own (monotonic) answer timeout and acknowledged once");
  gateway = start_clock_gateway (primary, secondary,
                                 "answer-timeout = 2\n"
                                 "failover-timeout = 60\n"
                                 "heartbeat-interval = 0\n",
                                 &offset_file);
  scaip_test_wait_sim_count (primary, NULL, "REGISTER", 1);
  scaip_test_wait_sim_count (secondary, NULL, "REGISTER", 1);
  primary_registers = scaip_test_sim_count (primary, NULL, "REGISTER");
  secondary_registers = scaip_test_sim_count (secondary, NULL, "REGISTER");

  set_clock_offset (offset_file, "-3600");
  scaip_test_gateway_wait_logged (gateway, "the wall clock jumped by -3600 s; Sofia-SIP times the "
                                           "registration refresh by it: registering again with "
                                           "every receiver");
  scaip_test_wait_sim_count (primary, NULL, "REGISTER", primary_registers + 1);
  scaip_test_wait_sim_count (secondary, NULL, "REGISTER", secondary_registers + 1);
  g_assert_cmpuint (scaip_test_gateway_count_logged (gateway, "the wall clock jumped by"), ==, 1);

  scaip_test_sim_command (primary, "drop 1");
  ref = scaip_test_gateway_raise (gateway, "fall", "kitchen");
  scaip_test_gateway_wait_state (gateway, ref, "acknowledged");
  g_assert_cmpstr (acknowledged_by (gateway, ref), ==, "primary");
  g_assert_true (scaip_test_gateway_logged (gateway, "neither a SIP response nor an <mrs>"));
  g_assert_cmpuint (scaip_test_sim_count (primary, ref, "ME"), ==, 1);
  g_assert_cmpuint (scaip_test_sim_distinct (primary, "ME"), ==, 1);
  g_assert_cmpuint (scaip_test_sim_count (secondary, NULL, "ME"), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/scaip/tls/delivery-verified", test_tls_delivery);
  g_test_add_func ("/scaip/tls/certificate-mismatch", test_tls_certificate_mismatch);
  g_test_add_func ("/scaip/dns/unresolvable-receiver", test_dns_failure);
  g_test_add_func ("/scaip/bad-input/tcp-receiver-never-answers", test_silent_tcp_receiver);
  g_test_add_func ("/scaip/clock/forward-jump-is-not-silence", test_clock_forward_jump);
  g_test_add_func ("/scaip/clock/backward-jump-registers-again", test_clock_backward_jump);
  return g_test_run ();
}
