/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hemgate-sensor-sim: publishes realistic Zigbee2MQTT and ChirpStack v4 traffic of one
 * home to an MQTT broker, for the demo, the tests and the benchmarks. Scenarios:
 *
 *   normal-day  a day compressed by --speed: motion, the hall door, the bed, the kitchen
 *               leak sensor, temperatures over Zigbee and LoRaWAN, availability
 *   water-leak  the kitchen sensor reports a leak --count times, then dry
 *   button      the panic button is pressed
 *   flood       one device publishes at --rate for --duration s; the others carry on
 *   garbage     malformed, absurd, unknown, oversized and injected messages
 *   load        --devices Zigbee devices share --rate messages/s for --duration s
 *
 * Device names are those of data/hemgate-demo.conf. The simulator is a test tool: it uses
 * libmosquitto's own network thread and blocks as it likes. */
#include <glib.h>
#include <mosquitto.h>
#include <stdio.h>
#include <string.h>

#define LORA_DEV_EUI "a84041000181c5c1"
#define LORA_APPLICATION "demo"

typedef struct
{
  struct mosquitto *mosq;
  const gchar *base;        /* Zigbee2MQTT base topic */
  const gchar *application; /* ChirpStack application id */
  guint64 sent;
  gint qos;
  gboolean retain;
} Sim;

static gchar *opt_host = NULL;
static gint opt_port = 1883;
static gchar *opt_scenario = NULL;
static gchar *opt_base = NULL;
static gchar *opt_application = NULL;
static gdouble opt_speed = 60.0;
static gint opt_rate = 1000;
static gdouble opt_duration = 5.0;
static gint opt_devices = 100;
static gint opt_count = 5;
static gint opt_qos = 0;
static gboolean opt_loop = FALSE;
static gboolean opt_retain = FALSE;
static gchar *opt_prefix = NULL;

static const GOptionEntry entries[] = {
  { "host", 'h', 0, G_OPTION_ARG_STRING, &opt_host, "The broker (default 127.0.0.1)", "HOST" },
  { "port", 'p', 0, G_OPTION_ARG_INT, &opt_port, "The broker's port (default 1883)", "PORT" },
  { "scenario", 's', 0, G_OPTION_ARG_STRING, &opt_scenario,
    "normal-day, water-leak, button, flood, garbage or load (default normal-day)", "NAME" },
  { "base-topic", 0, 0, G_OPTION_ARG_STRING, &opt_base,
    "Zigbee2MQTT base topic (default zigbee2mqtt)", "TOPIC" },
  { "application", 0, 0, G_OPTION_ARG_STRING, &opt_application,
    "ChirpStack application id (default demo)", "ID" },
  { "speed", 0, 0, G_OPTION_ARG_DOUBLE, &opt_speed,
    "normal-day: simulated seconds per real second (default 60)", "N" },
  { "rate", 'r', 0, G_OPTION_ARG_INT, &opt_rate, "flood, load: messages per second (default 1000)",
    "N" },
  { "duration", 'd', 0, G_OPTION_ARG_DOUBLE, &opt_duration, "flood, load: seconds (default 5)",
    "S" },
  { "devices", 0, 0, G_OPTION_ARG_INT, &opt_devices, "load: how many devices (default 100)", "N" },
  { "count", 'c', 0, G_OPTION_ARG_INT, &opt_count, "water-leak, button: repeats (default 5)", "N" },
  { "qos", 'q', 0, G_OPTION_ARG_INT, &opt_qos, "QoS of the messages, 0 or 1 (default 0)", "N" },
  { "retain", 0, 0, G_OPTION_ARG_NONE, &opt_retain, "Publish retained messages", NULL },
  { "loop", 0, 0, G_OPTION_ARG_NONE, &opt_loop, "normal-day: run until killed", NULL },
  { "device-prefix", 0, 0, G_OPTION_ARG_STRING, &opt_prefix,
    "load: device name prefix (default load-)", "TEXT" },
  { NULL },
};

