/* SPDX-License-Identifier: LGPL-2.1-or-later */
int f (int x) { if (x) goto out; return 1; out: return 0; }
