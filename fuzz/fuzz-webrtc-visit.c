/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: the messages of video visits as the browsers on their channels send them,
 * through the webrtc-visit plugin (plugins/webrtc-visit) with real GStreamer pipelines
 * (its default test sources, camera-optional on). Each line of the input is a channel's
 * name, a space and a JSON object: "staff" (a staff member's ordinary channel), "check" (a
 * night-check channel) or "home" (the resident's home screen); "close-staff" closes and
 * reopens the staff channel, as a browser that vanishes. Whatever comes, the plugin
 * answers without a warning or a crash, and once it is gone no call and no pipeline is
 * left (its health says idle). */
#include <hemgate-plugin.h>

#include <gst/gst.h>
#include <string.h>

#include "hg-webrtc-visit-plugin.h"

#include "fuzz.h"

/* at most this many messages of an input are delivered */
#define MAX_MESSAGES 64

static void
started_cb (GObject *source,
            GAsyncResult *result,
            gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!hg_plugin_start_finish (HG_PLUGIN (source), result, &error))
    g_error ("the plugin did not start: %s", error->message);
  *(gboolean *) user_data = TRUE;
}

static void
settle (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t size)
{
  const gchar *capabilities[] = { "channel.serve", "media.camera", "media.microphone",
                                  "visit.publish", "secrets", NULL };
  g_autoptr(HgTestContext) context = NULL;
  g_autoptr(HgPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *staff = NULL;
  g_autofree gchar *check = NULL;
  g_autofree gchar *home = NULL;
  g_auto(GStrv) lines = NULL;
  GPtrArray *reports;
  gboolean started = FALSE;

  fuzz_setup ();
  if (size > FUZZ_MAX_INPUT)
    return 0;
  gst_init (NULL, NULL);
  context = hg_test_context_new_from_data ("webrtc-visit", HG_DOMAIN_MUNICIPAL,
                                           "[plugin:webrtc-visit]\nring-seconds=5\n"
                                           "check-seconds=1\ncamera-optional=true\n",
                                           capabilities, &error);
  g_assert_no_error (error);
  plugin = g_object_new (HG_TYPE_WEBRTC_VISIT_PLUGIN, "context", context, NULL);
  if (!hg_plugin_configure (plugin, hg_context_get_config (HG_CONTEXT (context)), &error))
    g_error ("the configuration was refused: %s", error->message);
  hg_plugin_start_async (plugin, NULL, started_cb, &started);
  while (!started)
    g_main_context_iteration (NULL, TRUE);
  staff = hg_test_context_channel_open (context, "anna", "staff", NULL);
  check = hg_test_context_channel_open (context, "nils", "staff", "night-check");
  home = hg_test_context_channel_open (context, "rut", "resident", NULL);

  text = g_strndup ((const gchar *) data, size);
  lines = g_strsplit (text, "\n", MAX_MESSAGES + 1);
  for (guint i = 0; lines[i] != NULL && i < MAX_MESSAGES; i++)
    {
      g_autoptr(JsonObject) message = NULL;
      const gchar *space = strchr (lines[i], ' ');
      g_autofree gchar *name = NULL;
      const gchar *channel;

      if (g_str_equal (lines[i], "close-staff"))
        {
          hg_test_context_channel_close (context, staff);
          g_free (staff);
          staff = hg_test_context_channel_open (context, "anna", "staff", NULL);
          settle ();
          continue;
        }
      if (space == NULL)
        continue;
      name = g_strndup (lines[i], space - lines[i]);
      channel = g_str_equal (name, "staff") ? staff
                : g_str_equal (name, "check") ? check
                : g_str_equal (name, "home")  ? home
                                              : NULL;
      message = hg_json_parse_object (space + 1, -1, HG_CONTEXT_CHANNEL_MAX_MESSAGE, NULL);
      if (channel == NULL || message == NULL)
        continue;
      hg_test_context_channel_deliver (context, channel, message, NULL);
      settle ();
    }

  /* the plugin goes: whatever call it had ends, and its pipeline with it */
  g_clear_object (&plugin);
  reports = hg_test_context_get_health_reports (context);
  if (reports->len > 0)
    {
      JsonObject *last = g_ptr_array_index (reports, reports->len - 1);

      if (g_strcmp0 (json_object_get_string_member (last, "call"), "idle") != 0 ||
          g_strcmp0 (json_object_get_string_member (last, "pipeline"), "null") != 0)
        g_error ("a call was left behind");
    }
  return 0;
}
