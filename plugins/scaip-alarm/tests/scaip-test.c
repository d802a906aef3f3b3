/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The scaip-alarm end-to-end test kit: hemgate-arc-sim and hemgated as child processes
 * (the daemon runs the real plugin host, which loads the built plugin), the daemon's
 * HTTP API through libsoup, and the simulator's JSON record read back for counting. The
 * paths of the programs come from meson in the environment: HEMGATED, HEMGATE_PLUGIN_HOST,
 * HEMGATE_PLUGINDIR, HEMGATE_ARC_SIM. */
#include <glib/gstdio.h>
#include <libsecret/secret.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "scaip-test.h"

static const gchar *
env (const gchar *name)
{
  const gchar *value = g_getenv (name);

  if (value == NULL)
    g_test_message ("%s is not set: run the test through meson", name);
  g_assert_nonnull (value);
  return value;
}

/* Waits for @process to exit, running the main context; kills it after @seconds. */
static void
wait_process (GSubprocess *process,
              guint seconds)
{
  gboolean exited = FALSE;

  g_subprocess_wait_async (process, NULL, hg_test_subprocess_exited_cb, &exited);
  if (!hg_test_try_wait_for (hg_test_flag_is_set, &exited, seconds))
    {
      g_test_message ("pid %s did not exit within %u s; killing it",
                      g_subprocess_get_identifier (process), seconds);
      g_subprocess_force_exit (process);
      while (!exited)
        g_main_context_iteration (NULL, TRUE);
    }
}

/* waiting */

/**
 * scaip_test_wait:
 * @condition: checked every 50 ms at most, while the main context runs
 * @data: for @condition
 * @what: said in the log and in the failure
 *
 * Fails the test if @condition is not met within %SCAIP_TEST_WAIT_SECONDS.
 */
void
scaip_test_wait (ScaipTestCondition condition,
                 gpointer data,
                 const gchar *what)
{
  g_test_message ("waiting for %s", what);
  if (!hg_test_try_wait_for (condition, data, SCAIP_TEST_WAIT_SECONDS))
    {
      g_test_message ("gave up waiting for %s", what);
      g_assert_true (condition (data));
    }
}

/* the simulator */

/**
 * scaip_test_sim_new:
 * @name: e.g. `primary`, for the log
 * @args: (nullable): more arguments for hemgate-arc-sim, e.g. `--password`, `x`
 *
 * Starts a simulated ARC on a free port of 127.0.0.1 and waits until it listens.
 *
 * Returns: (transfer full): the simulator
 */
ScaipTestSim *
scaip_test_sim_new (const gchar *name,
                    const gchar *const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *ready = NULL;
  ScaipTestSim *sim = g_new0 (ScaipTestSim, 1);
  g_autofree gchar *file = g_strdup_printf ("arc-%s-XXXXXX.jsonl", name);
  gint fd;

  sim->name = g_strdup (name);
  fd = g_file_open_tmp (file, &sim->record_path, &error);
  g_assert_no_error (error);
  close (fd);
  g_ptr_array_add (argv, (gpointer) env ("HEMGATE_ARC_SIM"));
  g_ptr_array_add (argv, (gpointer) "--record");
  g_ptr_array_add (argv, sim->record_path);
  for (guint i = 0; args != NULL && args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, hg_test_die_with_parent, NULL, NULL);
  sim->process = g_subprocess_launcher_spawnv (launcher, (const gchar *const *) argv->pdata,
                                               &error);
  g_assert_no_error (error);
  sim->control = g_subprocess_get_stdin_pipe (sim->process);
  sim->output = g_data_input_stream_new (g_subprocess_get_stdout_pipe (sim->process));
  ready = hg_test_read_line (sim->output);
  g_assert_nonnull (ready);
  g_assert_true (g_str_has_prefix (ready, "READY "));
  sim->port = (guint) g_ascii_strtoull (ready + 6, NULL, 10);
  g_assert_cmpuint (sim->port, >, 0);
  g_test_message ("ARC simulator %s on port %u", name, sim->port);
  return sim;
}

