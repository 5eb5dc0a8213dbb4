"""Typed records of the campaign database: ``ecnow.php`` datasets, records, campaign
fields, and ``database.php`` queues and outcome codes.

The naming rule of ``docs/fields.md`` holds here too: readable snake_case, one
name per concept (``dataset_id`` is ``dataset`` in one reply and ``datasetid``
in another), ids as strings named ``<thing>_id`` (``None`` where the wire's
``"0"``/``""`` means none), moments as ``*_ts`` unix seconds with a UTC
``*_at`` datetime beside them, Y/N and 1/0 flags as bools, and ``raw`` keeping
the wire record.

Record dates arrive as ``"YYYY-MM-DD HH:MM:SS"`` without a zone. They are read
in the zone the client is given (``ContactNow(record_tz=...)``, UTC by
default); ``"0000-00-00 00:00:00"`` means "none" and is ``None``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime, timezone, tzinfo
from typing import Any

import attrs

from ._models import _i, _s, utc

__all__ = [
    "RECORD_ATTRIBUTES",
    "CampaignField",
    "Dataset",
    "DatasetInput",
    "DatasetStatus",
    "OutcomeCode",
    "Queue",
    "QueueType",
    "Record",
    "RecordInput",
    "format_record_time",
    "parse_record_time",
]


class _OpenEnum(str, enum.Enum):
    """A string enum that turns a value it does not know into a new member, not an error."""

    @classmethod
    def _missing_(cls, value: object) -> _OpenEnum | None:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value.upper() or "EMPTY"
        member._value_ = value
        return member

    def __str__(self) -> str:
        return str(self.value)


class DatasetStatus(_OpenEnum):
    """A dataset's state (wire ``d_status``); an undocumented value becomes a member too."""

    HOLD = "HOLD"
    """Off the dialler: its records are not dialled."""
    LIVE = "LIVE"
    """On the dialler: its records are dialled by agents in ``wait`` on its queue."""
    EXPIRED = "EXPIRED"
    """Closed for good: neither it nor its records can be edited."""


class QueueType(_OpenEnum):
    """A queue's channel (wire ``type``); an undocumented value becomes a member too."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"
    IVR = "ivr"
    BROADCAST = "broadcast"
    MESSAGE = "message"
    SMS_OUT = "sms_out"
    SMS_BROADCAST = "sms_broadcast"


_YES = frozenset({"y", "yes", "1", "true"})
_NO = frozenset({"n", "no", "0", "false", ""})
_ZERO_DATES = frozenset({"", "0000-00-00 00:00:00", "0000-00-00"})


def _flag(value: Any, name: str) -> bool:
    """``Y``/``N``, ``yes``/``no``, ``1``/``0`` (and null or empty, meaning no) as a bool."""
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValueError(f"field {name!r} is not a Y/N or 1/0 flag")


def _t(value: Any, name: str) -> str:
    """A text field; null and empty XML elements are ``""``, a nested value is refused."""
    if isinstance(value, (dict, list)):
        raise ValueError(f"field {name!r} is not a scalar")
    return _s(value)


def _id(value: Any, name: str) -> str | None:
    """An id, or None where the wire's ``"0"``, ``""`` or null means none."""
    text = _t(value, name)
    return None if text in ("", "0") else text


def parse_record_time(value: Any, tz: tzinfo, name: str) -> int | None:
    """A record date (``"2017-12-10 10:00:00"`` or ``"2015-01-23"``) read in ``tz``, as unix
    seconds; the zero date and empty are None. Raises ValueError naming the field."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"field {name!r} is not a date")
    text = value.strip()
    if text in _ZERO_DATES:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"field {name!r} is not a YYYY-MM-DD HH:MM:SS date") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return int(moment.timestamp())


def format_record_time(value: datetime | date | int | float | str, tz: tzinfo, name: str) -> str:
    """A moment as the API writes record dates: ``"YYYY-MM-DD HH:MM:SS"`` in ``tz``.

    Takes an aware datetime, a unix time, a date (that day, 00:00:00) or text (sent as
    given). A naive datetime is refused: its zone would be a guess.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{name} is a naive datetime; give it a timezone (e.g. UTC)")
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d 00:00:00")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a datetime, a date, a unix time or text, not {value!r}")
    return datetime.fromtimestamp(value, tz=tz).strftime("%Y-%m-%d %H:%M:%S")


