"""``contactnow datasets``: list datasets, and put them on or off the dialler."""

from __future__ import annotations

import click

from .. import Dataset, DatasetStatus
from ._common import Settings, connect, emit_json, fail, print_table, refuse_empty, run


@click.group()
def datasets() -> None:
    """List datasets, and set their status (HOLD, LIVE, EXPIRED)."""


@datasets.command("list")
@click.option("--table", callback=refuse_empty, help="Only the datasets of this campaign table.")
@click.option(
    "--state",
    type=click.Choice(["HOLD", "LIVE", "EXPIRED"], case_sensitive=False),
    help="Only datasets in this state.",
)
@click.option(
    "--queue",
    "queues",
    multiple=True,
    callback=refuse_empty,
    help="Only those of this queue (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per dataset.")
@click.pass_obj
def datasets_list(
    settings: Settings,
    table: str | None,
    state: str | None,
    queues: tuple[str, ...],
    as_json: bool,
) -> None:
    """List datasets: id, queue, status, priority, records, description."""

    async def main() -> list[Dataset]:
        async with connect(settings) as client:
            return await client.datasets.read(
                table=table, state=state.upper() if state else None, queue=list(queues) or None
            )

    found = run(settings, main)
    if as_json:
        for dataset in found:
            emit_json(
                {
                    "dataset_id": dataset.dataset_id,
                    "queue_id": dataset.queue_id,
                    "status": str(dataset.status),
                    "priority": dataset.priority,
                    "record_count": dataset.record_count,
                    "description": dataset.description,
                    "notes": dataset.notes,
                    "locked": dataset.locked,
                }
            )
        return
    where = (
        f"in table {table}" if table else "",
        f"in state {state.upper()}" if state else "",
        f"of queue {', '.join(queues)}" if queues else "",
    )
    print_table(
        ["dataset", "queue", "status", "priority", "records", "description"],
        [
            [
                d.dataset_id,
                d.queue_id or "",
                str(d.status),
                d.priority,
                "" if d.record_count is None else d.record_count,
                d.description,
            ]
            for d in found
        ],
        none=" ".join(["no datasets", *filter(None, where)]),
    )


@datasets.command("set-status")
@click.argument("dataset", callback=refuse_empty)
@click.argument("status", type=click.Choice(["HOLD", "LIVE", "EXPIRED"], case_sensitive=False))
@click.option("--yes", is_flag=True, help="Confirm EXPIRED, which cannot be undone.")
@click.pass_obj
def datasets_set_status(settings: Settings, dataset: str, status: str, yes: bool) -> None:
    """Set DATASET's STATUS: LIVE puts its records on the dialler, HOLD takes them off,
    EXPIRED closes the dataset and its records for good (give --yes)."""
    wanted = DatasetStatus(status.upper())
    if wanted is DatasetStatus.EXPIRED and not yes:
        fail(f"EXPIRED closes dataset {dataset} and its records for good: add --yes to do it")

    async def main() -> None:
        async with connect(settings) as client:
            await client.datasets.set_status(dataset, wanted)

    run(settings, main)
    click.echo(f"dataset {dataset} is {wanted.value}")
