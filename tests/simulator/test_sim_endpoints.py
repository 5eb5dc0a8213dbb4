"""The endpoint registry: which handler answers, the shared refusals, and non-envelope replies."""

from __future__ import annotations

import httpx
import pytest

from contactnow_async.simulator import Dwell, Simulator, VirtualClock
from contactnow_async.simulator import _app as app_module
from contactnow_async.simulator._asgi import Request
from contactnow_async.simulator._scenario import Scenario
from contactnow_async.simulator._tokens import IssuedTokens
from contactnow_async.simulator._wire import BinaryReply, PayloadError, Reply
from contactnow_async.simulator.endpoints import ENDPOINTS, Registry, SimState
from contactnow_async.simulator.endpoints._conventions import BadArgument, error
from contactnow_async.simulator.endpoints.token import token as token_handler

from .sim_helpers import START, api_params, json_of

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt \x00\xff"


def make_state() -> SimState:
    clock = VirtualClock(START)
    scenario = Scenario(agents=0, seed=1, start=START, dwell=Dwell(), log_retention=None)
    return SimState(
        scenario=scenario,
        tokens=IssuedTokens(),
        clock=clock,
        username="demo",
        password="demo",
        token_lifetime=60.0,
        log_delay=0.0,
        ajax_page_limit=None,
        account_id="1",
        ccname="C",
    )


def make_request(script: str, method: str = "", action: str = "", **extra: str) -> Request:
    args = {"method": method, "action": action, **extra}
    return Request(
        http_method="GET",
        script=script,
        method=method,
        action=action,
        args=args,
        payload=None,
        body=b"",
        address="127.0.0.1",
    )


def queues(request: Request, state: SimState) -> Reply:
    if request.action == "payload":
        raise PayloadError("bad records")
    if request.action == "argument":
        raise BadArgument("Invalid start: expected an integer")
    if request.action != "read":
        return error("Unknown action")
    return {"success": True, "total": 1, "list": [{"qid": "1007"}]}


def agent_control(request: Request, state: SimState) -> Reply:
    return {"success": True, "action": request.action}


@pytest.fixture
def registry() -> Registry:
    registry = Registry()
    registry.endpoint("database", "queues", item="queue")(queues)
    registry.endpoint("agent")(agent_control)
    registry.endpoint("token", needs_token=False)(token_handler)
    return registry


def test_the_simulator_answers_the_documented_endpoints() -> None:
    found = {
        (script, method): ENDPOINTS.find(script, method)
        for script, method in [
            ("token", ""),
            ("token", "anything"),
            ("database", "agents"),
            ("database", "priority"),
            ("database", "status_log"),
            ("database", "queues"),
            ("database", "outcomecodes"),
            ("ajax", "agents"),
            ("ecnow", "ecnow_datasets"),
            ("ecnow", "ecnow_records"),
            ("ecnow", "campaign_tables"),
            ("ecnow", "campaign_fields"),
        ]
    }
    assert all(endpoint is not None for endpoint in found.values())
    assert ENDPOINTS.find("database", "cdr_log") is None
    assert ENDPOINTS.find("ajax", "status_log") is None
    assert ENDPOINTS.find("ecnow", "ecnow_data") is None


def test_a_handler_answers_its_script_and_method(registry: Registry) -> None:
    state = make_state()
    token = state.tokens.issue("127.0.0.1", now=START, lifetime=60)[0]
    reply, item = registry.dispatch(make_request("database", "queues", "read", token=token), state)
    assert reply == {"success": True, "total": 1, "list": [{"qid": "1007"}]}
    assert item == "queue"
    reply, _ = registry.dispatch(make_request("database", "queues", "drop", token=token), state)
    assert reply == {"success": False, "error": "Unknown action"}


def test_a_script_without_method_takes_any_method(registry: Registry) -> None:
    state = make_state()
    token = state.tokens.issue("127.0.0.1", now=START, lifetime=60)[0]
    for method in ("", "agents"):
        request = make_request("agent", method, "pause", token=token)
        assert registry.dispatch(request, state) == ({"success": True, "action": "pause"}, "item")


@pytest.mark.parametrize(
    ("script", "method", "token", "expected"),
    [
        ("nothing", "queues", "", "Unknown script"),
        ("database", "queues", "", "Unknown token"),
        # A known script checks the token before it says the method is unknown.
        ("database", "outcomecodes", "", "Unknown token"),
        ("database", "outcomecodes", "good", "Unknown method"),
        ("ecnow", "ecnow_datasets", "good", "Unknown method"),
    ],
)
def test_refusals(registry: Registry, script: str, method: str, token: str, expected: str) -> None:
    state = make_state()
    if token == "good":
        token = state.tokens.issue("127.0.0.1", now=START, lifetime=60)[0]
    reply, item = registry.dispatch(make_request(script, method, "read", token=token), state)
    assert reply == {"success": False, "error": expected}
    assert item == "item"


