"""``database.php?method=priority``: read, create and update queue assignments."""

from __future__ import annotations

from .._asgi import Request
from .._wire import Reply, text_value
from ._conventions import Refused, id_list, payload_records, whole_number, write_result
from ._registry import SimState, endpoint

__all__ = ["priority"]


@endpoint("database", "priority", item="priority", actions=["read", "create", "update"])
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
    total = bad = key = 0
    failure = ""
    for item in payload_records(request.payload):
        try:
            agentid, qid, level = _priority_values(item)
        except Refused as refused:
            bad += 1
            failure = str(refused)
            continue
        if request.action == "create":
            # An existing (agentid, qid) pair is skipped: success, not counted.
            created = scenario.add_priority(agentid, qid, level)
            if created is not None:
                key = created
                total += 1
        else:
            if not scenario.set_level(agentid, qid, level):
                bad += 1
                failure = f"Bad argument: agent [{agentid}] is not assigned to queue [{qid}]"
                continue
            total += 1
    # An agent in wait newly on an outbound queue dials its diallable records from now.
    scenario.offer(scenario.now)
    return write_result(account_id=state.account_id, total=total, bad=bad, key=key, failure=failure)


def _priority_values(item: object) -> tuple[str, str, str]:
    """Return a payload record's (agentid, qid, level); raises Refused for a bad record."""
    if not isinstance(item, dict):
        raise Refused("Bad argument: a priority must be an object")
    values = []
    for name in ("agentid", "qid", "level"):
        try:
            value = text_value(item.get(name))
        except TypeError:
            value = None
        if not value:
            raise Refused(f"Bad argument: {name}")  # all three are required
        values.append(value)
    agentid, qid, level = values
    number = whole_number(level)
    if number is None:  # a level is a whole number ("100", "0")
        raise Refused("Bad argument: level")
    return agentid, qid, str(number)
