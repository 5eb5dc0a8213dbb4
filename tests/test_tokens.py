"""The token manager: single flight, proactive and reactive refresh, stores."""

from __future__ import annotations

import builtins
import contextlib
import errno
import gc
import importlib
import json
import logging
import os
import secrets
import stat
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import attrs
import httpx
import pytest
import sniffio

from contactnow_async import (
    APIError,
    AuthenticationError,
    ContactNow,
    FileTokenStore,
    MemoryTokenStore,
    Token,
    TokenError,
    TokenStore,
    TransportError,
    VirtualClock,
)
from contactnow_async._tokens import TokenManager, TokenTimeout
from contactnow_async.simulator import Simulator
from tests._helpers import (
    AGENT_ROW,
    BASE_URL,
    PASSWORD,
    USERNAME,
    FakeAPI,
    agents_list,
    client_for,
    json_reply,
    script_of,
)
from tests.test_ecnow import xml_body

pytestmark = pytest.mark.anyio

READ = ("database", "agents", "read")


async def _many_reads(cn_read: object, count: int) -> list[object]:
    results: list[object] = []

    async def one() -> None:
        results.append(await cn_read())  # type: ignore[operator]  # a bound coroutine method

    async with anyio.create_task_group() as tg:
        for _ in range(count):
            tg.start_soon(one)
    return results


async def leader_cancelled(
    cn: ContactNow,
    *,
    leading: anyio.Event,
    waiters: int,
    cancel_when: Callable[[], Awaitable[object]],
) -> tuple[bool, int]:
    """A leader's ``agents.read()``; once ``leading`` is set, ``waiters`` more calls; the
    leader cancelled when ``cancel_when()`` returns. Whether the cancel caught it there,
    and how many waiters' calls got through."""
    done: list[int] = []

    async def waiter() -> None:
        await cn.agents.read()
        done.append(1)

    leader_scope = anyio.CancelScope()

    async def leader() -> None:
        with leader_scope:
            await cn.agents.read()

    with anyio.fail_after(30):  # a hang guard, not a timing assertion
        async with anyio.create_task_group() as tg:
            tg.start_soon(leader)
            await leading.wait()
            for _ in range(waiters):
                tg.start_soon(waiter)
            await cancel_when()
            leader_scope.cancel()
    return leader_scope.cancelled_caught, len(done)


async def test_a_thousand_concurrent_reads_on_a_cold_client_fetch_one_token() -> None:
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api)
    async with http, cn:
        results = await _many_reads(cn.agents.read, 1000)
    assert len(results) == 1000
    assert api.token_gets == 1
    assert api.calls("database", "agents", "read") == 1000
    assert cn.tokens.fetches == 1


async def test_an_expiry_mid_run_makes_exactly_one_refresh() -> None:
    reads = 0

    def route(request: httpx.Request) -> dict[str, object]:
        nonlocal reads
        reads += 1
        if reads == 150:
            api.expire_all()  # the server forgets the token while 350 calls are under way
        return {"success": True, "total": 1, "list": [AGENT_ROW]}

    api = FakeAPI({READ: route})
    cn, http = client_for(api)
    async with http, cn:
        assert len(await _many_reads(cn.agents.read, 500)) == 500
        assert api.token_gets == 2  # the first, and exactly one refresh
        old = api.issued[0]
        refused = [r for r in api.requests if r.url.params.get("token") == old]
        assert len(refused) > 150  # the expiry really hit calls in flight
        # A forced expiry between two bursts: again exactly one refresh.
        api.expire_all()
        assert len(await _many_reads(cn.agents.read, 500)) == 500
        assert api.token_gets == 3


def _traceback_depth(error: BaseException) -> int:
    depth, tb = 0, error.__traceback__
    while tb is not None:
        depth, tb = depth + 1, tb.tb_next
    return depth


async def test_a_failing_token_fetch_is_shared_by_every_waiter() -> None:
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    api.fail_token_get = lambda: json_reply({"success": False, "error": "Service down"})
    cn, http = client_for(api, max_retries=0)
    errors: list[BaseException] = []

    async def one() -> None:
        try:
            await cn.agents.read()
        except APIError as exc:
            errors.append(exc)

    async with http, cn:
        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(one)
        assert api.token_gets == 1
        assert len(errors) == 50
        assert all("Service down" in str(error) for error in errors)
        # Each waiter has its own exception, chained from the leader's: one object
        # re-raised by 49 tasks would grow its traceback with every raise.
        assert len({id(error) for error in errors}) == 50
        assert all(type(error) is APIError for error in errors)
        shared = [error for error in errors if error.__cause__ is None]
        assert len(shared) == 1
        assert all(error.__cause__ is shared[0] for error in errors if error is not shared[0])
        depths = {_traceback_depth(error) for error in errors if error is not shared[0]}
        assert len(depths) == 1  # the same short traceback for every waiter
        # The failure is not cached: the next call tries again, and succeeds.
        api.fail_token_get = None
        assert len(await cn.agents.read()) == 1
        assert api.token_gets == 2


#: ExceptionGroup: a builtin from Python 3.11, the backport anyio requires before it.
_GROUP: Any = (
    getattr(builtins, "ExceptionGroup", None)
    or importlib.import_module("exceptiongroup").ExceptionGroup
)


class _StoreThatFails(MemoryTokenStore):
    """A store whose load (or only its save) fails with ``error`` (an unreadable or
    unwritable file, a store's task group)."""

    def __init__(self, error: BaseException, *, load: bool = True) -> None:
        super().__init__()
        self.error = error
        self.fail_load = load

    async def load(self, key: str) -> Token | None:
        if self.fail_load:
            await anyio.lowlevel.checkpoint()  # the other callers join the flight meanwhile
            raise self.error
        return await super().load(key)

    async def save(self, key: str, token: Token) -> None:
        raise self.error


_ERRORS = pytest.mark.parametrize(
    "error",
    [
        PermissionError(13, "Permission denied", "/etc/tokens.json"),
        _GROUP("the store failed", [OSError(28, "No space left on device")]),
        UnicodeEncodeError("ascii", "tök", 1, 2, "ordinal not in range(128)"),
    ],
    ids=["oserror", "exception-group", "unicode-error"],
)


@_ERRORS
async def test_each_waiter_gets_a_faithful_copy_of_any_failure(error: Exception) -> None:
    """Not only ContactNowErrors: a copy says what the original says, of the same type."""
    fetches = 0

    async def fetch() -> Token:
        nonlocal fetches
        fetches += 1
        await anyio.lowlevel.checkpoint()  # the other callers join the flight meanwhile
        raise error

    manager = TokenManager(fetch, store=MemoryTokenStore(), key="k", clock=VirtualClock())
    errors: list[BaseException] = []

    async def one() -> None:
        try:
            await manager.token()
        except Exception as exc:  # what each waiter gets is the test
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(one)
    assert fetches == 1
    assert len({id(found) for found in errors}) == 5
    assert {(type(found), str(found)) for found in errors} == {(type(error), str(error))}


