"""The backfill cursor: when a poll reads the status log, and which rows become events."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

import anyio
import pytest

from contactnow_async import (
    AgentEvent,
    AgentWatcher,
    BadArgumentError,
    HealthEvent,
    LiveAgent,
    LiveSnapshot,
    LogPositionError,
    StatusLogEntry,
)
from contactnow_async.simulator import Dwell, FaultKind, Simulator, VirtualClock
from contactnow_async.watch._backfill import LogCursor

from ._hostile import HANG_GUARD, T0, Centre, client_of, live_row, log_row
from ._support import (
    SkewedClock,
    TickingClock,
    client_on,
    collect,
    event_rows,
    log_rows,
    replayed,
    until,
)

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.mark.anyio
async def test_the_cursor_says_when_a_poll_needs_a_log_read() -> None:
    log = [log_row(1, "1", "wait", T0)]

    def read(n: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
        return [row for row in log if int(row["uid"]) >= int(params["uid"])]

    async with client_of(Centre(lambda n: [live_row(1)], read)) as cn:
        cursor = LogCursor(cn, since_log_id=0, log_every=3)
        assert cursor.due(1, changed=False), "no read yet"
        events = await cursor.read(await cn.live.snapshot(), poll=1, observed_at=NOW)
        assert [e.log_id for e in events] == [1]
        assert not cursor.due(2, changed=False)
        assert cursor.due(2, changed=True), "the poll saw a change"
        assert not cursor.due(3, changed=False)
        assert cursor.due(4, changed=False), "every log_every polls"
        # A state whose row the log has not written yet: read on every poll until it has.
        moved = LiveSnapshot({"1": live_row(1, "call", time=T0 + 5)})
        assert await cursor.read(moved, poll=4, observed_at=NOW) == []
        assert cursor.due(5, changed=False)
        log.append(log_row(2, "1", "call", T0 + 5))
        assert [e.log_id for e in await cursor.read(moved, poll=5, observed_at=NOW)] == [2]
        assert not cursor.due(6, changed=False)


@pytest.mark.anyio
async def test_a_resumed_cursor_takes_a_state_older_than_its_position_as_explained() -> None:
    # Resumed after uid 5, agent 1 waiting since uid 3: no row of that state comes after
    # the position, so it never counted as explained and every poll read the status log
    # again (for as long as agent 1 stayed), whatever log_every said.
    log = [log_row(3, "1", "wait", T0), log_row(6, "2", "call", T0 + 10)]

    def read(n: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
        return [row for row in log if int(row["uid"]) >= int(params["uid"])]

    live = [live_row(1, "wait", time=T0), live_row(2, "call", time=T0 + 10)]
    async with client_of(Centre(lambda n: live, read)) as cn:
        cursor = LogCursor(cn, since_log_id=5, log_every=3)
        events = await cursor.read(await cn.live.snapshot(), poll=1, observed_at=NOW)
        assert [e.log_id for e in events] == [6]
        assert not cursor.due(2, changed=False), "explained: the next read in 3 polls"
        assert cursor.due(4, changed=False)
        # A state after the first snapshot's, its row not written yet: read until it is.
        moved = LiveSnapshot({"1": live_row(1, "call", time=T0 + 20), "2": live[1]})
        assert await cursor.read(moved, poll=4, observed_at=NOW) == []
        assert cursor.due(5, changed=False)
        log.append(log_row(7, "1", "call", T0 + 20))
        assert [e.log_id for e in await cursor.read(moved, poll=5, observed_at=NOW)] == [7]
        assert not cursor.due(6, changed=False)


@pytest.mark.anyio
@pytest.mark.parametrize("time", [f"{T0}.0", float(T0), f" {T0}"])
async def test_a_live_time_in_another_wire_form_is_explained_by_its_log_row(time: object) -> None:
    # The cursor compared the live row's time as text with the log's: "1700000000.0"
    # (PHP's whole float) never matched, so every poll read the status log again,
    # whatever log_every said.
    log = [log_row(1, "1", "wait", T0)]

    def read(n: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
        return [row for row in log if int(row["uid"]) >= int(params["uid"])]

    async with client_of(Centre(lambda n: [live_row(1, time=time)], read)) as cn:
        cursor = LogCursor(cn, since_log_id=0, log_every=3)
        events = await cursor.read(await cn.live.snapshot(), poll=1, observed_at=NOW)
        assert [e.log_id for e in events] == [1]
        assert not cursor.due(2, changed=False), "explained: the next read in 3 polls"


def test_log_every_must_be_positive() -> None:
    with pytest.raises(ValueError, match="log_every"):
        LogCursor(None, since_log_id=0, log_every=0)  # type: ignore[arg-type]  # refused before use


def test_each_uid_becomes_one_event_and_a_row_going_back_is_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cursor = LogCursor(None, since_log_id=10)  # type: ignore[arg-type]  # events() reads nothing
    rows = [
        StatusLogEntry.from_record(log_row(uid, "1", status, T0 + uid))
        for uid, status in [(12, "call"), (11, "wait"), (12, "call"), (9, "wrap")]
    ]
    events = cursor.events(rows, None, observed_at=NOW)
    assert [(e.log_id, e.id) for e in events] == [(11, "log:11"), (12, "log:12")]
    assert cursor.dropped == 2 and cursor.log_id == 12
    assert "1 row(s) at or before uid 10 and 1 uid(s) twice" in caplog.text
    assert cursor.events(rows, None, observed_at=NOW) == []  # all of them behind the cursor now
    assert cursor.dropped == 6


@pytest.mark.parametrize("skew", [-3600.0, 3600.0], ids=["host-behind", "host-ahead"])
def test_the_grace_for_a_shown_states_own_row_runs_on_the_hosts_clock_from_the_start(
    skew: float,
) -> None:
    # The first snapshot (server time T0 + 100) shows agent 1 in a call since T0 + 100.
    # A row of agent 1 from that second in another state, before the call's own row
    # showed up, holds the cursor (history or news?) for `grace` seconds. They were
    # counted from the snapshot's server time on the host's clock: a host an hour behind
    # held every agent's events for an hour and five minutes, an hour ahead not at all.
    clock = VirtualClock(T0 + 100 + skew)
    cursor = LogCursor(SimpleNamespace(clock=clock), since_log_id=None, grace=300.0)  # type: ignore[arg-type]  # only its clock is read
    cursor.adopt_snapshot(LiveSnapshot({"1": live_row(1, "call", T0 + 100)}))
    rows = [
        StatusLogEntry.from_record(log_row(uid, agent, "wait", uts))
        for uid, agent, uts in [(1, "1", T0 + 100), (2, "2", T0 + 101)]
    ]
    assert cursor.events(rows, None, observed_at=NOW) == []  # held: the call's row may come
    clock.advance(299)
    assert cursor.events(rows, None, observed_at=NOW) == []
    clock.advance(2)
    events = cursor.events(rows, None, observed_at=NOW)
    assert [(event.log_id, event.agent_id) for event in events] == [(1, "1"), (2, "2")]


@pytest.mark.anyio
async def test_a_start_in_a_quiet_centre_loses_no_row_to_a_long_log_outage() -> None:
    # Nothing in the log for the last log_lookback when the watcher starts: the first read
    # finds no row and gives the cursor no uid. A move then shows in the next poll, but the
    # log reads fail for longer than log_lookback: the read that succeeds at last must
    # still start at the first snapshot, not log_lookback before its own poll.
    clock = TickingClock()
    sim = Simulator(username="watch", password="secret", clock=clock, agents=5, seed=4,
                    dwell=Dwell.uniform(1e9))  # fmt: skip
    clock.advance(1_000)  # the scenario's first rows are long past
    start = int(sim.now())
    waiting = next(str(row["uid"]) for row in sim.live_agents() if row["status"] == "wait")
    events: list[AgentEvent] = []
    async with client_on(sim, max_retries=0) as cn, anyio.create_task_group() as tg:
        async with cn.watch_agents(interval=1.0, backfill=True) as stream:
            tg.start_soon(collect, stream.subscription, events)
            assert stream.log_id is None  # no row to start from
            sim.faults.inject(FaultKind.HTTP_500, script="database", times=12)
            await cn.control.pause(waiting)
            await until(sim.clock, lambda: stream.health.failures >= 12 and stream.health.healthy)
            assert sim.now() > start + 120  # the outage outlasted log_lookback
            await cn.control.unpause(waiting)
            # The outage's length follows the backoff's jitter: wait from the unpause on.
            unpaused_at = sim.now()
            await until(
                sim.clock, lambda: len(event_rows(events)) >= 2 or sim.now() > unpaused_at + 300
            )
    moves = [row for row in log_rows(sim) if row[4] >= start]
    assert [(r[1], r[2]) for r in moves] == [(waiting, "break"), (waiting, "wait")]
    assert event_rows(events) == moves


@pytest.mark.anyio
@pytest.mark.parametrize("skew", [30.0, -30.0], ids=["host-ahead", "host-behind"])
async def test_a_start_in_an_empty_centre_draws_the_line_on_the_centres_clock(
    skew: float,
) -> None:
    # Nobody logged in at the first poll: no live row gave the server's time, and the
    # start line was the host's clock. 30 s ahead, the login right after the start was
    # taken for history and never delivered; 30 s behind, the logouts 10 s before the
    # start were delivered as news. The token's clock_offset gives the centre's time.
    clock = TickingClock()
    sim = Simulator(username="watch", password="secret", clock=clock, agents=4, seed=4,
                    dwell=Dwell.uniform(1e9))  # fmt: skip
    async with client_on(sim, max_retries=0) as admin:
        for agent in sim.agent_ids:  # everyone out: history
            for move in (admin.control.hangup, admin.control.logout):
                with contextlib.suppress(BadArgumentError):
                    await move(agent)
    assert all(row["status"] == "offline" for row in sim.live_agents())
    clock.advance(10)
    events: list[AgentEvent] = []
    async with (
        client_on(sim, clock=SkewedClock(clock, skew), max_retries=0) as cn,
        anyio.create_task_group() as tg,
    ):
        async with cn.watch_agents(interval=1.0, backfill=True) as stream:
            tg.start_soon(collect, stream.subscription, events)
            assert len(stream.snapshot) == 0
            clock.advance(1)
            await cn.control.agent_dial(sim.agent_ids[0])
            login = log_rows(sim)[-1]
            assert login[1:4] == (sim.agent_ids[0], "wait", "")
            await until(clock, lambda: (stream.log_id or 0) >= login[0], patience=HANG_GUARD)
    assert event_rows(events) == [login]


@pytest.mark.anyio
async def test_a_first_poll_whose_log_read_failed_leaves_no_state_behind() -> None:
    # The first poll's log read fails: the watcher starts at the next good poll. Agent 1
    # logged out in between, so it is not in that snapshot: when it logs in again it
    # appears, as it would had the first poll not failed; it did not wait all along.
    def live(n: int) -> list[dict[str, Any]]:
        if n == 1:
            return [live_row(1, time=T0), live_row(2, time=T0)]
        back = [live_row(1, time=T0 + 110)] if n >= 3 else []
        return [*back, live_row(2, time=T0)]

    def log(n: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
        if n == 1:
            return [log_row(1, "1", "wait", 10**20)]  # a record error: the read fails
        rows = [log_row(1, "1", "wait", T0), log_row(2, "2", "wait", T0),
                log_row(3, "1", "offline", T0 + 99)]  # fmt: skip
        if centre.live_reads >= 3:
            rows.append(log_row(4, "1", "wait", T0 + 110))
        if "uid" in params:
            return [row for row in rows if int(row["uid"]) >= int(params["uid"])]
        return [row for row in rows if row["uts"] >= int(params["tstart"])]

    centre = Centre(live, log)
    events: list[AgentEvent] = []
    clock = TickingClock(T0 + 99)
    async with client_of(centre, clock=clock) as cn, anyio.create_task_group() as tg:
        async with cn.watch_agents(interval=1.0, backfill=True) as stream:
            tg.start_soon(collect, stream.subscription, events)
            assert stream.health.failures == 1
            await until(clock, lambda: stream.log_id == 4)
    (event,) = [e for e in events if e.source == "status_log"]
    assert event.after is not None and event.after.status == "wait"
    assert (event.kind, event.before, event.previous_duration) == ("appeared", None, None)


#: The simulator reads no id of more than 20 digits ("Bad argument: uid"): the read
#: after this position asks for uid 10**20, 21 digits.
REFUSED = 10**20 - 1


@pytest.mark.anyio
async def test_a_since_log_id_the_status_log_refuses_ends_the_stream_with_a_typed_error() -> None:
    # The watcher reported a failed poll every interval, for ever: each read after the
    # position was refused again, and nothing said the position itself was the fault.
    sim = Simulator(username="watch", password="secret", clock=TickingClock(), agents=5, seed=4)
    failed_polls = 0

    async def consume() -> BadArgumentError | None:
        nonlocal failed_polls
        async with (
            client_on(sim) as cn,
            cn.watch_agents(
                interval=1.0, backfill=True, since_log_id=REFUSED, include_health=True
            ) as stream,
        ):
            try:
                async for event in stream:
                    if isinstance(event, HealthEvent) and not event.health.healthy:
                        failed_polls += 1
                        if failed_polls == 3:
                            return None
            except BadArgumentError as exc:
                assert stream.log_id == REFUSED  # where it was: nothing handed out after it
                return exc
        raise AssertionError("the stream ended without an error")

    error = await consume()
    assert failed_polls == 0  # no poll reported as failed: the stream ends, once
    assert type(error) is LogPositionError
    assert (error.argument, error.log_id, error.error) == ("uid", REFUSED, "Bad argument: uid")
    assert f"after log id {REFUSED}" in str(error)


@pytest.mark.anyio
async def test_a_since_log_id_ahead_of_the_log_waits_quietly_for_its_next_rows() -> None:
    # uid >= N is the documented filter: a position the log has not reached yet is
    # "no row yet", not a fault. Every row after it is handed out once it is written.
    clock = TickingClock()
    sim = Simulator(username="watch", password="secret", clock=clock, agents=10, seed=4,
                    dwell=Dwell.uniform(1.0))  # fmt: skip
    since = int(sim.status_log(visible_only=False)[-1]["uid"]) + 30
    events: list[AgentEvent] = []
    async with client_on(sim) as cn, anyio.create_task_group() as tg:
        async with cn.watch_agents(
            interval=1.0, backfill=True, since_log_id=since, buffer=1_000_000
        ) as stream:
            tg.start_soon(collect, stream.subscription, events)
            await until(clock, lambda: (stream.log_id or 0) >= since + 50)
            cursor = stream.log_id or 0
            assert stream.health.failures == 0
    assert event_rows(events) == [row for row in log_rows(sim) if since < row[0] <= cursor]


def _state(agent: LiveAgent | None) -> tuple[str, str, int] | None:
    return None if agent is None else (agent.status, agent.sub_status, agent.started_ts)


@pytest.mark.anyio
async def test_a_subscriber_joining_while_a_log_poll_waits_on_a_block_one_gets_changes_once() -> (
    None
):
    # A late subscriber's picture is the cursor's state less the events being handed
    # out (it gets those after it). Poll 2 hands out both agents' log rows; a block
    # subscriber with room for one holds the poller there, and a wallboard joins meanwhile.
    def live(n: int) -> list[dict[str, Any]]:
        return [live_row(uid, "wait" if n == 1 else "call", time=T0 + min(n, 2)) for uid in (1, 2)]

    def log(n: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
        rows = [log_row(1, "1", "wait", T0 + 1), log_row(2, "2", "wait", T0 + 1)]
        if n >= 2:
            rows += [log_row(3, "1", "call", T0 + 2), log_row(4, "2", "call", T0 + 2)]
        return [row for row in rows if int(row["uid"]) >= int(params["uid"])]

    async with client_of(Centre(live, log)) as cn:
        watcher = AgentWatcher(cn, interval=1.0, backfill=True, since_log_id=0, log_every=1)
        slow = watcher.subscribe(buffer=1)
        async with watcher:
            with anyio.fail_after(HANG_GUARD):
                while (await slow.__anext__()).log_id != 3:  # poll 2's first change
                    pass
                late = watcher.subscribe(overflow="drop_oldest")
                await slow.__anext__()  # poll 2 goes on
        got = [(e.agent_id, _state(e.before), _state(e.after)) async for e in late]
    assert replayed(got) == {"1": ("call", "", T0 + 2), "2": ("call", "", T0 + 2)}


@pytest.mark.anyio
async def test_a_server_clock_stepped_back_after_a_start_loses_no_later_row() -> None:
    # Started without since_log_id at server time T0 + 100, agent 1 waiting since T0, and
    # agent 2 offline. Then the server's clock steps back 30 s: its next rows are stamped
    # before the first snapshot. They were dropped as history (rows of an agent after its
    # snapshot state's own row, or after an event of it), and agent 1's next event was
    # a change from wait to wait.
    rows = [log_row(1, "1", "wait", T0), log_row(2, "2", "offline", T0 + 10)]

    def live(n: int) -> list[dict[str, Any]]:
        return [live_row(1, "wait", time=T0)]

    def log(n: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
        if n == 2:  # agent 2 logs in after the start; then the clock steps back
            rows.append(log_row(3, "2", "wait", T0 + 105))
        if n == 3:
            moves = [(4, "1", "call", 80), (5, "2", "break", 81), (6, "1", "wrap", 85),
                     (7, "1", "wait", 130)]  # fmt: skip
            rows.extend(log_row(uid, agent, status, T0 + at) for uid, agent, status, at in moves)
        if "uid" in params:
            return [row for row in rows if int(row["uid"]) >= int(params["uid"])]
        return [row for row in rows if row["uts"] >= int(params["tstart"])]

    clock = TickingClock(T0 + 100)
    async with client_of(Centre(live, log), clock=clock) as cn:
        watcher = AgentWatcher(cn, interval=1.0, backfill=True, log_every=1)
        feed = watcher.subscribe(overflow="drop_oldest", initial=False)
        async with watcher:
            await until(clock, lambda: watcher.log_id == 7, patience=HANG_GUARD)
        got = [(e.log_id, e.agent_id, _state(e.before), _state(e.after)) async for e in feed
               if e.source == "status_log"]  # fmt: skip
    assert [(log_id, agent) for log_id, agent, _, _ in got] == [
        (3, "2"), (4, "1"), (5, "2"), (6, "1"), (7, "1")
    ]  # fmt: skip
    # Each event's before is the state the one before it left (agent 1 from its snapshot).
    start = [("1", None, ("wait", "", T0))]
    assert replayed(start + [(agent, before, after) for _, agent, before, after in got]) == {
        "1": ("wait", "", T0 + 130), "2": ("break", "", T0 + 81)
    }  # fmt: skip


@pytest.mark.parametrize("since", [True, 1.5, "12a", [1]])
@pytest.mark.anyio
async def test_a_since_log_id_that_is_no_whole_number_is_refused_when_made(since: object) -> None:
    # It failed at the first poll, inside the task group: True read after uid 1 (the whole
    # log again), 1.5 said "uid must be a whole number, not 2.5", text raised a TypeError
    # about concatenating str and int.
    async with client_of(Centre(lambda n: [live_row(1)])) as cn:
        with pytest.raises(ValueError, match="since_log_id must be a whole number"):
            AgentWatcher(cn, backfill=True, since_log_id=since)  # type: ignore[arg-type]  # a wrong type


@pytest.mark.anyio
async def test_a_since_log_id_read_back_as_text_resumes_after_that_uid() -> None:
    # A position saved to a file or a Redis key and read back is text.
    log = [log_row(uid, "1", "wait", T0 + uid) for uid in (4, 5, 6)]
    centre = Centre(
        lambda n: [live_row(1, "wait", time=T0 + 6)],
        lambda n, params: [row for row in log if int(row["uid"]) >= int(params["uid"])],
    )
    async with client_of(centre) as cn:
        watcher = AgentWatcher(cn, backfill=True, since_log_id="4")  # type: ignore[arg-type]  # text
        assert watcher.log_id == 4
        feed = watcher.subscribe(initial=False)
        async with watcher:
            pass
        assert [e.log_id async for e in feed if e.source == "status_log"] == [5, 6]


def _shown(events: list[AgentEvent]) -> dict[str, tuple[str, str, int] | None]:
    """Each agent's state as ``events`` leave a reader that applies each one's ``after``."""
    shown: dict[str, tuple[str, str, int] | None] = {}
    for event in events:
        shown[event.agent_id] = _state(event.after)
    return {agent: state for agent, state in shown.items() if state is not None}


@pytest.mark.parametrize("since", [None, 11], ids=["from-the-snapshot", "since-log-id"])
@pytest.mark.anyio
async def test_a_late_subscribers_picture_holds_no_agent_the_log_has_not_brought_yet(
    since: int | None,
) -> None:
    # Agent 1 waits from the start; its status log row (uid 11) is dated before it (and is
    # the log position a resume starts after: the log has no row of it then). Agent 2
    # logs in at T0 + 105, and agent 1 goes on a call at T0 + 106, both shown live at once
    # but written to the log (uids 12, 13) only from the 4th live read. A subscriber
    # joining between was shown agent 2 and agent 1's call from the live snapshot, then
    # the log's rows of them: agent 2 appeared twice, agent 1 went to call twice.
    def live(n: int) -> list[dict[str, Any]]:
        if n == 1:
            return [live_row(1, "wait", time=T0)]
        return [live_row(1, "call", time=T0 + 106), live_row(2, "wait", time=T0 + 105)]

    rows = [log_row(11, "1", "wait", T0)]

    def log(n: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
        if centre.live_reads >= 4 and len(rows) == 1:
            rows.extend([log_row(12, "2", "wait", T0 + 105), log_row(13, "1", "call", T0 + 106)])
        if "uid" in params:
            return [row for row in rows if int(row["uid"]) >= int(params["uid"])]
        return [row for row in rows if row["uts"] >= int(params["tstart"])]

    centre = Centre(live, log)
    clock = TickingClock(T0 + 100)
    early: list[AgentEvent] = []
    async with client_of(centre, clock=clock) as cn:
        watcher = AgentWatcher(cn, interval=1.0, backfill=True, since_log_id=since, log_every=1)
        first = watcher.subscribe(overflow="drop_oldest")
        async with watcher:
            await until(clock, lambda: centre.live_reads >= 3, patience=HANG_GUARD)
            early.extend([await first.__anext__() for _ in range(first.pending)])
            late = watcher.subscribe(overflow="drop_oldest")
            await until(clock, lambda: watcher.log_id == 13, patience=HANG_GUARD)
        after = [e async for e in first]
        got = [e async for e in late]
    picture, changes = got[: len(got) - len(after)], got[len(got) - len(after) :]
    # The late one starts where the early one was when it joined, then gets what it got.
    assert {e.kind for e in picture} <= {"appeared"}
    assert _shown(picture) == _shown(early)
    assert [e.id for e in changes] == [e.id for e in after]
    assert _shown(got) == _shown(early + after)
