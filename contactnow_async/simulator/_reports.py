"""``reporting.php``'s figures, computed from the CDR exactly as REPORTING.md defines them.

A call counts as *answered* when an agent was connected to the caller (``cres``
``Answered``, ``tm_answ`` set); ``sec_que`` is the time in the queueing system
(inbound calls only), until answered or given up. Where the table is silent or
does not define a figure, the simulator's reading is written beside it below
(:data:`FIGURES`); figures of things it does not simulate (SMS, third-party
transfers, dialler answer-machine detection) are 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta, tzinfo

import attrs

from ._calls import ABANDONED, SimCall
from ._campaigns import CampaignDb

__all__ = [
    "CALL_FIELDS",
    "CDR_FIELDS",
    "FIGURES",
    "GROUP_FIELDS",
    "ReportContext",
    "aggregate",
    "cdr_row",
    "field",
    "filter_names",
    "matches",
]

Value = str | int | float | None

#: The grouping fields of ``calls`` (REPORTING.md's "can be used as grouping").
GROUP_FIELDS = frozenset(
    {
        "qtable", "qtype", "qid", "qnm", "aid", "anm", "dsid", "dsnm", "urn", "ddi", "cli",
        "tid", "tnm", "has_aid", "PT1H", "P1D", "P1W", "P1M", "date", "day", "hour", "min_10",
        "dest", "dcode", "ctype", "dtype", "cres", "is_mob", "ocid", "ocnm", "ocis_cmpl",
        "ocis_cmpli", "ocis_sale", "ocis_dmc",
    }
)  # fmt: skip
#: The fields of a ``cdr`` row, in the documented order.
CDR_FIELDS = (
    "callid", "qtable", "qtype", "qid", "qnm", "aid", "anm", "dsid", "dsnm", "urn", "ddi",
    "cli", "cres", "ocid", "ocnm", "flags", "carrier", "ctag", "tag", "dest", "dcode", "ctype",
    "dtype", "sms_msg", "sec_dur", "sec_ring", "sec_que", "tm_init", "tm_answ", "tm_disc",
    "oc_sale", "oc_cmpl", "oc_cmpli", "oc_ncmpl", "oc_dmc", "cost_cust", "bill_cust",
    "bill_dur", "ivr_key", "sec_key", "orig_qnm",
)  # fmt: skip
_MOBILE_RATE, _LANDLINE_RATE = 0.10, 0.025  # per minute, outbound only


@attrs.frozen
class ReportContext:
    """What a CDR row's derived fields are read from: the campaign database, the agents'
    names, the account's zone (for dates) and the contact centre's id and name."""

    db: CampaignDb
    agent_name: Callable[[str], str | None]
    tz: tzinfo
    ccid: str
    ccnm: str
    cutoff: float = 20.0


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _customer(call: SimCall) -> str:
    return call.cli if call.ctype == "in" else call.ddi


def _bill_duration(call: SimCall) -> int:
    # The whole call, rounded up: ReportingExamples.js's CDR row bills sec_dur
    # "105.026" as "106.0000" though it was answered 25 s before its end.
    return math.ceil(call.sec_dur) if call.ctype == "out" and call.answered else 0


def _cost(call: SimCall) -> float:
    # To the 3 places the CDR's cost_cust shows (ReportingExamples.js: "0.045", bill_cust
    # "0.0450"), so that calls' sums are the sums of the CDR's costs.
    rate = _MOBILE_RATE if call.ddi.startswith("07") else _LANDLINE_RATE
    return round(_bill_duration(call) / 60 * rate, 3)


def _moment(call: SimCall, ctx: ReportContext) -> datetime:
    return datetime.fromtimestamp(int(call.tm_init), tz=ctx.tz)


def _week(moment: datetime) -> str:
    return (moment - timedelta(days=(moment.weekday() + 1) % 7)).strftime("%Y-%m-%d")


def _queue(call: SimCall, ctx: ReportContext, name: str) -> str:
    return ctx.db.queues.get(call.qid, {}).get(name, "")


def _table(call: SimCall, ctx: ReportContext) -> str:
    campaign = _queue(call, ctx, "campaignid")
    return next((t for t, cid in ctx.db.campaign_ids.items() if cid == campaign), "")


def _outcome(call: SimCall, ctx: ReportContext, name: str) -> bool:
    outcome = ctx.db.outcomes.get(call.outcome or "")
    return outcome is not None and bool(getattr(outcome, name))


_FIELDS: dict[str, Callable[[SimCall, ReportContext], Value]] = {
    "callid": lambda c, x: c.callid,
    "qtable": _table,
    "qtype": lambda c, x: _queue(c, x, "type"),
    "qid": lambda c, x: c.qid,
    "qnm": lambda c, x: _queue(c, x, "description"),
    "orig_qnm": lambda c, x: _queue(c, x, "description"),
    "aid": lambda c, x: c.agent,
    "anm": lambda c, x: None if c.agent == "0" else x.agent_name(c.agent),
    "has_aid": lambda c, x: _flag(c.agent != "0"),
    "tid": lambda c, x: "0",
    "tnm": lambda c, x: None,
    "dsid": lambda c, x: c.dsid,
    "dsnm": lambda c, x: (
        x.db.datasets[int(c.dsid)].description if int(c.dsid) in x.db.datasets else None
    ),
    "urn": lambda c, x: "0" if c.record is None else str(c.record),
    "ddi": lambda c, x: c.ddi,
    "cli": lambda c, x: c.cli,
    "is_mob": lambda c, x: _flag(c.ddi.startswith("07")),
    "cres": lambda c, x: c.result,
    "ocid": lambda c, x: c.outcome or "0",
    "ocnm": lambda c, x: o.description if (o := x.db.outcomes.get(c.outcome or "")) else None,
    "ocis_cmpl": lambda c, x: _flag(_outcome(c, x, "complete") and not _outcome(c, x, "sale")),
    "ocis_cmpli": lambda c, x: _flag(_outcome(c, x, "complete")),
    "ocis_sale": lambda c, x: _flag(_outcome(c, x, "sale")),
    "ocis_dmc": lambda c, x: _flag(_outcome(c, x, "dmc")),
    "flags": lambda c, x: "recorded,processed" if c.answered else "processed",
    "carrier": lambda c, x: "bt-ix",
    "ctag": lambda c, x: None,
    "tag": lambda c, x: None,
    "dest": lambda c, x: "44 Mobile" if _customer(c).startswith("07") else "44 Landline Standard",
    "dcode": lambda c, x: "44" + _customer(c)[1:7],
    "ctype": lambda c, x: c.ctype,
    "dtype": lambda c, x: c.dtype,
    "sms_msg": lambda c, x: None,
    "sec_dur": lambda c, x: _seconds(c.sec_dur),
    "sec_ring": lambda c, x: _seconds(c.sec_ring),
    "sec_que": lambda c, x: _seconds(c.sec_que),
    "tm_init": lambda c, x: str(int(c.tm_init)),
    "tm_answ": lambda c, x: str(int(c.tm_answ)),
    "tm_disc": lambda c, x: str(int(c.tm_disc)),
    "oc_sale": lambda c, x: _flag(_outcome(c, x, "sale")),
    "oc_cmpl": lambda c, x: _flag(_outcome(c, x, "complete") and not _outcome(c, x, "sale")),
    "oc_cmpli": lambda c, x: _flag(_outcome(c, x, "complete")),
    "oc_ncmpl": lambda c, x: _flag(bool(c.outcome) and not _outcome(c, x, "complete")),
    "oc_dmc": lambda c, x: _flag(_outcome(c, x, "dmc")),
    "cost_cust": lambda c, x: f"{_cost(c):.3f}",
    "bill_cust": lambda c, x: f"{_cost(c):.4f}",
    "bill_dur": lambda c, x: f"{_bill_duration(c):.4f}",
    "ivr_key": lambda c, x: None,
    "sec_key": lambda c, x: None,
    "PT1H": lambda c, x: _moment(c, x).strftime("%Y-%m-%d_%H-00-00"),
    "P1D": lambda c, x: _moment(c, x).strftime("%Y-%m-%d"),
    "P1W": lambda c, x: _week(_moment(c, x)),
    "P1M": lambda c, x: _moment(c, x).strftime("%Y-%m"),
    "date": lambda c, x: _moment(c, x).strftime("%Y-%m-%d"),
    "day": lambda c, x: _moment(c, x).strftime("%A"),
    "hour": lambda c, x: _moment(c, x).strftime("%H"),
    "min_10": lambda c, x: f"{_moment(c, x).minute // 10 * 10:02d}",
}


def _answered_not_manual(c: SimCall) -> bool:
    return c.answered and c.dtype != "man"


def _answered_in(c: SimCall) -> bool:
    return c.dtype == "in" and c.answered


def _lost_in(c: SimCall) -> bool:
    return c.dtype == "in" and not c.answered


#: Each figure of ``calls``: a call's contribution to it. Counts are ints (JSON
#: numbers), seconds and costs floats.
FIGURES: dict[str, Callable[[SimCall, ReportContext], int | float]] = {
    "nc_all": lambda c, x: 1,
    "nc_in": lambda c, x: c.ctype == "in",
    "nc_out": lambda c, x: c.dtype == "out",  # dialled by the dialler
    "nc_out_all": lambda c, x: c.ctype == "out",
    "nc_sms_out": lambda c, x: c.dtype == "sms_out",
    "nc_man": lambda c, x: c.dtype == "man",
    "nc_tpt": lambda c, x: c.dtype == "tpt",
    "nc_dtpt": lambda c, x: 0,
    "nc_wait": lambda c, x: c.sec_que > 0,
    "nc_wrap": lambda c, x: c.wrapped,  # the agent went on to wrap it
    "nc_con": lambda c, x: c.answered and not _outcome(c, x, "answerphone"),
    # Not the manual ones (nc_ans_man counts those): the vendor's one sample row
    # (ReportingExamples.js: ten manual calls, nc_con 8, nc_ans_man 8) has nc_ans 0.
    "nc_ans": lambda c, x: _answered_not_manual(c),
    "nc_ans_in": lambda c, x: c.answered and c.ctype == "in",
    "nc_ans_man": lambda c, x: c.answered and c.dtype == "man",
    "nc_que": lambda c, x: _lost_in(c),  # placed in the queueing system, not answered
    "nc_ans_le": lambda c, x: _answered_in(c) and c.sec_que <= x.cutoff,
    "nc_ans_gt": lambda c, x: _answered_in(c) and c.sec_que > x.cutoff,
    "nc_que_le": lambda c, x: _lost_in(c) and c.sec_que <= x.cutoff,
    "nc_que_gt": lambda c, x: _lost_in(c) and c.sec_que > x.cutoff,
    "sec_dur": lambda c, x: c.sec_dur,
    # The agent's time on the call, answered or not: ReportingExamples.js's row has
    # sec_call 28 beside sec_talk 0 and sec_dur 25.6 (ten manual calls, two No Answer).
    "sec_call": lambda c, x: c.sec_agent,
    # Time to answer, of the calls nc_ans counts (the same sample: sec_ans 0).
    "sec_ans": lambda c, x: c.sec_que + c.sec_ring if _answered_not_manual(c) else 0.0,
    "sec_talk_all": lambda c, x: c.sec_talk,
    "sec_talk": lambda c, x: c.sec_talk if c.dtype != "tpt" else 0.0,
    "sec_tpt": lambda c, x: 0.0,
    "oc_abdn": lambda c, x: c.result == ABANDONED,
    "oc_cbck": lambda c, x: c.outcome == "109",
    "oc_ama": lambda c, x: _outcome(c, x, "answerphone"),  # dispositioned by the agent
    "oc_amd": lambda c, x: 0,
    "oc_dead": lambda c, x: c.outcome == "104",
    "oc_noansw": lambda c, x: c.outcome == "103",
    "oc_sale": lambda c, x: _outcome(c, x, "sale"),
    "oc_cmpl": lambda c, x: _outcome(c, x, "complete") and not _outcome(c, x, "sale"),
    "oc_cmpli": lambda c, x: _outcome(c, x, "complete"),
    "oc_ncmpl": lambda c, x: bool(c.outcome) and not _outcome(c, x, "complete"),
    "oc_dmc": lambda c, x: _outcome(c, x, "dmc"),
    "cost_cust": lambda c, x: _cost(c),
    "bill_cust": lambda c, x: _cost(c),
    "bill_dur": lambda c, x: _bill_duration(c),
}
_FLOATS = frozenset(
    name for name in FIGURES if name.startswith(("sec_", "cost_", "bill_")) and name != "bill_dur"
)
#: Every field ``calls`` answers: the grouping fields, the figures and ``callid_max``.
CALL_FIELDS = GROUP_FIELDS | FIGURES.keys() | {"callid_max"}

#: Filter argument -> the CDR field it compares (comma lists match any).
_FILTERS = {
    "queue": "qid",
    "qtype": "qtype",
    "ctype": "ctype",
    "agent": "aid",
    "dataset": "dsid",
    "outcome": "ocid",
    "ddi": "ddi",
    "cli": "cli",
    "urn": "urn",
    "team": "tid",
    "callid": "callid",
}


def field(call: SimCall, name: str, ctx: ReportContext) -> Value:
    """One field of a call's CDR row; None for a field the simulator does not know."""
    derive = _FIELDS.get(name)
    return None if derive is None else derive(call, ctx)