static gboolean
publish_raw (Sim *sim,
             const gchar *topic,
             const void *payload,
             gsize length)
{
  int rc;

  /* libmosquitto's thread drains the queue; wait while it is far behind */
  do
    {
      rc = mosquitto_publish (sim->mosq, NULL, topic, (int) length, payload, sim->qos, sim->retain);
      if (rc == MOSQ_ERR_OVERSIZE_PACKET || rc == MOSQ_ERR_PAYLOAD_SIZE)
        return FALSE;
      if (rc != MOSQ_ERR_SUCCESS)
        g_usleep (1000);
    }
  while (rc == MOSQ_ERR_NOMEM || rc == MOSQ_ERR_NO_CONN);
  if (rc != MOSQ_ERR_SUCCESS)
    {
      g_printerr ("hemgate-sensor-sim: publish on %s: %s\n", topic, mosquitto_strerror (rc));
      return FALSE;
    }
  sim->sent++;
  return TRUE;
}

static void
publish (Sim *sim,
         const gchar *topic,
         const gchar *payload)
{
  publish_raw (sim, topic, payload, strlen (payload));
}

static void z2m (Sim *sim,
                 const gchar *device,
                 const gchar *format,
                 ...) G_GNUC_PRINTF (3,
                 4);

/* A Zigbee2MQTT state message of @device. */
static void
z2m (Sim *sim,
     const gchar *device,
     const gchar *format,
     ...)
{
  g_autofree gchar *topic = g_strdup_printf ("%s/%s", sim->base, device);
  g_autofree gchar *payload = NULL;
  va_list args;

  va_start (args, format);
  payload = g_strdup_vprintf (format, args);
  va_end (args);
  publish (sim, topic, payload);
}

static void
z2m_availability (Sim *sim,
                  const gchar *device,
                  gboolean online)
{
  g_autofree gchar *topic = g_strdup_printf ("%s/%s/availability", sim->base, device);

  publish (sim, topic, online ? "{\"state\":\"online\"}" : "{\"state\":\"offline\"}");
}

/* A ChirpStack v4 uplink as the JSON integration sends it, with an Elsys-like decoded
 * object. */
static void
chirpstack_up (Sim *sim,
               const gchar *dev_eui,
               gdouble temperature,
               gint humidity,
               gint battery,
               guint fcnt)
{
  g_autofree gchar *topic
      = g_strdup_printf ("application/%s/device/%s/event/up", sim->application, dev_eui);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree gchar *time = g_date_time_format_iso8601 (now);
  g_autofree gchar *payload = g_strdup_printf (
      "{\"deduplicationId\":\"3ac7e3c4-4401-4b8d-9386-a5c902f9202d\",\"time\":\"%s\","
      "\"deviceInfo\":{\"tenantId\":\"52f14cd4-c6f1-4fbd-8f87-4025e1d49242\",\"tenantName\":"
      "\"Kommunen\","
      "\"applicationId\":\"%s\",\"applicationName\":\"Trygghet\","
      "\"deviceProfileId\":\"cf2aec2f-03e1-4a60-a32c-0faeef5730d8\",\"deviceProfileName\":\"Elsys "
      "ERS\","
      "\"deviceName\":\"climate\",\"devEui\":\"%s\",\"tags\":{}},"
      "\"devAddr\":\"00189440\",\"adr\":true,\"dr\":5,\"fCnt\":%u,\"fPort\":5,\"confirmed\":false,"
      "\"data\":\"AQDiAikEAAAFAgYBXQ==\",\"object\":{\"temperature\":%.1f,\"humidity\":%d,"
      "\"battery\":%d},"
      "\"rxInfo\":[{\"gatewayId\":\"0016c001f153a14c\",\"uplinkId\":4217106255,\"rssi\":-36,"
      "\"snr\":10.5,"
      "\"channel\":2,\"location\":{},\"context\":\"EFwMtA==\",\"metadata\":{\"region_common_name\":"
      "\"EU868\"}}],"
      "\"txInfo\":{\"frequency\":868500000,\"modulation\":{\"lora\":{\"bandwidth\":125000,"
      "\"spreadingFactor\":7,\"codeRate\":\"CR_4_5\"}}}}",
      time, sim->application, dev_eui, fcnt, temperature, humidity, battery);

  publish (sim, topic, payload);
}

