/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: SCAIP documents from the network (hg_scaip_response_parse, as the plugin
 * reads an ARC's <mrs>; hg_scaip_request_parse, as the simulator reads an <mrq>). What is
 * accepted and can be written again must read back the same. */
#include "config.h"

#include "hg-scaip-codec.h"

#include "fuzz.h"

static void
check_response (const gchar *data,
                gsize size)
{
  g_autoptr(HgScaipResponse) response = hg_scaip_response_parse (data, size, NULL);
  g_autoptr(HgScaipResponse) again = NULL;
  g_autofree gchar *xml = NULL;

  if (response == NULL)
    return;
  g_assert_true (hg_scaip_ref_is_valid (response->ref));
  g_assert_cmpuint (response->snu, <=, 999);
  xml = hg_scaip_response_to_xml (response, NULL);
  if (xml == NULL)
    return; /* e.g. a <ste> that is not ASCII: read liberally, never written */
  again = hg_scaip_response_parse (xml, strlen (xml), NULL);
  g_assert_nonnull (again);
  g_assert_cmpstr (again->ref, ==, response->ref);
  g_assert_cmpuint (again->snu, ==, response->snu);
  g_assert_cmpint (again->mre, ==, response->mre);
  g_assert_cmpint (again->hbi, ==, response->hbi);
  g_assert_cmpuint (again->tnu->len, ==, response->tnu->len);
}

static void
check_request (const gchar *data,
               gsize size)
{
  g_autoptr(HgScaipRequest) request = hg_scaip_request_parse (data, size, NULL);
  g_autoptr(HgScaipRequest) again = NULL;
  g_autofree gchar *xml = NULL;

  if (request == NULL)
    return;
  xml = hg_scaip_request_to_xml (request, NULL);
  if (xml == NULL)
    return; /* the liberal reader accepts what the strict writer refuses */
  again = hg_scaip_request_parse (xml, strlen (xml), NULL);
  g_assert_nonnull (again);
  g_assert_cmpstr (again->ref, ==, request->ref);
  g_assert_cmpint (again->mty, ==, request->mty);
  g_assert_cmpstr (again->cid, ==, request->cid);
  g_assert_cmpint (again->dty, ==, request->dty);
  g_assert_cmpint (again->stc, ==, request->stc);
  g_assert_cmpint (again->lco, ==, request->lco);
  g_assert_cmpuint (again->crd->len, ==, request->crd->len);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fuzz_setup ();
  if (size > FUZZ_MAX_INPUT)
    return 0;
  check_response ((const gchar *) data, size);
  check_request ((const gchar *) data, size);
  return 0;
}
