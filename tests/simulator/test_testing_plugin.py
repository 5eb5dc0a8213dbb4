"""The pytest plugin users get: a virtual clock, a simulator, a served simulator, a client."""

from __future__ import annotations

import importlib
from typing import Any

import httpx
import pytest

from contactnow_async.simulator import Simulator, VirtualClock


def test_simulator_fixture(contactnow_simulator: Simulator, contactnow_clock: VirtualClock) -> None:
    assert contactnow_simulator.clock is contactnow_clock
    assert len(contactnow_simulator.agent_ids) == 10
    assert contactnow_simulator.username == "test"


@pytest.mark.anyio
@pytest.mark.integration
async def test_server_fixture(
    contactnow_server: str, contactnow_simulator: Simulator, contactnow_clock: VirtualClock
) -> None:
    assert contactnow_server.startswith("http://127.0.0.1:")
    async with httpx.AsyncClient(base_url=contactnow_server) as http:
        got = (
            await http.get(
                "token.php", params={"action": "get", "username": "test", "password": "test"}
            )
        ).json()
        assert got["success"] is True
        contactnow_clock.advance(60)
        reply = (
            await http.get(
                "ajax.php",
                params={"token": got["token"], "method": "agents", "action": "read", "mode": "all"},
            )
        ).json()
    assert reply["total"] == 10
    assert contactnow_simulator.stats.token_gets == 1


def _client_available() -> bool:
    try:
        module = importlib.import_module("contactnow_async")
    except ImportError:
        return False
    return hasattr(module, "ContactNow")


@pytest.mark.anyio
@pytest.mark.integration
@pytest.mark.skipif(
    not _client_available(), reason="contactnow_async.ContactNow is not written yet"
)
async def test_client_fixture(contactnow_client: Any, contactnow_simulator: Simulator) -> None:
    # Any: the client's type comes from a module written in parallel with this one.
    assert type(contactnow_client).__name__ == "ContactNow"
    snapshot = await contactnow_client.live.agents(include_offline=True)
    assert len(snapshot) == 10
    assert contactnow_simulator.stats.token_gets == 1


class TestOverriddenSimulator:
    """A user's own ``contactnow_simulator`` (another account, clock, size) is what
    ``contactnow_client`` logs in to and keeps time with."""

    @pytest.fixture
    def contactnow_simulator(self) -> Simulator:
        return Simulator(
            username="me",
            password="secret",
            agents=3,
            seed=5,
            clock=VirtualClock(1_800_000_000.0),
        )

    @pytest.mark.anyio
    @pytest.mark.integration
    async def test_client_uses_its_account_and_clock(
        self, contactnow_client: Any, contactnow_simulator: Simulator
    ) -> None:
        assert contactnow_client.clock is contactnow_simulator.clock
        snapshot = await contactnow_client.live.agents(include_offline=True)
        assert len(snapshot) == 3
