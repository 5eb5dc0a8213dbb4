"""``agent.php`` in the simulator: each action moves the agent and writes its status_log row,
an impossible one answers the documented refusal, and a watcher sees the move."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from contactnow_async import BadArgumentError
from contactnow_async.simulator import Dwell, Simulator, VirtualClock

from ..watch._support import TickingClock, client_on
from .sim_helpers import START, api_params, json_of

# The backend changes nothing these tests check: CI runs each on one a run (tests/_backends.py).
pytestmark = [pytest.mark.anyio, pytest.mark.backend_neutral]


def centre(**options: Any) -> tuple[Simulator, VirtualClock]:
    clock = VirtualClock(START)
    # Seed 9 at 15 minutes: agents in every status.
    sim = Simulator(username="demo", password="demo", agents=40, seed=9, clock=clock, **options)
    clock.advance(900)
    return sim, clock


def agent_in(sim: Simulator, status: str, *, code: str | None = None) -> str:
    return next(
        str(row["uid"])
        for row in sim.live_agents()
        if row["status"] == status and (code is None or row["statuscode"] == code)
    )


def live(sim: Simulator, uid: str) -> dict[str, Any]:
    return next(dict(row) for row in sim.live_agents() if row["uid"] == uid)


def last_row(sim: Simulator, uid: str) -> dict[str, str]:
    return [row for row in sim.status_log() if row["agent"] == uid][-1]


async def act(sim: Simulator, action: str, **args: str) -> dict[str, Any]:
    token = sim.issue_token()
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        response = await http.get(
            "agent.php", params={"token": token, "action": action, "raw": "1", **args}
        )
    reply: dict[str, Any] = json_of(response)
    return reply


async def manual_call(
    outcome: str, *, ddi: str = "01614960001", seconds: float = 20
) -> tuple[Simulator, str, dict[str, str]]:
    """A manual call on queue 2002 dispositioned ``outcome`` and hung up ``seconds`` later:
    the simulator, the call's id, and a reporting window over it (with a token)."""
    sim, clock = centre(dwell=Dwell.uniform(600))
    uid = agent_in(sim, "wait")
    assert await act(sim, "manual_dial", agent=uid, ddi=ddi, qid="2002")
    callid = live(sim, uid)["call"][0]["callid"]
    assert await act(sim, "disposition", callid=callid, outcome=outcome) == {"success": True}
    clock.advance(seconds)
    assert await act(sim, "hangup", agent=uid) == {"success": True}
    window = {"token": sim.issue_token(), "range": f"{int(START)}:{int(sim.now())}",
              "queue": "2002"}  # fmt: skip
    return sim, callid, window


