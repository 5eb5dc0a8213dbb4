"""Fidelity: every documented request answers with the documented keys, types and XML names.

Written from the vendor's documents (``/work/shared/seeds``), with plain httpx over
``httpx.ASGITransport``: no part of the client library is involved.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest

from contactnow_async.simulator import DEFAULT_TOKEN_LIFETIME, Simulator, VirtualClock

from .sim_helpers import (
    AGENT_KEYS,
    DOC_AGENT,
    LIVE_KEYS,
    LOG_KEYS,
    START,
    api_params,
    children,
    json_of,
    xml_root,
)

# The backend changes nothing these tests check: CI runs each on one a run (tests/_backends.py).
pytestmark = [pytest.mark.anyio, pytest.mark.backend_neutral]

DOC_AGENT_XML = """<?xml version='1.0' encoding='utf-8' ?>
<dxi>
    <agent>
        <agentid></agentid>
        <name>AGENT_FULLNAME</name>
        <moh>none</moh>
        <userfield/>
        <filter>0</filter>
        <pin>123456</pin>
        <username>Admin_30203</username>
        <password>PASSWORD</password>
        <phone/>
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
</dxi>"""


# -- token.php ------------------------------------------------------------------


async def test_token_get_json(http: httpx.AsyncClient, clock: VirtualClock) -> None:
    reply = json_of(
        await http.get(
            "token.php", params={"action": "get", "username": "demo", "password": "demo"}
        )
    )
    assert list(reply) == ["success", "token", "expire"]
    assert reply["success"] is True
    assert re.fullmatch("[0-9a-f]{40}", reply["token"])
    assert reply["expire"] == int(START + DEFAULT_TOKEN_LIFETIME)
    assert DEFAULT_TOKEN_LIFETIME == 11 * 3600 + 59


async def test_token_get_xml(http: httpx.AsyncClient) -> None:
    response = await http.get(
        "token.php",
        params={"action": "get", "username": "demo", "password": "demo", "format": "xml"},
    )
    root = xml_root(response)
    assert root.tag == "result"
    fields = children(root)
    assert list(fields) == ["success", "token", "expire"]
    assert fields["success"] == "1"
    assert re.fullmatch("[0-9a-f]{40}", fields["token"])
    assert int(fields["expire"]) == int(START + DEFAULT_TOKEN_LIFETIME)


@pytest.mark.parametrize(("username", "password"), [("demo", "nope"), ("nobody", "demo"), ("", "")])
async def test_token_get_bad_credentials(
    http: httpx.AsyncClient, username: str, password: str
) -> None:
    params = {"action": "get", "username": username, "password": password}
    assert json_of(await http.get("token.php", params=params)) == {
        "success": False,
        "error": "Authentication failure",
    }
    root = xml_root(await http.get("token.php", params={**params, "format": "xml"}))
    assert children(root) == {"success": "0", "error": "Authentication failure"}


async def test_token_validate(http: httpx.AsyncClient, clock: VirtualClock) -> None:
    got = json_of(
        await http.get(
            "token.php", params={"action": "get", "username": "demo", "password": "demo"}
        )
    )
    params = {"action": "validate", "token": got["token"]}
    assert json_of(await http.get("token.php", params=params)) == {
        "success": True,
        "expire": got["expire"],
    }
    assert json_of(await http.get("token.php", params={**params, "token": "f" * 40})) == {
        "success": False,
        "error": "Invalid token",
    }
    clock.set(got["expire"])
    assert json_of(await http.get("token.php", params=params)) == {
        "success": False,
        "error": "Expired token",
        "expire": -1,
    }
    root = xml_root(await http.get("token.php", params={**params, "format": "xml"}))
    assert children(root) == {"success": "0", "error": "Expired token", "expire": "-1"}


# -- database.php method=agents -------------------------------------------------


async def test_agents_create_json_as_documented(http: httpx.AsyncClient, token: str) -> None:
    response = await http.post(
        "database.php",
        params=api_params(token, "agents", "create", format="json"),
        content=json.dumps([DOC_AGENT]),
    )
    reply = json_of(response)
    assert list(reply) == ["success", "account_id", "total", "bad", "key"]
    assert reply["success"] is True
    assert reply["account_id"] == "10278"
    assert (reply["total"], reply["bad"]) == (1, 0)
    assert isinstance(reply["key"], int)
    assert reply["key"] > 0

    read = json_of(
        await http.get(
            "database.php",
            params=api_params(token, "agents", "read", agentid=str(reply["key"])),
        )
    )
    assert list(read) == ["success", "total", "list"]
    assert read["total"] == 1
    (agent,) = read["list"]
    assert list(agent) == AGENT_KEYS
    # The empty phone and auth_reports sent read back null, as the documented read shows.
    nulls = {"phone": None, "auth_reports": None}
    assert agent == {**DOC_AGENT, "agentid": str(reply["key"]), **nulls}
    assert all(isinstance(value, str) for key, value in agent.items() if key not in nulls)


async def test_agents_create_is_not_idempotent(http: httpx.AsyncClient, token: str) -> None:
    params = api_params(token, "agents", "create")
    first = json_of(await http.post("database.php", params=params, content=json.dumps([DOC_AGENT])))
    second = json_of(
        await http.post("database.php", params=params, content=json.dumps([DOC_AGENT]))
    )
    assert first["total"] == second["total"] == 1
    assert first["key"] != second["key"]
    read = json_of(
        await http.get("database.php", params=api_params(token, "agents", "read", name="Joe Blogs"))
    )
    assert read["total"] == 2
    assert {agent["agentid"] for agent in read["list"]} == {str(first["key"]), str(second["key"])}


async def test_agents_create_xml_as_documented(http: httpx.AsyncClient, token: str) -> None:
    response = await http.post(
        "database.php",
        params=api_params(token, "agents", "create", format="xml"),
        content=DOC_AGENT_XML,
    )
    fields = children(xml_root(response))
    assert list(fields) == ["success", "account_id", "total", "bad", "key"]
    assert fields["success"] == "1"
    assert fields["account_id"] == "10278"
    assert (fields["total"], fields["bad"]) == ("1", "0")
    key = fields["key"]

    root = xml_root(
        await http.get(
            "database.php", params=api_params(token, "agents", "read", agentid=key, format="xml")
        )
    )
    assert [child.tag for child in root] == ["success", "total", "list"]
    agents = root.find("list")
    assert agents is not None
    (agent,) = list(agents)
    assert agent.tag == "agent"
    assert [child.tag for child in agent] == AGENT_KEYS
    record = children(agent)
    assert record["name"] == "AGENT_FULLNAME"
    assert record["username"] == "Admin_30203"
    assert record["agentid"] == key
    # Empty values are empty elements (<phone/>), as documented.
    phone = agent.find("phone")
    assert phone is not None
    assert phone.text is None
    assert len(phone) == 0


async def test_agents_read_nulls_as_documented(http: httpx.AsyncClient, token: str) -> None:
    """A scenario agent without a phone reads ``"phone": null`` like the documented reply."""
    read = json_of(
        await http.get(
            "database.php", params=api_params(token, "agents", "read", agentid="1226353")
        )
    )
    (agent,) = read["list"]
    assert list(agent) == AGENT_KEYS
    assert agent["phone"] is None
    assert agent["auth_reports"] is None
    assert all(
        isinstance(agent[key], str) for key in AGENT_KEYS if key not in {"phone", "auth_reports"}
    )


async def test_the_documented_agent_reads_back_alike_from_either_payload(
    http: httpx.AsyncClient, token: str
) -> None:
    """The documented create payloads send ``phone`` and ``auth_reports`` empty (JSON
    ``""``, XML ``<phone/>``); the documented read of the agent created (550423) shows
    both ``null``, ``userfield`` and ``last_broadcast_msg`` ``""``. A JSON ``""`` read
    back as ``""``, the XML one as ``null``."""
    # seeds/001 (Agent Management), "Create an Agent Using database.php Endpoint" and
    # "Reading an Agent(s) Using database.php Endpoint".
    for payload in (json.dumps([DOC_AGENT]), DOC_AGENT_XML):
        params = api_params(token, "agents", "create")
        created = json_of(await http.post("database.php", params=params, content=payload))
        read = api_params(token, "agents", "read", agentid=str(created["key"]))
        (row,) = json_of(await http.get("database.php", params=read))["list"]
        assert (row["phone"], row["auth_reports"]) == (None, None)
        assert (row["userfield"], row["last_broadcast_msg"]) == ("", "")


async def test_agents_read_filters(http: httpx.AsyncClient, token: str, sim: Simulator) -> None:
    everyone = json_of(await http.get("database.php", params=api_params(token, "agents", "read")))
    assert everyone["total"] == len(sim.agent_ids) == 20
    assert [agent["agentid"] for agent in everyone["list"]] == sim.agent_ids
    by_name = json_of(
        await http.get("database.php", params=api_params(token, "agents", "read", name="Agent 3"))
    )
    assert [agent["agentid"] for agent in by_name["list"]] == [sim.agent_ids[2]]
    none = json_of(
        await http.get("database.php", params=api_params(token, "agents", "read", name="Agent"))
    )
    assert none == {"success": True, "total": 0, "list": []}


async def test_agents_create_counts_bad_records(http: httpx.AsyncClient, token: str) -> None:
    payload = [{"name": "Ann"}, {"moh": "none"}, {"name": {"first": "x"}}, 5, {"name": ""}]
    reply = json_of(
        await http.post(
            "database.php",
            params=api_params(token, "agents", "create"),
            content=json.dumps(payload),
        )
    )
    assert (reply["success"], reply["total"], reply["bad"]) == (True, 1, 4)


async def test_agents_update_json_and_flat_xml(http: httpx.AsyncClient, token: str) -> None:
    created = json_of(
        await http.post(
            "database.php",
            params=api_params(token, "agents", "create"),
            content=json.dumps(DOC_AGENT),
        )
    )
    key = str(created["key"])
    reply = json_of(
        await http.post(
            "database.php",
            params=api_params(token, "agents", "update"),
            content=json.dumps([{"agentid": key, "name": "John Dow"}]),
        )
    )
    assert reply == {"success": True, "account_id": "10278", "total": 1, "bad": 0, "key": 0}
    flat = f"""<?xml version='1.0' encoding='utf-8' ?>
