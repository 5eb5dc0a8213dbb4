"""``cn.reports`` through ``MockTransport``: what goes on the wire, in JSON and XML, what the
documented replies (REPORTING.md, ReportingExamples.js) become, and hostile replies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
from typing import Any

import anyio
import httpx
import pytest

from contactnow_async import (
    AgentSession,
    BadArgumentError,
    CdrRow,
    ContactNow,
    QueueType,
    ReportRow,
    ResponseFormatError,
)
from contactnow_async._wire import Format
from tests._helpers import FakeAPI, client_for, json_reply
from tests.test_ecnow import FORMATS, HOSTILE, answer, call_with, params, rows, sent

# The backend changes nothing these tests check: CI runs each on one a run (tests/_backends.py).
pytestmark = [pytest.mark.anyio, pytest.mark.backend_neutral]

CALLS = ("reporting", "calls", "")
CDR = ("reporting", "cdr", "")
AGENTS = ("reporting", "agents", "")
START, STOP = 1_493_593_200, 1_509_580_799

#: The documented calls row (ReportingExamples.js, fetchCalls), figures as JSON numbers.
DOC_CALLS_ROW: dict[str, Any] = {
    "ccid": "315", "ccnm": "ECONStaff", "qtable": "APItestcampaign", "qtype": "outbound",
    "qid": "719718", "qnm": "API-DDI", "aid": "503314", "anm": "Christian Davies", "dsid": "0",
    "dsnm": None, "urn": "0", "ddi": "01234567890", "cli": "01234567890", "tid": "2000059307",
    "tnm": "Team Coco", "has_aid": "1", "PT1H": "2017-08-21_10-00-00", "P1D": "2017-08-21",
    "P1W": "2017-08-20", "P1M": "2017-08", "date": "2017-08-21", "day": "Monday", "hour": "10",
    "min_10": "30", "dest": "Landline Standard", "dcode": "442", "ctype": "out", "dtype": "man",
    "cres": "TPT", "is_mob": "0", "nc_all": 10, "nc_in": 0, "nc_out": 0, "nc_out_all": 0,
    "nc_sms_out": 0, "nc_man": 10, "nc_tpt": 0, "nc_dtpt": 0, "nc_wait": 10, "nc_wrap": 10,
    "nc_con": 8, "nc_ans": 0, "nc_ans_in": 0, "nc_ans_man": 8, "nc_que": 0, "nc_ans_le": 0,
    "nc_ans_gt": 0, "nc_que_le": 0, "nc_que_gt": 0, "sec_dur": 25.597082138062,
    "sec_talk_all": 25.59, "sec_talk": 0, "sec_tpt": 25.59, "sec_call": 28, "sec_ans": 0,
    "ocid": "101", "ocnm": "Answer Machine (Agent)", "ocis_cmpl": "0", "ocis_cmpli": "0",
    "ocis_sale": "0", "ocis_dmc": "0", "oc_abdn": 0, "oc_cbck": 0, "oc_ama": 4, "oc_amd": 0,
    "oc_dead": 0, "oc_noansw": 2, "oc_sale": 0, "oc_cmpl": 0, "oc_cmpli": 0, "oc_ncmpl": 10,
    "oc_dmc": 0, "cost_cust": 0.008, "bill_cust": 0.008, "bill_dur": 30,
}  # fmt: skip
#: The documented cdr row (REPORTING.md / ReportingExamples.js, fetchCDR): all strings.
DOC_CDR_ROW: dict[str, Any] = {
    "callid": "707228882", "urn": "2428765", "qid": "504016",
    "qnm": "Christian Inbound Testing - Do not unassign", "qtype": "inbound",
    "qtable": "SomeTest", "cres": "Answered", "aid": "503314", "anm": "William Davies",
    "dsid": "0", "ocid": "5013337", "ocnm": "DNC Complete", "ddi": "01234567890",
    "cli": "01234567891", "flags": "recorded,processed", "carrier": "bt-ix", "ctag": None,
    "tag": None, "dest": "44 Landline Standard", "dcode": "44123456", "ctype": "out",
    "dtype": "out", "sms_msg": None, "sec_dur": "105.026", "sec_ring": "0.000", "sec_que": "80",
    "tm_init": "1501080575", "tm_answ": "1501080655", "tm_disc": "1501080680", "oc_sale": "1",
    "oc_cmpl": "0", "oc_cmpli": "1", "oc_ncmpl": "0", "oc_dmc": "1", "cost_cust": "0.045",
    "bill_cust": "0.0450", "bill_dur": "106.0000", "ivr_key": None, "sec_key": None,
    "orig_qnm": "William Inbound Testing - Do not unassign",
}  # fmt: skip
FIGURES = [name for name in DOC_CALLS_ROW if name.startswith(("nc_", "oc_", "sec_", "cost_"))]


# -- calls ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_calls_sends_the_documented_request_and_types_the_documented_row(
    fmt: Format,
) -> None:
    fields = [name for name in DOC_CALLS_ROW if name not in ("ccid", "ccnm")]
    result, api = await call_with(
        {CALLS: answer(rows(DOC_CALLS_ROW))},
        lambda cn: cn.reports.calls(
            fields,
            start=datetime.fromtimestamp(START, tz=timezone.utc),
            stop=STOP,
            group_by=["qtable", "qnm"],
            cutoff=20,
            agent=503314,
            queue=["719718", 504016],
        ),
        format=fmt,
        campaign="315",
    )
    request = sent(api, "reporting", "calls")
    assert "action" not in request.url.params
    assert params(request) == {
        "fields": ",".join(fields),
        "range": f"{START}:{STOP}",
        "groupby": "qtable,qnm",
        "cutoff": "20",
        "agent": "503314",
        "queue": "719718,504016",
        "campaign": "315",  # the client's contact centre, as on every call
    }
    (row,) = result
    assert isinstance(row, ReportRow)
    assert row.cutoff == 20
    assert row["nc_all"] == 10 and isinstance(row["nc_all"], int)
    assert row["sec_call"] == 28.0 and isinstance(row["sec_call"], float)
    assert row["sec_dur"] == pytest.approx(25.597082138062)
    assert row["qid"] == "719718" and row["dsnm"] == ""  # null group key: empty text
    assert row.count("oc_ama") == 4 and row.number("cost_cust") == 0.008
    assert row.text("P1W") == "2017-08-20"
    assert all(
        type(row[name]) is (int if name[:3] in ("nc_", "oc_") else float) for name in FIGURES
    )
    assert dict(row.raw)["nc_all"] in (10, "10")  # a JSON number, or XML text
    with pytest.raises(TypeError):
        row.count("qnm")
    with pytest.raises(TypeError):
        row.number("anm")


async def test_json_and_xml_rows_are_equal() -> None:
    def call(cn: ContactNow) -> Awaitable[list[ReportRow]]:
        return cn.reports.calls(["nc_all", "qid"], start=START, stop=STOP, group_by="qid")

    json_rows, _ = await call_with({CALLS: answer(rows(DOC_CALLS_ROW))}, call, format="json")
    xml_rows, _ = await call_with({CALLS: answer(rows(DOC_CALLS_ROW))}, call, format="xml")
    assert json_rows == xml_rows
    assert json_rows[0] == dict(json_rows[0])  # a mapping like any other


async def test_a_reporting_campaign_filter_replaces_the_clients_campaign() -> None:
    _, api = await call_with(
        {CALLS: answer(rows())},
        lambda cn: cn.reports.calls(
            "nc_all", start=START, stop=STOP, group_by="qtable", campaign="Willtest"
        ),
        campaign="315",
    )
    assert sent(api, "reporting", "calls").url.params.get_list("campaign") == ["Willtest"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"fields": ["nc_al"]}, ValueError, "did you mean nc_all"),
        ({"group_by": ["nc_all"]}, ValueError, "unknown group_by field 'nc_all'"),
        # Nothing like it: the documented ones (was "'bogus': (strict=False, ...").
        ({"group_by": ["bogus"]}, ValueError, "'bogus': the documented ones are P1D, P1M, "),
        ({"group_by": ["qnam"]}, ValueError, "did you mean qnm"),
        # Another case: nothing alike by difflib, so no hint, and strict=False offered.
        ({"fields": ["NC_ALL"]}, ValueError, "did you mean nc_all"),
        ({"group_by": ["pt1h"]}, ValueError, r"'pt1h': did you mean PT1H\?"),
        # Nothing like it among too many to list: no dangling "'bogus': (strict=False".
        ({"fields": ["bogus"]}, ValueError, r"^unknown calls field 'bogus' \(strict=False, or "),
        ({"fields": []}, ValueError, "at least one"),
        ({"start": STOP, "stop": START}, ValueError, "before start"),
        # A fraction of a second before it: both went as STOP, a one-second window.
        ({"start": STOP + 0.7, "stop": STOP + 0.2}, ValueError, "before start"),
        (
            {
                "start": datetime(2026, 1, 1, 0, 0, 0, 700_000, tzinfo=timezone.utc),
                "stop": datetime(2026, 1, 1, 0, 0, 0, 200_000, tzinfo=timezone.utc),
            },
            ValueError,
            "before start",
        ),
        ({"start": datetime(2026, 1, 1)}, ValueError, "naive"),
        ({"cutoff": -1}, ValueError, "cutoff"),
        ({"cutoff": float("inf")}, ValueError, "cutoff"),
        ({"cutoff": float("nan")}, ValueError, "cutoff"),
        ({"cutoff": 20.5}, ValueError, "cutoff must be whole seconds"),  # went as 20
        ({"cutoff": "20"}, TypeError, "cutoff must be a number of seconds, not '20'"),
        ({"stop": float("inf")}, ValueError, "stop must be a finite"),
        ({"start": float("nan")}, ValueError, "start must be a finite"),
        ({"start": None}, TypeError, "start must be a unix time or a datetime, not None"),
        ({"stop": None}, TypeError, "stop must be a unix time or a datetime, not None"),
        ({"quene": "1007"}, TypeError, "did you mean queue"),
        ({"agent": []}, ValueError, "one or more"),
    ],
)
async def test_calls_checks_its_arguments_before_sending(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    arguments: dict[str, Any] = {
        "fields": ["nc_all"], "start": START, "stop": STOP, "group_by": ["qid"], **kwargs
    }  # fmt: skip
    api = FakeAPI()
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(error, match=match):
            await cn.reports.calls(**arguments)
    assert api.calls("reporting") == 0


async def test_strict_false_sends_names_the_docs_do_not_list() -> None:
    row = {"qid": "1007", "nc_new": "3", "sec_new": "1.5", "shiny": 7}
    result, api = await call_with(
        {CALLS: answer(rows(row))},
        lambda cn: cn.reports.calls(
            ["nc_new", "sec_new", "shiny"],
            start=START,
            stop=STOP,
            group_by=["qid", "tier"],
            strict=False,
            tier="gold",
        ),
    )
    assert params(sent(api, "reporting", "calls"))["groupby"] == "qid,tier"
    assert params(sent(api, "reporting", "calls"))["tier"] == "gold"
    assert dict(result[0]) == {"qid": "1007", "nc_new": 3, "sec_new": 1.5, "shiny": "7"}


OWN_ARGUMENTS: dict[str, Callable[[ContactNow, dict[str, Any]], Awaitable[Any]]] = {
    "calls": lambda cn, kwargs: cn.reports.calls(
        ["nc_all"], start=START, stop=STOP, group_by="qid", **kwargs
    ),
    "cdr": lambda cn, kwargs: cn.reports.cdr_list(["callid"], start=START, stop=STOP, **kwargs),
}


@pytest.mark.parametrize(
    ("method", "kwargs", "match"),
    [
        ("calls", {"range": "0:1"}, "filter 'range' is set by start and stop"),
        ("calls", {"groupby": "aid"}, "filter 'groupby' is set by group_by"),
        ("cdr", {"range": "0:1"}, "filter 'range' is set by start and stop"),
        ("cdr", {"limit": 5}, "filter 'limit' is set by page_size"),
    ],
)
async def test_strict_false_refuses_a_filter_that_would_replace_the_methods_own_argument(
    method: str, kwargs: dict[str, Any], match: str
) -> None:
    # strict=False sent range=0:1 in place of start and stop, groupby=aid in place of
    # group_by (each row then refused for lacking its qid), and dropped limit=5 for the
    # page size, each without a word; strict=True's message said strict=False sends them.
    api = FakeAPI()
    cn, http = client_for(api)
    async with http, cn:
        for strict in (False, True):
            with pytest.raises(TypeError, match=match):
                await OWN_ARGUMENTS[method](cn, {**kwargs, "strict": strict})
    assert api.calls("reporting") == 0


async def test_a_name_given_twice_is_sent_once() -> None:
    # fields=nc_all,nc_all,qid and groupby=qid,qid went out as given: a field twice in
    # an XML row reads as a list, not a figure.
    _, api = await call_with(
        {CALLS: answer(rows({"qid": "1007", "nc_all": 3}))},
        lambda cn: cn.reports.calls(
            ["nc_all", "nc_all", "qid"], start=START, stop=STOP, group_by="qid, qid"
        ),
    )
    query = params(sent(api, "reporting", "calls"))
    assert (query["fields"], query["groupby"]) == ("nc_all,qid", "qid")
    _, api = await call_with(
        {CDR: answer({"success": True, "total": 0, "list": []})},
        lambda cn: cn.reports.cdr_list("qid,callid,qid", start=START, stop=STOP),
    )
    assert params(sent(api, "reporting", "cdr"))["fields"] == "qid,callid"


async def test_a_bad_argument_reply_names_the_argument() -> None:
    refused = {"success": False, "error": "Bad argument: groupby [nc_all]"}
    api = FakeAPI({CALLS: lambda request: refused})
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(BadArgumentError) as info:
            await cn.reports.calls(["qid"], start=START, stop=STOP, group_by=["qid"])
    assert info.value.argument == "groupby"
    assert info.value.error == "Bad argument: groupby [nc_all]"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("total", [3, 1], ids=["rows-lost", "rows-extra"])
async def test_a_calls_total_unlike_its_rows_is_a_format_error(fmt: Format, total: int) -> None:
    # ReportingExamples.js: a calls reply's total counts its rows (7, beside a row of
    # nc_all 10), and calls does not page (no limit/start). Rows short of the total
    # were returned as the whole report: a wallboard's figures, silently partial.
    reply = {**rows(DOC_CALLS_ROW, {**DOC_CALLS_ROW, "qnm": "Other"}), "total": total}
    with pytest.raises(ResponseFormatError, match=f"total says {total} records but it carries 2"):
        await call_with(
            {CALLS: answer(reply)},
            lambda cn: cn.reports.calls("nc_all", start=START, stop=STOP, group_by="qtable,qnm"),
            format=fmt,
        )


# -- cdr ------------------------------------------------------------------------------


def paged(total: int, *, shift_once_at: int | None = None) -> Callable[[httpx.Request], Any]:
    """A cdr route answering ``limit``/``start`` pages of ``total`` rows (callid 1..total).

    ``shift_once_at``: before that offset is read, one new call lands at the front of
    the window (the rows move one place later), as in a window still filling.
    """
    state = {"shifted": 0}

    def route(request: httpx.Request) -> Any:
        query = request.url.params
        start, limit = int(query["start"]), int(query["limit"])
        if shift_once_at is not None and start >= shift_once_at:
            state["shifted"] = 1
        ids = ["0", *map(str, range(1, total + 1))] if state["shifted"] else None
        ids = ids or [str(n) for n in range(1, total + 1)]
        page = [{**DOC_CDR_ROW, "callid": callid} for callid in ids[start : start + limit]]
        return {"success": True, "total": len(ids), "list": page}

    return route


@pytest.mark.parametrize("fmt", FORMATS)
async def test_cdr_reads_every_page_and_types_the_documented_row(fmt: Format) -> None:
    route = paged(25)

    def reply(request: httpx.Request) -> httpx.Response:
        response = answer(route(request))(request)
        assert isinstance(response, httpx.Response)
        return response

    found, api = await call_with(
        {CDR: reply},
        lambda cn: cn.reports.cdr_list(
            list(dict.fromkeys(["urn", "sec_dur", "tm_init", *cn.reports.CDR_FIELDS[1:]])),
            start=START,
            stop=STOP,
            page_size=10,
            agent=503314,
            sort="callid",
        ),
        format=fmt,
    )
    assert [row.call_id for row in found] == [str(n) for n in range(1, 26)]
    pages = [r for r in api.requests if r.url.path.endswith("/reporting.php")]
    assert [(r.url.params["start"], r.url.params["limit"]) for r in pages] == [
        ("0", "10"), ("10", "10"), ("20", "10")
    ]  # fmt: skip
    query = params(pages[0])
    assert query["fields"].split(",")[:4] == ["callid", "urn", "sec_dur", "tm_init"]
    assert (query["agent"], query["sort"], query["range"]) == (
        "503314",
        "callid",
        f"{START}:{STOP}",
    )
    row = found[0]
    assert isinstance(row, CdrRow)
    assert row.record_id == "2428765" and row.queue_type is QueueType.INBOUND
    assert row.duration == 105.026 and row.queue_time == 80.0 and row.ring_time == 0.0
    assert row.initiated_at == datetime(2017, 7, 26, 14, 49, 35, tzinfo=timezone.utc)
    assert row.answered_ts == 1501080655 and row.talk_time == 25.0
    assert row.dataset_id is None and row.agent_id == "503314"
    assert row.tag_id is None and row.tag is None and row.sms_message is None
    assert row.ivr_key is None and row.key_time is None
    assert row.flags == ("recorded", "processed") and row.recorded and row.answered
    assert (row.sale, row.complete, row.complete_excluding_sale, row.dmc) == (
        True,
        True,
        False,
        True,
    )
    assert (row.cost, row.bill, row.bill_duration) == (0.045, 0.045, 106.0)


async def test_cdr_holds_one_page_and_skips_a_row_a_shifting_window_repeats() -> None:
    api = FakeAPI({CDR: paged(7, shift_once_at=3)})
    cn, http = client_for(api)
    async with http, cn:
        pages = cn.reports.cdr(["callid"], start=START, stop=STOP, page_size=3)
        got = [row.call_id async for row in pages]
    # Row 3 moved from the first page to the second: yielded once, not twice. The call
    # that pushed it (0, ahead of the offset) is read by a catch-up page from the top.
    assert got == ["1", "2", "3", "4", "5", "6", "7", "0"]
    assert api.calls("reporting") == 4


@pytest.mark.parametrize("total", [None, 9, 10**9], ids=["no-total", "total-9", "total-1e9"])
async def test_cdr_refuses_a_server_that_answers_the_same_page_again(total: int | None) -> None:
    # A server that ignores start: the first page, full, for every offset.
    page = [{**DOC_CDR_ROW, "callid": str(n)} for n in range(3)]
    api = FakeAPI(
        {CDR: lambda request: json_reply({"success": True, "total": total, "list": page})}
    )
    cn, http = client_for(api, max_retries=0)
    async with http, cn:
        pages = cn.reports.cdr(["callid"], start=START, stop=STOP, page_size=3)
        with anyio.fail_after(5), pytest.raises(ResponseFormatError, match="start=3"):
            [row async for row in pages]
    # Neither looping for ever nor ending quietly with a third of the window.
    assert api.calls("reporting") == 2


async def test_cdr_reads_on_while_the_window_fills_by_a_whole_page() -> None:
    # Three calls land at the front between the first two pages: the second page repeats
    # the first, but the window grew, so the read goes on, and comes back for the three.
    state = {"ids": [str(n) for n in range(3, 9)]}

    def route(request: httpx.Request) -> httpx.Response:
        start, limit = int(request.url.params["start"]), int(request.url.params["limit"])
        if start and state["ids"][0] != "0":
            state["ids"] = ["0", "1", "2", *state["ids"]]
        ids = state["ids"]
        page = [{"callid": callid} for callid in ids[start : start + limit]]
        return json_reply({"success": True, "total": len(ids), "list": page})

    api = FakeAPI({CDR: route})
    cn, http = client_for(api)
    async with http, cn:
        got = [row.call_id async for row in cn.reports.cdr("callid", start=0, stop=1, page_size=3)]
    assert got == ["3", "4", "5", "6", "7", "8", "0", "1", "2"]


async def test_cdr_checks_its_arguments_when_called() -> None:
    api = FakeAPI()
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(ValueError, match="did you mean sec_dur"):
            cn.reports.cdr(["sec_durr"], start=START, stop=STOP)
        with pytest.raises(ValueError, match="page_size"):
            cn.reports.cdr(["callid"], start=START, stop=STOP, page_size=0)
        with pytest.raises(TypeError, match="unknown filter 'groupby'"):
            cn.reports.cdr(["callid"], start=START, stop=STOP, groupby="qid")
    assert api.calls("reporting") == 0


async def test_cdr_takes_the_filters_its_table_documents() -> None:
    # REPORTING.md's cdr table lists cutoff (and callid, sort) but not team, a filter of
    # calls only: team went out unchecked, cutoff was refused as unknown.
    _, api = await call_with(
        {CDR: answer({"success": True, "total": 0, "list": []})},
        lambda cn: cn.reports.cdr_list(
            ["callid"], start=START, stop=STOP, cutoff=30, callid=7, sort="callid"
        ),
    )
    query = params(sent(api, "reporting", "cdr"))
    assert (query["cutoff"], query["callid"], query["sort"]) == ("30", "7", "callid")
    api = FakeAPI()
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(TypeError, match="unknown filter 'team'"):
            cn.reports.cdr(["callid"], start=START, stop=STOP, team=5)
        with pytest.raises(TypeError, match="unknown filter 'callid'"):
            await cn.reports.calls(["nc_all"], start=START, stop=STOP, group_by="qid", callid=7)
    assert api.calls("reporting") == 0


@pytest.mark.parametrize(
    ("cutoff", "error", "match"),
    [
        (-5, ValueError, "cutoff must be a number of seconds >= 0, not -5"),
        (20.5, ValueError, "cutoff must be whole seconds"),
        (float("nan"), ValueError, "cutoff"),
        ("20", TypeError, "cutoff must be a number of seconds, not '20'"),
        (True, TypeError, "cutoff must be a number of seconds, not True"),
    ],
)
async def test_cdr_checks_its_cutoff_as_calls_does(
    cutoff: object, error: type[Exception], match: str
) -> None:
    # The cdr filter went out as given: -5, "20.5", True as "1".
    api = FakeAPI()
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(error, match=match):
            cn.reports.cdr(["callid"], start=START, stop=STOP, cutoff=cutoff)  # type: ignore[arg-type]
    assert api.calls("reporting") == 0


MISREAD_CALLS: dict[str, Callable[[ContactNow, Any], Awaitable[Any]]] = {
    "calls": lambda cn, value: cn.reports.calls(
        ["nc_all"], start=START, stop=STOP, group_by="qid", agent=value
    ),
    "cdr": lambda cn, value: cn.reports.cdr_list(["callid"], start=START, stop=STOP, agent=value),
    "agents": lambda cn, value: cn.reports.agents(start=START, stop=STOP, agent=value),
}


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (b"12", TypeError),  # went as "49,50": the bytes' codes
        ({"12": 1}, TypeError),  # went as its keys
        ([True], TypeError),  # went as "True"
        ([None], ValueError),  # went as "None"
        ([12.5], TypeError),  # went as "12.5"
        (["1,2"], ValueError),  # went as two values
        ([], ValueError),  # no filter: every call, not none
    ],
    ids=["bytes", "dict", "bool-item", "none-item", "float-item", "comma-item", "empty"],
)
@pytest.mark.parametrize("method", ["calls", "cdr", "agents"])
async def test_a_report_filter_value_the_api_would_misread_is_refused_before_sending(
    method: str, value: Any, error: type[Exception]
) -> None:
    api = FakeAPI()
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(error, match="agent"):
            await MISREAD_CALLS[method](cn, value)
    assert api.calls("reporting") == 0


async def test_an_unanswered_call_has_no_answer_time() -> None:
    row = {**DOC_CDR_ROW, "aid": "0", "tm_answ": "0", "cres": "Abandoned", "flags": ""}
    found, _ = await call_with(
        {CDR: answer(rows(row))}, lambda cn: cn.reports.cdr_list("callid", start=0, stop=1)
    )
    (call,) = found
    assert (call.agent_id, call.answered_ts, call.answered_at, call.answered) == (
        None, None, None, False
    )  # fmt: skip
    assert call.talk_time == 0.0 and not call.recorded


# -- agents (third-party) -------------------------------------------------------------


SESSION_ROW: dict[str, Any] = {
    "aid": "503314", "anm": "Christian", "tm_login": "1501080000", "tm_logout": "0",
    "tm_first": "1501080575", "tm_last": "1501080680",
}  # fmt: skip


@pytest.mark.parametrize("fmt", FORMATS)
async def test_agents_sessions(fmt: Format) -> None:
    found, api = await call_with(
        {AGENTS: answer(rows(SESSION_ROW))},
        lambda cn: cn.reports.agents(start=START, stop=STOP, agent=[503314, 1]),
        format=fmt,
    )
    assert params(sent(api, "reporting", "agents")) == {
        "fields": "aid,anm,tm_login,tm_logout,tm_first,tm_last",
        "range": f"{START}:{STOP}",
        "agent": "503314,1",
        "isset": "tm_login",
    }
    assert found == [
        AgentSession(
            agent_id="503314",
            agent_name="Christian",
            login_ts=1501080000,
            logout_ts=None,
            first_activity_ts=1501080575,
            last_activity_ts=1501080680,
        )
    ]
    assert found[0].logout_at is None and found[0].login_at is not None


# -- hostile replies ------------------------------------------------------------------

REPORT_READS: dict[str, tuple[tuple[str, str, str], Callable[[ContactNow], Awaitable[Any]]]] = {
    "calls": (CALLS, lambda cn: cn.reports.calls("nc_all", start=0, stop=1, group_by="qid")),
    "cdr": (CDR, lambda cn: cn.reports.cdr_list("sec_dur,tm_init", start=0, stop=1)),
    "agents": (AGENTS, lambda cn: cn.reports.agents(start=0, stop=1)),
}
REPORT_WRONG: dict[str, Mapping[str, Any]] = {
    "calls": {"qid": "1007", "nc_all": "ten"},
    "cdr": {**DOC_CDR_ROW, "tm_init": "yesterday"},
    "agents": {"aid": "1", "tm_login": {"at": 1}},
}
MORE_WRONG: dict[str, list[Mapping[str, Any]]] = {
    "calls": [
        {"nc_all": True},
        {"sec_dur": "fast"},
        {"cost_cust": "nan"},
        {"qid": ["1007"]},
        # A count or a duration below 0: a service level of 500%, or below nought.
        {"nc_ans_gt": -4},
        {"oc_abdn": "-1"},
        {"sec_call": -28},
        {"bill_dur": -60},  # the duration the cost is of: read as it came
    ],
    "cdr": [
        {"sec_dur": "fast"},
        {"aid": {"id": 1}},
        {"oc_sale": "yes"},
        {"sec_key": "soon"},
        # Milliseconds, or a year no datetime holds: refused with the reply, not at .*_at.
        {"tm_init": "1501080575000"},
        {"tm_disc": "-5"},
        {"tm_answ": 1e300},
        {"sec_que": "-80"},
        {"sec_dur": -1.5},
        {"bill_dur": "-60"},
        {"oc_sale": "-1"},  # no sale: a flag is 0 or 1, not below nought
    ],
    "agents": [
        {"tm_logout": "later"},
        {"anm": ["x"]},
        {"tm_login": "1501080575000"},
        # A session of no agent: sessions of several would read as one agent's.
        {"aid": None},
        {"aid": ""},
        {"aid": "0"},
    ],
}


@pytest.mark.parametrize("hostile", [h for h in HOSTILE if h != "wrong types"])
@pytest.mark.parametrize("name", list(REPORT_READS))
async def test_hostile_replies_raise_response_format_error(name: str, hostile: str) -> None:
    key, call = REPORT_READS[name]
    api = FakeAPI({key: lambda request: HOSTILE[hostile]("datasets")})
    cn, http = client_for(api, max_retries=0)
    async with http, cn:
        # A null record is an empty one, which no report row can be: a call detail record
        # needs its callid, a calls row its group, a login session its agent.
        with pytest.raises(ResponseFormatError):
            await call(cn)


@pytest.mark.parametrize("name", list(REPORT_READS))
async def test_wrong_types_raise_response_format_error(name: str) -> None:
    key, call = REPORT_READS[name]
    for wrong in [REPORT_WRONG[name], *MORE_WRONG[name]]:
        if name == "cdr":  # not refused for the callid it lacks instead
            wrong = {"callid": "1", **wrong}
        if name == "agents":  # nor for the agent
            wrong = {"aid": "1", **wrong}

        def reply(request: httpx.Request, wrong: Mapping[str, Any] = wrong) -> httpx.Response:
            return json_reply(rows(wrong))

        api = FakeAPI({key: reply})
        cn, http = client_for(api, max_retries=0)
        async with http, cn:
            with pytest.raises(ResponseFormatError):
                await call(cn)


@pytest.mark.parametrize("name", list(REPORT_READS))
async def test_nulls_read_as_empty(name: str) -> None:
    key, call = REPORT_READS[name]
    row = dict.fromkeys({"calls": DOC_CALLS_ROW, "cdr": DOC_CDR_ROW, "agents": SESSION_ROW}[name])
    if name == "cdr":
        row["callid"] = "707228882"  # the one field a call detail record cannot lack
    if name == "agents":
        row["aid"] = "503314"  # nor a login session its agent
    api = FakeAPI({key: lambda request: json_reply(rows(row))})
    cn, http = client_for(api)
    async with http, cn:
        (found,) = await call(cn)
    if name == "calls":
        assert found["nc_all"] == 0 and found["sec_dur"] == 0.0 and found["qid"] == ""
    if name == "agents":
        assert found == AgentSession("503314")


async def test_a_calls_row_without_its_group_is_refused() -> None:
    """A row without a group_by field was read as a group of its own (``row["qid"]`` a
    KeyError in the caller's code, ``row.text("qid")`` ""), its figures shown for no queue
    or summed with another's; a group key that is null stays a group (dsnm: no dataset)."""

    def call(cn: ContactNow) -> Awaitable[list[ReportRow]]:
        return cn.reports.calls("nc_all", start=0, stop=1, group_by=["qid", "dsnm"])

    lacking: list[dict[str, Any]] = [{"nc_all": 3, "dsnm": None}, {"qid": "1007"}, {}]
    for row in lacking:
        with pytest.raises(ResponseFormatError, match="group_by field"):
            await call_with({CALLS: answer(rows({"qid": "1", "dsnm": "a"}, row))}, call)
    found, _ = await call_with({CALLS: answer(rows({"qid": "1007", "dsnm": None}))}, call)
    assert [dict(row) for row in found] == [{"qid": "1007", "dsnm": ""}]


@pytest.mark.parametrize("loose", [" 12", "12 ", "+12", "1_2", "\u0661\u0662", "1.2e1", "0x0c"])
def test_a_count_or_a_time_written_loosely_is_refused_not_read(loose: str) -> None:
    # int() (and float()) read blanks, "+", "_" and other scripts' digits, and a whole
    # number's float text took exponents: " 12", "1_2" and "1.2e1" were all counted 12.
    with pytest.raises(ValueError, match="'nc_all'"):
        ReportRow.from_record({"nc_all": loose})
    for field in ("tm_answ", "oc_sale"):
        with pytest.raises(ValueError, match=f"'{field}'"):
            CdrRow.from_record({"callid": "1", field: loose})


@pytest.mark.parametrize("loose", [" 1.5", "1.5 ", "+1.5", "1_0.5", "\u0661.5", ".5", "5."])
def test_seconds_written_loosely_are_refused_not_read(loose: str) -> None:
    with pytest.raises(ValueError, match="'sec_dur' is not a number"):
        CdrRow.from_record({"callid": "1", "sec_dur": loose})
    with pytest.raises(ValueError, match="'sec_call' is not a number"):
        ReportRow.from_record({"sec_call": loose})


def test_report_numbers_as_the_api_writes_them_are_read() -> None:
    # Plain digits, PHP's ".0" of a whole float, a minus, and PHP's float texts.
    assert ReportRow.from_record({"nc_all": "12", "oc_abdn": "3.0"}) == {"nc_all": 12, "oc_abdn": 3}
    assert CdrRow.from_record({"callid": "1", "tm_answ": "1700000000.0"}).answered_ts == 1700000000
    row = ReportRow.from_record({"sec_dur": "105.026", "cost_cust": "-0.5", "bill_cust": "1.0E-5"})
    assert (row["sec_dur"], row["cost_cust"], row["bill_cust"]) == (105.026, -0.5, 1e-5)


def test_a_field_the_row_lacks_is_a_key_error_naming_it_not_a_zero() -> None:
    # count/number/text read a field the row lacked as 0, 0.0 or "": a typo (nc_answ), or
    # a figure reports.calls was not asked for, showed 0 on a wallboard.
    row = ReportRow.from_record({"qid": "1007", "nc_ans": 3, "sec_call": 40.5})
    # row["nc_answ"], as the README reads a row, raised a bare KeyError('nc_answ').
    for read in (row.count, row.number, row.text, row.__getitem__):
        with pytest.raises(KeyError, match=r"no field 'nc_answ' \(its fields: qid, nc_ans,"):
            read("nc_answ")
    with pytest.raises(KeyError, match=r"ask reports\.calls for it in fields"):
        row.count("oc_abdn")
    with pytest.raises(KeyError, match="its fields: none"):
        ReportRow({}).text("qid")
    assert (row.count("nc_ans"), row.number("sec_call"), row.text("qid")) == (3, 40.5, "1007")
    assert row.get("nc_answ", 0) == 0  # the mapping's own default, asked for by name
    assert "nc_answ" not in row and "nc_ans" in row


@pytest.mark.parametrize("huge", [10**400, -(10**400)], ids=["above", "below"])
def test_seconds_or_a_cost_past_any_float_are_refused_naming_the_field(huge: int) -> None:
    # A JSON integer past 1e308 raised a bare OverflowError (float() of it), from the
    # row's reading and from number() of a row made by hand; the text "1e400" was refused.
    with pytest.raises(ValueError, match="'sec_call' is not a finite number"):
        ReportRow.from_record({"sec_call": huge})
    with pytest.raises(ValueError, match="'cost_cust' is not a finite number"):
        CdrRow.from_record({"callid": "1", "cost_cust": huge})
    with pytest.raises(ValueError, match="'bill_cust' is not a finite number") as refused:
        ReportRow({"bill_cust": huge}).number("bill_cust")
    assert "0000" not in str(refused.value)  # the field, not its value
