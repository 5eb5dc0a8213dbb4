"""The scenario engine: agents moving through statuses, and the status log they write.

Each scenario agent has its own random stream (SplitMix64 seeded from the seed
and the agent's index) and its next transition waits in one heap keyed by
``(time, index)``. Popping the heap in that order makes the transition sequence,
the log uids and the call ids a function of the seed alone: catching up in one
big step or in a thousand small ones gives the same history.

A dialler (:mod:`._dialler`) gives agents entering ``wait`` the campaign
database's LIVE records (:mod:`._campaigns`): a dial reschedules the agent's
next transition, so a heap entry whose time is not the agent's ``due`` is stale.

A SplitMix64 state is one integer, where a :class:`random.Random` carries 2.5 kB
of Mersenne Twister state: 50,000 agents stay a few megabytes.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Iterable, Iterator
from datetime import timezone, tzinfo

import attrs

from ._agent_records import default_record
from ._campaigns import OUTBOUND_TEAMS, CampaignDb
from ._dialler import DIAL_DELAY, Dialler

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

OFFLINE = "offline"
WAIT = "wait"
CALL = "call"
WRAP = "wrap"
BREAK = "break"

FIRST_AGENT_UID = 1_226_353  # the uid of the documented ajax example
FIRST_LOG_UID = 12_345_678_901  # the uid of the documented status_log example
FIRST_CALLID = 90_000_001
QUEUES = ("1007", "1008", "1009")
BREAK_CODES = ("Lunch", "Training", "Comfort")
OFFLINE_CODE = "Home"  # the documented offline statuscode

#: One status_log row: (uid, time, agent, status, subcode, callid).
LogRow = tuple[int, float, str, str, str, str]

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_TWO64 = float(1 << 64)


def _mix(x: int) -> int:
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"Dwell.{attribute.name} must be a positive number of seconds")


@attrs.frozen
class Dwell:
    """Mean seconds an agent stays in each status; dwell times are exponential."""

    wait: float = attrs.field(default=60.0, converter=float, validator=_positive)
    call: float = attrs.field(default=180.0, converter=float, validator=_positive)
    wrap: float = attrs.field(default=30.0, converter=float, validator=_positive)
    break_: float = attrs.field(default=600.0, converter=float, validator=_positive)
    offline: float = attrs.field(default=1800.0, converter=float, validator=_positive)

    @classmethod
    def uniform(cls, mean: float) -> Dwell:
        """Return a Dwell with the same mean for every status (tests use tiny ones)."""
        return cls(wait=mean, call=mean, wrap=mean, break_=mean, offline=mean)

    def mean(self, status: str) -> float:
        """Return the mean dwell of ``status``."""
        if status == BREAK:
            return self.break_
        return float(getattr(self, status))


class SimAgent:
    """One scenario agent's live status, as ``ajax.php`` shows it (compact: slots, no dict).

    Not the client's :class:`contactnow_async.LiveAgent`: this is the simulator's
    own mutable state, from which its replies are rendered.
    """

    __slots__ = (
        "call",
        "due",
        "index",
        "lead",
        "queues",
        "record",
        "rng",
        "since",
        "status",
        "statuscode",
        "uid",
    )

    def __init__(
        self,
        *,
        uid: str,
        index: int,
        status: str,
        statuscode: str,
        since: float,
        rng: int,
        queues: tuple[str, ...] = (),
        record: dict[str, str | None] | None = None,
    ) -> None:
        self.uid = uid
        # -1 for agents created through the API: they never move.
        self.index = index
        self.status = status
        self.statuscode = statuscode
        self.since = since
        # (callid, qid, cli, direction) while on a call.
        self.call: tuple[str, str, str, str] | None = None
        # When the next transition is due (a heap entry at another time is stale).
        self.due = math.inf
        # The record the dialler reserved for this agent, or is on a call with.
        self.lead: int | None = None
        self.rng = rng
        self.queues = queues
        # None: the scenario's default record, built on demand.
        self.record = record

    def draw(self) -> float:
        """Return the agent's next uniform number in [0, 1)."""
        self.rng = (self.rng + _GOLDEN) & _MASK
        return _mix(self.rng) / _TWO64


