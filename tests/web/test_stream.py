"""The event stream and the board, driven by hand: the window, filters, slow clients,
heartbeats, disconnects and shutdown, the snapshot and the health."""

from __future__ import annotations

import gc
import json
import math
from collections.abc import MutableMapping
from typing import Any

import anyio
import pytest

from contactnow_async.web import Wallboard
from contactnow_async.web._board import Board, Entry, Viewer
from contactnow_async.web._stream import EventStream

from ._sse import client_for, open_events
from ._support import HandSource

pytestmark = pytest.mark.anyio


def board_of(source: HandSource, **options: float) -> Wallboard:
    return Wallboard(source, **options)  # type: ignore[arg-type]  # HandSource is a Source


async def all_dropped(wallboard: Wallboard) -> None:
    """Wait, reading nothing, until the board has let every viewer go. The write
    timeout is on the server's real clock, and a loaded machine passes its
    ``Board.keep()`` later (after a fixed 0.2 s, a stall left the viewer there):
    the wait lasts as long as that takes, 10 s being a guard against a viewer
    never dropped, not a bound on how soon."""
    with anyio.fail_after(10):
        while wallboard.board.viewers:  # noqa: ASYNC110 -- the board signals no drop
            await anyio.sleep(0.01)


async def test_a_resume_within_the_window_starts_right_after_the_id() -> None:
    source = HandSource()
    wallboard = board_of(source, retain=4)
    async with wallboard.lifespan():
        ids = [source.publish("1", status) for status in ("call", "wrap", "wait", "call", "wrap")]
        # Retained: the last 4; a resume after the first of them gets the other 3.
        async with open_events(wallboard, headers={"Last-Event-ID": ids[1]}) as stream:
            frames = await stream.take(3)
            assert [f.id for f in frames] == ids[2:]
            later = source.publish("2", "call")
            assert [f.id for f in await stream.take(1)] == [later]
        async with open_events(wallboard, headers={"Last-Event-ID": ids[0]}) as stream:
            frame = await stream.next()  # ids[0] itself fell out of the window
            assert frame is not None and frame.event == "reset"
            assert json.loads(frame.data) == {"reason": "expired"}


@pytest.mark.parametrize("first_uid", [10**18, 2**63, 10**30])
async def test_a_resume_after_any_uid_the_board_published_starts_right_after_it(
    first_uid: int,
) -> None:
    # The board publishes str(log_id) for any uid the status log gives (a whole number,
    # unbounded), but read Last-Event-ID as 1 to 18 digits: a browser reconnecting after
    # a 19-digit uid (a BIGINT column's) was sent a reset, not the events after it.
    source = HandSource()
    source.uid = first_uid
    wallboard = board_of(source)
    async with wallboard.lifespan():
        ids = [source.publish("1", status) for status in ("call", "wrap", "wait")]
        async with open_events(wallboard, headers={"Last-Event-ID": ids[0]}) as stream:
            assert [f.id for f in await stream.take(2)] == ids[1:]


async def test_agent_filters_pass_only_those_agents() -> None:
    source = HandSource(agents=("1", "2", "3"))
    wallboard = board_of(source)
    async with wallboard.lifespan():
        start = wallboard.board.cursor
        assert start is not None
        for agent_id in ("1", "2", "3", "1"):
            source.publish(agent_id, "call")
        for query in ({"agent": ["1", "3"]}, {"agent": "1,3"}):
            async with open_events(
                wallboard, query=query, headers={"Last-Event-ID": start}
            ) as stream:
                frames = await stream.take(3)
                assert [json.loads(f.data)["agent_id"] for f in frames] == ["1", "3", "1"]


async def test_a_client_that_falls_behind_gets_a_reset_and_is_closed() -> None:
    source = HandSource()
    wallboard = board_of(source, buffer=3)
    async with wallboard.lifespan():
        async with (
            open_events(wallboard, buffered=False) as slow,  # takes nothing until read
            open_events(wallboard) as fast,
        ):
            ids = [source.publish("1", status) for status in ("call", "wrap")]
            assert [f.id for f in await fast.take(2)] == ids
            ids = [source.publish("1", status) for status in ("wait", "call")]
            frame = await slow.next()
            assert frame is not None and frame.event == "reset"
            assert json.loads(frame.data) == {"reason": "lagging"}
            assert await slow.next() is None  # closed, holding nothing
            assert [f.id for f in await fast.take(2)] == ids  # the others go on
        assert wallboard.board.viewers == set()


