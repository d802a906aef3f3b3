/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdApi: the HTTP API under /api/v1, the events WebSocket and /metrics. One route table,
 * one dispatcher: it finds the route, authenticates, authorizes the caller's role and
 * parses the JSON body before any handler runs; handlers see only validated requests. */
#include "config.h"

/* The core is one static library; the API logs in its own domain. */
#undef G_LOG_DOMAIN
#define G_LOG_DOMAIN "hemgated-api"

#include <errno.h>
#include <ftw.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <errno.h>

#include "hgd-api-private.h"
#include "hgd-api-resources.h"
#include "hgd-bundle.h"
#include "hgd-bundles.h"
#include "hgd-grants.h"
#include "hgd-json-check.h"
#include "hgd-oidc.h"
#include "hgd-own-alarms.h"
#include "hgd-sandbox.h"
#include "hgd-tls.h"
#include "hgd-ui-resources.h"

#define SESSION_COOKIE "hemgate_session"
#define MAX_TOKEN_LENGTH 512
#define MAX_NAME_LENGTH 128
#define MAX_PARAM_LENGTH 128
#define EVENTS_DEFAULT_LIMIT 100
#define EVENTS_MAX_LIMIT 1000
#define READINGS_DEFAULT_LIMIT 1000
#define READINGS_MAX_LIMIT 10000
#define VISITS_DEFAULT_LIMIT 50
#define VISITS_MAX_LIMIT 500
#define READINGS_DEFAULT_SINCE (G_GINT64_CONSTANT (24) * 3600 * G_USEC_PER_SEC)
#define USEC_PER_HOUR (G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC)
#define REPLAY_BATCH 500
#define STREAM_RECHECK_SECONDS 10
#define OIDC_REFRESH_CHECK_SECONDS 5  /* how often sessions from the provider are looked at */
#define OIDC_REFRESH_AHEAD_SECONDS 60 /* and renewed when they have less left than this */
#define STREAM_KEEPALIVE_SECONDS 30
/* A client's frame on the events WebSocket: a channel message and its envelope */
#define STREAM_MAX_INCOMING (HG_CONTEXT_CHANNEL_MAX_MESSAGE + 1024)
#define LOGIN_MAX_BODY 4096
#define OIDC_LOGOUT_MAX_BODY 16384
#define N_STATUS 600
#define DESCRIPTOR_RESERVE 256 /* descriptors kept for all but API connections */
#define LINGER_SECONDS 2       /* how long a refused request's body is drained before close */
#define LINGER_MAX_BYTES (G_GINT64_CONSTANT (1024) * 1024)
#define STATUS_TOO_MANY_REQUESTS 429 /* not in libsoup 3.2's SoupStatus */

struct _HgdApi
{
  GObject parent_instance;
  HgdConfig *config;                      /* (owned) */
  gchar *state_dir;                       /* (owned) */
  HgdJournal *journals[HG_DOMAIN_LAST];   /* (owned) (nullable) when it failed to open */
  GError *journal_errors[HG_DOMAIN_LAST]; /* (owned) (nullable) why */
  HgdAccounts *accounts;                  /* (owned) */
  HgdAccessLog *access_log;               /* (owned) */
  HgdAlarms *alarms;                      /* (owned) */
  HgdGrants *grants;                      /* (owned) the resident's consent grants */
  HgdPluginManager *plugins;              /* (owned) */
  HgdSecrets *secrets;                    /* (owned) (nullable) */
  HgdOidc *oidc;                          /* (owned) the identity provider's relying party */
  gchar *oidc_unreachable;                /* (owned) (nullable) why the provider failed last */
  guint break_glass_logins;               /* local municipal logins while [oidc] is set */
  guint refresh_id;                       /* renews the provider's sessions */
  GHashTable *refreshing;                 /* (owned) ids of sessions being renewed now */
  gint64 last_break_glass;                /* real time of the last, usec */
  gint64 start_time;                      /* when the daemon started */
  SoupServer *server;        /* (owned) (nullable) until listening */
  GCancellable *cancellable; /* (owned) cancelled in dispose */
  gchar *url;                /* (owned) (nullable) until listening */
  gboolean tls;
  gsize max_body;            /* [api] max-body-bytes */
  GHashTable *pending;       /* (owned) paused HgdApiRequest*, each holding a ref */
  GPtrArray *streams;        /* (owned) EventStream*: open event WebSockets */
  guint recheck_id;          /* re-checks the sessions of open streams */
  guint64 requests[N_STATUS]; /* answered requests per HTTP status, for /metrics */
  guint64 aborted;           /* requests whose client left before the answer */
  guint request_timeout;     /* [api] request-timeout, seconds */
  guint max_connections;     /* [api] max-connections */
  GHashTable *connections;   /* (owned) GSocket* (weak) of each open connection */
  guint keep_alive_timeout;  /* [api] keep-alive-timeout, seconds; 0: one request each */
  GHashTable *kept;          /* (owned) GSocket* (weak) -> KeepAlive* (owned), see there */
  guint64 timed_out;         /* connections closed for a request that did not arrive */
  guint64 refused;           /* connections closed at once: max-connections reached */
  GInetAddress *listen_address; /* (owned) (nullable) until listening */
  gchar **host_names;        /* (owned) [api] host-names */
  GPtrArray *trusted_proxies; /* (owned) GInetAddressMask*: [api] trusted-proxies */
};

G_DEFINE_TYPE (HgdApi, hgd_api, G_TYPE_OBJECT)

/* One request from the dispatcher to its answer; outlives a paused handler. */
struct _HgdApiRequest
{
  grefcount ref;
  HgdApi *api;              /* (unowned) (nullable): NULL once the API is disposed */
  SoupServerMessage *msg;   /* (owned) */
  const HgdApiRoute *route;
  GPtrArray *params;        /* (owned) path parameters, in pattern order */
  GHashTable *query;        /* (owned) (nullable) decoded query parameters */
  HgdSession *session;      /* (owned) (nullable) the caller, if authenticated */
  gchar *token;             /* (owned) (nullable) the caller's token; never logged */
  gboolean cookie_auth;     /* the token came from the session cookie */
  JsonObject *body;         /* (owned) (nullable) the parsed request body */
  GHashTable *form;         /* (owned) (nullable) the decoded form body (HGD_API_BODY_FORM) */
  GObject *data;            /* (owned) (nullable) what a paused handler waits on */
  const gchar *personal_read; /* (nullable) what of the personal domain's data a handler
                               * served a caller of another domain (a static string, e.g.
                               * "sensors"): the request is logged in the personal domain's
                               * access log when it ends with a success */
  gchar *personal_read_owned; /* (owned) (nullable) what @personal_read points to when it
                               * was built (request_note_personal_read ()) */
  gulong finished_id;
  gboolean finished;        /* the message is done (answered or client gone) */
};

static GQuark quark_start;
static GQuark quark_route;
static GQuark quark_body_size;
static GQuark quark_stream;
static GQuark quark_socket_fixed;
static GQuark quark_deadline;

/* Handlers, in route-table order; defined below. */
static void handle_login (HgdApi *self, HgdApiRequest *req);
static void handle_logout (HgdApi *self, HgdApiRequest *req);
static void handle_session (HgdApi *self, HgdApiRequest *req);
static void handle_oidc_info (HgdApi *self, HgdApiRequest *req);
static void handle_oidc_login (HgdApi *self, HgdApiRequest *req);
static void handle_oidc_callback (HgdApi *self, HgdApiRequest *req);
static void handle_oidc_backchannel_logout (HgdApi *self, HgdApiRequest *req);
static void handle_oidc_device (HgdApi *self, HgdApiRequest *req);
static void handle_oidc_device_token (HgdApi *self, HgdApiRequest *req);
static void handle_health (HgdApi *self, HgdApiRequest *req);
static void handle_openapi (HgdApi *self, HgdApiRequest *req);
static void handle_metrics (HgdApi *self, HgdApiRequest *req);
static void handle_events (HgdApi *self, HgdApiRequest *req);
static void handle_plugins_list (HgdApi *self, HgdApiRequest *req);
static void handle_plugin_restart (HgdApi *self, HgdApiRequest *req);
static void handle_bundles_list (HgdApi *self, HgdApiRequest *req);
static void handle_bundles_install (HgdApi *self, HgdApiRequest *req);
static void handle_bundle_job (HgdApi *self, HgdApiRequest *req);
static void handle_bundle_remove (HgdApi *self, HgdApiRequest *req);
static void handle_bundle_keys_list (HgdApi *self, HgdApiRequest *req);
static void handle_bundle_keys_add (HgdApi *self, HgdApiRequest *req);
static void handle_bundle_key_revoke (HgdApi *self, HgdApiRequest *req);
static void handle_alarm_delivery_get (HgdApi *self, HgdApiRequest *req);
static void handle_alarm_delivery_set (HgdApi *self, HgdApiRequest *req);
static void handle_plugin_disable (HgdApi *self, HgdApiRequest *req);
static void handle_plugin_enable (HgdApi *self, HgdApiRequest *req);
static void handle_users_list (HgdApi *self, HgdApiRequest *req);
static void handle_users_create (HgdApi *self, HgdApiRequest *req);
static void handle_user_password (HgdApi *self, HgdApiRequest *req);
static void handle_user_sessions_revoke (HgdApi *self, HgdApiRequest *req);
static void handle_alarms_raise (HgdApi *self, HgdApiRequest *req);
static void handle_alarms_list (HgdApi *self, HgdApiRequest *req);
static void handle_alarm_get (HgdApi *self, HgdApiRequest *req);
static void handle_alarm_transition (HgdApi *self, HgdApiRequest *req);
static void handle_sensors_list (HgdApi *self, HgdApiRequest *req);
static void handle_sensor_history (HgdApi *self, HgdApiRequest *req);
static void handle_sensor_activity (HgdApi *self, HgdApiRequest *req);
static void handle_visits_list (HgdApi *self, HgdApiRequest *req);
static void handle_grants_list (HgdApi *self, HgdApiRequest *req);
static void handle_grants_make (HgdApi *self, HgdApiRequest *req);
static void handle_grant_revoke (HgdApi *self, HgdApiRequest *req);
static void handle_access_log (HgdApi *self, HgdApiRequest *req);
static void handle_access_log_verify (HgdApi *self, HgdApiRequest *req);
static void handle_personal_export (HgdApi *self, HgdApiRequest *req);
static void handle_personal_erase (HgdApi *self, HgdApiRequest *req);
static void handle_secrets_list (HgdApi *self, HgdApiRequest *req);
static void handle_secret_set (HgdApi *self, HgdApiRequest *req);
static void handle_secret_delete (HgdApi *self, HgdApiRequest *req);
static void handle_tls_install (HgdApi *self, HgdApiRequest *req);
static void handle_ui_index (HgdApi *self, HgdApiRequest *req);
static void handle_ui_file (HgdApi *self, HgdApiRequest *req);
static void close_ended_streams (HgdApi *self);

#define R(role) HGD_ROLE_BIT (HGD_ROLE_##role)
#define ANY HGD_ROLES_ALL
/* all who use the home's data: everyone but the auditor */
#define HOME (HGD_ROLES_ALL & ~R (AUDITOR))
/* the municipal roles that run the service */
#define OPS (R (STAFF) | R (IT_ADMIN) | R (SERVICE))
/* the resident and their legal representative */
#define KEEPER (R (RESIDENT) | R (GUARDIAN))

/*
 * The route table: the only place a route and its rules are written. The dispatcher
 * checks who may call before the handler runs; a handler never looks at the caller's
 * role itself, only at whether the route serves the caller its limited form (`ltd`
 * below, the route's `limited` roles; request_is_limited ()). tests/test-api.c checks
 * every route x role against its own copy of this table, and data/openapi.json states
 * who may call as `x-roles`. Columns: anonymous, resident, family, staff, it-admin, service,
 * guardian, auditor.
 *
 *   route                                    anon resident family staff it-admin service guardian auditor
 *   POST   /api/v1/auth/login                yes  yes      yes    yes   yes      yes     yes      yes
 *   POST   /api/v1/auth/logout               -    yes      yes    yes   yes      yes     yes      yes
 *   GET    /api/v1/auth/session              -    yes      yes    yes   yes      yes     yes      yes
 *   GET    /api/v1/auth/oidc                 yes  yes      yes    yes   yes      yes     yes      yes  (p)
 *   GET    /api/v1/auth/oidc/login           yes  yes      yes    yes   yes      yes     yes      yes  (p)
 *   GET    /api/v1/auth/oidc/callback        yes  yes      yes    yes   yes      yes     yes      yes  (p)
 *   POST   /api/v1/auth/oidc/backchannel-logout yes yes   yes    yes   yes      yes     yes      yes  (p)
 *   POST   /api/v1/auth/oidc/device          yes  yes      yes    yes   yes      yes     yes      yes  (p)
 *   POST   /api/v1/auth/oidc/device/token    yes  yes      yes    yes   yes      yes     yes      yes  (p)
 *   GET    /api/v1/health                    yes  ltd      ltd    yes   yes      yes     ltd      ltd  (a)
 *   GET    /api/v1/openapi.json              yes  yes      yes    yes   yes      yes     yes      yes
 *   GET    /metrics                          -    -        -      -     yes      yes     -        -
 *   GET    /api/v1/events (and WebSocket)    -    yes      yes    yes   yes      yes     yes      -    (b)
 *   GET    /api/v1/plugins                   -    -        -      yes   yes      yes     -        -
 *   POST   /api/v1/plugins/{id}/restart      -    -        -      -     yes      -       -        -
 *   POST   /api/v1/plugins/{id}/disable      -    -        -      -     yes      -       -        -    (h)
 *   POST   /api/v1/plugins/{id}/enable       -    -        -      -     yes      -       -        -    (h)
 *   GET    /api/v1/users                     -    ltd      -      -     yes      -       ltd      -    (c)
 *   POST   /api/v1/users                     -    ltd      -      -     yes      -       ltd      -    (c)
 *   POST   /api/v1/users/{username}/password -    ltd      -      -     yes      -       ltd      -    (c)
 *   DELETE /api/v1/users/{username}/sessions -    ltd      -      -     yes      -       ltd      -    (c)
 *   POST   /api/v1/alarms                    -    ltd      ltd    yes   yes      yes     ltd      -    (d)
 *   GET    /api/v1/alarms                    -    ltd      ltd    yes   yes      yes     ltd      -    (d)
 *   GET    /api/v1/alarms/{ref}              -    ltd      ltd    yes   yes      yes     ltd      -    (d)
 *   POST   /api/v1/alarms/{ref}/transitions  -    ltd      ltd    yes   yes      yes     ltd      -    (e)
 *   GET    /api/v1/sensors                   -    yes      yes    yes   yes      yes     yes      -    (f)
 *   GET    /api/v1/sensors/{device}/history  -    yes      yes    yes   yes      yes     yes      -    (f)
 *   GET    /api/v1/sensors/{device}/activity -    yes      yes    yes   yes      yes     yes      -    (f)
 *   GET    /api/v1/visits                    -    yes      -      yes   -        -       yes      -    (r)
 *   GET    /api/v1/grants                    -    yes      ltd    ltd   -        -       yes      -    (i)
 *   POST   /api/v1/grants                    -    yes      -      -     -        -       yes      -    (i)
 *   DELETE /api/v1/grants/{id}               -    yes      -      -     -        -       yes      -    (i)
 *   GET    /api/v1/access-log                -    yes      -      -     -        -       yes      yes  (j)
 *   GET    /api/v1/access-log/verify         -    yes      -      -     -        -       yes      yes  (j)
 *   GET    /api/v1/personal/export           -    yes      -      -     -        -       yes      -    (k)
 *   POST   /api/v1/personal/erase            -    yes      -      -     -        -       yes      -    (l)
 *   GET    /api/v1/secrets                   -    yes      -      -     yes      -       yes      -    (m)
 *   PUT    /api/v1/secrets/{owner}/{key}     -    yes      -      -     yes      -       yes      -    (m)
 *   DELETE /api/v1/secrets/{owner}/{key}     -    yes      -      -     yes      -       yes      -    (m)
 *   PUT    /api/v1/tls/certificate           -    -        -      -     yes      -       -        -    (n)
 *   GET    /api/v1/bundles                   -    yes      -      -     yes      -       yes      -    (o)
 *   POST   /api/v1/bundles                   -    yes      -      -     yes      -       yes      -    (o)
 *   GET    /api/v1/bundles/jobs/{id}         -    yes      -      -     yes      -       yes      -    (o)
 *   DELETE /api/v1/bundles/{id}              -    yes      -      -     yes      -       yes      -    (o)
 *   GET    /api/v1/bundles/keys              -    yes      -      -     yes      -       yes      -    (o)
 *   POST   /api/v1/bundles/keys              -    yes      -      -     yes      -       yes      -    (o)
 *   POST   /api/v1/bundles/keys/{id}/revoke  -    yes      -      -     yes      -       yes      -    (o)
 *   GET    /api/v1/alarm-delivery            -    -        -      -     yes      -       -        -    (q)
 *   PUT    /api/v1/alarm-delivery            -    -        -      -     yes      -       -        -    (q)
 *   GET    /                                 yes  yes      yes    yes   yes      yes     yes      yes  (g)
 *   GET    /ui/{file}                        yes  yes      yes    yes   yes      yes     yes      yes  (g)
 *
 * The guardian (personal) is the resident's legal representative and may do what the
 * resident may, with the resident's limited forms; the auditor (municipal) reads the
 * municipal side of the access log and nothing of the home: no events, alarms, sensors,
 * plugins or users, and health in its limited form.
 *
 * (a) anonymous callers get only {"status"}; the limited form (personal roles, auditor)
 *     also the subsystem states; the full form also fault messages, plugins (a municipal
 *     instance's own health report included, see hg_context_report_health ()), version
 *     and uptime. Of the personal domain's plugin instances (the resident's own devices)
 *     municipal roles see only how many there are and whether they run, here, in
 *     /api/v1/plugins and in /metrics (hgd_plugin_manager_to_json_for_domain ()), and no
 *     count of its events.
 * (b) events of the caller's domain only: resident, family, guardian -> personal journal;
 *     staff, it-admin, service -> municipal journal.
 * (c) each manager sees and manages only the users of their own domain: the full form
 *     (it-admin) all of them (staff, it-admin, service, auditor), the limited form (the
 *     resident, the guardian) only the family, and sees themselves. The resident's and
 *     the guardian's accounts are made on the gateway (hemgatectl users add).
 * (d) alarms are municipal records, but the resident must see where their call for
 *     help stands: the limited form (personal roles) shows every alarm of the home
 *     without `detail` and without a source naming another user; family only under a
 *     family-access grant naming them (else 403 no-grant). The `detail` of an alarm the
 *     home's own devices raised (a personal-domain plugin) is personal: staff see it
 *     only under a share-alarms grant of its type, the other municipal roles never.
 * (e) the caller's kind in the alarm life cycle's table (hgd-alarm-lifecycle.c) is
 *     resident in the limited form, else staff: a resident (or guardian) may only move an
 *     alarm to `cancelled`, and the limited form acts only on an alarm its caller raised
 *     or the home's devices (a plugin) raised, never a technical one, and answers as (d);
 *     family may act only under a family-access grant with `act` naming them (else 403
 *     no-grant), and then also on alarms the home's other users raised.
 * (f) the `sensor.reading` events of the caller's domain only, as (b): the municipality's
 *     sensors for staff, it-admin and service; the resident's own for the personal roles.
 *     Staff also see a personal device's readings from the start of an active
 *     share-readings grant naming it (in the list, the history and live on the events
 *     stream, not in a replay), marked `"domain": "personal"`; activity stays per domain.
 * (g) the web UI (ui/, compiled into a GResource): its page and static files, the same
 *     for everyone; what it shows comes from the routes above, with the caller's rules.
 *     The UI routes with `#/...`, so any other path stays a JSON 404.
 * (h) a disabled instance stays stopped across restarts of the daemon until enabled;
 *     disabling the last running alarm delivery plugin makes health report a fault.
 * (i) consent grants (hgd-grants.c): the resident and the guardian make, list and revoke
 *     them; the limited form lists a family member the grants to them, staff the grants
 *     to the municipality. What a grant lets through is decided in hgd_grants_allows ()
 *     alone, which the handlers and the event fan-out ask.
 * (j) the access log of the caller's domain (HgdAccessLog): the resident (and guardian)
 *     read the personal one, who looked at their data, the auditor the municipal one;
 *     staff, it-admin, service and family read neither.
 * (k) everything the personal domain holds, as one JSON document (a download): the
 *     personal journal's events, the devices as (f), the personal plugin instances, the
 *     personal domain's accounts (names, roles, created: never a hash or a token), its
 *     secrets' owners and keys (never a value), its grants and its access log (j). Built
 *     as text one batch of events at a time. Only the resident and their guardian: family
 *     members see the home, they do not take its records away, and no municipal role
 *     ever sees it.
 * (l) erases the personal domain, with `{"confirm": "erase-personal-data"}`: the personal
 *     journal in place (hgd_journal_erase ()), the personal plugins' state
 *     (<state-dir>/personal/plugins), the plugins installed from bundles in the personal
 *     domain and the keys it trusts (hgd_bundles_erase_domain ()), the personal domain's
 *     secrets and the family
 *     accounts, and with the journal every grant (withdrawn at once); the personal access
 *     log stays (who looked, and this erasure, recorded there as `erase`). The caller
 *     stays logged in, the resident's and the guardian's accounts stay, every other
 *     session of theirs ends; the personal plugin hosts restart. The municipal domain is
 *     untouched but for one `personal.erased` event {"by", "role", "at"} in its journal:
 *     who erased, and when, nothing of what.
 * (m) the secrets of the caller's domain (HgdSecrets), never a value: the it-admin lists
 *     and manages the municipal ones (owner `core`, the gateway's own, and `plugin:<id>` of
 *     a municipal instance), the resident and the guardian the personal ones (`plugin:<id>`
 *     of a personal instance). An owner of the other domain is 403, but a personal instance
 *     is unknown (404) to the it-admin, as (a). A value is text (UTF-8, no control
 *     characters but tab and line breaks, 1 to 32 KiB), as `value` or `value_base64`. Every
 *     set and delete is journaled (`secret.set`, `secret.deleted` {"owner", "key", "by"},
 *     with "by_name" and "by_issuer" for a staff member from the identity provider)
 *     in the caller's domain, and in the personal access log when personal; the instance
 *     is told (HgContext::secret-changed) and needs no restart.
 * (n) installs the certificate IT provides for the API, `{"certificate_base64",
 *     "key_base64"}` (PEM chain and key): checked (the key is the certificate's, valid
 *     now), the key stored as the secret `core`/`tls-key`, the chain in
 *     <state-dir>/tls/hemgate.crt, and used for every new connection without a restart;
 *     journaled as `tls.certificate-installed` {"subject", "not_after", "by"}. 409 when
 *     the configuration names the certificate ([api] tls-certificate) or TLS is off.
 * (o) plugin bundles (hgd-bundles.c), always in the caller's own domain: it-admin installs,
 *     upgrades and removes the municipal domain's and sets the keys it trusts; the
 *     resident (and guardian) the personal domain's. A job, a key or a bundle of the other
 *     domain is not found. POST /api/v1/bundles takes the bundle's bytes, up to its own
 *     limit (HGD_BUNDLE_MAX_SIZE), not [api] max-body-bytes.
 * (q) which alarm delivery instance takes new alarms when providers run side by side
 *     (hgd-alarm-routing.c): {"delivery", "technical_delivery"} over hemgate.conf's
 *     [alarms]; a switch leaves each alarm on its way with the instance it went to, and
 *     is journaled as `alarms.delivery-changed`. A name must be a delivery instance.
 * (r) the records of the home's care visits and night checks, newest first: the
 *     `visit.ended` events a plugin with visit.publish journaled in the municipal journal
 *     (webrtc-visit), and of their bodies only `call`, `kind`, `staff`, `answered_by`,
 *     `started`, `seconds`, `outcome` and `video`; no other municipal event crosses. The resident
 *     and the guardian read them (every call and check about their home), staff too; each
 *     read is in the access log of the other domain: the home's in the municipal one
 *     (`read.municipal`, object `visits`), staff's in the personal one (`read.personal`).
 * (p) staff and IT log in with the municipality's identity provider (OpenID Connect,
 *     hgd-oidc.c, [oidc]): `oidc` says whether one is configured and its name, `login`
 *     sends the browser there (302), `callback` is where it comes back and opens the
 *     gateway's own session (cookie and token, the role from the provider's claims,
 *     municipal roles only, ending no later than the ID token), `backchannel-logout` is
 *     where the provider ends a user's sessions (a signed logout token); `device` and
 *     `device/token` are the same login for a client without a browser (hemgatectl over
 *     SSH: RFC 8628, the user enters a code at the provider). Without [oidc] all but the
 *     first answer 404 oidc-not-configured. Every refusal is in the municipal
 *     access log as `login.failed` or `logout.refused`.
 */
static const HgdApiRoute routes[] = {
  { "POST", "/api/v1/auth/login", HGD_API_PUBLIC, 0, HGD_API_BODY_JSON, LOGIN_MAX_BODY,
    handle_login },
  { "POST", "/api/v1/auth/logout", ANY, 0, HGD_API_BODY_NONE, 0, handle_logout },
  { "GET", "/api/v1/auth/session", ANY, 0, HGD_API_BODY_NONE, 0, handle_session },
  { "GET", "/api/v1/auth/oidc", HGD_API_PUBLIC, 0, HGD_API_BODY_NONE, 0, handle_oidc_info },
  { "GET", "/api/v1/auth/oidc/login", HGD_API_PUBLIC, 0, HGD_API_BODY_NONE, 0,
    handle_oidc_login },
  { "GET", "/api/v1/auth/oidc/callback", HGD_API_PUBLIC, 0, HGD_API_BODY_NONE, 0,
    handle_oidc_callback },
  { "POST", "/api/v1/auth/oidc/backchannel-logout", HGD_API_PUBLIC, 0, HGD_API_BODY_FORM,
    OIDC_LOGOUT_MAX_BODY, handle_oidc_backchannel_logout },
  { "POST", "/api/v1/auth/oidc/device", HGD_API_PUBLIC, 0, HGD_API_BODY_NONE, 0,
    handle_oidc_device },
  { "POST", "/api/v1/auth/oidc/device/token", HGD_API_PUBLIC, 0, HGD_API_BODY_JSON, LOGIN_MAX_BODY,
    handle_oidc_device_token },
  { "GET", "/api/v1/health", HGD_API_PUBLIC, HGD_ROLES_PERSONAL | R (AUDITOR), HGD_API_BODY_NONE,
    0, handle_health },
  { "GET", "/api/v1/openapi.json", HGD_API_PUBLIC, 0, HGD_API_BODY_NONE, 0, handle_openapi },
  { "GET", "/metrics", R (IT_ADMIN) | R (SERVICE), 0, HGD_API_BODY_NONE, 0, handle_metrics },
  { "GET", "/api/v1/events", HOME, 0, HGD_API_BODY_NONE, 0, handle_events },
  { "GET", "/api/v1/plugins", OPS, 0, HGD_API_BODY_NONE, 0, handle_plugins_list },
  { "POST", "/api/v1/plugins/{id}/restart", R (IT_ADMIN), 0, HGD_API_BODY_NONE, 0,
    handle_plugin_restart },
  { "POST", "/api/v1/plugins/{id}/disable", R (IT_ADMIN), 0, HGD_API_BODY_NONE, 0,
    handle_plugin_disable },
  { "POST", "/api/v1/plugins/{id}/enable", R (IT_ADMIN), 0, HGD_API_BODY_NONE, 0,
    handle_plugin_enable },
  { "GET", "/api/v1/users", KEEPER | R (IT_ADMIN), KEEPER, HGD_API_BODY_NONE, 0,
    handle_users_list },
  { "POST", "/api/v1/users", KEEPER | R (IT_ADMIN), KEEPER, HGD_API_BODY_JSON, 0,
    handle_users_create },
  { "POST", "/api/v1/users/{username}/password", KEEPER | R (IT_ADMIN), KEEPER, HGD_API_BODY_JSON,
    0, handle_user_password },
  { "DELETE", "/api/v1/users/{username}/sessions", KEEPER | R (IT_ADMIN), KEEPER,
    HGD_API_BODY_NONE, 0, handle_user_sessions_revoke },
  { "POST", "/api/v1/alarms", HOME, HGD_ROLES_PERSONAL, HGD_API_BODY_JSON, 0,
    handle_alarms_raise },
  { "GET", "/api/v1/alarms", HOME, HGD_ROLES_PERSONAL, HGD_API_BODY_NONE, 0, handle_alarms_list },
  { "GET", "/api/v1/alarms/{ref}", HOME, HGD_ROLES_PERSONAL, HGD_API_BODY_NONE, 0,
    handle_alarm_get },
  { "POST", "/api/v1/alarms/{ref}/transitions", KEEPER | R (FAMILY) | OPS, KEEPER | R (FAMILY),
    HGD_API_BODY_JSON, 0, handle_alarm_transition },
  { "GET", "/api/v1/sensors", HOME, 0, HGD_API_BODY_NONE, 0, handle_sensors_list },
  { "GET", "/api/v1/sensors/{device}/history", HOME, 0, HGD_API_BODY_NONE, 0,
    handle_sensor_history },
  { "GET", "/api/v1/sensors/{device}/activity", HOME, 0, HGD_API_BODY_NONE, 0,
    handle_sensor_activity },
  /* (r) the records of the home's care visits and night checks */
  { "GET", "/api/v1/visits", KEEPER | R (STAFF), 0, HGD_API_BODY_NONE, 0, handle_visits_list },
  { "GET", "/api/v1/grants", KEEPER | R (FAMILY) | R (STAFF), R (FAMILY) | R (STAFF),
    HGD_API_BODY_NONE, 0, handle_grants_list },
  { "POST", "/api/v1/grants", KEEPER, 0, HGD_API_BODY_JSON, 0, handle_grants_make },
  { "DELETE", "/api/v1/grants/{id}", KEEPER, 0, HGD_API_BODY_NONE, 0, handle_grant_revoke },
  { "GET", "/api/v1/access-log", KEEPER | R (AUDITOR), 0, HGD_API_BODY_NONE,
    0, handle_access_log },
  { "GET", "/api/v1/access-log/verify", KEEPER | R (AUDITOR), 0,
    HGD_API_BODY_NONE, 0, handle_access_log_verify },
  { "GET", "/api/v1/personal/export", KEEPER, 0, HGD_API_BODY_NONE, 0,
    handle_personal_export },
  { "POST", "/api/v1/personal/erase", KEEPER, 0, HGD_API_BODY_JSON, 0,
    handle_personal_erase },
  { "GET", "/api/v1/secrets", KEEPER | R (IT_ADMIN), 0, HGD_API_BODY_NONE, 0,
    handle_secrets_list },
  { "PUT", "/api/v1/secrets/{owner}/{key}", KEEPER | R (IT_ADMIN), 0, HGD_API_BODY_JSON, 0,
    handle_secret_set },
  { "DELETE", "/api/v1/secrets/{owner}/{key}", KEEPER | R (IT_ADMIN), 0, HGD_API_BODY_NONE, 0,
    handle_secret_delete },
  { "PUT", "/api/v1/tls/certificate", R (IT_ADMIN), 0, HGD_API_BODY_JSON, 0, handle_tls_install },
  /* (o) plugin bundles and the keys trusted to sign them, in the caller's domain */
  { "GET", "/api/v1/bundles", R (IT_ADMIN) | KEEPER, 0, HGD_API_BODY_NONE, 0,
    handle_bundles_list },
  { "POST", "/api/v1/bundles", R (IT_ADMIN) | KEEPER, 0, HGD_API_BODY_BYTES, HGD_BUNDLE_MAX_SIZE,
    handle_bundles_install },
  { "GET", "/api/v1/bundles/jobs/{id}", R (IT_ADMIN) | KEEPER, 0, HGD_API_BODY_NONE, 0,
    handle_bundle_job },
  { "DELETE", "/api/v1/bundles/{id}", R (IT_ADMIN) | KEEPER, 0, HGD_API_BODY_NONE, 0,
    handle_bundle_remove },
  { "GET", "/api/v1/bundles/keys", R (IT_ADMIN) | KEEPER, 0, HGD_API_BODY_NONE, 0,
    handle_bundle_keys_list },
  { "POST", "/api/v1/bundles/keys", R (IT_ADMIN) | KEEPER, 0, HGD_API_BODY_JSON, 0,
    handle_bundle_keys_add },
  { "POST", "/api/v1/bundles/keys/{id}/revoke", R (IT_ADMIN) | KEEPER, 0, HGD_API_BODY_NONE, 0,
    handle_bundle_key_revoke },
  /* (q) which provider's delivery instance takes new alarms */
  { "GET", "/api/v1/alarm-delivery", R (IT_ADMIN), 0, HGD_API_BODY_NONE, 0,
    handle_alarm_delivery_get },
  { "PUT", "/api/v1/alarm-delivery", R (IT_ADMIN), 0, HGD_API_BODY_JSON, 0,
    handle_alarm_delivery_set },
  { "GET", "/", HGD_API_PUBLIC, 0, HGD_API_BODY_NONE, 0, handle_ui_index },
  { "GET", "/ui/{file}", HGD_API_PUBLIC, 0, HGD_API_BODY_NONE, 0, handle_ui_file },
};

#undef R
#undef ANY
#undef HOME
#undef OPS
#undef KEEPER

/* Routes ------------------------------------------------------------------------------ */

/**
 * hgd_api_get_routes:
 * @n_routes: (out): the number of routes
 *
 * Returns: (array length=n_routes): the route table
 */
const HgdApiRoute *
hgd_api_get_routes (gsize *n_routes)
{
  g_return_val_if_fail (n_routes != NULL, NULL);
  *n_routes = G_N_ELEMENTS (routes);
  return routes;
}

/* Matches @path against @pattern; `{name}` matches one non-empty path segment. */
static gboolean
match_pattern (const gchar *pattern,
               const gchar *path,
               GPtrArray *params)
{
  const gchar *p = pattern;
  const gchar *s = path;

  while (*p != '\0')
    {
      if (*p == '{')
        {
          const gchar *end_p = strchr (p, '}');
          const gchar *end_s = strchrnul (s, '/');

          if (end_p == NULL || end_s == s)
            return FALSE;
          if (params != NULL)
            g_ptr_array_add (params, g_strndup (s, end_s - s));
          p = end_p + 1;
          s = end_s;
          continue;
        }
      if (*p != *s)
        return FALSE;
      p++;
      s++;
    }
  return *s == '\0';
}

