"""Keep passwords and tokens out of logs, exception messages and reprs.

The API carries the token (and, on ``token.php``, the password) in the query
string, so every URL the library shows is cut at the ``?``, and every body
snippet goes through :func:`redact_text` first.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

import httpx

REDACTED = "<redacted>"

# A ContactNow token is 40 hex digits; anything that long and hex is hidden too.
_TOKENISH = re.compile(r"\b[0-9a-fA-F]{32,}\b")
_SECRET_PARAMS = re.compile(r"(?i)\b(token|password|pass|pin)=([^&\s\"'<>]*)")
_SECRET_FIELDS = re.compile(r'(?i)("?(?:token|password)"?\s*[:=]\s*"?)([^",}<\s]*)')


def redact_url(url: httpx.URL | str) -> str:
    """Return the URL without its query string (where the token travels)."""
    text = str(url)
    return text.split("?", 1)[0]


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Hide known secrets, token-like hex strings and ``token=``/``password=`` values."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    text = _SECRET_FIELDS.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    return _TOKENISH.sub(REDACTED, text)


class _RedactHttpxURLs(logging.Filter):
    """Rewrite httpx's own "HTTP Request: GET <url>" records so the query is hidden."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_redact_arg(arg) for arg in record.args)
        return True


def _redact_arg(arg: Any) -> Any:
    if isinstance(arg, httpx.URL):
        return redact_url(arg)
    if isinstance(arg, str) and "?" in arg and "=" in arg:
        return redact_text(arg)
    return arg


_installed = False


def install_httpx_log_filter() -> None:
    """Attach the URL filter to httpx's logger once (httpx logs every URL at INFO)."""
    global _installed
    if not _installed:
        logging.getLogger("httpx").addFilter(_RedactHttpxURLs())
        _installed = True