async def test_a_client_that_takes_nothing_is_dropped_after_the_write_timeout() -> None:
    source = HandSource()
    wallboard = board_of(source, write_timeout=0.05)
    async with wallboard.lifespan():
        async with open_events(wallboard, buffered=False) as stuck:
            source.publish("1", "call")
            await all_dropped(wallboard)
            assert await stuck.next() is None  # nothing was taken, and nothing more comes


async def test_ended_streams_leave_no_viewer_or_stream_alive() -> None:
    # A thousand frozen browsers ended and let go must hold no memory: each stream's
    # objects are gone once it ended, however it ended (the write timeout, lagging, a
    # disconnect), with the board's heartbeat pass run over them meanwhile.
    source = HandSource()
    wallboard = board_of(source, buffer=2, write_timeout=0.05, heartbeat=0.02)

    def alive() -> int:  # a Viewer has slots and no weakref: counted among gc's objects
        gc.collect()
        return sum(isinstance(o, (Viewer, EventStream)) for o in gc.get_objects())

    before = alive()
    async with wallboard.lifespan():
        async with open_events(wallboard, buffered=False) as stuck:
            assert alive() == before + 2
            source.publish("1", "call")
            await all_dropped(wallboard)  # after the write timeout
            assert await stuck.next() is None
        async with open_events(wallboard, buffered=False) as lagging:
            for status in ("wrap", "wait", "call"):
                source.publish("1", status)
            while await lagging.next() is not None:  # the reset (or the write timeout)
                pass
        async with open_events(wallboard) as left:
            await left.heartbeat()
        await anyio.sleep(0.1)  # Board.keep() passes over no viewer at all
        assert wallboard.board.viewers == set()
        assert alive() == before


async def test_a_quiet_stream_sends_heartbeat_comments() -> None:
    source = HandSource()
    wallboard = board_of(source, heartbeat=0.02)
    async with wallboard.lifespan(), open_events(wallboard) as stream:
        assert await stream.heartbeat() == "heartbeat"
        event_id = source.publish("2", "call")
        assert [f.id for f in await stream.take(1)] == [event_id]


async def test_disconnects_and_shutdown_leave_nothing_running() -> None:
    source = HandSource()
    wallboard = board_of(source)
    async with wallboard.lifespan():
        async with open_events(wallboard), open_events(wallboard):
            assert len(wallboard.board.viewers) == 2
        assert wallboard.board.viewers == set()  # both clients went away
        async with open_events(wallboard) as stream:
            wallboard.close_streams()  # what `contactnow serve` does when stopping
            assert await stream.next() is None  # ended without a reset: the browser resumes
        assert wallboard.board.viewers == set()
    async with client_for(wallboard) as http:
        for path in ("/snapshot", "/events", "/healthz"):
            reply = await http.get(path)
            assert reply.status_code == 503, path  # not running: says so
        assert "lifespan" in (await http.get("/snapshot")).json()["error"]


async def test_a_send_that_raises_as_the_client_went_away_ends_the_stream_quietly() -> None:
    # ASGI 2.4: a server's send to a closed connection raises an OSError. The stream let
    # it out wrapped in an exception group (its task group's), which no `except OSError`
    # of a server or a middleware catches: an error logged for a browser that left.
    source = HandSource()
    wallboard = board_of(source)
    written = anyio.Event()

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.body" and written.is_set():
            raise OSError("the client went away")  # ConnectionResetError, say
        if message.get("body"):
            written.set()

    async def receive() -> MutableMapping[str, Any]:
        await anyio.sleep_forever()
        raise AssertionError  # pragma: no cover -- never woken

    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/events",
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "asgi": {"version": "3.0", "spec_version": "2.4"},
    }
    async with wallboard.lifespan():
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(wallboard, scope, receive, send)
                await written.wait()  # retry: 2000
                source.publish("1", "call")
        assert wallboard.board.viewers == set()


