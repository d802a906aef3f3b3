/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hemgatectl secrets: lists the secrets of the caller's domain (never a value), sets one
 * from standard input or a file (never from the command line, which `ps` shows) and
 * deletes one. hemgatectl tls install: the API's certificate and key, whose key becomes a
 * secret of the gateway. */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hemgatectl-commands.h"
#include "hg-json.h"

/* As the API takes: 32 KiB of text (data/openapi.json, setSecret). */
#define SECRET_MAX_BYTES 32768

gboolean
hgd_cli_secrets (HgdCliClient *client,
                 const HgdCliOptions *options,
                 gchar **args,
                 GError **error)
{
  static const guint widths[] = { 24, 24, 10 };
  g_autoptr(JsonNode) answer = NULL;
  JsonArray *secrets;

  answer = hgd_cli_client_request (client, "GET", "/api/v1/secrets", NULL, error);
  if (answer == NULL)
    return FALSE;
  if (options->json)
    {
      hgd_cli_print_json (answer, TRUE);
      return TRUE;
    }
  secrets = hgd_cli_answer_get_array (answer, "secrets", error);
  if (secrets == NULL)
    return FALSE;
  if (json_array_get_length (secrets) == 0)
    {
      /* TRANSLATORS: “secrets” found none in the caller's domain */
      g_print ("%s\n", _("No secrets."));
      return TRUE;
    }
  /* TRANSLATORS: column headings of the secrets list */
  hgd_cli_print_row (widths, 4,
                     (const gchar *const[]){ _("OWNER"), _("KEY"), _("DOMAIN"), _("SET") });
  for (guint i = 0; i < json_array_get_length (secrets); i++)
    {
      JsonNode *node = json_array_get_element (secrets, i);
      JsonObject *secret = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      g_autofree gchar *set_at = hgd_cli_format_time (hgd_cli_object_get_text (secret, "set_at"));

      hgd_cli_print_row (widths, 4,
                         (const gchar *const[]){ hgd_cli_object_get_text (secret, "owner"),
                                                 hgd_cli_object_get_text (secret, "key"),
                                                 hgd_cli_object_get_text (secret, "domain"),
                                                 set_at });
    }
  return TRUE;
}

/* A secret's text; wiped when freed. */
typedef GString WipedString;

static void
wiped_string_free (WipedString *text)
{
  explicit_bzero (text->str, text->allocated_len);
  g_string_free (text, TRUE);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WipedString, wiped_string_free)

/* The value: all of @path, as it is (a PEM file); or standard input without its last line
 * break (`echo` or a typed line; a terminal gets a prompt without echo). */
static GString *
read_value (const gchar *path,
            GError **error)
{
  g_autoptr(GString) value = g_string_sized_new (256);
  FILE *input = stdin;
  gchar buffer[4096];
  gsize n;

  if (path == NULL && isatty (STDIN_FILENO))
    {
      /* TRANSLATORS: the prompt of “secrets set” on a terminal */
      g_auto(HgdCliPassword) typed = hgd_cli_read_password (_("Secret: "), NULL, FALSE, error);

      if (typed == NULL)
        return NULL;
      g_string_append (value, typed);
      return g_steal_pointer (&value);
    }
  if (path != NULL && g_strcmp0 (path, "-") != 0)
    {
      input = fopen (path, "re");
      if (input == NULL)
        {
          g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE,
                       /* TRANSLATORS: %s is a file name, then why it could not be read */
                       _("cannot read %s: %s"), path, g_strerror (errno));
          return NULL;
        }
    }
  while ((n = fread (buffer, 1, sizeof (buffer), input)) > 0 && value->len <= SECRET_MAX_BYTES)
    g_string_append_len (value, buffer, (gssize) n);
  explicit_bzero (buffer, sizeof (buffer));
  if (input != stdin)
    fclose (input);
  if (path == NULL && value->len > 0 && value->str[value->len - 1] == '\n')
    g_string_truncate (value, value->len - 1);
  if (path == NULL && value->len > 0 && value->str[value->len - 1] == '\r')
    g_string_truncate (value, value->len - 1);
  if (value->len == 0 || value->len > SECRET_MAX_BYTES)
    {
      explicit_bzero (value->str, value->allocated_len);
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE,
                   /* TRANSLATORS: %u is a number of bytes */
                   _("a secret is 1 to %u bytes of text"), (guint) SECRET_MAX_BYTES);
      return NULL;
    }
  return g_steal_pointer (&value);
}

