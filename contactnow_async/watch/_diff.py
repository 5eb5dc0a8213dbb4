"""Where a poll decides its events: the difference between a snapshot and the last one.

A change is a difference in ``status``, ``statuscode`` or the status start
``time``: the same status with a new start time means the agent left and came
back between two polls, and is a change too. The same state in another wire
form (``1700000000``, ``"1700000000"`` or ``"1700000000.0"``; ``null`` or ``""``)
is no change: rows whose raw state differs are compared again as models, whose
fields are normalised, so an event's ``before`` and ``after`` always differ.
An agent missing from an *incomplete* snapshot (pages that did not add up) is
not called gone.

:class:`PollDiff` owns its baseline, the last good snapshot with each row's
state as one string, so a poll compares its strings with the previous poll's
strings, made when that poll was diffed.
"""

from __future__ import annotations

import itertools
import logging
import operator
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import attrs

from .._errors import ResponseFormatError
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


logger = logging.getLogger("contactnow_async.watch")


class Appearances:
    """An ``appeared`` event per agent of a snapshot, each made when it is read.

    What a subscriber that joins late starts with: the whole picture, at no cost
    up front however large the centre. An agent whose row is a record error (a
    field no model can hold) is left out with a warning: there is no state to show.
    """

    __slots__ = ("observed_at", "snapshot")

    def __init__(self, snapshot: LiveSnapshot, observed_at: datetime) -> None:
        self.snapshot = snapshot
        self.observed_at = observed_at

    def __len__(self) -> int:
        return len(self.snapshot)

    def __iter__(self) -> Iterator[AgentEvent]:
        for agent_id in self.snapshot.rows:
            try:
                agent = self.snapshot[agent_id]
            except ResponseFormatError as exc:
                logger.warning("agent %r left out of a new subscriber's picture: %s", agent_id, exc)
                continue
            yield appeared(agent, self.observed_at)


# What makes two live rows of one agent the same status.
_STATE = operator.itemgetter("status", "time", "statuscode")
_SEP = "\x00"

Signature = tuple[str, list[str]]


def _sign(rows: Mapping[str, Mapping[str, Any]]) -> Signature | None:
    """The agent ids as one string, and each row's ``_STATE`` as one string
    (``status\\0time\\0statuscode``), in row order; or None (unsigned).

    Unsigned when a row lacks a state field, or a value is not text (a JSON
    number: the text would make 5 equal "5"; an empty XML element), or an id
    or a value holds a NUL (the text would not tell where one ends).
    """
    try:
        states = list(map(_SEP.join, map(_STATE, rows.values())))
        ids = _SEP.join(rows)
    except (KeyError, TypeError):
        return None
    # Only the joins' own separators: no id or value holds one.
    if ids.count(_SEP) != len(rows) - 1 or "".join(states).count(_SEP) != 2 * len(states):
        return None
    return ids, states


class Baseline:
    """A snapshot the next poll is diffed against, and its rows' states as strings.

    The strings are made once, when first needed: a poll's snapshot is the
    current one of this diff and the baseline of the next, so a poll compares
    its strings with the previous poll's strings, not with its rows again: those
    are long out of the CPU's caches by then, one string compares several times
    faster than a tuple of three, and the order of 10,000 ids is one string
    comparison.
    """

    __slots__ = ("_signature", "_signed", "snapshot")

    def __init__(self, snapshot: LiveSnapshot) -> None:
        self.snapshot = snapshot
        self._signature: Signature | None = None
        self._signed = False

    def signature(self) -> Signature | None:
        """:func:`_sign` of the snapshot's rows, made on first use (None: unsigned)."""
        if not self._signed:
            self._signature = _sign(self.snapshot.rows)
            self._signed = True
        return self._signature


@attrs.frozen
class DiffResult:
    """A poll's events, and the baseline for the next poll if this one succeeds.

    The baseline is the poll's snapshot, except when that is incomplete: then
    agents it missed are carried over from the previous baseline (still
    unknown, not gone).
    """

    events: list[AgentEvent]
    baseline: Baseline


