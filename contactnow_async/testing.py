"""pytest fixtures for code that talks to ContactNow: a simulator, served and ready.

Installed with the library as a pytest plugin (the ``pytest11`` entry point), so
the fixtures are there without a ``conftest.py``::

    @pytest.mark.anyio
    async def test_wallboard(contactnow_client, contactnow_clock, contactnow_simulator):
        contactnow_clock.advance(600)          # ten simulated minutes
        snapshot = await contactnow_client.live.agents()

``contactnow_simulator`` has one API account (username ``test``, password
``test``), 10 agents and seed 0, on the ``contactnow_clock`` virtual clock.
Override a fixture in your own ``conftest.py`` to change them. The async
fixtures need anyio's pytest plugin and an ``anyio_backend``.

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
    """Return a virtual clock: time moves only by ``advance()`` or a sleep on it."""
    from contactnow_async.simulator import VirtualClock

    return VirtualClock()


@pytest.fixture
def contactnow_simulator(contactnow_clock: VirtualClock) -> Simulator:
    """Return a simulator with account ``test``/``test`` and 10 agents, on the virtual clock."""
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
    contactnow_simulator: Simulator, anyio_backend: object
) -> AsyncIterator[str]:
    """Serve the simulator on 127.0.0.1 (uvicorn) and yield its base URL."""
    from contactnow_async.simulator import serve

    async with serve(contactnow_simulator) as base_url:
        yield base_url


@pytest.fixture
async def contactnow_client(
    contactnow_server: str, contactnow_simulator: Simulator, anyio_backend: object
) -> AsyncIterator[ContactNow]:
    """Yield a ContactNow client logged in to the served simulator.

    It takes the simulator's account and clock, so an overridden
    ``contactnow_simulator`` (another account, or its own clock) still works.
    """
    from contactnow_async import ContactNow

    async with ContactNow(
        base_url=contactnow_server,
        username=contactnow_simulator.username,
        password=contactnow_simulator.password,
        clock=contactnow_simulator.clock,
    ) as client:
        yield client
