"""``database.php?method=priority``: read, create and update queue assignments."""

from __future__ import annotations

from .._asgi import Request
from .._wire import Reply, text_value
from ._conventions import error, id_list, payload_records, whole_number, write_result
from ._registry import SimState, endpoint

__all__ = ["priority"]


@endpoint("database", "priority", item="priority")
def priority(request: Request, state: SimState) -> Reply:
    """Answer ``read`` (by ``agent`` list and ``qid``), ``create`` and ``update``."""
    scenario = state.scenario
    if request.action == "read":
        agents = id_list(request.args.get("agent", ""))
        qid = request.args.get("qid", "")
        rows = [
            {"agentid": agentid, "qid": queue, "level": entry[1]}
            for (agentid, queue), entry in scenario.priorities.items()
            if (agents is None or agentid in agents) and (not qid or queue == qid)
        ]
        return {"success": True, "total": len(rows), "list": rows}
    if request.action not in ("create", "update"):
        return error("Unknown action")
    total = bad = key = 0
    for item in payload_records(request.payload):
        values = _priority_values(item)
        if values is None:
            bad += 1
            continue
        agentid, qid, level = values
        if request.action == "create":
            # An existing (agentid, qid) pair is skipped: success, not counted.
            created = scenario.add_priority(agentid, qid, level)
            if created is not None:
                key = created
                total += 1
        else:
            if not scenario.set_level(agentid, qid, level):
                bad += 1
                continue
            total += 1
    return write_result(account_id=state.account_id, total=total, bad=bad, key=key)


def _priority_values(item: object) -> tuple[str, str, str] | None:
    """Return a payload record's (agentid, qid, level), or None for a bad record."""
    if not isinstance(item, dict):
        return None
    try:
        agentid, qid, level = (text_value(item.get(name)) for name in ("agentid", "qid", "level"))
    except TypeError:
        return None
    number = None if level is None else whole_number(level)
    if not (agentid and qid) or number is None:
        return None  # all three are required, and a level is a number ("100", "0")
    return agentid, qid, str(number)
