"""3. Watcher poll cost vs size: decode + snapshot + diff + events vs decoding alone.

For 1,000, 10,000 and 50,000 agents and both formats, the simulator renders
the ``ajax.php`` reply (``mode=all``) twice, 5 virtual seconds apart, so the
second state has real changes. Then, per poll, the library's real path runs on
the second body: ``cn.live.snapshot()`` through an ``httpx.MockTransport`` given as the
client's ``transport`` (its own pool's path, as a default client's) that
answers with the pre-rendered bytes (request building, body read,
``_wire.decode``, ``LiveSnapshot``), then ``watch._diff.PollDiff.compare``
against the first state's snapshot (the diff's baseline, taken once, untimed),
which makes the events. Beside the JSON rows, a floor (no target): the same
bytes fetched with a plain ``httpx.AsyncClient`` over a ``MockTransport``, decoded,
then each row's id and state fields read once (``_common.looked_at``, in C), with
nothing built: the least a poll through httpx that finds the changed agents pays. The baseline
decodes the same bytes alone:
``json.loads`` or ``xmltodict.parse``. The library decodes JSON with the
standard library for the target rows (orjson, the ``[speed]`` extra, in rows
of its own). For XML the library's path also runs with xmltodict as its reader
(the reader before our expat handler), each such poll right after one with our
reader (a pair, as every comparison here): per agent, the library must cost at
most half of that.
Figures: library / baseline time, and library microseconds per agent by size;
beside them, the baseline's own microseconds per agent and its growth (the
decoder's cost per agent grows with size too: a full collection during a large
decode walks every row the process holds), and, for JSON, the library's own cost
per agent (library minus decode alone). Each timed side ends once the young
collection it left due has run (``_common.settled``: the library's pauses of the
collector would otherwise leave that work past the timer).
"""

from __future__ import annotations

import gc
import json
from datetime import datetime, timezone

import httpx
import xmltodict

from contactnow_async import ContactNow, _xml
from contactnow_async._wire import set_json_decoder
from contactnow_async.resources.live import LiveSnapshot
from contactnow_async.simulator import Simulator, VirtualClock
from contactnow_async.watch._diff import PollDiff

from ._common import PASSWORD, USERNAME, Mode, Row, interleave, looked_at, now, row, settled

NAME = "3 poll cost"
TARGETS = {"json": 1.3, "xml": 1.15}
GROWTH = 1.3


async def render(agents: int, fmt: str) -> tuple[bytes, bytes]:
    """Two consecutive ajax.php replies of ``agents`` agents (5 s apart)."""
    clock = VirtualClock()
    sim = Simulator(
        username=USERNAME, password=PASSWORD, agents=agents, clock=clock, record_requests=False
    )
    token = sim.issue_token()
    params = {"method": "agents", "action": "read", "format": fmt, "mode": "all", "token": token}
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        first = (await http.get("ajax.php", params=params)).content
        clock.advance(5)
        second = (await http.get("ajax.php", params=params)).content
    return first, second


def mock_client(fmt: str, bodies: dict[str, bytes]) -> ContactNow:
    """A client whose transport answers ajax.php with ``bodies['ajax']``."""
    token_reply = (
        b'<?xml version="1.0"?><result><success>1</success><token>t</token>'
        b"<expire>4102444800</expire></result>"
        if fmt == "xml"
        else b'{"success":true,"token":"t","expire":4102444800}'
    )
    content_type = "text/xml" if fmt == "xml" else "application/json"

    def handler(request: httpx.Request) -> httpx.Response:
        content = token_reply if request.url.path.endswith("token.php") else bodies["ajax"]
        return httpx.Response(200, content=content, headers={"content-type": content_type})

    # The client's own pool over the mock (as a default client runs, past AsyncClient.send).
    return ContactNow(
        username=USERNAME, password=PASSWORD, base_url="http://sim/", format=fmt,  # type: ignore[arg-type]  # "json" or "xml"
        transport=httpx.MockTransport(handler),
    )  # fmt: skip


#: What a poll must read of every live row to tell which agents changed: the id and the state.
STATE_FIELDS = ("uid", "status", "time", "statuscode")


async def measure(
    agents: int, fmt: str, repeats: int, *, reader: str = "ours"
) -> tuple[list[tuple[float, float]], int, list[tuple[float, float]]]:
    """[(library s, baseline s)], the events per poll, and a third list of pairs with
    the default reader: for JSON [(floor s, baseline s)] (a plain httpx get of the
    bytes, the decode, then each row's id and state read once: ``_common.looked_at``;
    no snapshot, no diff), for XML [(library s, library with xmltodict as its reader
    s)], each pair timed one after the other as the others are. ``reader``: "ours",
    or "orjson" (JSON) in place of the default reader."""
    first, second = await render(agents, fmt)
    bodies = {"ajax": first}
    cn = mock_client(fmt, bodies)
    observed_at = datetime.now(timezone.utc)
    set_json_decoder("orjson" if reader == "orjson" else "stdlib")
    plain = _xml._read_plain
    try:
        async with cn:
            previous: LiveSnapshot = await cn.live.snapshot(include_offline=True)
            assert len(previous) == agents
            differ = PollDiff(initial_events=False)  # no models built ahead of the timed polls
            differ.advance(differ.compare(previous, observed_at=observed_at))
            bodies["ajax"] = second
            events_seen = 0

            async def library() -> float:
                nonlocal events_seen
                gc.collect()
                started = now()
                current = await cn.live.snapshot(include_offline=True)
                events = differ.compare(current, observed_at=observed_at).events
                elapsed = settled() - started
                events_seen = len(events)
                return elapsed

            parse = json.loads if fmt == "json" else xmltodict.parse

            async def baseline() -> float:
                gc.collect()
                started = now()
                decoded = parse(second)
                elapsed = settled() - started
                del decoded  # freed after the clock stopped, as the library's snapshot is
                return elapsed

            pairs = await interleave(library, baseline, repeats)
            floors = []
            if fmt == "json" and reader == "ours":
                http = httpx.AsyncClient(
                    transport=httpx.MockTransport(
                        lambda request: httpx.Response(200, content=second)
                    )
                )

                async def floor() -> float:
                    gc.collect()
                    started = now()
                    reply = await http.get("http://sim/ajax.php")
                    decoded = json.loads(reply.content)
                    looked_at(decoded["list"], *STATE_FIELDS)
                    elapsed = settled() - started
                    del decoded
                    return elapsed

                async with http:
                    await floor()  # warm: the first request
                    floors = await interleave(floor, baseline, repeats)
            elif fmt == "xml":

                async def general() -> float:
                    _xml._read_plain = _as_if_general  # the bench's own switch
                    try:
                        return await library()
                    finally:
                        _xml._read_plain = plain

                floors = await interleave(library, general, repeats)
    finally:
        set_json_decoder("auto")
        _xml._read_plain = plain
    return pairs, events_seen, floors


