"""``python -m contactnow_async.redis relay``: run a lease-holding relay into a Redis Stream.

::

    CONTACTNOW_USERNAME=u CONTACTNOW_PASSWORD=p python -m contactnow_async.redis relay \\
        --redis redis://127.0.0.1:6379/0 --stream contactnow:agents --backfill

``--simulate`` relays an in-process simulator instead of the real API (a demo:
every replica would simulate its own contact centre).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence

import anyio

from .. import ContactNow, Region
from ._relay import run_relay


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m contactnow_async.redis")
    commands = parser.add_subparsers(dest="command", required=True)
    relay = commands.add_parser("relay", help="relay agent events into a Redis Stream")
    relay.add_argument("--redis", required=True, help="redis://host:port/db")
    relay.add_argument("--stream", required=True, help="stream key, e.g. contactnow:agents")
    relay.add_argument(
        "--backfill",
        action="store_true",
        help="events from status_log: every transition once, resumed from the cursor in Redis",
    )
    relay.add_argument("--simulate", action="store_true", help="relay an in-process simulator")
    relay.add_argument("--speed", type=float, default=10.0, help="simulator speed (--simulate)")
    relay.add_argument("--agents", type=int, default=25, help="simulated agents (--simulate)")
    relay.add_argument(
        "--base-url",
        default=os.environ.get("CONTACTNOW_BASE_URL"),
        help="API base URL (default: $CONTACTNOW_BASE_URL, else the EU host)",
    )
    relay.add_argument(
        "--username",
        default=os.environ.get("CONTACTNOW_USERNAME"),
        help="API username (default: $CONTACTNOW_USERNAME); the password is read from "
        "$CONTACTNOW_PASSWORD only",
    )
    relay.add_argument("--lease-ttl", type=float, default=10.0, help="seconds (default 10)")
    relay.add_argument(
        "--maxlen", type=int, default=1_000_000, help="stream length bound, ~ (0: unbounded)"
    )
    relay.add_argument("--interval", type=float, default=2.0, help="seconds between polls")
    relay.add_argument(
        "--since-uid",
        type=int,
        default=None,
        help="with --backfill, when the stream has no cursor yet: start after this uid",
    )
    relay.add_argument("--owner", default=None, help="this replica's name in the lease")
    relay.add_argument("-v", "--verbose", action="store_true", help="log leadership changes")
    return parser


async def _relay(args: argparse.Namespace) -> None:
    options = {
        "redis_url": args.redis,
        "stream": args.stream,
        "backfill": args.backfill,
        "lease_ttl": args.lease_ttl,
        "maxlen": args.maxlen or None,
        "since_log_id": args.since_uid,
        "interval": args.interval,
        "owner": args.owner,
    }
    if args.simulate:
        import httpx

        from ..simulator import ScaledClock, Simulator

        sim = Simulator(agents=args.agents, clock=ScaledClock(args.speed))
        http = httpx.AsyncClient(transport=sim.transport(), base_url="http://simulator/")
        async with (
            http,
            ContactNow(
                username="demo",
                password="demo",  # noqa: S106 -- the simulator's demo account
                base_url="http://simulator/",
                http_client=http,
            ) as client,
        ):
            await run_relay(client=client, **options)
        return
    password = os.environ.get("CONTACTNOW_PASSWORD")
    if not args.username or not password:
        raise SystemExit("set CONTACTNOW_USERNAME and CONTACTNOW_PASSWORD (or use --simulate)")
    async with ContactNow(
        username=args.username,
        password=password,
        region=Region.EU,
        base_url=args.base_url,
    ) as client:
        await run_relay(client=client, **options)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and run the relay until interrupted."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per poll is noise here
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how the relay is stopped
        anyio.run(_relay, args, backend="asyncio")  # redis-py's asyncio API: asyncio only


if __name__ == "__main__":
    main()
