"""2. Against the vendor's own client style: sequential, a new connection per call,
the token re-read from a file per call (how the vendor's PHP wrapper works).

Vendor-style calls in Python with httpx, against the same served simulator as
the library at C=50 (a warm pool): one ``httpx.AsyncClient`` sending
``Connection: close`` (a new TCP connection per call, nothing else rebuilt:
the kind reading), and a fresh ``AsyncClient`` per call (like ``curl_init``
per call; it also builds an SSL context each time). Three times: over bare
loopback, where a round trip costs ~0.1 ms and CPU (the client's, the one-process
server's) sets the rate; with 10 ms added to every
``database.php`` reply by the simulator's latency fault (a stand-in for the
network that charges no handshake); and behind ``_server.NetworkModel`` with a
10 ms round trip, where a new connection also pays the TCP and TLS 1.3
handshakes (two round trips) the real API's HTTPS requires before its first
request. Figure: vendor time per call / library time per call. Beside it, the
ceiling of any client built on httpx: a minimal hand-written pooled httpx loop
at C=50 (``json.loads`` only), against the same server in the same run. The library
runs on its default wire: aiohttp with the ``[speed]`` extra installed, which that
ceiling does not bound (its row is then aiohttp's lead over httpx, not the library's
overhead over it: benchmark 1 measures that), else httpx.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import httpx

from contactnow_async import ContactNow

from ._common import (
    PASSWORD,
    USERNAME,
    Mode,
    Row,
    helper_client,
    interleave,
    now,
    row,
    served_simulator,
)
from .request_overhead import WARM, fetch_token, workers

NAME = "2 vendor style"
DELAY = 0.010
#: (label, seconds added to each database.php reply, network round trip)
NETWORKS = (
    ("loopback", 0.0, 0.0),
    (f"+{DELAY * 1000:g} ms per reply", DELAY, 0.0),
    (f"{DELAY * 1000:g} ms RTT + TCP/TLS handshakes", 0.0, DELAY),
)


Pairs = list[tuple[float, float]]


async def compare(
    base_url: str,
    token_file: Path,
    *,
    library_calls: int,
    vendor_calls: int,
    repeats: int,
    mode: Mode = "full",
) -> tuple[Pairs, Pairs, Pairs]:
    """[(vendor s/call, library s/call)] for Connection: close, then a new client per
    call; then [(plain pooled httpx s/call, library s/call)]; the pools warmed by
    ``WARM[mode]`` untimed calls a worker."""
    concurrency = 50
    async with helper_client(mode) as http:
        token_file.write_text(await fetch_token(http, base_url), encoding="utf-8")  # noqa: ASYNC240 -- the vendor way, on purpose
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
    # Kept alive past httpx's 5 s expiry: this pool idles through the vendor's rows, and
    # a pool reconnecting all its connections at once runs slow for seconds (RESULTS.md).
    pooled = httpx.AsyncClient(
        limits=httpx.Limits(
            max_connections=concurrency, max_keepalive_connections=concurrency,
            keepalive_expiry=60,
        )
    )  # fmt: skip

    async def vendor_connection_close() -> float:
        started = now()
        for _ in range(vendor_calls):
            reply = await close_client.get(url, params=params())
            assert json.loads(reply.content)["success"]
        return (now() - started) / vendor_calls

    async with (
        close_client,
        pooled,
        ContactNow(
            username=USERNAME, password=PASSWORD, base_url=base_url, max_concurrency=concurrency
        ) as cn,
    ):

        async def call() -> None:
            await cn.agents.read()

        pooled_params = params()  # read once: a pooled client keeps its token

        async def plain_call() -> None:
            reply = await pooled.get(url, params=pooled_params)
            assert json.loads(reply.content)["success"]

        await workers(concurrency * WARM[mode], concurrency, call)
        await workers(concurrency * WARM[mode], concurrency, plain_call)

        async def library() -> float:
            return await workers(library_calls, concurrency, call) / library_calls

        async def plain() -> float:
            return await workers(library_calls, concurrency, plain_call) / library_calls

        closes = await interleave(vendor_connection_close, library, repeats)
        fresh = await interleave(vendor_new_client, library, repeats)
        ceiling = await interleave(plain, library, repeats)
    return closes, fresh, ceiling


#: (repeats, library calls, vendor calls over loopback, vendor calls behind a delay) by mode
SIZES: dict[Mode, tuple[int, int, int, int]] = {
    "full": (5, 2000, 300, 100),
    "quick": (2, 200, 30, 10),
    "smoke": (1, 50, 1, 1),
}


async def run(mode: Mode) -> list[Row]:
    repeats, library_calls, fast_vendor_calls, slow_vendor_calls = SIZES[mode]
    networks = NETWORKS[:1] if mode == "smoke" else NETWORKS  # smoke: loopback only
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        token_file = Path(tmp) / "token"
        for where, latency, rtt in networks:
            slow = latency or rtt
            with served_simulator(latency=latency, rtt=rtt) as base_url:
                closes, fresh, ceiling = await compare(
                    base_url,
                    token_file,
                    library_calls=library_calls,
                    vendor_calls=slow_vendor_calls if slow else fast_vendor_calls,
                    repeats=repeats,
                    mode=mode,
                )
            rows.append(
                row(
                    NAME,
                    f"{where}: speed-up vs Connection: close per call, C=50",
                    [vendor / lib for vendor, lib in closes],
                    "x",
                    target=">= 10",
                    check=lambda r: r >= 10,
                )
            )
            rows.append(
                row(
                    NAME,
                    f"{where}: speed-up vs new AsyncClient per call, C=50",
                    [vendor / lib for vendor, lib in fresh],
                    "x",
                )
            )
            rows.append(
                row(
                    NAME,
                    f"{where}: library calls/s, C=50",
                    [1 / lib for _, lib in closes],
                    "calls/s",
                )
            )
            rows.append(
                row(
                    NAME,
                    f"{where}: vendor calls/s (Connection: close)",
                    [1 / v for v, _ in closes],
                    "calls/s",
                )
            )
            rows.append(
                row(
                    NAME,
                    f"{where}: plain pooled httpx calls/s, C=50 (the httpx ceiling)",
                    [1 / p for p, _ in ceiling],
                    "calls/s",
                )
            )
            rows.append(
                row(
                    NAME,
                    f"{where}: library / plain pooled httpx time, C=50",
                    [lib / p for p, lib in ceiling],
                    "x",
                )
            )
    return rows
