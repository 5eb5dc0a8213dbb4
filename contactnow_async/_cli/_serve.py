"""``contactnow serve``: the wallboard in a browser, served by uvicorn.

With a client (an account, or ``--simulate``) the page also shows the queue KPIs, read
from the reports every ``--queue-interval`` seconds of the centre's clock; ``--redis``
has one only when API credentials are set (the relay polls, not the web replicas).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import tzinfo
from typing import Any

import click

from .. import AgentWatcher, ContactNow, ScaledClock
from .._clock import Clock
from ..kpis import QueueKpis
from ._common import (
    EXIT_ERROR,
    EXIT_NETWORK,
    MANY_REQUESTS_WIRE,
    SIM_PASSWORD,
    SIM_USERNAME,
    FiniteFloatRange,
    Settings,
    connect,
    cutoff_option,
    fail,
    refuse_empty,
    run,
)
from ._redis import check_redis_url, fail_refused
from ._times import record_tz_option

#: Where the bearer token comes from: the environment only (a flag shows in ps).
TOKEN_VARIABLE = "CONTACTNOW_WEB_TOKEN"  # noqa: S105 -- the variable's name, not a secret


@click.command()
@click.option(
    "--host",
    default=None,
    callback=refuse_empty,
    help="Address to listen on (default: 127.0.0.1; one off the loopback warns without a token).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65_535),
    default=8000,
    show_default=True,
    help="Port to listen on (0: any free one).",
)
@click.option(
    "--redis", "redis_url", default=None, help="Serve the stream `contactnow relay` writes."
)
@click.option(
    "--stream",
    default=None,
    callback=refuse_empty,
    help="The relay's Redis Stream (with --redis; default contactnow:agents).",
)
@click.option(
    "--interval",
    type=FiniteFloatRange(min=0.05),
    default=2.0,
    show_default=True,
    help="Seconds between polls (without --redis).",
)
@click.option("--include-offline", is_flag=True, help="Also list offline agents at start.")
@click.option(
    "--queue-interval",
    type=FiniteFloatRange(min=1),
    default=20.0,
    show_default=True,
    help="Seconds (of the centre's clock) between reads of the queue KPIs.",
)
@cutoff_option
@record_tz_option(
    "The centre's time zone, e.g. Europe/London or +01:00: the queue KPIs count its day, from its "
    "midnight (default: UTC)."
)
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    help="An origin whose pages may call this server (repeatable; none by default).",
)
@click.pass_obj
def serve(
    settings: Settings,
    /,
    host: str | None,
    port: int,
    redis_url: str | None,
    stream: str | None,
    interval: float,
    include_offline: bool,
    queue_interval: float,
    cutoff: int,
    record_tz: tzinfo,
    cors_origins: tuple[str, ...],
) -> None:
    """Serve a live wallboard page with agent events over SSE (needs the 'web' extra).

    The token browsers must give comes from $CONTACTNOW_WEB_TOKEN; without it the
    server listens on 127.0.0.1 only, unless --host says otherwise. The queue KPIs
    need a client: with --redis, only when API credentials are set.
    """
    try:
        import uvicorn  # noqa: F401 -- only checking the extra is installed

        from ..web import wallboard_app
        from ..web._auth import cors_allowed
    except ImportError:
        fail("the wallboard needs the 'web' extra: pip install 'contactnow-async[web]'")
    try:  # here, not once the simulator or the client has started
        cors_origins = tuple(cors_allowed(cors_origins))
    except ValueError as exc:
        fail(f"--cors-origin {exc}")
    if stream is not None and redis_url is None:
        fail("--stream names the relay's stream: give --redis too")
    if redis_url is not None and settings.simulate:
        fail("--simulate watches an embedded simulator, --redis reads a relay: pick one")
    if redis_url is not None:
        # Taken without a word, and nothing done with them: the relay polls, not the replica.
        given = click.get_current_context().get_parameter_source("interval")
        for flag, used in (
            ("--interval", given != click.core.ParameterSource.DEFAULT),
            ("--include-offline", include_offline),
        ):
            if used:
                fail(f"{flag} is the poller's: with --redis, `contactnow relay` polls, not serve")
    if redis_url is not None:
        try:
            import redis  # noqa: F401 -- only checking the extra is installed
        except ImportError:
            fail("--redis needs the 'redis' extra: pip install 'contactnow-async[redis]'")
        # Here, not in the lifespan: uvicorn printed its traceback, the password in it.
        check_redis_url(redis_url)
    token = os.environ.get(TOKEN_VARIABLE)
    if token is not None and not token.strip():
        fail(f"{TOKEN_VARIABLE} is set but empty: give it a secret, or unset it")
    if host is None:
        host = "127.0.0.1"
    elif token is None and not _is_loopback(host):
        click.echo(
            f"contactnow: warning: serving on {host} without {TOKEN_VARIABLE}: anyone who "
            "can reach this address sees every agent's status",
            err=True,
        )

    # Bound first: a taken port fails before any simulator or poller starts.
    sock = _bind(host, port)

    async def main() -> None:
        async with AsyncExitStack() as stack:
            clock: Clock | None = None
            notes: list[str] = []
            source: Any
            client: ContactNow | None = None
            quiet: logging.Filter | None = None
            if redis_url is not None:
                from ..web import RedisStreamSource
                from ..web._redis import SOURCE_STOPPED

                source = RedisStreamSource(redis_url, stream or "contactnow:agents")
                if not settings.debug:  # refused at start, fail_refused below says it
                    quiet = Unlogged(SOURCE_STOPPED)
                notes.append(f"events from the Redis stream {source.stream!r}")
                if _has_credentials(settings):
                    client = await stack.enter_async_context(
                        # the KPIs poll the reports
                        connect(settings, transport=MANY_REQUESTS_WIRE, record_tz=record_tz)
                    )
                    await client.tokens.get()  # a refused password fails here
            else:
                polled, clock = await stack.enter_async_context(_client(settings, record_tz))
                await polled.tokens.get()  # a refused password fails here, not in the page
                source = AgentWatcher(
                    polled, backfill=True, interval=interval, include_offline=include_offline
                )
                client = polled
                if settings.simulate:
                    notes.append(
                        f"a simulated centre of {settings.sim_agents} agents "
                        f"at {settings.sim_speed:g}x speed"
                    )
            kpis = None
            if client is not None:
                kpis = QueueKpis(client, every=queue_interval, cutoff=cutoff, clock=clock)
                notes.append(
                    f"queue KPIs from the reports every {queue_interval:g} s "
                    f"(service level at {cutoff} s)"
                )
            else:
                notes.append("no queue KPIs: no API credentials to read the reports with")
            wallboard = wallboard_app(
                source, auth_token=token, cors_origins=cors_origins, clock=clock, kpis=kpis
            )
            if token is not None:
                notes.append(
                    f"browsers need the token in ${TOKEN_VARIABLE}: add #token=... to the URL"
                )
            if not await _serve(wallboard, sock, host, notes, quiet):
                refused = getattr(source, "refusal", None)  # the Redis source's
                if refused is not None and redis_url is not None:
                    fail_refused(refused, who="the wallboard", needs="+@read", url=redis_url)
                fail("the wallboard's source stopped at start (see the log above)", EXIT_ERROR)

    try:
        run(settings, main)
    finally:
        sock.close()


def _has_credentials(settings: Settings) -> bool:
    """Whether an API username and password are configured (flags or environment)."""
    username = settings.username or os.environ.get("CONTACTNOW_USERNAME")
    password = settings.password or os.environ.get("CONTACTNOW_PASSWORD")
    return bool(username and password)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@asynccontextmanager
async def _client(
    settings: Settings, record_tz: tzinfo
) -> AsyncIterator[tuple[ContactNow, Clock | None]]:
    """A client for the account, or for a sped-up simulator and that simulator's clock;
    its record dates (and the KPIs' day) in ``record_tz``, the simulator's too."""
    if not settings.simulate:
        async with connect(settings, transport=MANY_REQUESTS_WIRE, record_tz=record_tz) as client:
            yield client, None
        return
    from ..simulator import Simulator
    from ..simulator import serve as serve_simulator

    sim = Simulator(
        username=SIM_USERNAME,
        password=SIM_PASSWORD,
        agents=settings.sim_agents,
        seed=1,
        clock=ScaledClock(settings.sim_speed),
        record_requests=False,
        log_retention=200_000,
        record_tz=record_tz,
    )
    async with (
        serve_simulator(sim) as base_url,
        ContactNow(
            base_url=base_url,
            username=SIM_USERNAME,
            password=SIM_PASSWORD,
            format=settings.wire_format,  # type: ignore[arg-type]  # a Choice of json, xml
            record_tz=record_tz,
        ) as client,
    ):
        yield client, sim.clock


#: Each connection's kernel send buffer. Linux grows it to megabytes for a client that
#: reads nothing, all held for that client; 64 KiB (the kernel doubles it) still lets a
#: reader on a 100 ms link take over a megabyte a second, and a stuck one soon shows
#: as a stuck write, which the wallboard ends.
SEND_BUFFER = 64 * 1024
#: Linux ends a connection whose sent data has waited this long (milliseconds) for an
#: acknowledgement, or to be sent at all into a window the client keeps shut: a browser
#: gone without a word, or one that stopped reading. The server then lets its buffers
#: go (after ending a stuck stream it could only wait for them to drain).
USER_TIMEOUT_MS = 30_000


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; its connections inherit ``SEND_BUFFER`` and,
    on Linux, ``USER_TIMEOUT_MS``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only then, and an
    # event must not wait 40 ms behind Nagle's algorithm.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
    if hasattr(socket, "TCP_USER_TIMEOUT"):  # Linux
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, USER_TIMEOUT_MS)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}", EXIT_NETWORK)
    sock.listen(1024)
    return sock


class Unlogged(logging.Filter):
    """Drops the records of one message (its format string): the command says it in a
    line of its own."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != self.message


class QuietEndedStreams(logging.Filter):
    """Drops uvicorn's error line for a response left incomplete: the wallboard leaves a
    stream so only when its client took nothing for the write timeout (it logs that
    itself), and a thousand frozen browsers would make a thousand error lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "ASGI callable returned without completing response."


async def _serve(
    wallboard: Any,
    sock: socket.socket,
    host: str,
    notes: list[str],
    quiet_at_start: logging.Filter | None = None,
) -> bool:
    """Serve ``wallboard`` until Ctrl-C; print its URL once it is up.

    False, having served nothing, if its source stopped for good at its first try.
    ``quiet_at_start`` filters the wallboard's log until then: the caller says why in
    its error line; a source stopped later is still logged.
    """
    import uvicorn

    web_log = logging.getLogger("contactnow_async.web")

    class Server(uvicorn.Server):
        """uvicorn's server, which says when it is up, and ends the event streams first
        on shutdown (it would otherwise wait for them, as for any open response)."""

        stopped_at_start = False

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if wallboard.board.stopped:  # at its first read: a refused Redis user, say
                self.should_exit = self.stopped_at_start = True
            if quiet_at_start is not None:
                web_log.removeFilter(quiet_at_start)
            if self.started and not self.should_exit:
                click.echo(f"contactnow: wallboard at {url} (Ctrl-C to stop)")
                for note in notes:
                    click.echo(f"  {note}")

        async def shutdown(self, sockets: Any = None) -> None:
            for listening in self.servers:
                listening.close()  # first, so browsers reconnect elsewhere, not here
            wallboard.close_streams()
            for connection in list(self.server_state.connections):
                # A client that takes nothing (its writes paused) cannot be sent its
                # stream's end: uvicorn would wait the whole graceful timeout, then log a
                # traceback per such stream. Dropped now, its stream ends as at a disconnect.
                flow = getattr(connection, "flow", None)  # HTTP's (a WebSocket has none)
                if flow is not None and flow.write_paused:
                    connection.transport.abort()
            await super().shutdown(sockets=sockets)

    bound = int(sock.getsockname()[1])
    wildcard = host in ("0.0.0.0", "::", "[::]")  # noqa: S104 -- naming it, not binding it
    shown = "127.0.0.1" if wildcard else host.strip("[]")
    url = f"http://{f'[{shown}]' if ':' in shown else shown}:{bound}/"
    from ._head_timeout import HeadTimeoutProtocol

    config = uvicorn.Config(
        wallboard,
        http=HeadTimeoutProtocol,  # h11's, closing a connection whose request head is late
        lifespan="on",
        log_level="warning",
        # Off: a query string may hold a stream token, and an access log would keep it.
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    server = Server(config)
    logging.getLogger("uvicorn.error").addFilter(QuietEndedStreams())
    if quiet_at_start is not None:
        web_log.addFilter(quiet_at_start)
    try:
        await server.serve(sockets=[sock])
    finally:
        if quiet_at_start is not None:
            web_log.removeFilter(quiet_at_start)
    if not server.started:
        fail("the wallboard did not start (see the log above)", EXIT_NETWORK)
    return not server.stopped_at_start
