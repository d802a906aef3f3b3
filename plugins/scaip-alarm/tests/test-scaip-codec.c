/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the SCAIP codec: <mrq> written strictly from an alarm, <mrs> read
 * liberally, and every malformed document refused with a precise error. */
#include <string.h>

#include "hg-scaip-codec.h"

static HgAlarm *
new_alarm (const gchar *type,
           const gchar *ref)
{
  g_autoptr(JsonObject) object = json_object_new ();

  json_object_set_string_member (object, "type", type);
  json_object_set_string_member (object, "ref", ref);
  return hg_alarm_new_from_json (object, NULL);
}

static void
test_request_from_alarm (void)
{
  g_autoptr(HgAlarm) alarm = new_alarm ("fall", "0lz3kq1m2xAbC123");
  g_autoptr(HgScaipRequest) request = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *xml = NULL;
  const gchar *crd[] = { "no-voice:", NULL };

  g_test_summary ("An alarm becomes an <mrq> with the core's reference as <ref>, the "
                  "table's codes zero-padded, the room as <lco> and <lte>, in the "
                  "standard's field order, without declaration or namespace");
  hg_alarm_set_location (alarm, "Kök");
  hg_alarm_set_device (alarm, "pendant-1");
  hg_alarm_set_priority (alarm, 2);
  request = hg_scaip_request_new_for_alarm (alarm, "4600012345", crd, &error);
  g_assert_no_error (error);
  xml = hg_scaip_request_to_xml (request, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (xml, ==,
                   "<mrq><ref>0lz3kq1m2xAbC123</ref><cid>4600012345</cid><dty>0005</dty>"
                   "<did>pendant-1</did><crd>no-voice:</crd><stc>0009</stc><pri>7</pri>"
                   "<lco>021</lco><lte>Kök</lte></mrq>");
}

static void
test_request_mapping_table (void)
{
  static const struct
  {
    const gchar *type;
    gint dty;
    gint stc;
  } expected[] = {
    { "assistance", 3, 10 }, { "fall", 5, 9 },   { "fire", 23, 9 },      { "water", 33, 9 },
    { "inactivity", 10, 9 }, { "door", 14, 77 }, { "technical", 2, 42 }, { "test", 2, 102 },
  };

  g_test_summary ("Every alarm type the core knows has a SCAIP mapping; priority is at "
                  "least the type's default and the alarm's own when higher");
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr(HgAlarm) alarm = new_alarm (expected[i].type, "ref1");
      g_autoptr(HgScaipRequest) request = NULL;
      g_autoptr(GError) error = NULL;

      g_assert_true (hg_alarm_type_is_valid (expected[i].type));
      hg_alarm_set_priority (alarm, 9);
      request = hg_scaip_request_new_for_alarm (alarm, "1", NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (request->dty, ==, expected[i].dty);
      g_assert_cmpint (request->stc, ==, expected[i].stc);
      g_assert_cmpint (request->pri, ==, 9);
      g_assert_cmpint (request->lco, ==, HG_SCAIP_OMITTED);
    }
}

static void
test_request_sanitised (void)
{
  g_autoptr(HgAlarm) alarm = new_alarm ("assistance", "abc");
  g_autoptr(HgScaipRequest) request = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *xml = NULL;

  g_test_summary ("Device ids are cut to 16 printable ASCII characters, room text to 32 "
                  "characters, markup is escaped, and an unknown room is lco 001");
  hg_alarm_set_device (alarm, "dev\x01ice<&>-with-a-very-long-name");
  hg_alarm_set_location (alarm, "Rummet där <mormor> & katten sover om natten ibland");
  request = hg_scaip_request_new_for_alarm (alarm, "12", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (request->did, ==, "device<&>-with-a");
  g_assert_cmpint (g_utf8_strlen (request->lte, -1), ==, 32);
  g_assert_cmpint (request->lco, ==, 1);
  xml = hg_scaip_request_to_xml (request, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (xml, "<did>device&lt;&amp;&gt;-with-a</did>"));
  g_assert_nonnull (strstr (xml, "<lte>Rummet där &lt;mormor&gt; &amp; katten sov</lte>"));
  g_assert_cmpint (hg_scaip_location_code ("  Bathroom "), ==, 11);
  g_assert_cmpint (hg_scaip_location_code ("YTTERDÖRR"), ==, 39);
  g_assert_cmpint (hg_scaip_location_code (""), ==, HG_SCAIP_OMITTED);
}

static void
test_request_xml_1_0 (void)
{
  g_autoptr(HgAlarm) alarm = new_alarm ("fall", "abc");
  g_autoptr(HgAlarm) only_controls = new_alarm ("fall", "abd");
  g_autoptr(HgScaipRequest) request = NULL;
  g_autoptr(HgScaipRequest) parsed = NULL;
  g_autoptr(HgScaipRequest) empty = NULL;
  g_autoptr(HgScaipRequest) by_hand = hg_scaip_request_new ("abc", HG_SCAIP_MTY_ME, "12", 5);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *xml = NULL;
  g_autofree gchar *empty_xml = NULL;
  g_autofree gchar *refused = NULL;
  const gchar *reference = "<mrq><ref>abc</ref><cid>12</cid><dty>5</dty><lte>a&#x7;b</lte></mrq>";
  const gchar *literal = "<mrq><ref>abc</ref><cid>12</cid><dty>5</dty><lte>a\007b</lte></mrq>";

  g_test_summary ("A location with control characters (BEL, a line break, DEL, C1 NEL, the "
                  "noncharacter U+FFFE, U+2028) is sent as one line of text XML 1.0 allows: "
                  "each run of them one space, none written as a character reference such as "
                  "&#x7; (XML 1.1 only), the room code read from the cleaned text; a request "
                  "holding one is refused by the encoder, and the simulator's reader refuses "
                  "such a document, by reference or literally");
  g_test_bug ("issue 10: malformed XML for a location with a control character");
  hg_alarm_set_location (alarm, "\x07Living\r\n\troom\x07\x7f\xc2\x85\xef\xbf\xbe\xe2\x80\xa8 ");
  request = hg_scaip_request_new_for_alarm (alarm, "12", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (request->lte, ==, "Living room");
  g_assert_cmpint (request->lco, ==, 43);
  xml = hg_scaip_request_to_xml (request, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (xml, "<lte>Living room</lte>"));
  g_assert_null (strstr (xml, "&#"));
  parsed = hg_scaip_request_parse (xml, strlen (xml), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (parsed->lte, ==, "Living room");

  /* nothing but control characters: no location at all */
  hg_alarm_set_location (only_controls, "\x07\n\x1b");
  empty = hg_scaip_request_new_for_alarm (only_controls, "12", NULL, &error);
  g_assert_no_error (error);
  g_assert_null (empty->lte);
  g_assert_cmpint (empty->lco, ==, HG_SCAIP_OMITTED);
  empty_xml = hg_scaip_request_to_xml (empty, &error);
  g_assert_no_error (error);
  g_assert_null (strstr (empty_xml, "<lte>"));
  g_assert_null (strstr (empty_xml, "<lco>"));

  /* the encoder itself never writes one */
  by_hand->lte = g_strdup ("a\007b");
  refused = hg_scaip_request_to_xml (by_hand, &error);
  g_assert_error (error, HG_SCAIP_CODEC_ERROR, HG_SCAIP_CODEC_ERROR_INVALID_FIELD);
  g_assert_null (refused);
  g_assert_nonnull (strstr (error->message, "<lte>"));
  g_clear_error (&error);

  /* the simulator's reader is as strict as an XML 1.0 parser */
  g_assert_null (hg_scaip_request_parse (reference, strlen (reference), &error));
  g_assert_error (error, HG_SCAIP_CODEC_ERROR, HG_SCAIP_CODEC_ERROR_MALFORMED);
  g_assert_nonnull (strstr (error->message, "U+0007"));
  g_clear_error (&error);
  g_assert_null (hg_scaip_request_parse (literal, strlen (literal), &error));
  g_assert_error (error, HG_SCAIP_CODEC_ERROR, HG_SCAIP_CODEC_ERROR_MALFORMED);
}

static void
test_request_strict (void)
{
  static const struct
  {
    const gchar *ref;
    const gchar *cid;
    gint dty;
    gint pri;
    const gchar *field;
    gint cha;
  } bad[] = {
    { "", "1", 2, HG_SCAIP_OMITTED, "<ref>", HG_SCAIP_OMITTED },
    { "ABCDEFGHIJKLMNOPQ", "1", 2, HG_SCAIP_OMITTED, "<ref>", HG_SCAIP_OMITTED },
    { "ab-c", "1", 2, HG_SCAIP_OMITTED, "<ref>", HG_SCAIP_OMITTED },
    { "abc", "", 2, HG_SCAIP_OMITTED, "<cid>", HG_SCAIP_OMITTED },
    { "abc", "12a", 2, HG_SCAIP_OMITTED, "<cid>", HG_SCAIP_OMITTED },
    { "abc", "123456789012345678901234567890123", 2, HG_SCAIP_OMITTED, "<cid>", HG_SCAIP_OMITTED },
    { "abc", "1", 10000, HG_SCAIP_OMITTED, "<dty>", HG_SCAIP_OMITTED },
    { "abc", "1", 2, 10, "<pri>", HG_SCAIP_OMITTED },
    { "abc", "1", 2, HG_SCAIP_OMITTED, "<cha>", 2 },
  };

  g_test_summary ("The encoder refuses a request that breaks the normative table and names "
                  "the field");
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(HgScaipRequest) request
          = hg_scaip_request_new (bad[i].ref, HG_SCAIP_MTY_ME, bad[i].cid, bad[i].dty);
      g_autoptr(GError) error = NULL;
      g_autofree gchar *xml = NULL;

      request->pri = bad[i].pri;
      request->cha = bad[i].cha;
      xml = hg_scaip_request_to_xml (request, &error);
      g_assert_null (xml);
      g_assert_error (error, HG_SCAIP_CODEC_ERROR, HG_SCAIP_CODEC_ERROR_INVALID_FIELD);
      g_assert_nonnull (strstr (error->message, bad[i].field));
    }
}

static void
test_request_minimal_and_kinds (void)
{
  g_autoptr(HgAlarm) alarm = new_alarm ("door", "ref9");
  g_autoptr(HgScaipRequest) request = NULL;
  g_autoptr(HgScaipRequest) abort_request = NULL;
  g_autoptr(HgScaipRequest) ping = hg_scaip_request_new ("hb1", HG_SCAIP_MTY_PI, "77", 2);
  g_autofree gchar *abort_xml = NULL;
  g_autofree gchar *ping_xml = NULL;

  g_test_summary ("An abort carries the mandatory fields of the first request with mty=RE; "
                  "a heartbeat is mty=PI with the local unit as device type");
  hg_alarm_set_location (alarm, "hall");
  request = hg_scaip_request_new_for_alarm (alarm, "77", NULL, NULL);
  abort_request = hg_scaip_request_new_minimal (request, HG_SCAIP_MTY_RE);
  abort_xml = hg_scaip_request_to_xml (abort_request, NULL);
  g_assert_cmpstr (abort_xml, ==,
                   "<mrq><ref>ref9</ref><mty>RE</mty><cid>77</cid><dty>0014</dty></mrq>");
  ping_xml = hg_scaip_request_to_xml (ping, NULL);
  g_assert_cmpstr (ping_xml, ==,
                   "<mrq><ref>hb1</ref><mty>PI</mty><cid>77</cid><dty>0002</dty></mrq>");
}

static void
test_request_round_trip (void)
{
  g_autoptr(HgAlarm) alarm = new_alarm ("water", "R0und7r1p");
  const gchar *crd[] = { "sip:luc@example.se", "gsm:", NULL };
  g_autoptr(HgScaipRequest) request = NULL;
  g_autoptr(HgScaipRequest) parsed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *xml = NULL;

  g_test_summary ("What the encoder writes, the liberal reader (the simulator's) reads back "
                  "unchanged, repeated <crd> and the callback request <cha> included");
  hg_alarm_set_location (alarm, "badrum");
  hg_alarm_set_device (alarm, "leak-3");
  request = hg_scaip_request_new_for_alarm (alarm, "0012", crd, NULL);
  g_assert_cmpint (request->cha, ==, HG_SCAIP_OMITTED);
  request->cha = 1;
  xml = hg_scaip_request_to_xml (request, NULL);
  g_assert_nonnull (strstr (xml, "<ref>R0und7r1p</ref><cha>1</cha><cid>"));
  parsed = hg_scaip_request_parse (xml, strlen (xml), &error);
  g_assert_no_error (error);
  g_assert_cmpint (parsed->cha, ==, 1);
  g_assert_cmpstr (parsed->ref, ==, "R0und7r1p");
  g_assert_cmpint (parsed->mty, ==, HG_SCAIP_MTY_ME);
  g_assert_cmpstr (parsed->cid, ==, "0012");
  g_assert_cmpint (parsed->dty, ==, 33);
  g_assert_cmpint (parsed->stc, ==, 9);
  g_assert_cmpint (parsed->lco, ==, 11);
  g_assert_cmpstr (parsed->lte, ==, "badrum");
  g_assert_cmpstr (parsed->did, ==, "leak-3");
  g_assert_cmpuint (parsed->crd->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (parsed->crd, 1), ==, "gsm:");
}

static void
test_request_heartbeat_options (void)
{
  g_autoptr(HgScaipRequest) ping = hg_scaip_request_new ("hb2", HG_SCAIP_MTY_PI, "77", 2);
  g_autoptr(HgScaipRequest) parsed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *xml = NULL;

  g_test_bug ("10");
  g_test_summary ("hbo is written as 001 after mty (SS 91100 Table 1: the ARC may set the "
                  "interval), read back numerically, and a value other than 0 or 1 is refused");
  ping->hbo = 1;
  xml = hg_scaip_request_to_xml (ping, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (
      xml, ==, "<mrq><ref>hb2</ref><mty>PI</mty><hbo>001</hbo><cid>77</cid><dty>0002</dty></mrq>");
  parsed = hg_scaip_request_parse (xml, strlen (xml), &error);
  g_assert_no_error (error);
  g_assert_cmpint (parsed->hbo, ==, 1);
  g_clear_pointer (&xml, g_free);
  ping->hbo = 2;
  xml = hg_scaip_request_to_xml (ping, &error);
  g_assert_null (xml);
  g_assert_error (error, HG_SCAIP_CODEC_ERROR, HG_SCAIP_CODEC_ERROR_INVALID_FIELD);
}

static void
test_response_liberal (void)
{
  static const struct
  {
    const gchar *xml;
    guint snu;
    const gchar *snu_raw;
  } good[] = {
    { "<mrs><ref>abc</ref><snu>0</snu></mrs>", 0, "0" },
    { "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<mrs>\n  <ref> abc </ref>\n  "
      "<snu>004</snu>\n</mrs>\n",
      4, "004" },
    { "<s:mrs xmlns:s=\"urn:scaip\"><s:ref>abc</s:ref><s:snu>04</s:snu></s:mrs>", 4, "04" },
    { "<mrs xmlns=\"http://example.org/scaip\"><ref>abc</ref><snu>5</snu><ste>not "
      "treated</ste></mrs>",
      5, "5" },
    { "<scaip><ref>abc</ref><snu>6</snu></scaip>", 6, "6" },
    { "<scaip><mrs><ref>abc</ref><snu>0</snu></mrs></scaip>", 0, "0" },
    { "<!-- from the ARC "
      "--><mrs><ref>abc</ref><snu>42</snu><foo>bar</foo><mre>01</mre><tnu>gsm:</tnu><tnu>sip:x@y</"
      "tnu></mrs>",
      42, "42" },
  };

  g_test_summary (
      "<mrs> is read liberally: XML declaration optional, any namespace prefix, "
      "zero padding, the <scaip> root, unknown elements ignored, unknown codes kept raw");
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(HgScaipResponse) response
          = hg_scaip_response_parse (good[i].xml, strlen (good[i].xml), &error);

      g_assert_no_error (error);
      g_assert_cmpstr (response->ref, ==, "abc");
      g_assert_cmpuint (response->snu, ==, good[i].snu);
      g_assert_cmpstr (response->snu_raw, ==, good[i].snu_raw);
    }
  {
    g_autoptr(HgScaipResponse) response
        = hg_scaip_response_parse (good[6].xml, strlen (good[6].xml), NULL);
    g_assert_cmpint (response->mre, ==, 1);
    g_assert_cmpuint (response->tnu->len, ==, 2);
    g_assert_cmpint (hg_scaip_status_from_snu (response->snu), ==, HG_SCAIP_STATUS_MESSAGE_ERROR);
  }
  g_assert_cmpint (hg_scaip_status_from_snu (0), ==, HG_SCAIP_STATUS_OK);
  g_assert_cmpint (hg_scaip_status_from_snu (4), ==, HG_SCAIP_STATUS_HOLD);
  g_assert_cmpint (hg_scaip_status_from_snu (5), ==, HG_SCAIP_STATUS_NOT_TREATED);
  g_assert_cmpint (hg_scaip_status_from_snu (6), ==, HG_SCAIP_STATUS_BUSY);
  for (guint snu = 1; snu < 100; snu++)
    {
      if (snu != 4 && snu != 5 && snu != 6)
        g_assert_cmpint (hg_scaip_status_from_snu (snu), ==, HG_SCAIP_STATUS_MESSAGE_ERROR);
    }
}

static void
test_response_malformed (void)
{
  static const struct
  {
    const gchar *xml;
    gint code;
    const gchar *needle;
  } bad[] = {
    { "", HG_SCAIP_CODEC_ERROR_MALFORMED, "empty" },
    { "garbage \x01\x02 not xml", HG_SCAIP_CODEC_ERROR_MALFORMED, "not well-formed" },
    { "<mrs><ref>abc</ref><snu>0</snu>", HG_SCAIP_CODEC_ERROR_MALFORMED, "not well-formed" },
    { "<mrs><ref>abc</ref><snu>0</snu></mrq>", HG_SCAIP_CODEC_ERROR_MALFORMED, "not well-formed" },
    { "<mrq><ref>abc</ref><snu>0</snu></mrq>", HG_SCAIP_CODEC_ERROR_WRONG_ROOT, "<mrq>" },
    { "<mrs><snu>0</snu></mrs>", HG_SCAIP_CODEC_ERROR_MISSING_FIELD, "<ref>" },
    { "<mrs><ref>abc</ref></mrs>", HG_SCAIP_CODEC_ERROR_MISSING_FIELD, "<snu>" },
    { "<mrs><ref>abc</ref><ref>abd</ref><snu>0</snu></mrs>", HG_SCAIP_CODEC_ERROR_INVALID_FIELD,
      "more than once" },
    { "<mrs><ref>ab c</ref><snu>0</snu></mrs>", HG_SCAIP_CODEC_ERROR_INVALID_FIELD, "<ref>" },
    { "<mrs><ref>abc</ref><snu>1000</snu></mrs>", HG_SCAIP_CODEC_ERROR_INVALID_FIELD, "<snu>" },
    { "<mrs><ref>abc</ref><snu>-1</snu></mrs>", HG_SCAIP_CODEC_ERROR_INVALID_FIELD, "<snu>" },
    { "<mrs><ref>abc</ref><snu><b>0</b></snu></mrs>", HG_SCAIP_CODEC_ERROR_MALFORMED, "<b>" },
    { "<mrs>hello<ref>abc</ref><snu>0</snu></mrs>", HG_SCAIP_CODEC_ERROR_MALFORMED,
      "text outside" },
    { "<mrs><ref>abc</ref><snu>0</snu><hbi>x</hbi></mrs>", HG_SCAIP_CODEC_ERROR_INVALID_FIELD,
      "<hbi>" },
    { "<mrs><ref>&foo;</ref><snu>0</snu></mrs>", HG_SCAIP_CODEC_ERROR_MALFORMED,
      "not well-formed" },
    { "<mrs><ref>abc</ref><snu>0</snu></mrs><mrs/>", HG_SCAIP_CODEC_ERROR_MALFORMED,
      "not well-formed" },
  };

  g_test_summary ("Malformed, incomplete or wrongly shaped <mrs> documents are refused with "
                  "an error saying what is wrong, never a crash or a critical");
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(HgScaipResponse) response
          = hg_scaip_response_parse (bad[i].xml, strlen (bad[i].xml), &error);

      g_test_message ("%s → %s", bad[i].xml, error != NULL ? error->message : "(accepted)");
      g_assert_null (response);
      g_assert_error (error, HG_SCAIP_CODEC_ERROR, bad[i].code);
      g_assert_nonnull (strstr (error->message, bad[i].needle));
    }
}

static void
test_response_size_limit (void)
{
  g_autoptr(GString) big = g_string_new ("<mrs><ref>abc</ref><snu>0</snu><ste>");
  g_autoptr(GError) error = NULL;
  g_autoptr(HgScaipResponse) response = NULL;

  g_test_summary ("A response above 4096 bytes is refused before it is parsed, and "
                  "nesting deeper than the fields is refused");
  while (big->len < HG_SCAIP_MAX_DOCUMENT + 1)
    g_string_append_c (big, 'x');
  g_string_append (big, "</ste></mrs>");
  response = hg_scaip_response_parse (big->str, big->len, &error);
  g_assert_null (response);
  g_assert_error (error, HG_SCAIP_CODEC_ERROR, HG_SCAIP_CODEC_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "4096"));
  g_clear_error (&error);

  response = hg_scaip_response_parse ("<mrs><a><b><c><d><e><f><g/></f></e></d></c></b></a></mrs>",
                                      56, &error);
  g_assert_null (response);
  g_assert_error (error, HG_SCAIP_CODEC_ERROR, HG_SCAIP_CODEC_ERROR_MALFORMED);
}

static void
test_response_round_trip (void)
{
  g_autoptr(HgScaipResponse) response = hg_scaip_response_new ("XyZ09", 4);
  g_autoptr(HgScaipResponse) parsed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *xml = NULL;

  g_test_summary ("The simulator's <mrs> writer and the plugin's reader agree");
  response->ste = g_strdup ("in progress <ok>");
  response->mre = 1;
  g_ptr_array_add (response->tnu, g_strdup ("gsm:+4612345"));
  xml = hg_scaip_response_to_xml (response, &error);
  g_assert_no_error (error);
  parsed = hg_scaip_response_parse (xml, strlen (xml), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (parsed->ref, ==, "XyZ09");
  g_assert_cmpuint (parsed->snu, ==, 4);
  g_assert_cmpstr (parsed->ste, ==, "in progress <ok>");
  g_assert_cmpint (parsed->mre, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (parsed->tnu, 0), ==, "gsm:+4612345");
}

static void
test_new_ref (void)
{
  g_autofree gchar *a = hg_scaip_new_ref ();
  g_autofree gchar *b = hg_scaip_new_ref ();

  g_test_summary ("Heartbeat references are valid and differ");
  g_assert_true (hg_scaip_ref_is_valid (a));
  g_assert_cmpuint (strlen (a), ==, 16);
  g_assert_cmpstr (a, !=, b);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/scaip/codec/request/from-alarm", test_request_from_alarm);
  g_test_add_func ("/scaip/codec/request/mapping-table", test_request_mapping_table);
  g_test_add_func ("/scaip/codec/request/sanitised-and-escaped", test_request_sanitised);
  g_test_add_func ("/scaip/codec/request/xml-1-0-characters-only", test_request_xml_1_0);
  g_test_add_func ("/scaip/codec/request/strict-lengths-and-charsets", test_request_strict);
  g_test_add_func ("/scaip/codec/request/abort-and-heartbeat", test_request_minimal_and_kinds);
  g_test_add_func ("/scaip/codec/request/round-trip", test_request_round_trip);
  g_test_add_func ("/scaip/codec/request/heartbeat-options", test_request_heartbeat_options);
  g_test_add_func ("/scaip/codec/response/liberal", test_response_liberal);
  g_test_add_func ("/scaip/codec/response/malformed-refused", test_response_malformed);
  g_test_add_func ("/scaip/codec/response/size-and-depth-limits", test_response_size_limit);
  g_test_add_func ("/scaip/codec/response/round-trip", test_response_round_trip);
  g_test_add_func ("/scaip/codec/ref/heartbeat-refs", test_new_ref);
  return g_test_run ();
}
