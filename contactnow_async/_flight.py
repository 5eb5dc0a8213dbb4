"""One token fetch that many calls wait on (:class:`Flight`), and what a call that stops
waiting raises (:class:`TokenTimeout`); the fetch itself is ``TokenManager``'s."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from ._errors import RequestTimeout
from ._http import _running_loop

if TYPE_CHECKING:
    from ._models import Token

__all__ = ["Flight", "TokenTimeout"]


class Flight:
    """One token fetch that many callers wait on: its token, its error, or both (an
    early refresh that failed hands out the token held). ``done`` is set as its task
    ends; ``loop`` is the event loop it runs on, ``task`` its asyncio task (kept: the
    loop holds only a weak reference); ``waiting`` counts the calls waiting for it (with
    none left, its failure is logged: nobody raises it)."""

    __slots__ = ("done", "error", "loop", "task", "token", "waiting")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.token: Token | None = None
        self.error: BaseException | None = None
        self.loop = _running_loop()
        self.task: object = None
        self.waiting = 0


class TokenTimeout(Exception):
    """The caller's ``give_up_at`` passed before a token came: ``led`` says whether the
    fetch it waited for was started for it or for another caller (either goes on)."""

    def __init__(self, *, led: bool) -> None:
        # What it waited for, as the client's RequestTimeout says it.
        super().__init__(
            "its token fetch (token.php)"
            if led
            else "the token fetch it waited for (another call's)"
        )
        self.led = led

    def timeout(self, call: str, bound: str, again: str = "") -> RequestTimeout:
        """The ``call``'s RequestTimeout: its ``bound`` (``Transport.call_bound``: its
        deadline) passed while it waited for a token, so nothing (more) was sent."""
        return RequestTimeout(
            f"{call} was not sent{again}: {self} did not finish within {bound}", sent=False
        )
