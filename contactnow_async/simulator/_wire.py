"""The simulator's side of the wire: read arguments and payloads, write JSON and XML replies."""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
from collections.abc import Mapping, Sequence
from typing import TypeAlias
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

import attrs
import xmltodict

from contactnow_async._wire import NOT_XML
from contactnow_async._xml import tidy

__all__ = [
    "BinaryReply",
    "PayloadError",
    "Reply",
    "parse_arguments",
    "parse_payload",
    "render_json",
    "render_xml",
]

#: A reply value: scalars (a float is a JSON number: ``reporting.php`` figures), None,
#: lists of row dicts (``list``) or call dicts (``call``).
Value: TypeAlias = "str | int | float | bool | Sequence[Mapping[str, Value]] | None"
Reply = Mapping[str, Value]

# Characters XML 1.0 cannot carry at all, not even escaped.
_REPLACEMENT = "\ufffd"
# A carriage return as its reference: a parser reads a literal one as a line feed.
_ESCAPES = {"\r": "&#13;"}
_NOT_XML = re.compile(NOT_XML)


class PayloadError(ValueError):
    """The payload is neither a JSON array/object nor ``<dxi>`` XML."""


@attrs.frozen
class BinaryReply:
    """A reply sent as it is, whatever ``format`` asks: a recording, a file."""

    content: bytes
    content_type: str = "application/octet-stream"


def parse_arguments(
    query_string: bytes, body: bytes, content_type: str
) -> tuple[dict[str, str], bytes | None]:
    """Return the merged query and form arguments, and the raw payload if any.

    A body starting with ``[``, ``{`` or ``<`` is a payload whatever its
    Content-Type says: the vendor's PHP wrapper posts its JSON array with curl's
    default ``application/x-www-form-urlencoded``. Otherwise the body is a form
    (urlencoded or multipart); form fields win over query arguments, as in
    PHP's ``$_REQUEST``. A form field ``data``, or the ``easycall`` file that
    ECNOW.md's upload error names, holding JSON or XML text is taken as the
    payload when the body is not one.
    """
    arguments = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    payload: bytes | None = None
    stripped = body.lstrip()
    if stripped[:1] in (b"[", b"{", b"<"):
        payload = body
    elif body:
        if content_type.lower().startswith("multipart/form-data"):
            arguments.update(_parse_multipart(body, content_type))
        else:
            arguments.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    for field in ("data", "easycall"):
        if payload is None and arguments.get(field, "").lstrip()[:1] in ("[", "{", "<"):
            payload = arguments[field].encode("utf-8")
    return arguments, payload


def _parse_multipart(body: bytes, content_type: str) -> dict[str, str]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            content = part.get_payload(decode=True)
            if isinstance(content, bytes):
                fields[name] = content.decode("utf-8", "replace")
    return fields


def parse_payload(payload: bytes) -> list[object]:
    """Return the records of a create/update payload (each a dict, or junk).

    Accepted: a JSON array of objects, one JSON object, ``<dxi><agent>..</agent></dxi>``
    (or ``<priority>``, ``<record>``, ``<dataset>``: any one element name holding
    fields, repeated for many) and the flat ``<dxi><agentid>..</agentid></dxi>`` form
    the vendor documents for updates (one record).
    """
    text = payload.decode("utf-8", "replace").strip()
    if text.startswith("<"):
        return _parse_xml(text)
    try:
        decoded = json.loads(text)
        # PHP's json_decode refuses an unpaired surrogate escape ("\ud800"), which
        # Python decodes to text no UTF-8 reply could carry.
        json.dumps(decoded, ensure_ascii=False).encode("utf-8")
    # RecursionError: nested past the decoder's depth (PHP's json_decode refuses past 512).
    except (ValueError, UnicodeEncodeError, RecursionError) as exc:
        raise PayloadError("invalid JSON payload") from exc
    if _nesting(decoded) > PHP_JSON_DEPTH:  # what Python's decoder reads deeper than PHP's
        raise PayloadError("invalid JSON payload")
    if isinstance(decoded, dict):
        return [decoded]
    if isinstance(decoded, list):
        return decoded
    raise PayloadError("the payload is not a JSON array or object")


