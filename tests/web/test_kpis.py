"""The queue KPIs: figures equal to what the reports say for their window, delivered by
``GET /kpis`` and ``event: kpis``; a failed refresh keeps the last figures, marked stale;
the refreshes run in the lifespan and stop with it."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import httpx
import pytest

from contactnow_async import ContactNow, ReportRow, VirtualClock
from contactnow_async.analytics import service_level
from contactnow_async.kpis import AVAILABLE, QUEUE_FIGURES, QueueFigures, QueueKpis, midnight
from contactnow_async.simulator import Simulator
from contactnow_async.web import Wallboard
from contactnow_async.web._sources import agent_json

from .._helpers import FakeAPI, agents_list
from .._helpers import client_for as fake_client_for
from ._sse import EventReader, client_for, open_events
from ._support import HandSource, SteppedClock, client_on

pytestmark = pytest.mark.anyio

MIDNIGHT = 1_700_006_400  # 2023-11-15T00:00:00Z
TOKEN = "kpis-T0ken-for-tests"


async def todays_rows(cn: ContactNow, stop: int) -> list[ReportRow]:
    """The report ``QueueKpis`` reads (cutoff 20), today up to ``stop``: the test's check."""
    return await cn.reports.calls(
        QUEUE_FIGURES, start=MIDNIGHT, stop=stop, group_by="qid", cutoff=20, qtype="inbound"
    )


def centre(at: float = MIDNIGHT + 8 * 3600, open_for: float = 3 * 3600) -> Simulator:
    """A centre that opened at 08:00 UTC and has run for three hours (``open_for``)."""
    clock = VirtualClock(at)
    sim = Simulator(username="demo", password="secret", agents=15, seed=4, clock=clock)
    clock.advance(open_for)
    return sim


#: The simulator's inbound queues and their names (1099, deleted, is not one of them).
INBOUND = {"1007": "Sales Inbound", "1008": "Support Inbound", "1009": "Billing Inbound"}


async def next_kpis(stream: EventReader) -> dict[str, Any]:
    """The next ``event: kpis`` document on the stream (agent events are skipped)."""
    with anyio.fail_after(10):
        while True:
            frame = await stream.next()
            assert frame is not None, "the stream ended"
            if frame.event == "kpis":
                assert frame.id is None  # Last-Event-ID stays the last agent event's
                document: dict[str, Any] = json.loads(frame.data)
                return document


@asynccontextmanager
async def board_on(
    sim: Simulator, cn: ContactNow, **options: Any
) -> AsyncIterator[tuple[Wallboard, HandSource, SteppedClock]]:
    """A wallboard of ``sim``'s agents as they are now, with KPIs refreshed per step."""
    source = HandSource(agents=())
    source.agents = {a.agent_id: agent_json(a) for a in await cn.live.agents()}
    stepped = SteppedClock(sim.clock)
    wallboard = Wallboard(source, kpis=QueueKpis(cn, clock=stepped), **options)  # type: ignore[arg-type]  # HandSource is a Source
    async with wallboard.lifespan():
        yield wallboard, source, stepped


async def test_the_kpis_are_what_reports_calls_and_the_cdr_say_for_their_window() -> None:
    sim = centre()
    async with client_on(sim) as cn:
        kpis = QueueKpis(cn, cutoff=20)
        assert await kpis.refresh()
        stop = int(sim.clock.now())
        assert (kpis.start_ts, kpis.read_ts) == (MIDNIGHT, stop)
        rows = await todays_rows(cn, stop)
        cdr = await cn.reports.cdr_list(
            "qid,qtype,ctype,dtype,cres,sec_que,tm_answ",
            start=MIDNIGHT,
            stop=stop,
            qtype="inbound",
        )
        assignments = await cn.priorities.read()
    assert kpis.queues is not None
    assert [q.queue_id for q in kpis.queues] == [row.text("qid") for row in rows]
    assert len(kpis.queues) == 3
    for queue, row in zip(kpis.queues, rows, strict=True):
        assert (queue.calls, queue.answered, queue.abandoned) == (
            row["nc_all"],
            row["nc_ans"],
            row["oc_abdn"],
        )
        assert queue.service_level == service_level([row], 20)
        # ... and the report is the CDR's: each call of the window, counted once.
        calls = [call for call in cdr if call.queue_id == queue.queue_id]
        assert queue.calls == len(calls) > 0
        assert queue.answered == sum(call.answered for call in calls)
        assert queue.abandoned == sum(call.result == "Abandoned" for call in calls)
        assert queue.service_level == pytest.approx(service_level(calls, 20))
    # The inbound queues' agents only: an outbound queue has no wait on the board.
    assert {(a, q) for a, qs in kpis.queues_of.items() for q in qs} == {
        (a.agent_id, a.queue_id) for a in assignments if a.queue_id in INBOUND
    }


