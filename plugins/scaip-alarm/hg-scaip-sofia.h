/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Sofia-SIP headers the plugin and the simulator use, in one place: they test
 * undefined macros with #if, which -Wundef reports, so that one warning is silenced here
 * and nowhere else. */
#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wundef"
#include <sofia-sip/auth_digest.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_glib.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_tag_io.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/url.h>
#pragma GCC diagnostic pop

/* The transport layer's log (exported by libsofia-sip-ua, not declared in its headers):
 * its TLS certificate checks are logged there at level 3. */
extern su_log_t tport_log[];
