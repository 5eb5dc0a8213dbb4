"""The relay, its lease and fencing, against a real redis-server and a served simulator."""

from __future__ import annotations

import functools
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError as RedisAuthenticationError
from redis.exceptions import NoPermissionError

from contactnow_async import AgentEvent, AuthenticationError, ContactNow, LiveAgent
from contactnow_async.redis import (
    LeaseLost,
    RedisLease,
    RedisStreamRelay,
    StreamAccountError,
    StreamKeyError,
    StreamReader,
    event_from_fields,
    event_to_fields,
    run_relay,
)
from contactnow_async.simulator import Dwell, ScaledClock, Simulator, VirtualClock, serve

from ._stall import logged, stalling
from .conftest import (
    REPO,
    cancel_while_stopped,
    each_protocol,
    eventually,
    lose_first_reply,
    stream_entries,
    text,
)

pytestmark = [pytest.mark.redis, pytest.mark.anyio]

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
#: How long the failover test waits for another process's progress before it fails: a
#: guard against a hang, never a measure (guards of 10 and 20 s timed out with two
#: suites on the two cores: replicas started and polled that much later).
GUARD = 120


def event(uid: int, status: str = "wait") -> AgentEvent:
    after = LiveAgent(agent_id="7", name="Ann", status=status, started_ts=1_700_000_000 + uid)
    return AgentEvent(
        kind="changed",
        agent_id="7",
        before=None,
        after=after,
        changed_at=T0,
        observed_at=T0,
        source="status_log",
        log_id=uid,
        id=f"log:{uid}",
    )


def test_fields_round_trip() -> None:
    original = event(12, "call")
    fields = event_to_fields(original, fence=3)
    assert fields["log_id"] == "12"
    assert fields["fence"] == "3"
    assert event_from_fields(fields) == original
    encoded = {key.encode(): value.encode() for key, value in fields.items()}
    assert event_from_fields(encoded) == original
    with pytest.raises(ValueError, match="no 'event' field"):
        event_from_fields({"x": "1"})


def test_an_event_field_that_is_not_utf8_is_refused_as_such() -> None:
    # A reader logged "'utf-8' codec can't encode character '\\udcff' in position 0":
    # an encoding error, of bytes some other writer put there that did not decode.
    for event_field in (b"\xff\xfe not UTF-8", b'{"id": "\xc3"}'):
        with pytest.raises(ValueError, match=r"'event' field is not UTF-8 \(byte 0x"):
            event_from_fields({b"event": event_field, b"log_id": b"12"})


@pytest.mark.parametrize(
    "log_id",
    [{"log_id": "13"}, {"log_id": "012"}, {"log_id": "12.0"}, {"log_id": "x"}, {"log_id": ""}, {}],
    ids=["another", "a leading zero", "a fraction", "text", "empty", "missing"],
)
def test_an_entry_whose_log_id_field_is_not_its_events_is_refused(log_id: dict[str, str]) -> None:
    # The field readers may deduplicate by without parsing the JSON: one that disagreed
    # with the event's log_id, or was garbled, was taken as it was.
    fields = {**event_to_fields(event(12)), "log_id": "", **log_id}
    if not log_id:
        del fields["log_id"]
    with pytest.raises(ValueError, match="log_id"):
        event_from_fields(fields)
    poll = attrs.evolve(event(12), source="poll", log_id=None)
    assert "log_id" not in event_to_fields(poll)
    with pytest.raises(ValueError, match="log_id"):
        event_from_fields({**event_to_fields(poll), "log_id": "12"})


@each_protocol
async def test_one_holder_and_a_paused_holder_cannot_publish(redis: Redis) -> None:
    first = RedisLease(redis, "s", ttl=0.3, owner="first")
    second = RedisLease(redis, "s", ttl=0.3, owner="second")
    relay_first = RedisStreamRelay(redis, "s", lease=first, maxlen=None)
    relay_second = RedisStreamRelay(redis, "s", lease=second, maxlen=None)
    assert await first.try_acquire() == 1
    assert await second.try_acquire() is None
    assert await relay_first.publish([event(1), event(2)]) == 2
    assert await first.renew()
    # "first" pauses (no renewal) past its TTL; "second" takes over.
    with anyio.fail_after(10):  # a guard: a loaded machine may take longer than the TTL
        assert await second.acquire() == 2
    assert await relay_second.cursor() == 2
    assert await relay_second.publish([event(2), event(3)]) == 1  # uid 2 is already there
    with pytest.raises(LeaseLost, match="fence 1 may not publish"):
        await relay_first.publish([event(4)])
    assert not await first.renew()
    entries = await stream_entries(redis, "s")
    assert [(int(f[b"log_id"]), int(f[b"fence"])) for _, f in entries] == [(1, 1), (2, 1), (3, 2)]
    assert await relay_first.cursor() == 3
    await second.release()
    assert await redis.get("s:lease") is None


