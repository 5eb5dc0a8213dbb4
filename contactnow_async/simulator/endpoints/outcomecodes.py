"""``database.php?method=outcomecodes``: read the outcome codes."""

from __future__ import annotations

from .._asgi import Request
from .._wire import Reply
from ._conventions import id_list
from ._registry import SimState, endpoint

__all__ = ["outcomecodes"]


@endpoint("database", "outcomecodes", item="outcomecode", actions=["read"])
def outcomecodes(request: Request, state: SimState) -> Reply:
    """Answer ``read``: every outcome code, those listed in ``uid``, or with ``mode=system``
    only the dialler's own."""
    wanted = id_list(request.args.get("uid", ""))
    system_only = request.args.get("mode", "").strip().lower() == "system"
    rows = [
        outcome.row()
        for outcome in state.scenario.campaigns.outcomes.values()
        if (wanted is None or outcome.code in wanted) and (not system_only or outcome.system)
    ]
    return {"success": True, "total": len(rows), "list": rows}
