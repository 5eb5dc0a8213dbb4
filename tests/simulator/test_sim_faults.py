"""Faults behave as documented, in process (``sim.transport()``) and over uvicorn."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
import threading
import time
from collections.abc import AsyncIterator
from typing import Any, cast

import anyio
import anyio.to_thread
import httpx
import pytest

from contactnow_async.simulator import FaultKind, Simulator, VirtualClock, _asgi, serve

from .._stage import Stage
from .sim_helpers import api_params, json_of

#: A bound on a test that used to hang: never reached when the code works (not a
#: measure of speed: a served simulator's start and stop vary with the machine's load).
GUARD = 20.0

pytestmark = pytest.mark.anyio


@pytest.fixture(
    params=[
        pytest.param("in_process", id="in_process"),
        pytest.param("uvicorn", id="uvicorn", marks=pytest.mark.integration),
    ]
)
async def api(
    request: pytest.FixtureRequest, sim: Simulator, anyio_backend: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client to the simulator, in process or over a real socket."""
    if request.param == "in_process":
        async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
            yield http
    else:
        stage: Stage = request.getfixturevalue("stage")  # uvicorn on 127.0.0.1
        async with stage.showing(sim) as base_url, httpx.AsyncClient(base_url=base_url) as http:
            yield http


def agent_count(sim: Simulator) -> int:
    return len(sim.live_agents(include_offline=True))


async def create(api: httpx.AsyncClient, token: str, name: str = "Faulty") -> httpx.Response:
    return await api.post(
        "database.php",
        params=api_params(token, "agents", "create"),
        content=json.dumps([{"name": name}]),
    )


async def test_latency(api: httpx.AsyncClient, sim: Simulator, token: str) -> None:
    sim.faults.inject(FaultKind.LATENCY, latency=0.05)
    started = time.monotonic()
    response = await create(api, token)
    elapsed = time.monotonic() - started
    assert json_of(response)["total"] == 1
    assert elapsed >= 0.045  # a lower bound only: the sleep happened
    assert agent_count(sim) == 21


@pytest.mark.integration
async def test_a_client_leaving_during_latency_ends_the_wait(
    sim: Simulator, token: str, caplog: pytest.LogCaptureFixture, anyio_backend: str
) -> None:
    # A client's timeout against a slow server: uvicorn's shutdown waited out its
    # graceful 5 s on the sleep, then cancelled it with "Exception in ASGI application".
    sim.faults.inject(FaultKind.LATENCY, latency=600)
    async with serve(sim) as base_url, httpx.AsyncClient(base_url=base_url, timeout=0.2) as http:
        with pytest.raises(httpx.ReadTimeout):
            await create(http, token, "Patient")
    # The work is done, as a slow server's is, and the request is logged as dropped.
    assert [(r.script, r.fault, r.status_code) for r in sim.requests] == [
        ("database", FaultKind.LATENCY, 0)
    ]
    assert agent_count(sim) == 21
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.integration
async def test_leaving_serve_cuts_an_injected_latency_short_and_lets_other_requests_finish(
    sim: Simulator,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    anyio_backend: str,
) -> None:
    # serve()'s exit waited out uvicorn's graceful 5 s on a request held in a latency
    # fault, which then got a 500 from the cancelled app. Now the latency is cut short
    # at once, its client sees the connection close, and a request that is not held in
    # a fault (here, one the wrapper below holds until then) still gets its reply.
    held, arrived, release = threading.Event(), threading.Event(), threading.Event()
    wait_ended: list[BaseException | None] = []
    client_left = _asgi._client_left

    async def watched(receive: Any, *, within: float) -> bool:
        held.set()
        try:
            left = await client_left(receive, within=within)
        except BaseException as exc:
            wait_ended.append(exc)
            raise
        wait_ended.append(None)
        return left

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and b"action=read" in scope["query_string"]:
            arrived.set()
            await anyio.to_thread.run_sync(release.wait, abandon_on_cancel=True)
        await sim(scope, receive, send)

    monkeypatch.setattr(_asgi, "_client_left", watched)
    sim.faults.inject(FaultKind.LATENCY, latency=60, action="create")
    outcomes: dict[str, httpx.Response | Exception] = {}

    async def call(what: str, url: str, **options: Any) -> None:
        try:
            outcomes[what] = await http.request(url=url, **options)
        except httpx.TransportError as exc:
            outcomes[what] = exc
        finally:
            if what == "held in latency":
                release.set()  # the other request may finish now

    with anyio.fail_after(GUARD):  # a hang guard only: the assertions are below
        async with httpx.AsyncClient(timeout=60) as http, anyio.create_task_group() as tasks:
            async with serve(cast("Simulator", app)) as base_url:
                url = f"{base_url}database.php"
                content = json.dumps([{"name": "Held"}])
                params = api_params(token, "agents", "create")
                tasks.start_soon(
                    functools.partial(
                        call, "held in latency", url, method="POST",
                        params=params, content=content,
                    )
                )  # fmt: skip
                await anyio.to_thread.run_sync(held.wait, abandon_on_cancel=True)
                tasks.start_soon(
                    functools.partial(
                        call, "ordinary", url, method="GET",
                        params=api_params(token, "agents", "read"),
                    )
                )  # fmt: skip
                await anyio.to_thread.run_sync(arrived.wait, abandon_on_cancel=True)
            # serve() has ended: both requests are over.
    assert isinstance(outcomes["held in latency"], httpx.RemoteProtocolError)
    assert len(wait_ended) == 1
    assert isinstance(wait_ended[0], asyncio.CancelledError)  # cut, not waited out
    ordinary_reply = outcomes["ordinary"]
    assert isinstance(ordinary_reply, httpx.Response)
    assert ordinary_reply.status_code == 200
    # The held create is done, as a slow server's is, and logged as dropped.
    assert [(r.action, r.fault, r.status_code) for r in sim.requests] == [
        ("create", FaultKind.LATENCY, 0),
        ("read", None, 200),
    ]
    assert agent_count(sim) == 21
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_client_giving_up_during_latency_in_process_leaves_the_work_done(
    sim: Simulator, token: str, anyio_backend: str
) -> None:
    # In process a client's timeout is a cancel scope around the app: the cancelled
    # sleep skipped the work and the record, which over a socket are both done, so an
    # in-process test of "never resend a create the server may have done" saw nothing.
    sim.faults.inject(FaultKind.LATENCY, latency=600)
    async with (
        httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http,
        anyio.create_task_group() as tasks,
    ):
        tasks.start_soon(create, http, token, "Patient")
        await anyio.wait_all_tasks_blocked()  # the app sleeps out the latency
        tasks.cancel_scope.cancel()
    assert [(r.script, r.fault, r.status_code) for r in sim.requests] == [
        ("database", FaultKind.LATENCY, 0)
    ]
    assert agent_count(sim) == 21


