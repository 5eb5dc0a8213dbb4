"""Backfill against a model, stopped every way a consumer stops: a break, an exception
in the consumer, a cancel from outside (during a poll as between them), a closed
client; with replies slower than the client's timeout among the faults. The events
handled, run after run, must be the status log: each uid once, in order.
"""

from __future__ import annotations

import random
from typing import Any

import anyio
import pytest

from contactnow_async import AgentEvent, ContactNow
from contactnow_async.simulator import FaultKind, Simulator
from tests._helpers import on_each_backend_in_turn

from ._support import TickingClock, client_on
from .test_model import (
    FAULTS,
    _move,
    _seeded,
    assert_every_row_after_once,
    assert_the_log_once,
)

pytestmark = pytest.mark.anyio

STOPS = ["break", "raise", "cancel", "close"]


class Stop(Exception):
    """The consumer's own failure."""


async def _run(
    sim: Simulator,
    cn: ContactNow,
    rng: random.Random,
    since: int | None,
    stop: str,
    starts: list[int | None],
    **options: Any,
) -> list[AgentEvent]:
    """One watcher, stopped by ``stop`` after a random number of events (or of its
    polls): returns the log events the consumer handled, and adds to ``starts`` where
    its log started (``log_start``) once it handed one out."""
    clock = sim.clock
    assert isinstance(clock, TickingClock)
    handled: list[AgentEvent] = []
    stop_after = rng.randint(1, 200)
    ticks = rng.randint(1, 60)

    async def drive(outer: anyio.CancelScope) -> None:
        for tick in range(10**9):
            await clock.tick()
            if tick == 0:  # at least one reply each run outlasts the timeout
                sim.faults.inject(FaultKind.LATENCY, script="ajax", latency=0.2)
            if tick == ticks and stop in ("cancel", "close"):
                if stop == "cancel":
                    outer.cancel()
                else:
                    await cn.aclose()
                return
            for _ in range(rng.randint(0, 3)):
                await _move(cn, rng, sim.agent_ids)
            if rng.random() < 0.15:
                script = rng.choice(["ajax", "database"])
                if rng.random() < 0.2:
                    sim.faults.inject(FaultKind.LATENCY, script=script, latency=0.2)
                else:
                    sim.faults.inject(rng.choice(FAULTS), script=script)
            if rng.random() < 0.05:
                sim.log_delay = rng.choice([0.0, 0.5, 2.0])

    expected: type[Exception] = RuntimeError if stop == "close" else Stop
    with anyio.CancelScope() as outer:
        async with anyio.create_task_group() as tg:
            tg.start_soon(drive, outer)
            try:
                async with cn.watch_agents(
                    interval=1.0, backfill=True, since_log_id=since, **options
                ) as stream:
                    async for event in stream:
                        if event.source == "status_log":
                            if not handled:
                                starts.append(stream.watcher.log_start)
                            handled.append(event)
                            if stop in ("break", "raise") and len(handled) >= stop_after:
                                if stop == "raise":
                                    raise Stop
                                break
            except expected:
                pass
            tg.cancel_scope.cancel()
    return handled


async def _runs(
    sim: Simulator, rng: random.Random, *, since: int | None, starts: list[int | None]
) -> list[AgentEvent]:
    """Eight watchers one after the other, each stopped another way, each resuming
    after the last event handled, on a client that gives up on a reply after 0.05 s."""
    handled: list[AgentEvent] = []
    for run in range(8):
        options: dict[str, Any] = {
            "buffer": rng.choice([1, 5, 10_000]),
            "log_every": rng.choice([1, 3, 5]),
            "page_size": rng.choice([None, 4]),
            "include_offline": rng.random() < 0.5,
        }
        async with client_on(sim, max_retries=rng.choice([0, 2]), timeout=0.05) as cn:
            handled.extend(
                await _run(sim, cn, rng, since, STOPS[run % len(STOPS)], starts, **options)
            )
        if handled:
            since = handled[-1].log_id
        assert isinstance(sim.clock, TickingClock)
        sim.clock.advance(rng.choice([0.0, 0.5, 5.0]))
    sim.faults.clear()
    sim.log_delay = 0.0
    return handled


@pytest.mark.slow
@on_each_backend_in_turn("seed", range(4))
async def test_every_way_of_stopping_then_resuming_delivers_the_log_exactly_once(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng, sim = _seeded(seed, monkeypatch)
    handled = await _runs(sim, rng, since=0, starts=[])
    assert sim.faults.applied.get(FaultKind.LATENCY), "no reply outlasted the timeout"
    assert_the_log_once(handled, sim)


@pytest.mark.slow
@on_each_backend_in_turn("seed", range(4))
async def test_a_start_without_since_log_id_then_every_way_of_stopping_loses_no_later_row(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng, sim = _seeded(seed, monkeypatch)
    assert isinstance(sim.clock, TickingClock)
    sim.clock.advance(rng.choice([0, 100, 1_000]))  # some history, or none
    starts: list[int | None] = []
    handled = await _runs(sim, rng, since=None, starts=starts)
    # A watcher stopped before it handed out a row leaves no log id: the next starts
    # afresh. The log starts where the first to hand one out started.
    start = starts[0]
    assert start is not None
    assert_every_row_after_once(handled, sim, start)