<dxi>
    <agentid>{key}</agentid>
    <name>John Doe</name>
</dxi>"""
    fields = children(
        xml_root(
            await http.post(
                "database.php",
                params=api_params(token, "agents", "update", format="xml"),
                content=flat,
            )
        )
    )
    assert fields == {"success": "1", "account_id": "10278", "total": "1", "bad": "0", "key": "0"}
    read = json_of(
        await http.get("database.php", params=api_params(token, "agents", "read", agentid=key))
    )
    assert read["list"][0]["name"] == "John Doe"
    assert read["list"][0]["pin"] == "123456"  # a partial update keeps the other fields

    unknown = json_of(
        await http.post(
            "database.php",
            params=api_params(token, "agents", "update"),
            content=json.dumps([{"agentid": "999", "name": "Nobody"}, {"name": "no id"}]),
        )
    )
    assert (unknown["total"], unknown["bad"]) == (0, 2)


@pytest.mark.parametrize("text", ["  padded  ", "  ", "two\r\nlines", " a&b<c> "])
async def test_a_field_reads_back_as_written_in_either_format(
    http: httpx.AsyncClient, token: str, text: str
) -> None:
    """A field's spaces were lost in an XML payload (xmltodict strips text by default, PHP
    does not; a JSON payload kept them), and a carriage return in an XML reply was read as
    a line feed (a parser normalises a literal one): the formats disagreed."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace("\r", "&#13;")
    payloads = {
        "json": json.dumps([{"name": "Ann", "userfield": text}]),
        "xml": f"<dxi>\n  <agent>\n    <name>Ann</name>\n    <userfield>{escaped}</userfield>"
        "\n  </agent>\n</dxi>",
    }
    for payload in payloads.values():
        created = json_of(
            await http.post(
                "database.php", params=api_params(token, "agents", "create"), content=payload
            )
        )
        key = str(created["key"])
        read = api_params(token, "agents", "read", agentid=key)
        (row,) = json_of(await http.get("database.php", params=read))["list"]
        reply = xml_root(await http.get("database.php", params={**read, "format": "xml"}))
        (agent,) = reply.findall("list/agent")
        assert (row["name"], row["userfield"]) == ("Ann", text)
        assert children(agent)["userfield"] == text


