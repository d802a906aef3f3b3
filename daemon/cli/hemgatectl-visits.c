/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hemgatectl visits: the records of the home's care visits and night checks, newest first
 * (GET /api/v1/visits), for the resident, the guardian and staff. */
#include "config.h"

#include <glib/gi18n.h>

#include "hemgatectl-commands.h"
#include "hg-json.h"

static const gchar *
kind_text (const gchar *kind)
{
  if (g_strcmp0 (kind, "visit") == 0)
    /* TRANSLATORS: the kind of a visit record */
    return _("video visit");
  if (g_strcmp0 (kind, "night-check") == 0)
    /* TRANSLATORS: the kind of a visit record: a look-in by camera at night */
    return _("night check");
  return kind;
}

/* How it ended, in words; an outcome this hemgatectl does not know is shown as is. */
static const gchar *
outcome_text (const gchar *outcome)
{
  static const struct
  {
    const gchar *outcome;
    const gchar *text;
  } outcomes[] = {
    /* TRANSLATORS: how a video visit ended */
    { "answered", N_("answered") },
    /* TRANSLATORS: how a video visit ended */
    { "declined", N_("declined") },
    /* TRANSLATORS: how a video visit ended: no one answered */
    { "missed", N_("missed") },
    /* TRANSLATORS: how a video visit ended: staff hung up while it rang */
    { "cancelled", N_("cancelled") },
    /* TRANSLATORS: how a video visit ended: it broke off */
    { "failed", N_("failed") },
    /* TRANSLATORS: how a night check ended: at its time limit */
    { "completed", N_("completed") },
    /* TRANSLATORS: how a night check ended: staff ended it */
    { "ended", N_("ended") },
  };

  for (guint i = 0; i < G_N_ELEMENTS (outcomes); i++)
    {
      if (g_strcmp0 (outcome, outcomes[i].outcome) == 0)
        return _(outcomes[i].text);
    }
  return outcome;
}

gboolean
hgd_cli_visits (HgdCliClient *client,
                const HgdCliOptions *options,
                gchar **args,
                GError **error)
{
  static const guint widths[] = { 20, 14, 20, 14, 8 };
  g_autoptr(JsonNode) answer = NULL;
  g_autofree gchar *path = NULL;
  JsonArray *visits = NULL;

  path = g_strdup_printf ("/api/v1/visits?limit=%d", options->limit > 0 ? options->limit : 50);
  if (!hgd_cli_get_list (client, options, path, "visits", &answer, &visits, error))
    return FALSE;
  if (visits == NULL)
    return TRUE;
  if (json_array_get_length (visits) == 0)
    {
      /* TRANSLATORS: “visits” found no record */
      g_print ("%s\n", _("No video visits or night checks yet."));
      return TRUE;
    }
  /* TRANSLATORS: column headings of the visit records */
  hgd_cli_print_row (widths, 6, (const gchar *const[]){ _("STARTED"), _("KIND"), _("STAFF"),
                                                        _("ANSWERED BY"), _("SECONDS"),
                                                        _("OUTCOME") });
  for (guint i = 0; i < json_array_get_length (visits); i++)
    {
      JsonNode *node = json_array_get_element (visits, i);
      JsonObject *visit = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      g_autofree gchar *when = hgd_cli_format_time (hgd_cli_object_get_text (visit, "started"));
      g_autofree gchar *seconds = NULL;
      const gchar *answered_by = hgd_cli_object_get_text (visit, "answered_by");
      gint64 n = 0;

      if (visit != NULL && hg_json_object_get_int (visit, "seconds", 0, G_MAXINT64, &n, NULL))
        seconds = g_strdup_printf ("%" G_GINT64_FORMAT, n);
      if (g_strcmp0 (answered_by, "button") == 0)
        /* TRANSLATORS: who answered a video visit: the home's physical button */
        answered_by = _("the button");
      hgd_cli_print_row (widths, 6,
                         (const gchar *const[]){ when,
                                                 kind_text (hgd_cli_object_get_text (visit, "kind")),
                                                 hgd_cli_object_get_text (visit, "staff"),
                                                 answered_by,
                                                 seconds != NULL ? seconds : "-",
                                                 outcome_text (hgd_cli_object_get_text (visit,
                                                                                        "outcome")) });
    }
  return TRUE;
}