/**
 * hgd_api_find_route:
 * @method: the request method
 * @path: the decoded request path
 * @params: (out) (optional) (transfer full): the path parameters of the route found
 * @path_exists: (out) (optional): whether some route has this path, with any method
 *
 * Returns: (nullable): the route for @method and @path
 */
const HgdApiRoute *
hgd_api_find_route (const gchar *method,
                    const gchar *path,
                    GPtrArray **params,
                    gboolean *path_exists)
{
  g_autoptr(GPtrArray) found_params = g_ptr_array_new_with_free_func (g_free);
  gboolean exists = FALSE;

  g_return_val_if_fail (method != NULL, NULL);
  g_return_val_if_fail (path != NULL, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      g_ptr_array_set_size (found_params, 0);
      if (!match_pattern (routes[i].pattern, path, found_params))
        continue;
      exists = TRUE;
      if (g_strcmp0 (routes[i].method, method) != 0)
        continue;
      if (path_exists != NULL)
        *path_exists = TRUE;
      if (params != NULL)
        *params = g_steal_pointer (&found_params);
      return &routes[i];
    }
  if (path_exists != NULL)
    *path_exists = exists;
  return NULL;
}

/* The methods some route accepts on @path, for the Allow header of a 405. */
static gchar *
allowed_methods (const gchar *path)
{
  g_autoptr(GString) allow = g_string_new (NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      if (!match_pattern (routes[i].pattern, path, NULL))
        continue;
      if (allow->len > 0)
        g_string_append (allow, ", ");
      g_string_append (allow, routes[i].method);
    }
  return g_string_free (g_steal_pointer (&allow), FALSE);
}

/**
 * hgd_api_roles_to_string:
 * @roles: a route's rule
 *
 * Returns: (transfer full): e.g. `public` or `resident,it-admin`, as in `x-roles`
 */
gchar *
hgd_api_roles_to_string (HgdRoleMask roles)
{
  g_autoptr(GString) str = g_string_new (NULL);

  if (roles & HGD_API_PUBLIC)
    return g_strdup ("public");
  for (guint i = 0; i < HGD_ROLE_LAST; i++)
    {
      if ((roles & HGD_ROLE_BIT (i)) == 0)
        continue;
      if (str->len > 0)
        g_string_append_c (str, ',');
      g_string_append (str, hgd_role_to_string ((HgdRole) i));
    }
  return g_string_free (g_steal_pointer (&str), FALSE);
}

static gsize
route_max_body (HgdApi *self,
                const HgdApiRoute *route)
{
  /* a bundle's size is its own limit, not that of the JSON bodies */
  if (route != NULL && route->body == HGD_API_BODY_BYTES)
    return route->max_body;
  if (route != NULL && route->max_body > 0)
    return MIN (route->max_body, self->max_body);
  return self->max_body;
}

/* Requests ---------------------------------------------------------------------------- */

static void
message_finished_cb (SoupServerMessage *msg,
                     gpointer user_data)
{
  HgdApiRequest *req = user_data;
  req->finished = TRUE;
}

static HgdApiRequest *
request_new (HgdApi *self,
             SoupServerMessage *msg,
             const HgdApiRoute *route,
             GPtrArray *params,
             GHashTable *query)
{
  HgdApiRequest *req = g_new0 (HgdApiRequest, 1);

  g_ref_count_init (&req->ref);
  req->api = self;
  req->msg = g_object_ref (msg);
  req->route = route;
  req->params = params != NULL ? g_ptr_array_ref (params) : g_ptr_array_new_with_free_func (g_free);
  req->query = query != NULL ? g_hash_table_ref (query) : NULL;
  req->finished_id = g_signal_connect (msg, "finished", G_CALLBACK (message_finished_cb), req);
  return req;
}

static HgdApiRequest *
request_ref (HgdApiRequest *req)
{
  g_ref_count_inc (&req->ref);
  return req;
}

static void session_add_identity (HgdSession *session, JsonObject *object, const gchar *prefix);

/* A read of personal data by a caller of another domain, once it was answered. */
static void
request_log_personal_read (HgdApiRequest *req)
{
  g_autofree gchar *actor = NULL;
  g_autoptr(JsonObject) detail = NULL;

  if (req->personal_read == NULL || req->api == NULL || req->session == NULL ||
      !SOUP_STATUS_IS_SUCCESSFUL (soup_server_message_get_status (req->msg)))
    return;
  actor = g_strdup_printf ("user:%s", req->session->username);
  detail = json_object_new ();
  json_object_set_string_member (detail, "role", hgd_role_to_string (req->session->role));
  session_add_identity (req->session, detail, "");
  hgd_access_log_record (req->api->access_log, HG_DOMAIN_PERSONAL, actor, "read.personal",
                         req->personal_read, detail);
}

/* Notes that the handler served @what of the personal domain's data to a caller of
 * another domain; a request that served several things is logged once, as @several. */
static void
request_note_personal_read (HgdApiRequest *req,
                            const gchar *what,
                            const gchar *several)
{
  if (req->personal_read != NULL && g_strcmp0 (req->personal_read, what) != 0)
    {
      req->personal_read = several;
      return;
    }
  g_free (req->personal_read_owned);
  req->personal_read_owned = g_strdup (what);
  req->personal_read = req->personal_read_owned;
}

static void
request_unref (HgdApiRequest *req)
{
  if (!g_ref_count_dec (&req->ref))
    return;
  request_log_personal_read (req);
  g_free (req->personal_read_owned);
  g_clear_signal_handler (&req->finished_id, req->msg);
  g_object_unref (req->msg);
  g_ptr_array_unref (req->params);
  g_clear_pointer (&req->query, g_hash_table_unref);
  g_clear_pointer (&req->session, hgd_session_unref);
  g_free (req->token);
  g_clear_pointer (&req->body, json_object_unref);
  g_clear_pointer (&req->form, g_hash_table_unref);
  g_clear_object (&req->data);
  g_free (req);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgdApiRequest, request_unref)

static const gchar *
request_param (HgdApiRequest *req,
               guint index)
{
  g_return_val_if_fail (index < req->params->len, NULL);
  return g_ptr_array_index (req->params, index);
}

/* A handler that waits pauses the message; the API holds it until resumed. */
static void
request_pause (HgdApiRequest *req)
{
  soup_server_message_pause (req->msg);
  g_hash_table_add (req->api->pending, request_ref (req));
}

/* Called once the answer is set; a message whose client went away is only dropped. */
static void
request_resume (HgdApiRequest *req)
{
  if (!req->finished)
    soup_server_message_unpause (req->msg);
  if (req->api != NULL)
    g_hash_table_remove (req->api->pending, req);
}

/* Responses --------------------------------------------------------------------------- */

static void
respond_json (HgdApiRequest *req,
              guint status,
              JsonObject *object)
{
  g_autoptr(JsonObject) owned = object;
  gchar *text = hg_json_object_to_string (owned);

  soup_server_message_set_status (req->msg, status, NULL);
  soup_server_message_set_response (req->msg, "application/json", SOUP_MEMORY_TAKE, text,
                                    strlen (text));
}

static void
respond_empty (HgdApiRequest *req,
               guint status)
{
  soup_server_message_set_status (req->msg, status, NULL);
  soup_server_message_set_response (req->msg, NULL, SOUP_MEMORY_STATIC, NULL, 0);
}

/* @field: (nullable): the JSON Pointer of the request body's member at fault */
static void
set_error_response_full (SoupServerMessage *msg,
                         guint status,
                         const gchar *code,
                         const gchar *message,
                         const gchar *field)
{
  g_autoptr(JsonObject) object = json_object_new ();
  JsonObject *error = json_object_new ();
  gchar *text;

  json_object_set_string_member (error, "code", code);
  json_object_set_string_member (error, "message", message);
  if (field != NULL)
    json_object_set_string_member (error, "field", field);
  json_object_set_object_member (object, "error", error);
  text = hg_json_object_to_string (object);
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, text, strlen (text));
}

static void
set_error_response (SoupServerMessage *msg,
                    guint status,
                    const gchar *code,
                    const gchar *message)
{
  set_error_response_full (msg, status, code, message, NULL);
}

static void respond_error (HgdApiRequest *req,
                           guint status,
                           const gchar *code,
                           const gchar *format,
                           ...) G_GNUC_PRINTF (4, 5);

static void
respond_error (HgdApiRequest *req,
               guint status,
               const gchar *code,
               const gchar *format,
               ...)
{
  va_list args;
  g_autofree gchar *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  set_error_response (req->msg, status, code, message);
}

/* The one place a GError becomes an HTTP status and a stable `code`. */
static void
error_to_http (const GError *error,
               guint *status,
               const gchar **code)
{
  *status = SOUP_STATUS_INTERNAL_SERVER_ERROR;
  *code = "internal";

  if (error->domain == HG_ERROR)
    {
      switch ((HgError) error->code)
        {
        case HG_ERROR_INVALID_DATA:
          *status = SOUP_STATUS_BAD_REQUEST;
          *code = "invalid-request";
          break;
        case HG_ERROR_PERMISSION_DENIED:
          *status = SOUP_STATUS_FORBIDDEN;
          *code = "forbidden";
          break;
        case HG_ERROR_NOT_FOUND:
          *status = SOUP_STATUS_NOT_FOUND;
          *code = "not-found";
          break;
        case HG_ERROR_NOT_SUPPORTED:
          *status = SOUP_STATUS_NOT_IMPLEMENTED;
          *code = "not-supported";
          break;
        case HG_ERROR_UNAVAILABLE:
          *status = SOUP_STATUS_SERVICE_UNAVAILABLE;
          *code = "unavailable";
          break;
        case HG_ERROR_TIMED_OUT:
          *status = SOUP_STATUS_GATEWAY_TIMEOUT;
          *code = "timed-out";
          break;
        case HG_ERROR_ILLEGAL_TRANSITION:
          *status = SOUP_STATUS_CONFLICT;
          *code = "invalid-transition";
          break;
        case HG_ERROR_FAILED:
        case HG_ERROR_LAST:
        default:
          break;
        }
    }
  else if (error->domain == HGD_ALARMS_ERROR)
    {
      switch ((HgdAlarmsError) error->code)
        {
        case HGD_ALARMS_ERROR_KEY_IN_FLIGHT:
          *status = SOUP_STATUS_CONFLICT;
          *code = "idempotency-key-in-flight";
          break;
        case HGD_ALARMS_ERROR_KEY_REUSED:
          *status = SOUP_STATUS_UNPROCESSABLE_ENTITY;
          *code = "idempotency-key-reused";
          break;
        case HGD_ALARMS_ERROR_ILLEGAL_TRANSITION:
          *status = SOUP_STATUS_CONFLICT;
          *code = "invalid-transition";
          break;
        default:
          break;
        }
    }
  else if (error->domain == HGD_JOURNAL_ERROR)
    {
      switch ((HgdJournalError) error->code)
        {
        case HGD_JOURNAL_ERROR_CORRUPT:
        case HGD_JOURNAL_ERROR_DISK_FULL:
        case HGD_JOURNAL_ERROR_IO:
          *status = SOUP_STATUS_SERVICE_UNAVAILABLE;
          *code = "journal-unavailable";
          break;
        case HGD_JOURNAL_ERROR_NOT_FOUND:
          *status = SOUP_STATUS_NOT_FOUND;
          *code = "not-found";
          break;
        case HGD_JOURNAL_ERROR_INVALID:
          *status = SOUP_STATUS_CONFLICT;
          *code = "invalid-transition";
          break;
        default:
          break;
        }
    }
  else if (error->domain == HGD_ACCOUNTS_ERROR)
    {
      switch ((HgdAccountsError) error->code)
        {
        case HGD_ACCOUNTS_ERROR_INVALID:
          *status = SOUP_STATUS_BAD_REQUEST;
          *code = "invalid-request";
          break;
        case HGD_ACCOUNTS_ERROR_EXISTS:
          *status = SOUP_STATUS_CONFLICT;
          *code = "user-exists";
          break;
        case HGD_ACCOUNTS_ERROR_NOT_FOUND:
          *status = SOUP_STATUS_NOT_FOUND;
          *code = "not-found";
          break;
        case HGD_ACCOUNTS_ERROR_BAD_LOGIN:
          *status = SOUP_STATUS_UNAUTHORIZED;
          *code = "bad-login";
          break;
        case HGD_ACCOUNTS_ERROR_RATE_LIMITED:
          *status = STATUS_TOO_MANY_REQUESTS;
          *code = "rate-limited";
          break;
        case HGD_ACCOUNTS_ERROR_STORAGE:
          *status = SOUP_STATUS_SERVICE_UNAVAILABLE;
          *code = "accounts-unavailable";
          break;
        case HGD_ACCOUNTS_ERROR_WEAK_PASSWORD:
          *status = SOUP_STATUS_BAD_REQUEST;
          *code = "weak-password";
          break;
        case HGD_ACCOUNTS_ERROR_BUSY:
          *status = SOUP_STATUS_SERVICE_UNAVAILABLE;
          *code = "busy";
          break;
        default:
          break;
        }
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      *status = SOUP_STATUS_NOT_FOUND;
      *code = "not-found";
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED) ||
           g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BUSY))
    {
      *status = SOUP_STATUS_CONFLICT;
      *code = "conflict";
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT))
    {
      *status = SOUP_STATUS_BAD_REQUEST;
      *code = "invalid-request";
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      *status = SOUP_STATUS_SERVICE_UNAVAILABLE;
      *code = "shutting-down";
    }
}

/* Answers with @error; internal failures are logged here, where they end, and the
 * caller gets no detail of them. */
static void
respond_gerror (HgdApiRequest *req,
                const GError *error)
{
  guint status;
  const gchar *code;

  error_to_http (error, &status, &code);
  if (status == SOUP_STATUS_INTERNAL_SERVER_ERROR)
    {
      g_warning ("%s %s failed: %s", req->route->method, req->route->pattern, error->message);
      set_error_response (req->msg, status, code, "internal error");
      return;
    }
  set_error_response (req->msg, status, code, error->message);
}

static void
respond_invalid (HgdApiRequest *req,
                 const GError *error)
{
  set_error_response (req->msg, SOUP_STATUS_BAD_REQUEST, "invalid-request", error->message);
}

static void
respond_unauthenticated (SoupServerMessage *msg,
                         gboolean had_token)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  soup_message_headers_replace (headers, "WWW-Authenticate",
                                had_token ? "Bearer realm=\"hemgate\", error=\"invalid_token\""
                                          : "Bearer realm=\"hemgate\"");
  set_error_response (msg, SOUP_STATUS_UNAUTHORIZED, "unauthenticated",
                      had_token ? "the session token is invalid, expired or revoked"
                                : "this operation needs a session token");
}

static void
refuse_body (SoupServerMessage *msg,
             gsize limit)
{
  g_autofree gchar *message
      = g_strdup_printf ("the request body exceeds %" G_GSIZE_FORMAT " bytes", limit);
  SoupMessageBody *body = soup_server_message_get_request_body (msg);

  soup_message_body_set_accumulate (body, FALSE);
  soup_message_body_truncate (body);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                "close");
  set_error_response (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "payload-too-large", message);
}

/* Small helpers for answers -------------------------------------------------------------- */

static gchar *
iso8601_from_usec (gint64 usec)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);

  if (dt == NULL)
    return g_strdup ("");
  return g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ");
}

static HgDomain
request_domain (HgdApiRequest *req)
{
  return hgd_role_get_domain (req->session->role);
}

/* Whether the route serves the caller its limited form: its `limited` roles, as the notes
 * on the route table say. An anonymous caller of a public route is neither. */
static gboolean
request_is_limited (HgdApiRequest *req)
{
  return req->session != NULL && (req->route->limited & HGD_ROLE_BIT (req->session->role)) != 0;
}

static gchar *
request_who_session (HgdSession *session)
{
  return g_strdup_printf ("user:%s", session->username);
}

static gchar *
request_who (HgdApiRequest *req)
{
  return request_who_session (req->session);
}

/* Who the identity provider says @session's staff member is, beside the subject its
 * `user:oidc:<subject>` names: @prefix `name` and @prefix `issuer` in @object (e.g.
 * "name" and "issuer" in an access log entry's detail, "who_name" and "who_issuer" in an
 * alarm step). Nothing for a local login, whose user name is all there is. */
static void
session_add_identity (HgdSession *session,
                      JsonObject *object,
                      const gchar *prefix)
{
  g_autofree gchar *name = NULL;
  g_autofree gchar *issuer = NULL;

  if (session == NULL || session->issuer == NULL)
    return;
  name = g_strconcat (prefix, "name", NULL);
  issuer = g_strconcat (prefix, "issuer", NULL);
  if (session->display_name != NULL)
    json_object_set_string_member (object, name, session->display_name);
  json_object_set_string_member (object, issuer, session->issuer);
}

/* Path parameters name references and user names: short, printable, no separators. */
static gboolean
param_is_valid (const gchar *value)
{
  gsize len = value != NULL ? strlen (value) : 0;

  if (len == 0 || len > MAX_PARAM_LENGTH)
    return FALSE;
  for (const gchar *p = value; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.' && *p != ':' && *p != '@')
        return FALSE;
    }
  return TRUE;
}

static gboolean
check_query (HgdApiRequest *req,
             const gchar *const *allowed)
{
  GHashTableIter iter;
  const gchar *key;

  if (req->query == NULL)
    return TRUE;
  g_hash_table_iter_init (&iter, req->query);
  while (g_hash_table_iter_next (&iter, (gpointer *) &key, NULL))
    {
      if (!g_strv_contains (allowed, key))
        {
          respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid-request",
                         "unknown query parameter '%s'", key);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
query_get_uint64 (HgdApiRequest *req,
                  const gchar *name,
                  guint64 min,
                  guint64 max,
                  guint64 *value)
{
  const gchar *str = req->query != NULL ? g_hash_table_lookup (req->query, name) : NULL;
  g_autoptr(GError) error = NULL;

  if (str == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (str, 10, min, max, value, &error))
    {
      respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid-request", "query parameter '%s': %s",
                     name, error->message);
      return FALSE;
    }
  return TRUE;
}

/* The query parameter @name as an RFC 3339 time, in microseconds since the epoch; @value
 * is left as it is when the parameter is absent. */
static gboolean
query_get_time (HgdApiRequest *req,
                const gchar *name,
                gint64 *value)
{
  const gchar *str = req->query != NULL ? g_hash_table_lookup (req->query, name) : NULL;
  g_autoptr(GTimeZone) utc = NULL;
  g_autoptr(GDateTime) dt = NULL;

  if (str == NULL)
    return TRUE;
  utc = g_time_zone_new_utc ();
  dt = g_date_time_new_from_iso8601 (str, utc);
  if (dt == NULL)
    {
      respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid-request",
                     "query parameter '%s' is not an RFC 3339 time, e.g. 2024-05-01T06:00:00Z",
                     name);
      return FALSE;
    }
  *value = g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
  return TRUE;
}

static gboolean
check_length (HgdApiRequest *req,
              const gchar *member,
              const gchar *value)
{
  if (value != NULL && strlen (value) > MAX_NAME_LENGTH)
    {
      respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid-request",
                     "member '%s' is longer than %u bytes", member, (guint) MAX_NAME_LENGTH);
      return FALSE;
    }
  return TRUE;
}

static void
set_session_cookie (HgdApi *self,
                    HgdApiRequest *req,
                    const gchar *token,
                    gint64 max_age)
{
  g_autofree gchar *cookie = g_strdup_printf (
      SESSION_COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%" G_GINT64_FORMAT "%s",
      token, MAX (max_age, 0), self->tls ? "; Secure" : "");

  soup_message_headers_append (soup_server_message_get_response_headers (req->msg), "Set-Cookie",
                               cookie);
}

/* Connections --------------------------------------------------------------------------- */

/* A connection serves requests one after the other. Until a request has been read in full
 * it has [api] request-timeout seconds (from accept, or from the first byte of a later
 * request: TLS handshake, headers, body); between two requests it may stay idle for
 * [api] keep-alive-timeout seconds; at most [api] max-connections are open.
 *
 * libsoup before 3.3.0 (Debian 12 has 3.2.3) loses a kept-alive connection that the
 * client closes while it is idle: the message that waits for the next request has no
 * completion callback, so when its read fails (end of stream) nobody disconnects the
 * connection and its descriptor stays in CLOSE-WAIT for ever (fixed upstream in d20c6601,
 * "Don't leak idle connections closed by the client"). hemgated therefore watches each idle
 * connection itself (KeepAlive below), at a priority above libsoup's, so that it sees a
 * readable socket first: a peek tells a new request (left to libsoup) from the client's
 * end of stream or a reset, on which the connection is taken from libsoup and closed
 * before libsoup reads the end. Over TLS a peek at the socket cannot tell a close_notify
 * from a request, so with such a libsoup a TLS connection serves one request and is
 * closed (`Connection: close`), as every connection did before. */

/* The one request of a connection, until it has been read in full. */
typedef struct
{
  GWeakRef api;
  SoupServerMessage *msg; /* (unowned) the deadline is the message's qdata */
  guint timeout_id;
  gboolean got_headers;
  guint api_keep_alive_timeout; /* 0: the answer closes the connection */
} Deadline;

static void
deadline_free (Deadline *deadline)
{
  g_clear_handle_id (&deadline->timeout_id, g_source_remove);
  g_weak_ref_clear (&deadline->api);
  g_free (deadline);
}

/* A connection taken back from libsoup to answer it ourselves: libsoup 3.2 cannot answer
 * a request before it has read the request's body. */
typedef struct
{
  GIOStream *stream;         /* (owned) */
  gchar *text;               /* (owned) the whole answer */
  GCancellable *cancellable; /* (owned) cancelled when the time to answer is up */
  guint linger_id;
  gint64 drained;
  gchar buffer[4096];
} Answer;

static void
answer_free (Answer *answer)
{
  g_clear_handle_id (&answer->linger_id, g_source_remove);
  g_object_unref (answer->stream);
  g_object_unref (answer->cancellable);
  g_free (answer->text);
  g_free (answer);
}

static void
answer_closed_cb (GObject *source,
                  GAsyncResult *result,
                  gpointer user_data)
{
  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
  answer_free (user_data);
}

static void
answer_close (Answer *answer)
{
  g_clear_handle_id (&answer->linger_id, g_source_remove);
  g_io_stream_close_async (answer->stream, G_PRIORITY_DEFAULT, NULL, answer_closed_cb, answer);
}

static gboolean
answer_linger_cb (gpointer user_data)
{
  Answer *answer = user_data;

  answer->linger_id = 0;
  g_cancellable_cancel (answer->cancellable);
  return G_SOURCE_REMOVE;
}

/* The client may still be sending what was refused: read it away for a moment, so that
 * closing does not reset the connection before the client has read the answer. */
static void
answer_drained_cb (GObject *source,
                   GAsyncResult *result,
                   gpointer user_data)
{
  Answer *answer = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, NULL);

  answer->drained += MAX (n, 0);
  if (n <= 0 || answer->drained > LINGER_MAX_BYTES)
    {
      answer_close (answer);
      return;
    }
  g_input_stream_read_async (G_INPUT_STREAM (source), answer->buffer, sizeof (answer->buffer),
                             G_PRIORITY_DEFAULT, answer->cancellable, answer_drained_cb, answer);
}

static void
answer_written_cb (GObject *source,
                   GAsyncResult *result,
                   gpointer user_data)
{
  Answer *answer = user_data;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL))
    {
      answer_close (answer);
      return;
    }
  g_input_stream_read_async (g_io_stream_get_input_stream (answer->stream), answer->buffer,
                             sizeof (answer->buffer), G_PRIORITY_DEFAULT, answer->cancellable,
                             answer_drained_cb, answer);
}

static void access_log (SoupServerMessage *msg,
                        guint status,
                        const gchar *outcome);

/* Answers @msg with an error of its own and closes the connection, without waiting for
 * the request body; the answer gets LINGER_SECONDS to be written and the rest of the
 * request to be read away. */
static void
close_with_answer (HgdApi *self,
                   SoupServerMessage *msg,
                   guint status,
                   const gchar *code,
                   const gchar *message)
{
  g_autoptr(JsonObject) object = json_object_new ();
  JsonObject *error = json_object_new ();
  g_autofree gchar *body = NULL;
  GIOStream *stream = soup_server_message_steal_connection (msg);
  Answer *answer;

  if (stream == NULL)
    return;
  json_object_set_string_member (error, "code", code);
  json_object_set_string_member (error, "message", message);
  json_object_set_object_member (object, "error", error);
  body = hg_json_object_to_string (object);
  self->requests[MIN (status, N_STATUS - 1)]++;
  access_log (msg, status, " (answered, connection closed)");

  answer = g_new0 (Answer, 1);
  answer->stream = stream;
  answer->cancellable = g_cancellable_new ();
  answer->text = g_strdup_printf ("HTTP/1.1 %u %s\r\n"
                                  "Server: hemgated\r\n"
                                  "Content-Type: application/json\r\n"
                                  "Content-Length: %" G_GSIZE_FORMAT "\r\n"
                                  "Connection: close\r\n"
                                  "Cache-Control: no-store\r\n"
                                  "X-Content-Type-Options: nosniff\r\n"
                                  "\r\n%s",
                                  status, soup_status_get_phrase (status), strlen (body), body);
  answer->linger_id = g_timeout_add_seconds (LINGER_SECONDS, answer_linger_cb, answer);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (stream), answer->text,
                                   strlen (answer->text), G_PRIORITY_DEFAULT, answer->cancellable,
                                   answer_written_cb, answer);
}

/* The request did not arrive in time: with its headers read it is answered 408, without
 * them there is nobody to answer (a silent client, a stalled TLS handshake, headers that
 * never end) and the connection is shut, which libsoup sees and closes it on. */
static gboolean
deadline_cb (gpointer user_data)
{
  Deadline *deadline = user_data;
  g_autoptr(HgdApi) self = g_weak_ref_get (&deadline->api);
  g_autoptr(SoupServerMessage) msg = g_object_ref (deadline->msg);
  GSocket *socket;

  deadline->timeout_id = 0;
  if (self == NULL)
    return G_SOURCE_REMOVE;
  self->timed_out++;
  if (deadline->got_headers)
    {
      g_autofree gchar *message = g_strdup_printf (
          "the request body did not arrive within %u seconds", self->request_timeout);
      close_with_answer (self, msg, SOUP_STATUS_REQUEST_TIMEOUT, "request-timeout", message);
      return G_SOURCE_REMOVE;
    }
  socket = soup_server_message_get_socket (msg);
  if (socket != NULL)
    g_socket_shutdown (socket, TRUE, TRUE, NULL);
  return G_SOURCE_REMOVE;
}

static void
deadline_got_headers_cb (SoupServerMessage *msg,
                         gpointer user_data)
{
  Deadline *deadline = g_object_get_qdata (G_OBJECT (msg), quark_deadline);

  if (deadline != NULL)
    deadline->got_headers = TRUE;
}

/* The request is complete: what remains is ours to answer. */
static void
deadline_got_body_cb (SoupServerMessage *msg,
                      gpointer user_data)
{
  Deadline *deadline = g_object_get_qdata (G_OBJECT (msg), quark_deadline);

  if (deadline != NULL)
    g_clear_handle_id (&deadline->timeout_id, g_source_remove);
  /* again: an `Expect: 100-continue` answer cleared the headers set at the start; a
   * WebSocket handshake's answer is the one that keeps the connection */
  if (soup_server_message_get_status (msg) == SOUP_STATUS_SWITCHING_PROTOCOLS)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                  "Upgrade");
  else if (deadline == NULL || deadline->api_keep_alive_timeout == 0)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                  "close");
}

static void
deadline_start (HgdApi *self,
                SoupServerMessage *msg)
{
  Deadline *deadline = g_new0 (Deadline, 1);

  g_weak_ref_init (&deadline->api, self);
  deadline->msg = msg;
  deadline->api_keep_alive_timeout = self->keep_alive_timeout;
  deadline->timeout_id = g_timeout_add_seconds (self->request_timeout, deadline_cb, deadline);
  g_object_set_qdata_full (G_OBJECT (msg), quark_deadline, deadline,
                           (GDestroyNotify) deadline_free);
  g_signal_connect (msg, "got-headers", G_CALLBACK (deadline_got_headers_cb), NULL);
  g_signal_connect (msg, "got-body", G_CALLBACK (deadline_got_body_cb), NULL);
}

static void
connection_gone_cb (gpointer user_data,
                    GObject *where_the_socket_was)
{
  HgdApi *self = HGD_API (user_data);

  g_hash_table_remove (self->connections, where_the_socket_was);
  g_hash_table_remove (self->kept, where_the_socket_was);
}

/* Counts the connection of @msg, or shuts it if it is one too many. */
static gboolean
track_connection (HgdApi *self,
                  SoupServerMessage *msg)
{
  GSocket *socket = soup_server_message_get_socket (msg);

  if (socket == NULL || g_hash_table_contains (self->connections, socket))
    return TRUE;
  if (g_hash_table_size (self->connections) >= self->max_connections)
    {
      if (self->refused++ == 0)
        g_warning ("[api] max-connections (%u) reached: new connections are closed at once",
                   self->max_connections);
      g_socket_shutdown (socket, TRUE, TRUE, NULL);
      return FALSE;
    }
  g_hash_table_add (self->connections, socket);
  g_object_weak_ref (G_OBJECT (socket), connection_gone_cb, self);
  return TRUE;
}

/* An idle kept-alive connection: between the end of one request and the first byte of the
 * next the source watches the socket (plain HTTP) and the keep-alive deadline (its ready
 * time); while a request runs it watches nothing. It lives as long as the connection. */
typedef struct
{
  GSource source;
  HgdApi *api;             /* (unowned) */
  GSocket *socket;         /* (unowned) the key in HgdApi.kept */
  SoupServerMessage *last; /* (owned) (nullable) the last request while idle: the handle to
                            * take the connection back by */
  gulong disconnected_id;
  gpointer tag;            /* (nullable) the socket's descriptor while idle */
  gint64 idle_since;       /* monotonic usec, the end of the last request */
} KeepAlive;

static void
keep_alive_closed_cb (GObject *source,
                      GAsyncResult *result,
                      gpointer user_data)
{
  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
  g_object_unref (source);
}

/* Ends the idle state: no handle, no watch, no deadline. */
static void
keep_alive_stop (KeepAlive *ka)
{
  if (ka->last != NULL)
    {
      g_signal_handler_disconnect (ka->last, ka->disconnected_id);
      g_clear_object (&ka->last);
    }
  if (ka->tag != NULL)
    {
      g_source_remove_unix_fd (&ka->source, ka->tag);
      ka->tag = NULL;
    }
  /* the ready time stays: changing it wakes the loop, so it is moved only when it comes
   * (keep_alive_dispatch ()) */
}

/* Takes the idle connection from libsoup (which then forgets it) and closes it. */
static void
keep_alive_close (KeepAlive *ka)
{
  g_autoptr(SoupServerMessage) last = ka->last != NULL ? g_object_ref (ka->last) : NULL;
  HgdApi *self = ka->api;
  GIOStream *stream;

  keep_alive_stop (ka);
  g_hash_table_remove (self->kept, ka->socket); /* destroys the source; dispatch holds a ref */
  if (last == NULL)
    return;
  stream = soup_server_message_steal_connection (last);
  if (stream != NULL)
    g_io_stream_close_async (stream, G_PRIORITY_DEFAULT, NULL, keep_alive_closed_cb, NULL);
}