class Replicas:
    """Relay replicas as child processes: ``contactnow relay``."""

    def __init__(self, redis_url: str, base_url: str, stream: str, ttl: float) -> None:
        self.command = [
            sys.executable, "-m", "contactnow_async", "relay",
            "--redis", redis_url, "--stream", stream, "--backfill",
            "--base-url", base_url, "--lease-ttl", str(ttl), "--interval", "0.05",
            "--since-uid", "0", "--maxlen", "0",
        ]  # fmt: skip
        self.env = dict(os.environ, CONTACTNOW_USERNAME="demo", CONTACTNOW_PASSWORD="demo")
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    def spawn(self) -> None:
        process = subprocess.Popen(self.command, cwd=REPO, env=self.env)
        self.processes[process.pid] = process

    def signal(self, pid: int, signum: int) -> None:
        os.kill(pid, signum)
        if signum == signal.SIGKILL:
            self.processes.pop(pid).wait()

    def stop(self) -> None:
        for process in self.processes.values():
            process.kill()
            process.wait()
        self.processes.clear()


async def lease_holder(redis: Redis, stream: str) -> tuple[int, int] | None:
    """(fence, pid) of the replica holding the lease, or None."""
    value = await redis.get(f"{stream}:lease")
    if value is None:
        return None
    fence, _host, pid, _suffix = text(value).split(":")
    return int(fence), int(pid)


async def holder_now(redis: Redis, stream: str) -> tuple[int, int]:
    """(fence, pid) of the lease holder, waiting out a moment between two holders."""
    holder = None

    async def held() -> bool:
        nonlocal holder
        holder = await lease_holder(redis, stream)
        return holder is not None

    await eventually(held, within=GUARD)
    assert holder is not None
    return holder


async def cursor(redis: Redis, stream: str) -> int:
    return int(await redis.get(f"{stream}:cursor") or 0)


async def cursor_above(redis: Redis, stream: str, uid: int) -> bool:
    return await cursor(redis, stream) > uid


async def new_holder(redis: Redis, stream: str, fence: int) -> bool:
    holder = await lease_holder(redis, stream)
    return holder is not None and holder[0] != fence


async def transitions(sim: Simulator, target: int) -> bool:
    return sim.transitions >= target


@pytest.mark.slow
async def test_replicas_fail_over_without_gap_or_duplicate(redis: Redis, redis_url: str) -> None:
    # A short TTL, and a leader disrupted once it has published a few hundred rows: four
    # failovers in seconds. The stream must match the status log row for row.
    # The TTL outlasts a replica's stalls on a loaded machine: at 0.5 s, with two suites
    # on two cores, no leader renewed in time; each new one lost the lease before its
    # first publish while the backlog it had to catch up on grew by 1,000 rows a second,
    # and the stream stopped for good (a takeover every fraction of a second, 50 fences).
    ttl, stream, target = 2.0, "agents", 5_000
    rng = random.Random(20_000)
    # 100 agents changing every simulated second at 10x: about 1,000 transitions a second.
    sim = Simulator(
        username="demo",
        password="demo",
        agents=100,
        seed=11,
        clock=ScaledClock(10.0),
        dwell=Dwell.uniform(1.0),
    )
    failovers: list[tuple[str, float, float]] = []
    async with serve(sim) as base_url:
        replicas = Replicas(redis_url, base_url, stream, ttl)
        try:
            for _ in range(3):
                replicas.spawn()
            await eventually(lambda: cursor_above(redis, stream, 0), within=GUARD)
            disruptions = ["SIGKILL"] * 3 + ["SIGSTOP"]
            for how in disruptions:
                # Let the leader publish for a while: 0.1 to 0.5 s at this rate, so the
                # disruption falls anywhere in its renewal cycle.
                mark = await cursor(redis, stream) + rng.randint(100, 500)
                await eventually(functools.partial(cursor_above, redis, stream, mark), within=GUARD)
                fence, pid = await holder_now(redis, stream)
                stopped = time.monotonic()
                if how == "SIGKILL":
                    replicas.signal(pid, signal.SIGKILL)
                    replicas.spawn()  # keep three replicas
                else:
                    replicas.signal(pid, signal.SIGSTOP)  # a leader paused, not dead
                # Checked every 10 ms (eventually's pace), so the printed times are good to
                # 10 ms: a 2 ms spin made 500 round trips a second, ~1 s of CPU in all.
                await eventually(functools.partial(new_holder, redis, stream, fence), within=GUARD)
                taken = time.monotonic() - stopped
                at_takeover = await cursor(redis, stream)
                await eventually(
                    functools.partial(cursor_above, redis, stream, at_takeover), within=GUARD
                )
                publishing = time.monotonic() - stopped
                failovers.append((how, taken, publishing))
                if how == "SIGSTOP":
                    replicas.signal(pid, signal.SIGCONT)  # wakes up as a stale leader
            await eventually(lambda: transitions(sim, target), within=GUARD, every=0.05)
            log = sim.status_log()
            last = int(log[-1]["uid"])
            await eventually(lambda: cursor_above(redis, stream, last - 1), within=GUARD)
        finally:
            replicas.stop()
    for how, taken, publishing in failovers:
        print(  # the acceptance asks for the failover times (seen with -n 0 -s)
            f"failover after {how}: lease taken over in {taken:.3f} s, "
            f"publishing again after {publishing:.3f} s (lease TTL {ttl} s)"
        )
    # The failover times are printed, not asserted: wall-clock limits do not belong in
    # tests on a shared machine. What is asserted is that every disruption was followed
    # by a takeover (a new fence) at all, above, and the stream's content, below.
    assert len(failovers) == len(disruptions)

    # Some 10,000 entries: redis-py's blocking client parses them in half the CPU.
    with SyncRedis.from_url(redis_url) as sync_redis:
        entries = await anyio.to_thread.run_sync(sync_redis.xrange, stream)
    published = [(int(f[b"fence"]), event_from_fields(f)) for _, f in entries]
    uids = [e.log_id for _, e in published]
    assert None not in uids
    counts = Counter(uids)
    assert not [uid for uid, n in counts.items() if n > 1], "a uid was published twice"
    assert uids == sorted(uids)  # type: ignore[type-var]  # no None, checked above
    fences = [fence for fence, _ in published]
    assert fences == sorted(fences), "an older leader published after a newer one"
    assert len(set(fences)) >= 1 + len(disruptions)  # the first leader, one per disruption

    end = uids[-1]
    assert end is not None
    assert end >= last
    expected = {int(row["uid"]): row for row in sim.status_log() if int(row["uid"]) <= end}
    assert set(uids) == set(expected), "the stream is not the status log"
    for _fence, published_event in published:
        assert published_event.log_id is not None
        row = expected[published_event.log_id]
        assert published_event.agent_id == row["agent"]
        assert published_event.after is not None
        assert published_event.after.status == row["status"]
        assert published_event.after.sub_status == row["subcode"]
        assert int(published_event.changed_at.timestamp()) == int(row["uts"])
    assert sim.transitions >= target


