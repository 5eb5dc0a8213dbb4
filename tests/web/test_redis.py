"""The Redis Stream source: web replicas that share one relay, and a browser that
moves between them and still misses nothing and sees nothing twice."""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError as RedisAuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoPermissionError

from contactnow_async import VirtualClock
from contactnow_async.redis import RedisLease, RedisStreamRelay, StreamReader
from contactnow_async.simulator import Dwell, Simulator
from contactnow_async.web import RedisStreamSource, Wallboard, wallboard_app

from ..redis._stall import stalling
from ..redis.conftest import each_protocol, eventually, stream_entries
from ..watch._hostile import revisits
from ._sse import Frame, client_for, last_id, open_events
from ._support import client_on, event_rows, log_rows

pytestmark = [pytest.mark.redis, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    """redis-py's asyncio API is asyncio only: so is the Redis source."""
    return "asyncio"


def parse(entry_id: str) -> tuple[int, int]:
    key = RedisStreamSource.parse_id(entry_id)
    assert key is not None, entry_id
    return key


def replica(redis: str | Redis, stream: str, *, retain: int = 10_000) -> Wallboard:
    """A web replica reading ``stream`` with its own client (a URL), or with ``redis``."""
    return wallboard_app(RedisStreamSource(redis, stream, block=0.02), retain=retain)


async def leading(redis: Redis, stream: str) -> bool:
    return bool(await redis.exists(f"{stream}:lease"))


@asynccontextmanager
async def relaying(redis: Redis, stream: str) -> AsyncIterator[tuple[Simulator, int]]:
    """A relay of a busy simulated centre into ``stream``, from the log's end then (the
    uid given with the simulator), once it holds the lease: a replica started before
    that finds no relay leading."""
    sim = Simulator(
        username="demo",
        password="secret",
        agents=10,
        seed=5,
        clock=VirtualClock(),
        dwell=Dwell.uniform(5),
    )
    since = log_rows(sim)[-1][0]
    relay = RedisStreamRelay(redis, stream, lease=RedisLease(redis, stream, ttl=5), maxlen=None)
    async with client_on(sim) as client, anyio.create_task_group() as group:
        run = functools.partial(relay.run, backfill=True, since_log_id=since, interval=1.0)
        group.start_soon(run, client)
        await eventually(functools.partial(leading, redis, stream), within=10)
        yield sim, since
        group.cancel_scope.cancel()


@each_protocol
async def test_a_browser_switching_replicas_misses_nothing_and_sees_nothing_twice(
    redis: Redis,
) -> None:
    stream = "web:agents"
    async with relaying(redis, stream) as (sim, since):
        # A small window on each replica: a long absence is served from the stream itself.
        a, b = replica(redis, stream, retain=15), replica(redis, stream, retain=15)
        async with a.lifespan(), b.lifespan(), client_for(a) as http:
            assert (await http.get("/healthz")).json()["relay_leading"] is True
            seen: list[Frame] = []
            async with open_events(a, headers={"Last-Event-ID": "0-0"}) as stream_a:
                seen += await stream_a.take(20)  # from the stream's start
            async with open_events(b) as elsewhere:
                await elsewhere.take(40)  # the centre moves on while the browser is away
            async with open_events(b, headers={"Last-Event-ID": last_id(seen)}) as stream_b:
                seen += await stream_b.take(20)  # older than B's window: read from Redis
            async with open_events(a, headers={"Last-Event-ID": last_id(seen)}) as stream_a:
                seen += await stream_a.take(20)  # within A's window
            final = (await http.get("/healthz")).json()
            assert final["healthy"] is True
    ids = [parse(frame.id or "") for frame in seen]
    assert ids == sorted(set(ids)), "an event twice, or out of order"
    last_uid = json.loads(seen[-1].data)["log_id"]
    window = [row for row in log_rows(sim) if since < row[0] <= last_uid]
    assert event_rows(seen) == window  # the union is the status log: no gap, no duplicate
    assert len(window) == 60


def log_entry(uid: int, agent: str, status: str, *, name: str = "") -> Any:  # xadd's fields
    """The fields of a stream entry as the relay writes one: a status_log ``changed`` event
    (written by hand, so a test can make the stream what it needs)."""
    document = {"id": f"log:{uid}", "kind": "changed", "agent_id": agent, "log_id": uid}
    document |= {"changed_at": "2026-01-01T00:00:00Z", "observed_at": "2026-01-01T00:00:00Z"}
    document |= {"source": "status_log", "before": None, "previous_duration": None}
    document["after"] = {"agent_id": agent, "name": name, "status": status, "sub_status": "",
                         "started_ts": 0, "server_ts": 0, "calls": []}  # fmt: skip
    return {"event": json.dumps(document), "log_id": str(uid)}


def read_at(fields: Any, server_ts: float) -> Any:
    """A :func:`log_entry`'s fields, its row read when the centre's clock said ``server_ts``."""
    document = json.loads(fields["event"])
    document["after"] |= {"started_ts": int(server_ts) - 60, "server_ts": int(server_ts)}
    return fields | {"event": json.dumps(document)}


@pytest.mark.slow
async def test_the_snapshot_s_clock_is_the_centre_s_as_the_events_followed_show_it(
    redis: Redis,
) -> None:
    # The events were read on the relay's host, and the replica's clock may differ from
    # both: the offset is what the events say against the replica's clock as they arrive.
    # The retained entries a replica starts from arrive long after they were read: an
    # hour-old one is no sign the centre's clock is an hour behind.
    stream = "web:centre"
    clock = VirtualClock()
    await redis.xadd(stream, read_at(log_entry(1, "7", "wait"), clock.now() - 3_600))
    web = wallboard_app(RedisStreamSource(redis, stream, block=0.02, clock=clock))
    async with web.lifespan(), client_for(web) as http:
        assert (await http.get("/snapshot")).json()["server_ts"] == clock.now()
        await redis.xadd(stream, read_at(log_entry(2, "7", "call"), clock.now() + 300))

        async def followed() -> bool:
            return bool(web.board.agents["7"]["status"] == "call")

        await eventually(followed, within=10)
        snapshot = (await http.get("/snapshot")).json()
    assert snapshot["server_ts"] == clock.now() + 300
    assert snapshot["server_ts"] - snapshot["agents"][0]["started_ts"] == 60


async def test_the_snapshot_is_the_stream_folded_and_its_cursor_resumes(
    redis: Redis, redis_url: str
) -> None:
    stream = "web:snapshot"
    async with relaying(redis, stream):
        web = replica(redis_url, stream)
        async with web.lifespan(), client_for(web) as http:
            async with open_events(web) as events:
                await events.take(30)
            snapshot = (await http.get("/snapshot")).json()
            entries = await stream_entries(redis, stream)
            entries = [(i, f) for i, f in entries if parse(i) <= parse(snapshot["cursor"])]
            assert entries[-1][0] == snapshot["cursor"]
            last = {}
            for _, fields in entries:
                event = json.loads(fields[b"event"])
                last[event["agent_id"]] = event["after"]
            folded = {agent_id: after for agent_id, after in last.items() if after is not None}
            assert {a["agent_id"]: a for a in snapshot["agents"]} == folded
            async with open_events(web, headers={"Last-Event-ID": snapshot["cursor"]}) as events:
                first = await events.take(1)
            assert first[0].id is not None and first[0].id > snapshot["cursor"]


async def test_a_state_revisited_within_a_second_resumes_and_reads_once_each(
    redis: Redis,
) -> None:
    """An agent back in a state within one second: two poll events that shared one id.
    A browser resumed after the change between gets the second one once, and a group
    reader hands out every event, each id once."""
    events, _ = await revisits()
    stream = "web:revisits"
    lease = RedisLease(redis, stream, ttl=5.0)
    await lease.acquire()
    try:
        assert await RedisStreamRelay(redis, stream, lease=lease).publish(events) == len(events)
    finally:
        await lease.release()
    entry_ids = [entry_id for entry_id, _ in await stream_entries(redis, stream)]
    web = replica(redis, stream)
    async with web.lifespan():
        # Resumed after "call": the return to "wait" (events[3]) and all that follows.
        async with open_events(web, headers={"Last-Event-ID": entry_ids[2]}) as sse:
            frames = await sse.take(len(events) - 3)
    assert [frame.id for frame in frames] == entry_ids[3:]
    assert [json.loads(frame.data)["id"] for frame in frames] == [e.id for e in events[3:]]
    async with StreamReader(redis, stream, group="g", consumer="c", block=0.01) as reader:
        await reader.create_group()
        read = await reader.read()
    assert [entry.event for entry in read] == events
    assert len({entry.event.id for entry in read}) == len(events)


@each_protocol
async def test_lost_or_unknown_ids_reset_and_no_relay_means_unhealthy(redis: Redis) -> None:
    stream = "web:trimmed"
    for uid in range(1, 11):
        await redis.xadd(stream, log_entry(uid, "7", "wait", name="Ann"))
    ids = [entry_id for entry_id, _ in await stream_entries(redis, stream)]
    web = replica(redis, stream, retain=3)
    async with web.lifespan(), client_for(web) as http:
        async with open_events(web, headers={"Last-Event-ID": ids[2]}) as events:
            frames = await events.take(7)  # older than the window, still in Redis
            assert [f.id for f in frames] == ids[3:]
        await redis.xtrim(stream, maxlen=4, approximate=False)  # what MAXLEN does, in time
        for last_event_id, reason in ((ids[2], "expired"), ("99999999999999-0", "unknown")):
            async with open_events(web, headers={"Last-Event-ID": last_event_id}) as events:
                frame = await events.next()
                assert frame is not None and frame.event == "reset"
                assert json.loads(frame.data) == {"reason": reason}
        health = await http.get("/healthz")
        assert health.status_code == 503  # events are readable, but no relay leads
        assert health.json()["relay_leading"] is False


async def test_a_resume_before_the_window_reads_only_what_the_window_lacks(redis: Redis) -> None:
    # The window's own frames end the backlog; only the entries before it are read from
    # Redis, and only while they fit the browser's buffer. Every entry after the id was
    # decoded again, up to buffer + batch of them for a browser too far behind, just to
    # reset it: with many such browsers at once, that much memory for each.
    stream = "web:behind"
    for uid in range(1, 301):
        await redis.xadd(stream, log_entry(uid, "7", "wait"))
    ids = [entry_id for entry_id, _ in await stream_entries(redis, stream)]
    source = RedisStreamSource(redis, stream, block=0.02)
    web = wallboard_app(source, retain=5, buffer=8)
    decoded: list[str] = []
    decode = source._decode

    def counting(entries: Any) -> Any:
        decoded.extend(entry_id for entry_id, _ in entries)
        return decode(entries)

    async with web.lifespan():
        source._decode = counting  # type: ignore[method-assign]  # counts what is read
        async with open_events(web, headers={"Last-Event-ID": ids[-9]}) as events:
            frames = await events.take(8)  # 3 from Redis, then the window's 5
            assert [f.id for f in frames] == ids[-8:]
        assert decoded == ids[-8:-5]
        decoded.clear()
        async with open_events(web, headers={"Last-Event-ID": ids[0]}) as events:
            frame = await events.next()  # 299 events: more than the buffer holds
            assert frame is not None and frame.event == "reset"
            assert json.loads(frame.data) == {"reason": "expired"}
        assert decoded == ids[1:104]  # the room left (3), and one read's margin past it


@each_protocol
async def test_entries_the_relay_did_not_write_are_skipped_and_paging_goes_past_them(
    redis: Redis,
) -> None:
    stream = "web:paged"

    async def append(uid: int, status: str) -> None:
        await redis.xadd(stream, log_entry(uid, str(uid % 3), status))

    for uid in range(1, 8):
        await append(uid, "wait")
        if uid in (3, 6):
            await redis.xadd(stream, {"note": "not the relay's"})
            await redis.xadd(stream, {"event": b"\xff\xfe not UTF-8"})  # raised, source down
    web = wallboard_app(RedisStreamSource(redis, stream, block=0.02, batch=3))
    async with web.lifespan(), client_for(web) as http:
        snapshot = (await http.get("/snapshot")).json()
        assert sorted(a["agent_id"] for a in snapshot["agents"]) == ["0", "1", "2"]
        ids = [entry_id for entry_id, _ in await stream_entries(redis, stream)]
        assert snapshot["cursor"] == ids[-1]
        async with open_events(web, headers={"Last-Event-ID": "0-0"}) as events:
            frames = await events.take(7)  # read from Redis, three entries at a time
            assert [json.loads(f.data)["log_id"] for f in frames] == list(range(1, 8))
            await redis.xadd(stream, {"note": "not the relay's either"})
            await redis.xadd(stream, {"event": b"\xff not UTF-8 either"})
            await append(8, "call")
            (frame,) = await events.take(1)
            assert json.loads(frame.data)["log_id"] == 8


@each_protocol
async def test_a_decoding_client_skips_bytes_that_are_not_utf_8(
    redis: Redis, redis_url: str, request: pytest.FixtureRequest
) -> None:
    # A client made with decode_responses=True decoded each XRANGE/XREAD reply whole: an
    # entry another writer left with bytes that are not UTF-8 failed the seed and every
    # read after it, so the board never came up and no later event reached it.
    stream = "web:decoding"
    await redis.xadd(stream, {"event": b"\xff\xfe not UTF-8"})
    await redis.xadd(stream, log_entry(1, "1", "wait"))
    options = {**request.node.callspec.params["redis"], "decode_responses": True}
    clients = len(await redis.client_list())
    async with Redis.from_url(redis_url, **options) as decoding:
        web = wallboard_app(RedisStreamSource(decoding, stream, block=0.02))
        async with web.lifespan(), client_for(web) as http:
            snapshot = await http.get("/snapshot")
            assert snapshot.status_code == 200, snapshot.text
            assert [a["agent_id"] for a in snapshot.json()["agents"]] == ["1"]
            async with open_events(web) as events:
                await redis.xadd(stream, {"event": b"\xff not UTF-8 either"})
                await redis.xadd(stream, log_entry(2, "2", "call"))
                (frame,) = await events.take(1)
            assert json.loads(frame.data)["log_id"] == 2
        assert await decoding.ping()  # the caller's client: left open
    # the connections the source opened itself are closed with it
    await eventually(functools.partial(_clients_back, redis, clients), within=5)


async def _clients_back(redis: Redis, clients: int) -> bool:
    return len(await redis.client_list()) <= clients


async def test_a_replica_starts_while_redis_is_away_and_says_so_until_it_is_back(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A lifespan that waited for Redis would keep the server from starting, and from
    # stopping: uvicorn waits out a lifespan's startup whatever signal it gets.
    client = Redis.from_url(redis_url)
    away = anyio.Event()
    real_xrange = client.xrange

    async def xrange(*args: object, **kwargs: object) -> object:
        if not away.is_set():
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379.")
        return await real_xrange(*args, **kwargs)  # type: ignore[arg-type]  # passed through

    monkeypatch.setattr(client, "xrange", xrange)
    web = wallboard_app(RedisStreamSource(client, "web:away", block=0.02, retry=0.01))
    async with client:
        with anyio.fail_after(10):  # a guard against a hang, not a bound on how soon
            async with web.lifespan(), client_for(web) as http:
                health = await http.get("/healthz")
                assert health.status_code == 503
                assert health.json()["consecutive_failures"] >= 1
                refused = await http.get("/snapshot")
                assert refused.status_code == 503
                assert "/healthz" in refused.json()["error"]
                seeded = anyio.Event()
                web.board.on_change = seeded.set  # called when the board is seeded
                away.set()  # Redis is back
                await seeded.wait()
                assert (await http.get("/snapshot")).json()["cursor"] == "0-0"


async def test_a_redis_that_stops_answering_makes_the_replica_unhealthy(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stopped Redis (or a network that drops packets) raises nothing: the read just never
    # comes back, and /healthz said 200 for as long as it did not.
    client = Redis.from_url(redis_url)
    hung = anyio.Event()
    real_xread = client.xread

    async def xread(*args: object, **kwargs: object) -> object:
        if hung.is_set():
            await anyio.sleep_forever()
        return await real_xread(*args, **kwargs)  # type: ignore[arg-type]  # passed through

    async def exists(*keys: object) -> int:
        return 1  # a relay leads: only the reads can make the replica unhealthy

    monkeypatch.setattr(client, "xread", xread)
    monkeypatch.setattr(client, "exists", exists)
    source = RedisStreamSource(client, "web:hung", block=0.02, stalled_after=0.3)
    web = wallboard_app(source)
    async with client:
        with anyio.fail_after(5):
            async with web.lifespan(), client_for(web) as http:
                while (await http.get("/healthz")).status_code != 200:  # noqa: ASYNC110 -- polled over HTTP
                    await anyio.sleep(0.01)
                hung.set()
                await anyio.sleep(0.5)
                health = await http.get("/healthz")
                assert health.status_code == 503
                assert "no reply from Redis for " in health.json()["last_error"]


async def test_a_redis_that_does_not_answer_at_start_does_not_hold_up_the_lifespan(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stopped Redis (or a network that drops packets) at start: the first read never came
    # back, so the lifespan never started, and the server could neither serve nor stop.
    client = Redis.from_url(redis_url)
    hung = True
    real_xrange = client.xrange

    async def xrange(*args: object, **kwargs: object) -> object:
        if hung:
            await anyio.sleep_forever()
        return await real_xrange(*args, **kwargs)  # type: ignore[arg-type]  # passed through

    monkeypatch.setattr(client, "xrange", xrange)
    source = RedisStreamSource(client, "web:mute", block=0.02, retry=0.01, stalled_after=0.2)
    web = wallboard_app(source)
    async with client:
        with anyio.fail_after(10):  # a guard against a hang, not a bound on how soon
            async with web.lifespan(), client_for(web) as http:
                health = await http.get("/healthz")
                assert health.status_code == 503
                assert health.json()["last_error"].startswith("TimeoutError: no reply from Redis")
                assert (await http.get("/snapshot")).status_code == 503
                seeded = anyio.Event()
                web.board.on_change = seeded.set  # called when the board is seeded
                hung = False  # Redis answers again
                await seeded.wait()
                assert (await http.get("/snapshot")).json()["cursor"] == "0-0"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("block", float("nan")),
        ("block", float("inf")),
        ("retry", float("nan")),
        ("retry", -1.0),
        ("stalled_after", float("nan")),
        ("stalled_after", 0.0),
        ("stalled_after", 0.5),  # under block: every quiet read would count as failing
    ],
)
def test_source_times_must_be_finite_seconds(option: str, value: float) -> None:
    # Accepted, NaN ended the source's task at its first read (block) or first failure (retry).
    with pytest.raises(ValueError, match=option):
        RedisStreamSource("redis://127.0.0.1:1/0", **{option: value})  # type: ignore[arg-type]  # a float option


@pytest.mark.parametrize("batch", [0, 2.5, float("nan"), float("inf"), True])
def test_a_source_s_batch_must_be_a_whole_number(batch: float) -> None:
    # Accepted, 2.5 or NaN went out as XRANGE's COUNT, which Redis refuses: every read
    # failed, retried for ever (True read one entry a time).
    with pytest.raises(ValueError, match=rf"^batch must be a whole number >= 1, got {batch!r}$"):
        RedisStreamSource("redis://127.0.0.1:1/0", batch=batch)  # type: ignore[arg-type]  # a float


@pytest.mark.parametrize(
    "url",
    [
        "redis://:hunter-two@127.0.0.1:6379/0?socket_timeout=abc",
        "redis://:hunter#two@127.0.0.1:6379/0",  # the host ends at the '#', in the password
        "redis://default:hunter-two/0",  # no '@': the password stands where the port goes
    ],
)
def test_a_redis_url_that_does_not_parse_is_refused_without_its_password(url: str) -> None:
    # Taken as it was, it failed in the lifespan with redis-py's message, which quotes
    # what stands where the port goes: "Port could not be cast to integer value as
    # 'hunter'", a piece of the password, in the traceback the server prints.
    with pytest.raises(ValueError, match="redis") as raised:
        RedisStreamSource(url, "contactnow:agents")
    assert "hunter" not in str(raised.value)
    assert raised.value.__suppress_context__


async def test_an_entry_whose_text_does_not_encode_as_utf_8_is_served_escaped(
    redis: Redis,
) -> None:
    # Valid JSON with an escaped lone surrogate ("\ud800") decodes to a str that has no
    # UTF-8: the entry's frame raised UnicodeEncodeError, which ended the source's task,
    # and with it the wallboard's lifespan, at the seed or at the first read after it.
    stream = "web:surrogate"

    async def append(uid: int, name: str) -> None:
        await redis.xadd(stream, log_entry(uid, str(uid), "wait", name=name))

    await append(1, "\ud800Ann")  # read by the seed
    web = wallboard_app(RedisStreamSource(redis, stream, block=0.02))
    async with web.lifespan(), client_for(web) as http:
        snapshot = await http.get("/snapshot")
        assert snapshot.status_code == 200
        assert [a["name"] for a in snapshot.json()["agents"]] == ["\ud800Ann"]
        async with open_events(web) as events:
            await append(2, "\ud800Bo")  # read by the follow
            await append(3, "Cy")
            frames = await events.take(2)
        assert [json.loads(f.data)["after"]["name"] for f in frames] == ["\ud800Bo", "Cy"]
        assert b"\\ud800Bo" in frames[0].data.encode()


async def test_a_replica_whose_position_was_trimmed_away_resets_its_browsers(
    redis: Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A replica whose read stalled (GC, SIGSTOP, the network) while the relay's MAXLEN
    # trimmed the entries after its position read on from what was left: a connected
    # browser, and one resuming from its last id, got 1, 2, 3 then 16 to 20, with no reset.
    stream = "web:behind"

    async def append(uid: int) -> None:
        await redis.xadd(stream, log_entry(uid, str(uid % 4), f"s{uid}"))

    for uid in range(1, 4):
        await append(uid)
    client = Redis.from_url(redis_url)
    hold, held, release = False, anyio.Event(), anyio.Event()
    real_xread = client.xread

    async def xread(*args: object, **kwargs: object) -> object:
        if hold and not release.is_set():
            held.set()
            await release.wait()
        return await real_xread(*args, **kwargs)  # type: ignore[arg-type]  # passed through

    monkeypatch.setattr(client, "xread", xread)
    web = wallboard_app(RedisStreamSource(client, stream, block=0.02))
    async with client, web.lifespan(), client_for(web) as http:
        async with open_events(web, headers={"Last-Event-ID": "0-0"}) as events:
            frames = await events.take(3)
            hold = True
            await held.wait()  # the replica's next read has not reached Redis
            for uid in range(4, 21):
                await append(uid)
            await redis.xtrim(stream, maxlen=5, approximate=False)  # 16 to 20 are left
            release.set()
            frame = await events.next()
            assert frame is not None and frame.event == "reset", frame
            assert json.loads(frame.data) == {"reason": "expired"}
        snapshot = (await http.get("/snapshot")).json()
        entries = await stream_entries(redis, stream)
        assert snapshot["cursor"] == entries[-1][0]  # the retained stream, read again
        statuses = {a["agent_id"]: a["status"] for a in snapshot["agents"]}
        assert statuses == {"0": "s20", "1": "s17", "2": "s18", "3": "s19"}  # not s1 for "1"
        async with open_events(web, headers={"Last-Event-ID": frames[-1].id or ""}) as events:
            frame = await events.next()
            assert frame is not None and frame.event == "reset", frame
            assert json.loads(frame.data) == {"reason": "expired"}


@pytest.mark.parametrize("how", ["password", "password-on-a-unix-socket", "acl-user"])
async def test_a_refused_redis_user_stops_the_wallboard_for_good(
    redis: Redis, redis_url: str, redis_socket: Path, how: str
) -> None:
    # No outage to wait out: it was retried for ever (over a unix socket redis-py raises
    # the refusal as a ConnectionError caused by it), /healthz naming a failed read.
    url = {
        "password": redis_url.replace("redis://", "redis://nobody:s3cret@"),
        "password-on-a-unix-socket": f"unix://nobody:s3cret@{redis_socket}",
        "acl-user": redis_url.replace("redis://", "redis://board:s3cret@"),
    }[how]
    await redis.acl_setuser("board", enabled=True, passwords=["+s3cret"], keys=["*"],
                            commands=["+@all", "-xrange"])  # fmt: skip
    source = RedisStreamSource(url, "web:refused", block=0.02, retry=0.01)
    web = wallboard_app(source)
    try:
        with anyio.fail_after(10):  # a guard against a hang, not a bound on how soon
            async with web.lifespan(), client_for(web) as http:
                assert web.board.stopped
                refused = RedisAuthenticationError if how != "acl-user" else NoPermissionError
                assert isinstance(source.refusal, refused)
                health = await http.get("/healthz")
                assert health.status_code == 503
                assert health.json()["last_error"].startswith(refused.__name__)
                assert health.json()["consecutive_failures"] == 1  # not retried
                assert "s3cret" not in health.text
                reply = await http.get("/snapshot")
                assert reply.status_code == 503
                assert "stopped" in reply.json()["error"]
    finally:
        await redis.acl_deluser("board")


async def test_a_redis_user_refused_mid_stream_ends_the_streams(
    redis: Redis, redis_url: str
) -> None:
    # An ACL user whose rights were taken away while the wallboard ran: every read was
    # refused and retried, the browsers' streams open over a board frozen for ever.
    await redis.acl_setuser("board", enabled=True, passwords=["+s3cret"], keys=["*"],
                            commands=["+@all"])  # fmt: skip
    url = redis_url.replace("redis://", "redis://board:s3cret@")
    web = wallboard_app(RedisStreamSource(url, "web:revoked", block=0.02, retry=0.01))
    try:
        with anyio.fail_after(10):  # a guard against a hang, not a bound on how soon
            async with web.lifespan(), client_for(web) as http:
                async with open_events(web) as events:
                    await redis.acl_setuser("board", commands=["-xread"])
                    while await events.next() is not None:  # ends, as at a shutdown
                        pass
                health = await http.get("/healthz")
                assert health.status_code == 503
                assert health.json()["last_error"].startswith("NoPermissionError")
                assert (await http.get("/snapshot")).status_code == 503
    finally:
        await redis.acl_deluser("board")


async def test_a_read_that_never_comes_back_is_given_up_and_tried_again(
    redis: Redis, redis_url: str
) -> None:
    # A Redis that stopped answering, its connection left open (SIGSTOP, a partition), and
    # a client without a socket timeout (redis-py's default before 8): /healthz said the
    # read had stalled, but it was never given up, so the replica never read again.
    stream = "web:stalled"
    async with stalling(redis_url) as stall:
        client = Redis.from_url(stall.url, socket_timeout=None, socket_connect_timeout=None)
        source = RedisStreamSource(client, stream, block=0.02, retry=0.01, stalled_after=0.3)
        web = wallboard_app(source)
        async with client:
            with anyio.fail_after(10):  # a guard against a hang, not a bound on how soon
                async with web.lifespan(), client_for(web) as http:
                    async with open_events(web, headers={"Last-Event-ID": "0-0"}) as events:
                        stall.stop()
                        while (await http.get("/healthz")).json()["consecutive_failures"] < 1:  # noqa: ASYNC110 -- polled over HTTP
                            await anyio.sleep(0.01)
                        await redis.xadd(stream, log_entry(1, "7", "wait"))
                        stall.resume()
                        (frame,) = await events.take(1)  # read again, and on
                    assert json.loads(frame.data)["log_id"] == 1