static gboolean
keep_alive_dispatch (GSource *source,
                     GSourceFunc callback,
                     gpointer user_data)
{
  KeepAlive *ka = (KeepAlive *) source;
  gint64 ready_time = g_source_get_ready_time (source);
  gchar byte;
  gssize n;

  if (ready_time != -1 && g_source_get_time (source) >= ready_time)
    {
      gint64 deadline = ka->idle_since + ka->api->keep_alive_timeout * G_USEC_PER_SEC;

      if (ka->last == NULL)
        g_source_set_ready_time (source, -1); /* busy: keep_alive_start () sets it again */
      else if (g_source_get_time (source) < deadline)
        g_source_set_ready_time (source, deadline); /* idle again since it was set */
      else
        keep_alive_close (ka); /* [api] keep-alive-timeout */
      return G_SOURCE_CONTINUE;
    }
  if (ka->tag == NULL || g_source_query_unix_fd (source, ka->tag) == 0)
    return G_SOURCE_CONTINUE;
  n = recv (g_socket_get_fd (ka->socket), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0)
    {
      /* a request comes: libsoup reads it, request_started_cb () ends the idle state */
      g_source_remove_unix_fd (source, ka->tag);
      ka->tag = NULL;
    }
  else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
    {
      keep_alive_close (ka); /* the client closed it, or it was reset */
    }
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs keep_alive_funcs = { NULL, NULL, keep_alive_dispatch, NULL, NULL, NULL };

static void
keep_alive_free (gpointer data)
{
  KeepAlive *ka = data;

  keep_alive_stop (ka);
  g_source_destroy (&ka->source);
  g_source_unref (&ka->source);
}

/* libsoup closed the connection itself (the answer said `Connection: close`, or the
 * request failed): nothing left to watch. */
static void
keep_alive_disconnected_cb (SoupServerMessage *msg,
                            gpointer user_data)
{
  KeepAlive *ka = user_data;

  /* @msg may hold its last reference in ka->last: let it go after the emission */
  g_signal_handler_disconnect (ka->last, ka->disconnected_id);
  g_idle_add_once ((GSourceOnceFunc) g_object_unref, g_steal_pointer (&ka->last));
  g_hash_table_remove (ka->api->kept, ka->socket);
}

/* After a request: the connection may stay open for the next one. If libsoup closes it
 * instead, it does so before the loop runs again and keep_alive_disconnected_cb () drops
 * the watch. */
static void
keep_alive_start (HgdApi *self,
                  SoupServerMessage *msg)
{
  GSocket *socket;
  KeepAlive *ka;

  if (self->keep_alive_timeout == 0)
    return;
  socket = soup_server_message_get_socket (msg);
  if (socket == NULL)
    return;
  ka = g_hash_table_lookup (self->kept, socket);
  if (ka == NULL)
    {
      ka = (KeepAlive *) g_source_new (&keep_alive_funcs, sizeof (KeepAlive));
      ka->api = self;
      ka->socket = socket;
      g_source_set_priority (&ka->source, G_PRIORITY_HIGH);
      g_source_set_static_name (&ka->source, "hemgated keep-alive");
      g_source_attach (&ka->source, NULL);
      g_hash_table_insert (self->kept, socket, ka);
    }
  keep_alive_stop (ka);
  ka->last = g_object_ref (msg);
  ka->disconnected_id
      = g_signal_connect (msg, "disconnected", G_CALLBACK (keep_alive_disconnected_cb), ka);
  if (!self->tls)
    ka->tag = g_source_add_unix_fd (&ka->source, g_socket_get_fd (socket),
                                    G_IO_IN | G_IO_HUP | G_IO_ERR);
  ka->idle_since = g_get_monotonic_time ();
  if (g_source_get_ready_time (&ka->source) == -1)
    g_source_set_ready_time (&ka->source,
                             ka->idle_since + self->keep_alive_timeout * G_USEC_PER_SEC);
}

/* The server's hooks, in the order they run ---------------------------------------------- */

/* libsoup before 3.4.0 keeps one reference too many on every accepted socket (fixed
 * upstream in b545d5f0, "soup-listener: Plug a leak"); Debian 12 has 3.2.3. A 24/7
 * daemon cannot leak a GSocket per connection, so the first request of each connection
 * drops that reference; the connection's own one keeps the socket alive. */
static void
drop_leaked_socket_ref (SoupServerMessage *msg)
{
  GSocket *socket;

  if (soup_check_version (3, 4, 0))
    return;
  socket = soup_server_message_get_socket (msg);
  if (socket == NULL || g_object_get_qdata (G_OBJECT (socket), quark_socket_fixed) != NULL)
    return;
  g_object_set_qdata (G_OBJECT (socket), quark_socket_fixed, GINT_TO_POINTER (TRUE));
  g_object_unref (socket);
}

/* Runs as a connection is accepted (before its TLS handshake and request), and as the
 * first bytes of each later request of a kept-alive connection are read. */
static void
request_started_cb (SoupServer *server,
                    SoupServerMessage *msg,
                    gpointer user_data)
{
  HgdApi *self = HGD_API (user_data);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  gint64 *start = g_new (gint64, 1);

  drop_leaked_socket_ref (msg);

  *start = g_get_monotonic_time ();
  g_object_set_qdata_full (G_OBJECT (msg), quark_start, start, g_free);
  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  soup_message_headers_replace (headers, "X-Content-Type-Options", "nosniff");
  /* a browser that once reached the gateway over TLS never falls back to plain HTTP */
  if (self->tls)
    soup_message_headers_replace (headers, "Strict-Transport-Security", "max-age=31536000");
  if (self->keep_alive_timeout == 0)
    soup_message_headers_replace (headers, "Connection", "close");
  if (track_connection (self, msg))
    {
      GSocket *socket = soup_server_message_get_socket (msg);
      KeepAlive *ka = socket != NULL ? g_hash_table_lookup (self->kept, socket) : NULL;

      if (ka != NULL)
        keep_alive_stop (ka);
      deadline_start (self, msg);
    }
}

static void
got_chunk_cb (SoupServerMessage *msg,
              GBytes *chunk,
              gpointer user_data)
{
  HgdApi *self = HGD_API (user_data);
  const HgdApiRoute *route = g_object_get_qdata (G_OBJECT (msg), quark_route);
  gsize limit = route_max_body (self, route);
  gsize size = GPOINTER_TO_SIZE (g_object_get_qdata (G_OBJECT (msg), quark_body_size));

  if (soup_server_message_get_status (msg) != 0)
    return;
  size += g_bytes_get_size (chunk);
  g_object_set_qdata (G_OBJECT (msg), quark_body_size, GSIZE_TO_POINTER (size));
  if (size > limit)
    {
      g_autofree gchar *message
          = g_strdup_printf ("the request body exceeds %" G_GSIZE_FORMAT " bytes", limit);
      close_with_answer (self, msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "payload-too-large",
                         message);
    }
}

/* Runs after the request headers, before the body: a declared Content-Length above the
 * limit is answered 413 at once, without reading the body (by libsoup when the client
 * waits for `100 Continue`, else by close_with_answer ()); a chunked body is counted as
 * it comes in. */
static void
early_handler_cb (SoupServer *server,
                  SoupServerMessage *msg,
                  const char *path,
                  GHashTable *query,
                  gpointer user_data)
{
  HgdApi *self = HGD_API (user_data);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const HgdApiRoute *route
      = hgd_api_find_route (soup_server_message_get_method (msg), path, NULL, NULL);
  gsize limit = route_max_body (self, route);

  g_object_set_qdata (G_OBJECT (msg), quark_route, (gpointer) route);
  switch (soup_message_headers_get_encoding (headers))
    {
    case SOUP_ENCODING_CONTENT_LENGTH:
      if ((guint64) soup_message_headers_get_content_length (headers) <= limit)
        break;
      if (soup_message_headers_get_expectations (headers) & SOUP_EXPECTATION_CONTINUE)
        {
          refuse_body (msg, limit);
        }
      else
        {
          g_autofree gchar *message
              = g_strdup_printf ("the request body exceeds %" G_GSIZE_FORMAT " bytes", limit);
          close_with_answer (self, msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
                             "payload-too-large", message);
        }
      break;
    case SOUP_ENCODING_CHUNKED:
    case SOUP_ENCODING_EOF:
      g_signal_connect_object (msg, "got-chunk", G_CALLBACK (got_chunk_cb), self, 0);
      break;
    case SOUP_ENCODING_UNRECOGNIZED:
    case SOUP_ENCODING_NONE:
    case SOUP_ENCODING_BYTERANGES:
    default:
      break;
    }
}

static gchar *
extract_token (SoupServerMessage *msg,
               gboolean *from_cookie)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const gchar *authorization = soup_message_headers_get_one (headers, "Authorization");
  const gchar *cookie_header;
  g_auto(GStrv) cookies = NULL;

  *from_cookie = FALSE;
  if (authorization != NULL)
    {
      if (g_ascii_strncasecmp (authorization, "Bearer ", 7) != 0)
        return g_strdup ("");
      return g_strstrip (g_strdup (authorization + 7));
    }
  cookie_header = soup_message_headers_get_one (headers, "Cookie");
  if (cookie_header == NULL)
    return NULL;
  cookies = g_strsplit (cookie_header, ";", -1);
  for (guint i = 0; cookies[i] != NULL; i++)
    {
      const gchar *cookie = g_strstrip (cookies[i]);
      if (g_str_has_prefix (cookie, SESSION_COOKIE "="))
        {
          *from_cookie = TRUE;
          return g_strdup (cookie + strlen (SESSION_COOKIE "="));
        }
    }
  return NULL;
}

/* Whether @msg names this gateway in its Host (or absolute URI), against DNS rebinding: a
 * page of another site whose name the attacker points at the gateway sends that name.
 * Accepted are `localhost`, the names in [api] host-names and IP addresses: the listen
 * address and loopback, or any address when listening on all of them (a page can only
 * reach an address literal from that address's own origin). */
static gboolean
host_is_ours (HgdApi *self,
              SoupServerMessage *msg)
{
  GUri *uri = soup_server_message_get_uri (msg);
  const gchar *host = uri != NULL ? g_uri_get_host (uri) : NULL;
  g_autofree gchar *name = NULL;
  g_autoptr(GInetAddress) address = NULL;
  gsize len;

  if (host == NULL || *host == '\0')
    return FALSE;
  address = g_inet_address_new_from_string (host);
  if (address != NULL)
    return g_inet_address_get_is_loopback (address) ||
           g_inet_address_get_is_any (self->listen_address) ||
           g_inet_address_equal (address, self->listen_address);
  /* a name, which may end in the root's dot */
  len = strlen (host);
  name = g_ascii_strdown (host, host[len - 1] == '.' ? (gssize) len - 1 : (gssize) len);
  if (g_strcmp0 (name, "localhost") == 0)
    return TRUE;
  for (guint i = 0; self->host_names != NULL && self->host_names[i] != NULL; i++)
    {
      if (g_ascii_strcasecmp (self->host_names[i], name) == 0)
        return TRUE;
    }
  return FALSE;
}

static gboolean
is_trusted_proxy (HgdApi *self,
                  GInetAddress *address)
{
  for (guint i = 0; i < self->trusted_proxies->len; i++)
    {
      if (g_inet_address_mask_matches (g_ptr_array_index (self->trusted_proxies, i), address))
        return TRUE;
    }
  return FALSE;
}

/* The address of the client, for the login limits: the peer's, or, when the peer is one
 * of [api] trusted-proxies, the nearest address in X-Forwarded-For that is not (each proxy
 * appends the address it got the request from; anything further left the client may
 * have written itself). */
static gchar *
request_client (HgdApi *self,
                SoupServerMessage *msg)
{
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);
  const gchar *forwarded;
  g_autoptr(GInetAddress) client = NULL;
  g_auto(GStrv) hops = NULL;

  if (remote == NULL || !G_IS_INET_SOCKET_ADDRESS (remote))
    return g_strdup (soup_server_message_get_remote_host (msg));
  client = g_object_ref (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  forwarded = soup_message_headers_get_list (soup_server_message_get_request_headers (msg),
                                             "X-Forwarded-For");
  if (forwarded != NULL && is_trusted_proxy (self, client))
    hops = g_strsplit (forwarded, ",", -1);
  for (guint i = hops != NULL ? g_strv_length (hops) : 0; i > 0; i--)
    {
      g_autoptr(GInetAddress) hop = g_inet_address_new_from_string (g_strstrip (hops[i - 1]));

      if (hop == NULL)
        break;
      g_set_object (&client, hop);
      if (!is_trusted_proxy (self, hop))
        break;
    }
  return g_inet_address_to_string (client);
}

/* A browser sends the session cookie with any request to us; one from another origin's
 * page is refused (SameSite=Strict covers modern browsers; this covers the rest). The
 * scheme is ours, or what a trusted proxy says in X-Forwarded-Proto. */
static gboolean
origin_is_ours (HgdApi *self,
                SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const gchar *origin = soup_message_headers_get_one (headers, "Origin");
  const gchar *host = soup_message_headers_get_one (headers, "Host");
  const gchar *scheme = self->tls ? "https" : "http";
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);
  const gchar *forwarded_proto = soup_message_headers_get_one (headers, "X-Forwarded-Proto");
  g_autofree gchar *expected = NULL;

  if (origin == NULL)
    return TRUE;
  if (host == NULL)
    return FALSE;
  /* behind a TLS proxy the page came over https, whatever reached us */
  if (forwarded_proto != NULL && remote != NULL && G_IS_INET_SOCKET_ADDRESS (remote) &&
      is_trusted_proxy (self, g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote))) &&
      (g_ascii_strcasecmp (forwarded_proto, "https") == 0 ||
       g_ascii_strcasecmp (forwarded_proto, "http") == 0))
    scheme = forwarded_proto;
  expected = g_strdup_printf ("%s://%s", scheme, host);
  return g_ascii_strcasecmp (origin, expected) == 0;
}

static gboolean
is_websocket_upgrade (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  return soup_message_headers_header_contains (headers, "Upgrade", "websocket");
}

/* The stable `code` of a body that fails hgd_json_check_strict(). */
static const gchar *
json_check_code (const GError *error)
{
  if (g_error_matches (error, HGD_JSON_CHECK_ERROR, HGD_JSON_CHECK_ERROR_DUPLICATE_MEMBER))
    return "duplicate-member";
  if (g_error_matches (error, HGD_JSON_CHECK_ERROR, HGD_JSON_CHECK_ERROR_CONTROL_CHARACTER))
    return "control-character";
  return "invalid-json";
}

static gboolean
read_json_body (HgdApi *self,
                HgdApiRequest *req)
{
  SoupServerMessage *msg = req->msg;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  g_autoptr(GHashTable) ct_params = NULL;
  const gchar *content_type = soup_message_headers_get_content_type (headers, &ct_params);
  const gchar *charset = ct_params != NULL ? g_hash_table_lookup (ct_params, "charset") : NULL;
  gsize limit = route_max_body (self, req->route);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *field = NULL;

  if (content_type == NULL || g_ascii_strcasecmp (content_type, "application/json") != 0 ||
      (charset != NULL && g_ascii_strcasecmp (charset, "utf-8") != 0))
    {
      set_error_response (msg, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type",
                          "the request body must be application/json in UTF-8");
      return FALSE;
    }
  bytes = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  if (g_bytes_get_size (bytes) > limit)
    {
      refuse_body (msg, limit);
      return FALSE;
    }
  /* json-glib alone would take more than JSON, and some of it silently */
  if (!hgd_json_check_strict (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &field,
                              &error))
    {
      set_error_response_full (msg, SOUP_STATUS_BAD_REQUEST, json_check_code (error),
                               error->message, field);
      return FALSE;
    }
  req->body = hg_json_parse_object (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), limit,
                                    &error);
  if (req->body == NULL)
    {
      set_error_response (msg, SOUP_STATUS_BAD_REQUEST, "invalid-json", error->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_form_body (HgdApi *self,
                HgdApiRequest *req)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (req->msg);
  const gchar *content_type = soup_message_headers_get_content_type (headers, NULL);
  gsize limit = route_max_body (self, req->route);
  g_autoptr(GBytes) bytes = NULL;
  g_autofree gchar *text = NULL;

  if (content_type == NULL ||
      g_ascii_strcasecmp (content_type, "application/x-www-form-urlencoded") != 0)
    {
      set_error_response (req->msg, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type",
                          "the request body must be application/x-www-form-urlencoded");
      return FALSE;
    }
  bytes = soup_message_body_flatten (soup_server_message_get_request_body (req->msg));
  if (g_bytes_get_size (bytes) > limit)
    {
      refuse_body (req->msg, limit);
      return FALSE;
    }
  text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  if (!g_utf8_validate (text, -1, NULL))
    {
      set_error_response (req->msg, SOUP_STATUS_BAD_REQUEST, "invalid-request",
                          "the form is not UTF-8");
      return FALSE;
    }
  req->form = soup_form_decode (text);
  return TRUE;
}

/* The dispatcher: every request but the WebSocket frames passes here, and a handler runs
 * only once its route, caller, role and body have been checked. */
static void
dispatch_cb (SoupServer *server,
             SoupServerMessage *msg,
             const char *path,
             GHashTable *query,
             gpointer user_data)
{
  HgdApi *self = HGD_API (user_data);
  const gchar *method = soup_server_message_get_method (msg);
  g_autoptr(GPtrArray) params = NULL;
  g_autoptr(HgdApiRequest) req = NULL;
  gboolean path_exists = FALSE;
  const HgdApiRoute *route = hgd_api_find_route (method, path, &params, &path_exists);

  if (!host_is_ours (self, msg))
    {
      set_error_response (msg, SOUP_STATUS_MISDIRECTED_REQUEST, "unknown-host",
                          "the Host header names neither this gateway's address nor one of "
                          "its names ([api] host-names)");
      return;
    }
  if (route == NULL)
    {
      if (path_exists)
        {
          g_autofree gchar *allow = allowed_methods (path);
          soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                        allow);
          set_error_response (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method-not-allowed",
                              "this path does not take this method");
          return;
        }
      set_error_response (msg, SOUP_STATUS_NOT_FOUND, "not-found", "no such route");
      return;
    }
  g_object_set_qdata (G_OBJECT (msg), quark_route, (gpointer) route);
  req = request_new (self, msg, route, params, query);

  /* who is calling */
  req->token = extract_token (msg, &req->cookie_auth);
  if (req->token != NULL && *req->token != '\0' && strlen (req->token) <= MAX_TOKEN_LENGTH)
    req->session = hgd_accounts_lookup_token (self->accounts, req->token);
  if (req->session == NULL)
    g_clear_pointer (&req->token, g_free);

  /* may they */
  if ((route->roles & HGD_API_PUBLIC) == 0)
    {
      if (req->session == NULL)
        {
          SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
          gboolean had_token = req->cookie_auth ||
                               soup_message_headers_get_one (headers, "Authorization") != NULL;
          respond_unauthenticated (msg, had_token);
          return;
        }
      if ((route->roles & HGD_ROLE_BIT (req->session->role)) == 0)
        {
          respond_error (req, SOUP_STATUS_FORBIDDEN, "forbidden",
                         "the role %s may not use this operation",
                         hgd_role_to_string (req->session->role));
          return;
        }
    }
  /* a page of another site may neither use the session cookie nor log its visitor in
   * (login CSRF): the browser says where the page came from in Origin */
  if (((req->session != NULL && req->cookie_auth) || route->handler == handle_login) &&
      !origin_is_ours (self, msg))
    {
      respond_error (req, SOUP_STATUS_FORBIDDEN, "forbidden", "cross-origin request refused");
      return;
    }

  /* what they sent */
  if (route->body == HGD_API_BODY_JSON && !read_json_body (self, req))
    return;
  if (route->body == HGD_API_BODY_FORM && !read_form_body (self, req))
    return;

  route->handler (self, req);
}

static void
access_log (SoupServerMessage *msg,
            guint status,
            const gchar *outcome)
{
  const HgdApiRoute *route = g_object_get_qdata (G_OBJECT (msg), quark_route);
  const gint64 *start = g_object_get_qdata (G_OBJECT (msg), quark_start);

  /* no path (it may hold a name), no query, no body, no caller */
  if (g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN))
    return;
  g_debug ("%s %s %u%s %.1f ms", soup_server_message_get_method (msg),
           route != NULL ? route->pattern : "-", status, outcome,
           start != NULL ? (gdouble) (g_get_monotonic_time () - *start) / 1000.0 : 0.0);
}

static void
request_finished_cb (SoupServer *server,
                     SoupServerMessage *msg,
                     gpointer user_data)
{
  HgdApi *self = HGD_API (user_data);
  guint status = soup_server_message_get_status (msg);

  self->requests[MIN (status, N_STATUS - 1)]++;
  access_log (msg, status, "");
  keep_alive_start (self, msg);
}

/* The client went away (or the connection failed) before the answer was written. */
static void
request_aborted_cb (SoupServer *server,
                    SoupServerMessage *msg,
                    gpointer user_data)
{
  HgdApi *self = HGD_API (user_data);

  self->aborted++;
  access_log (msg, soup_server_message_get_status (msg), " (aborted)");
  keep_alive_start (self, msg); /* an answered 500 may keep its connection */
}

/* Auth -------------------------------------------------------------------------------- */

/* The domain of the user named @username, if there is one. */
static gboolean
find_user_domain (HgdAccounts *accounts,
                  const gchar *username,
                  HgDomain *domain)
{
  g_autofree gchar *lower = g_ascii_strdown (username, -1);

  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      g_autoptr(GPtrArray) users = hgd_accounts_list_users (accounts, (HgDomain) i);

      for (guint j = 0; j < users->len; j++)
        {
          if (g_strcmp0 (((HgdUser *) g_ptr_array_index (users, j))->username, lower) == 0)
            {
              *domain = (HgDomain) i;
              return TRUE;
            }
        }
    }
  return FALSE;
}

static void journal_auth_event (HgdApi *self,
                                const gchar *type,
                                JsonObject *detail);

/* Every login to the gateway goes into the access log of the user's domain. A failed one
 * for a name no account has goes into the municipal log (the auditor watches for attacks
 * on the gateway), as "unknown": what was typed may be someone's password. */
static void
log_login (HgdApi *self,
           HgdApiRequest *req,
           HgdSession *session,
           const GError *error)
{
  const gchar *username = json_object_get_string_member_with_default (req->body, "username", "");
  g_autofree gchar *client = request_client (self, req->msg);
  g_autoptr(JsonObject) detail = json_object_new ();
  g_autofree gchar *actor = NULL;
  HgDomain domain = HG_DOMAIN_MUNICIPAL;

  if (client != NULL)
    json_object_set_string_member (detail, "client", client);
  if (session != NULL)
    {
      actor = g_strdup_printf ("user:%s", session->username);
      json_object_set_string_member (detail, "role", hgd_role_to_string (session->role));
      /* the offline fallback: with an identity provider, a local municipal account is the
       * break-glass way in (the provider unreachable), recorded and shown to IT in health */
      if (hgd_oidc_is_configured (self->oidc) &&
          hgd_role_get_domain (session->role) == HG_DOMAIN_MUNICIPAL)
        {
          json_object_set_string_member (detail, "method", "break-glass");
          self->break_glass_logins++;
          self->last_break_glass = g_get_real_time ();
          g_message ("break-glass login of the local account %s (%s) while staff log in with "
                     "the identity provider",
                     session->username, hgd_role_to_string (session->role));
          {
            g_autoptr(JsonObject) body = json_object_new ();

            json_object_set_string_member (body, "user", session->username);
            json_object_set_string_member (body, "role", hgd_role_to_string (session->role));
            if (client != NULL)
              json_object_set_string_member (body, "client", client);
            journal_auth_event (self, "auth.break-glass", body);
          }
        }
      hgd_access_log_record (self->access_log, hgd_role_get_domain (session->role), actor,
                             "login", NULL, detail);
      return;
    }
  if (g_error_matches (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_RATE_LIMITED))
    json_object_set_string_member (detail, "reason", "rate-limited");
  else if (g_error_matches (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_BUSY))
    json_object_set_string_member (detail, "reason", "busy");
  else if (g_error_matches (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_BAD_LOGIN))
    json_object_set_string_member (detail, "reason", "bad-login");
  else
    json_object_set_string_member (detail, "reason", "error");
  if (find_user_domain (self->accounts, username, &domain))
    {
      g_autofree gchar *lower = g_ascii_strdown (username, -1);
      actor = g_strdup_printf ("user:%s", lower);
    }
  else
    {
      json_object_set_string_member (detail, "reason", "unknown-user");
    }
  hgd_access_log_record (self->access_log, domain, actor, "login.failed", NULL, detail);
}

static void
login_cb (GObject *source,
          GAsyncResult *result,
          gpointer user_data)
{
  g_autoptr(HgdApiRequest) req = user_data;
  g_autoptr(HgdSession) session = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *expires = NULL;
  gint64 retry_after = 0;
  JsonObject *object;

  session = hgd_accounts_login_finish (HGD_ACCOUNTS (source), result, &retry_after, &error);
  if (req->api == NULL)
    return;
  log_login (req->api, req, session, error);
  if (session == NULL)
    {
      if (g_error_matches (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_RATE_LIMITED) ||
          g_error_matches (error, HGD_ACCOUNTS_ERROR, HGD_ACCOUNTS_ERROR_BUSY))
        {
          g_autofree gchar *seconds = g_strdup_printf ("%" G_GINT64_FORMAT, MAX (retry_after, 1));
          soup_message_headers_replace (soup_server_message_get_response_headers (req->msg),
                                        "Retry-After", seconds);
        }
      respond_gerror (req, error);
      request_resume (req);
      return;
    }

  expires = iso8601_from_usec (session->expires);
  object = json_object_new ();
  json_object_set_string_member (object, "token", session->token);
  json_object_set_string_member (object, "username", session->username);
  json_object_set_string_member (object, "role", hgd_role_to_string (session->role));
  json_object_set_string_member (object, "domain",
                                 hg_domain_to_string (hgd_role_get_domain (session->role)));
  json_object_set_string_member (object, "expires", expires);
  set_session_cookie (req->api, req, session->token,
                      (session->expires - g_get_real_time ()) / G_USEC_PER_SEC);
  respond_json (req, SOUP_STATUS_OK, object);
  request_resume (req);
}

static void
handle_login (HgdApi *self,
              HgdApiRequest *req)
{
  static const gchar *const members[] = { "username", "password", NULL };
  const gchar *username = NULL;
  const gchar *password = NULL;
  g_autofree gchar *client = NULL;
  g_autoptr(GError) error = NULL;

  if (!hg_json_object_check_members (req->body, members, &error) ||
      !hg_json_object_get_string (req->body, "username", &username, &error) ||
      !hg_json_object_get_string (req->body, "password", &password, &error))
    {
      respond_invalid (req, error);
      return;
    }
  client = request_client (self, req->msg);
  request_pause (req);
  hgd_accounts_login_async (self->accounts, username, password, client, self->cancellable, login_cb,
                            request_ref (req));
}

static void
handle_logout (HgdApi *self,
               HgdApiRequest *req)
{
  g_autofree gchar *end_session_url = NULL;

  /* a session from the identity provider: where the browser logs out there too */
  if (req->session->issuer != NULL)
    end_session_url = hgd_oidc_dup_end_session_url (self->oidc, req->session->id_token);
  hgd_accounts_revoke_session (self->accounts, req->session->id);
  close_ended_streams (self);
  if (req->cookie_auth)
    set_session_cookie (self, req, "", 0);
  if (end_session_url != NULL)
    {
      JsonObject *object = json_object_new ();

      json_object_set_string_member (object, "end_session_url", end_session_url);
      respond_json (req, SOUP_STATUS_OK, object);
      return;
    }
  respond_empty (req, SOUP_STATUS_NO_CONTENT);
}

static void
handle_session (HgdApi *self,
                HgdApiRequest *req)
{
  g_autofree gchar *expires = iso8601_from_usec (req->session->expires);
  const gchar *timezone = hgd_config_get_string (self->config, "daemon", "timezone");
  g_autoptr(GTimeZone) local = g_time_zone_new_local ();
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "username", req->session->username);
  json_object_set_string_member (object, "role", hgd_role_to_string (req->session->role));
  json_object_set_string_member (object, "domain", hg_domain_to_string (request_domain (req)));
  json_object_set_string_member (object, "expires", expires);
  /* the gateway's time zone, so that the web UI shows times as they are in the home: the
   * one configured for the plugins (their TZ), else the daemon's own */
  json_object_set_string_member (object, "timezone",
                                 timezone != NULL && timezone[0] != '\0'
                                     ? timezone
                                     : g_time_zone_get_identifier (local));
  respond_json (req, SOUP_STATUS_OK, object);
}

/* OpenID Connect (hgd-oidc.c) ------------------------------------------------------------ */

static void
auth_event_appended_cb (GObject *source,
                        GAsyncResult *result,
                        gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!hgd_journal_append_finish (HGD_JOURNAL (source), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_message ("the municipal journal did not record a login: %s", error->message);
}

/* A login through the identity provider, its refusal, a break-glass login and a logout by
 * the provider also go into the municipal journal (`auth.login`, `auth.refused`,
 * `auth.break-glass`, `auth.logout`, source `core`), with @detail as body: who (subject,
 * name, issuer) or why, never a token. */
static void
journal_auth_event (HgdApi *self,
                    const gchar *type,
                    JsonObject *detail)
{
  HgdJournal *municipal = self->journals[HG_DOMAIN_MUNICIPAL];
  g_autoptr(HgEvent) event = NULL;

  if (municipal == NULL)
    return;
  event = hg_event_new (type, detail);
  hg_event_set_source (event, "core");
  hgd_journal_append_async (municipal, event, NULL, self->cancellable, auth_event_appended_cb,
                            NULL);
}

/* The stable `code` and status of an HgdOidc error. */
static void
oidc_error_to_http (const GError *error,
                    guint *status,
                    const gchar **code)
{
  *status = SOUP_STATUS_UNAUTHORIZED;
  *code = "oidc-refused";
  if (error->domain != HGD_OIDC_ERROR)
    {
      *status = SOUP_STATUS_SERVICE_UNAVAILABLE;
      *code = "shutting-down";
      return;
    }
  switch ((HgdOidcError) error->code)
    {
    case HGD_OIDC_ERROR_NOT_CONFIGURED:
      *status = SOUP_STATUS_NOT_FOUND;
      *code = "oidc-not-configured";
      break;
    case HGD_OIDC_ERROR_UNAVAILABLE:
      *status = SOUP_STATUS_BAD_GATEWAY;
      *code = "idp-unavailable";
      break;
    case HGD_OIDC_ERROR_NO_PENDING_LOGIN:
      *status = SOUP_STATUS_BAD_REQUEST;
      *code = "no-pending-login";
      break;
    case HGD_OIDC_ERROR_REFUSED:
      *code = "idp-refused";
      break;
    case HGD_OIDC_ERROR_INVALID_TOKEN:
      *code = "invalid-token";
      break;
    case HGD_OIDC_ERROR_NO_ROLE:
      *status = SOUP_STATUS_FORBIDDEN;
      *code = "no-role";
      break;
    case HGD_OIDC_ERROR_PENDING:
      *status = SOUP_STATUS_BAD_REQUEST;
      *code = "authorization-pending";
      break;
    default:
      break;
    }
}

/* A browser (it asks for HTML) is sent back to the web UI, with the error's code for it
 * to explain; an API client gets JSON. */
static gboolean
request_wants_html (HgdApiRequest *req)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (req->msg);
  const gchar *accept = soup_message_headers_get_one (headers, "Accept");

  return accept != NULL && strstr (accept, "text/html") != NULL;
}

static void
respond_redirect (HgdApiRequest *req,
                  guint status,
                  const gchar *location)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (req->msg), "Location",
                                location);
  soup_message_headers_replace (soup_server_message_get_response_headers (req->msg),
                                "Cache-Control", "no-store");
  respond_empty (req, status);
}

static void
respond_oidc_error (HgdApiRequest *req,
                    const GError *error)
{
  guint status;
  const gchar *code;

  oidc_error_to_http (error, &status, &code);
  if (request_wants_html (req))
    {
      g_autofree gchar *location = g_strdup_printf ("/#/login?oidc-error=%s", code);
      respond_redirect (req, SOUP_STATUS_SEE_OTHER, location);
      return;
    }
  set_error_response (req->msg, status, code, error->message);
}

/* A login through the identity provider, accepted or refused, in the municipal access log
 * (its sessions are municipal); a refusal names its reason. */
static void
log_oidc_login (HgdApi *self,
                HgdApiRequest *req,
                HgdSession *session,
                const GError *error)
{
  g_autofree gchar *client = request_client (self, req->msg);
  g_autoptr(JsonObject) detail = json_object_new ();
  const gchar *issuer = hgd_oidc_get_issuer (self->oidc);
  guint status;
  const gchar *code;

  json_object_set_string_member (detail, "method", "oidc");
  if (client != NULL)
    json_object_set_string_member (detail, "client", client);
  if (issuer != NULL)
    json_object_set_string_member (detail, "issuer", issuer);
  if (session != NULL)
    {
      g_autofree gchar *actor = request_who_session (session);

      g_clear_pointer (&self->oidc_unreachable, g_free);

      json_object_set_string_member (detail, "role", hgd_role_to_string (session->role));
      json_object_set_string_member (detail, "subject", session->subject);
      if (session->display_name != NULL)
        json_object_set_string_member (detail, "name", session->display_name);
      hgd_access_log_record (self->access_log, HG_DOMAIN_MUNICIPAL, actor, "login", NULL, detail);
      journal_auth_event (self, "auth.login", detail);
      return;
    }
  oidc_error_to_http (error, &status, &code);
  if (g_error_matches (error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_UNAVAILABLE))
    {
      g_free (self->oidc_unreachable);
      self->oidc_unreachable = g_strdup (error->message);
    }
  json_object_set_string_member (detail, "reason", code);
  json_object_set_string_member (detail, "message", error->message);
  hgd_access_log_record (self->access_log, HG_DOMAIN_MUNICIPAL, NULL, "login.failed", NULL,
                         detail);
  journal_auth_event (self, "auth.refused", detail);
  g_message ("a login through the identity provider was refused: %s", error->message);
}

static void
handle_oidc_info (HgdApi *self,
                  HgdApiRequest *req)
{
  JsonObject *object = json_object_new ();
  gboolean enabled = hgd_oidc_is_configured (self->oidc);

  json_object_set_boolean_member (object, "enabled", enabled);
  if (enabled)
    json_object_set_string_member (object, "display_name",
                                   hgd_oidc_get_display_name (self->oidc));
  respond_json (req, SOUP_STATUS_OK, object);
}

static void
oidc_login_cb (GObject *source,
               GAsyncResult *result,
               gpointer user_data)
{
  g_autoptr(HgdApiRequest) req = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *location = hgd_oidc_begin_login_finish (HGD_OIDC (source), result, &error);

  if (req->api == NULL)
    return;
  if (location == NULL)
    {
      if (!g_error_matches (error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_NOT_CONFIGURED))
        log_oidc_login (req->api, req, NULL, error);
      respond_oidc_error (req, error);
    }
  else
    {
      respond_redirect (req, SOUP_STATUS_FOUND, location);
    }
  request_resume (req);
}

static void
handle_oidc_login (HgdApi *self,
                   HgdApiRequest *req)
{
  request_pause (req);
  hgd_oidc_begin_login_async (self->oidc, self->cancellable, oidc_login_cb, request_ref (req));
}

static void respond_oidc_session (HgdApiRequest *req,
                                  HgdOidcLogin *login);

static void
oidc_callback_cb (GObject *source,
                  GAsyncResult *result,
                  gpointer user_data)
{
  g_autoptr(HgdApiRequest) req = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdOidcLogin) login = hgd_oidc_complete_login_finish (HGD_OIDC (source), result,
                                                                  &error);

  if (req->api == NULL)
    return;
  if (login == NULL)
    {
      if (!g_error_matches (error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_NOT_CONFIGURED))
        log_oidc_login (req->api, req, NULL, error);
      respond_oidc_error (req, error);
      request_resume (req);
      return;
    }
  respond_oidc_session (req, login);
  request_resume (req);
}

/* Opens the gateway's session for @login and answers with it, as a password login does:
 * its token, also as the cookie; a browser goes on to the web UI. */
static void
respond_oidc_session (HgdApiRequest *req,
                      HgdOidcLogin *login)
{
  g_autoptr(HgdSession) session = NULL;
  g_autofree gchar *expires = NULL;
  HgdSessionIdentity identity = { 0 };
  JsonObject *object;

  identity.issuer = login->issuer;
  identity.subject = login->subject;
  identity.display_name = login->display_name;
  identity.sid = login->sid;
  identity.id_token = login->id_token;
  identity.refresh_token = login->refresh_token;
  session = hgd_accounts_open_external_session (req->api->accounts, &identity, login->role,
                                                login->expires);
  log_oidc_login (req->api, req, session, NULL);
  set_session_cookie (req->api, req, session->token,
                      (session->expires - g_get_real_time ()) / G_USEC_PER_SEC);
  if (request_wants_html (req))
    {
      respond_redirect (req, SOUP_STATUS_SEE_OTHER, "/");
      return;
    }
  expires = iso8601_from_usec (session->expires);
  object = json_object_new ();
  json_object_set_string_member (object, "token", session->token);
  json_object_set_string_member (object, "username", session->username);
  json_object_set_string_member (object, "role", hgd_role_to_string (session->role));
  json_object_set_string_member (object, "domain",
                                 hg_domain_to_string (hgd_role_get_domain (session->role)));
  json_object_set_string_member (object, "expires", expires);
  json_object_set_string_member (object, "issuer", session->issuer);
  json_object_set_string_member (object, "subject", session->subject);
  if (session->display_name != NULL)
    json_object_set_string_member (object, "name", session->display_name);
  respond_json (req, SOUP_STATUS_OK, object);
}

