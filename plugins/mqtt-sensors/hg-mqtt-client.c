/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgMqttClient: libmosquitto without its thread. The broker socket is watched by a GSource
 * of our own whose prepare() asks for G_IO_OUT only while libmosquitto has something to
 * write (mosquitto_want_write), so an idle connection costs nothing; readable data is
 * drained with mosquitto_loop_read while the socket holds bytes (FIONREAD), and
 * mosquitto_loop_misc runs once a second for keep-alive. Nothing polls.
 *
 * Life cycle: start -> (resolve the broker's name with GResolver) -> connect_async ->
 * CONNACK -> subscribe every filter -> messages. Whenever the socket goes away (broker
 * restart, keep-alive timeout, refused connection) the watch is removed and a new attempt
 * is scheduled after 1 s, 2 s, 4 s ... up to the maximum; a successful connect resets the
 * delay and subscribes again (the session is clean, so the broker forgot them).
 *
 * Names other than IP literals are resolved asynchronously first, so libmosquitto's own
 * getaddrinfo() never blocks the main loop; with TLS the name itself is passed on, as
 * libmosquitto checks the certificate against it (use a name in /etc/hosts, or an IP
 * address in the certificate, where DNS may be slow). */
#include "hg-mqtt-client.h"

#include <errno.h>
#include <mosquitto.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <hemgate-plugin.h>

/* One dispatch reads at most this many packets, so a flood cannot starve the loop. */
#define MAX_READS_PER_DISPATCH 512
#define DEFAULT_KEEPALIVE 60
#define DEFAULT_FIRST_DELAY_MS 1000
#define DEFAULT_MAX_DELAY_MS 60000

typedef struct
{
  GSource source;
  HgMqttClient *client; /* (unowned) the client destroys the source first */
  gpointer tag;
  GIOCondition events; /* what the descriptor is polled for now */
} SocketSource;

struct _HgMqttClient
{
  GObject parent_instance;

  /* configuration */
  gchar *client_id; /* (owned) */
  gchar *host;      /* (owned) */
  guint16 port;
  HgMqttProtocol protocol;
  guint keepalive;
  gchar *username;         /* (owned) (nullable) */
  gchar *password;         /* (owned) (nullable) wiped on finalize */
  gchar *ca_file;          /* (owned) (nullable) TLS when set */
  gchar *certificate_file; /* (owned) (nullable) */
  gchar *key_file;         /* (owned) (nullable) */
  gchar *key_password;     /* (owned) (nullable) wiped on finalize */
  int pem_fds[2];          /* memfds of a client certificate and key given as text, or -1 */
  GStrv filters;           /* (owned) */
  HgMqttMessageFunc message_func;
  gpointer message_data;
  guint first_delay_ms;
  guint max_delay_ms;

  /* state */
  struct mosquitto *mosq; /* (owned) (nullable) while started */
  GStrv addresses;        /* (owned) (nullable) what the name resolved to, or the literal */
  guint next_address;     /* the one connect_async is given next */
  GSource *watch;         /* (owned) (nullable) while a socket is open */
  int fd;
  guint misc_id;
  guint retry_id;
  guint delay_ms;      /* the next retry's delay */
  gboolean connected;  /* CONNACK accepted */
  gboolean subscribed; /* ... and the broker acknowledged our subscriptions */
  int subscribe_mid;
  gboolean started;
  gboolean refused; /* the last CONNACK refused us; warned once */
  guint n_connects;
  guint n_failures;
  guint failures_in_row;     /* since the last successful connect */
  GCancellable *cancellable; /* (owned) name resolution */
};

G_DEFINE_TYPE (HgMqttClient, hg_mqtt_client, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_CONNECTED,
  PROP_SUBSCRIBED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void connect_now (HgMqttClient *self);
static void resolve_and_connect (HgMqttClient *self);

static gpointer
lib_init_once (gpointer data)
{
  mosquitto_lib_init ();
  return NULL;
}

static void
set_subscribed (HgMqttClient *self,
                gboolean subscribed)
{
  if (self->subscribed == subscribed)
    return;
  self->subscribed = subscribed;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SUBSCRIBED]);
}

