"""What a client is built with: the API hosts, the frozen options, and the resend rule."""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping, Sequence
from datetime import timezone, tzinfo
from typing import Any, Final

import attrs
import httpx

from ._http import Wire
from ._redact import REDACTED, redact_user_info
from ._values import utf8_text
from ._wire import Format

__all__ = [
    "DEFAULT_MAX_DOWNLOAD_BYTES",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "ClientOptions",
    "Region",
    "RetryPolicy",
    "check_call",
    "check_options",
    "normalise_base_url",
    "resend_is_safe",
]

DEFAULT_MAX_RESPONSE_BYTES: Final = 64 * 1024 * 1024
#: The largest file (a call recording) a download writes; an hour of 8 kHz WAV is 58 MB.
DEFAULT_MAX_DOWNLOAD_BYTES: Final = 512 * 1024 * 1024


class Region(str, enum.Enum):
    """The ContactNow API hosts (see the vendor's table of web login URLs)."""

    EU = "https://api-106.dxi.eu/"
    """app.easycontactnow.com: Europe and the rest of the world."""
    US = "https://api.contactnow.8x8.com/api/"
    """app.contactnow.8x8.com: the United States."""


def resend_is_safe(script: str, method: str | None, action: str | None) -> bool:
    """Whether resending this request after it may have been processed is harmless.

    Reads change nothing; ``priority`` creates are documented as idempotent (an
    existing assignment is not duplicated); agent updates set the same fields
    again. Creates of agents, datasets and records are not: each one adds a new
    row. Record and dataset updates are not either, as far as this rule can
    tell: a record's ``notes_append`` adds a line each time it is sent, and a
    dataset set to ``EXPIRED`` refuses every edit after it, the resend too
    (``cn.records.update`` and ``cn.datasets.update`` declare the others
    idempotent themselves). Anything else not a read (the generic scripts, a
    call without ``action``) is assumed unsafe.
    """
    if action in ("read", "validate", "get"):
        return True
    if script == "database" and method == "priority" and action in ("create", "update"):
        return True
    return script == "database" and method == "agents" and action == "update"


#: What ``request()`` sends itself: PHP reads the last of a name sent twice.
_OWN_PARAMS: Final = frozenset({"action", "method", "format", "raw", "token"})
#: The script names ``check_call`` has let through (most calls ask two or three); a few
#: are kept, so a program that makes up names cannot grow it without bound.
_SCRIPTS: set[str] = set()
_SCRIPTS_KEPT: Final = 32


def check_call(
    script: str,
    params: Mapping[str, Any] | None,
    payload: Sequence[Mapping[str, Any]] | None,
    idempotent: bool | None = None,
) -> None:
    """Refuse what ``request()`` would send other than meant: a script name that is not
    one (``x?y=1``, ``../x``, ``x#y``: it goes into the URL's path as it is), params that
    set what the client sends itself, a payload that is not a list of records, an
    ``idempotent`` other than True, False or None (``"no"`` is truthy: a write would be
    resent after the server may have done it)."""
    if idempotent is not None and not isinstance(idempotent, bool):
        raise TypeError(f"idempotent must be True, False or None, not {idempotent!r}")
    if script.__class__ is not str or script not in _SCRIPTS:  # a list: not "unhashable"
        if not isinstance(script, str):
            raise TypeError(f"script must be a script's name (text), not {script!r}")
        if not script or not all(c.isascii() and (c.isalnum() or c in "_-") for c in script):
            raise ValueError(
                f"script must be a script's name without .php (database, click2dial), "
                f"not {script!r}"
            )
        if len(_SCRIPTS) < _SCRIPTS_KEPT:
            _SCRIPTS.add(script)
    if params and not _OWN_PARAMS.isdisjoint(params):  # sent twice, PHP reads the last
        clash = ", ".join(sorted(_OWN_PARAMS.intersection(params)))
        raise ValueError(f"params may not set {clash}: the client sends it (method=, action=)")
    if isinstance(payload, (Mapping, str, bytes)):  # each record's shape: encode_payload's
        raise TypeError("payload must be a list of records (mappings): wrap one in [...]")


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


