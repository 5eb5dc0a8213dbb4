"""``contactnow relay``: agent events into a Redis Stream, one leader among replicas."""

from __future__ import annotations

import asyncio
import signal
import traceback
from typing import Any

import anyio
import click

from ._common import (
    EXIT_ERROR,
    MANY_REQUESTS_WIRE,
    FiniteFloatRange,
    Settings,
    connect,
    fail,
    refuse_empty,
    run,
    since_log_id_option,
    unlogged,
)
from ._redis import check_redis_url, fail_refused


@click.command()
@click.option(
    "--redis", "redis_url", required=True, help="Redis URL, e.g. redis://127.0.0.1:6379/0."
)
@click.option(
    "--stream",
    default="contactnow:agents",
    show_default=True,
    callback=refuse_empty,
    help="The Redis Stream to append to.",
)
@click.option("--backfill", is_flag=True, help="Gap-free: status_log rows, with a cursor in Redis.")
@since_log_id_option(
    "Start after this status_log id when Redis has no cursor (implies --backfill)."
)
@click.option(
    "--lease-ttl",
    type=FiniteFloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Failover time: seconds a dead leader keeps the lease.",
)
@click.option(
    "--maxlen",
    type=click.IntRange(min=0),
    default=1_000_000,
    show_default=True,
    help="Approximate stream length cap (0: unbounded).",
)
@click.option(
    "--interval",
    type=FiniteFloatRange(min=0.05),
    default=2.0,
    show_default=True,
    help="Seconds between polls of the API (the leader's).",
)
@click.option(
    "--owner",
    default=None,
    callback=refuse_empty,
    help="This replica's name in the lease (default: host:pid:random).",
)
@click.pass_obj
def relay(settings: Settings, /, redis_url: str, stream: str, maxlen: int, **options: Any) -> None:
    """Relay agent events into a Redis Stream; run on several hosts, one leads (asyncio only)."""
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import NoPermissionError

        from ..redis import StreamAccountError, StreamKeyError, run_relay
        from ..watch._watcher import WATCHER_STOPPED
    except ImportError:
        fail("the relay needs the 'redis' extra: pip install 'contactnow-async[redis]'")
    if options["since_log_id"] is not None:
        options["backfill"] = True  # a status_log position, as for watch: read with backfill
    check_redis_url(redis_url)

    terminated: list[int] = []

    async def main() -> None:
        # SIGTERM (systemd, Docker, Kubernetes stopping it) ends the relay as Ctrl-C does:
        # cancelled, it gives the lease up, so a replica takes over at once. A handler
        # on the loop, not a task: the relay's errors leave as themselves, ungrouped.
        loop = asyncio.get_running_loop()
        with anyio.CancelScope() as scope:

            def stop(signum: int) -> None:
                terminated.append(signum)
                scope.cancel()

            loop.add_signal_handler(signal.SIGTERM, stop, signal.SIGTERM)
            try:
                await relay_events()
            finally:
                loop.remove_signal_handler(signal.SIGTERM)

    async def relay_events() -> None:
        async with connect(settings, transport=MANY_REQUESTS_WIRE) as client:
            try:
                await run_relay(
                    redis_url=redis_url,
                    stream=stream,
                    client=client,
                    maxlen=maxlen or None,
                    **options,
                )
            # Redis's refusals (refusal(): a password, an ACL rule, a TLS certificate not
            # trusted); any other Redis error is an outage the relay waits out.
            except (RedisConnectionError, NoPermissionError) as exc:
                fail_refused(
                    exc,
                    who="the relay",
                    needs="+@scripting +@stream +@string +@keyspace",
                    url=redis_url,
                )
            except (StreamAccountError, StreamKeyError) as exc:
                hint = ""
                if settings.simulate and isinstance(exc, StreamAccountError):
                    # Its account is the simulator's address, a new port each run.
                    hint = " (each --simulate run is a centre of its own)"
                fail(f"{exc}{hint}")  # a setting to change, as a bad flag
            except ValueError as exc:
                # The options are checked above: a ValueError of the running relay (a
                # UnicodeError too) is a bug, not bad input (exit 2).
                if settings.debug:
                    traceback.print_exc()
                fail(
                    f"the relay stopped on an unexpected error (a bug: run with --debug "
                    f"and report it): {type(exc).__name__}: {exc}",
                    EXIT_ERROR,
                )

    # A refused password or log position stops the watcher: the command's error line
    # says it, once.
    with unlogged(settings, "contactnow_async.watch", WATCHER_STOPPED):
        run(settings, main)
    if terminated:
        # Ended by the signal itself, as uvicorn ends `contactnow serve`: the shell reports
        # 143 (128 + SIGTERM), and systemd counts it a clean stop.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.raise_signal(signal.SIGTERM)
