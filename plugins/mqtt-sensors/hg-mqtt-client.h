/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgMqttClient: a libmosquitto client driven by the GLib main loop, reconnecting with
 * backoff and subscribing again after every connect. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  HG_MQTT_PROTOCOL_V311,
  HG_MQTT_PROTOCOL_V5,
} HgMqttProtocol;

/* Called for every message, on the main loop; @payload is not nul-terminated. */
typedef void (*HgMqttMessageFunc) (const gchar *topic,
                                   const gchar *payload,
                                   gsize length,
                                   gboolean retained,
                                   gpointer user_data);

#define HG_TYPE_MQTT_CLIENT (hg_mqtt_client_get_type ())
G_DECLARE_FINAL_TYPE (HgMqttClient, hg_mqtt_client, HG, MQTT_CLIENT, GObject)

HgMqttClient *hg_mqtt_client_new (const gchar *client_id,
                                  const gchar *host,
                                  guint16 port);
void hg_mqtt_client_set_protocol (HgMqttClient *self,
                                  HgMqttProtocol protocol);
void hg_mqtt_client_set_keepalive (HgMqttClient *self,
                                   guint seconds);
void hg_mqtt_client_set_credentials (HgMqttClient *self,
                                     const gchar *username,
                                     const gchar *password);
void hg_mqtt_client_set_tls (HgMqttClient *self,
                             const gchar *ca_file,
                             const gchar *certificate_file,
                             const gchar *key_file,
                             const gchar *key_password);
gboolean hg_mqtt_client_set_tls_client_pem (HgMqttClient *self,
                                            const gchar *certificate_pem,
                                            const gchar *key_pem,
                                            GError **error);
void hg_mqtt_client_set_reconnect_delays (HgMqttClient *self,
                                          guint first_ms,
                                          guint max_ms);
void hg_mqtt_client_set_subscriptions (HgMqttClient *self,
                                       const gchar *const *filters);
void hg_mqtt_client_set_message_func (HgMqttClient *self,
                                      HgMqttMessageFunc func,
                                      gpointer user_data);
gboolean hg_mqtt_client_start (HgMqttClient *self,
                               GError **error);
void hg_mqtt_client_stop (HgMqttClient *self);
gboolean hg_mqtt_client_get_connected (HgMqttClient *self);
gboolean hg_mqtt_client_get_subscribed (HgMqttClient *self);
guint hg_mqtt_client_get_n_connects (HgMqttClient *self);
guint hg_mqtt_client_get_n_failures (HgMqttClient *self);

G_END_DECLS
