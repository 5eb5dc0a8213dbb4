"""The watcher against the simulator, on a virtual clock (no real seconds slept)."""

from __future__ import annotations

import functools
import gc
import inspect
import itertools
import math
import random
import sys
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest

from contactnow_async import (
    AgentEvent,
    AgentWatcher,
    AuthenticationError,
    ContactNow,
    HealthEvent,
    Subscription,
    WatchOptions,
)
from contactnow_async.simulator import Dwell, FaultKind, Simulator, VirtualClock
from tests._helpers import PasswordChanged, on_each_backend_in_turn

from ._hostile import HANG_GUARD, T0, Centre, client_of, live_row, revisiting, revisits
from ._support import AjaxSpy, TickingClock, client_on, collect, event_rows, log_rows, until

pytestmark = pytest.mark.anyio


def virtual(sim: Simulator) -> VirtualClock:
    assert isinstance(sim.clock, VirtualClock)
    return sim.clock


def first_uid(sim: Simulator) -> int:
    return int(sim.status_log(visible_only=False)[0]["uid"])


def simulator(**options: Any) -> Simulator:
    options.setdefault("agents", 40)
    options.setdefault("seed", 7)
    return Simulator(username="watch", password="secret", clock=TickingClock(), **options)


def expected_poll_events(
    snapshots: list[dict[str, tuple[str, str, str]]],
) -> list[tuple[str, str, Any]]:
    """Differences between consecutive snapshots, computed independently of the library:
    the first poll's in agent order, each later poll's in the order they happened (by
    start time, ties in agent order; a departure, seen at the poll, after them)."""
    expected: list[tuple[str, str, Any]] = []
    previous: dict[str, tuple[str, str, str]] | None = None
    for current in snapshots:
        base = previous or {}
        found: list[tuple[str, str, Any]] = []
        for uid, state in current.items():
            if uid not in base:
                found.append(("appeared", uid, state))
            elif base[uid] != state:
                found.append(("changed", uid, state))
        found.extend(("disappeared", uid, None) for uid in base if uid not in current)
        if previous is not None:
            found.sort(key=lambda e: math.inf if e[2] is None else float(e[2][2]))
        expected.extend(found)
        previous = current
    return expected


def as_tuples(events: list[AgentEvent]) -> list[tuple[str, str, Any]]:
    return [
        (
            e.kind,
            e.agent_id,
            None
            if e.after is None
            else (e.after.status, e.after.sub_status, str(e.after.started_ts)),
        )
        for e in events
    ]


async def run_plain(
    sim: Simulator, polls: int, *, include_offline: bool = False, **client_options: Any
) -> tuple[list[AgentEvent], AjaxSpy, int]:
    spy = AjaxSpy(sim.transport())
    events: list[AgentEvent] = []
    async with (
        client_on(sim, transport=spy, **client_options) as cn,
        anyio.create_task_group() as tg,
        cn.watch_agents(interval=1.0, include_offline=include_offline, buffer=1_000_000) as stream,
    ):
        tg.start_soon(collect, stream.subscription, events)
        await until(sim.clock, lambda: stream.health.polls >= polls)
        good = stream.health.polls - stream.health.failures
    return events, spy, good


async def test_plain_mode_emits_every_snapshot_difference_exactly_once() -> None:
    sim = simulator(dwell=Dwell.uniform(5.0))  # a mean dwell of 5 intervals
    events, spy, good = await run_plain(sim, polls=300)
    expected = expected_poll_events(spy.snapshots[:good])
    assert len(expected) > 1_000  # enough life to mean something
    assert as_tuples(events) == expected
    assert len({e.id for e in events}) == len(events)
    changed = [e for e in events if e.kind == "changed"]
    assert all(e.previous_duration is not None and e.previous_duration >= 0 for e in changed)


async def test_failed_polls_emit_nothing_and_the_stream_recovers() -> None:
    sim = simulator(dwell=Dwell.uniform(5.0))
    kinds = [FaultKind.HTTP_500, FaultKind.MALFORMED, FaultKind.TRUNCATED, FaultKind.HTML,
             FaultKind.DROP_BEFORE, FaultKind.HTTP_503]  # fmt: skip
    sim.faults.set_rate(0.2, kinds, script="ajax", seed=11)
    events, spy, good = await run_plain(sim, polls=300, include_offline=True, max_retries=0)
    assert 30 < 300 - good < 100, "about a fifth of the polls should have failed"
    # Events are exactly the differences between consecutive *good* snapshots:
    # no agent vanished or reappeared because a poll failed (offline agents are
    # listed, so nobody ever leaves for real).
    assert as_tuples(events) == expected_poll_events(spy.snapshots[:good])
    assert not [e for e in events if e.kind == "disappeared"]


async def test_health_is_observable_and_can_be_streamed() -> None:
    sim = simulator(agents=3)
    async with client_on(sim, max_retries=0) as cn:
        async with AgentWatcher(cn, interval=1.0) as watcher:
            assert watcher.health.healthy and watcher.health.polls == 1
            feed = watcher.subscribe(include_health=True, initial=False)
            sim.faults.inject(FaultKind.HTTP_500, script="ajax", times=2)
            seen: list[HealthEvent] = []
            async for item in feed:
                if isinstance(item, HealthEvent):
                    seen.append(item)
                    if item.healthy:
                        break
    assert [e.health.consecutive_failures for e in seen] == [1, 2, 0]
    assert seen[0].health.last_error is not None and "500" in seen[0].health.last_error
    assert seen[-1].health.failures == 2


