/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hemgate-arc-sim: a simulated alarm receiving centre (registrar and SCAIP receiver) on
 * 127.0.0.1, on Sofia-SIP like the plugin. It answers REGISTER (Digest when given a
 * password), answers each MESSAGE carrying an <mrq> with 200 OK and then its <mrs> in a
 * MESSAGE to the sender's registered contact (or in the 200 OK body), and records every
 * <mrq> it accepted as one JSON line, so tests can count deliveries per reference.
 *
 * It is told how to misbehave on the command line and, line by line, on stdin:
 *
 *   normal              forget every instruction below
 *   silent [off]        answer nothing at all (a dead ARC); nothing is recorded
 *   ignore-from ADDR|off  as silent, for requests (REGISTER too) sent from ADDR only: a
 *                       sender's network path that is down
 *   drop N              the next N MESSAGEs: as silent
 *   slow MS             answer every MESSAGE MS milliseconds late; each record then says
 *                       how many MESSAGEs were waiting for their answer ("pending",
 *                       itself included): what the sender had in flight
 *   hold N              answer the first N receipts of each ref with snu 4 (HOLD)
 *   refuse N | busy N   the next N answers: snu 5 | snu 6
 *   error SNU N         the next N answers: message error SNU (1, 2, 3, 7, 10, 99)
 *   garbage N           the next N answers: a malformed document instead of the <mrs>
 *   oversized N         the next N answers: an <mrs> above the 4 KiB limit instead
 *   unknown-ref N       the next N answers: an extra <mrs> for a ref nobody sent, first
 *   foreign-aor N       the next N answers: an extra <mrs> to another AOR, first
 *   status CODE N [S]   the next N MESSAGEs: SIP CODE (401 with a challenge), no SCAIP,
 *                       with Retry-After: S when given; each recorded as a line with
 *                       "mty": "STATUS" (its "status" and the ref of its body)
 *   in-body on|off      the <mrs> in the 200 OK body instead of a MESSAGE
 *   voice off|call|answer  snu 0 answers carry mre 1 (duplex voice); with "call" the
 *                       ARC then calls the sender's contact (INVITE with an SDP offer),
 *                       with "answer" it answers the sender's call
 *   call-codecs LIST    the codecs it offers or accepts (default "PCMU PCMA opus")
 *   call-srtp off|optional|required   SDES-SRTP on its calls (default off)
 *   call-seconds N      how long it keeps a call up before BYE (default 3)
 *   call-reinvite on|off   re-INVITE (same offer) one second into each call it places
 *   call-mre N          the mre of its snu 0 answers while voice is on: 1 duplex (default),
 *                       2 or 3 simplex
 *   call-transfer URI|off  snu 0 answers while voice is on carry cre 62 and <tnu>URI</tnu>:
 *                       the unit is to call URI (another simulator) instead
 *   call-dtmf DIGIT MS  MS milliseconds into each call, send DIGIT in a SIP INFO
 *                       (application/dtmf-relay), the ARC's audio control
 *   quit
 *
 * With --record-registers, each REGISTER it accepts is recorded too, as a line with
 * "mty": "REGISTER" (the AOR and the expiry), so a test can count registrations.
 *
 * A call's audio is a 880 Hz tone out; what comes in is measured (GStreamer's level)
 * and recorded, when the call ends, as a line with "mty": "CALL": its status, codec,
 * SRTP, the RTP packets received and the loudest RMS in dBFS.
 *
 * Each command is acknowledged with "OK <command>" on stdout, after "READY <port>". */
#include <errno.h>
#include <glib-unix.h>
#include <gio/gunixinputstream.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "hg-scaip-codec.h"
#include "hg-scaip-media.h"
#include "hg-scaip-sofia.h"

#define DEFAULT_REALM "hemgate-arc"

typedef struct
{
  su_home_t *home;
  su_root_t *root;
  nua_t *nua;
  GMainLoop *loop;
  gchar *address;
  guint port;
  gchar *identity; /* sip:arc@address:port, our From */

  /* options */
  gchar *password; /* (nullable) Digest for REGISTER (and MESSAGE if asked) */
  gchar *realm;
  gchar *nonce;
  gboolean auth_messages;
  gboolean answer_in_body;
  gboolean record_registers; /* a record line per REGISTER too */
  FILE *record;              /* stdout unless --record */

  /* state */
  GHashTable *contacts;  /* "user@host" → contact URI */
  GHashTable *receipts;  /* ref → times received */
  GPtrArray *unanswered; /* nua_handle_t* kept without an answer (silent, drop) */
  guint64 n_recorded;
  gboolean shutting_down;

  /* instructions */
  gboolean silent;
  gchar *ignore_from; /* (nullable) */
  guint drop;
  guint slow_ms;
  guint slow_pending; /* MESSAGEs whose late answer is not given yet */
  guint hold;
  guint refuse;
  guint busy;
  guint error_snu;
  guint error_n;
  guint garbage;
  guint oversized;
  guint unknown_ref;
  guint foreign_aor;
  guint status_code;
  guint status_n;
  guint status_retry_after; /* 0: no Retry-After */
  gchar *voice; /* "off", "call", "answer" */
  gchar *call_codecs;
  HgScaipSrtp call_srtp;
  guint call_seconds;
  gboolean call_reinvite;
  guint call_mre;
  gchar *call_transfer; /* (nullable) */
  gchar call_dtmf; /* '\0': none */
  guint call_dtmf_ms;

  /* the one call (voice) */
  nua_handle_t *call_nh;
  HgScaipMedia *call_media;
  gchar *call_ref;
  guint call_bye_id;
  gboolean call_connected;
  gint call_reinvite_status; /* 0: none sent */
  gchar *call_offer;
} Sim;

/* An answer to give later (slow mode). */
typedef struct
{
  Sim *sim;
  nua_handle_t *nh;
  nua_saved_event_t saved[1];
  gchar *aor;                /* (owned) the sender's AOR, user@host */
  HgScaipResponse *response; /* (owned) */
} Pending;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void
sofia_log_cb (void *stream,
              char const *fmt,
              va_list ap)
{
  g_autofree gchar *line = g_strdup_vprintf (fmt, ap);

  g_debug ("sofia: %s", g_strchomp (line));
}
#pragma GCC diagnostic pop

