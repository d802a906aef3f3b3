/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Talks to systemd over $NOTIFY_SOCKET. The watchdog pings from the main loop every half
 * WATCHDOG_USEC, so a blocked main loop (the alarm path) is what systemd notices. */
#include "config.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <unistd.h>

#include "hgd-systemd.h"

/**
 * hgd_systemd_notify:
 * @state: e.g. `READY=1` or `STATUS=running`
 * @error: return location for a #GError
 *
 * Does nothing and succeeds when $NOTIFY_SOCKET is unset (not under systemd).
 *
 * Returns: %TRUE if sent or not needed
 */
gboolean
hgd_systemd_notify (const gchar *state,
                    GError **error)
{
  const gchar *path = g_getenv ("NOTIFY_SOCKET");
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  gssize sent;

  g_return_val_if_fail (state != NULL, FALSE);

  if (path == NULL || path[0] == '\0')
    return TRUE;
  if (path[0] == '@')
    address = g_unix_socket_address_new_with_type (path + 1, -1, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  else if (path[0] == '/')
    address = g_unix_socket_address_new (path);
  else
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "NOTIFY_SOCKET '%s' is neither a path nor an abstract socket", path);
      return FALSE;
    }
  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_DEFAULT, error);
  if (socket == NULL)
    return FALSE;
  sent = g_socket_send_to (socket, address, state, strlen (state), NULL, error);
  if (sent < 0)
    {
      g_prefix_error (error, "notify %s: ", path);
      return FALSE;
    }
  return TRUE;
}

struct _HgdWatchdog
{
  GObject parent_instance;
  guint64 interval; /* microseconds between pings; 0 when disabled */
  guint timeout_id;
};

G_DEFINE_TYPE (HgdWatchdog, hgd_watchdog, G_TYPE_OBJECT)

static gboolean
watchdog_ping_cb (gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!hgd_systemd_notify ("WATCHDOG=1", &error))
    g_warning ("watchdog ping failed: %s", error->message);
  return G_SOURCE_CONTINUE;
}

static void
hgd_watchdog_dispose (GObject *object)
{
  HgdWatchdog *self = HGD_WATCHDOG (object);

  g_clear_handle_id (&self->timeout_id, g_source_remove);
  G_OBJECT_CLASS (hgd_watchdog_parent_class)->dispose (object);
}

static void
hgd_watchdog_class_init (HgdWatchdogClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = hgd_watchdog_dispose;
}

static void
hgd_watchdog_init (HgdWatchdog *self)
{
  const gchar *usec = g_getenv ("WATCHDOG_USEC");
  const gchar *pid = g_getenv ("WATCHDOG_PID");
  guint64 value = 0;

  if (usec == NULL || !g_ascii_string_to_unsigned (usec, 10, 1, G_MAXUINT64, &value, NULL))
    return;
  if (pid != NULL && g_ascii_strtoull (pid, NULL, 10) != (guint64) getpid ())
    return;
  self->interval = value / 2;
  self->timeout_id = g_timeout_add (MAX (self->interval / 1000, 1), watchdog_ping_cb, self);
  g_debug ("watchdog: pinging every %" G_GUINT64_FORMAT " ms", self->interval / 1000);
}

/**
 * hgd_watchdog_new:
 *
 * Starts pinging if systemd asked for a watchdog through $WATCHDOG_USEC.
 *
 * Returns: (transfer full): a new #HgdWatchdog; it stops when finalized
 */
HgdWatchdog *
hgd_watchdog_new (void)
{
  return g_object_new (HGD_TYPE_WATCHDOG, NULL);
}

/**
 * hgd_watchdog_get_interval:
 * @self: an #HgdWatchdog
 *
 * Returns: the ping interval in microseconds, 0 when there is no watchdog
 */
guint64
hgd_watchdog_get_interval (HgdWatchdog *self)
{
  g_return_val_if_fail (HGD_IS_WATCHDOG (self), 0);
  return self->interval;
}