@pytest.mark.parametrize(
    ("option", "value"),
    [("ttl", float("nan")), ("ttl", float("inf")), ("poll", float("nan")), ("poll", -1.0)],
)
def test_lease_times_must_be_finite_positive_seconds(option: str, value: float) -> None:
    redis = Redis.from_url("redis://127.0.0.1:1/0")  # never connected: only the check runs
    with pytest.raises(ValueError, match=option):
        RedisLease(redis, "s", **{option: value})  # type: ignore[arg-type]  # a float option


@pytest.mark.parametrize("option", ["batch", "maxlen"])
@pytest.mark.parametrize("value", [2.5, float("nan"), True, "10", 0])
def test_relay_counts_must_be_whole_numbers(option: str, value: object) -> None:
    # maxlen is XADD's MAXLEN, batch a slice's step: 2.5 or NaN failed every publish.
    redis = Redis.from_url("redis://127.0.0.1:1/0")  # never connected: only the check runs
    lease = RedisLease(redis, "s")
    with pytest.raises(ValueError, match=rf"^{option} must be a whole number >= 1, got "):
        RedisStreamRelay(redis, "s", lease=lease, **{option: value})  # type: ignore[arg-type]  # a bad value


async def test_a_refused_redis_password_ends_the_relay(redis_url: str) -> None:
    # As run() promises: a wrong password is no outage to wait out, so the relay ends
    # with redis-py's AuthenticationError rather than retrying it for ever.
    refused = redis_url.replace("redis://", "redis://nobody:wrong@")
    async with ContactNow(username="demo", password="demo", base_url="http://127.0.0.1:1") as cn:
        with anyio.fail_after(5), pytest.raises(RedisAuthenticationError):
            await run_relay(redis_url=refused, stream="s", client=cn, lease_ttl=0.5)


async def test_a_refused_password_over_a_unix_socket_ends_the_relay(redis_socket: Path) -> None:
    # Over a unix socket redis-py raises the refusal as a ConnectionError (caused by its
    # AuthenticationError): taken for an outage, it was retried for ever.
    refused = f"unix://nobody:wrong@{redis_socket}"
    async with ContactNow(username="demo", password="demo", base_url="http://127.0.0.1:1") as cn:
        with anyio.fail_after(5), pytest.raises(RedisAuthenticationError):
            await run_relay(redis_url=refused, stream="s", client=cn, lease_ttl=0.5)


