"""What every endpoint group shares: the client, and turning inputs into records."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .._errors import ResponseFormatError, WriteError
from .._models import WriteResult
from .._values import MAX_UNIX_TIME
from .._wire import Envelope

if TYPE_CHECKING:
    from .._client import ContactNow


class _HasRecord(Protocol):
    def to_record(self) -> dict[str, Any]: ...


#: What a create or update takes per record: a mapping keyed by the documented wire
#: names, or a typed input object (``AgentInput``, ``RecordInput``, ...).
RecordLike = Mapping[str, Any] | _HasRecord
T = TypeVar("T")


class Resource:
    """An endpoint group bound to a client."""

    __slots__ = ("_client",)

    def __init__(self, client: ContactNow) -> None:
        self._client = client


def to_records(
    items: Iterable[RecordLike], *, what: str, names: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Attrs input objects or plain mappings -> wire records; refuses an empty batch.

    ``names`` (attribute -> wire name) renames the fields of a mapping given by its
    input object's attribute names, as :func:`wire_names` does; an input object's own
    record is taken as it is (its ``fields`` are the campaign's, by their wire names)."""
    if isinstance(items, Mapping) or hasattr(items, "to_record"):
        raise TypeError(f"{what} takes a list of records, not one record: wrap it in [...]")
    records = []
    for item in items:
        if isinstance(item, Mapping):
            records.append(dict(item) if names is None else wire_names(item, names, what=what))
        elif hasattr(item, "to_record"):
            records.append(item.to_record())
        else:
            # Not {item!r}: a record may hold an agent's password or pin.
            raise TypeError(
                f"{what}: a record must be a mapping or an input object, "
                f"not a {type(item).__name__}"
            )
    if not records:
        raise ValueError(f"{what}: no records given")
    return records


def wire_names(record: Mapping[str, Any], names: Mapping[str, str], *, what: str) -> dict[str, Any]:
    """A record with each field named by an attribute name (``names``: attribute -> wire)
    renamed to its wire name: the API ignores a name it does not know and reports
    success, so such a field would be lost. A field given by both names is refused."""
    wire: dict[str, Any] = {}
    for name, value in record.items():
        field = names.get(name, name)
        if field in wire and value is not None and wire[field] is not None:
            raise ValueError(f"{what}: a record gives {field} twice, by both its names")
        if value is not None or field not in wire:
            wire[field] = value
    return wire


def fields_of(record: Mapping[str, Any]) -> str:
    """A record's field names for an error message (its values may be secrets)."""
    return "{" + ", ".join(sorted(map(str, record))) + "}"


def build(
    model: Callable[[Mapping[str, Any]], T],
    envelope: Envelope,
    *,
    what: str,
    total_is_rows: bool = True,
) -> list[T]:
    """Turn the envelope's records into models; a record of the wrong shape, or a
    ``total`` other than the rows carried (unless ``total_is_rows`` is False: a page of
    ``reporting.php``), is a :class:`ResponseFormatError` (not a bare ``ValueError``)."""
    total = envelope.total
    if total_is_rows and total is not None and total != len(envelope.records):
        # A total above the rows: some were lost (a cut or paged reply), and a read
        # returning the rest as if they were all would be silently partial; below them:
        # rows the server did not mean to send (repeated?). Either way, not the answer.
        raise ResponseFormatError(
            f"{what}: the reply's total says {total} records but it carries "
            f"{len(envelope.records)}; read again, or narrow the filters",
            snippet=f"total={total}",
        )
    models = []
    for record in envelope.records:
        try:
            models.append(model(record))
        except (TypeError, ValueError, OverflowError) as exc:  # noqa: PERF203 -- names the record
            raise record_error(what, record, exc) from None
    return models


def record_error(what: str, record: Mapping[str, Any], exc: Exception) -> ResponseFormatError:
    """The error for a record a model cannot be built from (values left out: secrets)."""
    return ResponseFormatError(
        f"{what}: a record of the wrong shape ({exc}); its fields are {fields_of(record)}",
        snippet=fields_of(record),
    )


def write_result(envelope: Envelope, *, what: str) -> WriteResult:
    """The envelope of a create/update as a :class:`WriteResult`; raises if ``bad > 0``."""
    result = WriteResult.from_envelope(envelope)
    if result.bad:
        raise WriteError(
            f"{what}: {result.bad} record(s) refused, {result.total} written"
            + (f" ({result.error})" if result.error else ""),
            result=result,
            envelope=envelope,
        )
    return result


def created(envelope: Envelope, *, what: str) -> WriteResult:
    """:func:`write_result` of a create that adds what it is sent (records, datasets):
    a reply that says it added nothing and refused nothing (``total`` 0) is a
    :class:`WriteError`, and one that does not say how many it added (no ``total``) a
    :class:`ResponseFormatError`; either was returned as a success, with nothing made."""
    result = write_result(envelope, what=what)
    if envelope.total is None:
        raise ResponseFormatError(
            f"{what}: the reply does not say how many were created (it has no total); "
            "read them back before trying again",
            snippet="total=None",
        )
    if result.total == 0:
        raise WriteError(
            f"{what}: the API reports nothing created and nothing refused (total 0, bad 0)",
            result=result,
            envelope=envelope,
        )
    return result


