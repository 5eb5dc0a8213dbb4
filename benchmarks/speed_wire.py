"""10. The ``[speed]`` wire: 300 reads at C=20 vs raw aiohttp and vs the vendor's style.

Against two servers, each in its own process: the simulator on uvicorn (what
the issue measured, ``contactnow simulate``: its CPU caps every client near
1,700 calls/s) and the canned-reply server (:mod:`benchmarks._canned`, which
caps nothing, so the clients' own costs show), each side makes 300
``database.php`` agent reads (25 agents a reply):

- the library with the ``[speed]`` extra, as it runs by default on asyncio
  (``transport="auto"``: httpx's API over aiohttp; orjson decoding), C=20;
- raw aiohttp, what a user would write by hand: one ``ClientSession`` with a
  pool of 20, ``await response.read()`` and ``json.loads``, C=20;
- the library on plain httpx (``transport="httpx"``), C=20, for reference;
- a floor (no target): raw aiohttp as above, decoded by orjson, each row made an
  ``Agent`` (``Agent.from_record``, the library's own), with no client around it:
  what typed rows cost before any request layer;
- the vendor's PHP wrapper's style (see ``vendor_style``): sequential, a new
  connection per call (``Connection: close``), the token re-read from a file
  per call.

Warm pools; the sides take turns, each repeat in a rotated order. Figures:
library time / raw aiohttp time (target <= 1.2), and library throughput /
vendor-style throughput (target >= 2).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from contactnow_async import ContactNow
from contactnow_async._http import chosen
from contactnow_async._models import Agent

from ._common import (
    PASSWORD,
    USERNAME,
    Mode,
    Row,
    helper_client,
    now,
    row,
    served_canned,
    served_simulator,
)
from .request_overhead import WARM, fetch_token, workers

NAME = "10 [speed] wire"
CALLS = 300
CONCURRENCY = 20
#: repeats by mode
REPEATS: dict[Mode, int] = {"full": 9, "quick": 3, "smoke": 1}
#: calls per side by mode (smoke: only that it runs, one call a worker)
CALLS_BY_MODE: dict[Mode, int] = {"full": CALLS, "quick": CALLS, "smoke": CONCURRENCY}


def speed_installed() -> bool:
    try:
        import aiohttp  # noqa: F401 -- only whether it is there
        import orjson  # noqa: F401 -- only whether it is there
    except ImportError:
        return False
    return True


async def measure(
    base_url: str, repeats: int, calls: int, mode: Mode = "full"
) -> dict[str, list[float]]:
    """Seconds for ``calls`` calls, per side, per repeat, after ``WARM[mode]`` untimed
    calls a worker on each pool."""
    import aiohttp
    import orjson

    url = f"{base_url}database.php"
    with tempfile.TemporaryDirectory() as tmp:
        token_file = Path(tmp) / "token"
        async with helper_client(mode) as http:
            token = await fetch_token(http, base_url)
        token_file.write_text(token, encoding="utf-8")
        params = {"action": "read", "format": "json", "raw": "1", "method": "agents",
                  "token": token}  # fmt: skip
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            httpx.AsyncClient(headers={"Connection": "close"}) as close_client,
            ContactNow(username=USERNAME, password=PASSWORD, base_url=base_url,
                       max_concurrency=CONCURRENCY) as fast,
            ContactNow(username=USERNAME, password=PASSWORD, base_url=base_url,
                       max_concurrency=CONCURRENCY, transport="httpx") as plain,
        ):  # fmt: skip

            async def aiohttp_call() -> None:
                async with session.get(url, params=params) as reply:
                    assert json.loads(await reply.read())["success"]

            async def typed_aiohttp_call() -> None:  # the floor: raw aiohttp, typed rows
                async with session.get(url, params=params) as reply:
                    decoded = orjson.loads(await reply.read())
                assert decoded["success"]
                for record in decoded["list"]:
                    Agent.from_record(record)

            async def fast_call() -> None:
                await fast.agents.read()

            async def plain_call() -> None:
                await plain.agents.read()

            async def vendor_call() -> None:
                token = token_file.read_text(encoding="utf-8").strip()  # per call, as PHP does
                reply = await close_client.get(url, params={**params, "token": token})
                assert json.loads(reply.content)["success"]

            def timed(
                call: Callable[[], Awaitable[None]], concurrency: int
            ) -> Callable[[], Awaitable[float]]:
                async def side() -> float:
                    return await workers(calls, concurrency, call)

                return side

            sides = {
                "library": timed(fast_call, CONCURRENCY),
                "aiohttp": timed(aiohttp_call, CONCURRENCY),
                "library-httpx": timed(plain_call, CONCURRENCY),
                "vendor": timed(vendor_call, 1),
                "typed aiohttp": timed(typed_aiohttp_call, CONCURRENCY),
            }
            for call in (fast_call, aiohttp_call, plain_call):  # warm the pools
                await workers(CONCURRENCY * WARM[mode], CONCURRENCY, call)
            assert chosen("auto") == "aiohttp"
            times: dict[str, list[float]] = {name: [] for name in sides}
            order = list(sides)
            for index in range(repeats):
                shift = index % len(order)
                for name in order[shift:] + order[:shift]:
                    started = now()
                    await sides[name]()
                    times[name].append(now() - started)
    return times


async def run(mode: Mode) -> list[Row]:
    if not speed_installed():
        return [row(NAME, "skipped: the [speed] extra is not installed", [0.0], "")]
    rows = []
    servers = (("simulator", served_simulator), ("canned server", served_canned))
    for where, serve in servers[1:] if mode == "smoke" else servers:  # smoke: one server
        with serve(shared=mode == "smoke") as base_url:  # smoke: benchmark 1's server
            times = await measure(base_url, REPEATS[mode], CALLS_BY_MODE[mode], mode)
        rows += _rows(where, times, CALLS_BY_MODE[mode])
    return rows


def _rows(where: str, times: dict[str, list[float]], calls: int) -> list[Row]:
    lib, raw, plain, vendor, typed = (
        times[name] for name in ("library", "aiohttp", "library-httpx", "vendor", "typed aiohttp")
    )
    return [
        row(NAME, f"{where}: {calls} reads at C={CONCURRENCY}, library ([speed]) / raw aiohttp",
            [a / b for a, b in zip(lib, raw, strict=True)], "x", target="<= 1.2",
            check=lambda r: r <= 1.2),
        row(NAME, f"{where}: library ([speed], C={CONCURRENCY}) / vendor style throughput",
            [v / a for a, v in zip(lib, vendor, strict=True)], "x", target=">= 2",
            check=lambda r: r >= 2),
        row(NAME, f"{where}: floor: raw aiohttp, orjson and Agent.from_record per row (typed, "
            "no client) / raw aiohttp", [t / b for t, b in zip(typed, raw, strict=True)], "x"),
        row(NAME, f"{where}: library on plain httpx / raw aiohttp time, C={CONCURRENCY}",
            [a / b for a, b in zip(plain, raw, strict=True)], "x"),
        row(NAME, f"{where}: library ([speed]) calls/s", [calls / t for t in lib], "calls/s"),
        row(NAME, f"{where}: raw aiohttp calls/s", [calls / t for t in raw], "calls/s"),
        row(NAME, f"{where}: library on plain httpx calls/s", [calls / t for t in plain],
            "calls/s"),
        row(NAME, f"{where}: vendor style calls/s (sequential, Connection: close)",
            [calls / t for t in vendor], "calls/s"),
    ]  # fmt: skip
