"""What a failed attempt means: the public error, and whether it may be tried again.

The transport (:mod:`contactnow_async._transport`) raises a :class:`Fault` for each
failed attempt and decides from it whether to send again; only the public error
reaches the caller.
"""

from __future__ import annotations

import httpx

from ._encoding import EncodingError
from ._errors import ContactNowError, RequestTimeout, ResponseFormatError, TransportError
from ._redact import redact_url

__all__ = ["CLOSED", "Fault", "describe", "exchange_fault", "too_big", "undecodable"]

#: What a call on a closed client raises (a RuntimeError, as httpx's closed client does).
CLOSED = "this ContactNow client is closed; create a new one"


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


def exchange_fault(exc: httpx.RequestError, where: str, response: httpx.Response | None) -> Fault:
    """The fault an httpx error (or the ``[speed]`` wire's, mapped to httpx's) stands
    for, and whether the server may have received the request."""
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        # The request never left: resending cannot duplicate anything.
        error_cls = TransportError if isinstance(exc, httpx.ConnectError) else RequestTimeout
        return Fault(
            error_cls(f"could not connect to {where}: {describe(exc)}", sent=False),
            reached_server=False,
        )
    if isinstance(exc, httpx.TimeoutException):
        return Fault(
            RequestTimeout(f"no reply from {where} in time: {describe(exc)}", sent=True),
            reached_server=True,
        )
    if isinstance(exc, httpx.TransportError):
        return Fault(
            TransportError(
                f"the connection to {where} failed after the request was sent: {describe(exc)}",
                sent=True,
            ),
            reached_server=True,
        )
    if isinstance(exc, httpx.DecodingError):  # a body whose Content-Encoding lies
        return Fault(
            ResponseFormatError(
                f"the reply from {where} could not be decoded: {describe(exc)}",
                status_code=None if response is None else response.status_code,
                content_type=None if response is None else response.headers.get("content-type"),
            ),
            reached_server=True,
        )
    # Anything else httpx raises (redirect loops, ...).
    return Fault(
        TransportError(f"the request to {where} failed: {describe(exc)}", sent=True),
        reached_server=True,
    )


def too_big(where: str, response: httpx.Response, size: int, cap: int) -> Fault:
    return Fault(
        ResponseFormatError(
            f"the reply from {where} is larger than max_response_bytes ({size} > {cap}); "
            "narrow the request or raise the cap",
            status_code=response.status_code,
            content_type=response.headers.get("content-type"),
        ),
        reached_server=True,
        transient=False,  # the same request would bring the same reply
    )


def undecodable(where: str, response: httpx.Response, exc: EncodingError) -> Fault:
    return Fault(
        ResponseFormatError(
            f"the reply from {where} does not decode as its Content-Encoding says ({exc})",
            status_code=response.status_code,
            content_type=response.headers.get("content-type"),
        ),
        reached_server=True,
        transient=False,  # a server that lies about its encoding lies again
    )


def describe(exc: Exception) -> str:
    """An error's class and text, any URL in it without its query."""
    text = str(exc)
    return f"{type(exc).__name__}: {redact_url(text)}" if text else type(exc).__name__
