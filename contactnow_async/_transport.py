"""The transport: how one API request travels, and when it is tried again.

For every request it owns, in order:

1. the deadline of the whole call, across its retries (``deadline``; the client's call
   passes its own, which began before its token);
2. a slot in the concurrency limiter (``max_concurrency``);
3. the httpx exchange, bounded by the deadline of one attempt (``timeout``),
   with the body read under the size cap (``max_response_bytes``), or, for a
   download (:meth:`Transport.download`), a file streamed to a sink under its own
   cap (``max_download_bytes``) unless an envelope came in its place;
4. the mapping of httpx's errors to ours, and whether the server may have
   received the request (``sent``);
5. what the reply means: its decoded envelope, or the fault its status or body
   stands for (:func:`~contactnow_async._reply.interpret`);
6. retries with exponential backoff and full jitter, at least ``Retry-After``,
   slept on the injected clock, **only where a resend cannot duplicate work**.

It knows nothing of tokens: the client puts the token in the request and
decides what a refused one means (:mod:`contactnow_async._client`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import anyio
import httpx

from ._clock import Clock, sleep_within
from ._encoding import EncodingError, FileTooLarge, TooLarge, read_body, read_file
from ._errors import RequestTimeout
from ._exchange import ApiRequest, Fetched, Reply, Sink
from ._faults import (
    CLOSED,
    Fault,
    call_url,
    exchange_fault,
    hidden_cause,
    hook_fault,
    last_error,
    too_big,
    undecodable,
)
from ._file_reply import Stall, cut_short, file_too_big
from ._http import Pool, UrlCache
from ._options import RetryPolicy
from ._redact import SENDING
from ._reply import interpret

__all__ = ["ApiRequest", "Fetched", "Reply", "RetryPolicy", "Sink", "Transport"]

#: Reads a reply's body; the request's URL (token and all) is for error messages,
#: redacted there.
Read = Callable[[httpx.Response, httpx.Request], Awaitable["bytes | int"]]

logger = logging.getLogger("contactnow_async")


class MakePool(Protocol):
    """Makes the client's own pool (:class:`~contactnow_async._http.PoolMaker`)."""

    def __call__(self, *, https: bool) -> Pool: ...

    async def aclose_unmade(self) -> None: ...