/* The address a request was sent from: its top Via's received=, else its sent-by host. */
static const gchar *
request_source (sip_t const *sip)
{
  if (sip == NULL || sip->sip_via == NULL)
    return "";
  return sip->sip_via->v_received != NULL ? sip->sip_via->v_received : sip->sip_via->v_host;
}

static gboolean
ignored_source (Sim *sim, sip_t const *sip)
{
  return sim->ignore_from != NULL && g_strcmp0 (request_source (sip), sim->ignore_from) == 0;
}

static gchar *
aor_key (url_t const *url)
{
  return g_strdup_printf ("%s@%s", url->url_user != NULL ? url->url_user : "",
                          url->url_host != NULL ? url->url_host : "");
}

/* Digest */

static gchar *
challenge_header (Sim *sim)
{
  return g_strdup_printf ("Digest realm=\"%s\", nonce=\"%s\", algorithm=MD5, qop=\"auth\"",
                          sim->realm, sim->nonce);
}

/* TRUE if @credentials answer our challenge for @method with the password. */
static gboolean
digest_ok (Sim *sim,
           msg_auth_t const *credentials,
           const gchar *method)
{
  auth_response_t ar[1] = { { sizeof (ar[0]) } };
  auth_hexmd5_t ha1;
  auth_hexmd5_t response;
  su_home_t *home = su_home_new (sizeof (su_home_t));
  gboolean ok = FALSE;

  for (; credentials != NULL && !ok; credentials = credentials->au_next)
    {
      if (credentials->au_scheme == NULL
          || g_ascii_strcasecmp (credentials->au_scheme, "Digest") != 0)
        continue;
      if (auth_digest_response_get (home, ar, credentials->au_params) < 0 || ar->ar_username == NULL
          || ar->ar_realm == NULL || ar->ar_nonce == NULL || ar->ar_response == NULL
          || g_strcmp0 (ar->ar_realm, sim->realm) != 0 || g_strcmp0 (ar->ar_nonce, sim->nonce) != 0)
        continue;
      auth_digest_ha1 (ha1, ar->ar_username, ar->ar_realm, sim->password);
      auth_digest_response (ar, response, ha1, method, NULL, 0);
      ok = g_ascii_strcasecmp (response, ar->ar_response) == 0;
    }
  su_home_unref (home);
  return ok;
}

/* recording */

/* A record line: its sequence number, time, ref and mty, then the caller's members. */
static JsonBuilder *
record_begin (Sim *sim,
              const gchar *ref,
              const gchar *mty)
{
  JsonBuilder *builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "seq");
  json_builder_add_int_value (builder, (gint64)++sim->n_recorded);
  json_builder_set_member_name (builder, "time");
  json_builder_add_int_value (builder, g_get_real_time ());
  json_builder_set_member_name (builder, "ref");
  json_builder_add_string_value (builder, ref);
  json_builder_set_member_name (builder, "mty");
  json_builder_add_string_value (builder, mty);
  return builder;
}

/* Ends the line of record_begin () and appends it to the record. */
static void
record_end (Sim *sim,
            JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree gchar *line = NULL;

  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  line = json_generator_to_data (generator, NULL);
  fprintf (sim->record, "%s\n", line);
  fflush (sim->record);
}

static void
record_request (Sim *sim,
                HgScaipRequest *request,
                sip_t const *sip,
                guint receipt)
{
  g_autoptr(JsonBuilder) builder
      = record_begin (sim, request->ref, hg_scaip_message_type_to_string (request->mty));
  const gchar *transport
      = sip->sip_via != NULL && sip->sip_via->v_protocol != NULL ? sip->sip_via->v_protocol : "";

  json_builder_set_member_name (builder, "cid");
  json_builder_add_string_value (builder, request->cid);
  json_builder_set_member_name (builder, "dty");
  json_builder_add_int_value (builder, request->dty);
  json_builder_set_member_name (builder, "stc");
  json_builder_add_int_value (builder, request->stc);
  json_builder_set_member_name (builder, "pri");
  json_builder_add_int_value (builder, request->pri);
  json_builder_set_member_name (builder, "lco");
  json_builder_add_int_value (builder, request->lco);
  json_builder_set_member_name (builder, "cha");
  json_builder_add_int_value (builder, request->cha);
  json_builder_set_member_name (builder, "crd");
  json_builder_begin_array (builder);
  for (guint i = 0; i < request->crd->len; i++)
    json_builder_add_string_value (builder, g_ptr_array_index (request->crd, i));
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "lte");
  if (request->lte != NULL)
    json_builder_add_string_value (builder, request->lte);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "receipt");
  json_builder_add_int_value (builder, receipt);
  json_builder_set_member_name (builder, "pending");
  json_builder_add_int_value (builder, sim->slow_ms > 0 ? sim->slow_pending + 1 : 0);
  json_builder_set_member_name (builder, "source");
  json_builder_add_string_value (builder, request_source (sip));
  json_builder_set_member_name (builder, "transport");
  json_builder_add_string_value (builder, g_str_has_suffix (transport, "TCP")   ? "tcp"
                                          : g_str_has_suffix (transport, "TLS") ? "tls"
                                                                                : "udp");
  json_builder_set_member_name (builder, "content_type");
  json_builder_add_string_value (
      builder, sip->sip_content_type != NULL ? sip->sip_content_type->c_type : "");
  record_end (sim, builder);
}

/* A line with "mty": "STATUS" for a MESSAGE answered with a SIP failure (status CODE N):
 * the status, and the ref of its body if it has one. */
static void
record_status (Sim *sim, sip_t const *sip, guint status)
{
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(HgScaipRequest) request = NULL;

  if (sip->sip_payload != NULL)
    request = hg_scaip_request_parse (sip->sip_payload->pl_data, sip->sip_payload->pl_len, NULL);
  builder = record_begin (sim, request != NULL ? request->ref : "", "STATUS");
  json_builder_set_member_name (builder, "status");
  json_builder_add_int_value (builder, status);
  record_end (sim, builder);
}

/* With --record-registers: a line with "mty": "REGISTER" for each REGISTER accepted. */
static void
record_register (Sim *sim,
                 const gchar *aor,
                 unsigned long expires)
{
  g_autoptr(JsonBuilder) builder = NULL;

  if (!sim->record_registers)
    return;
  builder = record_begin (sim, "", "REGISTER");
  json_builder_set_member_name (builder, "aor");
  json_builder_add_string_value (builder, aor);
  json_builder_set_member_name (builder, "expires");
  json_builder_add_int_value (builder, (gint64)expires);
  record_end (sim, builder);
}