@pytest.mark.parametrize(
    ("denied", "refusal"),
    [("-@scripting", "'evalsha' command"), ("-@keyspace", "script can't run this command")],
    ids=["no-scripts", "no-command-a-script-runs"],
)
async def test_an_acl_user_that_may_not_run_the_relays_commands_ends_the_relay(
    redis: Redis, redis_url: str, denied: str, refusal: str
) -> None:
    # An ACL user made for the relay with too few commands: every append and lease take was
    # refused (NOPERM, or the ERR a script gets for a command inside it), logged and
    # retried every second for ever.
    user = "relay-without-" + denied[2:]
    await redis.acl_setuser(user, enabled=True, passwords=["+pw"], keys=["*"],
                            commands=["+@all", denied])  # fmt: skip
    try:
        url = redis_url.replace("redis://", f"redis://{user}:pw@")
        async with ContactNow(
            username="demo", password="demo", base_url="http://127.0.0.1:1"
        ) as cn:
            with anyio.fail_after(5), pytest.raises(NoPermissionError, match=refusal):
                await run_relay(redis_url=url, stream="s", client=cn, lease_ttl=0.5)
    finally:
        await redis.acl_deluser(user)


async def test_a_cancelled_relay_does_not_hang_on_a_redis_that_stopped_answering(
    own_redis: tuple[str, subprocess.Popen[bytes]],
) -> None:
    # Redis hangs (a stopped process, a network that drops packets): stopping the relay
    # must not wait for it for ever. Releasing the lease is a courtesy (it expires).
    url, server = own_redis
    sim = Simulator(username="demo", password="demo", agents=5, seed=3)
    ended: list[float] = []
    async with (
        serve(sim) as base_url,
        ContactNow(username="demo", password="demo", base_url=base_url) as cn,
        Redis.from_url(url) as redis,
    ):
        async with anyio.create_task_group() as group:

            async def relay() -> None:
                try:
                    await run_relay(redis_url=url, stream="s", client=cn, lease_ttl=1.0)
                finally:
                    ended.append(time.monotonic())

            group.start_soon(relay)
            await eventually(lambda: lease_exists(redis, "s"), within=10)
            took = await cancel_while_stopped(server, group, ended)
    assert took < 4, "the cancelled relay waited for Redis to answer again"


async def test_a_leader_whose_redis_stops_answering_gives_up_and_leads_again_after(
    redis: Redis, redis_url: str
) -> None:
    # Redis stops answering, its connections left open (SIGSTOP, a partition): a renewal
    # or an append waited for ever (redis-py before 8 has no socket timeout; 8 gives 5 s),
    # saying nothing, the lease expiring under a leader that did not know it.
    sim = Simulator(username="demo", password="demo", agents=5, seed=3)
    async with (
        stalling(redis_url) as stall,
        serve(sim) as base_url,
        ContactNow(username="demo", password="demo", base_url=base_url) as cn,
    ):
        relay = functools.partial(
            run_relay, redis_url=stall.url, stream="stall", client=cn, lease_ttl=0.6,
            redis_timeout=0.15, interval=0.05,
        )  # fmt: skip
        async with anyio.create_task_group() as group:
            group.start_soon(relay)
            await eventually(lambda: lease_exists(redis, "stall"), within=GUARD)
            # A renewal or an append gives up (which first depends on the timing), is
            # logged, and the leader steps down: the lease is let go or expires.
            with logged("contactnow_async.redis", "Timeout reading from") as gave_up:
                stall.stop()
                # Under redis-py 8's own 5 s socket timeout, or none at all, not by then.
                with anyio.fail_after(4):  # a guard against a hang, not a measure
                    await gave_up.wait()
            await eventually(lambda: lease_absent(redis, "stall"), within=GUARD)
            stall.resume()
            await eventually(lambda: lease_exists(redis, "stall"), within=GUARD)  # leads again
            group.cancel_scope.cancel()


async def lease_absent(redis: Redis, stream: str) -> bool:
    return not await lease_exists(redis, stream)


