"""1. Request overhead: ``cn.agents.read()`` vs a minimal hand-written httpx loop.

Both sides send the same GET (``database.php?action=read&format=json&raw=1&
method=agents&token=..``) to the same simulator, served by uvicorn in a
separate process (:func:`~benchmarks._common.served_simulator`), over warm
pools of C connections, C workers each making N/C calls. The baseline only
``json.loads`` the reply; the library also checks the envelope and builds
``Agent`` models (25 per reply). Figure: library time / baseline time.
"""

from __future__ import annotations

import json

import anyio
import httpx

from contactnow_async import ContactNow

from ._common import PASSWORD, USERNAME, Mode, Row, interleave, now, row, served_simulator

NAME = "1 request overhead"


async def fetch_token(http: httpx.AsyncClient, base_url: str) -> str:
    reply = await http.get(
        f"{base_url}token.php",
        params={"action": "get", "username": USERNAME, "password": PASSWORD, "format": "json"},
    )
    return str(json.loads(reply.content)["token"])


async def workers(calls: int, concurrency: int, call: object) -> float:
    """Time ``calls`` awaits of ``call()`` made by ``concurrency`` workers."""
    per_worker = calls // concurrency

    async def worker() -> None:
        for _ in range(per_worker):
            await call()  # type: ignore[operator]  # an async callable

    started = now()
    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(worker)
    return now() - started


async def measure(
    base_url: str, *, calls: int, concurrency: int, repeats: int
) -> list[tuple[float, float]]:
    """[(library seconds, baseline seconds)] for ``calls`` calls at ``concurrency``."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with (
        httpx.AsyncClient(limits=limits) as http,
        ContactNow(
            username=USERNAME, password=PASSWORD, base_url=base_url, max_concurrency=concurrency
        ) as cn,
    ):
        token = await fetch_token(http, base_url)
        url = f"{base_url}database.php"
        params = {
            "action": "read",
            "format": "json",
            "raw": "1",
            "method": "agents",
            "token": token,
        }

        async def baseline_call() -> None:
            reply = await http.get(url, params=params)
            body = json.loads(reply.content)
            assert body["success"]

        async def library_call() -> None:
            await cn.agents.read()

        # Warm both pools to C connections.
        await workers(concurrency * 2, concurrency, library_call)
        await workers(concurrency * 2, concurrency, baseline_call)

        async def library() -> float:
            return await workers(calls, concurrency, library_call)

        async def baseline() -> float:
            return await workers(calls, concurrency, baseline_call)

        return await interleave(library, baseline, repeats)


#: (calls, repeats) by mode; calls is a multiple of every concurrency
SIZES: dict[Mode, tuple[int, int]] = {"full": (2000, 7), "quick": (200, 2), "smoke": (50, 1)}


async def run(mode: Mode) -> list[Row]:
    calls, repeats = SIZES[mode]
    rows = []
    with served_simulator() as base_url:
        for concurrency in (1, 50):
            pairs = await measure(base_url, calls=calls, concurrency=concurrency, repeats=repeats)
            ratios = [lib / base for lib, base in pairs]
            rows.append(
                row(
                    NAME,
                    f"library / httpx time, C={concurrency}, {calls} calls",
                    ratios,
                    "x",
                    target="<= 1.15" if concurrency == 50 else "",
                    check=(lambda r: r <= 1.15) if concurrency == 50 else None,
                )
            )
            rows.append(
                row(
                    NAME,
                    f"library calls/s, C={concurrency}",
                    [calls / lib for lib, _ in pairs],
                    "calls/s",
                )
            )
            rows.append(
                row(
                    NAME,
                    f"httpx calls/s, C={concurrency}",
                    [calls / base for _, base in pairs],
                    "calls/s",
                )
            )
    return rows
