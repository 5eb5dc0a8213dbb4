"""The simulator's books agree: CDR, status_log, live calls and reporting.php's figures,
read through the client (JSON and XML) and as the vendor's own examples ask."""

from __future__ import annotations

import contextlib
import io
import itertools
import math
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from contactnow_async import AgentSession, BadArgumentError, CdrRow, ContactNow
from contactnow_async._wire import Format
from contactnow_async.simulator import Dwell, Simulator, VirtualClock
from contactnow_async.simulator._agent_state import SimAgent, Waiting

from .._stage import Stage
from .sim_helpers import START, children, json_of, xml_root

pytestmark = pytest.mark.anyio

HOUR = 3600
FORMATS = [pytest.param("json", id="json"), pytest.param("xml", id="xml")]
#: ReportingExamples.js, fetchCalls: every field it asks for, grouped by qtable,qnm.
JS_CALLS_FIELDS = (
    "qtable,qtype,qid,qnm,aid,anm,dsid,dsnm,urn,ddi,cli,tid,tnm,has_aid,PT1H,P1D,P1W,P1M,date,"
    "day,hour,min_10,dest,dcode,ctype,dtype,cres,is_mob,nc_all,nc_in,nc_out,nc_out_all,"
    "nc_sms_out,nc_man,nc_tpt,nc_dtpt,nc_wait,nc_wrap,nc_con,nc_ans,nc_ans_in,nc_ans_man,nc_que,"
    "nc_ans_le,nc_ans_gt,nc_que_le,nc_que_gt,sec_dur,sec_talk_all,sec_talk,sec_tpt,sec_call,"
    "sec_ans,ocid,ocnm,ocis_cmpl,ocis_cmpli,ocis_sale,ocis_dmc,oc_abdn,oc_cbck,oc_ama,oc_amd,"
    "oc_dead,oc_noansw,oc_sale,oc_cmpl,oc_cmpli,oc_ncmpl,oc_dmc,cost_cust,bill_cust,bill_dur,"
    "callid_max"
)
#: ReportingExamples.js, fetchCDR.
JS_CDR_FIELDS = (
    "callid,urn,qid,qnm,qtype,qtable,cres,aid,anm,dsid,ocid,ocnm,ddi,cli,flags,carrier,ctag,tag,"
    "dest,dcode,ctype,dtype,sms_msg,sec_dur,sec_ring,sec_que,tm_init,tm_answ,tm_disc,oc_sale,"
    "oc_cmpl,oc_cmpli,oc_ncmpl,oc_dmc,cost_cust,bill_cust,bill_dur,ivr_key,sec_key,orig_qnm"
)


def an_hour_on(agents: int = 20, **options: Any) -> tuple[Simulator, VirtualClock]:
    clock = VirtualClock(START)
    sim = Simulator(
        username="u", password="s3cret-pw", agents=agents, seed=3, clock=clock, **options
    )
    clock.advance(HOUR)
    return sim, clock


@contextlib.asynccontextmanager
async def client_of(sim: Simulator, fmt: Format = "json") -> AsyncIterator[ContactNow]:
    async with (
        httpx.AsyncClient(transport=sim.transport()) as http,
        ContactNow(
            username="u", password="s3cret-pw", base_url="http://sim/", http_client=http, format=fmt
        ) as cn,
    ):
        yield cn


@pytest.mark.parametrize("fmt", FORMATS)
async def test_calls_counts_equal_the_cdrs_over_a_simulated_hour(fmt: Format) -> None:
    sim, _ = an_hour_on()
    async with client_of(sim, fmt) as cn:
        rows = await cn.reports.calls(
            ["nc_all", "nc_ans"], start=START, stop=START + HOUR, group_by=["qid"]
        )
        cdr = await cn.reports.cdr_list(
            ["qid", "cres", "tm_answ"], start=START, stop=START + HOUR, page_size=40
        )
    assert len(cdr) > 100
    by_queue = {row.text("qid"): (row.count("nc_all"), row.count("nc_ans")) for row in rows}
    assert by_queue == {
        qid: (
            sum(1 for call in cdr if call.queue_id == qid),
            sum(1 for call in cdr if call.queue_id == qid and call.answered),
        )
        for qid in {call.queue_id for call in cdr}
    }
    assert sum(n for n, _ in by_queue.values()) == len(cdr) == len({c.call_id for c in cdr})


