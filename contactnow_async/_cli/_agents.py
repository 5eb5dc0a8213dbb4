"""``contactnow agents``: list, create and update agent records."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from .. import Agent
from .._models import AGENT_FIELDS
from ._common import Settings, connect, emit_json, fail, print_table, run

#: Agent attributes, named as on the Agent model (the wire's agentid is agent_id).
AGENT_FIELDS_PUBLIC = ("agent_id", *AGENT_FIELDS[1:])

_AGENT_COLUMNS = ("agent_id", "name", "username", "phone", "default_status", "auth_level")


@click.group()
def agents() -> None:
    """List, create and update agent records."""


@agents.command("list")
@click.option("--name", default=None, help="Only agents with exactly this name.")
@click.option("--username", "agent_username", default=None, help="Only agents with this username.")
@click.option("--json", "as_json", is_flag=True)
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
            emit_json(
                {
                    field: getattr(agent, field)
                    for field in AGENT_FIELDS_PUBLIC
                    if field not in ("password", "pin")
                }
            )
    else:
        print_table(_AGENT_COLUMNS, [[getattr(a, c) for c in _AGENT_COLUMNS] for a in found])


@agents.command("create")
@click.option("--name", required=True)
@click.option("--username", "agent_username", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the agent's password from stdin.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def agents_create(
    settings: Settings, name: str, agent_username: str, password_stdin: bool, as_json: bool
) -> None:
    """Create an agent (the password is prompted for, never echoed).

    Not idempotent: running it twice creates two agents.
    """
    if password_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
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
        click.echo(f"created agent {result.key}")


@agents.command(
    "update", context_settings={"ignore_unknown_options": True, "allow_extra_args": True}
)
@click.argument("agent_id")
@click.pass_context
def agents_update(ctx: click.Context, agent_id: str) -> None:
    """Update fields of agent AGENT_ID: `agents update 550423 --name "John Dow"`."""
    settings: Settings = ctx.obj
    fields = _field_options(ctx.args)
    if not fields:
        fail("nothing to update: pass fields, e.g. --name 'John Dow' --phone 0123")

    async def main() -> Any:
        async with connect(settings) as client:
            return await client.agents.update([{"agentid": agent_id, **fields}])

    result = run(settings, main)
    click.echo(f"updated agent {agent_id} ({result.total} record)")


def _field_options(args: Sequence[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    items = list(args)
    while items:
        flag = items.pop(0)
        if not flag.startswith("--"):
            fail(f"unexpected argument {flag!r}: fields are given as --field value")
        key, equals, inline = flag[2:].partition("=")
        key = key.replace("-", "_")
        if key not in AGENT_FIELDS_PUBLIC or key == "agent_id":
            known = ", ".join(f for f in AGENT_FIELDS_PUBLIC if f != "agent_id")
            fail(f"unknown agent field --{key}; fields: {known}")
        if not equals:  # --phone= is an empty value, not "take the next argument"
            if not items:
                fail(f"--{key} needs a value")
            inline = items.pop(0)
        fields[key] = inline
    return fields
