"""Invariant 10 against an in-process watcher: a browser that reconnects with
Last-Event-ID misses nothing and sees nothing twice; outside the window, a reset."""

from __future__ import annotations

import json

import anyio
import anyio.lowlevel
import httpx
import pytest

from contactnow_async import AgentWatcher, VirtualClock
from contactnow_async.simulator import Dwell, Simulator
from contactnow_async.web import wallboard_app
from contactnow_async.web._sources import QUIET_CURSOR
from tests._helpers import PasswordChanged

from ._sse import Frame, client_for, last_id, open_events
from ._support import client_on, event_rows, let_pass, log_rows

pytestmark = pytest.mark.anyio


def busy_centre(agents: int = 10) -> Simulator:
    """A centre where an agent changes status every few simulated seconds."""
    return Simulator(
        username="demo",
        password="secret",
        agents=agents,
        seed=3,
        clock=VirtualClock(),
        dwell=Dwell.uniform(5),
    )


async def test_reconnecting_with_last_event_id_misses_nothing_and_repeats_nothing() -> None:
    sim = busy_centre()
    async with client_on(sim) as client:
        watcher = AgentWatcher(client, backfill=True, interval=1.0)
        wallboard = wallboard_app(watcher)
        async with wallboard.lifespan(), client_for(wallboard) as http:
            snapshot = (await http.get("/snapshot")).json()
            start = snapshot["cursor"]
            assert {a["agent_id"] for a in snapshot["agents"]} <= set(sim.agent_ids)
            seen: list[Frame] = []
            # The page's first connection: the snapshot's cursor in the query.
            async with open_events(wallboard, query={"last_event_id": start}) as stream:
                seen += await stream.take(25)
            await let_pass(watcher, 40)  # the centre moves on while the browser is away
            # The browser's own reconnection: the Last-Event-ID header wins over the query.
            async with open_events(
                wallboard, query={"last_event_id": start}, headers={"Last-Event-ID": last_id(seen)}
            ) as stream:
                seen += await stream.take(25)
                assert stream.retry == 2000
            await let_pass(watcher, 10)
            async with open_events(wallboard, headers={"Last-Event-ID": last_id(seen)}) as stream:
                seen += await stream.take(10)
            assert wallboard.board.viewers == set()  # every stream that ended left the board

    ids = [int(frame.id or 0) for frame in seen]
    assert ids == sorted(set(ids)), "an event twice, or out of order"
    window = [row for row in log_rows(sim) if int(start) < row[0] <= ids[-1]]
    assert event_rows(seen) == window  # the union is the status log: no gap, no duplicate
    assert len(window) == 60


async def test_the_snapshot_and_its_cursor_agree_with_the_events_after_it() -> None:
    sim = busy_centre()
    async with client_on(sim) as client:
        watcher = AgentWatcher(client, backfill=True, interval=1.0)
        wallboard = wallboard_app(watcher)
        async with wallboard.lifespan(), client_for(wallboard) as http:
            await let_pass(watcher, 20)
            first = (await http.get("/snapshot")).json()
            async with open_events(wallboard, headers={"Last-Event-ID": first["cursor"]}) as stream:
                frames = await stream.take(15)
            later = (await http.get("/snapshot")).json()
    # The snapshot folded with the events after its cursor is a later snapshot's state,
    # for every agent those events touched.
    board = {a["agent_id"]: a for a in first["agents"]}
    for frame in frames:
        event = json.loads(frame.data)
        board[event["agent_id"]] = event["after"]
    now = {a["agent_id"]: a for a in later["agents"]}
    last_uid = int(frames[-1].id or 0)
    touched_later = {
        r[1] for r in log_rows(sim) if r[0] > last_uid and r[0] <= int(later["cursor"])
    }
    for agent_id, state in board.items():
        if agent_id not in touched_later:
            assert now[agent_id] == state


async def test_an_id_older_than_the_window_or_unknown_gets_a_reset() -> None:
    sim = busy_centre()
    async with client_on(sim) as client:
        watcher = AgentWatcher(client, backfill=True, interval=1.0)
        wallboard = wallboard_app(watcher, retain=5)
        async with wallboard.lifespan():
            start = wallboard.board.cursor
            assert start is not None
            await let_pass(watcher, 12)  # more than the 5 retained
            for last_event_id, reason in (
                (start, "expired"),  # a real id, no longer retained
                ("not-an-id", "unknown"),
                (str(10**17), "unknown"),  # from the future: not this log's
            ):
                async with open_events(
                    wallboard, headers={"Last-Event-ID": last_event_id}
                ) as stream:
                    frame = await stream.next()
                    assert frame is not None
                    assert (frame.event, json.loads(frame.data), frame.id) == (
                        "reset",
                        {"reason": reason},
                        None,
                    )
                    assert await stream.next() is None  # and the stream ends


async def test_a_watcher_without_backfill_is_refused() -> None:
    sim = busy_centre()
    async with client_on(sim) as client:
        with pytest.raises(ValueError, match="backfill=True"):
            wallboard_app(AgentWatcher(client))