static void
set_connected (HgMqttClient *self,
               gboolean connected)
{
  if (!connected)
    set_subscribed (self, FALSE);
  if (self->connected == connected)
    return;
  self->connected = connected;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTED]);
}

static void
remove_watch (HgMqttClient *self)
{
  if (self->watch != NULL)
    {
      g_source_destroy (self->watch);
      g_clear_pointer (&self->watch, g_source_unref);
    }
  g_clear_handle_id (&self->misc_id, g_source_remove);
  self->fd = -1;
}

static gboolean
retry_cb (gpointer user_data)
{
  HgMqttClient *self = HG_MQTT_CLIENT (user_data);

  self->retry_id = 0;
  /* every address tried: ask the resolver again, the broker may have moved */
  if (self->next_address == 0)
    resolve_and_connect (self);
  else
    connect_now (self);
  return G_SOURCE_REMOVE;
}

/* Failures in a row after which an operator is told (TLS or address problems are
 * otherwise only in the debug log and the health report). */
#define FAILURES_BEFORE_WARNING 5

/* After a failed attempt: the name's next address at once, else all of them again after
 * the backoff. */
static void
schedule_retry (HgMqttClient *self,
                gboolean next_address)
{
  if (!self->started || self->retry_id != 0)
    return;
  self->n_failures++;
  if (next_address && self->addresses != NULL && self->addresses[self->next_address] != NULL
      && self->addresses[self->next_address + 1] != NULL)
    {
      self->next_address++;
      self->retry_id = g_idle_add (retry_cb, self);
      return;
    }
  self->next_address = 0;
  if (++self->failures_in_row == FAILURES_BEFORE_WARNING)
    g_warning ("broker %s:%u: still not connected after %u attempts; trying on", self->host,
               self->port, FAILURES_BEFORE_WARNING);
  g_debug ("broker %s:%u: next attempt in %u ms", self->host, self->port, self->delay_ms);
  self->retry_id = g_timeout_add (self->delay_ms, retry_cb, self);
  self->delay_ms = MIN (self->delay_ms * 2, self->max_delay_ms);
}

/* After every call into libmosquitto: it closes the socket itself on errors (and calls
 * on_disconnect), so follow what it did. */
static void
check_socket (HgMqttClient *self)
{
  gboolean was_connected;

  if (self->mosq == NULL || mosquitto_socket (self->mosq) == self->fd)
    return;
  remove_watch (self);
  was_connected = self->connected;
  set_connected (self, FALSE);
  /* a working connection lost: all addresses again after the backoff, its own first */
  schedule_retry (self, !was_connected);
}

static gboolean
socket_source_prepare (GSource *source,
                       gint *timeout)
{
  SocketSource *socket_source = (SocketSource *) source;
  HgMqttClient *self = socket_source->client;
  GIOCondition condition = G_IO_IN | G_IO_ERR | G_IO_HUP;

  if (self->mosq != NULL && mosquitto_want_write (self->mosq))
    condition |= G_IO_OUT;
  /* only on a change: g_source_modify_unix_fd () wakes the context up, and called on
   * every prepare it turned an idle loop into a busy one */
  if (condition != socket_source->events)
    {
      g_source_modify_unix_fd (source, socket_source->tag, condition);
      socket_source->events = condition;
    }
  *timeout = -1;
  return FALSE;
}

static gboolean
bytes_pending (int fd)
{
  int available = 0;

  return ioctl (fd, FIONREAD, &available) == 0 && available > 0;
}

