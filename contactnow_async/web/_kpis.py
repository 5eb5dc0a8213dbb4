"""The queue KPIs on the wallboard: ``GET /kpis``, and ``event: kpis`` on ``/events``.

A :class:`~contactnow_async.kpis.QueueKpis` given to the wallboard is refreshed in its
lifespan (every ``every`` seconds). Its figures, with each queue's longest wait worked
out from the board's agents, make one JSON document::

    {"cutoff": 20, "start_ts": 1700006400, "read_ts": 1700035200,
     "stale": false, "error": null,
     "queues": [{"queue_id": "1007", "name": "Sales Inbound", "calls": 41,
                 "answered": 37, "abandoned": 4, "service_level": 0.8717948717948718,
                 "longest_wait_since": 1700035112}, ...]}

``queues`` has every inbound queue, in the order of their ids, a queue without a call
today with 0 calls (see :mod:`contactnow_async.kpis`).
``service_level`` is :func:`~contactnow_async.analytics.service_level`'s share, unrounded
(the page rounds it down to a whole percent), null when no call counts. ``queues`` is None
until a read has succeeded (the page then shows no panel); ``stale`` is true while the
last read failed (the figures are the last good ones; ``error`` names the failure).
``longest_wait_since`` is when the queue's longest-waiting available agent began to wait
(None: none is available): the page ticks the wait from it, as it ticks each agent's time
in status. ``start_ts``/``read_ts`` are the window the figures count.

The document is sent as ``event: kpis`` (no ``id:``, so a browser's ``Last-Event-ID``
stays its last agent event) when it changes: after a read whose figures differ, or when
an agent's change moves a queue's longest wait. A new stream gets the current one first.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio

from ..kpis import QueueKpis
from ._board import Board


def kpis_frame(document: dict[str, Any]) -> bytes:
    """The ``event: kpis`` SSE frame of a KPI document (JSON on one line)."""
    return f"event: kpis\ndata: {json.dumps(document, separators=(',', ':'))}\n\n".encode()


class KpiFeed:
    """Runs a :class:`QueueKpis` for a board and tells its viewers what changed."""

    def __init__(self, kpis: QueueKpis, board: Board) -> None:
        self.kpis = kpis
        self.board = board
        #: The last ``event: kpis`` frame sent (None before the first): a new stream's first.
        self.frame: bytes | None = None
        self._sent: dict[str, Any] | None = None
        # (the read and the board's version it was worked out from, the document, its JSON)
        self._made: tuple[tuple[int, int], dict[str, Any], bytes | None] | None = None

    def document(self) -> dict[str, Any]:
        """The KPIs as JSON-ready values (see the module docstring), worked out once per
        read and per change of the board's agents: nothing in them depends on when they
        are asked for (the page ticks each wait from ``longest_wait_since``), so every
        screen polling ``/kpis`` meanwhile shares one. Not to be changed: it is shared."""
        return self._document()[1]

    def document_json(self, encode: Callable[[dict[str, Any]], bytes]) -> bytes:
        """:meth:`document` as ``encode`` writes it, encoded once per document."""
        key, document, encoded = self._document()
        if encoded is None:
            encoded = encode(document)
            self._made = (key, document, encoded)
        return encoded

    def _document(self) -> tuple[tuple[int, int], dict[str, Any], bytes | None]:
        key = (self.kpis.reads, self.board.version)
        made = self._made
        if made is None or made[0] != key:
            made = self._made = (key, self._work_out(), None)
        return made

    def _work_out(self) -> dict[str, Any]:
        kpis = self.kpis
        queues: list[dict[str, Any]] | None = None
        if kpis.queues is not None:
            since = kpis.waiting_since(
                (agent_id, str(agent.get("status", "")), agent.get("started_ts") or 0)
                for agent_id, agent in self.board.agents.items()
            )
            queues = [
                {
                    "queue_id": queue.queue_id,
                    "name": queue.name,
                    "calls": queue.calls,
                    "answered": queue.answered,
                    "abandoned": queue.abandoned,
                    "service_level": queue.service_level,
                    "longest_wait_since": since.get(queue.queue_id),
                }
                for queue in kpis.queues
            ]
        return {
            "cutoff": kpis.cutoff,
            "start_ts": kpis.start_ts,
            "read_ts": kpis.read_ts,
            "stale": kpis.stale,
            "error": kpis.error,
            "queues": queues,
        }

    def send(self) -> None:
        """Send the document to every viewer, if it changed (a new ``read_ts`` alone is
        no change: the figures are the same)."""
        document = self.document()
        compared = {key: value for key, value in document.items() if key != "read_ts"}
        if compared == self._sent:
            return
        self._sent = compared
        self.frame = kpis_frame(document)
        self.board.broadcast(self.frame)

    async def run(self) -> None:
        """Refresh the KPIs every ``every`` seconds and send what changes, until cancelled.

        One task refreshes; this one sends, woken by a refresh or a change on the
        board (several changes between two wake-ups make one look).
        """
        changed = anyio.Event()

        def poke() -> None:
            changed.set()

        self.board.on_change = poke
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self.kpis.run, poke)
                while True:
                    await changed.wait()
                    changed = anyio.Event()
                    self.send()
        finally:
            self.board.on_change = None