static void
handle_oidc_callback (HgdApi *self,
                      HgdApiRequest *req)
{
  request_pause (req);
  hgd_oidc_complete_login_async (self->oidc, req->query, self->cancellable, oidc_callback_cb,
                                 request_ref (req));
}

static void
oidc_logout_cb (GObject *source,
                GAsyncResult *result,
                gpointer user_data)
{
  g_autoptr(HgdApiRequest) req = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *subject = NULL;
  g_autofree gchar *sid = NULL;
  g_autoptr(JsonObject) detail = json_object_new ();
  g_autofree gchar *actor = NULL;
  const gchar *issuer;
  guint n;

  if (!hgd_oidc_verify_logout_finish (HGD_OIDC (source), result, &subject, &sid, &error))
    {
      guint status;
      const gchar *code;

      if (req->api == NULL)
        return;
      oidc_error_to_http (error, &status, &code);
      if (!g_error_matches (error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_NOT_CONFIGURED))
        {
          json_object_set_string_member (detail, "method", "oidc-backchannel");
          json_object_set_string_member (detail, "reason", code);
          json_object_set_string_member (detail, "message", error->message);
          hgd_access_log_record (req->api->access_log, HG_DOMAIN_MUNICIPAL, NULL,
                                 "logout.refused", NULL, detail);
          g_message ("a back-channel logout was refused: %s", error->message);
          /* Back-Channel Logout 1.0, 2.8: 400 for a token that fails validation */
          status = status == SOUP_STATUS_BAD_GATEWAY ? status : SOUP_STATUS_BAD_REQUEST;
        }
      set_error_response (req->msg, status, code, error->message);
      request_resume (req);
      return;
    }
  if (req->api == NULL)
    return;
  issuer = hgd_oidc_get_issuer (req->api->oidc);
  n = hgd_accounts_revoke_external_sessions (req->api->accounts, issuer, subject, sid);
  close_ended_streams (req->api);
  json_object_set_string_member (detail, "method", "oidc-backchannel");
  json_object_set_string_member (detail, "issuer", issuer);
  if (subject != NULL)
    json_object_set_string_member (detail, "subject", subject);
  json_object_set_int_member (detail, "sessions", n);
  actor = subject != NULL ? g_strdup_printf ("user:oidc:%s", subject) : NULL;
  hgd_access_log_record (req->api->access_log, HG_DOMAIN_MUNICIPAL, actor, "logout", NULL,
                         detail);
  journal_auth_event (req->api, "auth.logout", detail);
  soup_message_headers_replace (soup_server_message_get_response_headers (req->msg),
                                "Cache-Control", "no-store");
  respond_empty (req, SOUP_STATUS_OK);
  request_resume (req);
}

static void
handle_oidc_backchannel_logout (HgdApi *self,
                                HgdApiRequest *req)
{
  const gchar *token = g_hash_table_lookup (req->form, "logout_token");

  request_pause (req);
  hgd_oidc_verify_logout_async (self->oidc, token, self->cancellable, oidc_logout_cb,
                                request_ref (req));
}

static void
oidc_device_cb (GObject *source,
                GAsyncResult *result,
                gpointer user_data)
{
  g_autoptr(HgdApiRequest) req = user_data;
  g_autoptr(GError) error = NULL;
  JsonObject *answer = hgd_oidc_begin_device_finish (HGD_OIDC (source), result, &error);

  if (req->api == NULL)
    {
      g_clear_pointer (&answer, json_object_unref);
      return;
    }
  if (answer == NULL)
    {
      if (!g_error_matches (error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_NOT_CONFIGURED))
        log_oidc_login (req->api, req, NULL, error);
      respond_oidc_error (req, error);
    }
  else
    {
      respond_json (req, SOUP_STATUS_OK, answer);
    }
  request_resume (req);
}

static void
handle_oidc_device (HgdApi *self,
                    HgdApiRequest *req)
{
  request_pause (req);
  hgd_oidc_begin_device_async (self->oidc, self->cancellable, oidc_device_cb, request_ref (req));
}

static void
oidc_device_token_cb (GObject *source,
                      GAsyncResult *result,
                      gpointer user_data)
{
  g_autoptr(HgdApiRequest) req = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdOidcLogin) login = hgd_oidc_poll_device_finish (HGD_OIDC (source), result, &error);

  if (req->api == NULL)
    return;
  if (login == NULL)
    {
      /* waiting for the user is no refusal */
      if (!g_error_matches (error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_NOT_CONFIGURED) &&
          !g_error_matches (error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_PENDING))
        log_oidc_login (req->api, req, NULL, error);
      respond_oidc_error (req, error);
    }
  else
    {
      respond_oidc_session (req, login);
    }
  request_resume (req);
}

static void
handle_oidc_device_token (HgdApi *self,
                          HgdApiRequest *req)
{
  static const gchar *const members[] = { "device_code", NULL };
  const gchar *device_code = NULL;
  g_autoptr(GError) error = NULL;

  if (!hg_json_object_check_members (req->body, members, &error) ||
      !hg_json_object_get_string (req->body, "device_code", &device_code, &error))
    {
      respond_invalid (req, error);
      return;
    }
  request_pause (req);
  hgd_oidc_poll_device_async (self->oidc, device_code, self->cancellable, oidc_device_token_cb,
                              request_ref (req));
}

/* Operations ---------------------------------------------------------------------------- */

static const gchar *
journal_subsystem_name (HgDomain domain)
{
  return domain == HG_DOMAIN_MUNICIPAL ? "journal-municipal" : "journal-personal";
}

static const gchar *
access_log_subsystem_name (HgDomain domain)
{
  return domain == HG_DOMAIN_MUNICIPAL ? "access-log-municipal" : "access-log-personal";
}

/* The fault of @domain's journal, or NULL when it is healthy. */
static const gchar *
journal_fault (HgdApi *self,
               HgDomain domain)
{
  HgdJournal *journal = self->journals[domain];
  const GError *error;

  if (journal != NULL)
    return hgd_journal_get_fault (journal);
  error = self->journal_errors[domain];
  return error != NULL ? error->message : "not open";
}

/* How full @domain's journal is against its size budget: NULL while below
 * HGD_JOURNAL_SIZE_WARNING_PERCENT, else why (a fault past the budget). Retention keeps a
 * journal well below the warning by removing what belongs to no alarm, so a warning
 * means alarms fill it. How much the journal of another domain than @caller's holds is
 * not said: for the personal one, that is how active the resident is at home. */
static gchar *
journal_size_warning (HgdApi *self,
                      HgDomain domain,
                      HgDomain caller,
                      gboolean *over_budget)
{
  HgdJournal *journal = self->journals[domain];
  g_autoptr(GError) error = NULL;
  g_autofree gchar *used_text = NULL;
  g_autofree gchar *budget_text = NULL;
  guint64 budget;
  guint64 bound;
  guint64 used = 0;

  *over_budget = FALSE;
  if (journal == NULL || (budget = hgd_journal_get_size_budget (journal)) == 0)
    return NULL;
  /* well below: no need to ask SQLite (the usual case, and on every health request) */
  bound = hgd_journal_get_used_size_bound (journal);
  if (bound <= G_MAXUINT64 / 100 && bound * 100 < budget * HGD_JOURNAL_SIZE_WARNING_PERCENT)
    return NULL;
  if (!hgd_journal_get_used_size (journal, &used, &error))
    {
      g_debug ("journal size not reported: %s", error->message);
      return NULL;
    }
  if (used * 100 < budget * HGD_JOURNAL_SIZE_WARNING_PERCENT)
    return NULL;
  *over_budget = used >= budget;
  if (domain != caller)
    return g_strdup_printf ("the journal is %s its size budget; raise [journal] %s-size-budget",
                            *over_budget ? "past" : "near", hg_domain_to_string (domain));
  used_text = g_format_size_full (used, G_FORMAT_SIZE_IEC_UNITS);
  budget_text = g_format_size_full (budget, G_FORMAT_SIZE_IEC_UNITS);
  return g_strdup_printf ("the journal holds %s, %u %% of its size budget of %s; retention "
                          "removes only events that belong to no alarm, so alarms and their "
                          "events fill it; raise [journal] %s-size-budget",
                          used_text, (guint) (used * 100 / budget), budget_text,
                          hg_domain_to_string (domain));
}

static void
add_subsystem (JsonObject *subsystems,
               const gchar *name,
               const gchar *fault,
               gboolean details)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "status", fault == NULL ? "ok" : "fault");
  if (fault != NULL && details)
    json_object_set_string_member (object, "message", fault);
  json_object_set_object_member (subsystems, name, object);
}

static void
add_subsystem_warning (JsonObject *subsystems,
                       const gchar *name,
                       const gchar *warning,
                       gboolean details)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "status", "warning");
  if (details)
    json_object_set_string_member (object, "message", warning);
  json_object_set_object_member (subsystems, name, object);
}

/* The identity provider ([oidc]), when there is one: a warning, never a fault (it leaves
 * the overall status alone), while the last login through it failed for want of it, and
 * once a local municipal account logged in instead (break-glass), so that IT sees both. */
static void
add_identity_provider (HgdApi *self,
                       JsonObject *subsystems,
                       gboolean details)
{
  g_autoptr(GString) warning = NULL;

  if (!hgd_oidc_is_configured (self->oidc))
    return;
  if (self->oidc_unreachable != NULL)
    warning = g_string_new (self->oidc_unreachable);
  if (self->break_glass_logins > 0)
    {
      g_autofree gchar *last = iso8601_from_usec (self->last_break_glass);

      if (warning == NULL)
        warning = g_string_new (NULL);
      else
        g_string_append (warning, "; ");
      g_string_append_printf (warning, "%u break-glass login%s of local municipal accounts "
                              "since the start, the last at %s",
                              self->break_glass_logins, self->break_glass_logins == 1 ? "" : "s",
                              last);
    }
  if (warning != NULL)
    add_subsystem_warning (subsystems, "identity-provider", warning->str, details);
  else
    add_subsystem (subsystems, "identity-provider", NULL, details);
}

/* The plugin hosts' sandbox (hgd-sandbox.c): a warning, never a fault, while a
 * protection is off (hemgated not root in development, `[plugins] sandbox = off`); it
 * leaves the overall status alone. The full form says per domain which are on. */
static void
add_isolation (HgdApi *self,
               JsonObject *subsystems,
               gboolean details)
{
  g_autofree gchar *warning = NULL;
  g_autoptr(JsonObject) status = hgd_sandbox_status_to_json (self->config, &warning);
  JsonObject *object;

  if (warning != NULL)
    add_subsystem_warning (subsystems, "isolation", warning, details);
  else
    add_subsystem (subsystems, "isolation", NULL, details);
  object = json_object_get_object_member (subsystems, "isolation");
  if (details)
    json_object_set_object_member (object, "protections", g_steal_pointer (&status));
}

static void
handle_health (HgdApi *self,
               HgdApiRequest *req)
{
  HgdPluginManager *plugins = self->plugins;
  HgdJournal *municipal_journal = self->journals[HG_DOMAIN_MUNICIPAL];
  g_autoptr(JsonObject) plugin_view = NULL;
  gboolean plugins_healthy = TRUE;
  g_autofree gchar *delivery_fault = NULL;
  gboolean healthy;
  gboolean warned = FALSE;
  gboolean municipal = req->session != NULL && !request_is_limited (req); /* the full form */
  const gchar *faults[HG_DOMAIN_LAST];
  gchar *size_warnings[HG_DOMAIN_LAST] = { NULL }; /* (owned) */
  g_autoptr(GString) limits_warning = NULL;
  HgdLimits *limits = plugins != NULL ? hgd_plugin_manager_get_limits (plugins) : NULL;
  HgdBundles *bundles = plugins != NULL ? hgd_plugin_manager_get_bundles (plugins) : NULL;
  g_autofree gchar *bundles_warning = NULL; /* the caller's domain's plugins, key revoked */
  JsonObject *object = json_object_new ();
  /* the keyrings: a domain whose keyring is not open has no credentials (hgd-keyring.c);
   * then a secret a municipal plugin asked for and has not got: the instance and the key */
  g_autofree gchar *keyring_fault = self->secrets != NULL ? hgd_secrets_dup_fault (self->secrets)
                                                          : NULL;
  g_autoptr(GString) missing = g_string_new (keyring_fault);
  g_autofree gchar *secrets_fault = NULL;

  /* what only the full form shows is built only for it: an anonymous probe, which may come
   * often, needs the status alone */
  if (plugins != NULL)
    {
      plugins_healthy = hgd_plugin_manager_check_health (plugins, missing);
      if (municipal)
        plugin_view = hgd_plugin_manager_to_json_for_domain (plugins, HG_DOMAIN_MUNICIPAL, NULL);
      delivery_fault = hgd_plugin_manager_dup_delivery_fault (plugins);
    }
  secrets_fault = missing->len > 0 ? g_strdup (missing->str) : NULL;
  /* an alarm the alarm centre has not confirmed is a fault until it does, whatever the
   * plugin says now (it may have restarted) */
  if (delivery_fault == NULL && municipal_journal != NULL)
    {
      g_autoptr(GError) error = NULL;
      gint64 failed = hgd_journal_count_alarms_in_state (municipal_journal,
                                                         HG_ALARM_STATE_DELIVERY_FAILED, &error);

      if (failed < 0)
        g_debug ("health: %s", error->message);
      else if (failed > 0)
        delivery_fault = g_strdup_printf ("delivery failed: %" G_GINT64_FORMAT " alarm%s not "
                                          "confirmed by the alarm centre",
                                          failed, failed == 1 ? "" : "s");
    }
  healthy = plugins_healthy && delivery_fault == NULL && secrets_fault == NULL;
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    healthy = healthy && hgd_access_log_get_fault (self->access_log, (HgDomain) i) == NULL;
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      gboolean over_budget = FALSE;

      faults[i] = journal_fault (self, (HgDomain) i);
      if (faults[i] == NULL)
        size_warnings[i] = journal_size_warning (
            self, (HgDomain) i, req->session != NULL ? request_domain (req) : HG_DOMAIN_PERSONAL,
            &over_budget);
      if (over_budget)
        faults[i] = size_warnings[i];
      healthy = healthy && faults[i] == NULL;
      warned = warned || size_warnings[i] != NULL;
    }
  /* a domain over its event rate, or a host that runs unlimited */
  for (guint i = 0; limits != NULL && i < HG_DOMAIN_LAST; i++)
    {
      g_autofree gchar *warning = hgd_limits_dup_warning (
          limits, (HgDomain) i, req->session != NULL ? request_domain (req) : HG_DOMAIN_PERSONAL);

      if (warning == NULL)
        continue;
      if (limits_warning == NULL)
        limits_warning = g_string_new (warning);
      else
        g_string_append_printf (limits_warning, "; %s", warning);
    }
  warned = warned || limits_warning != NULL;
  if (req->session != NULL && bundles != NULL)
    bundles_warning = hgd_bundles_dup_warning (bundles, request_domain (req));
  warned = warned || bundles_warning != NULL;
  json_object_set_string_member (object, "status",
                                 !healthy ? "degraded" : warned ? "warning" : "ok");

  if (req->session != NULL)
    {
      JsonObject *subsystems = json_object_new ();
      for (guint i = 0; i < HG_DOMAIN_LAST; i++)
        {
          if (faults[i] == NULL && size_warnings[i] != NULL)
            add_subsystem_warning (subsystems, journal_subsystem_name ((HgDomain) i),
                                   size_warnings[i], municipal);
          else
            add_subsystem (subsystems, journal_subsystem_name ((HgDomain) i), faults[i],
                           municipal);
        }
      add_subsystem (subsystems, "api", NULL, municipal);
      add_subsystem (subsystems, "plugins", plugins_healthy ? NULL : "a plugin is not running",
                     municipal);
      add_subsystem (subsystems, "alarm-delivery", delivery_fault, municipal);
      if (limits_warning != NULL)
        add_subsystem_warning (subsystems, "limits", limits_warning->str, municipal);
      else
        add_subsystem (subsystems, "limits", NULL, municipal);
      /* each caller sees its own domain's: the resident too, whose key it was */
      if (bundles_warning != NULL)
        add_subsystem_warning (subsystems, "bundles", bundles_warning, TRUE);
      else
        add_subsystem (subsystems, "bundles", NULL, TRUE);
      for (guint i = 0; i < HG_DOMAIN_LAST; i++)
        add_subsystem (subsystems, access_log_subsystem_name ((HgDomain) i),
                       hgd_access_log_get_fault (self->access_log, (HgDomain) i), municipal);
      add_isolation (self, subsystems, municipal);
      if (self->secrets != NULL)
        {
          add_subsystem (subsystems, "secrets", secrets_fault, municipal);
          if (municipal)
            json_object_set_object_member (json_object_get_object_member (subsystems, "secrets"),
                                           "keyrings",
                                           hgd_secrets_status_to_json (self->secrets, NULL));
        }
      add_identity_provider (self, subsystems, municipal);
      json_object_set_object_member (object, "subsystems", subsystems);
    }
  if (municipal)
    {
      JsonArray *visible
          = plugin_view != NULL ? json_object_get_array_member (plugin_view, "plugins") : NULL;

      json_object_set_string_member (object, "version", PACKAGE_VERSION);
      json_object_set_int_member (object, "uptime",
                                  (g_get_real_time () - self->start_time) / G_USEC_PER_SEC);
      /* the municipal instances; of the resident's own, only how many and whether they run */
      json_object_set_array_member (object, "plugins",
                                    visible != NULL ? json_array_ref (visible) : json_array_new ());
      if (plugin_view != NULL)
        json_object_set_object_member (
            object, "personal_plugins",
            json_object_ref (json_object_get_object_member (plugin_view, "personal_plugins")));
      /* what limits each domain's share of the machine, and how (hgd-limits.c) */
      if (limits != NULL)
        json_object_set_object_member (object, "limits", hgd_limits_to_json (limits, request_domain (req)));
    }
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    g_free (size_warnings[i]);
  respond_json (req, SOUP_STATUS_OK, object);
}

static void
handle_openapi (HgdApi *self,
                HgdApiRequest *req)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  bytes
      = g_resource_lookup_data (hgd_api_resources_get_resource (), "/org/hemgate/api/openapi.json",
                                G_RESOURCE_LOOKUP_FLAGS_NONE, &error);
  if (bytes == NULL)
    {
      respond_gerror (req, error);
      return;
    }
  soup_server_message_set_status (req->msg, SOUP_STATUS_OK, NULL);
  soup_message_headers_set_content_type (soup_server_message_get_response_headers (req->msg),
                                         "application/json", NULL);
  soup_message_body_append_bytes (soup_server_message_get_response_body (req->msg), bytes);
}

/* A Prometheus label value: backslash, double quote and newline escaped. */
static void
append_label_value (GString *out,
                    const gchar *value)
{
  for (const gchar *p = value; *p != '\0'; p++)
    {
      if (*p == '\\' || *p == '"')
        g_string_append_c (out, '\\');
      if (*p == '\n')
        {
          g_string_append (out, "\\n");
          continue;
        }
      g_string_append_c (out, *p);
    }
}

static void
append_metric_header (GString *out,
                      const gchar *name,
                      const gchar *type,
                      const gchar *help)
{
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
handle_metrics (HgdApi *self,
                HgdApiRequest *req)
{
  g_autoptr(GString) out = g_string_new (NULL);
  HgdPluginManager *plugins = self->plugins;
  HgdJournal *municipal = self->journals[HG_DOMAIN_MUNICIPAL];
  g_autoptr(JsonObject) plugin_view = NULL;
  JsonArray *plugin_array = NULL;
  JsonObject *personal_plugins = NULL;
  gboolean plugins_healthy = TRUE;
  gsize len;
  gchar *text;

  append_metric_header (out, "hemgate_up", "gauge", "Whether hemgated is answering.");
  g_string_append (out, "hemgate_up 1\n");
  append_metric_header (out, "hemgate_build_info", "gauge", "The version of hemgated.");
  g_string_append (out, "hemgate_build_info{version=\"" PACKAGE_VERSION "\"} 1\n");
  append_metric_header (out, "hemgate_start_time_seconds", "gauge",
                        "When hemgated started, in Unix time.");
  g_string_append_printf (out, "hemgate_start_time_seconds %" G_GINT64_FORMAT "\n",
                          self->start_time / G_USEC_PER_SEC);

  /* the caller's domain only: a count of the resident's events, read by the minute, tells
   * how active they are at home */
  append_metric_header (out, "hemgate_events_total", "counter", "Events journaled, by domain.");
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      HgdJournal *journal = self->journals[i];
      if (journal == NULL || (HgDomain) i != request_domain (req))
        continue;
      g_string_append_printf (out, "hemgate_events_total{domain=\"%s\"} %" G_GUINT64_FORMAT "\n",
                              hg_domain_to_string ((HgDomain)i),
                              hgd_journal_get_last_seq (journal));
    }
  append_metric_header (out, "hemgate_journal_fault", "gauge",
                        "1 when a domain's journal has a fault.");
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    g_string_append_printf (out, "hemgate_journal_fault{domain=\"%s\"} %d\n",
                            hg_domain_to_string ((HgDomain)i),
                            journal_fault (self, (HgDomain)i) != NULL ? 1 : 0);
  /* the municipal journal only: the personal one's size would tell how active the
   * resident is at home */
  append_metric_header (out, "hemgate_journal_bytes", "gauge",
                        "What the municipal journal holds, against its size budget.");
  if (municipal != NULL)
    {
      g_autoptr(GError) error = NULL;
      guint64 used = 0;

      if (hgd_journal_get_used_size (municipal, &used, &error))
        g_string_append_printf (out,
                                "hemgate_journal_bytes{domain=\"municipal\"} %" G_GUINT64_FORMAT
                                "\n",
                                used);
      else
        g_debug ("journal_bytes omitted from metrics: %s", error->message);
    }
  append_metric_header (out, "hemgate_journal_budget_bytes", "gauge",
                        "A domain's journal size budget ([journal] <domain>-size-budget).");
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      HgdJournal *journal = self->journals[i];

      if (journal != NULL)
        g_string_append_printf (out,
                                "hemgate_journal_budget_bytes{domain=\"%s\"} %" G_GUINT64_FORMAT
                                "\n",
                                hg_domain_to_string ((HgDomain) i),
                                hgd_journal_get_size_budget (journal));
    }

  if (municipal != NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) open_alarms = hgd_journal_list_alarms (municipal, TRUE, &error);
      if (open_alarms != NULL)
        {
          append_metric_header (out, "hemgate_alarms_open", "gauge",
                                "Alarms not yet closed or cancelled.");
          g_string_append_printf (out, "hemgate_alarms_open %u\n", open_alarms->len);
        }
      else
        {
          g_debug ("alarms_open omitted from metrics: %s", error->message);
        }
    }

  append_metric_header (out, "hemgate_http_requests_total", "counter",
                        "HTTP requests answered, by status.");
  for (guint status = 0; status < N_STATUS; status++)
    {
      if (self->requests[status] > 0)
        g_string_append_printf (
            out, "hemgate_http_requests_total{status=\"%u\"} %" G_GUINT64_FORMAT "\n", status,
            self->requests[status]);
    }
  append_metric_header (out, "hemgate_http_requests_aborted_total", "counter",
                        "HTTP requests whose client left before the answer.");
  g_string_append_printf (out, "hemgate_http_requests_aborted_total %" G_GUINT64_FORMAT "\n",
                          self->aborted);
  append_metric_header (out, "hemgate_http_connections", "gauge", "Open HTTP connections.");
  g_string_append_printf (out, "hemgate_http_connections %u\n",
                          g_hash_table_size (self->connections));
  append_metric_header (out, "hemgate_http_connections_timed_out_total", "counter",
                        "HTTP connections closed because the request was not complete within "
                        "[api] request-timeout.");
  g_string_append_printf (out, "hemgate_http_connections_timed_out_total %" G_GUINT64_FORMAT "\n",
                          self->timed_out);
  append_metric_header (out, "hemgate_http_connections_refused_total", "counter",
                        "HTTP connections closed at once because [api] max-connections were open.");
  g_string_append_printf (out, "hemgate_http_connections_refused_total %" G_GUINT64_FORMAT "\n",
                          self->refused);
  append_metric_header (out, "hemgate_event_streams", "gauge", "Open events WebSockets.");
  g_string_append_printf (out, "hemgate_event_streams %u\n", self->streams->len);

  if (plugins != NULL)
    {
      plugin_view = hgd_plugin_manager_to_json_for_domain (plugins, request_domain (req),
                                                           &plugins_healthy);
      plugin_array = json_object_get_array_member (plugin_view, "plugins");
      personal_plugins = json_object_get_object_member (plugin_view, "personal_plugins");
    }
  append_metric_header (out, "hemgate_plugin_restarts_total", "counter",
                        "Restarts of each plugin instance.");
  for (guint i = 0; plugin_array != NULL && i < json_array_get_length (plugin_array); i++)
    {
      JsonObject *plugin = json_array_get_object_element (plugin_array, i);
      const gchar *id = NULL;
      gint64 restarts = 0;
      if (plugin == NULL || !hg_json_object_get_string (plugin, "id", &id, NULL) ||
          !hg_json_object_get_optional_int (plugin, "restarts", 0, G_MAXINT64, &restarts, NULL))
        continue;
      g_string_append (out, "hemgate_plugin_restarts_total{plugin=\"");
      append_label_value (out, id);
      g_string_append_printf (out, "\"} %" G_GINT64_FORMAT "\n", restarts);
    }
  append_metric_header (out, "hemgate_plugin_up", "gauge", "1 when a plugin instance is running.");
  for (guint i = 0; plugin_array != NULL && i < json_array_get_length (plugin_array); i++)
    {
      JsonObject *plugin = json_array_get_object_element (plugin_array, i);
      const gchar *id = NULL;
      const gchar *state = NULL;
      if (plugin == NULL || !hg_json_object_get_string (plugin, "id", &id, NULL) ||
          !hg_json_object_get_optional_string (plugin, "state", &state, NULL))
        continue;
      g_string_append (out, "hemgate_plugin_up{plugin=\"");
      append_label_value (out, id);
      g_string_append_printf (out, "\"} %d\n", g_strcmp0 (state, "running") == 0 ? 1 : 0);
    }
  if (personal_plugins != NULL)
    {
      append_metric_header (out, "hemgate_personal_plugins", "gauge",
                            "Plugin instances of the personal domain (only their number).");
      g_string_append_printf (out, "hemgate_personal_plugins %" G_GINT64_FORMAT "\n",
                              json_object_get_int_member (personal_plugins, "instances"));
      append_metric_header (out, "hemgate_personal_plugins_running", "gauge",
                            "Plugin instances of the personal domain that run.");
      g_string_append_printf (out, "hemgate_personal_plugins_running %" G_GINT64_FORMAT "\n",
                              json_object_get_int_member (personal_plugins, "running"));
    }

  len = out->len;
  text = g_string_free (g_steal_pointer (&out), FALSE);
  soup_server_message_set_status (req->msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (req->msg, "text/plain; version=0.0.4; charset=utf-8",
                                    SOUP_MEMORY_TAKE, text, len);
}

/* Events -------------------------------------------------------------------------------- */

static JsonObject *
object_copy (JsonObject *object)
{
  JsonObject *copy = json_object_new ();
  JsonObjectIter iter;
  const gchar *name;
  JsonNode *node;

  json_object_iter_init (&iter, object);
  while (json_object_iter_next (&iter, &name, &node))
    json_object_set_member (copy, name, json_node_copy (node));
  return copy;
}

static gboolean source_is_personal_plugin (HgdApi *self, const gchar *source);

/* @event as a caller of @role may see it, or NULL: whether at all is
 * hgd_grants_event_visible ()'s decision; and the personal detail of an alarm the home's
 * devices raised is taken out for municipal callers, as in (d), unless a share-alarms
 * grant of its type lets them have it: then @personal_read is set to `alarm:<ref>`, a
 * read of personal data the caller logs. */
static JsonObject *
event_to_json_for (HgdApi *self,
                   HgdRole role,
                   const gchar *username,
                   HgEvent *event,
                   gint64 now,
                   gchar **personal_read)
{
  JsonObject *object;
  JsonObject *body;
  JsonObject *alarm;
  JsonNode *alarm_node;

  if (!hgd_grants_event_visible (self->grants, role, username, event, now))
    return NULL;
  object = hg_event_to_json (event);
  if (g_str_equal (hg_event_get_event_type (event), "alarm.own"))
    {
      g_autoptr(JsonObject) whole = object;
      return hgd_own_alarms_narrow_for (whole, username);
    }
  if (hgd_role_get_domain (role) != HG_DOMAIN_MUNICIPAL ||
      hg_event_get_domain (event) != HG_DOMAIN_MUNICIPAL ||
      !g_str_has_prefix (hg_event_get_event_type (event), "alarm."))
    return object;
  /* alarm.raised: the body is the alarm; the others carry it as "alarm" */
  body = hg_event_get_body (event);
  alarm_node = json_object_get_member (body, "alarm");
  alarm = alarm_node != NULL && JSON_NODE_HOLDS_OBJECT (alarm_node) ? json_node_get_object (alarm_node)
                                                                     : body;
  if (!json_object_has_member (alarm, "detail") ||
      !source_is_personal_plugin (
          self, json_object_get_string_member_with_default (alarm, "source", NULL)))
    return object;
  if (hgd_grants_allows (self->grants, role, username, HGD_GRANT_ALARM_DETAIL,
                         json_object_get_string_member_with_default (alarm, "type", NULL), now))
    {
      if (personal_read != NULL)
        *personal_read = g_strdup_printf (
            "alarm:%s", json_object_get_string_member_with_default (alarm, "ref", ""));
      return object;
    }
  /* the event's body is shared: change a copy */
  body = object_copy (body);
  alarm = alarm == hg_event_get_body (event) ? body : json_object_get_object_member (body, "alarm");
  json_object_remove_member (alarm, "detail");
  json_object_set_object_member (object, "body", body);
  return object;
}

/* What the dispatcher learnt about a WebSocket caller, kept on the message until the
 * handshake completes. */
typedef struct
{
  gchar *token;        /* (owned) re-checked while the stream is open */
  HgDomain domain;
  HgdRole role;
  gchar *username;     /* (owned) whom the events are for */
  gboolean replay;     /* ?after= was given */
  guint64 after;
} StreamRequest;

static void
stream_request_free (StreamRequest *sr)
{
  g_free (sr->token);
  g_free (sr->username);
  g_free (sr);
}

static void
handle_events (HgdApi *self,
               HgdApiRequest *req)
{
  static const gchar *const allowed[] = { "after", "limit", NULL };
  HgDomain domain = request_domain (req);
  HgdJournal *journal = self->journals[domain];
  guint64 after = 0;
  guint64 limit = EVENTS_DEFAULT_LIMIT;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *object;
  JsonArray *array;

  if (!check_query (req, allowed) ||
      !query_get_uint64 (req, "after", 0, G_MAXINT64, &after) ||
      !query_get_uint64 (req, "limit", 1, EVENTS_MAX_LIMIT, &limit))
    return;
  if (journal == NULL)
    {
      respond_error (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "journal-unavailable",
                     "the %s journal is unavailable", hg_domain_to_string (domain));
      return;
    }

  if (is_websocket_upgrade (req->msg))
    {
      StreamRequest *sr = g_new0 (StreamRequest, 1);
      sr->token = g_strdup (req->token);
      sr->domain = domain;
      sr->role = req->session->role;
      sr->username = g_strdup (req->session->username);
      sr->replay = req->query != NULL && g_hash_table_contains (req->query, "after");
      sr->after = after;
      g_object_set_qdata_full (G_OBJECT (req->msg), quark_stream, sr,
                               (GDestroyNotify)stream_request_free);
      return; /* no status: libsoup completes the handshake and calls websocket_cb */
    }

  events = hgd_journal_query_events (journal, after, (guint) limit, &error);
  if (events == NULL)
    {
      respond_gerror (req, error);
      return;
    }
  array = json_array_sized_new (events->len);
  for (guint i = 0; i < events->len; i++)
    {
      g_autofree gchar *personal_read = NULL;
      JsonObject *event = event_to_json_for (self, req->session->role, req->session->username,
                                             g_ptr_array_index (events, i), g_get_real_time (),
                                             &personal_read);
      if (event != NULL)
        json_array_add_object_element (array, event);
      if (personal_read != NULL)
        request_note_personal_read (req, personal_read, "events");
    }
  object = json_object_new ();
  json_object_set_array_member (object, "events", array);
  json_object_set_int_member (object, "last_seq", (gint64) hgd_journal_get_last_seq (journal));
  respond_json (req, SOUP_STATUS_OK, object);
}

/* An open events WebSocket: first a replay from the journal, then live events. */
typedef struct
{
  HgdApi *api;                   /* (unowned) owns the stream */
  SoupWebsocketConnection *conn; /* (owned) */
  HgdJournal *journal;           /* (owned) the caller's domain's journal */
  gchar *token;                  /* (owned) */
  HgDomain domain;
  HgdRole role;
  gchar *username;               /* (owned) whom the events are for */
  guint64 last_seq;              /* the last sequence sent, or passed over */
  gboolean live;                 /* replay is over */
  guint replay_id;
  gulong closed_id;
  gulong message_id;
  GHashTable *shared_logged;     /* (owned) (nullable) what of the other domain this stream
                                  * was sent under a grant and the access log has: once each */
} EventStream;

static void event_stream_log_read (EventStream *stream, const gchar *what);

