"""Consumer groups on the relay's stream: at least once, a dead reader's entries claimed."""

from __future__ import annotations

import functools
import json
import signal
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import anyio
import pytest
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError as RedisAuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError

from contactnow_async import AgentEvent, Call, ContactNow, LiveAgent, VirtualClock
from contactnow_async.redis import RedisLease, RedisStreamRelay, StreamEntry, StreamReader
from contactnow_async.simulator import Simulator

from ..test_readme_examples import run_block
from ._stall import logged, stalling
from .conftest import REPO, each_protocol, eventually, stream_entries, text

pytestmark = [pytest.mark.redis, pytest.mark.anyio]

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def event(uid: int) -> AgentEvent:
    after = LiveAgent(agent_id=str(uid % 9), name="", status="wait", started_ts=1_700_000_000 + uid)
    return AgentEvent(
        kind="changed",
        agent_id=after.agent_id,
        before=None,
        after=after,
        changed_at=T0,
        observed_at=T0,
        source="status_log",
        log_id=uid,
        id=f"log:{uid}",
    )


async def publish(redis: Redis, stream: str, uids: range) -> None:
    lease = RedisLease(redis, stream, ttl=5.0)
    await lease.acquire()
    try:
        await RedisStreamRelay(redis, stream, lease=lease).publish([event(u) for u in uids])
    finally:
        await lease.release()


def reader(redis_url: str, consumer: str, *options: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.redis._procs", "reader", redis_url, "s", "g", consumer,
         *options],
        cwd=REPO,
    )  # fmt: skip


async def processed(redis: Redis) -> list[dict[str, Any]]:
    return [json.loads(item) for item in await redis.lrange("test:processed", 0, -1)]


async def handled(redis: Redis, count: int) -> bool:
    return len(await processed(redis)) >= count


async def all_done(redis: Redis, count: int) -> bool:
    """Every uid handled by someone and nothing pending in the group."""
    if (await redis.xpending("s", "g"))["pending"]:
        return False
    return len({record["uid"] for record in await processed(redis)}) >= count


@pytest.mark.slow
async def test_three_readers_process_everything_and_claim_a_dead_ones(
    redis: Redis, redis_url: str
) -> None:
    uids = range(1, 601)
    await publish(redis, "s", uids)
    await StreamReader(redis, "s", group="g", consumer="setup").create_group()
    # The slow reader takes a batch of 50 and handles one entry every 50 ms,
    # acknowledging at the end of the batch: killed mid-batch, it leaves pending entries.
    readers = [reader(redis_url, "slow", "--count", "50", "--delay", "0.05")]
    try:
        await eventually(lambda: handled(redis, 3), within=10)
        readers += [
            reader(redis_url, name, "--claim-idle", "0.5", "--delay", "0.002")
            for name in ("fast-1", "fast-2")
        ]
        await anyio.sleep(0.1)
        readers[0].send_signal(signal.SIGKILL)
        readers[0].wait()
        pending = await redis.xpending_range("s", "g", "-", "+", 1000, consumername="slow")
        orphaned = {text(entry["message_id"]) for entry in pending}
        assert orphaned  # killed mid-batch: read, not acknowledged
        await eventually(lambda: all_done(redis, len(uids)), within=30, every=0.05)
    finally:
        for process in readers:
            process.kill()
            process.wait()
    records = await processed(redis)
    assert {r["uid"] for r in records} == set(uids)  # every event at least once
    claimed = {r["id"] for r in records if r["claimed"] and r["consumer"] != "slow"}
    assert orphaned <= claimed, "the dead reader's pending entries were not claimed"
    by_consumer = {r["consumer"] for r in records}
    assert by_consumer == {"slow", "fast-1", "fast-2"}


