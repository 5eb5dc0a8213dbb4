"""A snapshot of one page, keyed by uid only when asked, and the diff's in-place fast path.

Both must give what keying the page at once gives: the same rows, counts and server
time, and the same events (or the same record error) from a diff, whatever odd rows
the page holds: uids that are not text, nulls, missing fields, an agent twice, NULs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from functools import partial
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactnow_async import AgentEvent, LiveAgent, LiveSnapshot, ResponseFormatError
from contactnow_async.resources import live
from contactnow_async.watch import _diff
from contactnow_async.watch._diff import PollDiff
from tests._helpers import examples

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
T0 = 1_700_000_000
MISSING = object()

many = settings(max_examples=examples(200), deadline=None, suppress_health_check=list(HealthCheck))

uids = st.one_of(
    st.sampled_from(["1", "2", "3", "4", ""]),
    st.sampled_from([0, 1, 2, None, 2.0, "a\x00b"]),
    st.just(MISSING),
)
texts = st.one_of(
    st.sampled_from(["wait", "call", "", "Lunch"]),
    st.sampled_from([None, 5, "x\x00", [], {}]),
    st.just(MISSING),
)
times = st.one_of(
    st.sampled_from([str(T0), str(T0 + 1), f"{T0}.0", "", "abc"]),
    st.sampled_from([T0, T0 + 1, float(T0), None, -1, 10**20]),
    st.just(MISSING),
)


def record(uid: Any, status: Any, time: Any, code: Any, calls: Any) -> dict[str, Any]:
    row = {"uid": uid, "name": "n", "status": status, "time": time, "statuscode": code,
           "srvtime": str(T0 + 9), "call": calls}  # fmt: skip
    return {key: value for key, value in row.items() if value is not MISSING}


odd_rows = st.builds(
    record, uids, texts, times, texts, st.sampled_from([[], None, [{"callid": "9"}]])
)
good_rows = st.builds(
    record,
    st.sampled_from(["1", "2", "3", "4", "5"]),
    st.sampled_from(["wait", "call"]),
    st.sampled_from([str(T0), str(T0 + 1), f"{T0}.0"]),
    st.sampled_from(["", "L"]),
    st.just([]),
)
pages = st.lists(st.one_of(good_rows, good_rows, good_rows, odd_rows), min_size=1, max_size=6)


def keyed(records: list[dict[str, Any]], total: int) -> LiveSnapshot:
    """The snapshot keyed at once, as the paging loop keys pages."""
    rows: dict[str, Mapping[str, Any]] = {}
    live._key_by_uid(records, rows)
    return LiveSnapshot(rows, total=total, complete=len(rows) >= total)


def outcome(differ: PollDiff, snapshot: Callable[[], LiveSnapshot]) -> object:
    """The events of a poll of ``snapshot()`` (made in the poll: keying a page at once
    raises the record error of a row without its uid, as the paging loop does)."""
    try:
        result = differ.compare(snapshot(), observed_at=NOW)
    except ResponseFormatError as exc:
        return ("error", str(exc))
    differ.advance(result)
    return result.events


@many
@given(pages, st.integers(0, 3))
def test_a_page_snapshot_is_the_keyed_snapshot(records: list[dict[str, Any]], short: int) -> None:
    total = max(len(records) - short, 1)
    page = LiveSnapshot(page=records, total=total)
    error: str | None = None
    try:
        at_once = keyed(records, total)
    except ResponseFormatError as exc:
        error = str(exc)
    if error is not None:  # a row without its uid: so is every reading of the page
        for read in (lambda: page.rows, lambda: len(page), lambda: page.server_ts, page.agents):
            with pytest.raises(ResponseFormatError) as raised:
                read()
            assert str(raised.value) == error
        return
    assert (page.total, page.complete, page.server_ts) == (
        at_once.total, at_once.complete, at_once.server_ts
    )  # fmt: skip
    assert len(page) == len(at_once)
    assert list(page.rows.items()) == list(at_once.rows.items())
    assert list(page) == list(at_once)


def built(snapshot: Callable[[], LiveSnapshot]) -> object:
    try:
        return snapshot().agents()
    except ResponseFormatError as exc:
        return ("error", str(exc))


@many
@given(pages, st.integers(0, 3))
def test_a_page_snapshot_builds_the_keyed_snapshots_agents(
    records: list[dict[str, Any]], short: int
) -> None:
    """``agents()`` of a page builds it as it came when its ids are one per row."""
    total = max(len(records) - short, 1)
    page = LiveSnapshot(page=records, total=total)
    agents = built(lambda: page)
    assert agents == built(partial(keyed, records, total))
    if isinstance(agents, list):
        assert [agent.agent_id for agent in agents] == list(page)  # each under its own id
        assert [agent.raw for agent in agents] == list(page.rows.values())


@pytest.mark.slow
@many
@given(st.lists(st.tuples(pages, st.integers(0, 3)), min_size=1, max_size=6), st.booleans())
def test_page_snapshots_give_the_keyed_snapshots_events(
    polls: list[tuple[list[dict[str, Any]], int]], initial: bool
) -> None:
    by_page, at_once = PollDiff(initial_events=initial), PollDiff(initial_events=initial)
    for records, short in polls:
        total = max(len(records) - short, 1)
        expected = outcome(at_once, partial(keyed, records, total))
        assert outcome(by_page, partial(LiveSnapshot, page=records, total=total)) == expected


edits = st.lists(
    st.tuples(
        st.integers(0, 5),
        st.sampled_from(["status", "time", "statuscode", "uid"]),
        st.one_of(texts, times, uids),
    ),
    max_size=3,
)


@many
@given(pages, st.lists(edits, min_size=1, max_size=5))
def test_the_in_place_path_gives_the_keyed_snapshots_events(
    first: list[dict[str, Any]], polls: list[list[tuple[int, str, Any]]]
) -> None:
    """The same page again and again, a few fields changed each time (the usual poll)."""
    by_page, at_once = PollDiff(), PollDiff()
    records = first
    for changes in [[], *polls]:
        records = [dict(row) for row in records]
        for position, field, value in changes:
            if position < len(records):
                if value is MISSING:
                    records[position].pop(field, None)
                else:
                    records[position][field] = value
        expected = outcome(at_once, partial(keyed, records, len(records)))
        assert outcome(by_page, partial(LiveSnapshot, page=records, total=len(records))) == expected


def test_a_poll_of_the_same_agents_keys_no_page(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [record(str(uid), "wait", str(T0), "", []) for uid in range(50)]
    differ = PollDiff(initial_events=False)
    keyings: list[int] = []
    key_by_uid = live._key_by_uid

    def counted(records: Any, into: dict[str, Mapping[str, Any]]) -> None:
        keyings.append(len(records))
        key_by_uid(records, into)

    monkeypatch.setattr(live, "_key_by_uid", counted)
    # The first poll: keyed once, even without initial events (a row without its uid fails it).
    differ.advance(differ.compare(LiveSnapshot(page=rows, total=50), observed_at=NOW))
    assert len(keyings) == 1
    differ.compare(LiveSnapshot(page=rows, total=50), observed_at=NOW)  # the baseline: known
    assert len(keyings) == 1
    for poll in range(3):
        moved = [dict(row) for row in rows]
        moved[poll]["status"] = "call"
        current = LiveSnapshot(page=moved, total=50)
        result = differ.compare(current, observed_at=NOW)
        differ.advance(result)
        assert [(event.agent_id, event.status) for event in result.events] == [(str(poll), "call")]
        rows = moved
    assert len(keyings) == 1  # no poll keyed its page
    assert current["2"].status == "call"  # made by the diff
    assert len(keyings) == 1
    assert current["10"].status == "wait"
    assert len(keyings) == 2  # a lookup of another agent keys the page
    assert len(current) == 50 and current.complete


def test_an_agent_twice_in_a_page_keeps_its_later_row_and_first_place() -> None:
    first = record("1", "wait", str(T0), "", [])
    first["srvtime"] = str(T0 + 1)
    again = record("1", "call", str(T0), "", [])
    page = LiveSnapshot(page=[first, record("2", "wait", str(T0), "", []), again], total=3)
    assert list(page) == ["1", "2"] and page["1"].status == "call"
    assert len(page) == 2 and not page.complete
    assert page.server_ts == T0 + 9  # the first row's: agent 1's later one


def test_a_snapshot_needs_rows_or_a_page() -> None:
    with pytest.raises(TypeError):
        LiveSnapshot()


agent_states = st.tuples(
    st.sampled_from(["1", "2", "x"]),
    st.sampled_from(["wait", "call"]),
    st.integers(T0 - 2, T0 + 2),
    st.sampled_from(["", "Lunch"]),
)


@many
@given(st.lists(st.tuples(agent_states, agent_states), max_size=8))
def test_the_in_place_events_are_those_event_makes_one_by_one(
    pairs: list[tuple[tuple[str, str, int, str], tuple[str, str, int, str]]],
) -> None:
    def agent(uid: str, status: str, time: int, code: str) -> LiveAgent:
        return LiveAgent.from_record(record(uid, status, str(time), code, []))

    befores = [agent(*before) for before, _ in pairs]
    afters = [agent(*after) for _, after in pairs]
    ids = [after[0] for _, after in pairs]
    made = _diff._changed_events(befores, afters, ids, NOW)
    one_by_one = [_diff._event(*four, NOW) for four in zip(befores, afters, ids, strict=True)]
    expected = [event for event in one_by_one if event is not None]
    assert made == expected
    for event, alone in zip(made, expected, strict=True):
        assert attrs.asdict(event, recurse=False) == attrs.asdict(alone, recurse=False)
        assert type(event) is AgentEvent and event.changed_at.tzinfo is timezone.utc
