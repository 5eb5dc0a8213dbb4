"""Hostile reply bodies the envelope decoder must refuse (or read) the same way with either
JSON decoder and from any stack, and without quoting what a server echoed."""

from __future__ import annotations

import json
import re
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactnow_async import ResponseFormatError, _json_decoders
from contactnow_async._json_decoders import (
    MAX_JSON_DEPTH,
    SAFE_ORJSON,
    json_decoder,
    nested_json,
    set_json_decoder,
)
from contactnow_async._values import NotFinite, finite_json
from contactnow_async._wire import decode
from tests._helpers import examples
from tests._text import text

DECODERS = ["stdlib", "orjson"]


@pytest.fixture(params=DECODERS)
def decoder(request: pytest.FixtureRequest) -> Iterator[str]:
    set_json_decoder(request.param)
    try:
        yield request.param
    finally:
        set_json_decoder("auto")


def _outcome(body: bytes) -> object:
    """The envelope's success and how deep its first record's ``a`` nests, or the error."""
    try:
        envelope = decode(body)
    except ResponseFormatError as exc:
        return str(exc).split(", not a ContactNow envelope")[0]
    depth, value = 0, envelope.records[0]["a"]
    while value:  # not == on the values: comparing 1,000 levels recurses as deep
        depth, value = depth + 1, value[0]
    return (envelope.success, depth + 1)


def _from_a_deep_stack(frames: int, body: bytes) -> object:
    """:func:`_outcome` called under ``frames`` more frames (a caller deep in its own code)."""
    if frames:
        return _from_a_deep_stack(frames - 1, body)
    return _outcome(body)


def _nested(depth: int) -> bytes:
    """An envelope whose one record holds arrays ``depth`` levels deep, counted from the
    top (the envelope's object, its list and the record are three of them)."""
    inner = depth - 3
    return b'{"success":true,"list":[{"a":' + b"[" * inner + b"]" * inner + b"}]}"


@pytest.mark.parametrize("depth", [900, 990, 1000, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1])
@pytest.mark.parametrize("frames", [0, 400])
def test_both_decoders_read_the_same_depth_from_any_stack(depth: int, frames: int) -> None:
    """orjson reads 1,024 levels from anywhere; the standard library read as deep as the
    caller's stack let it (on 3.11, 1,000 less the frames above): a body nested 1,000
    deep was a reply with orjson and a ResponseFormatError without it."""
    outcomes = []
    for name in DECODERS:
        set_json_decoder(name)  # type: ignore[arg-type]  # one of the literals
        try:
            outcomes.append(_from_a_deep_stack(frames, _nested(depth)))
        finally:
            set_json_decoder("auto")
    assert outcomes[0] == outcomes[1]
    # From 3.12 the standard library's C decoder reads 1,500 levels or more from any
    # stack, and what orjson refuses for its depth is read by it: both read 1,025 levels.
    if depth <= MAX_JSON_DEPTH or sys.version_info >= (3, 12):
        assert outcomes[0] == (True, depth - 3)
    else:
        assert outcomes[0] == (
            f"the reply (no content type) carried JSON nested deeper than {MAX_JSON_DEPTH} levels"
        )


def test_a_body_orjson_refused_for_its_depth_is_not_read_again_at_pythons_pace(
    decoder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_called(text: str) -> Any:
        raise AssertionError("read again")

    if decoder == "orjson":
        monkeypatch.setattr(_json_decoders, "nested_json", not_called)
    body = b'{"success":true,"list":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(ResponseFormatError, match="nested deeper than 1024 levels"):
        decode(body)


# -- the recursion-free reader reads what the standard library reads ---------------------

_pieces = st.sampled_from(
    ["{", "}", "[", "]", ",", ":", '"a"', '"b"', "true", "false", "null", "nul", "1", "-0",
     "0.5", "1e5", "1E+2", "-1.5e-3", "01", ".5", "1.", "1e", "-", "+1", "NaN", "Infinity",
     "-Infinity", "1e400", '"\\u0000"', '"\\ud800"', '"\\x"', '"\t"', '"é"', " ", "\n", "\r",
     "\x0c", "\u00a0", "\u0663", "1" * 4301, '"', "\\"]
)  # fmt: skip
_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | text(),
    lambda children: st.lists(children) | st.dictionaries(text(), children),
    max_leaves=20,
)


def _read(read: Any, text: str) -> object:
    try:
        return ("value", repr(read(text)))
    except NotFinite:
        return NotFinite
    except ValueError:
        return ValueError


@settings(max_examples=examples(250), deadline=None)
@given(st.lists(_pieces, max_size=14))
def test_the_nested_reader_refuses_and_reads_what_the_standard_library_does(
    pieces: list[str],
) -> None:
    text = "".join(pieces)
    assert _read(nested_json, text) == _read(finite_json, text)


@settings(max_examples=examples(100), deadline=None)
@given(_values, st.sampled_from([None, 2]), st.booleans())
def test_the_nested_reader_reads_any_json_as_the_standard_library(
    value: object, indent: int | None, ensure_ascii: bool
) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=ensure_ascii)
    assert _read(nested_json, text) == _read(finite_json, text)
    duplicated = '{"a":1,"b":2,"a":' + text + "}"  # a repeated key: its first place, last value
    assert _read(nested_json, duplicated) == _read(finite_json, duplicated)


