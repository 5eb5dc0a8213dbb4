"""The ``contactnow`` command: a live demo, and the everyday operations.

Exit codes: 0 ok, 1 unexpected error (or output that cannot be written: a full
disk), 2 usage (bad flag, missing credentials, malformed time), 3 authentication
refused, 4 API error (the API said no: an unknown agent, a refused record), 5 network
(unreachable, timeout, HTTP error, a reply that is not the API's), 130 interrupted,
141 stdout closed by its reader (``| head``: the output stops there, quietly); SIGTERM
ends ``relay`` and ``serve`` by the signal (143 in a shell) once they have stopped cleanly.

Each command group lives in a module of its own (``_agents``, ``_watch``, ...); this
one holds the group with its options, and turns click's errors into exit codes.
"""

from __future__ import annotations

import errno
import importlib
import sys
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from .. import __version__
from ._common import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    MAX_SPEED,
    FiniteFloatRange,
    Settings,
    broken_pipe_guard,
    console,
    fail,
    found_in,
    is_broken_pipe,
    open_closed_standard_streams,
    tolerate_unencodable_output,
)
from ._process_title import hide_base_url_password, hide_from_ps

#: Each command: the module of this package that defines it (as an attribute named after
#: the command, with ``_`` for ``-``), imported when the command is looked up, so
#: ``contactnow token get`` does not load the demo, the simulator or the web server; and
#: its help's first sentence, which ``contactnow --help`` lists without importing any of
#: them (as pip's command table does; a test holds each to its command's help).
COMMANDS = {
    "agents": ("._agents", "List, create and update agent records."),
    "datasets": (
        "._datasets",
        "List datasets, and set their status (HOLD, LIVE, EXPIRED).",
    ),
    "campaigns": (
        "._campaigns",
        "List the campaign tables, and the fields of each (ecnow.php).",
    ),
    "control": (
        "._control",
        "Move agents: ready, pause, wrap, hang up, log out, dial, disposition (agent.php).",
    ),
    "demo": ("._demo", "A live wallboard of a simulated contact centre (no account needed)."),
    "outcome-codes": (
        "._queues",
        "List the outcome codes: how a call can end, and what that does to its record.",
    ),
    "priorities": ("._priorities", "List and set agent-to-queue assignments."),
    "queues": ("._queues", "List the centre's queues (inbound, outbound, ivr, sms...)."),
    "records": ("._records", "Read and create the records (leads) of a campaign."),
    "recordings": ("._recordings", "Download call recordings."),
    "relay": (
        "._relay",
        "Relay agent events into a Redis Stream; run on several hosts, one leads (asyncio only).",
    ),
    "report": (
        "._report",
        "Reports: call figures (calls), call detail records (cdr), login sessions (agents).",
    ),
    "serve": (
        "._serve",
        "Serve a live wallboard page with agent events over SSE (needs the 'web' extra).",
    ),
    "simulate": (
        "._simulate",
        "Serve the ContactNow simulator (for your own tests and wallboards).",
    ),
    "status-log": (
        "._status_log",
        "Read agent status history (reads a long window in hourly pieces, with progress).",
    ),
    "token": ("._token", "Get or check the API token."),
    "watch": (
        "._watch",
        "Stream agent status changes (JSON lines with --json, for jq and friends).",
    ),
}


