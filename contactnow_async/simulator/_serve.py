"""Serve a simulator over a real socket with uvicorn (the optional ``sim`` extra)."""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import threading
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import anyio
import anyio.to_thread

from contactnow_async._clock import Clock, ScaledClock, SystemClock

from ._app import SimulatedDisconnect, Simulator
from ._asgi import STOPPING, Receive, Scope, Send, Stopping

__all__ = ["run", "serve"]

#: The status_log and CDR rows a long-running server keeps (the newest).
SERVED_RETENTION = 200_000

_INSTALL_HINT = "the simulator server needs uvicorn: pip install 'contactnow-async[sim]'"


def _uvicorn() -> ModuleType:
    try:
        import uvicorn
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    _quiet_simulated_disconnects()
    return uvicorn


class _DropSimulatedDisconnects(logging.Filter):
    """Keep uvicorn from logging a traceback for every connection a fault drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], SimulatedDisconnect))


_FILTER = _DropSimulatedDisconnects()


def _quiet_simulated_disconnects() -> None:
    logger = logging.getLogger("uvicorn.error")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, or asyncio does not set TCP_NODELAY on accepted
    # connections, and Nagle's algorithm holds each reply's body 40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    # Listening now queues early connections instead of refusing them while
    # uvicorn starts (it calls listen() again, harmlessly).
    sock.listen(128)
    return sock


class _Served:
    """``sim`` as one server serves it: each request's scope carries the server's
    :class:`Stopping`, which cuts short a latency fault still waited out at its end."""

    def __init__(self, sim: Simulator, stopping: Stopping) -> None:
        self._sim = sim
        self._stopping = stopping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[STOPPING] = self._stopping
        await self._sim(scope, receive, send)


def _config(uvicorn: ModuleType, sim: Simulator | _Served, **options: Any) -> Any:
    # date_header=False: the simulator sends its own Date, from its clock,
    # because clients derive token deadlines from Date and expire.
    return uvicorn.Config(
        sim,
        http="h11",
        loop="asyncio",
        ws="none",
        lifespan="on",
        log_level="warning",
        date_header=False,
        server_header=False,
        # Stopping never waits on a request forever (a client gone mid-request).
        timeout_graceful_shutdown=5,
        **options,
    )


def _base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


@contextlib.asynccontextmanager
async def serve(sim: Simulator, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve ``sim`` on ``host:port`` (0: any free port) and yield its base URL.

    uvicorn runs in a thread with its own asyncio loop, so the caller may run
    asyncio or trio. Leaving the block stops the server and waits for it, and for the
    requests in flight; a latency fault still being waited out is cut short (its work
    done, its connection broken), not waited for.

    Raises ImportError without uvicorn, OSError naming ``host:port`` if it is taken (or
    not this machine's), TypeError if
    ``sim`` is no simulator (the class ``Simulator`` itself, a string, None).
    """
    # uvicorn takes a class for an app factory (serve(Simulator) served a new default
    # simulator, not the test's) and a string for a module to import. (Any other ASGI
    # app instance is served as it is.)
    if isinstance(sim, (type, str)) or not callable(sim):
        raise TypeError(f"serve needs a Simulator (Simulator(...)), got {sim!r}")
    uvicorn = _uvicorn()
    try:
        sock = _bind(host, port)
    except OSError as exc:  # "[Errno 98] Address already in use" said neither where nor what
        taken = exc.errno == errno.EADDRINUSE
        hint = " (port=0, the default, takes a free port)" if taken else ""
        raise OSError(
            exc.errno, f"cannot serve the simulator on {host}:{port}: {exc.strerror or exc}{hint}"
        ) from exc
    bound_port = int(sock.getsockname()[1])
    stopping = Stopping()
    # log_config=None: leave the caller's logging configuration alone.
    server = uvicorn.Server(_config(uvicorn, _Served(sim, stopping), log_config=None))
    thread = threading.Thread(
        target=server.run,
        kwargs={"sockets": [sock]},
        name=f"contactnow-simulator-{bound_port}",
        daemon=True,
    )
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the simulator server stopped while starting (see the log)")
            await anyio.sleep(0.001)
        yield _base_url(host, bound_port)
    finally:
        stopping.stop()  # first: a request that comes before uvicorn stops is cut too
        server.should_exit = True
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(thread.join)
        sock.close()


def run(
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    agents: int = 25,
    username: str = "demo",
    password: str = "demo",  # noqa: S107 - the demo account of a fake server
    seed: int = 1,
    speed: float = 1.0,
) -> None:
    """Serve a new simulator until Ctrl-C (the ``contactnow simulate`` command), which
    stops the server cleanly and then comes out as ``KeyboardInterrupt``, as from any
    blocking call (``http.server``'s ``serve_forever``): a script tells it from an end.

    ``speed`` > 1 runs the contact centre faster than real time. Prints one line
    with the base URL and the username (never the password). Keeps the newest
    200,000 status_log and CDR rows and records no requests, so a server left
    running stays in bounded memory.
    """
    uvicorn = _uvicorn()
    clock: Clock = SystemClock() if speed == 1 else ScaledClock(speed)
    sim = Simulator(
        username=username,
        password=password,
        agents=agents,
        seed=seed,
        clock=clock,
        # Nobody outside this process can read sim.requests; the log and the CDR
        # grew for ever (10 GB a day at 50,000 agents), as the demo's do not.
        record_requests=False,
        log_retention=SERVED_RETENTION,
    )
    sock = _bind(host, port)
    url = _base_url(host, int(sock.getsockname()[1]))
    server = uvicorn.Server(_config(uvicorn, sim))
    print(
        f"ContactNow simulator at {url} username={username} agents={agents} speed={speed:g}"
        " (Ctrl-C to stop)",
        flush=True,
    )
    try:
        server.run(sockets=[sock])  # uvicorn stops, then raises the Ctrl-C it caught
    finally:
        sock.close()