async def test_watch_agents_streams_health_changes_when_asked() -> None:
    sim = simulator(agents=3)
    async with (
        client_on(sim, max_retries=0) as cn,
        cn.watch_agents(interval=1.0, include_offline=True, include_health=True) as stream,
    ):
        sim.faults.inject(FaultKind.HTTP_500, script="ajax", times=1)
        kinds: list[str] = []
        health: list[HealthEvent] = []
        async for item in stream:
            if isinstance(item, HealthEvent):
                health.append(item)
                if item.healthy:
                    break
            else:
                kinds.append(item.kind)
    assert kinds[:3] == ["appeared"] * 3, "the first poll shows everyone, then health"
    assert [e.health.consecutive_failures for e in health] == [1, 0]


async def test_a_stream_without_include_health_never_yields_health() -> None:
    sim = simulator(agents=3)
    async with client_on(sim, max_retries=0) as cn, cn.watch_agents(interval=1.0) as stream:
        sim.faults.inject(FaultKind.HTTP_500, script="ajax", times=2)
        seen: list[object] = []
        while stream.health.failures < 2 or not stream.health.healthy:
            seen.append(await stream.__anext__())
    assert seen and all(isinstance(e, AgentEvent) for e in seen)


def test_watch_options_are_exactly_the_watchers_keywords() -> None:
    # ``cn.watch_agents(**options)`` is typed by WatchOptions: it must not drift
    # from what AgentWatcher accepts.
    keywords = [
        name
        for name, p in inspect.signature(AgentWatcher).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    assert list(WatchOptions.__annotations__) == keywords


@on_each_backend_in_turn("log_delay", [0.0, 2.0], ids=["log-at-once", "log-2-intervals-late"])
async def test_backfill_delivers_every_transition_exactly_once_in_order(log_delay: float) -> None:
    # A mean dwell of 0.2 intervals: most transitions happen between two polls.
    sim = simulator(agents=50, dwell=Dwell.uniform(0.2), log_delay=log_delay)
    events: list[AgentEvent] = []
    base = first_uid(sim)
    async with (
        client_on(sim) as cn,
        anyio.create_task_group() as tg,
        cn.watch_agents(interval=1.0, backfill=True, since_log_id=0, buffer=1_000_000) as stream,
    ):
        tg.start_soon(collect, stream.subscription, events)
        await until(sim.clock, lambda: (stream.log_id or 0) >= base + 10_500)
        cursor = stream.log_id
    got = event_rows(events)
    want = [row for row in log_rows(sim) if row[0] <= (cursor or 0)]
    assert len(want) >= 10_000
    assert got == want  # 0 lost, 0 duplicated, 0 out of order
    assert sim.transitions >= 10_000


@pytest.mark.slow
async def test_backfill_without_since_log_id_starts_at_the_first_snapshot() -> None:
    sim = simulator(agents=30, dwell=Dwell.uniform(0.5), log_delay=1.5)
    virtual(sim).advance(500)  # some history before the watcher starts
    start = int(sim.now())
    # The first poll is made at this time: the clock moves only when the watcher sleeps.
    online_at_start = len(sim.live_agents(include_offline=False))
    events: list[AgentEvent] = []
    async with client_on(sim) as cn, anyio.create_task_group() as tg:
        async with cn.watch_agents(interval=1.0, backfill=True, buffer=1_000_000) as stream:
            tg.start_soon(collect, stream.subscription, events)
            await until(sim.clock, lambda: (stream.log_id or 0) > 0 and sim.now() > start + 200)
            cursor = stream.log_id or 0
    initial = [e for e in events if e.source == "poll"]
    assert {e.kind for e in initial} == {"appeared"} and len(initial) == online_at_start
    got = event_rows(events)
    uids = [row[0] for row in got]
    assert uids == sorted(set(uids))
    logged = log_rows(sim)  # read once: 30,000 rows, rendered as the endpoint renders them
    rows = {row[0]: row for row in logged}
    assert all(rows[uid] == row for uid, row in zip(uids, got, strict=True))
    # Everything after the first snapshot's second is there; nothing from before it.
    after_start = [row for row in logged if start < row[4] and row[0] <= cursor]
    assert set(after_start) <= set(got)
    assert all(row[4] >= start for row in got)


async def test_restart_with_since_log_id_continues_without_gap_or_duplicate() -> None:
    sim = simulator(agents=30, dwell=Dwell.uniform(0.3), log_delay=1.0)
    stop_after = random.Random(5).randint(1_000, 3_000)
    first: list[AgentEvent] = []
    async with client_on(sim) as cn:
        async with cn.watch_agents(interval=1.0, backfill=True, since_log_id=0) as stream:
            async for event in stream:
                first.append(event)
                if event.source == "status_log" and len(first) >= stop_after:
                    break
    saved = first[-1].log_id
    assert saved is not None
    virtual(sim).advance(30)  # the automation was down for a while
    second: list[AgentEvent] = []
    async with (
        client_on(sim) as cn,
        anyio.create_task_group() as tg,
        cn.watch_agents(
            interval=1.0, backfill=True, since_log_id=saved, buffer=1_000_000
        ) as stream,
    ):
        tg.start_soon(collect, stream.subscription, second)
        await until(sim.clock, lambda: (stream.log_id or 0) >= saved + 2_000)
        cursor = stream.log_id or 0
    got = event_rows(first) + event_rows(second)
    assert got == [row for row in log_rows(sim) if row[0] <= cursor]


async def test_backfill_survives_failing_polls() -> None:
    sim = simulator(agents=20, dwell=Dwell.uniform(0.3))
    sim.faults.set_rate(0.2, [FaultKind.HTTP_500, FaultKind.MALFORMED, FaultKind.TRUNCATED], seed=3)
    events: list[AgentEvent] = []
    base = first_uid(sim)  # once: the predicate below is checked at every poll
    async with client_on(sim, max_retries=0) as cn, anyio.create_task_group() as tg:
        async with cn.watch_agents(
            interval=1.0, backfill=True, since_log_id=0, buffer=1_000_000
        ) as stream:
            tg.start_soon(collect, stream.subscription, events)
            await until(
                sim.clock,
                lambda: (stream.log_id or 0) >= base + 3_000 and stream.health.failures >= 10,
            )
            cursor = stream.log_id or 0
    assert event_rows(events) == [row for row in log_rows(sim) if row[0] <= cursor]


async def test_a_subscriber_that_never_reads_does_not_delay_another() -> None:
    sim = simulator(agents=200, dwell=Dwell.uniform(3.0))

    delays: list[float] = []
    async with client_on(sim) as cn, AgentWatcher(cn, interval=1.0) as watcher:
        stalled = watcher.subscribe(overflow="drop_oldest", buffer=50)
        wallboard = watcher.subscribe(overflow="coalesce")
        reader = watcher.subscribe(overflow="drop_oldest", buffer=100_000)
        count = 0
        async for event in reader:
            delays.append(sim.now() - event.observed_at.timestamp())
            assert wallboard.pending <= len(watcher.snapshot) + 200  # one per agent at most
            count += 1
            if count >= 3_000:
                break
        assert reader.dropped == 0
        assert stalled.dropped > 0 and stalled.pending == 50
        agent_ids = [e.agent_id async for e in _drain(wallboard)]
        assert len(agent_ids) == len(set(agent_ids))  # coalesce: one pending event per agent
    delays.sort()
    median, worst = delays[len(delays) // 2], delays[-1]
    print(f"\ndelivery delay beside a stalled subscriber: {median:.1f} s median, {worst:.1f} s max")
    assert delays[-1] <= 1.0  # no event waited for the stalled subscriber beyond one poll


async def test_a_block_subscriber_that_breaks_out_and_returns_does_not_stall_the_watcher() -> None:
    sim = simulator(agents=50, dwell=Dwell.uniform(1.0))
    async with client_on(sim) as cn, AgentWatcher(cn, interval=1.0) as watcher:
        ticker = watcher.subscribe(overflow="drop_oldest", buffer=100_000)

        async def take_one() -> None:
            async for _ in watcher.subscribe(buffer=5):  # block, the default
                break  # and return, without close()

        await take_one()
        # Its buffer fills within a poll or two: the poller waited on it for ever.
        await until(sim.clock, lambda: watcher.health.polls >= 30)
        assert ticker.pending > 0 and ticker.dropped == 0


async def _drain(subscription: Any) -> Any:
    subscription.finish()
    async for event in subscription:
        yield event


async def test_cancelling_the_consumer_leaves_no_task_running() -> None:
    sim = simulator(agents=10, dwell=Dwell.uniform(1.0))
    before = len(anyio.get_running_tasks())
    async with client_on(sim) as cn:
        with anyio.move_on_after(0.2) as scope:
            async with cn.watch_agents(interval=1.0, backfill=True) as stream:
                async for _ in stream:
                    pass  # the virtual clock runs on until the scope's real deadline
        assert scope.cancelled_caught
    await anyio.lowlevel.checkpoint()
    assert len(anyio.get_running_tasks()) == before


async def test_a_refused_password_ends_the_stream_with_the_error() -> None:
    wrong_password = Simulator(username="watch", password="other", clock=VirtualClock())

    async def consume() -> None:
        async with client_on(wrong_password) as cn, cn.watch_agents(interval=1.0) as stream:
            async for _ in stream:
                pass

    with pytest.raises(AuthenticationError):
        await consume()
    assert wrong_password.stats.token_gets == 1  # refused once, never retried


async def test_a_watcher_stopped_by_any_error_hands_it_to_a_subscriber_elsewhere() -> None:
    """A reader outside the watcher's block got the end of a clean stop when polling
    failed with anything but a refused password (here the client closed under it)."""
    sim = simulator(agents=5, dwell=Dwell.uniform(1.0))
    ended: list[BaseException | None] = []
    async with client_on(sim) as cn:
        watcher = AgentWatcher(cn, interval=1.0)
        subscription = watcher.subscribe(overflow="coalesce")

        async def read() -> None:
            try:
                async for _ in subscription:
                    pass
            except RuntimeError as exc:
                ended.append(exc)
            else:
                ended.append(None)

        async def watch() -> None:
            async with watcher:
                await until(sim.clock, lambda: watcher.health.polls >= 2)
                await cn.aclose()
                await anyio.sleep_forever()

        async with anyio.create_task_group() as tg:
            tg.start_soon(read)
            # As itself, not in the watcher's task group's exception group.
            with pytest.raises(RuntimeError, match="client is closed"):
                await watch()
    (error,) = ended
    assert isinstance(error, RuntimeError) and "client is closed" in str(error)


async def test_an_error_that_stops_a_running_watcher_comes_out_as_itself() -> None:
    """The client closed under a running stream came out of ``async with`` in an exception
    group, which ``except RuntimeError`` misses (the first poll's was raised as itself)."""
    sim = simulator(agents=5, dwell=Dwell.uniform(1.0))

    async def consume(cn: ContactNow) -> None:
        async with cn.watch_agents(interval=1.0) as stream:
            read = 0
            async for _ in stream:
                read += 1
                if read == 8:
                    await cn.aclose()  # another task's shutdown, say

    async with client_on(sim) as cn:
        with pytest.raises(RuntimeError, match="client is closed"):  # a group is no RuntimeError
            await consume(cn)


class ServiceDown(Exception):
    """A user's own error, raised in the watcher's block."""


async def test_the_blocks_own_error_wins_over_the_pollers_that_stopped_with_it() -> None:
    """The block raised its own error (here its translation of the stream's end) while
    the poller stopped with another: the poller's came out of ``async with``, with the
    block's only in its ``__context__``, and ``except ServiceDown`` missed it."""
    sim = simulator(agents=5, dwell=Dwell.uniform(1.0))

    async def consume(cn: ContactNow) -> None:
        async with cn.watch_agents(interval=1.0) as stream:
            try:
                async for _ in stream:
                    if stream.health.polls >= 3:
                        await cn.aclose()  # another task's shutdown, say
            except RuntimeError as exc:
                raise ServiceDown("the agent feed ended") from exc

    async with client_on(sim) as cn:
        with anyio.fail_after(HANG_GUARD), pytest.raises(ServiceDown) as caught:
            await consume(cn)
    error = caught.value.__cause__
    assert isinstance(error, RuntimeError) and "client is closed" in str(error)
    assert not getattr(caught.value, "__notes__", [])  # its cause says it already


async def test_an_unrelated_error_of_the_block_wins_and_names_the_pollers() -> None:
    """An error of the block's own (a cleanup that failed, shielded from the cancel
    the poller's stop sends it) comes out as itself; the poller's is in its notes."""
    sim = simulator(agents=5, dwell=Dwell.uniform(1.0))

    async def save_state_on_stop(cn: ContactNow) -> None:
        watcher = AgentWatcher(cn, interval=1.0)
        feed = watcher.subscribe(overflow="coalesce", initial=False)
        async with watcher:
            with anyio.CancelScope(shield=True):
                await until(sim.clock, lambda: watcher.health.polls >= 2)
                await cn.aclose()
                with pytest.raises(RuntimeError, match="client is closed"):
                    async for _ in feed:
                        pass
                raise KeyError("saved state")

    async with client_on(sim) as cn:
        with anyio.fail_after(HANG_GUARD), pytest.raises(KeyError, match="saved state") as caught:
            await save_state_on_stop(cn)
    assert caught.value.__context__ is None
    (note,) = getattr(caught.value, "__notes__", [])
    assert note.startswith("the watcher's poller stopped too: RuntimeError: ")
    assert "client is closed" in note


async def test_the_pollers_error_a_task_group_of_the_block_hands_back_comes_out_as_itself() -> None:
    """The block's own task group, whose reader got the poller's error, raises it in an
    exception group: that is the poller's error come back, raised as itself (as a
    reader's in the block is), not as the block's error with a note."""
    sim = simulator(agents=5, dwell=Dwell.uniform(1.0))

    async def read(feed: Subscription[AgentEvent]) -> None:
        async for _ in feed:
            pass

    async def wallboard(cn: ContactNow) -> None:
        async with AgentWatcher(cn, interval=1.0) as watcher, anyio.create_task_group() as tg:
            tg.start_soon(read, watcher.subscribe(overflow="coalesce"))
            tg.start_soon(read, watcher.subscribe(overflow="coalesce"))
            await until(sim.clock, lambda: watcher.health.polls >= 2)
            await cn.aclose()
            await anyio.sleep_forever()

    async with client_on(sim) as cn:
        with anyio.fail_after(HANG_GUARD), pytest.raises(RuntimeError) as caught:
            await wallboard(cn)
    assert "client is closed" in str(caught.value)
    assert not getattr(caught.value, "__notes__", [])


async def test_a_watcher_stopped_for_good_says_so_in_its_health() -> None:
    """Its health stayed that of the last good poll, healthy, for ever: a liveness check
    of ``watcher.health`` passed on a watcher that no longer polled."""
    sim = simulator(agents=5, dwell=Dwell.uniform(1.0))
    upstream = PasswordChanged(sim)
    async with client_on(sim, transport=upstream) as cn:
        async with AgentWatcher(cn, interval=1.0) as watcher:
            feed = watcher.subscribe(overflow="coalesce", initial=False)
            await until(sim.clock, lambda: watcher.health.polls >= 3)
            upstream.change()
            with pytest.raises(AuthenticationError):
                async for _ in feed:
                    pass
            health = watcher.health
    assert not health.healthy
    assert (health.polls, health.failures, health.consecutive_failures) == (4, 1, 1)
    assert health.last_error is not None and health.last_error.startswith("AuthenticationError")
    assert health.last_attempt_at is not None and health.last_success_at is not None
    assert health.last_attempt_at > health.last_success_at


async def test_a_subscriber_that_joins_a_watcher_stopped_by_an_error_gets_the_error() -> None:
    """It got a clean, empty stream, as if the watcher had been left normally."""
    sim = simulator(agents=5, dwell=Dwell.uniform(1.0))
    upstream = PasswordChanged(sim)
    async with client_on(sim, transport=upstream) as cn:
        async with AgentWatcher(cn, interval=1.0) as watcher:
            first = watcher.subscribe(initial=False)
            await until(sim.clock, lambda: watcher.health.polls >= 2)
            upstream.change()
            with pytest.raises(AuthenticationError):
                async for _ in first:
                    pass
            late = watcher.subscribe()
            with pytest.raises(AuthenticationError):
                await late.__anext__()
        after = watcher.subscribe()  # left after the error: the error still tells why
        with pytest.raises(AuthenticationError):
            await after.__anext__()
    # A watcher left normally ends a later subscriber's stream cleanly.
    async with client_on(sim) as cn:
        async with AgentWatcher(cn, interval=1.0) as watcher:
            pass
        assert [event async for event in watcher.subscribe()] == []


class HungPoll(httpx.AsyncBaseTransport):
    """The simulator, but an ``ajax.php`` request never gets its reply."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.polling = anyio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/ajax.php"):
            self.polling.set()
            await anyio.sleep_forever()
        return await self.inner.handle_async_request(request)


async def test_a_subscriber_of_a_watcher_whose_start_was_cut_short_ends() -> None:
    """The first poll runs inside ``async with``: cut short there (the caller's deadline),
    the watcher never runs, and a reader of a subscription taken before it ends (it
    waited for ever)."""
    sim = simulator(agents=5)
    hung = HungPoll(sim.transport())
    read: list[AgentEvent] = []
    async with client_on(sim, transport=hung) as cn:
        watcher = AgentWatcher(cn, interval=1.0)
        subscription = watcher.subscribe()
        with anyio.fail_after(30):  # a hang guard, not a timing assertion
            async with anyio.create_task_group() as tg:
                tg.start_soon(collect, subscription, read)
                with anyio.CancelScope() as start:

                    async def cut_short() -> None:
                        await hung.polling.wait()
                        start.cancel()

                    tg.start_soon(cut_short)
                    async with watcher:
                        pytest.fail("the first poll never returns")
        assert start.cancelled_caught
    assert read == []
    assert subscription.closed
    with pytest.raises(RuntimeError, match="runs once"):
        async with watcher:
            pass


async def test_watching_with_a_closed_client_raises_what_any_call_on_it_raises() -> None:
    """A RuntimeError, as ``cn.agents.read()`` raises: not one inside an exception group
    (the first poll's, from the watcher's task group); a subscriber elsewhere gets it."""
    sim = simulator(agents=5)
    async with client_on(sim) as cn:
        watcher = AgentWatcher(cn, interval=1.0)
        subscription = watcher.subscribe()
    assert cn.is_closed
    with pytest.raises(RuntimeError, match="client is closed"):
        async with watcher:
            pass
    with pytest.raises(RuntimeError, match="client is closed"):
        async for _ in subscription:
            pass
    with pytest.raises(RuntimeError, match="client is closed"):
        async with cn.watch_agents(interval=1.0):
            pass
    assert sim.stats.requests == 0


async def test_a_first_poll_that_raises_raises_its_error_not_an_exception_group() -> None:
    """As a closed client's: the error a call raises (a client used from another event
    loop, ``transport="aiohttp"`` on trio) came out of ``async with`` in an exception group
    (the watcher's task group, left with it), which ``except RuntimeError`` misses."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("this call cannot be made here")

    sim = simulator(agents=5)
    async with client_on(sim, transport=httpx.MockTransport(refuse)) as cn:
        with pytest.raises(RuntimeError, match="cannot be made here"):
            await cn.live.agents()
        watcher = AgentWatcher(cn, interval=1.0)
        subscription = watcher.subscribe()
        with anyio.fail_after(10), pytest.raises(RuntimeError, match="cannot be made here"):
            async with watcher:
                pass  # pragma: no cover -- refused before
        with pytest.raises(RuntimeError, match="cannot be made here"):
            async for _ in subscription:
                pass
        with anyio.fail_after(10), pytest.raises(RuntimeError, match="cannot be made here"):
            async with cn.watch_agents(interval=1.0):
                pass  # pragma: no cover -- refused before


@pytest.mark.slow
async def test_paged_snapshots_of_a_moving_centre_invent_no_arrivals_or_departures() -> None:
    # ajax.php answers 7 rows at a time while statuses move between pages.
    sim = simulator(agents=60, dwell=Dwell.uniform(2.0), ajax_page_limit=7)
    events: list[AgentEvent] = []
    async with client_on(sim) as cn, anyio.create_task_group() as tg:
        async with cn.watch_agents(interval=1.0, include_offline=True, buffer=1_000_000) as stream:
            tg.start_soon(collect, stream.subscription, events)
            await until(sim.clock, lambda: stream.health.polls >= 100)
            assert stream.snapshot.pages == 10  # 7 rows, then 6 new a page (one overlaps)
    # With offline agents included nobody leaves the list: every agent appears once, never goes.
    appeared = [e.agent_id for e in events if e.kind == "appeared"]
    assert sorted(appeared) == sorted(sim.agent_ids)
    assert not [e for e in events if e.kind == "disappeared"]


def _polled(watcher: AgentWatcher, polls: int) -> bool:
    return watcher.health.polls >= polls


def _memory() -> tuple[int, int]:
    """(live container objects, allocated pymalloc blocks), after a full collection.

    Cheap enough to take while the watcher runs at full speed, unlike tracemalloc,
    which makes every allocation several times slower.
    """
    gc.collect()
    return len(gc.get_objects()), sys.getallocatedblocks()


@pytest.mark.slow
async def test_memory_stays_flat_over_many_polls() -> None:
    # About ten transitions a poll. The simulator shares this process: keep its own
    # history at a steady size. Its trimming makes a sawtooth of ~200 containers every
    # ~250 polls, so two single readings differ by up to that with nothing kept: compare
    # the lowest reading of two windows, each longer than a tooth, 700 polls apart.
    sim = simulator(agents=40, dwell=Dwell.uniform(4.0), log_retention=1_000, record_requests=False)
    lows: list[tuple[int, int]] = []
    async with client_on(sim) as cn:
        async with AgentWatcher(cn, interval=1.0, backfill=True) as watcher:
            sub = watcher.subscribe(overflow="drop_oldest", buffer=1_000)
            for start in (200, 900):
                readings = []
                for polls in range(start, start + 300, 20):
                    await until(sim.clock, functools.partial(_polled, watcher, polls))
                    readings.append(_memory())
                lows.append((min(r[0] for r in readings), min(r[1] for r in readings)))
            assert sub.pending <= 1_000
    (first_objects, first_blocks), (last_objects, last_blocks) = lows
    print(
        f"\nlowest over polls 200-500 and 900-1200: {last_objects - first_objects:+} container "
        f"objects (of {first_objects}), {last_blocks - first_blocks:+} blocks (of {first_blocks})"
    )
    # Every event, snapshot, dict, list or task the watcher kept is a container: one kept
    # every 4 polls would add 175 here; the troughs differ by 50 at most with none kept.
    assert last_objects - first_objects < 700 // 8
    # Blocks also count strings, bytes and ints: 25 blocks a poll, one retained event or so.
    assert last_blocks - first_blocks < 700 * 25


@pytest.mark.integration
async def test_backfill_over_a_real_socket_matches_the_log() -> None:
    from contactnow_async import ContactNow
    from contactnow_async.simulator import serve

    sim = simulator(agents=20, dwell=Dwell.uniform(0.5), log_delay=1.0)
    events: list[AgentEvent] = []
    base = first_uid(sim)  # once: the predicate below is checked at every poll
    async with (
        serve(sim) as base_url,
        ContactNow(base_url=base_url, username="watch", password="secret", clock=sim.clock) as cn,
        anyio.create_task_group() as tg,
        cn.watch_agents(interval=1.0, backfill=True, since_log_id=0, buffer=1_000_000) as stream,
    ):
        tg.start_soon(collect, stream.subscription, events)
        await until(sim.clock, lambda: (stream.log_id or 0) >= base + 1_000)
        cursor = stream.log_id or 0
    assert event_rows(events) == [row for row in log_rows(sim) if row[0] <= cursor]


class _SlowAjax(httpx.AsyncBaseTransport):
    """Every 5th live read takes 2.5 intervals of virtual time; counts overlapping polls."""

    def __init__(self, sim: Simulator) -> None:
        self.inner = sim.transport()
        self.clock = virtual(sim)
        self.reads = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.started: list[float] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/ajax.php"):
            return await self.inner.handle_async_request(request)
        self.reads += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.started.append(self.clock.now())
        try:
            if self.reads % 5 == 0:
                self.clock.advance(2.5)
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight -= 1


async def test_ticks_are_fixed_rate_and_a_slow_poll_delays_the_next_without_overlap() -> None:
    sim = simulator(agents=5)
    slow = _SlowAjax(sim)
    t0 = sim.now()
    async with client_on(sim, transport=slow) as cn:
        async with AgentWatcher(cn, interval=1.0) as watcher:
            await until(sim.clock, lambda: watcher.health.polls >= 40)
    assert slow.max_in_flight == 1
    offsets = [round(t - t0, 6) for t in slow.started]
    # Polls start on the grid t0 + k; after a slow poll the next starts as soon as it
    # ends (no burst to catch up), and the grid carries on from there without drift.
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    assert all(gap == 1.0 or gap == 2.5 for gap in gaps), gaps
    assert gaps.count(2.5) == (len(offsets) - 1) // 5  # one per slow poll that has a successor


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("page_size", 2.5, TypeError),  # was sent as limit=2.5; now the first poll's error
        ("page_size", True, TypeError),
        ("page_size", 0, ValueError),
        ("max_pages", float("nan"), TypeError),
        ("max_pages", 0, ValueError),
    ],
)
async def test_page_counts_that_are_not_whole_numbers_are_refused_when_made(
    option: str, value: object, error: type[Exception]
) -> None:
    async with client_on(simulator(agents=1)) as cn:
        with pytest.raises(error, match=option):
            AgentWatcher(cn, **{option: value})  # type: ignore[arg-type]  # one count option


@pytest.mark.parametrize("value", ["no", 0, None])
@pytest.mark.parametrize("option", ["include_offline", "initial_events", "backfill"])
async def test_yes_or_no_options_that_are_not_bools_are_refused_when_made(
    option: str, value: object
) -> None:
    """``include_offline="no"`` is truthy: it polled offline agents too."""
    async with client_on(simulator(agents=1)) as cn:
        with pytest.raises(TypeError, match=f"{option} must be True or False"):
            AgentWatcher(cn, **{option: value})  # type: ignore[arg-type]  # one flag option
        with pytest.raises(TypeError, match=f"{option} must be True or False"):
            cn.watch_agents(**{option: value})  # type: ignore[call-overload]  # one flag option
        with pytest.raises(TypeError, match="include_health must be True or False"):
            cn.watch_agents(include_health="no")  # type: ignore[call-overload]  # a wrong type


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("interval", float("nan")),
        ("interval", float("inf")),
        ("interval", 0),
        ("log_lookback", float("nan")),
        ("log_lookback", -1),
        ("max_backoff", float("nan")),
        ("max_backoff", float("inf")),
    ],
)
async def test_times_that_are_not_finite_positive_seconds_are_refused(
    option: str, value: float
) -> None:
    """NaN passes a ``<= 0`` check (every comparison with it is false): an interval of NaN
    polled in a tight loop."""
    async with client_on(simulator(agents=1)) as cn:
        with pytest.raises(ValueError, match=option):
            AgentWatcher(cn, **{option: value})  # type: ignore[arg-type]  # one float option