static void place_call (Sim *sim, const gchar *aor, const gchar *contact, const gchar *ref);

/* answering */

static void
send_mrs (Sim *sim,
          const gchar *to_aor,
          const gchar *contact,
          const gchar *body)
{
  g_autofree gchar *to = g_strdup_printf ("<sip:%s>", to_aor);
  nua_handle_t *nh = nua_handle (sim->nua, NULL, SIPTAG_TO_STR (to), TAG_END ());

  nua_message (nh, NUTAG_URL (contact), SIPTAG_CONTENT_TYPE_STR ("application/scaip+xml"),
               SIPTAG_PAYLOAD_STR (body), TAG_END ());
}

static gchar *
garbage_document (void)
{
  return g_strdup ("<mrs><ref>abc</ref><snu>0</snu"); /* cut off mid-tag */
}

static gchar *
oversized_document (const gchar *ref)
{
  GString *xml = g_string_new (NULL);

  g_string_append_printf (xml, "<mrs><ref>%s</ref><snu>0</snu><ste>", ref);
  while (xml->len < HG_SCAIP_MAX_DOCUMENT + 512)
    g_string_append (xml, "padding ");
  g_string_append (xml, "</ste></mrs>");
  return g_string_free (xml, FALSE);
}

/* Answers a MESSAGE that was accepted: 200 OK, then the <mrs>, as instructed. */
static void
answer (Sim *sim,
        nua_handle_t *nh,
        nua_saved_event_t *saved,
        const gchar *aor,
        HgScaipResponse *response)
{
  g_autofree gchar *xml = NULL;
  const gchar *contact = g_hash_table_lookup (sim->contacts, aor);
  gboolean in_body = sim->answer_in_body || contact == NULL;

  if (sim->garbage > 0)
    {
      sim->garbage--;
      xml = garbage_document ();
    }
  else if (sim->oversized > 0)
    {
      sim->oversized--;
      xml = oversized_document (response->ref);
    }
  else
    {
      if (response->snu == 0 && g_strcmp0 (sim->voice, "off") != 0)
        response->mre = (gint) sim->call_mre;
      xml = hg_scaip_response_to_xml (response, NULL);
    }

  msg_t *with = saved != NULL ? nua_saved_event_request (saved) : nua_current_request (sim->nua);

  if (in_body)
    nua_respond (nh, SIP_200_OK, NUTAG_WITH (with),
                 SIPTAG_CONTENT_TYPE_STR ("application/scaip+xml"), SIPTAG_PAYLOAD_STR (xml),
                 TAG_END ());
  else
    nua_respond (nh, SIP_200_OK, NUTAG_WITH (with), TAG_END ());
  nua_handle_destroy (nh);
  g_printerr ("arc-sim: %s <- snu %u for %s%s\n", aor, response->snu, response->ref,
              in_body ? " (in the 200 OK)" : "");
  if (in_body)
    return;

  if (sim->unknown_ref > 0)
    {
      g_autoptr(HgScaipResponse) stray = hg_scaip_response_new ("unknownRef0000", 0);
      g_autofree gchar *stray_xml = hg_scaip_response_to_xml (stray, NULL);

      sim->unknown_ref--;
      send_mrs (sim, aor, contact, stray_xml);
    }
  if (sim->foreign_aor > 0)
    {
      const gchar *at = strchr (aor, '@');
      g_autofree gchar *other = g_strdup_printf ("someone-else%s", at != NULL ? at : "@invalid");

      sim->foreign_aor--;
      send_mrs (sim, other, contact, xml);
    }
  send_mrs (sim, aor, contact, xml);
  if (response->snu == 0 && g_strcmp0 (sim->voice, "call") == 0)
    place_call (sim, aor, contact, response->ref);
}

static gboolean
answer_later_cb (gpointer user_data)
{
  Pending *pending = user_data;

  pending->sim->slow_pending--;
  answer (pending->sim, pending->nh, pending->saved, pending->aor, pending->response);
  nua_destroy_event (pending->saved);
  g_free (pending->aor);
  hg_scaip_response_free (pending->response);
  g_free (pending);
  return G_SOURCE_REMOVE;
}

static guint
choose_snu (Sim *sim,
            const gchar *ref,
            guint receipt)
{
  if (receipt <= sim->hold)
    return 4;
  if (sim->refuse > 0)
    {
      sim->refuse--;
      return 5;
    }
  if (sim->busy > 0)
    {
      sim->busy--;
      return 6;
    }
  if (sim->error_n > 0)
    {
      sim->error_n--;
      return sim->error_snu;
    }
  return 0;
}

static void
keep_unanswered (Sim *sim,
                 nua_handle_t *nh)
{
  g_ptr_array_add (sim->unanswered, nh);
}

