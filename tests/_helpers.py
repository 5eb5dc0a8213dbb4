"""A fake ContactNow API for ``httpx.MockTransport``, a client factory around it, and a
free port on 127.0.0.1 for the tests that start a server of their own."""

from __future__ import annotations

import contextlib
import email.utils
import json
import os
import secrets
import socket
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import anyio.lowlevel
import httpx
import pytest

from contactnow_async import ContactNow, VirtualClock
from tests._backends import BACKENDS

if TYPE_CHECKING:
    from contactnow_async.simulator import Simulator

USERNAME = "api-user"
PASSWORD = "Pw-9f2c-SECRET-qx"
BASE_URL = "https://api.test/"

Reply: TypeAlias = "httpx.Response | Mapping[str, Any]"
Route: TypeAlias = Callable[[httpx.Request], "Reply | Awaitable[Reply]"]


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now (another process may still take
    it before the caller's server binds it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def examples(ci: int, *, least: int = 20) -> int:
    """Hypothesis examples for a property: ``ci`` where ``CI`` is set (``.ci/run``), a
    quarter of that otherwise but at least ``least`` (lower it for a property whose
    examples take a second each), so the README's test command stays quick while CI
    searches deeper."""
    return ci if os.environ.get("CI") else min(ci, max(ci // 4, least))


def on_each_backend_in_turn(
    argname: str, values: Sequence[Any], ids: Sequence[str] | None = None
) -> pytest.MarkDecorator:
    """Parametrize ``argname`` with ``values``, each run once, on asyncio and trio in turn
    rather than on both: for a test that runs one algorithm (the watcher's backfill, the
    decoding of a reply) over many seeds or targets, where the backend changes only how
    long it takes. Both backends run it; the suite runs it half as often."""
    pairs = [(BACKENDS[at % 2], value) for at, value in enumerate(values)]
    names = ids if ids is not None else [str(value) for value in values]
    labels = [f"{backend}-{name}" for (backend, _), name in zip(pairs, names, strict=True)]
    return pytest.mark.parametrize(("anyio_backend", argname), pairs, ids=labels)


def json_reply(
    body: Mapping[str, Any], *, status: int = 200, headers: Mapping[str, str] | None = None
) -> httpx.Response:
    """A JSON reply as the API sends it."""
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )


def script_of(request: httpx.Request) -> str:
    """``database`` for ``.../database.php``."""
    return request.url.path.rsplit("/", 1)[-1].removesuffix(".php")


class FakeAPI:
    """A ContactNow API in a ``MockTransport`` handler: tokens, token checks, routes.

    ``routes`` maps ``(script, method, action)`` to a function of the request
    returning a reply (a mapping is sent as JSON). Every request is recorded in
    ``requests``; ``token_gets`` counts ``token.php?action=get``.
    """

    def __init__(
        self,
        routes: Mapping[tuple[str, str | None, str], Route] | None = None,
        *,
        clock: VirtualClock | None = None,
        lifetime: int = 43_259,
        server_skew: float = 0.0,
        new_token: Callable[[], str] = lambda: secrets.token_hex(20),
    ) -> None:
        self.routes: dict[tuple[str, str | None, str], Route] = dict(routes or {})
        self.clock = clock
        self.lifetime = lifetime
        self.server_skew = server_skew
        self.new_token = new_token
        self.requests: list[httpx.Request] = []
        self.token_gets = 0
        self.issued: list[str] = []
        self.valid: set[str] = set()
        self.fail_token_get: Callable[[], httpx.Response] | None = None

    def server_now(self) -> float:
        now = self.clock.now() if self.clock is not None else 1_700_000_000.0
        return now + self.server_skew

    def expire_all(self) -> None:
        """Every token issued so far now answers ``Expired token``."""
        self.valid.clear()

    def calls(self, script: str, method: str | None = None, action: str | None = None) -> int:
        """How many requests hit this script/method/action."""
        return sum(
            1
            for request in self.requests
            if script_of(request) == script
            and (method is None or request.url.params.get("method") == method)
            and (action is None or request.url.params.get("action") == action)
        )

    def _headers(self) -> dict[str, str]:
        return {"date": email.utils.formatdate(self.server_now(), usegmt=True)}

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        await anyio.lowlevel.checkpoint()  # let every concurrent caller pile up
        self.requests.append(request)
        script = script_of(request)
        params = request.url.params
        if script == "token":
            return await self._token(request)
        if params.get("token") not in self.valid:
            return json_reply(
                {"success": False, "error": "Expired token", "expire": -1}, headers=self._headers()
            )
        route = self.routes.get((script, params.get("method"), params.get("action", "")))
        if route is None:
            return json_reply({"success": False, "error": "Unknown method"})
        reply = route(request)
        if not isinstance(reply, (httpx.Response, Mapping)):
            reply = await reply
        return reply if isinstance(reply, httpx.Response) else json_reply(reply)

    async def _token(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if params.get("action") == "validate":
            if params.get("token") in self.valid:
                expire = int(self.server_now()) + self.lifetime
                return json_reply({"success": True, "expire": expire}, headers=self._headers())
            return json_reply({"success": False, "error": "Invalid token"})
        self.token_gets += 1
        await anyio.lowlevel.checkpoint()
        if self.fail_token_get is not None:
            return self.fail_token_get()
        if params.get("username") != USERNAME or params.get("password") != PASSWORD:
            return json_reply({"success": False, "error": "Authentication failure"})
        token = self.new_token()
        self.issued.append(token)
        self.valid.add(token)
        expire = int(self.server_now()) + self.lifetime
        return json_reply(
            {"success": True, "token": token, "expire": expire}, headers=self._headers()
        )


def client_for(
    handler: Callable[[httpx.Request], Any], **options: Any
) -> tuple[ContactNow, httpx.AsyncClient]:
    """A client on a MockTransport; the caller closes the returned httpx client."""
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    options.setdefault("username", USERNAME)
    options.setdefault("password", PASSWORD)
    options.setdefault("base_url", BASE_URL)
    options.setdefault("retry_backoff", 0)
    return ContactNow(http_client=http, **options), http


@contextlib.asynccontextmanager
async def sending_nothing_to(script: str) -> AsyncIterator[ContactNow]:
    """A client (on a :class:`FakeAPI`) whose calls inside the block send no request to
    ``script``: what a call refused before sending must leave unsent."""
    api = FakeAPI()
    cn, http = client_for(api)
    async with http, cn:
        yield cn
    assert api.calls(script) == 0


def agents_list(*records: Mapping[str, Any]) -> Route:
    """A route answering a list of records."""

    def route(request: httpx.Request) -> Reply:
        return {"success": True, "total": len(records), "list": list(records)}

    return route


AGENT_ROW: dict[str, Any] = {"agentid": "550423", "name": "Joe Blogs", "password": "Pa$$w0rd"}


def exception_texts(error: BaseException) -> list[str]:
    """Everything an error could show: its traceback, and the message, repr, arguments,
    ``error`` and ``snippet`` of it and of every exception behind it (causes and
    contexts both)."""
    return ["".join(traceback.format_exception(error)), *chain_texts(error)]


def chain_texts(error: BaseException) -> list[str]:
    """:func:`exception_texts` without the traceback (formatting one is the slow part)."""
    texts: list[str] = []
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        texts += [str(current), repr(current), *map(repr, current.args)]
        texts += [repr(getattr(current, name, "")) for name in ("error", "snippet")]
        pending += [current.__cause__, current.__context__]
    return texts


class PasswordChanged(httpx.AsyncBaseTransport):
    """The simulator, whose account refuses the client's password after :meth:`change`
    (changed in the portal meanwhile): token.php is asked with another one."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.inner = sim.transport()
        self.changed = False

    def change(self) -> None:
        self.changed = True
        self.sim.expire_tokens()  # the next poll needs a new token

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.changed and request.url.path.endswith("token.php"):
            params = request.url.params.set("password", "an-old-one")
            request = httpx.Request(request.method, request.url.copy_with(params=params))
        return await self.inner.handle_async_request(request)


def record_flock_tries(monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], anyio.Event]:
    """Every flock operation tried, and an event set at the first that finds the lock held."""
    import fcntl

    flock = fcntl.flock
    operations: list[int] = []
    waiting = anyio.Event()

    def recording_flock(fd: int, operation: int) -> None:
        operations.append(operation)
        try:
            flock(fd, operation)
        except BlockingIOError:
            waiting.set()
            raise

    monkeypatch.setattr(fcntl, "flock", recording_flock)
    return operations, waiting


def cpu_seconds(work: Callable[[], object], runs: int = 3) -> float:
    """The least CPU time of this thread that ``work()`` took in ``runs`` runs.

    For the tests that compare a small input's time with a large one's (linear, not
    quadratic): the thread's own CPU time, not the wall clock, which counts the time
    the worker waited for a core too (2 cores, 4 workers and whatever else runs: one run
    took 77 times its small one's 1.5 ms, against 12 times alone)."""
    best = float("inf")
    for _ in range(runs):
        start = time.thread_time()
        work()
        best = min(best, time.thread_time() - start)
    return best


class LateThreads:
    """``anyio.to_thread.run_sync`` as it goes under asyncio's own cancellation
    (``task.cancel()``, ``asyncio.timeout``): the wait for the thread ends at once, and the
    work goes on in its thread. Each call waits until :meth:`finish` runs its work, as the
    thread would finish it; ``started`` is set at the first call."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import anyio.to_thread

        self.started = anyio.Event()
        self._pending: list[tuple[Callable[[], Any], Any]] = []
        monkeypatch.setattr(anyio.to_thread, "run_sync", self._run_sync)

    async def _run_sync(self, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        import asyncio

        done = asyncio.get_running_loop().create_future()
        self._pending.append((lambda: work(*args), done))
        self.started.set()
        return await done

    def finish(self) -> list[Any]:
        """Run the work of every call, as its thread would: what each made (dropped if its
        caller no longer waits)."""
        made = []
        for work, done in self._pending:
            made.append(result := work())
            if not done.done():
                done.set_result(result)
        self._pending.clear()
        return made
