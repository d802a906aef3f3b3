/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hemgatectl: the command-line client of hemgated's HTTP API. Parses the global options,
 * finds the command in one table, parses that command's options and runs it; the error
 * it returns decides the exit status (0 ok, 1 failure, 2 usage, 3 not authenticated or
 * forbidden, 4 gateway unreachable). */
#include "config.h"

#include <glib/gi18n.h>
#include <libsecret/secret.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

#include "hemgatectl-commands.h"

#define DEFAULT_URL "https://127.0.0.1:8443"

/* The options a command may take besides the global ones. */
typedef enum
{
  OPT_AFTER = 1 << 0,
  OPT_LIMIT = 1 << 1,
  OPT_FOLLOW = 1 << 2,
  OPT_ROLE = 1 << 3,
  OPT_LOCATION = 1 << 4,
  OPT_PASSWORD_STDIN = 1 << 5,
  OPT_IDEMPOTENCY_KEY = 1 << 6,
  OPT_VERIFY = 1 << 7,
  OPT_YES = 1 << 8,
  OPT_FILE = 1 << 9,
  OPT_ARCH = 1 << 10,
  OPT_APPROVE = 1 << 11,
  OPT_OIDC = 1 << 12,
  OPT_ALLOW_DOWNGRADE = 1 << 13,
  OPT_KEY = 1 << 14,
  OPT_MQTT = 1 << 15, /* --broker, --cert, --cert-key, --prefix */
  OPT_WAIT = 1 << 16,
} CommandOption;

typedef enum
{
  TOKEN_NONE,     /* the command finds its own (login) */
  TOKEN_OPTIONAL, /* sent when there is one (status) */
  TOKEN_REQUIRED, /* no token, no request: exit 3 */
} TokenUse;

typedef struct
{
  const gchar *group;      /* first word, e.g. "users" */
  const gchar *verb;       /* (nullable) second word, e.g. "add" */
  const gchar *arguments;  /* positional arguments, as shown in help; may be "" */
  guint n_args;            /* how many there must be */
  const gchar *summary;
  guint options;           /* CommandOption: those it takes */
  guint required;          /* CommandOption: those it cannot do without */
  TokenUse token;
  HgdCliCommandFunc run;
} Command;

