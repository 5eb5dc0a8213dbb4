"""The wire layer: decoding envelopes, encoding payloads."""

from __future__ import annotations

import html
import json
import urllib.parse
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactnow_async import Envelope, ResponseFormatError
from contactnow_async._wire import decode, encode_payload, set_json_decoder
from tests._helpers import examples
from tests._text import text

# Text XML 1.0 can carry: no control characters but tab/newline/CR, no surrogates.
xml_text = st.text(
    st.characters(
        blacklist_categories=["Cs"],
        blacklist_characters="".join(chr(c) for c in range(32) if chr(c) not in "\t\n\r")
        + "\ufffe\uffff",
    )
)


def test_json_and_xml_envelopes_decode_alike() -> None:
    from_json = decode(
        b'{"success":true,"account_id":"10278","total":1,"bad":0,"key":550423,"error":null}'
    )
    from_xml = decode(
        b"<result><success>1</success><account_id>10278</account_id><total>1</total>"
        b"<bad>0</bad><key>550423</key><error/></result>"
    )
    assert (
        from_json
        == from_xml
        == Envelope(success=True, account_id="10278", total=1, bad=0, key="550423", error=None)
    )


@pytest.mark.parametrize(
    ("body", "success"),
    [
        (b'{"success":false,"error":"x"}', False),
        (b"<result><success>0</success></result>", False),
        (b"<result><success>1</success></result>", True),
        (b"<result><success>true</success></result>", True),
    ],
)
def test_success_booleans(body: bytes, success: bool) -> None:
    assert decode(body).success is success


def test_one_xml_item_and_many_are_both_lists() -> None:
    one = decode(
        b"<result><success>1</success><list><agent><agentid>1</agentid></agent></list></result>"
    )
    many = decode(
        b"<result><success>1</success><list><agent><agentid>1</agentid></agent>"
        b"<agent><agentid>2</agentid></agent></list></result>"
    )
    assert one.records == ({"agentid": "1"},)
    assert many.records == ({"agentid": "1"}, {"agentid": "2"})


def test_list_given_several_times_is_one_list_of_their_records() -> None:
    envelope = decode(
        b"<result><success>1</success><list><agent><agentid>1</agentid></agent></list><list/>"
        b"<list><agent/><agent><agentid>2</agentid></agent></list></result>"
    )
    assert envelope.records == ({"agentid": "1"}, {}, {"agentid": "2"})
    with pytest.raises(ResponseFormatError, match="wrong shape"):  # text is no record
        decode(b"<result><success>1</success><list>abc</list><list/></result>")


def test_empty_list_elements() -> None:
    assert decode(b"<result><success>1</success><list/></result>").records == ()
    assert decode(b"<result><success>1</success><list>\n  </list></result>").records == ()
    assert decode(b'{"success":true,"list":[]}').records == ()


def test_bare_key_json_fallback() -> None:
    envelope = decode(b'{success: true, total: 1, list: [{uid: "1", call: [ ]}]}')
    assert envelope.success is True
    assert envelope.records == ({"uid": "1", "call": []},)


def test_iso_8859_1_declaration() -> None:
    body = '<?xml version="1.0" encoding="ISO-8859-1"?><result><success>1</success>'
    body += "<error>Zo\u00eb</error></result>"
    assert decode(body.encode("latin-1")).error == "Zo\u00eb"


@pytest.mark.parametrize("decoder", ["stdlib", "orjson"])
@pytest.mark.parametrize(
    "body",
    [
        b'{"success":true,"total":1,"list":[{"agentid":NaN,"name":"Ann"}]}',
        b'{"success":true,"total":1,"list":[{"agentid":"1","name":-Infinity}]}',
        b'{"success":true,"total":1,"key":1e400}',
        b"{success: true, total: 1, key: NaN}",  # through the bare-key repair too
    ],
)
def test_a_json_number_that_is_not_finite_is_a_format_error(body: bytes, decoder: str) -> None:
    """json_encode cannot write NaN, Infinity or 1e400: read, each became the text
    ``"nan"`` or ``"inf"`` of an agent's id, its name, or a created record's key."""
    set_json_decoder("stdlib" if decoder == "stdlib" else "orjson")
    try:
        with pytest.raises(ResponseFormatError, match="JSON number that is not finite"):
            decode(body)
    finally:
        set_json_decoder("auto")


def test_finite_and_large_json_numbers_still_read() -> None:
    envelope = decode(b'{"success":true,"total":1,"key":550423,"list":[{"x":1.5,"y":1e300}]}')
    assert envelope.key == "550423"
    assert envelope.records == ({"x": 1.5, "y": 1e300},)


def test_a_created_key_written_as_a_whole_float_is_the_id_it_names() -> None:
    # The key of a create is an id (ECNOW.md: "[key] => Record ID inserted"): a PHP float
    # 2499265.0 was the key "2499265.0", which names no record when read back by it.
    json_key = decode(b'{"success":true,"account_id":10278.0,"total":1,"bad":0,"key":2499265.0}')
    xml_key = decode(b"<result><success>1</success><total>1</total><key>2499265</key></result>")
    assert json_key.key == xml_key.key == "2499265"
    assert json_key.account_id == "10278"


