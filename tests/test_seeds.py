"""Every example reply in the vendor's documents, through the public API.

The replies are copied verbatim from ``shared/seeds/`` (JSON and XML). Each one
is served by an ``httpx.MockTransport`` and read back through ``cn.agents``,
``cn.status_log``, ``cn.priorities``, ``cn.live`` and ``cn.tokens``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from contactnow_async import (
    Agent,
    ContactNow,
    LiveAgent,
    QueueAssignment,
    ResponseFormatError,
    StatusLogEntry,
    VirtualClock,
    WriteResult,
)
from tests._helpers import PASSWORD, USERNAME, client_for, script_of

# The backend changes nothing these tests check: CI runs each on one a run (tests/_backends.py).
pytestmark = [pytest.mark.anyio, pytest.mark.backend_neutral]

TOKEN = "0123456789abcdef0123456789abcdef01234567"

# --- seeds/000: ajax.php -------------------------------------------------------------

AJAX_ENVELOPE_JSON = b"""{"success":true}"""
AJAX_ENVELOPE_XML = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<result>\x20
    <success>1</success>\x20
</result>"""
AJAX_AGENTS_JSON = b"""{success: true,
total: 1,
list: [{
        uid: "1226353",
        name: "Administrator",
        moh: "none",
        status: "offline",
        statuscode: "Home",
        time: "1550245970",
        srvtime: "1550247582",
        ccname: "Ion_Test",
        customer: "0",
        call: [ ]
        }]
}"""
AJAX_AGENTS_XML = b"""<result>
    <success>1</success>
    <total>1</total>
    <list>
        <agent>
            <uid>1226353</uid>
            <name>Administrator 1</name>
            <moh>none</moh>
            <status>offline</status>
            <statuscode>Home</statuscode>
            <time>1550245970</time>
            <srvtime>1550247699</srvtime>
            <ccname>Ion_Test</ccname>
            <customer>0</customer>
            <call/>
        </agent>
   </list>
</result>"""

# --- seeds/001: database.php method=agents ---------------------------------------------

AGENTS_ENVELOPE_JSON = b"""{"success":true,"account_id":"10278","total":1,"bad":0,"key":0}"""
AGENTS_ENVELOPE_XML = b"""<result>
    <success>1</success>\x20
    <account_id>1234</account_id>\x20
    <total>1</total>
    <bad>0</bad>\x20
    <key>0</key>
</result>"""
AGENTS_CREATE_JSON = b"""{"success":true,"account_id":"10278","total":1,"bad":0,"key":550423}"""
# Verbatim: the document lacks the closing </result>.
AGENTS_CREATE_XML = b"""<result>
    <success>1</success>
    <account_id>10278</account_id>
    <total>1</total>
    <bad>0</bad>
    <key>550423</key>
"""
AGENTS_READ_JSON = b"""{"success":true,
"total":1,
"list":[
    {"agentid": "550423",
    "name": "Joe Blogs",
    "moh": "none",
    "userfield": "",
    "filter": "0",
    "pin": "123456",
    "username": "Joe",
    "password": "Pa$$w0rd",
    "phone": null,
    "customer": "0",
    "default_status": "wrap",
    "agent_version": "2",
    "last_broadcast_msg": "",
    "selfserve_id": "0",
    "aod": "no",
    "aod_lock": "0",
    "audio_id": "0",
    "auth_level": "admin",
    "auth_admin": "N",
    "auth_supervisor": "N",
    "auth_reports": null}
]}"""
AGENTS_READ_XML = b"""<?xml version="1.0" encoding="utf-8" ?>
<result>
    <success>1</success>
    <total>1</total>
    <list>
        <agent>
            <agentid>550423</agentid>
            <name>Joe Blogs</name>
            <moh>none</moh>
            <userfield/>
            <filter>0</filter>
            <pin>123456</pin>
            <username>Joe</username>
            <password>Pa$$w0rd</password>
            <phone/>   \x20
            <customer>0</customer>
            <default_status>wrap</default_status>
            <agent_version>2</agent_version>
            <last_broadcast_msg/>
            <selfserve_id>0</selfserve_id>
            <aod>no</aod>
            <aod_lock>0</aod_lock>
            <audio_id>0</audio_id>
            <auth_level>admin</auth_level>
            <auth_admin>N</auth_admin>
            <auth_supervisor>N</auth_supervisor>
            <auth_reports/>
        </agent>
    </list>
</result>"""
AGENTS_UPDATE_JSON = b"""{"success":true,"account_id":"10278","total":1,"bad":0,"key":0}"""
# Verbatim: the document lacks the closing </result>.
AGENTS_UPDATE_XML = b"""<result>
    <success>1</success>
    <account_id>10278</account_id>
    <total>1</total>
    <bad>0</bad>
    <key>0</key>
"""