@attrs.frozen(kw_only=True)
class ClientOptions:
    """What a :class:`ContactNow` was built with; read-only, as ``cn.options``.

    The transport and the token manager are made from these once, so changing
    one later could not take effect: they are frozen instead of silently ignored.
    """

    # A gateway's password in the URL's user info is sent, never shown.
    base_url: str = attrs.field(repr=lambda url: repr(redact_user_info(url)))
    username: str
    format: Format = "json"
    timeout: float | httpx.Timeout = 30.0
    deadline: float | None = None
    max_retries: int = 2
    max_concurrency: int = 20
    token_margin: float = 60.0
    campaign: str | None = None
    retry_backoff: float = 0.5
    retry_backoff_max: float = 10.0
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES
    #: The zone ``ecnow`` record dates ("YYYY-MM-DD HH:MM:SS", no zone) are read and written in.
    record_tz: tzinfo = timezone.utc
    #: What the client's own http_client runs on: "auto", "httpx", "aiohttp", or the
    #: ``httpx.AsyncBaseTransport`` it sends through.
    transport: Wire = "auto"

    @property
    def attempt_timeout(self) -> float | None:
        """The bound on one attempt, start to last byte (None: httpx's per-read timeouts only)."""
        if isinstance(self.timeout, httpx.Timeout):
            parts = [self.timeout.connect, self.timeout.write, self.timeout.read]
            if any(part is None for part in parts):
                return None
            return float(sum(part for part in parts if part is not None))
        return float(self.timeout)

    @property
    def call_deadline(self) -> float | None:
        """The bound on one call across its retries: ``deadline``, or one derived from
        ``timeout`` (every attempt at its bound, every backoff at its ceiling)."""
        if self.deadline is not None:
            return self.deadline
        attempt = self.attempt_timeout
        if attempt is None:
            return None
        return attempt * (self.max_retries + 1) + self.retry_backoff_max * self.max_retries


def call_bound(options: ClientOptions) -> str:
    """``options.call_deadline`` as a timeout's message names it: the ``deadline`` given,
    or the time ``timeout`` allows a call (not "the deadline" of a caller who set none)."""
    bound, attempt = options.call_deadline, options.attempt_timeout
    if options.deadline is not None or bound is None or attempt is None:
        return f"the deadline of {bound:g}s" if bound is not None else "no deadline"
    return (
        f"{bound:g}s, the time timeout={attempt:g}s allows a call with "
        f"max_retries={options.max_retries}"
    )


#: The options that are counts, and those that are amounts (seconds, bytes): a bool is
#: neither (``deadline=True`` was a deadline of one second, ``max_response_bytes=True`` a
#: cap of one byte), text failed a comparison with a bare TypeError, and 2.5 is no count
#: (``max_concurrency=2.5`` failed at the first call, in anyio's words).
_COUNTS: Final = ("max_retries", "max_concurrency")
#: token_margin's bound: a token lasts 11 hours and 59 seconds (TOKEN.md); a margin as
#: long would have every token refreshed before each call.
MAX_TOKEN_MARGIN: Final = 11 * 3600
_AMOUNTS: Final = ("deadline", "token_margin", "retry_backoff", "retry_backoff_max",
                   "max_response_bytes", "max_download_bytes")  # fmt: skip


def _check_types(options: ClientOptions) -> None:
    for name in _COUNTS:
        value = getattr(options, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be a whole number, not {value!r}")
    for name in _AMOUNTS:
        value = getattr(options, name)
        if name == "deadline" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number, not {value!r}")
    timeout = options.timeout
    if not isinstance(timeout, httpx.Timeout) and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float))
    ):
        raise TypeError(f"timeout must be seconds or an httpx.Timeout, not {timeout!r}")
    campaign: object = options.campaign  # sent on every call: True went as "True"
    if campaign is not None and (
        isinstance(campaign, bool) or not isinstance(campaign, (str, int))
    ):
        raise TypeError(f"campaign must be the contact centre's id (text), not {campaign!r}")


