"""The transport: how one API request travels, and when it is tried again.

For every request it owns, in order:

1. the deadline of the whole call, across its retries (``deadline``);
2. a slot in the concurrency limiter (``max_concurrency``);
3. the httpx exchange, bounded by the deadline of one attempt (``timeout``),
   with the body read under the size cap (``max_response_bytes``);
4. the mapping of httpx's errors to ours, and whether the server may have
   received the request (``sent``);
5. decoding the body (:func:`~contactnow_async._wire.decode`);
6. retries with exponential backoff and full jitter, at least ``Retry-After``,
   slept on the injected clock, **only where a resend cannot duplicate work**.

It knows nothing of tokens: the client puts the token in the request and
decides what a refused one means (:mod:`contactnow_async._client`).
"""

from __future__ import annotations

import datetime
import email.utils
import logging
import math
import random
import time

import anyio
import attrs
import httpx

from ._clock import Clock
from ._encoding import ACCEPT_ENCODING, EncodingError, TooLarge, read_body
from ._errors import (
    ContactNowError,
    HTTPStatusError,
    RateLimitError,
    RequestTimeout,
    ResponseFormatError,
    TransportError,
)
from ._redact import redact_text, redact_url
from ._wire import Envelope, decode

__all__ = ["ApiRequest", "Reply", "RetryPolicy", "Transport"]

logger = logging.getLogger("contactnow_async")


@attrs.frozen
class ApiRequest:
    """One call to ``<script>.php``, built once and sent as often as the policy allows.

    ``params`` is the query string as ``(name, value)`` pairs (token, format and
    filters included); ``body`` the raw POST body, if any. ``idempotent`` says whether a resend
    after the server may have processed the request is harmless. ``secrets`` are
    what a reply must not echo into an error message.
    """

    script: str
    method: str | None
    action: str | None
    params: tuple[tuple[str, str], ...] = attrs.field(repr=False)
    body: bytes | None = attrs.field(default=None, repr=False)
    content_type: str | None = None
    idempotent: bool = False
    secrets: tuple[str, ...] = attrs.field(default=(), repr=False)

    def describe(self) -> str:
        """``database.php method=agents action=read``, for messages and logs."""
        what = f"{self.script}.php"
        if self.method:
            what += f" method={self.method}"
        if self.action:
            what += f" action={self.action}"
        return what


@attrs.frozen
class Reply:
    """A decoded reply, and the server's clock (the ``Date`` header) when it was sent."""

    envelope: Envelope
    server_date: float | None = None


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """When a failed attempt is tried again, and after how long.

    Exponential backoff with full jitter: attempt ``n`` waits a random time in
    ``[0, min(backoff_max, backoff * 2**n)]``, and at least what ``Retry-After``
    asks. A server asking for more than ``max_retry_after`` seconds is not a
    blip: the error is raised for the caller to decide.
    """

    max_retries: int = 2
    backoff: float = 0.5
    backoff_max: float = 10.0
    max_retry_after: float = 60.0

    def delay(
        self, attempt: int, retry_after: float | None, *, rng: random.Random | None = None
    ) -> float | None:
        """Seconds to wait before retry number ``attempt + 1``, or None to give up."""
        if retry_after is not None and retry_after > self.max_retry_after:
            return None
        ceiling = min(self.backoff_max, self.backoff * 2 ** min(attempt, 64))
        delay = (rng or random).uniform(0, ceiling)
        return max(delay, retry_after or 0.0)


class _Fault(Exception):
    """A failed attempt: the public error, whether the server may have processed it,
    and whether trying again could go differently (``transient``)."""

    def __init__(
        self,
        error: ContactNowError,
        *,
        reached_server: bool,
        retry_after: float | None,
        transient: bool = True,
    ):
        self.error = error
        self.reached_server = reached_server
        self.retry_after = retry_after
        self.transient = transient


