"""The client: lifecycle, options, what goes on the wire, endpoint arguments, live paging."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import httpx
import pytest

from contactnow_async import (
    AgentInput,
    APIError,
    BadArgumentError,
    ContactNow,
    MemoryTokenStore,
    QueueAssignment,
    Region,
    ResponseFormatError,
    Token,
    TokenError,
    WriteError,
)
from tests._helpers import (
    AGENT_ROW,
    BASE_URL,
    PASSWORD,
    USERNAME,
    FakeAPI,
    agents_list,
    client_for,
    json_reply,
)

pytestmark = pytest.mark.anyio

READ = ("database", "agents", "read")
CLOSED = "this ContactNow client is closed; create a new one"


# --- lifecycle --------------------------------------------------------------------------


async def test_async_with_returns_the_client_and_closing_twice_is_harmless() -> None:
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api)
    async with http:
        async with cn as entered:
            assert entered is cn
            assert not entered.is_closed
        assert cn.is_closed
        await cn.aclose()
        with pytest.raises(RuntimeError, match="closed"):
            await cn.agents.read()
        with pytest.raises(RuntimeError, match="closed"):
            await cn.tokens.get()
        with pytest.raises(RuntimeError, match="closed"):
            async with cn:
                pass
        # The user's own http client is not closed by the library.
        assert not http.is_closed
    assert http.is_closed


async def test_a_client_entered_twice_says_so_instead_of_closing_under_its_block() -> None:
    # A service enters its shared client in its lifespan; a handler that enters it again
    # (as if it were its own) closed it at the end of its own block: every later call of
    # the service, the wallboard's watcher too, failed with "closed; create a new one",
    # far from the cause. Refused at the second entry now, as httpx refuses it.
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(RuntimeError, match="already open"):
            async with cn:
                pass  # pragma: no cover -- refused before
        assert not cn.is_closed
        assert await cn.agents.read()
    assert cn.is_closed


async def test_the_client_closes_the_pool_it_made() -> None:
    cn = ContactNow(username=USERNAME, password=PASSWORD)
    async with cn:
        http = cn._transport.http  # made at the first request, or here
    assert http.is_closed


class StuckStore(MemoryTokenStore):
    """A shared token store that stopped answering (a Redis that hangs): no load ends."""

    def __init__(self) -> None:
        super().__init__()
        self.loading = anyio.Event()

    async def load(self, key: str) -> Token | None:
        self.loading.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")  # pragma: no cover -- sleep_forever never returns


async def test_calls_waiting_for_their_token_when_the_client_closes_end_at_once() -> None:
    """Closing the client cut short the calls being sent, not those waiting for their
    token (the fetch one of them leads, stuck in the store): they waited on until their
    deadline, and then said the token fetch had timed out. They end with the close now."""
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    store = StuckStore()
    cn, http = client_for(api, token_store=store)
    ended: list[Exception] = []

    async def call(what: Callable[[], Awaitable[object]]) -> None:
        try:
            await what()
        except Exception as exc:  # what the call ends with is the subject
            ended.append(exc)

    async with http, cn, anyio.create_task_group() as tg:
        tg.start_soon(call, cn.agents.read)  # leads the token fetch
        await store.loading.wait()
        tg.start_soon(call, cn.agents.read)  # waits for it
        tg.start_soon(call, cn.tokens.get)  # and so does this
        tg.start_soon(call, cn.tokens.refresh)  # stuck in the store as well
        await anyio.wait_all_tasks_blocked()
        await cn.aclose()
        await anyio.wait_all_tasks_blocked()
        tg.cancel_scope.cancel()  # the calls still waiting: the assertion below names them
    assert [(type(error), str(error)) for error in ended] == [(RuntimeError, CLOSED)] * 4
    assert api.requests == []


LIBRARIES = [("asyncio", "trio"), ("trio", "asyncio")]


@pytest.mark.parametrize(("first", "then"), LIBRARIES)
def test_a_client_given_an_http_client_says_so_under_another_async_library(
    first: str, then: str
) -> None:
    # Made at import, used by two anyio.run()s of either library (a script, a test suite
    # of both backends): the second failed in anyio's limiter with asyncio's "no running
    # event loop" or trio's "must be called from async context", and the caller's httpx
    # pool (its httpcore locks, made for the first library) would have failed so next.
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, _ = client_for(api)

    async def read() -> None:
        assert [agent.agent_id for agent in await cn.agents.read()] == ["550423"]

    anyio.run(read, backend=first)
    anyio.run(read, backend=first)  # another loop of the same library: not checked
    for call in (read, cn.tokens.refresh, cn.aclose):
        with pytest.raises(RuntimeError) as info:
            anyio.run(call, backend=then)
        assert f"first used under {first}, and this call runs under {then}" in str(info.value)
    assert not cn.is_closed  # the aclose refused did not close it
    anyio.run(read, backend=first)
    assert api.token_gets == 1


def test_a_trio_guest_run_on_an_asyncio_loop_is_told_from_the_host() -> None:
    # trio.lowlevel.start_guest_run: trio's tasks run on an asyncio loop's thread, where
    # asyncio.get_running_loop() answers the host's loop too. The client took a call from
    # the guest for one of the host's, and failed in trio's limiter under asyncio ("must
    # be called from async context") instead of saying which library was which.
    import asyncio

    import trio

    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, _ = client_for(api)

    async def guest() -> None:
        assert [agent.agent_id for agent in await cn.agents.read()] == ["550423"]

    async def host() -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()
        trio.lowlevel.start_guest_run(
            guest,
            run_sync_soon_threadsafe=loop.call_soon_threadsafe,
            done_callback=done.set_result,
            host_uses_signal_set_wakeup_fd=True,
        )
        (await done).unwrap()  # the guest's outcome: its read went through
        with pytest.raises(RuntimeError, match="first used under trio, and this call runs under"):
            await cn.agents.read()

    asyncio.run(host())
    assert api.token_gets == 1


@pytest.mark.parametrize(("first", "then"), LIBRARIES)
def test_a_client_on_a_transport_of_the_callers_serves_either_async_library(
    first: str, then: str
) -> None:
    # The client's own pool over an in-memory transport holds nothing of a library: its
    # concurrency limiter (anyio's, made for one library) is made again for the other.
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn = ContactNow(
        username=USERNAME,
        password=PASSWORD,
        base_url=BASE_URL,
        transport=httpx.MockTransport(api),
        max_concurrency=2,
    )

    async def read_many() -> None:
        async with anyio.create_task_group() as tg:
            for _ in range(5):  # more than max_concurrency: some wait for a slot
                tg.start_soon(cn.agents.read)

    for backend in (first, then, first):
        anyio.run(read_many, backend=backend)
    assert api.token_gets == 1
    assert sum(READ[0] in str(request.url) for request in api.requests) == 15
    anyio.run(cn.aclose, backend=then)
    assert cn.is_closed


# --- options ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"username": ""}, "username and password"),
        ({"password": ""}, "username and password"),
        ({"format": "yaml"}, "format"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"base_url": "ftp://example.com/"}, "base_url"),
        ({"base_url": "https://example.com/?token=x"}, "query"),
        ({"base_url": "not a url"}, "base_url"),
        ({"region": "mars"}, "region"),
        ({"timeout": -1}, "timeout"),
        ({"token_margin": -5}, "token_margin"),
        ({"retry_backoff": -1}, "retry_backoff"),
        ({"max_response_bytes": 0}, "max_response_bytes"),
        # NaN compares false with everything: each was taken (a NaN cap was no cap at all)
        ({"timeout": math.nan}, "timeout"),
        ({"token_margin": math.nan}, "token_margin"),
        # every token would be due at once: each call fetched one, then blamed the API's clock
        ({"token_margin": math.inf}, "token_margin"),
        ({"token_margin": 12 * 3600}, "token_margin"),
        ({"retry_backoff": math.nan}, "retry_backoff"),
        ({"retry_backoff_max": math.nan}, "retry_backoff"),
        ({"max_response_bytes": math.nan}, "max_response_bytes"),
        ({"max_download_bytes": math.nan}, "max_download_bytes"),
    ],
)
def test_bad_options_raise_value_error(options: dict[str, Any], message: str) -> None:
    options = {"username": USERNAME, "password": PASSWORD, **options}
    with pytest.raises(ValueError, match=message):
        ContactNow(**options)


@pytest.mark.parametrize(
    "options",
    [
        # A bool is no count nor amount: deadline=True was one second, max_response_bytes=True
        # a cap of one byte, campaign=True sent as "True" on every call.
        {"max_retries": True},
        {"max_concurrency": True},
        {"deadline": True},
        {"token_margin": False},
        {"retry_backoff": True},
        {"max_response_bytes": True},
        {"campaign": True},
        {"timeout": True},
        # Not a whole count: max_concurrency=2.5 failed only at the first call, in anyio's words.
        {"max_retries": 2.5},
        {"max_concurrency": 2.5},
        # Text: a bare "'<' not supported between instances of 'str' and 'int'", or sent.
        {"max_retries": "3"},
        {"deadline": "5"},
        {"token_margin": "60"},
        {"retry_backoff_max": "10"},
        {"max_download_bytes": "1000"},
        {"timeout": "30"},
        {"campaign": ["10278"]},
        {"username": 5},
    ],
    ids=lambda options: "-".join(f"{name}={value!r}" for name, value in options.items()),
)
def test_options_of_the_wrong_type_raise_type_error_naming_them(options: dict[str, Any]) -> None:
    (name,) = options
    with pytest.raises(TypeError, match=f"^{name} must be "):
        ContactNow(**{"username": USERNAME, "password": PASSWORD, **options})


def test_regions() -> None:
    eu = ContactNow(username=USERNAME, password=PASSWORD)
    assert eu.base_url == "https://api-106.dxi.eu/"
    us = ContactNow(username=USERNAME, password=PASSWORD, region=Region.US)
    assert us.base_url == "https://api.contactnow.8x8.com/api/"
    local = ContactNow(username=USERNAME, password=PASSWORD, base_url="http://127.0.0.1:8080")
    assert local.base_url == "http://127.0.0.1:8080/"
    assert PASSWORD not in repr(eu)


async def test_the_us_region_keeps_the_api_prefix() -> None:
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    http = httpx.AsyncClient(transport=httpx.MockTransport(api))
    cn = ContactNow(
        username=USERNAME, password=PASSWORD, region=Region.US, http_client=http, retry_backoff=0
    )
    async with http, cn:
        await cn.agents.read()
    urls = {str(request.url.copy_with(query=None)) for request in api.requests}
    assert urls == {
        "https://api.contactnow.8x8.com/api/token.php",
        "https://api.contactnow.8x8.com/api/database.php",
    }


async def test_campaign_is_sent_on_every_call() -> None:
    api = FakeAPI(
        {
            READ: agents_list(AGENT_ROW),
            ("database", "priority", "create"): lambda request: {"success": True, "total": 1},
            ("ajax", "agents", "read"): lambda request: {"success": True, "list": []},
        }
    )
    cn, http = client_for(api, campaign="4242")
    async with http, cn:
        await cn.agents.read()
        await cn.priorities.create([{"agentid": "1", "qid": "2", "level": 3}])
        await cn.live.agents()
    api_calls = [r for r in api.requests if not r.url.path.endswith("token.php")]
    assert len(api_calls) == 3
    assert all(request.url.params.get("campaign") == "4242" for request in api_calls)


async def test_request_arguments_on_the_wire() -> None:
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api)
    async with http, cn:
        await cn.agents.read(name="Joe Blogs", agent_id=550423)
    token_get, read = api.requests
    assert token_get.method == "GET"
    assert token_get.url.params["action"] == "get"
    assert read.method == "GET"
    assert dict(read.url.params) == {
        "action": "read",
        "format": "json",
        "raw": "1",
        "method": "agents",
        "name": "Joe Blogs",
        "agentid": "550423",
        "token": api.issued[0],
    }


async def test_unknown_agent_filter_is_refused() -> None:
    api = FakeAPI()
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(TypeError, match="colour"):
            await cn.agents.read(colour="blue")
    assert api.requests == []


async def test_an_agent_filter_given_by_both_names_is_refused() -> None:
    api = FakeAPI()
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(TypeError, match="agentid"):
            await cn.agents.read(agentid=1, agent_id=2)
    assert api.requests == []


async def test_agent_mappings_to_write_take_the_attribute_names_too() -> None:
    bodies: list[bytes] = []

    def write(request: httpx.Request) -> dict[str, object]:
        bodies.append(request.content)
        return {"success": True, "total": 1, "bad": 0, "key": 7}

    api = FakeAPI(
        {("database", "agents", "create"): write, ("database", "agents", "update"): write}
    )
    cn, http = client_for(api)
    async with http, cn:
        await cn.agents.create([{"name": "Ann", "user_field": "u", "last_broadcast_message": "m"}])
        await cn.agents.update([{"agent_id": "5", "userfield": "v"}])
    # Sent as the API names them: the API ignores a field it does not know, and said
    # success while the attribute-named fields were lost.
    assert json.loads(bodies[0]) == [{"name": "Ann", "userfield": "u", "last_broadcast_msg": "m"}]
    assert json.loads(bodies[1]) == [{"agentid": "5", "userfield": "v"}]


async def test_an_agent_mapping_with_an_unknown_or_doubled_field_is_refused() -> None:
    api = FakeAPI()
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(ValueError, match="'nmae'"):
            await cn.agents.create([{"nmae": "Ann", "password": "agent-secret"}])
        with pytest.raises(ValueError, match="userfield") as info:
            await cn.agents.update(
                [{"agentid": "5", "userfield": "a", "user_field": "b", "pin": "agent-secret"}]
            )
        assert "agent-secret" not in str(info.value)
    assert api.requests == []


async def test_create_sends_a_json_array_body() -> None:
    bodies: list[bytes] = []

    def create(request: httpx.Request) -> dict[str, object]:
        bodies.append(request.content)
        assert request.method == "POST"
        return {"success": True, "total": 1, "bad": 0, "key": 7}

    api = FakeAPI({("database", "agents", "create"): create})
    cn, http = client_for(api)
    async with http, cn:
        await cn.agents.create([{"name": "Ann", "username": "ann"}])
        await cn.agents.create([AgentInput(name="Bob", password="pw", aod="no")])
    assert json.loads(bodies[0]) == [{"name": "Ann", "username": "ann"}]
    assert json.loads(bodies[1]) == [{"name": "Bob", "password": "pw", "aod": "no"}]


async def test_xml_format_sends_dxi_payloads() -> None:
    bodies: list[bytes] = []

    def write(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        assert request.url.params["format"] == "xml"
        return httpx.Response(
            200,
            content=b"<result><success>1</success><total>1</total><bad>0</bad><key>9</key></result>",
        )

    api = FakeAPI(
        {("database", "agents", "create"): write, ("database", "priority", "create"): write}
    )
    cn, http = client_for(api, format="xml")
    async with http, cn:
        assert (await cn.agents.create([{"name": "A&B <x>"}])).key == "9"
        await cn.priorities.create([QueueAssignment(agent_id="1", queue_id="2", level=100)])
    agent = ET.fromstring(bodies[0])  # noqa: S314 -- our own payload
    assert agent.tag == "dxi"
    assert agent.findtext("agent/name") == "A&B <x>"
    priority = ET.fromstring(bodies[1]).find("priority")  # noqa: S314 -- our own payload
    assert priority is not None
    assert [(child.tag, child.text) for child in priority] == [
        ("agentid", "1"),
        ("qid", "2"),
        ("level", "100"),
    ]


async def test_write_input_is_checked_before_sending() -> None:
    api = FakeAPI()
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(TypeError, match="wrap it"):
            await cn.agents.create({"name": "Ann"})  # type: ignore[dict-item]  # the mistake tested
        with pytest.raises(ValueError, match="no records"):
            await cn.agents.create([])
        with pytest.raises(ValueError, match="agentid"):
            await cn.agents.update([{"name": "x", "password": "agent-secret"}])
        with pytest.raises(ValueError, match="level"):
            await cn.priorities.create([{"agentid": "1", "qid": "2", "pin": "agent-secret"}])
        for value in (math.nan, math.inf, -math.inf):  # each went on the wire as "nan"/"inf"
            with pytest.raises(ValueError, match=r"Age is .*not a finite number"):
                await cn.records.create([{"HomePhone": "07700900123", "Age": value}])
    assert api.requests == []


async def test_agent_secrets_are_not_echoed_in_input_errors() -> None:
    cn, http = client_for(FakeAPI())
    async with http, cn:
        with pytest.raises(ValueError, match="agentid") as info:
            await cn.agents.update([{"name": "x", "password": "agent-secret"}])
        assert "agent-secret" not in str(info.value)
        with pytest.raises(ValueError, match="qid") as info:
            await cn.priorities.create([{"agentid": "1", "qid": "", "pin": "agent-secret"}])
        assert "agent-secret" not in str(info.value)


async def test_write_with_bad_records_raises_write_error() -> None:
    api = FakeAPI(
        {
            ("database", "agents", "update"): lambda request: {
                "success": True,
                "total": 1,
                "bad": 1,
                "error": "agentid 9 not found",
            }
        }
    )
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(WriteError) as info:
            await cn.agents.update([{"agentid": "1", "name": "a"}, {"agentid": "9", "name": "b"}])
    assert info.value.result.total == 1
    assert info.value.result.bad == 1
    assert "agentid 9 not found" in str(info.value)


@pytest.mark.parametrize("payload", [None, [{"agentid": "9", "name": "b"}]])
async def test_a_request_write_with_bad_records_raises_write_error(
    payload: list[dict[str, str]] | None,
) -> None:
    # A write sent through the escape hatch, with its fields in the query (a delete, say)
    # or as a payload: refused records are an error either way; a read's reply never has any.
    refused = {"success": True, "total": 0, "bad": 1, "error": "agentid 9 not found"}
    api = FakeAPI({("database", "agents", "delete"): lambda request: refused, READ: lambda
                   request: {"success": True, "total": 1, "bad": 1, "list": []}})  # fmt: skip
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(WriteError, match="agentid 9 not found") as info:
            await cn.request(
                "database", method="agents", action="delete", params={"agentid": "9"},
                payload=payload, idempotent=True,
            )  # fmt: skip
        assert info.value.result.bad == 1
        envelope = await cn.request("database", method="agents", action="read")
        assert envelope.bad == 1  # a read is returned as it came


async def test_api_error_carries_text_and_envelope() -> None:
    api = FakeAPI({READ: lambda request: {"success": False, "error": "Unknown method"}})
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(APIError) as info:
            await cn.agents.read()
    assert info.value.error == "Unknown method"
    assert info.value.envelope is not None
    assert info.value.envelope.success is False


async def test_the_generic_request_returns_the_envelope() -> None:
    api = FakeAPI(
        {
            ("ecnow", "ecnow_datasets", "read"): lambda request: {
                "success": True,
                "total": 1,
                "list": [{"dataset": "1", "table": request.url.params["table"]}],
            }
        }
    )
    cn, http = client_for(api)
    async with http, cn:
        envelope = await cn.request(
            "ecnow", method="ecnow_datasets", action="read", params={"table": "X", "skip": None}
        )
    assert envelope.records == ({"dataset": "1", "table": "X"},)
    assert "skip" not in api.requests[-1].url.params


async def test_a_record_of_the_wrong_shape_is_a_format_error() -> None:
    api = FakeAPI(
        {
            ("database", "status_log", "read"): lambda request: {
                "success": True,
                "list": [{"uid": "not-a-number", "uts": "1", "agent": "1", "status": "x"}],
            },
            ("ajax", "agents", "read"): lambda request: {
                "success": True,
                "list": [{"uid": "1", "time": {"nested": "x"}}],
            },
        }
    )
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(ResponseFormatError, match="uid"):
            await cn.status_log.read()
        with pytest.raises(ResponseFormatError, match="time"):
            await cn.live.agents()


# --- status_log filters ---------------------------------------------------------------


def _status_log_params(api: FakeAPI) -> dict[str, str]:
    request = api.requests[-1]
    return {
        key: value
        for key, value in request.url.params.items()
        if key in ("uid", "agent", "tstart", "tstop")
    }


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"uid": 1000}, {"uid": "1000"}),
        ({"uid_range": (1000, 2000)}, {"uid": "1000:2000"}),
        ({"agent": ["1", 2]}, {"agent": "1,2"}),
        ({"agent": "1234"}, {"agent": "1234"}),
        (
            {"tstart": 1_700_000_000, "tstop": 1_700_003_600.9},
            {"tstart": "1700000000", "tstop": "1700003600"},
        ),
        (
            {
                "tstart": datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc),
                "tstop": datetime(2023, 11, 14, 23, 13, 20, tzinfo=timezone(timedelta(hours=1))),
            },
            {"tstart": "1700000000", "tstop": "1700000000"},
        ),
    ],
)
async def test_status_log_filters(filters: dict[str, Any], expected: Mapping[str, str]) -> None:
    rows = [
        {"uid": "3", "uts": "30", "agent": "1", "status": "wrap", "subcode": "", "callid": "0"},
        {"uid": "2", "uts": "20", "agent": "1", "status": "call", "subcode": "", "callid": "5"},
    ]
    api = FakeAPI({("database", "status_log", "read"): agents_list(*rows)})
    cn, http = client_for(api)
    async with http, cn:
        result = await cn.status_log.read(**filters)
    assert _status_log_params(api) == expected
    assert [row.log_id for row in result] == [2, 3]  # in uid order


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"tstart": datetime(2023, 11, 14, 22, 13, 20)}, "naive"),  # the zone is a guess
        ({"uid": 5, "uid_range": (1, 2)}, "not both"),
        ({"uid_range": (9, 1)}, "above"),
        ({"tstart": 1_700_003_600, "tstop": 1_700_000_000}, "after tstop"),  # read nothing
        # A fraction of a second after it: both went as 1700000000, a window of one second.
        ({"tstart": 1_700_000_000.7, "tstop": 1_700_000_000.2}, "after tstop"),
        (
            {
                "tstart": datetime(2023, 11, 14, 23, tzinfo=timezone.utc),
                "tstop": datetime(2023, 11, 14, 22, tzinfo=timezone.utc),
            },
            "after tstop",
        ),
        ({"agent": []}, "non-empty"),
        ({"agent": "1,2"}, "non-empty"),
        ({"tstart": -1}, "before 1970"),
        ({"tstart": -0.5}, "before 1970"),  # whole seconds toward 0 made it 0: it went
        ({"tstop": datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=timezone.utc)}, "1970"),
    ],
)
async def test_status_log_refuses_bad_filters(filters: dict[str, Any], message: str) -> None:
    api = FakeAPI()
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(ValueError, match=message):
            await cn.status_log.read(**filters)
    assert api.requests == []


# --- live paging ----------------------------------------------------------------------


def live_row(uid: int, status: str = "wait") -> dict[str, Any]:
    return {"uid": str(uid), "name": f"Agent {uid}", "status": status, "time": "100",
            "srvtime": "160", "call": []}  # fmt: skip


class PagingServer:
    """ajax.php answering ``limit``/``start`` pages of ``agents`` (changeable between pages)."""

    def __init__(self, agents: list[dict[str, Any]], *, page: int, honour_start: bool = True):
        self.agents = agents
        self.page = page
        self.honour_start = honour_start
        self.requests: list[dict[str, str]] = []
        self.before_page: list[Any] = []

    def __call__(self, request: httpx.Request) -> dict[str, Any]:
        params = dict(request.url.params)
        self.requests.append(params)
        if self.before_page:
            self.before_page.pop(0)(self)
        limit = int(params.get("limit", self.page))
        start = int(params.get("start", 0)) if self.honour_start else 0
        rows = self.agents[start : start + min(limit, self.page)]
        return {"success": True, "total": len(self.agents), "list": rows}


async def _snapshot(server: PagingServer, **options: Any) -> Any:
    api = FakeAPI({("ajax", "agents", "read"): server})
    cn, http = client_for(api)
    async with http, cn:
        return await cn.live.snapshot(**options)


@pytest.mark.parametrize("page_size", [None, 7, 100])
async def test_live_pages_until_total(page_size: int | None) -> None:
    server = PagingServer([live_row(n) for n in range(25)], page=10)
    snapshot = await _snapshot(server, page_size=page_size, include_offline=True)
    assert sorted(snapshot, key=int) == [str(n) for n in range(25)]
    assert snapshot.complete
    assert snapshot.total == 25
    assert snapshot["3"].time_in_status == 60
    assert all(request["mode"] == "all" for request in server.requests)
    expected_pages = {None: 3, 7: 4, 100: 3}[page_size]
    assert len(server.requests) == snapshot.pages == expected_pages


async def test_live_agents_returns_every_page() -> None:
    server = PagingServer([live_row(n) for n in range(12)], page=5)
    api = FakeAPI({("ajax", "agents", "read"): server})
    cn, http = client_for(api)
    async with http, cn:
        agents = await cn.live.agents()
    assert [agent.agent_id for agent in agents] == [str(n) for n in range(12)]
    assert "mode" not in server.requests[0]


async def test_a_server_that_ignores_start_ends_incomplete() -> None:
    server = PagingServer([live_row(n) for n in range(10_000)], page=10, honour_start=False)
    snapshot = await _snapshot(server)
    assert not snapshot.complete
    assert len(snapshot) == 10
    assert len(server.requests) <= 3  # noticed at once, not after 1,000 identical pages


async def test_a_total_that_changes_between_pages_is_incomplete() -> None:
    server = PagingServer([live_row(n) for n in range(20)], page=10)
    server.before_page = [lambda s: None, lambda s: s.agents.append(live_row(99))]
    snapshot = await _snapshot(server)
    assert not snapshot.complete


async def test_a_later_page_without_total_leaves_the_snapshot_incomplete() -> None:
    server = PagingServer([live_row(n) for n in range(25)], page=10)
    server.before_page = [lambda s: None, lambda s: setattr(s, "drop_total", True)]
    original = PagingServer.__call__

    def answer(request: httpx.Request) -> dict[str, Any]:
        reply = original(server, request)
        if getattr(server, "drop_total", False):
            del reply["total"]  # the server stopped counting: 25 were promised
        return reply

    api = FakeAPI({("ajax", "agents", "read"): answer})
    cn, http = client_for(api)
    async with http, cn:
        snapshot = await cn.live.snapshot()
    assert len(snapshot) < 25
    assert snapshot.total == 25
    assert not snapshot.complete


async def test_one_page_cut_short_does_not_shrink_the_pages_after_it() -> None:
    server = PagingServer([live_row(n) for n in range(300)], page=50)
    original = PagingServer.__call__

    def answer(request: httpx.Request) -> dict[str, Any]:
        reply = original(server, request)
        if len(server.requests) == 2:
            reply["list"] = reply["list"][:2]  # the overlapped row and one new agent
        return reply

    api = FakeAPI({("ajax", "agents", "read"): answer})
    cn, http = client_for(api)
    async with http, cn:
        snapshot = await cn.live.snapshot()
    assert snapshot.complete
    assert len(server.requests) <= 8  # pages of 50 again, not of 3, 4, 5, ...


async def test_an_agent_on_two_pages_is_kept_once() -> None:
    agents = [live_row(n) for n in range(20)]
    server = PagingServer(agents, page=10)

    def move(s: PagingServer) -> None:
        # Agent 0 changes status and sorts to the end between the two pages.
        moved = s.agents.pop(0)
        s.agents.append(dict(moved, status="call"))

    server.before_page = [lambda s: None, move]
    snapshot = await _snapshot(server)
    assert list(snapshot).count("0") == 1
    assert snapshot["0"].status == "call"  # the later row wins
    # Agent 10 slid onto page one after it was read: the next page starts one row back,
    # so it is read there, and the moved list makes the snapshot incomplete.
    assert "10" in snapshot
    assert not snapshot.complete


async def test_live_single_agent_argument() -> None:
    server = PagingServer([live_row(5)], page=10)
    await _snapshot(server, agent=5)
    assert server.requests[0]["agent"] == "5"


# --- tokens -----------------------------------------------------------------------------


@pytest.mark.parametrize("expire", [-1, "-1", -1.0, "-1.0"])
async def test_validate_reads_an_expire_of_minus_one_in_any_form_as_expired(
    expire: object,
) -> None:
    api = FakeAPI()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("action") == "validate":
            return json_reply({"success": True, "expire": expire})
        return await api(request)

    cn, http = client_for(handler)
    async with http, cn:
        with pytest.raises(TokenError, match="not valid"):
            await cn.tokens.validate()


@pytest.mark.parametrize("name", ["action", "method", "format", "raw", "token"])
async def test_request_refuses_params_it_sends_itself(name: str) -> None:
    """Sent twice, PHP reads the last: ``params={"action": "create"}`` on a read would have
    the server write what the client then treats (and resends) as a read."""
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(ValueError, match=f"params may not set {name}"):
            await cn.request("database", method="agents", action="read", params={name: "x"})
    assert api.requests == []


@pytest.mark.parametrize(
    ("script", "options", "error"),
    [
        # The script is put in the URL's path as it is: "x?y=1" sent "y=1.php" in the
        # query, "x#y" the whole query (the token too) into a fragment nothing sent,
        # "../x" to a script outside the API's path, "" to ".php".
        pytest.param("database?method=agents", {}, ValueError, id="script query"),
        pytest.param("database#top", {}, ValueError, id="script fragment"),
        pytest.param("../admin", {}, ValueError, id="script path"),
        pytest.param("", {}, ValueError, id="script empty"),
        pytest.param("database.php", {}, ValueError, id="script suffix"),
        pytest.param(b"database", {}, TypeError, id="script bytes"),
        pytest.param(["database"], {}, TypeError, id="script list"),  # not "unhashable"
        # One record where a list of them goes: it failed in the encoder, a bare
        # AttributeError ("'str' object has no attribute 'items'").
        pytest.param("database", {"payload": {"name": "Ann"}}, TypeError, id="payload record"),
        pytest.param("database", {"payload": ["Ann"]}, TypeError, id="payload text"),
    ],
)
async def test_request_refuses_a_script_or_payload_it_would_send_wrongly(
    script: Any, options: dict[str, Any], error: type[Exception]
) -> None:
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(error, match=r"^(script|payload) must"):
            await cn.request(script, method="agents", action="create", **options)
    assert api.requests == []


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_success_with_an_error_text_is_a_refusal(fmt: str) -> None:
    # The vendor's XML error examples carry <success>1</success> with the <error>: a
    # reply is judged by its error text too, not by success alone.
    def refused(request: httpx.Request) -> httpx.Response:
        if fmt == "xml":
            return httpx.Response(
                200, content=b"<result><success>1</success><error>Bad argument: agent</error>"
                b"</result>", headers={"content-type": "text/xml"},
            )  # fmt: skip
        return json_reply({"success": True, "error": "Bad argument: agent"})

    api = FakeAPI({("agent", None, "ready"): refused, READ: refused})
    cn, http = client_for(api, format=fmt)
    async with http, cn:
        with pytest.raises(BadArgumentError, match="agent") as info:
            await cn.control.ready(5)
        assert info.value.argument == "agent"
        with pytest.raises(APIError, match="Bad argument"):
            await cn.agents.read()


async def test_success_with_a_token_error_text_fetches_a_new_token_once() -> None:
    api = FakeAPI()
    calls = []

    def read(request: httpx.Request) -> Mapping[str, Any]:
        calls.append(request.url.params["token"])
        if len(calls) == 1:
            return {"success": True, "error": "Expired token"}
        return {"success": True, "total": 0, "list": []}

    api.routes[READ] = read
    cn, http = client_for(api)
    async with http, cn:
        assert await cn.agents.read() == []
    assert api.token_gets == 2
    assert calls[0] != calls[1]


async def test_an_empty_error_text_on_success_is_no_refusal() -> None:
    api = FakeAPI({READ: lambda request: {"success": True, "error": "", "total": 0, "list": []}})
    cn, http = client_for(api)
    async with http, cn:
        assert await cn.agents.read() == []


async def test_an_agents_pin_and_password_echoed_in_an_error_are_redacted() -> None:
    # The documented errors echo values in brackets ("Record id [2499265] does not exist."):
    # a refusal that echoes a record's secrets must not carry them into the exception.
    def echo(request: httpx.Request) -> Mapping[str, Any]:
        record = json.loads(request.content)[0]
        return {
            "success": False,
            "error": f"Bad argument: pin [{record['pin']}] password [{record['password']}]",
        }

    def refused(request: httpx.Request) -> Mapping[str, Any]:
        record = json.loads(request.content)[0]
        return {"success": True, "total": 0, "bad": 1, "error": f"pin [{record['pin']}]"}

    api = FakeAPI({("database", "agents", "create"): echo,
                   ("database", "agents", "update"): refused})  # fmt: skip
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(APIError) as created:
            await cn.agents.create([{"name": "x", "pin": "55512", "password": "agentPW77"}])
        with pytest.raises(WriteError) as updated:
            await cn.agents.update([{"agentid": "7", "pin": "55512"}])
    for error in (created.value, updated.value):
        assert "55512" not in str(error) and "agentPW77" not in str(error)
        assert "55512" not in (error.error or "")
    assert "Bad argument" in str(created.value)