def cdr_row(call: SimCall, names: Sequence[str], ctx: ReportContext) -> dict[str, Value]:
    """The CDR row of ``call`` with the fields ``names``, as the reply lists them."""
    return {name: field(call, name, ctx) for name in names}


def matches(call: SimCall, filters: Mapping[str, frozenset[str]], ctx: ReportContext) -> bool:
    """Whether ``call`` passes every filter (``campaign`` is a campaign table)."""
    for name, wanted in filters.items():
        if name == "campaign":
            value = _table(call, ctx)
        else:
            found = field(call, _FILTERS[name], ctx)
            value = "" if found is None else str(found)
        if value not in wanted:
            return False
    return True


def filter_names() -> frozenset[str]:
    """The filter arguments both methods take (``campaign`` included)."""
    return frozenset(_FILTERS) | {"campaign"}


def aggregate(
    calls: Iterable[SimCall], fields: Sequence[str], group_by: Sequence[str], ctx: ReportContext
) -> list[dict[str, Value]]:
    """``calls`` grouped by ``group_by``, one row per group with ``fields``.

    A requested field that is neither a figure nor grouped shows the group's first
    call's value (as MySQL's loose GROUP BY does); every row opens with the
    contact centre's ``ccid`` and ``ccnm``, as in the documented reply (asked for in
    ``fields`` too), and carries its group keys, asked for or not.
    """
    groups: dict[tuple[Value, ...], list[SimCall]] = {}
    for call in calls:
        groups.setdefault(tuple(field(call, name, ctx) for name in group_by), []).append(call)
    rows = []
    for key in sorted(groups, key=lambda key: tuple("" if v is None else str(v) for v in key)):
        members = groups[key]
        row: dict[str, Value] = {"ccid": ctx.ccid, "ccnm": ctx.ccnm}
        for name in (*fields, *(name for name in group_by if name not in fields)):
            if name not in row:  # ccid, ccnm: the contact centre's, asked for or not
                row[name] = _figure(members, name, ctx)
        rows.append(row)
    return rows


def _figure(members: list[SimCall], name: str, ctx: ReportContext) -> Value:
    if name == "callid_max":
        return str(max(int(call.callid) for call in members))
    figure = FIGURES.get(name)
    if figure is None:
        return field(members[0], name, ctx)
    if name in _FLOATS:
        return round(sum(float(figure(call, ctx)) for call in members), 3)
    return sum(int(figure(call, ctx)) for call in members)