@pytest.mark.parametrize(
    ("kind", "status"),
    [(FaultKind.HTTP_500, 500), (FaultKind.HTTP_502, 502), (FaultKind.HTTP_503, 503)],
)
async def test_http_errors_change_nothing(
    api: httpx.AsyncClient, sim: Simulator, token: str, kind: FaultKind, status: int
) -> None:
    sim.faults.inject(kind)
    response = await create(api, token)
    assert response.status_code == status
    assert agent_count(sim) == 20
    assert sim.requests[-1].status_code == status
    assert sim.requests[-1].fault is kind
    # The fault was used up: the next request is answered normally.
    assert json_of(await create(api, token))["total"] == 1


async def test_http_429_has_retry_after(api: httpx.AsyncClient, sim: Simulator, token: str) -> None:
    sim.faults.inject(FaultKind.HTTP_429, retry_after=7)
    response = await api.get("ajax.php", params=api_params(token, "agents", "read"))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"


async def test_drop_before_changes_nothing(
    api: httpx.AsyncClient, sim: Simulator, token: str
) -> None:
    sim.faults.inject(FaultKind.DROP_BEFORE, script="database", method="agents", action="create")
    with pytest.raises(httpx.RemoteProtocolError):
        await create(api, token)
    assert agent_count(sim) == 20
    assert sim.requests[-1].status_code == 0
    assert sim.stats.count("database", "agents", "create") == 1


async def test_drop_after_changes_state(api: httpx.AsyncClient, sim: Simulator, token: str) -> None:
    sim.faults.inject(FaultKind.DROP_AFTER)
    with pytest.raises(httpx.RemoteProtocolError):
        await create(api, token, name="Dropped")
    assert agent_count(sim) == 21
    assert sim.live_agents()[-1]["name"] == "Dropped"


async def test_truncated_reply(api: httpx.AsyncClient, sim: Simulator, token: str) -> None:
    params = api_params(token, "agents", "read", mode="all")
    full = (await api.get("ajax.php", params=params)).content
    sim.faults.inject(FaultKind.TRUNCATED)
    response = await api.get("ajax.php", params=params)
    assert response.status_code == 200
    assert response.content == full[: len(full) // 2]
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_truncated_write_is_processed(
    api: httpx.AsyncClient, sim: Simulator, token: str
) -> None:
    sim.faults.inject(FaultKind.TRUNCATED)
    response = await create(api, token)
    assert response.status_code == 200
    assert agent_count(sim) == 21


async def test_malformed_reply(api: httpx.AsyncClient, sim: Simulator, token: str) -> None:
    sim.faults.inject(FaultKind.MALFORMED)
    response = await api.get("ajax.php", params=api_params(token, "agents", "read"))
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content.decode("utf-8", "replace"))