static void
sleep_simulated (gdouble simulated_seconds)
{
  g_usleep ((gulong) (simulated_seconds / MAX (opt_speed, 0.001) * G_USEC_PER_SEC));
}

/* One day from 06:58 (so a demo shows the resident getting up at once), a simulated
 * minute at a time. */
static void
scenario_normal_day (Sim *sim)
{
  guint fcnt = 0;

  z2m_availability (sim, "hall-door", TRUE);
  z2m_availability (sim, "bed", TRUE);
  z2m_availability (sim, "bedroom-motion", TRUE);
  z2m_availability (sim, "kitchen-leak", TRUE);
  z2m_availability (sim, "panic-button", TRUE);
  z2m_availability (sim, "living-temp", TRUE);
  for (guint minute = 6 * 60 + 58; minute < 30 * 60 + 58; minute++)
    {
      guint m = minute % (24 * 60);
      gboolean awake = m >= 7 * 60 && m < 22 * 60;
      gdouble temperature = 21.0 + 1.5 * g_random_double () - (awake ? 0.0 : 1.0);

      if (m == 7 * 60)
        z2m (sim, "bed", "{\"occupancy\":false,\"battery\":88,\"linkquality\":96}");
      if (m == 22 * 60)
        z2m (sim, "bed", "{\"occupancy\":true,\"battery\":88,\"linkquality\":96}");
      if (awake && g_random_int_range (0, 4) == 0)
        z2m (sim, "bedroom-motion",
             "{\"occupancy\":%s,\"illuminance_lux\":%d,\"battery\":%d,\"linkquality\":%d}",
             g_random_boolean () ? "true" : "false", g_random_int_range (5, 400), 91,
             g_random_int_range (60, 140));
      if (m == 9 * 60 || m == 16 * 60 + 30)
        {
          z2m (sim, "hall-door",
               "{\"contact\":false,\"battery\":97,\"linkquality\":132,\"tamper\":false}");
          z2m (sim, "hall-door",
               "{\"contact\":true,\"battery\":97,\"linkquality\":132,\"tamper\":false}");
        }
      if (m % 5 == 0)
        z2m (sim, "living-temp",
             "{\"temperature\":%.1f,\"humidity\":%d,\"battery\":76,\"linkquality\":110}",
             temperature, g_random_int_range (30, 45));
      if (m % 60 == 0)
        z2m (sim, "kitchen-leak",
             "{\"water_leak\":false,\"battery\":100,\"battery_low\":false,\"linkquality\":84}");
      if (m % 10 == 0)
        chirpstack_up (sim, LORA_DEV_EUI, temperature - 0.4, g_random_int_range (30, 45), 95,
                       fcnt++);
      sleep_simulated (60);
    }
}

static void
scenario_water_leak (Sim *sim)
{
  z2m (sim, "kitchen-leak", "{\"water_leak\":false,\"battery\":100,\"linkquality\":84}");
  for (gint i = 0; i < opt_count; i++)
    z2m (sim, "kitchen-leak",
         "{\"water_leak\":true,\"battery\":100,\"linkquality\":84,\"tamper\":false}");
  g_usleep (G_USEC_PER_SEC / 2);
  z2m (sim, "kitchen-leak", "{\"water_leak\":false,\"battery\":100,\"linkquality\":84}");
}

static void
scenario_button (Sim *sim)
{
  for (gint i = 0; i < opt_count; i++)
    z2m (sim, "panic-button", "{\"action\":\"single\",\"battery\":100,\"linkquality\":120}");
}

