"""Watching agents: poll the live status, emit changes, fan them out.

Where a watcher decides an event: :mod:`._diff` (poll mode) and
:mod:`._backfill` (gap-free mode from ``status_log``). :mod:`._fanout` holds the
subscribers' buffers, :mod:`._watcher` the poll loop.
"""

from ._events import AgentEvent, EventKind, EventSource, Health, HealthEvent
from ._fanout import Overflow, Subscription
from ._watcher import AgentStream, AgentWatcher, WatchOptions, watch_agents

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