@pytest.mark.parametrize("status", [200, 500])
async def test_html_error_page(
    api: httpx.AsyncClient, sim: Simulator, token: str, status: int
) -> None:
    sim.faults.inject(FaultKind.HTML, html_status=status)
    response = await create(api, token)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert "<html>" in response.text
    assert agent_count(sim) == 20


async def test_fault_filters_and_times(api: httpx.AsyncClient, sim: Simulator, token: str) -> None:
    sim.faults.inject(
        FaultKind.HTTP_503, script="database", method="agents", action="read", times=2
    )
    assert sim.faults.pending == 2
    ajax = await api.get("ajax.php", params=api_params(token, "agents", "read"))
    assert ajax.status_code == 200
    reads = [
        (await api.get("database.php", params=api_params(token, "agents", "read"))).status_code
        for _ in range(3)
    ]
    assert reads == [503, 503, 200]
    assert sim.faults.pending == 0


@pytest.mark.slow
async def test_rate(api: httpx.AsyncClient, sim: Simulator, token: str) -> None:
    sim.faults.set_rate(0.3, kinds=(FaultKind.HTTP_503, FaultKind.HTTP_500), seed=5)
    statuses = [
        (await api.get("token.php", params={"action": "validate", "token": token})).status_code
        for _ in range(200)
    ]
    failed = sum(status != 200 for status in statuses)
    assert 0.2 * 200 <= failed <= 0.4 * 200
    assert set(statuses) <= {200, 500, 503}
    assert {500, 503} <= set(statuses)
    assert sim.stats.faults == failed
    sim.faults.clear()
    after = [
        (await api.get("token.php", params={"action": "validate", "token": token})).status_code
        for _ in range(20)
    ]
    assert after == [200] * 20


async def test_rate_is_repeatable(clock: VirtualClock, anyio_backend: str) -> None:
    outcomes = []
    for _ in range(2):
        sim = Simulator(clock=clock, agents=1)
        sim.faults.set_rate(0.5, seed=11, script="ajax")
        async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
            run = []
            for _ in range(30):
                try:
                    run.append((await http.get("ajax.php")).status_code)
                except httpx.RemoteProtocolError:
                    run.append(0)
            # A script the rate does not cover is never hit.
            assert (await http.get("token.php")).status_code == 200
        outcomes.append(run)
    assert outcomes[0] == outcomes[1]
    assert len(set(outcomes[0])) > 1


def test_fault_arguments_are_checked(sim: Simulator) -> None:
    with pytest.raises(ValueError, match="times"):
        sim.faults.inject(FaultKind.HTTP_500, times=0)
    with pytest.raises(ValueError, match="rate"):
        sim.faults.set_rate(1.5)
    with pytest.raises(ValueError, match="kind"):
        sim.faults.set_rate(0.5, kinds=())
    with pytest.raises(ValueError, match="bogus"):
        sim.faults.inject("bogus")


@pytest.mark.parametrize(
    ("script", "method", "listed"),
    [
        (None, "agent", r"any script the simulator models .* has it \(agents, calls, "),
        ("database", "ecnow_records", r"database.php has it \(agents, outcomecodes, "),
        ("reporting", "session", r"reporting.php has it \(agents, calls, cdr\)"),
        ("token", "get", r"token.php has it \(none: it takes no method\)"),  # get: its action
    ],
)
def test_a_method_no_request_has_is_refused_naming_those_it_could_be(
    sim: Simulator, script: str | None, method: str, listed: str
) -> None:
    # Taken, it never matched a request: a fault that never struck (a test of a retry
    # passed with no fault at all), a count of 0 whatever was sent.
    match = f"method '{method}': no request to {listed}"
    with pytest.raises(ValueError, match=match):
        sim.faults.inject("http_500", script=script, method=method)
    with pytest.raises(ValueError, match=match):
        sim.faults.set_rate(0.5, script=script, method=method)
    if script is not None:
        with pytest.raises(ValueError, match=match):
            sim.stats.count(script, method)
    assert sim.faults.pending == 0


