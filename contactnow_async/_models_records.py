"""Typed records (leads) of ``ecnow.php method=ecnow_records``, and their dates.

The naming rule of ``docs/fields.md`` holds: the standard fields are readable
snake_case attributes (``FirstName`` is ``first_name``, ``AgentRef`` is
``agent_id``), the campaign's own fields stay in ``fields`` by wire name, and
``raw`` keeps the wire record.

Record dates arrive as ``"YYYY-MM-DD HH:MM:SS"`` without a zone. They are read
in the zone the client is given (``ContactNow(record_tz=...)``, UTC by
default); ``"0000-00-00 00:00:00"`` means "none" and is ``None``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from datetime import date, datetime, timezone, tzinfo
from typing import Any

import attrs

from ._models_ecnow import _flag, _id
from ._values import EPOCH, MAX_UNIX_TIME, _t, utc

__all__ = [
    "RECORD_ATTRIBUTES",
    "RECORD_INPUT_NAMES",
    "Record",
    "RecordInput",
    "format_record_time",
    "from_1970",
    "parse_record_time",
    "record_date_text",
]

_ZERO_DATES = frozenset({"", "0000-00-00 00:00:00", "0000-00-00"})
_FIRST_UNIX_TIME = -62_135_596_800  # 0001-01-01T00:00:00Z, the first a datetime holds


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
        moment: datetime | None = datetime.fromisoformat(text)
    except ValueError:  # raised below, not here: its context would quote the text
        moment = None
    if moment is None:
        raise ValueError(f"field {name!r} is not a YYYY-MM-DD HH:MM:SS date")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    seconds = int(moment.timestamp())
    if not _FIRST_UNIX_TIME <= seconds <= MAX_UNIX_TIME:
        # Its *_at would raise later, far from the reply that sent it.
        raise ValueError(f"field {name!r} is a date no UTC datetime can hold")
    return seconds


def format_record_time(value: datetime | date | int | float | str, tz: tzinfo, name: str) -> str:
    """A moment as the API writes record dates: ``"YYYY-MM-DD HH:MM:SS"`` in ``tz``.

    Takes an aware datetime, a unix time, a date (that day, 00:00:00) or text (sent as
    given). A naive datetime is refused: its zone would be a guess; so is a moment
    no date in ``tz`` can hold (a ValueError naming ``name``).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{name} is a naive datetime; give it a timezone (e.g. UTC)")
    elif isinstance(value, date):
        return f"{value.isoformat()} 00:00:00"
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a datetime, a date, a unix time or text, not {value!r}")
    try:
        moment = (
            value.astimezone(tz)
            if isinstance(value, datetime)
            else datetime.fromtimestamp(value, tz=tz)
        )
    except (OverflowError, OSError, ValueError):  # NaN, or past the year 9999 in tz
        raise ValueError(f"{name} is not a moment a record date can hold") from None
    # Not strftime: its %Y writes the year 999 as "999".
    return moment.replace(tzinfo=None, microsecond=0).isoformat(sep=" ")


def from_1970(text: str, tz: tzinfo, name: str, given: object) -> str:
    """``text``, a record date in ``tz`` (as :func:`format_record_time` or
    :func:`record_date_text` gave it), if its moment is from 1970 on, as every unix time
    of the API is: a callback or a window's end before then is a ValueError naming
    ``name`` (sent, ``-5`` went as ``"1969-12-31 23:59:55"``). ``given`` is what the
    caller gave, quoted in the message."""
    if datetime.fromisoformat(text).replace(tzinfo=tz) < EPOCH:
        # Where 1970 begins in tz: east of UTC a date of 1 January 1970 is before it.
        first = EPOCH.astimezone(tz).replace(tzinfo=None).isoformat(sep=" ")
        raise ValueError(
            f"{name} must be a moment from 1970 on ({first} in record_tz), not {given!r}"
        )
    return text


#: A record date as the API writes one (ECNOW.md: ``'callback' => '2017-12-10 10:00:00'``).
_RECORD_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")


def record_date_text(text: str, name: str, *, day: str | None = None) -> str:
    """``text`` checked as a record date the API reads, ``"YYYY-MM-DD HH:MM:SS"``, a real
    moment (not 30 February, nor 25 o'clock); with ``day`` (the time of day to give it,
    ``"00:00:00"`` or ``"23:59:59"``) a bare ``"YYYY-MM-DD"`` too, as that time of that day.
    Anything else is a ValueError naming ``name``: the API reads it as it pleases."""
    stripped = text.strip()
    if day is not None and len(stripped) == 10:
        stripped = f"{stripped} {day}"
    if _RECORD_DATE.fullmatch(stripped):
        with contextlib.suppress(ValueError):
            datetime.strptime(stripped, "%Y-%m-%d %H:%M:%S")
            return stripped
    also = " (or 'YYYY-MM-DD')" if day is not None else ""
    raise ValueError(
        f"{name} must be a record date 'YYYY-MM-DD HH:MM:SS'{also} in record_tz, an aware "
        f"datetime or unix seconds, not {text!r}"
    )


def _at(timestamp: int | None) -> datetime | None:
    return None if timestamp is None else utc(timestamp)


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


#: RecordInput's attributes (and a Record's, its dates aside) and the wire field each is.
RECORD_INPUT_NAMES: dict[str, str] = {
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
    time or ``"YYYY-MM-DD HH:MM:SS"`` text, from 1970 on (an earlier one is a
    ValueError naming it, before the write sends anything); ``notes_append`` adds a
    line to the record's notes; ``fields`` holds the campaign's own fields by wire name.
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
        names = RECORD_INPUT_NAMES
        record = {names[name]: value for name, value in values.items() if value is not None}
        for key, value in own.items():
            if value is not None:
                if str(key) in record:  # fields={"dataset": 4} would replace dataset_id
                    raise ValueError(f"RecordInput gives {key} twice: by attribute and in fields")
                record[str(key)] = value
        return record
