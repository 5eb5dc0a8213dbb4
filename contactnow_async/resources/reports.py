"""``reporting.php``: grouped call figures (``calls``), call detail records (``cdr``) and
login sessions (``agents``)."""

from __future__ import annotations

import difflib
import functools
import math
import operator
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from .._models_reports import SESSION_ATTRIBUTES, AgentSession, CdrRow, ReportRow
from .._wire import Envelope
from ._base import Resource, before, boolean, build, id_list, window_bound
from ._cdr_pages import CdrPages

__all__ = ["CALLS_FIELDS", "CDR_FIELDS", "FILTERS", "GROUP_FIELDS", "Reports"]

Moment = int | float | datetime
FilterValue = str | int | Iterable[str | int] | None

#: The grouping fields of ``calls`` (REPORTING.md: "can be used as grouping").
GROUP_FIELDS: Final = frozenset(
    {
        "qtable", "qtype", "qid", "qnm", "aid", "anm", "dsid", "dsnm", "urn", "ddi", "cli",
        "tid", "tnm", "has_aid", "PT1H", "P1D", "P1W", "P1M", "date", "day", "hour", "min_10",
        "dest", "dcode", "ctype", "dtype", "cres", "is_mob", "ocid", "ocnm", "ocis_cmpl",
        "ocis_cmpli", "ocis_sale", "ocis_dmc",
    }
)  # fmt: skip
#: Every field ``calls`` documents: the grouping fields, the figures, and the ones the
#: vendor's own ReportingExamples.js asks for beyond the table (``sec_talk_all``,
#: ``sec_talk``, ``sec_tpt``, ``oc_cbck``, ``callid_max``).
CALLS_FIELDS: Final = GROUP_FIELDS | frozenset(
    {
        "nc_all", "nc_in", "nc_out", "nc_out_all", "nc_sms_out", "nc_man", "nc_tpt", "nc_dtpt",
        "nc_wait", "nc_wrap", "nc_con", "nc_ans", "nc_ans_in", "nc_ans_man", "nc_que",
        "nc_ans_le", "nc_ans_gt", "nc_que_le", "nc_que_gt", "sec_dur", "sec_call", "sec_ans",
        "oc_abdn", "oc_ama", "oc_amd", "oc_dead", "oc_noansw", "oc_sale", "oc_cmpl", "oc_cmpli",
        "oc_ncmpl", "oc_dmc", "cost_cust", "bill_cust", "bill_dur",
        "sec_talk_all", "sec_talk", "sec_tpt", "oc_cbck", "callid_max",
    }
)  # fmt: skip
#: The fields of ``cdr``, in the documented order.
CDR_FIELDS: Final = (
    "callid", "qtable", "qtype", "qid", "qnm", "aid", "anm", "dsid", "dsnm", "urn", "ddi",
    "cli", "cres", "ocid", "ocnm", "flags", "carrier", "ctag", "tag", "dest", "dcode", "ctype",
    "dtype", "sms_msg", "sec_dur", "sec_ring", "sec_que", "tm_init", "tm_answ", "tm_disc",
    "oc_sale", "oc_cmpl", "oc_cmpli", "oc_ncmpl", "oc_dmc", "cost_cust", "bill_cust",
    "bill_dur", "ivr_key", "sec_key", "orig_qnm",
)  # fmt: skip
#: The filters ``calls`` documents (its ``cutoff`` is an argument of its own).
FILTERS: Final = (
    "campaign", "queue", "qtype", "ctype", "agent", "dataset", "outcome", "ddi", "cli", "urn",
    "team",
)  # fmt: skip
#: The filters ``cdr`` documents: not ``team``; ``cutoff``, ``callid`` and ``sort`` besides
#: (``limit`` and ``start`` are the paging's own).
_CDR_FILTERS: Final = (*(name for name in FILTERS if name != "team"), "cutoff", "callid", "sort")
_AGENT_FIELDS: Final = tuple(SESSION_ATTRIBUTES)
#: The parameters a method sets from its own arguments: a filter of the same name, even
#: with ``strict=False``, would replace them on the wire (or, ``limit``, be replaced).
_CALLS_OWN: Final = {"range": "start and stop", "groupby": "group_by"}
_CDR_OWN: Final = {"range": "start and stop", "limit": "page_size"}


