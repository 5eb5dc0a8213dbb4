"""``ecnow.php?method=campaign_tables`` and ``method=campaign_fields``: the campaign tables
and their fields (read only)."""

from __future__ import annotations

from .._asgi import Request
from .._wire import Reply
from ._conventions import known_table
from ._registry import SimState, endpoint

__all__ = ["campaign_fields", "campaign_tables"]


@endpoint("ecnow", "campaign_tables", item="table", actions=["read"])
def campaign_tables(request: Request, state: SimState) -> Reply:
    """Answer ``read``: one row ``{name}`` per campaign table."""
    rows = [{"name": table} for table in state.scenario.campaigns.custom]
    return {"success": True, "total": len(rows), "list": rows}


@endpoint("ecnow", "campaign_fields", item="field", actions=["read"])
def campaign_fields(request: Request, state: SimState) -> Reply:
    """Answer ``read``: the fields of ``table`` (every table's without it), or only ``name``."""
    db = state.scenario.campaigns
    table = request.args.get("table", "").strip()
    tables = [known_table(db.custom, table)] if table else list(db.custom)
    name = request.args.get("name", "").strip().lower()
    rows = [
        row
        for each in tables
        for row in db.field_rows(each)
        if not name or row["name"].lower() == name
    ]
    return {"success": True, "total": len(rows), "list": rows}
