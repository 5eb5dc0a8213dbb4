"""One poll: read the live snapshot, diff it, read the status log when due."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from .._models_live import LiveAgent
from ..resources.live import LiveSnapshot
from ._backfill import LogCursor
from ._diff import Appearances, PollDiff
from ._events import AgentEvent, EventIds

if TYPE_CHECKING:
    from .._client import ContactNow

_CHANGED_AT = operator.attrgetter("changed_at")
_NOBODY = LiveSnapshot({})


class Poller:
    """Makes a poll's events: the diff's in poll mode, the log's in backfill mode.

    In poll mode a poll's changes come out in the order they happened (by
    ``changed_at``; of one time, in the snapshot's agent order); the first poll's
    picture stays in agent order. A poll either succeeds, returning its events with
    the diff's baseline moved on, or raises (a :class:`~contactnow_async.ContactNowError`) having
    changed nothing: no event is invented from an error.
    """

    def __init__(
        self,
        client: ContactNow,
        *,
        include_offline: bool,
        page_size: int | None,
        max_pages: int,
        initial_events: bool,
        cursor: LogCursor | None,
    ) -> None:
        self._client = client
        self.include_offline = include_offline
        self.page_size = page_size
        self.max_pages = max_pages
        self.diff = PollDiff(initial_events=initial_events)
        self.cursor = cursor
        self.polls = 0
        self.ids = EventIds()

    @property
    def snapshot(self) -> LiveSnapshot | None:
        """Every agent's state at the last good poll (None before the first)."""
        return self.diff.snapshot

    @property
    def log_rows_dropped(self) -> int:
        """Status log rows the backfill cursor dropped (a uid twice, or going back)."""
        return 0 if self.cursor is None else self.cursor.dropped

    async def poll(self, *, observed_at: datetime) -> list[AgentEvent]:
        """Poll once and return the events to publish."""
        self.polls += 1
        current = await self._client.live.snapshot(
            include_offline=self.include_offline,
            page_size=self.page_size,
            max_pages=self.max_pages,
        )
        result = self.diff.compare(current, observed_at=observed_at)
        events = result.events
        first = self.diff.snapshot is None
        cursor = self.cursor
        if cursor is None:
            if not first and len(events) > 1:
                # The diff finds them in agent order: a reader of the stream saw a later
                # change before an earlier one. Stable, and only the events: O(events).
                events = sorted(events, key=_CHANGED_AT)
        else:
            if first and not cursor.started:
                await cursor.adopt(current)
            if cursor.due(self.polls, changed=bool(events) and not first):
                log_events = await cursor.read(current, poll=self.polls, observed_at=observed_at)
                # The log rows are the events; a first poll still shows everyone.
                events = (events if first else []) + log_events
            else:
                events = []
        self.diff.advance(result)
        # Numbered once the poll has succeeded: a failed one gave no id away.
        return self.ids.number(events) if events else events

    def picture(
        self, published: LiveSnapshot, pending: Sequence[AgentEvent], observed_at: datetime
    ) -> Appearances:
        """What a subscriber joining now starts with: an ``appeared`` event per agent as
        the events every subscriber has left it (``pending``: a poll's, being handed out).

        In poll mode that is ``published``, the snapshot of those events. In backfill
        mode the log events trail the snapshot (a row is written late): each agent as
        they left it, one they have not brought yet as the first poll showed it (or
        not at all): a picture ahead of them would be followed by older changes, or
        by an agent's appearance again.
        """
        cursor = self.cursor
        if cursor is None:
            # The ids of published's events: of before the poll being handed out, if any.
            ids = self.ids.brought(before_last=bool(pending))
            return Appearances(published, observed_at, ids=ids)
        states: dict[str, LiveAgent | None] = dict(cursor.states)
        for event in reversed(pending):  # the state before the poll's first event
            if event.before is None:
                states.pop(event.agent_id, None)  # its first log event: as before any
            else:
                states[event.agent_id] = event.before
        # Resumed from a log id, the first poll's snapshot (the cursor's first read, made
        # by that poll) shows the agents its log events have not brought yet; a cursor
        # started from a snapshot holds them all.
        resumed = cursor.resumed_from
        return Appearances(_NOBODY if resumed is None else resumed, observed_at, states)