static void
on_message (Sim *sim,
            nua_handle_t *nh,
            sip_t const *sip)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HgScaipRequest) request = NULL;
  g_autoptr(HgScaipResponse) response = NULL;
  g_autofree gchar *aor = NULL;
  guint receipt;

  if (sim->silent || sim->drop > 0 || ignored_source (sim, sip))
    {
      if (sim->drop > 0)
        sim->drop--;
      keep_unanswered (sim, nh);
      return;
    }
  if (sim->status_n > 0)
    {
      g_autofree gchar *challenge = challenge_header (sim);
      g_autofree gchar *retry_after = g_strdup_printf ("%u", sim->status_retry_after);

      sim->status_n--;
      record_status (sim, sip, sim->status_code);
      nua_respond (
          nh, sim->status_code, sip_status_phrase (sim->status_code), NUTAG_WITH_THIS (sim->nua),
          TAG_IF (sim->status_code == 401, SIPTAG_WWW_AUTHENTICATE_STR (challenge)),
          TAG_IF (sim->status_retry_after > 0, SIPTAG_RETRY_AFTER_STR (retry_after)), TAG_END ());
      nua_handle_destroy (nh);
      return;
    }
  if (sim->auth_messages && sim->password != NULL
      && !digest_ok (sim, sip->sip_authorization, "MESSAGE"))
    {
      g_autofree gchar *challenge = challenge_header (sim);
      nua_respond (nh, SIP_401_UNAUTHORIZED, NUTAG_WITH_THIS (sim->nua),
                   SIPTAG_WWW_AUTHENTICATE_STR (challenge), TAG_END ());
      nua_handle_destroy (nh);
      return;
    }
  aor = aor_key (sip->sip_from->a_url);
  if (sim->password != NULL && !g_hash_table_contains (sim->contacts, aor))
    {
      g_printerr ("arc-sim: MESSAGE from %s refused: not registered\n", aor);
      nua_respond (nh, SIP_403_FORBIDDEN, NUTAG_WITH_THIS (sim->nua), TAG_END ());
      nua_handle_destroy (nh);
      return;
    }
  if (sip->sip_payload == NULL)
    {
      nua_respond (nh, SIP_400_BAD_REQUEST, NUTAG_WITH_THIS (sim->nua), TAG_END ());
      nua_handle_destroy (nh);
      return;
    }
  request = hg_scaip_request_parse (sip->sip_payload->pl_data, sip->sip_payload->pl_len, &error);
  if (request == NULL)
    {
      g_printerr ("arc-sim: MESSAGE from %s without a usable <mrq>: %s\n", aor, error->message);
      nua_respond (nh, SIP_400_BAD_REQUEST, NUTAG_WITH_THIS (sim->nua), TAG_END ());
      nua_handle_destroy (nh);
      return;
    }

  receipt = GPOINTER_TO_UINT (g_hash_table_lookup (sim->receipts, request->ref)) + 1;
  g_hash_table_replace (sim->receipts, g_strdup (request->ref), GUINT_TO_POINTER (receipt));
  record_request (sim, request, sip, receipt);
  g_printerr ("arc-sim: %s -> %s %s (receipt %u)\n", aor,
              hg_scaip_message_type_to_string (request->mty), request->ref, receipt);

  response = hg_scaip_response_new (request->ref, choose_snu (sim, request->ref, receipt));
  /* a callback request is granted for 5 minutes, as TR 91102's examples do */
  if (request->cha == 1 && response->snu == 0 && g_strcmp0 (sim->voice, "off") != 0)
    response->cre = 5;
  if (sim->call_transfer != NULL && response->snu == 0 && g_strcmp0 (sim->voice, "off") != 0)
    {
      response->cre = 62;
      g_ptr_array_add (response->tnu, g_strdup (sim->call_transfer));
    }
  if (sim->slow_ms > 0)
    {
      Pending *pending = g_new0 (Pending, 1);

      pending->sim = sim;
      pending->nh = nh;
      nua_save_event (sim->nua, pending->saved);
      pending->aor = g_steal_pointer (&aor);
      pending->response = g_steal_pointer (&response);
      sim->slow_pending++;
      g_timeout_add (sim->slow_ms, answer_later_cb, pending);
      return;
    }
  answer (sim, nh, NULL, aor, response);
}

static void
on_register (Sim *sim,
             nua_handle_t *nh,
             sip_t const *sip)
{
  g_autofree gchar *aor = NULL;
  g_autofree gchar *expires_str = NULL;
  unsigned long expires = 3600;

  if (ignored_source (sim, sip))
    {
      keep_unanswered (sim, nh);
      return;
    }
  if (sim->password != NULL && !digest_ok (sim, sip->sip_authorization, "REGISTER"))
    {
      g_autofree gchar *challenge = challenge_header (sim);

      if (sip->sip_authorization != NULL)
        {
          g_printerr ("arc-sim: REGISTER with wrong credentials refused\n");
          nua_respond (nh, SIP_403_FORBIDDEN, NUTAG_WITH_THIS (sim->nua), TAG_END ());
        }
      else
        {
          nua_respond (nh, SIP_401_UNAUTHORIZED, NUTAG_WITH_THIS (sim->nua),
                       SIPTAG_WWW_AUTHENTICATE_STR (challenge), TAG_END ());
        }
      nua_handle_destroy (nh);
      return;
    }
  aor = aor_key (sip->sip_to->a_url);
  if (sip->sip_expires != NULL)
    expires = sip->sip_expires->ex_delta;
  if (sip->sip_contact != NULL && sip->sip_contact->m_expires != NULL)
    expires = strtoul (sip->sip_contact->m_expires, NULL, 10);
  if (sip->sip_contact == NULL || expires == 0)
    {
      g_hash_table_remove (sim->contacts, aor);
      g_printerr ("arc-sim: %s unregistered\n", aor);
    }
  else
    {
      char *contact = url_as_string (sim->home, sip->sip_contact->m_url); /* in sim->home */

      g_hash_table_replace (sim->contacts, g_strdup (aor), g_strdup (contact));
      g_printerr ("arc-sim: %s registered at %s\n", aor, contact);
      su_free (sim->home, contact);
      record_register (sim, aor, expires);
    }
  expires_str = g_strdup_printf ("%lu", expires);
  nua_respond (nh, SIP_200_OK, NUTAG_WITH_THIS (sim->nua), SIPTAG_CONTACT (sip->sip_contact),
               SIPTAG_EXPIRES_STR (expires_str), TAG_END ());
  nua_handle_destroy (nh);
}

/* voice */

static void
record_call (Sim *sim, guint status)
{
  g_autoptr(JsonBuilder) builder
      = record_begin (sim, sim->call_ref != NULL ? sim->call_ref : "", "CALL");
  HgScaipMedia *media = sim->call_media;
  gdouble peak = media != NULL ? hg_scaip_media_get_peak_db (media) : -G_MAXDOUBLE;

  json_builder_set_member_name (builder, "status");
  json_builder_add_int_value (builder, status);
  json_builder_set_member_name (builder, "connected");
  json_builder_add_boolean_value (builder, sim->call_connected);
  json_builder_set_member_name (builder, "codec");
  json_builder_add_string_value (builder, media != NULL && hg_scaip_media_get_codec (media) != NULL
                                              ? hg_scaip_media_get_codec (media)
                                              : "");
  json_builder_set_member_name (builder, "srtp");
  json_builder_add_boolean_value (builder, media != NULL && hg_scaip_media_get_srtp (media));
  json_builder_set_member_name (builder, "reinvite_status");
  json_builder_add_int_value (builder, sim->call_reinvite_status);
  json_builder_set_member_name (builder, "rx_packets");
  json_builder_add_int_value (
      builder, media != NULL ? (gint64)hg_scaip_media_get_received_buffers (media) : 0);
  json_builder_set_member_name (builder, "rx_peak_db");
  json_builder_add_double_value (builder, peak > -1000.0 ? peak : -1000.0);
  record_end (sim, builder);
}