async def test_a_polls_events_come_out_in_the_order_the_changes_happened() -> None:
    """A reader of the stream saw a poll's events in agent order: agent 1's change of
    T0+30 before agent 3's of T0+10."""

    def live(n: int) -> list[dict[str, Any]]:
        if n == 1:
            return [live_row(uid, "wait", time=T0) for uid in (1, 2, 3, 4)]
        if n == 2:  # the same agents (the in-place diff), changed in reverse order; 2 and 4 tie
            times = {1: T0 + 30, 2: T0 + 20, 3: T0 + 10, 4: T0 + 20}
            return [live_row(uid, "call", time=times[uid]) for uid in (1, 2, 3, 4)]
        # Agents come and go (the keyed diff): 5 logged in before 1 changed; 4 is gone.
        return [live_row(1, "wrap", time=T0 + 50), live_row(2, "call", time=T0 + 20),
                live_row(3, "call", time=T0 + 10), live_row(5, "wait", time=T0 + 40)]  # fmt: skip

    async with client_of(Centre(live)) as cn, cn.watch_agents(interval=1.0) as stream:
        with anyio.fail_after(HANG_GUARD):
            got = [await stream.__anext__() for _ in range(4 + 4 + 3)]
    picture, second, third = got[:4], got[4:8], got[8:]
    assert [e.agent_id for e in picture] == ["1", "2", "3", "4"]  # a picture: agent order
    # By changed_at; the two of one time in the order they had (agent order).
    assert [e.agent_id for e in second] == ["3", "2", "4", "1"]
    # A disappearance's changed_at is when the poll saw it: after the changes it saw.
    assert [(e.kind, e.agent_id) for e in third] == [
        ("appeared", "5"), ("changed", "1"), ("disappeared", "4")
    ]  # fmt: skip
    assert third[-1].changed_at == third[-1].observed_at > third[-2].changed_at


