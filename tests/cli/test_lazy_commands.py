"""The ``contactnow`` group imports a command's module when that command runs.

``contactnow token get`` should not pay for the demo, the simulator, the web server or
the Redis relay: each command group lives in a module the group imports by name.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest

from contactnow_async import ContactNow
from contactnow_async._cli import COMMANDS

from .conftest import CliInvoker, Served

#: The command line's package, whose modules are read as text.
CLI = Path(__file__).resolve().parents[2] / "contactnow_async" / "_cli"
#: Modules a command other than demo, simulate, serve or relay has no use for.
HEAVY = (
    "contactnow_async._cli._demo",
    "contactnow_async._cli._relay",
    "contactnow_async._cli._serve",
    "contactnow_async._cli._simulate",
    "contactnow_async.simulator",
)


def _loaded_after(*argv: str) -> set[str]:
    code = (
        "import sys, json\n"
        "from contactnow_async._cli import cli\n"
        f"cli.main({list(argv)!r}, prog_name='contactnow', standalone_mode=False)\n"
        "sys.stdout.write('\\n' + json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("command", ["token", "watch"])
@pytest.mark.slow
def test_a_command_loads_its_own_module_only(command: str) -> None:
    # watch prints the demo's event lines: they live with watch, away from the simulator.
    loaded = _loaded_after(command, "--help")
    assert f"contactnow_async._cli._{command}" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.slow
def test_the_group_help_loads_no_command() -> None:
    loaded = _loaded_after("--help")
    commands = {f"contactnow_async._cli.{module[1:]}" for module, _ in COMMANDS.values()}
    assert not loaded & commands, sorted(loaded & commands)
    assert "contactnow_async.simulator" not in loaded


@pytest.mark.parametrize("width", [40, 80, 100, 200])
def test_the_group_help_lists_each_commands_own_help(width: int) -> None:
    # The summaries in COMMANDS stand for each command's help: what click would list
    # from the commands themselves, at any terminal width.
    from contactnow_async._cli import cli

    with click.Context(cli, terminal_width=width, max_content_width=width) as ctx:
        ours, clicks = click.HelpFormatter(width=width), click.HelpFormatter(width=width)
        cli.format_commands(ctx, ours)
        click.Group.format_commands(cli, ctx, clicks)
    assert ours.getvalue() == clicks.getvalue()
    assert ours.getvalue().count("\n") > len(COMMANDS)


def test_the_group_help_lists_every_command() -> None:
    from contactnow_async._cli import cli

    with click.Context(cli) as ctx:
        names = cli.list_commands(ctx)
        assert names == sorted(names)
        assert {"agents", "demo", "relay", "serve", "status-log", "watch"} <= set(names)
        for name in names:
            command = cli.get_command(ctx, name)
            assert isinstance(command, click.Command)
            assert command.name == name
        assert cli.get_command(ctx, "no-such-command") is None


def test_a_command_that_asks_and_exits_runs_on_plain_httpx(
    served: Served, invoke: CliInvoker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # aiohttp's import costs such a command more than it saves; one that sends many
    # requests (a long status-log window, a request per record, a poll until stopped)
    # keeps the client's default.
    wires: list[object] = []

    def recording(**options: Any) -> Any:
        wires.append(options.get("transport"))
        return ContactNow(**options)

    monkeypatch.setattr("contactnow_async._cli._common.ContactNow", recording)
    monkeypatch.setattr("contactnow_async._cli._status_log.MANY_REQUESTS", 5)  # not 300
    env = served.env()
    assert invoke(["agents", "list", "--json"], env=env).code == 0
    assert invoke(["status-log", "--since", "2h", "--json"], env=env).code == 0
    assert invoke(["status-log", "--since", "6h", "--json"], env=env).code == 0
    # A header and no rows: nothing created in the shared simulator.
    create = ["records", "create", "-", "--dataset", "352"]
    assert invoke(create, env=env, input="HomePhone\n").code == 0
    assert invoke(["watch", "--duration", "0"], env=env).code == 0
    assert wires == ["httpx", "httpx", "auto", "auto", "auto"]


@pytest.mark.slow
def test_a_command_leaves_trio_unloaded() -> None:
    # Commands run on asyncio; httpcore would import trio (installed here) only to look.
    code = (
        "import atexit, json, sys\n"
        "from contactnow_async._cli_entry import main\n"
        "atexit.register(lambda: print(json.dumps("
        "[sorted(sys.modules), sys.modules.get('trio') is None])))\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "--simulate", "token", "get"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    loaded, no_trio = json.loads(done.stdout.splitlines()[-1])
    assert "httpcore" in loaded  # the command sent its requests through it
    assert no_trio


def test_the_shell_completes_commands_subcommands_and_options() -> None:
    # What `eval "$(_CONTACTNOW_COMPLETE=bash_source contactnow)"` (the README) asks.
    from click.shell_completion import BashComplete

    from contactnow_async._cli import cli

    def completed(args: list[str], incomplete: str) -> list[str]:
        complete = BashComplete(cli, {}, "contactnow", "_CONTACTNOW_COMPLETE")
        return [item.value for item in complete.get_completions(args, incomplete)]

    assert completed([], "con") == ["control"]
    assert {"ready", "hangup-ready", "callback"} <= set(completed(["control"], ""))
    assert "--record-tz" in completed(["report", "cdr"], "--re")


def _loading(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes of ``node`` run when its module loads: not a function's body."""
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield child
            yield from _loading(child)


def _cli_imports(path: Path) -> set[str]:
    """The ``_cli`` modules ``path`` imports as it loads: ``from ._x import``, ``from .
    import _x``, and ``importlib.import_module("._x", __package__)`` (which hides one
    from a reader). An import in a function, run later, is no cycle."""
    found: set[str] = set()
    for node in _loading(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and str(node.args[0].value).startswith(".")
        ):
            found.add(str(node.args[0].value)[1:])
    return found


def test_no_command_module_imports_one_that_imports_it() -> None:
    # report loaded report agents by name at its last line, and report agents imported
    # report's private helpers: a cycle that worked in either order only as long as that
    # line stayed last.
    modules = {path.stem: path for path in CLI.glob("_*.py") if path.stem != "__init__"}
    graph = {name: _cli_imports(path) & modules.keys() for name, path in modules.items()}
    cycles = sorted(
        f"{first} <-> {second}"
        for first, imported in graph.items()
        for second in imported
        if first < second and first in graph[second]
    )
    assert cycles == []