static void
call_over (Sim *sim, guint status, const gchar *phrase)
{
  g_printerr ("arc-sim: call for %s ended: %03u %s\n", sim->call_ref != NULL ? sim->call_ref : "?",
              status, phrase != NULL ? phrase : "");
  if (sim->call_media != NULL)
    hg_scaip_media_stop (sim->call_media);
  record_call (sim, status);
  g_clear_handle_id (&sim->call_bye_id, g_source_remove);
  g_clear_object (&sim->call_media);
  g_clear_pointer (&sim->call_ref, g_free);
  g_clear_pointer (&sim->call_offer, g_free);
  if (sim->call_nh != NULL)
    nua_handle_destroy (sim->call_nh);
  sim->call_nh = NULL;
  sim->call_connected = FALSE;
  sim->call_reinvite_status = 0;
}

static gboolean
call_bye_cb (gpointer user_data)
{
  Sim *sim = user_data;

  sim->call_bye_id = 0;
  if (sim->call_nh != NULL)
    nua_bye (sim->call_nh, TAG_END ());
  return G_SOURCE_REMOVE;
}

static gboolean
call_reinvite_cb (gpointer user_data)
{
  Sim *sim = user_data;

  if (sim->call_nh != NULL && sim->call_offer != NULL)
    {
      sim->call_reinvite_status = -1; /* sent, no answer yet */
      nua_invite (sim->call_nh, SIPTAG_CONTENT_TYPE_STR ("application/sdp"),
                  SIPTAG_PAYLOAD_STR (sim->call_offer), TAG_END ());
    }
  return G_SOURCE_REMOVE;
}

static gboolean
call_dtmf_cb (gpointer user_data)
{
  Sim *sim = user_data;
  g_autofree gchar *body = g_strdup_printf ("Signal=%c\r\nDuration=160\r\n", sim->call_dtmf);

  if (sim->call_nh != NULL && sim->call_connected)
    {
      nua_info (sim->call_nh, SIPTAG_CONTENT_TYPE_STR ("application/dtmf-relay"),
                SIPTAG_PAYLOAD_STR (body), TAG_END ());
      g_printerr ("arc-sim: DTMF %c sent in a SIP INFO\n", sim->call_dtmf);
    }
  return G_SOURCE_REMOVE;
}

static HgScaipMedia *
new_call_media (Sim *sim, GError **error)
{
  return hg_scaip_media_new (sim->address, NULL, sim->call_codecs, sim->call_srtp,
                             "audiotestsrc is-live=true wave=sine freq=880 volume=0.5",
                             "fakesink sync=false", error);
}

static void
place_call (Sim *sim, const gchar *aor, const gchar *contact, const gchar *ref)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *offer = NULL;
  g_autofree gchar *to = g_strdup_printf ("<sip:%s>", aor);

  if (sim->call_nh != NULL)
    {
      g_printerr ("arc-sim: no call for %s: a call is in progress\n", ref);
      return;
    }
  sim->call_media = new_call_media (sim, &error);
  if (sim->call_media == NULL)
    {
      g_printerr ("arc-sim: no call for %s: %s\n", ref, error->message);
      return;
    }
  sim->call_ref = g_strdup (ref);
  offer = hg_scaip_media_create_offer (sim->call_media);
  if (offer == NULL)
    {
      g_printerr ("arc-sim: no call for %s: no SRTP key\n", ref);
      g_clear_object (&sim->call_media);
      g_clear_pointer (&sim->call_ref, g_free);
      return;
    }
  sim->call_nh = nua_handle (sim->nua, NULL, SIPTAG_TO_STR (to), TAG_END ());
  sim->call_offer = g_strdup (offer);
  nua_invite (sim->call_nh, NUTAG_URL (contact), SIPTAG_CONTENT_TYPE_STR ("application/sdp"),
              SIPTAG_PAYLOAD_STR (offer), TAG_END ());
  g_printerr ("arc-sim: calling %s for %s\n", contact, ref);
}

static void
call_started (Sim *sim)
{
  g_autoptr(GError) error = NULL;

  if (!hg_scaip_media_start (sim->call_media, &error))
    {
      g_printerr ("arc-sim: call media: %s\n", error->message);
      nua_bye (sim->call_nh, TAG_END ());
      return;
    }
  sim->call_connected = TRUE;
  sim->call_bye_id = g_timeout_add_seconds (sim->call_seconds, call_bye_cb, sim);
  if (sim->call_reinvite && sim->call_offer != NULL)
    g_timeout_add_seconds (1, call_reinvite_cb, sim);
  if (sim->call_dtmf != '\0')
    g_timeout_add (sim->call_dtmf_ms, call_dtmf_cb, sim);
}

static void
on_invite_answered (Sim *sim, int status, char const *phrase, sip_t const *sip)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *answer = NULL;

  if (sim->call_connected && status >= 200)
    {
      /* the answer to our re-INVITE: the call goes on as it was */
      sim->call_reinvite_status = status;
      g_printerr ("arc-sim: re-INVITE answered %03d\n", status);
      return;
    }
  if (status < 200 || status >= 300)
    return; /* a failure ends in nua_i_state */
  if (sip != NULL && sip->sip_payload != NULL)
    answer = g_strndup (sip->sip_payload->pl_data, sip->sip_payload->pl_len);
  if (!hg_scaip_media_set_answer (sim->call_media, answer, &error))
    {
      g_printerr ("arc-sim: unusable SDP answer: %s\n", error->message);
      nua_bye (sim->call_nh, TAG_END ());
      return;
    }
  g_printerr ("arc-sim: call for %s answered (%s%s)\n", sim->call_ref,
              hg_scaip_media_get_codec (sim->call_media),
              hg_scaip_media_get_srtp (sim->call_media) ? ", SRTP" : "");
  call_started (sim);
}

