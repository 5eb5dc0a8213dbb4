"""``contactnow simulate``: serve the ContactNow simulator over HTTP."""

from __future__ import annotations

from typing import Any

import click

from ._common import (
    EXIT_INTERRUPTED,
    EXIT_NETWORK,
    MAX_SPEED,
    FiniteFloatRange,
    fail,
    refuse_empty,
)
from ._process_title import hide_from_ps


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    callback=refuse_empty,
    help="Address to listen on.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65_535),
    default=8080,
    show_default=True,
    help="Port to listen on (0: any free one).",
)
@click.option(
    "--agents",
    type=click.IntRange(0, 50_000),
    default=50,
    show_default=True,
    help="Agents in the simulated centre.",
)
@click.option(
    "--username",
    default="demo",
    show_default=True,
    callback=refuse_empty,
    help="The simulated account's API username.",
)
@click.option(
    "--password",
    default="demo",
    show_default=True,
    callback=refuse_empty,
    help="The simulated account's API password.",
)
@click.option(
    "--seed",
    type=int,
    default=1,
    show_default=True,
    help="Random seed: the same seed, the same centre.",
)
@click.option(
    "--speed",
    type=FiniteFloatRange(0.01, MAX_SPEED),
    default=1.0,
    show_default=True,
    help="Simulated seconds per second.",
)
def simulate(**options: Any) -> None:
    """Serve the ContactNow simulator (for your own tests and wallboards)."""
    require_sim_extra("the simulate command")
    hide_from_ps("--password", options["password"])  # the account's, for as long as it serves
    from ..simulator import run as run_simulator

    host, port = options.pop("host"), options.pop("port")
    try:
        run_simulator(host, port, **options)
    except KeyboardInterrupt:  # stopped cleanly first: the code the README gives Ctrl-C
        raise SystemExit(EXIT_INTERRUPTED) from None
    except BrokenPipeError:
        raise  # the banner's reader went away: the group's guard ends quietly
    except OSError as exc:  # the port is taken, or the host is not this machine's
        fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}", EXIT_NETWORK)


SIM_EXTRA = "pip install 'contactnow-async[sim]'"


def require_sim_extra(what: str) -> None:
    """Fail with one line, not a traceback, when ``what`` would serve a simulator without
    the 'sim' extra (uvicorn): the 'cli' extra alone installs the command."""
    try:
        import uvicorn  # noqa: F401 -- only checking the extra is installed
    except ImportError:
        fail(f"{what} needs the 'sim' extra to serve its simulator: {SIM_EXTRA}")
