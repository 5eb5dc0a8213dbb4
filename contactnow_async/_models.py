"""Typed records for every documented row type.

Identifiers (agent ids, queue ids, call ids) stay strings, as the API sends
them. Counts, levels, log uids and unix times are ints; times are also offered
as timezone-aware UTC datetimes. Every model keeps the record it was built from
in ``raw`` (left out of equality and repr), so a field the docs do not list is
never lost and JSON and XML replies of the same data compare equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import attrs

from ._wire import xml_list

__all__ = [
    "AGENT_FIELDS",
    "Agent",
    "AgentInput",
    "Call",
    "LiveAgent",
    "QueueAssignment",
    "StatusLogEntry",
    "Token",
    "WriteResult",
]

#: The agent record's fields, in the order the docs list them.
AGENT_FIELDS = (
    "agentid", "name", "moh", "userfield", "filter", "pin", "username", "password", "phone",
    "customer", "default_status", "agent_version", "last_broadcast_msg", "selfserve_id", "aod",
    "aod_lock", "audio_id", "auth_level", "auth_admin", "auth_supervisor", "auth_reports",
)  # fmt: skip


def _s(value: Any) -> str:
    """A scalar as text; ``null`` and empty XML elements both become ``""``."""
    return "" if value is None else str(value)


def _i(value: Any, name: str, default: int = 0) -> int:
    """A count, level, uid or unix time as an int; ``null``/empty is ``default``.

    Raises ValueError naming the field (not its value) when it is not a whole number.
    """
    if value is None or value == "":
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, (str, float)) and not isinstance(value, bool):
        try:
            return int(value)
        except (ValueError, OverflowError):
            pass
        try:
            number = float(value)  # "1550245970.0": a whole number written as a float
        except ValueError:
            pass
        else:
            if number.is_integer():
                return int(number)
    raise ValueError(f"field {name!r} is not a whole number")


def utc(timestamp: int | float) -> datetime:
    """A unix time as a timezone-aware UTC datetime."""
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


@attrs.frozen
class Agent:
    """An agent record from ``database.php method=agents`` (``agentid`` is ``agent_id``)."""

    agent_id: str
    name: str = ""
    moh: str = ""
    userfield: str = ""
    filter: str = ""
    pin: str = attrs.field(default="", repr=False)
    username: str = ""
    password: str = attrs.field(default="", repr=False)
    phone: str = ""
    customer: str = ""
    default_status: str = ""
    agent_version: str = ""
    last_broadcast_msg: str = ""
    selfserve_id: str = ""
    aod: str = ""
    aod_lock: str = ""
    audio_id: str = ""
    auth_level: str = ""
    auth_admin: str = ""
    auth_supervisor: str = ""
    auth_reports: str = ""
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Agent:
        values = {name: _s(record.get(name)) for name in AGENT_FIELDS[1:]}
        return cls(agent_id=_s(record.get("agentid")), **values, raw=record)


@attrs.frozen(kw_only=True)
class AgentInput:
    """The fields of an agent to create or update; ``None`` fields are not sent.

    An update needs ``agent_id``; a create must not set it.
    """

    agent_id: str | None = None
    name: str | None = None
    moh: str | None = None
    userfield: str | None = None
    filter: str | None = None
    pin: str | None = attrs.field(default=None, repr=False)
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    phone: str | None = None
    customer: str | None = None
    default_status: str | None = None
    agent_version: str | None = None
    last_broadcast_msg: str | None = None
    selfserve_id: str | None = None
    aod: str | None = None
    aod_lock: str | None = None
    audio_id: str | None = None
    auth_level: str | None = None
    auth_admin: str | None = None
    auth_supervisor: str | None = None
    auth_reports: str | None = None

    def to_record(self) -> dict[str, Any]:
        """The record as the API names its fields."""
        record = attrs.asdict(self)
        record["agentid"] = record.pop("agent_id")
        return {name: record[name] for name in AGENT_FIELDS if record[name] is not None}


@attrs.frozen
class Call:
    """A call an agent is on, as listed in a live status row (fields undocumented)."""

    call_id: str
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_record(cls, record: Any) -> Call:
        if not isinstance(record, Mapping):
            return cls(call_id=_s(record), raw={"value": record})
        call_id = record.get("callid") or record.get("id") or record.get("uid") or ""
        return cls(call_id=_s(call_id), raw=record)


@attrs.frozen
class LiveAgent:
    """One agent's live status from ``ajax.php method=agents`` (``uid`` is ``agent_id``).

    ``time`` is the unix time the current status began and ``srvtime`` the
    server's clock when it answered, so ``time_in_status`` needs no local clock.
    """

    agent_id: str
    name: str
    status: str
    statuscode: str = ""
    time: int = 0
    srvtime: int = 0
    moh: str = ""
    ccname: str = ""
    customer: str = ""
    calls: tuple[Call, ...] = ()
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> LiveAgent:
        return cls(
            agent_id=_s(record.get("uid")),
            name=_s(record.get("name")),
            status=_s(record.get("status")),
            statuscode=_s(record.get("statuscode")),
            time=_i(record.get("time"), "time"),
            srvtime=_i(record.get("srvtime"), "srvtime"),
            moh=_s(record.get("moh")),
            ccname=_s(record.get("ccname")),
            customer=_s(record.get("customer")),
            calls=tuple(Call.from_record(item) for item in xml_list(record.get("call"))),
            raw=record,
        )

    @property
    def time_in_status(self) -> int:
        """Seconds in the current status when the server answered (``srvtime - time``)."""
        return self.srvtime - self.time

    @property
    def started_at(self) -> datetime:
        """When the current status began."""
        return utc(self.time)

    @property
    def call_id(self) -> str | None:
        """The id of the current call, or None when not on a call."""
        return self.calls[0].call_id if self.calls else None


@attrs.frozen
class StatusLogEntry:
    """One row of ``database.php method=status_log``: an agent entered ``status`` at ``uts``."""

    uid: int
    uts: int
    agent_id: str
    status: str
    subcode: str = ""
    callid: str = "0"
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> StatusLogEntry:
        return cls(
            uid=_i(record.get("uid"), "uid"),
            uts=_i(record.get("uts"), "uts"),
            agent_id=_s(record.get("agent")),
            status=_s(record.get("status")),
            subcode=_s(record.get("subcode")),
            callid=_s(record.get("callid")) or "0",
            raw=record,
        )

    @property
    def at(self) -> datetime:
        """When the change happened."""
        return utc(self.uts)

    @property
    def call_id(self) -> str | None:
        """The call id, or None when the row is not about a call (``callid`` "0")."""
        return None if self.callid in ("", "0") else self.callid


@attrs.frozen
class QueueAssignment:
    """An agent-to-queue assignment (``method=priority``): ``agentid``, ``qid``, ``level``.

    Also the input of ``cn.priorities.create`` and ``update``.
    """

    agent_id: str
    queue_id: str
    level: int = attrs.field(converter=int)
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> QueueAssignment:
        return cls(
            agent_id=_s(record.get("agentid")),
            queue_id=_s(record.get("qid")),
            level=_i(record.get("level"), "level"),
            raw=record,
        )

    def to_record(self) -> dict[str, Any]:
        """The record as the API names its fields."""
        return {"agentid": self.agent_id, "qid": self.queue_id, "level": self.level}


@attrs.frozen
class WriteResult:
    """What a create or update reports: ``total`` records written, ``bad`` refused.

    ``key`` is the id of the created record (creates only; ``"0"`` otherwise).
    """

    success: bool
    total: int = 0
    bad: int = 0
    key: str | None = None
    account_id: str | None = None
    error: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


def _hidden(_: str) -> str:
    return "<redacted>"


@attrs.frozen
class Token:
    """An API token and when it expires.

    ``expires_at`` is the unix time the API gave (``expire``), on the server's
    clock; ``clock_offset`` is the server's clock minus ours when the token was
    fetched, so a client whose clock is minutes off still refreshes in time.
    The value never appears in a repr.
    """

    value: str = attrs.field(repr=_hidden)
    expires_at: int
    clock_offset: float = 0.0

    @property
    def expires_at_datetime(self) -> datetime:
        """``expires_at`` as a UTC datetime (server clock)."""
        return utc(self.expires_at)

    def local_deadline(self) -> float:
        """When the token expires, on the local clock."""
        return self.expires_at - self.clock_offset

    def is_fresh(self, now: float, margin: float) -> bool:
        """True if the token is valid for longer than ``margin`` seconds at local time ``now``."""
        return self.local_deadline() - margin > now
