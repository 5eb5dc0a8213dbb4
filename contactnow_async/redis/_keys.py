"""The keys beside the relay's stream, checked when Redis refuses what the relay does."""

from __future__ import annotations

import re

from redis.asyncio import Redis
from redis.asyncio.connection import ConnectionPool, parse_url
from redis.exceptions import RedisError

from .._redact import url_error
from ._replies import text

__all__ = ["StreamKeyError", "check_count", "check_keys", "check_url", "foreign", "is_number"]


class StreamKeyError(Exception):
    """A key of the relay's stream holds what the relay never writes there.

    Another program's key under the same name, or one edited by hand: waiting will not
    mend it. Delete the key, or give the relay a stream of its own.
    """


def foreign(key: str, holds: str, expected: str) -> StreamKeyError:
    """The error for ``key``, which ``holds`` something other than ``expected``."""
    return StreamKeyError(
        f"Redis key {key!r} holds {holds}, not {expected}: another program's key, or one "
        f"edited by hand? Delete it, or give the relay a stream of its own (--stream)"
    )


def is_number(value: str, *, signed: bool = False) -> bool:
    """Whether ``value`` is a whole number as ``str(int)`` writes it (and INCR does)."""
    digits = value[1:] if signed and value.startswith("-") else value
    return (
        0 < len(digits) <= 40
        and digits.isascii()
        and digits.isdigit()
        and (digits == "0" or not digits.startswith("0"))
    )


def check_count(value: object, name: str, *, minimum: int = 1) -> None:
    """Refuse ``value`` unless it is a whole number >= ``minimum`` (a bool is not one): a
    Redis COUNT or MAXLEN takes no fraction (2.5 was refused by Redis at every call, for
    ever), and NaN passed every ``< 1`` check."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")


def check_url(url: str) -> None:
    """Refuse a Redis URL that redis-py cannot parse with a ValueError that quotes no piece
    of it: redis-py's own message may quote a piece of the password (``url_error``). So is
    a query argument that no connection of its scheme takes (``ssl_password`` beside
    ``redis://``, a misspelt one): redis-py parses it, and fails at connecting with a
    TypeError; and a value it reads only then (``ssl_cert_reqs=bogus``: a RedisError)."""
    try:
        parse_url(url)
    except ValueError as exc:
        raise ValueError(f"redis URL: {url_error(str(exc), url)}") from None
    try:
        ConnectionPool.from_url(url).make_connection()  # type: ignore[no-untyped-call]  # made, not connected
    except TypeError as exc:
        unknown = re.search(r"keyword argument '(\w+)'", str(exc))  # its name, not value
        name = f" {unknown.group(1)!r}" if unknown else ""
        scheme = url.partition(":")[0]
        raise ValueError(
            f"redis URL: no {scheme}:// connection takes the query argument{name}"
        ) from None
    except RedisError as exc:
        raise ValueError(f"redis URL: {url_error(str(exc), url)}") from None


async def check_keys(redis: Redis, *, stream: str, lease: str, fence: str) -> None:
    """Raise StreamKeyError for the first of the relay's keys that holds another type,
    or a fence INCR cannot count on; errors reaching Redis are left to the caller's
    retry (the check is made again at the next refusal)."""
    strings = {
        lease: "a string (the lease)",
        fence: "a string (the fencing counter)",
        f"{stream}:cursor": "a string (the cursor)",
        f"{stream}:account": "a string (the account)",
        f"{stream}:started": "a string (a first leader's start)",
    }
    expected = {stream: "a stream", **strings}
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for key in expected:
                pipe.type(key)
            pipe.get(fence)
            *types, counter = await pipe.execute(raise_on_error=False)
    except (RedisError, OSError):
        return
    for (key, wanted), kind in zip(expected.items(), types, strict=True):
        if isinstance(kind, Exception):
            return
        kind = text(kind)
        if kind != "none" and not wanted.startswith(f"a {kind}"):
            raise foreign(key, f"a {kind}", wanted)
    if isinstance(counter, (bytes, str)) and not is_number(text(counter), signed=True):
        raise foreign(fence, repr(text(counter)[:40]), "a whole number (the fencing counter)")
