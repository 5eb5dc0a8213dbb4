"""``token.php``: the token the client holds, and asking the API about it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._errors import TokenError
from .._models import Token
from .._tokens import TokenManager
from ._base import Resource

if TYPE_CHECKING:
    from .._client import ContactNow


class Tokens(Resource):
    """The client's token: get it, check it with the API, or replace it."""

    __slots__ = ("_manager",)

    def __init__(self, client: ContactNow, manager: TokenManager) -> None:
        super().__init__(client)
        self._manager = manager

    @property
    def fetches(self) -> int:
        """How many tokens this client fetched from ``token.php`` so far."""
        return self._manager.fetches

    async def get(self) -> Token:
        """Return the shared token, fetching one if none is fresh."""
        self._client._check_open()
        return await self._manager.token()

    async def refresh(self) -> Token:
        """Fetch a new token now, whatever the current one's state."""
        self._client._check_open()
        return await self._manager.renew()

    async def validate(self) -> Token:
        """Ask ``token.php?action=validate`` whether the current token is valid.

        Returns the token with the expiry the API reports; raises
        :class:`TokenError` (``Invalid token``, ``Expired token``) when it is not.
        """
        token = await self.get()
        envelope, _ = await self._client._send_with_retries(
            "token",
            None,
            "validate",
            {"action": "validate", "token": token.value, "format": self._client.format},
            None,
            None,
            safe=True,
        )
        if not envelope.success or str(envelope.raw.get("expire")) == "-1":
            raise TokenError(
                f"token.php says the token is not valid: {envelope.error or 'expired'}",
                error=envelope.error,
                envelope=envelope,
            )
        expire = envelope.raw.get("expire")
        return (
            token
            if expire in (None, "")
            else Token(value=token.value, expires_at=int(expire), clock_offset=token.clock_offset)
        )
