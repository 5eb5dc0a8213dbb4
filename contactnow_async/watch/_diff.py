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
from .._models_live import LiveAgent, own_keys_getter
from .._values import utc
from ..resources.live import LiveSnapshot
from ._events import AgentEvent, appeared, poll_event_id

logger = logging.getLogger("contactnow_async.watch")


class Appearances:
    """An ``appeared`` event per agent of a snapshot, each made when it is read.

    What a subscriber that joins late starts with: the whole picture, at no cost
    up front however large the centre. An agent whose row is a record error (a
    field no model can hold) is left out with a warning: there is no state to show.
    ``states`` overrides the snapshot: an agent's state there (None: left out) is the
    one shown, and an agent only there is shown too (backfill mode, where the events
    handed out so far may trail the snapshot). ``ids`` gives a snapshot's agent the id
    with ``#n`` of the event that brought its state, where it had one (see
    :meth:`~._events.EventIds.brought`).
    """

    __slots__ = ("ids", "observed_at", "snapshot", "states")

    def __init__(
        self,
        snapshot: LiveSnapshot,
        observed_at: datetime,
        states: Mapping[str, LiveAgent | None] | None = None,
        ids: Mapping[str, str] | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.observed_at = observed_at
        self.states: Mapping[str, LiveAgent | None] = states or {}
        self.ids = ids

    def __len__(self) -> int:
        states = self.states
        if not states:
            return len(self.snapshot)
        rows = self.snapshot.rows
        shown = sum(state is not None for state in states.values())
        return shown + sum(agent_id not in states for agent_id in rows)

    def __iter__(self) -> Iterator[AgentEvent]:
        states, rows, ids = self.states, self.snapshot.rows, self.ids
        for agent_id in rows:
            if agent_id in states:
                state = states[agent_id]
                if state is not None:
                    yield appeared(state, self.observed_at)
                continue
            try:
                agent = self.snapshot[agent_id]
            except ResponseFormatError as exc:
                logger.warning("agent %r left out of a new subscriber's picture: %s", agent_id, exc)
                continue
            yield appeared(agent, self.observed_at, None if ids is None else ids.get(agent_id))
        for agent_id, state in states.items():
            if state is not None and agent_id not in rows:
                yield appeared(state, self.observed_at)


# What makes two live rows of one agent the same status.
_STATE = operator.itemgetter("status", "time", "statuscode")
# An agent and its status: what one position of two polls' records must share.
_KEYED_FIELDS = ("uid", "status", "time", "statuscode")
_SEP = "\x00"

Signature = list[str]


def _sign(snapshot: LiveSnapshot) -> Signature | None:
    """Each agent's id and ``_STATE`` as one string (``id\\0status\\0time\\0statuscode``),
    in the order of the snapshot's records; or None (unsigned).

    Unsigned when a record lacks a state field, or a value is not text (a JSON
    number: the text would make 5 equal "5"; an empty XML element), or a value
    holds a NUL (the text would not tell where one ends).
    """
    try:
        if snapshot.from_page():  # the records as they came; each one's uid is its id
            records = snapshot.records()
            parts = map(own_keys_getter(records[0] if records else None, _KEYED_FIELDS), records)
        else:
            rows = snapshot.rows
            parts = map(operator.add, zip(rows), map(_STATE, rows.values()))
        signature = list(map(_SEP.join, parts))
    except (KeyError, TypeError):
        return None
    # Only the joins' own separators: no value holds one.
    if signature and _SEP.join(signature).count(_SEP) != 4 * len(signature) - 1:
        return None
    return signature


def _ids_at(snapshot: LiveSnapshot, positions: list[int]) -> list[Any]:
    """The ids of the agents at ``positions`` of the snapshot's records."""
    if snapshot.from_page():
        records = snapshot.records()
        return [records[position]["uid"] for position in positions]
    ids = list(snapshot.rows)
    return [ids[position] for position in positions]


class Baseline:
    """A snapshot the next poll is diffed against, and its records' states as strings.

    The strings are made once, when first needed: a poll's snapshot is the
    current one of this diff and the baseline of the next, so a poll compares
    its strings with the previous poll's strings, not with its rows again: those
    are long out of the CPU's caches by then, and one string compares several
    times faster than a tuple of four. Each string holds the agent's id too, so
    the comparison also tells whether both polls list the same agents in the
    same order, without keying either by id.
    """

    __slots__ = ("_signature", "_signed", "snapshot", "unique")

    def __init__(self, snapshot: LiveSnapshot) -> None:
        self.snapshot = snapshot
        self._signature: Signature | None = None
        self._signed = False
        # Whether the snapshot's records are one per agent (None: not known yet).
        self.unique: bool | None = None

    def signature(self) -> Signature | None:
        """:func:`_sign` of the snapshot's records as they came, made on first use
        (None: unsigned)."""
        if not self._signed:
            self._signature = _sign(self.snapshot)
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
            # Keyed even without initial events: a row without its uid fails this poll (the
            # record error), not every later one, as a baseline no poll could be diffed with.
            rows = current.rows
            events = (
                [appeared(current[agent_id], observed_at) for agent_id in rows]
                if self.initial_events
                else []
            )
            return DiffResult(events, Baseline(current))
        return _diff(baseline, Baseline(current), observed_at)

    def advance(self, result: DiffResult) -> None:
        """Make the result's snapshot the baseline: the poll it came from succeeded."""
        self._baseline = result.baseline


Change = tuple[str, Mapping[str, Any], Mapping[str, Any]]


def _changed_in_place(previous: Baseline, current: Baseline) -> list[Change] | None:
    """The agents whose state differs (id, previous row, current row), when both polls
    list the same agents in the same order.

    The common poll, compared without a Python-level loop per agent (the
    baselines' strings compared in C; then only the positions that differ are
    looked at, for an agent that moved), and without keying either snapshot by
    id. None when the agents or their order differ, or a row lacks a state
    field: then :func:`_diff` walks the rows by id.
    """
    before = previous.signature()
    after = current.signature() if before is not None else None
    if before is not None and after is not None:
        if len(before) != len(after):
            return None
        if previous.unique is None:
            previous.unique = previous.snapshot.unique()  # keys the page: once per baseline
        if not previous.unique:
            return None
        positions = list(itertools.compress(range(len(after)), map(operator.ne, before, after)))
        changed = _ids_at(current.snapshot, positions)
        if changed != _ids_at(previous.snapshot, positions):
            return None  # an agent moved, came or went
        current.unique = True  # one record per agent, as in the previous poll
        old = previous.snapshot.records()
        new = current.snapshot.records()
        return [
            (agent_id, old[position], new[position])
            for agent_id, position in zip(changed, positions, strict=True)
        ]
    before_rows = previous.snapshot.rows
    current_rows = current.snapshot.rows
    if len(before_rows) != len(current_rows) or list(before_rows) != list(current_rows):
        return None
    try:
        differs = map(
            operator.ne, map(_STATE, before_rows.values()), map(_STATE, current_rows.values())
        )
        changed = list(itertools.compress(current_rows, differs))
    except KeyError:
        return None
    return [(agent_id, before_rows[agent_id], current_rows[agent_id]) for agent_id in changed]


def _changed(
    previous: LiveSnapshot,
    current: LiveSnapshot,
    agent_id: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    observed_at: datetime,
) -> AgentEvent | None:
    """The event for an agent whose raw state differs (rows ``old`` then ``new``); None
    when only the wire form did. A ``new`` row no model can hold fails the poll (its
    record error); an ``old`` one makes the event ``appeared`` (see :func:`_known`)."""
    after, before = current.agent(agent_id, new), _known(previous, agent_id, old)
    return (
        appeared(after, observed_at)
        if before is None
        else _event(before, after, agent_id, observed_at)
    )


def _known(snapshot: LiveSnapshot, agent_id: str, row: Mapping[str, Any]) -> LiveAgent | None:
    """The agent of a baseline's ``row``, or None when no model can hold it (a field besides
    its state unreadable, kept while the state stayed): a state never known, not an error
    that would fail every poll after, whatever the server sent."""
    try:
        return snapshot.agent(agent_id, row)
    except ResponseFormatError as exc:
        logger.warning("agent %r's previous row could not be read: %s", agent_id, exc)
        return None


def _event(
    before: LiveAgent, after: LiveAgent, agent_id: str, observed_at: datetime
) -> AgentEvent | None:
    """The ``changed`` event from ``before`` to ``after``; None when they are the same state."""
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


# Each event slot's own descriptor: setting through it skips the frozen __setattr__.
_EVENT_SLOT = {
    field.name: getattr(AgentEvent, field.name).__set__ for field in attrs.fields(AgentEvent)
}


def _changed_events(
    befores: list[LiveAgent],
    afters: list[LiveAgent],
    agent_ids: list[str],
    observed_at: datetime,
    *,
    # Bound once as defaults, so the loop reads them as locals.
    _new: Any = object.__new__,
    _set_kind: Any = _EVENT_SLOT["kind"],
    _set_agent_id: Any = _EVENT_SLOT["agent_id"],
    _set_before: Any = _EVENT_SLOT["before"],
    _set_after: Any = _EVENT_SLOT["after"],
    _set_changed_at: Any = _EVENT_SLOT["changed_at"],
    _set_observed_at: Any = _EVENT_SLOT["observed_at"],
    _set_source: Any = _EVENT_SLOT["source"],
    _set_log_id: Any = _EVENT_SLOT["log_id"],
    _set_previous_duration: Any = _EVENT_SLOT["previous_duration"],
    _set_id: Any = _EVENT_SLOT["id"],
) -> list[AgentEvent]:
    """:func:`_event` for each agent, in one loop: the same events, each made with
    ``object.__new__`` and its slots set as attrs' ``__init__`` sets them (a test holds
    the two equal), and one ``changed_at`` per start time (many agents share one)."""
    events: list[AgentEvent] = []
    append = events.append
    moments: dict[int, datetime] = {}
    for before, after, agent_id in zip(befores, afters, agent_ids, strict=True):
        started = after.started_ts
        status = after.status
        sub_status = after.sub_status
        if (
            before.status == status
            and before.started_ts == started
            and before.sub_status == sub_status
        ):
            continue
        changed_at = moments.get(started)
        if changed_at is None:
            changed_at = moments[started] = utc(started)
        event = _new(AgentEvent)
        _set_kind(event, "changed")
        _set_agent_id(event, agent_id)
        _set_before(event, before)
        _set_after(event, after)
        _set_changed_at(event, changed_at)
        _set_observed_at(event, observed_at)
        _set_source(event, "poll")
        _set_log_id(event, None)
        _set_previous_duration(
            event, float(started - before.started_ts) if started >= before.started_ts else None
        )
        _set_id(event, poll_event_id(after))
        append(event)
    return events


def _diff(previous: Baseline, current: Baseline, observed_at: datetime) -> DiffResult:
    """The events between two baselines, and the next baseline."""
    before_snapshot = previous.snapshot
    current_snapshot = current.snapshot
    changed = _changed_in_place(previous, current)
    if changed is not None:
        # The same agents in the same order (the usual poll): nobody came or went.
        ids = [agent_id for agent_id, _, _ in changed]
        try:
            befores = before_snapshot.agents_of(ids, [old for _, old, _ in changed])
            afters = current_snapshot.agents_of(ids, [new for _, _, new in changed])
        except (TypeError, ValueError, OverflowError):  # a row no model can hold
            made = (
                _changed(before_snapshot, current_snapshot, *one, observed_at) for one in changed
            )
            return DiffResult([event for event in made if event is not None], current)
        return DiffResult(_changed_events(befores, afters, ids, observed_at), current)

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
        ) and (
            event := _changed(before_snapshot, current_snapshot, agent_id, old, row, observed_at)
        ):
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
        before = _known(before_snapshot, agent_id, before_rows[agent_id])
        if before is None:  # never known: not taken away either
            continue
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
