"""The endpoint registry: which handler answers a ``(script, method)``, and the API's refusals.

A handler is a plain function ``(request, state) -> reply`` registered with
:func:`endpoint`, with the actions it answers (``actions=``; none for a script that
takes no action, as ``reporting.php``). That table is what a fault's or a count's
``action`` filter is checked against. :meth:`Registry.dispatch` applies the rules
every script shares, in the vendor's order:

1. a script API v2 does not document answers ``Unknown script``;
2. a token is checked unless the endpoint says ``needs_token=False``
   (``token.php``); a known script with an unknown method still checks it;
3. a method no handler claims answers ``Unknown method``;
4. an action the handler does not declare answers ``Unknown action``;
5. a handler raising :class:`PayloadError` or :class:`BadArgument` answers
   ``success: false`` with its text.

Every refusal is HTTP 200 with ``{"success": false, "error": ...}``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import attrs

from contactnow_async._clock import Clock

from .._asgi import Request
from .._scenario import Scenario
from .._tokens import IssuedTokens
from .._wire import BinaryReply, PayloadError, Reply
from ._conventions import BadArgument, error

__all__ = [
    "DOCUMENTED_SCRIPTS",
    "ENDPOINTS",
    "Endpoint",
    "Handler",
    "Registry",
    "SimState",
    "endpoint",
]

#: Every script API v2 documents, modelled or not; any other answers ``Unknown script``.
DOCUMENTED_SCRIPTS = frozenset(
    {"token", "database", "ajax", "ecnow", "reporting", "recording", "click2dial", "agent"}
)


@attrs.frozen
class SimState:
    """What a handler reads and changes: the scenario, the issued tokens, the account's settings.

    The simulator builds one per request from its own attributes, under its
    lock, so a handler may change the scenario and the tokens freely. A handler
    takes the request's time from ``scenario.now`` (what the scenario was played
    to), not from ``clock``: a moving clock read again is later, and a change
    stamped then would precede, in the books, events due before it.
    """

    scenario: Scenario
    tokens: IssuedTokens
    clock: Clock
    username: str
    password: str = attrs.field(repr=False)
    token_lifetime: float
    log_delay: float
    ajax_page_limit: int | None
    account_id: str
    ccname: str


Handler = Callable[[Request, SimState], "Reply | BinaryReply"]
_H = TypeVar("_H", bound=Handler)


@attrs.frozen
class Endpoint:
    """One handler and the ``(script, method)`` it answers."""

    script: str
    #: None: the script takes no method (``token.php``, ``agent.php``) and any
    #: ``method`` argument is ignored.
    method: str | None
    handler: Handler
    #: The element name of each ``list`` row in XML replies (``<agent>``).
    item: str = "item"
    needs_token: bool = True
    #: For an endpoint of no method that answers by it (``reporting.php``): the methods.
    methods: frozenset[str] = frozenset()
    #: The actions it answers; None: it takes no action (any ``action`` is ignored).
    actions: frozenset[str] | None = None


class Registry:
    """The endpoints the simulator answers, found by script and method."""

    def __init__(self, scripts: Iterable[str] = DOCUMENTED_SCRIPTS) -> None:
        self._scripts = frozenset(scripts)
        self._endpoints: dict[tuple[str, str | None], Endpoint] = {}

    def __iter__(self) -> Iterator[Endpoint]:
        """Every endpoint registered, in the order they were."""
        return iter(self._endpoints.values())

    def add(self, endpoint: Endpoint) -> None:
        """Register ``endpoint``; raises ValueError for an unknown script or a taken key."""
        if endpoint.script not in self._scripts:
            raise ValueError(
                f"{endpoint.script!r} is not one of the scripts {sorted(self._scripts)}"
            )
        key = (endpoint.script, endpoint.method)
        if key in self._endpoints:
            raise ValueError(f"{key} already has a handler: {self._endpoints[key].handler!r}")
        self._endpoints[key] = endpoint

    def endpoint(
        self,
        script: str,
        method: str | None = None,
        *,
        item: str = "item",
        needs_token: bool = True,
        methods: Iterable[str] = (),
        actions: Iterable[str] | None = None,
    ) -> Callable[[_H], _H]:
        """Return a decorator registering its function as the handler of ``script``/``method``
        for ``actions`` (None: it takes no action)."""

        def register(handler: _H) -> _H:
            endpoint = Endpoint(
                script, method, handler, item=item, needs_token=needs_token,
                methods=frozenset(methods),
                actions=None if actions is None else frozenset(actions),
            )  # fmt: skip
            self.add(endpoint)
            return handler

        return register

    def methods(self, script: str | None = None) -> frozenset[str] | None:
        """The methods requests to ``script`` are answered for (to any script modelled,
        for None); None for a script API v2 documents that no handler models
        (``click2dial``): any method may be asked of it."""
        found: set[str] = set()
        for name in [script] if script is not None else sorted(self._scripts):
            endpoints = [e for (owner, _), e in self._endpoints.items() if owner == name]
            if not endpoints and script is not None:
                return None
            for endpoint in endpoints:
                found |= {endpoint.method} if endpoint.method is not None else endpoint.methods
        return frozenset(found)

    def actions(
        self, script: str | None = None, method: str | None = None
    ) -> frozenset[str] | None:
        """The actions requests to ``script`` (any modelled, for None) and ``method`` (any,
        for None) are answered for; None when one of those may take any (``click2dial``, a
        script API v2 documents that no handler models)."""
        if script is not None and self.methods(script) is None:
            return None
        found: set[str] = set()
        for (owner, own_method), endpoint in self._endpoints.items():
            if script in (None, owner) and method in (None, own_method, *endpoint.methods):
                found |= endpoint.actions or frozenset()
        return frozenset(found)

    def find(self, script: str, method: str) -> Endpoint | None:
        """Return the endpoint for ``script`` and ``method``, or None."""
        found = self._endpoints.get((script, method))
        return found if found is not None else self._endpoints.get((script, None))

    def dispatch(self, request: Request, state: SimState) -> tuple[Reply | BinaryReply, str]:
        """Return the reply to ``request`` and the element name of its XML list rows."""
        if request.script not in self._scripts:
            return error("Unknown script"), "item"
        found = self.find(request.script, request.method)
        if found is None or found.needs_token:
            token = request.args.get("token", "")
            refusal = state.tokens.refusal(token, request.address, now=state.clock.now())
            if refusal is not None:
                return refusal, "item"
        if found is None:
            return error("Unknown method"), "item"
        if found.actions is not None and request.action not in found.actions:
            return error("Unknown action"), found.item
        try:
            return found.handler(request, state), found.item
        except PayloadError as exc:
            return error(f"Invalid payload: {exc}"), found.item
        except BadArgument as exc:
            return error(str(exc)), found.item


#: The simulator's endpoints; each module of this package adds its own on import.
ENDPOINTS = Registry()
endpoint = ENDPOINTS.endpoint