@pytest.mark.parametrize(
    ("opening", "inside", "closing"), [("[", "", "]"), ('{"a":', "1", "}"), ('[{"a":', "[]", "}]")]
)
def test_the_nested_reader_reads_orjsons_depth_and_no_more(
    opening: str, inside: str, closing: str
) -> None:
    times = MAX_JSON_DEPTH // len(opening.replace('"a":', ""))
    text = opening * times + inside + closing * times
    levels = times * len(closing) + (inside == "[]")
    if levels <= MAX_JSON_DEPTH:
        assert nested_json(text) is not None
        text = "[" + text + "]"
    with pytest.raises(ValueError, match="nested deeper"):
        nested_json(text)


# -- an orjson that a deep reply crashes is not used ---------------------------------------


@pytest.mark.parametrize("version", ["3.9.14", "3.9.0", "2.6.8", ""])
def test_an_orjson_without_a_depth_limit_is_left_unused(
    version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """orjson before 3.9.15 recursed without limit (CVE-2024-27454): a reply of a million
    ``[`` (2 MB) overflowed the C stack, and the process died of a segfault."""
    with an_orjson(version, monkeypatch):
        set_json_decoder("auto")
        assert json_decoder() == "stdlib"
        with pytest.raises(ImportError, match=r"3\.9\.15 or later"):
            set_json_decoder("orjson")
        assert decode(b'{"success":true}').success is True


@pytest.mark.parametrize("version", ["3.9.15", "3.10.0", "4.0"])
def test_an_orjson_with_the_limit_is_used(version: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with an_orjson(version, monkeypatch):
        set_json_decoder("auto")
        assert json_decoder() == "orjson"


@contextmanager
def an_orjson(version: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An ``orjson`` of ``version`` (the standard library's loads) for the block; the
    decoder chosen afresh after it."""
    fake = types.ModuleType("orjson")
    fake.__version__ = version  # type: ignore[attr-defined]
    fake.loads = json.loads  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "orjson", fake)
    try:
        yield
    finally:
        monkeypatch.undo()
        set_json_decoder("auto")


def test_the_speed_extra_asks_for_an_orjson_with_the_limit() -> None:
    project = (Path(__file__).parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    (speed,) = re.findall(r"(?m)^speed = \[(.*)\]$", project)
    assert '"orjson>=' + ".".join(map(str, SAFE_ORJSON)) + '"' in speed


# -- an envelope's own fields ---------------------------------------------------------------

# A password with both quotes and a letter past ASCII: Python's repr of it (what a message
# that quoted the field showed) is a form of it no redaction looks for.
SECRET = "Sésame'ouvre\"toi-42"


@pytest.mark.parametrize("field", ["success", "total", "bad"])
@pytest.mark.parametrize("format", ["json", "xml"])
def test_a_field_that_echoes_a_secret_is_not_quoted_in_the_error(field: str, format: str) -> None:
    if format == "json":
        fields = {"success": True, field: SECRET} if field != "success" else {"success": SECRET}
        body = json.dumps(fields, ensure_ascii=False).encode()
    else:
        text = SECRET.replace("&", "&amp;").replace("<", "&lt;")
        extra = f"<{field}>{text}</{field}>" if field != "success" else ""
        success = text if field == "success" else "1"
        body = f"<result><success>{success}</success>{extra}</result>".encode()
    with pytest.raises(ResponseFormatError, match="wrong shape") as info:
        decode(body, secrets=[SECRET])
    message = str(info.value)
    for size in range(6, len(SECRET)):
        for start in range(len(SECRET) - size + 1):
            assert SECRET[start : start + size] not in message
    assert "Sésame" not in message and "ouvre" not in message


@pytest.mark.parametrize("text", [" 12", "12 ", "1_2", "+12", "\u0661\u0662", "1e1", "0x1"])
@pytest.mark.parametrize("field", ["total", "bad"])
def test_a_count_written_as_no_reply_writes_one_is_refused(text: str, field: str) -> None:
    """A total of ``" 12"``, ``"1_2"``, ``"+12"`` or other scripts' digits was 12, as
    ``int()`` reads them: the models refuse such numbers, and so does the envelope."""
    json_body = json.dumps({"success": True, field: text}).encode()
    xml_body = f"<result><success>1</success><{field}>{text}</{field}></result>".encode()
    for body in (json_body, xml_body):
        with pytest.raises(ResponseFormatError, match=f"{field} is not a count"):
            decode(body)


def test_a_whole_float_count_reads_alike_in_json_and_xml() -> None:
    """PHP's whole float: JSON's ``12.0`` was 12 and XML's ``12.0`` refused."""
    assert decode(b'{"success":true,"total":12.0}').total == 12
    assert decode(b'{"success":true,"total":"12.0"}').total == 12
    assert decode(b"<result><success>1</success><total>12.0</total></result>").total == 12


def test_an_error_of_false_is_no_error_and_of_true_no_text() -> None:
    """PHP's ``"error": false`` (no error) was the error text "False": every call that
    got it raised ``APIError("... failed: False")``; ``true`` was the text "True"."""
    assert decode(b'{"success":true,"total":0,"error":false}').error is None
    assert decode(b'{"success":false,"error":false}').error is None
    with pytest.raises(ResponseFormatError, match="error is a bool, not text"):
        decode(b'{"success":true,"error":true}')
