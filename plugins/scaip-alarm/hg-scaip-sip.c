/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgScaipSip: one Sofia-SIP NUA stack on the host's GLib main loop (su_glib_root_create,
 * its GSource attached to the default context, nua_create on that root). It knows SIP,
 * not SCAIP:
 *
 *   REGISTER   one handle per receiver, to the receiver's host and port, refreshed by
 *              the stack; Digest answers come from the credentials set here
 *   MESSAGE    out: one handle per request (requests on one handle are serialised), the
 *              final status and a body of the 2xx are the result; in: answered here when
 *              not addressed to our address of record, else handed to "message-received"
 *   INVITE     voice calls, with the stack's SDP engine off: the SDP travels as a body
 *              and hg-scaip-media.c reads and writes it; in: "call-incoming" (refused
 *              with 480 unless a handler answers), out: hg_scaip_sip_place_call ();
 *              the dialog's state is "call-active" and "call-ended"
 *
 * A second network path (PROTOCOL.md §6) is a second NUA stack on the same root, bound to
 * that path's local address: each receiver belongs to one path, and everything sent to it
 * (REGISTER, MESSAGE, INVITE) leaves by that path's sockets. Requests that come in are
 * handled alike on every path.
 *
 * Every NUA event arrives in nua_event_cb() on the main loop. Nothing here blocks. */
#include <string.h>

#include "hg-scaip-sip.h"
#include "hg-scaip-sofia.h"

G_DEFINE_QUARK (hg - scaip - sip - error - quark, hg_scaip_sip_error)

#define USER_AGENT "hemgate-scaip/0.1"
/* A failed registration is tried again after this long; a silent receiver also makes
 * the delivery engine register again at once. */
#define REGISTER_RETRY_SECONDS 30
/* How long dispose waits for a stack that was not shut down before. */
#define DISPOSE_SHUTDOWN_USEC (2 * G_USEC_PER_SEC)

typedef enum
{
  HANDLE_REGISTER,
  HANDLE_MESSAGE,
  HANDLE_CALL,
} HandleKind;

typedef struct _HgScaipSip HgScaipSip;

/* One network path: a NUA stack bound to that path's local address. */
typedef struct
{
  HgScaipSip *self; /* (unowned) */
  guint index;
  gchar *local_uri;  /* (owned) */
  gchar *local_host; /* (owned) (nullable) the address it is bound to; %NULL for any */
  nua_t *nua;        /* (owned) (nullable) once destroyed */
  gchar *contact;    /* (owned) (nullable) as the last registrar echoed it */
  gboolean shut_down;
} Path;

/* What a nua_handle_t of ours stands for: its hmagic. */
typedef struct
{
  HandleKind kind;
  HgScaipSip *self; /* (unowned) */
  Path *path;       /* (unowned) whose stack the handle is on */
  guint receiver;
  nua_handle_t *nh;    /* (owned) */
  gboolean auth_tried; /* one Digest answer per challenge round */
  gboolean pending;    /* REGISTER: a request is in flight */
  gboolean registered; /* REGISTER: the last answer was 2xx */
  GTask *task;         /* (owned) (nullable) MESSAGE: the caller's */
  guint call_id;       /* CALL: its key in HgScaipSip.calls */
  gboolean responded;  /* CALL, incoming: a final answer was given */
  gchar *local_sdp;    /* (owned) (nullable) CALL: our SDP, for re-INVITEs */
  guint retry_after;   /* CALL, outgoing: the Retry-After of a failure answer, seconds */
} Handle;

typedef struct
{
  HgScaipSip *self; /* (unowned) */
  guint index;
  gchar *name;      /* (owned) for logs and health: primary, secondary, primary/path2 ... */
  Path *path;       /* (unowned) */
  gchar *uri;       /* (owned) MESSAGE request-URI, e.g. sip:arc@host:5060;transport=tcp */
  gchar *to;        /* (owned) "<uri>" */
  gchar *registrar; /* (owned) sip:host:port[;transport=...] */
  gchar *host;      /* (owned) as in the URI */
  guint port;       /* of the URI, or the transport's default */
  GList *addresses; /* (owned) (element-type GInetAddress) what host resolves to */
  Handle *reg;      /* (owned) (nullable) until the first REGISTER */
  gchar *error;     /* (owned) (nullable) why the last REGISTER failed, for health */
  guint expires;    /* of the last REGISTER */
  guint retry_id;   /* a failed registration's next attempt */
} Receiver;

struct _HgScaipSip
{
  GObject parent_instance;
  su_home_t *home;      /* (owned) */
  su_root_t *root;      /* (owned) */
  GPtrArray *paths;     /* (owned) (element-type Path) the first is the main one */
  gchar *tls_dir;       /* (owned) (nullable) */
  url_t *aor_url;       /* in home */
  gchar *aor;           /* (owned) */
  gchar *auth_user;     /* (owned) (nullable) */
  gchar *password;      /* (owned) (nullable) never logged */
  GPtrArray *receivers; /* (owned) (element-type Receiver) */
  GHashTable *messages; /* (owned) Handle set: MESSAGE requests in flight */
  GHashTable *calls;    /* (owned) call id → Handle: INVITE dialogs, until terminated */
  guint next_call_id;
  gboolean shutting_down;
  gboolean shut_down; /* every path's stack is down */
  GPtrArray *shutdown_tasks; /* (owned) (element-type GTask) */
  GCancellable *cancellable; /* (owned) the receivers' name lookups */
};

G_DEFINE_TYPE (HgScaipSip, hg_scaip_sip, G_TYPE_OBJECT)

