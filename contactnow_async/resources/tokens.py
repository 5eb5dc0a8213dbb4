"""``token.php``: the token the client holds, and asking the API about it."""

from __future__ import annotations

import ipaddress
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
#: Fetches a new token from ``token.php?action=get`` (for another address, if given).
TokenFetch = Callable[[str | None], Awaitable[Token]]


class Tokens(Resource):
    """The client's token: get it, check it with the API, or replace it."""

    __slots__ = ("_fetch", "_manager", "_send")

    def __init__(
        self, client: ContactNow, manager: TokenManager, *, send: TokenRequest, fetch: TokenFetch
    ) -> None:
        super().__init__(client)
        self._manager = manager
        self._send = send
        self._fetch = fetch

    @property
    def fetches(self) -> int:
        """How many tokens this client fetched from ``token.php`` for itself so far (the
        tokens :meth:`get` fetches for another ``address`` are not counted)."""
        return self._manager.fetches

    def _check_open(self) -> None:
        if self._client.is_closed:
            raise RuntimeError("this ContactNow client is closed; create a new one")

    async def get(self, *, address: str | None = None) -> Token:
        """Return the shared token, fetching one if none is fresh.

        ``address`` asks ``token.php`` for a token bound to another IP address
        (tokens are bound to the address that fetched them): for a token handed
        to a process on another host, say through a shared store. Such a token
        is fetched every time, and is not this client's shared token.
        """
        self._check_open()
        if address is not None:
            if not isinstance(address, str):  # ip_address(167772167) is 10.0.0.7
                raise TypeError(f"address must be an IP address as text, not {address!r}")
            try:
                address = str(ipaddress.ip_address(address))  # IPv4 or IPv6, nothing else
            except ValueError:
                raise ValueError(f"address must be an IP address, not {address!r}") from None
            return await self._fetch(address)
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
        # Read before judging: -1 also arrives as "-1.0", which token_expiry accepts.
        # An error text beside success 1 is a refusal too (the vendor's XML error form).
        valid = envelope.success and not envelope.error
        expires_ts = None if not valid or expire in (None, "") else token_expiry(expire)
        if not valid or expires_ts == -1:
            raise TokenError(
                f"token.php says the token is not valid: {envelope.error or 'expired'}",
                error=envelope.error,
                envelope=envelope,
            )
        if expires_ts is None:
            return token
        return Token(value=token.value, expires_ts=expires_ts, clock_offset=token.clock_offset)
