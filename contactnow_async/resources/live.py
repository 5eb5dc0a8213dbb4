"""``ajax.php method=agents``: every agent's live status, paged until complete."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from .._models import LiveAgent, unix_seconds
from ._base import Resource, record_error

logger = logging.getLogger("contactnow_async")

#: Pages one snapshot reads at most unless told otherwise: a server that claims a
#: ``total`` of 10**9 and sends new agents on every page must not cost a poll
#: thousands of requests (100 pages of 500 rows are 50,000 agents).
DEFAULT_MAX_PAGES = 100


class LiveSnapshot(Mapping[str, LiveAgent]):
    """Every agent's live status at one poll, by agent id.

    Built lazily: the decoded rows are kept and a :class:`LiveAgent` is made the
    first time an agent is looked up, so a poll of 50,000 agents where three
    changed builds three models, not 50,000.

    ``complete`` is False when the snapshot came in pages that did not add up
    (the ``total`` changed between pages, or fewer distinct agents than
    ``total`` arrived): an agent missing from an incomplete snapshot may simply
    have been skipped by the paging, so the watcher does not call it gone.
    """

    __slots__ = ("_agents", "complete", "pages", "rows", "server_ts", "total")

    def __init__(
        self,
        rows: dict[str, Mapping[str, Any]],
        *,
        total: int | None = None,
        complete: bool = True,
        pages: int = 1,
    ) -> None:
        self.rows = rows
        self.total = len(rows) if total is None else total
        self.complete = complete
        self.pages = pages
        self._agents: dict[str, LiveAgent] = {}
        srvtime = 0
        for row in rows.values():
            # Unknown (0) when out of range: building that row's agent raises the record error.
            with contextlib.suppress(ValueError):
                srvtime = unix_seconds(row.get("srvtime"), "srvtime")
            break
        self.server_ts = srvtime

    def __getitem__(self, agent_id: str) -> LiveAgent:
        agent = self._agents.get(agent_id)
        if agent is None:
            record = self.rows[agent_id]
            try:
                agent = LiveAgent.from_record(record)
            except (TypeError, ValueError, OverflowError) as exc:
                raise record_error("live.agents", record, exc) from None
            self._agents[agent_id] = agent
        return agent

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self.rows

    def __repr__(self) -> str:
        state = "complete" if self.complete else "incomplete"
        return f"<LiveSnapshot {len(self.rows)} agents, {state}, {self.pages} page(s)>"


class Live(Resource):
    """Read the live status of agents (``ajax.php``)."""

    __slots__ = ()

    async def agents(
        self,
        *,
        include_offline: bool = False,
        agent: str | int | None = None,
        page_size: int | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> list[LiveAgent]:
        """Return the live status of every logged-in agent (and offline ones if asked)."""
        snapshot = await self.snapshot(
            include_offline=include_offline, agent=agent, page_size=page_size, max_pages=max_pages
        )
        return list(snapshot.values())

    async def snapshot(
        self,
        *,
        include_offline: bool = False,
        agent: str | int | None = None,
        page_size: int | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> LiveSnapshot:
        """Read every page until ``total`` agents are in hand; see :class:`LiveSnapshot`.

        ``page_size`` asks for pages of that many rows (``limit``/``start``);
        without it the server's own page size is followed, if it has one.
        ``max_pages`` bounds the requests: paging stops there, or at a page that
        adds no agent not seen already, and the snapshot is then incomplete.
        """
        if page_size is not None and page_size < 1:
            raise ValueError("page_size must be >= 1")
        if max_pages < 1:
            raise ValueError("max_pages must be >= 1")
        params: dict[str, Any] = {"mode": "all" if include_offline else None, "agent": agent}
        if page_size is not None:
            params["limit"] = page_size
            params["start"] = 0
        rows: dict[str, Mapping[str, Any]] = {}
        totals: set[int] = set()
        offset = 0
        pages = 0
        while True:
            envelope = await self._client.request(
                "ajax", method="agents", action="read", params=params
            )
            pages += 1
            known = len(rows)
            for record in envelope.records:
                # An agent seen on two pages (statuses moved the order) keeps the later row.
                rows[str(record.get("uid") or "")] = record
            if envelope.total is not None:
                totals.add(envelope.total)
            offset += len(envelope.records)
            total = envelope.total
            if total is None or offset >= total or not envelope.records:
                break
            if pages >= max_pages:
                logger.warning(
                    "ajax.php: stopped after max_pages=%d pages with %d of %d agents; "
                    "the snapshot is incomplete (raise max_pages for a centre this big)",
                    max_pages,
                    len(rows),
                    total,
                )
                break
            if len(rows) == known:
                # A page of agents already seen: the server ignores ``start`` (or
                # everything moved). Paging on would only repeat it; stop, incomplete.
                break
            params["start"] = offset
            params["limit"] = page_size or len(envelope.records)
        final_total = total if total is not None else len(rows)
        complete = len(totals) <= 1 and len(rows) >= final_total
        return LiveSnapshot(rows, total=final_total, complete=complete, pages=pages)
