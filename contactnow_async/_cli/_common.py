"""What every command shares: configuration, errors and exit codes, output."""

from __future__ import annotations

import asyncio
import codecs
import errno
import io
import logging
import math
import os
import sys
import tempfile
import traceback
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import anyio
import attrs
import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .. import (
    APIError,
    AuthenticationError,
    ContactNow,
    ContactNowError,
    FileTokenStore,
    LogPositionError,
    Region,
    ScaledClock,
)
from .._values import utf8_text
from ._interrupts import second_interrupt_ends_at_once, sigint_restored, was_interrupted
from ._tables import piped_table
from ._text import json_line, not_utf8_value, printable

T = TypeVar("T")

#: Exit codes, documented in the README.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_API = 4
EXIT_NETWORK = 5
EXIT_INTERRUPTED = 130
#: 128 + SIGPIPE: stdout's reader went away (``contactnow ... | head``), as a shell reports
#: for coreutils; nothing is printed.
EXIT_BROKEN_PIPE = 141

SIM_USERNAME = "demo"
SIM_PASSWORD = "demo"  # noqa: S105 -- the embedded simulator's own demo account


@attrs.define
class Settings:
    """The group's options, resolved against the environment."""

    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)  # a secret
    region: str | None = None
    base_url: str | None = None
    token_file: str | None = None
    wire_format: str = "json"
    simulate: bool = False
    sim_agents: int = 25
    sim_speed: float = 10.0
    debug: bool = False


#: The fastest a simulated centre runs (``--sim-speed``, ``--speed``): 1,000 simulated
#: seconds per second still lets a 12-hour token last 43 s; far faster, timestamps leave
#: what a datetime holds and the simulator spins.
MAX_SPEED = 1_000.0


class FiniteFloatRange(click.FloatRange):
    """click's FloatRange that refuses ``nan`` and ``inf``.

    ``nan`` passes every bound of click's (a comparison with it is false): ``--interval
    nan`` polled without a pause, and an infinite speed or time overflows later.
    """

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


#: ``--cutoff``: the answer time the queue KPIs' service level counts (demo, serve).
cutoff_option = click.option(
    "--cutoff",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="Service-level cutoff in seconds.",
)


def refuse_empty(ctx: click.Context, param: click.Parameter, value: T) -> T:
    """An option's callback: ``""`` (say, an unset shell variable) is refused, not served
    on, written to, or taken for the default; so is one of a repeated option's values."""
    if value == "" or (isinstance(value, tuple) and "" in value):
        raise click.BadParameter("it is empty", ctx, param)
    return value


