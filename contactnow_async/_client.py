"""The client: configuration, ``request()``, and the retry and token policy.

Every typed call (``cn.agents.read``, ``cn.live.agents``, ...) ends up in
:meth:`ContactNow.request`, which does, in order:

1. take the shared token from the :class:`~contactnow_async._tokens.TokenManager`;
2. wait for a slot in the concurrency limiter;
3. send through the pooled ``httpx.AsyncClient`` and read the body (capped);
4. decode it (:func:`~contactnow_async._wire.decode`);
5. on a token error, fetch one new token (shared) and resend once: a refused
   token means nothing was done, so this is safe even for creates;
6. on a transient fault (network, timeout, 429, 5xx, a garbled body), retry with
   exponential backoff and full jitter, honouring ``Retry-After``, **only where a
   resend cannot duplicate work** (see :func:`resend_is_safe`).
"""

from __future__ import annotations

import contextlib
import datetime
import email.utils
import enum
import logging
import random
import time
from collections.abc import AsyncGenerator, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, cast

import anyio
import attrs
import httpx

from ._clock import Clock, SystemClock
from ._errors import (
    APIError,
    AuthenticationError,
    ContactNowError,
    HTTPStatusError,
    RateLimitError,
    RequestTimeout,
    ResponseFormatError,
    TokenError,
    TransportError,
)
from ._models import Token
from ._redact import install_httpx_log_filter, redact_text, redact_url
from ._tokens import MemoryTokenStore, TokenManager, TokenStore
from ._wire import Envelope, Format, decode, encode_payload
from .resources.agents import Agents
from .resources.live import Live
from .resources.priorities import Priorities
from .resources.status_log import StatusLog
from .resources.tokens import Tokens
from .watch._watcher import watch_agents as _watch_agents

__all__ = ["ContactNow", "Region", "resend_is_safe"]

logger = logging.getLogger("contactnow_async")

#: The error texts that mean "this token is no good" on any endpoint.
TOKEN_ERRORS: Final = frozenset({"Expired token", "Invalid token", "Unknown token"})
AUTHENTICATION_FAILURE: Final = "Authentication failure"
DEFAULT_MAX_RESPONSE_BYTES: Final = 64 * 1024 * 1024
# A server asking us to wait longer than this is not a blip: raise, let the caller decide.
_MAX_RETRY_AFTER: Final = 60.0


class Region(str, enum.Enum):
    """The ContactNow API hosts (see the vendor's table of web login URLs)."""

    EU = "https://api-106.dxi.eu/"
    """app.easycontactnow.com: Europe and the rest of the world."""
    US = "https://api.contactnow.8x8.com/api/"
    """app.contactnow.8x8.com: the United States."""


def resend_is_safe(script: str, method: str | None, action: str) -> bool:
    """Whether resending this request after it may have been processed is harmless.

    Reads change nothing; ``priority`` creates are documented as idempotent (an
    existing assignment is not duplicated); updates set the same fields again.
    ``agents`` creates are not: the API adds a duplicate agent on every create.
    Anything else not a read (the generic scripts) is assumed unsafe.
    """
    if action in ("read", "validate", "get"):
        return True
    if script == "database" and method == "priority" and action in ("create", "update"):
        return True
    return script == "database" and method == "agents" and action == "update"


class _Fault(Exception):
    """A failed attempt: the public error, and whether it may be retried."""

    def __init__(self, error: ContactNowError, *, reached_server: bool, retry_after: float | None):
        self.error = error
        self.reached_server = reached_server
        self.retry_after = retry_after