@pytest.mark.parametrize(
    ("script", "method", "action", "listed"),
    [
        (None, None, "reads", r"any script the simulator models .* has it \(agent_dial, "),
        ("database", "agents", "delete", r"database.php\?method=agents has it \(create, read, "),
        ("database", None, "validate", r"database.php has it \(create, read, update\)"),
        ("reporting", "cdr", "read", r"reporting.php\?method=cdr has it \(none: it takes no "),
        ("token", None, "refresh", r"token.php has it \(get, validate\)"),
    ],
)
def test_an_action_no_request_has_is_refused_naming_those_it_could_be(
    sim: Simulator, script: str | None, method: str | None, action: str, listed: str
) -> None:
    # Taken, it never matched a request: a fault that never struck, a count of 0.
    match = f"action '{action}': no request to {listed}"
    with pytest.raises(ValueError, match=match):
        sim.faults.inject("http_500", script=script, method=method, action=action)
    if script is not None:
        with pytest.raises(ValueError, match=match):
            sim.stats.count(script, method, action)
    assert sim.faults.pending == 0


def test_the_actions_requests_have_are_taken(sim: Simulator) -> None:
    sim.faults.inject("http_500", action="read")  # every script's but reporting's
    sim.faults.inject("http_500", script="token", action="validate")
    sim.faults.inject("http_500", script="agent", action="unparktpt")  # an alias
    sim.faults.inject("http_500", script="ecnow", method="ecnow_records", action="create")
    sim.faults.inject("http_500", script="click2dial", action="dial")  # not modelled: any
    assert sim.faults.pending == 5
    assert sim.stats.count("ajax", "agents", "read") == 0


def test_the_methods_requests_have_are_taken() -> None:
    sim = Simulator()
    sim.faults.inject("http_500", method="agents")  # ajax's and database's
    sim.faults.inject("http_500", script="reporting", method="cdr")
    sim.faults.inject("http_500", script="click2dial", method="dial")  # not modelled: any
    sim.faults.set_rate(0.1, script="ecnow", method="ecnow_records")
    assert sim.faults.pending == 3
    assert sim.stats.count("database", "status_log") == 0


@pytest.mark.parametrize("kind", ["503", "HTTP_503", "timeout", 503])
def test_an_unknown_fault_kind_names_the_kinds(sim: Simulator, kind: object) -> None:
    # "'503' is not a valid FaultKind" (enum's own) named none of the kinds to pick from.
    listed = r"unknown fault kind .*: use one of latency, http_500, .*, html$"
    with pytest.raises(ValueError, match=listed):
        sim.faults.inject(kind)  # type: ignore[arg-type]  # the mistake under test
    with pytest.raises(ValueError, match=listed):
        sim.faults.set_rate(0.5, kinds=["http_500", kind])  # type: ignore[list-item]  # as above
    assert sim.faults.pending == 0


