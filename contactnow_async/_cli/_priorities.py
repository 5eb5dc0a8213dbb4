"""``contactnow priorities``: list and set agent-to-queue assignments."""

from __future__ import annotations

import re

import click

from .. import QueueAssignment
from ._common import (
    EXIT_API,
    Settings,
    connect,
    emit_json,
    fail,
    print_table,
    refuse_empty,
    run,
)


@click.group()
def priorities() -> None:
    """List and set agent-to-queue assignments."""


@priorities.command("list")
@click.option("--agent", default=None, callback=refuse_empty, help="Only this agent's.")
@click.option("--queue", default=None, callback=refuse_empty, help="Only this queue's.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per assignment.")
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
        of = f" of agent {agent}" if agent else ""
        to = f" to queue {queue}" if queue else ""
        print_table(
            ["agent", "queue", "level"],
            [[a.agent_id, a.queue_id, a.level] for a in found],
            none=f"no queue assignments{of}{to}",
        )


#: A negative whole number (``-1``), which click takes for an option's name.
_NEGATIVE = re.compile(r"-[0-9]+")


class _NegativeArguments(click.Command):
    """A command whose arguments may be given as negative numbers: ``set A Q -1`` was
    "No such option '-1'"; the ``-1`` now goes to its argument, whose type says what is
    wrong with it (LEVEL's range). An unknown option among them is still one."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        before = args[: args.index("--")] if "--" in args else args
        options = {name for param in self.get_params(ctx) for name in param.opts}
        dashed = [arg.partition("=")[0] for arg in before if arg.startswith("-")]
        if any(_NEGATIVE.fullmatch(arg) for arg in dashed) and all(
            arg in options or _NEGATIVE.fullmatch(arg) for arg in dashed
        ):
            ctx.ignore_unknown_options = True  # the negative numbers: nothing else is unknown
        return super().parse_args(ctx, args)


#: What ``set`` did when its create was resent after a lost reply and found the pair there:
#: made by the lost attempt, or there before (the update set the level either way).
_EITHER = "assigned or updated"


@priorities.command("set", cls=_NegativeArguments)
@click.argument("agent", callback=refuse_empty)
@click.argument("queue", callback=refuse_empty)
@click.argument("level", type=click.IntRange(0, 1_000_000))
@click.pass_obj
def priorities_set(settings: Settings, agent: str, queue: str, level: int) -> None:
    """Assign AGENT to QUEUE at LEVEL, 0 to 1000000 (creates it, or updates an existing one)."""
    assignment = QueueAssignment(agent_id=agent, queue_id=queue, level=level)

    async def main() -> str | None:
        async with connect(settings) as client:
            created = await client.priorities.create([assignment])
            if created.total:
                return "assigned"
            updated = await client.priorities.update([assignment])
            if created.resent and updated.total:
                return _EITHER
            return "updated" if updated.total else None

    done = run(settings, main)
    if done is None:  # the API took both writes, and wrote nothing
        fail(
            f"the API neither created nor updated the assignment of agent {agent} to queue "
            f"{queue} (both writes reported 0 records)",
            EXIT_API,
        )
    lost = " (the create's reply was lost; its resend found the assignment there)"
    note = lost if done == _EITHER else ""
    click.echo(f"{done} agent {agent} to queue {queue} at level {level}{note}")