def _at(timestamp: int | None) -> datetime | None:
    return None if timestamp is None else utc(timestamp)


@attrs.frozen
class Dataset:
    """A dataset of ``ecnow.php method=ecnow_datasets``: a group of records in one campaign.

    ``status`` decides whether its records are dialled; ``priority`` (0 to 90)
    orders the datasets of one campaign, highest first. ``record_count`` is the
    wire ``reccount`` (None where the reply leaves it empty).
    """

    dataset_id: str
    queue_id: str | None = None
    status: DatasetStatus = DatasetStatus.HOLD
    priority: int = 0
    notes: str = ""
    description: str = ""
    callbacks: str = ""
    crm_account: str = ""
    crm_campaign: str = ""
    locked: bool = False
    record_count: int | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Dataset:
        reccount = record.get("reccount")
        return cls(
            dataset_id=_t(record.get("dataset"), "dataset"),
            queue_id=_id(record.get("qid"), "qid"),
            status=DatasetStatus(_t(record.get("d_status"), "d_status")),
            priority=_i(record.get("d_priority"), "d_priority"),
            notes=_t(record.get("notes"), "notes"),
            description=_t(record.get("description"), "description"),
            callbacks=_t(record.get("callbacks"), "callbacks"),
            crm_account=_t(record.get("crm_account"), "crm_account"),
            crm_campaign=_t(record.get("crm_campaign"), "crm_campaign"),
            locked=_flag(record.get("locked"), "locked"),
            record_count=None if reccount in (None, "") else _i(reccount, "reccount"),
            raw=record,
        )


@attrs.frozen(kw_only=True)
class DatasetInput:
    """The fields of a dataset to create or update; ``None`` fields are not sent.

    An update needs ``dataset_id``; a create names its outbound queue (``queue_id``).
    """

    dataset_id: str | int | None = None
    queue_id: str | int | None = None
    status: DatasetStatus | str | None = None
    priority: int | None = None
    notes: str | None = None
    description: str | None = None

    def to_record(self) -> dict[str, Any]:
        """The record as the API names its fields."""
        wire = {
            "dataset": self.dataset_id,
            "qid": self.queue_id,
            "d_status": None if self.status is None else str(self.status),
            "d_priority": self.priority,
            "notes": self.notes,
            "description": self.description,
        }
        return {name: value for name, value in wire.items() if value is not None}


#: Record attributes and the standard wire field each comes from.
RECORD_ATTRIBUTES: dict[str, str] = {
    "record_id": "id",
    "dataset_id": "datasetid",
    "agent_id": "AgentRef",
    "agent_specific": "Agent_Specific",
    "callback_ts": "callback",
    "callback_notes": "Call_Back_Notes",
    "callback_same_time": "Call_Back_Sametime",
    "home_phone": "HomePhone",
    "mobile_phone": "MobilePhone",
    "work_phone": "WorkPhone",
    "outcome_id": "outcomecode",
    "processed_ts": "ProcessDate",
    "process_type": "ProcessType",
    "notes": "notes",
    "loaded_ts": "loaddate",
    "source_file": "sourcefile",
    "urn": "URN",
    "vendor_urn": "VENDOR_URN",
    "title": "Title",
    "first_name": "FirstName",
    "last_name": "LastName",
    **{f"address_{n}": f"Address{n}" for n in range(1, 7)},
    "postcode": "Postcode",
}
_STANDARD = frozenset(RECORD_ATTRIBUTES.values())


