"""``contactnow priorities``: list and set agent-to-queue assignments."""

from __future__ import annotations

import click

from .. import QueueAssignment
from ._common import Settings, connect, emit_json, print_table, run


@click.group()
def priorities() -> None:
    """List and set agent-to-queue assignments."""


@priorities.command("list")
@click.option("--agent", default=None)
@click.option("--queue", default=None)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def priorities_list(
    settings: Settings, agent: str | None, queue: str | None, as_json: bool
) -> None:
    """List queue assignments of an agent, a queue, or all."""

    async def main() -> list[QueueAssignment]:
        async with connect(settings) as client:
            return await client.priorities.read(agent=agent, queue=queue)

    found = run(settings, main)
    if as_json:
        for item in found:
            emit_json({"agent_id": item.agent_id, "queue_id": item.queue_id, "level": item.level})
    else:
        print_table(["agent", "queue", "level"], [[a.agent_id, a.queue_id, a.level] for a in found])


@priorities.command("set")
@click.argument("agent")
@click.argument("queue")
@click.argument("level", type=click.IntRange(0, 1_000_000))
@click.pass_obj
def priorities_set(settings: Settings, agent: str, queue: str, level: int) -> None:
    """Assign AGENT to QUEUE at LEVEL (creates it, or updates an existing one)."""
    assignment = QueueAssignment(agent_id=agent, queue_id=queue, level=level)

    async def main() -> str:
        async with connect(settings) as client:
            created = await client.priorities.create([assignment])
            if created.total:
                return "assigned"
            await client.priorities.update([assignment])
            return "updated"

    click.echo(f"{run(settings, main)} agent {agent} to queue {queue} at level {level}")