async def test_head_on_the_events_answers_the_headers_and_ends() -> None:
    # A HEAD never reads a body: a stream behind it would hold a viewer, and the
    # connection, until the client hung up.
    source = HandSource()
    wallboard = board_of(source)
    async with wallboard.lifespan():
        with anyio.fail_after(5):
            async with open_events(wallboard, method="HEAD") as head:
                assert head.status == 200
                assert head.headers["content-type"].startswith("text/event-stream")
                assert wallboard.board.viewers == set()
                assert await head.next() is None


async def test_the_lifespan_runs_once_at_a_time_and_lets_errors_through_as_they_are() -> None:
    wallboard = board_of(HandSource())
    async with wallboard.lifespan():
        with pytest.raises(RuntimeError, match="already running"):
            async with wallboard.lifespan():
                pass  # pragma: no cover -- refused before
    with pytest.raises(KeyError, match="mine"):
        async with wallboard.lifespan():
            raise KeyError("mine")


async def test_the_snapshot_has_every_agent_and_the_cursor() -> None:
    source = HandSource(agents=("1", "2"))
    wallboard = board_of(source)
    async with wallboard.lifespan(), client_for(wallboard) as http:
        source.publish("2", "call")
        reply = await http.get("/snapshot")
        assert reply.headers["cache-control"] == "no-store"
        body = reply.json()
        assert body["cursor"] == "101"
        assert body["source"] == "hand"
        # The centre's clock: the host's, corrected by the offset the last row shows (its
        # server_ts, 1_700_000_101, read at the host's 1_700_000_000).
        assert body["server_ts"] == source.clock.now() + 101
        assert body["clock_speed"] == 1.0
        assert {a["agent_id"]: a["status"] for a in body["agents"]} == {"1": "wait", "2": "call"}


