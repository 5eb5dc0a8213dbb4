"""``ecnow.php method=ecnow_records``: the records (leads) the dialler calls."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime, tzinfo
from typing import Any, Literal

from .._models import WriteResult
from .._models_records import (
    RECORD_ATTRIBUTES,
    RECORD_INPUT_NAMES,
    Record,
    format_record_time,
    from_1970,
    record_date_text,
)
from .._wire import NESTED
from ._base import RecordLike as _Input
from ._base import Resource, boolean, build, created, id_list, narrowing, to_records, write_result

Mode = Literal["active", "live", "callbacks", "live-callbacks", "unexpired"]
TimeType = Literal["callback", "processdate"]
Moment = datetime | date | int | float | str

PHONES = ("HomePhone", "WorkPhone", "MobilePhone")
_MODES = frozenset({"active", "live", "callbacks", "live-callbacks", "unexpired"})
#: RecordInput's attribute names (a Record's too) and the wire names they stand for: the
#: API ignores a field it does not know and reports success, so ``{"outcome_id": ...}``
#: would be lost (a campaign's own field of such a name goes in RecordInput's ``fields``).
_NAMES = {name: wire for name, wire in RECORD_INPUT_NAMES.items() if name != wire}
#: A Record's attribute names and the record's columns a search names by them (a search
#: by a name no column has matches nothing): ``dataset_id`` is ``datasetid`` here.
_SEARCH_NAMES = {name: wire for name, wire in RECORD_ATTRIBUTES.items() if name != wire}
#: The fields that hold an id (in any case, as the API reads names): 12.0 is no id.
_ID_FIELDS = frozenset({"id", "dataset", "datasetid", "agentref", "outcomecode"})
_TIME_TYPES = frozenset({"callback", "processdate"})
#: A callback's texts for none (ECNOW.md's default is "0000-00-00 00:00:00").
_NO_CALLBACK = frozenset({"", "0000-00-00 00:00:00", "0000-00-00"})


class Records(Resource):
    """Create, read and update the records of a campaign.

    Record dates are read and written in the client's ``record_tz`` (UTC unless
    given): a ``callback`` may be an aware datetime, a unix time or
    ``"YYYY-MM-DD HH:MM:SS"`` text (other text is a ValueError; blank clears it), from 1970
    on: an earlier one, or a read's ``tstart``/``tstop`` before 1970, is a ValueError
    naming it, raised before anything is sent.
    """

    __slots__ = ()

    async def read(
        self,
        *,
        table: str | None = None,
        dataset: str | int | None = None,
        id: str | int | Iterable[str | int] | None = None,
        outcome: str | int | Iterable[str | int] | None = None,
        agent: str | int | None = None,
        ddi: str | None = None,
        search: Mapping[str, Any] | None = None,
        exact: bool = False,
        mode: Mode | None = None,
        timetype: TimeType | None = None,
        tstart: Moment | None = None,
        tstop: Moment | None = None,
    ) -> list[Record]:
        """Return the records matching every filter; ``table`` or ``dataset`` is needed
        (ECNOW.md: "One of these is required"), the other filters narrow it.

        ``search`` maps field names to values (``{"FirstName": "john"}``, or by a
        Record's attribute name, ``{"first_name": "john"}``, sent by its wire name;
        ``"phone"`` searches the three phone fields; an ``"id"`` in it would override the
        rest, so it goes alone: ``id=...`` narrows beside a search); it matches values
        containing the text, or equal to it with ``exact=True`` (a None value is left
        out; a blank one, which the API skips, is a ValueError, as ``exact=True`` without a
        search is).
        ``ddi`` matches any of the three phones. ``mode`` picks records by where
        they stand on the dialler: ``active`` (new or to call again, on hold or
        not), ``live`` (to dial now), ``callbacks``, ``live-callbacks``,
        ``unexpired``. ``timetype`` (``callback`` or ``processdate``) with
        ``tstart``/``tstop`` picks by that date, both ends included: a ``date`` as
        ``tstop`` is the whole of that day (up to ``23:59:59``). A window of moments
        that crosses the hour the clocks go back in ``record_tz``, from or to a moment
        in it, takes the whole of that hour: its dates each name two moments, one of
        them in the window (sent as they were, the ends of such a window read as a
        reversed window, or left the rest of the hour out).
        """
        exact = boolean(exact, name="exact")
        _check_phone(ddi, name="ddi")
        wanted = _search(search)
        # ECNOW.md lists id, outcome, agent, ddi and search apart from the required two: a
        # record id is unique only in its campaign table, which a dataset also names.
        if _blank(table) and _blank(dataset):
            raise ValueError(
                "records.read needs a table or a dataset (the campaign to read); "
                "id, outcome, agent, ddi and search only narrow it"
            )
        if exact and not wanted:  # it would be left out: no search to match exactly
            raise ValueError("exact=True matches a search's values exactly: give a search")
        if mode is not None and mode not in _MODES:
            raise ValueError(f"mode must be one of {', '.join(sorted(_MODES))}, not {mode!r}")
        if timetype is not None and timetype not in _TIME_TYPES:
            raise ValueError(f"timetype must be 'callback' or 'processdate', not {timetype!r}")
        if (tstart is not None or tstop is not None) and timetype is None:
            raise ValueError("tstart/tstop need timetype='callback' or timetype='processdate'")
        tz = self._client.options.record_tz
        start = None if tstart is None else _record_time(tstart, tz, "tstart", "00:00:00")
        # A day as tstop is the whole day: its midnight would leave the day out (and
        # tstart=tstop=day would read nothing), as ECNOW.md's example writes it.
        stop = None if tstop is None else _record_time(tstop, tz, "tstop", "23:59:59")
        start, stop = _across_clocks_back(tstart, tstop, tz, start, stop)
        if start is not None and stop is not None and start > stop:  # the same zone and form
            raise ValueError(f"tstart ({start}) is after tstop ({stop})")
        params: dict[str, Any] = {
            "table": narrowing(table, name="table"),  # not table[]=..., nor True as "1"
            "dataset": narrowing(dataset, name="dataset"),
            "id": id_list(id, name="id"),
            "outcome": id_list(outcome, name="outcome"),
            "agent": narrowing(agent, name="agent"),
            "ddi": narrowing(ddi, name="ddi"),
            "search": wanted or None,
            "type": "exact" if exact and wanted else None,
            "mode": mode,
            "timetype": timetype,
            "tstart": start,
            "tstop": stop,
        }
        envelope = await self._client.request(
            "ecnow", method="ecnow_records", action="read", params=params
        )
        return build(functools.partial(Record.from_record, tz=tz), envelope, what="records.read")

    async def create(self, records: Iterable[_Input]) -> WriteResult:
        """Add records to datasets; ``key`` is the last new record's id and ``info``
        tells whether it is on the dialler ("Record is LIVE on the dialer.").

        Each record (a mapping with the documented wire names, or a
        :class:`RecordInput`; a mapping's field named by RecordInput's attribute,
        ``first_name`` or ``outcome_id``, is sent by its wire name, which the API
        knows) needs ``dataset`` and one of ``HomePhone``,
        ``WorkPhone``, ``MobilePhone`` (in any case, as the API reads field names):
        a ValueError says which record lacks them,
        before anything is sent. A reply of ``total`` 0 (none created, none refused)
        raises :class:`~contactnow_async.WriteError`, as a refused record does.

        **Not idempotent**: every create adds records, so this is never resent
        once the request may have reached the server. A lost reply raises
        :class:`~contactnow_async.TransportError` with ``sent=True``, a gateway's
        error :class:`~contactnow_async.HTTPStatusError` (not a 429) or a garbled
        reply :class:`~contactnow_async.ResponseFormatError`: each came after the
        request reached the server, so read the records back (``read(dataset=..., ddi=...)``)
        before trying again.
        """
        wire = self._wire_records("create", records)
        for index, record in enumerate(wire):
            missing = lacks(record)
            if missing:
                raise ValueError(f"records.create: record {index} lacks {' and '.join(missing)}")
        envelope = await self._client.request(
            "ecnow", method="ecnow_records", action="create", payload=wire, record_name="record"
        )
        return created(envelope, what="records.create")

    async def update(self, records: Iterable[_Input]) -> WriteResult:
        """Change records: each names its ``id`` and ``dataset`` and the fields to set.

        An ``outcomecode`` whose outcome is complete takes the record off the
        dialler; ``notes_append`` adds a line to its notes. An unknown id (or one
        not in that dataset) raises :class:`WriteError` ("Record id [N] does not
        exist."). Updates without ``notes_append`` are resent after a transient
        fault (they set the same fields again); with it they are not.
        """
        wire = self._wire_records("update", records)
        for index, record in enumerate(wire):
            missing = [name for name in ("id", "dataset") if _blank(record.get(name))]
            if missing:
                raise ValueError(f"records.update: record {index} lacks {' and '.join(missing)}")
        envelope = await self._client.request(
            "ecnow",
            method="ecnow_records",
            action="update",
            payload=wire,
            record_name="record",
            # notes_append (in any case, as the API reads names) adds a line per send.
            idempotent=not any(str(name).lower() == "notes_append" for r in wire for name in r),
        )
        return write_result(envelope, what="records.update")

    def _wire_records(self, action: str, records: Iterable[_Input]) -> list[dict[str, Any]]:
        """Inputs as wire records, every date written in ``record_tz``."""
        tz = self._client.options.record_tz
        wire = to_records(records, what=f"records.{action}", names=_NAMES)
        for record in wire:
            names: dict[str, str] = {}
            for name in map(str, record):  # the API reads field names in any case
                if (first := names.setdefault(name.lower(), name)) != name:
                    raise ValueError(
                        f"records.{action}: a record gives {first} twice, as {first} and {name}"
                    )
            for name, value in record.items():
                callback = str(name).lower() == "callback"  # in any case, as the API reads it
                if isinstance(value, (datetime, date)):
                    record[name] = format_record_time(value, tz, name)
                elif isinstance(value, float) and not math.isfinite(value):  # sent as "nan"
                    raise ValueError(f"records.{action}: {name} is {value!r}, not a finite number")
                elif callback and isinstance(value, (int, float)):
                    # A unix time; a bool is refused there, not sent as "1".
                    record[name] = format_record_time(value, tz, name)
                elif callback and isinstance(value, str):
                    record[name] = _callback_text(value, name=f"records.{action}: {name}")
                written = record[name]
                if callback and isinstance(written, str) and written not in _NO_CALLBACK:
                    # A campaign's own date may be older (a birthday): a callback is a moment
                    # to call, of unix time; -5 went as "1969-12-31 23:59:55".
                    from_1970(written, tz, f"records.{action}: {name}", value)
            for name, value in record.items():
                if str(name).lower() in _ID_FIELDS:
                    _check_id(value, name=f"records.{action}: {name}")
                elif str(name).lower() in _PHONE_KEYS:
                    _check_phone(value, name=f"records.{action}: {name}")
        return wire


def _callback_text(text: str, *, name: str) -> str:
    """A write's callback text: a record date (a bare day is its start, as a ``date`` is),
    or blank or the zero date for none; anything else the API reads as it pleases (a
    zero date, another day: ``"10/12/2017"``, an offset it does not read) is refused."""
    if text.strip() in _NO_CALLBACK:
        return text.strip()
    return record_date_text(text, name, day="00:00:00")


def _record_time(
    value: datetime | date | int | float | str, tz: tzinfo, name: str, day: str
) -> str:
    """A read's ``tstart``/``tstop``: text checked as a record date (a bare day is its
    ``day`` time: a ``tstop`` day is the whole day), a ``date`` that day at its ``day``
    time too, else formatted; a moment before 1970, as sent, is refused, as a window's
    end is everywhere (a tstop day's midnight may be before 1970 and its end not)."""
    if isinstance(value, str):
        text = record_date_text(value, name, day=day)
    elif isinstance(value, date) and not isinstance(value, datetime):
        text = f"{value.isoformat()} {day}"
    else:
        text = format_record_time(value, tz, name)
    return from_1970(text, tz, name, value)


def _across_clocks_back(
    tstart: Moment | None, tstop: Moment | None, tz: tzinfo, start: str | None, stop: str | None
) -> tuple[str | None, str | None]:
    """A read's record dates ``start``/``stop``, widened to the whole hour the clocks go
    back over (its wall times name two moments each) when the window of moments
    ``tstart``/``tstop`` crosses that change from or to a moment in it."""
    low, high = _local(tstart, tz), _local(tstop, tz)
    if low is not None and low.fold == 0 and (repeated := _repeated(low)) is not None:
        first, _, back = repeated  # from the hour's first pass: its second is in it too
        if high is None or high.timestamp() >= back:
            start = first
    if high is not None and high.fold == 1 and (repeated := _repeated(high)) is not None:
        _, last, back = repeated  # to the hour's second pass: its first is in it too
        if low is None or low.timestamp() < back:
            stop = last
    return start, stop


def _local(value: Moment | None, tz: tzinfo) -> datetime | None:
    """A moment (an aware datetime, a unix time) in ``tz``; None for a date or text."""
    if isinstance(value, datetime):
        return value.astimezone(tz)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=tz)
    return None