async def test_a_second_task_entering_a_watcher_that_is_starting_is_refused() -> None:
    """Two tasks entering one watcher at once both got in while its first poll ran: two
    pollers over one diff, and the first task to leave exited the other's task group
    (anyio's "cancel scope that isn't the current task's"). The second is refused."""

    def live(n: int) -> list[dict[str, Any]]:
        return [live_row(1, "call" if n >= 4 else "wait", time=T0 + 50 if n >= 4 else T0)]

    clock = TickingClock(T0 + 100)
    refused: list[RuntimeError] = []
    async with client_of(Centre(live), clock=clock) as cn:
        watcher = AgentWatcher(cn, interval=1.0)
        feed = watcher.subscribe(overflow="drop_oldest")

        async def enter() -> None:
            try:
                async with watcher:
                    await until(clock, lambda: watcher.health.polls >= 8, patience=HANG_GUARD)
            except RuntimeError as exc:
                refused.append(exc)

        with anyio.fail_after(HANG_GUARD):
            async with anyio.create_task_group() as tg:
                tg.start_soon(enter)
                tg.start_soon(enter)
        got = [(e.kind, e.agent_id, e.status) async for e in feed]
    (error,) = refused
    assert "already running" in str(error)
    assert got == [("appeared", "1", "wait"), ("changed", "1", "call")]


