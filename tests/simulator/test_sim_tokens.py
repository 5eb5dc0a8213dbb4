"""Tokens: address binding, expiry, lifetime, and the Date header from the simulator's clock."""

from __future__ import annotations

import json
from email.utils import parsedate_to_datetime

import httpx
import pytest

from contactnow_async import ContactNow, Token
from contactnow_async._wire import Format
from contactnow_async.simulator import DEFAULT_TOKEN_LIFETIME, Simulator, VirtualClock

from .._stage import Stage
from .sim_helpers import START, api_params, json_of

pytestmark = pytest.mark.anyio


def client_at(sim: Simulator, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=sim, client=(address, 1234))
    return httpx.AsyncClient(transport=transport, base_url="http://sim/")


async def get_token(http: httpx.AsyncClient) -> dict[str, object]:
    reply: dict[str, object] = json_of(
        await http.get(
            "token.php", params={"action": "get", "username": "demo", "password": "demo"}
        )
    )
    return reply


async def test_token_is_bound_to_the_address_that_got_it(sim: Simulator) -> None:
    async with client_at(sim, "10.0.0.1") as first, client_at(sim, "10.0.0.2") as second:
        token = str((await get_token(first))["token"])
        params = api_params(token, "agents", "read")
        assert json_of(await first.get("ajax.php", params=params))["success"] is True
        assert json_of(await second.get("ajax.php", params=params)) == {
            "success": False,
            "error": "Invalid token",
        }
        validate = {"action": "validate", "token": token}
        assert json_of(await second.get("token.php", params=validate))["error"] == "Invalid token"
        assert json_of(await first.get("token.php", params=validate))["success"] is True


async def test_address_header(clock: VirtualClock, anyio_backend: str) -> None:
    sim = Simulator(clock=clock, agents=2, address_header="x-simulated-client")
    token = sim.issue_token("192.0.2.7")
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        params = api_params(token, "agents", "read")
        here = {"x-simulated-client": "192.0.2.7"}
        elsewhere = {"x-simulated-client": "192.0.2.8"}
        assert json_of(await http.get("ajax.php", params=params, headers=here))["success"] is True
        assert json_of(await http.get("ajax.php", params=params, headers=elsewhere)) == {
            "success": False,
            "error": "Invalid token",
        }
        # Without the header the socket's address counts (127.0.0.1 here).
        assert json_of(await http.get("ajax.php", params=params))["error"] == "Invalid token"


@pytest.mark.parametrize("token", ["", "0" * 40, "not-a-token"])
async def test_unknown_token(http: httpx.AsyncClient, token: str) -> None:
    params = api_params(token, "agents", "read")
    if not token:
        del params["token"]
    assert json_of(await http.get("database.php", params=params)) == {
        "success": False,
        "error": "Unknown token",
    }


async def test_expire_tokens(http: httpx.AsyncClient, sim: Simulator) -> None:
    old = sim.issue_token()
    sim.expire_tokens()
    expired = {"success": False, "error": "Expired token", "expire": -1}
    assert json_of(await http.get("ajax.php", params=api_params(old, "agents", "read"))) == expired
    assert (
        json_of(await http.get("token.php", params={"action": "validate", "token": old})) == expired
    )
    new = str((await get_token(http))["token"])
    assert json_of(await http.get("ajax.php", params=api_params(new, "agents", "read")))["success"]


async def test_lifetime(http: httpx.AsyncClient, clock: VirtualClock) -> None:
    got = await get_token(http)
    assert got["expire"] == int(START + DEFAULT_TOKEN_LIFETIME)
    params = api_params(str(got["token"]), "agents", "read")
    clock.advance(DEFAULT_TOKEN_LIFETIME - 1)
    assert json_of(await http.get("ajax.php", params=params))["success"] is True
    clock.advance(1)
    assert json_of(await http.get("ajax.php", params=params))["error"] == "Expired token"


