"""The dialler: which record an agent in ``wait`` dials next, and what a finished call
does to the record.

A record is dialled when its dataset is LIVE, its ProcessType is ``New
Prospect`` or ``NEEDSMOREWORK``, it has a phone and its callback (if any) is
due, by an agent in ``wait`` assigned (``priority``) to the dataset's outbound
queue. Among the records an agent could dial it takes the one on the queue it
is assigned to at the highest level, then the highest dataset priority (within one
campaign only: ECNOW.md says a dataset's priority does not affect another campaign's
datasets), then the earliest callback, then the lowest id. The record is reserved for that
agent, who connects to it :data:`DIAL_DELAY` seconds later. When the call
ends the agent's random stream picks an outcome (:data:`CALL_OUTCOMES`): the
record gets its ``outcomecode``, ``ProcessDate`` and a line in its ``notes``; a
non-complete outcome sets a callback :data:`CALLBACK_DELAY` seconds later and
the record is dialled again once it is due.
"""

from __future__ import annotations

import heapq

from ._calls import SimCall
from ._campaigns import PHONES, CampaignDb

__all__ = ["CALLBACK_DELAY", "CALL_OUTCOMES", "DIAL_DELAY", "Dialler"]

#: Seconds from reserving a record for an agent to the agent's call with it.
DIAL_DELAY = 5.0
#: Seconds from a non-complete outcome to the record's callback.
CALLBACK_DELAY = 3600.0
#: The outcomes of dialled calls and their cumulative chances.
CALL_OUTCOMES = (
    ("510456", 0.3),  # Sales Completed (complete)
    ("501638", 0.55),  # Need more information
    ("510457", 0.8),  # Not interested (complete)
    ("101", 0.9),  # Answer Machine (Agent)
    ("103", 1.0),  # No answer
)