async def test_browsers_fetching_the_snapshot_at_once_share_one_encoding_of_the_agents(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # After a reset or an outage every browser fetches /snapshot at once: the agents (the
    # bulk of it) are encoded once per change of the board, not once per browser, and a
    # change is in the next snapshot.
    from contactnow_async.web import _app

    encoded: list[Any] = []
    encode = _app._json

    def counting(content: Any) -> bytes:
        if isinstance(content, list):
            encoded.append(content)
        return encode(content)

    monkeypatch.setattr(_app, "_json", counting)
    source = HandSource(agents=("1", "2"))
    wallboard = board_of(source)
    async with wallboard.lifespan(), client_for(wallboard) as http:
        first = [(await http.get("/snapshot")).json() for _ in range(20)]
        assert len(encoded) == 1
        assert all(body["agents"] == first[0]["agents"] for body in first)
        cursor = source.publish("2", "call")
        body = (await http.get("/snapshot")).json()
        assert len(encoded) == 2
        assert body["cursor"] == cursor
        assert {a["agent_id"]: a["status"] for a in body["agents"]} == {"1": "wait", "2": "call"}
        assert list(body) == ["cursor", "server_ts", "clock_speed", "source", "agents"]


async def test_healthz_says_200_or_503_and_keeps_errors_for_token_holders() -> None:
    source = HandSource()
    wallboard = board_of(source)
    async with wallboard.lifespan(), client_for(wallboard) as http:
        reply = await http.get("/healthz")
        assert (reply.status_code, reply.json()["healthy"]) == (200, True)
        source.healthy = False
        reply = await http.get("/healthz")
        assert (reply.status_code, reply.json()["healthy"]) == (503, False)
        assert reply.json()["last_error"] == source.error  # no token configured: all of it
    guarded = Wallboard(source, auth_token="t0ken-for-tests")  # type: ignore[arg-type]  # a Source
    async with guarded.lifespan(), client_for(guarded) as http:
        reply = await http.get("/healthz")
        assert reply.status_code == 503
        assert "last_error" not in reply.json()  # a load balancer needs no error text
        reply = await http.get("/healthz", headers={"authorization": "Bearer t0ken-for-tests"})
        assert reply.json()["last_error"] == source.error


def test_a_board_drops_what_a_browser_from_a_replica_ahead_already_has() -> None:
    board = Board(parse_id=int)
    board.seed({}, cursor="100")
    viewer, resume = board.join("103")
    assert resume is not None and (resume.where, resume.key, resume.upto) == ("after", 103, "100")
    for uid in range(101, 106):
        board.publish(Entry(uid, str(uid), "1", f"{uid}".encode()), "1", None)
    assert list(viewer.buffer) == [b"104", b"105"]


def test_one_write_takes_at_most_its_budget_and_leaves_the_rest_buffered() -> None:
    board = Board(parse_id=int)
    board.seed({}, cursor="0")
    viewer, _ = board.join(None)
    frame = b"x" * 1000
    for uid in range(1, 101):
        board.publish(Entry(uid, str(uid), "1", frame), "1", None)
    assert [len(viewer.take(budget=10_000)) for _ in range(3)] == [10, 10, 10]
    assert len(viewer.take(budget=10)) == 1  # one frame at least, however large
    assert len(viewer.buffer) == 69


def test_a_resumed_browser_falls_behind_by_buffer_events_at_most_once_its_backlog_is_sent() -> None:
    # The backlog a resume adds is allowed on top of the buffer while it waits to be
    # written; it widened the bound for good, so a browser resumed with a backlog of n
    # fell buffer + n events behind before its reset.
    board = Board(parse_id=int, buffer=3)
    board.seed({}, cursor="100")
    for uid in range(101, 107):
        board.publish(Entry(uid, str(uid), "1", f"{uid}".encode()), "1", None)
    viewer, resume = board.join("100")
    assert resume is None and len(viewer.buffer) == 6
    for uid in range(107, 110):  # the whole backlog waits, and a buffer's worth of events
        board.publish(Entry(uid, str(uid), "1", f"{uid}".encode()), "1", None)
    assert viewer.reset is None and len(viewer.buffer) == 9
    assert len(viewer.take()) == 9
    for uid in range(110, 113):
        board.publish(Entry(uid, str(uid), "1", f"{uid}".encode()), "1", None)
    assert viewer.reset is None
    board.publish(Entry(113, "113", "1", b"113"), "1", None)
    assert viewer.reset == "lagging"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("retain", 0),
        ("buffer", 0),
        ("heartbeat", 0),
        ("write_timeout", -1),
        # NaN or infinity bounded nothing (every event kept, every browser's backlog
        # unbounded); a NaN heartbeat woke keep() every 5 ms and never beat, and a NaN
        # write timeout never ended a stuck write.
        ("retain", math.nan),
        ("retain", math.inf),
        ("buffer", math.nan),
        ("buffer", 2.5),
        ("heartbeat", math.nan),
        ("write_timeout", math.nan),
    ],
)
def test_a_board_refuses_settings_that_cannot_work(option: str, value: float) -> None:
    with pytest.raises(ValueError, match=rf"^{option} must be .*, got {value!r}$"):
        Board(parse_id=int, **{option: value})  # type: ignore[arg-type]  # a float, as a caller may pass
    with pytest.raises(ValueError, match=rf"^{option} must be"):
        Wallboard(HandSource(), **{option: value})  # type: ignore[arg-type]  # a Source


async def test_mounted_under_a_prefix_in_a_starlette_app_with_its_lifespan() -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    source = HandSource()
    wallboard = board_of(source)
    app = Starlette(routes=[Mount("/wallboard", app=wallboard)], lifespan=wallboard.lifespan)
    async with wallboard.lifespan(), client_for(app) as http:
        snapshot = (await http.get("/wallboard/snapshot")).json()
        assert snapshot["cursor"] == "100"
        page = await http.get("/wallboard/")
        assert page.status_code == 200
        assert 'getJSON("snapshot")' in page.text  # relative: the page works under any prefix
        moved = await http.get("/wallboard", follow_redirects=False)
        assert moved.status_code == 307
        assert moved.headers["location"].endswith("/wallboard/")


@pytest.mark.parametrize(
    "text", ["", "-5", "+5", "1e3", " 5", "5 ", "1_0", "١٢", "²", "0x10", "9" * 5000, "12a"]
)
def test_an_id_that_is_no_uid_reads_as_none(text: str) -> None:
    # Only ASCII digits: int() also reads signs, spaces, underscores and other scripts'
    # digits, and refuses (ValueError) more digits than its limit.
    assert HandSource.parse_id(text) is None
