"""The simulator: a ContactNow API v2 server as an ASGI application."""

from __future__ import annotations

import collections
import secrets
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from email.utils import formatdate
from typing import Any

import anyio
import attrs
import httpx

from contactnow_async._clock import Clock, SystemClock

from ._faults import Fault, FaultKind, Faults
from ._scenario import (
    AGENT_FIELDS,
    NULLABLE_AGENT_FIELDS,
    OFFLINE,
    Dwell,
    LogRow,
    Scenario,
    SimAgent,
    default_record,
)
from ._wire import (
    ITEM_ELEMENTS,
    PayloadError,
    Reply,
    Value,
    parse_arguments,
    parse_payload,
    render_json,
    render_xml,
    text_value,
)

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

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

_SCRIPTS = frozenset({"token", "database", "ajax"})
# Documented scripts the simulator does not model: they check the token, then
# answer "Unknown method" like an unknown method of a modelled script.
_UNMODELLED_SCRIPTS = frozenset({"ecnow", "reporting", "recording", "click2dial", "agent"})
_UNPROCESSED = frozenset(
    {
        FaultKind.HTTP_500,
        FaultKind.HTTP_502,
        FaultKind.HTTP_503,
        FaultKind.HTTP_429,
        FaultKind.DROP_BEFORE,
        FaultKind.HTML,
    }
)
_STATUS_TEXT = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    429: "Too Many Requests",
}
_MALFORMED = b'{"success":tru\x00\xff<result><list>[{"uid":"12'
_HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Error</title></head>"
    b"<body><h1>Internal Server Error</h1><p>The server encountered an internal error "
    b"and was unable to complete your request.</p></body></html>\n"
)


class SimulatedDisconnect(Exception):
    """Raised by the ASGI app to break the connection without a complete reply."""


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
        """Return how many requests hit ``script`` (and ``method``, ``action`` if given)."""
        return sum(
            n
            for (s, m, a), n in self.calls.items()
            if s == script and method in (None, m) and action in (None, a)
        )


@attrs.define
class _Token:
    address: str
    expire: int  # -1 once expire_tokens() ran


