"""Calls: the inbound switch (arrivals, queues, patience) and the call detail records.

Every call is one :class:`SimCall`, from the moment it starts (an inbound caller
reaching a queue, the dialler connecting an agent to a record, an agent's manual
dial) to the moment it ends, when it becomes a row of the :class:`Cdr`. The
agent's live ``call`` list and status_log rows carry its ``callid`` meanwhile,
so the three books (live status, status_log, CDR) name the same calls.

Inbound callers arrive at each inbound queue as a Poisson stream, one random
stream per queue (:mod:`._rng`), and wait in the queue's line until an agent in
``wait`` assigned to the queue takes them or their patience runs out (they
abandon: a CDR row with ``aid`` 0). The :class:`Switch` keeps the lines and the
timetable of arrivals and abandons; who answers is the scenario's business.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
from collections import deque
from collections.abc import Iterable, Mapping

from ._rng import exponential, next_uniform, stream

__all__ = [
    "ABANDONED", "ANSWERED", "ARRIVE", "DEAD_LINE", "GIVE_UP", "NO_ANSWER", "Cdr", "SimCall",
    "Switch", "Wraps",
]  # fmt: skip

ANSWERED, ABANDONED, NO_ANSWER = "Answered", "Abandoned", "No Answer"
DEAD_LINE = "Dead Line"  # REPORTING.md's cres: "(Answered, Dead Line, No Answer, etc)"
#: An outbound call, dialled or by hand, given one of these outcomes was not answered:
#: "No answer" (oc_noansw), "Number unobtainable" (oc_dead, "dead lines").
_UNANSWERED = {"103": NO_ANSWER, "104": DEAD_LINE}
#: Timetable entry kinds: a caller reaching a queue, a queued caller giving up.
ARRIVE, GIVE_UP = 0, 1
_QUEUE_SALT = 2  # the random family of the queues' streams (agents are family 1)


class SimCall:
    """One call, live or finished (compact: slots).

    Times are unix seconds (floats). ``agent`` is ``"0"`` until an agent takes
    the call; ``record`` the campaign record a dialled call is about.
    """

    __slots__ = (
        "agent",
        "callid",
        "cli",
        "ctype",
        "ddi",
        "dsid",
        "dtype",
        "gives_up_at",
        "outcome",
        "qid",
        "record",
        "result",
        "sec_ring",
        "tm_agent",
        "tm_answ",
        "tm_disc",
        "tm_init",
        "wrapped",
    )

    def __init__(
        self,
        *,
        callid: str,
        qid: str,
        cli: str,
        ddi: str,
        ctype: str,
        dtype: str,
        tm_init: float,
        record: int | None = None,
        dsid: str = "0",
    ) -> None:
        self.callid = callid
        self.qid = qid
        self.cli = cli
        self.ddi = ddi
        self.ctype = ctype
        self.dtype = dtype
        self.tm_init = tm_init
        self.tm_answ = 0.0
        #: When an agent was put on the call (kept when it ends unanswered).
        self.tm_agent = 0.0
        self.tm_disc = 0.0
        self.sec_ring = 0.0
        self.agent = "0"
        self.record = record
        self.dsid = dsid
        #: The outcome code: set by a disposition during the call, or when it ends.
        self.outcome: str | None = None
        self.result = ""
        #: Whether the agent's wrap after the call has lasted more than 0 s (:class:`Wraps`;
        #: hangupready skips wrap).
        self.wrapped = False
        self.gives_up_at = math.inf

    @property
    def answered(self) -> bool:
        """Whether an agent was connected to the caller."""
        return self.result == ANSWERED

    @property
    def sec_que(self) -> float:
        """Seconds in the queueing system: until answered, or until the caller gave up."""
        if self.dtype != "in":
            return 0.0
        until = self.tm_answ if self.tm_answ else self.tm_disc
        return round(max(0.0, until - self.tm_init), 3)

    @property
    def sec_dur(self) -> float:
        """The call's duration, from its start to its end."""
        return round(max(0.0, self.tm_disc - self.tm_init), 3)

    @property
    def sec_talk(self) -> float:
        """Seconds an agent spent connected to the caller."""
        return round(max(0.0, self.tm_disc - self.tm_answ), 3) if self.tm_answ else 0.0

    @property
    def sec_agent(self) -> float:
        """Seconds an agent spent on the call, answered or not (its status ``call``)."""
        return round(max(0.0, self.tm_disc - self.tm_agent), 3) if self.tm_agent else 0.0

    def connect(self, agent: str, when: float) -> None:
        """An agent takes the call at ``when``."""
        self.agent = agent
        self.tm_answ = self.tm_agent = when
        self.gives_up_at = math.inf

    def result_of(self, outcome: str) -> str:
        """The result an agent's call ends with given ``outcome``: an outbound one given
        "No answer" or a dead line was not answered."""
        return _UNANSWERED.get(outcome, ANSWERED) if self.ctype == "out" else ANSWERED

    def judge(self, outcome: str) -> None:
        """Give the agent's ended call ``outcome`` (a disposition after its end), and the
        result it would have ended with had it had that outcome then."""
        self.outcome = outcome
        result = self.result_of(outcome)
        if result == ANSWERED and not self.answered:  # connected after all, as it was
            self.tm_answ = self.tm_agent
            self.sec_ring = round(max(0.0, self.tm_agent - self.tm_init), 3)
        self.end(self.tm_disc, result)

    def end(self, when: float, result: str) -> None:
        """The call ends at ``when`` with ``result`` (``Answered``, ``Abandoned``...)."""
        self.tm_disc = when
        self.result = result
        if result != ANSWERED:
            self.tm_answ = 0.0
            if self.dtype != "in":
                # REPORTING.md: sec_ring runs until "answered/disconnected"; a call the
                # agent dialled rang until it was given up. (An inbound caller's wait is
                # sec_que: the vendor's inbound row has sec_ring 0.)
                self.sec_ring = round(max(0.0, when - self.tm_init), 3)