class Transport:
    """Sends :class:`ApiRequest` s over one ``httpx.AsyncClient``: see the module docstring.

    ``timeout`` bounds one attempt from connecting to the last byte read (httpx's
    own timeouts bound each read too); ``deadline`` bounds the whole call, its
    retries and their backoff included. None means no bound of that kind.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        clock: Clock,
        retry: RetryPolicy,
        max_concurrency: int,
        max_response_bytes: int,
        timeout: float | None,
        deadline: float | None,
    ) -> None:
        self._http = http
        self._base_url = base_url
        self._clock = clock
        self.retry = retry
        self.max_concurrency = max_concurrency
        self.max_response_bytes = max_response_bytes
        self.timeout = timeout
        self.deadline = deadline
        # Made on first use: an anyio limiter belongs to the event loop that runs it.
        self._limiter: anyio.CapacityLimiter | None = None

    async def send(self, request: ApiRequest) -> Reply:
        """Send ``request``, retrying what may be retried; raise the public error otherwise."""
        http_request = self._build(request)
        give_up_at = math.inf if self.deadline is None else anyio.current_time() + self.deadline
        attempt = 0
        while True:
            try:
                return await self._attempt(request, http_request, attempt, give_up_at)
            except _Fault as fault:  # noqa: PERF203 -- one try per attempt is the retry loop
                retryable = fault.transient and (request.idempotent or not fault.reached_server)
                if not retryable or attempt >= self.retry.max_retries:
                    raise fault.error from fault.__cause__
                delay = self.retry.delay(attempt, fault.retry_after)
                if delay is None or anyio.current_time() + delay >= give_up_at:
                    raise fault.error from fault.__cause__
                logger.debug(
                    "%s attempt %d failed (%s); retrying in %.2fs",
                    request.describe(), attempt + 1, type(fault.error).__name__, delay,
                )  # fmt: skip
                attempt += 1
                await self._clock.sleep_until(self._clock.now() + delay)

    def _build(self, request: ApiRequest) -> httpx.Request:
        url = f"{self._base_url}{request.script}.php"
        # Only what _encoding can undo under the size cap (not br or zstd, even if installed).
        headers = {"Accept-Encoding": ACCEPT_ENCODING}
        if request.body is None:
            return self._http.build_request("GET", url, params=request.params, headers=headers)
        if request.content_type:
            headers["Content-Type"] = request.content_type
        return self._http.build_request(
            "POST", url, params=request.params, content=request.body, headers=headers
        )

    async def _attempt(
        self, request: ApiRequest, http_request: httpx.Request, attempt: int, give_up_at: float
    ) -> Reply:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.max_concurrency)
        started = time.perf_counter()
        status: int | str = "-"
        try:
            with anyio.move_on_after(give_up_at - anyio.current_time()) as call_scope:
                async with self._limiter:
                    response, content = await self._bounded_exchange(http_request)
                status = response.status_code
            if call_scope.cancelled_caught:
                raise _Fault(
                    RequestTimeout(
                        f"{request.describe()} did not finish within the deadline of "
                        f"{self.deadline:g}s (retries included)",
                        sent=True,
                    ),
                    reached_server=True,
                    retry_after=None,
                )
        finally:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s.php method=%s action=%s status=%s duration=%.1fms attempt=%d",
                    request.script, request.method, request.action, status,
                    (time.perf_counter() - started) * 1000, attempt + 1,
                )  # fmt: skip
        return self._interpret(request, response, content)

    async def _bounded_exchange(self, http_request: httpx.Request) -> tuple[httpx.Response, bytes]:
        if self.timeout is None:
            return await self._exchange(http_request)
        with anyio.move_on_after(self.timeout) as attempt_scope:
            return await self._exchange(http_request)
        assert attempt_scope.cancelled_caught  # only a timeout leaves the block without return
        where = redact_url(http_request.url)
        raise _Fault(
            RequestTimeout(
                f"no complete reply from {where} within timeout={self.timeout:g}s "
                "(the whole attempt, not each read)",
                sent=True,
            ),
            reached_server=True,
            retry_after=None,
        )

    def _interpret(self, request: ApiRequest, response: httpx.Response, content: bytes) -> Reply:
        """Turn an HTTP reply into a :class:`Reply`, or the fault it stands for."""
        what = f"{request.script}.php"
        if response.status_code == 429:
            retry_after = self._retry_after(response.headers.get("retry-after"))
            raise _Fault(
                RateLimitError(
                    f"{what} throttled the request (HTTP 429"
                    + (f", retry after {retry_after:g}s)" if retry_after is not None else ")"),
                    retry_after=retry_after,
                ),
                reached_server=False,  # a throttled request was refused, not processed
                retry_after=retry_after,
            )
        if response.status_code >= 500 or response.status_code == 408:
            raise _Fault(
                HTTPStatusError(
                    f"{what} answered HTTP {response.status_code} "
                    f"({response.reason_phrase}); the API or a proxy in front of it failed",
                    status_code=response.status_code,
                ),
                reached_server=True,
                retry_after=self._retry_after(response.headers.get("retry-after")),
            )
        status = response.status_code
        if 300 <= status < 400:
            location = response.headers.get("location")
            raise _Fault(
                HTTPStatusError(
                    f"{what} answered a redirect (HTTP {status}) to "
                    f"{redact_url(location) if location else 'nowhere (no Location)'}; the API "
                    "does not redirect its calls: check base_url (http or https, the /api/ path)",
                    status_code=status,
                ),
                reached_server=True,
                retry_after=None,
                transient=False,
            )
        try:
            envelope = decode(
                content,
                status_code=status,
                content_type=response.headers.get("content-type"),
                secrets=request.secrets,
            )
        except ResponseFormatError as exc:
            # A garbled 200 may be a proxy's blip; a 204 or a 4xx page says the same again.
            transient = 200 <= status < 300 and status != 204
            raise _Fault(exc, reached_server=True, retry_after=None, transient=transient) from None
        if envelope.error:
            # An error text that echoes what was sent must not carry it into messages.
            error = redact_text(envelope.error, request.secrets)
            if error != envelope.error:
                envelope = attrs.evolve(envelope, error=error)
        if response.status_code >= 400 and envelope.success:
            raise HTTPStatusError(
                f"{what} answered HTTP {response.status_code} with a success envelope",
                status_code=response.status_code,
            )
        return Reply(envelope, _http_date(response.headers.get("date")))

    async def _exchange(self, request: httpx.Request) -> tuple[httpx.Response, bytes]:
        """Send and read the body, mapping httpx's errors to whether the server got it."""
        where = redact_url(request.url)
        response: httpx.Response | None = None
        try:
            response = await self._http.send(request, stream=True)
            try:
                content = await self._read_capped(response, where)
            finally:
                await response.aclose()
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # The request never left: resending cannot duplicate anything.
            error_cls = TransportError if isinstance(exc, httpx.ConnectError) else RequestTimeout
            raise _Fault(
                error_cls(f"could not connect to {where}: {_describe(exc)}", sent=False),
                reached_server=False,
                retry_after=None,
            ) from exc
        except httpx.TimeoutException as exc:
            raise _Fault(
                RequestTimeout(f"no reply from {where} in time: {_describe(exc)}", sent=True),
                reached_server=True,
                retry_after=None,
            ) from exc
        except httpx.TransportError as exc:
            raise _Fault(
                TransportError(
                    f"the connection to {where} failed after the request was sent: "
                    f"{_describe(exc)}",
                    sent=True,
                ),
                reached_server=True,
                retry_after=None,
            ) from exc
        except httpx.DecodingError as exc:  # a body whose Content-Encoding lies
            raise _Fault(
                ResponseFormatError(
                    f"the reply from {where} could not be decoded: {_describe(exc)}",
                    status_code=None if response is None else response.status_code,
                    content_type=None if response is None else response.headers.get("content-type"),
                ),
                reached_server=True,
                retry_after=None,
            ) from exc
        except httpx.RequestError as exc:  # anything else httpx raises (redirect loops, ...)
            raise _Fault(
                TransportError(f"the request to {where} failed: {_describe(exc)}", sent=True),
                reached_server=True,
                retry_after=None,
            ) from exc
        return response, content

    async def _read_capped(self, response: httpx.Response, where: str) -> bytes:
        cap = self.max_response_bytes
        try:
            return await read_body(response, cap=cap)
        except TooLarge as exc:
            raise _too_big(where, response, exc.size, cap) from None
        except EncodingError as exc:
            raise _Fault(
                ResponseFormatError(
                    f"the reply from {where} does not decode as its Content-Encoding says ({exc})",
                    status_code=response.status_code,
                    content_type=response.headers.get("content-type"),
                ),
                reached_server=True,
                retry_after=None,
                transient=False,  # a server that lies about its encoding lies again
            ) from None

    def _retry_after(self, value: str | None) -> float | None:
        """``Retry-After`` in seconds (a number, or an HTTP date read on our clock)."""
        if value is None:
            return None
        value = value.strip()
        try:
            seconds = float(value)
        except ValueError:
            when = _http_date(value)
            return None if when is None else max(0.0, when - self._clock.now())
        return max(0.0, seconds) if math.isfinite(seconds) else None


def _too_big(where: str, response: httpx.Response, size: int, cap: int) -> _Fault:
    return _Fault(
        ResponseFormatError(
            f"the reply from {where} is larger than max_response_bytes ({size} > {cap}); "
            "narrow the request or raise the cap",
            status_code=response.status_code,
            content_type=response.headers.get("content-type"),
        ),
        reached_server=True,
        retry_after=None,
        transient=False,  # the same request would bring the same reply
    )


def _describe(exc: Exception) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {redact_url(text)}" if text else type(exc).__name__


def _http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322, not the local zone
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()
