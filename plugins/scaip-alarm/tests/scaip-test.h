/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the scaip-alarm end-to-end tests share: the ARC simulator as a child process, a
 * real hemgated (with its real plugin host) as another, spoken to over its HTTP API, and
 * waiting for conditions with generous limits. A plugin's tests use no hgd_ symbol. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "hg-test-http.h"
#include "hg-test-support.h"

G_BEGIN_DECLS

/* Far above what any condition needs; a case never asserts how long something took. */
#define SCAIP_TEST_WAIT_SECONDS 90

/* The password every demo user gets in the tests. */
#define SCAIP_TEST_USER_PASSWORD "scaip-test-passphrase"

/* The plugin instance the tests configure. */
#define SCAIP_TEST_INSTANCE "arc"

typedef struct
{
  gchar *name;              /* (owned) for messages */
  GSubprocess *process;     /* (owned) */
  GOutputStream *control;   /* (unowned) its stdin */
  GDataInputStream *output; /* (owned) its stdout: READY, OK lines */
  gchar *record_path;       /* (owned) */
  guint port;
} ScaipTestSim;

ScaipTestSim *scaip_test_sim_new (const gchar *name,
                                  const gchar *const *args);
void scaip_test_sim_free (ScaipTestSim *sim);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScaipTestSim, scaip_test_sim_free)
void scaip_test_sim_command (ScaipTestSim *sim,
                             const gchar *command);
gchar *scaip_test_sim_uri (ScaipTestSim *sim,
                           const gchar *transport);
GPtrArray *scaip_test_sim_records (ScaipTestSim *sim);
guint scaip_test_sim_count (ScaipTestSim *sim,
                            const gchar *ref,
                            const gchar *mty);
guint scaip_test_sim_distinct (ScaipTestSim *sim,
                               const gchar *mty);
gint64 scaip_test_sim_first_seq (ScaipTestSim *sim,
                                 const gchar *ref,
                                 const gchar *mty);

typedef struct
{
  gchar *dir;                /* (owned) config, state and logs; removed at the end */
  gchar *config_path;        /* (owned) */
  GSubprocess *process;      /* (owned) (nullable) while running */
  GDataInputStream *log;     /* (owned) (nullable) its stderr */
  GPtrArray *lines;          /* (owned) (element-type utf8) every line it logged */
  GCancellable *cancellable; /* (owned) the log reader */
  gchar *url;                /* (owned) (nullable) */
  SoupSession *session;      /* (owned) */
  gchar *token;              /* (owned) (nullable) staff */
  GHashTable *environment;   /* (owned) name → value, set for hemgated at each start */
} ScaipTestGateway;

ScaipTestGateway *scaip_test_gateway_new (const gchar *instance_keys);
void scaip_test_gateway_setenv (ScaipTestGateway *gateway,
                                const gchar *name,
                                const gchar *value);
void scaip_test_gateway_start (ScaipTestGateway *gateway);
ScaipTestGateway *scaip_test_gateway_new_started (const gchar *instance_keys);
void scaip_test_gateway_kill (ScaipTestGateway *gateway);
void scaip_test_gateway_free (ScaipTestGateway *gateway);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScaipTestGateway, scaip_test_gateway_free)
guint scaip_test_gateway_count_logged (ScaipTestGateway *gateway,
                                       const gchar *needle);
gboolean scaip_test_gateway_logged (ScaipTestGateway *gateway,
                                    const gchar *needle);
void scaip_test_gateway_wait_logged_count (ScaipTestGateway *gateway,
                                           const gchar *needle,
                                           guint count);
void scaip_test_gateway_wait_logged (ScaipTestGateway *gateway,
                                     const gchar *needle);
JsonObject *scaip_test_gateway_request (ScaipTestGateway *gateway,
                                        const gchar *method,
                                        const gchar *path,
                                        const gchar *body,
                                        guint expected_status);
gchar *scaip_test_gateway_raise (ScaipTestGateway *gateway,
                                 const gchar *type,
                                 const gchar *location);
gchar *scaip_test_gateway_alarm_state (ScaipTestGateway *gateway,
                                       const gchar *ref);
void scaip_test_gateway_wait_state (ScaipTestGateway *gateway,
                                    const gchar *ref,
                                    const gchar *state);
gchar *scaip_test_gateway_scaip_ref (ScaipTestGateway *gateway, const gchar *ref);
void scaip_test_gateway_wait_scaip_ref (ScaipTestGateway *gateway,
                                        const gchar *ref,
                                        const gchar *scaip_ref);
guint scaip_test_gateway_count_alarms (ScaipTestGateway *gateway,
                                       const gchar *type,
                                       const gchar *device,
                                       gchar **first_ref);
JsonObject *scaip_test_gateway_find_event (ScaipTestGateway *gateway,
                                           const gchar *type,
                                           const gchar *ref);
gint64 scaip_test_gateway_host_pid (ScaipTestGateway *gateway);
JsonObject *scaip_test_gateway_health_report (ScaipTestGateway *gateway);

typedef HgTestCondition ScaipTestCondition;

void scaip_test_wait (ScaipTestCondition condition,
                      gpointer data,
                      const gchar *what);
void scaip_test_wait_sim_count (ScaipTestSim *sim,
                                const gchar *ref,
                                const gchar *mty,
                                guint count);
void scaip_test_store_secret (const gchar *instance,
                              const gchar *key,
                              const gchar *value);

typedef struct
{
  ScaipTestGateway *gateway; /* (unowned) */
  gint64 old_pid;            /* its plugin host before */
} ScaipTestHostCondition;

gboolean scaip_test_host_running (gpointer data);
gboolean scaip_test_host_replaced (gpointer data);

/* sipp as the ARC, in a working directory of its own that also holds its logs; the
 * program is $SIPP. */
typedef struct
{
  gchar *dir;           /* (owned) its working directory, removed by free */
  gchar *port;          /* (owned) its SIP port on 127.0.0.1 */
  gchar *log_path;      /* (owned) the scenario's <log> lines */
  gchar *messages_path; /* (owned) every SIP message, -trace_msg */
  GSubprocess *process; /* (owned) (nullable) */
  gboolean exited;
} ScaipTestSipp;

ScaipTestSipp *scaip_test_sipp_new (void);
void scaip_test_sipp_start (ScaipTestSipp *sipp,
                            const gchar *scenario,
                            const gchar *const *extra);
gint scaip_test_sipp_wait (ScaipTestSipp *sipp);
void scaip_test_sipp_stop (ScaipTestSipp *sipp);
gchar *scaip_test_sipp_uri (ScaipTestSipp *sipp);
void scaip_test_sipp_free (ScaipTestSipp *sipp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScaipTestSipp, scaip_test_sipp_free)

G_END_DECLS
