"""``reporting.php``: ``calls`` (grouped figures), ``cdr`` (one row per call) and ``agents``
(login sessions, a method only third-party code shows).

No action: the method is the report. ``fields`` and ``range`` (``start:stop``, unix
UTC, inclusive; a call is in the range when it *started* in it) are required,
``groupby`` too for ``calls``. Only finished calls have a CDR row. Filters
(``campaign``, ``queue``, ``qtype``, ``ctype``, ``agent``, ``dataset``,
``outcome``, ``ddi``, ``cli``, ``urn``, ``team``, and ``callid``) take one value
or a comma list; ``campaign`` is a campaign table, and a value that names none
(the contact centre id the vendor's PHP wrapper sends as ``campaign`` on every
call) is ignored. ``cutoff`` (seconds, default 20) splits ``nc_ans_le``/``_gt``
and ``nc_que_le``/``_gt``. A field the simulator does not know is answered as
null; a name that cannot be a column name (``a b``, ``1x``) answers ``Bad argument:
fields [a b]``. Dates (``P1D``, ``hour``...) are in the account's ``record_tz``.

``cdr`` pages by ``start`` (rows skipped) and ``limit`` (rows at most); its ``total``
is the window's row count, every page alike (REPORTING.md's reply to a request
without ``limit`` says ``"total": 68`` of its rows), not the page's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import cast

from .._asgi import Request
from .._reports import (
    CDR_FIELDS,
    GROUP_FIELDS,
    ReportContext,
    aggregate,
    cdr_row,
    filter_names,
    matches,
)
from .._scenario import OFFLINE
from .._wire import Reply, Value
from ._conventions import BadArgument, error, id_list, int_argument
from ._registry import SimState, endpoint

__all__ = ["reporting"]

AGENT_FIELDS = ("aid", "anm", "tm_login", "tm_logout", "tm_first", "tm_last")
#: What a field name may be: a column name (``nc_all``, ``PT1H``, ``min_10``).
_COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


#: The reports this script answers (``method=``).
METHODS = frozenset({"calls", "cdr", "agents"})


@endpoint("reporting", item="item", methods=METHODS)
def reporting(request: Request, state: SimState) -> Reply:
    """Answer ``method=calls``, ``cdr`` and ``agents``."""
    method = request.method
    if method not in METHODS:
        return error("Unknown method")
    args = request.args
    start, stop = _range(args)
    if method == "agents":
        return _agents(args, state, start, stop)
    fields = _fields(args)
    db = state.scenario.campaigns
    ctx = ReportContext(
        db=db,
        agent_name=lambda uid: _agent_name(state, uid),
        tz=db.tz,
        ccid=state.account_id,
        ccnm=state.ccname,
        cutoff=_cutoff(args),
    )
    filters = {}
    for name in sorted(filter_names()):
        wanted = id_list(args.get(name, ""))
        if wanted is None or (name == "campaign" and not wanted & db.campaign_ids.keys()):
            continue
        filters[name] = wanted
    calls = [call for call in state.scenario.cdr.window(start, stop) if matches(call, filters, ctx)]
    if method == "calls":
        group_by = _names(args, "groupby")
        wrong = [name for name in group_by if name not in GROUP_FIELDS]
        if wrong:
            raise BadArgument(f"Bad argument: groupby [{','.join(wrong)}]")
        rows = aggregate(calls, fields, group_by, ctx)
        return {"success": True, "total": len(rows), "list": _rows(rows)}
    total = len(calls)
    sort = args.get("sort", "").strip()
    if sort:
        keys = [name.strip() for name in sort.split(",") if name.strip()]
        if any(name not in CDR_FIELDS for name in keys):
            raise BadArgument("Bad argument: sort")
        calls.sort(key=lambda call: tuple(_sortable(cdr_row(call, keys, ctx)[k]) for k in keys))
    first = _count(args, "start") or 0
    limit = _count(args, "limit")
    page = calls[first:] if limit is None else calls[first : first + limit]
    rows = [cdr_row(call, fields, ctx) for call in page]
    return {"success": True, "total": total, "list": _rows(rows)}


def _rows(rows: list[dict[str, str | int | float | None]]) -> list[Mapping[str, Value]]:
    # dict is invariant in its values: the rows' narrower type is a Value all the same.
    return cast("list[Mapping[str, Value]]", rows)


def _range(args: Mapping[str, str]) -> tuple[int, int]:
    text = args.get("range", "").strip().removeprefix("range=")  # the docs' "range=range=..."
    low, colon, high = text.partition(":")
    try:  # JavaScript's Date.getTime() / 1000 may carry a fraction: whole seconds count
        start, stop = int(float(low)), int(float(high))
    except (ValueError, OverflowError):
        raise BadArgument("Bad argument: range") from None
    if not colon or stop < start:
        raise BadArgument("Bad argument: range")
    return start, stop


def _names(args: Mapping[str, str], name: str) -> list[str]:
    names = [part.strip() for part in args.get(name, "").split(",") if part.strip()]
    if not names:
        raise BadArgument(f"Bad argument: {name}")
    return names


def _fields(args: Mapping[str, str], default: tuple[str, ...] = ()) -> list[str]:
    """``fields``: column names (each one a key of every row, an element name in XML)."""
    given = [part.strip() for part in args.get("fields", "").split(",") if part.strip()]
    names = given or list(default)
    if not names:
        raise BadArgument("Bad argument: fields")
    wrong = [name for name in names if _COLUMN.fullmatch(name) is None]
    if wrong:
        raise BadArgument(f"Bad argument: fields [{','.join(wrong)}]")
    return names


def _count(args: Mapping[str, str], name: str) -> int | None:
    text = args.get(name, "").strip()
    if not text:
        return None
    value = int_argument(name, text)
    if value < 0:
        raise BadArgument(f"Bad argument: {name}")
    return value


def _cutoff(args: Mapping[str, str]) -> float:
    """``cutoff``: whole seconds from 0 (20 when not given)."""
    seconds = _count(args, "cutoff")
    if seconds is None:
        return 20.0
    try:
        return float(seconds)
    except OverflowError:  # more digits than a float holds
        raise BadArgument("Bad argument: cutoff") from None


def _sortable(value: object) -> tuple[int, float, str]:
    text = "" if value is None else str(value)
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


def _agent_name(state: SimState, uid: str) -> str | None:
    agent = state.scenario.by_uid.get(uid)
    return None if agent is None else state.scenario.name(agent)


def _agents(args: Mapping[str, str], state: SimState, start: int, stop: int) -> Reply:
    """Login sessions that began in the range (``isset=tm_login``), or that overlap it.

    ``tm_first`` and ``tm_last`` are the session's first and last call (``0`` when it
    had none; the third-party code that uses them does not say). ``tm_logout`` is
    ``0`` while the agent is still logged in. Only the rows ``status_log`` shows count:
    a change newer than ``log_delay`` is in neither yet.
    """
    fields = _fields(args, default=AGENT_FIELDS)
    wanted = id_list(args.get("agent", ""))
    logged_in_only = args.get("isset", "").strip() == "tm_login"
    sessions: dict[str, dict[str, str | None]] = {}
    rows: list[dict[str, str | None]] = []
    # The rows status_log shows (log_delay), so the sessions agree with what it tells.
    visible = state.scenario.now - state.log_delay
    for _, when, uid, status, _, callid in state.scenario.log_rows(visible_before=visible):
        if wanted is not None and uid not in wanted:
            continue
        open_session = sessions.get(uid)
        if status == OFFLINE:
            if open_session is not None:
                open_session["tm_logout"] = str(int(when))
                rows.append(sessions.pop(uid))
            continue
        if open_session is None:
            open_session = sessions[uid] = {
                "aid": uid,
                "anm": _agent_name(state, uid),
                "tm_login": str(int(when)),
                "tm_logout": "0",
                "tm_first": "0",
                "tm_last": "0",
            }
        if callid != "0":
            if open_session["tm_first"] == "0":
                open_session["tm_first"] = str(int(when))
            open_session["tm_last"] = str(int(when))
    rows.extend(sessions.values())
    kept: list[dict[str, str | int | float | None]] = []
    for row in rows:
        login = int(row["tm_login"] or 0)
        logout = int(row["tm_logout"] or 0) or stop
        inside = start <= login <= stop
        if inside or (not logged_in_only and login <= stop and logout >= start):
            kept.append({name: row.get(name) for name in fields})
    kept.sort(key=lambda row: (str(row.get("tm_login")), str(row.get("aid"))))
    return {"success": True, "total": len(kept), "list": _rows(kept)}