static void
event_stream_free (EventStream *stream)
{
  g_clear_handle_id (&stream->replay_id, g_source_remove);
  g_clear_signal_handler (&stream->closed_id, stream->conn);
  g_clear_signal_handler (&stream->message_id, stream->conn);
  /* a client that goes away closes its channels; their plugins are told */
  if (stream->api != NULL && stream->api->plugins != NULL)
    hgd_channels_close_owner (hgd_plugin_manager_get_channels (stream->api->plugins), stream);
  if (soup_websocket_connection_get_state (stream->conn) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (stream->conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
  g_object_unref (stream->conn);
  g_object_unref (stream->journal);
  g_free (stream->token);
  g_free (stream->username);
  g_clear_pointer (&stream->shared_logged, g_hash_table_unref);
  g_free (stream);
}

static void
event_stream_send (EventStream *stream,
                   HgEvent *event)
{
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(JsonObject) narrowed = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *personal_read = NULL;

  if (hg_event_get_seq (event) <= stream->last_seq)
    return;
  if (soup_websocket_connection_get_state (stream->conn) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  /* an event the caller may not see is passed over */
  stream->last_seq = hg_event_get_seq (event);
  object = event_to_json_for (stream->api, stream->role, stream->username, event,
                              g_get_real_time (), &personal_read);
  if (object == NULL)
    return;
  text = hg_json_object_to_string (object);
  soup_websocket_connection_send_text (stream->conn, text);
  if (personal_read != NULL)
    event_stream_log_read (stream, personal_read);
}

/* Replays in batches from the main loop, so a long absence does not stall other clients.
 * Live events that arrive meanwhile are left to the replay, which reads them from the
 * journal; the stream goes live in the same main-loop turn as its last read. */
static gboolean
event_stream_replay_cb (gpointer user_data)
{
  EventStream *stream = user_data;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;

  events = hgd_journal_query_events (stream->journal, stream->last_seq, REPLAY_BATCH, &error);
  if (events == NULL)
    {
      g_warning ("event stream replay failed: %s", error->message);
      stream->replay_id = 0;
      soup_websocket_connection_close (stream->conn, SOUP_WEBSOCKET_CLOSE_SERVER_ERROR,
                                       "journal unavailable");
      return G_SOURCE_REMOVE;
    }
  for (guint i = 0; i < events->len; i++)
    event_stream_send (stream, g_ptr_array_index (events, i));
  if (events->len < REPLAY_BATCH)
    {
      stream->live = TRUE;
      stream->replay_id = 0;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

/* Channels to plugin instances ride on the events WebSocket (HgdChannels): frames with an
 * `op`, which events never have. The client sends
 *   {"op": "channel-open", "plugin": ID, "ref": R}  (R: the client's own, echoed; an
 *     optional "purpose": "night-check" needs the resident's night-check consent)
 *   {"op": "channel-send", "channel": C, "message": {...}}
 *   {"op": "channel-close", "channel": C}
 * and is sent
 *   {"op": "channel-opened", "ref": R, "channel": C}
 *   {"op": "channel-message", "channel": C, "message": {...}}
 *   {"op": "channel-closed", "channel": C, "reason": "plugin" | "stopped" | "consent" | "limit"}
 *   {"op": "channel-error", "ref": R or "channel": C, "code": ..., "message": ...}
 * HgdChannels decides who may open which (role, domain, the instance's channel.serve). */
static void
stream_send_frame (EventStream *stream,
                   JsonObject *frame)
{
  g_autofree gchar *text = NULL;

  if (soup_websocket_connection_get_state (stream->conn) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  text = hg_json_object_to_string (frame);
  soup_websocket_connection_send_text (stream->conn, text);
}

static void
channel_sink_cb (const gchar *channel_id,
                 JsonObject *message,
                 const gchar *reason,
                 gpointer owner)
{
  EventStream *stream = owner;
  g_autoptr(JsonObject) frame = json_object_new ();

  json_object_set_string_member (frame, "op", message != NULL ? "channel-message"
                                                              : "channel-closed");
  json_object_set_string_member (frame, "channel", channel_id);
  if (message != NULL)
    json_object_set_object_member (frame, "message", json_object_ref (message));
  else
    json_object_set_string_member (frame, "reason", reason);
  stream_send_frame (stream, frame);
}

static const gchar *
channel_error_code (const GError *error)
{
  if (error->domain != HGD_CHANNELS_ERROR)
    return "invalid";
  switch (error->code)
    {
    case HGD_CHANNELS_ERROR_NO_INSTANCE:
      return "not-found";
    case HGD_CHANNELS_ERROR_NOT_SERVED:
      return "not-served";
    case HGD_CHANNELS_ERROR_ROLE:
      return "forbidden";
    case HGD_CHANNELS_ERROR_NOT_RUNNING:
      return "unavailable";
    case HGD_CHANNELS_ERROR_NOT_OPEN:
      return "not-open";
    case HGD_CHANNELS_ERROR_TOO_LARGE:
      return "too-large";
    case HGD_CHANNELS_ERROR_RATE:
      return "rate-limited";
    case HGD_CHANNELS_ERROR_PURPOSE:
      return "invalid";
    case HGD_CHANNELS_ERROR_NO_CONSENT:
      return "no-consent";
    default:
      return "invalid";
    }
}

static void
stream_send_channel_error (EventStream *stream,
                           const gchar *ref_member,
                           const gchar *ref,
                           const GError *error)
{
  g_autoptr(JsonObject) frame = json_object_new ();

  json_object_set_string_member (frame, "op", "channel-error");
  if (ref != NULL)
    json_object_set_string_member (frame, ref_member, ref);
  json_object_set_string_member (frame, "code", channel_error_code (error));
  json_object_set_string_member (frame, "message", error->message);
  stream_send_frame (stream, frame);
}

static void
stream_handle_frame (EventStream *stream,
                     JsonObject *frame)
{
  HgdChannels *channels = hgd_plugin_manager_get_channels (stream->api->plugins);
  g_autoptr(GError) error = NULL;
  const gchar *op = NULL;
  const gchar *ref = NULL;
  const gchar *channel = NULL;

  if (!hg_json_object_get_string (frame, "op", &op, &error))
    {
      stream_send_channel_error (stream, NULL, NULL, error);
      return;
    }
  if (g_str_equal (op, "channel-open"))
    {
      static const gchar *const members[] = { "op", "plugin", "ref", "purpose", NULL };
      const gchar *plugin = NULL;
      const gchar *purpose = NULL;
      g_autofree gchar *id = NULL;
      g_autoptr(JsonObject) opened = NULL;

      if (!hg_json_object_get_optional_string (frame, "ref", &ref, &error) ||
          !hg_json_object_check_members (frame, members, &error) ||
          !hg_json_object_get_string (frame, "plugin", &plugin, &error) ||
          !hg_json_object_get_optional_string (frame, "purpose", &purpose, &error))
        {
          stream_send_channel_error (stream, "ref", ref, error);
          return;
        }
      id = hgd_channels_open (channels, hgd_plugin_manager_find (stream->api->plugins, plugin),
                              stream->username, stream->role, purpose, channel_sink_cb, stream,
                              &error);
      if (id == NULL)
        {
          stream_send_channel_error (stream, "ref", ref, error);
          return;
        }
      opened = json_object_new ();
      json_object_set_string_member (opened, "op", "channel-opened");
      if (ref != NULL)
        json_object_set_string_member (opened, "ref", ref);
      json_object_set_string_member (opened, "channel", id);
      stream_send_frame (stream, opened);
    }
  else if (g_str_equal (op, "channel-send"))
    {
      static const gchar *const members[] = { "op", "channel", "message", NULL };
      JsonObject *message = NULL;

      if (!hg_json_object_get_string (frame, "channel", &channel, &error) ||
          !hg_json_object_check_members (frame, members, &error) ||
          !hg_json_object_get_object (frame, "message", &message, &error) ||
          !hgd_channels_client_send (channels, stream, channel, message, &error))
        stream_send_channel_error (stream, "channel", channel, error);
    }
  else if (g_str_equal (op, "channel-close"))
    {
      if (!hg_json_object_get_string (frame, "channel", &channel, &error))
        stream_send_channel_error (stream, NULL, NULL, error);
      else
        hgd_channels_client_close (channels, stream, channel);
    }
  else
    {
      g_set_error (&error, HG_ERROR, HG_ERROR_INVALID_DATA, "unknown op '%s'", op);
      stream_send_channel_error (stream, NULL, NULL, error);
    }
}

static void
event_stream_message_cb (SoupWebsocketConnection *conn,
                         gint type,
                         GBytes *message,
                         gpointer user_data)
{
  EventStream *stream = user_data;
  g_autoptr(JsonObject) frame = NULL;
  g_autoptr(GError) error = NULL;
  gsize size = 0;
  const gchar *data = g_bytes_get_data (message, &size);

  if (stream->api == NULL || stream->api->plugins == NULL)
    return;
  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      g_set_error_literal (&error, HG_ERROR, HG_ERROR_INVALID_DATA, "frames are JSON text");
      stream_send_channel_error (stream, NULL, NULL, error);
      return;
    }
  frame = hg_json_parse_object (data, (gssize) size, STREAM_MAX_INCOMING, &error);
  if (frame == NULL)
    {
      stream_send_channel_error (stream, NULL, NULL, error);
      return;
    }
  stream_handle_frame (stream, frame);
}

static void
event_stream_closed_cb (SoupWebsocketConnection *conn,
                        gpointer user_data)
{
  EventStream *stream = user_data;
  g_ptr_array_remove (stream->api->streams, stream);
}

static void
websocket_cb (SoupServer *server,
              SoupServerMessage *msg,
              const char *path,
              SoupWebsocketConnection *conn,
              gpointer user_data)
{
  HgdApi *self = HGD_API (user_data);
  StreamRequest *sr = g_object_get_qdata (G_OBJECT (msg), quark_stream);
  HgdJournal *journal;
  EventStream *stream;

  journal = sr != NULL ? self->journals[sr->domain] : NULL;
  if (journal == NULL)
    {
      soup_websocket_connection_close (conn, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, NULL);
      return;
    }
  stream = g_new0 (EventStream, 1);
  stream->api = self;
  stream->conn = g_object_ref (conn);
  stream->journal = g_object_ref (journal);
  stream->token = g_strdup (sr->token);
  stream->domain = sr->domain;
  stream->role = sr->role;
  stream->username = g_strdup (sr->username);
  soup_websocket_connection_set_keepalive_interval (conn, STREAM_KEEPALIVE_SECONDS);
  soup_websocket_connection_set_max_incoming_payload_size (conn, STREAM_MAX_INCOMING);
  stream->closed_id
      = g_signal_connect (conn, "closed", G_CALLBACK (event_stream_closed_cb), stream);
  stream->message_id
      = g_signal_connect (conn, "message", G_CALLBACK (event_stream_message_cb), stream);
  g_ptr_array_add (self->streams, stream);

  if (sr->replay)
    {
      stream->last_seq = sr->after;
      stream->replay_id = g_idle_add (event_stream_replay_cb, stream);
    }
  else
    {
      stream->last_seq = hgd_journal_get_last_seq (journal);
      stream->live = TRUE;
    }
}

/* What a stream sends of the personal domain under a grant is a read of personal data:
 * logged the first time a stream gets each @what (a device's readings, an alarm's
 * detail), not for every reading, which would bury the resident's log. */
static void
event_stream_log_read (EventStream *stream,
                       const gchar *what)
{
  g_autofree gchar *actor = NULL;
  g_autoptr(JsonObject) detail = NULL;

  if (stream->api == NULL)
    return;
  if (stream->shared_logged == NULL)
    stream->shared_logged = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (!g_hash_table_add (stream->shared_logged, g_strdup (what)))
    return;
  actor = g_strdup_printf ("user:%s", stream->username);
  detail = json_object_new ();
  json_object_set_string_member (detail, "role", hgd_role_to_string (stream->role));
  json_object_set_string_member (detail, "via", "events");
  {
    g_autoptr(HgdSession) session = hgd_accounts_lookup_token (stream->api->accounts,
                                                              stream->token);
    session_add_identity (session, detail, "");
  }
  hgd_access_log_record (stream->api->access_log, HG_DOMAIN_PERSONAL, actor, "read.personal",
                         what, detail);
}

/* A shared event of the personal domain sent to a stream: each device's readings (or
 * each kind of event) once, by event_stream_log_read (). */
static void
event_stream_log_shared (EventStream *stream,
                         HgEvent *event)
{
  const gchar *device = json_object_get_string_member_with_default (hg_event_get_body (event),
                                                                    "device", NULL);
  g_autofree gchar *what = NULL;

  if (hg_event_get_domain (event) != HG_DOMAIN_PERSONAL)
    return;
  what = device != NULL ? g_strdup_printf ("sensor:%s", device)
                        : g_strdup_printf ("event:%s", hg_event_get_event_type (event));
  event_stream_log_read (stream, what);
}

/* An event of the other domain that a grant lets through: live only, never replayed, and
 * outside the stream's own sequence. */
static void
event_stream_send_shared (EventStream *stream,
                          HgEvent *event)
{
  g_autoptr(JsonObject) object = NULL;
  g_autofree gchar *text = NULL;

  if (soup_websocket_connection_get_state (stream->conn) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  object = event_to_json_for (stream->api, stream->role, stream->username, event,
                              g_get_real_time (), NULL);
  if (object == NULL)
    return;
  text = hg_json_object_to_string (object);
  soup_websocket_connection_send_text (stream->conn, text);
  event_stream_log_shared (stream, event);
}

/* Emitted on the main context after each durable commit. Whom each event reaches is
 * hgd_grants_event_visible ()'s decision. */
static void
journal_event_appended_cb (HgdJournal *journal,
                           HgEvent *event,
                           gpointer user_data)
{
  HgdApi *self = HGD_API (user_data);
  HgDomain domain = hgd_journal_get_domain (journal);

  for (guint i = 0; i < self->streams->len; i++)
    {
      EventStream *stream = g_ptr_array_index (self->streams, i);
      if (!stream->live)
        continue;
      if (stream->domain == domain)
        event_stream_send (stream, event);
      else
        event_stream_send_shared (stream, event);
    }
}

/* A stream lives no longer than its session: logout, revocation and expiry close it. */
static void
close_ended_streams (HgdApi *self)
{
  HgdAccounts *accounts = self->accounts;
  g_autoptr(GPtrArray) ended = g_ptr_array_new_with_free_func (g_object_unref);

  /* collect first: closing may end a stream, which removes it from the array */
  for (guint i = 0; i < self->streams->len; i++)
    {
      EventStream *stream = g_ptr_array_index (self->streams, i);
      g_autoptr(HgdSession) session = hgd_accounts_lookup_token (accounts, stream->token);
      if (session == NULL
          && soup_websocket_connection_get_state (stream->conn) == SOUP_WEBSOCKET_STATE_OPEN)
        g_ptr_array_add (ended, g_object_ref (stream->conn));
    }
  for (guint i = 0; i < ended->len; i++)
    soup_websocket_connection_close (g_ptr_array_index (ended, i),
                                     SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, "session ended");
}

static gboolean
recheck_streams_cb (gpointer user_data)
{
  close_ended_streams (HGD_API (user_data));
  return G_SOURCE_CONTINUE;
}

/* A session from the identity provider, renewed with its refresh token before it runs out
 * (hgd_oidc_refresh_async ()); it ends at once when the provider no longer gives the user
 * the same role (removed from the group, disabled), and at its expiry while the provider
 * cannot be reached. */
typedef struct
{
  HgdApi *api;      /* (owned) */
  gchar *session;   /* (owned) its id */
  gchar *subject;   /* (owned) */
  HgdRole role;
} Refresh;

static void
refresh_free (Refresh *refresh)
{
  g_object_unref (refresh->api);
  g_free (refresh->session);
  g_free (refresh->subject);
  g_free (refresh);
}

static void
refresh_cb (GObject *source,
            GAsyncResult *result,
            gpointer user_data)
{
  Refresh *refresh = user_data;
  HgdApi *self = refresh->api;
  g_autoptr(GError) error = NULL;
  g_autoptr(HgdOidcLogin) login = hgd_oidc_refresh_finish (HGD_OIDC (source), result, &error);
  g_autoptr(JsonObject) detail = NULL;
  g_autofree gchar *actor = NULL;

  g_hash_table_remove (self->refreshing, refresh->session);
  /* the API is going away */
  if (g_cancellable_is_cancelled (self->cancellable))
    {
      refresh_free (refresh);
      return;
    }
  if (login != NULL && login->role == refresh->role)
    {
      hgd_accounts_renew_external_session (self->accounts, refresh->session, login->expires,
                                           login->id_token, login->refresh_token);
      refresh_free (refresh);
      return;
    }
  /* the provider cannot be asked now: the session ends at its expiry, as it would */
  if (g_error_matches (error, HGD_OIDC_ERROR, HGD_OIDC_ERROR_UNAVAILABLE) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      if (error->domain == HGD_OIDC_ERROR)
        g_message ("a session from the identity provider could not be renewed: %s",
                   error->message);
      refresh_free (refresh);
      return;
    }
  detail = json_object_new ();
  json_object_set_string_member (detail, "method", "oidc-refresh");
  json_object_set_string_member (detail, "subject", refresh->subject);
  if (login != NULL)
    {
      json_object_set_string_member (detail, "reason", "role-changed");
    }
  else
    {
      guint status;
      const gchar *code;

      oidc_error_to_http (error, &status, &code);
      json_object_set_string_member (detail, "reason", code);
      json_object_set_string_member (detail, "message", error->message);
    }
  actor = g_strdup_printf ("user:oidc:%s", refresh->subject);
  hgd_access_log_record (self->access_log, HG_DOMAIN_MUNICIPAL, actor, "logout", NULL, detail);
  journal_auth_event (self, "auth.logout", detail);
  g_message ("a session from the identity provider ended: %s",
             login != NULL ? "the provider gives the user another role now" : error->message);
  hgd_accounts_revoke_session (self->accounts, refresh->session);
  close_ended_streams (self);
  refresh_free (refresh);
}

static gboolean
refresh_sessions_cb (gpointer user_data)
{
  HgdApi *self = HGD_API (user_data);
  g_autoptr(GPtrArray) sessions = hgd_accounts_list_external_sessions (self->accounts);
  gint64 soon = g_get_real_time () + OIDC_REFRESH_AHEAD_SECONDS * G_USEC_PER_SEC;

  for (guint i = 0; i < sessions->len; i++)
    {
      HgdSession *session = g_ptr_array_index (sessions, i);
      Refresh *refresh;

      if (session->refresh_token == NULL || session->expires > soon ||
          g_hash_table_contains (self->refreshing, session->id))
        continue;
      refresh = g_new0 (Refresh, 1);
      refresh->api = g_object_ref (self);
      refresh->session = g_strdup (session->id);
      refresh->subject = g_strdup (session->subject);
      refresh->role = session->role;
      g_hash_table_add (self->refreshing, g_strdup (session->id));
      hgd_oidc_refresh_async (self->oidc, session->refresh_token, session->subject,
                              self->cancellable, refresh_cb, refresh);
    }
  return G_SOURCE_CONTINUE;
}

/* Plugins ------------------------------------------------------------------------------- */

static void
handle_plugins_list (HgdApi *self,
                     HgdApiRequest *req)
{
  HgdPluginManager *plugins = self->plugins;
  JsonObject *object;

  if (plugins != NULL)
    {
      object = hgd_plugin_manager_to_json_for_domain (plugins, request_domain (req), NULL);
    }
  else
    {
      object = json_object_new ();
      json_object_set_array_member (object, "plugins", json_array_new ());
    }
  respond_json (req, SOUP_STATUS_OK, object);
}

static void
handle_plugin_restart (HgdApi *self,
                       HgdApiRequest *req)
{
  HgdPluginManager *plugins = self->plugins;
  const gchar *id = request_param (req, 0);
  g_autoptr(GError) error = NULL;
  JsonObject *object;

  if (plugins == NULL || !param_is_valid (id))
    {
      respond_error (req, SOUP_STATUS_NOT_FOUND, "not-found", "no such plugin instance");
      return;
    }
  if (!hgd_plugin_manager_restart (plugins, id, &error))
    {
      respond_gerror (req, error);
      return;
    }
  object = json_object_new ();
  json_object_set_string_member (object, "id", id);
  respond_json (req, SOUP_STATUS_ACCEPTED, object);
}

static void
set_disabled_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  g_autoptr(HgdApiRequest) req = user_data;
  g_autoptr(GError) error = NULL;
  HgdPluginManager *plugins = HGD_PLUGIN_MANAGER (source);
  g_autoptr(JsonArray) array = NULL;
  g_autoptr(JsonObject) view = NULL;
  const gchar *id = request_param (req, 0);
  JsonObject *found = NULL;

  if (!hgd_plugin_manager_set_disabled_finish (plugins, result, &error))
    {
      if (req->api == NULL)
        return;
      respond_gerror (req, error);
      request_resume (req);
      return;
    }
  if (req->api == NULL)
    return;
  /* answer with the instance as GET /api/v1/plugins shows it now; one of the other domain
   * only with what the caller just set */
  view = hgd_plugin_manager_to_json_for_domain (plugins, request_domain (req), NULL);
  array = json_array_ref (json_object_get_array_member (view, "plugins"));
  for (guint i = 0; i < json_array_get_length (array) && found == NULL; i++)
    {
      JsonObject *object = json_array_get_object_element (array, i);
      if (g_strcmp0 (json_object_get_string_member (object, "id"), id) == 0)
        found = json_object_ref (object);
    }
  g_clear_pointer (&array, json_array_unref);
  array = hgd_plugin_manager_to_json (plugins, NULL);
  for (guint i = 0; i < json_array_get_length (array) && found == NULL; i++)
    {
      JsonObject *object = json_array_get_object_element (array, i);
      static const gchar *const kept[] = { "id", "domain", "state", "disabled_by", "disabled_at" };
      if (g_strcmp0 (json_object_get_string_member (object, "id"), id) != 0)
        continue;
      found = json_object_new ();
      for (guint k = 0; k < G_N_ELEMENTS (kept); k++)
        json_object_set_member (found, kept[k], json_object_dup_member (object, kept[k]));
    }
  if (found != NULL)
    respond_json (req, SOUP_STATUS_OK, found);
  else
    respond_error (req, SOUP_STATUS_NOT_FOUND, "not-found", "no such plugin instance");
  request_resume (req);
}

static void
set_plugin_disabled (HgdApi *self,
                     HgdApiRequest *req,
                     gboolean disable)
{
  HgdPluginManager *plugins = self->plugins;
  const gchar *id = request_param (req, 0);
  g_autofree gchar *who = NULL;

  if (plugins == NULL || !param_is_valid (id))
    {
      respond_error (req, SOUP_STATUS_NOT_FOUND, "not-found", "no such plugin instance");
      return;
    }
  who = request_who (req);
  request_pause (req);
  hgd_plugin_manager_set_disabled_async (plugins, id, disable, who, self->cancellable,
                                         set_disabled_cb, request_ref (req));
}

/* POST /api/v1/plugins/{id}/disable: stops the instance and keeps it stopped. */
static void
handle_plugin_disable (HgdApi *self,
                       HgdApiRequest *req)
{
  set_plugin_disabled (self, req, TRUE);
}

/* POST /api/v1/plugins/{id}/enable: starts a disabled instance again. */
static void
handle_plugin_enable (HgdApi *self,
                      HgdApiRequest *req)
{
  set_plugin_disabled (self, req, FALSE);
}

/* Alarm delivery ------------------------------------------------------------------------ */

/* GET /api/v1/alarm-delivery: which delivery instance takes new alarms, and how many open
 * alarms each has. */
static void
handle_alarm_delivery_get (HgdApi *self,
                           HgdApiRequest *req)
{
  if (self->plugins == NULL)
    {
      respond_error (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "unavailable", "no plugins");
      return;
    }
  respond_json (req, SOUP_STATUS_OK,
                hgd_alarm_routing_to_json (hgd_plugin_manager_get_alarm_routing (self->plugins)));
}

static void
delivery_journaled_cb (GObject *source,
                       GAsyncResult *result,
                       gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!hgd_journal_append_finish (HGD_JOURNAL (source), result, &error))
    g_warning ("alarms.delivery-changed not journaled: %s", error->message);
}

/* PUT /api/v1/alarm-delivery {"delivery"?, "technical_delivery"?}: switches where new
 * alarms go; an absent member is unset (every delivery instance; `delivery`'s). */
static void
handle_alarm_delivery_set (HgdApi *self,
                           HgdApiRequest *req)
{
  static const gchar *const members[] = { "delivery", "technical_delivery", NULL };
  const gchar *delivery = NULL;
  const gchar *technical = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HgEvent) event = NULL;
  g_autofree gchar *who = NULL;
  HgdAlarmRouting *routing;
  JsonObject *body;

  if (self->plugins == NULL)
    {
      respond_error (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "unavailable", "no plugins");
      return;
    }
  if (!hg_json_object_check_members (req->body, members, &error)
      || !hg_json_object_get_optional_string (req->body, "delivery", &delivery, &error)
      || !hg_json_object_get_optional_string (req->body, "technical_delivery", &technical,
                                              &error))
    {
      respond_invalid (req, error);
      return;
    }
  for (guint i = 0; i < 2; i++)
    {
      const gchar *name = i == 0 ? delivery : technical;
      HgdPluginInstance *instance
          = name != NULL ? hgd_plugin_manager_find (self->plugins, name) : NULL;

      if (name != NULL
          && (instance == NULL || !hgd_plugin_instance_delivers_alarms (instance)))
        {
          g_autofree gchar *message
              = g_strdup_printf ("%s is not an alarm delivery plugin instance", name);
          set_error_response_full (req->msg, SOUP_STATUS_BAD_REQUEST, "not-a-delivery-instance",
                                   message, i == 0 ? "delivery" : "technical_delivery");
          return;
        }
    }
  routing = hgd_plugin_manager_get_alarm_routing (self->plugins);
  if (!hgd_alarm_routing_set (routing, delivery, technical, &error))
    {
      respond_gerror (req, error);
      return;
    }
  who = request_who (req);
  g_message ("alarm delivery switched to %s (technical alarms: %s) by %s",
             delivery != NULL ? delivery : "every delivery instance",
             technical != NULL ? technical : "the same", who);
  if (self->journals[HG_DOMAIN_MUNICIPAL] != NULL)
    {
      body = hgd_alarm_routing_to_json (routing);
      json_object_remove_member (body, "open");
      json_object_set_string_member (body, "who", who);
      event = hg_event_new ("alarms.delivery-changed", body);
      json_object_unref (body);
      hg_event_set_source (event, who);
      hgd_journal_append_async (self->journals[HG_DOMAIN_MUNICIPAL], event, NULL, NULL,
                                delivery_journaled_cb, NULL);
    }
  respond_json (req, SOUP_STATUS_OK, hgd_alarm_routing_to_json (routing));
}

/* Bundles ------------------------------------------------------------------------------- */

/* The installer, once the plugin manager has one; else answers 503. */
static HgdBundles *
request_bundles (HgdApi *self,
                 HgdApiRequest *req)
{
  HgdBundles *bundles = NULL;

  if (self->plugins != NULL)
    bundles = hgd_plugin_manager_get_bundles (self->plugins);
  if (bundles == NULL)
    respond_error (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "unavailable",
                   "plugins cannot be installed now");
  return bundles;
}

/* A refusal of the installer: 413 too large, 404 not found, 409 a conflict or approval
 * needed, else 400; the code says which. */
static void
respond_bundles_error (HgdApiRequest *req,
                       const GError *error)
{
  const gchar *code = hgd_bundles_error_to_code (error);
  guint status = SOUP_STATUS_BAD_REQUEST;

  if (error->domain != HGD_BUNDLE_ERROR && error->domain != HGD_BUNDLES_ERROR)
    {
      respond_gerror (req, error);
      return;
    }
  if (g_error_matches (error, HGD_BUNDLE_ERROR, HGD_BUNDLE_ERROR_TOO_LARGE))
    status = SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE;
  else if (g_error_matches (error, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_NOT_FOUND))
    status = SOUP_STATUS_NOT_FOUND;
  else if (g_error_matches (error, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_CONFLICT)
           || g_error_matches (error, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_BUSY)
           || g_error_matches (error, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_APPROVAL_NEEDED)
           || g_error_matches (error, HGD_BUNDLES_ERROR, HGD_BUNDLES_ERROR_DOWNGRADE))
    status = SOUP_STATUS_CONFLICT;
  set_error_response (req->msg, status, code, error->message);
}

/* GET /api/v1/bundles: the plugins installed from bundles in the caller's domain. */
static void
handle_bundles_list (HgdApi *self,
                     HgdApiRequest *req)
{
  HgdBundles *bundles = request_bundles (self, req);
  JsonObject *object;

  if (bundles == NULL)
    return;
  object = json_object_new ();
  json_object_set_array_member (object, "bundles",
                                hgd_bundles_list_installed (bundles, request_domain (req)));
  respond_json (req, SOUP_STATUS_OK, object);
}

/* POST /api/v1/bundles[?approve=CAP,...][&health=SECONDS][&allow_downgrade=true]: the
 * bundle file as the body; installs or upgrades it in the caller's domain. 202 with the
 * job, whose progress is GET /api/v1/bundles/jobs/{id}; a refusal names its reason
 * (`code`), and an upgrade that asks for new capabilities lists them (`new_capabilities`)
 * until they are approved. A version older than one installed before is `409 downgrade`
 * unless allow_downgrade=true. */
static void
handle_bundles_install (HgdApi *self,
                        HgdApiRequest *req)
{
  HgdBundles *bundles = request_bundles (self, req);
  SoupMessageBody *body = soup_server_message_get_request_body (req->msg);
  const gchar *approve = req->query != NULL ? g_hash_table_lookup (req->query, "approve") : NULL;
  const gchar *health = req->query != NULL ? g_hash_table_lookup (req->query, "health") : NULL;
  const gchar *downgrade
      = req->query != NULL ? g_hash_table_lookup (req->query, "allow_downgrade") : NULL;
  HgdBundlesInstallFlags flags = HGD_BUNDLES_INSTALL_NONE;
  g_auto(GStrv) approved = NULL;
  g_auto(GStrv) new_capabilities = NULL;
  g_autoptr(GBytes) data = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *who = NULL;
  g_autofree gchar *job = NULL;
  guint64 health_seconds = 5;
  JsonObject *object;

  if (bundles == NULL)
    return;
  if (health != NULL
      && (!g_ascii_string_to_unsigned (health, 10, 0, 600, &health_seconds, NULL)))
    {
      set_error_response_full (req->msg, SOUP_STATUS_BAD_REQUEST, "invalid-request",
                               "health is a number of seconds, 0 to 600", "health");
      return;
    }
  if (downgrade != NULL && g_strcmp0 (downgrade, "true") != 0 && g_strcmp0 (downgrade, "false") != 0)
    {
      set_error_response_full (req->msg, SOUP_STATUS_BAD_REQUEST, "invalid-request",
                               "allow_downgrade is true or false", "allow_downgrade");
      return;
    }
  if (g_strcmp0 (downgrade, "true") == 0)
    flags |= HGD_BUNDLES_INSTALL_ALLOW_DOWNGRADE;
  if (approve != NULL)
    approved = g_strsplit (approve, ",", -1);
  data = soup_message_body_flatten (body);
  who = request_who (req);
  job = hgd_bundles_install_full (bundles, request_domain (req), data,
                                  (const gchar *const *) approved, (guint) health_seconds, flags,
                                  who, &new_capabilities, &error);
  if (job == NULL)
    {
      if (new_capabilities != NULL)
        {
          g_autoptr(JsonObject) answer = json_object_new ();
          JsonObject *detail = json_object_new ();
          JsonArray *list = json_array_new ();
          gchar *text;

          for (guint i = 0; new_capabilities[i] != NULL; i++)
            json_array_add_string_element (list, new_capabilities[i]);
          json_object_set_string_member (detail, "code", "approval-needed");
          json_object_set_string_member (detail, "message", error->message);
          json_object_set_array_member (detail, "new_capabilities", list);
          json_object_set_object_member (answer, "error", detail);
          text = hg_json_object_to_string (answer);
          soup_server_message_set_status (req->msg, SOUP_STATUS_CONFLICT, NULL);
          soup_server_message_set_response (req->msg, "application/json", SOUP_MEMORY_TAKE, text,
                                            strlen (text));
          return;
        }
      respond_bundles_error (req, error);
      return;
    }
  object = hgd_bundles_job_to_json (bundles, job, request_domain (req));
  respond_json (req, SOUP_STATUS_ACCEPTED, object);
}

/* GET /api/v1/bundles/jobs/{id}: an install's step and outcome, in the caller's domain. */
static void
handle_bundle_job (HgdApi *self,
                   HgdApiRequest *req)
{
  HgdBundles *bundles = request_bundles (self, req);
  JsonObject *object;

  if (bundles == NULL)
    return;
  object = hgd_bundles_job_to_json (bundles, request_param (req, 0), request_domain (req));
  if (object == NULL)
    {
      respond_error (req, SOUP_STATUS_NOT_FOUND, "not-found", "no such install job");
      return;
    }
  respond_json (req, SOUP_STATUS_OK, object);
}

static void
bundle_removed_cb (GObject *source,
                   GAsyncResult *result,
                   gpointer user_data)
{
  g_autoptr(HgdApiRequest) req = user_data;
  g_autoptr(GError) error = NULL;
  JsonObject *object;

  if (!hgd_bundles_remove_finish (HGD_BUNDLES (source), result, &error))
    {
      if (req->api == NULL)
        return;
      respond_bundles_error (req, error);
      request_resume (req);
      return;
    }
  if (req->api == NULL)
    return;
  object = json_object_new ();
  json_object_set_string_member (object, "id", request_param (req, 0));
  json_object_set_boolean_member (object, "removed", TRUE);
  respond_json (req, SOUP_STATUS_OK, object);
  request_resume (req);
}

/* DELETE /api/v1/bundles/{id}: stops and removes a plugin installed from a bundle. */
static void
handle_bundle_remove (HgdApi *self,
                      HgdApiRequest *req)
{
  HgdBundles *bundles = request_bundles (self, req);
  g_autofree gchar *who = NULL;

  if (bundles == NULL)
    return;
  who = request_who (req);
  request_pause (req);
  hgd_bundles_remove_async (bundles, request_domain (req), request_param (req, 0), who,
                            bundle_removed_cb, request_ref (req));
}

/* GET /api/v1/bundles/keys: the keys the caller's domain trusts (and those it revoked). */
static void
handle_bundle_keys_list (HgdApi *self,
                         HgdApiRequest *req)
{
  HgdBundles *bundles = request_bundles (self, req);
  JsonObject *object;

  if (bundles == NULL)
    return;
  object = json_object_new ();
  json_object_set_array_member (object, "keys",
                                hgd_bundles_list_keys (bundles, request_domain (req)));
  respond_json (req, SOUP_STATUS_OK, object);
}

/* POST /api/v1/bundles/keys {"public_key", "name"?}: trusts a key in the caller's domain. */
static void
handle_bundle_keys_add (HgdApi *self,
                        HgdApiRequest *req)
{
  static const gchar *const members[] = { "public_key", "name", NULL };
  HgdBundles *bundles = request_bundles (self, req);
  const gchar *public_key = NULL;
  const gchar *name = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *who = NULL;
  JsonObject *object;

  if (bundles == NULL)
    return;
  if (!hg_json_object_check_members (req->body, members, &error)
      || !hg_json_object_get_string (req->body, "public_key", &public_key, &error)
      || !hg_json_object_get_optional_string (req->body, "name", &name, &error))
    {
      respond_invalid (req, error);
      return;
    }
  if (name != NULL && (strlen (name) > 128 || name[0] == '\0'))
    {
      set_error_response_full (req->msg, SOUP_STATUS_BAD_REQUEST, "invalid-request",
                               "name is 1 to 128 characters", "name");
      return;
    }
  who = request_who (req);
  object = hgd_bundles_trust_key (bundles, request_domain (req), public_key, name, who, &error);
  if (object == NULL)
    {
      respond_bundles_error (req, error);
      return;
    }
  respond_json (req, SOUP_STATUS_CREATED, object);
}

/* POST /api/v1/bundles/keys/{id}/revoke: its bundles are refused from now on. */
static void
handle_bundle_key_revoke (HgdApi *self,
                          HgdApiRequest *req)
{
  HgdBundles *bundles = request_bundles (self, req);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *who = NULL;
  JsonObject *object;

  if (bundles == NULL)
    return;
  who = request_who (req);
  object = hgd_bundles_revoke_key (bundles, request_domain (req), request_param (req, 0), who,
                                   &error);
  if (object == NULL)
    {
      respond_bundles_error (req, error);
      return;
    }
  respond_json (req, SOUP_STATUS_OK, object);
}

/* Users --------------------------------------------------------------------------------- */

/* Whether the caller may create and manage users of @target's role: see (c) above the
 * route table. */
static gboolean
may_manage_role (HgdApiRequest *req,
                 HgdRole target)
{
  if (hgd_role_get_domain (target) != request_domain (req))
    return FALSE;
  return !request_is_limited (req) || target == HGD_ROLE_FAMILY;
}

static JsonObject *
user_to_json (HgdUser *user)
{
  JsonObject *object = json_object_new ();
  g_autofree gchar *created = iso8601_from_usec (user->created);

  json_object_set_string_member (object, "username", user->username);
  json_object_set_string_member (object, "role", hgd_role_to_string (user->role));
  json_object_set_string_member (object, "domain",
                                 hg_domain_to_string (hgd_role_get_domain (user->role)));
  json_object_set_string_member (object, "created", created);
  return object;
}

static void
handle_users_list (HgdApi *self,
                   HgdApiRequest *req)
{
  g_autoptr(GPtrArray) users = NULL;
  JsonArray *array = json_array_new ();
  JsonObject *object = json_object_new ();

  users = hgd_accounts_list_users (self->accounts, request_domain (req));
  for (guint i = 0; users != NULL && i < users->len; i++)
    {
      HgdUser *user = g_ptr_array_index (users, i);
      if (!may_manage_role (req, user->role)
          && g_strcmp0 (user->username, req->session->username) != 0)
        continue;
      json_array_add_object_element (array, user_to_json (user));
    }
  json_object_set_array_member (object, "users", array);
  respond_json (req, SOUP_STATUS_OK, object);
}

static void
add_user_cb (GObject *source,
             GAsyncResult *result,
             gpointer user_data)
{
  g_autoptr(HgdApiRequest) req = user_data;
  g_autoptr(GError) error = NULL;
  const gchar *role_name;
  HgdRole role;
  JsonObject *object;
  gboolean added;

  added = hgd_accounts_add_user_finish (HGD_ACCOUNTS (source), result, &error);
  /* cancelled only by dispose, which detached the request */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || req->api == NULL)
    return;
  if (!added)
    {
      respond_gerror (req, error);
      request_resume (req);
      return;
    }
  /* both were checked by handle_users_create () */
  role_name = json_object_get_string_member (req->body, "role");
  hgd_role_from_string (role_name, &role);
  object = json_object_new ();
  json_object_set_string_member (object, "username",
                                 json_object_get_string_member (req->body, "username"));
  json_object_set_string_member (object, "role", role_name);
  json_object_set_string_member (object, "domain",
                                 hg_domain_to_string (hgd_role_get_domain (role)));
  respond_json (req, SOUP_STATUS_CREATED, object);
  request_resume (req);
}

/* Hashing the password takes a while: the message waits, the main loop does not. */
static void
handle_users_create (HgdApi *self,
                     HgdApiRequest *req)
{
  static const gchar *const members[] = { "username", "role", "password", NULL };
  const gchar *username = NULL;
  const gchar *role_name = NULL;
  const gchar *password = NULL;
  HgdRole role;
  g_autoptr(GError) error = NULL;

  if (!hg_json_object_check_members (req->body, members, &error) ||
      !hg_json_object_get_string (req->body, "username", &username, &error) ||
      !hg_json_object_get_string (req->body, "role", &role_name, &error) ||
      !hg_json_object_get_string (req->body, "password", &password, &error))
    {
      respond_invalid (req, error);
      return;
    }
  if (!hgd_role_from_string (role_name, &role))
    {
      respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid-request",
                     "member 'role' is not a known role");
      return;
    }
  if (!may_manage_role (req, role))
    {
      respond_error (req, SOUP_STATUS_FORBIDDEN, "forbidden", "the role %s may not create %s users",
                     hgd_role_to_string (req->session->role), role_name);
      return;
    }
  request_pause (req);
  hgd_accounts_add_user_async (self->accounts, username, role, password, self->cancellable,
                               add_user_cb, request_ref (req));
}

/* The user named by the path, if the caller manages them; otherwise answers 404, so a
 * manager learns nothing of the other domain's users. */
static gboolean
find_managed_user (HgdApi *self,
                   HgdApiRequest *req,
                   const gchar *username)
{
  g_autoptr(GPtrArray) users = NULL;

  /* user names may have letters of any script (hgd-accounts.c): the list decides */
  if (username != NULL && strlen (username) <= 4 * MAX_PARAM_LENGTH
      && g_utf8_validate (username, -1, NULL))
    users = hgd_accounts_list_users (self->accounts, request_domain (req));
  for (guint i = 0; users != NULL && i < users->len; i++)
    {
      HgdUser *user = g_ptr_array_index (users, i);
      if (g_strcmp0 (user->username, username) == 0 && may_manage_role (req, user->role))
        return TRUE;
    }
  respond_error (req, SOUP_STATUS_NOT_FOUND, "not-found", "no such user among those you manage");
  return FALSE;
}

static void
set_password_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  g_autoptr(HgdApiRequest) req = user_data;
  g_autoptr(GError) error = NULL;
  HgdAccounts *accounts = HGD_ACCOUNTS (source);

  if (!hgd_accounts_set_password_finish (accounts, result, &error))
    {
      /* cancelled only by dispose, which detached the request */
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || req->api == NULL)
        return;
      respond_gerror (req, error);
      request_resume (req);
      return;
    }
  /* a reset password ends the user's sessions, even if the API is going away */
  hgd_accounts_revoke_user_sessions (accounts, request_param (req, 0));
  if (req->api == NULL)
    return;
  close_ended_streams (req->api);
  respond_empty (req, SOUP_STATUS_NO_CONTENT);
  request_resume (req);
}

