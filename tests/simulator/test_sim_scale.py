"""Scale: 5,000 agents, a simulated hour in 10 steps, read in full over uvicorn each step."""

from __future__ import annotations

import socket
import statistics
import time
from types import SimpleNamespace

import httpx
import pytest

from contactnow_async.simulator import Simulator, VirtualClock, run, serve
from contactnow_async.simulator import _serve as serve_module

from .sim_helpers import START, api_params

AGENTS = 5_000
STEPS = 10  # of six simulated minutes: about 10,000 transitions between two reads


@pytest.fixture
def anyio_backend() -> str:
    """asyncio only: what scales here is the server, which runs on uvicorn's asyncio loop
    in a thread of its own whatever the test's backend (the client is plain httpx)."""
    return "asyncio"


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.anyio
async def test_five_thousand_agents_for_an_hour() -> None:
    clock = VirtualClock(START)
    sim = Simulator(agents=AGENTS, seed=13, clock=clock, log_retention=200_000)
    token = sim.issue_token()
    timings: list[float] = []
    async with serve(sim) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        params = api_params(token, "agents", "read", mode="all")
        for _ in range(STEPS):
            clock.advance(3600 / STEPS)
            started = time.perf_counter()
            response = await http.get("ajax.php", params=params)
            timings.append(time.perf_counter() - started)
            reply = response.json()
            assert reply["success"] is True
            assert reply["total"] == len(reply["list"]) == AGENTS
    assert sim.transitions > AGENTS
    print(
        f"\n{AGENTS} agents, {sim.transitions} transitions in a simulated hour: ajax read "
        f"median {statistics.median(timings) * 1000:.1f} ms, max {max(timings) * 1000:.1f} ms"
    )


@pytest.mark.slow
def test_fifty_thousand_agents_catch_up() -> None:
    clock = VirtualClock(START)
    # Five simulated minutes: about 100,000 transitions, twice what the log keeps.
    sim = Simulator(agents=50_000, seed=1, clock=clock, log_retention=50_000)
    clock.advance(300)
    sim.catch_up()
    live = sim.live_agents()
    assert len(live) == 50_000
    assert len(sim.status_log()) == 50_000
    assert sim.transitions > 50_000


def test_the_simulate_command_keeps_bounded_books(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `contactnow simulate` runs until Ctrl-C: its status log and CDR grew for ever
    # (10 GB a day at 50,000 agents), and it kept 100,000 requests nobody could read.
    served: list[Simulator] = []

    class Server:
        def __init__(self, config: SimpleNamespace) -> None:
            served.append(config.app)

        def run(self, sockets: list[socket.socket]) -> None:
            raise KeyboardInterrupt  # what uvicorn re-raises after a Ctrl-C

    uvicorn = SimpleNamespace(Config=lambda app, **_: SimpleNamespace(app=app), Server=Server)
    monkeypatch.setattr(serve_module, "_uvicorn", lambda: uvicorn)
    with pytest.raises(KeyboardInterrupt):  # the caller's to handle, after a clean stop
        run("127.0.0.1", 0, agents=3)
    (sim,) = served
    assert "ContactNow simulator at http://127.0.0.1:" in capsys.readouterr().out
    assert sim.record_requests is False
    assert sim._scenario.log.retention == sim._scenario.cdr.retention == 200_000
