"""The transport layer: frozen options, deadlines, and the retry sleep on the injected clock."""

from __future__ import annotations

import contextlib
import email.utils
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest

from contactnow_async import (
    ContactNow,
    HTTPStatusError,
    RequestTimeout,
    ResponseFormatError,
    TransportError,
    VirtualClock,
)
from contactnow_async._clock import Waits
from contactnow_async._options import call_bound
from contactnow_async._transport import RetryPolicy
from tests._helpers import AGENT_ROW, FakeAPI, agents_list, client_for
from tests._loop_time import BACKENDS, backend

pytestmark = pytest.mark.anyio


@pytest.fixture(params=BACKENDS)
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """The deadlines and timeouts here race fakes that sleep: on the loop's virtual
    time they end when they should, however slowly a loaded machine runs the loop."""
    return backend(request.param)


READ = ("database", "agents", "read")


def test_options_are_read_only_after_construction() -> None:
    cn = ContactNow(username="u", password="p", base_url="http://127.0.0.1:9/", max_concurrency=3)
    assert cn.options.max_concurrency == 3
    for name, value in [
        ("max_concurrency", 50),
        ("max_retries", 9),
        ("format", "xml"),
        ("base_url", "http://127.0.0.1:1/"),
        ("campaign", "x"),
        ("timeout", 1.0),
    ]:
        with pytest.raises(AttributeError):
            setattr(cn, name, value)
    with pytest.raises(AttributeError):
        cn.options.max_concurrency = 50  # type: ignore[misc]  # frozen: that is the point


def test_the_call_deadline_defaults_to_every_attempt_and_backoff_at_its_bound() -> None:
    cn = ContactNow(
        username="u",
        password="p",
        base_url="http://127.0.0.1:9/",
        timeout=5.0,
        max_retries=2,
        retry_backoff_max=4.0,
    )
    assert cn.options.attempt_timeout == 5.0
    assert cn.options.call_deadline == 5.0 * 3 + 4.0 * 2
    # A timeout's message names what ran out: no deadline was given here.
    assert call_bound(cn.options) == "23s, the time timeout=5s allows a call with max_retries=2"
    explicit = ContactNow(username="u", password="p", base_url="http://127.0.0.1:9/", deadline=7)
    assert explicit.options.call_deadline == 7
    assert call_bound(explicit.options) == "the deadline of 7s"
    with pytest.raises(ValueError, match="deadline"):
        ContactNow(username="u", password="p", base_url="http://127.0.0.1:9/", deadline=0)


def test_the_retry_policy_gives_up_on_a_long_retry_after() -> None:
    policy = RetryPolicy(max_retries=3, backoff=1.0, backoff_max=2.0)
    assert policy.delay(0, 61.0) is None
    assert policy.delay(40, None) is not None  # a huge attempt number does not overflow
    assert 0 <= (policy.delay(40, None) or 0) <= 2.0