async def test_a_refused_password_makes_the_health_fail_with_the_reason() -> None:
    sim = busy_centre()
    async with client_on(sim, password="wrong-pass") as client:
        wallboard = wallboard_app(AgentWatcher(client, backfill=True, interval=1.0))
        async with wallboard.lifespan(), client_for(wallboard) as http:
            reply = await http.get("/healthz")
            body = reply.json()
            assert reply.status_code == 503
            assert body["healthy"] is False
            assert "AuthenticationError" in body["last_error"]
            assert "wrong-pass" not in reply.text


async def test_a_password_refused_mid_stream_ends_the_streams_and_serves_no_stale_board() -> None:
    # The watcher stops for good on a refused password. The browsers' streams stayed open,
    # heartbeats and no events, so the page said "live" over a board frozen for ever, and
    # /snapshot served that board (a reload too) as if it were current.
    sim = busy_centre()
    upstream = PasswordChanged(sim)
    async with client_on(sim, transport=upstream) as client:
        wallboard = wallboard_app(AgentWatcher(client, backfill=True, interval=1.0))
        async with wallboard.lifespan(), client_for(wallboard) as http:
            async with open_events(wallboard) as stream:
                await stream.take(1)
                upstream.change()
                with anyio.fail_after(30):
                    while await stream.next() is not None:  # ends, as at a shutdown
                        pass
            assert wallboard.board.viewers == set()
            for path in ("/snapshot", "/events", "/stream-token"):
                reply = await http.get(path)
                assert reply.status_code == 503, path
                assert "stopped" in reply.json()["error"], path
            health = await http.get("/healthz")
            assert health.status_code == 503
            assert "AuthenticationError" in health.json()["last_error"]
            assert sim.password not in health.text


class Breaks(httpx.AsyncBaseTransport):
    """The simulator, until :attr:`broken`: then every request raises what no call maps
    (a bug in a transport of one's own), which stops the watcher's poller."""

    def __init__(self, sim: Simulator) -> None:
        self.inner = sim.transport()
        self.broken = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.broken:
            raise RuntimeError("a transport's bug")
        return await self.inner.handle_async_request(request)


async def test_a_source_that_fails_once_started_stops_the_board_not_the_app() -> None:
    # The poller's error left the source task, whose task group's host is the lifespan's
    # caller: the app's own lifespan was cancelled (its client closed, and whatever else
    # it held) while the server went on serving. It stops the board, as a refused
    # password does, and /healthz says why.
    sim = busy_centre()
    upstream = Breaks(sim)
    async with client_on(sim, transport=upstream) as client:
        wallboard = wallboard_app(AgentWatcher(client, backfill=True, interval=1.0))
        async with wallboard.lifespan(), client_for(wallboard) as http:
            async with open_events(wallboard) as stream:
                await stream.take(1)
                upstream.broken = True
                with anyio.fail_after(30):
                    while await stream.next() is not None:  # ends, as at a shutdown
                        pass
            for _ in range(10):  # the body goes on: not cancelled
                await anyio.lowlevel.checkpoint()
            reply = await http.get("/snapshot")
            assert reply.status_code == 503
            assert "stopped" in reply.json()["error"]
            health = await http.get("/healthz")
            assert health.status_code == 503
            assert "RuntimeError: a transport's bug" in health.json()["last_error"]
        assert not client.is_closed


async def test_a_board_started_with_no_log_row_resets_an_id_it_does_not_hold() -> None:
    # A quiet centre: no status_log row within log_lookback when the wallboard (re)starts,
    # so the board starts at a quiet cursor ("0." and its process's mark). A browser of
    # the previous process resumes from an id the board never held: the rows between it
    # and the board's first were not sent, and only a reset tells it so (it was served the
    # board's events as if it had them all).
    clock = VirtualClock()
    sim = Simulator(username="demo", password="secret", agents=4, seed=3, clock=clock,
                    dwell=Dwell.uniform(1e9))  # fmt: skip
    clock.advance(1_000)  # the scenario's first rows are long past
    earlier = log_rows(sim)[-1][0]  # what the previous process's browser saw last, say
    waiting = next(str(row["uid"]) for row in sim.live_agents() if row["status"] == "wait")
    async with client_on(sim) as client:
        watcher = AgentWatcher(client, backfill=True, interval=1.0)
        wallboard = wallboard_app(watcher)
        async with wallboard.lifespan():
            assert wallboard.board.cursor == QUIET_CURSOR
            await client.control.pause(waiting)  # a row the board publishes
            with anyio.fail_after(30):
                while wallboard.board.cursor == QUIET_CURSOR:
                    await anyio.lowlevel.checkpoint()
            first = int(wallboard.board.cursor or 0)
            assert first > earlier
            for last_event_id in (str(earlier), "1"):
                async with open_events(
                    wallboard, headers={"Last-Event-ID": last_event_id}
                ) as stream:
                    frame = await stream.next()
                    assert frame is not None
                    assert (frame.event, json.loads(frame.data)) == ("reset", {"reason": "expired"})
            # The board's own events still resume from one of its ids.
            async with open_events(wallboard, headers={"Last-Event-ID": str(first)}) as stream:
                await client.control.unpause(waiting)
                frame = await stream.next()
                assert frame is not None and frame.event == "agent"