async def test_a_replica_cancelled_as_it_takes_the_lease_gives_it_up(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The take was carried out and its reply lost to the cancellation: the replica did not
    # know it held the lease, so did not release it, and nobody led for a whole ttl.
    lease = RedisLease(redis, "s", ttl=60, owner="cancelled")
    taken = lose_first_reply(monkeypatch, redis, "evalsha")
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(lease.acquire)
            await taken.wait()
            group.cancel_scope.cancel()
    assert await redis.get("s:lease") is None
    assert await RedisLease(redis, "s", owner="next").try_acquire() == 2


def standby(
    redis: Redis, sim: Simulator, *, password: str = "demo", **options: Any
) -> tuple[ContactNow, RedisStreamRelay]:
    """A client of ``sim``, and a relay of it on the stream "standby", whose lease the
    test holds first (as "holder")."""
    cn = ContactNow(username="demo", password=password, base_url="http://sim/",
                    transport=sim.transport(), **options)  # fmt: skip
    lease = RedisLease(redis, "standby", ttl=1.0, owner="standby")
    return cn, RedisStreamRelay(redis, "standby", lease=lease)


async def test_a_waiting_replica_fetches_its_token_before_it_takes_over(redis: Redis) -> None:
    # A replica fetched its token, and made its HTTP client (aiohttp's import, two TLS
    # contexts), only once it held the lease: the first poll of a new leader began with
    # up to a second of that on a loaded machine, its renewals waiting behind it.
    sim = Simulator(username="demo", password="demo", agents=5, seed=3, clock=VirtualClock(),
                    dwell=Dwell.uniform(10**6))  # fmt: skip  # nobody moves on their own
    holder = RedisLease(redis, "standby", ttl=60, owner="holder")
    assert await holder.try_acquire() == 1
    cn, relay = standby(redis, sim)
    async with cn, anyio.create_task_group() as group:
        group.start_soon(functools.partial(relay.run, cn, interval=0.02))

        async def fetched() -> bool:
            return cn.tokens.fetches > 0

        await eventually(fetched, within=10)
        assert await redis.get("standby:lease") == b"1:holder"  # still waiting
        await holder.release()

        async def polled() -> bool:  # it leads, and its first poll asked for something
            return await _is_set(redis, "standby:account") and sim.stats.requests > 1

        await eventually(polled, within=10)
        group.cancel_scope.cancel()
    assert cn.tokens.fetches == 1  # its first poll used the token it had
    assert sim.stats.token_gets == 1


async def test_a_waiting_replica_whose_password_is_refused_ends_at_once(redis: Redis) -> None:
    # It waited for the lease, days perhaps, to end on the refusal only when it took over.
    sim = Simulator(username="demo", password="demo", agents=3, seed=3, clock=VirtualClock())
    assert await RedisLease(redis, "standby", ttl=60, owner="holder").try_acquire() == 1
    cn, relay = standby(redis, sim, password="wrong")
    async with cn:
        with anyio.fail_after(10), pytest.raises(AuthenticationError):
            await relay.run(cn)
    assert await redis.get("standby:lease") == b"1:holder"


async def test_a_waiting_replica_that_gets_no_token_still_takes_over(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    # Fetching the token early is a head start, not a condition: an outage of token.php
    # while it waits is logged, and the token fetched when it leads.
    sim = Simulator(username="demo", password="demo", agents=3, seed=3, clock=VirtualClock())
    sim.faults.inject("http_503", script="token")
    holder = RedisLease(redis, "standby", ttl=60, owner="holder")
    assert await holder.try_acquire() == 1
    cn, relay = standby(redis, sim, max_retries=0)

    async def logged() -> bool:
        return any("no token while waiting" in r.getMessage() for r in caplog.records)

    with caplog.at_level("WARNING", logger="contactnow_async.redis"):
        async with cn, anyio.create_task_group() as group:
            group.start_soon(functools.partial(relay.run, cn, interval=0.02))
            await eventually(logged, within=10)
            assert await redis.get("standby:lease") == b"1:holder"  # still waiting
            await holder.release()

            async def leads() -> bool:  # the account is set before the first poll's token
                return await _is_set(redis, "standby:account") and sim.stats.token_gets >= 2

            await eventually(leads, within=10)
            group.cancel_scope.cancel()
    assert sim.stats.token_gets == 2  # the one answered 503, and the one it led with


async def lease_exists(redis: Redis, stream: str) -> bool:
    return await lease_holder(redis, stream) is not None


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0])
async def test_relay_retry_must_be_finite_seconds(value: float) -> None:
    # Accepted, NaN ended the relay at its first Redis error, as anyio.sleep's ValueError.
    redis = Redis.from_url("redis://127.0.0.1:1/0")  # never connected: only the check runs
    relay = RedisStreamRelay(redis, "s", lease=RedisLease(redis, "s"))
    async with ContactNow(username="demo", password="demo", base_url="http://127.0.0.1:1") as cn:
        with anyio.fail_after(5), pytest.raises(ValueError, match="retry"):
            await relay.run(cn, retry=value)


def _quiet_centre(age: float) -> tuple[VirtualClock, Simulator]:
    """A simulator whose agents do not move on their own, its log rows ``age`` seconds old."""
    clock = VirtualClock()
    sim = Simulator(username="demo", password="demo", agents=5, seed=3, clock=clock,
                    dwell=Dwell.uniform(10**6))  # fmt: skip
    clock.advance(age)
    return clock, sim


async def _lead(
    redis: Redis, cn: ContactNow, owner: str, until: Callable[[], Awaitable[bool]]
) -> None:
    """Run a relay of stream "quiet" as ``owner`` until ``until()``, then stop it."""
    relay = RedisStreamRelay(redis, "quiet", lease=RedisLease(redis, "quiet", ttl=1.0, owner=owner))
    async with anyio.create_task_group() as group:
        group.start_soon(functools.partial(relay.run, cn, interval=0.02))
        await eventually(until, within=10)
        group.cancel_scope.cancel()


