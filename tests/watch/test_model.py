"""Backfill against a model: random moves, faults and restarts, then the log itself.

A simulated centre with fast transitions and a lagging log; random ``agent.php``
moves through ``cn.control`` and random faults on the live and log reads between
polls; the consumer stops at a random event and a new watcher resumes with
``since_log_id`` = the last handled event's ``log_id``, with other options
(buffer, ``log_every``, paging). The events handled, run after run, must be the
status log: each uid once, in order, with its status, sub-status and start time.
Fixed seeds, the backoff's jitter included: each case replays the same run.
"""

from __future__ import annotations

import random
from typing import Any

import anyio
import pytest

from contactnow_async import AgentEvent, ContactNow, ContactNowError
from contactnow_async.simulator import Dwell, FaultKind, Simulator
from contactnow_async.watch import _health
from tests._helpers import on_each_backend_in_turn

from ._support import TickingClock, client_on, event_rows, log_rows

pytestmark = pytest.mark.anyio

FAULTS = [FaultKind.HTTP_500, FaultKind.MALFORMED, FaultKind.TRUNCATED, FaultKind.DROP_BEFORE,
          FaultKind.HTML, FaultKind.DROP_AFTER]  # fmt: skip
MOVES = ["ready", "pause", "unpause", "logout", "hangup", "hangup_ready", "park", "unpark"]


async def _move(cn: ContactNow, rng: random.Random, agent_ids: list[str]) -> None:
    """One random ``agent.php`` move; one the agent's status refuses (or a fault) is fine."""
    agent = rng.choice(agent_ids)
    try:
        if rng.random() < 0.1:
            await cn.control.agent_dial(agent)
        else:
            await getattr(cn.control, rng.choice(MOVES))(agent)
    except ContactNowError:
        pass


async def _run(
    sim: Simulator, cn: ContactNow, rng: random.Random, since: int | None, **options: Any
) -> list[AgentEvent]:
    """One watcher: moves, faults and a log lag changing between polls; the consumer
    stops after a random number of log events and returns those it handled."""
    clock = sim.clock
    assert isinstance(clock, TickingClock)
    handled: list[AgentEvent] = []
    stop_after = rng.randint(1, 400)

    async def drive() -> None:
        while True:
            await clock.tick()
            for _ in range(rng.randint(0, 3)):
                await _move(cn, rng, sim.agent_ids)
            if rng.random() < 0.15:
                sim.faults.inject(rng.choice(FAULTS), script=rng.choice(["ajax", "database"]))
            if rng.random() < 0.05:
                sim.log_delay = rng.choice([0.0, 0.5, 2.0])

    async with (
        cn.watch_agents(interval=1.0, backfill=True, since_log_id=since, **options) as stream,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(drive)
        async for event in stream:
            if event.source == "status_log":
                handled.append(event)
                if len(handled) >= stop_after:
                    break
        tg.cancel_scope.cancel()
    return handled


async def _runs(sim: Simulator, rng: random.Random, *, since: int | None) -> list[AgentEvent]:
    """Six watchers one after the other, each resuming after the last event handled."""
    handled: list[AgentEvent] = []
    async with client_on(sim, max_retries=0) as cn:
        for _ in range(6):
            options: dict[str, Any] = {
                "buffer": rng.choice([1, 5, 10_000]),
                "log_every": rng.choice([1, 3, 5]),
                "page_size": rng.choice([None, 4]),
                "include_offline": rng.random() < 0.5,
            }
            handled.extend(await _run(sim, cn, rng, since, **options))
            if handled:
                since = handled[-1].log_id
            assert isinstance(sim.clock, TickingClock)
            sim.clock.advance(rng.choice([0.0, 0.5, 5.0]))  # down for a while, or not
    sim.faults.clear()
    sim.log_delay = 0.0  # every row written so far, however late it showed
    return handled


def _seeded(seed: int, monkeypatch: pytest.MonkeyPatch) -> tuple[random.Random, Simulator]:
    """The run's random choices and its centre, the backoff's jitter seeded too."""
    monkeypatch.setattr(_health, "random", random.Random(seed))
    rng = random.Random(seed)
    return rng, _simulator(seed, rng)


def _simulator(seed: int, rng: random.Random) -> Simulator:
    return Simulator(username="watch", password="secret", clock=TickingClock(), agents=12,
                     seed=seed, dwell=Dwell.uniform(0.4), log_delay=1.0,
                     ajax_page_limit=rng.choice([3, 5, None]))  # fmt: skip


@on_each_backend_in_turn("seed", range(3))
async def test_restarts_from_the_last_log_id_deliver_the_log_exactly_once(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng, sim = _seeded(seed, monkeypatch)
    handled = await _runs(sim, rng, since=0)
    assert len(handled) > 200
    assert_the_log_once(handled, sim)


@pytest.mark.slow
@on_each_backend_in_turn("seed", range(3))
async def test_a_start_without_since_log_id_then_restarts_deliver_every_later_row_once(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng, sim = _seeded(seed, monkeypatch)
    assert isinstance(sim.clock, TickingClock)
    sim.clock.advance(rng.choice([0, 100, 1_000]))  # some history, or none
    start = int(sim.now())
    handled = await _runs(sim, rng, since=None)
    assert_every_row_after_once(handled, sim, start)


def assert_the_log_once(handled: list[AgentEvent], sim: Simulator) -> None:
    """The events handled are the log's rows up to the last of them, each once, in order."""
    last = handled[-1].log_id
    assert last is not None
    assert event_rows(handled) == [row for row in log_rows(sim) if row[0] <= last]


def assert_every_row_after_once(handled: list[AgentEvent], sim: Simulator, start: int) -> None:
    """The events handled hold every log row after ``start`` (unix seconds) up to the last
    of them, each once, in order, and none before it."""
    last = handled[-1].log_id
    assert last is not None
    got = event_rows(handled)
    rows = log_rows(sim)
    assert [row[0] for row in got] == sorted({row[0] for row in got})
    assert set(got) <= set(rows)
    # Rows in the first snapshot's own second may be history or news (the log counts
    # seconds); every row after it is an event, and none before it.
    assert all(row[4] >= start for row in got)
    later = [row for row in got if row[4] > start]
    assert later == [row for row in rows if start < row[4] and row[0] <= last]
