"""Subscribers: bounded buffers and their overflow policies."""

from __future__ import annotations

import traceback
from datetime import datetime, timezone

import anyio
import anyio.lowlevel
import anyio.to_thread
import pytest

from contactnow_async import AgentEvent, AuthenticationError, LiveAgent
from contactnow_async.watch import Health, HealthEvent, Subscription
from contactnow_async.watch import _fanout as fanout_module
from contactnow_async.watch._fanout import Fanout, Overflow, SubscriptionClosed

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def event(agent_id: str, n: int) -> AgentEvent:
    after = LiveAgent(agent_id=agent_id, name="", status="wait", started_ts=n)
    return AgentEvent(
        kind="changed", agent_id=agent_id, before=None, after=after,
        changed_at=NOW, observed_at=NOW, id=f"{agent_id}:{n}",
    )  # fmt: skip


async def drain(sub: Subscription[AgentEvent]) -> list[str]:
    sub.finish()
    return [e.id async for e in sub]


@pytest.mark.anyio
async def test_drop_oldest_keeps_the_newest_and_counts_the_rest() -> None:
    sub: Subscription[AgentEvent] = Subscription(
        buffer=3, overflow="drop_oldest", include_health=False
    )
    await sub.publish([event("1", n) for n in range(10)])
    assert sub.dropped == 7
    assert await drain(sub) == ["1:7", "1:8", "1:9"]


@pytest.mark.anyio
async def test_coalesce_holds_at_most_one_event_per_agent() -> None:
    sub: Subscription[AgentEvent] = Subscription(
        buffer=2, overflow="coalesce", include_health=False
    )
    for n in range(5):
        await sub.publish([event("a", n), event("b", n), event("c", n)])
        assert sub.pending <= 3
    assert sub.dropped == 12
    assert sorted(await drain(sub)) == ["a:4", "b:4", "c:4"]


@pytest.mark.anyio
async def test_coalesce_delivers_health_events_where_they_came_among_the_agents() -> None:
    """A poll's changes, then its watcher failing, then recovering, then a change: read in
    that order. Health events went first, ahead of the changes seen before them; the oldest
    beyond ``buffer`` make room, as drop_oldest's do."""
    sub: Subscription[AgentEvent | HealthEvent] = Subscription(
        buffer=2, overflow="coalesce", include_health=True
    )

    def health(failures: int) -> HealthEvent:
        return HealthEvent(health=Health(consecutive_failures=failures), observed_at=NOW)

    await sub.publish([event("a", 1), event("b", 1)])
    await sub.publish([health(n) for n in (1, 2, 3)])  # one more than the buffer holds
    await sub.publish([event("a", 2)])  # replaces a:1, now after the failures
    sub.finish()
    got = [e.id if isinstance(e, AgentEvent) else e.health.consecutive_failures async for e in sub]
    assert got == ["b:1", 2, 3, "a:2"]
    assert sub.dropped == 2  # a:1 replaced, the first failure made room


@pytest.mark.anyio
async def test_block_applies_backpressure_and_loses_nothing() -> None:
    sub: Subscription[AgentEvent] = Subscription(buffer=2, overflow="block", include_health=False)
    got: list[str] = []

    async def produce() -> None:
        await sub.publish([event("1", n) for n in range(50)])
        sub.finish()

    async with anyio.create_task_group() as tg:
        tg.start_soon(produce)
        async for item in sub:
            assert sub.pending <= 2
            got.append(item.id)
    assert got == [f"1:{n}" for n in range(50)]
    assert sub.dropped == 0


@pytest.mark.anyio
async def test_a_block_subscription_closed_while_the_publisher_waits_takes_nothing_more() -> None:
    sub: Subscription[AgentEvent] = Subscription(buffer=1, overflow="block", include_health=False)
    refused: list[BaseException] = []

    async def produce() -> None:
        try:
            await sub.publish([event("1", n) for n in range(5)])
        except SubscriptionClosed as exc:
            refused.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(produce)
        await anyio.wait_all_tasks_blocked()  # the publisher waits for room
        sub.close()
    assert refused, "the publisher is told, and stops"
    assert sub.pending == 0
    assert [e.id async for e in sub] == []  # closed: nothing is delivered after close()


