"""``contactnow campaigns``: the campaign tables, and their fields (``ecnow.php``
campaign_tables and campaign_fields)."""

from __future__ import annotations

import attrs
import click

from .. import CampaignField
from ._common import Settings, connect, emit_json, print_table, refuse_empty, run

#: What ``campaigns fields --json`` writes of each field: its attributes but ``raw``.
_FIELD_LISTED = tuple(f.name for f in attrs.fields(CampaignField) if f.name != "raw")


@click.group()
def campaigns() -> None:
    """List the campaign tables, and the fields of each (ecnow.php).

    A campaign is a table of records: `records read --table` and `queues list --table`
    take its name.
    """


@campaigns.command("tables")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per table.")
@click.pass_obj
def campaigns_tables(settings: Settings, as_json: bool) -> None:
    """List the campaign tables by name."""

    async def main() -> list[str]:
        async with connect(settings) as client:
            return await client.campaigns.tables()

    found = run(settings, main)
    if as_json:
        for table in found:
            emit_json({"table": table})
        return
    print_table(["table"], [[table] for table in found], none="no campaign tables")


@campaigns.command("fields")
@click.argument("table", callback=refuse_empty)
@click.option("--name", callback=refuse_empty, help="Only the field of this name.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per field.")
@click.pass_obj
def campaigns_fields(settings: Settings, table: str, name: str | None, as_json: bool) -> None:
    """List the fields of campaign TABLE: the standard ones every campaign has, and its own
    (an unknown TABLE is the API's refusal, exit 4)."""

    async def main() -> list[CampaignField]:
        async with connect(settings) as client:
            return await client.campaigns.fields(table, name=name)

    found = run(settings, main)
    flags = ("standard", "required", "readonly", "search", "hidden")
    if as_json:
        for field in found:
            emit_json({name: getattr(field, name) for name in _FIELD_LISTED})
        return
    print_table(
        ["field", "type", "size", "group", "prompt", *flags],
        [
            [
                f.name,
                f.type,
                f.size,
                f.group,
                f.prompt,
                *("yes" if getattr(f, x) else "" for x in flags),
            ]
            for f in found
        ],
        none=f"no field named {name!r} in table {table}" if name else f"no fields in table {table}",
    )
