"""Stream replies as ``(entry id, fields)`` pairs, in whichever shape the client gives them.

redis-py shapes a reply by the protocol the client speaks (``protocol=2`` or ``3``)
and, from redis-py 8, by ``legacy_responses``:

- XRANGE, XREVRANGE and XAUTOCLAIM's entries: a list of ``(id, fields)`` in every shape.
- XREAD and XREADGROUP: RESP2 ``[[stream, entries], ...]``; RESP3
  ``{stream: [entries]}`` (one more list around a stream's entries); redis-py 8's
  unified shapes (``legacy_responses=False``) ``{stream: entries}``.

Fields are a dict of bytes (of str with ``decode_responses``). An entry deleted
while pending comes back with ``None`` or ``{}`` for its fields, or, from Redis 6.2's
XAUTOCLAIM, as ``(None, None)``.

A client with ``decode_responses`` decodes a whole reply, strictly, before any of it
reaches the code here: one entry whose bytes are not UTF-8 fails the reply, and a MULTI/EXEC
transaction's replies are decoded together (redis-py's per-command ``NEVER_DECODE`` does
not reach inside EXEC). :func:`undecoded` gives a client of the same server that does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from redis.asyncio import BlockingConnectionPool, ConnectionPool, Redis

__all__ = ["Fields", "entry_key", "read_entries", "stream_entries", "text", "undecoded"]

Fields = dict[str, str]


def text(value: str | bytes) -> str:
    """A reply's bytes as text (a client with ``decode_responses`` gives str already).

    Bytes that are not UTF-8 (an entry some other writer put there) never fail here,
    where a whole reply is read: they come through as lone surrogates
    (``surrogateescape``), and the reader of that one entry refuses it
    (:func:`~contactnow_async.redis._fields.event_from_fields`), skipping only it.
    """
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value


def stream_entries(reply: Iterable[Sequence[Any]] | None) -> list[tuple[str, Fields | None]]:
    """The entries of an XRANGE, XREVRANGE or XAUTOCLAIM list, as text.

    Fields are None for an entry deleted while pending (no entry is written without a
    field); an entry without an id (Redis 6.2's nil) is left out.
    """
    return [
        (text(entry_id), {text(k): text(v) for k, v in fields.items()} if fields else None)
        for entry_id, fields in reply or ()
        if entry_id is not None
    ]


def entry_key(entry_id: str) -> tuple[int, ...]:
    """An entry id ``<ms>-<seq>`` as a comparable pair."""
    return tuple(int(part) for part in entry_id.split("-"))


def read_entries(reply: Any) -> list[tuple[str, Fields | None]]:
    """The entries of an XREAD or XREADGROUP reply (see the module docstring), every
    stream's in turn."""
    if not reply:
        return []
    if isinstance(reply, Mapping):
        per_stream: Iterable[Any] = reply.values()
    else:
        per_stream = (entries for _stream, entries in reply)
    found: list[Sequence[Any]] = []
    for items in per_stream:
        for item in items or ():
            if item and not isinstance(item[0], (list, tuple)):
                found.append(item)  # (id, fields): the id is bytes, str or None
            else:
                found.extend(item)  # RESP3: the stream's entries, inside one more list
    return stream_entries(found)


def undecoded(redis: Redis) -> Redis | None:
    """A client of ``redis``'s server, with its connection settings (protocol, reply
    shapes, credentials, TLS, timeouts), whose replies are bytes: None when ``redis``'s
    already are. It is the caller's to close (``aclose(close_connection_pool=True)``);
    it opens no connection until its first command, and keeps the pool's limit (a
    ``BlockingConnectionPool``'s wait too). A ``RedisCluster`` (no one pool to copy) is
    read as given: None."""
    pool = getattr(redis, "connection_pool", None)
    if pool is None or not pool.connection_kwargs.get("decode_responses"):
        return None
    settings = {**pool.connection_kwargs, "decode_responses": False}
    kind = pool.connection_class
    if isinstance(pool, BlockingConnectionPool):  # its limit, and its wait for a connection
        blocking = BlockingConnectionPool(
            max_connections=pool.max_connections, timeout=pool.timeout, connection_class=kind,
            **settings,
        )  # fmt: skip
        return Redis(connection_pool=blocking)
    own = ConnectionPool(max_connections=pool.max_connections, connection_class=kind, **settings)
    return Redis(connection_pool=own)
