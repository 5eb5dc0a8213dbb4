"""The event JSON format: one object per event, the same in ``contactnow watch --json``
and in the Redis stream relay.

Stable keys (documented in the README)::

    {"id": "log:12345", "kind": "changed", "agent_id": "1234",
     "changed_at": "2026-11-23T10:00:00Z", "observed_at": "2026-11-23T10:00:01.250000Z",
     "source": "status_log", "log_uid": 12345, "previous_duration": 42.0,
     "before": {...agent...} | null, "after": {...agent...} | null}

An agent is ``{"agent_id", "name", "status", "statuscode", "time", "srvtime", "calls"}``
with ``time``/``srvtime`` unix seconds and ``calls`` a list of call ids.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from .._models import Call, LiveAgent
from ._events import AgentEvent

__all__ = ["event_from_dict", "event_from_json", "event_to_dict", "event_to_json"]


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _agent_to_dict(agent: LiveAgent | None) -> dict[str, Any] | None:
    if agent is None:
        return None
    return {
        "agent_id": agent.agent_id,
        "name": agent.name,
        "status": agent.status,
        "statuscode": agent.statuscode,
        "time": agent.time,
        "srvtime": agent.srvtime,
        "calls": [call.call_id for call in agent.calls],
    }


def _agent_from_dict(data: dict[str, Any] | None) -> LiveAgent | None:
    if data is None:
        return None
    return LiveAgent(
        agent_id=str(data["agent_id"]),
        name=str(data.get("name", "")),
        status=str(data["status"]),
        statuscode=str(data.get("statuscode", "")),
        time=int(data.get("time", 0)),
        srvtime=int(data.get("srvtime", 0)),
        calls=tuple(Call(call_id=str(call_id)) for call_id in data.get("calls", ())),
    )


def event_to_dict(event: AgentEvent) -> dict[str, Any]:
    """The event as a JSON-ready dict (see the module docstring for the keys)."""
    return {
        "id": event.id,
        "kind": event.kind,
        "agent_id": event.agent_id,
        "changed_at": _iso(event.changed_at),
        "observed_at": _iso(event.observed_at),
        "source": event.source,
        "log_uid": event.log_uid,
        "previous_duration": event.previous_duration,
        "before": _agent_to_dict(event.before),
        "after": _agent_to_dict(event.after),
    }


def event_to_json(event: AgentEvent) -> str:
    """The event as one line of JSON."""
    return json.dumps(event_to_dict(event), separators=(",", ":"), ensure_ascii=False)


def event_from_dict(data: dict[str, Any]) -> AgentEvent:
    """Rebuild an event from :func:`event_to_dict`'s output."""
    return AgentEvent(
        kind=data["kind"],
        agent_id=str(data["agent_id"]),
        before=_agent_from_dict(data.get("before")),
        after=_agent_from_dict(data.get("after")),
        changed_at=datetime.fromisoformat(data["changed_at"].replace("Z", "+00:00")),
        observed_at=datetime.fromisoformat(data["observed_at"].replace("Z", "+00:00")),
        source=data.get("source", "poll"),
        log_uid=None if data.get("log_uid") is None else int(data["log_uid"]),
        previous_duration=None
        if data.get("previous_duration") is None
        else float(data["previous_duration"]),
        id=str(data.get("id", "")),
    )


def event_from_json(text: str | bytes) -> AgentEvent:
    """Rebuild an event from one line of :func:`event_to_json`."""
    return event_from_dict(json.loads(text))
