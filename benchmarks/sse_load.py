"""8. SSE load: 1,000 browsers on one wallboard process, fed by one watcher of 1,000 agents.

Three processes on 127.0.0.1:

- the simulator: ``contactnow simulate`` with 1,000 agents at 2x speed (about 16
  status changes a second);
- the wallboard (``python -m benchmarks.sse_load serve``): an ``AgentWatcher`` in
  backfill mode polling every 0.5 s, ``wallboard_app``, uvicorn, as ``contactnow
  serve`` runs them; it notes the monotonic time at which the board publishes each
  event (``/bench``, beside the app);
- the clients (this process): raw-socket SSE readers on one asyncio loop, noting
  when each event's bytes arrive. The monotonic clock is the same in every process
  on Linux, so publish-to-receipt is one subtraction.

Figures: p50 and p99 of publish-to-receipt over every (event, client) pair of the
measured window; the server's RSS before any client and with all of them reading,
and its CPU time per event delivered (utime + stime from /proc over the window,
divided by the deliveries). The slow-client case, on the same server once the
readers are gone: as many clients that never read (a 4 KiB receive window) beside 10
readers, with the board's buffer at 200 events and its write timeout at 5 s (from
10,000 and 30 s, so that it shows within the run); the server's RSS each second, how
many slow streams it ended and how soon, and the readers' p99 meanwhile. The full run
sends a second wave of as many: bounded memory is a second wave that leaves nothing
behind once let go, told by the live objects and the memory in use (pymalloc's and
malloc's) after each wave, not by RSS, which keeps the allocators' free memory (see
``_held()``; the second wave's RSS peak is shown, without a target).

``CONTACTNOW_BENCH_MEMORY=DIR`` (for the server) and ``/bench?memory=LABEL``: a debug
hook that writes the server's live objects by type, its allocators' figures and, with
``CONTACTNOW_BENCH_MEMORY_FRAMES=N``, a tracemalloc snapshot into ``DIR`` (``_memory()``).
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import itertools
import json
import logging
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl

import anyio
import attrs

from ._common import Mode, Row, helper_client, row, spawn

NAME = "8 sse load"
SPEED = 2.0


@attrs.frozen
class Plan:
    """How much to run: ``windows`` measured windows of ``window`` seconds with
    ``clients`` readers, then ``waves`` of ``slow`` non-reading clients, each for
    ``slow_seconds``."""

    clients: int
    agents: int
    windows: int
    window: float
    slow: int
    slow_seconds: float
    waves: int
    settle: float
    tail: float


PLANS: dict[Mode, Plan] = {
    "full": Plan(1000, 1000, 3, 10.0, 1000, 45.0, 2, 2.0, 1.0),
    "quick": Plan(200, 1000, 1, 4.0, 200, 12.0, 1, 1.5, 1.0),
    "smoke": Plan(20, 100, 1, 0.5, 20, 0.5, 1, 0.5, 0.3),
}
#: The slow case's board: a 200-event buffer, a 5 s write timeout (not 10,000 and 30 s).
SLOW_SETTINGS = {"buffer": 200, "write_timeout": 5.0}
_ID = re.compile(rb"\nid: ([0-9]+)\n")


# -- the server process -----------------------------------------------------------------


async def _serve(sim_url: str) -> None:
    import uvicorn

    from contactnow_async import AgentWatcher, ContactNow
    from contactnow_async._cli._serve import QuietEndedStreams
    from contactnow_async._cli._serve import _bind as bind
    from contactnow_async.web import wallboard_app

    published: list[tuple[str, float]] = []
    memory_dir = os.environ.get(MEMORY_ENV)
    frames = int(os.environ.get(MEMORY_ENV + "_FRAMES", "1"))
    if memory_dir and frames > 0:
        tracemalloc.start(frames)
    async with ContactNow(base_url=sim_url, username="demo", password="demo") as client:
        watcher = AgentWatcher(client, backfill=True, interval=0.5, include_offline=True)
        wallboard = wallboard_app(watcher)  # as contactnow serve makes it
        board = wallboard.board
        publish = board.publish

        def noting(entry: Any, agent_id: str, after: Any) -> None:
            if entry is not None:
                published.append((entry.id, time.monotonic()))
            publish(entry, agent_id, after)

        board.publish = noting  # type: ignore[method-assign]  # the benchmark's probe

        async def app(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope["path"] == "/bench":
                # ?buffer=N&write_timeout=S: the slow case's settings, for viewers from now on.
                # ?held=1: what the server holds (see _held()).
                # ?memory=LABEL: the debug hook's report (see _memory()).
                held = None
                for name, value in parse_qsl(scope["query_string"].decode()):
                    if name == "held":
                        held = _held()
                    elif name == "memory":
                        _memory(memory_dir, value)
                    else:
                        setattr(board, name, type(getattr(board, name))(value))
                connections = len(server.server_state.connections)
                body = json.dumps(
                    {
                        "published": published,
                        "viewers": len(board.viewers),
                        "open": connections,
                        "held": held,
                    }
                )
                await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": body.encode()})
                return
            await wallboard(scope, receive, send)

        sock = bind("127.0.0.1", 0)  # as contactnow serve binds (its send buffer size too)
        config = uvicorn.Config(
            app,
            http="h11",
            lifespan="on",
            log_level="warning",
            access_log=False,
            backlog=4096,
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        logging.getLogger("uvicorn.error").addFilter(QuietEndedStreams())  # as contactnow serve
        print(f"wallboard at http://127.0.0.1:{sock.getsockname()[1]}/", flush=True)
        await server.serve(sockets=[sock])


MEMORY_ENV = "CONTACTNOW_BENCH_MEMORY"


class _MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (2.33 and later)."""

    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            *("arena", "ordblks", "smblks", "hblks", "hblkhd"),
            *("usmblks", "fsmblks", "uordblks", "fordblks", "keepcost"),
        )
    ]


