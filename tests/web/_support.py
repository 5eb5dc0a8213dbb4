"""Helpers for the wallboard's tests: a client on an in-process simulator, a source
the test publishes to by hand, and the status log as rows to compare events with."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.abc
import httpx

from contactnow_async import AgentWatcher, Clock, ContactNow, VirtualClock
from contactnow_async.simulator import Simulator
from contactnow_async.web import WatcherSource
from contactnow_async.web._board import Board, Entry, Resume, Viewer
from contactnow_async.web._sources import sse_frame

from ._sse import Frame


@asynccontextmanager
async def client_on(
    sim: Simulator,
    *,
    password: str = "secret",
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock | None = None,
    **options: Any,
) -> AsyncIterator[ContactNow]:
    """A ContactNow client talking to ``sim`` in process (or through ``transport``, in
    front of it), on the simulator's clock or ``clock`` (``options``: more of the
    client's, ``record_tz`` say)."""
    async with (
        httpx.AsyncClient(transport=transport or sim.transport()) as http,
        ContactNow(
            base_url="http://sim.test/",
            username=sim.username,
            password=password,
            http_client=http,
            clock=clock or sim.clock,
            retry_backoff=0.0,
            **options,
        ) as client,
    ):
        yield client


async def let_pass(watcher: AgentWatcher, count: int) -> None:
    """Wait while the watcher publishes ``count`` more events (no browser listening)."""
    with anyio.fail_after(30):
        async with watcher.subscribe(initial=False) as events:
            seen = 0
            async for _ in events:
                seen += 1
                if seen >= count:
                    return


def log_rows(sim: Simulator) -> list[tuple[int, str, str, str, int]]:
    """The simulator's status_log as (uid, agent, status, subcode, uts), in uid order."""
    rows = [
        (int(r["uid"]), r["agent"], r["status"], r["subcode"], int(r["uts"]))
        for r in sim.status_log()
    ]
    return sorted(rows)


def event_rows(frames: Iterable[Frame]) -> list[tuple[int, str, str, str, int]]:
    """The status_log row each ``event: agent`` frame reports, as :func:`log_rows` has it."""
    rows = []
    for frame in frames:
        assert frame.event == "agent", frame
        event = json.loads(frame.data)
        after = event["after"]
        rows.append(
            (
                event["log_id"],
                event["agent_id"],
                after["status"],
                after["sub_status"],
                after["started_ts"],
            )
        )
    return rows


def agent(agent_id: str, status: str = "wait", started_ts: int = 1_700_000_000) -> dict[str, Any]:
    """An agent object as the event JSON has it."""
    return {
        "agent_id": agent_id,
        "name": f"Agent {agent_id}",
        "status": status,
        "sub_status": "",
        "started_ts": started_ts,
        "server_ts": started_ts,
        "calls": [],
    }


class HandSource:
    """A source the test publishes to by hand; ids are uids, as a watcher's are.

    Seeds the board with ``agents`` at cursor ``"100"``; :meth:`publish` adds the
    next uid for one agent. ``healthy`` and ``error`` are what ``health()`` reports.
    """

    kind = "hand"

    def __init__(self, agents: Iterable[str] = ("1", "2", "3")) -> None:
        self.clock = VirtualClock()
        self.agents = {agent_id: agent(agent_id) for agent_id in agents}
        self.uid = 100
        self.board: Board | None = None
        self.healthy = True
        self.error = "ConnectError: secret-host.example unreachable"

    parse_id = staticmethod(WatcherSource.parse_id)

    async def run(self, board: Board, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        board.seed(self.agents, cursor=str(self.uid))
        self.board = board
        task_status.started()
        await anyio.sleep_forever()

    def publish(self, agent_id: str, status: str) -> str:
        """One event for ``agent_id``; returns its id."""
        assert self.board is not None
        self.uid += 1
        after = agent(agent_id, status, 1_700_000_000 + self.uid)
        document: dict[str, Any] = {
            "id": f"log:{self.uid}",
            "kind": "changed",
            "agent_id": agent_id,
        }
        document |= {"log_id": self.uid, "after": after}
        event_id = str(self.uid)
        frame = sse_frame(json.dumps(document), event_id)
        self.board.publish(Entry(self.uid, event_id, agent_id, frame), agent_id, after)
        return event_id

    async def resolve(self, board: Board, viewer: Viewer, resume: Resume) -> None:
        viewer.fail("expired" if resume.where == "before" else "unknown")

    def health(self) -> tuple[bool, dict[str, Any]]:
        return self.healthy, {"last_error": self.error}


class SteppedClock:
    """Another clock's time, and sleeps that last until the test calls :meth:`step`.

    A loop paced by it (the queue KPIs' refreshes) runs once per step, on the
    simulator's time, instead of spinning as it would on a VirtualClock.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._woken: anyio.Event | None = None

    def now(self) -> float:
        return self.clock.now()

    async def sleep_until(self, deadline: float) -> None:
        self._woken = anyio.Event()
        await self._woken.wait()

    def step(self) -> None:
        """End the sleep under way (the loop then runs once more)."""
        assert self._woken is not None, "nothing is sleeping on this clock"
        self._woken.set()
