"""Reading the relay's stream with a consumer group: at-least-once, deduplicated."""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence

import attrs
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from ..watch import AgentEvent
from ._fields import event_from_fields
from ._replies import Fields, read_entries, stream_entries, text

__all__ = ["StreamEntry", "StreamReader"]

logger = logging.getLogger("contactnow_async.redis")


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

        reader = StreamReader(redis, "contactnow:agents", group="alerts", consumer="worker-1")
        await reader.create_group()
        async for entry in reader:
            await handle(entry.event)
            await reader.ack(entry)

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
    acknowledged and skipped.
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
    ) -> None:
        if count < 1:
            raise ValueError("count must be >= 1")
        if not 0 <= block < math.inf:  # NaN fails too
            raise ValueError(f"block must be finite seconds >= 0, got {block!r}")
        if claim_idle is not None and not 0 <= claim_idle < math.inf:
            # NaN would never come due: a dead consumer's entries would stay pending.
            raise ValueError(
                f"claim_idle must be finite seconds >= 0 (None: never claim), got {claim_idle!r}"
            )
        self.redis = redis
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.count = count
        self.block = block
        self.claim_idle = claim_idle
        self.remember = remember
        # The entry each recent uid was handed out in (its copies in other entries are dropped).
        self._seen: OrderedDict[int, str] = OrderedDict()
        self._own_pending = True  # the first reads replay this consumer's unacknowledged entries
        self._own_from = "0"
        self._claim_from = "0-0"
        self._next_claim = 0.0

    async def create_group(self, *, start: str = "0") -> None:
        """Create the group (and the stream) if missing.

        ``start`` is where a new group begins: "0" the oldest entry, "$" new entries only.
        """
        try:
            await self.redis.xgroup_create(self.stream, self.group, id=start, mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(self) -> list[StreamEntry]:
        """The next entries for this consumer: its own unacknowledged ones first,
        then entries claimed from dead consumers, then new ones (waiting up to ``block``).
        """
        while self._own_pending:
            raw = await self.redis.xreadgroup(
                self.group, self.consumer, {self.stream: self._own_from}, count=self.count
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
        raw = await self.redis.xreadgroup(
            self.group,
            self.consumer,
            {self.stream: ">"},
            count=self.count,
            block=max(1, int(self.block * 1000)),
        )
        return await self._decode(read_entries(raw), claimed=False)

    async def claim(self) -> list[StreamEntry]:
        """Take over entries pending longer than ``claim_idle`` seconds on other consumers."""
        idle = self.claim_idle if self.claim_idle is not None else 0.0
        self._next_claim = time.monotonic() + max(idle / 2, 0.01)
        result = await self.redis.xautoclaim(
            self.stream,
            self.group,
            self.consumer,
            min_idle_time=int(idle * 1000),
            start_id=self._claim_from,
            count=self.count,
        )
        next_start = text(result[0])
        # "0-0": the scan went through the whole pending list; start again next time.
        self._claim_from = next_start
        if next_start != "0-0":
            self._next_claim = 0.0
        # Redis before 7.0 answers nil (no id) for an entry deleted while pending.
        return await self._decode(stream_entries(result[1]), claimed=True)

    async def ack(self, *entries: StreamEntry | str) -> None:
        """Acknowledge entries (or entry ids): the group will not hand them out again."""
        ids = [entry.id if isinstance(entry, StreamEntry) else entry for entry in entries]
        if ids:
            await self.redis.xack(self.stream, self.group, *ids)

    def __aiter__(self) -> AsyncIterator[StreamEntry]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[StreamEntry]:
        while True:
            for entry in await self.read():
                yield entry

    async def _decode(
        self, entries: Sequence[tuple[str, Fields | None]], *, claimed: bool
    ) -> list[StreamEntry]:
        fresh: list[StreamEntry] = []
        drop: list[str] = []
        for entry_id, fields in entries:
            if fields is None:  # trimmed away while pending: nothing to hand out, no longer pending
                drop.append(entry_id)
                continue
            try:
                event = event_from_fields(fields)
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
            fence_text = fields.get("fence")
            fresh.append(
                StreamEntry(
                    id=entry_id,
                    event=event,
                    fence=int(fence_text) if fence_text else None,
                    claimed=claimed,
                )
            )
        if drop:
            await self.ack(*drop)
        return fresh

    def __repr__(self) -> str:
        return f"StreamReader({self.stream!r}, group={self.group!r}, consumer={self.consumer!r})"