/* Hashing the password takes a while: the message waits, the main loop does not. */
static void
handle_user_password (HgdApi *self,
                      HgdApiRequest *req)
{
  static const gchar *const members[] = { "password", NULL };
  const gchar *username = request_param (req, 0);
  const gchar *password = NULL;
  g_autoptr(GError) error = NULL;

  if (!hg_json_object_check_members (req->body, members, &error) ||
      !hg_json_object_get_string (req->body, "password", &password, &error))
    {
      respond_invalid (req, error);
      return;
    }
  if (!find_managed_user (self, req, username))
    return;
  request_pause (req);
  hgd_accounts_set_password_async (self->accounts, username, password, self->cancellable,
                                   set_password_cb, request_ref (req));
}

static void
handle_user_sessions_revoke (HgdApi *self,
                             HgdApiRequest *req)
{
  const gchar *username = request_param (req, 0);
  JsonObject *object;
  guint n;

  if (!find_managed_user (self, req, username))
    return;
  n = hgd_accounts_revoke_user_sessions (self->accounts, username);
  close_ended_streams (self);
  object = json_object_new ();
  json_object_set_int_member (object, "revoked", n);
  respond_json (req, SOUP_STATUS_OK, object);
}

/* Alarms -------------------------------------------------------------------------------- */

/* Whether @source names a plugin instance of the personal domain (the home's own devices). */
static gboolean
source_is_personal_plugin (HgdApi *self,
                           const gchar *source)
{
  g_autoptr(JsonArray) instances = NULL;

  if (self == NULL || source == NULL || !g_str_has_prefix (source, "plugin:"))
    return FALSE;
  instances = hgd_plugin_manager_to_json (self->plugins, NULL);
  for (guint i = 0; i < json_array_get_length (instances); i++)
    {
      JsonObject *instance = json_array_get_object_element (instances, i);
      if (g_strcmp0 (json_object_get_string_member_with_default (instance, "id", NULL),
                     source + strlen ("plugin:")) == 0)
        return g_strcmp0 (json_object_get_string_member_with_default (instance, "domain", NULL),
                          "personal") == 0;
    }
  return FALSE;
}

/* Whether the home's own devices raised @alarm. */
static gboolean
alarm_is_personal (HgdApi *self,
                   HgAlarm *alarm)
{
  return source_is_personal_plugin (self, hg_alarm_get_source (alarm));
}

/* Whether the caller may see the home's alarms, having answered 403 if not: family only
 * under a family-access grant, see (d). */
static gboolean
may_view_alarms (HgdApi *self,
                 HgdApiRequest *req)
{
  if (hgd_grants_allows (self->grants, req->session->role, req->session->username,
                         HGD_GRANT_ALARM_VIEW, NULL, g_get_real_time ()))
    return TRUE;
  respond_error (req, SOUP_STATUS_FORBIDDEN, "no-grant",
                 "the resident has not shared their alarms with %s", req->session->username);
  return FALSE;
}

/* The limited form shows every alarm of the home, without `detail` (municipal notes) and
 * without a source that names another user: see (d) above the route table. */
static JsonObject *
alarm_to_json_for (HgdApiRequest *req,
                   HgAlarm *alarm)
{
  JsonObject *object = hg_alarm_to_json (alarm);
  const gchar *source = hg_alarm_get_source (alarm);
  g_autofree gchar *own = NULL;

  if (hg_alarm_get_raised_time (alarm) > 0)
    {
      g_autofree gchar *raised = iso8601_from_usec (hg_alarm_get_raised_time (alarm));
      g_autofree gchar *updated = iso8601_from_usec (hg_alarm_get_updated_time (alarm));

      json_object_set_string_member (object, "raised", raised);
      json_object_set_string_member (object, "updated", updated);
    }
  if (!request_is_limited (req))
    {
      /* the detail of the home's own devices' alarm is personal: see (d) */
      if (json_object_has_member (object, "detail") && alarm_is_personal (req->api, alarm) &&
          !hgd_grants_allows (req->api->grants, req->session->role, req->session->username,
                              HGD_GRANT_ALARM_DETAIL, hg_alarm_get_alarm_type (alarm),
                              g_get_real_time ()))
        json_object_remove_member (object, "detail");
      else if (json_object_has_member (object, "detail") && alarm_is_personal (req->api, alarm))
        {
          g_autofree gchar *what = g_strdup_printf ("alarm:%s", hg_alarm_get_reference (alarm));

          request_note_personal_read (req, what, "alarms");
        }
      return object;
    }
  own = request_who (req);
  if (json_object_has_member (object, "detail"))
    json_object_remove_member (object, "detail");
  if (source != NULL && !g_str_has_prefix (source, "plugin:") && g_strcmp0 (source, own) != 0)
    json_object_remove_member (object, "source");
  return object;
}

/* HgdAlarms answers HG_ERROR_UNAVAILABLE when the municipal journal is not open. */
static void
respond_alarm_error (HgdApiRequest *req,
                     const GError *error)
{
  if (g_error_matches (error, HG_ERROR, HG_ERROR_UNAVAILABLE))
    {
      set_error_response (req->msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "journal-unavailable",
                          error->message);
      return;
    }
  respond_gerror (req, error);
}

static void
raise_cb (GObject *source,
          GAsyncResult *result,
          gpointer user_data)
{
  g_autoptr(HgdApiRequest) req = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(HgAlarm) recorded = NULL;
  g_autofree gchar *ref = NULL;
  g_autofree gchar *who = NULL;
  g_autofree gchar *location = NULL;
  gboolean replayed = FALSE;
  HgAlarm *alarm;
  JsonObject *object;

  if (g_task_get_source_tag (G_TASK (result)) == hgd_alarms_raise_idempotent_async)
    ref = hgd_alarms_raise_idempotent_finish (HGD_ALARMS (source), result, &replayed, &error);
  else
    ref = hgd_alarms_raise_finish (HGD_ALARMS (source), result, &error);
  if (req->api == NULL)
    return;
  if (ref == NULL)
    {
      respond_alarm_error (req, error);
      request_resume (req);
      return;
    }
  alarm = HG_ALARM (req->data);
  if (replayed)
    {
      /* a retry: the alarm the first request raised, as it is now */
      HgdJournal *journal = req->api->journals[HG_DOMAIN_MUNICIPAL];

      recorded = journal != NULL ? hgd_journal_get_alarm (journal, ref, &error) : NULL;
      if (recorded == NULL)
        {
          if (error != NULL)
            respond_gerror (req, error);
          else
            respond_error (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "journal-unavailable",
                           "the municipal journal is unavailable");
          request_resume (req);
          return;
        }
      alarm = recorded;
      soup_message_headers_replace (soup_server_message_get_response_headers (req->msg),
                                    "Idempotent-Replayed", "true");
    }
  /* durably journaled: only now does the caller hear of it */
  who = request_who (req);
  object = alarm_to_json_for (req, alarm);
  json_object_set_string_member (object, "ref", ref);
  json_object_set_string_member (object, "source", who);
  location = g_strdup_printf ("/api/v1/alarms/%s", ref);
  soup_message_headers_replace (soup_server_message_get_response_headers (req->msg), "Location",
                                location);
  respond_json (req, replayed ? SOUP_STATUS_OK : SOUP_STATUS_CREATED, object);
  request_resume (req);
}

/* An Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) is a structured-field
 * string; a bare token is taken too. Either way 1 to IDEMPOTENCY_KEY_MAX characters of
 * IDEMPOTENCY_KEY_CHARS: a UUID, a ULID or base64url fit. Sets @key to NULL when the
 * request has none; FALSE when the header is there but unusable. */
#define IDEMPOTENCY_KEY_MAX 128
#define IDEMPOTENCY_KEY_CHARS                                                                      \
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:~+/="
static gboolean
get_idempotency_key (HgdApiRequest *req,
                     gchar **key)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (req->msg);
  const gchar *value = soup_message_headers_get_list (headers, "Idempotency-Key");
  gsize len;

  *key = NULL;
  if (value == NULL)
    return TRUE;
  len = strlen (value);
  if (len >= 2 && value[0] == '"' && value[len - 1] == '"')
    {
      value++;
      len -= 2;
    }
  if (len == 0 || len > IDEMPOTENCY_KEY_MAX || strspn (value, IDEMPOTENCY_KEY_CHARS) != len)
    {
      respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid-idempotency-key",
                     "header 'Idempotency-Key' must be one string of 1 to %u letters, digits "
                     "or '-_.:~+/='",
                     (guint) IDEMPOTENCY_KEY_MAX);
      return FALSE;
    }
  *key = g_strndup (value, len);
  return TRUE;
}

/* What a raise asks for, so that a retry can be told from a key used for another alarm. */
static gchar *
raise_fingerprint (const gchar *type,
                   const gchar *origin,
                   const gchar *location,
                   const gchar *device,
                   gint64 priority)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  const gchar *fields[] = { type, origin, location, device };
  g_autofree gchar *number = g_strdup_printf ("%" G_GINT64_FORMAT, priority);

  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      /* NUL ends each field; an absent one is a lone 0x01 */
      if (fields[i] != NULL)
        g_checksum_update (checksum, (const guchar *) fields[i], (gssize) strlen (fields[i]) + 1);
      else
        g_checksum_update (checksum, (const guchar *) "\x01", 2);
    }
  g_checksum_update (checksum, (const guchar *) number, -1);
  return g_strdup (g_checksum_get_string (checksum));
}

static void
handle_alarms_raise (HgdApi *self,
                     HgdApiRequest *req)
{
  static const gchar *const members[]
      = { "type", "source", "location", "device", "priority", NULL };
  HgdAlarms *alarms = self->alarms;
  const gchar *type = NULL;
  const gchar *origin = NULL;
  const gchar *location = NULL;
  const gchar *device = NULL;
  gint64 priority = -1;
  g_autoptr(GError) error = NULL;
  g_autoptr(HgAlarm) alarm = NULL;
  g_autofree gchar *who = NULL;
  g_autofree gchar *key = NULL;

  if (!get_idempotency_key (req, &key))
    return;
  if (!hg_json_object_check_members (req->body, members, &error) ||
      !hg_json_object_get_string (req->body, "type", &type, &error) ||
      !hg_json_object_get_optional_string (req->body, "source", &origin, &error) ||
      !hg_json_object_get_optional_string (req->body, "location", &location, &error) ||
      !hg_json_object_get_optional_string (req->body, "device", &device, &error) ||
      !hg_json_object_get_optional_int (req->body, "priority", 0, 9, &priority, &error))
    {
      respond_invalid (req, error);
      return;
    }
  if (!hg_alarm_type_is_valid (type))
    {
      respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid-request",
                     "member 'type' is not a known alarm type");
      return;
    }
  if (!check_length (req, "source", origin) || !check_length (req, "location", location) ||
      !check_length (req, "device", device))
    return;
  if (alarms == NULL)
    {
      respond_error (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "journal-unavailable",
                     "the municipal journal is unavailable; the alarm was not accepted");
      return;
    }

  alarm = hg_alarm_new (type);
  hg_alarm_set_location (alarm, location);
  hg_alarm_set_device (alarm, device);
  if (priority >= 0)
    hg_alarm_set_priority (alarm, (guint) priority);
  if (origin != NULL)
    {
      /* what the client says it is (e.g. "ui", "button"); who raised it is the session */
      g_autoptr(JsonObject) detail = json_object_new ();
      json_object_set_string_member (detail, "origin", origin);
      hg_alarm_set_detail (alarm, detail);
    }
  who = request_who (req);
  req->data = G_OBJECT (g_object_ref (alarm));
  request_pause (req);
  if (key != NULL)
    {
      g_autofree gchar *fingerprint = raise_fingerprint (type, origin, location, device, priority);

      hgd_alarms_raise_idempotent_async (alarms, alarm, who, key, fingerprint, self->cancellable,
                                         raise_cb, request_ref (req));
      return;
    }
  hgd_alarms_raise_async (alarms, alarm, who, self->cancellable, raise_cb, request_ref (req));
}

static void
handle_alarms_list (HgdApi *self,
                    HgdApiRequest *req)
{
  static const gchar *const allowed[] = { "open", NULL };
  HgdJournal *journal = self->journals[HG_DOMAIN_MUNICIPAL];
  const gchar *open = req->query != NULL ? g_hash_table_lookup (req->query, "open") : NULL;
  g_autoptr(GPtrArray) alarms = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *array;
  JsonObject *object;

  if (!check_query (req, allowed))
    return;
  if (open != NULL && g_strcmp0 (open, "true") != 0 && g_strcmp0 (open, "false") != 0)
    {
      respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid-request",
                     "query parameter 'open' is not true or false");
      return;
    }
  if (!may_view_alarms (self, req))
    return;
  if (journal == NULL)
    {
      respond_error (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "journal-unavailable",
                     "the municipal journal is unavailable");
      return;
    }
  alarms = hgd_journal_list_alarms (journal, g_strcmp0 (open, "true") == 0, &error);
  if (alarms == NULL)
    {
      respond_gerror (req, error);
      return;
    }
  array = json_array_sized_new (alarms->len);
  for (guint i = 0; i < alarms->len; i++)
    json_array_add_object_element (array, alarm_to_json_for (req, g_ptr_array_index (alarms, i)));
  object = json_object_new ();
  json_object_set_array_member (object, "alarms", array);
  respond_json (req, SOUP_STATUS_OK, object);
}

static void
handle_alarm_get (HgdApi *self,
                  HgdApiRequest *req)
{
  HgdJournal *journal = self->journals[HG_DOMAIN_MUNICIPAL];
  const gchar *ref = request_param (req, 0);
  g_autoptr(HgAlarm) alarm = NULL;
  g_autoptr(GError) error = NULL;

  if (!may_view_alarms (self, req))
    return;
  if (!param_is_valid (ref))
    {
      respond_error (req, SOUP_STATUS_NOT_FOUND, "not-found", "no such alarm");
      return;
    }
  if (journal == NULL)
    {
      respond_error (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "journal-unavailable",
                     "the municipal journal is unavailable");
      return;
    }
  alarm = hgd_journal_get_alarm (journal, ref, &error);
  if (alarm == NULL)
    {
      respond_gerror (req, error);
      return;
    }
  respond_json (req, SOUP_STATUS_OK, alarm_to_json_for (req, alarm));
}

static void
transition_cb (GObject *source,
               GAsyncResult *result,
               gpointer user_data)
{
  g_autoptr(HgdApiRequest) req = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(HgAlarm) alarm = NULL;
  HgdJournal *journal;

  if (!hgd_alarms_transition_as_finish (HGD_ALARMS (source), result, &error))
    {
      if (req->api == NULL)
        return;
      respond_alarm_error (req, error);
      request_resume (req);
      return;
    }
  if (req->api == NULL)
    return;
  journal = req->api->journals[HG_DOMAIN_MUNICIPAL];
  if (journal != NULL)
    alarm = hgd_journal_get_alarm (journal, request_param (req, 0), NULL);
  if (alarm != NULL)
    {
      respond_json (req, SOUP_STATUS_OK, alarm_to_json_for (req, alarm));
    }
  else
    {
      JsonObject *object = json_object_new ();
      json_object_set_string_member (object, "ref", request_param (req, 0));
      respond_json (req, SOUP_STATUS_OK, object);
    }
  request_resume (req);
}

/* Whether @source (`user:<name>`) names a user of the personal domain. */
static gboolean
source_is_home_user (HgdApi *self,
                     const gchar *source)
{
  g_autoptr(GPtrArray) users = NULL;

  if (source == NULL || !g_str_has_prefix (source, "user:"))
    return FALSE;
  users = hgd_accounts_list_users (self->accounts, HG_DOMAIN_PERSONAL);
  for (guint i = 0; users != NULL && i < users->len; i++)
    {
      HgdUser *user = g_ptr_array_index (users, i);
      if (g_strcmp0 (user->username, source + strlen ("user:")) == 0)
        return TRUE;
    }
  return FALSE;
}

/* Whether the limited form may act on alarm @ref, having answered if not: see (e) above
 * the route table. Who raised an alarm and its type never change, so the answer holds for
 * the transition that follows. */
static gboolean
limited_may_act_on (HgdApi *self,
                    HgdApiRequest *req,
                    const gchar *ref)
{
  HgdJournal *journal = self->journals[HG_DOMAIN_MUNICIPAL];
  g_autoptr(HgAlarm) alarm = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *own = request_who (req);
  const gchar *source;

  alarm = journal != NULL ? hgd_journal_get_alarm (journal, ref, &error) : NULL;
  if (alarm == NULL)
    {
      if (error != NULL)
        respond_gerror (req, error);
      else
        respond_error (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "journal-unavailable",
                       "the municipal journal is unavailable");
      return FALSE;
    }
  if (g_strcmp0 (hg_alarm_get_alarm_type (alarm), "technical") == 0)
    {
      respond_error (req, SOUP_STATUS_FORBIDDEN, "technical-alarm",
                     "a technical alarm reports a fault of the alarm path to the "
                     "municipality; a resident cannot cancel it");
      return FALSE;
    }
  source = hg_alarm_get_source (alarm);
  if (req->session->role == HGD_ROLE_FAMILY && source_is_home_user (self, source))
    return TRUE; /* family act for the resident, under their grant: see (e) */
  if (g_strcmp0 (source, own) != 0 && !g_str_has_prefix (source != NULL ? source : "", "plugin:"))
    {
      respond_error (req, SOUP_STATUS_FORBIDDEN, "not-own-alarm",
                     "a resident may only cancel an alarm they raised or that the home's "
                     "devices raised");
      return FALSE;
    }
  return TRUE;
}

static void
handle_alarm_transition (HgdApi *self,
                         HgdApiRequest *req)
{
  static const gchar *const members[] = { "state", "detail", NULL };
  HgdAlarms *alarms = self->alarms;
  const gchar *ref = request_param (req, 0);
  const gchar *state_name = NULL;
  JsonObject *detail = NULL;
  HgAlarmState state;
  HgdAlarmCaller caller;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *who = NULL;

  if (!hgd_grants_allows (self->grants, req->session->role, req->session->username,
                          HGD_GRANT_ALARM_ACT, NULL, g_get_real_time ()))
    {
      respond_error (req, SOUP_STATUS_FORBIDDEN, "no-grant",
                     "the resident has not let %s act on their alarms", req->session->username);
      return;
    }
  if (!hg_json_object_check_members (req->body, members, &error) ||
      !hg_json_object_get_string (req->body, "state", &state_name, &error) ||
      (json_object_has_member (req->body, "detail") &&
       !hg_json_object_get_object (req->body, "detail", &detail, &error)))
    {
      respond_invalid (req, error);
      return;
    }
  if (!hg_alarm_state_from_string (state_name, &state))
    {
      respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid-request",
                     "member 'state' is not a known alarm state");
      return;
    }
  caller = request_is_limited (req) ? HGD_ALARM_CALLER_RESIDENT : HGD_ALARM_CALLER_STAFF;
  if (!hgd_alarm_lifecycle_may_reach (state, caller))
    {
      respond_error (req, SOUP_STATUS_FORBIDDEN, "forbidden", "a %s may not move an alarm to %s",
                     hgd_alarm_caller_to_string (caller), state_name);
      return;
    }
  if (!param_is_valid (ref))
    {
      respond_error (req, SOUP_STATUS_NOT_FOUND, "not-found", "no such alarm");
      return;
    }
  if (alarms == NULL)
    {
      respond_error (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "journal-unavailable",
                     "the municipal journal is unavailable");
      return;
    }
  if (request_is_limited (req) && !limited_may_act_on (self, req, ref))
    return;
  who = request_who (req);
  request_pause (req);
  /* a staff member from the identity provider: their name and IdP on the step too */
  hgd_alarms_transition_as_async (alarms, ref, state, caller, who, req->session->display_name,
                                  req->session->issuer, detail, self->cancellable, transition_cb,
                                  request_ref (req));
}

/* Sensors ------------------------------------------------------------------------------- */

/* The journal of the caller's domain for a sensor route, or NULL having answered. */
static HgdJournal *
sensor_journal (HgdApi *self,
                HgdApiRequest *req,
                const gchar *device)
{
  HgDomain domain = request_domain (req);
  HgdJournal *journal = self->journals[domain];

  if (!param_is_valid (device))
    {
      respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid-request",
                     "the device id is 1 to %u of letters, digits and . _ - : @", (guint) MAX_PARAM_LENGTH);
      return NULL;
    }
  if (journal == NULL)
    {
      respond_error (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "journal-unavailable",
                     "the %s journal is unavailable", hg_domain_to_string (domain));
      return NULL;
    }
  return journal;
}

/* The readings' members that describe the device rather than the reading. */
static const gchar *const device_members[] = { "room", "name", "battery", "link_quality" };

/* Adds the devices of @readings (one domain's newest readings, in device order) to
 * @devices; with @req, only those a grant lets the caller see, from the grant's start. */
static void
append_devices (JsonArray *devices,
                GPtrArray *readings,
                HgDomain domain,
                HgdApiRequest *req)
{
  JsonObject *device = NULL;
  JsonArray *kinds = NULL;
  const gchar *current = NULL;
  gint64 last_seen = 0;
  gint64 now = g_get_real_time ();

  /* in device order: a new device starts when the name changes */
  for (guint i = 0; i < readings->len; i++)
    {
      HgEvent *event = g_ptr_array_index (readings, i);
      JsonObject *body = hg_event_get_body (event);
      const gchar *name = json_object_get_string_member_with_default (body, "device", NULL);
      const gchar *kind = json_object_get_string_member_with_default (body, "kind", NULL);
      gint64 ts = hg_event_get_timestamp (event);
      g_autofree gchar *ts_iso = iso8601_from_usec (ts);
      JsonObject *reading;

      if (name == NULL || kind == NULL)
        continue;
      if (req != NULL)
        {
          gint64 since = hgd_grants_allowed_since (req->api->grants, req->session->role,
                                                   req->session->username, HGD_GRANT_READINGS,
                                                   name, now);
          if (since < 0 || ts < since)
            continue;
        }
      if (device == NULL || g_strcmp0 (current, name) != 0)
        {
          if (device != NULL)
            {
              g_autofree gchar *seen = iso8601_from_usec (last_seen);
              json_object_set_string_member (device, "last_seen", seen);
            }
          device = json_object_new ();
          kinds = json_array_new ();
          current = name;
          last_seen = 0;
          json_object_set_string_member (device, "device", name);
          json_object_set_string_member (device, "domain", hg_domain_to_string (domain));
          json_object_set_array_member (device, "readings", kinds);
          json_array_add_object_element (devices, device);
        }
      /* room, name, battery and link quality from the newest reading that has them */
      for (guint j = 0; j < G_N_ELEMENTS (device_members); j++)
        {
          JsonNode *node = json_object_get_member (body, device_members[j]);
          if (node != NULL && JSON_NODE_HOLDS_VALUE (node)
              && (!json_object_has_member (device, device_members[j]) || ts >= last_seen))
            json_object_set_member (device, device_members[j], json_node_copy (node));
        }
      last_seen = MAX (last_seen, ts);
      reading = json_object_new ();
      json_object_set_string_member (reading, "kind", kind);
      if (json_object_has_member (body, "value"))
        json_object_set_member (reading, "value",
                                json_node_copy (json_object_get_member (body, "value")));
      if (json_object_has_member (body, "unit"))
        json_object_set_member (reading, "unit",
                                json_node_copy (json_object_get_member (body, "unit")));
      json_object_set_string_member (reading, "ts", ts_iso);
      json_object_set_int_member (reading, "seq", (gint64) hg_event_get_seq (event));
      json_array_add_object_element (kinds, reading);
    }
  if (device != NULL)
    {
      g_autofree gchar *seen = iso8601_from_usec (last_seen);
      json_object_set_string_member (device, "last_seen", seen);
    }
}

/* GET /api/v1/sensors: the devices of the caller's domain, each with its newest reading of
 * every kind, however long ago the device last reported (until retention prunes it). */
static void
handle_sensors_list (HgdApi *self,
                     HgdApiRequest *req)
{
  static const gchar *const allowed[] = { NULL };
  HgDomain domain = request_domain (req);
  HgdJournal *journal = self->journals[domain];
  g_autoptr(GPtrArray) readings = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *devices;
  JsonObject *object;

  if (!check_query (req, allowed))
    return;
  if (journal == NULL)
    {
      respond_error (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "journal-unavailable",
                     "the %s journal is unavailable", hg_domain_to_string (domain));
      return;
    }
  readings = hgd_journal_query_latest_readings (journal, &error);
  if (readings == NULL)
    {
      respond_gerror (req, error);
      return;
    }
  devices = json_array_new ();
  append_devices (devices, readings, domain, NULL);
  if (domain == HG_DOMAIN_MUNICIPAL && self->journals[HG_DOMAIN_PERSONAL] != NULL)
    {
      /* the resident's devices shared by a grant: see (f) */
      g_autoptr(GPtrArray) shared = hgd_journal_query_latest_readings (
          self->journals[HG_DOMAIN_PERSONAL], NULL);
      guint before = json_array_get_length (devices);

      if (shared != NULL)
        append_devices (devices, shared, HG_DOMAIN_PERSONAL, req);
      if (json_array_get_length (devices) > before)
        req->personal_read = "sensors";
    }
  object = json_object_new ();
  json_object_set_array_member (object, "devices", devices);
  respond_json (req, SOUP_STATUS_OK, object);
}

/* GET /api/v1/sensors/{device}/history?since=RFC3339&limit=N: the device's readings in the
 * caller's domain, oldest first, from `since` (default: the last 24 hours). */
static void
handle_sensor_history (HgdApi *self,
                       HgdApiRequest *req)
{
  static const gchar *const allowed[] = { "since", "limit", NULL };
  const gchar *device = request_param (req, 0);
  g_autoptr(GPtrArray) readings = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *since_iso = NULL;
  guint64 limit = READINGS_DEFAULT_LIMIT;
  gint64 since = g_get_real_time () - READINGS_DEFAULT_SINCE;
  HgdJournal *journal;
  JsonObject *object;
  JsonArray *array;

  if (!check_query (req, allowed) ||
      !query_get_uint64 (req, "limit", 1, READINGS_MAX_LIMIT, &limit) ||
      !query_get_time (req, "since", &since))
    return;
  journal = sensor_journal (self, req, device);
  if (journal == NULL)
    return;
  /* one more than asked for tells whether there are more */
  readings = hgd_journal_query_readings (journal, device, since, (guint) limit + 1, &error);
  if (readings == NULL)
    {
      respond_gerror (req, error);
      return;
    }
  if (readings->len == 0 && request_domain (req) == HG_DOMAIN_MUNICIPAL &&
      self->journals[HG_DOMAIN_PERSONAL] != NULL)
    {
      /* a resident's device shared by a grant, from the grant's start: see (f) */
      gint64 shared_since = hgd_grants_allowed_since (self->grants, req->session->role,
                                                      req->session->username,
                                                      HGD_GRANT_READINGS, device,
                                                      g_get_real_time ());
      if (shared_since >= 0)
        {
          g_clear_pointer (&readings, g_ptr_array_unref);
          readings = hgd_journal_query_readings (self->journals[HG_DOMAIN_PERSONAL], device,
                                                 MAX (since, shared_since), (guint) limit + 1,
                                                 &error);
          if (readings == NULL)
            {
              respond_gerror (req, error);
              return;
            }
          {
            g_autofree gchar *what = g_strdup_printf ("sensor:%s", device);

            request_note_personal_read (req, what, "sensors");
          }
        }
    }
  array = json_array_sized_new (MIN (readings->len, (guint) limit));
  for (guint i = 0; i < readings->len && i < limit; i++)
    json_array_add_object_element (array, hg_event_to_json (g_ptr_array_index (readings, i)));
  since_iso = iso8601_from_usec (since);
  object = json_object_new ();
  json_object_set_string_member (object, "device", device);
  json_object_set_string_member (object, "since", since_iso);
  json_object_set_array_member (object, "readings", array);
  json_object_set_boolean_member (object, "truncated", readings->len > limit);
  respond_json (req, SOUP_STATUS_OK, object);
}

