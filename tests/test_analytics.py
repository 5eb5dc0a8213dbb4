"""time_in_status: each row opens a status that lasts until the agent's next row."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from contactnow_async import StatusLogEntry
from contactnow_async.analytics import time_in_status


def row(uid: int, uts: int, agent: str, status: str) -> StatusLogEntry:
    return StatusLogEntry(log_id=uid, started_ts=uts, agent_id=agent, status=status)


def test_intervals_are_clipped_to_the_window_and_the_last_runs_to_stop() -> None:
    rows = [
        row(1, 50, "a", "wait"),  # began before the window: counts from 100
        row(2, 130, "a", "call"),
        row(3, 190, "a", "wrap"),  # runs until stop
        row(4, 120, "b", "break"),
        row(5, 400, "b", "wait"),  # after the window: nothing
    ]
    assert time_in_status(reversed(rows), 100, 200) == {
        "a": {"wait": 30.0, "call": 60.0, "wrap": 10.0},
        "b": {"break": 80.0},
    }


def test_each_agents_time_adds_up_to_the_window_once_it_has_a_row_before_it() -> None:
    rows = [row(i, 10 * i, str(i % 3), ["wait", "call", "wrap"][i % 2]) for i in range(1, 60)]
    start, stop = 100, 500
    for spent in time_in_status(rows, start, stop).values():
        assert sum(spent.values()) == stop - start


def test_datetimes_are_accepted_and_a_reversed_window_refused() -> None:
    rows = [row(1, 0, "a", "wait")]
    start = datetime.fromtimestamp(0, tz=timezone.utc)
    stop = datetime.fromtimestamp(60, tz=timezone.utc)
    assert time_in_status(rows, start, stop) == {"a": {"wait": 60.0}}
    with pytest.raises(ValueError, match="before start"):
        time_in_status(rows, 60, 0)
    with pytest.raises(ValueError, match="naive"):
        time_in_status(rows, datetime(2026, 1, 1), 60)