static void
on_invite (Sim *sim, nua_handle_t *nh, sip_t const *sip)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *offer = NULL;
  g_autofree gchar *answer = NULL;

  if (g_strcmp0 (sim->voice, "answer") != 0 || sim->call_nh != NULL)
    {
      nua_respond (nh, SIP_486_BUSY_HERE, NUTAG_WITH_THIS (sim->nua), TAG_END ());
      nua_handle_destroy (nh);
      return;
    }
  if (sip->sip_payload != NULL)
    offer = g_strndup (sip->sip_payload->pl_data, sip->sip_payload->pl_len);
  sim->call_media = new_call_media (sim, &error);
  if (sim->call_media != NULL)
    answer = hg_scaip_media_create_answer (sim->call_media, offer, &error);
  if (answer == NULL)
    {
      g_printerr ("arc-sim: call refused: %s\n", error->message);
      g_clear_object (&sim->call_media);
      nua_respond (nh, SIP_488_NOT_ACCEPTABLE, NUTAG_WITH_THIS (sim->nua), TAG_END ());
      nua_handle_destroy (nh);
      return;
    }
  sim->call_nh = nh;
  sim->call_ref = g_strdup ("");
  nua_respond (nh, SIP_200_OK, NUTAG_WITH_THIS (sim->nua),
               SIPTAG_CONTENT_TYPE_STR ("application/sdp"), SIPTAG_PAYLOAD_STR (answer),
               TAG_END ());
  g_printerr ("arc-sim: call answered (%s%s)\n", hg_scaip_media_get_codec (sim->call_media),
              hg_scaip_media_get_srtp (sim->call_media) ? ", SRTP" : "");
  call_started (sim);
}

static void
on_call_state (Sim *sim, nua_handle_t *nh, int status, char const *phrase, tagi_t tags[])
{
  int state = nua_callstate_init;

  if (nh != sim->call_nh)
    return;
  tl_gets (tags, NUTAG_CALLSTATE_REF (state), TAG_END ());
  if (state == nua_callstate_terminated)
    call_over (sim, (guint)status, phrase);
}

static void
nua_event_cb (nua_event_t event,
              int status,
              char const *phrase,
              nua_t *nua,
              nua_magic_t *magic,
              nua_handle_t *nh,
              nua_hmagic_t *hmagic,
              sip_t const *sip,
              tagi_t tags[])
{
  Sim *sim = magic;

  switch (event)
    {
    case nua_i_message:
      on_message (sim, nh, sip);
      break;
    case nua_i_register:
      on_register (sim, nh, sip);
      break;
    case nua_i_invite:
      on_invite (sim, nh, sip);
      break;
    case nua_r_invite:
      if (nh == sim->call_nh)
        on_invite_answered (sim, status, phrase, sip);
      break;
    case nua_i_state:
      on_call_state (sim, nh, status, phrase, tags);
      break;
    case nua_r_message:
      if (status >= 200)
        {
          if (status >= 300)
            g_printerr ("arc-sim: <mrs> MESSAGE answered %03d %s\n", status, phrase);
          nua_handle_destroy (nh);
        }
      break;
    case nua_r_shutdown:
      if (status >= 200)
        g_main_loop_quit (sim->loop);
      break;
    default:
      break;
    }
}

/* control */

static void
unanswered_forget (Sim *sim)
{
  /* their clients gave up long ago; destroying makes the stack send a late error */
  for (guint i = 0; i < sim->unanswered->len; i++)
    nua_handle_destroy (g_ptr_array_index (sim->unanswered, i));
  g_ptr_array_set_size (sim->unanswered, 0);
}

static void
shutdown_sim (Sim *sim)
{
  if (sim->shutting_down)
    return;
  sim->shutting_down = TRUE;
  unanswered_forget (sim);
  nua_shutdown (sim->nua);
}

static gboolean
parse_count (const gchar *str,
             guint *out)
{
  guint64 value = 0;

  if (str == NULL || !g_ascii_string_to_unsigned (str, 10, 0, G_MAXUINT, &value, NULL))
    return FALSE;
  *out = (guint) value;
  return TRUE;
}

/* The commands that set one count ("slow 3000", "drop 2", ...): the field they set. */
static guint *
count_field (Sim *sim,
             const gchar *verb)
{
  static const struct
  {
    const gchar *verb;
    gsize offset;
  } counts[] = {
    { "slow", G_STRUCT_OFFSET (Sim, slow_ms) },
    { "drop", G_STRUCT_OFFSET (Sim, drop) },
    { "hold", G_STRUCT_OFFSET (Sim, hold) },
    { "refuse", G_STRUCT_OFFSET (Sim, refuse) },
    { "busy", G_STRUCT_OFFSET (Sim, busy) },
    { "garbage", G_STRUCT_OFFSET (Sim, garbage) },
    { "oversized", G_STRUCT_OFFSET (Sim, oversized) },
    { "unknown-ref", G_STRUCT_OFFSET (Sim, unknown_ref) },
    { "foreign-aor", G_STRUCT_OFFSET (Sim, foreign_aor) },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (counts); i++)
    {
      if (g_strcmp0 (verb, counts[i].verb) == 0)
        return G_STRUCT_MEMBER_P (sim, counts[i].offset);
    }
  return NULL;
}

