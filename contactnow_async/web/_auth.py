"""Who may read the wallboard: one bearer token, compared in constant time; and from which
other origins (CORS).

The token goes in an ``Authorization: Bearer`` header, or in ``?access_token=``
where no header can be set (a browser's ``EventSource``). The page never puts the
token itself in a URL, where proxies and access logs keep it: it asks
``/stream-token`` (with the header) for a **stream token**, ``s1.<expires_ts>.<mac>``
with ``mac`` an HMAC-SHA256 of the expiry keyed by the token, and opens the
stream with that. A stream token is refused (401) once expired, and a stream opened
with it ends then (the page reconnects with a new one); it cannot be turned back into
the token, nor mint another (``/stream-token`` needs the token itself), so one that
leaked from a log is good until its expiry and no longer.

Every comparison is :func:`hmac.compare_digest` on bytes of one length (a presented
token's SHA-256 against the token's, a MAC against a MAC): how long a refusal takes
says nothing about how much of a guess was right, nor how long the token is.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable, Mapping

_STREAM_TOKEN = re.compile(r"s1\.([0-9]{1,12})\.([0-9a-f]{64})")


class Guard:
    """Checks the bearer token of a request; ``token=None`` lets everyone in.

    Whitespace around ``token`` is not part of it, as it is not of a presented one.

    ``stream_ttl`` is how long a stream token is good for (seconds); ``clock``
    gives unix time (the wall clock: a stream token outlives no process restart
    in meaning, only in time).
    """

    def __init__(
        self,
        token: str | None,
        *,
        stream_ttl: float = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if token is not None and not token.strip():
            raise ValueError("auth_token is empty: give a real secret, or None for no auth")
        # Stripped as a presented token is (a secret read from a file ends in a newline):
        # otherwise no request could ever match it.
        self._token = None if token is None else token.strip().encode("utf-8")
        # What a presented token is compared with: its digest, so that both sides of the
        # comparison have one length whatever is presented (compare_digest's time tells
        # the lengths it was given, and so the token's).
        self._digest = None if self._token is None else hashlib.sha256(self._token).digest()
        self.stream_ttl = stream_ttl
        self.clock = clock

    @property
    def required(self) -> bool:
        """True when requests must carry the token."""
        return self._token is not None

    def __repr__(self) -> str:
        return f"<Guard required={self.required}>"  # never the token

    def allows(
        self, headers: Mapping[str, str], query: Mapping[str, str], *, stream: bool = True
    ) -> bool:
        """Whether the request's header or ``access_token`` carries a good token
        (``stream=False``: the token itself, not a stream token)."""
        if self._token is None:
            return True
        return self.check(_presented(headers, query), stream=stream)

    def ends(self, headers: Mapping[str, str], query: Mapping[str, str]) -> float | None:
        """When (``time.monotonic()``) the stream token of an allowed request expires; None
        for the token itself, which does not: a stream lives no longer than its token."""
        match = _STREAM_TOKEN.fullmatch(_presented(headers, query))
        if self._token is None or match is None:
            return None
        return time.monotonic() + int(match.group(1)) - self.clock()

    def check(self, presented: str, *, stream: bool = True) -> bool:
        """Whether ``presented`` is the token or (``stream``) an unexpired stream token."""
        expected = self._digest
        if expected is None:
            return True
        if not presented:
            return False
        match = _STREAM_TOKEN.fullmatch(presented) if stream else None
        if match is None:
            digest = hashlib.sha256(presented.encode("utf-8")).digest()
            return hmac.compare_digest(digest, expected)
        expires_ts = int(match.group(1))
        good = hmac.compare_digest(match.group(2).encode("ascii"), self._mac(expires_ts))
        return good and expires_ts > self.clock()

    def mint(self) -> tuple[str, int] | None:
        """A new stream token and its expiry (unix seconds); None without a token."""
        if self._token is None:
            return None
        expires_ts = int(self.clock() + self.stream_ttl)
        return f"s1.{expires_ts}.{self._mac(expires_ts).decode('ascii')}", expires_ts

    def _mac(self, expires_ts: int) -> bytes:
        assert self._token is not None
        message = f"contactnow-wallboard-stream:{expires_ts}".encode("ascii")
        return hmac.new(self._token, message, hashlib.sha256).hexdigest().encode("ascii")


def _presented(headers: Mapping[str, str], query: Mapping[str, str]) -> str:
    """The token a request presents: its ``Authorization: Bearer``, else ``access_token``."""
    scheme, _, presented = headers.get("authorization", "").partition(" ")
    presented = _as_sent(presented)
    if scheme.lower() != "bearer" or not presented.strip():
        presented = query.get("access_token", "")
    return presented.strip()


def _as_sent(value: str) -> str:
    """A header's text as its client wrote it: the server read the bytes as Latin-1 (what
    a browser sends for such characters), every other client sends UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:  # not UTF-8 (a browser's Latin-1), or not read as Latin-1 here
        return value


#: What a browser sends as its ``Origin``: a scheme, ``://``, a host and maybe a port.
_ORIGIN = re.compile(r"([a-z][a-z0-9+.-]*)://([^/?#@\s]+?)(:[0-9]+)?")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def cors_allowed(origins: Iterable[str]) -> list[str]:
    """``origins`` as a browser's ``Origin`` header writes them (lower case, no default
    port, a port without leading zeros), for an exact match; ValueError for one no browser
    ever sends (a path, a slash at the end, a ``*`` in the host, a host beyond ASCII, a
    port out of range): CORS would stay shut for it without a word. ``*`` and ``null`` are
    kept."""
    if isinstance(origins, str):  # list("https://a.example") is its characters
        raise TypeError("cors_origins is a list of origins, not one string: [origin, ...]")
    allowed = []
    for origin in origins:
        match = _ORIGIN.fullmatch(origin.lower())
        if origin in ("*", "null"):
            allowed.append(origin)
        elif match is None:
            raise ValueError(
                f"{origin!r} is not an origin: scheme://host[:port], with no path, "
                "no slash at the end"
            )
        else:
            scheme, host, port = match.groups()
            _check_host(origin, host)
            number = None if port is None else int(port[1:])
            if number is not None and not 0 < number <= 65_535:
                raise ValueError(f"{origin!r} has no port a browser can use: 1 to 65535")
            shown = "" if number in (None, _DEFAULT_PORTS.get(scheme)) else f":{number}"
            allowed.append(f"{scheme}://{host}{shown}")
    return allowed


def _check_host(origin: str, host: str) -> None:
    """ValueError for a host no browser's ``Origin`` has: a pattern, or one beyond ASCII."""
    if "*" in host:  # Starlette matches each origin exactly
        raise ValueError(
            f"{origin!r} is a pattern, and origins are matched exactly: list each one "
            "(or give '*' alone, for any)"
        )
    if not host.isascii():
        try:
            written = host.encode("idna").decode("ascii")
        except UnicodeError:
            written = "xn--..."
        raise ValueError(
            f"{origin!r} has a host beyond ASCII, and a browser's Origin writes it in "
            f"ASCII: give {written}"
        )
