"""Reading the relay's stream with a consumer group: at-least-once, deduplicated."""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio
import attrs
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from ..watch import AgentEvent
from ._fields import event_from_fields, fence_from_fields
from ._keys import check_count
from ._refusal import refusal
from ._replies import Fields, entry_key, read_entries, stream_entries, text, undecoded
from ._scripts import create_group

__all__ = ["StreamEntry", "StreamReader"]

logger = logging.getLogger("contactnow_async.redis")

_T = TypeVar("_T")


@attrs.frozen
class StreamEntry:
    """One event read from the stream: acknowledge it once it is handled.

    ``claimed`` is True when the entry was taken over from another consumer
    that read it and never acknowledged it (it may have handled it already).
    """

    id: str
    event: AgentEvent
    fence: int | None = None
    claimed: bool = False


class StreamReader:
    """One consumer of a consumer group on the relay's stream.

    ::

        async with StreamReader(redis, "contactnow:agents", group="alerts", consumer="w1") as r:
            await r.create_group()
            async for entry in r:
                await handle(entry.event)
                await r.ack(entry)

    Delivery is at least once: an entry is handed out again until acknowledged,
    after a restart (this consumer's own pending entries come first) or to
    another consumer of the group once it has been pending ``claim_idle``
    seconds (``XAUTOCLAIM``: its consumer is taken for dead). So handle events
    idempotently, by ``event.log_id``. The reader itself drops (and
    acknowledges) a second entry of a ``log_id`` it has already returned in
    another entry, among the last ``remember`` uids; the entry it returned
    comes back until it is acknowledged (a claim or a restart hands it out
    again), so dropping the copy loses nothing.

    ``count`` is the most entries one read returns, ``block`` how long (seconds)
    a read waits for new entries. An entry the relay did not write is logged,
    acknowledged and skipped (bytes that are not UTF-8 too: with a ``decode_responses``
    client, the reader sends its commands on a client of its own that does not decode,
    made from ``redis``'s connection settings; :meth:`aclose`, or ``async with``, closes
    it). A Redis command that has not come back after
    ``stalled_after`` seconds (``block`` + 10 unless given: a Redis that stopped
    answering, a network that drops packets) is given up, raising TimeoutError; the
    client's own timeouts are yours (its ``socket_timeout`` must exceed ``block``).

    Iterating rides out Redis errors as the relay does: a lost connection (or a
    Redis still loading) is logged and retried every ``retry`` seconds, and a
    group gone missing (NOGROUP: Redis restarted without its data) is created
    again from the ``start`` of the last :meth:`create_group` ("0" if none). A
    refused password, and any other error reply, end the iteration. :meth:`read`,
    :meth:`claim` and :meth:`ack` raise every error: a caller of them retries (a read
    after a failed read or claim replays this consumer's pending entries first). A loop
    that ends mid-batch (its handler raised, a ``break``) leaves the rest of the batch
    to the next ``async for`` on this reader.

    Entries the stream's ``MAXLEN`` trimmed before the group read them, or while
    they were pending (handed out, not acknowledged: perhaps never handled), are
    lost to the group: the reader logs each loss at WARNING, with the count and
    the ids, and counts them in ``entries_lost``. (Entries trimmed unread are
    told by Redis 7's group lag, and those a claim finds trimmed by its reply;
    an older Redis tells neither.)
    """

    def __init__(
        self,
        redis: Redis,
        stream: str,
        *,
        group: str,
        consumer: str,
        count: int = 100,
        block: float = 1.0,
        claim_idle: float | None = 30.0,
        remember: int = 100_000,
        retry: float = 1.0,
        stalled_after: float | None = None,
    ) -> None:
        check_count(count, "count")
        check_count(remember, "remember", minimum=0)
        if not 0 <= block < math.inf:  # NaN fails too
            raise ValueError(f"block must be finite seconds >= 0, got {block!r}")
        if claim_idle is not None and not 0 <= claim_idle < math.inf:
            # NaN would never come due: a dead consumer's entries would stay pending.
            raise ValueError(
                f"claim_idle must be finite seconds >= 0 (None: never claim), got {claim_idle!r}"
            )
        if not 0 < retry < math.inf:
            raise ValueError(f"retry must be positive seconds, got {retry!r}")
        if stalled_after is None:
            stalled_after = block + 10.0
        if not block < stalled_after < math.inf:  # a quiet blocking read would fail
            raise ValueError(
                f"stalled_after must be finite seconds longer than block, got {stalled_after!r}"
            )
        self.redis = redis
        # Bytes a decoding client would fail on (the whole reply) are skipped entry by entry.
        self._own = undecoded(redis)
        self._redis = redis if self._own is None else self._own
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.count = count
        self.block = block
        self.claim_idle = claim_idle
        self.remember = remember
        self.retry = retry
        self.stalled_after = stalled_after
        self._start = "0"  # where create_group() began the group: where a lost one begins again
        # The entry each recent uid was handed out in (its copies in other entries are dropped).
        self._seen: OrderedDict[int, str] = OrderedDict()
        self._own_pending = True  # the first reads replay this consumer's unacknowledged entries
        self._own_from = "0"
        self._claim_from = "0-0"
        self._next_claim = 0.0
        # Entries read for `async for` and not handed out yet: kept here, not in the
        # generator, so a loop that ended mid-batch (its handler raised) is followed by
        # the rest of the batch in the next one, not by newer entries.
        self._unhanded: deque[StreamEntry] = deque()
        #: Entries lost to trimming, as this reader found them (see the class docstring).
        self.entries_lost = 0
        # What the group's lag counts that is gone from after its position (None: not known
        # yet, taken as none): Redis 7.0 goes on counting entries trimmed unread.
        self._phantom: int | None = None
        self._unsure = False  # a reply lost since: what the group's lag counted anew is lost

    async def create_group(self, *, start: str = "0") -> None:
        """Create the group (and the stream) if missing.

        ``start`` is where a new group begins: "0" the oldest entry, "$" new entries only.
        """
        self._start = start
        try:
            await self._answered(create_group(self._redis, self.stream, self.group, start))
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        else:
            self._phantom = None  # a new group: its lag counts nothing of the old one's

    async def read(self) -> list[StreamEntry]:
        """The next entries for this consumer: its own unacknowledged ones first,
        then entries claimed from dead consumers, then new ones (waiting up to ``block``).

        Raising (or cancelled), it may have had entries handed to this consumer that it
        did not return: the next read replays this consumer's pending entries first.
        """
        with self._replay_on_failure():
            return await self._read()

    async def _read(self) -> list[StreamEntry]:
        while self._own_pending:
            raw = await self._answered(
                self._redis.xreadgroup(
                    self.group, self.consumer, {self.stream: self._own_from}, count=self.count
                )
            )
            entries = read_entries(raw)
            if not entries:
                self._own_pending = False
                break
            self._own_from = entries[-1][0]
            fresh = await self._decode(entries, claimed=False)
            if fresh:
                return fresh
        if self.claim_idle is not None and time.monotonic() >= self._next_claim:
            claimed = await self.claim()
            if claimed:
                return claimed
        new, position = await self._read_new()
        if new is not None:
            return new
        block = max(1, int(self.block * 1000))
        if position is None:  # where the group stands is unknown: wait in the read itself
            raw = await self._answered(
                self._redis.xreadgroup(
                    self.group, self.consumer, {self.stream: ">"}, count=self.count, block=block
                )
            )
            return await self._decode(read_entries(raw), claimed=False)
        # Wait for an entry after the group's position, then read as above. A group read
        # that waits is answered once the relay's script has appended its whole batch and
        # trimmed the stream: it went on from the oldest entry left, without a word about
        # the entries trimmed before it.
        if await self._answered(self._redis.xread({self.stream: position}, count=1, block=block)):
            new, _ = await self._read_new()
            return new or []
        return []

    async def _read_new(self) -> tuple[list[StreamEntry] | None, str | None]:
        """New entries for this consumer (None: there were none), else the group's position
        (None: unknown). Read in one transaction with where the group stood and what the
        stream held, so entries trimmed before the group read them are counted."""
        async with self._redis.pipeline(transaction=True) as pipe:  # inside it, nothing waits
            pipe.xinfo_groups(self.stream)
            pipe.xinfo_stream(self.stream)
            pipe.xreadgroup(self.group, self.consumer, {self.stream: ">"}, count=self.count)
            pipe.xinfo_groups(self.stream)
            groups, info, raw, after = await self._answered(pipe.execute(raise_on_error=False))
        if isinstance(raw, Exception):
            raise raw
        entries = read_entries(raw)
        if entries:
            self._count_unread(groups, info, after, read=len(entries))
            return await self._decode(entries, claimed=False), None
        ours = self._ours(groups) or {}
        lag, position = ours.get("lag"), ours.get("last-delivered-id")
        if self._unsure and lag is not None and self._phantom is not None:
            # A read whose reply was lost went on past trimmed entries: its retry replays
            # what it was handed, and the group's position is past them.
            self._unread(int(lag) - self._phantom, "(past them in a read whose reply was lost)")
        self._unsure = False
        self._phantom = None if lag is None else int(lag)  # caught up: none of it is there
        return None, None if position is None else text(position)

    async def claim(self) -> list[StreamEntry]:
        """Take over entries pending longer than ``claim_idle`` seconds on other consumers."""
        with self._replay_on_failure():
            return await self._claim()

    async def _claim(self) -> list[StreamEntry]:
        idle = self.claim_idle if self.claim_idle is not None else 0.0
        self._next_claim = time.monotonic() + max(idle / 2, 0.01)
        result = await self._answered(
            self._redis.xautoclaim(
                self.stream,
                self.group,
                self.consumer,
                min_idle_time=int(idle * 1000),
                start_id=self._claim_from,
                count=self.count,
            )
        )
        next_start = text(result[0])
        # "0-0": the scan went through the whole pending list; start again next time.
        self._claim_from = next_start
        if next_start != "0-0":
            self._next_claim = 0.0
        # Redis 7 names the entries deleted while pending (and drops them from the pending
        # list); Redis before 7.0 answers nil (no id) for them, which tells nothing.
        if len(result) > 2 and result[2]:
            self._lost([text(entry_id) for entry_id in result[2]], "while pending")
        return await self._decode(stream_entries(result[1]), claimed=True)

    async def ack(self, *entries: StreamEntry | str) -> None:
        """Acknowledge entries (or entry ids): the group will not hand them out again."""
        ids = [entry.id if isinstance(entry, StreamEntry) else entry for entry in entries]
        if ids:
            await self._answered(self._redis.xack(self.stream, self.group, *ids))

    @contextmanager
    def _replay_on_failure(self) -> Iterator[None]:
        """Replay this consumer's pending entries at the next read if the block fails: a
        read or claim whose reply was lost (given up, a dropped connection, a
        cancellation), or that failed after Redis answered (acknowledging the entries it
        skips), has had entries handed to this consumer that nobody returned; without the
        replay they waited for a claim (``claim_idle``, if ever) or a restart."""
        try:
            yield
        except BaseException:
            self._own_pending, self._own_from, self._unsure = True, "0", True
            raise

    async def _answered(self, command: Awaitable[_T]) -> _T:
        """``command``'s reply; TimeoutError if none came within ``stalled_after`` seconds.

        A stopped Redis (or a network that drops packets) raises nothing: without a socket
        timeout on the client, the read never came back, and nothing was logged.
        """
        with anyio.move_on_after(self.stalled_after):
            return await command
        raise TimeoutError(f"no reply from Redis for {self.stalled_after:g} s")

    async def aclose(self) -> None:
        """Close the connections the reader opened itself (with a ``decode_responses``
        client; the client passed is the caller's, left open), in a cancelled scope too
        (``async with`` cancelled). A read after it opens them again."""
        if self._own is not None:
            with anyio.CancelScope(shield=True):
                await self._own.aclose(close_connection_pool=True)

    async def __aenter__(self) -> StreamReader:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[StreamEntry]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[StreamEntry]:
        while True:
            while self._unhanded:
                yield self._unhanded.popleft()
            try:
                entries = await self.read()
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                logger.warning(
                    "group %r of %r is gone (Redis lost its data?): creating group %r "
                    "again from %s",
                    self.group,
                    self.stream,
                    self.group,
                    self._start,
                )
                # Its pending entries went with it: nothing of this consumer's to replay.
                self._own_pending, self._own_from, self._claim_from = True, "0", "0-0"
                await self._recreate()
                continue
            except (RedisError, OSError) as exc:
                refused = refusal(exc)
                if refused is not None:  # no outage: waiting will not mend it
                    raise refused from None  # not its unix socket's ConnectionError wrapper
                logger.warning("reading %r failed, retrying: %s", self.stream, exc)
                await anyio.sleep(self.retry)  # the read replays this consumer's pending
                continue
            self._unhanded.extend(entries)

    async def _recreate(self) -> None:
        try:
            await self.create_group(start=self._start)
        except (RedisError, OSError) as exc:  # the next read tries again
            refused = refusal(exc)
            if refused is not None:
                raise refused from None
            logger.warning("creating group %r of %r failed: %s", self.group, self.stream, exc)
            await anyio.sleep(self.retry)

    async def _decode(
        self, entries: Sequence[tuple[str, Fields | None]], *, claimed: bool
    ) -> list[StreamEntry]:
        fresh: list[StreamEntry] = []
        drop: list[str] = []
        trimmed: list[str] = []
        for entry_id, fields in entries:
            if fields is None:  # trimmed away while pending: nothing to hand out, no longer pending
                trimmed.append(entry_id)
                continue
            try:
                event = event_from_fields(fields)
                fence = fence_from_fields(fields)
            except (ValueError, KeyError, TypeError) as exc:
                logger.warning("skipping stream entry %s of %r: %s", entry_id, self.stream, exc)
                drop.append(entry_id)
                continue
            uid = event.log_id
            if uid is not None:
                first = self._seen.get(uid)
                if first is not None and first != entry_id:  # a copy of an event handed out
                    drop.append(entry_id)
                    continue
                # The same entry again (claimed or replayed: never acknowledged) is handed
                # out again: its handler failed, or did not get as far as the ack.
                self._seen[uid] = entry_id
                if len(self._seen) > self.remember:
                    self._seen.popitem(last=False)
            fresh.append(StreamEntry(id=entry_id, event=event, fence=fence, claimed=claimed))
        if trimmed:
            self._lost(trimmed, "while pending")
        if drop or trimmed:
            await self.ack(*drop, *trimmed)
        return fresh

    def _count_unread(self, groups: Any, info: Any, after: Any, *, read: int) -> None:
        """Count the entries trimmed between the group's position and the stream's oldest
        entry before the group read them: its lag (Redis 7: entries added after its
        position, trimmed or not) less the entries left after it, and less what the lag
        still counted of earlier losses (``after``: the groups once ``read`` entries were
        read from the oldest on, in the same transaction)."""
        ours = self._ours(groups)
        if ours is None or isinstance(info, Exception) or not info:
            return
        lag = ours.get("lag")
        first = info.get("first-entry")
        if lag is None or not first:  # Redis before 7, or XDEL made it unknown
            return
        position = text(ours["last-delivered-id"])
        oldest = text(first[0])
        if entry_key(position) >= entry_key(oldest):
            return
        length = int(info.get("length", 0))
        unread = int(lag) - length - (self._phantom or 0)
        lag = (self._ours(after) or {}).get("lag")
        self._phantom = None if lag is None else int(lag) - (length - read)
        self._unread(unread, f"after {position}, before {oldest},")

    def _unread(self, count: int, where: str) -> None:
        if count > 0:
            self.entries_lost += count
            logger.warning(
                "%d entries of %r %s were trimmed before group %r read them: lost (a longer "
                "MAXLEN keeps them)", count, self.stream, where, self.group,
            )  # fmt: skip

    def _ours(self, groups: Any) -> Any:
        """This reader's group in an ``XINFO GROUPS`` reply (None: not there, or an error)."""
        if isinstance(groups, Exception):
            return None
        ours = [group for group in groups or () if text(group.get("name", b"")) == self.group]
        return ours[0] if ours else None

    def _lost(self, ids: Sequence[str], when: str) -> None:
        self.entries_lost += len(ids)
        logger.warning(
            "%d entries (%s to %s) of %r were trimmed %s in group %r, handed out and not "
            "acknowledged: lost if their handler did not finish",
            len(ids),
            ids[0],
            ids[-1],
            self.stream,
            when,
            self.group,
        )

    def __repr__(self) -> str:
        return f"StreamReader({self.stream!r}, group={self.group!r}, consumer={self.consumer!r})"
