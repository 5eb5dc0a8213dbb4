"""``cn.control`` (``agent.php``) through ``MockTransport``: each documented action on the
wire, the documented replies in JSON and XML, the refusal form, and the resend rule."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from contactnow_async import (
    APIError,
    BadArgumentError,
    ContactNow,
    ResponseFormatError,
    TransportError,
    WriteResult,
)
from contactnow_async._wire import Format
from tests._helpers import FakeAPI, client_for, json_reply, sending_nothing_to
from tests.test_ecnow import FORMATS, HOSTILE
from tests.test_retries import processed_then

# The backend changes nothing these tests check: CI runs each on one a run (tests/_backends.py).
pytestmark = [pytest.mark.anyio, pytest.mark.backend_neutral]

Act = Callable[[ContactNow], Awaitable[WriteResult]]
AGENT = {"agent": "1226353", "agentid": "1226353"}
#: The documented XML reply (the article: ISO-8859-1, success 1).
XML_OK = b'<?xml version="1.0" encoding="ISO-8859-1"?> <result> <success>1</success> </result>'

#: Each action: the call, and what it must send (besides token, format, raw).
ACTIONS: dict[str, tuple[Act, dict[str, str]]] = {
    "ready": (lambda cn: cn.control.ready(1226353), AGENT),
    "pause": (lambda cn: cn.control.pause("1226353"), AGENT),
    "unpause": (lambda cn: cn.control.unpause(1226353), AGENT),
    "wrap": (lambda cn: cn.control.wrap(1226353), AGENT),
    "wrap subcode": (
        lambda cn: cn.control.wrap(1226353, subcode="Sale"),
        {**AGENT, "subcode": "Sale"},
    ),
    "hangup": (lambda cn: cn.control.hangup(1226353), AGENT),
    "hangupready": (lambda cn: cn.control.hangup_ready(1226353), AGENT),
    "logout": (lambda cn: cn.control.logout(1226353), AGENT),
    "park": (lambda cn: cn.control.park(1226353), AGENT),
    "unpark": (lambda cn: cn.control.unpark(1226353), AGENT),
    "unpark_tpt": (lambda cn: cn.control.unpark_tpt(1226353), AGENT),
    "agent_dial": (lambda cn: cn.control.agent_dial(1226353), AGENT),
    "agent_dial phone": (
        lambda cn: cn.control.agent_dial(phone="07700900123"),
        {"phone": "07700900123"},
    ),
    "manual_dial": (
        lambda cn: cn.control.manual_dial(1226353, "01614960001", queue=2001),
        {**AGENT, "ddi": "01614960001", "qid": "2001"},
    ),
    "disposition": (
        lambda cn: cn.control.disposition(90000001, 510456),
        {"callid": "90000001", "outcome": "510456"},
    ),
    "callback": (
        lambda cn: cn.control.callback(
            "90000001",
            datetime(2026, 6, 1, 9, 30, tzinfo=timezone.utc),
            agent=1226353,
            notes="after lunch",
        ),
        {
            **AGENT,
            "callid": "90000001",
            "callback": "2026-06-01 10:30:00",  # in the client's record_tz
            "notes": "after lunch",
        },
    ),
}


def action_of(name: str) -> str:
    return name.split()[0]


def sent_fields(request: httpx.Request) -> dict[str, str]:
    fields = dict(request.url.params)
    for name in ("token", "format", "raw", "action"):
        fields.pop(name, None)
    return fields


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", list(ACTIONS))
async def test_each_action_sends_the_documented_request(name: str, fmt: Format) -> None:
    act, expected = ACTIONS[name]

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("format") == "xml":
            return httpx.Response(200, content=XML_OK, headers={"content-type": "text/xml"})
        return json_reply({"success": True})

    api = FakeAPI({("agent", None, action_of(name)): route})
    cn, http = client_for(api, format=fmt, record_tz=ZoneInfo("Europe/London"))
    async with http, cn:
        result = await act(cn)
    assert result == WriteResult(success=True)
    (request,) = [r for r in api.requests if r.url.path.endswith("/agent.php")]
    assert request.method == "GET"
    assert request.url.params["action"] == action_of(name)
    assert "method" not in request.url.params
    assert sent_fields(request) == expected


async def test_a_bad_argument_names_the_argument() -> None:
    refused = {"success": False, "error": "Bad argument: xyz"}
    api = FakeAPI({("agent", None, "ready"): lambda request: refused})
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(BadArgumentError) as info:
            await cn.control.ready(1226353)
    error = info.value
    assert isinstance(error, APIError)
    assert (error.argument, error.error) == ("xyz", "Bad argument: xyz")
    assert "agent.php action=ready" in str(error) and "'xyz'" in str(error)
    assert error.envelope is not None and error.envelope.success is False


async def test_the_simulators_refusal_names_the_agent() -> None:
    refused = {"success": False, "error": "Bad argument: agent [1226353] is offline"}
    api = FakeAPI({("agent", None, "hangup"): lambda request: refused})
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(BadArgumentError) as info:
            await cn.control.hangup(1226353)
    assert info.value.argument == "agent"


@pytest.mark.parametrize("error", [httpx.ReadError, httpx.RemoteProtocolError])
async def test_an_action_whose_reply_was_lost_is_never_resent(
    error: type[httpx.TransportError],
) -> None:
    api = FakeAPI({("agent", None, "hangup"): processed_then(error, {"success": True})})
    cn, http = client_for(api, max_retries=5)
    async with http, cn:
        with pytest.raises(TransportError) as info:
            await cn.control.hangup(1226353)
    assert info.value.sent is True
    assert api.calls("agent") == 1


async def test_an_action_that_never_reached_the_server_is_resent() -> None:
    state = {"calls": 0}

    def route(request: httpx.Request) -> Any:
        state["calls"] += 1
        if state["calls"] == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return {"success": True}

    api = FakeAPI({("agent", None, "ready"): route})
    cn, http = client_for(api)
    async with http, cn:
        assert (await cn.control.ready(1)).success
    assert api.calls("agent") == 2


async def test_a_refused_token_is_replaced_and_the_action_sent_once_more() -> None:
    api = FakeAPI({("agent", None, "pause"): lambda request: {"success": True}})
    cn, http = client_for(api)
    async with http, cn:
        await cn.control.pause(1)
        api.expire_all()
        await cn.control.pause(1)
    assert api.token_gets == 2
    assert api.calls("agent") == 3  # refused (nothing done), then done


@pytest.mark.parametrize(
    ("act", "error"),
    [
        (lambda cn: cn.control.ready(""), ValueError),
        (lambda cn: cn.control.ready("1,2"), ValueError),
        (lambda cn: cn.control.ready(True), TypeError),
        (lambda cn: cn.control.agent_dial(), ValueError),
        (lambda cn: cn.control.manual_dial(1, " "), ValueError),
        (lambda cn: cn.control.manual_dial(1, None), TypeError),  # not the number "None"
        (lambda cn: cn.control.manual_dial(1, 1614960001), TypeError),  # its 0 is gone
        (lambda cn: cn.control.manual_dial(1, "0161", queue=""), ValueError),  # no queue
        (lambda cn: cn.control.manual_dial(1, "0161", queue=" "), ValueError),
        (lambda cn: cn.control.manual_dial(1, "0161", queue="2001,2002"), ValueError),  # two
        (lambda cn: cn.control.agent_dial(phone=""), ValueError),
        (lambda cn: cn.control.agent_dial(1, phone=" "), ValueError),
        (lambda cn: cn.control.disposition("", 1), ValueError),
        (lambda cn: cn.control.callback(1, datetime(2026, 1, 1)), ValueError),
        # An extra keyword naming what an argument sends: which one would the API act on?
        (lambda cn: cn.control.manual_dial(1, "0161", agentid=2), TypeError),
        (lambda cn: cn.control.manual_dial(1, "0161", queue=5, qid=6), TypeError),
        (lambda cn: cn.control.disposition(7, 100, callid=8), TypeError),
        (lambda cn: cn.control.callback(7, 1_800_000_000, agent=1, agentid=2), TypeError),
        (lambda cn: cn.control.agent_dial(1, agentid=2), TypeError),
        (lambda cn: cn.control.agent_dial(agentid=None), ValueError),  # names no agent
    ],
)
async def test_arguments_are_checked_before_sending(
    act: Callable[[ContactNow], Awaitable[Any]], error: type[Exception]
) -> None:
    async with sending_nothing_to("agent") as cn:
        with pytest.raises(error):
            await act(cn)


@pytest.mark.parametrize(
    "when",
    [
        "",
        "tomorrow 10:30",
        "2026-06-01",  # a day: at what time?
        "2026-06-01T10:30:00",  # ISO's T
        "2026-06-01 10:30",
        "2026-06-01 10:30:00+01:00",  # a zone the API would not read: record_tz is the zone
        "2026-6-1 10:30:00",
        "2026-02-30 10:30:00",  # no such day
        "2026-06-01 25:00:00",
        "0000-00-00 00:00:00",  # the API's "no callback"
        "1800000000",  # unix seconds are a number, not text
        "\uff12\uff10\uff12\uff16-06-01 10:30:00",  # full-width digits
    ],
)
async def test_a_callback_time_the_api_cannot_read_is_refused_before_sending(when: str) -> None:
    """ECNOW.md writes a record's callback as ``'2017-12-10 10:00:00'``: text in any
    other form would be read as the API pleases, or as no callback at all."""
    async with sending_nothing_to("agent") as cn:
        with pytest.raises(ValueError, match=r"^when must be a record date 'YYYY-MM-DD HH:MM:SS'"):
            await cn.control.callback(90000001, when)


@pytest.mark.parametrize(
    "when",
    [
        -5,  # was sent as "1969-12-31 23:59:55"
        -0.5,
        datetime(1969, 12, 31, 23, 59, 59, tzinfo=timezone.utc),
        "1969-12-31 23:59:59",  # in record_tz (UTC here)
        date(2026, 6, 1),  # was sent as its midnight
        datetime(2026, 6, 1, 10, 30),  # naive: its zone would be a guess
        float("nan"),
        float("inf"),
        253_402_300_800,  # the year 10000
        10**400,
        True,  # a TypeError, as a bool is everywhere: no number of seconds
    ],
)
async def test_a_callback_time_that_is_no_moment_to_call_is_refused_before_sending(
    when: object,
) -> None:
    async with sending_nothing_to("agent") as cn:
        error: type[Exception] = TypeError if when is True else ValueError
        with pytest.raises(error, match=r"^when must be an aware" if when is True else r"^when "):
            await cn.control.callback(90000001, when)  # type: ignore[arg-type]  # refused


async def test_a_callback_time_as_text_is_sent_as_the_record_date_it_is() -> None:
    api = FakeAPI({("agent", None, "callback"): lambda request: {"success": True}})
    cn, http = client_for(api, record_tz=ZoneInfo("Europe/London"))
    async with http, cn:
        await cn.control.callback(90000001, " 2026-06-01 10:30:00 ")
        await cn.control.callback(90000001, "2028-02-29 23:59:59")
    assert [sent_fields(r)["callback"] for r in api.requests if "agent.php" in r.url.path] == [
        "2026-06-01 10:30:00",
        "2028-02-29 23:59:59",
    ]


async def test_an_extra_wire_name_stands_for_an_argument_left_out() -> None:
    api = FakeAPI({("agent", None, "manual_dial"): lambda request: {"success": True}})
    cn, http = client_for(api)
    async with http, cn:
        await cn.control.manual_dial(7, "0161", qid=2001)  # queue= by its wire name
        await cn.control.manual_dial(7, "0161", queue=2001, qid=None)  # None: not sent
    for request in [r for r in api.requests if r.url.path.endswith("/agent.php")]:
        assert sent_fields(request) == {"agent": "7", "agentid": "7", "ddi": "0161", "qid": "2001"}


async def test_extra_arguments_are_sent_as_given() -> None:
    api = FakeAPI({("agent", None, "manual_dial"): lambda request: {"success": True}})
    cn, http = client_for(api)
    async with http, cn:
        await cn.control.manual_dial(7, "0161", urn=2499265)
    (request,) = [r for r in api.requests if r.url.path.endswith("/agent.php")]
    assert sent_fields(request) == {"agent": "7", "agentid": "7", "ddi": "0161", "urn": "2499265"}


@pytest.mark.parametrize("hostile", [h for h in HOSTILE if h not in ("wrong types", "null row")])
async def test_hostile_replies_raise_response_format_error(hostile: str) -> None:
    api = FakeAPI({("agent", None, "ready"): lambda request: HOSTILE[hostile]("datasets")})
    cn, http = client_for(api, max_retries=0)
    async with http, cn:
        with pytest.raises(ResponseFormatError):
            await cn.control.ready(1)
