"""What a failed attempt means: the public error, and whether it may be tried again.

The transport (:mod:`contactnow_async._transport`) raises a :class:`Fault` for each
failed attempt and decides from it whether to send again; only the public error
reaches the caller.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable

import attrs
import httpx

from ._clock import Clock, http_date
from ._encoding import CutShort, EncodingError
from ._errors import (
    ContactNowError,
    HTTPStatusError,
    RateLimitError,
    RequestTimeout,
    ResponseFormatError,
    TransportError,
)
from ._exchange import ApiRequest
from ._redact import as_tuple, redact_text, redact_url
from ._wire import Envelope

__all__ = [
    "CLOSED",
    "ENTERED",
    "OTHER_LIBRARY",
    "OTHER_LOOP",
    "Fault",
    "call_url",
    "describe",
    "exchange_fault",
    "format_fault",
    "hidden_cause",
    "hide_echoed_error",
    "hide_echoes_in_note",
    "hook_fault",
    "last_error",
    "retry_after_seconds",
    "too_big",
    "undecodable",
]

#: The most of an error's detail a message quotes (a header may be as long as the server likes).
_DETAIL = 80

#: What a call on a closed client raises (a RuntimeError, as httpx's closed client does).
CLOSED = "this ContactNow client is closed; create a new one"
#: What a second ``async with`` of an open client raises (its end would close the client).
ENTERED = (
    "this ContactNow client is already open in an async with block, which closes it at its "
    "end: share it as it is, or create another"
)
#: What a call from an event loop other than the client's raises (its pool belongs to that one).
OTHER_LOOP = (
    "this ContactNow client belongs to the event loop it was entered or first used in, and "
    "this call comes from another event loop (a second asyncio.run(), a thread with a loop of "
    "its own, a test runner's loop): its connections belong to that loop. Create a client in "
    "each event loop, and close it in the loop that used it"
)
#: What a call under another async library than the one that first used a client given
#: its own ``http_client`` raises: ``{first}`` and ``{now}`` name them.
OTHER_LIBRARY = (
    "this ContactNow client was given an http_client, first used under {first}, and this "
    "call runs under {now}: httpx's connection pool serves the async library that first used "
    "it (its locks and connections are made for it). Create a client for each library, each "
    "with an http_client of its own (or none: the client's own pool); a test's in-memory "
    "transport, given as transport=, serves both"
)


class Fault(Exception):
    """A failed attempt: the public error, whether the server may have processed it,
    and whether trying again could go differently (``transient``)."""

    def __init__(
        self,
        error: ContactNowError,
        *,
        reached_server: bool,
        retry_after: float | None = None,
        transient: bool = True,
    ):
        self.error = error
        self.reached_server = reached_server
        self.retry_after = retry_after
        self.transient = transient


def call_url(url: httpx.URL | str, request: ApiRequest) -> str:
    """Where a failed attempt went: the URL without its query, and the call's method and
    action (one script, ``database.php``, serves agents, queues, the status log...)."""
    call = request.call()
    return f"{redact_url(url)} ({call})" if call else redact_url(url)


def exchange_fault(
    exc: httpx.RequestError,
    where: str,
    response: httpx.Response | None,
    secrets: Iterable[str] = (),
) -> Fault:
    """The fault an httpx error (or the ``[speed]`` wire's, mapped to httpx's) stands
    for, and whether the server may have received the request. Its text may quote the
    reply (a head that did not parse): ``secrets`` echoed there are hidden."""
    secrets = as_tuple(secrets)
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        # The request never left: resending cannot duplicate anything.
        error_cls = TransportError if isinstance(exc, httpx.ConnectError) else RequestTimeout
        return Fault(
            error_cls(f"could not connect to {where}: {describe(exc, secrets)}", sent=False),
            reached_server=False,
        )
    if isinstance(exc, httpx.TimeoutException):
        return Fault(
            RequestTimeout(f"no reply from {where} in time: {describe(exc, secrets)}", sent=True),
            reached_server=True,
        )
    if isinstance(exc, httpx.TransportError):
        return Fault(
            TransportError(
                f"the connection to {where} failed after the request was sent: "
                f"{describe(exc, secrets)}",
                sent=True,
            ),
            reached_server=True,
        )
    if isinstance(exc, httpx.DecodingError):  # a body whose Content-Encoding lies
        return Fault(
            ResponseFormatError(
                f"the reply from {where} could not be decoded: {describe(exc, secrets)}",
                status_code=None if response is None else response.status_code,
                content_type=None if response is None else response.headers.get("content-type"),
            ),
            reached_server=True,
        )
    # Anything else httpx raises (redirect loops, ...).
    return Fault(
        TransportError(f"the request to {where} failed: {describe(exc, secrets)}", sent=True),
        reached_server=True,
    )


def last_error(fault: Fault, reached_before: bool) -> ContactNowError:
    """What a call that gives up at ``fault`` raises: its error, unless that says nothing
    was sent (or that the server throttled it) while an earlier attempt may have reached
    the server (a read or an idempotent write resent after a lost reply): then a copy
    that says so, ``sent`` true."""
    error = fault.error
    if not reached_before or fault.reached_server:
        return error
    message = f"{error}; an earlier attempt may have reached the server"
    if isinstance(error, RateLimitError):
        return RateLimitError(message, retry_after=error.retry_after)
    return type(error)(message, sent=True) if isinstance(error, TransportError) else error


def format_fault(message: str, response: httpx.Response, *, transient: bool = True) -> Fault:
    """The fault of a reply the server sent whole but not as it should be."""
    return Fault(
        ResponseFormatError(
            message,
            status_code=response.status_code,
            content_type=response.headers.get("content-type"),
        ),
        reached_server=True,
        transient=transient,
    )


def too_big(where: str, response: httpx.Response, size: int, cap: int) -> Fault:
    return format_fault(
        f"the reply from {where} is larger than max_response_bytes ({size} > {cap}); "
        "narrow the request or raise the cap",
        response,
        transient=False,  # the same request would bring the same reply
    )


def undecodable(
    where: str, response: httpx.Response, exc: EncodingError, secrets: Iterable[str] = ()
) -> Fault:
    """The fault of a body that does not decode: its Content-Encoding (the header as the
    server wrote it, which may echo ``secrets``) is hidden, then cut short."""
    detail = redact_text(str(exc), secrets)
    if len(detail) > _DETAIL:
        detail = detail[: _DETAIL - 3] + "..."
    return Fault(
        ResponseFormatError(
            f"the reply from {where} does not decode as its Content-Encoding says ({detail})",
            status_code=response.status_code,
            content_type=response.headers.get("content-type"),
        ),
        reached_server=True,
        # A server that lies about its encoding lies again; a cut connection may not.
        transient=isinstance(exc, CutShort),
    )


def hook_fault(exc: httpx.HTTPStatusError, where: str, clock: Clock) -> Fault:
    """The fault of httpx's own ``HTTPStatusError``, raised by a response hook of the
    caller's ``http_client`` (``raise_for_status``) before the body was read: ours for
    the status, as :func:`~contactnow_async._reply.interpret` judges it, its
    ``Retry-After`` read on ``clock`` (httpx's quotes the whole URL, token and all, so
    it is not chained)."""
    status = exc.response.status_code
    wait = retry_after_seconds(exc.response.headers, clock)
    message = f"{where} answered HTTP {status} (the http_client's response hook raised)"
    if status == 429:
        limited = RateLimitError(message, retry_after=wait)
        return Fault(limited, reached_server=False, retry_after=wait)
    transient = status >= 500 or status == 408
    failed = HTTPStatusError(message, status_code=status)
    return Fault(failed, reached_server=True, retry_after=wait, transient=transient)


def retry_after_seconds(headers: httpx.Headers, clock: Clock) -> float | None:
    """A reply's ``Retry-After`` in seconds: a number, or an HTTP date less the reply's
    own ``Date`` (both the server's clock: ours may be off), or less ``clock``'s now."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        when = http_date(value)
        sent = http_date(headers.get("date"))
        return None if when is None else max(0.0, when - (clock.now() if sent is None else sent))
    return max(0.0, seconds) if math.isfinite(seconds) else None


def describe(exc: Exception, secrets: Iterable[str] = ()) -> str:
    """An error's class and text, any URL in it without its query, and ``secrets``
    (and token-like text) hidden."""
    text = str(exc)
    if not text:
        return type(exc).__name__
    return f"{type(exc).__name__}: {redact_text(redact_url(text), secrets)}"


def hidden_cause(exc: httpx.RequestError, secrets: Iterable[str]) -> httpx.RequestError:
    """``exc`` to chain to the public error, or, when its text or that of an exception
    behind it (httpcore's, h11's: they quote a head that did not parse) shows a secret,
    a copy of it with the text hidden and nothing behind it (a traceback prints the chain)."""
    secrets = as_tuple(secrets)
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    if all(redact_text(str(one), secrets) == str(one) for one in chain):
        return exc
    copy = type(exc)(redact_text(str(exc), secrets))
    with contextlib.suppress(RuntimeError):  # the [speed] wire's errors carry no request
        copy.request = exc.request
    return copy


def hide_echoed_error(envelope: Envelope, secrets: tuple[str, ...]) -> Envelope:
    """``envelope`` with its error text redacted (an error that echoes what was sent must
    not carry it into messages), in ``raw`` too (an error's envelope, logged, shows it);
    itself when there is nothing to hide."""
    if not envelope.error:
        return envelope
    error = redact_text(envelope.error, secrets)
    raw = envelope.raw
    if isinstance(raw.get("error"), str):
        raw = {**raw, "error": redact_text(raw["error"], secrets)}
    if error == envelope.error and raw.get("error") == envelope.raw.get("error"):
        return envelope
    return attrs.evolve(envelope, error=error, raw=raw)


def hide_echoes_in_note(envelope: Envelope, secrets: tuple[str, ...]) -> Envelope:
    """``envelope`` with its ``info`` (the note :class:`~contactnow_async.WriteResult` reads
    from ``raw``) redacted as its error text is; itself when there is nothing to hide."""
    info = envelope.raw.get("info")
    if info in (None, "") or isinstance(info, (dict, list)):
        return envelope
    shown = redact_text(str(info), secrets)
    if shown == str(info):
        return envelope
    return attrs.evolve(envelope, raw={**envelope.raw, "info": shown})