static gboolean
socket_source_dispatch (GSource *source,
                        GSourceFunc callback,
                        gpointer user_data)
{
  SocketSource *socket_source = (SocketSource *) source;
  HgMqttClient *self = socket_source->client;
  GIOCondition revents = g_source_query_unix_fd (source, socket_source->tag);
  int rc = MOSQ_ERR_SUCCESS;

  if ((revents & (G_IO_IN | G_IO_ERR | G_IO_HUP)) != 0)
    {
      /* libmosquitto reads one packet per call: drain what the kernel already holds */
      for (guint i = 0; i < MAX_READS_PER_DISPATCH && rc == MOSQ_ERR_SUCCESS; i++)
        {
          rc = mosquitto_loop_read (self->mosq, 1);
          if (self->mosq == NULL || mosquitto_socket (self->mosq) != self->fd
              || !bytes_pending (self->fd))
            break;
        }
    }
  if (rc == MOSQ_ERR_SUCCESS && self->mosq != NULL && mosquitto_socket (self->mosq) == self->fd
      && (revents & G_IO_OUT) != 0)
    rc = mosquitto_loop_write (self->mosq, 1);
  if (rc != MOSQ_ERR_SUCCESS)
    g_debug ("broker %s:%u: %s", self->host, self->port, mosquitto_strerror (rc));
  if (self->mosq != NULL && mosquitto_socket (self->mosq) == self->fd)
    return G_SOURCE_CONTINUE;
  /* the socket is gone; check_socket() below destroys this source */
  check_socket (self);
  return G_SOURCE_REMOVE;
}

static GSourceFuncs socket_source_funcs = {
  socket_source_prepare, NULL, socket_source_dispatch, NULL, NULL, NULL,
};

