"""The page's time in status is on the centre's clock, whatever the host's says: the
snapshot's ``server_ts`` is the host's clock corrected by the centre's offset."""

from __future__ import annotations

import json
import math

import httpx
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
    centre.observe(1_180 + 310)  # one that grows a little is followed at once
    assert centre.offset == 310.0


def test_a_server_time_far_from_the_centres_clock_is_ignored_until_rows_keep_saying_it() -> None:
    # One reply's srvtime an hour ahead moved the clock an hour for the whole window
    # (every row after it was below it). Now it is ignored, and the health says so.
    host = VirtualClock(1_000.0)
    centre = CentreClock(host, window=300.0, step=60.0, confirm=30.0)
    centre.observe(1_300)
    host.advance(2)
    centre.observe(1_302 + 3_600)  # an implausible reply
    assert centre.offset == 300.0
    assert centre.health() == {
        "offset": 300.0,
        "rows_ignored": 1,
        "last_ignored_server_ts": 4_902,
    }
    host.advance(1)
    centre.observe(1_303)  # the rows after it agree with the clock: it stays
    host.advance(40)
    centre.observe(1_343 + 3_600)  # a new doubt, not confirmed by the old one
    assert centre.offset == 300.0
    # A step of the centre's clock (or the host's) that rows keep showing is followed
    # once they have for `confirm` seconds.
    for _ in range(30):
        host.advance(1)
        centre.observe(host.now() + 3_900)
    assert centre.offset == 3_900.0
    assert centre.health()["rows_ignored"] == 31


def test_an_implausible_first_server_time_gives_way_to_the_rows_that_follow() -> None:
    host = VirtualClock(1_000.0)
    centre = CentreClock(host, window=300.0, step=60.0, confirm=30.0)
    centre.observe(1_000 + 3_600)  # nothing to judge the first by
    assert centre.offset == 3_600.0
    for _ in range(31):  # every row after it says otherwise: within `confirm`, not `window`
        host.advance(1)
        centre.observe(host.now() + 5)
    assert centre.offset == 5.0
    centre.observe(math.inf)  # no time at all: not even a doubt
    centre.observe(math.nan)
    assert centre.offset == 5.0


class _FutureReply(httpx.AsyncBaseTransport):
    """The simulator's transport, but its ``nth`` ``ajax.php`` reply's ``srvtime`` is
    ``ahead`` seconds ahead of its clock (a server whose clock jumped for one reply)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, nth: int, ahead: int) -> None:
        self.inner, self.nth, self.ahead = inner, nth, ahead
        self.replies = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not request.url.path.endswith("/ajax.php"):
            return response
        self.replies += 1
        body = await response.aread()
        if self.replies == self.nth:
            reply = json.loads(body)
            for row in reply["list"]:
                row["srvtime"] = str(int(row["srvtime"]) + self.ahead)
            body = json.dumps(reply).encode()
        return httpx.Response(response.status_code, headers=response.headers, content=body)


async def test_one_reply_from_the_future_does_not_move_the_wallboards_clock() -> None:
    sim = Simulator(username="demo", password="secret", agents=10, seed=3,
                    clock=VirtualClock(), dwell=Dwell.uniform(2))  # fmt: skip
    future = _FutureReply(sim.transport(), nth=4, ahead=300)
    async with client_on(sim, transport=future) as client:
        watcher = AgentWatcher(client, backfill=True, interval=1.0)
        wallboard = wallboard_app(watcher)
        async with wallboard.lifespan(), client_for(wallboard) as http:
            await let_pass(watcher, 30)
            assert future.replies > 4
            snapshot = (await http.get("/snapshot")).json()
            now = sim.clock.now()
            health = (await http.get("/healthz")).json()
    assert now - 1 <= snapshot["server_ts"] <= now + 1
    centre = health["centre_clock"]
    assert centre["rows_ignored"] >= 1
    assert abs(centre["offset"]) <= 1
    assert centre["last_ignored_server_ts"] >= now - 60 + 300