def _repeated(local: datetime) -> tuple[str, str, int] | None:
    """When ``local``'s wall time is one the clocks go back over: the first and last
    record dates of the wall times that repeat, and the unix time they go back at."""
    wall, tz = local.replace(tzinfo=None, fold=0), local.tzinfo
    first, second = wall.replace(tzinfo=tz), wall.replace(tzinfo=tz, fold=1)
    before, after = first.utcoffset(), second.utcoffset()
    if before is None or after is None or before <= after:
        return None  # one moment (or the clocks go forward over it: no moment)
    low, high = math.floor(first.timestamp()), math.ceil(second.timestamp())
    while high - low > 1:  # the first second on the offset after the change
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz=tz).utcoffset() == after:
            high = middle
        else:
            low = middle
    begins, ends = (
        datetime.fromtimestamp(at, tz=tz).replace(tzinfo=None) for at in (high, high - 1)
    )
    return begins.isoformat(sep=" "), ends.isoformat(sep=" "), high


def _search(search: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``search`` filter by its wire names (a Record's attribute names renamed), each
    value checked: what PHP or the API would read as another field or value is refused."""
    wanted: dict[str, Any] = {}
    for given, value in (search or {}).items():
        if value is None:  # left out on the wire: a search of nothing but None is no filter
            continue
        name = _SEARCH_NAMES.get(str(given), str(given))
        if "[" in name or "]" in name:  # PHP would read search[a]b] as search[a]
            raise ValueError(f"search field {name!r}: a field name holds no [ or ]")
        if isinstance(value, NESTED):
            raise ValueError(
                f"search {given!r} must be a value to match, not a {type(value).__name__}"
            )
        if isinstance(value, float) and not math.isfinite(value):  # sent as "nan"
            raise ValueError(f"search {given!r} is {value!r}, not a finite number")
        if isinstance(value, str) and not value.strip():  # the API skips it: no filter
            raise ValueError(f"search {given!r} is blank: it would match every record")
        if name.lower() in _ID_FIELDS:
            _check_id(value, name=f"search {given!r}")
        elif name.lower() == "phone" or name.lower() in _PHONE_KEYS:
            _check_phone(value, name=f"search {given!r}")
        if name in wanted:
            raise ValueError(f"search gives {name} twice, by both its names")
        wanted[name] = value
    if len(wanted) > 1 and any(name.lower() == "id" for name in wanted):
        # ECNOW.md: "supplying id will ignore every other search fields".
        raise ValueError(
            "search: an id ignores the other search fields; give the id as id=... "
            "beside the search, or search by the id alone"
        )
    return wanted


def _check_phone(value: Any, *, name: str) -> None:
    """Refuse a phone that is not text (ECNOW.md: a "String of phone number"): a number
    has lost its leading 0 (a spreadsheet's 07700900123 is 7700900123), a float went
    as "7700900123.0" and a bool as "1"."""
    if value is not None and not isinstance(value, (str, bytes, bytearray)):  # bytes: UTF-8
        number = isinstance(value, int) and not isinstance(value, bool)
        kind = "whole number" if number else type(value).__name__
        raise TypeError(f"{name} must be a phone number as text, not a {kind} ({value!r})")


def _check_id(value: Any, *, name: str) -> None:
    """Refuse an id that is a bool (sent as "1", another record) or a float (sent as
    "2499265.0", which names no record): ``name`` says which argument."""
    if isinstance(value, (bool, float)):
        raise TypeError(f"{name} must be an id, not a {type(value).__name__} ({value!r})")


def lacks(record: Mapping[str, Any]) -> list[str]:
    """What a record to create lacks of what the API needs: ``dataset``, and ``one of
    HomePhone, WorkPhone or MobilePhone``; empty when it has both. A phone's name
    ignores case, as the API's field names do (ECNOW.md's defaults write
    ``homephone``); RecordInput's names (``dataset_id``, ``mobile_phone``) count too,
    as ``create`` sends them by their wire names."""
    missing = []
    if all(_blank(record.get(name)) for name in ("dataset", "dataset_id")):
        missing.append("dataset")
    phones = [
        value
        for name, value in record.items()
        if str(name).lower() in _PHONE_KEYS or name in _PHONE_ATTRIBUTES
    ]
    if all(_blank(value) for value in phones):
        missing.append("one of HomePhone, WorkPhone or MobilePhone")
    return missing


_PHONE_KEYS = frozenset(phone.lower() for phone in PHONES)
_PHONE_ATTRIBUTES = frozenset(name for name, wire in _NAMES.items() if wire in PHONES)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