def _as_if_general(content: bytes) -> dict[str, object]:
    raise _xml._HasAttributes  # every document to xmltodict, the general reader


#: agent counts by mode; the smallest is the base of the growth row
SIZES: dict[Mode, tuple[int, ...]] = {
    "full": (1000, 10_000, 50_000),
    "quick": (1000, 10_000),
    "smoke": (100, 500),
}


def repeats_for(mode: Mode, agents: int) -> int:
    if mode == "smoke":
        return 1
    if mode == "quick":
        return 3
    return 5 if agents >= 50_000 else 9


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


async def run(mode: Mode) -> list[Row]:
    sizes = SIZES[mode]
    rows = []
    for fmt in ("json", "xml"):
        per_agent: dict[int, float] = {}
        decode_per_agent: dict[int, float] = {}
        for agents in sizes:
            repeats = repeats_for(mode, agents)
            pairs, events, floors = await measure(agents, fmt, repeats)
            target = TARGETS[fmt]
            rows.append(
                row(
                    NAME,
                    f"{fmt.upper()} {agents:,} agents ({events} events): library / decode alone",
                    [lib / base for lib, base in pairs],
                    "x",
                    target=f"<= {target}",
                    check=lambda r, target=target: r <= target,  # type: ignore[misc]  # bound default
                )
            )
            if fmt == "json" and floors:
                rows.append(
                    row(NAME, f"JSON {agents:,} agents: floor (plain httpx get, decode, each row's "
                        "id and state read once; no diff) / decode alone",
                        [f / b for f, b in floors], "x")
                )  # fmt: skip
            micros = [lib / agents * 1e6 for lib, _ in pairs]
            rows.append(
                row(NAME, f"{fmt.upper()} {agents:,} agents: library per agent", micros, "µs")
            )
            per_agent[agents] = _median(micros)
            decode_micros = [base / agents * 1e6 for _, base in pairs]
            decode_per_agent[agents] = _median(decode_micros)
            rows.append(
                row(NAME, f"{fmt.upper()} {agents:,} agents: decode alone per agent",
                    decode_micros, "µs")
            )  # fmt: skip
            if fmt == "json":  # (XML: our reader is faster than the baseline's)
                own = [(lib - base) / agents * 1e6 for lib, base in pairs]
                rows.append(
                    row(NAME, f"JSON {agents:,} agents: library's own cost per agent "
                        "(library - decode alone)", own, "µs")
                )  # fmt: skip
            if fmt == "json":
                if not _has_orjson():
                    continue
                others, _, _ = await measure(agents, fmt, repeats, reader="orjson")
                rows.append(
                    row(NAME, f"JSON {agents:,} agents, orjson ([speed]): library / json.loads",
                        [lib / base for lib, base in others], "x")
                )  # fmt: skip
            else:
                before = [general / agents * 1e6 for _, general in floors]
                rows.append(
                    row(NAME, f"XML {agents:,} agents: library per agent, xmltodict as the reader "
                        "(before)", before, "µs")
                )  # fmt: skip
                rows.append(
                    row(NAME, f"XML {agents:,} agents: per agent, library / library with xmltodict",
                        [lib / general for lib, general in floors], "x", target="<= 0.5",
                        check=lambda r: r <= 0.5)
                )  # fmt: skip
        smallest, largest = min(sizes), max(sizes)
        growth = per_agent[largest] / per_agent[smallest]
        rows.append(
            row(
                NAME,
                f"{fmt.upper()} growth: per-agent cost at {largest:,} / at {smallest:,}",
                [growth],
                "x",
                target=f"<= {GROWTH}",
                check=lambda g: g <= GROWTH,
            )
        )
        # What the growth is made of: the decoder's own per-agent cost grows too (a
        # full collection during a large decode walks every row the process holds).
        decode_growth = decode_per_agent[largest] / decode_per_agent[smallest]
        rows.append(
            row(NAME, f"{fmt.upper()} growth of decode alone: per-agent cost at {largest:,} / "
                f"at {smallest:,}", [decode_growth], "x")
        )  # fmt: skip
    return rows


def _has_orjson() -> bool:
    try:
        import orjson  # noqa: F401 -- only whether it is there
    except ImportError:
        return False
    return True
