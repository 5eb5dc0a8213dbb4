"""The ``contactnow`` command: a live demo, and the everyday operations.

Exit codes: 0 ok, 1 unexpected error, 2 usage (bad flag, missing credentials,
malformed time), 3 authentication refused, 4 API error (the API said no: an
unknown agent, a refused record), 5 network (unreachable, timeout, HTTP error,
a reply that is not the API's), 130 interrupted, 141 stdout closed by its reader
(``| head``: the output stops there, quietly).

Each command group lives in a module of its own (``_agents``, ``_watch``, ...); this
one holds the group with its options, and turns click's errors into exit codes.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from .. import __version__
from ._agents import agents
from ._common import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    Settings,
    broken_pipe_guard,
    fail,
    tolerate_unencodable_output,
)
from ._demo import demo
from ._priorities import priorities
from ._relay import relay
from ._simulate import simulate
from ._status_log import status_log
from ._token import token
from ._watch import watch


class _Group(click.Group):
    """The top-level group: a closed stdout (``| head``) ends any command quietly.

    Here rather than around ``cli.main``: click turns a broken pipe into exit 1 itself.
    """

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
            return super().invoke(ctx)


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="contactnow")
@click.option("--username", help="API username (default: $CONTACTNOW_USERNAME).")
@click.option(
    "--password",
    help="API password (default: $CONTACTNOW_PASSWORD; prefer the variable: flags show in ps).",
)
@click.option(
    "--region",
    type=click.Choice(["eu", "us"]),
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
    type=click.FloatRange(min=0.01),
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
    """
    ctx.obj = Settings(**options)


cli.add_command(agents)
cli.add_command(demo)
cli.add_command(priorities)
cli.add_command(relay)
cli.add_command(simulate)
cli.add_command(status_log)
cli.add_command(token)
cli.add_command(watch)


def main() -> None:
    """Entry point of the ``contactnow`` console script.

    click's own errors (a bad flag, a missing argument) become one
    ``contactnow: error:`` line too, with the usage exit code. A closed stdout
    (``contactnow ... | head``) ends the command quietly with exit code 141.
    """
    tolerate_unencodable_output()
    with broken_pipe_guard():
        code = _main()
        sys.stdout.flush()  # here, where a closed pipe is still caught
    raise SystemExit(code)


def _group_options() -> dict[str, bool]:
    """The group's own options (``--simulate``, ...) and whether each is a flag, named in
    the error when given after a command."""
    return {
        name: isinstance(param, click.Option) and param.is_flag
        for param in cli.params
        for name in param.opts
    }


def _main() -> int:
    try:
        code = cli.main(prog_name="contactnow", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()  # `contactnow` alone: the help, as click prints it
        return exc.exit_code
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "contactnow"
        message = exc.format_message()
        group_options = _group_options()
        if isinstance(exc, click.NoSuchOption) and exc.option_name in group_options:
            # `contactnow agents list --simulate`: say where the option goes.
            option = exc.option_name
            given = option if group_options[option] else f"{option} VALUE"
            command = where.partition(" ")[2]
            message = (
                f"no such option {option!r} for '{where}': contactnow's own options go "
                f"before the command: contactnow {given} {command} ..."
            )
        fail(f"{message} (see '{where} --help')", EXIT_USAGE)
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
