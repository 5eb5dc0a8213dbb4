"""What a token store is (:class:`TokenStore`), and the default one.

A store keeps tokens between calls and runs, keyed by base URL and username; the
:class:`~contactnow_async._tokens.TokenManager` decides when to look in it, save to it
and hold its lock. Others: :class:`~contactnow_async.FileTokenStore` (``_token_file``)
and :class:`~contactnow_async.redis.RedisTokenStore`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ._models import Token

__all__ = ["MemoryTokenStore", "TokenStore", "WrongEventLoop"]


@runtime_checkable
class TokenStore(Protocol):
    """Somewhere to keep tokens between calls, keyed by base URL and username.

    The store is a cache: an error any of its methods (and its lock) raise is logged,
    once until the store answers again, and this process fetches and uses a token of
    its own meanwhile (the API binds a token to the address that fetched it, and a new
    one does not revoke the others). Failing every call for it would fetch a new
    token each time, or none at all.
    """

    async def load(self, key: str) -> Token | None:
        """Return the stored token for ``key``, or None."""
        ...

    async def save(self, key: str, token: Token) -> None:
        """Store ``token`` under ``key``."""
        ...

    async def delete(self, key: str, token: Token) -> None:
        """Forget ``token`` under ``key``, if it is still the one stored."""
        ...

    # Optional, not part of the protocol's required surface (a store without it
    # still matches): ``def lock(self, key: str) -> AbstractAsyncContextManager[object]``,
    # a lock shared with every process using the store. The manager holds it
    # around "look in the store again, fetch if still missing, save".


class MemoryTokenStore:
    """Tokens kept in this process only (the default)."""

    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}

    async def load(self, key: str) -> Token | None:
        return self._tokens.get(key)

    async def save(self, key: str, token: Token) -> None:
        self._tokens[key] = token

    async def delete(self, key: str, token: Token) -> None:
        if self._tokens.get(key) == token:
            del self._tokens[key]

    def __repr__(self) -> str:
        return f"MemoryTokenStore(<{len(self._tokens)} tokens>)"


class WrongEventLoop(RuntimeError):
    """A store that cannot run on this event loop (RedisTokenStore under trio): the
    program's mistake, raised to the call, where a store that fails degrades."""