def unix_time(value: int | float | datetime | None, *, name: str) -> int | None:
    """Accept a unix time in seconds (1970 to the end of 9999, as the models read them) or
    an aware datetime; refuse a naive one (whose zone is a guess), and a time past 9999
    (in milliseconds, most likely: sent as it was, it asked for a window far in the future).
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{name} is a naive datetime; give it a timezone (e.g. UTC)")
        seconds = math.floor(value.timestamp())  # not toward 0: -0.5 is before 1970
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a unix time or a datetime, not {value!r}")
    elif isinstance(value, float) and not math.isfinite(value):  # int() would raise bare
        raise ValueError(f"{name} must be a finite unix time, not {value!r}")
    else:
        seconds = math.floor(value)
    if seconds > MAX_UNIX_TIME:
        hint = " (in milliseconds? give seconds)" if seconds <= MAX_UNIX_TIME * 1000 else ""
        raise ValueError(
            f"{name} {value!r} is past the year 9999{hint}: a unix time is in seconds, "
            "from 1970 to the end of 9999"
        )
    if seconds < 0:
        raise ValueError(
            f"{name} {value!r} is before 1970: a unix time is in seconds, from 1970 "
            "to the end of 9999"
        )
    return seconds


def window_bound(value: int | float | datetime, *, name: str) -> int:
    """:func:`unix_time` of a window's start or stop, which must be given: None is a
    TypeError saying so (a bound left out is neither "since ever" nor "until now")."""
    seconds = unix_time(value, name=name)
    if seconds is None:
        raise TypeError(f"{name} must be a unix time or a datetime, not None")
    return seconds


def before(stop: int | float | datetime, start: int | float | datetime) -> bool:
    """Whether ``stop`` comes before ``start`` (both checked by :func:`unix_time`), to the
    fraction given: in the whole seconds sent, a stop a fraction of a second before its
    start was the same second as it, and went out as a window of one second."""
    return _exact(stop) < _exact(start)


def _exact(value: int | float | datetime) -> float:
    return value.timestamp() if isinstance(value, datetime) else value


def id_list(
    value: str | int | Iterable[str | int] | None, *, name: str, kind: str = "id"
) -> str | None:
    """One id (or other ``kind`` of value) or several, as the API's comma-separated list;
    each is text or a whole number (not a bool, None or bytes, which would go as
    ``True``, ``None``, ``49,50``)."""
    if value is None:
        return None
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        ids = [str(value)]
    elif isinstance(value, (Mapping, bytes, bytearray)) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be one {kind} or a list of them, not {value!r}")
    else:
        ids = [scalar(item, name=name) or "" for item in value]  # None: refused below
    if not ids or any(not item.strip() or "," in item for item in ids):
        # An empty list, or a blank id (a list of none once trimmed), is no filter at
        # all: everything, not nothing.
        raise ValueError(f"{name} must be one or more non-empty {kind}s, got {value!r}")
    return ",".join(ids)


def either(wire: object, other: object, *, names: tuple[str, str]) -> None:
    """Refuse a filter given both by its documented wire name and by the library's other
    name (which one was meant?)."""
    if wire is not None and other is not None:
        raise TypeError(f"give {names[0]} or {names[1]}, not both: they are one filter")


def scalar(value: str | int | None, *, name: str) -> str | None:
    """A filter of one value as its text: a list would go as PHP's ``name[]=``, a bool
    as ``1``, neither of which the API reads as the value meant."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"{name} must be text or a whole number, not {value!r}")
    return str(value)


def narrowing(value: str | int | None, *, name: str) -> str | None:
    """A filter of one value (:func:`scalar`) that must narrow: a blank one is sent as no
    filter at all, so every table's or dataset's rows would come back as this one's."""
    text = scalar(value, name=name)
    if text is not None and not text.strip():
        raise ValueError(f"{name} must not be blank: a blank {name} filters nothing")
    return text


def one_id(value: str | int, *, name: str) -> str:
    """A write's one id (an agent's, a queue's) as its text, stripped: not True sent as
    ``1`` (another agent), nor ``12.0`` as ``"12.0"``, nor ``"1,2"`` (the API's list of
    two)."""
    text = str(scalar(value, name=name)).strip()
    if "," in text:
        raise ValueError(f"{name} must be one id, not {text!r}")
    return text


def boolean(value: object, *, name: str) -> bool:
    """A yes-or-no argument, which must be True or False: ``"no"`` or ``"false"`` is
    truthy, and ``0``/``1`` or None may be a value meant for another argument; any of
    them taken as its truth would send the opposite of what was meant, or a guess."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, not {value!r}")
    return value
