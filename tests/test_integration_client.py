"""The client against the simulator served by uvicorn on 127.0.0.1 (asyncio and trio).

Each test has a simulator of its own, on the session's one server (tests/_stage.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from contactnow_async import ContactNow, QueueAssignment, TransportError
from contactnow_async.simulator import Simulator, VirtualClock

from ._stage import Stage

pytest.importorskip("uvicorn")  # the stage serves the simulator with uvicorn

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

USERNAME = "integration"
PASSWORD = "Integr4tion-Pw"


@pytest.fixture
def sim() -> Simulator:
    return Simulator(
        username=USERNAME,
        password=PASSWORD,
        agents=30,
        seed=7,
        clock=VirtualClock(1_700_000_000),
    )


@pytest.fixture
async def cn(sim: Simulator, stage: Stage) -> AsyncIterator[ContactNow]:
    async with (
        stage.showing(sim) as base_url,
        ContactNow(
            username=USERNAME, password=PASSWORD, base_url=base_url, retry_backoff=0
        ) as client,
    ):
        yield client


async def test_every_endpoint_against_the_simulator(cn: ContactNow, sim: Simulator) -> None:
    token = await cn.tokens.get()
    assert token.expires_ts > sim.now()
    assert (await cn.tokens.validate()).value == token.value

    created = await cn.agents.create([{"name": "Ann Example", "username": "ann", "password": "x"}])
    assert created.total == 1
    assert created.key
    (ann,) = await cn.agents.read(agent_id=created.key)
    assert ann.name == "Ann Example"
    updated = await cn.agents.update([{"agentid": created.key, "name": "Ann Dow"}])
    assert updated.total == 1
    assert [agent.name for agent in await cn.agents.read(agent_id=created.key)] == ["Ann Dow"]

    assignment = QueueAssignment(agent_id=created.key, queue_id="1007", level=100)
    assert (await cn.priorities.create([assignment])).total == 1
    assert (await cn.priorities.create([assignment])).total == 0  # idempotent
    assert await cn.priorities.read(agent=created.key) == [assignment]

    rows = await cn.status_log.read()
    assert rows
    low, high = rows[0].log_id, rows[min(4, len(rows) - 1)].log_id
    ranged = await cn.status_log.read(uid_range=(low, high))
    assert ranged
    assert all(low <= row.log_id <= high for row in ranged)

    everyone = await cn.live.agents(include_offline=True)
    online = await cn.live.agents()
    assert created.key in {agent.agent_id for agent in everyone}
    assert created.key not in {agent.agent_id for agent in online}  # created agents are offline
    assert len(everyone) >= len(online)
    assert sim.stats.token_gets == 1


async def test_xml_format_against_the_simulator(sim: Simulator, stage: Stage) -> None:
    async with (
        stage.showing(sim) as base_url,
        ContactNow(username=USERNAME, password=PASSWORD, base_url=base_url, format="xml") as cn,
    ):
        created = await cn.agents.create([{"name": "A&B <x>", "username": "ab"}])
        (agent,) = await cn.agents.read(agent_id=created.key)
        assert agent.name == "A&B <x>"
        assert await cn.live.agents(include_offline=True)


async def test_concurrent_reads_share_one_token_and_one_refresh(
    cn: ContactNow, sim: Simulator
) -> None:
    done = 0

    async def read() -> None:
        nonlocal done
        await cn.agents.read()
        done += 1
        if done == 100:
            sim.expire_tokens()  # mid-run: the other calls are under way

    async with anyio.create_task_group() as tg:
        for _ in range(200):
            tg.start_soon(read)
    assert done == 200
    assert sim.stats.token_gets == 2
    async with anyio.create_task_group() as tg:
        for _ in range(200):
            tg.start_soon(read)
    assert sim.stats.token_gets == 2


async def test_cold_concurrent_reads_fetch_one_token(cn: ContactNow, sim: Simulator) -> None:
    async with anyio.create_task_group() as tg:
        for _ in range(200):
            tg.start_soon(cn.agents.read)
    assert sim.stats.token_gets == 1
    assert sim.stats.count("database", "agents", "read") == 200


async def test_a_create_whose_reply_is_lost_is_sent_once(cn: ContactNow, sim: Simulator) -> None:
    before = len(await cn.agents.read())
    sim.faults.inject("drop_after", script="database", method="agents", action="create")
    with pytest.raises(TransportError) as info:
        await cn.agents.create([{"name": "Once Only", "username": "once"}])
    assert info.value.sent is True
    creates = [
        r
        for r in sim.requests
        if (r.script, r.method, r.action) == ("database", "agents", "create")
    ]
    assert len(creates) == 1
    # The server did create it: exactly one new agent, as the error warns.
    assert len(await cn.agents.read()) == before + 1
    assert [a.name for a in await cn.agents.read(name="Once Only")] == ["Once Only"]


async def test_a_read_whose_reply_is_lost_is_retried(cn: ContactNow, sim: Simulator) -> None:
    await cn.tokens.get()
    sim.faults.inject("drop_after", script="database", method="agents", action="read")
    assert await cn.agents.read()
    assert sim.stats.count("database", "agents", "read") == 2
