"""The watcher against a hostile centre (issue 12): no hang, no crash, no invented event.

Every test here failed on the code before its fix (hung, raised, or emitted what
it must not). The virtual clock jumps, so a test takes milliseconds; the
``fail_after`` guards only bound a hang and are never reached when the code works.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import anyio
import httpx
import pytest

from contactnow_async import (
    AgentEvent,
    AgentWatcher,
    HealthEvent,
    LiveAgent,
    LiveSnapshot,
    ResponseFormatError,
    StatusLogEntry,
)
from tests._helpers import FakeAPI, client_for

from ._hostile import HANG_GUARD, T0, Centre, client_of, live_row, log_row
from ._support import TickingClock, replayed, until

pytestmark = pytest.mark.anyio


def state(agent: LiveAgent | None) -> tuple[str, str, int] | None:
    return None if agent is None else (agent.status, agent.sub_status, agent.started_ts)


# --- entering never deadlocks; block loses nothing --------------------------------------


@pytest.mark.parametrize(("agents", "buffer"), [(11, 10), (400, 1)])
async def test_entering_never_deadlocks_on_a_centre_larger_than_the_buffer(
    agents: int, buffer: int
) -> None:
    centre = Centre(lambda n: [live_row(uid) for uid in range(agents)])
    async with client_of(centre) as cn:
        with anyio.fail_after(HANG_GUARD):
            async with cn.watch_agents(interval=1.0, buffer=buffer) as stream:
                got = [await stream.__anext__() for _ in range(agents)]
                assert stream.dropped == 0
    assert [(e.kind, e.agent_id) for e in got] == [("appeared", str(u)) for u in range(agents)]


async def test_a_first_log_read_longer_than_the_buffer_does_not_deadlock() -> None:
    statuses = ["wait", "call", "wrap"]
    log = [log_row(uid, "1", statuses[uid % 3], T0 + uid) for uid in range(1, 31)]
    centre = Centre(
        lambda n: [live_row(1, "wait", time=T0 + 30)],
        lambda n, params: [row for row in log if int(row["uid"]) >= int(params["uid"])],
    )
    async with client_of(centre) as cn:
        with anyio.fail_after(HANG_GUARD):
            async with cn.watch_agents(
                interval=1.0, backfill=True, since_log_id=0, buffer=5
            ) as stream:
                got = [await stream.__anext__() for _ in range(31)]
    assert got[0].kind == "appeared"
    assert [e.log_id for e in got[1:]] == list(range(1, 31))


async def test_a_block_subscriber_that_joins_after_entering_loses_nothing() -> None:
    # The README's pattern: subscribe inside ``async with AgentWatcher(...)``.
    def live(n: int) -> list[dict[str, Any]]:
        return [live_row(u, "call" if u == 7 and n >= 3 else "wait") for u in range(50)]

    centre = Centre(live)
    async with client_of(centre) as cn:
        with anyio.fail_after(HANG_GUARD):
            async with AgentWatcher(cn, interval=1.0) as watcher:
                subscription = watcher.subscribe(buffer=5)
                got = [await subscription.__anext__() for _ in range(51)]
                assert subscription.dropped == 0
    assert [(e.kind, e.agent_id) for e in got[:50]] == [("appeared", str(u)) for u in range(50)]
    assert (got[50].kind, got[50].agent_id, got[50].status) == ("changed", "7", "call")


# --- a time the datetime cannot hold is a record error ----------------------------------

OUT_OF_RANGE = [T0 * 1000, str(T0 * 1000), 10**15, -(10**15), -1, 253_402_300_800]


@pytest.mark.parametrize("when", OUT_OF_RANGE)
def test_an_out_of_range_unix_time_is_refused_at_model_build(when: object) -> None:
    with pytest.raises(ValueError, match="time"):
        LiveAgent.from_record(live_row(1, time=when))
    with pytest.raises(ValueError, match="uts"):
        StatusLogEntry.from_record(log_row(1, "1", "wait", when))


def test_the_edges_of_the_unix_time_range_are_accepted() -> None:
    assert LiveAgent.from_record(live_row(1, time=0)).started_at.year == 1970
    latest = LiveAgent.from_record(live_row(1, time=253_402_300_799))
    assert latest.started_at.year == 9999
    assert LiveAgent.from_record(live_row(1, time=None)).started_ts == 0


@pytest.mark.parametrize("when", [T0 * 1000, 10**15])
async def test_live_and_status_log_reads_raise_a_record_error(when: int) -> None:
    centre = Centre(
        lambda n: [live_row(1), live_row(2, time=when)],
        lambda n, params: [log_row(1, "2", "wait", when)],
    )
    async with client_of(centre) as cn:
        with pytest.raises(ResponseFormatError, match="time"):
            await cn.live.agents()
        with pytest.raises(ResponseFormatError, match="uts"):
            await cn.status_log.read(uid=1)


@pytest.mark.parametrize("when", [T0 * 1000, str(T0 * 1000), 10**15, -(10**15)])
async def test_a_live_time_out_of_range_fails_the_poll_and_says_so(when: object) -> None:
    def live(n: int) -> list[dict[str, Any]]:
        # Polls 2 and 3 send agent 2's time in milliseconds (or worse); from poll 4
        # agent 1 really changes.
        return [
            live_row(1, "call" if n >= 4 else "wait", time=T0 + 60 if n >= 4 else T0),
            live_row(2, time=when if n in (2, 3) else T0),
        ]

    seen: list[AgentEvent | HealthEvent] = []
    async with client_of(Centre(live)) as cn:
        with anyio.fail_after(HANG_GUARD):
            async with cn.watch_agents(interval=1.0, include_health=True) as stream:
                async for item in stream:
                    seen.append(item)
                    if isinstance(item, AgentEvent) and item.kind == "changed":
                        break
    health = [item.health for item in seen if isinstance(item, HealthEvent)]
    assert [h.consecutive_failures for h in health] == [1, 2, 0]
    assert health[0].last_error is not None and "ResponseFormatError" in health[0].last_error
    changed = [item for item in seen if isinstance(item, AgentEvent) and item.kind == "changed"]
    assert [(e.agent_id, e.status) for e in changed] == [("1", "call")]


#: A live row's uid as a server may leave it out: missing, null, empty, blank.
NO_UID: list[object] = ["missing", None, "", " "]


def without_uid(row: dict[str, Any], uid: object) -> dict[str, Any]:
    """``row`` with its uid ``uid`` (``"missing"``: no uid key at all)."""
    if uid == "missing":
        del row["uid"]
    else:
        row["uid"] = uid
    return row


async def watched(live: Any, *, polls: int, **options: Any) -> list[AgentEvent | HealthEvent]:
    """What a subscriber got from ``polls`` polls of ``live`` (health events too)."""
    clock = TickingClock(T0 + 100)
    async with client_of(Centre(live), clock=clock) as cn:
        watcher = AgentWatcher(cn, interval=1.0, **options)
        feed = watcher.subscribe(include_health=True, overflow="drop_oldest")
        async with watcher:
            await until(clock, lambda: watcher.health.polls >= polls, patience=HANG_GUARD)
        return [item async for item in feed]


@pytest.mark.parametrize("uid", NO_UID)
async def test_a_live_row_without_its_uid_fails_the_poll_and_says_so(uid: object) -> None:
    """Not an agent "" that appears while agent 2 disappears, and back: a failed poll (a
    health event naming the field) that emits nothing, as any malformed reply."""

    def live(n: int) -> list[dict[str, Any]]:
        # Polls 2 and 3 send agent 2's row without its uid; on poll 4 agent 1 changes.
        two = live_row(2) if n not in (2, 3) else without_uid(live_row(2), uid)
        return [live_row(1, "call" if n >= 4 else "wait", time=T0 + 60 if n >= 4 else T0), two]

    seen = await watched(live, polls=5)
    health = [item.health for item in seen if isinstance(item, HealthEvent)]
    assert [h.consecutive_failures for h in health] == [1, 2, 0]
    assert health[0].last_error is not None
    assert "ResponseFormatError" in health[0].last_error and "'uid'" in health[0].last_error
    events = [(e.kind, e.agent_id) for e in seen if isinstance(e, AgentEvent)]
    assert events == [("appeared", "1"), ("appeared", "2"), ("changed", "1")]


@pytest.mark.parametrize("uid", NO_UID)
async def test_a_first_poll_with_a_row_without_its_uid_fails_without_initial_events(
    uid: object,
) -> None:
    """Without initial events the first poll builds no agent: the row without its uid
    failed no poll then, and every later one, diffed against that poll's snapshot."""

    def live(n: int) -> list[dict[str, Any]]:
        # Poll 1 sends agent 2's row without its uid; from poll 3 agent 1 is on a call.
        two = without_uid(live_row(2), uid) if n == 1 else live_row(2)
        return [live_row(1, "call" if n >= 3 else "wait", time=T0 + 60 if n >= 3 else T0), two]

    seen = await watched(live, polls=5, initial_events=False)
    health = [item.health.consecutive_failures for item in seen if isinstance(item, HealthEvent)]
    assert health == [1, 0]
    events = [(e.kind, e.agent_id, e.status) for e in seen if isinstance(e, AgentEvent)]
    assert events == [("changed", "1", "call")]


