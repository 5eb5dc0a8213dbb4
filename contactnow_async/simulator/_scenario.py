"""The scenario engine: agents moving through statuses, the calls they take, and the books.

Three timetables drive it: each scenario agent's next transition (one heap keyed
by ``(time, index)``), the inbound switch's arrivals and give-ups
(:class:`~._calls.Switch`), and the dialler's callbacks falling due
(:mod:`._dialler`). Events are played in time order (callbacks, then the switch,
then agents, at equal times), each owner drawing from its own random stream
(:mod:`._rng`), so the history, the log uids and the call ids are a function of
the seed alone: catching up in one big step or in a thousand small ones gives
the same history.

An agent in ``wait`` takes, in order: a caller already queued on an inbound
queue it is assigned to (``priority``), the waiting longest; else a record the
dialler reserves for it; else it waits for a caller to arrive (an arriving
caller goes to the waiting agent with the highest level on that queue, then the
one waiting longest), until it leaves for a break or goes offline. A call ends
when the caller hangs up (an exponential dwell) or an ``agent.php`` action ends
it (:mod:`._control`); it then becomes a CDR row (:class:`~._calls.Cdr`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timezone, tzinfo

from contactnow_async._gc import paused_for

from ._agent_records import default_record
from ._agent_state import (
    BREAK,
    BREAK_CODES,
    CALL,
    OFFLINE,
    OFFLINE_CODE,
    WAIT,
    WRAP,
    Dwell,
    SimAgent,
    Waiting,
)
from ._calls import ABANDONED, ARRIVE, Cdr, SimCall, Switch, Wraps
from ._campaigns import CampaignDb
from ._dialler import DIAL_DELAY, Dialler
from ._opening import FIRST_AGENT_UID, QUEUES, open_scenario
from ._rng import exponential
from ._statuslog import LogRow, StatusLog
from ._timetable import Timetable

__all__ = [
    "BREAK",
    "CALL",
    "OFFLINE",
    "WAIT",
    "WRAP",
    "Dwell",
    "LogRow",
    "Scenario",
    "SimAgent",
]

FIRST_CALLID = 90_000_001
#: Callers offered to each agent, as a share of what it could take waiting ``wait``
#: seconds between calls: a little less than the agents on shift can answer.
OFFERED_LOAD = 0.6
#: The outcomes agents give the inbound and manual calls they end, with cumulative chances.
CALL_OUTCOMES = (
    ("510456", 0.2),  # Sales Completed
    ("501638", 0.5),  # Need more information
    ("510457", 0.8),  # Not interested
    ("109", 1.0),  # Call back
)


class Scenario:
    """Scenario agents, their calls, the status log and the CDR, advanced lazily.

    Not thread-safe: the :class:`~contactnow_async.simulator.Simulator` holds
    its lock around every call.
    """

    def __init__(
        self,
        *,
        agents: int,
        seed: int,
        start: float,
        dwell: Dwell,
        log_retention: int | None,
        record_tz: tzinfo = timezone.utc,
        cdr_retention: int | None = None,
    ) -> None:
        self.dwell = dwell
        self.now = start
        self.transitions = 0
        self.agents: list[SimAgent] = []
        self.by_uid: dict[str, SimAgent] = {}
        self.log = StatusLog(log_retention)
        self.cdr = Cdr(cdr_retention)
        self.wraps = Wraps(self.cdr)
        #: Calls in progress (queued or connected), by callid.
        self.active: dict[str, SimCall] = {}
        self._next_callid = FIRST_CALLID
        self._next_agent_uid = FIRST_AGENT_UID + agents
        self._timetable = Timetable()
        # Each status's mean dwell, read once instead of through Dwell.mean at every move.
        self._means = {status: dwell.mean(status) for status in (OFFLINE, WAIT, CALL, WRAP, BREAK)}
        # (agentid, qid) -> (priority id, level): tuples, which the collector stops tracking
        self.priorities: dict[tuple[str, str], tuple[str, str]] = {}
        self._next_priority_id = 1
        self.campaigns = CampaignDb(record_tz=record_tz, start=start)
        self.dialler = Dialler(self.campaigns, self.priorities)
        self.waiting = Waiting(QUEUES, self.agents, self.priorities)
        self.log_rows = self.log.rows

        with paused_for(True):  # see advance
            share = open_scenario(self, agents, seed, start)
        cycle = dwell.wait + dwell.call + dwell.wrap
        rates = {qid: OFFERED_LOAD * share[qid] / cycle for qid in QUEUES}
        self.switch = Switch(seed=seed, start=start, rates=rates, patience=dwell.patience)

    # -- the scenario ------------------------------------------------------

    def _enter(self, agent: SimAgent, status: str) -> None:
        agent.status = status
        if status == OFFLINE:
            agent.statuscode = OFFLINE_CODE
        elif status == BREAK:
            agent.statuscode = BREAK_CODES[int(agent.draw() * len(BREAK_CODES))]
        else:
            agent.statuscode = ""

    def _dwell(self, agent: SimAgent) -> float:
        return exponential(self._means[agent.status], agent.draw())

    def _write(self, agent: SimAgent, when: float, *, transition: bool = True) -> None:
        agent.since = when
        call = agent.call
        self.log.append(
            when, agent.uid, agent.status, agent.statuscode, "0" if call is None else call.callid
        )
        if transition:
            self.transitions += 1

    def _stay(self, agent: SimAgent, when: float) -> None:
        """``_write`` then ``_schedule`` a dwell later: what most moves end with."""
        self._write(agent, when)
        self._schedule(agent, when + self._dwell(agent))

    def _schedule(self, agent: SimAgent, due: float) -> None:
        agent.due = due
        if agent.index >= 0:
            self._timetable.push(due, agent.index)

    def new_callid(self) -> str:
        """Allocate the next call id."""
        callid = str(self._next_callid)
        self._next_callid += 1
        return callid

    def _inbound_call(self, qid: str, cli: str, when: float) -> SimCall:
        numbers = self.campaigns.queues[qid]["numbers"]
        call = SimCall(
            callid=self.new_callid(),
            qid=qid,
            cli=cli,
            ddi=numbers.split(",")[0],
            ctype="in",
            dtype="in",
            tm_init=when,
        )
        self.active[call.callid] = call
        return call

    def advance(self, now: float) -> None:
        """Play every event due at or before ``now``."""
        if now <= self.now:
            return
        # Nothing the scenario makes can be part of a reference cycle (rows are tuples of
        # strings and numbers, calls and agents hold no references back), so the
        # collector's passes over the growing books, a third of a big catch-up, find nothing.
        with paused_for(True):
            self._play(now)
            self.wraps.settle(now)
        self.now = now

    def _play(self, now: float) -> None:
        times = self._timetable.times
        pop = self._timetable.pop
        agents = self.agents
        dialler = self.dialler
        wakes = dialler.wakes
        timetable = self.switch.timetable
        inf = math.inf
        while True:
            wake = wakes[0][0] if wakes else inf
            ring = timetable[0][0] if timetable else inf
            turn = times[0] if times else inf
            if wake <= now and wake <= ring and wake <= turn:
                # A callback falls due (before transitions at its time): offer it, not in the past.
                dialler.pop_wakes(wake)
                self.offer(max(wake, self.now))
            elif ring <= now and ring <= turn:
                self._switch_event()
            elif turn <= now:
                when, index = pop()
                agent = agents[index]
                if when == agent.due:  # else rescheduled meanwhile: a stale entry
                    self._due(agent, when)
            else:
                break

    def _switch_event(self) -> None:
        when, kind, key = self.switch.pop()
        if kind == ARRIVE:
            self.switch.next_arrival(key, when)
            cli = f"07700{int(self.switch.draw(key) * 1_000_000):06d}"
            call = self._inbound_call(key, cli, when)
            agent = self.waiting.pick(key)
            if agent is not None:
                self._connect(agent, call, when)
            else:
                self.switch.queue(call, when)
            return
        waiting = self.switch.queued(key)  # GIVE_UP
        if waiting is not None and waiting.gives_up_at == when:
            self.switch.take(waiting)
            waiting.end(when, ABANDONED)
            self._finish(waiting)

    def _due(self, agent: SimAgent, when: float) -> None:
        """The agent's own next transition, due at ``when``."""
        if agent.status == CALL:
            self.hang_up(agent, when, then=WRAP)
        elif agent.status == WAIT:
            if agent.lead is not None:
                if self.dialler.still_diallable(agent.lead, when):
                    self._connect(
                        agent, self.dialler.dial(agent.lead, self.new_callid(), when), when
                    )
                    return
                self.dialler.release(agent.lead)
                agent.lead = None
                self._keep_waiting(agent, when)
                return
            self._enter(agent, BREAK if agent.draw() < 0.5 else OFFLINE)
            self._stay(agent, when)
        else:
            self.available(agent, when)

    def available(self, agent: SimAgent, when: float) -> None:
        """The agent enters ``wait`` at ``when`` and takes what comes (see the module)."""
        self.wraps.end(agent.uid, when)
        self._enter(agent, WAIT)
        self._write(agent, when)
        self._keep_waiting(agent, when)

    def _keep_waiting(self, agent: SimAgent, when: float) -> None:
        """A waiting agent's next step: the caller queued longest on its queues (also
        after a record it was to dial closed), a record to dial soon, or callers to come."""
        call = self.switch.first_waiting(self.waiting.queues_of(agent))
        if call is not None:
            self.switch.take(call)
            self._connect(agent, call, when)
            return
        if self.campaigns.open and agent.index >= 0:
            agent.lead = self.dialler.reserve(agent.uid, when)
        if agent.lead is not None:
            self._schedule(agent, when + DIAL_DELAY)
            return
        self._schedule(agent, when + self._dwell(agent))
        self.waiting.push(agent)

    def _connect(self, agent: SimAgent, call: SimCall, when: float) -> None:
        """Put the agent on ``call`` from ``when``."""
        if not call.tm_answ:
            call.connect(agent.uid, when)
        self.active[call.callid] = call
        agent.call = call
        self.wraps.end(agent.uid, when)
        self._enter(agent, CALL)
        self._stay(agent, when)

    def hang_up(
        self, agent: SimAgent, when: float, *, then: str, code: str | None = None
    ) -> SimCall:
        """End the agent's call at ``when``; the agent goes on to ``then`` (wrap, with
        statuscode ``code`` if given, or wait)."""
        call = agent.call
        assert call is not None  # only agents on a call hang up
        if agent.lead is not None:
            outcome = self.dialler.finish(
                agent.lead,
                agent_uid=agent.uid,
                callid=call.callid,
                when=when,
                u=agent.draw(),
                code=call.outcome,
            )
            agent.lead = None
        else:
            u = agent.draw()
            outcome = call.outcome or _outcome(u)
        call.outcome = outcome
        # An outbound call, dialled or by hand, given "No answer" or a dead line was not answered.
        call.end(when, call.result_of(outcome))
        self._finish(call)
        agent.call = None
        if then == WRAP:
            self.wraps.begin(agent.uid, call.callid, when)
            self._enter(agent, WRAP)
            if code:
                agent.statuscode = code
            self._stay(agent, when)
        else:
            self.available(agent, when)
        return call

    def _finish(self, call: SimCall) -> None:
        self.active.pop(call.callid, None)
        self.cdr.add(call)

    def move(self, agent: SimAgent, status: str, when: float, *, code: str | None = None) -> None:
        """Put the agent in ``status`` (not ``call``) at ``when``, with ``code`` if given."""
        lead = agent.lead if agent.call is None else None
        if lead is not None:
            self.dialler.release(lead)
            agent.lead = None
        self.wraps.end(agent.uid, when)
        self._enter(agent, status)
        if code is not None:
            agent.statuscode = code
        self._stay(agent, when)
        if lead is not None:  # the record it was to dial, to the agents still in wait
            self.offer(when)

    def recode(self, agent: SimAgent, code: str, when: float) -> None:
        """Change the agent's statuscode at ``when`` (a new status_log row, same status)."""
        agent.statuscode = code
        self._write(agent, when)

    def dial(self, agent: SimAgent, ddi: str, qid: str, when: float) -> SimCall:
        """The agent dials ``ddi`` by hand at ``when`` (through outbound queue ``qid``)."""
        lead = agent.lead
        if lead is not None:
            self.dialler.release(lead)
            agent.lead = None
        callerid = self.campaigns.queues[qid]["callerid"] if qid != "0" else ""
        call = SimCall(
            callid=self.new_callid(), qid=qid, cli=callerid, ddi=ddi, ctype="out", dtype="man",
            tm_init=when,
        )  # fmt: skip
        self._connect(agent, call, when)
        if lead is not None:  # the record it was to dial, to the agents still in wait
            self.offer(when)
        return call

    def offer(self, now: float) -> None:
        """Give the records now diallable to agents in wait, longest waiting first."""
        dialler = self.dialler
        if not dialler.any_due(now):
            return
        waiting = [a for a in self.agents if a.status == WAIT and a.lead is None]
        waiting.sort(key=lambda agent: (agent.since, agent.index))
        for agent in waiting:
            if not dialler.any_due(now):
                break  # the rest would find nothing either
            agent.lead = dialler.reserve(agent.uid, now)
            if agent.lead is not None:
                # It dials DIAL_DELAY seconds from now, as from _keep_waiting: a turn due
                # sooner connected the call early, its tm_init (the connection less the
                # ring) before the record was diallable, even before it was created.
                self._schedule(agent, now + DIAL_DELAY)

    # -- agents created through the API ------------------------------------

    def create_agent(self, record: dict[str, str | None]) -> SimAgent:
        """Add an agent record; it is offline for ever and writes one log row."""
        uid = str(self._next_agent_uid)
        self._next_agent_uid += 1
        record["agentid"] = uid
        agent = SimAgent(
            uid=uid,
            index=-1,
            status=OFFLINE,
            statuscode=OFFLINE_CODE,
            since=self.now,
            rng=0,
            record=record,
        )
        self.by_uid[uid] = agent
        self._write(agent, self.now, transition=False)
        return agent

    def record(self, agent: SimAgent) -> dict[str, str | None]:
        """Return the agent record of ``agent`` (not a copy for created ones)."""
        if agent.record is not None:
            return agent.record
        return default_record(agent.index, agent.uid)

    def name(self, agent: SimAgent) -> str | None:
        """Return the agent's name without building its whole record."""
        if agent.record is not None:
            return agent.record["name"]
        return f"Agent {agent.index + 1}"

    def iter_agents(self) -> Iterator[SimAgent]:
        """Yield every agent in uid order (created agents have the highest uids)."""
        return iter(self.by_uid.values())

    # -- queue assignments -------------------------------------------------

    def add_priority(self, agentid: str, qid: str, level: str) -> int | None:
        """Add a queue assignment; return its id, or None if the pair exists."""
        if (agentid, qid) in self.priorities:
            return None
        priority_id = self._next_priority_id
        self._next_priority_id += 1
        self.priorities[(agentid, qid)] = (str(priority_id), level)
        self.waiting.reassigned(agentid)
        self._rewait(agentid, qid)  # a waiting agent takes the new queue's callers at once
        return priority_id

    def set_level(self, agentid: str, qid: str, level: str) -> bool:
        """Change an assignment's level (False: none); callers see it from the next one."""
        entry = self.priorities.get((agentid, qid))
        if entry is None:
            return False
        self.priorities[(agentid, qid)] = (entry[0], level)
        self._rewait(agentid, qid)
        return True

    def _rewait(self, agentid: str, qid: str) -> None:
        agent = self.by_uid.get(agentid)
        if agent is not None and qid in self.waiting.qids and agent.status == WAIT:
            self.waiting.push(agent)
            # A caller queued there already is taken now, as by an agent becoming free.
            call = self.switch.first_waiting((qid,)) if agent.lead is None else None
            if call is not None and agent.call is None:
                self.switch.take(call)
                self._connect(agent, call, self.now)


def _outcome(u: float) -> str:
    """The outcome the uniform ``u`` picks from CALL_OUTCOMES (a loop: no generator a call)."""
    for code, upto in CALL_OUTCOMES:
        if u < upto:
            return code
    raise AssertionError("CALL_OUTCOMES ends at 1.0, above any uniform draw")
