"""The simulator's books agree at every moment: under a clock that moves between two
reads, with callbacks set in the past, and for the calls nobody answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from contactnow_async.simulator import Dwell, Simulator, VirtualClock

from .sim_helpers import START, json_of

# The backend changes nothing these tests check: CI runs each on one a run (tests/_backends.py).
pytestmark = [pytest.mark.anyio, pytest.mark.backend_neutral]

#: What to ask of an agent in each status (each one allowed from it).
MOVES = {
    "wait": "pause",
    "break": "unpause",
    "wrap": "ready",
    "call": "hangup",
    "offline": "agent_dial",
}
S = int(START)


class MovingClock(VirtualClock):
    """A clock that moves on at every read, as a ScaledClock does between two reads."""

    def now(self) -> float:
        return self.advance(7.0)


class Books:
    """Plain httpx calls to the simulator, as a script of the vendor's would make them."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http, self.token = http, token

    async def get(self, script: str, **params: str) -> Any:
        return json_of(await self.http.get(f"{script}.php", params={"token": self.token, **params}))

    async def lead(self) -> None:
        reply = await self.http.post(
            "ecnow.php",
            params={"token": self.token, "method": "ecnow_records", "action": "create"},
            json=[{"dataset": 351, "MobilePhone": "07700900111"}],
        )
        assert json_of(reply)["success"] is True

    async def cdr(self, **filters: str) -> list[dict[str, str]]:
        fields = "callid,urn,aid,cres,sec_ring,sec_dur,tm_init,tm_answ,tm_disc"
        reply = await self.get(
            "reporting", method="cdr", fields=fields, range=f"{S}:{S + 10**6}", **filters
        )
        rows: list[dict[str, str]] = reply["list"]
        return rows


def assert_in_time_order(log: list[dict[str, str]]) -> None:
    """status_log rows, in uid order, never go back in time (for any agent)."""
    times = [int(row["uts"]) for row in log]
    assert times == sorted(times)


async def test_an_agent_action_is_written_at_the_moment_the_scenario_was_played_to() -> None:
    # Each request reads the clock to play the scenario; an action stamped from a second
    # read was written after the events due between the two, which then went in behind it.
    clock = MovingClock(START)
    sim = Simulator(agents=8, seed=5, clock=clock)
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        books = Books(http, sim.issue_token())
        moved = 0
        for step in range(120):
            live = (await books.get("ajax", method="agents", action="read", mode="all"))["list"]
            for row in live:
                assert int(row["time"]) <= int(row["srvtime"])
            agent = live[step % len(live)]
            reply = await books.get("agent", action=MOVES[agent["status"]], agent=agent["uid"])
            moved += reply["success"]
        log = (await books.get("database", method="status_log", action="read"))["list"]
    assert moved > 60
    assert_in_time_order(log)


async def test_a_callback_set_in_the_past_is_dialled_from_now_not_back_then() -> None:
    clock = VirtualClock(START)
    sim = Simulator(agents=10, seed=2, clock=clock)
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        books = Books(http, sim.issue_token())
        await books.lead()
        clock.advance(600)
        (first,) = await books.cdr(ctype="out")
        asked = clock.advance(600)
        before = [row for row in await books.cdr() if int(row["tm_disc"]) < asked]
        # The docs are silent on a callback already due: it is due now, as one set for now.
        reply = await books.get(
            "agent", action="callback", callid=first["callid"], callback=str(S + 100)
        )
        assert reply == {"success": True}
        clock.advance(600)
        calls = await books.cdr(urn=first["urn"])
        log = (await books.get("database", method="status_log", action="read"))["list"]
        # The calls that had ended before the callback are the same after it: the past stays.
        assert [row for row in await books.cdr() if int(row["tm_disc"]) < asked] == before
    assert len(calls) == 2 and int(calls[1]["tm_init"]) >= asked
    assert_in_time_order(log)


