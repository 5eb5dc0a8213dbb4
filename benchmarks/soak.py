"""6. Soak: 5,000 agents polled back to back on a virtual clock; memory over time.

The simulator runs in process (``sim.transport()``) with
``log_retention=10_000`` and ``record_requests=False``, on a
:class:`~contactnow_async.VirtualClock`, so ``AgentWatcher(cn, interval=1.0)``
polls back to back, one virtual second apart. One subscriber
(``drop_oldest``) is drained by a reader task, as a consumer would.
``tracemalloc`` traces (1 frame) for the whole run. Memory is read after the
warm-up (200 polls; 20 in --quick, 5 in --smoke) and at the end: traced bytes and RSS.
The traced bytes are split by where they were allocated: in the simulator's own
files (the server's books, the status log and the CDR, which grow until they
reach ``log_retention`` rows: the server's memory, not the client's), and
everywhere else (the client, the watcher, httpx: the target).
The full run stops after 13 minutes if 20,000 polls have not been made by
then; the row says how many were. Figures: traced and RSS growth from
warm-up to end, and polls per second; beside them the polls that failed (the watcher
counts a failed poll as a poll), which must be none for the memory figures to mean
anything.
"""

from __future__ import annotations

import gc
import resource
import sys
import tracemalloc

import anyio
import httpx

from contactnow_async import AgentWatcher, ContactNow, VirtualClock
from contactnow_async.simulator import Simulator

from ._common import PASSWORD, USERNAME, Mode, Row, now, row

NAME = "6 soak"
AGENTS = 5000
FULL_POLLS = 20_000
#: The full run stops here if 20,000 polls take longer (the table says how many ran).
FULL_BUDGET = 13 * 60.0


def _rss_mib() -> float:
    """The resident set size now, from /proc (ru_maxrss is a peak)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:  # not Linux: the peak is all there is
        scale = 2**20 if sys.platform == "darwin" else 2**10
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


#: Where the simulator's own allocations are made (the server's side of the soak).
_SERVER = "*contactnow_async*simulator*"


def _traced_mib() -> tuple[float, float]:
    """Traced MiB outside the simulator's files (the client's side), and inside them."""
    snapshot = tracemalloc.take_snapshot()
    client = snapshot.filter_traces([tracemalloc.Filter(False, _SERVER)])
    server = snapshot.filter_traces([tracemalloc.Filter(True, _SERVER)])
    client_mib, server_mib = (
        sum(stat.size for stat in part.statistics("filename")) / 2**20 for part in (client, server)
    )
    return client_mib, server_mib


async def soak(polls: int, agents: int, *, warmup: int, budget: float) -> dict[str, float]:
    clock = VirtualClock()
    sim = Simulator(
        username=USERNAME, password=PASSWORD, agents=agents, clock=clock,
        log_retention=10_000, record_requests=False,
    )  # fmt: skip
    figures: dict[str, float] = {}
    delivered = 0
    async with (
        httpx.AsyncClient(transport=sim.transport()) as http,
        ContactNow(
            username=USERNAME,
            password=PASSWORD,
            base_url="http://sim/",
            http_client=http,
            clock=clock,
        ) as cn,
        AgentWatcher(cn, interval=1.0) as watcher,
    ):
        subscription = watcher.subscribe(overflow="drop_oldest", buffer=10_000)

        async def read() -> None:
            nonlocal delivered
            async for _ in subscription:
                delivered += 1

        async with anyio.create_task_group() as tg:
            tg.start_soon(read)
            while watcher.health.polls < warmup:  # noqa: ASYNC110 -- a count, not an event
                await anyio.sleep(0.01)
            gc.collect()
            figures["warm_rss"] = _rss_mib()  # before the snapshot, which takes memory itself
            figures["warm_traced"], figures["warm_server"] = _traced_mib()
            figures["warm_polls"] = watcher.health.polls
            started = now()
            deadline = started + budget
            while watcher.health.polls < polls and now() < deadline:  # noqa: ASYNC110 -- a count
                await anyio.sleep(0.01)
            elapsed = now() - started
            done = watcher.health.polls
            gc.collect()
            figures["end_rss"] = _rss_mib()  # before the snapshot, which takes memory itself
            figures["end_traced"], figures["end_server"] = _traced_mib()
            figures["polls_per_s"] = (done - figures["warm_polls"]) / elapsed
            figures["polls"] = done
            tg.cancel_scope.cancel()
    figures["delivered"] = delivered
    figures["failures"] = watcher.health.failures
    return figures


#: (polls, agents, warm-up polls, budget in seconds) by mode
SIZES: dict[Mode, tuple[int, int, int, float]] = {
    "full": (FULL_POLLS, AGENTS, 200, FULL_BUDGET),
    "quick": (100, 1000, 20, 10.0),
    "smoke": (20, 25, 5, 10.0),
}


async def run(mode: Mode) -> list[Row]:
    polls, agents, warmup, budget = SIZES[mode]
    tracemalloc.start(1)
    try:
        figures = await soak(polls, agents, warmup=warmup, budget=budget)
    finally:
        tracemalloc.stop()
    what = f"{agents:,} agents, {int(figures['polls']):,} polls"
    return [
        row(
            NAME,
            f"traced memory growth outside the simulator, warm-up -> end ({what})",
            [figures["end_traced"] - figures["warm_traced"]],
            "MiB",
            target="~0 (bounded)",
            # A poll that failed read nothing: memory that stayed flat then measured nothing.
            check=lambda g: g < 0.05 * figures["warm_traced"] + 1 and figures["failures"] == 0,
        ),
        row(
            NAME,
            "polls that failed",
            [figures["failures"]],
            "polls",
            target="0",
            check=lambda n: n == 0,
        ),
        row(
            NAME,
            "traced memory outside the simulator after warm-up",
            [figures["warm_traced"]],
            "MiB",
        ),
        row(
            NAME,
            "the simulator's traced memory growth (its log and CDR filling to retention)",
            [figures["end_server"] - figures["warm_server"]],
            "MiB",
        ),
        row(NAME, "RSS growth, warm-up -> end", [figures["end_rss"] - figures["warm_rss"]], "MiB"),
        row(NAME, "RSS after warm-up", [figures["warm_rss"]], "MiB"),
        row(
            NAME,
            "polls per second (virtual clock, tracemalloc on)",
            [figures["polls_per_s"]],
            "polls/s",
        ),
    ]
