"""Which JSON decoder reads a reply, and what keeps the two to one answer.

orjson (the ``[speed]`` extra) when it is installed, else the standard library's
(:func:`~._values.finite_json`); :func:`set_json_decoder` chooses, for tests and
benchmarks. What orjson refuses goes the standard library's way (see
``_wire._load_json``); here are the two limits they share: an orjson old enough to
crash on a deep reply is not used, and both read 1,024 levels of nesting, no more,
whatever the stack they are called from (:func:`nested_json`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from ._values import finite_float

__all__ = [
    "MAX_JSON_DEPTH",
    "SAFE_ORJSON",
    "JsonDecoder",
    "TooDeep",
    "json_decoder",
    "loads_in_use",
    "nested_json",
    "set_json_decoder",
]

JsonDecoder = Literal["auto", "orjson", "stdlib"]

#: The first orjson that bounds how deep it reads (CVE-2024-27454): an older one recurses
#: without limit, and a reply nested a million deep (2 MB) overflowed the C stack and
#: killed the process (a segfault, not an exception). "auto" leaves one aside.
SAFE_ORJSON = (3, 9, 15)

#: The deepest nesting of arrays and objects a JSON reply is read to: orjson's limit (it
#: refuses a 1,025th level), and so the standard library's path's too, on Python 3.10 and
#: 3.11. From 3.12 the standard library's C decoder reads deeper (to its own C recursion
#: limit, from any stack: some 1,500 levels on 3.12, 10,000 on 3.13), and a body orjson
#: refuses for its depth is read by it: deeper replies are read then, with either alike.
MAX_JSON_DEPTH = 1024


class TooDeep(ValueError):
    """JSON nested deeper than :data:`MAX_JSON_DEPTH` levels of arrays and objects."""

    def __init__(self) -> None:
        super().__init__(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")


# orjson.loads, or None for the standard library's: looked up when the first JSON reply
# is decoded, not at import.
_fast_loads: Callable[[bytes], Any] | None = None
_looked_up = False


def set_json_decoder(decoder: JsonDecoder) -> None:
    """Decode JSON with ``orjson`` (the ``[speed]`` extra), the standard library, or
    ``"auto"`` (the default: orjson when it is installed). For tests and benchmarks."""
    global _fast_loads, _looked_up  # one switch per process
    if decoder not in ("auto", "orjson", "stdlib"):
        raise ValueError(f"decoder must be 'auto', 'orjson' or 'stdlib', not {decoder!r}")
    _fast_loads = None
    _looked_up = decoder == "stdlib"
    if decoder == "orjson":
        import orjson  # raises ImportError without the [speed] extra

        _fast_loads = _safe_loads(orjson)
        if _fast_loads is None:
            raise ImportError(
                f"orjson {getattr(orjson, '__version__', '(unknown)')} is too old to read "
                "replies: a deeply nested one crashes it; install orjson 3.9.15 or later"
            )


def json_decoder() -> str:
    """``"orjson"`` or ``"stdlib"``: what decodes the next JSON reply."""
    return "stdlib" if loads_in_use() is None else "orjson"


def loads_in_use() -> Callable[[bytes], Any] | None:
    """``orjson.loads`` when orjson decodes the next JSON reply, else None."""
    global _fast_loads, _looked_up  # one switch per process
    if not _looked_up:
        _looked_up = True
        try:
            import orjson
        except ImportError:
            _fast_loads = None
        else:
            _fast_loads = _safe_loads(orjson)
    return _fast_loads


def _safe_loads(orjson: Any) -> Callable[[bytes], Any] | None:
    """``orjson.loads``, or None for an orjson older than :data:`SAFE_ORJSON`."""
    version = re.findall(r"[0-9]+", str(getattr(orjson, "__version__", "")))[:3]
    loads: Callable[[bytes], Any] = orjson.loads
    return loads if tuple(map(int, version)) >= SAFE_ORJSON else None


_JSON_SPACE = r"[ \t\n\r]*"  # as the C scanner skips it (not Python's str.isspace)
_JSON_NUMBER = r"(-?(?:0|[1-9][0-9]*))(\.[0-9]+)?([eE][-+]?[0-9]+)?"  # ASCII digits only
_JSON_WORDS: tuple[tuple[str, Any], ...] = (("null", None), ("true", True), ("false", False))
_JSON_CONSTANTS = ("NaN", "Infinity", "-Infinity")  # parse_constant's: NotFinite


def nested_json(text: str) -> Any:
    """:func:`~._values.finite_json`'s decoder without recursion, for a body too deep for it:
    the same values and the same refusals (a ValueError), to :data:`MAX_JSON_DEPTH` levels.

    It follows the C scanner: white space is space, tab, CR and LF; a number is ASCII,
    read by ``int()`` or :func:`finite_float`; strings are read by the scanner's own
    ``scanstring`` (strict: no control characters; escaped lone surrogates kept); a
    repeated key keeps its first place and its last value; nothing may follow the value.
    """
    from _json import scanstring  # the C scanner's (json.decoder's)

    space = re.compile(_JSON_SPACE).match
    number = re.compile(_JSON_NUMBER).match

    def skip(at: int) -> int:
        found = space(text, at)
        return at if found is None else found.end()

    def key_from(at: int) -> tuple[str, int]:
        """An object's key and its colon from ``at``: the key, and where its value starts."""
        if text[at : at + 1] != '"':
            raise ValueError(f"Expecting property name enclosed in double quotes at char {at}")
        name, at = scanstring(text, at + 1, True)
        at = skip(at)
        if text[at : at + 1] != ":":
            raise ValueError(f"Expecting ':' delimiter at char {at}")
        return name, skip(at + 1)

    at = skip(0)
    # The arrays and objects open around the value being read, innermost last, each
    # with the key its next value goes under (None in an array).
    around: list[tuple[Any, str | None]] = []
    while True:
        value: Any
        char = text[at : at + 1]
        if char == "[" or char == "{":
            if len(around) >= MAX_JSON_DEPTH:
                raise TooDeep
            at = skip(at + 1)
            if char == "[":
                if text[at : at + 1] != "]":
                    around.append(([], None))
                    continue
                value, at = [], at + 1
            elif text[at : at + 1] != "}":
                name, at = key_from(at)
                around.append(({}, name))
                continue
            else:
                value, at = {}, at + 1
        elif char == '"':
            value, at = scanstring(text, at + 1, True)
        elif (found := number(text, at)) is not None:
            integer, fraction, exponent = found.groups()
            value = finite_float(found.group()) if fraction or exponent else int(integer)
            at = found.end()
        else:
            for word, meaning in _JSON_WORDS:
                if text.startswith(word, at):
                    value, at = meaning, at + len(word)
                    break
            else:
                for constant in _JSON_CONSTANTS:
                    if text.startswith(constant, at):
                        finite_float(constant)  # raises NotFinite
                raise ValueError(f"Expecting value at char {at}")
        # A whole value: it goes into the container around it, which may end after it.
        while True:
            at = skip(at)
            if not around:
                if at != len(text):
                    raise ValueError(f"Extra data at char {at}")
                return value
            container, key = around[-1]
            if key is None:
                container.append(value)
            else:
                container[key] = value
            char = text[at : at + 1]
            if char == ",":
                at = skip(at + 1)
                if key is not None:
                    name, at = key_from(at)
                    around[-1] = (container, name)
                break  # to the next value
            if char != ("]" if key is None else "}"):
                raise ValueError(f"Expecting ',' delimiter at char {at}")
            around.pop()
            value, at = container, at + 1