class ContactNow:
    """An asyncio (and trio) client for the 8x8 ContactNow API v2.

    Use it as an async context manager; one client shares one token and one
    connection pool between any number of concurrent calls::

        async with ContactNow(username="u", password="p", region=Region.EU) as cn:
            agents = await cn.agents.read(name="Joe Blogs")

    ``base_url`` overrides ``region`` (point it at the simulator in tests).
    ``http_client`` is used as given and not closed by :meth:`aclose`.
    ``campaign`` (the contact centre id) is sent as ``campaign=`` on every call.
    ``clock`` is where token deadlines are read (a virtual clock in tests).
    """

    def __init__(
        self,
        *,
        username: str,
        password: str,
        region: Region = Region.EU,
        base_url: str | None = None,
        format: Format = "json",
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 2,
        max_concurrency: int = 20,
        token_store: TokenStore | None = None,
        token_margin: float = 60.0,
        http_client: httpx.AsyncClient | None = None,
        campaign: str | None = None,
        clock: Clock | None = None,
        retry_backoff: float = 0.5,
        retry_backoff_max: float = 10.0,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        if not username or not password:
            raise ValueError("username and password are required (the API credentials 8x8 issued)")
        if format not in ("json", "xml"):
            raise ValueError(f"format must be 'json' or 'xml', not {format!r}")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        if isinstance(timeout, (int, float)) and (isinstance(timeout, bool) or timeout <= 0):
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        if token_margin < 0:
            raise ValueError(f"token_margin must be >= 0 seconds, not {token_margin!r}")
        if retry_backoff < 0 or retry_backoff_max < 0:
            raise ValueError("retry_backoff and retry_backoff_max must be >= 0 seconds")
        if max_response_bytes < 1:
            raise ValueError(f"max_response_bytes must be >= 1, not {max_response_bytes!r}")
        if base_url is None:
            try:
                region = Region(region)
            except ValueError:
                raise ValueError(
                    f"region must be Region.EU or Region.US, not {region!r} "
                    "(or give base_url for another host)"
                ) from None
        self.base_url = _normalise_base_url(base_url if base_url is not None else region.value)
        self.username = username
        self._password = password
        self.format: Format = format
        self.max_retries = max_retries
        self.max_concurrency = max_concurrency
        self.campaign = campaign
        self.retry_backoff = retry_backoff
        self.retry_backoff_max = retry_backoff_max
        self.max_response_bytes = max_response_bytes
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._own_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=max_concurrency, max_keepalive_connections=max_concurrency
            ),
        )
        self._limiter: anyio.CapacityLimiter | None = None
        self._closed = False
        self.token_store: TokenStore = (
            token_store if token_store is not None else MemoryTokenStore()
        )
        self._token_manager = TokenManager(
            self._fetch_token,
            store=self.token_store,
            key=f"{self.base_url}|{username}",
            clock=self.clock,
            margin=token_margin,
        )
        install_httpx_log_filter()
        self.agents = Agents(self)
        self.status_log = StatusLog(self)
        self.priorities = Priorities(self)
        self.live = Live(self)
        self.tokens = Tokens(self, self._token_manager)

    def __repr__(self) -> str:
        return f"<ContactNow base_url={self.base_url!r} username={self.username!r}>"

    async def __aenter__(self) -> ContactNow:
        self._check_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (unless the caller passed its own ``http_client``)."""
        if self._closed:
            return
        self._closed = True
        if self._own_http:
            await self._http.aclose()

    @property
    def is_closed(self) -> bool:
        """True once :meth:`aclose` was called."""
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this ContactNow client is closed; create a new one")

    #: ``async with cn.watch_agents() as stream``: see :func:`contactnow_async.watch.watch_agents`.
    watch_agents = _watch_agents

    async def request(
        self,
        script: str,
        *,
        method: str | None = None,
        action: str,
        params: Mapping[str, Any] | None = None,
        payload: Sequence[Mapping[str, Any]] | None = None,
        record_name: str | None = None,
        idempotent: bool | None = None,
    ) -> Envelope:
        """Call ``<script>.php`` with a token and return the decoded envelope.

        The escape hatch for every script the typed groups do not cover yet
        (``ecnow``, ``reporting``, ``outcomecodes``, ...). ``payload`` records are
        sent as the raw POST body (a JSON array, or ``<dxi><record_name>`` XML).
        ``idempotent`` says whether a resend after the server may have processed
        the request is harmless; by default only reads and the documented
        idempotent writes are (:func:`resend_is_safe`).

        Raises :class:`APIError` when the API answers ``success: false``.
        """
        self._check_open()
        safe = resend_is_safe(script, method, action) if idempotent is None else idempotent
        args: dict[str, Any] = {"action": action, "format": self.format, "raw": "1"}
        if method is not None:
            args["method"] = method
        if self.campaign is not None:
            args["campaign"] = self.campaign
        if params:
            args.update({key: value for key, value in params.items() if value is not None})
        body: bytes | None = None
        content_type: str | None = None
        if payload is not None:
            body, content_type = encode_payload(
                payload, format=self.format, record_name=record_name or method or "record"
            )

        token = await self._token_manager.token()
        resent_for_token = False
        while True:
            args["token"] = token.value
            envelope, _ = await self._send_with_retries(
                script, method, action, args, body, content_type, safe=safe
            )
            if _is_token_error(envelope):
                if resent_for_token:
                    raise TokenError(
                        f"{script}.php refused a freshly fetched token ({envelope.error}); "
                        "tokens are bound to the address that fetched them: is this process "
                        "behind a different address than the one that fetched it?",
                        error=envelope.error,
                        envelope=envelope,
                    )
                resent_for_token = True
                logger.debug("token refused (%s); fetching a new one", envelope.error)
                token = await self._token_manager.refresh(stale=token)
                continue
            if not envelope.success:
                raise _api_error(script, method, action, envelope)
            return envelope

    async def _fetch_token(self) -> Token:
        """``token.php?action=get``: the only place a token is fetched."""
        args = {
            "action": "get",
            "username": self.username,
            "password": self._password,
            "format": self.format,
        }
        envelope, date = await self._send_with_retries(
            "token", None, "get", args, None, None, safe=True
        )
        if not envelope.success:
            if envelope.error == AUTHENTICATION_FAILURE:
                raise AuthenticationError(
                    f"token.php refused the username {self.username!r} or its password "
                    "(Authentication failure): check the API credentials",
                    error=envelope.error,
                    envelope=envelope,
                )
            raise _api_error("token", None, "get", envelope)
        value = envelope.raw.get("token")
        expire = envelope.raw.get("expire")
        if not value or expire in (None, ""):
            raise ResponseFormatError(
                "token.php answered success without a token or an expire time",
                content_type=None,
            )
        local_now = self.clock.now()
        server_now = date if date is not None else local_now
        return Token(value=str(value), expires_at=int(expire), clock_offset=server_now - local_now)

    async def _send_with_retries(
        self,
        script: str,
        method: str | None,
        action: str,
        args: Mapping[str, Any],
        body: bytes | None,
        content_type: str | None,
        *,
        safe: bool,
    ) -> tuple[Envelope, float | None]:
        attempt = 0
        while True:
            try:
                return await self._send(script, method, action, args, body, content_type, attempt)
            except _Fault as fault:  # noqa: PERF203 -- one try per attempt is the retry loop
                retryable = safe or not fault.reached_server
                if not retryable or attempt >= self.max_retries:
                    raise fault.error from fault.__cause__
                delay = self._backoff(attempt, fault.retry_after)
                if delay is None:
                    raise fault.error from fault.__cause__
                logger.debug(
                    "%s.php %s/%s attempt %d failed (%s); retrying in %.2fs",
                    script, method, action, attempt + 1, type(fault.error).__name__, delay,
                )  # fmt: skip
                attempt += 1
                await anyio.sleep(delay)

    def _backoff(self, attempt: int, retry_after: float | None) -> float | None:
        """Exponential backoff with full jitter, at least ``Retry-After`` (None: give up)."""
        if retry_after is not None and retry_after > _MAX_RETRY_AFTER:
            return None
        delay = random.uniform(0, min(self.retry_backoff_max, self.retry_backoff * 2**attempt))
        return max(delay, retry_after or 0.0)

    async def _send(
        self,
        script: str,
        method: str | None,
        action: str,
        args: Mapping[str, Any],
        body: bytes | None,
        content_type: str | None,
        attempt: int,
    ) -> tuple[Envelope, float | None]:
        url = f"{self.base_url}{script}.php"
        if body is None:
            request = self._http.build_request("GET", url, params=args)
        else:
            headers = {"Content-Type": content_type} if content_type else None
            request = self._http.build_request(
                "POST", url, params=args, content=body, headers=headers
            )
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.max_concurrency)
        started = time.perf_counter()
        status: int | str = "-"
        try:
            async with self._limiter:
                response, content = await self._exchange(request)
            status = response.status_code
        finally:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s.php method=%s action=%s status=%s duration=%.1fms attempt=%d",
                    script, method, action, status,
                    (time.perf_counter() - started) * 1000, attempt + 1,
                )  # fmt: skip
        content_type_in = response.headers.get("content-type")
        if response.status_code == 429:
            retry_after = _retry_after(response.headers.get("retry-after"))
            raise _Fault(
                RateLimitError(
                    f"{script}.php throttled the request (HTTP 429"
                    + (f", retry after {retry_after:g}s)" if retry_after is not None else ")"),
                    retry_after=retry_after,
                ),
                reached_server=False,  # a throttled request was refused, not processed
                retry_after=retry_after,
            )
        if response.status_code >= 500 or response.status_code in (408,):
            raise _Fault(
                HTTPStatusError(
                    f"{script}.php answered HTTP {response.status_code} "
                    f"({response.reason_phrase}); the API or a proxy in front of it failed",
                    status_code=response.status_code,
                ),
                reached_server=True,
                retry_after=_retry_after(response.headers.get("retry-after")),
            )
        try:
            envelope = decode(
                content,
                status_code=response.status_code,
                content_type=content_type_in,
                secrets=self._secrets(args),
            )
        except ResponseFormatError as exc:
            raise _Fault(exc, reached_server=True, retry_after=None) from None
        if envelope.error:
            # An error text that echoes what was sent must not carry it into messages.
            error = redact_text(envelope.error, self._secrets(args))
            if error != envelope.error:
                envelope = attrs.evolve(envelope, error=error)
        if response.status_code >= 400 and envelope.success:
            raise HTTPStatusError(
                f"{script}.php answered HTTP {response.status_code} with a success envelope",
                status_code=response.status_code,
            )
        return envelope, _http_date(response.headers.get("date"))

    async def _exchange(self, request: httpx.Request) -> tuple[httpx.Response, bytes]:
        """Send and read the body, mapping httpx's errors to whether the server got it."""
        where = redact_url(request.url)
        try:
            response = await self._http.send(request, stream=True)
            try:
                declared = response.headers.get("content-length")
                if (
                    declared is not None
                    and declared.isdigit()
                    and int(declared) > self.max_response_bytes
                ):
                    raise _too_big(where, response, int(declared), self.max_response_bytes)
                chunks = []
                size = 0
                # aclosing: leaving the loop early (too big) must close the generator
                # here, not in the garbage collector (trio warns about that).
                body = cast("AsyncGenerator[bytes, None]", response.aiter_bytes())  # it is one
                async with contextlib.aclosing(body):
                    async for chunk in body:
                        size += len(chunk)
                        if size > self.max_response_bytes:
                            raise _too_big(where, response, size, self.max_response_bytes)
                        chunks.append(chunk)
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
                    status_code=response.status_code,
                    content_type=response.headers.get("content-type"),
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
        return response, b"".join(chunks)

    def _secrets(self, args: Mapping[str, Any] = {}) -> tuple[str, ...]:
        """What a reply must not echo: the password, the current token and the one sent."""
        found = [self._password]
        current = self._token_manager.current
        if current is not None:
            found.append(current.value)
        sent = args.get("token")
        if isinstance(sent, str) and sent:
            found.append(sent)
        return tuple(found)


def _normalise_base_url(base_url: str) -> str:
    url = httpx.URL(base_url)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")
    if url.query:
        raise ValueError("base_url must not carry a query string")
    text = str(url)
    # Script names are joined onto the path (the US host lives under /api/).
    return text if text.endswith("/") else text + "/"


def _is_token_error(envelope: Envelope) -> bool:
    if envelope.success:
        return False
    if envelope.error in TOKEN_ERRORS:
        return True
    return str(envelope.raw.get("expire")) == "-1"


def _api_error(script: str, method: str | None, action: str, envelope: Envelope) -> APIError:
    what = f"{script}.php" + (f" method={method}" if method else "") + f" action={action}"
    if envelope.error == AUTHENTICATION_FAILURE:
        return AuthenticationError(
            f"{what}: Authentication failure", error=envelope.error, envelope=envelope
        )
    return APIError(
        f"{what} failed: {envelope.error or 'no error text given'}",
        error=envelope.error,
        envelope=envelope,
    )


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
    )


def _describe(exc: Exception) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {redact_url(text)}" if text else type(exc).__name__


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        when = _http_date(value)
        return None if when is None else max(0.0, when - time.time())


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
