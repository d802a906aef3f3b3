/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The SCAIP codec: <mrq> and <mrs> to and from XML, strict when writing and liberal when
 * reading, and the one table that maps a hemgate alarm to SCAIP codes. */
#pragma once

#include <hemgate-plugin.h>

G_BEGIN_DECLS

#define HG_SCAIP_CODEC_ERROR (hg_scaip_codec_error_quark ())
GQuark hg_scaip_codec_error_quark (void);

/**
 * HgScaipCodecError:
 * @HG_SCAIP_CODEC_ERROR_TOO_LARGE: the document exceeds the size limit
 * @HG_SCAIP_CODEC_ERROR_MALFORMED: not well-formed XML, or nesting where a value belongs
 * @HG_SCAIP_CODEC_ERROR_WRONG_ROOT: the root element is not the one expected
 * @HG_SCAIP_CODEC_ERROR_MISSING_FIELD: a mandatory field is absent
 * @HG_SCAIP_CODEC_ERROR_INVALID_FIELD: a field breaks its length or character set, or
 *   appears twice where it may appear once
 */
typedef enum
{
  HG_SCAIP_CODEC_ERROR_TOO_LARGE,
  HG_SCAIP_CODEC_ERROR_MALFORMED,
  HG_SCAIP_CODEC_ERROR_WRONG_ROOT,
  HG_SCAIP_CODEC_ERROR_MISSING_FIELD,
  HG_SCAIP_CODEC_ERROR_INVALID_FIELD,
} HgScaipCodecError;

/* The largest <mrs> (or <mrq>, in the simulator) the codec parses. */
#define HG_SCAIP_MAX_DOCUMENT 4096
/* SS 91100 Table 1: a request above this would have to be split with <ame>. */
#define HG_SCAIP_MAX_REQUEST 1300

/* A field left out of a message; the standard's default applies. */
#define HG_SCAIP_OMITTED (-1)

typedef enum
{
  HG_SCAIP_MTY_ME, /* message (alarm or event) */
  HG_SCAIP_MTY_RE, /* reset: abort the session */
  HG_SCAIP_MTY_IN, /* information update */
  HG_SCAIP_MTY_PI, /* heartbeat */
} HgScaipMessageType;

const gchar *hg_scaip_message_type_to_string (HgScaipMessageType mty);

/**
 * HgScaipRequest:
 *
 * A Message Request, `<mrq>`. Integer codes are %HG_SCAIP_OMITTED when left out.
 */
typedef struct
{
  gchar *ref; /* (owned) 1-16 of [0-9A-Za-z] */
  gint cha;   /* call handling: 0 normal, 1 callback requested, or omitted */
  HgScaipMessageType mty;
  gint hbo;       /* heartbeat options: 0, 1 (sent as 001: the ARC may set hbi), or omitted */
  gchar *cid;     /* (owned) 1-32 digits */
  gint dty;       /* 0-9999, mandatory */
  gchar *did;     /* (owned) (nullable) printable ASCII, 1-16 */
  GPtrArray *crd; /* (owned) (element-type utf8) one per medium, 1-256 each */
  gint stc;       /* 0-9999 or omitted */
  gint pri;       /* 0-9 or omitted */
  gint lco;       /* 0-999 or omitted */
  gchar *lte;     /* (owned) (nullable) UTF-8, 1-32 characters */
} HgScaipRequest;

HgScaipRequest *hg_scaip_request_new (const gchar *ref,
                                      HgScaipMessageType mty,
                                      const gchar *cid,
                                      gint dty);
HgScaipRequest *hg_scaip_request_copy (const HgScaipRequest *request);
void hg_scaip_request_free (HgScaipRequest *request);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgScaipRequest, hg_scaip_request_free)

HgScaipRequest *hg_scaip_request_new_for_alarm (HgAlarm *alarm,
                                                const gchar *cid,
                                                const gchar *const *crd,
                                                GError **error);
HgScaipRequest *hg_scaip_request_new_minimal (const HgScaipRequest *request,
                                              HgScaipMessageType mty);
gchar *hg_scaip_request_to_xml (const HgScaipRequest *request,
                                GError **error);
HgScaipRequest *hg_scaip_request_parse (const gchar *data,
                                        gsize length,
                                        GError **error);

/**
 * HgScaipStatus:
 *
 * What an `snu` asks the sender to do (SS 91100 Table 2).
 */
typedef enum
{
  HG_SCAIP_STATUS_OK,            /* 0 */
  HG_SCAIP_STATUS_HOLD,          /* 4: resend for an update */
  HG_SCAIP_STATUS_NOT_TREATED,   /* 5 */
  HG_SCAIP_STATUS_BUSY,          /* 6 */
  HG_SCAIP_STATUS_MESSAGE_ERROR, /* 1, 2, 3, 7, 10, 99 and any unknown number */
} HgScaipStatus;

/**
 * HgScaipResponse:
 *
 * A Message Response, `<mrs>`. Integer fields are %HG_SCAIP_OMITTED when left out.
 */
typedef struct
{
  gchar *ref; /* (owned) */
  guint snu;
  gchar *snu_raw; /* (owned) as received, e.g. "004" */
  gchar *ste;     /* (owned) (nullable) */
  gchar *cve;     /* (owned) (nullable) */
  gint mre;
  gint cre;
  GPtrArray *tnu; /* (owned) (element-type utf8) */
  gint hbi;
} HgScaipResponse;

HgScaipResponse *hg_scaip_response_new (const gchar *ref,
                                        guint snu);
void hg_scaip_response_free (HgScaipResponse *response);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgScaipResponse, hg_scaip_response_free)

HgScaipResponse *hg_scaip_response_parse (const gchar *data,
                                          gsize length,
                                          GError **error);
gchar *hg_scaip_response_to_xml (const HgScaipResponse *response,
                                 GError **error);
HgScaipStatus hg_scaip_status_from_snu (guint snu);
const gchar *hg_scaip_status_to_string (HgScaipStatus status);

gboolean hg_scaip_ref_is_valid (const gchar *ref);
gchar *hg_scaip_new_ref (void);
gint hg_scaip_location_code (const gchar *location);

G_END_DECLS