class Dialler:
    """Reserves records for waiting agents and writes the outcome of their calls."""

    def __init__(self, db: CampaignDb, priorities: dict[tuple[str, str], tuple[str, str]]) -> None:
        self.db = db
        self._priorities = priorities
        #: Record id -> uid of the agent dialling it (reserved, or on the call).
        self.reserved: dict[int, str] = {}
        #: A heap of (callback time, record id); the scenario's loop peeks at it (no call).
        self.wakes: list[tuple[float, int]] = []
        #: Record id -> the call an agent set its callback for (agent.php), until the
        #: record's next call ends: that call's outcome keeps the callback.
        self.called_back: dict[int, str] = {}
        # Record id -> (its callback text, the moment the simulator wrote it for): in the
        # hour the clocks go back in record_tz the text names two moments, and read back
        # as the first, a callback set an hour later was due at once (see due()).
        self._meant: dict[int, tuple[str, float]] = {}
        # The open, unreserved records by dataset, each a heap of (due, record id): all of a
        # dataset's records share its queue and priority, so a heap's top is its best and,
        # when not due, none of the others is either. Agent-specific records are apart, by
        # their agent. A heap cannot drop from its middle: an entry counts while _spots
        # still holds it, and a stale one is popped once it reaches the top.
        self._shared: dict[int, list[tuple[float, int]]] = {}
        self._own: dict[str, dict[int, list[tuple[float, int]]]] = {}
        #: Record id -> (its agent if agent-specific, dataset id, due): where it is indexed.
        self._spots: dict[int, tuple[str | None, int, float]] = {}
        # All of them, by due alone: whether anyone may dial anything yet.
        self._dues: list[tuple[float, int]] = []
        self._pushes = 0  # since the heaps were last rebuilt
        db.on_settle = self._place
        for record_id in db.open:
            self._place(record_id)

    def pop_wakes(self, now: float) -> None:
        """Forget the callbacks due by ``now`` (their records are now diallable)."""
        while self.wakes and self.wakes[0][0] <= now:
            heapq.heappop(self.wakes)

    def pick(self, agent_uid: str, now: float) -> int | None:
        """The record ``agent_uid`` would dial at ``now``, or None."""
        # Each campaign's best by level, then dataset priority; ECNOW.md: "Dataset
        # priorities do not affect other Datasets that are on a different Campaign".
        best: dict[str, tuple[int, int, float, int]] = {}
        datasets = self.db.datasets
        own = self._own.get(agent_uid)
        for owner, heaps in ((None, self._shared), (agent_uid, own or {})):
            for dataset_id, heap in heaps.items():
                dataset = datasets[dataset_id]
                entry = self._priorities.get((agent_uid, dataset.qid))
                if entry is None:
                    continue
                top = self._top(heap, owner, dataset_id)
                if top is None or top[0] > now:
                    continue
                key = (-_level(entry[1]), -dataset.priority, *top)
                mine = best.get(dataset.table)
                if mine is None or key < mine:
                    best[dataset.table] = key
        if not best:
            return None
        # Between campaigns: the level, then the earliest due, then the lowest id.
        return min(best.values(), key=_across_campaigns)[3]

    def reserve(self, agent_uid: str, now: float) -> int | None:
        """Reserve the record ``agent_uid`` dials next; return its id, or None."""
        if not self.db.open:
            return None
        record_id = self.pick(agent_uid, now)
        if record_id is not None:
            self.reserved[record_id] = agent_uid
            self._place(record_id)
        return record_id

    def _top(
        self, heap: list[tuple[float, int]], owner: str | None, dataset_id: int
    ) -> tuple[float, int] | None:
        """The heap's first entry that still counts, once the stale ones above it are gone."""
        spots = self._spots
        while heap:
            due, record_id = top = heap[0]
            if spots.get(record_id) == (owner, dataset_id, due):
                return top
            heapq.heappop(heap)
        return None

    def any_due(self, now: float) -> bool:
        """Whether some open, unreserved record is due at ``now`` (if not, nobody picks one)."""
        dues, spots = self._dues, self._spots
        while dues:
            due, record_id = dues[0]
            spot = spots.get(record_id)
            if spot is not None and spot[2] == due:
                return due <= now
            heapq.heappop(dues)
        return False

    def _place(self, record_id: int) -> None:
        """Index a record where it now belongs: not at all once closed or reserved."""
        spot = None
        if record_id in self.db.open and record_id not in self.reserved:
            record = self.db.records[record_id]
            owner = record["AgentRef"] if record["Agent_Specific"] == "1" else None
            spot = (owner, int(record["datasetid"]), self.due(record_id) or 0.0)
        if spot == self._spots.get(record_id):
            return
        if spot is None:
            del self._spots[record_id]
            return
        self._spots[record_id] = spot
        self._push(record_id, spot)
        if self._pushes > 2 * len(self._spots) + 1024:
            self._rebuild()  # mostly stale: amortised over the pushes that made them

    def _push(self, record_id: int, spot: tuple[str | None, int, float]) -> None:
        owner, dataset_id, due = spot
        heaps = self._shared if owner is None else self._own.setdefault(owner, {})
        heapq.heappush(heaps.setdefault(dataset_id, []), (due, record_id))
        heapq.heappush(self._dues, (due, record_id))
        self._pushes += 1

    def _rebuild(self) -> None:
        self._shared, self._own, self._dues, self._pushes = {}, {}, [], 0
        for record_id, spot in self._spots.items():
            self._push(record_id, spot)

    def still_diallable(self, record_id: int, now: float) -> bool:
        """Whether a reserved record may still be dialled (it was not closed meanwhile)."""
        return record_id in self.db.open and (self.due(record_id) or 0.0) <= now

    def release(self, record_id: int) -> None:
        """Drop a reservation."""
        if self.reserved.pop(record_id, None) is not None:
            self._place(record_id)

    def dial(self, record_id: int, callid: str, when: float) -> SimCall:
        """The call ``callid`` an agent connects to a reserved record at ``when``; it
        rang for :data:`DIAL_DELAY` seconds before."""
        record = self.db.records[record_id]
        dataset = self.db.datasets[int(record["datasetid"])]
        number = next(record[phone] for phone in PHONES if record[phone])
        call = SimCall(
            callid=callid,
            qid=dataset.qid,
            cli=self.db.queues[dataset.qid]["callerid"],
            ddi=number,
            ctype="out",
            dtype="out",
            tm_init=when - DIAL_DELAY,
            record=record_id,
            dsid=str(dataset.dataset),
        )
        call.sec_ring = DIAL_DELAY
        return call

    def table_of(self, record_id: int) -> str:
        """The campaign table of a record (the ``qtable`` of its call)."""
        return self.db.table_of(self.db.records[record_id])

    def finish(
        self,
        record_id: int,
        *,
        agent_uid: str,
        callid: str,
        when: float,
        u: float,
        code: str | None = None,
    ) -> str:
        """Write the outcome of the call ``callid`` to its record and return its code:
        ``code`` (an agent's disposition) if given, else one drawn with ``u``."""
        self.release(record_id)
        if code is None:
            code = next(code for code, upto in CALL_OUTCOMES if u < upto)
        asked = self.called_back.pop(record_id, None) == callid
        self.apply_outcome(
            record_id, code, agent_uid=agent_uid, callid=callid, when=when, keep_callback=asked
        )
        return code

    def apply_outcome(
        self,
        record_id: int,
        code: str,
        *,
        agent_uid: str,
        callid: str,
        when: float,
        keep_callback: bool = False,
    ) -> None:
        """Give a record the outcome ``code`` of call ``callid``: its ProcessDate, a line
        in its notes, a callback an hour later unless the outcome is complete (or, with
        ``keep_callback``, the one the agent set during the call, already scheduled)."""
        record = self.db.records[record_id]
        outcome = self.db.outcomes[code]
        stamp = self.db.format_time(when)
        record["outcomecode"] = code
        record["ProcessDate"] = stamp
        due = when + CALLBACK_DELAY
        if outcome.complete:
            record["callback"] = "0000-00-00 00:00:00"
        elif keep_callback:  # due from now if set in the past: nothing is dialled back then
            due = max(when, self.due(record_id) or when)
        else:
            self.set_callback(record_id, due)
            record["Call_Back_Notes"] = outcome.description
        self.db.append_note(
            record,
            f"{stamp} Call {callid} by agent {agent_uid}: outcome {code} ({outcome.description})",
        )
        if self.db.settle(record_id) != "EXPIRED" and not outcome.complete:
            heapq.heappush(self.wakes, (due, record_id))

    def set_callback(self, record_id: int, due: float) -> None:
        """Write ``due`` as the record's callback date, and remember the moment meant."""
        text = self.db.format_time(due)
        self.db.records[record_id]["callback"] = text
        self._meant[record_id] = (text, float(int(due)))  # the second the text is written to

    def due(self, record_id: int) -> float | None:
        """When the record's callback is due (None: it has none): the moment the simulator
        wrote it for while the text is unchanged, else the date read in ``record_tz``."""
        text = self.db.records[record_id]["callback"]
        meant = self._meant.get(record_id)
        if meant is not None and meant[0] == text:
            return meant[1]
        return self.db.parse_time(text)

    def schedule(self, record_id: int) -> None:
        """Wake the dialler when a record's future callback falls due."""
        due = self.due(record_id)
        if due is not None and record_id in self.db.open:
            heapq.heappush(self.wakes, (due, record_id))


def _across_campaigns(key: tuple[int, int, float, int]) -> tuple[int, float, int]:
    """A campaign's best record compared with another campaign's: its dataset priority left out."""
    return key[0], key[2], key[3]


def _level(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
