"""The token kept in Redis, shared by every process on one egress address."""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import anyio
from redis.asyncio import Redis
from redis.client import NEVER_DECODE
from redis.exceptions import RedisError, ResponseError

from .._models import Token, stored_token
from .._redact import redact_text
from .._token_store import WrongEventLoop
from ._lease import RELEASE_IF_HELD, RENEW_IF_HELD
from ._replies import text

__all__ = ["RedisTokenStore"]

logger = logging.getLogger("contactnow_async.redis")

# Forget a token only if it is still the one stored (another process may have
# replaced it since this one read it).
_DELETE_IF_VALUE = """
if redis.call('HGET', KEYS[1], 'value') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

#: The most bytes a field of a token entry holds (a token is 40 characters): an entry
#: with one longer is no token, and is not sent to the process that loads it.
MAX_FIELD_BYTES = 4096
#: Seconds a holder waits (shielded: cancelled too, by the client's aclose() say) for Redis
#: to free the lock, at most lock_ttl: one that does not answer by then is let go, and the
#: lock expires on its own (a closing client is not held for lock_ttl, a minute).
RELEASE_WAIT = 5.0
_FIELDS = ("value", "expires_at", "clock_offset")

# The token entry's fields (ARGV[2]...), or the size of the first past ARGV[1] bytes.
_LOAD = """
for i = 2, #ARGV do
  local size = redis.call('HSTRLEN', KEYS[1], ARGV[i])
  if size > tonumber(ARGV[1]) then return size end
end
return redis.call('HMGET', KEYS[1], unpack(ARGV, 2))
"""


# Take the token lock for a holder if it is free, or if the key never expires: no holder
# leaves one (another program's key, of any type), and it would never be freed. 1: taken,
# 2: taken from such a key, 0: held.
_TAKE_LOCK = """
local ttl = redis.call('PTTL', KEYS[1])
if ttl >= 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if ttl == -1 then return 2 end
return 1
"""


def _on_asyncio() -> None:
    """Refuse a call outside an asyncio task: redis-py's asyncio client fails there with
    asyncio's "no running event loop", which names neither the store nor what to use."""
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no asyncio loop: trio
        task = None
    if task is None:  # or a guest run of trio on an asyncio loop
        raise WrongEventLoop(
            "RedisTokenStore runs on asyncio only (redis-py's asyncio client), and this call "
            "does not: under trio, give the client a FileTokenStore, or a TokenStore of your own"
        )


