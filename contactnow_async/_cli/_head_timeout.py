"""``contactnow serve``'s HTTP/1.1: uvicorn's h11 protocol, with a time limit on a request's head.

uvicorn times a connection out only between requests, and only until it sends a byte: one
that connects and sends nothing, or sends a request's head a byte at a time, kept its
socket (a file descriptor, a slot of the kernel's) for as long as it stayed. A wallboard
left serving for weeks gathers them: port scanners, clients gone without a word. Here a
connection that has not sent a whole request head :data:`REQUEST_HEAD_TIMEOUT` seconds
after it opened, or after its last reply (after the end of the request's body, when that
came after the reply), is closed. A request under way (an event stream for hours) is not
timed: only the wait for a head is.

uvicorn's protocol keeps its h11 connection as ``conn`` and its event loop as ``loop``
(private, but its own since h11 support began); the head's state is h11's own,
``their_state``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["REQUEST_HEAD_TIMEOUT", "HeadTimeoutProtocol"]

#: Seconds a connection may take to send a request's head (a browser sends it at once).
REQUEST_HEAD_TIMEOUT = 10.0


class HeadTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request head is late."""

    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._await_head()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # a head came whole: no longer timed
            self._stop_timer()
        elif self._head_timer is None:  # a body that ended after its reply: the next head
            self._await_head()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.IDLE:  # not a pipelined request, nor a body under way
            self._await_head()  # the next request's, from this reply

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        self._stop_timer()
        if not self.transport.is_closing():
            self._head_timer = self.loop.call_later(REQUEST_HEAD_TIMEOUT, self._head_is_late)

    def _stop_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_is_late(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()