class Reports(Resource):
    """Read the contact centre's reports: KPIs for a wallboard, CDR for a data warehouse.

    Times are unix seconds or aware datetimes, sent as ``range=start:stop`` (UTC,
    inclusive); a call belongs to the window it started in. Filters are the API's own
    names (``queue=1007``, ``agent=[1, 2]``, ``ctype="in"``); a list is sent as a comma
    list. Field names are checked against the documented tables: an unknown one is a
    ValueError naming the close matches; ``strict=False`` sends names (and filters)
    the documents do not list yet. A filter named as what the method's own arguments
    send (``range``, ``groupby``, ``cdr``'s ``limit``) is a TypeError, whatever ``strict``.
    """

    __slots__ = ()

    CALLS_FIELDS = CALLS_FIELDS
    GROUP_FIELDS = GROUP_FIELDS
    CDR_FIELDS = CDR_FIELDS

    async def calls(
        self,
        fields: Sequence[str] | str,
        *,
        start: Moment,
        stop: Moment,
        group_by: Sequence[str] | str,
        cutoff: int | None = None,
        strict: bool = True,
        **filters: FilterValue,
    ) -> list[ReportRow]:
        """Return ``calls``: one :class:`ReportRow` per group of ``group_by`` with ``fields``
        (and the ``group_by`` fields, asked for too so that each row names its group: a
        row without one raises :class:`~contactnow_async.ResponseFormatError`, as does a
        reply whose ``total`` is not its number of rows).

        ``cutoff`` (whole seconds) is the service-level target ``nc_ans_le``/``_gt`` and
        ``nc_que_le``/``_gt`` count against (the row keeps it as ``row.cutoff``, which
        :func:`~contactnow_async.analytics.service_level` checks).
        """
        strict = boolean(strict, name="strict")
        names = _names(fields, CALLS_FIELDS, what="calls field", strict=strict)
        groups = _names(group_by, GROUP_FIELDS, what="group_by field", strict=strict)
        names += [name for name in groups if name not in names]  # each row names its group
        cutoff = _cutoff(cutoff)
        params = {
            "fields": ",".join(names),
            "range": _range(start, stop),
            "groupby": ",".join(groups),
            "cutoff": cutoff,
            **_filters(filters, FILTERS, strict=strict, what="reports.calls", own=_CALLS_OWN),
        }
        envelope = await self._client.request(
            "reporting", method="calls", params=params, idempotent=True
        )
        model = functools.partial(_grouped_row, groups=groups, cutoff=cutoff)
        # Its total counts the rows (ReportingExamples.js: 7, beside a row of nc_all 10):
        # one unlike them is a reply cut or capped, not the whole report (calls does not page).
        return build(model, envelope, what="reports.calls")

    def cdr(
        self,
        fields: Sequence[str] | str,
        *,
        start: Moment,
        stop: Moment,
        page_size: int = 1000,
        strict: bool = True,
        **filters: FilterValue,
    ) -> AsyncIterator[CdrRow]:
        """Iterate the call detail records of the window, one :class:`CdrRow` per call.

        Reads ``page_size`` rows a request (``limit``/``start``) until the window is
        read, holding one page of rows at a time. ``callid`` is always asked for (a row is
        named by it). ``sort`` is passed to the API as given.

        When the window ends: a reply's ``total`` is read as the window's row count
        (REPORTING.md's reply to a request without ``limit`` says ``"total": 68`` of
        its rows; the simulator counts the window), so paging goes on while fewer
        rows than ``total`` are read, whatever the length of a page (a server may
        cut pages short of ``limit``), and an empty page before then raises
        :class:`~contactnow_async.ResponseFormatError` (how many of how many rows
        were read), never a partial window. A ``total`` equal to its page's row
        count may be only that (the envelope's "records affected or returned"):
        such a reply, one without ``total``, or one whose ``total`` is below the rows
        read by its page's end (it counts no window), is read against the last window
        count a page before said (a server may count it for the first page alone), and
        without one ends the read with a page shorter than ``page_size``. A ``total``
        that is not a whole number >= 0 raises.

        A window still filling (calls reach the CDR when they end) may shift between
        pages; a call is yielded once however often it is listed. Calls that land ahead
        of the offset mid-read are read by passes from the top once the last page is
        read (while the last ``total`` says more calls than were read; one page for a
        window sorted newest first), so the memory held is one page of rows and the
        call ids read. A window growing faster than it is read (past twice its size, or
        after three passes) raises :class:`~contactnow_async.ResponseFormatError`. A page
        repeating more rows of the page before than the window grew by (by the
        totals; without them, half the page or more), or the same calls as an earlier
        page, raises :class:`~contactnow_async.ResponseFormatError`: the server ignores
        ``start``, or cycles through its pages.
        """
        strict = boolean(strict, name="strict")
        names = _names(fields, frozenset(CDR_FIELDS), what="cdr field", strict=strict)
        if "callid" not in names:
            names.insert(0, "callid")
        try:  # not int(): it made 1.7 a 1, and "1000" a page size
            size = operator.index(page_size) if not isinstance(page_size, bool) else None
        except TypeError:
            size = None
        if size is None:
            raise TypeError(f"page_size must be a whole number of rows, not {page_size!r}")
        if not 1 <= size <= 100_000:
            raise ValueError(f"page_size must be 1 to 100,000 rows, not {page_size!r}")
        if "cutoff" in filters:  # seconds, as reports.calls takes it: -5 and 20.5 went out
            filters["cutoff"] = _cutoff(filters["cutoff"])
        params = {
            "fields": ",".join(names),
            "range": _range(start, stop),
            **_filters(filters, _CDR_FILTERS, strict=strict, what="reports.cdr", own=_CDR_OWN),
        }
        return CdrPages(self._page, params, size)

    async def cdr_list(
        self,
        fields: Sequence[str] | str,
        *,
        start: Moment,
        stop: Moment,
        page_size: int = 1000,
        strict: bool = True,
        **filters: FilterValue,
    ) -> list[CdrRow]:
        """Return every call detail record of the window (for small windows: see :meth:`cdr`)."""
        pages = self.cdr(
            fields, start=start, stop=stop, page_size=page_size, strict=strict, **filters
        )
        return [row async for row in pages]

    async def agents(
        self,
        *,
        start: Moment,
        stop: Moment,
        agent: str | int | Iterable[str | int] | None = None,
        logged_in_only: bool = True,
    ) -> list[AgentSession]:
        """Return agents' login sessions in the window (``method=agents``).

        **Only third-party code shows this method** (REPORTING.md does not list it):
        ``aid, anm, tm_login, tm_logout, tm_first, tm_last``, asked for with
        ``isset=tm_login`` (sessions that logged in within the window; set
        ``logged_in_only=False`` to leave it out). The API may refuse it.
        """
        params = {
            "fields": ",".join(_AGENT_FIELDS),
            "range": _range(start, stop),
            "agent": _value(agent, "agent"),
            "isset": "tm_login" if boolean(logged_in_only, name="logged_in_only") else None,
        }
        envelope = await self._client.request(
            "reporting", method="agents", params=params, idempotent=True
        )
        return build(AgentSession.from_record, envelope, what="reports.agents", total_is_rows=False)

    async def _page(self, params: dict[str, Any]) -> Envelope:
        return await self._client.request("reporting", method="cdr", params=params, idempotent=True)


