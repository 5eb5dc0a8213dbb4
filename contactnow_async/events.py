"""The stable event JSON format: one object per agent event, the same in
``contactnow watch --json``, the Redis stream relay and any consumer of them.

Keys (documented in the README; named by the rule of ``docs/fields.md``)::

    {"id": "log:12345", "kind": "changed", "agent_id": "1234",
     "changed_at": "2026-11-23T10:00:00Z", "observed_at": "2026-11-23T10:00:01.250000Z",
     "source": "status_log", "log_id": 12345, "previous_duration": 42.0,
     "before": {...agent...} | null, "after": {...agent...} | null}

An agent is ``{"agent_id", "name", "status", "sub_status", "started_ts",
"server_ts", "calls"}`` with the ``*_ts`` in unix seconds and ``calls`` a list
of call ids.

Use :func:`to_json` / :func:`from_json` for one line of JSON, and
:func:`to_dict` / :func:`from_dict` to embed events in a document of your own.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from ._models_live import Call, LiveAgent
from .watch._events import AgentEvent

__all__ = ["from_dict", "from_json", "to_dict", "to_json"]


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


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
        "calls": [call.call_id for call in agent.calls],
    }


def _agent_from_dict(data: dict[str, Any] | None) -> LiveAgent | None:
    if data is None:
        return None
    return LiveAgent(
        agent_id=str(data["agent_id"]),
        name=str(data.get("name", "")),
        status=str(data["status"]),
        sub_status=str(data.get("sub_status", "")),
        started_ts=int(data.get("started_ts", 0)),
        server_ts=int(data.get("server_ts", 0)),
        calls=tuple(Call(call_id=str(call_id)) for call_id in data.get("calls", ())),
    )


def to_dict(event: AgentEvent) -> dict[str, Any]:
    """The event as a JSON-ready dict (see the module docstring for the keys)."""
    return {
        "id": event.id,
        "kind": event.kind,
        "agent_id": event.agent_id,
        "changed_at": _iso(event.changed_at),
        "observed_at": _iso(event.observed_at),
        "source": event.source,
        "log_id": event.log_id,
        "previous_duration": event.previous_duration,
        "before": _agent_to_dict(event.before),
        "after": _agent_to_dict(event.after),
    }


def to_json(event: AgentEvent) -> str:
    """The event as one line of JSON."""
    return json.dumps(to_dict(event), separators=(",", ":"), ensure_ascii=False)


def from_dict(data: dict[str, Any]) -> AgentEvent:
    """Rebuild an event from :func:`to_dict`'s output."""
    return AgentEvent(
        kind=data["kind"],
        agent_id=str(data["agent_id"]),
        before=_agent_from_dict(data.get("before")),
        after=_agent_from_dict(data.get("after")),
        changed_at=datetime.fromisoformat(data["changed_at"].replace("Z", "+00:00")),
        observed_at=datetime.fromisoformat(data["observed_at"].replace("Z", "+00:00")),
        source=data.get("source", "poll"),
        log_id=None if data.get("log_id") is None else int(data["log_id"]),
        previous_duration=None
        if data.get("previous_duration") is None
        else float(data["previous_duration"]),
        id=str(data.get("id", "")),
    )


def from_json(text: str | bytes) -> AgentEvent:
    """Rebuild an event from one line of :func:`to_json`."""
    return from_dict(json.loads(text))
