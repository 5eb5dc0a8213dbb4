"""The relay: a lease-holding watcher that appends every event to a Redis Stream."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from .._errors import AuthenticationError, ContactNowError
from ..events import check_parts
from ..events import to_json as event_to_json
from ..watch import AgentEvent, AgentWatcher
from ._keys import check_count, check_keys, check_url, foreign, is_number
from ._lease import LeaseLost, RedisLease
from ._refusal import refusal
from ._replies import text
from ._scripts import ACCOUNT, PUBLISH, SEED

if TYPE_CHECKING:
    from .._client import ContactNow

__all__ = ["RedisStreamRelay", "StreamAccountError", "run_relay"]

logger = logging.getLogger("contactnow_async.redis")


class StreamAccountError(Exception):
    """The stream is relayed for another ContactNow account (``<stream>:account``).

    Its cursor is that account's status_log position, and its events that account's
    agents: a relay for another account gives its own stream name.
    """


class RedisStreamRelay:
    """Publishes watcher events to the Redis Stream ``stream``, guarded by ``lease``.

    Every append checks the lease inside Redis (see :class:`RedisLease`) and
    moves the cursor ``<stream>:cursor`` (the last published status_log uid) in
    the same atomic step. :meth:`run` is the whole relay: wait for the lease,
    resume the watcher from the cursor, publish, step down when the lease is
    lost, wait again.

    The first leader records its account (``<base URL>|<username>``, never the
    password) in ``<stream>:account``; a leader for another account raises
    :class:`StreamAccountError` and publishes nothing.

    ``maxlen`` bounds the stream (``XADD MAXLEN ~``: Redis trims whole nodes,
    so the stream may hold somewhat more); None keeps everything.
    ``batch`` is the most events appended in one script call. The timeouts of
    ``redis`` are yours (:func:`run_relay` bounds every command of the client it makes).
    """

    def __init__(
        self,
        redis: Redis,
        stream: str,
        *,
        lease: RedisLease,
        maxlen: int | None = 1_000_000,
        batch: int = 500,
    ) -> None:
        if maxlen is not None:  # None: an unbounded stream
            check_count(maxlen, "maxlen")
        check_count(batch, "batch")
        self.redis = redis
        self.stream = stream
        self.lease = lease
        self.maxlen = maxlen
        self.batch = batch
        self.cursor_key = f"{stream}:cursor"
        self.account_key = f"{stream}:account"
        self.started_key = f"{stream}:started"
        self.published = 0
        self._publish = redis.register_script(PUBLISH)
        self._seed_script = redis.register_script(SEED)
        self._account_script = redis.register_script(ACCOUNT)
        self._in_hand = False  # the pump holds events it has not published yet

    async def cursor(self) -> int | None:
        """The last status_log uid published to the stream (None before any).

        Raises StreamKeyError for a cursor the relay did not write: the script compares
        uids as their decimal text, so "007" would skip every uid up to 999.
        """
        value = await self.redis.get(self.cursor_key)
        if value is None:
            return None
        uid = text(value)
        if not is_number(uid):
            raise foreign(self.cursor_key, repr(uid[:40]), "a status_log uid (the cursor)")
        return int(uid)

    async def publish(self, events: Sequence[AgentEvent]) -> int:
        """Append ``events`` (in order) while the lease is ours; return how many were new.

        Events at or below the cursor are skipped (already published). They go in
        batches of ``batch``, each appended with the cursor in one step; raises
        LeaseLost once the lease is no longer ours, having appended nothing more (the
        batches before it are in the stream, and the cursor says how far). ValueError,
        appending nothing, for a negative ``log_id`` (no status_log row has one) or an
        event whose parts disagree (``events.check_parts``), which a reader would skip.
        """
        for event in events:
            if event.log_id is not None and event.log_id < 0:  # ordered as decimal text
                raise ValueError(f"log_id must be a whole number >= 0, got {event.log_id}")
            check_parts(event)  # what a reader would skip: refused before anything is sent
        appended = 0
        value = self.lease.value
        fence = self.lease.fence
        for start in range(0, len(events), self.batch):
            args: list[Any] = [value, self.maxlen or 0, fence]
            for event in events[start : start + self.batch]:
                args += ["" if event.log_id is None else str(event.log_id), event_to_json(event)]
            result = int(
                await self._publish(
                    keys=[self.lease.key, self.stream, self.cursor_key, self.started_key],
                    args=args,
                )
            )
            if result < 0:
                self.lease.fence = None
                raise LeaseLost(f"lease {self.lease.key!r} moved on: fence {fence} may not publish")
            appended += result
        self.published += appended
        return appended

    async def run(
        self,
        client: ContactNow,
        *,
        backfill: bool = True,
        since_log_id: int | None = None,
        retry: float = 1.0,
        **watcher_options: Any,
    ) -> None:
        """Relay for ever: hold the lease, watch, publish; on losing it, wait for it again.

        The watcher resumes after the cursor in Redis, or after ``since_log_id``
        when the stream has no cursor yet (None: from now on; a first leader with no
        log row to start after records its start time, ``<stream>:started``, and a
        successor resumes before the first row since, reading the log until one comes).
        A replica that finds the lease taken fetches its token before it waits, so it
        polls at once when it takes over. Redis errors are logged and retried every
        ``retry`` seconds; a refused Redis password (redis-py's AuthenticationError), a
        command or key the Redis ACL user may not use (NoPermissionError), a refused API
        password (AuthenticationError, raised by a waiting replica at once), a
        position the status log refuses (LogPositionError), a stream of another
        account (StreamAccountError), or a key of the stream's another program wrote
        (StreamKeyError) ends the relay. ``watcher_options`` go to
        :class:`~contactnow_async.AgentWatcher` (``interval``, ``page_size``, ...).
        """
        if not 0 < retry < math.inf:  # NaN fails too
            raise ValueError(f"retry must be positive seconds, got {retry!r}")
        ready = False
        while True:
            try:
                fence = await self.lease.try_acquire()
                if fence is None:
                    if not ready:
                        await self._get_ready(client)
                        ready = True
                    fence = await self.lease.acquire()
                logger.info("relay %s leads with fence %d", self.lease.owner, fence)
                await self._lead(
                    client, backfill=backfill, since_log_id=since_log_id, **watcher_options
                )
            except LeaseLost as exc:  # noqa: PERF203 -- one try per leadership, not per event
                logger.warning("relay %s steps down: %s", self.lease.owner, exc)
            except (RedisError, OSError) as exc:
                refused = refusal(exc)
                if refused is not None:  # no outage: waiting won't mend it
                    raise refused from None  # not its unix socket's ConnectionError wrapper
                if isinstance(exc, ResponseError):  # WRONGTYPE, say: raises for a foreign key
                    await check_keys(
                        self.redis,
                        stream=self.stream,
                        lease=self.lease.key,
                        fence=self.lease.fence_key,
                    )
                logger.warning("relay %s: Redis error, retrying: %s", self.lease.owner, exc)
                await anyio.sleep(retry)
            finally:
                with contextlib.suppress(RedisError, OSError):  # it expires on its own
                    await self.lease.release()

    async def _get_ready(self, client: ContactNow) -> None:
        """Fetch a token before waiting for the lease: a takeover then polls at once,
        rather than first fetching one and setting up the HTTP client (imports, TLS),
        which stalled a new leader's first renewals.

        A refused password ends the relay now, not when this replica takes over;
        another error is logged, and met again when this replica leads.
        """
        try:
            await client.tokens.get()
        except AuthenticationError:
            raise
        except ContactNowError as exc:
            logger.warning("relay %s: no token while waiting: %s", self.lease.owner, exc)

    async def _lead(
        self,
        client: ContactNow,
        *,
        backfill: bool,
        since_log_id: int | None,
        **watcher_options: Any,
    ) -> None:
        """Watch and publish until the lease is lost (raises LeaseLost)."""
        self._in_hand = False
        base = urlsplit(client.base_url)
        # A gateway's user info (user:password@) in the base URL stays out of Redis.
        host = base._replace(netloc=base.netloc.rpartition("@")[2]).geturl()
        await self._claim_account(f"{host}|{client.username}")
        resume = await self.cursor() if backfill else None
        if resume is None:
            resume = since_log_id if backfill else None
        # A first leader that went before it published anything, with no uid to record.
        started = await self.started() if backfill and resume is None else None
        watcher_options.setdefault("initial_events", False)
        outcome: list[Exception] = []

        async with anyio.create_task_group() as group:

            def stop(reason: Exception) -> None:
                if not outcome:
                    outcome.append(reason)
                group.cancel_scope.cancel()

            async def keep() -> None:
                await self.lease.keep()
                stop(LeaseLost(f"lease {self.lease.key!r} could not be renewed"))

            group.start_soon(keep)
            # Errors leave the task group as themselves, not in an exception group.
            try:
                if started is not None:
                    resume = await self._first_row_since(client, started, **watcher_options)
                watcher = AgentWatcher(
                    client, backfill=backfill, since_log_id=resume, **watcher_options
                )
                subscription = watcher.subscribe(overflow="block", initial=False)

                async def pump() -> None:
                    # Started before the watcher, so a first poll with more events
                    # than the subscription's buffer (a long backlog) is drained.
                    try:
                        async for event in subscription:
                            self._in_hand = True
                            events = [event]
                            while subscription.pending:
                                events.append(await subscription.__anext__())
                            await self.publish(events)
                            self._in_hand = False
                    except Exception as exc:
                        stop(exc)

                group.start_soon(pump)
                began = time.monotonic()
                async with watcher:
                    logger.info(
                        "relay %s: watching after uid %s (first poll took %.3f s)",
                        self.lease.owner,
                        resume,
                        time.monotonic() - began,
                    )
                    if backfill and resume is None:
                        await self._seed(watcher, pending=subscription.pending)
                    await anyio.sleep_forever()
            except Exception as exc:
                stop(exc)
        if outcome:
            raise outcome[0]
        # sleep_forever only ends by cancellation, and a cancelled relay does not get here.
        raise LeaseLost(f"lease {self.lease.key!r}: relay stopped")  # pragma: no cover -- see above

    async def _claim_account(self, account: str) -> None:
        """Record ``account`` as the stream's, or make sure it is (raises StreamAccountError)."""
        result = await self._account_script(
            keys=[self.lease.key, self.account_key], args=[self.lease.value, account]
        )
        if isinstance(result, (bytes, str)):
            recorded = result.decode(errors="replace") if isinstance(result, bytes) else result
            raise StreamAccountError(
                f"stream {self.stream!r} is relayed for account {recorded}, not {account}: "
                f"give this account a stream of its own (--stream)"
            )
        if int(result) < 0:
            self.lease.fence = None
            raise LeaseLost(f"lease {self.lease.key!r} moved on before the relay began")

    async def _seed(self, watcher: AgentWatcher, *, pending: int) -> None:
        """With no cursor yet, record where this leader's log starts: a successor that
        takes over before this leader has published anything resumes there, not from
        its own now.

        The watcher's cursor after its first poll, while no event is waiting or in
        hand: every event the watcher has made so far is then in the stream (the cursor
        exists, and this sets nothing) or none was made, and every later one is after
        it. Else (no row in the log's look back, or events on their way) the time its
        log starts (``<stream>:started``): a successor resumes from the first row since.
        """
        uid = watcher.log_id
        if uid is None or pending or self._in_hand:
            uid = None
            if watcher.log_start is None:  # no first snapshot: this leader saw nothing
                return
        await self._seed_script(
            keys=[self.lease.key, self.cursor_key, self.started_key],
            args=[self.lease.value, "" if uid is None else uid, watcher.log_start or 0],
        )

    async def started(self) -> int | None:
        """When a first leader's log started (unix seconds, the server's clock), recorded
        when it had no uid to record (see :meth:`run`); None when none is.

        Raises StreamKeyError for a value the relay did not write.
        """
        value = await self.redis.get(self.started_key)
        if value is None:
            return None
        started = text(value)
        if not is_number(started):
            raise foreign(self.started_key, repr(started[:40]), "a unix time (the start)")
        return int(started)

    async def _first_row_since(self, client: ContactNow, started: int, **options: Any) -> int:
        """The uid before the first status_log row since ``started``, once there is one.

        Until then nothing happened that a backfilling leader would publish, so this
        leader waits for it, reading the log each ``interval``, rather than starting
        from its own now (the rows written meanwhile would be history to it).
        """
        clock = options.get("clock") or client.clock
        while True:
            try:
                rows = await client.status_log.read(tstart=started)
            except AuthenticationError:
                raise
            except ContactNowError as exc:
                logger.warning("relay %s: reading the status log failed: %s", self.lease.owner, exc)
                rows = []
            if rows:
                return min(row.log_id for row in rows) - 1
            await clock.sleep_until(clock.now() + options.get("interval", 2.0))


async def run_relay(
    *,
    redis_url: str,
    stream: str,
    client: ContactNow,
    backfill: bool = True,
    lease_ttl: float = 10.0,
    maxlen: int | None = 1_000_000,
    since_log_id: int | None = None,
    interval: float = 2.0,
    owner: str | None = None,
    redis_timeout: float | None = None,
    **watcher_options: Any,
) -> None:
    """Run a lease-holding relay of ``client``'s agent events into ``stream`` until cancelled.

    The ``contactnow relay`` command calls this. Start it on K hosts: one polls and
    publishes, the others wait to take over within about ``lease_ttl`` seconds. See
    :class:`RedisStreamRelay`.

    ``redis_timeout`` bounds every Redis command, connecting included (a
    ``socket_timeout`` in the URL wins): a quarter of ``lease_ttl`` unless given, so a
    leader whose Redis stopped answering tries its renewal again before the lease
    expires, and steps down once it has.
    """
    if redis_timeout is None:
        redis_timeout = lease_ttl / 4
    if not 0 < redis_timeout < math.inf:  # NaN fails too; None would wait for ever
        raise ValueError(f"redis_timeout must be positive seconds, got {redis_timeout!r}")
    check_url(redis_url)  # redis-py's own refusal may quote a piece of the password
    # redis-py waits for ever before version 8, and 5 s from it: a renewal that never came
    # back kept a leader whose lease had expired from knowing it.
    redis = Redis.from_url(
        redis_url, socket_timeout=redis_timeout, socket_connect_timeout=redis_timeout
    )
    try:
        lease = RedisLease(redis, stream, ttl=lease_ttl, owner=owner)
        relay = RedisStreamRelay(redis, stream, lease=lease, maxlen=maxlen)
        await relay.run(
            client,
            backfill=backfill,
            since_log_id=since_log_id,
            interval=interval,
            **watcher_options,
        )
    finally:
        with anyio.CancelScope(shield=True):
            await redis.aclose()