async def test_every_answered_call_is_in_its_agents_status_log() -> None:
    sim, _ = an_hour_on()
    async with client_of(sim) as cn:
        cdr = await cn.reports.cdr_list(
            ["aid", "cres", "tm_answ", "tm_disc"], start=START, stop=START + HOUR
        )
    log = sim.status_log()
    answered = [call for call in cdr if call.answered]
    assert len(answered) > 100 and any(not call.answered for call in cdr)
    for call in answered:
        rows = [row for row in log if row["callid"] == call.call_id]
        assert rows, call
        assert {row["agent"] for row in rows} == {call.agent_id}
        assert rows[0]["status"] == "call" and int(rows[0]["uts"]) == call.answered_ts
    for call in cdr:
        if not call.answered:  # abandoned in the queue: no agent, no log row
            assert call.agent_id is None
            assert all(row["callid"] != call.call_id for row in log)


async def test_each_agents_call_time_and_wraps_in_calls_follow_from_the_status_log() -> None:
    # REPORTING.md: sec_call is the "sum of agent call time", nc_wrap "the number of
    # calls with a wrap time greater than zero"; the status_log seed says a row carries
    # the call id while the agent is on a call. So a call an agent took is the agent's run
    # of rows with its callid, to the row at tm_disc that ends it, and a call is wrapped
    # when that row is wrap. Answered or not: ReportingExamples.js's calls row (ten
    # manual calls, two of them No Answer) has sec_call 28 beside sec_talk 0 and sec_dur
    # 25.6, so sec_call is not the answered talk time but the agent's time on the calls.
    clock = VirtualClock(START)
    sim = Simulator(username="u", password="pw", agents=16, seed=5, clock=clock)
    token = sim.issue_token()
    window = {"token": token, "method": "calls", "range": f"{int(START)}:{int(START) + HOUR}"}
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        leads = [{"dataset": 351, "MobilePhone": f"077009{n:05d}"} for n in range(20)]
        params = {"token": token, "method": "ecnow_records", "action": "create"}
        assert json_of(await http.post("ecnow.php", params=params, json=leads))["bad"] == 0
        for _ in range(12):  # some calls end with no wrap: hangupready
            clock.advance(HOUR / 12)
            for row in sim.live_agents()[::5]:
                if row["status"] == "call":
                    params = {"token": token, "action": "hangupready", "agent": str(row["uid"])}
                    assert json_of(await http.get("agent.php", params=params))["success"]
        cdr = json_of(
            await http.get(
                "reporting.php",
                params={**window, "method": "cdr", "fields": "callid,aid,dtype,tm_answ,tm_disc"},
            )
        )["list"]
        figures = "aid,nc_ans,nc_ans_man,nc_wrap,sec_call"
        calls = json_of(
            await http.get("reporting.php", params={**window, "fields": figures, "groupby": "aid"})
        )["list"]
    log = sim.status_log()
    runs: dict[str, tuple[int, dict[str, str]]] = {}  # callid -> (first uts, the row ending it)
    for agent in {row["agent"] for row in log}:
        rows = [entry for entry in log if entry["agent"] == agent]
        for before, after in itertools.pairwise(rows):
            if before["callid"] != "0" and after["callid"] != before["callid"]:
                first = min(int(r["uts"]) for r in rows if r["callid"] == before["callid"])
                assert before["callid"] not in runs  # one run per call
                runs[before["callid"]] = (first, after)
    taken = [call for call in cdr if call["aid"] != "0"]
    assert any(call["dtype"] == "out" and call["tm_answ"] == "0" for call in taken)
    # aid -> answered, wrapped, seconds on the calls, calls taken
    expected: dict[str, list[int]] = {}
    for call in taken:
        first, ending = runs[call["callid"]]
        assert (int(ending["uts"]), ending["agent"]) == (int(call["tm_disc"]), call["aid"])
        mine = expected.setdefault(call["aid"], [0, 0, 0, 0])
        # A dialled call nobody answered rang in the agent's ear: wrapped all the same,
        # and its time on the call is agent call time (sec_call) as an answered one's is.
        mine[1] += ending["status"] == "wrap"
        mine[2] += int(ending["uts"]) - first
        mine[3] += 1
        if call["tm_answ"] != "0":
            assert first == int(call["tm_answ"])
            mine[0] += 1
    by_agent = {row["aid"]: row for row in calls if row["aid"] != "0"}
    assert by_agent.keys() == expected.keys()
    assert 0 < sum(wrapped for _, wrapped, _, _ in expected.values()) < len(taken)
    for aid, (count, wrapped, seconds, taken_by) in expected.items():
        row = by_agent[aid]
        assert (row["nc_ans"] + row["nc_ans_man"], row["nc_wrap"]) == (count, wrapped), aid
        assert abs(row["sec_call"] - seconds) <= taken_by  # whole seconds in the log


