/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: an event in its wire form from untrusted JSON (hg_json_parse_object +
 * hg_event_new_from_json), as the host and WebSocket clients carry it. */
#include "config.h"

#include <hemgate-plugin.h>
#include <hg-event-private.h>

#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t size)
{
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(HgEvent) event = NULL;
  g_autoptr(JsonObject) written = NULL;
  g_autoptr(JsonObject) reread = NULL;
  g_autoptr(HgEvent) again = NULL;
  g_autofree gchar *text = NULL;

  fuzz_setup ();
  if (size > FUZZ_MAX_INPUT)
    return 0;
  object = hg_json_parse_object ((const gchar *) data, (gssize) size, FUZZ_MAX_INPUT, NULL);
  if (object == NULL)
    return 0;
  event = hg_event_new_from_json (object, NULL);
  if (event == NULL)
    return 0;

  /* what the gateway accepted, it writes in a form it accepts again */
  written = hg_event_to_json (event);
  text = hg_json_object_to_string (written);
  reread = hg_json_parse_object (text, -1, 0, NULL);
  g_assert_nonnull (reread);
  again = hg_event_new_from_json (reread, NULL);
  g_assert_nonnull (again);
  g_assert_cmpstr (hg_event_get_event_type (again), ==, hg_event_get_event_type (event));
  g_assert_cmpint (hg_event_get_domain (again), ==, hg_event_get_domain (event));
  g_assert_cmpuint (hg_event_get_seq (again), ==, hg_event_get_seq (event));
  g_assert_cmpstr (hg_event_get_source (again), ==, hg_event_get_source (event));
  g_assert_cmpint (hg_event_get_timestamp (again), ==, hg_event_get_timestamp (event));
  return 0;
}