def agents_option(dest: str = "agent_ids") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--agent ID``, repeatable: only these agents (``dest``: the parameter's name)."""
    return click.option(
        "--agent",
        dest,
        multiple=True,
        callback=refuse_empty,
        help="Only this agent id (repeatable).",
    )


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print one clear line on stderr and exit with ``code``; what ``message`` quotes
    (the API's error text, a file's name) is escaped by ``printable``."""
    click.echo(f"contactnow: error: {printable(message)}", err=True)
    raise SystemExit(code)


def found_in(exc: BaseException, match: Callable[[BaseException], bool]) -> BaseException | None:
    """``exc`` if it matches, else the first match in the exception group (from a task
    group) it is, at any depth; None if there is none."""
    if match(exc):
        return exc
    inner = getattr(exc, "exceptions", None)  # BaseExceptionGroup, without needing 3.11
    for one in inner if isinstance(inner, tuple) else ():
        if isinstance(one, BaseException) and (found := found_in(one, match)) is not None:
            return found
    return None


def is_broken_pipe(exc: BaseException) -> bool:
    """A BrokenPipeError, or an exception group (from a task group) holding one."""
    return found_in(exc, lambda one: isinstance(one, BrokenPipeError)) is not None


def stop_on_broken_pipe() -> NoReturn:
    """stdout's reader went away: end quietly with ``EXIT_BROKEN_PIPE``.

    Python's recipe (the ``signal`` module's "Note on SIGPIPE"): point stdout at
    devnull, so the interpreter's last flush of what is still buffered cannot fail
    again with "Exception ignored ... BrokenPipeError".
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real stdout (click's CliRunner)
        pass
    raise SystemExit(EXIT_BROKEN_PIPE)


@contextmanager
def broken_pipe_guard() -> Iterator[None]:
    """Turn a closed stdout (``| head``) anywhere in the block into a quiet exit."""
    try:
        yield
    except BaseException as exc:
        if is_broken_pipe(exc):
            stop_on_broken_pipe()
        raise


class OutputConsole(Console):
    """A rich console that reports a closed stdout as BrokenPipeError.

    rich's own handler exits with status 1 (as a SystemExit raised inside whatever
    task printed); the command's guard decides instead (``EXIT_BROKEN_PIPE``).
    """

    def on_broken_pipe(self) -> None:
        self.quiet = True
        # What the failed write did not send stays in rich's buffer: dropped, or the
        # next command run in this process (CliRunner, a user's tests) printed it first.
        del self._buffer[:]
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


def _json_escape(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: what stdout cannot encode becomes ``\\uXXXX`` (valid in JSON)."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    escaped = []
    for char in exc.object[exc.start : exc.end]:
        code = ord(char)
        if code > 0xFFFF:  # a surrogate pair, as JSON spells it
            code -= 0x10000
            escaped.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            escaped.append(f"\\u{code:04x}")
    return "".join(escaped), exc.end


codecs.register_error("contactnow.json-escape", _json_escape)


def open_closed_standard_streams() -> None:
    """Give a closed stdin, stdout or stderr (``<&-``) the null device instead.

    Python makes such a stream None, and click and the commands would fail on it with
    an AttributeError; read, the null device is empty input (as ``</dev/null``), and
    written, it takes the output as a closed descriptor would.
    """
    for name, mode in (("stdin", "r"), ("stdout", "w"), ("stderr", "w")):
        if getattr(sys, name) is None:
            # open() takes the lowest free descriptor: the closed one, now the null device.
            stream = open(os.devnull, mode, encoding="utf-8")  # noqa: SIM115 -- open until exit
            setattr(sys, name, stream)


def tolerate_unencodable_output() -> None:
    """Let stdout print any name: what its encoding lacks (a cp1252 or latin-1 locale, a
    lone surrogate from the API) is escaped as ``\\uXXXX`` instead of raising."""
    if isinstance(sys.stdout, io.TextIOWrapper) and sys.stdout.errors == "strict":
        sys.stdout.reconfigure(errors="contactnow.json-escape")


#: Where commands print tables and the demo its wallboard.
console = OutputConsole(highlight=False)


def emit_json(data: Any) -> None:
    """Print ``data`` as one line of JSON (``json_line``)."""
    click.echo(json_line(data))


def print_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, none: str) -> None:
    """Print ``rows`` under ``columns`` as a plain table; without rows, ``none`` (what
    was looked for, not found) on stderr instead: a header alone looked like a failure."""
    if not rows:
        click.echo(printable(none), err=True)
        return
    cells = [[printable(value) for value in row] for row in rows]
    if console.is_terminal:
        table = Table(*columns, show_edge=False, pad_edge=False)
        for row in cells:
            # Text, not str: a name such as "[/]" or "[red]x" is data, not rich markup.
            table.add_row(*(Text(cell) for cell in row))
        console.print(table)
        return
    # Piped (cron, `> file`): data to grep, never cut to a screen's width (rich's 80
    # columns), in the lines rich draws, without its layout engine (2,000 agents took 6 s).
    lines = piped_table(columns, cells)
    for at in range(0, len(lines), 64):  # a write per 64 lines: one past a closed pipe fails
        click.echo("\n".join(lines[at : at + 64]))


@contextmanager
def unlogged(settings: Settings, logger: str, *messages: str) -> Iterator[None]:
    """Leave ``logger``'s records of ``messages`` (their format strings) out of stderr for
    the block: the command says each of them in a line of its own (``--debug`` shows
    the log as it is)."""

    def not_said_by_the_command(record: logging.LogRecord) -> bool:
        return record.msg not in messages

    log = logging.getLogger(logger)
    if not settings.debug:
        log.addFilter(not_said_by_the_command)
    try:
        yield
    finally:
        log.removeFilter(not_said_by_the_command)


def run(settings: Settings, entry: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run an async command; turn every error into one line and an exit code."""
    if (ctx := click.get_current_context(silent=True)) and (why := not_utf8_value(ctx)):
        fail(why)
    if settings.debug:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    try:
        with sigint_restored():
            return anyio.run(second_interrupt_ends_at_once, entry)
    except (KeyboardInterrupt, asyncio.CancelledError) as exc:
        if not was_interrupted(exc):  # a cancellation no Ctrl-C made: a bug, shown as one
            raise
        raise SystemExit(EXIT_INTERRUPTED) from None
    except ContactNowError as exc:
        if settings.debug:
            traceback.print_exc()
        if isinstance(exc, AuthenticationError):
            code = EXIT_AUTH
        elif isinstance(exc, LogPositionError):  # --since-log-id: bad input, as a bad flag
            code = EXIT_USAGE
        elif isinstance(exc, APIError):
            code = EXIT_API
        else:
            code = EXIT_NETWORK
        fail(str(exc), code)
    except ValueError as exc:
        if settings.debug:
            traceback.print_exc()
        fail(str(exc), EXIT_USAGE)
    raise AssertionError("unreachable")  # pragma: no cover -- fail() always exits


#: What a command's client runs on (``ContactNow(transport=...)``). A command that asks a
#: few questions and exits spends more importing the ``[speed]`` extra's aiohttp (~140 ms
#: of CPU, more than the rest of a simulated ``agents list``) than aiohttp saves it (~0.5 ms
#: a request): plain httpx. The commands that send ``MANY_REQUESTS`` or more (watch, relay
#: and serve poll until stopped, records create sends a request a row, a long status-log
#: window one an hour) take ``MANY_REQUESTS_WIRE``.
ONE_SHOT_WIRE = "httpx"
MANY_REQUESTS_WIRE = "auto"
MANY_REQUESTS = 300


@asynccontextmanager
async def connect(settings: Settings, **options: Any) -> AsyncIterator[ContactNow]:
    """A client for the configured account, or for an embedded simulator (``--simulate``),
    on ``ONE_SHOT_WIRE`` unless ``options`` names a ``transport``."""
    options.setdefault("transport", ONE_SHOT_WIRE)
    if settings.simulate:
        from ..simulator import Simulator, serve
        from ._simulate import require_sim_extra

        require_sim_extra("--simulate")

        sim = Simulator(
            username=SIM_USERNAME,
            password=SIM_PASSWORD,
            agents=settings.sim_agents,
            seed=1,
            clock=ScaledClock(settings.sim_speed),
        )
        async with (
            serve(sim) as base_url,
            ContactNow(
                base_url=base_url,
                username=SIM_USERNAME,
                password=SIM_PASSWORD,
                format=_format(settings),
                **options,
            ) as client,
        ):
            yield client
        return
    # A flag given empty is what the user typed: refused, not replaced by the variable.
    given_flags = (
        ("--username", settings.username),
        ("--password", settings.password),
        ("--base-url", settings.base_url),  # or the region's host: a real account's
        ("--token-file", settings.token_file),  # or no file: the token was kept nowhere
    )
    for flag, given in given_flags:
        if given == "":
            fail(f"{flag} is empty")
    username = settings.username or os.environ.get("CONTACTNOW_USERNAME")
    password = settings.password or os.environ.get("CONTACTNOW_PASSWORD")
    if not username:
        fail("no API username: set CONTACTNOW_USERNAME (or pass --username, or --simulate)")
    if not password:
        fail("no API password: set CONTACTNOW_PASSWORD (or use --simulate)")
    for what, value in (("username", username), ("password", password)):
        if not utf8_text(value):  # a byte the locale could not decode: quoted, it leaked
            fail(f"the API {what} is not UTF-8 text (CONTACTNOW_{what.upper()} or --{what})")
    # A --region flag overrides $CONTACTNOW_BASE_URL (a flag beats a variable); --base-url
    # overrides --region.
    api_url = settings.base_url or (
        None if settings.region else os.environ.get("CONTACTNOW_BASE_URL")
    )
    if api_url == "":  # not taken for unset: the region's host is a real account's
        fail("CONTACTNOW_BASE_URL is set but empty: give the API's URL, or unset it")
    region_name = (settings.region or os.environ.get("CONTACTNOW_REGION") or "eu").upper()
    if region_name not in Region.__members__:
        fail(f"unknown region {region_name.lower()!r}: CONTACTNOW_REGION is eu or us")
    store = None
    if settings.token_file:
        # Before a token is fetched, not after; and where the check looked (a ~ no
        # shell expanded, as in ``--token-file=~/x``, is the home directory).
        store = FileTokenStore(_check_writable(settings.token_file))
    async with ContactNow(
        username=username,
        password=password,
        region=Region[region_name],
        base_url=api_url,
        format=_format(settings),
        token_store=store,
        **options,
    ) as client:
        yield client


def _check_writable(token_file: str) -> Path:
    """The token file's path (``~`` expanded); fail with one line if it cannot be
    written (tried, not guessed)."""
    path = Path(token_file).expanduser()
    if path.is_dir():
        fail(f"--token-file {token_file}: is a directory; give a file path")
    if path.exists() and not path.is_file():
        # A FIFO hangs the read; a device (/dev/null) would be replaced by the token's file.
        fail(f"--token-file {token_file}: not a regular file; give a file path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        fail(f"--token-file {token_file}: cannot write there ({exc.strerror or exc})")
    return path


def _format(settings: Settings) -> Any:
    return settings.wire_format


def since_log_id_option(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--since-log-id N`` (``--since-uid`` still accepted): where the status log resumes."""
    return click.option(
        "--since-log-id",
        "--since-uid",
        "since_log_id",
        type=click.IntRange(min=0),
        default=None,
        help=help,
    )