class Transport:
    """Sends :class:`ApiRequest` s over one ``httpx.AsyncClient``: see the module docstring.

    ``http`` is the client, or a function that makes it at the first request (told
    whether the base URL is https).

    ``timeout`` bounds one attempt from connecting to the last byte read (httpx's
    own timeouts bound each read too); ``deadline`` bounds the whole call, its
    retries and their backoff included: from the start of :meth:`send`, or by the
    ``give_up_at`` it is given (on anyio's clock). None means no bound of that kind.
    ``call_bound`` is how a timeout's message names ``deadline``.
    """

    def __init__(
        self,
        http: httpx.AsyncClient | MakePool,
        *,
        base_url: str,
        clock: Clock,
        retry: RetryPolicy,
        max_concurrency: int,
        max_response_bytes: int,
        timeout: float | None,
        deadline: float | None,
        call_bound: str,
    ) -> None:
        # A client, or how to make the client's own pool at the first request
        # (where the event loop is known).
        self._pool = Pool(http) if isinstance(http, httpx.AsyncClient) else None
        self._make_pool = None if isinstance(http, httpx.AsyncClient) else http
        self._urls = UrlCache()
        self._base_url = base_url
        self._clock = clock
        self.retry = retry
        self.max_concurrency = max_concurrency
        self.max_response_bytes = max_response_bytes
        self.timeout = timeout
        self.deadline = deadline
        #: ``deadline`` as a timeout's message names it (``_options.call_bound``).
        self.call_bound = call_bound
        # Made on first use: an anyio limiter belongs to the event loop that runs it.
        self._limiter: anyio.CapacityLimiter | None = None
        self._closed = False
        # The attempts under way (their scopes): aclose() cuts them short.
        self._attempts: set[anyio.CancelScope] = set()

    def new_library(self) -> None:
        """Calls come from another async library now: the next makes the limiter anew."""
        self._limiter = None

    @property
    def pool(self) -> Pool:
        """Where requests go (the client's own pool is made now if not made yet)."""
        if self._pool is None:
            assert self._make_pool is not None
            if self._closed:  # a call that began before aclose(): no pool made to leak
                raise RuntimeError(CLOSED)
            # Every request is under the base URL: an http one needs no CA bundle loaded.
            self._pool = self._make_pool(https=self._base_url.startswith("https:"))
        return self._pool

    @property
    def http(self) -> httpx.AsyncClient:
        """The httpx client requests go through (made now if it is made on first use)."""
        return self.pool.client

    async def aclose(self) -> None:
        """Send nothing more, and close the client's own pool if one was made (a
        client the caller gave is theirs to close).

        A call still running is cut short (one making its connection sends nothing),
        and sends no further attempt: it raises RuntimeError.
        """
        self._closed = True
        for scope in self._attempts:
            scope.cancel()
        if self._make_pool is not None:
            if self._pool is not None:
                await self._pool.aclose()
            else:  # a transport the caller gave is closed with the client, used or not
                await self._make_pool.aclose_unmade()

    async def send(self, request: ApiRequest, give_up_at: float | None = None) -> Reply:
        """Send ``request``, retrying what may be retried; raise the public error otherwise."""

        async def read(response: httpx.Response, sent: httpx.Request) -> bytes:
            return await self._read_capped(response, sent.url, request)

        reply = await self._retrying(request, read, give_up_at)
        assert isinstance(reply, Reply)  # read() always gives the body
        return reply

    async def download(
        self, request: ApiRequest, sink: Sink, *, cap: int, give_up_at: float = math.inf
    ) -> Reply | Fetched:
        """Send ``request`` for a file, streamed to ``sink`` under ``cap`` bytes (not
        ``max_response_bytes``): :class:`Fetched`, or the :class:`Reply` of the envelope
        the server sent instead (an error, most often). A reply that is neither, a file
        past ``cap`` or short of its length, raises :class:`ResponseFormatError`.
        ``timeout`` bounds each wait (:class:`Stall`), ``give_up_at`` the whole download."""
        stall = Stall(self.timeout, sink)

        async def read(response: httpx.Response, sent: httpx.Request) -> bytes | int:
            url = sent.url
            status = response.status_code
            if not 200 <= status < 300 or status == 204:
                # An error page or an envelope.
                return await self._read_capped(response, url, request)
            declared = stall.expect(response)
            try:
                got = await read_file(
                    response, cap=cap, envelope_cap=self.max_response_bytes, write=stall.write
                )
            except FileTooLarge as exc:
                raise file_too_big(call_url(url, request), response, exc.size, cap) from None
            except httpx.ReadTimeout:
                if not stall.is_read_timeout(sent):
                    raise  # shorter than timeout (an httpx.Timeout given): named as httpx names it
                # The same stall, told the same way on every wire (aiohttp's read timeout
                # runs from a piece's arrival, so it ends a moment before the bound).
                raise stall.timed_out(call_url(url, request)) from None
            except TooLarge as exc:
                limit = self.max_response_bytes
                raise too_big(call_url(url, request), response, exc.size, limit) from None
            except EncodingError as exc:
                failed = exc
            else:
                if isinstance(got, int) and declared is not None and got != declared:
                    raise cut_short(call_url(url, request), response, got, declared)
                return got
            # Raised outside the except block: the error's text (a header as the server
            # wrote it) is not the context of the fault either.
            raise undecodable(call_url(url, request), response, failed, request.secrets)

        return await self._retrying(request, read, give_up_at, rewind=sink.rewind, stall=stall)

    async def _retrying(
        self,
        request: ApiRequest,
        read: Read,
        give_up_at: float | None = None,
        *,
        rewind: Callable[[], bool] = lambda: True,
        stall: Stall | None = None,
    ) -> Reply | Fetched:
        http_request = self._build(request)
        if give_up_at is None:  # a call of its own: its deadline starts now
            give_up_at = self.give_up_at()
        attempt, reached = 0, False  # reached: an earlier attempt may have reached the server
        while True:
            try:
                got = await self._attempt(request, http_request, attempt, give_up_at, read, stall)
                return got.resent() if reached and isinstance(got, Reply) else got
            except Fault as fault:  # noqa: PERF203 -- one try per attempt is the retry loop
                retryable = fault.transient and (request.idempotent or not fault.reached_server)
                if not retryable or attempt >= self.retry.max_retries:
                    raise last_error(fault, reached) from fault.__cause__
                delay = self.retry.delay(attempt, fault.retry_after)
                if delay is None or anyio.current_time() + delay >= give_up_at or not rewind():
                    raise last_error(fault, reached) from fault.__cause__
                logger.debug(
                    "%s attempt %d failed (%s); retrying in %.2fs",
                    request.describe(), attempt + 1, type(fault.error).__name__, delay,
                )  # fmt: skip
                attempt, reached = attempt + 1, reached or fault.reached_server
                with anyio.CancelScope() as backoff:  # aclose() ends the backoff too
                    self._attempts.add(backoff)
                    try:
                        slept = self._closed or await sleep_within(self._clock, delay, give_up_at)
                    finally:
                        self._attempts.discard(backoff)
                if self._closed:
                    raise RuntimeError(CLOSED) from None
                if not slept:  # a slow clock
                    raise last_error(fault, reached) from fault.__cause__

    def give_up_at(self) -> float:
        """When a call that starts now must end, by its ``deadline`` (on anyio's clock)."""
        return math.inf if self.deadline is None else anyio.current_time() + self.deadline

    def _build(self, request: ApiRequest) -> httpx.Request:
        url = self._urls.url(f"{self._base_url}{request.script}.php", request.params)
        return self.pool.build(url, request.body, request.content_type)

    async def _attempt(
        self,
        request: ApiRequest,
        http_request: httpx.Request,
        attempt: int,
        give_up_at: float,
        read: Read,
        stall: Stall | None = None,
    ) -> Reply | Fetched:
        limiter = self._limiter
        if limiter is None:
            limiter = self._limiter = anyio.CapacityLimiter(self.max_concurrency)
        started = time.perf_counter()
        status: int | str = "-"
        attempt_ends = math.inf
        # A free slot is taken at once, not with ``async with`` (its checkpoints cost
        # a pass of the event loop): then the scope starts with both bounds set.
        try:
            limiter.acquire_nowait()
        except anyio.WouldBlock:
            has_slot = False
        else:
            has_slot = True
            if self.timeout is not None:
                attempt_ends = anyio.current_time() + self.timeout
        try:
            # One cancel scope for both bounds: the call's deadline from the start
            # (waiting for a slot included), the attempt's timeout once it has one.
            with anyio.CancelScope(deadline=min(give_up_at, attempt_ends)) as scope:
                self._attempts.add(scope)
                if stall is not None:  # a download: each piece of the file moves the bound
                    stall.begin(scope, give_up_at)
                if has_slot:
                    # What the limiter's checkpoints did: a call in a cancelled scope
                    # (or past its deadline) ends here, before anything is sent; and
                    # other tasks run, unless the send itself waits on the network.
                    # Loaded by the first call, not the import.
                    from anyio.lowlevel import checkpoint, checkpoint_if_cancelled

                    if self.pool.waits_on_the_network:
                        await checkpoint_if_cancelled()
                    else:
                        await checkpoint()
                else:
                    await limiter.acquire()
                    has_slot = True
                    if self.timeout is not None:
                        attempt_ends = anyio.current_time() + self.timeout
                        scope.deadline = min(give_up_at, attempt_ends)
                response, content = await self._exchange(http_request, read, request)
                status = response.status_code
            if scope.cancelled_caught:
                if self._closed:  # cut short by aclose()
                    raise RuntimeError(CLOSED)
                if stall is not None and has_slot and stall.bound(attempt_ends) < give_up_at:
                    raise stall.timed_out(call_url(http_request.url, request))
                # A download's attempt not cut by its own bound was cut by the deadline.
                call = stall is not None or attempt_ends >= give_up_at
                raise self._timed_out(request, http_request, call=call, sent=has_slot)
        finally:
            self._attempts.discard(scope)
            if has_slot:
                limiter.release()
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s.php method=%s action=%s status=%s duration=%.1fms attempt=%d",
                    request.script, request.method, request.action, status,
                    (time.perf_counter() - started) * 1000, attempt + 1,
                )  # fmt: skip
        if isinstance(content, int):
            return Fetched(content, response.headers.get("content-type"))
        return interpret(request, response, content, clock=self._clock)

    def _timed_out(
        self, request: ApiRequest, http_request: httpx.Request, *, call: bool, sent: bool
    ) -> Fault:
        """The fault of an attempt past the deadline or its timeout (not ``sent``: no slot yet)."""
        if not sent:
            message = (
                f"{request.describe()} was not sent: no slot came free (max_concurrency="
                f"{self.max_concurrency}) within {self.call_bound}"
            )
        elif call:
            message = (
                f"{request.describe()} did not finish within {self.call_bound} (retries included)"
            )
        else:
            message = (
                f"no complete reply from {call_url(http_request.url, request)} within "
                f"timeout={self.timeout:g}s (the whole attempt, not each read)"
            )
        return Fault(RequestTimeout(message, sent=sent), reached_server=sent)

    async def _exchange(
        self, http_request: httpx.Request, read: Read, request: ApiRequest
    ) -> tuple[httpx.Response, bytes | int]:
        """Send and read the body, mapping httpx's errors to whether the server got it
        (an error's text may quote the reply: the request's secrets echoed there are hidden)."""
        response: httpx.Response | None = None
        secrets = list(request.secrets)  # hidden from what httpx logs meanwhile
        sending = SENDING.set(secrets)
        try:
            if self._closed:  # a call that began before aclose(): a retry, a slot's wait
                raise RuntimeError(CLOSED)
            response = await self.pool.send(http_request)
            try:
                content = await read(response, http_request)
            finally:
                await response.aclose()
        # HTTPStatusError: a response hook of the caller's client (raise_for_status).
        except (httpx.RequestError, httpx.HTTPStatusError) as exc:
            failed = exc
        else:
            return response, content
        finally:
            secrets.clear()  # from the copies of this context too (_redact.SENDING)
            SENDING.reset(sending)
        # Raised outside the except block: the error it hides is not its context either.
        where = call_url(http_request.url, request)
        if isinstance(failed, httpx.HTTPStatusError):
            raise hook_fault(failed, where, self._clock)
        fault = exchange_fault(failed, where, response, request.secrets)
        raise fault from hidden_cause(failed, request.secrets)

    async def _read_capped(
        self, response: httpx.Response, url: httpx.URL, request: ApiRequest
    ) -> bytes:
        cap = self.max_response_bytes
        try:
            return await read_body(response, cap=cap)
        except TooLarge as exc:
            raise too_big(call_url(url, request), response, exc.size, cap) from None
        except EncodingError as exc:
            failed = exc
        # Raised outside the except block: not in its context.
        raise undecodable(call_url(url, request), response, failed, request.secrets)