static gboolean
misc_cb (gpointer user_data)
{
  HgMqttClient *self = HG_MQTT_CLIENT (user_data);

  /* keep-alive PINGREQ, and the timeout of a broker that stopped answering */
  mosquitto_loop_misc (self->mosq);
  if (mosquitto_socket (self->mosq) != self->fd)
    {
      self->misc_id = 0;
      check_socket (self);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
add_watch (HgMqttClient *self,
           int fd)
{
  SocketSource *source = (SocketSource *) g_source_new (&socket_source_funcs, sizeof (SocketSource));

  source->client = self;
  source->events = G_IO_IN | G_IO_OUT;
  source->tag = g_source_add_unix_fd ((GSource *) source, fd, source->events);
  g_source_set_name ((GSource *) source, "hemgate-mqtt-socket");
  g_source_attach ((GSource *) source, NULL);
  self->watch = (GSource *) source;
  self->fd = fd;
  self->misc_id = g_timeout_add_seconds (1, misc_cb, self);
}

/* libmosquitto callbacks: they run inside our loop_read/loop_write calls. */

static void
on_connect (struct mosquitto *mosq,
            void *user_data,
            int rc)
{
  HgMqttClient *self = HG_MQTT_CLIENT (user_data);
  guint n_filters = self->filters != NULL ? g_strv_length (self->filters) : 0;
  int sub_rc;

  if (rc != 0)
    {
      /* refused (bad credentials, not authorised...): the broker closes the connection,
       * and we try again with backoff, since an operator may fix the broker; once is
       * enough to tell them */
      if (!self->refused)
        g_warning ("broker %s:%u refused the connection: %s", self->host, self->port,
                   mosquitto_connack_string (rc));
      else
        g_debug ("broker %s:%u refused the connection again: %s", self->host, self->port,
                 mosquitto_connack_string (rc));
      self->refused = TRUE;
      return;
    }
  self->refused = FALSE;
  self->failures_in_row = 0;
  self->n_connects++;
  self->delay_ms = self->first_delay_ms;
  g_message ("connected to broker %s:%u; subscribing to %u topic filters", self->host, self->port,
             n_filters);
  set_connected (self, TRUE);
  if (n_filters == 0)
    {
      set_subscribed (self, TRUE);
      return;
    }
  sub_rc = mosquitto_subscribe_multiple (mosq, &self->subscribe_mid, (int) n_filters, self->filters,
                                         1, 0, NULL);
  if (sub_rc != MOSQ_ERR_SUCCESS)
    g_warning ("broker %s:%u: cannot subscribe: %s", self->host, self->port,
               mosquitto_strerror (sub_rc));
}

static void
on_subscribe (struct mosquitto *mosq,
              void *user_data,
              int mid,
              int qos_count,
              const int *granted_qos)
{
  HgMqttClient *self = HG_MQTT_CLIENT (user_data);

  if (mid != self->subscribe_mid)
    return;
  for (int i = 0; i < qos_count; i++)
    {
      /* 0x80: the broker refused the filter, e.g. by its ACL */
      if (granted_qos[i] > 2)
        g_warning ("broker %s:%u refused the subscription to %s", self->host, self->port,
                   self->filters != NULL && i < (int) g_strv_length (self->filters)
                       ? self->filters[i]
                       : "?");
    }
  set_subscribed (self, TRUE);
}

static void
on_disconnect (struct mosquitto *mosq,
               void *user_data,
               int rc)
{
  HgMqttClient *self = HG_MQTT_CLIENT (user_data);

  if (self->started && self->connected)
    g_message ("lost broker %s:%u: %s", self->host, self->port, mosquitto_strerror (rc));
}

static void
on_message (struct mosquitto *mosq,
            void *user_data,
            const struct mosquitto_message *message)
{
  HgMqttClient *self = HG_MQTT_CLIENT (user_data);

  if (self->message_func == NULL || message->topic == NULL || message->payloadlen < 0)
    return;
  self->message_func (message->topic, message->payload != NULL ? message->payload : "",
                      (gsize) message->payloadlen, message->retain, self->message_data);
}

static void
on_log (struct mosquitto *mosq,
        void *user_data,
        int level,
        const char *text)
{
  g_debug ("libmosquitto: %s", text);
}

/* Connecting ---------------------------------------------------------------------------- */

static void
connect_now (HgMqttClient *self)
{
  int rc;

  if (!self->started || self->mosq == NULL || self->addresses == NULL
      || self->addresses[self->next_address] == NULL)
    return;
  remove_watch (self);
  /* non-blocking: the TCP (and TLS) handshake completes on the watch */
  rc = mosquitto_connect_async (self->mosq, self->addresses[self->next_address], self->port,
                                (int) self->keepalive);
  if (rc != MOSQ_ERR_SUCCESS)
    {
      g_debug ("broker %s:%u: cannot connect: %s", self->host, self->port,
               rc == MOSQ_ERR_ERRNO ? g_strerror (errno) : mosquitto_strerror (rc));
      schedule_retry (self, TRUE);
      return;
    }
  if (mosquitto_socket (self->mosq) < 0)
    {
      schedule_retry (self, TRUE);
      return;
    }
  add_watch (self, mosquitto_socket (self->mosq));
}

static void
resolved_cb (GObject *source,
             GAsyncResult *result,
             gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  GList *addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &error);
  g_autoptr(GStrvBuilder) builder = NULL;
  HgMqttClient *self;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = HG_MQTT_CLIENT (user_data);
  if (addresses == NULL)
    {
      g_warning ("broker %s: cannot resolve the name: %s", self->host, error->message);
      schedule_retry (self, FALSE);
      return;
    }
  g_strfreev (self->addresses);
  builder = g_strv_builder_new ();
  for (GList *l = addresses; l != NULL; l = l->next)
    {
      g_autofree gchar *text = g_inet_address_to_string (l->data);
      g_strv_builder_add (builder, text);
    }
  self->addresses = g_strv_builder_end (builder);
  self->next_address = 0;
  g_resolver_free_addresses (addresses);
  connect_now (self);
}

/* Resolves the broker's name (if it needs resolving) and connects. */
static void
resolve_and_connect (HgMqttClient *self)
{
  g_autoptr(GResolver) resolver = NULL;

  if (self->ca_file != NULL || g_hostname_is_ip_address (self->host))
    {
      const gchar *literal[] = { self->host, NULL };

      g_strfreev (self->addresses);
      self->addresses = g_strdupv ((gchar **) literal);
      self->next_address = 0;
      connect_now (self);
      return;
    }
  resolver = g_resolver_get_default ();
  g_resolver_lookup_by_name_async (resolver, self->host, self->cancellable, resolved_cb, self);
}

static int
key_password_cb (char *buf,
                 int size,
                 int rwflag,
                 void *user_data)
{
  HgMqttClient *self = HG_MQTT_CLIENT (user_data);
  gsize len = self->key_password != NULL ? strlen (self->key_password) : 0;

  if (len == 0 || len >= (gsize) size)
    return 0;
  memcpy (buf, self->key_password, len);
  return (int) len;
}

/**
 * hg_mqtt_client_start:
 * @self: a client
 * @error: return location for a #GError
 *
 * Begins connecting; returns at once. A broker that is down is not an error: the client
 * keeps trying with backoff. Only a configuration libmosquitto refuses (e.g. an
 * unreadable CA file) is.
 *
 * Returns: %TRUE if started
 */
gboolean
hg_mqtt_client_start (HgMqttClient *self,
                      GError **error)
{
  static GOnce lib_once = G_ONCE_INIT;
  int rc;

  g_return_val_if_fail (HG_IS_MQTT_CLIENT (self), FALSE);
  g_return_val_if_fail (!self->started, FALSE);

  g_once (&lib_once, lib_init_once, NULL);
  self->mosq = mosquitto_new (self->client_id, TRUE, self);
  if (self->mosq == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_FAILED, "cannot create an MQTT client: %s",
                   g_strerror (errno));
      return FALSE;
    }
  mosquitto_int_option (self->mosq, MOSQ_OPT_PROTOCOL_VERSION,
                        self->protocol == HG_MQTT_PROTOCOL_V5 ? MQTT_PROTOCOL_V5
                                                              : MQTT_PROTOCOL_V311);
  mosquitto_int_option (self->mosq, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_connect_callback_set (self->mosq, on_connect);
  mosquitto_disconnect_callback_set (self->mosq, on_disconnect);
  mosquitto_message_callback_set (self->mosq, on_message);
  mosquitto_subscribe_callback_set (self->mosq, on_subscribe);
  mosquitto_log_callback_set (self->mosq, on_log);
  if (self->username != NULL)
    {
      rc = mosquitto_username_pw_set (self->mosq, self->username, self->password);
      if (rc != MOSQ_ERR_SUCCESS)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "MQTT user name: %s",
                       mosquitto_strerror (rc));
          g_clear_pointer (&self->mosq, mosquitto_destroy);
          return FALSE;
        }
    }
  if (self->ca_file != NULL)
    {
      rc = mosquitto_tls_set (self->mosq, self->ca_file, NULL, self->certificate_file,
                              self->key_file, self->key_file != NULL ? key_password_cb : NULL);
      if (rc != MOSQ_ERR_SUCCESS)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, "MQTT TLS files: %s",
                       mosquitto_strerror (rc));
          g_clear_pointer (&self->mosq, mosquitto_destroy);
          return FALSE;
        }
    }
  self->started = TRUE;
  self->delay_ms = self->first_delay_ms;
  resolve_and_connect (self);
  return TRUE;
}