#: A finished call as the CDR keeps it: a plain tuple of atomic values, which the
#: garbage collector stops tracking (a long run keeps many).
CdrRow = tuple[
    str, str, str, "int | None", str, str, str, str, str, str, "str | None",
    float, float, float, float, bool, float,
]  # fmt: skip


def _row(call: SimCall) -> CdrRow:
    return (
        call.callid, call.qid, call.agent, call.record, call.dsid, call.cli, call.ddi,
        call.ctype, call.dtype, call.result, call.outcome,
        call.tm_init, call.tm_answ, call.tm_disc, call.sec_ring, call.wrapped, call.tm_agent,
    )  # fmt: skip


def _call(row: CdrRow) -> SimCall:
    (
        callid, qid, agent, record, dsid, cli, ddi, ctype, dtype, result, outcome,
        tm_init, tm_answ, tm_disc, sec_ring, wrapped, tm_agent,
    ) = row  # fmt: skip
    call = SimCall(
        callid=callid, qid=qid, cli=cli, ddi=ddi, ctype=ctype, dtype=dtype, tm_init=tm_init,
        record=record, dsid=dsid,
    )  # fmt: skip
    call.agent, call.result, call.outcome = agent, result, outcome
    call.tm_answ, call.tm_disc, call.sec_ring, call.wrapped = tm_answ, tm_disc, sec_ring, wrapped
    call.tm_agent = tm_agent
    return call


def _order(row: CdrRow) -> tuple[float, int]:
    return (row[11], int(row[0]))


def _started(row: CdrRow) -> int:
    return int(row[11])


class Cdr:
    """The call detail records of finished calls, kept in ``(tm_init, callid)`` order.

    ``retention`` keeps the newest rows only (None: every row), as the status log
    does: memory stays bounded over a long run. Rows are read back as
    :class:`SimCall` s (copies: :meth:`replace` writes a change back).
    """

    def __init__(self, retention: int | None) -> None:
        self.retention = retention
        self._rows: list[CdrRow] = []
        # _order of each row, in step with _rows: bisect compares these in C instead
        # of calling a key function a dozen times per insert.
        self._keys: list[tuple[float, int]] = []
        self._head = 0  # rows before it are purged (compacted now and then)
        self._by_id: dict[str, CdrRow] = {}

    def __len__(self) -> int:
        return len(self._rows) - self._head

    def add(self, call: SimCall) -> None:
        """Keep the row of a finished call."""
        row = _row(call)
        key = _order(row)
        keys = self._keys
        # Calls end soon after they start: the place is near the end.
        at = bisect.bisect_right(keys, key, self._head)
        self._rows.insert(at, row)
        keys.insert(at, key)
        self._by_id[call.callid] = row
        if self.retention is not None and len(self) > self.retention:
            for gone in self._rows[self._head : self._head + len(self) - self.retention]:
                self._by_id.pop(gone[0], None)
            self._head = len(self._rows) - self.retention
            if self._head > 256 and self._head * 2 > len(self._rows):
                del self._rows[: self._head]
                del keys[: self._head]
                self._head = 0

    def get(self, callid: str) -> SimCall | None:
        """The retained row of ``callid`` (a copy), or None."""
        row = self._by_id.get(callid)
        return None if row is None else _call(row)

    def replace(self, call: SimCall) -> None:
        """Write back a changed row (its call id and start unchanged)."""
        old = self._by_id.get(call.callid)
        if old is None:
            return
        at = bisect.bisect_left(self._keys, _order(old), self._head)
        self._rows[at] = self._by_id[call.callid] = _row(call)

    def window(self, start: float, stop: float) -> list[SimCall]:
        """The retained rows of calls started in ``[start, stop]`` (seconds, inclusive)."""
        rows = self._rows
        lo = bisect.bisect_left(rows, start, self._head, len(rows), key=_started)
        hi = bisect.bisect_right(rows, stop, lo, len(rows), key=_started)
        return [_call(row) for row in rows[lo:hi]]