@attrs.frozen
class Record:
    """A record (a lead) of ``ecnow.php method=ecnow_records``.

    The standard fields are attributes; the campaign's own fields are in
    ``fields`` by their wire names. ``agent_id`` is the agent the record is
    assigned to (wire ``AgentRef``; None for ``0``), ``outcome_id`` the outcome
    code last set (None when none), ``process_type`` where the record stands on
    the dialler (``New Prospect``, ``NEEDSMOREWORK``, ``HOLD: ...``,
    ``EXPIRED``...). ``callback_ts``, ``processed_ts`` and ``loaded_ts`` are
    None for the zero date; see the module docstring for their zone.
    """

    record_id: str
    dataset_id: str | None = None
    agent_id: str | None = None
    agent_specific: bool = False
    callback_ts: int | None = None
    callback_notes: str = ""
    callback_same_time: bool = False
    home_phone: str = ""
    mobile_phone: str = ""
    work_phone: str = ""
    outcome_id: str | None = None
    processed_ts: int | None = None
    process_type: str = ""
    notes: str = ""
    loaded_ts: int | None = None
    source_file: str = ""
    urn: str = ""
    vendor_urn: str = ""
    title: str = ""
    first_name: str = ""
    last_name: str = ""
    address_1: str = ""
    address_2: str = ""
    address_3: str = ""
    address_4: str = ""
    address_5: str = ""
    address_6: str = ""
    postcode: str = ""
    fields: Mapping[str, str] = attrs.field(factory=dict, hash=False)
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_record(cls, record: Mapping[str, Any], tz: tzinfo = timezone.utc) -> Record:
        """Build a record from its wire form, reading its dates in ``tz``."""
        values: dict[str, Any] = {}
        for name, wire in RECORD_ATTRIBUTES.items():
            value = record.get(wire)
            if name.endswith("_ts"):
                values[name] = parse_record_time(value, tz, wire)
            elif name in ("agent_specific", "callback_same_time"):
                values[name] = _flag(value, wire)
            elif name in ("dataset_id", "agent_id", "outcome_id"):
                values[name] = _id(value, wire)
            else:
                values[name] = _t(value, wire)
        own = {str(key): _t(value, key) for key, value in record.items() if key not in _STANDARD}
        return cls(**values, fields=own, raw=record)

    @property
    def callback_at(self) -> datetime | None:
        """When the record is due to be called back (UTC), or None."""
        return _at(self.callback_ts)

    @property
    def processed_at(self) -> datetime | None:
        """When the record was last processed (dialled, given an outcome) (UTC), or None."""
        return _at(self.processed_ts)

    @property
    def loaded_at(self) -> datetime | None:
        """When the record was loaded (UTC; the wire gives the day only), or None."""
        return _at(self.loaded_ts)

    @property
    def phones(self) -> tuple[str, ...]:
        """The record's phone numbers that are set: home, work, mobile."""
        return tuple(p for p in (self.home_phone, self.work_phone, self.mobile_phone) if p)


_INPUT_WIRE = {
    **{name: wire for name, wire in RECORD_ATTRIBUTES.items() if not name.endswith("_ts")},
    "dataset_id": "dataset",
    "callback": "callback",
    "notes_append": "notes_append",
}


@attrs.frozen(kw_only=True)
class RecordInput:
    """The fields of a record to create or update; ``None`` fields are not sent.

    A create needs ``dataset_id`` and one of the phones; an update needs
    ``record_id`` and ``dataset_id``. ``callback`` is an aware datetime, a unix
    time or ``"YYYY-MM-DD HH:MM:SS"`` text; ``notes_append`` adds a line to the
    record's notes; ``fields`` holds the campaign's own fields by wire name.
    """

    record_id: str | int | None = None
    dataset_id: str | int | None = None
    home_phone: str | None = None
    work_phone: str | None = None
    mobile_phone: str | None = None
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    address_1: str | None = None
    address_2: str | None = None
    address_3: str | None = None
    address_4: str | None = None
    address_5: str | None = None
    address_6: str | None = None
    postcode: str | None = None
    callback: datetime | int | float | str | None = None
    callback_notes: str | None = None
    callback_same_time: bool | None = None
    agent_id: str | int | None = None
    agent_specific: bool | None = None
    outcome_id: str | int | None = None
    notes_append: str | None = None
    urn: str | None = None
    vendor_urn: str | None = None
    fields: Mapping[str, Any] = attrs.field(factory=dict, hash=False)

    def to_record(self) -> dict[str, Any]:
        """The record as the API names its fields (a ``callback`` datetime is kept as one)."""
        values = attrs.asdict(self, recurse=False)
        own = values.pop("fields")
        record = {_INPUT_WIRE[name]: value for name, value in values.items() if value is not None}
        for key, value in own.items():
            if value is not None:
                record[str(key)] = value
        return record