/* Sends a control command and waits for its "OK". */
void
scaip_test_sim_command (ScaipTestSim *sim,
                        const gchar *command)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *line = g_strdup_printf ("%s\n", command);
  g_autofree gchar *expected = g_strdup_printf ("OK %s", command);
  g_autofree gchar *answer = NULL;

  g_test_message ("ARC simulator %s: %s", sim->name, command);
  g_output_stream_write_all (sim->control, line, strlen (line), NULL, NULL, &error);
  g_assert_no_error (error);
  answer = hg_test_read_line (sim->output);
  g_assert_cmpstr (answer, ==, expected);
}

/* Returns: (transfer full): e.g. sip:arc@127.0.0.1:5071;transport=tcp */
gchar *
scaip_test_sim_uri (ScaipTestSim *sim,
                    const gchar *transport)
{
  return g_strdup_printf ("sip:arc@127.0.0.1:%u;transport=%s", sim->port, transport);
}

/* Returns: (transfer container) (element-type JsonObject): every <mrq> recorded so far */
GPtrArray *
scaip_test_sim_records (ScaipTestSim *sim)
{
  g_autofree gchar *data = NULL;
  g_auto(GStrv) lines = NULL;
  GPtrArray *records = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);

  if (!g_file_get_contents (sim->record_path, &data, NULL, NULL))
    return records;
  lines = g_strsplit (data, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new_immutable ();
      JsonNode *root;

      /* the last line may still be being written */
      if (lines[i][0] == '\0' || !json_parser_load_from_data (parser, lines[i], -1, NULL))
        continue;
      root = json_parser_get_root (parser);
      if (JSON_NODE_HOLDS_OBJECT (root))
        g_ptr_array_add (records, json_object_ref (json_node_get_object (root)));
    }
  return records;
}

static gboolean
record_matches (JsonObject *record,
                const gchar *ref,
                const gchar *mty)
{
  return (ref == NULL || g_strcmp0 (json_object_get_string_member (record, "ref"), ref) == 0)
         && (mty == NULL || g_strcmp0 (json_object_get_string_member (record, "mty"), mty) == 0);
}

/* Returns: how many <mrq> of @ref (any if %NULL) and @mty (any if %NULL) arrived */
guint
scaip_test_sim_count (ScaipTestSim *sim,
                      const gchar *ref,
                      const gchar *mty)
{
  g_autoptr(GPtrArray) records = scaip_test_sim_records (sim);
  guint n = 0;

  for (guint i = 0; i < records->len; i++)
    n += record_matches (g_ptr_array_index (records, i), ref, mty) ? 1 : 0;
  return n;
}

/* Returns: the de-duplicated count: how many different refs of @mty arrived */
guint
scaip_test_sim_distinct (ScaipTestSim *sim,
                         const gchar *mty)
{
  g_autoptr(GPtrArray) records = scaip_test_sim_records (sim);
  g_autoptr(GHashTable) refs = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < records->len; i++)
    {
      JsonObject *record = g_ptr_array_index (records, i);
      if (record_matches (record, NULL, mty))
        g_hash_table_add (refs, (gpointer) json_object_get_string_member (record, "ref"));
    }
  return g_hash_table_size (refs);
}

/* Returns: the simulator's sequence number of the first <mrq> of @ref, or -1 */
gint64
scaip_test_sim_first_seq (ScaipTestSim *sim,
                          const gchar *ref,
                          const gchar *mty)
{
  g_autoptr(GPtrArray) records = scaip_test_sim_records (sim);

  for (guint i = 0; i < records->len; i++)
    {
      JsonObject *record = g_ptr_array_index (records, i);
      if (record_matches (record, ref, mty))
        return json_object_get_int_member (record, "seq");
    }
  return -1;
}

typedef struct
{
  ScaipTestSim *sim;
  const gchar *ref;
  const gchar *mty;
  guint count;
} CountCondition;

static gboolean
count_reached (gpointer data)
{
  CountCondition *condition = data;

  return scaip_test_sim_count (condition->sim, condition->ref, condition->mty) >= condition->count;
}

void
scaip_test_wait_sim_count (ScaipTestSim *sim,
                           const gchar *ref,
                           const gchar *mty,
                           guint count)
{
  CountCondition condition = { sim, ref, mty, count };
  g_autofree gchar *what
      = g_strdup_printf ("%u <mrq> %s of %s at the %s ARC", count, mty != NULL ? mty : "(any)",
                         ref != NULL ? ref : "(any ref)", sim->name);

  scaip_test_wait (count_reached, &condition, what);
}