async def test_poll_event_ids_are_unique_when_an_agent_returns_to_a_state() -> None:
    """wait -> call -> wait within one second gave the second wait the first one's id
    ("1:T0:wait:"), and each return after leaving did too: two events, one id."""
    events, picture = await revisits()
    ids = [e.id for e in events]
    assert ids == [
        f"1:{T0}:wait:", f"2:{T0}:wait:", f"1:{T0}:call:", f"1:{T0}:wait:#2",
        f"1:{T0}:gone", f"1:{T0}:wait:#3", f"1:{T0}:gone#2", f"1:{T0}:wait:#4",
    ]  # fmt: skip
    # A late subscriber's picture has the id of the event that brought each state.
    assert [e.id for e in picture] == [f"1:{T0}:wait:#4", f"2:{T0}:wait:"]
    # Two watchers that see the same changes give them the same ids.
    again, again_picture = await revisits()
    assert ([e.id for e in again], [e.id for e in again_picture]) == (ids, [e.id for e in picture])


async def test_a_late_subscribers_picture_has_the_ids_of_when_it_joined() -> None:
    """A picture's ids were worked out as it was read, not as it was taken: a subscriber
    that joined after agent 1's second wait (``#2``) and read after its later returns got
    ``#4``, the id of an event it then read again (a reader that drops a repeated id lost
    agent 1's return: it kept it gone)."""
    _, late = await revisits(join_after=3)
    assert [e.id for e in late] == [
        f"1:{T0}:wait:#2", f"2:{T0}:wait:",  # the picture, as agent 1's second wait left it
        f"1:{T0}:gone", f"1:{T0}:wait:#3", f"1:{T0}:gone#2", f"1:{T0}:wait:#4",
    ]  # fmt: skip