enum
{
  SIGNAL_MESSAGE_RECEIVED,
  SIGNAL_REGISTRATION_CHANGED,
  SIGNAL_CALL_INCOMING,
  SIGNAL_CALL_ANSWERED,
  SIGNAL_CALL_ACTIVE,
  SIGNAL_CALL_ENDED,
  SIGNAL_CALL_DTMF,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Sofia-SIP logs through su_log; its lines become debug messages here, except the
 * reasons a TLS connection was refused, which it tells nobody else (the request fails
 * with a bare 503): those are warnings, so an installer sees why. */
/* The last TLS refusal the stack logged, to name in the failure it causes (the stack
 * runs on the one main loop; one SIP agent per plugin host). */
static gchar *last_tls_problem;
/* The agent with a TLS transport, whose receivers a refusal is about. */
static HgScaipSip *tls_agent;

static void note_receiver_problem (HgScaipSip *self, const gchar *host, const gchar *problem);

static void
set_tls_problem (gchar *problem)
{
  g_free (last_tls_problem);
  last_tls_problem = problem;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void
sofia_log_cb (void *stream,
              char const *fmt,
              va_list ap)
{
  g_autofree gchar *line = g_strdup_vprintf (fmt, ap);
  const gchar *text = g_strstrip (line);

  if (strstr (text, "Peer Subject Mismatch (") != NULL)
    {
      g_autofree gchar *host = g_strdup (strstr (text, "Peer Subject Mismatch (")
                                         + strlen ("Peer Subject Mismatch ("));

      g_strdelimit (host, ")", '\0');
      g_warning ("TLS: the receiver's certificate does not name the host connected to (%s); "
                 "connection refused",
                 host);
      set_tls_problem (g_strdup_printf ("TLS: certificate does not name %s", host));
      /* the stack does not fail the request (it keeps trying): say it in the health */
      if (tls_agent != NULL)
        note_receiver_problem (tls_agent, host, last_tls_problem);
    }
  else if (g_str_has_prefix (text, "err ") && strchr (text, ':') != NULL)
    {
      g_warning ("TLS: the receiver's certificate is not trusted (%s); connection refused",
                 strchr (text, ':') + 1);
      set_tls_problem (
          g_strdup_printf ("TLS: certificate not trusted (%s)", strchr (text, ':') + 1));
    }
  else if (strstr (text, "error loading CA list") != NULL)
    g_warning ("TLS: cannot load the trusted CAs (%s)", text);
  else
    g_debug ("sofia: %s", text);
}
#pragma GCC diagnostic pop

static void
handle_free (Handle *handle)
{
  if (handle->nh != NULL)
    nua_handle_destroy (handle->nh);
  if (handle->task != NULL)
    {
      g_autoptr(GTask) task = g_steal_pointer (&handle->task);
      g_task_return_new_error (task, HG_SCAIP_SIP_ERROR, HG_SCAIP_SIP_ERROR_SHUT_DOWN, "%s",
                               "the SIP agent was shut down");
    }
  g_free (handle->local_sdp);
  g_free (handle);
}

static void
path_free (Path *path)
{
  g_free (path->local_uri);
  g_free (path->local_host);
  g_free (path->contact);
  g_free (path);
}

static void
receiver_free (Receiver *receiver)
{
  g_clear_handle_id (&receiver->retry_id, g_source_remove);
  g_free (receiver->name);
  g_free (receiver->uri);
  g_free (receiver->to);
  g_free (receiver->registrar);
  g_free (receiver->host);
  g_free (receiver->error);
  g_list_free_full (receiver->addresses, g_object_unref);
  g_clear_pointer (&receiver->reg, handle_free);
  g_free (receiver);
}

/* @receiver was checked by the caller. */
static Receiver *
get_receiver (HgScaipSip *self,
              guint receiver)
{
  return g_ptr_array_index (self->receivers, receiver);
}

/* Sofia's own failures (503 with its phrase) said in words an installer acts on. */
static const gchar *
explain_status (int status, char const *phrase)
{
  if (status == 503 && phrase != NULL && strstr (phrase, "DNS") != NULL)
    return " (the receiver's host name does not resolve)";
  return "";
}

static gchar *
describe_status (int status,
                 char const *phrase)
{
  return g_strdup_printf ("%03d %s%s", status, phrase != NULL ? phrase : "",
                          explain_status (status, phrase));
}

/* Answers a 401/407 once per round with our credentials; FALSE if we cannot. */
static gboolean
authenticate (HgScaipSip *self,
              Handle *handle,
              sip_t const *sip)
{
  msg_auth_t const *challenge = NULL;
  g_autofree gchar *credentials = NULL;
  char const *realm;

  if (handle->auth_tried || self->password == NULL || sip == NULL)
    return FALSE;
  if (sip->sip_www_authenticate != NULL)
    challenge = sip->sip_www_authenticate;
  else if (sip->sip_proxy_authenticate != NULL)
    challenge = sip->sip_proxy_authenticate;
  if (challenge == NULL || challenge->au_scheme == NULL
      || g_ascii_strcasecmp (challenge->au_scheme, "Digest") != 0)
    return FALSE; /* Basic is never answered (SS 91100 §8) */
  realm = msg_params_find (challenge->au_params, "realm=");
  if (realm == NULL)
    return FALSE;
  handle->auth_tried = TRUE;
  credentials = g_strdup_printf (
      "%s:%s:%s:%s", challenge->au_scheme, realm,
      self->auth_user != NULL ? self->auth_user : self->aor_url->url_user, self->password);
  nua_authenticate (handle->nh, NUTAG_AUTH (credentials), TAG_END ());
  memset (credentials, 0, strlen (credentials));
  return TRUE;
}

/* REGISTER */

static gboolean
register_retry_cb (gpointer user_data)
{
  Receiver *receiver = user_data;

  receiver->retry_id = 0;
  hg_scaip_sip_register (receiver->self, receiver->index, receiver->expires);
  return G_SOURCE_REMOVE;
}

static void
register_answered (
    HgScaipSip *self, Handle *handle, int status, char const *phrase, sip_t const *sip)
{
  Receiver *receiver = get_receiver (self, handle->receiver);
  g_autofree gchar *what = describe_status (status, phrase);
  gboolean was = handle->registered;

  if (status < 200)
    return;
  if ((status == 401 || status == 407) && authenticate (self, handle, sip))
    return;
  handle->pending = FALSE;
  handle->auth_tried = FALSE;
  handle->registered = status >= 200 && status < 300;
  g_clear_pointer (&receiver->error, g_free);
  if (!handle->registered)
    receiver->error = last_tls_problem != NULL && status == 503
                          ? g_strdup_printf ("%s (%s)", what, last_tls_problem)
                          : g_strdup (what);
  set_tls_problem (NULL);
  if (handle->registered)
    {
      Path *path = receiver->path;

      if (sip != NULL && sip->sip_contact != NULL)
        {
          g_free (path->contact);
          path->contact = g_strdup_printf (
              "%s%s%s@%s%s%s", sip->sip_contact->m_url->url_scheme, ":",
              sip->sip_contact->m_url->url_user != NULL ? sip->sip_contact->m_url->url_user : "",
              sip->sip_contact->m_url->url_host,
              sip->sip_contact->m_url->url_port != NULL ? ":" : "",
              sip->sip_contact->m_url->url_port != NULL ? sip->sip_contact->m_url->url_port : "");
        }
      if (!was)
        g_message ("registered with %s as %s (contact %s; the %s receiver)", receiver->registrar,
                   self->aor, path->contact != NULL ? path->contact : "unknown", receiver->name);
    }
  else
    {
      g_warning ("registration with %s failed: %s%s; trying again in %u s (the %s receiver)",
                 receiver->registrar, what,
                 status == 401 || status == 403 || status == 407
                     ? " (check auth-user and the secret sip-password)"
                     : "",
                 REGISTER_RETRY_SECONDS, receiver->name);
      g_clear_handle_id (&receiver->retry_id, g_source_remove);
      if (!self->shutting_down)
        receiver->retry_id
            = g_timeout_add_seconds (REGISTER_RETRY_SECONDS, register_retry_cb, receiver);
    }
  g_signal_emit (self, signals[SIGNAL_REGISTRATION_CHANGED], 0, handle->receiver,
                 handle->registered, (guint) status);
}

/**
 * hg_scaip_sip_register:
 * @self: an #HgScaipSip
 * @receiver: a receiver index
 * @expires: seconds the registration should last; the stack refreshes it
 *
 * Registers our address of record with the receiver's registrar, or refreshes the
 * registration. Does nothing while a REGISTER to that receiver is in flight. The outcome
 * is #HgScaipSip::registration-changed.
 */
void
hg_scaip_sip_register (HgScaipSip *self,
                       guint receiver,
                       guint expires)
{
  Receiver *r;
  g_autofree gchar *expires_str = NULL;

  g_return_if_fail (HG_IS_SCAIP_SIP (self));
  g_return_if_fail (receiver < self->receivers->len);

  r = get_receiver (self, receiver);
  if (r->path->nua == NULL || self->shutting_down)
    return;
  if (r->reg == NULL)
    {
      r->reg = g_new0 (Handle, 1);
      r->reg->kind = HANDLE_REGISTER;
      r->reg->self = self;
      r->reg->path = r->path;
      r->reg->receiver = receiver;
      r->reg->nh = nua_handle (r->path->nua, r->reg, SIPTAG_TO_STR (self->aor), TAG_END ());
    }
  if (r->reg->pending)
    return;
  g_clear_handle_id (&r->retry_id, g_source_remove);
  r->expires = expires;
  r->reg->pending = TRUE;
  r->reg->auth_tried = FALSE;
  expires_str = g_strdup_printf ("%u", expires);
  g_debug ("REGISTER %s at %s", self->aor, r->registrar);
  nua_register (r->reg->nh, NUTAG_REGISTRAR (r->registrar), SIPTAG_EXPIRES_STR (expires_str),
                NUTAG_M_USERNAME (self->aor_url->url_user), TAG_END ());
}

gboolean
hg_scaip_sip_is_registered (HgScaipSip *self,
                            guint receiver)
{
  Receiver *r;

  g_return_val_if_fail (HG_IS_SCAIP_SIP (self), FALSE);
  g_return_val_if_fail (receiver < self->receivers->len, FALSE);
  r = get_receiver (self, receiver);
  return r->reg != NULL && r->reg->registered;
}

/* MESSAGE out */

static gboolean
is_xml_type (sip_content_type_t const *content_type)
{
  /* application/scaip+xml, and liberally any other XML type (PROTOCOL.md §4) */
  return content_type == NULL || content_type->c_type == NULL
         || strstr (content_type->c_type, "xml") != NULL;
}

static void
message_answered (
    HgScaipSip *self, Handle *handle, int status, char const *phrase, sip_t const *sip)
{
  g_autoptr(GTask) task = NULL;
  gchar *body = NULL;

  /* Sofia-SIP itself sends a request again after a 5xx with a Retry-After under 32 s,
   * telling us only "100 Retry After N": the delivery engine decides when to resend (one
   * resend, after its own backoff and that Retry-After), so this request ends here */
  if (status == 100 && phrase != NULL && g_str_has_prefix (phrase, "Retry After "))
    {
      guint retry_after = (guint)g_ascii_strtoull (phrase + strlen ("Retry After "), NULL, 10);

      task = g_steal_pointer (&handle->task);
      g_hash_table_remove (self->messages, handle); /* destroys the nua handle, and its timer */
      if (task == NULL)
        return;
      g_task_set_task_data (task, GUINT_TO_POINTER (retry_after), NULL);
      g_task_return_new_error (task, HG_SCAIP_SIP_ERROR, 503,
                               "503 Service Unavailable (Retry-After %u s)", retry_after);
      return;
    }
  if (status < 200)
    return;
  if ((status == 401 || status == 407) && authenticate (self, handle, sip))
    return;

  task = g_steal_pointer (&handle->task);
  g_hash_table_remove (self->messages, handle); /* destroys the nua handle */
  if (task == NULL)
    return;
  if (status >= 300)
    {
      /* RFC 3261 §20.33: how long the receiver asks us to wait before trying again */
      if (sip != NULL && sip->sip_retry_after != NULL)
        g_task_set_task_data (task, GUINT_TO_POINTER (MIN (sip->sip_retry_after->af_delta, 3600)),
                              NULL);
      g_task_return_new_error (task, HG_SCAIP_SIP_ERROR, status, "%03d %s%s", status,
                               phrase != NULL ? phrase : "", explain_status (status, phrase));
      return;
    }
  if (sip != NULL && sip->sip_payload != NULL && sip->sip_payload->pl_len > 0
      && is_xml_type (sip->sip_content_type))
    body = g_strndup (sip->sip_payload->pl_data, sip->sip_payload->pl_len);
  g_task_return_pointer (task, body, g_free);
}

/**
 * hg_scaip_sip_send_async:
 * @self: an #HgScaipSip
 * @receiver: a receiver index
 * @body: the SCAIP document
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the final SIP answer
 * @user_data: data for @callback
 *
 * Sends @body in a MESSAGE to the receiver's URI with `Content-Type:
 * application/scaip+xml`, answering one Digest challenge with the credentials.
 */
void
hg_scaip_sip_send_async (HgScaipSip *self,
                         guint receiver,
                         const gchar *body,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  Receiver *r;
  Handle *handle;

  g_return_if_fail (HG_IS_SCAIP_SIP (self));
  g_return_if_fail (receiver < self->receivers->len);
  g_return_if_fail (body != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hg_scaip_sip_send_async);
  r = get_receiver (self, receiver);
  if (r->path->nua == NULL || self->shutting_down)
    {
      g_task_return_new_error (task, HG_SCAIP_SIP_ERROR, HG_SCAIP_SIP_ERROR_SHUT_DOWN, "%s",
                               "the SIP agent is shut down");
      return;
    }
  handle = g_new0 (Handle, 1);
  handle->kind = HANDLE_MESSAGE;
  handle->self = self;
  handle->path = r->path;
  handle->receiver = receiver;
  handle->task = g_steal_pointer (&task);
  handle->nh = nua_handle (r->path->nua, handle, SIPTAG_TO_STR (r->to), TAG_END ());
  g_hash_table_add (self->messages, handle);
  nua_message (handle->nh, NUTAG_URL (r->uri), SIPTAG_CONTENT_TYPE_STR (HG_SCAIP_CONTENT_TYPE),
               SIPTAG_PAYLOAD_STR (body), TAG_END ());
}

/**
 * hg_scaip_sip_send_finish:
 * @self: an #HgScaipSip
 * @result: the #GAsyncResult
 * @response_body: (out) (optional) (nullable): the XML body of the 2xx, if it had one
 * @retry_after: (out) (optional): the seconds of a failure's Retry-After, 0 without one
 * @error: return location for a #GError
 *
 * Returns: %TRUE for a 2xx; else %FALSE with %HG_SCAIP_SIP_ERROR whose code is the status
 */
gboolean
hg_scaip_sip_send_finish (HgScaipSip *self,
                          GAsyncResult *result,
                          gchar **response_body,
                          guint *retry_after,
                          GError **error)
{
  g_autoptr(GError) error_local = NULL;
  g_autofree gchar *body = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  if (retry_after != NULL)
    *retry_after = GPOINTER_TO_UINT (g_task_get_task_data (G_TASK (result)));

  body = g_task_propagate_pointer (G_TASK (result), &error_local);
  if (error_local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&error_local));
      return FALSE;
    }
  if (response_body != NULL)
    *response_body = g_steal_pointer (&body);
  return TRUE;
}

