"""What a watcher emits: agent events and health."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

import attrs

from .._models_live import LiveAgent
from .._values import utc

EventKind = Literal["appeared", "changed", "disappeared"]
EventSource = Literal["poll", "status_log"]


@attrs.frozen
class AgentEvent:
    """One change in an agent's live status.

    ``before``/``after`` are the agent's state on either side of the change
    (``None`` for an agent that appeared or disappeared). ``changed_at`` is when
    the new status began, on the server's clock; ``observed_at`` when this
    watcher saw it. ``source`` tells whether a poll diff or a ``status_log`` row
    produced it (``log_id`` is that row's uid). ``previous_duration`` is the
    number of seconds the agent spent in the previous status, where known.
    ``id`` is unique to the event, and the same on every watcher that saw the same
    changes, for deduplication: a ``status_log`` event's is ``log:<uid>``; a poll
    event's is made of the agent and its state (:func:`poll_event_id`), with ``#2``,
    ``#3`` added for the second and later events of that state at one status start
    (see :class:`EventIds`).
    """

    kind: EventKind
    agent_id: str
    before: LiveAgent | None
    after: LiveAgent | None
    changed_at: datetime
    observed_at: datetime
    source: EventSource = "poll"
    log_id: int | None = None
    previous_duration: float | None = None
    id: str = ""

    @property
    def status(self) -> str | None:
        """The agent's new status (None when it disappeared)."""
        return None if self.after is None else self.after.status


@attrs.frozen
class Health:
    """How the watcher's polling is going.

    ``log_rows_dropped`` counts status_log rows the backfill cursor dropped
    because their uid was not after the last one it handed out: a server that
    sent a uid twice, or went back (each is also logged at WARNING).
    """

    polls: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    last_success_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_error: str | None = None
    log_rows_dropped: int = 0

    @property
    def healthy(self) -> bool:
        """True once a poll succeeded and none has failed since."""
        return self.last_success_at is not None and self.consecutive_failures == 0


@attrs.frozen
class HealthEvent:
    """The watcher's health changed: a poll failed, or polling recovered."""

    health: Health
    observed_at: datetime

    @property
    def healthy(self) -> bool:
        """Whether polling is healthy after this change."""
        return self.health.healthy


def poll_event_id(agent: LiveAgent) -> str:
    """The id of a poll event made of its state: the agent and when and how its status
    began (:class:`EventIds` tells apart the events of one state at one status start)."""
    return f"{agent.agent_id}:{agent.started_ts}:{agent.status}:{agent.sub_status}"


class EventIds:
    """Makes each poll event's id unique: the n-th event of one id at one status start
    (an agent back in a state within the second it began, or leaving and coming back in
    it) gets ``#n`` added, so two watchers that saw the same changes agree on every id.

    Work per event, never per agent: it keeps, for each agent that had an event, the
    status start of the last one and how often each id was given at that start (an id
    of an earlier start cannot come again); and, for a late subscriber's picture, the
    ids with ``#n`` of the events that brought the agents' states (:meth:`brought`).
    """

    __slots__ = ("_before", "_brought", "_given")

    def __init__(self) -> None:
        # Per agent: its last event's status start, and that event's id (the usual case)
        # or, once one start had two events, how often each id was given at it.
        self._given: dict[str, tuple[int, str | dict[str, int]]] = {}
        # {agent: the id with #n of the event that brought its state}, as of now and as
        # of before the last numbering; never changed once made (a picture reads one
        # after more polls), copied only when an event changes it (rare: a #n).
        self._brought: dict[str, str] = {}
        self._before: dict[str, str] = self._brought

    def number(self, events: list[AgentEvent]) -> list[AgentEvent]:
        """``events`` (a successful poll's, in order) with each poll event's id made unique."""
        given, before = self._given, self._brought
        brought: dict[str, str] | None = None  # before's copy, once an event changes it
        for index, event in enumerate(events):
            state = event.after if event.after is not None else event.before
            if event.source != "poll" or state is None:
                continue
            started, event_id = state.started_ts, event.id
            seen = given.get(event.agent_id)
            if seen is None or seen[0] != started:
                given[event.agent_id] = (started, event_id)
                count = 1
            else:
                counts = seen[1]
                if isinstance(counts, str):
                    counts = {counts: 1}
                    given[event.agent_id] = (started, counts)
                count = counts[event_id] = counts.get(event_id, 0) + 1
            if count > 1:  # rare: attrs.evolve's cost is the event's, not the poll's
                event = events[index] = attrs.evolve(event, id=f"{event_id}#{count}")
                if event.after is not None:
                    brought = dict(before) if brought is None else brought
                    brought[event.agent_id] = event.id
                    continue
            if event.agent_id in (before if brought is None else brought):
                brought = dict(before) if brought is None else brought
                del brought[event.agent_id]  # its state now: the plain id's, or none
        self._before = before
        self._brought = before if brought is None else brought
        return events

    def brought(self, *, before_last: bool = False) -> Mapping[str, str]:
        """The ids with ``#n`` of the events that brought the agents' states (an agent
        not there: its state's :func:`poll_event_id`), as they are now or, with
        ``before_last``, before the last :meth:`number`. Never changed afterwards."""
        return self._before if before_last else self._brought


def appeared(agent: LiveAgent, observed_at: datetime, event_id: str | None = None) -> AgentEvent:
    """An event for an agent seen for the first time (``event_id``: its id, when not
    :func:`poll_event_id`'s)."""
    return AgentEvent(
        kind="appeared",
        agent_id=agent.agent_id,
        before=None,
        after=agent,
        changed_at=utc(agent.started_ts),
        observed_at=observed_at,
        id=poll_event_id(agent) if event_id is None else event_id,
    )