static const Command commands[] = {
  /* TRANSLATORS: the argument of “login”, and what the command does */
  { "login", NULL, N_("USER"), 1, N_("Log in and keep the session token in the keyring"),
    OPT_PASSWORD_STDIN | OPT_OIDC, 0, TOKEN_NONE, hgd_cli_login },
  /* TRANSLATORS: what “logout” does */
  { "logout", NULL, "", 0, N_("End the session and forget its token"), 0, 0, TOKEN_REQUIRED,
    hgd_cli_logout },
  /* TRANSLATORS: what “status” does */
  { "status", NULL, "", 0, N_("Show the gateway's health"), 0, 0, TOKEN_OPTIONAL, hgd_cli_status },
  /* TRANSLATORS: what “events” does */
  { "events", NULL, "", 0, N_("List events, or follow new ones as they happen"),
    OPT_AFTER | OPT_LIMIT | OPT_FOLLOW, 0, TOKEN_REQUIRED, hgd_cli_events },
  /* TRANSLATORS: what “users” does */
  { "users", NULL, "", 0, N_("List the users you manage"), 0, 0, TOKEN_REQUIRED, hgd_cli_users },
  /* TRANSLATORS: the argument of “users add”, and what the command does */
  { "users", "add", N_("NAME"), 1, N_("Add a user with --role ROLE; asks for the password"),
    OPT_ROLE | OPT_PASSWORD_STDIN, OPT_ROLE, TOKEN_REQUIRED, hgd_cli_users_add },
  /* TRANSLATORS: what “plugins” does */
  { "plugins", NULL, "", 0, N_("List the plugin instances and their state"), 0, 0, TOKEN_REQUIRED,
    hgd_cli_plugins },
  /* TRANSLATORS: the argument of “plugins restart”, and what the command does */
  { "plugins", "restart", N_("ID"), 1, N_("Restart a plugin instance"), 0, 0, TOKEN_REQUIRED,
    hgd_cli_plugins_restart },
  /* TRANSLATORS: the argument of “plugins disable”, and what the command does */
  { "plugins", "disable", N_("ID"), 1, N_("Stop a plugin instance and keep it stopped"), 0, 0,
    TOKEN_REQUIRED, hgd_cli_plugins_disable },
  /* TRANSLATORS: the argument of “plugins enable”, and what the command does */
  { "plugins", "enable", N_("ID"), 1, N_("Start a disabled plugin instance again"), 0, 0,
    TOKEN_REQUIRED, hgd_cli_plugins_enable },
  /* TRANSLATORS: what “access-log” does */
  { "access-log", NULL, "", 0, N_("Show who accessed what, newest first, or check it with --verify"),
    OPT_LIMIT | OPT_VERIFY, 0, TOKEN_REQUIRED, hgd_cli_access_log },
  /* TRANSLATORS: what “access-log verify” does */
  { "access-log", "verify", "", 0, N_("Check that no entry of the access log was changed, removed or reordered"),
    0, 0, TOKEN_REQUIRED, hgd_cli_access_log_verify },
  /* TRANSLATORS: what “visits” does */
  { "visits", NULL, "", 0, N_("List the home's video visits and night checks, newest first"),
    OPT_LIMIT, 0, TOKEN_REQUIRED, hgd_cli_visits },
  /* TRANSLATORS: what “alarms” does */
  { "alarms", NULL, "", 0, N_("List alarms"), 0, 0, TOKEN_REQUIRED, hgd_cli_alarms },
  /* TRANSLATORS: the argument of “alarms raise”, and what the command does */
  { "alarms", "raise", N_("TYPE"), 1,
    N_("Raise an alarm (assistance, fall, fire, water, inactivity, door, technical, test)"),
    OPT_LOCATION | OPT_IDEMPOTENCY_KEY, 0, TOKEN_REQUIRED, hgd_cli_alarms_raise },
  /* TRANSLATORS: the argument of “personal export”, and what the command does */
  { "personal", "export", N_("FILE"), 1,
    N_("Save everything of the personal domain to FILE (JSON; “-” prints it)"), 0, 0,
    TOKEN_REQUIRED, hgd_cli_personal_export },
  /* TRANSLATORS: what “personal erase” does */
  { "personal", "erase", "", 0,
    N_("Erase the personal domain's data for good (needs --yes); the municipal side stays"),
    OPT_YES, OPT_YES, TOKEN_REQUIRED, hgd_cli_personal_erase },
  /* TRANSLATORS: what “secrets” does */
  { "secrets", NULL, "", 0, N_("List the secrets of your domain, never their values"), 0, 0,
    TOKEN_REQUIRED, hgd_cli_secrets },
  /* TRANSLATORS: the arguments of “secrets set”, and what the command does */
  { "secrets", "set", N_("OWNER KEY"), 2,
    N_("Set a secret (OWNER: core or plugin:ID) from standard input or --file"), OPT_FILE, 0,
    TOKEN_REQUIRED, hgd_cli_secrets_set },
  /* TRANSLATORS: the arguments of “secrets delete”, and what the command does */
  { "secrets", "delete", N_("OWNER KEY"), 2, N_("Delete a secret"), 0, 0, TOKEN_REQUIRED,
    hgd_cli_secrets_delete },
  /* TRANSLATORS: the argument of “fleet publish”, and what the command does */
  { "fleet", "publish", N_("MANIFEST"), 1,
    N_("Sign the deployment MANIFEST with --key and publish it and its bundles to the fleet's "
       "broker"),
    OPT_KEY | OPT_MQTT, OPT_KEY, TOKEN_NONE, hgd_cli_fleet_publish },
  /* TRANSLATORS: what “fleet status” does */
  { "fleet", "status", "", 0,
    N_("Show the roll-out of the fleet's manifest: each gateway's state on the broker"),
    OPT_MQTT | OPT_WAIT, 0, TOKEN_NONE, hgd_cli_fleet_status },
  /* TRANSLATORS: the arguments of “tls install”, and what the command does */
  { "tls", "install", N_("CERT KEY"), 2,
    N_("Install the API's certificate (PEM chain) and its key; used at once"), 0, 0,
    TOKEN_REQUIRED, hgd_cli_tls_install },
  /* TRANSLATORS: the argument of “bundle keygen”, and what the command does */
  { "bundle", "keygen", N_("NAME"), 1,
    N_("Make a signing key pair: NAME.key (secret) and NAME.pub (for the gateways)"), 0, 0,
    TOKEN_NONE, hgd_cli_bundle_keygen },
  /* TRANSLATORS: the arguments of “bundle create”, and what the command does */
  { "bundle", "create", N_("DIR FILE"), 2,
    N_("Make a bundle FILE of the plugin in DIR (manifest.json, its module, data/, locale/)"),
    OPT_ARCH, 0, TOKEN_NONE, hgd_cli_bundle_create },
  /* TRANSLATORS: the arguments of “bundle sign”, and what the command does */
  { "bundle", "sign", N_("FILE KEYFILE"), 2,
    N_("Sign the bundle FILE with the signing key in KEYFILE"), 0, 0, TOKEN_NONE,
    hgd_cli_bundle_sign },
  /* TRANSLATORS: the argument of “bundle inspect”, and what the command does */
  { "bundle", "inspect", N_("FILE"), 1,
    N_("Show a bundle's plugin, signer, capabilities and files"), 0, 0, TOKEN_NONE,
    hgd_cli_bundle_inspect },
  /* TRANSLATORS: the argument of “plugins install”, and what the command does */
  { "plugins", "install", N_("FILE|URL"), 1,
    N_("Install or upgrade a plugin from a signed bundle (a file or an http(s) URL) in your "
       "domain; wait for the outcome"),
    OPT_APPROVE | OPT_ALLOW_DOWNGRADE, 0, TOKEN_REQUIRED, hgd_cli_plugins_install },
  /* TRANSLATORS: the argument of “plugins remove”, and what the command does */
  { "plugins", "remove", N_("ID"), 1, N_("Stop and remove a plugin installed from a bundle"), 0, 0,
    TOKEN_REQUIRED, hgd_cli_plugins_remove },
  /* TRANSLATORS: what “trust” does */
  { "trust", NULL, "", 0, N_("List the keys your domain trusts to sign plugin bundles"), 0, 0,
    TOKEN_REQUIRED, hgd_cli_trust },
  /* TRANSLATORS: the argument of “trust add”, and what the command does */
  { "trust", "add", N_("PUBFILE"), 1,
    N_("Trust the public key in PUBFILE (of “bundle keygen”) to sign bundles for your domain"),
    0, 0, TOKEN_REQUIRED, hgd_cli_trust_add },
  /* TRANSLATORS: the argument of “trust revoke”, and what the command does */
  { "trust", "revoke", N_("KEYID"), 1,
    N_("Revoke a key: its bundles are refused, and running ones are reported in health"), 0, 0,
    TOKEN_REQUIRED, hgd_cli_trust_revoke },
};

