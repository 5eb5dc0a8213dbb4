"""The watcher: ticks, and on each tick a poll, its health, and the publishing.

Each part lives with its role: :mod:`._poll` makes a poll's events (the diff,
and the status log when :mod:`._backfill` says a read is due), :mod:`._health`
keeps the health, :mod:`._fanout` hands events to the subscribers. This module
only runs them at a fixed rate in a task group it owns.
"""

from __future__ import annotations

import logging
import math
import random
from contextlib import AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Literal, TypedDict, overload

import anyio
import anyio.abc

from .._clock import Clock, waits_of
from .._errors import AuthenticationError, ContactNowError, LogPositionError
from .._faults import CLOSED
from .._values import utc
from ..resources._base import boolean
from ..resources.live import DEFAULT_MAX_PAGES, LiveSnapshot, check_pages
from ._backfill import LogCursor
from ._events import AgentEvent, Health, HealthEvent
from ._fanout import Fanout, Overflow, Subscription
from ._health import HealthTracker
from ._poll import Poller

if TYPE_CHECKING:
    from .._client import ContactNow

logger = logging.getLogger("contactnow_async.watch")
#: The error logged when one of ``_STOPS`` stops polling; ``contactnow watch`` says it
#: in its own error line instead (and filters the logged one out by this text).
WATCHER_STOPPED = "watcher stopped: %s"
#: Errors no later poll can mend: a refused password, a log position the log refuses.
#: They stop the watcher and end every subscriber's stream, instead of a failed poll
#: reported each interval for ever.
_STOPS = (AuthenticationError, LogPositionError)

_EMPTY = LiveSnapshot({})


