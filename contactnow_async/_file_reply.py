"""A file in a reply (a recording): the size it declares, the bound of a download's
attempt (its stalls, not its length), and what a file that fails means.

:meth:`~contactnow_async._transport.Transport.download` uses these; an envelope's
reply is bounded and judged as any other (:mod:`contactnow_async._faults`).
"""

from __future__ import annotations

import math

import anyio
import httpx

from ._encoding import content_length
from ._errors import RequestTimeout
from ._exchange import Sink
from ._faults import Fault, format_fault

__all__ = ["Stall", "cut_short", "declared_size", "file_too_big"]


class Stall:
    """The bound of a download's attempt, and where its file goes: ``timeout`` seconds from
    the attempt's start, then from each piece written to ``sink`` (a long file that keeps
    coming is not cut, a stalled one is)."""

    __slots__ = ("ends", "give_up_at", "received", "scope", "sink", "timeout")

    def __init__(self, timeout: float | None, sink: Sink) -> None:
        self.timeout = timeout
        self.sink = sink
        self.scope: anyio.CancelScope | None = None
        self.give_up_at = math.inf
        self.received = 0  # bytes of file this attempt
        self.ends = math.inf  # when the attempt ends unless more comes

    def begin(self, scope: anyio.CancelScope, give_up_at: float) -> None:
        """A new attempt, bounded by ``scope`` (and by ``give_up_at``, the whole call's)."""
        self.scope, self.give_up_at, self.received, self.ends = scope, give_up_at, 0, math.inf

    def expect(self, response: httpx.Response) -> int | None:
        """Tell the sink the size the reply's head declares (:func:`declared_size`)."""
        declared = declared_size(response)
        self.sink.expect(declared)
        return declared

    def bound(self, first: float) -> float:
        """When the attempt was to end: ``first`` (its own timeout) until a piece came."""
        return self.ends if self.received else first

    def write(self, data: bytes) -> None:
        """Write a piece of the file: the wait for the next starts now."""
        self.sink.write(data)
        self.received += len(data)
        if self.timeout is not None and self.scope is not None:
            self.ends = anyio.current_time() + self.timeout
            self.scope.deadline = min(self.give_up_at, self.ends)

    def is_read_timeout(self, request: httpx.Request) -> bool:
        """Whether the wire's own read timeout of ``request`` is the attempt's ``timeout``
        (or longer): then a read that timed out is a stall past that bound."""
        read = (request.extensions.get("timeout") or {}).get("read")
        return self.timeout is not None and read is not None and read >= self.timeout

    def timed_out(self, where: str) -> Fault:
        """The fault of an attempt cut at ``timeout`` (sent: the server may have it)."""
        if self.received:
            message = (
                f"the file from {where} stalled: nothing more came for "
                f"timeout={self.timeout:g}s after {self.received:,} bytes"
            )
        else:
            message = (
                f"nothing came from {where} within timeout={self.timeout:g}s (a download's "
                "timeout bounds each wait: for the reply, then for each piece of the file)"
            )
        return Fault(RequestTimeout(message, sent=True), reached_server=True)


def declared_size(response: httpx.Response) -> int | None:
    """The file's size as the reply declares it (``Content-Length`` of a body sent as it
    is), or None: unknown, or the length of an encoded body, not of the file."""
    if response.headers.get("content-encoding", "identity").strip().lower() != "identity":
        return None
    return content_length(response)


def file_too_big(where: str, response: httpx.Response, size: int, cap: int) -> Fault:
    """The fault of a file past ``max_download_bytes`` (the same request: the same file)."""
    return format_fault(
        f"the file from {where} is larger than its limit of {cap:,} bytes ({size:,} declared "
        "or read); pass a larger max_bytes= to download() or raise the client's "
        "max_download_bytes to fetch it",
        response,
        transient=False,
    )


def cut_short(where: str, response: httpx.Response, got: int, declared: int) -> Fault:
    """The fault of a file ending short of (or past) its ``Content-Length``: a connection's
    HTTP layer refuses one; an in-process transport, or one that does not check, would
    have the cut file saved as the whole recording. A resend may bring all of it."""
    return format_fault(
        f"the file from {where} ended after {got:,} of the {declared:,} bytes its "
        "Content-Length declares",
        response,
    )
