"""pytest fixtures for code that talks to ContactNow: a simulator, served and ready.

Installed with the library as a pytest plugin (the ``pytest11`` entry point), so
the fixtures are there without a ``conftest.py`` (naming this module in
``pytest_plugins`` or ``-p`` as well registers it twice, which pytest refuses; with
plugin autoload off, ``-p contactnow_async.testing`` loads it)::

    @pytest.mark.anyio
    async def test_wallboard(contactnow_client, contactnow_clock, contactnow_simulator):
        contactnow_clock.advance(600)          # ten simulated minutes
        snapshot = await contactnow_client.live.agents()

``contactnow_simulator`` has one API account (username ``test``, password
``test``), 10 agents and seed 0, on the ``contactnow_clock`` virtual clock.
Override a fixture in your own ``conftest.py`` to change them; a simulator of
your own takes ``clock=contactnow_clock``, or advancing that clock moves nothing
(the served fixtures then fail a test that asks for it, saying so)::

    @pytest.fixture
    def contactnow_simulator(contactnow_clock):
        return Simulator(username="me", password="pw", agents=3, clock=contactnow_clock)

The async fixtures need anyio's pytest plugin and an ``anyio_backend``.

The plugin is loaded into every pytest run of a project that installs the
library: that imports the package (``import contactnow_async``: the client, httpx,
attrs and anyio, about a tenth of a second once a run), and this module nothing
more than pytest until a fixture is used (the simulator, the server).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from contactnow_async import ContactNow
    from contactnow_async.simulator import Simulator, VirtualClock

__all__ = [
    "contactnow_client",
    "contactnow_clock",
    "contactnow_server",
    "contactnow_simulator",
]


@pytest.fixture
def contactnow_clock() -> VirtualClock:
    """Return a virtual clock at 1,700,000,000 (2023-11-14): time moves only by ``advance()``
    or a sleep on it (a watcher's poll interval, a retry's backoff)."""
    from contactnow_async import VirtualClock  # not via the simulator: a clock alone

    return VirtualClock()


@pytest.fixture
def contactnow_simulator(contactnow_clock: VirtualClock) -> Simulator:
    """Return a new simulator for each test: account ``test``/``test``, 10 agents, seed 0,
    on ``contactnow_clock``."""
    from contactnow_async.simulator import Simulator

    return Simulator(
        username="test",
        password="test",  # noqa: S106 - the fake server's test account
        agents=10,
        seed=0,
        clock=contactnow_clock,
    )


@pytest.fixture
async def contactnow_server(
    contactnow_simulator: Simulator, anyio_backend: object, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """Serve ``contactnow_simulator`` on 127.0.0.1 and yield its base URL (uvicorn: the
    ``[sim]`` extra; an async fixture: anyio's pytest plugin)."""
    from contactnow_async.simulator import serve

    # A test that advanced a clock its simulator is not on saw nothing happen, silently.
    if "contactnow_clock" in request.fixturenames:
        clock = request.getfixturevalue("contactnow_clock")
        if contactnow_simulator.clock is not clock:
            pytest.fail(
                f"contactnow_simulator is not on contactnow_clock (it is on "
                f"{contactnow_simulator.clock!r}), so advancing contactnow_clock would not "
                "move it: build your contactnow_simulator with clock=contactnow_clock, or "
                "advance contactnow_simulator.clock",
                pytrace=False,
            )
    async with serve(contactnow_simulator) as base_url:
        yield base_url


@pytest.fixture
async def contactnow_client(
    contactnow_server: str, contactnow_simulator: Simulator, anyio_backend: object
) -> AsyncIterator[ContactNow]:
    """Yield a ContactNow client of the served simulator, on its account and clock.

    It gets its token on its first call (a fault injected without ``script=``
    strikes that ``token.php`` request). It takes the simulator's account, clock
    and ``record_tz``, so an overridden ``contactnow_simulator`` (another account,
    its own clock, the centre's zone) still works.
    """
    from contactnow_async import ContactNow

    async with ContactNow(
        base_url=contactnow_server,
        username=contactnow_simulator.username,
        password=contactnow_simulator.password,
        clock=contactnow_simulator.clock,
        record_tz=contactnow_simulator.record_tz,
    ) as client:
        yield client