static void
options_clear (HgdCliOptions *options)
{
  g_clear_pointer (&options->url, g_free);
  g_clear_pointer (&options->ca_file, g_free);
  g_clear_pointer (&options->role, g_free);
  g_clear_pointer (&options->location, g_free);
  g_clear_pointer (&options->idempotency_key, g_free);
  g_clear_pointer (&options->file, g_free);
  g_clear_pointer (&options->arch, g_free);
  g_clear_pointer (&options->approve, g_free);
  g_clear_pointer (&options->key, g_free);
  g_clear_pointer (&options->broker, g_free);
  g_clear_pointer (&options->cert, g_free);
  g_clear_pointer (&options->cert_key, g_free);
  g_clear_pointer (&options->prefix, g_free);
}

/* The string options go through callbacks so that giving one twice, or both before and
 * after the command, keeps the last and leaks nothing. */
static gboolean
option_string_cb (const gchar *option_name,
                  const gchar *value,
                  gpointer data,
                  GError **error)
{
  HgdCliOptions *options = data;
  gchar **target = NULL;

  if (g_strcmp0 (option_name, "--url") == 0)
    target = &options->url;
  else if (g_strcmp0 (option_name, "--ca") == 0)
    target = &options->ca_file;
  else if (g_strcmp0 (option_name, "--role") == 0)
    target = &options->role;
  else if (g_strcmp0 (option_name, "--location") == 0)
    target = &options->location;
  else if (g_strcmp0 (option_name, "--idempotency-key") == 0)
    target = &options->idempotency_key;
  else if (g_strcmp0 (option_name, "--file") == 0)
    target = &options->file;
  else if (g_strcmp0 (option_name, "--arch") == 0)
    target = &options->arch;
  else if (g_strcmp0 (option_name, "--approve") == 0)
    target = &options->approve;
  else if (g_strcmp0 (option_name, "--key") == 0)
    target = &options->key;
  else if (g_strcmp0 (option_name, "--broker") == 0)
    target = &options->broker;
  else if (g_strcmp0 (option_name, "--cert") == 0)
    target = &options->cert;
  else if (g_strcmp0 (option_name, "--cert-key") == 0)
    target = &options->cert_key;
  else if (g_strcmp0 (option_name, "--prefix") == 0)
    target = &options->prefix;
  g_return_val_if_fail (target != NULL, FALSE);
  g_free (*target);
  *target = g_strdup (value);
  return TRUE;
}