class _Group(click.Group):
    """The top-level group: its options go before or after the command, a closed stdout
    (``| head``) ends any command quietly, and a command's module is imported when the
    command is looked up (``COMMANDS``).

    The pipe guard is here rather than around ``cli.main``: click turns a broken pipe
    into exit 1 itself.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[cmd_name][0], __name__)
        command = getattr(module, cmd_name.replace("-", "_"))
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click's own listing, from the summaries: it would import every command's module
        # (the simulator, the watcher, the web server) for one line of help each.
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names))
        rows = [
            (name, click.Command(name, help=COMMANDS[name][1]).get_short_help_str(limit))
            for name in names
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _hoist_group_options(self, ctx, args))

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        with broken_pipe_guard():  # --help, --version
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with broken_pipe_guard():
            try:
                return super().invoke(ctx)
            except (click.ClickException, click.exceptions.Exit, click.Abort):
                raise  # click's own: _main says them
            except Exception as exc:
                if is_broken_pipe(exc) or _output_failure(exc) is not None:
                    raise  # the guards': a quiet exit, or one line from main()
                # A bug: one line, as the README gives exit 1 ("run with --debug and
                # report it"); not the exception's text, which may hold anything.
                if isinstance(ctx.obj, Settings) and ctx.obj.debug:
                    traceback.print_exc()
                fail(
                    f"unexpected error ({type(exc).__name__}): a bug: run with --debug and "
                    "report it",
                    EXIT_ERROR,
                )


def _arity(params: Iterable[click.Parameter]) -> dict[str, int]:
    """Each option name of ``params``, and how many values follow it on the command line."""
    return {
        name: 0 if param.is_flag or param.count else param.nargs
        for param in params
        if isinstance(param, click.Option)
        for name in (*param.opts, *param.secondary_opts)
    }


def _hoist_group_options(group: click.Group, ctx: click.Context, args: list[str]) -> list[str]:
    """``args`` with the group's options that follow the command moved before it.

    ``contactnow watch --json --simulate`` is read as ``contactnow --simulate watch --json``
    (as kubectl and gh do). The group's options are read from its own parameters. A
    command's option of the same name stays the command's (``agents list --username``);
    an option's value is never taken for an option or a command; nothing after ``--``
    moves.
    """
    group_options = _arity(group.get_params(ctx))
    at = 0  # past the group's options given before the command, and their values
    while at < len(args) and args[at].startswith("-") and args[at] != "--":
        name, equals, _ = args[at].partition("=")
        at += 1 if equals else 1 + group_options.get(name, 0)
    if at >= len(args) or args[at] == "--":
        return args
    command: click.Command | None = group.get_command(ctx, args[at])
    kept, moved = args[: at + 1], []
    index = at + 1
    while index < len(args):
        arg = args[index]
        if arg == "--":
            kept += args[index:]
            break
        name, equals, _ = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        its_options = _arity(command.get_params(ctx)) if command is not None else {}
        if name in its_options or name not in group_options:
            taken = 1 + (0 if equals else its_options.get(name, 0))
            if isinstance(command, click.Group) and not arg.startswith("-"):
                command = command.get_command(ctx, arg)  # a subcommand: its options next
            kept += args[index : index + taken]
        else:
            taken = 1 + (0 if equals else group_options[name])
            if index + taken > len(args) and not ctx.resilient_parsing:
                # Moved before the command, it would take the command's name as its value.
                raise click.BadOptionUsage(name, f"Option '{name}' requires an argument.", ctx)
            moved += args[index : index + taken]
        index += taken
    return [*kept[:at], *moved, *kept[at:]]


#: The group's options that say which account to talk to: not for --simulate's own.
_ACCOUNT = ("username", "password", "region", "base_url", "token_file")
#: The group's options that shape --simulate's centre: nothing without it.
_SIMULATOR = ("sim_agents", "sim_speed")
#: The commands that serve a simulator of their own, and what sets it up instead of the
#: group's options, which they do not use.
_OWN_SIMULATOR = {
    "demo": "set it with demo's own --agents and --speed",
    "simulate": "set it with simulate's own --agents, --speed, --username and --password",
}


def _given(ctx: click.Context, name: str) -> bool:
    """Whether the option ``name`` of ``ctx`` was given, not left at its default."""
    return ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="contactnow")
@click.option("--username", help="API username (default: $CONTACTNOW_USERNAME).")
@click.option(
    "--password",
    help="API password (default: $CONTACTNOW_PASSWORD; prefer the variable: a flag stays in "
    "the shell's history, and shows in ps until the command hides it as it starts).",
)
@click.option(
    "--region",
    type=click.Choice(["eu", "us"], case_sensitive=False),  # as $CONTACTNOW_REGION is read
    help="API region (default: $CONTACTNOW_REGION or eu).",
)
@click.option(
    "--base-url", help="API base URL, overrides --region (default: $CONTACTNOW_BASE_URL)."
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False),
    help="Keep the token in this file between runs.",
)
@click.option(
    "--format",
    "wire_format",
    type=click.Choice(["json", "xml"]),
    default="json",
    show_default=True,
    help="Wire format to talk to the API.",
)
@click.option(
    "--simulate",
    is_flag=True,
    help="Talk to an embedded simulator on 127.0.0.1 instead of an account.",
)
@click.option(
    "--sim-agents",
    type=click.IntRange(0, 50_000),
    default=25,
    show_default=True,
    help="Agents in the --simulate centre.",
)
@click.option(
    "--sim-speed",
    type=FiniteFloatRange(0.01, MAX_SPEED),
    default=10.0,
    show_default=True,
    help="Simulated seconds per second with --simulate.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and the (redacted) debug log.")
@click.pass_context
def cli(ctx: click.Context, /, **options: Any) -> None:
    """Talk to the 8x8 ContactNow API v2, or watch a simulated contact centre.

    Start with `contactnow demo`. Credentials come from CONTACTNOW_USERNAME,
    CONTACTNOW_PASSWORD and CONTACTNOW_REGION (eu, us) or CONTACTNOW_BASE_URL.
    These options go before the command or after it: `contactnow watch --simulate`.
    """
    ctx.obj = Settings(**options)
    if ctx.invoked_subcommand in _OWN_SIMULATOR:
        # Ignored without a word: `demo --simulate --sim-agents 3` showed 25 agents.
        flags = {param.name: param.opts[0] for param in ctx.command.params}
        names = ("simulate", *_SIMULATOR, *_ACCOUNT, "wire_format")
        given = [flags[name] for name in names if _given(ctx, name)]
        if given:
            fail(
                f"{', '.join(given)} not used by {ctx.invoked_subcommand}: it serves a "
                f"simulator of its own ({_OWN_SIMULATOR[ctx.invoked_subcommand]})"
            )
    if options["password"]:
        # ps showed it for as long as the command ran (a watch, a relay: for days).
        hide_from_ps("--password", options["password"])
    if options["base_url"]:  # a gateway's password in it, as long
        hide_base_url_password(options["base_url"])
    if options["simulate"]:
        # Its own account and address: flags meant for a real one were ignored without a
        # word (a --token-file nothing was kept in, say).
        given = [f"--{name.replace('_', '-')}" for name in _ACCOUNT if options[name] is not None]
        if given:
            fail(f"{', '.join(given)} cannot go with --simulate (it talks to its own simulator)")
    else:
        # Ignored without a word, the command talked to the account where a simulated
        # centre was meant.
        given = [f"--{name.replace('_', '-')}" for name in _SIMULATOR if _given(ctx, name)]
        if given:
            fail(f"{', '.join(given)} only with --simulate (without it: the account's API)")
    # A closed stdout quiets the shared console (OutputConsole.on_broken_pipe); a command
    # run after it in the same process (CliRunner, a user's tests) prints again.
    console.quiet = False


#: What a write of the output fails with, besides a closed pipe: a full disk or quota, a
#: file past its size limit (errors of writes only: not EIO, which a read raises too).
_OUTPUT_FAILURES = frozenset(
    getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EFBIG") if hasattr(errno, name)
)


def _output_failure(exc: BaseException) -> OSError | None:
    """The failed write of the output in ``exc`` (or in a group holding it), or None: told
    by its errno, and by its lack of a file name (an error about a file names it)."""
    failure = found_in(exc, _is_output_failure)
    return failure if isinstance(failure, OSError) else None


def _is_output_failure(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in _OUTPUT_FAILURES and exc.filename is None


@contextmanager
def _output_guard() -> Iterator[None]:
    """Turn a failed write of the output (``> file`` on a full disk) into one line, exit 1."""
    try:
        yield
    except Exception as exc:
        failure = _output_failure(exc)
        if failure is None:
            raise
        fail(f"cannot write the output: {failure.strerror or failure}", EXIT_ERROR)


def main() -> None:
    """Entry point of the ``contactnow`` console script.

    click's own errors (a bad flag, a missing argument) become one
    ``contactnow: error:`` line too, with the usage exit code. A closed stdout
    (``contactnow ... | head``) ends the command quietly with exit code 141; output that
    cannot be written (a full disk) ends it with one line and exit code 1.
    """
    open_closed_standard_streams()
    tolerate_unencodable_output()
    with broken_pipe_guard(), _output_guard():
        code = _main()
        sys.stdout.flush()  # here, where a closed pipe (or a full disk) is still caught
    raise SystemExit(code)


def _main() -> int:
    try:
        code = cli.main(prog_name="contactnow", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()  # `contactnow` alone: the help, as click prints it
        return exc.exit_code
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "contactnow"
        fail(f"{exc.format_message()} (see '{where} --help')", EXIT_USAGE)
    except click.ClickException as exc:
        fail(exc.format_message(), exc.exit_code)
    except click.Abort as exc:
        # click.prompt raises Abort "from None": the cause is in __context__.
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, KeyboardInterrupt):
            fail("interrupted", EXIT_INTERRUPTED)
        if isinstance(cause, EOFError):
            fail("no input: stdin ended at a prompt (scripts: --password-stdin)", EXIT_USAGE)
        fail("aborted", EXIT_ERROR)
    return code if isinstance(code, int) else 0


__all__ = ["cli", "main"]
