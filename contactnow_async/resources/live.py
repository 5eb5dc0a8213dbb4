"""``ajax.php method=agents``: every agent's live status, paged until complete."""

from __future__ import annotations

import contextlib
import logging
import operator
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .._errors import ResponseFormatError
from .._models_live import LiveAgent, live_agents, live_agents_distinct
from .._values import as_text, missing, unix_seconds
from ._base import Resource, boolean, record_error, scalar

logger = logging.getLogger("contactnow_async")

#: Pages one snapshot reads at most unless told otherwise: a server that claims a
#: ``total`` of 10**9 and sends new agents on every page must not cost a poll
#: thousands of requests (100 pages of 500 rows are 50,000 agents).
DEFAULT_MAX_PAGES = 100


class LiveSnapshot(Mapping[str, LiveAgent]):
    """Every agent's live status at one poll, by agent id.

    Built lazily: the decoded rows are kept and a :class:`LiveAgent` is made the
    first time an agent is looked up, so a poll of 50,000 agents where three
    changed builds three models, not 50,000. A snapshot read in one page keeps
    that page's records as they came and keys them by agent id (:attr:`rows`)
    when first asked: a watcher's poll that finds the same agents in the same
    order as the last one compares the records in place and never needs the keys.

    ``complete`` is False when the snapshot came in pages that did not add up
    (the ``total`` changed between pages, or fewer distinct agents than
    ``total`` arrived): an agent missing from an incomplete snapshot may simply
    have been skipped by the paging, so the watcher does not call it gone.

    A row without its ``uid`` (missing, null, empty or blank) is no agent's: keying the
    rows (any lookup, ``len``, :meth:`agents`) raises the
    :class:`~contactnow_async.ResponseFormatError` naming ``uid``, as building a row
    no model can hold does; :meth:`Live.snapshot` raises it at once for a paged read.
    """

    __slots__ = ("_agents", "_complete", "_keyed", "_records", "_rows", "_server_ts", "_unique",
                 "pages", "total")  # fmt: skip

    def __init__(
        self,
        rows: dict[str, Mapping[str, Any]] | None = None,
        *,
        total: int | None = None,
        complete: bool = True,
        pages: int = 1,
        page: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """``rows`` by agent id; or ``page``, one page's records as they came (then
        ``total`` is the server's count, and the snapshot is complete when that many
        distinct agents came: the snapshot :meth:`Live.snapshot` makes of one page)."""
        self._rows = rows
        # The records in order: the page as it came, or rows' values (made when asked).
        self._records: tuple[Mapping[str, Any], ...] | None = None
        self._unique: bool | None = True  # whether _records hold one row per agent
        self._keyed = False  # whether _records are the page, each one's id its uid
        self._complete: bool | None = complete
        self.pages = pages
        self._agents: dict[str, LiveAgent] = {}
        self._server_ts: int | None = None
        if page is not None:
            self._records = tuple(page)
            self._unique = None  # not known until keyed
            self._keyed = True
            self._complete = None  # len(self) >= total, when asked
            if total is None:
                total = len(self.rows)
        elif rows is None:
            raise TypeError("LiveSnapshot takes rows or a page")
        elif total is None:
            total = len(rows)
        self.total = total

    @property
    def rows(self) -> dict[str, Mapping[str, Any]]:
        """The decoded rows by agent id, in the order the agents first came."""
        rows = self._rows
        if rows is None:
            rows = {}
            assert self._records is not None
            _key_by_uid(self._records, rows)
            self._rows = rows
            if self._unique is None:
                self._unique = len(rows) == len(self._records)
        return rows

    @property
    def complete(self) -> bool:
        """Whether every agent the server counted is here (see the class)."""
        if self._complete is None:
            self._complete = len(self) >= self.total
        return self._complete

    @property
    def server_ts(self) -> int:
        """The server's clock (``srvtime`` of the first row); 0 when unknown."""
        if self._server_ts is None:
            srvtime = 0
            for row in self.rows.values():
                # Unknown (0) when out of range: building that row's agent raises the record error.
                with contextlib.suppress(ValueError):
                    srvtime = unix_seconds(row.get("srvtime"), "srvtime")
                break
            self._server_ts = srvtime
        return self._server_ts

    def records(self) -> tuple[Mapping[str, Any], ...]:
        """The records as they came: the page's (an agent may be there twice, see
        :meth:`unique`), or :attr:`rows`' values."""
        if self._records is None:
            self._records = tuple(self.rows.values())
        return self._records

    def from_page(self) -> bool:
        """Whether :meth:`records` are the page as it came: each one's agent id is its
        ``uid``, where that is text (otherwise :attr:`rows`' keys are the ids)."""
        return self._keyed

    def unique(self) -> bool:
        """Whether :meth:`records` are one per agent, so in the order of :attr:`rows`
        (keys them to tell, unless known)."""
        if self._unique is None:
            self._unique = len(self.rows) == len(self.records())
        return self._unique

    def agent(self, agent_id: str, record: Mapping[str, Any]) -> LiveAgent:
        """The agent of ``record``, which must be this snapshot's row of ``agent_id``
        (``rows[agent_id]``, found without keying the page), made once."""
        agent = self._agents.get(agent_id)
        if agent is None:
            try:
                (agent,) = live_agents((record,))
            except (TypeError, ValueError, OverflowError) as exc:
                raise record_error("live.agents", record, exc) from None
            self._agents[agent_id] = agent
        return agent

    def agents_of(self, agent_ids: list[str], records: list[Mapping[str, Any]]) -> list[LiveAgent]:
        """The agents of ``records``, which must be this snapshot's rows of ``agent_ids``
        (as for :meth:`agent`), each made once, the missing ones in one pass; TypeError,
        ValueError or OverflowError (not the record error: :meth:`agent` names the row)
        for a row no model can hold."""
        made = self._agents
        missing = [index for index, agent_id in enumerate(agent_ids) if agent_id not in made]
        if missing:
            built = live_agents([records[index] for index in missing])
            made.update(zip([agent_ids[index] for index in missing], built, strict=True))
        return [made[agent_id] for agent_id in agent_ids]

    def __getitem__(self, agent_id: str) -> LiveAgent:
        agent = self._agents.get(agent_id)
        if agent is None:
            agent = self.agent(agent_id, self.rows[agent_id])
        return agent

    def agents(self) -> list[LiveAgent]:
        """Every agent as a model, in row order, built in one pass (none is kept).

        A page not keyed yet is built as it came, and kept when its agent ids are
        one per row (the usual page), without keying it first. A page with an agent
        twice is built again from :attr:`rows`, where each agent's later row won.
        """
        try:
            if self._rows is None and self._records is not None and self._unique is not False:
                agents, distinct = live_agents_distinct(self._records)
                if distinct:
                    self._unique = True  # the keys are the agent ids: one row per agent
                    return agents
            return live_agents(self.rows.values())
        except (TypeError, ValueError, OverflowError):
            return list(self.values())  # raises the record error, naming the row

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows)

    def __len__(self) -> int:
        if self._unique and self._records is not None:
            return len(self._records)
        return len(self.rows)

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self.rows

    def __repr__(self) -> str:
        try:
            state = "complete" if self.complete else "incomplete"
        except ResponseFormatError:  # a row without its uid: a repr says so, not raises
            return f"<LiveSnapshot with a row without its uid, {self.pages} page(s)>"
        return f"<LiveSnapshot {len(self)} agents, {state}, {self.pages} page(s)>"