/* GET /api/v1/sensors/{device}/activity?days=7|30: how many readings the device had in
 * each hour of the last 7 or 30 days, oldest first, up to and including this hour. */
static void
handle_sensor_activity (HgdApi *self,
                        HgdApiRequest *req)
{
  static const gchar *const allowed[] = { "days", NULL };
  const gchar *device = request_param (req, 0);
  const gchar *days_text = req->query != NULL ? g_hash_table_lookup (req->query, "days") : NULL;
  g_autoptr(GArray) counts = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *from_iso = NULL;
  g_autofree gchar *to_iso = NULL;
  guint days = 7;
  guint64 total = 0;
  gint64 to;
  gint64 from;
  HgdJournal *journal;
  JsonObject *object;
  JsonArray *hours;

  if (!check_query (req, allowed))
    return;
  if (days_text != NULL && g_strcmp0 (days_text, "7") != 0 && g_strcmp0 (days_text, "30") != 0)
    {
      respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid-request", "query parameter 'days' is not 7 or 30");
      return;
    }
  if (g_strcmp0 (days_text, "30") == 0)
    days = 30;
  journal = sensor_journal (self, req, device);
  if (journal == NULL)
    return;
  to = (g_get_real_time () / USEC_PER_HOUR + 1) * USEC_PER_HOUR;
  from = to - (gint64) days * 24 * USEC_PER_HOUR;
  counts = hgd_journal_count_readings (journal, device, from, USEC_PER_HOUR, days * 24, &error);
  if (counts == NULL)
    {
      respond_gerror (req, error);
      return;
    }
  hours = json_array_sized_new (counts->len);
  for (guint i = 0; i < counts->len; i++)
    {
      json_array_add_int_element (hours, g_array_index (counts, guint, i));
      total += g_array_index (counts, guint, i);
    }
  from_iso = iso8601_from_usec (from);
  to_iso = iso8601_from_usec (to);
  object = json_object_new ();
  json_object_set_string_member (object, "device", device);
  json_object_set_int_member (object, "days", days);
  json_object_set_string_member (object, "from", from_iso);
  json_object_set_string_member (object, "to", to_iso);
  json_object_set_array_member (object, "hours", hours);
  json_object_set_int_member (object, "total", (gint64) total);
  respond_json (req, SOUP_STATUS_OK, object);
}

/* Visits --------------------------------------------------------------------------------- */

/* GET /api/v1/visits?since=&before=&limit=: the `visit.ended` records of the municipal
 * journal, newest first, with only their known members: see (r). Page with ?before= the
 * `next_before` of the last page. */
static void
handle_visits_list (HgdApi *self,
                    HgdApiRequest *req)
{
  static const gchar *const allowed[] = { "since", "before", "limit", NULL };
  static const gchar *const members[] = { "call", "kind", "staff", "answered_by", "started",
                                          "seconds", "outcome", "video", NULL };
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  guint64 limit = VISITS_DEFAULT_LIMIT;
  guint64 before = 0;
  gint64 since = 0;
  JsonObject *object;
  JsonArray *array;

  if (!check_query (req, allowed) ||
      !query_get_uint64 (req, "limit", 1, VISITS_MAX_LIMIT, &limit) ||
      !query_get_uint64 (req, "before", 1, G_MAXINT64, &before) ||
      !query_get_time (req, "since", &since))
    return;
  if (self->journals[HG_DOMAIN_MUNICIPAL] == NULL)
    {
      respond_error (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "journal-unavailable",
                     "the municipal journal is unavailable; the visit records are kept there");
      return;
    }
  /* one more than asked for tells whether there are more */
  events = hgd_journal_query_events_of_type (self->journals[HG_DOMAIN_MUNICIPAL], "visit.ended",
                                             since, before, (guint) limit + 1, &error);
  if (events == NULL)
    {
      respond_gerror (req, error);
      return;
    }
  array = json_array_new ();
  for (guint i = 0; i < events->len && i < limit; i++)
    {
      HgEvent *event = g_ptr_array_index (events, i);
      JsonObject *body = hg_event_get_body (event);
      JsonObject *visit = json_object_new ();
      g_autofree gchar *ts = iso8601_from_usec (hg_event_get_timestamp (event));

      json_object_set_int_member (visit, "seq", (gint64) hg_event_get_seq (event));
      json_object_set_string_member (visit, "ts", ts);
      for (guint j = 0; members[j] != NULL; j++)
        {
          JsonNode *node = json_object_get_member (body, members[j]);

          if (node != NULL && JSON_NODE_HOLDS_VALUE (node))
            json_object_set_member (visit, members[j], json_node_copy (node));
        }
      json_array_add_object_element (array, visit);
    }
  object = json_object_new ();
  json_object_set_array_member (object, "visits", array);
  if (events->len > limit)
    json_object_set_int_member (
        object, "next_before",
        (gint64) hg_event_get_seq (g_ptr_array_index (events, (guint) limit - 1)));
  else
    json_object_set_null_member (object, "next_before");
  respond_json (req, SOUP_STATUS_OK, object);

  /* who read them, in the other domain's access log */
  if (request_domain (req) == HG_DOMAIN_MUNICIPAL)
    {
      req->personal_read = "visits";
    }
  else
    {
      g_autofree gchar *actor = request_who (req);
      g_autoptr(JsonObject) detail = json_object_new ();

      json_object_set_string_member (detail, "role", hgd_role_to_string (req->session->role));
      hgd_access_log_record (self->access_log, HG_DOMAIN_MUNICIPAL, actor, "read.municipal",
                             "visits", detail);
    }
}

/* Consent grants ------------------------------------------------------------------------- */

/* GET /api/v1/grants: all of them for the resident and the guardian; the limited form the
 * grants to the caller (family) or to the municipality (staff): see (i). */
static void
handle_grants_list (HgdApi *self,
                    HgdApiRequest *req)
{
  static const gchar *const allowed[] = { NULL };
  g_autofree gchar *grantee = NULL;
  JsonObject *object;

  if (!check_query (req, allowed))
    return;
  if (request_is_limited (req))
    grantee = request_domain (req) == HG_DOMAIN_MUNICIPAL ? g_strdup ("municipality")
                                                           : request_who (req);
  object = json_object_new ();
  json_object_set_array_member (object, "grants",
                                hgd_grants_to_json (self->grants, grantee, g_get_real_time ()));
  respond_json (req, SOUP_STATUS_OK, object);
}

/* The personal journal, or NULL having answered 503. */
static HgdJournal *
grants_journal (HgdApi *self,
                HgdApiRequest *req)
{
  if (self->journals[HG_DOMAIN_PERSONAL] == NULL)
    respond_error (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "journal-unavailable",
                   "the personal journal is unavailable; grants are kept there");
  return self->journals[HG_DOMAIN_PERSONAL];
}

static void
grant_made_cb (GObject *source,
               GAsyncResult *result,
               gpointer user_data)
{
  g_autoptr(HgdApiRequest) req = user_data;
  g_autoptr(GError) error = NULL;
  HgEvent *event = HG_EVENT (req->data);
  JsonObject *object;

  if (!hgd_journal_append_finish (HGD_JOURNAL (source), result, &error))
    {
      if (req->api != NULL)
        respond_gerror (req, error);
      request_resume (req);
      return;
    }
  if (req->api == NULL)
    return;
  /* it acts once it is durable; the journal's own copy is the one rebuilt at start */
  hgd_grants_apply_event (req->api->grants, event);
  object = hgd_grants_get (req->api->grants,
                           json_object_get_string_member (hg_event_get_body (event), "id"),
                           g_get_real_time ());
  respond_json (req, SOUP_STATUS_CREATED, object);
  request_resume (req);
}

/* POST /api/v1/grants: validated in full (a 400 names the member), then journalled as
 * `grant.made` in the personal journal. */
static void
handle_grants_make (HgdApi *self,
                    HgdApiRequest *req)
{
  HgdJournal *journal = grants_journal (self, req);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) grant = NULL;
  g_autofree gchar *who = request_who (req);
  g_autoptr(HgEvent) event = NULL;

  if (journal == NULL)
    return;
  grant = hgd_grants_validate (req->body, who, g_get_real_time (), &error);
  if (grant == NULL)
    {
      respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid-grant", "%s", error->message);
      return;
    }
  if (g_strcmp0 (json_object_get_string_member (grant, "kind"), "family-access") == 0)
    {
      JsonObject *scope = json_object_get_object_member (grant, "scope");
      g_autofree gchar *user = g_strconcat ("user:", json_object_get_string_member (scope, "user"),
                                            NULL);
      g_autoptr(GPtrArray) users = hgd_accounts_list_users (self->accounts, HG_DOMAIN_PERSONAL);
      gboolean family = FALSE;

      for (guint i = 0; users != NULL && i < users->len; i++)
        {
          HgdUser *u = g_ptr_array_index (users, i);
          family = family || (u->role == HGD_ROLE_FAMILY &&
                              g_strcmp0 (u->username, user + strlen ("user:")) == 0);
        }
      if (!family)
        {
          respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid-grant",
                         "scope.user: '%s' is not a family member's user",
                         json_object_get_string_member (scope, "user"));
          return;
        }
    }
  event = hg_event_new (HGD_GRANT_EVENT_MADE, grant);
  hg_event_set_source (event, who);
  req->data = G_OBJECT (g_object_ref (event));
  request_pause (req);
  hgd_journal_append_async (journal, event, NULL, self->cancellable, grant_made_cb,
                            request_ref (req));
}

static void
grant_revoked_cb (GObject *source,
                  GAsyncResult *result,
                  gpointer user_data)
{
  g_autoptr(HgdApiRequest) req = user_data;
  g_autoptr(GError) error = NULL;

  if (!hgd_journal_append_finish (HGD_JOURNAL (source), result, &error))
    {
      /* revoked in memory already: it stays so until a restart would read it again */
      if (req->api != NULL)
        respond_gerror (req, error);
      request_resume (req);
      return;
    }
  if (req->api != NULL)
    respond_empty (req, SOUP_STATUS_NO_CONTENT);
  request_resume (req);
}

/* DELETE /api/v1/grants/{id}: revoked in memory at once, before the answer and before the
 * journal has it, then journalled as `grant.revoked`. */
static void
handle_grant_revoke (HgdApi *self,
                     HgdApiRequest *req)
{
  HgdJournal *journal = grants_journal (self, req);
  const gchar *id = request_param (req, 0);
  g_autofree gchar *who = request_who (req);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) grant = NULL;
  g_autoptr(HgEvent) event = NULL;

  if (journal == NULL)
    return;
  if (!param_is_valid (id))
    {
      respond_error (req, SOUP_STATUS_NOT_FOUND, "not-found", "no such grant");
      return;
    }
  grant = hgd_grants_revoke (self->grants, id, who, g_get_real_time (), &error);
  if (grant == NULL)
    {
      if (g_error_matches (error, HGD_GRANTS_ERROR, HGD_GRANTS_ERROR_REVOKED))
        respond_error (req, SOUP_STATUS_CONFLICT, "conflict", "%s", error->message);
      else
        respond_error (req, SOUP_STATUS_NOT_FOUND, "not-found", "no such grant");
      return;
    }
  event = hg_event_new (HGD_GRANT_EVENT_REVOKED, grant);
  hg_event_set_source (event, who);
  request_pause (req);
  hgd_journal_append_async (journal, event, NULL, self->cancellable, grant_revoked_cb,
                            request_ref (req));
}

/* Secrets ------------------------------------------------------------------------------- */

/* A secret's value: text, as the owners read it (a password, a PEM key or certificate). */
#define SECRET_VALUE_MAX_BYTES 32768

/* A key, or an instance id after `plugin:`: as HgdSecrets takes them. */
static gboolean
secret_name_is_valid (const gchar *name)
{
  gsize len = strlen (name);

  if (len == 0 || len > MAX_NAME_LENGTH)
    return FALSE;
  for (const gchar *p = name; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '.' && *p != '_' && *p != '-')
        return FALSE;
    }
  return TRUE;
}

/* Whether the caller may manage the secrets of {owner} (see (m) above the route table);
 * answers the request when not. */
static gboolean
check_secret_owner (HgdApi *self,
                    HgdApiRequest *req)
{
  const gchar *owner = request_param (req, 0);
  const gchar *key = request_param (req, 1);
  HgDomain domain = request_domain (req);
  HgDomain owner_domain = HG_DOMAIN_LAST;

  if (g_strcmp0 (owner, "core") == 0)
    {
      owner_domain = HG_DOMAIN_MUNICIPAL;
    }
  else if (g_str_has_prefix (owner, "plugin:") && self->plugins != NULL &&
           secret_name_is_valid (owner + strlen ("plugin:")))
    {
      g_autoptr(JsonArray) instances = hgd_plugin_manager_to_json (self->plugins, NULL);

      for (guint i = 0; i < json_array_get_length (instances); i++)
        {
          JsonObject *instance = json_array_get_object_element (instances, i);
          if (g_strcmp0 (json_object_get_string_member (instance, "id"),
                         owner + strlen ("plugin:")) == 0)
            hg_domain_from_string (json_object_get_string_member (instance, "domain"),
                                   &owner_domain);
        }
    }
  /* a municipal role is not told which personal instances exist (a) */
  if (owner_domain == HG_DOMAIN_LAST ||
      (owner_domain == HG_DOMAIN_PERSONAL && domain != HG_DOMAIN_PERSONAL))
    {
      respond_error (req, SOUP_STATUS_NOT_FOUND, "unknown-owner",
                     "no owner of this name: 'core' or 'plugin:<instance id>' of a configured "
                     "instance of your domain");
      return FALSE;
    }
  if (owner_domain != domain)
    {
      respond_error (req, SOUP_STATUS_FORBIDDEN, "forbidden",
                     "the secrets of '%s' belong to the %s domain", owner,
                     hg_domain_to_string (owner_domain));
      return FALSE;
    }
  if (!secret_name_is_valid (key))
    {
      respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid-request",
                     "a secret's key is 1 to %u characters of [A-Za-z0-9._-]",
                     (guint) MAX_NAME_LENGTH);
      return FALSE;
    }
  if (self->journals[domain] == NULL)
    {
      respond_error (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "journal-unavailable",
                     "the %s journal is unavailable; every change of a secret is recorded there",
                     hg_domain_to_string (domain));
      return FALSE;
    }
  if (self->secrets == NULL)
    {
      respond_error (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "unavailable",
                     "the gateway has no Secret Service");
      return FALSE;
    }
  return TRUE;
}

static void
secrets_listed_cb (GObject *source,
                   GAsyncResult *result,
                   gpointer user_data)
{
  g_autoptr(HgdApiRequest) req = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) found = hgd_secrets_list_finish (HGD_SECRETS (source), result, &error);
  g_autoptr(GList) elements = NULL;
  JsonArray *secrets;
  JsonObject *object;

  if (req->api == NULL)
    return;
  if (found == NULL)
    {
      respond_gerror (req, error);
      request_resume (req);
      return;
    }
  secrets = json_array_new ();
  elements = json_array_get_elements (found);
  for (GList *l = elements; l != NULL; l = l->next)
    {
      JsonObject *item = json_node_get_object (l->data);
      JsonObject *secret = json_object_new ();
      gint64 modified = json_object_get_int_member (item, "modified");
      g_autofree gchar *set_at = iso8601_from_usec (modified * G_USEC_PER_SEC);

      json_object_set_string_member (secret, "owner",
                                     json_object_get_string_member (item, "owner"));
      json_object_set_string_member (secret, "key", json_object_get_string_member (item, "key"));
      json_object_set_string_member (secret, "domain",
                                     hg_domain_to_string (request_domain (req)));
      if (modified > 0)
        json_object_set_string_member (secret, "set_at", set_at);
      else
        json_object_set_null_member (secret, "set_at");
      json_array_add_object_element (secrets, secret);
    }
  object = json_object_new ();
  json_object_set_array_member (object, "secrets", secrets);
  respond_json (req, SOUP_STATUS_OK, object);
  request_resume (req);
}

/* GET /api/v1/secrets: which secrets the caller's domain holds, never a value. */
static void
handle_secrets_list (HgdApi *self,
                     HgdApiRequest *req)
{
  if (self->secrets == NULL)
    {
      respond_error (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "unavailable",
                     "the gateway has no Secret Service");
      return;
    }
  request_pause (req);
  hgd_secrets_list_async (self->secrets, request_domain (req), self->cancellable,
                          secrets_listed_cb, request_ref (req));
}

/* The value of a PUT: `value` (one line) or `value_base64` (any text, e.g. a PEM file, as
 * the strict JSON check refuses control characters in strings). Answers when invalid. */
static gchar *
secret_value_from_body (HgdApiRequest *req)
{
  static const gchar *const members[] = { "value", "value_base64", NULL };
  g_autoptr(GError) error = NULL;
  const gchar *text = NULL;
  const gchar *encoded = NULL;
  g_autofree gchar *value = NULL;
  gsize len;

  if (!hg_json_object_check_members (req->body, members, &error) ||
      !hg_json_object_get_optional_string (req->body, "value", &text, &error) ||
      !hg_json_object_get_optional_string (req->body, "value_base64", &encoded, &error))
    {
      respond_invalid (req, error);
      return NULL;
    }
  if ((text == NULL) == (encoded == NULL))
    {
      respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid-request",
                     "give the secret as exactly one of 'value' and 'value_base64'");
      return NULL;
    }
  if (text != NULL)
    {
      value = g_strdup (text);
      len = strlen (value);
    }
  else
    {
      gsize n = strlen (encoded);

      for (gsize i = 0; i < n; i++)
        {
          if (!g_ascii_isalnum (encoded[i]) && encoded[i] != '+' && encoded[i] != '/' &&
              !(encoded[i] == '=' && i + 2 >= n))
            n = 0;
        }
      if (n == 0 || n % 4 != 0 || n > (SECRET_VALUE_MAX_BYTES / 3 + 1) * 4)
        {
          respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid-value",
                         "'value_base64' is not base64 of at most %d bytes",
                         SECRET_VALUE_MAX_BYTES);
          return NULL;
        }
      value = (gchar *) g_base64_decode (encoded, &len);
      value = g_realloc (value, len + 1);
      value[len] = '\0';
    }
  if (len == 0 || len > SECRET_VALUE_MAX_BYTES)
    {
      respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid-value",
                     "a secret is 1 to %d bytes (to remove one, DELETE it)",
                     SECRET_VALUE_MAX_BYTES);
      return NULL;
    }
  if (memchr (value, '\0', len) != NULL || !g_utf8_validate (value, len, NULL))
    {
      explicit_bzero (value, len);
      respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid-value",
                     "a secret is text: valid UTF-8 without NUL (binary data goes base64 "
                     "or PEM encoded)");
      return NULL;
    }
  for (const gchar *p = value; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (g_unichar_iscntrl (c) && c != '\t' && c != '\n' && c != '\r')
        {
          explicit_bzero (value, len);
          respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid-value",
                         "a secret is text: no control characters but tab and line breaks");
          return NULL;
        }
    }
  return g_steal_pointer (&value);
}

/* The last step of a PUT or DELETE: the personal access log, the plugin told, 204. */
static void
secret_changed_done (HgdApiRequest *req)
{
  HgdApi *self = req->api;
  const gchar *owner = request_param (req, 0);
  const gchar *key = request_param (req, 1);
  gboolean deleted = g_strcmp0 (req->route->method, "DELETE") == 0;

  if (request_domain (req) == HG_DOMAIN_PERSONAL)
    {
      g_autofree gchar *actor = request_who (req);
      g_autofree gchar *what = g_strdup_printf ("%s/%s", owner, key);
      g_autoptr(JsonObject) detail = json_object_new ();

      json_object_set_string_member (detail, "role", hgd_role_to_string (req->session->role));
      session_add_identity (req->session, detail, "");
      hgd_access_log_record (self->access_log, HG_DOMAIN_PERSONAL, actor,
                             deleted ? "secret.deleted" : "secret.set", what, detail);
    }
  if (g_str_has_prefix (owner, "plugin:") && self->plugins != NULL)
    hgd_plugin_manager_secret_changed (self->plugins, owner + strlen ("plugin:"), key);
  respond_empty (req, SOUP_STATUS_NO_CONTENT);
  request_resume (req);
}

static void
secret_journaled_cb (GObject *source,
                     GAsyncResult *result,
                     gpointer user_data)
{
  g_autoptr(HgdApiRequest) req = user_data;
  g_autoptr(GError) error = NULL;

  if (!hgd_journal_append_finish (HGD_JOURNAL (source), result, &error))
    {
      if (req->api == NULL)
        return;
      /* the secret has changed: say so, and that the journal does not have it */
      g_warning ("secret %s/%s changed but not journaled: %s", request_param (req, 0),
                 request_param (req, 1), error->message);
      secret_changed_done (req);
      return;
    }
  if (req->api == NULL)
    return;
  secret_changed_done (req);
}

/* `secret.set` or `secret.deleted` {"owner", "key", "by"} in the caller's journal. */
static void
secret_journal (HgdApiRequest *req)
{
  HgdJournal *journal = req->api->journals[request_domain (req)];
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(HgEvent) event = NULL;
  g_autofree gchar *who = request_who (req);
  gboolean deleted = g_strcmp0 (req->route->method, "DELETE") == 0;

  json_object_set_string_member (body, "owner", request_param (req, 0));
  json_object_set_string_member (body, "key", request_param (req, 1));
  json_object_set_string_member (body, "by", who);
  session_add_identity (req->session, body, "by_");
  event = hg_event_new (deleted ? "secret.deleted" : "secret.set", body);
  hg_event_set_source (event, who);
  if (journal == NULL)
    {
      g_warning ("secret %s/%s changed but not journaled: the journal is not open",
                 request_param (req, 0), request_param (req, 1));
      secret_changed_done (req);
      return;
    }
  hgd_journal_append_async (journal, event, NULL, NULL, secret_journaled_cb, request_ref (req));
}

static void
secret_stored_cb (GObject *source,
                  GAsyncResult *result,
                  gpointer user_data)
{
  g_autoptr(HgdApiRequest) req = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = g_str_equal (req->route->method, "DELETE")
                    ? hgd_secrets_clear_finish (HGD_SECRETS (source), result, &error)
                    : hgd_secrets_store_finish (HGD_SECRETS (source), result, &error);

  if (req->api == NULL)
    return;
  if (!ok)
    {
      respond_gerror (req, error);
      request_resume (req);
      return;
    }
  secret_journal (req);
}

/* PUT /api/v1/secrets/{owner}/{key}: sets a secret, replacing any earlier value. */
static void
handle_secret_set (HgdApi *self,
                   HgdApiRequest *req)
{
  g_autofree gchar *value = NULL;

  if (!check_secret_owner (self, req))
    return;
  value = secret_value_from_body (req);
  if (value == NULL)
    return;
  request_pause (req);
  hgd_secrets_store_async (self->secrets, request_domain (req), request_param (req, 0),
                           request_param (req, 1), value, self->cancellable, secret_stored_cb,
                           request_ref (req));
  explicit_bzero (value, strlen (value));
}

static void
secret_found_cb (GObject *source,
                 GAsyncResult *result,
                 gpointer user_data)
{
  g_autoptr(HgdApiRequest) req = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) found = hgd_secrets_list_finish (HGD_SECRETS (source), result, &error);
  gboolean exists = FALSE;

  if (req->api == NULL)
    return;
  if (found == NULL)
    {
      respond_gerror (req, error);
      request_resume (req);
      return;
    }
  for (guint i = 0; i < json_array_get_length (found); i++)
    {
      JsonObject *item = json_array_get_object_element (found, i);
      exists = exists || (g_strcmp0 (json_object_get_string_member (item, "owner"),
                                     request_param (req, 0)) == 0 &&
                          g_strcmp0 (json_object_get_string_member (item, "key"),
                                     request_param (req, 1)) == 0);
    }
  if (!exists)
    {
      respond_error (req, SOUP_STATUS_NOT_FOUND, "not-found", "no such secret");
      request_resume (req);
      return;
    }
  hgd_secrets_clear_async (req->api->secrets, request_domain (req), request_param (req, 0),
                           request_param (req, 1), req->api->cancellable, secret_stored_cb,
                           request_ref (req));
}

/* DELETE /api/v1/secrets/{owner}/{key}: removes a secret; 404 when there is none. */
static void
handle_secret_delete (HgdApi *self,
                      HgdApiRequest *req)
{
  if (!check_secret_owner (self, req))
    return;
  request_pause (req);
  hgd_secrets_list_async (self->secrets, request_domain (req), self->cancellable, secret_found_cb,
                          request_ref (req));
}

/* TLS ------------------------------------------------------------------------------------ */

/* A base64 member of the body, decoded as text, or NULL having answered 400. */
static gchar *
body_base64_text (HgdApiRequest *req,
                  const gchar *member)
{
  const gchar *encoded = NULL;
  g_autoptr(GError) error = NULL;
  gchar *text;
  gsize len = 0;

  if (!hg_json_object_get_string (req->body, member, &encoded, &error))
    {
      respond_invalid (req, error);
      return NULL;
    }
  for (const gchar *p = encoded; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '+' && *p != '/' && *p != '=')
        encoded = "";
    }
  text = *encoded != '\0' ? (gchar *) g_base64_decode (encoded, &len) : NULL;
  if (text == NULL || len == 0 || memchr (text, '\0', len) != NULL ||
      !g_utf8_validate (text, len, NULL))
    {
      if (text != NULL)
        explicit_bzero (text, len);
      g_free (text);
      respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid-certificate",
                     "'%s' is not base64 of PEM text", member);
      return NULL;
    }
  text = g_realloc (text, len + 1);
  text[len] = '\0';
  return text;
}

static void
tls_journaled_cb (GObject *source,
                  GAsyncResult *result,
                  gpointer user_data)
{
  g_autoptr(HgdApiRequest) req = user_data;
  g_autoptr(GError) error = NULL;

  if (!hgd_journal_append_finish (HGD_JOURNAL (source), result, &error))
    g_warning ("a TLS certificate was installed but not journaled: %s", error->message);
  if (req->api == NULL)
    return;
  respond_json (req, SOUP_STATUS_OK,
                json_object_ref (g_object_get_data (req->data, "answer")));
  request_resume (req);
}

