/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HgdSandbox: what the operating system keeps a plugin host from: its domain's own user,
 * new mount, PID, IPC and UTS namespaces (and network, without net.connect), a read-only
 * system with only its own state and runtime directories writable, only the devices its
 * capabilities name, a seccomp allow-list (the system-service call set) and no new
 * privileges. Prepared in hemgated before
 * the spawn, applied in the child between fork and exec. */
#pragma once

#include <sys/types.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <hemgate-plugin.h>

#include "hgd-config.h"

G_BEGIN_DECLS

typedef enum
{
  HGD_SANDBOX_MODE_AUTO,     /* all as root, what it can otherwise */
  HGD_SANDBOX_MODE_REQUIRED, /* all, or the host is not started */
  HGD_SANDBOX_MODE_OFF,
} HgdSandboxMode;

/* The system user of a domain's plugin hosts, created by sysusers.d/hemgate.conf */
#define HGD_SANDBOX_USER_MUNICIPAL "hemgate-municipal"
#define HGD_SANDBOX_USER_PERSONAL "hemgate-personal"

typedef struct _HgdSandbox HgdSandbox;

gboolean hgd_sandbox_mode_from_string (const gchar *text,
                                       HgdSandboxMode *mode);
const gchar *hgd_sandbox_domain_user (HgDomain domain);

HgdSandbox *hgd_sandbox_new (HgdConfig *config,
                             HgDomain domain,
                             const gchar *instance_id,
                             const gchar *const *grant,
                             const gchar *state_root,
                             const gchar *plugin_dir,
                             const gchar *const *devices,
                             GError **error);
void hgd_sandbox_free (HgdSandbox *sandbox);
void hgd_sandbox_set_first (HgdSandbox *sandbox,
                            GSpawnChildSetupFunc func,
                            gpointer user_data);
void hgd_sandbox_apply (HgdSandbox *sandbox,
                        GSubprocessLauncher *launcher);
const gchar *hgd_sandbox_get_state_dir (HgdSandbox *sandbox);
uid_t hgd_sandbox_get_uid (HgdSandbox *sandbox);
gboolean hgd_sandbox_is_full (HgdSandbox *sandbox);
GPid hgd_sandbox_find_host_pid (GPid outer);

void hgd_sandbox_lower_privileges (void);
void hgd_sandbox_privileges_raise (void);
void hgd_sandbox_privileges_lower (void);

JsonObject *hgd_sandbox_status_to_json (HgdConfig *config,
                                        gchar **warning);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgdSandbox, hgd_sandbox_free)

G_END_DECLS