@pytest.mark.anyio
async def test_a_block_subscription_its_reader_dropped_unclosed_no_longer_holds_the_rest() -> None:
    # `break` out of `async for event in watcher.subscribe()`: nothing closes the
    # subscription. The publisher waited on its full buffer for ever, and every other
    # subscriber with it; now the subscription goes with its reader's last reference.
    fanout = Fanout()
    kept: Subscription[AgentEvent] = Subscription(buffer=1, overflow="block", include_health=False)
    fanout.add(kept)
    got: list[str] = []

    async def read_one_then_drop_it() -> None:
        dropped: Subscription[AgentEvent] = Subscription(
            buffer=1, overflow="block", include_health=False
        )
        fanout.add(dropped)
        async for _ in dropped:
            break  # and return, without close()

    async def produce() -> None:
        for n in range(20):
            await fanout.publish([event("1", n)])
        fanout.finish()

    async with anyio.create_task_group() as tg:
        tg.start_soon(read_one_then_drop_it)
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(produce)
        with anyio.fail_after(10):  # was: the publisher blocked for ever on the dropped one
            async for item in kept:
                got.append(item.id)
    assert got == [f"1:{n}" for n in range(20)]
    assert len(fanout._subscriptions) == 1  # the dropped one forgotten


@pytest.mark.anyio
async def test_a_block_subscription_freed_in_another_thread_still_lets_the_publisher_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The cycle collector frees a dropped subscription in whichever thread allocates: a
    # worker's. Its finalizer may not touch the loop's event there (trio raises, asyncio
    # wakes no one): the waiting publisher's next look at it lets it go on.
    monkeypatch.setattr(fanout_module, "RECHECK", 0.01, raising=False)
    fanout = Fanout()
    held: list[Subscription[AgentEvent]] = [
        Subscription(buffer=1, overflow="block", include_health=False)
    ]
    fanout.add(held[0])
    with anyio.fail_after(10):  # was: woken from the worker thread, or never
        async with anyio.create_task_group() as tg:
            tg.start_soon(fanout.publish, [event("1", n) for n in range(3)])
            await anyio.wait_all_tasks_blocked()  # the publisher waits for room
            await anyio.to_thread.run_sync(held.clear)  # the last reference, in a worker
    assert fanout._subscriptions == []  # and forgotten


@pytest.mark.anyio
async def test_a_finished_subscription_raises_the_watchers_error() -> None:
    sub: Subscription[AgentEvent] = Subscription(buffer=2, overflow="block", include_health=False)
    await sub.publish([event("1", 1)])
    sub.finish(AuthenticationError("refused"))
    assert (await sub.__anext__()).id == "1:1"  # buffered events come first
    with pytest.raises(AuthenticationError):
        await sub.__anext__()


@pytest.mark.anyio
async def test_each_reader_of_a_finished_subscription_raises_its_own_copy() -> None:
    # Several tasks may read one subscription, and a Fanout hands one error to all of
    # them: raising one object again and again grew its traceback at every raise.
    sub: Subscription[AgentEvent] = Subscription(buffer=2, overflow="block", include_health=False)
    refused = AuthenticationError("refused")
    sub.finish(refused)
    raised: list[BaseException] = []
    for _ in range(3):
        with pytest.raises(AuthenticationError, match=r"^refused$") as caught:
            await sub.__anext__()
        raised.append(caught.value)
    assert len({id(error) for error in raised}) == 3
    assert all(error is not refused and error.__cause__ is refused for error in raised)
    depths = [len(traceback.extract_tb(error.__traceback__)) for error in raised]
    assert depths == [depths[0]] * 3
    assert refused.__traceback__ is None  # the shared one is never raised


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="overflow"):
        Subscription(buffer=2, overflow="spill", include_health=False)  # type: ignore[arg-type]  # the point of the test
    with pytest.raises(ValueError, match="buffer"):
        Subscription(buffer=0, overflow="block", include_health=False)


