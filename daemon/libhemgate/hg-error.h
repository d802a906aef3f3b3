/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HG_ERROR: the one error domain plugins see, stable across the D-Bus hop. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * HgError:
 * @HG_ERROR_FAILED: a generic failure; the message says what
 * @HG_ERROR_INVALID_DATA: input was malformed or out of range
 * @HG_ERROR_PERMISSION_DENIED: the plugin's grant does not cover the call
 * @HG_ERROR_NOT_FOUND: the thing asked for does not exist
 * @HG_ERROR_NOT_SUPPORTED: the core does not offer this
 * @HG_ERROR_UNAVAILABLE: a subsystem is down (e.g. a journal); try again later
 * @HG_ERROR_TIMED_OUT: the operation took too long
 * @HG_ERROR_ILLEGAL_TRANSITION: the alarm's life cycle has no such step for the caller,
 *   e.g. a report of a state the alarm has left behind.
 *
 * Errors returned to plugins by #HgContext.
 *
 * Since: 1.0
 */
typedef enum
{
  HG_ERROR_FAILED,
  HG_ERROR_INVALID_DATA,
  HG_ERROR_PERMISSION_DENIED,
  HG_ERROR_NOT_FOUND,
  HG_ERROR_NOT_SUPPORTED,
  HG_ERROR_UNAVAILABLE,
  HG_ERROR_TIMED_OUT,
  HG_ERROR_ILLEGAL_TRANSITION,
  /*< private >*/
  HG_ERROR_LAST
} HgError;

#define HG_ERROR (hg_error_quark ())

GQuark hg_error_quark (void);
const gchar *hg_error_to_string (HgError code);

G_END_DECLS
