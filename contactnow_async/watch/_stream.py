"""``cn.watch_agents()``: one watcher and one subscription, as an async iterator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Generic, Literal, overload

from ..resources._base import boolean
from ..resources.live import LiveSnapshot
from ._events import AgentEvent, Health, HealthEvent
from ._fanout import EventT, Overflow, Subscription
from ._watcher import AgentWatcher, WatchOptions

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from typing_extensions import Unpack

    from .._client import ContactNow


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
        """The backfill cursor: the last status_log uid handed to the stream's buffer,
        which may be ahead of the events read from it so far. To resume where you left
        off, save the ``log_id`` of the last event you handled, not this."""
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
    include_health = boolean(include_health, name="include_health")
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
