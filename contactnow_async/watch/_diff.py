"""Where a poll decides its events: the difference between two live snapshots.

A change is a difference in ``status``, ``statuscode`` or the status start
``time``: the same status with a new start time means the agent left and came
back between two polls, and is a change too. An agent missing from an
*incomplete* snapshot (pages that did not add up) is not called gone.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .._models import LiveAgent, utc
from ..resources.live import LiveSnapshot
from ._events import AgentEvent


def poll_event_id(agent: LiveAgent) -> str:
    """A stable id for a poll event: the agent and when and how its status began."""
    return f"{agent.agent_id}:{agent.started_ts}:{agent.status}:{agent.sub_status}"


def appeared(agent: LiveAgent, observed_at: datetime) -> AgentEvent:
    """An event for an agent seen for the first time."""
    return AgentEvent(
        kind="appeared",
        agent_id=agent.agent_id,
        before=None,
        after=agent,
        changed_at=utc(agent.started_ts),
        observed_at=observed_at,
        id=poll_event_id(agent),
    )


# What makes two live rows of one agent the same status.
_STATE = operator.itemgetter("status", "time", "statuscode")
_SEP = "\x00"
# Kept on a snapshot whose rows cannot be signed, so that they are not tried twice.
_UNSIGNED: tuple[str, list[str]] = ("", [])


def _sign(rows: Mapping[str, Mapping[str, Any]]) -> tuple[str, list[str]]:
    """The agent ids as one string, and each row's ``_STATE`` as one string
    (``status\\0time\\0statuscode``), in row order; or ``_UNSIGNED``.

    Unsigned when a row lacks a state field, or a value is not text (a JSON
    number: the text would make 5 equal "5"; an empty XML element), or an id
    or a value holds a NUL (the text would not tell where one ends).
    """
    try:
        states = list(map(_SEP.join, map(_STATE, rows.values())))
        ids = _SEP.join(rows)
    except (KeyError, TypeError):
        return _UNSIGNED
    # Only the joins' own separators: no id or value holds one.
    if ids.count(_SEP) != len(rows) - 1 or "".join(states).count(_SEP) != 2 * len(states):
        return _UNSIGNED
    return ids, states


def _signed(snapshot: LiveSnapshot) -> tuple[str, list[str]] | None:
    """:func:`_sign` of the snapshot's rows, made once and kept on it (None: unsigned).

    A poll's snapshot is the current one of this diff and the previous one of
    the next, so a poll compares its strings with the previous poll's strings,
    not with its rows again: those are long out of the CPU's caches by then, one
    string compares several times faster than a tuple of three, and the order of
    10,000 ids is one string comparison.
    """
    if snapshot._signed is None:
        snapshot._signed = _sign(snapshot.rows)
    return None if snapshot._signed is _UNSIGNED else snapshot._signed


def _changed_in_place(previous: LiveSnapshot, current: LiveSnapshot) -> list[str] | None:
    """The ids whose state differs, when both polls list the same agents in the same order.

    The common poll, compared without a Python-level loop per agent (strings from
    :func:`_signed`, or ``_STATE`` tuples, compared in C); None when the agents
    or their order differ, or a row lacks a state field: then :func:`diff` walks
    the rows.
    """
    before = _signed(previous)
    after = _signed(current) if before is not None else None
    if before is not None and after is not None:
        if before[0] != after[0]:
            return None
        return list(itertools.compress(current.rows, map(operator.ne, before[1], after[1])))
    before_rows = previous.rows
    current_rows = current.rows
    if len(before_rows) != len(current_rows) or list(before_rows) != list(current_rows):
        return None
    try:
        differs = map(
            operator.ne, map(_STATE, before_rows.values()), map(_STATE, current_rows.values())
        )
        return list(itertools.compress(current_rows, differs))
    except KeyError:
        return None


def _changed(
    previous: LiveSnapshot, current: LiveSnapshot, agent_id: str, observed_at: datetime
) -> AgentEvent:
    before = previous[agent_id]
    after = current[agent_id]
    return AgentEvent(
        kind="changed",
        agent_id=agent_id,
        before=before,
        after=after,
        changed_at=utc(after.started_ts),
        observed_at=observed_at,
        previous_duration=float(after.started_ts - before.started_ts)
        if after.started_ts >= before.started_ts
        else None,
        id=poll_event_id(after),
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

    before_rows = previous.rows
    current_rows = current.rows
    changed = _changed_in_place(previous, current)
    if changed is not None:
        # The same agents in the same order (the usual poll): nobody came or went.
        return [_changed(previous, current, agent_id, observed_at) for agent_id in changed], current

    events: list[AgentEvent] = []
    matched = 0
    for agent_id, row in current_rows.items():
        old = before_rows.get(agent_id)
        if old is None:
            events.append(appeared(current[agent_id], observed_at))
            continue
        matched += 1
        if (
            old.get("status") != row.get("status")
            or old.get("time") != row.get("time")
            or old.get("statuscode") != row.get("statuscode")
        ):
            events.append(_changed(previous, current, agent_id, observed_at))

    if matched == len(before_rows):
        return events, current  # every agent of the previous poll is still here
    missing = [agent_id for agent_id in before_rows if agent_id not in current_rows]
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
                id=f"{agent_id}:{before.started_ts}:gone",
            )
        )
    return events, current
