"""The README's shorter examples, each run as written (its top-level ``await`` awaited)
against an in-process simulator on a virtual clock: the names a block takes from the
text around it (``cn``, ``saved_id``, ``handle``, ``call``, ``t0``) are given, and an
account's agent ids become the simulator's; nothing else is changed."""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib.util
import re
import socket
import sys
import types
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette

from contactnow_async import AgentEvent, ContactNow, HTTPStatusError, Subscription
from contactnow_async.simulator import Simulator, VirtualClock

from ._stage import Stage
from .watch._support import TickingClock, client_on, event_rows, log_rows

pytestmark = pytest.mark.anyio

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_block(marker: str) -> str:
    """The code block after ``<!-- example: marker -->`` in README.md."""
    text = README.read_text(encoding="utf-8")
    match = re.search(
        re.escape(f"<!-- example: {marker} -->") + r"\s*```python\n(.*?)```", text, re.DOTALL
    )
    assert match, f"README.md lost its example {marker}"
    return match.group(1)


async def run_block(
    marker: str, namespace: dict[str, Any], *, replace: dict[str, str] | None = None
) -> None:
    """Run the README's block in ``namespace``, awaiting what it awaits; its names stay there.
    ``replace`` maps a text of the block to what is run in its place (an account's ids)."""
    text = readme_block(marker)
    for old, new in (replace or {}).items():
        assert old in text, f"README.md's example {marker} lost {old}"
        text = text.replace(old, new)
    code = compile(text, str(README), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    awaiting = eval(code, namespace)  # noqa: S307 - our README; a coroutine when it awaits
    if awaiting is not None:
        await awaiting


@pytest.fixture
def sim() -> Simulator:
    return Simulator(username="u", password="secret", agents=20, seed=5, clock=TickingClock())


@pytest.fixture
async def cn(sim: Simulator) -> AsyncIterator[ContactNow]:
    async with client_on(sim) as client:
        yield client


async def test_the_readme_in_process_simulator() -> None:
    namespace: dict[str, Any] = {}
    await run_block("in-process", namespace)
    sim: Simulator = namespace["sim"]
    async with namespace["cn"] as cn:
        with pytest.raises(HTTPStatusError) as raised:
            await cn.live.agents()
        assert raised.value.status_code == 503
        assert [r.status_code for r in sim.requests if r.script == "ajax"] == [503, 503, 503]
        assert await cn.live.agents()  # the fault was for those three attempts only


async def test_the_readme_watcher(cn: ContactNow, sim: Simulator) -> None:
    printed: list[tuple[Any, ...]] = []
    with anyio.CancelScope() as scope:

        def print_(*args: Any) -> None:
            printed.append(args)
            if len(printed) == 60:
                scope.cancel()

        await run_block("watch", {"cn": cn, "print": print_})
    assert len(printed) == 60
    everyone = {agent["uid"] for agent in sim.live_agents(include_offline=True)}
    assert {args[1] for args in printed if args[0] == "appeared"} == everyone
    changed = [args for args in printed if args[0] == "changed"]
    assert changed and all(before != after for _, _, before, after, _ in changed)


async def test_the_readme_subscribers(cn: ContactNow, sim: Simulator) -> None:
    namespace: dict[str, Any] = {"cn": cn}
    await run_block("subscribers", namespace)
    subscriptions: list[Subscription[Any]] = [
        namespace[name] for name in ("wallboard", "automation", "ticker", "health")
    ]
    assert [s.overflow for s in subscriptions] == ["coalesce", "block", "drop_oldest", "block"]
    online = len(sim.live_agents(include_offline=False))
    assert [s.pending for s in subscriptions] == [online] * 4  # the first poll's picture


@pytest.mark.slow
async def test_the_readme_resume_from_a_saved_log_id(cn: ContactNow, sim: Simulator) -> None:
    assert isinstance(sim.clock, TickingClock)
    sim.clock.advance(900)  # the automation was down for a while
    history = log_rows(sim)
    saved = history[len(history) // 2][0]
    handled: list[AgentEvent] = []
    namespace: dict[str, Any] = {"cn": cn, "saved_id": saved}
    with anyio.CancelScope() as scope:

        def handle(event: AgentEvent) -> None:
            handled.append(event)
            if sum(e.source == "status_log" for e in handled) == 300:
                scope.cancel()

        namespace["handle"] = handle
        await run_block("resume", namespace)

    picture = [e for e in handled if e.source == "poll"]
    logged = handled[len(picture) :]
    # The first poll's picture first: every agent online then, with no log_id.
    assert picture and all(e.kind == "appeared" and e.log_id is None for e in picture)
    assert len(picture) == len({e.agent_id for e in picture})
    # Then the log rows right after saved_id, none skipped or repeated; saved_id follows.
    assert all(e.source == "status_log" for e in logged)
    assert namespace["saved_id"] == logged[-1].log_id
    assert event_rows(logged) == [
        row for row in log_rows(sim) if saved < row[0] <= namespace["saved_id"]
    ]
    # Each agent's first log event appears again, without before; its second has one.
    firsts: dict[str, AgentEvent] = {}
    seconds: dict[str, AgentEvent] = {}
    for event in logged:
        (seconds if event.agent_id in firsts else firsts).setdefault(event.agent_id, event)
    assert all(
        e.kind == "appeared" and e.before is None and e.previous_duration is None
        for e in firsts.values()
    )
    assert seconds and all(e.kind == "changed" and e.before for e in seconds.values())
    # The log rows are older than the picture.
    assert any(
        firsts[e.agent_id].changed_at < e.changed_at for e in picture if e.agent_id in firsts
    )


async def test_the_readme_recordings(
    cn: ContactNow, sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = int(sim.now())
    assert isinstance(sim.clock, TickingClock)
    sim.clock.advance(3600)
    cdr = await cn.reports.cdr_list(["callid", "cres", "flags"], start=start, stop=sim.now())
    call = next(row for row in cdr if row.recorded)
    monkeypatch.chdir(tmp_path)
    printed: list[tuple[Any, ...]] = []
    namespace: dict[str, Any] = {
        "cn": cn,
        "call": call,
        "print": lambda *args: printed.append(args),
    }
    await run_block("recordings", namespace)
    recording = namespace["recording"]
    wav = (tmp_path / "90000001.wav").read_bytes()
    assert (recording.size, recording.content_type) == (len(wav), "audio/wav")
    assert wav.startswith(b"RIFF")
    assert (tmp_path / "copy.wav").read_bytes() == (tmp_path / "long.wav").read_bytes() == wav
    # progress: the bytes so far, growing to the whole file, of the size the reply declared
    assert printed and printed[-1] == (len(wav), "of", len(wav))
    assert [done for done, _, _ in printed] == sorted({done for done, _, _ in printed})


async def test_the_readme_client(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(sim.clock, TickingClock)
    t0 = int(sim.now())
    sim.clock.advance(3600)
    t1 = int(sim.now())
    live = sim.live_agents(include_offline=False)
    on_a_call = next(str(agent["uid"]) for agent in live if agent["status"] == "call")
    other = next(str(agent["uid"]) for agent in live if agent["uid"] != on_a_call)
    async with client_on(sim) as cn:
        cdr = await cn.reports.cdr_list(["callid", "cres", "flags"], start=t0, stop=t1)
    recorded = next(call.call_id for call in cdr if call.recorded)
    monkeypatch.chdir(tmp_path)
    printed: list[tuple[Any, ...]] = []
    namespace: dict[str, Any] = {
        "SIM": sim, "t0": t0, "t1": t1, "print": lambda *args: printed.append(args)
    }  # fmt: skip
    # The account, its agents, call and campaign table become the simulator's.
    replace = {
        'username="u", password="p", region=Region.EU': (
            'username="u", password="secret", base_url="http://sim.test/",'
            " transport=SIM.transport(), clock=SIM.clock"
        ),
        'wrap("1234"': f"wrap({on_a_call!r}",
        '"1234"': repr(other),
        '"5678"': repr(on_a_call),
        '"90000001"': repr(recorded),
        '{"table": "X"}': '{"table": "Willtest"}',
    }
    await run_block("client", namespace, replace=replace)
    result = namespace["result"]
    assert printed == [(result.key,)]  # the new agent's id
    (ann,) = [a for a in sim.live_agents(include_offline=True) if a["uid"] == result.key]
    assert ann["name"] == "Ann Lee"  # the update took
    assert namespace["agents"] == []  # no Joe Blogs in the simulator
    assert namespace["queues"] and all(q.agent_id == other for q in namespace["queues"])
    assert len(namespace["live"]) == len(sim.live_agents(include_offline=True))
    assert namespace["rows"] and all("nc_all" in row for row in namespace["rows"])
    assert (tmp_path / "call.wav").read_bytes().startswith(b"RIFF")
    assert namespace["token"].value and namespace["token"].expires_at
    assert namespace["envelope"].records


async def test_the_readme_transports() -> None:
    # The README's three ways to choose the wire: each option as it names it.
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"success": True})

    await run_block("transports", {"ContactNow": ContactNow, "httpx": httpx, "handler": handler})


async def test_the_readme_reports(cn: ContactNow, sim: Simulator) -> None:
    assert isinstance(sim.clock, TickingClock)
    start = int(sim.now())
    sim.clock.advance(3600)
    stop = int(sim.now())
    answered = await cn.reports.cdr_list(["aid", "cres"], start=start, stop=stop)
    agents = sorted({call.agent_id for call in answered if call.agent_id})[:2]
    namespace: dict[str, Any] = {"cn": cn, "midnight": start, "now": stop, "t0": start, "t1": stop}
    # The README's agent ids are an account's; the simulator's are its own.
    ids = {'"1234"': repr(agents[0]), '"5678"': repr(agents[1])}
    await run_block("reports", namespace, replace=ids)
    rows = namespace["rows"]
    assert rows and all(isinstance(row["qid"], str) for row in rows)
    assert isinstance(rows[0]["nc_all"], int) and isinstance(rows[0]["sec_dur"], float)
    assert namespace["call"].call_id  # the cdr loop ran
    assert namespace["calls"] and namespace["sessions"]


async def test_the_readme_campaign_database(cn: ContactNow, sim: Simulator) -> None:
    printed: list[tuple[Any, ...]] = []
    monday, friday = sim.now() - 4 * 86_400, sim.now()
    namespace: dict[str, Any] = {
        "cn": cn,
        "monday": monday,
        "friday": friday,
        "print": lambda *args: printed.append(args),
    }
    await run_block("campaign-database", namespace)
    assert "Willtest" in namespace["tables"]
    assert any(field.name == "FirstName" for field in namespace["fields"])
    assert namespace["live"] and all(d.status == "LIVE" for d in namespace["live"])
    (new,) = await cn.datasets.read(table="Willtest", dataset=namespace["new"].key)
    assert new.status == "LIVE"  # set_status took
    result = namespace["result"]
    assert printed == [(result.key, "Record is LIVE on the dialer.")]
    (record,) = await cn.records.read(table="Willtest", id=result.key)
    assert (record.dataset_id, record.mobile_phone, record.first_name) == (
        "351",
        "07700900123",
        "Jon",
    )
    assert record.outcome_id == "510456"  # the update took
    assert namespace["queues"] and namespace["codes"]
    assert all(isinstance(code.complete, bool) for code in namespace["codes"])


async def test_the_readme_time_in_status(cn: ContactNow, sim: Simulator) -> None:
    assert isinstance(sim.clock, TickingClock)
    sim.clock.advance(2 * 3600)
    start, stop = int(sim.now()) - 3600, int(sim.now())
    namespace: dict[str, Any] = {"cn": cn, "start": start, "stop": stop}
    await run_block("time-in-status", namespace)
    seconds = namespace["time_in_status"](namespace["rows"], start, stop)
    assert set(seconds) == {agent["uid"] for agent in sim.live_agents(include_offline=True)}
    # Every agent has a row before the window (the day before is read too): each of its
    # seconds in the window is in one status.
    assert all(sum(by_status.values()) == stop - start for by_status in seconds.values())


@pytest.mark.integration
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # uvicorn runs on asyncio
async def test_the_readme_fastapi_app_stops_with_browsers_connected(
    stage: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Served as the README said (a plain uvicorn), its shutdown waited for every open event
    # stream, and a browser's never ends: the server ran on until the browsers left.
    uvicorn = pytest.importorskip("uvicorn")
    if importlib.util.find_spec("fastapi") is None:  # not an extra: Starlette, FastAPI's base
        monkeypatch.setitem(sys.modules, "fastapi", types.SimpleNamespace(FastAPI=Starlette))
    sim = Simulator(username="u", password="secret", agents=5, seed=5, clock=VirtualClock())
    code = readme_block("fastapi").replace(
        "username=..., password=...", "username='u', password='secret', base_url=BASE_URL"
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()  # before the server starts: the browsers' requests wait for it
    port = sock.getsockname()[1]
    async with stage.showing(sim) as base_url:
        namespace: dict[str, Any] = {"BASE_URL": base_url, "__name__": "main"}
        exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 - our README
        server = namespace["Server"](uvicorn.Config(namespace["app"], log_level="warning"))
        # No timeout: a stream waits for events, and the test times nothing.
        web = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=None)  # noqa: S113
        async with web, anyio.create_task_group() as group, contextlib.AsyncExitStack() as open_:
            group.start_soon(functools.partial(server.serve, sockets=[sock]))
            streams = []
            for _ in range(3):
                reply = await open_.enter_async_context(web.stream("GET", "/wallboard/events"))
                assert reply.status_code == 200
                chunks = reply.aiter_bytes()
                assert (await anext(chunks)).startswith(b"retry:")
                streams.append(chunks)
            server.should_exit = True  # Ctrl-C
            for chunks in streams:
                async for _ in chunks:  # each stream ends whole, from the server's side
                    pass
    assert not server.server_state.connections
    assert not server.server_state.tasks
    wallboard = namespace["wallboard"]
    assert not wallboard.board.viewers
    assert not wallboard.board.started
    with pytest.raises(RuntimeError, match="client is closed"):
        await namespace["cn"].agents.read()