/* MESSAGE in */

static gboolean
is_our_aor (HgScaipSip *self,
            sip_to_t const *to)
{
  url_t const *url;

  if (to == NULL)
    return FALSE;
  url = to->a_url;
  return url->url_user != NULL && g_strcmp0 (url->url_user, self->aor_url->url_user) == 0
         && url->url_host != NULL
         && g_ascii_strcasecmp (url->url_host, self->aor_url->url_host) == 0;
}

/* TR 91102 §7.5: a MESSAGE for us is addressed to our address of record or to a contact
 * of ours: its Request-URI names our user, at the AOR's host or at an address a path of
 * ours registered or listens on (any host when a path listens on every address and no
 * registrar told us our contact). */
static gboolean
is_our_request_uri (HgScaipSip *self, sip_t const *sip)
{
  url_t const *url;
  gboolean any_host = FALSE;

  if (sip->sip_request == NULL)
    return FALSE;
  url = sip->sip_request->rq_url;
  if (url->url_user == NULL || g_strcmp0 (url->url_user, self->aor_url->url_user) != 0
      || url->url_host == NULL)
    return FALSE;
  if (g_ascii_strcasecmp (url->url_host, self->aor_url->url_host) == 0)
    return TRUE;
  for (guint i = 0; i < self->paths->len; i++)
    {
      Path *path = g_ptr_array_index (self->paths, i);
      g_autofree gchar *contact_host
          = path->contact != NULL ? hg_scaip_sip_uri_host (path->contact) : NULL;

      if ((path->local_host != NULL && g_ascii_strcasecmp (url->url_host, path->local_host) == 0)
          || (contact_host != NULL && g_ascii_strcasecmp (url->url_host, contact_host) == 0))
        return TRUE;
      if (path->local_host == NULL && path->contact == NULL)
        any_host = TRUE;
    }
  return any_host;
}

/* Whether @address:@port (over UDP when @datagram) is @receiver: its URI's host (an
 * address, or what the name resolved to) and, over UDP, its URI's port. */
static gboolean
receiver_is_peer (Receiver *receiver, GInetAddress *address, guint port, gboolean datagram)
{
  gboolean same_host = FALSE;

  for (GList *l = receiver->addresses; l != NULL && !same_host; l = l->next)
    same_host = g_inet_address_equal (l->data, address);
  if (!same_host)
    return FALSE;
  /* a SIP entity sends over UDP from the port it listens on (RFC 3261 §18.1.1, RFC 3581);
   * over TCP or TLS it may connect from any port */
  return !datagram || port == receiver->port;
}

/* The receivers a request came from (a bit mask by index, 0 for none) and, in @peer,
 * its transport address for logs. */
static guint
identify_peer (HgScaipSip *self, nua_t *nua, gchar **peer)
{
  msg_t *msg = nua_current_request (nua);
  su_addrinfo_t *ai = msg != NULL ? msg_addrinfo (msg) : NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autofree gchar *host = NULL;
  GInetAddress *address;
  gboolean datagram;
  guint port;
  guint peers = 0;

  if (ai == NULL || ai->ai_addr == NULL
      || (socket_address = g_socket_address_new_from_native (ai->ai_addr, ai->ai_addrlen)) == NULL
      || !G_IS_INET_SOCKET_ADDRESS (socket_address))
    {
      *peer = g_strdup ("an unknown address");
      return 0;
    }
  address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (socket_address));
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (socket_address));
  datagram = ai->ai_protocol == IPPROTO_UDP || ai->ai_socktype == SOCK_DGRAM;
  host = g_inet_address_to_string (address);
  *peer = g_strdup_printf ("%s:%u (%s)", host, port, datagram ? "udp" : "tcp");
  for (guint i = 0; i < self->receivers->len && i < 32; i++)
    {
      if (receiver_is_peer (g_ptr_array_index (self->receivers, i), address, port, datagram))
        peers |= 1u << i;
    }
  return peers;
}

