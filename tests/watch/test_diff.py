"""The poll diff: every real difference once, nothing else (invariant 4 and 8)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from contactnow_async import LiveSnapshot
from contactnow_async.watch._diff import diff

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def row(uid: str, status: str = "wait", time: int = 100, code: str = "") -> dict[str, Any]:
    return {
        "uid": uid, "name": f"Agent {uid}", "status": status, "statuscode": code,
        "time": str(time), "srvtime": "1000", "call": [],
    }  # fmt: skip


def snap(*rows: dict[str, Any], complete: bool = True) -> LiveSnapshot:
    return LiveSnapshot({r["uid"]: r for r in rows}, complete=complete)


def test_first_poll_emits_appeared_for_everyone_or_nothing() -> None:
    current = snap(row("1"), row("2"))
    events, base = diff(None, current, observed_at=NOW)
    assert [(e.kind, e.agent_id) for e in events] == [("appeared", "1"), ("appeared", "2")]
    assert base is current
    events, _ = diff(None, current, observed_at=NOW, initial_events=False)
    assert events == []


def test_identical_snapshots_emit_nothing() -> None:
    events, _ = diff(snap(row("1"), row("2")), snap(row("1"), row("2")), observed_at=NOW)
    assert events == []


def test_status_statuscode_and_start_time_are_each_a_change() -> None:
    before = snap(row("1"), row("2"), row("3"))
    after = snap(row("1", status="call", time=150), row("2", code="Lunch"), row("3", time=160))
    events, _ = diff(before, after, observed_at=NOW)
    assert [(e.kind, e.agent_id) for e in events] == [
        ("changed", "1"),
        ("changed", "2"),
        ("changed", "3"),  # same status, new start: left and came back between polls
    ]
    first = events[0]
    assert first.before is not None and first.after is not None
    assert (first.before.status, first.after.status) == ("wait", "call")
    assert first.previous_duration == 50.0
    assert first.changed_at == datetime.fromtimestamp(150, tz=timezone.utc)
    assert first.source == "poll" and first.log_id is None
    assert first.id == "1:150:call:"


def test_appeared_and_disappeared() -> None:
    events, _ = diff(snap(row("1"), row("2")), snap(row("2"), row("3")), observed_at=NOW)
    assert sorted((e.kind, e.agent_id) for e in events) == [
        ("appeared", "3"),
        ("disappeared", "1"),
    ]
    gone = next(e for e in events if e.kind == "disappeared")
    assert gone.after is None and gone.before is not None and gone.before.agent_id == "1"


def test_an_incomplete_snapshot_never_makes_agents_disappear() -> None:
    previous = snap(row("1"), row("2"), row("3"))
    partial = snap(row("1", status="call", time=200), complete=False)
    events, base = diff(previous, partial, observed_at=NOW)
    assert [(e.kind, e.agent_id) for e in events] == [("changed", "1")]
    # The agents the paging missed are carried over, still known, not gone.
    assert set(base) == {"1", "2", "3"}
    assert base["1"].status == "call" and base["2"].status == "wait"
    assert not base.complete
    # When they show up again unchanged, nothing is emitted for them.
    events, _ = diff(
        base, snap(row("1", status="call", time=200), row("2"), row("3")), observed_at=NOW
    )
    assert events == []


def test_states_that_only_join_alike_are_still_told_apart() -> None:
    """The usual poll is compared as one string per row; where that text would
    hide a difference (a NUL inside a value, a number and its text), or the
    order changed, the rows are compared as before."""
    # Both join to "wait\0" "5\0" "5\0" "", with the NUL in another field.
    before = snap(row("1", status="wait\x005", time=5), row("2"))
    after = snap(row("1", time=5, code="5\x00"), row("2"))
    events, _ = diff(before, after, observed_at=NOW)
    assert [(e.kind, e.agent_id) for e in events] == [("changed", "1")]
    numeric = {**row("1"), "time": 5}  # the number 5, not the text "5"
    events, _ = diff(snap(row("1", time=5), row("2")), snap(numeric, row("2")), observed_at=NOW)
    assert [(e.kind, e.agent_id) for e in events] == [("changed", "1")]
    # The same rows in another order: same agents, nothing changed.
    events, _ = diff(snap(row("1"), row("2")), snap(row("2"), row("1")), observed_at=NOW)
    assert events == []
    # A signed snapshot stays signed from one diff to the next.
    one, two, three = snap(row("1"), row("2")), snap(row("1"), row("2", "call")), snap(row("1"))
    assert [e.agent_id for e in diff(one, two, observed_at=NOW)[0]] == ["2"]
    assert [e.kind for e in diff(two, three, observed_at=NOW)[0]] == ["disappeared"]


states = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["wait", "call", "wrap", "break", "offline"]),
        "code": st.sampled_from(["", "Lunch", "Home"]),
        "time": st.integers(0, 5),
    }
)
snapshots = st.dictionaries(st.sampled_from([str(i) for i in range(8)]), states, max_size=8)


@given(st.lists(snapshots, min_size=2, max_size=6))
def test_replaying_events_rebuilds_every_snapshot(
    sequence: list[dict[str, dict[str, Any]]],
) -> None:
    """Events applied to the previous state give the next; no event without a difference."""
    previous = None
    known: dict[str, tuple[str, str, int]] = {}
    for raw in sequence:
        current = snap(*(row(uid, s["status"], s["time"], s["code"]) for uid, s in raw.items()))
        events, previous = diff(previous, current, observed_at=NOW)
        ids = [e.agent_id for e in events]
        assert len(ids) == len(set(ids)), "an agent got two events from one poll"
        for event in events:
            if event.after is None:
                del known[event.agent_id]
            else:
                state = (event.after.status, event.after.sub_status, event.after.started_ts)
                assert known.get(event.agent_id) != state, "an event without a difference"
                known[event.agent_id] = state
        assert known == {uid: (s["status"], s["code"], s["time"]) for uid, s in raw.items()}
