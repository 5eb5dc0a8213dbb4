"""Helpers for the watcher's tests: a client on an in-process simulator, and a spy."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx

from contactnow_async import AgentEvent, Clock, ContactNow, Subscription, VirtualClock
from contactnow_async.simulator import Simulator


class AjaxSpy(httpx.AsyncBaseTransport):
    """Records every good ``ajax.php`` reply, decoded with plain ``json``, not our wire layer."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.snapshots: list[dict[str, tuple[str, str, str]]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not request.url.path.endswith("/ajax.php"):
            return response
        body = await response.aread()
        try:
            reply = json.loads(body)
        except ValueError:
            reply = None
        if response.status_code == 200 and isinstance(reply, dict) and reply.get("success"):
            self.snapshots.append(
                {r["uid"]: (r["status"], r["statuscode"], r["time"]) for r in reply["list"]}
            )
        return httpx.Response(response.status_code, headers=response.headers, content=body)


@asynccontextmanager
async def client_on(
    sim: Simulator,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock | None = None,
    **options: Any,
) -> AsyncIterator[ContactNow]:
    """A ContactNow client talking to ``sim`` in process, on the simulator's clock (or
    ``clock``)."""
    async with (
        httpx.AsyncClient(transport=transport or sim.transport()) as http,
        ContactNow(
            base_url="http://sim.test/",
            username=sim.username,
            password="secret",
            http_client=http,
            clock=clock or sim.clock,
            retry_backoff=0.0,
            **options,
        ) as client,
    ):
        yield client


async def collect(subscription: Subscription[AgentEvent], into: list[AgentEvent]) -> None:
    async for event in subscription:
        into.append(event)


class TickingClock(VirtualClock):
    """A virtual clock that wakes :func:`until` each time the watcher sleeps on it.

    The watcher sleeps on its clock once per poll, after it has updated its health
    and cursor: the moment a predicate on them can have changed. Only sleeps in the
    thread that made the clock wake anyone (a simulator served by uvicorn in
    another thread reads the same clock).
    """

    __slots__ = ("_thread", "_ticked")

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        super().__init__(start)
        self._thread = threading.get_ident()
        self._ticked: anyio.Event | None = None

    async def sleep_until(self, deadline: float) -> None:
        self.set(deadline)
        ticked = self._ticked
        if ticked is not None and threading.get_ident() == self._thread:
            self._ticked = None
            ticked.set()
        await super().sleep_until(deadline)

    async def tick(self) -> None:
        """Wait until someone in this thread sleeps on the clock."""
        if self._ticked is None:
            self._ticked = anyio.Event()
        await self._ticked.wait()


class SkewedClock:
    """Another clock's time ``by`` seconds later (earlier, if negative): a host whose clock
    differs from the centre's. Its sleeps are the other clock's, so :func:`until` on that
    one still wakes with a watcher on this one."""

    def __init__(self, clock: Clock, by: float) -> None:
        self.clock = clock
        self.by = by

    def now(self) -> float:
        return self.clock.now() + self.by

    async def sleep_until(self, deadline: float) -> None:
        await self.clock.sleep_until(deadline - self.by)


async def until(clock: Clock, predicate: Callable[[], bool], *, patience: float = 300.0) -> None:
    """Let the watcher run (it jumps the virtual clock) until ``predicate()`` holds.

    Checks after each of the watcher's sleeps on ``clock`` (a :class:`TickingClock`),
    so the test sleeps in between: no spin competes with the watcher, or with a
    server in another thread, for the interpreter. Gives up after ``patience`` real
    seconds: a guard against a hang, never a measure of speed.
    """
    assert isinstance(clock, TickingClock), "until() needs the simulator on a TickingClock"
    with anyio.move_on_after(patience):
        while not predicate():
            await clock.tick()
        return
    raise AssertionError("the watcher did not get there")


def log_rows(sim: Simulator) -> list[tuple[int, str, str, str, int]]:
    """The simulator's status_log as (uid, agent, status, subcode, uts)."""
    return [
        (int(r["uid"]), r["agent"], r["status"], r["subcode"], int(r["uts"]))
        for r in sim.status_log()
    ]


def event_rows(events: list[AgentEvent]) -> list[tuple[int, str, str, str, int]]:
    rows = []
    for e in events:
        if e.source != "status_log":
            continue
        assert e.after is not None and e.log_id is not None
        rows.append((e.log_id, e.agent_id, e.after.status, e.after.sub_status, e.after.started_ts))
    return rows


def replayed(changes: Sequence[tuple[str, object, object]]) -> dict[str, object]:
    """Each agent's state after ``changes`` ((agent, before, after), in order) replayed from
    nothing; fails where a change's ``before`` is not the state those before it left."""
    shown: dict[str, object] = {}
    for agent_id, before, after in changes:
        assert shown.get(agent_id) == before, changes
        shown[agent_id] = after
    return shown
