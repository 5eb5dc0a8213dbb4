"""``ecnow.php methods campaign_tables, campaign_fields``: the campaigns' tables and fields."""

from __future__ import annotations

from .._models_ecnow import CampaignField
from ._base import Resource, build, narrowing, scalar


class Campaigns(Resource):
    """Read the campaign tables (a campaign is a table of records) and their fields."""

    __slots__ = ()

    async def tables(self) -> list[str]:
        """Return the names of the contact centre's campaign tables."""
        envelope = await self._client.request(
            "ecnow", method="campaign_tables", action="read", params={}
        )
        return build(_table_name, envelope, what="campaigns.tables")

    async def fields(self, table: str, *, name: str | None = None) -> list[CampaignField]:
        """Return the fields of campaign ``table`` (or only the one called ``name``):
        the standard ones every campaign has and the campaign's own."""
        # A blank one is no filter: every table's fields, not this one's.
        if not (scalar(table, name="table") or "").strip():
            raise ValueError("campaigns.fields needs a table name")
        envelope = await self._client.request(
            "ecnow",
            method="campaign_fields",
            action="read",
            # A blank name is no filter either: every field, not the one named.
            params={"table": table, "name": narrowing(name, name="name")},
        )
        return build(CampaignField.from_record, envelope, what="campaigns.fields")


def _table_name(record: object) -> str:
    name = record.get("name") if isinstance(record, dict) else None
    if not isinstance(name, str) or not name:
        raise ValueError("a campaign table without a name")
    return name
