"""What a watcher emits: agent events and health."""

from __future__ import annotations

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
    ``id`` is stable across runs and replicas, for deduplication.
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
