"""Reading one wire value: text, a whole number, a unix time.

The rules every model follows for a field's value (JSON's types, XML's texts, PHP's
habits): ``null`` and an empty element are ``""`` or the default, a number where text
is expected is its text, a bool or a nested value where text is expected is an error
naming the field (never its value, which may be a secret).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

__all__ = ["MAX_UNIX_TIME", "as_text", "unix_seconds", "utc"]


def as_text(value: Any) -> str:
    """A scalar as text; ``null`` and empty XML elements both become ``""``; a whole
    JSON float (PHP writes a float id as ``12.0``) the whole number's text, ``"12"``."""
    if value is None:
        return ""
    if value.__class__ is float and value.is_integer() and -_EXACT < value < _EXACT:
        return str(int(value))
    return str(value)


#: Floats hold every whole number below this exactly (2**53); past it, ``1e+300`` stays.
_EXACT = 2.0**53


def _t(value: Any, name: str) -> str:
    """Text of a field that is not a str: ``null`` is ``""``, a number its text; a nested
    value or a bool is a ValueError naming the field, not ``"{'a': 1}"`` or ``"True"``."""
    if isinstance(value, (dict, list, bool)):  # a bool: not "True", no API text reads so
        kind = "a boolean, not text" if isinstance(value, bool) else "not a scalar"
        raise ValueError(f"field {name!r} is {kind}")
    return as_text(value)


def _i(value: Any, name: str, default: int = 0) -> int:
    """A count, level, uid or unix time as an int; ``null``/empty is ``default``.

    Raises ValueError naming the field (not its value) when it is not a whole number.
    """
    if value is None or value == "":
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float):
        if value.is_integer():  # not NaN, not infinite, no fraction
            return int(value)
    elif isinstance(value, str):
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


#: The latest unix time a datetime can hold (9999-12-31T23:59:59Z).
MAX_UNIX_TIME = 253_402_300_799


def unix_seconds(value: Any, name: str) -> int:
    """A moment as an int of unix seconds, from 1970 to the end of 9999; ``null``/empty is 0.

    Raises ValueError naming the field (not its value) for anything else: a time
    in milliseconds, say, is a year no datetime can hold, so every ``*_at`` of
    the model would raise later, far from the reply that sent it.
    """
    seconds = _i(value, name)
    if not 0 <= seconds <= MAX_UNIX_TIME:
        raise ValueError(f"field {name!r} is not a unix time in seconds (1970 to 9999)")
    return seconds


def utc(timestamp: int | float) -> datetime:
    """A unix time as a timezone-aware UTC datetime."""
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)
