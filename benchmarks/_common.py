"""What every benchmark shares: rows, statistics, the table, the machine, a served simulator."""

from __future__ import annotations

import atexit
import collections
import contextlib
import datetime
import gc
import importlib.metadata
import itertools
import operator
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs

if TYPE_CHECKING:
    import httpx

USERNAME = "bench"

Mode = Literal["full", "quick", "smoke"]
"""How much to run: ``full`` (the published figures), ``quick`` (smaller sizes, under a
minute), ``smoke`` (one repeat, one network model, tiny sizes: only that it runs)."""
PASSWORD = "bench-password"


@attrs.frozen
class Row:
    """One line of the table: a figure, its spread over repeats, and its target."""

    benchmark: str
    measure: str
    median: float
    low: float
    high: float
    unit: str
    target: str = ""
    met: bool | None = None  # None: no target
    runs: int = 1

    def as_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


def row(
    benchmark: str,
    measure: str,
    values: Sequence[float],
    unit: str,
    *,
    target: str = "",
    check: Callable[[float], bool] | None = None,
) -> Row:
    """A row from repeated values: median, min, max; ``check`` judges the median."""
    median = statistics.median(values)
    return Row(
        benchmark=benchmark,
        measure=measure,
        median=median,
        low=min(values),
        high=max(values),
        unit=unit,
        target=target,
        met=None if check is None else check(median),
        runs=len(values),
    )


async def interleave(
    first: Callable[[], Awaitable[float]],
    second: Callable[[], Awaitable[float]],
    repeats: int,
) -> list[tuple[float, float]]:
    """Run both sides ``repeats`` times, alternating which goes first: [(first, second)]."""
    pairs = []
    for index in range(repeats):
        if index % 2 == 0:
            a = await first()
            b = await second()
        else:
            b = await second()
            a = await first()
        pairs.append((a, b))
    return pairs


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def table(rows: Sequence[Row]) -> str:
    """The markdown table of every row."""
    lines = [
        "| benchmark | measure | median | min | max | unit | runs | target | met |",
        "|---|---|---:|---:|---:|---|---:|---|---|",
    ]
    for r in rows:
        met = "" if r.met is None else ("yes" if r.met else "**no**")
        lines.append(
            f"| {r.benchmark} | {r.measure} | {_fmt(r.median)} | {_fmt(r.low)} | "
            f"{_fmt(r.high)} | {r.unit} | {r.runs} | {r.target} | {met} |"
        )
    return "\n".join(lines)


def _cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def machine() -> dict[str, str]:
    """The machine and the versions of everything measured."""
    versions = {}
    for name in (
        "contactnow-async",
        "httpx",
        "httpcore",
        "h11",
        "anyio",
        "attrs",
        "xmltodict",
        "uvicorn",
        "orjson",
        "aiohttp",
    ):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": (
            f"{_cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"
        ),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "versions": ", ".join(f"{name} {version}" for name, version in versions.items()),
    }


@contextlib.contextmanager
def served_simulator(
    *,
    agents: int = 25,
    latency: float = 0.0,
    rtt: float = 0.0,
    stamps: bool = False,
    dwell: float = 0.0,
    shared: bool = False,
) -> Iterator[str]:
    """A simulator served by uvicorn in a separate process; yields its base URL.

    A separate process, not ``serve()``'s thread: the server's CPU then does not
    share the client's GIL, so the client's own cost is what differs between
    the two sides of a comparison (both talk to this same server). ``latency``
    delays every ``database.php`` reply (a stand-in for the network); ``rtt``
    models the network instead, handshakes included (``_server.NetworkModel``);
    ``stamps`` serves each change's wall-clock time (``_server.Stamps``); ``dwell``
    sets every status's mean dwell (seconds). ``shared``: see :func:`served_canned`.
    """
    args = ["--agents", str(agents), "--latency", str(latency), "--rtt", str(rtt)]
    args += ["--dwell", str(dwell), *(["--stamps"] if stamps else [])]
    with _served("benchmarks._server", *args, shared=shared) as base_url:
        yield base_url


@contextlib.contextmanager
def served_canned(*, shared: bool = False) -> Iterator[str]:
    """The canned-reply server (``_canned``) in a separate process; yields its base URL.

    ``shared`` (the smoke's): one server for the rest of the run, started by the first
    benchmark that asks for it and stopped at exit, so that benchmarks 1 and 10 do not
    each start one; a measured run gives every benchmark a server of its own.
    """
    with _served("benchmarks._canned", shared=shared) as base_url:
        yield base_url


#: The servers started with ``shared=True``, by command line; stopped at exit.
_SHARED: dict[tuple[str, ...], str] = {}
_KEPT = contextlib.ExitStack()
atexit.register(_KEPT.close)


@contextlib.contextmanager
def _served(module: str, *args: str, shared: bool = False) -> Iterator[str]:
    if shared:
        key = (module, *args)
        if key not in _SHARED:
            _SHARED[key] = _KEPT.enter_context(_served(module, *args))
        yield _SHARED[key]
        return
    process = spawn(module, *args)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"(http://\S+)", line)
        if match is None:
            raise RuntimeError(f"the benchmark server did not start: {line!r}")
        yield match.group(1)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def spawn(module: str, *args: str) -> subprocess.Popen[str]:
    """``python -m module args`` in a child process that ends with this one, even killed
    (``benchmarks._child``); its standard output piped, for the line with its URL."""
    from ._child import PARENT

    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks._child", module, *args],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, PARENT: str(os.getpid())},
    )


def helper_client(mode: Mode, **options: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for a benchmark's own requests to its server (plain
    HTTP on 127.0.0.1: a token, the server's state), which no side of a comparison makes.

    The smoke's loads no CA bundle (``verify=False``: there is no certificate to check),
    where httpx loads one for every client, ~25 ms of CPU each (14 of them in a smoke).
    A measured run keeps httpx's default, as its figures were taken: benchmark 8 asks
    its server while its timed readers read.
    """
    import httpx

    if mode == "smoke":
        options["verify"] = False
    return httpx.AsyncClient(**options)


def now() -> float:
    return time.perf_counter()


def settled() -> float:
    """:func:`now`, after the young collection a timed call left due has run.

    The library pauses the garbage collector while it decodes a large reply or
    makes many models (``contactnow_async._gc``): the young collection then due
    runs at the process's next allocation, which may come after a call returns
    and before its timer is read. Every timed side of benchmarks 3 and 9 ends
    here (``gc.collect(0)``), so that work is timed where it is caused; on a
    side that left none due it costs a collection of what little is young.
    """
    gc.collect(0)
    return time.perf_counter()


def looked_at(rows: Sequence[Any], *fields: str) -> None:
    """Read ``fields`` of every row once (each value's type), all in C (no bytecode
    per row or value): the least any check of those values costs after a decode.

    A floor, not a model: benchmarks 3 and 9 time a decode followed by this,
    against the decode alone, to show what reading the decoded rows costs on
    this machine (the rows are out of the CPU's caches by then), whatever is
    built from them.
    """
    values = itertools.chain.from_iterable(map(operator.itemgetter(*fields), rows))
    collections.deque(map(type, values), maxlen=0)
