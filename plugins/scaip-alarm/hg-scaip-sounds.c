/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgScaipSounds: plays the plugin's feedback sounds, one at a time and in order, each in
 * its own playbin whose audio sink is the configured description. A sound is
 * `<dir>/<name>.oga` for the tone and `<dir>/<language>/<name>.oga` for a spoken message,
 * falling back to English. Each played sound is a log line ("sound sv/alarm-sent.oga
 * played for alarm REF"), which is also how the tests follow them; a sound that cannot
 * be played is a warning and never holds up the alarm. */
#include <gst/gst.h>

#include "hg-scaip-sounds.h"

/* Sounds waiting beyond this are dropped, oldest first: feedback must stay current. */
#define MAX_QUEUED 6

typedef struct
{
  gchar *path; /* (owned) */
  gchar *name; /* (owned) relative to the directory, for logs */
  gchar *ref;  /* (owned) */
} Sound;

struct _HgScaipSounds
{
  GObject parent_instance;
  gchar *dir;      /* (owned) */
  gchar *language; /* (owned) */
  gchar *sink;     /* (owned) */
  GQueue queue;    /* (element-type Sound) */
  Sound *playing;  /* (owned) (nullable) */
  GstElement *playbin;
  guint bus_watch;
};

G_DEFINE_TYPE (HgScaipSounds, hg_scaip_sounds, G_TYPE_OBJECT)

static void
sound_free (Sound *sound)
{
  g_free (sound->path);
  g_free (sound->name);
  g_free (sound->ref);
  g_free (sound);
}

static void play_next (HgScaipSounds *self);

static void
stop_playing (HgScaipSounds *self)
{
  g_clear_handle_id (&self->bus_watch, g_source_remove);
  if (self->playbin != NULL)
    {
      gst_element_set_state (self->playbin, GST_STATE_NULL);
      g_clear_object (&self->playbin);
    }
  g_clear_pointer (&self->playing, sound_free);
}

static gboolean
next_cb (gpointer user_data)
{
  HgScaipSounds *self = user_data;

  stop_playing (self);
  play_next (self);
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

static gboolean
bus_cb (GstBus *bus, GstMessage *message, gpointer user_data)
{
  HgScaipSounds *self = user_data;

  switch (GST_MESSAGE_TYPE (message))
    {
    case GST_MESSAGE_EOS:
      g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "HG_ALARM_REF", self->playing->ref,
                        "MESSAGE", "sound %s played for alarm %s", self->playing->name,
                        self->playing->ref);
      break;
    case GST_MESSAGE_ERROR:
      {
        g_autoptr(GError) error = NULL;

        gst_message_parse_error (message, &error, NULL);
        g_warning ("sound %s for alarm %s not played: %s", self->playing->name, self->playing->ref,
                   error->message);
        break;
      }
    default:
      return G_SOURCE_CONTINUE;
    }
  /* not from inside the bus watch that the next step removes */
  self->bus_watch = 0;
  g_idle_add (next_cb, g_object_ref (self));
  return G_SOURCE_REMOVE;
}

static void
play_next (HgScaipSounds *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GstBus) bus = NULL;
  g_autofree gchar *uri = NULL;
  GstElement *sink;

  if (self->playing != NULL)
    return;
  self->playing = g_queue_pop_head (&self->queue);
  if (self->playing == NULL)
    return;
  sink = gst_parse_bin_from_description (self->sink, TRUE, &error);
  uri = g_filename_to_uri (self->playing->path, NULL, &error);
  if (sink == NULL || uri == NULL)
    {
      g_warning ("sound %s for alarm %s not played: %s", self->playing->name, self->playing->ref,
                 error->message);
      if (sink != NULL)
        gst_object_unref (gst_object_ref_sink (sink));
      g_clear_pointer (&self->playing, sound_free);
      play_next (self);
      return;
    }
  self->playbin = gst_element_factory_make ("playbin", NULL);
  if (self->playbin == NULL)
    {
      g_warning ("sound %s for alarm %s not played: no playbin (gst-plugins-base)",
                 self->playing->name, self->playing->ref);
      gst_object_unref (gst_object_ref_sink (sink));
      g_clear_pointer (&self->playing, sound_free);
      return;
    }
  gst_object_ref_sink (self->playbin);
  g_object_set (self->playbin, "uri", uri, "audio-sink", sink, NULL);
  bus = gst_element_get_bus (self->playbin);
  self->bus_watch = gst_bus_add_watch (bus, bus_cb, self);
  g_debug ("playing sound %s for alarm %s", self->playing->name, self->playing->ref);
  gst_element_set_state (self->playbin, GST_STATE_PLAYING);
}