async def call_report(
    http: httpx.AsyncClient, callid: str, window: dict[str, str], cdr: str, calls: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The call's CDR row (fields ``cdr``) and the window's calls figures by dial type
    (fields ``calls``), each one row."""
    (row,) = json_of(
        await http.get(
            "reporting.php", params={**window, "method": "cdr", "fields": cdr, "callid": callid}
        )
    )["list"]
    (figures,) = json_of(
        await http.get(
            "reporting.php",
            params={**window, "method": "calls", "fields": calls, "groupby": "dtype"},
        )
    )["list"]
    return row, figures


@pytest.mark.parametrize(
    ("start", "action", "status", "code"),
    [
        ("wrap", "ready", "wait", ""),
        ("break", "ready", "wait", ""),
        ("break", "unpause", "wait", ""),
        ("wait", "pause", "break", "Paused"),
        ("wrap", "pause", "break", "Paused"),
        ("wait", "logout", "offline", "Home"),
        ("break", "logout", "offline", "Home"),
        ("offline", "agent_dial", "wait", ""),
    ],
)
async def test_a_move_writes_the_agents_status_log_row(
    start: str, action: str, status: str, code: str
) -> None:
    sim, _ = centre(dwell=Dwell.uniform(600))  # nobody else moves meanwhile
    uid = agent_in(sim, start)
    log_before = len(sim.status_log())
    assert await act(sim, action, agentid=uid) == {"success": True}
    now = live(sim, uid)
    assert (now["status"], now["statuscode"], now["time"]) == (status, code, str(int(sim.now())))
    row = last_row(sim, uid)
    assert (row["status"], row["subcode"], row["uts"]) == (status, code, now["time"])
    assert len(sim.status_log()) == log_before + 1


async def test_call_actions_end_or_hold_the_call_and_the_books_follow() -> None:
    sim, clock = centre(dwell=Dwell.uniform(600))
    on_call = [str(row["uid"]) for row in sim.live_agents() if row["status"] == "call"]
    assert len(on_call) >= 3
    first, second, third = on_call[:3]
    callid = live(sim, first)["call"][0]["callid"]

    assert await act(sim, "park", agent=first) == {"success": True}
    parked = last_row(sim, first)
    assert (parked["status"], parked["subcode"], parked["callid"]) == ("call", "Parked", callid)
    assert (await act(sim, "park", agent=first))["error"].endswith("has parked the call already")
    assert await act(sim, "unpark_tpt", agent=first) == {"success": True}
    assert last_row(sim, first)["subcode"] == ""
    assert (await act(sim, "unpark", agent=first))["error"].endswith("has no parked call")

    assert await act(sim, "disposition", callid=callid, outcome="510456") == {"success": True}
    assert await act(sim, "wrap", agent=first, subcode="Sale") == {"success": True}
    wrapped = last_row(sim, first)
    assert (wrapped["status"], wrapped["subcode"]) == ("wrap", "Sale")
    assert await act(sim, "wrap", agent=first, subcode="Callback") == {"success": True}
    assert last_row(sim, first)["subcode"] == "Callback"

    assert await act(sim, "hangup", agent=second) == {"success": True}
    assert live(sim, second)["status"] == "wrap"
    assert await act(sim, "hangupready", agent=third) == {"success": True}
    assert live(sim, third)["status"] in ("wait", "call")  # a queued caller comes at once

    token = sim.issue_token()
    clock.advance(1)
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        cdr = json_of(
            await http.get(
                "reporting.php",
                params={
                    "token": token,
                    "method": "cdr",
                    "fields": "callid,aid,ocid,cres",
                    "range": f"{int(START)}:{int(sim.now())}",
                    "agent": first,
                },
            )
        )["list"]
    assert {"callid": callid, "aid": first, "ocid": "510456", "cres": "Answered"} in cdr


async def test_a_manual_call_goes_on_the_books_as_one() -> None:
    sim, _ = centre(dwell=Dwell.uniform(600))
    uid = agent_in(sim, "wait")
    reply = await act(sim, "manual_dial", agent=uid, ddi="01614960001", qid="2002")
    assert reply == {"success": True}
    call = live(sim, uid)["call"][0]
    assert (live(sim, uid)["status"], call["cli"], call["direction"]) == (
        "call",
        "01614960001",
        "out",
    )
    assert await act(sim, "hangupready", agent=uid) == {"success": True}
    token = sim.issue_token()
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        (row,) = json_of(
            await http.get(
                "reporting.php",
                params={
                    "token": token,
                    "method": "cdr",
                    "fields": "aid,ddi,ctype,dtype,qid",
                    "range": f"{int(START)}:{int(sim.now())}",
                    "callid": call["callid"],
                },
            )
        )["list"]
        # In the calls report it is answered as a manual call, and not in nc_ans (nor its
        # time to answer in sec_ans): the vendor's sample row of ten manual calls has
        # nc_con 8, nc_ans_man 8, nc_ans 0 and sec_ans 0 (ReportingExamples.js).
        (figures,) = json_of(
            await http.get(
                "reporting.php",
                params={
                    "token": token,
                    "method": "calls",
                    "fields": "dtype,nc_man,nc_con,nc_ans,nc_ans_man,sec_ans",
                    "groupby": "dtype",
                    "range": f"{int(START)}:{int(sim.now())}",
                    "queue": "2002",
                },
            )
        )["list"]
    assert row == {"aid": uid, "ddi": "01614960001", "ctype": "out", "dtype": "man", "qid": "2002"}
    assert figures == {"ccid": "10278", "ccnm": "Demo_Centre", "dtype": "man", "nc_man": 1,
                       "nc_con": 1, "nc_ans": 0, "nc_ans_man": 1, "sec_ans": 0}  # fmt: skip


async def test_outcome_101_is_the_agents_answer_machine() -> None:
    """System outcome 101 was "No answer", counted in oc_noansw and ending the call No
    Answer; the vendor's is "Answer Machine (Agent)", counted in oc_ama."""
    # ReportingExamples.js, fetchCalls' console log: a row of "ocid": "101", "ocnm":
    # "Answer Machine (Agent)" (REPORTING.md: oc_ama, "answer machine (agent)").
    sim, callid, window = await manual_call("101")
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        codes = json_of(
            await http.get(
                "database.php",
                params=api_params(window["token"], "outcomecodes", "read", uid="101"),
            )
        )["list"]
        row, figures = await call_report(http, callid, window, "ocid,ocnm", "oc_ama,oc_noansw")
    assert [(code["description"], code["answerphone"]) for code in codes] == [
        ("Answer Machine (Agent)", "1")
    ]
    assert (row["ocid"], row["ocnm"]) == ("101", "Answer Machine (Agent)")
    assert (figures["oc_ama"], figures["oc_noansw"]) == (1, 0)


async def test_a_manual_call_nobody_answered_is_no_answer_as_a_dialled_one() -> None:
    # The vendor's sample row has ten manual calls, eight answered (nc_ans_man 8): a
    # manual call the agent dispositions "No answer" (103) was not answered. It was
    # "Answered", with a recording, in nc_ans_man and nc_con beside oc_noansw.
    sim, callid, window = await manual_call("103")
    token = window["token"]
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        cdr, calls = (
            "cres,ocid,flags,tm_answ,sec_ring,sec_dur",
            "nc_man,nc_con,nc_ans_man,oc_noansw",
        )
        row, figures = await call_report(http, callid, window, cdr, calls)
        recording = await http.get("recording.php", params={"token": token, "callid": callid})
    assert (row["cres"], row["ocid"], row["flags"], row["tm_answ"]) == (
        "No Answer", "103", "processed", "0"
    )  # fmt: skip
    assert row["sec_ring"] == row["sec_dur"] and float(row["sec_dur"]) >= 20
    assert (figures["nc_man"], figures["nc_con"], figures["nc_ans_man"]) == (1, 0, 0)
    assert figures["oc_noansw"] == 1
    assert json_of(recording) == {
        "success": False, "error": f"Bad argument: callid [{callid}] has no recording"
    }  # fmt: skip


async def test_a_manual_call_to_a_dead_line_is_dead_line_not_answered() -> None:
    # REPORTING.md: cres is "the call result (Answered, Dead Line, No Answer, etc)", and
    # oc_dead counts "outcomes - dead lines" (here 104, "Number unobtainable"). A manual
    # call dispositioned 104 was "Answered", with a recording, in nc_con and nc_ans_man
    # beside oc_dead: a dead line that a customer had answered.
    sim, callid, window = await manual_call("104", ddi="01614960002", seconds=8)
    token = window["token"]
    cdr = {**window, "method": "cdr", "callid": callid, "fields": "cres,ocid,flags,tm_answ"}
    calls = {**window, "method": "calls", "groupby": "dtype"}
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        (row,) = json_of(await http.get("reporting.php", params=cdr))["list"]
        cdr["fields"] = "sec_ring,sec_dur"
        (times,) = json_of(await http.get("reporting.php", params=cdr))["list"]
        calls["fields"] = "nc_man,nc_con,nc_ans_man,oc_dead"
        (figures,) = json_of(await http.get("reporting.php", params=calls))["list"]
        recording = await http.get("recording.php", params={"token": token, "callid": callid})
    assert (row["cres"], row["ocid"], row["flags"], row["tm_answ"]) == (
        "Dead Line", "104", "processed", "0"
    )  # fmt: skip
    assert times["sec_ring"] == times["sec_dur"] and float(times["sec_dur"]) >= 8
    assert (figures["nc_man"], figures["nc_con"], figures["nc_ans_man"]) == (1, 0, 0)
    assert figures["oc_dead"] == 1
    assert json_of(recording)["error"] == f"Bad argument: callid [{callid}] has no recording"


async def _dialled_call(
    sim: Simulator, clock: VirtualClock, http: httpx.AsyncClient, token: str, *, end: bool = True
) -> tuple[str, str, str]:
    """Load a record into LIVE dataset 351 and return (record id, callid, agent) of the
    call the dialler makes with it, once the agent has hung up (``end``)."""
    created = json_of(
        await http.post(
            "ecnow.php",
            params=api_params(token, "ecnow_records", "create"),
            content=b'[{"dataset": 351, "HomePhone": "01614960099"}]',
        )
    )
    record = str(created["key"])
    while not any(
        row["call"] and row["call"][0].get("urn") == record for row in list[Any](sim.live_agents())
    ):
        clock.advance(5)
    rows: list[Any] = sim.live_agents()
    agent = next(row for row in rows if row["call"] and row["call"][0].get("urn") == record)
    if end:
        assert await act(sim, "hangup", agent=str(agent["uid"])) == {"success": True}
    return record, str(agent["call"][0]["callid"]), str(agent["uid"])


@pytest.mark.parametrize("during", [True, False], ids=["during-the-call", "then-disposition"])
async def test_a_callback_the_agent_sets_outlives_the_calls_outcome(during: bool) -> None:
    # The call's outcome (its end, or a disposition after it) wrote its own callback, an
    # hour on, over the one the agent had just set: the record was called back then.
    clock = VirtualClock(START)
    sim = Simulator(agents=4, seed=2, clock=clock, dwell=Dwell.uniform(600))
    token = sim.issue_token()
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        record, callid, uid = await _dialled_call(sim, clock, http, token, end=not during)
        due = "2023-11-15 09:00:00"  # the next morning, some 9 hours on
        assert await act(sim, "callback", callid=callid, callback=due, notes="after 9") == {
            "success": True
        }
        if during:
            assert await act(sim, "disposition", callid=callid, outcome="109")
            clock.advance(20)
            assert await act(sim, "hangup", agent=uid) == {"success": True}
        else:
            assert await act(sim, "disposition", callid=callid, outcome="109")
        (row,) = json_of(
            await http.get(
                "ecnow.php",
                params=api_params(token, "ecnow_records", "read", dataset="351", id=record),
            )
        )["list"]
        assert (row["outcomecode"], row["callback"]) == ("109", due)
        assert (row["Call_Back_Notes"], row["ProcessType"]) == ("after 9", "NEEDSMOREWORK")

        async def calls() -> list[dict[str, str]]:
            fields = "callid,tm_init"  # a token of now: the first expires within 12 hours
            params = {"token": sim.issue_token(), "method": "cdr", "fields": fields, "urn": record}
            params["range"] = f"{int(START)}:{int(sim.now())}"
            rows: list[dict[str, str]] = json_of(await http.get("reporting.php", params=params))[
                "list"
            ]
            return rows

        clock.advance(4 * 3600)  # past the hour the outcome would have called it back
        assert [row["callid"] for row in await calls()] == [callid]
        clock.advance(8 * 3600)  # past the callback: called back then
        first, again = await calls()
    assert first["callid"] == callid and int(again["tm_init"]) >= int(START) + 38_800


async def test_a_callback_in_unix_seconds_keeps_its_moment_when_the_clocks_go_back() -> None:
    # London's clocks go back at 01:00 UTC on 2026-10-25: a callback an hour after 00:30
    # UTC is written "01:30:00", which names 00:30 UTC too. Read back as that one, the
    # record was called back as soon as its call ended.
    clock = VirtualClock(1_792_886_400.0)  # 2026-10-25 00:00 UTC (01:00 BST)
    zone = ZoneInfo("Europe/London")
    sim = Simulator(agents=4, seed=2, clock=clock, dwell=Dwell.uniform(600), record_tz=zone)
    token = sim.issue_token()
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        record, callid, uid = await _dialled_call(sim, clock, http, token, end=False)
        due = int(sim.now()) + 3600
        assert await act(sim, "callback", callid=callid, callback=str(due)) == {"success": True}
        assert await act(sim, "disposition", callid=callid, outcome="109")
        assert await act(sim, "hangup", agent=uid) == {"success": True}

        async def calls() -> list[str]:
            params = {"token": token, "method": "cdr", "fields": "callid,tm_init", "urn": record}
            params["range"] = f"0:{int(sim.now())}"
            rows = json_of(await http.get("reporting.php", params=params))["list"]
            return [row["tm_init"] for row in rows]

        clock.advance(3000)
        assert len(await calls()) == 1  # not called back before its callback
        clock.advance(3 * 3600)
        assert int((await calls())[1]) >= due


async def test_a_dialled_calls_record_takes_the_disposition_and_the_callback() -> None:
    clock = VirtualClock(START)
    sim = Simulator(agents=4, seed=2, clock=clock, dwell=Dwell.uniform(600))
    token = sim.issue_token()
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        record, callid, uid = await _dialled_call(sim, clock, http, token)
        assert await act(sim, "disposition", callid=callid, outcome="501638") == {"success": True}
        # Unix times no record date can hold, and unix seconds in other scripts' digits
        # (float() reads them; no PHP or MySQL number or date is written so).
        for beyond in ("999999999999", "9" * 400, "\u0661\u0667" + "\u0660" * 8):
            refused = await act(sim, "callback", callid=callid, callback=beyond)
            assert refused == {"success": False, "error": "Bad argument: callback"}
        assert await act(
            sim, "callback", callid=callid, callback="2030-01-02 09:00:00", agent=uid
        ) == {"success": True}
        (row,) = json_of(
            await http.get(
                "ecnow.php",
                params=api_params(token, "ecnow_records", "read", dataset="351", id=record),
            )
        )["list"]
    assert (row["outcomecode"], row["callback"]) == ("501638", "2030-01-02 09:00:00")
    assert (row["AgentRef"], row["Agent_Specific"]) == (uid, "1")
    assert f"Call {callid} by agent {uid}: outcome 501638" in row["notes"]


async def test_a_refused_callback_or_disposition_changes_no_record() -> None:
    clock = VirtualClock(START)
    sim = Simulator(agents=4, seed=2, clock=clock, dwell=Dwell.uniform(600))
    token = sim.issue_token()
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        record, callid, _ = await _dialled_call(sim, clock, http, token)

        async def read() -> tuple[dict[str, str], dict[str, str]]:
            (row,) = json_of(
                await http.get(
                    "ecnow.php",
                    params=api_params(token, "ecnow_records", "read", dataset="351", id=record),
                )
            )["list"]
            (cdr,) = json_of(
                await http.get(
                    "reporting.php",
                    params={
                        "token": token,
                        "method": "cdr",
                        "fields": "ocid",
                        "callid": callid,
                        "range": f"{int(START)}:{int(sim.now())}",
                    },
                )
            )["list"]
            return row, cdr

        before = await read()
        refused = await act(sim, "callback", callid=callid, callback="2030-01-02 09:00", agent="9")
        assert refused == {"success": False, "error": "Bad argument: agent [9] does not exist."}
        assert await read() == before
        # ECNOW.md: an EXPIRED record cannot be edited; agent.php cannot either.
        expired = json_of(
            await http.post(
                "ecnow.php",
                params=api_params(token, "ecnow_datasets", "update"),
                content=b'[{"dataset": 351, "d_status": "EXPIRED"}]',
            )
        )
        assert expired["total"] == 1
        before = await read()
        closed = {"success": False, "error": "Bad argument: dataset [351] is EXPIRED"}
        assert await act(sim, "callback", callid=callid, callback="2030-01-02 09:00") == closed
        assert await act(sim, "disposition", callid=callid, outcome="510456") == closed
        assert await read() == before


@pytest.mark.parametrize(
    ("status", "action", "args", "error"),
    [
        ("offline", "ready", {}, "is offline"),
        ("offline", "hangup", {}, "is offline"),
        ("wait", "hangup", {}, "has no call to hang up"),
        ("wait", "unpark", {}, "has no call to unpark"),
        ("call", "pause", {}, "is on a call"),
        ("call", "logout", {}, "is on a call"),
        ("wrap", "unpause", {}, "is in wrap, not break"),
        ("call", "manual_dial", {"ddi": "0161"}, "is on a call"),
        ("wait", "manual_dial", {"ddi": "call me"}, "Bad argument: ddi"),
        ("wait", "manual_dial", {"ddi": "0161²"}, "Bad argument: ddi"),  # a digit, not ASCII
        ("wait", "manual_dial", {"ddi": "0161", "qid": "1007"}, "not an outbound queue"),
    ],
)
async def test_an_impossible_action_answers_the_documented_form(
    status: str, action: str, args: dict[str, str], error: str
) -> None:
    sim, _ = centre(dwell=Dwell.uniform(600))
    uid = agent_in(sim, status)
    log_before = sim.status_log()
    reply = await act(sim, action, agent=uid, **args)
    assert reply["success"] is False and reply["error"].startswith("Bad argument: ")
    assert error in reply["error"]
    assert sim.status_log() == log_before  # nothing moved


@pytest.mark.parametrize(
    ("action", "args", "error"),
    [
        ("ready", {}, "Bad argument: agent"),
        ("ready", {"agent": "1", "agentid": "2"}, "Bad argument: agent"),
        ("ready", {"agent": "999"}, "Bad argument: agent [999] does not exist."),
        ("disposition", {"outcome": "101"}, "Bad argument: callid"),
        (
            "disposition",
            {"callid": "1", "outcome": "101"},
            "Bad argument: callid [1] does not exist.",
        ),
        ("callback", {"callid": "1", "callback": "2030-01-02 09:00:00"}, "callid [1] does not"),
        ("callback", {"callid": "", "callback": "x"}, "Bad argument: callid"),
        ("agent_dial", {"phone": "000"}, "is no agent's phone"),
        ("transfer", {"agent": "1"}, "Unknown action"),
    ],
)
async def test_arguments_the_simulator_refuses(
    action: str, args: dict[str, str], error: str
) -> None:
    sim, _ = centre()
    reply = await act(sim, action, **args)
    assert reply["success"] is False and error in reply["error"]


@pytest.mark.parametrize("action", ["disposition", "callback"])
async def test_an_unanswered_call_is_told_apart_from_an_unknown_one(action: str) -> None:
    # An unknown call id is answered as ECNOW.md answers an unknown id ("... does not
    # exist."), as the agent's is; an abandoned call (aid 0) exists, but is no agent's.
    sim, clock = centre()
    clock.advance(60)  # seed 9: two inbound calls abandoned by then
    params = {"token": sim.issue_token(), "method": "cdr", "fields": "callid,aid"}
    params["range"] = f"{int(START)}:{int(sim.now())}"
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        rows = json_of(await http.get("reporting.php", params=params))["list"]
    unanswered = next(str(row["callid"]) for row in rows if str(row["aid"]) == "0")
    args = {"outcome": "101"} if action == "disposition" else {"callback": "2030-01-02 09:00:00"}
    assert await act(sim, action, callid=unanswered, **args) == {
        "success": False,
        "error": f"Bad argument: callid [{unanswered}] is no agent's call",
    }
    assert await act(sim, action, callid="99999999", **args) == {
        "success": False,
        "error": "Bad argument: callid [99999999] does not exist.",
    }


async def test_a_created_agent_is_offline_for_ever() -> None:
    sim, _ = centre()
    token = sim.issue_token()
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        key = json_of(
            await http.post(
                "database.php",
                params=api_params(token, "agents", "create"),
                content=b'[{"name": "Static"}]',
            )
        )["key"]
    assert (await act(sim, "ready", agent=str(key)))["error"].endswith("is offline")
    assert (await act(sim, "agent_dial", agent=str(key)))["error"].endswith("can ring")


async def test_ready_on_an_agent_in_wrap_reaches_the_watcher_within_one_poll() -> None:
    clock = TickingClock(START)
    sim = Simulator(
        username="watch",
        password="secret",
        agents=40,
        seed=5,
        clock=clock,
        dwell=Dwell.uniform(600),
    )
    clock.advance(900)
    async with client_on(sim) as cn, cn.watch_agents(interval=1.0) as stream:
        wrap = next(agent for agent in stream.snapshot.values() if agent.status == "wrap")
        assert (await cn.control.ready(wrap.agent_id)).success
        moved_at = sim.now()
        assert (await cn.control.unpause(wrap.agent_id)).success  # in wait already: no move
        with pytest.raises(BadArgumentError) as refused:
            await cn.control.hangup(wrap.agent_id)
        async for event in stream:
            if event.agent_id == wrap.agent_id and event.kind == "changed":
                break
    assert refused.value.argument == "agent"
    assert event.before is not None and event.after is not None
    assert (event.before.status, event.after.status) == ("wrap", "wait")
    assert event.changed_at.timestamp() == int(moved_at)
    # Seen by the first poll after the move: polls are 1 second apart on this clock.
    assert moved_at <= event.observed_at.timestamp() <= moved_at + 1.0