class _StoreDown(MemoryTokenStore):
    """A store shared between processes (it has a lock) that fails every call with
    ``error`` while ``down`` (Redis down, a token file's disk gone)."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error
        self.down = True
        self.locked = 0

    def _answer(self) -> None:
        if self.down:
            raise self.error

    async def load(self, key: str) -> Token | None:
        await anyio.lowlevel.checkpoint()  # the other callers join the flight meanwhile
        self._answer()
        return await super().load(key)

    async def save(self, key: str, token: Token) -> None:
        self._answer()
        await super().save(key, token)

    async def delete(self, key: str, token: Token) -> None:
        self._answer()
        await super().delete(key, token)

    @contextlib.asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        self._answer()
        self.locked += 1
        yield


def _levels(caplog: pytest.LogCaptureFixture, level: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == level]


@_ERRORS
async def test_a_store_that_is_down_degrades_to_a_token_of_this_process(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    """Its load failed every call (one token.php call each, none made): now the calls go
    on with one token this process fetches, warned once, and the store is used again
    once it answers."""
    caplog.set_level(logging.INFO, logger="contactnow_async")
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    store = _StoreDown(error)
    cn, http = client_for(api, token_store=store)
    async with http, cn:
        await _many_reads(cn.agents.read, 5)
        assert api.token_gets == 1  # single flight still
        api.expire_all()
        await cn.agents.read()  # a second refresh in the same outage: not warned again
        assert api.token_gets == 2
        assert store.locked == 0
        (warning,) = _levels(caplog, "WARNING")
        assert warning.startswith(f"the token store could not be read ({type(error).__name__}")
        assert "uses a token of its own" in warning
        store.down = False
        api.expire_all()
        await cn.agents.read()  # the store answers: its lock taken, the token kept there
        assert (api.token_gets, store.locked) == (3, 1)
        assert any("answers again" in info for info in _levels(caplog, "INFO"))
    cn2, http2 = client_for(api, token_store=store)
    async with http2, cn2:
        await cn2.agents.read()
    assert api.token_gets == 3  # the second client read the token from the store
    assert len(_levels(caplog, "WARNING")) == 1


async def test_a_store_that_is_down_on_a_refresh_asked_for_degrades_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api, token_store=_StoreDown(ConnectionError("Redis is down")))
    async with http, cn:
        token = await cn.tokens.refresh()
    assert [token.value] == api.issued
    assert len(_levels(caplog, "WARNING")) == 1


class _DeleteThatFails(_StoreDown):
    """A store that answers, but cannot forget a token (a Redis user whose ACL lacks the
    command, a token file's directory made read-only)."""

    async def delete(self, key: str, token: Token) -> None:
        raise self.error


async def test_a_refused_token_the_store_cannot_forget_is_replaced_in_its_lock() -> None:
    """The failed delete was taken for the store being down, and its lock skipped: every
    process that had the refused token fetched one of its own at once, each saving over
    the others'. It is fetched in the lock, as ever: one process fetches for them all."""
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    store = _DeleteThatFails(ConnectionError("NOPERM this user has no permissions"))
    store.down = False
    cn, http = client_for(api, token_store=store)
    async with http, cn:
        await cn.agents.read()
        api.expire_all()  # the server revoked the stored token early
        await cn.agents.read()
    assert (api.token_gets, store.locked) == (2, 2)


class _LockThatFails(MemoryTokenStore):
    """A store whose lock fails as it is taken (``on="enter"``) or freed (``"exit"``)."""

    def __init__(self, on: str) -> None:
        super().__init__()
        self.on = on

    @contextlib.asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        if self.on == "enter":
            raise TimeoutError(f"waited 120 s for the lock {PASSWORD}")
        try:
            yield
        finally:
            raise ConnectionError("Redis went away")


@pytest.mark.parametrize(
    ("on", "said"),
    [
        ("enter", "the token store's lock could not be taken (TimeoutError: "),
        (
            "exit",
            "the token store's lock failed as it was freed (ConnectionError: Redis went away)",
        ),
    ],
    ids=["not taken", "not freed"],
)
async def test_a_lock_that_fails_degrades_to_one_fetch_of_this_process(
    caplog: pytest.LogCaptureFixture, on: str, said: str
) -> None:
    """A lock not taken: the token is fetched without it; one that fails as it is freed:
    the token fetched in it is kept. One fetch for many calls, one warning, either way."""
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api, token_store=_LockThatFails(on))
    async with http, cn:
        await _many_reads(cn.agents.read, 5)
        await cn.agents.read()
    assert api.token_gets == 1
    (warning,) = _levels(caplog, "WARNING")
    assert warning.startswith(said)
    assert PASSWORD not in caplog.text


async def test_a_lock_that_fails_as_it_is_freed_after_a_failed_fetch_raises_the_fetchs_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api, password="wrong-password", token_store=_LockThatFails("exit"))
    async with http, cn:
        with pytest.raises(AuthenticationError):
            await cn.agents.read()
    assert "lock failed as it was freed" in _levels(caplog, "WARNING")[0]


async def test_a_call_cancelled_while_it_waits_for_the_stores_lock_is_cancelled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A store failure is an Exception: the cancellation is no failure to go on after."""
    waiting = anyio.Event()

    class SlowLock(MemoryTokenStore):
        @contextlib.asynccontextmanager
        async def lock(self, key: str) -> AsyncIterator[None]:
            waiting.set()
            await anyio.sleep_forever()
            yield  # pragma: no cover -- never taken

    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api, token_store=SlowLock())
    scope = anyio.CancelScope()

    async def call() -> None:
        with scope:
            await cn.agents.read()

    async with http, cn, anyio.create_task_group() as tg:
        tg.start_soon(call)
        await waiting.wait()
        scope.cancel()
    assert scope.cancelled_caught
    assert api.token_gets == 0
    assert not _levels(caplog, "WARNING")  # no store failure


async def test_a_store_that_cannot_save_is_logged_and_the_token_used_from_memory(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Failing every call for the cache would fetch a new token at each call."""
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    store = _StoreThatFails(PermissionError(13, "Permission denied", "/etc/t.json"), load=False)
    cn, http = client_for(api, token_store=store)
    async with http, cn:
        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(cn.agents.read)
        await cn.agents.read()
    assert api.token_gets == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "the token store could not keep the new token (PermissionError: [Errno 13] "
        "Permission denied: '/etc/t.json'); it is used from memory"
    ]
    assert api.issued[0] not in warnings[0]


