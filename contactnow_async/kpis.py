"""Queue KPIs for a wallboard: what ``contactnow demo`` shows in a terminal and the web
wallboard in a browser, defined once here.

::

    kpis = QueueKpis(cn, every=20.0, cutoff=20)
    await kpis.refresh()        # False (and kpis.stale) when the read failed
    for queue in kpis.queues or ():   # None until a read has succeeded
        queue.queue_id, queue.name, queue.calls, queue.answered, queue.abandoned
        queue.service_level      # 0.83, or None while no call counts
    kpis.waiting_since((a.agent_id, a.status, a.started_ts) for a in agents)
    # {"1007": 1700003725, ...}: when each queue's longest wait now began

The definitions, per inbound queue (``reports.calls`` grouped by ``qid``, with
``qtype=inbound``, over today: from midnight on the centre's clock (the client's,
corrected by its token's ``clock_offset``), in its zone (the client's ``record_tz``, UTC
unless given), until now):

- calls today: ``nc_all``; answered: ``nc_ans``; abandoned: ``oc_abdn``;
- service level: :func:`~contactnow_async.analytics.service_level` at ``cutoff``
  (answered within the cutoff, of the calls answered or abandoned after it);
- longest wait now: the longest an agent assigned to the queue (``priorities``) and in an
  available status (:data:`AVAILABLE`) has been in that status. API v2 shows a caller in
  a queue only once the call has ended, in the CDR: the live wait it can show is the
  agents'.

The queues listed are the centre's inbound queues (``queues.read``, type ``inbound``,
deleted ones left out as the vendor's code does, ``filter="!= 999"``), read in the same
refresh: a queue with no call today has no row in the report and is listed with 0 calls,
0 answered, 0 abandoned and no service level, named by its ``description``. A queue in
the report but not in that list (deleted today, after its calls) is listed too, with
the report's figures. They are in the order of their ids (as numbers; ids that are not
numbers after those, in text order), whichever have calls.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Final

import attrs

from ._clock import Clock
from ._errors import ContactNowError, ResponseFormatError
from ._models_ecnow import Queue, QueueType
from ._models_reports import ReportRow
from .analytics import service_level

if TYPE_CHECKING:
    from ._client import ContactNow

__all__ = ["AVAILABLE", "QUEUE_FIGURES", "QueueFigures", "QueueKpis", "is_available"]

logger = logging.getLogger("contactnow_async.kpis")

#: What the KPIs ask ``reports.calls`` for, per inbound queue.
QUEUE_FIGURES: Final = (
    "qid", "qnm", "nc_all", "nc_ans", "oc_abdn", "nc_ans_le", "nc_ans_gt", "nc_que_gt",
)  # fmt: skip
#: The statuses of an agent available for a call (the wallboards' "available" group).
AVAILABLE: Final = frozenset({"wait", "available", "idle", "ready"})


def is_available(status: str) -> bool:
    """Whether ``status`` (any case) is one of :data:`AVAILABLE`."""
    return status.lower() in AVAILABLE


@attrs.frozen
class QueueFigures:
    """One inbound queue's figures today (see the module docstring for what each is)."""

    queue_id: str
    name: str
    calls: int
    answered: int
    abandoned: int
    service_level: float | None

    @classmethod
    def from_row(cls, row: ReportRow, cutoff: int) -> QueueFigures:
        """The figures of one ``reports.calls`` row of :data:`QUEUE_FIGURES` at ``cutoff``;
        ValueError naming the figures a row lacks (each would read as 0)."""
        missing = [name for name in QUEUE_FIGURES if name not in row]
        if missing:
            queue = repr(row["qid"]) if "qid" in row else "(no qid)"
            raise ValueError(f"a reports.calls row of queue {queue} without {', '.join(missing)}")
        return cls(
            queue_id=row.text("qid"),
            name=row.text("qnm"),
            calls=row.count("nc_all"),
            answered=row.count("nc_ans"),
            abandoned=row.count("oc_abdn"),
            service_level=service_level([row], cutoff),
        )

    @classmethod
    def idle(cls, queue: Queue) -> QueueFigures:
        """The figures of an inbound queue without a call today (no row in the report)."""
        return cls(queue.queue_id, queue.description, 0, 0, 0, None)