void
scaip_test_sim_free (ScaipTestSim *sim)
{
  g_autoptr(GError) error = NULL;

  /* a stopped simulator (SIGSTOP) cannot read "quit" */
  g_subprocess_send_signal (sim->process, SIGCONT);
  g_output_stream_write_all (sim->control, "quit\n", 5, NULL, NULL, NULL);
  g_output_stream_close (sim->control, NULL, NULL);
  wait_process (sim->process, 5);
  g_clear_object (&sim->output);
  g_clear_object (&sim->process);
  g_remove (sim->record_path);
  g_free (sim->record_path);
  g_free (sim->name);
  g_free (sim);
}

/* the gateway */

static void read_log_line (ScaipTestGateway *gateway);

static void
log_line_cb (GObject *source,
             GAsyncResult *result,
             gpointer user_data)
{
  ScaipTestGateway *gateway;
  g_autoptr(GError) error = NULL;
  gchar *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                           NULL, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  gateway = user_data;
  if (line == NULL)
    return;
  g_printerr ("hemgated: %s\n", line);
  g_ptr_array_add (gateway->lines, line);
  read_log_line (gateway);
}

static void
read_log_line (ScaipTestGateway *gateway)
{
  g_data_input_stream_read_line_async (gateway->log, G_PRIORITY_DEFAULT, gateway->cancellable,
                                       log_line_cb, gateway);
}

/* Returns: how many lines hemgated (or its plugin host) logged containing @needle */
guint
scaip_test_gateway_count_logged (ScaipTestGateway *gateway,
                                 const gchar *needle)
{
  guint n = 0;

  for (guint i = 0; i < gateway->lines->len; i++)
    {
      if (strstr (g_ptr_array_index (gateway->lines, i), needle) != NULL)
        n++;
    }
  return n;
}

gboolean
scaip_test_gateway_logged (ScaipTestGateway *gateway,
                           const gchar *needle)
{
  return scaip_test_gateway_count_logged (gateway, needle) > 0;
}

typedef struct
{
  ScaipTestGateway *gateway;
  const gchar *needle;
  guint count;
} LogCondition;

static gboolean
log_reached (gpointer data)
{
  LogCondition *condition = data;

  return scaip_test_gateway_count_logged (condition->gateway, condition->needle)
         >= condition->count;
}

/* Waits until @needle was logged @count times in all. */
void
scaip_test_gateway_wait_logged_count (ScaipTestGateway *gateway,
                                      const gchar *needle,
                                      guint count)
{
  LogCondition condition = { gateway, needle, count };
  g_autofree gchar *what = g_strdup_printf ("the log line “%s” (%u times)", needle, count);

  scaip_test_wait (log_reached, &condition, what);
}

void
scaip_test_gateway_wait_logged (ScaipTestGateway *gateway,
                                const gchar *needle)
{
  scaip_test_gateway_wait_logged_count (gateway, needle, 1);
}

static gboolean
has_url (gpointer data)
{
  ScaipTestGateway *gateway = data;

  for (guint i = 0; gateway->url == NULL && i < gateway->lines->len; i++)
    {
      const gchar *at = strstr (g_ptr_array_index (gateway->lines, i), "API listening on ");
      if (at != NULL)
        gateway->url = g_strstrip (g_strdup (at + strlen ("API listening on ")));
    }
  return gateway->url != NULL;
}

/* "[plugin:<id>] enabled = false" for every instance of the demo configuration, which the
 * tests' configuration is laid over: only the test's own instance runs. */
static gchar *
demo_instances_off (void)
{
  g_autoptr(GKeyFile) demo = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) groups = NULL;
  GString *off = g_string_new (NULL);

  g_key_file_load_from_file (demo, env ("HEMGATE_DEMO_CONF"), G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  groups = g_key_file_get_groups (demo, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      if (g_str_has_prefix (groups[i], "plugin:"))
        g_string_append_printf (off, "[%s]\nenabled = false\n", groups[i]);
    }
  return g_string_free (off, FALSE);
}

/**
 * scaip_test_gateway_new:
 * @instance_keys: the plugin's own keys for the instance `arc`, one `key = value` a line
 *
 * Writes a configuration in a fresh directory (demo users, API on a free port of
 * 127.0.0.1, the built plugins) with one scaip-alarm instance; does not start it.
 *
 * Returns: (transfer full): the gateway
 */
