"""``database.php?method=queues``: read the queues."""

from __future__ import annotations

from .._asgi import Request
from .._wire import Reply
from ._conventions import filter_matches, id_list, known_table
from ._registry import SimState, endpoint

__all__ = ["queues"]


@endpoint("database", "queues", item="queue", actions=["read"])
def queues(request: Request, state: SimState) -> Reply:
    """Answer ``read``: queues by ``qid`` list, ``type`` list (``outbound,inbound``),
    ``table`` (the campaign they serve) and ``filter`` (an expression: ``!= 999``)."""
    db = state.scenario.campaigns
    args = request.args
    wanted = id_list(args.get("qid", ""))
    types = id_list(args.get("type", "").lower())
    table = args.get("table", "").strip()
    campaign = db.campaign_ids[known_table(db.custom, table)] if table else None
    expression = args.get("filter", "")
    rows = [
        dict(row)
        for row in db.queues.values()
        if (wanted is None or row["qid"] in wanted)
        and (types is None or row["type"] in types)
        and (campaign is None or row["campaignid"] == campaign)
        and (not expression or filter_matches(row["filter"], expression))
    ]
    return {"success": True, "total": len(rows), "list": rows}
