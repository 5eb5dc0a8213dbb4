"""Retries: transient faults are retried only where a resend cannot duplicate work."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping

import anyio
import httpx
import pytest

from contactnow_async import (
    ContactNow,
    HTTPStatusError,
    RateLimitError,
    RequestTimeout,
    ResponseFormatError,
    ScaledClock,
    TransportError,
    VirtualClock,
    resend_is_safe,
)
from tests._helpers import (
    AGENT_ROW,
    BASE_URL,
    PASSWORD,
    USERNAME,
    FakeAPI,
    client_for,
    json_reply,
)

pytestmark = pytest.mark.anyio

CREATE = ("database", "agents", "create")
READ = ("database", "agents", "read")
CREATED = {"success": True, "account_id": "10278", "total": 1, "bad": 0, "key": 550423}
NEW_AGENT = [{"name": "Ann", "username": "ann", "password": "pw"}]


def processed_then(
    error: type[httpx.TransportError], reply: Mapping[str, object]
) -> Callable[[httpx.Request], Mapping[str, object]]:
    """The server does the work, then the connection dies before the reply (first time only)."""
    state = {"calls": 0}

    def route(request: httpx.Request) -> Mapping[str, object]:
        state["calls"] += 1
        if state["calls"] == 1:
            raise error("connection reset by peer", request=request)
        return reply

    return route


@pytest.mark.parametrize("error", [httpx.ReadError, httpx.RemoteProtocolError])
async def test_a_lost_create_reply_is_never_resent(error: type[httpx.TransportError]) -> None:
    api = FakeAPI({CREATE: processed_then(error, CREATED)})
    cn, http = client_for(api, max_retries=5)
    async with http, cn:
        with pytest.raises(TransportError) as info:
            await cn.agents.create(NEW_AGENT)
    assert api.calls(*CREATE) == 1
    assert info.value.sent is True
    assert not isinstance(info.value, RequestTimeout)


@pytest.mark.parametrize("error", [httpx.ReadError, httpx.RemoteProtocolError])
async def test_the_same_fault_on_a_read_is_retried(error: type[httpx.TransportError]) -> None:
    api = FakeAPI({READ: processed_then(error, {"success": True, "list": [AGENT_ROW]})})
    cn, http = client_for(api)
    async with http, cn:
        (agent,) = await cn.agents.read()
    assert agent.agent_id == "550423"
    assert api.calls(*READ) == 2


async def test_a_create_that_never_connected_is_retried() -> None:
    calls = 0

    def route(request: httpx.Request) -> dict[str, object]:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise httpx.ConnectError("connection refused", request=request)
        return CREATED

    api = FakeAPI({CREATE: route})
    cn, http = client_for(api, max_retries=2)
    async with http, cn:
        result = await cn.agents.create(NEW_AGENT)
    assert result.key == "550423"
    assert calls == 3


async def test_a_connect_error_that_persists_says_nothing_was_sent() -> None:
    def route(request: httpx.Request) -> dict[str, object]:
        raise httpx.ConnectError("connection refused", request=request)

    api = FakeAPI({CREATE: route})
    cn, http = client_for(api, max_retries=3)
    async with http, cn:
        with pytest.raises(TransportError) as info:
            await cn.agents.create(NEW_AGENT)
    assert info.value.sent is False
    assert api.calls(*CREATE) == 4


async def test_a_read_timeout_on_create_is_not_retried() -> None:
    api = FakeAPI({CREATE: processed_then(httpx.ReadTimeout, CREATED)})
    cn, http = client_for(api, max_retries=3)
    async with http, cn:
        with pytest.raises(RequestTimeout) as info:
            await cn.agents.create(NEW_AGENT)
    assert info.value.sent is True
    assert api.calls(*CREATE) == 1


async def test_a_pool_timeout_on_create_is_retried() -> None:
    api = FakeAPI({CREATE: processed_then(httpx.PoolTimeout, CREATED)})
    cn, http = client_for(api, max_retries=1)
    async with http, cn:
        assert (await cn.agents.create(NEW_AGENT)).key == "550423"
    assert api.calls(*CREATE) == 2


@pytest.mark.parametrize(
    ("method", "action", "payload"),
    [
        ("priority", "create", [{"agentid": "1", "qid": "2", "level": 100}]),
        ("priority", "update", [{"agentid": "1", "qid": "2", "level": 50}]),
        ("agents", "update", [{"agentid": "1", "name": "New"}]),
    ],
)
async def test_idempotent_writes_are_retried_after_a_lost_reply(
    method: str, action: str, payload: list[dict[str, object]]
) -> None:
    reply = {"success": True, "total": 0, "bad": 0, "key": 0}
    api = FakeAPI({("database", method, action): processed_then(httpx.ReadError, reply)})
    cn, http = client_for(api)
    async with http, cn:
        group = cn.priorities if method == "priority" else cn.agents
        result = await getattr(group, action)(payload)
    assert result.success
    assert api.calls("database", method, action) == 2


async def test_a_write_resent_after_a_lost_reply_says_so_in_its_result() -> None:
    """A ``priorities.create`` whose reply was lost (its pair made) is resent and answers
    ``total`` 0, as for a pair that was there before: ``resent`` tells the two apart
    from a plain 0. One resent after a refused connection sent nothing before it."""
    assignment = [{"agentid": "1", "qid": "2", "level": 50}]
    unchanged = {"success": True, "total": 0, "bad": 0}
    refused_then = {"calls": 0}

    def unsent_then(request: httpx.Request) -> Mapping[str, object]:
        refused_then["calls"] += 1
        if refused_then["calls"] == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return unchanged

    for route, resent in [(processed_then(httpx.ReadError, unchanged), True), (unsent_then, False)]:
        api = FakeAPI({("database", "priority", "create"): route})
        cn, http = client_for(api)
        async with http, cn:
            first = await cn.priorities.create(assignment)
            again = await cn.priorities.create(assignment)  # no fault: a plain 0
        assert (first.total, first.resent) == (0, resent)
        assert (again.total, again.resent) == (0, False)
        assert api.calls("database", "priority", "create") == 3


async def test_a_resent_update_that_ends_unsent_says_an_earlier_send_may_have_done_it() -> None:
    """An update's first send was processed and its reply lost; its resends could not
    connect. The error said ``sent=False`` ("could not connect"): the caller was told
    the update was not made, when the first send may have made it."""
    calls = 0

    def route(request: httpx.Request) -> dict[str, object]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ReadError("connection reset by peer", request=request)
        raise httpx.ConnectError("connection refused", request=request)

    api = FakeAPI({("database", "agents", "update"): route})
    cn, http = client_for(api, max_retries=2)
    async with http, cn:
        with pytest.raises(TransportError) as info:
            await cn.agents.update([{"agentid": "1", "name": "New"}])
    assert info.value.sent is True
    assert "an earlier attempt may have reached the server" in str(info.value)
    assert calls == 3


async def test_a_resent_update_that_ends_throttled_says_an_earlier_send_may_have_done_it() -> None:
    calls = 0

    def route(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ReadError("connection reset by peer", request=request)
        return httpx.Response(429, headers={"retry-after": "0"})

    api = FakeAPI({("database", "agents", "update"): route})
    cn, http = client_for(api, max_retries=2)
    async with http, cn:
        with pytest.raises(RateLimitError) as info:
            await cn.agents.update([{"agentid": "1", "name": "New"}])
    assert "an earlier attempt may have reached the server" in str(info.value)
    assert info.value.retry_after == 0
    assert calls == 3


async def test_a_create_never_sent_still_says_so_after_its_retries() -> None:
    def route(request: httpx.Request) -> dict[str, object]:
        raise httpx.ConnectError("connection refused", request=request)

    api = FakeAPI({CREATE: route, READ: route})
    cn, http = client_for(api, max_retries=2)
    async with http, cn:
        for call in (lambda: cn.agents.create(NEW_AGENT), cn.agents.read):
            with pytest.raises(TransportError) as info:
                await call()
            assert info.value.sent is False
            assert "earlier attempt" not in str(info.value)


async def test_a_backoff_on_a_clock_slower_than_real_time_ends_at_the_deadline() -> None:
    """The backoff sleeps on the client's clock; the deadline runs on anyio's. A wait of
    0.02 s on a clock a thousand times slower took 20 s, past a 0.05 s deadline."""
    api = FakeAPI({READ: status_then_ok(503, {"success": True}, **{"retry-after": "0.02"})})
    cn, http = client_for(api, clock=ScaledClock(0.001), deadline=0.05)
    async with http, cn:
        await cn.tokens.get()
        with anyio.fail_after(5), pytest.raises(HTTPStatusError) as info:
            await cn.agents.read()
    assert info.value.status_code == 503
    assert api.calls(*READ) == 1


def status_then_ok(
    status: int, reply: dict[str, object], **headers: str
) -> Callable[[httpx.Request], httpx.Response]:
    state = {"calls": 0}

    def route(request: httpx.Request) -> httpx.Response:
        state["calls"] += 1
        if state["calls"] == 1:
            return httpx.Response(status, content=b"<html>busy</html>", headers=headers)
        return json_reply(reply)

    return route


async def test_429_with_retry_after_is_honoured_even_for_create() -> None:
    api = FakeAPI({CREATE: status_then_ok(429, CREATED, **{"retry-after": "0"})})
    cn, http = client_for(api)
    async with http, cn:
        assert (await cn.agents.create(NEW_AGENT)).key == "550423"
    assert api.calls(*CREATE) == 2


async def test_429_with_a_long_retry_after_is_raised() -> None:
    api = FakeAPI({READ: status_then_ok(429, {"success": True}, **{"retry-after": "3600"})})
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(RateLimitError) as info:
            await cn.agents.read()
    assert info.value.retry_after == 3600
    assert info.value.status_code == 429
    assert api.calls(*READ) == 1


async def raise_for_status(response: httpx.Response) -> None:
    response.raise_for_status()


@pytest.mark.parametrize(("status", "wait"), [(429, "3600"), (429, "7"), (503, "3600"), (503, "7")])
async def test_retry_after_is_honoured_behind_a_raise_for_status_hook(
    status: int, wait: str
) -> None:
    """A caller's ``http_client`` whose response hook raises for the status: its 429 or
    503 was retried after the backoff alone, ``Retry-After`` unread (an hour's too)."""
    api = FakeAPI({READ: status_then_ok(status, {"success": True}, **{"retry-after": wait})})
    http = httpx.AsyncClient(
        transport=httpx.MockTransport(api), event_hooks={"response": [raise_for_status]}
    )
    clock = VirtualClock(1_700_000_000)
    cn = ContactNow(
        username=USERNAME, password=PASSWORD, base_url=BASE_URL, http_client=http, clock=clock
    )
    async with http, cn:
        await cn.tokens.get()
        before = clock.now()
        if wait == "3600":
            error = RateLimitError if status == 429 else HTTPStatusError
            with pytest.raises(error) as info:
                await cn.agents.read()
            assert info.value.status_code == status
            if status == 429:
                assert info.value.retry_after == 3600  # type: ignore[attr-defined]
        else:
            assert await cn.agents.read() == []
            assert clock.now() - before >= 7
    assert api.calls(*READ) == (1 if wait == "3600" else 2)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_is_retried_for_reads(status: int) -> None:
    api = FakeAPI({READ: status_then_ok(status, {"success": True, "list": [AGENT_ROW]})})
    cn, http = client_for(api)
    async with http, cn:
        assert len(await cn.agents.read()) == 1
    assert api.calls(*READ) == 2


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_is_not_retried_for_agent_creates(status: int) -> None:
    api = FakeAPI({CREATE: status_then_ok(status, CREATED)})
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(HTTPStatusError) as info:
            await cn.agents.create(NEW_AGENT)
    assert info.value.status_code == status
    assert api.calls(*CREATE) == 1


@pytest.mark.parametrize("max_retries", [0, 1, 3])
async def test_max_retries_is_respected(max_retries: int) -> None:
    api = FakeAPI({READ: lambda request: httpx.Response(503, content=b"busy")})
    cn, http = client_for(api, max_retries=max_retries)
    async with http, cn:
        with pytest.raises(HTTPStatusError):
            await cn.agents.read()
    assert api.calls(*READ) == max_retries + 1


async def test_retry_backoff_is_jittered_and_capped() -> None:
    api = FakeAPI()
    cn, http = client_for(api, retry_backoff=1.0, retry_backoff_max=4.0)
    async with http, cn:
        policy = cn.retry
        delays = [policy.delay(attempt, None) for attempt in range(10) for _ in range(20)]
        assert all(delay is not None and 0 <= delay <= 4.0 for delay in delays)
        assert len(set(delays)) > 1
        assert policy.delay(0, 2.5) == pytest.approx(2.5, abs=1.0)
        assert (policy.delay(0, 2.5) or 0) >= 2.5
        assert policy.delay(0, 61.0) is None  # a minute's wait is not a blip: raise


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<!DOCTYPE html><html><body>Maintenance</body></html>", "text/html"),
        (b'{"success":true,"list":[{"agentid":"55', "application/json"),
        (b"", "application/json"),
        (b"Fatal error: Uncaught exception in /var/www/database.php", "text/plain"),
        (b'["not", "an", "envelope"]', "application/json"),
    ],
)
async def test_a_body_that_is_not_an_envelope_raises_format_error(
    body: bytes, content_type: str
) -> None:
    api = FakeAPI(
        {
            READ: lambda request: httpx.Response(
                200, content=body, headers={"content-type": content_type}
            )
        }
    )
    cn, http = client_for(api, max_retries=1)
    async with http, cn:
        with pytest.raises(ResponseFormatError) as info:
            await cn.agents.read()
    assert info.value.status_code == 200
    assert info.value.content_type == content_type
    assert info.value.snippet == body[:200].decode()
    assert content_type in str(info.value)
    assert api.calls(*READ) == 2  # a garbled read is retried once, then raised


