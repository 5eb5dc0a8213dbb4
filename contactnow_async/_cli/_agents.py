"""``contactnow agents``: list, create and update agent records."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import attrs
import click

from .. import Agent, AgentInput
from .._values import utf8_text
from ._common import (
    EXIT_USAGE,
    Settings,
    connect,
    emit_json,
    fail,
    print_table,
    refuse_empty,
    run,
)
from ._text import printable

#: What ``agents list --json`` prints: the Agent model's attributes but its secrets and
#: ``raw`` (both kept out of its repr).
_LISTED = tuple(field.name for field in attrs.fields(Agent) if field.repr)

_AGENT_COLUMNS = ("agent_id", "name", "username", "phone", "default_status", "auth_level")


@click.group()
def agents() -> None:
    """List, create and update agent records."""


@agents.command("list")
@click.option(
    "--name", default=None, callback=refuse_empty, help="Only agents with exactly this name."
)
@click.option(
    "--username",
    "agent_username",
    default=None,
    callback=refuse_empty,
    help="Only agents with this username.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per agent.")
@click.pass_obj
def agents_list(
    settings: Settings, name: str | None, agent_username: str | None, as_json: bool
) -> None:
    """List agent records."""

    async def main() -> list[Agent]:
        async with connect(settings) as client:
            return await client.agents.read(name=name, username=agent_username)

    found = run(settings, main)
    if as_json:
        for agent in found:
            emit_json({name: getattr(agent, name) for name in _LISTED})
    else:
        named = f" named {name!r}" if name else ""
        called = f" with username {agent_username!r}" if agent_username else ""
        print_table(
            _AGENT_COLUMNS,
            [[getattr(a, c) for c in _AGENT_COLUMNS] for a in found],
            none=f"no agent{named}{called}" if named or called else "no agents",
        )


def _refuse_create_password(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Refuse the agent's password given as a flag's value: the group's ``--password``
    (the API's) would otherwise take it, and send it to token.php."""
    if value is not None:
        fail(_CREATE_REFUSAL, EXIT_USAGE)


_CREATE_REFUSAL = (
    "--password is not taken from a flag (it would show in ps and the shell history): "
    "leave it out to type the agent's password unseen, or use --password-stdin to read it "
    "from stdin (the API's password goes before the command, or in $CONTACTNOW_PASSWORD)"
)


class _CreateCommand(click.Command):
    """``agents create``: a ``--password`` last, without its value, is refused as one."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.BadOptionUsage as exc:
            if exc.option_name == "--password":
                fail(_CREATE_REFUSAL, EXIT_USAGE)
            raise


@agents.command("create", cls=_CreateCommand)
@click.option("--name", required=True, callback=refuse_empty, help="The agent's name.")
@click.option(
    "--username",
    "agent_username",
    required=True,
    callback=refuse_empty,
    help="The agent's login username.",
)
@click.option("--password-stdin", is_flag=True, help="Read the agent's password from stdin.")
# The agent's, refused: after the command, it was taken for the group's (the API's).
@click.option("--password", hidden=True, expose_value=False, callback=_refuse_create_password)
@click.option("--json", "as_json", is_flag=True, help="The new agent's id as JSON.")
@click.pass_obj
def agents_create(
    settings: Settings, name: str, agent_username: str, password_stdin: bool, as_json: bool
) -> None:
    """Create an agent (the password is prompted for, never echoed).

    Not idempotent: running it twice creates two agents.
    """
    if password_stdin:
        secret = _stdin_secret("password")
    else:
        secret = click.prompt("Agent password", hide_input=True, confirmation_prompt=True)
    if not secret:
        fail("the agent password is empty")
    record = {"name": name, "username": agent_username, "password": secret}

    async def main() -> Any:
        async with connect(settings) as client:
            return await client.agents.create([record])

    result = run(settings, main)
    if as_json:
        emit_json({"agent_id": result.key, "total": result.total})
    else:
        click.echo(f"created agent {printable(result.key)}")  # the API's text


def _flag(name: str) -> str:
    """The command-line flag of a model attribute: ``user_field`` is ``--user-field``."""
    return "--" + name.replace("_", "-")


def _is_secret(field: attrs.Attribute[Any]) -> bool:
    """Whether a field holds a secret: the models keep those out of their repr."""
    return not field.repr


#: What ``agents update`` can set: every AgentInput attribute but the key, so a field
#: added to the model is a flag here without a change to the command.
_FIELDS = tuple(field for field in attrs.fields(AgentInput) if field.name != "agent_id")
_SECRETS = tuple(field for field in _FIELDS if _is_secret(field))


def _secret_refusal(field: attrs.Attribute[Any]) -> str:
    """The one-line refusal of a secret given as a flag's value, with what to use instead."""
    flag = _flag(field.name)
    return (
        f"{flag} is not taken from a flag (it would show in ps and the shell history): "
        f"use {flag}-prompt to type it unseen, or {flag}-stdin to read it from stdin"
    )