static void
message_received (HgScaipSip *self,
                  nua_t *nua,
                  nua_handle_t *nh,
                  sip_t const *sip)
{
  g_autofree gchar *body = NULL;
  g_autofree gchar *peer = NULL;
  guint status = 500;
  guint peers;

  if (sip == NULL || !is_our_aor (self, sip->sip_to) || !is_our_request_uri (self, sip))
    {
      url_t const *to = sip != NULL && sip->sip_to != NULL ? sip->sip_to->a_url : NULL;
      url_t const *rq = sip != NULL && sip->sip_request != NULL ? sip->sip_request->rq_url : NULL;

      g_warning ("MESSAGE for %s@%s (To %s@%s) refused: not our address of record %s or a "
                 "contact of ours",
                 rq != NULL && rq->url_user != NULL ? rq->url_user : "",
                 rq != NULL && rq->url_host != NULL ? rq->url_host : "?",
                 to != NULL && to->url_user != NULL ? to->url_user : "",
                 to != NULL && to->url_host != NULL ? to->url_host : "?", self->aor);
      nua_respond (nh, SIP_404_NOT_FOUND, NUTAG_WITH_THIS (nua), TAG_END ());
      nua_handle_destroy (nh);
      return;
    }
  if (!is_xml_type (sip->sip_content_type))
    {
      g_warning ("MESSAGE of type %s refused: not SCAIP", sip->sip_content_type->c_type);
      nua_respond (nh, SIP_415_UNSUPPORTED_MEDIA, NUTAG_WITH_THIS (nua), TAG_END ());
      nua_handle_destroy (nh);
      return;
    }
  peers = identify_peer (self, nua, &peer);
  if (sip->sip_payload != NULL)
    body = g_strndup (sip->sip_payload->pl_data, sip->sip_payload->pl_len);
  g_signal_emit (self, signals[SIGNAL_MESSAGE_RECEIVED], 0, body != NULL ? body : "",
                 sip->sip_payload != NULL ? (guint)sip->sip_payload->pl_len : 0u, peers, peer,
                 &status);
  if (status >= 200 && status < 300)
    nua_respond (nh, status, "OK", NUTAG_WITH_THIS (nua), TAG_END ());
  else if (status == 403)
    nua_respond (nh, SIP_403_FORBIDDEN, NUTAG_WITH_THIS (nua), TAG_END ());
  else
    nua_respond (nh, status, "Bad SCAIP body", NUTAG_WITH_THIS (nua), TAG_END ());
  nua_handle_destroy (nh);
}

/* INVITE: voice calls */

static Handle *
new_call_handle (HgScaipSip *self, Path *path, nua_handle_t *nh)
{
  Handle *handle = g_new0 (Handle, 1);

  handle->kind = HANDLE_CALL;
  handle->self = self;
  handle->path = path;
  handle->nh = nh;
  handle->call_id = ++self->next_call_id;
  g_hash_table_insert (self->calls, GUINT_TO_POINTER (handle->call_id), handle);
  return handle;
}

static void
call_received (HgScaipSip *self, Path *path, nua_t *nua, nua_handle_t *nh, sip_t const *sip)
{
  g_autofree gchar *sdp = NULL;
  g_autofree gchar *from = NULL;
  Handle *handle;

  if (sip == NULL || !is_our_aor (self, sip->sip_to))
    {
      g_warning ("call for %s refused: not our address of record %s",
                 sip != NULL && sip->sip_to != NULL && sip->sip_to->a_url->url_host != NULL
                     ? sip->sip_to->a_url->url_host
                     : "?",
                 self->aor);
      nua_respond (nh, SIP_404_NOT_FOUND, NUTAG_WITH_THIS (nua), TAG_END ());
      nua_handle_destroy (nh);
      return;
    }
  handle = new_call_handle (self, path, nh);
  nua_handle_bind (nh, handle);
  if (sip->sip_payload != NULL && sip->sip_content_type != NULL
      && g_ascii_strcasecmp (sip->sip_content_type->c_type, "application/sdp") == 0)
    sdp = g_strndup (sip->sip_payload->pl_data, sip->sip_payload->pl_len);
  if (sip->sip_from != NULL)
    from = g_strdup_printf (
        "%s@%s", sip->sip_from->a_url->url_user != NULL ? sip->sip_from->a_url->url_user : "",
        sip->sip_from->a_url->url_host != NULL ? sip->sip_from->a_url->url_host : "?");
  g_signal_emit (self, signals[SIGNAL_CALL_INCOMING], 0, handle->call_id, from != NULL ? from : "?",
                 sdp);
  if (!handle->responded)
    hg_scaip_sip_answer_call (self, handle->call_id, 480, NULL);
}

static void
call_answered (HgScaipSip *self, Handle *handle, int status, char const *phrase, sip_t const *sip)
{
  g_autofree gchar *sdp = NULL;

  if (status >= 300)
    {
      /* a failure ends in nua_i_state, terminated, which says when to call again */
      if (sip != NULL && sip->sip_retry_after != NULL)
        handle->retry_after = (guint)MIN (sip->sip_retry_after->af_delta, G_MAXUINT);
      return;
    }
  if (status < 200)
    return;
  if (sip != NULL && sip->sip_payload != NULL)
    sdp = g_strndup (sip->sip_payload->pl_data, sip->sip_payload->pl_len);
  g_signal_emit (self, signals[SIGNAL_CALL_ANSWERED], 0, handle->call_id, sdp);
}

static void
call_state (HgScaipSip *self, Handle *handle, int status, char const *phrase, tagi_t const *tags)
{
  int state = nua_callstate_init;
  guint id = handle->call_id;

  tl_gets (tags, NUTAG_CALLSTATE_REF (state), TAG_END ());
  g_debug ("call %u: state %s (%03d %s)", id, nua_callstate_name (state), status,
           phrase != NULL ? phrase : "");
  if (state == nua_callstate_ready)
    {
      g_signal_emit (self, signals[SIGNAL_CALL_ACTIVE], 0, id);
    }
  else if (state == nua_callstate_terminated)
    {
      g_autofree gchar *reason = g_strdup (phrase != NULL ? phrase : "");
      guint retry_after = handle->retry_after;

      /* destroys the handle: the stack may not call us about it again */
      g_hash_table_remove (self->calls, GUINT_TO_POINTER (id));
      g_signal_emit (self, signals[SIGNAL_CALL_ENDED], 0, id, (guint)status, reason, retry_after);
    }
}

/* A DTMF digit in a SIP INFO of a call (SS 91100 §7): application/dtmf-relay
 * ("Signal=4\r\nDuration=160") or application/dtmf ("4"); the stack answers 200. */
static void
call_info (HgScaipSip *self, Handle *handle, sip_t const *sip)
{
  g_autofree gchar *body = NULL;
  const gchar *type;
  const gchar *signal;
  gchar digit;

  if (sip == NULL || sip->sip_payload == NULL || sip->sip_content_type == NULL)
    return;
  type = sip->sip_content_type->c_type;
  body = g_strndup (sip->sip_payload->pl_data, MIN (sip->sip_payload->pl_len, 256));
  if (g_ascii_strcasecmp (type, "application/dtmf-relay") == 0
      && (signal = strstr (body, "Signal=")) != NULL)
    digit = signal[strlen ("Signal=")];
  else if (g_ascii_strcasecmp (type, "application/dtmf") == 0)
    digit = g_strstrip (body)[0];
  else
    {
      g_debug ("call %u: INFO of type %s ignored", handle->call_id, type);
      return;
    }
  if (digit == '\0' || strchr ("0123456789*#", digit) == NULL)
    {
      g_message ("call %u: INFO with an unknown DTMF signal ignored", handle->call_id);
      return;
    }
  g_signal_emit (self, signals[SIGNAL_CALL_DTMF], 0, handle->call_id, (gint) digit);
}

