"""``token.php``: the token the client holds, and asking the API about it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._errors import TokenError
from .._models import Token, token_expiry
from .._tokens import TokenManager
from .._transport import Reply
from ._base import Resource

if TYPE_CHECKING:
    from .._client import ContactNow

#: Sends one ``token.php`` request: ``(action, params) -> Reply``.
TokenRequest = Callable[[str, Mapping[str, Any]], Awaitable[Reply]]


class Tokens(Resource):
    """The client's token: get it, check it with the API, or replace it."""

    __slots__ = ("_manager", "_send")

    def __init__(self, client: ContactNow, manager: TokenManager, send: TokenRequest) -> None:
        super().__init__(client)
        self._manager = manager
        self._send = send

    @property
    def fetches(self) -> int:
        """How many tokens this client fetched from ``token.php`` so far."""
        return self._manager.fetches

    def _check_open(self) -> None:
        if self._client.is_closed:
            raise RuntimeError("this ContactNow client is closed; create a new one")

    async def get(self) -> Token:
        """Return the shared token, fetching one if none is fresh."""
        self._check_open()
        return await self._manager.token()

    async def refresh(self) -> Token:
        """Fetch a new token now, whatever the current one's state."""
        self._check_open()
        return await self._manager.renew()

    async def validate(self) -> Token:
        """Ask ``token.php?action=validate`` whether the current token is valid.

        Returns the token with the expiry the API reports; raises
        :class:`TokenError` (``Invalid token``, ``Expired token``) when it is not.
        """
        token = await self.get()
        envelope = (await self._send("validate", {"token": token.value})).envelope
        expire = envelope.raw.get("expire")
        if not envelope.success or str(expire) == "-1":
            raise TokenError(
                f"token.php says the token is not valid: {envelope.error or 'expired'}",
                error=envelope.error,
                envelope=envelope,
            )
        if expire in (None, ""):
            return token
        return Token(
            value=token.value, expires_ts=token_expiry(expire), clock_offset=token.clock_offset
        )