async def test_a_dialled_call_nobody_answers_rang_until_it_was_given_up() -> None:
    # REPORTING.md: sec_ring is "the time between the call being acknowledged and
    # answered/disconnected"; a call never answered rang until its end.
    clock = VirtualClock(START)
    sim = Simulator(agents=10, seed=2, clock=clock)
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        books = Books(http, sim.issue_token())
        await books.lead()
        for _ in range(60):
            clock.advance(1)
            live = (await books.get("ajax", method="agents", action="read"))["list"]
            dialled = [
                (row["uid"], row["call"][0])
                for row in live
                if row["call"] and "urn" in row["call"][0]
            ]
            if dialled:
                break
        ((agent, call),) = dialled
        assert (
            await books.get("agent", action="disposition", callid=call["callid"], outcome="103")
        )["success"]
        clock.advance(30)
        assert (await books.get("agent", action="hangup", agent=agent))["success"]
        (row,) = await books.cdr(callid=call["callid"])
        log = (await books.get("database", method="status_log", action="read", agent=agent))["list"]
    assert (row["aid"], row["cres"], row["tm_answ"]) == (agent, "No Answer", "0")
    assert float(row["sec_ring"]) == float(row["sec_dur"]) > 30
    # The agent heard it ring from the connection to the end, as the status log says.
    on_call = [int(entry["uts"]) for entry in log if entry["callid"] == call["callid"]]
    assert int(row["tm_init"]) <= on_call[0] and log[-1]["uts"] == row["tm_disc"]


async def test_no_dialled_call_starts_before_its_record_could_be_dialled() -> None:
    # Records created while agents wait are offered to them at once; an agent whose own
    # next turn fell within the 5 s dial delay connected at that turn instead, so its
    # call's CDR row started (tm_init: the connection less the ring) before the record
    # existed, and said it rang 5 s when it rang less.
    clock = VirtualClock(START)
    sim = Simulator(agents=300, seed=1, clock=clock)
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        books = Books(http, sim.issue_token())
        created = int(clock.advance(600))
        leads = [{"dataset": 351, "MobilePhone": f"077009{n:05d}"} for n in range(300)]
        reply = await http.post(
            "ecnow.php",
            params={"token": books.token, "method": "ecnow_records", "action": "create"},
            json=leads,
        )
        assert json_of(reply)["total"] == 300
        clock.advance(1800)
        dialled = [row for row in await books.cdr(ctype="out") if row["urn"] != "0"]
    assert len(dialled) == 300
    assert min(int(row["tm_init"]) for row in dialled) >= created
    for row in dialled:  # it rang from the dial until the agent took it
        if row["cres"] == "Answered":
            assert int(row["tm_answ"]) - int(row["tm_init"]) in (4, 5, 6), row


@pytest.mark.parametrize(("outcome", "cres"), [("103", "No Answer"), ("104", "Dead Line")])
async def test_an_outcome_given_after_the_call_ends_judges_it_as_one_given_during_it(
    outcome: str, cres: str
) -> None:
    # An agent hung up a manual call, then gave it "No answer" in wrap (as agents do):
    # its CDR row said ocid 103 and oc_noansw 1, but still cres Answered, its answer
    # time, nc_ans_man 1 and a recording; given during the call, it was No Answer.
    clock = VirtualClock(START)
    sim = Simulator(agents=6, seed=2, clock=clock)
    fields = "nc_man,nc_ans_man,oc_noansw,oc_dead"
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        books = Books(http, sim.issue_token())
        live = (await books.get("ajax", method="agents", action="read", mode="all"))["list"]
        agent = str(next(row["uid"] for row in live if row["status"] in ("wait", "wrap")))
        dialled = await books.get("agent", action="manual_dial", agent=agent, ddi="07700900123")
        assert dialled == {"success": True}
        live = (await books.get("ajax", method="agents", action="read", mode="all"))["list"]
        (call,) = next(row["call"] for row in live if row["uid"] == agent)
        callid = str(call["callid"])
        clock.advance(40)
        assert (await books.get("agent", action="hangup", agent=agent))["success"]
        reply = await books.get("agent", action="disposition", callid=callid, outcome=outcome)
        assert reply == {"success": True}
        (row,) = await books.cdr(callid=callid)
        window = f"{S}:{S + 1000}"
        rows = await books.get(
            "reporting", method="calls", fields=fields, range=window, groupby="dtype"
        )
        (report,) = [group for group in rows["list"] if group["dtype"] == "man"]
        recording = await http.get("recording.php", params={"token": books.token, "callid": callid})
        # Changed back to an answered outcome, it is answered again, as it was.
        await books.get("agent", action="disposition", callid=callid, outcome="510456")
        (again,) = await books.cdr(callid=callid)
    assert (row["cres"], row["tm_answ"]) == (cres, "0")
    assert float(row["sec_ring"]) == float(row["sec_dur"]) == 40
    assert (report["nc_man"], report["nc_ans_man"]) == (1, 0)
    assert (report["oc_noansw"], report["oc_dead"]) == ((1, 0) if outcome == "103" else (0, 1))
    assert json_of(recording)["success"] is False
    assert (again["cres"], again["tm_answ"], float(again["sec_ring"])) == ("Answered", str(S), 0)


