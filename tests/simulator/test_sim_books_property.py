"""Whatever a client asks of the agents, and whenever, the simulator's books agree: the
live status, the status log, the CDR, the calls report, paging and the recordings."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactnow_async.simulator import Dwell, Simulator, VirtualClock
from tests._helpers import examples

from .sim_helpers import START

#: Each action, and the statuses it is for (asked of an agent in one, when there is one).
ACTIONS = {
    "ready": ("wrap", "break"), "pause": ("wait", "wrap"), "unpause": ("break",),
    "wrap": ("call",), "hangup": ("call",), "hangupready": ("call",), "park": ("call",),
    "unpark": ("call",), "disposition": ("call",), "callback": ("call",),
    "logout": ("wait", "wrap", "break"), "agent_dial": ("offline",),
    "manual_dial": ("wait", "wrap"),
}  # fmt: skip
CDR_FIELDS = "callid,aid,cres,dtype,flags,sec_dur,sec_ring,tm_init,tm_answ,tm_disc"
#: (seconds to move the clock on, which agent, what to ask of it)
Step = tuple[float, int, str]
steps = st.lists(
    st.tuples(
        st.sampled_from([0.0, 0.5, 3.0, 40.0, 300.0]),
        st.integers(0, 5),
        st.sampled_from(sorted(ACTIONS)),
    ),
    min_size=1,
    max_size=40,
)


class Books:
    def __init__(self, http: httpx.AsyncClient, sim: Simulator) -> None:
        self.http, self.sim = http, sim

    async def get(self, script: str, **params: str) -> Any:
        params["token"] = self.sim.issue_token()
        return (await self.http.get(f"{script}.php", params=params)).json()

    async def live(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = (
            await self.get("ajax", method="agents", action="read", mode="all")
        )["list"]
        return rows

    async def act(self, agent: dict[str, Any], action: str) -> None:
        """Ask ``action`` of ``agent``: refused or not, the books must agree."""
        args = {"action": action, "agent": str(agent["uid"])}
        call = agent["call"][0]["callid"] if agent["call"] else "0"
        if action == "manual_dial":
            args["ddi"] = "01614960001"
        elif action == "disposition":
            args = {"action": action, "callid": call, "outcome": "103"}
        elif action == "callback":
            args = {"action": action, "callid": call, "callback": str(int(START) + 4000)}
        await self.get("agent", **args)


def check_live_against_log(live: list[dict[str, Any]], log: list[dict[str, str]]) -> None:
    last = {row["agent"]: row for row in log}
    for row in live:
        entry = last[row["uid"]]
        assert (entry["status"], entry["subcode"], entry["uts"]) == (
            row["status"], row["statuscode"], row["time"]
        )  # fmt: skip
        assert entry["callid"] == (row["call"][0]["callid"] if row["call"] else "0")


async def check_books(books: Books, log: list[dict[str, str]], now: int) -> None:
    window = f"{int(START)}:{now}"
    cdr = (await books.get("reporting", method="cdr", fields=CDR_FIELDS, range=window))["list"]
    live = {row["call"][0]["callid"] for row in await books.live() if row["call"]}
    runs: dict[str, list[int]] = {}  # callid -> indexes of its agent's rows
    for n, row in enumerate(log):
        if row["callid"] != "0":
            runs.setdefault(row["callid"], []).append(n)
    assert runs.keys() <= {row["callid"] for row in cdr} | live  # no call the CDR never had
    # Whole seconds of the log: agent call time, and wraps that surely lasted or may have.
    on_calls, lasted, wraps = 0, 0, 0
    for row in cdr:
        mine = runs.get(row["callid"], [])
        assert bool(mine) == (row["aid"] != "0"), row  # an agent's call is in its log
        assert (
            (row["cres"] == "Answered") == (row["tm_answ"] != "0") == ("recorded" in row["flags"])
        )
        assert abs(float(row["sec_dur"]) - (int(row["tm_disc"]) - int(row["tm_init"]))) <= 1
        if mine:
            agent_rows = [entry for entry in log if entry["agent"] == row["aid"]]
            on = [entry for entry in agent_rows if entry["callid"] == row["callid"]]
            at = agent_rows.index(on[-1]) + 1
            after = agent_rows[at]
            assert after["uts"] == row["tm_disc"] and after["callid"] != row["callid"]
            on_calls += int(after["uts"]) - int(on[0]["uts"])
            if after["status"] == "wrap":  # until the agent's next row, or now
                ends = agent_rows[at + 1]["uts"] if at + 1 < len(agent_rows) else now
                wraps += 1
                lasted += int(ends) > int(after["uts"])
            first = int(on[0]["uts"])
            assert first == int(row["tm_answ"] if row["tm_answ"] != "0" else first)
            assert int(row["tm_init"]) <= first
        recording = await books.http.get(
            "recording.php", params={"token": books.sim.issue_token(), "callid": row["callid"]}
        )
        assert recording.headers["content-type"].startswith("audio/") == (row["cres"] == "Answered")
    # The report's totals, the CDR's and its pages, for the same window.
    rows = (
        await books.get(
            "reporting",
            method="calls",
            fields="nc_all,nc_ans,nc_ans_man,nc_wrap,sec_call",
            groupby="ctype",
            range=window,
        )
    )["list"]
    totals = [sum(row[name] for row in rows) for name in ("nc_all", "nc_ans", "nc_ans_man")]
    answered = sum(row["cres"] == "Answered" for row in cdr)
    assert (totals[0], totals[1] + totals[2]) == (len(cdr), answered)
    # REPORTING.md: nc_wrap counts "calls with a wrap time greater than zero" (a wrap
    # shorter than a second may show as 0 s in the log); sec_call is "agent call time",
    # answered or not, so the log's runs on the calls, to a second a call.
    taken = sum(row["aid"] != "0" for row in cdr)
    assert lasted <= sum(row["nc_wrap"] for row in rows) <= wraps
    assert abs(sum(row["sec_call"] for row in rows) - on_calls) <= taken
    paged: list[str] = []
    for start in range(0, len(cdr) + 1, 7):
        page = await books.get(
            "reporting", method="cdr", fields="callid", range=window, start=str(start), limit="7"
        )
        assert page["total"] == len(cdr)
        paged += [row["callid"] for row in page["list"]]
    assert paged == [row["callid"] for row in cdr]


# A second an example on a slow 2-core machine (up to 40 actions, the whole log read after
# each): 6 in the README's run, 25 in CI's.
@pytest.mark.slow  # seconds of examples: scheduled first (tests/_schedule.py)
@settings(
    max_examples=examples(15, least=6),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(script=steps, seed=st.integers(1, 50))
def test_any_agent_actions_leave_books_that_agree(script: list[Step], seed: int) -> None:
    async def run() -> None:
        clock = VirtualClock(START)
        dwell = Dwell(wait=20, call=60, wrap=10, break_=60, offline=120, patience=30)
        sim = Simulator(agents=6, seed=seed, clock=clock, dwell=dwell)
        async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
            books = Books(http, sim)
            leads = [{"dataset": 351, "MobilePhone": f"077009{n:05d}"} for n in range(4)]
            params = {"token": sim.issue_token(), "method": "ecnow_records", "action": "create"}
            await http.post("ecnow.php", params=params, json=leads)
            for seconds, which, action in script:
                clock.advance(seconds)
                live = await books.live()
                fit = [row for row in live if row["status"] in ACTIONS[action]] or live
                await books.act(fit[which % len(fit)], action)
                log = (await books.get("database", method="status_log", action="read"))["list"]
                check_live_against_log(await books.live(), log)
            await check_books(books, log, int(clock.now()))

    anyio.run(run)
