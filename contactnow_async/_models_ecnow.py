"""Typed records of the campaign database: ``ecnow.php`` datasets and campaign fields,
``database.php`` queues and outcome codes (the records themselves: ``_models_records``).

The naming rule of ``docs/fields.md`` holds here too: readable snake_case, one
name per concept (``dataset_id`` is ``dataset`` in one reply and ``datasetid``
in another), ids as strings named ``<thing>_id`` (``None`` where the wire's
``"0"``/``""`` means none), moments as ``*_ts`` unix seconds with a UTC
``*_at`` datetime beside them, Y/N and 1/0 flags as bools, and ``raw`` keeping
the wire record.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from ._values import _t, _w, required_text

__all__ = [
    "CampaignField",
    "Dataset",
    "DatasetInput",
    "DatasetStatus",
    "OutcomeCode",
    "Queue",
    "QueueType",
]


class _OpenEnum(str, enum.Enum):
    """A string enum that turns a value it does not know into a new member, not an error."""

    @classmethod
    def _missing_(cls, value: object) -> _OpenEnum | None:
        if not isinstance(value, str):
            return None
        for known in cls:  # "live" is LIVE: not a look-alike member unequal to it
            if known.value.lower() == value.lower():
                return known
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


def _id(value: Any, name: str) -> str | None:
    """An id, or None where the wire's ``"0"``, ``""`` or null means none."""
    text = _t(value, name)
    return None if text in ("", "0") else text


@attrs.frozen
class Dataset:
    """A dataset of ``ecnow.php method=ecnow_datasets``: a group of records in one campaign.

    ``status`` decides whether its records are dialled; ``priority`` (0 to 90)
    orders the datasets of one campaign, highest first. ``record_count`` is the
    wire ``reccount`` (None where the reply leaves it empty; below 0, an error).
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
            priority=_w(record.get("d_priority"), "d_priority"),
            notes=_t(record.get("notes"), "notes"),
            description=_t(record.get("description"), "description"),
            callbacks=_t(record.get("callbacks"), "callbacks"),
            crm_account=_t(record.get("crm_account"), "crm_account"),
            crm_campaign=_t(record.get("crm_campaign"), "crm_campaign"),
            locked=_flag(record.get("locked"), "locked"),
            record_count=None if reccount in (None, "") else _record_count(reccount),
            raw=record,
        )


def _record_count(value: Any) -> int:
    count = _w(value, "reccount")
    if count < 0:  # it was read as it came: a dataset of -5 records
        raise ValueError("field 'reccount' is a negative count")
    return count


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
            position=_w(record.get("position"), "position"),
            size=_w(record.get("size"), "size"),
            standard=_w(record.get("standard_field"), "standard_field") > 0,
            group=_t(record.get("group_name"), "group_name"),
            type=_t(record.get("type"), "type"),
            prompt=_t(record.get("prompt"), "prompt"),
            readonly=_flag(record.get("readonly"), "readonly"),
            search=_flag(record.get("search"), "search"),
            hidden=_flag(record.get("hidden"), "hidden"),
            hidden_on_script=_flag(record.get("hidden_on_script"), "hidden_on_script"),
            required=_flag(record.get("required"), "required"),
            order=_w(record.get("order"), "order"),
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
            queue_id=required_text(record.get("qid"), "qid"),
            type=QueueType(_t(record.get("type"), "type")),
            description=_t(record.get("description"), "description"),
            caller_id=_t(record.get("callerid"), "callerid"),
            campaign_id=_id(record.get("campaignid"), "campaignid"),
            level=_w(record.get("level"), "level"),
            redirect=_t(record.get("redirect"), "redirect"),
            max_wait=_w(record.get("max_wait"), "max_wait"),
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
            outcome_id=required_text(record.get("outcome"), "outcome"),
            description=_t(record.get("description"), "description"),
            complete=_flag(record.get("complete"), "complete"),
            sale=_flag(record.get("sale"), "sale"),
            dmc=_flag(record.get("dmc"), "dmc"),
            do_not_call=_flag(record.get("do_not_call"), "do_not_call"),
            answerphone=_flag(record.get("answerphone"), "answerphone"),
            raw=record,
        )