/* The global options, and those of @mask, as a main group storing into @options. */
static GOptionGroup *
option_group_new (HgdCliOptions *options,
                  guint mask)
{
  const GOptionEntry global[] = {
    /* TRANSLATORS: help for --url; HEMGATE_URL stays untranslated */
    { "url", 0, 0, G_OPTION_ARG_CALLBACK, option_string_cb,
      N_("The gateway (default $HEMGATE_URL, else https://127.0.0.1:8443)"), N_("URL") },
    /* TRANSLATORS: help for --json */
    { "json", 0, 0, G_OPTION_ARG_NONE, &options->json, N_("Print the API's JSON answer"), NULL },
    /* TRANSLATORS: help for --ca */
    { "ca", 0, G_OPTION_FLAG_FILENAME, G_OPTION_ARG_CALLBACK, option_string_cb,
      N_("Trust only the certificates in FILE, e.g. the gateway's own (pinning it)"), N_("FILE") },
    /* TRANSLATORS: help for --insecure */
    { "insecure", 0, 0, G_OPTION_ARG_NONE, &options->insecure,
      N_("Accept any certificate, e.g. a test gateway's self-signed one"), NULL },
    { NULL }
  };
  const struct
  {
    CommandOption option;
    GOptionEntry entry;
  } specific[] = {
    /* TRANSLATORS: help for events --after */
    { OPT_AFTER,
      { "after", 0, 0, G_OPTION_ARG_INT64, &options->after,
        N_("Only events after sequence number SEQ"), N_("SEQ") } },
    /* TRANSLATORS: help for events --limit */
    { OPT_LIMIT,
      { "limit", 0, 0, G_OPTION_ARG_INT, &options->limit,
        N_("At most N events (default 100, at most 1000)"), N_("N") } },
    /* TRANSLATORS: help for events --follow */
    { OPT_FOLLOW,
      { "follow", 'f', 0, G_OPTION_ARG_NONE, &options->follow,
        N_("Keep printing new events; reconnects without losing any"), NULL } },
    /* TRANSLATORS: help for access-log --verify */
    { OPT_VERIFY,
      { "verify", 0, 0, G_OPTION_ARG_NONE, &options->verify,
        N_("Check the access log's hash chain instead of listing it"), NULL } },
    /* TRANSLATORS: help for users add --role */
    { OPT_ROLE,
      { "role", 0, 0, G_OPTION_ARG_CALLBACK, option_string_cb,
        N_("The new user's role: resident, family, guardian, staff, it-admin, service or "
           "auditor"), N_("ROLE") } },
    /* TRANSLATORS: help for alarms raise --location */
    { OPT_LOCATION,
      { "location", 0, 0, G_OPTION_ARG_CALLBACK, option_string_cb,
        N_("Where in the home, e.g. a room"), N_("ROOM") } },
    /* TRANSLATORS: help for alarms raise --idempotency-key */
    { OPT_IDEMPOTENCY_KEY,
      { "idempotency-key", 0, 0, G_OPTION_ARG_CALLBACK, option_string_cb,
        N_("Raise at most one alarm for KEY, however often the command runs (default: a new "
           "key, reused when the command retries)"),
        N_("KEY") } },
    /* TRANSLATORS: help for personal erase --yes */
    { OPT_YES,
      { "yes", 0, 0, G_OPTION_ARG_NONE, &options->yes,
        N_("Yes, erase: it cannot be undone"), NULL } },
    /* TRANSLATORS: help for secrets set --file */
    { OPT_FILE,
      { "file", 0, G_OPTION_FLAG_FILENAME, G_OPTION_ARG_CALLBACK, option_string_cb,
        N_("Read the secret from FILE as it is, e.g. a PEM key (“-”: all of standard input)"),
        N_("FILE") } },
    /* TRANSLATORS: help for bundle create --arch */
    { OPT_ARCH,
      { "arch", 0, 0, G_OPTION_ARG_CALLBACK, option_string_cb,
        N_("The architecture the module is for, e.g. aarch64-linux (default: this machine's)"),
        N_("ARCH") } },
    /* TRANSLATORS: help for plugins install --approve */
    { OPT_APPROVE,
      { "approve", 0, 0, G_OPTION_ARG_CALLBACK, option_string_cb,
        N_("Approve these capabilities, new since the running version (comma-separated)"),
        N_("CAPS") } },
    /* TRANSLATORS: help for plugins install --allow-downgrade */
    { OPT_ALLOW_DOWNGRADE,
      { "allow-downgrade", 0, 0, G_OPTION_ARG_NONE, &options->allow_downgrade,
        N_("Install even a version older than one installed before"), NULL } },
    /* TRANSLATORS: help for login --oidc */
    { OPT_OIDC,
      { "oidc", 0, 0, G_OPTION_ARG_NONE, &options->oidc,
        N_("Log in with the municipality's identity provider instead, without USER: enter "
           "the code shown in a browser anywhere"), NULL } },
    /* TRANSLATORS: help for fleet publish --key */
    { OPT_KEY,
      { "key", 0, G_OPTION_FLAG_FILENAME, G_OPTION_ARG_CALLBACK, option_string_cb,
        N_("The signing key (from “bundle keygen”) the gateways' municipal domain trusts"),
        N_("KEYFILE") } },
    /* TRANSLATORS: help for fleet --broker */
    { OPT_MQTT,
      { "broker", 0, 0, G_OPTION_ARG_CALLBACK, option_string_cb,
        N_("The fleet's MQTT broker (default 127.0.0.1:8883); TLS with --ca"), N_("HOST[:PORT]") } },
    /* TRANSLATORS: help for fleet --cert */
    { OPT_MQTT,
      { "cert", 0, G_OPTION_FLAG_FILENAME, G_OPTION_ARG_CALLBACK, option_string_cb,
        N_("The client certificate to present to the broker (PEM)"), N_("FILE") } },
    /* TRANSLATORS: help for fleet --cert-key */
    { OPT_MQTT,
      { "cert-key", 0, G_OPTION_FLAG_FILENAME, G_OPTION_ARG_CALLBACK, option_string_cb,
        N_("The client certificate's key (PEM)"), N_("FILE") } },
    /* TRANSLATORS: help for fleet --prefix */
    { OPT_MQTT,
      { "prefix", 0, 0, G_OPTION_ARG_CALLBACK, option_string_cb,
        N_("The fleet's topic prefix (default hemgate/fleet)"), N_("PREFIX") } },
    /* TRANSLATORS: help for fleet status --wait */
    { OPT_WAIT,
      { "wait", 0, 0, G_OPTION_ARG_INT, &options->wait,
        N_("Collect the gateways' states for SECONDS (default 2)"), N_("SECONDS") } },
    /* TRANSLATORS: help for --password-stdin */
    { OPT_PASSWORD_STDIN,
      { "password-stdin", 0, 0, G_OPTION_ARG_NONE, &options->password_stdin,
        N_("Read the password from the first line of standard input"), NULL } },
  };
  GOptionGroup *group = g_option_group_new ("hemgatectl", "", "", options, NULL);
  g_autoptr(GArray) entries = g_array_new (TRUE, TRUE, sizeof (GOptionEntry));

  g_option_group_set_translation_domain (group, GETTEXT_PACKAGE);
  g_option_group_add_entries (group, global);
  for (guint i = 0; i < G_N_ELEMENTS (specific); i++)
    {
      if ((mask & specific[i].option) != 0)
        g_array_append_val (entries, specific[i].entry);
    }
  g_option_group_add_entries (group, (const GOptionEntry *) entries->data);
  return group;
}

