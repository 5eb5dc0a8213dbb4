"""A lease in Redis: of K replicas, one holds it at a time, fenced by a counter."""

from __future__ import annotations

import logging
import math
import os
import secrets
import socket
import time
from contextlib import suppress

import anyio
from redis.asyncio import Redis
from redis.exceptions import RedisError

from ._keys import foreign

__all__ = ["LeaseLost", "RedisLease"]

logger = logging.getLogger("contactnow_async.redis")

# Take the lease if nobody holds it; each take draws a new fencing token. -1: the key
# exists with no expiry, which no holder leaves (another program's key).
_ACQUIRE = """
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -1 then return -1 end
if ttl >= 0 then return 0 end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], fence .. ':' .. ARGV[1], 'PX', ARGV[2])
return fence
"""

# Extend a key's expiry only if it still holds our value: renews a lease (same fencing
# token and owner), or the token lock while its fetch runs.
RENEW_IF_HELD = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# Delete a key only if it still holds our value: releases a lease, or the token lock.
RELEASE_IF_HELD = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# Delete the lease if this owner holds it, whatever its fence: a take whose reply was lost.
_RELEASE_OWNED = """
local held = redis.call('GET', KEYS[1])
if held and string.match(held, '^%d+:(.*)$') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class LeaseLost(Exception):
    """The lease expired or another replica took it: stop acting as the holder."""


def default_owner() -> str:
    """This process's name in a lease: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class RedisLease:
    """One holder at a time among replicas: a Redis key with a TTL, renewed, fenced.

    The key ``<name>:lease`` holds ``"<fence>:<owner>"`` and expires ``ttl``
    seconds after the last renewal. ``<name>:fence`` is a counter: every
    acquisition draws the next value (:attr:`fence`), so a later holder always has
    a larger fencing token. A write guarded by the lease checks, inside Redis and
    atomically with the write, that the key still holds this :attr:`value`
    (:class:`~contactnow_async.redis.RedisStreamRelay` does): a holder that was
    paused past its TTL cannot write after another took over.

    ``renew_every`` defaults to a third of ``ttl``; ``poll`` (how often a waiting
    replica tries to take the lease) to a tenth of it, so a replica takes over at
    most ``ttl + poll`` seconds after the holder's last renewal.
    """

    def __init__(
        self,
        redis: Redis,
        name: str,
        *,
        ttl: float = 10.0,
        owner: str | None = None,
        renew_every: float | None = None,
        poll: float | None = None,
    ) -> None:
        if not 0 < ttl < math.inf:  # NaN fails too
            raise ValueError(f"ttl must be positive seconds, got {ttl!r}")
        self.redis = redis
        self.name = name
        self.ttl = float(ttl)
        self.owner = owner if owner is not None else default_owner()
        self.renew_every = renew_every if renew_every is not None else self.ttl / 3
        self.poll = poll if poll is not None else min(max(self.ttl / 10, 0.02), 1.0)
        if not 0 < self.renew_every < self.ttl:
            raise ValueError("renew_every must be positive and shorter than ttl")
        if not 0 < self.poll < math.inf:
            raise ValueError(f"poll must be positive seconds, got {poll!r}")
        self.key = f"{name}:lease"
        self.fence_key = f"{name}:fence"
        self.fence: int | None = None
        self._valid_until = 0.0  # monotonic: the lease is surely ours before this
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(RENEW_IF_HELD)
        self._release = redis.register_script(RELEASE_IF_HELD)
        self._release_owned = redis.register_script(_RELEASE_OWNED)

    @property
    def value(self) -> str:
        """What the lease key holds while this replica holds it.

        Raises LeaseLost when not held.
        """
        if self.fence is None:
            raise LeaseLost(f"lease {self.key!r} is not held by {self.owner!r}")
        return f"{self.fence}:{self.owner}"

    @property
    def ttl_ms(self) -> int:
        return max(1, int(self.ttl * 1000))

    async def try_acquire(self) -> int | None:
        """Take the lease if it is free; return the new fencing token, or None.

        Raises StreamKeyError for a lease key that never expires: no holder left it, and
        it would keep every replica waiting for ever.
        """
        sent = time.monotonic()
        try:
            fence = int(
                await self._acquire(keys=[self.key, self.fence_key], args=[self.owner, self.ttl_ms])
            )
        except anyio.get_cancelled_exc_class():
            # Cancelled once the script was sent, it may have taken the lease all the same:
            # given up (as release() does), or nobody led for a whole ttl.
            with anyio.move_on_after(self.ttl, shield=True), suppress(RedisError, OSError):
                await self._release_owned(keys=[self.key], args=[self.owner])
            raise
        if fence == 0:
            return None
        if fence < 0:
            raise foreign(self.key, "a key that never expires", "a lease (which always does)")
        self.fence = fence
        self._valid_until = sent + self.ttl
        return fence

    async def acquire(self) -> int:
        """Wait until this replica holds the lease; return its fencing token."""
        while True:
            fence = await self.try_acquire()
            if fence is not None:
                return fence
            await anyio.sleep(self.poll)

    async def renew(self) -> bool:
        """Extend the lease by ``ttl``; False if it is no longer ours."""
        if self.fence is None:
            return False
        sent = time.monotonic()
        renewed = int(await self._renew(keys=[self.key], args=[self.value, self.ttl_ms]))
        if not renewed:
            self.fence = None
            return False
        self._valid_until = sent + self.ttl
        return True

    async def keep(self) -> None:
        """Renew every ``renew_every`` seconds; return once the lease is lost.

        A Redis error is retried until the lease would have expired anyway.
        """
        while True:
            await anyio.sleep(self.renew_every)
            fence = self.fence
            try:
                if not await self.renew():
                    logger.warning("lease %r lost (fence %s)", self.key, fence)
                    return
            except (RedisError, OSError) as exc:
                if time.monotonic() >= self._valid_until:
                    logger.warning("lease %r expired: cannot renew (%s)", self.key, exc)
                    self.fence = None
                    return
                logger.warning("lease %r: renewal failed, retrying (%s)", self.key, exc)

    async def release(self) -> None:
        """Give the lease up now (if still ours), so another replica takes over at once.

        Waits at most ``ttl`` for Redis: by then the lease has expired anyway.
        """
        if self.fence is None:
            return
        value, self.fence = self.value, None
        # Shielded, so a cancelled holder still hands over; bounded, so a Redis that
        # stopped answering does not keep a cancelled holder from ending.
        with anyio.move_on_after(self.ttl, shield=True):
            await self._release(keys=[self.key], args=[value])

    @property
    def held(self) -> bool:
        """Whether this replica believes it holds the lease (Redis has the last word)."""
        return self.fence is not None and time.monotonic() < self._valid_until

    def __repr__(self) -> str:
        return f"RedisLease({self.key!r}, owner={self.owner!r}, fence={self.fence!r})"
