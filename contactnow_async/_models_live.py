"""The live status models (``ajax.php method=agents``), and building thousands of them fast.

A poll of a large centre reads tens of thousands of rows, so
:func:`live_agents` builds :class:`LiveAgent` s without attrs' ``__init__``:
each is made as a :class:`_NewLiveAgent` (the same slots, ordinary
``setattr``: CPython stores into such a slot in a few nanoseconds), filled, and
then given its public class, with every conversion inline (a text field that
is text already costs one type check). The rules are those of the rest of the
models (``as_text``, :func:`~contactnow_async._values.unix_seconds`): a value that is
not plain text or a whole number takes them, which give the same value or
raise the same error."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from ._gc import LARGE_ROWS, paused_for
from ._values import MAX_UNIX_TIME, _t, as_text, missing, unix_seconds, utc
from ._wire import xml_list

__all__ = ["Call", "LiveAgent", "live_agents", "live_agents_distinct"]


@attrs.frozen
class Call:
    """A call an agent is on, as listed in a live status row (fields undocumented)."""

    call_id: str
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_record(cls, record: Any) -> Call:
        if record.__class__ is not dict and not isinstance(record, Mapping):
            # A call given by its id alone; a bool or a nested value is none ("True").
            return cls(call_id=_t(record, "call"), raw={"value": record})
        call_id = record.get("callid") or record.get("id") or record.get("uid") or ""
        return cls(
            call_id=call_id if call_id.__class__ is str else _t(call_id, "callid"), raw=record
        )

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
    if isinstance(value, (bool, dict, list)):  # names nothing: not "True", nor an element's
        return None
    text = as_text(value)  # read as every model's: 12.0 is "12" (str() made "12.0"), 0 none
    return None if text in ("", "0") else text


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
        """Seconds in the current status when the server answered (``srvtime - time``);
        0 for a row without a start (``time`` missing: not some 54 years) or with one after
        the server's own clock (not a negative time: an automation acting on a duration
        over some limit, or a wallboard's longest wait, would take either at its word)."""
        if self.started_ts <= 0 or self.server_ts < self.started_ts:
            return 0
        return self.server_ts - self.started_ts

    @property
    def started_at(self) -> datetime:
        """When the current status began (``started_ts`` as a UTC datetime)."""
        return utc(self.started_ts)

    @property
    def call_id(self) -> str | None:
        """The id of the current call, or None when not on a call or the call has no id
        (its ``callid`` missing, empty or ``"0"``, as the status log's)."""
        call_id = self.calls[0].call_id if self.calls else None
        return None if call_id in ("", "0") else call_id


def _calls(value: Any) -> tuple[Call, ...]:
    return tuple(map(_call, xml_list(value)))


def _call(item: Any, _new: Any = object.__new__) -> Call:
    """One call of a live row: a dict built as :func:`live_agents` builds an agent
    (see :class:`_NewLiveAgent`), anything else by :meth:`Call.from_record`."""
    if item.__class__ is not dict:
        return Call.from_record(item)
    call = _new(_NewCall)
    call_id = item.get("callid") or item.get("id") or item.get("uid") or ""
    call.call_id = call_id if call_id.__class__ is str else _t(call_id, "callid")
    call.raw = item
    call.__class__ = Call
    return call  # type: ignore[no-any-return]  # a Call now


class _NewLiveAgent(LiveAgent):
    """A :class:`LiveAgent` being built: the same slots, but plain ``setattr``.

    CPython stores into a slot of a class with the ordinary ``__setattr__`` in a
    few nanoseconds (a frozen class's goes through its descriptor, ~40 ns a
    field). :func:`live_agents` fills the slots of one of these, then makes it a
    :class:`LiveAgent` (``__class__`` assignment: the layouts are the same), so
    no instance of this class leaves the module.
    """

    __slots__ = ()
    __setattr__ = object.__setattr__
    __delattr__ = object.__delattr__


class _NewCall(Call):
    """A :class:`Call` being built (see :class:`_NewLiveAgent`)."""

    __slots__ = ()
    __setattr__ = object.__setattr__
    __delattr__ = object.__delattr__


#: The wire fields of a live row, in the order :func:`live_agents` unpacks them.
_FIELDS = ("uid", "name", "status", "statuscode", "time", "srvtime", "moh", "ccname", "customer",
           "call")  # fmt: skip
_fields = operator.itemgetter(*_FIELDS)