def _grouped_row(
    record: Mapping[str, Any], *, groups: Sequence[str], cutoff: int | None
) -> ReportRow:
    """A ``calls`` row, which must name its group: a row without a documented ``group_by``
    field (a null record, say) is told from no other, and would be summed into the wrong
    group. (A name sent with ``strict=False`` the server may not know, and leave out.)"""
    missing = [name for name in groups if name in GROUP_FIELDS and name not in record]
    if missing:
        raise ValueError(f"a row without its group_by field {', '.join(missing)}")
    return ReportRow.from_record(record, cutoff=cutoff)


#: An unknown name's error lists the documented ones, when nothing is close to it, if
#: there are at most this many (group_by's 34: yes; the calls and cdr fields: no).
_LISTED = 40


def _names(
    given: Sequence[str] | str, known: frozenset[str], *, what: str, strict: bool
) -> list[str]:
    parts = given.split(",") if isinstance(given, str) else list(given)
    # Each once: a field twice in an XML row reads as a list, not a figure.
    names = list(dict.fromkeys(str(name).strip() for name in parts if str(name).strip()))
    if not names:
        raise ValueError(f"give at least one {what}")
    if strict:
        for name in names:
            if name not in known:
                # In another case (NC_ALL, pt1h) difflib finds nothing alike.
                close = [k for k in sorted(known) if k.casefold() == name.casefold()]
                close = close or difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
                if close:
                    hint = f": did you mean {', '.join(close)}?"
                elif len(known) <= _LISTED:
                    hint = f": the documented ones are {', '.join(sorted(known))}"
                else:  # too many to list, none alike: the name alone
                    hint = ""
                raise ValueError(
                    f"unknown {what} {name!r}{hint} (strict=False, or --no-strict, sends "
                    "a name the documentation does not list)"
                )
    return names


def _cutoff(cutoff: object) -> int | None:
    """The service-level cutoff, in the whole seconds the API counts (20.5 went as 20)."""
    if cutoff is None:
        return None
    if isinstance(cutoff, bool) or not isinstance(cutoff, (int, float)):
        raise TypeError(f"cutoff must be a number of seconds, not {cutoff!r}")
    if not 0 <= cutoff < math.inf:
        raise ValueError(f"cutoff must be a number of seconds >= 0, not {cutoff!r}")
    if cutoff != int(cutoff):
        raise ValueError(f"cutoff must be whole seconds, not {cutoff!r}")
    return int(cutoff)


def _range(start: Moment, stop: Moment) -> str:
    low, high = window_bound(start, name="start"), window_bound(stop, name="stop")
    if before(stop, start):
        raise ValueError(f"stop ({stop}) is before start ({start})")
    return f"{low}:{high}"


def _value(value: FilterValue, name: str) -> str | None:
    """A filter's value as the API's comma list; refused when it would go as other values
    than meant (bytes, a mapping, a bool or None among the items, an item with a comma)."""
    return id_list(value, name=f"filter {name}", kind="value")


def _filters(
    given: dict[str, FilterValue],
    known: tuple[str, ...],
    *,
    strict: bool,
    what: str,
    own: Mapping[str, str],
) -> dict[str, str | None]:
    for name in given:
        if name in own:
            raise TypeError(
                f"{what}(): filter {name!r} is set by {own[name]}, whatever strict "
                f"says; pass {own[name]}, not the filter"
            )
    if strict:
        for name in given:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise TypeError(
                    f"{what}() got an unknown filter {name!r}{hint}; the documented ones are "
                    f"{', '.join(known)} (strict=False, or --no-strict, sends it anyway)"
                )
    return {name: _value(value, name) for name, value in given.items()}
