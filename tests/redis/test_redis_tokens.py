"""RedisTokenStore against a real redis-server: one token between processes."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from typing import Any

import anyio
import httpx
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from contactnow_async import ContactNow, Token
from contactnow_async.redis import RedisTokenStore
from contactnow_async.redis._tokens import RELEASE_WAIT
from contactnow_async.simulator import Simulator, serve
from tests._helpers import AGENT_ROW, FakeAPI, agents_list, client_for, exception_texts

from .conftest import (
    REPO,
    cancel_while_stopped,
    each_protocol,
    lose_first_reply,
    text,
)

pytestmark = [pytest.mark.redis, pytest.mark.anyio]


def start_tokens_process(redis_url: str, base_url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.redis._procs", "tokens", redis_url, base_url],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def communicate(process: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    return process.communicate(timeout=30)


@pytest.mark.slow
async def test_four_cold_processes_make_one_token_request(redis: Redis, redis_url: str) -> None:
    sim = Simulator(username="demo", password="demo", agents=5, seed=3)
    async with serve(sim) as base_url:
        processes = [start_tokens_process(redis_url, base_url) for _ in range(4)]
        try:
            with anyio.fail_after(20):  # each process pushes "ready" as it waits for "go"
                ready = 0
                while ready < len(processes):
                    # A second a wait, under redis-py's socket timeout (5 s from version 8),
                    # which four cold interpreters starting on a loaded machine outlasted.
                    ready += await redis.blpop(["test:ready"], timeout=1) is not None
            await redis.rpush("test:go", *["go"] * 4)  # all four start their calls at once
            outputs = [await anyio.to_thread.run_sync(communicate, p) for p in processes]
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
    for process, (_out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err.decode()
    fetches = [json.loads(out)["fetches"] for out, _ in outputs]
    assert sim.stats.token_gets == 1
    assert sorted(fetches) == [0, 0, 0, 1]
    assert sim.stats.count("ajax", "agents", "read") == 20


@each_protocol
async def test_a_refused_token_is_replaced_once_for_all(redis: Redis) -> None:
    sim = Simulator(username="demo", password="demo", agents=3, seed=3)
    async with serve(sim) as base_url:
        clients = [
            ContactNow(
                username="demo",
                password="demo",
                base_url=base_url,
                token_store=RedisTokenStore(redis, egress="one-address"),
            )
            for _ in range(4)
        ]
        try:
            for client in clients:
                await client.live.agents()
            assert sim.stats.token_gets == 1
            sim.expire_tokens()
            async with anyio.create_task_group() as group:
                for client in clients:
                    group.start_soon(client.live.agents)
            assert sim.stats.token_gets == 2
        finally:
            for client in clients:
                await client.aclose()


async def test_egress_addresses_never_share_a_token(redis: Redis) -> None:
    sim = Simulator(username="demo", password="demo", agents=3, seed=3)
    async with serve(sim) as base_url:
        for egress in ("host-a", "host-b", "host-a"):
            store = RedisTokenStore(redis, egress=egress)
            async with ContactNow(
                username="demo", password="demo", base_url=base_url, token_store=store
            ) as client:
                await client.live.agents()
    assert sim.stats.token_gets == 2
    keys = sorted(text(key) for key in await redis.keys("contactnow:token:*"))
    assert keys == [
        f"contactnow:token:host-a|{base_url}|demo",
        f"contactnow:token:host-b|{base_url}|demo",
    ]


@each_protocol
async def test_store_round_trip_and_compare_and_delete(redis: Redis) -> None:
    store = RedisTokenStore(redis, egress="e", prefix="t:")
    token = Token(value="a" * 40, expires_ts=4_000_000_000, clock_offset=-1.5)
    assert await store.load("k") is None
    await store.save("k", token)
    assert await store.load("k") == token
    assert await redis.ttl("t:e|k") > 0
    await store.delete("k", Token(value="b" * 40, expires_ts=4_000_000_000))
    assert await store.load("k") == token  # another token: not ours to delete
    await store.delete("k", token)
    assert await store.load("k") is None
    assert "a" * 40 not in repr(store)


@each_protocol
async def test_a_damaged_entry_is_no_token_and_the_next_save_replaces_it(redis: Redis) -> None:
    store = RedisTokenStore(redis, egress="e", prefix="t:")
    await redis.hset("t:e|k", mapping={"value": b"\xff\xfe", "expires_at": "9999999999"})
    assert await store.load("k") is None  # raised UnicodeDecodeError, for every request
    token = Token(value="a" * 40, expires_ts=4_000_000_000)
    await store.save("k", token)
    assert await store.load("k") == token


@each_protocol
async def test_a_damaged_entry_is_no_token_to_a_client_that_decodes_responses(
    redis: Redis, redis_url: str, request: pytest.FixtureRequest
) -> None:
    # A client with decode_responses=True decoded the reply itself, strictly: the damaged
    # entry raised UnicodeDecodeError at every request until it expired.
    options = {**request.node.callspec.params["redis"], "decode_responses": True}
    async with Redis.from_url(redis_url, **options) as decoding:
        store = RedisTokenStore(decoding, egress="e", prefix="t:")
        await redis.hset("t:e|k", mapping={"value": b"\xff\xfe", "expires_at": "9999999999"})
        assert await store.load("k") is None
        token = Token(value="a" * 40, expires_ts=4_000_000_000)
        await store.save("k", token)
        assert await store.load("k") == token


async def test_a_key_of_another_type_is_no_token_and_the_next_save_replaces_it(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    # Another tool's JSON string under the key: every API call raised a bare WRONGTYPE,
    # naming no key, for as long as the key lived (no expiry: for ever).
    store = RedisTokenStore(redis, egress="e", prefix="t:")
    await redis.set("t:e|k", '{"value": "a')
    assert await store.load("k") is None
    assert "'t:e|k' holds a string" in caplog.text
    token = Token(value="a" * 40, expires_ts=4_000_000_000)
    await store.save("k", token)
    assert await store.load("k") == token


@each_protocol
@pytest.mark.parametrize("field", ["value", "clock_offset"])
async def test_an_entry_of_megabytes_is_no_token_and_is_not_sent_whole(
    redis: Redis, field: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A damaged or hostile entry of 2 MiB was read whole at every load, its value then
    # sent as the token (until refused) with every request.
    store = RedisTokenStore(redis, egress="e", prefix="t:")
    await redis.hset(
        "t:e|k", mapping={"value": "a" * 40, "expires_at": "4000000000", field: "1" * 2**21}
    )
    sent_before = (await redis.info("stats"))["total_net_output_bytes"]
    assert await store.load("k") is None
    assert (await redis.info("stats"))["total_net_output_bytes"] - sent_before < 2**16
    assert "'t:e|k'" in caplog.text and "2097152 bytes" in caplog.text
    token = Token(value="a" * 40, expires_ts=4_000_000_000)
    await store.save("k", token)
    assert await store.load("k") == token


@pytest.mark.parametrize(
    "entry",
    [
        {"expires_at": "1" + "0" * 30},
        {"expires_at": "2000000000", "clock_offset": "-inf"},
        {"expires_at": "2000000000", "clock_offset": "nan"},
        {"expires_at": "2000000000", "clock_offset": "1e300"},
    ],
    ids=["10**30", "offset-minus-inf", "offset-nan", "offset-1e300"],
)
async def test_an_entry_whose_times_are_out_of_range_is_no_token(
    redis: Redis, entry: dict[str, str]
) -> None:
    # As FileTokenStore has it: an entry another tool wrote was a token fresh forever
    # (sent until refused) whose expires_at raised OverflowError when shown.
    store = RedisTokenStore(redis, egress="e", prefix="t:")
    for field, value in {"value": "a" * 40, **entry}.items():
        await redis.hset("t:e|k", field, value)
    assert await store.load("k") is None


@each_protocol
async def test_lock_waits_for_its_holder_and_times_out(redis: Redis) -> None:
    # Waiting for the holder: a guard of 10 s, not a bound (with lock_wait=0.2 s, a
    # loaded machine that ran the holder's 0.05 s and its release late timed it out).
    store = RedisTokenStore(redis, egress="e", lock_wait=10)
    impatient = RedisTokenStore(redis, egress="e", lock_wait=0.2)
    order: list[str] = []

    async def second() -> None:
        async with store.lock("k"):
            order.append("second")

    async with anyio.create_task_group() as group, store.lock("k"):
        group.start_soon(second)
        await anyio.sleep(0.05)
        order.append("first")
    assert order == ["first", "second"]
    async with store.lock("k"):
        with pytest.raises(TimeoutError, match="another process"):
            async with impatient.lock("k"):
                pass  # pragma: no cover -- never entered


@pytest.mark.parametrize("kind", ["string", "hash"])
async def test_a_lock_key_that_never_expires_is_taken_over(
    redis: Redis, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    # No holder leaves a lock without an expiry (another program's key, one set by hand):
    # every process waited lock_wait (2 minutes) for it at every token fetch, for ever, and
    # then failed its call saying the lock "expires on its own".
    store = RedisTokenStore(redis, egress="e", prefix="t:", lock_wait=0.5)
    if kind == "string":
        await redis.set("t:e|k:lock", "someone")
    else:
        await redis.hset("t:e|k:lock", "holder", "someone")
    with caplog.at_level("WARNING", logger="contactnow_async.redis"), anyio.fail_after(10):
        async with store.lock("k"):
            assert 0 < await redis.pttl("t:e|k:lock") <= 60_000  # ours now, and it expires
    assert not await redis.exists("t:e|k:lock")  # and freed
    assert any("never expires" in r.getMessage() for r in caplog.records)


async def test_the_lock_outlives_lock_ttl_while_its_fetch_runs(redis: Redis) -> None:
    # A fetch may take the client's whole call deadline (110 s by default: three 30 s
    # attempts and their backoff), past lock_ttl (60 s): the lock expired under a slow
    # fetch, and the processes waiting for it fetched a token each after all.
    store = RedisTokenStore(redis, egress="e", prefix="t:", lock_ttl=0.6)
    async with store.lock("k"):
        await anyio.sleep(1.5)  # the fetch, slower than lock_ttl
        assert await redis.exists("t:e|k:lock")  # still held: renewed
    assert not await redis.exists("t:e|k:lock")  # and freed


@pytest.mark.parametrize("option", ["lock_ttl", "lock_wait"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), 0])
def test_store_times_must_be_finite_positive_seconds(option: str, value: float) -> None:
    redis = Redis.from_url("redis://127.0.0.1:1/0")  # never connected: only the check runs
    with pytest.raises(ValueError, match="lock_ttl and lock_wait"):
        RedisTokenStore(redis, **{option: value})  # type: ignore[arg-type]  # a float option


def test_a_trio_client_is_told_the_store_runs_on_asyncio_only() -> None:
    # The README's shared token, in a trio program: every call failed inside redis-py with
    # asyncio's "no running event loop", which named neither the store nor what to use.
    redis = Redis.from_url("redis://127.0.0.1:1/0")  # never connected: refused before
    store = RedisTokenStore(redis, egress="e")
    api = FakeAPI({("database", "agents", "read"): agents_list(AGENT_ROW)})
    cn, http = client_for(api, token_store=store)

    async def read() -> None:
        async with http, cn:
            await cn.agents.read()

    with pytest.raises(RuntimeError, match="RedisTokenStore runs on asyncio only") as info:
        anyio.run(read, backend="trio")
    assert "FileTokenStore" in str(info.value)
    assert api.token_gets == 0  # refused before token.php too

    async def each_method() -> None:
        token = Token("t" * 40, 2_000_000_000)
        with pytest.raises(RuntimeError, match="asyncio only"):
            await store.load("k")
        with pytest.raises(RuntimeError, match="asyncio only"):
            await store.save("k", token)
        with pytest.raises(RuntimeError, match="asyncio only"):
            await store.delete("k", token)
        with pytest.raises(RuntimeError, match="asyncio only"):
            async with store.lock("k"):
                pass  # pragma: no cover -- refused before

    anyio.run(each_method, backend="trio")


async def test_a_cancelled_fetch_does_not_hang_on_a_redis_that_stopped_answering(
    own_redis: tuple[str, subprocess.Popen[bytes]],
) -> None:
    # The lock is released shielded (a cancelled holder still frees it), but a Redis that
    # stopped answering is waited for at most lock_ttl: the lock expires by then anyway.
    url, server = own_redis
    ended: list[float] = []
    async with Redis.from_url(url) as redis:
        store = RedisTokenStore(redis, lock_ttl=1.0)
        async with anyio.create_task_group() as group:
            holding = anyio.Event()

            async def fetch() -> None:
                try:
                    async with store.lock("k"):
                        holding.set()
                        await anyio.sleep_forever()
                finally:
                    ended.append(time.monotonic())

            group.start_soon(fetch)
            await holding.wait()
            took = await cancel_while_stopped(server, group, ended)
    assert took < 4, "the cancelled fetch waited for Redis to answer again"


async def test_a_token_fetched_as_redis_went_down_is_used_not_thrown_away(
    own_redis: tuple[str, subprocess.Popen[bytes]], caplog: pytest.LogCaptureFixture
) -> None:
    # Redis died while token.php answered: the save failing was logged ("used from
    # memory"), but freeing the lock raised, so the call failed and the token was lost.
    url, server = own_redis
    api = FakeAPI({("database", "agents", "read"): agents_list(AGENT_ROW)})
    asked = api._token

    async def redis_dies(request: httpx.Request) -> httpx.Response:
        server.kill()
        server.wait()
        return await asked(request)

    api._token = redis_dies  # type: ignore[method-assign]  # wrap the fake's token endpoint
    async with Redis.from_url(url) as redis:
        cn, http = client_for(api, token_store=RedisTokenStore(redis, egress="e"))
        async with http, cn:
            await cn.agents.read()
            await cn.agents.read()
    assert api.token_gets == 1
    assert api.calls("database", "agents", "read") == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("could not free the token lock" in warning for warning in warnings)


async def test_a_lock_ttl_under_a_millisecond_still_locks(redis: Redis) -> None:
    # 0.0005 s was sent as PX 0, which Redis refuses ("invalid expire time"): whole
    # milliseconds, at least one.
    store = RedisTokenStore(redis, lock_ttl=0.0005)
    async with store.lock("k"):
        pass


async def test_a_fetch_cancelled_as_it_takes_the_lock_leaves_it_free(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Redis took the lock and the cancellation came before its reply (a stopped Redis
    # woken after the cancel does the same): nobody held the lock, and every process waited
    # out its lock_ttl (a minute) for the token.
    store = RedisTokenStore(redis, egress="e")
    taken = lose_first_reply(monkeypatch, redis, "evalsha")  # the script that takes it

    async def fetch() -> None:
        async with store.lock("k"):
            pass  # pragma: no cover -- cancelled before

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(fetch)
            await taken.wait()
            group.cancel_scope.cancel()
    assert await redis.exists(store.redis_key("k") + ":lock") == 0


async def test_a_client_whose_redis_is_down_goes_on_with_a_token_of_its_own(
    own_redis: tuple[str, subprocess.Popen[bytes]], caplog: pytest.LogCaptureFixture
) -> None:
    # Every call failed with redis-py's ConnectionError while Redis was down.
    url, server = own_redis
    server.kill()
    server.wait()
    api = FakeAPI({("database", "agents", "read"): agents_list(AGENT_ROW)})
    async with Redis.from_url(url) as redis:
        cn, http = client_for(api, token_store=RedisTokenStore(redis, egress="e"))
        async with http, cn:
            async with anyio.create_task_group() as group:
                for _ in range(5):
                    group.start_soon(cn.agents.read)
            await cn.agents.read()
    assert api.token_gets == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert warnings[0].startswith("the token store could not be read (ConnectionError: ")


async def test_a_save_redis_refuses_does_not_quote_the_token(redis: Redis, redis_url: str) -> None:
    # redis-py quotes the command of a transaction that Redis refused in its error: an ACL
    # user without HSET got "Command # 2 (HSET <key> value <the token> expires_at ...)".
    user = f"no-hset-{secrets.token_hex(4)}"
    await redis.acl_setuser(
        user, enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all", "-hset"]
    )
    token = Token("opaque-token-value", 2_000_000_000)
    try:
        async with Redis.from_url(redis_url, username=user, password="pw") as limited:
            with pytest.raises(RedisError) as info:
                await RedisTokenStore(limited, egress="e").save("k", token)
    finally:
        await redis.acl_deluser(user)
    assert "HSET" in str(info.value)  # it still says which command was refused
    assert "no permissions" in str(info.value)
    assert not [text for text in exception_texts(info.value) if token.value in text]


@pytest.mark.parametrize("cancelled", ["holding the lock", "taking the lock"])
async def test_closing_a_client_waits_seconds_not_lock_ttl_to_free_the_token_lock(
    redis: Redis, monkeypatch: pytest.MonkeyPatch, cancelled: str
) -> None:
    """aclose() ends the fetch and waits for it, and so for its lock's release (shielded):
    bounded by RELEASE_WAIT, not by lock_ttl (a minute), which a Redis that stopped
    answering would hold a closing client for. The lock expires on its own by then."""
    from tests.test_tokens import _a_call_that_stops_waiting, _hanging_token_php

    store = RedisTokenStore(redis, prefix=f"t{secrets.token_hex(4)}:")  # lock_ttl: 60 s
    time_left: list[float] = []
    release_lock, take_lock = store._release_lock, store._take_lock

    async def release_timed(**kwargs: Any) -> Any:
        time_left.append(anyio.current_effective_deadline() - anyio.current_time())
        return await release_lock(**kwargs)

    api = FakeAPI({("database", "agents", "read"): agents_list(AGENT_ROW)})
    fetching, ended = _hanging_token_php(api)

    async def taken_reply_lost(**kwargs: Any) -> Any:
        await take_lock(**kwargs)  # Redis took the lock; its reply does not come back
        fetching.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")  # pragma: no cover -- sleep_forever never returns

    monkeypatch.setattr(store, "_release_lock", release_timed)
    if cancelled == "taking the lock":
        monkeypatch.setattr(store, "_take_lock", taken_reply_lost)
    cn, http = client_for(api, token_store=store)
    async with http:
        await _a_call_that_stops_waiting(cn, fetching)  # the fetch goes on, in the lock
        await cn.aclose()
    assert ended == (["cancelled"] if cancelled == "holding the lock" else [])
    assert len(time_left) == 1
    assert 0 < time_left[0] <= RELEASE_WAIT < store.lock_ttl