class PollDiff:
    """Diffs each poll's snapshot against the last good one, which it keeps.

    :meth:`compare` changes nothing; :meth:`advance` takes its result as the
    new baseline once the whole poll succeeded (a failed poll changes nothing).
    ``initial_events``: whether the first snapshot gives an ``appeared`` event
    per agent.
    """

    def __init__(self, *, initial_events: bool = True) -> None:
        self.initial_events = initial_events
        self._baseline: Baseline | None = None

    @property
    def snapshot(self) -> LiveSnapshot | None:
        """The snapshot the next poll is compared with (None before the first)."""
        return None if self._baseline is None else self._baseline.snapshot

    def compare(self, current: LiveSnapshot, *, observed_at: datetime) -> DiffResult:
        """Return the events between the baseline and ``current``, and the next baseline."""
        baseline = self._baseline
        if baseline is None:
            events = (
                [appeared(current[agent_id], observed_at) for agent_id in current.rows]
                if self.initial_events
                else []
            )
            return DiffResult(events, Baseline(current))
        return _diff(baseline, Baseline(current), observed_at)

    def advance(self, result: DiffResult) -> None:
        """Make the result's snapshot the baseline: the poll it came from succeeded."""
        self._baseline = result.baseline


def _changed_in_place(previous: Baseline, current: Baseline) -> list[str] | None:
    """The ids whose state differs, when both polls list the same agents in the same order.

    The common poll, compared without a Python-level loop per agent (the
    baselines' strings, or ``_STATE`` tuples, compared in C); None when the agents
    or their order differ, or a row lacks a state field: then :func:`_diff` walks
    the rows.
    """
    before = previous.signature()
    after = current.signature() if before is not None else None
    if before is not None and after is not None:
        if before[0] != after[0]:
            return None
        differs = map(operator.ne, before[1], after[1])
        return list(itertools.compress(current.snapshot.rows, differs))
    before_rows = previous.snapshot.rows
    current_rows = current.snapshot.rows
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
) -> AgentEvent | None:
    """The event for an agent whose raw state differs; None when only the wire form did."""
    before = previous[agent_id]
    after = current[agent_id]
    if (
        before.status == after.status
        and before.started_ts == after.started_ts
        and before.sub_status == after.sub_status
    ):
        return None
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


def _diff(previous: Baseline, current: Baseline, observed_at: datetime) -> DiffResult:
    """The events between two baselines, and the next baseline."""
    before_snapshot = previous.snapshot
    current_snapshot = current.snapshot
    changed = _changed_in_place(previous, current)
    if changed is not None:
        # The same agents in the same order (the usual poll): nobody came or went.
        in_place = [
            event
            for agent_id in changed
            if (event := _changed(before_snapshot, current_snapshot, agent_id, observed_at))
        ]
        return DiffResult(in_place, current)

    before_rows = before_snapshot.rows
    current_rows = current_snapshot.rows
    events: list[AgentEvent] = []
    matched = 0
    for agent_id, row in current_rows.items():
        old = before_rows.get(agent_id)
        if old is None:
            events.append(appeared(current_snapshot[agent_id], observed_at))
            continue
        matched += 1
        if (
            old.get("status") != row.get("status")
            or old.get("time") != row.get("time")
            or old.get("statuscode") != row.get("statuscode")
        ) and (event := _changed(before_snapshot, current_snapshot, agent_id, observed_at)):
            events.append(event)

    if matched == len(before_rows):
        return DiffResult(events, current)  # every agent of the previous poll is still here
    missing = [agent_id for agent_id in before_rows if agent_id not in current_rows]
    if not current_snapshot.complete:
        rows = dict(current_rows)
        for agent_id in missing:
            rows[agent_id] = before_rows[agent_id]
        carried = LiveSnapshot(
            rows, total=current_snapshot.total, complete=False, pages=current_snapshot.pages
        )
        return DiffResult(events, Baseline(carried))
    for agent_id in missing:
        before = before_snapshot[agent_id]
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
    return DiffResult(events, current)
