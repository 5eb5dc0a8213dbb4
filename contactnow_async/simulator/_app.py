"""The simulator: a ContactNow API v2 server as an ASGI application.

:class:`Simulator` owns the state (the scenario, the issued tokens, the fault
plan, the request log) and runs each request through three parts:
:mod:`._asgi` reads it and writes the reply (faults strike there),
:mod:`.endpoints` finds the handler for its script and method, and the
handler answers from the scenario.
"""

from __future__ import annotations

import collections
import math
import operator
import threading
from datetime import timezone, tzinfo

import attrs
import httpx

from contactnow_async._clock import Clock, SystemClock, number_of_seconds

from ._asgi import (
    STOPPING,
    Receive,
    Request,
    Response,
    Scope,
    Send,
    SimulatedDisconnect,
    lifespan,
    read_request,
    respond,
    response_for,
)
from ._faults import Fault, FaultKind, Faults, fault_filter
from ._scenario import OFFLINE, Dwell, Scenario
from ._tokens import IssuedTokens
from ._wire import Value
from .endpoints import ENDPOINTS, SimState
from .endpoints.ajax import live_row
from .endpoints.status_log import log_row

__all__ = [
    "DEFAULT_TOKEN_LIFETIME",
    "RequestRecord",
    "SimulatedDisconnect",
    "Simulator",
    "SimulatorTransport",
    "Stats",
]

#: The documented token lifetime, "11 h 59 s", read literally.
DEFAULT_TOKEN_LIFETIME = 11 * 3600 + 59.0
MAX_AGENTS = 50_000


@attrs.frozen
class RequestRecord:
    """One request the simulator received (a test tool: secrets are kept)."""

    time: float
    http_method: str
    script: str
    method: str
    action: str
    args: dict[str, str]
    body: bytes
    client: str
    #: The HTTP status sent; 0 when the connection was dropped.
    status_code: int
    fault: FaultKind | None = None


@attrs.define
class Stats:
    """Counters of what the simulator received, for assertions in tests."""

    requests: int = 0
    token_gets: int = 0
    token_validates: int = 0
    faults: int = 0
    #: Requests per ``(script, method, action)``.
    calls: dict[tuple[str, str, str], int] = attrs.Factory(dict)

    def count(self, script: str, method: str | None = None, action: str | None = None) -> int:
        """Return how many requests hit ``script`` (and ``method``, ``action`` if given);
        ``script`` is the name with or without ``.php``, as for a fault, and checked as
        one is: a ``script`` no request has (``"agents"``), a ``method`` no request to it
        has (``"agent"``) or an ``action`` none to them has (``"reads"``) is a ValueError,
        a filter not a str a TypeError (each counted 0, so ``count(...) == 0`` passed on a
        typo)."""
        if script is None:
            raise TypeError("script must be a str, got None")
        name = fault_filter("script", script)  # "ajax.php" counted nothing
        method = fault_filter("method", method, script=name)
        action = fault_filter("action", action, script=name, method=method)
        return sum(
            n
            for (s, m, a), n in self.calls.items()
            if s == name and method in (None, m) and action in (None, a)
        )


def _typed(name: str, value: object, kind: type, what: str) -> None:
    """TypeError naming ``name`` unless ``value`` is a ``kind``: a wrong one was taken and
    broke far from the option (every token.php get, the constructor itself with an
    AttributeError)."""
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be {what}, got {value!r}")