async def test_a_garbled_create_reply_is_not_retried() -> None:
    api = FakeAPI({CREATE: lambda request: httpx.Response(200, content=b"<html>")})
    cn, http = client_for(api, max_retries=3)
    async with http, cn:
        with pytest.raises(ResponseFormatError):
            await cn.agents.create(NEW_AGENT)
    assert api.calls(*CREATE) == 1


# Under trio, leaving a streamed body early abandons httpx's own nested body
# generators (aiter_raw, BoundAsyncStream, ...), which trio reports as ResourceWarning
# when they are collected; the library closes the one it holds (aclosing).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("declare_length", [True, False])
async def test_a_body_over_the_cap_is_refused(declare_length: bool) -> None:
    big = b'{"success":true,"list":[' + b'{"agentid":"1"},' * 1000 + b'{"agentid":"2"}]}'

    def route(request: httpx.Request) -> httpx.Response:
        if declare_length:
            return httpx.Response(200, content=big)

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(big), 4000):
                yield big[start : start + 4000]

        return httpx.Response(200, content=chunks())  # no Content-Length: streamed

    api = FakeAPI({READ: route})
    cn, http = client_for(api, max_response_bytes=10_000, max_retries=3)
    async with http, cn:
        with pytest.raises(ResponseFormatError, match="max_response_bytes"):
            await cn.agents.read()
    assert api.calls(*READ) == 1  # the same request would bring the same reply: not retried
    cn, http = client_for(api, max_response_bytes=len(big), max_retries=0)
    async with http, cn:
        assert len(await cn.agents.read()) == 1001


