"""1. Request overhead: ``cn.agents.read()`` vs a minimal hand-written httpx loop.

Both sides send the same GET (``database.php?action=read&format=json&raw=1&
method=agents&token=..``) to the same canned-reply server, a minimal asyncio
protocol in its own process answering fixed bytes (:mod:`benchmarks._canned`:
the simulator on uvicorn was the bottleneck, and the figure measured noise),
over warm pools of C connections, C workers each making N/C calls, the two
sides taking turns in chunks of 200 calls (a side's time for N calls is the
sum of its chunks). The library runs on plain httpx (``transport="httpx"``:
the default without the ``[speed]`` extra) and decodes JSON with the standard
library, as the baseline does; the baseline only ``json.loads`` the reply, the
library also checks the envelope and builds ``Agent`` models (25 per reply).
Figure: library time / baseline time.
"""

from __future__ import annotations

import json

import anyio
import httpx

from contactnow_async import ContactNow
from contactnow_async._wire import set_json_decoder

from ._common import PASSWORD, USERNAME, Mode, Row, interleave, now, row, served_canned

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
    base_url: str, *, calls: int, concurrency: int, repeats: int, mode: Mode = "full"
) -> list[tuple[float, float]]:
    """[(library seconds, baseline seconds)] for ``calls`` calls at ``concurrency``,
    after ``WARM[mode]`` untimed calls a worker on each side."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with (
        httpx.AsyncClient(limits=limits) as http,
        ContactNow(
            username=USERNAME,
            password=PASSWORD,
            base_url=base_url,
            max_concurrency=concurrency,
            transport="httpx",
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
        await workers(concurrency * WARM[mode], concurrency, library_call)
        await workers(concurrency * WARM[mode], concurrency, baseline_call)

        # The sides take turns in chunks of CHUNK calls, so neither pool idles longer
        # than httpx's keep-alive expiry (5 s) while the other runs: a pool that has to
        # reconnect all C connections at once then runs at a fraction of its speed
        # for about 5 s (httpcore's pool, see RESULTS.md's ninth round), which made
        # whichever side ran second in a pair the slower one.
        chunk = min(calls, CHUNK)

        async def library() -> float:
            return await workers(chunk, concurrency, library_call)

        async def baseline() -> float:
            return await workers(chunk, concurrency, baseline_call)

        per_repeat = calls // chunk
        turns = await interleave(library, baseline, repeats * per_repeat)
        return [
            (
                sum(lib for lib, _ in turns[index : index + per_repeat]),
                sum(base for _, base in turns[index : index + per_repeat]),
            )
            for index in range(0, len(turns), per_repeat)
        ]


#: Calls a side makes in one turn: shorter than httpx's keep-alive expiry at any speed
#: seen here (200 calls take 0.1 to 0.8 s).
CHUNK = 200


#: (calls, repeats) by mode; calls is a multiple of every concurrency
SIZES: dict[Mode, tuple[int, int]] = {"full": (2000, 7), "quick": (200, 2), "smoke": (50, 1)}
#: Untimed calls a worker makes to warm a pool before the clock starts, by mode (also
#: benchmarks 2 and 10's): the smoke's one a worker opens the C connections, no more.
WARM: dict[Mode, int] = {"full": 2, "quick": 2, "smoke": 1}


TARGET = 1.10


async def run(mode: Mode) -> list[Row]:
    calls, repeats = SIZES[mode]
    rows = []
    set_json_decoder("stdlib")  # the baseline's decoder: the overhead is the client's
    try:
        with served_canned(shared=mode == "smoke") as base_url:
            rows += await _rows(base_url, calls=calls, repeats=repeats, mode=mode)
    finally:
        set_json_decoder("auto")
    return rows


async def _rows(base_url: str, *, calls: int, repeats: int, mode: Mode) -> list[Row]:
    rows = []
    for concurrency in (1, 50):
        pairs = await measure(
            base_url, calls=calls, concurrency=concurrency, repeats=repeats, mode=mode
        )
        ratios = [lib / base for lib, base in pairs]
        rows.append(
            row(
                NAME,
                f"library / httpx time, C={concurrency}, {calls} calls",
                ratios,
                "x",
                target=f"<= {TARGET}" if concurrency == 50 else "",
                check=(lambda r: r <= TARGET) if concurrency == 50 else None,
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
