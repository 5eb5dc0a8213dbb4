"""Watching agents: poll the live status, emit changes, fan them out.

Where a watcher decides an event: :mod:`._diff` (poll mode) and
:mod:`._backfill` (gap-free mode from ``status_log``), put together by
:mod:`._poll`. :mod:`._health` keeps the health, :mod:`._fanout` the
subscribers' buffers, :mod:`._watcher` the poll loop and its task group, and
:mod:`._stream` the ``cn.watch_agents()`` front.
"""

from ._events import AgentEvent, EventKind, EventSource, Health, HealthEvent
from ._fanout import Overflow, Subscription
from ._stream import AgentStream, watch_agents
from ._watcher import AgentWatcher, WatchOptions

__all__ = [
    "AgentEvent",
    "AgentStream",
    "AgentWatcher",
    "EventKind",
    "EventSource",
    "Health",
    "HealthEvent",
    "Overflow",
    "Subscription",
    "WatchOptions",
    "watch_agents",
]