/**
 * hg_scaip_sip_enable_calls:
 * @self: an #HgScaipSip
 *
 * Accepts INVITE from now on; each one is #HgScaipSip::call-incoming.
 */
void
hg_scaip_sip_enable_calls (HgScaipSip *self)
{
  g_return_if_fail (HG_IS_SCAIP_SIP (self));

  for (guint i = 0; i < self->paths->len; i++)
    {
      Path *path = g_ptr_array_index (self->paths, i);

      if (path->nua != NULL)
        nua_set_params (path->nua, NUTAG_ENABLEINVITE (1),
                        NUTAG_ALLOW ("INVITE, ACK, BYE, CANCEL, INFO"), NUTAG_AUTOANSWER (0),
                        NUTAG_AUTOACK (1), TAG_END ());
    }
}

/**
 * hg_scaip_sip_get_call_local_address:
 * @self: an #HgScaipSip
 * @call: a call's id
 *
 * Returns: (nullable): the local address of the path the call is on, when that path is
 *   bound to one (its local URI names it); %NULL for a path bound to any address
 */
const gchar *
hg_scaip_sip_get_call_local_address (HgScaipSip *self, guint call)
{
  Handle *handle;

  g_return_val_if_fail (HG_IS_SCAIP_SIP (self), NULL);

  handle = g_hash_table_lookup (self->calls, GUINT_TO_POINTER (call));
  return handle != NULL ? handle->path->local_host : NULL;
}

/**
 * hg_scaip_sip_answer_call:
 * @self: an #HgScaipSip
 * @call: an incoming call's id
 * @status: 200 to accept, else a failure status (480, 486, 488, ...)
 * @sdp: (nullable): the SDP answer, with 200
 */
void
hg_scaip_sip_answer_call (HgScaipSip *self, guint call, guint status, const gchar *sdp)
{
  Handle *handle;

  g_return_if_fail (HG_IS_SCAIP_SIP (self));

  handle = g_hash_table_lookup (self->calls, GUINT_TO_POINTER (call));
  if (handle == NULL || handle->responded)
    return;
  handle->responded = TRUE;
  handle->local_sdp = g_strdup (sdp);
  if (status >= 200 && status < 300 && sdp != NULL)
    nua_respond (handle->nh, status, sip_status_phrase ((int)status),
                 SIPTAG_CONTENT_TYPE_STR ("application/sdp"), SIPTAG_PAYLOAD_STR (sdp), TAG_END ());
  else
    nua_respond (handle->nh, status, sip_status_phrase ((int)status), TAG_END ());
}

/**
 * hg_scaip_sip_place_call:
 * @self: an #HgScaipSip
 * @receiver: the receiver whose path the call takes, and whom it calls without @uri
 * @uri: (nullable): whom to call instead (where the ARC transferred the call)
 * @sdp: our SDP offer
 *
 * Returns: the call's id; #HgScaipSip::call-answered brings the answer, and
 *   #HgScaipSip::call-ended a failure
 */
guint
hg_scaip_sip_place_call (HgScaipSip *self, guint receiver, const gchar *uri, const gchar *sdp)
{
  g_autofree gchar *to = NULL;
  Receiver *r;
  Handle *handle;

  g_return_val_if_fail (HG_IS_SCAIP_SIP (self), 0);
  g_return_val_if_fail (receiver < self->receivers->len, 0);
  g_return_val_if_fail (sdp != NULL, 0);

  r = get_receiver (self, receiver);
  if (r->path->nua == NULL || self->shutting_down)
    return 0;
  handle = new_call_handle (self, r->path, NULL);
  handle->responded = TRUE;
  handle->local_sdp = g_strdup (sdp);
  to = uri != NULL ? g_strdup_printf ("<%s>", uri) : g_strdup (r->to);
  handle->nh = nua_handle (r->path->nua, handle, SIPTAG_TO_STR (to), TAG_END ());
  nua_invite (handle->nh, NUTAG_URL (uri != NULL ? uri : r->uri),
              SIPTAG_CONTENT_TYPE_STR ("application/sdp"),
              SIPTAG_PAYLOAD_STR (sdp), TAG_END ());
  return handle->call_id;
}

/**
 * hg_scaip_sip_hang_up:
 * @self: an #HgScaipSip
 * @call: a call's id
 *
 * Sends BYE (or CANCEL while it rings); #HgScaipSip::call-ended follows.
 */
void
hg_scaip_sip_hang_up (HgScaipSip *self, guint call)
{
  Handle *handle;

  g_return_if_fail (HG_IS_SCAIP_SIP (self));

  handle = g_hash_table_lookup (self->calls, GUINT_TO_POINTER (call));
  if (handle == NULL)
    return;
  nua_bye (handle->nh, TAG_END ());
}

/* shutdown */

static void
complete_shutdown (HgScaipSip *self)
{
  g_autoptr(GPtrArray) tasks = g_steal_pointer (&self->shutdown_tasks);

  self->shutdown_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; tasks != NULL && i < tasks->len; i++)
    g_task_return_boolean (g_ptr_array_index (tasks, i), TRUE);
}

static void
destroy_stack (HgScaipSip *self)
{
  /* handles before the stack: nua_handle_destroy needs it */
  g_hash_table_remove_all (self->messages);
  g_hash_table_remove_all (self->calls);
  for (guint i = 0; i < self->receivers->len; i++)
    {
      Receiver *receiver = g_ptr_array_index (self->receivers, i);

      g_clear_handle_id (&receiver->retry_id, g_source_remove);
      g_clear_pointer (&receiver->reg, handle_free);
    }
  for (guint i = 0; i < self->paths->len; i++)
    {
      Path *path = g_ptr_array_index (self->paths, i);

      g_clear_pointer (&path->nua, nua_destroy);
    }
}

/* Whether every path's stack answered its nua_shutdown (). */
static gboolean
all_paths_shut_down (HgScaipSip *self)
{
  for (guint i = 0; i < self->paths->len; i++)
    {
      Path *path = g_ptr_array_index (self->paths, i);

      if (path->nua != NULL && !path->shut_down)
        return FALSE;
    }
  return TRUE;
}

static void
shut_down_paths (HgScaipSip *self)
{
  self->shutting_down = TRUE;
  for (guint i = 0; i < self->paths->len; i++)
    {
      Path *path = g_ptr_array_index (self->paths, i);

      if (path->nua != NULL && !path->shut_down)
        nua_shutdown (path->nua);
    }
}

static void
nua_event_cb (nua_event_t event,
              int status,
              char const *phrase,
              nua_t *nua,
              nua_magic_t *magic,
              nua_handle_t *nh,
              nua_hmagic_t *hmagic,
              sip_t const *sip,
              tagi_t tags[])
{
  Path *path = (Path *) magic;
  HgScaipSip *self = path->self;
  Handle *handle = hmagic;

  switch (event)
    {
    case nua_r_register:
      if (handle != NULL && handle->kind == HANDLE_REGISTER)
        register_answered (self, handle, status, phrase, sip);
      break;
    case nua_r_message:
      if (handle != NULL && handle->kind == HANDLE_MESSAGE)
        message_answered (self, handle, status, phrase, sip);
      break;
    case nua_i_message:
      message_received (self, nua, nh, sip);
      break;
    case nua_i_invite:
      if (handle != NULL && handle->kind == HANDLE_CALL)
        {
          /* a re-INVITE (session refresh, hold): the media stays as negotiated */
          g_debug ("call %u: re-INVITE answered with the same media", handle->call_id);
          nua_respond (
              nh, SIP_200_OK,
              TAG_IF (handle->local_sdp != NULL, SIPTAG_CONTENT_TYPE_STR ("application/sdp")),
              TAG_IF (handle->local_sdp != NULL, SIPTAG_PAYLOAD_STR (handle->local_sdp)),
              TAG_END ());
        }
      else
        call_received (self, path, nua, nh, sip);
      break;
    case nua_r_invite:
      if (handle != NULL && handle->kind == HANDLE_CALL)
        call_answered (self, handle, status, phrase, sip);
      break;
    case nua_i_state:
      if (handle != NULL && handle->kind == HANDLE_CALL)
        call_state (self, handle, status, phrase, tags);
      break;
    case nua_i_info:
      if (handle != NULL && handle->kind == HANDLE_CALL)
        call_info (self, handle, sip);
      else if (handle == NULL && nh != NULL)
        nua_handle_destroy (nh);
      break;
    case nua_i_bye:
    case nua_i_cancel:
    case nua_i_ack:
    case nua_r_bye:
    case nua_i_active:
    case nua_i_terminated:
      g_debug ("SIP call event %s: %03d %s", nua_event_name (event), status,
               phrase != NULL ? phrase : "");
      break;
    case nua_r_shutdown:
      if (status < 200)
        break;
      g_debug ("SIP stack of path %u shut down: %03d %s", path->index + 1, status, phrase);
      path->shut_down = TRUE;
      if (!all_paths_shut_down (self))
        break;
      self->shut_down = TRUE;
      destroy_stack (self);
      complete_shutdown (self);
      break;
    case nua_i_error:
      g_debug ("SIP stack error: %03d %s", status, phrase);
      break;
    case nua_i_options:
    case nua_i_method:
    case nua_i_refer:
    case nua_i_publish:
    case nua_i_subscribe:
    case nua_i_notify:
    case nua_i_chat:
    case nua_i_register:
      /* a request we did not ask for: the stack answered it; drop its handle */
      g_debug ("SIP event %s answered %03d", nua_event_name (event), status);
      if (handle == NULL && nh != NULL)
        nua_handle_destroy (nh);
      break;
    default:
      g_debug ("SIP event %s: %03d %s", nua_event_name (event), status,
               phrase != NULL ? phrase : "");
      break;
    }
}

