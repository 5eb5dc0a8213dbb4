"""11. Event latency: from a status change in the simulator to its delivery to a subscriber.

The simulator serves 1,000 agents from its own process (uvicorn, as ``contactnow
simulate``) on the wall clock, and stamps each change with the moment it
happened (``_server.Stamps``: the scenario's own time, a float; the API's
``time`` is whole seconds). A watcher (``interval=0.5``, no jitter) streams
events to one subscriber, which notes the wall-clock time of each delivery.
Afterwards every change is matched with its event: by log uid in backfill mode,
by agent, start second and status in poll mode (a change overtaken by another
of the same agent before the next poll has no event of its own, and is not
counted). Latency = delivery time - change time, on the one machine's clock.

Only the changes from one interval after the watch starts to one interval before its
window ends count; the watcher runs ``TAIL`` past the window, so that each of them has
time to be delivered. Poll mode sees a change at the first poll after it: latency is
spread over one interval, plus the poll's own time. Backfill mode reads the status
log when a poll saw a change, one more request. Target: poll-mode p99 <= interval +
25 ms.
"""

from __future__ import annotations

import json
import statistics
import time

import anyio

from contactnow_async import ContactNow

from ._common import PASSWORD, USERNAME, Mode, Row, helper_client, row, served_simulator

NAME = "11 event latency"
AGENTS = 1000
INTERVAL = 0.5
LIMIT_MS = INTERVAL * 1000 + 25
#: Seconds the watcher keeps delivering after the window: a change counted is left out
#: for want of its event only if that took more than ``INTERVAL + TAIL`` (three times
#: the target), not any late delivery past the window's end (the slowest, which p99 is).
TAIL = 2 * INTERVAL
#: seconds of watching per mode, by mode
SECONDS: dict[Mode, float] = {"full": 30.0, "quick": 8.0, "smoke": 1.2}
#: mean seconds in each status, by mode: ~17 changes a second among 1,000 agents
#: (smoke: ~200, so that the middle of its one second sees some: ~30 matched a mode)
DWELL: dict[Mode, float] = {"full": 60.0, "quick": 60.0, "smoke": 5.0}


async def _changes(base_url: str, after: int, mode: Mode) -> list[list[object]]:
    async with helper_client(mode) as http:
        reply = await http.get(f"{base_url}bench/changes", params={"after": after})
        return list(json.loads(reply.content))


async def watch(
    base_url: str, *, backfill: bool, seconds: float, mode: Mode = "full"
) -> list[float]:
    """Latencies (seconds) of the changes seen while watching for ``seconds``."""
    delivered: dict[tuple[object, ...], float] = {}
    async with ContactNow(username=USERNAME, password=PASSWORD, base_url=base_url) as cn:
        log = await _changes(base_url, 0, mode)
        first_uid = int(str(log[-1][0])) if log else 0
        started = time.time()
        with anyio.move_on_after(seconds + TAIL):
            async with cn.watch_agents(
                interval=INTERVAL, jitter=0.0, include_offline=True, backfill=backfill
            ) as stream:
                async for event in stream:
                    at = time.time()
                    after = event.after
                    if event.log_id is not None:
                        delivered.setdefault(("uid", event.log_id), at)
                    elif after is not None:
                        seen = (after.agent_id, after.started_ts, after.status, after.sub_status)
                        delivered.setdefault(seen, at)
    ended = started + seconds  # the changes counted end an interval before this
    latencies = []
    for uid, when, agent, status, subcode in await _changes(base_url, first_uid, mode):
        moment = float(str(when))
        if not started + INTERVAL < moment < ended - INTERVAL:  # after the first poll, in time
            continue
        key = ("uid", uid) if backfill else (agent, int(moment), status, subcode)
        if key in delivered:
            latencies.append(delivered[key] - moment)
    return latencies


async def matched(
    base_url: str, *, backfill: bool, seconds: float, mode: Mode = "full"
) -> list[float]:
    """:func:`watch`, again for twice as long while it matched nothing (three more
    times at most): on a loaded machine the first poll of 1,000 agents can come after
    the smoke's 1.2 s, and only the changes in the middle of the window count."""
    for _ in range(3):
        latencies = await watch(base_url, backfill=backfill, seconds=seconds, mode=mode)
        if latencies:
            return latencies
        seconds *= 2
    return await watch(base_url, backfill=backfill, seconds=seconds, mode=mode)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run(mode: Mode) -> list[Row]:
    seconds = SECONDS[mode]
    rows = []
    with served_simulator(agents=AGENTS, stamps=True, dwell=DWELL[mode]) as base_url:
        for backfill in (False, True):
            latencies = await matched(base_url, backfill=backfill, seconds=seconds, mode=mode)
            if not latencies:
                raise RuntimeError(f"no change was matched with an event in {seconds * 8:g}s")
            ms = [latency * 1000 for latency in latencies]
            what = "backfill" if backfill else "poll"
            p99 = _percentile(ms, 0.99)
            rows.append(
                row(NAME, f"{what} mode, {AGENTS:,} agents, interval={INTERVAL}: p50",
                    [statistics.median(ms)], "ms")
            )  # fmt: skip
            rows.append(
                row(NAME, f"{what} mode: p99 ({len(ms)} changes)", [p99], "ms",
                    target=f"<= {LIMIT_MS:g}" if not backfill else "",
                    check=(lambda p: p <= LIMIT_MS) if not backfill else None)
            )  # fmt: skip
    return rows