class SimulatorTransport(httpx.AsyncBaseTransport):
    """An in-process transport to a simulator, breaking connections like a socket would.

    A simulated disconnect surfaces as :class:`httpx.RemoteProtocolError`, the
    error httpx raises when a real server closes the connection mid-reply.
    """

    def __init__(self, app: Simulator, *, client: tuple[str, int] = ("127.0.0.1", 123)) -> None:
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

    Raises ValueError for an out-of-range option.
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
        ajax_page_limit: int | None = None,
        account_id: str = "10278",
        ccname: str = "Demo_Centre",
        address_header: str | None = None,
        record_requests: bool = True,
        request_log_size: int = 100_000,
    ) -> None:
        if not 0 <= agents <= MAX_AGENTS:
            raise ValueError(f"agents must be between 0 and {MAX_AGENTS}, got {agents!r}")
        if token_lifetime <= 0:
            raise ValueError(f"token_lifetime must be positive, got {token_lifetime!r}")
        if log_delay < 0:
            raise ValueError(f"log_delay cannot be negative, got {log_delay!r}")
        if log_retention is not None and log_retention < 1:
            raise ValueError(f"log_retention must be at least 1, got {log_retention!r}")
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
        self.faults = Faults()
        self.stats = Stats()
        self._lock = threading.RLock()
        self._tokens: dict[str, _Token] = {}
        self._requests: collections.deque[RequestRecord] = collections.deque(
            maxlen=request_log_size
        )
        self._scenario = Scenario(
            agents=agents,
            seed=seed,
            start=self.clock.now(),
            dwell=Dwell() if dwell is None else dwell,
            log_retention=log_retention,
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
        """Return a new token bound to ``address``, as ``token.php?action=get`` would."""
        with self._lock:
            return self._issue_token(address)[0]

    def expire_tokens(self) -> None:
        """Make every token issued so far answer ``Expired token`` from now on."""
        with self._lock:
            for token in self._tokens.values():
                token.expire = -1

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
            self._scenario.advance(self.clock.now())
            visible = self.clock.now() - self.log_delay if visible_only else None
            return [_log_row(row) for row in self._scenario.log_rows(visible_before=visible)]

    def live_agents(self, *, include_offline: bool = True) -> list[dict[str, Value]]:
        """Return the live rows exactly as ``ajax.php method=agents`` renders them."""
        with self._lock:
            self._scenario.advance(self.clock.now())
            srvtime = str(int(self.clock.now()))
            return [
                self._live_row(agent, srvtime)
                for agent in self._scenario.iter_agents()
                if include_offline or agent.status != OFFLINE
            ]

    # -- ASGI --------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        # Websockets are not part of API v2: the connection is refused by returning.

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive)
        headers = {
            key.decode("latin-1").lower(): value.decode("latin-1")
            for key, value in scope.get("headers", [])
        }
        client = scope.get("client")
        address = str(client[0]) if client else ""
        if self.address_header is not None and self.address_header in headers:
            address = headers[self.address_header].strip()
        path: str = scope.get("path", "")
        leaf = path.rsplit("/", 1)[-1]
        script = leaf[:-4] if leaf.endswith(".php") else leaf
        args, payload = parse_arguments(
            scope.get("query_string", b""), body, headers.get("content-type", "")
        )
        method = args.get("method", "")
        action = args.get("action", "")
        http_method: str = scope.get("method", "GET")

        fault = self.faults.take(script, method, action)
        with self._lock:
            self.stats.requests += 1
            key = (script, method, action)
            self.stats.calls[key] = self.stats.calls.get(key, 0) + 1
            if script == "token" and action == "get":
                self.stats.token_gets += 1
            elif script == "token" and action == "validate":
                self.stats.token_validates += 1
            if fault is not None:
                self.stats.faults += 1

        def record(status_code: int) -> None:
            if self.record_requests:
                entry = RequestRecord(
                    time=self.clock.now(),
                    http_method=http_method,
                    script=script,
                    method=method,
                    action=action,
                    args=args,
                    body=body,
                    client=address,
                    status_code=status_code,
                    fault=None if fault is None else fault.kind,
                )
                with self._lock:
                    self._requests.append(entry)

        if fault is not None and fault.kind is FaultKind.LATENCY:
            await anyio.sleep(fault.latency)
        if fault is not None and fault.kind in _UNPROCESSED:
            if fault.kind is FaultKind.DROP_BEFORE:
                record(0)
                await self._drop(send, b"")
            status, extra, content = self._fault_reply(fault)
            record(status)
            await self._send(send, status, extra, content)
            return

        status, extra, content = self._process(script, args, payload, address)
        if fault is not None:
            if fault.kind is FaultKind.DROP_AFTER:
                record(0)
                await self._drop(send, content[: len(content) // 2])
            elif fault.kind is FaultKind.TRUNCATED:
                content = content[: len(content) // 2]
            elif fault.kind is FaultKind.MALFORMED:
                content = _MALFORMED
        record(status)
        await self._send(send, status, extra, content)

    def _fault_reply(self, fault: Fault) -> tuple[int, Headers, bytes]:
        if fault.kind is FaultKind.HTML:
            return fault.html_status, [(b"content-type", b"text/html; charset=utf-8")], _HTML_PAGE
        status = 429 if fault.kind is FaultKind.HTTP_429 else int(fault.kind.value[5:])
        extra: Headers = [(b"content-type", b"text/plain; charset=utf-8")]
        if status == 429:
            extra.append((b"retry-after", str(fault.retry_after).encode("ascii")))
        return status, extra, f"{status} {_STATUS_TEXT[status]}\n".encode()

    async def _send(self, send: Send, status: int, extra: Headers, content: bytes) -> None:
        headers: Headers = [
            *extra,
            (b"content-length", str(len(content)).encode("ascii")),
            (b"date", formatdate(self.clock.now(), usegmt=True).encode("ascii")),
            (b"server", b"contactnow-simulator"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content, "more_body": False})

    async def _drop(self, send: Send, partial: bytes) -> None:
        # Promise more bytes than will ever come, then break off: under uvicorn
        # the socket closes mid-body; in process SimulatorTransport maps it.
        headers: Headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(partial) + 4096).encode("ascii")),
            (b"date", formatdate(self.clock.now(), usegmt=True).encode("ascii")),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if partial:
            await send({"type": "http.response.body", "body": partial, "more_body": True})
        raise SimulatedDisconnect("simulated connection drop")

    # -- the API -----------------------------------------------------------

    def _process(
        self, script: str, args: dict[str, str], payload: bytes | None, address: str
    ) -> tuple[int, Headers, bytes]:
        method = args.get("method", "")
        with self._lock:
            self._scenario.advance(self.clock.now())
            reply = self._dispatch(script, method, args.get("action", ""), args, payload, address)
        if args.get("format", "").lower() == "xml":
            content = render_xml(reply, item=ITEM_ELEMENTS.get(method, "item"))
            return 200, [(b"content-type", b"text/xml; charset=utf-8")], content
        return 200, [(b"content-type", b"application/json; charset=utf-8")], render_json(reply)

    def _dispatch(
        self,
        script: str,
        method: str,
        action: str,
        args: dict[str, str],
        payload: bytes | None,
        address: str,
    ) -> Reply:
        if script == "token":
            return self._token(action, args, address)
        if script not in _SCRIPTS and script not in _UNMODELLED_SCRIPTS:
            return _error("Unknown script")
        refused = self._check_token(args.get("token", ""), address)
        if refused is not None:
            return refused
        try:
            if script == "database":
                if method == "agents":
                    return self._agents(action, args, payload)
                if method == "priority":
                    return self._priority(action, args, payload)
                if method == "status_log":
                    return self._status_log(action, args)
            elif script == "ajax" and method == "agents":
                return self._ajax_agents(action, args)
        except PayloadError as exc:
            return _error(f"Invalid payload: {exc}")
        except _BadArgument as exc:
            return _error(str(exc))
        return _error("Unknown method")

    # token.php

    def _issue_token(self, address: str) -> tuple[str, int]:
        token = secrets.token_hex(20)
        expire = int(self.clock.now() + self.token_lifetime)
        self._tokens[token] = _Token(address=address, expire=expire)
        return token, expire

    def _token(self, action: str, args: dict[str, str], address: str) -> Reply:
        if action == "get":
            username = args.get("username", "")
            password = args.get("password", "")
            if not (
                secrets.compare_digest(username.encode(), self.username.encode())
                and secrets.compare_digest(password.encode(), self._password.encode())
            ):
                return _error("Authentication failure")
            token, expire = self._issue_token(address)
            return {"success": True, "token": token, "expire": expire}
        if action == "validate":
            entry = self._tokens.get(args.get("token", ""))
            if entry is None or entry.address != address:
                return _error("Invalid token")
            if self._expired(entry):
                return {"success": False, "error": "Expired token", "expire": -1}
            return {"success": True, "expire": entry.expire}
        return _error("Unknown action")

    def _expired(self, entry: _Token) -> bool:
        return entry.expire == -1 or self.clock.now() >= entry.expire

    def _check_token(self, token: str, address: str) -> Reply | None:
        entry = self._tokens.get(token)
        if entry is None:
            return _error("Unknown token")
        if entry.address != address:
            return _error("Invalid token")
        if self._expired(entry):
            return {"success": False, "error": "Expired token", "expire": -1}
        return None

    # database.php method=agents

    def _agents(self, action: str, args: dict[str, str], payload: bytes | None) -> Reply:
        scenario = self._scenario
        if action == "read":
            filters = {name: args[name] for name in AGENT_FIELDS if name in args}
            rows: list[dict[str, str | None]] = []
            for agent in scenario.iter_agents():
                if "agentid" in filters and agent.uid != filters["agentid"]:
                    continue
                record = scenario.record(agent)
                if all((record[name] or "") == value for name, value in filters.items()):
                    rows.append(dict(record))
            return {"success": True, "total": len(rows), "list": rows}
        if action not in ("create", "update"):
            return _error("Unknown action")
        records = _records(payload)
        total = bad = key = 0
        for item in records:
            values = _agent_values(item)
            if values is None:
                bad += 1
                continue
            if action == "create":
                if not values.get("name"):
                    bad += 1
                    continue
                created: dict[str, str | None] = {
                    name: None if name in NULLABLE_AGENT_FIELDS else "" for name in AGENT_FIELDS
                }
                created.update(values)
                key = int(scenario.create_agent(created).uid)
                total += 1
            else:
                target = scenario.by_uid.get(values.pop("agentid", None) or "")
                if target is None:
                    bad += 1
                    continue
                if target.record is None:
                    target.record = default_record(target.index, target.uid)
                target.record.update(values)
                total += 1
        return self._written(total, bad, key)

    # database.php method=priority

    def _priority(self, action: str, args: dict[str, str], payload: bytes | None) -> Reply:
        scenario = self._scenario
        if action == "read":
            agents = _id_list(args.get("agent", ""))
            qid = args.get("qid", "")
            rows = [
                {"agentid": agentid, "qid": queue, "level": entry[1]}
                for (agentid, queue), entry in scenario.priorities.items()
                if (agents is None or agentid in agents) and (not qid or queue == qid)
            ]
            return {"success": True, "total": len(rows), "list": rows}
        if action not in ("create", "update"):
            return _error("Unknown action")
        total = bad = key = 0
        for item in _records(payload):
            values = _priority_values(item)
            if values is None:
                bad += 1
                continue
            agentid, qid, level = values
            if action == "create":
                created = scenario.add_priority(agentid, qid, level)
                if created is not None:
                    key = created
                    total += 1
            else:
                entry = scenario.priorities.get((agentid, qid))
                if entry is None:
                    bad += 1
                    continue
                entry[1] = level
                total += 1
        return self._written(total, bad, key)

    # database.php method=status_log

    def _status_log(self, action: str, args: dict[str, str]) -> Reply:
        if action != "read":
            return _error("Unknown action")
        uid_low = uid_high = None
        uid = args.get("uid", "").strip()
        if uid:
            low, _, high = uid.partition(":")
            uid_low = _int_argument("uid", low) if low.strip() else None
            if ":" in uid and high.strip():
                uid_high = _int_argument("uid", high)
        tstart = args.get("tstart", "").strip()
        tstop = args.get("tstop", "").strip()
        rows = self._scenario.log_rows(
            visible_before=self.clock.now() - self.log_delay,
            uid_low=uid_low,
            uid_high=uid_high,
            agents=_id_list(args.get("agent", "")),
            tstart=_int_argument("tstart", tstart) if tstart else None,
            tstop=_int_argument("tstop", tstop) if tstop else None,
        )
        return {"success": True, "total": len(rows), "list": [_log_row(row) for row in rows]}

    # ajax.php method=agents

    def _ajax_agents(self, action: str, args: dict[str, str]) -> Reply:
        if action != "read":
            return _error("Unknown action")
        include_offline = args.get("mode", "").strip().lower() == "all"
        wanted = _id_list(args.get("agent", ""))
        start_text = args.get("start", "").strip()
        limit_text = args.get("limit", "").strip()
        start = max(0, _int_argument("start", start_text)) if start_text else 0
        limit = max(0, _int_argument("limit", limit_text)) if limit_text else None
        if self.ajax_page_limit is not None:
            limit = self.ajax_page_limit if limit is None else min(limit, self.ajax_page_limit)
        matching = [
            agent
            for agent in self._scenario.iter_agents()
            if (include_offline or agent.status != OFFLINE)
            and (wanted is None or agent.uid in wanted)
        ]
        page = matching[start:] if limit is None else matching[start : start + limit]
        srvtime = str(int(self.clock.now()))
        rows = [self._live_row(agent, srvtime) for agent in page]
        return {"success": True, "total": len(matching), "list": rows}

    def _live_row(self, agent: SimAgent, srvtime: str) -> dict[str, Value]:
        record = agent.record
        call: list[dict[str, Value]] = []
        if agent.call is not None:
            callid, qid, cli, direction = agent.call
            call.append({"callid": callid, "qid": qid, "cli": cli, "direction": direction})
        return {
            "uid": agent.uid,
            "name": self._scenario.name(agent),
            "moh": "none" if record is None else record["moh"],
            "status": agent.status,
            "statuscode": agent.statuscode,
            "time": str(int(agent.since)),
            "srvtime": srvtime,
            "ccname": self.ccname,
            "customer": "0" if record is None else record["customer"],
            "call": call,
        }

    def _written(self, total: int, bad: int, key: int) -> Reply:
        return {
            "success": True,
            "account_id": self.account_id,
            "total": total,
            "bad": bad,
            "key": key,
        }


class _BadArgument(ValueError):
    """An argument the simulator cannot read (answered with success false)."""


def _error(text: str) -> Reply:
    return {"success": False, "error": text}


def _int_argument(name: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise _BadArgument(f"Invalid {name}: expected an integer") from None


def _id_list(text: str) -> frozenset[str] | None:
    ids = frozenset(part.strip() for part in text.split(",") if part.strip())
    return ids or None


def _records(payload: bytes | None) -> list[object]:
    if payload is None or not payload.strip():
        raise PayloadError("no records: send a JSON array or <dxi> XML as the POST body")
    return parse_payload(payload)


def _agent_values(item: object) -> dict[str, str | None] | None:
    """Return the known agent fields of a payload record, or None for a bad record."""
    if not isinstance(item, dict):
        return None
    values: dict[str, str | None] = {}
    for name, value in item.items():
        if name not in AGENT_FIELDS:
            continue  # the API ignores fields it does not know
        try:
            text = text_value(value)
        except TypeError:
            return None
        values[name] = "" if text is None and name not in NULLABLE_AGENT_FIELDS else text
    return values


def _priority_values(item: object) -> tuple[str, str, str] | None:
    if not isinstance(item, dict):
        return None
    try:
        agentid, qid, level = (text_value(item.get(name)) for name in ("agentid", "qid", "level"))
    except TypeError:
        return None
    if not (agentid and qid and level):
        return None
    return agentid, qid, level


def _log_row(row: LogRow) -> dict[str, str]:
    uid, when, agent, status, subcode, callid = row
    return {
        "uid": str(uid),
        "uts": str(int(when)),
        "agent": agent,
        "status": status,
        "subcode": subcode,
        "callid": callid,
    }


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # http.disconnect: the client went away; answer whatever was read
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