async def test_a_wrap_counts_in_nc_wrap_once_it_has_lasted() -> None:
    # REPORTING.md: nc_wrap is "the number of calls with a wrap time greater than zero".
    # hangup then ready at one moment is a wrap of 0 s; one still under way counts from
    # when it has lasted, and the figure it gives does not change when it ends.
    clock = VirtualClock(START)
    sim = Simulator(username="u", password="pw", agents=16, seed=5, clock=clock)
    token = sim.issue_token()
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:

        async def act(action: str, agent: str) -> None:
            params = {"token": token, "action": action, "agent": agent}
            assert json_of(await http.get("agent.php", params=params))["success"]

        async def wrapped(callid: str) -> int:
            params = {
                "token": token, "method": "calls", "fields": "nc_all,nc_wrap", "groupby": "aid",
                "range": f"{int(START)}:{int(clock.now())}", "callid": callid,
            }  # fmt: skip
            (row,) = json_of(await http.get("reporting.php", params=params))["list"]
            assert row["nc_all"] == 1
            return int(row["nc_wrap"])

        calls: list[tuple[str, str]] = []  # (agent, callid), three agents on calls at once
        while len(calls) < 3:
            clock.advance(7)
            live = {"token": token, "method": "agents", "action": "read"}
            calls = [
                (str(row["uid"]), str(row["call"][0]["callid"]))
                for row in json_of(await http.get("ajax.php", params=live))["list"]
                if row["status"] == "call"
            ][:3]
        (first, none), (second, brief), (third, ongoing) = calls
        for agent in (first, second, third):
            await act("hangup", agent)
        await act("ready", first)  # the same moment: no wrap
        assert (await wrapped(none), await wrapped(ongoing)) == (0, 0)  # 0 s of wrap so far
        clock.advance(0.5)
        await act("ready", second)
        assert [await wrapped(c) for c in (none, brief, ongoing)] == [0, 1, 1]
        await act("pause", third)
        clock.advance(60)
        assert [await wrapped(c) for c in (none, brief, ongoing)] == [0, 1, 1]


async def test_every_figure_follows_the_table_from_the_cdr() -> None:
    sim, _ = an_hour_on(agents=12, dwell=Dwell(patience=40))
    cutoff = 15
    figures = [
        "nc_all", "nc_in", "nc_out", "nc_man", "nc_ans", "nc_ans_in", "nc_ans_man", "nc_que",
        "nc_wait",
        "nc_wrap", "nc_ans_le", "nc_ans_gt", "nc_que_le", "nc_que_gt", "sec_dur", "sec_call",
        "oc_abdn", "oc_sale", "oc_cmpli", "oc_ncmpl",
    ]  # fmt: skip
    async with client_of(sim) as cn:
        rows = await cn.reports.calls(
            ["aid", "P1D", *figures],
            start=START,
            stop=START + HOUR,
            group_by=["aid", "P1D"],
            cutoff=cutoff,
        )
        cdr = await cn.reports.cdr_list(
            "aid,cres,ctype,dtype,sec_dur,sec_que,tm_answ,tm_disc,oc_sale,oc_cmpli,oc_ncmpl",
            start=START,
            stop=START + HOUR,
        )
    abandoned = [c for c in cdr if c.result == "Abandoned"]
    assert abandoned and any(c.queue_time > cutoff for c in abandoned)
    assert any(c.queue_time > cutoff for c in cdr if c.answered)

    def expected(calls: list[CdrRow]) -> dict[str, float]:
        inbound = [c for c in calls if c.dial_type == "in"]
        return {
            "nc_all": len(calls),
            "nc_in": sum(c.direction == "in" for c in calls),
            "nc_out": sum(c.dial_type == "out" for c in calls),
            "nc_man": sum(c.dial_type == "man" for c in calls),
            "nc_ans": sum(c.answered and c.dial_type != "man" for c in calls),
            "nc_ans_man": sum(c.answered and c.dial_type == "man" for c in calls),
            "nc_ans_in": sum(c.answered for c in inbound),
            "nc_que": sum(not c.answered for c in inbound),
            "nc_wait": sum(c.queue_time > 0 for c in calls),
            "nc_wrap": sum(c.answered for c in calls),  # every answered call was wrapped
            "nc_ans_le": sum(c.answered and c.queue_time <= cutoff for c in inbound),
            "nc_ans_gt": sum(c.answered and c.queue_time > cutoff for c in inbound),
            "nc_que_le": sum(not c.answered and c.queue_time <= cutoff for c in inbound),
            "nc_que_gt": sum(not c.answered and c.queue_time > cutoff for c in inbound),
            "sec_dur": round(sum(c.duration for c in calls), 3),
            "oc_abdn": sum(c.result == "Abandoned" for c in calls),
            "oc_sale": sum(c.sale for c in calls),
            "oc_cmpli": sum(c.complete for c in calls),
            "oc_ncmpl": sum(c.incomplete for c in calls),
        }

    groups: dict[str, list[CdrRow]] = {}
    for call in cdr:
        groups.setdefault(call.agent_id or "0", []).append(call)
    assert {row.text("aid") for row in rows} == set(groups)
    for row in rows:
        calls = groups[row.text("aid")]
        got = {name: row[name] for name in expected(calls)}
        assert got == pytest.approx(expected(calls)), row.text("aid")
        assert row.text("P1D") == "2023-11-14"
        talk = sum(c.talk_time for c in calls)
        assert abs(row.number("sec_call") - talk) <= len(calls)  # whole seconds on the wire