@pytest.mark.parametrize("buffer", [float("nan"), 2.5, True, "10"])
@pytest.mark.anyio
async def test_a_buffer_that_is_no_whole_number_is_refused(buffer: object) -> None:
    # NaN passed ``buffer < 1`` (every comparison with it is false) and bounded nothing:
    # drop_oldest never dropped and block never held the publisher back; 2.5 held 3.
    with pytest.raises(TypeError, match="buffer must be a whole number"):
        Subscription(buffer=buffer, overflow="drop_oldest", include_health=False)  # type: ignore[arg-type]  # a wrong type


@pytest.mark.anyio
async def test_block_takes_its_starting_events_outside_the_buffer_and_loses_nothing() -> None:
    sub: Subscription[AgentEvent] = Subscription(buffer=2, overflow="block", include_health=False)
    sub.prefill([event("1", n) for n in range(5)])  # never waits, whatever the buffer
    assert sub.pending == 5
    got: list[str] = []

    async def produce() -> None:
        await sub.publish([event("2", n) for n in range(5)])  # waits for the reader
        sub.finish()

    async with anyio.create_task_group() as tg:
        tg.start_soon(produce)
        async for item in sub:
            got.append(item.id)
    assert got == [f"1:{n}" for n in range(5)] + [f"2:{n}" for n in range(5)]
    assert sub.dropped == 0


@pytest.mark.anyio
async def test_the_other_policies_take_starting_events_as_any_others() -> None:
    oldest: Subscription[AgentEvent] = Subscription(
        buffer=2, overflow="drop_oldest", include_health=False
    )
    oldest.prefill([event("1", n) for n in range(5)])
    assert (oldest.dropped, await drain(oldest)) == (3, ["1:3", "1:4"])
    latest: Subscription[AgentEvent] = Subscription(
        buffer=2, overflow="coalesce", include_health=False
    )
    latest.prefill([event("a", 1), event("b", 1), event("a", 2)])
    assert (latest.dropped, await drain(latest)) == (1, ["b:1", "a:2"])


@pytest.mark.anyio
@pytest.mark.parametrize("overflow", ["block", "drop_oldest", "coalesce"])
async def test_readers_sharing_a_subscription_split_its_events_and_all_end(
    overflow: Overflow,
) -> None:
    """Two tasks reading one subscription (workers taking turns): each event goes to one
    of them, none is lost, and both end when it finishes. The first reader used to wait
    for ever on an event the second one had replaced."""
    sub: Subscription[AgentEvent] = Subscription(
        buffer=1_000, overflow=overflow, include_health=False
    )
    got: dict[str, list[str]] = {"a": [], "b": []}

    async def reader(name: str) -> None:
        async for item in sub:
            got[name].append(item.id)
            await anyio.lowlevel.checkpoint()  # let the other reader take the next one

    async def settle() -> None:  # a few passes of the loop: every reader gets its turn
        for _ in range(5):
            await anyio.lowlevel.checkpoint()

    with anyio.fail_after(5):  # a hang guard, not a timing assertion
        async with anyio.create_task_group() as tg:
            tg.start_soon(reader, "a")
            tg.start_soon(reader, "b")
            await settle()  # both wait on the empty subscription
            for n in range(20):
                await sub.publish([event(str(n), n)])
                await settle()
            sub.finish()
    assert sorted(got["a"] + got["b"], key=lambda id_: int(id_.split(":")[1])) == [
        f"{n}:{n}" for n in range(20)
    ]
    assert got["a"] and got["b"]