@pytest.mark.parametrize(
    ("opened", "now"),
    [
        pytest.param("2023-07-14 23:00", "2023-07-15 00:30", id="summer-just-after-midnight"),
        pytest.param("2023-10-28 23:00", "2023-10-29 02:30", id="the-day-clocks-go-back"),
    ],
)
async def test_today_is_the_centres_day_in_its_zone(opened: str, now: str) -> None:
    london = ZoneInfo("Europe/London")

    def moment(text: str) -> float:
        return datetime.fromisoformat(text).replace(tzinfo=london).timestamp()

    clock = VirtualClock(moment(opened) - 3600)  # open since 22:00 yesterday, London time
    sim = Simulator(
        username="demo", password="secret", agents=15, seed=4, clock=clock, record_tz=london
    )
    clock.advance(moment(now) - clock.now())
    today = now[:10]
    async with client_on(sim, record_tz=london) as cn:
        kpis = QueueKpis(cn, cutoff=20)
        assert await kpis.refresh()
        days = await cn.reports.calls(
            ["qid", "P1D", "nc_all"],
            start=clock.now() - 86_400,
            stop=clock.now(),
            group_by=["qid", "P1D"],
            qtype="inbound",
        )
    assert kpis.start_ts == moment(f"{today} 00:00")  # the day began at midnight in London
    assert {row.text("P1D") for row in days} == {opened[:10], today}  # calls on both days
    assert kpis.queues is not None
    assert {q.queue_id: q.calls for q in kpis.queues} == {
        row.text("qid"): row.count("nc_all") for row in days if row.text("P1D") == today
    }


async def test_every_inbound_queue_is_listed_before_its_first_call_in_id_order() -> None:
    # At opening the board was empty (a queue with no call today has no report row), and
    # a queue showed up, in the report's order, with its first call.
    sim = centre(open_for=0)
    async with client_on(sim) as cn:
        kpis = QueueKpis(cn, cutoff=20)
        assert await kpis.refresh()
        assert kpis.queues == tuple(
            QueueFigures(queue_id, name, 0, 0, 0, None) for queue_id, name in INBOUND.items()
        )
        assert isinstance(sim.clock, VirtualClock)
        sim.clock.advance(60)
        assert await kpis.refresh()
        rows = await todays_rows(cn, int(sim.clock.now()))
    assert 0 < len(rows) < len(INBOUND)  # some queues have had a call, not all
    reported = {row.text("qid"): QueueFigures.from_row(row, 20) for row in rows}
    assert kpis.queues == tuple(
        reported.get(queue_id, QueueFigures(queue_id, name, 0, 0, 0, None))
        for queue_id, name in INBOUND.items()
    )


async def test_a_queue_in_the_report_is_listed_whether_the_queue_list_has_it_or_not() -> None:
    # SALES (1007) has calls but is no longer in the queue list (deleted after its calls);
    # 12 and 1008 have no call. The ids in number order; an outbound queue of a reply
    # that ignored the type asked for is not listed, nor a queue listed twice twice.
    listed = [
        {"qid": "1008", "type": "inbound", "description": "Support"},
        {"qid": "12", "type": "Inbound", "description": "Old line"},
        {"qid": "2001", "type": "outbound", "description": "Dialler"},
        {"qid": "1008", "type": "inbound", "description": "Support again"},  # listed twice
    ]
    clock = VirtualClock(MIDNIGHT + 3600)
    api = FakeAPI(
        {
            ("reporting", "calls", ""): agents_list(SALES),
            ("database", "queues", "read"): agents_list(*listed),
            ("database", "priority", "read"): agents_list(),
        },
        clock=clock,
    )
    cn, http = fake_client_for(api, clock=clock)
    async with http, cn:
        kpis = QueueKpis(cn, cutoff=20)
        assert await kpis.refresh()
    [read] = [r for r in api.requests if r.url.params.get("method") == "queues"]
    assert (read.url.params["type"], read.url.params["filter"]) == ("inbound", "!= 999")
    assert kpis.queues is not None
    assert [(q.queue_id, q.name, q.calls) for q in kpis.queues] == [
        ("12", "Old line", 0),
        ("1007", "Sales", 10),
        ("1008", "Support", 0),
    ]


