"""Wallboard figures: time in status (from status_log rows, the vendor's stated use of
the log), service level and average handle time (from report or CDR rows).

::

    rows = await cn.status_log.read(tstart=start - 86_400, tstop=stop)
    per_agent = time_in_status(rows, start, stop)
    per_agent["1234"]["call"]   # seconds agent 1234 spent on calls in [start, stop)

    queues = await cn.reports.calls(
        ["qid", "nc_ans", "nc_ans_le", "nc_ans_gt", "nc_que_le", "nc_que_gt", "sec_call"],
        start=start, stop=stop, group_by=["qid"], cutoff=20, qtype="inbound",
    )
    service_level(queues, 20)      # 0.83: answered within 20 s, of the calls that counted
    average_handle_time(queues)    # 212.4 seconds of talk per answered call

Each status_log row says an agent *entered* a status at ``uts``; the status lasts
until that agent's next row. Intervals are clipped to the window: a status that
began before ``start`` counts from ``start`` (pass rows from before the window to
know it), and the last status of each agent runs until ``stop``: a ``stop`` still to
come would count it into the future, so a window of today so far ends now, not at
midnight tonight.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import datetime

from ._models import StatusLogEntry
from ._models_reports import CdrRow, ReportRow
from .resources._base import boolean, window_bound

__all__ = ["average_handle_time", "service_level", "time_in_status"]


def time_in_status(
    rows: Iterable[StatusLogEntry],
    start: int | float | datetime,
    stop: int | float | datetime,
) -> dict[str, dict[str, float]]:
    """Return ``{agent_id: {status: seconds}}`` over ``[start, stop)`` (unix seconds, to
    the fraction, or aware datetimes).

    Rows may come in any order (they are sorted by uid, the order of the changes: a row
    stamped before the row ahead of it counts from that row's time). A row that is not a
    StatusLogEntry (a wire record), or one row given alone, raises TypeError. Statuses with no
    time in the window are left out; agents with no time in the window too.

    Each agent's last status is open: it counts up to ``stop`` as given, even a ``stop``
    still to come (this function has no clock, so the same rows and window always give
    the same figures, on a simulator's virtual clock too). For a window up to now, give
    now as ``stop``, on the centre's clock: ``min(stop, time.time() + token.clock_offset)``
    with the token of ``await cn.tokens.get()``, as ``contactnow status-log --summary``
    does; a ``stop`` of midnight tonight would count the hours to midnight in it.
    """
    low = _bound(start, name="start")
    high = _bound(stop, name="stop")
    if high < low:
        raise ValueError(f"stop ({high}) is before start ({low})")
    by_agent: dict[str, list[StatusLogEntry]] = {}
    for row in sorted(_log_rows(rows), key=lambda row: row.log_id):
        by_agent.setdefault(row.agent_id, []).append(row)
    totals: dict[str, dict[str, float]] = {}
    for agent_id, agent_rows in by_agent.items():
        spent: dict[str, float] = {}
        # A row stamped before the one ahead of it in uid order (two servers' clocks)
        # began no earlier than that one: counted from its own time, the two overlapped.
        began = [row.started_ts for row in agent_rows]
        for index in range(1, len(began)):
            began[index] = max(began[index], began[index - 1])
        for index, row in enumerate(agent_rows):
            until = began[index + 1] if index + 1 < len(began) else high
            seconds = min(until, high) - max(began[index], low)
            if seconds > 0:
                spent[row.status] = spent.get(row.status, 0.0) + seconds
        if spent:
            totals[agent_id] = spent
    return totals


def _log_rows(rows: Iterable[StatusLogEntry]) -> Iterator[StatusLogEntry]:
    """``rows``, each a StatusLogEntry: one row given alone or a wire record is a
    TypeError saying so, not "not iterable" or "no attribute 'log_id'"."""
    if isinstance(rows, StatusLogEntry):
        raise TypeError("rows must be an iterable of rows, not one StatusLogEntry: give [row]")
    for row in rows:
        if not isinstance(row, StatusLogEntry):
            raise TypeError(
                f"rows must hold StatusLogEntry items (from cn.status_log.read), not {row!r:.60}"
            )
        yield row


def _bound(value: int | float | datetime, *, name: str) -> float:
    """A window bound as unix seconds, to the fraction given: the checks are
    :func:`window_bound`'s, whose whole seconds would count up to a second too many
    (a window of 10.9 to 11.0 was 1 second long) or let a stop before its start by.
    """
    window_bound(value, name=name)
    seconds = value.timestamp() if isinstance(value, datetime) else value
    if seconds < 0:  # -0.5: whole seconds toward 0 made it 0, and it passed
        raise ValueError(
            f"{name} {value!r} is before 1970: a unix time is in seconds, from 1970"
            " to the end of 9999"
        )
    return seconds


def service_level(
    rows: Iterable[ReportRow] | Iterable[CdrRow],
    cutoff: int | float,
    *,
    short_abandons: bool = False,
) -> float | None:
    """The share of inbound calls answered within ``cutoff`` seconds, from 0 to 1.

    Of the calls that count: those answered, and those abandoned after the cutoff
    (a caller who gave up sooner could not have been served in time; with
    ``short_abandons=True`` they count against the level too). None when no call
    counts. ``rows`` are ``reports.calls`` rows asked for with this ``cutoff`` and
    the fields ``nc_ans_le``, ``nc_ans_gt``, ``nc_que_gt`` (and ``nc_que_le``), or
    CDR rows (``ctype`` or ``dtype``, to tell the inbound calls, ``sec_que`` and the
    answer time, or ``cres``, asked for). A report row counted against another cutoff
    or read without those fields, or a CDR row read without its direction, ``sec_que``
    or both ``cres`` and ``tm_answ``, raises ValueError; so does a ``cutoff`` below 0,
    infinite or NaN. A call read twice (two windows that share a second: ``range`` is
    inclusive) counts once, by its call id.
    """
    if isinstance(cutoff, bool) or not isinstance(cutoff, (int, float)):
        raise TypeError(f"cutoff must be a number of seconds >= 0, not {cutoff!r}")
    if not 0 <= cutoff < math.inf:  # nan: no wait is within it, a level of 0.0
        raise ValueError(f"cutoff must be a number of seconds >= 0, not {cutoff!r}")
    short_abandons = boolean(short_abandons, name="short_abandons")
    within = counted = 0
    for row in _rows(rows):
        if isinstance(row, ReportRow):
            if row.cutoff is None or row.cutoff != cutoff:
                raise ValueError(
                    f"this report row was counted against cutoff={row.cutoff!r}, not {cutoff!r}:"
                    f" ask reports.calls(..., cutoff={cutoff!r})"
                )
            short = ("nc_que_le",) if short_abandons else ()
            _check_figures(row, "service_level", ("nc_ans_le", "nc_ans_gt", "nc_que_gt", *short))
            within += row.count("nc_ans_le")
            counted += row.count("nc_ans_le") + row.count("nc_ans_gt") + row.count("nc_que_gt")
            counted += row.count("nc_que_le") if short_abandons else 0
        elif not (row.dial_type or row.direction):
            raise ValueError(
                "a CDR row without its direction cannot be told inbound:"
                " ask reports.cdr for ctype or dtype too"
            )
        elif (row.dial_type or row.direction) == "in":
            _check_read(row, "service_level", ("sec_que",), ("cres", "tm_answ"))
            if row.answered:
                counted += 1
                within += row.queue_time <= cutoff
            elif row.queue_time > cutoff or short_abandons:
                counted += 1
    return within / counted if counted else None


def average_handle_time(
    rows: Iterable[ReportRow] | Iterable[CdrRow], *, wrap_time: float = 0.0
) -> float | None:
    """Seconds an answered call takes an agent on average: talk time (plus ``wrap_time``,
    the agents' total wrap seconds for those calls, if given) over the calls answered.

    ``rows`` are ``reports.calls`` rows with ``sec_call`` and ``nc_ans`` (and
    ``nc_ans_man`` where agents dial by hand: ``sec_call`` counts those calls' time,
    ``nc_ans`` does not count them), or CDR rows (their answer and disconnect times,
    ``tm_answ`` and ``tm_disc``). ``sec_call`` is the agents' time on calls, answered or
    not (the vendor's sample: ten manual calls, two unanswered, 28 s of ``sec_call``
    beside 0 of ``sec_talk``), so from report rows the figure also carries the time
    agents spent on unanswered calls; CDR rows count answered talk only. A row read
    without those fields raises ValueError. None when no call was answered; a
    ``wrap_time`` below 0, infinite or NaN raises ValueError. A call's CDR row read twice
    counts once, as in :func:`service_level`. Seconds or counts past what a float holds
    (adding up to infinity) raise ValueError.
    """
    if isinstance(wrap_time, bool) or not isinstance(wrap_time, (int, float)):
        raise TypeError(f"wrap_time must be a number of seconds >= 0, not {wrap_time!r}")
    if not 0 <= wrap_time < math.inf:  # a negative total took talk time off the figure
        raise ValueError(f"wrap_time must be a number of seconds >= 0, not {wrap_time!r}")
    talk = 0.0
    answered = 0
    for row in _rows(rows):
        if isinstance(row, ReportRow):
            _check_figures(row, "average_handle_time", ("sec_call", "nc_ans"))
            talk += row.number("sec_call")
            answered += row.count("nc_ans")
            if "nc_ans_man" in row:  # optional: only agents who dial by hand make these
                answered += row.count("nc_ans_man")
        else:
            # Every row: one read without tm_answ (nor cres) reads as unanswered, and a
            # handle time of None would say no call was answered.
            _check_read(row, "average_handle_time", ("tm_answ",), ("tm_disc",))
            if not row.answered:
                continue
            talk += row.talk_time
            answered += 1
    if not answered:
        return None
    handled = talk + wrap_time
    try:
        average = handled / answered
    except OverflowError:  # a count no float holds (10**400 calls): no report's figure
        average = math.inf
    if not math.isfinite(average):  # each figure finite, their sum not: it returned inf
        raise ValueError(
            "average_handle_time: the rows' seconds or counts are past what a float holds"
            " (seconds adding up to infinity, or more than 1e308 calls): no report's figures"
        )
    return average


def _rows(rows: Iterable[ReportRow] | Iterable[CdrRow]) -> Iterator[ReportRow | CdrRow]:
    """``rows``, each a report or CDR row: one row given alone (a ReportRow iterates its
    field names) or a wire record is a TypeError saying so, not an AttributeError.

    A CDR row read again (its call id's, from the wire: the reads of two windows that
    share a second, as ``range`` includes both its ends) is left out; rows built by hand
    (no wire record in ``raw``) are taken as they are."""
    if isinstance(rows, (ReportRow, CdrRow)):
        raise TypeError(
            f"rows must be an iterable of rows, not one {type(rows).__name__}: give [row]"
        )
    calls: set[str] = set()
    for row in rows:
        if isinstance(row, CdrRow):
            if row.raw:
                if row.call_id in calls:
                    continue
                calls.add(row.call_id)
        elif not isinstance(row, ReportRow):
            raise TypeError(
                f"rows must hold ReportRow or CdrRow items (from cn.reports), not {row!r:.60}"
            )
        yield row


def _check_figures(row: ReportRow, figure: str, needed: tuple[str, ...]) -> None:
    """Refuse a report row without a field ``figure`` needs: a missing count reads as 0,
    which would make a figure of it (a level without the abandoned calls, say)."""
    missing = [name for name in needed if name not in row]
    if missing:
        names = ", ".join(missing)
        raise ValueError(f"{figure}: a report row read without {names}: ask reports.calls for it")


def _check_read(row: CdrRow, figure: str, *needed: tuple[str, ...]) -> None:
    """Refuse a CDR row read without a field ``figure`` needs (one of each group): its
    model reads a missing one as 0 or empty, which would make a figure of it. A row
    built by hand (no wire record in ``raw``) is taken as it is."""
    if not row.raw:
        return
    for names in needed:
        if not any(name in row.raw for name in names):
            raise ValueError(
                f"{figure}: a CDR row read without {' or '.join(names)}: ask reports.cdr"
                f" for {' or '.join(names)} too"
            )