@contextlib.asynccontextmanager
async def _dialled_for_an_hour() -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A centre that has dialled ten mobile leads from START for an hour: a client of its
    API, and a token."""
    clock = VirtualClock(START)
    sim = Simulator(username="u", password="s3cret-pw", agents=20, seed=3, clock=clock)
    token = sim.issue_token()
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        leads = [{"dataset": 351, "MobilePhone": f"077009001{n:02d}"} for n in range(10)]
        await http.post(
            "ecnow.php",
            params={"token": token, "method": "ecnow_records", "action": "create"},
            json=leads,
        )
        clock.advance(HOUR)
        yield http, token


async def test_bill_dur_is_the_calls_duration_rounded_up() -> None:
    # ReportingExamples.js's CDR row: sec_dur "105.026" (tm_init 1501080575, tm_answ
    # 1501080655, tm_disc 1501080680: 25 s after the answer) bills "106.0000".
    async with _dialled_for_an_hour() as (http, token):
        cdr = json_of(
            await http.get(
                "reporting.php",
                params={
                    "token": token,
                    "method": "cdr",
                    "fields": "dtype,cres,sec_dur,tm_answ,bill_dur",
                    "range": f"{int(START)}:{int(START) + HOUR}",
                    "ctype": "out",
                },
            )
        )
    billed = [row for row in cdr["list"] if row["cres"] == "Answered"]
    assert any(row["dtype"] == "out" for row in billed)
    for row in billed:
        assert float(row["bill_dur"]) == math.ceil(float(row["sec_dur"])), row


async def test_calls_costs_are_the_sum_of_the_cdrs_costs() -> None:
    # The CDR wrote each cost to 3 places (ReportingExamples.js: cost_cust "0.045") while
    # calls summed the unrounded costs: 106 s to a mobile is 0.1767, "0.177" in the CDR,
    # and a warehouse summing the CDR disagreed with the wallboard's cost_cust.
    window = f"{int(START)}:{int(START) + HOUR}"
    async with _dialled_for_an_hour() as (http, token):
        query = {"token": token, "range": window, "fields": "cost_cust,bill_cust"}
        cdr = json_of(await http.get("reporting.php", params={**query, "method": "cdr"}))
        calls = json_of(
            await http.get("reporting.php", params={**query, "method": "calls", "groupby": "P1D"})
        )
    costs = [row["cost_cust"] for row in cdr["list"]]
    assert any(float(cost) > 0 for cost in costs)
    assert [row["bill_cust"] for row in cdr["list"]] == [f"{float(c):.4f}" for c in costs]
    (row,) = calls["list"]
    total = round(sum(float(cost) for cost in costs), 3)
    assert (row["cost_cust"], row["bill_cust"]) == (total, total)


async def test_live_calls_become_cdr_rows_with_the_same_id() -> None:
    sim, clock = an_hour_on(agents=10)
    live: list[Any] = sim.live_agents()
    on_call: dict[str, str] = {row["call"][0]["callid"]: row["uid"] for row in live if row["call"]}
    assert on_call
    clock.advance(4 * HOUR)  # every one of those calls has ended
    async with client_of(sim) as cn:
        cdr = await cn.reports.cdr_list("aid,tm_init,tm_disc", start=START, stop=START + HOUR)
    ended = {call.call_id: call for call in cdr}
    for callid, agent in on_call.items():
        call = ended[callid]
        assert call.agent_id == agent
        assert call.initiated_ts is not None and call.disconnected_ts is not None
        assert call.initiated_ts <= START + HOUR <= call.disconnected_ts


async def test_the_vendors_examples_get_the_documented_shapes() -> None:
    sim, _ = an_hour_on()
    token = sim.issue_token()
    agent = sim.agent_ids[0]
    # As the example computes it: Date.getTime() / 1000, which may carry a fraction.
    base = {"token": token, "format": "json", "range": f"{START + 0.25}:{START + HOUR}"}
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        calls = json_of(
            await http.get(
                "reporting.php",
                params={
                    **base,
                    "method": "calls",
                    "fields": JS_CALLS_FIELDS,
                    "groupby": "qtable,qnm",
                    "agent": agent,
                },
            )
        )
        nobody = json_of(
            await http.get(
                "reporting.php",
                params={
                    **base,
                    "method": "calls",
                    "fields": JS_CALLS_FIELDS,
                    "groupby": "qtable,qnm",
                    "agent": "503314",
                },
            )
        )
        cdr = json_of(
            await http.get(
                "reporting.php",
                params={**base, "method": "cdr", "fields": JS_CDR_FIELDS, "agent": agent},
            )
        )
    assert nobody == {"success": True, "total": 0, "list": []}
    assert calls["success"] is True and calls["total"] == len(calls["list"]) >= 1
    for row in calls["list"]:
        assert list(row) == ["ccid", "ccnm", *JS_CALLS_FIELDS.split(",")]
        assert row["aid"] == agent
        for name, value in row.items():
            if name.startswith(("nc_", "oc_")) or name == "bill_dur":
                assert type(value) is int, name  # JSON numbers, as documented
            elif name.startswith(("sec_", "cost_", "bill_")):
                assert type(value) is float, name
            else:
                assert value is None or type(value) is str, name
    assert cdr["total"] == len(cdr["list"]) >= 1
    for row in cdr["list"]:
        assert list(row) == JS_CDR_FIELDS.split(",")
        assert all(value is None or type(value) is str for value in row.values())
        assert row["ctag"] is row["tag"] is row["sms_msg"] is row["ivr_key"] is None
        assert float(row["sec_dur"]) >= 0 and row["tm_init"].isdigit()


async def test_calls_asked_for_ccid_and_ccnm_still_name_the_contact_centre() -> None:
    # Every documented calls row opens with ccid and ccnm unasked; asked for in fields,
    # they were answered null (fields the simulator did not know).
    sim, _ = an_hour_on(agents=4)
    token = sim.issue_token()
    query = {
        "token": token, "method": "calls", "range": f"{int(START)}:{int(START) + HOUR}",
        "groupby": "qid",
    }  # fmt: skip
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        unasked = json_of(await http.get("reporting.php", params={**query, "fields": "nc_all"}))
        asked = json_of(
            await http.get("reporting.php", params={**query, "fields": "ccnm,nc_all,ccid"})
        )
    assert unasked["total"] == asked["total"] >= 1
    for plain, named in zip(unasked["list"], asked["list"], strict=True):
        assert plain["ccid"] == named["ccid"] == sim.account_id
        assert plain["ccnm"] == named["ccnm"] and named["ccnm"]
        assert named["nc_all"] == plain["nc_all"]


async def test_a_cdr_page_says_the_windows_total_not_its_own_rows() -> None:
    # As the documented reply to a request without limit ("total": 68, its rows), and as
    # the client reads it: total counts the window, on every page, and the pages tile it.
    sim, _ = an_hour_on()
    base = {
        "token": sim.issue_token(),
        "method": "cdr",
        "fields": "callid",
        "range": f"{START}:{START + HOUR}",
    }
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        whole = json_of(await http.get("reporting.php", params=base))
        pages = [
            json_of(await http.get("reporting.php", params={**base, "start": at, "limit": 50}))
            for at in range(0, whole["total"] + 50, 50)
        ]
    assert whole["total"] == len(whole["list"]) > 100
    assert {page["total"] for page in pages} == {whole["total"]}
    assert [row for page in pages for row in page["list"]] == whole["list"]
    assert pages[-1]["list"] == []


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"method": "calls", "range": "1:2", "groupby": "qid"}, "Bad argument: fields"),
        ({"method": "calls", "fields": "nc_all", "groupby": "qid"}, "Bad argument: range"),
        ({"method": "calls", "fields": "nc_all", "range": "2:1", "groupby": "q"},
         "Bad argument: range"),
        ({"method": "calls", "fields": "nc_all", "range": "1:2"}, "Bad argument: groupby"),
        ({"method": "calls", "fields": "nc_all", "range": "1:2", "groupby": "nc_all"},
         "Bad argument: groupby [nc_all]"),
        ({"method": "cdr", "fields": "callid", "range": "1:2", "limit": "-1"},
         "Bad argument: limit"),
        ({"method": "calls", "fields": "nc_all", "range": "1:2", "groupby": "qid",
          "cutoff": "-5"}, "Bad argument: cutoff"),
        ({"method": "calls", "fields": "nc_all", "range": "1:2", "groupby": "qid",
          "cutoff": "9" * 400}, "Bad argument: cutoff"),
        ({"method": "cdr", "fields": "callid", "range": "1:2", "sort": "nope"},
         "Bad argument: sort"),
        ({"method": "totals", "fields": "nc_all", "range": "1:2"}, "Unknown method"),
    ],
)  # fmt: skip
async def test_reporting_refusals(params: dict[str, str], error: str) -> None:
    sim, _ = an_hour_on(agents=2)
    token = sim.issue_token()
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        reply = json_of(await http.get("reporting.php", params={"token": token, **params}))
    assert reply == {"success": False, "error": error}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"method": "cdr", "fields": "callid,a b"}, "a b"),
        ({"method": "calls", "fields": "nc_all,1x", "groupby": "aid"}, "1x"),
        ({"method": "agents", "fields": "aid,x<y"}, "x<y"),
    ],
)
async def test_a_field_that_is_no_column_name_is_refused_in_either_format(
    fmt: str, params: dict[str, str], name: str
) -> None:
    # An unknown field is answered as null, but its name is echoed as a key: one that
    # cannot be a column name made the XML reply unreadable (<a b/>, <1x/>).
    sim, _ = an_hour_on(agents=2)
    token = sim.issue_token()
    query = {"token": token, "format": fmt, "range": f"{int(START)}:{int(START) + HOUR}"}
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        response = await http.get("reporting.php", params={**query, **params})
    if fmt == "xml":
        root = xml_root(response)
        assert children(root) == {"success": "0", "error": f"Bad argument: fields [{name}]"}
    else:
        assert json_of(response) == {"success": False, "error": f"Bad argument: fields [{name}]"}


async def test_filters_and_an_unknown_field() -> None:
    sim, _ = an_hour_on()
    async with client_of(sim) as cn:
        everything = await cn.reports.cdr_list("qid,ctype,aid", start=START, stop=START + HOUR)
        queue = await cn.reports.cdr_list(
            "qid", start=START, stop=START + HOUR, queue=["1007", "1008"], ctype="in"
        )
        table = await cn.reports.calls(
            "nc_all,qtable", start=START, stop=START + HOUR, group_by="qtable", campaign="Willtest"
        )
        odd = await cn.reports.calls(
            ["nc_all", "nc_future"], start=START, stop=START + HOUR, group_by="qid", strict=False
        )
    assert {c.call_id for c in queue} == {
        c.call_id for c in everything if c.queue_id in ("1007", "1008")
    }
    assert [row.text("qtable") for row in table] == ["Willtest"]
    assert all(row["nc_future"] == 0 for row in odd)  # null: the simulator does not know it


async def test_the_cdr_is_deterministic_and_kept_like_the_log() -> None:
    async def read(sim: Simulator) -> list[CdrRow]:
        async with client_of(sim) as cn:
            return await cn.reports.cdr_list(cn.reports.CDR_FIELDS, start=START, stop=START + HOUR)
        raise AssertionError("unreachable")

    one_step, _ = an_hour_on()
    clock = VirtualClock(START)
    steps = Simulator(username="u", password="s3cret-pw", agents=20, seed=3, clock=clock)
    for _ in range(360):
        clock.advance(10)
        steps.catch_up()
    kept, _ = an_hour_on(cdr_retention=50)
    everything = await read(one_step)
    assert everything == await read(steps)
    newest = await read(kept)
    assert len(newest) == 50 and set(newest) <= set(everything)


async def test_a_recording_for_each_answered_call_over_a_real_socket(
    stage: Stage, tmp_path: Path
) -> None:
    sim, _ = an_hour_on(agents=6)
    async with (
        stage.showing(sim) as base_url,
        ContactNow(username="u", password="s3cret-pw", base_url=base_url) as cn,
    ):
        cdr = await cn.reports.cdr_list("aid,cres,tm_answ,tm_disc", start=START, stop=START + HOUR)
        answered = next(call for call in cdr if call.answered)
        saved = await cn.recordings.download(answered.call_id, tmp_path / "call.wav")
        buffer = io.BytesIO()
        again = await cn.recordings.download(answered.call_id, buffer)
        lost = [call for call in cdr if not call.answered]
        if lost:
            with pytest.raises(BadArgumentError, match="has no recording"):
                await cn.recordings.download(lost[0].call_id, tmp_path / "lost.wav")
        live = next(agent for agent in await cn.live.agents() if agent.call_id)
        assert live.call_id is not None
        with pytest.raises(BadArgumentError, match="still in progress"):
            await cn.recordings.download(live.call_id, tmp_path / "live.wav")
    assert saved.content_type == "audio/wav" and saved.size == again.size
    assert (tmp_path / "call.wav").read_bytes() == buffer.getvalue()
    with wave.open(str(tmp_path / "call.wav")) as audio:
        seconds = audio.getnframes() / audio.getframerate()
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == (1, 2, 8000)
    assert 0.25 <= seconds <= 3.0
    assert [path.name async for path in anyio.Path(tmp_path).iterdir()] == ["call.wav"]


def test_a_caller_goes_to_the_highest_level_then_the_agent_waiting_longest() -> None:
    agents = [
        SimAgent(uid=str(n), index=n, status="wait", statuscode="", since=since, rng=n)
        for n, since in enumerate([100.0, 50.0, 80.0, 10.0])
    ]
    levels = {"0": "100", "1": "50", "2": "100", "3": "50"}
    priorities = {(uid, "1007"): ["1", level] for uid, level in levels.items()}
    waiting = Waiting(["1007"], agents, priorities)
    for agent in agents:
        waiting.push(agent)
    agents[0].since = 120.0  # agent 0 moved since it was pushed: its entry is stale
    picked = [waiting.pick("1007") for _ in range(4)]
    assert [agent.uid if agent else None for agent in picked] == ["2", "3", "1", None]


def test_a_level_changed_while_waiting_counts_from_the_next_caller() -> None:
    # A priority update of a waiting agent: its entry at the old level is stale, and the
    # one at the new level counts (it was taken at the old level until it waited again).
    agents = [
        SimAgent(uid=str(n), index=n, status="wait", statuscode="", since=since, rng=n)
        for n, since in enumerate([10.0, 50.0])
    ]
    priorities = {("0", "1007"): ["1", "100"], ("1", "1007"): ["2", "50"]}
    waiting = Waiting(["1007"], agents, priorities)
    for agent in agents:
        waiting.push(agent)
    priorities[("0", "1007")][1] = "10"  # 0 drops below 1 ...
    waiting.push(agents[0])  # ... as Scenario.set_level pushes it again
    picked = [waiting.pick("1007") for _ in range(3)]
    assert [agent.uid if agent else None for agent in picked] == ["1", "0", None]


@pytest.mark.parametrize("fmt", FORMATS)
async def test_control_and_recordings_round_trip_in_either_format(
    fmt: Format, tmp_path: Path
) -> None:
    sim, _ = an_hour_on(agents=10)
    async with client_of(sim, fmt) as cn:
        agents = await cn.live.agents(include_offline=True)
        offline = next(agent for agent in agents if agent.status == "offline")
        on_call = next(agent for agent in agents if agent.call_id)
        with pytest.raises(BadArgumentError, match=r"agent \[\d+\] is offline") as refused:
            await cn.control.ready(offline.agent_id)
        assert (await cn.control.hangup(on_call.agent_id)).success
        assert on_call.call_id is not None
        saved = await cn.recordings.download(on_call.call_id, tmp_path / "call.wav")
        with pytest.raises(BadArgumentError, match="has no recording"):
            await cn.recordings.download("1", tmp_path / "none.wav")
        after = {agent.agent_id: agent for agent in await cn.live.agents(include_offline=True)}
    assert refused.value.argument == "agent"
    assert after[on_call.agent_id].status == "wrap"
    assert saved.size == len((tmp_path / "call.wav").read_bytes()) > 44


def sessions_in(log: list[dict[str, str]], names: dict[str, str]) -> list[AgentSession]:
    """The login sessions the status log tells of: from an agent's first row out of
    ``offline`` to its next ``offline`` row (``logout_ts`` None while still logged in),
    with the session's first and last row on a call (None for none)."""
    open_sessions: dict[str, dict[str, int | None]] = {}
    sessions: list[AgentSession] = []

    def close(agent: str, logout: int | None) -> None:
        session = open_sessions.pop(agent)
        sessions.append(
            AgentSession(
                agent_id=agent,
                agent_name=names[agent],
                login_ts=session["login"],
                logout_ts=logout,
                first_activity_ts=session["first"],
                last_activity_ts=session["last"],
            )
        )

    for row in log:
        agent, when = row["agent"], int(row["uts"])
        if row["status"] == "offline":
            if agent in open_sessions:
                close(agent, when)
            continue
        session = open_sessions.setdefault(agent, {"login": when, "first": None, "last": None})
        if row["callid"] != "0":
            session["first"] = when if session["first"] is None else session["first"]
            session["last"] = when
    for agent in list(open_sessions):
        close(agent, None)
    return sessions


