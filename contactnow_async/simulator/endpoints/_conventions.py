"""Conventions every script of API v2 shares: integer and id-list arguments, records, replies."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TypeVar

from .._wire import PayloadError, Reply, parse_payload

__all__ = [
    "BadArgument",
    "Refused",
    "ecnow_write_result",
    "error",
    "filter_matches",
    "id_list",
    "int_argument",
    "known_table",
    "payload_records",
    "upload_records",
    "whole_number",
    "write_each",
    "write_result",
]

T = TypeVar("T")
# No id, count or unix time of the API has more than 20 digits.
_INTEGER = re.compile(r"[+-]?[0-9]{1,20}")
_EXPRESSION = re.compile(r"\s*(not\s+in|in|!=|<>|>=|<=|=|>|<)\s*(.*)\Z", re.IGNORECASE | re.DOTALL)


class BadArgument(ValueError):
    """An argument the simulator cannot read (answered with success false)."""


class Refused(ValueError):
    """A record of a write that the API counts as ``bad``; the text is the reply's ``error``."""


def error(text: str) -> Reply:
    """Return the API's refusal: ``{"success": false, "error": text}`` (HTTP 200)."""
    return {"success": False, "error": text}


def write_result(*, account_id: str, total: int, bad: int, key: int, failure: str = "") -> Reply:
    """Return the reply of a create or update: records written, records refused, last id,
    and the last refusal's text as ``error`` when one was refused (the envelope's field
    for "a description of the fault")."""
    reply: dict[str, str | int | bool] = {
        "success": True, "account_id": account_id, "total": total, "bad": bad, "key": key
    }  # fmt: skip
    if failure:
        reply["error"] = failure
    return reply


def ecnow_write_result(
    *, total: int, bad: int, key: int | None = None, info: str = "", failure: str = ""
) -> Reply:
    """The reply of an ``ecnow.php`` create or update, as documented: records written and
    refused, the last new record's ``key``, the dialler ``info``, the last refusal's ``error``."""
    reply: dict[str, str | int | bool] = {"success": True, "total": total, "bad": bad}
    if key is not None:
        reply["key"] = key
    if info:
        reply["info"] = info
    if failure:
        reply["error"] = failure
    return reply


def write_each(items: Iterable[object], write: Callable[[object], T]) -> tuple[list[T], int, str]:
    """Write each payload record; return what the writes returned, how many were
    refused (:class:`Refused`: counted ``bad``) and the last refusal's text."""
    done: list[T] = []
    bad = 0
    failure = ""
    for item in items:
        outcome = _attempt(write, item)
        if isinstance(outcome, Refused):
            bad += 1
            failure = str(outcome)
        else:
            done.append(outcome)
    return done, bad, failure


def _attempt(write: Callable[[object], T], item: object) -> T | Refused:
    try:
        return write(item)
    except Refused as exc:
        return exc


def known_table(tables: Iterable[str], table: str) -> str:
    """``table`` if it is one of the account's campaign tables; raises BadArgument otherwise."""
    if table not in tables:
        raise BadArgument(f"Bad argument: table [{table}] does not exist.")
    return table


def int_argument(name: str, text: str) -> int:
    """Return ``text`` as an integer (ASCII digits, an optional sign); raises BadArgument
    in the documented form, ``Bad argument: name``, otherwise."""
    match = _INTEGER.fullmatch(text.strip())
    if match is None:
        raise BadArgument(f"Bad argument: {name}")
    return int(match.group())


def whole_number(text: str) -> int | None:
    """``text`` as a non-negative integer if it is one in ASCII digits, else None.

    Not ``str.isdigit`` alone: it is true for ``²`` and Arabic-Indic digits, which
    ``int`` refuses or reads as a number MySQL would not, and ``int`` refuses 4,300
    digits and more. No id, count or level of the API has more than 20 digits.
    """
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 20:
        return None
    return int(text)


def id_list(text: str) -> frozenset[str] | None:
    """Return the ids of a comma-separated list (``agent=1,2``), None when it names none."""
    ids = frozenset(part.strip() for part in text.split(",") if part.strip())
    return ids or None


def payload_records(payload: bytes | None) -> list[object]:
    """Return the records of a create/update payload; raises PayloadError when there is none."""
    if payload is None or not payload.strip():
        raise PayloadError("no records: send a JSON array or <dxi> XML as the POST body")
    return parse_payload(payload)


def upload_records(payload: bytes | None) -> list[object]:
    """Return the records of an ``ecnow.php`` create/update; with none, raises BadArgument
    with ECNOW.md's error for a write that "did not POST a file" (its ``easycall`` section)."""
    if payload is None or not payload.strip():
        raise BadArgument("No file uploaded. Missing 'easycall' section?")
    return payload_records(payload)


def filter_matches(value: str, expression: str) -> bool:
    """Whether a field's value passes a ``filter`` argument, as the vendor's code writes them.

    A plain value is compared for equality (``filter=0``); otherwise the text is an
    SQL-like condition on the field: ``!= 999``, ``= 0``, ``> 5`` or
    ``NOT IN (999, 505050)`` / ``IN (1, 2)``. Numbers compare as numbers. Raises
    BadArgument for an ``IN`` without its parenthesised list.
    """
    match = _EXPRESSION.match(expression)
    if match is None or not expression.strip():
        return value == expression
    operator = " ".join(match.group(1).lower().split())
    operand = match.group(2).strip()
    if operator in ("in", "not in"):
        if not (operand.startswith("(") and operand.endswith(")")):
            raise BadArgument("Bad argument: filter")
        items = [_unquote(item) for item in operand[1:-1].split(",") if item.strip()]
        found = any(_compare(value, item) == 0 for item in items)
        return found if operator == "in" else not found
    order = _compare(value, _unquote(operand))
    return {
        "=": order == 0,
        "!=": order != 0,
        "<>": order != 0,
        ">": order > 0,
        "<": order < 0,
        ">=": order >= 0,
        "<=": order <= 0,
    }[operator]


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _compare(value: str, operand: str) -> int:
    """-1, 0 or 1: as numbers when both are, as text otherwise."""
    try:
        left, right = float(value), float(operand)
    except ValueError:
        return (value > operand) - (value < operand)
    return (left > right) - (left < right)
