"""The Redis Stream that ``contactnow relay`` writes, as a wallboard's source.

Every web replica reads the whole stream (``XREAD``, no consumer group: each
replica needs every event) with one task, and fans it out to its own browsers.
The SSE id is the stream entry id, the same on every replica, so a browser that
reconnects to another replica resumes where it was.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, TypeVar

import anyio
import anyio.abc
from redis.asyncio import Redis
from redis.exceptions import RedisError

from .. import events
from .._clock import Clock, SystemClock
from ..redis import event_from_fields, refusal
from ..redis._keys import check_count, check_url
from ..redis._replies import Fields, read_entries, stream_entries, text, undecoded
from ._board import Board, Entry, Resume, Viewer
from ._sources import iso, sse_frame

logger = logging.getLogger("contactnow_async.web")
#: The error logged when a refusal stops the source for good; ``contactnow serve``, refused
#: at its first read, says it in its own error line instead (and filters this one out).
SOURCE_STOPPED = "stopped reading %r for good: %s"

_ENTRY_ID = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")
StreamKey = tuple[int, int]
_T = TypeVar("_T")


class _Stopped(Exception):
    """Redis refused the source's password or ACL user: it has stopped the board."""


class RedisStreamSource:
    """The events ``contactnow relay`` appends to ``stream``, read by one task per replica.

    ``redis`` is a URL (the source opens and closes its own client; one that does not
    parse is a ValueError that quotes no piece of it) or a ``redis.asyncio.Redis`` (yours
    to close; one made with ``decode_responses`` is read through a client of the source's
    own that does not decode, closed with it, so that an entry whose bytes are not UTF-8
    is skipped rather than failing every read). On start the source reads the whole
    retained stream to know every agent's last state (an agent with no event in
    the stream is not on the board until its next change), then follows it with
    ``XREAD`` (``block`` seconds per read, ``batch`` entries at most). A
    browser's resume older than the board's window is served from the stream
    itself while Redis still holds everything after it. If entries after the
    source's position were trimmed before it read them, it reads the stream
    again as at start and resets every browser (``expired``).

    Health: Redis reads succeed, and a relay holds the lease ``<stream>:lease``
    (someone is polling ContactNow). A read that has not come back for
    ``stalled_after`` seconds (``block`` + 10 unless given: a Redis that stopped
    answering, a network that drops packets) counts as failing too, and is given up and
    tried again (a URL's client also gets it as its socket timeout, unless the URL sets
    one; your client's timeouts are yours, and its ``socket_timeout`` must exceed
    ``block``).

    A refused password or ACL user (redis-py's AuthenticationError or
    NoPermissionError), or a ``rediss://`` certificate not trusted (a ConnectionError
    saying so), kept in :attr:`refusal`, is no outage: the source stops for
    good, and the board with it (as for a watcher's refused password). asyncio only,
    as redis-py's asyncio API is.
    """

    kind = "redis"

    def __init__(
        self,
        redis: str | Redis,
        stream: str = "contactnow:agents",
        *,
        block: float = 1.0,
        batch: int = 1000,
        retry: float = 1.0,
        stalled_after: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        check_count(batch, "batch")  # XRANGE's COUNT: 2.5 or NaN failed every read, for ever
        if isinstance(redis, str):  # here, not in the lifespan, whose traceback a server prints
            check_url(redis)
        if not 0 <= block < math.inf:  # NaN fails too
            raise ValueError(f"block must be finite seconds >= 0, got {block!r}")
        if not 0 < retry < math.inf:
            raise ValueError(f"retry must be positive seconds, got {retry!r}")
        if stalled_after is None:
            stalled_after = block + 10.0
        if not block < stalled_after < math.inf:  # a quiet read would count as failing
            raise ValueError(
                f"stalled_after must be finite seconds longer than block, got {stalled_after!r}"
            )
        self.redis = redis
        self.stream = stream
        self.lease_key = f"{stream}:lease"
        self.block = block
        self.batch = batch
        self.retry = retry
        self.stalled_after = stalled_after
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._client: Redis | None = None
        self._consecutive_failures = 0
        self._last_success: datetime | None = None
        self._last_reply = 0.0  # time.monotonic() of the last read that came back
        self._last_error: str | None = None
        self._relay_leading = False
        self._lease_checked = 0.0
        #: What stopped the source for good: Redis refused its password or ACL user.
        self.refusal: RedisError | None = None

    @staticmethod
    def parse_id(text: str) -> StreamKey | None:
        """A stream entry id ``<ms>-<seq>`` as ``(ms, seq)``, or None."""
        match = _ENTRY_ID.fullmatch(text)
        return None if match is None else (int(match.group(1)), int(match.group(2)))

    def _entry(self, entry_id: str, fields: Fields) -> tuple[Entry, dict[str, Any]] | None:
        """A stream entry as a board entry and its event document (None: not the relay's)."""
        key = self.parse_id(entry_id)
        try:
            event = event_from_fields(fields)
        except (ValueError, KeyError, TypeError) as exc:
            logger.warning("skipping stream entry %s of %r: %s", entry_id, self.stream, exc)
            return None
        if key is None:  # pragma: no cover -- Redis makes every entry id
            return None
        document = events.to_dict(event)
        # Encoded again rather than passed on: the frame is known to be one line.
        frame = sse_frame(events.to_json(event), entry_id)
        return Entry(key, entry_id, event.agent_id, frame), document

    def _decode(
        self, entries: Sequence[tuple[str, Fields | None]]
    ) -> list[tuple[Entry, dict[str, Any]]]:
        decoded = []
        for entry_id, fields in entries:
            if fields is None:  # trimmed away between reads
                continue
            one = self._entry(entry_id, fields)
            if one is not None:
                decoded.append(one)
        return decoded

    async def _range(
        self, client: Redis, start: str, end: str = "+", *, count: int | None = None
    ) -> tuple[list[tuple[Entry, dict[str, Any]]], str | None, bool]:
        """Up to ``count`` (default ``batch``) entries from ``start`` to ``end``, the id of
        the last one read (None: none), and whether there may be more. Entries the relay
        did not write are skipped (and logged), but counted as read."""
        count = self.batch if count is None else count
        entries = stream_entries(
            await self._answered(client.xrange(self.stream, min=start, max=end, count=count))
        )
        last = entries[-1][0] if entries else None
        return self._decode(entries), last, len(entries) >= count

    async def run(self, board: Board, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        """Fold the retained stream into the board, then follow it until cancelled.

        Started once the first read is done, good or not: while Redis is away the
        wallboard is up with an unseeded board (503s; ``/healthz`` says why), rather
        than holding up, and so keeping from stopping, the server that runs it.
        """
        own = True
        if isinstance(self.redis, str):
            # redis-py 8's own 5 s would end every read that blocks longer.
            timeout = self.stalled_after
            client = Redis.from_url(
                self.redis, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        else:
            # A decoding client fails a whole reply on one entry that is not UTF-8: the
            # source reads with a client of its own that does not decode (see _replies).
            undecoding = undecoded(self.redis)
            own = undecoding is not None
            client = self.redis if undecoding is None else undecoding
        self._client = client
        self.refusal = None
        try:
            last = await self._seed(client, board, task_status)
            await self._follow(client, board, last)
        except _Stopped:
            pass  # the board is stopped, and health() says why
        finally:
            self._client = None
            if own:
                with anyio.CancelScope(shield=True):
                    await client.aclose(close_connection_pool=True)

    async def _seed(
        self, client: Redis, board: Board, task_status: anyio.abc.TaskStatus[None]
    ) -> str:
        """Read the whole stream into the board (retrying while Redis is away); the last id.

        ``task_status`` is told after the first try, whether it seeded the board or failed.
        """
        started = False
        while True:
            try:
                agents: dict[str, dict[str, Any]] = {}
                retained: deque[Entry] = deque(maxlen=board.retain)
                start, last, more = "-", "0-0", True
                while more:
                    batch, read, more = await self._range(client, start)
                    for entry, document in batch:
                        if document["after"] is None:
                            agents.pop(entry.agent_id, None)
                        else:
                            agents[entry.agent_id] = document["after"]
                        retained.append(entry)
                    if read is not None:
                        start = f"({read}"
                        last = read
                await self._check_lease(client, force=True)
                self._succeeded()
            except (RedisError, OSError) as exc:  # TimeoutError is an OSError
                if not started:  # before _failed(), which may end the source
                    started = True
                    task_status.started()
                self._failed(exc, board)
                await anyio.sleep(self.retry)
                continue
            # The cursor is the last entry read, one the relay wrote or not ("0-0": none).
            board.seed(agents, cursor=last, entries=retained)
            if not started:
                task_status.started()
            return last

    async def _answered(self, read: Awaitable[_T]) -> _T:
        """``read``'s reply; TimeoutError if none came within ``stalled_after`` seconds.

        A stopped Redis (or a network that drops packets) raises nothing: the read never
        came back, and the replica never read again (while seeding, the lifespan never
        started).
        """
        with anyio.move_on_after(self.stalled_after):
            return await read
        raise TimeoutError(f"no reply from Redis for {self.stalled_after:g} s")

    async def _follow(self, client: Redis, board: Board, last: str) -> None:
        while True:
            try:
                block = max(1, int(self.block * 1000))
                entries = read_entries(
                    await self._answered(
                        client.xread({self.stream: last}, count=self.batch, block=block)
                    )
                )
                if entries and not await self._read_all_after(client, last):
                    last = await self._reseed(client, board, last)
                elif entries:
                    for entry, document in self._decode(entries):
                        board.publish(entry, entry.agent_id, document["after"])
                    last = entries[-1][0]
                await self._check_lease(client)
                self._succeeded()
            except (RedisError, OSError) as exc:  # noqa: PERF203 -- one try per read, not per entry
                self._failed(exc, board)
                await anyio.sleep(self.retry)

    async def _read_all_after(self, client: Redis, last: str) -> bool:
        """Whether a read after ``last`` just done saw every entry after it: none was
        trimmed (or deleted) before it was read. Asked after the read, as Redis only
        ever removes more."""
        key = self.parse_id(last)
        if key is None:  # pragma: no cover -- an id Redis gave
            return False
        info: Any = await self._answered(client.xinfo_stream(self.stream))
        return self._complete_after(key, info)

    async def _reseed(self, client: Redis, board: Board, last: str) -> str:
        """Entries after ``last`` were removed before this replica read them (it fell
        behind the relay's MAXLEN): read the stream again, as at start, and reset every
        browser, which refetches the snapshot. The new last id."""
        logger.warning(
            "entries of %r after %s were trimmed before this replica read them: "
            "reading the stream again, and every browser refetches the snapshot",
            self.stream,
            last,
        )
        last = await self._seed(client, board, anyio.TASK_STATUS_IGNORED)
        board.reset("expired")
        return last

    async def _check_lease(self, client: Redis, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._lease_checked >= self.block:
            self._lease_checked = now
            self._relay_leading = bool(await self._answered(client.exists(self.lease_key)))

    def _succeeded(self) -> None:
        self._consecutive_failures = 0
        self._last_success = datetime.now(timezone.utc)
        self._last_reply = time.monotonic()

    def _failed(self, exc: Exception, board: Board) -> None:
        """Count a failed read; for a refusal, stop the board and raise _Stopped."""
        self._consecutive_failures += 1
        refused = refusal(exc)
        if refused is not None:  # no outage: retrying won't mend it
            self.refusal = refused
            self._last_error = f"{type(refused).__name__}: {refused}"
            logger.error(SOURCE_STOPPED, self.stream, self._last_error)
            board.stop()
            raise _Stopped from None
        self._last_error = f"{type(exc).__name__}: {exc}"
        logger.warning(
            "reading %r failed (%d in a row): %s",
            self.stream,
            self._consecutive_failures,
            self._last_error,
        )

    async def resolve(self, board: Board, viewer: Viewer, resume: Resume) -> None:
        """An id older than the window: read what follows it from the stream, if
        Redis still has all of it. An id newer than this replica has read: fine if
        the stream has it (the board drops events up to it)."""
        client = self._client
        where, key, upto = resume
        if client is None:
            viewer.fail("unknown")
            return
        try:
            if where == "after":
                tail = stream_entries(await self._answered(client.xrevrange(self.stream, count=1)))
                newest = self.parse_id(tail[0][0]) if tail else None
                if newest is None or key > newest:
                    viewer.fail("unknown")
                return
            await self._backfill(client, board, viewer, key, upto)
        except (RedisError, OSError) as exc:  # cannot tell: the browser starts over
            logger.warning("resuming from the stream %r failed: %s", self.stream, exc)
            viewer.fail("expired")

    async def _backfill(
        self, client: Redis, board: Board, viewer: Viewer, key: StreamKey, upto: str | None
    ) -> None:
        """Put the entries after ``key`` up to ``upto`` (where the viewer's live events
        begin) before the viewer's buffer, or reset it if Redis lost some of them."""
        end = upto
        upto_key = None if upto is None else self.parse_id(upto)
        if end is None or upto_key is None:  # pragma: no cover -- a started board has a cursor
            viewer.fail("expired")
            return
        # The board's window up to ``upto`` ends the backlog (the id is older than all of
        # it): its frames, shared, not read again. Only what comes before it is read, and
        # only while it fits: decoding up to ``buffer`` + ``batch`` entries for each browser
        # too far behind, just to reset it, cost every such browser that much memory at once.
        window = [entry for entry in board.entries if entry.key <= upto_key]
        if window:
            end = f"({window[0].id}"
        backlog: list[Entry] = []
        start, more = f"({key[0]}-{key[1]}", True
        while more:
            room = board.buffer - len(window) - len(backlog)
            if room < 0:
                viewer.fail("expired")  # more than a browser may hold: the snapshot is cheaper
                return
            # A hundred past the room: entries the relay did not write take none of it.
            batch, read, more = await self._range(
                client, start, end, count=min(self.batch, room + 100)
            )
            start = f"({read}"
            backlog.extend(entry for entry, _ in batch)
        if len(window) + len(backlog) > board.buffer:
            viewer.fail("expired")
            return
        # Checked after reading: Redis only ever removes more, so if every entry after
        # the id is there now, the reads above saw them all.
        info: Any = await self._answered(client.xinfo_stream(self.stream))
        if not self._complete_after(key, info):
            viewer.fail("expired")
            return
        board.prepend(viewer, backlog + window)

    def _complete_after(self, key: StreamKey, info: Mapping[str, Any]) -> bool:
        """Whether Redis still holds every entry after ``key`` (from ``XINFO STREAM``).

        Trimming removes the oldest entries and XDEL any entry: if nothing was ever
        removed (Redis 7 counts what was added), every entry is there; otherwise only
        a resume from the first entry on, with nothing deleted after it, is whole.
        """
        deleted = self.parse_id(text(info.get("max-deleted-entry-id") or b"0-0"))
        if deleted is not None and key < deleted:
            return False
        added = info.get("entries-added")
        if added is not None and int(added) == int(info.get("length", -1)):
            return True
        first = info.get("first-entry")
        first_key = self.parse_id(text(first[0])) if first else None
        return first_key is not None and key >= first_key

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Redis reads succeed (and come back), and a relay leads (holds ``<stream>:lease``)."""
        waited = time.monotonic() - self._last_reply
        stalled = (
            self._last_success is not None
            and self._consecutive_failures == 0  # failing reads say why themselves
            and waited > self.stalled_after
        )
        healthy = (
            self._last_success is not None
            and self._consecutive_failures == 0
            and self._relay_leading
            and not stalled
        )
        error = f"no reply from Redis for {waited:.0f} s" if stalled else self._last_error
        return healthy, {
            "stream": self.stream,
            "relay_leading": self._relay_leading,
            "consecutive_failures": self._consecutive_failures,
            "last_success_at": iso(self._last_success),
            "last_error": error,
        }