# --- seeds/002: database.php method=status_log -----------------------------------------

STATUS_LOG_JSON = b"""{
    "success": true,
    "total": 1,
    "list": [
        {
            "uid": "12345678901",
            "uts": "1234567890",
            "agent": "1234567",
            "status": "offline",
            "subcode": "",
            "callid": "0"
        }
    ]
}"""
STATUS_LOG_XML = b"""<result>
    <success>1</success>
    <total>1</total>
    <list>
        <status_log>
            <uid>12345678901</uid>
            <uts>1234567890</uts>
            <agent>1234567</agent>
            <status>offline</status>
            <subcode />
            <callid>0</callid>
        </status_log>
    </list>
</result>"""

# --- seeds/003: database.php method=priority -------------------------------------------

PRIORITY_ENVELOPE_JSON = b"""{"success":true,"account_id":"10278","total":1,"bad":0,"key":0}"""
PRIORITY_ENVELOPE_XML = b"""<result>
    <success>1</success>\x20
    <account_id>1234</account_id>\x20
    <total>1</total>
    <bad>0</bad>\x20
    <key>0</key>
</result>"""
PRIORITY_CREATE_JSON = b"""{"success":true,"account_id":"10278","total":1,"bad":0,"key":550423}"""
# Verbatim: the document lacks the closing </result>.
PRIORITY_CREATE_XML = b"""<result>
    <success>1</success>
    <account_id>10278</account_id>
    <total>1</total>
    <bad>0</bad>
    <key>550423</key>
"""
PRIORITY_READ_JSON = b"""{"success":true,
"total":1,
"list":[
    {"agentid":"1234",
    "qid":"1007",
    "level":"0"}
]}"""
PRIORITY_READ_XML = b"""<result>
    <success>1</success>
    <total>2</total>
    <list>
        <priority>
            <agentid>1234</agentid>
            <qid>1007</qid>
            <level>0</level>
        </priority>
        <priority>
            <agentid>1234</agentid>
            <qid>1234</qid>
            <level>100</level>
        </priority>
    </list>
</result>"""
PRIORITY_UPDATE_JSON = b"""{"success":true,"account_id":"10278","total":1,"bad":0,"key":0}"""
# Verbatim: the document lacks the closing </result>.
PRIORITY_UPDATE_XML = b"""<result>
    <success>1</success>
    <account_id>10278</account_id>
    <total>1</total>
    <bad>0</bad>
    <key>0</key>
"""

# --- contactnow-api.md: token.php -------------------------------------------------------

TOKEN_GET_JSON = b'{"success":true,"token":"' + TOKEN.encode() + b'","expire":1700043259}'
TOKEN_VALIDATE_JSON = b'{"success":true,"expire":1700043000}'


def fixed(body: bytes, *, content_type: str = "application/json") -> Callable[..., httpx.Response]:
    """A MockTransport handler: token.php gives a token, every other script ``body``."""

    def handler(request: httpx.Request) -> httpx.Response:
        if script_of(request) == "token" and request.url.params.get("action") == "get":
            assert request.url.params["username"] == USERNAME
            assert request.url.params["password"] == PASSWORD
            return httpx.Response(200, content=TOKEN_GET_JSON)
        return httpx.Response(200, content=body, headers={"content-type": content_type})

    return handler


@contextlib.asynccontextmanager
async def _client(body: bytes, fmt: str = "json") -> AsyncIterator[ContactNow]:
    cn, http = client_for(fixed(body), format=fmt)
    async with http, cn:
        yield cn


def close_result(body: bytes) -> bytes:
    """The documented XML with its missing ``</result>`` put back."""
    return body + b"</result>\n"