@each_protocol
async def test_reader_drops_duplicates_and_replays_its_own_pending(redis: Redis) -> None:
    await publish(redis, "s", range(1, 4))
    # A uid appended twice (by hand: the relay never does) is handed out once.
    await redis.xadd(
        "s", {"event": (await stream_entries(redis, "s"))[0][1][b"event"], "log_id": "1"}
    )
    await redis.xadd("s", {"junk": "1"})
    first = StreamReader(redis, "s", group="g", consumer="c", claim_idle=None, count=3)
    await first.create_group()
    await first.create_group()  # exists already: fine
    entries = await first.read()
    assert [e.event.log_id for e in entries] == [1, 2, 3]
    assert all(e.fence == 1 for e in entries)
    await first.ack(entries[0])
    # The same consumer restarted: its unacknowledged entries come back first.
    again = StreamReader(redis, "s", group="g", consumer="c", claim_idle=None, block=0.01)
    assert [e.event.log_id for e in await again.read()] == [2, 3]
    assert [e.event.log_id for e in await again.read()] == [1]  # new to this reader
    assert await again.read() == []
    pending = await redis.xpending("s", "g")
    assert (
        pending["pending"] == 3
    )  # 2 and 3 and the late 1 wait for acks; duplicates and junk acked


@each_protocol
async def test_the_readme_consumer_group(redis: Redis) -> None:
    # The README's reader, run as written: each relayed event handled, then acknowledged.
    await publish(redis, "contactnow:agents", range(1, 6))
    handled: list[AgentEvent] = []
    # A guard, not a bound: fewer than 5 events hung the test instead of failing it.
    with anyio.fail_after(30), anyio.CancelScope() as scope:

        async def handle(event: AgentEvent) -> None:
            handled.append(event)
            if len(handled) == 5:
                scope.cancel()

        await run_block("stream-reader", {"redis": redis, "handle": handle})
    assert [e.log_id for e in handled] == [1, 2, 3, 4, 5]
    groups = await redis.xinfo_groups("contactnow:agents")
    assert [text(group["name"]) for group in groups] == ["alerts"]


async def test_one_reader_drops_a_duplicate_uid(redis: Redis) -> None:
    await publish(redis, "s", range(1, 3))
    await redis.xadd(
        "s", {"event": (await stream_entries(redis, "s"))[0][1][b"event"], "log_id": "1"}
    )
    only = StreamReader(redis, "s", group="g", consumer="c", claim_idle=None, block=0.01)
    await only.create_group()
    entries = await only.read()
    assert [e.event.log_id for e in entries] == [1, 2]
    await only.ack(*entries)
    assert (await redis.xpending("s", "g"))["pending"] == 0  # the duplicate was acknowledged


@each_protocol
async def test_an_entry_handed_out_but_never_acknowledged_comes_back(redis: Redis) -> None:
    # The handler of uid 1 failed (no ack): once the entry has been pending claim_idle,
    # the reader claims it (its own) and hands it out again, rather than taking it
    # for a duplicate of itself and acknowledging it unhandled.
    await publish(redis, "s", range(1, 3))
    only = StreamReader(redis, "s", group="g", consumer="c", claim_idle=0.05, block=0.01)
    await only.create_group()
    entries = await only.read()
    assert [e.event.log_id for e in entries] == [1, 2]
    await only.ack(entries[1])  # 1's handler failed
    await anyio.sleep(0.1)  # past claim_idle (Redis's clock: no virtual one to move)
    again = await only.read()
    assert [(e.id, e.event.log_id, e.claimed) for e in again] == [(entries[0].id, 1, True)]
    assert (await redis.xpending("s", "g"))["pending"] == 1  # still waiting for its ack
    # A second entry of the same event is still dropped, while the first is kept. (No more
    # claims: on a loaded machine the first would be pending claim_idle again by then.)
    only.claim_idle = None
    await redis.xadd("s", {"event": (await stream_entries(redis, "s"))[0][1][b"event"],
                           "log_id": "1"})  # fmt: skip
    assert await only.read() == []
    assert (await redis.xpending("s", "g"))["pending"] == 1


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("claim_idle", float("nan")),  # passed every check, and no entry was ever claimed
        ("claim_idle", float("inf")),  # None is "never claim"
        ("claim_idle", -1.0),
        ("block", float("nan")),
        ("block", float("inf")),
        ("block", -1.0),
        ("retry", float("nan")),
        ("retry", 0.0),
        ("stalled_after", float("nan")),
        ("stalled_after", 0.0),
        ("stalled_after", 1.0),  # no longer than block: every quiet read would fail
    ],
)
def test_reader_times_must_be_finite_seconds(option: str, value: float) -> None:
    redis = Redis.from_url("redis://127.0.0.1:1/0")  # never connected: only the check runs
    with pytest.raises(ValueError, match=option):
        StreamReader(redis, "s", group="g", consumer="c", **{option: value})  # type: ignore[arg-type]  # a float option