@pytest.mark.parametrize("field", ["key", "account_id"])
@pytest.mark.parametrize("value", ["true", "false", "1.5"])
def test_a_key_or_account_that_is_no_id_is_a_format_error(field: str, value: str) -> None:
    # A bool went as the key "True" (or "False"), and 1.5 as "1.5": neither names a record.
    with pytest.raises(ResponseFormatError, match=f"{field} is not an id"):
        decode(f'{{"success":true,"total":1,"bad":0,"{field}":{value}}}'.encode())


@pytest.mark.parametrize("field", ["total", "bad"])
@pytest.mark.parametrize("value", ["-3", "-1"])
def test_a_count_below_zero_is_a_format_error(field: str, value: str) -> None:
    """A write reported ``total`` -3 as done (``WriteResult(total=-3)``), and ``bad`` -1
    as a WriteError of "-1 record(s) refused": neither is a count the API sends."""
    with pytest.raises(ResponseFormatError, match=rf"{field} is {value}, not a count"):
        decode(f'{{"success":true,"{field}":{value}}}'.encode())
    with pytest.raises(ResponseFormatError, match=rf"{field} is {value}, not a count"):
        decode(f"<result><success>1</success><{field}>{value}</{field}></result>".encode())


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "HTML"),
        (b"<html><body>oops</body></html>", "HTML"),
        (b'{"success":true,"tot', "does not parse"),
        (b"<result><success>1</success>", "does not parse"),
        (b"[1, 2]", "neither JSON nor XML"),
        (b'{"total": 1}', "success"),
        (b"<other><success>1</success></other>", "root"),
        (b'{"success":"maybe"}', "wrong shape"),
        (b'{"success":true,"total":"many"}', "wrong shape"),
        (b'{"success":true,"list":"nope"}', "wrong shape"),
        (b'{"success":true,"list":[1,2]}', "wrong shape"),
        # One record where the list of them goes: its fields are no records (it said "a
        # list item is a str", of no list in sight).
        (b'{"success":true,"list":{"uid":"1","name":"Ann"}}', "list's 'uid' is a str"),
        (b'{"success":true,"total":1e999}', "not finite"),
        (b'{"success":true,"total":1.5}', "a count is a whole number"),
        (b'{"success":true,"bad":0.5}', "a count is a whole number"),
        (b'{"success":true,"list":' + b"[" * 100_000 + b"]" * 100_000 + b"}", ""),
        (b"plain text", "neither JSON nor XML"),
    ],
)
def test_not_an_envelope(body: bytes, reason: str) -> None:
    with pytest.raises(ResponseFormatError) as info:
        decode(body, status_code=502, content_type="text/html")
    assert reason in str(info.value)
    assert info.value.status_code == 502
    assert info.value.content_type == "text/html"
    assert "HTTP 502" in str(info.value)
    assert "text/html" in str(info.value)


def test_snippet_is_short_and_redacted() -> None:
    secret_token = "f" * 40
    body = b"<html>" + b"x" * 180 + b"token=" + secret_token.encode() + b" pw hunter2" + b"y" * 500
    with pytest.raises(ResponseFormatError) as info:
        decode(body, secrets=["hunter2"])
    text = str(info.value) + info.value.snippet
    assert "hunter2" not in text
    assert "ffffffff" not in text  # not even a prefix of the token
    assert len(info.value.snippet) <= 220


@pytest.mark.parametrize("cut", range(150, 215, 3))
def test_a_secret_across_the_snippet_cut_is_not_leaked(cut: int) -> None:
    password = "Sup3rS3cretPassw0rd!"
    body = b"<html>" + b"x" * cut + password.encode() + b"</html>"
    with pytest.raises(ResponseFormatError) as info:
        decode(body, secrets=[password])
    for size in range(6, len(password) + 1):
        assert password[:size] not in info.value.snippet


@pytest.mark.parametrize(
    "secret",
    ["Sup3rS3cretPassw0rd!", "S" * 41, "a&b<c>d e/f" * 4, "\u00e9t\u00e9-" * 6],
    ids=["password", "long", "escaped", "accented"],
)
@pytest.mark.parametrize("copies", [5, 20, 60])
def test_a_secret_cut_by_the_window_is_not_leaked_when_redaction_shortens_it(
    secret: str, copies: int
) -> None:
    # Redacting the copies ahead shortened the text: a copy cut by the end of the
    # redacted window then fell inside the snippet (10 "<redacted>" and 40 characters
    # of a 41-character token). Every cut position, in every form the secret is echoed.
    forms = [
        secret,
        urllib.parse.quote(secret, safe=""),
        html.escape(secret),
        json.dumps(secret)[1:-1],
    ]
    for form in forms:
        for shift in range(len(form)):
            body = b"<html>" + b"x" * shift + form.encode() * copies + b"</html>"
            with pytest.raises(ResponseFormatError) as info:
                decode(body, secrets=[secret])
            snippet = info.value.snippet
            assert len(snippet) <= 200
            for size in range(8, len(form) + 1):
                assert form[:size] not in snippet, (form, shift, snippet)


