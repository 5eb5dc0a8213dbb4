"""Properties of what a reply goes through: the envelope decoder, ``expire``, the body decoder."""

from __future__ import annotations

import contextlib
import gzip
import itertools
import json
import math
import zlib
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from contactnow_async import Envelope, ResponseFormatError
from contactnow_async._encoding import BodyDecoder, CutShort, EncodingError, TooLarge
from contactnow_async._models import token_expiry
from contactnow_async._values import MAX_UNIX_TIME
from contactnow_async._wire import decode, xml_list
from tests._helpers import examples
from tests._text import text, utf8_chars

# --- the envelope decoder: JSON and XML alike, and nothing but ResponseFormatError ------

# Text XML 1.0 can carry (no control characters but tab, newline and CR; no surrogates).
_xml_text = st.text(
    st.characters(
        blacklist_categories=["Cs"],
        blacklist_characters="".join(chr(c) for c in range(32) if chr(c) not in "\t\n\r")
        + "\ufffe\uffff",
    ),
    max_size=12,
).filter(lambda text: text.strip() or "\n" not in text)  # a layout-only text reads as empty
_names = st.sampled_from(["agentid", "name", "phone", "status", "moh", "srvtime", "a", "b_2"])
_scalars = st.one_of(st.none(), _xml_text, st.integers(-(10**12), 10**12))
_calls = st.lists(st.dictionaries(_names, _scalars, max_size=3), max_size=3)
_records = st.lists(
    st.dictionaries(_names, _scalars, min_size=1, max_size=5).flatmap(
        lambda record: st.one_of(
            st.just(record), _calls.map(lambda calls: {**record, "call": calls})
        )
    ),
    max_size=4,
)


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def _xml_field(name: str, value: Any) -> str:
    """A field as the API writes it: None, "" and [] as an empty element, a list as items."""
    if value is None or value in ("", []):
        return f"<{name}/>"
    if isinstance(value, list):
        items = "".join(
            f"<item>{''.join(_xml_field(k, v) for k, v in item.items())}</item>" for item in value
        )
        return f"<{name}>{items}</{name}>"
    return f"<{name}>{_escape(str(value))}</{name}>"


def _as_xml(records: list[dict[str, Any]]) -> bytes:
    rows = "".join(
        "\n  <agent>" + "".join(_xml_field(k, v) for k, v in record.items()) + "</agent>"
        for record in records
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<result><success>1</success>'
        f"<total>{len(records)}</total><list>{rows}\n</list></result>"
    ).encode()


def _text(value: Any) -> str:
    return "" if value is None else str(value)  # null in JSON, an empty element in XML


def _shape(envelope: Envelope) -> list[dict[str, Any]]:
    """What JSON and XML both say of the records: text, and ``call`` as a list of calls
    (as the models read it: ``<call/>`` and ``[]`` are both no calls)."""
    return [
        {
            name: [{k: _text(v) for k, v in (call or {}).items()} for call in xml_list(value)]
            if name == "call"
            else _text(value)
            for name, value in record.items()
        }
        for record in envelope.records
    ]


@settings(max_examples=examples(100), deadline=None)
@given(_records)
def test_json_and_xml_renderings_of_the_same_records_decode_alike(
    records: list[dict[str, Any]],
) -> None:
    body = {"success": True, "total": len(records), "list": records}
    from_json, from_xml = decode(json.dumps(body).encode()), decode(_as_xml(records))
    assert (from_json.success, from_json.total) == (from_xml.success, from_xml.total)
    assert _shape(from_json) == _shape(from_xml)
    assert len(from_json.records) == len(records)


_prefixes = st.sampled_from(
    [
        b"",
        b"\xef\xbb\xbf",
        b"{",
        b'{"success":true,"list":',
        b"\xef\xbb\xbf<result>",
        b'<?xml version="1.0" encoding="UTF-16"?><result>',
        b'<?xml version="1.0" encoding="no-such-charset"?><result>',
        b"<!DOCTYPE result [<!ENTITY a 'aaaa'>]><result>",
    ]
)


@settings(max_examples=examples(100), deadline=None)
@given(_prefixes, st.binary(max_size=300))
def test_any_bytes_decode_or_raise_only_a_format_error(prefix: bytes, tail: bytes) -> None:
    try:
        envelope = decode(prefix + tail)
    except ResponseFormatError:
        return
    assert isinstance(envelope, Envelope)


# --- the token reply's expire -----------------------------------------------------------

