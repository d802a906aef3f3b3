/* SPDX-License-Identifier: LGPL-2.1-or-later */
void hgd_thing_do_async (void *self, void *cb, void *data);
