"""The pages of one ``reports.cdr`` read: paging to the window's ``total``, a call yielded
once however often listed, passes from the top for calls that landed ahead of the read, and
the replies of servers that do not page refused."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

from .._errors import ResponseFormatError
from .._models_reports import CdrRow
from .._wire import Envelope
from ._base import build


class CdrPages:
    """The pages of one ``cdr`` read, fetched as iteration needs them (a class, not an async
    generator: one left half-read holds nothing to finalise).

    A first pass pages from ``start=0`` to the window's end. Calls that land ahead of the
    offset while it reads (a window still filling, sorted newest first or by another
    field) push rows of the page before onto the next, and are themselves passed over:
    when the last page's ``total`` says more calls than were read, catch-up passes page
    from the top again for the calls not read yet, ending as soon as the window is whole.
    """

    def __init__(
        self,
        fetch: Callable[[dict[str, Any]], Awaitable[Envelope]],
        params: dict[str, Any],
        page_size: int,
    ) -> None:
        self._fetch_page = fetch
        self._params = params
        self._page_size = page_size
        self._offset = 0
        self._rows: deque[CdrRow] = deque()
        self._seen: frozenset[str] = frozenset()  # the call ids of the page before
        self._read: set[str] = set()  # the call ids of every row yielded
        self._window: int | None = None  # the rows in the window, as the page before said
        # Each page read so far, by the hash of its call ids in order: (its start, the window).
        self._pages: dict[int, tuple[int, int | None]] = {}
        self._pass = 0  # 0 for the first pass, then the catch-up pass's number
        self._found = 0  # calls the current catch-up pass found not read before
        self._limit: int | None = None  # the offset past which this pass gives up
        self._done = False
        #: The ``total`` the last page said (None before the first, or when it said none).
        self.total: int | None = None

    def __aiter__(self) -> CdrPages:
        return self

    async def __anext__(self) -> CdrRow:
        while not self._rows:
            if self._done and not self._catch_up():
                raise StopAsyncIteration
            if self._pass:
                await self._fetch_again()
            else:
                await self._fetch()
        return self._rows.popleft()

    def _missing(self) -> int:
        """How many calls of the window, by the last page's ``total``, are not read yet."""
        return 0 if self._window is None else self._window - len(self._read)

    def _catch_up(self) -> bool:
        """Start a catch-up pass from the top if calls landed ahead of the read; raise when
        passes keep finding the window grown ahead of them."""
        if self._missing() <= 0 or (self._pass and not self._found):
            # Whole; or a whole pass found no call not read before: the total counts rows
            # that repeat a call id, and there is nothing more to read.
            return False
        if self._pass >= _CATCH_UP_PASSES:
            self._outrun(f"{self._pass} passes from the top")
        self._pass += 1
        self._found = 0
        self._limit = None  # set by the pass's first page (see _advance)
        self._offset = 0
        self._done = False
        return True

    async def _fetch(self) -> None:
        offset = self._offset
        page, window = await self._read_page(offset)
        repeats = sum(row.call_id in self._seen for row in page)
        if repeats:
            before = self._window
            grew = None if window is None or before is None else max(window - before, 0)
            # New calls sorted ahead of the offset push as many rows of the page before
            # onto this one; more repeats than that (or, the growth unknown, half the page
            # or more) is a server answering from the top whatever the start.
            if repeats > (grew if grew is not None else (len(page) - 1) // 2):
                raise ResponseFormatError(
                    f"reports.cdr: the page at start={offset} repeats {repeats} of its "
                    f"{len(page)} rows from the page before, more than new calls explain "
                    "(the server does not page); read a narrower window, or with a "
                    "page_size above its calls"
                )
        if page:
            self._check_not_read_before(page, offset, window)
        self._advance(page, window)
        self._seen = frozenset(row.call_id for row in page)

    async def _fetch_again(self) -> None:
        """A page of a catch-up pass: its rows not read before, until the window is whole."""
        page, window = await self._read_page(self._offset)
        self._advance(page, window)
        self._found += len(self._rows)
        if self._missing() <= 0:
            self._done = True

    async def _read_page(self, offset: int) -> tuple[list[CdrRow], int | None]:
        params = {**self._params, "limit": self._page_size, "start": offset}
        envelope = await self._fetch_page(params)
        page = build(CdrRow.from_record, envelope, what="reports.cdr", total_is_rows=False)
        total = envelope.total
        if total is not None and total < 0:
            raise ResponseFormatError(
                f"reports.cdr: the page at start={offset} says total {total}, not a count of rows"
            )
        self.total = total
        # A total that is just the page's own row count says nothing of the window; nor
        # does one below the rows read by this page's end (no window is shorter than what
        # was read of it): ending there dropped the rest of a window without a word.
        if total is None or total == len(page) or total < offset + len(page):
            return page, None
        return page, total

    def _advance(self, page: list[CdrRow], window: int | None) -> None:
        """Move past ``page``: queue its rows not read before, and tell whether the pass
        has reached the window's end."""
        offset = self._offset
        self._offset += len(page)
        if window is None:  # a page silent on the window: the page before may have said
            # (a server may count it for the first page alone); a short page ended the read.
            window = self._window
        if window is not None and not page and self._offset < window:
            raise ResponseFormatError(
                f"reports.cdr: an empty page at start={offset} with {self._offset} of "
                f"{window} rows read (the reply's total); the window is not fully read"
            )
        if window is None:
            self._done = len(page) < self._page_size
        else:
            self._done = self._offset >= window
            if self._limit is None:  # twice the window as the pass found it, and a page
                self._limit = 2 * window + self._page_size
            elif not self._done and self._offset > self._limit:
                self._outrun(f"paging to start={self._offset}")
        self._window = window
        read, fresh = self._read, deque[CdrRow]()
        for row in page:  # a call listed twice, on this page or any before, is yielded once
            if row.call_id not in read:
                read.add(row.call_id)
                fresh.append(row)
        self._rows = fresh

    def _outrun(self, after: str) -> NoReturn:
        raise ResponseFormatError(
            f"reports.cdr: the window grows faster than it is read: {len(self._read)} of "
            f"its {self._window} calls read after {after}; read a window that has ended"
        )

    def _check_not_read_before(self, page: list[CdrRow], offset: int, window: int | None) -> None:
        """Raise for a page listing the same calls as an earlier one, in the same order,
        unless the window grew by the rows between them (new calls sorted ahead): a server
        cycling through its pages (A, B, A) would otherwise be read for ever."""
        key = hash(tuple(row.call_id for row in page))
        earlier = self._pages.get(key)
        if earlier is not None:
            at, then = earlier
            if window is None or then is None or window - then < offset - at:
                raise ResponseFormatError(
                    f"reports.cdr: the page at start={offset} lists the same calls as the "
                    f"page at start={at}, more than new calls explain (the server does not "
                    "page); read a narrower window, or with a page_size above its calls"
                )
        self._pages[key] = (offset, window)


#: Catch-up passes a ``cdr`` read makes from the top for calls that landed ahead of it
#: before it gives up on a window growing faster than it is read.
_CATCH_UP_PASSES = 3
