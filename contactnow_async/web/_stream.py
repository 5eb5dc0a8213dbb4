"""``GET /events``: one viewer's events as ``text/event-stream``, written by raw ASGI.

Per connection: this response's own task writes, and one more waits for the
client to go away (the server reports it through ``receive()``; a write to a
closed connection may succeed silently). Either ending cancels the other, and
the viewer leaves the board: nothing is left running after a disconnect.

What the stream writes:

- ``retry: 2000`` first (the browser's reconnection delay, in milliseconds);
- the viewer's frames, batched into one write per wake-up;
- a ``: heartbeat`` comment after a quiet while (queued by :meth:`Board.keep`);
- ``event: reset`` with ``{"reason": ...}`` and the end of the stream when the
  browser must refetch ``/snapshot``: its id is unknown or older than the window,
  or it fell behind (its buffer filled up). A write that a client does not take
  in time ends the connection without more ado (:meth:`Board.keep` cancels it);
- the end of the stream, without a reset, when the stream token it was opened with
  expires (the browser reconnects with a new one, and resumes).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

import anyio

from ._board import Board, Resume, Viewer
from ._sources import Source

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

RETRY = b"retry: 2000\n\n"


def reset_frame(reason: str) -> bytes:
    """The ``event: reset`` frame (no id: the browser's last id stays its own)."""
    return f"event: reset\ndata: {json.dumps({'reason': reason})}\n\n".encode()


class EventStream:
    """The ASGI response of ``/events`` for one viewer (see the module docstring)."""

    def __init__(
        self,
        board: Board,
        viewer: Viewer,
        *,
        source: Source,
        resume: Resume | None,
        headers: Mapping[str, str],
    ) -> None:
        self.board = board
        self.viewer = viewer
        self.source = source
        self.resume = resume
        self.headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as group:
                self.viewer.cancel = group.cancel_scope.cancel
                group.start_soon(self._watch_disconnect, receive, group.cancel_scope)
                # ASGI 2.4: a send to a client that went away raises an OSError; the stream
                # just ends (uvicorn's send says nothing, and the disconnect ends it).
                with contextlib.suppress(OSError):
                    await self._write(send)
                group.cancel_scope.cancel()
        finally:
            self.board.leave(self.viewer)

    @staticmethod
    async def _watch_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                scope.cancel()
                return

    async def _send(self, send: Send, body: bytes, *, more: bool = True) -> None:
        viewer = self.viewer
        viewer.writing_since = time.monotonic()  # Board.keep() ends a write stuck too long
        await send({"type": "http.response.body", "body": body, "more_body": more})
        viewer.writing_since = None
        viewer.last_write = time.monotonic()

    async def _write(self, send: Send) -> None:
        viewer = self.viewer
        await send({"type": "http.response.start", "status": 200, "headers": self.headers})
        await self._send(send, RETRY)
        if self.resume is not None:
            await self.source.resolve(self.board, viewer, self.resume)
        while True:
            await viewer.wait()
            body = b"".join(viewer.take())
            if viewer.reset is not None:
                body += reset_frame(viewer.reset)
            if viewer.closed and not viewer.buffer:
                await self._send(send, body, more=False)
                return
            await self._send(send, body)