ScaipTestGateway *
scaip_test_gateway_new (const gchar *instance_keys)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *config = NULL;
  g_autofree gchar *off = demo_instances_off ();
  ScaipTestGateway *gateway = g_new0 (ScaipTestGateway, 1);

  gateway->dir = g_dir_make_tmp ("hemgate-scaip-XXXXXX", &error);
  g_assert_no_error (error);
  gateway->config_path = g_build_filename (gateway->dir, "hemgate.conf", NULL);
  gateway->lines = g_ptr_array_new_with_free_func (g_free);
  gateway->environment = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  gateway->session = soup_session_new_with_options ("timeout", 60, "proxy-resolver", NULL, NULL);
  /* layered over the demo configuration: its own instances are switched off */
  config = g_strdup_printf ("[daemon]\n"
                            "state-dir = %s/state\n"
                            "[api]\n"
                            "listen-address = 127.0.0.1\n"
                            "port = 0\n"
                            "tls = false\n"
                            "[plugins]\n"
                            "directory = %s\n"
                            "host = %s\n"
                            "watchdog-interval = 2\n"
                            "watchdog-timeout = 5\n"
                            "restart-max-delay = 2\n"
                            /* the tests store secrets in the keyring of run-with-keyring.sh */
                            "[secrets]\n"
                            "service = session\n"
                            "%s"
                            "[plugin:" SCAIP_TEST_INSTANCE "]\n"
                            "plugin = scaip-alarm\n"
                            "domain = municipal\n"
                            "%s\n",
                            gateway->dir, env ("HEMGATE_PLUGINDIR"), env ("HEMGATE_PLUGIN_HOST"),
                            off, instance_keys);
  g_file_set_contents (gateway->config_path, config, -1, &error);
  g_assert_no_error (error);
  return gateway;
}

/**
 * scaip_test_gateway_setenv:
 * @gateway: a gateway
 * @name: an environment variable
 * @value: its value
 *
 * Sets @name for hemgated from its next start on; its plugin hosts inherit it.
 */
void
scaip_test_gateway_setenv (ScaipTestGateway *gateway,
                           const gchar *name,
                           const gchar *value)
{
  g_hash_table_replace (gateway->environment, g_strdup (name), g_strdup (value));
}

/* scaip_test_gateway_new () and scaip_test_gateway_start () in one, for cases that need
 * nothing set in between. */
ScaipTestGateway *
scaip_test_gateway_new_started (const gchar *instance_keys)
{
  ScaipTestGateway *gateway = scaip_test_gateway_new (instance_keys);

  scaip_test_gateway_start (gateway);
  return gateway;
}

/* Starts hemgated (again, in the same state directory) and logs in as staff. */
void
scaip_test_gateway_start (ScaipTestGateway *gateway)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDERR_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) login = NULL;
  const gchar *token = NULL;
  GHashTableIter iter;
  const gchar *name;
  const gchar *value;

  g_assert_null (gateway->process);
  g_clear_pointer (&gateway->url, g_free);
  g_ptr_array_set_size (gateway->lines, 0);
  g_subprocess_launcher_set_child_setup (launcher, hg_test_die_with_parent, NULL, NULL);
  g_subprocess_launcher_setenv (launcher, "HEMGATE_DEMO_PASSWORD", SCAIP_TEST_USER_PASSWORD, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "HEMGATE_PLUGINDIR");
  g_subprocess_launcher_unsetenv (launcher, "HEMGATE_PLUGIN_HOST");
  g_hash_table_iter_init (&iter, gateway->environment);
  while (g_hash_table_iter_next (&iter, (gpointer *)&name, (gpointer *)&value))
    g_subprocess_launcher_setenv (launcher, name, value, TRUE);
  gateway->process = g_subprocess_launcher_spawn (launcher, &error, env ("HEMGATED"), "--demo",
                                                  "--config", gateway->config_path, NULL);
  g_assert_no_error (error);
  gateway->cancellable = g_cancellable_new ();
  gateway->log = g_data_input_stream_new (g_subprocess_get_stderr_pipe (gateway->process));
  read_log_line (gateway);
  scaip_test_wait (has_url, gateway, "hemgated's API");
  g_test_message ("hemgated at %s", gateway->url);

  g_clear_pointer (&gateway->token, g_free);
  login = scaip_test_gateway_request (
      gateway, "POST", "/api/v1/auth/login",
      "{\"username\":\"staff\",\"password\":\"" SCAIP_TEST_USER_PASSWORD "\"}", SOUP_STATUS_OK);
  g_assert_true (json_object_has_member (login, "token"));
  token = json_object_get_string_member (login, "token");
  gateway->token = g_strdup (token);
}