def check_credentials(username: object, password: object) -> None:
    """Refuse credentials no request can carry, quoting neither: missing, not text, or not
    UTF-8 text (a byte a locale could not decode, kept as a lone surrogate, which the first
    request's encoding error quoted with its position)."""
    if not username or not password:
        raise ValueError("username and password are required (the API credentials 8x8 issued)")
    for name, value in (("username", username), ("password", password)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be text, not {type(value).__name__}")
        if not utf8_text(value):
            raise ValueError(f"the {name} is not UTF-8 text (it is not shown)")


def check_options(options: ClientOptions) -> None:
    """Refuse an option out of range with a ValueError (a TypeError for a wrong type)."""
    _check_types(options)
    format, timeout, deadline = options.format, options.timeout, options.deadline
    if format not in ("json", "xml"):
        raise ValueError(f"format must be 'json' or 'xml', not {format!r}")
    if options.max_retries < 0:
        raise ValueError("max_retries must be >= 0")
    if options.max_concurrency < 1:
        raise ValueError("max_concurrency must be >= 1")
    # "not x >= y": NaN compares false with everything, so a NaN is refused too.
    if isinstance(timeout, (int, float)) and (isinstance(timeout, bool) or not timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    if deadline is not None and not deadline > 0:
        raise ValueError(f"deadline must be a positive number of seconds, not {deadline!r}")
    if not 0 <= options.token_margin < MAX_TOKEN_MARGIN:  # every token would be due at once
        raise ValueError(
            f"token_margin must be from 0 to under {MAX_TOKEN_MARGIN} seconds (a token lasts "
            f"11 hours and 59 seconds), not {options.token_margin!r}"
        )
    if not (options.retry_backoff >= 0 and options.retry_backoff_max >= 0):
        raise ValueError("retry_backoff and retry_backoff_max must be >= 0 seconds")
    if not isinstance(options.record_tz, tzinfo):
        raise TypeError(f"record_tz must be a tzinfo (say timezone.utc), not {options.record_tz!r}")
    for name in ("max_response_bytes", "max_download_bytes"):
        if not getattr(options, name) >= 1:
            raise ValueError(f"{name} must be >= 1, not {getattr(options, name)!r}")


def normalise_base_url(base_url: str) -> str:
    """``base_url`` checked (http(s), a host, a valid port, no query or fragment) and
    ending in ``/``."""
    try:
        url = httpx.URL(base_url)
        port = url.port
    except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
        message = f"base_url is not a valid URL ({exc}): {base_url!r}"
        raise ValueError(_without_user_info(message, base_url)) from None
    if url.scheme not in ("http", "https") or not url.host:
        message = f"base_url must be an http(s) URL, not {base_url!r}"
        raise ValueError(_without_user_info(message, base_url))
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"base_url's port must be 1 to 65535, not {port}")
    if url.query:
        raise ValueError("base_url must not carry a query string")
    if url.fragment:  # the script's name would be joined into it, never sent
        raise ValueError("base_url must not carry a fragment (#...)")
    text = str(url)
    # Script names are joined onto the path (the US host lives under /api/).
    return text if text.endswith("/") else text + "/"


def token_key(options: ClientOptions) -> str:
    """The token store's key of a client: ``<base URL>|<username>``, the base URL without
    its user info (a gateway's login, password and all, is no part of the API account, and
    a token file or a Redis key name must not hold it)."""
    base_url = str(httpx.URL(options.base_url).copy_with(userinfo=b""))
    return f"{base_url}|{options.username}"


def _without_user_info(message: str, base_url: str) -> str:
    """``message`` with the user info of ``base_url`` (``user:password@``, a gateway's,
    before its last ``@``) hidden wherever it shows, however malformed the URL."""
    head, at, _ = base_url.rpartition("@")
    user_info = head.split("//", 1)[-1]
    return message.replace(user_info, REDACTED) if at and user_info else message