static gchar *
secret_path (gchar **args)
{
  g_autofree gchar *owner = g_uri_escape_string (args[0], ":", FALSE);
  g_autofree gchar *key = g_uri_escape_string (args[1], NULL, FALSE);

  return g_strdup_printf ("/api/v1/secrets/%s/%s", owner, key);
}

gboolean
hgd_cli_secrets_set (HgdCliClient *client,
                     const HgdCliOptions *options,
                     gchar **args,
                     GError **error)
{
  g_autoptr(WipedString) value = read_value (options->file, error);
  g_autofree gchar *path = secret_path (args);
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autofree gchar *encoded = NULL;
  JsonObject *object;

  if (value == NULL)
    return FALSE;
  /* base64 always: the API's JSON strings hold no line breaks */
  encoded = g_base64_encode ((const guchar *) value->str, value->len);
  object = json_object_new ();
  json_object_set_string_member (object, "value_base64", encoded);
  explicit_bzero (encoded, strlen (encoded));
  body = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (body, object);
  answer = hgd_cli_client_request (client, "PUT", path, body, error);
  if (answer == NULL)
    return FALSE;
  if (options->json)
    return TRUE;
  /* TRANSLATORS: after “secrets set OWNER KEY”; %s are the key, then the owner */
  g_print (_("Set the secret %s of %s.\n"), args[1], args[0]);
  return TRUE;
}

gboolean
hgd_cli_secrets_delete (HgdCliClient *client,
                        const HgdCliOptions *options,
                        gchar **args,
                        GError **error)
{
  g_autofree gchar *path = secret_path (args);
  g_autoptr(JsonNode) answer = NULL;

  answer = hgd_cli_client_request (client, "DELETE", path, NULL, error);
  if (answer == NULL)
    return FALSE;
  if (options->json)
    return TRUE;
  /* TRANSLATORS: after “secrets delete OWNER KEY”; %s are the key, then the owner */
  g_print (_("Deleted the secret %s of %s.\n"), args[1], args[0]);
  return TRUE;
}

/* @path's contents, base64 encoded; the text read is wiped. */
static gchar *
file_base64 (const gchar *path,
             GError **error)
{
  g_autofree gchar *contents = NULL;
  gsize length = 0;
  gchar *encoded;

  if (!g_file_get_contents (path, &contents, &length, error))
    return NULL;
  encoded = g_base64_encode ((const guchar *) contents, length);
  explicit_bzero (contents, length);
  return encoded;
}

gboolean
hgd_cli_tls_install (HgdCliClient *client,
                     const HgdCliOptions *options,
                     gchar **args,
                     GError **error)
{
  g_autofree gchar *certificate = file_base64 (args[0], error);
  g_autofree gchar *key = NULL;
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(JsonNode) answer = NULL;
  JsonObject *object;
  JsonObject *installed;

  if (certificate == NULL)
    return FALSE;
  key = file_base64 (args[1], error);
  if (key == NULL)
    return FALSE;
  object = json_object_new ();
  json_object_set_string_member (object, "certificate_base64", certificate);
  json_object_set_string_member (object, "key_base64", key);
  explicit_bzero (key, strlen (key));
  body = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (body, object);
  answer = hgd_cli_client_request (client, "PUT", "/api/v1/tls/certificate", body, error);
  if (answer == NULL)
    return FALSE;
  if (options->json)
    {
      hgd_cli_print_json (answer, TRUE);
      return TRUE;
    }
  installed = JSON_NODE_HOLDS_OBJECT (answer) ? json_node_get_object (answer) : NULL;
  /* TRANSLATORS: after “tls install”; %s are the certificate's subject, then when it expires */
  g_print (_("Installed the certificate %s (valid until %s); new connections use it.\n"),
           hgd_cli_object_get_text (installed, "subject"),
           hgd_cli_object_get_text (installed, "not_after"));
  return TRUE;
}