class Wraps:
    """The wraps under way, until they last: REPORTING.md's ``nc_wrap`` is "the number of
    calls with a wrap time greater than zero", so a call's CDR row is marked ``wrapped``
    once its agent's wrap after it has lasted (``hangup`` then ``ready`` at one moment
    is no wrap), not when it begins."""

    def __init__(self, cdr: Cdr) -> None:
        self._cdr = cdr
        self._open: dict[str, tuple[str, float]] = {}  # agent -> (callid, wrap began)

    def begin(self, agent: str, callid: str, when: float) -> None:
        """The agent wraps ``callid`` (in the CDR already) from ``when``."""
        self._open[agent] = (callid, when)

    def end(self, agent: str, when: float) -> None:
        """The agent leaves wrap (or whatever status it is in) at ``when``."""
        wrap = self._open.pop(agent, None)
        if wrap is not None and when > wrap[1]:
            self._mark(wrap[0])

    def settle(self, now: float) -> None:
        """Mark the wraps still under way that have lasted by ``now``."""
        for agent, (callid, began) in list(self._open.items()):
            if began < now:
                del self._open[agent]
                self._mark(callid)

    def _mark(self, callid: str) -> None:
        call = self._cdr.get(callid)
        if call is not None:  # else purged by the CDR's retention
            call.wrapped = True
            self._cdr.replace(call)


def _waited(call: SimCall) -> tuple[float, int]:
    return (call.tm_init, int(call.callid))


class Switch:
    """The inbound queues' lines and the timetable of arrivals and give-ups.

    ``rates`` are callers per second for each inbound queue; ``patience`` the
    mean seconds a queued caller waits before giving up (exponential).
    """

    def __init__(
        self, *, seed: int, start: float, rates: Mapping[str, float], patience: float
    ) -> None:
        self.rates = dict(rates)
        self.patience = patience
        self.lines: dict[str, deque[SimCall]] = {qid: deque() for qid in self.rates}
        self._rng = {qid: stream(seed, _QUEUE_SALT, n) for n, qid in enumerate(self.rates)}
        #: A heap of (time, seq, kind, key); the scenario's loop peeks at it (no call).
        self.timetable: list[tuple[float, int, int, str]] = []
        self._seq = itertools.count()
        self._queued: dict[str, SimCall] = {}
        for qid, rate in self.rates.items():
            if rate > 0:
                self.next_arrival(qid, start)

    def pop(self) -> tuple[float, int, str]:
        """The next timetable entry: ``(time, ARRIVE, qid)`` or ``(time, GIVE_UP, callid)``."""
        when, _, kind, key = heapq.heappop(self.timetable)
        return when, kind, key

    def draw(self, qid: str) -> float:
        """The queue's next uniform number in [0, 1)."""
        self._rng[qid], u = next_uniform(self._rng[qid])
        return u

    def next_arrival(self, qid: str, after: float) -> None:
        """Book the queue's next caller."""
        gap = exponential(1.0 / self.rates[qid], self.draw(qid))
        heapq.heappush(self.timetable, (after + gap, next(self._seq), ARRIVE, qid))

    def queue(self, call: SimCall, when: float) -> None:
        """Put a caller in its queue's line; it gives up after a patience drawn now."""
        call.gives_up_at = when + exponential(self.patience, self.draw(call.qid))
        self.lines[call.qid].append(call)
        self._queued[call.callid] = call
        heapq.heappush(self.timetable, (call.gives_up_at, next(self._seq), GIVE_UP, call.callid))

    def first_waiting(self, qids: Iterable[str]) -> SimCall | None:
        """The caller who has waited longest in any of ``qids``' lines, or None."""
        best: SimCall | None = None
        for qid in qids:
            line = self.lines.get(qid)
            if line and (best is None or _waited(line[0]) < _waited(best)):
                best = line[0]
        return best

    def queued(self, callid: str) -> SimCall | None:
        """The caller ``callid`` if it still waits in a line, else None."""
        return self._queued.get(callid)

    def take(self, call: SimCall) -> None:
        """Take a caller out of its line (answered, or gone)."""
        del self._queued[call.callid]
        line = self.lines[call.qid]
        if line and line[0] is call:
            line.popleft()
        else:
            line.remove(call)

    def waiting(self, qid: str) -> int:
        """How many callers wait in the queue's line."""
        line = self.lines.get(qid)
        return len(line) if line else 0
