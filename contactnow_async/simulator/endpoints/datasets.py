"""``ecnow.php?method=ecnow_datasets``: read, create and update datasets."""

from __future__ import annotations

from .._asgi import Request
from .._campaigns import EXPIRED, HOLD, LIVE, SimDataset
from .._wire import Reply, text_value
from ._conventions import (
    Refused,
    ecnow_write_result,
    id_list,
    known_table,
    upload_records,
    whole_number,
    write_each,
)
from ._registry import SimState, endpoint

__all__ = ["datasets"]

STATUSES = (HOLD, LIVE, EXPIRED)


@endpoint("ecnow", "ecnow_datasets", item="dataset", actions=["read", "create", "update"])
def datasets(request: Request, state: SimState) -> Reply:
    """Answer ``read`` (by ``qid`` list, ``dataset``, ``state``, ``table``, ``description``),
    ``create`` and ``update``."""
    if request.action == "read":
        return _read(request, state)
    if request.action == "create":
        created, bad, failure = write_each(
            upload_records(request.payload), lambda item: _create(state, _values(item)).dataset
        )
        key = created[-1] if created else 0
    else:
        created, bad, failure = write_each(
            upload_records(request.payload), lambda item: _update(state, _values(item))
        )
        key = None
    state.scenario.offer(state.scenario.now)
    return ecnow_write_result(total=len(created), bad=bad, key=key, failure=failure)


def _read(request: Request, state: SimState) -> Reply:
    args = request.args
    db = state.scenario.campaigns
    queues = id_list(args.get("qid", ""))
    wanted = id_list(args.get("dataset", ""))
    status = args.get("state", "").strip().upper()
    table = args.get("table", "").strip()
    if table:
        known_table(db.custom, table)
    description = args.get("description", "").strip().lower()
    rows = [
        dataset.row(sum(1 for _ in db.in_dataset(dataset.dataset)))
        for dataset in db.datasets.values()
        if (queues is None or dataset.qid in queues)
        and (wanted is None or str(dataset.dataset) in wanted)
        and (not status or dataset.status == status)
        and (not table or dataset.table == table)
        and (not description or dataset.description.strip().lower() == description)
    ]
    return {"success": True, "total": len(rows), "list": rows}


def _values(item: object) -> dict[str, str]:
    if not isinstance(item, dict):
        raise Refused("Bad argument: a dataset must be an object")
    values = {}
    for name in ("dataset", "qid", "d_status", "d_priority", "notes", "description"):
        try:
            text = text_value(item.get(name))
        except TypeError:
            raise Refused(f"Bad argument: {name}") from None
        if text is not None:
            # Texts are stored as sent (a MySQL column keeps spaces); ids and settings trimmed.
            values[name] = text if name in ("notes", "description") else text.strip()
    return values


def _outbound_queue(state: SimState, qid: str) -> str:
    queue = state.scenario.campaigns.queues.get(qid)
    if queue is None or queue["type"] != "outbound":
        raise Refused(f"Bad argument: qid [{qid}] is not an outbound queue")
    return qid


def _settings(values: dict[str, str]) -> tuple[str | None, int | None]:
    status = values.get("d_status")
    if status is not None and status.upper() not in STATUSES:
        raise Refused("Bad argument: d_status must be HOLD, LIVE or EXPIRED")
    text = values.get("d_priority")
    priority = None if text is None else whole_number(text)
    if text is not None and (priority is None or priority > 90):
        raise Refused("Bad argument: d_priority must be 0 to 90")
    return None if status is None else status.upper(), priority


def _create(state: SimState, values: dict[str, str]) -> SimDataset:
    qid = _outbound_queue(state, values.get("qid", ""))
    status, priority = _settings(values)
    return state.scenario.campaigns.add_dataset(
        qid,
        status=status or HOLD,
        priority=priority or 0,
        notes=values.get("notes", ""),
        description=values.get("description", ""),
    )


def _update(state: SimState, values: dict[str, str]) -> int:
    db = state.scenario.campaigns
    number = values.get("dataset", "")
    dataset = db.datasets.get(whole_number(number) or 0)
    if dataset is None:
        raise Refused(f"Bad argument: dataset [{number}] does not exist.")
    if dataset.status == EXPIRED:
        raise Refused(f"Bad argument: dataset [{number}] is EXPIRED")
    status, priority = _settings(values)
    if "qid" in values:
        qid = _outbound_queue(state, values["qid"])
        if db.queues[qid]["campaignid"] != db.queues[dataset.qid]["campaignid"]:
            raise Refused(f"Bad argument: qid [{qid}] dials another campaign")
        dataset.qid = qid
    if priority is not None:
        dataset.priority = priority
    dataset.notes = values.get("notes", dataset.notes)
    dataset.description = values.get("description", dataset.description)
    if status is not None and status != dataset.status:
        dataset.status = status
        for record in list(db.in_dataset(dataset.dataset)):
            record_id = int(record["id"])
            db.settle(record_id)
            state.scenario.dialler.schedule(record_id)
    return dataset.dataset