async def test_a_cancelled_leader_does_not_leave_waiters_hanging() -> None:
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    first_fetch_started = anyio.Event()
    release = anyio.Event()
    inner_token = api._token

    async def token_route(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("action") == "get" and not first_fetch_started.is_set():
            first_fetch_started.set()
            await release.wait()  # the fetch the leader started, slow
        return await inner_token(request)

    api._token = token_route  # type: ignore[method-assign]  # wrap the fake's token endpoint
    cn, http = client_for(api)

    async def settled() -> None:
        for _ in range(10):
            await anyio.lowlevel.checkpoint()
        release.set()  # the leader is cancelled before the fetch runs on: it ends after

    async with http, cn:
        cancelled, done = await leader_cancelled(
            cn, leading=first_fetch_started, waiters=20, cancel_when=settled
        )
    assert cancelled
    assert done == 20
    # One fetch: the leader's cancellation no longer cuts it short (a waiter used to fetch
    # again), it runs in a task of the client's own.
    assert api.calls("token", None, "get") == 1


async def test_a_leader_cancelled_as_its_token_is_stored_leaves_it_to_the_waiters() -> None:
    """The token had come, and the leader's call was cancelled while the store kept it
    (a file's write, a Redis round trip): the fetch, in a task of the client's own, keeps
    it and hands it to the waiters. (The save used to hang for ever here, cut short only
    by the leader's cancellation; nothing cancels it now, so it is let go on.)"""
    leading, saving, release = anyio.Event(), anyio.Event(), anyio.Event()

    class SlowStore(MemoryTokenStore):
        async def load(self, key: str) -> Token | None:
            leading.set()  # the first caller leads the fetch from here on
            return await super().load(key)

        async def save(self, key: str, token: Token) -> None:
            if not saving.is_set():
                saving.set()
                await release.wait()  # the leader is cancelled here
            await super().save(key, token)

    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api, token_store=SlowStore())

    async def saving_then_released() -> None:
        await saving.wait()
        release.set()  # the leader is cancelled before the save runs on: it ends after

    async with http, cn:
        cancelled, done = await leader_cancelled(
            cn, leading=leading, waiters=5, cancel_when=saving_then_released
        )
    assert cancelled
    assert done == 5
    assert api.token_gets == 1


async def test_a_token_fetch_slower_than_every_callers_deadline_is_made_once() -> None:
    """Each caller gives up at its deadline; the fetch the first one started goes on, and
    its token serves the callers after it. (A caller's deadline used to cut the fetch
    short, the next caller started it again from scratch, and no token ever came.)"""
    release = anyio.Event()
    fetches = 0

    async def fetch() -> Token:
        nonlocal fetches
        fetches += 1
        await release.wait()  # token.php slower than every caller's deadline
        return Token("a" * 40, 2_000_000_000)

    manager = TokenManager(fetch, store=MemoryTokenStore(), key="k", clock=VirtualClock())
    for started in (True, False, False):
        with pytest.raises(TokenTimeout) as info:
            await manager.token(give_up_at=anyio.current_time())  # a deadline passed already
        assert info.value.led is started
    await anyio.wait_all_tasks_blocked()
    assert fetches == 1
    release.set()
    token = await manager.token()
    assert token.value == "a" * 40
    assert await manager.token() == token
    assert fetches == 1


async def test_the_failure_of_a_fetch_its_first_caller_gave_up_on_is_shared_by_the_others() -> None:
    """The callers still waiting when the fetch fails each raise a copy of its error; a
    caller after the failure starts a new fetch."""
    release = anyio.Event()
    fetches = 0

    async def fetch() -> Token:
        nonlocal fetches
        fetches += 1
        if fetches == 1:
            await release.wait()
            raise ConnectionError("token.php unreachable")
        return Token("b" * 40, 2_000_000_000)

    manager = TokenManager(fetch, store=MemoryTokenStore(), key="k", clock=VirtualClock())
    with pytest.raises(TokenTimeout):
        await manager.token(give_up_at=anyio.current_time())
    errors: list[BaseException] = []

    async def wait() -> None:
        try:
            await manager.token()
        except ConnectionError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(wait)
        await anyio.wait_all_tasks_blocked()
        release.set()
    assert fetches == 1
    assert len({id(error) for error in errors}) == 3
    assert {str(error) for error in errors} == {"token.php unreachable"}
    assert (await manager.token()).value == "b" * 40
    assert fetches == 2


async def test_a_fetch_that_fails_once_every_caller_gave_up_says_why_in_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nobody is left to raise its error: the calls only said that the fetch did not
    finish in time, so a refused password (say) showed as timeouts for ever. The fetch
    says it once, the client's secrets hidden; with a call still waiting, that call
    raises it and nothing is logged."""
    caplog.set_level(logging.INFO, logger="contactnow_async")
    release = anyio.Event()

    async def fetch() -> Token:
        await release.wait()
        raise AuthenticationError(f"token.php refused the password {PASSWORD}")

    manager = TokenManager(
        fetch, store=MemoryTokenStore(), key="k", clock=VirtualClock(), secrets=(PASSWORD,)
    )
    with pytest.raises(TokenTimeout):
        await manager.token(give_up_at=anyio.current_time())
    release.set()
    await anyio.wait_all_tasks_blocked()
    (warning,) = _levels(caplog, "WARNING")
    assert "every call waiting for it had given up" in warning
    assert "AuthenticationError: token.php refused the password <redacted>" in warning
    caplog.clear()
    with pytest.raises(AuthenticationError):  # a caller waits: it raises, nothing logged
        await manager.token()
    assert _levels(caplog, "WARNING") == []


@pytest.mark.parametrize("refusal", ["renew", "refresh", "refresh-its-copy"])
async def test_a_token_refused_is_not_handed_back_by_a_fetch_begun_for_another_call(
    refusal: str,
) -> None:
    """A call's fetch (nothing held yet) is still reading the store when renew(), or a
    refresh() of the token a reply refused, joins it; the store holds that very token.
    (The fetch found it there and handed it back: renew() returned the token it was to
    replace.) The refusing call now fetches one of its own; the others get the stored one."""
    reading = anyio.Event()
    stored = Token("s" * 40, 2_000_000_000)

    class SlowStore(MemoryTokenStore):
        async def load(self, key: str) -> Token | None:
            if not reading.is_set():  # the first call's fetch waits here
                reading.set()
                await anyio.lowlevel.checkpoint()
                await anyio.wait_all_tasks_blocked()
            return await super().load(key)

    store = SlowStore()
    await store.save("k", stored)
    fetches = 0

    async def fetch() -> Token:
        nonlocal fetches
        fetches += 1
        return Token("n" * 40, 2_000_000_000)

    manager = TokenManager(fetch, store=store, key="k", clock=VirtualClock())
    got: dict[str, Token] = {}

    async def call() -> None:
        got["call"] = await manager.token()

    async def refuse() -> None:
        if refusal == "renew":
            got["refusing"] = await manager.renew()
        elif refusal == "refresh":
            got["refusing"] = await manager.refresh(stale=stored)
        else:  # the same token as this process measured it: another clock offset
            got["refusing"] = await manager.refresh(stale=attrs.evolve(stored, clock_offset=3))

    async with anyio.create_task_group() as tg:
        tg.start_soon(call)
        await reading.wait()
        tg.start_soon(refuse)
    assert got["call"] == stored
    assert got["refusing"].value == "n" * 40
    assert fetches == 1
    assert await store.load("k") == got["refusing"]


class _FetchAborted(BaseException):
    """Not an Exception and not a cancellation (as KeyboardInterrupt or SystemExit)."""


async def test_a_fetch_ended_by_a_base_exception_raises_it_in_its_callers_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The caller that started the fetch raises the BaseException itself, a waiter a copy;
    the next call fetches again. (The fetch's task used to end with it: on asyncio no
    caller saw it ("Task exception was never retrieved") and each fetched again, for ever;
    on trio the system task crashed the run, TrioInternalError.)"""
    release = anyio.Event()
    fetches = 0
    aborted = _FetchAborted("the fetch was stopped")

    async def fetch() -> Token:
        nonlocal fetches
        fetches += 1
        if fetches == 1:
            await release.wait()
            raise aborted
        return Token("c" * 40, 2_000_000_000)

    manager = TokenManager(fetch, store=MemoryTokenStore(), key="k", clock=VirtualClock())
    raised: dict[str, BaseException] = {}

    async def call(role: str) -> None:
        try:
            await manager.token()
        except _FetchAborted as exc:
            raised[role] = exc

    with caplog.at_level(logging.ERROR):
        async with anyio.create_task_group() as tg:
            tg.start_soon(call, "started")
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(call, "waited")
            await anyio.wait_all_tasks_blocked()
            release.set()
        assert raised.keys() == {"started", "waited"}
        assert raised["started"] is aborted
        assert raised["waited"] is not aborted
        assert str(raised["waited"]) == str(aborted)
        assert (await manager.token()).value == "c" * 40
        gc.collect()
    assert fetches == 2
    assert [record.getMessage() for record in caplog.records] == []