static void
tls_key_stored_cb (GObject *source,
                   GAsyncResult *result,
                   gpointer user_data)
{
  g_autoptr(HgdApiRequest) req = user_data;
  g_autoptr(GError) error = NULL;
  HgdApi *self = req->api;
  GTlsCertificate *certificate;
  const gchar *staged;
  g_autofree gchar *cert_path = NULL;
  g_autoptr(HgEvent) event = NULL;
  g_autofree gchar *who = NULL;

  if (!hgd_secrets_store_finish (HGD_SECRETS (source), result, &error))
    {
      if (self == NULL)
        return;
      respond_gerror (req, error);
      request_resume (req);
      return;
    }
  if (self == NULL)
    return;
  /* the key is in the store: the certificate beside it, then new connections use both */
  certificate = g_object_get_data (req->data, "certificate");
  staged = g_object_get_data (req->data, "staged");
  cert_path = g_build_filename (self->state_dir, "tls", "hemgate.crt", NULL);
  if (g_rename (staged, cert_path) != 0)
    {
      int errsv = errno;
      g_warning ("installing the TLS certificate %s: %s", cert_path, g_strerror (errsv));
      respond_error (req, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal-error", "internal error");
      request_resume (req);
      return;
    }
  soup_server_set_tls_certificate (self->server, certificate);
  g_message ("installed a TLS certificate for new connections");

  who = request_who (req);
  event = hg_event_new ("tls.certificate-installed",
                        g_object_get_data (req->data, "answer"));
  hg_event_set_source (event, who);
  if (self->journals[HG_DOMAIN_MUNICIPAL] == NULL)
    {
      respond_json (req, SOUP_STATUS_OK,
                    json_object_ref (g_object_get_data (req->data, "answer")));
      request_resume (req);
      return;
    }
  hgd_journal_append_async (self->journals[HG_DOMAIN_MUNICIPAL], event, NULL, NULL,
                            tls_journaled_cb, request_ref (req));
}

static void
staged_remove (gpointer path)
{
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    g_unlink (path);
  g_free (path);
}

/* PUT /api/v1/tls/certificate: see (n) above the route table. */
static void
handle_tls_install (HgdApi *self,
                    HgdApiRequest *req)
{
  static const gchar *const members[] = { "certificate_base64", "key_base64", NULL };
  g_autoptr(GError) error = NULL;
  g_autofree gchar *chain = NULL;
  g_autofree gchar *key = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autofree gchar *staged = NULL;
  g_autofree gchar *subject = NULL;
  g_autofree gchar *by = request_who (req);
  g_autoptr(GDateTime) not_after = NULL;
  g_autofree gchar *not_after_text = NULL;
  JsonObject *answer;

  if (!self->tls ||
      *hgd_config_get_string (self->config, "api", "tls-certificate") != '\0')
    {
      respond_error (req, SOUP_STATUS_CONFLICT, "conflict",
                     self->tls ? "the certificate is [api] tls-certificate of the configuration"
                               : "the API does not serve TLS ([api] tls = false)");
      return;
    }
  if (self->secrets == NULL)
    {
      respond_error (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "unavailable",
                     "the gateway has no Secret Service for the key");
      return;
    }
  if (!hg_json_object_check_members (req->body, members, &error))
    {
      respond_invalid (req, error);
      return;
    }
  chain = body_base64_text (req, "certificate_base64");
  if (chain == NULL)
    return;
  key = body_base64_text (req, "key_base64");
  if (key == NULL)
    return;
  certificate = hgd_tls_certificate_new (chain, key, &error);
  if (certificate == NULL)
    {
      explicit_bzero (key, strlen (key));
      respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid-certificate", "%s", error->message);
      return;
    }
  /* staged beside the current one, renamed over it once the key is stored */
  staged = g_build_filename (self->state_dir, "tls", "hemgate.crt.new", NULL);
  if (!g_file_set_contents_full (staged, chain, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                 &error))
    {
      explicit_bzero (key, strlen (key));
      respond_gerror (req, error);
      return;
    }
  subject = g_tls_certificate_get_subject_name (certificate);
  not_after = g_tls_certificate_get_not_valid_after (certificate);
  not_after_text = not_after != NULL ? g_date_time_format_iso8601 (not_after) : NULL;
  answer = json_object_new ();
  json_object_set_string_member (answer, "subject", subject != NULL ? subject : "");
  json_object_set_string_member (answer, "not_after", not_after_text != NULL ? not_after_text : "");
  json_object_set_string_member (answer, "by", by);
  req->data = g_object_new (G_TYPE_OBJECT, NULL);
  g_object_set_data_full (req->data, "answer", answer, (GDestroyNotify) json_object_unref);
  g_object_set_data_full (req->data, "certificate", g_steal_pointer (&certificate),
                          g_object_unref);
  g_object_set_data_full (req->data, "staged", g_steal_pointer (&staged), staged_remove);
  request_pause (req);
  hgd_secrets_store_async (self->secrets, HG_DOMAIN_MUNICIPAL, "core", HGD_TLS_KEY_SECRET, key,
                           self->cancellable, tls_key_stored_cb, request_ref (req));
  explicit_bzero (key, strlen (key));
}

/* Access log ---------------------------------------------------------------------------- */

#define ACCESS_LOG_DEFAULT_LIMIT 100
#define ACCESS_LOG_MAX_LIMIT 1000

/* Who @actor is, as a person reads it: a user's name (accounts keep no other), a plugin's
 * id, else the actor itself. */
static const gchar *
actor_name (const gchar *actor)
{
  if (g_str_has_prefix (actor, "user:"))
    return actor + strlen ("user:");
  if (g_str_has_prefix (actor, "plugin:"))
    return actor + strlen ("plugin:");
  return actor;
}

static JsonObject *
access_entry_to_json (const HgdAccessEntry *entry)
{
  JsonObject *object = json_object_new ();
  g_autofree gchar *time = iso8601_from_usec (entry->time);
  g_autoptr(JsonObject) detail = NULL;

  if (entry->detail != NULL)
    detail = hg_json_parse_object (entry->detail, -1, 0, NULL);
  json_object_set_int_member (object, "seq", (gint64) entry->seq);
  json_object_set_string_member (object, "time", time);
  json_object_set_string_member (object, "domain", hg_domain_to_string (entry->domain));
  json_object_set_string_member (object, "actor", entry->actor);
  /* a staff member from the identity provider: the name and the IdP it gave, which the
   * entry's detail keeps (session_add_identity ()) */
  if (g_str_has_prefix (entry->actor, "user:oidc:") && detail != NULL &&
      json_object_get_string_member_with_default (detail, "name", NULL) != NULL)
    json_object_set_string_member (object, "actor_name",
                                   json_object_get_string_member (detail, "name"));
  else
    json_object_set_string_member (object, "actor_name", actor_name (entry->actor));
  if (g_str_has_prefix (entry->actor, "user:oidc:") && detail != NULL &&
      json_object_get_string_member_with_default (detail, "issuer", NULL) != NULL)
    json_object_set_string_member (object, "actor_issuer",
                                   json_object_get_string_member (detail, "issuer"));
  json_object_set_string_member (object, "action", entry->action);
  if (entry->object != NULL)
    json_object_set_string_member (object, "object", entry->object);
  else
    json_object_set_null_member (object, "object");
  if (detail != NULL)
    json_object_set_object_member (object, "detail", g_steal_pointer (&detail));
  else
    json_object_set_null_member (object, "detail");
  json_object_set_string_member (object, "hash", entry->hash);
  json_object_set_string_member (object, "prev_hash", entry->prev_hash);
  return object;
}

/* GET /api/v1/access-log: the access log of the caller's domain, newest first; the
 * resident's (and their guardian's) is the personal one, the auditor's the municipal one. */
static void
handle_access_log (HgdApi *self,
                   HgdApiRequest *req)
{
  static const gchar *const allowed[] = { "limit", "before", NULL };
  guint64 limit = ACCESS_LOG_DEFAULT_LIMIT;
  guint64 before = 0;
  HgDomain domain = request_domain (req);
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *object;
  JsonArray *array;

  if (!check_query (req, allowed) ||
      !query_get_uint64 (req, "limit", 1, ACCESS_LOG_MAX_LIMIT, &limit) ||
      !query_get_uint64 (req, "before", 1, G_MAXINT64, &before))
    return;
  entries = hgd_access_log_list (self->access_log, domain, before, (guint) limit, &error);
  if (entries == NULL)
    {
      respond_gerror (req, error);
      return;
    }
  object = json_object_new ();
  array = json_array_new ();
  for (guint i = 0; i < entries->len; i++)
    json_array_add_object_element (array, access_entry_to_json (g_ptr_array_index (entries, i)));
  json_object_set_string_member (object, "domain", hg_domain_to_string (domain));
  json_object_set_array_member (object, "entries", array);
  /* the next page: ?before= this, while there may be older entries */
  if (entries->len == limit && ((HgdAccessEntry *) g_ptr_array_index (entries, entries->len - 1))->seq > 1)
    json_object_set_int_member (
        object, "next_before",
        (gint64) ((HgdAccessEntry *) g_ptr_array_index (entries, entries->len - 1))->seq);
  else
    json_object_set_null_member (object, "next_before");
  respond_json (req, SOUP_STATUS_OK, object);
}

/* GET /api/v1/access-log/verify: walks the caller's domain's chain (and updates health). */
static void
handle_access_log_verify (HgdApi *self,
                          HgdApiRequest *req)
{
  HgDomain domain = request_domain (req);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *reason = NULL;
  const gchar *problem = NULL;
  guint64 n_entries = 0;
  guint64 bad_seq = 0;
  JsonObject *object;

  if (!hgd_access_log_verify (self->access_log, domain, &n_entries, &bad_seq, &problem, &reason,
                              &error))
    {
      respond_gerror (req, error);
      return;
    }
  object = json_object_new ();
  json_object_set_string_member (object, "domain", hg_domain_to_string (domain));
  json_object_set_boolean_member (object, "ok", problem == NULL);
  json_object_set_int_member (object, "entries", (gint64) n_entries);
  if (problem != NULL)
    {
      json_object_set_int_member (object, "first_bad_seq", (gint64) bad_seq);
      json_object_set_string_member (object, "problem", problem);
      json_object_set_string_member (object, "message", reason);
    }
  else
    {
      json_object_set_null_member (object, "first_bad_seq");
      json_object_set_null_member (object, "problem");
      json_object_set_null_member (object, "message");
    }
  respond_json (req, SOUP_STATUS_OK, object);
}

/* Data rights ---------------------------------------------------------------------------- */

#define EXPORT_FORMAT "hemgate-personal-export"
#define EXPORT_VERSION 1
#define EXPORT_BATCH 500
#define ERASE_CONFIRMATION "erase-personal-data"

/* The personal domain's accounts: names, roles and when they were made; never a password
 * hash nor a session token. */
static JsonArray *
personal_accounts_to_json (HgdApi *self)
{
  g_autoptr(GPtrArray) users = hgd_accounts_list_users (self->accounts, HG_DOMAIN_PERSONAL);
  JsonArray *array = json_array_new ();

  for (guint i = 0; users != NULL && i < users->len; i++)
    {
      HgdUser *user = g_ptr_array_index (users, i);
      JsonObject *object = json_object_new ();
      g_autofree gchar *created = iso8601_from_usec (user->created);

      json_object_set_string_member (object, "username", user->username);
      json_object_set_string_member (object, "role", hgd_role_to_string (user->role));
      json_object_set_string_member (object, "created", created);
      json_array_add_object_element (array, object);
    }
  return array;
}

/* The personal domain's access log, newest first, every entry. */
static JsonArray *
personal_access_log_to_json (HgdApi *self,
                             GError **error)
{
  g_autoptr(JsonArray) array = json_array_new ();
  guint64 before = 0;

  for (;;)
    {
      g_autoptr(GPtrArray) entries
          = hgd_access_log_list (self->access_log, HG_DOMAIN_PERSONAL, before, EXPORT_BATCH, error);

      if (entries == NULL)
        return NULL;
      for (guint i = 0; i < entries->len; i++)
        {
          HgdAccessEntry *entry = g_ptr_array_index (entries, i);
          json_array_add_object_element (array, access_entry_to_json (entry));
          before = entry->seq;
        }
      if (entries->len < EXPORT_BATCH || before <= 1)
        break;
    }
  return g_steal_pointer (&array);
}

/* Appends the personal journal's events to @out as a JSON array, one batch at a time: the
 * export holds the events once, as text, never also as a tree. */
static gboolean
append_personal_events (HgdApi *self,
                        HgdApiRequest *req,
                        GString *out,
                        GError **error)
{
  HgdJournal *journal = self->journals[HG_DOMAIN_PERSONAL];
  guint64 after = 0;
  gboolean first = TRUE;

  g_string_append_c (out, '[');
  for (;;)
    {
      g_autoptr(GPtrArray) events = hgd_journal_query_events (journal, after, EXPORT_BATCH, error);

      if (events == NULL)
        return FALSE;
      for (guint i = 0; i < events->len; i++)
        {
          HgEvent *event = g_ptr_array_index (events, i);
          g_autoptr(JsonObject) object = hg_event_to_json (event);
          g_autoptr(JsonObject) narrowed = NULL;
          g_autofree gchar *text = NULL;

          narrowed = hgd_own_alarms_narrow_for (object, req->session->username);
          text = hg_json_object_to_string (narrowed);
          if (!first)
            g_string_append_c (out, ',');
          g_string_append (out, text);
          first = FALSE;
          after = hg_event_get_seq (event);
        }
      if (events->len < EXPORT_BATCH)
        break;
    }
  g_string_append_c (out, ']');
  return TRUE;
}

/* The export document: everything of the personal domain, `events` last. */
static void
export_respond (HgdApiRequest *req,
                JsonArray *secrets,
                const GError *secrets_error)
{
  HgdApi *self = req->api;
  HgdJournal *journal = self->journals[HG_DOMAIN_PERSONAL];
  g_autoptr(JsonObject) head = json_object_new ();
  g_autoptr(JsonObject) plugins = NULL;
  g_autoptr(GPtrArray) readings = NULL;
  JsonArray *access_log;
  JsonArray *devices;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *now = iso8601_from_usec (g_get_real_time ());
  g_autofree gchar *who = request_who (req);
  g_autofree gchar *head_text = NULL;
  GString *out;
  gsize length;

  readings = hgd_journal_query_latest_readings (journal, &error);
  access_log = readings != NULL ? personal_access_log_to_json (self, &error) : NULL;
  if (access_log == NULL)
    {
      respond_gerror (req, error);
      return;
    }
  json_object_set_string_member (head, "format", EXPORT_FORMAT);
  json_object_set_int_member (head, "version", EXPORT_VERSION);
  json_object_set_string_member (head, "exported", now);
  json_object_set_string_member (head, "exported_by", who);
  json_object_set_array_member (head, "accounts", personal_accounts_to_json (self));
  devices = json_array_new ();
  append_devices (devices, readings, HG_DOMAIN_PERSONAL, NULL);
  json_object_set_array_member (head, "devices", devices);
  json_object_set_array_member (head, "grants",
                                hgd_grants_to_json (self->grants, NULL, g_get_real_time ()));
  plugins = hgd_plugin_manager_to_json_for_domain (self->plugins, HG_DOMAIN_PERSONAL, NULL);
  json_object_set_member (head, "plugins",
                          json_node_copy (json_object_get_member (plugins, "plugins")));
  /* the plugins the resident installed from bundles, and the keys they trust to sign them */
  if (hgd_plugin_manager_get_bundles (self->plugins) != NULL)
    {
      HgdBundles *bundles = hgd_plugin_manager_get_bundles (self->plugins);

      json_object_set_array_member (head, "bundles",
                                    hgd_bundles_list_installed (bundles, HG_DOMAIN_PERSONAL));
      json_object_set_array_member (head, "bundle_keys",
                                    hgd_bundles_list_keys (bundles, HG_DOMAIN_PERSONAL));
    }
  if (secrets != NULL)
    {
      json_object_set_array_member (head, "secrets", json_array_ref (secrets));
    }
  else
    {
      json_object_set_null_member (head, "secrets");
      if (secrets_error != NULL)
        json_object_set_string_member (head, "secrets_unavailable", secrets_error->message);
    }

  json_object_set_array_member (head, "access_log", access_log);

  /* the head without its closing brace, then the events */
  head_text = hg_json_object_to_string (head);
  length = strlen (head_text);
  g_assert (length > 2 && head_text[length - 1] == '}');
  out = g_string_new_len (head_text, (gssize) length - 1);
  g_string_append (out, ",\"events\":");
  if (!append_personal_events (self, req, out, &error))
    {
      g_string_free (out, TRUE);
      respond_gerror (req, error);
      return;
    }
  g_string_append_c (out, '}');
  hgd_access_log_record (self->access_log, HG_DOMAIN_PERSONAL, who, "export", "personal", NULL);
  soup_message_headers_replace (soup_server_message_get_response_headers (req->msg),
                                "Content-Disposition",
                                "attachment; filename=\"hemgate-personal-export.json\"");
  soup_server_message_set_status (req->msg, SOUP_STATUS_OK, NULL);
  length = out->len;
  soup_server_message_set_response (req->msg, "application/json", SOUP_MEMORY_TAKE,
                                    g_string_free (out, FALSE), length);
}

static void
export_keys_cb (GObject *source,
                GAsyncResult *result,
                gpointer user_data)
{
  g_autoptr(HgdApiRequest) req = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) keys = hgd_secrets_list_keys_finish (HGD_SECRETS (source), result, &error);

  if (req->api == NULL)
    return;
  export_respond (req, keys, error);
  request_resume (req);
}

/* GET /api/v1/personal/export: see (k) above the route table. */
static void
handle_personal_export (HgdApi *self,
                        HgdApiRequest *req)
{
  static const gchar *const allowed[] = { NULL };

  if (!check_query (req, allowed))
    return;
  if (self->journals[HG_DOMAIN_PERSONAL] == NULL)
    {
      respond_error (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "journal-unavailable",
                     "the personal journal is unavailable");
      return;
    }
  if (self->secrets == NULL)
    {
      export_respond (req, NULL, NULL);
      return;
    }
  request_pause (req);
  hgd_secrets_list_keys_async (self->secrets, HG_DOMAIN_PERSONAL, self->cancellable,
                               export_keys_cb, request_ref (req));
}

/* nftw(): removes each entry, children first, never following a link. */
static int
remove_entry (const char *path,
              const struct stat *st,
              int type,
              struct FTW *ftw)
{
  if (g_remove (path) != 0)
    {
      int errsv = errno;
      g_warning ("cannot remove %s: %s", path, g_strerror (errsv));
      return -1;
    }
  return 0;
}

/* Removes the personal plugins' state: everything under <state-dir>/personal/plugins. */
static gboolean
remove_personal_plugin_state (HgdApi *self,
                              GError **error)
{
  g_autofree gchar *dir = g_build_filename (self->state_dir, "personal", "plugins", NULL);
  int result;

  if (!g_file_test (dir, G_FILE_TEST_EXISTS))
    return TRUE;
  /* each instance's directory is its domain user's, 0700 */
  hgd_sandbox_privileges_raise ();
  result = nftw (dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  hgd_sandbox_privileges_lower ();
  if (result != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "cannot remove the personal plugins' state in %s", dir);
      return FALSE;
    }
  return TRUE;
}

static void
erasure_recorded_cb (GObject *source,
                     GAsyncResult *result,
                     gpointer user_data)
{
  g_autoptr(HgdApiRequest) req = user_data;
  g_autoptr(GError) error = NULL;
  gboolean recorded = hgd_journal_append_finish (HGD_JOURNAL (source), result, &error);
  JsonObject *answer;

  if (!recorded)
    g_warning ("the personal domain was erased, but the municipal journal did not record it: %s",
               error->message);
  if (req->api == NULL)
    return;
  answer = json_object_ref (g_object_get_data (req->data, "answer"));
  json_object_set_boolean_member (answer, "recorded", recorded);
  respond_json (req, SOUP_STATUS_OK, answer);
  request_resume (req);
}

/* The erasure's last step: `personal.erased` in the municipal journal, who and when only. */
static void
erasure_record (HgdApiRequest *req)
{
  HgdJournal *municipal = req->api->journals[HG_DOMAIN_MUNICIPAL];
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(HgEvent) event = NULL;
  g_autofree gchar *who = request_who (req);
  JsonObject *answer = g_object_get_data (req->data, "answer");

  json_object_set_string_member (body, "by", who);
  json_object_set_string_member (body, "role", hgd_role_to_string (req->session->role));
  json_object_set_string_member (body, "at", json_object_get_string_member (answer, "erased"));
  event = hg_event_new ("personal.erased", body);
  hg_event_set_source (event, who);
  if (municipal == NULL)
    {
      json_object_set_boolean_member (answer, "recorded", FALSE);
      respond_json (req, SOUP_STATUS_OK, json_object_ref (answer));
      request_resume (req);
      return;
    }
  hgd_journal_append_async (municipal, event, NULL, NULL, erasure_recorded_cb, request_ref (req));
}

static void
erase_secrets_cb (GObject *source,
                  GAsyncResult *result,
                  gpointer user_data)
{
  g_autoptr(HgdApiRequest) req = user_data;
  g_autoptr(GError) error = NULL;
  gboolean cleared = hgd_secrets_clear_domain_finish (HGD_SECRETS (source), result, &error);
  JsonObject *answer;

  if (req->api == NULL)
    return;
  answer = g_object_get_data (req->data, "answer");
  json_object_set_boolean_member (answer, "secrets", cleared);
  if (!cleared)
    json_object_set_string_member (answer, "secrets_error", error->message);
  erasure_record (req);
}

/* POST /api/v1/personal/erase: see (l) above the route table. */
static void
handle_personal_erase (HgdApi *self,
                       HgdApiRequest *req)
{
  static const gchar *const members[] = { "confirm", NULL };
  HgdJournal *journal = self->journals[HG_DOMAIN_PERSONAL];
  const gchar *confirm = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) users = NULL;
  g_autofree gchar *now = iso8601_from_usec (g_get_real_time ());
  JsonObject *answer;
  JsonArray *removed;
  guint n_ended = 0;

  if (!hg_json_object_check_members (req->body, members, &error))
    {
      respond_invalid (req, error);
      return;
    }
  if (!json_object_has_member (req->body, "confirm") ||
      !hg_json_object_get_string (req->body, "confirm", &confirm, NULL) ||
      g_strcmp0 (confirm, ERASE_CONFIRMATION) != 0)
    {
      set_error_response_full (req->msg, SOUP_STATUS_BAD_REQUEST, "confirmation-required",
                               "member 'confirm' must be \"" ERASE_CONFIRMATION "\": erasure "
                               "cannot be undone",
                               "/confirm");
      return;
    }
  if (journal == NULL)
    {
      respond_error (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "journal-unavailable",
                     "the personal journal is unavailable; nothing was erased");
      return;
    }

  /* the journal first: if it cannot be erased, nothing else is; the grants were in it,
   * and are withdrawn with it */
  if (!hgd_journal_erase (journal, &error))
    {
      respond_gerror (req, error);
      return;
    }
  hgd_grants_clear (self->grants);
  {
    g_autofree gchar *who = request_who (req);
    hgd_access_log_record (self->access_log, HG_DOMAIN_PERSONAL, who, "erase", "personal", NULL);
  }
  answer = json_object_new ();
  json_object_set_string_member (answer, "erased", now);
  json_object_set_boolean_member (answer, "journal", TRUE);
  if (!remove_personal_plugin_state (self, &error))
    {
      g_warning ("%s", error->message);
      g_clear_error (&error);
      json_object_set_boolean_member (answer, "plugin_state", FALSE);
    }
  else
    {
      json_object_set_boolean_member (answer, "plugin_state", TRUE);
    }

  /* family accounts go; the resident and their guardian stay, logged out elsewhere */
  removed = json_array_new ();
  users = hgd_accounts_list_users (self->accounts, HG_DOMAIN_PERSONAL);
  for (guint i = 0; users != NULL && i < users->len; i++)
    {
      HgdUser *user = g_ptr_array_index (users, i);

      if (g_strcmp0 (user->username, req->session->username) == 0)
        continue;
      if (user->role == HGD_ROLE_FAMILY)
        {
          if (hgd_accounts_remove_user (self->accounts, user->username, &error))
            json_array_add_string_element (removed, user->username);
          else
            g_warning ("cannot remove account %s: %s", user->username, error->message);
          g_clear_error (&error);
          continue;
        }
      n_ended += hgd_accounts_revoke_user_sessions (self->accounts, user->username);
    }
  json_object_set_array_member (answer, "accounts_removed", removed);
  json_object_set_int_member (answer, "sessions_ended", n_ended);
  close_ended_streams (self);
  /* the plugins installed from bundles go, with the keys trusted to sign them */
  if (hgd_plugin_manager_get_bundles (self->plugins) != NULL)
    json_object_set_int_member (
        answer, "bundles_removed",
        hgd_bundles_erase_domain (hgd_plugin_manager_get_bundles (self->plugins),
                                  HG_DOMAIN_PERSONAL));
  json_object_set_int_member (answer, "plugins_restarted",
                              hgd_plugin_manager_restart_domain (self->plugins,
                                                                 HG_DOMAIN_PERSONAL));

  req->data = g_object_new (G_TYPE_OBJECT, NULL);
  g_object_set_data_full (req->data, "answer", answer, (GDestroyNotify) json_object_unref);
  request_pause (req);
  if (self->secrets == NULL)
    {
      json_object_set_boolean_member (answer, "secrets", FALSE);
      erasure_record (req);
      return;
    }
  hgd_secrets_clear_domain_async (self->secrets, HG_DOMAIN_PERSONAL, self->cancellable,
                                  erase_secrets_cb, request_ref (req));
}


/* The web UI ----------------------------------------------------------------------------- */

/* No inline script or style, nothing from another origin, never in a frame. */
#define UI_CONTENT_SECURITY_POLICY                                                                 \
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "                \
  "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "                   \
  "frame-ancestors 'none'"

static const struct
{
  const gchar *suffix;
  const gchar *content_type;
} ui_content_types[] = {
  { ".html", "text/html; charset=utf-8" },
  { ".js", "text/javascript; charset=utf-8" },
  { ".css", "text/css; charset=utf-8" },
  { ".json", "application/json" },
  { ".svg", "image/svg+xml" },
};

/* Answers with the UI file @name from the GResource; only the types above are served.
 * Files are revalidated on every use (no-cache) against an ETag of their content, so an
 * upgraded gateway never runs an old module next to a new one. */
static void
respond_ui_file (HgdApiRequest *req,
                 const gchar *name)
{
  SoupMessageHeaders *request_headers = soup_server_message_get_request_headers (req->msg);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (req->msg);
  const gchar *content_type = NULL;
  const gchar *if_none_match;
  g_autofree gchar *path = NULL;
  g_autofree gchar *checksum = NULL;
  g_autofree gchar *etag = NULL;
  g_autoptr(GBytes) bytes = NULL;

  for (gsize i = 0; param_is_valid (name) && i < G_N_ELEMENTS (ui_content_types); i++)
    {
      if (g_str_has_suffix (name, ui_content_types[i].suffix))
        content_type = ui_content_types[i].content_type;
    }
  if (content_type != NULL)
    {
      path = g_strconcat ("/org/hemgate/ui/", name, NULL);
      bytes = g_resource_lookup_data (hgd_ui_resources_get_resource (), path,
                                      G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
    }
  if (bytes == NULL)
    {
      respond_error (req, SOUP_STATUS_NOT_FOUND, "not-found", "no such file");
      return;
    }

  checksum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
  etag = g_strdup_printf ("\"%.32s\"", checksum);
  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
  soup_message_headers_replace (headers, "ETag", etag);
  soup_message_headers_replace (headers, "Content-Security-Policy", UI_CONTENT_SECURITY_POLICY);
  soup_message_headers_replace (headers, "Referrer-Policy", "no-referrer");
  if_none_match = soup_message_headers_get_one (request_headers, "If-None-Match");
  if (if_none_match != NULL && g_strcmp0 (if_none_match, etag) == 0)
    {
      respond_empty (req, SOUP_STATUS_NOT_MODIFIED);
      return;
    }
  soup_server_message_set_status (req->msg, SOUP_STATUS_OK, NULL);
  soup_message_headers_set_content_type (headers, content_type, NULL);
  soup_message_body_append_bytes (soup_server_message_get_response_body (req->msg), bytes);
}

static void
handle_ui_index (HgdApi *self,
                 HgdApiRequest *req)
{
  respond_ui_file (req, "index.html");
}

static void
handle_ui_file (HgdApi *self,
                HgdApiRequest *req)
{
  respond_ui_file (req, request_param (req, 0));
}

/* The object ------------------------------------------------------------------------------ */

static void
hgd_api_dispose (GObject *object)
{
  HgdApi *self = HGD_API (object);
  GHashTableIter iter;
  HgdApiRequest *req;
  gpointer socket;

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->recheck_id, g_source_remove);
  g_clear_handle_id (&self->refresh_id, g_source_remove);
  /* paused requests finish after us: detach them, their callbacks then only clean up */
  g_hash_table_iter_init (&iter, self->pending);
  while (g_hash_table_iter_next (&iter, (gpointer *) &req, NULL))
    req->api = NULL;
  g_hash_table_remove_all (self->pending);
  g_ptr_array_set_size (self->streams, 0);
  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, &socket, NULL))
    g_object_weak_unref (socket, connection_gone_cb, self);
  g_hash_table_remove_all (self->connections);
  g_hash_table_remove_all (self->kept);
  if (self->server != NULL)
    soup_server_disconnect (self->server);
  g_clear_object (&self->server);
  g_clear_object (&self->plugins);
  g_clear_object (&self->secrets);
  g_clear_object (&self->alarms);
  g_clear_object (&self->grants);
  g_clear_object (&self->accounts);
  g_clear_object (&self->access_log);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    g_clear_object (&self->journals[i]);
  g_clear_object (&self->config);
  G_OBJECT_CLASS (hgd_api_parent_class)->dispose (object);
}

static void
hgd_api_finalize (GObject *object)
{
  HgdApi *self = HGD_API (object);

  g_object_unref (self->cancellable);
  g_clear_object (&self->oidc);
  g_free (self->oidc_unreachable);
  g_hash_table_unref (self->refreshing);
  g_hash_table_unref (self->pending);
  g_hash_table_unref (self->connections);
  g_hash_table_unref (self->kept);
  g_ptr_array_unref (self->streams);
  g_free (self->url);
  g_clear_object (&self->listen_address);
  g_strfreev (self->host_names);
  g_ptr_array_unref (self->trusted_proxies);
  g_free (self->state_dir);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    g_clear_error (&self->journal_errors[i]);
  G_OBJECT_CLASS (hgd_api_parent_class)->finalize (object);
}

static void
hgd_api_class_init (HgdApiClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hgd_api_dispose;
  object_class->finalize = hgd_api_finalize;
  quark_start = g_quark_from_static_string ("hgd-api-start");
  quark_route = g_quark_from_static_string ("hgd-api-route");
  quark_body_size = g_quark_from_static_string ("hgd-api-body-size");
  quark_stream = g_quark_from_static_string ("hgd-api-stream");
  quark_socket_fixed = g_quark_from_static_string ("hgd-api-socket-fixed");
  quark_deadline = g_quark_from_static_string ("hgd-api-deadline");
}

static void
hgd_api_init (HgdApi *self)
{
  self->cancellable = g_cancellable_new ();
  self->pending
      = g_hash_table_new_full (g_direct_hash, g_direct_equal, (GDestroyNotify)request_unref, NULL);
  self->streams = g_ptr_array_new_with_free_func ((GDestroyNotify) event_stream_free);
  self->connections = g_hash_table_new (g_direct_hash, g_direct_equal);
  self->kept = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, keep_alive_free);
  self->trusted_proxies = g_ptr_array_new_with_free_func (g_object_unref);
}

/**
 * hgd_api_new:
 * @deps: what the API serves; it takes its own references
 *
 * Returns: (transfer full): an API that is not listening yet
 */
HgdApi *
hgd_api_new (const HgdApiDeps *deps)
{
  HgdApi *self;

  g_return_val_if_fail (deps != NULL, NULL);
  g_return_val_if_fail (HGD_IS_CONFIG (deps->config), NULL);
  g_return_val_if_fail (deps->state_dir != NULL, NULL);
  g_return_val_if_fail (HGD_IS_ACCOUNTS (deps->accounts), NULL);
  g_return_val_if_fail (HGD_IS_ALARMS (deps->alarms), NULL);
  g_return_val_if_fail (HGD_IS_PLUGIN_MANAGER (deps->plugins), NULL);

  self = g_object_new (HGD_TYPE_API, NULL);
  self->config = g_object_ref (deps->config);
  self->state_dir = g_strdup (deps->state_dir);
  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      self->journals[i] = deps->journals[i] != NULL ? g_object_ref (deps->journals[i]) : NULL;
      self->journal_errors[i]
          = deps->journal_errors[i] != NULL ? g_error_copy (deps->journal_errors[i]) : NULL;
    }
  self->accounts = g_object_ref (deps->accounts);
  self->access_log = g_object_ref (deps->access_log);
  self->alarms = g_object_ref (deps->alarms);
  self->plugins = g_object_ref (deps->plugins);
  self->secrets = deps->secrets != NULL ? g_object_ref (deps->secrets) : NULL;
  self->oidc = hgd_oidc_new (deps->config, deps->secrets);
  self->refreshing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->start_time = deps->start_time;
  self->grants = hgd_grants_new ();
  if (self->journals[HG_DOMAIN_PERSONAL] != NULL)
    {
      g_autoptr(GError) error = NULL;

      /* without them nothing crosses: a grant that cannot be read lets nothing through */
      if (!hgd_grants_load (self->grants, self->journals[HG_DOMAIN_PERSONAL], &error))
        g_warning ("the consent grants could not be read: %s", error->message);
    }
  return self;
}

/**
 * hgd_api_get_grants:
 * @self: the API
 *
 * Returns: (transfer none): the consent grants, e.g. for hgd_grants_night_check_allowed ()
 */
HgdGrants *
hgd_api_get_grants (HgdApi *self)
{
  g_return_val_if_fail (HGD_IS_API (self), NULL);
  return self->grants;
}

/* The URL a client on this machine uses, with the port actually bound; a wildcard
 * address becomes loopback. (From the socket: soup_server_get_uris() leaks in 3.2.) */
static gchar *
make_url (GSocket *socket,
          gboolean tls,
          GError **error)
{
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (socket, error);
  GInetAddress *address;
  g_autofree gchar *host = NULL;
  guint16 port;

  if (local == NULL)
    return NULL;
  address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local));
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  if (g_inet_address_get_is_any (address))
    host = g_strdup (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6 ? "::1"
                                                                                 : "127.0.0.1");
  else
    host = g_inet_address_to_string (address);
  if (strchr (host, ':') != NULL)
    return g_strdup_printf ("%s://[%s]:%u", tls ? "https" : "http", host, port);
  return g_strdup_printf ("%s://%s:%u", tls ? "https" : "http", host, port);
}

/* [api] trusted-proxies: addresses, or networks as address/prefix. */
static gboolean
load_trusted_proxies (HgdApi *self,
                      HgdConfig *config,
                      GError **error)
{
  g_auto(GStrv) proxies = hgd_config_get_strv (config, "api", "trusted-proxies");

  for (guint i = 0; proxies[i] != NULL; i++)
    {
      g_autoptr(GInetAddressMask) mask = NULL;
      g_autoptr(GError) local_error = NULL;

      if (strchr (proxies[i], '/') != NULL)
        {
          mask = g_inet_address_mask_new_from_string (proxies[i], &local_error);
        }
      else
        {
          g_autoptr(GInetAddress) address = g_inet_address_new_from_string (proxies[i]);
          if (address != NULL)
            mask = g_inet_address_mask_new (address,
                                            g_inet_address_get_native_size (address) * 8,
                                            &local_error);
        }
      if (mask == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "[api] trusted-proxies: '%s' is not an IP address or network",
                       proxies[i]);
          return FALSE;
        }
      g_ptr_array_add (self->trusted_proxies, g_steal_pointer (&mask));
    }
  return TRUE;
}

/* [api] max-connections, kept clear of the descriptor limit: journals, plugin hosts and
 * their D-Bus connections need descriptors of their own. */
static guint
max_connections (gint64 configured)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
      limit.rlim_cur < (rlim_t) configured + DESCRIPTOR_RESERVE)
    return (guint) MAX ((gint64) limit.rlim_cur - DESCRIPTOR_RESERVE, 16);
  return (guint) configured;
}

/**
 * hgd_api_listen:
 * @self: an #HgdApi
 * @error: return location for a #GError
 *
 * Loads or makes the TLS certificate when `[api] tls` is on, and listens on
 * `[api] listen-address` and `port` (0 picks a free port; see hgd_api_get_url()).
 *
 * Returns: %TRUE if the API is listening
 */
gboolean
hgd_api_listen (HgdApi *self,
                GError **error)
{
  HgdConfig *config;
  const gchar *address_str;
  gint64 port;
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GInetAddress) inet = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(SoupServer) server = NULL;
  g_autoptr(GSocket) listener = NULL;

  g_return_val_if_fail (HGD_IS_API (self), FALSE);
  g_return_val_if_fail (self->server == NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  config = self->config;
  address_str = hgd_config_get_string (config, "api", "listen-address");
  port = hgd_config_get_int (config, "api", "port");
  self->tls = hgd_config_get_boolean (config, "api", "tls");
  self->max_body = (gsize) hgd_config_get_int (config, "api", "max-body-bytes");
  self->request_timeout = (guint) hgd_config_get_int (config, "api", "request-timeout");
  self->max_connections = max_connections (hgd_config_get_int (config, "api", "max-connections"));
  self->keep_alive_timeout = (guint) hgd_config_get_int (config, "api", "keep-alive-timeout");
  /* see "Connections": a TLS connection cannot be watched for its end before 3.3.0 */
  if (self->tls && !soup_check_version (3, 3, 0))
    self->keep_alive_timeout = 0;

  inet = g_inet_address_new_from_string (address_str);
  if (inet == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "[api] listen-address '%s' is not an IP address", address_str);
      return FALSE;
    }
  self->listen_address = g_object_ref (inet);
  self->host_names = hgd_config_get_strv (config, "api", "host-names");
  if (!load_trusted_proxies (self, config, error))
    return FALSE;
  if (self->tls)
    {
      const gchar *certificate_file = hgd_config_get_string (config, "api", "tls-certificate");
      const gchar *key_file = hgd_config_get_string (config, "api", "tls-key");

      /* the gateway's own certificate has its key in the secret store */
      if (*certificate_file == '\0' && *key_file == '\0' && self->secrets != NULL)
        certificate = hgd_tls_load_own_certificate (self->secrets, self->state_dir, error);
      else
        certificate = hgd_tls_load_certificate (certificate_file, key_file, self->state_dir,
                                                error);
      if (certificate == NULL)
        return FALSE;
    }

  server = soup_server_new ("server-header", "hemgated", "tls-certificate", certificate, NULL);
  g_signal_connect_object (server, "request-started", G_CALLBACK (request_started_cb), self, 0);
  g_signal_connect_object (server, "request-finished", G_CALLBACK (request_finished_cb), self, 0);
  g_signal_connect_object (server, "request-aborted", G_CALLBACK (request_aborted_cb), self, 0);
  soup_server_add_early_handler (server, "/", early_handler_cb, self, NULL);
  soup_server_add_handler (server, "/", dispatch_cb, self, NULL);
  /* the WebSocket shares its path with GET /api/v1/events; the dispatcher runs first */
  soup_server_add_early_handler (server, "/api/v1/events", early_handler_cb, self, NULL);
  soup_server_add_handler (server, "/api/v1/events", dispatch_cb, self, NULL);
  soup_server_add_websocket_handler (server, "/api/v1/events", NULL, NULL, websocket_cb, self,
                                     NULL);

  address = g_inet_socket_address_new (inet, (guint16) port);
  listener = g_socket_new (g_inet_address_get_family (inet), G_SOCKET_TYPE_STREAM,
                           G_SOCKET_PROTOCOL_TCP, error);
  if (listener != NULL)
    {
      /* a burst of clients must not overflow the accept queue (GSocket's default is 10:
       * the eleventh waits a second for its SYN to be sent again) */
      g_socket_set_listen_backlog (listener, SOMAXCONN);
    }
  if (listener == NULL || !g_socket_bind (listener, address, TRUE, error) ||
      !g_socket_listen (listener, error) ||
      !soup_server_listen_socket (server, listener, self->tls ? SOUP_SERVER_LISTEN_HTTPS : 0,
                                  error))
    {
      g_prefix_error (error, "listening on %s port %" G_GINT64_FORMAT ": ", address_str, port);
      return FALSE;
    }
  self->url = make_url (listener, self->tls, error);
  if (self->url == NULL)
    {
      soup_server_disconnect (server);
      return FALSE;
    }
  self->server = g_steal_pointer (&server);

  for (guint i = 0; i < HG_DOMAIN_LAST; i++)
    {
      HgdJournal *journal = self->journals[i];
      if (journal != NULL)
        g_signal_connect_object (journal, "event-appended", G_CALLBACK (journal_event_appended_cb),
                                 self, 0);
    }
  self->recheck_id = g_timeout_add_seconds (STREAM_RECHECK_SECONDS, recheck_streams_cb, self);
  if (hgd_oidc_is_configured (self->oidc))
    self->refresh_id = g_timeout_add_seconds (OIDC_REFRESH_CHECK_SECONDS, refresh_sessions_cb,
                                              self);
  g_message ("API listening on %s", self->url);
  return TRUE;
}

/**
 * hgd_api_get_url:
 * @self: an #HgdApi
 *
 * Returns: (nullable): the base URL with the real port, e.g. `https://127.0.0.1:8443`
 */
const gchar *
hgd_api_get_url (HgdApi *self)
{
  g_return_val_if_fail (HGD_IS_API (self), NULL);
  return self->url;
}
