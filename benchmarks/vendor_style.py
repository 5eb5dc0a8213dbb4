"""2. Against the vendor's own client style: sequential, a new connection per call,
the token re-read from a file per call (how the vendor's PHP wrapper works).

Two vendor-style variants, both in Python with httpx against the same served
simulator: a fresh ``httpx.AsyncClient`` per call (like ``curl_init`` per call;
it also builds an SSL context each time), and the kinder one, one client
sending ``Connection: close`` (a new TCP connection per call, nothing else
rebuilt). The target is judged on the kinder one. Figure: vendor time per
call / library time per call at C=50 (the library with a warm pool).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import httpx

from contactnow_async import ContactNow

from ._common import PASSWORD, USERNAME, Row, interleave, now, row, served_simulator
from .request_overhead import fetch_token, workers

NAME = "2 vendor style"


async def run(quick: bool) -> list[Row]:
    library_calls = 300 if quick else 2000
    vendor_calls = 40 if quick else 300
    repeats = 3 if quick else 5
    concurrency = 50
    with served_simulator() as base_url, tempfile.TemporaryDirectory() as tmp:
        token_file = Path(tmp) / "token"
        async with httpx.AsyncClient() as http:
            token_file.write_text(await fetch_token(http, base_url), encoding="utf-8")
        url = f"{base_url}database.php"

        def params() -> dict[str, str]:
            token = token_file.read_text(encoding="utf-8").strip()  # re-read per call
            return {"action": "read", "format": "json", "raw": "1", "method": "agents", "token": token}

        async def vendor_new_client() -> float:
            started = now()
            for _ in range(vendor_calls):
                async with httpx.AsyncClient() as fresh:
                    reply = await fresh.get(url, params=params())
                assert json.loads(reply.content)["success"]
            return (now() - started) / vendor_calls

        close_client = httpx.AsyncClient(headers={"Connection": "close"})

        async def vendor_connection_close() -> float:
            started = now()
            for _ in range(vendor_calls):
                reply = await close_client.get(url, params=params())
                assert json.loads(reply.content)["success"]
            return (now() - started) / vendor_calls

        async with close_client, ContactNow(
            username=USERNAME, password=PASSWORD, base_url=base_url, max_concurrency=concurrency
        ) as cn:

            async def call() -> None:
                await cn.agents.read()

            await workers(concurrency * 2, concurrency, call)

            async def library() -> float:
                return await workers(library_calls, concurrency, call) / library_calls

            closes = await interleave(vendor_connection_close, library, repeats)
            fresh = await interleave(vendor_new_client, library, repeats)
    return [
        row(
            NAME,
            "speed-up vs Connection: close per call, C=50",
            [vendor / lib for vendor, lib in closes],
            "x",
            target=">= 10",
            check=lambda r: r >= 10,
        ),
        row(
            NAME,
            "speed-up vs new AsyncClient per call, C=50",
            [vendor / lib for vendor, lib in fresh],
            "x",
        ),
        row(
            NAME,
            "vendor (Connection: close) calls/s",
            [1 / vendor for vendor, _ in closes],
            "calls/s",
        ),
    ]