/* Runs one control command; acknowledges it on stdout if @reply. */
static gboolean
command (Sim *sim,
         const gchar *line,
         gboolean reply)
{
  g_auto(GStrv) words = g_strsplit (line, " ", -1);
  const gchar *verb = words[0];
  guint n = 1;
  gboolean ok = TRUE;

  if (verb == NULL || verb[0] == '\0')
    return TRUE;
  if (g_strcmp0 (verb, "normal") == 0)
    {
      sim->silent = FALSE;
      sim->drop = sim->slow_ms = sim->hold = sim->refuse = sim->busy = sim->error_n = 0;
      sim->garbage = sim->oversized = sim->unknown_ref = sim->foreign_aor = sim->status_n = 0;
      g_clear_pointer (&sim->ignore_from, g_free);
      unanswered_forget (sim);
    }
  else if (g_strcmp0 (verb, "silent") == 0)
    {
      sim->silent = g_strcmp0 (words[1], "off") != 0;
      if (!sim->silent)
        unanswered_forget (sim);
    }
  else if (g_strcmp0 (verb, "ignore-from") == 0)
    {
      ok = words[1] != NULL;
      g_clear_pointer (&sim->ignore_from, g_free);
      if (ok && g_strcmp0 (words[1], "off") != 0)
        sim->ignore_from = g_strdup (words[1]);
    }
  else if (g_strcmp0 (verb, "in-body") == 0)
    sim->answer_in_body = g_strcmp0 (words[1], "off") != 0;
  else if (count_field (sim, verb) != NULL)
    ok = parse_count (words[1], count_field (sim, verb));
  else if (g_strcmp0 (verb, "error") == 0)
    ok = parse_count (words[1], &sim->error_snu) && (words[2] == NULL || parse_count (words[2], &n))
         && (sim->error_n = n, TRUE);
  else if (g_strcmp0 (verb, "status") == 0)
    ok = parse_count (words[1], &sim->status_code) && sim->status_code >= 300
         && sim->status_code <= 699 && (words[2] == NULL || parse_count (words[2], &n))
         && (sim->status_n = n, TRUE) && (sim->status_retry_after = 0, TRUE)
         && (words[2] == NULL || words[3] == NULL
             || parse_count (words[3], &sim->status_retry_after));
  else if (g_strcmp0 (verb, "voice") == 0)
    {
      ok = words[1] != NULL
           && (g_strcmp0 (words[1], "off") == 0 || g_strcmp0 (words[1], "call") == 0
               || g_strcmp0 (words[1], "answer") == 0);
      if (ok)
        {
          g_free (sim->voice);
          sim->voice = g_strdup (words[1]);
        }
    }
  else if (g_strcmp0 (verb, "call-codecs") == 0)
    {
      g_autofree gchar *list = g_strjoinv (" ", words + 1);

      ok = hg_scaip_media_check_codecs (list, NULL);
      if (ok)
        {
          g_free (sim->call_codecs);
          sim->call_codecs = g_steal_pointer (&list);
        }
    }
  else if (g_strcmp0 (verb, "call-srtp") == 0)
    {
      if (g_strcmp0 (words[1], "off") == 0)
        sim->call_srtp = HG_SCAIP_SRTP_OFF;
      else if (g_strcmp0 (words[1], "optional") == 0)
        sim->call_srtp = HG_SCAIP_SRTP_OPTIONAL;
      else if (g_strcmp0 (words[1], "required") == 0)
        sim->call_srtp = HG_SCAIP_SRTP_REQUIRED;
      else
        ok = FALSE;
    }
  else if (g_strcmp0 (verb, "call-reinvite") == 0)
    sim->call_reinvite = g_strcmp0 (words[1], "off") != 0;
  else if (g_strcmp0 (verb, "call-transfer") == 0)
    {
      ok = words[1] != NULL;
      g_clear_pointer (&sim->call_transfer, g_free);
      if (ok && g_strcmp0 (words[1], "off") != 0)
        sim->call_transfer = g_strdup (words[1]);
    }
  else if (g_strcmp0 (verb, "call-mre") == 0)
    ok = parse_count (words[1], &sim->call_mre) && sim->call_mre >= 1 && sim->call_mre <= 3;
  else if (g_strcmp0 (verb, "call-dtmf") == 0)
    {
      ok = words[1] != NULL && strlen (words[1]) == 1 && strchr ("0123456789*#", words[1][0])
           && parse_count (words[2], &sim->call_dtmf_ms);
      if (ok)
        sim->call_dtmf = words[1][0];
    }
  else if (g_strcmp0 (verb, "call-seconds") == 0)
    ok = parse_count (words[1], &sim->call_seconds) && sim->call_seconds > 0;
  else if (g_strcmp0 (verb, "quit") == 0)
    shutdown_sim (sim);
  else
    ok = FALSE;
  if (reply)
    {
      g_print ("%s %s\n", ok ? "OK" : "ERROR", line);
      fflush (stdout);
    }
  else if (!ok)
    {
      g_printerr ("hemgate-arc-sim: bad command '%s'\n", line);
    }
  return ok;
}

static void
read_line_cb (GObject *source,
              GAsyncResult *result,
              gpointer user_data)
{
  Sim *sim = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source),
                                                                      result, NULL, &error);

  if (line == NULL)
    return; /* end of stdin (the demo): keep running */
  command (sim, g_strstrip (line), TRUE);
  g_data_input_stream_read_line_async (G_DATA_INPUT_STREAM (source), G_PRIORITY_DEFAULT, NULL,
                                       read_line_cb, sim);
}

static gboolean
signal_cb (gpointer user_data)
{
  shutdown_sim (user_data);
  return G_SOURCE_CONTINUE;
}

/* A port free for both UDP and TCP on @address (the stack binds both). */
static guint
pick_port (const gchar *address,
           GError **error)
{
  for (guint attempt = 0; attempt < 20; attempt++)
    {
      g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (address);
      g_autoptr(GSocketAddress) any = g_inet_socket_address_new (inet, 0);
      g_autoptr(GSocket) tcp
          = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
      g_autoptr(GSocket) udp = NULL;
      g_autoptr(GSocketAddress) bound = NULL;
      g_autoptr(GSocketAddress) same = NULL;
      guint port;

      if (tcp == NULL || !g_socket_bind (tcp, any, FALSE, error))
        return 0;
      bound = g_socket_get_local_address (tcp, error);
      if (bound == NULL)
        return 0;
      port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
      udp = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP,
                          error);
      if (udp == NULL)
        return 0;
      same = g_inet_socket_address_new (inet, port);
      if (g_socket_bind (udp, same, FALSE, NULL))
        return port;
    }
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE, "no free port");
  return 0;
}