/**
 * hg_scaip_sip_shutdown_async:
 * @self: an #HgScaipSip
 * @cancellable: (nullable): a #GCancellable
 * @callback: called once the stack is down
 * @user_data: data for @callback
 *
 * Unregisters where registered, ends every transaction and destroys the stack.
 * Requests in flight fail with %HG_SCAIP_SIP_ERROR_SHUT_DOWN.
 */
void
hg_scaip_sip_shutdown_async (HgScaipSip *self,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (HG_IS_SCAIP_SIP (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hg_scaip_sip_shutdown_async);
  if (self->shut_down)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  g_ptr_array_add (self->shutdown_tasks, g_steal_pointer (&task));
  if (!self->shutting_down)
    shut_down_paths (self);
}

gboolean
hg_scaip_sip_shutdown_finish (HgScaipSip *self,
                              GAsyncResult *result,
                              GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* set-up */

/* sip:host[:port][;transport=x] of a receiver URI, where its registrar answers. */
static gchar *
registrar_of (url_t const *url)
{
  char transport[16] = "";
  gboolean has_transport
      = url->url_params != NULL
        && url_param (url->url_params, "transport", transport, sizeof transport) > 0;

  return g_strdup_printf ("%s:%s%s%s%s%s", url->url_type == url_sips ? "sips" : "sip",
                          url->url_host, url->url_port != NULL ? ":" : "",
                          url->url_port != NULL ? url->url_port : "",
                          has_transport ? ";transport=" : "", has_transport ? transport : "");
}

static gboolean
url_is_sip (url_t const *url,
            gboolean need_user)
{
  return url != NULL && (url->url_type == url_sip || url->url_type == url_sips)
         && url->url_host != NULL && url->url_host[0] != '\0'
         && (!need_user || (url->url_user != NULL && url->url_user[0] != '\0'));
}

/**
 * hg_scaip_sip_check_uri:
 * @uri: a URI from the configuration
 * @need_user: whether it must name a user (an address of record does)
 * @error: return location for a #GError
 *
 * Parses @uri as Sofia-SIP will, without a stack, for configure ().
 *
 * Returns: %TRUE for a `sip:` or `sips:` URI with a host (and a user, if asked)
 */
gboolean
hg_scaip_sip_check_uri (const gchar *uri,
                        gboolean need_user,
                        GError **error)
{
  su_home_t *home = su_home_new (sizeof (su_home_t));
  gboolean ok = url_is_sip (url_make (home, uri), need_user);

  su_home_unref (home);
  if (!ok)
    g_set_error (error, HG_SCAIP_SIP_ERROR, HG_SCAIP_SIP_ERROR_INVALID_URI,
                 "'%s' is not a sip: URI with %s", uri, need_user ? "a user and a host" : "a host");
  return ok;
}

/**
 * hg_scaip_sip_uri_host:
 * @uri: a URI from the configuration
 *
 * Returns: (transfer full) (nullable): the host of a `sip:` or `sips:` URI as written
 *   (`*` too), an IPv6 address without its brackets; %NULL if @uri does not parse
 */
gchar *
hg_scaip_sip_uri_host (const gchar *uri)
{
  su_home_t *home = su_home_new (sizeof (su_home_t));
  url_t *url = url_make (home, uri);
  gchar *host = NULL;

  if (url_is_sip (url, FALSE))
    {
      gsize len = strlen (url->url_host);

      host = url->url_host[0] == '[' && len > 2 && url->url_host[len - 1] == ']'
                 ? g_strndup (url->url_host + 1, len - 2)
                 : g_strdup (url->url_host);
    }
  su_home_unref (home);
  return host;
}

/**
 * hg_scaip_sip_add_receiver:
 * @self: an #HgScaipSip
 * @name: what logs and the health report call it, e.g. `primary`
 * @uri: a `sip:` URI, e.g. `sip:arc@arc.example.se:5060;transport=tcp`
 * @path: the network path to reach it by (0, or an index from hg_scaip_sip_add_path ())
 * @error: return location for a #GError
 *
 * Returns: the receiver's index (0 for the first), or %G_MAXUINT with
 *   %HG_SCAIP_SIP_ERROR_INVALID_URI
 */
static void
receiver_resolved_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  GList *addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &error);
  Receiver *receiver;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  receiver = user_data;
  if (addresses == NULL)
    {
      g_warning ("the %s receiver's host %s does not resolve (%s): its answers cannot be told "
                 "from a stranger's and are refused",
                 receiver->name, receiver->host, error->message);
      return;
    }
  g_list_free_full (receiver->addresses, g_object_unref);
  receiver->addresses = addresses;
}

guint
hg_scaip_sip_add_receiver (HgScaipSip *self,
                           const gchar *name,
                           const gchar *uri,
                           guint path,
                           GError **error)
{
  url_t *url;
  Receiver *receiver;

  g_return_val_if_fail (HG_IS_SCAIP_SIP (self), G_MAXUINT);
  g_return_val_if_fail (name != NULL, G_MAXUINT);
  g_return_val_if_fail (uri != NULL, G_MAXUINT);
  g_return_val_if_fail (path < self->paths->len, G_MAXUINT);

  url = url_make (self->home, uri);
  if (!url_is_sip (url, FALSE))
    {
      g_set_error (error, HG_SCAIP_SIP_ERROR, HG_SCAIP_SIP_ERROR_INVALID_URI,
                   "'%s' is not a sip: URI with a host", uri);
      return G_MAXUINT;
    }
  receiver = g_new0 (Receiver, 1);
  receiver->self = self;
  receiver->index = self->receivers->len;
  receiver->name = g_strdup (name);
  receiver->path = g_ptr_array_index (self->paths, path);
  receiver->uri = g_strdup (uri);
  receiver->to = g_strdup_printf ("<%s>", uri);
  receiver->registrar = registrar_of (url);
  receiver->host = g_strdup (url->url_host);
  {
    char transport[16] = "";
    gboolean tls = url->url_type == url_sips
                   || (url->url_params != NULL
                       && url_param (url->url_params, "transport", transport, sizeof transport) > 0
                       && g_ascii_strcasecmp (transport, "tls") == 0);

    receiver->port = url->url_port != NULL ? (guint)g_ascii_strtoull (url->url_port, NULL, 10)
                     : tls                 ? 5061
                                           : 5060;
  }
  g_ptr_array_add (self->receivers, receiver);
  /* to tell its answers from a stranger's (hg_scaip_sip_new ()'s "message-received") */
  {
    /* an IPv6 address in a URI is in brackets */
    g_autofree gchar *plain = g_strdup (receiver->host);
    GInetAddress *address;

    if (plain[0] == '[')
      {
        g_strdelimit (plain, "[]", ' ');
        g_strstrip (plain);
      }
    address = g_inet_address_new_from_string (plain);
    if (address != NULL)
      {
        receiver->addresses = g_list_prepend (NULL, address);
      }
    else
      {
        g_autoptr(GResolver) resolver = g_resolver_get_default ();

        g_resolver_lookup_by_name_async (resolver, plain, self->cancellable, receiver_resolved_cb,
                                         receiver);
      }
  }
  return self->receivers->len - 1;
}

