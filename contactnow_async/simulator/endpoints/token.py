"""``token.php``: get a token for a username and password, or validate one (no method)."""

from __future__ import annotations

import secrets

from .._asgi import Request
from .._wire import Reply
from ._conventions import error
from ._registry import SimState, endpoint

__all__ = ["token"]


@endpoint("token", needs_token=False, actions=["get", "validate"])
def token(request: Request, state: SimState) -> Reply:
    """Answer ``action=get`` with a token bound to the caller (or to ``address``), ``validate``
    with its expiry."""
    if request.action == "get":
        username = request.args.get("username", "")
        password = request.args.get("password", "")
        if not (
            secrets.compare_digest(username.encode(), state.username.encode())
            and secrets.compare_digest(password.encode(), state.password.encode())
        ):
            return error("Authentication failure")
        # The vendor's token reference: an optional ``address`` issues a token for another IP.
        address = request.args.get("address", "").strip() or request.address
        issued, expire = state.tokens.issue(
            address, now=state.clock.now(), lifetime=state.token_lifetime
        )
        return {"success": True, "token": issued, "expire": expire}
    if request.action == "validate":
        return state.tokens.validation(
            request.args.get("token", ""), request.address, now=state.clock.now()
        )
    return error("Unknown action")