/* Disconnects cleanly and stops trying. */
void
hg_mqtt_client_stop (HgMqttClient *self)
{
  g_return_if_fail (HG_IS_MQTT_CLIENT (self));

  self->started = FALSE;
  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  if (self->mosq != NULL)
    {
      /* queued and, outside a callback, written at once */
      mosquitto_disconnect (self->mosq);
      remove_watch (self);
      g_clear_pointer (&self->mosq, mosquitto_destroy);
    }
  set_connected (self, FALSE);
}

/* Properties and setters ---------------------------------------------------------------- */

static void
wipe (gchar **secret)
{
  if (*secret != NULL)
    memset (*secret, 0, strlen (*secret));
  g_clear_pointer (secret, g_free);
}

static void
hg_mqtt_client_dispose (GObject *object)
{
  HgMqttClient *self = HG_MQTT_CLIENT (object);

  if (self->started || self->mosq != NULL)
    hg_mqtt_client_stop (self);
  G_OBJECT_CLASS (hg_mqtt_client_parent_class)->dispose (object);
}

static void
hg_mqtt_client_finalize (GObject *object)
{
  HgMqttClient *self = HG_MQTT_CLIENT (object);

  g_free (self->client_id);
  g_free (self->host);
  g_free (self->username);
  wipe (&self->password);
  g_free (self->ca_file);
  g_free (self->certificate_file);
  g_free (self->key_file);
  wipe (&self->key_password);
  g_strfreev (self->filters);
  g_strfreev (self->addresses);
  for (guint i = 0; i < G_N_ELEMENTS (self->pem_fds); i++)
    {
      if (self->pem_fds[i] >= 0)
        close (self->pem_fds[i]);
    }
  g_object_unref (self->cancellable);
  G_OBJECT_CLASS (hg_mqtt_client_parent_class)->finalize (object);
}

