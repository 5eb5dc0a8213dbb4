"""9. Typed live read: ``await cn.live.agents()`` vs ``httpx`` + ``json.loads`` of the same body.

The simulator renders one ``ajax.php`` reply of 10,000 agents (``mode=all``);
an ``httpx.MockTransport`` serves those bytes to both sides. The baseline is
what a user writes without us: ``await http.get(...)`` and ``json.loads`` of
``response.content``. The library's side is the whole typed read: request,
body, envelope, paging check, one ``LiveAgent`` per row. Measured with the
standard library's JSON decoder (the default install), and with orjson (the
``[speed]`` extra) where installed. Figures: library time / baseline time, each
side timed until the young collection it left due has run (``_common.settled``).

Beside each, a floor (no target): the same request, the same decoder, then each
row's ten fields read once (``_common.looked_at``, in C), no model: what any
typed read that checks the values pays before building anything. A target
below its floor cannot be met by a model built after the decode.

Also the per-row cost of ``Agent.from_record`` (25 of them a ``cn.agents.read()``),
beside attrs' own ``Agent(*values)`` of the same text for scale: the best of a few
``timeit`` repeats each, as the machine is shared.
"""

from __future__ import annotations

import gc
import json
import timeit
from collections.abc import Callable
from typing import Any

import httpx

from contactnow_async._models import AGENT_FIELDS, Agent
from contactnow_async._wire import set_json_decoder

from ._common import Mode, Row, interleave, looked_at, now, row, settled
from .poll_cost import mock_client, render

NAME = "9 typed read"
#: A live row's fields, as ``LiveAgent`` reads them.
LIVE_FIELDS = ("uid", "name", "status", "statuscode", "time", "srvtime", "moh", "ccname",
               "customer", "call")  # fmt: skip
#: (agents, repeats) by mode
SIZES: dict[Mode, tuple[int, int]] = {"full": (10_000, 15), "quick": (10_000, 5), "smoke": (500, 1)}
TARGETS = {"stdlib": 1.5, "orjson": 1.0}
#: (rows a repeat, repeats) for Agent.from_record, by mode
AGENT_SIZES: dict[Mode, tuple[int, int]] = {
    "full": (20_000, 15),
    "quick": (20_000, 7),
    "smoke": (200, 1),
}


def agent_rows(mode: Mode) -> list[Row]:
    """``Agent.from_record`` and ``Agent(*values)`` per row, µs: one value per repeat, each
    the best of 5 timeit runs (an agents.read() row: every field text; and one with two
    nulls, as the simulator's rows and the vendor's examples have)."""
    number, repeats = AGENT_SIZES[mode]
    record = {wire: f"{wire}-{index}" for index, wire in enumerate(AGENT_FIELDS)}
    nulls = {**record, "phone": None, "auth_reports": None}
    values: tuple[Any, ...] = tuple(record.values())
    built, with_nulls, plain = [], [], []
    for _ in range(repeats):
        built.append(min(timeit.repeat(lambda: Agent.from_record(record), number=number, repeat=5)))
        with_nulls.append(
            min(timeit.repeat(lambda: Agent.from_record(nulls), number=number, repeat=5))
        )
        plain.append(min(timeit.repeat(lambda: Agent(*values), number=number, repeat=5)))
    return [
        row(NAME, "Agent.from_record per agent (21 text fields)",
            [t / number * 1e6 for t in built], "µs"),
        row(NAME, "Agent.from_record per agent (19 text fields, 2 nulls)",
            [t / number * 1e6 for t in with_nulls], "µs"),
        row(NAME, "attrs Agent(*values) per agent, for scale",
            [t / number * 1e6 for t in plain], "µs"),
    ]  # fmt: skip


def _loads(decoder: str) -> Callable[[bytes], Any]:
    if decoder == "orjson":
        import orjson

        return orjson.loads
    return json.loads


def _orjson_installed() -> bool:
    try:
        import orjson  # noqa: F401 -- only whether it is there
    except ImportError:
        return False
    return True


async def run(mode: Mode) -> list[Row]:
    agents, repeats = SIZES[mode]
    _, body = await render(agents, "json")
    decoders = ["stdlib", "orjson"] if _orjson_installed() else ["stdlib"]
    http = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    )
    rows = []
    async with http, mock_client("json", {"ajax": body}) as cn:

        async def baseline() -> float:
            gc.collect()
            started = now()
            reply = await http.get("http://sim/ajax.php")
            decoded = json.loads(reply.content)
            elapsed = settled() - started
            assert len(decoded["list"]) == agents
            return elapsed

        for decoder in decoders:
            set_json_decoder(decoder)  # type: ignore[arg-type]  # one of the two literals
            try:

                async def library() -> float:
                    gc.collect()
                    started = now()
                    typed = await cn.live.agents(include_offline=True)
                    elapsed = settled() - started
                    assert len(typed) == agents
                    return elapsed

                loads = _loads(decoder)

                async def floor(loads: Callable[[bytes], Any] = loads) -> float:
                    gc.collect()
                    started = now()
                    reply = await http.get("http://sim/ajax.php")
                    decoded = loads(reply.content)
                    looked_at(decoded["list"], *LIVE_FIELDS)
                    elapsed = settled() - started
                    assert len(decoded["list"]) == agents
                    return elapsed

                await library()  # warm: the token, the first URL
                pairs = await interleave(library, baseline, repeats)
                floors = await interleave(floor, baseline, repeats)
            finally:
                set_json_decoder("auto")
            target = TARGETS[decoder]
            label = "standard library json" if decoder == "stdlib" else "orjson ([speed])"
            rows.append(
                row(NAME, f"{agents:,} agents, {label}: library / httpx + json.loads",
                    [lib / base for lib, base in pairs], "x", target=f"<= {target}",
                    check=lambda r, target=target: r <= target)  # type: ignore[misc]  # bound default
            )  # fmt: skip
            rows.append(
                row(NAME, f"{agents:,} agents, {label}: floor (decode, each value read once, "
                    "no model) / httpx + json.loads", [f / base for f, base in floors], "x")
            )  # fmt: skip
            rows.append(
                row(NAME, f"{agents:,} agents, {label}: library per agent",
                    [lib / agents * 1e6 for lib, _ in pairs], "µs")
            )  # fmt: skip
        rows.append(
            row(NAME, f"{agents:,} agents: httpx + json.loads per agent",
                [base / agents * 1e6 for _, base in pairs], "µs")
        )  # fmt: skip
    return rows + agent_rows(mode)
