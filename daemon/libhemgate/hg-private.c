/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hg__private__ (): the table of what libhemgate gives the core and the host only. */
#include "config.h"

#include "hg-alarm-private.h"
#include "hg-event-private.h"
#include "hg-private.h"

static const HgPrivateVTable hg_private_vtable = {
  .alarm_set_reference = hg_alarm_set_reference,
  .alarm_set_state = hg_alarm_set_state,
  .alarm_set_source = hg_alarm_set_source,
  .alarm_set_times = hg_alarm_set_times,
  .alarm_get_raised_time = hg_alarm_get_raised_time,
  .alarm_get_updated_time = hg_alarm_get_updated_time,
  .event_set_domain = hg_event_set_domain,
  .event_set_seq = hg_event_set_seq,
  .event_set_timestamp = hg_event_set_timestamp,
  .event_set_source = hg_event_set_source,
  .event_new_from_json = hg_event_new_from_json,
};

/* Not in the API reference: exported for the core and the host, declared only in the
 * uninstalled hg-private.h. */
const HgPrivateVTable *
hg__private__ (void)
{
  return &hg_private_vtable;
}