static void
gateway_reap (ScaipTestGateway *gateway)
{
  wait_process (gateway->process, 10);
  g_cancellable_cancel (gateway->cancellable);
  g_clear_object (&gateway->log);
  g_clear_object (&gateway->process);
  g_clear_object (&gateway->cancellable);
}

/* kill -9 of hemgated; its plugin hosts die with it (PR_SET_PDEATHSIG). */
void
scaip_test_gateway_kill (ScaipTestGateway *gateway)
{
  g_assert_nonnull (gateway->process);
  g_subprocess_force_exit (gateway->process);
  gateway_reap (gateway);
}

void
scaip_test_gateway_free (ScaipTestGateway *gateway)
{
  if (gateway->process != NULL)
    {
      /* its log keeps being drained while it stops */
      g_subprocess_send_signal (gateway->process, SIGTERM);
      gateway_reap (gateway);
    }
  g_clear_object (&gateway->session);
  hg_test_rm_rf (gateway->dir);
  g_free (gateway->dir);
  g_free (gateway->config_path);
  g_ptr_array_unref (gateway->lines);
  g_hash_table_unref (gateway->environment);
  g_free (gateway->url);
  g_free (gateway->token);
  g_free (gateway);
}

/**
 * scaip_test_gateway_request:
 * @gateway: a started gateway
 * @method: `GET` or `POST`
 * @path: e.g. `/api/v1/alarms`
 * @body: (nullable): a JSON body
 * @expected_status: the status the test requires
 *
 * Returns: (transfer full): the JSON answer
 */
JsonObject *
scaip_test_gateway_request (ScaipTestGateway *gateway,
                            const gchar *method,
                            const gchar *path,
                            const gchar *body,
                            guint expected_status)
{
  g_autofree gchar *uri = g_strconcat (gateway->url, path, NULL);
  g_autoptr(SoupMessage) msg = hg_test_http_message_new (method, uri, gateway->token, body);
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  JsonNode *root;

  answer = soup_session_send_and_read (gateway->session, msg, NULL, &error);
  g_assert_no_error (error);
  if (soup_message_get_status (msg) != expected_status)
    g_test_message ("%s %s: %u %.*s", method, path, soup_message_get_status (msg),
                    (int) g_bytes_get_size (answer),
                    (const gchar *) g_bytes_get_data (answer, NULL));
  g_assert_cmpuint (soup_message_get_status (msg), ==, expected_status);
  json_parser_load_from_data (parser, g_bytes_get_data (answer, NULL),
                              (gssize) g_bytes_get_size (answer), &error);
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return json_object_ref (json_node_get_object (root));
}

/* POST /api/v1/alarms; returns the reference. */
gchar *
scaip_test_gateway_raise (ScaipTestGateway *gateway,
                          const gchar *type,
                          const gchar *location)
{
  g_autofree gchar *body = g_strdup_printf (
      "{\"type\":\"%s\",\"location\":\"%s\",\"source\":\"test\"}", type, location);
  g_autoptr(JsonObject) alarm
      = scaip_test_gateway_request (gateway, "POST", "/api/v1/alarms", body, SOUP_STATUS_CREATED);

  g_test_message ("raised %s alarm %s", type, json_object_get_string_member (alarm, "ref"));
  return g_strdup (json_object_get_string_member (alarm, "ref"));
}

gchar *
scaip_test_gateway_alarm_state (ScaipTestGateway *gateway,
                                const gchar *ref)
{
  g_autofree gchar *path = g_strdup_printf ("/api/v1/alarms/%s", ref);
  g_autoptr(JsonObject) alarm
      = scaip_test_gateway_request (gateway, "GET", path, NULL, SOUP_STATUS_OK);

  return g_strdup (json_object_get_string_member (alarm, "state"));
}

/**
 * scaip_test_gateway_scaip_ref:
 * @gateway: a started gateway
 * @ref: an alarm's reference
 *
 * Returns: (transfer full) (nullable): the SCAIP ref the plugin journaled for the alarm
 *   (`detail.delivery.scaip-ref` of its record), %NULL while it has none
 */
