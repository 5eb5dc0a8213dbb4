"""``ecnow.php?method=ecnow_records``: read, create and update records (leads)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from .._asgi import Request
from .._campaigns import EXPIRED, PHONES, ZERO_DATE, CampaignDb, SimDataset
from .._wire import Reply, text_value
from ._conventions import (
    BadArgument,
    Refused,
    ecnow_write_result,
    error,
    id_list,
    known_table,
    upload_records,
    whole_number,
    write_each,
)
from ._registry import SimState, endpoint

__all__ = ["records"]

#: The standard fields a create or update may set; the rest are the system's own.
WRITABLE = frozenset(
    {
        "URN", "VENDOR_URN", "Title", "FirstName", "LastName", "Postcode",
        *(f"Address{n}" for n in range(1, 7)), *PHONES,
        "AgentRef", "Agent_Specific", "callback", "Call_Back_Notes", "Call_Back_Sametime",
        "outcomecode",
    }
)  # fmt: skip
#: ECNOW.md: "One of these is required: table ... dataset ..." (id, outcome, agent, ddi and
#: search follow apart, as optional: a record id is unique only in its campaign table).
REQUIRED_FILTERS = ("table", "dataset")
#: The documented read modes: which ProcessTypes each keeps.
_ACTIVE = {"HOLD: New Prospect", "New Prospect", "HOLD: NEEDSMOREWORK", "NEEDSMOREWORK"}
MODES: dict[str, Callable[[str], bool]] = {
    "active": _ACTIVE.__contains__,
    "live": {"NEEDSMOREWORK", "New Prospect"}.__contains__,
    "callbacks": {"HOLD: NEEDSMOREWORK", "NEEDSMOREWORK"}.__contains__,
    "live-callbacks": {"NEEDSMOREWORK"}.__contains__,
    "unexpired": lambda kind: kind != EXPIRED,
}  # fmt: skip
TIME_FIELDS = {"callback": "callback", "processdate": "ProcessDate"}
#: Fields a read shows ``null`` when empty, as the vendor's record does (ReportingExamples.js).
NULLABLE = frozenset({"URN", "VENDOR_URN"})
_TRUE = frozenset({"1", "y", "yes", "true"})


@endpoint("ecnow", "ecnow_records", item="record", actions=["read", "create", "update"])
def records(request: Request, state: SimState) -> Reply:
    """Answer ``read`` (see :func:`_read`), ``create`` and ``update``."""
    if request.action == "read":
        return _read(request, state)
    items = upload_records(request.payload) if request.action in ("create", "update") else None
    if items is None:
        return error("Unknown action")
    if request.action == "create":
        done, bad, failure = write_each(items, lambda item: _create(state, item))
    else:
        done, bad, failure = write_each(items, lambda item: _update(state, item))
    state.scenario.offer(state.scenario.now)
    key = done[-1][0] if done and request.action == "create" else None
    info = done[-1][1] if done else ""
    return ecnow_write_result(total=len(done), bad=bad, key=key, info=info, failure=failure)


def _create(state: SimState, item: object) -> tuple[int, str]:
    db = state.scenario.campaigns
    values = _scalars(item)
    number = values.get("dataset", "").strip()
    if not number:
        raise Refused("Bad argument: dataset is required")
    dataset = db.datasets.get(whole_number(number) or 0)  # no dataset or record is 0
    if dataset is None:
        raise Refused(f"Bad argument: dataset [{number}] does not exist.")
    if dataset.status == EXPIRED:
        raise Refused(f"Bad argument: dataset [{number}] is EXPIRED")
    fields = _writable(db, dataset, values)
    if not any(fields.get(phone, "").strip() for phone in PHONES):
        raise Refused("Bad argument: one of HomePhone, WorkPhone or MobilePhone is required")
    record_id = db.add_record(dataset, fields, state.scenario.now)
    return record_id, _noted(state, record_id, values)


def _update(state: SimState, item: object) -> tuple[int, str]:
    db = state.scenario.campaigns
    values = _scalars(item)
    number = values.get("id", "").strip()
    record = db.records.get(whole_number(number) or 0)
    # The dataset is mandatory: a record asked for in another dataset "does not exist".
    if record is None or values.get("dataset", "").strip() != record["datasetid"]:
        raise Refused(f"Record id [{number}] does not exist.")
    dataset = db.datasets[int(record["datasetid"])]
    if record["ProcessType"] == EXPIRED:
        raise Refused(f"Bad argument: dataset [{dataset.dataset}] is EXPIRED")
    record.update(_writable(db, dataset, values))
    return int(number), _noted(state, int(number), values, update=True)


def _noted(
    state: SimState, record_id: int, values: Mapping[str, str], *, update: bool = False
) -> str:
    """Append ``notes_append``, settle the record, wake the dialler; return the ``info``."""
    db = state.scenario.campaigns
    if values.get("notes_append"):
        db.append_note(db.records[record_id], values["notes_append"])
    db.settle(record_id)
    state.scenario.dialler.schedule(record_id)
    return db.dialler_info(record_id, update=update)


def _scalars(item: object) -> dict[str, str]:
    if not isinstance(item, dict):
        raise Refused("Bad argument: a record must be an object")
    values = {}
    for name, value in item.items():
        try:
            text = text_value(value)
        except TypeError:
            raise Refused(f"Bad argument: {name}") from None
        if text is not None:
            values[str(name)] = text
    return values


def _writable(db: CampaignDb, dataset: SimDataset, values: Mapping[str, str]) -> dict[str, str]:
    """The fields a write sets, by their canonical names (field names ignore case, as
    MySQL's do); fields the campaign does not have are ignored, as the API does."""
    names = {name.lower(): name for name in db.field_names(dataset.table)}
    own = {field[0] for field in db.custom[dataset.table]}
    fields = {}
    for given, text in values.items():
        name = names.get(given.lower())
        if name is None or (name not in WRITABLE and name not in own):
            continue
        if name == "callback":
            try:
                due = db.parse_time(text)
                text = ZERO_DATE if due is None else db.format_time(due)
            except (ValueError, OverflowError):  # not a date, or not one a datetime holds
                raise Refused("Bad argument: callback") from None
        elif name == "outcomecode" and text.strip() and text.strip() not in db.outcomes:
            raise Refused(f"Bad argument: outcomecode [{text}] does not exist.")
        elif name in ("Agent_Specific", "Call_Back_Sametime"):
            text = "1" if text.strip().lower() in _TRUE else ""
        elif name == "AgentRef":
            if text.strip() and whole_number(text) is None:
                raise Refused("Bad argument: AgentRef")
            text = text.strip() or "0"
        fields[name] = text
    return fields


def _read(request: Request, state: SimState) -> Reply:
    """Records matching every filter given; table or dataset is required. ``search[field]``
    matches like SQL ``LIKE '%value%'`` (``%`` and ``_`` are wildcards), or whole values with
    ``type=exact``, ignoring case; ``search[id]`` overrides the other search fields and
    ``search[phone]`` searches the three phones.
    ``urn`` (a CDR row's, with its ``qtable`` as ``table``: REPORTING.md) matches the
    record's id, which ECNOW.md calls "The record ID/URN"."""
    db = state.scenario.campaigns
    args = request.args
    search = {
        key[7:-1].lower(): value
        for key, value in args.items()
        if key.startswith("search[") and key.endswith("]") and value.strip()
    }
    if not any(args.get(name, "").strip() for name in REQUIRED_FILTERS):
        raise BadArgument("Bad argument: one of table or dataset is required")
    table = args.get("table", "").strip()
    if table:
        known_table(db.custom, table)
    mode = args.get("mode", "").strip().lower()
    if mode and mode not in MODES:
        raise BadArgument("Bad argument: mode")
    match = _search(search, exact=args.get("type", "").strip().lower() == "exact")
    in_time = _time_window(db, args)
    datasets = id_list(args.get("dataset", ""))
    ids = id_list(args.get("id", ""))
    urns = id_list(args.get("urn", ""))
    outcomes = id_list(args.get("outcome", ""))
    agent = args.get("agent", "").strip()
    ddi = args.get("ddi", "").strip()
    rows = [
        {
            name: None if name in NULLABLE and not record[name] else record[name]
            # In the documented order: names compared in capitals, as MySQL's case-blind
            # collation does ("AgentRef" before "Agent_Specific": "_" sorts after letters).
            for name in sorted(record, key=str.upper)
        }
        for record in db.records.values()
        if (not table or db.table_of(record) == table)
        and (datasets is None or record["datasetid"] in datasets)
        and (ids is None or record["id"] in ids)
        and (urns is None or record["id"] in urns)
        and (outcomes is None or record["outcomecode"] in outcomes)
        and (not agent or record["AgentRef"] == agent)
        and (not ddi or ddi in (record[phone] for phone in PHONES))
        and (not mode or MODES[mode](record["ProcessType"]))
        and match(record)
        and in_time(record)
    ]
    return {"success": True, "total": len(rows), "list": rows}


def _search(search: dict[str, str], *, exact: bool) -> Callable[[dict[str, str]], bool]:
    if "id" in search:
        return lambda record: record["id"] == search["id"].strip()
    patterns = {field: _pattern(value, exact=exact) for field, value in search.items()}

    def match(record: dict[str, str]) -> bool:
        names = {name.lower(): name for name in record}
        for field, pattern in patterns.items():
            columns = PHONES if field == "phone" else (names.get(field),)
            if not any(column and pattern.fullmatch(record[column]) for column in columns):
                return False
        return True

    return match


def _pattern(value: str, *, exact: bool) -> re.Pattern[str]:
    if exact:
        return re.compile(re.escape(value), re.IGNORECASE)
    like = "".join(
        ".*" if char == "%" else "." if char == "_" else re.escape(char) for char in value
    )
    return re.compile(f".*{like}.*", re.IGNORECASE | re.DOTALL)


def _time_window(db: CampaignDb, args: Mapping[str, str]) -> Callable[[dict[str, str]], bool]:
    timetype = args.get("timetype", "").strip().lower()
    if not timetype:
        return lambda record: True
    if timetype not in TIME_FIELDS:
        raise BadArgument("Bad argument: timetype")
    field = TIME_FIELDS[timetype]
    try:
        start = db.parse_time(args.get("tstart", ""))
        stop = db.parse_time(args.get("tstop", ""), end_of_day=True)
    except ValueError:
        raise BadArgument("Bad argument: tstart and tstop must be dates") from None

    def within(record: dict[str, str]) -> bool:
        when = db.parse_time(record[field])
        return (
            when is not None and (start is None or when >= start) and (stop is None or when <= stop)
        )

    return within
