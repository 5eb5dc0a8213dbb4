"""The poll diff: every real difference once, nothing else (invariant 4 and 8)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from contactnow_async import AgentEvent, LiveSnapshot
from contactnow_async.watch._diff import Appearances, PollDiff

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def row(uid: str, status: str = "wait", time: int = 100, code: str = "") -> dict[str, Any]:
    return {
        "uid": uid, "name": f"Agent {uid}", "status": status, "statuscode": code,
        "time": str(time), "srvtime": "1000", "call": [],
    }  # fmt: skip


def snap(*rows: dict[str, Any], complete: bool = True) -> LiveSnapshot:
    return LiveSnapshot({r["uid"]: r for r in rows}, complete=complete)


def diff(previous: LiveSnapshot, current: LiveSnapshot) -> list[AgentEvent]:
    """The events between two snapshots, by a diff whose baseline is ``previous``."""
    differ = PollDiff(initial_events=False)
    differ.advance(differ.compare(previous, observed_at=NOW))
    return differ.compare(current, observed_at=NOW).events


def step(differ: PollDiff, current: LiveSnapshot) -> list[AgentEvent]:
    """One good poll: the events, and ``current`` becomes the baseline."""
    result = differ.compare(current, observed_at=NOW)
    differ.advance(result)
    return result.events


def test_first_poll_emits_appeared_for_everyone_or_nothing() -> None:
    current = snap(row("1"), row("2"))
    assert PollDiff().snapshot is None
    differ = PollDiff()
    events = step(differ, current)
    assert [(e.kind, e.agent_id) for e in events] == [("appeared", "1"), ("appeared", "2")]
    assert differ.snapshot is current
    assert step(PollDiff(initial_events=False), current) == []


def test_compare_changes_nothing_until_advance() -> None:
    """A poll that fails after its diff (a log read, say) leaves the baseline as it was."""
    differ = PollDiff()
    first = snap(row("1"))
    step(differ, first)
    moved = snap(row("1", status="call", time=150))
    assert [e.kind for e in differ.compare(moved, observed_at=NOW).events] == ["changed"]
    assert differ.snapshot is first
    assert [e.kind for e in step(differ, moved)] == ["changed"]
    assert differ.snapshot is moved
    assert step(differ, snap(row("1", status="call", time=150))) == []


def test_identical_snapshots_emit_nothing() -> None:
    assert diff(snap(row("1"), row("2")), snap(row("1"), row("2"))) == []


def test_status_statuscode_and_start_time_are_each_a_change() -> None:
    before = snap(row("1"), row("2"), row("3"))
    after = snap(row("1", status="call", time=150), row("2", code="Lunch"), row("3", time=160))
    events = diff(before, after)
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
    events = diff(snap(row("1"), row("2")), snap(row("2"), row("3")))
    assert sorted((e.kind, e.agent_id) for e in events) == [
        ("appeared", "3"),
        ("disappeared", "1"),
    ]
    gone = next(e for e in events if e.kind == "disappeared")
    assert gone.after is None and gone.before is not None and gone.before.agent_id == "1"


def test_an_incomplete_snapshot_never_makes_agents_disappear() -> None:
    differ = PollDiff()
    step(differ, snap(row("1"), row("2"), row("3")))
    partial = snap(row("1", status="call", time=200), complete=False)
    events = step(differ, partial)
    assert [(e.kind, e.agent_id) for e in events] == [("changed", "1")]
    # The agents the paging missed are carried over, still known, not gone.
    base = differ.snapshot
    assert base is not None and set(base) == {"1", "2", "3"}
    assert base["1"].status == "call" and base["2"].status == "wait"
    assert not base.complete
    # When they show up again unchanged, nothing is emitted for them.
    assert step(differ, snap(row("1", status="call", time=200), row("2"), row("3"))) == []


def test_states_that_only_join_alike_are_still_told_apart() -> None:
    """The usual poll is compared as one string per row; where that text would
    hide a difference (a NUL inside a value, a number), or the order changed,
    the rows are compared as before."""
    # Both join to "wait\0" "5\0" "5\0" "", with the NUL in another field.
    before = snap(row("1", status="wait\x005", time=5), row("2"))
    after = snap(row("1", time=5, code="5\x00"), row("2"))
    assert [(e.kind, e.agent_id) for e in diff(before, after)] == [("changed", "1")]
    numeric = {**row("1"), "time": 6}  # the number 6, not text
    events = diff(snap(row("1", time=5), row("2")), snap(numeric, row("2")))
    assert [(e.kind, e.agent_id) for e in events] == [("changed", "1")]
    # The same rows in another order: same agents, nothing changed.
    assert diff(snap(row("1"), row("2")), snap(row("2"), row("1"))) == []
    # A signed baseline stays signed from one diff to the next.
    differ = PollDiff()
    step(differ, snap(row("1"), row("2")))
    assert [e.agent_id for e in step(differ, snap(row("1"), row("2", "call")))] == ["2"]
    assert [e.kind for e in step(differ, snap(row("1")))] == ["disappeared"]


def test_the_same_state_in_another_wire_form_is_no_change() -> None:
    """``5`` and ``"5"``, ``"5.0"``; ``null`` and ``""``: one state, no event."""
    forms = [
        row("1", time=5),
        {**row("1"), "time": 5},
        {**row("1"), "time": "5.0"},
        {**row("1"), "time": 5.0, "statuscode": None},
    ]
    differ = PollDiff()
    step(differ, snap(forms[0], row("2")))
    for form in [*forms[1:], *forms]:
        assert step(differ, snap(form, row("2"))) == []  # rows compared in place
        assert step(differ, snap(row("2"), form)) == []  # rows walked (order changed)
    moved = {**row("1"), "time": 5, "status": "call"}
    assert [(e.kind, e.agent_id) for e in step(differ, snap(moved, row("2")))] == [("changed", "1")]


def test_a_late_subscribers_picture_is_made_as_read_and_skips_an_unreadable_row(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Agent 2's state is fine but its srvtime is in microseconds: no model holds it.
    current = snap(row("1"), {**row("2"), "srvtime": "1700000000000000"}, row("3"))
    picture = Appearances(current, NOW)
    assert len(picture) == 3
    assert [(e.kind, e.agent_id) for e in picture] == [("appeared", "1"), ("appeared", "3")]
    assert "'2' left out" in caplog.text