async def _second_leader_publishes_a_pause(redis: Redis, cn: ContactNow, sim: Simulator) -> None:
    """Pause an agent (after a first leader went), then lead again: the pause, and only
    it, is published."""
    agent = next(str(row["uid"]) for row in sim.live_agents() if row["status"] == "wait")
    await cn.control.pause(agent)  # between the two leaders
    paused = int(sim.status_log()[-1]["uid"])
    await _lead(redis, cn, "second", functools.partial(cursor_above, redis, "quiet", paused - 1))
    uids = [int(fields[b"log_id"]) for _, fields in await stream_entries(redis, "quiet")]
    assert uids == [paused]  # the change between the two leaders, and nothing before it


@each_protocol
async def test_a_leader_that_published_nothing_hands_over_where_it_started(redis: Redis) -> None:
    # No cursor in Redis: the first leader starts "from now". If it goes before it has
    # published anything (a quiet centre), its successor started from *its* now, and
    # the changes between the two starts were never published.
    # The log's rows are a minute old: within a new leader's look back (the states its
    # first snapshot shows), so its cursor starts at the last of them, with no event.
    _, sim = _quiet_centre(60)
    async with ContactNow(
        username="demo", password="demo", base_url="http://sim/", transport=sim.transport()
    ) as cn:
        started = int(sim.status_log()[-1]["uid"])
        await _lead(redis, cn, "first", lambda: _is_set(redis, "quiet:cursor"))
        assert await cursor(redis, "quiet") == started  # where the first leader's log began
        assert await stream_entries(redis, "quiet") == []  # and it published nothing
        await _second_leader_publishes_a_pause(redis, cn, sim)


@each_protocol
async def test_a_leader_that_found_no_log_row_hands_over_when_it_started(redis: Redis) -> None:
    # No cursor in Redis, and no row of the log within the first leader's look back (a
    # quiet centre): it had no uid to record, and its successor started from *its* now,
    # the changes between the two starts never published. It records the time its log
    # starts (the server's); a successor resumes from the first row written since.
    clock, sim = _quiet_centre(600)  # the log's rows are older than a new leader's look back
    async with ContactNow(
        username="demo", password="demo", base_url="http://sim/", transport=sim.transport()
    ) as cn:
        await _lead(redis, cn, "first", lambda: _is_set(redis, "quiet:started"))
        assert not await redis.exists("quiet:cursor")  # no uid to start from
        assert int(await redis.get("quiet:started") or 0) == int(clock.now())  # the server's time
        await _second_leader_publishes_a_pause(redis, cn, sim)
    assert not await redis.exists("quiet:started")  # the cursor says where from now on


async def test_a_successor_of_a_leader_that_found_no_row_waits_for_the_first_row(
    redis: Redis,
) -> None:
    # With no row written since the first leader started, a successor starting from its
    # own now would take a row written as it starts (before its first snapshot) for
    # history: it reads the log since that start until a row comes, and resumes there.
    _, sim = _quiet_centre(600)  # the log's rows are older than a new leader's look back
    async with ContactNow(
        username="demo", password="demo", base_url="http://sim/", transport=sim.transport()
    ) as cn:

        def relay(owner: str) -> RedisStreamRelay:
            return RedisStreamRelay(redis, "quiet", lease=RedisLease(redis, "quiet", ttl=1.0,
                                                                     owner=owner))  # fmt: skip

        async def reads_since_start() -> bool:
            return sum(r.method == "status_log" and "tstart" in r.args for r in sim.requests) > 3

        async with anyio.create_task_group() as group:
            group.start_soon(functools.partial(relay("first").run, cn, interval=0.02))
            await eventually(lambda: _is_set(redis, "quiet:started"), within=10)
            group.cancel_scope.cancel()
        started = int(await redis.get("quiet:started") or 0)
        async with anyio.create_task_group() as group:
            group.start_soon(functools.partial(relay("second").run, cn, interval=0.02))
            await eventually(reads_since_start, within=10)  # the second one, waiting
            assert all(r.args["tstart"] == str(started) for r in sim.requests[-2:])
            agent = next(str(row["uid"]) for row in sim.live_agents() if row["status"] == "wait")
            await cn.control.pause(agent)
            paused = int(sim.status_log()[-1]["uid"])
            await eventually(functools.partial(cursor_above, redis, "quiet", paused - 1), within=10)
            group.cancel_scope.cancel()
    uids = [int(fields[b"log_id"]) for _, fields in await stream_entries(redis, "quiet")]
    assert uids == [paused]


async def _is_set(redis: Redis, key: str) -> bool:
    return bool(await redis.exists(key))


