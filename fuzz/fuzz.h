/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What every fuzz target shares: the libFuzzer entry point and a log writer that turns any
 * warning or critical into a crash, so a fuzzer reports it. */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

/* The largest input a target looks at; what the core accepts is far smaller. */
#define FUZZ_MAX_INPUT (256 * 1024)

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t size);

void fuzz_setup (void);

G_END_DECLS
