/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one header a hemgate plugin includes. */
#pragma once

#define __HEMGATE_PLUGIN_H_INSIDE__

#include "hg-alarm.h"
#include "hg-capability.h"
#include "hg-config.h"
#include "hg-context.h"
#include "hg-domain.h"
#include "hg-enum-types.h"
#include "hg-error.h"
#include "hg-event.h"
#include "hg-json.h"
#include "hg-plugin.h"
#include "hg-test-context.h"

#undef __HEMGATE_PLUGIN_H_INSIDE__