/* gettext ("") would be the catalogue's header */
static const gchar *
command_arguments (const Command *command)
{
  return command->arguments[0] != '\0' ? _(command->arguments) : "";
}

static gchar *
command_name (const Command *command)
{
  if (command->verb == NULL)
    return g_strdup (command->group);
  return g_strdup_printf ("%s %s", command->group, command->verb);
}

static gchar *
commands_description (void)
{
  GString *text = g_string_new (NULL);

  /* TRANSLATORS: heading of the command list in --help */
  g_string_append_printf (text, "%s\n", _("Commands:"));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autofree gchar *name = command_name (&commands[i]);
      g_autofree gchar *usage = g_strdup_printf ("%s %s", name, command_arguments (&commands[i]));
      g_autofree gchar *padded = hgd_cli_pad (usage, 24);
      g_string_append_printf (text, "  %s %s\n", padded, _(commands[i].summary));
    }
  g_string_append_c (text, '\n');
  g_string_append (
      text,
      /* TRANSLATORS: the end of --help; keep the option, variable and command names */
      _("Every command takes --json to print the API's JSON instead of text.\n"
        "\n"
        "The token from “login” is kept in the Secret Service (the desktop keyring)\n"
        "for the gateway's URL. Without a Secret Service, run “hemgatectl --json login”\n"
        "and put the token it prints in HEMGATE_TOKEN; when set, HEMGATE_TOKEN is used\n"
        "instead of the keyring.\n"
        "\n"
        "The gateway's certificate is verified. Pin a self-signed one with --ca FILE\n"
        "(the gateway's certificate in PEM); --insecure accepts any certificate.\n"
        "\n"
        "Exit status: 0 success, 1 failure, 2 usage error, 3 not logged in or not\n"
        "allowed, 4 gateway unreachable.\n"));
  return g_string_free (text, FALSE);
}

