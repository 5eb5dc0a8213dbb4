"""The stable event JSON format: one object per agent event, the same in
``contactnow watch --json``, the Redis stream relay and any consumer of them.

Keys (documented in the README; named by the rule of ``docs/fields.md``)::

    {"id": "log:12345", "kind": "changed", "agent_id": "1234",
     "changed_at": "2026-11-23T10:00:00Z", "observed_at": "2026-11-23T10:00:01.250000Z",
     "source": "status_log", "log_id": 12345, "previous_duration": 42.0,
     "before": {...agent...} | null, "after": {...agent...} | null}

An agent is ``{"agent_id", "name", "status", "sub_status", "started_ts",
"server_ts", "moh", "centre_name", "customer", "calls", "call_records"}`` with the
``*_ts`` in unix seconds, ``calls`` a list of call ids and ``call_records`` the
ecnow record of each call whose live row names one, ``{"call_id", "record_id",
"table"}`` (:attr:`Call.record_id <contactnow_async.Call.record_id>`, wire ``urn``;
:attr:`Call.table <contactnow_async.Call.table>`, wire ``qtable``; either may be null),
and one for each of the calls that share an id, in order.
A document written before they were added reads a missing ``moh``, ``centre_name``
or ``customer`` as ``""``, and without ``call_records`` its calls without records.

Use :func:`to_json` / :func:`from_json` for one line of JSON, and
:func:`to_dict` / :func:`from_dict` to embed events in a document of your own.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime, timezone
from math import isfinite
from typing import Any, get_args

from ._models_live import Call, LiveAgent
from ._values import MAX_UNIX_TIME
from .watch._events import AgentEvent, EventKind, EventSource

__all__ = ["from_dict", "from_json", "to_dict", "to_json"]

_KINDS: tuple[str, ...] = get_args(EventKind)
#: The keys every document has: all of to_dict's.
_EVENT_KEYS = ("id", "kind", "agent_id", "changed_at", "observed_at", "source", "log_id",
               "previous_duration", "before", "after")  # fmt: skip
#: The keys every agent object has; only those added later (moh, centre_name, customer,
#: call_records) may be missing, from a document written before them.
_AGENT_KEYS = ("agent_id", "name", "status", "sub_status", "started_ts", "server_ts", "calls")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SOURCES: tuple[str, ...] = get_args(EventSource)


def _iso(moment: datetime, key: str) -> str:
    try:
        return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    except OverflowError:  # 0001-01-01T00:30+01:00: a time before the year 1 in UTC
        raise ValueError(
            f"not an agent event a watcher makes: {key!r} must be a time from the year 1"
            " to 9999 in UTC"
        ) from None


def _agent_to_dict(agent: LiveAgent | None) -> dict[str, Any] | None:
    if agent is None:
        return None
    return {
        "agent_id": agent.agent_id,
        "name": agent.name,
        "status": agent.status,
        "sub_status": agent.sub_status,
        "started_ts": agent.started_ts,
        "server_ts": agent.server_ts,
        "moh": agent.moh,
        "centre_name": agent.centre_name,
        "customer": agent.customer,
        "calls": [call.call_id for call in agent.calls],
        "call_records": _call_records(agent.calls),
    }


def _call_records(calls: tuple[Call, ...]) -> list[dict[str, str | None]]:
    """The ``call_records`` of ``calls``: one per call with a record; where two calls
    share an id (a live row's calls without one are all ``""``), one per call of that id,
    in order, so each call gets its own back."""
    shared = set()
    if len(calls) > 1:  # counted once, not each id in the list of all: quadratic
        counts = Counter(call.call_id for call in calls)
        shared = {call_id for call_id, count in counts.items() if count > 1}
    return [
        {"call_id": call.call_id, "record_id": call.record_id, "table": call.table}
        for call in calls
        if call.record_id is not None or call.table is not None or call.call_id in shared
    ]


def _agent_from_dict(data: object, key: str) -> LiveAgent | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise _bad(key, "an agent object or null")
    _require(data, _AGENT_KEYS, key)
    return LiveAgent(
        agent_id=_text(data, "agent_id", key),
        name=_text(data, "name", key),
        status=_text(data, "status", key),
        sub_status=_text(data, "sub_status", key),
        started_ts=_unix_time(data, "started_ts", key),
        server_ts=_unix_time(data, "server_ts", key),
        moh=_text(data, "moh", key, ""),
        centre_name=_text(data, "centre_name", key, ""),
        customer=_text(data, "customer", key, ""),
        calls=_calls(data, key),
    )


def _bad(key: str, what: str) -> ValueError:
    return ValueError(f"not an agent event document: {key!r} must be {what}")


def _require(data: dict[str, Any], names: tuple[str, ...], within: str = "") -> None:
    """ValueError naming the first of ``names`` that ``data`` lacks."""
    for name in names:
        if name not in data:
            key = f"{within}.{name}" if within else name
            raise ValueError(f"not an agent event document: {key!r} is missing")


def _text(data: dict[str, Any], name: str, within: str = "", default: str | None = None) -> str:
    value = data.get(name, default)
    if not isinstance(value, str):
        raise _bad(f"{within}.{name}" if within else name, "text")
    return value


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _unix_time(data: dict[str, Any], name: str, within: str) -> int:
    value = data[name]
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_UNIX_TIME:
        return value
    raise _bad(f"{within}.{name}", "a whole number of unix seconds (1970 to 9999)")


def _calls(data: dict[str, Any], within: str) -> tuple[Call, ...]:
    """The agent's calls, each with its record from ``call_records`` as the live row's
    wire fields (``urn``, ``qtable``) in its ``raw``, where :class:`Call` reads them."""
    call_ids = data["calls"]
    if not isinstance(call_ids, list) or not all(isinstance(call_id, str) for call_id in call_ids):
        raise _bad(f"{within}.calls", "a list of call ids (text)")
    records = data.get("call_records", [])
    if not isinstance(records, list):
        raise _bad(f"{within}.call_records", "a list of call records")
    # Each call id's records, in order: the nth of an id is the nth call of that id's.
    wire: dict[str, list[dict[str, str]]] = {}
    counts = Counter(call_ids)  # not call_ids.count() for each record: quadratic
    for record in records:
        call_id = record.get("call_id") if isinstance(record, dict) else None
        if not isinstance(call_id, str) or call_id not in counts:
            raise _bad(f"{within}.call_records", "a list of objects, each of a call in calls")
        same = wire.setdefault(call_id, [])
        if len(same) == counts[call_id]:
            raise _bad(f"{within}.call_records", "a list of one object per call at most")
        fields: dict[str, str] = {}
        same.append(fields)
        for name, wire_name in (("record_id", "urn"), ("table", "qtable")):
            value = record.get(name)
            if value is None:
                continue
            if not isinstance(value, str):
                raise _bad(f"{within}.call_records.{name}", "text or null")
            fields[wire_name] = value
    each = {call_id: iter(fields) for call_id, fields in wire.items()}  # not pop(0): quadratic
    return tuple(
        Call(call_id=call_id, raw=next(each[call_id], {}) if call_id in each else {})
        for call_id in call_ids
    )


def _float(number: float) -> float:
    """``number`` as a float; an int past a float's range is infinite, not an OverflowError."""
    try:
        return float(number)
    except OverflowError:
        return float("inf")


def _moment(data: dict[str, Any], name: str) -> datetime:
    value = data.get(name)
    try:
        moment = (
            datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
        )
    except ValueError:
        moment = None
    if moment is None:
        raise _bad(name, "an ISO 8601 time")
    if moment.utcoffset() is None:
        raise _bad(name, "an ISO 8601 time with its zone (Z)")
    try:
        moment.astimezone(timezone.utc)  # as to_json writes it
    except OverflowError:
        raise _bad(name, "an ISO 8601 time from the year 1 to 9999 in UTC") from None
    return moment


def to_dict(event: AgentEvent) -> dict[str, Any]:
    """The event as a JSON-ready dict (see the module docstring for the keys); ValueError
    for an event whose parts disagree (:func:`check_parts`), which :func:`from_dict`
    would refuse."""
    check_parts(event)
    return {
        "id": event.id,
        "kind": event.kind,
        "agent_id": event.agent_id,
        "changed_at": _iso(event.changed_at, "changed_at"),
        "observed_at": _iso(event.observed_at, "observed_at"),
        "source": event.source,
        "log_id": event.log_id,
        "previous_duration": event.previous_duration,
        "before": _agent_to_dict(event.before),
        "after": _agent_to_dict(event.after),
    }


def to_json(event: AgentEvent) -> str:
    """The event as one line of JSON, which UTF-8 can always carry.

    A lone surrogate (a name from the API's ``"\\ud800"``) is written as that escape:
    it has no UTF-8, and the escape reads back as the same text.
    """
    text = json.dumps(to_dict(event), separators=(",", ":"), ensure_ascii=False)
    if text.isascii() or not _SURROGATE.search(text):
        return text
    # Only inside a string can one be (json.dumps quotes all text), where the escape
    # is valid JSON for it.
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def from_dict(data: dict[str, Any]) -> AgentEvent:
    """Rebuild an event from :func:`to_dict`'s output.

    Raises ValueError, naming the key, for anything else: a key missing (but an agent's
    ``moh``, ``centre_name``, ``customer`` and ``call_records``, which a document written
    before them lacks) or of another type, an unknown ``kind`` or ``source``, a time
    without its zone, parts that disagree (an ``appeared`` event with a ``before``, a
    ``changed`` one without an ``after``, an agent object of another ``agent_id``, a
    call record of a call not in the agent's ``calls``, a ``status_log`` event without its
    ``log_id`` or a ``poll`` event with one).
    """
    if not isinstance(data, dict):
        raise ValueError(f"not an agent event document: a JSON object, not {type(data).__name__}")
    _require(data, _EVENT_KEYS)
    kind = data.get("kind")
    if kind not in _KINDS:
        raise _bad("kind", f"one of {', '.join(_KINDS)}")
    source = data["source"]
    if source not in _SOURCES:
        raise _bad("source", f"one of {', '.join(_SOURCES)}")
    log_id = data.get("log_id")
    if log_id is not None and not (_whole(log_id) and log_id >= 0):
        raise _bad("log_id", "a whole number >= 0 or null")
    duration = data.get("previous_duration")
    if duration is not None and not (
        (_whole(duration) or isinstance(duration, float)) and isfinite(_float(duration))
    ):
        raise _bad("previous_duration", "a finite number of seconds or null")
    agent_id = _text(data, "agent_id")
    before = _agent_from_dict(data.get("before"), "before")
    after = _agent_from_dict(data.get("after"), "after")
    event = AgentEvent(
        kind=kind,
        agent_id=agent_id,
        before=before,
        after=after,
        changed_at=_moment(data, "changed_at"),
        observed_at=_moment(data, "observed_at"),
        source=source,
        log_id=log_id,
        previous_duration=None if duration is None else float(duration),
        id=_text(data, "id"),
    )
    disagreeing = _disagreement(event)
    if disagreeing is not None:
        raise _bad(*disagreeing)
    return event


def check_parts(event: AgentEvent) -> None:
    """ValueError, naming the part, for an event whose parts disagree (see
    :func:`_disagreement`): what no watcher makes, and what :func:`from_dict` refuses.
    :func:`to_dict` (and so :func:`to_json`, and a relay's publish) refuses it too, so
    that nothing is written that a reader would refuse or skip."""
    disagreeing = _disagreement(event)
    if disagreeing is not None:
        key, what = disagreeing
        raise ValueError(f"not an agent event a watcher makes: {key!r} must be {what}")


def _disagreement(event: AgentEvent) -> tuple[str, str] | None:
    """The part of ``event`` that disagrees with the rest, and what it must be; None when
    they agree, as in every event a watcher makes: an appearance has no previous state, a
    disappearance no new one, a change a new one; both are the event's agent; a
    ``status_log`` event has its row's uid (what a resume reads after), a poll's none;
    the times are aware and ``previous_duration`` finite (or None)."""
    kind, before, after = event.kind, event.before, event.after
    if (kind == "appeared") != (before is None) and kind != "changed":
        return "before", "null when the agent appeared, an agent object when it disappeared"
    if (kind == "disappeared") != (after is None):
        return "after", "null when the agent disappeared, an agent object otherwise"
    for key, agent in (("before", before), ("after", after)):
        if agent is not None and agent.agent_id != event.agent_id:
            return f"{key}.agent_id", "the event's agent_id"
    if (event.source == "status_log") != (event.log_id is not None):
        return "log_id", "the row's uid in a status_log event, null in a poll event"
    # What from_dict refuses too: NaN and Infinity are no JSON, a naive time would be
    # written as the host's local time.
    if event.log_id is not None and not (_whole(event.log_id) and event.log_id >= 0):
        return "log_id", "a whole number >= 0 or null"
    duration = event.previous_duration
    if duration is not None and not isfinite(_float(duration)):
        return "previous_duration", "a finite number of seconds or null"
    if event.changed_at.utcoffset() is None:
        return "changed_at", "an aware datetime (with its zone)"
    if event.observed_at.utcoffset() is None:
        return "observed_at", "an aware datetime (with its zone)"
    return None


def from_json(text: str | bytes) -> AgentEvent:
    """Rebuild an event from one line of :func:`to_json`; ValueError for anything else
    (see :func:`from_dict`)."""
    try:
        data = json.loads(text)
    except RecursionError:  # nesting deeper than the parser goes: no event is
        raise ValueError("not an agent event document: JSON nested too deep") from None
    except ValueError as exc:  # UnicodeDecodeError too
        raise ValueError(f"not an agent event document: not JSON ({exc})") from None
    return from_dict(data)