async def test_custom_lifetime(clock: VirtualClock, anyio_backend: str) -> None:
    sim = Simulator(clock=clock, agents=1, token_lifetime=100)
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        got = await get_token(http)
        assert got["expire"] == int(START) + 100


async def test_token_error_changes_nothing(http: httpx.AsyncClient, sim: Simulator) -> None:
    token = sim.issue_token()
    sim.expire_tokens()
    params = api_params(token, "agents", "create")
    reply = json_of(
        await http.post("database.php", params=params, content=json.dumps([{"name": "Ghost"}]))
    )
    assert reply["error"] == "Expired token"
    fresh = sim.issue_token()
    read = json_of(
        await http.get("database.php", params=api_params(fresh, "agents", "read", name="Ghost"))
    )
    assert read["total"] == 0


async def test_stats_count_token_requests(http: httpx.AsyncClient, sim: Simulator) -> None:
    token = str((await get_token(http))["token"])
    await http.get("token.php", params={"action": "validate", "token": token})
    await http.get("ajax.php", params=api_params(token, "agents", "read"))
    await http.post(
        "database.php",
        params=api_params(token, "agents", "create"),
        content=json.dumps([{"name": "Counted"}]),
    )
    assert (sim.stats.token_gets, sim.stats.token_validates, sim.stats.requests) == (1, 1, 4)
    assert sim.stats.count("database", "agents", "create") == 1
    assert sim.stats.count("ajax") == 1
    records = sim.requests
    assert [(r.script, r.method, r.action) for r in records] == [
        ("token", "", "get"),
        ("token", "", "validate"),
        ("ajax", "agents", "read"),
        ("database", "agents", "create"),
    ]
    assert records[0].args["password"] == "demo"
    assert records[-1].body == b'[{"name": "Counted"}]'
    assert records[-1].http_method == "POST"
    assert records[-1].status_code == 200
    assert records[-1].client == "127.0.0.1"


async def test_request_log_is_bounded(clock: VirtualClock, anyio_backend: str) -> None:
    sim = Simulator(clock=clock, agents=1, request_log_size=3)
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        for _ in range(5):
            await http.get("token.php", params={"action": "validate", "token": "x"})
    assert len(sim.requests) == 3
    assert sim.stats.requests == 5


def date_of(response: httpx.Response) -> float:
    assert len(response.headers.get_list("date")) == 1
    return parsedate_to_datetime(response.headers["date"]).timestamp()


async def test_date_header_in_process(http: httpx.AsyncClient, clock: VirtualClock) -> None:
    response = await http.get("token.php", params={"action": "validate", "token": "x"})
    assert date_of(response) == int(START)
    clock.advance(3600.5)
    response = await http.get("token.php", params={"action": "validate", "token": "x"})
    assert date_of(response) == int(START + 3600.5)


@pytest.mark.integration
async def test_date_header_and_address_over_uvicorn(
    sim: Simulator, clock: VirtualClock, stage: Stage
) -> None:
    async with stage.showing(sim) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        assert base_url.startswith("http://127.0.0.1:")
        got = await get_token(http)
        assert got["expire"] == int(START + DEFAULT_TOKEN_LIFETIME)
        clock.advance(7200)
        response = await http.get(
            "ajax.php", params=api_params(str(got["token"]), "agents", "read")
        )
        assert json_of(response)["success"] is True
        assert date_of(response) == int(START + 7200)
        # uvicorn adds no server header of its own either.
        assert response.headers.get_list("server") == ["contactnow-simulator"]
    assert sim.requests[0].client == "127.0.0.1"


async def test_get_returns_the_current_token_while_it_is_valid(
    sim: Simulator, clock: VirtualClock
) -> None:
    # TOKEN.md: "get : Get a new token if one does not already exist."
    async with client_at(sim, "10.0.0.1") as first, client_at(sim, "10.0.0.2") as second:
        got = await get_token(first)
        clock.advance(60)
        assert await get_token(first) == got  # the same token, the same expire
        assert (await get_token(second))["token"] != got["token"]  # bound to its own address
        clock.advance(DEFAULT_TOKEN_LIFETIME)
        fresh = await get_token(first)
        assert fresh["token"] != got["token"]
        assert fresh["expire"] == int(clock.now() + DEFAULT_TOKEN_LIFETIME)
        sim.expire_tokens()
        assert (await get_token(first))["token"] != fresh["token"]


