"""``contactnow queues`` and ``contactnow outcome-codes``: the centre's queues, and how a
call can end (``database.php`` queues and outcomecodes)."""

from __future__ import annotations

import click

from .. import OutcomeCode, Queue, QueueType
from ._common import Settings, connect, emit_json, print_table, refuse_empty, run


@click.group()
def queues() -> None:
    """List the centre's queues (inbound, outbound, ivr, sms...)."""


@queues.command("list")
@click.option(
    "--type",
    "types",
    multiple=True,
    # The documented types: a typo was sent and answered "no queues match", exit 0.
    type=click.Choice([queue_type.value for queue_type in QueueType], case_sensitive=False),
    callback=refuse_empty,
    help="Only queues of this type (repeatable).",
)
@click.option("--table", callback=refuse_empty, help="Only the queues of this campaign table.")
@click.option(
    "--queue", "ids", multiple=True, callback=refuse_empty, help="Only this queue (repeatable)."
)
@click.option(
    "--all",
    "with_deleted",
    is_flag=True,
    help="Deleted queues too (left out by default, as the vendor's own code does).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per queue.")
@click.pass_obj
def queues_list(
    settings: Settings,
    types: tuple[str, ...],
    table: str | None,
    ids: tuple[str, ...],
    with_deleted: bool,
    as_json: bool,
) -> None:
    """List queues: id, type, description, campaign, numbers."""

    async def main() -> list[Queue]:
        async with connect(settings) as client:
            return await client.queues.read(
                type=list(types) or None,
                table=table,
                queue=list(ids) or None,
                filter=None if with_deleted else "!= 999",
            )

    found = run(settings, main)
    if as_json:
        for queue in found:
            emit_json(
                {
                    "queue_id": queue.queue_id,
                    "type": str(queue.type),
                    "description": queue.description,
                    "caller_id": queue.caller_id,
                    "campaign_id": queue.campaign_id,
                    "level": queue.level,
                    "redirect": queue.redirect,
                    "max_wait": queue.max_wait,
                    "filter": queue.filter,
                    "numbers": list(queue.numbers),
                }
            )
        return
    # --all: a deleted queue is marked (without the column, it looked live).
    deleted = ["deleted"] if with_deleted else []
    rows = [
        [q.queue_id, str(q.type), q.description, q.campaign_id or "", " ".join(q.numbers)]
        + (["yes" if q.filter.strip() == "999" else ""] if with_deleted else [])
        for q in found
    ]
    columns = ["queue", "type", "description", "campaign", "numbers", *deleted]
    print_table(columns, rows, none="no queues match" if types or table or ids else "no queues")


@click.group("outcome-codes")
def outcome_codes() -> None:
    """List the outcome codes: how a call can end, and what that does to its record."""


@outcome_codes.command("list")
@click.option("--system", is_flag=True, help="Only the dialler's own system codes.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per outcome code.")
@click.pass_obj
def outcome_codes_list(settings: Settings, system: bool, as_json: bool) -> None:
    """List outcome codes: id, description, and whether each completes the record, is a
    sale, a decision-maker contact (dmc), do-not-call, or an answerphone."""

    async def main() -> list[OutcomeCode]:
        async with connect(settings) as client:
            return await client.outcome_codes.read(system=system)

    found = run(settings, main)
    flags = ("complete", "sale", "dmc", "do_not_call", "answerphone")
    if as_json:
        for code in found:
            emit_json(
                {
                    "outcome_id": code.outcome_id,
                    "description": code.description,
                    **{flag: getattr(code, flag) for flag in flags},
                }
            )
        return
    print_table(
        ["outcome", "description", "complete", "sale", "dmc", "do not call", "answerphone"],
        [
            [c.outcome_id, c.description, *("yes" if getattr(c, f) else "" for f in flags)]
            for c in found
        ],
        none="no system outcome codes" if system else "no outcome codes",
    )