def _whole(name: str, value: object) -> int:
    """``value`` as an int; ValueError naming ``name`` if it is not one (1.5, NaN, None, or
    a bool: True was one agent)."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    try:
        return operator.index(value)  # type: ignore[arg-type]  # any object: checked here
    except TypeError:
        raise ValueError(f"{name} must be a whole number, got {value!r}") from None


class SimulatorTransport(httpx.AsyncBaseTransport):
    """An in-process transport to a simulator, breaking connections like a socket would.

    A simulated disconnect surfaces as :class:`httpx.RemoteProtocolError`, the
    error httpx raises when a real server closes the connection mid-reply.
    """

    def __init__(self, app: Simulator, *, client: tuple[str, int] = ("127.0.0.1", 123)) -> None:
        # client="10.0.0.5" was taken, and every request came from "1" (its first letter).
        pair: object = client  # any object: checked here
        if not (
            isinstance(pair, (tuple, list))
            and len(pair) == 2
            and isinstance(pair[0], str)
            and isinstance(pair[1], int)
        ):
            raise TypeError(f"client must be a (host, port) pair, got {client!r}")
        self._asgi = httpx.ASGITransport(app=app, client=client)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._asgi.handle_async_request(request)
        except SimulatedDisconnect as exc:
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body (simulated)",
                request=request,
            ) from exc

    async def aclose(self) -> None:
        await self._asgi.aclose()


class Simulator:
    """A fake ContactNow API v2 server with a moving contact centre, as an ASGI app.

    Use it in process with ``httpx.AsyncClient(transport=sim.transport())`` or
    over a real socket with :func:`~contactnow_async.simulator.serve`. Every
    option is keyword-only; see the package docstring for the behaviour chosen
    where the vendor's documents are silent.

    Raises ValueError for an out-of-range option, or a count (``agents``, ``seed``, a
    retention or limit) that is not a whole number; TypeError for an option of the
    wrong type (a ``username`` that is not a str, a ``clock`` that is not a clock).
    """

    def __init__(
        self,
        *,
        username: str = "demo",
        password: str = "demo",  # noqa: S107 - the demo account of a fake server
        agents: int = 25,
        seed: int = 1,
        clock: Clock | None = None,
        token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
        dwell: Dwell | None = None,
        log_delay: float = 0.0,
        log_retention: int | None = None,
        cdr_retention: int | None = None,
        ajax_page_limit: int | None = None,
        account_id: str = "10278",
        ccname: str = "Demo_Centre",
        address_header: str | None = None,
        record_requests: bool = True,
        request_log_size: int = 100_000,
        record_tz: tzinfo = timezone.utc,
    ) -> None:
        for name, text in (
            ("username", username),
            ("password", password),
            ("account_id", account_id),
            ("ccname", ccname),
        ):
            _typed(name, text, str, "a str")
        if address_header is not None:
            _typed("address_header", address_header, str, "a header name (str) or None")
        # Only now() is read; the class itself (clock=VirtualClock) has one too.
        if clock is not None and (
            isinstance(clock, type) or not callable(getattr(clock, "now", None))
        ):
            raise TypeError(f"clock must be a clock (VirtualClock()...) or None, got {clock!r}")
        if dwell is not None:
            _typed("dwell", dwell, Dwell, "a Dwell or None")
        _typed("record_tz", record_tz, tzinfo, "a tzinfo (say timezone.utc)")
        # A count that is not an int was taken, then broke a request (or a catch-up,
        # midway through an event) the first time it was used as one.
        agents, seed = _whole("agents", agents), _whole("seed", seed)
        if log_retention is not None:
            log_retention = _whole("log_retention", log_retention)
        if cdr_retention is not None:
            cdr_retention = _whole("cdr_retention", cdr_retention)
        if ajax_page_limit is not None:
            ajax_page_limit = _whole("ajax_page_limit", ajax_page_limit)
        if _whole("request_log_size", request_log_size) < 0:
            raise ValueError(
                f"request_log_size must be a whole number of at least 0, got {request_log_size!r}"
            )
        if not 0 <= agents <= MAX_AGENTS:
            raise ValueError(f"agents must be between 0 and {MAX_AGENTS}, got {agents!r}")
        # NaN too; infinity made every token.php get raise OverflowError (no int expire).
        # Text or a bool is no number of seconds: the range checks below named nothing.
        number_of_seconds("token_lifetime", token_lifetime)
        number_of_seconds("log_delay", log_delay)
        if not 0 < token_lifetime < math.inf:
            raise ValueError(
                f"token_lifetime must be a positive finite number, got {token_lifetime!r}"
            )
        if not log_delay >= 0:
            raise ValueError(f"log_delay cannot be negative, got {log_delay!r}")
        if log_retention is not None and log_retention < 1:
            raise ValueError(f"log_retention must be at least 1, got {log_retention!r}")
        if cdr_retention is not None and cdr_retention < 1:
            raise ValueError(f"cdr_retention must be at least 1, got {cdr_retention!r}")
        if ajax_page_limit is not None and ajax_page_limit < 1:
            raise ValueError(f"ajax_page_limit must be at least 1, got {ajax_page_limit!r}")
        self.clock: Clock = SystemClock() if clock is None else clock
        self.username = username
        self._password = password
        self.token_lifetime = float(token_lifetime)
        self.log_delay = float(log_delay)
        self.ajax_page_limit = ajax_page_limit
        self.account_id = account_id
        self.ccname = ccname
        self.address_header = address_header.lower() if address_header else None
        self.record_requests = record_requests
        self._record_tz = record_tz
        self.faults = Faults()
        self.stats = Stats()
        self._lock = threading.RLock()
        self._tokens = IssuedTokens()
        self._requests: collections.deque[RequestRecord] = collections.deque(
            maxlen=request_log_size
        )
        self._scenario = Scenario(
            agents=agents,
            seed=seed,
            start=self.clock.now(),
            dwell=Dwell() if dwell is None else dwell,
            log_retention=log_retention,
            record_tz=record_tz,
            # The CDR is kept like the status log unless told otherwise.
            cdr_retention=log_retention if cdr_retention is None else cdr_retention,
        )

    def __repr__(self) -> str:
        return (
            f"Simulator(username={self.username!r}, agents={len(self._scenario.agents)}, "
            f"clock={self.clock!r})"
        )

    # -- helpers for tests -------------------------------------------------

    def now(self) -> float:
        """Return the simulator clock's time."""
        return self.clock.now()

    def catch_up(self) -> None:
        """Play the scenario up to the clock's time (every request does this first)."""
        with self._lock:
            self._scenario.advance(self.clock.now())

    def transport(self, *, client: tuple[str, int] = ("127.0.0.1", 123)) -> SimulatorTransport:
        """Return an in-process httpx transport to this simulator from address ``client``."""
        return SimulatorTransport(self, client=client)

    def issue_token(self, address: str = "127.0.0.1") -> str:
        """Return the token of ``address``, as ``token.php?action=get`` would (the current one)."""
        # A token bound to what no request comes from answered "Invalid token".
        _typed("address", address, str, "an address (str), say '127.0.0.1'")
        with self._lock:
            now = self.clock.now()
            return self._tokens.issue(address, now=now, lifetime=self.token_lifetime)[0]

    def expire_tokens(self) -> None:
        """Make every token issued so far answer ``Expired token`` from now on."""
        with self._lock:
            self._tokens.expire_all()

    @property
    def password(self) -> str:
        """The simulated account's password (the one it was made with), for a client to
        log in with (the ``contactnow_client`` fixture). Read-only: a running
        simulator keeps its account."""
        return self._password

    @property
    def record_tz(self) -> tzinfo:
        """The zone the simulated account writes record dates in (``record_tz=``), for a
        client to read them in (the ``contactnow_client`` fixture). Read-only: the records
        already written keep theirs."""
        return self._record_tz

    @property
    def requests(self) -> list[RequestRecord]:
        """Return the recorded requests, oldest first (the last ``request_log_size``)."""
        with self._lock:
            return list(self._requests)

    @property
    def transitions(self) -> int:
        """Return how many status changes the scenario played (initial rows not counted)."""
        with self._lock:
            return self._scenario.transitions

    @property
    def agent_ids(self) -> list[str]:
        """Return the scenario agents' ids, in uid order."""
        return [agent.uid for agent in self._scenario.agents]

    def status_log(self, *, visible_only: bool = True) -> list[dict[str, str]]:
        """Return the retained status_log rows, as ``status_log`` reads render them."""
        with self._lock:
            now = self.clock.now()  # read once: the rows and the visibility of one moment
            self._scenario.advance(now)
            visible = now - self.log_delay if visible_only else None
            return [log_row(row) for row in self._scenario.log_rows(visible_before=visible)]

    def live_agents(self, *, include_offline: bool = True) -> list[dict[str, Value]]:
        """Return the live rows exactly as ``ajax.php method=agents`` renders them."""
        with self._lock:
            now = self.clock.now()
            self._scenario.advance(now)
            state = self._state()
            srvtime = str(int(now))
            return [
                live_row(state, agent, srvtime)
                for agent in self._scenario.iter_agents()
                if include_offline or agent.status != OFFLINE
            ]

    # -- ASGI --------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        # Websockets are not part of API v2: the connection is refused by returning.

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = await read_request(scope, receive, address_header=self.address_header)
        fault = self.faults.take(request.script, request.method, request.action)
        self._count(request, fault)
        await respond(
            send,
            fault=fault,
            process=lambda: self._process(request),
            record=lambda status_code: self._record(request, fault, status_code),
            now=self.now,
            receive=receive,
            stopping=scope.get(STOPPING),
        )

    def _count(self, request: Request, fault: Fault | None) -> None:
        with self._lock:
            self.stats.requests += 1
            key = (request.script, request.method, request.action)
            self.stats.calls[key] = self.stats.calls.get(key, 0) + 1
            if request.script == "token" and request.action == "get":
                self.stats.token_gets += 1
            elif request.script == "token" and request.action == "validate":
                self.stats.token_validates += 1
            if fault is not None:
                self.stats.faults += 1

    def _record(self, request: Request, fault: Fault | None, status_code: int) -> None:
        if self.record_requests:
            entry = RequestRecord(
                time=self.clock.now(),
                http_method=request.http_method,
                script=request.script,
                method=request.method,
                action=request.action,
                args=request.args,
                body=request.body,
                client=request.address,
                status_code=status_code,
                fault=None if fault is None else fault.kind,
            )
            with self._lock:
                self._requests.append(entry)

    def _process(self, request: Request) -> Response:
        with self._lock:
            self._scenario.advance(self.clock.now())
            reply, item = ENDPOINTS.dispatch(request, self._state())
        return response_for(reply, request=request, item=item)

    def _state(self) -> SimState:
        # Built per request from the attributes, so a setting changed on a
        # running simulator (sim.log_delay = 5.0) applies from the next request.
        return SimState(
            scenario=self._scenario,
            tokens=self._tokens,
            clock=self.clock,
            username=self.username,
            password=self._password,
            token_lifetime=self.token_lifetime,
            log_delay=self.log_delay,
            ajax_page_limit=self.ajax_page_limit,
            account_id=self.account_id,
            ccname=self.ccname,
        )
