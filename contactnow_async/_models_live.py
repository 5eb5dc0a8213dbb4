"""The live status models (``ajax.php method=agents``), and building thousands of them fast.

A poll of a large centre reads tens of thousands of rows, so
:func:`live_agents` builds :class:`LiveAgent` s without attrs' ``__init__``:
each frozen instance is made with ``object.__new__`` and its slots are set
through their descriptors, with every conversion inline (a text field that is
text already costs one type check). The rules are those of the rest of the
models (``_s``, :func:`~contactnow_async._models.unix_seconds`): a value that is
not plain text or a whole number takes the same slow path, which gives the
same value or raises the same error.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from ._models import MAX_UNIX_TIME, _s, unix_seconds, utc
from ._wire import xml_list

__all__ = ["Call", "LiveAgent", "live_agents"]


@attrs.frozen
class Call:
    """A call an agent is on, as listed in a live status row (fields undocumented)."""

    call_id: str
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_record(cls, record: Any) -> Call:
        if record.__class__ is not dict and not isinstance(record, Mapping):
            return cls(call_id=_s(record), raw={"value": record})
        call_id = record.get("callid") or record.get("id") or record.get("uid") or ""
        return cls(call_id=call_id if call_id.__class__ is str else _s(call_id), raw=record)

    @property
    def record_id(self) -> str | None:
        """The ``ecnow`` record a dialled call is about (wire ``urn``, as the CDR names
        it), where the row says; None otherwise."""
        return _raw_text(self.raw, "urn")

    @property
    def table(self) -> str | None:
        """The campaign table of :attr:`record_id` (wire ``qtable``), where the row says."""
        return _raw_text(self.raw, "qtable")


def _raw_text(raw: Mapping[str, Any], name: str) -> str | None:
    value = raw.get(name)
    return None if value in (None, "", "0") or isinstance(value, (dict, list)) else str(value)


@attrs.frozen
class LiveAgent:
    """One agent's live status from ``ajax.php method=agents``.

    ``started_ts`` is the unix time the current status began (wire ``time``) and
    ``server_ts`` the server's clock when it answered (``srvtime``), so
    ``time_in_status`` needs no local clock. ``sub_status`` is the wire
    ``statuscode``, the same concept as the status log's ``subcode``.
    """

    agent_id: str
    name: str
    status: str
    sub_status: str = ""
    started_ts: int = 0
    server_ts: int = 0
    moh: str = ""
    centre_name: str = ""
    customer: str = ""
    calls: tuple[Call, ...] = ()
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> LiveAgent:
        """The agent of one wire row; ValueError or TypeError for a row no model can hold."""
        (agent,) = live_agents((record,))
        return agent

    @property
    def time_in_status(self) -> int:
        """Seconds in the current status when the server answered (``srvtime - time``)."""
        return self.server_ts - self.started_ts

    @property
    def started_at(self) -> datetime:
        """When the current status began (``started_ts`` as a UTC datetime)."""
        return utc(self.started_ts)

    @property
    def call_id(self) -> str | None:
        """The id of the current call, or None when not on a call."""
        return self.calls[0].call_id if self.calls else None


def _calls(value: Any) -> tuple[Call, ...]:
    return tuple(Call.from_record(item) for item in xml_list(value))


#: The wire fields of a live row, in the order :func:`live_agents` unpacks them.
_FIELDS = ("uid", "name", "status", "statuscode", "time", "srvtime", "moh", "ccname", "customer",
           "call")  # fmt: skip
# Each slot's own descriptor: setting through it skips the frozen __setattr__.
_AGENT = {field.name: getattr(LiveAgent, field.name).__set__ for field in attrs.fields(LiveAgent)}
_CALL = {field.name: getattr(Call, field.name).__set__ for field in attrs.fields(Call)}


def live_agents(
    records: Iterable[Mapping[str, Any]],
    *,
    # Bound once as defaults, so the loop reads them as locals.
    _fields: Any = operator.itemgetter(*_FIELDS),
    _new: Any = object.__new__,
    _str: type[str] = str,
    _int: type[int] = int,
    _max: int = MAX_UNIX_TIME,
    _set_agent_id: Any = _AGENT["agent_id"],
    _set_name: Any = _AGENT["name"],
    _set_status: Any = _AGENT["status"],
    _set_sub_status: Any = _AGENT["sub_status"],
    _set_started_ts: Any = _AGENT["started_ts"],
    _set_server_ts: Any = _AGENT["server_ts"],
    _set_moh: Any = _AGENT["moh"],
    _set_centre_name: Any = _AGENT["centre_name"],
    _set_customer: Any = _AGENT["customer"],
    _set_calls: Any = _AGENT["calls"],
    _set_raw: Any = _AGENT["raw"],
    _set_call_id: Any = _CALL["call_id"],
    _set_call_raw: Any = _CALL["raw"],
) -> list[LiveAgent]:
    """A :class:`LiveAgent` per wire row, in order; ``raw`` is each row itself.

    Raises ValueError (naming the field, not its value) for a time that is not
    unix seconds from 1970 to 9999, as :meth:`LiveAgent.from_record` does.
    """
    agents: list[LiveAgent] = []
    append = agents.append
    for record in records:
        try:
            uid, name, status, code, started, server, moh, centre, customer, calls = _fields(record)
        except KeyError:  # a field missing: None, as .get() gives
            uid, name, status, code, started, server, moh, centre, customer, calls = map(
                record.get, _FIELDS
            )
        agent = _new(LiveAgent)
        _set_agent_id(agent, uid if uid.__class__ is _str else _s(uid))
        _set_name(agent, name if name.__class__ is _str else _s(name))
        _set_status(agent, status if status.__class__ is _str else _s(status))
        _set_sub_status(agent, code if code.__class__ is _str else _s(code))
        if started.__class__ is _str:
            try:
                started = _int(started)
            except ValueError:
                started = unix_seconds(started, "time")
        if started.__class__ is not _int or not 0 <= started <= _max:
            started = unix_seconds(started, "time")  # the general rule: converts or raises
        _set_started_ts(agent, started)
        if server.__class__ is _str:
            try:
                server = _int(server)
            except ValueError:
                server = unix_seconds(server, "srvtime")
        if server.__class__ is not _int or not 0 <= server <= _max:
            server = unix_seconds(server, "srvtime")
        _set_server_ts(agent, server)
        _set_moh(agent, moh if moh.__class__ is _str else _s(moh))
        _set_centre_name(agent, centre if centre.__class__ is _str else _s(centre))
        _set_customer(agent, customer if customer.__class__ is _str else _s(customer))
        if calls.__class__ is not list:
            _set_calls(agent, _calls(calls))
        elif not calls:
            _set_calls(agent, ())
        else:
            built = []
            for item in calls:
                if item.__class__ is dict:
                    call = _new(Call)
                    call_id = item.get("callid") or item.get("id") or item.get("uid") or ""
                    _set_call_id(call, call_id if call_id.__class__ is _str else _s(call_id))
                    _set_call_raw(call, item)
                else:
                    call = Call.from_record(item)
                built.append(call)
            _set_calls(agent, tuple(built))
        _set_raw(agent, record)
        append(agent)
    return agents