@pytest.mark.parametrize(
    ("kind", "option", "value"),
    [
        ("http_503", "latency", 2.0),  # a 503 at once, not 2 s late
        ("drop_before", "latency", 5),
        ("http_503", "retry_after", 30),  # a 503 without Retry-After
        ("html", "retry_after", 30),
        ("http_500", "html_status", 500),  # the plain 500, not an HTML page
        ("http_429", "html_status", 429),
    ],
)
def test_an_option_the_fault_kind_does_not_use_is_refused(
    sim: Simulator, kind: str, option: str, value: Any
) -> None:
    # Taken and ignored: the fault struck without what the option asked for.
    with pytest.raises(ValueError, match=f"^{option}= is for .* only, not for {kind} "):
        sim.faults.inject(kind, **{option: value})
    assert sim.faults.pending == 0
    sim.faults.inject(kind, latency=0, retry_after=1, html_status=200)  # the defaults, given
    assert sim.faults.pending == 1


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"times": 1.5}, "times"),  # counted down past 0: applied for ever
        ({"times": math.inf}, "times"),
        ({"kind": "latency", "latency": math.nan}, "latency"),
        ({"kind": "latency", "latency": math.inf}, "latency"),
        ({"kind": "latency", "latency": -1}, "latency"),
        # Taken, and the "slow" reply came at once: a fault that did nothing.
        ({"kind": "latency"}, "latency"),
        ({"kind": "latency", "latency": 0}, "latency"),
        ({"kind": "html", "html_status": 99}, "html_status"),  # a traceback under uvicorn
        ({"kind": "html", "html_status": 600}, "html_status"),
        # Statuses whose reply has no body: uvicorn broke off the page with a traceback.
        ({"kind": "html", "html_status": 100}, "html_status"),
        ({"kind": "html", "html_status": 199}, "html_status"),
        ({"kind": "html", "html_status": 204}, "html_status"),
        ({"kind": "html", "html_status": 304}, "html_status"),
        # Not an int: taken, then h11 refused it ("status code must be integer") and
        # uvicorn broke the served connection with a traceback.
        ({"kind": "html", "html_status": 500.0}, "html_status"),
        ({"kind": "html", "html_status": "500"}, "html_status"),
        # Sent as "Retry-After: -1", which no HTTP date or delay is; NaN and infinity
        # raised int()'s errors, which did not say which argument.
        ({"kind": "http_429", "retry_after": -1}, "retry_after"),
        ({"kind": "http_429", "retry_after": math.nan}, "retry_after"),
        ({"kind": "http_429", "retry_after": math.inf}, "retry_after"),
        ({"kind": "http_429", "retry_after": 1.5}, "retry_after"),  # sent as 1
        # A bool is no count nor delay: True was taken as 1, "500" raised a bare TypeError.
        ({"times": True}, "times"),
        ({"kind": "http_429", "retry_after": True}, "retry_after"),
        ({"kind": "http_429", "retry_after": "5"}, "retry_after"),
    ],
)
def test_a_fault_out_of_range_is_refused(
    sim: Simulator, options: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        sim.faults.inject(**{"kind": "http_503", **options})
    with pytest.raises(ValueError, match="latency"):
        sim.faults.set_rate(0.5, kinds=["latency"], latency=math.nan)
    assert sim.faults.pending == 0


async def test_a_script_named_with_php_is_the_script(
    api: httpx.AsyncClient, sim: Simulator, token: str
) -> None:
    sim.faults.inject(FaultKind.HTTP_503, script="ajax.php", times=2)
    statuses = [
        (await api.get("ajax.php", params=api_params(token, "agents", "read"))).status_code
        for _ in range(3)
    ]
    sim.faults.set_rate(1.0, kinds=["http_500"], script="token.php")
    rated = await api.get("token.php", params={"action": "validate", "token": token})
    assert (statuses, sim.faults.pending, rated.status_code) == ([503, 503, 200], 0, 500)


async def test_stats_count_a_script_named_with_php_as_the_script(
    http: httpx.AsyncClient, sim: Simulator, token: str
) -> None:
    # As the fault filters were: count("ajax.php") was 0, whatever had been asked.
    await http.get("ajax.php", params=api_params(token, "agents", "read"))
    assert [sim.stats.count(script, "agents") for script in ("ajax", "ajax.php")] == [1, 1]


@pytest.mark.parametrize("kind", ["http_503", FaultKind.HTTP_503], ids=["text", "enum"])
async def test_a_rate_of_one_kind_named_alone_fails_with_that_kind(
    http: httpx.AsyncClient, sim: Simulator, token: str, kind: FaultKind | str
) -> None:
    # A kind is a string, so it was taken for a collection of kinds: "'h' is not a
    # valid FaultKind".
    sim.faults.set_rate(1.0, kinds=kind, script="token")
    response = await http.get("token.php", params={"action": "validate", "token": token})
    assert response.status_code == 503


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"script": 5}, TypeError, "script"),  # AttributeError: no removesuffix
        ({"method": 5}, TypeError, "method"),  # taken: it never matched a request
        ({"action": b"read"}, TypeError, "action"),
        # Taken: no request is ever to them, so the fault never struck.
        ({"script": "agents"}, ValueError, "'agents' is not one of the scripts"),
        ({"script": "/ajax.php"}, ValueError, "not one of the scripts"),
        ({"script": "AJAX"}, ValueError, "not one of the scripts"),
    ],
)
def test_a_fault_filter_that_no_request_can_match_is_refused(
    sim: Simulator, options: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        sim.faults.inject("http_503", **options)
    rate_options = {key: value for key, value in options.items() if key != "action"}
    if rate_options:
        with pytest.raises(error, match=match):
            sim.faults.set_rate(0.5, **rate_options)
    assert (sim.faults.pending, sim.faults.take("ajax", "agents", "")) == (0, None)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        # 0 whatever was asked, so "assert count(...) == 0" passed on a typo.
        (("agents",), ValueError),
        (("AJAX",), ValueError),
        ((5,), TypeError),  # AttributeError: no removesuffix
        (("ajax", 5), TypeError),
    ],
)
async def test_stats_count_refuses_what_no_request_can_be(
    http: httpx.AsyncClient, sim: Simulator, token: str, args: tuple[Any, ...], error: type
) -> None:
    await http.get("ajax.php", params=api_params(token, "agents", "read"))
    with pytest.raises(error):
        sim.stats.count(*args)
    assert sim.stats.count("ajax", "agents", "read") == 1
