"""The client against the simulator served by uvicorn on 127.0.0.1 (asyncio and trio).

Each test has a simulator of its own, on the session's one server (tests/_stage.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import anyio.to_thread
import httpx
import pytest

from contactnow_async import ContactNow, QueueAssignment, TransportError
from contactnow_async._http import Wire
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
        if done == 40:
            sim.expire_tokens()  # mid-run: the other calls are under way

    # 80 calls: more than the pool's connections (the others wait their turn), as many
    # as 200 prove, in two fifths of the CPU over the socket.
    async with anyio.create_task_group() as tg:
        for _ in range(80):
            tg.start_soon(read)
    assert done == 80
    assert sim.stats.token_gets == 2
    async with anyio.create_task_group() as tg:
        for _ in range(80):
            tg.start_soon(read)
    assert sim.stats.token_gets == 2


async def test_cold_concurrent_reads_fetch_one_token(cn: ContactNow, sim: Simulator) -> None:
    async with anyio.create_task_group() as tg:
        for _ in range(80):  # more than the pool's connections, as above
            tg.start_soon(cn.agents.read)
    assert sim.stats.token_gets == 1
    assert sim.stats.count("database", "agents", "read") == 80


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


def _call_in_another_loop(backend: str, call: Callable[[], Awaitable[object]]) -> BaseException:
    """Run ``call`` in an event loop of ``backend`` on a thread of its own: what it raised."""

    async def main() -> BaseException:
        with anyio.fail_after(10):  # a wait on the other loop's connection would hang
            try:
                await call()
            except Exception as exc:  # handed back to the test to check
                return exc
        raise AssertionError("a call from another event loop went through")

    return anyio.run(main, backend=backend)


@pytest.mark.parametrize("other", ["asyncio", "trio"])
@pytest.mark.parametrize("wire", ["httpx", "auto"])  # auto: aiohttp on asyncio, when installed
async def test_a_client_used_from_another_event_loop_says_so(
    sim: Simulator, stage: Stage, wire: Wire, other: str
) -> None:
    # A client made at import and used by two asyncio.run()s, or from a thread with a loop
    # of its own: its pool's connections belong to the first loop. That raised asyncio's
    # "Event loop is closed" or "bound to a different event loop", trio's "no running event
    # loop"; with aiohttp the other loop read a connection of the first (the pool's state
    # torn: "Future exception was never retrieved").
    async with stage.showing(sim) as base_url:
        client = ContactNow(username=USERNAME, password=PASSWORD, base_url=base_url, transport=wire)
        async with client as cn:
            await cn.agents.read()
            for call in (cn.agents.read, cn.tokens.refresh, cn.aclose):
                failed = await anyio.to_thread.run_sync(_call_in_another_loop, other, call)
                assert isinstance(failed, RuntimeError)
                assert "another event loop" in str(failed)
            assert not cn.is_closed  # the aclose refused did not close it
            assert await cn.agents.read()  # its own loop's pool is whole
        # Entered here and first used there (a test runner's fixture on one loop, the test
        # on another, where this loop, and its server, does not run): refused, not a hang.
        async with ContactNow(username=USERNAME, password=PASSWORD, base_url=base_url) as cn:
            failed = await anyio.to_thread.run_sync(_call_in_another_loop, other, cn.agents.read)
            assert "another event loop" in str(failed)
            assert await cn.agents.read()


async def test_a_client_given_an_http_client_says_so_under_another_async_library(
    sim: Simulator, stage: Stage, anyio_backend: str
) -> None:
    # The caller's httpx pool, on the network: httpcore makes its locks for the library
    # that first uses it, and failed under the other with asyncio's "no running event
    # loop" or trio's "must be called from async context" (the client's limiter first).
    other = "trio" if anyio_backend == "asyncio" else "asyncio"
    async with stage.showing(sim) as base_url, httpx.AsyncClient() as http:
        client = ContactNow(
            username=USERNAME, password=PASSWORD, base_url=base_url, http_client=http
        )
        async with client as cn:
            await cn.agents.read()
            for call in (cn.agents.read, cn.tokens.refresh, cn.aclose):
                failed = await anyio.to_thread.run_sync(_call_in_another_loop, other, call)
                assert isinstance(failed, RuntimeError)
                assert f"first used under {anyio_backend}, and this call runs under {other}" in str(
                    failed
                )
            assert not cn.is_closed
            assert await cn.agents.read()  # its own library's pool is whole
        assert sim.stats.token_gets == 1