guint
hg_scaip_sip_get_n_receivers (HgScaipSip *self)
{
  g_return_val_if_fail (HG_IS_SCAIP_SIP (self), 0);
  return self->receivers->len;
}

/* Returns: the name the receiver was added with */
const gchar *
hg_scaip_sip_get_receiver_name (HgScaipSip *self,
                                guint receiver)
{
  g_return_val_if_fail (HG_IS_SCAIP_SIP (self), NULL);
  g_return_val_if_fail (receiver < self->receivers->len, NULL);
  return get_receiver (self, receiver)->name;
}

const gchar *
hg_scaip_sip_get_receiver_uri (HgScaipSip *self,
                               guint receiver)
{
  g_return_val_if_fail (HG_IS_SCAIP_SIP (self), NULL);
  g_return_val_if_fail (receiver < self->receivers->len, NULL);
  return get_receiver (self, receiver)->uri;
}

/* Returns: the network path the receiver is reached by (0 for the first) */
guint
hg_scaip_sip_get_receiver_path (HgScaipSip *self, guint receiver)
{
  g_return_val_if_fail (HG_IS_SCAIP_SIP (self), 0);
  g_return_val_if_fail (receiver < self->receivers->len, 0);
  return get_receiver (self, receiver)->path->index;
}

/* Returns: (nullable): the local address of the receiver's path, when that path is bound
 *   to one; %NULL for any */
const gchar *
hg_scaip_sip_get_receiver_local_address (HgScaipSip *self, guint receiver)
{
  g_return_val_if_fail (HG_IS_SCAIP_SIP (self), NULL);
  g_return_val_if_fail (receiver < self->receivers->len, NULL);
  return get_receiver (self, receiver)->path->local_host;
}

/* Records @problem as the error of every receiver whose host is @host. */
static void
note_receiver_problem (HgScaipSip *self, const gchar *host, const gchar *problem)
{
  for (guint i = 0; i < self->receivers->len; i++)
    {
      Receiver *receiver = g_ptr_array_index (self->receivers, i);

      if (receiver->host != NULL && g_ascii_strcasecmp (receiver->host, host) == 0)
        {
          g_free (receiver->error);
          receiver->error = g_strdup (problem);
        }
    }
}

/* Returns: (nullable): why the last REGISTER to @receiver failed, or why its TLS connection
 *   was refused; %NULL once a REGISTER succeeded */
const gchar *
hg_scaip_sip_get_registration_error (HgScaipSip *self, guint receiver)
{
  g_return_val_if_fail (HG_IS_SCAIP_SIP (self), NULL);
  g_return_val_if_fail (receiver < self->receivers->len, NULL);
  return get_receiver (self, receiver)->error;
}

/* Returns: the host part of the receiver's URI (a name or an address) */
const gchar *
hg_scaip_sip_get_receiver_host (HgScaipSip *self, guint receiver)
{
  g_return_val_if_fail (HG_IS_SCAIP_SIP (self), NULL);
  g_return_val_if_fail (receiver < self->receivers->len, NULL);
  return get_receiver (self, receiver)->host;
}

/**
 * hg_scaip_sip_set_credentials:
 * @self: an #HgScaipSip
 * @auth_user: (nullable): the Digest user name; %NULL for the user of the address of record
 * @password: (nullable): the Digest password; %NULL answers no challenge
 *
 * Changed credentials drop each receiver's registration: register again afterwards.
 */
void
hg_scaip_sip_set_credentials (HgScaipSip *self,
                              const gchar *auth_user,
                              const gchar *password)
{
  gboolean changed;

  g_return_if_fail (HG_IS_SCAIP_SIP (self));

  changed = g_strcmp0 (self->auth_user, auth_user) != 0 ||
            g_strcmp0 (self->password, password) != 0;
  g_free (self->auth_user);
  self->auth_user = g_strdup (auth_user);
  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  self->password = g_strdup (password);
  /* a registration handle keeps the credentials it answered with and sends them
   * unasked with its next REGISTER, which a registrar then refuses without a new
   * challenge: the next hg_scaip_sip_register () starts on a new handle */
  for (guint i = 0; changed && i < self->receivers->len; i++)
    {
      Receiver *r = get_receiver (self, i);
      if (r->reg != NULL)
        g_clear_handle_id (&r->retry_id, g_source_remove);
      g_clear_pointer (&r->reg, handle_free);
    }
}

static void
hg_scaip_sip_dispose (GObject *object)
{
  HgScaipSip *self = HG_SCAIP_SIP (object);

  g_cancellable_cancel (self->cancellable);
  /* nua_destroy () refuses a stack that was not shut down: do it now, bounded */
  if (!self->shut_down)
    {
      gint64 deadline = g_get_monotonic_time () + DISPOSE_SHUTDOWN_USEC;

      if (!self->shutting_down)
        shut_down_paths (self);
      while (!self->shut_down && g_get_monotonic_time () < deadline)
        g_main_context_iteration (NULL, FALSE);
      if (!self->shut_down)
        {
          g_warning ("SIP stack did not shut down in time; leaking it");
          self->shut_down = TRUE;
          for (guint i = 0; i < self->paths->len; i++)
            ((Path *) g_ptr_array_index (self->paths, i))->nua = NULL;
        }
    }
  complete_shutdown (self);
  G_OBJECT_CLASS (hg_scaip_sip_parent_class)->dispose (object);
}

static void
hg_scaip_sip_finalize (GObject *object)
{
  HgScaipSip *self = HG_SCAIP_SIP (object);

  g_hash_table_unref (self->messages);
  g_hash_table_unref (self->calls);
  g_ptr_array_unref (self->receivers);
  g_ptr_array_unref (self->paths);
  g_ptr_array_unref (self->shutdown_tasks);
  if (tls_agent == self)
    tls_agent = NULL;
  if (self->root != NULL)
    {
      g_source_destroy (su_glib_root_gsource (self->root));
      su_root_destroy (self->root);
    }
  su_home_unref (self->home);
  g_free (self->aor);
  g_free (self->auth_user);
  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  g_free (self->tls_dir);
  g_object_unref (self->cancellable);
  G_OBJECT_CLASS (hg_scaip_sip_parent_class)->finalize (object);
}

