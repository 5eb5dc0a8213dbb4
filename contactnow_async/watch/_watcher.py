"""The poller: ticks, polls, diffs, backfills, and publishes to subscribers."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Generic, Literal, TypedDict, overload

import anyio
import anyio.abc
import attrs

from .._clock import Clock
from .._errors import AuthenticationError, ContactNowError
from .._models import utc
from ..resources.live import LiveSnapshot
from ._backfill import LogCursor
from ._diff import PollDiff, appeared
from ._events import AgentEvent, Health, HealthEvent
from ._fanout import EventT, Overflow, Subscription, SubscriptionClosed

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from typing_extensions import Unpack

    from .._client import ContactNow

logger = logging.getLogger("contactnow_async.watch")

_EMPTY = LiveSnapshot({})


class WatchOptions(TypedDict, total=False):
    """The :class:`AgentWatcher` keywords ``cn.watch_agents()`` passes on, typed."""

    interval: float
    jitter: float
    include_offline: bool
    page_size: int | None
    initial_events: bool
    backfill: bool
    since_log_id: int | None
    log_every: int
    log_lookback: float
    max_backoff: float
    clock: Clock | None


class AgentWatcher:
    """Polls every agent's live status and fans the changes out to subscribers.

    ::

        async with AgentWatcher(cn, interval=1.0) as watcher:
            wallboard = watcher.subscribe(overflow="coalesce")
            async for event in wallboard: ...

    The poller is a task in an anyio task group owned by the ``async with``
    block: leaving it (or cancelling it) stops everything. A failed poll emits
    nothing and backs off; ``health`` tells how polling goes.

    Options: ``interval`` (seconds between polls, fixed-rate: a slow poll delays
    the next, never overlaps it), ``jitter`` (a fraction of the interval added at
    random to each tick), ``include_offline``, ``page_size`` (``ajax.php`` paging),
    ``initial_events`` (the first poll emits ``appeared`` for everyone),
    ``backfill`` (events from ``status_log``: every transition exactly once),
    ``since_log_id`` (resume the log after this uid), ``log_every`` (read the log
    at least every K polls even when nothing seemed to change), ``max_backoff``
    (seconds between polls while failing), ``clock`` (default: the client's).
    """

    def __init__(
        self,
        client: ContactNow,
        *,
        interval: float = 2.0,
        jitter: float = 0.0,
        include_offline: bool = False,
        page_size: int | None = None,
        initial_events: bool = True,
        backfill: bool = False,
        since_log_id: int | None = None,
        log_every: int = 5,
        log_lookback: float = 120.0,
        max_backoff: float = 60.0,
        clock: Clock | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval!r}")
        if not 0 <= jitter < 1:
            raise ValueError("jitter is a fraction of the interval in [0, 1)")
        if since_log_id is not None and not backfill:
            raise ValueError("since_log_id resumes the status log: it needs backfill=True")
        if log_every < 1:
            raise ValueError("log_every must be >= 1")
        self.client = client
        self.interval = float(interval)
        self.jitter = jitter
        self.include_offline = include_offline
        self.page_size = page_size
        self.initial_events = initial_events
        self.backfill = backfill
        self.log_every = log_every
        self.log_lookback = log_lookback
        self.max_backoff = max(max_backoff, self.interval)
        self.clock: Clock = clock if clock is not None else client.clock
        self._cursor = LogCursor(client, since_log_id=since_log_id) if backfill else None
        self._diff = PollDiff(initial_events=initial_events)
        self._health = Health()
        self._subscribers: list[
            Subscription[AgentEvent] | Subscription[AgentEvent | HealthEvent]
        ] = []
        self._task_group: anyio.abc.TaskGroup | None = None
        self._stopped = False
        self._polls_since_log = 0
        self._unexplained = False

    # -- what a consumer reads -------------------------------------------------

    @property
    def snapshot(self) -> LiveSnapshot:
        """Every agent's state at the last good poll (empty before the first)."""
        snapshot = self._diff.snapshot
        return snapshot if snapshot is not None else _EMPTY

    @property
    def health(self) -> Health:
        """Last success, consecutive failures and last error of the polling."""
        return self._health

    @property
    def log_id(self) -> int | None:
        """The backfill cursor: the last status_log uid turned into an event."""
        return None if self._cursor is None else self._cursor.log_id

    @overload
    def subscribe(
        self,
        *,
        overflow: Overflow = ...,
        buffer: int = ...,
        include_health: Literal[False] = ...,
        initial: bool = ...,
    ) -> Subscription[AgentEvent]: ...

    @overload
    def subscribe(
        self,
        *,
        overflow: Overflow = ...,
        buffer: int = ...,
        include_health: Literal[True],
        initial: bool = ...,
    ) -> Subscription[AgentEvent | HealthEvent]: ...

    def subscribe(
        self,
        *,
        overflow: Overflow = "block",
        buffer: int = 10_000,
        include_health: bool = False,
        initial: bool = True,
    ) -> Subscription[AgentEvent] | Subscription[AgentEvent | HealthEvent]:
        """Add a consumer with its own buffer and overflow policy.

        A subscriber that joins after the first poll starts with an ``appeared``
        event per agent of the current snapshot (unless ``initial=False``), so
        every subscriber sees the whole picture, then the changes.
        ``include_health=True`` also delivers :class:`HealthEvent` s.
        """
        subscription: Subscription[AgentEvent] | Subscription[AgentEvent | HealthEvent]
        subscription = Subscription(buffer=buffer, overflow=overflow, include_health=include_health)
        if self._stopped:
            subscription.finish()
        elif initial and self._diff.snapshot is not None and self.initial_events:
            now = utc(self.clock.now())
            current = self._diff.snapshot
            subscription.prefill(appeared(current[agent_id], now) for agent_id in current.rows)
        self._subscribers.append(subscription)
        return subscription

    # -- lifecycle ---------------------------------------------------------------

    async def __aenter__(self) -> AgentWatcher:
        if self._task_group is not None:
            raise RuntimeError("this AgentWatcher is already running")
        if self._stopped:
            raise RuntimeError("an AgentWatcher runs once; create a new one")
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        try:
            await task_group.start(self._run)
        except BaseException as exc:
            task_group.cancel_scope.cancel()
            await task_group.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        task_group, self._task_group = self._task_group, None
        self._finish(None)
        if task_group is None:
            return None
        task_group.cancel_scope.cancel()
        # The poller never raises (it hands its errors to the subscribers), so the
        # task group is left without the body's exception: that one propagates as
        # itself, not wrapped in an exception group.
        await task_group.__aexit__(None, None, None)
        return None

    def _finish(self, error: BaseException | None) -> None:
        self._stopped = True
        for subscription in self._subscribers:
            subscription.finish(error)

    # -- the poll loop -------------------------------------------------------------

    async def _run(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        """Poll at a fixed rate until cancelled; the first poll happens before ``start`` returns."""
        started = False
        try:
            deadline = self.clock.now()
            while True:
                ok = await self._poll_once()
                if not started:
                    started = True
                    task_status.started()
                now = self.clock.now()
                if ok:
                    deadline += self.interval
                    if deadline < now:  # a slow poll: go again now, do not burst to catch up
                        deadline = now
                    tick = deadline
                else:
                    failures = self._health.consecutive_failures
                    backoff = min(self.max_backoff, self.interval * 2 ** min(failures, 16))
                    tick = deadline = now + backoff * random.uniform(
                        0.5, 1.0
                    )  # jitter, not a secret
                if self.jitter:
                    tick += random.uniform(0, self.jitter * self.interval)  # jitter, not a secret
                await self.clock.sleep_until(tick)
        except AuthenticationError as exc:
            # Polling can never succeed with a refused password: tell every reader.
            logger.error("watcher stopped: %s", exc)
            self._finish(exc)
            if not started:
                task_status.started()
        except SubscriptionClosed:
            if not started:
                task_status.started()

    async def _poll_once(self) -> bool:
        """One poll (and log read in backfill mode); True if it succeeded."""
        observed = self.clock.now()
        observed_at = utc(observed)
        try:
            current = await self.client.live.snapshot(
                include_offline=self.include_offline, page_size=self.page_size
            )
            result = self._diff.compare(current, observed_at=observed_at)
            events = result.events
            cursor = self._cursor
            if cursor is not None:
                first = self._diff.snapshot is None
                if first and not cursor.started:
                    cursor.adopt_snapshot(current)
                saw_change = bool(events) and not first
                self._polls_since_log += 1
                if (
                    first
                    or saw_change
                    or self._unexplained
                    or self._polls_since_log >= self.log_every
                ):
                    log_events = await cursor.read(
                        current, observed_at=observed_at, lookback=self.log_lookback
                    )
                    self._polls_since_log = 0
                    self._unexplained = not cursor.explains(current)
                    # The log rows are the events; a first poll still shows everyone.
                    events = [e for e in events if first and e.kind == "appeared"] + log_events
                else:
                    events = []
        except AuthenticationError:
            raise
        except ContactNowError as exc:
            self._record_failure(observed_at, exc)
            await self._publish_health()
            return False
        recovered = self._health.consecutive_failures > 0
        self._diff.advance(result)
        self._health = attrs.evolve(
            self._health,
            polls=self._health.polls + 1,
            consecutive_failures=0,
            last_success=observed_at,
            last_attempt=observed_at,
        )
        if recovered:
            await self._publish_health()
        if events:
            await self._publish(events)
        return True

    def _record_failure(self, observed_at: datetime, exc: ContactNowError) -> None:
        health = self._health
        self._health = attrs.evolve(
            health,
            polls=health.polls + 1,
            failures=health.failures + 1,
            consecutive_failures=health.consecutive_failures + 1,
            last_attempt=observed_at,
            last_error=f"{type(exc).__name__}: {exc}",
        )
        logger.warning(
            "poll failed (%d in a row): %s",
            self._health.consecutive_failures,
            self._health.last_error,
        )

    async def _publish_health(self) -> None:
        event = HealthEvent(health=self._health, observed_at=utc(self.clock.now()))
        await self._publish([event])

    async def _publish(self, events: list[AgentEvent] | list[HealthEvent]) -> None:
        closed = False
        for subscription in self._subscribers:
            if subscription.closed:
                closed = True
                continue
            try:
                await subscription.publish(events)
            except SubscriptionClosed:
                closed = True
        if closed:
            self._subscribers = [s for s in self._subscribers if not s.closed]


class AgentStream(Generic[EventT]):
    """One watcher and one subscription, as ``cn.watch_agents()`` gives them.

    ``async for event in stream`` yields :class:`AgentEvent` s (and
    :class:`HealthEvent` s when asked with ``include_health=True``);
    ``snapshot``, ``health`` and ``log_id`` come from the watcher; ``dropped``
    counts events the overflow policy discarded.
    """

    def __init__(self, watcher: AgentWatcher, subscription: Subscription[EventT]) -> None:
        self.watcher = watcher
        self.subscription: Subscription[EventT] = subscription

    @property
    def snapshot(self) -> LiveSnapshot:
        """Every agent's state at the last good poll."""
        return self.watcher.snapshot

    @property
    def health(self) -> Health:
        """How polling goes: last success, consecutive failures, last error."""
        return self.watcher.health

    @property
    def log_id(self) -> int | None:
        """The backfill cursor (the last status_log uid delivered to the stream)."""
        return self.watcher.log_id

    @property
    def dropped(self) -> int:
        """Events the overflow policy discarded."""
        return self.subscription.dropped

    def __aiter__(self) -> AsyncIterator[EventT]:
        return self.subscription.__aiter__()

    async def __anext__(self) -> EventT:
        return await self.subscription.__anext__()


@overload
def watch_agents(
    client: ContactNow,
    *,
    overflow: Overflow = ...,
    buffer: int = ...,
    include_health: Literal[False] = ...,
    **options: Unpack[WatchOptions],
) -> AbstractAsyncContextManager[AgentStream[AgentEvent]]: ...


@overload
def watch_agents(
    client: ContactNow,
    *,
    overflow: Overflow = ...,
    buffer: int = ...,
    include_health: Literal[True],
    **options: Unpack[WatchOptions],
) -> AbstractAsyncContextManager[AgentStream[AgentEvent | HealthEvent]]: ...


def watch_agents(
    client: ContactNow,
    *,
    overflow: Overflow = "block",
    buffer: int = 10_000,
    include_health: bool = False,
    **options: Unpack[WatchOptions],
) -> (
    AbstractAsyncContextManager[AgentStream[AgentEvent]]
    | AbstractAsyncContextManager[AgentStream[AgentEvent | HealthEvent]]
):
    """Watch every agent's live status: ``async with cn.watch_agents() as stream``.

    Runs an :class:`AgentWatcher` with one subscriber and yields an
    :class:`AgentStream`, an async iterator of :class:`AgentEvent` (and of
    :class:`HealthEvent` with ``include_health=True``). Takes the keywords of
    :class:`AgentWatcher` plus ``overflow`` and ``buffer`` for the stream's own
    buffer. Also bound as the method ``ContactNow.watch_agents``.
    """
    watcher = AgentWatcher(client, **options)
    # Subscribe before the first poll so the stream gets the initial events itself.
    if include_health:
        return _streaming(
            watcher,
            watcher.subscribe(overflow=overflow, buffer=buffer, include_health=True, initial=False),
        )
    return _streaming(watcher, watcher.subscribe(overflow=overflow, buffer=buffer, initial=False))


@asynccontextmanager
async def _streaming(
    watcher: AgentWatcher, subscription: Subscription[EventT]
) -> AsyncIterator[AgentStream[EventT]]:
    async with watcher:
        yield AgentStream(watcher, subscription)