async def test_an_agent_assigned_a_queue_while_waiting_takes_its_queued_caller_at_once() -> None:
    # A waiting agent takes a queue's caller at once, and so it does when the assignment
    # comes while a caller waits: it went on waiting beside the caller, who waited on
    # (the CDR's sec_que) or gave up, while the live view showed the queue's agent free.
    clock = VirtualClock(START)
    sim = Simulator(agents=6, seed=3, clock=clock, dwell=Dwell(wait=5, call=300, patience=900))
    scenario = sim._scenario  # no request shows a caller still queued: only the CDR, after
    found = None
    while found is None:
        clock.advance(5)
        sim.catch_up()
        found = next(
            (
                (agent.uid, qid)
                for qid in ("1007", "1008", "1009")
                if scenario.switch.waiting(qid)
                for agent in scenario.agents
                if agent.status == "wait" and (agent.uid, qid) not in scenario.priorities
            ),
            None,
        )
    uid, qid = found
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        books = Books(http, sim.issue_token())
        reply = await http.post(
            "database.php",
            params={"token": books.token, "method": "priority", "action": "create"},
            json=[{"agentid": uid, "qid": qid, "level": "100"}],
        )
        assert json_of(reply)["total"] == 1
        (row,) = (await books.get("ajax", method="agents", action="read", agent=uid))["list"]
    assert (row["status"], row["time"]) == ("call", str(int(clock.now())))
    assert row["call"][0]["qid"] == qid


async def test_an_agent_whose_record_closed_before_its_dial_takes_a_queued_caller() -> None:
    # An agent about to dial a record is in wait, not in a queue's line: callers queue. When
    # the record closes before the dial (its dataset put on HOLD), the agent waits again,
    # and takes the caller then, as an agent becoming free does; it waited beside them.
    clock = VirtualClock(START)
    sim = Simulator(agents=4, seed=2, clock=clock, dwell=Dwell(wait=5, call=60, wrap=5))
    scenario = sim._scenario  # no request shows a caller still queued: only the CDR, after

    def about_to_dial(agent: Any) -> bool:
        """In wait with a record, dialling before any other agent moves and before a
        caller queued on its queues gives up."""
        lines = [scenario.switch.lines.get(qid, ()) for qid in scenario.waiting.queues_of(agent)]
        return (
            agent.status == "wait"
            and agent.lead is not None
            and all(other.due > agent.due for other in scenario.agents if other is not agent)
            and any(call.gives_up_at > agent.due for line in lines for call in line)
        )

    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        books = Books(http, sim.issue_token())
        ecnow = {"token": books.token, "method": "ecnow_records", "action": "create"}
        leads = [{"dataset": 351, "HomePhone": f"0161496{n:04d}"} for n in range(200)]
        await http.post("ecnow.php", params=ecnow, json=leads)
        found = None
        while found is None:
            clock.advance(1)
            sim.catch_up()
            found = next((agent for agent in scenario.agents if about_to_dial(agent)), None)
        queues = scenario.waiting.queues_of(found)
        ecnow["method"], ecnow["action"] = "ecnow_datasets", "update"
        reply = await http.post(
            "ecnow.php", params=ecnow, json=[{"dataset": 351, "d_status": "HOLD"}]
        )
        assert json_of(reply)["success"] is True
        clock.advance(found.due - clock.now())  # the dial it was to make: none now
        (row,) = (await books.get("ajax", method="agents", action="read", agent=found.uid))["list"]
    assert row["status"] == "call" and row["call"][0]["qid"] in queues


