/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HG_CAPABILITY_*: the names of the capabilities a plugin asks for in its manifest.json and
 * tests with hg_context_has_capability (). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * HG_CAPABILITY_ALARM_RAISE:
 *
 * Raise social alarms (hg_context_raise_alarm_async ()). May be granted in either domain;
 * every alarm goes to the municipal journal and the alarm centre.
 *
 * Since: 1.0
 */
#define HG_CAPABILITY_ALARM_RAISE "alarm.raise"

/**
 * HG_CAPABILITY_ALARM_DELIVER:
 *
 * Deliver alarms to an alarm centre: the plugin is sent `alarm.raised`, `alarm.cancelled`
 * and `alarm.closed` of the municipal journal (not the steps it reports itself), is
 * offered every open alarm again when its host starts, and reports each alarm's delivery
 * steps (hg_context_report_alarm_async ()). May be granted in the municipal domain only.
 *
 * Since: 1.0
 */
#define HG_CAPABILITY_ALARM_DELIVER "alarm.deliver"

/**
 * HG_CAPABILITY_SENSOR_PUBLISH:
 *
 * Publish `sensor.*` events (hg_context_publish_event_async ()) into the instance's
 * domain.
 *
 * Since: 1.0
 */
#define HG_CAPABILITY_SENSOR_PUBLISH "sensor.publish"

/**
 * HG_CAPABILITY_SENSOR_SUBSCRIBE:
 *
 * Be sent the `sensor.*` events of the instance's own domain, except those it published
 * itself; a municipal instance also the `sensor.reading` events of the resident's devices
 * while the resident shares them with the municipality (a share-readings consent grant),
 * each such read recorded in the resident's access log. Such an event's domain
 * (hg_event_get_domain ()) is personal.
 *
 * Since: 1.0
 */
#define HG_CAPABILITY_SENSOR_SUBSCRIBE "sensor.subscribe"

/**
 * HG_CAPABILITY_MEDIA_CAMERA:
 *
 * Use the gateway's cameras. Declared so that IT sees it; the core grants no call for it.
 *
 * Since: 1.0
 */
#define HG_CAPABILITY_MEDIA_CAMERA "media.camera"

/**
 * HG_CAPABILITY_MEDIA_MICROPHONE:
 *
 * Use the gateway's microphone and loudspeaker, e.g. for a voice call with the alarm
 * centre. Declared so that IT sees it; the core grants no call for it.
 *
 * Since: 1.0
 */
#define HG_CAPABILITY_MEDIA_MICROPHONE "media.microphone"

/**
 * HG_CAPABILITY_SECRETS:
 *
 * Store and look up the instance's own secrets (hg_context_lookup_secret_async (),
 * hg_context_store_secret_async ()), kept in its own domain.
 *
 * Since: 1.0
 */
#define HG_CAPABILITY_SECRETS "secrets"

/**
 * HG_CAPABILITY_NET_CONNECT_PREFIX:
 *
 * The start of a capability that names one network peer the plugin may connect to:
 * `net.connect:HOST:PORT`, with a DNS name, an IPv4 address or a bracketed IPv6 address,
 * and a port from 1 to 65535, e.g. `net.connect:[2001:db8::1]:8883`.
 *
 * Since: 1.0
 */
#define HG_CAPABILITY_NET_CONNECT_PREFIX "net.connect:"

/**
 * HG_CAPABILITY_CHANNEL_SERVE:
 *
 * Serve channels: API clients open a channel to the instance and exchange JSON messages
 * with it (#HgContext::channel-opened, #HgContext::channel-message,
 * hg_context_channel_send ()), e.g. the signalling of a video call. The core lets staff,
 * the resident and the guardian open one, never family, IT, service accounts or the
 * auditor, and staff only to an instance of the municipal domain; it journals each
 * opening (`channel.opened`: who, which instance) and each close (`channel.closed`).
 *
 * Since: 1.1
 */
#define HG_CAPABILITY_CHANNEL_SERVE "channel.serve"

/**
 * HG_CAPABILITY_VISIT_PUBLISH:
 *
 * Publish `visit.*` events into the municipal journal: the record of each care visit or
 * camera check (who, when, how long, outcome). Municipal instances only.
 *
 * Since: 1.1
 */
#define HG_CAPABILITY_VISIT_PUBLISH "visit.publish"

G_END_DECLS