async def test_a_failed_read_of_the_queues_is_a_failed_refresh() -> None:
    sim = centre()
    async with client_on(sim) as cn:
        kpis = QueueKpis(cn, cutoff=20)
        assert await kpis.refresh()
        good = kpis.queues
        sim.faults.inject("http_503", script="database", method="queues", times=50)
        assert isinstance(sim.clock, VirtualClock)
        sim.clock.advance(600)
        assert not await kpis.refresh()
    assert (kpis.queues, kpis.stale, kpis.error) == (good, True, "HTTPStatusError")


async def test_an_outbound_queue_gets_no_longest_wait() -> None:
    # An agent assigned to outbound queue 2001 (in priorities) gave it a longest wait.
    sim = centre()
    async with client_on(sim) as cn:
        kpis = QueueKpis(cn, cutoff=20)
        assert await kpis.refresh()
        assignments = await cn.priorities.read()
    assert {"2001", "2002"} < {a.queue_id for a in assignments}
    since = kpis.waiting_since((a.agent_id, "wait", 1_700_000_000) for a in assignments)
    assert since == dict.fromkeys(INBOUND, 1_700_000_000)


async def test_the_wallboard_lists_every_inbound_queue_before_a_call() -> None:
    sim = centre(open_for=0)
    async with client_on(sim) as cn, board_on(sim, cn) as (wallboard, _, _):
        async with open_events(wallboard) as stream, client_for(wallboard) as http:
            document = await next_kpis(stream)
            assert (await http.get("/kpis")).json() == document
    assert [
        [q[k] for k in ("queue_id", "name", "calls", "answered", "abandoned", "service_level")]
        for q in document["queues"]
    ] == [[queue_id, name, 0, 0, 0, None] for queue_id, name in INBOUND.items()]


async def test_the_wallboard_serves_the_kpis_with_each_queues_longest_wait() -> None:
    sim = centre()
    async with client_on(sim) as cn, board_on(sim, cn) as (wallboard, source, _):
        assignments = await cn.priorities.read()
        async with open_events(wallboard) as stream, client_for(wallboard) as http:
            first = await next_kpis(stream)
            served = (await http.get("/kpis")).json()
            assert served == first
            assert (first["cutoff"], first["start_ts"], first["stale"], first["error"]) == (
                20,
                MIDNIGHT,
                False,
                None,
            )
            kpis = wallboard.kpis
            assert kpis is not None and kpis.kpis.queues is not None
            figures = [
                [q.queue_id, q.name, q.calls, q.answered, q.abandoned, q.service_level]
                for q in kpis.kpis.queues
            ]
            assert [
                [q[k] for k in ("queue_id", "name", "calls", "answered", "abandoned")]
                + [q["service_level"]]
                for q in first["queues"]
            ] == figures

            def since(queue_id: str) -> int | None:
                """The longest wait's start as the page should see it, worked out here."""
                members = {a.agent_id for a in assignments if a.queue_id == queue_id}
                starts = [
                    agent["started_ts"]
                    for agent_id, agent in wallboard.board.agents.items()
                    if agent_id in members and agent["status"] in AVAILABLE
                ]
                return min(starts, default=None)

            assert [q["longest_wait_since"] for q in first["queues"]] == [
                since(q["queue_id"]) for q in first["queues"]
            ]
            # An agent of queue 1007 starts to wait (since long ago): its longest wait moves.
            member = next(a.agent_id for a in assignments if a.queue_id == "1007")
            source.publish(member, "wait")
            moved = await next_kpis(stream)
            by_queue = {q["queue_id"]: q for q in moved["queues"]}
            waiting = wallboard.board.agents[member]["started_ts"]
            assert waiting < sim.clock.now() - 3 * 3600  # longer than anyone else
            assert by_queue["1007"]["longest_wait_since"] == waiting
            assert [q["longest_wait_since"] for q in moved["queues"]] == [
                since(q["queue_id"]) for q in moved["queues"]
            ]
        # A stream that opens now gets the figures first.
        async with open_events(wallboard) as late:
            assert await next_kpis(late) == moved