static void
hg_mqtt_client_get_property (GObject *object,
                             guint prop_id,
                             GValue *value,
                             GParamSpec *pspec)
{
  HgMqttClient *self = HG_MQTT_CLIENT (object);

  switch (prop_id)
    {
    case PROP_CONNECTED:
      g_value_set_boolean (value, self->connected);
      break;
    case PROP_SUBSCRIBED:
      g_value_set_boolean (value, self->subscribed);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_mqtt_client_class_init (HgMqttClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hg_mqtt_client_dispose;
  object_class->finalize = hg_mqtt_client_finalize;
  object_class->get_property = hg_mqtt_client_get_property;

  /* TRUE from the broker's CONNACK until the connection is lost */
  properties[PROP_CONNECTED] = g_param_spec_boolean ("connected", NULL, NULL, FALSE,
                                                     G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /* TRUE once the broker acknowledged the subscriptions of this connection */
  properties[PROP_SUBSCRIBED] = g_param_spec_boolean ("subscribed", NULL, NULL, FALSE,
                                                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
hg_mqtt_client_init (HgMqttClient *self)
{
  self->fd = -1;
  self->pem_fds[0] = self->pem_fds[1] = -1;
  self->keepalive = DEFAULT_KEEPALIVE;
  self->first_delay_ms = DEFAULT_FIRST_DELAY_MS;
  self->max_delay_ms = DEFAULT_MAX_DELAY_MS;
  self->cancellable = g_cancellable_new ();
}

/**
 * hg_mqtt_client_new:
 * @client_id: the MQTT client id; a broker drops an older connection with the same id
 * @host: the broker's IP address or name
 * @port: its port
 *
 * Returns: (transfer full): a client, not yet started
 */
HgMqttClient *
hg_mqtt_client_new (const gchar *client_id,
                    const gchar *host,
                    guint16 port)
{
  HgMqttClient *self = g_object_new (HG_TYPE_MQTT_CLIENT, NULL);

  self->client_id = g_strdup (client_id);
  self->host = g_strdup (host);
  self->port = port;
  return self;
}

void
hg_mqtt_client_set_protocol (HgMqttClient *self,
                             HgMqttProtocol protocol)
{
  self->protocol = protocol;
}

void
hg_mqtt_client_set_keepalive (HgMqttClient *self,
                              guint seconds)
{
  self->keepalive = seconds;
}

void
hg_mqtt_client_set_credentials (HgMqttClient *self,
                                const gchar *username,
                                const gchar *password)
{
  g_free (self->username);
  self->username = g_strdup (username);
  wipe (&self->password);
  self->password = g_strdup (password);
}

/* TLS is on when @ca_file is set; the certificate and key authenticate the client. */
void
hg_mqtt_client_set_tls (HgMqttClient *self,
                        const gchar *ca_file,
                        const gchar *certificate_file,
                        const gchar *key_file,
                        const gchar *key_password)
{
  g_free (self->ca_file);
  self->ca_file = g_strdup (ca_file);
  g_free (self->certificate_file);
  self->certificate_file = g_strdup (certificate_file);
  g_free (self->key_file);
  self->key_file = g_strdup (key_file);
  wipe (&self->key_password);
  self->key_password = g_strdup (key_password);
}

/* A file in memory holding @text, named /proc/self/fd/N for libmosquitto (which, through
 * OpenSSL, reads certificates only from files); it never touches a disk. */
static int
pem_memfd (const gchar *name,
           const gchar *text,
           GError **error)
{
  gsize len = strlen (text);
  gsize done = 0;
  int fd = memfd_create (name, MFD_CLOEXEC);

  if (fd < 0)
    {
      int errsv = errno;
      g_set_error (error, HG_ERROR, HG_ERROR_FAILED, "memfd for %s: %s", name, g_strerror (errsv));
      return -1;
    }
  while (done < len)
    {
      gssize n = write (fd, text + done, len - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int errsv = errno;
          close (fd);
          g_set_error (error, HG_ERROR, HG_ERROR_FAILED, "memfd for %s: %s", name,
                       g_strerror (errsv));
          return -1;
        }
      done += (gsize) n;
    }
  return fd;
}

/**
 * hg_mqtt_client_set_tls_client_pem:
 * @self: a client, not started, whose TLS is on (hg_mqtt_client_set_tls() with a CA)
 * @certificate_pem: the client certificate, PEM
 * @key_pem: its private key, PEM (encrypted or not: the key password is the one given
 *   to hg_mqtt_client_set_tls())
 * @error: return location for a #GError
 *
 * Authenticates the client with a certificate held in memory (from the secret store)
 * instead of files; replaces the certificate and key files.
 *
 * Returns: %TRUE if set
 */
gboolean
hg_mqtt_client_set_tls_client_pem (HgMqttClient *self,
                                   const gchar *certificate_pem,
                                   const gchar *key_pem,
                                   GError **error)
{
  int fds[2];

  g_return_val_if_fail (HG_IS_MQTT_CLIENT (self), FALSE);
  g_return_val_if_fail (!self->started, FALSE);
  g_return_val_if_fail (certificate_pem != NULL && key_pem != NULL, FALSE);

  fds[0] = pem_memfd ("mqtt-tls-certificate", certificate_pem, error);
  if (fds[0] < 0)
    return FALSE;
  fds[1] = pem_memfd ("mqtt-tls-key", key_pem, error);
  if (fds[1] < 0)
    {
      close (fds[0]);
      return FALSE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    {
      if (self->pem_fds[i] >= 0)
        close (self->pem_fds[i]);
      self->pem_fds[i] = fds[i];
    }
  g_free (self->certificate_file);
  self->certificate_file = g_strdup_printf ("/proc/self/fd/%d", fds[0]);
  g_free (self->key_file);
  self->key_file = g_strdup_printf ("/proc/self/fd/%d", fds[1]);
  return TRUE;
}

void
hg_mqtt_client_set_reconnect_delays (HgMqttClient *self,
                                     guint first_ms,
                                     guint max_ms)
{
  self->first_delay_ms = MAX (first_ms, 1);
  self->max_delay_ms = MAX (max_ms, self->first_delay_ms);
}

void
hg_mqtt_client_set_subscriptions (HgMqttClient *self,
                                  const gchar *const *filters)
{
  g_strfreev (self->filters);
  self->filters = g_strdupv ((gchar **) filters);
}

void
hg_mqtt_client_set_message_func (HgMqttClient *self,
                                 HgMqttMessageFunc func,
                                 gpointer user_data)
{
  self->message_func = func;
  self->message_data = user_data;
}

gboolean
hg_mqtt_client_get_connected (HgMqttClient *self)
{
  return self->connected;
}

/* Returns: %TRUE once messages on every subscribed topic will arrive */
gboolean
hg_mqtt_client_get_subscribed (HgMqttClient *self)
{
  return self->subscribed;
}

/* Returns: how many times the broker accepted a connection */
guint
hg_mqtt_client_get_n_connects (HgMqttClient *self)
{
  return self->n_connects;
}

/* Returns: how many connection attempts failed or connections were lost */
guint
hg_mqtt_client_get_n_failures (HgMqttClient *self)
{
  return self->n_failures;
}
