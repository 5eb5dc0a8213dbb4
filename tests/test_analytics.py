"""time_in_status (each row opens a status that lasts until the agent's next row),
service_level and average_handle_time (from report rows or CDR rows)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactnow_async import CdrRow, ReportRow, StatusLogEntry
from contactnow_async.analytics import average_handle_time, service_level, time_in_status
from tests._helpers import examples

STATUSES = ("wait", "call", "wrap", "break", "offline")


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


def test_an_open_last_status_counts_up_to_stop_as_given_even_a_stop_to_come() -> None:
    # No clock: the figures are the rows' and the window's alone. A stop in the future
    # (on any clock: these rows are of 2286) counts the hours to it; now as stop, none.
    now = 10_000_000_000
    rows = [row(1, now - 600, "a", "wait"), row(2, now - 60, "a", "call")]
    assert time_in_status(rows, now - 3600, now) == {"a": {"wait": 540.0, "call": 60.0}}
    tonight = now + 5 * 3600
    assert time_in_status(rows, now - 3600, tonight) == {"a": {"wait": 540.0, "call": 18_060.0}}


def test_each_agents_time_adds_up_to_the_window_once_it_has_a_row_before_it() -> None:
    rows = [row(i, 10 * i, str(i % 3), ["wait", "call", "wrap"][i % 2]) for i in range(1, 60)]
    start, stop = 100, 500
    for spent in time_in_status(rows, start, stop).values():
        assert sum(spent.values()) == stop - start


def test_a_row_whose_time_runs_back_is_not_counted_twice() -> None:
    # uid order is the order of the changes; a later row stamped earlier than the one
    # before it (two servers' clocks) began no earlier than that one: the agent's
    # statuses never overlap, and still add up to the window.
    rows = [
        row(1, 0, "a", "wait"),
        row(2, 8, "a", "call"),
        row(3, 5, "a", "wrap"),  # stamped before the call it follows
        row(4, 0, "b", "wait"),
        row(5, 4, "b", "call"),
        row(6, 4, "b", "wrap"),  # two changes in one second: the call took none of it
    ]
    assert time_in_status(rows, 0, 10) == {
        "a": {"wait": 8.0, "wrap": 2.0},
        "b": {"wait": 4.0, "wrap": 6.0},
    }


def test_datetimes_are_accepted_and_a_reversed_window_refused() -> None:
    rows = [row(1, 0, "a", "wait")]
    start = datetime.fromtimestamp(0, tz=timezone.utc)
    stop = datetime.fromtimestamp(60, tz=timezone.utc)
    assert time_in_status(rows, start, stop) == {"a": {"wait": 60.0}}
    with pytest.raises(ValueError, match="before start"):
        time_in_status(rows, 60, 0)
    with pytest.raises(ValueError, match="naive"):
        time_in_status(rows, datetime(2026, 1, 1), 60)
    # No window is no "until now" nor "since ever": it says so, not a bare AssertionError.
    with pytest.raises(TypeError, match="start must be a unix time or a datetime, not None"):
        time_in_status(rows, None, 60)  # type: ignore[arg-type]  # what the test is about
    with pytest.raises(TypeError, match="stop must be a unix time or a datetime, not None"):
        time_in_status(rows, 0, None)  # type: ignore[arg-type]  # what the test is about


def test_time_in_status_of_a_row_alone_or_a_wire_record_is_a_type_error_saying_so() -> None:
    # A wire record (a dict) failed with "'dict' object has no attribute 'log_id'", and one
    # row given alone with "'StatusLogEntry' object is not iterable".
    alone = row(1, 0, "a", "wait")
    with pytest.raises(TypeError, match=r"not one StatusLogEntry: give \[row\]"):
        time_in_status(alone, 0, 10)  # type: ignore[arg-type]  # what the test is about
    with pytest.raises(TypeError, match="rows must hold StatusLogEntry items"):
        time_in_status([alone, {"uid": 2, "uts": 5}], 0, 10)  # type: ignore[list-item]  # the test
    assert time_in_status([alone], 0, 10) == {"a": {"wait": 10.0}}


def test_a_bound_a_fraction_before_1970_is_refused_as_any_before_it_is() -> None:
    # Cut to whole seconds toward 0, -0.5 passed the check as 0, and then counted as -0.5.
    with pytest.raises(ValueError, match=r"start -0\.5 is before 1970"):
        time_in_status([row(1, 0, "a", "wait")], -0.5, 10)


def test_a_window_of_a_fraction_of_a_second_counts_to_the_fraction() -> None:
    # Bounds given to the fraction (time.time(), a datetime's microseconds) are the window:
    # cut to whole seconds, 10.9 to 11.0 counted a whole second, and a stop a fraction
    # before its start was an empty window, not a mistake.
    rows = [row(1, 0, "a", "wait"), row(2, 11, "a", "call")]
    assert time_in_status(rows, 10.9, 11.5) == {"a": {"wait": pytest.approx(0.1), "call": 0.5}}
    moment = datetime.fromtimestamp(10.25, tz=timezone.utc)
    assert time_in_status(rows, moment, 10.75) == {"a": {"wait": 0.5}}
    with pytest.raises(ValueError, match="before start"):
        time_in_status(rows, 10.5, 10.25)


@settings(max_examples=examples(100), deadline=None)
@given(
    changes=st.lists(st.tuples(st.integers(0, 40), st.sampled_from(STATUSES)), max_size=8),
    bounds=st.lists(st.floats(0, 50, allow_subnormal=False), min_size=2, max_size=2).map(sorted),
)
def test_time_in_status_never_exceeds_the_window(
    changes: list[tuple[int, str]], bounds: list[float]
) -> None:
    rows = [row(uid, uts, "a", status) for uid, (uts, status) in enumerate(changes, 1)]
    start, stop = bounds
    for statuses in time_in_status(rows, start, stop).values():
        assert sum(statuses.values()) <= stop - start + 1e-9


# -- service level and average handle time --------------------------------------------


def report(cutoff: int | None = 20, **figures: float) -> ReportRow:
    return ReportRow({"qid": "1007", **figures}, cutoff=cutoff)


def cdr(queue_time: float, *, answered: bool, talk: int = 60, dial_type: str = "in") -> CdrRow:
    return CdrRow(
        call_id="1",
        dial_type=dial_type,
        direction="in" if dial_type == "in" else "out",
        queue_time=queue_time,
        result="Answered" if answered else "Abandoned",
        answered_ts=1000 if answered else None,
        disconnected_ts=1000 + talk if answered else 1000,
    )


def test_service_level_from_report_rows() -> None:
    rows = [
        report(nc_ans_le=8, nc_ans_gt=1, nc_que_le=3, nc_que_gt=1),
        report(nc_ans_le=0, nc_ans_gt=0, nc_que_le=0, nc_que_gt=0),
    ]
    assert service_level(rows, 20) == 0.8  # 8 of 10; the 3 short abandons do not count
    assert service_level(rows, 20, short_abandons=True) == 8 / 13
    no_call = report(nc_ans_le=0, nc_ans_gt=0, nc_que_gt=0)
    assert service_level([no_call], 20) is None  # no call: no level
    with pytest.raises(ValueError, match="cutoff=30"):
        service_level(rows, 30)  # counted against 20 seconds
    with pytest.raises(ValueError, match="cutoff=None"):
        service_level([report(None, nc_ans_le=1)], 20)


def test_service_level_from_cdr_rows_matches_the_report_figures() -> None:
    calls = [
        cdr(5, answered=True),
        cdr(20, answered=True),
        cdr(21, answered=True),
        cdr(3, answered=False),  # gave up before the cutoff: not counted
        cdr(40, answered=False),
        cdr(90, answered=True, dial_type="out"),  # not an inbound call
    ]
    assert service_level(calls, 20) == 2 / 4
    assert service_level(calls, 20, short_abandons=True) == 2 / 5
    figures = report(nc_ans_le=2, nc_ans_gt=1, nc_que_le=1, nc_que_gt=1)
    assert service_level([figures], 20) == service_level(calls, 20)


@pytest.mark.parametrize(
    ("cutoff", "error"),
    [
        (float("nan"), ValueError),  # no wait compared <= nan: a level of 0.0
        (-1, ValueError),  # every answered call "too late": 0.0
        (float("inf"), ValueError),  # reports.calls refuses it too
        (None, TypeError),
        (True, TypeError),
        ("20", TypeError),
    ],
)
def test_a_cutoff_that_is_no_number_of_seconds_is_refused(cutoff: object, error: type) -> None:
    calls = [cdr(5, answered=True), cdr(40, answered=False)]
    with pytest.raises(error, match="cutoff must be a number of seconds >= 0"):
        service_level(calls, cutoff)  # type: ignore[arg-type]  # what the test is about
    with pytest.raises(error, match="cutoff must be a number of seconds >= 0"):
        service_level([], cutoff)  # type: ignore[arg-type]  # what the test is about
    instant = [cdr(0, answered=True), cdr(40, answered=False)]
    assert service_level(instant, 0) == 0.5  # 0 is a cutoff: only an instant answer counts


def test_service_level_of_cdr_rows_read_without_their_direction_says_so() -> None:
    # reports.cdr_list(["qid", "cres", "sec_que"], qtype="inbound"): no ctype, no dtype,
    # so no row says it is inbound; a level of None ("no call counts") would be wrong.
    answered = CdrRow.from_record({"callid": "1", "qid": "1007", "cres": "Answered", "sec_que": 5})
    with pytest.raises(ValueError, match="ctype"):
        service_level([answered], 20)


def test_report_rows_read_without_the_figures_a_kpi_needs_say_so() -> None:
    # reports.calls(["qid", "nc_ans_le", "nc_ans_gt"], cutoff=20): no nc_que_gt, so the
    # callers who gave up after the cutoff read as none and the level was 1.0, not 0.5;
    # reports.calls(["qid", "nc_ans"]): no sec_call, so the handle time was 0.0.
    no_abandons = ReportRow.from_record({"qid": "1007", "nc_ans_le": 1, "nc_ans_gt": 0}, cutoff=20)
    with pytest.raises(ValueError, match="nc_que_gt"):
        service_level([no_abandons], 20)
    with pytest.raises(ValueError, match="nc_que_le"):
        service_level([report(nc_ans_le=1, nc_ans_gt=0, nc_que_gt=1)], 20, short_abandons=True)
    with pytest.raises(ValueError, match="sec_call"):
        average_handle_time([ReportRow.from_record({"qid": "1007", "nc_ans": 4})])
    with pytest.raises(ValueError, match="nc_ans"):
        average_handle_time([report(sec_call=600.0)])  # no count: "no call answered"
    whole = report(nc_ans_le=1, nc_ans_gt=0, nc_que_gt=1, sec_call=60.0, nc_ans=1)
    assert (service_level([whole], 20), average_handle_time([whole])) == (0.5, 60.0)


@pytest.mark.parametrize("figure", [lambda rows: service_level(rows, 20), average_handle_time])
def test_a_row_given_alone_or_a_wire_record_is_a_type_error_saying_so(figure: Any) -> None:
    # A ReportRow iterates its field names: service_level(row, 20) failed with
    # "'str' object has no attribute 'dial_type'", a record with "... no attribute 'raw'".
    alone = report(nc_ans_le=1, nc_ans_gt=0, nc_que_gt=0, nc_ans=1, sec_call=60.0)
    with pytest.raises(TypeError, match=r"not one ReportRow: give \[row\]"):
        figure(alone)
    with pytest.raises(TypeError, match="rows must hold ReportRow or CdrRow items"):
        figure([alone, dict(alone)])
    assert figure([alone]) is not None


def test_average_handle_time() -> None:
    rows = [report(sec_call=600.0, nc_ans=4), report(sec_call=300.0, nc_ans=2)]
    assert average_handle_time(rows) == 150.0
    assert average_handle_time(rows, wrap_time=120.0) == 170.0
    assert average_handle_time([report(sec_call=0.0, nc_ans=0)]) is None
    # sec_call is every call's agent time, manual ones included; nc_ans leaves those out
    # (nc_ans_man counts them), so a row with both divides by both.
    assert average_handle_time([report(sec_call=900.0, nc_ans=2, nc_ans_man=1)]) == 300.0
    calls = [
        cdr(0, answered=True, talk=100),
        cdr(0, answered=True, talk=50),
        cdr(9, answered=False),
    ]
    assert average_handle_time(calls) == 75.0


@pytest.mark.parametrize(
    ("records", "wrap_time"),
    [
        # Each a finite figure, their sum not: the handle time was inf.
        (
            [
                {"qid": "1", "sec_call": 1e308, "nc_ans": 1},
                {"qid": "2", "sec_call": 1e308, "nc_ans": 1},
            ],
            0.0,
        ),
        ([{"qid": "1", "sec_call": 1e308, "nc_ans": 1}], 1e308),
        # A count no float holds: a bare OverflowError from the division.
        ([{"qid": "1", "sec_call": 60.0, "nc_ans": 10**400}], 0.0),
    ],
    ids=["seconds-add-up-to-inf", "with-wrap-time", "count-past-a-float"],
)
def test_figures_past_what_a_float_holds_are_a_value_error_not_inf_or_overflow(
    records: list[dict[str, Any]], wrap_time: float
) -> None:
    rows = [ReportRow.from_record(record) for record in records]  # as a reply may send them
    with pytest.raises(ValueError, match="past what a float holds"):
        average_handle_time(rows, wrap_time=wrap_time)


@pytest.mark.parametrize(
    ("wrap_time", "error"),
    [
        (-100.0, ValueError),  # made 60 s of talk a handle time of -40 s
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        (None, TypeError),
        (True, TypeError),
    ],
)
def test_a_wrap_time_that_is_no_number_of_seconds_is_refused(
    wrap_time: object, error: type
) -> None:
    calls = [cdr(0, answered=True)]
    with pytest.raises(error, match="wrap_time must be a number of seconds >= 0"):
        average_handle_time(calls, wrap_time=wrap_time)  # type: ignore[arg-type]  # what the test is about
    assert average_handle_time(calls, wrap_time=0) == 60.0


def test_cdr_rows_read_without_the_fields_a_figure_needs_say_so() -> None:
    # reports.cdr_list(["ctype", "cres"]): no sec_que, so every queue time read 0 and the
    # level was 1.0, every answered call "within the cutoff"; no tm_answ/tm_disc, so every
    # talk time read 0 and the handle time was 0.0.
    no_queue_time = CdrRow.from_record({"callid": "1", "ctype": "in", "cres": "Answered"})
    with pytest.raises(ValueError, match="sec_que"):
        service_level([no_queue_time], 20)
    with pytest.raises(ValueError, match="tm_answ"):
        average_handle_time([no_queue_time])
    no_answer = CdrRow.from_record({"callid": "2", "ctype": "in", "sec_que": 45})
    with pytest.raises(ValueError, match="cres"):
        service_level([no_answer], 20)  # every call read unanswered: a level of 0
    # With them, the figures are the calls'; a null value is a value, not a missing field.
    read = CdrRow.from_record(
        {"callid": "3", "ctype": "in", "cres": "Answered", "sec_que": 30, "tm_answ": 1000,
         "tm_disc": 1090, "sec_key": None}
    )  # fmt: skip
    assert service_level([read], 20) == 0.0
    assert average_handle_time([read]) == 90.0
    only_answer_time = CdrRow.from_record(
        {"callid": "4", "dtype": "in", "sec_que": 5, "tm_answ": 1000, "tm_disc": 1010}
    )
    assert service_level([only_answer_time], 20) == 1.0  # tm_answ tells it was answered


def test_handle_time_of_cdr_rows_read_without_their_answer_time_says_so() -> None:
    # reports.cdr_list(["ctype", "sec_que", "tm_disc"]): no tm_answ and no cres, so no row
    # read as answered and the handle time was None ("no call answered"), not an error.
    for fields in ({"sec_que": 5}, {"sec_que": 5, "tm_disc": 1090}):
        calls = [CdrRow.from_record({"callid": "1", "ctype": "in", **fields})]
        with pytest.raises(ValueError, match="tm_answ"):
            average_handle_time(calls)
    no_disconnect = CdrRow.from_record({"callid": "2", "ctype": "in", "tm_answ": 0})
    with pytest.raises(ValueError, match="tm_disc"):
        average_handle_time([no_disconnect])  # unanswered, but its fields were never read
    # Read with both, an unanswered call is no call answered: None, not an error.
    unanswered = CdrRow.from_record({"callid": "3", "ctype": "in", "tm_answ": 0, "tm_disc": 990})
    assert average_handle_time([unanswered]) is None


# -- properties -------------------------------------------------------------------------

_changes = st.lists(
    st.tuples(st.integers(0, 400), st.sampled_from("abc"), st.sampled_from(STATUSES)),
    max_size=20,
)


@settings(max_examples=examples(100), deadline=None)
@given(changes=_changes, start=st.integers(0, 400), length=st.integers(0, 200), data=st.data())
def test_time_in_status_is_each_agents_window_whatever_the_order_of_the_rows(
    changes: list[tuple[int, str, str]], start: int, length: int, data: st.DataObject
) -> None:
    rows = [row(uid, uts, agent, status) for uid, (uts, agent, status) in enumerate(changes, 1)]
    stop = start + length
    spent = time_in_status(rows, start, stop)
    # Shuffled, and with rows read twice (two overlapping reads): the same figures.
    twice = data.draw(st.lists(st.sampled_from(rows))) if rows else []
    assert time_in_status(data.draw(st.permutations(rows + twice)), start, stop) == spent
    for agent, statuses in spent.items():
        assert all(0 < seconds <= length for seconds in statuses.values())  # none negative
        first = min((r for r in rows if r.agent_id == agent), key=lambda r: r.log_id)
        if first.started_ts <= start:  # in a status since before the window: all of it
            assert sum(statuses.values()) == length
        else:  # not before its first row, and never past stop
            assert sum(statuses.values()) == stop - first.started_ts


@pytest.mark.parametrize(
    ("figures", "level", "with_short_abandons"),
    [
        # answered in time / (answered + abandoned after the cutoff [+ abandoned sooner])
        ((80, 10, 5, 5), 80 / 95, 80 / 100),  # 0.8421..., 0.8
        ((0, 0, 3, 0), None, 0.0),  # three callers gave up at once: no call counts, or 0 of 3
        ((0, 0, 0, 0), None, None),  # no call: no level (never a ZeroDivisionError)
        ((10, 0, 0, 0), 1.0, 1.0),
        ((0, 4, 0, 1), 0.0, 0.0),
    ],
)
def test_service_level_by_hand(
    figures: tuple[int, int, int, int], level: float | None, with_short_abandons: float | None
) -> None:
    # As the wire sends them: counts as text.
    names = ("nc_ans_le", "nc_ans_gt", "nc_que_le", "nc_que_gt")
    counts = dict(zip(names, map(str, figures), strict=True))
    wire = ReportRow.from_record({"qid": "1007", **counts}, cutoff=20)
    assert service_level([wire], 20) == level
    assert service_level([wire], 20, short_abandons=True) == with_short_abandons


@pytest.mark.parametrize(
    ("sec_call", "nc_ans", "nc_ans_man", "wrap_time", "handle"),
    [
        ("3600.000", "24", "0", 0.0, 150.0),  # 3600 s / 24 calls
        ("3600.000", "24", "0", 480.0, 170.0),  # (3600 + 480) s / 24 calls
        ("3600.000", "20", "4", 0.0, 150.0),  # manual calls: 3600 s / (20 + 4) calls
        ("0.000", "0", "0", 60.0, None),  # no call answered: no handle time
    ],
)
def test_average_handle_time_by_hand(
    sec_call: str, nc_ans: str, nc_ans_man: str, wrap_time: float, handle: float | None
) -> None:
    wire = {"qid": "1007", "sec_call": sec_call, "nc_ans": nc_ans, "nc_ans_man": nc_ans_man}
    assert average_handle_time([ReportRow.from_record(wire)], wrap_time=wrap_time) == handle


_calls = st.lists(
    st.tuples(
        st.integers(0, 60), st.booleans(), st.sampled_from(["in", "out"]), st.integers(0, 900)
    ),
    max_size=30,
)


@settings(max_examples=examples(100), deadline=None)
@given(calls=_calls, cutoff=st.integers(0, 40), data=st.data())
def test_the_figures_of_cdr_rows_are_those_of_their_report_in_any_order(
    calls: list[tuple[int, bool, str, int]], cutoff: int, data: st.DataObject
) -> None:
    rows = [
        cdr(waited, answered=answered, talk=talk, dial_type=dial_type)
        for waited, answered, dial_type, talk in calls
    ]
    inbound = [r for r in rows if r.dial_type == "in"]
    # The report of the same calls, by REPORTING.md's definitions.
    report_row = report(
        cutoff,
        nc_ans_le=sum(r.answered and r.queue_time <= cutoff for r in inbound),
        nc_ans_gt=sum(r.answered and r.queue_time > cutoff for r in inbound),
        nc_que_le=sum(not r.answered and r.queue_time <= cutoff for r in inbound),
        nc_que_gt=sum(not r.answered and r.queue_time > cutoff for r in inbound),
        nc_ans=sum(r.answered for r in rows),
        sec_call=sum(r.talk_time for r in rows),
    )
    shuffled = data.draw(st.permutations(rows))
    for short in (False, True):
        level = service_level(rows, cutoff, short_abandons=short)
        assert level == service_level([report_row], cutoff, short_abandons=short)
        assert level == service_level(shuffled, cutoff, short_abandons=short)
        assert level is None or 0.0 <= level <= 1.0
    handle = average_handle_time(rows)
    assert handle == average_handle_time([report_row])
    assert handle == average_handle_time(shuffled)


def wire_cdr(call_id: int, started: int, waited: int, answered: bool) -> CdrRow:
    return CdrRow.from_record(
        {"callid": str(call_id), "ctype": "in", "sec_que": waited, "tm_init": started,
         "tm_answ": started + waited if answered else 0, "tm_disc": started + waited + 60}
    )  # fmt: skip


@settings(max_examples=examples(100), deadline=None)
@given(
    calls=st.lists(st.tuples(st.integers(0, 7200), st.integers(0, 60), st.booleans()), max_size=20),
    cutoff=st.integers(0, 40),
)
def test_a_call_read_in_two_windows_that_share_a_second_counts_once(
    calls: list[tuple[int, int, bool]], cutoff: int
) -> None:
    # range=start:stop includes both ends: read hour by hour, a call that began on the hour
    # is in both hours' rows, and counted twice it moved the level and the handle time.
    base = 1_700_000_000
    rows = [
        wire_cdr(i, base + at, waited, answered)
        for i, (at, waited, answered) in enumerate(calls, 1)
    ]
    hourly = [
        r
        for hour in (base, base + 3600)
        for r in rows
        if hour <= (r.initiated_ts or 0) <= hour + 3600
    ]
    assert service_level(hourly, cutoff) == service_level(rows, cutoff)
    assert average_handle_time(hourly) == average_handle_time(rows)
    once = [wire_cdr(1, base + 3600, 30, True), wire_cdr(2, base, 5, True)]
    assert service_level([*once, once[0]], 20) == 0.5


@pytest.mark.parametrize("value", ["no", 0, None])
def test_short_abandons_must_be_a_bool(value: object) -> None:
    """``short_abandons="no"`` is truthy: the quick give-ups counted against the level."""
    with pytest.raises(TypeError, match="short_abandons must be True or False"):
        service_level([], 20, short_abandons=value)  # type: ignore[arg-type]  # on purpose
