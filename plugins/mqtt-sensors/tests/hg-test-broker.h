/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgTestBroker: a real mosquitto on 127.0.0.1 and a free port, started and stopped by a
 * test, and mosquitto_pub to publish to it. */
#pragma once

#include <gio/gio.h>

#include "hg-test-support.h"

G_BEGIN_DECLS

typedef struct
{
  gchar *dir;    /* (owned) its configuration, removed by free */
  gchar *config; /* (owned) path of mosquitto.conf */
  guint16 port;
  GSubprocess *process; /* (owned) (nullable) while running */
} HgTestBroker;

HgTestBroker *hg_test_broker_new (const gchar *extra_config);
void hg_test_broker_stop (HgTestBroker *broker);
void hg_test_broker_start (HgTestBroker *broker);
void hg_test_broker_free (HgTestBroker *broker);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgTestBroker, hg_test_broker_free)

void hg_test_broker_publish (HgTestBroker *broker,
                             const gchar *topic,
                             const gchar *payload,
                             gboolean retain);
void hg_test_broker_publish_lines (HgTestBroker *broker,
                                   const gchar *topic,
                                   const gchar *lines,
                                   gboolean retain);
void hg_test_broker_clear_retained (HgTestBroker *broker,
                                    const gchar *topic);

GSubprocess *hg_test_spawn (GSubprocessFlags flags,
                            const gchar *const *argv,
                            GError **error);

G_END_DECLS
