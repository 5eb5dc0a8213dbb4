"""4. Token single flight: a cold client's 1,000 concurrent first calls.

The simulator is served by uvicorn in a thread of this process
(``contactnow_async.simulator.serve``), because its ``stats.token_gets`` is
read here; both sides share that server and its GIL. A cold client (no
token) and a warm one (one call made before the clock starts) each make
1,000 concurrent ``agents.read()`` calls (``max_concurrency=50``). Figures:
``token.php?action=get`` requests per cold run (must be 1), and cold / warm
time to the last reply.
"""

from __future__ import annotations

import anyio

from contactnow_async import ContactNow
from contactnow_async.simulator import Simulator, serve

from ._common import PASSWORD, USERNAME, Mode, Row, interleave, now, row

NAME = "4 token single flight"


async def burst(cn: ContactNow, calls: int) -> float:
    started = now()
    async with anyio.create_task_group() as tg:
        for _ in range(calls):
            tg.start_soon(cn.agents.read)
    return now() - started


#: (calls, repeats) by mode
SIZES: dict[Mode, tuple[int, int]] = {"full": (1000, 5), "quick": (200, 3), "smoke": (20, 1)}


async def run(mode: Mode) -> list[Row]:
    calls, repeats = SIZES[mode]
    sim = Simulator(username=USERNAME, password=PASSWORD, agents=25, record_requests=False)
    token_gets: list[float] = []
    async with serve(sim) as base_url:

        def client() -> ContactNow:
            return ContactNow(
                username=USERNAME, password=PASSWORD, base_url=base_url, max_concurrency=50
            )

        async def cold() -> float:
            before = sim.stats.token_gets
            async with client() as cn:
                elapsed = await burst(cn, calls)
            token_gets.append(sim.stats.token_gets - before)
            return elapsed

        async def warm() -> float:
            async with client() as cn:
                await cn.agents.read()
                return await burst(cn, calls)

        pairs = await interleave(cold, warm, repeats)
    return [
        row(
            NAME,
            f"token requests per cold burst of {calls:,}",
            token_gets,
            "requests",
            target="== 1",
            check=lambda n: n == 1 and max(token_gets) == 1,
        ),
        row(NAME, f"cold / warm time to last of {calls:,} replies", [c / w for c, w in pairs], "x"),
        row(NAME, "cold burst, time to last reply", [c * 1000 for c, _ in pairs], "ms"),
    ]