async def test_a_record_an_agent_gave_up_is_dialled_by_an_agent_still_waiting() -> None:
    # An agent about to dial a record went on a break (pause): the record was free again,
    # but an agent in wait on the same outbound queue, with nothing to do, never dialled it
    # until some later change (another record, a callback falling due) offered it.
    clock = VirtualClock(START)
    sim = Simulator(agents=6, seed=4, clock=clock, dwell=Dwell(wait=60, call=60, wrap=5))
    scenario = sim._scenario  # no request shows which record an agent is about to dial
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        books = Books(http, sim.issue_token())
        ecnow = {"token": books.token, "method": "ecnow_records", "action": "create"}
        await http.post("ecnow.php", params=ecnow, json=[{"dataset": 351, "HomePhone": "1"}])
        pair = None
        while pair is None:
            clock.advance(1)
            sim.catch_up()
            dialling = [a for a in scenario.agents if a.status == "wait" and a.lead is not None]
            idle = [
                agent
                for agent in scenario.agents
                if agent.status == "wait"
                and agent.lead is None
                and (agent.uid, "2001") in scenario.priorities  # dataset 351's queue
                and agent.due > clock.now() + 10  # it stays in wait meanwhile
            ]
            pair = (dialling[0], idle[0]) if dialling and idle else None
        gave_up, waiting = pair
        record = str(gave_up.lead)
        assert await books.get("agent", action="pause", agent=gave_up.uid) == {"success": True}
        clock.advance(6)  # the dial an agent makes once it takes a record
        (row,) = (await books.get("ajax", method="agents", action="read", agent=waiting.uid))[
            "list"
        ]
    assert row["status"] == "call" and row["call"][0]["urn"] == record


async def test_an_agent_given_an_outbound_queue_while_waiting_dials_its_records() -> None:
    # A record waited, diallable, for an agent of its queue; one in wait with nothing to
    # do was assigned to the queue (priority create), and sat idle beside the record.
    clock = VirtualClock(START)
    sim = Simulator(agents=6, seed=4, clock=clock, dwell=Dwell(wait=60, call=60, wrap=5))
    scenario = sim._scenario  # no request shows when an agent will next move
    idle = None
    while idle is None:
        clock.advance(1)
        sim.catch_up()
        on_queue = [
            agent for agent in scenario.agents if (agent.uid, "2001") in scenario.priorities
        ]
        if any(agent.status == "wait" for agent in on_queue):
            continue  # it would take the record: none of the queue's agents may wait
        idle = next(
            (
                agent
                for agent in scenario.agents
                if agent not in on_queue
                and agent.status == "wait"
                and agent.lead is None
                and agent.due > clock.now() + 10  # it stays in wait meanwhile
            ),
            None,
        )
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        books = Books(http, sim.issue_token())
        ecnow = {"token": books.token, "method": "ecnow_records", "action": "create"}
        reply = await http.post(
            "ecnow.php", params=ecnow, json=[{"dataset": 351, "HomePhone": "1"}]
        )
        record = str(json_of(reply)["key"])
        assign = {"token": books.token, "method": "priority", "action": "create"}
        reply = await http.post(
            "database.php",
            params=assign,
            json=[{"agentid": idle.uid, "qid": "2001", "level": "100"}],
        )
        assert json_of(reply)["total"] == 1
        clock.advance(6)  # the dial an agent makes once it takes a record
        (row,) = (await books.get("ajax", method="agents", action="read", agent=idle.uid))["list"]
    assert row["status"] == "call" and row["call"][0]["urn"] == record
