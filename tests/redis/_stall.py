"""A TCP proxy on 127.0.0.1 in front of the tests' redis-server that can stop passing
bytes on, its connections left open: a SIGSTOPped Redis, or a network partition, without
a process of its own."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from urllib.parse import urlsplit

import anyio
import anyio.abc

#: A peer that closed or reset its end of a connection.
_GONE = (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)


class Stall:
    """The proxy's switch: :meth:`stop` holds every byte (both ways, new connections too)
    until :meth:`resume`, as a stopped process does."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._flowing = anyio.Event()
        self._flowing.set()
        self.connections = 0

    def stop(self) -> None:
        self._flowing = anyio.Event()

    def resume(self) -> None:
        self._flowing.set()

    async def _pass(self, source: anyio.abc.ByteStream, sink: anyio.abc.ByteStream) -> None:
        # A client that gives up on a held reply closes (or resets) its end: that ends this
        # direction here, not out of the pair's task group as an exception group (which
        # contextlib.suppress does not look into before Python 3.12).
        with contextlib.suppress(*_GONE):
            async for chunk in source:
                await self._flowing.wait()  # held, not dropped: delivered once resumed
                await sink.send(chunk)


@asynccontextmanager
async def stalling(redis_url: str) -> AsyncIterator[Stall]:
    """A proxy to ``redis_url``; its ``url`` is what a client under test connects to."""
    target = urlsplit(redis_url)
    host, port = target.hostname or "127.0.0.1", target.port or 6379
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    bound = listener.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610 -- anyio's typed attribute, not Django's
    stall = Stall(f"redis://127.0.0.1:{bound}{target.path}")

    async def serve(client: anyio.abc.SocketStream) -> None:
        stall.connections += 1
        with contextlib.suppress(*_GONE):  # Redis itself gone, or the client before connecting
            async with client, await anyio.connect_tcp(host, port) as upstream:
                async with anyio.create_task_group() as group:
                    group.start_soon(stall._pass, upstream, client)
                    await stall._pass(client, upstream)
                    group.cancel_scope.cancel()

    async with listener, anyio.create_task_group() as group:
        group.start_soon(listener.serve, serve)
        try:
            yield stall
        finally:
            group.cancel_scope.cancel()


@contextmanager
def logged(name: str, text: str) -> Iterator[anyio.Event]:
    """An event set once logger ``name`` (or one below it) records a message holding
    ``text``: a test waits on what the code says, not for a while."""
    said = anyio.Event()

    class Listen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if text in record.getMessage():
                said.set()

    handler = Listen()
    logger = logging.getLogger(name)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield said
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