async def test_a_relay_for_another_account_refuses_the_stream(redis: Redis) -> None:
    # Nothing recorded whose account a stream was: a relay for account B on the same stream
    # name (the default contactnow:agents) took the lease and A's cursor, skipped B's rows
    # up to A's uid and published the rest of B's agents into A's stream.
    clock = VirtualClock()
    still = Dwell.uniform(10**6)  # nobody moves on their own
    sims = {
        name: Simulator(username=name, password="pw", agents=5, seed=3, clock=clock, dwell=still)
        for name in ("acct_a", "acct_b")
    }
    clock.advance(60)  # the log's rows within a leader's look back: a cursor at once

    def client(name: str, base_url: str = "http://sim/") -> ContactNow:
        sim = sims[name]
        return ContactNow(username=name, password="pw", base_url=base_url,
                          transport=sim.transport(), clock=sim.clock)  # fmt: skip

    def relay(owner: str) -> RedisStreamRelay:
        return RedisStreamRelay(redis, "shared", lease=RedisLease(redis, "shared", ttl=1.0,
                                                                  owner=owner))  # fmt: skip

    async with client("acct_a") as cn:
        async with anyio.create_task_group() as group:
            group.start_soon(functools.partial(relay("a").run, cn, interval=0.02))
            await eventually(lambda: _is_set(redis, "shared:cursor"), within=10)
            group.cancel_scope.cancel()
    assert text(await redis.get("shared:account")) == "http://sim/|acct_a"  # no password
    cursor_a = await redis.get("shared:cursor")
    async with client("acct_b", "http://gate:s3cret@sim/") as cn:  # a gateway's user info
        with anyio.fail_after(10), pytest.raises(StreamAccountError) as refused:
            await relay("b").run(cn, interval=0.02)
    assert "'shared' is relayed for account http://sim/|acct_a, not http://sim/|acct_b" in str(
        refused.value
    )
    assert "pw" not in str(refused.value)
    assert "s3cret" not in str(refused.value)
    assert await redis.get("shared:cursor") == cursor_a
    assert await redis.get("shared:lease") is None  # given up: A's relays take it again


@pytest.mark.parametrize(
    ("key", "value", "refused"),
    [
        ("cursor", "abc", "'foreign:cursor' holds 'abc', not a status_log uid"),
        ("cursor", "007", "'foreign:cursor' holds '007', not a status_log uid"),
        ("cursor", {"a": "1"}, "'foreign:cursor' holds a hash, not a string"),
        ("fence", "abc", "'foreign:fence' holds 'abc', not a whole number"),
        ("account", ["x"], "'foreign:account' holds a list, not a string"),
        ("", "x", "'foreign' holds a string, not a stream"),
        ("lease", "x", "'foreign:lease' holds a key that never expires, not a lease"),
        ("started", "abc", "'foreign:started' holds 'abc', not a unix time"),
        ("started", {"a": "1"}, "'foreign:started' holds a hash, not a string"),
    ],
    ids=["cursor-text", "cursor-leading-zero", "cursor-hash", "fence-text", "account-list",
         "stream-string", "lease-for-ever", "started-text", "started-hash"],
)  # fmt: skip
async def test_a_key_another_program_wrote_ends_the_relay_naming_it(
    redis: Redis, key: str, value: str | dict[str, str] | list[str], refused: str
) -> None:
    # A cursor that was no number ended the relay with int()'s ValueError ("a bug" in
    # `contactnow relay`); "007" was read as 7 but compared by the script as text, so uids
    # of up to three digits were skipped; a key of another type (WRONGTYPE) or a fence that
    # INCR refuses was taken for an outage, retried every second for ever, naming no key;
    # a lease key with no expiry kept every replica waiting for ever, saying nothing.
    name = f"foreign:{key}" if key else "foreign"
    if isinstance(value, dict):
        for field, content in value.items():
            await redis.hset(name, field, content)
    elif isinstance(value, list):
        await redis.rpush(name, *value)
    else:
        await redis.set(name, value)
    sim = Simulator(username="demo", password="demo", agents=3, seed=3, clock=VirtualClock())
    async with ContactNow(
        username="demo", password="demo", base_url="http://sim/", transport=sim.transport()
    ) as cn:
        relay = RedisStreamRelay(redis, "foreign", lease=RedisLease(redis, "foreign", ttl=5.0))
        # A first leader's start is read with no cursor and no since_log_id only.
        since = None if key == "started" else 0
        with anyio.fail_after(10), pytest.raises(StreamKeyError) as ended:
            await relay.run(cn, since_log_id=since, interval=0.02, retry=0.01)
    assert refused in str(ended.value)
    if key != "lease":
        assert await redis.get("foreign:lease") is None  # given up