async def test_get_with_address_binds_the_token_to_that_address(sim: Simulator) -> None:
    # The vendor's token reference: an optional ``address`` issues a token for another IP.
    async with client_at(sim, "10.0.0.1") as asker, client_at(sim, "10.0.0.2") as user:
        got = json_of(
            await asker.get(
                "token.php",
                params={
                    "action": "get",
                    "username": "demo",
                    "password": "demo",
                    "address": "10.0.0.2",
                },
            )
        )
        params = api_params(str(got["token"]), "agents", "read")
        assert json_of(await user.get("ajax.php", params=params))["success"] is True
        assert json_of(await asker.get("ajax.php", params=params))["error"] == "Invalid token"


class HandedToken:
    """A token store holding the token handed to this host (as a shared store would)."""

    def __init__(self, token: Token) -> None:
        self.token: Token | None = token

    async def load(self, key: str) -> Token | None:
        return self.token

    async def save(self, key: str, token: Token) -> None:
        self.token = token

    async def delete(self, key: str, token: Token) -> None:
        if self.token == token:
            self.token = None


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_a_token_got_for_another_address_through_the_client_works_there_only(
    sim: Simulator, fmt: Format
) -> None:
    """``cn.tokens.get(address=...)`` on 10.0.0.1 gets a token that a client on 10.0.0.2
    uses as is, while the 10.0.0.1 client's own token serves 10.0.0.1 and not 10.0.0.2."""

    def client(http: httpx.AsyncClient, store: HandedToken | None = None) -> ContactNow:
        return ContactNow(
            username="demo",
            password="demo",
            base_url="http://sim/",
            http_client=http,
            format=fmt,
            token_store=store,
        )

    async with client_at(sim, "10.0.0.1") as here, client_at(sim, "10.0.0.2") as there:
        async with client(here) as cn:
            for_there = await cn.tokens.get(address="10.0.0.2")
            assert len(await cn.agents.read()) == 20  # with a token of its own
            own = await cn.tokens.get()
        async with client(there, HandedToken(for_there)) as elsewhere:
            assert len(await elsewhere.agents.read()) == 20
            assert elsewhere.tokens.fetches == 0  # the handed token was good there
        async with client(there, HandedToken(own)) as elsewhere:
            assert len(await elsewhere.agents.read()) == 20
            assert elsewhere.tokens.fetches == 1  # "Invalid token" there: it got its own
    gets = [(r.client, r.args.get("address")) for r in sim.requests if r.action == "get"]
    assert gets == [("10.0.0.1", "10.0.0.2"), ("10.0.0.1", None), ("10.0.0.2", None)]
    assert for_there.value != own.value


@pytest.mark.parametrize("client", ["10.0.0.5", ("10.0.0.5",), (b"10.0.0.5", 1), ("10.0.0.5", "1")])
def test_a_transport_address_that_is_no_host_and_port_is_refused(
    sim: Simulator, client: object
) -> None:
    # client="10.0.0.5" was taken: every request came from "1" (its first letter), and a
    # token issued to "10.0.0.5" answered "Invalid token".
    with pytest.raises(TypeError, match="client"):
        sim.transport(client=client)  # type: ignore[arg-type]  # wrong on purpose


@pytest.mark.parametrize("address", [("127.0.0.1", 123), b"127.0.0.1", None])
def test_a_token_address_that_is_no_str_is_refused(sim: Simulator, address: object) -> None:
    # Taken: a token bound to ("127.0.0.1", 123), an address no request has, answered
    # "Invalid token" to the transport it was meant for.
    with pytest.raises(TypeError, match="address"):
        sim.issue_token(address)  # type: ignore[arg-type]  # wrong on purpose