def test_system_exit_in_a_token_fetch_no_call_waits_for_stops_asyncio_run() -> None:
    """On asyncio a SystemExit (or KeyboardInterrupt) in any task stops the loop with it;
    the fetch's task too, though its caller gave up on it. (It was kept for the callers,
    and with none left it was lost: the program went on.)"""
    import asyncio

    gave_up, ended = asyncio.Event(), asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    async def fetch() -> Token:
        await gave_up.wait()
        ended.set()
        raise SystemExit(3)

    async def main() -> None:
        manager = TokenManager(fetch, store=MemoryTokenStore(), key="k", clock=VirtualClock())
        with pytest.raises(TokenTimeout):
            await manager.token(give_up_at=anyio.current_time())
        tasks.extend(task for task in asyncio.all_tasks() if task is not asyncio.current_task())
        gave_up.set()
        await ended.wait()
        await asyncio.sleep(0)  # the fetch's task has ended

    with pytest.raises(SystemExit) as info:
        asyncio.run(main())
    assert info.value.code == 3
    (task,) = tasks
    assert task.exception() is info.value  # read: not logged as never retrieved


def test_a_fetch_whose_task_the_loop_refuses_leaves_no_flight_nor_coroutine_behind() -> None:
    """A loop that will not start the fetch's task (closing, or its task factory fails):
    the call raises why, and the next one fetches. (The flight was kept with no task to
    end it, so every later call waited for it till its deadline, and the fetch's coroutine,
    never awaited, was warned of as the loop's garbage.)"""
    import asyncio

    async def fetch() -> Token:
        return Token("d" * 40, 2_000_000_000)

    def refusing(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Event loop is closed")

    async def main() -> Token | None:
        manager = TokenManager(fetch, store=MemoryTokenStore(), key="k", clock=VirtualClock())
        loop = asyncio.get_running_loop()
        loop.set_task_factory(refusing)
        with pytest.raises(RuntimeError, match="Event loop is closed"):
            await manager.token()
        loop.set_task_factory(None)
        after = loop.create_task(manager.token())
        await anyio.wait_all_tasks_blocked()  # it has its token, or waits for ever
        if after.done():
            return after.result()
        after.cancel()
        return None

    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        got = asyncio.run(main())
        gc.collect()
    assert got is not None and got.value == "d" * 40
    assert [str(found.message) for found in warned] == []


def _hanging_token_php(api: FakeAPI) -> tuple[anyio.Event, list[str]]:
    """Make ``api``'s token.php hang until cancelled: the event is set once a fetch has
    begun, the list gets ``"cancelled"`` when one is."""
    fetching, ended = anyio.Event(), []

    async def token_route(request: httpx.Request) -> httpx.Response:
        fetching.set()
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            ended.append("cancelled")
            raise
        raise AssertionError("unreachable")  # pragma: no cover -- sleep_forever never returns

    api._token = token_route  # type: ignore[method-assign]  # wrap the fake's token endpoint
    return fetching, ended


async def _a_call_that_stops_waiting(cn: ContactNow, fetching: anyio.Event) -> None:
    """A call that starts the token fetch and is cancelled while it waits for it."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(cn.agents.read)
        await fetching.wait()
        tg.cancel_scope.cancel()


async def test_aclose_ends_the_token_fetch_no_call_waits_for_any_more() -> None:
    """The fetch goes on after its caller stopped waiting; the client's aclose() cancels
    it and returns once its task has ended."""
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    fetching, ended = _hanging_token_php(api)
    cn, http = client_for(api)
    async with http:
        await _a_call_that_stops_waiting(cn, fetching)
        await anyio.wait_all_tasks_blocked()
        assert ended == []  # the caller gone, the fetch goes on
        await cn.aclose()
        assert ended == ["cancelled"]
        if sniffio.current_async_library() == "asyncio":
            import asyncio

            assert not [
                task
                for task in asyncio.all_tasks()
                if "TokenManager" in getattr(task.get_coro(), "__qualname__", "")
            ]
        with pytest.raises(RuntimeError, match="closed"):
            await cn.agents.read()


@pytest.mark.parametrize("library", ["asyncio", "trio"])
def test_a_run_that_ends_without_aclose_ends_the_token_fetch(
    library: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The event loop's end cancels the fetch's task: no task is left pending ("Task was
    destroyed but it is pending!"), and a trio run ends cleanly."""
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    outcome: list[list[str]] = []

    async def main() -> None:
        fetching, ended = _hanging_token_php(api)
        outcome.append(ended)
        cn, _ = client_for(api)
        await _a_call_that_stops_waiting(cn, fetching)
        await anyio.wait_all_tasks_blocked()

    with caplog.at_level(logging.ERROR):
        anyio.run(main, backend=library)
        gc.collect()
    assert outcome == [["cancelled"]]
    assert [record.getMessage() for record in caplog.records] == []


async def test_authentication_failure_raises_at_once_without_retry() -> None:
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api, password="wrong-password", max_retries=5)
    async with http, cn:
        with pytest.raises(AuthenticationError) as info:
            await cn.agents.read()
        assert len(api.requests) == 1
        assert info.value.error == "Authentication failure"
        assert "wrong-password" not in str(info.value)