def own_keys_getter(record: Any, names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """An ``itemgetter`` of ``names`` keyed by ``record``'s own key objects.

    A decoder gives every row of a body the same key strings; looking them up
    by those very objects spares a string comparison per field and row (any
    row still reads right: keys equal to these are found too).
    """
    own = {key: key for key in record} if record.__class__ is dict else {}
    return operator.itemgetter(*[own.get(name, name) for name in names])


def live_agents(records: Iterable[Mapping[str, Any]]) -> list[LiveAgent]:
    """A :class:`LiveAgent` per wire row, in order; ``raw`` is each row itself.

    Every value is read by the rules of the rest of the models (``as_text``,
    :func:`~contactnow_async._values.unix_seconds`): the usual one (text, a time
    of plain digits in range, ``call`` a list of dicts) inline, any other through
    those rules, which give the same value or raise the same error (ValueError
    naming the field, not its value, for a time that is not unix seconds from
    1970 to 9999), as :meth:`LiveAgent.from_record` does. A row without its ``uid``
    (missing, null, empty or blank) is a ValueError naming it: no agent's row, not an
    agent ``""``. Many rows are built with the garbage collector paused (see :mod:`._gc`).
    """
    return live_agents_distinct(records)[0]


def live_agents_distinct(records: Iterable[Mapping[str, Any]]) -> tuple[list[LiveAgent], bool]:
    """:func:`live_agents`, and whether their agent ids are all different (one row per
    agent), told by the same pass: a set of the ids made after the models reads each
    of them again, out of the CPU's caches."""
    if iter(records) is records:  # an iterator: read once, so kept
        records = list(records)
    count = operator.length_hint(records)
    # A few rows (a poll's changed agents, one at a time) are not worth a getter of their own.
    fields = own_keys_getter(next(iter(records), None), _FIELDS) if count > 32 else _fields
    with paused_for(count >= LARGE_ROWS):
        return _live_agents(records, fields)


def _live_agents(
    records: Iterable[Mapping[str, Any]],
    fields: Callable[[Any], tuple[Any, ...]],
    *,
    # Bound once as defaults, so the loop reads them as locals.
    _new: Any = object.__new__,
    _type: type[type] = type,
    _str: type[str] = str,
    _int: type[int] = int,
    _list: type[list[Any]] = list,
    _tuple: type[tuple[Any, ...]] = tuple,
    _max: int = MAX_UNIX_TIME,
    _building: Any = _NewLiveAgent,
    _built: type[LiveAgent] = LiveAgent,
) -> tuple[list[LiveAgent], bool]:
    """:func:`live_agents_distinct`' loop, reading each row's fields with ``fields``."""
    agents: list[LiveAgent] = []
    append = agents.append
    ids: set[str] = set()
    add_id = ids.add
    server_text = None
    server_ts = 0
    for record in records:
        try:
            uid, name, status, code, started, server, moh, centre, customer, calls = fields(record)
        except KeyError:  # a field missing: None, as .get() gives
            uid, name, status, code, started, server, moh, centre, customer, calls = map(
                record.get, _FIELDS
            )
        if not (
            _type(uid) is _type(name) is _type(status) is _type(code) is _type(moh)
            is _type(centre) is _type(customer) is _str
        ):  # fmt: skip
            # Null (XML's empty element) is "", anything else its text: never an error.
            # An object or a list (an XML element with children) is a ValueError naming it.
            uid, name, status, code = (
                _t(uid, "uid"), _t(name, "name"), _t(status, "status"), _t(code, "statuscode")
            )  # fmt: skip
            moh, centre, customer = _t(moh, "moh"), _t(centre, "ccname"), _t(customer, "customer")
        if not uid.strip():  # no agent id (missing, null, empty or blank): no agent's row
            raise missing("uid")
        # A time is read as unix_seconds() reads it: plain digits inline, else its rule.
        if _type(started) is _str:
            try:
                started_ts = _int(started)
            except ValueError:
                started_ts = -1
        else:
            started_ts = -1
        if not 0 <= started_ts <= _max:  # not plain digits: the general rule converts or raises
            started_ts = unix_seconds(started, "time")
        # srvtime (the server's clock when it answered) is the same in every row of a
        # reply: the text of the last one read is kept with its int.
        if _type(server) is not _str or server != server_text:
            server_text = None
            if _type(server) is _str:
                try:
                    server_ts = _int(server)
                except ValueError:
                    server_ts = -1
                if 0 <= server_ts <= _max:
                    server_text = server
            if server_text is None:
                server_ts = unix_seconds(server, "srvtime")
        if _type(calls) is not _list:
            calls = _calls(calls)
        elif len(calls) == 1:  # the usual call: one
            calls = (_call(calls[0]),)
        elif calls:
            calls = _tuple(map(_call, calls))
        else:
            calls = ()
        agent = _new(_building)
        agent.agent_id = uid
        agent.name = name
        agent.status = status
        agent.sub_status = code
        agent.started_ts = started_ts
        agent.server_ts = server_ts
        agent.moh = moh
        agent.centre_name = centre
        agent.customer = customer
        agent.calls = calls
        agent.raw = record
        agent.__class__ = _built
        append(agent)
        add_id(uid)
    return agents, len(ids) == len(agents)