gchar *
scaip_test_gateway_scaip_ref (ScaipTestGateway *gateway, const gchar *ref)
{
  g_autofree gchar *path = g_strdup_printf ("/api/v1/alarms/%s", ref);
  g_autoptr(JsonObject) alarm
      = scaip_test_gateway_request (gateway, "GET", path, NULL, SOUP_STATUS_OK);
  JsonObject *detail = json_object_get_object_member (alarm, "detail");
  JsonObject *delivery;

  if (detail == NULL || !json_object_has_member (detail, "delivery"))
    return NULL;
  delivery = json_object_get_object_member (detail, "delivery");
  return g_strdup (json_object_get_string_member_with_default (delivery, "scaip-ref", NULL));
}

typedef struct
{
  ScaipTestGateway *gateway;
  const gchar *ref;
  const gchar *scaip_ref;
} ScaipRefCondition;

static gboolean
scaip_ref_journaled (gpointer data)
{
  ScaipRefCondition *condition = data;
  g_autofree gchar *scaip_ref = scaip_test_gateway_scaip_ref (condition->gateway, condition->ref);

  return g_strcmp0 (scaip_ref, condition->scaip_ref) == 0;
}

/* Waits until the alarm @ref's record names @scaip_ref as its SCAIP ref. */
void
scaip_test_gateway_wait_scaip_ref (ScaipTestGateway *gateway,
                                   const gchar *ref,
                                   const gchar *scaip_ref)
{
  ScaipRefCondition condition = { gateway, ref, scaip_ref };
  g_autofree gchar *what = g_strdup_printf ("alarm %s journaled with SCAIP ref %s", ref, scaip_ref);

  scaip_test_wait (scaip_ref_journaled, &condition, what);
}

typedef struct
{
  ScaipTestGateway *gateway;
  const gchar *ref;
  const gchar *state;
  gint64 next_poll;
  gboolean reached;
} StateCondition;

static gboolean
state_reached (gpointer data)
{
  StateCondition *condition = data;
  g_autofree gchar *state = NULL;

  /* the API is asked at most every 100 ms */
  if (condition->reached || g_get_monotonic_time () < condition->next_poll)
    return condition->reached;
  condition->next_poll = g_get_monotonic_time () + 100 * 1000;
  state = scaip_test_gateway_alarm_state (condition->gateway, condition->ref);
  condition->reached = g_strcmp0 (state, condition->state) == 0;
  return condition->reached;
}

void
scaip_test_gateway_wait_state (ScaipTestGateway *gateway,
                               const gchar *ref,
                               const gchar *state)
{
  StateCondition condition = { gateway, ref, state, 0, FALSE };
  g_autofree gchar *what
      = g_strdup_printf ("alarm %s %s in GET /api/v1/alarms/%s", ref, state, ref);

  scaip_test_wait (state_reached, &condition, what);
}

/**
 * scaip_test_gateway_count_alarms:
 * @gateway: a started gateway
 * @type: an alarm type, e.g. `technical`
 * @device: (nullable): only alarms naming this device; %NULL for any
 * @first_ref: (out) (optional) (nullable): the reference of the first one, if still %NULL
 *
 * Returns: how many alarms of @type GET /api/v1/alarms lists
 */
guint
scaip_test_gateway_count_alarms (ScaipTestGateway *gateway,
                                 const gchar *type,
                                 const gchar *device,
                                 gchar **first_ref)
{
  g_autoptr(JsonObject) answer
      = scaip_test_gateway_request (gateway, "GET", "/api/v1/alarms", NULL, SOUP_STATUS_OK);
  JsonArray *alarms = json_object_get_array_member (answer, "alarms");
  guint n = 0;

  for (guint i = 0; i < json_array_get_length (alarms); i++)
    {
      JsonObject *alarm = json_array_get_object_element (alarms, i);

      if (g_strcmp0 (json_object_get_string_member (alarm, "type"), type) != 0
          || (device != NULL
              && g_strcmp0 (json_object_get_string_member_with_default (alarm, "device", ""),
                            device)
                     != 0))
        continue;
      n++;
      if (first_ref != NULL && *first_ref == NULL)
        *first_ref = g_strdup (json_object_get_string_member (alarm, "ref"));
    }
  return n;
}