async def test_a_refused_token_fetch_is_not_counted_as_a_token_fetched() -> None:
    """``tokens.fetches`` counts the tokens token.php gave: an ``Authentication failure``
    gave none (nor did a reply lost on the way)."""
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api, password="wrong-password", max_retries=0)
    async with http, cn:
        with pytest.raises(AuthenticationError):
            await cn.agents.read()
        with pytest.raises(AuthenticationError):
            await cn.tokens.refresh()
        assert api.calls("token", None, "get") == 2
        assert cn.tokens.fetches == 0

    async def lost(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset")

    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    token_route = api._token
    api._token = lost  # type: ignore[method-assign]  # token.php's reply never comes
    cn, http = client_for(api, max_retries=0)
    async with http, cn:
        with pytest.raises(TransportError):
            await cn.agents.read()
        assert cn.tokens.fetches == 0
        api._token = token_route  # type: ignore[method-assign]  # and now it does
        await cn.agents.read()
        assert cn.tokens.fetches == 1


async def test_concurrent_calls_share_one_authentication_failure() -> None:
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api, password="wrong-password")
    failures: list[AuthenticationError] = []

    async def one() -> None:
        try:
            await cn.agents.read()
        except AuthenticationError as exc:
            failures.append(exc)

    async with http, cn, anyio.create_task_group() as tg:
        for _ in range(30):
            tg.start_soon(one)
    assert len(failures) == 30
    assert len(api.requests) == 1


@pytest.mark.parametrize("skew", [0.0, 600.0, -600.0])
async def test_proactive_refresh_one_minute_before_the_server_expiry(skew: float) -> None:
    clock = VirtualClock(1_700_000_000)
    # The server's clock is `skew` seconds ahead of ours; its Date header says so.
    api = FakeAPI({READ: agents_list(AGENT_ROW)}, clock=clock, lifetime=3600, server_skew=skew)
    cn, http = client_for(api, clock=clock)
    async with http, cn:
        await cn.agents.read()
        assert api.token_gets == 1
        # The token dies at local time start + 3600 whatever the skew.
        clock.advance(3600 - 61)
        await cn.agents.read()
        assert api.token_gets == 1  # still 61 s left: reused
        clock.advance(2)  # 59 s left on the server's clock
        await cn.agents.read()
        assert api.token_gets == 2
        await cn.agents.read()
        assert api.token_gets == 2
        reads = [r for r in api.requests if r.url.path.endswith("database.php")]
        assert [r.url.params["token"] for r in reads] == [api.issued[0]] * 2 + [api.issued[1]] * 2


async def test_a_server_that_answers_its_current_token_until_expiry_fails_no_call() -> None:
    """TOKEN.md: ``get`` gives "a new token if one does not already exist"; the simulator
    hands back the current token, and its ``expire``, until that passes. Inside the margin
    that was taken for a server clock gone wrong: about 30 token.php calls in the last
    minute of every token, and a TokenError every eight seconds or so."""
    clock = VirtualClock(1_700_000_000)
    sim = Simulator(
        username=USERNAME, password=PASSWORD, agents=2, seed=1, clock=clock, token_lifetime=3600
    )
    async with (
        httpx.AsyncClient(transport=sim.transport()) as http,
        ContactNow(
            base_url="http://sim.test/",
            username=USERNAME,
            password=PASSWORD,
            http_client=http,
            clock=clock,
            retry_backoff=0.0,
        ) as cn,
    ):
        first = await cn.tokens.get()
        clock.set(first.local_deadline() - 59)  # inside the 60 s margin
        for _ in range(70):  # a call a second, up to 10 s past the token's expiry
            await cn.agents.read()
            clock.advance(1)
        assert sim.stats.token_gets == 3  # the first, its own again, the next one
        assert (await cn.tokens.get()).value != first.value
        assert sim.stats.count("database", "agents", "read") == 70  # none refused, resent


@pytest.mark.parametrize("expire", [1_800_000_000.5, "1800000000.5", "1.8000000005e9"])
async def test_an_expire_with_a_fraction_of_a_second_is_a_token(expire: object) -> None:
    """Refused as "not a unix time", it failed every call without one token to use."""
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    value = "f" * 40
    api.valid.add(value)
    api.fail_token_get = lambda: json_reply({"success": True, "token": value, "expire": expire})
    cn, http = client_for(api)
    async with http, cn:
        assert len(await cn.agents.read()) == 1
        token = await cn.tokens.get()
    assert token.expires_ts == 1_800_000_000  # the whole second before: never late
    assert api.token_gets == 1


