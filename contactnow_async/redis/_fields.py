"""One stream entry per event: the fields the relay writes and readers parse.

Fields of an entry (all strings, as Redis stores them):

``event``
    the event as JSON, the same document as one line of ``contactnow watch --json``
    (:func:`contactnow_async.events.to_json`);
``log_id``
    the status_log uid the event came from (absent for poll events), so a reader
    can deduplicate without parsing the JSON;
``fence``
    the fencing token of the relay leader that published it.
"""

from __future__ import annotations

from collections.abc import Mapping

from .. import events
from ..watch._events import AgentEvent
from ._replies import text as _text

__all__ = ["event_from_fields", "event_to_fields", "fence_from_fields"]

#: The largest fence, and its digits: INCR counts in a signed 64-bit integer.
_MAX_FENCE = 2**63 - 1
_FENCE_DIGITS = len(str(_MAX_FENCE))


def event_to_fields(event: AgentEvent, *, fence: int | None = None) -> dict[str, str]:
    """The stream entry fields for ``event``, all strings: ``event`` (its JSON, one line of
    ``contactnow watch --json``), ``log_id`` (its status_log uid; absent for a poll event)
    and ``fence`` (the publishing leader's fencing token, when given)."""
    fields = {"event": events.to_json(event)}
    if event.log_id is not None:
        fields["log_id"] = str(event.log_id)
    if fence is not None:
        fields["fence"] = str(fence)
    return fields


def event_from_fields(fields: Mapping[str, str] | Mapping[bytes, bytes]) -> AgentEvent:
    """Rebuild the event of one stream entry.

    Raises ValueError for an entry the relay did not write: without an ``event`` field,
    with one that is not UTF-8 (the message says which byte where), with a ``log_id``
    field that is not the event's (or one without the event's), a ``fence`` that is no
    Redis counter's value.
    """
    text: dict[str, str] = {_text(key): _text(value) for key, value in fields.items()}
    try:
        document = text["event"]
    except KeyError:
        raise ValueError(
            f"stream entry has no 'event' field (fields: {sorted(text)}): "
            "not written by RedisStreamRelay"
        ) from None
    try:
        document.encode("utf-8")  # bytes that were not UTF-8 came as lone surrogates (text())
    except UnicodeEncodeError as exc:  # "can't encode": the reader's error, not the entry's
        char = ord(document[exc.start])
        what = f"byte 0x{char - 0xDC00:02x}" if 0xDC80 <= char <= 0xDCFF else f"U+{char:04X}"
        raise ValueError(
            f"stream entry's 'event' field is not UTF-8 ({what} at {exc.start}):"
            " not written by RedisStreamRelay"
        ) from None
    fence_from_fields(text)
    event = events.from_json(document)
    # Readers may deduplicate by the field without parsing the JSON: it must be the event's.
    field = text.get("log_id")
    if field != (None if event.log_id is None else str(event.log_id)):
        raise ValueError(
            f"stream entry's log_id field ({'none' if field is None else repr(field[:24])}) "
            f"is not its event's log_id ({event.log_id})"
        )
    return event


def fence_from_fields(fields: Mapping[str, str]) -> int | None:
    """The ``fence`` of an entry's (decoded) fields, None without one.

    Raises ValueError for anything a Redis counter (INCR: a signed 64-bit integer) does
    not hold, such as 5,000 digits, which ``int()`` refuses with its own ValueError.
    """
    fence = fields.get("fence")
    if not fence:
        return None
    if not (fence.isascii() and fence.isdigit() and len(fence) <= _FENCE_DIGITS):
        raise ValueError(f"stream entry's fence is not a whole number: {fence[:20]!r}")
    number = int(fence)
    if number > _MAX_FENCE:
        raise ValueError(f"stream entry's fence is past a Redis counter's range: {fence!r}")
    return number
