"""Fan-out: each subscriber has its own bounded buffer and overflow policy.

- ``block``: when the buffer is full the poller waits for this subscriber
  (backpressure; nothing is lost, every other subscriber waits too).
- ``drop_oldest``: the oldest buffered event makes room; ``dropped`` counts them.
- ``coalesce``: at most one pending event per agent, the latest; replaced ones
  are counted in ``dropped``. Health events are never coalesced: they are read where
  they came among the agents' (the oldest beyond the buffer make room, as above).

A subscriber that is not ``block`` never delays the poller or anyone else.

The events a subscriber *starts* with (the first poll's, which happens inside
``async with``, before anyone can read; or the whole picture for one that joins
later) are a backlog handed over without waiting: ``block`` keeps it outside its
buffer and delivers it first, read lazily, so entering never waits for a reader
and nothing is lost however large the centre; the other policies treat it as
any other events.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator, Sequence
from types import TracebackType
from typing import Generic, Literal, Protocol, TypeVar

import anyio

from .._clock import Waits
from .._errors import own_copy
from .._faults import CLOSED
from ._events import AgentEvent, HealthEvent

Overflow = Literal["block", "drop_oldest", "coalesce"]
#: Seconds between two looks, by a publisher waiting on a full ``block`` buffer, at
#: whether its subscription is still held (see :meth:`Fanout.publish`).
RECHECK = 1.0
OVERFLOW_POLICIES: tuple[Overflow, ...] = ("block", "drop_oldest", "coalesce")

EventT = TypeVar("EventT", AgentEvent, "AgentEvent | HealthEvent")


class Backlog(Protocol):
    """Events a subscriber starts with: anything sized and iterable (a list, a lazy view)."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[AgentEvent]: ...


class SubscriptionClosed(Exception):
    """Raised into a blocked publisher when its subscriber goes away."""


