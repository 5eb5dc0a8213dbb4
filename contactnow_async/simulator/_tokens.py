"""The simulator's token store: issue tokens, and judge the token a request brings.

Not thread-safe: the :class:`~contactnow_async.simulator.Simulator` holds its
lock around every call. Times come in as arguments (``now``), so the store
follows whichever clock the simulator has.
"""

from __future__ import annotations

import secrets

import attrs

from ._wire import Reply

__all__ = ["IssuedTokens"]


@attrs.define
class _Token:
    address: str
    expire: int  # -1 once expire_all() ran


class IssuedTokens:
    """Every token the simulator issued: the address that got it and when it expires."""

    def __init__(self) -> None:
        self._tokens: dict[str, _Token] = {}
        self._current: dict[str, str] = {}  # address -> its newest token

    def issue(self, address: str, *, now: float, lifetime: float) -> tuple[str, int]:
        """Return the token bound to ``address`` and its ``expire`` (a Unix time).

        The current one while it is valid, as TOKEN.md says of ``get`` ("Get a new
        token if one does not already exist"); a new one once it has expired.
        """
        current = self._current.get(address)
        if current is not None and not _expired(self._tokens[current], now):
            return current, self._tokens[current].expire
        token = secrets.token_hex(20)
        expire = int(now + lifetime)
        self._tokens[token] = _Token(address=address, expire=expire)
        self._current[address] = token
        return token, expire

    def expire_all(self) -> None:
        """Make every token issued so far answer ``Expired token`` from now on."""
        for entry in self._tokens.values():
            entry.expire = -1

    def refusal(self, token: str, address: str, *, now: float) -> Reply | None:
        """Return the reply refusing a data request's ``token``, or None if it is good."""
        entry = self._tokens.get(token)
        if entry is None:
            return {"success": False, "error": "Unknown token"}
        if entry.address != address:
            return {"success": False, "error": "Invalid token"}
        if _expired(entry, now):
            return _expired_reply()
        return None

    def validation(self, token: str, address: str, *, now: float) -> Reply:
        """Return the reply of ``token.php?action=validate`` for ``token``.

        Unlike a data endpoint, validate answers ``Invalid token`` for a token
        it never issued too, as the vendor documents.
        """
        entry = self._tokens.get(token)
        if entry is None or entry.address != address:
            return {"success": False, "error": "Invalid token"}
        if _expired(entry, now):
            return _expired_reply()
        return {"success": True, "expire": entry.expire}


def _expired(entry: _Token, now: float) -> bool:
    return entry.expire == -1 or now >= entry.expire


def _expired_reply() -> Reply:
    return {"success": False, "error": "Expired token", "expire": -1}