@pytest.mark.parametrize("then", ["changes", "leaves"])
async def test_an_unreadable_row_kept_while_its_state_stayed_fails_no_later_poll(
    then: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Poll 2 sends agent 1's state unchanged beside a server time no model can hold: no
    change, so no model is made, and the row became the baseline. When agent 1 then
    changed (or left), every poll failed on that row for ever, whatever the server sent."""

    def live(n: int) -> list[dict[str, Any]]:
        one = live_row(1)
        if n == 2:
            one["srvtime"] = str(10**15)
        elif n >= 3:
            one = live_row(1, "call", time=T0 + 60)
        return [one, live_row(2)] if then == "changes" or n < 3 else [live_row(2)]

    with caplog.at_level(logging.WARNING, logger="contactnow_async.watch"):
        seen = await watched(live, polls=5)
    assert [item for item in seen if isinstance(item, HealthEvent)] == []  # no poll failed
    events = [(e.kind, e.agent_id, e.status) for e in seen if isinstance(e, AgentEvent)]
    # Its state before is not known: the agent appears in its new one (a log read after
    # a restart does the same); an agent never known to leave is not said to.
    later = [("appeared", "1", "call")] if then == "changes" else []
    assert events == [("appeared", "1", "wait"), ("appeared", "2", "wait"), *later]
    assert "agent '1''s previous row could not be read" in caplog.text


async def test_a_status_log_time_out_of_range_fails_the_poll_and_says_so() -> None:
    def log(n: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
        return [log_row(1, "1", "wait", T0 * 1000 if n == 1 else T0)]

    seen: list[AgentEvent | HealthEvent] = []
    async with client_of(Centre(lambda n: [live_row(1)], log)) as cn:
        with anyio.fail_after(HANG_GUARD):
            async with cn.watch_agents(
                interval=1.0, include_health=True, backfill=True, since_log_id=0
            ) as stream:
                async for item in stream:
                    seen.append(item)
                    if isinstance(item, AgentEvent) and item.log_id == 1:
                        break
    health = [item.health.consecutive_failures for item in seen if isinstance(item, HealthEvent)]
    assert health == [1, 0]


# --- the same state in another wire form is no change -----------------------------------

# One state (wait, no sub-status, since T0) as a server may spell it from one reply to the next.
WIRE_FORMS: list[tuple[object, object]] = [
    (str(T0), ""),
    (T0, None),
    (f"{T0}.0", ""),
    (float(T0), None),
]


async def test_a_state_in_another_wire_form_emits_no_change() -> None:
    def live(n: int) -> list[dict[str, Any]]:
        rows = []
        for uid in range(4):
            time, code = WIRE_FORMS[(n + uid) % len(WIRE_FORMS)]
            if uid == 1 and n >= 12:  # the one real change, after 11 polls of forms
                rows.append(live_row(uid, "call", time=T0 + 50))
            else:
                rows.append(live_row(uid, "wait", time=time, code=code))
        return rows

    changed: list[AgentEvent] = []
    async with client_of(Centre(live)) as cn:
        with anyio.fail_after(HANG_GUARD):
            async with cn.watch_agents(interval=1.0) as stream:
                async for event in stream:
                    if event.kind == "changed":
                        changed.append(event)
                        if event.status == "call":
                            break
    assert [(e.agent_id, state(e.before), state(e.after)) for e in changed] == [
        ("1", ("wait", "", T0), ("call", "", T0 + 50))
    ]


async def test_a_subscriber_joining_while_a_poll_waits_on_a_block_one_gets_changes_once() -> None:
    # Poll 2 changes both agents; a block subscriber with room for one change holds the
    # poller there, and a wallboard joins meanwhile.
    def live(n: int) -> list[dict[str, Any]]:
        status = "wait" if n == 1 else "call"
        return [live_row(uid, status, time=T0 + min(n, 2)) for uid in (1, 2)]

    async with client_of(Centre(live)) as cn:
        watcher = AgentWatcher(cn, interval=1.0)
        slow = watcher.subscribe(buffer=1)
        async with watcher:
            with anyio.fail_after(HANG_GUARD):
                # Its two appearances, then poll 2's first change: the poller waits to
                # hand it the second.
                for _ in range(3):
                    await slow.__anext__()
                late = watcher.subscribe(overflow="drop_oldest")
                await slow.__anext__()  # poll 2 goes on
        got = [(e.agent_id, state(e.before), state(e.after)) async for e in late]
    # The picture it starts with, then the changes after it: none it already shows.
    assert replayed(got) == {"1": ("call", "", T0 + 2), "2": ("call", "", T0 + 2)}


# --- backfill: each log row exactly once ------------------------------------------------


async def test_backfill_drops_duplicate_and_backward_uids_and_counts_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rows = {uid: log_row(uid, "1", status, T0 + uid)
            for uid, status in [(1, "wait"), (2, "call"), (3, "wrap"), (4, "wait")]}  # fmt: skip
    # The first reply has uid 2 twice; the second goes back to uid 2 before giving 4.
    replies = [[1, 2, 2, 3], [2, 4]]

    def log(n: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
        return [rows[uid] for uid in replies[n - 1]] if n <= len(replies) else []

    got: list[AgentEvent] = []
    caplog.set_level(logging.WARNING, logger="contactnow_async.watch")
    async with client_of(Centre(lambda n: [live_row(1, "wait", time=T0 + 4)], log)) as cn:
        with anyio.fail_after(HANG_GUARD):
            async with cn.watch_agents(interval=1.0, backfill=True, since_log_id=0) as stream:
                async for event in stream:
                    got.append(event)
                    if event.log_id == 4:
                        break
                health = stream.health
    assert [e.log_id for e in got if e.source == "status_log"] == [1, 2, 3, 4]
    assert len({e.id for e in got}) == len(got)
    assert health.log_rows_dropped == 2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("status_log" in r.getMessage() for r in warnings)


async def test_a_live_row_no_model_holds_fails_the_log_read_without_moving_the_cursor() -> None:
    # Agent 1 stays in one state, so the diff never builds its row; on polls 2 and 3 that
    # row's srvtime is out of range, while the log's next row is agent 1's.
    def live(n: int) -> list[dict[str, Any]]:
        one = live_row(1, "wait", time=T0 + 20)
        if n in (2, 3):
            one["srvtime"] = str(10**15)
        return [one, live_row(2, "call", time=T0 + 10)]

    rows = [log_row(1, "2", "call", T0 + 10), log_row(2, "1", "wait", T0 + 20)]

    def log(n: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
        return [row for row in rows[:n] if int(row["uid"]) >= int(params["uid"])]

    clock = TickingClock(T0 + 100)
    async with client_of(Centre(live, log), clock=clock) as cn:
        watcher = AgentWatcher(cn, interval=1.0, backfill=True, since_log_id=0, log_every=1)
        feed = watcher.subscribe(include_health=True, overflow="drop_oldest")
        async with watcher:
            await until(clock, lambda: watcher.health.polls >= 5, patience=HANG_GUARD)
        seen = [item async for item in feed]
    logged = [item for item in seen if isinstance(item, AgentEvent) and item.source == "status_log"]
    assert [(e.log_id, e.agent_id, e.status) for e in logged] == [
        (1, "2", "call"),
        (2, "1", "wait"),  # read again after the failed reads, not skipped
    ]
    health = [item.health.consecutive_failures for item in seen if isinstance(item, HealthEvent)]
    assert health == [1, 2, 0]  # the read failed while the live row could not be built


async def test_a_late_subscriber_in_backfill_mode_starts_where_the_log_events_are() -> None:
    # The live status runs ahead of a lagging log: agent 1 shows call, then wrap, while
    # the log still ends at its wait. A subscriber joining then was shown wrap (the
    # snapshot), then wait -> call -> wrap as the log caught up: out of order.
    def live(n: int) -> list[dict[str, Any]]:
        return [live_row(1, *[("wait", T0), ("call", T0 + 5), ("wrap", T0 + 8)][min(n, 3) - 1])]

    rows = [log_row(1, "1", "wait", T0), log_row(2, "1", "call", T0 + 5),
            log_row(3, "1", "wrap", T0 + 8)]  # fmt: skip

    def log(n: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
        written = rows if centre.live_reads >= 4 else rows[:1]
        return [row for row in written if int(row["uid"]) >= int(params["uid"])]

    centre = Centre(live, log)
    clock = TickingClock(T0 + 100)
    async with client_of(centre, clock=clock) as cn:
        async with AgentWatcher(cn, interval=1.0, backfill=True, since_log_id=0) as watcher:
            await until(clock, lambda: centre.live_reads >= 3, patience=HANG_GUARD)
            late = watcher.subscribe()
            await until(clock, lambda: watcher.log_id == 3, patience=HANG_GUARD)
        got = [(e.kind, state(e.before), state(e.after)) async for e in late]
    assert got == [
        ("appeared", None, ("wait", "", T0)),
        ("changed", ("wait", "", T0), ("call", "", T0 + 5)),
        ("changed", ("call", "", T0 + 5), ("wrap", "", T0 + 8)),
    ]


async def over_shifting_pages(
    online: list[list[str]], page_size: int
) -> tuple[list[tuple[str, str]], LiveSnapshot | None]:
    """The (kind, agent id) of each event of a watcher reading pages of ``page_size`` for
    3 polls, the agents online at the n-th page read being ``online[n]`` (the last one
    after), and its last snapshot."""
    pages: list[list[str]] = []

    def ajax(request: httpx.Request) -> dict[str, Any]:
        agents = online[min(len(pages), len(online) - 1)]
        start, limit = int(request.url.params["start"]), int(request.url.params["limit"])
        pages.append(agents[start : start + limit])
        return {"success": True, "total": len(agents),
                "list": [live_row(uid) for uid in pages[-1]]}  # fmt: skip

    api = FakeAPI({("ajax", "agents", "read"): ajax})
    clock = TickingClock(T0 + 100)
    cn, http = client_for(api, clock=clock, max_retries=0)
    async with http, cn, AgentWatcher(cn, interval=1.0, page_size=page_size) as watcher:
        feed = watcher.subscribe(overflow="drop_oldest")
        await until(clock, lambda: watcher.health.polls >= 3, patience=HANG_GUARD)
        last = watcher.snapshot
    return [(e.kind, e.agent_id) async for e in feed], last


async def test_a_paged_snapshot_calls_nobody_gone_when_the_list_shifts_between_pages() -> None:
    # Pages of 2. Between poll 2's pages agent 1 logs out and agent 5 logs in: the
    # total stays 4, agent 3 slides onto page one after it was read, and the pages
    # add up to 4 agents. Agent 3 was called gone, then appeared again.
    got, _ = await over_shifting_pages([["1", "2", "3", "4"]] * 3 + [["2", "3", "4", "5"]], 2)
    assert ("disappeared", "3") not in got
    assert [e for e in got if e[1] == "3"] == [("appeared", "3")]


async def test_pages_of_one_row_call_nobody_gone_when_the_list_shifts_between_pages() -> None:
    # Pages of 1 were read without the overlap that tells a list that moved: between
    # poll 2's first and second page agent 1 logs out and agent 5 logs in, agent 2
    # slides onto the page already read, and the pages add up to the total. Agent 2 was
    # called gone, then appeared again.
    got, last = await over_shifting_pages([["1", "2", "3", "4"]] * 5 + [["2", "3", "4", "5"]], 1)
    assert last is not None and last.complete  # the pages of a list that stayed still add up
    assert [e for e in got if e[1] == "2"] == [("appeared", "2")]
    assert ("disappeared", "1") in got and ("appeared", "5") in got


async def test_a_server_with_pages_of_one_row_is_still_read_to_the_end() -> None:
    # A server that sends one row a page whatever the limit asked: the page that would
    # overlap the last one is that row alone, so the rest is read without overlap.
    agents = [str(uid) for uid in range(1, 6)]
    asked: list[tuple[int, int]] = []

    def ajax(request: httpx.Request) -> dict[str, Any]:
        start = int(request.url.params.get("start", 0))
        asked.append((start, int(request.url.params.get("limit", 0))))
        return {"success": True, "total": len(agents), "list": [live_row(agents[start])]}

    api = FakeAPI({("ajax", "agents", "read"): ajax})
    cn, http = client_for(api, clock=TickingClock(T0 + 100), max_retries=0)
    async with http, cn:
        snapshot = await cn.live.snapshot(page_size=1)
    assert list(snapshot) == agents and snapshot.complete
    assert asked == [(0, 1), (0, 2), (1, 1), (2, 1), (3, 1), (4, 1)]


# --- paging is bounded --------------------------------------------------------------------


def endless(n: int) -> list[dict[str, Any]]:
    """A page of one agent never seen before, whatever ``start`` asked for."""
    return [live_row(n)]


async def test_a_centre_claiming_a_billion_agents_costs_a_bounded_number_of_pages() -> None:
    centre = Centre(endless, total=10**9)
    async with client_of(centre) as cn:
        snapshot = await cn.live.snapshot()
        assert centre.live_reads == snapshot.pages == 100
        assert not snapshot.complete
        centre.live_reads = 0
        snapshot = await cn.live.snapshot(max_pages=5)
        assert centre.live_reads == snapshot.pages == len(snapshot) == 5
        assert len(await cn.live.agents(max_pages=3)) == 3
        with pytest.raises(ValueError, match="max_pages"):
            await cn.live.snapshot(max_pages=0)


async def test_the_watcher_takes_max_pages_and_calls_nobody_gone() -> None:
    centre = Centre(endless, total=10**9)
    async with client_of(centre) as cn:
        with anyio.fail_after(HANG_GUARD):
            async with cn.watch_agents(interval=1.0, max_pages=4) as stream:
                got = [await stream.__anext__() for _ in range(8)]
                assert stream.snapshot.pages == 4 and not stream.snapshot.complete
    # Every poll reads 4 new agents; the ones it did not read again are not gone.
    assert {e.kind for e in got} == {"appeared"}
