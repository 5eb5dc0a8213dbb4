"""The page's time in status is on the centre's clock, whatever the host's says: the
snapshot's ``server_ts`` is the host's clock corrected by the centre's offset."""

from __future__ import annotations

import pytest

from contactnow_async import AgentWatcher, VirtualClock
from contactnow_async.simulator import Dwell, Simulator
from contactnow_async.web import wallboard_app
from contactnow_async.web._centre import CentreClock

from ..watch._support import SkewedClock
from ._sse import client_for
from ._support import client_on, let_pass

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("host_ahead", [300.0, -300.0])
async def test_the_time_in_status_is_the_centres_when_the_hosts_clock_differs(
    host_ahead: float,
) -> None:
    # The page shows now() - started_ts, now() ticking from the snapshot's server_ts: it
    # was the host's clock, so every agent's time in status was off by the difference
    # (00:00 for all, clamped, with the host behind).
    sim = Simulator(username="demo", password="secret", agents=10, seed=3,
                    clock=VirtualClock(), dwell=Dwell.uniform(5))  # fmt: skip
    host = SkewedClock(sim.clock, host_ahead)
    async with client_on(sim, clock=host) as client:
        watcher = AgentWatcher(client, backfill=True, interval=1.0)
        wallboard = wallboard_app(watcher)
        assert wallboard.clock is host
        async with wallboard.lifespan(), client_for(wallboard) as http:
            await let_pass(watcher, 20)
            before = sim.clock.now()
            snapshot = (await http.get("/snapshot")).json()
            after = sim.clock.now()
    # Within a second: srvtime is whole seconds.
    assert before - 1 <= snapshot["server_ts"] <= after + 1
    started = [a["started_ts"] for a in snapshot["agents"] if a["started_ts"] > 0]
    assert started
    assert max(started) <= snapshot["server_ts"]


def test_the_centres_clock_follows_the_freshest_rows_and_their_changes() -> None:
    host = VirtualClock(1_000.0)
    centre = CentreClock(host, window=60.0)
    assert centre.now() == 1_000.0  # no row yet: the host's clock as it is
    centre.observe(0)  # a row without srvtime
    assert centre.offset == 0.0
    centre.observe(1_300)  # the centre is 300 s ahead
    assert centre.offset == 300.0
    host.advance(10)
    centre.observe(1_200)  # a row read late (a backlog) does not lower it
    assert centre.now() == 1_310.0
    host.advance(30)
    centre.observe(1_338)  # nor does one 2 s on its way
    assert centre.offset == 300.0
    host.advance(40)
    centre.observe(1_375)  # 80 s on, the 300 s row has left the window: the offset falls
    assert centre.offset == 298.0
    host.advance(100)
    centre.observe(1_180 + 600)  # and one that grows is followed at once
    assert centre.offset == 600.0
