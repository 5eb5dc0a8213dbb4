"""Typed rows of ``reporting.php`` (grouped figures, call detail records, login sessions)
and what a ``recording.php`` download reports.

The naming rule of ``docs/fields.md`` holds: a :class:`CdrRow` spells the CDR's
names out (``callid`` is ``call_id``, ``qid`` ``queue_id``, ``aid`` ``agent_id``,
``tm_init`` ``initiated_ts``), ids are strings (``None`` where the wire's ``"0"``
means none), moments ``*_ts`` unix seconds with a UTC ``*_at`` beside them,
seconds and costs floats, and ``raw`` keeps the wire record. A :class:`ReportRow`
is the exception the issue asks for: a read-only mapping keyed by the documented
field names, because its fields are whatever the request asked for.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import attrs

from ._models_ecnow import QueueType, _id
from ._values import _t as _text
from ._values import _w, decimal_text, unix_seconds, utc

__all__ = [
    "CDR_ATTRIBUTES",
    "SESSION_ATTRIBUTES",
    "AgentSession",
    "CdrRow",
    "Figure",
    "Recording",
    "ReportRow",
    "kind_of",
]

#: A value of a report row: a count, seconds or a cost, or a text (group keys).
Figure = int | float | str

_COUNTS = ("nc_", "oc_")
_AMOUNTS = ("sec_", "cost_", "bill_")


def kind_of(name: str) -> type[int] | type[float] | type[str]:
    """What a report field holds: ``int`` for counts (``nc_*``, ``oc_*``), ``float``
    for seconds and costs (``sec_*``, ``cost_*``, ``bill_*``), ``str`` for the rest."""
    if name.startswith(_COUNTS):
        return int
    if name.startswith(_AMOUNTS):
        return float
    return str


def _number(value: Any, name: str) -> float:
    """Seconds or a cost: a JSON number or its text; null and empty are 0."""
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"field {name!r} is not a number")
    number = decimal_text(value) if isinstance(value, str) else _float(value, name)
    if number is None:  # float() read " 1.5", "1_0.5" and ".5" too: no reply writes them
        raise ValueError(f"field {name!r} is not a number")
    if not math.isfinite(number):
        raise ValueError(f"field {name!r} is not a finite number")
    if number < 0 and (name.startswith("sec_") or name == "bill_dur"):
        # A cost may be a credit; no time (bill_dur: the time the cost is of) runs back.
        raise ValueError(f"field {name!r} is a negative number of seconds")
    return number


def _float(value: float, name: str) -> float:
    try:
        return float(value)
    except OverflowError:  # an int past 1e308, which no float holds
        raise ValueError(f"field {name!r} is not a finite number") from None


def _figure(value: Any, name: str) -> Figure:
    kind = kind_of(name)
    if kind is int:
        count = _w(value, name)
        if count < 0:  # it made a service level of 500%, or below nought
            raise ValueError(f"field {name!r} is a negative count")
        return count
    if kind is float:
        return _number(value, name)
    return _text(value, name)


class ReportRow(Mapping[str, Figure]):
    """One row of ``reporting.php method=calls``: a read-only mapping by field name.

    Counts (``nc_*``, ``oc_*``) are ints, seconds and costs (``sec_*``, ``cost_*``,
    ``bill_*``) floats, group keys and any other field (``ccid``, a field the docs
    do not list) strings; a null is 0, 0.0 or ``""``, a count or seconds below 0 an
    error (from a read, :class:`~contactnow_async.ResponseFormatError`). :meth:`count`,
    :meth:`number` and :meth:`text` read one with its type. ``cutoff`` is the
    service-level cutoff the figures ``nc_ans_le``/``_gt``, ``nc_que_le``/``_gt``
    were counted against (None when the request gave none). ``raw`` keeps the
    wire record; two rows with the same fields and values are equal. A field the row
    does not have (not asked for, or misspelt) is a KeyError from ``row[name]`` and
    from the three readers alike, never a 0: ``"nc_ans_man" in row`` tells it.
    """

    __slots__ = ("_values", "cutoff", "raw")

    def __init__(
        self,
        values: Mapping[str, Figure],
        *,
        cutoff: int | None = None,
        raw: Mapping[str, Any] | None = None,
    ) -> None:
        self._values = dict(values)
        self.cutoff = cutoff
        self.raw: Mapping[str, Any] = dict(values) if raw is None else raw

    @classmethod
    def from_record(cls, record: Mapping[str, Any], *, cutoff: int | None = None) -> ReportRow:
        """A row from its wire record; ValueError names a field of the wrong type."""
        values = {str(name): _figure(value, str(name)) for name, value in record.items()}
        return cls(values, cutoff=cutoff, raw=record)

    def __getitem__(self, name: str) -> Figure:
        """The value of ``name``; a field the row lacks is a KeyError, not 0: a typo, or a
        figure not asked for, read as 0 on a wallboard (the API sends each one asked for)."""
        try:
            return self._values[name]
        except KeyError:
            fields = ", ".join(self._values) or "none"
            raise KeyError(
                f"this report row has no field {name!r} (its fields: {fields}):"
                f" ask reports.calls for it in fields (a group key, in group_by)"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._values  # without the message a missing field's KeyError builds

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"ReportRow({self._values!r})"

    def count(self, name: str) -> int:
        """A count (``nc_*``, ``oc_*``). KeyError names a field the row does not have."""
        value = self[name]
        if not isinstance(value, int):
            raise TypeError(f"{name!r} is not a count (nc_*, oc_*)")
        return value

    def number(self, name: str) -> float:
        """Seconds or a cost (``sec_*``, ``cost_*``, ``bill_*``). KeyError names a field
        the row does not have; ValueError (naming the field) an int past what a float holds."""
        value = self[name]
        if isinstance(value, str):
            raise TypeError(f"{name!r} is not seconds or a cost (sec_*, cost_*, bill_*)")
        return _float(value, name)

    def text(self, name: str) -> str:
        """A group key or another text field. KeyError names a field the row does not have."""
        return str(self[name])


def _moment(value: Any, name: str) -> int | None:
    """A ``tm_*`` unix time; None for null, empty or ``"0"`` (not answered). One no
    datetime can hold (milliseconds, say) is refused here, not at its ``*_at``."""
    return unix_seconds(_w(value, name), name) or None


def _optional_text(value: Any, name: str) -> str | None:
    return None if value is None else _text(value, name)


def _flag(value: Any, name: str) -> bool:
    count = _w(value, name)
    if count < 0:  # it read as False: no sale, where the call's oc_* count is 0 or 1
        raise ValueError(f"field {name!r} is a negative count")
    return count > 0


#: Each CDR field's attribute on :class:`CdrRow` (``callid`` -> ``call_id``...).
CDR_ATTRIBUTES: dict[str, str] = {
    "callid": "call_id", "qtable": "table", "qtype": "queue_type", "qid": "queue_id",
    "qnm": "queue_name", "aid": "agent_id", "anm": "agent_name", "dsid": "dataset_id",
    "dsnm": "dataset_name", "urn": "record_id", "ddi": "ddi", "cli": "cli", "cres": "result",
    "ocid": "outcome_id", "ocnm": "outcome_name", "flags": "flags", "carrier": "carrier",
    "ctag": "tag_id", "tag": "tag", "dest": "destination", "dcode": "destination_code",
    "ctype": "direction", "dtype": "dial_type", "sms_msg": "sms_message", "sec_dur": "duration",
    "sec_ring": "ring_time", "sec_que": "queue_time", "tm_init": "initiated_ts",
    "tm_answ": "answered_ts", "tm_disc": "disconnected_ts", "oc_sale": "sale",
    "oc_cmpl": "complete_excluding_sale", "oc_cmpli": "complete", "oc_ncmpl": "incomplete",
    "oc_dmc": "dmc", "cost_cust": "cost", "bill_cust": "bill", "bill_dur": "bill_duration",
    "ivr_key": "ivr_key", "sec_key": "key_time", "orig_qnm": "original_queue_name",
}  # fmt: skip


@attrs.frozen
class CdrRow:
    """One call of ``reporting.php method=cdr`` (only the fields asked for are set).

    ``agent_id`` is None for a call no agent took (wire ``aid`` 0), ``record_id``
    the campaign record (``urn``) a dialled call was about, ``result`` the call
    result (``cres``: ``Answered``, ``No Answer``...). ``duration``, ``ring_time``
    and ``queue_time`` are seconds (``sec_dur``, ``sec_ring``, ``sec_que``).
    ``answered_ts`` is None for an unanswered call. ``tag_id``, ``tag``,
    ``sms_message``, ``ivr_key`` and ``key_time`` are None where the wire says null. A
    record without its ``callid`` (null, empty or blank: it tells the rows of two pages
    apart), or with seconds or an ``oc_*`` below 0, is refused.
    """

    call_id: str
    table: str = ""
    queue_type: QueueType | None = None
    queue_id: str | None = None
    queue_name: str = ""
    agent_id: str | None = None
    agent_name: str = ""
    dataset_id: str | None = None
    dataset_name: str = ""
    record_id: str | None = None
    ddi: str = ""
    cli: str = ""
    result: str = ""
    outcome_id: str | None = None
    outcome_name: str = ""
    flags: tuple[str, ...] = ()
    carrier: str = ""
    tag_id: str | None = None
    tag: str | None = None
    destination: str = ""
    destination_code: str = ""
    direction: str = ""
    dial_type: str = ""
    sms_message: str | None = None
    duration: float = 0.0
    ring_time: float = 0.0
    queue_time: float = 0.0
    initiated_ts: int | None = None
    answered_ts: int | None = None
    disconnected_ts: int | None = None
    sale: bool = False
    complete: bool = False
    complete_excluding_sale: bool = False
    incomplete: bool = False
    dmc: bool = False
    cost: float = 0.0
    bill: float = 0.0
    bill_duration: float = 0.0
    ivr_key: str | None = None
    key_time: float | None = None
    original_queue_name: str = ""
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> CdrRow:
        """A row from its wire record; ValueError names a field of the wrong type."""

        def get(name: str) -> Any:
            return record.get(name)

        call_id = _text(get("callid"), "callid")
        if not call_id.strip():  # a row is told from the others (across pages) by its call id
            raise ValueError("field 'callid' is empty: no call detail record lacks one")
        qtype = _text(get("qtype"), "qtype")
        flags = _text(get("flags"), "flags")
        sec_key = get("sec_key")
        return cls(
            call_id=call_id,
            table=_text(get("qtable"), "qtable"),
            queue_type=QueueType(qtype) if qtype else None,
            queue_id=_id(get("qid"), "qid"),
            queue_name=_text(get("qnm"), "qnm"),
            agent_id=_id(get("aid"), "aid"),
            agent_name=_text(get("anm"), "anm"),
            dataset_id=_id(get("dsid"), "dsid"),
            dataset_name=_text(get("dsnm"), "dsnm"),
            record_id=_id(get("urn"), "urn"),
            ddi=_text(get("ddi"), "ddi"),
            cli=_text(get("cli"), "cli"),
            result=_text(get("cres"), "cres"),
            outcome_id=_id(get("ocid"), "ocid"),
            outcome_name=_text(get("ocnm"), "ocnm"),
            flags=tuple(part.strip() for part in flags.split(",") if part.strip()),
            carrier=_text(get("carrier"), "carrier"),
            tag_id=_optional_text(get("ctag"), "ctag"),
            tag=_optional_text(get("tag"), "tag"),
            destination=_text(get("dest"), "dest"),
            destination_code=_text(get("dcode"), "dcode"),
            direction=_text(get("ctype"), "ctype"),
            dial_type=_text(get("dtype"), "dtype"),
            sms_message=_optional_text(get("sms_msg"), "sms_msg"),
            duration=_number(get("sec_dur"), "sec_dur"),
            ring_time=_number(get("sec_ring"), "sec_ring"),
            queue_time=_number(get("sec_que"), "sec_que"),
            initiated_ts=_moment(get("tm_init"), "tm_init"),
            answered_ts=_moment(get("tm_answ"), "tm_answ"),
            disconnected_ts=_moment(get("tm_disc"), "tm_disc"),
            sale=_flag(get("oc_sale"), "oc_sale"),
            complete=_flag(get("oc_cmpli"), "oc_cmpli"),
            complete_excluding_sale=_flag(get("oc_cmpl"), "oc_cmpl"),
            incomplete=_flag(get("oc_ncmpl"), "oc_ncmpl"),
            dmc=_flag(get("oc_dmc"), "oc_dmc"),
            cost=_number(get("cost_cust"), "cost_cust"),
            bill=_number(get("bill_cust"), "bill_cust"),
            bill_duration=_number(get("bill_dur"), "bill_dur"),
            ivr_key=_optional_text(get("ivr_key"), "ivr_key"),
            key_time=None if sec_key is None else _number(sec_key, "sec_key"),
            original_queue_name=_text(get("orig_qnm"), "orig_qnm"),
            raw=record,
        )

    @property
    def answered(self) -> bool:
        """Whether an agent was connected (``cres`` Answered, or ``tm_answ`` set)."""
        return self.answered_ts is not None or self.result.lower() == "answered"

    @property
    def recorded(self) -> bool:
        """Whether the call was recorded (``recorded`` in ``flags``)."""
        return "recorded" in self.flags

    @property
    def initiated_at(self) -> datetime | None:
        """When the call began (``tm_init``)."""
        return None if self.initiated_ts is None else utc(self.initiated_ts)

    @property
    def answered_at(self) -> datetime | None:
        """When the call was answered (``tm_answ``); None if it was not."""
        return None if self.answered_ts is None else utc(self.answered_ts)

    @property
    def disconnected_at(self) -> datetime | None:
        """When the call ended (``tm_disc``)."""
        return None if self.disconnected_ts is None else utc(self.disconnected_ts)

    @property
    def talk_time(self) -> float:
        """Seconds connected: from answered to disconnected (0 when not answered)."""
        if self.answered_ts is None or self.disconnected_ts is None:
            return 0.0
        return float(max(0, self.disconnected_ts - self.answered_ts))


#: Each field of a login session (``method=agents``) and its :class:`AgentSession` attribute.
SESSION_ATTRIBUTES: dict[str, str] = {
    "aid": "agent_id", "anm": "agent_name", "tm_login": "login_ts", "tm_logout": "logout_ts",
    "tm_first": "first_activity_ts", "tm_last": "last_activity_ts",
}  # fmt: skip


@attrs.frozen
class AgentSession:
    """A login session of ``reporting.php method=agents`` (a method only third-party code
    shows) of agent ``agent_id`` (a record without one is refused):
    ``login_ts`` to ``logout_ts`` (None while still logged in), and the
    session's first and last activity (``tm_first``, ``tm_last``: None for ``0``;
    their meaning is not documented)."""

    agent_id: str
    agent_name: str = ""
    login_ts: int | None = None
    logout_ts: int | None = None
    first_activity_ts: int | None = None
    last_activity_ts: int | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> AgentSession:
        """A session from its wire record; ValueError names a field of the wrong type, or
        an ``aid`` that names no agent (a session is an agent's: without it, sessions of
        different agents would read as one agent's)."""
        agent_id = _id(record.get("aid"), "aid")
        if agent_id is None:
            raise ValueError("field 'aid' names no agent: a login session is an agent's")
        return cls(
            agent_id=agent_id,
            agent_name=_text(record.get("anm"), "anm"),
            login_ts=_moment(record.get("tm_login"), "tm_login"),
            logout_ts=_moment(record.get("tm_logout"), "tm_logout"),
            first_activity_ts=_moment(record.get("tm_first"), "tm_first"),
            last_activity_ts=_moment(record.get("tm_last"), "tm_last"),
            raw=record,
        )

    @property
    def login_at(self) -> datetime | None:
        """When the agent logged in."""
        return None if self.login_ts is None else utc(self.login_ts)

    @property
    def logout_at(self) -> datetime | None:
        """When the agent logged out; None while logged in."""
        return None if self.logout_ts is None else utc(self.logout_ts)


@attrs.frozen
class Recording:
    """What :meth:`cn.recordings.download` wrote: ``size`` bytes of the recording of
    ``call_id``, its ``content_type`` as the server sent it, and the ``path`` it was
    saved to (None when written to a file object)."""

    call_id: str
    size: int
    content_type: str | None = None
    path: str | None = None