def _refuse_secret(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Refuse a secret given as a flag's value, before anything is read or sent."""
    if value is not None:
        field = next(f for f in _SECRETS if f.name == param.name)
        fail(_secret_refusal(field), EXIT_USAGE)


def _field_options(command: Callable[..., None]) -> Callable[..., None]:
    """Add an option for each agent field to ``agents update``.

    A secret gets ``--F-prompt`` and ``--F-stdin``; its plain ``--F`` is kept, hidden,
    only to be refused with a message that says what to use instead.
    """
    for field in reversed(_FIELDS):
        flag, words = _flag(field.name), field.name.replace("_", " ")
        if _is_secret(field):
            command = click.option(
                f"{flag}-stdin",
                f"{field.name}_stdin",
                is_flag=True,
                help=f"Read the agent's new {words} from stdin.",
            )(command)
            command = click.option(
                f"{flag}-prompt",
                f"{field.name}_prompt",
                is_flag=True,
                help=f"Ask for the agent's new {words} (never echoed).",
            )(command)
            command = click.option(
                flag, field.name, hidden=True, expose_value=False, callback=_refuse_secret
            )(command)
        else:
            command = click.option(
                flag, field.name, metavar="VALUE", help=f"New {words} ('' clears it)."
            )(command)
    return command


class _UpdateCommand(click.Command):
    """``agents update``: its usage errors name the agent fields, in one line."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as exc:
            flags = [
                f"{_flag(f.name)}-prompt, {_flag(f.name)}-stdin" if _is_secret(f) else _flag(f.name)
                for f in _FIELDS
            ]
            message = f"unknown agent field {exc.option_name}; fields: {', '.join(flags)}"
            fail(message, EXIT_USAGE)
        except click.BadOptionUsage as exc:  # a field flag last, without its value
            secret = next((f for f in _SECRETS if _flag(f.name) == exc.option_name), None)
            fail(_secret_refusal(secret) if secret else f"{exc.option_name} needs a value")


@agents.command("update", cls=_UpdateCommand)
@click.argument("agent_id", callback=refuse_empty)
@_field_options
@click.pass_obj
def agents_update(settings: Settings, /, agent_id: str, **given: Any) -> None:
    """Update fields of agent AGENT_ID: `agents update 550423 --name "John Dow"`.

    A password or pin is never a flag's value: --password-prompt asks for it,
    --password-stdin reads it from stdin (one line).
    """
    fields = {f.name: given[f.name] for f in _FIELDS if not _is_secret(f)}
    stdin_readers = [_flag(f.name) + "-stdin" for f in _SECRETS if given[f"{f.name}_stdin"]]
    if len(stdin_readers) > 1:
        fail(f"only one secret can come from stdin: {' and '.join(stdin_readers)} were given")
    for secret in _SECRETS:
        fields[secret.name] = _read_secret(
            secret,
            from_stdin=given[f"{secret.name}_stdin"],
            prompt=given[f"{secret.name}_prompt"],
        )
    fields = {name: value for name, value in fields.items() if value is not None}
    if not fields:
        fail("nothing to update: pass fields, e.g. --name 'John Dow' --phone 0123")
    update = AgentInput(agent_id=agent_id, **fields)

    async def main() -> Any:
        async with connect(settings) as client:
            return await client.agents.update([update])

    result = run(settings, main)
    click.echo(f"updated agent {agent_id} ({result.total} record)")


def _stdin_secret(words: str) -> str:
    """The agent's new ``words`` (password, pin): one line of stdin, refused in one line
    if it is not UTF-8 text (the API's).

    A byte that is not was a UnicodeDecodeError traceback, or, where stdin decodes with
    ``surrogateescape`` (a C locale), an encoding error quoting that byte of the secret.
    """
    try:
        value: str | None = sys.stdin.readline().rstrip("\r\n")
    except UnicodeError:  # a strict stdin
        value = None
    if value is None or not utf8_text(value):  # or a byte surrogateescape kept
        fail(f"the agent {words} on stdin is not UTF-8 text")
    return value


def _read_secret(field: attrs.Attribute[Any], *, from_stdin: bool, prompt: bool) -> str | None:
    """A secret field's new value from stdin or a hidden prompt, or None when not asked."""
    flag, words = _flag(field.name), field.name.replace("_", " ")
    if from_stdin and prompt:
        fail(f"{flag}-stdin and {flag}-prompt are two ways to give one value: pick one")
    if from_stdin:
        value = _stdin_secret(words)
    elif prompt:
        value = click.prompt(f"Agent {words}", hide_input=True, confirmation_prompt=True)
    else:
        return None
    if not value:
        fail(f"the agent {words} is empty")
    return value