JOE = Agent(
    agent_id="550423",
    name="Joe Blogs",
    moh="none",
    user_field="",
    filter="0",
    pin="123456",
    username="Joe",
    password="Pa$$w0rd",
    phone="",
    customer="0",
    default_status="wrap",
    agent_version="2",
    last_broadcast_message="",
    selfserve_id="0",
    aod="no",
    aod_lock="0",
    audio_id="0",
    auth_level="admin",
    auth_admin="N",
    auth_supervisor="N",
    auth_reports="",
)


@pytest.mark.parametrize(("body", "fmt"), [(AGENTS_READ_JSON, "json"), (AGENTS_READ_XML, "xml")])
async def test_agents_read_seed(body: bytes, fmt: str) -> None:
    async with _client(body, fmt) as cn:
        agents = await cn.agents.read(name="Joe Blogs")
        assert agents == [JOE]
        assert agents[0].raw["password"] == "Pa$$w0rd"  # the record is kept whole


@pytest.mark.parametrize(
    ("body", "fmt", "name"),
    [(AJAX_AGENTS_JSON, "json", "Administrator"), (AJAX_AGENTS_XML, "xml", "Administrator 1")],
)
async def test_live_agents_seed(body: bytes, fmt: str, name: str) -> None:
    async with _client(body, fmt) as cn:
        (agent,) = await cn.live.agents(include_offline=True)
        srvtime = 1550247582 if fmt == "json" else 1550247699
        assert agent == LiveAgent(
            agent_id="1226353",
            name=name,
            status="offline",
            sub_status="Home",
            started_ts=1550245970,
            server_ts=srvtime,
            moh="none",
            centre_name="Ion_Test",
            customer="0",
            calls=(),
        )
        assert agent.time_in_status == srvtime - 1550245970
        assert agent.call_id is None
        assert agent.started_at.tzinfo is not None


@pytest.mark.parametrize(("body", "fmt"), [(STATUS_LOG_JSON, "json"), (STATUS_LOG_XML, "xml")])
async def test_status_log_seed(body: bytes, fmt: str) -> None:
    async with _client(body, fmt) as cn:
        rows = await cn.status_log.read(agent="1234567")
        assert rows == [
            StatusLogEntry(
                log_id=12345678901,
                started_ts=1234567890,
                agent_id="1234567",
                status="offline",
                sub_status="",
                call_id=None,
            )
        ]
        assert rows[0].call_id is None
        assert rows[0].started_at.timestamp() == 1234567890


async def test_priorities_read_seed_json() -> None:
    async with _client(PRIORITY_READ_JSON) as cn:
        assert await cn.priorities.read(agent="1234") == [
            QueueAssignment(agent_id="1234", queue_id="1007", level=0)
        ]


async def test_priorities_read_seed_xml_two_items() -> None:
    async with _client(PRIORITY_READ_XML, "xml") as cn:
        assert await cn.priorities.read(agent="1234") == [
            QueueAssignment(agent_id="1234", queue_id="1007", level=0),
            QueueAssignment(agent_id="1234", queue_id="1234", level=100),
        ]


CREATED = WriteResult(success=True, total=1, bad=0, key="550423", account_id="10278")
UPDATED = WriteResult(success=True, total=1, bad=0, key="0", account_id="10278")


@pytest.mark.parametrize(
    ("body", "fmt"), [(AGENTS_CREATE_JSON, "json"), (close_result(AGENTS_CREATE_XML), "xml")]
)
async def test_agents_create_seed(body: bytes, fmt: str) -> None:
    async with _client(body, fmt) as cn:
        result = await cn.agents.create([{"name": "Ann", "username": "ann", "password": "x"}])
        assert result == CREATED


@pytest.mark.parametrize(
    ("body", "fmt"), [(AGENTS_UPDATE_JSON, "json"), (close_result(AGENTS_UPDATE_XML), "xml")]
)
async def test_agents_update_seed(body: bytes, fmt: str) -> None:
    async with _client(body, fmt) as cn:
        assert await cn.agents.update([{"agentid": "550423", "name": "John Dow"}]) == UPDATED


@pytest.mark.parametrize(
    ("body", "fmt"), [(PRIORITY_CREATE_JSON, "json"), (close_result(PRIORITY_CREATE_XML), "xml")]
)
async def test_priorities_create_seed(body: bytes, fmt: str) -> None:
    async with _client(body, fmt) as cn:
        result = await cn.priorities.create([{"agentid": "1234", "qid": "1234", "level": "100"}])
        assert result == CREATED


