/* SPDX-License-Identifier: LGPL-2.1-or-later */
void f (void) { g_error ("boom"); }