class WatchOptions(TypedDict, total=False):
    """The :class:`AgentWatcher` keywords ``cn.watch_agents()`` passes on, typed."""

    interval: float
    jitter: float
    include_offline: bool
    page_size: int | None
    max_pages: int
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
    nothing and backs off; ``health`` tells how polling goes. A refused password
    (AuthenticationError) or a log position the status log refuses
    (LogPositionError) stops polling and ends every subscriber's stream with it.
    Any other error that stops the poller (a closed client, a bug) comes out of
    ``async with`` as itself, unless the block raised its own: that one wins, the
    poller's named in a note.

    Options: ``interval`` (seconds between polls, fixed-rate: a slow poll delays
    the next, never overlaps it), ``jitter`` (a fraction of the interval added at
    random to each tick), ``include_offline``, ``page_size`` and ``max_pages``
    (``ajax.php`` paging: rows per page, and pages per poll at most),
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
        max_pages: int = DEFAULT_MAX_PAGES,
        initial_events: bool = True,
        backfill: bool = False,
        since_log_id: int | None = None,
        log_every: int = 5,
        log_lookback: float = 120.0,
        max_backoff: float = 60.0,
        clock: Clock | None = None,
    ) -> None:
        # Written so that NaN fails too (every comparison with it is false).
        if not 0 < interval < math.inf:
            raise ValueError(f"interval must be positive seconds, got {interval!r}")
        if not 0 <= log_lookback < math.inf:
            raise ValueError(f"log_lookback must be seconds >= 0, got {log_lookback!r}")
        if not 0 < max_backoff < math.inf:
            raise ValueError(f"max_backoff must be positive seconds, got {max_backoff!r}")
        if not 0 <= jitter < 1:
            raise ValueError("jitter is a fraction of the interval in [0, 1)")
        if since_log_id is not None and not backfill:
            raise ValueError("since_log_id resumes the status log: it needs backfill=True")
        if log_every < 1:
            raise ValueError("log_every must be >= 1")
        check_pages(page_size, max_pages)  # here, not at the first poll
        include_offline = boolean(include_offline, name="include_offline")  # "no" is truthy
        initial_events = boolean(initial_events, name="initial_events")
        backfill = boolean(backfill, name="backfill")
        cursor = (
            LogCursor(client, since_log_id=since_log_id, log_every=log_every, lookback=log_lookback)
            if backfill
            else None
        )
        self.client = client
        self.interval = float(interval)
        self.jitter = jitter
        self.initial_events = initial_events
        self._log_every = log_every
        self._log_lookback = log_lookback
        self.max_backoff = max(max_backoff, self.interval)
        self.clock: Clock = clock if clock is not None else client.clock
        self._poller = Poller(
            client,
            include_offline=include_offline,
            page_size=page_size,
            max_pages=max_pages,
            initial_events=initial_events,
            cursor=cursor,
        )
        self._health = HealthTracker()
        self._fanout = Fanout()
        # The snapshot whose events every subscriber has: a late subscriber's picture. The
        # poller's moves on before its poll's events are handed out (a block subscriber can
        # hold that for long); one that joins meanwhile starts before them and gets them.
        self._published: LiveSnapshot | None = None
        # A poll's events from the poll until every subscriber has them: not in that picture.
        self._pending: list[AgentEvent] = []
        self._exit_stack: AsyncExitStack | None = None
        # The error that stopped a running poller (not one of _STOPS): what ``async with``
        # raises as itself, not in the exception group its task group wraps it in.
        self._failure: Exception | None = None

    # -- the options it runs with -----------------------------------------------

    @property
    def include_offline(self) -> bool:
        """Whether offline agents are polled too."""
        return self._poller.include_offline

    @property
    def page_size(self) -> int | None:
        """The ``ajax.php`` page size asked for (None: the server's)."""
        return self._poller.page_size

    @property
    def max_pages(self) -> int:
        """The most ``ajax.php`` pages one poll reads (then its snapshot is incomplete)."""
        return self._poller.max_pages

    @property
    def backfill(self) -> bool:
        """Whether the events come from ``status_log`` (every transition exactly once)."""
        return self._poller.cursor is not None

    @property
    def log_every(self) -> int:
        """In backfill mode, the log is read at least every this many polls."""
        return self._log_every

    @property
    def log_lookback(self) -> float:
        """Seconds of log read before the first snapshot (backfill without ``since_log_id``)."""
        return self._log_lookback

    # -- what a consumer reads -------------------------------------------------

    @property
    def snapshot(self) -> LiveSnapshot:
        """Every agent's state at the last good poll (empty before the first)."""
        snapshot = self._poller.snapshot
        return snapshot if snapshot is not None else _EMPTY

    @property
    def health(self) -> Health:
        """Last success, consecutive failures and last error of the polling."""
        return self._health.health

    @property
    def log_id(self) -> int | None:
        """The backfill cursor: the last status_log uid turned into an event."""
        cursor = self._poller.cursor
        return None if cursor is None else cursor.log_id

    @property
    def log_start(self) -> int | None:
        """Backfill started without ``since_log_id``: where its log starts, the first
        snapshot's time (unix seconds, the server's clock); None otherwise."""
        cursor = self._poller.cursor
        return None if cursor is None else cursor.start_line

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
        every subscriber sees the whole picture, then the changes. In backfill mode
        the picture is each agent's state as the log events so far left it.
        ``include_health=True`` also delivers :class:`HealthEvent` s.

        What a subscriber starts with (that picture, or the first poll's events
        for one that subscribed before ``async with``) is never held against its
        ``buffer``: a ``block`` subscriber gets all of it, then the changes, with
        backpressure from then on.
        """
        subscription: Subscription[AgentEvent] | Subscription[AgentEvent | HealthEvent]
        subscription = Subscription(buffer=buffer, overflow=overflow, include_health=include_health)
        current = self._published
        if initial and current is not None and self.initial_events and not self._fanout.finished:
            observed_at = utc(self.clock.now())
            subscription.prefill(self._poller.picture(current, self._pending, observed_at))
        self._fanout.add(subscription)
        return subscription

    # -- lifecycle ---------------------------------------------------------------

    async def __aenter__(self) -> AgentWatcher:
        if self._exit_stack is not None:
            raise RuntimeError("this AgentWatcher is already running")
        if self._fanout.finished:
            raise RuntimeError("an AgentWatcher runs once; create a new one")
        # Before the first await: a second task entering meanwhile is refused (no 2nd poller).
        stack = self._exit_stack = AsyncExitStack()
        try:
            if self.client.is_closed:  # as any call on it: not in the task group's group
                raise RuntimeError(CLOSED)
            task_group = await stack.enter_async_context(anyio.create_task_group())
            # Unwound last in, first out: the poller is cancelled, then awaited.
            stack.callback(task_group.cancel_scope.cancel)
            await task_group.start(self._run)
        except BaseException as exc:
            # Failed or cut short before it ran (no __aexit__ follows): a reader of a
            # subscription taken before it ends too, rather than waiting for ever.
            self._exit_stack = None
            self._fanout.finish(exc if isinstance(exc, Exception) else None)
            # start() raised the first poll's error itself; the task group, left with it,
            # wrapped it in an exception group. Left without it (its poller cancelled),
            # the error goes on as any call on the client raises it.
            await stack.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._exit_stack = self._exit_stack, None
        self._fanout.finish()
        if stack is None:
            return
        # The task group is left without the body's exception: that one propagates as
        # itself, not wrapped in an exception group.
        try:
            await stack.aclose()
        except BaseException as error:
            # The poller raises only an error that stopped it (a closed client, a bug); the
            # group holding it alone is unwrapped, as the first poll's error is.
            failure = self._failure
            if failure is None or not _only(error, failure):
                raise
        else:
            return
        if exc is None or isinstance(exc, anyio.get_cancelled_exc_class()) or _echoes(exc, failure):
            raise failure  # the body ended, was cancelled by that stop, or raised it back
        # The body's own error (or Ctrl-C) wins, as it would without a watcher: the
        # poller's goes with it, named in a note unless the body's chain holds it.
        if not _holds(exc, failure):
            _add_note(exc, f"the watcher's poller stopped too: {type(failure).__name__}: {failure}")

    # -- the poll loop -------------------------------------------------------------

    async def _run(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        """Poll at a fixed rate until cancelled; the first poll happens before ``start`` returns."""
        started = False
        waits = waits_of(self.client)  # its aclose() ends a wait between polls
        try:
            deadline = self.clock.now()
            while True:
                ok = await self._poll_once(starting=not started)
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
                    tick = deadline = now + self._health.backoff(self.interval, self.max_backoff)
                if self.jitter:
                    tick += random.uniform(0, self.jitter * self.interval)  # jitter, not a secret
                with waits.within():  # ended by the client's aclose(): the next poll says so
                    if not self.client.is_closed:  # (closed as this poll's events went out)
                        await self.clock.sleep_until(tick)
        except _STOPS as exc:
            # Polling can never succeed (see _STOPS): tell every reader.
            logger.error(WATCHER_STOPPED, exc)
            self._fanout.finish(exc)
            if not started:
                task_status.started()
        except Exception as exc:
            # Anything else (a closed client, a bug) leaves through the task group to the
            # ``async with`` block; a reader elsewhere gets it too, not a clean end.
            self._fanout.finish(exc)
            self._failure = exc
            raise

    async def _poll_once(self, *, starting: bool) -> bool:
        """One poll, its health and its publishing; True if the poll succeeded.

        The poll made while ``async with`` is ``starting`` hands its events over
        without waiting (nobody can read before it returns): a ``block`` buffer
        smaller than the centre would stall it for ever.
        """
        observed_at = utc(self.clock.now())
        try:
            events = await self._poller.poll(observed_at=observed_at)
        except _STOPS as exc:
            # The watcher's last poll: its health says so (it stayed healthy for ever), and
            # its stop is logged instead of a failed poll.
            self._health.failed(observed_at, exc, warn=False)
            raise
        except ContactNowError as exc:
            self._health.failed(observed_at, exc)
            await self._publish_health()
            return False
        self._pending = events
        try:
            if self._health.succeeded(observed_at, log_rows_dropped=self._poller.log_rows_dropped):
                await self._publish_health()
            if starting:
                self._fanout.prefill(events)
            elif events:
                await self._fanout.publish(events, waits_of(self.client))
        finally:
            self._pending = []
        self._published = self._poller.snapshot
        return True

    async def _publish_health(self) -> None:
        event = HealthEvent(health=self._health.health, observed_at=utc(self.clock.now()))
        await self._fanout.publish([event], waits_of(self.client))


def _only(error: BaseException, failure: Exception) -> bool:
    """Whether ``error`` is an exception group (of groups) holding ``failure`` alone."""
    inner = getattr(error, "exceptions", None)  # BaseExceptionGroup, without needing 3.11
    if not isinstance(inner, tuple) or not inner:
        return False
    return all(one is failure or _only(one, failure) for one in inner)


def _echoes(error: BaseException, failure: Exception) -> bool:
    """Whether ``error`` is only ``failure`` come back: itself, a reader's copy (chained
    from it), or an exception group of those and cancellations (a task group of the
    block's own, whose readers it ended)."""
    if error is failure or (type(error) is type(failure) and error.__cause__ is failure):
        return True
    inner = getattr(error, "exceptions", None)  # BaseExceptionGroup, without needing 3.11
    if not isinstance(inner, tuple) or not inner:
        return False
    cancelled = anyio.get_cancelled_exc_class()
    return all(isinstance(one, cancelled) or _echoes(one, failure) for one in inner)


def _holds(error: BaseException, failure: BaseException) -> bool:
    """Whether ``failure`` is ``error`` or in its chain (its causes and contexts)."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        one = pending.pop()
        if one is None or id(one) in seen:
            continue
        if one is failure:
            return True
        seen.add(id(one))
        pending += [one.__cause__, one.__context__]
    return False


def _add_note(error: BaseException, note: str) -> None:
    """``error.add_note(note)``, also before Python 3.11 (the exceptiongroup backport,
    which anyio installs there, prints ``__notes__`` as 3.11 does)."""
    notes = getattr(error, "__notes__", None)
    if isinstance(notes, list):
        notes.append(note)
    else:
        error.__notes__ = [note]  # type: ignore[attr-defined]  # typeshed has it from 3.11
