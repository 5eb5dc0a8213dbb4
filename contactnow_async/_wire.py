"""The wire layer: where a reply body is decoded and a payload is encoded.

Every ContactNow script answers with the same envelope, in JSON (default) or
XML (``format=xml``). :func:`decode` turns either into one :class:`Envelope`;
:func:`encode_payload` turns records into the raw POST body the API expects
(a JSON array, or ``<dxi><agent>...</agent></dxi>``).

XML quirks handled here and nowhere else: ``1``/``0`` booleans, one list item
vs many, empty elements (``<phone/>`` is empty, ``<call/>`` an empty list),
``ISO-8859-1`` declarations. Anything that is not an envelope (HTML error page,
empty, truncated, another shape) raises :class:`ResponseFormatError` with a
short, redacted snippet.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import attrs

from ._errors import ResponseFormatError
from ._gc import LARGE_BODY, paused_for
from ._json_decoders import (
    MAX_JSON_DEPTH,
    JsonDecoder,
    TooDeep,
    json_decoder,
    loads_in_use,
    set_json_decoder,
)
from ._redact import as_tuple, redact_text, redacted_snippet
from ._values import NotFinite, count, finite_json, flag, optional_id, optional_text

__all__ = [
    "Envelope",
    "Format",
    "JsonDecoder",
    "decode",
    "encode_payload",
    "json_decoder",
    "php_params",
    "set_json_decoder",
]

Format = Literal["json", "xml"]

_SNIPPET = 200
# The vendor's ajax page prints JSON with bare keys ({success: true, ...}). If a
# server ever does that for real, quote the keys rather than fail. Like the other
# patterns here, compiled (and cached by re) when first used, not at import.
_BARE_KEY = r"([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:"
_JUST_DICTS = frozenset({dict})
NESTED = (Mapping, list, tuple, set, frozenset)  # PHP's arrays: flattened in params, no field


def _count_records(records: tuple[dict[str, Any], ...]) -> str:
    return f"<{len(records)} records>"


@attrs.frozen
class Envelope:
    """The decoded reply every ContactNow script sends.

    All fields are optional in the API; ``records`` (the wire ``list``) is always
    a tuple of records (dicts of the record's fields as sent, scalars as
    strings). ``raw`` is the whole decoded body, for fields the docs do not list (a
    client's reply to a write has its ``info`` note redacted there, see ``WriteResult``).
    ``resent`` is True for the reply to a resend after an earlier attempt, whose reply was
    lost, may have reached the server: a write may then find its own earlier work done.
    """

    success: bool
    account_id: str | None = None
    total: int | None = None
    bad: int | None = None
    key: str | None = None
    error: str | None = None
    # The records are not shown in a repr: they may hold agents' passwords and pins.
    records: tuple[dict[str, Any], ...] = attrs.field(default=(), repr=_count_records)
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
    resent: bool = attrs.field(default=False, repr=False, eq=False)


def decode(
    content: bytes,
    *,
    status_code: int | None = None,
    content_type: str | None = None,
    secrets: Iterable[str] = (),
) -> Envelope:
    """Decode a JSON or XML reply body into an :class:`Envelope`.

    The format is told by the body itself (``{`` or ``<``), so a server that
    ignores ``format=`` is still understood.
    """
    content = content.removeprefix(codecs.BOM_UTF8)  # some PHP stacks put one before the JSON
    stripped = content[:64].lstrip() or content.lstrip()  # not a copy of a large body
    with paused_for(len(content) >= LARGE_BODY):  # see _gc
        if stripped[:1] == b"{":
            body = _load_json(content, status_code, content_type, secrets)
        elif stripped[:1] == b"<":
            body = _load_xml(content, status_code, content_type, secrets)
        else:
            reason = "an empty body" if not stripped else "a body that is neither JSON nor XML"
            raise _format_error(reason, content, status_code, content_type, secrets)
        return _envelope(body, content, status_code, content_type, secrets)


_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19  # the shortest integer that may not fit in 64 bits
# How orjson names its refusal of a body nested past its limit (the words vary by version).
_DEPTH_WORDS = r"(?i)depth|recursion"


def _load_json(
    content: bytes, status_code: int | None, content_type: str | None, secrets: Iterable[str]
) -> dict[str, Any]:
    loads = loads_in_use()
    # orjson is as strict as the path below (UTF-8, no lone surrogates, 1,024 levels of
    # nesting) or stricter (NaN): whatever it refuses, the standard library reads or
    # refuses as before, so both decoders give one answer. It reads an integer past 64
    # bits as a float, though: a body with 19 digits in a row goes the slow way.
    past_orjson = False  # refused by orjson for its depth
    if loads is not None and _LONG_NUMBER not in content.translate(_DIGITS_AS_ZERO):
        try:
            fast = loads(content)
        except (ValueError, RecursionError) as exc:
            past_orjson = re.search(_DEPTH_WORDS, str(exc)) is not None
        else:
            if isinstance(fast, dict):
                return fast
    try:
        # Strictly: json.loads(bytes) lets encoded lone surrogates through, and a
        # lenient decode would turn a mangled name into U+FFFD and carry on.
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise _format_error(
            "a JSON body that is not valid UTF-8", content, status_code, content_type, secrets
        ) from None
    # NaN, Infinity and 1e400 are refused: json_encode cannot write one, and read, each
    # became the text "nan" or "inf" of an id, a name or a created record's key.
    try:
        body = finite_json(text, past_orjson=past_orjson)
    except (ValueError, RecursionError) as exc:  # RecursionError: a stack already deep
        try:
            if isinstance(exc, (NotFinite, TooDeep, RecursionError)):  # no repair helps
                raise
            body = finite_json(re.sub(_BARE_KEY, r'\1"\2":', text))
        except (ValueError, RecursionError) as failed:
            reason = "a JSON body that does not parse (truncated?)"
            if isinstance(failed, NotFinite):
                reason = "a JSON number that is not finite (NaN, Infinity, 1e400)"
            elif isinstance(failed, (TooDeep, RecursionError)):
                reason = f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
            raise _format_error(reason, content, status_code, content_type, secrets) from None
    if not isinstance(body, dict):
        raise _format_error(
            "JSON that is not an object", content, status_code, content_type, secrets
        )
    return body


def _load_xml(
    content: bytes, status_code: int | None, content_type: str | None, secrets: Iterable[str]
) -> dict[str, Any]:
    head = (content[:256].lstrip() or content.lstrip())[:200].lower()
    if head.startswith((b"<!doctype html", b"<html")):
        raise _format_error("an HTML page", content, status_code, content_type, secrets)
    # The XML reader (and expat) are imported at the first XML reply, not with the client.
    from xml.parsers.expat import ExpatError

    from . import _xml

    try:
        # expat reads the encoding declaration (ISO-8859-1 included) itself.
        doc = _xml.parse(content)
    except (ExpatError, ValueError, LookupError, RecursionError) as exc:
        reason = "an XML body that does not parse (truncated?)"
        if isinstance(exc, _xml.TooDeep):
            reason = str(exc)  # "XML nested deeper than 1024 levels", as JSON's
        raise _format_error(reason, content, status_code, content_type, secrets) from None
    # <result/> is an empty envelope.
    if "result" not in doc or not isinstance(root := doc["result"] or {}, dict):
        reason = "XML whose root is not <result>"
        raise _format_error(reason, content, status_code, content_type, secrets)
    fields = {key: value for key, value in root.items() if not key.startswith("@")}
    if isinstance(fields.get("list"), list):
        # <list> given more than once: one list of every one's records, in document order
        # (not one record per <list>, its fields the record type's name).
        try:
            fields["list"] = [record for each in fields["list"] for record in _records(each)]
        except TypeError as exc:
            reason = f"an envelope of the wrong shape ({exc})"
            raise _format_error(reason, content, status_code, content_type, secrets) from None
    return fields


def _envelope(
    body: dict[str, Any],
    content: bytes,
    status_code: int | None,
    content_type: str | None,
    secrets: Iterable[str],
) -> Envelope:
    if "success" not in body:
        raise _format_error(
            "a body without a 'success' field", content, status_code, content_type, secrets
        )
    try:
        return Envelope(
            success=flag(body["success"]),
            account_id=optional_id(body.get("account_id"), "account_id"),
            total=count(body.get("total"), "total"),
            bad=count(body.get("bad"), "bad"),
            key=optional_id(body.get("key"), "key"),
            error=optional_text(body.get("error")),
            records=_records(body.get("list")),
            raw=body,
        )
    except (TypeError, ValueError, OverflowError) as exc:
        raise _format_error(
            f"an envelope of the wrong shape ({exc})", content, status_code, content_type, secrets
        ) from None


def _records(value: Any) -> tuple[dict[str, Any], ...]:
    """Normalise ``list`` to a tuple of records, whatever the format did to it."""
    if value is None or value == "":
        return ()
    if isinstance(value, list):
        if set(map(type, value)) <= _JUST_DICTS:
            return tuple(value)  # the usual JSON list, every item a record already
        items = value
    elif isinstance(value, dict):
        # XML: <list><agent>..</agent></list> -> {"agent": {...} or [{...}, ...]}
        # Several record types under one <list> are kept in document order per type.
        items = []
        for name, child in value.items():
            if name.startswith("@"):  # an attribute of <list>, not a record
                continue
            if not isinstance(child, (dict, list)) and child is not None:
                # A record of its own fields (JSON's one object), or <list><a>text</a>
                raise TypeError(f"list's {name!r} is a {type(child).__name__}, not a record")
            items.extend(child if isinstance(child, list) else [child])
    else:
        raise TypeError(f"list is a {type(value).__name__}")
    records: list[dict[str, Any]] = []
    for item in items:
        if item is None:  # <agent/>: an empty record
            records.append({})
        elif isinstance(item, dict):
            records.append(item)
        else:
            raise TypeError(f"a list item is a {type(item).__name__}, not a record")
    return tuple(records)


def xml_list(value: Any) -> list[Any]:
    """Normalise a nested XML list field (``<call/>``, ``<call><item>..</item></call>``).

    JSON already gives a list; XML gives None for an empty element, or a dict
    holding one child name whose value is one item or many.
    """
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        if len(value) == 1:
            (inner,) = value.values()
            if isinstance(inner, list):
                return inner
            if isinstance(inner, dict) or inner is None:
                return [inner or {}]
        return [value]
    return [value]


def _format_error(
    reason: str,
    content: bytes,
    status_code: int | None,
    content_type: str | None,
    secrets: Iterable[str],
) -> ResponseFormatError:
    secrets = as_tuple(secrets)
    snippet = redacted_snippet(content, secrets, _SNIPPET)
    where = f"HTTP {status_code}" if status_code is not None else "the reply"
    # The reason may quote a field's value, the content type is a header: either may echo.
    said = redact_text(f"{where} ({content_type or 'no content type'}) carried {reason}", secrets)
    return ResponseFormatError(
        f"{said}, not a ContactNow envelope: {snippet!r}",
        status_code=status_code,
        content_type=content_type,
        snippet=snippet,
    )


def php_params(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Query or form fields as PHP reads them: nested mappings and lists become arrays.

    ``{"search": {"FirstName": "john"}}`` is ``search[FirstName]=john``; a list of
    scalars ``{"x": [1, 2]}`` is ``x[]=1&x[]=2``, and a list of mappings is indexed
    (``x[0][a]=1``). ``None`` values are left out; ``True``/``False`` are ``1``/``0``.
    """
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        _php_flatten(str(key), value, pairs)
    return pairs


def _php_flatten(key: str, value: Any, pairs: list[tuple[str, str]]) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for name, item in value.items():
            _php_flatten(f"{key}[{name}]", item, pairs)
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        for index, item in enumerate(items):
            nested = isinstance(item, NESTED)
            _php_flatten(f"{key}[{index}]" if nested else f"{key}[]", item, pairs)
    else:
        pairs.append((key, _wire_scalar(value, key)))


def encode_payload(
    records: Sequence[Mapping[str, Any]], *, format: Format, record_name: str
) -> tuple[bytes, str]:
    """Encode records as the raw POST body: a JSON array, or ``<dxi>`` XML.

    Returns the body and its content type. A single record is still an array
    (the vendor's wrapper wraps it in ``[...]`` too). ``None`` values are left out.
    Raises ValueError for a field holding a mapping or a list: records are flat;
    TypeError for a record that is not a mapping.
    """
    clean = [_flat(record) for record in records]
    if format == "xml":
        return _xml_payload(clean, record_name), "application/xml"
    return json.dumps(clean, separators=(",", ":")).encode("utf-8"), "application/json"


#: The characters XML 1.0 cannot carry, not even escaped: the complement of its Char
#: production, spelt out (the negated class of its ranges took 15-20 ms to compile).
NOT_XML = "[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]"
_XML_NAME = r"[A-Za-z_][A-Za-z0-9_.-]*\Z"
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


def _xml_payload(records: list[dict[str, str]], record_name: str) -> bytes:
    """``<dxi><agent><name>..</name></agent>..</dxi>``, every text escaped.

    A carriage return is sent as ``&#13;``: a parser turns a literal one into a
    line feed. Text XML cannot carry at all (most control characters) is
    refused rather than sent as a document the server cannot parse.
    """
    parts = ['<?xml version="1.0" encoding="utf-8"?>\n<dxi>']
    for name in (record_name, *(key for record in records for key in record)):
        if not re.match(_XML_NAME, name) or name.lower().startswith("xml"):
            raise ValueError(f"{name!r} cannot be an XML element name")
    for record in records:
        parts.append(f"<{record_name}>")
        for key, value in record.items():
            bad = re.search(NOT_XML, value)  # re caches the compiled pattern
            if bad:
                raise ValueError(
                    f"field {key!r} holds {bad.group()!r}, a character XML cannot carry; "
                    "use format='json' or remove it"
                )
            parts.append(f"<{key}>{value.translate(_XML_ESCAPES)}</{key}>")
        parts.append(f"</{record_name}>")
    parts.append("</dxi>\n")
    return "".join(parts).encode("utf-8")


def _flat(record: Mapping[str, Any]) -> dict[str, str]:
    """A record's fields as the API sends them, ``None`` values left out."""
    if not isinstance(record, Mapping):  # not "'str' object has no attribute 'items'"
        raise TypeError(
            f"payload must be a list of records (mappings), not of {type(record).__name__}"
        )
    return {str(key): _field(str(key), value) for key, value in record.items() if value is not None}


def _field(name: str, value: Any) -> str:
    """A record's field as the API sends it; not Python's text of a dict or a list."""
    if isinstance(value, NESTED):
        raise ValueError(
            f"field {name!r} holds a {type(value).__name__}; "
            "a record's fields are text, numbers or booleans"
        )
    return _wire_scalar(value, name)


def _wire_scalar(value: Any, name: str) -> str:
    """The API sends every scalar as a string; send them the same way (bytes as their
    UTF-8 text, as PHP sends its byte strings; not ``"b'...'"``)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (bytes, bytearray)):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"field {name!r} holds bytes that are not UTF-8") from None
    return str(value)