/* Returns: (transfer full) (nullable): the first journaled event of @type about @ref */
JsonObject *
scaip_test_gateway_find_event (ScaipTestGateway *gateway,
                               const gchar *type,
                               const gchar *ref)
{
  guint64 after = 0;

  for (;;)
    {
      g_autofree gchar *path
          = g_strdup_printf ("/api/v1/events?after=%" G_GUINT64_FORMAT "&limit=1000", after);
      g_autoptr(JsonObject) answer
          = scaip_test_gateway_request (gateway, "GET", path, NULL, SOUP_STATUS_OK);
      JsonArray *events = json_object_get_array_member (answer, "events");
      guint n = json_array_get_length (events);

      for (guint i = 0; i < n; i++)
        {
          JsonObject *event = json_array_get_object_element (events, i);
          JsonObject *body = json_object_get_object_member (event, "body");

          after = MAX (after, (guint64) json_object_get_int_member (event, "seq"));
          if (g_strcmp0 (json_object_get_string_member (event, "type"), type) == 0 && body != NULL
              && g_strcmp0 (json_object_get_string_member_with_default (body, "ref", ""), ref) == 0)
            return json_object_ref (event);
        }
      if (n == 0)
        return NULL;
    }
}

/* Returns: the pid of the test instance's plugin host, or 0 while it has none */
gint64
scaip_test_gateway_host_pid (ScaipTestGateway *gateway)
{
  g_autoptr(JsonObject) answer
      = scaip_test_gateway_request (gateway, "GET", "/api/v1/plugins", NULL, SOUP_STATUS_OK);
  JsonArray *plugins = json_object_get_array_member (answer, "plugins");

  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *plugin = json_array_get_object_element (plugins, i);

      if (g_strcmp0 (json_object_get_string_member (plugin, "id"), SCAIP_TEST_INSTANCE) != 0)
        continue;
      if (g_strcmp0 (json_object_get_string_member (plugin, "state"), "running") != 0
          || json_object_get_null_member (plugin, "pid"))
        return 0;
      return json_object_get_int_member (plugin, "pid");
    }
  return 0;
}

/* Returns: (nullable): the plugin's own report in GET /api/v1/health (README, "Health"),
 *   or %NULL before its first */
JsonObject *
scaip_test_gateway_health_report (ScaipTestGateway *gateway)
{
  g_autoptr(JsonObject) health
      = scaip_test_gateway_request (gateway, "GET", "/api/v1/health", NULL, SOUP_STATUS_OK);
  JsonArray *plugins = json_object_get_array_member (health, "plugins");

  for (guint i = 0; plugins != NULL && i < json_array_get_length (plugins); i++)
    {
      JsonObject *plugin = json_array_get_object_element (plugins, i);
      JsonNode *node = json_object_get_member (plugin, "health");

      if (g_strcmp0 (json_object_get_string_member (plugin, "id"), SCAIP_TEST_INSTANCE) != 0
          || node == NULL || JSON_NODE_HOLDS_NULL (node))
        continue;
      return json_object_ref (
          json_object_get_object_member (json_node_get_object (node), "report"));
    }
  return NULL;
}

/* Stores a secret as the core would for the instance (the org.hemgate.Secret schema,
 * hemgated's on-disk contract), in the test's private keyring. */