@attrs.frozen
class CampaignField:
    """A field of a campaign table (``ecnow.php method=campaign_fields``).

    ``standard`` is True for the fields every campaign has (wire
    ``standard_field`` > 0); ``group`` is the wire ``group_name``; ``type`` the
    field type as sent (``varchar``, ``select``, ``int``...); the flags are
    bools whatever the wire spells (``Y``/``N``, ``yes``/``no``, ``1``/``0``).
    """

    name: str
    table: str = ""
    position: int = 0
    size: int = 0
    standard: bool = False
    group: str = ""
    type: str = ""
    prompt: str = ""
    readonly: bool = False
    search: bool = False
    hidden: bool = False
    hidden_on_script: bool = False
    required: bool = False
    order: int = 0
    picklist: str = ""
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> CampaignField:
        return cls(
            name=_t(record.get("name"), "name"),
            table=_t(record.get("table"), "table"),
            position=_i(record.get("position"), "position"),
            size=_i(record.get("size"), "size"),
            standard=_i(record.get("standard_field"), "standard_field") > 0,
            group=_t(record.get("group_name"), "group_name"),
            type=_t(record.get("type"), "type"),
            prompt=_t(record.get("prompt"), "prompt"),
            readonly=_flag(record.get("readonly"), "readonly"),
            search=_flag(record.get("search"), "search"),
            hidden=_flag(record.get("hidden"), "hidden"),
            hidden_on_script=_flag(record.get("hidden_on_script"), "hidden_on_script"),
            required=_flag(record.get("required"), "required"),
            order=_i(record.get("order"), "order"),
            picklist=_t(record.get("picklist"), "picklist"),
            raw=record,
        )


@attrs.frozen
class Queue:
    """A queue of ``database.php method=queues``: a channel calls go through.

    ``campaign_id`` is the campaign an outbound queue dials for; ``numbers``
    the numbers that reach an inbound queue (a comma list on the wire); the
    other documented settings (``announce``, ``amd``, ``aod_ringtime``...) are in ``raw``.
    """

    queue_id: str
    type: QueueType = QueueType.INBOUND
    description: str = ""
    caller_id: str = ""
    campaign_id: str | None = None
    level: int = 0
    redirect: str = ""
    max_wait: int = 0
    filter: str = ""
    numbers: tuple[str, ...] = ()
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Queue:
        numbers = _t(record.get("numbers"), "numbers")
        return cls(
            queue_id=_t(record.get("qid"), "qid"),
            type=QueueType(_t(record.get("type"), "type")),
            description=_t(record.get("description"), "description"),
            caller_id=_t(record.get("callerid"), "callerid"),
            campaign_id=_id(record.get("campaignid"), "campaignid"),
            level=_i(record.get("level"), "level"),
            redirect=_t(record.get("redirect"), "redirect"),
            max_wait=_i(record.get("max_wait"), "max_wait"),
            filter=_t(record.get("filter"), "filter"),
            numbers=tuple(part.strip() for part in numbers.split(",") if part.strip()),
            raw=record,
        )


@attrs.frozen
class OutcomeCode:
    """An outcome code of ``database.php method=outcomecodes``: how a call ended.

    ``complete`` decides whether a record given this outcome leaves the dialler.
    """

    outcome_id: str
    description: str = ""
    complete: bool = False
    sale: bool = False
    dmc: bool = False
    do_not_call: bool = False
    answerphone: bool = False
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> OutcomeCode:
        return cls(
            outcome_id=_t(record.get("outcome"), "outcome"),
            description=_t(record.get("description"), "description"),
            complete=_flag(record.get("complete"), "complete"),
            sale=_flag(record.get("sale"), "sale"),
            dmc=_flag(record.get("dmc"), "dmc"),
            do_not_call=_flag(record.get("do_not_call"), "do_not_call"),
            answerphone=_flag(record.get("answerphone"), "answerphone"),
            raw=record,
        )
