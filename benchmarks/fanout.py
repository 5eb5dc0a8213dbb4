"""5. Fan-out: per-event delivery cost to 1 vs 100 subscribers.

The watcher's publishing step, isolated: one batch of ``appeared`` events for
10,000 agents (what a first poll of 10,000 agents publishes) is published into
1 and into 100 :class:`~contactnow_async.Subscription` s, one ``publish`` per
subscriber as ``AgentWatcher._publish`` does, then every subscription is
drained with ``async for``. Each overflow policy is run with a buffer large
enough to hold the batch (no drops), so every event is delivered.
Figures: microseconds per delivered event (publish + read), and the
100-subscriber cost per delivery / the 1-subscriber cost (1.0: linear).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from contactnow_async import AgentEvent
from contactnow_async.resources.live import LiveSnapshot
from contactnow_async.watch._diff import PollDiff
from contactnow_async.watch._fanout import OVERFLOW_POLICIES, Overflow, Subscription

from ._common import Mode, Row, interleave, now, row

NAME = "5 fan-out"


def events_for(agents: int) -> list[AgentEvent]:
    rows: dict[str, Mapping[str, Any]] = {
        str(uid): {"uid": str(uid), "name": f"Agent {uid}", "status": "wait", "statuscode": "",
                   "time": "1700000000", "srvtime": "1700000100", "call": []}
        for uid in range(1000, 1000 + agents)
    }  # fmt: skip
    return PollDiff().compare(LiveSnapshot(rows), observed_at=datetime.now(timezone.utc)).events


async def deliver(events: list[AgentEvent], subscribers: int, overflow: Overflow) -> float:
    """Seconds per delivered event: publish to every subscriber, then drain them all."""
    subscriptions: list[Subscription[AgentEvent]] = [
        Subscription(buffer=len(events), overflow=overflow, include_health=False)
        for _ in range(subscribers)
    ]
    started = now()
    for subscription in subscriptions:
        await subscription.publish(events)
    for subscription in subscriptions:
        subscription.finish()
        count = 0
        async for _ in subscription:
            count += 1
        assert count == len(events)
    return (now() - started) / (len(events) * subscribers)


#: (agents, repeats) by mode
SIZES: dict[Mode, tuple[int, int]] = {"full": (10_000, 5), "quick": (2000, 3), "smoke": (200, 1)}


async def run(mode: Mode) -> list[Row]:
    agents, repeats = SIZES[mode]
    events = events_for(agents)
    rows = []
    for overflow in OVERFLOW_POLICIES:

        async def one(overflow: Overflow = overflow) -> float:
            return await deliver(events, 1, overflow)

        async def hundred(overflow: Overflow = overflow) -> float:
            return await deliver(events, 100, overflow)

        pairs = await interleave(one, hundred, repeats)
        rows.append(
            row(NAME, f"{overflow}: 1 subscriber, per event", [a * 1e6 for a, _ in pairs], "µs")
        )
        rows.append(
            row(
                NAME,
                f"{overflow}: 100 subscribers, per event each",
                [b * 1e6 for _, b in pairs],
                "µs",
            )
        )
        rows.append(
            row(
                NAME,
                f"{overflow}: per-delivery cost, 100 / 1 subscribers ({len(events):,} events)",
                [b / a for a, b in pairs],
                "x",
            )
        )
    return rows
