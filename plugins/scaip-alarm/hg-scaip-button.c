/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgScaipButton: reads `struct input_event` records from an evdev device node (e.g.
 * /dev/input/by-id/usb-...-event-kbd) without a thread: the node is opened O_NONBLOCK and
 * watched with g_unix_fd_add (); each readable moment drains what is there, keeping a
 * partial record for the next. An EV_KEY event of the configured code with value 1 (a
 * press; 0 is the release, 2 the key repeat) is a press; presses closer than the debounce
 * window to the last accepted one are dropped, so a bouncing contact or an anxious
 * second press makes one alarm. A node that is missing or goes away (USB unplugged) is
 * logged once and opened again every few seconds.
 *
 * A FIFO works as the node too (the tests write records into one): it is opened
 * read-write, so that it has a writer and never reads end-of-file. */
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <linux/input.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hg-scaip-button.h"

#define REOPEN_SECONDS 5

struct _HgScaipButton
{
  GObject parent_instance;
  gchar *path; /* (owned) */
  guint key_code;
  gint64 debounce_usec;

  gint fd; /* -1 while closed */
  guint watch_id;
  guint reopen_id;
  gboolean missing_logged;
  guint8 partial[sizeof (struct input_event)];
  gsize n_partial;
  gint64 last_press; /* monotonic, of the last accepted press; 0: none */
};

G_DEFINE_TYPE (HgScaipButton, hg_scaip_button, G_TYPE_OBJECT)

enum
{
  SIGNAL_PRESSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void schedule_reopen (HgScaipButton *self);

static void
close_device (HgScaipButton *self)
{
  g_clear_handle_id (&self->watch_id, g_source_remove);
  if (self->fd >= 0)
    g_close (self->fd, NULL);
  self->fd = -1;
  self->n_partial = 0;
}

static void
handle_event (HgScaipButton *self, const struct input_event *event)
{
  gint64 now;

  if (event->type != EV_KEY || event->code != self->key_code || event->value != 1)
    return;
  now = g_get_monotonic_time ();
  if (self->last_press != 0 && now - self->last_press < self->debounce_usec)
    {
      g_debug ("button %s: press of key %u within the debounce window ignored", self->path,
               self->key_code);
      return;
    }
  self->last_press = now;
  g_signal_emit (self, signals[SIGNAL_PRESSED], 0);
}

static gboolean
readable_cb (gint fd, GIOCondition condition, gpointer user_data)
{
  HgScaipButton *self = user_data;
  guint8 buffer[64 * sizeof (struct input_event)];

  for (;;)
    {
      gssize n = read (fd, buffer, sizeof buffer);
      gsize offset = 0;

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return G_SOURCE_CONTINUE;
      if (n <= 0)
        {
          /* ENODEV: unplugged; 0: the other end went away */
          g_warning ("button %s: %s; opening it again every %u s", self->path,
                     n < 0 ? g_strerror (errno) : "end of file", REOPEN_SECONDS);
          self->watch_id = 0;
          close_device (self);
          self->missing_logged = TRUE;
          schedule_reopen (self);
          return G_SOURCE_REMOVE;
        }
      while (offset < (gsize)n)
        {
          gsize take = MIN (sizeof self->partial - self->n_partial, (gsize)n - offset);

          memcpy (self->partial + self->n_partial, buffer + offset, take);
          self->n_partial += take;
          offset += take;
          if (self->n_partial == sizeof self->partial)
            {
              struct input_event event;

              memcpy (&event, self->partial, sizeof event);
              self->n_partial = 0;
              handle_event (self, &event);
            }
        }
    }
}

static gboolean
open_device (HgScaipButton *self)
{
  struct stat st;
  gint fd = g_open (self->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);

  if (fd >= 0 && fstat (fd, &st) == 0 && S_ISFIFO (st.st_mode))
    {
      g_close (fd, NULL);
      fd = g_open (self->path, O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
    }
  if (fd < 0)
    {
      if (!self->missing_logged)
        g_warning ("button %s cannot be opened: %s; trying again every %u s", self->path,
                   g_strerror (errno), REOPEN_SECONDS);
      self->missing_logged = TRUE;
      return FALSE;
    }
  self->fd = fd;
  self->watch_id = g_unix_fd_add (fd, G_IO_IN | G_IO_HUP | G_IO_ERR, readable_cb, self);
  g_message ("button %s ready (key %u)", self->path, self->key_code);
  self->missing_logged = FALSE;
  return TRUE;
}

static gboolean
reopen_cb (gpointer user_data)
{
  HgScaipButton *self = user_data;

  if (open_device (self))
    {
      self->reopen_id = 0;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
schedule_reopen (HgScaipButton *self)
{
  if (self->reopen_id == 0)
    self->reopen_id = g_timeout_add_seconds (REOPEN_SECONDS, reopen_cb, self);
}

/* Returns: whether the device is open and read */
gboolean
hg_scaip_button_is_ready (HgScaipButton *self)
{
  g_return_val_if_fail (HG_IS_SCAIP_BUTTON (self), FALSE);
  return self->fd >= 0;
}

/* Opens the device (or keeps trying) and starts reading. */
void
hg_scaip_button_start (HgScaipButton *self)
{
  g_return_if_fail (HG_IS_SCAIP_BUTTON (self));

  if (self->fd >= 0 || self->reopen_id != 0)
    return;
  if (!open_device (self))
    schedule_reopen (self);
}

static void
hg_scaip_button_dispose (GObject *object)
{
  HgScaipButton *self = HG_SCAIP_BUTTON (object);

  g_clear_handle_id (&self->reopen_id, g_source_remove);
  close_device (self);
  G_OBJECT_CLASS (hg_scaip_button_parent_class)->dispose (object);
}

static void
hg_scaip_button_finalize (GObject *object)
{
  HgScaipButton *self = HG_SCAIP_BUTTON (object);

  g_free (self->path);
  G_OBJECT_CLASS (hg_scaip_button_parent_class)->finalize (object);
}

static void
hg_scaip_button_class_init (HgScaipButtonClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hg_scaip_button_dispose;
  object_class->finalize = hg_scaip_button_finalize;

  /**
   * HgScaipButton::pressed:
   *
   * The key was pressed, outside the debounce window.
   */
  signals[SIGNAL_PRESSED] = g_signal_new ("pressed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
hg_scaip_button_init (HgScaipButton *self)
{
  self->fd = -1;
}

/**
 * hg_scaip_button_new:
 * @path: the evdev node, e.g. /dev/input/by-id/usb-Vendor_Panic-event-kbd
 * @key_code: the key's code (linux/input-event-codes.h; `evtest` shows it)
 * @debounce_ms: presses closer than this to the last accepted one are dropped
 *
 * Returns: (transfer full): the button; it reads nothing before hg_scaip_button_start ()
 */
HgScaipButton *
hg_scaip_button_new (const gchar *path, guint key_code, guint debounce_ms)
{
  HgScaipButton *self = g_object_new (HG_TYPE_SCAIP_BUTTON, NULL);

  self->path = g_strdup (path);
  self->key_code = key_code;
  self->debounce_usec = (gint64)debounce_ms * 1000;
  return self;
}