class RedisTokenStore:
    """A :class:`~contactnow_async.TokenStore` in Redis: one token per egress address.

    ::

        redis = Redis.from_url("redis://127.0.0.1:6379/0")
        cn = ContactNow(username=..., password=..., token_store=RedisTokenStore(redis))

    The API binds a token to the address that fetched it, so the Redis key holds
    the base URL, the username *and* ``egress``, the identity of the address
    this process reaches the API from (default: the host name). Processes
    behind one NAT address may share a token by setting the same ``egress``;
    hosts behind different addresses must not.

    The store has a ``lock(key)`` the token manager holds around a fetch
    (a key set with an expiry): however many processes start cold at once, one fetches
    and the others wait and read its token. The holder renews it every ``lock_ttl / 3``
    while its fetch runs, however long that takes; ``lock_ttl`` bounds how long a
    crashed holder blocks the others (a holder frees it when done, and waits at most
    ``RELEASE_WAIT``, 5 s, for Redis to answer), ``lock_wait`` how long a process waits before
    raising TimeoutError (the client then fetches a token of its own, as it does while
    Redis is down: logged once). A lock key without an expiry, which no holder leaves, is taken
    over (logged). A token entry that is damaged, of another type, or with a field past
    4 KiB (left unread) is no token, and the next token fetched replaces it.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        egress: str | None = None,
        prefix: str = "contactnow:token:",
        lock_ttl: float = 60.0,
        lock_wait: float = 120.0,
    ) -> None:
        if not (0 < lock_ttl < math.inf and 0 < lock_wait < math.inf):  # NaN fails too
            raise ValueError("lock_ttl and lock_wait must be positive seconds")
        self.redis = redis
        self.egress = egress if egress is not None else socket.gethostname()
        self.prefix = prefix
        self.lock_ttl = lock_ttl
        self.lock_wait = lock_wait
        self._delete_if_value = redis.register_script(_DELETE_IF_VALUE)
        self._take_lock = redis.register_script(_TAKE_LOCK)
        self._release_lock = redis.register_script(RELEASE_IF_HELD)
        self._renew_lock = redis.register_script(RENEW_IF_HELD)

    def redis_key(self, key: str) -> str:
        """The Redis key of the token the client calls ``key`` (base URL and username)."""
        return f"{self.prefix}{self.egress}|{key}"

    async def load(self, key: str) -> Token | None:
        _on_asyncio()
        name = self.redis_key(key)
        try:
            # As bytes whatever the client's decode_responses: a client that decodes raised
            # UnicodeDecodeError on a damaged entry, at every request, for as long as it lived.
            entry = await self.redis.execute_command(  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
                "EVAL", _LOAD, 1, name, MAX_FIELD_BYTES, *_FIELDS, **{NEVER_DECODE: []}
            )
        except ResponseError as exc:
            if "WRONGTYPE" not in str(exc):  # the script's error (before Redis 7: "ERR ...")
                raise
            # Another program's key: no token, like a damaged entry, and the next save
            # (DEL, then HSET) replaces it; raising failed every call while the key lived.
            logger.warning(
                "token key %r holds a %s, not a token: the next token fetched replaces it",
                name,
                text(await self.redis.type(name)),
            )
            return None
        if isinstance(entry, int):  # megabytes, damaged or another tool's: left unread
            logger.warning(
                "token key %r holds a field of %d bytes, past %d: no token, the next token "
                "fetched replaces it",
                name,
                entry,
                MAX_FIELD_BYTES,
            )
            return None
        value, expires_at, clock_offset = (None if got is None else text(got) for got in entry)
        try:
            (value or "").encode("utf-8")  # not UTF-8 bytes: a damaged entry
        except ValueError:
            return None  # a damaged entry is no token: the next save replaces it
        return stored_token(value, expires_at, "0" if clock_offset is None else clock_offset)

    async def save(self, key: str, token: Token) -> None:
        _on_asyncio()
        name = self.redis_key(key)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(name)
            pipe.hset(
                name,
                mapping={
                    "value": token.value,
                    "expires_at": str(token.expires_ts),
                    "clock_offset": repr(token.clock_offset),
                },
            )
            # Housekeeping only (the manager judges freshness itself): a token
            # past its expiry on Redis' clock goes away on its own.
            if token.expires_ts > time.time():
                pipe.expireat(name, token.expires_ts)
            try:
                await pipe.execute()
            except RedisError as exc:
                # redis-py's error quotes the command Redis refused, the token in it (an
                # ACL without HSET: "Command # 2 (HSET <key> value <token> ...)").
                exc.args = tuple(
                    redact_text(arg, (token.value,)) if isinstance(arg, str) else arg
                    for arg in exc.args
                )
                raise

    async def delete(self, key: str, token: Token) -> None:
        _on_asyncio()
        await self._delete_if_value(keys=[self.redis_key(key)], args=[token.value])

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """Hold the cross-process lock around fetching the token for ``key``.

        Raises TimeoutError after ``lock_wait`` seconds without getting it.
        """
        _on_asyncio()
        name = self.redis_key(key) + ":lock"
        holder = secrets.token_hex(16)
        deadline = time.monotonic() + self.lock_wait
        delay = 0.005
        ttl_ms = max(1, math.ceil(self.lock_ttl * 1000))  # whole milliseconds: PX 0 is refused
        while not await self._take(name, holder, ttl_ms):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"waited {self.lock_wait:g} s for another process to fetch the ContactNow "
                    f"token (lock {name!r}); is one stuck? the lock expires on its own"
                )
            await anyio.sleep(delay)
            delay = min(delay * 2, 0.1)
        try:
            # The fetch may outlast lock_ttl (the client's call deadline is 110 s by default):
            # renewed meanwhile, the lock does not let the waiting processes fetch too.
            failure: Exception | None = None
            async with anyio.create_task_group() as group:
                group.start_soon(self._keep_lock, name, holder, ttl_ms)
                try:
                    yield
                except Exception as exc:  # raised below as itself, not in an exception group
                    failure = exc
                group.cancel_scope.cancel()
            if failure is not None:
                raise failure
        finally:
            # Shielded, so a cancelled fetch still frees the lock; bounded, so a Redis that
            # stopped answering does not keep it (or aclose()) from ending for long.
            with anyio.move_on_after(min(self.lock_ttl, RELEASE_WAIT), shield=True):
                try:
                    await self._release_lock(keys=[name], args=[holder])
                except (RedisError, OSError) as exc:
                    # Not the fetch's failure: the token it got is good, and the lock
                    # expires on its own.
                    logger.warning(
                        "could not free the token lock %r (%s: %s); it expires in %g s",
                        name,
                        type(exc).__name__,
                        exc,
                        self.lock_ttl,
                    )

    async def _keep_lock(self, name: str, holder: str, ttl_ms: int) -> None:
        """Renew the lock ``name`` every third of its TTL while ``holder`` has it."""
        while True:
            await anyio.sleep(self.lock_ttl / 3)
            try:
                if not await self._renew_lock(keys=[name], args=[holder, ttl_ms]):
                    return  # expired all the same (Redis unreachable meanwhile)
            except (RedisError, OSError):
                pass  # tried again next time; if it stays down, the lock expires on its own

    async def _take(self, name: str, holder: str, ttl_ms: int) -> bool:
        """Take the lock ``name`` for ``holder`` if it is free; whether it was taken."""
        try:
            taken = int(await self._take_lock(keys=[name], args=[holder, ttl_ms]))
        except anyio.get_cancelled_exc_class():
            # Cancelled once the script was sent, it may have taken the lock all the same:
            # freed (if ours), or nobody held the lock and every process waited out lock_ttl.
            bound = min(self.lock_ttl, RELEASE_WAIT)
            with anyio.move_on_after(bound, shield=True), suppress(RedisError, OSError):
                await self._release_lock(keys=[name], args=[holder])
            raise
        if taken == 2:
            logger.warning(
                "token lock %r was a key that never expires (another program's?): taken over",
                name,
            )
        return bool(taken)

    def __repr__(self) -> str:
        return f"RedisTokenStore(egress={self.egress!r}, prefix={self.prefix!r})"