static void
scenario_flood (Sim *sim)
{
  gint64 start = g_get_monotonic_time ();
  gint64 end = start + (gint64) (opt_duration * G_USEC_PER_SEC);
  guint64 n = 0;

  while (TRUE)
    {
      gint64 clock = g_get_monotonic_time ();
      gint64 due = start + (gint64) (n * G_USEC_PER_SEC / MAX (opt_rate, 1));

      if (clock >= end)
        break;
      /* one reading of the clock: read twice, a preemption between the reads made the
       * wait negative, and g_usleep () took it as almost forever */
      if (clock < due)
        {
          g_usleep (MIN (due - clock, 1000));
          continue;
        }
      z2m (sim, "bedroom-motion", "{\"occupancy\":%s,\"battery\":91,\"linkquality\":120}",
           n % 2 ? "true" : "false");
      if (n % 1000 == 0)
        z2m (sim, "living-temp", "{\"temperature\":%.1f,\"humidity\":40,\"battery\":76}",
             20.0 + (n % 50) / 10.0);
      n++;
    }
}

static void
scenario_garbage (Sim *sim)
{
  static const guchar latin1[]
      = { '{', '"', 'c', 'o', 'n', 't', 'a', 'c', 't', '"', ':', 0xe5, '}' };
  g_autofree gchar *big = g_strnfill (100 * 1024, 'x');
  g_autofree gchar *big_json = g_strdup_printf ("{\"contact\":true,\"padding\":\"%s\"}", big);
  g_autofree gchar *up_topic
      = g_strdup_printf ("application/%s/device/%s/event/up", sim->application, LORA_DEV_EUI);
  g_autofree gchar *unknown_up
      = g_strdup_printf ("application/%s/device/ffffffffffffffff/event/up", sim->application);
  g_autofree gchar *evil = g_strdup_printf ("%s/evil\001name", sim->base);
  g_autofree gchar *bridge = g_strdup_printf ("%s/bridge/devices", sim->base);

  z2m (sim, "hall-door", "this is not json");
  z2m (sim, "hall-door", "[1,2,3]");
  z2m (sim, "hall-door", "{\"contact\":\"open\"}");
  z2m (sim, "hall-door", "{\"contact\":");
  z2m (sim, "living-temp", "{\"temperature\":500,\"humidity\":40}");
  z2m (sim, "living-temp", "{\"temperature\":21.5,\"battery\":250}");
  z2m (sim, "kitchen-leak", "{\"water_leak\":\"yes\"}");
  z2m (sim, "panic-button", "{\"action\":\"<script>alert(1)</script>\"}");
  z2m (sim, "not-registered", "{\"contact\":false}");
  publish (sim, evil, "{\"contact\":false}");
  publish_raw (sim, "zigbee2mqtt/hall-door", latin1, sizeof latin1);
  publish_raw (sim, "zigbee2mqtt/hall-door", "", 0);
  z2m (sim, "hall-door", "%s", big_json);
  publish (sim, bridge,
           "[{\"friendly_name\":\"a/+/#\",\"type\":\"EndDevice\"},{\"friendly_name\":5},"
           "{\"friendly_name\":\"hall-door\",\"type\":\"EndDevice\",\"ieee_address\":"
           "\"0x00158d0001\"}]");
  publish (sim, up_topic,
           "{\"deviceInfo\":{\"devEui\":\"0000000000000001\"},\"object\":{\"temperature\":21}}");
  publish (sim, up_topic, "{\"deviceInfo\":{\"devEui\":\"" LORA_DEV_EUI "\"}}");
  publish (sim, unknown_up, "{\"deviceInfo\":{\"devEui\":\"ffffffffffffffff\"},\"object\":{}}");
}

/* --devices devices, named <prefix><n>, share --rate messages/s: motion that changes
 * with every message, and a temperature now and then. */