async def test_kpis_are_worked_out_once_per_read_and_change_of_the_board() -> None:
    """Every screen polling /kpis worked the longest waits out again from the same agents
    (a pass over every agent per request); now once per change of the board or read."""
    sim = centre()
    async with client_on(sim) as cn, board_on(sim, cn) as (wallboard, source, _):
        feed = wallboard.kpis
        assert feed is not None
        worked_out = 0
        waiting_since = feed.kpis.waiting_since

        def spy(agents: Any) -> dict[str, float]:
            nonlocal worked_out
            worked_out += 1
            return waiting_since(agents)

        feed.kpis.waiting_since = spy  # type: ignore[method-assign]  # counts the passes
        assignments = await cn.priorities.read()
        member = next(a.agent_id for a in assignments if a.queue_id == "1007")
        async with open_events(wallboard) as stream, client_for(wallboard) as http:
            await next_kpis(stream)
            source.publish(member, "wait")  # a new board: the event's document is its
            sent = await next_kpis(stream)
            worked_out = 0
            served = [(await http.get("/kpis")).json() for _ in range(3)]
            assert served == [sent] * 3
            assert worked_out == 0  # the document the event sent, not worked out again
            source.publish(member, "call")  # the longest wait moves: fresh figures
            moved = await next_kpis(stream)
            assert [(await http.get("/kpis")).json() for _ in range(2)] == [moved] * 2
            assert worked_out == 1
            assert moved["queues"] != sent["queues"]
            assert isinstance(sim.clock, VirtualClock)
            sim.clock.advance(60)
            assert await feed.kpis.refresh()  # a new read, the board as it was
            read = (await http.get("/kpis")).json()
            assert (await http.get("/kpis")).json() == read
            assert worked_out == 2
            assert read["read_ts"] == int(sim.clock.now()) > moved["read_ts"]


async def test_a_failed_refresh_keeps_the_last_figures_and_marks_them_stale() -> None:
    sim = centre()
    async with client_on(sim) as cn, board_on(sim, cn) as (wallboard, _, stepped):
        async with open_events(wallboard) as stream, client_for(wallboard) as http:
            good = await next_kpis(stream)
            assert isinstance(sim.clock, VirtualClock)
            sim.faults.inject("http_503", script="reporting", times=50)
            sim.clock.advance(600)  # the centre moves on: the figures would have changed
            stepped.step()
            stale = await next_kpis(stream)
            assert stale["stale"] is True
            assert stale["error"] and "secret" not in stale["error"]
            assert (stale["queues"], stale["read_ts"]) == (good["queues"], good["read_ts"])
            assert (await http.get("/kpis")).json() == stale
            sim.faults.clear()
            stepped.step()
            fresh = await next_kpis(stream)
            assert (fresh["stale"], fresh["error"]) == (False, None)
            assert fresh["read_ts"] == int(sim.clock.now()) > good["read_ts"]
            assert fresh["queues"] != good["queues"]


async def test_before_a_good_read_there_are_no_figures_only_the_failure() -> None:
    sim = centre()
    sim.faults.inject("http_503", script="reporting", times=50)
    async with client_on(sim) as cn, board_on(sim, cn) as (wallboard, _, _):
        async with open_events(wallboard) as stream, client_for(wallboard) as http:
            document = await next_kpis(stream)
            assert document["queues"] is None  # the page shows no panel
            assert document["stale"] is True
            assert (await http.get("/kpis")).json() == document


async def test_the_refreshes_run_in_the_lifespan_and_stop_with_it() -> None:
    sim = centre()
    async with client_on(sim) as cn:
        before = len(anyio.get_running_tasks())
        async with board_on(sim, cn) as (wallboard, _, _):
            async with open_events(wallboard) as stream:
                await next_kpis(stream)
                assert len(anyio.get_running_tasks()) > before
        assert len(anyio.get_running_tasks()) == before
        assert wallboard.board.on_change is None


