"""Keep passwords and tokens out of logs, exception messages and reprs.

The API carries the token (and, on ``token.php``, the password) in the query
string, so every URL the library shows is cut at the ``?``, and every body
snippet goes through :func:`redact_text` first.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import re
import threading
import urllib.parse
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import httpx

REDACTED = "<redacted>"
T = TypeVar("T")

# The patterns are used on error and log paths only: compiled there, at first use (re
# keeps them), not at import. A ContactNow token is 40 hex digits; anything that long
# and hex is hidden too.
_TOKENISH = r"\b[0-9a-fA-F]{32,}\b"
_PARAMS_TO_HIDE = r"(?i)\b(token|password|pass|pin)=(?!<redacted>)([^&\s\"'<>]*)"
_PERCENT = r"%[0-9A-F]{2}"
#: The user info of a URL: ``//user:password@`` (the password may hold anything but
#: "@", "/" and a space, percent-encoded or not).
_USER_INFO = r"(//[^\s/?#@:'\"]*):(?!<redacted>@)[^\s/?#@'\"]*@"
_FIELDS_TO_HIDE = r'(?i)("?(?:token|password)"?\s*[:=]\s*"?)([^",}<\s]*)'
#: The same fields as XML elements (``format="xml"``): ``<token>...</token>``.
_ELEMENTS_TO_HIDE = r"(?i)(<(?:token|password)(?:\s[^>]*)?>\s*)([^<\s][^<]*)"


#: Fields of a record or a query that are an agent's secrets (a reply must not echo them).
_SECRET_FIELDS = frozenset({"pin", "password"})


def secret_values(
    params: Mapping[str, Any] | None, records: Sequence[Mapping[str, Any]] | None
) -> tuple[str, ...]:
    """The values of the secret fields (``pin``, ``password``, in any case) a call sends."""
    return tuple(
        str(value)
        for record in (params or {}, *(records or ()))
        for name, value in record.items()
        if value not in (None, "") and str(name).lower() in _SECRET_FIELDS
    )


def own_secrets(password: str, base_url: str) -> tuple[str, ...]:
    """A client's own secrets: its password, and a gateway's in the user info of its base
    URL (sent as Basic auth, so a gateway or a server behind it may echo it back)."""
    return tuple(secret for secret in (password, httpx.URL(base_url).password) if secret)


#: The secrets of the request this task is sending (the transport sets them for each
#: exchange): the log filter hides them in what httpx and httpcore log meanwhile, an
#: agent's password or pin in a write among them, which no client holds. A list the
#: transport empties when the exchange ends: a copy of the context made meanwhile (a
#: deadline's timer handle, which a cancelled one leaves in the loop until it falls due)
#: then holds no secret.
SENDING: contextvars.ContextVar[list[str]] = contextvars.ContextVar("contactnow_async_sending")


def redact_url(url: httpx.URL | str) -> str:
    """Return the URL without its query string (where the token travels) and with the
    password of its user info hidden (a gateway's, in a base URL)."""
    text = str(url)
    return redact_user_info(text.split("?", 1)[0])


def redact_query(text: str) -> str:
    """Hide the query and the user info's password of every URL inside ``text`` (an
    error's or a log line's)."""
    return redact_user_info(re.sub(_QUERY_IN_URL, _cut_query, text))


def url_error(message: str, url: str) -> str:
    """``message`` about ``url`` (a Redis URL that does not parse), or a general one if it
    quotes any piece of the URL after its scheme: without an ``@``, a password stands
    where the port goes, and Python's "Port could not be cast to integer value as '...'"
    quotes it; with a ``#`` or ``?`` in the password, the parser's network location ends
    there, at a piece of it."""
    pieces = re.split(r"[:@/?#]", url.partition("//")[2])
    if any(piece in message for piece in pieces if piece):
        return "its user, password, host or port does not parse (the URL is not shown)"
    return message


def redact_user_info(text: str) -> str:
    """Hide the password of every ``scheme://user:password@host`` inside ``text``."""
    return re.sub(_USER_INFO, rf"\1:{REDACTED}@", text)


#: How many bytes of a string argument a PHP stack trace quotes (``...`` after them): an
#: uncaught exception's page, on an API that shows its errors.
_PHP_CUT = 15
#: How a PHP stack trace writes the bytes it escapes (``smart_str_append_escaped``).
_PHP_ESCAPES = {10: "\\n", 13: "\\r", 9: "\\t", 12: "\\f", 11: "\\v", 27: "\\e", 92: "\\\\"}


def _php_escaped(raw: bytes) -> str:
    """``raw`` as a PHP stack trace quotes it: a control byte, a backslash and each byte
    past ASCII escaped (``\\n``, ``\\\\``, ``\\xC3``), the rest as it is."""
    return "".join(
        chr(byte) if 32 <= byte <= 126 and byte != 92 else _PHP_ESCAPES.get(byte, f"\\x{byte:02X}")
        for byte in raw
    )


@functools.cache
def _entities() -> dict[int, str]:
    """PHP's ``htmlentities`` table: each character HTML 4 names, by its name (``&auml;``,
    ``&lt;``), and ``'`` as ``&#039;``. Built at first use (error and log paths only),
    once: building it was half the cost of finding a secret's forms."""
    from html.entities import codepoint2name

    return {**{code: f"&{name};" for code, name in codepoint2name.items()}, ord("'"): "&#039;"}


def _php_entities(secret: str) -> str:
    """``secret`` as PHP's ``htmlentities`` writes it (``_entities``)."""
    return secret.translate(_entities())


def _variants(secret: str) -> set[str]:
    """The forms a secret takes when a server echoes it: as sent in a query string
    (percent- or ``+``-encoded, in either case, as Python or PHP's urlencode writes it),
    HTML-escaped, inside JSON text, or cut as a PHP stack trace quotes it; and as the
    libraries show an echo in a reply's head: httpx reads a status text as ASCII,
    dropping the rest, and httpcore logs the head as bytes (their repr: each byte past
    ASCII escaped, and a quote too when the value holds both kinds)."""
    import html  # here, not at import: secrets are redacted on error and log paths only

    in_json = {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    raw = secret.encode()
    forms = {
        secret,
        raw.decode("ascii", "ignore"),
        repr(raw)[2:-1],
        repr(raw + b'"')[2:-2],  # inside a repr with both quotes, so "'" escaped
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote(secret),
        urllib.parse.quote_plus(secret),
        # PHP's urlencode (http_build_query's too) writes ~ as %7E, which Python leaves.
        urllib.parse.quote_plus(secret).replace("~", "%7E"),
        html.escape(secret),
        html.escape(secret, quote=False),
        # The API is PHP: htmlspecialchars writes ' as &#039;, json_encode / as \/.
        html.escape(secret).replace("&#x27;", "&#039;"),
        _php_entities(secret),  # htmlentities: &auml; for ä too
        *in_json,
        *(form.replace("/", "\\/") for form in in_json),
    }
    # A PHP stack trace's argument: its first 15 bytes (then "..." if there were more).
    in_trace = _php_escaped(raw[:_PHP_CUT]) + ("..." if len(raw) > _PHP_CUT else "")
    trace_json = json.dumps(in_trace)[1:-1]  # that trace inside a JSON reply
    forms |= {
        in_trace, html.escape(in_trace), html.escape(in_trace).replace("&#x27;", "&#039;"),
        trace_json, trace_json.replace("/", "\\/"),
    }  # fmt: skip
    # %2F and %2f are the same byte: a server may echo either case.
    forms |= {re.sub(_PERCENT, lambda m: m.group(0).lower(), form) for form in forms if "%" in form}
    return {form for form in forms if form}


#: A secret this long is hidden wherever it appears; a shorter one (an agent's pin) only
#: where it stands alone, so that "1234" does not cut "Record id [212345]" to pieces.
_LONG = 8
#: Where a short secret starts alone: after no letter or digit, or after a ``\xNN``.
_ALONE = r"(?:(?<![0-9A-Za-z])|(?<=\\x[0-9a-f]{2}))"


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Hide known secrets (in any form they are echoed in), token-like hex strings and
    ``token=``/``password=`` values."""
    return _hide(text, secret_forms(secrets))


class Secrets(tuple[str, ...]):
    """Secrets that find their forms (:func:`secret_forms`) once: an error redacts several
    texts with its request's secrets, and a client's requests share theirs until its
    token changes (``ContactNow._secrets``). Finding them was most of an error's cost.
    The forms live as long as the secrets do, in whatever holds them (a client, a
    request): nothing of them is kept anywhere else."""

    # A tuple subclass takes no slots: the forms go in the instance's __dict__.


def secret_forms(secrets: Iterable[str]) -> list[str]:
    """Every form of ``secrets`` that :func:`redact_text` hides, longest first (found once
    for a :class:`Secrets`; the list is shared, never changed)."""
    if not isinstance(secrets, Secrets):
        return _forms_of(secrets)
    forms: list[str] | None = secrets.__dict__.get("forms")
    if forms is None:
        forms = secrets.__dict__["forms"] = _forms_of(secrets)
    return forms


def reused(last: tuple[str, ...], found: tuple[str, ...]) -> Secrets:
    """``last`` when it is :class:`Secrets` holding what ``found`` holds (as a client's
    requests do until its token changes: their forms are found once), else ``found``
    as new :class:`Secrets`."""
    return last if isinstance(last, Secrets) and last == found else Secrets(found)


def as_tuple(secrets: Iterable[str]) -> tuple[str, ...]:
    """``secrets`` as a tuple: the very one when it is a tuple already (a :class:`Secrets`
    keeps the forms it found)."""
    return secrets if isinstance(secrets, tuple) else tuple(secrets)


def _forms_of(secrets: Iterable[str]) -> list[str]:
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms |= _variants(secret)
    return sorted(forms, key=len, reverse=True)


def _hide(text: str, forms: Iterable[str]) -> str:
    """:func:`redact_text` with the secrets' forms given (longest first: none half-hidden)."""
    for form in forms:
        if len(form) >= _LONG:
            text = text.replace(form, REDACTED)
        elif form in text:  # a short one (a pin) where it stands alone, not inside a number
            # (a bytes repr's \xNN escape before it is no part of it: a letter's byte)
            text = re.sub(rf"{_ALONE}{re.escape(form)}(?![0-9A-Za-z])", REDACTED, text)
    text = re.sub(_PARAMS_TO_HIDE, lambda m: f"{m.group(1)}={REDACTED}", text)
    text = re.sub(_FIELDS_TO_HIDE, lambda m: f"{m.group(1)}{REDACTED}", text)
    text = re.sub(_ELEMENTS_TO_HIDE, lambda m: f"{m.group(1)}{REDACTED}", text)
    return re.sub(_TOKENISH, REDACTED, text)


def redacted_snippet(content: bytes, secrets: Iterable[str], size: int) -> str:
    """The first ``size`` characters of a body, as text, after :func:`redact_text`.

    A wider window is redacted, then cut: a secret straddling the cut is hidden
    whole. The window's own end may cut a secret too (in its longest echoed form:
    6 characters a character as JSON's ``\\uXXXX``), and redacting shortens the
    text, so the window grows until that end lies past ``size`` after redaction,
    or holds the whole body. Past 64 KiB of a body that redacting shrinks that much,
    the snippet stops ``margin`` characters short of the redacted window's end instead.
    """
    secrets = as_tuple(secrets)
    margin = 6 * max((len(secret) for secret in secrets), default=0) + 64
    window = size + margin
    forms = secret_forms(secrets)  # once, for every window
    while True:
        text = _hide(content[:window].decode("utf-8", "replace"), forms)
        if window >= len(content):
            return text[:size]
        if len(text) >= size + margin or window >= _MAX_WINDOW:
            return text[: max(0, min(size, len(text) - margin))]
        window *= 2


#: The most of a body :func:`redacted_snippet` redacts to find its snippet.
_MAX_WINDOW = 64 * 1024


class _Learnt:
    """What reads a client's secrets, and the forms of those it read last (computing
    them is most of a redaction's cost; a client's secrets change once a token)."""

    __slots__ = ("_last", "secrets")

    def __init__(self, secrets: Callable[[Any], Iterable[str]]) -> None:
        self.secrets = secrets
        self._last: tuple[tuple[str, ...], list[str]] = ((), [])

    @property
    def seen(self) -> tuple[str, ...]:
        """The secrets read last."""
        return self._last[0]

    def forms(self, client: object) -> list[str]:
        seen, forms = self._last
        now = tuple(self.secrets(client))
        if now != seen:
            forms = secret_forms(now)
            self._last = (now, forms)  # one assignment: a thread reads both or neither
        return forms


class _RedactRequestLogs(logging.Filter):
    """Hide the query (where the token and password travel) in httpx's and httpcore's
    records: httpx logs each URL, httpcore each header, a redirect's Location included;
    and the secrets of this process's live clients, whatever their alphabet (a server
    may echo one in a reply's status text or head, which both log).

    Each client is held by weak reference, with a function that reads its secrets when
    a record is filtered (not when a request is sent): the filter keeps nothing of a
    client that is gone.
    """

    def __init__(self) -> None:
        super().__init__()
        self._clients: weakref.WeakKeyDictionary[Any, _Learnt] = weakref.WeakKeyDictionary()
        # Clients are added in one thread while another logs: the dictionary is copied
        # under the lock, never iterated while it may change. Reentrant: a finaliser
        # run by the garbage collector while it is held may log through this filter.
        self._lock = threading.RLock()

    def learn(self, client: T, secrets: Callable[[T], Iterable[str]]) -> None:
        """Hide ``secrets(client)`` from every record, for as long as ``client`` lives."""
        with self._lock:
            self._clients[client] = _Learnt(secrets)

    def forms(self) -> list[str]:
        """The forms of every live client's secrets, as they are now, longest first, and of
        the secrets of the request being sent (``SENDING``) that none of them holds (most
        often none: an agent's password or pin in a write)."""
        with self._lock:
            clients = list(self._clients.items())
        found = [learnt.forms(client) for client, learnt in clients]  # each reads its secrets
        known = {secret for _, learnt in clients for secret in learnt.seen}
        extra = [secret for secret in SENDING.get(()) if secret not in known]
        if len(found) == 1 and not extra:
            return found[0]
        every = {form for forms in found for form in forms}
        return sorted(every.union(secret_forms(extra)), key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is logging's own to report, not ours
            return True
        # Known secrets first: a query is cut at a quote (in a header httpcore logs, a
        # Location), which could leave a secret's tail past it for nothing to match.
        redacted = redact_query(_hide(message, self.forms()))
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


# A URL's query inside a log line (bytes reprs included): everything after "?" up
# to a quote, a space or the end.
_QUERY_IN_URL = r"(https?://[^\s'\"?]*)\?[^\s'\"]*"


def _cut_query(match: re.Match[str]) -> str:
    return f"{match.group(1)}?{REDACTED}"


#: Every logger a request of ours passes through. A filter on a parent logger does
#: not see its children's records, so each is named.
REQUEST_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)

_installed: _RedactRequestLogs | None = None
_installing = threading.Lock()  # two threads' first clients: one filter between them


def install_httpx_log_filter(client: T, secrets: Callable[[T], Iterable[str]]) -> None:
    """Attach the redacting filter to httpx's and httpcore's loggers, once; it hides
    ``secrets(client)`` (read when a record is logged) while ``client`` lives."""
    global _installed
    with _installing:
        if _installed is None:
            _installed = _RedactRequestLogs()
            for name in REQUEST_LOGGERS:
                logging.getLogger(name).addFilter(_installed)
    _installed.learn(client, secrets)