async def test_a_picture_taken_while_a_poll_is_handed_out_has_the_ids_before_it() -> None:
    """A subscriber joining while a block subscriber holds up a poll's events starts with
    the snapshot before them, so with the ids of the events that brought it: agent 1's
    second wait (``#2``), though the poll held up says it left."""
    clock = TickingClock(T0 + 100)
    async with client_of(Centre(revisiting), clock=clock) as cn:
        watcher = AgentWatcher(cn, interval=1.0)
        stalled = watcher.subscribe(overflow="block", buffer=2)  # polls 2 and 3 fill it
        async with watcher:
            await until(clock, lambda: watcher.health.polls >= 3)
            await anyio.wait_all_tasks_blocked()  # poll 4's events wait for room in stalled
            late = watcher.subscribe(overflow="block")
            stalled.close()
            await until(clock, lambda: watcher.health.polls >= 8)
        got = [e.id async for e in late]
    assert got == [
        f"1:{T0}:wait:#2", f"2:{T0}:wait:",  # the picture, before poll 4's events
        f"1:{T0}:gone", f"1:{T0}:wait:#3", f"1:{T0}:gone#2", f"1:{T0}:wait:#4",
    ]  # fmt: skip


class HeldClock(VirtualClock):
    """A virtual clock whose sleeps last until cancelled: a watcher between polls waits
    as on a real clock with a long interval (or backoff) to go."""

    __slots__ = ("sleeping",)

    def __init__(self) -> None:
        super().__init__()
        self.sleeping = anyio.Event()

    async def sleep_until(self, deadline: float) -> None:
        self.sleeping.set()
        await anyio.sleep_forever()