async def test_an_early_refresh_that_fails_uses_the_token_until_it_expires(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """token.php failing inside the margin failed every call, though the token held had
    a minute left; each call asked token.php again."""
    clock = VirtualClock(1_700_000_000)
    api = FakeAPI({READ: agents_list(AGENT_ROW)}, clock=clock, lifetime=3600)
    cn, http = client_for(api, clock=clock, max_retries=0)
    async with http, cn:
        first = await cn.tokens.get()
        clock.set(first.local_deadline() - 59)
        api.fail_token_get = lambda: json_reply({"success": False, "error": "Service down"})
        assert len(await _many_reads(cn.agents.read, 20)) == 20
        assert api.token_gets == 2  # one early refresh tried, for all twenty
        clock.advance(1)
        await cn.agents.read()
        assert api.token_gets == 2  # not again at each call
        clock.advance(10)
        await cn.agents.read()
        assert api.token_gets == 3  # tried again a few seconds on
        api.fail_token_get = None
        clock.advance(10)
        await cn.agents.read()
        assert api.token_gets == 4
        assert (await cn.tokens.get()).value == api.issued[-1] != first.value
        # Once the token held has expired, the failure is the call's.
        clock.set((await cn.tokens.get()).local_deadline())
        api.fail_token_get = lambda: json_reply({"success": False, "error": "Service down"})
        with pytest.raises(APIError, match="Service down"):
            await cn.agents.read()
    reads = [r for r in api.requests if script_of(r) == "database"]
    assert {r.url.params["token"] for r in reads[:22]} == {first.value}
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2
    assert "could not refresh the token early (APIError" in warnings[0]
    assert not any(token in warning for warning in warnings for token in api.issued)


async def test_a_call_whose_token_was_refused_never_gets_that_token_back() -> None:
    """A call refused while an early refresh ran waited for it; the refresh failed, and
    the call got back the token held (still good on our clock) as if it were new: it
    was resent with the token just refused, and raised a TokenError blaming the address
    instead of the fetch's own failure."""
    clock = VirtualClock(1_700_000_000)
    first_sent, refreshing, release = anyio.Event(), anyio.Event(), anyio.Event()

    async def read(request: httpx.Request) -> dict[str, object]:
        if not first_sent.is_set():
            first_sent.set()
            await refreshing.wait()
            api.expire_all()  # the server no longer takes the token held
            return {"success": False, "error": "Expired token", "expire": -1}
        return {"success": True, "total": 1, "list": [AGENT_ROW]}

    api = FakeAPI({READ: read}, clock=clock, lifetime=3600)
    inner_token = api._token

    async def token_route(request: httpx.Request) -> httpx.Response:
        if api.token_gets and request.url.params.get("action") == "get":
            refreshing.set()
            await release.wait()
        return await inner_token(request)

    api._token = token_route  # type: ignore[method-assign]  # hold the early refresh
    cn, http = client_for(api, clock=clock, max_retries=0)
    errors: list[BaseException] = []

    async def call() -> None:
        try:
            await cn.agents.read()
        except Exception as exc:  # what each call ends with is the subject
            errors.append(exc)

    async with http, cn:
        first = await cn.tokens.get()
        with anyio.fail_after(10):  # a hang guard, not a timing assertion
            async with anyio.create_task_group() as tg:
                tg.start_soon(call)  # sent while the token is fresh; answered later
                await first_sent.wait()
                clock.set(first.local_deadline() - 59)  # inside the margin now
                api.fail_token_get = lambda: json_reply({"success": False, "error": "Down"})
                tg.start_soon(call)  # refreshes early; the first call is refused meanwhile
                await refreshing.wait()
                for _ in range(20):  # the refused call joins the refresh in flight
                    await anyio.lowlevel.checkpoint()
                release.set()
    reads = [r for r in api.requests if script_of(r) == "database"]
    # No resend; and the call that refreshed early knew the token refused once the first
    # call said so: it did not send it to be refused too.
    assert [r.url.params["token"] for r in reads] == [first.value]
    assert [type(error) for error in errors] == [APIError, APIError]
    assert all("Down" in str(error) for error in errors)


async def test_calls_made_while_a_refused_token_is_replaced_wait_for_its_replacement() -> None:
    """A refused token stayed the one handed out until its replacement came: every call
    started meanwhile sent it too, was refused, and was resent (twice the requests)."""
    fetching, release = anyio.Event(), anyio.Event()
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    inner_token = api._token

    async def token_route(request: httpx.Request) -> httpx.Response:
        if api.token_gets:  # the refresh waits until the later calls are under way
            fetching.set()
            await release.wait()
        return await inner_token(request)

    api._token = token_route  # type: ignore[method-assign]  # hold the refresh
    cn, http = client_for(api)
    async with http, cn:
        first = await cn.tokens.get()
        api.expire_all()
        with anyio.fail_after(10):  # a hang guard, not a timing assertion
            async with anyio.create_task_group() as tg:
                tg.start_soon(cn.agents.read)  # refused: its refresh is held
                await fetching.wait()
                for _ in range(10):
                    tg.start_soon(cn.agents.read)
                for _ in range(20):
                    await anyio.lowlevel.checkpoint()
                release.set()
    reads = [r.url.params["token"] for r in api.requests if script_of(r) == "database"]
    assert reads.count(first.value) == 1  # the refused call's only
    assert len(reads) == 12  # 1 refused, 11 with the new token
    assert api.token_gets == 2


async def test_reactive_refresh_resends_once() -> None:
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api)
    async with http, cn:
        await cn.agents.read()
        api.expire_all()
        assert len(await cn.agents.read()) == 1
        assert api.token_gets == 2
        assert api.calls("database", "agents", "read") == 3  # 1 + refused + resent


@pytest.mark.parametrize(
    "refusal",
    [
        {"success": False, "error": "Expired token", "expire": -1},
        {"success": False, "error": "Invalid token"},
        {"success": False, "error": "Unknown token"},
        {"success": False, "error": "something else", "expire": -1},
    ],
)
async def test_a_second_token_refusal_raises_token_error(refusal: dict[str, object]) -> None:
    api = FakeAPI({READ: lambda request: refusal})
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(TokenError):
            await cn.agents.read()
        assert api.token_gets == 2
        assert api.calls("database", "agents", "read") == 2  # sent, resent once: no loop


@pytest.mark.parametrize("expire", [-1, "-1", -1.0, "-1.0", " -1", "-1e0"])
async def test_an_expire_of_minus_one_in_any_form_is_a_token_refusal(expire: object) -> None:
    """The vendor's wrapper resends on ``expire == -1`` (PHP's loose ``==``, whatever the
    error text): ``-1.0`` and ``"-1.0"`` were an APIError, with no new token fetched."""
    seen: list[str] = []

    def read(request: httpx.Request) -> dict[str, object]:
        seen.append(request.url.params["token"])
        if len(seen) == 1:
            return {"success": False, "error": "Session ended", "expire": expire}
        return {"success": True, "total": 1, "list": [AGENT_ROW]}

    api = FakeAPI({READ: read})
    cn, http = client_for(api)
    async with http, cn:
        assert len(await cn.agents.read()) == 1
    assert api.token_gets == 2
    assert len(seen) == 2
    assert seen[0] != seen[1]


@pytest.mark.parametrize("expire", [-1.5, "-0.5", "-1x", "", None, [-1]])
async def test_an_expire_that_is_not_minus_one_is_no_token_refusal(expire: object) -> None:
    api = FakeAPI({READ: lambda request: {"success": False, "error": "Nope", "expire": expire}})
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(APIError, match="Nope"):
            await cn.agents.read()
    assert api.token_gets == 1
    assert api.calls(*READ) == 1


async def test_a_token_refusal_on_create_is_resent_once() -> None:
    # A refused token means nothing was done: even a create may be resent.
    seen: list[str] = []

    def create(request: httpx.Request) -> dict[str, object]:
        seen.append(request.url.params["token"])
        if len(seen) == 1:
            return {"success": False, "error": "Expired token", "expire": -1}
        return {"success": True, "total": 1, "bad": 0, "key": 42}

    api = FakeAPI({("database", "agents", "create"): create})
    cn, http = client_for(api)
    async with http, cn:
        result = await cn.agents.create([{"name": "Ann"}])
    assert result.key == "42"
    assert len(seen) == 2
    assert seen[0] != seen[1]


