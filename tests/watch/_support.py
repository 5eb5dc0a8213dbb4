"""Helpers for the watcher's tests: a client on an in-process simulator, and a spy."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.lowlevel
import httpx

from contactnow_async import AgentEvent, ContactNow, Subscription
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
    sim: Simulator, *, transport: httpx.AsyncBaseTransport | None = None, **options: Any
) -> AsyncIterator[ContactNow]:
    """A ContactNow client talking to ``sim`` in process, on the simulator's clock."""
    async with (
        httpx.AsyncClient(transport=transport or sim.transport()) as http,
        ContactNow(
            base_url="http://sim.test/",
            username=sim.username,
            password="secret",
            http_client=http,
            clock=sim.clock,
            retry_backoff=0.0,
            **options,
        ) as client,
    ):
        yield client


async def collect(subscription: Subscription[AgentEvent], into: list[AgentEvent]) -> None:
    async for event in subscription:
        into.append(event)


async def until(predicate: Any, *, patience: float = 300.0) -> None:
    """Let the watcher run (it jumps the virtual clock) until ``predicate()`` holds.

    Gives up after ``patience`` real seconds: a guard against a hang, never a
    measure of speed (a loaded machine may take long to serve a real socket).
    """
    give_up = time.monotonic() + patience
    while not predicate():
        if time.monotonic() > give_up:
            raise AssertionError("the watcher did not get there")
        await anyio.lowlevel.checkpoint()


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
