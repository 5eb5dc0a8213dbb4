"""``contactnow priorities``: list and set agent-to-queue assignments."""

from __future__ import annotations

import click

from .. import QueueAssignment
from ._common import EXIT_API, Settings, connect, emit_json, fail, print_table, run


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

    async def main() -> str | None:
        async with connect(settings) as client:
            created = await client.priorities.create([assignment])
            if created.total:
                return "assigned"
            updated = await client.priorities.update([assignment])
            return "updated" if updated.total else None

    done = run(settings, main)
    if done is None:  # the API took both writes, and wrote nothing
        fail(
            f"the API neither created nor updated the assignment of agent {agent} to queue "
            f"{queue} (both writes reported 0 records)",
            EXIT_API,
        )
    click.echo(f"{done} agent {agent} to queue {queue} at level {level}")
