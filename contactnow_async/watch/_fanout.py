"""Fan-out: each subscriber has its own bounded buffer and overflow policy.

- ``block``: when the buffer is full the poller waits for this subscriber
  (backpressure; nothing is lost, every other subscriber waits too).
- ``drop_oldest``: the oldest buffered event makes room; ``dropped`` counts them.
- ``coalesce``: at most one pending event per agent, the latest; replaced ones
  are counted in ``dropped``. Health events are never coalesced.

A subscriber that is not ``block`` never delays the poller or anyone else.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable
from types import TracebackType
from typing import Generic, Literal, TypeVar

import anyio

from ._events import AgentEvent, HealthEvent

Overflow = Literal["block", "drop_oldest", "coalesce"]
OVERFLOW_POLICIES: tuple[Overflow, ...] = ("block", "drop_oldest", "coalesce")

EventT = TypeVar("EventT", AgentEvent, "AgentEvent | HealthEvent")


class SubscriptionClosed(Exception):
    """Raised into a blocked publisher when its subscriber goes away."""


class Subscription(Generic[EventT]):
    """One consumer's view of a watcher: ``async for event in subscription``.

    Iteration ends when the watcher stops or :meth:`close` is called; if the
    watcher stopped because of an error (a refused password, say), iteration
    raises it.
    """

    def __init__(self, *, buffer: int, overflow: Overflow, include_health: bool) -> None:
        if overflow not in OVERFLOW_POLICIES:
            raise ValueError(f"overflow must be one of {OVERFLOW_POLICIES}, not {overflow!r}")
        if buffer < 1:
            raise ValueError("buffer must be >= 1")
        self.buffer = buffer
        self.overflow: Overflow = overflow
        self.include_health = include_health
        self.dropped = 0
        self.delivered = 0
        # coalesce keeps {agent_id: event} in arrival order; others a plain deque.
        self._queue: deque[AgentEvent | HealthEvent] = deque()
        # An OrderedDict: taking the oldest from a plain dict emptied from the front
        # costs a scan over the deleted slots (a drain of n events was O(n^2)).
        self._latest: OrderedDict[str, AgentEvent] = OrderedDict()
        self._readable = anyio.Event()
        self._writable = anyio.Event()
        self._closed = False
        self._error: BaseException | None = None

    @property
    def pending(self) -> int:
        """Events buffered and not yet read."""
        return len(self._queue) + len(self._latest)

    @property
    def closed(self) -> bool:
        """True once the subscription will deliver nothing more than what is buffered."""
        return self._closed

    # -- the publisher's side ------------------------------------------------

    async def publish(self, events: Iterable[AgentEvent | HealthEvent]) -> None:
        """Buffer events by this subscriber's policy (awaits only for ``block``)."""
        if self._closed:
            return
        overflow = self.overflow
        added = False
        for event in events:
            if isinstance(event, HealthEvent):
                if not self.include_health:
                    continue
            elif overflow == "coalesce":
                if event.agent_id in self._latest:
                    del self._latest[event.agent_id]  # re-insert: keep arrival order
                    self.dropped += 1
                self._latest[event.agent_id] = event
                added = True
                continue
            if overflow == "block":
                while len(self._queue) >= self.buffer:
                    if added:
                        self._readable.set()
                    if self._closed:
                        raise SubscriptionClosed
                    self._writable = anyio.Event()
                    await self._writable.wait()
            elif len(self._queue) >= self.buffer:
                self._queue.popleft()
                self.dropped += 1
            self._queue.append(event)
            added = True
        if added:
            self._readable.set()

    def prefill(self, events: Iterable[AgentEvent]) -> None:
        """Buffer a new subscriber's first events without waiting (drops the oldest if full)."""
        for event in events:
            if self.overflow == "coalesce":
                self._latest[event.agent_id] = event
                continue
            if len(self._queue) >= self.buffer:
                self._queue.popleft()
                self.dropped += 1
            self._queue.append(event)
        self._readable.set()

    def finish(self, error: BaseException | None = None) -> None:
        """End the subscription (after what is buffered); ``error`` is raised to the reader."""
        if not self._closed:
            self._closed = True
            self._error = error
            self._readable.set()
            self._writable.set()

    # -- the consumer's side ---------------------------------------------------

    def close(self) -> None:
        """Stop receiving; buffered events are discarded."""
        self._queue.clear()
        self._latest.clear()
        self.finish()

    def __aiter__(self) -> Subscription[EventT]:
        return self

    async def __anext__(self) -> EventT:
        while True:
            event = self._pop()
            if event is not None:
                self.delivered += 1
                self._writable.set()
                return event  # type: ignore[return-value]  # EventT is how this subscription was asked for
            if self._closed:
                if self._error is not None:
                    raise self._error
                raise StopAsyncIteration
            self._readable = anyio.Event()
            await self._readable.wait()

    def _pop(self) -> AgentEvent | HealthEvent | None:
        if self._queue:
            return self._queue.popleft()
        if self._latest:
            return self._latest.popitem(last=False)[1]
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
    """A watcher's subscriptions, and the one way events reach them."""

    def __init__(self) -> None:
        self._subscriptions: list[Subscription[AgentEvent] | Subscription[AgentEvent | HealthEvent]]
        self._subscriptions = []
        self.finished = False

    def add(
        self, subscription: Subscription[AgentEvent] | Subscription[AgentEvent | HealthEvent]
    ) -> None:
        """Deliver to ``subscription`` from now on (it ends at once if the fan-out has)."""
        if self.finished:
            subscription.finish()
        self._subscriptions.append(subscription)

    async def publish(self, events: list[AgentEvent] | list[HealthEvent]) -> None:
        """Hand ``events`` to every subscription, in order; forget the closed ones."""
        closed = False
        for subscription in self._subscriptions:
            if subscription.closed:
                closed = True
                continue
            try:
                await subscription.publish(events)
            except SubscriptionClosed:
                closed = True
        if closed:
            self._subscriptions = [s for s in self._subscriptions if not s.closed]

    def finish(self, error: BaseException | None = None) -> None:
        """End every subscription after what it holds; ``error`` is raised to its reader."""
        self.finished = True
        for subscription in self._subscriptions:
            subscription.finish(error)
