"""Where a poll decides its events: the difference between two live snapshots.

A change is a difference in ``status``, ``statuscode`` or the status start
``time``: the same status with a new start time means the agent left and came
back between two polls, and is a change too. An agent missing from an
*incomplete* snapshot (pages that did not add up) is not called gone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .._models import LiveAgent, utc
from ..resources.live import LiveSnapshot
from ._events import AgentEvent



def state_key(row: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """What makes two live rows of one agent the same status."""
    return (row.get("status"), row.get("statuscode"), row.get("time"))


def poll_event_id(agent: LiveAgent) -> str:
    """A stable id for a poll event: the agent and when and how its status began."""
    return f"{agent.agent_id}:{agent.time}:{agent.status}:{agent.statuscode}"


def appeared(agent: LiveAgent, observed_at: datetime) -> AgentEvent:
    """An event for an agent seen for the first time."""
    return AgentEvent(
        kind="appeared",
        agent_id=agent.agent_id,
        before=None,
        after=agent,
        changed_at=utc(agent.time),
        observed_at=observed_at,
        id=poll_event_id(agent),
    )


def diff(
    previous: LiveSnapshot | None,
    current: LiveSnapshot,
    *,
    observed_at: datetime,
    initial_events: bool = True,
) -> tuple[list[AgentEvent], LiveSnapshot]:
    """Return the events between two snapshots, and the snapshot to diff against next.

    The returned snapshot is ``current``, except when ``current`` is incomplete:
    then agents it missed are carried over from ``previous`` (still unknown,
    not gone).
    """
    if previous is None:
        if not initial_events:
            return [], current
        return [appeared(current[agent_id], observed_at) for agent_id in current.rows], current

    events: list[AgentEvent] = []
    before_rows = previous.rows
    for agent_id, row in current.rows.items():
        old = before_rows.get(agent_id)
        if old is None:
            events.append(appeared(current[agent_id], observed_at))
        elif (
            old.get("status") != row.get("status")
            or old.get("time") != row.get("time")
            or old.get("statuscode") != row.get("statuscode")
        ):
            before = previous[agent_id]
            after = current[agent_id]
            events.append(
                AgentEvent(
                    kind="changed",
                    agent_id=agent_id,
                    before=before,
                    after=after,
                    changed_at=utc(after.time),
                    observed_at=observed_at,
                    previous_duration=float(after.time - before.time)
                    if after.time >= before.time
                    else None,
                    id=poll_event_id(after),
                )
            )

    if len(before_rows) == len(current.rows) and not events:
        return events, current  # nobody came or went (a membership change would show above)
    missing = [agent_id for agent_id in before_rows if agent_id not in current.rows]
    if not missing:
        return events, current
    if not current.complete:
        rows = dict(current.rows)
        for agent_id in missing:
            rows[agent_id] = before_rows[agent_id]
        carried = LiveSnapshot(rows, total=current.total, complete=False, pages=current.pages)
        return events, carried
    for agent_id in missing:
        before = previous[agent_id]
        events.append(
            AgentEvent(
                kind="disappeared",
                agent_id=agent_id,
                before=before,
                after=None,
                changed_at=observed_at,
                observed_at=observed_at,
                id=f"{agent_id}:{before.time}:gone",
            )
        )
    return events, current
