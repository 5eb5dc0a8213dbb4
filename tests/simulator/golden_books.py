"""A digest of every book a simulator keeps after a scripted hour, to pin its history.

The simulator's history is a function of the seed, the agents, the clock moves and
the requests: a change meant to make it faster must leave this digest unchanged.
``python -m tests.simulator.golden_books [--one-step] AGENTS SEED...`` prints the
digests (for sizes the suite does not run).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence

import anyio
import httpx

from contactnow_async.simulator import Simulator, VirtualClock

START = 1_767_225_600.0
STEPS = 12  # of five simulated minutes
CDR_FIELDS = (
    "callid,qtable,qtype,qid,qnm,aid,anm,dsid,dsnm,urn,ddi,cli,cres,ocid,ocnm,ctype,dtype,"
    "sec_dur,sec_ring,sec_que,tm_init,tm_answ,tm_disc,oc_sale,oc_cmpl,bill_dur"
)
#: A request whose reply is hashed: (script, method, action, payload or query arguments).
Ask = Callable[..., Awaitable[None]]


async def digest(agents: int, seed: int) -> str:
    """The sha256 of the books of ``agents`` agents under ``seed`` over a scripted hour."""
    clock = VirtualClock(START)
    sim = Simulator(agents=agents, seed=seed, clock=clock, log_retention=agents * 4)
    token = sim.issue_token()
    sha = hashlib.sha256()

    def book(value: object) -> None:
        sha.update(json.dumps(value).encode())
        sha.update(b"\n")

    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:

        async def reply(script: str, method: str, action: str, **args: str) -> None:
            params = {"token": token, "method": method, "action": action, **args}
            response = await http.get(script, params=params)
            sha.update(response.content)

        async def post(script: str, method: str, action: str, payload: object) -> None:
            params = {"token": token, "method": method, "action": action}
            response = await http.post(script, params=params, json=payload)
            sha.update(response.content)

        leads = [{"dataset": 351, "MobilePhone": f"0770090{n:04d}"} for n in range(agents // 4)]
        await post("ecnow.php", "ecnow_records", "create", leads)
        last_uid = 0
        for step in range(STEPS):
            clock.advance(300 if step % 3 else 299.5)
            sim.catch_up()
            live = sim.live_agents()
            book(live)
            book(sim.transitions)
            now = int(clock.now())
            await reply("ajax.php", "agents", "read", mode="all", start="3", limit="50")
            await reply("database.php", "status_log", "read", uid=f"{last_uid + 1}:")
            rows = sim.status_log()
            last_uid = int(rows[-1]["uid"])
            await reply("database.php", "status_log", "read", tstart=str(now - 200))
            await reply("reporting.php", "cdr", "", fields=CDR_FIELDS, range=f"{int(START)}:{now}")
            await reply(
                "reporting.php",
                "calls",
                "",
                fields="nc_all,nc_ans,nc_abn,sec_talk,sec_que,callid_max",
                groupby="qid,ctype,hour",
                range=f"{int(START)}:{now}",
            )
            await _steer(sim, step, live, reply, post)
        book(sim.status_log(visible_only=False))
        await reply("reporting.php", "agents", "", range=f"{int(START)}:{int(clock.now())}")
        await reply("database.php", "priority", "read")
    return sha.hexdigest()


async def _steer(
    sim: Simulator,
    step: int,
    live: Sequence[Mapping[str, object]],
    reply: Ask,
    post: Ask,
) -> None:
    """Move some agents by hand and change some queue assignments, as clients do."""
    by_status: dict[str, list[str]] = {}
    for row in live:
        by_status.setdefault(str(row["status"]), []).append(str(row["uid"]))
    actions = {"call": "hangup", "wrap": "ready", "wait": "pause", "break": "ready"}
    for status, action in actions.items():
        for uid in by_status.get(status, [])[step % 3 :: 37]:
            await reply("agent.php", "", action, agent=uid)
    agent_ids = sim.agent_ids
    changes = [
        {"agentid": agent_ids[n], "qid": "1008", "level": str((n * 7 + step) % 110)}
        for n in range(step, len(agent_ids), 29)
    ]
    await post("database.php", "priority", "update", changes)
    await post("database.php", "priority", "create", changes[::2])


def catch_up_digest(agents: int, seed: int) -> str:
    """The sha256 of the books after five simulated minutes played in one step."""
    clock = VirtualClock(START)
    sim = Simulator(agents=agents, seed=seed, clock=clock, log_retention=agents)
    clock.advance(300)
    sim.catch_up()
    sha = hashlib.sha256()
    for value in (sim.live_agents(), sim.status_log(), sim.transitions):
        sha.update(json.dumps(value).encode())
    return sha.hexdigest()


def main(argv: list[str]) -> None:
    one_step = argv[0] == "--one-step"
    agents, seeds = int(argv[one_step]), [int(seed) for seed in argv[one_step + 1 :]]
    for seed in seeds:
        found = catch_up_digest(agents, seed) if one_step else anyio.run(digest, agents, seed)
        print(agents, seed, found)


if __name__ == "__main__":
    main(sys.argv[1:])
