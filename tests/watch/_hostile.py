"""A misbehaving contact centre in process: ``ajax.php`` and ``status_log`` from callables."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx

from contactnow_async import AgentEvent, AgentWatcher, Clock, ContactNow, VirtualClock
from tests._helpers import FakeAPI, client_for

from ._support import TickingClock, until

T0 = 1_700_000_000

#: A bound on a test that used to hang: never reached when the code works.
HANG_GUARD = 20.0

LiveRows = Callable[[int], list[dict[str, Any]]]
LogRows = Callable[[int, Mapping[str, str]], list[dict[str, Any]]]


def live_row(
    uid: int | str, status: str = "wait", time: object = T0, code: object = ""
) -> dict[str, Any]:
    """An ``ajax.php`` agent row; ``time`` and ``code`` are sent as given (any wire form)."""
    return {"uid": str(uid), "name": f"Agent {uid}", "status": status, "statuscode": code,
            "time": time, "srvtime": str(T0 + 100), "call": []}  # fmt: skip


def log_row(uid: int, agent: str, status: str, uts: object) -> dict[str, Any]:
    """A ``status_log`` row."""
    return {"uid": str(uid), "agent": agent, "status": status, "subcode": "", "uts": uts,
            "callid": "0"}  # fmt: skip


class Centre:
    """Answers the n-th ``ajax.php`` read with ``live(n)`` and the n-th status log read
    with ``log(n, params)`` (both counted from 1)."""

    def __init__(self, live: LiveRows, log: LogRows | None = None, *, total: int | None = None):
        self.live = live
        self.log = log or (lambda n, params: [])
        self.total = total
        self.live_reads = 0
        self.log_reads = 0

    def ajax(self, request: httpx.Request) -> dict[str, Any]:
        self.live_reads += 1
        rows = self.live(self.live_reads)
        total = len(rows) if self.total is None else self.total
        return {"success": True, "total": total, "list": rows}

    def status_log(self, request: httpx.Request) -> dict[str, Any]:
        self.log_reads += 1
        rows = self.log(self.log_reads, dict(request.url.params))
        return {"success": True, "total": len(rows), "list": rows}


@asynccontextmanager
async def client_of(centre: Centre, *, clock: Clock | None = None) -> AsyncIterator[ContactNow]:
    """A client of ``centre`` on a virtual clock (``clock``, or one at ``T0 + 100``),
    without retries."""
    api = FakeAPI(
        {
            ("ajax", "agents", "read"): centre.ajax,
            ("database", "status_log", "read"): centre.status_log,
        }
    )
    cn, http = client_for(api, clock=clock or VirtualClock(T0 + 100), max_retries=0)
    async with http, cn:
        yield cn


# Agent 1 goes wait -> call -> wait within one second (one status start), then leaves and
# comes back in that state twice; agent 2 stays. Each poll sees each state.
_REVISITS = [["wait"], ["call"], ["wait"], [], ["wait"], [], ["wait"]]


def revisiting(n: int) -> list[dict[str, Any]]:
    states = _REVISITS[min(n, len(_REVISITS)) - 1]
    return [live_row(1, status, time=T0) for status in states] + [live_row(2, "wait", time=T0)]


async def revisits(
    *, join_after: int = len(_REVISITS) + 1
) -> tuple[list[AgentEvent], list[AgentEvent]]:
    """A poll-mode watcher's events of agent 1's revisits (eight), and what a subscriber
    that joins after ``join_after`` polls reads: its picture (after them all, by default),
    then the events of the polls after it joined."""
    clock = TickingClock(T0 + 100)
    async with client_of(Centre(revisiting), clock=clock) as cn:
        watcher = AgentWatcher(cn, interval=1.0)
        feed = watcher.subscribe(overflow="block")
        async with watcher:
            await until(clock, lambda: watcher.health.polls >= join_after)
            late = watcher.subscribe(overflow="block")
            await until(clock, lambda: watcher.health.polls >= len(_REVISITS) + 1)
        return [e async for e in feed], [e async for e in late]