async def test_agents_update_renames_live_row(
    http: httpx.AsyncClient, token: str, sim: Simulator
) -> None:
    agentid = sim.agent_ids[0]
    await http.post(
        "database.php",
        params=api_params(token, "agents", "update"),
        content=json.dumps([{"agentid": agentid, "name": "Renamed"}]),
    )
    rows = json_of(
        await http.get(
            "ajax.php", params=api_params(token, "agents", "read", mode="all", agent=agentid)
        )
    )["list"]
    assert rows[0]["name"] == "Renamed"


# -- database.php method=status_log ---------------------------------------------


async def test_status_log_read_json(
    http: httpx.AsyncClient, token: str, clock: VirtualClock
) -> None:
    clock.advance(1800)
    reply = json_of(await http.get("database.php", params=api_params(token, "status_log", "read")))
    assert list(reply) == ["success", "total", "list"]
    rows = reply["list"]
    assert reply["total"] == len(rows) > 20
    for row in rows:
        assert list(row) == LOG_KEYS
        assert all(isinstance(value, str) for value in row.values())
    uids = [int(row["uid"]) for row in rows]
    assert uids == sorted(set(uids))
    assert [int(row["uts"]) for row in rows] == sorted(int(row["uts"]) for row in rows)
    for row in rows:
        assert (row["callid"] != "0") == (row["status"] == "call")


