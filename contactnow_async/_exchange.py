"""What goes into the transport and what comes out: a request, a decoded reply, a file."""

from __future__ import annotations

from typing import Protocol

import attrs

from ._wire import Envelope

__all__ = ["ApiRequest", "Fetched", "Reply", "Sink"]


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
        call = self.call()
        return f"{self.script}.php {call}" if call else f"{self.script}.php"

    def call(self) -> str:
        """``method=agents action=read``: which call of its script this is ("" for none)."""
        parts = []
        if self.method:
            parts.append(f"method={self.method}")
        if self.action:
            parts.append(f"action={self.action}")
        return " ".join(parts)


@attrs.frozen
class Reply:
    """A decoded reply, and the server's clock (the ``Date`` header) when it was sent."""

    envelope: Envelope
    server_date: float | None = None

    def resent(self) -> Reply:
        """This reply, to a resend after an earlier attempt may have reached the server
        (:attr:`Envelope.resent`)."""
        return attrs.evolve(self, envelope=attrs.evolve(self.envelope, resent=True))


@attrs.frozen
class Fetched:
    """A file the server sent (not an envelope): its size in bytes and content type."""

    size: int
    content_type: str | None = None


class Sink(Protocol):
    """Where a download's bytes go: ``expect`` once a reply's head is in (the size it
    declares, or None), then written in order; ``rewind`` before a retry (False: it
    cannot start again, and the download is not retried)."""

    def expect(self, size: int | None) -> None: ...

    def write(self, data: bytes) -> None: ...

    def rewind(self) -> bool: ...
