/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* a goto in a comment does not count */
int f (int x) { return x; }
