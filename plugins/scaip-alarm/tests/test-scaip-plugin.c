/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of HgScaipPlugin's configure (): every key is checked before the plugin
 * starts, and a bad one is HG_ERROR_INVALID_DATA naming the key, so the core marks the
 * instance failed instead of running an alarm path that cannot work. */
#include <string.h>

#include <hemgate-plugin.h>

#include "hg-scaip-plugin.h"

static const gchar *const good[] = {
  "aor",
  "sip:4600012345@arc.example.se",
  "primary",
  "sip:arc@arc.example.se:5060;transport=tcp",
  "controller-id",
  "4600012345",
  NULL,
};

static HgConfig *
config_with (const gchar *key,
             const gchar *value)
{
  HgConfig *config = hg_config_new ();

  for (guint i = 0; good[i] != NULL; i += 2)
    {
      if (g_strcmp0 (good[i], key) != 0)
        hg_config_set (config, good[i], good[i + 1]);
    }
  if (key != NULL && value != NULL)
    hg_config_set (config, key, value);
  return config;
}

static HgPlugin *
new_plugin (HgConfig *config)
{
  const gchar *capabilities[] = { "alarm.deliver", "alarm.raise", "secrets", NULL };
  g_autoptr(HgTestContext) context = hg_test_context_new ("scaip-alarm", HG_DOMAIN_MUNICIPAL,
                                                         config, capabilities);

  return g_object_new (HG_TYPE_SCAIP_PLUGIN, "context", context, NULL);
}

static void
test_accepted (void)
{
  static const gchar *const optional[] = {
    "secondary",
    "sip:arc2@192.0.2.10",
    "auth-user",
    "luc-group",
    "caller-id",
    "sip:4600012345@arc.example.se gsm:",
    "local-uri",
    "sip:*:5070",
    "path2-local-uri",
    "sip:10.64.0.2:*",
    "path2-primary",
    "sip:arc@10.100.0.1:5060;transport=tcp",
    "register",
    "false",
    "register-expires",
    "3600",
    "answer-timeout",
    "60",
    "failover-timeout",
    "1",
    "retry-max",
    "600",
    "hold-interval",
    "20",
    "hold-max",
    "1800",
    "max-in-flight",
    "256",
    "heartbeat-interval",
    "0",
    "demo-password",
    "x",
    "voice",
    "call",
    "voice-window",
    "3600",
    "voice-callers",
    "voice.arc.example 192.0.2.7",
    "codecs",
    "opus, PCMA",
    "srtp",
    "required",
    "audio-source",
    "audiotestsrc is-live=true",
    "audio-sink",
    "fakesink",
    "media-address",
    "2001:db8::1",
    "sounds",
    "false",
    "sound-language",
    "fil",
    "sound-dir",
    "/usr/share/hemgate/sounds",
    "sound-sink",
    "alsasink device=hw:1",
    "button-device",
    "/dev/input/by-id/usb-panic-event-kbd",
    "button-key",
    "767",
    "button-debounce",
    "0",
    "button-type",
    "fall",
    "button-location",
    "hall",
    "button-name",
    "pendant",
    NULL,
  };
  g_autoptr(HgConfig) config = config_with (NULL, NULL);
  g_autoptr(HgPlugin) plugin = new_plugin (config);
  g_autoptr(GError) error = NULL;

  g_test_summary ("The three required keys suffice; every optional key at its limits is accepted");
  g_assert_true (hg_plugin_configure (plugin, config, &error));
  g_assert_no_error (error);
  for (guint i = 0; optional[i] != NULL; i += 2)
    hg_config_set (config, optional[i], optional[i + 1]);
  g_assert_true (hg_plugin_configure (plugin, config, &error));
  g_assert_no_error (error);
}

static void
test_refused (void)
{
  static const struct
  {
    const gchar *key;
    const gchar *value; /* NULL: the key is left out */
  } bad[] = {
    { "aor", NULL },
    { "aor", "sip:arc.example.se" },
    { "aor", "mailto:a@b" },
    { "primary", NULL },
    { "primary", "http://arc.example.se/" },
    { "secondary", "arc.example.se" },
    { "controller-id", NULL },
    { "controller-id", "46-00" },
    { "controller-id", "123456789012345678901234567890123" },
    { "local-uri", "garbage" },
    { "path2-local-uri", "sip:*:5080" },
    { "path2-local-uri", "sip:gateway.local:*" },
    { "path2-primary", "sip:arc@10.100.0.1" },
    { "path2-secondary", "sip:arc@10.100.0.2" },
    { "caller-id", "gsm:+46\xc3\xa5" },
    { "auth-user", "" },
    { "register", "maybe" },
    { "register-expires", "59" },
    { "answer-timeout", "0" },
    { "failover-timeout", "601" },
    { "retry-max", "0" },
    { "hold-interval", "4" },
    { "hold-interval", "21" },
    { "hold-max", "179" },
    { "hold-max", "1801" },
    { "max-in-flight", "0" },
    { "max-in-flight", "257" },
    { "heartbeat-interval", "3" },
    { "heartbeat-interval", "-1" },
    { "secondary-receiver", "sip:arc@x" },
    { "voice", "maybe" },
    { "voice-window", "9" },
    { "voice-callers", " , " },
    { "codecs", "G729" },
    { "codecs", " " },
    { "srtp", "yes" },
    { "audio-source", "" },
    { "media-address", "gateway.local" },
    { "sounds", "loud" },
    { "sound-language", "sv_SE" },
    { "sound-language", "s" },
    { "button-device", "event3" },
    { "button-key", "768" },
    { "button-debounce", "60001" },
    { "button-type", "panic" },
    { "button-name", "" },
    { "primary", "sips:arc@arc.example.se" },
    { "primary", "sip:arc@arc.example.se;transport=tls" },
    { "tls-dir", "tls" },
    { "tls-dir", "/nonexistent" },
  };

  g_test_summary ("A missing, malformed or out-of-range key (and an unknown one, e.g. a typo of "
                  "secondary) is HG_ERROR_INVALID_DATA naming the key");
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(HgConfig) config = config_with (bad[i].key, bad[i].value);
      g_autoptr(HgPlugin) plugin = new_plugin (config);
      g_autoptr(GError) error = NULL;

      g_test_message ("%s = %s", bad[i].key, bad[i].value != NULL ? bad[i].value : "(missing)");
      g_assert_false (hg_plugin_configure (plugin, config, &error));
      g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
      g_test_message ("→ %s", error->message);
      g_assert_nonnull (strstr (error->message, bad[i].key));
    }
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/scaip/plugin/configure/accepted", test_accepted);
  g_test_add_func ("/scaip/plugin/configure/bad-key-named", test_refused);
  return g_test_run ();
}
