/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HG_ERROR, registered as D-Bus error names so it survives the host <-> core hop. */
#include "config.h"

#include <gio/gio.h>

#include "hg-error.h"

static const GDBusErrorEntry hg_error_entries[] = {
  { HG_ERROR_FAILED, "org.hemgate.Error.Failed" },
  { HG_ERROR_INVALID_DATA, "org.hemgate.Error.InvalidData" },
  { HG_ERROR_PERMISSION_DENIED, "org.hemgate.Error.PermissionDenied" },
  { HG_ERROR_NOT_FOUND, "org.hemgate.Error.NotFound" },
  { HG_ERROR_NOT_SUPPORTED, "org.hemgate.Error.NotSupported" },
  { HG_ERROR_UNAVAILABLE, "org.hemgate.Error.Unavailable" },
  { HG_ERROR_TIMED_OUT, "org.hemgate.Error.TimedOut" },
  { HG_ERROR_ILLEGAL_TRANSITION, "org.hemgate.Error.IllegalTransition" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (hg_error_entries) == HG_ERROR_LAST);

/**
 * hg_error_quark:
 *
 * The error domain of #HgError, registered with GDBus so that an error keeps its domain
 * and code across the plugin host's D-Bus connection.
 *
 * Returns: the #GQuark of %HG_ERROR; its codes map to `org.hemgate.Error.*` on D-Bus
 *
 * Since: 1.0
 */
GQuark
hg_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("hemgate-error-quark", &quark, hg_error_entries,
                                      G_N_ELEMENTS (hg_error_entries));
  return (GQuark) quark;
}

/**
 * hg_error_to_string:
 * @code: an #HgError
 *
 * Names @code as it travels on D-Bus.
 *
 * Returns: the stable D-Bus name of @code, e.g. `org.hemgate.Error.InvalidData`
 *
 * Since: 1.0
 */
const gchar *
hg_error_to_string (HgError code)
{
  if (code >= HG_ERROR_LAST)
    return hg_error_entries[HG_ERROR_FAILED].dbus_error_name;
  return hg_error_entries[code].dbus_error_name;
}