@pytest.mark.parametrize("option", ["count", "remember"])
@pytest.mark.parametrize("value", [2.5, float("nan"), True, "10", -1])
def test_reader_counts_must_be_whole_numbers(option: str, value: object) -> None:
    # count is XREADGROUP's COUNT: 2.5 or NaN went out and Redis refused every read, for ever.
    redis = Redis.from_url("redis://127.0.0.1:1/0")  # never connected: only the check runs
    with pytest.raises(ValueError, match=rf"^{option} must be a whole number >= "):
        StreamReader(redis, "s", group="g", consumer="c", **{option: value})  # type: ignore[arg-type]  # a bad value


@each_protocol
async def test_entries_trimmed_while_pending_are_acknowledged_and_counted_as_lost(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    # Trimmed (MAXLEN) or deleted while pending, an entry comes back without its fields
    # (None, or {} from redis-py 8): nothing to hand out, and not an entry the relay did
    # not write ("skipping"); it is acknowledged, so it does not stay pending for ever.
    # It was handed out and never acknowledged, perhaps never handled: that was silent.
    await publish(redis, "s", range(1, 4))
    first = StreamReader(redis, "s", group="g", consumer="c", claim_idle=None, block=0.01)
    await first.create_group()
    ids = [entry.id for entry in await first.read()]  # handed out, never acknowledged
    await redis.xtrim("s", maxlen=0, approximate=False)
    again = StreamReader(redis, "s", group="g", consumer="c", claim_idle=None, block=0.01)
    with caplog.at_level("WARNING", logger="contactnow_async.redis"):
        assert await again.read() == []
    assert not [r for r in caplog.records if "skipping" in r.getMessage()]
    assert (await redis.xpending("s", "g"))["pending"] == 0
    assert again.entries_lost == 3
    (warning,) = [r.getMessage() for r in caplog.records if "lost" in r.getMessage()]
    assert f"3 entries ({ids[0]} to {ids[-1]})" in warning


async def caught_up(redis: Redis) -> StreamReader:
    """A reader of ``s`` (group ``g``) that has read and acknowledged entries 1 and 2."""
    await publish(redis, "s", range(1, 3))
    reader = StreamReader(redis, "s", group="g", consumer="c", claim_idle=None, block=0.01)
    await reader.create_group()
    await reader.ack(*await reader.read())
    return reader


@each_protocol
async def test_entries_trimmed_before_the_group_read_them_are_counted_as_lost(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    # XREADGROUP > went on from the oldest entry left: the entries trimmed between the
    # group's position and it were skipped without a word.
    reader = await caught_up(redis)
    await publish(redis, "s", range(3, 13))
    await redis.xtrim("s", maxlen=4, approximate=False)  # 3 to 8 go unread
    with caplog.at_level("WARNING", logger="contactnow_async.redis"):
        assert [e.event.log_id for e in await reader.read()] == [9, 10, 11, 12]
    assert reader.entries_lost == 6
    (warning,) = [r.getMessage() for r in caplog.records if "lost" in r.getMessage()]
    assert "6 entries" in warning
    assert await reader.read() == []
    assert reader.entries_lost == 6
    # A group created after a trim has lost nothing: it begins at the oldest entry left.
    late = StreamReader(redis, "s", group="late", consumer="c", claim_idle=None, block=0.01)
    await late.create_group()
    assert len(await late.read()) == 4
    assert late.entries_lost == 0


@each_protocol
@pytest.mark.parametrize("start", ["0", "$"])
async def test_entries_trimmed_before_a_new_groups_first_read_are_counted_as_lost(
    redis: Redis, start: str
) -> None:
    # A group created before the relay's first entry (a new stream) had no count of the
    # entries it read (Redis 7.0: XGROUP CREATE without ENTRIESREAD), so its lag counted
    # only the entries left, and those trimmed before its first read went unnoticed.
    reader = StreamReader(redis, "s", group="g", consumer="c", claim_idle=None, block=0.01)
    await reader.create_group(start=start)
    await publish(redis, "s", range(1, 13))
    await redis.xtrim("s", maxlen=4, approximate=False)  # 1 to 8 go unread
    assert [e.event.log_id for e in await reader.read()] == [9, 10, 11, 12]
    assert reader.entries_lost == 8


@pytest.mark.parametrize("denied", ["-@scripting", "-xgroup|setid"])
async def test_a_reader_whose_acl_user_may_not_run_the_groups_script_creates_it(
    redis: Redis, redis_url: str, denied: str
) -> None:
    # create_group() runs a script: a user without it creates the group as before.
    user = "reader-without-" + denied[1:].replace("|", "-")
    await redis.acl_setuser(user, enabled=True, passwords=["+pw"], keys=["*"],
                            commands=["+@all", denied])  # fmt: skip
    try:
        limited = Redis.from_url(redis_url.replace("redis://", f"redis://{user}:pw@"))
        async with limited:
            reader = StreamReader(limited, "s", group="g", consumer="c", claim_idle=None,
                                  block=0.01)  # fmt: skip
            await reader.create_group()
            await reader.create_group()  # BUSYGROUP: there already
            await publish(redis, "s", range(1, 3))
            assert [e.event.log_id for e in await reader.read()] == [1, 2]
    finally:
        await redis.acl_deluser(user)


@each_protocol
async def test_pending_entries_a_claim_finds_trimmed_are_counted_as_lost(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    # Redis 7's XAUTOCLAIM drops entries deleted while pending from the pending list and
    # names them in a third reply element, which claim() threw away.
    await publish(redis, "s", range(1, 4))
    dead = StreamReader(redis, "s", group="g", consumer="dead", claim_idle=None, block=0.01)
    await dead.create_group()
    ids = [entry.id for entry in await dead.read()]  # then it dies
    await redis.xtrim("s", maxlen=1, approximate=False)  # 1 and 2 go
    alive = StreamReader(redis, "s", group="g", consumer="alive", claim_idle=0.0, block=0.01)
    with caplog.at_level("WARNING", logger="contactnow_async.redis"):
        claimed = await alive.claim()
    assert [(e.event.log_id, e.claimed) for e in claimed] == [(3, True)]
    assert alive.entries_lost == 2
    (warning,) = [r.getMessage() for r in caplog.records if "lost" in r.getMessage()]
    assert f"2 entries ({ids[0]} to {ids[1]})" in warning


@each_protocol
async def test_trimmed_entries_at_the_head_of_the_pending_do_not_end_the_replay(
    redis: Redis,
) -> None:
    # A restarted consumer replays its pending entries a page (count) at a time: a page of
    # trimmed ones ended the replay, and the entries after them were never handed out again.
    await publish(redis, "s", range(1, 5))
    first = StreamReader(redis, "s", group="g", consumer="c", claim_idle=None, block=0.01)
    await first.create_group()
    assert len(await first.read()) == 4  # handed out, never acknowledged
    await redis.xtrim("s", maxlen=2, approximate=False)  # 1 and 2 go
    again = StreamReader(redis, "s", group="g", consumer="c", claim_idle=None, count=2,
                         block=0.01)  # fmt: skip
    assert [e.event.log_id for e in await again.read()] == [3, 4]


async def test_a_reader_links_a_dialled_call_to_its_record(redis: Redis) -> None:
    # The event JSON kept only a call's id: a consumer of the stream could not tell which
    # ecnow record (lead) an agent was calling, which the live row names (urn, qtable).
    sim = Simulator(username="demo", password="demo", agents=10, seed=5, clock=VirtualClock())
    async with ContactNow(
        username="demo", password="demo", base_url="http://sim/", transport=sim.transport(),
        clock=sim.clock, retry_backoff=0.0,
    ) as cn:  # fmt: skip
        dataset, *_ = await cn.datasets.read(table="Willtest", state="LIVE")
        lead = await cn.records.create([{"dataset": dataset.dataset_id, "MobilePhone": "07700"}])
        # An agent dials it within a minute (simulated: the watcher sleeps on the simulator's
        # clock, so its polls a simulated second apart come as fast as Redis takes them).
        until = sim.clock.now() + 300
        relay = RedisStreamRelay(redis, "s", lease=RedisLease(redis, "s", ttl=5.0), maxlen=None)
        reader = StreamReader(redis, "s", group="g", consumer="c", claim_idle=None, block=0.01)
        await reader.create_group()
        dialled: list[tuple[Call, AgentEvent]] = []
        async with anyio.create_task_group() as group:
            group.start_soon(functools.partial(relay.run, cn, backfill=True, interval=1.0))
            with anyio.fail_after(20):
                async for entry in reader:
                    calls = entry.event.after.calls if entry.event.after else ()
                    dialled += [(c, entry.event) for c in calls if c.record_id is not None]
                    if dialled or sim.clock.now() > until:
                        break
            group.cancel_scope.cancel()
    assert dialled, "no event named a call's record"
    ((call, seen),) = dialled
    assert (call.record_id, call.table) == (lead.key, "Willtest")
    (row,) = [row for row in sim.status_log() if row["callid"] == call.call_id]
    assert row["agent"] == seen.agent_id  # that agent's call with that record


@each_protocol
async def test_an_entry_that_cannot_be_read_is_skipped_not_a_stall(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    # Bytes that are not UTF-8, or a fence that is no number, in an entry some other writer
    # put there: it was read with the whole reply, before the per-entry check, and every
    # read (and every restart, replaying its pending entries) raised on it again.
    await publish(redis, "p", range(1, 2))
    good = (await stream_entries(redis, "p"))[0][1]
    await redis.delete("p")
    await redis.xadd("p", {"event": b"\xff\xfe not utf-8", "log_id": "7"})
    await redis.xadd("p", {"event": good[b"event"], "log_id": "1", "fence": "not-a-number"})
    # Past int()'s 4,300 digits (ValueError, outside the check), and past what INCR makes.
    await redis.xadd("p", {"event": good[b"event"], "log_id": "1", "fence": "9" * 5000})
    await redis.xadd("p", {"event": good[b"event"], "log_id": "1", "fence": str(2**63)})
    await redis.xadd("p", {"event": good[b"event"], "log_id": "2", "fence": "1"})  # not its uid
    await redis.xadd("p", {"event": good[b"event"], "log_id": "1", "fence": "1"})
    for consumer in ("c1", "c1"):  # the second: a restart, replaying its own pending first
        reader = StreamReader(redis, "p", group="g", consumer=consumer, claim_idle=None,
                              block=0.01)  # fmt: skip
        await reader.create_group()
        entries = await reader.read()  # the second time: its pending entry, replayed
        assert [(e.event.log_id, e.fence) for e in entries] == [(1, 1)]
    assert (await redis.xpending("p", "g"))["pending"] == 1  # the good one, not yet acked
    assert sum("skipping stream entry" in r.getMessage() for r in caplog.records) == 5


@each_protocol
async def test_bytes_that_are_not_utf8_are_skipped_by_a_reader_whose_client_decodes(
    redis: Redis, redis_url: str, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    # A client with decode_responses=True decoded each reply whole, strictly: an entry
    # another writer put there with bytes that are not UTF-8 raised UnicodeDecodeError on
    # every read, claim and restart, and no entry after it was ever handed out.
    await redis.xadd("p", {"event": b"\xff\xfe"})
    await publish(redis, "p", range(1, 4))
    await redis.xgroup_create("p", "g", id="0")
    clients = len(await redis.client_list())
    options = {**request.node.callspec.params["redis"], "decode_responses": True}
    async with Redis.from_url(redis_url, **options) as decoding:
        # New entries (one transaction), then a dead consumer's claimed, then a restarted
        # consumer's own pending replayed: each meets the entry first.
        for consumer, claim_idle in (("c1", None), ("c2", 0.0), ("c3", None)):
            if consumer != "c1":  # a consumer of the group's own reads them all
                await redis.xgroup_setid("p", "g", "0")
                await redis.xreadgroup("g", "c3" if claim_idle is None else "dead", {"p": ">"})
            reader = StreamReader(decoding, "p", group="g", consumer=consumer,
                                  claim_idle=claim_idle, block=0.01)  # fmt: skip
            try:
                entries = await reader.read()
                assert [e.event.log_id for e in entries] == [1, 2, 3]
                assert entries[0].claimed is (claim_idle is not None)
                await reader.ack(*entries)
                await reader.aclose()
                assert await reader.read() == []  # reconnects
            finally:
                await reader.aclose()
            assert (await redis.xpending("p", "g"))["pending"] == 0  # the bad one acked too
        assert await decoding.ping()  # the client passed is the caller's, left open
    assert sum("skipping stream entry" in r.getMessage() for r in caplog.records) == 3
    assert len(await redis.client_list()) == clients  # no connection left behind


@each_protocol
async def test_a_reader_on_a_decoding_client_cancelled_in_async_with_closes_its_own_client(
    redis: Redis, redis_url: str, request: pytest.FixtureRequest
) -> None:
    # aclose() ran in the cancelled scope of `async with`: its first await was cancelled,
    # and the connection of the reader's own (undecoding) client was left open (a
    # ResourceWarning, and a client on the server, until the garbage collector came).
    await publish(redis, "p", range(1, 3))
    clients = len(await redis.client_list())
    options = {**request.node.callspec.params["redis"], "decode_responses": True}
    async with Redis.from_url(redis_url, **options) as decoding:
        handed = anyio.Event()

        async def handle_one() -> None:
            async with StreamReader(decoding, "p", group="g", consumer="c", block=0.01,
                                    claim_idle=None) as reader:  # fmt: skip
                await reader.create_group()
                async for _entry in reader:
                    handed.set()
                    await anyio.sleep_forever()  # a handler at work when cancelled

        with anyio.fail_after(10):  # a guard against a hang, not a measure
            async with anyio.create_task_group() as group:
                group.start_soon(handle_one)
                await handed.wait()
                assert len(await redis.client_list()) == clients + 1  # the reader's own
                group.cancel_scope.cancel()
        assert len(await redis.client_list()) == clients  # no connection left behind
        assert await decoding.ping()  # the client passed is the caller's, left open


async def test_iterating_rides_out_a_lost_connection_and_a_redis_that_restarted_empty(
    redis: Redis, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A lost connection raised ConnectionError out of `async for`, and after Redis restarted
    # without its data every read raised NOGROUP until the caller created the group again.
    await publish(redis, "s", range(1, 3))
    reader = StreamReader(redis, "s", group="g", consumer="c", claim_idle=None, block=0.01,
                          retry=0.01)  # fmt: skip
    await reader.create_group()
    seen: list[int | None] = []
    real = redis.xreadgroup
    failures = 0

    async def xreadgroup(*args: Any, **kwargs: Any) -> Any:
        nonlocal failures
        if seen and failures == 0:
            failures += 1
            raise RedisConnectionError("Connection closed by server.")
        return await real(*args, **kwargs)

    monkeypatch.setattr(redis, "xreadgroup", xreadgroup)
    with anyio.fail_after(10), caplog.at_level("WARNING", logger="contactnow_async.redis"):
        async for entry in reader:
            seen.append(entry.event.log_id)
            await reader.ack(entry)
            if seen == [1, 2]:
                await redis.flushdb()  # Redis restarted with nothing: no stream, no group
                await publish(redis, "s", range(1, 5))  # the relay starts over, from uid 1
            if len(seen) == 4:
                break
    assert failures == 1
    assert seen == [1, 2, 3, 4]  # 1 and 2 again: dropped as copies of what it handed out
    messages = [r.getMessage() for r in caplog.records]
    assert any("Connection closed by server" in m for m in messages)
    assert any("creating group 'g' again" in m for m in messages)


async def test_iterating_ends_on_a_refused_password_over_a_unix_socket(
    redis_socket: Path,
) -> None:
    # redis-py raises that refusal as a ConnectionError (caused by its AuthenticationError)
    # over a unix socket: taken for a lost connection, it was retried for ever.
    refused = Redis.from_url(f"unix://nobody:wrong@{redis_socket}")
    reader = StreamReader(refused, "s", group="g", consumer="c", retry=0.01)
    try:
        with anyio.fail_after(5), pytest.raises(RedisAuthenticationError):
            async for _entry in reader:
                pass  # pragma: no cover -- nothing is read
    finally:
        await refused.aclose()


async def test_iterating_gives_up_on_a_redis_that_stops_answering_and_reads_on_after(
    redis: Redis, redis_url: str
) -> None:
    # Redis stops answering, its connections left open (SIGSTOP, a partition): with a
    # client that has no socket timeout (redis-py's default before 8), a read waited for
    # ever, saying nothing.
    await publish(redis, "s", range(1, 2))
    async with stalling(redis_url) as stall:
        client = Redis.from_url(stall.url, socket_timeout=None, socket_connect_timeout=None)
        reader = StreamReader(client, "s", group="g", consumer="c", claim_idle=None,
                              block=0.05, retry=0.01, stalled_after=0.3)  # fmt: skip
        await reader.create_group()
        seen: list[int | None] = []

        async def wake_when_given_up(gave_up: anyio.Event) -> None:
            await gave_up.wait()
            await publish(redis, "s", range(2, 3))  # to the server, not through the proxy
            # The read given up reaches Redis now, as after a SIGCONT: entry 2 goes to a
            # reply nobody reads, pending on this consumer, and comes back in a replay.
            stall.resume()

        async with client, anyio.create_task_group() as group:
            with logged("contactnow_async.redis", "no reply from Redis") as gave_up:
                group.start_soon(wake_when_given_up, gave_up)
                with anyio.fail_after(10):  # a guard against a hang, not a measure
                    async for entry in reader:
                        seen.append(entry.event.log_id)
                        await reader.ack(entry)
                        if entry.event.log_id == 2:
                            break
                        stall.stop()  # the next read gets no reply
    assert seen == [1, 2]


async def test_a_loop_ended_mid_batch_is_followed_by_the_rest_of_the_batch(redis: Redis) -> None:
    # The entries of a read were handed out by the generator of one `async for`: when its
    # handler raised, the rest of the batch, pending on this consumer, went with that
    # generator, and the next loop went on with newer entries (the rest waited for a claim,
    # claim_idle later, or for ever without one).
    await publish(redis, "s", range(1, 6))
    reader = StreamReader(redis, "s", group="g", consumer="c", claim_idle=None, block=0.01)
    await reader.create_group()
    seen: list[int | None] = []

    async def fail_at_2() -> None:
        async for entry in reader:
            seen.append(entry.event.log_id)
            if entry.event.log_id == 2:
                raise RuntimeError("handler failed")  # 2 is left unacknowledged
            await reader.ack(entry)

    with pytest.raises(RuntimeError, match="handler failed"):
        await fail_at_2()
    await publish(redis, "s", range(6, 7))
    with anyio.fail_after(10):
        async for entry in reader:
            seen.append(entry.event.log_id)
            await reader.ack(entry)
            if len(seen) == 5:
                break
    assert seen == [1, 2, 3, 4, 5]  # then 6; 2 comes back on a claim or a restart


@each_protocol
async def test_a_read_that_fails_after_redis_answered_is_replayed_by_the_next(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # read() raises every error for its caller to retry; but the entries Redis handed
    # this consumer in the failed read (here: acknowledging an entry it skips fails)
    # stayed pending, and the retry read only newer ones.
    await publish(redis, "s", range(1, 3))
    await redis.xadd("s", {"junk": "1"})  # skipped, and acknowledged
    reader = StreamReader(redis, "s", group="g", consumer="c", claim_idle=None, block=0.01)
    await reader.create_group()
    real = redis.xack

    async def xack(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(redis, "xack", real)
        raise RedisConnectionError("Connection closed by server.")

    monkeypatch.setattr(redis, "xack", xack)
    with pytest.raises(RedisConnectionError):
        await reader.read()
    assert [e.event.log_id for e in await reader.read()] == [1, 2]
    assert (await redis.xpending("s", "g"))["pending"] == 2  # the junk acknowledged


@each_protocol
async def test_entries_trimmed_while_a_read_waits_are_counted_as_lost(redis: Redis) -> None:
    # A read waiting for new entries (XREADGROUP BLOCK) is answered once the relay's script
    # has appended its whole batch, and trimmed: with a batch longer than MAXLEN, the
    # entries trimmed between the group's position and the oldest one left were skipped
    # without a word (the count is made by the read that does not wait).
    await publish(redis, "s", range(1, 3))
    reader = StreamReader(redis, "s", group="g", consumer="c", claim_idle=None, block=2.0)
    await reader.create_group()
    await reader.ack(*await reader.read())
    lease = RedisLease(redis, "s", ttl=5.0)
    await lease.acquire()
    relay = RedisStreamRelay(redis, "s", lease=lease, maxlen=10, batch=500)
    handed: list[StreamEntry] = []

    async def read_until_some() -> None:
        while not handed:
            handed.extend(await reader.read())

    async def waiting() -> bool:
        return int((await redis.info("clients"))["blocked_clients"]) > 0

    with anyio.fail_after(20):  # a guard against a hang, not a measure
        async with anyio.create_task_group() as group:
            group.start_soon(read_until_some)
            await eventually(waiting, within=10)
            await relay.publish([event(uid) for uid in range(3, 503)])
    reader.block = 0.01
    while more := await reader.read():
        handed.extend(more)
    assert len(handed) < 500  # MAXLEN trimmed some before the reader saw them
    assert len(handed) + reader.entries_lost == 500
    assert [e.event.log_id for e in handed] == list(range(503 - len(handed), 503))


@each_protocol
async def test_a_second_loss_to_trimming_is_counted_as_itself(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    # Redis 7.0 goes on counting the entries trimmed before a group read them in
    # its lag (the group's read counter counts the entries it delivered): the next loss
    # was counted with every earlier one again, 12 for 6.
    reader = await caught_up(redis)
    for first in (3, 13):
        await publish(redis, "s", range(first, first + 10))
        await redis.xtrim("s", maxlen=4, approximate=False)  # 6 go unread
        with caplog.at_level("WARNING", logger="contactnow_async.redis"):
            entries = await reader.read()
        assert [e.event.log_id for e in entries] == list(range(first + 6, first + 10))
        await reader.ack(*entries)
    assert reader.entries_lost == 12
    warnings = [r.getMessage() for r in caplog.records if "lost" in r.getMessage()]
    assert [warning.split(" of ")[0] for warning in warnings] == ["6 entries"] * 2


@each_protocol
async def test_entries_trimmed_before_a_read_whose_reply_was_lost_are_counted_as_lost(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The read that went on past the trimmed entries had its reply lost (cancelled, given
    # up, a dropped connection): the retry replayed the entries it had been handed from
    # the pending list, and the loss went uncounted (the group's position was past it).
    reader = await caught_up(redis)
    real = redis.pipeline

    async def read_losing_its_reply() -> None:
        done = anyio.Event()

        def pipeline(*args: Any, **kwargs: Any) -> Any:
            monkeypatch.setattr(redis, "pipeline", real)  # the next one only
            pipe = real(*args, **kwargs)
            execute = pipe.execute

            async def carried_out(*args: Any, **kwargs: Any) -> Any:
                await execute(*args, **kwargs)
                done.set()
                await anyio.sleep_forever()  # its reply never comes

            pipe.execute = carried_out  # type: ignore[method-assign]
            return pipe

        monkeypatch.setattr(redis, "pipeline", pipeline)
        with anyio.fail_after(10):  # a guard against a hang, not a measure
            async with anyio.create_task_group() as group:
                group.start_soon(reader.read)
                await done.wait()
                group.cancel_scope.cancel()

    await publish(redis, "s", range(3, 13))
    await redis.xtrim("s", maxlen=4, approximate=False)  # 3 to 8 go unread
    await read_losing_its_reply()
    assert [e.event.log_id for e in await reader.read()] == [9, 10, 11, 12]
    assert await reader.read() == []
    assert reader.entries_lost == 6
    await publish(redis, "s", range(13, 15))  # nothing trimmed: nothing more lost
    await read_losing_its_reply()
    assert [e.event.log_id for e in await reader.read()] == [9, 10, 11, 12, 13, 14]
    assert await reader.read() == []
    assert reader.entries_lost == 6