def test_an_endpoint_may_need_no_token(registry: Registry) -> None:
    request = make_request("token", "agents", "get", username="demo", password="demo")
    reply, _ = registry.dispatch(request, make_state())
    assert not isinstance(reply, BinaryReply)
    assert reply["success"] is True


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("payload", "Invalid payload: bad records"),
        ("argument", "Invalid start: expected an integer"),
    ],
)
def test_unreadable_input_answers_success_false(
    registry: Registry, action: str, expected: str
) -> None:
    state = make_state()
    token = state.tokens.issue("127.0.0.1", now=START, lifetime=60)[0]
    reply, _ = registry.dispatch(make_request("database", "queues", action, token=token), state)
    assert reply == {"success": False, "error": expected}


def test_registering_refuses_an_unknown_script_and_a_taken_key(registry: Registry) -> None:
    with pytest.raises(ValueError, match="'databse' is not one of the scripts"):
        registry.endpoint("databse", "queues")(queues)
    with pytest.raises(ValueError, match="already has a handler"):
        registry.endpoint("database", "queues")(queues)


@pytest.mark.anyio
async def test_a_binary_reply_is_sent_as_it_is(
    registry: Registry, monkeypatch: pytest.MonkeyPatch, anyio_backend: str
) -> None:
    @registry.endpoint("recording")
    def recording(request: Request, state: SimState) -> BinaryReply:
        return BinaryReply(WAV, content_type="audio/wav")

    monkeypatch.setattr(app_module, "ENDPOINTS", registry)
    sim = Simulator(agents=0, clock=VirtualClock(START))
    token = sim.issue_token()
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        for extra in ({}, {"format": "xml"}):
            params = {"action": "get", "token": token, **extra}
            response = await http.get("recording.php", params=params)
            assert response.status_code == 200
            assert response.headers["content-type"] == "audio/wav"
            assert response.content == WAV
        refused = await http.get("recording.php", params={"action": "get", "token": "nope"})
        assert json_of(refused) == {"success": False, "error": "Unknown token"}
        # The token endpoint of this registry still serves the client a token.
        got = await http.get(
            "token.php", params={"action": "get", "username": "demo", "password": "demo"}
        )
        assert json_of(got)["success"] is True
        queue_reply = await http.get("database.php", params=api_params(token, "queues", "read"))
        assert json_of(queue_reply)["list"] == [{"qid": "1007"}]


@pytest.mark.anyio
async def test_a_name_with_a_lone_surrogate_is_served(anyio_backend: str) -> None:
    # The API sends such a name as JSON's "\ud800" escape; the simulator's JSON reply
    # raised UnicodeEncodeError (no UTF-8 has a lone surrogate) and answered 500.
    sim = Simulator(agents=2, clock=VirtualClock(START))
    scenario = sim._scenario  # no request names one: PHP's json_decode refuses it
    agent = scenario.by_uid[sim.agent_ids[0]]
    agent.record = {**scenario.record(agent), "name": "\ud800Ann"}
    token = sim.issue_token()
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        params = api_params(token, "agents", "read", mode="all")
        reply = await http.get("ajax.php", params=params)
        assert b'"name":"\\ud800Ann"' in reply.content
        assert json_of(reply)["list"][0]["name"] == "\ud800Ann"
        xml = await http.get("ajax.php", params={**params, "format": "xml"})
        assert "<name>\ufffdAnn</name>" in xml.text  # XML has no escape for one


def test_every_declared_action_reaches_its_handler_and_no_other_does() -> None:
    # The table (ENDPOINTS.actions) is what a fault's or a count's action= is checked
    # against: an action it lists that the handler refused, or one it left out that the
    # handler answers, would make a fault that never strikes, or refuse one that would.
    state = make_state()
    token = state.tokens.issue("127.0.0.1", now=START, lifetime=60)[0]
    checked = 0
    for endpoint in ENDPOINTS:
        if endpoint.actions is None:
            continue
        for action in [*endpoint.actions, "nonesuch"]:
            script, method = endpoint.script, endpoint.method or ""
            request = make_request(script, method, action, token=token)
            try:
                reply, _ = ENDPOINTS.dispatch(request, state)
            except Exception as exc:  # a handler given nothing to work with: it was reached
                reply = {"success": False, "error": repr(exc)}
            unknown = reply == {"success": False, "error": "Unknown action"}
            assert unknown == (action == "nonesuch"), (script, method, action, reply)
            checked += 1
    assert checked > 40  # agent.php's actions, and every script's
