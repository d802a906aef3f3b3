/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgScaipConfig: the scaip-alarm plugin's configuration, every key read from an HgConfig
 * and checked at once (README.md, "Configuration"), before anything starts. */
#pragma once

#include <hemgate-plugin.h>

#include "hg-scaip-delivery.h"
#include "hg-scaip-media.h"

G_BEGIN_DECLS

/* Who sets up the voice call once the ARC asks for it (PROTOCOL.md §9). */
typedef enum
{
  HG_SCAIP_VOICE_OFF,
  HG_SCAIP_VOICE_ANSWER, /* the ARC calls; an alarm awaiting voice auto-answers */
  HG_SCAIP_VOICE_CALL,   /* the gateway calls the receiver that acknowledged (the default) */
} HgScaipVoiceMode;

typedef struct
{
  gchar *aor;                   /* (owned) */
  gchar *auth_user;             /* (owned) (nullable) */
  gchar *primary;               /* (owned) */
  gchar *secondary;             /* (owned) (nullable) */
  gchar *controller_id;         /* (owned) */
  GStrv caller_ids;             /* (owned) */
  gchar *local_uri;             /* (owned) */
  gchar *path2_local_uri;       /* (owned) (nullable) the second network path */
  gchar *path2_primary;         /* (owned) (nullable) set exactly with path2_local_uri */
  gchar *path2_secondary;       /* (owned) (nullable) */
  gchar *tls_dir;               /* (owned) (nullable) only with TLS receivers */
  gchar *demo_password;         /* (owned) (nullable) */
  HgScaipDeliveryConfig timers; /* strings are NULL here; filled at start */
  HgScaipVoiceMode voice;
  guint voice_window;  /* seconds after the acknowledgement a call is taken */
  GStrv voice_callers; /* (owned) (nullable) hosts whose calls are taken; NULL: the receivers' */
  gchar *audio_source; /* (owned) */
  gchar *audio_sink;   /* (owned) */
  gchar *codecs;       /* (owned) */
  HgScaipSrtp srtp;
  gchar *media_address; /* (owned) (nullable) */
  gboolean sounds;
  gchar *sound_language; /* (owned) */
  gchar *sound_dir;      /* (owned) */
  gchar *sound_sink;     /* (owned) */
  gchar *button_device;  /* (owned) (nullable) */
  guint button_key;
  guint button_debounce;  /* ms */
  gchar *button_type;     /* (owned) */
  gchar *button_location; /* (owned) (nullable) */
  gchar *button_name;     /* (owned) (nullable) without button-device */
} HgScaipConfig;

HgScaipConfig *hg_scaip_config_new (HgConfig *config, GError **error);
HgScaipConfig *hg_scaip_config_ref (HgScaipConfig *self);
void hg_scaip_config_unref (HgScaipConfig *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgScaipConfig, hg_scaip_config_unref)

G_END_DECLS
