"""A scenario agent's own state, the dwell times it draws from, and the agents in wait.

Agents waiting for inbound callers are kept per inbound queue in a heap ordered
as an arriving caller picks them: the highest ``priority`` level first, then the
agent waiting longest. Entries go stale when the agent moves (its status or the
start of its wait changed, it got a record to dial, it lost the assignment, its
level changed) and are dropped when met.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence

import attrs

from ._calls import SimCall
from ._rng import next_uniform
from ._timetable import Timetable

__all__ = [
    "BREAK",
    "BREAK_CODES",
    "CALL",
    "LEAVE_AFTER",
    "OFFLINE",
    "OFFLINE_CODE",
    "WAIT",
    "WRAP",
    "Dwell",
    "SimAgent",
    "Waiting",
]

OFFLINE = "offline"
WAIT = "wait"
CALL = "call"
WRAP = "wrap"
BREAK = "break"

BREAK_CODES = ("Lunch", "Training", "Comfort")
OFFLINE_CODE = "Home"  # the documented offline statuscode
#: An agent in wait leaves (break or offline) after this many ``wait`` means without a call.
LEAVE_AFTER = 8.0


#: The shortest mean dwell: below the clock's resolution (about 2.4e-7 s at a 2026 start),
#: time stood still and an advance never returned. The wire's times are whole seconds.
MIN_DWELL = 0.001


def _positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value >= MIN_DWELL:  # NaN too
        raise ValueError(
            f"Dwell.{attribute.name} must be a number of seconds >= {MIN_DWELL}, got {value!r}"
        )


@attrs.frozen
class Dwell:
    """Mean seconds of the scenario's exponential dwell times.

    ``wrap``, ``break_`` and ``offline`` are how long an agent stays in each. ``call``
    is how long a caller stays on the line. ``wait`` sets the pace of inbound callers:
    each agent brings its queues ``OFFERED_LOAD`` (0.6) callers per ``wait + call +
    wrap`` seconds. An agent left waiting without a call leaves for a break or goes
    offline after ``LEAVE_AFTER`` (8) times ``wait`` on average. ``patience`` is how long a queued
    caller waits before giving up (an abandoned call). :meth:`uniform` leaves
    ``patience`` at its default.
    """

    wait: float = attrs.field(default=60.0, converter=float, validator=_positive)
    call: float = attrs.field(default=180.0, converter=float, validator=_positive)
    wrap: float = attrs.field(default=30.0, converter=float, validator=_positive)
    break_: float = attrs.field(default=600.0, converter=float, validator=_positive)
    offline: float = attrs.field(default=1800.0, converter=float, validator=_positive)
    patience: float = attrs.field(default=120.0, converter=float, validator=_positive)

    @classmethod
    def uniform(cls, mean: float) -> Dwell:
        """Return a Dwell with the same mean for every status (tests use tiny ones)."""
        return cls(wait=mean, call=mean, wrap=mean, break_=mean, offline=mean)

    def mean(self, status: str) -> float:
        """Return the mean dwell of ``status`` (``wait``: until the agent leaves it unasked)."""
        if status == BREAK:
            return self.break_
        if status == WAIT:
            return self.wait * LEAVE_AFTER
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
        #: The call the agent is on.
        self.call: SimCall | None = None
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
        self.rng, u = next_uniform(self.rng)
        return u


class Waiting:
    """The agents in wait, per inbound queue, in the order callers take them."""

    def __init__(
        self,
        qids: Iterable[str],
        agents: list[SimAgent],
        priorities: Mapping[tuple[str, str], Sequence[str]],
    ) -> None:
        self.qids = tuple(qids)
        self._agents = agents
        self._priorities = priorities
        self._lines = {qid: _Line() for qid in self.qids}
        # Each agent's inbound queues, by uid, worked out once: assignments are only
        # ever added (see reassigned), and each move into wait asks.
        self._queues: dict[str, tuple[str, ...]] = {}

    def queues_of(self, agent: SimAgent) -> tuple[str, ...]:
        """The inbound queues ``agent`` is assigned to now (none for created agents)."""
        if agent.index < 0:
            return ()
        queues = self._queues.get(agent.uid)
        if queues is None:
            uid, priorities = agent.uid, self._priorities
            queues = self._queues[uid] = tuple(q for q in self.qids if (uid, q) in priorities)
        return queues

    def reassigned(self, agentid: str) -> None:
        """The agent ``agentid`` got a new queue assignment."""
        self._queues.pop(agentid, None)

    def push(self, agent: SimAgent) -> None:
        """``agent`` waits for callers from now (``agent.since``)."""
        uid, since, index = agent.uid, agent.since, agent.index
        for qid in self.queues_of(agent):
            line = self._lines[qid]
            line.push(-_level(self._priorities[(uid, qid)][1]), since, index)
            if line.size > 2 * len(self._agents) + 64:  # mostly stale: keep the live ones
                line.keep([entry for entry in line.entries() if self._valid(entry, qid)])

    def pick(self, qid: str) -> SimAgent | None:
        """The waiting agent who takes the next caller of ``qid`` (now taken out), or None."""
        line = self._lines[qid]
        while True:
            entry = line.pop()
            if entry is None:
                return None
            if self._valid(entry, qid):
                return self._agents[entry[2]]

    def _valid(self, entry: tuple[int, float, int], qid: str) -> bool:
        agent = self._agents[entry[2]]
        return (
            agent.status == WAIT
            and agent.since == entry[1]
            and agent.lead is None
            and agent.call is None
            and (agent.uid, qid) in self._priorities
            and -entry[0] == _level(self._priorities[(agent.uid, qid)][1])  # not since changed
        )


class _Line:
    """One queue's entries ``(-level, since, index)``, popped smallest first, duplicates
    kept: a :class:`Timetable` of ``(since, index)`` per level, and a heap of the levels
    (so a pop compares ints and floats, not tuples)."""

    __slots__ = ("keys", "size", "tables")

    def __init__(self) -> None:
        self.keys: list[int] = []
        self.tables: dict[int, Timetable] = {}
        self.size = 0

    def push(self, key: int, since: float, index: int) -> None:
        table = self.tables.get(key)
        if table is None:
            table = self.tables[key] = Timetable()
            heapq.heappush(self.keys, key)
        table.push(since, index)
        self.size += 1

    def pop(self) -> tuple[int, float, int] | None:
        keys = self.keys
        while keys:
            key = keys[0]
            table = self.tables[key]
            if table.times:
                self.size -= 1
                since, index = table.pop()
                return key, since, index
            heapq.heappop(keys)
            del self.tables[key]
        return None

    def entries(self) -> list[tuple[int, float, int]]:
        return [
            (key, since, index)
            for key, table in self.tables.items()
            for since, index in table.pairs()
        ]

    def keep(self, entries: list[tuple[int, float, int]]) -> None:
        """Hold ``entries`` only."""
        self.keys, self.tables, self.size = [], {}, 0
        for entry in entries:
            self.push(*entry)


def _level(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