def by_login(sessions: list[AgentSession]) -> list[AgentSession]:
    return sorted(sessions, key=lambda session: (session.login_ts or 0, session.agent_id))


@pytest.mark.parametrize("fmt", FORMATS)
async def test_agents_sessions_agree_with_the_status_log_and_the_live_state(fmt: Format) -> None:
    sim, clock = an_hour_on(agents=12)
    async with client_of(sim, fmt) as cn:
        waiting = next(a for a in await cn.live.agents() if a.status == "wait")
        logged_out_at = int(clock.now())
        await cn.control.logout(waiting.agent_id)
        clock.advance(60)
        stop = int(clock.now())
        live = await cn.live.agents(include_offline=True)
        sessions = await cn.reports.agents(start=START, stop=stop)
        later = await cn.reports.agents(start=START + 1, stop=stop)
        one = await cn.reports.agents(start=START, stop=stop, agent=waiting.agent_id)
    names = {agent.agent_id: agent.name for agent in live}
    told = sessions_in(sim.status_log(visible_only=False), names)
    # Every session began in the window: each agent has a row at START.
    assert by_login(sessions) == by_login(told)
    assert by_login(later) == by_login([s for s in told if s.login_ts != START])
    assert one == [s for s in sessions if s.agent_id == waiting.agent_id]
    # The agent logged out through agent.php: its last session ends then.
    last = max(one, key=lambda session: session.login_ts or 0)
    assert last.logout_ts == logged_out_at and last.logout_at is not None
    # Still logged in (no logout) is exactly who is not offline now.
    assert {s.agent_id for s in sessions if s.logout_ts is None} == {
        agent.agent_id for agent in live if agent.status != "offline"
    }
    for session in sessions:
        assert session.login_ts is not None and START <= session.login_ts <= stop
        assert session.logout_ts is None or session.login_ts <= session.logout_ts <= stop
        if session.first_activity_ts is not None:
            assert session.last_activity_ts is not None
            assert session.login_ts <= session.first_activity_ts <= session.last_activity_ts
    # Not a trivial picture: logins after START, sessions ended and open, with and
    # without calls.
    assert later and len(later) < len(sessions)
    assert {s.logout_ts is None for s in sessions} == {True, False}
    assert {s.first_activity_ts is None for s in sessions} == {True, False}


