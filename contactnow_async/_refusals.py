"""What a ``success: false`` envelope means: a refused token, or which error to raise."""

from __future__ import annotations

import re
from typing import Final

from ._errors import APIError, AuthenticationError, BadArgumentError
from ._wire import Envelope

__all__ = ["AUTHENTICATION_FAILURE", "TOKEN_ERRORS", "api_error", "is_token_error"]

#: The error texts that mean "this token is no good" on any endpoint.
TOKEN_ERRORS: Final = frozenset({"Expired token", "Invalid token", "Unknown token"})
AUTHENTICATION_FAILURE: Final = "Authentication failure"
# "Bad argument: xyz", "Bad argument: dataset [350] is EXPIRED", "Bad argument: one of ..."
# Compiled (and cached by re) at the first refusal, not at import.
_BAD_ARGUMENT = r"(?i)\s*Bad argument\s*:\s*([A-Za-z_][\w.\-]*)"


def is_token_error(envelope: Envelope) -> bool:
    """Whether the API refused the token (nothing was done: safe to resend once)."""
    if envelope.error in TOKEN_ERRORS:  # success or not: the error text decides
        return True
    return not envelope.success and _is_minus_one(envelope.raw.get("expire"))


def _is_minus_one(value: object) -> bool:
    """``expire == -1`` as the vendor's PHP wrapper compares it (loosely): ``-1``, ``-1.0``,
    ``"-1.0"``, ``" -1"`` alike; not a bool, nor text that is no number."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return False
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == -1


def api_error(what: str, envelope: Envelope) -> APIError:
    """The error to raise for a refusal of ``what`` (``database.php method=agents ...``)."""
    text = envelope.error
    if text == AUTHENTICATION_FAILURE:
        return AuthenticationError(f"{what}: Authentication failure", error=text, envelope=envelope)
    bad = re.match(_BAD_ARGUMENT, text or "")
    if bad is not None:
        argument = bad.group(1)
        if argument.lower() == "one":  # "Bad argument: one of table or dataset is required"
            argument = (text or "").split(":", 1)[1].strip()
        return BadArgumentError(
            f"{what} refused the argument {argument!r}: {text}",
            argument=argument,
            error=text,
            envelope=envelope,
        )
    return APIError(
        f"{what} failed: {text or 'no error text given'}", error=text, envelope=envelope
    )
