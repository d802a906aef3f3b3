/* SPDX-License-Identifier: LGPL-2.1-or-later */
const char *s (void) { return _("Hello"); }