def test_a_body_that_redaction_shrinks_to_nothing_is_not_redacted_whole() -> None:
    # 2 MB of one secret: the window stops growing at 64 KiB, and the snippet stops short
    # of the redacted window's end, where a cut copy would be.
    secret = "Sup3rS3cretPassw0rd!"
    for shift in range(len(secret)):
        body = b"<html>" + b"x" * shift + secret.encode() * 100_000
        with pytest.raises(ResponseFormatError) as info:
            decode(body, secrets=[secret])
        assert "<redacted>" in info.value.snippet
        for size in range(6, len(secret) + 1):
            assert secret[:size] not in info.value.snippet


@settings(max_examples=examples(150), deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_decode_or_raise_format_error(body: bytes) -> None:
    try:
        envelope = decode(body)
    except ResponseFormatError:
        return
    assert isinstance(envelope, Envelope)


@settings(max_examples=examples(250), deadline=None)
@given(
    st.sampled_from([b"{", b"<result>", b"<?xml version='1.0'?><result>", b'{"success":']),
    st.binary(max_size=200),
)
def test_prefixed_random_bytes_decode_or_raise_format_error(prefix: bytes, tail: bytes) -> None:
    # The prefixes steer the random tails into the JSON and XML parsers.
    try:
        envelope = decode(prefix + tail)
    except ResponseFormatError:
        return
    assert isinstance(envelope, Envelope)


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), text(max_size=5))


@settings(max_examples=examples(150), deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["success", "total", "bad", "key", "error", "account_id", "list"]),
        st.recursive(
            json_scalars,
            lambda children: (
                st.lists(children, max_size=3)
                | st.dictionaries(text(max_size=3), children, max_size=3)
            ),
            max_leaves=8,
        ),
    )
)
def test_random_json_shapes_decode_or_raise_format_error(body: dict[str, object]) -> None:
    try:
        envelope = decode(json.dumps(body).encode())
    except ResponseFormatError:
        return
    assert isinstance(envelope, Envelope)


# --- payloads ---------------------------------------------------------------------------


def test_a_single_record_is_still_a_json_array() -> None:
    body, content_type = encode_payload(
        [{"agentid": "550423", "name": "John Dow"}], format="json", record_name="agent"
    )
    assert content_type == "application/json"
    assert json.loads(body) == [{"agentid": "550423", "name": "John Dow"}]
    assert body.startswith(b"[")


def test_json_payload_values_are_strings_and_none_is_left_out() -> None:
    body, _ = encode_payload(
        [{"agentid": "1", "qid": 7, "level": 100, "phone": None}, {"agentid": "2", "aod": True}],
        format="json",
        record_name="priority",
    )
    assert json.loads(body) == [
        {"agentid": "1", "qid": "7", "level": "100"},
        {"agentid": "2", "aod": "1"},
    ]


def test_xml_payload_is_dxi_with_one_element_per_record() -> None:
    body, content_type = encode_payload(
        [{"name": "Ann", "username": "ann"}, {"name": "Bob"}], format="xml", record_name="agent"
    )
    assert content_type == "application/xml"
    root = ET.fromstring(body)  # noqa: S314 -- our own payload
    assert root.tag == "dxi"
    assert [child.tag for child in root] == ["agent", "agent"]
    assert root[0].findtext("name") == "Ann"
    assert root[0].findtext("username") == "ann"
    assert root[1].findtext("name") == "Bob"


def test_xml_payload_escapes_markup() -> None:
    body, _ = encode_payload([{"name": "A&B <x>"}], format="xml", record_name="agent")
    assert b"A&amp;B &lt;x&gt;" in body
    assert ET.fromstring(body).findtext("agent/name") == "A&B <x>"  # noqa: S314 -- our own payload


def test_xml_payload_refuses_text_xml_cannot_carry() -> None:
    with pytest.raises(ValueError, match="XML"):
        encode_payload([{"name": "bell\x07"}], format="xml", record_name="agent")


@settings(max_examples=examples(150), deadline=None)
@given(name=xml_text)
def test_names_survive_a_json_round_trip(name: str) -> None:
    body, _ = encode_payload([{"name": name}], format="json", record_name="agent")
    assert json.loads(body) == [{"name": name}]


@settings(max_examples=examples(150), deadline=None)
@given(name=xml_text | st.sampled_from(["A&B <x>", "'\"", "]]>", " lead", "trail ", "a\r\nb"]))
def test_names_survive_an_xml_round_trip(name: str) -> None:
    body, _ = encode_payload([{"name": name, "agentid": "1"}], format="xml", record_name="agent")
    agent = ET.fromstring(body).find("agent")  # noqa: S314 -- our own payload
    assert agent is not None
    assert (agent.findtext("name") or "") == name
    assert agent.findtext("agentid") == "1"