static void
hg_scaip_sip_class_init (HgScaipSipClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hg_scaip_sip_dispose;
  object_class->finalize = hg_scaip_sip_finalize;

  /**
   * HgScaipSip::message-received:
   * @body: the body of a MESSAGE addressed to our address of record
   * @length: its length in bytes
   * @peers: the receivers it came from, a bit mask by receiver index: those whose URI's
   *   host is (or resolved to) the sender's address and, over UDP, whose port is the
   *   sender's; 0 for a stranger
   * @peer: the sender's transport address, for logs
   *
   * Returns: the SIP status to answer with: 200 when the body was understood, 400 if not,
   *   403 when it is not the sender's to give
   */
  signals[SIGNAL_MESSAGE_RECEIVED]
      = g_signal_new ("message-received", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                      g_signal_accumulator_first_wins, NULL, NULL, G_TYPE_UINT, 4, G_TYPE_STRING,
                      G_TYPE_UINT, G_TYPE_UINT, G_TYPE_STRING);
  /**
   * HgScaipSip::registration-changed:
   * @receiver: the receiver index
   * @registered: whether its registrar accepted us
   * @status: the SIP status of the last answer
   */
  signals[SIGNAL_REGISTRATION_CHANGED]
      = g_signal_new ("registration-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 3, G_TYPE_UINT, G_TYPE_BOOLEAN, G_TYPE_UINT);
  /**
   * HgScaipSip::call-incoming:
   * @call: the call's id
   * @from: the caller's URI, for logs
   * @sdp: (nullable): the SDP offer
   *
   * An INVITE to our address of record. A handler answers it with
   * hg_scaip_sip_answer_call () before returning; a call nobody answered is refused with
   * 480 Temporarily Unavailable.
   */
  signals[SIGNAL_CALL_INCOMING]
      = g_signal_new ("call-incoming", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 3, G_TYPE_UINT, G_TYPE_STRING, G_TYPE_STRING);
  /**
   * HgScaipSip::call-answered:
   * @call: the id hg_scaip_sip_place_call () returned
   * @sdp: (nullable): the SDP answer of the 2xx
   */
  signals[SIGNAL_CALL_ANSWERED]
      = g_signal_new ("call-answered", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);
  /**
   * HgScaipSip::call-active:
   * @call: the call's id
   *
   * The dialog is confirmed (ACK sent or received): media may flow.
   */
  signals[SIGNAL_CALL_ACTIVE]
      = g_signal_new ("call-active", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
  /**
   * HgScaipSip::call-ended:
   * @call: the call's id
   * @status: the SIP status that ended it (e.g. 200 for a BYE, 480 when refused)
   * @reason: the phrase, for logs
   * @retry_after: seconds the peer asked to wait before calling again (its Retry-After,
   *   with a failure answer to our INVITE), or 0
   */
  /**
   * HgScaipSip::call-dtmf:
   * @call: the call's id
   * @digit: the DTMF digit of a SIP INFO in the call
   */
  signals[SIGNAL_CALL_DTMF]
      = g_signal_new ("call-dtmf", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_INT);
  signals[SIGNAL_CALL_ENDED]
      = g_signal_new ("call-ended", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 4, G_TYPE_UINT, G_TYPE_UINT, G_TYPE_STRING, G_TYPE_UINT);
}

static void
hg_scaip_sip_init (HgScaipSip *self)
{
  self->receivers = g_ptr_array_new_with_free_func ((GDestroyNotify) receiver_free);
  self->paths = g_ptr_array_new_with_free_func ((GDestroyNotify) path_free);
  self->shut_down = TRUE; /* until a path's stack exists */
  self->messages = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) handle_free, NULL);
  self->calls = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify)handle_free);
  self->shutdown_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  self->cancellable = g_cancellable_new ();
}

/**
 * hg_scaip_sip_add_path:
 * @self: an #HgScaipSip
 * @local_uri: where this path's stack listens, e.g. `sip:10.64.0.2:*`
 * @error: return location for a #GError
 *
 * Creates a further network path: a stack of its own, bound to @local_uri's address, so
 * that what is sent to the receivers added on it leaves by that address (the host's
 * routing takes it from there, PROTOCOL.md §6).
 *
 * Returns: the path's index (0 for the one hg_scaip_sip_new () made), or %G_MAXUINT with
 *   %HG_SCAIP_SIP_ERROR
 */
guint
hg_scaip_sip_add_path (HgScaipSip *self, const gchar *local_uri, GError **error)
{
  g_autofree gchar *sips_uri = NULL;
  url_t *local;
  Path *path;

  g_return_val_if_fail (HG_IS_SCAIP_SIP (self), G_MAXUINT);
  g_return_val_if_fail (local_uri != NULL, G_MAXUINT);

  local = url_make (self->home, local_uri);
  if (local == NULL || (local->url_type != url_sip && local->url_type != url_sips))
    {
      g_set_error (error, HG_SCAIP_SIP_ERROR, HG_SCAIP_SIP_ERROR_INVALID_URI,
                   "'%s' is not a sip: URI to listen on", local_uri);
      return G_MAXUINT;
    }
  path = g_new0 (Path, 1);
  path->self = self;
  path->index = self->paths->len;
  path->local_uri = g_strdup (local_uri);
  if (local->url_host != NULL && g_strcmp0 (local->url_host, "*") != 0)
    path->local_host = hg_scaip_sip_uri_host (local_uri);
  g_ptr_array_add (self->paths, path);
  if (self->tls_dir != NULL)
    sips_uri = g_strdup_printf ("sips:%s:*",
                                path->local_host != NULL ? path->local_host : "*");
  path->nua
      = nua_create (self->root, nua_event_cb, path, NUTAG_URL (local_uri),
                    TAG_IF (self->tls_dir != NULL, NUTAG_SIPS_URL (sips_uri)),
                    TAG_IF (self->tls_dir != NULL, TPTAG_CERTIFICATE (self->tls_dir)),
                    /* the receiver's certificate must chain to cafile.pem and name the
                     * host of its URI (subjectAltName DNS or CN) */
                    TAG_IF (self->tls_dir != NULL,
                            TPTAG_TLS_VERIFY_POLICY (TPTLS_VERIFY_SUBJECTS_OUT)),
                    TAG_IF (self->tls_dir != NULL, TPTAG_TLS_VERIFY_DATE (1)),
                    SIPTAG_FROM_STR (self->aor), NUTAG_USER_AGENT (USER_AGENT),
                    NUTAG_M_USERNAME (self->aor_url->url_user), NUTAG_ENABLEMESSAGE (1),
                    NUTAG_ENABLEINVITE (0), NUTAG_ALLOW ("MESSAGE"),
                    NUTAG_APPL_METHOD ("MESSAGE"), NUTAG_MEDIA_ENABLE (0),
                    NUTAG_OUTBOUND ("no-options-keepalive no-validate"), TAG_NULL ());
  if (path->nua == NULL)
    {
      g_set_error (error, HG_SCAIP_SIP_ERROR, HG_SCAIP_SIP_ERROR_FAILED,
                   "cannot listen for SIP on %s", local_uri);
      g_ptr_array_remove_index (self->paths, path->index);
      return G_MAXUINT;
    }
  self->shut_down = FALSE;
  return path->index;
}

/**
 * hg_scaip_sip_new:
 * @local_uri: where to listen, e.g. `sip:*:*` (UDP and TCP, any port) or `sip:127.0.0.1:5070`
 * @aor: our address of record, e.g. `sip:4600012345@arc.example.se`
 * @tls_dir: (nullable): Sofia-SIP's TLS directory (cafile.pem, and agent.pem for our own
 *   certificate); %NULL for no TLS transport
 * @error: return location for a #GError
 *
 * Creates the stack of the first network path (index 0) and binds its transports;
 * registers with nobody yet.
 *
 * Returns: (transfer full): the agent, or %NULL with %HG_SCAIP_SIP_ERROR
 */
HgScaipSip *
hg_scaip_sip_new (const gchar *local_uri, const gchar *aor, const gchar *tls_dir, GError **error)
{
  static gsize initialized = 0;
  g_autoptr(HgScaipSip) self = NULL;

  g_return_val_if_fail (local_uri != NULL, NULL);
  g_return_val_if_fail (aor != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_once_init_enter (&initialized))
    {
      /* once per process and never undone: the module is resident */
      su_init ();
      su_log_redirect (su_log_default, sofia_log_cb, NULL);
      su_log_redirect (tport_log, sofia_log_cb, NULL);
      su_log_set_level (tport_log, 3);
      g_once_init_leave (&initialized, 1);
    }

  self = g_object_new (HG_TYPE_SCAIP_SIP, NULL);
  self->home = su_home_new (sizeof (su_home_t));
  self->aor_url = url_make (self->home, aor);
  if (!url_is_sip (self->aor_url, TRUE))
    {
      g_set_error (error, HG_SCAIP_SIP_ERROR, HG_SCAIP_SIP_ERROR_INVALID_URI,
                   "'%s' is not a sip: address of record with a user and a host", aor);
      return NULL;
    }
  self->aor = g_strdup (aor);
  self->tls_dir = g_strdup (tls_dir);

  self->root = su_glib_root_create (self);
  if (self->root == NULL)
    {
      g_set_error_literal (error, HG_SCAIP_SIP_ERROR, HG_SCAIP_SIP_ERROR_FAILED,
                           "cannot create the Sofia-SIP root");
      return NULL;
    }
  g_source_attach (su_glib_root_gsource (self->root), NULL);

  if (hg_scaip_sip_add_path (self, local_uri, error) == G_MAXUINT)
    return NULL;
  if (tls_dir != NULL)
    tls_agent = self;
  return g_steal_pointer (&self);
}