async def test_validate_and_refresh() -> None:
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api)
    async with http, cn:
        token = await cn.tokens.get()
        assert (await cn.tokens.validate()).value == token.value
        api.expire_all()
        with pytest.raises(TokenError):
            await cn.tokens.validate()
        new = await cn.tokens.refresh()
        assert new.value != token.value
        assert api.token_gets == 2


# --- a token for another address (token.php's ``address``) ------------------------------


class AddressAPI:
    """``token.php?action=get`` in the format asked for, a new token each time, bound to
    ``address`` when given; ``agents read`` accepts only a token bound to the caller."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.bound_to: dict[str, str] = {}  # token -> address ("" for the caller's own)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        params = request.url.params
        body: dict[str, object]
        if script_of(request) == "token":
            token = secrets.token_hex(20)
            self.bound_to[token] = params.get("address", "")
            body = {"success": True, "token": token, "expire": 1_800_000_000}
        elif self.bound_to.get(params.get("token", "-")) == "":
            body = {"success": True, "total": 1, "list": [AGENT_ROW]}
        else:
            body = {"success": False, "error": "Invalid token"}
        if params.get("format") == "xml":
            return httpx.Response(200, content=xml_body(body, "agent"))
        return json_reply(body)

    @property
    def token_gets(self) -> list[httpx.Request]:
        return [request for request in self.requests if script_of(request) == "token"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("address", ["203.0.113.7", "2001:db8::7"])
async def test_get_with_address_asks_token_php_for_a_token_bound_there(
    fmt: str, address: str
) -> None:
    api = AddressAPI()
    cn, http = client_for(api, format=fmt)
    async with http, cn:
        other = await cn.tokens.get(address=address)
        again = await cn.tokens.get(address=address)  # fetched every time
        assert len(await cn.agents.read()) == 1  # with a token of the client's own
        own = await cn.tokens.get()
    first, second, own_get = api.token_gets
    for request in (first, second):
        assert dict(request.url.params) == {
            "action": "get",
            "format": fmt,
            "username": USERNAME,
            "password": PASSWORD,
            "address": address,
        }
    assert "address" not in own_get.url.params
    assert len(api.token_gets) == 3  # the shared token was not the other address's
    assert api.bound_to[other.value] == api.bound_to[again.value] == address
    assert other.value != again.value
    assert api.bound_to[own.value] == ""
    assert other.expires_ts == own.expires_ts == 1_800_000_000
    assert other.value not in repr(other)


@pytest.mark.parametrize(
    "address",
    ["", "  ", "10.0.0.2&admin=1", "10.0.0.2?x", "10.0.0.2#x", "10.0.0.2/24", "a b",
     "not-an-ip", "10.0.0.999", "example.com"],
)  # fmt: skip
async def test_get_with_an_address_that_is_no_ip_is_refused_before_sending(address: str) -> None:
    api = AddressAPI()
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(ValueError, match="address must be an IP address"):
            await cn.tokens.get(address=address)
    assert api.requests == []


# --- stores -----------------------------------------------------------------------------


async def test_file_store_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api, token_store=FileTokenStore(path))
    async with http, cn:
        await cn.agents.read()
    assert api.token_gets == 1
    # A new process: a new client on the same file.
    cn2, http2 = client_for(api, token_store=FileTokenStore(path))
    async with http2, cn2:
        await cn2.agents.read()
        assert cn2.tokens.fetches == 0
    assert api.token_gets == 1
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["tokens.json", "tokens.json.lock"]  # no temp file
    assert stat.S_IMODE(os.stat(tmp_path / "tokens.json.lock").st_mode) == 0o600


async def test_refresh_on_a_new_client_replaces_the_stored_token(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api, token_store=FileTokenStore(path))
    async with http, cn:
        old = await cn.tokens.get()
    cn2, http2 = client_for(api, token_store=FileTokenStore(path))
    async with http2, cn2:
        # Nothing held yet, a fresh token stored: refresh() still fetches a new one.
        new = await cn2.tokens.refresh()
        assert cn2.tokens.fetches == 1
        assert (await cn2.tokens.get()) == new
    assert new.value != old.value
    assert api.token_gets == 2
    (entry,) = json.loads(path.read_text()).values()
    assert entry["value"] == new.value


async def test_concurrent_refreshes_share_one_fetch() -> None:
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api)
    async with http, cn:
        await cn.tokens.get()
        tokens = await _many_reads(cn.tokens.refresh, 20)
    assert len({t.value for t in tokens}) == 1  # type: ignore[attr-defined]  # Tokens
    assert api.token_gets == 2


async def test_file_store_refetches_when_the_stored_token_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api, token_store=FileTokenStore(path))
    async with http, cn:
        await cn.agents.read()
    api.expire_all()
    cn2, http2 = client_for(api, token_store=FileTokenStore(path))
    async with http2, cn2:
        await cn2.agents.read()
    assert api.token_gets == 2
    stored = json.loads(path.read_text())
    (entry,) = stored.values()
    assert entry["value"] == api.issued[-1]


class _ReadOnlyFileStore(FileTokenStore):
    """A token file on a read-only file system: read, never written."""

    def _write(self, entries: dict[str, object]) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(self.path))


async def test_a_refused_token_in_a_store_that_cannot_forget_it_is_still_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Forgetting the refused token failed the refresh, so every call failed with the
    store's OSError, and so did every restart (the refused token stayed in the file)."""
    path = tmp_path / "tokens.json"
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api, token_store=FileTokenStore(path))
    async with http, cn:
        await cn.agents.read()
    api.expire_all()  # the server revoked the stored token early
    cn2, http2 = client_for(api, token_store=_ReadOnlyFileStore(path))
    async with http2, cn2:
        await cn2.agents.read()
        await cn2.agents.read()
    assert api.token_gets == 2  # exactly one new token, used from memory
    assert api.calls("database", "agents", "read") == 4  # 1, then refused + resent + 1
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("could not forget the refused token" in warning for warning in warnings)
    assert not any(token in warning for warning in warnings for token in api.issued)