async def test_a_name_with_a_lone_surrogate_is_published_and_read_back(redis: Redis) -> None:
    # The API's "\ud800" decodes to a lone surrogate, which UTF-8 has not: publishing its
    # event raised UnicodeEncodeError, which ended the relay, and every restart (and every
    # replica) ended on the same row, the cursor still before it.
    sim = Simulator(username="demo", password="demo", agents=3, seed=3, clock=VirtualClock(),
                    dwell=Dwell.uniform(10**6))  # fmt: skip  # nobody moves on their own
    scenario = sim._scenario  # no request names one: PHP's json_decode refuses it
    online = next(row["uid"] for row in sim.live_agents() if row["status"] != "offline")
    agent = scenario.by_uid[str(online)]
    agent.record = {**scenario.record(agent), "name": "\ud800Ann"}
    async with ContactNow(
        username="demo", password="demo", base_url="http://sim/", transport=sim.transport()
    ) as cn:
        relay = RedisStreamRelay(redis, "odd", lease=RedisLease(redis, "odd", ttl=5.0))
        last = int(sim.status_log()[-1]["uid"])
        async with anyio.create_task_group() as group:
            group.start_soon(functools.partial(relay.run, cn, since_log_id=0, interval=0.02))
            await eventually(functools.partial(cursor_above, redis, "odd", last - 1), within=10)
            group.cancel_scope.cancel()
    reader = StreamReader(redis, "odd", group="g", consumer="c", block=0.01, claim_idle=None)
    await reader.create_group()
    read = {entry.event.agent_id: entry.event for entry in await reader.read()}
    after = read[agent.uid].after
    assert after is not None and after.name == "\ud800Ann"


@each_protocol
async def test_uids_past_a_double_are_ordered_exactly(redis: Redis) -> None:
    # The script compared uids as Lua numbers (doubles): past 2**53 neighbours compared
    # equal, and all but the first of them were dropped as published already.
    lease = RedisLease(redis, "big", ttl=5.0)
    await lease.acquire()
    relay = RedisStreamRelay(redis, "big", lease=lease, maxlen=None)
    base = 2**53
    uids = [base - 1, base, base + 1, base + 2, 10**19 - 1, 10**19, 12_345_678_950_123_456_789]
    assert await relay.publish([event(uid) for uid in uids]) == len(uids)
    assert await relay.cursor() == uids[-1]
    assert await relay.publish([event(uid) for uid in [*uids, 99]]) == 0  # all published
    assert await relay.publish([event(uids[-1] + 1)]) == 1
    published = [int(fields[b"log_id"]) for _, fields in await stream_entries(redis, "big")]
    assert published == [*uids, uids[-1] + 1]
    # A uid the event JSON refuses (no status_log row has one) is not published at all.
    with pytest.raises(ValueError, match="log_id"):
        await relay.publish([event(uids[-1] + 2), event(-1)])
    assert await relay.cursor() == uids[-1] + 1


@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), float("inf")])
async def test_relay_redis_timeout_must_be_finite_seconds(value: float) -> None:
    async with ContactNow(username="demo", password="demo", base_url="http://127.0.0.1:1") as cn:
        with pytest.raises(ValueError, match="redis_timeout"):
            await run_relay(redis_url="redis://127.0.0.1:1/0", stream="s", client=cn,
                            redis_timeout=value)  # fmt: skip


@each_protocol
async def test_an_event_whose_parts_disagree_is_not_published(redis: Redis) -> None:
    # A status_log event without its log_id (or a poll event with one) was appended, and
    # every reader then skipped it with a warning: from_json refuses what to_json wrote.
    lease = RedisLease(redis, "parts", ttl=5.0)
    await lease.acquire()
    relay = RedisStreamRelay(redis, "parts", lease=lease, maxlen=None)
    for odd in (attrs.evolve(event(7), log_id=None), attrs.evolve(event(7), source="poll")):
        with pytest.raises(ValueError, match="log_id"):
            await relay.publish([event(5), odd])  # the good one before it is not sent either
    assert await stream_entries(redis, "parts") == []
    assert await relay.publish([event(5)]) == 1


@pytest.mark.parametrize(
    "url",
    ["redis://default:hunter-two/0", "redis://default:hunter#two@127.0.0.1:6379/0"],
)
async def test_a_relay_url_that_does_not_parse_is_refused_without_its_password(url: str) -> None:
    # run_relay() handed the URL to Redis.from_url(), whose refusal quotes what stands
    # where the port goes ("Port could not be cast to integer value as 'hunter'"): a
    # piece of the password, in the traceback of the program that called it.
    async with ContactNow(username="u", password="p", base_url="http://127.0.0.1:9/") as cn:
        with pytest.raises(ValueError, match="redis URL") as raised:
            await run_relay(redis_url=url, stream="contactnow:agents", client=cn)
    assert "hunter" not in str(raised.value)
    assert raised.value.__suppress_context__
