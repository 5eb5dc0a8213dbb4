"""Properties of the poll diff and the backfill cursor, over open-ended input (hypothesis).

The diff: replaying its events rebuilds each poll's states, whatever wire form
and row order the server chose; no event has ``before`` equal to ``after``; the
same states in other forms give no event; a hostile value is a record error or
nothing. The cursor: whatever pages the log answers (duplicates, uids out of
order or behind the cursor), each uid becomes one event at most, in increasing
order, and none that was new is lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from contactnow_async import LiveAgent, LiveSnapshot, ResponseFormatError, StatusLogEntry
from contactnow_async.simulator import VirtualClock
from contactnow_async.watch._backfill import LogCursor
from contactnow_async.watch._diff import PollDiff
from tests._helpers import examples
from tests._text import text

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
T0 = 1_700_000_000

State = tuple[str, str, int]  # status, sub-status, start time

quick = settings(max_examples=examples(100), deadline=None)

uids = st.sampled_from([str(n) for n in range(6)])
states = st.tuples(
    st.sampled_from(["wait", "call", "wrap"]),
    st.sampled_from(["", "Lunch"]),
    st.integers(T0, T0 + 3),
)


def render(uid: str, state: State, form: int) -> dict[str, Any]:
    """One ``ajax.php`` row of ``state`` in one of the wire forms a server may use."""
    status, code, time = state
    times: list[object] = [str(time), time, f"{time}.0", float(time)]
    return {
        "uid": uid,
        "name": f"Agent {uid}",
        "status": status,
        "statuscode": None if code == "" and form % 2 else code,
        "time": times[form % len(times)],
        "srvtime": str(T0 + 100),
        "call": [],
    }


@st.composite
def polls(draw: st.DrawFn) -> tuple[dict[str, State], LiveSnapshot]:
    """A poll: the states it shows, and a snapshot of them in random forms and order."""
    shown = draw(st.dictionaries(uids, states, max_size=6))
    order = draw(st.permutations(sorted(shown)))
    forms = draw(st.lists(st.integers(0, 7), min_size=len(order), max_size=len(order)))
    complete = draw(st.booleans()) if draw(st.integers(0, 4)) == 0 else True
    rows: dict[str, Mapping[str, Any]] = {
        uid: render(uid, shown[uid], form) for uid, form in zip(order, forms, strict=True)
    }
    return shown, LiveSnapshot(rows, complete=complete)


def state_of(agent: LiveAgent) -> State:
    return (agent.status, agent.sub_status, agent.started_ts)


@quick
@given(st.lists(polls(), min_size=1, max_size=8))
def test_events_replayed_on_the_first_poll_rebuild_every_poll(
    sequence: list[tuple[dict[str, State], LiveSnapshot]],
) -> None:
    differ = PollDiff()
    known: dict[str, State] = {}
    for shown, snapshot in sequence:
        result = differ.compare(snapshot, observed_at=NOW)
        differ.advance(result)
        seen = [event.agent_id for event in result.events]
        assert len(seen) == len(set(seen)), "an agent got two events from one poll"
        for event in result.events:
            if event.kind == "disappeared":
                assert snapshot.complete, "an incomplete snapshot made an agent disappear"
                del known[event.agent_id]
                continue
            assert event.after is not None
            if event.kind == "changed":
                assert event.before is not None
                assert state_of(event.before) == known[event.agent_id]
                assert state_of(event.before) != state_of(event.after), "before == after"
            else:
                assert event.agent_id not in known
            known[event.agent_id] = state_of(event.after)
        # An incomplete snapshot carries the agents it missed: still known, unchanged.
        assert {uid: known[uid] for uid in shown} == shown
        assert set(known) == set(shown) or not snapshot.complete


@quick
@given(st.dictionaries(uids, states, max_size=6), st.data())
def test_the_same_states_in_other_wire_forms_and_order_give_no_event(
    shown: dict[str, State], data: st.DataObject
) -> None:
    def snapshot() -> LiveSnapshot:
        order = data.draw(st.permutations(sorted(shown)))
        return LiveSnapshot(
            {uid: render(uid, shown[uid], data.draw(st.integers(0, 7))) for uid in order}
        )

    differ = PollDiff()
    differ.advance(differ.compare(snapshot(), observed_at=NOW))
    for _ in range(3):
        result = differ.compare(snapshot(), observed_at=NOW)
        assert result.events == []
        differ.advance(result)


junk = st.one_of(
    st.none(),
    text(max_size=3),
    st.integers(-(10**16), 10**16),
    st.floats(allow_nan=True, allow_infinity=True),
    st.just("wait\x00"),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(text(max_size=2), st.integers(), max_size=2),
)


@quick
@given(st.lists(st.dictionaries(uids, st.tuples(junk, junk, junk), max_size=4), max_size=5))
def test_a_hostile_value_is_a_record_error_or_nothing(
    sequence: list[dict[str, tuple[Any, Any, Any]]],
) -> None:
    differ = PollDiff()
    for shown in sequence:
        rows: dict[str, Mapping[str, Any]] = {
            uid: {"uid": uid, "status": status, "time": time, "statuscode": code, "call": []}
            for uid, (status, time, code) in shown.items()
        }
        try:
            result = differ.compare(LiveSnapshot(rows), observed_at=NOW)
        except ResponseFormatError:
            continue  # a failed poll: the baseline stays
        for event in result.events:
            if event.before is not None and event.after is not None:
                assert state_of(event.before) != state_of(event.after)
        differ.advance(result)


# --- the backfill cursor ----------------------------------------------------------------


def entry(uid: int) -> StatusLogEntry:
    """Row ``uid``: agents 0 to 2 in turn, from T0 + 91 on (the first snapshot's
    server time is T0 + 100, so some rows are history before it)."""
    agent = str(uid % 3)
    return StatusLogEntry(
        log_id=uid, started_ts=T0 + 90 + uid, agent_id=agent, status=["wait", "call"][uid % 2]
    )


pages = st.lists(st.lists(st.integers(1, 30), max_size=10), max_size=6)


@quick
@given(pages, st.integers(0, 10))
def test_each_uid_is_handed_out_once_in_increasing_order_and_none_new_is_lost(
    replies: list[list[int]], since: int
) -> None:
    cursor = LogCursor(None, since_log_id=since)  # type: ignore[arg-type]  # events() reads nothing
    handed: list[int] = []
    for reply in replies:
        high = max([since, *handed])
        events = cursor.events([entry(uid) for uid in reply], None, observed_at=NOW)
        got = [event.log_id for event in events]
        assert got == sorted({uid for uid in reply if uid > high})
        handed.extend(uid for uid in got if uid is not None)
    assert handed == sorted(set(handed))
    dropped = sum(len(reply) for reply in replies) - len(handed)
    assert cursor.dropped == dropped


snapshot_states = st.tuples(
    st.sampled_from(["wait", "call"]), st.just(""), st.integers(T0 + 90, T0 + 125)
)


@quick
@given(pages, st.dictionaries(st.sampled_from(["0", "1", "2"]), snapshot_states, max_size=3))
def test_a_cursor_started_from_a_snapshot_hands_out_each_uid_once_in_order(
    replies: list[list[int]], shown: dict[str, State]
) -> None:
    client = SimpleNamespace(clock=VirtualClock(T0 + 40))
    cursor = LogCursor(client, since_log_id=None, grace=5.0)  # type: ignore[arg-type]  # only its clock is read
    first = LiveSnapshot({uid: render(uid, state, 0) for uid, state in shown.items()})
    cursor.adopt_snapshot(first)
    handed: list[int] = []
    for reply in replies:
        events = cursor.events([entry(uid) for uid in reply], first, observed_at=NOW)
        handed.extend(event.log_id for event in events if event.log_id is not None)
        client.clock.advance(3)
    assert handed == sorted(set(handed))