class Subscription(Generic[EventT]):
    """One consumer's view of a watcher: ``async for event in subscription``.

    Iteration ends when the watcher stops or :meth:`close` is called; if the
    watcher stopped because of an error (a refused password, say), iteration
    raises it. Several tasks may read one subscription: each event goes to one of
    them (a subscription per task gives each every event).
    """

    def __init__(self, *, buffer: int, overflow: Overflow, include_health: bool) -> None:
        if overflow not in OVERFLOW_POLICIES:
            raise ValueError(f"overflow must be one of {OVERFLOW_POLICIES}, not {overflow!r}")
        # Not NaN, which passes any bound check and bounds nothing, nor 2.5 or True.
        if isinstance(buffer, bool) or not isinstance(buffer, int):
            raise TypeError(f"buffer must be a whole number, not {buffer!r}")
        if buffer < 1:
            raise ValueError("buffer must be >= 1")
        self.buffer = buffer
        self.overflow: Overflow = overflow
        self.include_health = include_health
        self.dropped = 0
        self.delivered = 0
        # coalesce keeps {agent_id: event} in arrival order, a health event under a key of
        # its own (``_health`` holds those keys, oldest first); others a plain deque.
        self._queue: deque[AgentEvent | HealthEvent] = deque()
        # An OrderedDict: taking the oldest from a plain dict emptied from the front
        # costs a scan over the deleted slots (a drain of n events was O(n^2)).
        self._latest: OrderedDict[object, AgentEvent | HealthEvent] = OrderedDict()
        self._health: deque[object] = deque()
        # block's backlog: read before the buffer, outside its bound (see the module doc).
        self._backlog: deque[Iterator[AgentEvent]] = deque()
        self._backlog_left = 0
        self._readable = anyio.Event()
        self._room = anyio.Event()
        self._closed = False
        self._error: BaseException | None = None

    @property
    def pending(self) -> int:
        """Events buffered (or in the backlog) and not yet read."""
        return len(self._queue) + len(self._latest) + self._backlog_left

    @property
    def closed(self) -> bool:
        """True once the subscription will deliver nothing more than what is buffered."""
        return self._closed

    # -- the publisher's side ------------------------------------------------

    async def publish(self, events: Sequence[AgentEvent | HealthEvent]) -> None:
        """Buffer events by this subscriber's policy (awaits only for ``block``: room)."""
        start = self.offer(events)
        while start < len(events):
            await self._room.wait()
            if self._closed:  # close() emptied the buffer: that room is not for us
                raise SubscriptionClosed
            start = self.offer(events, start)

    def offer(self, events: Sequence[AgentEvent | HealthEvent], start: int = 0) -> int:
        """Buffer ``events[start:]`` by this subscriber's policy, without waiting: the
        index of the first one a full ``block`` buffer has no room for (``len(events)``
        once all are in), to offer again when a reader has made room."""
        if self._closed:
            return len(events)
        if self.overflow != "block":
            if self._buffer(itertools.islice(events, start, None) if start else events):
                self._readable.set()
            return len(events)
        index = start
        for event in itertools.islice(events, start, None) if start else events:
            if self.include_health or not isinstance(event, HealthEvent):
                if len(self._queue) >= self.buffer:
                    if index > start:
                        self._readable.set()
                    self._room = anyio.Event()
                    return index
                self._queue.append(event)
            index += 1
        if index > start:
            self._readable.set()
        return index

    @property
    def room(self) -> anyio.Event:
        """What a publisher that :meth:`offer` stopped short waits on: set by a read, and
        by the subscription's end."""
        return self._room

    def prefill(self, events: Backlog) -> None:
        """Hand over the events this subscriber starts with, without waiting.

        ``block`` keeps them outside its buffer, to deliver first; the other
        policies buffer them as they buffer anything (dropping or coalescing).
        """
        if self._closed or not len(events):
            return
        if self.overflow == "block":
            self._backlog.append(iter(events))
            self._backlog_left += len(events)
        else:
            self._buffer(events)
        self._readable.set()

    def _buffer(self, events: Iterable[AgentEvent | HealthEvent]) -> bool:
        """Buffer events for ``drop_oldest`` or ``coalesce`` (never waits); True if any was."""
        coalesce = self.overflow == "coalesce"
        added = False
        for event in events:
            if isinstance(event, HealthEvent):
                if not self.include_health:
                    continue
                if coalesce:  # in arrival order among the agents' events, never coalesced
                    if len(self._health) >= self.buffer:
                        del self._latest[self._health.popleft()]
                        self.dropped += 1
                    key = object()
                    self._health.append(key)
                    self._latest[key] = event
                    added = True
                    continue
            elif coalesce:
                if event.agent_id in self._latest:
                    del self._latest[event.agent_id]  # re-insert: keep arrival order
                    self.dropped += 1
                self._latest[event.agent_id] = event
                added = True
                continue
            if len(self._queue) >= self.buffer:
                self._queue.popleft()
                self.dropped += 1
            self._queue.append(event)
            added = True
        return added

    def finish(self, error: BaseException | None = None) -> None:
        """End the subscription (after what is buffered); ``error`` is raised to the reader."""
        if not self._closed:
            self._closed = True
            self._error = error
            self._readable.set()
            self._room.set()

    # -- the consumer's side ---------------------------------------------------

    def close(self) -> None:
        """Stop receiving; buffered events are discarded."""
        self._queue.clear()
        self._latest.clear()
        self._health.clear()
        self._backlog.clear()
        self._backlog_left = 0
        self.finish()

    def __aiter__(self) -> Subscription[EventT]:
        return self

    async def __anext__(self) -> EventT:
        while True:
            event = self._pop()
            if event is not None:
                self.delivered += 1
                self._room.set()
                return event  # type: ignore[return-value]  # EventT is how this subscription was asked for
            if self._closed:
                if self._error is not None:
                    # One error for every reader (and every subscription of a Fanout):
                    # each raise is of a copy of its own, chained from it.
                    raise own_copy(self._error) from self._error
                raise StopAsyncIteration
            if self._readable.is_set():  # spent: a new one (readers that share it wait on one)
                self._readable = anyio.Event()
            await self._readable.wait()

    def _pop(self) -> AgentEvent | HealthEvent | None:
        if self._backlog:
            event = self._from_backlog()
            if event is not None:
                return event
        if self._queue:
            return self._queue.popleft()
        if self._latest:
            latest = self._latest.popitem(last=False)[1]
            if isinstance(latest, HealthEvent):
                self._health.popleft()  # its key: the oldest health event's
            return latest
        return None

    def _from_backlog(self) -> AgentEvent | None:
        while self._backlog:
            event = next(self._backlog[0], None)
            if event is not None:
                self._backlog_left -= 1
                return event
            self._backlog.popleft()
        self._backlog_left = 0  # all read (a lazy backlog may have yielded fewer)
        return None

    async def __aenter__(self) -> Subscription[EventT]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<Subscription overflow={self.overflow} buffer={self.buffer} "
            f"pending={self.pending} dropped={self.dropped}>"
        )