#: How deep PHP's ``json_decode`` reads arrays and objects by default (deeper: an error).
PHP_JSON_DEPTH = 512


def _nesting(value: object) -> int:
    """How deep arrays and objects nest in a decoded JSON value (``[1]`` is 1), without
    recursion."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        node, depth = todo.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, depth)
            children = node.values() if isinstance(node, dict) else node
            todo.extend((child, depth + 1) for child in children)
    return deepest


def _parse_xml(text: str) -> list[object]:
    # Whitespace kept, as PHP's XML readers keep it: "  Jon " is stored as sent (JSON's
    # way too), not stripped; tidy() drops only the indentation between elements.
    try:
        document = tidy(xmltodict.parse(text, disable_entities=True, strip_whitespace=False))
    except Exception as exc:  # expat's errors and xmltodict's own: all mean "not XML"
        raise PayloadError("invalid XML payload") from exc
    if list(document) != ["dxi"]:
        raise PayloadError("an XML payload's root element must be <dxi>")
    inner = document["dxi"]
    if inner is None:
        return []
    if not isinstance(inner, dict):
        raise PayloadError("the <dxi> element holds no records")
    keys = list(inner)
    # <dxi><agent>..</agent></dxi> (any record element holding fields), else one flat record.
    if len(keys) == 1 and (
        keys[0] in ("agent", "priority") or isinstance(inner[keys[0]], (dict, list))
    ):
        records = inner[keys[0]]
        if isinstance(records, list):
            return [_emptied(record) for record in records]
        return [_emptied(records)]
    return [_emptied(inner)]


def _emptied(record: object) -> object:
    """A record's empty elements (``<userfield/>``) as ``""``, as PHP reads them: the
    vendor's XML payload writes so what its JSON one writes ``"userfield": ""``."""
    if record is None:
        return {}
    if not isinstance(record, dict):
        return record
    return {name: "" if value is None else value for name, value in record.items()}


def text_value(value: object) -> str | None:
    """Return a payload value as the API stores it, or raise TypeError for junk."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, (str, int)):
        return str(value)
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return repr(value)
    raise TypeError(f"not a scalar: {type(value).__name__}")


def render_json(reply: Reply) -> bytes:
    """Return ``reply`` as the JSON body.

    A lone surrogate (no UTF-8 has one) is sent as JSON's escape of it, ``\\ud800``, as
    the API sends such a name; only inside a string can one be, where the escape is valid.
    """
    text = json.dumps(reply, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "backslashreplace")


def render_xml(reply: Reply, *, item: str) -> bytes:
    """Return ``reply`` as the XML body; list items are ``<item>`` elements.

    Booleans become ``1``/``0``, None and empty strings empty elements
    (``<phone/>``). An ajax ``call`` list renders as ``<call/>`` when empty and
    as ``<call><item><callid>..</callid>..</item></call>`` otherwise.
    """
    parts = ['<?xml version="1.0" encoding="utf-8"?>\n<result>']
    for key, value in reply.items():
        if key == "list" and isinstance(value, list):
            if not value:
                parts.append("<list/>")
                continue
            parts.append("<list>")
            for row in value:
                parts.append(f"<{item}>")
                _render_fields(parts, row)
                parts.append(f"</{item}>")
            parts.append("</list>")
        else:
            _render_scalar(parts, key, value)
    parts.append("</result>\n")
    return "".join(parts).encode("utf-8")


def _render_fields(parts: list[str], row: Mapping[str, Value]) -> None:
    for key, value in row.items():
        if isinstance(value, list):
            if not value:
                parts.append(f"<{key}/>")
                continue
            parts.append(f"<{key}>")
            for entry in value:
                parts.append("<item>")
                _render_fields(parts, entry)
                parts.append("</item>")
            parts.append(f"</{key}>")
        else:
            _render_scalar(parts, key, value)


def _render_scalar(parts: list[str], key: str, value: Value) -> None:
    if isinstance(value, bool):
        text = "1" if value else "0"
    elif value is None:
        text = ""
    else:
        text = str(value)
    if text:
        parts.append(f"<{key}>{escape(_NOT_XML.sub(_REPLACEMENT, text), _ESCAPES)}</{key}>")
    else:
        parts.append(f"<{key}/>")