async def test_kpis_need_the_token_and_a_board_without_them_has_none() -> None:
    sim = centre()
    async with (
        client_on(sim) as cn,
        board_on(sim, cn, auth_token=TOKEN) as (wallboard, _, _),
        client_for(wallboard) as http,
    ):
        for headers in ({}, {"authorization": "Bearer wrong"}):
            reply = await http.get("/kpis", headers=headers)
            assert reply.status_code == 401
            assert "queues" not in reply.text
        async with open_events(wallboard, query={"access_token": TOKEN}) as stream:
            document = await next_kpis(stream)
        reply = await http.get("/kpis", headers={"authorization": f"Bearer {TOKEN}"})
        assert reply.status_code == 200
        assert reply.json() == document
        assert len(document["queues"]) == 3
    bare = Wallboard(HandSource())  # type: ignore[arg-type]  # a Source
    async with bare.lifespan(), client_for(bare) as http:
        reply = await http.get("/kpis")
        assert reply.status_code == 404  # the page then shows no panel
        source = bare.source
        async with open_events(bare) as stream:
            event_id = source.publish("1", "call")  # type: ignore[attr-defined]  # HandSource
            frame = await stream.next()
            assert frame is not None and (frame.event, frame.id) == ("agent", event_id)


async def test_queue_kpis_check_their_arguments() -> None:
    async with client_on(centre()) as cn:
        for every in (0, -1.0, math.nan, math.inf, "20", True, 10**400):
            with pytest.raises(ValueError, match="every"):
                QueueKpis(cn, every=every)  # type: ignore[arg-type]  # what a caller may pass
        # 20.7 was cut to 20, "20" read as 20: the level would count against another cutoff.
        for cutoff in (-1, 20.7, math.nan, math.inf, "20", True, None, 10**400):
            with pytest.raises(ValueError, match="cutoff"):
                QueueKpis(cn, cutoff=cutoff)  # type: ignore[arg-type]  # what a caller may pass
        unread = QueueKpis(cn)
        assert unread.queues is None  # nothing before the first read, never made up
        assert "unread" in repr(unread)


async def test_an_agent_whose_status_start_is_unknown_sets_no_longest_wait() -> None:
    # A live row without its "time" (started_ts 0, or absent from the board's JSON) made
    # its queue's longest wait begin in 1970: a wallboard showed a wait of 56 years.
    async with client_on(centre()) as cn:
        kpis = QueueKpis(cn)
        kpis.queues_of = {"1": frozenset({"q"}), "2": frozenset({"q"}), "3": frozenset({"r"})}
        since = kpis.waiting_since(
            [("1", "wait", 0), ("2", "wait", 1_700_000_000), ("3", "wait", 0)]
        )
        assert since == {"q": 1_700_000_000}  # queue r: no known wait, left out


@pytest.mark.parametrize(
    ("zone", "at", "began"),
    [
        # Clocks go forward at midnight: 00:00 never happens, the day begins at 01:00.
        ("America/Havana", "2023-03-12 12:00", "2023-03-12 01:00-04:00"),
        ("America/Santiago", "2023-09-03 12:00", "2023-09-03 01:00-03:00"),
        # Clocks go back at 01:00 to midnight: the day began at the first of two midnights.
        ("America/Havana", "2023-11-05 00:30", "2023-11-05 00:00-04:00"),
        # A day of 23 hours elsewhere: its midnight is the usual one.
        ("Europe/London", "2023-03-26 23:59", "2023-03-26 00:00+00:00"),
    ],
)
async def test_today_begins_at_the_first_moment_of_the_centres_day(
    zone: str, at: str, began: str
) -> None:
    tz = ZoneInfo(zone)
    for fold in (0, 1):  # Havana's 00:30 on 5 November happens twice: the same day
        now = datetime.fromisoformat(at).replace(tzinfo=tz, fold=fold).timestamp()
        assert midnight(now, tz) == datetime.fromisoformat(began).timestamp()
        yesterday = datetime.fromtimestamp(midnight(now, tz) - 1, tz)
        assert yesterday.date() < datetime.fromtimestamp(now, tz).date()


