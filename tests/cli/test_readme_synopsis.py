"""The README's synopsis of the ``contactnow`` command names every option each command
takes, and none it does not: read from the commands themselves, so neither drifts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import attrs
import click
import pytest

from contactnow_async import AgentInput
from contactnow_async._cli import cli

README = Path(__file__).resolve().parents[2] / "README.md"


def synopsis() -> list[str]:
    """The lines of the README's ``contactnow`` synopsis block."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"## The `contactnow` command\n\n```\n(.*?)```", text, re.DOTALL)
    assert match, "README.md lost the synopsis of the contactnow command"
    return match.group(1).splitlines()


def command_of(line: str) -> click.Command:
    """The command a synopsis line shows (``contactnow token get ...``: ``token get``)."""
    command: click.Command = cli
    words = line.split()[1:]
    with click.Context(cli) as ctx:
        while isinstance(command, click.Group):
            found = command.get_command(ctx, words.pop(0))
            assert found is not None, line
            command = found
    return command


def options_of(command: click.Command) -> set[str]:
    """The options ``--help`` shows, each by its first long name (an older alias after it,
    ``--since-uid``, and a hidden flag that only refuses a secret's value, are left out)."""
    return {
        name
        for param in command.params
        if isinstance(param, click.Option) and not param.hidden
        for name in (
            next(opt for opt in param.opts if opt.startswith("--")),
            *param.secondary_opts,
        )
        if name != "--help"
    }


@pytest.mark.parametrize("line", synopsis(), ids=lambda line: " ".join(line.split()[1:3]))
def test_the_readme_synopsis_names_each_option_of_its_command(line: str) -> None:
    shown = set(re.findall(r"--[a-z][a-z-]*", line))
    if "--FIELD" in line:  # agents update: "a flag for each field of AgentInput"
        shown |= {
            "--" + field.name.replace("_", "-")
            for field in attrs.fields(AgentInput)
            if field.name not in ("agent_id", "password", "pin")  # the id is an argument
        }
    assert shown == options_of(command_of(line))


def _options_without_help(command: click.Command, path: str) -> Iterator[str]:
    if isinstance(command, click.Group):
        with click.Context(command) as ctx:
            for name in command.list_commands(ctx):
                found = command.get_command(ctx, name)
                assert found is not None
                yield from _options_without_help(found, f"{path} {name}")
    for param in command.params:
        own = param.name not in ("help", "version")  # click's own say what they do
        if isinstance(param, click.Option) and not param.hidden and not param.help and own:
            yield f"{path} {param.opts[0]}"


def test_every_option_says_what_it_does_in_its_help() -> None:
    # `watch --help` showed "--interval FLOAT RANGE [default: 2.0; x>=0.05]": seconds of
    # what? 23 options said nothing but their type.
    assert list(_options_without_help(cli, "contactnow")) == []