/* The command named by the first one or two words of @args, and how many words it took. */
static const Command *
find_command (gchar **args,
              guint *n_words)
{
  const Command *found = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (g_strcmp0 (commands[i].group, args[0]) != 0)
        continue;
      if (commands[i].verb == NULL && found == NULL)
        {
          found = &commands[i];
          *n_words = 1;
        }
      else if (commands[i].verb != NULL && args[1] != NULL &&
               g_strcmp0 (commands[i].verb, args[1]) == 0)
        {
          *n_words = 2;
          return &commands[i];
        }
    }
  return found;
}

static int
exit_status_for (const GError *error)
{
  if (error->domain == HGD_CLI_ERROR)
    return error->code;
  if (error->domain == G_OPTION_ERROR)
    return HGD_CLI_ERROR_USAGE;
  return HGD_CLI_ERROR_FAILED;
}

static int
fail (const GError *error)
{
  g_printerr ("hemgatectl: %s\n", error->message);
  if (error->domain == G_OPTION_ERROR ||
      g_error_matches (error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE))
    /* TRANSLATORS: shown after a usage error */
    g_printerr ("%s\n", _("Run “hemgatectl --help” for usage."));
  return exit_status_for (error);
}

/* Parses the command's options (global ones may come after the command too) and checks
 * the number of positional arguments; @args becomes those arguments. */
static gboolean
parse_command_line (const Command *command,
                    HgdCliOptions *options,
                    gchar ***args,
                    GError **error)
{
  g_autofree gchar *name = command_name (command);
  g_autofree gchar *parameters = command->arguments[0] != '\0'
                                  ? g_strdup_printf ("%s %s", name, command_arguments (command))
                                  : g_strdup (name);
  g_autoptr(GOptionContext) context = g_option_context_new (parameters);
  guint n_args;

  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, _(command->summary));
  g_option_context_set_main_group (context, option_group_new (options, command->options));
  if (!g_option_context_parse_strv (context, args, error))
    return FALSE;

  /* (*args)[0] is the program name */
  n_args = g_strv_length (*args) - 1;
  /* login --oidc takes no user name: the identity provider says who */
  if (n_args != ((command->options & OPT_OIDC) != 0 && options->oidc ? 0 : command->n_args))
    {
      g_set_error (error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE,
                   /* TRANSLATORS: %s is a command with its arguments, e.g. “users add NAME” */
                   _("usage: hemgatectl [OPTION…] %s"), parameters);
      return FALSE;
    }
  if ((command->required & OPT_ROLE) != 0 && options->role == NULL)
    {
      g_set_error_literal (
          error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE,
          /* TRANSLATORS: --role is an option; keep it and the role names */
          _("“users add” needs --role ROLE (resident, family, guardian, staff, it-admin, "
            "service or auditor)"));
      return FALSE;
    }
  if ((command->required & OPT_KEY) != 0 && options->key == NULL)
    {
      g_set_error_literal (error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE,
                           /* TRANSLATORS: --key is an option; keep it */
                           _("“fleet publish” needs --key KEYFILE, the key that signs the manifest"));
      return FALSE;
    }
  if ((command->required & OPT_YES) != 0 && !options->yes)
    {
      g_set_error_literal (
          error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE,
          /* TRANSLATORS: --yes is an option; keep it */
          _("“personal erase” erases the resident's data for good and cannot be undone; give "
            "--yes to do it"));
      return FALSE;
    }
  if ((command->options & OPT_AFTER) != 0 && options->after < -1)
    {
      g_set_error_literal (error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE,
                           /* TRANSLATORS: --after is an option; keep it */
                           _("--after takes a sequence number of 0 or more"));
      return FALSE;
    }
  if ((command->options & OPT_LIMIT) != 0 && (options->limit < 0 || options->limit > 1000))
    {
      g_set_error_literal (error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE,
                           /* TRANSLATORS: --limit is an option; keep it */
                           _("--limit takes a number from 1 to 1000"));
      return FALSE;
    }
  return TRUE;
}