@pytest.mark.parametrize("zone", ["UTC", "Europe/London", "America/Havana"])
async def test_a_moment_a_rounding_short_of_midnight_is_still_the_day_before(zone: str) -> None:
    # fromtimestamp rounds to the microsecond: 23:59:59.9999996 read as the next midnight,
    # a window [midnight tomorrow, now] that ends before it begins.
    tz = ZoneInfo(zone)
    tomorrow = datetime(2023, 11, 6, tzinfo=tz).timestamp()  # Havana: after a 25-hour day
    for now in (tomorrow - 4e-7, tomorrow - 1e-6, tomorrow - 0.5):
        assert midnight(now, tz) <= int(now) < tomorrow
        assert datetime.fromtimestamp(midnight(now, tz), tz).date() == datetime(2023, 11, 5).date()
    assert midnight(tomorrow, tz) == tomorrow


class AheadClock:
    """A host's clock ``ahead`` seconds ahead of the centre's (a container without NTP)."""

    def __init__(self, centre: VirtualClock, ahead: float) -> None:
        self.centre, self.ahead = centre, ahead

    def now(self) -> float:
        return self.centre.now() + self.ahead

    async def sleep_until(self, deadline: float) -> None:
        await self.centre.sleep_until(deadline - self.ahead)


async def test_today_is_the_centres_day_when_the_hosts_clock_is_off() -> None:
    # The window was the host's: at 11:00 in the centre, a host 13 hours ahead asked for
    # tomorrow's figures (none), and one behind for yesterday's, as the centre's today.
    sim = centre()
    assert isinstance(sim.clock, VirtualClock)
    for ahead in (13 * 3600, -12 * 3600):
        async with client_on(sim, clock=AheadClock(sim.clock, ahead)) as cn:
            kpis = QueueKpis(cn, cutoff=20)
            assert await kpis.refresh()
            rows = await todays_rows(cn, int(sim.clock.now()))
        assert (kpis.start_ts, kpis.read_ts) == (MIDNIGHT, int(sim.clock.now()))
        assert kpis.queues is not None
        assert [(q.queue_id, q.calls) for q in kpis.queues] == [
            (row.text("qid"), row.count("nc_all")) for row in rows
        ]
        assert len(kpis.queues) == 3


#: A reports.calls row of every figure the KPIs ask for.
SALES = {"qid": "1007", "qnm": "Sales", "nc_all": 10, "nc_ans": 8, "oc_abdn": 2,
         "nc_ans_le": 6, "nc_ans_gt": 2, "nc_que_gt": 1}  # fmt: skip


@pytest.mark.parametrize("left_out", ["oc_abdn", "nc_all", "nc_que_gt"])
async def test_a_reply_without_a_figure_is_a_failed_read_not_a_zero(
    left_out: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A row without oc_abdn showed 0 abandoned as a good figure; one without nc_que_gt
    # was a ValueError logged as unexpected, telling the caller to ask for what it had.
    rows = [SALES]

    def calls(request: httpx.Request) -> dict[str, Any]:
        return {"success": True, "total": len(rows), "list": rows}

    clock = VirtualClock(MIDNIGHT + 3600)
    api = FakeAPI(
        {
            ("reporting", "calls", ""): calls,
            ("database", "queues", "read"): agents_list(),
            ("database", "priority", "read"): agents_list(),
        },
        clock=clock,
    )
    cn, http = fake_client_for(api, clock=clock)
    async with http, cn:
        kpis = QueueKpis(cn, cutoff=20)
        assert await kpis.refresh()
        good = kpis.queues
        rows = [{name: value for name, value in SALES.items() if name != left_out}]
        assert not await kpis.refresh()
    assert (kpis.queues, kpis.stale, kpis.error) == (good, True, "ResponseFormatError")
    [record] = [r for r in caplog.records if r.name == "contactnow_async.kpis"]
    assert (record.levelname, record.exc_info) == ("WARNING", None)
    assert f"'1007' without {left_out}" in record.getMessage()


def test_a_row_without_its_queue_id_is_refused_naming_what_it_lacks() -> None:
    # Its message read the queue id with row.text("qid"): "queue ''", and a KeyError
    # once a field a row lacks is one.
    row = ReportRow.from_record({name: SALES[name] for name in SALES if name != "qid"})
    with pytest.raises(ValueError, match=r"of queue \(no qid\) without qid$"):
        QueueFigures.from_row(row, 20)