@pytest.mark.parametrize(
    ("body", "fmt"), [(PRIORITY_UPDATE_JSON, "json"), (close_result(PRIORITY_UPDATE_XML), "xml")]
)
async def test_priorities_update_seed(body: bytes, fmt: str) -> None:
    async with _client(body, fmt) as cn:
        result = await cn.priorities.update([{"agentid": "1234", "qid": "1007", "level": 100}])
        assert result == UPDATED


@pytest.mark.parametrize(
    "body", [AGENTS_CREATE_XML, AGENTS_UPDATE_XML, PRIORITY_CREATE_XML, PRIORITY_UPDATE_XML]
)
async def test_verbatim_xml_without_closing_result_is_a_format_error(body: bytes) -> None:
    async with _client(body, "xml") as cn:
        with pytest.raises(ResponseFormatError) as info:
            await cn.agents.update([{"agentid": "550423", "name": "John Dow"}])
        assert info.value.status_code == 200
        assert info.value.content_type == "application/json"
        assert "<success>1</success>" in info.value.snippet


@pytest.mark.parametrize(
    ("body", "fmt", "account"),
    [
        (AGENTS_ENVELOPE_JSON, "json", "10278"),
        (AGENTS_ENVELOPE_XML, "xml", "1234"),
        (PRIORITY_ENVELOPE_JSON, "json", "10278"),
        (PRIORITY_ENVELOPE_XML, "xml", "1234"),
    ],
)
async def test_generic_envelope_seeds(body: bytes, fmt: str, account: str) -> None:
    async with _client(body, fmt) as cn:
        envelope = await cn.request("database", method="agents", action="read")
        assert envelope.success is True
        assert (envelope.account_id, envelope.total, envelope.bad, envelope.key) == (
            account,
            1,
            0,
            "0",
        )
        assert envelope.records == ()
        result = await cn.agents.update([{"agentid": "1", "name": "x"}])
        assert result == WriteResult(success=True, total=1, bad=0, key="0", account_id=account)


@pytest.mark.parametrize(
    ("body", "fmt"), [(AJAX_ENVELOPE_JSON, "json"), (AJAX_ENVELOPE_XML, "xml")]
)
async def test_minimal_envelope_seed(body: bytes, fmt: str) -> None:
    async with _client(body, fmt) as cn:
        envelope = await cn.request("ajax", method="agents", action="read")
        assert envelope.success is True
        assert envelope.total is None
        assert envelope.records == ()
        assert await cn.live.agents() == []


async def test_iso_8859_1_declaration_decodes_non_ascii() -> None:
    body = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n<result><success>1</success><total>1</total>'
        "<list><agent><agentid>7</agentid><name>Zo\u00eb M\u00fcller</name><phone/></agent></list>"
        "</result>"
    ).encode("latin-1")
    assert b"Zo\xeb" in body
    async with _client(body, "xml") as cn:
        (agent,) = await cn.agents.read()
        assert agent.name == "Zo\u00eb M\u00fcller"
        assert agent.phone == ""


async def test_token_get_and_validate_seeds() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        action = request.url.params["action"]
        if action == "get":
            return httpx.Response(200, content=TOKEN_GET_JSON)
        assert action == "validate"
        assert request.url.params["token"] == TOKEN
        return httpx.Response(200, content=TOKEN_VALIDATE_JSON)

    # The seed's expire is in 2023: read it on a clock of that time.
    cn, http = client_for(handler, clock=VirtualClock(1_700_000_000))
    async with http, cn:
        token = await cn.tokens.get()
        assert token.value == TOKEN
        assert token.expires_ts == 1700043259
        assert token.expires_at.timestamp() == 1700043259
        validated = await cn.tokens.validate()
        assert validated.value == TOKEN
        assert validated.expires_ts == 1700043000
        assert cn.tokens.fetches == 1


def test_seed_json_is_what_the_docs_print() -> None:
    # Guard against a fixture typo: every quoted-key JSON seed is valid JSON.
    for body in (AGENTS_READ_JSON, STATUS_LOG_JSON, PRIORITY_READ_JSON, AGENTS_CREATE_JSON):
        assert json.loads(body)["success"] is True