int
main (int argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdCliClient) client = NULL;
  g_auto(GStrv) args = NULL;
  g_auto(GStrv) command_args = NULL;
  g_autofree gchar *description = NULL;
  HgdCliOptions options = { .after = -1 };
  const Command *command;
  guint n_words = 0;
  gboolean ok;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("hemgatectl");

  /* the global options, up to the command's name */
  /* TRANSLATORS: the parameter string of “hemgatectl --help” */
  context = g_option_context_new (_("COMMAND [ARGUMENT…]"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  /* TRANSLATORS: the one-line summary of “hemgatectl --help” */
  g_option_context_set_summary (context, _("Control a hemgate home gateway through its HTTP API."));
  description = commands_description ();
  g_option_context_set_description (context, description);
  g_option_context_set_strict_posix (context, TRUE);
  g_option_context_set_main_group (context, option_group_new (&options, 0));
  args = g_strdupv (argv);
  if (!g_option_context_parse_strv (context, &args, &error))
    {
      options_clear (&options);
      return fail (error);
    }
  if (args[1] == NULL)
    {
      g_autofree gchar *help = g_option_context_get_help (context, TRUE, NULL);
      g_printerr ("%s", help);
      options_clear (&options);
      return HGD_CLI_ERROR_USAGE;
    }
  command = find_command (args + 1, &n_words);
  if (command == NULL)
    {
      /* TRANSLATORS: %s is what the user typed as a command */
      g_set_error (&error, HGD_CLI_ERROR, HGD_CLI_ERROR_USAGE, _("unknown command “%s”"), args[1]);
      options_clear (&options);
      return fail (error);
    }

  /* the command's own options and arguments: argv[0] followed by what comes after its name */
  command_args = g_new0 (gchar *, g_strv_length (args) - n_words + 1);
  command_args[0] = g_strdup (args[0]);
  for (guint i = 1 + n_words, j = 1; args[i] != NULL; i++, j++)
    command_args[j] = g_strdup (args[i]);
  if (!parse_command_line (command, &options, &command_args, &error))
    {
      options_clear (&options);
      return fail (error);
    }

  if (options.url == NULL)
    options.url = g_strdup (g_getenv ("HEMGATE_URL") != NULL && g_getenv ("HEMGATE_URL")[0] != '\0'
                            ? g_getenv ("HEMGATE_URL") : DEFAULT_URL);
  client = hgd_cli_client_new (options.url, options.insecure, options.ca_file, &error);
  ok = client != NULL;
  if (ok && command->token != TOKEN_NONE)
    ok = hgd_cli_client_ensure_token (client, command->token == TOKEN_REQUIRED, &error);
  if (ok)
    ok = command->run (client, &options, command_args + 1, &error);
  if (!ok && options.json && client != NULL && hgd_cli_client_get_last_api_error (client) != NULL)
    hgd_cli_print_json (hgd_cli_client_get_last_api_error (client), TRUE);
  g_clear_object (&client);
  /* drop libsecret's shared Secret Service proxy and what it caches */
  secret_service_disconnect ();
  options_clear (&options);
  if (!ok)
    return fail (error);
  return EXIT_SUCCESS;
}