class Scenario:
    """Scenario agents, their live state and the status log, advanced lazily.

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
    ) -> None:
        self.dwell = dwell
        self.now = start
        self.log_retention = log_retention
        self.transitions = 0
        self.agents: list[SimAgent] = []
        self.by_uid: dict[str, SimAgent] = {}
        self._log: list[LogRow] = []
        self._log_head = 0  # rows before it are purged (compacted now and then)
        self._next_log_uid = FIRST_LOG_UID
        self._next_callid = FIRST_CALLID
        self._next_agent_uid = FIRST_AGENT_UID + agents
        self._heap: list[tuple[float, int]] = []
        # (agentid, qid) -> [priority id, level]
        self.priorities: dict[tuple[str, str], list[str]] = {}
        self._next_priority_id = 1
        self.campaigns = CampaignDb(record_tz=record_tz, start=start)
        self.dialler = Dialler(self.campaigns, self.priorities)

        base = _mix((seed * _GOLDEN + 1) & _MASK)
        for index in range(agents):
            uid = str(FIRST_AGENT_UID + index)
            agent = SimAgent(
                uid=uid,
                index=index,
                status=OFFLINE,
                statuscode=OFFLINE_CODE,
                since=start,
                rng=_mix(base ^ _mix(index + 1)),
            )
            agent.queues = tuple(q for q in QUEUES if agent.draw() < 0.5) or (QUEUES[index % 3],)
            for qid in agent.queues:
                self.add_priority(uid, qid, str(int(agent.draw() * 11) * 10))
            self.agents.append(agent)
            self.by_uid[uid] = agent
            self._enter_initial(agent)
            # One row per agent for its initial status, so the log alone implies
            # the live state at every time.
            self._write(agent, start)
            agent.due = start + self._dwell(agent)
            heapq.heappush(self._heap, (agent.due, index))
        # Outbound queues' teams, after the random draws so the history does not change.
        for agent in self.agents:
            for qid, (modulus, remainder, level) in OUTBOUND_TEAMS.items():
                if agent.index % modulus == remainder:
                    self.add_priority(agent.uid, qid, level)

    # -- the scenario ------------------------------------------------------

    def _enter_initial(self, agent: SimAgent) -> None:
        u = agent.draw()
        if u < 0.3:
            self._enter(agent, OFFLINE)
        elif u < 0.65:
            self._enter(agent, WAIT)
        elif u < 0.9:
            self._enter(agent, CALL)
        elif u < 0.95:
            self._enter(agent, WRAP)
        else:
            self._enter(agent, BREAK)

    def _enter(self, agent: SimAgent, status: str) -> None:
        agent.status = status
        agent.call = None
        if status == OFFLINE:
            agent.statuscode = OFFLINE_CODE
        elif status == BREAK:
            agent.statuscode = BREAK_CODES[int(agent.draw() * len(BREAK_CODES))]
        elif status == CALL:
            agent.statuscode = ""
            callid = str(self._next_callid)
            self._next_callid += 1
            if agent.lead is not None:
                agent.call = self.dialler.dial(agent.lead, callid)
                return
            qid = agent.queues[int(agent.draw() * len(agent.queues))]
            cli = f"07700900{int(agent.draw() * 1000):03d}"
            direction = "in" if agent.draw() < 0.8 else "out"
            agent.call = (callid, qid, cli, direction)
        else:
            agent.statuscode = ""

    def _next_status(self, agent: SimAgent, when: float) -> str:
        if agent.status == WAIT:
            if agent.lead is not None:
                if self.dialler.still_diallable(agent.lead, when):
                    return CALL
                self.dialler.release(agent.lead)
                agent.lead = None
            u = agent.draw()
            if u < 0.75:
                return CALL
            return BREAK if u < 0.88 else OFFLINE
        if agent.status == CALL:
            return WRAP
        return WAIT  # from wrap, break and offline

    def _dwell(self, agent: SimAgent) -> float:
        return -self.dwell.mean(agent.status) * math.log1p(-agent.draw())

    def _pause(self, agent: SimAgent, when: float) -> float:
        """Seconds an agent entering wait waits: a dial soon if a record is there for it."""
        agent.lead = self.dialler.reserve(agent.uid, when)
        return DIAL_DELAY if agent.lead is not None else self._dwell(agent)

    def _write(self, agent: SimAgent, when: float) -> None:
        agent.since = when
        callid = agent.call[0] if agent.call is not None else "0"
        self._log.append(
            (self._next_log_uid, when, agent.uid, agent.status, agent.statuscode, callid)
        )
        self._next_log_uid += 1
        if self.log_retention is not None:
            kept = len(self._log) - self._log_head
            if kept > self.log_retention:
                self._log_head += kept - self.log_retention
                if self._log_head > 4096 and self._log_head * 2 > len(self._log):
                    del self._log[: self._log_head]
                    self._log_head = 0

    def advance(self, now: float) -> None:
        """Play every transition due at or before ``now``."""
        if now <= self.now:
            return
        heap = self._heap
        agents = self.agents
        dialler = self.dialler
        diallable = self.campaigns.open  # one set, changed in place
        wake = dialler.next_wake
        while True:
            if wake <= now and (not heap or wake <= heap[0][0]):
                # A callback falls due (before any transition at its time): offer it.
                dialler.pop_wakes(wake)
                self.offer(wake)
                wake = dialler.next_wake
                continue
            if not heap or heap[0][0] > now:
                break
            when, index = heap[0]
            agent = agents[index]
            if when != agent.due:  # rescheduled by a dial: a stale entry
                heapq.heappop(heap)
                continue
            if agent.lead is not None and agent.call is not None:
                dialler.finish(
                    agent.lead, agent_uid=agent.uid, callid=agent.call[0], when=when, u=agent.draw()
                )
                agent.lead = None
                wake = dialler.next_wake
            self._enter(agent, self._next_status(agent, when))
            self._write(agent, when)
            self.transitions += 1
            if diallable and agent.status == WAIT:
                agent.due = when + self._pause(agent, when)
            else:
                agent.due = when + self._dwell(agent)
            heapq.heapreplace(heap, (agent.due, index))
        self.now = now

    def offer(self, now: float) -> None:
        """Give the records now diallable to agents in wait, longest waiting first."""
        if not self.campaigns.open:
            return
        waiting = [a for a in self.agents if a.status == WAIT and a.lead is None]
        waiting.sort(key=lambda agent: (agent.since, agent.index))
        for agent in waiting:
            agent.lead = self.dialler.reserve(agent.uid, now)
            if agent.lead is not None and now + DIAL_DELAY < agent.due:
                agent.due = now + DIAL_DELAY
                heapq.heappush(self._heap, (agent.due, agent.index))

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
        self._write(agent, self.now)
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
        self.priorities[(agentid, qid)] = [str(priority_id), level]
        return priority_id

    # -- the status log ----------------------------------------------------

    def log_rows(
        self,
        *,
        visible_before: float | None,
        uid_low: int | None = None,
        uid_high: int | None = None,
        agents: Iterable[str] | None = None,
        tstart: int | None = None,
        tstop: int | None = None,
    ) -> list[LogRow]:
        """Return the retained rows matching the filters, in uid order."""
        log = self._log
        lo, hi = self._log_head, len(log)
        if visible_before is not None:
            # Times only grow with uids, so the visible rows are a prefix.
            hi = bisect.bisect_right(log, visible_before, lo, hi, key=lambda r: r[1])
        if uid_low is not None:
            lo = bisect.bisect_left(log, uid_low, lo, hi, key=lambda r: r[0])
        if uid_high is not None:
            hi = bisect.bisect_right(log, uid_high, lo, hi, key=lambda r: r[0])
        if tstart is not None:
            lo = bisect.bisect_left(log, tstart, lo, hi, key=lambda r: int(r[1]))
        if tstop is not None:
            hi = bisect.bisect_right(log, tstop, lo, hi, key=lambda r: int(r[1]))
        if lo >= hi:
            return []
        if agents is None:
            return log[lo:hi]
        wanted = frozenset(agents)
        return [row for row in log[lo:hi] if row[2] in wanted]
