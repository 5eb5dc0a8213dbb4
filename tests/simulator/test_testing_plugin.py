"""The pytest plugin users get: a virtual clock, a simulator, a served simulator, a client."""

from __future__ import annotations

import importlib
from datetime import timedelta, timezone
from typing import Any

import httpx
import pytest

from contactnow_async.simulator import Simulator, VirtualClock

# pytester runs a user's test file through pytest in this process, as a user's project
# would: the plugin comes from its pytest11 entry point, with no conftest.py of ours.
pytest_plugins = ["pytester"]


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


class TestSimulatorInAnotherZone:
    """A user's own ``contactnow_simulator`` in the centre's zone (``record_tz=``): the
    client reads the record dates it writes in that zone, not in UTC."""

    @pytest.fixture
    def contactnow_simulator(self, contactnow_clock: VirtualClock) -> Simulator:
        zone = timezone(timedelta(hours=-5))
        return Simulator(username="test", password="test", agents=1, clock=contactnow_clock,
                         record_tz=zone)  # fmt: skip

    @pytest.mark.anyio
    @pytest.mark.integration
    async def test_client_reads_record_dates_in_the_simulators_zone(
        self,
        contactnow_client: Any,
        contactnow_simulator: Simulator,
        contactnow_clock: VirtualClock,
    ) -> None:
        assert contactnow_client.options.record_tz == contactnow_simulator.record_tz
        # Dataset 351's two records were processed a day and two days before the start.
        records = await contactnow_client.records.read(dataset=351)
        start = int(contactnow_clock.now())
        assert sorted(r.processed_ts for r in records) == [start - 2 * 86_400, start - 86_400]


#: A user's own tests, as the README teaches them: no conftest.py, both backends.
USER_TESTS = """
import pytest

from contactnow_async.simulator import Simulator, VirtualClock


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request):
    return request.param


@pytest.mark.anyio
async def test_wallboard(contactnow_clock, contactnow_client, contactnow_simulator):
    contactnow_clock.advance(600)
    assert len(await contactnow_client.live.agents(include_offline=True)) == 10
    assert contactnow_simulator.now() == contactnow_clock.now()
    assert contactnow_simulator.stats.token_gets == 1  # a simulator of its own per test


class TestOwnSimulator:
    @pytest.fixture
    def contactnow_simulator(self):
        return Simulator(username="me", password="pw", agents=3, clock=VirtualClock())

    @pytest.mark.anyio
    async def test_advancing_another_clock(self, contactnow_clock, contactnow_client):
        contactnow_clock.advance(600)
"""


def test_a_users_project(pytester: pytest.Pytester) -> None:
    """The fixtures under asyncio and trio from the entry point; a simulator overridden
    on a clock of its own, in a test that advances ``contactnow_clock`` (which then moves
    nothing), is an error at setup that says what to do."""
    pytester.makepyfile(test_user=USER_TESTS)
    # In this process the plugins' packages are imported already: too late to rewrite them.
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning"
    )
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines(["*contactnow_simulator is not on contactnow_clock*"])