def test_resend_is_safe_rule() -> None:
    assert resend_is_safe("database", "agents", "read")
    assert resend_is_safe("ajax", "agents", "read")
    assert resend_is_safe("database", "priority", "create")
    assert resend_is_safe("database", "priority", "update")
    assert resend_is_safe("database", "agents", "update")
    assert not resend_is_safe("database", "agents", "create")
    assert not resend_is_safe("ecnow", "ecnow_records", "create")
    assert not resend_is_safe("database", "outcomecodes", "update")


async def test_the_generic_request_can_declare_a_write_idempotent() -> None:
    route = processed_then(httpx.ReadError, {"success": True, "total": 1})
    api = FakeAPI({("ecnow", "ecnow_records", "update"): route})
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(TransportError):
            await cn.request("ecnow", method="ecnow_records", action="update", payload=[{"id": 1}])
        assert api.calls("ecnow") == 1
        envelope = await cn.request(
            "ecnow", method="ecnow_records", action="update", payload=[{"id": 1}], idempotent=True
        )
        assert envelope.total == 1


@pytest.mark.parametrize("value", ["no", "false", 0, 1])
async def test_idempotent_must_be_a_bool_or_none(value: object) -> None:
    """``idempotent="no"`` is truthy: a write was resent after its reply was lost."""
    api = FakeAPI({("ecnow", "ecnow_records", "create"): lambda request: {"success": True}})
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(TypeError, match="idempotent must be True, False or None"):
            await cn.request(
                "ecnow", method="ecnow_records", action="create", payload=[{"id": 1}],
                idempotent=value,  # type: ignore[arg-type]  # the wrong type on purpose
            )  # fmt: skip
    assert api.requests == []
