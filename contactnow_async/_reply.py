"""What an HTTP reply to an API call means: its decoded :class:`Reply`, or the fault
its status or its body stands for (throttled, a failed gateway, a redirect, a body
that does not decode).

The transport (:mod:`contactnow_async._transport`) reads the body and hands it here;
a file in a reply is judged apart (:mod:`contactnow_async._file_reply`).
"""

from __future__ import annotations

import httpx

from ._clock import Clock, http_date
from ._errors import HTTPStatusError, RateLimitError, ResponseFormatError
from ._exchange import ApiRequest, Reply
from ._faults import Fault, hide_echoed_error, hide_echoes_in_note, retry_after_seconds
from ._redact import redact_text, redact_url
from ._wire import decode

__all__ = ["interpret"]


def interpret(
    request: ApiRequest, response: httpx.Response, content: bytes, *, clock: Clock
) -> Reply:
    """Turn an HTTP reply into a :class:`Reply`, or raise the fault it stands for (named
    for its call, ``request.describe()``: a watcher's polls and a call's token share a
    client); ``clock`` reads a ``Retry-After`` given as a date."""
    if response.status_code == 429:
        retry_after = retry_after_seconds(response.headers, clock)
        raise Fault(
            RateLimitError(
                f"{request.describe()} throttled the request (HTTP 429"
                + (f", retry after {retry_after:g}s)" if retry_after is not None else ")"),
                retry_after=retry_after,
            ),
            reached_server=False,  # a throttled request was refused, not processed
            retry_after=retry_after,
        )
    if response.status_code >= 500 or response.status_code == 408:
        raise Fault(
            HTTPStatusError(
                f"{request.describe()} answered HTTP {response.status_code} "
                # The status text may echo what was sent (a PHP header() of a message).
                f"({redact_text(response.reason_phrase, request.secrets)}); "
                "the API or a proxy in front of it failed",
                status_code=response.status_code,
            ),
            reached_server=True,
            retry_after=retry_after_seconds(response.headers, clock),
        )
    status = response.status_code
    if 300 <= status < 400:
        location = response.headers.get("location")
        # Without its query (the token's place), nor what was sent that its path echoes.
        to = (
            redact_text(redact_url(location), request.secrets)
            if location
            else "nowhere (no Location)"
        )
        raise Fault(
            HTTPStatusError(
                f"{request.describe()} answered a redirect (HTTP {status}) to {to}; the API "
                "does not redirect its calls: check base_url (http or https, the /api/ path)",
                status_code=status,
            ),
            reached_server=True,
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
        garbled: ResponseFormatError | None = exc
    else:
        garbled = None
    if garbled is not None:
        # A garbled 200 may be a proxy's blip; a 204 or a 4xx page says the same again.
        transient = 200 <= status < 300 and status != 204
        # Named for the call, and made outside the except block: the context of the
        # decoder's error (a value it could not read) may quote a secret.
        named = ResponseFormatError(
            f"{request.describe()}: {garbled}",
            status_code=garbled.status_code,
            content_type=garbled.content_type,
            snippet=garbled.snippet,
        )
        raise Fault(named, reached_server=True, transient=transient)
    envelope = hide_echoed_error(envelope, request.secrets)  # its messages show it
    if request.action != "read":  # a write's note (WriteResult.info) may echo it too
        envelope = hide_echoes_in_note(envelope, request.secrets)
    if response.status_code >= 400 and envelope.success:
        raise HTTPStatusError(
            f"{request.describe()} answered HTTP {response.status_code} with a success envelope",
            status_code=response.status_code,
        )
    return Reply(envelope, http_date(response.headers.get("date")))