static void
scenario_load (Sim *sim)
{
  const gchar *prefix = opt_prefix != NULL ? opt_prefix : "load-";
  gint64 start = g_get_monotonic_time ();
  gint64 end = start + (gint64) (opt_duration * G_USEC_PER_SEC);
  gint devices = MAX (opt_devices, 1);
  guint64 n = 0;
  gdouble seconds;

  while (TRUE)
    {
      gint64 clock = g_get_monotonic_time ();
      gint64 due = start + (gint64) (n * G_USEC_PER_SEC / MAX (opt_rate, 1));
      g_autofree gchar *device = NULL;

      if (clock >= end)
        break;
      if (clock < due)
        {
          g_usleep (MIN (due - clock, 500));
          continue;
        }
      device = g_strdup_printf ("%s%" G_GUINT64_FORMAT, prefix, n % devices);
      if ((n / devices) % 10 == 9)
        z2m (sim, device, "{\"temperature\":%.1f,\"battery\":90,\"linkquality\":100}",
             20.0 + (n % 30) / 10.0);
      else
        z2m (sim, device, "{\"occupancy\":%s,\"battery\":90,\"linkquality\":100}",
             (n / devices) % 2 ? "true" : "false");
      n++;
    }
  seconds = (gdouble) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
  g_print ("load: %" G_GUINT64_FORMAT " messages in %.2f s (%.0f/s)\n", n, seconds, n / seconds);
}

int
main (int argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- publish simulated sensor traffic");
  g_autoptr(GError) error = NULL;
  Sim sim = { NULL, NULL, NULL, 0, 0, FALSE };
  const gchar *scenario;
  int rc;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("hemgate-sensor-sim: %s\n", error->message);
      return 2;
    }
  scenario = opt_scenario != NULL ? opt_scenario : "normal-day";
  sim.base = opt_base != NULL ? opt_base : "zigbee2mqtt";
  sim.application = opt_application != NULL ? opt_application : LORA_APPLICATION;
  sim.qos = CLAMP (opt_qos, 0, 1);
  sim.retain = opt_retain;

  mosquitto_lib_init ();
  sim.mosq = mosquitto_new (NULL, TRUE, NULL);
  if (sim.mosq == NULL)
    {
      g_printerr ("hemgate-sensor-sim: cannot create an MQTT client\n");
      return 1;
    }
  mosquitto_int_option (sim.mosq, MOSQ_OPT_TCP_NODELAY, 1);
  rc = mosquitto_connect (sim.mosq, opt_host != NULL ? opt_host : "127.0.0.1", opt_port, 60);
  if (rc != MOSQ_ERR_SUCCESS)
    {
      g_printerr ("hemgate-sensor-sim: cannot connect to %s:%d: %s\n",
                  opt_host != NULL ? opt_host : "127.0.0.1", opt_port, mosquitto_strerror (rc));
      return 1;
    }
  mosquitto_loop_start (sim.mosq);

  do
    {
      if (g_strcmp0 (scenario, "normal-day") == 0)
        scenario_normal_day (&sim);
      else if (g_strcmp0 (scenario, "water-leak") == 0)
        scenario_water_leak (&sim);
      else if (g_strcmp0 (scenario, "button") == 0)
        scenario_button (&sim);
      else if (g_strcmp0 (scenario, "flood") == 0)
        scenario_flood (&sim);
      else if (g_strcmp0 (scenario, "garbage") == 0)
        scenario_garbage (&sim);
      else if (g_strcmp0 (scenario, "load") == 0)
        scenario_load (&sim);
      else
        {
          g_printerr ("hemgate-sensor-sim: unknown scenario '%s'\n", scenario);
          return 2;
        }
    }
  while (opt_loop);

  /* let the network thread send what is queued, then say goodbye */
  mosquitto_disconnect (sim.mosq);
  mosquitto_loop_stop (sim.mosq, FALSE);
  mosquitto_destroy (sim.mosq);
  mosquitto_lib_cleanup ();
  g_print ("hemgate-sensor-sim: %s: %" G_GUINT64_FORMAT " messages\n", scenario, sim.sent);
  return 0;
}