async def test_a_quiet_board_resumes_its_own_cursor_and_resets_another_process_s() -> None:
    # A board that started with no status_log row in its lookback was at "0", as the
    # previous process's was: a browser of that process, at "0", was kept as it was (no
    # reset) however much had changed while no wallboard ran, its agents stale until each
    # changed again. Its cursor is its own now: the page's resume from it (the snapshot's
    # cursor) goes on, and any other process's is reset.
    clock = VirtualClock()
    sim = Simulator(username="demo", password="secret", agents=4, seed=3, clock=clock,
                    dwell=Dwell.uniform(1e9))  # fmt: skip
    clock.advance(1_000)  # the changes made while no wallboard ran are past the lookback
    waiting = next(str(row["uid"]) for row in sim.live_agents() if row["status"] == "wait")
    async with client_on(sim) as client:
        wallboard = wallboard_app(AgentWatcher(client, backfill=True, interval=1.0))
        async with wallboard.lifespan(), client_for(wallboard) as http:
            cursor = (await http.get("/snapshot")).json()["cursor"]
            assert cursor == wallboard.board.cursor == QUIET_CURSOR
            for other in ("0", "0." + "f" * (len(cursor) - 2)):  # an earlier process's
                async with open_events(wallboard, headers={"Last-Event-ID": other}) as stream:
                    with anyio.fail_after(30):  # no event comes: without the reset, none
                        frame = await stream.next()
                    assert frame is not None
                    expired = ("reset", {"reason": "expired"})
                    assert (frame.event, json.loads(frame.data)) == expired
            async with open_events(wallboard, headers={"Last-Event-ID": cursor}) as stream:
                await client.control.pause(waiting)
                with anyio.fail_after(30):
                    frame = await stream.next()
                assert frame is not None and frame.event == "agent"


async def test_a_board_started_while_the_api_is_down_waits_for_a_good_poll() -> None:
    # The first polls fail: the board was seeded empty at cursor "0", served that as the
    # snapshot, and the agents the first good poll listed (poll events, without an id)
    # were folded in but never sent to a browser that had opened /events from it.
    sim = busy_centre(agents=8)
    sim.faults.inject("http_503", script="ajax", times=10_000)  # down until cleared
    async with client_on(sim, max_retries=0) as client:
        watcher = AgentWatcher(client, backfill=True, interval=1.0)
        wallboard = wallboard_app(watcher)
        async with wallboard.lifespan(), client_for(wallboard) as http:
            assert (await http.get("/snapshot")).status_code == 503  # was 200, no agents
            health = await http.get("/healthz")
            assert health.status_code == 503 and "HTTPStatusError" in health.text
            sim.faults.clear()
            with anyio.fail_after(30):
                while not wallboard.board.started:  # the watcher polls on its virtual clock
                    await anyio.lowlevel.checkpoint()
            snapshot = (await http.get("/snapshot")).json()
    # Seeded from the good poll: its agents (the centre moves on meanwhile, so not
    # compared one by one with a later read), and a cursor in the log.
    shown = {agent["agent_id"] for agent in snapshot["agents"]}
    assert shown and shown <= set(sim.agent_ids)
    assert int(snapshot["cursor"]) > 0


class LoneSurrogateNames(httpx.AsyncBaseTransport):
    """The simulator's replies with each agent's name ending in ``\\ud800``: valid JSON
    that decodes to a lone surrogate, as a server we do not control may send."""

    def __init__(self, sim: Simulator) -> None:
        self.inner = sim.transport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        reply = await self.inner.handle_async_request(request)
        body = (await reply.aread()).replace(b'"name":"Agent ', b'"name":"\\ud800Agent ')
        headers = [(k, v) for k, v in reply.headers.items() if k.lower() != "content-length"]
        return httpx.Response(reply.status_code, headers=headers, content=body)


async def test_names_that_do_not_encode_as_utf_8_are_served_escaped() -> None:
    # A lone surrogate in an agent's name made /snapshot a 500, and the first event of
    # that agent stopped the watcher's events for every browser (UnicodeEncodeError).
    sim = busy_centre(agents=3)
    async with client_on(sim, transport=LoneSurrogateNames(sim)) as client:
        watcher = AgentWatcher(client, backfill=True, interval=1.0)
        wallboard = wallboard_app(watcher)
        async with wallboard.lifespan(), client_for(wallboard) as http:
            snapshot = await http.get("/snapshot")
            assert snapshot.status_code == 200
            assert b"\\ud800Agent " in snapshot.content  # JSON's own escape: valid UTF-8
            names = [agent["name"] for agent in snapshot.json()["agents"]]
            assert any(name.startswith("\ud800Agent ") for name in names)
            cursor = snapshot.json()["cursor"]
            async with open_events(wallboard, headers={"Last-Event-ID": cursor}) as stream:
                frames = await stream.take(12)
            assert all(frame.event == "agent" for frame in frames)
            named = [json.loads(f.data)["after"]["name"] for f in frames]
            assert any(name.startswith("\ud800Agent ") for name in named)
            assert (await http.get("/healthz")).status_code == 200
