"""The scenario's opening: its agents, their queues and levels, and where each starts.

Each scenario agent draws from its own random stream (:mod:`._rng`), in this order:
which inbound queues it is assigned to (each with a chance of one half; one by its
index if none), its level on each, its initial status (offline, wait, on an inbound
call, wrap or break) and its first dwell. Every agent writes one status_log row for
that status, so the log alone implies the live state at every time. The outbound
queues' teams are assigned after every draw, so that adding them changed no history.

This is :class:`~._scenario.Scenario`'s first step, kept in a module of its own (it
works on the scenario's state, as a method would).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._agent_state import BREAK, CALL, OFFLINE, OFFLINE_CODE, WAIT, WRAP, SimAgent
from ._campaigns import OUTBOUND_TEAMS
from ._rng import family, mix

if TYPE_CHECKING:
    from ._scenario import Scenario

__all__ = ["FIRST_AGENT_UID", "QUEUES", "open_scenario"]

FIRST_AGENT_UID = 1_226_353  # the uid of the documented ajax example
QUEUES = ("1007", "1008", "1009")
#: The inbound queues an agent's three draws pick: bit n set, QUEUES[n] taken.
_SUBSETS = tuple(tuple(q for n, q in enumerate(QUEUES) if picked >> n & 1) for picked in range(8))
#: An agent's initial level on an inbound queue: 0, 10 ... 100, equally likely.
_LEVELS = tuple(str(tenth * 10) for tenth in range(11))


def open_scenario(scenario: Scenario, agents: int, seed: int, start: float) -> dict[str, float]:
    """Create the scenario's ``agents`` agents in their initial statuses at ``start``;
    return each inbound queue's share of them (an agent on two counts half to each)."""
    share = dict.fromkeys(QUEUES, 0.0)
    priorities = scenario.priorities
    append_row = scenario.log.append
    push = scenario._timetable.push
    # Assignments go straight into the book: no agent waits yet for add_priority to
    # rewait, and every pair is new (the ids are given in add_priority's order).
    next_id = scenario._next_priority_id
    streams = family(seed, 1)
    for index in range(agents):
        uid = str(FIRST_AGENT_UID + index)
        agent = SimAgent(
            uid=uid,
            index=index,
            status=OFFLINE,
            statuscode=OFFLINE_CODE,
            since=start,
            rng=mix(streams ^ mix(index + 1)),  # stream(seed, 1, index), the base worked out once
        )
        draw = agent.draw
        # Three draws, one a queue, left to right (a bit each): which queues it takes.
        picked = (draw() < 0.5) | (draw() < 0.5) << 1 | (draw() < 0.5) << 2
        queues = _SUBSETS[picked] or (QUEUES[index % 3],)
        agent.queues = queues
        for qid in queues:
            priorities[(uid, qid)] = (str(next_id), _LEVELS[int(draw() * 11)])
            next_id += 1
            share[qid] += 1 / len(queues)
        scenario.agents.append(agent)
        scenario.by_uid[uid] = agent
        _enter_initial(scenario, agent, start)
        call = agent.call
        append_row(start, uid, agent.status, agent.statuscode, "0" if call is None else call.callid)
        agent.due = start + scenario._dwell(agent)
        push(agent.due, index)
    teams = [
        (qid, modulus, remainder, level)
        for qid, (modulus, remainder, level) in OUTBOUND_TEAMS.items()
    ]
    push_waiting = scenario.waiting.push
    for agent in scenario.agents:
        for qid, modulus, remainder, level in teams:
            if agent.index % modulus == remainder:
                priorities[(agent.uid, qid)] = (str(next_id), level)
                next_id += 1
        if agent.status == WAIT:
            push_waiting(agent)
    scenario._next_priority_id = next_id
    return share


def _enter_initial(scenario: Scenario, agent: SimAgent, start: float) -> None:
    u = agent.draw()
    if u < 0.3:
        scenario._enter(agent, OFFLINE)
    elif u < 0.65:
        scenario._enter(agent, WAIT)
    elif u < 0.9:
        qid = agent.queues[int(agent.draw() * len(agent.queues))]
        call = scenario._inbound_call(qid, f"07700900{int(agent.draw() * 1000):03d}", start)
        call.connect(agent.uid, start)
        agent.call = call
        scenario._enter(agent, CALL)
    elif u < 0.95:
        scenario._enter(agent, WRAP)
    else:
        scenario._enter(agent, BREAK)
