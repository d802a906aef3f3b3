/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hemgatectl access-log: the access log of the caller's domain, newest first
 * (GET /api/v1/access-log), or with --verify (or “access-log verify”) whether its hash
 * chain is intact (GET /api/v1/access-log/verify); a broken chain exits 1. */
#include "config.h"

#include <glib/gi18n.h>

#include "hemgatectl-commands.h"
#include "hg-json.h"

/* What an action is, in words; an action this hemgatectl does not know is shown as is. */
static const gchar *
action_text (const gchar *action)
{
  static const struct
  {
    const gchar *action;
    const gchar *text;
  } actions[] = {
    /* TRANSLATORS: what someone did, in the access log */
    { "login", N_("logged in") },
    /* TRANSLATORS: what someone did, in the access log */
    { "login.failed", N_("failed to log in") },
    /* TRANSLATORS: what someone did, in the access log: read the resident's data */
    { "read.personal", N_("read personal data") },
    /* TRANSLATORS: what someone did, in the access log: the home read the municipality's
     * records of its visits */
    { "read.municipal", N_("read municipal records") },
    /* TRANSLATORS: what someone did, in the access log: a consent to share */
    { "grant.made", N_("gave consent") },
    /* TRANSLATORS: what someone did, in the access log: withdrew a consent */
    { "grant.revoked", N_("withdrew consent") },
    /* TRANSLATORS: what someone did, in the access log */
    { "video-visit", N_("made a video visit") },
    /* TRANSLATORS: what someone did, in the access log: a night-time check by camera */
    { "night-check", N_("made a night check") },
    /* TRANSLATORS: what someone did, in the access log */
    { "export", N_("exported personal data") },
    /* TRANSLATORS: what someone did, in the access log */
    { "erase", N_("erased personal data") },
  };

  for (guint i = 0; i < G_N_ELEMENTS (actions); i++)
    {
      if (g_strcmp0 (action, actions[i].action) == 0)
        return _(actions[i].text);
    }
  return action;
}

static const gchar *
problem_text (const gchar *problem)
{
  if (g_strcmp0 (problem, "missing") == 0)
    /* TRANSLATORS: why an access log's chain is broken at an entry */
    return _("the entry is missing");
  if (g_strcmp0 (problem, "out-of-order") == 0)
    /* TRANSLATORS: why an access log's chain is broken at an entry */
    return _("entries were reordered or replaced");
  if (g_strcmp0 (problem, "changed") == 0)
    /* TRANSLATORS: why an access log's chain is broken at an entry */
    return _("the entry was changed");
  if (g_strcmp0 (problem, "unexpected") == 0)
    /* TRANSLATORS: why an access log's chain is broken at an entry */
    return _("the entry was not written by hemgated");
  return problem;
}

static const gchar *
domain_text (const gchar *domain)
{
  if (g_strcmp0 (domain, "personal") == 0)
    /* TRANSLATORS: the domain of an access log, as in “The personal access log …” */
    return C_("access log", "personal");
  if (g_strcmp0 (domain, "municipal") == 0)
    /* TRANSLATORS: the domain of an access log, as in “The municipal access log …” */
    return C_("access log", "municipal");
  return domain;
}

gboolean
hgd_cli_access_log_verify (HgdCliClient *client,
                           const HgdCliOptions *options,
                           gchar **args,
                           GError **error)
{
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error_local = NULL;
  JsonObject *verdict;
  const gchar *domain = NULL;
  const gchar *problem = NULL;
  gboolean ok = FALSE;
  gint64 entries = 0;
  gint64 bad_seq = 0;

  answer = hgd_cli_client_request (client, "GET", "/api/v1/access-log/verify", NULL, error);
  if (answer == NULL)
    return FALSE;
  verdict = JSON_NODE_HOLDS_OBJECT (answer) ? json_node_get_object (answer) : NULL;
  if (verdict == NULL || !hg_json_object_get_string (verdict, "domain", &domain, &error_local) ||
      !hg_json_object_get_boolean (verdict, "ok", &ok, &error_local) ||
      !hg_json_object_get_int (verdict, "entries", 0, G_MAXINT64, &entries, &error_local) ||
      (!ok && (!hg_json_object_get_string (verdict, "problem", &problem, &error_local) ||
               !hg_json_object_get_int (verdict, "first_bad_seq", 1, G_MAXINT64, &bad_seq,
                                        &error_local))))
    {
      if (error_local == NULL)
        g_set_error_literal (&error_local, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                             "the answer is not an object");
      g_propagate_error (error, hgd_cli_unexpected_answer (error_local));
      return FALSE;
    }
  if (options->json)
    hgd_cli_print_json (answer, TRUE);
  else if (ok)
    /* TRANSLATORS: the first %s is “personal” or “municipal”; %d how many entries */
    g_print (g_dngettext (GETTEXT_PACKAGE, "The %s access log is intact: %d entry verified.\n",
                          "The %s access log is intact: %d entries verified.\n", (gulong) entries),
             domain_text (domain), (gint) entries);
  if (ok)
    return TRUE;
  g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_FAILED,
               /* TRANSLATORS: the first %s is “personal” or “municipal”, %d the number of an
                * entry, the last %s what is wrong with it */
               _("the %s access log is broken at entry %d: %s"), domain_text (domain),
               (gint) bad_seq, problem_text (problem));
  return FALSE;
}

gboolean
hgd_cli_access_log (HgdCliClient *client,
                    const HgdCliOptions *options,
                    gchar **args,
                    GError **error)
{
  static const guint widths[] = { 20, 20, 24 };
  g_autoptr(JsonNode) answer = NULL;
  g_autofree gchar *path = NULL;
  JsonArray *entries;

  if (options->verify)
    return hgd_cli_access_log_verify (client, options, args, error);
  path = g_strdup_printf ("/api/v1/access-log?limit=%d", options->limit > 0 ? options->limit : 100);
  answer = hgd_cli_client_request (client, "GET", path, NULL, error);
  if (answer == NULL)
    return FALSE;
  if (options->json)
    {
      hgd_cli_print_json (answer, TRUE);
      return TRUE;
    }
  entries = hgd_cli_answer_get_array (answer, "entries", error);
  if (entries == NULL)
    return FALSE;
  if (json_array_get_length (entries) == 0)
    {
      /* TRANSLATORS: “access-log” found no entry */
      g_print ("%s\n", _("No one has accessed anything yet."));
      return TRUE;
    }
  /* TRANSLATORS: column headings of the access log */
  hgd_cli_print_row (widths, 4, (const gchar *const[]){ _("TIME"), _("WHO"), _("DID"), _("WHAT") });
  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonNode *node = json_array_get_element (entries, i);
      JsonObject *entry = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      g_autofree gchar *when = hgd_cli_format_time (hgd_cli_object_get_text (entry, "time"));

      hgd_cli_print_row (widths, 4,
                         (const gchar *const[]){ when, hgd_cli_object_get_text (entry, "actor_name"),
                                                 action_text (hgd_cli_object_get_text (entry, "action")),
                                                 hgd_cli_object_get_text (entry, "object") });
    }
  return TRUE;
}
