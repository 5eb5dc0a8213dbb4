"""``database.php?method=agents``: read, create and update agent records."""

from __future__ import annotations

from .._agent_records import AGENT_FIELDS, NULLABLE_AGENT_FIELDS, default_record
from .._asgi import Request
from .._wire import Reply, text_value
from ._conventions import Refused, filter_matches, payload_records, write_result
from ._registry import SimState, endpoint

__all__ = ["agents"]


@endpoint("database", "agents", item="agent", actions=["read", "create", "update"])
def agents(request: Request, state: SimState) -> Reply:
    """Answer ``read`` (filtered by any record field), ``create`` and ``update``."""
    if request.action == "read":
        return _read(request, state)
    scenario = state.scenario
    total = bad = key = 0
    failure = ""
    for item in payload_records(request.payload):
        try:
            values = _agent_values(item)
        except Refused as refused:
            bad += 1
            failure = str(refused)
            continue
        if request.action == "create":
            if not values.get("name"):
                bad += 1
                failure = "Bad argument: name"
                continue
            created: dict[str, str | None] = {
                name: None if name in NULLABLE_AGENT_FIELDS else "" for name in AGENT_FIELDS
            }
            created.update(values)
            key = int(scenario.create_agent(created).uid)
            total += 1
        else:
            agentid = values.pop("agentid", None) or ""
            target = scenario.by_uid.get(agentid)
            if target is None:
                bad += 1
                failure = (
                    f"Bad argument: agent [{agentid}] does not exist."
                    if agentid
                    else "Bad argument: agentid"
                )
                continue
            if target.record is None:
                target.record = default_record(target.index, target.uid)
            target.record.update(values)
            total += 1
    return write_result(account_id=state.account_id, total=total, bad=bad, key=key, failure=failure)


def _read(request: Request, state: SimState) -> Reply:
    scenario = state.scenario
    filters = {name: request.args[name] for name in AGENT_FIELDS if name in request.args}
    rows: list[dict[str, str | None]] = []
    for agent in scenario.iter_agents():
        if "agentid" in filters and agent.uid != filters["agentid"]:
            continue
        record = scenario.record(agent)
        if all(_matches(name, record[name] or "", value) for name, value in filters.items()):
            rows.append(dict(record))
    return {"success": True, "total": len(rows), "list": rows}


def _matches(name: str, value: str, wanted: str) -> bool:
    # ``filter`` takes the vendor's expressions (``!= 999``); other fields compare as text.
    return filter_matches(value, wanted) if name == "filter" else value == wanted


def _agent_values(item: object) -> dict[str, str | None]:
    """Return the known agent fields of a payload record; raises Refused for a bad record."""
    if not isinstance(item, dict):
        raise Refused("Bad argument: an agent must be an object")
    values: dict[str, str | None] = {}
    for name, value in item.items():
        if name not in AGENT_FIELDS:
            continue  # the API ignores fields it does not know
        try:
            text = text_value(value)
        except TypeError:
            raise Refused(f"Bad argument: {name}") from None
        if name in NULLABLE_AGENT_FIELDS:
            # Sent empty, read back null: the documented create payload's "phone": "" is
            # the documented read's "phone": null (seed 001).
            values[name] = text or None
        else:
            values[name] = text or ""
    return values
