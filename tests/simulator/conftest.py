"""Shared fixtures of the simulator's tests: a virtual clock, a simulator, plain httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from contactnow_async import testing as plugin
from contactnow_async.simulator import Simulator, VirtualClock

from .sim_helpers import START

# The library's pytest plugin registers these through its pytest11 entry point
# once the package is installed; from a plain checkout, expose them here.
contactnow_clock = plugin.contactnow_clock
contactnow_simulator = plugin.contactnow_simulator
contactnow_server = plugin.contactnow_server
contactnow_client = plugin.contactnow_client


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def sim(clock: VirtualClock) -> Simulator:
    return Simulator(username="demo", password="demo", agents=20, seed=7, clock=clock)


@pytest.fixture
async def http(sim: Simulator, anyio_backend: str) -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client talking to the simulator in process (no client library)."""
    transport = httpx.ASGITransport(app=sim)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim/") as client:
        yield client


@pytest.fixture
def token(sim: Simulator) -> str:
    return sim.issue_token()