void
scaip_test_store_secret (const gchar *instance,
                         const gchar *key,
                         const gchar *value)
{
  static const SecretSchema schema = {
    "org.hemgate.Secret",
    SECRET_SCHEMA_NONE,
    {
        { "domain", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { "owner", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { "key", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { NULL, 0 },
    },
  };
  g_autofree gchar *owner = g_strdup_printf ("plugin:%s", instance);
  g_autoptr(GError) error = NULL;

  secret_password_store_sync (&schema, SECRET_COLLECTION_DEFAULT, "hemgate test secret", value,
                              NULL, &error, "domain", "municipal", "owner", owner, "key", key,
                              NULL);
  g_assert_no_error (error);
}

/* Whether @data (a #ScaipTestGateway) runs a plugin host; for scaip_test_wait (). */
gboolean
scaip_test_host_running (gpointer data)
{
  return scaip_test_gateway_host_pid (data) != 0;
}

/* Whether the gateway of @data (a #ScaipTestHostCondition) runs a plugin host other than
 * the old one; for scaip_test_wait (). */
gboolean
scaip_test_host_replaced (gpointer data)
{
  ScaipTestHostCondition *condition = data;
  gint64 pid = scaip_test_gateway_host_pid (condition->gateway);

  return pid != 0 && pid != condition->old_pid;
}

/* sipp */

/**
 * scaip_test_sipp_new:
 *
 * A sipp for a case: a working directory of its own for its logs and a free UDP port
 * of 127.0.0.1, not running yet.
 *
 * Returns: (transfer full): the sipp
 */
ScaipTestSipp *
scaip_test_sipp_new (void)
{
  g_autoptr(GError) error = NULL;
  ScaipTestSipp *sipp = g_new0 (ScaipTestSipp, 1);

  sipp->dir = g_dir_make_tmp ("hemgate-sipp-XXXXXX", &error);
  g_assert_no_error (error);
  sipp->port = g_strdup_printf ("%u", hg_test_free_udp_port ());
  sipp->log_path = g_build_filename (sipp->dir, "actions.log", NULL);
  sipp->messages_path = g_build_filename (sipp->dir, "messages.log", NULL);
  return sipp;
}

/**
 * scaip_test_sipp_start:
 * @sipp: a sipp that is not running
 * @scenario: a file of tests/sipp/
 * @extra: (nullable): arguments after the common ones
 *
 * Runs @scenario over UDP on 127.0.0.1, without stdin, its <log> lines in log_path and
 * every SIP message traced into messages_path (appended to, across runs of one sipp).
 */
void
scaip_test_sipp_start (ScaipTestSipp *sipp,
                       const gchar *scenario,
                       const gchar *const *extra)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocessLauncher) launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  const gchar *common[] = { "-i", "127.0.0.1", "-p", sipp->port, "-t", "u1", "-nostdin",
                            "-trace_logs", "-log_file", sipp->log_path, "-trace_msg",
                            "-message_file", sipp->messages_path, NULL };

  g_ptr_array_add (args, g_strdup (env ("SIPP")));
  g_ptr_array_add (args, g_strdup ("-sf"));
  g_ptr_array_add (args, g_test_build_filename (G_TEST_DIST, "sipp", scenario, NULL));
  for (guint i = 0; common[i] != NULL; i++)
    g_ptr_array_add (args, g_strdup (common[i]));
  for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
    g_ptr_array_add (args, g_strdup (extra[i]));
  g_ptr_array_add (args, NULL);
  g_subprocess_launcher_set_cwd (launcher, sipp->dir);
  g_subprocess_launcher_set_child_setup (launcher, hg_test_die_with_parent, NULL, NULL);
  sipp->exited = FALSE;
  g_clear_object (&sipp->process);
  sipp->process
      = g_subprocess_launcher_spawnv (launcher, (const gchar *const *)args->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_wait_async (sipp->process, NULL, hg_test_subprocess_exited_cb, &sipp->exited);
}

/* Waits for sipp to end by itself; returns its exit status. */
gint
scaip_test_sipp_wait (ScaipTestSipp *sipp)
{
  scaip_test_wait (hg_test_flag_is_set, &sipp->exited, "sipp to exit");
  g_assert_true (g_subprocess_get_if_exited (sipp->process));
  return g_subprocess_get_exit_status (sipp->process);
}

/* Ends a sipp that runs with no call limit: SIGUSR1 is its graceful quit. */
void
scaip_test_sipp_stop (ScaipTestSipp *sipp)
{
  g_subprocess_send_signal (sipp->process, SIGUSR1);
  scaip_test_wait (hg_test_flag_is_set, &sipp->exited, "sipp to quit on SIGUSR1");
}

/* The receiver URI of the plugin's configuration for this sipp. */
gchar *
scaip_test_sipp_uri (ScaipTestSipp *sipp)
{
  return g_strdup_printf ("sip:arc@127.0.0.1:%s", sipp->port);
}

void
scaip_test_sipp_free (ScaipTestSipp *sipp)
{
  if (sipp->process != NULL && !sipp->exited)
    {
      g_subprocess_force_exit (sipp->process);
      scaip_test_wait (hg_test_flag_is_set, &sipp->exited, "sipp to be killed");
    }
  g_clear_object (&sipp->process);
  /* its working directory: logs, the tone, nothing else */
  hg_test_rm_rf (sipp->dir);
  g_free (sipp->dir);
  g_free (sipp->port);
  g_free (sipp->log_path);
  g_free (sipp->messages_path);
  g_free (sipp);
}