def queue_order(queue_id: str) -> tuple[int, int, str, str]:
    """Where a queue goes in :attr:`QueueKpis.queues`: ids that are numbers in number
    order (without ``int``: any length), then the others in text order."""
    if queue_id.isascii() and queue_id.isdigit():
        digits = queue_id.lstrip("0")
        return (0, len(digits), digits, queue_id)
    return (1, 0, "", queue_id)


def midnight(now: float, tz: tzinfo) -> int:
    """The unix time of the midnight in ``tz`` that began the day of ``now`` (the first
    one, should the clocks go back over it)."""
    # The second now is in: a time a microsecond's rounding short of midnight is the day
    # before (fromtimestamp rounds it up to the next day's, a window ending before it began).
    day = datetime.fromtimestamp(math.floor(now), tz=tz).replace(
        hour=0, minute=0, second=0, microsecond=0, fold=0
    )
    return int(day.timestamp())


def _number(value: object) -> bool:
    """An int or a float, not a bool (nor text that looks like a number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return not isinstance(value, int) or abs(value) < 2**53  # 10**400: no float holds it


class QueueKpis:
    """The inbound queues' KPIs today, read from ``reports.calls``, ``priorities`` and
    ``queues`` (three requests a refresh, after the token's).

    :meth:`refresh` reads them once; :meth:`run` every ``every`` seconds of ``clock``
    (default: the client's, its day and now corrected by the API's clock, as the token
    is, by the token's ``clock_offset``; give a simulator's clock to follow its day and
    pace). A
    failed read keeps the last good figures and marks them ``stale`` (``error`` names
    what failed); nothing is ever made up: ``queues`` stays None until a read succeeds.
    ``cutoff`` is the service level's target in seconds.

    ``contactnow_async.web.wallboard_app(source, kpis=QueueKpis(cn))`` runs one in the
    wallboard's lifespan and sends its figures to the page.
    """

    def __init__(
        self,
        client: ContactNow,
        *,
        every: float = 20.0,
        cutoff: int = 20,
        clock: Clock | None = None,
    ) -> None:
        if not (_number(every) and 0 < every < math.inf):
            raise ValueError(f"every must be a positive number of seconds, not {every!r}")
        if not (_number(cutoff) and float(cutoff).is_integer() and cutoff >= 0):
            # Whole seconds, as reports.calls sends it: 20.7 is not silently 20.
            raise ValueError(f"cutoff must be a whole number of seconds >= 0, not {cutoff!r}")
        self.client = client
        self.every = float(every)
        self.cutoff = int(cutoff)
        self.clock: Clock = clock if clock is not None else client.clock
        #: Each inbound queue's figures at the last good read (None before the first), in
        #: the order of their ids (see the module docstring).
        self.queues: tuple[QueueFigures, ...] | None = None
        #: Agent id -> the ids of the inbound queues (those of ``queues``) it is assigned
        #: to, at the last good read; its outbound queues are not in it.
        self.queues_of: Mapping[str, frozenset[str]] = {}
        #: The window the figures count: from ``start_ts`` (midnight in the client's
        #: ``record_tz``) to ``read_ts``.
        self.start_ts: int | None = None
        self.read_ts: int | None = None
        #: True after a failed read: the figures are the last good ones (or None).
        self.stale = False
        #: What the last read failed with (an exception's type name), None after a good one.
        self.error: str | None = None
        #: The reads made so far, good or failed: a new count means new figures or state
        #: (what a cache of anything worked out from them is keyed by).
        self.reads = 0

    def __repr__(self) -> str:
        queues = "unread" if self.queues is None else f"{len(self.queues)} queues"
        return f"<QueueKpis {queues} cutoff={self.cutoff}{' stale' if self.stale else ''}>"

    async def refresh(self) -> bool:
        """Read today's figures, the inbound queues and the assignments; True when all
        three were read.

        On failure of any (any exception: the API's, the network's, a reply that is not
        the API's or lacks a figure of :data:`QUEUE_FIGURES`) the figures stay as they were,
        ``stale`` is set, ``error`` names the exception's type and the log its message.
        """
        now = self.clock.now()
        client = self.client
        try:
            if self.clock is client.clock:
                # The host's clock, which may be off the centre's (a container without NTP):
                # the window was the host's day, yesterday's or tomorrow's figures near
                # midnight. Corrected as the token's is, by the API's Date when it was got.
                now += (await client.tokens.get()).clock_offset
            start, stop = midnight(now, client.options.record_tz), int(now)
            rows = await client.reports.calls(
                QUEUE_FIGURES,
                start=start,
                stop=stop,
                group_by=["qid"],
                cutoff=self.cutoff,
                qtype="inbound",
            )
            listed = await client.queues.read(type=QueueType.INBOUND, filter="!= 999")
            assignments = await client.priorities.read()
            try:
                reported = [QueueFigures.from_row(row, self.cutoff) for row in rows]
            except ValueError as exc:  # the reply left out a figure asked for: not made 0
                raise ResponseFormatError(f"{exc}: left out of the reply") from None
        except Exception as exc:  # a wallboard keeps its last figures, whatever failed
            if not isinstance(exc, ContactNowError):
                logger.exception("reading the queue KPIs failed unexpectedly")
            else:
                logger.warning("reading the queue KPIs failed: %s: %s", type(exc).__name__, exc)
            self.stale = True
            self.error = type(exc).__name__
            self.reads += 1
            return False
        inbound = {queue.queue_id for queue in reported}
        idle: dict[str, QueueFigures] = {}
        for queue in listed:
            # The type again: a reply that ignored the filter lists the outbound ones too;
            # a queue listed twice is one queue (its first row), not two rows of zeros.
            if queue.type is QueueType.INBOUND and queue.queue_id not in inbound:
                idle.setdefault(queue.queue_id, QueueFigures.idle(queue))
        figures = [*reported, *idle.values()]
        queues = tuple(sorted(figures, key=lambda queue: queue_order(queue.queue_id)))
        inbound.update(idle)
        queues_of: dict[str, set[str]] = {}
        for assignment in assignments:
            if assignment.queue_id in inbound:  # an outbound queue has no wait on the board
                queues_of.setdefault(assignment.agent_id, set()).add(assignment.queue_id)
        self.queues = queues
        self.queues_of = {agent_id: frozenset(ids) for agent_id, ids in queues_of.items()}
        self.start_ts, self.read_ts = start, stop
        self.stale, self.error = False, None
        self.reads += 1
        return True

    async def run(self, on_refresh: Callable[[], object] | None = None) -> None:
        """Refresh now and then every ``every`` seconds of the clock, until cancelled;
        ``on_refresh`` is called after each read, good or not."""
        while True:
            await self.refresh()
            if on_refresh is not None:
                on_refresh()
            await self.clock.sleep_until(self.clock.now() + self.every)

    def waiting_since(self, agents: Iterable[tuple[str, str, float]]) -> dict[str, float]:
        """When each queue's longest wait now began, from ``(agent_id, status, started_ts)``.

        The earliest ``started_ts`` of the queue's agents (as assigned at the last good
        read) in an available status, for the inbound queues of that read (an agent's
        outbound queues are not waited on); a queue none of whose agents is available is left
        out, and so is an agent whose status start is unknown (``started_ts`` 0: a live
        row without its ``time``), not taken as waiting since 1970. The wait is the
        centre's time now less it.
        """
        since: dict[str, float] = {}
        queues_of = self.queues_of
        for agent_id, status, started_ts in agents:
            if not is_available(status) or started_ts <= 0:
                continue
            for queue_id in queues_of.get(agent_id, ()):
                if queue_id not in since or started_ts < since[queue_id]:
                    since[queue_id] = started_ts
        return since