int
main (int argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) stdin_stream = NULL;
  g_autoptr(GDataInputStream) lines = NULL;
  g_autofree gchar *address = NULL;
  g_autofree gchar *record_path = NULL;
  g_autofree gchar *listen = NULL;
  g_autofree gchar *realm = NULL;
  g_autofree gchar *tls_dir = NULL;
  g_autofree gchar *sips = NULL;
  g_auto(GStrv) commands = NULL;
  gint tls_port = 0;
  gint port = 0;
  gboolean exit_with_parent = FALSE;
  Sim sim = {
    NULL,
  };
  const GOptionEntry entries[] = {
    { "address", 0, 0, G_OPTION_ARG_STRING, &address, "Listen on ADDRESS (default 127.0.0.1)",
      "ADDRESS" },
    { "port", 0, 0, G_OPTION_ARG_INT, &port, "Listen on PORT, UDP and TCP (default: a free one)",
      "PORT" },
    { "password", 0, 0, G_OPTION_ARG_STRING, &sim.password,
      "Require Digest with PASSWORD for REGISTER", "PASSWORD" },
    { "realm", 0, 0, G_OPTION_ARG_STRING, &realm, "The Digest realm (default " DEFAULT_REALM ")",
      "REALM" },
    { "auth-messages", 0, 0, G_OPTION_ARG_NONE, &sim.auth_messages,
      "Require Digest for MESSAGE too", NULL },
    { "answer-in-body", 0, 0, G_OPTION_ARG_NONE, &sim.answer_in_body,
      "Put the <mrs> in the 200 OK body", NULL },
    { "record", 0, 0, G_OPTION_ARG_FILENAME, &record_path,
      "Append one JSON line per <mrq> to FILE (default stdout)", "FILE" },
    { "record-registers", 0, 0, G_OPTION_ARG_NONE, &sim.record_registers,
      "Record each REGISTER accepted too, as a line with \"mty\": \"REGISTER\"", NULL },
    { "command", 0, 0, G_OPTION_ARG_STRING_ARRAY, &commands,
      "Run a control COMMAND at start (repeatable)", "COMMAND" },
    { "tls-dir", 0, 0, G_OPTION_ARG_FILENAME, &tls_dir,
      "Listen for TLS too, with DIR/agent.pem as our certificate (Sofia-SIP's layout)", "DIR" },
    { "tls-port", 0, 0, G_OPTION_ARG_INT, &tls_port, "The TLS port (with --tls-dir)", "PORT" },
    { "exit-with-parent", 0, 0, G_OPTION_ARG_NONE, &exit_with_parent,
      "Stop when the parent process ends (./dev demo)", NULL },
    { NULL },
  };

  context = g_option_context_new (NULL);
  g_option_context_set_summary (
      context, "A simulated SCAIP alarm receiving centre for hemgate's tests and demo.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("hemgate-arc-sim: %s\n", error->message);
      return 2;
    }
  if (exit_with_parent && prctl (PR_SET_PDEATHSIG, SIGTERM) != 0)
    {
      g_printerr ("hemgate-arc-sim: cannot set the parent-death signal\n");
      return 1;
    }
  sim.address = g_strdup (address != NULL ? address : "127.0.0.1");
  sim.realm = g_strdup (realm != NULL ? realm : DEFAULT_REALM);
  sim.nonce = g_strdup_printf ("%08x%08x", g_random_int (), g_random_int ());
  sim.contacts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  sim.receipts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  sim.unanswered = g_ptr_array_new ();
  sim.record = stdout;
  sim.voice = g_strdup ("off");
  sim.call_codecs = g_strdup ("PCMU PCMA opus");
  sim.call_srtp = HG_SCAIP_SRTP_OFF;
  sim.call_seconds = 3;
  sim.call_mre = 1;
  if (record_path != NULL)
    {
      sim.record = fopen (record_path, "a");
      if (sim.record == NULL)
        {
          g_printerr ("hemgate-arc-sim: %s: %s\n", record_path, g_strerror (errno));
          return 1;
        }
    }
  if (port <= 0 || port > 65535)
    port = (gint) pick_port (sim.address, &error);
  if (port == 0)
    {
      g_printerr ("hemgate-arc-sim: %s\n", error->message);
      return 1;
    }
  sim.port = (guint) port;
  for (guint i = 0; commands != NULL && commands[i] != NULL; i++)
    {
      if (!command (&sim, commands[i], FALSE))
        return 2;
    }

  su_init ();
  su_log_redirect (su_log_default, sofia_log_cb, NULL);
  sim.home = su_home_new (sizeof (su_home_t));
  sim.loop = g_main_loop_new (NULL, FALSE);
  sim.root = su_glib_root_create (&sim);
  g_source_attach (su_glib_root_gsource (sim.root), NULL);
  listen = g_strdup_printf ("sip:%s:%u", sim.address, sim.port);
  sim.identity = g_strdup_printf ("sip:arc@%s:%u", sim.address, sim.port);
  if (tls_dir != NULL)
    sips = g_strdup_printf ("sips:%s:%d", sim.address, tls_port);
  sim.nua = nua_create (sim.root, nua_event_cb, &sim, NUTAG_URL (listen),
                        TAG_IF (tls_dir != NULL, NUTAG_SIPS_URL (sips)),
                        TAG_IF (tls_dir != NULL, TPTAG_CERTIFICATE (tls_dir)),
                        TAG_IF (tls_dir != NULL, TPTAG_TLS_VERIFY_POLICY (TPTLS_VERIFY_NONE)),
                        SIPTAG_FROM_STR (sim.identity), NUTAG_USER_AGENT ("hemgate-arc-sim/0.1"),
                        NUTAG_ENABLEMESSAGE (1), NUTAG_ENABLEINVITE (1), NUTAG_MEDIA_ENABLE (0),
                        NUTAG_ALLOW ("MESSAGE, REGISTER, INVITE, ACK, BYE, CANCEL"),
                        NUTAG_APPL_METHOD ("MESSAGE, REGISTER"),
                        NUTAG_OUTBOUND ("no-options-keepalive no-validate"), TAG_NULL ());
  if (sim.nua == NULL)
    {
      g_printerr ("hemgate-arc-sim: cannot listen on %s\n", listen);
      return 1;
    }

  stdin_stream = g_unix_input_stream_new (0, FALSE);
  lines = g_data_input_stream_new (stdin_stream);
  g_data_input_stream_read_line_async (lines, G_PRIORITY_DEFAULT, NULL, read_line_cb, &sim);
  g_unix_signal_add (SIGTERM, signal_cb, &sim);
  g_unix_signal_add (SIGINT, signal_cb, &sim);

  g_print ("READY %u\n", sim.port);
  fflush (stdout);
  g_printerr ("arc-sim: listening on %s (UDP and TCP)%s%s%s\n", listen, sips != NULL ? " and " : "",
              sips != NULL ? sips : "", sim.password != NULL ? ", Digest required" : "");
  g_main_loop_run (sim.loop);

  g_printerr ("arc-sim: %" G_GUINT64_FORMAT " requests recorded, %u distinct refs\n",
              sim.n_recorded, g_hash_table_size (sim.receipts));
  nua_destroy (sim.nua);
  g_source_destroy (su_glib_root_gsource (sim.root));
  su_root_destroy (sim.root);
  su_home_unref (sim.home);
  su_deinit ();
  if (sim.record != stdout)
    fclose (sim.record);
  g_main_loop_unref (sim.loop);
  g_hash_table_unref (sim.contacts);
  g_hash_table_unref (sim.receipts);
  g_ptr_array_unref (sim.unanswered);
  g_free (sim.address);
  g_free (sim.identity);
  g_free (sim.realm);
  g_free (sim.nonce);
  g_free (sim.password);
  g_free (sim.voice);
  g_free (sim.ignore_from);
  g_free (sim.call_transfer);
  g_free (sim.call_codecs);
  return 0;
}