async def test_agents_sessions_see_the_status_log_rows_it_shows_not_newer_ones() -> None:
    # The sessions are read from the status log: with log_delay, the rows it does not
    # show yet do not end (or begin) a session yet either.
    sim, clock = an_hour_on(agents=12, log_delay=30.0)
    token = sim.issue_token()
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:

        async def session_and_log(uid: str) -> tuple[dict[str, str], dict[str, str]]:
            query = {"token": token, "agent": uid, "range": f"{int(START)}:{int(sim.now())}"}
            sessions = json_of(
                await http.get("reporting.php", params={**query, "method": "agents"})
            )["list"]
            log = json_of(
                await http.get(
                    "database.php",
                    params={"token": token, "method": "status_log", "action": "read", "agent": uid},
                )
            )["list"]
            return sessions[-1], log[-1]

        uid = next(str(row["uid"]) for row in sim.live_agents() if row["status"] == "wait")
        agent_php = {"token": token, "action": "logout", "agent": uid}
        assert json_of(await http.get("agent.php", params=agent_php)) == {"success": True}
        logged_out_at = str(int(sim.now()))
        clock.advance(10)
        session, row = await session_and_log(uid)
        assert row["status"] != "offline"  # not visible yet
        assert session["tm_logout"] == "0"
        clock.advance(30)
        session, row = await session_and_log(uid)
        assert (row["status"], row["uts"]) == ("offline", logged_out_at)
        assert session["tm_logout"] == logged_out_at