class Fanout:
    """A watcher's subscriptions, and the one way events reach them.

    Subscriptions are held weakly: one its reader dropped without closing it (``break``
    out of ``async for event in watcher.subscribe()``) goes with its last reference,
    and a publisher waiting on its full ``block`` buffer (holding only its room, not
    it) is woken by that and goes on without it, where it waited for ever.
    """

    def __init__(self) -> None:
        self._subscriptions: list[_Ref] = []
        self.finished = False
        # The error the fan-out ended with: a subscriber that comes later gets it too.
        self._error: BaseException | None = None

    def add(self, subscription: AnySubscription) -> None:
        """Deliver to ``subscription`` from now on (it ends at once, with the error the
        fan-out ended with, if the fan-out has)."""
        if self.finished:
            subscription.finish(self._error)
        self._subscriptions.append(weakref.ref(subscription))

    async def publish(
        self, events: list[AgentEvent] | list[HealthEvent], waits: Waits | None = None
    ) -> None:
        """Hand ``events`` to every subscription, in order; forget the closed ones.

        A subscription added while this waits (on a ``block`` one) gets them too. The
        client's ``waits`` end that wait (its aclose()): RuntimeError, as a closed client.
        """
        gone = False
        for ref in self._subscriptions:
            subscription = ref()
            if subscription is None or subscription.closed:
                gone = True
                continue
            start = subscription.offer(events)
            while start < len(events):
                room = subscription.room
                # Not held while waiting (its reader may drop it): its collection wakes us,
                # or, where the cycle collector freed it in another thread (which may not
                # touch the loop's event), the next look at it.
                collected = weakref.finalize(subscription, _wake, room, threading.get_ident())
                del subscription
                with waits.within() if waits is not None else anyio.CancelScope():
                    while not room.is_set() and ref() is not None:
                        with anyio.move_on_after(RECHECK):
                            await room.wait()
                collected.detach()
                if waits is not None and waits.closed:
                    raise RuntimeError(CLOSED)
                subscription = ref()
                if subscription is None or subscription.closed:
                    gone = True
                    break
                start = subscription.offer(events, start)
        if gone:
            self._subscriptions = [ref for ref in self._subscriptions if _open(ref)]

    def prefill(self, events: list[AgentEvent]) -> None:
        """Hand every subscription the events it starts with (see :meth:`Subscription.prefill`)."""
        for ref in self._subscriptions:
            if (subscription := ref()) is not None:
                subscription.prefill(events)

    def finish(self, error: BaseException | None = None) -> None:
        """End every subscription after what it holds; ``error`` is raised to its reader.

        Only the first call counts: the watcher's exit that follows a stop on an error
        does not make the error a clean end for a later subscriber."""
        if self.finished:
            return
        self.finished = True
        self._error = error
        for ref in self._subscriptions:
            if (subscription := ref()) is not None:
                subscription.finish(error)


AnySubscription = Subscription[AgentEvent] | Subscription[AgentEvent | HealthEvent]
_Ref = weakref.ref[AnySubscription]


def _wake(room: anyio.Event, thread: int) -> None:
    if threading.get_ident() == thread and not room.is_set():
        room.set()


def _open(ref: _Ref) -> bool:
    subscription = ref()
    return subscription is not None and not subscription.closed