_numbers_as_text = st.one_of(
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.from_regex(
        r"-?[0-9]{1,20}(\.[0-9]{0,3})?(e[+-]?[0-9]{1,3})?", fullmatch=True, alphabet=utf8_chars
    ),
)
_json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=-2, max_value=MAX_UNIX_TIME + 1),
        st.floats(allow_nan=True, allow_infinity=True),
        text(max_size=8),
        _numbers_as_text,
    ),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(text(), children),
    max_leaves=5,
)


@settings(max_examples=examples(100), deadline=None)
@given(_json_values)
def test_an_expire_is_a_unix_time_in_range_or_a_format_error(value: object) -> None:
    wire = json.loads(json.dumps(value))  # as it arrives (NaN and Infinity included)
    try:
        expires = token_expiry(wire)
    except ResponseFormatError:
        return
    assert type(expires) is int
    assert -1 <= expires <= MAX_UNIX_TIME
    if isinstance(wire, (int, float)) and not isinstance(wire, bool):
        assert math.isfinite(wire)
        assert expires == math.floor(wire)  # a fraction: the second before


# --- the bounded body decoder -----------------------------------------------------------


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


_ENCODERS: Mapping[str, tuple[str, Callable[[bytes], bytes]]] = {
    "gzip": ("gzip", gzip.compress),
    "x-gzip": ("x-gzip", gzip.compress),
    "zlib": ("deflate", zlib.compress),
    "raw-deflate": ("deflate", _raw_deflate),
}


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
    return [data[start:end] for start, end in itertools.pairwise(points)]


def _decode(content_encoding: str, chunks: list[bytes], cap: int) -> bytes:
    decoder = BodyDecoder(content_encoding, cap=cap)
    for chunk in chunks:
        decoder.feed(chunk)
    return decoder.finish()


@settings(max_examples=examples(100), deadline=None)
@given(
    st.binary(max_size=2000) | st.integers(0, 300_000).map(bytes),  # and some that inflate far
    st.lists(st.sampled_from(sorted(_ENCODERS)), max_size=3),
    st.lists(st.integers(min_value=0), max_size=6),
    st.integers(min_value=1, max_value=400_000),
)
@example(body=b"", encodings=["raw-deflate"], cuts=[1], cap=1)  # its first byte alone
@example(body=b"{}", encodings=["raw-deflate", "gzip"], cuts=[12], cap=2)  # gzip gives 1 byte
def test_a_stack_of_encodings_decodes_to_the_body_or_too_large(
    body: bytes, encodings: list[str], cuts: list[int], cap: int
) -> None:
    wire = body
    for name in encodings:  # in the order the header lists them: the first applied first
        wire = _ENCODERS[name][1](wire)
    header = ", ".join(_ENCODERS[name][0] for name in encodings)
    chunks = _chunks(wire, cuts)  # the network cuts the body anywhere
    if len(body) > cap:
        with pytest.raises(TooLarge):
            _decode(header, chunks, cap)
    else:
        assert _decode(header, chunks, cap) == body


@settings(max_examples=examples(100), deadline=None)
@given(
    st.binary(max_size=2000),
    st.lists(st.integers(min_value=0), max_size=4),
    st.lists(st.integers(min_value=0), max_size=6),
    st.sampled_from([b"", b"\x00" * 8, b"\n", b"not gzip"]),
)
def test_a_gzip_body_of_several_members_decodes_whole(
    body: bytes, splits: list[int], cuts: list[int], after: bytes
) -> None:
    """RFC 1952's members one after another (``cat a.gz b.gz``): all of them, not the first
    alone; what follows the last that starts no member (padding) is ignored."""
    wire = b"".join(gzip.compress(part) for part in _chunks(body, splits) or [b""]) + after
    assert _decode("gzip", _chunks(wire, cuts), cap=10_000) == body
    second = gzip.compress(b"more")
    with pytest.raises(CutShort):  # a member that stops before its end is still cut short
        _decode("gzip", _chunks(gzip.compress(body) + second[:-3], cuts), cap=10_000)


@settings(max_examples=examples(100), deadline=None)
@given(
    st.binary(max_size=500),
    st.lists(st.sampled_from(["gzip", "deflate", "x-gzip", "identity", "br", "GZip"]), max_size=5)
    | text(max_size=20).map(lambda text: [text]),
    st.lists(st.integers(min_value=0), max_size=4),
)
def test_garbage_under_any_encoding_raises_only_encoding_errors(
    garbage: bytes, encodings: list[str], cuts: list[int]
) -> None:
    with contextlib.suppress(EncodingError, TooLarge):
        _decode(", ".join(encodings), _chunks(garbage, cuts), cap=10_000)