async def test_status_log_filters(http: httpx.AsyncClient, token: str, clock: VirtualClock) -> None:
    clock.advance(1800)
    everything = json_of(
        await http.get("database.php", params=api_params(token, "status_log", "read"))
    )["list"]
    uids = [row["uid"] for row in everything]

    async def read(**filters: str) -> list[dict[str, str]]:
        reply = json_of(
            await http.get(
                "database.php", params=api_params(token, "status_log", "read", **filters)
            )
        )
        assert reply["total"] == len(reply["list"])
        rows: list[dict[str, str]] = reply["list"]
        return rows

    assert await read(uid=uids[10]) == everything[10:]
    assert await read(uid=f"{uids[5]}:{uids[9]}") == everything[5:10]
    agent = everything[0]["agent"]
    assert await read(agent=agent) == [row for row in everything if row["agent"] == agent]
    pair = {everything[0]["agent"], everything[1]["agent"]}
    assert await read(agent=",".join(sorted(pair))) == [
        row for row in everything if row["agent"] in pair
    ]
    middle = int(everything[len(everything) // 2]["uts"])
    assert await read(tstart=str(middle)) == [r for r in everything if int(r["uts"]) >= middle]
    assert await read(tstop=str(middle)) == [r for r in everything if int(r["uts"]) <= middle]
    assert await read(tstart=str(middle), tstop=str(middle)) == [
        r for r in everything if int(r["uts"]) == middle
    ]
    assert await read(uid=str(int(uids[-1]) + 1)) == []


async def test_status_log_read_xml(
    http: httpx.AsyncClient, token: str, clock: VirtualClock
) -> None:
    clock.advance(600)
    json_rows = json_of(
        await http.get("database.php", params=api_params(token, "status_log", "read"))
    )["list"]
    root = xml_root(
        await http.get("database.php", params=api_params(token, "status_log", "read", format="xml"))
    )
    assert children(root)["total"] == str(len(json_rows))
    items = root.find("list")
    assert items is not None
    assert {item.tag for item in items} == {"status_log"}
    assert [children(item) for item in items] == json_rows


# -- database.php method=priority -----------------------------------------------


async def test_priority_create_read_update(http: httpx.AsyncClient, token: str) -> None:
    create = api_params(token, "priority", "create")
    payload = json.dumps([{"agentid": "1234", "qid": "1234", "level": "100"}])
    reply = json_of(await http.post("database.php", params=create, content=payload))
    assert list(reply) == ["success", "account_id", "total", "bad", "key"]
    assert (reply["success"], reply["total"], reply["bad"]) == (True, 1, 0)
    assert isinstance(reply["key"], int)
    # The documented idempotence: an existing assignment is not duplicated.
    again = json_of(await http.post("database.php", params=create, content=payload))
    assert (again["success"], again["total"], again["bad"]) == (True, 0, 0)
    missing = json_of(
        await http.post(
            "database.php", params=create, content=json.dumps([{"agentid": "1234", "qid": "1"}])
        )
    )
    assert (missing["total"], missing["bad"]) == (0, 1)

    read = json_of(
        await http.get("database.php", params=api_params(token, "priority", "read", agent="1234"))
    )
    assert read == {
        "success": True,
        "total": 1,
        "list": [{"agentid": "1234", "qid": "1234", "level": "100"}],
    }
    update = json_of(
        await http.post(
            "database.php",
            params=api_params(token, "priority", "update"),
            content=json.dumps([{"agentid": "1234", "qid": "1234", "level": "0"}]),
        )
    )
    assert update == {"success": True, "account_id": "10278", "total": 1, "bad": 0, "key": 0}
    by_qid = json_of(
        await http.get(
            "database.php", params=api_params(token, "priority", "read", qid="1234", agent="1234")
        )
    )
    assert by_qid["list"] == [{"agentid": "1234", "qid": "1234", "level": "0"}]
    absent = json_of(
        await http.post(
            "database.php",
            params=api_params(token, "priority", "update"),
            content=json.dumps([{"agentid": "1234", "qid": "7", "level": "5"}]),
        )
    )
    assert (absent["total"], absent["bad"]) == (0, 1)


async def test_priority_level_is_a_number_or_the_record_is_bad(
    http: httpx.AsyncClient, token: str, sim: Simulator
) -> None:
    # A level is a number (the documented "100", "0"): a level that is none was stored
    # and read back as it was sent, which the client's QueueAssignment cannot read.
    uid = sim.agent_ids[0]

    async def send(action: str, qid: str, level: str) -> tuple[int, int]:
        payload = json.dumps([{"agentid": uid, "qid": qid, "level": level}])
        reply = json_of(
            await http.post(
                "database.php", params=api_params(token, "priority", action), content=payload
            )
        )
        return reply["total"], reply["bad"]

    assert await send("create", "4242", " 20 ") == (1, 0)
    for level in ("high", "1.5", "-10", "\uff11\uff10"):
        assert await send("create", "4243", level) == (0, 1), level
        assert await send("update", "4242", level) == (0, 1), level
    read = json_of(
        await http.get("database.php", params=api_params(token, "priority", "read", agent=uid))
    )
    levels = {row["qid"]: row["level"] for row in read["list"]}
    assert "4243" not in levels
    assert levels["4242"] == "20"


@pytest.mark.parametrize(
    ("method", "action", "record", "error"),
    [
        ("priority", "create", {"agentid": "1", "qid": "2", "level": "-10"}, "level"),
        ("priority", "create", {"agentid": "1", "level": "5"}, "qid"),
        ("priority", "update", {"agentid": "1", "qid": "2", "level": "5"}, "not assigned"),
        ("agents", "create", {"moh": "none"}, "name"),
        ("agents", "update", {"agentid": "999", "name": "A"}, "agent [999] does not exist."),
        ("agents", "update", {"agentid": "999", "name": ["A"]}, "name"),
    ],
)
async def test_a_refused_record_says_why(
    http: httpx.AsyncClient, token: str, method: str, action: str, record: object, error: str
) -> None:
    """A refused agent or priority was ``bad: 1`` and nothing else: the caller's WriteError
    could not say which field (the envelope's ``error``: "a description of the fault")."""
    reply = json_of(
        await http.post(
            "database.php",
            params=api_params(token, method, action),
            content=json.dumps([record]),
        )
    )
    assert (reply["success"], reply["total"], reply["bad"]) == (True, 0, 1)
    assert reply["error"].startswith("Bad argument: ") and error in reply["error"]


async def test_priority_xml(http: httpx.AsyncClient, token: str, sim: Simulator) -> None:
    payload = """<?xml version="1.0" encoding="utf-8" ?>
<dxi>
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
</dxi>"""
    fields = children(
        xml_root(
            await http.post(
                "database.php",
                params=api_params(token, "priority", "create", format="xml"),
                content=payload,
            )
        )
    )
    assert (fields["success"], fields["total"], fields["bad"]) == ("1", "2", "0")
    flat_update = "<dxi><agentid>1234</agentid><qid>1007</qid><level>100</level></dxi>"
    fields = children(
        xml_root(
            await http.post(
                "database.php",
                params=api_params(token, "priority", "update", format="xml"),
                content=flat_update,
            )
        )
    )
    assert fields["total"] == "1"
    root = xml_root(
        await http.get(
            "database.php", params=api_params(token, "priority", "read", agent="1234", format="xml")
        )
    )
    assert children(root)["total"] == "2"
    items = root.find("list")
    assert items is not None
    assert [item.tag for item in items] == ["priority", "priority"]
    assert [children(item) for item in items] == [
        {"agentid": "1234", "qid": "1007", "level": "100"},
        {"agentid": "1234", "qid": "1234", "level": "100"},
    ]
    # Scenario agents come with queue assignments.
    seeded = json_of(
        await http.get(
            "database.php", params=api_params(token, "priority", "read", agent=sim.agent_ids[0])
        )
    )
    assert seeded["total"] >= 1


# -- ajax.php method=agents -----------------------------------------------------


async def test_ajax_agents_read(
    http: httpx.AsyncClient, token: str, clock: VirtualClock, sim: Simulator
) -> None:
    clock.advance(900)
    online = json_of(await http.get("ajax.php", params=api_params(token, "agents", "read")))
    everyone = json_of(
        await http.get("ajax.php", params=api_params(token, "agents", "read", mode="all"))
    )
    assert list(online) == ["success", "total", "list"]
    assert everyone["total"] == len(everyone["list"]) == 20
    assert [row["uid"] for row in everyone["list"]] == sim.agent_ids
    assert online["list"] == [row for row in everyone["list"] if row["status"] != "offline"]
    assert online["total"] == len(online["list"])
    statuses = {row["status"] for row in everyone["list"]}
    assert "offline" in statuses
    assert statuses - {"offline"}
    for row in everyone["list"]:
        assert list(row) == LIVE_KEYS
        assert all(isinstance(row[key], str) for key in LIVE_KEYS if key != "call")
        assert row["srvtime"] == str(int(clock.now()))
        assert int(row["time"]) <= int(row["srvtime"])
        assert row["ccname"] == "Demo_Centre"
        if row["status"] == "call":
            (call,) = row["call"]
            assert set(call) == {"callid", "qid", "cli", "direction"}
            assert all(isinstance(value, str) for value in call.values())
        else:
            assert row["call"] == []
        if row["status"] == "offline":
            assert row["statuscode"] == "Home"


async def test_ajax_agent_filter(http: httpx.AsyncClient, token: str, sim: Simulator) -> None:
    wanted = sim.agent_ids[4]
    reply = json_of(
        await http.get(
            "ajax.php", params=api_params(token, "agents", "read", mode="all", agent=wanted)
        )
    )
    assert reply["total"] == 1
    assert [row["uid"] for row in reply["list"]] == [wanted]


async def test_ajax_paging(http: httpx.AsyncClient, token: str, clock: VirtualClock) -> None:
    clock.advance(300)
    full = json_of(
        await http.get("ajax.php", params=api_params(token, "agents", "read", mode="all"))
    )["list"]
    pages = []
    for start in range(0, 20, 6):
        page = json_of(
            await http.get(
                "ajax.php",
                params=api_params(token, "agents", "read", mode="all", start=str(start), limit="6"),
            )
        )
        assert page["total"] == 20
        assert len(page["list"]) == min(6, 20 - start)
        pages.extend(page["list"])
    assert pages == full


async def test_ajax_page_limit(clock: VirtualClock, anyio_backend: str) -> None:
    sim = Simulator(agents=30, seed=2, clock=clock, ajax_page_limit=8)
    token = sim.issue_token()
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        reply = json_of(
            await http.get("ajax.php", params=api_params(token, "agents", "read", mode="all"))
        )
        assert (reply["total"], len(reply["list"])) == (30, 8)
        reply = json_of(
            await http.get(
                "ajax.php",
                params=api_params(token, "agents", "read", mode="all", start="24", limit="100"),
            )
        )
        assert [row["uid"] for row in reply["list"]] == sim.agent_ids[24:30]


async def test_ajax_xml(http: httpx.AsyncClient, token: str, clock: VirtualClock) -> None:
    clock.advance(900)
    json_rows = json_of(
        await http.get("ajax.php", params=api_params(token, "agents", "read", mode="all"))
    )["list"]
    root = xml_root(
        await http.get(
            "ajax.php", params=api_params(token, "agents", "read", mode="all", format="xml")
        )
    )
    assert children(root)["success"] == "1"
    assert children(root)["total"] == "20"
    items = root.find("list")
    assert items is not None
    assert len(items) == 20
    on_a_call = 0
    for item, row in zip(items, json_rows, strict=True):
        assert item.tag == "agent"
        assert [child.tag for child in item] == LIVE_KEYS
        call = item.find("call")
        assert call is not None
        if row["call"]:
            on_a_call += 1
            assert [entry.tag for entry in call] == ["item"]
            assert children(call[0]) == row["call"][0]
        else:
            assert len(call) == 0
            assert call.text is None  # <call/>
        assert {k: v for k, v in children(item).items() if k != "call"} == {
            k: v for k, v in row.items() if k != "call"
        }
    assert on_a_call > 0


# -- requests in other shapes ---------------------------------------------------


async def test_reads_as_post_form_fields(http: httpx.AsyncClient, token: str) -> None:
    by_get = json_of(
        await http.get("ajax.php", params=api_params(token, "agents", "read", mode="all"))
    )
    by_form = json_of(
        await http.post(
            "ajax.php",
            params={"token": token},
            data={"method": "agents", "action": "read", "mode": "all", "raw": "1"},
        )
    )
    assert by_form == by_get
    multipart = json_of(
        await http.post(
            "ajax.php",
            params={"token": token},
            data={"method": "agents", "action": "read", "mode": "all"},
            files={"unused": ("x.txt", b"x")},
        )
    )
    assert multipart == by_get


async def test_payload_in_data_form_field(http: httpx.AsyncClient, token: str) -> None:
    reply = json_of(
        await http.post(
            "database.php",
            params=api_params(token, "agents", "create"),
            data={"data": json.dumps([{"name": "Via form"}])},
        )
    )
    assert (reply["total"], reply["bad"]) == (1, 0)


async def test_json_payload_with_form_content_type(http: httpx.AsyncClient, token: str) -> None:
    """The vendor's PHP wrapper posts its JSON array with curl's default form type."""
    reply = json_of(
        await http.post(
            "database.php",
            params=api_params(token, "agents", "create"),
            content=json.dumps([{"name": "PHP"}]),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    )
    assert (reply["total"], reply["bad"]) == (1, 0)


async def test_us_path_prefix(http: httpx.AsyncClient, token: str) -> None:
    reply = json_of(await http.get("api/ajax.php", params=api_params(token, "agents", "read")))
    assert reply["success"] is True


@pytest.mark.parametrize(
    ("path", "params", "error"),
    [
        ("nothing.php", {"method": "agents", "action": "read"}, "Unknown script"),
        ("database.php", {"method": "queues_and_more", "action": "read"}, "Unknown method"),
        ("database.php", {"method": "agents", "action": "delete"}, "Unknown action"),
        ("ajax.php", {"method": "agents", "action": "write"}, "Unknown action"),
        ("ecnow.php", {"method": "ecnow_data", "action": "read"}, "Unknown method"),
        ("ecnow.php", {"method": "ecnow_datasets", "action": "delete"}, "Unknown action"),
        ("ecnow.php", {"method": "ecnow_records", "action": "read"}, "Bad argument: one of"),
        ("token.php", {"action": "refresh"}, "Unknown action"),
    ],
)
async def test_unknown_requests_answer_success_false(
    http: httpx.AsyncClient, token: str, path: str, params: dict[str, str], error: str
) -> None:
    reply = json_of(await http.get(path, params={"token": token, **params}))
    assert reply["success"] is False
    assert reply["error"].startswith(error)


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("database.php", {"method": "status_log", "action": "read", "uid": "x"}, "uid"),
        ("database.php", {"method": "status_log", "action": "read", "uid": "1:2x"}, "uid"),
        ("database.php", {"method": "status_log", "action": "read", "tstart": "1.5"}, "tstart"),
        ("database.php", {"method": "status_log", "action": "read", "tstop": "\u0661"}, "tstop"),
        ("ajax.php", {"method": "agents", "action": "read", "start": "first"}, "start"),
        ("ajax.php", {"method": "agents", "action": "read", "limit": "10 rows"}, "limit"),
        ("reporting.php", {"method": "cdr", "fields": "callid", "range": "1:2", "start": "x"},
         "start"),
        ("reporting.php", {"method": "cdr", "fields": "callid", "range": "1:2", "start": "-1"},
         "start"),
    ],
)  # fmt: skip
async def test_a_number_argument_that_is_no_number_answers_the_documented_form(
    http: httpx.AsyncClient, token: str, path: str, params: dict[str, str], name: str
) -> None:
    # The documented refusal is "Bad argument: xyz"; a non-integer start answered
    # "Invalid start: expected an integer" and a negative one "Bad argument: start".
    reply = json_of(await http.get(path, params={"token": token, **params}))
    assert reply == {"success": False, "error": f"Bad argument: {name}"}


@pytest.mark.parametrize(
    "body",
    ["", "not a payload", "[1, 2", "<dxi><agent>", "<other/>", "3",
     # An unpaired surrogate escape: PHP's json_decode refuses it (JSON_ERROR_UTF16); the
     # simulator stored it and answered 500 when it wrote the row back.
     '[{"name": "\\ud800x", "username": "x", "password": "Passw0rd!"}]',
     # Past any decoder's depth (PHP's json_decode stops at 512): answered 500, a traceback.
     "[" * 100_000 + "]" * 100_000,
     # Past PHP's 512 levels, which Python's decoder reads: PHP refuses it as not JSON.
     '[{"name": ' + "[" * 512 + "]" * 512 + "}]"],
)  # fmt: skip
async def test_bad_payloads_answer_success_false(
    http: httpx.AsyncClient, token: str, body: str
) -> None:
    reply = json_of(
        await http.post("database.php", params=api_params(token, "agents", "create"), content=body)
    )
    assert reply["success"] is False
    assert reply["error"]


async def test_a_payload_512_levels_deep_is_json_as_php_reads_it(
    http: httpx.AsyncClient, token: str
) -> None:
    body = '[{"name": ' + "[" * 510 + "]" * 510 + "}]"  # 512 levels: the list, the object, 510
    reply = json_of(
        await http.post("database.php", params=api_params(token, "agents", "create"), content=body)
    )
    assert reply["error"] != "invalid JSON payload"  # read, then refused as an agent
    assert reply["bad"] == 1
