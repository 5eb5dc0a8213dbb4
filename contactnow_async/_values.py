"""Reading one wire value: text, a whole number, a unix time, an envelope's own field.

The rules every model follows for a field's value (JSON's types, XML's texts, PHP's
habits): ``null`` and an empty element are ``""`` or the default, a number where text
is expected is its text, a bool or a nested value where text is expected is an error
naming the field (never its value, which may be a secret).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

__all__ = [
    "EPOCH",
    "MAX_UNIX_TIME",
    "NotFinite",
    "as_level",
    "as_text",
    "count",
    "decimal_text",
    "finite_float",
    "finite_json",
    "flag",
    "missing",
    "optional_id",
    "optional_text",
    "required",
    "required_text",
    "unix_seconds",
    "utc",
    "utf8_text",
    "whole",
    "whole_text",
]

_TRUE = frozenset({"1", "true", "True", "TRUE", "yes"})
_FALSE = frozenset({"0", "false", "False", "FALSE", "no", ""})


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


#: A whole number as the API writes one: ASCII digits, a minus for a negative one, and
#: PHP's ".0" of a whole float (``"1550245970.0"``). Not what ``int()`` reads besides:
#: blanks (``" 12 "``), ``+``, ``_``, other scripts' digits, nor an exponent (``"1e3"``).
_WHOLE = re.compile(r"(-?[0-9]+)(?:\.0+)?")


_LEAD = frozenset("-0123456789")
_DIGITS = frozenset("0123456789")


def decimal_text(text: str) -> float | None:
    """The number ``text`` writes as the API writes one (ASCII digits, a minus, a
    fraction, the exponent of PHP's float texts: ``"1.0E-5"``), or None for what else
    ``float()`` reads: blanks, ``+``, ``_``, other scripts' digits, ``".5"``, ``"5."``,
    and the names of NaN and infinity. (Not a pattern: a CDR row has seven of them.)"""
    if not (text.isascii() and text[:1] in _LEAD and text[-1:] in _DIGITS) or "_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def whole_text(text: str) -> int | None:
    """The whole number ``text`` writes (see :data:`_WHOLE`), or None if it writes none."""
    match = _WHOLE.fullmatch(text)
    if match is None:
        return None
    try:
        return int(match[1])
    except ValueError:  # more digits than int() reads (sys.get_int_max_str_digits)
        return None


def whole(value: object, *, name: str, strict: bool = False) -> int:
    """A whole number given as an int, a whole float or its text; not a bool (True was
    1), nor a fraction cut (1.7 was 1). Text is read as ``int()`` reads it, or
    (``strict``) only as the API writes a number (:func:`whole_text`)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        number = whole_text(value) if strict else _int_text(value)
        if number is not None:
            return number
    raise ValueError(f"{name} must be a whole number, not {value!r:.40}")


def _int_text(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def as_level(value: int | float | str) -> int:
    """A queue assignment's level (:func:`whole`, strict): text ``int()`` reads loosely
    (``" 12 "``) is no level the API writes."""
    return whole(value, name="level", strict=True)


def utf8_text(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8: it holds no lone surrogate (a byte a locale could
    not decode, kept by ``surrogateescape``), the only thing a str holds that UTF-8 cannot.
    Looked for, not caught: a UnicodeEncodeError holds the whole text, a secret's too."""
    return not any("\ud800" <= char <= "\udfff" for char in text)


def _t(value: Any, name: str) -> str:
    """Text of a field that is not a str: ``null`` is ``""``, a number its text; a nested
    value or a bool is a ValueError naming the field, not ``"{'a': 1}"`` or ``"True"``."""
    if isinstance(value, (dict, list, bool)):  # a bool: not "True", no API text reads so
        kind = "a boolean, not text" if isinstance(value, bool) else "not a scalar"
        raise ValueError(f"field {name!r} is {kind}")
    return as_text(value)


def required(record: Mapping[str, Any], name: str) -> Any:
    """``record[name]``, for a field a row is nothing without (a queue assignment's agent,
    queue and level): missing, ``null``, empty or blank is a ValueError naming the field,
    where :func:`_t` and :func:`_i` would read it as ``""`` or 0."""
    value = record.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise missing(name)
    return value


def required_text(value: Any, name: str) -> str:
    """The text of a field a row is nothing without (an agent's id), read as :func:`_t`
    reads it: missing (None), ``null``, empty or blank is a ValueError naming the field,
    where :func:`_t` would read it as ``""``, an agent of no id."""
    text = _t(value, name)
    if not text.strip():
        raise missing(name)
    return text


def missing(name: str) -> ValueError:
    """The error of a field a row is nothing without that is missing, null, empty or blank."""
    return ValueError(f"field {name!r} is missing or empty")


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


def _w(value: Any, name: str, default: int = 0) -> int:
    """:func:`_i`, refusing text that is no whole number as the API writes one
    (:func:`whole_text`): ``_i`` reads it as ``int()`` does, " 12", "1_2", "+12", "١٢"
    and "1.2e1" as 12. (The status log's and live rows' own fast reads are ``_i``'s.)"""
    if value.__class__ is not str or not value:
        return _i(value, name, default)
    if value.isdigit() and value.isascii() and len(value) < 20:  # the usual: plain digits
        return int(value)
    number = whole_text(value)  # the rarer forms, by the pattern
    if number is None:
        raise ValueError(f"field {name!r} is not a whole number")
    return number


#: The latest unix time a datetime can hold (9999-12-31T23:59:59Z).
MAX_UNIX_TIME = 253_402_300_799
#: Where unix time starts: no record date, log row or window of the API is before it.
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


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


# -- the envelope's own fields (``success``, ``total``, ``bad``, ``key``, ``error``) ------


def flag(value: Any) -> bool:
    """``success``: a JSON bool, a number, or XML's ``1``/``0`` (and their spellings).

    Anything else is a ValueError saying what it is, not quoting it: a reply may echo a
    secret there, and a repr's escapes (a quote, a character past ASCII) are a form of it
    no redaction looks for."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
    raise ValueError(f"success is {_kind(value)}, not a boolean")


def _kind(value: Any) -> str:
    """What a value of the wrong type is, for a message that must not quote it."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return "text that names no boolean (1/0, true/false)"
    return f"a {type(value).__name__}"


def count(value: Any, name: str) -> int | None:
    """``total`` or ``bad``: a whole number from 0, or None when absent or empty.

    Text is read as the API writes a number (:func:`whole_text`: ``"12"``, PHP's
    ``"12.0"``), as the models read theirs: not as ``int()`` reads it (``" 12"``,
    ``"1_2"``, ``"+12"``, other scripts' digits were 12, and XML's ``"12.0"`` refused
    where JSON's ``12.0`` was 12). The error names the field, never its value."""
    if value is None or value == "":
        return None
    number: int | None = None
    if isinstance(value, str):
        number = whole_text(value)
    elif isinstance(value, bool):
        raise TypeError(f"{name} is a boolean, not a count")
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():  # int() would make 1.5 a 1
        number = int(value)
    elif not isinstance(value, float):
        raise TypeError(f"{name} is {_kind(value)}, not a count")
    if number is None:
        raise ValueError(f"{name} is not a count: a count is a whole number")
    if number < 0:  # a write's total of -3 records, or -1 refused ones
        raise ValueError(f"{name} is {number}, not a count (from 0)")
    return number


def optional_text(value: Any, name: str = "error") -> str | None:
    """``error``: text, None when absent, null or ``false`` (PHP's "no error"); not a
    nested value, nor ``true`` (Python's ``"True"`` is no text the server sent)."""
    if value is None or value is False:
        return None
    if isinstance(value, (dict, list, bool)):
        raise TypeError(f"{name} is {_kind(value)}, not text")
    return str(value)


def optional_id(value: Any, name: str) -> str | None:
    """``key`` or ``account_id``: an id's text, None when absent. A whole JSON float (PHP
    writes ``2499265.0``) is the whole number's text; a bool, a fraction or a nested value
    names no record (``"True"``, ``"1.5"``), and is a ValueError naming the field."""
    if value is None:
        return None
    if isinstance(value, (bool, dict, list)) or (
        isinstance(value, float) and not value.is_integer()
    ):
        raise ValueError(f"{name} is not an id")
    return as_text(value)


class NotFinite(ValueError):
    """A JSON number no reply holds: NaN, Infinity, or one past a float's range."""


def finite_float(literal: str) -> float:
    """A JSON float literal (or ``NaN``/``Infinity``) as a float; :class:`NotFinite`
    for one that is not finite."""
    number = float(literal)
    if not math.isfinite(number):
        raise NotFinite("a JSON number that is not finite")
    return number


#: One decoder for every reply (``json.loads`` with keywords would make one a call).
_FINITE_JSON = json.JSONDecoder(parse_float=finite_float, parse_constant=finite_float)


def finite_json(text: str, *, past_orjson: bool = False) -> Any:
    """``json.loads``, refusing a number that is not finite with :class:`NotFinite`.

    The standard library's decoder recurses a level at a time, so how deep it reads
    depends on the stack it is called from (on 3.10 and 3.11, the recursion limit of
    1,000 less the frames above): deeper, a RecursionError. orjson reads 1,024 levels
    from any stack. A body too deep for the first is read again, without recursion, to
    orjson's depth (:func:`~._json_decoders.nested_json`): with either decoder a reply
    reads the same wherever it is decoded (one nested 1,000 deep was read by orjson
    alone). ``past_orjson``: orjson refused this text for its depth, so that reading
    would refuse it too (:class:`~._json_decoders.TooDeep`): it is refused at once.
    """
    try:
        return _FINITE_JSON.decode(text)
    except RecursionError:
        pass  # outside the handler: the deep stack is gone before the second reading
    from ._json_decoders import TooDeep, nested_json  # only a body this deep needs them

    if past_orjson:
        raise TooDeep
    return nested_json(text)