/**
 * hg_scaip_sounds_play:
 * @self: an #HgScaipSounds
 * @name: `tone`, or a message: `alarm-sent`, `help-coming`, `alarm-cancelled`
 * @ref: the alarm it is about, for the log
 *
 * Queues the sound behind those still playing.
 */
void
hg_scaip_sounds_play (HgScaipSounds *self, const gchar *name, const gchar *ref)
{
  Sound *sound;
  g_autofree gchar *file = g_strconcat (name, ".oga", NULL);

  g_return_if_fail (HG_IS_SCAIP_SOUNDS (self));

  sound = g_new0 (Sound, 1);
  sound->ref = g_strdup (ref);
  if (g_strcmp0 (name, "tone") == 0)
    sound->name = g_strdup (file);
  else
    sound->name = g_build_filename (self->language, file, NULL);
  sound->path = g_build_filename (self->dir, sound->name, NULL);
  /* a language without its own recording speaks English rather than nothing */
  if (!g_file_test (sound->path, G_FILE_TEST_IS_REGULAR) && g_strcmp0 (name, "tone") != 0)
    {
      g_free (sound->name);
      g_free (sound->path);
      sound->name = g_build_filename ("en", file, NULL);
      sound->path = g_build_filename (self->dir, sound->name, NULL);
    }
  g_queue_push_tail (&self->queue, sound);
  while (g_queue_get_length (&self->queue) > MAX_QUEUED)
    {
      Sound *old = g_queue_pop_head (&self->queue);

      g_message ("sound %s for alarm %s dropped: too many waiting", old->name, old->ref);
      sound_free (old);
    }
  play_next (self);
}

static void
hg_scaip_sounds_dispose (GObject *object)
{
  HgScaipSounds *self = HG_SCAIP_SOUNDS (object);

  stop_playing (self);
  g_queue_clear_full (&self->queue, (GDestroyNotify)sound_free);
  G_OBJECT_CLASS (hg_scaip_sounds_parent_class)->dispose (object);
}

static void
hg_scaip_sounds_finalize (GObject *object)
{
  HgScaipSounds *self = HG_SCAIP_SOUNDS (object);

  g_free (self->dir);
  g_free (self->language);
  g_free (self->sink);
  G_OBJECT_CLASS (hg_scaip_sounds_parent_class)->finalize (object);
}

static void
hg_scaip_sounds_class_init (HgScaipSoundsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hg_scaip_sounds_dispose;
  object_class->finalize = hg_scaip_sounds_finalize;
}

static void
hg_scaip_sounds_init (HgScaipSounds *self)
{
  g_queue_init (&self->queue);
}

/**
 * hg_scaip_sounds_new:
 * @dir: the sound directory (data/sounds/ as installed)
 * @language: the subdirectory of spoken messages, e.g. `sv`
 * @sink: a gst-launch description of the speaker, e.g. `autoaudiosink`
 *
 * Returns: (transfer full): the player; nothing is opened until the first sound
 */
HgScaipSounds *
hg_scaip_sounds_new (const gchar *dir, const gchar *language, const gchar *sink)
{
  HgScaipSounds *self = g_object_new (HG_TYPE_SCAIP_SOUNDS, NULL);

  if (!gst_is_initialized ())
    gst_init (NULL, NULL);
  self->dir = g_strdup (dir);
  self->language = g_strdup (language);
  self->sink = g_strdup (sink);
  return self;
}
