"""Garbage in, a ``success: false`` envelope out: the simulator never crashes."""

from __future__ import annotations

import json
import string

import anyio
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactnow_async.simulator import Simulator, VirtualClock
from tests._helpers import examples
from tests._text import text

from .sim_helpers import START, children, xml_root

SIM = Simulator(agents=5, seed=1, clock=VirtualClock(START))
TOKEN = SIM.issue_token()

names = st.sampled_from(["token", "database", "ajax", "ecnow", "x", ""])
words = st.one_of(
    st.sampled_from(["agents", "priority", "status_log", "read", "create", "update", "get", ""]),
    st.text(string.printable, max_size=12),
)
argument_values = st.one_of(text(max_size=20), st.sampled_from(["all", "1:2", ":", "-5", "xml"]))
arguments = st.dictionaries(
    st.sampled_from(["uid", "agent", "tstart", "tstop", "mode", "start", "limit", "name", "qid"]),
    argument_values,
    max_size=4,
)
bodies = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [b"[", b"{}", b"[{}]", b"<dxi/>", b"<dxi><agent/></dxi>", b"<!DOCTYPE x>", b"[null]"]
    ),
    st.lists(
        st.dictionaries(
            st.sampled_from(["agentid", "name", "qid", "level", "phone"]),
            st.one_of(st.none(), st.integers(), text(max_size=5), st.lists(st.integers())),
        ),
        max_size=3,
    ).map(lambda records: json.dumps(records).encode()),
)


async def send(request: httpx.Request) -> httpx.Response:
    async with httpx.AsyncClient(transport=SIM.transport(), base_url="http://sim/") as http:
        return await http.send(request)


@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    script=names,
    method=words,
    action=words,
    extra=arguments,
    body=bodies,
    xml=st.booleans(),
    with_token=st.booleans(),
)
def test_garbage_requests_get_an_envelope(
    script: str,
    method: str,
    action: str,
    extra: dict[str, str],
    body: bytes,
    xml: bool,
    with_token: bool,
) -> None:
    params = {"method": method, "action": action, **extra}
    if xml:
        params["format"] = "xml"
    if with_token:
        params["token"] = TOKEN
    request = httpx.Request("POST", f"http://sim/{script}.php", params=params, content=body)
    response = anyio.run(send, request)
    assert response.status_code == 200
    if xml:
        fields = children(xml_root(response))
        assert fields["success"] in ("0", "1")
        if fields["success"] == "0":
            assert fields["error"]
    else:
        reply = response.json()
        assert isinstance(reply["success"], bool)
        if not reply["success"]:
            assert isinstance(reply["error"], str)
            assert reply["error"]


# Text XML 1.0 can carry unchanged (a parser turns a lone \r into \n).
def _xml_safe(text: str) -> bool:
    return all(ch in "\t\n" or (ord(ch) >= 0x20 and ch not in "\ufffe\uffff") for ch in text)


xml_text = st.text(st.characters(exclude_categories=["Cs"]), min_size=1).filter(_xml_safe)


@settings(max_examples=examples(100), deadline=None)
@given(name=xml_text)
def test_any_name_round_trips_through_json_and_xml(name: str) -> None:
    created = anyio.run(
        send,
        httpx.Request(
            "POST",
            "http://sim/database.php",
            params={"token": TOKEN, "method": "agents", "action": "create"},
            content=json.dumps([{"name": name}]),
        ),
    ).json()
    assert created["total"] == 1
    key = str(created["key"])
    read = {"token": TOKEN, "method": "agents", "action": "read", "agentid": key}
    as_json = anyio.run(send, httpx.Request("GET", "http://sim/database.php", params=read)).json()
    assert as_json["list"][0]["name"] == name
    as_xml = anyio.run(
        send, httpx.Request("GET", "http://sim/database.php", params={**read, "format": "xml"})
    )
    agent = xml_root(as_xml).find("list/agent/name")
    assert agent is not None
    assert (agent.text or "") == name
