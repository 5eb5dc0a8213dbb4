"""The full soak without tracemalloc: ``python -m benchmarks.soak_full`` (about 35 minutes).

5,000 agents, 20,000 polls on a virtual clock, in process. Prints RSS and the
number of live Python objects at 1,000, 5,000, 10,000, 15,000 and 20,000 polls.
Run apart from ``python -m benchmarks`` because of its length.
"""

from __future__ import annotations

import gc
import time

import anyio
import anyio.lowlevel
import httpx

from contactnow_async import AgentWatcher, ContactNow
from contactnow_async.simulator import Dwell, Simulator, VirtualClock

from ._common import PASSWORD, USERNAME

MARKS = (1_000, 5_000, 10_000, 15_000, 20_000)


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 1e6


async def main() -> None:
    # The simulator's history is capped so that only the watcher's memory can grow.
    sim = Simulator(
        username=USERNAME, password=PASSWORD, agents=5_000, seed=7, clock=VirtualClock(),
        dwell=Dwell(), log_retention=50_000, record_requests=False,
    )  # fmt: skip
    async with (
        httpx.AsyncClient(transport=sim.transport()) as http,
        ContactNow(
            base_url="http://sim/", username=USERNAME, password=PASSWORD,
            http_client=http, clock=sim.clock,
        ) as client,
        AgentWatcher(client, interval=1.0, include_offline=True) as watcher,
    ):  # fmt: skip
        events = watcher.subscribe(overflow="drop_oldest", buffer=10_000)
        started = time.monotonic()
        for mark in MARKS:
            while watcher.health.polls < mark:
                await anyio.lowlevel.checkpoint()
            gc.collect()
            print(
                f"polls={watcher.health.polls} rss={rss_mb():.1f}MB objects={len(gc.get_objects())}"
                f" pending={events.pending} dropped={events.dropped}"
                f" transitions={sim.transitions} elapsed={time.monotonic() - started:.0f}s",
                flush=True,
            )


if __name__ == "__main__":
    anyio.run(main)