async def test_the_retry_sleep_is_on_the_injected_clock() -> None:
    """Backoff of tens of seconds passes at once on a virtual clock, and moves it."""
    attempts = []

    def busy_then_fine(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        if len(attempts) < 3:
            return httpx.Response(503, headers={"Retry-After": "20"}, content=b"busy")
        return httpx.Response(200, json={"success": True, "list": [AGENT_ROW]})

    clock = VirtualClock()
    api = FakeAPI({READ: busy_then_fine})
    cn, http = client_for(api, clock=clock, max_retries=2, deadline=None, timeout=5.0)
    started_virtual, started_real = clock.now(), time.monotonic()
    async with http, cn:
        (agent,) = await cn.agents.read()
    assert agent.agent_id == AGENT_ROW["agentid"]
    assert len(attempts) == 3
    assert clock.now() - started_virtual >= 40  # two Retry-After waits, on the virtual clock
    assert time.monotonic() - started_real < 30  # not slept for real


@pytest.mark.parametrize("skew", [3600.0, -3600.0], ids=["server-ahead", "server-behind"])
async def test_a_retry_after_date_is_read_against_the_replys_own_date(skew: float) -> None:
    """A ``Retry-After`` date is on the server's clock, and was read against ours: a server
    an hour ahead made its 5 s an hour's wait (given up), one an hour behind no wait."""
    clock = VirtualClock()
    sent_at: list[float] = []

    def busy_then_fine(request: httpx.Request) -> httpx.Response:
        sent_at.append(clock.now())
        if len(sent_at) > 1:
            return httpx.Response(200, json={"success": True, "list": [AGENT_ROW]})
        server_now = clock.now() + skew
        headers = {
            "Date": email.utils.formatdate(server_now, usegmt=True),
            "Retry-After": email.utils.formatdate(server_now + 5, usegmt=True),
        }
        return httpx.Response(503, headers=headers, content=b"busy")

    cn, http = client_for(FakeAPI({READ: busy_then_fine}), clock=clock, deadline=None)
    async with http, cn:
        assert len(await cn.agents.read()) == 1
    assert [when - sent_at[0] for when in sent_at] == [0, 5]  # the server's 5 s, on our clock


async def test_one_attempt_is_bounded_in_total_not_per_read() -> None:
    """A reply that never completes ends at ``timeout``, however the bytes trickle."""

    async def hanging(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(60)
        raise AssertionError("unreachable")  # pragma: no cover -- cancelled first

    cn, http = client_for(FakeAPI({READ: hanging}), timeout=0.2, deadline=30, max_retries=0)
    async with http, cn:
        with anyio.fail_after(10):  # a guard: the bound under test is 0.2 s
            with pytest.raises(RequestTimeout, match=r"timeout=0\.2s"):
                await cn.agents.read()


async def test_waiting_for_a_slot_counts_against_the_deadline_not_the_timeout() -> None:
    """One cancel scope bounds both: the attempt's timeout starts once it has a slot."""
    first = True

    async def first_hangs(request: httpx.Request) -> Any:
        nonlocal first
        if first:
            first = False
            await anyio.sleep(60)  # holds the only slot until its 0.3 s timeout
        await anyio.sleep(0.15)  # had the wait for the slot counted, 0.3 s would pass here
        return agents_list(AGENT_ROW)(request)

    cn, http = client_for(
        FakeAPI({READ: first_hangs}), timeout=0.3, deadline=5, max_retries=0, max_concurrency=1
    )
    outcomes: list[object] = []

    async def read() -> None:
        try:
            outcomes.append(len(await cn.agents.read()))
        except RequestTimeout as exc:
            outcomes.append(str(exc))

    async with http, cn:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(read)
                await anyio.sleep(0.05)  # the first has its token and holds the slot
                tg.start_soon(read)
    # The second waited ~0.25 s for the slot and was answered 0.15 s after it had it:
    # its own timeout (0.3 s) started with the slot, not with the call.
    assert len(outcomes) == 2
    assert "timeout=0.3s" in str(outcomes[0])
    assert outcomes[1] == 1

    # A deadline shorter than the timeout: it ends both calls, the second while it has
    # had the slot for less than its timeout, and each says it was the deadline.
    async def hangs(request: httpx.Request) -> Any:
        await anyio.sleep(60)

    cn, http = client_for(
        FakeAPI({READ: hangs}), timeout=0.3, deadline=0.2, max_retries=0, max_concurrency=1
    )
    outcomes.clear()
    async with http, cn:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(read)
                await anyio.sleep(0.05)
                tg.start_soon(read)
    assert len(outcomes) == 2
    assert all("deadline of 0.2s" in str(outcome) for outcome in outcomes)


async def test_the_call_deadline_stops_retries() -> None:
    """Retries stop when the next backoff would pass the call's deadline."""
    calls = []

    def busy(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503, headers={"Retry-After": "2"}, content=b"busy")

    cn, http = client_for(FakeAPI({READ: busy}), max_retries=10, deadline=1.0)
    async with http, cn:
        with pytest.raises(HTTPStatusError):
            await cn.agents.read()
    assert len(calls) == 1  # the 2 s wait would pass the 1 s deadline: raised at once


async def test_a_good_reply_is_unaffected_by_the_bounds() -> None:
    cn, http = client_for(FakeAPI({READ: agents_list(AGENT_ROW)}), timeout=5.0, deadline=5.0)
    async with http, cn:
        assert len(await cn.agents.read()) == 1


def test_an_http_date_is_read_once_per_text_and_each_text_as_itself() -> None:
    from contactnow_async._clock import http_date as _http_date

    first = _http_date("Tue, 15 Nov 1994 08:12:31 GMT")
    assert first == 784887151.0
    assert _http_date("Tue, 15 Nov 1994 08:12:32 GMT") == first + 1  # a second later
    assert _http_date("Tue, 15 Nov 1994 08:12:31 -0000") == first  # no zone: UTC
    assert _http_date("Tue, 15 Nov 1994 08:12:31 GMT") == first
    assert _http_date("not a date") is None
    assert _http_date(None) is None
    assert _http_date.cache_info().hits >= 1


@pytest.mark.parametrize(
    "header",
    [
        ("date", "Mon, 01 Jan 99999999999999999999 00:00:00 GMT"),
        ("date", "Mon, 01 Jan 2024 00:00:00 +99999999999999999999"),
        ("retry-after", "Mon, 01 Jan 2024 00:00:99999999999999999999 GMT"),
    ],
    ids=["date-year", "date-zone", "retry-after-seconds"],
)
async def test_a_date_too_large_for_python_is_no_date(header: tuple[str, str]) -> None:
    """A hostile ``Date`` or ``Retry-After`` is ignored, not an OverflowError from every call."""
    status = 503 if header[0] == "retry-after" else 200
    calls = []

    def hostile(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if status == 503 and len(calls) == 1:
            return httpx.Response(503, headers=[header], content=b"busy")
        body = b'{"success": true, "total": 0, "list": []}'
        return httpx.Response(200, headers=[header], content=body)

    cn, http = client_for(FakeAPI({READ: hostile}), retry_backoff=0)
    async with http, cn:
        assert await cn.agents.read() == []
    assert len(calls) == (2 if status == 503 else 1)


async def test_a_call_whose_deadline_passes_waiting_for_a_slot_was_not_sent() -> None:
    """A create that never got a slot never left: its RequestTimeout says so."""
    slot_taken, release = anyio.Event(), anyio.Event()

    async def hold(request: httpx.Request) -> dict[str, object]:
        slot_taken.set()
        with anyio.CancelScope(shield=True):  # the slot is held past the create's deadline
            await release.wait()
        return {"success": True, "total": 0, "list": []}

    async def read_holding_the_slot() -> None:
        with contextlib.suppress(RequestTimeout):
            await cn.agents.read()

    api = FakeAPI({("database", "agents", "create"): lambda request: {"success": True}})
    api.routes[READ] = agents_list(AGENT_ROW)
    cn, http = client_for(api, max_concurrency=1, deadline=0.02)
    async with http, cn:
        await cn.agents.read()  # the token is fetched while the slot is free
        api.routes[READ] = hold
        async with anyio.create_task_group() as tg:
            tg.start_soon(read_holding_the_slot)
            await slot_taken.wait()
            with pytest.raises(RequestTimeout, match="deadline") as info:
                await cn.agents.create([{"name": "Ann", "username": "ann", "password": "x"}])
            release.set()
    assert info.value.sent is False
    assert api.calls("database", "agents", "create") == 0


def _token_endpoint(api: FakeAPI, *, hold: Callable[[int], Awaitable[None]]) -> list[int]:
    """Wrap ``api``'s token.php: ``hold(n)`` is awaited before the n-th ``get`` (from 1) is
    answered. Returns the list of ``get`` numbers that were answered."""
    inner, answered = api._token, []
    gets = 0

    async def token_route(request: httpx.Request) -> httpx.Response:
        nonlocal gets
        if request.url.params.get("action") != "get":
            return await inner(request)
        gets += 1
        number = gets
        await hold(number)
        answered.append(number)
        return await inner(request)

    api._token = token_route  # type: ignore[method-assign]  # wrap the fake's token endpoint
    return answered


async def _hang(number: int) -> None:
    await anyio.sleep(60)


async def test_a_slow_token_fetch_counts_against_the_call_deadline() -> None:
    """Waiting for its token is part of the call: its deadline ends it, and says nothing
    was sent (not a token.php timeout of its own, a deadline later)."""
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    _token_endpoint(api, hold=_hang)
    cn, http = client_for(api, timeout=30, deadline=0.05, max_retries=0)
    async with http, cn:
        started = anyio.current_time()
        with anyio.fail_after(5), pytest.raises(RequestTimeout) as info:
            await cn.agents.read()
        # At its deadline exactly: the loop's clock is virtual (the module's anyio_backend).
        assert anyio.current_time() - started == pytest.approx(0.05)
    assert info.value.sent is False
    assert str(info.value) == (
        "database.php method=agents action=read was not sent: its token fetch (token.php) "
        "did not finish within the deadline of 0.05s"
    )
    assert api.calls("database") == 0


#: What a message says ran out when only ``timeout=0.3`` bounds a call (no ``deadline=``).
TIMEOUT_ONLY = "0.3s, the time timeout=0.3s allows a call with max_retries=0"


async def test_with_only_a_timeout_a_call_cut_short_names_the_timeout_not_a_deadline() -> None:
    """The call's bound is derived from ``timeout``: a message speaking of "the deadline"
    sends the reader looking for a ``deadline=`` nobody gave."""

    async def slow_token(number: int) -> None:
        await anyio.sleep(0.1)

    async def hangs(request: httpx.Request) -> Any:
        await anyio.sleep(60)

    api = FakeAPI({READ: hangs})
    _token_endpoint(api, hold=slow_token)
    cn, http = client_for(api, timeout=0.3, max_retries=0)
    async with http, cn:
        started = anyio.current_time()
        with anyio.fail_after(5), pytest.raises(RequestTimeout) as info:
            await cn.agents.read()
        # The token took 0.1 s of the call's 0.3 s: its one attempt had 0.2 s, not 0.3 s.
        assert anyio.current_time() - started == pytest.approx(0.3)
    assert str(info.value) == (
        f"database.php method=agents action=read did not finish within {TIMEOUT_ONLY} "
        "(retries included)"
    )
    assert "deadline" not in str(info.value)


async def test_with_only_a_timeout_a_token_fetch_cut_short_names_the_timeout() -> None:
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    _token_endpoint(api, hold=_hang)
    cn, http = client_for(api, timeout=0.3, max_retries=0)
    async with http, cn:
        with anyio.fail_after(5), pytest.raises(RequestTimeout) as info:
            await cn.agents.read()
    assert str(info.value) == (
        "database.php method=agents action=read was not sent: its token fetch (token.php) "
        f"did not finish within {TIMEOUT_ONLY}"
    )


async def test_the_token_fetch_and_the_reply_share_one_deadline() -> None:
    """Each half is under the deadline; together they are over it: the call ends at it."""

    async def slow_read(request: httpx.Request) -> Any:
        await anyio.sleep(0.08)
        return agents_list(AGENT_ROW)(request)

    async def slow_token(number: int) -> None:
        await anyio.sleep(0.08)

    api = FakeAPI({READ: slow_read})
    _token_endpoint(api, hold=slow_token)
    cn, http = client_for(api, timeout=30, deadline=0.12, max_retries=0)
    async with http, cn:
        with anyio.fail_after(5), pytest.raises(RequestTimeout, match=r"deadline of 0\.12s"):
            await cn.agents.read()


async def test_a_waiter_gives_up_at_its_deadline_and_the_fetch_goes_on() -> None:
    """A call waiting on another caller's token fetch stops at its own deadline; the
    fetch is not cancelled, and its token serves the caller that made it and the calls
    after it. (The waiter is a call whose token was refused: one that began before the
    fetch, so its deadline comes first.)"""
    first_read, fetching, release = anyio.Event(), anyio.Event(), anyio.Event()
    reads = 0

    async def refused_once(request: httpx.Request) -> Any:
        nonlocal reads
        reads += 1
        if reads == 1:
            first_read.set()
            await anyio.sleep(0.36)
            return {"success": False, "error": "Expired token", "expire": -1}
        return agents_list(AGENT_ROW)(request)

    async def second_held(number: int) -> None:
        if number == 2:
            fetching.set()
            await release.wait()

    api = FakeAPI({READ: refused_once})
    answered = _token_endpoint(api, hold=second_held)
    cn, http = client_for(api, timeout=30, deadline=0.6, max_retries=0)
    renewed = []

    async def renew() -> None:
        await first_read.wait()
        await anyio.sleep(0.24)  # then leads the second fetch, 0.12 s before the refusal
        renewed.append(await cn.tokens.refresh())

    async with http, cn:
        await cn.tokens.get()
        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                started = anyio.current_time()
                tg.start_soon(renew)
                with pytest.raises(RequestTimeout) as info:
                    await cn.agents.read()
                elapsed = anyio.current_time() - started
                assert fetching.is_set()
                release.set()
            assert len(await cn.agents.read()) == 1
    assert elapsed == pytest.approx(0.6)  # at its deadline, not the fetch's end (released after)
    assert info.value.sent is False
    assert str(info.value) == (
        "database.php method=agents action=read was not sent again (its token was refused): "
        "the token fetch it waited for (another call's) did not finish within the deadline "
        "of 0.6s"
    )
    assert answered == [1, 2]
    assert [token.value for token in renewed] == api.issued[1:]
    assert api.token_gets == 2
    assert reads == 2


async def test_a_token_fetch_that_outlasts_its_callers_deadlines_goes_on_for_later_calls() -> None:
    """Calls whose token was refused late in their deadline wait for the one fetch of its
    replacement and give up at their deadlines; none of them cuts that fetch short, and
    the call after it uses its token. (This replaces a test of the old behaviour, where
    the first caller's deadline cut the fetch short and a waiter fetched again: each
    call then started the fetch from scratch, and no token ever came.)"""
    api = FakeAPI()

    async def refused_late(request: httpx.Request) -> Any:
        await anyio.sleep(1.5)
        if request.url.params["token"] == api.issued[0]:
            return {"success": False, "error": "Expired token", "expire": -1}
        return agents_list(AGENT_ROW)(request)

    async def slow_after_first(number: int) -> None:
        if number > 1:
            await anyio.sleep(1.0)  # within the fetch's own deadline, past its callers'

    api.routes[READ] = refused_late
    answered = _token_endpoint(api, hold=slow_after_first)
    cn, http = client_for(api, timeout=30, deadline=2, max_retries=0)
    cut: list[RequestTimeout] = []

    async def read(after: float) -> None:
        await anyio.sleep(after)
        with pytest.raises(RequestTimeout) as info:
            await cn.agents.read()
        cut.append(info.value)

    async with http, cn:
        await cn.tokens.get()
        with anyio.fail_after(60):  # a hang guard, on the loop's virtual time
            async with anyio.create_task_group() as tg:
                # Refused at 1.5, 1.7 and 1.9 s; they give up at 2.0, 2.2 and 2.4 s; the
                # fetch the first began at 1.5 s ends at 2.5 s.
                for after in (0.0, 0.2, 0.4):
                    tg.start_soon(read, after)
            await anyio.sleep(1)
            assert len(await cn.agents.read()) == 1
    assert answered == [1, 2]
    assert api.calls("token", None, "get") == 2
    assert [timeout.sent for timeout in cut] == [False] * 3
    again = "database.php method=agents action=read was not sent again (its token was refused): "
    assert [str(timeout) for timeout in cut] == [
        f"{again}its token fetch (token.php) did not finish within the deadline of 2s",
        *[
            f"{again}the token fetch it waited for (another call's) did not finish within "
            "the deadline of 2s"
        ]
        * 2,
    ]


async def test_a_refused_token_and_a_slow_refresh_share_the_call_deadline() -> None:
    """The refusal, the refresh and the resend all count against one deadline."""
    reads = 0

    async def refused_once(request: httpx.Request) -> Any:
        nonlocal reads
        reads += 1
        if reads == 1:
            await anyio.sleep(0.3)
            return {"success": False, "error": "Expired token", "expire": -1}
        return agents_list(AGENT_ROW)(request)

    async def second_hangs(number: int) -> None:
        if number == 2:
            await anyio.sleep(60)

    api = FakeAPI({("database", "agents", "create"): refused_once})
    _token_endpoint(api, hold=second_hangs)
    cn, http = client_for(api, timeout=30, deadline=0.4, max_retries=0)
    async with http, cn:
        await cn.tokens.get()  # a token the create's first send will use
        started = anyio.current_time()
        with anyio.fail_after(5), pytest.raises(RequestTimeout) as info:
            await cn.agents.create([{"name": "Ann", "username": "ann", "password": "x"}])
        elapsed = anyio.current_time() - started
    # At the call's deadline: a deadline of the refresh's own would end it at 0.7 s.
    assert elapsed == pytest.approx(0.4)
    assert info.value.sent is False  # refused for its token: nothing was done
    assert str(info.value) == (
        "database.php method=agents action=create was not sent again (its token was refused): "
        "its token fetch (token.php) did not finish within the deadline of 0.4s"
    )
    assert reads == 1


async def test_a_call_with_a_fresh_token_is_bounded_as_before() -> None:
    """No token to wait for: the deadline bounds the call's own attempts, as it did."""
    slow = False

    async def read(request: httpx.Request) -> Any:
        if slow:
            await anyio.sleep(60)
        return agents_list(AGENT_ROW)(request)

    api = FakeAPI({READ: read})
    cn, http = client_for(api, timeout=30, deadline=0.05, max_retries=0)
    async with http, cn:
        assert len(await cn.agents.read()) == 1
        assert len(await cn.agents.read()) == 1
        slow = True
        with anyio.fail_after(5), pytest.raises(RequestTimeout) as info:
            await cn.agents.read()
    assert info.value.sent is True
    assert "did not finish within the deadline of 0.05s" in str(info.value)
    assert api.token_gets == 1


async def test_a_reply_that_is_not_an_envelope_names_the_call() -> None:
    """An HTML page, an empty or garbled body said only "HTTP 200 (text/html) carried an
    HTML page", and a 502 only "agent.php": with a watcher's polls in flight, or a call
    whose token fetch got the page, which call was it?"""
    page = httpx.Response(200, content=b"<html>oops</html>", headers={"content-type": "text/html"})
    gateway = httpx.Response(502, content=b"<html>bad gateway</html>")
    api = FakeAPI({READ: lambda request: page, ("agent", None, "hangup"): lambda request: gateway})
    cn, http = client_for(api, max_retries=0)
    async with http, cn:
        said = r"^database\.php method=agents action=read: HTTP 200 \(text/html\) carried an HTML"
        with pytest.raises(ResponseFormatError, match=said):
            await cn.agents.read()
        with pytest.raises(HTTPStatusError, match=r"^agent\.php action=hangup answered HTTP 502"):
            await cn.control.hangup(1)
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    api.fail_token_get = lambda: httpx.Response(200, content=b"")
    cn, http = client_for(api, max_retries=0)
    async with http, cn:
        with pytest.raises(ResponseFormatError, match=r"^token\.php action=get: HTTP 200"):
            await cn.agents.read()


async def _refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


async def _reset(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadError("connection reset by peer", request=request)


async def _hanging(request: httpx.Request) -> httpx.Response:
    await anyio.sleep(60)
    raise AssertionError("unreachable")  # pragma: no cover -- cancelled first


async def _huge(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=b'{"success":true,"list":[]' + b" " * 5000 + b"}")


@pytest.mark.parametrize("reply", [_refused, _reset, _hanging, _huge])
async def test_a_lost_or_oversized_reply_names_the_call(
    reply: Callable[[httpx.Request], Awaitable[httpx.Response]],
) -> None:
    """A connection refused or reset, an attempt timed out or a reply past
    ``max_response_bytes`` named only the URL (``.../database.php``), which agents,
    queue assignments, the status log, queues and outcome codes all share: which call?"""
    api = FakeAPI({READ: reply})
    cn, http = client_for(api, timeout=0.2, deadline=30, max_retries=0, max_response_bytes=4096)
    async with http, cn:
        with anyio.fail_after(10):  # a guard: the bound under test is 0.2 s
            with pytest.raises((TransportError, ResponseFormatError)) as caught:
                await cn.agents.read()
    assert "database.php (method=agents action=read)" in str(caught.value)
    assert all(token not in str(caught.value) for token in api.issued)


async def test_a_wait_begun_after_its_client_closed_ends_at_once() -> None:
    """``Waits.within()`` entered after ``close()``: a wait that closing would have cut
    short does not start (each caller checked ``closed`` first, and one that did not
    waited its whole deadline)."""
    waits = Waits()
    waits.close()
    with anyio.fail_after(5):  # a hang guard only
        with waits.within() as scope:
            await anyio.sleep_forever()
    assert scope.cancelled_caught