async def test_file_store_is_keyed_by_base_url_and_username(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    one = Token(value="a" * 40, expires_ts=2_000_000_000)
    two = Token(value="b" * 40, expires_ts=2_000_000_000)
    await store.save(f"{BASE_URL}|ann", one)
    await store.save(f"{BASE_URL}|bob", two)
    assert await store.load(f"{BASE_URL}|ann") == one
    assert await store.load(f"{BASE_URL}|bob") == two
    assert len(json.loads((tmp_path / "tokens.json").read_text())) == 2
    await store.delete(f"{BASE_URL}|ann", two)  # not the stored one: kept
    assert await store.load(f"{BASE_URL}|ann") == one
    await store.delete(f"{BASE_URL}|ann", one)
    assert await store.load(f"{BASE_URL}|ann") is None


async def test_a_file_store_whose_chmod_fails_closes_and_removes_its_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file system that refuses chmod (some network shares): the save fails, and the
    temporary file's descriptor was left open (removed, it held the space on disk)."""
    import tempfile

    made: list[int] = []
    mkstemp = tempfile.mkstemp

    def recording_mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        fd, name = mkstemp(*args, **kwargs)
        made.append(fd)
        return fd, name

    def refuse(fd: int, mode: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(tempfile, "mkstemp", recording_mkstemp)
    monkeypatch.setattr(os, "fchmod", refuse)
    store = FileTokenStore(tmp_path / "tokens.json")
    with pytest.raises(PermissionError):
        await store.save(f"{BASE_URL}|ann", Token("a" * 40, 2_000_000_000))
    (fd,) = made
    with pytest.raises(OSError, match="Bad file descriptor") as closed:
        os.fstat(fd)
    assert closed.value.errno == errno.EBADF
    assert os.listdir(tmp_path) == ["tokens.json.lock"]


async def test_two_usernames_on_one_file_keep_two_entries(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    for username in ("api-user", "other-user"):
        cn, http = client_for(api, token_store=FileTokenStore(path), username=username)
        async with http, cn:
            # The fake knows one username; the entry test is below.
            with contextlib.suppress(AuthenticationError):
                await cn.agents.read()
    await FileTokenStore(path).save(f"{BASE_URL}|other-user", Token("c" * 40, 2_000_000_000))
    keys = sorted(json.loads(path.read_text()))
    assert keys == [f"{BASE_URL}|api-user", f"{BASE_URL}|other-user"]


@pytest.mark.parametrize(
    "junk",
    [b"{not json", b"[1,2,3]", b"\xff\xfe\x00", b'{"k": 5}', b"", b"[" * 100_000],
    ids=["not-json", "a-list", "not-utf8", "no-entry", "empty", "nested-too-deep"],
)
async def test_a_corrupt_file_is_ignored_and_replaced(tmp_path: Path, junk: bytes) -> None:
    path = tmp_path / "tokens.json"
    path.write_bytes(junk)
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api, token_store=FileTokenStore(path))
    async with http, cn:
        await cn.agents.read()
    assert api.token_gets == 1
    entries = json.loads(path.read_text())
    assert entries[f"{BASE_URL}|api-user"]["value"] == api.issued[0]


@pytest.mark.parametrize(
    "entry",
    [
        '{"value": "x", "expires_at": 1e400}',
        '{"value": "x", "expires_at": Infinity}',
        '{"value": "x", "expires_at": 1000000000000000000000000000000}',
        '{"value": "x", "expires_at": 2000000000, "clock_offset": -1e400}',
        '{"value": "x", "expires_at": 2000000000, "clock_offset": NaN}',
    ],
    ids=["inf", "Infinity", "10**30", "offset-inf", "offset-nan"],
)
async def test_a_stored_entry_that_is_no_time_is_ignored_and_replaced(
    tmp_path: Path, entry: str
) -> None:
    """A file edited by hand (or by another tool) is no token, not an OverflowError from
    every call, nor one whose expires_at cannot be shown or that is never refreshed."""
    path = tmp_path / "tokens.json"
    key = f"{BASE_URL}|api-user"
    path.write_text(f'{{"{key}": {entry}}}')
    assert await FileTokenStore(path).load(key) is None
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api, token_store=FileTokenStore(path))
    async with http, cn:
        await cn.agents.read()
    assert api.token_gets == 1
    assert json.loads(path.read_text())[key]["value"] == api.issued[0]


async def test_memory_store_is_shared_between_clients() -> None:
    store = MemoryTokenStore()
    assert isinstance(store, TokenStore)
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    for _ in range(3):
        cn, http = client_for(api, token_store=store)
        async with http, cn:
            await cn.agents.read()
    assert api.token_gets == 1
    assert api.issued[0] not in repr(store)


async def test_concurrent_saves_to_one_file_lose_no_entry(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    stores = [FileTokenStore(path) for _ in range(20)]

    async def save(n: int) -> None:
        await stores[n].save(f"{BASE_URL}|user{n}", Token(f"{n:040x}", 2_000_000_000))

    async with anyio.create_task_group() as tg:
        for n in range(20):
            tg.start_soon(save, n)
    assert len(json.loads(path.read_text())) == 20
    assert sorted(os.listdir(tmp_path)) == ["tokens.json", "tokens.json.lock"]


class _StoreThatQuotes(MemoryTokenStore):
    """A store that keeps a token and then fails, its save and its delete both, with an
    error quoting the token and the password (a store that puts what it was given in its
    messages)."""

    async def save(self, key: str, token: Token) -> None:
        await super().save(key, token)
        raise RuntimeError(f"cannot save {token.value} for {USERNAME}:{PASSWORD}")

    async def delete(self, key: str, token: Token) -> None:
        raise RuntimeError(f"cannot delete token={token.value} ({PASSWORD!r})")


async def test_a_store_error_that_quotes_the_token_or_password_is_logged_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The store's error text went into the warning as it was: token, password and all."""
    tokens = iter(f"opaque-token-{n}" for n in range(10))  # not hex: hidden as the token
    api = FakeAPI({READ: agents_list(AGENT_ROW)}, new_token=lambda: next(tokens))
    cn, http = client_for(api, token_store=_StoreThatQuotes())
    async with http, cn:
        await cn.agents.read()
        api.expire_all()  # the stored token is refused: the store is asked to forget it
        await cn.agents.read()
    assert api.token_gets == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(
        "could not keep the new token (RuntimeError: cannot save <redacted> for" in w
        for w in warnings
    )
    assert any(
        "could not forget the refused token (RuntimeError: cannot delete token=<redacted>" in w
        for w in warnings
    )
    for secret in (*api.issued, PASSWORD):
        assert secret not in caplog.text


async def test_a_password_with_a_quote_in_a_url_of_a_store_error_is_hidden_whole(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The query was cut first, at the quote, and the password's tail stayed in the log."""
    password = "pa'ss-word-tail"

    class QuotingStore(MemoryTokenStore):
        async def save(self, key: str, token: Token) -> None:
            raise OSError(f"PUT https://store.example/?password={password} failed")

    async def fetch() -> Token:
        return Token("opaque-token", 2_000_000_000)

    manager = TokenManager(
        fetch, store=QuotingStore(), key="k", clock=VirtualClock(), secrets=(password,)
    )
    await manager.token()
    (warning,) = _levels(caplog, "WARNING")
    assert "(OSError: PUT https://store.example/?<redacted> failed)" in warning
    assert "tail" not in caplog.text