_UID = operator.itemgetter("uid")
_JUST_TEXT = frozenset({str})


def check_pages(page_size: int | None, max_pages: int) -> None:
    """Refuse a ``page_size`` or ``max_pages`` that is not a whole number from 1."""
    for name, count in (("page_size", page_size), ("max_pages", max_pages)):
        if count is None:  # page_size: no paging
            continue
        # Not True sent as limit=1, nor 2.5 as limit=2.5; NaN compared as no bound.
        if isinstance(count, bool) or not isinstance(count, int):
            raise TypeError(f"{name} must be a whole number, not {count!r}")
        if count < 1:
            raise ValueError(f"{name} must be >= 1")


def _key_by_uid(records: Sequence[Mapping[str, Any]], rows: dict[str, Mapping[str, Any]]) -> None:
    """Add ``records`` to ``rows`` by agent id: the ``uid`` as its :class:`LiveAgent`'s
    ``agent_id`` reads it (text as it is, else its text:
    :func:`~contactnow_async._values.as_text`). A row without one (missing, null, empty
    or blank) is the record error naming ``uid``: no agent's row, and not an agent ``""``
    that every such row would be."""
    try:
        uids = list(map(_UID, records))
    except KeyError:
        uids = None
    if uids is not None and set(map(type, uids)) <= _JUST_TEXT and all(map(str.strip, uids)):
        rows.update(zip(uids, records, strict=True))  # the usual page: all text, keyed in C
        return
    for record in records:
        uid = as_text(record.get("uid"))
        if not uid.strip():
            raise record_error("live.agents", record, missing("uid"))
        rows[uid] = record


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
        return snapshot.agents()

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
        check_pages(page_size, max_pages)
        params: dict[str, Any] = {
            "mode": "all" if boolean(include_offline, name="include_offline") else None,
            "agent": scalar(agent, name="agent"),
        }
        if page_size is not None:
            params["limit"] = page_size
            params["start"] = 0
        rows: dict[str, Mapping[str, Any]] = {}
        totals: set[int] = set()
        offset = 0
        pages = 0
        last: Mapping[str, Any] | None = None  # the previous page's last row, asked again
        overlap = True  # until the server shows that its pages hold one row at most
        shifted = False
        limit = 0  # the longest page the server has sent
        while True:
            envelope = await self._client.request(
                "ajax", method="agents", action="read", params=params
            )
            pages += 1
            total = envelope.total
            records = envelope.records
            if pages == 1 and total is not None and len(records) >= max(total, 1):
                # Every agent in one page (the usual poll): keyed by uid when first needed.
                return LiveSnapshot(page=records, total=total)
            known = len(rows)
            # An agent seen on two pages (statuses moved the order) keeps the later row.
            _key_by_uid(records, rows)
            if envelope.total is not None:
                totals.add(envelope.total)
            if last is not None:
                # This page starts one row back: the previous page's last agent again,
                # unless the list moved between the pages (an agent before the boundary
                # left or came), and then an agent may have slid past unread though the
                # pages still add up to ``total``.
                shifted = shifted or not records or records[0].get("uid") != last.get("uid")
                offset -= 1
            offset += len(records)
            if total is None or offset >= total or not records:
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
            if last is not None and len(records) == 1:
                # Asked for the last row and one more, it sent one row: pages of one row
                # at most, where an overlap makes no progress. Read on without it (the
                # count alone says whether the pages added up).
                overlap = False
            elif len(rows) == known:
                # A page of agents already seen: the server ignores ``start`` (or
                # everything moved). Paging on would only repeat it; stop, incomplete.
                break
            # The longest page yet, not this one: one page cut short made every page
            # after it one row longer than the last (3, 4, 5, ... rows).
            limit = page_size or max(limit, len(records))
            # Overlap the next page by one row, pages of one row too (page_size=1).
            last = records[-1] if overlap else None
            params["start"] = offset - 1 if last is not None else offset
            params["limit"] = limit + 1 if last is not None else limit
        # A later page without ``total`` still owes the count an earlier page gave: the
        # rows read so far were taken for the whole centre (complete), the rest gone.
        final_total = total if total is not None else max(totals, default=len(rows))
        complete = not shifted and len(totals) <= 1 and len(rows) >= final_total
        return LiveSnapshot(rows, total=final_total, complete=complete, pages=pages)