def _held(stats: str | None = None) -> dict[str, Any]:
    """What the server holds after a full collection, not what its allocators keep free
    for reuse (RSS counts both): ``objects``, the live objects the collector tracks;
    ``in_use``, the bytes in use in pymalloc's blocks (objects of 512 bytes or less)
    and malloc's chunks (the rest: large strings and bytes, socket buffers). None where
    the allocator says nothing (not glibc, or not pymalloc). ``stats``: a file for
    ``sys._debugmallocstats()``'s whole report.

    After 1,000 stuck streams are let go RSS stays near their peak: each held up to
    ~128 KiB of unsent bytes (asyncio's write buffer, grown by ``extend``), freed with
    its connection into malloc's heap, which keeps it (fragmented, below live chunks),
    and the next wave's peak lands a few MiB either side of the last. These figures
    come back to where they were, but for what time adds (the retained events).
    """
    gc.collect()
    objects = len(gc.get_objects())
    saved = os.dup(2)  # sys._debugmallocstats() writes to the C stderr
    with tempfile.TemporaryFile() if stats is None else open(stats, "w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        text = capture.read().decode("ascii", "replace")
    found = re.search(r"# bytes in allocated blocks\s*=\s*([0-9,]+)", text)
    pymalloc = int(found.group(1).replace(",", "")) if found else None
    libc = ctypes.CDLL(None)
    malloc = heap = None
    if hasattr(libc, "mallinfo2"):  # glibc 2.33+
        libc.mallinfo2.restype = _MallInfo2
        info = libc.mallinfo2()
        heap = {field[0]: getattr(info, field[0]) for field in _MallInfo2._fields_}
        malloc = info.uordblks + info.hblkhd
    in_use = None if pymalloc is None or malloc is None else pymalloc + malloc
    return {"objects": objects, "in_use": in_use, "pymalloc": pymalloc, "heap": heap}


def _memory(directory: str | None, label: str) -> None:
    """A debug hook: the server's memory into ``directory/label.*``, with the server run
    as ``CONTACTNOW_BENCH_MEMORY=directory`` (and ``CONTACTNOW_BENCH_MEMORY_FRAMES``
    frames a traceback, 0: no tracemalloc): :func:`_held`, the live objects by type,
    the traced memory and its snapshot, and RSS before and after glibc's heap gives
    its free pages back (``malloc_trim``, which changes what the next wave starts from)."""
    if not directory:
        return
    report = _held(os.path.join(directory, f"{label}.mallocstats"))
    report["types"] = dict(Counter(type(o).__qualname__ for o in gc.get_objects()).most_common())
    current, peak = tracemalloc.get_traced_memory() if tracemalloc.is_tracing() else (0, 0)
    report.update(rss=_proc(os.getpid())[0], traced=current, traced_peak=peak)
    libc = ctypes.CDLL(None)
    if hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
        report["rss_trimmed"] = _proc(os.getpid())[0]
    with open(os.path.join(directory, f"{label}.json"), "w", encoding="utf-8") as out:
        json.dump(report, out, indent=1)
    if tracemalloc.is_tracing():
        tracemalloc.take_snapshot().dump(os.path.join(directory, f"{label}.snapshot"))
        tracemalloc.reset_peak()


# -- the clients ------------------------------------------------------------------------


REQUEST = b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"


class Reader(asyncio.Protocol):
    """One SSE client: an asyncio protocol (no task of its own) that notes (event id,
    arrival) for every event; ``reads=False`` takes the response's first bytes and
    then nothing, with a 4 KiB receive buffer (a browser tab that froze)."""

    def __init__(self, *, reads: bool = True) -> None:
        self.reads = reads
        self.receipts: list[tuple[int, float]] = []
        self.connected = anyio.Event()
        self.closed = False
        self.transport: asyncio.Transport | None = None
        self._carry = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(REQUEST)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        if not self.connected.is_set():
            self.connected.set()
            if not self.reads:
                assert self.transport is not None
                self.transport.pause_reading()
                return
        data = self._carry + data
        end = 0
        for match in _ID.finditer(data):
            self.receipts.append((int(match.group(1)), now))
            end = match.end()
        self._carry = data[end:][-64:]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True

    async def connect(self, port: int) -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if not self.reads:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        await loop.create_connection(lambda: self, sock=sock)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()


# -- measuring ----------------------------------------------------------------------------


def _proc(pid: int) -> tuple[float, float]:
    """(RSS in MiB, CPU seconds) of process ``pid``, from /proc."""
    with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
        rss = int(statm.read().split()[1]) * resource.getpagesize() / 2**20
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return rss, (int(fields[11]) + int(fields[12])) / ticks


@contextmanager
def _process(module: str, *args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``python -m module args``, a child process that prints its URL first and ends
    with this one (``_common.spawn``); yields it and the URL."""
    process = spawn(module, *args)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"(http://\S+/)", line)
        if match is None:
            raise RuntimeError(f"{[module, *args[:1]]} did not start: {line!r}")
        yield process, match.group(1)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _port(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])


async def _bench(port: int, mode: Mode, **settings: float) -> dict[str, Any]:
    """The server's ``/bench``: ``published`` (when each event was), ``viewers`` (streams
    on the board), ``open`` (connections uvicorn holds). ``settings``: the board's
    ``buffer`` and ``write_timeout`` from now on."""
    async with helper_client(mode, base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        body: dict[str, Any] = (await http.get("/bench", params=settings)).json()
    body["published"] = {int(event_id): at for event_id, at in body["published"]}
    return body


def _delays(
    readers: list[Reader], published: dict[int, float], start: float, end: float
) -> list[float]:
    """Milliseconds from publish to receipt, for events published in [start, end)."""
    delays = []
    for reader in readers:
        for event_id, arrived in reader.receipts:
            at = published.get(event_id)
            if at is not None and start <= at < end:
                delays.append((arrived - at) * 1000)
    return delays


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def _close(readers: list[Reader]) -> None:
    for reader in readers:
        reader.close()
    await anyio.sleep(0.2)  # the loop closes the sockets before the server is stopped


async def _connect(readers: list[Reader], port: int) -> None:
    """Connect the readers 100 at a time; return once every one has its response."""
    for start in range(0, len(readers), 100):
        batch = readers[start : start + 100]
        with anyio.fail_after(60):
            async with anyio.create_task_group() as group:
                for reader in batch:
                    group.start_soon(reader.connect, port)
            for reader in batch:
                await reader.connected.wait()


async def _load(port: int, pid: int, plan: Plan, mode: Mode) -> dict[str, Any]:
    """Connect the readers, then measure ``plan.windows`` windows one after another."""
    rss_before, _ = _proc(pid)
    readers = [Reader() for _ in range(plan.clients)]
    spans: list[tuple[float, float, float]] = []  # (start, end, CPU seconds)
    try:
        await _connect(readers, port)
        await anyio.sleep(plan.settle)  # every reader past its first events
        for _ in range(plan.windows):
            _, cpu_start = _proc(pid)
            start = time.monotonic()
            await anyio.sleep(plan.window)
            rss_with, cpu_end = _proc(pid)
            spans.append((start, time.monotonic(), cpu_end - cpu_start))
        await anyio.sleep(plan.tail)  # the last window's events arrive
        closed = sum(reader.closed for reader in readers)
    finally:
        await _close(readers)
    published = (await _bench(port, mode))["published"]
    figures: dict[str, Any] = {"p50": [], "p99": [], "cpu": [], "events": 0, "deliveries": 0}
    for start, end, cpu in spans:
        delays = _delays(readers, published, start, end)
        figures["p50"].append(_quantile(delays, 0.50))
        figures["p99"].append(_quantile(delays, 0.99))
        figures["cpu"].append(cpu / max(len(delays), 1) * 1e6)
        figures["events"] += sum(start <= at < end for at in published.values())
        figures["deliveries"] += len(delays)
    figures["missing"] = figures["events"] * plan.clients - figures["deliveries"]
    figures.update(rss_before=rss_before, rss_with=rss_with, closed=closed)
    return figures


async def _held_after(port: int, mode: Mode) -> dict[str, Any]:
    """What the server holds (``_held()``) once every stream is gone (at most 10 s)."""
    for _ in range(50):
        state = await _bench(port, mode)
        if state["viewers"] == 0 and state["open"] <= 1:  # this request's own connection
            break
        await anyio.sleep(0.2)
    held: dict[str, Any] = (await _bench(port, mode, held=1))["held"]
    return held


async def _slow(port: int, pid: int, plan: Plan, mode: Mode) -> dict[str, Any]:
    """Non-reading clients beside 10 readers: the server's RSS each second, and when the
    slow streams were ended and their connections let go."""
    readers = [Reader() for _ in range(10)]
    stuck = [Reader(reads=False) for _ in range(plan.slow)]
    await _bench(port, mode, **SLOW_SETTINGS)
    samples: list[float] = []
    ended_after = released_after = float("nan")
    try:
        await _connect(readers + stuck, port)
        start = time.monotonic()
        while time.monotonic() - start < plan.slow_seconds:
            await anyio.sleep(min(1.0, plan.slow_seconds))
            samples.append(_proc(pid)[0])
            state = await _bench(port, mode)
            elapsed = time.monotonic() - start
            if state["viewers"] <= len(readers) and ended_after != ended_after:  # NaN: not yet
                ended_after = elapsed
            # The readers' connections, and this request's own.
            if state["open"] <= len(readers) + 1 and released_after != released_after:
                released_after = elapsed
        end = time.monotonic()
        await anyio.sleep(plan.tail)
        state = await _bench(port, mode)
    finally:
        await _close(readers + stuck)
    delays = _delays(readers, state["published"], start, end)
    return {
        "held": await _held_after(port, mode),
        "rss_peak": max(samples),
        "rss_end": samples[-1],
        "ended": plan.slow + len(readers) - state["viewers"],
        "ended_after": ended_after,
        "released": plan.slow + len(readers) + 1 - state["open"],
        "released_after": released_after,
        "p99": _quantile(delays, 0.99),
    }


async def run(mode: Mode) -> list[Row]:
    """The rows of benchmark 8."""
    plan = PLANS[mode]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    simulate = ["simulate", "--port", "0", "--agents", str(plan.agents), "--speed", str(SPEED)]
    with (
        _process("contactnow_async", *simulate) as (_, sim_url),
        _process("benchmarks.sse_load", "serve", sim_url) as (server, url),
    ):
        await anyio.sleep(plan.settle)  # the first poll, and a few after it
        load = await _load(_port(url), server.pid, plan, mode)
        rss_before_slow, _ = _proc(server.pid)
        held_before = await _held_after(_port(url), mode)
        waves = [await _slow(_port(url), server.pid, plan, mode) for _ in range(plan.waves)]
    n = f"{plan.clients:,}"
    print(
        f"# {NAME}: {load['events']} events to {n} clients, {load['deliveries']:,} deliveries, "
        f"{load['missing']} missing, {load['closed']} streams closed; "
        f"slow case from {rss_before_slow:.1f} MiB: {waves}",
        file=sys.stderr,
    )
    stalled = waves[0]
    rows = [
        row(NAME, f"publish to receipt p50, {n} clients", load["p50"], "ms"),
        row(
            NAME,
            f"publish to receipt p99, {n} clients",
            load["p99"],
            "ms",
            target="< 100",
            check=lambda value: value < 100,
        ),
        row(NAME, "server RSS before any client", [load["rss_before"]], "MiB"),
        row(
            NAME,
            f"server RSS growth with {n} clients",
            [load["rss_with"] - load["rss_before"]],
            "MiB",
            target="< 50",
            check=lambda value: value < 50,
        ),
        row(NAME, "server CPU per event delivered", load["cpu"], "µs"),
        row(
            NAME,
            f"events delivered ({load['events']:,} events x {n} clients)",
            [load["deliveries"]],
            "events",
            target="none missing",
            check=lambda value: value == load["events"] * plan.clients,
        ),
        row(
            NAME,
            f"slow case: RSS growth at peak, {plan.slow:,} non-reading clients",
            [stalled["rss_peak"] - rss_before_slow],
            "MiB",
        ),
        row(NAME, "slow case: slow streams ended by the server", [stalled["ended"]], "streams"),
        row(NAME, "slow case: p99 of the 10 reading clients", [stalled["p99"]], "ms"),
    ]
    if stalled["ended"] == plan.slow:
        rows.append(
            row(NAME, "slow case: seconds until the last was ended", [stalled["ended_after"]], "s")
        )
    if stalled["released"] == plan.slow:
        rows.append(
            row(
                NAME,
                "slow case: seconds until their connections were let go",
                [stalled["released_after"]],
                "s",
            )
        )
    # Bounded memory: a wave leaves nothing behind once let go. What the server holds
    # then, not its RSS: the freed buffers of 1,000 stuck streams (~80 MiB) stay in
    # malloc's heap for reuse, and a second wave's RSS peak lands a few MiB either side
    # of the first's with nothing retained (see _held()); that row is only shown. What
    # time adds meanwhile (the board's retained events, ~1 MiB and ~1,500 objects in
    # 50 s) is within the targets; a stream's own objects left alive are not.
    per_client = {"objects": 5, "in_use": 2048}  # live objects, bytes
    unit = {"objects": "objects", "in_use": "MiB"}
    scale = {"objects": 1, "in_use": 2**20}
    waves_held = [held_before, *(wave["held"] for wave in waves)]
    for index, (before, after) in enumerate(itertools.pairwise(waves_held)):
        second = index > 0
        if second:
            rows.append(
                row(
                    NAME,
                    f"slow case: RSS growth at peak, a second wave of {plan.slow:,}",
                    [waves[index]["rss_peak"] - rss_before_slow],
                    "MiB",
                )
            )
        slow = f"{plan.slow:,}"
        wave = f"a second wave of {slow} was" if second else f"{slow} non-reading clients were"
        for key, what in (("objects", "live objects"), ("in_use", "memory in use")):
            if before[key] is None or after[key] is None:
                continue  # an allocator that does not say (not glibc, or not pymalloc)
            bound = per_client[key] * plan.slow / scale[key]
            rows.append(
                row(
                    NAME,
                    f"slow case: {what} kept after {wave} let go",
                    [(after[key] - before[key]) / scale[key]],
                    unit[key],
                    target=(f"< {bound:,.0f}" if key == "objects" else f"< {bound:.2f}")
                    if second
                    else "",
                    check=_below(bound) if second else None,
                )
            )
    return rows


def _below(bound: float) -> Callable[[float], bool]:
    return lambda value: value < bound


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sse_load")
    roles = parser.add_subparsers(dest="role", required=True)
    serve = roles.add_parser("serve", help="the wallboard process (the benchmark starts it)")
    serve.add_argument("sim_url")
    args = parser.parse_args()
    anyio.run(_serve, args.sim_url)


if __name__ == "__main__":
    main()