async def test_closing_the_client_while_the_watcher_waits_for_its_next_poll_ends_the_stream() -> (
    None
):
    """The client closed while the watcher slept between polls (another task's shutdown):
    its readers waited until the next tick, a whole interval (or backoff: a minute), to
    learn it. The wait ends at once, and they get what a closed client raises."""
    clock = HeldClock()
    sim = Simulator(username="watch", password="secret", agents=3, seed=7, clock=clock)
    async with client_on(sim) as cn:
        watcher = AgentWatcher(cn, interval=30.0, include_offline=True)
        subscription = watcher.subscribe()

        async def close_between_polls() -> None:
            async with watcher:
                await clock.sleeping.wait()  # the first poll is done: the poller waits
                await cn.aclose()
                await anyio.wait_all_tasks_blocked()
                assert subscription.closed

        with pytest.raises(RuntimeError, match="client is closed"):
            await close_between_polls()
        events: list[AgentEvent] = []
        with pytest.raises(RuntimeError, match="client is closed"):
            await collect(subscription, events)  # the first poll's events, then the error
    assert [event.kind for event in events] == ["appeared"] * 3


async def test_closing_the_client_ends_a_watcher_held_up_by_a_full_block_subscriber() -> None:
    """The poller waited for room in a ``block`` subscriber nobody read, and the client's
    aclose() (another task's shutdown) did not end that wait: the watcher, and its other
    readers, stayed stalled for ever. The wait ends, and they get what a closed client
    raises, as the README says of every watcher of a closed client."""
    clock = TickingClock(T0 + 100)
    async with client_of(Centre(revisiting), clock=clock) as cn:
        watcher = AgentWatcher(cn, interval=1.0)
        stalled = watcher.subscribe(overflow="block", buffer=1)  # never read
        reader = watcher.subscribe()

        async def close_while_held_up() -> None:
            async with watcher:
                await until(clock, lambda: watcher.health.polls >= 2)
                await anyio.wait_all_tasks_blocked()  # the poller waits for room in stalled
                polls = watcher.health.polls
                await cn.aclose()
                await anyio.wait_all_tasks_blocked()
                assert reader.closed
                assert watcher.health.polls == polls

        with anyio.fail_after(HANG_GUARD), pytest.raises(RuntimeError, match="client is closed"):
            await close_while_held_up()
        events: list[AgentEvent] = []
        with pytest.raises(RuntimeError, match="client is closed"):
            await collect(reader, events)
    assert events  # what came before the close, then the error
    assert stalled.closed
