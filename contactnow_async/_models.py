"""Typed records for every documented row type.

One naming rule holds for every model (the concept table is ``docs/fields.md``):
attributes are readable snake_case, one name per concept whatever the script
calls it (``agent_id`` is ``agentid``, ``uid`` or ``agent`` on the wire), and
``raw`` keeps the wire record untouched. Identifiers stay strings, as the API
sends them; counts, levels and log ids are ints; a moment is an int of unix
seconds named ``*_ts`` with an aware UTC datetime beside it named ``*_at``.
``raw`` is left out of equality and repr, so a field the docs do not list is
never lost and JSON and XML replies of the same data compare equal.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from ._errors import ResponseFormatError
from ._values import MAX_UNIX_TIME, _i, _t, _w, as_level, required, required_text, unix_seconds, utc
from ._wire import Envelope

__all__ = [
    "AGENT_FIELDS",
    "AGENT_WIRE_NAMES",
    "Agent",
    "AgentInput",
    "QueueAssignment",
    "StatusLogEntry",
    "Token",
    "WriteResult",
    "stored_token",
    "token_expiry",
]

#: The agent record's fields as the API names them, in the order the docs list them.
AGENT_FIELDS = (
    "agentid", "name", "moh", "userfield", "filter", "pin", "username", "password", "phone",
    "customer", "default_status", "agent_version", "last_broadcast_msg", "selfserve_id", "aod",
    "aod_lock", "audio_id", "auth_level", "auth_admin", "auth_supervisor", "auth_reports",
)  # fmt: skip


#: Agent attributes whose wire name differs (``AgentInput`` and mapping inputs use it).
AGENT_WIRE_NAMES: dict[str, str] = {
    "agent_id": "agentid",
    "user_field": "userfield",
    "last_broadcast_message": "last_broadcast_msg",
}
_AGENT_ATTRIBUTES = {wire: name for name, wire in AGENT_WIRE_NAMES.items()}


def agent_attribute(wire: str) -> str:
    """The attribute name of an agent field given by its wire name."""
    return _AGENT_ATTRIBUTES.get(wire, wire)


@attrs.frozen
class Agent:
    """An agent record from ``database.php method=agents``."""

    agent_id: str
    name: str = ""
    moh: str = ""
    user_field: str = ""
    filter: str = ""
    pin: str = attrs.field(default="", repr=False)
    username: str = ""
    password: str = attrs.field(default="", repr=False)
    phone: str = ""
    customer: str = ""
    default_status: str = ""
    agent_version: str = ""
    last_broadcast_message: str = ""
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
        # A read of 25 agents a call makes this the hot path of every agents.read():
        # the fields in one C call, a type check each, the slots filled as
        # live_agents() fills a LiveAgent's (see _NewAgent).
        try:
            values = _agent_fields(record)
        except KeyError:
            values = tuple(map(record.get, AGENT_FIELDS))
        (
            agent_id, name, moh, user_field, filter_, pin, username, password, phone, customer,
            default_status, version, message, selfserve_id, aod, aod_lock, audio_id, level,
            admin, supervisor, reports,
        ) = values  # fmt: skip
        # Text is kept as it is; anything else (null, a number) is read by _s, field by
        # field: a row with a null or two does not send the whole row a slower way.
        if agent_id.__class__ is not str or not agent_id.strip():  # no id: ValueError
            agent_id = required_text(agent_id, "agentid")
        if name.__class__ is not str:
            name = _t(name, "name")
        if moh.__class__ is not str:
            moh = _t(moh, "moh")
        if user_field.__class__ is not str:
            user_field = _t(user_field, "userfield")
        if filter_.__class__ is not str:
            filter_ = _t(filter_, "filter")
        if pin.__class__ is not str:
            pin = _t(pin, "pin")
        if username.__class__ is not str:
            username = _t(username, "username")
        if password.__class__ is not str:
            password = _t(password, "password")
        if phone.__class__ is not str:
            phone = _t(phone, "phone")
        if customer.__class__ is not str:
            customer = _t(customer, "customer")
        if default_status.__class__ is not str:
            default_status = _t(default_status, "default_status")
        if version.__class__ is not str:
            version = _t(version, "agent_version")
        if message.__class__ is not str:
            message = _t(message, "last_broadcast_msg")
        if selfserve_id.__class__ is not str:
            selfserve_id = _t(selfserve_id, "selfserve_id")
        if aod.__class__ is not str:
            aod = _t(aod, "aod")
        if aod_lock.__class__ is not str:
            aod_lock = _t(aod_lock, "aod_lock")
        if audio_id.__class__ is not str:
            audio_id = _t(audio_id, "audio_id")
        if level.__class__ is not str:
            level = _t(level, "auth_level")
        if admin.__class__ is not str:
            admin = _t(admin, "auth_admin")
        if supervisor.__class__ is not str:
            supervisor = _t(supervisor, "auth_supervisor")
        if reports.__class__ is not str:
            reports = _t(reports, "auth_reports")
        if cls is not Agent:  # a subclass: its own layout, set through Agent's descriptors
            built = object.__new__(cls)
            values = (
                agent_id, name, moh, user_field, filter_, pin, username, password, phone, customer,
                default_status, version, message, selfserve_id, aod, aod_lock, audio_id, level,
                admin, supervisor, reports,
            )  # fmt: skip
            for set_field, value in zip(_AGENT_SLOTS, values, strict=True):
                set_field(built, value)
            _set_agent_raw(built, record)
            return built
        agent: Any = object.__new__(_NewAgent)
        agent.agent_id = agent_id
        agent.name = name
        agent.moh = moh
        agent.user_field = user_field
        agent.filter = filter_
        agent.pin = pin
        agent.username = username
        agent.password = password
        agent.phone = phone
        agent.customer = customer
        agent.default_status = default_status
        agent.agent_version = version
        agent.last_broadcast_message = message
        agent.selfserve_id = selfserve_id
        agent.aod = aod
        agent.aod_lock = aod_lock
        agent.audio_id = audio_id
        agent.auth_level = level
        agent.auth_admin = admin
        agent.auth_supervisor = supervisor
        agent.auth_reports = reports
        agent.raw = record
        agent.__class__ = Agent
        return agent  # type: ignore[no-any-return]  # an Agent now


class _NewAgent(Agent):
    """An :class:`Agent` being built: the same slots, but plain ``setattr`` (CPython
    stores into a slot of such a class in a few nanoseconds, ~40 ns through a frozen
    class's descriptor). :meth:`Agent.from_record` fills one, then makes it an
    :class:`Agent` (``__class__`` assignment: the layouts are the same)."""

    __slots__ = ()
    __setattr__ = object.__setattr__
    __delattr__ = object.__delattr__


_agent_fields = operator.itemgetter(*AGENT_FIELDS)

# Each slot's own descriptor (in AGENT_FIELDS order): setting through it skips the
# frozen __setattr__.
_AGENT_SLOTS = tuple(getattr(Agent, agent_attribute(wire)).__set__ for wire in AGENT_FIELDS)
_set_agent_raw = Agent.__dict__["raw"].__set__


@attrs.frozen(kw_only=True)
class AgentInput:
    """The fields of an agent to create or update; ``None`` fields are not sent.

    An update needs ``agent_id``; a create must not set it.
    """

    agent_id: str | None = None
    name: str | None = None
    moh: str | None = None
    user_field: str | None = None
    filter: str | None = None
    pin: str | None = attrs.field(default=None, repr=False)
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    phone: str | None = None
    customer: str | None = None
    default_status: str | None = None
    agent_version: str | None = None
    last_broadcast_message: str | None = None
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
        values = attrs.asdict(self)
        return {
            wire: values[agent_attribute(wire)]
            for wire in AGENT_FIELDS
            if values[agent_attribute(wire)] is not None
        }


@attrs.frozen
class StatusLogEntry:
    """One row of ``database.php method=status_log``: an agent entered ``status`` at ``started_ts``.

    ``log_id`` is the row's ``uid`` (unique, increasing from 1: the backfill cursor);
    ``call_id`` is None when the row is not about a call (wire ``callid`` "0"). A row
    without its ``agent`` (missing, null, empty or blank) is refused, naming the field.
    """

    log_id: int
    started_ts: int
    agent_id: str
    status: str
    sub_status: str = ""
    call_id: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> StatusLogEntry:
        # One per row of the log a backfill reads: a row of text, uid and uts plain numbers
        # (as the API sends), built as an Agent is; any other by the rules below (same result).
        try:
            uid, uts, agent, status, code, call_id = _log_fields(record)
        except KeyError:  # a field missing: read as .get() reads it, below
            uid = uts = None
        if cls is StatusLogEntry and uid.__class__ is uts.__class__ is str:
            try:
                log_id, started_ts = int(uid), int(uts)
            except ValueError:
                log_id = started_ts = -1
            text = agent.__class__ is status.__class__ is code.__class__ is call_id.__class__ is str
            if text and log_id > 0 and 0 <= started_ts <= MAX_UNIX_TIME and agent.strip():
                entry: Any = object.__new__(_NewStatusLogEntry)
                entry.log_id, entry.started_ts, entry.agent_id = log_id, started_ts, agent
                entry.status, entry.sub_status, entry.raw = status, code, record
                entry.call_id = None if call_id in ("", "0") else call_id
                entry.__class__ = StatusLogEntry
                return entry  # type: ignore[no-any-return]  # a StatusLogEntry now
        call_id = _t(record.get("callid"), "callid")
        if (log_id := _i(record.get("uid"), "uid")) <= 0:  # no row of the log has none
            raise ValueError("field 'uid' is not a log row id (a whole number from 1)")
        return cls(
            log_id=log_id,
            started_ts=unix_seconds(record.get("uts"), "uts"),
            agent_id=required_text(record.get("agent"), "agent"),  # a row is no one's without
            status=_t(record.get("status"), "status"),
            sub_status=_t(record.get("subcode"), "subcode"),
            call_id=None if call_id in ("", "0") else call_id,
            raw=record,
        )

    @property
    def started_at(self) -> datetime:
        """When the agent entered the status (``started_ts`` as a UTC datetime)."""
        return utc(self.started_ts)


class _NewStatusLogEntry(StatusLogEntry):
    """A :class:`StatusLogEntry` being built (see :class:`_NewAgent`)."""

    __slots__ = ()
    __setattr__ = object.__setattr__
    __delattr__ = object.__delattr__


_log_fields = operator.itemgetter("uid", "uts", "agent", "status", "subcode", "callid")


@attrs.frozen
class QueueAssignment:
    """An agent-to-queue assignment (``method=priority``): ``agentid``, ``qid``, ``level``.

    A read row lacking one is refused. Also the input of ``cn.priorities.create``, ``update``.
    """

    agent_id: str
    queue_id: str
    level: int = attrs.field(converter=as_level)
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> QueueAssignment:
        return cls(
            agent_id=_t(required(record, "agentid"), "agentid"),
            queue_id=_t(required(record, "qid"), "qid"),
            level=_w(required(record, "level"), "level"),
            raw=record,
        )

    def to_record(self) -> dict[str, Any]:
        """The record as the API names its fields."""
        return {"agentid": self.agent_id, "qid": self.queue_id, "level": self.level}


@attrs.frozen
class WriteResult:
    """What a create or update reports: ``total`` records written, ``bad`` refused.

    ``key`` is the created record's id (creates; else ``"0"``, or None if the reply has none).
    ``info`` is the API's note on the write, where it gives one (``ecnow``
    records: "Record is LIVE on the dialer."), with any secret the call sent (the
    password, the token, an agent's pin) that it echoes redacted, as in error texts;
    None for none (null, false) or for no text (``true``, a nested value). ``resent``
    is True when the write was sent again after its reply was lost and the lost
    attempt may have been done: a ``total`` of 0 may then be its own earlier write.
    """

    success: bool
    total: int = 0
    bad: int = 0
    key: str | None = None
    account_id: str | None = None
    error: str | None = None
    info: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
    resent: bool = False

    @classmethod
    def from_envelope(cls, envelope: Envelope) -> WriteResult:
        """The write's figures from its reply envelope."""
        info = envelope.raw.get("info")
        return cls(
            success=envelope.success,
            total=envelope.total or 0,
            bad=envelope.bad or 0,
            key=envelope.key,
            account_id=envelope.account_id,
            error=envelope.error,
            info=None if info is None or isinstance(info, (dict, list, bool)) else str(info),
            raw=envelope.raw,
            resent=envelope.resent,
        )


def token_expiry(value: Any) -> int:
    """``expire`` from ``token.php`` as unix seconds.

    Takes an int or its text (``"1800000000"``, ``"1800000000.0"``), a fraction of a
    second rounded down (``1800000000.5`` is ``1800000000``); anything else,
    or a time a datetime cannot hold, is a :class:`ResponseFormatError` that
    shows a number, or else the value's type (text may echo a secret).
    """
    try:
        expire = _i(value, "expire", default=-2)
    except ValueError:
        expire = _whole_seconds(value)
    if expire == -2 or not -1 <= expire <= MAX_UNIX_TIME:
        digits = isinstance(value, str) and value.isascii() and value.lstrip("-").isdigit()
        shown = repr(value)[:40] if type(value) is int or digits else type(value).__name__
        raise ResponseFormatError(
            f"token.php answered an expire time that is not a unix time ({shown})",
            content_type=None,
        )
    return expire


def _whole_seconds(value: Any) -> int:
    """A time with a fraction of a second (a float, or its text) as the second before it:
    a token is never held past its expiry; -2 for anything else."""
    try:
        seconds = float(value) if isinstance(value, (float, str)) else math.nan
    except ValueError:
        return -2
    return math.floor(seconds) if math.isfinite(seconds) else -2


@attrs.frozen
class Token:
    """An API token and when it expires.

    ``expires_ts`` is the unix time the API gave (``expire``), on the server's
    clock; ``clock_offset`` is the server's clock minus ours when the token was
    fetched, so a client whose clock is minutes off still refreshes in time.
    The value never appears in a repr.
    """

    value: str = attrs.field(repr=lambda _: "<redacted>")
    expires_ts: int
    clock_offset: float = 0.0

    @property
    def expires_at(self) -> datetime:
        """When the token expires (``expires_ts`` as a UTC datetime, server clock)."""
        return utc(self.expires_ts)

    def local_deadline(self) -> float:
        """When the token expires, on the local clock."""
        return self.expires_ts - self.clock_offset

    def is_fresh(self, now: float, margin: float) -> bool:
        """True if the token is valid for longer than ``margin`` seconds at local time ``now``."""
        return self.local_deadline() - margin > now


def stored_token(value: Any, expires_at: Any, clock_offset: Any = 0.0) -> Token | None:
    """A token a store kept (its ``value``, ``expires_at`` and ``clock_offset``), or None
    for an entry no token has: a field missing (None) or unreadable, or a time no token
    was given (a file edited by hand, another tool's entry; NaN and infinities too)."""
    try:
        if value is None or expires_at is None:
            return None
        expires_ts = int(expires_at)
        offset = float(clock_offset)
    except (TypeError, ValueError, OverflowError):  # Overflow: an infinity
        return None
    if not (-1 <= expires_ts <= MAX_UNIX_TIME and abs(offset) <= MAX_UNIX_TIME):
        return None
    return Token(value=str(value), expires_ts=expires_ts, clock_offset=offset)
