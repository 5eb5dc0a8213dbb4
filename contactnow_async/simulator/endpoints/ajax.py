"""``ajax.php?method=agents``: the live status of each agent, a page at a time."""

from __future__ import annotations

from .._asgi import Request
from .._scenario import OFFLINE, SimAgent
from .._wire import Reply, Value
from ._conventions import id_list, int_argument
from ._registry import SimState, endpoint

__all__ = ["ajax_agents", "live_row"]


@endpoint("ajax", "agents", item="agent", actions=["read"])
def ajax_agents(request: Request, state: SimState) -> Reply:
    """Answer ``read``: agents logged in (``mode=all``: every agent), paged by ``start``/``limit``.

    ``total`` counts every matching agent, not the page; the simulator's
    ``ajax_page_limit`` caps a page whatever ``limit`` asks.
    """
    args = request.args
    include_offline = args.get("mode", "").strip().lower() == "all"
    wanted = id_list(args.get("agent", ""))
    start_text = args.get("start", "").strip()
    limit_text = args.get("limit", "").strip()
    start = max(0, int_argument("start", start_text)) if start_text else 0
    limit = max(0, int_argument("limit", limit_text)) if limit_text else None
    if state.ajax_page_limit is not None:
        limit = state.ajax_page_limit if limit is None else min(limit, state.ajax_page_limit)
    matching = [
        agent
        for agent in state.scenario.iter_agents()
        if (include_offline or agent.status != OFFLINE) and (wanted is None or agent.uid in wanted)
    ]
    page = matching[start:] if limit is None else matching[start : start + limit]
    srvtime = str(int(state.scenario.now))
    rows = [live_row(state, agent, srvtime) for agent in page]
    return {"success": True, "total": len(matching), "list": rows}


def live_row(state: SimState, agent: SimAgent, srvtime: str) -> dict[str, Value]:
    """Return one agent's live row as the reply lists it (``srvtime``: the reply's time)."""
    record = agent.record
    call: list[dict[str, Value]] = []
    if agent.call is not None:
        live = agent.call
        number = live.cli if live.ctype == "in" else live.ddi
        call.append(
            {"callid": live.callid, "qid": live.qid, "cli": number, "direction": live.ctype}
        )
        if live.record is not None:  # a dialled record: its id and table, as the CDR names them
            call[0]["urn"] = str(live.record)
            call[0]["qtable"] = state.scenario.dialler.table_of(live.record)
    return {
        "uid": agent.uid,
        "name": state.scenario.name(agent),
        "moh": "none" if record is None else record["moh"],
        "status": agent.status,
        "statuscode": agent.statuscode,
        "time": str(int(agent.since)),
        "srvtime": srvtime,
        "ccname": state.ccname,
        "customer": "0" if record is None else record["customer"],
        "call": call,
    }
